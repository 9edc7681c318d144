/*
 * triggers.h - named triggers (issue 15): what each one fires (a job
 * template, schedules bound to its name), what fires it besides POST
 * /triggers/{name} (a file source watched with inotify, or a job-event
 * source: a job or any job of a queue ending as afterok, afternotok or
 * afterany say), and its last fire. The journal's records (records.h:
 * REC_TRIGGER, REC_TRIGGER_DELETE, REC_TRIGGER_FIRE) are applied here
 * both live and on recovery (triggers_apply_*), so the two cannot differ.
 *
 * A file source's events are read from one inotify descriptor (non-
 * blocking, watched by the event loop) and gathered per trigger into a
 * burst: the paths seen (up to TRIGGER_PATHS_BYTES, the rest counted),
 * which is due once no event came for the debounce (or once it is
 * TRIGGER_BURST_MAX_NS old under a steady stream). Job ends come from
 * the journal writer (triggers_job_ended, the loop's thread) into a short
 * queue, only while a job-event trigger exists.
 *
 * The loop's thread only. Firing (a job submitted and journaled) is the
 * API's (api/triggers.c): this module knows nothing of HTTP or the engine
 * beyond reading a job's queue.
 */
#ifndef JR_TRIGGERS_H
#define JR_TRIGGERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "jobring.h"
#include "daemon/durable/records.h"

#define TRIGGER_NAME_MAX (REC_TRIGGER_NAME_MAX - 1)	/* bytes of a name */
#define TRIGGER_MAX 4096u				/* triggers at once */
#define TRIGGER_DEF_MAX (256u * 1024)			/* a definition's JSON */
#define TRIGGER_PAYLOAD_MAX (1024u * 1024)		/* POST /triggers/{name}'s body */
#define TRIGGER_PAYLOAD_ENV_MAX (32u * 1024)		/* in the environment; more: a file */
#define TRIGGER_PATHS_BYTES (16u * 1024)		/* a burst's listed paths */
#define TRIGGER_DEBOUNCE_DEFAULT_MS 1000u
#define TRIGGER_BURST_MAX_NS (60ull * 1000000000)	/* fires under a steady stream */
#define TRIGGER_ENDED_MAX 65536u			/* job ends queued per turn */

enum trigger_kind { TRIGGER_NAMED = 0, TRIGGER_FILE = 1, TRIGGER_JOB = 2 };

/* File events a source may ask for (bits of trigger.file_events). */
enum trigger_file_event {
	TRIGGER_EV_CREATE = 1u << 0,
	TRIGGER_EV_MODIFY = 1u << 1,
	TRIGGER_EV_CLOSE_WRITE = 1u << 2,
	TRIGGER_EV_MOVED_TO = 1u << 3,
};

/* A file source's events gathered since its last fire. */
struct trigger_burst {
	char *paths;			/* a JSON array's items, comma-separated */
	size_t len, cap;
	uint64_t listed, more;		/* paths listed, paths beyond the bound */
	uint64_t first_ns, last_ns;	/* CLOCK_MONOTONIC; first 0: none */
	bool overflow;			/* the kernel's queue overflowed: some lost */
	char last[256];			/* the last name added (repeats skipped) */
};

struct trigger {
	char name[REC_TRIGGER_NAME_MAX];
	uint32_t uid, gid;
	bool switch_user;		/* its jobs run as uid/gid */
	uint64_t created_ns;
	char *def;			/* its definition as journaled (owned) */
	char *job;			/* its job template (compact JSON); NULL: none */
	enum trigger_kind kind;
	uint64_t debounce_ms;
	/* TRIGGER_FILE */
	char *path, *pattern;		/* pattern: a glob on names; NULL: all */
	uint32_t file_events;		/* enum trigger_file_event */
	int wd;				/* inotify watch; -1: none */
	bool path_is_dir;
	dev_t watched_dev;		/* the inode watched (wd >= 0) */
	ino_t watched_ino;
	char watch_error[160];		/* why it is not watched ("" if it is) */
	struct trigger_burst burst;
	/* TRIGGER_JOB */
	uint8_t dep_type;		/* enum jr_dep_type: AFTEROK, AFTERNOTOK, AFTERANY */
	jr_job_id on_job;		/* 0: on_queue */
	char on_queue[48];
	/* Its fires. */
	uint64_t fire_count, last_fire_ns, last_job_id, last_payload_bytes;
	uint32_t last_fire_flags;	/* REC_TRIGGER_FIRE_* */
};

/* A job that ended, as queued for the job-event triggers. */
struct trigger_ended {
	jr_job_id id;
	uint8_t state, reason;
	int32_t exit_code;
};

struct triggers {
	struct trigger **list;		/* by definition order; holes NULL */
	uint32_t count, cap;
	uint32_t job_sources, file_sources;
	uint32_t bursts;		/* file triggers with a burst gathering */
	int inotify_fd;			/* -1 until a file trigger is watched */
	struct trigger_ended *ended;	/* job ends to look at (job_sources > 0) */
	uint32_t ended_count, ended_dropped;
	uint64_t fires, file_events;	/* counters for /metrics-like views */
};

/* Empty (cannot fail). */
void triggers_init(struct triggers *t);
/* Everything freed, the inotify descriptor closed. */
void triggers_destroy(struct triggers *t);
/* What src held moves to dst (recovery to the daemon's state); src is
 * left empty. dst must be empty. */
void triggers_take(struct triggers *dst, struct triggers *src);

struct trigger *triggers_find(const struct triggers *t, const char *name);

/* A name a trigger may have: 1 to TRIGGER_NAME_MAX bytes of [A-Za-z0-9._-],
 * not starting with '.' or '-'. */
bool triggers_name_ok(const char *name);

/* The definition JSON (checked for JSON already, and its "job" by the
 * API) parsed into t's fields: true, or false with why (a sentence) and
 * *field naming the offending field. Fields: "job" (object), "file"
 * {"path","events","debounce","pattern"}, "on" {"type","job"|"queue"},
 * "debounce", "description"; at most one of "file" and "on". */
bool triggers_parse_def(const char *json, size_t len, struct trigger *t, char *why,
			size_t why_size);

/* Records applied (live after journaling them, and by recovery): 0, or
 * -EPROTO for a payload of the wrong size or a bad definition, -ENOMEM.
 * A define over an existing name replaces it (keeping its fire count). */
int triggers_apply_define(struct triggers *t, const void *payload, uint32_t len);
int triggers_apply_delete(struct triggers *t, const void *payload, uint32_t len);
int triggers_apply_fire(struct triggers *t, const void *payload, uint32_t len);
/* Any of the three by type (recover.c): 0 or -errno as above. */
int triggers_apply(struct triggers *t, uint16_t type, const void *payload, uint32_t len);

/* --- file sources --- */

/* Watch every file trigger not watched yet (after recovery, after a
 * define); a trigger whose path cannot be watched keeps watch_error.
 * The inotify descriptor is made on first use (triggers_watch_fd). */
void triggers_watch_all(struct triggers *t);
/* May the trigger's owner (uid, primary gid; user_groups: the group
 * database's supplementary groups for entering directories) watch path?
 * Each directory to it must let the owner in (cwdcheck.h) and the path
 * itself be readable by its mode bits. false with why. *is_dir said. */
bool triggers_path_allowed(const char *path, uid_t uid, gid_t gid, bool user_groups, char *why,
			   size_t size, bool *is_dir);
/* triggers_path_allowed for tr's owner, and tr's path still the inode
 * watched (not swapped for a link elsewhere since): false with why. */
bool triggers_watch_allowed(const struct trigger *tr, char *why, size_t size);
/* Its watch removed (a delete, a redefinition). */
void triggers_unwatch(struct triggers *t, struct trigger *tr);
/* The inotify descriptor, made if needed: >= 0, or -errno. */
int triggers_watch_fd(struct triggers *t);
/* Read what the descriptor has (non-blocking) into the bursts. */
void triggers_read_events(struct triggers *t, uint64_t now_ns);
/* A file trigger whose burst is due at now_ns (CLOCK_MONOTONIC), or
 * NULL. The burst's payload is taken with triggers_burst_payload. */
struct trigger *triggers_burst_due(struct triggers *t, uint64_t now_ns);
/* The burst's payload as a JSON object (malloc'd, NUL-terminated; NULL:
 * no memory) and the burst emptied. */
char *triggers_burst_payload(struct triggers *t, struct trigger *tr, size_t *len);
/* Files in a watched directory newer than the trigger's last fire (the
 * daemon was down): each added to its burst, once, at start. */
void triggers_scan_missed(struct triggers *t, uint64_t now_ns);

/* --- job-event sources --- */

/* durable.h's end hook: a job ended. Queued only while a job-event
 * trigger exists (otherwise one load and a return). */
void triggers_job_ended(void *ctx, const struct jr_job_event *ev);
/* Does tr's job-event source match this end (queue_id: the job's)?
 * dep: enum jr_dep_type semantics (afterok: succeeded; afternotok: failed
 * or cancelled; afterany: either). */
bool triggers_job_matches(const struct trigger *tr, const struct trigger_ended *e,
			  const char *queue_name);

#endif
