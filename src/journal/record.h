/*
 * record.h - what journal.c (writing) and replay.c (reading back, repair)
 * share: a record's on-disk header and checksum. Private to src/journal/.
 */
#ifndef JR_JOURNAL_RECORD_H
#define JR_JOURNAL_RECORD_H

#include <stddef.h>
#include <stdint.h>

#include "base/crc32c.h"
#include "journal/journal.h"

#define PAD8(n) JR_JOURNAL_PAD8(n)

/* On disk (journal.h): records are read back by replay, by
 * tools/jobring-journal and by the next version, so the layout is pinned. */
struct record_header {
	uint32_t len;
	uint32_t crc;
	uint64_t seq;
	uint16_t type;
	uint16_t zero16;
	uint32_t zero32;
};
_Static_assert(sizeof(struct record_header) == JR_JOURNAL_HEADER_BYTES, "header size");
_Static_assert(offsetof(struct record_header, len) == 0, "len at 0");
_Static_assert(offsetof(struct record_header, crc) == 4, "crc at 4");
_Static_assert(offsetof(struct record_header, seq) == 8, "seq at 8");
_Static_assert(offsetof(struct record_header, type) == 16, "type at 16");
_Static_assert(offsetof(struct record_header, zero16) == 18, "zero16 at 18");
_Static_assert(offsetof(struct record_header, zero32) == 20, "zero32 at 20");
/* Records start 8-aligned: a header keeps the payload after it aligned. */
_Static_assert(JR_JOURNAL_HEADER_BYTES % 8 == 0, "header keeps 8-byte alignment");
_Static_assert(JR_JOURNAL_PAD8(1u) == 8 && JR_JOURNAL_PAD8(8u) == 8, "PAD8 pads to 8");
/* A record's length fits its u32, padding included. */
_Static_assert(JR_JOURNAL_PAD8(JR_JOURNAL_RECORD_MAX) <= UINT32_MAX, "len fits u32");

static inline uint32_t record_crc(uint64_t seq, uint16_t type, const void *payload, uint32_t len)
{
	uint32_t crc = jr_crc32c(0, &seq, sizeof(seq));

	crc = jr_crc32c(crc, &type, sizeof(type));
	return jr_crc32c(crc, payload, len);
}

/* fsync a directory, so that a file made or renamed in it stays. */
int jr_journal_sync_dir(const char *dir);

#endif
