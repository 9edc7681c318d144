/*
 * control.c - the CLI's commands that change jobs and the scheduler, in
 * scontrol's words: hold, release, requeue (PUT /jobs/{id}/...), update
 * (PATCH /jobs/{id}), scheduler pause|resume|status, and queues (list,
 * create, update, delete).
 */
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/units.h"
#include "cli/commands.h"
#include "cli/parse.h"

/* PUT /jobs/{id}/{action} for each id; the worst exit code. */
static int job_action(struct cli *c, int argc, char **argv, const char *action)
{
	int worst = CLI_OK;

	if (argc < 2 || strcmp(argv[1], "--help") == 0) {
		fprintf(argc < 2 ? stderr : stdout, "usage: jobring %s ID|NAME...\n", argv[0]);
		return argc < 2 ? CLI_USAGE : CLI_OK;
	}
	for (int i = 1; i < argc; i++) {
		char id[17], path[64];
		int rc = cli_resolve(c, argv[i], id);
		cJSON *o = NULL;
		if (rc == CLI_OK) {
			snprintf(path, sizeof(path), "/jobs/%s/%s", id, action);
			o = cli_call(c, "PUT", path, NULL, 0, &rc);
		}
		if (o && c->json)
			cli_print_json(o);
		else if (o)
			printf("%s %s%s%s\n", id, cli_str(o, "status"),
			       *cli_str(o, "reason") ? " " : "", cli_str(o, "reason"));
		cJSON_Delete(o);
		worst = rc > worst ? rc : worst;
	}
	return worst;
}

int cli_hold(struct cli *c, int argc, char **argv)
{
	return job_action(c, argc, argv, "hold");
}

int cli_release(struct cli *c, int argc, char **argv)
{
	return job_action(c, argc, argv, "release");
}

int cli_requeue(struct cli *c, int argc, char **argv)
{
	return job_action(c, argc, argv, "requeue");
}

/* --- update ---------------------------------------------------------------------------------- */

static const char update_usage[] =
	"usage: jobring update ID|NAME [options]     (scontrol update; before the job starts)\n"
	"      --priority N      -2147483648 to 2147483647\n"
	"  -t, --time TIME       minutes (90), MM:SS, HH:MM:SS, D-HH:MM:SS, 30m, 2h\n"
	"  -p, --partition Q     the queue (--queue)\n"
	"      --begin TIME      now+1hour, 16:00, 2026-12-01T08:00, RFC 3339\n"
	"  -c, --cpus-per-task N   -m, --mem SIZE (MB, or 4G)   -G, --gpus N\n";

static cJSON *child(cJSON *o, const char *key)
{
	cJSON *r = cJSON_GetObjectItem(o, key);

	return r ? r : cJSON_AddObjectToObject(o, key);
}

/* A whole number min to max, or false after naming the option. */
static bool whole(const char *opt, const char *arg, double min, double max, double *v)
{
	char *end, why[80];

	*v = strtod(arg, &end);
	if (*end || end == arg || *v < min || *v > max || *v != (double)(long long)*v) {
		snprintf(why, sizeof(why), "must be a whole number from %.0f to %.0f", min, max);
		return cli_bad_value("update", opt, arg, why);
	}
	return true;
}

static bool update_time(cJSON *body, const char *arg)
{
	char err[CLI_ERR_MAX], text[32];
	uint64_t ms;

	if (!cli_parse_time(arg, &ms, err))
		return cli_bad_value("update", "--time", arg, err);
	snprintf(text, sizeof(text), "%llums", (unsigned long long)ms);
	cJSON_AddStringToObject(body, "timeout", ms ? text : "0");
	return true;
}

static bool update_begin(cJSON *body, const char *arg)
{
	char err[CLI_ERR_MAX], text[40];
	int64_t at;

	if (!cli_parse_begin(arg, (int64_t)time(NULL), &at, err) || at < 0)
		return cli_bad_value("update", "--begin", arg, at < 0 ? "is before 1970" : err);
	jr_format_rfc3339((uint64_t)at * 1000000000ull, text, sizeof(text));
	cJSON_AddStringToObject(body, "scheduled_at", text);
	return true;
}

static bool update_mem(cJSON *body, const char *arg)
{
	char err[CLI_ERR_MAX], text[48];
	uint64_t bytes;

	if (!cli_parse_mem(arg, &bytes, err))
		return cli_bad_value("update", "--mem", arg, err);
	snprintf(text, sizeof(text), "%.40s%s", arg,
		 strspn(arg, "0123456789.") == strlen(arg) ? "M" : "");	/* as submit sends it */
	cJSON_AddStringToObject(child(body, "resources"), "memory", text);
	return true;
}

enum { U_PRIORITY = 256, U_BEGIN };

static bool update_option(cJSON *body, int opt, const char *arg)
{
	double v;

	switch (opt) {
	case U_PRIORITY:
		return whole("--priority", arg, INT32_MIN, INT32_MAX, &v) &&
		       cJSON_AddNumberToObject(body, "priority", v);
	case 't': return update_time(body, arg);
	case 'p': return cJSON_AddStringToObject(body, "queue", arg) != NULL;
	case U_BEGIN: return update_begin(body, arg);
	case 'm': return update_mem(body, arg);
	case 'c':
		return whole("--cpus-per-task", arg, 1, 65536, &v) &&
		       cJSON_AddNumberToObject(child(body, "resources"), "cpus", v);
	case 'G':
		return whole("--gpus", arg, 0, 4096, &v) &&
		       cJSON_AddNumberToObject(child(body, "resources"), "gpus", v);
	}
	return false;
}

/* update's options into body; false after saying what is wrong. */
static bool update_body(int argc, char **argv, cJSON *body)
{
	static const struct option opts[] = {
		{ "priority", 1, NULL, U_PRIORITY }, { "time", 1, NULL, 't' },
		{ "timeout", 1, NULL, 't' }, { "partition", 1, NULL, 'p' }, { "queue", 1, NULL, 'p' },
		{ "begin", 1, NULL, U_BEGIN }, { "mem", 1, NULL, 'm' },
		{ "cpus-per-task", 1, NULL, 'c' }, { "cpus", 1, NULL, 'c' }, { "gpus", 1, NULL, 'G' },
		{ "help", 0, NULL, 'h' }, { NULL, 0, NULL, 0 },
	};
	int opt;

	optind = 0;
	while ((opt = getopt_long(argc, argv, "t:p:q:m:c:G:h", opts, NULL)) != -1) {
		if (opt == 'h') {
			fputs(update_usage, stdout);
			exit(CLI_OK);
		}
		if (opt == '?') {
			fputs("jobring update --help lists its options\n", stderr);
			return false;
		}
		if (!update_option(body, opt == 'q' ? 'p' : opt, optarg))
			return false;
	}
	if (optind != argc - 1) {
		fputs(update_usage, stderr);
		return false;
	}
	if (!body->child) {
		fputs("jobring update: nothing to change: give --priority, --time, --partition, "
		      "--begin, --mem, --cpus-per-task or --gpus\n", stderr);
		return false;
	}
	return true;
}

int cli_update(struct cli *c, int argc, char **argv)
{
	cJSON *body = cJSON_CreateObject(), *o = NULL;
	char id[17], path[64], *text = NULL;
	int rc = CLI_USAGE;

	if (body && update_body(argc, argv, body) &&
	    (rc = cli_resolve(c, argv[optind], id)) == CLI_OK) {
		snprintf(path, sizeof(path), "/jobs/%s", id);
		text = cJSON_PrintUnformatted(body);
		o = text ? cli_call(c, "PATCH", path, text, strlen(text), &rc) : NULL;
		rc = text ? rc : CLI_NO_MEMORY;
	}
	if (o && c->json)
		cli_print_json(o);
	else if (o)
		printf("%s updated\n", id);
	free(text);
	cJSON_Delete(o);
	cJSON_Delete(body);
	return rc;
}

/* --- scheduler ------------------------------------------------------------------------------- */

int cli_scheduler(struct cli *c, int argc, char **argv)
{
	const char *what = argc == 2 ? argv[1] : "";
	bool status = strcmp(what, "status") == 0;
	char path[32];
	cJSON *o;
	int rc;

	if (strcmp(what, "--help") == 0) {
		fputs("usage: jobring scheduler pause|resume|status\n"
		      "  pause: no job starts until resume (running ones go on)\n", stdout);
		return CLI_OK;
	}
	if (strcmp(what, "pause") && strcmp(what, "resume") && !status) {
		cli_bad_value("scheduler", "command", argc > 1 ? argv[1] : "(none)",
			      "must be pause, resume or status");
		return CLI_USAGE;
	}
	snprintf(path, sizeof(path), status ? "/scheduler" : "/scheduler/%s", what);
	o = cli_call(c, status ? "GET" : "POST", path, status ? NULL : "{}", status ? 0 : 2, &rc);
	if (o && c->json)
		cli_print_json(o);
	else if (o)
		printf("scheduler %s\n",
		       cJSON_IsTrue(cJSON_GetObjectItem(o, "paused")) ? "paused" : "running");
	cJSON_Delete(o);
	return rc;
}

/* --- queues ---------------------------------------------------------------------------------- */

static void print_queues(const cJSON *o)
{
	const cJSON *q;

	printf("%-8s %-20s %11s %11s\n", "QUEUE_ID", "NAME", "PRIORITY", "MAX_WORKERS");
	cJSON_ArrayForEach(q, cJSON_GetObjectItem(o, "queues"))
		printf("%-8s %-20s %11.0f %11.0f\n", cli_str(q, "queue_id"), cli_str(q, "name"),
		       cli_num(q, "priority"), cli_num(q, "max_workers"));
}

static const char queues_usage[] =
	"usage: jobring queues                          list them\n"
	"       jobring queues create NAME [--priority N] [--max-workers N]   (or --create NAME)\n"
	"       jobring queues update NAME [--priority N] [--max-workers N]\n"
	"       jobring queues delete NAME              (only without live jobs)\n";

/* The options of create and update into body; false after saying why. */
static bool queue_options(int argc, char **argv, cJSON *body, const char **create)
{
	static const struct option opts[] = {
		{ "create", 1, NULL, 'C' }, { "priority", 1, NULL, 'p' },
		{ "max-workers", 1, NULL, 'm' }, { "help", 0, NULL, 'h' }, { NULL, 0, NULL, 0 },
	};
	double v;
	int opt;

	optind = 0;
	while ((opt = getopt_long(argc, argv, "p:m:h", opts, NULL)) != -1) {
		char *end;
		if (opt == 'h') {
			fputs(queues_usage, stdout);
			exit(CLI_OK);
		}
		if (opt == '?')
			return fputs("jobring queues --help lists its options\n", stderr), false;
		if (opt == 'C') {
			*create = optarg;
			continue;
		}
		v = strtod(optarg, &end);
		if (*end || end == optarg || v != (double)(long long)v ||
		    v < (opt == 'p' ? INT32_MIN : 0) || v > (opt == 'p' ? INT32_MAX : UINT32_MAX))
			return cli_bad_value("queues", opt == 'p' ? "--priority" : "--max-workers",
					     optarg, opt == 'p' ? "must be a whole number" :
					     "must be a whole number, 0 (no cap) or more");
		cJSON_AddNumberToObject(body, opt == 'p' ? "priority" : "max_workers", v);
	}
	return true;
}

/* create (POST /queues), update (PATCH) or delete (DELETE /queues/NAME). */
static int queue_request(struct cli *c, const char *verb, const char *name, cJSON *body)
{
	bool create = strcmp(verb, "create") == 0, del = strcmp(verb, "delete") == 0;
	char path[300], *text = NULL;
	int rc;
	cJSON *o;

	if (create)
		cJSON_AddStringToObject(body, "name", name);
	if (!del && !(text = cJSON_PrintUnformatted(body)))
		return CLI_NO_MEMORY;
	snprintf(path, sizeof(path), create ? "/queues" : "/queues/%s", name);
	o = cli_call(c, create ? "POST" : del ? "DELETE" : "PATCH", path, text,
		     text ? strlen(text) : 0, &rc);
	if (o && c->json)
		cli_print_json(o);
	else if (o)
		printf("queue %s %sd\n", name, create ? "create" : del ? "delete" : "update");
	free(text);
	cJSON_Delete(o);
	return rc;
}

static int queue_list(struct cli *c)
{
	int rc;
	cJSON *o = cli_call(c, "GET", "/queues", NULL, 0, &rc);

	if (o && c->json)
		cli_print_json(o);
	else if (o)
		print_queues(o);
	cJSON_Delete(o);
	return rc;
}

int cli_queues(struct cli *c, int argc, char **argv)
{
	const char *verb = argc > 1 && argv[1][0] != '-' ? argv[1] : NULL, *name = NULL;
	int skip = verb != NULL, rc = CLI_USAGE;
	cJSON *body;

	if (verb && strcmp(verb, "create") && strcmp(verb, "update") && strcmp(verb, "delete"))
		return cli_bad_value("queues", "command", verb, "must be create, update or delete"),
		       CLI_USAGE;
	if (!(body = cJSON_CreateObject()))
		return CLI_NO_MEMORY;
	if (queue_options(argc - skip, argv + skip, body, &name)) {
		int rest = argc - skip - optind;
		if (verb && rest == 1)
			rc = queue_request(c, verb, argv[skip + optind], body);
		else if (!verb && rest == 0)
			rc = name ? queue_request(c, "create", name, body) : queue_list(c);
		else
			fputs(queues_usage, stderr);
	}
	cJSON_Delete(body);
	return rc;
}
