/*
 * cli.h - what the jobring CLI's commands share (common.c): the connection,
 * requests that turn daemon errors into messages, and the exit codes of
 * docs/man/jobring.1. The commands themselves are in commands.h.
 */
#ifndef JR_CLI_H
#define JR_CLI_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "jobring.h"

enum cli_exit {
	CLI_OK = 0,
	CLI_REFUSED = 1,	/* the daemon answered with an error */
	CLI_USAGE = 2,
	CLI_UNREACHABLE = 3,	/* no daemon at the socket */
	CLI_JOB_FAILED = 4,	/* wait: a job failed or was cancelled */
	CLI_NO_MEMORY = 5,	/* jobring itself ran out of memory */
};

struct cli {
	const char *socket;	/* --socket, else default_socket once connecting */
	/* $JOBRING_SOCKET or the daemon's default, held here because
	 * messages name it after cli_connect() returned; as long as a path
	 * can be, so that one too long for a socket is refused, not cut. */
	char default_socket[PATH_MAX];
	struct jr_client *client;
	/* Issue 17: --server HOST:PORT (else $JOBRING_SERVER) and --access
	 * FILE (else $JOBRING_ACCESS): the daemon's --listen over TLS. */
	const char *server, *access;
	bool json;		/* --json: print the daemon's JSON as it is */
};

/* Inside a Slurm allocation ($SLURM_JOB_ID): the directory of the
 * jobringd that `jobring run-in-allocation` runs there,
 * $HOME/.jobring/alloc/$SLURM_JOB_ID, into buf; false if none applies.
 * cli_connect() takes its socket when no other is named (issue 17). */
bool cli_allocation_dir(char *buf, size_t size);

/* Connect if not yet connected. false after printing why. */
bool cli_connect(struct cli *c);

/* A request whose answer is JSON: returns the parsed answer for a 2xx
 * status (the caller deletes it), or NULL after printing the daemon's
 * error; *exit_code says which exit code applies. */
cJSON *cli_call(struct cli *c, const char *method, const char *path, const char *body,
		size_t body_len, int *exit_code);

/* Print a JSON value indented. */
void cli_print_json(const cJSON *v);

/* Grow *buf (its size in *cap) to hold at least need bytes, doubling,
 * contents kept: 0, or -ENOMEM with *buf and *cap as they were. Debug
 * builds refuse sizes over $JR_TEST_CLI_ALLOC_MAX bytes, as a full memory
 * would, so that the tests can see what that does. */
int cli_grow(char **buf, size_t *cap, size_t need);

/* Append value to the query q, percent-encoded where it must be. */
void cli_query_value(char *q, size_t size, const char *value);
/* Append "&key=value" ("?key=value" to an empty q). */
void cli_query_add(char *q, size_t size, const char *key, const char *value);

/* "jobring CMD: OPTION VALUE WHY" on stderr, then false: a bad value
 * names its option and what it may be, not the whole usage. */
bool cli_bad_value(const char *cmd, const char *option, const char *value, const char *why);

/* resolve.c: every job GET /jobs lists with the query ("?name=x", or
 * ""), page after page (per_page jobs each, at most 1000), to fn until
 * it returns false; an exit code. */
typedef bool (*cli_job_fn)(void *ctx, const cJSON *job);
int cli_jobs_each(struct cli *c, const char *query, unsigned per_page, cli_job_fn fn, void *ctx);

/* What the user typed where a job id goes (16 hex digits, the short
 * form without leading zeros, a unique prefix of either, or the name of
 * exactly one job) into the id's 16 hex digits (out: 17 bytes): CLI_OK,
 * or an exit code after saying why (none, or which jobs match). */
int cli_resolve(struct cli *c, const char *arg, char out[17]);

const char *cli_str(const cJSON *o, const char *key);	/* "" if absent */
double cli_num(const cJSON *o, const char *key);		/* 0 if absent */
/* Every string in o (its names too) with its control characters (below
 * 0x20, and 0x7f) as '?': what the daemon relays from other users (a
 * queue's or a job's name) is printed to a terminal, never obeyed by it. */
void cli_scrub(cJSON *o);

#endif
