/*
 * top.c - jobring top: a live view of the daemon in plain ANSI (no
 * curses). Each --interval it reads /health (counts, and the rates from
 * their change), /resources (per-NUMA core, memory and GPU bars, the head
 * job's reservation), the running jobs (/jobs?status=running), /queues,
 * /workers and /schedules, and draws one screen. Keys: j/k or the arrows
 * select a running job, c cancels it, h holds it, s changes the sort, /
 * filters by name (Enter ends the filter, an empty one clears it), q
 * quits. When stdout is not a terminal it prints one plain line per
 * interval instead (--iterations N stops after N).
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "base/common.h"
#include "base/units.h"
#include "cli/commands.h"

#define JOBS_MAX 200
#define PAGE_ROWS 15

enum sort_key { SORT_ID, SORT_ELAPSED, SORT_PROGRESS, SORT_KEYS };
static const char *const sort_names[SORT_KEYS] = { "id", "elapsed", "progress" };

struct top {
	struct cli *c;
	cJSON *health, *resources, *jobs, *queues, *workers, *schedules;
	double last_submitted, last_done, last_ns, submit_rate, done_rate;
	int selected, running;
	enum sort_key sort;
	char filter[64];
	bool filtering;
	char message[160];
	const cJSON *rows[JOBS_MAX];
	int row_count;
};

static cJSON *get_json(struct top *t, const char *path)
{
	int code;
	cJSON *o = cli_call(t->c, "GET", path, NULL, 0, &code);

	cli_scrub(o);	/* names are other users' text */
	return o;
}

static const cJSON *item(const cJSON *o, const char *key)
{
	return cJSON_GetObjectItemCaseSensitive(o, key);
}

static double done_of(const cJSON *h)
{
	return cli_num(h, "succeeded") + cli_num(h, "failed") + cli_num(h, "cancelled");
}

static void update_rates(struct top *t)
{
	double now = (double)jr_now_monotonic_ns(), sub = cli_num(t->health, "submitted");
	double done = done_of(t->health);

	if (t->last_ns > 0 && now > t->last_ns) {
		double dt = (now - t->last_ns) / 1e9;
		t->submit_rate = (sub - t->last_submitted) / dt;
		t->done_rate = (done - t->last_done) / dt;
	}
	t->last_ns = now;
	t->last_submitted = sub;
	t->last_done = done;
}

static void refresh(struct top *t)
{
	char path[160] = "/jobs?status=running&limit=200";

	cJSON_Delete(t->health), cJSON_Delete(t->resources), cJSON_Delete(t->jobs);
	cJSON_Delete(t->queues), cJSON_Delete(t->workers), cJSON_Delete(t->schedules);
	t->health = get_json(t, "/health");
	t->resources = get_json(t, "/resources");
	if (t->filter[0])
		cli_query_add(path, sizeof(path), "name", t->filter);
	t->jobs = get_json(t, path);
	t->queues = get_json(t, "/queues");
	t->workers = get_json(t, "/workers");
	t->schedules = get_json(t, "/schedules");
	update_rates(t);
}

/* --- the running jobs, sorted ----------------------------------------------------- */

static double elapsed_s(const cJSON *job)
{
	uint64_t start;

	if (jr_parse_rfc3339_ns(cli_str(job, "start_time"), &start) < 0)
		return 0;
	return ((double)jr_now_realtime_ns() - (double)start) / 1e9;
}

static enum sort_key sort_by;

static int compare_rows(const void *a, const void *b)
{
	const cJSON *x = *(const cJSON *const *)a, *y = *(const cJSON *const *)b;
	double dx, dy;

	if (sort_by == SORT_ID)
		return strcmp(cli_str(x, "job_id"), cli_str(y, "job_id"));
	dx = sort_by == SORT_ELAPSED ? elapsed_s(x) : cli_num(x, "progress");
	dy = sort_by == SORT_ELAPSED ? elapsed_s(y) : cli_num(y, "progress");
	return dx < dy ? 1 : dx > dy ? -1 : 0;
}

static void sort_rows(struct top *t)
{
	const cJSON *j;

	t->row_count = 0;
	cJSON_ArrayForEach(j, item(t->jobs, "jobs"))
		if (t->row_count < JOBS_MAX)
			t->rows[t->row_count++] = j;
	sort_by = t->sort;
	qsort(t->rows, (size_t)t->row_count, sizeof(t->rows[0]), compare_rows);
	if (t->selected >= t->row_count)
		t->selected = t->row_count ? t->row_count - 1 : 0;
}

/* --- drawing -------------------------------------------------------------------------- */

static void bar(const char *name, double used, double total)
{
	int width = 20, fill = total > 0 ? (int)(used / total * width + 0.5) : 0;

	printf(" %s [", name);
	for (int i = 0; i < width; i++)
		fputs(i < fill ? "#" : ".", stdout);
	printf("] %.0f/%.0f", used, total);
}

static void draw_counts(const struct top *t)
{
	const cJSON *h = t->health;
	const cJSON *p50 = item(h, "wait_p50_s"), *p99 = item(h, "wait_p99_s");

	printf("jobring top - %s  (sort: %s%s%s)\033[K\n", cli_str(h, "status"),
	       sort_names[t->sort], t->filter[0] ? ", filter: " : "", t->filter);
	printf("queued: %.0f  running: %.0f  succeeded: %.0f  failed: %.0f  cancelled: %.0f"
	       "  submitted: %.0f\033[K\n", cli_num(h, "queued"), cli_num(h, "running"),
	       cli_num(h, "succeeded"), cli_num(h, "failed"), cli_num(h, "cancelled"),
	       cli_num(h, "submitted"));
	printf("submit/s: %.1f  done/s: %.1f  wait p50: ", t->submit_rate, t->done_rate);
	if (cJSON_IsNumber(p50) && cJSON_IsNumber(p99))
		printf("%.3fs p99: %.3fs\033[K\n", p50->valuedouble, p99->valuedouble);
	else
		printf("- p99: -\033[K\n");
}

static void draw_resources(const struct top *t)
{
	const cJSON *n, *head = item(t->resources, "head");

	cJSON_ArrayForEach(n, item(t->resources, "numa")) {
		const cJSON *mem = item(n, "memory_bytes");
		printf("node%.0f", cli_num(n, "node"));
		bar("cores", cli_num(item(n, "cores"), "used"), cli_num(item(n, "cores"), "total"));
		printf(" ");
		bar("mem GiB", cli_num(mem, "used") / JR_GIB, cli_num(mem, "total") / JR_GIB);
		if (cli_num(item(n, "gpus"), "total") > 0)
			bar("gpus", cli_num(item(n, "gpus"), "used"), cli_num(item(n, "gpus"), "total"));
		printf("\033[K\n");
	}
	if (cJSON_IsObject(head)) {
		const cJSON *r = item(head, "reserved");
		printf("head job %s reserves %.0f cpus, %.1f GiB, %.0f gpus, start %s\033[K\n",
		       cli_str(head, "job_id"), cli_num(r, "cpus"),
		       cli_num(r, "memory_bytes") / JR_GIB, cli_num(r, "gpus"),
		       *cli_str(head, "expected_start") ? cli_str(head, "expected_start") : "-");
	}
}

static void draw_jobs(const struct top *t)
{
	int first = t->selected >= PAGE_ROWS ? t->selected - PAGE_ROWS + 1 : 0;

	printf("\n\033[1m%-17s %-16s %-8s %9s %8s\033[0m\033[K\n", "JOB", "NAME", "QUEUE",
	       "ELAPSED", "PROGRESS");
	for (int i = first; i < t->row_count && i < first + PAGE_ROWS; i++) {
		const cJSON *j = t->rows[i];
		double p = cli_num(j, "progress");
		char prog[16] = "-";
		if (p >= 0)
			snprintf(prog, sizeof(prog), "%.0f%%", p);
		printf("%s%-17s %-16.16s %-8.8s %8.0fs %8s\033[0m\033[K\n",
		       i == t->selected ? "\033[7m" : "", cli_str(j, "job_id"), cli_str(j, "name"),
		       cli_str(j, "queue"), elapsed_s(j), prog);
	}
	printf("(%d running shown)\033[K\n", t->row_count);
}

static void draw_lists(const struct top *t)
{
	const cJSON *x, *next;

	printf("\nqueues:");
	cJSON_ArrayForEach(x, item(t->queues, "queues"))
		printf(" %s(prio %.0f)", cli_str(x, "name"), cli_num(x, "priority"));
	printf("\033[K\nworkers:");
	cJSON_ArrayForEach(x, item(t->workers, "workers"))
		printf(" %s:%s", cli_str(x, "id"), cli_str(x, "status"));
	printf("\033[K\nschedules:");
	cJSON_ArrayForEach(x, item(t->schedules, "schedules")) {
		next = cJSON_GetArrayItem(item(x, "next"), 0);
		printf(" %s@%s", cli_str(x, "name"), cJSON_IsString(next) ? next->valuestring : "-");
	}
	printf("\033[K\n");
}

static void draw(struct top *t)
{
	sort_rows(t);
	printf("\033[H");
	draw_counts(t);
	draw_resources(t);
	draw_jobs(t);
	draw_lists(t);
	if (t->filtering)
		printf("filter: %s\033[K\n", t->filter);
	else
		printf("%s\033[K\n", t->message[0] ? t->message :
		       "keys: j/k select  c cancel  h hold  s sort  / filter  q quit");
	printf("\033[J");
	fflush(stdout);
}

static void plain_line(struct top *t)
{
	const cJSON *h = t->health;
	time_t now = time(NULL);
	char when[32];

	strftime(when, sizeof(when), "%H:%M:%S", localtime(&now));
	printf("%s queued=%.0f running=%.0f succeeded=%.0f failed=%.0f cancelled=%.0f "
	       "submit/s=%.1f done/s=%.1f cores=%.0f/%.0f\n", when, cli_num(h, "queued"),
	       cli_num(h, "running"), cli_num(h, "succeeded"), cli_num(h, "failed"),
	       cli_num(h, "cancelled"), t->submit_rate, t->done_rate,
	       cli_num(item(item(t->resources, "host"), "cores"), "used"),
	       cli_num(item(item(t->resources, "host"), "cores"), "total"));
	fflush(stdout);
}

/* --- keys ----------------------------------------------------------------------------- */

static void control_selected(struct top *t, const char *verb)
{
	char path[96];
	cJSON *r;
	int code;

	if (t->selected >= t->row_count) {
		snprintf(t->message, sizeof(t->message), "no job selected");
		return;
	}
	snprintf(path, sizeof(path), "/jobs/%s/%s", cli_str(t->rows[t->selected], "job_id"), verb);
	r = cli_call(t->c, "POST", path, "", 0, &code);
	snprintf(t->message, sizeof(t->message), "%s %s: %s", verb,
		 cli_str(t->rows[t->selected], "job_id"), r ? "done" : "refused");
	cJSON_Delete(r);
}

static void filter_key(struct top *t, char ch)
{
	size_t n = strlen(t->filter);

	if (ch == '\r' || ch == '\n' || ch == 27)
		t->filtering = false;
	else if ((ch == 127 || ch == 8) && n)
		t->filter[n - 1] = '\0';
	else if (ch >= ' ' && n + 1 < sizeof(t->filter))
		t->filter[n] = ch, t->filter[n + 1] = '\0';
}

/* Handle the keys read; false: quit. */
static bool keys(struct top *t, const char *k, ssize_t n)
{
	for (ssize_t i = 0; i < n; i++) {
		if (t->filtering) {
			filter_key(t, k[i]);
			continue;
		}
		t->message[0] = '\0';
		if (k[i] == 27 && i + 2 < n && k[i + 1] == '[') {	/* an arrow */
			t->selected += k[i + 2] == 'B' ? 1 : k[i + 2] == 'A' ? -1 : 0;
			i += 2;
		} else if (k[i] == 'j') {
			t->selected++;
		} else if (k[i] == 'k') {
			t->selected--;
		} else if (k[i] == 'q') {
			return false;
		} else if (k[i] == 's') {
			t->sort = (t->sort + 1) % SORT_KEYS;
		} else if (k[i] == '/') {
			t->filtering = true;
			t->filter[0] = '\0';
		} else if (k[i] == 'c') {
			control_selected(t, "cancel");
		} else if (k[i] == 'h') {
			control_selected(t, "hold");
		}
	}
	if (t->selected < 0)
		t->selected = 0;
	return true;
}

/* Wait up to ms for keys; false: quit. */
static bool wait_keys(struct top *t, int ms)
{
	struct pollfd p = { .fd = STDIN_FILENO, .events = POLLIN };
	uint64_t until = jr_now_monotonic_ms() + (uint64_t)ms;
	char k[64];
	ssize_t n;

	for (int left = ms; left > 0; left = (int)(until - jr_now_monotonic_ms())) {
		if (poll(&p, 1, left) <= 0)
			return true;
		if ((n = read(STDIN_FILENO, k, sizeof(k))) <= 0)
			return true;
		if (!keys(t, k, n))
			return false;
		draw(t);
		if (until <= jr_now_monotonic_ms())
			break;
	}
	return true;
}

static int run_terminal(struct top *t, int interval_ms, long iterations)
{
	struct termios saved, raw;
	bool raw_mode = tcgetattr(STDIN_FILENO, &saved) == 0;

	if (raw_mode) {
		raw = saved;
		raw.c_lflag &= (tcflag_t)~(ICANON | ECHO);
		raw.c_cc[VMIN] = 0;
		raw.c_cc[VTIME] = 0;
		tcsetattr(STDIN_FILENO, TCSANOW, &raw);
	}
	printf("\033[?25l\033[2J");
	for (long i = 0; iterations <= 0 || i < iterations; i++) {
		refresh(t);
		if (!t->health) {
			printf("\033[2Jjobring top: the daemon does not answer\n");
			break;
		}
		draw(t);
		if (!wait_keys(t, interval_ms))
			break;
	}
	printf("\033[?25h\n");
	if (raw_mode)
		tcsetattr(STDIN_FILENO, TCSANOW, &saved);
	return t->health ? CLI_OK : CLI_UNREACHABLE;
}

int cli_top(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "interval", 1, NULL, 'i' }, { "iterations", 1, NULL, 'n' },
		{ "help", 0, NULL, 'h' }, { NULL, 0, NULL, 0 },
	};
	struct top t = { .c = c };
	double interval_s = 2;
	long iterations = 0;
	int opt, rc = CLI_OK;

	optind = 0;
	while ((opt = getopt_long(argc, argv, "+i:n:h", opts, NULL)) != -1) {
		switch (opt) {
		case 'i': interval_s = atof(optarg); break;
		case 'n': iterations = atol(optarg); break;
		case 'h':
			puts("usage: jobring top [--interval SECONDS] [--iterations N]");
			return CLI_OK;
		default:
			return CLI_USAGE;
		}
	}
	if (interval_s < 0.1)
		return cli_bad_value("top", "--interval", optarg ? optarg : "", "is under 0.1 s")
			       ? CLI_OK : CLI_USAGE;
	if (!cli_connect(c))
		return CLI_UNREACHABLE;
	if (isatty(STDOUT_FILENO)) {
		rc = run_terminal(&t, (int)(interval_s * 1000), iterations);
	} else {
		for (long i = 0; iterations <= 0 || i < iterations; i++) {
			if (i)
				jr_sleep_ns((uint64_t)(interval_s * 1e9));
			refresh(&t);
			if (!t.health) {
				rc = CLI_UNREACHABLE;
				break;
			}
			plain_line(&t);
		}
	}
	cJSON_Delete(t.health), cJSON_Delete(t.resources), cJSON_Delete(t.jobs);
	cJSON_Delete(t.queues), cJSON_Delete(t.workers), cJSON_Delete(t.schedules);
	return rc;
}
