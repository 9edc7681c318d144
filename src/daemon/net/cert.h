/*
 * cert.h - the certificate --listen shows when --munge is on (issue 17):
 * clients without the access file's key authenticate with a MUNGE
 * credential instead (munge.h), and need to know they reached this
 * daemon. The daemon makes a self-signed certificate (P-256, SHA-256)
 * once and keeps it, with its key, in one PEM file (STATE_DIR/listen.pem,
 * 0600, the daemon user's), so that its fingerprint, published in the
 * MUNGE access file (access.h) and pinned by clients, outlives restarts.
 * Remove the file to draw a new one.
 */
#ifndef JR_CERT_H
#define JR_CERT_H

#include <openssl/evp.h>
#include <openssl/x509.h>

#define CERT_FINGERPRINT_HEX 65u	/* SHA-256 in hex, and the NUL */

/* Keep the certificate and key in path, or make them if there is no
 * file. The fingerprint of the certificate's DER goes to fingerprint.
 * 0 or -errno (-EPERM: a file that is not the daemon user's or is
 * readable by others, left alone; -EBADMSG: not a key and its
 * certificate). */
int cert_keep_or_make(const char *path, EVP_PKEY **key, X509 **cert,
		      char fingerprint[CERT_FINGERPRINT_HEX]);

/* The SHA-256 of cert's DER in hex: what clients pin. */
void cert_fingerprint(X509 *cert, char out[CERT_FINGERPRINT_HEX]);

#endif
