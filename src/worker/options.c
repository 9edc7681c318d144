/*
 * options.c - jobring-worker's command line (docs/WORKER.md).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/units.h"
#include "jobring.h"
#include "worker/worker.h"

static void usage(FILE *f)
{
	fprintf(f,
"usage: jobring-worker [options]\n"
"  --server ADDR          the daemon: a socket path or HOST:PORT with --access\n"
"                         (default $JOBRING_SERVER, else the client's default socket)\n"
"  --access FILE          the access file for HOST:PORT (default $JOBRING_ACCESS)\n"
"  --name NAME            the worker's name (default: the host name)\n"
"  --cpus N               cores to declare (default: those hwloc finds)\n"
"  --memory SIZE          memory to declare (default: this node's)\n"
"  --gpus N               GPUs to declare (default: those hwloc finds)\n"
"  --capabilities A,B     labels jobs may require\n"
"  --idle-timeout SEC     unregister and exit after this long with nothing to run\n"
"                         (default: never)\n"
"  --on-server-lost=finish|kill  while the server cannot be reached: let running\n"
"                         jobs end and keep their results to report (finish, the\n"
"                         default), or kill them after --lost-after (kill)\n"
"  --lost-after SEC       the server is lost after this long unreachable (default 60)\n"
"  --output-dir DIR       where jobs' stdout and stderr go, as <job id>.out and .err\n"
"                         (default: the daemon's default output directory of this\n"
"                         user: $XDG_STATE_HOME/jobring/output or\n"
"                         ~/.local/state/jobring/output)\n"
"  --output-stream        also send jobs' output to the daemon, which keeps it as a\n"
"                         local job's (jobring logs); for nodes without a filesystem\n"
"                         shared with it. The local files are then a spool, removed\n"
"                         once the job's end is reported\n"
"  --heartbeat SEC        heartbeat interval (default: a third of the server's\n"
"                         heartbeat timeout)\n"
"  --kill-grace SEC       SIGTERM, then SIGKILL this much later (default 10)\n"
"  --claim-wait SEC       a claim's long poll (default 30)\n"
"  --no-claim-next        a completion does not also claim the next job (each job\n"
"                         is then a long-poll claim and a completion)\n"
"  --topology SYNTHETIC   model a node (hwloc synthetic): nothing is bound\n"
"  --no-cgroups           no cgroup per job (process groups only)\n"
"  --no-bind              do not bind jobs to their cores\n"
"  --echo                 a job without a command succeeds at once, its payload as\n"
"                         its result (benchmarks, tests)\n"
"  --quiet                log errors only\n"
"  --help, --version\n"
"SIGTERM: claim nothing more, let running jobs end, report them, unregister, exit.\n"
"SIGINT or a second SIGTERM: kill running jobs, unregister (they are retried), exit.\n");
}

enum {
	O_SERVER = 256, O_ACCESS, O_NAME, O_CPUS, O_MEMORY, O_GPUS, O_CAPS, O_IDLE, O_LOST,
	O_LOST_AFTER, O_OUTPUT, O_HEARTBEAT, O_KILL_GRACE, O_CLAIM_WAIT, O_TOPOLOGY,
	O_NO_CGROUPS, O_NO_BIND, O_ECHO, O_QUIET, O_HELP, O_VERSION, O_NO_CLAIM_NEXT,
	O_OUTPUT_STREAM,
};

static const struct option long_opts[] = {
	{ "server", 1, NULL, O_SERVER }, { "access", 1, NULL, O_ACCESS },
	{ "name", 1, NULL, O_NAME }, { "cpus", 1, NULL, O_CPUS },
	{ "memory", 1, NULL, O_MEMORY }, { "gpus", 1, NULL, O_GPUS },
	{ "capabilities", 1, NULL, O_CAPS }, { "idle-timeout", 1, NULL, O_IDLE },
	{ "on-server-lost", 1, NULL, O_LOST }, { "lost-after", 1, NULL, O_LOST_AFTER },
	{ "output-dir", 1, NULL, O_OUTPUT }, { "heartbeat", 1, NULL, O_HEARTBEAT },
	{ "kill-grace", 1, NULL, O_KILL_GRACE }, { "claim-wait", 1, NULL, O_CLAIM_WAIT },
	{ "topology", 1, NULL, O_TOPOLOGY }, { "no-cgroups", 0, NULL, O_NO_CGROUPS },
	{ "no-bind", 0, NULL, O_NO_BIND }, { "echo", 0, NULL, O_ECHO },
	{ "quiet", 0, NULL, O_QUIET }, { "help", 0, NULL, O_HELP },
	{ "version", 0, NULL, O_VERSION }, { "no-claim-next", 0, NULL, O_NO_CLAIM_NEXT },
	{ "output-stream", 0, NULL, O_OUTPUT_STREAM },
	{ NULL, 0, NULL, 0 },
};

static bool parse_count(const char *arg, uint32_t *out)
{
	char *end;
	unsigned long v = strtoul(arg, &end, 10);

	if (*end || end == arg || arg[0] == '-' || v > 1000000)
		return false;
	*out = (uint32_t)v;
	return true;
}

static bool parse_duration(const char *arg, uint64_t *ms)
{
	return jr_parse_duration_ms(arg, ms) == 0;
}

static void defaults(struct wk_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->on_lost = WK_LOST_FINISH;
	o->lost_after_ms = 60000;
	o->kill_grace_ms = 10000;
	o->claim_wait_s = 30;
}

/* One option: false if its argument is bad. */
static bool apply(struct wk_opts *o, int opt, const char *arg)
{
	uint64_t ms;

	switch (opt) {
	case O_SERVER: o->server = arg; return true;
	case O_ACCESS: o->access = arg; return true;
	case O_NAME: o->name = arg; return strlen(arg) > 0 && strlen(arg) < 256;
	case O_CPUS: o->cpus_set = true; return parse_count(arg, &o->cpus) && o->cpus > 0;
	case O_GPUS: o->gpus_set = true; return parse_count(arg, &o->gpus) && o->gpus <= 64;
	case O_MEMORY: o->mem_set = true; return jr_parse_size_bytes(arg, &o->mem_bytes) == 0;
	case O_CAPS: o->capabilities = arg; return strlen(arg) < 1024 && !strpbrk(arg, "\"\\");
	case O_IDLE: return parse_duration(arg, &o->idle_timeout_ms);
	case O_LOST:
		if (strcmp(arg, "finish") == 0)
			o->on_lost = WK_LOST_FINISH;
		else if (strcmp(arg, "kill") == 0)
			o->on_lost = WK_LOST_KILL;
		else
			return false;
		return true;
	case O_LOST_AFTER: return parse_duration(arg, &o->lost_after_ms);
	case O_OUTPUT: o->output_dir = arg; return true;
	case O_OUTPUT_STREAM: o->output_stream = true; return true;
	case O_HEARTBEAT: return parse_duration(arg, &o->heartbeat_ms) && o->heartbeat_ms > 0;
	case O_KILL_GRACE: return parse_duration(arg, &o->kill_grace_ms);
	case O_CLAIM_WAIT:
		if (!parse_duration(arg, &ms) || ms < 1000 || ms > 300000)
			return false;
		o->claim_wait_s = (uint32_t)(ms / 1000);
		return true;
	case O_TOPOLOGY: o->topology = arg; return true;
	case O_NO_CGROUPS: o->no_cgroups = true; return true;
	case O_NO_BIND: o->no_bind = true; return true;
	case O_ECHO: o->echo = true; return true;
	case O_QUIET: o->quiet = true; return true;
	case O_NO_CLAIM_NEXT: o->no_claim_next = true; return true;
	}
	return false;
}

int wk_opts_parse(struct wk_opts *o, int argc, char **argv)
{
	int opt;

	defaults(o);
	while ((opt = getopt_long(argc, argv, "", long_opts, NULL)) != -1) {
		if (opt == O_HELP) {
			usage(stdout);
			return 1;
		}
		if (opt == O_VERSION) {
			printf("jobring-worker %s\n", jr_version());
			return 1;
		}
		if (opt == '?' || !apply(o, opt, optarg)) {
			if (opt != '?')
				fprintf(stderr, "jobring-worker: bad value for --%s: %s\n",
					long_opts[opt - O_SERVER].name, optarg ? optarg : "");
			usage(stderr);
			return 2;
		}
	}
	if (!o->server && getenv("JOBRING_SERVER") && *getenv("JOBRING_SERVER"))
		o->server = getenv("JOBRING_SERVER");
	if (!o->access && getenv("JOBRING_ACCESS") && *getenv("JOBRING_ACCESS"))
		o->access = getenv("JOBRING_ACCESS");
	if (optind < argc) {
		fprintf(stderr, "jobring-worker: unexpected argument %s\n", argv[optind]);
		usage(stderr);
		return 2;
	}
	return 0;
}
