/*
 * test_schedules.c - schedules (daemon/state/schedules.c) alone, in
 * virtual time: intervals fire each due instant once, in order, at its
 * instant; a pass after a long gap fires one run (the latest instant)
 * and counts the instants inside the catch-up window as coalesced and
 * the older ones as dropped, as a brute-force model computes them; the
 * heap hands out schedules in key order under random adds, removals,
 * pauses and replacements; start, end and jitter bound the fires; the
 * overlap table; names unique per owner, ids never reused.
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

#include "daemon/state/schedules.h"

#define S 1000000000ull

static uint64_t rng = 88172645463325252ull;

static uint64_t rnd(uint64_t n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng % n;
}

static struct schedule *add(struct schedules *s, uid_t uid, const char *json, uint64_t now)
{
	cJSON *o = cJSON_Parse(json);
	struct schedule_def d;
	char why[256];
	int err;

	assert_non_null(o);
	if (!schedule_def_parse(o, &d, why, sizeof(why)))
		fail_msg("%s: %s", json, why);
	struct schedule *sc = schedules_add(s, 0, uid, uid, &d, json, now, now, &err);
	schedule_def_free(&d);
	cJSON_Delete(o);
	return sc;
}

static bool refused(const char *json, const char *what)
{
	cJSON *o = cJSON_Parse(json);
	struct schedule_def d;
	char why[256] = "";
	bool ok = schedule_def_parse(o, &d, why, sizeof(why));

	schedule_def_free(&d);
	cJSON_Delete(o);
	return !ok && strstr(why, what) != NULL;
}

static void test_definitions(void **state)
{
	(void)state;
	assert_true(refused("{\"name\":\"x\",\"every\":\"1s\"}", "job"));
	assert_true(refused("{\"every\":\"1s\",\"job\":{}}", "name"));
	assert_true(refused("{\"name\":\"x\",\"job\":{}}", "cron"));
	assert_true(refused("{\"name\":\"x\",\"every\":\"1x\",\"job\":{}}", "every"));
	assert_true(refused("{\"name\":\"x\",\"every\":\"500ms\",\"job\":{}}", "1 second"));
	assert_true(refused("{\"name\":\"x\",\"every\":\"1s\",\"job\":{},\"zzz\":1}", "unknown"));
	assert_true(refused("{\"name\":\"x/y\",\"every\":\"1s\",\"job\":{}}", "name"));
	assert_true(refused("{\"name\":\"x\",\"every\":\"1s\",\"job\":{},\"overlap\":\"no\"}",
			    "overlap"));
	assert_true(refused("{\"name\":\"x\",\"every\":\"1s\",\"job\":{},\"start\":\"2026-13-01T00:00:00Z\"}",
			    "start"));
	assert_true(refused("{\"name\":\"x\",\"every\":\"1s\",\"job\":{},"
			    "\"start\":\"2026-01-02T00:00:00Z\",\"end\":\"2026-01-01T00:00:00Z\"}",
			    "end"));
}

/* An interval fires every instant once, in order, at its instant. */
static void test_every_in_order(void **state)
{
	struct schedules *s = schedules_new();
	struct sched_fire f;
	uint64_t now = 1000 * S + 123, last = 0;
	int fires = 0;

	(void)state;
	add(s, 1, "{\"name\":\"a\",\"every\":\"10s\",\"job\":{}}", now);
	for (int step = 0; step < 1000; step++) {
		now += S / 2;
		while (schedules_due(s, now, &f)) {
			assert_true(f.fire);
			assert_int_equal(f.due % (10 * S), 0);
			assert_true(f.due <= now && now - f.due < S);
			assert_true(f.due == last + 10 * S || last == 0);
			assert_int_equal(f.coalesced + f.dropped, 0);
			last = f.due;
			fires++;
		}
	}
	assert_int_equal(fires, 50);
	schedules_free(s);
}

/* Model: the instants of every/anchor in (from, to]. */
static uint64_t count_in(uint64_t every, uint64_t anchor, uint64_t from, uint64_t to)
{
	uint64_t n = 0;

	for (uint64_t t = anchor; t <= to; t += every)
		n += t > from;
	return n;
}

/* After a gap the pass fires the latest instant and counts the rest. */
static void test_catch_up(void **state)
{
	(void)state;
	for (int round = 0; round < 300; round++) {
		struct schedules *s = schedules_new();
		struct sched_fire f;
		uint64_t every = (1 + rnd(60)) * S, anchor = rnd(100) * S;
		uint64_t catch_up = rnd(3) ? rnd(300) * S : 0;
		uint64_t t0 = 1000 * S, gap = rnd(600) * S + rnd(S), now = t0 + gap;
		char json[256];

		if (catch_up)
			snprintf(json, sizeof(json),
				 "{\"name\":\"c\",\"every\":%llu,\"start\":%llu,\"catch_up\":%llu,\"job\":{}}",
				 (unsigned long long)(every / S), (unsigned long long)(anchor / S),
				 (unsigned long long)(catch_up / S));
		else
			snprintf(json, sizeof(json), "{\"name\":\"c\",\"every\":%llu,\"start\":%llu,\"job\":{}}",
				 (unsigned long long)(every / S), (unsigned long long)(anchor / S));
		struct schedule *sc = add(s, 1, json, t0);
		uint64_t all = count_in(every, anchor, t0, now);
		uint64_t window = catch_up ? catch_up : every;
		window = window > S ? window : S;
		uint64_t old = count_in(every, anchor, t0, now - window) -
			       (now - window >= anchor && (now - window - anchor) % every == 0);
		if (!all) {
			assert_false(schedules_due(s, now, &f));
			schedules_free(s);
			continue;
		}
		assert_true(schedules_due(s, now, &f));
		assert_ptr_equal(f.sc, sc);
		assert_true(f.due <= now && now - f.due < every);
		assert_int_equal(f.dropped, old);
		assert_int_equal(f.fire, old < all);
		assert_int_equal(f.coalesced, f.fire ? all - old - 1 : 0);
		assert_false(schedules_due(s, now, &f));
		assert_true(sc->next_due > now);
		schedules_free(s);
	}
}

/* Many schedules: keys come out in order; each instant once. */
static void test_heap(void **state)
{
	struct schedules *s = schedules_new();
	struct sched_fire f;
	uint64_t now = 5000 * S, prev_key = 0;
	uint64_t *last = calloc(2001, sizeof(*last));
	char json[160];

	(void)state;
	for (int i = 0; i < 2000; i++) {
		snprintf(json, sizeof(json), "{\"name\":\"h%d\",\"every\":%llu,\"start\":%llu.%03llu,\"job\":{}}",
			 i, (unsigned long long)(1 + rnd(30)), (unsigned long long)rnd(30),
			 (unsigned long long)rnd(1000));
		assert_non_null(add(s, (uid_t)(i % 7), json, now));
	}
	for (int step = 0; step < 400; step++) {
		now += rnd(S / 4);
		prev_key = 0;
		while (schedules_due(s, now, &f)) {
			uint32_t id = f.sc->id;
			assert_true(f.due >= prev_key);	/* no jitter: key = due */
			prev_key = f.due;
			assert_true(f.due > last[id]);
			assert_int_equal(f.dropped, 0);
			last[id] = f.due;
		}
		if (rnd(10) == 0) {	/* churn: remove one, pause and resume another */
			struct schedule *sc = schedules_get(s, (uint32_t)(1 + rnd(2000)));
			if (sc && rnd(2))
				schedules_remove(s, sc);
			else if (sc) {
				sc->def.paused = !sc->def.paused;
				schedules_rearm(s, sc);
			}
		}
		assert_true(schedules_next_key(s) == 0 || schedules_next_key(s) > now);
	}
	free(last);
	schedules_free(s);
}

static void test_bounds_and_jitter(void **state)
{
	struct schedules *s = schedules_new();
	struct sched_fire f;
	uint64_t now = 100 * S;
	int fires = 0;

	(void)state;
	struct schedule *sc = add(s, 1, "{\"name\":\"b\",\"every\":\"5s\",\"start\":200,\"end\":230,"
				  "\"jitter\":\"3s\",\"job\":{}}", now);
	assert_true(sc->jitter_off < 3 * S);
	assert_int_equal(sc->next_due, 200 * S);
	for (; now < 400 * S; now += S / 10)
		while (schedules_due(s, now, &f)) {
			assert_true(f.due >= 200 * S && f.due <= 230 * S);
			assert_true(now >= f.due + sc->jitter_off);
			fires++;
		}
	assert_int_equal(fires, 7);
	assert_int_equal(sc->next_due, 0);
	schedules_free(s);
}

static void test_names_ids(void **state)
{
	struct schedules *s = schedules_new();
	cJSON *o = cJSON_Parse("{\"name\":\"n\",\"every\":\"1m\",\"job\":{}}");
	struct schedule_def d;
	char why[128];
	int err;

	(void)state;
	struct schedule *a = add(s, 1, "{\"name\":\"n\",\"every\":\"1m\",\"job\":{}}", S);
	assert_non_null(add(s, 2, "{\"name\":\"n\",\"every\":\"1m\",\"job\":{}}", S));
	assert_true(schedule_def_parse(o, &d, why, sizeof(why)));
	assert_null(schedules_add(s, 0, 1, 1, &d, "{}", S, S, &err));
	assert_int_equal(err, -EEXIST);
	schedule_def_free(&d);
	assert_ptr_equal(schedules_named(s, 1, "n"), a);
	schedules_remove(s, a);
	assert_null(schedules_named(s, 1, "n"));
	struct schedule *b = add(s, 1, "{\"name\":\"n\",\"every\":\"1m\",\"job\":{}}", S);
	assert_int_equal(b->id, 3);	/* ids are not reused */
	cJSON_Delete(o);
	schedules_free(s);
}

static void test_overlap(void **state)
{
	(void)state;
	assert_int_equal(schedules_overlap(SCHED_SKIP, JR_JOB_RUNNING, -1), SCHED_SKIP_FIRE);
	assert_int_equal(schedules_overlap(SCHED_SKIP, JR_JOB_QUEUED, -1), SCHED_SKIP_FIRE);
	assert_int_equal(schedules_overlap(SCHED_SKIP, JR_JOB_SUCCEEDED, -1), SCHED_FIRE);
	assert_int_equal(schedules_overlap(SCHED_SKIP, -1, -1), SCHED_FIRE);
	assert_int_equal(schedules_overlap(SCHED_QUEUE_ONE, JR_JOB_RUNNING, JR_JOB_FAILED),
			 SCHED_FIRE_AFTER);
	assert_int_equal(schedules_overlap(SCHED_QUEUE_ONE, JR_JOB_PENDING, JR_JOB_RUNNING),
			 SCHED_SKIP_FIRE);
	assert_int_equal(schedules_overlap(SCHED_QUEUE_ONE, JR_JOB_SUCCEEDED, -1), SCHED_FIRE);
	assert_int_equal(schedules_overlap(SCHED_CANCEL_RUNNING, JR_JOB_RUNNING, -1),
			 SCHED_CANCEL_AND_FIRE);
	assert_int_equal(schedules_overlap(SCHED_CANCEL_RUNNING, JR_JOB_CANCELLED, -1), SCHED_FIRE);
	assert_int_equal(schedules_overlap(SCHED_ALLOW, JR_JOB_RUNNING, JR_JOB_RUNNING), SCHED_FIRE);
}

/* 2025-MM-DD 00:00Z in seconds. */
static int64_t day_2025(int month, int day)
{
	static const int before[] = { 0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334 };

	return (int64_t)(20089 + before[month - 1] + day - 1) * 86400;	/* 20089: 2025-01-01 */
}

/* "0 2 * * *" in New York through 2025 in virtual time, a minute a step:
 * one fire a day at 02:00 local, EST or EDT; 2025-03-09's 02:00 does not
 * exist (spring forward) and runs once at 03:00 EDT; 2025-11-02's runs
 * once. The expected instants are computed here from the two transition
 * days alone. Then the daemon "down" three and a half days: one run (the
 * latest instant), the three older ones dropped (the default window is
 * one interval, a day, back from now). */
static void test_cron_dst_virtual_year(void **state)
{
	struct schedules *s = schedules_new();
	struct sched_fire f;
	cJSON *o = cJSON_Parse("{\"name\":\"ny\",\"cron\":\"0 2 * * *\","
			       "\"timezone\":\"America/New_York\",\"job\":{}}");
	struct schedule_def d;
	char why[256];
	int err, fires = 0;
	int64_t spring = day_2025(3, 9), fall = day_2025(11, 2);

	(void)state;
	if (!schedule_def_parse(o, &d, why, sizeof(why))) {
		cJSON_Delete(o);
		schedules_free(s);
		if (strstr(why, "timezone"))
			skip();	/* no tz database here */
		fail_msg("%s", why);
	}
	uint64_t t = (uint64_t)day_2025(1, 1) * S;
	struct schedule *sc = schedules_add(s, 0, 1, 1, &d, "{}", t, t, &err);
	assert_non_null(sc);
	for (int64_t day = day_2025(1, 1); day < day_2025(12, 31); day += 86400) {
		int64_t want = day + 2 * 3600 + (day < spring ? 5 : day == spring ? 5 : day < fall ? 4 : 5) * 3600;
		if (day == spring)
			want = day + 7 * 3600;	/* 03:00 EDT */
		for (; t < (uint64_t)(day + 86400) * S; t += 60 * S)
			while (schedules_due(s, t, &f)) {
				assert_true(f.fire);
				if (f.due != (uint64_t)want * S)
					fail_msg("day %lld: due %llu, want %lld", (long long)(day / 86400),
						 (unsigned long long)(f.due / S), (long long)want);
				fires++;
			}
	}
	assert_int_equal(fires, 364);
	/* Down from 2025-12-31 00:00Z for three days: one run, two missed. */
	t = (uint64_t)(day_2025(12, 31) + 3 * 86400 + 12 * 3600) * S;
	assert_true(schedules_due(s, t, &f));
	assert_true(f.fire);
	assert_int_equal(f.due, (uint64_t)(day_2025(12, 31) + 3 * 86400 + 7 * 3600) * S);
	assert_int_equal(f.dropped, 3);		/* 12-31, 01-01, 01-02 02:00 EST */
	assert_int_equal(f.coalesced, 0);	/* the window is one day back from now */
	schedule_def_free(&d);
	cJSON_Delete(o);
	schedules_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_definitions),
		cmocka_unit_test(test_every_in_order),
		cmocka_unit_test(test_catch_up),
		cmocka_unit_test(test_heap),
		cmocka_unit_test(test_bounds_and_jitter),
		cmocka_unit_test(test_names_ids),
		cmocka_unit_test(test_overlap),
		cmocka_unit_test(test_cron_dst_virtual_year),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
