/*
 * notify.h - notifications (issue 16): the outbox fed when jobs end,
 * delivered by the sender's threads (notifysend.h), retried with
 * backoff; a queue's notify setting; a job's delivery state. See
 * notify.c and docs/PROTOCOL.md ("Notifications").
 */
#ifndef JR_API_NOTIFY_H
#define JR_API_NOTIFY_H

#include <stdbool.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "daemon/api/api.h"

/* After recovery: the secret (state_dir/notify.secret, made once) and
 * the sender's threads; backoff_ms the first retry's wait (0: 1 s).
 * 0 or -errno (the daemon runs on, sending nothing). */
int api_notify_start(struct api *a, const char *state_dir, uint64_t backoff_ms);
/* Readable when a delivery finished (watched by the loop); -1: none. */
int api_notify_fd(const struct api *a);
void api_notify_tick(struct api *a, uint64_t now_ns);
void api_notify_destroy(struct api *a);

/* durable's end hook: job-event triggers, then notifications. ctx: the api. */
void api_job_ended(void *ctx, const struct jr_job_event *ev);

/* A POST or PATCH /queues body's "notify": checked, and its caller the
 * daemon's owner or root; false (answered) if not. */
bool api_queue_notify_check(struct api *a, struct api_call *c, const cJSON *body);
/* Set it (null clears): the record's seq, 0 if the body has none. */
uint64_t api_queue_notify_set(struct api *a, const char *queue, const cJSON *body);
/* A queue deleted: its setting goes with it (journaled). */
void api_queue_notify_forget(struct api *a, const char *queue);
void api_queue_notify_view(struct api *a, cJSON *queue_json, const char *queue);

/* A schedule's body (POST, or PATCH merged): its "notify" moved into its
 * job template, which it replaces there (null: removed). */
void api_notify_schedule_body(cJSON *schedule);

/* GET /jobs/{id}: its "notifications" added to o. */
void api_notify_job_view(struct api *a, cJSON *o, jr_job_id id);

#endif
