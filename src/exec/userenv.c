/*
 * userenv.c - a job's environment for another user, from the password
 * database (userenv.h).
 */
#include <pwd.h>
#include <stdio.h>
#include <string.h>

#include "exec/userenv.h"

/* NAME=VALUE appended to buf at *used, its start into v[*n]. */
static void put(char *buf, size_t size, size_t *used, char **v, size_t *n, const char *name,
		const char *value)
{
	int len = snprintf(buf + *used, size - *used, "%s=%s", name, value);

	if (len < 0 || (size_t)len >= size - *used)
		return;
	v[(*n)++] = buf + *used;
	*used += (size_t)len + 1;
}

size_t jr_exec_user_env(uint32_t uid, char *buf, size_t size, char *v[JR_USER_ENV_MAX])
{
	struct passwd pw, *found = NULL;
	char pwbuf[4096];
	size_t n = 0, used = 0;

	if (size == 0)
		return 0;
	if (getpwuid_r((uid_t)uid, &pw, pwbuf, sizeof(pwbuf), &found) == 0 && found) {
		put(buf, size, &used, v, &n, "HOME", found->pw_dir[0] ? found->pw_dir : "/");
		put(buf, size, &used, v, &n, "USER", found->pw_name);
		put(buf, size, &used, v, &n, "LOGNAME", found->pw_name);
		put(buf, size, &used, v, &n, "SHELL", found->pw_shell[0] ? found->pw_shell : "/bin/sh");
	} else {
		put(buf, size, &used, v, &n, "HOME", "/");
	}
	put(buf, size, &used, v, &n, "PATH", JR_USER_ENV_PATH);
	return n;
}
