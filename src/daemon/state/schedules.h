/*
 * schedules.h - schedules (issue 15): a job template fired at the due
 * instants of an interval ("every") or a cron expression in an IANA
 * zone (src/cron/), with overlap, catch-up, jitter and start/end
 * policies. This module keeps them (by stable id, by owner and name),
 * orders them in a min-heap by when they are next due, and decides what
 * a pass at time now must do (schedules_due): which instant fires, how
 * many were coalesced or dropped. It neither submits nor journals: the
 * API (api/schedules.c) fires through api/fire.h and journals the
 * definitions (records.h: REC_SCHEDULE, REC_SCHEDULE_DELETE); recovery
 * rebuilds the set from those records and advances each schedule's
 * last due instant from the fires' REC_SUBMIT records (exactly one fire
 * per due instant across kill -9: see docs/DECISIONS.md). Times are
 * CLOCK_REALTIME ns; every function takes its clock, so tests run in
 * virtual time. The event loop's thread only.
 */
#ifndef JR_SCHEDULES_H
#define JR_SCHEDULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <cjson/cJSON.h>

#include "jobring.h"

#define SCHEDULES_MAX 1000000u		/* schedules per daemon */
#define SCHEDULE_BODY_MAX (256u * 1024)	/* a POST /schedules body */
#define SCHEDULE_NAME_MAX 63u
#define SCHEDULE_NEXT_MAX 100u		/* GET /schedules/{id}?next= */

enum sched_kind { SCHED_EVERY = 1, SCHED_CRON = 2 };
enum sched_overlap { SCHED_SKIP = 0, SCHED_QUEUE_ONE, SCHED_CANCEL_RUNNING, SCHED_ALLOW };
enum sched_dst { SCHED_DST_DEFAULT = 0, SCHED_DST_LATER, SCHED_DST_SKIP, SCHED_DST_FIRST,
		 SCHED_DST_BOTH };

/* What a definition says, checked (schedule_def_parse). */
struct schedule_def {
	char name[SCHEDULE_NAME_MAX + 1];
	enum sched_kind kind;
	uint64_t every_ns;		/* SCHED_EVERY */
	char cron[128];			/* SCHED_CRON: the expression as given */
	char timezone[64];		/* IANA name; "UTC" by default */
	void *cron_expr, *zone;		/* SCHED_CRON: the cron library's (owned) */
	int dst_gap, dst_overlap;	/* the cron library's policies */
	enum sched_overlap overlap;
	uint64_t catch_up_ns;		/* 0: one interval */
	bool catch_up_set;		/* "catch_up" given (0 then: none) */
	uint64_t jitter_ns;
	uint64_t start_ns, end_ns;	/* 0: unbounded */
	bool paused;
	char trigger[64];		/* bound to this trigger name; "": none */
	char *job;			/* the job template, compact JSON (owned) */
	size_t job_len;
};

struct schedule {
	uint32_t id;			/* from 1, never reused */
	uid_t uid;
	gid_t gid;
	struct schedule_def def;
	char *json;			/* the definition, compact (owned) */
	uint64_t created_ns, updated_ns;
	uint64_t last_due;		/* dues up to this are done (fired, skipped,
					 * coalesced or dropped) */
	uint64_t next_due;		/* the next due instant; 0: none (ended) */
	uint64_t jitter_off;		/* in [0, jitter): its submissions' delay */
	uint32_t heap_pos;		/* UINT32_MAX: not in the heap */
	uint32_t name_next;		/* the name hash's chain */
	jr_job_id last_job, prev_job;	/* its newest fired job, the one before */
	uint64_t last_fire_ns;		/* when its last job was submitted */
	uint64_t fired, skipped, missed, coalesced, errors;
	uint64_t lateness_max_ns;
	char last_error[300];
};

struct schedules {
	struct schedule **by_id;	/* [id]; NULL: none */
	uint32_t id_cap, next_id, count;
	uint32_t *heap;			/* ids, by key (next_due + jitter_off) */
	uint32_t heap_len;
	uint32_t *names;		/* hash of (uid, name): chain heads */
	uint32_t name_cap;
	uint32_t scan_pos;		/* schedules_due's resume point */
};

struct schedules *schedules_new(void);
void schedules_free(struct schedules *s);

/* Parse a definition (a POST /schedules body, or one read back): the
 * schedule's own fields, strictly (unknown field, bad duration, bad
 * cron, unknown zone: false with a message in why); the "job" object is
 * kept as text, checked by the caller (jobspec.h). */
bool schedule_def_parse(const cJSON *o, struct schedule_def *d, char *why, size_t size);
void schedule_def_free(struct schedule_def *d);

/* The first due instant after t (within start/end); 0: none. */
uint64_t schedule_next_after(const struct schedule *sc, uint64_t t);

/* Add a parsed definition (taken over) as id (0: the next free id) of
 * uid/gid, its dues counted from last_due: the new schedule, or NULL
 * (-ENOMEM, -EEXIST for the name or the id, -ENOSPC at SCHEDULES_MAX in
 * *err). */
struct schedule *schedules_add(struct schedules *s, uint32_t id, uid_t uid, gid_t gid,
			       struct schedule_def *d, const char *json, uint64_t last_due,
			       uint64_t now, int *err);
/* Replace sc's definition (taken over), keeping its id, counters and last
 * due: 0, or -EEXIST (another of the owner's has the new name), -ENOMEM. */
int schedules_replace(struct schedules *s, struct schedule *sc, struct schedule_def *d,
		      const char *json, uint64_t now);
void schedules_remove(struct schedules *s, struct schedule *sc);
struct schedule *schedules_get(const struct schedules *s, uint32_t id);
struct schedule *schedules_named(const struct schedules *s, uid_t uid, const char *name);

/* Recovery: a fire of schedule id at due (job): its last due advances. */
void schedules_note_fire(struct schedules *s, uint32_t id, uint64_t due, jr_job_id job);
/* After recovery (or a pause): each schedule back in the heap from its
 * last due (what was missed meanwhile is caught up by the next pass). */
void schedules_rearm(struct schedules *s, struct schedule *sc);

/* What a pass decides for one schedule. */
struct sched_fire {
	struct schedule *sc;
	uint64_t due;			/* the instant that fires */
	uint64_t coalesced, dropped;	/* missed instants folded into it,
					 * and older ones dropped (not run) */
	bool fire;			/* false: every missed instant was too old */
};

/* The first schedule whose submission time (due + jitter) is <= now:
 * true with *f, its last due and next due advanced and its heap place
 * updated; false when none is due. The caller fires f->due (or counts it
 * skipped, by its overlap policy). */
bool schedules_due(struct schedules *s, uint64_t now, struct sched_fire *f);
/* When the next pass has work: the earliest key in the heap; 0: none. */
uint64_t schedules_next_key(const struct schedules *s);

/* Overlap: what a fire does given the states of its newest job
 * (last_job; -1 none or gone) and the one before (prev_job's):
 * SCHED_FIRE_AFTER fires a job that waits for last_job to end. */
enum sched_action { SCHED_FIRE, SCHED_FIRE_AFTER, SCHED_CANCEL_AND_FIRE, SCHED_SKIP_FIRE };
enum sched_action schedules_overlap(enum sched_overlap policy, int last_state, int prev_state);

const char *schedule_overlap_name(enum sched_overlap o);
/* The schedule as GET shows it (next: how many next fire times). */
cJSON *schedule_json(const struct schedule *sc, uint32_t next, uint64_t now);

#endif
