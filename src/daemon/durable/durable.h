/*
 * durable.h - jobringd's journal writer: turns what the API accepts and
 * what the engine reports into journal records (records.h), sends them to
 * disk in groups, and holds each acknowledgement until its records are
 * durable.
 *
 * The event loop is the journal's only writer. Job events come from the
 * engine's coordinator threads through a locked queue and an eventfd; the
 * loop turns them into records at its next turn. Each turn's records go
 * out as one group (one write, one fdatasync), several groups may be in
 * the air; an answer waits for the durable mark to pass its record.
 *
 * Sync modes (--sync): always (the default: no answer before its records
 * are on disk), batch (answers at once; a group goes out every
 * --sync-interval ms: a crash may lose that much acknowledged work), none
 * (answers at once, records are written without fdatasync: a crash of
 * the host, not of the daemon, may lose them).
 */
#ifndef JR_DURABLE_H
#define JR_DURABLE_H

#include <stdbool.h>
#include <stdint.h>

#include "daemon/net/buf.h"
#include "journal/journal.h"
#include "jobring.h"
#include "daemon/durable/records.h"
#include "daemon/net/server.h"
#include "daemon/state/jobstats.h"

enum sync_mode { SYNC_ALWAYS, SYNC_BATCH, SYNC_NONE };

struct durable_opts {
	const char *dir;		/* the journal's directory */
	uint64_t segment_bytes;
	uint64_t next_seq;		/* after recovery */
	enum sync_mode sync;
	uint32_t interval_ms;		/* SYNC_BATCH */
	uint64_t reserve_bytes;		/* room kept for job events when the disk fills */
};

struct durable;

struct rec_submit_args {
	struct rec_submit head;
	const jr_job_id *ids;	/* head.count of them */
	const char *body;
	size_t body_len;
	/* The jobs' specs (head.count of them, as submitted), for the queue
	 * each is counted under; NULL: read from the engine's table. */
	const struct jr_command_spec *specs;
};

int durable_open(struct durable **out, const struct durable_opts *o);
void durable_close(struct durable *d);
void durable_set_server(struct durable *d, struct server *s);
/* The engine to tell when attempts' ends are durable (its keeper holds
 * their statuses until then). */
void durable_set_engine(struct durable *d, struct jr_engine *e);
/* The history of executions to feed with the attempts' ends journaled
 * (executions.h); NULL: none. */
struct executions;
void durable_set_history(struct durable *d, struct executions *x);
/* The submitted jobs whose index hears of job events (submitted.h);
 * NULL: none. */
struct submitted;
void durable_set_jobs(struct durable *d, const struct submitted *t);
/* Told of each job that became final, on the loop's thread, after its
 * END record was appended (job-event triggers, issue 15); NULL: none. */
void durable_set_end_hook(struct durable *d, void (*fn)(void *ctx, const struct jr_job_event *ev),
			  void *ctx);

/* Job events published to the event stream too (issue 16); NULL: not. */
struct events;
void durable_set_events(struct durable *d, struct events *ev);

/* From now on job events are not journaled (the daemon is stopping:
 * what closing the engine does to queued jobs must not be recorded). */
void durable_stop_recording(struct durable *d);

/* jr_engine_opts.job_event: any thread. */
void durable_job_event(void *ctx, const struct jr_job_event *ev);

/* Before accepting something that takes bytes of journal: false, with a
 * 507 JSON error in res, if the journal cannot take it now (disk full,
 * write errors). */
bool durable_admit(struct durable *d, uint64_t bytes, struct response *res);
/* The journal can grow (its spare segment is ready, no write failed):
 * any record is admitted, whatever its size. */
bool durable_writable(struct durable *d);

/* Records; each returns its seq, or 0 if it could not be appended (no
 * memory: logged). */
uint64_t durable_log(struct durable *d, uint16_t type, const void *head, uint32_t head_len,
		     const void *tail, uint32_t tail_len);
uint64_t durable_logv(struct durable *d, uint16_t type, const struct iovec *iov, int n);
uint64_t durable_log_submit(struct durable *d, const struct rec_submit_args *a);
/* The bytes a submission's record takes. */
uint64_t durable_submit_bytes(size_t count, size_t body_len);

/* Hold res (a filled answer) until seq is durable: res becomes deferred.
 * With sync modes batch and none, or seq already durable, nothing is
 * held. */
void durable_hold(struct durable *d, uint64_t token, uint64_t seq, struct response *res);
/* Would durable_hold hold an answer for seq? (d may be NULL: never.) */
bool durable_would_hold(const struct durable *d, uint64_t seq);

/* Each turn of the loop: records for queued job events, send the group,
 * take in landed ones, answer what they made durable. */
void durable_turn(struct durable *d, uint64_t now_ns);

/* Wait until everything appended so far is durable (shutdown, snapshot). */
int durable_sync(struct durable *d);

/* What the journal knows of a job beyond the engine's table, for
 * snapshots: a running job's process and resources, a retrying job's
 * backoff. Kept from the events journaled (on the event loop). */
struct job_extra {
	jr_job_id id;
	struct rec_proc proc;		/* pid 0: not running */
	uint8_t *alloc;			/* proc.alloc_len bytes */
	uint64_t not_before_ns;		/* 0: none */
	uint64_t start_ns;		/* its current attempt's start; 0: unknown */
	bool cancel_requested;		/* acknowledged, not yet obeyed */
	struct job_extra *next;
};
const struct job_extra *durable_job_extra(struct durable *d, jr_job_id id);
/* Recovery: a restored job waits out a backoff. */
void durable_note_backoff(struct durable *d, jr_job_id id, uint64_t not_before_ns);
/* A cancel acknowledged for a job not yet final (recovery's too): a
 * snapshot keeps it until the job ends. */
void durable_note_cancel(struct durable *d, jr_job_id id);
/* A running job's cancel, journaled as record seq: true if it waits for
 * the record to be on disk (the engine is told then); false: cancel now. */
bool durable_cancel_after(struct durable *d, uint64_t seq, jr_job_id id);

struct jr_journal *durable_journal(struct durable *d);
int durable_event_fd(const struct durable *d);

struct durable_stats {
	uint64_t records, held, refused;
	uint64_t ack_wait_max_us;
	struct jr_journal_stats journal;
};
void durable_get_stats(struct durable *d, struct durable_stats *out);

/* Jobs submitted and ended, as journaled, and the wait and run-time
 * histograms (issue 16): put back at a start by recover_apply. */
struct jobstats *durable_jobstats(struct durable *d);

/* The journal's directory. */
const char *durable_dir(const struct durable *d);

#endif
