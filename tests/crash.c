/*
 * crash.c - the crash harness (make test-crash): jobringd is killed with
 * SIGKILL at a random moment while several clients submit (single jobs
 * and batches), cancel, and jobs run; it is restarted on the same state
 * directory, again and again. Checked after every restart:
 *  - every id the daemon acknowledged is there (GET /jobs/{id} is 200);
 *  - a job whose end the journal holds shows that same final state;
 *  - no job's end is in the journal twice (a completion is recorded once);
 * and at the end, once everything has run: every acknowledged job is
 * final.
 *
 * Every fifth stop is a SIGTERM instead: a clean stop under load, which
 * answers what it accepted and writes a snapshot.
 *
 * usage: crash BUILD_DIR [ITERATIONS]   (default 50, or $JR_CRASH_ITERATIONS)
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "jobring.h"
#include "journal.h"
#include "records.h"

#define CLIENTS 4

static char dir[] = "/tmp/jr-crash-XXXXXX";
static char sock[300], state[200], journal_dir[300], daemon_path[300], log_path[300];

struct acked {
	jr_job_id *ids;
	size_t n, cap;
	size_t checked_upto;	/* ids before this were checked after a restart */
	pthread_mutex_t lock;
};

static struct acked acked = { .lock = PTHREAD_MUTEX_INITIALIZER };
static volatile bool stop_clients;
static int failures;

#define FAIL(...) do { if (failures++ < 20) { fprintf(stderr, "crash: FAIL: " __VA_ARGS__); \
	fputc('\n', stderr); } } while (0)

static void acked_add(jr_job_id id)
{
	pthread_mutex_lock(&acked.lock);
	if (acked.n == acked.cap) {
		acked.cap = acked.cap ? acked.cap * 2 : 4096;
		acked.ids = realloc(acked.ids, acked.cap * sizeof(*acked.ids));
	}
	acked.ids[acked.n++] = id;
	pthread_mutex_unlock(&acked.lock);
}

static uint64_t xorshift(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* Every 16-hex-digit string of an answer: the ids it acknowledges. */
static void collect_ids(const char *body)
{
	const char *p = body;

	while ((p = strchr(p, '"')) != NULL) {
		const char *q = strchr(p + 1, '"');
		if (!q)
			break;
		if (q - p - 1 == 16) {
			char hex[17];
			memcpy(hex, p + 1, 16);
			hex[16] = '\0';
			char *end;
			jr_job_id id = strtoull(hex, &end, 16);
			if (*end == '\0')
				acked_add(id);
		}
		p = q + 1;
	}
}

static const char *job_json(uint64_t r)
{
	switch (r % 4) {
	case 0: return "{\"command\":[\"true\"]}";
	case 1: return "{\"command\":[\"sh\",\"-c\",\"exit 3\"],\"max_retries\":1}";
	case 2: return "{\"command\":[\"sleep\",\"0.01\"],\"priority\":5}";
	default: return "{\"command\":[\"true\"],\"name\":\"crash\"}";
	}
}

static void submit_batch(struct jr_client *c, uint64_t *rng)
{
	char body[16384];
	size_t len = 0, n = 1 + xorshift(rng) % 8;
	char *res = NULL;

	for (size_t i = 0; i < n; i++)
		len += (size_t)snprintf(body + len, sizeof(body) - len, "%s\n", job_json(xorshift(rng)));
	if (jr_client_request(c, "POST", "/jobs/batch", body, len, &res, NULL) == 201)
		collect_ids(res);
	free(res);
}

static void cancel_one(struct jr_client *c, uint64_t *rng)
{
	char path[64], *res = NULL;
	jr_job_id id = 0;

	pthread_mutex_lock(&acked.lock);
	if (acked.n)
		id = acked.ids[xorshift(rng) % acked.n];
	pthread_mutex_unlock(&acked.lock);
	if (!id)
		return;
	snprintf(path, sizeof(path), "/jobs/%016llx/cancel", (unsigned long long)id);
	jr_client_request(c, "POST", path, "", 0, &res, NULL);
	free(res);
}

static void *client_main(void *arg)
{
	uint64_t rng = (uint64_t)(uintptr_t)arg * 0x9E3779B97F4A7C15ull + (uint64_t)time(NULL);
	struct jr_client *c = NULL;

	if (jr_client_open(&c, sock) < 0)
		return NULL;
	while (!stop_clients) {
		uint64_t r = xorshift(&rng) % 10;
		char id[17], *err = NULL;
		if (r < 6) {
			if (jr_client_submit(c, job_json(xorshift(&rng)), id, &err) == 0)
				acked_add(strtoull(id, NULL, 16));
			free(err);
		} else if (r < 9) {
			submit_batch(c, &rng);
		} else {
			cancel_one(c, &rng);
		}
		usleep(5000);	/* a pace the jobs can keep up with */
	}
	jr_client_close(c);
	return NULL;
}

/* --- the daemon ----------------------------------------------------------------------- */

static pid_t start_daemon(void)
{
	pid_t pid = fork();

	if (pid == 0) {
		int fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND, 0600);
		dup2(fd, 2);
		execl(daemon_path, "jobringd", "--socket", sock, "--state-dir", state,
		      "--capacity", "262144", "--grace", "0", (char *)NULL);
		_exit(127);
	}
	return pid;
}

static bool wait_ready(void)
{
	for (int i = 0; i < 400; i++) {
		struct jr_client *c;
		char *res = NULL;
		if (jr_client_open(&c, sock) == 0) {
			int st = jr_client_request(c, "GET", "/health", NULL, 0, &res, NULL);
			free(res);
			jr_client_close(c);
			if (st == 200)
				return true;
		}
		usleep(25000);
	}
	return false;
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
	if (e->n == e->cap) {
		e->cap = e->cap ? e->cap * 2 : 4096;
		e->v = realloc(e->v, e->cap * sizeof(*e->v));
	}
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
	qsort(e->v, e->n, sizeof(*e->v), by_id);
	for (size_t i = 1; i < e->n; i++)
		if (e->v[i].id == e->v[i - 1].id)
			FAIL("job %016llx: its completion is in the journal twice",
			     (unsigned long long)e->v[i].id);
}

static const struct ended *end_of(const struct ends *e, jr_job_id id)
{
	struct ended key = { id, 0 };

	return bsearch(&key, e->v, e->n, sizeof(*e->v), by_id);
}

/* --- checks after a restart --------------------------------------------------------------- */

static bool status_is(const char *body, const char *status)
{
	char want[64];

	snprintf(want, sizeof(want), "\"status\":\"%s\"", status);
	return strstr(body, want) != NULL;
}

static void check_one(struct jr_client *c, jr_job_id id, const struct ends *e, bool final)
{
	char path[64], *res = NULL;
	const struct ended *end = end_of(e, id);
	int st;

	snprintf(path, sizeof(path), "/jobs/%016llx", (unsigned long long)id);
	st = jr_client_request(c, "GET", path, NULL, 0, &res, NULL);
	if (st != 200)
		FAIL("acknowledged job %016llx is gone after the restart (HTTP %d)",
		     (unsigned long long)id, st);
	else if (end && !status_is(res, jr_job_state_name(end->state)))
		FAIL("job %016llx: the journal says %s, the daemon %s", (unsigned long long)id,
		     jr_job_state_name(end->state), res);
	else if (final && !status_is(res, "succeeded") && !status_is(res, "failed") &&
		 !status_is(res, "cancelled"))
		FAIL("job %016llx is not final at the end: %s", (unsigned long long)id, res);
	free(res);
}

/* The ids acknowledged since the last check, and a sample of older ones. */
static size_t check_acked(const struct ends *e, bool all_final, uint64_t *rng)
{
	struct jr_client *c;
	size_t from = all_final ? 0 : acked.checked_upto, checked = 0;

	if (jr_client_open(&c, sock) < 0) {
		FAIL("cannot connect to check");
		return 0;
	}
	for (size_t i = from; i < acked.n; i++, checked++)
		check_one(c, acked.ids[i], e, all_final);
	for (size_t k = 0; !all_final && k < 200 && from > 0; k++, checked++)
		check_one(c, acked.ids[xorshift(rng) % from], e, false);
	acked.checked_upto = acked.n;
	jr_client_close(c);
	return checked;
}

static void wait_all_final(void)
{
	struct jr_client *c;

	if (jr_client_open(&c, sock) < 0)
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

static void kill_daemon(pid_t pid)
{
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

static void stop_daemon(pid_t pid)
{
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
}

static void run_iteration(int it, uint64_t *rng, struct ends *e)
{
	pthread_t t[CLIENTS];
	pid_t pid = start_daemon();

	if (!wait_ready()) {
		FAIL("iteration %d: the daemon did not come back (see %s)", it, log_path);
		kill_daemon(pid);
		return;
	}
	size_t checked = check_acked(e, false, rng);
	stop_clients = false;
	for (int k = 0; k < CLIENTS; k++)
		pthread_create(&t[k], NULL, client_main, (void *)(uintptr_t)(k + 1 + it * CLIENTS));
	usleep((useconds_t)(20000 + xorshift(rng) % 300000));
	if (it % 5 == 4)	/* a clean stop mid-load: answers sent, a snapshot */
		stop_daemon(pid);
	else
		kill_daemon(pid);	/* mid-request, mid-write, mid-job */
	stop_clients = true;
	for (int k = 0; k < CLIENTS; k++)
		pthread_join(t[k], NULL);
	read_ends(e);
	printf("iteration %3d: %zu acknowledged so far, %zu checked after the restart, "
	       "%zu ends in the journal\n", it, acked.n, checked, e->n);
}

int main(int argc, char **argv)
{
	const char *env = getenv("JR_CRASH_ITERATIONS");
	int iterations = argc > 2 ? atoi(argv[2]) : env ? atoi(env) : 50;
	uint64_t rng = (uint64_t)time(NULL) | 1;
	struct ends e = { 0 };

	if (argc < 2 || !mkdtemp(dir)) {
		fprintf(stderr, "usage: crash BUILD_DIR [ITERATIONS]\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	snprintf(daemon_path, sizeof(daemon_path), "%s/jobringd", argv[1]);
	snprintf(sock, sizeof(sock), "%s/s", dir);
	snprintf(state, sizeof(state), "%s/state", dir);
	snprintf(journal_dir, sizeof(journal_dir), "%s/journal", state);
	snprintf(log_path, sizeof(log_path), "%s/daemon.log", dir);
	for (int it = 0; it < iterations; it++)
		run_iteration(it, &rng, &e);
	/* Last: everything runs to its end, and every job is final. */
	pid_t pid = start_daemon();
	if (!wait_ready()) {
		FAIL("the daemon did not come back for the final check");
	} else {
		wait_all_final();
		read_ends(&e);
		size_t n = check_acked(&e, true, &rng);
		printf("final: %zu acknowledged jobs, all checked: %s\n", n,
		       failures ? "FAILED" : "each present and final");
	}
	kill_daemon(pid);
	read_ends(&e);
	printf("crash: %d iterations, %zu acknowledged jobs, %d failures\n", iterations, acked.n,
	       failures);
	if (failures == 0) {
		char cmd[400];
		snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
		if (system(cmd) != 0)
			return 1;
	} else {
		fprintf(stderr, "crash: state kept in %s\n", dir);
	}
	return failures ? 1 : 0;
}
