/*
 * scratch.h - storage as a resource (issue 14): filesystems declared with
 * a size (jobringd --storage /scratch=2T), each a counted resource the
 * scheduler hands out like any other, and a directory on it for each job
 * that holds some of it while the job runs.
 *
 * A filesystem's jobs live under <path>/jobring (made by us, ours, mode
 * 0711: nobody else can make or swap names there, each user reaches only
 * their own directory), one directory per job named by its id in hex,
 * owned by the job's user, mode 0700. It is made before the job's process
 * starts and removed when its attempt ends, without following a link the
 * job may have planted: every name is opened or unlinked relative to a
 * descriptor with O_NOFOLLOW, and subdirectories are moved up into
 * <path>/jobring (as "<id>.<n>") and emptied one at a time, so no tree is
 * too deep to remove and no recursion holds descriptors.
 */
#ifndef JR_EXEC_SCRATCH_H
#define JR_EXEC_SCRATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define JR_SCRATCH_MAX 4		/* filesystems */
#define JR_SCRATCH_PATH_MAX 200
#define JR_SCRATCH_SUBDIR "jobring"

struct jr_scratch_fs {
	char path[JR_SCRATCH_PATH_MAX];	/* as declared */
	uint64_t bytes;			/* its declared size */
	int root_fd;			/* <path>/jobring; -1 until opened */
};

struct jr_scratch {
	uint32_t count;
	struct jr_scratch_fs fs[JR_SCRATCH_MAX];
};

/* "PATH=SIZE" (an absolute path, a size as units.h reads it, above 0)
 * into path and bytes. 0 or -EINVAL. Thread-safe. */
int jr_scratch_parse(const char *decl, char *path, size_t path_size, uint64_t *bytes);

/* Fill sc from NULL-terminated "PATH=SIZE" declarations (at most
 * JR_SCRATCH_MAX) without touching the filesystem. 0 or -EINVAL. */
int jr_scratch_init(struct jr_scratch *sc, char *const *decls);

/* Make and open each filesystem's <path>/jobring (safedir.h checks
 * the way). 0, or -errno for the first that failed (*failed its index). */
int jr_scratch_open(struct jr_scratch *sc, uint32_t *failed);
void jr_scratch_close(struct jr_scratch *sc);

/* Make job id's directory on filesystem fs, owned by uid:gid when chown
 * (else by us), mode 0700; anything left there from before is removed
 * first. Its path into out. 0 or -errno. Thread-safe. */
int jr_scratch_make(const struct jr_scratch *sc, uint32_t fs, uint64_t id, bool chown,
		    uint32_t uid, uint32_t gid, char *out, size_t size);

/* Remove job id's directory (and what it holds) from every filesystem.
 * 0, or the first -errno met (what could be removed was). Thread-safe
 * for different ids. */
int jr_scratch_remove(const struct jr_scratch *sc, uint64_t id);

/* Remove every job directory whose id keep(ctx, id) does not claim:
 * after a restart, what jobs that no longer run left behind. Returns how
 * many directories it removed. */
uint32_t jr_scratch_sweep(const struct jr_scratch *sc, bool (*keep)(void *ctx, uint64_t id),
			  void *ctx);

#endif
