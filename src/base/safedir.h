/*
 * safedir.h - directories opened (and made) without trusting what another
 * user could have put in the way: the daemon's socket and state
 * directories, the CLI's socket directory, an embedded engine's default
 * state directory. A path is walked from "/" one component at a time with
 * openat(O_NOFOLLOW | O_DIRECTORY) and fstat on the descriptor opened (no
 * check-then-use race on a name), each one checked:
 *
 *  - every directory on the way must be owned by root or by this process's
 *    effective uid, and not writable by group or others unless sticky (as
 *    /tmp is: there nobody can rename or remove another's entry);
 *  - a symbolic link on the way is followed only if it is owned by root or
 *    by us (/var/run -> /run); the last component is never a link;
 *  - the last directory must be owned by us (JR_SAFEDIR_OWNER_ROOT: or
 *    root) and not writable by group or others (JR_SAFEDIR_STICKY_OK: a
 *    sticky one is allowed, the caller then checks the entry it uses).
 *
 * Missing components are made with the mode given (JR_SAFEDIR_CREATE).
 * Thread-safe; no allocation.
 */
#ifndef JR_SAFEDIR_H
#define JR_SAFEDIR_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

enum jr_safedir_flags {
	JR_SAFEDIR_CREATE = 1u << 0,		/* mkdir what is missing */
	JR_SAFEDIR_OWNER_ROOT = 1u << 1,	/* the last may be root's, not only ours */
	JR_SAFEDIR_STICKY_OK = 1u << 2,		/* the last may be shared if sticky */
};

/* Why a path was refused: the component, its owner and mode, in words. */
struct jr_safedir_error {
	char path[320];		/* the component refused (or that failed) */
	uid_t owner;
	mode_t mode;		/* permission bits, with the sticky bit */
	const char *why;	/* "owned by another user", "writable by others", ... */
};

/* Open the directory at path (absolute), making missing components with
 * mode when flags has JR_SAFEDIR_CREATE. Returns a descriptor
 * (O_DIRECTORY, O_CLOEXEC; the caller closes it) or -errno: -EPERM when a
 * component is refused (err says which and why), -ELOOP for a symbolic
 * link where none may be, -EINVAL for a relative path, or the error of
 * open or mkdir (err->path names the component). err may be NULL. */
int jr_safedir_open(const char *path, mode_t mode, unsigned flags, struct jr_safedir_error *err);

/* "PATH: owned by uid U (NAME), mode 0777: writable by others" into buf,
 * for the message of a refusal (rc from jr_safedir_open). Returns buf. */
const char *jr_safedir_describe(int rc, const struct jr_safedir_error *err, char *buf,
				size_t size);

/* The entry name in the directory dir_fd: a socket or a plain file, not a
 * link, owned by us (or root when owner_root). 0, -ENOENT, -EPERM (err
 * says why) or another -errno. */
int jr_safedir_check_entry(int dir_fd, const char *name, bool owner_root,
			   struct jr_safedir_error *err);

#endif
