/*
 * journal.c - journal segments: group commit through io_uring, replay up
 * to the first torn or corrupt record. See journal.h.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/common.h"
#include "base/crc32c.h"
#include "journal/journal.h"
#include "journal/record.h"

#define SEGMENT_DEFAULT (64 * JR_MIB)

/* A group on its way to disk: one write and one fdatasync. */
struct flight {
	char *buf;
	size_t len, cap;
	uint64_t first_seq, last_seq;
	int fd;
	uint64_t offset;
	int ops_left;		/* CQEs still to come */
	int error;		/* 0 or -errno of the write or sync */
	bool busy;
};

struct jr_journal {
	char dir[256];
	int fd;			/* the segment being written */
	uint64_t segment_bytes;
	uint64_t assigned;	/* bytes of that segment given to flights */
	uint64_t next_seq;
	uint64_t durable_seq;	/* every record up to it is on disk */
	int spare_fd;		/* the next segment, preallocated; -1: none */
	int space_error;	/* why there is no spare: 0 or -errno */
	int io_error;		/* the last failed flight's error, until one succeeds */
	int submit_error;	/* a refused submit's, while what it held waits queued */
	struct io_uring ring;
	int event_fd;
	bool no_sync, trim_on_close;
	char *group;
	size_t group_len, group_cap, group_records;
	uint64_t group_first_seq;
	struct flight flights[JR_JOURNAL_FLIGHTS];
	uint32_t flight_head, flight_count;	/* FIFO, oldest first */
	struct jr_journal_stats stats;
};

/* Tests (debug builds): faults still to inject, by kind, in every journal. */
static uint32_t faults_left[JR_JOURNAL_FAULT_KINDS];

void jr_journal_inject_faults(enum jr_journal_fault kind, uint32_t n)
{
	JR_ASSERT(kind < JR_JOURNAL_FAULT_KINDS);
	faults_left[kind] = n;
}

/* Does this call fail, injected? Always false in release builds. */
static bool fault_injected(enum jr_journal_fault kind)
{
	if (!JR_DEBUG || faults_left[kind] == 0)
		return false;
	faults_left[kind]--;
	return true;
}


/* --- segments -------------------------------------------------------------------- */

int jr_journal_sync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), rc = 0;

	if (fd < 0)
		return -errno;
	if (fsync(fd) < 0)
		rc = -errno;
	close(fd);
	return rc;
}

static void spare_path(const struct jr_journal *j, char *out, size_t size)
{
	snprintf(out, size, "%s/journal-spare.tmp", j->dir);
}

/* The next segment, made ahead of need under a temporary name and
 * preallocated, so that appends do not change a file's size (fdatasync
 * then has no metadata to write) and a full disk shows here, while the
 * current segment still has room, not in the middle of a write. */
static int spare_make(struct jr_journal *j)
{
	char path[300];
	int fd;

	if (j->spare_fd >= 0)
		return 0;
	spare_path(j, path, sizeof(path));
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return j->space_error = -errno;
	if (fallocate(fd, 0, 0, (off_t)j->segment_bytes) < 0 && errno != EOPNOTSUPP) {
		int rc = -errno;
		close(fd);
		unlink(path);
		return j->space_error = rc;
	}
	j->spare_fd = fd;
	j->space_error = 0;
	return 0;
}

/* The spare becomes the segment holding first_seq on. */
static int segment_switch(struct jr_journal *j, uint64_t first_seq)
{
	char from[300], to[300];
	int rc = spare_make(j);

	if (rc < 0)
		return rc;
	spare_path(j, from, sizeof(from));
	snprintf(to, sizeof(to), "%s/journal-%016llx.log", j->dir, (unsigned long long)first_seq);
	if (rename(from, to) < 0)
		return -errno;
	rc = jr_journal_sync_dir(j->dir);
	if (rc < 0)
		return rc;
	if (j->fd >= 0)
		close(j->fd);
	j->fd = j->spare_fd;
	j->spare_fd = -1;
	j->assigned = 0;
	j->stats.segments_started++;
	spare_make(j);	/* failing is noted in space_error, not fatal here */
	return 0;
}

/* The SQ as asked (default 16 entries); the CQ holds the completions of
 * every flight at once however small the SQ (a write and a sync each),
 * twice the SQ by default. */
static int ring_init(struct jr_journal *j, uint32_t sq_entries)
{
	struct io_uring_params p = { .flags = IORING_SETUP_CQSIZE };
	uint32_t sq = sq_entries ? sq_entries : 4 * JR_JOURNAL_FLIGHTS;

	p.cq_entries = 2 * (sq > 4 * JR_JOURNAL_FLIGHTS ? sq : 4 * JR_JOURNAL_FLIGHTS);
	return io_uring_queue_init_params(sq, &j->ring, &p);
}

/* The event fd, readable when a flight lands. liburing returns the error
 * of a registration and leaves errno alone: a failed one read errno (0,
 * or a stale value) and opened a journal whose flights never woke it. */
static int event_fd_attach(struct jr_journal *j)
{
	int rc;

	j->event_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (j->event_fd < 0)
		return -errno;
	rc = fault_injected(JR_JOURNAL_FAULT_REGISTER)
		     ? -EBUSY
		     : io_uring_register_eventfd(&j->ring, j->event_fd);
	return rc < 0 ? rc : 0;
}

int jr_journal_open(struct jr_journal **out, const struct jr_journal_opts *opts)
{
	struct jr_journal *j;
	int rc;

	if (!opts || !opts->dir || strlen(opts->dir) >= sizeof(j->dir) || opts->sq_entries == 1)
		return -EINVAL;
	if (mkdir(opts->dir, 0700) < 0 && errno != EEXIST)
		return -errno;
	j = jr_calloc(1, sizeof(*j));
	if (!j)
		return -ENOMEM;
	strcpy(j->dir, opts->dir);
	j->fd = j->spare_fd = j->event_fd = -1;
	j->segment_bytes = opts->segment_bytes ? opts->segment_bytes : SEGMENT_DEFAULT;
	j->next_seq = opts->next_seq ? opts->next_seq : 1;
	j->no_sync = opts->no_sync;
	j->trim_on_close = opts->trim_on_close;
	j->durable_seq = j->next_seq - 1;
	rc = ring_init(j, opts->sq_entries);
	if (rc < 0) {
		jr_free(j);
		return rc;
	}
	rc = event_fd_attach(j);
	if (rc == 0)
		rc = segment_switch(j, j->next_seq);
	if (rc < 0) {
		jr_journal_close(j);
		return rc;
	}
	*out = j;
	return 0;
}

/* Room in the group for size bytes: 0 or -ENOMEM. */
static int group_grow(struct jr_journal *j, size_t size)
{
	size_t cap = j->group_cap ? j->group_cap : 65536;
	char *g;

	if (size <= j->group_cap)
		return 0;
	while (cap < size)
		cap *= 2;
	g = realloc(j->group, cap);
	if (!g)
		return -ENOMEM;
	j->group = g;
	j->group_cap = cap;
	return 0;
}

int jr_journal_appendv(struct jr_journal *j, uint16_t type, const struct iovec *iov,
		       int iovcnt, uint64_t *seq)
{
	size_t len = 0, need;
	struct record_header h = { .seq = j->next_seq, .type = type };
	char *p;

	for (int i = 0; i < iovcnt; i++)
		len += iov[i].iov_len;
	if (len > JR_JOURNAL_RECORD_MAX)
		return -E2BIG;
	need = JR_JOURNAL_HEADER_BYTES + PAD8(len);
	if (group_grow(j, j->group_len + need) < 0)
		return -ENOMEM;
	h.len = (uint32_t)len;
	h.crc = jr_crc32c(jr_crc32c(0, &h.seq, sizeof(h.seq)), &h.type, sizeof(h.type));
	p = j->group + j->group_len + sizeof(h);
	for (int i = 0; i < iovcnt; i++) {
		memcpy(p, iov[i].iov_base, iov[i].iov_len);
		h.crc = jr_crc32c(h.crc, p, iov[i].iov_len);
		p += iov[i].iov_len;
	}
	memset(p, 0, PAD8(len) - len);
	memcpy(j->group + j->group_len, &h, sizeof(h));
	if (j->group_records == 0)
		j->group_first_seq = h.seq;
	/* The group's records are numbered on from the first, without a gap. */
	JR_ASSERT(h.seq == j->group_first_seq + j->group_records);
	JR_ASSERT(j->group_len % 8 == 0 && need % 8 == 0);
	j->group_len += need;
	j->group_records++;
	if (seq)
		*seq = j->next_seq;
	j->next_seq++;
	return 0;
}

int jr_journal_append(struct jr_journal *j, uint16_t type, const void *payload,
		      uint32_t len, uint64_t *seq)
{
	struct iovec iov = { (void *)payload, len };

	return jr_journal_appendv(j, type, &iov, 1, seq);
}

/* --- flights ---------------------------------------------------------------------- */

static struct flight *flight_at(struct jr_journal *j, uint32_t k)
{
	return &j->flights[(j->flight_head + k) % JR_JOURNAL_FLIGHTS];
}

/* SQ entries a flight takes: its write, and the sync linked to it. */
static unsigned flight_ops(const struct jr_journal *j)
{
	return j->no_sync ? 1 : 2;
}

/* Hand what the SQ holds to the kernel. A refused submit (-EAGAIN,
 * -EBUSY, -ENOMEM) leaves it queued, noted in submit_error: the next
 * flush, reap, maintain or wait sends it again. Ignored, as it was, a
 * refusal left its flight waiting for completions that never came. */
static int sq_send(struct jr_journal *j)
{
	int rc = 0;

	while (io_uring_sq_ready(&j->ring) > 0) {
		rc = fault_injected(JR_JOURNAL_FAULT_SUBMIT) ? -EAGAIN : io_uring_submit(&j->ring);
		if (rc == -EINTR)
			continue;
		if (rc == 0)
			rc = -EAGAIN;	/* nothing taken: try later, not in a loop */
		if (rc < 0)
			break;
	}
	j->submit_error = rc < 0 ? rc : 0;
	return j->submit_error;
}

/* Room in the SQ for a flight's entries, all of them: the write and its
 * linked sync must go in one submission, or the link breaks and the sync
 * may run first. A full SQ (what refused submits left) is sent first.
 * 0, or why there is no room; then nothing was queued. */
static int sq_make_room(struct jr_journal *j)
{
	int rc;

	if (io_uring_sq_space_left(&j->ring) >= flight_ops(j))
		return 0;
	rc = sq_send(j);
	if (io_uring_sq_space_left(&j->ring) >= flight_ops(j))
		return 0;
	return rc < 0 ? rc : -EBUSY;
}

/* An entry of the room sq_make_room() made: never NULL (one writer). */
static struct io_uring_sqe *sqe_get(struct jr_journal *j)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&j->ring);

	JR_ASSERT(sqe != NULL);
	return sqe;
}

/* One write and one fdatasync, linked: the sync runs only after the
 * write completed in full. Queued, then sent: a refused submit leaves the
 * flight queued (sq_send()). 0, or no room in the SQ (nothing queued). */
static int flight_submit(struct jr_journal *j, struct flight *f)
{
	uint64_t tag = (uint64_t)(f - j->flights);
	struct io_uring_sqe *w, *s;
	int rc = sq_make_room(j);
	int fd = f->fd;

	if (rc < 0)
		return rc;
	JR_ASSERT(!f->busy && f->len > 0 && f->offset % 8 == 0);
	if (fault_injected(JR_JOURNAL_FAULT_WRITE))
		fd = -1;	/* tests: a write the kernel refuses */
	w = sqe_get(j);
	io_uring_prep_write(w, fd, f->buf, (unsigned)f->len, f->offset);
	io_uring_sqe_set_data64(w, tag << 1);
	f->ops_left = 1;
	if (!j->no_sync) {
		w->flags |= IOSQE_IO_LINK;
		s = sqe_get(j);
		io_uring_prep_fsync(s, f->fd, IORING_FSYNC_DATASYNC);
		io_uring_sqe_set_data64(s, tag << 1 | 1);
		f->ops_left = 2;
	}
	f->error = 0;
	f->busy = true;
	sq_send(j);
	return 0;
}

static void on_cqe(struct jr_journal *j, const struct io_uring_cqe *cqe)
{
	uint64_t data = io_uring_cqe_get_data64(cqe);
	struct flight *f = &j->flights[data >> 1];
	int res = cqe->res;

	JR_ASSERT((data >> 1) < JR_JOURNAL_FLIGHTS);
	JR_ASSERT(f->busy && f->ops_left > 0);	/* one CQE per operation sent */
	if (!(data & 1) && res >= 0 && (size_t)res != f->len)
		res = -EIO;	/* short write: the sync is cancelled */
	if (res < 0 && f->error == 0)
		f->error = res == -ECANCELED ? -EIO : res;
	f->ops_left--;
}

/* The oldest flight landed: the durable mark moves over it, and only
 * over it: its records follow the mark without a gap. */
static void retire_oldest(struct jr_journal *j, struct flight *f)
{
	JR_ASSERT(f->first_seq == j->durable_seq + 1);
	JR_ASSERT(f->last_seq >= f->first_seq && f->last_seq < j->next_seq);
	j->io_error = 0;
	j->durable_seq = f->last_seq;
	j->stats.bytes += f->len;
	j->stats.syncs++;
	f->busy = false;
	f->len = 0;
	j->flight_head = (j->flight_head + 1) % JR_JOURNAL_FLIGHTS;
	j->flight_count--;
}

/* Oldest flights first: the durable mark moves over each one done. A
 * failed one is written again (same bytes, same place) by the next
 * flush; nothing after it counts as durable until it succeeds. */
static void retire_done(struct jr_journal *j)
{
	JR_ASSERT(j->flight_count <= JR_JOURNAL_FLIGHTS);
	while (j->flight_count) {
		struct flight *f = flight_at(j, 0);
		if (f->ops_left || !f->busy)
			break;
		if (f->error) {
			j->io_error = f->error;
			j->stats.write_errors++;
			f->busy = false;	/* parked: resubmitted by flush */
			break;
		}
		retire_oldest(j, f);
	}
}

int jr_journal_reap(struct jr_journal *j)
{
	struct io_uring_cqe *cqe;
	unsigned head, seen = 0;
	uint64_t n;

	sq_send(j);
	if (read(j->event_fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		return -errno;
	io_uring_for_each_cqe(&j->ring, head, cqe) {
		on_cqe(j, cqe);
		seen++;
	}
	io_uring_cq_advance(&j->ring, seen);
	retire_done(j);
	return j->io_error ? j->io_error : j->submit_error;
}

/* Wait for one completion. What a refused submit left queued is sent
 * first: waiting for it unsent would never end. */
static int wait_one(struct jr_journal *j)
{
	struct io_uring_cqe *cqe;
	int rc = sq_send(j);

	if (rc < 0)
		return rc;
	do	/* a signal (a child's SIGCHLD at shutdown) is not an error */
		rc = io_uring_wait_cqe(&j->ring, &cqe);
	while (rc == -EINTR);
	if (rc < 0)
		return rc;
	on_cqe(j, cqe);
	io_uring_cqe_seen(&j->ring, cqe);
	retire_done(j);
	return 0;
}

static bool any_in_air(struct jr_journal *j)
{
	for (uint32_t k = 0; k < j->flight_count; k++)
		if (flight_at(j, k)->busy && flight_at(j, k)->ops_left)
			return true;
	return false;
}

/* Wait for every flight to land (or fail). */
static int drain(struct jr_journal *j)
{
	while (any_in_air(j)) {
		int rc = wait_one(j);
		if (rc < 0)
			return rc;
	}
	retire_done(j);
	return 0;
}

/* A parked (failed) flight goes again before anything newer: 1 when it
 * went, 0 when there is none, or -errno (no room in the SQ). */
static int resubmit_failed(struct jr_journal *j)
{
	struct flight *f = j->flight_count ? flight_at(j, 0) : NULL;
	int rc;

	if (!f || f->busy)
		return 0;
	rc = flight_submit(j, f);
	return rc < 0 ? rc : 1;
}

/* Make room in the segment for len more bytes: a new segment once every
 * flight into this one has landed. */
static int make_room(struct jr_journal *j, size_t len)
{
	int rc;

	if (j->assigned == 0 || j->assigned + len <= j->segment_bytes)
		return 0;
	rc = drain(j);
	if (rc < 0)
		return rc;
	if (j->flight_count)	/* one failed: it must land in this segment */
		return j->io_error ? j->io_error : -EIO;
	return segment_switch(j, j->group_first_seq);
}

/* The group becomes the next flight, at the end of what the segment
 * has given out. Its buffer goes with the flight; the flight's old one
 * takes its place: no copy. */
static struct flight *group_to_flight(struct jr_journal *j)
{
	struct flight *f = flight_at(j, j->flight_count);
	char *buf = f->buf;
	size_t cap = f->cap;

	JR_ASSERT(j->flight_count < JR_JOURNAL_FLIGHTS && !f->busy && f->len == 0);
	/* Flights follow each other, and the first follows the durable mark. */
	JR_ASSERT(j->group_first_seq == (j->flight_count ? flight_at(j, j->flight_count - 1)->last_seq
							  : j->durable_seq) + 1);
	/* Aligned, and within the segment unless alone in it (a group larger
	 * than a segment gets one of its own, which grows). */
	JR_ASSERT(j->assigned % 8 == 0);
	JR_ASSERT(j->assigned == 0 || j->assigned + j->group_len <= j->segment_bytes);
	f->buf = j->group;
	f->cap = j->group_cap;
	f->len = j->group_len;
	f->first_seq = j->group_first_seq;
	f->last_seq = j->next_seq - 1;
	f->fd = j->fd;
	f->offset = j->assigned;
	j->group = buf;
	j->group_cap = cap;
	j->group_len = 0;
	j->group_records = 0;
	j->assigned += f->len;
	j->flight_count++;
	j->stats.groups++;
	return f;
}

int jr_journal_flush(struct jr_journal *j)
{
	int rc = sq_send(j);	/* what a refused submit left: before anything new */

	if (rc == 0)
		rc = resubmit_failed(j);
	if (rc != 0 || j->group_len == 0)
		return rc < 0 ? rc : 0;
	if (j->flight_count == JR_JOURNAL_FLIGHTS)
		return -EAGAIN;
	rc = make_room(j, j->group_len);
	if (rc == 0)
		rc = sq_make_room(j);	/* before the group leaves: kept on failure */
	if (rc < 0)
		return rc;
	if (j->flight_count == JR_JOURNAL_FLIGHTS)
		return -EAGAIN;
	return flight_submit(j, group_to_flight(j));
}

int jr_journal_commit(struct jr_journal *j)
{
	uint64_t want = j->next_seq - 1;
	int rc;

	while (j->durable_seq < want) {
		rc = jr_journal_flush(j);
		if (rc < 0 && rc != -EAGAIN)
			return rc;
		JR_ASSERT(j->flight_count > 0);	/* records wait in a flight */
		if (j->flight_count == 0)
			return -EIO;
		rc = wait_one(j);
		if (rc < 0)
			return rc;
		if (j->io_error && !flight_at(j, 0)->busy)
			return j->io_error;	/* the next commit tries again */
	}
	return 0;
}

uint64_t jr_journal_durable_seq(const struct jr_journal *j)
{
	return j->durable_seq;
}

uint64_t jr_journal_next_seq(const struct jr_journal *j)
{
	return j->next_seq;
}

int jr_journal_event_fd(const struct jr_journal *j)
{
	return j->event_fd;
}

bool jr_journal_busy(const struct jr_journal *j)
{
	return j->flight_count > 0 || j->group_len > 0;
}

uint64_t jr_journal_room(const struct jr_journal *j)
{
	uint64_t used = j->assigned + j->group_len;
	uint64_t here = used < j->segment_bytes ? j->segment_bytes - used : 0;

	return here + (j->spare_fd >= 0 ? j->segment_bytes : 0);
}

int jr_journal_error(const struct jr_journal *j)
{
	if (j->io_error || j->submit_error)
		return j->io_error ? j->io_error : j->submit_error;
	return j->spare_fd < 0 ? j->space_error : 0;
}

int jr_journal_maintain(struct jr_journal *j)
{
	spare_make(j);
	if (sq_send(j) == 0)
		resubmit_failed(j);
	return jr_journal_error(j);
}

int jr_journal_rotate(struct jr_journal *j)
{
	int rc = drain(j);

	if (rc < 0)
		return rc;
	if (j->flight_count || j->group_len)
		return -EBUSY;
	return j->assigned ? segment_switch(j, j->next_seq) : 0;
}

void jr_journal_get_stats(const struct jr_journal *j, struct jr_journal_stats *out)
{
	*out = j->stats;
	out->durable_seq = j->durable_seq;
	out->next_seq = j->next_seq;
	out->room = jr_journal_room(j);
	out->error = jr_journal_error(j);
}

size_t jr_journal_pending(const struct jr_journal *j)
{
	return j->group_records;
}

void jr_journal_close(struct jr_journal *j)
{
	char path[300];

	if (!j)
		return;
	drain(j);
	if (j->fd >= 0 && j->trim_on_close && j->flight_count == 0 &&
	    ftruncate(j->fd, (off_t)j->assigned) == 0)
		fdatasync(j->fd);
	if (j->fd >= 0)
		close(j->fd);
	if (j->spare_fd >= 0) {
		close(j->spare_fd);
		spare_path(j, path, sizeof(path));
		unlink(path);
	}
	io_uring_queue_exit(&j->ring);
	if (j->event_fd >= 0)
		close(j->event_fd);
	for (uint32_t k = 0; k < JR_JOURNAL_FLIGHTS; k++)
		free(j->flights[k].buf);
	free(j->group);
	jr_free(j);
}
