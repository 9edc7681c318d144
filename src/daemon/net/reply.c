/*
 * reply.c - JSON errors and JSON bodies as answers. See reply.h.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/net/reply.h"

bool reply_error(struct response *res, int status, const char *code, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	res->status = status;
	buf_reset(&res->body);
	buf_printf(&res->body, "{\"error\":{\"code\":\"%s\",\"message\":", code);
	buf_json_string(&res->body, msg);
	buf_puts(&res->body, "}}");
	return false;
}

/* --- printing a cJSON tree --------------------------------------------------------- */

/* What cJSON_PrintUnformatted writes, byte for byte, without its cost on
 * the answers the external workers' paths send by the thousand: libcjson
 * 1.7.15 prints every number with "%1.15g" and reads it back with sscanf
 * to check it. A whole number under 1e15 prints the same as its digits. */
void reply_json_number(struct buf *b, double d)
{
	char tmp[32];
	int n;

	if (isnan(d) || isinf(d)) {
		buf_append(b, "null", 4);
		return;
	}
	if (d == (double)(long long)d && fabs(d) < 1e15 && !(d == 0 && signbit(d))) {
		char *p = tmp + sizeof(tmp);
		unsigned long long v = d < 0 ? (unsigned long long)-(long long)d :
					       (unsigned long long)d;
		do
			*--p = (char)('0' + v % 10);
		while ((v /= 10));
		if (d < 0)
			*--p = '-';
		buf_append(b, p, (size_t)(tmp + sizeof(tmp) - p));
		return;
	}
	n = snprintf(tmp, sizeof(tmp), "%1.15g", d);
	double back = strtod(tmp, NULL);
	double big = fabs(back) > fabs(d) ? fabs(back) : fabs(d);
	if (!(fabs(back - d) <= big * 2.2204460492503131e-16))	/* cJSON's compare_double */
		n = snprintf(tmp, sizeof(tmp), "%1.17g", d);
	buf_append(b, tmp, (size_t)n);
}

/* cJSON's escapes: the short ones where JSON has them, \u00XX for the
 * other control characters, everything else as it is. */
void reply_json_string(struct buf *b, const char *s)
{
	const char *run;

	s = s ? s : "";
	run = s;
	buf_append(b, "\"", 1);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		char esc[8];
		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		buf_append(b, run, (size_t)(s - run));
		run = s + 1;
		switch (c) {
		case '"': buf_append(b, "\\\"", 2); break;
		case '\\': buf_append(b, "\\\\", 2); break;
		case '\b': buf_append(b, "\\b", 2); break;
		case '\f': buf_append(b, "\\f", 2); break;
		case '\n': buf_append(b, "\\n", 2); break;
		case '\r': buf_append(b, "\\r", 2); break;
		case '\t': buf_append(b, "\\t", 2); break;
		default:
			snprintf(esc, sizeof(esc), "\\u%04x", c);
			buf_append(b, esc, 6);
		}
	}
	buf_append(b, run, (size_t)(s - run));
	buf_append(b, "\"", 1);
}

void reply_json_print(struct buf *b, const cJSON *v)
{
	switch (v->type & 0xff) {
	case cJSON_False:
		buf_append(b, "false", 5);
		break;
	case cJSON_True:
		buf_append(b, "true", 4);
		break;
	case cJSON_NULL:
		buf_append(b, "null", 4);
		break;
	case cJSON_Number:
		reply_json_number(b, v->valuedouble);
		break;
	case cJSON_String:
		reply_json_string(b, v->valuestring);
		break;
	case cJSON_Raw:
		if (v->valuestring)
			buf_puts(b, v->valuestring);
		break;
	case cJSON_Array:
	case cJSON_Object: {
		bool object = (v->type & 0xff) == cJSON_Object;
		buf_append(b, object ? "{" : "[", 1);
		for (const cJSON *c = v->child; c; c = c->next) {
			if (object) {
				reply_json_string(b, c->string);
				buf_append(b, ":", 1);
			}
			reply_json_print(b, c);
			if (c->next)
				buf_append(b, ",", 1);
		}
		buf_append(b, object ? "}" : "]", 1);
		break;
	}
	default:	/* cJSON_Invalid: cJSON prints nothing and fails */
		b->oom = true;
	}
}

void reply_json(struct response *res, int status, cJSON *body)
{
	buf_reset(&res->body);
	res->body.oom = false;
	if (body)
		reply_json_print(&res->body, body);
	if (!body || res->body.oom) {
		buf_free(&res->body);
		reply_error(res, 500, "out_of_memory", "could not build the answer");
	} else {
		res->status = status;
	}
	cJSON_Delete(body);
}
