/*
 * hostmetrics.c - host, filesystem and process series of /metrics
 * (hostmetrics.h).
 */
#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "daemon/api/hostmetrics.h"
#include "base/common.h"
#include "jobring.h"

void metric_family(struct buf *b, const char *name, const char *type, const char *help)
{
	buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void load_metrics(struct buf *b)
{
	double l1 = 0, l5 = 0, l15 = 0;
	FILE *f = fopen("/proc/loadavg", "r");

	if (f) {
		if (fscanf(f, "%lf %lf %lf", &l1, &l5, &l15) != 3)
			l1 = l5 = l15 = 0;
		fclose(f);
	}
	metric_family(b, "jobring_host_load_average", "gauge",
		      "The host's load average, over 1, 5 and 15 minutes.");
	buf_printf(b, "jobring_host_load_average{period=\"1m\"} %.2f\n"
		   "jobring_host_load_average{period=\"5m\"} %.2f\n"
		   "jobring_host_load_average{period=\"15m\"} %.2f\n", l1, l5, l15);
	metric_family(b, "jobring_host_cpus", "gauge", "Online CPUs of the host.");
	buf_printf(b, "jobring_host_cpus %ld\n", sysconf(_SC_NPROCESSORS_ONLN));
}

/* MemTotal and MemAvailable, in bytes. */
static void memory_metrics(struct buf *b)
{
	unsigned long long total = 0, avail = 0, v;
	char line[128];
	FILE *f = fopen("/proc/meminfo", "r");

	while (f && fgets(line, sizeof(line), f)) {
		if (sscanf(line, "MemTotal: %llu kB", &v) == 1)
			total = v * 1024;
		else if (sscanf(line, "MemAvailable: %llu kB", &v) == 1)
			avail = v * 1024;
	}
	if (f)
		fclose(f);
	metric_family(b, "jobring_host_memory_bytes", "gauge",
		      "The host's memory: total, and available to new work.");
	buf_printf(b, "jobring_host_memory_bytes{kind=\"total\"} %llu\n"
		   "jobring_host_memory_bytes{kind=\"available\"} %llu\n", total, avail);
}

static void fs_of(const char *dir, struct statvfs *v)
{
	memset(v, 0, sizeof(*v));
	if (dir && *dir && statvfs(dir, v) < 0)
		memset(v, 0, sizeof(*v));
}

static void fs_metrics(struct buf *b, const char *journal_dir, const char *output_dir)
{
	struct statvfs v[2];
	const char *names[2] = { "journal", "output" };

	fs_of(journal_dir, &v[0]);
	fs_of(output_dir, &v[1]);
	metric_family(b, "jobring_filesystem_free_bytes", "gauge",
		      "Bytes free to the daemon on the journal's and the output directory's "
		      "filesystems.");
	for (int i = 0; i < 2; i++)
		buf_printf(b, "jobring_filesystem_free_bytes{dir=\"%s\"} %llu\n", names[i],
			   (unsigned long long)v[i].f_bavail * v[i].f_frsize);
	metric_family(b, "jobring_filesystem_size_bytes", "gauge",
		      "Size of the journal's and the output directory's filesystems.");
	for (int i = 0; i < 2; i++)
		buf_printf(b, "jobring_filesystem_size_bytes{dir=\"%s\"} %llu\n", names[i],
			   (unsigned long long)v[i].f_blocks * v[i].f_frsize);
	metric_family(b, "jobring_filesystem_free_inodes", "gauge",
		      "Inodes free to the daemon on those filesystems.");
	for (int i = 0; i < 2; i++)
		buf_printf(b, "jobring_filesystem_free_inodes{dir=\"%s\"} %llu\n", names[i],
			   (unsigned long long)v[i].f_favail);
	metric_family(b, "jobring_filesystem_inodes", "gauge", "Inodes of those filesystems.");
	for (int i = 0; i < 2; i++)
		buf_printf(b, "jobring_filesystem_inodes{dir=\"%s\"} %llu\n", names[i],
			   (unsigned long long)v[i].f_files);
}

static void host_metrics_now(struct buf *b, const char *journal_dir, const char *output_dir)
{
	load_metrics(b);
	memory_metrics(b);
	fs_metrics(b, journal_dir, output_dir);
}

/* The boot time (btime of /proc/stat), in seconds since the epoch: read
 * once (/proc/stat is long to make: its intr line has a count per IRQ). */
static unsigned long long boot_time(void)
{
	static unsigned long long t;
	char line[256];
	FILE *f;

	if (t)
		return t;
	f = fopen("/proc/stat", "r");
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "btime %llu", &t) == 1)
			break;
	if (f)
		fclose(f);
	return t;
}

static unsigned open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	unsigned n = 0;

	if (!d)
		return 0;
	while (readdir(d))
		n++;
	closedir(d);
	return n > 3 ? n - 3 : 0;	/* ".", ".." and the directory's own */
}

static void process_metrics_now(struct buf *b)
{
	unsigned long long utime = 0, stime = 0, start = 0, vsize = 0;
	long long rss = 0;
	double tick = (double)sysconf(_SC_CLK_TCK);
	struct rlimit rl = { 0 };
	char text[1024];
	FILE *f = fopen("/proc/self/stat", "r");
	size_t n = f ? fread(text, 1, sizeof(text) - 1, f) : 0;
	const char *p;

	if (f)
		fclose(f);
	text[n] = '\0';
	/* After the command's closing parenthesis: field 3 on. */
	if ((p = strrchr(text, ')')) != NULL &&
	    sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %*d %*d %*d %*d "
		   "%*d %*d %llu %llu %lld", &utime, &stime, &start, &vsize, &rss) != 5)
		utime = stime = start = vsize = 0, rss = 0;
	getrlimit(RLIMIT_NOFILE, &rl);
	metric_family(b, "process_cpu_seconds_total", "counter",
		      "Total user and system CPU time spent in seconds.");
	buf_printf(b, "process_cpu_seconds_total %.2f\n", (double)(utime + stime) / tick);
	metric_family(b, "process_resident_memory_bytes", "gauge", "Resident memory size in bytes.");
	buf_printf(b, "process_resident_memory_bytes %lld\n", rss * sysconf(_SC_PAGESIZE));
	metric_family(b, "process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.");
	buf_printf(b, "process_virtual_memory_bytes %llu\n", vsize);
	metric_family(b, "process_open_fds", "gauge", "Number of open file descriptors.");
	buf_printf(b, "process_open_fds %u\n", open_fds());
	metric_family(b, "process_max_fds", "gauge", "Maximum number of open file descriptors.");
	buf_printf(b, "process_max_fds %llu\n", (unsigned long long)rl.rlim_cur);
	metric_family(b, "process_start_time_seconds", "gauge",
		      "Start time of the process since unix epoch in seconds.");
	buf_printf(b, "process_start_time_seconds %.2f\n", (double)boot_time() + (double)start / tick);
}

void build_info_metric(struct buf *b)
{
	metric_family(b, "jobring_build_info", "gauge",
		      "Always 1: the version of jobringd and of the library it runs.");
	buf_printf(b, "jobring_build_info{version=\"%s\",library=\"%s\"} 1\n", JR_VERSION_STRING,
		   jr_version());
}

/* The host's and the process's series, made at most once a second and
 * kept (the event loop's thread only): /proc/meminfo, /proc/self/stat and
 * /proc/self/fd cost about 250 us to read, more than the rest of a
 * scrape, and scrapes come every 15 s or so (docs/DECISIONS.md, issue 16). */
static struct buf host_cache;
static uint64_t host_cache_ns;

void host_metrics(struct buf *b, const char *journal_dir, const char *output_dir)
{
	uint64_t now = jr_now_monotonic_ns();

	if (!host_cache_ns || now - host_cache_ns >= JR_NS_PER_SEC) {
		buf_reset(&host_cache);
		host_metrics_now(&host_cache, journal_dir, output_dir);
		process_metrics_now(&host_cache);
		host_cache_ns = now;
	}
	buf_append(b, host_cache.p, host_cache.len);
}
