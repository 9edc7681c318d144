/*
 * inalloc.c - `jobring run-in-allocation` (issue 17): inside a Slurm
 * allocation (sbatch or salloc), jobringd started here, on the
 * allocation's first node, and a worker on every node of it through one
 * `srun --overlap --ntasks-per-node=1`; then COMMAND run (or, without
 * one, until SIGTERM or SIGINT: the allocation's end), and everything
 * stopped. The daemon's socket and state are in the allocation's
 * directory, $HOME/.jobring/alloc/$SLURM_JOB_ID (or --dir), where the
 * CLI finds it inside the allocation (cli_allocation_dir, common.c).
 * docs/CLUSTER.md, "Inside an allocation".
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "cli/commands.h"

extern char **environ;

static const char inalloc_usage[] =
	"usage: jobring run-in-allocation [options] [-- COMMAND ARGS...]\n"
	"  Inside a Slurm allocation: jobringd here, a jobring-worker on every node\n"
	"  (srun), then COMMAND (jobring in it finds this daemon), then all stopped.\n"
	"  Without COMMAND: until SIGTERM or SIGINT.\n"
	"         --dir DIR           socket, state, logs ($HOME/.jobring/alloc/$SLURM_JOB_ID)\n"
	"         --idle-timeout S    the workers' (86400)\n"
	"         --listen HOST:PORT  jobringd's TCP listener; the workers connect there\n"
	"         --access FILE       the workers' access file (with --listen)\n"
	"         --worker-command C  testing aid: a shell command instead of jobring-worker\n";

struct inalloc {
	char dir[PATH_MAX - 64];
	char sock[PATH_MAX];
	const char *listen, *access, *worker_command;
	unsigned idle_timeout_s;
	pid_t daemon, workers;
};

static int usage_error(void)
{
	fputs(inalloc_usage, stderr);
	return CLI_USAGE;
}

/* mkdir -p, each new one 0700. */
static int make_dirs(const char *path)
{
	char p[PATH_MAX];

	snprintf(p, sizeof(p), "%s", path);
	for (char *s = p + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(p, 0700) < 0 && errno != EEXIST)
			return -errno;
		*s = '/';
	}
	return mkdir(p, 0700) < 0 && errno != EEXIST ? -errno : 0;
}

/* A program next to this one (jobringd, jobring-worker). */
static void sibling(const char *name, char *out, size_t size)
{
	char exe[PATH_MAX - 64];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	char *slash;

	exe[n > 0 ? n : 0] = '\0';
	slash = strrchr(exe, '/');
	if (slash)
		slash[1] = '\0';
	snprintf(out, size, "%s%s", slash ? exe : "", name);
}

/* argv started with stdout and stderr to log (NULL: ours). 0 or -errno. */
static int spawn(char *const argv[], const char *log, pid_t *pid)
{
	posix_spawn_file_actions_t fa;
	int rc;

	posix_spawn_file_actions_init(&fa);
	if (log) {
		posix_spawn_file_actions_addopen(&fa, 1, log, O_WRONLY | O_CREAT | O_APPEND, 0600);
		posix_spawn_file_actions_adddup2(&fa, 1, 2);
	}
	rc = -posix_spawnp(pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	return rc;
}

static int start_daemon(struct inalloc *ia)
{
	char daemon[PATH_MAX], state[PATH_MAX], log[PATH_MAX];
	char *argv[] = { daemon, "--socket", ia->sock, "--state-dir", state, "--no-keeper",
			 ia->listen ? "--listen" : NULL, (char *)ia->listen, NULL };
	struct jr_client *c = NULL;

	sibling("jobringd", daemon, sizeof(daemon));
	snprintf(state, sizeof(state), "%s/state", ia->dir);
	snprintf(log, sizeof(log), "%s/jobringd.log", ia->dir);
	if (spawn(argv, log, &ia->daemon) < 0) {
		fprintf(stderr, "jobring run-in-allocation: cannot start %s\n", daemon);
		return -1;
	}
	for (int i = 0; i < 600; i++) {	/* 60 s */
		if (jr_client_open(&c, ia->sock) == 0) {
			jr_client_close(c);
			return 0;
		}
		if (waitpid(ia->daemon, NULL, WNOHANG) == ia->daemon) {
			ia->daemon = 0;
			break;
		}
		usleep(100000);
	}
	fprintf(stderr, "jobring run-in-allocation: jobringd did not start (see %s)\n", log);
	return -1;
}

/* s appended single-quoted for sh. */
static void quoted(char *buf, size_t size, const char *s)
{
	size_t n = strlen(buf);

	if (n + 1 < size)
		buf[n++] = '\'';
	for (; *s && n + 5 < size; s++) {
		if (*s == '\'') {
			memcpy(buf + n, "'\\''", 4);
			n += 4;
		} else {
			buf[n++] = *s;
		}
	}
	if (n + 1 < size)
		buf[n++] = '\'';
	buf[n] = '\0';
}

static int start_workers(struct inalloc *ia)
{
	char worker[PATH_MAX], line[3 * PATH_MAX] = "exec ", log[PATH_MAX];
	char *argv[] = { "srun", "--overlap", "--ntasks-per-node=1", "sh", "-c", line, NULL };
	const char *env = getenv("JR_ALLOC_WORKER");
	size_t n;

	sibling("jobring-worker", worker, sizeof(worker));
	if (ia->worker_command || (env && *env))
		strncat(line, ia->worker_command ? ia->worker_command : env,
			sizeof(line) - strlen(line) - 1);
	else
		quoted(line, sizeof(line), worker);
	strncat(line, " --server ", sizeof(line) - strlen(line) - 1);
	quoted(line, sizeof(line), ia->listen ? ia->listen : ia->sock);
	n = strlen(line);
	snprintf(line + n, sizeof(line) - n, " --idle-timeout %u", ia->idle_timeout_s);
	if (ia->access) {
		strncat(line, " --access ", sizeof(line) - strlen(line) - 1);
		quoted(line, sizeof(line), ia->access);
	}
	snprintf(log, sizeof(log), "%s/workers.log", ia->dir);
	if (spawn(argv, log, &ia->workers) < 0) {
		fprintf(stderr, "jobring run-in-allocation: cannot run srun\n");
		return -1;
	}
	return 0;
}

/* Workers registered with the daemon (idle or busy), or -1. */
static int workers_up(struct jr_client *c)
{
	char *resp = NULL;
	int n = -1;

	if (jr_client_request(c, "GET", "/workers", NULL, 0, &resp, NULL) == 200) {
		cJSON *o = cJSON_Parse(resp);

		n = cJSON_GetArraySize(cJSON_GetObjectItem(o, "workers"));
		cJSON_Delete(o);
	}
	free(resp);
	return n;
}

/* COMMAND starts once a worker of every node has registered (else the
 * first node's worker, up first, takes what COMMAND submits first), or
 * after 60 s, with a warning. */
static void wait_for_workers(struct inalloc *ia)
{
	const char *env = getenv("SLURM_JOB_NUM_NODES");
	int want = env ? atoi(env) : 1, up = -1;
	struct jr_client *c = NULL;

	if (jr_client_open(&c, ia->sock) < 0)
		return;
	for (int i = 0; i < 600 && (up = workers_up(c)) < want; i++)
		usleep(100000);
	jr_client_close(c);
	if (up < want)
		fprintf(stderr, "jobring run-in-allocation: %d of %d workers registered after 60 s; "
			"running the command anyway (see %s/workers.log)\n", up < 0 ? 0 : up, want, ia->dir);
}

/* SIGTERM, then SIGKILL after 10 s; its exit status. */
static void end(pid_t pid)
{
	if (pid <= 0)
		return;
	kill(pid, SIGTERM);
	for (int i = 0; i < 100; i++) {
		if (waitpid(pid, NULL, WNOHANG) == pid)
			return;
		usleep(100000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

/* COMMAND to its end (its exit status), or, without one, until SIGTERM
 * or SIGINT. */
static int run_command(struct inalloc *ia, char **argv)
{
	sigset_t set;
	pid_t pid;
	int st, sig;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	if (!argv[0]) {
		printf("jobring run-in-allocation: jobringd at %s; workers started\n", ia->sock);
		fflush(stdout);
		sigprocmask(SIG_BLOCK, &set, NULL);
		sigwait(&set, &sig);
		return CLI_OK;
	}
	if (spawn(argv, NULL, &pid) < 0) {
		fprintf(stderr, "jobring run-in-allocation: cannot run %s\n", argv[0]);
		return 127;
	}
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static bool parse(struct inalloc *ia, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "dir", 1, NULL, 'd' }, { "idle-timeout", 1, NULL, 'i' },
		{ "listen", 1, NULL, 'l' }, { "access", 1, NULL, 'a' },
		{ "worker-command", 1, NULL, 'w' }, { "help", 0, NULL, 'h' }, { NULL, 0, NULL, 0 },
	};
	int opt;

	ia->idle_timeout_s = 86400;
	optind = 1;
	while ((opt = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		switch (opt) {
		case 'd': snprintf(ia->dir, sizeof(ia->dir), "%s", optarg); break;
		case 'i': ia->idle_timeout_s = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'l': ia->listen = optarg; break;
		case 'a': ia->access = optarg; break;
		case 'w': ia->worker_command = optarg; break;
		default: return false;
		}
	}
	return ia->idle_timeout_s > 0;
}

int cli_run_in_allocation(struct cli *c, int argc, char **argv)
{
	struct inalloc ia = { 0 };
	int rc;

	(void)c;
	if (argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		fputs(inalloc_usage, stdout);
		return CLI_OK;
	}
	if (!parse(&ia, argc, argv))
		return usage_error();
	if (!getenv("SLURM_JOB_ID")) {
		fprintf(stderr, "jobring run-in-allocation: not inside a Slurm allocation "
			"(no SLURM_JOB_ID): run it from sbatch or salloc\n");
		return CLI_USAGE;
	}
	if (!ia.dir[0] && !cli_allocation_dir(ia.dir, sizeof(ia.dir)))
		return usage_error();
	if ((rc = make_dirs(ia.dir)) < 0) {
		fprintf(stderr, "jobring run-in-allocation: %s: %s\n", ia.dir, strerror(-rc));
		return CLI_REFUSED;
	}
	snprintf(ia.sock, sizeof(ia.sock), "%s/jobring.sock", ia.dir);
	setenv("JOBRING_SOCKET", ia.sock, 1);	/* COMMAND's jobring, whatever --dir */
	rc = CLI_UNREACHABLE;
	if (start_daemon(&ia) == 0 && start_workers(&ia) == 0) {
		wait_for_workers(&ia);
		rc = run_command(&ia, argv + optind);
	}
	end(ia.workers);
	end(ia.daemon);
	return rc;
}
