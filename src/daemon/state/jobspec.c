/*
 * jobspec.c - one submitted job, checked field by field. See jobspec.h.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/common.h"
#include "daemon/state/arrayspec.h"
#include "daemon/state/cwdcheck.h"
#include "daemon/state/jobspec.h"
#include "daemon/state/jsoncheck.h"
#include "daemon/state/notifyspec.h"
#include "base/units.h"

#define ARGV_MAX 4096
#define DEPS_MAX 4096
#define RETRIES_MAX 1000

static bool wrong_type(struct jobspec_error *err, const char *field, const char *want)
{
	return json_fail(err, 400, "invalid_field", "%s must be %s", field, want);
}

/* A whole number in [min, max]. */
static bool get_int(const cJSON *v, const char *field, double min, double max,
		    double *out, struct jobspec_error *err)
{
	if (!cJSON_IsNumber(v))
		return wrong_type(err, field, "a number");
	if (v->valuedouble != floor(v->valuedouble) || v->valuedouble < min ||
	    v->valuedouble > max)
		return json_fail(err, 422, "invalid_value", "%s must be a whole number from %.0f to %.0f",
			    field, min, max);
	*out = v->valuedouble;
	return true;
}

static bool parse_command(const cJSON *v, struct jobspec *js, struct jobspec_error *err)
{
	int n = cJSON_GetArraySize(v), i = 0;
	const cJSON *arg;

	if (!cJSON_IsArray(v))
		return wrong_type(err, "command", "an array of strings");
	if (n == 0 || n > ARGV_MAX)
		return json_fail(err, 422, "invalid_command", "command needs 1 to %d strings", ARGV_MAX);
	free(js->argv);		/* a repeated field: the last one counts */
	js->spec.argv = NULL;
	js->argv = calloc((size_t)n + 1, sizeof(char *));
	if (!js->argv)
		return json_fail(err, 503, "out_of_memory", "no memory for the command");
	cJSON_ArrayForEach(arg, v) {
		if (!cJSON_IsString(arg))
			return wrong_type(err, "command", "an array of strings");
		js->argv[i++] = arg->valuestring;
	}
	if (!*js->argv[0])
		return json_fail(err, 422, "invalid_command", "the program name is empty");
	js->spec.argv = js->argv;
	return true;
}

/* "a,b" from a string or an array of strings. */
static bool label_list(const cJSON *v, const char *field, char *out, size_t size,
		       struct jobspec_error *err)
{
	const cJSON *item;
	size_t used = 0;

	if (cJSON_IsString(v)) {
		if (strlen(v->valuestring) >= size)
			return json_fail(err, 422, "invalid_value", "%s is too long", field);
		strcpy(out, v->valuestring);
		return true;
	}
	if (!cJSON_IsArray(v))
		return wrong_type(err, field, "a list of labels");
	out[0] = '\0';
	cJSON_ArrayForEach(item, v) {
		if (!cJSON_IsString(item) || strchr(item->valuestring, ','))
			return wrong_type(err, field, "a list of labels");
		used += (size_t)snprintf(out + used, size > used ? size - used : 0, "%s%s",
					 used ? "," : "", item->valuestring);
		if (used >= size)
			return json_fail(err, 422, "invalid_value", "%s is too long", field);
	}
	return true;
}

/* Bytes as a number, or a size like "4G", of the field named. */
static bool parse_size(const cJSON *v, const char *field, uint64_t *bytes,
		       struct jobspec_error *err)
{
	double d;
	int rc;

	if (cJSON_IsString(v)) {
		if ((rc = jr_parse_size_bytes(v->valuestring, bytes)) == -ERANGE)
			return json_fail(err, 422, "invalid_value",
				    "%s \"%.64s\" is more than 16E (2^64 - 1 bytes)", field,
				    v->valuestring);
		if (rc < 0)
			return json_fail(err, 422, "invalid_value",
				    "%s \"%.64s\" is not a size like 4096, 512M or 4G", field,
				    v->valuestring);
		return true;
	}
	/* 2^64 - 2048: the largest double below 2^64. */
	if (!get_int(v, field, 0, 18446744073709549568.0, &d, err))
		return false;
	*bytes = (uint64_t)d;
	return true;
}

/* requirements.memory: 0 is refused (leave the field out for no memory
 * limit), unless reading back a journaled job. */
static bool parse_memory(const cJSON *v, uint64_t *bytes, bool strict, struct jobspec_error *err)
{
	if (!parse_size(v, "requirements.memory", bytes, err))
		return false;
	if (*bytes == 0 && strict)
		return json_fail(err, 422, "invalid_value",
			    "requirements.memory must be more than 0 (leave it out for no limit)");
	return true;
}

/* Any other whole-number requirement names a custom resource. */
static bool parse_custom(const cJSON *v, struct jobspec *js, struct jobspec_error *err)
{
	size_t used = strlen(js->resources);
	double d;

	if (!get_int(v, v->string, 0, 1e15, &d, err))
		return false;
	used += (size_t)snprintf(js->resources + used, sizeof(js->resources) - used,
				 "%s%s=%.0f", used ? "," : "", v->string, d);
	if (used >= sizeof(js->resources))
		return json_fail(err, 422, "invalid_value", "too many custom resources");
	return true;
}

/* The filesystem a "storage" request names (NULL: the first declared):
 * its index, or false with err. */
static bool storage_fs(const struct jr_resource_view *rv, const char *path, uint32_t *fs,
		       struct jobspec_error *err)
{
	if (rv->storage_count == 0)
		return json_fail(err, 422, "invalid_value",
				 "storage: this host declares none (jobringd --storage PATH=SIZE)");
	for (*fs = 0; path && *fs < rv->storage_count; (*fs)++)
		if (strcmp(rv->storage[*fs].path, path) == 0)
			return true;
	if (!path) {
		*fs = 0;
		return true;
	}
	return json_fail(err, 422, "invalid_value", "storage.path \"%.80s\" is not a declared "
			 "filesystem (GET /resources lists them)", path);
}

/* "storage": "10G" (a size on the first filesystem declared) or
 * {"size": "10G", "path": "/scratch"}: the counter "storage:<i>" of
 * that filesystem (exec/scratch.h), refused beyond its size. */
static bool parse_storage(struct jr_engine *e, const cJSON *v, struct jobspec *js,
			  struct jobspec_error *err)
{
	const cJSON *size = v, *path = NULL;
	struct jr_resource_view rv;
	uint64_t bytes;
	uint32_t fs = 0;
	char text[16];

	if (cJSON_IsObject(v)) {
		size = cJSON_GetObjectItemCaseSensitive(v, "size");
		path = cJSON_GetObjectItemCaseSensitive(v, "path");
		for (const cJSON *k = v->child; k; k = k->next)
			if (strcmp(k->string, "size") && strcmp(k->string, "path"))
				return json_fail(err, 422, "unknown_field", "unknown field: storage.%s",
						 k->string);
		if (!size)
			return json_fail(err, 422, "invalid_value", "storage needs a size");
		if (path && !cJSON_IsString(path))
			return wrong_type(err, "storage.path", "a string");
	} else if (!cJSON_IsString(v) && !cJSON_IsNumber(v)) {
		return wrong_type(err, "storage", "a size (\"10G\") or {\"size\", \"path\"}");
	}
	if (!parse_size(size, "storage", &bytes, err))
		return false;
	if (bytes == 0)
		return json_fail(err, 422, "invalid_value", "storage must be more than 0");
	if (jr_engine_resources(e, &rv, JR_VIEW_STORAGE_ONLY) < 0 ||
	    !storage_fs(&rv, path ? path->valuestring : NULL, &fs, err))
		return false;
	if (bytes > rv.storage[fs].bytes_total) {
		char have[16];
		jr_format_size(bytes, text, sizeof(text));
		jr_format_size(rv.storage[fs].bytes_total, have, sizeof(have));
		return json_fail(err, 422, "impossible_resources",
				 "storage %s is more than %.80s has (%s)", text, rv.storage[fs].path,
				 have);
	}
	size_t used = strlen(js->resources);
	used += (size_t)snprintf(js->resources + used, sizeof(js->resources) - used,
				 "%sstorage:%u=%llu", used ? "," : "", fs, (unsigned long long)bytes);
	if (used >= sizeof(js->resources))
		return json_fail(err, 422, "invalid_value", "too many custom resources");
	js->spec.resources = js->resources;
	js->storage = true;
	return true;
}

static bool parse_requirement(const cJSON *v, struct jobspec *js, bool strict,
			      struct jobspec_error *err)
{
	struct jr_command_spec *s = &js->spec;
	double d;

	if (strcmp(v->string, "cpus") == 0) {
		if (!get_int(v, "requirements.cpus", 1, 65536, &d, err))
			return false;
		s->cpus = (uint32_t)d;
	} else if (strcmp(v->string, "gpus") == 0) {
		if (!get_int(v, "requirements.gpus", 0, 4096, &d, err))
			return false;
		s->gpus = (uint32_t)d;
	} else if (strcmp(v->string, "memory") == 0) {
		return parse_memory(v, &s->mem_bytes, strict, err);
	} else if (strcmp(v->string, "capabilities") == 0) {
		if (!label_list(v, "requirements.capabilities", js->capabilities,
				sizeof(js->capabilities), err))
			return false;
		s->capabilities = js->capabilities;
	} else if (strcmp(v->string, "span_numa") == 0) {
		if (!cJSON_IsBool(v))
			return wrong_type(err, "requirements.span_numa", "true or false");
		s->span_numa = cJSON_IsTrue(v);
	} else {
		return parse_custom(v, js, err);
	}
	return true;
}

static bool parse_requirements(const cJSON *v, struct jobspec *js, bool strict,
			       struct jobspec_error *err)
{
	const cJSON *item;

	if (!cJSON_IsObject(v))
		return wrong_type(err, "requirements", "an object");
	cJSON_ArrayForEach(item, v)
		if (!parse_requirement(item, js, strict, err))
			return false;
	if (js->resources[0])
		js->spec.resources = js->resources;
	return true;
}

static bool id_of(const char *s, jr_job_id *id)
{
	char *end;

	if (strlen(s) != 16)
		return false;
	*id = strtoull(s, &end, 16);
	return *end == '\0' && *id != 0;
}

/* Slurm's names, in enum jr_dep_type's order, then aftercorr. */
static bool dep_type_of(const char *name, uint8_t *type)
{
	static const char *const names[] = { "afterok", "afterany", "afternotok", "after",
					     "aftercorr" };

	for (uint8_t t = 0; t < sizeof(names) / sizeof(names[0]); t++)
		if (strcmp(name, names[t]) == 0) {
			*type = t;
			return true;
		}
	return false;
}

/* One dependency: a job id (afterok), or {"job_id": ID, "type": T}. */
static bool parse_one_dependency(const cJSON *item, const char *field, jr_job_id *id,
				 uint8_t *type, struct jobspec_error *err)
{
	const cJSON *jid = item, *t;

	*type = JR_DEP_AFTEROK;
	if (cJSON_IsObject(item)) {
		jid = cJSON_GetObjectItemCaseSensitive(item, "job_id");
		t = cJSON_GetObjectItemCaseSensitive(item, "type");
		if (!jid)
			return wrong_type(err, field, "job ids or {\"job_id\", \"type\"} objects");
		if (cJSON_GetArraySize(item) != 1 + (t != NULL))
			return json_fail(err, 422, "unknown_field",
					 "a dependency object has \"job_id\" and \"type\" only");
		if (t && !cJSON_IsString(t))
			return wrong_type(err, field, "job ids or {\"job_id\", \"type\"} objects");
		if (t && !dep_type_of(t->valuestring, type))
			return json_fail(err, 422, "invalid_value",
					 "dependency type \"%.40s\" is not afterok, afterany, "
					 "afternotok, after or aftercorr", t->valuestring);
	}
	if (!cJSON_IsString(jid))
		return wrong_type(err, field, "job ids or {\"job_id\", \"type\"} objects");
	if (!id_of(jid->valuestring, id))
		return json_fail(err, 422, "unknown_dependency", "no such job: %.40s", jid->valuestring);
	return true;
}

/* "dependencies" or "after": the ids, then their types in the same block
 * (spec.after_types only when one is not afterok). */
static bool parse_dependencies(const cJSON *v, const char *field, struct jobspec *js,
			       struct jobspec_error *err)
{
	int n = cJSON_GetArraySize(v), i = 0;
	const cJSON *item;
	uint8_t *types;
	bool typed = false;

	if (!cJSON_IsArray(v))
		return wrong_type(err, field, "an array of job ids");
	if (n > DEPS_MAX)
		return json_fail(err, 422, "invalid_value", "at most %d dependencies", DEPS_MAX);
	free(js->after);	/* a repeated field: the last one counts */
	js->spec.after = NULL;
	js->spec.after_types = NULL;
	js->spec.after_count = 0;
	js->after = calloc(1, ((size_t)n + 1) * sizeof(*js->after) + (size_t)n);
	if (!js->after)
		return json_fail(err, 503, "out_of_memory", "no memory for the dependencies");
	types = (uint8_t *)(js->after + n + 1);
	cJSON_ArrayForEach(item, v) {
		if (!parse_one_dependency(item, field, &js->after[i], &types[i], err))
			return false;
		typed |= types[i++] != JR_DEP_AFTEROK;
	}
	js->spec.after = js->after;
	js->spec.after_types = typed ? types : NULL;
	js->spec.after_count = (size_t)n;
	return true;
}

/* Slurm's --array: "0-999:2%50", "1,3,5-7". */
static bool parse_array(const cJSON *v, struct jobspec *js, struct jobspec_error *err)
{
	char why[160];

	if (!cJSON_IsString(v))
		return wrong_type(err, "array", "a string such as \"0-999:2%50\" or \"1,3,5-7\"");
	free(js->array);	/* a repeated field: the last one counts */
	js->array = malloc(sizeof(*js->array));
	if (!js->array)
		return json_fail(err, 503, "out_of_memory", "no memory for the array");
	if (!arrayspec_parse(v->valuestring, js->array, why, sizeof(why)))
		return json_fail(err, 422, "invalid_value", "array \"%.40s\": %s", v->valuestring,
				 why);
	return true;
}

static bool parse_singleton(const cJSON *v, struct jobspec *js, struct jobspec_error *err)
{
	if (!cJSON_IsBool(v))
		return wrong_type(err, "singleton", "true or false");
	if (cJSON_IsTrue(v))
		js->spec.flags |= JR_COMMAND_SINGLETON;
	else
		js->spec.flags &= ~(uint32_t)JR_COMMAND_SINGLETON;
	return true;
}

/* Seconds as a number, or a duration like "30m": timeout, retry_backoff,
 * retry_backoff_max; at most JR_DURATION_MAX_MS. */
static bool parse_duration(const cJSON *v, const char *name, uint64_t *ms,
			   struct jobspec_error *err)
{
	int rc;

	if (cJSON_IsNumber(v)) {
		if (jr_seconds_to_duration_ms(v->valuedouble, ms) < 0)
			return json_fail(err, 422, "invalid_value",
				    "%s must be 0 to 1000000000 seconds (about 31 years)", name);
		return true;
	}
	if (!cJSON_IsString(v))
		return wrong_type(err, name, "seconds or a duration like \"30m\"");
	if ((rc = jr_parse_duration_ms(v->valuestring, ms)) == -ERANGE)
		return json_fail(err, 422, "invalid_value",
			    "%s \"%.64s\" is longer than the longest duration, 1000000000 seconds "
			    "(about 31 years)", name, v->valuestring);
	if (rc < 0)
		return json_fail(err, 422, "invalid_value",
			    "%s \"%.64s\" is not a duration like 90, 30m or 2h", name, v->valuestring);
	return true;
}

static bool parse_scheduled_at(const cJSON *v, struct jobspec *js, struct jobspec_error *err)
{
	const char *range = "from 1970-01-01T00:00:00Z to " JR_TIME_MAX_TEXT;
	int rc;

	if (cJSON_IsNumber(v)) {
		if (jr_seconds_to_time_ns(v->valuedouble, &js->spec.scheduled_at_ns) < 0)
			return json_fail(err, 422, "invalid_value",
				    "scheduled_at must be seconds since the epoch, %s", range);
		return true;
	}
	if (!cJSON_IsString(v))
		return wrong_type(err, "scheduled_at", "an RFC 3339 time");
	rc = jr_parse_rfc3339_ns(v->valuestring, &js->spec.scheduled_at_ns);
	if (rc == -ERANGE)
		return json_fail(err, 422, "invalid_value", "scheduled_at \"%.64s\" is out of range: %s",
			    v->valuestring, range);
	if (rc == -EDOM)
		return json_fail(err, 422, "invalid_value",
			    "scheduled_at \"%.64s\" is no such date or time (day within the month, "
			    "hour 0-23, minute and second 0-59)", v->valuestring);
	if (rc < 0)
		return json_fail(err, 422, "invalid_value",
			    "scheduled_at \"%.64s\" is not an RFC 3339 time like 2026-11-27T13:00:00Z",
			    v->valuestring);
	return true;
}

static void strv_free(char **v)
{
	for (size_t i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

/* An "env" object (named field in errors) into *out: "K=V" strings,
 * NULL-terminated, owned. */
static bool env_strv(const cJSON *v, const char *field, char ***out, struct jobspec_error *err)
{
	int n = cJSON_GetArraySize(v), i = 0;
	const cJSON *item;

	if (!cJSON_IsObject(v))
		return wrong_type(err, field, "an object of strings");
	strv_free(*out);	/* a repeated field: the last one counts */
	*out = calloc((size_t)n + 1, sizeof(char *));
	if (!*out)
		return json_fail(err, 503, "out_of_memory", "no memory for %s", field);
	cJSON_ArrayForEach(item, v) {
		if (!cJSON_IsString(item) || !*item->string || strchr(item->string, '='))
			return wrong_type(err, field, "an object of strings");
		if (asprintf(&(*out)[i], "%s=%s", item->string, item->valuestring) < 0) {
			(*out)[i] = NULL;
			return json_fail(err, 503, "out_of_memory", "no memory for %s", field);
		}
		i++;
	}
	return true;
}

static bool parse_env(const cJSON *v, struct jobspec *js, struct jobspec_error *err)
{
	bool ok = env_strv(v, "env", &js->env, err);

	js->spec.env = js->env;
	return ok;
}

bool jobspec_parse_batch(const cJSON *o, struct jobspec_batch *out, struct jobspec_error *err)
{
	const cJSON *b = cJSON_GetObjectItemCaseSensitive(o, "batch"), *v;

	out->env = NULL;
	if (!cJSON_IsObject(o) || !b)
		return json_fail(err, 400, "invalid_json", "a batch header is {\"batch\":{...}}");
	cJSON_ArrayForEach(v, o)
		if (strcmp(v->string, "batch") != 0)
			return json_fail(err, 422, "unknown_field", "unknown field in the header: %s",
				    v->string);
	if (!cJSON_IsObject(b))
		return wrong_type(err, "batch", "an object");
	cJSON_ArrayForEach(v, b) {
		if (strcmp(v->string, "env") != 0)
			return json_fail(err, 422, "unknown_field", "unknown field: batch.%s", v->string);
		if (!env_strv(v, "batch.env", &out->env, err))
			return false;
	}
	return true;
}

void jobspec_batch_free(struct jobspec_batch *b)
{
	strv_free(b->env);
	b->env = NULL;
}

static bool parse_queue(struct jr_engine *e, const cJSON *v, struct jobspec *js,
			struct jobspec_error *err)
{
	if (!cJSON_IsString(v))
		return wrong_type(err, "queue", "a queue name");
	if (jr_queue_lookup(e, v->valuestring, &js->spec.queue_id) < 0)
		return json_fail(err, 422, "unknown_queue", "no such queue: %s", v->valuestring);
	return true;
}

static bool parse_text(const cJSON *v, const char *field, size_t max, const char **out,
		       struct jobspec_error *err)
{
	if (!cJSON_IsString(v))
		return wrong_type(err, field, "a string");
	if (strlen(v->valuestring) >= max)
		return json_fail(err, 422, "invalid_value", "%s is longer than %zu bytes", field, max - 1);
	*out = v->valuestring;
	return true;
}

static bool parse_executor(const cJSON *v, struct jobspec *js, struct jobspec_error *err)
{
	if (!cJSON_IsString(v))
		return wrong_type(err, "executor", "\"local\" or \"external\"");
	if (strcmp(v->valuestring, "external") == 0)
		js->spec.flags |= JR_COMMAND_EXTERNAL;
	else if (strcmp(v->valuestring, "local") != 0)
		return json_fail(err, 422, "invalid_value", "executor must be \"local\" or \"external\"");
	return true;
}

static bool parse_hold(const cJSON *v, struct jobspec *js, struct jobspec_error *err)
{
	if (!cJSON_IsBool(v))
		return wrong_type(err, "hold", "true or false");
	if (cJSON_IsTrue(v))
		js->spec.flags |= JR_COMMAND_HELD;
	return true;
}

/* notify and callback_url (issue 16): checked here, read when the job ends. */
static bool parse_notify(const cJSON *v, const char *field, struct jobspec_error *err)
{
	char why[200];
	bool ok = strcmp(field, "notify") == 0 ? notifyspec_check(v, why, sizeof(why))
					       : notifyspec_check_callback(v, why, sizeof(why));

	return ok || json_fail(err, 422, "invalid_value", "%s", why);
}

static bool parse_field(struct jr_engine *e, const cJSON *v, struct jobspec *js, bool strict,
			struct jobspec_error *err)
{
	const char *k = v->string;
	double d;

	if (strcmp(k, "command") == 0)
		return parse_command(v, js, err);
	if (strcmp(k, "name") == 0)
		return parse_text(v, "name", JR_NAME_MAX, &js->spec.name, err);
	if (strcmp(k, "priority") == 0) {
		if (!get_int(v, "priority", JR_CMD_PRIORITY_MIN, JR_CMD_PRIORITY_MAX, &d, err))
			return false;
		js->spec.priority = (int)d;
		js->spec.flags |= JR_COMMAND_PRIORITY_SET;
		return true;
	}
	if (strcmp(k, "requirements") == 0)
		return parse_requirements(v, js, strict, err);
	if (strcmp(k, "dependencies") == 0 || strcmp(k, "after") == 0)
		return parse_dependencies(v, k, js, err);
	if (strcmp(k, "singleton") == 0)
		return parse_singleton(v, js, err);
	if (strcmp(k, "array") == 0)
		return parse_array(v, js, err);
	if (strcmp(k, "max_retries") == 0) {
		if (!get_int(v, "max_retries", 0, RETRIES_MAX, &d, err))
			return false;
		js->spec.max_retries = (uint32_t)d;
		return true;
	}
	if (strcmp(k, "timeout") == 0)
		return parse_duration(v, "timeout", &js->spec.timeout_ms, err);
	if (strcmp(k, "retry_backoff") == 0)
		return parse_duration(v, "retry_backoff", &js->spec.backoff_base_ms, err);
	if (strcmp(k, "retry_backoff_max") == 0)
		return parse_duration(v, "retry_backoff_max", &js->spec.backoff_max_ms, err);
	if (strcmp(k, "scheduled_at") == 0)
		return parse_scheduled_at(v, js, err);
	if (strcmp(k, "queue") == 0)
		return parse_queue(e, v, js, err);
	if (strcmp(k, "executor") == 0)
		return parse_executor(v, js, err);
	if (strcmp(k, "env") == 0)
		return parse_env(v, js, err);
	if (strcmp(k, "cwd") == 0)
		return parse_text(v, "cwd", 4096, &js->spec.cwd, err);
	if (strcmp(k, "payload") == 0)
		return true;	/* kept with the job for its worker */
	if (strcmp(k, "storage") == 0)	/* scratch space (exec/scratch.h) */
		return parse_storage(e, v, js, err);
	if (strcmp(k, "hold") == 0)	/* sbatch --hold */
		return parse_hold(v, js, err);
	if (strcmp(k, "max_output") == 0)	/* the engine keeps it under --max-output */
		return parse_size(v, "max_output", &js->spec.max_output_bytes, err) &&
		       (js->spec.max_output_bytes > 0 ||
			json_fail(err, 422, "invalid_value", "max_output must be above 0"));
	if (strcmp(k, "notify") == 0 || strcmp(k, "callback_url") == 0)	/* issue 16 */
		return parse_notify(v, k, err);
	return json_fail(err, 422, "unknown_field", "unknown field: %s", k);
}

/* cwd: absolute, and for a job run here a directory its user can enter
 * (an external worker's host is its own business). */
static bool check_cwd(const struct jobspec *js, const struct jobspec_submitter *who,
		      struct jobspec_error *err)
{
	char why[sizeof(err->message)];

	if (js->spec.cwd[0] != '/')
		return json_fail(err, 422, "invalid_value", "cwd \"%.80s\" is not an absolute path",
			    js->spec.cwd);
	if ((js->spec.flags & JR_COMMAND_EXTERNAL) || !who->cwd)
		return true;
	if (!cwd_check(who->cwd, js->spec.cwd, why, sizeof(why)))
		return json_fail(err, 422, "invalid_value", "%s", why);
	return true;
}

/* Empty: the spec and the pointers zeroed, the two text buffers empty
 * strings. Not the whole struct: its 512 bytes of buffers zeroed three
 * times a job were a fifth of a batch's time in the event loop. */
void jobspec_init(struct jobspec *js)
{
	js->spec = (struct jr_command_spec){ 0 };
	js->argv = js->env = NULL;
	js->after = NULL;
	js->array = NULL;
	js->resources[0] = js->capabilities[0] = '\0';
	js->storage = false;
}

/* Under --private another user's job is one the caller cannot know of:
 * depending on it answers as for an id that does not exist, so the
 * answer does not tell whether it does. */
static bool check_hidden_dependencies(struct jr_engine *e, const struct jobspec *js,
				      const struct jobspec_submitter *who,
				      struct jobspec_error *err)
{
	struct jr_job_info info;

	for (size_t i = 0; i < js->spec.after_count; i++)
		if (jr_job_get(e, js->after[i], &info) == 0 && info.owner_uid != who->uid)
			return json_fail(err, 422, "unknown_dependency", "no such job: %016llx",
				    (unsigned long long)js->after[i]);
	return true;
}

bool jobspec_has_corr(const struct jobspec *js)
{
	const uint8_t *types = js->spec.after_types;

	for (size_t i = 0; types && i < js->spec.after_count; i++)
		if (types[i] == JOBSPEC_DEP_AFTERCORR)
			return true;
	return false;
}

void jobspec_corr(const struct jobspec *js, uint32_t index, struct jr_command_spec *spec,
		  jr_job_id *after, uint8_t *types,
		  jr_job_id (*corr)(void *ctx, jr_job_id array, uint32_t index), void *ctx)
{
	const uint8_t *from = js->spec.after_types;
	size_t n = 0;

	for (size_t i = 0; i < js->spec.after_count; i++) {
		jr_job_id id = js->spec.after[i];
		uint8_t type = from ? from[i] : JR_DEP_AFTEROK;
		if (type == JOBSPEC_DEP_AFTERCORR) {
			id = corr(ctx, id, index);
			type = JR_DEP_AFTEROK;
		}
		if (!id)
			continue;
		after[n] = id;
		types[n++] = type;
	}
	spec->after = n ? after : NULL;
	spec->after_types = n ? types : NULL;
	spec->after_count = n;
}

/* aftercorr belongs to an array's tasks. */
static bool check_corr(const struct jobspec *js, struct jobspec_error *err)
{
	if (!js->array && jobspec_has_corr(js))
		return json_fail(err, 422, "invalid_value",
				 "aftercorr is for the tasks of an array (\"array\")");
	return true;
}

bool jobspec_parse(struct jr_engine *e, const cJSON *o, const struct jobspec_submitter *who,
		   struct jobspec *js, struct jobspec_error *err)
{
	const cJSON *v;

	jobspec_init(js);
	js->spec.priority = JR_PRIORITY_FROM_QUEUE;
	if (!cJSON_IsObject(o))
		return json_fail(err, 400, "invalid_json", "a job is a JSON object");
	cJSON_ArrayForEach(v, o)
		if (!parse_field(e, v, js, who->strict, err))
			return false;
	return jobspec_finish(e, js, who, err);
}

bool jobspec_finish(struct jr_engine *e, struct jobspec *js, const struct jobspec_submitter *who,
		    struct jobspec_error *err)
{
	if (who->strict && js->spec.cwd && !check_cwd(js, who, err))
		return false;
	if (who->hide_others && !check_hidden_dependencies(e, js, who, err))
		return false;
	if (!check_corr(js, err))
		return false;
	if ((js->spec.flags & JR_COMMAND_SINGLETON) && (!js->spec.name || !*js->spec.name))
		return json_fail(err, 422, "invalid_value",
				 "singleton needs a name: one job of a name and user runs at once");
	if (js->storage && (js->spec.flags & JR_COMMAND_EXTERNAL))
		return json_fail(err, 422, "invalid_value",
				 "storage is this host's: an external job cannot have it");
	if (!js->spec.argv && !(js->spec.flags & JR_COMMAND_EXTERNAL))
		return json_fail(err, 422, "missing_command",
			    "a job needs a command (or \"executor\": \"external\")");
	if (who->switch_user) {
		js->spec.run_as_user = 1;
		js->spec.uid = who->uid;
		js->spec.gid = who->gid;
	}
	return true;
}

/* Most jobs have no env, dependencies or array: those frees are
 * skipped (a batch frees 10,000 of these per request). */
void jobspec_free(struct jobspec *js)
{
	if (js->env)
		strv_free(js->env);
	if (js->after)
		free(js->after);
	if (js->array)
		free(js->array);
	free(js->argv);
	jobspec_init(js);
}

void jobspec_engine_error(int rc, struct jobspec_error *err)
{
	switch (rc) {
	case -EINVAL:
		json_fail(err, 422, "invalid_job", "the job is invalid (priority, name or labels)");
		break;
	case -ENOENT:
		json_fail(err, 422, "unknown_dependency",
		     "a dependency is not a known command job (or a label is unknown)");
		break;
	case -E2BIG:
		json_fail(err, 422, "impossible_resources", "more resources than this host has");
		break;
	case -EAGAIN:
		json_fail(err, 503, "table_full", "the job table is full; retry after jobs finish");
		break;
	case -ESHUTDOWN:
		json_fail(err, 503, "shutting_down", "the daemon is stopping");
		break;
	default:
		json_fail(err, 500, "internal", "submission failed: %s", strerror(-rc));
		break;
	}
}
