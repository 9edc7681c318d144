/*
 * access.h - the access file of the --listen listener (issue 17), as
 * HyperQueue writes one: what a client on another host needs to reach
 * this daemon over TLS and prove that it may, in one line of JSON:
 *
 *   {"version":1,"server":"HOST:PORT","identity":"jobring","key":"64 hex digits"}
 *
 * Written by jobringd at start (STATE_DIR/access.json or --access-file),
 * mode 0600, owned by the daemon's user, atomically (a temporary file
 * renamed over it), after the listener is bound (its port is known).
 * The key is kept from the file already there, if it is the daemon
 * user's, 0600 and well formed, so that clients and workers holding a
 * copy reconnect after a restart; a new one is drawn (getrandom)
 * otherwise. Remove the file to change the key. Whoever can read it acts
 * as the daemon's owner.
 */
#ifndef JR_ACCESS_H
#define JR_ACCESS_H

#include <stdint.h>

#include "daemon/net/tls.h"

/* The file at path opened for reading if it is a regular file of the
 * daemon's user that nobody else may read: its descriptor, -ENOENT,
 * -EPERM (another's, readable by others, or not a file) or -errno. For
 * the files that hold keys (this one, cert.h's). */
int access_open_private(const char *path);

/* Keep or draw the key, write the file at path naming host:port. key
 * gets the key. 0 or -errno (-EPERM: a file there that is not the
 * daemon user's or is readable by others, left alone). */
int access_file_write(const char *path, const char *host, uint16_t port,
		      unsigned char key[TLS_KEY_BYTES]);

/* --munge (issue 17): the MUNGE access file, which holds no secret and
 * is written 0644 (atomically, as the other):
 *
 *   {"version":1,"server":"HOST:PORT","auth":"munge","certificate_sha256":"64 hex"}
 *
 * A client that reads it shakes hands without a key, checks that the
 * server's certificate has that fingerprint (cert.h), and proves its uid
 * with a MUNGE credential (mungeauth.h). 0 or -errno. */
int access_munge_file_write(const char *path, const char *host, uint16_t port,
			    const char *fingerprint);

#endif
