/*
 * bench/journal - the journal's durable appends (issue 5 groundwork):
 * 64-byte records committed in groups of 10,000 and one at a time, each
 * commit one io_uring write + fdatasync, against a bare pwrite + fdatasync
 * loop on a file of the same kind in the same run (the ceiling), with and
 * without preallocation. Median of JR_BENCH_RUNS (default 3). Files go to
 * JR_BENCH_DIR (default /var/tmp: a real disk, not tmpfs).
 */
#include "benchutil.h"

#include <fcntl.h>
#include <stdbool.h>
#include <sys/stat.h>

#include "journal/journal.h"

static const char *base;

static double journal_rate(uint32_t records, uint32_t group)
{
	char dir[256];
	struct jr_journal_opts o = { 0 };
	struct jr_journal *j;
	char payload[64];
	double t0, t1;

	if (jrt_dir_make(dir, sizeof(dir), base, "bench-journal") < 0)
		return 0;
	o.dir = dir;
	if (jr_journal_open(&j, &o) < 0)
		return 0;
	memset(payload, 'j', sizeof(payload));
	t0 = jrt_now_s();
	for (uint32_t i = 0; i < records; i++) {
		jr_journal_append(j, 1, payload, sizeof(payload), NULL);
		if ((i + 1) % group == 0 && jr_journal_commit(j) < 0)
			return 0;
	}
	jr_journal_commit(j);
	t1 = jrt_now_s();
	jr_journal_close(j);
	if (jrt_dir_remove(dir) < 0)
		return 0;
	return records / (t1 - t0);
}

/* The ceiling: pwrite of each group and fdatasync, nothing else. */
static double bare_rate(uint32_t records, uint32_t group, bool prealloc)
{
	char path[256];
	size_t bytes = (size_t)group * (64 + JR_JOURNAL_HEADER_BYTES);
	char *buf = calloc(1, bytes);
	double t0, t1;
	off_t off = 0;
	int fd;

	snprintf(path, sizeof(path), "%s/jr-bench-bare-XXXXXX", base);
	fd = mkstemp(path);
	if (fd < 0 || !buf)
		return 0;
	if (prealloc && fallocate(fd, 0, 0, 64 << 20) < 0)
		prealloc = false;
	t0 = jrt_now_s();
	for (uint32_t i = 0; i < records; i += group) {
		if (pwrite(fd, buf, bytes, off) != (ssize_t)bytes || fdatasync(fd) < 0)
			break;
		off += (off_t)bytes;
	}
	t1 = jrt_now_s();
	close(fd);
	unlink(path);
	free(buf);
	return records / (t1 - t0);
}

static void row(const char *what, uint32_t records, uint32_t group, int runs)
{
	double j[16], b[16], bp[16];

	for (int r = 0; r < runs; r++) {
		j[r] = journal_rate(records, group);
		bp[r] = bare_rate(records, group, true);
		b[r] = bare_rate(records, group, false);
	}
	double mj = bench_median(j, runs), mbp = bench_median(bp, runs), mb = bench_median(b, runs);
	printf("  %-28s journal %10.0f rec/s   bare preallocated %10.0f   bare growing %10.0f   "
	       "ratio %.2f\n", what, mj, mbp, mb, mj / mbp);
}

int main(void)
{
	int runs = (int)jrt_env_u64("JR_BENCH_RUNS", 3);

	base = getenv("JR_BENCH_DIR") ? getenv("JR_BENCH_DIR") : "/var/tmp";
	runs = runs < 1 ? 1 : runs > 16 ? 16 : runs;
	printf("bench/journal: 64-byte records, each commit one write + fdatasync, in %s, "
	       "median of %d runs\n", base, runs);
	row("groups of 10,000 (1M records)", 1000000, 10000, runs);
	row("one record per commit (5,000)", 5000, 1, runs);
	return 0;
}
