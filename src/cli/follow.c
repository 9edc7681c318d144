/*
 * follow.c - the CLI commands that watch: wait (a progress bar with counts
 * and an ETA on a terminal, a plain line now and then otherwise) and logs
 * (a job's stdout or stderr, -f to follow it until the job ends).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/common.h"
#include "cli/commands.h"
#include "shm/jobtab.h"

struct progress {
	double total, done, failed;
	double start_s, start_done, last_print_s;
	bool tty;
};

static double now_s(void)
{
	return (double)jr_now_monotonic_ns() / JR_NS_PER_SEC;
}

static void format_eta(const struct progress *p, char *out, size_t size)
{
	double rate = (p->done - p->start_done) / (now_s() - p->start_s + 1e-9);

	if (rate <= 0 || p->done >= p->total)
		snprintf(out, size, "--");
	else
		snprintf(out, size, "%.0fs", (p->total - p->done) / rate);
}

static void show_progress(struct progress *p, bool final)
{
	char eta[32], bar[31];
	int filled = p->total > 0 ? (int)(30 * p->done / p->total) : 30;

	format_eta(p, eta, sizeof(eta));
	if (p->tty) {
		memset(bar, '#', (size_t)filled);
		memset(bar + filled, '.', (size_t)(30 - filled));
		bar[30] = '\0';
		fprintf(stderr, "\r[%s] %.0f/%.0f done, %.0f failed, ETA %s  %s", bar, p->done,
			p->total, p->failed, eta, final ? "\n" : "");
	} else if (final || now_s() - p->last_print_s >= 5) {
		fprintf(stderr, "%.0f/%.0f done, %.0f failed, ETA %s\n", p->done, p->total,
			p->failed, eta);
		p->last_print_s = now_s();
	}
}

/* Every job of the daemon: from its counters. */
static int poll_all(struct cli *c, struct progress *p)
{
	int rc;
	cJSON *h = cli_call(c, "GET", "/health", NULL, 0, &rc);

	if (!h)
		return rc;
	p->total = cli_num(h, "submitted");
	p->failed = cli_num(h, "failed") + cli_num(h, "cancelled");
	p->done = cli_num(h, "succeeded") + p->failed;
	cJSON_Delete(h);
	return CLI_OK;
}

/* The given jobs: each asked until it has ended. */
static int poll_ids(struct cli *c, struct progress *p, char **ids, int n, bool *ended)
{
	for (int i = 0; i < n; i++) {
		char path[64];
		int rc;
		if (ended[i])
			continue;
		snprintf(path, sizeof(path), "/jobs/%.20s", ids[i]);
		cJSON *j = cli_call(c, "GET", path, NULL, 0, &rc);
		if (!j)
			return rc;
		const char *st = cli_str(j, "status");
		if (!strcmp(st, "succeeded") || !strcmp(st, "failed") || !strcmp(st, "cancelled")) {
			ended[i] = true;
			p->done++;
			p->failed += strcmp(st, "succeeded") != 0;
		}
		cJSON_Delete(j);
	}
	return CLI_OK;
}

int cli_wait(struct cli *c, int argc, char **argv)
{
	struct progress p = { .tty = isatty(2) };
	bool *ended = calloc((size_t)argc, sizeof(bool));
	int rc = CLI_OK, n = argc - 1;
	long interval = 20;

	if (argc > 1 && strcmp(argv[1], "--help") == 0) {
		puts("usage: jobring wait [ID|NAME...]   (no ID: every job the daemon has)");
		free(ended);
		return CLI_OK;
	}
	for (int i = 1; i <= n; i++) {
		char id[17];
		if ((rc = cli_resolve(c, argv[i], id)) != CLI_OK) {
			free(ended);
			return rc;
		}
		argv[i] = strdup(id);	/* lives as long as the program */
	}
	p.total = n;
	p.start_s = p.last_print_s = now_s();
	for (bool first = true;; first = false) {
		rc = n ? poll_ids(c, &p, argv + 1, n, ended) : poll_all(c, &p);
		if (rc != CLI_OK)
			break;
		if (first)
			p.start_done = p.done;
		if (p.done >= p.total)
			break;
		show_progress(&p, false);
		jr_sleep_ns((uint64_t)interval * JR_NS_PER_MS);
		/* At most 200 ms late: a poll of every job is one /health
		 * request (ids: one request each), cheap for the daemon. */
		interval = interval < 200 ? interval * 2 : 200;
	}
	free(ended);
	if (rc != CLI_OK)
		return rc;
	show_progress(&p, true);
	return p.failed ? CLI_JOB_FAILED : CLI_OK;
}

/* The path logs reads from: the job's (its latest attempt), or with
 * --attempt N that execution's (its id is the job's with the attempt in
 * the top 8 bits: jr_execution_id()). */
static bool logs_base(const char *id, const char *attempt, char *out, size_t size)
{
	char *end;
	unsigned long n;

	if (!attempt) {
		snprintf(out, size, "/jobs/%s", id);
		return true;
	}
	n = strtoul(attempt, &end, 10);
	if (*end || end == attempt || n < 1 || n > 255)
		return cli_bad_value("logs", "--attempt", attempt, "must be 1 to 255");
	snprintf(out, size, "/executions/%016llx",
		 (unsigned long long)jr_execution_id(strtoull(id, NULL, 16), (uint32_t)n));
	return true;
}

int cli_logs(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "follow", 0, NULL, 'f' }, { "stderr", 0, NULL, 'e' }, { "attempt", 1, NULL, 'A' },
		{ "help", 0, NULL, 'h' }, { NULL, 0, NULL, 0 },
	};
	const char *usage = "usage: jobring logs [-f|--follow] [--stderr] [--attempt N] ID\n";
	const char *attempt = NULL;
	bool follow = false, err = false;
	char id[17], base[64];
	double offset = 0;
	int opt, rc;

	optind = 0;
	while ((opt = getopt_long(argc, argv, "feh", opts, NULL)) != -1) {
		if (opt == 'h') {
			fputs(usage, stdout);
			return CLI_OK;
		}
		if (opt == '?') {
			fputs(usage, stderr);
			return CLI_USAGE;
		}
		follow |= opt == 'f';
		err |= opt == 'e';
		attempt = opt == 'A' ? optarg : attempt;
	}
	if (optind != argc - 1) {
		fputs(usage, stderr);
		return CLI_USAGE;
	}
	if ((rc = cli_resolve(c, argv[optind], id)) != CLI_OK)
		return rc;
	if (!logs_base(id, attempt, base, sizeof(base)))
		return CLI_USAGE;
	for (;;) {
		char path[128];
		snprintf(path, sizeof(path), "%s/logs?stream=%s&offset=%.0f", base,
			 err ? "stderr" : "stdout", offset);
		cJSON *o = cli_call(c, "GET", path, NULL, 0, &rc);
		if (!o)
			return rc;
		const char *data = cli_str(o, "data");
		bool finished = cJSON_IsTrue(cJSON_GetObjectItem(o, "finished"));
		bool got = *data != '\0';
		fputs(data, stdout);
		fflush(stdout);
		offset = cli_num(o, "next_offset");
		cJSON_Delete(o);
		if (got)
			continue;	/* more may be there already */
		if (!follow || finished)
			return CLI_OK;
		jr_sleep_ns(300 * JR_NS_PER_MS);
	}
}
