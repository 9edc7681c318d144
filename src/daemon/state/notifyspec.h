/*
 * notifyspec.h - a "notify" setting read (issue 16): where a job's,
 * a queue's or a schedule's template's notifications go, and on which
 * events. One target, or a list of them:
 *
 *   {"on": ["end", "failure", "retries_exhausted"], "url": "https://..."}
 *   {"on": "failure", "command": ["/usr/local/bin/mailjob", "--to", "me"]}
 *
 * "on" defaults to "end"; a target has a url (http or https only) or a
 * command (argv, its program an absolute path), not both. "callback_url"
 * is a shorthand for {"on": "end", "url": ...}. Checked at submission
 * (422 with why), read again when the job ends.
 */
#ifndef JR_NOTIFYSPEC_H
#define JR_NOTIFYSPEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "daemon/state/notifyrec.h"

#define NOTIFY_TARGETS_MAX 4u		/* per job, and per queue */
#define NOTIFY_URL_MAX 1024u
#define NOTIFY_ARGV_MAX 32u
#define NOTIFY_ARG_MAX 1024u

struct notify_target {
	uint32_t events;		/* enum notify_event bits */
	enum notify_kind kind;
	char *target;			/* the URL, or argv as a compact JSON array */
};

struct notify_targets {
	uint32_t count;
	struct notify_target t[NOTIFY_TARGETS_MAX];
};

/* Whether v is a good notify setting; false with why ("notify...: ..."). */
bool notifyspec_check(const cJSON *v, char *why, size_t size);
/* Whether v is a good callback_url (a string, an http(s) URL). */
bool notifyspec_check_callback(const cJSON *v, char *why, size_t size);

/* Add v's targets to out (v as notifyspec_check accepts; what does not
 * read is skipped). Returns false for no memory. */
bool notifyspec_add(const cJSON *v, struct notify_targets *out);
/* callback_url's target (on end). */
bool notifyspec_add_callback(const cJSON *v, struct notify_targets *out);
void notifyspec_free(struct notify_targets *t);

/* The events' names, for the payload and the job's view. */
const char *notify_event_name(uint32_t event);
const char *notify_kind_name(enum notify_kind kind);

/* The one event an end is for a target asking for events (0: none): the
 * most particular it asked for. failed: the job failed; retried: after
 * more than one attempt. */
uint32_t notify_event_of(uint32_t events, bool ended, bool failed, bool retried);

#endif
