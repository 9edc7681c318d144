/*
 * notifysend.h - notifications sent off the event loop (issue 16): a few
 * threads take tasks (a copy of an outbox entry) and deliver each once:
 * a webhook POSTed with libcurl (one connection kept per thread), its
 * body signed with HMAC-SHA256 under the daemon's secret
 * (X-Jobring-Signature: sha256=<hex>) and named by its delivery id
 * (X-Jobring-Delivery); or a command run as the job's owner with the
 * payload on its stdin. A finished task comes back through
 * notify_sender_take(), and the sender's event fd turns readable.
 */
#ifndef JR_NOTIFYSEND_H
#define JR_NOTIFYSEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "daemon/state/notifyrec.h"

#define NOTIFY_SENDER_THREADS 4u
#define NOTIFY_HTTP_TIMEOUT_S 10L
#define NOTIFY_COMMAND_TIMEOUT_S 60u
#define NOTIFY_SECRET_BYTES 32u

struct notify_task {
	struct notify_task *next;
	uint64_t delivery_id, job_id;
	uint32_t event;			/* enum notify_event */
	enum notify_kind kind;
	uint32_t uid, gid;
	bool switch_user;		/* a command: run as uid/gid (a root daemon) */
	char *target;			/* URL, or argv as a JSON array */
	char *payload;
	/* The answer. */
	bool ok;
	char error[112];
};

struct notify_sender;

/* Threads started; key the HMAC key (copied). 0 or -errno. */
int notify_sender_start(struct notify_sender **out, const char *key, size_t key_len);
void notify_sender_stop(struct notify_sender *s);
int notify_sender_event_fd(const struct notify_sender *s);
/* Hand a task over (the sender owns it now). */
void notify_sender_push(struct notify_sender *s, struct notify_task *t);
/* The finished tasks, a list (the caller owns them: notify_task_free). */
struct notify_task *notify_sender_take(struct notify_sender *s);
void notify_task_free(struct notify_task *t);

/* HMAC-SHA256 of body under key, as 64 hex digits and a NUL. */
void notify_sign(const char *key, size_t key_len, const char *body, size_t len, char out[65]);

#endif
