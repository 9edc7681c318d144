/*
 * journal.c - journal segments: group commit through io_uring, replay up
 * to the first torn or corrupt record. See journal.h.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "alloc.h"
#include "crc32c.h"
#include "journal.h"

#define SEGMENT_DEFAULT (64ull << 20)
#define PAD8(n) (((n) + 7u) & ~7u)

struct record_header {
	uint32_t len;
	uint32_t crc;
	uint64_t seq;
	uint16_t type;
	uint16_t zero16;
	uint32_t zero32;
};
_Static_assert(sizeof(struct record_header) == JR_JOURNAL_HEADER_BYTES, "header size");

struct jr_journal {
	char dir[256];
	int fd;			/* the segment being written */
	uint64_t segment_bytes, used;	/* durable bytes in that segment */
	uint64_t next_seq;
	struct io_uring ring;
	char *group;
	size_t group_len, group_cap, group_records;
	uint64_t group_first_seq;
};

static uint32_t record_crc(uint64_t seq, uint16_t type, const void *payload, uint32_t len)
{
	uint32_t crc = jr_crc32c(0, &seq, sizeof(seq));

	crc = jr_crc32c(crc, &type, sizeof(type));
	return jr_crc32c(crc, payload, len);
}

/* --- writing ----------------------------------------------------------------------- */

static int sync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), rc = 0;

	if (fd < 0)
		return -errno;
	if (fsync(fd) < 0)
		rc = -errno;
	close(fd);
	return rc;
}

/* A new segment named after the first seq it will hold, preallocated so
 * that appends do not change the file's size (fdatasync then has no
 * metadata to write). */
static int segment_start(struct jr_journal *j, uint64_t first_seq)
{
	char path[300];
	int fd;

	snprintf(path, sizeof(path), "%s/journal-%016llx.log", j->dir,
		 (unsigned long long)first_seq);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	if (fallocate(fd, 0, 0, (off_t)j->segment_bytes) < 0 && errno != EOPNOTSUPP) {
		int rc = -errno;
		close(fd);
		unlink(path);
		return rc;
	}
	if (j->fd >= 0)
		close(j->fd);
	j->fd = fd;
	j->used = 0;
	return sync_dir(j->dir);
}

int jr_journal_open(struct jr_journal **out, const struct jr_journal_opts *opts)
{
	struct jr_journal *j;
	int rc;

	if (!opts || !opts->dir || strlen(opts->dir) >= sizeof(j->dir))
		return -EINVAL;
	if (mkdir(opts->dir, 0700) < 0 && errno != EEXIST)
		return -errno;
	j = jr_calloc(1, sizeof(*j));
	if (!j)
		return -ENOMEM;
	strcpy(j->dir, opts->dir);
	j->fd = -1;
	j->segment_bytes = opts->segment_bytes ? opts->segment_bytes : SEGMENT_DEFAULT;
	j->next_seq = opts->next_seq ? opts->next_seq : 1;
	rc = io_uring_queue_init(8, &j->ring, 0);
	if (rc < 0) {
		jr_free(j);
		return rc;
	}
	rc = segment_start(j, j->next_seq);
	if (rc < 0) {
		jr_journal_close(j);
		return rc;
	}
	*out = j;
	return 0;
}

int jr_journal_append(struct jr_journal *j, uint16_t type, const void *payload,
		      uint32_t len, uint64_t *seq)
{
	size_t need = JR_JOURNAL_HEADER_BYTES + PAD8(len);
	struct record_header h = { .len = len, .seq = j->next_seq, .type = type };

	if (len > JR_JOURNAL_RECORD_MAX)
		return -E2BIG;
	if (j->group_len + need > j->group_cap) {
		size_t cap = j->group_cap ? j->group_cap : 65536;
		char *g;
		while (cap < j->group_len + need)
			cap *= 2;
		g = realloc(j->group, cap);
		if (!g)
			return -ENOMEM;
		j->group = g;
		j->group_cap = cap;
	}
	h.crc = record_crc(h.seq, type, payload, len);
	if (j->group_records == 0)
		j->group_first_seq = h.seq;
	memcpy(j->group + j->group_len, &h, sizeof(h));
	memcpy(j->group + j->group_len + sizeof(h), payload, len);
	memset(j->group + j->group_len + sizeof(h) + len, 0, PAD8(len) - len);
	j->group_len += need;
	j->group_records++;
	if (seq)
		*seq = j->next_seq;
	j->next_seq++;
	return 0;
}

/* One write and one fdatasync, linked: the sync runs only after the
 * write completed in full. */
static int write_and_sync(struct jr_journal *j)
{
	struct io_uring_sqe *w = io_uring_get_sqe(&j->ring), *s;
	struct io_uring_cqe *cqe;
	int rc = 0;

	io_uring_prep_write(w, j->fd, j->group, (unsigned)j->group_len, j->used);
	w->flags |= IOSQE_IO_LINK;
	s = io_uring_get_sqe(&j->ring);
	io_uring_prep_fsync(s, j->fd, IORING_FSYNC_DATASYNC);
	if ((rc = io_uring_submit_and_wait(&j->ring, 2)) < 0)
		return rc;
	for (int i = 0; i < 2; i++) {
		if ((rc = io_uring_wait_cqe(&j->ring, &cqe)) < 0)
			return rc;
		if (cqe->res < 0 && rc == 0)
			rc = cqe->res == -ECANCELED ? -EIO : cqe->res;
		else if (i == 0 && cqe->res >= 0 && (size_t)cqe->res != j->group_len)
			rc = -EIO;	/* short write: the sync was cancelled */
		io_uring_cqe_seen(&j->ring, cqe);
	}
	return rc;
}

int jr_journal_commit(struct jr_journal *j)
{
	int rc;

	if (j->group_len == 0)
		return 0;
	if (j->used > 0 && j->used + j->group_len > j->segment_bytes) {
		rc = segment_start(j, j->group_first_seq);
		if (rc < 0)
			return rc;
	}
	rc = write_and_sync(j);
	if (rc < 0)
		return rc;
	j->used += j->group_len;
	j->group_len = 0;
	j->group_records = 0;
	return 0;
}

size_t jr_journal_pending(const struct jr_journal *j)
{
	return j->group_records;
}

void jr_journal_close(struct jr_journal *j)
{
	if (!j)
		return;
	if (j->fd >= 0)
		close(j->fd);
	io_uring_queue_exit(&j->ring);
	free(j->group);
	jr_free(j);
}

/* --- replay ------------------------------------------------------------------------- */

static int name_filter(const struct dirent *d)
{
	return strncmp(d->d_name, "journal-", 8) == 0 && strlen(d->d_name) == 8 + 16 + 4 &&
	       strcmp(d->d_name + 24, ".log") == 0;
}

static int read_file(const char *path, char **data, size_t *size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	size_t got = 0;

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0 || !(*data = malloc((size_t)st.st_size + 1))) {
		close(fd);
		return -ENOMEM;
	}
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, *data + got, (size_t)st.st_size - got);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	*size = got;
	return 0;
}

/* Bytes up to the last non-zero one: what a dropped stretch held. */
static uint64_t written_bytes(const char *data, size_t from, size_t size)
{
	while (size > from && data[size - 1] == 0)
		size--;
	return size - from;
}

struct replay {
	int (*fn)(void *, const struct jr_journal_record *);
	void *ctx;
	struct jr_journal_replay_result *res;
	bool torn;
	int stop;
};

/* Header fields and padding the CRC does not cover must be zero. */
static bool zeros_intact(const struct record_header *h, const char *payload)
{
	for (uint32_t k = h->len; k < PAD8(h->len); k++)
		if (payload[k] != 0)
			return false;
	return h->zero16 == 0 && h->zero32 == 0;
}

/* The records of one segment; sets r->torn at the first bad one. */
static void replay_segment(struct replay *r, const char *data, size_t size)
{
	size_t pos = 0;

	while (pos + JR_JOURNAL_HEADER_BYTES <= size) {
		struct record_header h;
		memcpy(&h, data + pos, sizeof(h));
		if (h.len == 0 && h.seq == 0 && h.crc == 0)
			break;	/* the preallocated tail */
		bool follows = r->res->records == 0 || h.seq == r->res->last_seq + 1;
		if (h.len > JR_JOURNAL_RECORD_MAX || pos + sizeof(h) + PAD8(h.len) > size ||
		    !follows || !zeros_intact(&h, data + pos + sizeof(h)) ||
		    h.crc != record_crc(h.seq, h.type, data + pos + sizeof(h), h.len)) {
			r->torn = true;
			break;
		}
		struct jr_journal_record rec = { h.seq, h.type, h.len, data + pos + sizeof(h) };
		if (r->fn && (r->stop = r->fn(r->ctx, &rec)) != 0)
			return;
		r->res->records++;
		r->res->last_seq = h.seq;
		pos += sizeof(h) + PAD8(h.len);
	}
	r->res->bytes_dropped += written_bytes(data, pos, size);
}

int jr_journal_replay(const char *dir,
		      int (*fn)(void *ctx, const struct jr_journal_record *rec), void *ctx,
		      struct jr_journal_replay_result *result)
{
	struct replay r = { fn, ctx, result, false, 0 };
	struct dirent **names;
	int n = scandir(dir, &names, name_filter, alphasort), rc = 0;

	memset(result, 0, sizeof(*result));
	if (n < 0)
		return errno == ENOENT ? 0 : -errno;
	for (int i = 0; i < n; i++) {
		char path[600], *data = NULL;
		size_t size = 0;
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]->d_name);
		if (rc == 0 && r.stop == 0 && (rc = read_file(path, &data, &size)) == 0) {
			if (r.torn)	/* everything after the damage is dropped */
				result->bytes_dropped += written_bytes(data, 0, size);
			else
				replay_segment(&r, data, size);
			result->segments++;
		}
		free(data);
		free(names[i]);
	}
	free(names);
	return rc < 0 ? rc : r.stop;
}
