/*
 * test_triggers_state.c - the triggers' table (daemon/state/triggers.c,
 * triggerwatch.c) without a daemon: names, definitions parsed and
 * refused, the journal's records applied (a fire read twice counts once,
 * a redefinition keeps the count, a delete removes), job ends matched by
 * the dependency types and queued only while a job-event trigger exists,
 * and a watched directory's events gathered into one debounced burst
 * whose payload accounts for every file.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include <cjson/cJSON.h>

#include "daemon/state/triggers.h"

static void test_names(void **state)
{
	(void)state;
	assert_true(triggers_name_ok("nightly-etl_2.v1"));
	assert_true(triggers_name_ok("A"));
	assert_false(triggers_name_ok(""));
	assert_false(triggers_name_ok(".hidden"));
	assert_false(triggers_name_ok("-x"));
	assert_false(triggers_name_ok("a/b"));
	assert_false(triggers_name_ok("a b"));
	assert_false(triggers_name_ok("0123456789012345678901234567890123456789012345678901234567890123"));
	assert_true(triggers_name_ok("012345678901234567890123456789012345678901234567890123456789012"));
}

static bool parse(const char *json, struct trigger *t, char *why)
{
	memset(t, 0, sizeof(*t));
	return triggers_parse_def(json, strlen(json), t, why, 256);
}

static void clear(struct trigger *t)
{
	free(t->job);
	free(t->path);
	free(t->pattern);
}

static void test_definitions(void **state)
{
	struct trigger t;
	char why[256];

	(void)state;
	assert_true(parse("{\"job\":{\"command\":[\"true\"]}}", &t, why));
	assert_int_equal(t.kind, TRIGGER_NAMED);
	assert_string_equal(t.job, "{\"command\":[\"true\"]}");
	clear(&t);
	assert_true(parse("{\"file\":{\"path\":\"/d\",\"events\":[\"create\",\"moved_to\"],"
			  "\"pattern\":\"*.csv\"},\"debounce\":\"250ms\"}", &t, why));
	assert_int_equal(t.kind, TRIGGER_FILE);
	assert_int_equal(t.file_events, TRIGGER_EV_CREATE | TRIGGER_EV_MOVED_TO);
	assert_int_equal(t.debounce_ms, 250);
	assert_string_equal(t.pattern, "*.csv");
	clear(&t);
	/* the file's own debounce wins, in either order */
	assert_true(parse("{\"debounce\":\"9s\",\"file\":{\"path\":\"/d\",\"debounce\":2}}", &t, why));
	assert_int_equal(t.debounce_ms, 2000);
	assert_int_equal(t.file_events, TRIGGER_EV_CLOSE_WRITE | TRIGGER_EV_MOVED_TO);
	clear(&t);
	assert_true(parse("{\"on\":{\"type\":\"afternotok\",\"queue\":\"etl\"}}", &t, why));
	assert_int_equal(t.kind, TRIGGER_JOB);
	assert_int_equal(t.dep_type, JR_DEP_AFTERNOTOK);
	assert_string_equal(t.on_queue, "etl");
	clear(&t);
	assert_true(parse("{\"on\":{\"type\":\"afterok\",\"job\":\"0000000100000002\"}}", &t, why));
	assert_int_equal(t.on_job, 0x100000002ull);
	clear(&t);

	static const char *const bad[] = {
		"[]", "{\"colour\":1}", "{\"job\":[1]}", "{\"file\":{\"path\":\"rel\"}}",
		"{\"file\":{}}", "{\"file\":{\"path\":\"/d\",\"events\":[\"open\"]}}",
		"{\"file\":{\"path\":\"/d\",\"events\":[]}}", "{\"file\":{\"path\":\"/d\",\"x\":1}}",
		"{\"on\":{\"job\":\"1\"}}", "{\"on\":{\"type\":\"after\",\"job\":\"1\"}}",
		"{\"on\":{\"type\":\"afterok\"}}",
		"{\"on\":{\"type\":\"afterok\",\"job\":\"1\",\"queue\":\"q\"}}",
		"{\"on\":{\"type\":\"afterok\",\"job\":\"xyz\"}}",
		"{\"file\":{\"path\":\"/d\"},\"on\":{\"type\":\"afterok\",\"job\":\"1\"}}",
		"{\"debounce\":\"soon\"}", "{\"debounce\":-1}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why[0] = '\0';
		if (parse(bad[i], &t, why))
			fail_msg("accepted %s", bad[i]);
		assert_true(why[0] != '\0');
		clear(&t);
	}
	assert_false(parse("{\"colour\":1}", &t, why));
	assert_string_equal(why, "unknown field: colour");
}

/* A REC_TRIGGER payload: the record and its definition. */
static uint32_t define_rec(uint8_t *buf, const char *name, uint32_t uid, const char *def)
{
	struct rec_trigger r = { .uid = uid, .gid = uid, .created_ns = 1 };

	snprintf(r.name, sizeof(r.name), "%s", name);
	memcpy(buf, &r, sizeof(r));
	memcpy(buf + sizeof(r), def, strlen(def));
	return (uint32_t)(sizeof(r) + strlen(def));
}

static struct rec_trigger_fire fire_rec(const char *name, uint64_t id, uint64_t time_ns)
{
	struct rec_trigger_fire f = { .fire_id = id, .time_ns = time_ns, .job_id = 100 + id,
				      .payload_bytes = 7 };

	snprintf(f.name, sizeof(f.name), "%s", name);
	return f;
}

static void test_records(void **state)
{
	struct triggers t;
	uint8_t buf[512];
	struct rec_trigger del = { .name = "a" };
	struct rec_trigger_fire f1 = fire_rec("a", 1, 10), f2 = fire_rec("a", 2, 20);
	uint32_t n;

	(void)state;
	triggers_init(&t);
	n = define_rec(buf, "a", 1000, "{\"job\":{\"command\":[\"true\"]}}");
	assert_int_equal(triggers_apply(&t, REC_TRIGGER, buf, n), 0);
	assert_int_equal(triggers_apply(&t, REC_TRIGGER_FIRE, &f1, sizeof(f1)), 0);
	assert_int_equal(triggers_apply(&t, REC_TRIGGER_FIRE, &f2, sizeof(f2)), 0);
	/* read again (a snapshot's and the journal's): counted once */
	assert_int_equal(triggers_apply(&t, REC_TRIGGER_FIRE, &f1, sizeof(f1)), 0);
	assert_int_equal(triggers_apply(&t, REC_TRIGGER_FIRE, &f2, sizeof(f2)), 0);
	struct trigger *a = triggers_find(&t, "a");
	assert_non_null(a);
	assert_int_equal(a->fire_count, 2);
	assert_int_equal(a->last_job_id, 102);
	assert_int_equal(a->uid, 1000);
	/* redefined as a job-event trigger: the count goes on */
	n = define_rec(buf, "a", 1000, "{\"on\":{\"type\":\"afterany\",\"queue\":\"q\"}}");
	assert_int_equal(triggers_apply(&t, REC_TRIGGER, buf, n), 0);
	a = triggers_find(&t, "a");
	assert_int_equal(a->fire_count, 2);
	assert_int_equal(a->kind, TRIGGER_JOB);
	assert_int_equal(t.job_sources, 1);
	/* a fire of a trigger that is gone, a bad payload */
	struct rec_trigger_fire gone = fire_rec("nobody", 1, 1);
	assert_int_equal(triggers_apply(&t, REC_TRIGGER_FIRE, &gone, sizeof(gone)), 0);
	assert_int_equal(triggers_apply(&t, REC_TRIGGER_FIRE, &gone, 3), -EPROTO);
	n = define_rec(buf, "b", 0, "{\"nonsense\":1}");
	assert_int_equal(triggers_apply(&t, REC_TRIGGER, buf, n), -EPROTO);
	assert_null(triggers_find(&t, "b"));
	assert_int_equal(triggers_apply(&t, REC_TRIGGER_DELETE, &del, sizeof(del)), 0);
	assert_null(triggers_find(&t, "a"));
	assert_int_equal(t.job_sources, 0);
	triggers_destroy(&t);
}

static void test_job_events(void **state)
{
	struct triggers t;
	uint8_t buf[512];
	struct jr_job_event ok = { .job_id = 5, .kind = JR_EVENT_ENDED, .state = JR_JOB_SUCCEEDED };
	struct jr_job_event bad = { .job_id = 6, .kind = JR_EVENT_ENDED, .state = JR_JOB_FAILED,
				    .exit_code = 3 };
	struct jr_job_event started = { .job_id = 6, .kind = JR_EVENT_STARTED };
	uint32_t n;

	(void)state;
	triggers_init(&t);
	triggers_job_ended(&t, &ok);	/* no job-event trigger: nothing kept */
	assert_int_equal(t.ended_count, 0);
	assert_null(t.ended);
	n = define_rec(buf, "ok5", 0, "{\"on\":{\"type\":\"afterok\",\"job\":\"5\"}}");
	assert_int_equal(triggers_apply(&t, REC_TRIGGER, buf, n), 0);
	n = define_rec(buf, "notok-q", 0, "{\"on\":{\"type\":\"afternotok\",\"queue\":\"etl\"}}");
	assert_int_equal(triggers_apply(&t, REC_TRIGGER, buf, n), 0);
	n = define_rec(buf, "any-q", 0, "{\"on\":{\"type\":\"afterany\",\"queue\":\"etl\"}}");
	assert_int_equal(triggers_apply(&t, REC_TRIGGER, buf, n), 0);
	triggers_job_ended(&t, &ok);
	triggers_job_ended(&t, &started);
	triggers_job_ended(&t, &bad);
	assert_int_equal(t.ended_count, 2);
	const struct trigger *ok5 = triggers_find(&t, "ok5"), *nq = triggers_find(&t, "notok-q"),
			     *aq = triggers_find(&t, "any-q");
	const struct trigger_ended *e_ok = &t.ended[0], *e_bad = &t.ended[1];
	assert_true(triggers_job_matches(ok5, e_ok, "default"));
	assert_false(triggers_job_matches(ok5, e_bad, "default"));
	assert_false(triggers_job_matches(nq, e_ok, "etl"));
	assert_true(triggers_job_matches(nq, e_bad, "etl"));
	assert_false(triggers_job_matches(nq, e_bad, "other"));
	assert_false(triggers_job_matches(nq, e_bad, NULL));
	assert_true(triggers_job_matches(aq, e_ok, "etl"));
	assert_true(triggers_job_matches(aq, e_bad, "etl"));
	triggers_destroy(&t);
}

static void test_file_burst(void **state)
{
	char dir[] = "/tmp/jr-trigstate-XXXXXX", def[300], path[400];
	struct triggers t;
	uint8_t buf[1024];
	uint32_t n;
	size_t len;
	const int files = 600;	/* past the 16 KiB of listed paths */

	(void)state;
	assert_non_null(mkdtemp(dir));
	triggers_init(&t);
	snprintf(def, sizeof(def), "{\"file\":{\"path\":\"%s\",\"pattern\":\"*.csv\","
		 "\"debounce\":\"100ms\"}}", dir);
	n = define_rec(buf, "drop", 0, def);
	assert_int_equal(triggers_apply(&t, REC_TRIGGER, buf, n), 0);
	triggers_watch_all(&t);
	struct trigger *tr = triggers_find(&t, "drop");
	assert_true(tr->wd >= 0);
	assert_string_equal(tr->watch_error, "");
	for (int i = 0; i < files; i++) {
		snprintf(path, sizeof(path), "%s/file-with-a-longish-name-%04d.csv", dir, i);
		FILE *f = fopen(path, "w");
		assert_non_null(f);
		fputs("x\n", f);
		fclose(f);
	}
	snprintf(path, sizeof(path), "%s/skip.txt", dir);
	fclose(fopen(path, "w"));
	triggers_read_events(&t, 1000000000ull);
	assert_null(triggers_burst_due(&t, 1000000000ull + 50000000ull));	/* not yet quiet */
	assert_ptr_equal(triggers_burst_due(&t, 1000000000ull + 100000000ull), tr);
	char *payload = triggers_burst_payload(&t, tr, &len);
	cJSON *o = cJSON_Parse(payload);
	assert_non_null(o);
	int listed = cJSON_GetArraySize(cJSON_GetObjectItem(o, "paths"));
	double more = cJSON_GetObjectItem(o, "more")->valuedouble;
	assert_true(listed > 100 && more > 0);
	assert_int_equal(listed + (int)more, files);
	assert_int_equal((int)cJSON_GetObjectItem(o, "count")->valuedouble, files);
	assert_true(len < TRIGGER_PATHS_BYTES + 512);
	assert_null(triggers_burst_due(&t, 5000000000ull));	/* emptied */
	cJSON_Delete(o);
	free(payload);
	/* a directory closed to the owner is not watched */
	assert_int_equal(chmod(dir, 0700), 0);
	bool is_dir;
	char why[256];
	assert_false(triggers_path_allowed(dir, 65534, 65534, false, why, sizeof(why), &is_dir));
	assert_true(triggers_path_allowed(dir, 0, 0, false, why, sizeof(why), &is_dir));
	assert_true(is_dir);
	triggers_destroy(&t);
	snprintf(path, sizeof(path), "rm -rf '%s'", dir);
	assert_int_equal(system(path), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_definitions),
		cmocka_unit_test(test_records),
		cmocka_unit_test(test_job_events),
		cmocka_unit_test(test_file_burst),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
