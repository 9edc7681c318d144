/*
 * test_journal.c - the journal's records survive a round trip through
 * group commits and segment roll-over, and replay keeps exactly the
 * records before a torn tail (truncated at random offsets) or a corrupt
 * byte, and reports what it dropped. With faults injected (debug builds):
 * a failed write, a refused submit, a full submission queue and a failed
 * event fd registration lose no record and hang no wait.
 */
#include "testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/common.h"
#include "base/crc32c.h"
#include "journal/journal.h"

static char dir[64];	/* /tmp/jr-journal-XXXXXX */

struct written {
	uint32_t n;
	uint64_t end_offset[4096];	/* each record's end in the one segment */
};

static int setup(void **state)
{
	(void)state;
	return jrt_dir_make(dir, sizeof(dir), NULL, "journal");
}

static int teardown(void **state)
{
	(void)state;
	return jrt_dir_remove(dir);
}

/* Record i: type i % 7, i % 300 bytes, each byte (i + k) & 0xff. */
static uint32_t payload_of(uint32_t i, unsigned char *buf)
{
	uint32_t len = i % 300;

	for (uint32_t k = 0; k < len; k++)
		buf[k] = (unsigned char)(i + k);
	return len;
}

static void write_journal(const char *path, uint32_t n, uint64_t segment_bytes,
			  struct written *w)
{
	struct jr_journal_opts o = { .dir = path, .segment_bytes = segment_bytes };
	struct jr_journal *j;
	unsigned char buf[300];
	uint64_t off = 0, seq;

	assert_int_equal(jr_journal_open(&j, &o), 0);
	for (uint32_t i = 0; i < n; i++) {
		uint32_t len = payload_of(i, buf);
		assert_int_equal(jr_journal_append(j, (uint16_t)(i % 7), buf, len, &seq), 0);
		assert_int_equal(seq, i + 1);
		off += JR_JOURNAL_HEADER_BYTES + ((len + 7) & ~7u);
		if (w && i < 4096)
			w->end_offset[i] = off;
		if (i % 13 == 12 || i == n - 1)	/* groups of 13 */
			assert_int_equal(jr_journal_commit(j), 0);
	}
	assert_int_equal(jr_journal_pending(j), 0);
	jr_journal_close(j);
	if (w)
		w->n = n;
}

struct check {
	uint64_t seen;
	bool bad;
};

static int check_record(void *ctx, const struct jr_journal_record *rec)
{
	struct check *c = ctx;
	unsigned char buf[300];
	uint32_t i = (uint32_t)c->seen;
	uint32_t len = payload_of(i, buf);

	if (rec->seq != i + 1 || rec->type != i % 7 || rec->len != len ||
	    memcmp(rec->payload, buf, len) != 0)
		c->bad = true;
	c->seen++;
	return 0;
}

static void test_round_trip_and_rollover(void **state)
{
	char path[128];
	struct jr_journal_replay_result res;
	struct check c = { 0 };

	(void)state;
	snprintf(path, sizeof(path), "%s/rollover", dir);
	write_journal(path, 20000, 64 << 10, NULL);
	assert_int_equal(jr_journal_replay(path, check_record, &c, &res), 0);
	assert_false(c.bad);
	assert_int_equal(res.records, 20000);
	assert_int_equal(res.last_seq, 20000);
	assert_int_equal(res.bytes_dropped, 0);
	assert_true(res.segments > 40);	/* ~3.2 MB in 64 KiB segments */
}

static void copy_segment(const char *from, const char *to, off_t keep)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "rm -rf %s && cp -r %s %s", to, from, to);
	assert_int_equal(system(cmd), 0);
	if (keep >= 0) {
		snprintf(cmd, sizeof(cmd), "%s/journal-0000000000000001.log", to);
		assert_int_equal(truncate(cmd, keep), 0);
	}
}

/* How many records end at or before off. */
static uint64_t records_before(const struct written *w, uint64_t off)
{
	uint64_t n = 0;

	while (n < w->n && w->end_offset[n] <= off)
		n++;
	return n;
}

static void test_torn_tail_keeps_every_record_before_it(void **state)
{
	static struct written w;
	char path[128], copy[128];
	uint64_t total;

	(void)state;
	snprintf(path, sizeof(path), "%s/torn", dir);
	snprintf(copy, sizeof(copy), "%s/torn-copy", dir);
	write_journal(path, 2000, 0, &w);
	total = w.end_offset[w.n - 1];
	srand(42);
	for (int k = 0; k < 50; k++) {
		uint64_t cut = (uint64_t)rand() % (total + 1);
		struct jr_journal_replay_result res;
		struct check c = { 0 };
		copy_segment(path, copy, (off_t)cut);
		assert_int_equal(jr_journal_replay(copy, check_record, &c, &res), 0);
		assert_false(c.bad);
		assert_int_equal(res.records, records_before(&w, cut));
		/* What was cut into is reported as dropped. */
		assert_int_equal(res.bytes_dropped > 0,
				 cut > (res.records ? w.end_offset[res.records - 1] : 0));
	}
}

static void test_corrupt_byte_stops_replay_there(void **state)
{
	static struct written w;
	char path[128], copy[128], seg[200];

	(void)state;
	snprintf(path, sizeof(path), "%s/corrupt", dir);
	snprintf(copy, sizeof(copy), "%s/corrupt-copy", dir);
	write_journal(path, 2000, 0, &w);
	srand(7);
	for (int k = 0; k < 50; k++) {
		uint64_t off = (uint64_t)rand() % w.end_offset[w.n - 1];
		struct jr_journal_replay_result res;
		struct check c = { 0 };
		unsigned char b;
		int fd;
		copy_segment(path, copy, -1);
		snprintf(seg, sizeof(seg), "%s/journal-0000000000000001.log", copy);
		fd = open(seg, O_RDWR);
		assert_true(fd >= 0);
		assert_int_equal(pread(fd, &b, 1, (off_t)off), 1);
		b ^= 0x5a;
		assert_int_equal(pwrite(fd, &b, 1, (off_t)off), 1);
		close(fd);
		assert_int_equal(jr_journal_replay(copy, check_record, &c, &res), 0);
		assert_false(c.bad);
		/* Every record before the damaged one, none from it on. */
		assert_int_equal(res.records, records_before(&w, off));
		assert_true(res.bytes_dropped > 0);
	}
}

static void test_missing_directory_replays_nothing(void **state)
{
	struct jr_journal_replay_result res;

	(void)state;
	assert_int_equal(jr_journal_replay("/nonexistent/jobring-journal", NULL, NULL, &res), 0);
	assert_int_equal(res.records, 0);
}

static int count_record(void *ctx, const struct jr_journal_record *rec)
{
	uint64_t *last = ctx;

	assert_true(*last == 0 || rec->seq == *last + 1);
	*last = rec->seq;
	return 0;
}

/* Flights in the air land in any order; the durable mark only moves over
 * a contiguous run, and reaches the last record. */
static void test_flights_in_the_air(void **state)
{
	(void)state;
	char path[300];
	struct jr_journal_opts o = { .dir = path, .segment_bytes = 64 << 10 };
	struct jr_journal *j;
	struct jr_journal_replay_result res;
	unsigned char buf[300];
	uint64_t last = 0, seen_durable = 0;

	snprintf(path, sizeof(path), "%s/flights", dir);
	assert_int_equal(jr_journal_open(&j, &o), 0);
	for (uint32_t i = 0; i < 5000; i++) {
		uint32_t len = payload_of(i, buf);
		assert_int_equal(jr_journal_append(j, 1, buf, len, NULL), 0);
		if (i % 10 == 9) {
			int rc = jr_journal_flush(j);
			assert_true(rc == 0 || rc == -EAGAIN);
			assert_int_equal(jr_journal_reap(j), 0);
			uint64_t d = jr_journal_durable_seq(j);
			assert_true(d >= seen_durable);
			seen_durable = d;
		}
	}
	assert_int_equal(jr_journal_commit(j), 0);
	assert_int_equal(jr_journal_durable_seq(j), 5000);
	assert_false(jr_journal_busy(j));
	jr_journal_close(j);
	assert_int_equal(jr_journal_replay(path, count_record, &last, &res), 0);
	assert_int_equal(res.records, 5000);
	assert_int_equal(res.bytes_dropped, 0);
}

/* After damage, cut: the journal opened after the last good record is
 * read in full next time, the damage and what followed it are gone. */
static void test_cut_then_append(void **state)
{
	(void)state;
	char path[300], seg[600];
	struct jr_journal_opts o = { .dir = path, .segment_bytes = 16 << 10 };
	struct jr_journal *j;
	struct jr_journal_replay_result res;
	unsigned char buf[300];
	uint64_t last = 0;
	int fd;

	snprintf(path, sizeof(path), "%s/cut", dir);
	assert_int_equal(jr_journal_open(&j, &o), 0);
	for (uint32_t i = 0; i < 400; i++) {
		assert_int_equal(jr_journal_append(j, 1, buf, payload_of(i, buf), NULL), 0);
		if (i % 20 == 19)
			assert_int_equal(jr_journal_commit(j), 0);
	}
	jr_journal_close(j);
	/* Damage the second segment's first record. */
	snprintf(seg, sizeof(seg), "%s/journal-%016llx.log", path, 0ull);
	assert_int_equal(jr_journal_replay(path, count_record, &last, &res), 0);
	assert_true(res.segments > 3);
	{
		struct jr_journal_replay_result probe;
		char name[600];
		uint64_t first = 0;
		/* The second segment's name: the first seq after the first one's. */
		last = 0;
		assert_int_equal(jr_journal_replay(path, count_record, &last, &probe), 0);
		for (first = 2; first < 400; first++) {
			snprintf(name, sizeof(name), "%s/journal-%016llx.log", path,
				 (unsigned long long)first);
			if (access(name, F_OK) == 0)
				break;
		}
		assert_true(first < 400);
		fd = open(name, O_WRONLY);
		assert_true(fd >= 0);
		assert_int_equal(pwrite(fd, "X", 1, 30), 1);
		close(fd);
		last = 0;
		assert_int_equal(jr_journal_replay(path, count_record, &last, &res), 0);
		assert_int_equal(res.last_seq, first - 1);
		assert_true(res.bytes_dropped > 0);
		assert_int_equal(jr_journal_cut(path, &res), 0);
	}
	o.next_seq = res.last_seq + 1;
	assert_int_equal(jr_journal_open(&j, &o), 0);
	for (uint32_t i = 0; i < 10; i++)
		assert_int_equal(jr_journal_append(j, 2, buf, 8, NULL), 0);
	assert_int_equal(jr_journal_commit(j), 0);
	jr_journal_close(j);
	uint64_t good = res.last_seq;
	last = 0;
	assert_int_equal(jr_journal_replay(path, count_record, &last, &res), 0);
	assert_int_equal(res.last_seq, good + 10);
	assert_int_equal(res.bytes_dropped, 0);
	/* Compaction: segments wholly before a seq go. */
	assert_true(jr_journal_drop_before(path, good + 1) > 0);
	last = 0;
	assert_int_equal(jr_journal_replay(path, count_record, &last, &res), 0);
	assert_int_equal(res.first_seq, good + 1);
	assert_int_equal(res.last_seq, good + 10);
}

/* The instruction and the table agree, at every alignment and length. */
static void test_crc32c_known_and_both_ways(void **state)
{
	(void)state;
	unsigned char buf[1100];

	assert_int_equal(jr_crc32c(0, "123456789", 9), 0xE3069283u);
	assert_int_equal(jr_crc32c_portable(0, "123456789", 9), 0xE3069283u);
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (unsigned char)(i * 131 + 7);
	for (size_t off = 0; off < 9; off++)
		for (size_t len = 0; len + off <= sizeof(buf); len += 37)
			assert_int_equal(jr_crc32c(5, buf + off, len),
					 jr_crc32c_portable(5, buf + off, len));
	/* Chained pieces equal one pass. */
	assert_int_equal(jr_crc32c(jr_crc32c(0, buf, 500), buf + 500, 600),
			 jr_crc32c(0, buf, 1100));
}

/* A group that never landed while a later one did: zeros, then records.
 * Replay stops at the gap, reports the later records as dropped, and the
 * cut journal takes new records after the last good one. */
static void test_gap_at_tail(void **state)
{
	(void)state;
	char path[300], seg[600];
	struct jr_journal_opts o = { .dir = path, .segment_bytes = 1 << 20 };
	struct jr_journal *j;
	struct jr_journal_replay_result res;
	unsigned char buf[300];
	uint64_t last = 0, gap_at = 0, gap_end = 0;
	int fd;

	snprintf(path, sizeof(path), "%s/gap", dir);
	assert_int_equal(jr_journal_open(&j, &o), 0);
	for (uint32_t i = 0; i < 300; i++) {
		assert_int_equal(jr_journal_append(j, 1, buf, payload_of(i, buf), NULL), 0);
		if (i % 10 == 9)
			assert_int_equal(jr_journal_commit(j), 0);
	}
	jr_journal_close(j);
	assert_int_equal(jr_journal_replay(path, count_record, &last, &res), 0);
	assert_int_equal(res.records, 300);
	/* The group of records 201-210 (payloads 200-209) never landed. */
	snprintf(seg, sizeof(seg), "%s/journal-%016llx.log", path, 1ull);
	for (uint32_t i = 0; i < 210; i++) {
		if (i == 200)
			gap_at = gap_end;
		gap_end += JR_JOURNAL_HEADER_BYTES + JR_JOURNAL_PAD8(payload_of(i, buf));
	}
	fd = open(seg, O_WRONLY);
	assert_true(fd >= 0);
	static char zeros[8192];
	assert_int_equal(pwrite(fd, zeros, gap_end - gap_at, (off_t)gap_at),
			 (ssize_t)(gap_end - gap_at));
	close(fd);
	last = 0;
	assert_int_equal(jr_journal_replay(path, count_record, &last, &res), 0);
	assert_int_equal(res.last_seq, 200);
	assert_true(res.bytes_dropped > 0);	/* the 90 records that landed after the gap */
	assert_int_equal(res.torn_offset, gap_at);
	assert_int_equal(jr_journal_cut(path, &res), 0);
	o.next_seq = 201;
	assert_int_equal(jr_journal_open(&j, &o), 0);
	assert_int_equal(jr_journal_append(j, 2, buf, 16, NULL), 0);
	assert_int_equal(jr_journal_commit(j), 0);
	jr_journal_close(j);
	last = 0;
	assert_int_equal(jr_journal_replay(path, count_record, &last, &res), 0);
	assert_int_equal(res.last_seq, 201);
	assert_int_equal(res.bytes_dropped, 0);
}

/* A write that fails: the commit says so, nothing after it counts as
 * durable, and the next commit writes the same bytes at the same place;
 * every record is then in the journal exactly once. */
static void test_failed_write_is_sent_again(void **state)
{
	(void)state;
	char path[300];
	struct jr_journal_opts o = { .dir = path, .segment_bytes = 1 << 20 };
	struct jr_journal *j;
	struct jr_journal_replay_result res;
	unsigned char buf[300];
	uint64_t last = 0;
	int rc;

	if (!JR_DEBUG)
		skip();
	snprintf(path, sizeof(path), "%s/eio", dir);
	assert_int_equal(jr_journal_open(&j, &o), 0);
	for (uint32_t i = 0; i < 50; i++)
		assert_int_equal(jr_journal_append(j, 1, buf, payload_of(i, buf), NULL), 0);
	assert_int_equal(jr_journal_commit(j), 0);
	for (uint32_t i = 50; i < 100; i++)
		assert_int_equal(jr_journal_append(j, 1, buf, payload_of(i, buf), NULL), 0);
	jr_journal_inject_faults(JR_JOURNAL_FAULT_WRITE, 2);
	rc = jr_journal_commit(j);
	assert_true(rc < 0);
	assert_int_equal(jr_journal_durable_seq(j), 50);
	assert_true(jr_journal_error(j) < 0);
	rc = jr_journal_commit(j);	/* the second injected failure */
	assert_true(rc < 0);
	for (uint32_t i = 100; i < 120; i++)	/* appends go on meanwhile */
		assert_int_equal(jr_journal_append(j, 1, buf, payload_of(i, buf), NULL), 0);
	assert_int_equal(jr_journal_commit(j), 0);
	assert_int_equal(jr_journal_durable_seq(j), 120);
	assert_int_equal(jr_journal_error(j), 0);
	jr_journal_close(j);
	assert_int_equal(jr_journal_replay(path, count_record, &last, &res), 0);
	assert_int_equal(res.records, 120);
	assert_int_equal(res.bytes_dropped, 0);
}

/* Records 1..n as count_record sees them, each exactly once. */
static void replay_expect(const char *path, uint64_t n)
{
	struct jr_journal_replay_result res;
	uint64_t last = 0;

	assert_int_equal(jr_journal_replay(path, count_record, &last, &res), 0);
	assert_int_equal(res.records, n);
	assert_int_equal(res.last_seq, n);
	assert_int_equal(res.bytes_dropped, 0);
}

static void append_n(struct jr_journal *j, uint32_t from, uint32_t n)
{
	unsigned char buf[300];

	for (uint32_t i = from; i < from + n; i++)
		assert_int_equal(jr_journal_append(j, 1, buf, payload_of(i, buf), NULL), 0);
}

/* liburing returns a failed registration's error and leaves errno alone:
 * open fails with that error and leaves no segment behind. (It read
 * errno, and opened a journal whose event fd never woke anyone.) */
static void test_failed_event_fd_registration_fails_open(void **state)
{
	(void)state;
	char path[300], seg[600];
	struct jr_journal_opts o = { .dir = path };
	struct jr_journal *j = NULL;

	if (!JR_DEBUG)
		skip();
	snprintf(path, sizeof(path), "%s/register", dir);
	jr_journal_inject_faults(JR_JOURNAL_FAULT_REGISTER, 1);
	assert_int_equal(jr_journal_open(&j, &o), -EBUSY);
	assert_null(j);
	snprintf(seg, sizeof(seg), "%s/journal-%016llx.log", path, 1ull);
	assert_int_equal(access(seg, F_OK), -1);
	assert_int_equal(jr_journal_open(&j, &o), 0);	/* the fault is spent */
	jr_journal_close(j);
}

/* A submit the kernel refuses leaves the flight queued: nothing counts as
 * durable, the error says why, and the next call sends it; a commit
 * returns the refusal rather than wait for completions that cannot come. */
static void test_refused_submit_loses_nothing(void **state)
{
	(void)state;
	char path[300];
	struct jr_journal_opts o = { .dir = path };
	struct jr_journal *j;

	if (!JR_DEBUG)
		skip();
	snprintf(path, sizeof(path), "%s/submit", dir);
	assert_int_equal(jr_journal_open(&j, &o), 0);
	append_n(j, 0, 50);
	jr_journal_inject_faults(JR_JOURNAL_FAULT_SUBMIT, 1);
	assert_int_equal(jr_journal_flush(j), 0);	/* queued, not sent */
	assert_int_equal(jr_journal_pending(j), 0);
	assert_int_equal(jr_journal_error(j), -EAGAIN);
	assert_int_equal(jr_journal_reap(j), 0);	/* sent now */
	assert_int_equal(jr_journal_error(j), 0);
	assert_int_equal(jr_journal_commit(j), 0);
	assert_int_equal(jr_journal_durable_seq(j), 50);
	append_n(j, 50, 50);
	jr_journal_inject_faults(JR_JOURNAL_FAULT_SUBMIT, 2);	/* flush's and the wait's */
	assert_int_equal(jr_journal_commit(j), -EAGAIN);
	assert_int_equal(jr_journal_durable_seq(j), 50);
	assert_true(jr_journal_busy(j));
	assert_int_equal(jr_journal_commit(j), 0);
	assert_int_equal(jr_journal_durable_seq(j), 100);
	assert_int_equal(jr_journal_error(j), 0);
	jr_journal_close(j);
	replay_expect(path, 100);
}

/* A submission queue with room for one flight, filled by a refused
 * submit: the next group is not taken apart from its sync (no entry
 * queued without room for both), the flush says so and keeps the group,
 * and once the queue is sent the group goes. */
static void test_full_sq_keeps_the_group(void **state)
{
	(void)state;
	char path[300];
	struct jr_journal_opts o = { .dir = path, .sq_entries = 2 };
	struct jr_journal *j;

	if (!JR_DEBUG)
		skip();
	snprintf(path, sizeof(path), "%s/fullsq", dir);
	o.sq_entries = 1;
	assert_int_equal(jr_journal_open(&j, &o), -EINVAL);	/* no room for a flight */
	o.sq_entries = 2;
	assert_int_equal(jr_journal_open(&j, &o), 0);
	append_n(j, 0, 10);
	jr_journal_inject_faults(JR_JOURNAL_FAULT_SUBMIT, 2);
	assert_int_equal(jr_journal_flush(j), 0);	/* the SQ now full, unsent */
	append_n(j, 10, 10);
	assert_int_equal(jr_journal_flush(j), -EAGAIN);	/* sent again: refused */
	assert_int_equal(jr_journal_pending(j), 10);	/* the group is kept */
	assert_int_equal(jr_journal_flush(j), 0);	/* both go */
	assert_int_equal(jr_journal_pending(j), 0);
	assert_int_equal(jr_journal_commit(j), 0);
	assert_int_equal(jr_journal_durable_seq(j), 20);
	for (uint32_t i = 0; i < 40; i++) {	/* four flights in the air, tiny SQ */
		append_n(j, 20 + i * 10, 10);
		int rc = jr_journal_flush(j);
		assert_true(rc == 0 || rc == -EAGAIN);
		jr_journal_reap(j);
	}
	assert_int_equal(jr_journal_commit(j), 0);
	jr_journal_close(j);
	replay_expect(path, 420);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip_and_rollover),
		cmocka_unit_test(test_torn_tail_keeps_every_record_before_it),
		cmocka_unit_test(test_corrupt_byte_stops_replay_there),
		cmocka_unit_test(test_missing_directory_replays_nothing),
		cmocka_unit_test(test_flights_in_the_air),
		cmocka_unit_test(test_crc32c_known_and_both_ways),
		cmocka_unit_test(test_cut_then_append),
		cmocka_unit_test(test_gap_at_tail),
		cmocka_unit_test(test_failed_write_is_sent_again),
		cmocka_unit_test(test_failed_event_fd_registration_fails_open),
		cmocka_unit_test(test_refused_submit_loses_nothing),
		cmocka_unit_test(test_full_sq_keeps_the_group),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
