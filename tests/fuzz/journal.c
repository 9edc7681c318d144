/*
 * journal.c - fuzzes journal replay and what recovery makes of it
 * (src/journal/journal.c's replay and cut, src/daemon/durable/recover.c's
 * records): the input is one journal segment (fuzz_write_segment: its
 * first byte says whether the CRCs are made right), written into a
 * scratch state directory with no snapshot, then read by recover_read()
 * as jobringd's start reads it, which cuts the journal after damage.
 */
#include <limits.h>
#include <stdio.h>

#include "fuzz_records.h"

static char state_dir[PATH_MAX], journal_dir[PATH_MAX + 16];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	snprintf(state_dir, sizeof(state_dir), "%s/state", fuzz_scratch_dir());
	snprintf(journal_dir, sizeof(journal_dir), "%s/journal", state_dir);
	fuzz_make_dir(state_dir);
	fuzz_make_dir(journal_dir);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_empty_dir(journal_dir);
	fuzz_write_segment(journal_dir, data, size);
	fuzz_recover(state_dir, journal_dir);
	return 0;
}
