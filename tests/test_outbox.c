/*
 * test_outbox.c - the notifications' outbox (daemon/state/outbox.c) and
 * notify settings (notifyspec.c) alone (issue 16): entries added, ended,
 * written as records and read back; the bound (the oldest ended
 * forgotten, then new ones refused); URLs and commands checked; the
 * event a job's end is for a target; the signature (notifysend.c).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "daemon/state/notifysend.h"
#include "daemon/state/notifyspec.h"
#include "daemon/state/outbox.h"

static int add(struct outbox *o, uint64_t id, uint64_t job)
{
	struct rec_notify r = { .delivery_id = id, .job_id = job, .kind = NOTIFY_WEBHOOK,
				.event = NOTIFY_END, .target_len = 14, .payload_len = 7 };

	return outbox_add(o, &r, "http://x/hook1", "{\"a\":1}");
}

/* Records into another outbox, as recovery reads them. */
static int replay(void *ctx, uint16_t type, const void *head, size_t hl, const void *tail,
		  size_t tl)
{
	char buf[4096];

	assert_true(hl + tl <= sizeof(buf));
	memcpy(buf, head, hl);
	if (tl)
		memcpy(buf + hl, tail, tl);
	return outbox_apply(ctx, type, buf, (uint32_t)(hl + tl));
}

static void test_written_and_read_back(void **state)
{
	struct outbox a, b;
	struct outbox_entry *e;

	(void)state;
	outbox_init(&a);
	outbox_init(&b);
	assert_int_equal(add(&a, 10, 1), 0);
	assert_int_equal(add(&a, 11, 2), 0);
	assert_int_equal(add(&a, 11, 2), -EEXIST);
	assert_int_equal(outbox_set_queue(&a, "etl", "{\"url\":\"http://q/\"}"), 0);
	e = outbox_find(&a, 10);
	assert_non_null(e);
	assert_memory_equal(outbox_target(e), "http://x/hook1", 14);
	assert_string_equal(outbox_payload(e), "{\"a\":1}");
	e->attempts = 3;
	snprintf(e->error, sizeof(e->error), "HTTP 500");
	outbox_end(&a, e, true, 123);
	assert_int_equal(outbox_write(&a, replay, &b), 0);
	assert_int_equal(b.count, 2);
	assert_int_equal(outbox_find(&b, 10)->state, OUTBOX_DELIVERED);
	assert_int_equal(outbox_find(&b, 10)->attempts, 3);
	assert_string_equal(outbox_find(&b, 10)->error, "HTTP 500");
	assert_int_equal(outbox_find(&b, 11)->state, OUTBOX_QUEUED);
	assert_string_equal(outbox_queue_notify(&b, "etl"), "{\"url\":\"http://q/\"}");
	assert_true(outbox_next_id(&b, 5) > 11);
	assert_int_equal(outbox_set_queue(&b, "etl", NULL), 0);
	assert_null(outbox_queue_notify(&b, "etl"));
	assert_int_equal(outbox_apply(&b, REC_NOTIFY_QUEUED, "short", 5), -EPROTO);
	outbox_destroy(&a);
	outbox_destroy(&b);
}

static void test_bound(void **state)
{
	struct outbox o;

	(void)state;
	outbox_init(&o);
	for (uint64_t i = 1; i <= OUTBOX_MAX; i++)
		assert_int_equal(add(&o, i, i), 0);
	assert_int_equal(add(&o, OUTBOX_MAX + 1, 1), -ENOSPC);	/* all waiting: refused */
	assert_int_equal(o.dropped, 1);
	for (uint64_t i = 1; i <= OUTBOX_MAX; i += 2)	/* every other one delivered */
		outbox_end(&o, outbox_find(&o, i), true, 1);
	assert_int_equal(add(&o, OUTBOX_MAX + 2, 1), 0);
	assert_int_equal(o.forgotten, OUTBOX_MAX / 4);	/* the oldest ended ones */
	assert_null(outbox_find(&o, 1));
	assert_non_null(outbox_find(&o, 2));		/* waiting: kept */
	assert_non_null(outbox_find(&o, OUTBOX_MAX - 1));	/* newer ended: kept */
	assert_non_null(outbox_find(&o, OUTBOX_MAX + 2));
	outbox_destroy(&o);
}

static bool ok(const char *json)
{
	char why[200];
	cJSON *v = cJSON_Parse(json);
	bool r = notifyspec_check(v, why, sizeof(why));

	cJSON_Delete(v);
	return r;
}

static void test_spec(void **state)
{
	struct notify_targets t = { 0 };
	cJSON *v;

	(void)state;
	assert_true(ok("{\"url\":\"https://hooks.example/x?t=1\"}"));
	assert_true(ok("{\"on\":[\"failure\",\"end\"],\"command\":[\"/bin/mail\",\"-s\",\"x\"]}"));
	assert_false(ok("{\"url\":\"file:///etc/passwd\"}"));
	assert_false(ok("{\"url\":\"HTTP:/x\"}"));
	assert_false(ok("{\"url\":\"dict://127.0.0.1:11211/\"}"));
	assert_false(ok("{\"url\":\"http://a b/\"}"));
	assert_false(ok("{\"command\":[\"mail\"]}"));
	assert_false(ok("{\"command\":[]}"));
	assert_false(ok("{\"on\":[\"end\",\"start\"],\"url\":\"http://x/\"}"));
	assert_false(ok("{}"));
	assert_false(ok("\"http://x/\""));
	v = cJSON_Parse("[{\"url\":\"http://x/\"},{\"on\":\"failure\",\"command\":[\"/bin/true\"]}]");
	assert_true(notifyspec_add(v, &t));
	assert_int_equal(t.count, 2);
	assert_int_equal(t.t[1].kind, NOTIFY_COMMAND);
	assert_string_equal(t.t[1].target, "[\"/bin/true\"]");
	cJSON_Delete(v);
	notifyspec_free(&t);
	assert_int_equal(notify_event_of(NOTIFY_END, true, false, false), NOTIFY_END);
	assert_int_equal(notify_event_of(NOTIFY_FAILURE, true, false, false), 0);
	assert_int_equal(notify_event_of(NOTIFY_END | NOTIFY_FAILURE, true, true, false),
			 NOTIFY_FAILURE);
	assert_int_equal(notify_event_of(NOTIFY_END | NOTIFY_RETRIES_EXHAUSTED, true, true, true),
			 NOTIFY_RETRIES_EXHAUSTED);
	assert_int_equal(notify_event_of(NOTIFY_RETRIES_EXHAUSTED, true, true, false), 0);
}

static void test_signature(void **state)
{
	char sig[65];

	(void)state;
	/* RFC 4231 test case 2 */
	notify_sign("Jefe", 4, "what do ya want for nothing?", 28, sig);
	assert_string_equal(sig, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_written_and_read_back),
		cmocka_unit_test(test_bound),
		cmocka_unit_test(test_spec),
		cmocka_unit_test(test_signature),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
