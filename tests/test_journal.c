/*
 * test_journal.c - the journal's records survive a round trip through
 * group commits and segment roll-over, and replay keeps exactly the
 * records before a torn tail (truncated at random offsets) or a corrupt
 * byte, and reports what it dropped.
 */
#include "testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "journal.h"

static char dir[] = "/tmp/jr-journal-XXXXXX";

struct written {
	uint32_t n;
	uint64_t end_offset[4096];	/* each record's end in the one segment */
};

static int setup(void **state)
{
	(void)state;
	return test_dir_make(dir);
}

static int teardown(void **state)
{
	(void)state;
	return test_dir_remove(dir);
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip_and_rollover),
		cmocka_unit_test(test_torn_tail_keeps_every_record_before_it),
		cmocka_unit_test(test_corrupt_byte_stops_replay_there),
		cmocka_unit_test(test_missing_directory_replays_nothing),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
