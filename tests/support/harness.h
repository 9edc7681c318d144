/*
 * harness.h - what the cmocka suites, the crash harness, the probe and
 * the benchmarks share, built once per build into libjrtest.a (the files
 * of tests/support/): the clock and the environment, /proc, temporary
 * directories removed with everything in them, the cgroup subtree a
 * killed jobringd leaves behind, an engine opened with options, and
 * jobringd itself: started on a scratch directory and waited for until
 * GET /health answers, stopped, its keeper found, what it leaves scrubbed.
 * The shell suites have the same in tests/lib.sh.
 *
 * Functions return 0 (or a count, or an HTTP status) or a negative errno;
 * they never exit and print only where they say so. None is thread-safe
 * unless it says so. The prefix is jrt_ ("jobring test"): none of this is
 * in libjobring.
 */
#ifndef JR_HARNESS_H
#define JR_HARNESS_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "jobring.h"

/* --- the clock and the environment (env.c) ----------------------------------------------- */

/* CLOCK_MONOTONIC in seconds. Thread-safe. */
double jrt_now_s(void);

/* Sleep ms milliseconds (less if a signal comes). Thread-safe. */
void jrt_sleep_ms(long ms);

/* The number in the environment variable name; dflt when it is unset or
 * empty. Thread-safe. */
uint64_t jrt_env_u64(const char *name, uint64_t dflt);

/* --- /proc (proc.c) ---------------------------------------------------------------------------- */

/* The first line of a small file, without its newline ("" if unreadable). */
void jrt_read_line(const char *path, char *out, size_t size);

/* The whole of a small /proc/PID file (cmdline, environ: NUL-separated):
 * the bytes read, 0 if it is gone. */
size_t jrt_proc_file(int pid, const char *name, char *buf, size_t size);

/* Live processes (zombies do not count) other than this one whose comm is
 * comm (NULL: any) and whose /proc/PID/file holds needle: each is sent sig
 * (0: none); how many there are. */
int jrt_procs_matching(const char *comm, const char *file, const char *needle, int sig);

/* Reap every child that has ended (a subreaper collects orphans too). */
void jrt_reap(void);

/* --- temporary directories (dir.c) ------------------------------------------------------------- */

/* Make PARENT/jr-NAME-XXXXXX (parent NULL: /tmp) and put its path in out. */
int jrt_dir_make(char *out, size_t size, const char *parent, const char *name);

/* Remove path and everything under it, as rm -rf does (0 if it is not
 * there). Mount points under it are not crossed. */
int jrt_dir_remove(const char *path);

/* Remove the directories under path, deepest first, then path itself,
 * leaving files alone (cgroupfs has files that cannot be unlinked): how
 * many directories under path went, or -errno if path stayed. */
int jrt_dir_prune(const char *path);

/* --- cgroups (cgroup.c) ----------------------------------------------------------------------- */

/* 1 if a process is left in the cgroup v2 subtree at path, 0 if none. */
int jrt_cgroup_populated(const char *path);

/* Remove the subtree at path once no process is left in it, waiting up
 * to wait_s for that: how many cgroups under path went; -ENOENT if path
 * is "" or not there; -EBUSY if processes are still in it (the empty
 * cgroups beside them are removed all the same). */
int jrt_cgroup_remove(const char *path, double wait_s);

/* Kill every process in the subtree (cgroup.kill). */
int jrt_cgroup_kill(const char *path);

/* --- an engine (engine.c) -------------------------------------------------------------------- */

/* jr_engine_opts_init()'s options with these set (capacity 0: the default;
 * state_dir NULL: none), for a caller that sets more before opening. */
void jrt_engine_opts(struct jr_engine_opts *o, uint32_t workers, uint32_t capacity,
		     uint32_t flags, const char *state_dir);

/* jr_engine_open() with jrt_engine_opts()'s options. */
int jrt_engine_open(struct jr_engine **e, uint32_t workers, uint32_t capacity, uint32_t flags,
		    const char *state_dir);

/* --- jobringd (daemon.c, health.c) ------------------------------------------------------------ */

/* One jobringd on a scratch directory of its own. */
struct jrt_daemon {
	char path[PATH_MAX];	/* the jobringd binary */
	char dir[80];		/* the scratch directory */
	char sock[96];		/* DIR/s.sock */
	char state[96];		/* DIR/state */
	char log[96];		/* DIR/daemon.log: its stderr, appended */
	char cgroup[256];	/* its job cgroups' subtree from /health ("": none) */
	pid_t pid;		/* 0: not running */
	int status;		/* the wait status of the last one that ended */
};

/* BUILD/jobringd for a program at BUILD/tests/x or BUILD/bench/x (argv0). */
int jrt_daemon_path(char *out, size_t size, const char *argv0);

/* d for the jobringd at path, on a new scratch directory PARENT/jr-NAME-
 * XXXXXX (parent NULL: /tmp). SIGPIPE is ignored from here on: a daemon
 * killed under a client must not kill the client. -ENAMETOOLONG when the
 * socket's path would not fit a sockaddr_un. */
int jrt_daemon_init(struct jrt_daemon *d, const char *path, const char *parent,
		    const char *name);

/* Start jobringd --socket DIR/s.sock --state-dir DIR/state and exactly the
 * options in opts (NULL-terminated, at most 32; NULL: none), its stderr
 * appended to DIR/daemon.log, its stdout to /dev/null (a caller reading
 * ours through a pipe would wait for the daemon too). Returns at once. */
int jrt_daemon_spawn(struct jrt_daemon *d, const char *const *opts);

/* Until GET /health answers 200 (asked every 0.5 ms): 0, with the seconds
 * since t0 in *took (NULL: not wanted) and d->cgroup from the answer;
 * -ECHILD if it exited first (d->pid is then 0, d->status says how: it
 * refused its options or its state directory, see its log), -ETIMEDOUT
 * once timeout_s has passed since t0 (it is left running). */
int jrt_daemon_ready(struct jrt_daemon *d, double t0, double timeout_s, double *took);

/* jrt_daemon_spawn(), then jrt_daemon_ready(): one that has not answered
 * within timeout_s is killed (-ETIMEDOUT). */
int jrt_daemon_start(struct jrt_daemon *d, const char *const *opts, double timeout_s);

/* Send sig, wait for it to end and remove its socket's path (after
 * SIGKILL the socket can accept for a moment more: the kernel tears the
 * daemon's io_uring down after it is gone). Its wait status; -ECHILD if
 * none was running. */
int jrt_daemon_stop(struct jrt_daemon *d, int sig);

/* A stream socket connected to it (close it), or -errno. */
int jrt_daemon_connect(const struct jrt_daemon *d);

/* GET /health on a fresh connection: the HTTP status or -errno, the body
 * in *resp (free it; NULL when there is none). */
int jrt_daemon_health(const struct jrt_daemon *d, char **resp);

/* Poll /health every interval_us until its key is want (exact) or at
 * least want: the seconds since t0; -1 after timeout_s (said on stderr). */
double jrt_daemon_health_until(const struct jrt_daemon *d, const char *key, long long want,
			       bool exact, double t0, double timeout_s, unsigned interval_us);

/* The first number member named key in json ("running", "queued", ...);
 * -1 if there is none. */
long long jrt_json_num(const char *json, const char *key);

/* The job cgroups' subtree in a /health answer: its "cgroups" "path"
 * ("" when cgroups are off). */
void jrt_health_cgroup(const char *health, char *out, size_t size);

/* The keeper's pid (STATE/keeper.pid), 0 if there is none. */
pid_t jrt_daemon_keeper_pid(const struct jrt_daemon *d);

/* Live keepers (jobring-keeper) of d's state directory: each is sent sig
 * (0: none); how many there are. */
int jrt_daemon_keepers(const struct jrt_daemon *d, int sig);

/* After a run: the daemon killed, its state directory deleted, then until
 * its keeper has gone (it notices within a second and kills the jobs it
 * holds) and no process whose environment holds tag (NULL: none looked
 * for) is left, its cgroups with them; what is left after 10 s is killed,
 * said on stderr. The number of processes that had to be killed. */
int jrt_daemon_scrub(struct jrt_daemon *d, const char *tag);

/* The end: the daemon killed if it runs, its scratch directory removed
 * with everything in it, then its cgroup subtree once the processes in
 * it are gone (the keeper ends them within a second of its state
 * directory going; what is left after 10 s is killed, said on stderr). */
int jrt_daemon_remove(struct jrt_daemon *d);

#endif
