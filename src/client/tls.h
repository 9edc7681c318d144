/*
 * tls.h - the client's end of jobringd's --listen (issue 17): TLS 1.3 over
 * a blocking TCP socket with the external PSK of an access file (the
 * daemon's src/daemon/net/tls.h has the server's end and the reasons).
 * Internal to libjobring's client; not thread-safe: one per jr_client.
 */
#ifndef JR_CLIENT_TLS_H
#define JR_CLIENT_TLS_H

#include <stddef.h>
#include <sys/types.h>

struct client_tls;

/* Is addr a TCP address ("tls://HOST:PORT", "HOST:PORT", "[V6]:PORT")
 * rather than a socket path? A path has a '/' or no ":PORT" at its end. */
int client_tls_is_address(const char *addr);

/* Read the access file at path (it must not be readable by others: a
 * key that others may read is refused, -EPERM) and make the context of
 * its key. server (size bytes) gets the address it names. A MUNGE access
 * file ("auth":"munge", jobringd --munge; no secret, any mode) names the
 * certificate's fingerprint instead: connections check it and then show
 * a MUNGE credential. 0, -ENOENT, -EPERM, -EBADMSG (not an access file),
 * -ENOMEM. */
int client_tls_load(struct client_tls **out, const char *path, char *server, size_t size);
void client_tls_free(struct client_tls *t);

/* Connect to addr ("tls://" optional) and shake hands: 0, or -errno:
 * -EKEYREJECTED (the daemon does not hold this key), -EBUSY (it holds
 * too many connections: its 503 came instead of a handshake), -EPROTO (no TLS
 * 1.3 server there), -ECONNREFUSED, -EADDRNOTAVAIL (no such host) and
 * those of connect(2). With a MUNGE access file: -EBADE (the server's
 * certificate is not the one the file names), -EHOSTDOWN (no munged here
 * made a credential; $JOBRING_MUNGE_SOCKET names its socket),
 * -EKEYREJECTED (the daemon refused the credential), -EACCES (it does
 * not serve this uid), -EAGAIN (it could not take the credential now). */
int client_tls_connect(struct client_tls *t, const char *addr);

/* The connection's bytes: 0 or -errno; received bytes (0: closed) or
 * -errno. Closing frees the connection, not the context. */
int client_tls_send(struct client_tls *t, const char *p, size_t n);
ssize_t client_tls_recv(struct client_tls *t, char *buf, size_t size);
void client_tls_disconnect(struct client_tls *t);

/* The connection's socket (for poll), and whether bytes already
 * deciphered wait to be read (poll would not see them). */
int client_tls_fd(const struct client_tls *t);
int client_tls_pending(const struct client_tls *t);

#endif
