/*
 * outdir.h - the directory command jobs' output goes to, and the files in
 * it: the directory opened once and checked (owned by this process's uid,
 * not writable by group or others, not a symbolic link), every file
 * opened, measured, cut and removed relative to its descriptor, so that no
 * path is walked through a component someone else could replace. A job's
 * files are named by its id: <16 hex digits>.out, .err, and .trunc (empty:
 * the job's output was cut at its cap). Those are its latest attempt's;
 * an earlier attempt's files are named by its execution id (the job id
 * with the attempt in its top 8 bits), renamed so as the next attempt
 * starts.
 */
#ifndef JR_OUTDIR_H
#define JR_OUTDIR_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#define JR_OUTDIR_NAME_MAX 24	/* "<16 hex>.trunc" and its NUL */

enum jr_outdir_file { JR_OUT_STDOUT, JR_OUT_STDERR, JR_OUT_TRUNCATED };

/* Open dir (created with mode if missing and create is set) and check it:
 * 0 and *fd (O_DIRECTORY, close-on-exec; the caller closes it), or -errno:
 * -ELOOP (a symbolic link), -ENOTDIR, -EPERM (owned by another uid),
 * -EACCES (writable by group or others), or the failing call's. Thread-safe. */
int jr_outdir_open(const char *dir, bool create, mode_t mode, int *fd);

/* Two output files named by path: when both are in one directory, that
 * directory is opened (jr_outdir_open, not created) into *dir_fd and
 * *out_name, *err_name point at the files' names in out and err, so that
 * they are created by name in it and no later component is walked; else
 * *dir_fd is -1 and the names are the paths as given. 0, or
 * jr_outdir_open's error (*dir_fd -1). */
int jr_outdir_open_pair(const char *out, const char *err, const char **out_name,
			const char **err_name, int *dir_fd);

/* What jr_outdir_open's errors mean, for a message ("owned by another
 * user"). Never NULL. */
const char *jr_outdir_strerror(int err);

/* The name of a job's file into out (JR_OUTDIR_NAME_MAX bytes). */
void jr_outdir_name(uint64_t job_id, enum jr_outdir_file which, char *out);

/* Parse a name jr_outdir_name() makes: true and *job_id, *which. */
bool jr_outdir_parse(const char *name, uint64_t *job_id, enum jr_outdir_file *which);

/* Create name in dirfd for a job to write to, afresh: whatever is there
 * (a file of an earlier attempt, or a link someone planted) is removed
 * first, then the file is created exclusively (O_EXCL, O_NOFOLLOW),
 * write-only, appending (so that cutting it from outside leaves no hole),
 * mode 0644. The descriptor (close-on-exec) or -1 with errno. Async-signal
 * safe apart from errno; thread-safe. */
int jr_outdir_create(int dirfd, const char *name);

/* Cut a job's output file down to cap bytes if it is longer: 1 if it was
 * cut, 0 if not (or there is no such file), -errno. A file that is not a
 * regular file is left alone (0). */
int jr_outdir_cap(int dirfd, const char *name, uint64_t cap);

/* Cut both of a job's output files to cap; on a cut, the .trunc mark is
 * made. 1 if either was cut, else 0. */
int jr_outdir_cap_job(int dirfd, uint64_t job_id, uint64_t cap);

/* Remove a job's files (those that exist). Thread-safe. */
void jr_outdir_remove_job(int dirfd, uint64_t job_id);

/* Give the job's files (those that exist) the names of execution_id's:
 * its attempt that ended keeps its output as the next one starts. Whatever
 * has those names is replaced. Thread-safe. */
void jr_outdir_keep_attempt(int dirfd, uint64_t job_id, uint64_t execution_id);

/* Is the job's .trunc mark there? */
bool jr_outdir_truncated(int dirfd, uint64_t job_id);

/* Free bytes for an unprivileged user, and the filesystem's size, of the
 * directory: 0 or -errno. */
int jr_outdir_space(int dirfd, uint64_t *free_bytes, uint64_t *total_bytes);

#endif
