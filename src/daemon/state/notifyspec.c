/*
 * notifyspec.c - a "notify" setting checked and read. See notifyspec.h.
 */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "daemon/state/notifyspec.h"

static const struct { const char *name; uint32_t bit; } event_names[] = {
	{ "end", NOTIFY_END },
	{ "failure", NOTIFY_FAILURE },
	{ "retries_exhausted", NOTIFY_RETRIES_EXHAUSTED },
};

const char *notify_event_name(uint32_t event)
{
	for (size_t i = 0; i < sizeof(event_names) / sizeof(event_names[0]); i++)
		if (event_names[i].bit == event)
			return event_names[i].name;
	return "unknown";
}

const char *notify_kind_name(enum notify_kind kind)
{
	return kind == NOTIFY_COMMAND ? "command" : "webhook";
}

uint32_t notify_event_of(uint32_t events, bool ended, bool failed, bool retried)
{
	if (!ended)
		return 0;
	if (failed && retried && (events & NOTIFY_RETRIES_EXHAUSTED))
		return NOTIFY_RETRIES_EXHAUSTED;
	if (failed && (events & NOTIFY_FAILURE))
		return NOTIFY_FAILURE;
	return events & NOTIFY_END;
}

static uint32_t event_bit(const char *name)
{
	for (size_t i = 0; i < sizeof(event_names) / sizeof(event_names[0]); i++)
		if (strcmp(event_names[i].name, name) == 0)
			return event_names[i].bit;
	return 0;
}

static bool fail(char *why, size_t size, const char *msg)
{
	snprintf(why, size, "%s", msg);
	return false;
}

/* "on": a name or a list of names; *bits the events. */
static bool check_on(const cJSON *on, uint32_t *bits, char *why, size_t size)
{
	const cJSON *e;

	*bits = 0;
	if (!on) {
		*bits = NOTIFY_END;
		return true;
	}
	if (cJSON_IsString(on))
		*bits = event_bit(on->valuestring);
	else if (cJSON_IsArray(on))
		cJSON_ArrayForEach(e, on) {
			uint32_t b = cJSON_IsString(e) ? event_bit(e->valuestring) : 0;
			if (!b)
				return fail(why, size, "notify.on: each is \"end\", \"failure\" "
					    "or \"retries_exhausted\"");
			*bits |= b;
		}
	if (!*bits)
		return fail(why, size, "notify.on: \"end\", \"failure\", \"retries_exhausted\" "
			    "or a list of them");
	return true;
}

/* An http or https URL with a host, nothing else (no file://, no
 * gopher://, no scheme guessed): curl's own parser decides. */
static bool check_url(const char *url, const char *field, char *why, size_t size)
{
	CURLU *u;
	char *scheme = NULL, *host = NULL;
	bool ok;

	if (strlen(url) >= NOTIFY_URL_MAX) {
		snprintf(why, size, "%s: longer than %u bytes", field, NOTIFY_URL_MAX - 1);
		return false;
	}
	for (const char *p = url; *p; p++)
		if ((unsigned char)*p <= ' ' || *p == 0x7f) {
			snprintf(why, size, "%s: a URL has no spaces or control characters", field);
			return false;
		}
	if (!(u = curl_url()))
		return fail(why, size, "no memory");
	ok = curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
	     curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
	     curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK && host && *host &&
	     (strcasecmp(scheme, "http") == 0 || strcasecmp(scheme, "https") == 0) &&
	     (strncasecmp(url, "http://", 7) == 0 || strncasecmp(url, "https://", 8) == 0);
	curl_free(scheme);
	curl_free(host);
	curl_url_cleanup(u);
	if (!ok)
		snprintf(why, size, "%s: only http:// and https:// URLs with a host are taken",
			 field);
	return ok;
}

/* argv: 1 to NOTIFY_ARGV_MAX strings, the first an absolute path. */
static bool check_command(const cJSON *cmd, char *why, size_t size)
{
	const cJSON *a;
	uint32_t n = 0;

	if (!cJSON_IsArray(cmd))
		return fail(why, size, "notify.command: a list of strings (argv)");
	cJSON_ArrayForEach(a, cmd) {
		if (!cJSON_IsString(a) || strlen(a->valuestring) >= NOTIFY_ARG_MAX)
			return fail(why, size, "notify.command: a list of strings (argv), "
				    "each under 1 KiB");
		if (n == 0 && a->valuestring[0] != '/')
			return fail(why, size, "notify.command: its program is an absolute path");
		n++;
	}
	if (n == 0 || n > NOTIFY_ARGV_MAX)
		return fail(why, size, "notify.command: 1 to 32 strings");
	return true;
}

static bool check_target(const cJSON *t, char *why, size_t size)
{
	const cJSON *url = cJSON_GetObjectItemCaseSensitive(t, "url");
	const cJSON *cmd = cJSON_GetObjectItemCaseSensitive(t, "command"), *f;
	uint32_t bits;

	if (!cJSON_IsObject(t))
		return fail(why, size, "notify: an object ({\"on\", \"url\" or \"command\"}) "
			    "or a list of them");
	cJSON_ArrayForEach(f, t)
		if (strcmp(f->string, "on") && strcmp(f->string, "url") &&
		    strcmp(f->string, "command")) {
			snprintf(why, size, "notify.%.64s: unknown field (on, url, command)",
				 f->string);
			return false;
		}
	if (!check_on(cJSON_GetObjectItemCaseSensitive(t, "on"), &bits, why, size))
		return false;
	if (!url == !cmd)
		return fail(why, size, "notify: a url or a command, one of them");
	if (url)
		return cJSON_IsString(url) ? check_url(url->valuestring, "notify.url", why, size)
					   : fail(why, size, "notify.url: a string");
	return check_command(cmd, why, size);
}

bool notifyspec_check(const cJSON *v, char *why, size_t size)
{
	const cJSON *t;

	if (!cJSON_IsArray(v))
		return check_target(v, why, size);
	if ((uint32_t)cJSON_GetArraySize(v) > NOTIFY_TARGETS_MAX)
		return fail(why, size, "notify: at most 4 targets");
	cJSON_ArrayForEach(t, v)
		if (!check_target(t, why, size))
			return false;
	return true;
}

bool notifyspec_check_callback(const cJSON *v, char *why, size_t size)
{
	if (!cJSON_IsString(v))
		return fail(why, size, "callback_url: a string");
	return check_url(v->valuestring, "callback_url", why, size);
}

static bool add_one(struct notify_targets *out, uint32_t events, enum notify_kind kind,
		    char *target)
{
	if (!target)
		return false;
	if (out->count == NOTIFY_TARGETS_MAX) {
		free(target);
		return true;
	}
	out->t[out->count++] = (struct notify_target){ events, kind, target };
	return true;
}

static bool add_target(const cJSON *t, struct notify_targets *out)
{
	char why[160];
	const cJSON *url = cJSON_GetObjectItemCaseSensitive(t, "url");
	uint32_t bits;

	if (!check_target(t, why, sizeof(why)) ||
	    !check_on(cJSON_GetObjectItemCaseSensitive(t, "on"), &bits, why, sizeof(why)))
		return true;	/* skipped */
	if (url)
		return add_one(out, bits, NOTIFY_WEBHOOK, strdup(url->valuestring));
	return add_one(out, bits, NOTIFY_COMMAND,
		       cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(t, "command")));
}

bool notifyspec_add(const cJSON *v, struct notify_targets *out)
{
	const cJSON *t;

	if (!cJSON_IsArray(v))
		return add_target(v, out);
	cJSON_ArrayForEach(t, v)
		if (!add_target(t, out))
			return false;
	return true;
}

bool notifyspec_add_callback(const cJSON *v, struct notify_targets *out)
{
	char why[160];

	if (!notifyspec_check_callback(v, why, sizeof(why)))
		return true;
	return add_one(out, NOTIFY_END, NOTIFY_WEBHOOK, strdup(v->valuestring));
}

void notifyspec_free(struct notify_targets *t)
{
	for (uint32_t i = 0; i < t->count; i++)
		free(t->t[i].target);
	t->count = 0;
}
