/*
 * submit.c - jobring submit: one command after "--", or a file of
 * commands (one per line, run by /bin/sh -c, as GNU parallel and TACC
 * launcher users keep them) sent in batches to POST /jobs/batch.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/commands.h"
#include "base/units.h"

struct submit_opts {
	cJSON *tmpl;		/* the fields every job gets */
	const char *export;	/* --export: ALL (default), NONE or a list */
	const char *file;
	size_t batch_size;
	bool quiet;
};

static void submit_usage(FILE *f)
{
	fprintf(f,
"usage: jobring submit [options] -- CMD [ARGS...]\n"
"       jobring submit [options] --file FILE     (one command per line; \"-\": stdin)\n"
"  -p, --priority N      0-7, higher first (default: the queue's, 3)\n"
"  -c, --cpus N          whole cores (default 1)\n"
"  -m, --mem SIZE        memory, e.g. 4G\n"
"  -g, --gpus N\n"
"  -a, --after ID[,ID]   run only after these jobs succeeded (repeatable)\n"
"  -r, --retries N       retries after a failure (default 0)\n"
"  -t, --timeout DUR     time limit, e.g. 90, 30m, 2h\n"
"  -n, --name NAME       -q, --queue NAME\n"
"  -e, --env K=V         environment variable for the job (repeatable; wins over --export)\n"
"      --export=WHAT     this environment sent with the job: ALL (default), NONE, or\n"
"                        VAR,VAR=value,... (only those; ALL in the list adds the rest)\n"
"      --at TIME         start no earlier than TIME (RFC 3339)\n"
"      --resource K=N    a counted resource (repeatable), e.g. licenses=1\n"
"      --external        for an external worker, not this host's executor\n"
"      --batch-size N    jobs per request with --file (default 10000)\n"
"      --quiet           print no ids\n");
}

static cJSON *requirements(cJSON *tmpl)
{
	cJSON *r = cJSON_GetObjectItem(tmpl, "requirements");

	return r ? r : cJSON_AddObjectToObject(tmpl, "requirements");
}

static bool add_number(cJSON *o, const char *key, const char *arg, double max)
{
	char *end;
	double v = strtod(arg, &end);

	if (*end || end == arg || v < 0 || v > max)
		return false;
	cJSON_AddNumberToObject(o, key, v);
	return true;
}

static bool add_after(cJSON *tmpl, char *arg)
{
	cJSON *deps = cJSON_GetObjectItem(tmpl, "dependencies");

	if (!deps)
		deps = cJSON_AddArrayToObject(tmpl, "dependencies");
	for (char *save = NULL, *id = strtok_r(arg, ",", &save); id; id = strtok_r(NULL, ",", &save))
		cJSON_AddItemToArray(deps, cJSON_CreateString(id));
	return true;
}

static bool add_env(cJSON *tmpl, const char *arg)
{
	cJSON *env = cJSON_GetObjectItem(tmpl, "env");
	const char *eq = strchr(arg, '=');
	char key[256];

	if (!eq || eq == arg || (size_t)(eq - arg) >= sizeof(key))
		return false;
	if (!env)
		env = cJSON_AddObjectToObject(tmpl, "env");
	snprintf(key, sizeof(key), "%.*s", (int)(eq - arg), arg);
	cJSON_AddStringToObject(env, key, eq + 1);
	return true;
}

static bool add_resource(cJSON *tmpl, const char *arg)
{
	const char *eq = strchr(arg, '=');
	char key[64];

	if (!eq || eq == arg || (size_t)(eq - arg) >= sizeof(key))
		return false;
	snprintf(key, sizeof(key), "%.*s", (int)(eq - arg), arg);
	return add_number(requirements(tmpl), key, eq + 1, 1e15);
}

/* --mem, --timeout, --at as the daemon would take them; false after
 * saying why. */
static bool check_units(int opt, const char *arg)
{
	const char *name = opt == 'm' ? "--mem" : opt == 't' ? "--timeout" : "--at", *why;
	uint64_t v;
	int rc = opt == 'm' ? jr_parse_size_bytes(arg, &v)
		 : opt == 't' ? jr_parse_duration_ms(arg, &v) : jr_parse_rfc3339_ns(arg, &v);

	if (rc == 0 && opt == 'm' && v == 0)
		why = "must be more than 0";
	else if (rc == -ERANGE)
		why = opt == 'm' ? "is more than 16E" : opt == 't' ?
		      "is longer than 1000000000 s (about 31 years)" :
		      "is out of range: 1970-01-01T00:00:00Z to " JR_TIME_MAX_TEXT;
	else if (rc == -EDOM)
		why = "is no such date or time";
	else if (rc < 0)
		why = opt == 'm' ? "is not a size like 4096, 512M or 4G" : opt == 't' ?
		      "is not a duration like 90, 30m or 2h" :
		      "is not an RFC 3339 time like 2026-11-27T13:00:00Z";
	else
		return true;
	fprintf(stderr, "jobring submit: %s %s %s\n", name, arg, why);
	return false;
}

enum { O_AT = 256, O_EXTERNAL, O_BATCH, O_QUIET, O_FILE, O_RESOURCE, O_EXPORT };

static bool apply(struct submit_opts *s, int opt, char *arg)
{
	cJSON *t = s->tmpl;

	switch (opt) {
	case 'p': return add_number(t, "priority", arg, JR_PRIORITY_MAX);
	case 'c': return add_number(requirements(t), "cpus", arg, 65536);
	case 'g': return add_number(requirements(t), "gpus", arg, 4096);
	case 'm': return check_units(opt, arg) && cJSON_AddStringToObject(requirements(t), "memory", arg);
	case 'a': return add_after(t, arg);
	case 'r': return add_number(t, "max_retries", arg, 1000);
	case 't': return check_units(opt, arg) && cJSON_AddStringToObject(t, "timeout", arg);
	case 'n': return cJSON_AddStringToObject(t, "name", arg) != NULL;
	case 'q': return cJSON_AddStringToObject(t, "queue", arg) != NULL;
	case 'e': return add_env(t, arg);
	case O_AT: return check_units(opt, arg) && cJSON_AddStringToObject(t, "scheduled_at", arg);
	case O_RESOURCE: return add_resource(t, arg);
	case O_EXTERNAL: return cJSON_AddStringToObject(t, "executor", "external") != NULL;
	case O_BATCH: s->batch_size = strtoul(arg, NULL, 10); return s->batch_size > 0;
	case O_QUIET: s->quiet = true; return true;
	case O_FILE: s->file = arg; return true;
	case O_EXPORT: s->export = arg; return *arg != '\0';
	}
	return false;
}

static int parse(struct submit_opts *s, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "priority", 1, NULL, 'p' }, { "cpus", 1, NULL, 'c' }, { "mem", 1, NULL, 'm' },
		{ "gpus", 1, NULL, 'g' }, { "after", 1, NULL, 'a' }, { "retries", 1, NULL, 'r' },
		{ "timeout", 1, NULL, 't' }, { "name", 1, NULL, 'n' }, { "queue", 1, NULL, 'q' },
		{ "env", 1, NULL, 'e' }, { "at", 1, NULL, O_AT }, { "external", 0, NULL, O_EXTERNAL },
		{ "batch-size", 1, NULL, O_BATCH }, { "quiet", 0, NULL, O_QUIET },
		{ "file", 1, NULL, O_FILE }, { "resource", 1, NULL, O_RESOURCE },
		{ "export", 1, NULL, O_EXPORT },
		{ "help", 0, NULL, 'h' }, { NULL, 0, NULL, 0 },
	};
	int opt;

	optind = 0;
	while ((opt = getopt_long(argc, argv, "+p:c:m:g:a:r:t:n:q:e:f:h", opts, NULL)) != -1) {
		if (opt == 'h') {
			submit_usage(stdout);
			exit(CLI_OK);
		}
		if (opt == 'f')
			opt = O_FILE;
		if (opt == '?' || !apply(s, opt, optarg)) {
			if (opt != '?')
				fprintf(stderr, "jobring submit: bad value: %s\n", optarg);
			submit_usage(stderr);
			return -1;
		}
	}
	return 0;
}

extern char **environ;

/* NAME=value (or NAME and its value) into env unless set already: what
 * was given explicitly (-e, then VAR=value) wins over what is inherited. */
static void env_put(cJSON *env, const char *name, size_t len, const char *value)
{
	char key[256];

	if (len == 0 || len >= sizeof(key))
		return;
	memcpy(key, name, len);
	key[len] = '\0';
	if (value && !cJSON_GetObjectItemCaseSensitive(env, key))
		cJSON_AddStringToObject(env, key, value);
}

/* One item of an --export list; false if it is not NAME or NAME=value. */
static bool export_item(cJSON *env, const char *item, bool *all)
{
	size_t len = strcspn(item, "=");

	if (strcmp(item, "ALL") == 0)
		*all = true;
	else if (strcmp(item, "NONE") == 0 || item[0] == '\0')
		return true;
	else if (len == 0 || (item[0] >= '0' && item[0] <= '9') ||
		 strspn(item, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
			      "0123456789_") != len)
		return false;
	else
		env_put(env, item, len, item[len] ? item + len + 1 : getenv(item));
	return true;
}

/* --export (ALL unless told): the caller's environment, all of it or the
 * variables named, into the jobs' "env" (as sbatch --export does; the
 * daemon gives a job for another user none of its own). false on a bad
 * list. */
static bool export_env(cJSON *tmpl, const char *spec)
{
	cJSON *env = cJSON_GetObjectItem(tmpl, "env");
	char *list = strdup(spec), *save = NULL;
	bool all = false, ok = list != NULL;

	if (!env)
		env = cJSON_AddObjectToObject(tmpl, "env");
	for (char *it = list ? strtok_r(list, ",", &save) : NULL; ok && it;
	     it = strtok_r(NULL, ",", &save))
		ok = export_item(env, it, &all);
	for (char **e = environ; ok && all && e && *e; e++)
		if (strchr(*e, '='))
			env_put(env, *e, strcspn(*e, "="), strchr(*e, '=') + 1);
	free(list);
	if (!env->child)
		cJSON_DeleteItemFromObject(tmpl, "env");
	return ok;
}

static void add_cwd(cJSON *tmpl)
{
	char cwd[4096];

	if (getcwd(cwd, sizeof(cwd)))
		cJSON_AddStringToObject(tmpl, "cwd", cwd);
}

static int out_of_memory(const char *what)
{
	fprintf(stderr, "jobring submit: out of memory %s: nothing was submitted\n", what);
	return CLI_NO_MEMORY;
}

static int submit_one(struct cli *c, struct submit_opts *s, int argc, char **argv)
{
	cJSON *cmd = cJSON_AddArrayToObject(s->tmpl, "command"), *answer;
	char *body;
	int rc;

	for (int i = 0; i < argc; i++)
		cJSON_AddItemToArray(cmd, cJSON_CreateString(argv[i]));
	body = cmd ? cJSON_PrintUnformatted(s->tmpl) : NULL;
	if (!body)
		return out_of_memory("building the job");
	answer = cli_call(c, "POST", "/jobs", body, strlen(body), &rc);
	free(body);
	if (answer && !s->quiet && c->json)
		cli_print_json(answer);
	else if (answer && !s->quiet)
		puts(cli_str(answer, "job_id"));
	cJSON_Delete(answer);
	return rc;
}

/* The jobs of --file not yet sent, one JSON object a line, after the
 * batch's header (what they share: the environment, sent and kept once
 * per batch rather than once per job). */
struct file_batch {
	const char *header;	/* "{\"batch\":...}\n", or "" */
	const char *prefix;	/* the template without its closing brace */
	char *body;
	size_t len, cap;
	size_t count;		/* jobs in body */
	size_t first_line;	/* the line of the file the first of them is on */
	size_t total;		/* jobs submitted */
};

/* The template without its closing brace, to which each line's command
 * is appended; NULL when out of memory. */
static char *template_prefix(cJSON *tmpl)
{
	char *t = cJSON_PrintUnformatted(tmpl);
	size_t n;

	if (!t)
		return NULL;
	n = strlen(t);
	t[n - 1] = '\0';	/* drop "}" */
	if (n > 2)
		strcat(t, ",");	/* room: the "}" freed one byte, and "{}" has none to add */
	return t;
}

/* Add the job of one line (at line number lineno): 0 or -ENOMEM. */
static int batch_add(struct file_batch *b, const char *line, size_t lineno)
{
	cJSON *str = cJSON_CreateString(line);
	char *quoted = str ? cJSON_PrintUnformatted(str) : NULL;
	int rc = -ENOMEM;

	if (quoted)	/* 64: the command's array around the line, "}\n" and NUL */
		rc = cli_grow(&b->body, &b->cap, b->len + strlen(b->header) +
						 strlen(b->prefix) + strlen(quoted) + 64);
	if (rc == 0 && b->len == 0)
		b->len = (size_t)sprintf(b->body, "%s", b->header);
	if (rc == 0) {
		b->len += (size_t)sprintf(b->body + b->len,
					  "%s\"command\":[\"/bin/sh\",\"-c\",%s]}\n",
					  b->prefix, quoted);
		if (b->count++ == 0)
			b->first_line = lineno;
	}
	free(quoted);
	cJSON_Delete(str);
	return rc;
}

/* POST the batch to /jobs/batch, print its ids, empty it. */
static int batch_send(struct cli *c, struct submit_opts *s, struct file_batch *b)
{
	int rc;
	cJSON *answer = cli_call(c, "POST", "/jobs/batch", b->body, b->len, &rc), *id;
	const cJSON *ids = cJSON_GetObjectItem(answer, "job_ids");

	cJSON_ArrayForEach(id, ids) {
		if (!s->quiet)
			puts(id->valuestring);
		b->total++;
	}
	cJSON_Delete(answer);
	b->len = b->count = 0;
	return rc;
}

/* Out of memory or a read error at line lineno: which lines did not go. */
static int lines_not_submitted(const struct submit_opts *s, const struct file_batch *b,
			       size_t lineno, int err)
{
	fprintf(stderr, "jobring submit: %s at line %zu of %s: lines %zu on were not submitted\n",
		err == ENOMEM ? "out of memory" : strerror(err), lineno, s->file,
		b->count ? b->first_line : lineno);
	return err == ENOMEM ? CLI_NO_MEMORY : CLI_USAGE;
}

/* Every line of f, sent a batch at a time; the exit code. */
static int submit_lines(struct cli *c, struct submit_opts *s, FILE *f, struct file_batch *b)
{
	char *line = NULL;
	size_t cap = 0, lineno = 0;
	int rc = CLI_OK;
	ssize_t n;

	while (rc == CLI_OK && (errno = 0, n = getline(&line, &cap, f)) >= 0) {
		lineno++;
		while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
			line[--n] = '\0';
		if (n == 0 || line[0] == '#')
			continue;
		if (batch_add(b, line, lineno) < 0)
			rc = lines_not_submitted(s, b, lineno, ENOMEM);
		else if (b->count == s->batch_size)
			rc = batch_send(c, s, b);
	}
	if (rc == CLI_OK && !feof(f))	/* getline failed: not the end */
		rc = lines_not_submitted(s, b, lineno + 1, errno ? errno : EIO);
	if (rc == CLI_OK && b->count)
		rc = batch_send(c, s, b);
	free(line);
	return rc;
}

/* The template's env (what --export and -e gave) out of it, into a
 * batch header line: "" when there is none, NULL when out of memory. */
static char *batch_header(cJSON *tmpl)
{
	cJSON *env = cJSON_DetachItemFromObject(tmpl, "env"), *h, *batch;
	char *text = NULL, *line = NULL;

	if (!env)
		return strdup("");
	h = cJSON_CreateObject();
	batch = h ? cJSON_AddObjectToObject(h, "batch") : NULL;
	if (batch)
		cJSON_AddItemToObject(batch, "env", env);
	else
		cJSON_Delete(env);
	text = batch ? cJSON_PrintUnformatted(h) : NULL;
	if (text && asprintf(&line, "%s\n", text) < 0)
		line = NULL;
	free(text);
	cJSON_Delete(h);
	return line;
}

static int submit_file(struct cli *c, struct submit_opts *s)
{
	FILE *f = strcmp(s->file, "-") == 0 ? stdin : fopen(s->file, "r");
	int rc;

	if (!f) {
		fprintf(stderr, "jobring submit: %s: %s\n", s->file, strerror(errno));
		return CLI_USAGE;
	}
	char *header = batch_header(s->tmpl);
	char *prefix = template_prefix(s->tmpl);
	struct file_batch b = { .header = header, .prefix = prefix };

	rc = prefix && header ? submit_lines(c, s, f, &b) : out_of_memory("building the jobs");
	fprintf(stderr, "jobring: submitted %zu jobs\n", b.total);
	free(header);
	free(prefix);
	free(b.body);
	if (f != stdin)
		fclose(f);
	return rc;
}

int cli_submit(struct cli *c, int argc, char **argv)
{
	struct submit_opts s = { .tmpl = cJSON_CreateObject(), .batch_size = 10000 };
	int rc;

	if (!s.tmpl)
		return out_of_memory("building the job");
	if (parse(&s, argc, argv) < 0) {
		cJSON_Delete(s.tmpl);
		return CLI_USAGE;
	}
	add_cwd(s.tmpl);
	if (!export_env(s.tmpl, s.export ? s.export : "ALL")) {
		fprintf(stderr, "jobring submit: bad --export: %s (ALL, NONE or VAR,VAR=value,...)\n",
			s.export);
		rc = CLI_USAGE;
	} else if (s.file && optind == argc) {
		rc = submit_file(c, &s);
	} else if (!s.file && optind < argc) {
		rc = submit_one(c, &s, argc - optind, argv + optind);
	} else {
		fprintf(stderr, "jobring submit: give a command after --, or --file\n");
		rc = CLI_USAGE;
	}
	cJSON_Delete(s.tmpl);
	return rc;
}
