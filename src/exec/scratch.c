/*
 * scratch.c - per-job scratch directories on declared filesystems, made
 * and removed on descriptors without following links (scratch.h).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/safedir.h"
#include "base/units.h"
#include "exec/scratch.h"

#define DIR_OPEN (O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
#define EMPTY_PASSES 8		/* a directory refilled while emptied: tries */

int jr_scratch_parse(const char *decl, char *path, size_t path_size, uint64_t *bytes)
{
	const char *eq = decl ? strrchr(decl, '=') : NULL;
	size_t len = eq ? (size_t)(eq - decl) : 0;

	if (!eq || len == 0 || decl[0] != '/' || len >= path_size)
		return -EINVAL;
	if (jr_parse_size_bytes(eq + 1, bytes) < 0 || *bytes == 0)
		return -EINVAL;
	memcpy(path, decl, len);
	path[len] = '\0';
	while (len > 1 && path[len - 1] == '/')	/* "/scratch/" is "/scratch" */
		path[--len] = '\0';
	return 0;
}

int jr_scratch_init(struct jr_scratch *sc, char *const *decls)
{
	memset(sc, 0, sizeof(*sc));
	for (size_t i = 0; decls && decls[i]; i++) {
		struct jr_scratch_fs *fs = &sc->fs[sc->count];
		if (sc->count == JR_SCRATCH_MAX ||
		    jr_scratch_parse(decls[i], fs->path, sizeof(fs->path), &fs->bytes) < 0)
			return -EINVAL;
		for (uint32_t k = 0; k < sc->count; k++)
			if (strcmp(sc->fs[k].path, fs->path) == 0)
				return -EINVAL;
		fs->root_fd = -1;
		sc->count++;
	}
	return 0;
}

int jr_scratch_open(struct jr_scratch *sc, uint32_t *failed)
{
	char path[JR_SCRATCH_PATH_MAX + sizeof(JR_SCRATCH_SUBDIR) + 1];

	for (uint32_t i = 0; i < sc->count; i++) {
		struct jr_scratch_fs *fs = &sc->fs[i];
		if (fs->root_fd >= 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", strcmp(fs->path, "/") ? fs->path : "",
			 JR_SCRATCH_SUBDIR);
		int fd = jr_safedir_open(path, 0711, JR_SAFEDIR_CREATE, NULL);
		if (fd < 0) {
			if (failed)
				*failed = i;
			return fd;
		}
		fchmod(fd, 0711);	/* whatever the umask made of it */
		fs->root_fd = fd;
	}
	return 0;
}

void jr_scratch_close(struct jr_scratch *sc)
{
	for (uint32_t i = 0; i < sc->count; i++) {
		if (sc->fs[i].root_fd >= 0)
			close(sc->fs[i].root_fd);
		sc->fs[i].root_fd = -1;
	}
}

/* dir/name (a directory) moved to root as "<id>.<n>", the first n free. */
static int move_up(int dir, const char *name, int root, uint64_t id, uint32_t *moved)
{
	char to[40];

	for (int tries = 0; tries < 64; tries++) {
		snprintf(to, sizeof(to), "%016" PRIx64 ".%" PRIu32, id, ++*moved);
		if (renameat(dir, name, root, to) == 0 || errno == ENOENT)
			return 0;
		if (errno != EEXIST && errno != ENOTEMPTY)
			return -errno;
	}
	return -EEXIST;
}

/* Empty the directory root/name: plain entries unlinked, directories
 * moved up into root as "<id>.<n>" (*moved counts them) to be emptied
 * later. Then remove it. 0 or -errno. */
static int empty_one(int root, const char *name, uint64_t id, uint32_t *moved)
{
	int fd = openat(root, name, DIR_OPEN);
	int rc = 0;

	if (fd < 0) {
		if (errno == ENOENT)
			return 0;
		if (errno != ENOTDIR && errno != ELOOP)
			return -errno;
		return unlinkat(root, name, 0) == 0 || errno == ENOENT ? 0 : -errno;
	}
	DIR *d = fdopendir(fd);
	if (!d) {
		close(fd);
		return -ENOMEM;
	}
	for (int pass = 0; pass < EMPTY_PASSES; pass++) {
		struct dirent *e;
		bool any = false;
		rewinddir(d);
		while ((e = readdir(d)) != NULL) {
			if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
				continue;
			any = true;
			if (e->d_type != DT_DIR) {
				if (unlinkat(fd, e->d_name, 0) == 0 || errno == ENOENT)
					continue;
				if (errno != EISDIR && errno != EPERM) {
					rc = -errno;	/* left, reported */
					continue;
				}
			}
			int mrc = move_up(fd, e->d_name, root, id, moved);
			rc = mrc ? mrc : rc;
		}
		if (!any)
			break;
	}
	closedir(d);
	if (unlinkat(root, name, AT_REMOVEDIR) == 0 || errno == ENOENT)
		return 0;
	return rc ? rc : -errno;
}

/* Remove root/<id> and the "<id>.<n>" its subdirectories became. */
static int remove_tree(int root, uint64_t id)
{
	char name[40];
	uint32_t moved = 0, done = 0;
	int rc, first;

	snprintf(name, sizeof(name), "%016" PRIx64, id);
	first = rc = empty_one(root, name, id, &moved);
	while (done < moved) {
		snprintf(name, sizeof(name), "%016" PRIx64 ".%" PRIu32, id, ++done);
		rc = empty_one(root, name, id, &moved);
		first = first ? first : rc;
	}
	return first;
}

int jr_scratch_make(const struct jr_scratch *sc, uint32_t fs, uint64_t id, bool chown,
		    uint32_t uid, uint32_t gid, char *out, size_t size)
{
	char name[20];
	int root, fd, rc = 0;

	if (fs >= sc->count || sc->fs[fs].root_fd < 0)
		return -ENOENT;
	root = sc->fs[fs].root_fd;
	snprintf(name, sizeof(name), "%016" PRIx64, id);
	if (mkdirat(root, name, 0700) < 0) {
		if (errno != EEXIST)
			return -errno;
		/* An attempt before a restart left it: start afresh. */
		if ((rc = remove_tree(root, id)) < 0)
			return rc;
		if (mkdirat(root, name, 0700) < 0)
			return -errno;
	}
	/* Ours (root's) is the only name there: nobody else can write in root. */
	fd = openat(root, name, DIR_OPEN);
	if (fd < 0)
		rc = -errno;
	else if (fchmod(fd, 0700) < 0 || (chown && fchown(fd, uid, gid) < 0))
		rc = -errno;
	if (fd >= 0)
		close(fd);
	if (rc < 0) {
		unlinkat(root, name, AT_REMOVEDIR);
		return rc;
	}
	snprintf(out, size, "%s/%s/%s", strcmp(sc->fs[fs].path, "/") ? sc->fs[fs].path : "",
		 JR_SCRATCH_SUBDIR, name);
	return 0;
}

int jr_scratch_remove(const struct jr_scratch *sc, uint64_t id)
{
	int first = 0;

	for (uint32_t i = 0; i < sc->count; i++) {
		if (sc->fs[i].root_fd < 0)
			continue;
		int rc = remove_tree(sc->fs[i].root_fd, id);
		first = first ? first : rc;
	}
	return first;
}

/* "<16 hex>" or "<16 hex>.<n>": its id. */
static bool parse_name(const char *name, uint64_t *id)
{
	char *end;

	if (strspn(name, "0123456789abcdef") != 16)
		return false;
	*id = strtoull(name, &end, 16);
	return end == name + 16 && (*end == '\0' || *end == '.');
}

uint32_t jr_scratch_sweep(const struct jr_scratch *sc, bool (*keep)(void *ctx, uint64_t id),
			  void *ctx)
{
	uint32_t removed = 0;

	for (uint32_t i = 0; i < sc->count; i++) {
		int root = sc->fs[i].root_fd;
		int fd = root >= 0 ? openat(root, ".", DIR_OPEN) : -1;
		DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
		struct dirent *e;
		uint64_t id;
		if (!d) {
			if (fd >= 0)
				close(fd);
			continue;
		}
		while ((e = readdir(d)) != NULL) {
			if (!parse_name(e->d_name, &id) || keep(ctx, id))
				continue;
			uint32_t moved = 0;
			/* Its moved-up subdirectories are entries of their own here. */
			if (empty_one(root, e->d_name, id, &moved) == 0)
				removed++;
			for (uint32_t k = 1; k <= moved; k++) {
				char name[40];
				snprintf(name, sizeof(name), "%016" PRIx64 ".%" PRIu32, id, k);
				empty_one(root, name, id, &moved);
			}
		}
		closedir(d);
	}
	return removed;
}
