/*
 * replay.c - reading a journal back: each segment mapped and walked up to
 * the first torn or corrupt record; then repair (cut a torn tail) and
 * compaction (drop segments a snapshot made unneeded). See journal.h.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/common.h"
#include "journal/journal.h"
#include "journal/record.h"

/* --- replay ------------------------------------------------------------------------- */

static int name_filter(const struct dirent *d)
{
	return strncmp(d->d_name, "journal-", 8) == 0 && strlen(d->d_name) == 8 + 16 + 4 &&
	       strcmp(d->d_name + 24, ".log") == 0;
}

/* Mapped, not read: a preallocated segment is mostly zeros that only
 * the pages touched cost. The fd stays open for written_after(). */
static int map_file(const char *path, int *fd, char **data, size_t *size)
{
	struct stat st;
	void *p;

	*data = NULL;
	*size = 0;
	*fd = open(path, O_RDONLY | O_CLOEXEC);
	if (*fd < 0)
		return -errno;
	if (fstat(*fd, &st) < 0)
		return -errno;
	if (st.st_size == 0)
		return 0;
	p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, *fd, 0);
	if (p == MAP_FAILED)
		return -errno;
	*data = p;
	*size = (size_t)st.st_size;
	return 0;
}

/* Bytes from `from` up to the last non-zero one of the file: what a
 * dropped stretch held. Skips what the file system reports as holes
 * (a preallocated, never written tail) and reads the rest in chunks,
 * rather than faulting in a mapping of zeros. */
static uint64_t written_after(int fd, uint64_t from, uint64_t size)
{
	static char chunk[JR_MIB];
	uint64_t pos = from, last = from;

	while (pos < size) {
		off_t data = lseek(fd, (off_t)pos, SEEK_DATA);
		if (data < 0)
			break;	/* ENXIO: nothing but holes after pos */
		pos = (uint64_t)data > pos ? (uint64_t)data : pos;
		ssize_t n = pread(fd, chunk, sizeof(chunk), (off_t)pos);
		if (n <= 0)
			break;
		for (ssize_t k = n; k > 0; k--)
			if (chunk[k - 1]) {
				last = pos + (uint64_t)k;
				break;
			}
		pos += (uint64_t)n;
	}
	return last - from;
}

struct replay {
	const char *segment;	/* the name of the one being read */
	int fd;			/* and its file */
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
		JR_ASSERT(pos % 8 == 0);	/* records start 8-aligned */
		memcpy(&h, data + pos, sizeof(h));
		if (h.len == 0 && h.seq == 0 && h.crc == 0)
			break;	/* the preallocated tail */
		bool follows = r->res->records == 0 || h.seq == r->res->last_seq + 1;
		if (h.len > JR_JOURNAL_RECORD_MAX || pos + sizeof(h) + PAD8(h.len) > size ||
		    !follows || !zeros_intact(&h, data + pos + sizeof(h)) ||
		    h.crc != record_crc(h.seq, h.type, data + pos + sizeof(h), h.len)) {
			r->torn = true;
			snprintf(r->res->torn_segment, sizeof(r->res->torn_segment), "%s",
				 r->segment);
			r->res->torn_offset = pos;
			break;
		}
		struct jr_journal_record rec = { h.seq, h.type, h.len, data + pos + sizeof(h) };
		if (r->fn && (r->stop = r->fn(r->ctx, &rec)) != 0)
			return;
		if (r->res->records++ == 0)
			r->res->first_seq = h.seq;
		r->res->last_seq = h.seq;
		r->res->bytes += sizeof(h) + PAD8(h.len);
		pos += sizeof(h) + PAD8(h.len);
	}
	if (!r->torn) {
		snprintf(r->res->end_segment, sizeof(r->res->end_segment), "%s", r->segment);
		r->res->end_offset = pos;
	}
	/* After the last record, zeros: unless a later group landed before
	 * an earlier one (a gap), or the damage left bytes. */
	uint64_t dropped = written_after(r->fd, pos, size);
	if (dropped && !r->torn) {
		r->torn = true;
		snprintf(r->res->torn_segment, sizeof(r->res->torn_segment), "%s", r->segment);
		r->res->torn_offset = pos;
	}
	r->res->bytes_dropped += dropped;
}

int jr_journal_replay(const char *dir,
		      int (*fn)(void *ctx, const struct jr_journal_record *rec), void *ctx,
		      struct jr_journal_replay_result *result)
{
	struct replay r = { NULL, -1, fn, ctx, result, false, 0 };
	struct dirent **names;
	int n = scandir(dir, &names, name_filter, alphasort), rc = 0;

	memset(result, 0, sizeof(*result));
	if (n < 0)
		return errno == ENOENT ? 0 : -errno;
	for (int i = 0; i < n; i++) {
		char path[600], *data = NULL;
		size_t size = 0;
		int fd = -1;
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]->d_name);
		if (rc == 0 && r.stop == 0 && (rc = map_file(path, &fd, &data, &size)) == 0) {
			r.segment = names[i]->d_name;
			r.fd = fd;
			if (r.torn)	/* everything after the damage is dropped */
				result->bytes_dropped += written_after(fd, 0, size);
			else
				replay_segment(&r, data, size);
			result->segments++;
		}
		if (data)
			munmap(data, size);
		if (fd >= 0)
			close(fd);
		free(names[i]);
	}
	free(names);
	return rc < 0 ? rc : r.stop;
}

/* --- repair and compaction -------------------------------------------------------- */

static uint64_t segment_first_seq(const char *name)
{
	return strtoull(name + 8, NULL, 16);
}

int jr_journal_cut(const char *dir, const struct jr_journal_replay_result *res)
{
	const char *at = res->torn_segment[0] ? res->torn_segment : res->end_segment;
	uint64_t offset = res->torn_segment[0] ? res->torn_offset : res->end_offset;
	struct dirent **names;
	int n, rc = 0;
	bool after = false;

	if (!at[0])
		return 0;
	n = scandir(dir, &names, name_filter, alphasort);
	if (n < 0)
		return -errno;
	for (int i = 0; i < n; i++) {
		char path[600], aside[620];
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]->d_name);
		if (after) {
			snprintf(aside, sizeof(aside), "%s.dropped", path);
			if (rename(path, aside) < 0 && rc == 0)
				rc = -errno;
		} else if (strcmp(names[i]->d_name, at) == 0) {
			/* Left empty, it goes: the next segment takes its name. */
			if ((offset ? truncate(path, (off_t)offset) : unlink(path)) < 0 && rc == 0)
				rc = -errno;
			after = true;
		}
		free(names[i]);
	}
	free(names);
	return rc == 0 ? jr_journal_sync_dir(dir) : rc;
}

int jr_journal_drop_before(const char *dir, uint64_t before)
{
	struct dirent **names;
	int n = scandir(dir, &names, name_filter, alphasort), dropped = 0;

	if (n < 0)
		return -errno;
	/* Segment i holds seqs up to segment i+1's first, minus one. */
	for (int i = 0; i < n; i++) {
		char path[600];
		bool covered = i + 1 < n && segment_first_seq(names[i + 1]->d_name) <= before;
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]->d_name);
		if (covered && unlink(path) == 0)
			dropped++;
	}
	for (int i = 0; i < n; i++)
		free(names[i]);
	free(names);
	if (dropped)
		jr_journal_sync_dir(dir);
	return dropped;
}
