/*
 * mungeauth.c - a MUNGE credential decoded and bound to its connection.
 * See mungeauth.h.
 *
 * munge_decode asks munged over its socket and waits: a munged that is
 * stopped (SIGSTOP, a hung host) would hold the event loop for libmunge's
 * whole retry schedule, about 10 s a credential, one after the other. So
 * the decode runs on a thread of its own, and the loop waits for it at
 * most MUNGEAUTH_WAIT_MS; past that the credential is answered 503 and,
 * for MUNGEAUTH_PAUSE_MS, so is every other without asking again. The
 * thread finishes on its own and frees what it holds.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <munge.h>

#include "base/common.h"
#include "daemon/net/mungeauth.h"

struct decode_call {
	pthread_mutex_t lock;
	pthread_cond_t done_cv;
	int refs;			/* the loop's and the thread's */
	bool done;
	char *socket_path, *cred;	/* copies */
	munge_err_t err;
	void *payload;
	int len;
	uid_t uid;
	gid_t gid;
};

static uint64_t paused_until_ns;	/* the loop's thread only */

static void call_release(struct decode_call *d)
{
	pthread_mutex_lock(&d->lock);
	bool last = --d->refs == 0;
	pthread_mutex_unlock(&d->lock);
	if (!last)
		return;
	pthread_mutex_destroy(&d->lock);
	pthread_cond_destroy(&d->done_cv);
	free(d->socket_path);
	free(d->cred);
	free(d->payload);
	free(d);
}

static void *decode_thread(void *arg)
{
	struct decode_call *d = arg;
	munge_ctx_t ctx = munge_ctx_create();
	munge_err_t e = EMUNGE_NO_MEMORY;

	if (ctx && (!d->socket_path ||
		    munge_ctx_set(ctx, MUNGE_OPT_SOCKET, d->socket_path) == EMUNGE_SUCCESS))
		e = munge_decode(d->cred, ctx, &d->payload, &d->len, &d->uid, &d->gid);
	if (ctx)
		munge_ctx_destroy(ctx);
	pthread_mutex_lock(&d->lock);
	d->err = e;
	d->done = true;
	pthread_cond_signal(&d->done_cv);
	pthread_mutex_unlock(&d->lock);
	call_release(d);
	return NULL;
}

static struct decode_call *call_new(const char *socket_path, const char *cred)
{
	struct decode_call *d = calloc(1, sizeof(*d));

	if (!d)
		return NULL;
	d->refs = 2;
	d->cred = strdup(cred);
	d->socket_path = socket_path ? strdup(socket_path) : NULL;
	if (!d->cred || (socket_path && !d->socket_path)) {
		free(d->cred);
		free(d->socket_path);
		free(d);
		return NULL;
	}
	pthread_mutex_init(&d->lock, NULL);
	pthread_cond_init(&d->done_cv, NULL);
	return d;
}

/* Started, and waited for at most MUNGEAUTH_WAIT_MS: true if it is done
 * (its results in d), false if it was not (the thread goes on alone). */
static bool run_bounded(struct decode_call *d)
{
	struct timespec until;
	pthread_attr_t attr;
	pthread_t t;
	bool done;

	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	int rc = pthread_create(&t, &attr, decode_thread, d);
	pthread_attr_destroy(&attr);
	if (rc != 0) {
		d->refs = 1;	/* no thread holds it */
		d->err = EMUNGE_NO_MEMORY;
		return true;
	}
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_nsec += (long)MUNGEAUTH_WAIT_MS * 1000000L;
	until.tv_sec += until.tv_nsec / 1000000000L;
	until.tv_nsec %= 1000000000L;
	pthread_mutex_lock(&d->lock);
	while (!d->done && pthread_cond_timedwait(&d->done_cv, &d->lock, &until) != ETIMEDOUT)
		;
	done = d->done;
	pthread_mutex_unlock(&d->lock);
	return done;
}

/* What munged said, as the check's answer: its own words for what a
 * client did wrong, none for munged being away. */
static int verdict(munge_err_t e, const char **why)
{
	if (e == EMUNGE_SUCCESS)
		return 0;
	*why = munge_strerror(e);
	if (e == EMUNGE_NO_MEMORY)
		return -ENOMEM;
	if (e == EMUNGE_SOCKET || e == EMUNGE_SNAFU)
		return -EHOSTDOWN;
	return -EKEYREJECTED;
}

int mungeauth_check(const char *socket_path, const char *cred, const unsigned char *binding,
		    size_t n, uid_t *uid, gid_t *gid, const char **why)
{
	uint64_t now = jr_now_monotonic_ns();
	struct decode_call *d;
	int rc;

	*why = "";
	if (now < paused_until_ns) {
		*why = "munged did not answer lately";
		return -EHOSTDOWN;
	}
	if (!(d = call_new(socket_path, cred)))
		return -ENOMEM;
	if (!run_bounded(d)) {
		paused_until_ns = jr_now_monotonic_ns() + MUNGEAUTH_PAUSE_MS * JR_NS_PER_MS;
		*why = "munged did not answer in time";
		call_release(d);
		return -EHOSTDOWN;
	}
	rc = verdict(d->err, why);
	if (rc == 0) {
		*uid = d->uid;
		*gid = d->gid;
		if (d->len < 0 || (size_t)d->len != n || memcmp(d->payload, binding, n) != 0) {
			*why = "the credential was not made for this connection (its payload must "
			       "be the connection's TLS exporter value)";
			rc = -EKEYREJECTED;
		}
	}
	call_release(d);
	return rc;
}
