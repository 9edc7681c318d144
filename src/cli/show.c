/*
 * show.c - the CLI's read and control commands: show, ls, cancel,
 * workers, executions, stats, queues. --json prints the daemon's answer.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"

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
	if (opt == '?')
		fputs(o->usage, stderr);
	return opt;
}

/* Append "&key=value" (value percent-encoded where it must be). */
static void query_add(char *q, size_t size, const char *key, const char *value)
{
	size_t n = strlen(q);

	n += (size_t)snprintf(q + n, size - n, "%s%s=", n ? "&" : "?", key);
	for (const char *p = value; *p && n + 4 < size; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		    strchr("-_.,~", *p))
			q[n++] = *p;
		else
			n += (size_t)snprintf(q + n, size - n, "%%%02X", (unsigned char)*p);
	}
	q[n] = '\0';
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
				query_add(q, size, k->key, optarg);
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
	char path[64];

	if (argc != 2 || strcmp(argv[1], "--help") == 0) {
		fputs("usage: jobring show ID\n", argc == 2 ? stdout : stderr);
		return argc == 2 ? CLI_OK : CLI_USAGE;
	}
	snprintf(path, sizeof(path), "/jobs/%.20s", argv[1]);
	return print_answer(c, "GET", path, print_fields);
}

static void print_job_row(const cJSON *j)
{
	printf("%-16s %-9s %4.0f %8.0f  %-24.24s %s\n", cli_str(j, "job_id"),
	       cli_str(j, "status"), cli_num(j, "priority"), cli_num(j, "attempts"),
	       cli_str(j, "created_at"), cli_str(j, "name"));
}

static const char ls_usage[] =
	"usage: jobring ls [--status S[,S]] [--priority N] [--limit N] [--all]\n"
	"  statuses: pending queued running succeeded failed cancelled\n";

int cli_ls(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "status", 1, NULL, 's' }, { "priority", 1, NULL, 'p' }, { "limit", 1, NULL, 'l' },
		{ "all", 0, NULL, 'a' }, { "help", 0, NULL, 'h' }, { NULL, 0, NULL, 0 },
	};
	const struct opt_spec spec = { ls_usage, opts, "s:p:l:ah" };
	char q[512] = "", path[700];
	bool all = false, first = true;
	int opt, rc = CLI_OK;
	cJSON *page;

	optind = 0;
	while ((opt = next_opt(&spec, argc, argv)) != -1) {
		if (opt == '?')
			return CLI_USAGE;
		if (opt == 'a')
			all = true;
		else
			query_add(q, sizeof(q), opt == 's' ? "status" : opt == 'p' ? "priority" : "limit",
				  optarg);
	}
	snprintf(path, sizeof(path), "/jobs%s", q);
	while ((page = cli_call(c, "GET", path, NULL, 0, &rc))) {
		const cJSON *j, *jobs = cJSON_GetObjectItem(page, "jobs");
		const char *next = cli_str(page, "next_cursor");
		if (c->json)
			cli_print_json(jobs);
		else if (first)
			printf("%-16s %-9s %4s %8s  %-24s %s\n", "JOB_ID", "STATUS", "PRIO",
			       "ATTEMPTS", "CREATED", "NAME");
		first = false;
		if (!c->json)
			cJSON_ArrayForEach(j, jobs)
				print_job_row(j);
		if (!all || !*next) {
			cJSON_Delete(page);
			break;
		}
		snprintf(path, sizeof(path), "/jobs%s%scursor=%s", q, *q ? "&" : "?", next);
		cJSON_Delete(page);
	}
	return rc;
}

int cli_cancel(struct cli *c, int argc, char **argv)
{
	int worst = CLI_OK;

	if (argc < 2 || strcmp(argv[1], "--help") == 0) {
		fputs("usage: jobring cancel ID...\n", argc < 2 ? stderr : stdout);
		return argc < 2 ? CLI_USAGE : CLI_OK;
	}
	for (int i = 1; i < argc; i++) {
		char path[64];
		int rc;
		snprintf(path, sizeof(path), "/jobs/%.20s/cancel", argv[i]);
		cJSON *o = cli_call(c, "PUT", path, NULL, 0, &rc);
		if (o)
			printf("%s %s\n", cli_str(o, "job_id"), cli_str(o, "status"));
		cJSON_Delete(o);
		if (rc > worst)
			worst = rc;
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

	printf("%-16s %-16s %-7s %7s %-9s %6s\n", "EXECUTION_ID", "JOB_ID", "WORKER", "ATTEMPT",
	       "STATUS", "RESULT");
	cJSON_ArrayForEach(x, cJSON_GetObjectItem(o, "executions")) {
		const cJSON *r = cJSON_GetObjectItem(x, "result");
		char result[16] = "-";
		if (cJSON_IsNumber(r))
			snprintf(result, sizeof(result), "%d", r->valueint);
		printf("%-16s %-16s %-7s %7.0f %-9s %6s\n", cli_str(x, "execution_id"),
		       cli_str(x, "job_id"), cli_str(x, "worker_id"), cli_num(x, "attempt"),
		       cli_str(x, "status"), result);
	}
}

int cli_executions(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "job", 1, NULL, 'j' }, { "worker", 1, NULL, 'w' }, { "status", 1, NULL, 's' },
		{ "help", 0, NULL, 'h' }, { NULL, 0, NULL, 0 },
	};
	static const struct query_key keys[] = { { 'j', "job_id" }, { 'w', "worker_id" },
						 { 's', "status" }, { 0, NULL } };
	const struct opt_spec spec = {
		"usage: jobring executions [--job ID] [--worker W] [--status S]\n", opts, "j:w:s:h" };
	char q[512] = "", path[600];

	if (!options_to_query(&spec, keys, argc, argv, q, sizeof(q)))
		return CLI_USAGE;
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

static void print_queues(const cJSON *o)
{
	const cJSON *q;

	printf("%-8s %-20s %8s %11s\n", "QUEUE_ID", "NAME", "PRIORITY", "MAX_WORKERS");
	cJSON_ArrayForEach(q, cJSON_GetObjectItem(o, "queues"))
		printf("%-8s %-20s %8.0f %11.0f\n", cli_str(q, "queue_id"), cli_str(q, "name"),
		       cli_num(q, "priority"), cli_num(q, "max_workers"));
}

int cli_queues(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "create", 1, NULL, 'c' }, { "priority", 1, NULL, 'p' },
		{ "max-workers", 1, NULL, 'm' }, { "help", 0, NULL, 'h' }, { NULL, 0, NULL, 0 },
	};
	const struct opt_spec spec = {
		"usage: jobring queues [--create NAME [--priority N] [--max-workers N]]\n",
		opts, "c:p:m:h" };
	cJSON *body = cJSON_CreateObject(), *answer;
	const char *name = NULL;
	char *text;
	int opt, rc;

	optind = 0;
	while ((opt = next_opt(&spec, argc, argv)) != -1) {
		if (opt == '?') {
			cJSON_Delete(body);
			return CLI_USAGE;
		}
		if (opt == 'c')
			name = optarg;
		else
			cJSON_AddNumberToObject(body, opt == 'p' ? "priority" : "max_workers",
						atof(optarg));
	}
	if (!name) {
		cJSON_Delete(body);
		return print_answer(c, "GET", "/queues", print_queues);
	}
	cJSON_AddStringToObject(body, "name", name);
	text = cJSON_PrintUnformatted(body);
	answer = cli_call(c, "POST", "/queues", text, strlen(text), &rc);
	if (answer)
		printf("queue %s created\n", cli_str(answer, "name"));
	free(text);
	cJSON_Delete(answer);
	cJSON_Delete(body);
	return rc;
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
