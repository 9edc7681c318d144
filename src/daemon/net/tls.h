/*
 * tls.h - the --listen listener's TLS 1.3 (issue 17), on OpenSSL, kept
 * apart from the event loop: each connection's SSL object reads from and
 * writes to memory BIOs, so that io_uring keeps driving the socket and
 * nothing here blocks or touches a descriptor. The loop hands over the
 * ciphertext it received (tls_conn_receive: plaintext comes out, for the
 * HTTP parser) and, when it may send, takes the ciphertext made of its
 * plaintext answers and of the handshake (tls_conn_seal).
 *
 * Authentication is TLS 1.3's external pre-shared key (RFC 8446 2.2):
 * the key of the access file (access.h), identity "jobring", cipher
 * TLS_AES_128_GCM_SHA256, with (EC)DHE so that a key read later does not
 * open recorded sessions. The server has no certificate: a client that
 * does not offer the key, or offers another one (the binder does not
 * verify), fails the handshake itself, before any byte of HTTP is read.
 * A connection that completed it is the daemon's owner's (who alone can
 * read the 0600 access file). With --munge the server has a certificate
 * as well, and a client without the key proves its uid with a MUNGE
 * credential instead (mungeauth.h). Not thread-safe: the loop's thread.
 */
#ifndef JR_TLS_H
#define JR_TLS_H

#include <stdbool.h>
#include <stddef.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "daemon/net/buf.h"

#define TLS_PSK_IDENTITY "jobring"
#define TLS_KEY_BYTES 32u
/* What one connection's SSL object and BIOs hold, about: charged to the
 * budget (budget.h) as its buffers are. */
#define TLS_CONN_BYTES (40u * 1024u)
#define TLS_HANDSHAKE_TIMEOUT_MS_DEFAULT 10000u
/* A request body's limit on a connection not yet authenticated (--munge:
 * its first request carries the credential, and needs no body). */
#define TLS_UNAUTH_BODY_MAX 4096u

struct tls_server;
struct tls_conn;

/* The context every connection of the listener shares, with key (the
 * access file's), and with --munge a certificate and its private key
 * (cert.h; NULL: none) for clients that offer no key: such a connection
 * completes its handshake without proving anything, and must show a
 * MUNGE credential bound to it (mungeauth.h) before any request passes.
 * 0, -ENOMEM or -EPROTO (OpenSSL refused the setup). */
int tls_server_open(struct tls_server **out, const unsigned char key[TLS_KEY_BYTES],
		    EVP_PKEY *pkey, X509 *cert);
void tls_server_close(struct tls_server *t);

/* A connection's TLS, server side: NULL if out of memory. */
struct tls_conn *tls_conn_new(struct tls_server *t);
void tls_conn_free(struct tls_conn *c);

/* n bytes of ciphertext received: what they decipher to is appended to
 * plain. 0; -EPROTO: the handshake failed (a wrong key, garbage instead
 * of a ClientHello, plain HTTP) or a record did not verify; the alert,
 * if any, waits in tls_conn_seal, and the connection must close after
 * sending it; -ENOMEM. */
int tls_conn_receive(struct tls_conn *c, const void *data, size_t n, struct buf *plain);

/* Encrypt plain (all of it; emptied) and append every byte of
 * ciphertext waiting (handshake, alerts, records) to out. Plaintext on a
 * connection whose handshake failed is dropped. 0 or -ENOMEM. */
int tls_conn_seal(struct tls_conn *c, struct buf *plain, struct buf *out);

/* Ciphertext waits to be taken with tls_conn_seal. */
bool tls_conn_has_output(const struct tls_conn *c);

/* The handshake completed: the peer holds the key. */
bool tls_conn_established(const struct tls_conn *c);

/* The handshake completed with the key (not the certificate). */
bool tls_conn_by_key(const struct tls_conn *c);

/* The connection's channel binding: TLS_BINDING_BYTES of the TLS 1.3
 * exporter with label TLS_BINDING_LABEL and no context (RFC 8446 7.5),
 * the same at both ends of this connection and at no other. What a MUNGE
 * credential must carry. 0 or -EPROTO (no handshake yet). */
#define TLS_BINDING_LABEL "EXPORTER-jobring-munge"
#define TLS_BINDING_BYTES 32u
int tls_conn_binding(const struct tls_conn *c, unsigned char out[TLS_BINDING_BYTES]);

/* The handshake failed or a record was bad: nothing more is read. */
bool tls_conn_failed(const struct tls_conn *c);

#endif
