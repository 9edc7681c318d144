/*
 * records.c - what the journal and snapshot harnesses share: an input
 * turned into a journal segment (optionally with every record's CRC made
 * right, so that mutations reach the payloads instead of stopping at the
 * checksum), and recover_read() run over a state directory.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/crc32c.h"
#include "daemon/durable/recover.h"
#include "fuzz_records.h"
#include "journal/journal.h"

/* The record header of journal.h: len, crc, seq, type, zeros. */
struct fuzz_header {
	uint32_t len, crc;
	uint64_t seq;
	uint16_t type, zero16;
	uint32_t zero32;
};
_Static_assert(sizeof(struct fuzz_header) == JR_JOURNAL_HEADER_BYTES, "journal.h's header");

static void fix_crcs(uint8_t *p, size_t size)
{
	size_t pos = 0;

	while (pos + sizeof(struct fuzz_header) <= size) {
		struct fuzz_header h;
		uint32_t crc;

		memcpy(&h, p + pos, sizeof(h));
		if (h.len > size - pos - sizeof(h))
			break;
		crc = jr_crc32c(0, &h.seq, sizeof(h.seq));
		crc = jr_crc32c(crc, &h.type, sizeof(h.type));
		h.crc = jr_crc32c(crc, p + pos + sizeof(h), h.len);
		memcpy(p + pos, &h, sizeof(h));
		pos += sizeof(h) + JR_JOURNAL_PAD8((size_t)h.len);
	}
}

void fuzz_write_segment(const char *dir, const uint8_t *data, size_t size)
{
	char path[PATH_MAX];
	uint8_t *copy;
	bool fix;

	if (size == 0)
		return;
	fix = data[0] & 1;
	data++;
	size--;
	copy = malloc(size ? size : 1);
	if (!copy)
		abort();
	memcpy(copy, data, size);
	if (fix)
		fix_crcs(copy, size);
	snprintf(path, sizeof(path), "%s/journal-0000000000000001.log", dir);
	fuzz_write_file(path, copy, size);
	free(copy);
}

void fuzz_make_dir(const char *path)
{
	if (mkdir(path, 0700) < 0 && errno != EEXIST) {
		perror(path);
		abort();
	}
}

void fuzz_recover(const char *state_dir, const char *journal_dir)
{
	struct recovery r;
	int rc = recover_read(&r, state_dir, journal_dir, FUZZ_CAPACITY);

	/* Whatever was read must be within the table, in order. */
	if (rc == 0) {
		for (uint64_t i = 0; i < r.order_count; i++)
			if (r.order[i] >= r.capacity)
				abort();
	} else if (!r.error[0] && rc != -ENOMEM) {
		fprintf(stderr, "recover_read: %d without a message\n", rc);
		abort();
	}
	recover_free(&r);
}
