/*
 * fuzz.h - what the harnesses of tests/fuzz/ share: libFuzzer's two entry
 * points (a harness defines LLVMFuzzerTestOneInput and, if it needs an
 * engine or a directory, LLVMFuzzerInitialize), and a scratch directory
 * per process. Built twice: with clang and libFuzzer (make fuzz), and
 * with the normal compiler and replay.c's main (make test replays
 * tests/fuzz/seeds/<name>/ and tests/fuzz/regress/<name>/).
 */
#ifndef JR_FUZZ_H
#define JR_FUZZ_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A directory of this process's own under $TMPDIR (or /tmp), removed at
 * exit with everything in it: the only place a harness writes. */
const char *fuzz_scratch_dir(void);

/* Write size bytes to path (created or truncated); aborts on failure. */
void fuzz_write_file(const char *path, const uint8_t *data, size_t size);

/* Remove everything in dir, keeping dir. */
void fuzz_empty_dir(const char *dir);

#endif
