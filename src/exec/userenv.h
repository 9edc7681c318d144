/*
 * userenv.h - the environment a job run for another user starts from,
 * instead of the engine's own (which may hold root's secrets): HOME,
 * USER, LOGNAME and SHELL from the user's password entry, and a default
 * PATH. What the submission carries is added over it by the caller
 * (coord/launch.c).
 */
#ifndef JR_EXEC_USERENV_H
#define JR_EXEC_USERENV_H

#include <stddef.h>
#include <stdint.h>

#define JR_USER_ENV_MAX 5		/* HOME, USER, LOGNAME, SHELL, PATH */
#define JR_USER_ENV_PATH "/usr/local/bin:/usr/bin:/bin"

/* The variables for uid into v (NAME=VALUE strings kept in buf, which
 * must outlive them): their count. A uid without a password entry gets
 * PATH only (and HOME=/). Reads the password database (getpwuid_r: may
 * ask NSS); thread-safe; never fails (variables that do not fit buf are
 * left out). */
size_t jr_exec_user_env(uint32_t uid, char *buf, size_t size, char *v[JR_USER_ENV_MAX]);

#endif
