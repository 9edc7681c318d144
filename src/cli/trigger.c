/*
 * trigger.c - `jobring trigger add|ls|show|fire|rm` (issue 15): named,
 * file and job-event triggers through PUT, GET, POST and DELETE
 * /triggers/{name} (docs/PROTOCOL.md, "Triggers").
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/commands.h"

static const char trigger_usage[] =
	"usage: jobring trigger add NAME [options] [-- CMD ARGS...]   define (or replace) one\n"
	"         --job JSON          its job, a POST /jobs body (or the command after --)\n"
	"         --watch PATH        fire on files in PATH (a directory or a file)\n"
	"         --events LIST       create,modify,close_write,moved_to (close_write,moved_to)\n"
	"         --pattern GLOB      only names that match (\"*.csv\")\n"
	"         --debounce D        one fire per burst, D after its last event (1s)\n"
	"         --on TYPE:ID | TYPE:queue:NAME   fire when a job or any job of a queue\n"
	"                             ends: TYPE afterok, afternotok or afterany\n"
	"       jobring trigger ls               yours (root: all)\n"
	"       jobring trigger show NAME\n"
	"       jobring trigger fire NAME [--payload JSON | --payload-file F]\n"
	"       jobring trigger rm NAME\n";

static int usage_error(void)
{
	fputs(trigger_usage, stderr);
	return CLI_USAGE;
}

/* A file's whole text ("-": stdin), malloc'd; NULL after saying why. */
static char *read_all(const char *path, size_t *len)
{
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
	char *buf = NULL;
	size_t cap = 0, n;

	*len = 0;
	if (!f) {
		fprintf(stderr, "jobring trigger: %s: %s\n", path, strerror(errno));
		return NULL;
	}
	do {
		if (cli_grow(&buf, &cap, *len + 65536 + 1) < 0) {
			fprintf(stderr, "jobring trigger: no memory for %s\n", path);
			free(buf);
			buf = NULL;
			break;
		}
		n = fread(buf + *len, 1, cap - *len - 1, f);
		*len += n;
	} while (n > 0);
	if (buf)
		buf[*len] = '\0';
	if (f != stdin)
		fclose(f);
	return buf;
}

/* --on TYPE:ID or TYPE:queue:NAME into body's "on". */
static bool on_option(cJSON *body, const char *arg)
{
	cJSON *on = cJSON_AddObjectToObject(body, "on");
	const char *colon = strchr(arg, ':');
	char type[32];

	if (!colon || (size_t)(colon - arg) >= sizeof(type))
		return cli_bad_value("trigger", "--on", arg, "must be TYPE:ID or TYPE:queue:NAME");
	snprintf(type, sizeof(type), "%.*s", (int)(colon - arg), arg);
	cJSON_AddStringToObject(on, "type", type);
	if (strncmp(colon + 1, "queue:", 6) == 0)
		cJSON_AddStringToObject(on, "queue", colon + 7);
	else
		cJSON_AddStringToObject(on, "job", colon + 1);
	return true;
}

/* --events a,b,c into an array. */
static void events_option(cJSON *file, const char *arg)
{
	cJSON *list = cJSON_AddArrayToObject(file, "events");
	char *copy = strdup(arg), *save = NULL;

	for (char *t = copy ? strtok_r(copy, ",", &save) : NULL; t; t = strtok_r(NULL, ",", &save))
		cJSON_AddItemToArray(list, cJSON_CreateString(t));
	free(copy);
}

static cJSON *file_of(cJSON *body)
{
	cJSON *f = cJSON_GetObjectItem(body, "file");

	return f ? f : cJSON_AddObjectToObject(body, "file");
}

/* add's options into body; false after saying why. */
static bool add_options(int argc, char **argv, cJSON *body)
{
	static const struct option opts[] = {
		{ "job", 1, NULL, 'j' }, { "watch", 1, NULL, 'w' }, { "events", 1, NULL, 'e' },
		{ "pattern", 1, NULL, 'p' }, { "debounce", 1, NULL, 'd' }, { "on", 1, NULL, 'o' },
		{ "help", 0, NULL, 'h' }, { NULL, 0, NULL, 0 },
	};
	cJSON *job;
	int opt;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		switch (opt) {
		case 'j':
			if (!(job = cJSON_Parse(optarg)) || !cJSON_IsObject(job)) {
				cJSON_Delete(job);
				return cli_bad_value("trigger", "--job", optarg,
						     "must be a JSON object (a POST /jobs body)");
			}
			cJSON_AddItemToObject(body, "job", job);
			break;
		case 'w': cJSON_AddStringToObject(file_of(body), "path", optarg); break;
		case 'e': events_option(file_of(body), optarg); break;
		case 'p': cJSON_AddStringToObject(file_of(body), "pattern", optarg); break;
		case 'd': cJSON_AddStringToObject(body, "debounce", optarg); break;
		case 'o':
			if (!on_option(body, optarg))
				return false;
			break;
		default: return false;
		}
	}
	if (optind < argc) {	/* -- CMD ARGS...: a command job */
		cJSON *cmd = cJSON_CreateArray();
		for (int i = optind; i < argc; i++)
			cJSON_AddItemToArray(cmd, cJSON_CreateString(argv[i]));
		job = cJSON_AddObjectToObject(body, "job");
		cJSON_AddItemToObject(job, "command", cmd);
		char cwd[4096];
		if (getcwd(cwd, sizeof(cwd)))	/* as submit: it runs where it was defined */
			cJSON_AddStringToObject(job, "cwd", cwd);
	}
	return true;
}

static void path_of(char *path, size_t size, const char *name)
{
	char q[600] = "";

	cli_query_value(q, sizeof(q), name);
	snprintf(path, size, "/triggers/%s", q);
}

static int trigger_add(struct cli *c, int argc, char **argv)
{
	cJSON *body = cJSON_CreateObject(), *o;
	char path[700], *text = NULL;
	int rc = CLI_USAGE;

	if (argc < 2 || argv[1][0] == '-') {
		cJSON_Delete(body);
		return usage_error();
	}
	path_of(path, sizeof(path), argv[1]);
	if (add_options(argc - 1, argv + 1, body) && (text = cJSON_PrintUnformatted(body))) {
		o = cli_call(c, "PUT", path, text, strlen(text), &rc);
		if (o && c->json)
			cli_print_json(o);
		else if (o)
			printf("trigger %s defined (%s)\n", argv[1], cli_str(o, "kind"));
		cJSON_Delete(o);
	}
	free(text);
	cJSON_Delete(body);
	return rc;
}

static void print_triggers(const cJSON *o)
{
	const cJSON *t, *last;

	printf("%-24s %-10s %8s  %-24s %-16s\n", "NAME", "KIND", "FIRES", "LAST_FIRE", "LAST_JOB");
	cJSON_ArrayForEach(t, cJSON_GetObjectItem(o, "triggers")) {
		last = cJSON_GetObjectItem(t, "last_fire");
		printf("%-24s %-10s %8.0f  %-24s %-16s\n", cli_str(t, "name"), cli_str(t, "kind"),
		       cli_num(t, "fire_count"), cJSON_IsObject(last) ? cli_str(last, "time") : "-",
		       cJSON_IsObject(last) ? cli_str(last, "job_id") : "-");
	}
}

static int trigger_get(struct cli *c, const char *name)
{
	char path[700];
	int rc;
	cJSON *o;

	if (name)
		path_of(path, sizeof(path), name);
	o = cli_call(c, "GET", name ? path : "/triggers", NULL, 0, &rc);
	if (o && (c->json || name))
		cli_print_json(o);
	else if (o)
		print_triggers(o);
	cJSON_Delete(o);
	return rc;
}

static int trigger_fire(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "payload", 1, NULL, 'p' }, { "payload-file", 1, NULL, 'f' },
		{ "help", 0, NULL, 'h' }, { NULL, 0, NULL, 0 },
	};
	char path[700], *payload = NULL;
	size_t len = 0;
	int opt, rc = CLI_USAGE;
	cJSON *o;

	if (argc < 2 || argv[1][0] == '-')
		return usage_error();
	optind = 1;
	while ((opt = getopt_long(argc - 1, argv + 1, "+h", opts, NULL)) != -1) {
		free(payload);
		if (opt == 'p') {
			payload = strdup(optarg);
			len = payload ? strlen(payload) : 0;
		} else if (opt == 'f') {
			if (!(payload = read_all(optarg, &len)))
				return CLI_USAGE;
		} else {
			return usage_error();
		}
	}
	path_of(path, sizeof(path), argv[1]);
	o = cli_call(c, "POST", path, payload, len, &rc);
	if (o && c->json)
		cli_print_json(o);
	else if (o)
		printf("trigger %s fired: fire %.0f, job %s\n", argv[1], cli_num(o, "fire_id"),
		       cli_str(o, "job_id"));
	cJSON_Delete(o);
	free(payload);
	return rc;
}

static int trigger_rm(struct cli *c, const char *name)
{
	char path[700];
	int rc;
	cJSON *o;

	path_of(path, sizeof(path), name);
	o = cli_call(c, "DELETE", path, NULL, 0, &rc);
	if (o && c->json)
		cli_print_json(o);
	else if (o)
		printf("trigger %s deleted\n", name);
	cJSON_Delete(o);
	return rc;
}

int cli_trigger(struct cli *c, int argc, char **argv)
{
	const char *verb = argc > 1 ? argv[1] : "";

	if (strcmp(verb, "add") == 0)
		return trigger_add(c, argc - 1, argv + 1);
	if (strcmp(verb, "ls") == 0)
		return trigger_get(c, NULL);
	if (strcmp(verb, "show") == 0 && argc == 3)
		return trigger_get(c, argv[2]);
	if (strcmp(verb, "fire") == 0)
		return trigger_fire(c, argc - 1, argv + 1);
	if (strcmp(verb, "rm") == 0 && argc == 3)
		return trigger_rm(c, argv[2]);
	if (strcmp(verb, "--help") == 0 || strcmp(verb, "-h") == 0) {
		fputs(trigger_usage, stdout);
		return CLI_OK;
	}
	return usage_error();
}
