/*
 * mungeauth.h - a MUNGE credential checked for --listen (issue 17, with
 * --munge): how a remote client proves which uid it is, as Slurm's
 * clients do. The credential (munge_encode on the client's node, with
 * the site's shared MUNGE key) must carry as its payload the connection's
 * TLS channel binding (tls_conn_binding: an exporter value, RFC 5705),
 * so that it is good for the one TLS connection it was made for: a
 * credential seen elsewhere, or relayed by a man in the middle (whose
 * two connections have two bindings), does not verify here. munged's
 * replay cache refuses it a second time besides.
 *
 * The decode asks the local munged over its Unix socket, once per
 * connection (tens of microseconds), on a thread of its own that the
 * event loop waits for at most MUNGEAUTH_WAIT_MS: a munged that hangs
 * costs that much once, and then MUNGEAUTH_PAUSE_MS in which every
 * credential is answered "unavailable" at once.
 */
#ifndef JR_MUNGEAUTH_H
#define JR_MUNGEAUTH_H

#include <stddef.h>
#include <sys/types.h>

#define MUNGEAUTH_SCHEME "MUNGE "	/* Authorization: MUNGE <credential> */
#define MUNGEAUTH_WAIT_MS 250u
#define MUNGEAUTH_PAUSE_MS 5000u

/* Decode cred with the munged at socket_path (NULL: libmunge's default)
 * and check that its payload is binding (n bytes). 0 and *uid, *gid: the
 * credential's; -EKEYREJECTED (invalid, expired, replayed, another key, a
 * payload not this connection's: why in *why), -EHOSTDOWN (munged could
 * not be asked), -ENOMEM. */
int mungeauth_check(const char *socket_path, const char *cred, const unsigned char *binding,
		    size_t n, uid_t *uid, gid_t *gid, const char **why);

#endif
