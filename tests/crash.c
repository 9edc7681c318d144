/*
 * crash.c - the crash harness (make test-crash): jobringd is killed with
 * SIGKILL at a random moment (20-500 ms) while four clients submit
 * (single jobs and batches) and cancel, and jobs run; it is restarted on
 * the same state directory, again and again. Every fifth stop is a
 * SIGTERM instead: a clean stop under load, which answers what it
 * accepted, writes a snapshot and leaves running jobs to the keeper.
 *
 * The jobs: quick ones (true, exit 3 with a retry, sleep 0.01), and a
 * few long ones per iteration (at most LONG_PER_ITERATION): sh scripts
 * that run 0.1-0.8 s, some with a grandchild that leaves the session
 * (setsid) and outlives them (it dies when the job ends) or not, some
 * exiting 3, with 0-2 retries. Every run of a long job appends to
 * runs/<job id> (the id from $JOBRING_JOB_ID):
 *   start PID NS      it began (its shell's pid; CLOCK_REALTIME)
 *   child PID PARENT  it started a grandchild that left its session
 *   end PID NS        it ran to its end (then it exits 0 or 3)
 *   overlap PID NEW   a run (NEW) found PID, of an earlier run of the
 *                     same job, alive when it began
 *
 * Checked after every restart for the ids acknowledged since the last
 * check, the long jobs and cancelled jobs not yet seen final, and a
 * sample of older ones (at the end, once everything has run, for every
 * acknowledged job, which must then be final):
 *  - the id answers 200 (GET /jobs/{id});
 *  - a job whose end the journal holds shows that same final state; no
 *    job's end is in the journal twice;
 *  - finished stays finished: a job once seen final keeps that state;
 *  - an acknowledged cancel holds: a job whose cancel was answered 200
 *    ends cancelled, unless it ends succeeded or failed in an attempt
 *    that had started before the answer came (its process may have been
 *    ending as the cancel came); one whose first cancel was answered 409
 *    (already finished) never ends cancelled (a later 409 may answer a
 *    cancel that an earlier one carried out);
 *  - the runs of a long job never overlap: in its file every end and
 *    child line belongs to the latest start, a start comes after the
 *    previous run's end, no run found an earlier one alive, and no
 *    process of an earlier run is alive now;
 *  - a long job that runs or is final has had at most as many runs as
 *    its attempts;
 *  - no process of a job that is not running is alive (the pids of its
 *    file: a pid counts as the job's only while /proc/PID/environ holds
 *    its JOBRING_JOB_ID and this harness's JR_CRASH, so zombies and
 *    reused pids do not), and no cgroup labelled with the id of a job
 *    seen final (user.jobring.job, under the subtree /health names) has
 *    processes;
 *  - a long job that ended succeeded or failed ran to its end and shows
 *    its script's exit code (also when it ended while no daemon ran);
 *  - the daemon's log says no keeper died under it and no sanitizer spoke.
 * A job that fails a check is reported once and not checked again. A
 * daemon that does not answer within 10 s of its start fails the
 * iteration; three in a row end the run early. Last, the daemon is
 * killed and the temporary directory removed (the keeper then stops what
 * it holds and exits): no keeper, no process of a long job and no busy
 * job cgroup may be left. If something failed, a copy of the directory
 * is kept (DIR.kept: daemon.log, state/ for jobring-journal dump, runs/).
 *
 * The daemon models a 32-core host, so that the long jobs do not hold
 * back the quick ones on a small machine, and its table holds 512 Ki
 * jobs, enough for 1,000 iterations (about 350 jobs each).
 *
 * usage: crash BUILD_DIR [ITERATIONS]   (default 50, or $JR_CRASH_ITERATIONS)
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "jobring.h"
#include "journal/journal.h"
#include "daemon/durable/records.h"
#include "base/units.h"

#define CLIENTS 4
#define LONG_PER_ITERATION 6	/* long jobs submitted per iteration, at most */
#define SAMPLE_OLD 200		/* older jobs checked again after a restart */
#define MAX_RUNS 16		/* runs of a long job kept from its file */
#define TOPOLOGY "package:1 core:32 pu:1"

static struct jrt_daemon jd;	/* jobringd on /tmp/jr-crash-XXXXXX (jd.dir) */
static char journal_dir[300], runs_dir[300], tag[320];	/* tag: JR_CRASH=DIR, in long jobs' env */
static int failures;

#define FAIL(...) do { if (failures++ < 30) { fprintf(stderr, "crash: FAIL: " __VA_ARGS__); \
	fputc('\n', stderr); } } while (0)

static uint64_t xorshift(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static bool is_final(enum jr_job_state s)
{
	return s == JR_JOB_SUCCEEDED || s == JR_JOB_FAILED || s == JR_JOB_CANCELLED;
}

/* --- what was acknowledged ---------------------------------------------------------------- */

enum kind { QUICK, LONG_OK, LONG_EXIT3 };

struct job {
	jr_job_id id;
	uint64_t cancel_ns;	/* the first cancel answered 200 came then; 0: none */
	uint8_t kind;		/* enum kind */
	uint8_t final;		/* the final state it was first seen in; 0: none yet */
	bool refused_409;	/* its first cancel was answered 409: already finished */
	bool cancel_sent;	/* an earlier cancel, answered or not, may have ended it */
	bool open;		/* in book.open: checked after every restart */
	bool failed;		/* a check failed: said once, not checked again */
};

struct book {
	struct job *v;
	size_t n, cap;
	size_t checked_upto;	/* jobs before this were checked after a restart */
	size_t *open;		/* long jobs and cancelled ones not yet seen final */
	size_t n_open, cap_open;
	size_t recent_long[8];	/* the latest long jobs: what cancels aim at half the time */
	size_t n_long;
	size_t n_cancels;	/* cancels answered 200 */
	pthread_mutex_t lock;
};

static struct book book = { .lock = PTHREAD_MUTEX_INITIALIZER };

static void *grow(void *v, size_t *cap, size_t elem)
{
	*cap = *cap ? *cap * 2 : 4096;
	v = realloc(v, *cap * elem);
	if (!v) {
		fprintf(stderr, "crash: out of memory\n");
		exit(2);
	}
	return v;
}

/* Under book.lock. */
static void open_add(size_t i)
{
	if (book.v[i].open || book.v[i].final || book.v[i].failed)
		return;
	if (book.n_open == book.cap_open)
		book.open = grow(book.open, &book.cap_open, sizeof(*book.open));
	book.open[book.n_open++] = i;
	book.v[i].open = true;
}

static void book_add(jr_job_id id, enum kind k)
{
	pthread_mutex_lock(&book.lock);
	if (book.n == book.cap)
		book.v = grow(book.v, &book.cap, sizeof(*book.v));
	book.v[book.n] = (struct job){ .id = id, .kind = (uint8_t)k };
	if (k != QUICK) {
		book.recent_long[book.n_long++ % 8] = book.n;
		open_add(book.n);
	}
	book.n++;
	pthread_mutex_unlock(&book.lock);
}

/* What a cancel's answer promises about the job. */
static void book_cancel_answer(size_t i, int status, uint64_t when, bool first)
{
	pthread_mutex_lock(&book.lock);
	if (status == 200 && !book.v[i].cancel_ns) {
		book.v[i].cancel_ns = when;
		book.n_cancels++;
	}
	if (status == 409 && first)
		book.v[i].refused_409 = true;
	open_add(i);
	pthread_mutex_unlock(&book.lock);
}

/* --- the load ----------------------------------------------------------------------------- */

static atomic_bool stop_clients;
static atomic_int long_budget;	/* long jobs this iteration may still submit */

static const char *quick_json(uint64_t r)
{
	switch (r % 4) {
	case 0: return "{\"command\":[\"true\"]}";
	case 1: return "{\"command\":[\"sh\",\"-c\",\"exit 3\"],\"max_retries\":1}";
	case 2: return "{\"command\":[\"sleep\",\"0.01\"],\"priority\":5}";
	default: return "{\"command\":[\"true\"],\"name\":\"crash\"}";
	}
}

/* The script of a long job (no double quotes: it goes into JSON as it is):
 * first look for processes of earlier runs, then record the run. */
#define LONG_SCRIPT \
	"f=$JR_CRASH/runs/$JOBRING_JOB_ID; " \
	"for p in $(cut -d' ' -f2 $f 2>/dev/null); do [ $p = $$ ] || " \
	"! grep -qs JOBRING_JOB_ID=$JOBRING_JOB_ID /proc/$p/environ || " \
	"echo overlap $p $$ >>$f; done; " \
	"echo start $$ $(date +%%s%%N) >>$f; %s" \
	"sleep 0.%u; echo end $$ $(date +%%s%%N) >>$f; exit %d"

static enum kind long_json(char *buf, size_t size, uint64_t r)
{
	static const char *const grandchild[] = {
		"",
		"setsid sleep 5 & echo child $! $$ >>$f; ",	/* outlives the run */
		"setsid sleep 0.05 & echo child $! $$ >>$f; ",
	};
	char script[1024];
	enum kind k = r % 3 == 0 ? LONG_EXIT3 : LONG_OK;

	snprintf(script, sizeof(script), LONG_SCRIPT, grandchild[(r >> 4) % 3],
		 1 + (unsigned)((r >> 8) % 8), k == LONG_EXIT3 ? 3 : 0);
	snprintf(buf, size, "{\"command\":[\"sh\",\"-c\",\"%s\"],\"env\":{\"JR_CRASH\":\"%s\"},"
		 "\"max_retries\":%u,\"retry_backoff\":\"200ms\"}", script, jd.dir,
		 (unsigned)((r >> 12) % 3));
	return k;
}

/* One job's JSON into buf (at least 2 KiB): a long one now and then,
 * while the iteration's budget lasts. */
static enum kind make_job(char *buf, size_t size, uint64_t r)
{
	if ((r >> 20) % 24 == 0 && atomic_fetch_sub(&long_budget, 1) > 0)
		return long_json(buf, size, r >> 24);
	snprintf(buf, size, "%s", quick_json(r));
	return QUICK;
}

/* The 16-hex-digit strings of an answer, in order: the ids it acknowledges. */
static size_t parse_ids(const char *body, jr_job_id *ids, size_t max)
{
	const char *p = body;
	size_t n = 0;

	while (n < max && (p = strchr(p, '"')) != NULL) {
		const char *q = strchr(p + 1, '"');
		if (!q)
			break;
		if (q - p - 1 == 16 && strspn(p + 1, "0123456789abcdef") == 16)
			ids[n++] = strtoull(p + 1, NULL, 16);
		p = q + 1;
	}
	return n;
}

static void submit_one(struct jr_client *c, uint64_t *rng)
{
	char json[2048], id[17], *err = NULL;
	enum kind k = make_job(json, sizeof(json), xorshift(rng));

	if (jr_client_submit(c, json, id, &err) == 0)
		book_add(strtoull(id, NULL, 16), k);
	free(err);
}

static void submit_batch(struct jr_client *c, uint64_t *rng)
{
	char body[16384], *res = NULL;
	size_t len = 0, n = 1 + xorshift(rng) % 8;
	enum kind kinds[8];
	jr_job_id ids[8];

	for (size_t i = 0; i < n; i++) {
		kinds[i] = make_job(body + len, sizeof(body) - len - 1, xorshift(rng));
		len += strlen(body + len);
		body[len++] = '\n';
	}
	if (jr_client_request(c, "POST", "/jobs/batch", body, len, &res, NULL) == 201) {
		size_t got = parse_ids(res, ids, n);
		for (size_t i = 0; i < got; i++)
			book_add(ids[i], kinds[i]);
	}
	free(res);
}

/* Half the time one of the latest long jobs (likely running), else any. */
static size_t pick_for_cancel(uint64_t r)
{
	size_t recent = book.n_long < 8 ? book.n_long : 8;

	if ((r & 1) && recent)
		return book.recent_long[(r >> 1) % recent];
	return book.n ? (size_t)((r >> 1) % book.n) : SIZE_MAX;
}

static void cancel_one(struct jr_client *c, uint64_t *rng)
{
	char path[64], *res = NULL;
	jr_job_id id = 0;
	bool first = false;
	size_t i;
	int st;

	pthread_mutex_lock(&book.lock);
	i = pick_for_cancel(xorshift(rng));
	if (i != SIZE_MAX) {
		id = book.v[i].id;
		first = !book.v[i].cancel_sent;
		book.v[i].cancel_sent = true;
	}
	pthread_mutex_unlock(&book.lock);
	if (i == SIZE_MAX)
		return;
	snprintf(path, sizeof(path), "/jobs/%016llx/cancel", (unsigned long long)id);
	st = jr_client_request(c, "POST", path, "", 0, &res, NULL);
	if (st == 200 || (st == 409 && res && strstr(res, "already_finished")))
		book_cancel_answer(i, st, now_ns(), first);
	free(res);
}

static void *client_main(void *arg)
{
	uint64_t rng = (uint64_t)(uintptr_t)arg * 0x9E3779B97F4A7C15ull + (uint64_t)time(NULL);
	struct jr_client *c = NULL;

	if (jr_client_open(&c, jd.sock) < 0)
		return NULL;
	while (!stop_clients) {
		uint64_t r = xorshift(&rng) % 10;
		if (r < 6)
			submit_one(c, &rng);
		else if (r < 9)
			submit_batch(c, &rng);
		else
			cancel_one(c, &rng);
		usleep(5000);	/* a pace the jobs can keep up with */
	}
	jr_client_close(c);
	return NULL;
}

/* --- the daemon ----------------------------------------------------------------------- */

static const char *const daemon_opts[] = { "--capacity", "524288", "--grace", "0",
					    "--topology", TOPOLOGY, NULL };

/* The daemon did not answer /health in time (rc): say how it is, then
 * kill it. */
static void daemon_down(int rc, const char *when)
{
	if (rc == -ECHILD)
		FAIL("%s: the daemon did not come back: it exited (status 0x%x; see %s)", when,
		     jd.status, jd.log);
	else if (rc == -ETIMEDOUT)
		FAIL("%s: the daemon did not come back: alive, not answering after 10 s (stuck "
		     "before listening, e.g. on its keeper; see %s)", when, jd.log);
	else
		FAIL("%s: cannot start the daemon: %s", when, strerror(-rc));
	jrt_daemon_stop(&jd, SIGKILL);
}

/* Start the daemon on the state directory; false if it did not answer
 * GET /health within 10 s (said, and killed). */
static bool start_daemon(const char *when)
{
	int rc = jrt_daemon_spawn(&jd, daemon_opts);

	if (rc == 0 && (rc = jrt_daemon_ready(&jd, jrt_now_s(), 10, NULL)) == 0)
		return true;
	daemon_down(rc, when);
	return false;
}

/* What the daemon and its keeper wrote since the last look: a keeper
 * never dies while a daemon holds it, and nothing trips a sanitizer. */
static void check_log(const char *when)
{
	static long seen;
	char line[512], first[512] = "";
	int lost = 0;
	FILE *f = fopen(jd.log, "r");

	if (!f || fseek(f, seen, SEEK_SET) < 0) {
		if (f)
			fclose(f);
		return;
	}
	while (fgets(line, sizeof(line), f))
		if ((strstr(line, "the keeper (pid") && strstr(line, "is gone")) ||
		    strstr(line, "Sanitizer") || strstr(line, "runtime error:")) {
			if (!lost++)
				snprintf(first, sizeof(first), "%s", line);
		}
	seen = ftell(f);
	fclose(f);
	first[strcspn(first, "\n")] = '\0';
	if (lost)
		FAIL("%s: the keeper died under the daemon, or a sanitizer spoke (%d lines like "
		     "\"%s\"; see %s and dmesg)", when, lost, first, jd.log);
}

/* --- what the journal says ------------------------------------------------------------------ */

struct ended {
	jr_job_id id;
	uint8_t state;
};

struct ends {
	struct ended *v;
	size_t n, cap;
};

static int on_record(void *ctx, const struct jr_journal_record *rec)
{
	struct ends *e = ctx;
	struct rec_event ev;

	if (rec->type != REC_END || rec->len < sizeof(ev))
		return 0;
	memcpy(&ev, rec->payload, sizeof(ev));
	rec_event_unpack(&ev);	/* its state without REC_STATE_WORKER_HI */
	if (e->n == e->cap)
		e->v = grow(e->v, &e->cap, sizeof(*e->v));
	e->v[e->n++] = (struct ended){ ev.job_id, ev.state };
	return 0;
}

static int by_id(const void *a, const void *b)
{
	jr_job_id x = ((const struct ended *)a)->id, y = ((const struct ended *)b)->id;

	return x < y ? -1 : x > y;
}

/* The journal's ends, sorted by id; a second end of one job fails. */
static void read_ends(struct ends *e)
{
	struct jr_journal_replay_result res;

	e->n = 0;
	if (jr_journal_replay(journal_dir, on_record, e, &res) < 0)
		FAIL("cannot read the journal");
	if (e->n)
		qsort(e->v, e->n, sizeof(*e->v), by_id);
	for (size_t i = 1; i < e->n; i++)
		if (e->v[i].id == e->v[i - 1].id)
			FAIL("job %016llx: its completion is in the journal twice",
			     (unsigned long long)e->v[i].id);
}

static const struct ended *end_of(const struct ends *e, jr_job_id id)
{
	struct ended key = { id, 0 };

	return e->n ? bsearch(&key, e->v, e->n, sizeof(*e->v), by_id) : NULL;
}

/* --- what the daemon says about a job ------------------------------------------------------- */

struct view {
	enum jr_job_state state;
	unsigned attempts;
	int exit_code;		/* INT_MIN: null */
	uint64_t start_ns;	/* of the latest attempt; 0: null */
	uint64_t end_ns;	/* 0: null */
	char reason[32];
};

/* What follows "key": in a compact JSON object, or NULL. */
static const char *value_of(const char *body, const char *key)
{
	char want[64];
	const char *p;

	snprintf(want, sizeof(want), "\"%s\":", key);
	p = strstr(body, want);
	return p ? p + strlen(want) : NULL;
}

/* A string value into out ("" for null or none). */
static void string_of(const char *body, const char *key, char *out, size_t size)
{
	const char *p = value_of(body, key), *q;

	out[0] = '\0';
	if (!p || *p != '"' || !(q = strchr(p + 1, '"')) || (size_t)(q - p) > size)
		return;
	memcpy(out, p + 1, (size_t)(q - p - 1));
	out[q - p - 1] = '\0';
}

/* A time value in ns (0 for null or none). */
static uint64_t time_of(const char *body, const char *key)
{
	char text[48];
	uint64_t ns;

	string_of(body, key, text, sizeof(text));
	return text[0] && jr_parse_rfc3339_ns(text, &ns) == 0 ? ns : 0;
}

static bool parse_view(const char *body, struct view *v)
{
	char status[32];
	const char *p;

	string_of(body, "status", status, sizeof(status));
	string_of(body, "reason", v->reason, sizeof(v->reason));
	v->start_ns = time_of(body, "start_time");
	v->end_ns = time_of(body, "end_time");
	v->state = JR_JOB_FREE;
	for (int s = JR_JOB_PENDING; s <= JR_JOB_CANCELLED; s++)
		if (strcmp(status, jr_job_state_name((enum jr_job_state)s)) == 0)
			v->state = (enum jr_job_state)s;
	p = value_of(body, "attempts");
	v->attempts = p ? (unsigned)strtoul(p, NULL, 10) : 0;
	p = value_of(body, "exit_code");
	v->exit_code = p && *p != 'n' ? (int)strtol(p, NULL, 10) : INT_MIN;
	return v->state != JR_JOB_FREE && p != NULL;
}

/* GET /jobs/{id}: true with *v, or a failure. */
static bool get_view(struct jr_client *c, jr_job_id id, struct view *v)
{
	char path[64], *res = NULL;
	int st;
	bool ok;

	snprintf(path, sizeof(path), "/jobs/%016llx", (unsigned long long)id);
	st = jr_client_request(c, "GET", path, NULL, 0, &res, NULL);
	ok = st == 200 && parse_view(res, v);
	if (st != 200)
		FAIL("acknowledged job %016llx is gone after the restart (HTTP %d)",
		     (unsigned long long)id, st);
	else if (!ok)
		FAIL("job %016llx: cannot read the daemon's answer: %s", (unsigned long long)id,
		     res);
	free(res);
	return ok;
}

/* --- the runs of a long job (its file) ------------------------------------------------------- */

struct run {
	int pid;
	int child[2];
	unsigned n_child;
	uint64_t start_ns, end_ns;	/* end 0: no end line (yet) */
};

struct runs {
	struct run v[MAX_RUNS];
	unsigned n;		/* start lines */
	char bad[200];		/* the first line that shows an overlap, or is malformed */
};

static void runs_bad(struct runs *r, const char *what, const char *line)
{
	if (!r->bad[0])
		snprintf(r->bad, sizeof(r->bad), "%s: \"%.100s\"", what, line);
}

static void runs_line(struct runs *r, const char *line)
{
	struct run *last = r->n ? &r->v[r->n - 1] : NULL;
	unsigned long long t;
	int a, b;

	if (sscanf(line, "start %d %llu", &a, &t) == 2) {
		if (r->n == MAX_RUNS)
			runs_bad(r, "more runs than the harness keeps", line);
		else
			r->v[r->n++] = (struct run){ .pid = a, .start_ns = t };
	} else if (sscanf(line, "end %d %llu", &a, &t) == 2) {
		if (!last || last->pid != a || last->end_ns)
			runs_bad(r, "a run ended after a later one began", line);
		else
			last->end_ns = t;
	} else if (sscanf(line, "child %d %d", &a, &b) == 2) {
		if (!last || last->pid != b || last->n_child == 2)
			runs_bad(r, "a run went on after a later one began", line);
		else
			last->child[last->n_child++] = a;
	} else if (sscanf(line, "overlap %d %d", &a, &b) == 2) {
		runs_bad(r, "a run began while a process of an earlier one was alive", line);
	} else {
		runs_bad(r, "malformed line", line);
	}
}

/* Its file as it is now (a line still being written is left out). */
static void read_runs(jr_job_id id, struct runs *r)
{
	char path[400], line[256];
	FILE *f;

	memset(r, 0, sizeof(*r));
	snprintf(path, sizeof(path), "%s/%016llx", runs_dir, (unsigned long long)id);
	f = fopen(path, "r");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		size_t len = strlen(line);
		if (len == 0 || line[len - 1] != '\n')
			break;
		line[len - 1] = '\0';
		runs_line(r, line);
	}
	fclose(f);
}

/* --- processes and cgroups ---------------------------------------------------------------- */

static bool env_has(const char *env, size_t len, const char *entry)
{
	for (size_t i = 0; i < len; i += strlen(env + i) + 1)
		if (strcmp(env + i, entry) == 0)
			return true;
	return false;
}

/* pid is alive (not a zombie) and a process of this harness's job id
 * (0: of any of its long jobs). */
static bool alive_in_job(int pid, jr_job_id id)
{
	char path[64], env[32768], want[48];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/environ", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	n = read(fd, env, sizeof(env) - 1);
	close(fd);
	if (n <= 0)
		return false;	/* gone, or a zombie */
	env[n] = '\0';
	snprintf(want, sizeof(want), "JOBRING_JOB_ID=%016llx", (unsigned long long)id);
	return env_has(env, (size_t)n, tag) && (id == 0 || env_has(env, (size_t)n, want));
}

static bool cgroup_label(const char *path, jr_job_id *id)
{
	char buf[32];
	ssize_t n = getxattr(path, "user.jobring.job", buf, sizeof(buf) - 1);

	if (n != 16)
		return false;
	buf[n] = '\0';
	*id = strtoull(buf, NULL, 16);
	return true;
}

static bool cgroup_has_procs(const char *path)
{
	char file[700 + 16], c;
	int fd;
	bool some;

	snprintf(file, sizeof(file), "%s/cgroup.procs", path);
	fd = open(file, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	some = read(fd, &c, 1) == 1;
	close(fd);
	return some;
}

struct busy {
	jr_job_id *v;
	size_t n, cap;
	size_t dirs;		/* job cgroups seen */
};

static int cmp_id(const void *a, const void *b)
{
	jr_job_id x = *(const jr_job_id *)a, y = *(const jr_job_id *)b;

	return x < y ? -1 : x > y;
}

/* The labels of the job cgroups under root that have processes, sorted.
 * The label is read before and after the processes: a cgroup taken by
 * another job meanwhile is left out. */
static void busy_cgroups(const char *root, struct busy *b)
{
	DIR *d = root[0] ? opendir(root) : NULL;
	struct dirent *de;

	b->n = b->dirs = 0;
	while (d && (de = readdir(d)) != NULL) {
		char path[400 + sizeof(de->d_name)];
		jr_job_id before, after;
		if (strncmp(de->d_name, "job-", 4) != 0)
			continue;
		b->dirs++;
		snprintf(path, sizeof(path), "%s/%s", root, de->d_name);
		if (!cgroup_label(path, &before) || !cgroup_has_procs(path) ||
		    !cgroup_label(path, &after) || before != after)
			continue;
		if (b->n == b->cap)
			b->v = grow(b->v, &b->cap, sizeof(*b->v));
		b->v[b->n++] = before;
	}
	if (d)
		closedir(d);
	if (b->n)
		qsort(b->v, b->n, sizeof(*b->v), cmp_id);
}

/* --- checks after a restart --------------------------------------------------------------- */

struct round {
	struct jr_client *c;
	const struct ends *e;
	bool all_final;		/* the last round: every job must be final */
	jr_job_id *finals;	/* jobs seen final in this round */
	size_t n_finals, cap_finals;
	size_t checked, runs;
};

static unsigned long long hex(jr_job_id id)
{
	return (unsigned long long)id;
}

static void check_journal(const struct job *j, const struct view *v, const struct ends *e)
{
	const struct ended *end = end_of(e, j->id);

	if (end && end->state != v->state)
		FAIL("job %016llx: the journal says %s, the daemon %s", hex(j->id),
		     jr_job_state_name(end->state), jr_job_state_name(v->state));
}

static void check_stays_final(const struct job *j, const struct view *v)
{
	if (j->final && v->state != j->final)
		FAIL("job %016llx was seen %s, now it is %s (attempts %u)", hex(j->id),
		     jr_job_state_name(j->final), jr_job_state_name(v->state), v->attempts);
}

/* Of a final job: what the answers to its cancels promised. After a
 * cancel answered 200 no attempt may start; one under way then may end
 * by itself (its process may have been ending as the cancel came: when
 * the keeper reaped it is all end_time says), else the job is cancelled.
 * The daemon's start_time is taken before the process runs, in ms. */
static void check_cancel(const struct job *j, const struct view *v)
{
	if (j->cancel_ns && v->state != JR_JOB_CANCELLED && v->start_ns > j->cancel_ns)
		FAIL("job %016llx: its cancel was acknowledged, yet attempt %u started %.3f s "
		     "later and it ended %s (%s, exit %d)", hex(j->id), v->attempts,
		     ((double)v->start_ns - (double)j->cancel_ns) / 1e9,
		     jr_job_state_name(v->state), v->reason, v->exit_code);
	else if (j->cancel_ns && v->state != JR_JOB_CANCELLED && !v->start_ns)
		FAIL("job %016llx: its cancel was acknowledged, yet it ended %s (%s) without "
		     "running", hex(j->id), jr_job_state_name(v->state), v->reason);
	if (j->refused_409 && v->state == JR_JOB_CANCELLED)
		FAIL("job %016llx: a cancel was refused as already finished, yet it ended "
		     "cancelled", hex(j->id));
}

static void check_dead(const struct job *j, int pid, unsigned run, unsigned n,
		       const struct view *v)
{
	if (!alive_in_job(pid, j->id))
		return;
	if (run + 1 < n)
		FAIL("job %016llx: pid %d of run %u is alive, and run %u began", hex(j->id), pid,
		     run + 1, n);
	else
		FAIL("job %016llx: pid %d of its last run (%u) is alive, and the job is %s",
		     hex(j->id), pid, n, jr_job_state_name(v->state));
}

/* Only the latest run of a running job may have live processes. */
static void check_alive(const struct job *j, const struct runs *r, const struct view *v)
{
	for (unsigned k = 0; k < r->n; k++) {
		const struct run *u = &r->v[k];
		if (k + 1 == r->n && v->state == JR_JOB_RUNNING)
			continue;
		check_dead(j, u->pid, k, r->n, v);
		for (unsigned c = 0; c < u->n_child; c++)
			check_dead(j, u->child[c], k, r->n, v);
	}
}

/* A long job that ended succeeded or failed ran to its end. */
static void check_outcome(const struct job *j, const struct runs *r, const struct view *v)
{
	int code = j->kind == LONG_EXIT3 ? 3 : 0;
	enum jr_job_state want = code ? JR_JOB_FAILED : JR_JOB_SUCCEEDED;

	if (r->n == 0)
		FAIL("job %016llx ended %s (%s) without a run", hex(j->id),
		     jr_job_state_name(v->state), v->reason);
	else if (!r->v[r->n - 1].end_ns)
		FAIL("job %016llx ended %s (%s, exit %d) but its last run did not finish",
		     hex(j->id), jr_job_state_name(v->state), v->reason, v->exit_code);
	else if (v->state != want || v->exit_code != code)
		FAIL("job %016llx ended %s (%s, exit %d); its script exits %d", hex(j->id),
		     jr_job_state_name(v->state), v->reason, v->exit_code, code);
}

static void check_runs(const struct job *j, const struct runs *r, const struct view *v)
{
	if (r->bad[0])
		FAIL("job %016llx: %s", hex(j->id), r->bad);
	for (unsigned k = 1; k < r->n; k++)
		if (r->v[k - 1].end_ns && r->v[k].start_ns <= r->v[k - 1].end_ns)
			FAIL("job %016llx: run %u began before run %u ended", hex(j->id), k + 1, k);
	/* Checked once it runs or is final, when its attempts are settled. */
	if (r->n > v->attempts && (v->state == JR_JOB_RUNNING || is_final(v->state)))
		FAIL("job %016llx ran %u times in %u attempts (%s)", hex(j->id), r->n, v->attempts,
		     jr_job_state_name(v->state));
	check_alive(j, r, v);
	if (v->state == JR_JOB_SUCCEEDED || v->state == JR_JOB_FAILED)
		check_outcome(j, r, v);
}

static void round_final(struct round *rd, jr_job_id id)
{
	if (rd->n_finals == rd->cap_finals)
		rd->finals = grow(rd->finals, &rd->cap_finals, sizeof(*rd->finals));
	rd->finals[rd->n_finals++] = id;
}

/* One job. A long job's file is read before the daemon is asked (its
 * runs then are at most its attempts), and again once it is final
 * (nothing may run any more: all of it is checked). */
static void check_job_now(struct round *rd, struct job *j)
{
	bool is_long = j->kind != QUICK;
	struct runs r;
	struct view v;

	if (is_long)
		read_runs(j->id, &r);
	if (!get_view(rd->c, j->id, &v))
		return;
	rd->checked++;
	check_journal(j, &v, rd->e);
	check_stays_final(j, &v);
	if (rd->all_final && !is_final(v.state))
		FAIL("job %016llx is not final at the end: %s", hex(j->id),
		     jr_job_state_name(v.state));
	if (is_final(v.state)) {
		if (is_long)
			read_runs(j->id, &r);
		check_cancel(j, &v);
		round_final(rd, j->id);
		if (!j->final)
			j->final = (uint8_t)v.state;
		j->open = false;
	}
	if (is_long) {
		check_runs(j, &r, &v);
		rd->runs += r.n;
	}
}

/* A job that failed a check is said once and left alone after. */
static void check_job(struct round *rd, struct job *j)
{
	int before = failures;

	if (j->failed)
		return;
	check_job_now(rd, j);
	j->failed = failures > before;
	j->open = j->open && !j->failed;
}

/* Jobs seen final must have no busy cgroup. */
static void check_cgroups(struct round *rd, const char *root)
{
	static struct busy b;

	busy_cgroups(root, &b);
	for (size_t i = 0; i < rd->n_finals && b.n; i++)
		if (bsearch(&rd->finals[i], b.v, b.n, sizeof(*b.v), cmp_id))
			FAIL("job %016llx is final, but a cgroup labelled with it under %s "
			     "still has processes", hex(rd->finals[i]), root);
}

/* Keep in book.open the jobs not yet seen final. */
static void open_compact(void)
{
	size_t k = 0;

	for (size_t i = 0; i < book.n_open; i++)
		if (book.v[book.open[i]].open)
			book.open[k++] = book.open[i];
	book.n_open = k;
}

/* The jobs acknowledged since the last check, those still open, and a
 * sample of older ones; every one in the last round. */
static struct round check_round(const struct ends *e, bool all_final, uint64_t *rng)
{
	static jr_job_id *finals;
	static size_t cap_finals;
	struct round rd = { .e = e, .all_final = all_final, .finals = finals,
			    .cap_finals = cap_finals };
	size_t from = all_final ? 0 : book.checked_upto;

	if (jr_client_open(&rd.c, jd.sock) < 0) {
		FAIL("cannot connect to check");
		return rd;
	}
	for (size_t i = from; i < book.n; i++)
		check_job(&rd, &book.v[i]);
	for (size_t i = 0; i < book.n_open; i++)
		if (book.open[i] < from)
			check_job(&rd, &book.v[book.open[i]]);
	for (size_t k = 0; !all_final && k < SAMPLE_OLD && from > 0; k++)
		check_job(&rd, &book.v[xorshift(rng) % from]);
	check_cgroups(&rd, jd.cgroup);
	open_compact();
	book.checked_upto = book.n;
	jr_client_close(rd.c);
	finals = rd.finals;
	cap_finals = rd.cap_finals;
	return rd;
}

static void wait_all_final(void)
{
	struct jr_client *c;

	if (jr_client_open(&c, jd.sock) < 0)
		return;
	for (int i = 0; i < 1200; i++) {
		char *res = NULL;
		jr_client_request(c, "GET", "/jobs?status=pending,queued,running&limit=1", NULL, 0,
				  &res, NULL);
		bool none = res && strstr(res, "\"jobs\":[]");
		free(res);
		if (none)
			break;
		usleep(50000);
	}
	jr_client_close(c);
}

/* --- the iterations ------------------------------------------------------------------------ */

struct totals {
	size_t checked, runs;
};

/* One start, checks, load, stop. false if the daemon did not come back. */
static bool run_iteration(int it, uint64_t *rng, struct ends *e, struct totals *tot)
{
	pthread_t t[CLIENTS];
	unsigned ms = 20 + (unsigned)(xorshift(rng) % 481);
	bool clean = it % 5 == 4;
	char when[32];

	snprintf(when, sizeof(when), "iteration %d", it);
	if (!start_daemon(when)) {
		check_log(when);
		return false;
	}
	struct round rd = check_round(e, false, rng);
	tot->checked += rd.checked;
	tot->runs += rd.runs;
	stop_clients = false;
	atomic_store(&long_budget, LONG_PER_ITERATION);
	for (int k = 0; k < CLIENTS; k++)
		pthread_create(&t[k], NULL, client_main, (void *)(uintptr_t)(k + 1 + it * CLIENTS));
	usleep(ms * 1000u);
	/* SIGTERM: answers sent, a snapshot, jobs left to the keeper; SIGKILL:
	 * mid-request, mid-write, mid-job */
	jrt_daemon_stop(&jd, clean ? SIGTERM : SIGKILL);
	stop_clients = true;
	for (int k = 0; k < CLIENTS; k++)
		pthread_join(t[k], NULL);
	read_ends(e);
	check_log(when);
	printf("iteration %3d: %s after %3u ms; %zu acknowledged (%zu long, %zu cancels), "
	       "checked %zu jobs and %zu runs after the restart, %zu ends in the journal\n", it,
	       clean ? "SIGTERM" : "SIGKILL", ms, book.n, book.n_long, book.n_cancels, rd.checked,
	       rd.runs, e->n);
	fflush(stdout);
	return true;
}

/* Last: everything runs to its end, and every job is final. */
static void final_round(uint64_t *rng, struct ends *e, struct totals *tot)
{
	if (!start_daemon("the final check"))
		return;
	wait_all_final();
	read_ends(e);
	struct round rd = check_round(e, true, rng);
	check_log("the final check");
	tot->checked += rd.checked;
	tot->runs += rd.runs;
	printf("final: %zu acknowledged jobs and %zu runs checked: %s\n", rd.checked, rd.runs,
	       failures ? "FAILED" : "each present and final");
}

/* --- the end: nothing may be left ----------------------------------------------------------- */

/* Processes of our long jobs still alive; with kill_them, SIGKILL them. */
static int leftover_jobs(bool kill_them)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	int n = 0;

	while (d && (de = readdir(d)) != NULL) {
		int pid = atoi(de->d_name);
		if (pid > 0 && alive_in_job(pid, 0)) {
			n++;
			if (kill_them)
				kill(pid, SIGKILL);
		}
	}
	if (d)
		closedir(d);
	return n;
}

static bool wait_gone(void)
{
	for (int i = 0; i < 100; i++) {
		if (jrt_daemon_keepers(&jd, 0) == 0 && leftover_jobs(false) == 0)
			return true;
		usleep(50000);
	}
	return false;
}

/* The keeper removes its cgroup subtree as it goes, but not the job
 * cgroups it did not give back (jobs it killed as it went): none may
 * have processes; empty ones are removed here, and said. */
static void remove_cgroups(void)
{
	int rc = jrt_cgroup_remove(jd.cgroup, 0);

	if (rc == -EBUSY)
		FAIL("job cgroups under %s still have processes", jd.cgroup);
	else if (rc >= 0)
		printf("note: the keeper left %s behind, with %d empty job cgroups: removed\n",
		       jd.cgroup, rc);
}

/* Kill the daemon, keep a copy of the state if something failed, remove
 * the directory: the keeper must stop its jobs and go, and leave no
 * process of a long job and no busy job cgroup behind. */
static void clean_up(struct ends *e)
{
	char cmd[400];

	jrt_daemon_stop(&jd, SIGKILL);
	read_ends(e);	/* the journal as the last daemon left it */
	if (failures) {
		snprintf(cmd, sizeof(cmd), "cp -a %s %s.kept", jd.dir, jd.dir);
		if (system(cmd) == 0)
			fprintf(stderr, "crash: state kept in %s.kept (daemon.log, state/)\n",
				jd.dir);
	}
	if (jrt_dir_remove(jd.dir) < 0)
		FAIL("cannot remove %s", jd.dir);
	if (!wait_gone()) {
		FAIL("5 s after its state directory was removed, the keeper (%s) or %d job "
		     "processes are still there", jrt_daemon_keepers(&jd, 0) ? "alive" : "gone",
		     leftover_jobs(false));
		jrt_daemon_keepers(&jd, SIGKILL);
		leftover_jobs(true);
	}
	remove_cgroups();
}

int main(int argc, char **argv)
{
	const char *env = getenv("JR_CRASH_ITERATIONS");
	int iterations = argc > 2 ? atoi(argv[2]) : env ? atoi(env) : 50;
	uint64_t rng = (uint64_t)time(NULL) | 1;
	struct ends e = { 0 };
	struct totals tot = { 0 };
	char daemon_path[PATH_MAX];
	uint64_t t0 = now_ns();

	if (argc < 2) {
		fprintf(stderr, "usage: crash BUILD_DIR [ITERATIONS]\n");
		return 2;
	}
	snprintf(daemon_path, sizeof(daemon_path), "%s/jobringd", argv[1]);
	if (jrt_daemon_init(&jd, daemon_path, NULL, "crash") < 0) {
		fprintf(stderr, "crash: cannot make a directory under /tmp\n");
		return 2;
	}
	snprintf(journal_dir, sizeof(journal_dir), "%s/journal", jd.state);
	snprintf(runs_dir, sizeof(runs_dir), "%s/runs", jd.dir);
	snprintf(tag, sizeof(tag), "JR_CRASH=%s", jd.dir);
	mkdir(runs_dir, 0700);
	for (int it = 0, down = 0; it < iterations; it++) {
		down = run_iteration(it, &rng, &e, &tot) ? 0 : down + 1;
		if (down == 3) {
			fprintf(stderr, "crash: the daemon did not come back 3 times in a row: "
				"giving up after %d iterations\n", it + 1);
			iterations = it + 1;
			break;
		}
	}
	final_round(&rng, &e, &tot);
	clean_up(&e);
	printf("crash: %d iterations in %.1f s, %zu acknowledged jobs (%zu long), "
	       "%zu acknowledged cancels, %zu job checks, %zu runs checked, %d failures\n",
	       iterations, (double)(now_ns() - t0) / 1e9, book.n, book.n_long, book.n_cancels,
	       tot.checked, tot.runs, failures);
	fflush(stdout);
	free(e.v);
	return failures ? 1 : 0;
}
