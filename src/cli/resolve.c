/*
 * resolve.c - what the user typed where an id goes, made an id: the 16
 * hex digits as they are; the short form (the id without its leading
 * zeros, as `jobring ls` prints it); a job's name, if one job has it; a
 * unique prefix of the short or the full form. And the pager over
 * GET /jobs that ls, cancel's filters and the lookups share. Above
 * common.c, below the commands.
 *
 * Cost: a full id asks nothing; a short one, one GET /jobs/{id}; a name,
 * GET /jobs?name= (the daemon filters); a prefix, which no index
 * answers, a listing of every job the caller sees (pages of 1000): tried
 * last, only when nothing else matched.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/parse.h"

#define MATCHES_SHOWN 8

int cli_jobs_each(struct cli *c, const char *query, unsigned per_page, cli_job_fn fn, void *ctx)
{
	char path[1200];
	const char *sep = *query ? "&" : "?";
	int rc = CLI_OK;
	bool go = true;
	cJSON *page;

	per_page = per_page < 1 ? 1 : per_page > 1000 ? 1000 : per_page;
	snprintf(path, sizeof(path), "/jobs%s%slimit=%u", query, sep, per_page);
	while (go && (page = cli_call(c, "GET", path, NULL, 0, &rc))) {
		const cJSON *j, *next = cJSON_GetObjectItem(page, "next_cursor");
		cJSON_ArrayForEach(j, cJSON_GetObjectItem(page, "jobs"))
			if (go && !fn(ctx, j))
				go = false;
		if (!cJSON_IsString(next))
			go = false;
		else
			snprintf(path, sizeof(path), "/jobs%s%slimit=%u&cursor=%s", query, sep,
				 per_page, next->valuestring);
		cJSON_Delete(page);
	}
	return rc;
}

struct matches {
	const char *arg;
	bool prefix;		/* match ids by prefix (else take every job given) */
	bool cut;		/* by name: stopped counting past MATCHES_SHOWN */
	int n;
	char ids[MATCHES_SHOWN][17];
	char what[MATCHES_SHOWN][80];	/* name and status, for the message */
};

static bool id_matches(const char *arg, const char *id)
{
	char short_id[17];

	cli_short_id(id, short_id);
	return strncasecmp(id, arg, strlen(arg)) == 0 ||
	       strncasecmp(short_id, arg, strlen(arg)) == 0;
}

static bool collect(void *ctx, const cJSON *job)
{
	struct matches *m = ctx;
	const char *id = cli_str(job, "job_id");

	if (m->prefix && !id_matches(m->arg, id))
		return true;
	if (m->n < MATCHES_SHOWN) {
		snprintf(m->ids[m->n], 17, "%s", id);
		snprintf(m->what[m->n], sizeof(m->what[0]), "%.40s, %s", cli_str(job, "name"),
			 cli_str(job, "status"));
	}
	m->n++;
	m->cut = !m->prefix && m->n > MATCHES_SHOWN;	/* by name: enough to refuse */
	return !m->cut;
}

/* GET /jobs/{id} answered 200? -1 (after saying why) if it could not ask. */
static int job_exists(struct cli *c, const char *id)
{
	char path[40], *resp = NULL;
	int rc;

	if (!cli_connect(c))
		return -1;
	snprintf(path, sizeof(path), "/jobs/%s", id);
	rc = jr_client_request(c->client, "GET", path, NULL, 0, &resp, NULL);
	free(resp);
	if (rc < 0)
		fprintf(stderr, "jobring: GET %s: %s\n", path, strerror(-rc));
	return rc < 0 ? -1 : rc == 200;
}

static void say_ambiguous(const struct matches *m)
{
	fprintf(stderr, "jobring: \"%s\" matches %s%d jobs:\n", m->arg, m->cut ? "more than " : "",
		m->cut ? MATCHES_SHOWN : m->n);
	for (int i = 0; i < m->n && i < MATCHES_SHOWN; i++)
		fprintf(stderr, "  %s  (%s)\n", m->ids[i], m->what[i]);
	if (m->n > MATCHES_SHOWN)
		fprintf(stderr, "  ...\n");
	fprintf(stderr, "jobring: give the whole id (or more of it)\n");
}

/* By name, then by prefix: CLI_OK with out, or an exit code after saying why. */
static int search(struct cli *c, const char *arg, char out[17])
{
	struct matches m = { .arg = arg };
	char q[600] = "?name=";
	int rc;

	cli_query_value(q, sizeof(q), arg);
	rc = cli_jobs_each(c, q, MATCHES_SHOWN + 1, collect, &m);
	if (rc == CLI_OK && m.n == 0 && cli_is_hex_id(arg)) {
		m.prefix = true;
		rc = cli_jobs_each(c, "", 1000, collect, &m);
	}
	if (rc != CLI_OK)
		return rc;
	if (m.n == 1) {
		memcpy(out, m.ids[0], 17);
		return CLI_OK;
	}
	if (m.n == 0)
		fprintf(stderr, "jobring: no job has the id, short id, id prefix or name \"%s\"\n",
			arg);
	else
		say_ambiguous(&m);
	return CLI_REFUSED;
}

int cli_resolve(struct cli *c, const char *arg, char out[17])
{
	size_t n = strlen(arg);
	int found;

	if (n == 16 && cli_is_hex_id(arg)) {
		memcpy(out, arg, 17);
		return CLI_OK;
	}
	if (n == 0 || n >= JR_NAME_MAX) {
		fprintf(stderr, "jobring: \"%.64s\" is no job id or name\n", arg);
		return CLI_USAGE;
	}
	if (cli_is_hex_id(arg)) {	/* the short form: the id without leading zeros */
		snprintf(out, 17, "%016llx", strtoull(arg, NULL, 16));
		found = job_exists(c, out);
		if (found < 0)
			return CLI_UNREACHABLE;
		if (found)
			return CLI_OK;
	}
	return search(c, arg, out);
}
