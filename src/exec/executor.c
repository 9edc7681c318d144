/*
 * executor.c - clone3 into the job's cgroup, pidfd reaping, process
 * identity. See executor.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/sched.h>
#include <pthread.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "exec/cgroup.h"
#include "base/atomics.h"
#include "base/common.h"
#include "base/lock.h"
#include "exec/executor.h"
#include "exec/outdir.h"

#ifndef CLONE_CLEAR_SIGHAND
#define CLONE_CLEAR_SIGHAND 0x100000000ULL
#endif
#ifndef CLONE_INTO_CGROUP
#define CLONE_INTO_CGROUP 0x200000000ULL
#endif
#ifndef MPOL_BIND
#define MPOL_BIND 2
#endif

#define GROUPS_MAX 256
#define CHILD_STACK_BYTES (64 * JR_KIB)

/* --- clone3 with a stack of our own --------------------------------------------------------- */

/* The child of a CLONE_VM clone3 runs on the stack it was given, so it
 * cannot return from the system call into C: this stub calls fn(arg) on
 * the new stack and exits with its value. Returns the child's pid (or
 * -errno) in the parent. */
long jr_clone3_vm(struct clone_args *args, size_t size, int (*fn)(void *), void *arg);

#if defined(__x86_64__)
__asm__(".text\n"
	".globl jr_clone3_vm\n"
	".hidden jr_clone3_vm\n"
	".type jr_clone3_vm,@function\n"
	"jr_clone3_vm:\n"
	"	mov %rdx, %r8\n"	/* fn: syscall keeps r8, r9 */
	"	mov %rcx, %r9\n"	/* arg */
	"	mov $435, %eax\n"	/* SYS_clone3 */
	"	syscall\n"
	"	test %rax, %rax\n"
	"	jnz 1f\n"
	"	xor %ebp, %ebp\n"	/* the child: outermost frame */
	"	mov %r9, %rdi\n"
	"	call *%r8\n"
	"	mov %eax, %edi\n"
	"	mov $60, %eax\n"	/* SYS_exit */
	"	syscall\n"
	"	hlt\n"
	"1:	ret\n"
	".size jr_clone3_vm, .-jr_clone3_vm\n");
#define HAVE_CLONE3_VM 1
#elif defined(__aarch64__)
__asm__(".text\n"
	".globl jr_clone3_vm\n"
	".hidden jr_clone3_vm\n"
	".type jr_clone3_vm,%function\n"
	"jr_clone3_vm:\n"
	"	mov x9, x2\n"
	"	mov x10, x3\n"
	"	mov x8, #435\n"
	"	svc #0\n"
	"	cbnz x0, 1f\n"
	"	mov x29, xzr\n"
	"	mov x0, x10\n"
	"	blr x9\n"
	"	mov x8, #93\n"
	"	svc #0\n"
	"1:	ret\n"
	".size jr_clone3_vm, .-jr_clone3_vm\n");
#define HAVE_CLONE3_VM 1
#else
#define HAVE_CLONE3_VM 0
#endif

/* Each spawning thread keeps one child stack (the child runs on it only
 * while that thread is suspended). */
static pthread_key_t stack_key;
static pthread_once_t stack_once = PTHREAD_ONCE_INIT;

static void stack_key_make(void)
{
	pthread_key_create(&stack_key, free);
}

static void *child_stack(void)
{
	void *stack;

	pthread_once(&stack_once, stack_key_make);
	stack = pthread_getspecific(stack_key);
	if (!stack) {
		stack = aligned_alloc(64, CHILD_STACK_BYTES);
		if (stack && pthread_setspecific(stack_key, stack) != 0) {
			free(stack);
			stack = NULL;
		}
	}
	return stack;
}

/* The descriptor limit jobs get (jr_exec_raise_fd_limit); rlim_cur 0: unchanged. */
static struct rlimit job_nofile;

/* --- the child --------------------------------------------------------------------------- */

/* The child shares the parent's memory until it execs (CLONE_VM), and
 * with it whatever a sanitizer's runtime keeps there: its locks, its
 * table of signal handlers, its shadow memory. So the child's code is not
 * instrumented and calls the kernel directly, never libc's wrappers
 * (which sanitizers intercept; ThreadSanitizer deadlocked on a lock a
 * child took). Not even memcpy or strlen: the loops below are kept from
 * turning into calls to them. */
#define CHILD_CODE                                                                 \
	__attribute__((no_sanitize("address", "thread", "undefined"), noinline, \
		       optimize("no-tree-loop-distribute-patterns")))

struct child_args {
	const struct jr_exec_spec *s;
	int fds[4];			/* become 0, 1, 2 and the progress fd */
	int procs_fd;			/* cgroup.procs to enter (no CLONE_INTO_CGROUP); -1 */
	bool reset_handlers;		/* no CLONE_CLEAR_SIGHAND */
	gid_t groups[GROUPS_MAX];
	int ngroups;
	volatile int err;		/* set by a child that could not exec */
	volatile int step;		/* and the step that failed (enum jr_spawn_step) */
};

/* The kernel's struct sigaction (not libc's: its mask is 8 bytes). */
struct kernel_sigaction {
	void (*handler)(int);
	unsigned long flags;
	void (*restorer)(void);
	uint64_t mask;
};

/* Signals a parent commonly ignores: an ignored signal stays ignored
 * across exec, so these are reset to their default. */
static const int reset_signals[] = { SIGPIPE, SIGHUP, SIGINT, SIGQUIT, SIGTERM,
				     SIGCHLD, SIGUSR1, SIGUSR2, SIGALRM, SIGTSTP,
				     SIGTTIN, SIGTTOU, SIGXFSZ, SIGXCPU };

CHILD_CODE static long child_errno(long rc)
{
	return rc < 0 ? -errno : rc;
}

CHILD_CODE static void child_default(int sig)
{
	struct kernel_sigaction dfl = { .handler = SIG_DFL };

	syscall(SYS_rt_sigaction, sig, &dfl, NULL, sizeof(dfl.mask));
}

CHILD_CODE static void child_signals(const struct child_args *a)
{
	uint64_t none = 0;

	/* Without CLONE_CLEAR_SIGHAND a handler of the parent could run here,
	 * on memory the parent uses: every caught signal goes to default. */
	for (int sig = 1; a->reset_handlers && sig < 65; sig++) {
		struct kernel_sigaction old;
		if (syscall(SYS_rt_sigaction, sig, NULL, &old, sizeof(old.mask)) == 0 &&
		    old.handler != SIG_IGN && old.handler != SIG_DFL)
			child_default(sig);
	}
	for (size_t i = 0; i < sizeof(reset_signals) / sizeof(reset_signals[0]); i++)
		child_default(reset_signals[i]);
	syscall(SYS_rt_sigprocmask, SIG_SETMASK, &none, NULL, sizeof(none));
}

/* fds[i] onto i, whatever numbers they have now; everything else closed.
 * On the child's own stack: the args are the parent's memory (CLONE_VM),
 * and the parent closes a->fds afterwards. */
CHILD_CODE static int child_fds(const struct child_args *a)
{
	int fds[4];

	for (int i = 0; i < 4; i++) {
		fds[i] = a->fds[i];
		if (fds[i] < 4 && (fds[i] = (int)syscall(SYS_fcntl, fds[i], F_DUPFD_CLOEXEC, 4)) < 0)
			return -1;
	}
	for (int i = 0; i < 4; i++)	/* each fds[i] >= 4 > i: dup3 never sees them equal */
		if (syscall(SYS_dup3, fds[i], i, 0) < 0)
			return -1;
	syscall(SYS_close_range, 4u, ~0u, 0u);	/* ENOSYS before 5.9: exec closes CLOEXEC ones */
	return 0;
}

CHILD_CODE static int child_bind(const struct jr_exec_spec *s)
{
	if (s->cpu_mask &&
	    syscall(SYS_sched_setaffinity, 0, JR_EXEC_CPU_WORDS * sizeof(uint64_t), s->cpu_mask) < 0)
		return -1;
	if (s->node_mask &&
	    syscall(SYS_set_mempolicy, MPOL_BIND, s->node_mask, JR_EXEC_NODE_WORDS * 64 + 1) < 0)
		return -1;
	return 0;
}

/* Raw system calls: glibc's set*id would try to tell the parent's
 * other threads. */
CHILD_CODE static int child_ids(const struct child_args *a)
{
	const struct jr_exec_spec *s = a->s;

	if (!s->set_ids)
		return 0;
	if (syscall(SYS_setgroups, a->ngroups, a->groups) < 0 ||
	    syscall(SYS_setresgid, s->gid, s->gid, s->gid) < 0 ||
	    syscall(SYS_setresuid, s->uid, s->uid, s->uid) < 0)
		return -1;
	return 0;
}

CHILD_CODE static const char *env_path(char *const *envp)
{
	for (size_t i = 0; envp && envp[i]; i++) {
		const char *e = envp[i];
		if (e[0] == 'P' && e[1] == 'A' && e[2] == 'T' && e[3] == 'H' && e[4] == '=')
			return e + 5;
	}
	return "/usr/local/bin:/usr/bin:/bin";
}

CHILD_CODE static bool child_has_slash(const char *s)
{
	for (; *s; s++)
		if (*s == '/')
			return true;
	return false;
}

/* dir (its first len bytes; "" is ".") / file into path; false if too long. */
CHILD_CODE static bool child_join(char *path, size_t size, const char *dir, size_t len,
				  const char *file)
{
	size_t at = 0;

	if (len == 0)
		path[at++] = '.';
	for (size_t i = 0; i < len && at < size; i++)
		path[at++] = dir[i];
	if (at < size)
		path[at++] = '/';
	for (size_t i = 0; file[i] && at < size; i++)
		path[at++] = file[i];
	if (at >= size)
		return false;
	path[at] = '\0';
	return true;
}

/* execvpe with the job's own PATH (glibc's searches the parent's):
 * returns -errno. */
CHILD_CODE static long child_exec(const struct jr_exec_spec *s)
{
	const char *file = s->argv[0], *dir = env_path(s->envp);
	char path[4096];
	long rc, saw_eacces = 0;

	if (child_has_slash(file))
		return child_errno(syscall(SYS_execve, file, s->argv, s->envp));
	while (*dir) {
		size_t len = 0;
		while (dir[len] && dir[len] != ':')
			len++;
		if (child_join(path, sizeof(path), dir, len, file)) {
			rc = child_errno(syscall(SYS_execve, path, s->argv, s->envp));
			saw_eacces |= rc == -EACCES;
			/* As glibc's execvpe: only "not here" tries the next
			 * directory; E2BIG, ENOEXEC, ENOMEM... are the answer. */
			if (rc != -EACCES && rc != -ENOENT && rc != -ENOTDIR && rc != -ESTALE &&
			    rc != -ENODEV && rc != -ETIMEDOUT)
				return rc;
		}
		dir += len + (dir[len] == ':');
	}
	return saw_eacces ? -EACCES : -ENOENT;
}

/* Runs in the child, on its own stack, sharing the parent's memory: it
 * writes nothing there but a->err. */
CHILD_CODE static int child_main(void *arg)
{
	struct child_args *a = arg;
	const struct jr_exec_spec *s = a->s;
	int step = JR_SPAWN_STEP_SETUP;
	long rc = 0;

	if (a->procs_fd >= 0)
		rc = child_errno(syscall(SYS_write, a->procs_fd, "0", 1));
	if (rc >= 0)
		rc = child_errno(syscall(SYS_setsid));
	if (rc >= 0) {
		child_signals(a);
		if (child_fds(a) < 0 || child_bind(s) < 0)
			rc = -errno;
	}
	if (rc >= 0 && s->use_umask)
		syscall(SYS_umask, s->umask & 0777);
	if (rc >= 0 && job_nofile.rlim_cur)
		syscall(SYS_prlimit64, 0, RLIMIT_NOFILE, &job_nofile, NULL);
	if (rc >= 0 && (step = JR_SPAWN_STEP_IDS, child_ids(a) < 0))
		rc = -errno;
	if (rc >= 0 && s->cwd && (step = JR_SPAWN_STEP_CHDIR, syscall(SYS_chdir, s->cwd) < 0))
		rc = -errno;
	if (rc >= 0) {
		step = JR_SPAWN_STEP_EXEC;
		rc = child_exec(s);
	}
	a->step = step;
	a->err = rc < 0 ? (int)-rc : EIO;
	syscall(SYS_exit_group, 127);
	return 127;
}

/* --- the parent ---------------------------------------------------------------------------- */

/* The user's supplementary groups, cached for a minute: a group lookup
 * reads /etc/group (or asks NSS) and costs more than the spawn. */
struct groups_entry {
	uid_t uid;
	gid_t gid;
	time_t at;
	int n;
	gid_t groups[GROUPS_MAX];
};

static struct groups_entry groups_cache[8];
static struct jr_mutex groups_lock = JR_MUTEX_INITIALIZER(JR_LOCK_EXEC_GROUPS);

static int user_groups(uid_t uid, gid_t gid, gid_t *out)
{
	struct passwd pw, *found = NULL;
	time_t now = time(NULL);
	char buf[4096];
	int n = GROUPS_MAX;

	jr_mutex_lock(&groups_lock);
	for (unsigned i = 0; i < 8; i++) {
		struct groups_entry *g = &groups_cache[i];
		if (g->n && g->uid == uid && g->gid == gid && now - g->at < 60) {
			memcpy(out, g->groups, (size_t)g->n * sizeof(gid_t));
			n = g->n;
			jr_mutex_unlock(&groups_lock);
			return n;
		}
	}
	jr_mutex_unlock(&groups_lock);
	if (getpwuid_r(uid, &pw, buf, sizeof(buf), &found) != 0 || !found ||
	    getgrouplist(found->pw_name, gid, out, &n) < 0) {
		out[0] = gid;
		n = 1;
	}
	jr_mutex_lock(&groups_lock);
	struct groups_entry *g = &groups_cache[(unsigned)uid % 8];
	*g = (struct groups_entry){ .uid = uid, .gid = gid, .at = now, .n = n };
	memcpy(g->groups, out, (size_t)n * sizeof(gid_t));
	jr_mutex_unlock(&groups_lock);
	return n;
}

/* Relative to the output directory (outdir.h): created afresh whatever
 * was planted at its name, O_APPEND so that the coordinator's cut at the
 * job's output cap leaves no hole. */
static int open_output(const char *path, const struct jr_exec_spec *s)
{
	int fd = jr_outdir_create(s->output_dir_fd > 0 ? s->output_dir_fd : AT_FDCWD, path);

	if (fd >= 0 && s->set_ids && fchown(fd, s->uid, s->gid) < 0) {
		int err = errno;
		close(fd);
		errno = err;
		return -1;
	}
	return fd;
}

static int open_fds(const struct jr_exec_spec *s, struct child_args *a, int progress_write)
{
	a->fds[0] = open("/dev/null", O_RDONLY | O_CLOEXEC);
	a->fds[1] = open_output(s->stdout_path, s);
	a->fds[2] = a->fds[1] < 0 ? -1 : open_output(s->stderr_path, s);
	a->fds[3] = progress_write;
	return a->fds[0] < 0 || a->fds[1] < 0 || a->fds[2] < 0 ? -errno : 0;
}

static void close_fds(struct child_args *a)
{
	for (int i = 0; i < 3; i++)
		if (a->fds[i] >= 0)
			close(a->fds[i]);
}

/* clone3 straight into the cgroup: 0 and pid, pidfd, or -errno (-ENOSYS:
 * use the fallback). */
static int clone_child(struct child_args *a, void *stack, pid_t *pid, int *pidfd)
{
#if HAVE_CLONE3_VM
	struct clone_args ca = {
		.flags = CLONE_VM | CLONE_VFORK | CLONE_PIDFD | CLONE_CLEAR_SIGHAND,
		.pidfd = (uint64_t)(uintptr_t)pidfd,
		.exit_signal = SIGCHLD,
		.stack = (uint64_t)(uintptr_t)stack,
		.stack_size = CHILD_STACK_BYTES,
	};
	long rc;

	if (a->s->cgroup_fd > 0) {
		ca.flags |= CLONE_INTO_CGROUP;
		ca.cgroup = (uint64_t)a->s->cgroup_fd;
	}
	rc = jr_clone3_vm(&ca, sizeof(ca), child_main, a);
	if (rc < 0)
		return (int)rc;
	*pid = (pid_t)rc;
	return 0;
#else
	(void)a, (void)stack, (void)pid, (void)pidfd;
	return -ENOSYS;
#endif
}

/* glibc's clone(): the child writes its own pid into cgroup.procs and
 * resets the parent's handlers itself. */
static int clone_fallback(struct child_args *a, void *stack, pid_t *pid, int *pidfd)
{
	int rc;

	a->reset_handlers = true;
	if (a->s->cgroup_fd > 0) {
		a->procs_fd = openat(a->s->cgroup_fd, "cgroup.procs", O_WRONLY | O_CLOEXEC);
		if (a->procs_fd < 0)
			return -errno;
	}
	rc = clone(child_main, (char *)stack + CHILD_STACK_BYTES,
		   CLONE_VM | CLONE_VFORK | CLONE_PIDFD | SIGCHLD, a, pidfd);
	if (a->procs_fd >= 0)
		close(a->procs_fd);
	if (rc < 0)
		return -errno;
	*pid = rc;
	return 0;
}

static int clone_any(struct child_args *a, void *stack, pid_t *pid, int *pidfd)
{
	static int no_clone3;	/* a race only tries clone3 once more */
	sigset_t all, old;
	int rc = -ENOSYS;

	/* No signal may reach the child before it has reset the handlers. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	if (!jr_load_relaxed(&no_clone3))
		rc = clone_child(a, stack, pid, pidfd);
	if (rc == -ENOSYS || rc == -EPERM) {	/* seccomp filters answer either */
		jr_store_relaxed(&no_clone3, 1);
		rc = clone_fallback(a, stack, pid, pidfd);
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return rc;
}

static void reap_failed(pid_t pid, int pidfd)
{
	siginfo_t info;

	while (waitid(P_PIDFD, (id_t)pidfd, &info, WEXITED) < 0 && errno == EINTR)
		;
	(void)pid;
}

unsigned long jr_exec_raise_fd_limit(void)
{
	struct rlimit r, want;
	unsigned long nr_open = 1ul << 20;
	FILE *f;

	if (getrlimit(RLIMIT_NOFILE, &r) < 0)
		return 0;
	if ((f = fopen("/proc/sys/fs/nr_open", "re")) != NULL) {
		if (fscanf(f, "%lu", &nr_open) != 1)
			nr_open = 1ul << 20;
		fclose(f);
	}
	want.rlim_max = r.rlim_max > (1ul << 20) ? r.rlim_max : (1ul << 20);
	if (want.rlim_max > nr_open)
		want.rlim_max = nr_open;
	want.rlim_cur = want.rlim_max;
	if (want.rlim_max < r.rlim_max || setrlimit(RLIMIT_NOFILE, &want) < 0) {
		want = r;	/* not privileged: as far as the hard limit */
		want.rlim_cur = r.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &want) < 0)
			return r.rlim_cur;
	}
	if (!job_nofile.rlim_cur)
		job_nofile.rlim_cur = r.rlim_cur;
	job_nofile.rlim_max = want.rlim_max;
	if (job_nofile.rlim_cur > job_nofile.rlim_max)
		job_nofile.rlim_cur = job_nofile.rlim_max;
	return want.rlim_cur;
}

void jr_exec_set_job_fd_limit(unsigned long soft)
{
	job_nofile.rlim_cur = soft;
}

int jr_exec_spawn(const struct jr_exec_spec *s, struct jr_child *out)
{
	struct child_args *a;
	int pipefd[2], pidfd = -1, rc;
	void *stack = child_stack();
	pid_t pid = 0;

	if (!s->argv || !s->argv[0])
		return -EINVAL;
	a = calloc(1, sizeof(*a));
	if (!stack || !a) {
		free(a);
		return -ENOMEM;
	}
	a->s = s;
	a->procs_fd = -1;
	a->fds[0] = a->fds[1] = a->fds[2] = -1;
	if (pipe2(pipefd, O_CLOEXEC | O_NONBLOCK) < 0) {
		free(a);
		return -errno;
	}
	rc = open_fds(s, a, pipefd[1]);
	if (rc == 0 && s->set_ids)
		a->ngroups = user_groups(s->uid, s->gid, a->groups);
	if (rc == 0)
		rc = clone_any(a, stack, &pid, &pidfd);
	if (rc == -EBUSY && s->cgroup_fd > 0) {
		/* The last job there gave cgroups of its own controllers. */
		struct jr_cgroup_job j = { .fd = s->cgroup_fd };
		jr_cgroup_job_clear(&j);
		rc = clone_any(a, stack, &pid, &pidfd);
	}
	if (s->failed_step)
		*s->failed_step = JR_SPAWN_STEP_PREPARE;
	if (rc == 0 && a->err) {	/* it ran, but could not exec */
		rc = -a->err;
		if (s->failed_step)
			*s->failed_step = a->step;
		reap_failed(pid, pidfd);
		close(pidfd);
	}
	close_fds(a);
	free(a);
	close(pipefd[1]);
	if (rc < 0) {
		close(pipefd[0]);
		return rc;
	}
	out->pid = pid;
	out->pidfd = pidfd;
	out->progress_fd = pipefd[0];
	out->progress = JR_PROGRESS_PARSE_NEW;
	return 0;
}

static uint64_t timeval_us(const struct timeval *tv)
{
	return (uint64_t)tv->tv_sec * JR_US_PER_SEC + (uint64_t)tv->tv_usec;
}

static int reap(struct jr_child *c, struct jr_exit_status *res, int flags)
{
	siginfo_t info;
	struct rusage ru;
	long rc;

	memset(&info, 0, sizeof(info));
	/* The kernel's waitid takes a rusage pointer as a fifth argument. */
	do
		rc = syscall(SYS_waitid, P_PIDFD, c->pidfd, &info, WEXITED | flags, &ru);
	while (rc < 0 && errno == EINTR);
	if (rc < 0)
		return -errno;
	if (info.si_pid == 0)
		return 0;
	memset(res, 0, sizeof(*res));
	if (info.si_code == CLD_EXITED) {
		res->exit_code = info.si_status;
	} else {
		res->exit_code = -1;
		res->signal = info.si_status;
	}
	res->max_rss_kib = (uint64_t)ru.ru_maxrss;
	res->user_us = timeval_us(&ru.ru_utime);
	res->system_us = timeval_us(&ru.ru_stime);
	return 1;
}

int jr_exec_try_reap(struct jr_child *c, struct jr_exit_status *res)
{
	return reap(c, res, WNOHANG);
}

int jr_exec_wait(struct jr_child *c, struct jr_exit_status *res)
{
	int rc = reap(c, res, 0);

	return rc == 1 ? 0 : rc < 0 ? rc : -ECHILD;
}

int jr_exec_reap_group(struct jr_child *c, struct jr_exit_status *res, bool block)
{
	siginfo_t info;
	long rc;

	memset(&info, 0, sizeof(info));
	do
		rc = syscall(SYS_waitid, P_PIDFD, c->pidfd, &info,
			     WEXITED | WNOWAIT | (block ? 0 : WNOHANG), NULL);
	while (rc < 0 && errno == EINTR);
	if (rc < 0)
		return -errno;
	if (info.si_pid == 0)
		return 0;
	if (c->pid > 0)
		kill(-c->pid, SIGKILL);
	return reap(c, res, WNOHANG);
}

int jr_exec_signal_group(const struct jr_child *c, int sig)
{
	if (c->pid <= 0)	/* kill(-0) would signal our own group */
		return -ESRCH;
	return kill(-c->pid, sig) < 0 ? -errno : 0;
}

void jr_exec_close(struct jr_child *c)
{
	if (c->pidfd >= 0)
		close(c->pidfd);
	if (c->progress_fd >= 0)
		close(c->progress_fd);
	c->pidfd = c->progress_fd = -1;
}

int jr_exec_read_progress(struct jr_child *c)
{
	bool eof;

	jr_progress_read(c->progress_fd, &c->progress, JR_PROGRESS_READ_MAX, &eof);
	return c->progress.last;
}

/* --- process identity ---------------------------------------------------------------------- */

/* Fields 3 (state) and 22 (starttime) of /proc/<pid>/stat; the name in
 * field 2 may hold spaces and parentheses, so counting starts after its
 * last ')'. */
static int read_stat(pid_t pid, char *state, uint64_t *ticks)
{
	char path[64], buf[1024], *p;
	int fd;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? -ESRCH : -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -ESRCH;
	buf[n] = '\0';
	p = strrchr(buf, ')');
	if (!p || p[1] != ' ')
		return -EPROTO;
	*state = p[2];
	p += 2;
	for (int field = 3; field < 22 && p; field++) {
		p = strchr(p, ' ');
		if (p)
			p++;
	}
	if (!p)
		return -EPROTO;
	*ticks = strtoull(p, NULL, 10);
	return 0;
}

int jr_exec_start_ticks(pid_t pid, uint64_t *ticks)
{
	char state;

	return read_stat(pid, &state, ticks);
}

static uint8_t boot_id[16];
static pthread_once_t boot_once = PTHREAD_ONCE_INIT;

static void boot_id_read(void)
{
	FILE *f = fopen("/proc/sys/kernel/random/boot_id", "re");
	char text[64];
	unsigned k = 0;

	if (!f)
		return;
	if (fgets(text, sizeof(text), f))
		for (const char *p = text; *p && k < 32; p++) {
			int v = *p >= '0' && *p <= '9' ? *p - '0' :
				*p >= 'a' && *p <= 'f' ? *p - 'a' + 10 : -1;
			if (v < 0)
				continue;
			boot_id[k / 2] = (uint8_t)(boot_id[k / 2] << 4 | v);
			k++;
		}
	fclose(f);
}

const uint8_t *jr_exec_boot_id(void)
{
	pthread_once(&boot_once, boot_id_read);
	return boot_id;
}

bool jr_exec_process_alive(pid_t pid, uint64_t start_ticks, const uint8_t id[16])
{
	uint64_t ticks;
	char state;

	if (pid <= 0 || memcmp(id, jr_exec_boot_id(), 16) != 0)
		return false;	/* another boot: every process of that one is gone */
	if (read_stat(pid, &state, &ticks) < 0)
		return false;
	return ticks == start_ticks && state != 'Z' && state != 'X';
}
