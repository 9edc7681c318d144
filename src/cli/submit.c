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

#include <time.h>

#include "base/units.h"
#include "cli/commands.h"
#include "cli/parse.h"

struct submit_opts {
	struct cli *cli;	/* for --dependency's ids */
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
"  -J, --job-name NAME   (--name)\n"
"  -p, --partition NAME  the queue (-q, --queue)\n"
"      --priority N      higher first, -2147483648 to 2147483647 (default: the queue's)\n"
"  -c, --cpus-per-task N whole cores (default 1; --cpus)\n"
"  -m, --mem SIZE        memory: MB as a number (4000), or 512K, 4G, 1T\n"
"  -G, --gpus N          (-g)\n"
"  -t, --time TIME       time limit: minutes (90), MM:SS, HH:MM:SS, D-HH, D-HH:MM,\n"
"                        D-HH:MM:SS, or 90s, 30m, 2h (--timeout)\n"
"  -d, --dependency LIST afterok:ID[:ID...],afterany:ID,afternotok:ID,after:ID,\n"
"                        aftercorr:ID, singleton\n"
"      --after ID[,ID]   run only after these jobs succeeded (repeatable)\n"
"  -a, --array INDEXES   a job array: 0-999, 0-999:2, 1,3,5-7; %%N: at most N running\n"
"      --begin TIME      start no earlier: now+1hour, 16:00, 2026-12-01T08:00, RFC 3339\n"
"      --hold            submitted held: it waits for jobring release\n"
"  -r, --retries N       retries after a failure (default 0)\n"
"  -e, --env K=V         environment variable for the job (repeatable; wins over --export)\n"
"      --export=WHAT     this environment sent with the job: ALL (default), NONE, or\n"
"                        VAR,VAR=value,... (only those; ALL in the list adds the rest)\n"
"      --resource K=N    a counted resource (repeatable), e.g. licenses=1\n"
"      --tmp SIZE        scratch space (sbatch's --tmp; MB as a number, or 10G): a\n"
"                        directory of its own on jobringd's --storage, named in\n"
"                        $JOBRING_SCRATCH, removed when it ends; PATH=SIZE picks one of\n"
"                        several filesystems (--storage)\n"
"      --external        for an external worker, not this host's executor\n"
"      --batch-size N    jobs per request with --file (default 10000)\n"
"      --quiet           print no ids\n"
"  -n is sbatch's --ntasks, which jobring has not: a job is one process tree.\n");
}

static cJSON *requirements(cJSON *tmpl)
{
	cJSON *r = cJSON_GetObjectItem(tmpl, "requirements");

	return r ? r : cJSON_AddObjectToObject(tmpl, "requirements");
}

/* A whole number min to max into o's key; NULL, or why not. */
static const char *add_integer(cJSON *o, const char *key, const char *arg, double min, double max)
{
	static char why[96];
	char *end;
	double v = strtod(arg, &end);

	if (*end || end == arg || v < min || v > max || v != (double)(long long)v) {
		snprintf(why, sizeof(why), "must be a whole number from %.0f to %.0f", min, max);
		return why;
	}
	cJSON_DeleteItemFromObject(o, key);
	cJSON_AddNumberToObject(o, key, v);
	return NULL;
}

static const char *set_string(cJSON *o, const char *key, const char *arg)
{
	cJSON_DeleteItemFromObject(o, key);
	return cJSON_AddStringToObject(o, key, arg) ? NULL : "out of memory";
}

static const char *set_true(cJSON *o, const char *key)
{
	cJSON_DeleteItemFromObject(o, key);
	return cJSON_AddBoolToObject(o, key, 1) ? NULL : "out of memory";
}

static const char *add_after(cJSON *tmpl, char *arg)
{
	cJSON *deps = cJSON_GetObjectItem(tmpl, "dependencies");

	if (!deps)
		deps = cJSON_AddArrayToObject(tmpl, "dependencies");
	for (char *save = NULL, *id = strtok_r(arg, ",", &save); id; id = strtok_r(NULL, ",", &save))
		cJSON_AddItemToArray(deps, cJSON_CreateString(id));
	return NULL;
}

static const char *add_env(cJSON *tmpl, const char *arg)
{
	cJSON *env = cJSON_GetObjectItem(tmpl, "env");
	const char *eq = strchr(arg, '=');
	char key[256];

	if (!eq || eq == arg || (size_t)(eq - arg) >= sizeof(key))
		return "must be NAME=VALUE (jobring's -e sets a variable; sbatch's -e/--error is "
		       "jobring logs --stderr)";
	if (!env)
		env = cJSON_AddObjectToObject(tmpl, "env");
	snprintf(key, sizeof(key), "%.*s", (int)(eq - arg), arg);
	cJSON_AddStringToObject(env, key, eq + 1);
	return NULL;
}

static const char *add_resource(cJSON *tmpl, const char *arg)
{
	const char *eq = strchr(arg, '=');
	char key[64];

	if (!eq || eq == arg || (size_t)(eq - arg) >= sizeof(key))
		return "must be NAME=COUNT, e.g. licenses=1";
	snprintf(key, sizeof(key), "%.*s", (int)(eq - arg), arg);
	return add_integer(requirements(tmpl), key, eq + 1, 0, 1e15);
}

static char why_buf[CLI_ERR_MAX];

/* --mem: sbatch's MB unless a suffix says otherwise: sent as checked,
 * "M" added to a plain number ("4000M", which the daemon reads alike). */
static const char *set_mem(cJSON *tmpl, const char *arg)
{
	uint64_t bytes;
	char text[64];

	if (!cli_parse_mem(arg, &bytes, why_buf))
		return why_buf;
	snprintf(text, sizeof(text), "%s%s", arg, strspn(arg, "0123456789.") == strlen(arg) ? "M" : "");
	return set_string(requirements(tmpl), "memory", text);
}

/* --tmp (--storage): SIZE or PATH=SIZE, sizes as --mem reads them. */
static const char *set_tmp(cJSON *tmpl, const char *arg)
{
	const char *eq = strrchr(arg, '=');
	const char *size = eq ? eq + 1 : arg;
	uint64_t bytes;
	char text[64], path[4096];
	cJSON *o;

	if (!cli_parse_mem(size, &bytes, why_buf))
		return why_buf;
	snprintf(text, sizeof(text), "%s%s", size,
		 strspn(size, "0123456789.") == strlen(size) ? "M" : "");
	cJSON_DeleteItemFromObject(tmpl, "storage");
	if (!eq)
		return set_string(tmpl, "storage", text);
	if (eq == arg || *arg != '/' || (size_t)(eq - arg) >= sizeof(path))
		return "must be SIZE or PATH=SIZE (an absolute path)";
	snprintf(path, sizeof(path), "%.*s", (int)(eq - arg), arg);
	o = cJSON_AddObjectToObject(tmpl, "storage");
	if (!o || !cJSON_AddStringToObject(o, "size", text) || !cJSON_AddStringToObject(o, "path", path))
		return "out of memory";
	return NULL;
}

/* --time: sbatch's forms into a duration the daemon takes; 0 is none. */
static const char *set_time(cJSON *tmpl, const char *arg)
{
	uint64_t ms;
	char text[32];

	if (!cli_parse_time(arg, &ms, why_buf))
		return why_buf;
	cJSON_DeleteItemFromObject(tmpl, "timeout");
	if (ms == 0)
		return NULL;
	if (ms % 1000 == 0)
		snprintf(text, sizeof(text), "%llus", (unsigned long long)(ms / 1000));
	else
		snprintf(text, sizeof(text), "%llums", (unsigned long long)ms);
	return set_string(tmpl, "timeout", text);
}

/* --begin and --at: into an RFC 3339 time. */
static const char *set_begin(cJSON *tmpl, const char *arg)
{
	char text[40];
	int64_t at;

	if (!cli_parse_begin(arg, (int64_t)time(NULL), &at, why_buf))
		return why_buf;
	if (at < 0)
		return "is before 1970";
	jr_format_rfc3339((uint64_t)at * 1000000000ull, text, sizeof(text));
	return set_string(tmpl, "scheduled_at", text);
}

static bool resolve_dep(void *ctx, const char *arg, char out[17], char *err)
{
	struct submit_opts *s = ctx;

	if (cli_resolve(s->cli, arg, out) == CLI_OK)
		return true;
	snprintf(err, CLI_ERR_MAX, "no single job %s (said above)", arg);
	return false;
}

static const char *set_dependency(struct submit_opts *s, const char *arg)
{
	return cli_parse_dependency(arg, s->tmpl, resolve_dep, s, why_buf) ? NULL : why_buf;
}

static const char *set_array(cJSON *tmpl, const char *arg)
{
	return cli_check_array(arg, why_buf) ? set_string(tmpl, "array", arg) : why_buf;
}

enum { O_AT = 256, O_EXTERNAL, O_BATCH, O_QUIET, O_FILE, O_RESOURCE, O_EXPORT, O_AFTER,
       O_PRIORITY, O_BEGIN, O_HOLD, O_TMP };

static const struct option submit_opts[] = {
	{ "job-name", 1, NULL, 'J' }, { "name", 1, NULL, 'J' },
	{ "partition", 1, NULL, 'p' }, { "queue", 1, NULL, 'q' },
	{ "priority", 1, NULL, O_PRIORITY },
	{ "cpus-per-task", 1, NULL, 'c' }, { "cpus", 1, NULL, 'c' }, { "mem", 1, NULL, 'm' },
	{ "gpus", 1, NULL, 'G' }, { "time", 1, NULL, 't' }, { "timeout", 1, NULL, 't' },
	{ "dependency", 1, NULL, 'd' }, { "after", 1, NULL, O_AFTER }, { "array", 1, NULL, 'a' },
	{ "retries", 1, NULL, 'r' }, { "env", 1, NULL, 'e' }, { "export", 1, NULL, O_EXPORT },
	{ "begin", 1, NULL, O_BEGIN }, { "at", 1, NULL, O_AT }, { "hold", 0, NULL, O_HOLD },
	{ "external", 0, NULL, O_EXTERNAL }, { "batch-size", 1, NULL, O_BATCH },
	{ "quiet", 0, NULL, O_QUIET }, { "file", 1, NULL, O_FILE },
	{ "resource", 1, NULL, O_RESOURCE }, { "ntasks", 1, NULL, 'n' },
	{ "tmp", 1, NULL, O_TMP }, { "storage", 1, NULL, O_TMP },
	{ "help", 0, NULL, 'h' }, { NULL, 0, NULL, 0 },
};

/* The option as the user typed it, for messages: the long one getopt
 * matched (index), else the letter. */
static const char *option_name(int opt, int index)
{
	static char name[40];

	if (index >= 0)
		snprintf(name, sizeof(name), "--%s", submit_opts[index].name);
	else
		snprintf(name, sizeof(name), "-%c", opt);
	return name;
}

/* One option: NULL, or why its value is refused. */
static const char *apply(struct submit_opts *s, int opt, char *arg)
{
	cJSON *t = s->tmpl;

	switch (opt) {
	case O_PRIORITY: return add_integer(t, "priority", arg, INT32_MIN, INT32_MAX);
	case 'c': return add_integer(requirements(t), "cpus", arg, 1, 65536);
	case 'G': return add_integer(requirements(t), "gpus", arg, 0, 4096);
	case 'm': return set_mem(t, arg);
	case 'd': return set_dependency(s, arg);
	case O_AFTER: return add_after(t, arg);
	case 'a': return set_array(t, arg);
	case 'r': return add_integer(t, "max_retries", arg, 0, 1000);
	case 't': return set_time(t, arg);
	case 'J': return set_string(t, "name", arg);
	case 'p': case 'q': return set_string(t, "queue", arg);
	case 'e': return add_env(t, arg);
	case O_AT: case O_BEGIN: return set_begin(t, arg);
	case O_HOLD: return set_true(t, "hold");
	case O_RESOURCE: return add_resource(t, arg);
	case O_TMP: return set_tmp(t, arg);
	case O_EXTERNAL: return set_string(t, "executor", "external");
	case O_BATCH: s->batch_size = strtoul(arg, NULL, 10);
		return s->batch_size > 0 ? NULL : "must be a whole number, 1 or more";
	case O_QUIET: s->quiet = true; return NULL;
	case O_FILE: s->file = arg; return NULL;
	case O_EXPORT: s->export = arg; return *arg ? NULL : "must be ALL, NONE or VAR,VAR=value,...";
	case 'n': return "is sbatch's --ntasks: jobring runs one process tree per job; "
			 "name a job with -J, give it cores with -c";
	}
	return "is not an option of submit";
}

static int parse(struct submit_opts *s, int argc, char **argv)
{
	int opt, index = -1;
	const char *why, *typed;

	optind = 0;
	while ((opt = getopt_long(argc, argv, "+J:p:q:c:m:G:g:t:d:a:r:e:f:n:h", submit_opts,
				  &index)) != -1) {
		typed = option_name(opt, index);
		index = -1;
		if (opt == 'h') {
			submit_usage(stdout);
			exit(CLI_OK);
		}
		if (opt == '?') {	/* getopt said which */
			fputs("jobring submit --help lists the options\n", stderr);
			return -1;
		}
		opt = opt == 'f' ? O_FILE : opt == 'g' ? 'G' : opt;
		if ((why = apply(s, opt, optarg)))
			return cli_bad_value("submit", typed, optarg ? optarg : "", why), -1;
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
	struct submit_opts s = { .cli = c, .tmpl = cJSON_CreateObject(), .batch_size = 10000 };
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
