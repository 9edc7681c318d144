/*
 * jobs.c - the executions this worker holds: a claim's answer read
 * (cJSON), the command started by the daemon's executor (exec/: its own
 * session, stdout and stderr to <job id>.out and .err in the output
 * directory, a cgroup of its own where the worker may make one, bound to
 * the cores it was given, the progress pipe), its time limit kept
 * (SIGTERM, SIGKILL after the grace), and once it is reaped the
 * completion it is to be reported with. A job that cannot start ends at
 * once with a failure to report; none is ever dropped silently.
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/units.h"
#include "exec/outdir.h"
#include "exec/userenv.h"
#include "worker/worker.h"

extern char **environ;

int wk_jobs_init(struct wk_jobs *j, const struct wk_opts *o)
{
	char dir[4096];
	const char *state = getenv("XDG_STATE_HOME"), *home = getenv("HOME");
	int rc;

	memset(j, 0, sizeof(*j));
	j->out_dirfd = -1;
	j->base_env = environ;
	if (o->output_dir)
		snprintf(dir, sizeof(dir), "%s", o->output_dir);
	else if (getuid() == 0)
		snprintf(dir, sizeof(dir), "/var/lib/jobring/output");
	else if (state && *state == '/')
		snprintf(dir, sizeof(dir), "%s/jobring/output", state);
	else
		snprintf(dir, sizeof(dir), "%s/.local/state/jobring/output", home ? home : "/tmp");
	if (!o->echo || o->output_dir) {
		if (!o->output_dir) {	/* the parents of the default, as the daemon makes them */
			char parent[4096];
			snprintf(parent, sizeof(parent), "%s", dir);
			for (char *p = parent + 1; (p = strchr(p, '/')); *p++ = '/') {
				*p = '\0';
				mkdir(parent, 0700);
			}
		}
		rc = jr_outdir_open(dir, /* create */ true, 0755, &j->out_dirfd);
		if (rc < 0) {
			fprintf(stderr, "jobring-worker: output directory %s: %s\n", dir,
				jr_outdir_strerror(rc));
			return rc;
		}
	}
	j->use_cgroups = !o->no_cgroups;
	if (j->use_cgroups) {
		char name[64];
		snprintf(name, sizeof(name), "worker-%d", (int)getpid());
		jr_cgroups_open(&j->cgroups, name, NULL, 0);
		if (j->cgroups.mode == JR_CGROUP_NONE) {
			wk_log("no cgroups (%s): jobs are tracked by process group",
			       j->cgroups.note);
			j->use_cgroups = false;
		}
	}
	return 0;
}

void wk_jobs_free(struct wk_jobs *j)
{
	if (j->use_cgroups)
		jr_cgroups_close(&j->cgroups, /* remove */ true);
	if (j->out_dirfd >= 0)
		close(j->out_dirfd);
	free(j->v);
	memset(j, 0, sizeof(*j));
	j->out_dirfd = -1;
}

uint32_t wk_jobs_running(const struct wk_jobs *j)
{
	uint32_t n = 0;

	for (uint32_t i = 0; i < j->count; i++)
		n += j->v[i]->state == WK_RUNNING;
	return n;
}

static struct wk_job *job_add(struct wk_jobs *j)
{
	struct wk_job *job;

	if (j->count == j->cap) {
		uint32_t cap = j->cap ? j->cap * 2 : 16;
		struct wk_job **v = realloc(j->v, cap * sizeof(*v));
		if (!v)
			return NULL;
		j->v = v;
		j->cap = cap;
	}
	job = calloc(1, sizeof(*job));
	if (!job)
		return NULL;
	job->child = JR_CHILD_NONE;
	job->cgroup = JR_CGROUP_JOB_NONE;
	job->progress = job->progress_sent = -1;
	j->v[j->count++] = job;
	return job;
}

void wk_jobs_remove(struct wk_ctx *w, uint32_t i)
{
	struct wk_jobs *j = &w->jobs;
	struct wk_job *job = j->v[i];

	wk_hostres_give_back(&w->res, job->cores, job->ncores, job->gpus, job->ngpus);
	free(job->completion);
	free(job);
	j->v[i] = j->v[--j->count];
}

/* --- ending -------------------------------------------------------------------------------- */

/* The job ended: status succeeded or failed, with its exit code, and a
 * result (JSON text, or NULL for the exit status's). */
static void job_end(struct wk_job *job, int exit_code, int sig, const char *result)
{
	char own[64];

	if (!result) {
		if (sig)
			snprintf(own, sizeof(own), "{\"signal\":%d}", sig);
		else
			snprintf(own, sizeof(own), "{\"exit_code\":%d}", exit_code);
		result = own;
	}
	if (sig && !exit_code)
		exit_code = 128 + sig;	/* the shell's convention: a failure */
	/* As long as the result is (an --echo payload may be long). */
	if (asprintf(&job->completion, "\"status\":\"%s\",\"exit_code\":%d,\"result\":%s",
		     exit_code == 0 ? "succeeded" : "failed", exit_code, result) < 0)
		job->completion = NULL;
	job->state = WK_ENDED;	/* without memory for it, reported failed (main.c) */
}

static void job_fail_to_start(struct wk_job *job, const char *why, int err)
{
	char result[512];

	snprintf(result, sizeof(result), "{\"spawn_error\":\"%s%s%s\"}", why, err ? ": " : "",
		 err ? strerror(err) : "");
	job_end(job, 127, 0, result);
	wk_log("execution %s: could not start: %s%s%s", job->exec_id, why, err ? ": " : "",
	       err ? strerror(err) : "");
}

/* --- starting ------------------------------------------------------------------------------- */

static const char *str(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static double num(const cJSON *o, const char *key, double def)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsNumber(v) ? v->valuedouble : def;
}

/* A size given as bytes or as "8G". */
static uint64_t size_field(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	uint64_t bytes = 0;

	if (cJSON_IsNumber(v) && v->valuedouble > 0)
		return (uint64_t)v->valuedouble;
	if (cJSON_IsString(v) && jr_parse_size_bytes(v->valuestring, &bytes) == 0)
		return bytes;
	return 0;
}

static void format_ids(char *out, size_t size, const uint32_t *ids, uint32_t n,
		       char names[][16])
{
	size_t used = 0;

	out[0] = '\0';
	for (uint32_t i = 0; i < n && used + 20 < size; i++) {
		if (names)
			used += (size_t)snprintf(out + used, size - used, i ? ",%s" : "%s",
						 names[ids[i]]);
		else
			used += (size_t)snprintf(out + used, size - used, i ? ",%u" : "%u", ids[i]);
	}
}

struct launch {
	char *argv[1024];
	char *envp[4096];
	char own[10][512];
	char user_buf[2048];
	uint64_t cpu_mask[JR_EXEC_CPU_WORDS];
	char out_name[JR_OUTDIR_NAME_MAX], err_name[JR_OUTDIR_NAME_MAX];
	struct jr_exec_spec spec;
};

/* Does one of the first n entries set entry's variable? */
static bool env_has(char **v, size_t n, const char *entry)
{
	size_t len = strcspn(entry, "=");

	for (size_t i = 0; i < n; i++)
		if (strncmp(v[i], entry, len) == 0 && v[i][len] == '=')
			return true;
	return false;
}

static void env_add(struct launch *l, size_t *n, char *entry)
{
	if (*n + 1 < JR_ARRAY_SIZE(l->envp) && !env_has(l->envp, *n, entry))
		l->envp[(*n)++] = entry;
}

/* jobring's variables (they win), the job's env, then this worker's
 * environment, or for a job run as another user that user's basics. */
static void build_env(struct wk_ctx *w, struct wk_job *job, cJSON *claim,
		      const cJSON *jobv, struct launch *l, uid_t uid)
{
	cJSON *env = cJSON_GetObjectItemCaseSensitive(claim, "env"), *e;
	char list[400];
	size_t n = 0, user_n;
	char *user_env[JR_USER_ENV_MAX];

	snprintf(l->own[0], sizeof(l->own[0]), "JOBRING_JOB_ID=%s", job->job_id);
	snprintf(l->own[1], sizeof(l->own[1]), "JOBRING_EXECUTION_ID=%s", job->exec_id);
	format_ids(list, sizeof(list), job->cores, job->ncores, NULL);
	snprintf(l->own[2], sizeof(l->own[2]), "JOBRING_CPUS=%s", list);
	snprintf(l->own[3], sizeof(l->own[3]), "OMP_NUM_THREADS=%u", job->cpus ? job->cpus : 1);
	snprintf(l->own[4], sizeof(l->own[4]), "JOBRING_PROGRESS_FD=%d", JR_PROGRESS_FD);
	format_ids(list, sizeof(list), job->gpus, job->ngpus, w->res.gpu_names);
	snprintf(l->own[5], sizeof(l->own[5]), "CUDA_VISIBLE_DEVICES=%s", list);
	snprintf(l->own[6], sizeof(l->own[6]), "ROCR_VISIBLE_DEVICES=%s", list);
	snprintf(l->own[7], sizeof(l->own[7]), "JOBRING_WORKER_ID=%s", w->shared.worker_id);
	for (int i = 0; i < 8; i++)
		env_add(l, &n, l->own[i]);
	if (str(jobv, "array_job_id")) {
		snprintf(l->own[8], sizeof(l->own[8]), "JOBRING_ARRAY_JOB_ID=%s",
			 str(jobv, "array_job_id"));
		snprintf(l->own[9], sizeof(l->own[9]), "JOBRING_ARRAY_TASK_ID=%.0f",
			 num(jobv, "array_task_id", 0));
		env_add(l, &n, l->own[8]);
		env_add(l, &n, l->own[9]);
	}
	/* The job's own: "NAME=VALUE" made in place of the cJSON strings. */
	cJSON_ArrayForEach(e, env) {
		if (!cJSON_IsString(e) || !e->string)
			continue;
		size_t len = strlen(e->string) + strlen(e->valuestring) + 2;
		char *kv = malloc(len);
		if (!kv)
			continue;
		snprintf(kv, len, "%s=%s", e->string, e->valuestring);
		free(e->valuestring);
		e->valuestring = kv;	/* freed with the claim */
		env_add(l, &n, kv);
	}
	if (uid != getuid()) {
		user_n = jr_exec_user_env(uid, l->user_buf, sizeof(l->user_buf), user_env);
		for (size_t i = 0; i < user_n; i++)
			env_add(l, &n, user_env[i]);
	} else {
		for (size_t i = 0; w->jobs.base_env[i]; i++)
			env_add(l, &n, w->jobs.base_env[i]);
	}
	l->envp[n] = NULL;
}

static bool build_argv(const cJSON *command, struct launch *l)
{
	const cJSON *a;
	size_t n = 0;

	cJSON_ArrayForEach(a, command) {
		if (!cJSON_IsString(a) || n + 1 >= JR_ARRAY_SIZE(l->argv))
			return false;
		l->argv[n++] = a->valuestring;
	}
	l->argv[n] = NULL;
	return n > 0;
}

/* Who the job runs as: a root worker runs a user's job as that user
 * (with the groups of its password entry); any other worker runs only
 * its own uid's jobs. The daemon hands it no others, except a root
 * daemon to a worker that registered over TLS (its key makes it root's
 * worker): such a job, or one whose claim names no uid, is refused
 * rather than run as the wrong user. */
static bool job_identity(const cJSON *jobv, struct launch *l)
{
	double uid = num(jobv, "uid", -1);
	struct passwd pw, *found = NULL;
	char buf[4096];

	if (uid < 0)
		return false;
	if (getuid() != 0)
		return uid == (double)getuid();
	if (uid == 0)
		return true;
	if (getpwuid_r((uid_t)uid, &pw, buf, sizeof(buf), &found) != 0 || !found)
		return false;
	l->spec.set_ids = true;
	l->spec.uid = found->pw_uid;
	l->spec.gid = found->pw_gid;
	return true;
}

/* The files of its output: an earlier attempt's, named by the job id,
 * are given that attempt's execution id first (as the daemon does). */
static void output_files(struct wk_ctx *w, struct wk_job *job, struct launch *l)
{
	uint64_t job_id = strtoull(job->job_id, NULL, 16);
	uint64_t exec_id = strtoull(job->exec_id, NULL, 16);
	uint64_t attempt = exec_id >> 56;

	if (attempt > 1)
		jr_outdir_keep_attempt(w->jobs.out_dirfd, job_id,
				       (exec_id & ((1ull << 56) - 1)) | ((attempt - 1) << 56));
	jr_outdir_name(job_id, JR_OUT_STDOUT, l->out_name);
	jr_outdir_name(job_id, JR_OUT_STDERR, l->err_name);
	l->spec.output_dir_fd = w->jobs.out_dirfd;
	l->spec.stdout_path = l->out_name;
	l->spec.stderr_path = l->err_name;
}

static void take_resources(struct wk_ctx *w, struct wk_job *job, const cJSON *req)
{
	double cpus = num(req, "cpus", 1), gpus = num(req, "gpus", 0);

	job->cpus = cpus < 0 ? 0 : cpus > 64 ? 64 : (uint32_t)cpus;
	job->ncores = wk_hostres_take_cores(&w->res, job->cpus, job->cores);
	job->ngpus = wk_hostres_take_gpus(&w->res, gpus < 0 ? 0 : gpus > 64 ? 64 : (uint32_t)gpus,
					  job->gpus);
}

static void spawn(struct wk_ctx *w, struct wk_job *job, cJSON *claim, const cJSON *jobv)
{
	struct launch *l = calloc(1, sizeof(*l));
	const cJSON *req = cJSON_GetObjectItemCaseSensitive(claim, "requirements");
	int step = 0, rc;

	if (!l)
		return job_fail_to_start(job, "no memory", ENOMEM);
	take_resources(w, job, req);
	if (!build_argv(cJSON_GetObjectItemCaseSensitive(claim, "command"), l)) {
		job_fail_to_start(job, "command is not an array of strings", 0);
		goto out;
	}
	if (!job_identity(jobv, l)) {
		job_fail_to_start(job, "the job's uid is not one this worker runs as "
				  "(or has no password entry)", 0);
		goto out;
	}
	build_env(w, job, claim, jobv, l, l->spec.set_ids ? l->spec.uid : getuid());
	l->spec.argv = l->argv;
	l->spec.envp = l->envp;
	l->spec.cwd = str(claim, "cwd");
	l->spec.failed_step = &step;
	l->spec.cgroup_fd = -1;
	output_files(w, job, l);
	if (wk_hostres_cpu_mask(&w->res, job->cores, job->ncores, l->cpu_mask))
		l->spec.cpu_mask = l->cpu_mask;
	if (w->jobs.use_cgroups &&
	    jr_cgroup_job_take(&w->jobs.cgroups, job->job_id, size_field(req, "memory"),
			       &job->cgroup) == 0)
		l->spec.cgroup_fd = job->cgroup.fd;
	rc = jr_exec_spawn(&l->spec, &job->child);
	if (rc < 0) {
		if (job->cgroup.fd >= 0)
			jr_cgroup_job_release(&w->jobs.cgroups, &job->cgroup, 1000);
		job_fail_to_start(job, rc == -ENOENT ? "no such program" : "spawn failed", -rc);
	}
out:
	free(l);
}

/* Its time limit: "30s", "2h" (or seconds as a number), from its claim. */
static uint64_t time_limit_ns(const cJSON *claim)
{
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(claim, "timeout");
	uint64_t ms = 0;

	if (cJSON_IsString(t) && jr_parse_duration_ms(t->valuestring, &ms) < 0)
		ms = 0;
	else if (cJSON_IsNumber(t) && t->valuedouble > 0)
		ms = (uint64_t)(t->valuedouble * 1000);
	return ms * 1000000ull;
}

static bool read_ids(struct wk_job *job, const cJSON *claim)
{
	const char *exec = str(claim, "execution_id"), *jid = str(claim, "job_id");
	const char *lease = str(claim, "lease");

	if (!exec || !jid || !lease || strlen(exec) >= WK_ID_MAX || strlen(jid) >= WK_ID_MAX ||
	    strlen(lease) >= WK_LEASE_MAX)
		return false;
	strcpy(job->exec_id, exec);
	strcpy(job->job_id, jid);
	strcpy(job->lease, lease);
	return true;
}

/* --echo (or no command): the payload is the result. */
static void echo(struct wk_ctx *w, struct wk_job *job, const cJSON *claim)
{
	const cJSON *payload = cJSON_GetObjectItemCaseSensitive(claim, "payload");
	char *text;

	if (!w->opts.echo) {
		job_fail_to_start(job, "the job has no command (jobring-worker runs commands; "
				  "--echo completes payload jobs)", 0);
		return;
	}
	text = payload ? cJSON_PrintUnformatted(payload) : NULL;
	job_end(job, 0, 0, text ? text : "null");
	free(text);
}

void wk_jobs_start(struct wk_ctx *w, const char *claim_body)
{
	cJSON *claim = cJSON_Parse(claim_body);

	wk_jobs_start_json(w, claim);
	cJSON_Delete(claim);
}

void wk_jobs_start_json(struct wk_ctx *w, cJSON *claim)
{
	const cJSON *jobv = cJSON_GetObjectItemCaseSensitive(claim, "job");
	struct wk_job *job;

	if (!cJSON_IsObject(claim) || !(job = job_add(&w->jobs))) {
		/* Unreadable (or no memory): not ours to run; the server
		 * ends it at the heartbeat timeout and retries it. */
		wk_log("a claim's answer could not be read: dropped");
		return;
	}
	if (!read_ids(job, claim)) {
		wk_log("a claim's answer has no execution id or lease: dropped");
		wk_jobs_remove(w, w->jobs.count - 1);
		return;
	}
	job->state = WK_RUNNING;
	job->max_output = size_field(claim, "max_output");
	if (!cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(claim, "command"))) {
		echo(w, job, claim);
	} else {
		uint64_t limit = time_limit_ns(claim);
		job->deadline_ns = limit ? wk_now_ns() + limit : 0;
		spawn(w, job, claim, jobv);
	}
}

/* --- running ------------------------------------------------------------------------------- */

static void job_signal(struct wk_jobs *j, struct wk_job *job, int sig)
{
	if (job->cgroup.fd >= 0 && sig == SIGKILL)
		jr_cgroup_job_kill(&job->cgroup);
	else if (job->cgroup.fd >= 0)
		jr_cgroup_job_signal(&job->cgroup, sig);
	(void)j;
	jr_exec_signal_group(&job->child, sig);
}

static void job_terminate(struct wk_ctx *w, struct wk_job *job)
{
	if (job->state != WK_RUNNING || job->kill_at_ns)
		return;
	job_signal(&w->jobs, job, SIGTERM);
	job->kill_at_ns = wk_now_ns() + w->opts.kill_grace_ms * 1000000ull;
	if (!job->kill_at_ns)
		job->kill_at_ns = 1;
}

void wk_jobs_reap(struct wk_ctx *w)
{
	for (uint32_t i = 0; i < w->jobs.count; i++) {
		struct wk_job *job = w->jobs.v[i];
		struct jr_exit_status st;

		if (job->state != WK_RUNNING || job->child.pidfd < 0)
			continue;
		if (jr_exec_reap_group(&job->child, &st, /* block */ false) != 1)
			continue;
		jr_exec_read_progress(&job->child);
		jr_exec_close(&job->child);
		if (job->cgroup.fd >= 0)
			jr_cgroup_job_release(&w->jobs.cgroups, &job->cgroup, 2000);
		if (job->max_output && w->jobs.out_dirfd >= 0)
			jr_outdir_cap_job(w->jobs.out_dirfd, strtoull(job->job_id, NULL, 16),
					  job->max_output);
		job_end(job, st.signal ? 0 : st.exit_code, st.signal, NULL);
		wk_hostres_give_back(&w->res, job->cores, job->ncores, job->gpus, job->ngpus);
		job->ncores = job->ngpus = 0;
	}
}

void wk_jobs_kill_all(struct wk_ctx *w)
{
	for (uint32_t i = 0; i < w->jobs.count; i++)
		job_terminate(w, w->jobs.v[i]);
}

uint64_t wk_jobs_timers(struct wk_ctx *w, uint64_t now)
{
	uint64_t next = 0;

	for (uint32_t i = 0; i < w->jobs.count; i++) {
		struct wk_job *job = w->jobs.v[i];
		uint64_t due;

		if (job->state != WK_RUNNING)
			continue;
		if (job->deadline_ns && now >= job->deadline_ns && !job->kill_at_ns) {
			wk_log("execution %s: time limit: SIGTERM", job->exec_id);
			job_terminate(w, job);
		}
		if (job->kill_at_ns && now >= job->kill_at_ns) {
			job_signal(&w->jobs, job, SIGKILL);
			job->kill_at_ns = UINT64_MAX;	/* once */
		}
		due = job->kill_at_ns ? job->kill_at_ns : job->deadline_ns;
		if (due && due != UINT64_MAX && (!next || due < next))
			next = due;
	}
	return next;
}

void wk_jobs_stop(struct wk_ctx *w, const char *exec_id)
{
	for (uint32_t i = 0; i < w->jobs.count; i++) {
		struct wk_job *job = w->jobs.v[i];
		if (strcmp(job->exec_id, exec_id) != 0)
			continue;
		wk_log("execution %s: the server ended it: stopped", exec_id);
		job->stopped = true;
		job_terminate(w, job);
	}
}

void wk_jobs_progress_json(struct wk_ctx *w, char *buf, size_t size)
{
	size_t used = 0;

	buf[0] = '\0';
	for (uint32_t i = 0; i < w->jobs.count && used + 64 < size; i++) {
		struct wk_job *job = w->jobs.v[i];
		if (job->state != WK_RUNNING || job->child.progress_fd < 0)
			continue;
		job->progress = jr_exec_read_progress(&job->child);
		if (job->progress < 0 || job->progress == job->progress_sent)
			continue;
		used += (size_t)snprintf(buf + used, size - used, "%s\"%s\":%d", used ? "," : "{",
					 job->exec_id, job->progress);
		job->progress_sent = job->progress;
	}
	if (used)
		snprintf(buf + used, size - used, "}");
}
