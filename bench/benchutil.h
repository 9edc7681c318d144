/*
 * benchutil.h - medians, thread pinning and CPU time by thread for the
 * benchmarks; the clock, the environment and /proc come from the shared
 * test harness (tests/support/harness.h, libjrtest.a).
 */
#ifndef JR_BENCHUTIL_H
#define JR_BENCHUTIL_H

#include <dirent.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

static int bench_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Median of n values (sorts them in place). */
static inline double bench_median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), bench_cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static inline void bench_pin(unsigned cpu)
{
	cpu_set_t set;
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	CPU_ZERO(&set);
	CPU_SET(cpu % (unsigned)(n > 0 ? n : 1), &set);
	pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

/* --- /proc: CPU time by thread, memory -------------------------------------------------- */

#define BENCH_THREADS_MAX 1024

struct bench_thread_cpu {
	int tid;
	char comm[20];
	uint64_t ticks;		/* utime + stime, clock ticks */
};

/* A process's CPU time: in all (its live threads and those that have
 * exited) and by live thread. */
struct bench_proc_cpu {
	uint64_t total;
	int n;
	struct bench_thread_cpu t[BENCH_THREADS_MAX];
};

/* utime + stime, fields 14 and 15 of a /proc stat file (after the comm,
 * which may hold spaces and parentheses). */
static inline int bench_stat_ticks(const char *path, uint64_t *ticks)
{
	char buf[1024], *p;
	unsigned long long ut, st;
	FILE *f = fopen(path, "r");
	size_t n;

	if (!f)
		return -1;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	p = strrchr(buf, ')');
	if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu",
			 &ut, &st) != 2)
		return -1;
	*ticks = ut + st;
	return 0;
}

/* -1 if the process is gone. */
static inline int bench_proc_cpu_read(int pid, struct bench_proc_cpu *out)
{
	char path[96];
	struct dirent *e;
	DIR *dir;

	out->n = 0;
	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	if (bench_stat_ticks(path, &out->total) < 0)
		return -1;
	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	if (!(dir = opendir(path)))
		return -1;
	while ((e = readdir(dir)) && out->n < BENCH_THREADS_MAX) {
		struct bench_thread_cpu *t = &out->t[out->n];
		if (e->d_name[0] < '0' || e->d_name[0] > '9')
			continue;
		t->tid = atoi(e->d_name);
		snprintf(path, sizeof(path), "/proc/%d/task/%d/stat", pid, t->tid);
		if (bench_stat_ticks(path, &t->ticks) < 0)
			continue;	/* exited meanwhile */
		snprintf(path, sizeof(path), "/proc/%d/task/%d/comm", pid, t->tid);
		jrt_read_line(path, t->comm, sizeof(t->comm));
		out->n++;
	}
	closedir(dir);
	return 0;
}

/* Ticks thread tid had in an earlier reading (0: it did not exist). */
static inline uint64_t bench_thread_ticks(const struct bench_proc_cpu *c, int tid)
{
	for (int i = 0; i < c->n; i++)
		if (c->t[i].tid == tid)
			return c->t[i].ticks;
	return 0;
}

static inline double bench_ticks_us(uint64_t ticks)
{
	return (double)ticks * 1e6 / (double)sysconf(_SC_CLK_TCK);
}

/* MemAvailable from /proc/meminfo, bytes (0 if unknown). */
static inline uint64_t bench_mem_available(void)
{
	char line[128];
	unsigned long long kib = 0;
	FILE *f = fopen("/proc/meminfo", "r");

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "MemAvailable: %llu kB", &kib) == 1)
			break;
	if (f)
		fclose(f);
	return (uint64_t)kib * 1024;
}

#endif
