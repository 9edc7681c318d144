/*
 * reply.c - JSON errors and JSON bodies as answers. See reply.h.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

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

void reply_json(struct response *res, int status, cJSON *body)
{
	char *text = body ? cJSON_PrintUnformatted(body) : NULL;

	if (!text) {
		reply_error(res, 500, "out_of_memory", "could not build the answer");
	} else {
		res->status = status;
		buf_reset(&res->body);
		buf_puts(&res->body, text);
	}
	free(text);
	cJSON_Delete(body);
}
