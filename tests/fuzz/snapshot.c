/*
 * snapshot.c - fuzzes snapshot loading (recover.c's read_snapshot and
 * the snapshot records: begin, jobs, end, as snapshot.c writes them and
 * records.h lays them out): the input is the journal segment of a
 * snapshot directory (fuzz_write_segment: its first byte says whether
 * the CRCs are made right), state/snapshot-0000000000000010/, beside an
 * empty journal, read by recover_read() as jobringd's start reads it.
 */
#include <limits.h>
#include <stdio.h>

#include "fuzz_records.h"

static char state_dir[PATH_MAX], journal_dir[PATH_MAX + 16], snap_dir[PATH_MAX + 32];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	snprintf(state_dir, sizeof(state_dir), "%s/state", fuzz_scratch_dir());
	snprintf(journal_dir, sizeof(journal_dir), "%s/journal", state_dir);
	snprintf(snap_dir, sizeof(snap_dir), "%s/snapshot-0000000000000010", state_dir);
	fuzz_make_dir(state_dir);
	fuzz_make_dir(journal_dir);
	fuzz_make_dir(snap_dir);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_empty_dir(snap_dir);
	fuzz_empty_dir(journal_dir);
	fuzz_write_segment(snap_dir, data, size);
	fuzz_recover(state_dir, journal_dir);
	return 0;
}
