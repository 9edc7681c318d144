/*
 * schedule.c - jobring schedule add|ls|show|next|pause|resume|rm: the
 * daemon's schedules (issue 15; docs/PROTOCOL.md, "Schedules").
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/commands.h"

static const char schedule_usage[] =
"usage: jobring schedule add --name NAME (--cron EXPR | --every DURATION) [options] -- CMD ARGS...\n"
"       jobring schedule ls\n"
"       jobring schedule show ID|NAME\n"
"       jobring schedule next ID|NAME [-n N]\n"
"       jobring schedule pause|resume|rm ID|NAME\n"
"add's options:\n"
"  --cron EXPR         5 or 6 fields (seconds first), @hourly, @daily, ...\n"
"  --every DURATION    an interval: 90s, 15m, 2h, 1d\n"
"  --tz ZONE           an IANA zone for --cron (default UTC)\n"
"  --overlap P         skip (default), queue_one, cancel_running, allow\n"
"  --catch-up D        missed fires within D run once after a stop (default one interval)\n"
"  --jitter D          a fixed random delay in [0, D) after each due instant\n"
"  --start T, --end T  RFC 3339 times bounding the fires\n"
"  --dst-gap next_valid|skip, --dst-overlap first|both\n"
"  --trigger NAME      POST /triggers/NAME fires it too\n"
"  --paused            created paused\n"
"  --queue Q, --priority N, --job JSON   the job: its queue, priority, or a whole\n"
"                      POST /jobs body instead of CMD ARGS\n";

static int usage_error(void)
{
	fputs(schedule_usage, stderr);
	return CLI_USAGE;
}

static void print_or_json(struct cli *c, cJSON *o)
{
	(void)c;
	cli_print_json(o);
}

static int request(struct cli *c, const char *method, const char *path, const char *body,
		   cJSON **out)
{
	int rc = CLI_OK;
	cJSON *o = cli_call(c, method, path, body, body ? strlen(body) : 0, &rc);

	if (!o)
		return rc;
	if (out)
		*out = o;
	else
		cJSON_Delete(o);
	return CLI_OK;
}

static void path_of(char *path, size_t size, const char *id, const char *tail)
{
	char q[256] = "";

	cli_query_value(q, sizeof(q), id);
	snprintf(path, size, "/schedules/%s%s", q, tail);
}

/* --- add ------------------------------------------------------------------------------- */

static const struct option add_opts[] = {
	{ "name", 1, NULL, 'N' }, { "cron", 1, NULL, 'C' }, { "every", 1, NULL, 'E' },
	{ "tz", 1, NULL, 'Z' }, { "overlap", 1, NULL, 'O' }, { "catch-up", 1, NULL, 'U' },
	{ "jitter", 1, NULL, 'J' }, { "start", 1, NULL, 'S' }, { "end", 1, NULL, 'e' },
	{ "dst-gap", 1, NULL, 'g' }, { "dst-overlap", 1, NULL, 'o' },
	{ "trigger", 1, NULL, 'T' }, { "paused", 0, NULL, 'P' }, { "queue", 1, NULL, 'q' },
	{ "priority", 1, NULL, 'p' }, { "job", 1, NULL, 'j' }, { "help", 0, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static const char *add_key(int opt)
{
	switch (opt) {
	case 'N': return "name";
	case 'C': return "cron";
	case 'E': return "every";
	case 'Z': return "timezone";
	case 'O': return "overlap";
	case 'U': return "catch_up";
	case 'J': return "jitter";
	case 'S': return "start";
	case 'e': return "end";
	case 'g': return "dst_gap";
	case 'o': return "dst_overlap";
	case 'T': return "trigger";
	}
	return NULL;
}

static int add(struct cli *c, int argc, char **argv)
{
	cJSON *body = cJSON_CreateObject(), *job = NULL, *answer = NULL;
	const char *queue = NULL, *priority = NULL, *job_text = NULL;
	char *text, cwd[4096];
	int opt, rc;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "+h", add_opts, NULL)) != -1) {
		const char *k = add_key(opt);
		if (k)
			cJSON_AddStringToObject(body, k, optarg);
		else if (opt == 'P')
			cJSON_AddTrueToObject(body, "paused");
		else if (opt == 'q')
			queue = optarg;
		else if (opt == 'p')
			priority = optarg;
		else if (opt == 'j')
			job_text = optarg;
		else {
			cJSON_Delete(body);
			return usage_error();
		}
	}
	if (job_text) {
		job = cJSON_Parse(job_text);
		if (!cJSON_IsObject(job) || optind < argc) {
			cJSON_Delete(job);
			cJSON_Delete(body);
			return cli_bad_value("schedule add", "--job", job_text,
					     "a JSON object (POST /jobs), and no command after it"),
			       CLI_USAGE;
		}
	} else {
		if (optind >= argc) {
			cJSON_Delete(body);
			fputs("jobring schedule add: give a command after --, or --job\n", stderr);
			return CLI_USAGE;
		}
		job = cJSON_CreateObject();
		cJSON *cmd = cJSON_AddArrayToObject(job, "command");
		for (int i = optind; i < argc; i++)
			cJSON_AddItemToArray(cmd, cJSON_CreateString(argv[i]));
		if (getcwd(cwd, sizeof(cwd)))
			cJSON_AddStringToObject(job, "cwd", cwd);
	}
	if (queue)
		cJSON_AddStringToObject(job, "queue", queue);
	if (priority)
		cJSON_AddNumberToObject(job, "priority", atof(priority));
	cJSON_AddItemToObject(body, "job", job);
	text = cJSON_PrintUnformatted(body);
	cJSON_Delete(body);
	if (!text)
		return CLI_NO_MEMORY;
	rc = request(c, "POST", "/schedules", text, &answer);
	free(text);
	if (rc != CLI_OK)
		return rc;
	if (c->json)
		print_or_json(c, answer);
	else
		printf("schedule %d (%s): next %s\n", (int)cli_num(answer, "id"),
		       cli_str(answer, "name"), cli_str(answer, "next_due"));
	cJSON_Delete(answer);
	return CLI_OK;
}

/* --- ls, show, next ------------------------------------------------------------------ */

static const char *spec_of(const cJSON *s)
{
	const char *cron = cli_str(s, "cron");

	return cron[0] ? cron : cli_str(s, "every");
}

static int list(struct cli *c)
{
	char path[64] = "/schedules?limit=1000";
	int rc;

	if (!c->json)
		printf("%-6s %-20s %-18s %-16s %-24s %7s %7s %7s %s\n", "ID", "NAME", "WHEN", "TZ",
		       "NEXT", "FIRED", "SKIPPED", "MISSED", "STATE");
	for (;;) {
		cJSON *o = NULL, *s;
		if ((rc = request(c, "GET", path, NULL, &o)) != CLI_OK)
			return rc;
		if (c->json)
			print_or_json(c, o);
		else
			cJSON_ArrayForEach(s, cJSON_GetObjectItem(o, "schedules"))
			printf("%-6d %-20s %-18s %-16s %-24s %7.0f %7.0f %7.0f %s\n",
			       (int)cli_num(s, "id"), cli_str(s, "name"), spec_of(s),
			       cli_str(s, "timezone"), cli_str(s, "next_due"), cli_num(s, "fired"),
			       cli_num(s, "skipped"), cli_num(s, "missed"),
			       cJSON_IsTrue(cJSON_GetObjectItem(s, "paused")) ? "paused" : "active");
		const char *next = cli_str(o, "next_cursor");
		if (!next[0]) {
			cJSON_Delete(o);
			return CLI_OK;
		}
		snprintf(path, sizeof(path), "/schedules?limit=1000&cursor=%s", next);
		cJSON_Delete(o);
	}
}

static int show(struct cli *c, const char *id, const char *next, bool times_only)
{
	char path[512], tail[32];
	cJSON *o = NULL, *t;
	int rc;

	snprintf(tail, sizeof(tail), "?next=%s", next ? next : "5");
	path_of(path, sizeof(path), id, tail);
	if ((rc = request(c, "GET", path, NULL, &o)) != CLI_OK)
		return rc;
	if (!times_only || c->json)
		print_or_json(c, o);
	else
		cJSON_ArrayForEach(t, cJSON_GetObjectItem(o, "next"))
			printf("%s\n", t->valuestring);
	cJSON_Delete(o);
	return CLI_OK;
}

static int simple(struct cli *c, const char *method, const char *id, const char *tail,
		  const char *done)
{
	char path[512];
	cJSON *o = NULL;
	int rc;

	path_of(path, sizeof(path), id, tail);
	if ((rc = request(c, method, path, strcmp(method, "DELETE") ? "{}" : NULL, &o)) != CLI_OK)
		return rc;
	if (c->json)
		print_or_json(c, o);
	else
		printf("schedule %s %s\n", id, done);
	cJSON_Delete(o);
	return CLI_OK;
}

int cli_schedule(struct cli *c, int argc, char **argv)
{
	const char *verb = argc > 1 ? argv[1] : "";

	if (strcmp(verb, "add") == 0)
		return add(c, argc - 1, argv + 1);
	if (strcmp(verb, "ls") == 0 && argc == 2)
		return list(c);
	if (strcmp(verb, "show") == 0 && argc == 3)
		return show(c, argv[2], NULL, false);
	if (strcmp(verb, "next") == 0 && (argc == 3 || (argc == 5 && strcmp(argv[3], "-n") == 0)))
		return show(c, argv[2], argc == 5 ? argv[4] : "10", true);
	if (strcmp(verb, "pause") == 0 && argc == 3)
		return simple(c, "POST", argv[2], "/pause", "paused");
	if (strcmp(verb, "resume") == 0 && argc == 3)
		return simple(c, "POST", argv[2], "/resume", "resumed");
	if (strcmp(verb, "rm") == 0 && argc == 3)
		return simple(c, "DELETE", argv[2], "", "removed");
	if (strcmp(verb, "--help") == 0 || strcmp(verb, "-h") == 0) {
		fputs(schedule_usage, stdout);
		return CLI_OK;
	}
	return usage_error();
}
