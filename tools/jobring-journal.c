/*
 * jobring-journal.c - look into a jobringd state directory without the
 * daemon: dump its records, verify them, or summarize what they hold.
 * Also run as `jobring journal ...`.
 *
 *   jobring-journal dump DIR        one line per record (snapshot, then journal)
 *   jobring-journal verify DIR      exit 0 if every record checks out, 1 if the
 *                                   journal is torn or corrupt (says where)
 *   jobring-journal summarize DIR   records by type, jobs by state, bytes per job
 *
 * DIR is the state directory (with journal/ and snapshot-*), or a journal
 * directory itself. Exit codes: 0 intact, 1 damage found, 2 usage, 3 the
 * directory cannot be read.
 */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "journal/journal.h"
#include "daemon/durable/records.h"
#include "daemon/state/allocrec.h"

enum { OK = 0, DAMAGED = 1, USAGE = 2, UNREADABLE = 3 };

static const char *type_name(uint16_t type)
{
	static const char *names[] = {
		[REC_SUBMIT] = "submit", [REC_START] = "start", [REC_RETRY] = "retry",
		[REC_END] = "end", [REC_CANCEL] = "cancel", [REC_QUEUE] = "queue",
		[REC_WORKER] = "worker", [REC_SNAP_BEGIN] = "snapshot_begin",
		[REC_SNAP_JOBS] = "snapshot_jobs", [REC_SNAP_END] = "snapshot_end",
		[REC_RESULT] = "result", [REC_SNAP_EXECS] = "snapshot_executions",
		[REC_CONTROL] = "control", [REC_UPDATE] = "update", [REC_SCHEDULER] = "scheduler",
		[REC_SCHEDULE] = "schedule", [REC_SCHEDULE_DELETE] = "schedule_delete",
		[REC_SNAP_ORIGINS] = "snapshot_origins",
		[REC_TRIGGER] = "trigger", [REC_TRIGGER_DELETE] = "trigger_delete",
		[REC_TRIGGER_FIRE] = "trigger_fire",
		[REC_SNAP_COUNTERS] = "snapshot_counters",
		[REC_ALLOC] = "alloc", [REC_ALLOC_DELETE] = "alloc_delete",	/* issue 17 */
		[REC_ALLOC_JOB] = "alloc_job",
	};

	return type < sizeof(names) / sizeof(names[0]) && names[type] ? names[type] : "unknown";
}

/* --- dump ------------------------------------------------------------------------------ */

/* Each job of a SNAP_JOBS record (fn may be NULL): how many. */
static uint64_t for_each_snap_job(const struct jr_journal_record *r,
				  void (*fn)(const struct rec_snap_view *))
{
	struct rec_snap_view v;
	size_t pos = 0;
	uint64_t n = 0;

	while (rec_snap_next(r->payload, r->len, &pos, &v) == 0) {
		if (fn)
			fn(&v);
		n++;
	}
	return n;
}

static void dump_proc(const struct rec_proc *p)
{
	printf(" pid=%d start_ticks=%" PRIu64 " cgroup=job-%u", p->pid, p->start_ticks,
	       p->cgroup_slot);
}

static void dump_snap_job(const struct rec_snap_view *v)
{
	printf("\n  job=%016" PRIx64 " state=%s attempt=%u", v->job.job_id,
	       jr_job_state_name((enum jr_job_state)v->job.state), v->job.attempt);
	if (v->job.flags & REC_SNAP_PROC)
		dump_proc(&v->proc);
	if (v->job.flags & REC_SNAP_BACKOFF)
		printf(" not_before=%" PRIu64, v->not_before_ns);
	const char *text = v->text, *nl;
	size_t len = (size_t)v->text_len;
	if ((v->job.flags & REC_SNAP_HEADER) && (nl = memchr(text, '\n', len))) {
		printf(" header=%.*s", (int)(nl - text), text);	/* one line a job */
		len -= (size_t)(nl + 1 - text);
		text = nl + 1;
	} else if (v->job.flags & REC_SNAP_HEADER_SAME) {
		printf(" header=same");
	}
	printf(" %.*s", (int)len, text);
}

static void dump_submit(const struct jr_journal_record *r)
{
	struct rec_submit h;
	jr_job_id first;

	if (r->len < sizeof(h) + sizeof(first)) {
		printf(" (short)");
		return;
	}
	memcpy(&h, r->payload, sizeof(h));
	memcpy(&first, (const char *)r->payload + sizeof(h), sizeof(first));
	size_t head = sizeof(h) + (size_t)h.count * sizeof(jr_job_id);
	struct rec_origin o = { 0 };
	if ((h.flags & REC_SUBMIT_ORIGIN) && r->len >= head + sizeof(o)) {	/* issue 15 */
		memcpy(&o, (const char *)r->payload + head, sizeof(o));
		o.name[sizeof(o.name) - 1] = '\0';
		head += sizeof(o);
	}
	printf(" uid=%u jobs=%u first=%016" PRIx64 "%s%s body=%zu bytes", h.uid, h.count, first,
	       h.flags & REC_SUBMIT_SINGLE ? " single" : " batch",
	       h.flags & REC_SUBMIT_HEADER ? " with_header" : "",
	       r->len >= head ? (size_t)r->len - head : 0);
	if (o.kind)
		printf(" origin=%s:%u:%s due_ns=%" PRIu64,
		       o.kind == REC_ORIGIN_SCHEDULE ? "schedule" : "trigger", o.source_id, o.name,
		       o.due_ns);
}

static void dump_event(const struct jr_journal_record *r)
{
	struct rec_event e;
	struct rec_proc p;
	uint64_t not_before;

	if (r->len < sizeof(e)) {
		printf(" (bad size)");
		return;
	}
	memcpy(&e, r->payload, sizeof(e));
	uint32_t worker = rec_event_unpack(&e);
	printf(" job=%016" PRIx64 " state=%s attempt=%u worker=%u", e.job_id,
	       jr_job_state_name((enum jr_job_state)e.state), e.attempt, worker);
	if (r->type != REC_START)
		printf(" reason=%s exit=%d signal=%d", jr_reason_name((enum jr_reason)e.reason),
		       e.exit_code, e.signal);
	if (r->type == REC_START && r->len >= sizeof(e) + sizeof(p)) {
		memcpy(&p, (const char *)r->payload + sizeof(e), sizeof(p));
		dump_proc(&p);
	}
	if (r->type == REC_RETRY && r->len >= sizeof(e) + sizeof(not_before)) {
		memcpy(&not_before, (const char *)r->payload + sizeof(e), sizeof(not_before));
		printf(" not_before=%" PRIu64, not_before);
	}
}

/* RESULT: the execution and its JSON. */
static void dump_result(const struct jr_journal_record *r)
{
	struct rec_result rr;

	if (r->len < sizeof(rr)) {
		printf(" (bad size)");
		return;
	}
	memcpy(&rr, r->payload, sizeof(rr));
	printf(" execution=%016" PRIx64 " attempt=%u result=%.*s", rr.execution_id, rr.attempt,
	       (int)(rr.len < 200 && rr.len <= r->len - sizeof(rr) ? rr.len : 200),
	       (const char *)r->payload + sizeof(rr));
}

/* SNAP_EXECS: a job's past attempts, one "attempt=" each. */
static void dump_snap_execs(const struct jr_journal_record *r)
{
	const uint8_t *p = r->payload;
	struct rec_exec_job hj;
	size_t at = sizeof(hj);

	if (r->len < sizeof(hj)) {
		printf(" (bad size)");
		return;
	}
	memcpy(&hj, p, sizeof(hj));
	printf(" job=%016" PRIx64 " executions=%u", hj.job_id, hj.count);
	for (uint32_t i = 0; i < hj.count && r->len - at >= sizeof(struct rec_exec); i++) {
		struct rec_exec e;
		memcpy(&e, p + at, sizeof(e));
		printf(" [attempt=%u state=%s reason=%s exit=%d signal=%d worker=%u result=%uB]",
		       e.attempt, jr_job_state_name((enum jr_job_state)e.state),
		       jr_reason_name((enum jr_reason)e.reason), e.exit_code, e.signal, e.worker_id,
		       e.result_len);
		at += sizeof(e) + REC_PAD8(e.result_len);
		if (at > r->len)
			break;
	}
}

static void dump_other(const struct jr_journal_record *r)
{
	const char *p = r->payload;

	if (r->type == REC_CANCEL && r->len == sizeof(struct rec_cancel)) {
		const struct rec_cancel *c = r->payload;
		printf(" job=%016" PRIx64 " by uid %u", c->job_id, c->uid);
	} else if (r->type == REC_QUEUE && r->len == sizeof(struct rec_queue)) {
		const struct rec_queue *q = r->payload;
		printf(" name=%.47s priority=%d max_workers=%u", q->name, q->priority, q->max_workers);
	} else if (r->type == REC_WORKER && r->len >= sizeof(struct rec_worker)) {
		const struct rec_worker *w = r->payload;
		printf(" w%u uid=%u %.*s", w->number, w->uid,
		       (int)(r->len - sizeof(*w)), p + sizeof(*w));
	} else if (r->type == REC_CONTROL && r->len == sizeof(struct rec_control)) {
		const struct rec_control *c = r->payload;
		static const char *const ops[] = { "?", "hold", "release", "requeue" };
		printf(" job=%016" PRIx64 " %s attempt=%u by uid %u", c->job_id,
		       ops[c->op < 4 ? c->op : 0], c->attempt, c->uid);
	} else if (r->type == REC_UPDATE && r->len >= sizeof(struct rec_update)) {
		const struct rec_update *u = r->payload;
		size_t skip = u->header_len ? (size_t)u->header_len + 1 : 0;
		size_t text = r->len - sizeof(*u);
		printf(" job=%016" PRIx64 " by uid %u %.*s", u->job_id, u->uid,
		       skip <= text ? (int)(text - skip) : 0,
		       skip <= text ? p + sizeof(*u) + skip : "");
	} else if (r->type == REC_SCHEDULE && r->len >= sizeof(struct rec_schedule)) {
		struct rec_schedule h;
		memcpy(&h, p, sizeof(h));
		printf(" id=%u uid=%u op=%u last_due_ns=%" PRIu64 " fired=%" PRIu64 " %.*s", h.id, h.uid,
		       h.op, h.last_due_ns, h.fired, (int)(r->len - sizeof(h)), p + sizeof(h));
	} else if (r->type == REC_SCHEDULE_DELETE && r->len == sizeof(struct rec_schedule_delete)) {
		struct rec_schedule_delete h;
		memcpy(&h, p, sizeof(h));
		printf(" id=%u by uid %u", h.id, h.by_uid);
	} else if (r->type == REC_SNAP_COUNTERS && r->len >= sizeof(struct rec_counters)) {
		struct rec_counters c;
		memcpy(&c, p, sizeof(c));
		printf(" submitted=%" PRIu64 " succeeded=%" PRIu64 " failed=%" PRIu64
		       " cancelled=%" PRIu64, c.submitted, c.ended[0], c.ended[1], c.ended[2]);
	} else if (r->type == REC_SNAP_ORIGINS) {
		printf(" origins=%zu", (size_t)r->len / sizeof(struct rec_origin_job));
	} else if (r->type == REC_SCHEDULER && r->len == sizeof(struct rec_scheduler)) {
		const struct rec_scheduler *c = r->payload;
		printf(" %s by uid %u", c->paused ? "paused" : "resumed", c->uid);
	} else if (r->type == REC_SNAP_BEGIN && r->len == sizeof(struct rec_snap_begin)) {
		printf(" covers journal seq <= %" PRIu64, ((const struct rec_snap_begin *)p)->covers_seq);
	} else if (r->type == REC_SNAP_JOBS) {
		for_each_snap_job(r, dump_snap_job);
	} else if (r->type == REC_RESULT) {
		dump_result(r);
	} else if (r->type == REC_SNAP_EXECS) {
		dump_snap_execs(r);
	} else if (r->type == REC_SNAP_END && r->len == sizeof(struct rec_snap_end)) {
		printf(" jobs=%" PRIu64, ((const struct rec_snap_end *)p)->jobs);
	}
}

static int dump_record(void *ctx, const struct jr_journal_record *r)
{
	(void)ctx;
	printf("%" PRIu64 " %s len=%u", r->seq, type_name(r->type), r->len);
	if (r->type == REC_SUBMIT)
		dump_submit(r);
	else if (r->type == REC_START || r->type == REC_RETRY || r->type == REC_END)
		dump_event(r);
	else
		dump_other(r);
	putchar('\n');
	return 0;
}

/* --- summarize -------------------------------------------------------------------------- */

struct summary {
	uint64_t by_type[128];
	uint64_t submitted, ended[8], snapshot_jobs;
	uint64_t bytes;
};

static int sum_record(void *ctx, const struct jr_journal_record *r)
{
	struct summary *s = ctx;
	struct rec_submit h;
	struct rec_event e;

	s->by_type[r->type < 128 ? r->type : 0]++;
	s->bytes += JR_JOURNAL_HEADER_BYTES + JR_JOURNAL_PAD8(r->len);
	if (r->type == REC_SUBMIT && r->len >= sizeof(h)) {
		memcpy(&h, r->payload, sizeof(h));
		s->submitted += h.count;
	} else if (r->type == REC_END && r->len >= sizeof(e)) {
		memcpy(&e, r->payload, sizeof(e));
		rec_event_unpack(&e);
		s->ended[e.state & 7]++;
	} else if (r->type == REC_SNAP_JOBS) {
		s->snapshot_jobs += for_each_snap_job(r, NULL);
	}
	return 0;
}

/* --- the directories --------------------------------------------------------------------- */

static int snapshot_filter(const struct dirent *d)
{
	return strncmp(d->d_name, "snapshot-", 9) == 0 && strlen(d->d_name) == 25;
}

/* The latest snapshot directory of a state directory, or "". */
static void latest_snapshot(const char *dir, char *out, size_t size)
{
	struct dirent **names;
	int n = scandir(dir, &names, snapshot_filter, alphasort);

	out[0] = '\0';
	if (n > 0)
		snprintf(out, size, "%s/%s", dir, names[n - 1]->d_name);
	for (int i = 0; i < n; i++)
		free(names[i]);
	if (n >= 0)
		free(names);
}

static int report(const char *what, const char *dir, int rc,
		  const struct jr_journal_replay_result *res)
{
	if (rc < 0) {
		fprintf(stderr, "jobring-journal: cannot read %s: %s\n", dir, strerror(-rc));
		return UNREADABLE;
	}
	printf("%s %s: %" PRIu64 " records (seq %" PRIu64 "-%" PRIu64 "), %" PRIu64
	       " bytes, %u segments", what, dir, res->records, res->first_seq, res->last_seq,
	       res->bytes, res->segments);
	if (!res->bytes_dropped) {
		printf(", intact\n");
		return OK;
	}
	printf(", DAMAGED: %" PRIu64 " bytes after seq %" PRIu64 " are torn or corrupt "
	       "(from %s offset %" PRIu64 "); jobringd drops them at its next start (a torn "
	       "tail was never acknowledged)\n", res->bytes_dropped, res->last_seq, res->torn_segment,
	       res->torn_offset);
	return DAMAGED;
}

/* The latest snapshot (of a state directory), then the journal. */
static int each_part(const char *dir, int (*fn)(void *, const struct jr_journal_record *),
		     void *ctx)
{
	char snap[600] = "", journal[600];
	struct jr_journal_replay_result res;
	struct stat st;
	int worst = OK, rc;

	snprintf(journal, sizeof(journal), "%s/journal", dir);
	if (stat(journal, &st) == 0 && S_ISDIR(st.st_mode))
		latest_snapshot(dir, snap, sizeof(snap));
	else	/* given a journal directory itself */
		snprintf(journal, sizeof(journal), "%s", dir);
	if (snap[0])
		worst = report("snapshot", snap, jr_journal_replay(snap, fn, ctx, &res), &res);
	rc = report("journal", journal, jr_journal_replay(journal, fn, ctx, &res), &res);
	return rc > worst ? rc : worst;
}

static int summarize(const char *dir)
{
	struct summary s = { 0 };
	int rc = each_part(dir, sum_record, &s);
	uint64_t jobs = s.submitted + s.snapshot_jobs;

	printf("records:");
	for (uint16_t t = 0; t < 128; t++)
		if (s.by_type[t])
			printf(" %s %" PRIu64, type_name(t), s.by_type[t]);
	printf("\njobs: %" PRIu64 " in the snapshot, %" PRIu64 " submitted since; ended since: "
	       "%" PRIu64 " succeeded, %" PRIu64 " failed, %" PRIu64 " cancelled\n",
	       s.snapshot_jobs, s.submitted, s.ended[JR_JOB_SUCCEEDED], s.ended[JR_JOB_FAILED],
	       s.ended[JR_JOB_CANCELLED]);
	if (jobs)
		printf("bytes per job: %.0f (%" PRIu64 " record bytes, %" PRIu64 " jobs)\n",
		       (double)s.bytes / (double)jobs, s.bytes, jobs);
	return rc;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: jobring-journal dump|verify|summarize STATE_DIR\n"
		   "  dump       one line per record\n"
		   "  verify     exit 0 if intact, 1 if torn or corrupt\n"
		   "  summarize  records by type, jobs by state, bytes per job\n");
}

int main(int argc, char **argv)
{
	if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		usage(stdout);
		return OK;
	}
	if (argc != 3) {
		usage(stderr);
		return USAGE;
	}
	if (strcmp(argv[1], "dump") == 0)
		return each_part(argv[2], dump_record, NULL);
	if (strcmp(argv[1], "verify") == 0)
		return each_part(argv[2], NULL, NULL);
	if (strcmp(argv[1], "summarize") == 0)
		return summarize(argv[2]);
	usage(stderr);
	return USAGE;
}
