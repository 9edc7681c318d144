/*
 * show.c - the CLI's read commands and cancel: show, ls (squeue), cancel
 * (scancel, with its filters), workers, executions, stats, shutdown.
 * --json prints the daemon's answer.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/units.h"
#include "cli/commands.h"
#include "cli/parse.h"

/* getopt over a command's options; returns false after printing usage. */
struct opt_spec {
	const char *usage;
	const struct option *opts;
	const char *shorts;
};

static int next_opt(const struct opt_spec *o, int argc, char **argv)
{
	int opt = getopt_long(argc, argv, o->shorts, o->opts, NULL);

	if (opt == 'h') {
		fputs(o->usage, stdout);
		exit(CLI_OK);
	}
	if (opt == '?')	/* getopt named the option */
		fprintf(stderr, "jobring %s --help lists its options\n", argv[0]);
	return opt;
}

struct query_key {
	int opt;
	const char *key;
};

/* A command whose options are all query parameters: parse them into q.
 * false on a bad option (usage printed). */
static bool options_to_query(const struct opt_spec *spec, const struct query_key *keys,
			     int argc, char **argv, char *q, size_t size)
{
	int opt;

	optind = 0;
	while ((opt = next_opt(spec, argc, argv)) != -1) {
		if (opt == '?')
			return false;
		for (const struct query_key *k = keys; k->key; k++)
			if (k->opt == opt)
				cli_query_add(q, size, k->key, optarg);
	}
	return true;
}

static int print_answer(struct cli *c, const char *method, const char *path,
			void (*human)(const cJSON *))
{
	int rc;
	cJSON *o = cli_call(c, method, path, NULL, 0, &rc);

	if (o && (c->json || !human))
		cli_print_json(o);
	else if (o)
		human(o);
	cJSON_Delete(o);
	return rc;
}

static void print_fields(const cJSON *o)
{
	const cJSON *v;

	cJSON_ArrayForEach(v, o) {
		char *text = cJSON_IsString(v) ? NULL : cJSON_PrintUnformatted(v);
		printf("%-14s %s\n", v->string, text ? text : v->valuestring);
		free(text);
	}
}

int cli_show(struct cli *c, int argc, char **argv)
{
	char path[64], id[17];
	int rc;

	if (argc != 2 || strcmp(argv[1], "--help") == 0) {
		fputs("usage: jobring show ID|NAME\n", argc == 2 ? stdout : stderr);
		return argc == 2 ? CLI_OK : CLI_USAGE;
	}
	if ((rc = cli_resolve(c, argv[1], id)) != CLI_OK)
		return rc;
	snprintf(path, sizeof(path), "/jobs/%s", id);
	return print_answer(c, "GET", path, print_fields);
}

/* --- ls ------------------------------------------------------------------------------------- */

#define LS_COMMAND_WIDTH 40

/* Seconds from the first time to the second ("" : now); -1 if unknown. */
static double seconds_between(const char *from, const char *to)
{
	uint64_t a, b;

	if (!*from || jr_parse_rfc3339_ns(from, &a) < 0)
		return -1;
	if (!*to || jr_parse_rfc3339_ns(to, &b) < 0)
		b = (uint64_t)time(NULL) * 1000000000ull;
	return b > a ? (double)(b - a) / 1e9 : 0;
}

/* squeue's TIME: [D-]HH:MM:SS, or M:SS under an hour. */
static void format_elapsed(const cJSON *j, char *out, size_t size)
{
	double s = seconds_between(cli_str(j, "start_time"), cli_str(j, "end_time"));
	unsigned long t = (unsigned long)s;

	if (s < 0)
		snprintf(out, size, "-");
	else if (t >= 86400)
		snprintf(out, size, "%lu-%02lu:%02lu:%02lu", t / 86400, t / 3600 % 24, t / 60 % 60,
			 t % 60);
	else if (t >= 3600)
		snprintf(out, size, "%lu:%02lu:%02lu", t / 3600, t / 60 % 60, t % 60);
	else
		snprintf(out, size, "%lu:%02lu", t / 60, t % 60);
}

/* The exit code, "SIG9" for a signal, "-" while there is none. */
static void format_exit(const cJSON *j, char *out, size_t size)
{
	const cJSON *code = cJSON_GetObjectItem(j, "exit_code");
	const cJSON *sig = cJSON_GetObjectItem(j, "signal");

	if (cJSON_IsNumber(sig) && sig->valueint > 0)
		snprintf(out, size, "SIG%d", sig->valueint);
	else if (cJSON_IsNumber(code))
		snprintf(out, size, "%d", code->valueint);
	else
		snprintf(out, size, "-");
}

/* The command, its words joined by spaces, cut with "..." at width. */
static void format_command(const cJSON *j, char *out, size_t width)
{
	const cJSON *w;
	size_t n = 0;

	out[0] = '\0';
	cJSON_ArrayForEach(w, cJSON_GetObjectItem(j, "command")) {
		if (cJSON_IsString(w))
			n += (size_t)snprintf(out + n, n < width + 4 ? width + 4 - n : 0, "%s%s",
					      n ? " " : "", w->valuestring);
		if (n >= width + 3)
			break;
	}
	if (n > width)
		strcpy(out + width - 3, "...");
	if (!out[0])
		strcpy(out, "-");
}

static void print_job_row(const cJSON *j)
{
	char id[17], elapsed[32], code[16], cmd[LS_COMMAND_WIDTH + 4];

	cli_short_id(cli_str(j, "job_id"), id);
	format_elapsed(j, elapsed, sizeof(elapsed));
	format_exit(j, code, sizeof(code));
	format_command(j, cmd, LS_COMMAND_WIDTH);
	printf("%-16s %-16.16s %-9s %11.0f %8s %11s %4s  %s\n", id, cli_str(j, "name"),
	       cli_str(j, "status"), cli_num(j, "priority"), cli_str(j, "queue"), elapsed, code,
	       cmd);
}

struct ls_run {
	struct cli *c;
	long limit;		/* rows to print; 0: all (--all) */
	long shown;
	bool more;		/* a row past the limit was seen */
	cJSON *json;		/* --json: the rows printed */
};

static bool ls_row(void *ctx, const cJSON *job)
{
	struct ls_run *r = ctx;

	if (r->limit && r->shown == r->limit) {
		r->more = true;
		return false;
	}
	if (r->json)
		cJSON_AddItemToArray(r->json, cJSON_Duplicate(job, 1));
	else
		print_job_row(job);
	r->shown++;
	return true;
}

static const char ls_usage[] =
	"usage: jobring ls [options]    (squeue)\n"
	"  -t, --state S[,S]   pending queued running succeeded failed cancelled (--status)\n"
	"  -n, --name NAME     -u, --user USER (a name or uid)   -p, --partition QUEUE\n"
	"      --array ID      the tasks of an array\n"
	"      --priority N    --limit N (rows, default 100)     --all (every row)\n";

static const struct option ls_opts[] = {
	{ "status", 1, NULL, 't' }, { "state", 1, NULL, 't' }, { "states", 1, NULL, 't' },
	{ "name", 1, NULL, 'n' }, { "user", 1, NULL, 'u' }, { "partition", 1, NULL, 'p' },
	{ "queue", 1, NULL, 'p' }, { "array", 1, NULL, 'A' }, { "priority", 1, NULL, 'P' },
	{ "limit", 1, NULL, 'l' }, { "all", 0, NULL, 'a' }, { "help", 0, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

/* ls's options into the query and r; false after saying what is wrong. */
static bool ls_options(struct cli *c, int argc, char **argv, char *q, size_t size, struct ls_run *r)
{
	static const struct { int opt; const char *key; } keys[] = {
		{ 't', "status" }, { 'n', "name" }, { 'u', "user" }, { 'p', "queue" },
		{ 'P', "priority" },
	};
	const struct opt_spec spec = { ls_usage, ls_opts, "t:s:n:u:p:l:ah" };
	char id[17], *end;
	int opt;

	optind = 0;
	while ((opt = next_opt(&spec, argc, argv)) != -1) {
		if (opt == '?')
			return false;
		if (opt == 'a')
			r->limit = 0;
		if (opt == 'l' && ((r->limit = strtol(optarg, &end, 10)) <= 0 || *end))
			return cli_bad_value("ls", "--limit", optarg, "must be a whole number, 1 or more");
		if (opt == 'A' && cli_resolve(c, optarg, id) != CLI_OK)
			return false;
		if (opt == 'A')
			cli_query_add(q, size, "array", id);
		for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
			if (keys[i].opt == (opt == 's' ? 't' : opt))
				cli_query_add(q, size, keys[i].key, optarg);
	}
	if (optind < argc)
		return cli_bad_value("ls", "argument", argv[optind],
				     "ls takes options only (jobring show ID for one job)");
	return true;
}

int cli_ls(struct cli *c, int argc, char **argv)
{
	struct ls_run r = { .c = c, .limit = 100 };
	char q[1024] = "";
	int rc;

	if (!ls_options(c, argc, argv, q, sizeof(q), &r))
		return CLI_USAGE;
	if (c->json)
		r.json = cJSON_CreateArray();
	else
		printf("%-16s %-16s %-9s %11s %8s %11s %4s  %s\n", "JOBID", "NAME", "STATE",
		       "PRIORITY", "PARTITION", "TIME", "EXIT", "COMMAND");
	rc = cli_jobs_each(c, q, r.limit ? (unsigned)r.limit + 1 : 1000, ls_row, &r);
	if (r.json)
		cli_print_json(r.json);
	else if (rc == CLI_OK && r.more)
		printf("(more jobs than the %ld shown: --limit N or --all for more)\n", r.limit);
	cJSON_Delete(r.json);
	return rc;
}

/* --- cancel --------------------------------------------------------------------------------- */

static int cancel_one(struct cli *c, const char *id)
{
	char path[64];
	int rc;
	cJSON *o;

	snprintf(path, sizeof(path), "/jobs/%s/cancel", id);
	o = cli_call(c, "PUT", path, NULL, 0, &rc);
	if (o)
		printf("%s %s\n", cli_str(o, "job_id"), cli_str(o, "status"));
	cJSON_Delete(o);
	return rc;
}

struct id_list {
	char (*ids)[17];
	size_t n, cap;
	bool oom;
};

static bool add_listed(void *ctx, const cJSON *job)
{
	struct id_list *l = ctx;

	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 256;
		void *p = realloc(l->ids, cap * sizeof(*l->ids));
		if (!p) {
			l->oom = true;
			return false;
		}
		l->ids = p;
		l->cap = cap;
	}
	snprintf(l->ids[l->n++], 17, "%s", cli_str(job, "job_id"));
	return true;
}

static const char cancel_usage[] =
	"usage: jobring cancel ID...                 (scancel)\n"
	"       jobring cancel [--all] [--name N] [--state S[,S]] [--user U]\n"
	"  with filters: every job of yours (root: of anyone, or --user's) that has not\n"
	"  ended and that matches them all; --all alone: every one\n";

/* cancel's filters into the query; false after saying what is wrong. */
static bool cancel_filters(int argc, char **argv, char *q, size_t size, bool *any)
{
	static const struct option opts[] = {
		{ "all", 0, NULL, 'a' }, { "name", 1, NULL, 'n' }, { "state", 1, NULL, 't' },
		{ "status", 1, NULL, 't' }, { "user", 1, NULL, 'u' }, { "help", 0, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const struct opt_spec spec = { cancel_usage, opts, "an:t:u:h" };
	bool state = false;
	char uid[16];
	int opt;

	optind = 0;
	while ((opt = next_opt(&spec, argc, argv)) != -1) {
		if (opt == '?')
			return false;
		*any = true;
		state |= opt == 't';
		if (opt != 'a')
			cli_query_add(q, size, opt == 'n' ? "name" : opt == 't' ? "status" : "user",
				      optarg);
	}
	if (!state)
		cli_query_add(q, size, "status", "pending,queued,running");
	if (*any && !strstr(q, "user=") && getuid() != 0) {
		snprintf(uid, sizeof(uid), "%u", (unsigned)getuid());
		cli_query_add(q, size, "user", uid);
	}
	return true;
}

static int cancel_matching(struct cli *c, const char *q)
{
	struct id_list l = { 0 };
	int rc = cli_jobs_each(c, q, 1000, add_listed, &l), worst = rc;
	size_t done = 0;

	if (l.oom) {
		fprintf(stderr, "jobring cancel: out of memory listing the jobs: none cancelled\n");
		free(l.ids);
		return CLI_NO_MEMORY;
	}
	for (size_t i = 0; rc == CLI_OK && i < l.n; i++) {
		int one = cancel_one(c, l.ids[i]);
		done += one == CLI_OK;
		worst = one > worst ? one : worst;	/* one that ended meanwhile: 409, said */
	}
	if (rc == CLI_OK)
		printf("jobring: cancelled %zu job%s\n", done, done == 1 ? "" : "s");
	free(l.ids);
	return worst;
}

int cli_cancel(struct cli *c, int argc, char **argv)
{
	char q[1024] = "", id[17];
	bool filtered = false;
	int worst = CLI_OK;

	if (!cancel_filters(argc, argv, q, sizeof(q), &filtered))
		return CLI_USAGE;
	if (filtered && optind < argc) {
		cli_bad_value("cancel", "ID", argv[optind],
			      "give ids or filters (--all, --name, --state, --user), not both");
		return CLI_USAGE;
	}
	if (filtered)
		return cancel_matching(c, q);
	if (optind == argc) {
		fputs(cancel_usage, stderr);
		return CLI_USAGE;
	}
	for (int i = optind; i < argc; i++) {
		int rc = cli_resolve(c, argv[i], id);
		if (rc == CLI_OK)
			rc = cancel_one(c, id);
		worst = rc > worst ? rc : worst;
	}
	return worst;
}

static void print_workers(const cJSON *o)
{
	const cJSON *w;

	printf("%-8s %-10s %7s  %-20s %s\n", "WORKER", "STATUS", "RUNNING", "NAME", "CAPABILITIES");
	cJSON_ArrayForEach(w, cJSON_GetObjectItem(o, "workers")) {
		char *caps = cJSON_PrintUnformatted(cJSON_GetObjectItem(w, "capabilities"));
		printf("%-8s %-10s %7.0f  %-20s %s\n", cli_str(w, "worker_id"), cli_str(w, "status"),
		       cli_num(w, "running"), cli_str(w, "name"), caps ? caps : "[]");
		free(caps);
	}
}

int cli_workers(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "status", 1, NULL, 's' }, { "capabilities", 1, NULL, 'c' },
		{ "help", 0, NULL, 'h' }, { NULL, 0, NULL, 0 },
	};
	static const struct query_key keys[] = { { 's', "status" }, { 'c', "capabilities" }, { 0, NULL } };
	const struct opt_spec spec = { "usage: jobring workers [--status S] [--capabilities L]\n",
				       opts, "s:c:h" };
	char q[512] = "", path[600];

	if (!options_to_query(&spec, keys, argc, argv, q, sizeof(q)))
		return CLI_USAGE;
	snprintf(path, sizeof(path), "/workers%s", q);
	return print_answer(c, "GET", path, print_workers);
}

static void print_executions(const cJSON *o)
{
	const cJSON *x;

	printf("%-16s %-16s %-7s %7s %-9s %s\n", "EXECUTION_ID", "JOB_ID", "WORKER", "ATTEMPT",
	       "STATUS", "RESULT");
	cJSON_ArrayForEach(x, cJSON_GetObjectItem(o, "executions")) {
		const cJSON *r = cJSON_GetObjectItem(x, "result");
		char *text = r && !cJSON_IsNull(r) ? cJSON_PrintUnformatted(r) : NULL;
		char result[24] = "-";
		if (text)	/* any JSON (issue 13): cut at 20 characters */
			snprintf(result, sizeof(result), "%.20s%s", text, strlen(text) > 20 ? "..." : "");
		free(text);
		printf("%-16s %-16s %-7s %7.0f %-9s %s\n", cli_str(x, "execution_id"),
		       cli_str(x, "job_id"), cli_str(x, "worker_id"), cli_num(x, "attempt"),
		       cli_str(x, "status"), result);
	}
}

int cli_executions(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "job", 1, NULL, 'j' }, { "worker", 1, NULL, 'w' }, { "status", 1, NULL, 's' },
		{ "state", 1, NULL, 's' }, { "limit", 1, NULL, 'l' }, { "help", 0, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const struct opt_spec spec = {
		"usage: jobring executions [--job ID] [--worker W] [--state S] [--limit N]\n",
		opts, "j:w:s:l:h" };
	char q[512] = "", path[600], id[17];
	int opt, rc;

	optind = 0;
	while ((opt = next_opt(&spec, argc, argv)) != -1) {
		if (opt == '?')
			return CLI_USAGE;
		if (opt == 'j' && (rc = cli_resolve(c, optarg, id)) != CLI_OK)
			return rc;
		cli_query_add(q, sizeof(q), opt == 'j' ? "job_id" : opt == 'w' ? "worker_id" :
				  opt == 's' ? "status" : "limit", opt == 'j' ? id : optarg);
	}
	snprintf(path, sizeof(path), "/executions%s", q);
	return print_answer(c, "GET", path, print_executions);
}

int cli_stats(struct cli *c, int argc, char **argv)
{
	if (argc > 1) {
		fputs("usage: jobring stats\n", strcmp(argv[1], "--help") ? stderr : stdout);
		return strcmp(argv[1], "--help") ? CLI_USAGE : CLI_OK;
	}
	return print_answer(c, "GET", "/health", print_fields);
}

/* jobring shutdown [--drain] [--grace DURATION]: stop the daemon. */
int cli_shutdown(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "drain", 0, NULL, 'd' }, { "grace", 1, NULL, 'g' }, { "help", 0, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const struct opt_spec spec = {
		"usage: jobring shutdown [--drain [--grace DURATION]]\n"
		"  without --drain: the daemon stops, running jobs go on (the next start takes\n"
		"  them back); --drain: no job starts any more, running ones get the grace\n"
		"  (default 30s), then are cancelled, then the daemon stops\n",
		opts, "dg:h" };
	cJSON *body = cJSON_CreateObject(), *answer;
	char *text;
	int opt, rc;

	optind = 0;
	while ((opt = next_opt(&spec, argc, argv)) != -1) {
		if (opt == '?') {
			cJSON_Delete(body);
			return CLI_USAGE;
		}
		if (opt == 'd')
			cJSON_AddBoolToObject(body, "drain", 1);
		else
			cJSON_AddStringToObject(body, "grace", optarg);
	}
	text = cJSON_PrintUnformatted(body);
	answer = cli_call(c, "POST", "/shutdown", text, strlen(text), &rc);
	if (answer && c->json)
		cli_print_json(answer);
	else if (answer)
		printf("jobringd: %s\n", cli_str(answer, "status"));
	free(text);
	cJSON_Delete(answer);
	cJSON_Delete(body);
	return rc;
}
