/*
 * options.h - jobringd's options: parsed from the command line with their
 * defaults (the socket and state directory from XDG_RUNTIME_DIR and the
 * password entry's home), and the directories they name made and checked
 * (base/safedir.h) before anything is opened in them. docs/man/jobringd.8
 * lists them.
 */
#ifndef JR_DAEMON_OPTIONS_H
#define JR_DAEMON_OPTIONS_H

#include <stdbool.h>
#include <stdint.h>

#include "jobring.h"
#include "daemon/durable/durable.h"
#include "daemon/durable/snapshot.h"
#include "daemon/net/gate.h"
#include "daemon/net/server.h"

struct daemon_opts {
	char socket[256];
	char state_dir[256];
	char output_dir[300];
	char journal_dir[300];
	int state_fd;			/* the state directory, checked (safedir.h) */
	struct jr_engine_opts engine;
	struct durable_opts durable;
	struct retention keep;
	uint64_t snapshot_every;
	struct server_opts server;
	uint64_t heartbeat_timeout_ms;
	uint64_t worker_remove_after_ms;	/* 0: never */
	uint32_t max_workers;		/* registered at once, at most WORKERS_MAX */
	uint64_t grace_ms;		/* a drain's */
	bool paused;
	bool private_jobs;
	bool no_keeper, no_cgroups;
	char cgroup[512];
	char keeper_socket[300];
	char cgroup_name[24];
	char *keeper_argv[14];
	char job_fd_limit[24];		/* the soft RLIMIT_NOFILE jobs get */
	bool output_dir_given;		/* --output-dir */
	int output_dirfd;		/* opened and checked (exec/outdir.h) */
	uint64_t output_reserve;	/* --output-reserve */
	char *storage[JR_STORAGE_MAX + 1];	/* --storage PATH=SIZE, NULL-terminated */
	uint32_t storage_count;
	const char *http_token_file;	/* --http-token-file (issue 16) */
	char http_token[GATE_TOKEN_MAX + 1];
	uint64_t notify_backoff_ms;	/* --notify-backoff: a first retry's wait (issue 16) */
	char access_file[300];		/* --access-file, else STATE_DIR/access.json (issue 17) */
	char munge_access_file[300];	/* --munge-access-file, else STATE_DIR/access-munge.json */
	char listen_cert_file[300];	/* STATE_DIR/listen.pem (--munge's certificate) */
};

/* argv into d, defaults first: 0, or -1 after a message and the usage on
 * stderr. --help and --version print and exit 0. */
int options_parse(int argc, char **argv, struct daemon_opts *d);

/* The socket's directory, the state directory (d->state_fd kept open),
 * its journal directory and the output directory (d->output_dirfd kept
 * open), made where missing and checked: 0, or -errno after a message
 * naming the path, its owner and mode. */
int options_prepare_dirs(struct daemon_opts *d);

#endif
