/*
 * main.c - jobring, the command-line client of jobringd: global options
 * and the command table. The commands (submit.c, show.c, follow.c) are
 * below it, and the helpers they share (common.c) below them.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/commands.h"

static void usage(FILE *f)
{
	fprintf(f,
"usage: jobring [--socket PATH | --server HOST:PORT --access FILE] [--json] COMMAND\n"
"               [options] [args]\n"
"\n"
"commands:\n"
"  submit [options] -- CMD ARGS...   submit one command job\n"
"  submit [options] --file FILE      one job per line of FILE (\"-\": stdin), in batches\n"
"  show ID                           a job in full\n"
"  ls [--state S] [--name N] [--user U] [--partition Q] [--limit N] [--all]\n"
"                                    jobs, as a table (squeue)\n"
"  cancel ID... | --all | --name N | --state S | --user U\n"
"                                    cancel jobs (scancel): queued, or running (SIGTERM,\n"
"                                    then SIGKILL)\n"
"  hold ID...  release ID...  requeue ID...   (scontrol's words)\n"
"  update ID [--priority N] [--time T] [--partition Q] [--begin T] [--mem M] [-c N]\n"
"  wait [ID...]                      until the jobs (or all jobs) end; progress on a terminal\n"
"  logs [-f] [--stderr] [--attempt N] ID   a job's output\n"
"  workers [--status S] [--capabilities L]   the daemon's and external workers\n"
"  executions [--job ID] [--worker W] [--state S]   every attempt of jobs\n"
"  scheduler pause|resume|status     stop starting jobs, start again, or say which\n"
"  stats                             counters and queue depths\n"
"  resources                         cores, memory, GPUs per NUMA node, counters, storage,\n"
"                                    workers, the head job's reservation: total and in use\n"
"  queues [create NAME|update NAME|delete NAME] [--priority N] [--max-workers N]\n"
"  trigger add|ls|show|fire|rm NAME   named, file and job-event triggers (trigger --help)\n"
"  schedule add|ls|show|next|pause|resume|rm   recurring jobs: cron or every, in a zone\n"
"  events [--kind K] [--job ID] [--queue Q] [--user U] [--follow]\n"
"                                    the daemon's event stream, one line per event\n"
"  top [--interval S] [--iterations N]   a live view: counts, rates, NUMA bars, running\n"
"                                    jobs (j/k select, c cancel, h hold, s sort, / filter)\n"
"  shutdown [--drain [--grace DURATION]]   stop the daemon; running jobs go on (or,\n"
"                                    with --drain, finish or are cancelled first)\n"
"  alloc add slurm|ls|show|rm        allocations asked of Slurm when external jobs wait\n"
"                                    (alloc --help; docs/CLUSTER.md)\n"
"  run-in-allocation [-- COMMAND]    inside a Slurm allocation: jobringd here, a worker\n"
"                                    on every node, COMMAND, then all stopped\n"
"  journal dump|verify|summarize STATE_DIR   read a state directory, no daemon\n"
"                                    needed (runs jobring-journal)\n"
"\n"
"An ID is the 16 hex digits, the short form ls prints (no leading zeros), a\n"
"unique prefix of either, or the name of exactly one job. --json may come\n"
"anywhere before \"--\". Each command takes --help.\n"
"The socket is --socket, else $JOBRING_SOCKET, else (inside a Slurm allocation)\n"
"run-in-allocation's, else the daemon's default.\n"
"--server HOST:PORT (or $JOBRING_SERVER) reaches a jobringd --listen over TLS with the\n"
"key of its access file, --access FILE (or $JOBRING_ACCESS; alone, its address too).\n"
"Exit codes: 0 ok, 1 refused by the daemon, 2 usage, 3 no daemon, 4 (wait) a job\n"
"failed or was cancelled, 5 out of memory. See jobring(1).\n");
}

static const struct {
	const char *name;
	int (*run)(struct cli *, int, char **);
} commands[] = {
	{ "submit", cli_submit }, { "show", cli_show }, { "ls", cli_ls },
	{ "cancel", cli_cancel }, { "wait", cli_wait }, { "logs", cli_logs },
	{ "workers", cli_workers }, { "executions", cli_executions },
	{ "stats", cli_stats }, { "queues", cli_queues }, { "shutdown", cli_shutdown },
	{ "hold", cli_hold }, { "release", cli_release }, { "requeue", cli_requeue },
	{ "update", cli_update }, { "scheduler", cli_scheduler },
	{ "resources", cli_resources },
	{ "trigger", cli_trigger },
	{ "schedule", cli_schedule },
	{ "events", cli_events }, { "top", cli_top },
	{ "alloc", cli_alloc }, { "run-in-allocation", cli_run_in_allocation },
};

/* --json anywhere on the line: taken out of argv[from, argc) up to a
 * "--" (after which everything is the job's command); the new argc. */
static int take_json(struct cli *c, int argc, char **argv, int from)
{
	int out = from;

	for (int i = from; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0) {
			while (i < argc)
				argv[out++] = argv[i++];
			break;
		}
		if (strcmp(argv[i], "--json") == 0)
			c->json = true;
		else
			argv[out++] = argv[i];
	}
	argv[out] = NULL;
	return out;
}

/* `jobring journal ...` is jobring-journal, found next to this program
 * or on the PATH. */
static int run_journal_tool(char **argv)
{
	char self[4096], tool[4200];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	char *slash;

	argv[0] = "jobring-journal";
	if (n > 0) {
		self[n] = '\0';
		slash = strrchr(self, '/');
		if (slash) {
			*slash = '\0';
			snprintf(tool, sizeof(tool), "%s/jobring-journal", self);
			execv(tool, argv);
		}
	}
	execvp("jobring-journal", argv);
	fprintf(stderr, "jobring: cannot run jobring-journal: %s\n", strerror(errno));
	return CLI_USAGE;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "socket", 1, NULL, 's' }, { "json", 0, NULL, 'j' },
		{ "server", 1, NULL, 'S' }, { "access", 1, NULL, 'A' },
		{ "help", 0, NULL, 'h' }, { "version", 0, NULL, 'V' }, { NULL, 0, NULL, 0 },
	};
	struct cli c = { 0 };
	int opt, rc;

	while ((opt = getopt_long(argc, argv, "+s:jh", opts, NULL)) != -1) {
		switch (opt) {
		case 's': c.socket = optarg; break;
		case 'S': c.server = optarg; break;	/* issue 17 */
		case 'A': c.access = optarg; break;
		case 'j': c.json = true; break;
		case 'h': usage(stdout); return CLI_OK;
		case 'V': printf("jobring %s\n", jr_version()); return CLI_OK;
		default:
			fputs("jobring --help lists the options and commands\n", stderr);
			return CLI_USAGE;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return CLI_USAGE;
	}
	if (strcmp(argv[optind], "journal") == 0)
		return run_journal_tool(argv + optind);
	argc = take_json(&c, argc, argv, optind + 1);
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strcmp(argv[optind], commands[i].name) == 0) {
			optind++;	/* commands parse from their own name on */
			argv[optind - 1] = (char *)commands[i].name;
			rc = commands[i].run(&c, argc - optind + 1, argv + optind - 1);
			jr_client_close(c.client);
			return rc;
		}
	}
	fprintf(stderr, "jobring: unknown command: %s (jobring --help lists them)\n", argv[optind]);
	return CLI_USAGE;
}
