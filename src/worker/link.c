/*
 * link.c - one connection to the daemon through libjobring's client
 * (jr_client_open: a Unix socket, or HOST:PORT over TLS where the client
 * has it), opened on first use and again after any failure; and the
 * claimer, the thread that holds the claim long poll on a connection of
 * its own so that the main thread's heartbeats and completions never wait
 * behind it. The main thread's requests go through wk_call, which backs
 * off while the server cannot be reached.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "jobring.h"
#include "worker/worker.h"

#define MS 1000000ull
#define RETRY_MS_MIN 50	/* the backoff while the server is away */
#define RETRY_MS_MAX 1000

bool wk_quiet;

uint64_t wk_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void wk_log(const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	if (wk_quiet)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	fprintf(stderr, "jobring-worker[%d]: %s\n", (int)getpid(), line);
}

int wk_link_request(struct wk_link *l, const char *method, const char *path, const char *body,
		    char **response)
{
	int rc;

	*response = NULL;
	if (!l->client && (rc = jr_client_open(&l->client, l->server)) < 0) {
		l->client = NULL;
		return rc;
	}
	rc = jr_client_request(l->client, method, path, body, body ? strlen(body) : 0, response,
			       NULL);
	if (rc < 0) {
		/* The client reconnects by itself; a fresh one also rereads
		 * the address (a server that came back elsewhere). */
		jr_client_close(l->client);
		l->client = NULL;
		*response = NULL;
	}
	return rc;
}

/* --- the main thread's requests, and its backoff while the server is away ---------- */

static void mark_ok(struct wk_ctx *w)
{
	if (w->was_unreachable)
		w->recheck = true;	/* see recent.c */
	w->was_unreachable = false;
	w->retry_ms = 0;
	w->next_retry_ns = 0;
	w->lost_killed = false;
}

void wk_mark_unreachable(struct wk_ctx *w, int rc)
{
	if (!w->retry_ms)
		wk_log("server unreachable (%s): retrying", strerror(-rc));
	w->was_unreachable = true;
	w->retry_ms = w->retry_ms ? w->retry_ms * 2 : RETRY_MS_MIN;
	if (w->retry_ms > RETRY_MS_MAX)
		w->retry_ms = RETRY_MS_MAX;
	/* jitter: 1,000 workers must not all come back in one instant */
	w->next_retry_ns = wk_now_ns() + (w->retry_ms / 2 + (uint64_t)rand() % (w->retry_ms / 2 + 1)) * MS;
}

bool wk_reachable_now(const struct wk_ctx *w)
{
	return !w->next_retry_ns || wk_now_ns() >= w->next_retry_ns;
}

/* One request on the main connection: its status (> 0) or -errno. An
 * answer is a sign of life (--lost-after), but a 5xx (a server starting
 * or stopping) is backed off from as a failure is: a thousand workers
 * must not hammer it in a loop. */
int wk_call(struct wk_ctx *w, const char *method, const char *path, const char *body,
	    char **resp)
{
	int rc = wk_link_request(&w->link, method, path, body, resp);

	if (rc > 0)
		__atomic_store_n(&w->shared.last_ok_ns, wk_now_ns(), __ATOMIC_RELAXED);
	if (rc > 0 && rc < 500)
		mark_ok(w);
	else
		wk_mark_unreachable(w, rc > 0 ? -EAGAIN : rc);
	return rc;
}

void wk_link_close(struct wk_link *l)
{
	jr_client_close(l->client);
	l->client = NULL;
}

/* --- the claimer ------------------------------------------------------------------------ */

void wk_claimer_poke(struct wk_shared *s)
{
	pthread_cond_broadcast(&s->wake);
}

static void notify_main(struct wk_shared *s)
{
	uint64_t one = 1;

	if (write(s->event_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		wk_log("eventfd: %s", strerror(errno));
}

/* Wait (under the lock) for up to ms, or a poke. */
static void wait_ms(struct wk_shared *s, uint64_t ms)
{
	struct timespec until;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += (time_t)(ms / 1000);
	until.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	pthread_cond_timedwait(&s->wake, &s->lock, &until);
}

static bool may_claim(const struct wk_shared *s)
{
	return !s->stopping && !s->draining && !s->worker_unknown && s->worker_id[0] &&
	       s->free_cpus > 0;
}

static void hand_over(struct wk_shared *s, char *body)
{
	struct wk_claim *c = malloc(sizeof(*c));

	if (!c) {	/* the server's lease runs out; it is retried */
		free(body);
		return;
	}
	c->body = body;
	c->next = NULL;
	*s->claims_tail = c;
	s->claims_tail = &c->next;
	/* Count its cpus as taken until the main thread knows them: at
	 * least one, so that a 1-cpu worker does not claim twice. */
	s->free_cpus--;
}

static void *claimer_main(void *arg)
{
	struct wk_shared *s = arg;
	uint64_t backoff_ms = 50, retry_at = 0;
	unsigned seed = (unsigned)(wk_now_ns() ^ (uint64_t)pthread_self());

	pthread_mutex_lock(&s->lock);
	while (!s->stopping) {
		char path[128], *resp = NULL;
		uint64_t gen, now = wk_now_ns();
		int rc;

		if (retry_at > now) {	/* a poke does not cut a backoff short */
			wait_ms(s, (retry_at - now) / 1000000 + 1);
			continue;
		}
		if (!may_claim(s)) {
			wait_ms(s, 1000);
			continue;
		}
		snprintf(path, sizeof(path), "/workers/%s/claim?wait=%u", s->worker_id,
			 s->claim_wait_s);
		gen = s->generation;
		pthread_mutex_unlock(&s->lock);
		rc = wk_link_request(&s->link, "POST", path, NULL, &resp);
		pthread_mutex_lock(&s->lock);
		if (rc > 0)
			__atomic_store_n(&s->last_ok_ns, wk_now_ns(), __ATOMIC_RELAXED);
		if (rc == 200) {
			hand_over(s, resp);
			notify_main(s);
			backoff_ms = 50;
			retry_at = 0;
			continue;
		}
		free(resp);
		if (rc == 204) {
			backoff_ms = 50;
			retry_at = 0;
			continue;
		}
		if (rc == 404 && gen == s->generation && !s->stopping) {
			s->worker_unknown = true;	/* removed, or a new server */
			notify_main(s);
		}
		if (rc < 0)
			s->link_broke = true;
		/* a network error, or an answer to back off from (with
		 * jitter: a thousand workers must not come back at once) */
		retry_at = wk_now_ns() + (backoff_ms / 2 + (uint64_t)rand_r(&seed) % (backoff_ms / 2 + 1)) *
						 1000000ull;
		backoff_ms = backoff_ms * 2 > 1000 ? 1000 : backoff_ms * 2;
	}
	pthread_mutex_unlock(&s->lock);
	wk_link_close(&s->link);
	return NULL;
}

int wk_claimer_start(struct wk_shared *s, pthread_t *thread)
{
	s->event_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (s->event_fd < 0)
		return -errno;
	s->claims_tail = &s->claims;
	return -pthread_create(thread, NULL, claimer_main, s);
}
