/*
 * recoverread.c - finding and reading the newest snapshot, then the
 * journal after it, each record through recover_record() (recover.c),
 * into a struct recovery. See recover.h.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/common.h"
#include "daemon/durable/recover.h"
#include "daemon/state/schedules.h"
#include "shm/jobtab.h"
#include "journal/journal.h"

/* --- reading ------------------------------------------------------------------------------ */

struct snap_read {
	struct recovery *r;
	uint64_t covers, jobs_said;
	bool begun, ended;
};

static int snapshot_record(void *ctx, const struct jr_journal_record *rec)
{
	struct snap_read *s = ctx;

	if (rec->type == REC_SNAP_BEGIN && rec->len == sizeof(struct rec_snap_begin)) {
		const struct rec_snap_begin *b = rec->payload;
		s->covers = b->covers_seq;
		s->begun = true;
		return 0;
	}
	if (rec->type == REC_SNAP_END && rec->len == sizeof(struct rec_snap_end)) {
		s->jobs_said = ((const struct rec_snap_end *)rec->payload)->jobs;
		s->ended = true;
		return 0;
	}
	return s->begun ? recover_record(s->r, rec->type, rec->payload, rec->len) : -EPROTO;
}

static int snapshot_filter(const struct dirent *d)
{
	return strncmp(d->d_name, "snapshot-", 9) == 0 && strlen(d->d_name) == 9 + 16;
}

uint64_t recover_latest_snapshot(const char *state_dir, char *name, size_t size)
{
	struct dirent **names;
	int n = scandir(state_dir, &names, snapshot_filter, alphasort);
	uint64_t seq = 0;

	name[0] = '\0';
	if (n <= 0)
		return 0;
	snprintf(name, size, "%s", names[n - 1]->d_name);
	seq = strtoull(name + 9, NULL, 16);
	for (int i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return seq;
}

static int read_snapshot(struct recovery *r, const char *state_dir)
{
	struct snap_read s = { .r = r };
	struct jr_journal_replay_result res;
	char name[64], path[600];
	int rc;

	if (!recover_latest_snapshot(state_dir, name, sizeof(name)))
		return 0;
	snprintf(path, sizeof(path), "%s/%s", state_dir, name);
	rc = jr_journal_replay(path, snapshot_record, &s, &res);
	recover_pack_done(&r->pack);
	recover_pack_done(&r->hpack);
	free(r->snap_header);
	r->snap_header = NULL;
	if (rc < 0 || !s.begun || !s.ended || res.bytes_dropped || s.jobs_said != r->snapshot_jobs) {
		snprintf(r->error, sizeof(r->error),
			 "snapshot %s is damaged (%s): not starting, so that nothing is lost; "
			 "inspect it with jobring-journal verify", path,
			 rc < 0 ? strerror(-rc) : !s.ended ? "no end record" : "bad records");
		return rc < 0 ? rc : -EBADMSG;
	}
	r->snapshot_seq = s.covers;
	return 0;
}

static int journal_record(void *ctx, const struct jr_journal_record *rec)
{
	struct recovery *r = ctx;
	int rc;

	if (rec->seq <= r->snapshot_seq)
		return 0;	/* in the snapshot already */
	rc = recover_record(r, rec->type, rec->payload, rec->len);
	if (rc == -EPROTO) {
		fprintf(stderr, "jobringd: journal record %llu (%s) has a bad payload: skipped\n",
			(unsigned long long)rec->seq, rec_type_name(rec->type));
		rc = 0;
	}
	return rc;
}

int recover_read(struct recovery *r, const char *state_dir, const char *journal_dir,
		 uint32_t capacity)
{
	struct jr_journal_replay_result res;
	uint64_t t0 = jr_now_monotonic_ns();
	int rc;

	memset(r, 0, sizeof(*r));
	r->capacity = capacity;
	r->paused = -1;
	triggers_init(&r->triggers);
	r->jobs = jr_table_alloc((size_t)capacity * sizeof(*r->jobs));
	if (!r->jobs || executions_init(&r->execs, capacity) < 0)
		return -ENOMEM;
	rc = read_snapshot(r, state_dir);
	if (rc < 0)
		return rc;
	rc = jr_journal_replay(journal_dir, journal_record, r, &res);
	if (rc < 0) {
		snprintf(r->error, sizeof(r->error), "cannot read the journal in %s: %s",
			 journal_dir, strerror(-rc));
		return rc;
	}
	r->records = res.records;
	r->last_seq = res.last_seq > r->snapshot_seq ? res.last_seq : r->snapshot_seq;
	r->bytes_dropped = res.bytes_dropped;
	r->journal_bytes = res.bytes;
	r->segments = res.segments;
	if ((rc = jr_journal_cut(journal_dir, &res)) < 0) {
		snprintf(r->error, sizeof(r->error), "cannot cut the journal after its damage: %s",
			 strerror(-rc));
		return rc;
	}
	r->read_ms = (double)(jr_now_monotonic_ns() - t0) / JR_NS_PER_MS;
	return 0;
}

int recover_lease_key(struct recovery *r, const char *state_dir)
{
	int rc = lease_key_load(&r->lease, state_dir, r->error, sizeof(r->error));

	r->lease_loaded = rc >= 0;
	r->lease_fresh = rc == 1;
	return rc < 0 ? rc : 0;
}
