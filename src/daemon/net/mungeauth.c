/*
 * mungeauth.c - a MUNGE credential decoded and bound to its connection.
 * See mungeauth.h.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <munge.h>

#include "daemon/net/mungeauth.h"

/* The credential decoded, or why not: the error's own words for what a
 * client did wrong, none for munged being away. */
static int decode(const char *socket_path, const char *cred, void **payload, int *len,
		  uid_t *uid, gid_t *gid, const char **why)
{
	munge_ctx_t ctx = munge_ctx_create();
	munge_err_t e;

	if (!ctx)
		return -ENOMEM;
	if (socket_path && munge_ctx_set(ctx, MUNGE_OPT_SOCKET, socket_path) != EMUNGE_SUCCESS) {
		munge_ctx_destroy(ctx);
		return -ENOMEM;
	}
	e = munge_decode(cred, ctx, payload, len, uid, gid);
	munge_ctx_destroy(ctx);
	if (e == EMUNGE_SUCCESS)
		return 0;
	*why = munge_strerror(e);
	if (e == EMUNGE_SOCKET || e == EMUNGE_SNAFU || e == EMUNGE_NO_MEMORY)
		return e == EMUNGE_NO_MEMORY ? -ENOMEM : -EHOSTDOWN;
	return -EKEYREJECTED;
}

int mungeauth_check(const char *socket_path, const char *cred, const unsigned char *binding,
		    size_t n, uid_t *uid, gid_t *gid, const char **why)
{
	void *payload = NULL;
	int len = 0, rc;

	*why = "";
	rc = decode(socket_path, cred, &payload, &len, uid, gid, why);
	if (rc == 0 && (len < 0 || (size_t)len != n || memcmp(payload, binding, n) != 0)) {
		*why = "the credential was not made for this connection (its payload must be "
		       "the connection's TLS exporter value)";
		rc = -EKEYREJECTED;
	}
	free(payload);
	return rc;
}
