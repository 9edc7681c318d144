/*
 * outdir.c - the output directory and the files in it, each opened
 * relative to the directory's descriptor. See outdir.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "exec/outdir.h"

static const char *const suffix[] = { ".out", ".err", ".trunc" };

int jr_outdir_open(const char *dir, bool create, mode_t mode, int *fd_out)
{
	struct stat st;
	int fd, rc = 0;

	if (create && mkdir(dir, mode) < 0 && errno != EEXIST)
		return -errno;
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOTDIR && lstat(dir, &st) == 0 && S_ISLNK(st.st_mode) ? -ELOOP :
											 -errno;
	if (fstat(fd, &st) < 0)
		rc = -errno;
	else if (!S_ISDIR(st.st_mode))
		rc = -ENOTDIR;
	else if (st.st_uid != geteuid())
		rc = -EPERM;
	else if (st.st_mode & (S_IWGRP | S_IWOTH))
		rc = -EACCES;
	if (rc < 0) {
		close(fd);
		return rc;
	}
	*fd_out = fd;
	return 0;
}

const char *jr_outdir_strerror(int err)
{
	switch (err) {
	case -ELOOP: return "it is a symbolic link";
	case -ENOTDIR: return "not a directory";
	case -EPERM: return "owned by another user (it must be this daemon's uid's)";
	case -EACCES: return "writable by its group or by others (chmod go-w)";
	default: return strerror(-err);
	}
}

void jr_outdir_name(uint64_t job_id, enum jr_outdir_file which, char *out)
{
	size_t n = 0, len = strlen(suffix[which]);

	for (int shift = 60; shift >= 0; shift -= 4)
		out[n++] = "0123456789abcdef"[(job_id >> shift) & 15];
	memcpy(out + n, suffix[which], len + 1);
}

bool jr_outdir_parse(const char *name, uint64_t *job_id, enum jr_outdir_file *which)
{
	uint64_t id = 0;
	int i;

	for (i = 0; i < 16; i++) {
		char c = name[i];
		int v = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
		if (v < 0)
			return false;
		id = id << 4 | (uint64_t)v;
	}
	for (int w = JR_OUT_STDOUT; w <= JR_OUT_TRUNCATED; w++)
		if (strcmp(name + 16, suffix[w]) == 0) {
			*job_id = id;
			*which = (enum jr_outdir_file)w;
			return true;
		}
	return false;
}

int jr_outdir_create(int dirfd, const char *name)
{
	/* Removed first: a planted link (symbolic or hard) is never opened,
	 * and O_EXCL makes sure nothing came back in between. */
	if (unlinkat(dirfd, name, 0) < 0 && errno != ENOENT)
		return -1;
	return openat(dirfd, name,
		      O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_NOFOLLOW | O_CLOEXEC, 0644);
}

int jr_outdir_cap(int dirfd, const char *name, uint64_t cap)
{
	struct stat st;
	int fd, rc = 0;

	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size <= cap)
		return 0;
	fd = openat(dirfd, name, O_WRONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
		rc = 0;
	else if (ftruncate(fd, (off_t)cap) < 0)
		rc = -errno;
	else
		rc = 1;
	close(fd);
	return rc;
}

int jr_outdir_cap_job(int dirfd, uint64_t job_id, uint64_t cap)
{
	char name[JR_OUTDIR_NAME_MAX];
	int cut = 0;

	for (int w = JR_OUT_STDOUT; w <= JR_OUT_STDERR; w++) {
		jr_outdir_name(job_id, (enum jr_outdir_file)w, name);
		if (jr_outdir_cap(dirfd, name, cap) == 1)
			cut = 1;
	}
	if (cut) {
		jr_outdir_name(job_id, JR_OUT_TRUNCATED, name);
		int fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
		if (fd >= 0)
			close(fd);
	}
	return cut;
}

void jr_outdir_remove_job(int dirfd, uint64_t job_id)
{
	char name[JR_OUTDIR_NAME_MAX];

	for (int w = JR_OUT_STDOUT; w <= JR_OUT_TRUNCATED; w++) {
		jr_outdir_name(job_id, (enum jr_outdir_file)w, name);
		unlinkat(dirfd, name, 0);
	}
}

void jr_outdir_keep_attempt(int dirfd, uint64_t job_id, uint64_t execution_id)
{
	char from[JR_OUTDIR_NAME_MAX], to[JR_OUTDIR_NAME_MAX];

	for (int w = JR_OUT_STDOUT; w <= JR_OUT_TRUNCATED; w++) {
		jr_outdir_name(job_id, (enum jr_outdir_file)w, from);
		jr_outdir_name(execution_id, (enum jr_outdir_file)w, to);
		if (renameat(dirfd, from, dirfd, to) < 0 && errno == ENOENT)
			unlinkat(dirfd, to, 0);	/* none: no older file stands for it */
	}
}

bool jr_outdir_truncated(int dirfd, uint64_t job_id)
{
	char name[JR_OUTDIR_NAME_MAX];

	jr_outdir_name(job_id, JR_OUT_TRUNCATED, name);
	return faccessat(dirfd, name, F_OK, AT_SYMLINK_NOFOLLOW) == 0;
}

int jr_outdir_space(int dirfd, uint64_t *free_bytes, uint64_t *total_bytes)
{
	struct statvfs v;

	if (fstatvfs(dirfd, &v) < 0)
		return -errno;
	*free_bytes = (uint64_t)v.f_bavail * v.f_frsize;
	*total_bytes = (uint64_t)v.f_blocks * v.f_frsize;
	return 0;
}

int jr_outdir_open_pair(const char *out, const char *err, const char **out_name,
			const char **err_name, int *dir_fd)
{
	const char *slash = strrchr(out, '/'), *eslash = strrchr(err, '/');
	char dir[512];
	int rc;

	*out_name = out;
	*err_name = err;
	*dir_fd = -1;
	if (!slash || !eslash || slash - out != eslash - err ||
	    memcmp(out, err, (size_t)(slash - out)) != 0)
		return 0;	/* not in one directory: paths as given */
	if ((size_t)(slash - out) >= sizeof(dir))
		return -ENAMETOOLONG;
	memcpy(dir, out, (size_t)(slash - out));
	dir[slash - out] = '\0';
	rc = jr_outdir_open(*dir ? dir : "/", /* create */ false, 0, dir_fd);
	if (rc < 0) {
		*dir_fd = -1;
		return rc;
	}
	*out_name = slash + 1;
	*err_name = eslash + 1;
	return 0;
}
