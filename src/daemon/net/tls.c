/*
 * tls.c - TLS 1.3 with an external PSK on memory BIOs, for the event
 * loop's --listen connections. See tls.h.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "base/common.h"
#include "daemon/net/tls.h"

struct tls_server {
	SSL_CTX *ctx;
	unsigned char key[TLS_KEY_BYTES];
	bool has_certificate;	/* --munge: clients without the key may shake hands */
};

struct tls_conn {
	SSL *ssl;
	BIO *rbio, *wbio;	/* ciphertext in (the loop writes), out (the loop reads) */
	bool established, failed;
};

/* TLS_AES_128_GCM_SHA256: its hash (SHA-256) is as long as the key. */
static const unsigned char PSK_CIPHER_ID[2] = { 0x13, 0x01 };

static SSL_SESSION *psk_session(SSL *ssl, const unsigned char *key)
{
	const SSL_CIPHER *cipher = SSL_CIPHER_find(ssl, PSK_CIPHER_ID);
	SSL_SESSION *sess = cipher ? SSL_SESSION_new() : NULL;

	if (!sess)
		return NULL;
	if (!SSL_SESSION_set1_master_key(sess, key, TLS_KEY_BYTES) ||
	    !SSL_SESSION_set_cipher(sess, cipher) ||
	    !SSL_SESSION_set_protocol_version(sess, TLS1_3_VERSION)) {
		SSL_SESSION_free(sess);
		return NULL;
	}
	return sess;
}

/* The client named an identity: ours gets the key's session; another
 * gets none, and with no certificate to fall back to, the handshake
 * fails (with --munge's, it goes on as a certificate handshake, and the
 * connection must then show a MUNGE credential). 1 (go on), 0 (fail
 * now). */
static int find_psk(SSL *ssl, const unsigned char *identity, size_t len, SSL_SESSION **sess)
{
	struct tls_server *t = SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl));

	*sess = NULL;
	if (len != strlen(TLS_PSK_IDENTITY) || memcmp(identity, TLS_PSK_IDENTITY, len) != 0)
		return 1;
	*sess = psk_session(ssl, t->key);
	return *sess != NULL;
}

/* --munge: a certificate too, for clients that offer no key. */
static int use_certificate(struct tls_server *t, EVP_PKEY *pkey, X509 *cert)
{
	if (!cert)
		return 0;
	if (SSL_CTX_use_certificate(t->ctx, cert) != 1 ||
	    SSL_CTX_use_PrivateKey(t->ctx, pkey) != 1 || SSL_CTX_check_private_key(t->ctx) != 1)
		return -EPROTO;
	t->has_certificate = true;
	return 0;
}

int tls_server_open(struct tls_server **out, const unsigned char key[TLS_KEY_BYTES],
		    EVP_PKEY *pkey, X509 *cert)
{
	struct tls_server *t = calloc(1, sizeof(*t));

	if (!t)
		return -ENOMEM;
	memcpy(t->key, key, TLS_KEY_BYTES);
	t->ctx = SSL_CTX_new(TLS_server_method());
	if (!t->ctx || !SSL_CTX_set_min_proto_version(t->ctx, TLS1_3_VERSION) ||
	    !SSL_CTX_set_ciphersuites(t->ctx, "TLS_AES_128_GCM_SHA256") ||
	    !SSL_CTX_set_num_tickets(t->ctx, 0) || use_certificate(t, pkey, cert) < 0) {
		tls_server_close(t);
		ERR_clear_error();
		return -EPROTO;
	}
	/* Answers are made whole and sealed at once: no partial writes, no
	 * buffer kept between them. */
	SSL_CTX_set_mode(t->ctx, SSL_MODE_RELEASE_BUFFERS);
	SSL_CTX_set_options(t->ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_TICKET);
	SSL_CTX_set_app_data(t->ctx, t);
	SSL_CTX_set_psk_find_session_callback(t->ctx, find_psk);
	*out = t;
	return 0;
}

void tls_server_close(struct tls_server *t)
{
	if (!t)
		return;
	SSL_CTX_free(t->ctx);
	OPENSSL_cleanse(t->key, sizeof(t->key));
	free(t);
}

struct tls_conn *tls_conn_new(struct tls_server *t)
{
	struct tls_conn *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->ssl = SSL_new(t->ctx);
	c->rbio = BIO_new(BIO_s_mem());
	c->wbio = BIO_new(BIO_s_mem());
	if (!c->ssl || !c->rbio || !c->wbio) {
		BIO_free(c->rbio);
		BIO_free(c->wbio);
		SSL_free(c->ssl);
		free(c);
		ERR_clear_error();
		return NULL;
	}
	SSL_set_bio(c->ssl, c->rbio, c->wbio);	/* the SSL owns them now */
	SSL_set_accept_state(c->ssl);
	return c;
}

void tls_conn_free(struct tls_conn *c)
{
	if (!c)
		return;
	SSL_free(c->ssl);
	free(c);
}

/* Anything but "needs more bytes" ends the connection. */
static int tls_error(struct tls_conn *c, int ret)
{
	int e = SSL_get_error(c->ssl, ret);

	if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
		return 0;
	ERR_clear_error();
	c->failed = true;
	return e == SSL_ERROR_ZERO_RETURN ? -ECONNRESET : -EPROTO;
}

static int handshake(struct tls_conn *c)
{
	int ret = SSL_do_handshake(c->ssl);

	if (ret == 1) {
		c->established = true;
		return 0;
	}
	return tls_error(c, ret);
}

static int read_plain(struct tls_conn *c, struct buf *plain)
{
	for (;;) {
		size_t got = 0;
		buf_reserve(plain, 16384);
		if (plain->oom)
			return -ENOMEM;
		if (!SSL_read_ex(c->ssl, plain->p + plain->len, plain->cap - plain->len - 1, &got))
			return tls_error(c, 0);
		plain->len += got;
		plain->p[plain->len] = '\0';
	}
}

int tls_conn_receive(struct tls_conn *c, const void *data, size_t n, struct buf *plain)
{
	int rc;

	if (c->failed)
		return -EPROTO;
	if (BIO_write(c->rbio, data, (int)n) != (int)n)
		return -ENOMEM;
	if (!c->established && ((rc = handshake(c)) < 0 || !c->established))
		return rc;
	return read_plain(c, plain);
}

int tls_conn_seal(struct tls_conn *c, struct buf *plain, struct buf *out)
{
	size_t pending;

	if (plain->len && c->established && !c->failed) {
		size_t written = 0;
		if (!SSL_write_ex(c->ssl, plain->p, plain->len, &written))
			tls_error(c, 0);	/* failed: the rest is dropped */
	}
	buf_reset(plain);
	if ((pending = BIO_ctrl_pending(c->wbio)) == 0)
		return 0;
	buf_reserve(out, pending);
	if (out->oom)
		return -ENOMEM;
	int got = BIO_read(c->wbio, out->p + out->len, (int)pending);
	if (got > 0)
		out->len += (size_t)got;
	return 0;
}

bool tls_conn_has_output(const struct tls_conn *c)
{
	return BIO_ctrl_pending(c->wbio) > 0;
}

bool tls_conn_established(const struct tls_conn *c)
{
	return c->established;
}

bool tls_conn_by_key(const struct tls_conn *c)
{
	return c->established && SSL_session_reused(c->ssl) == 1;
}

int tls_conn_binding(const struct tls_conn *c, unsigned char out[TLS_BINDING_BYTES])
{
	if (!c->established ||
	    SSL_export_keying_material(c->ssl, out, TLS_BINDING_BYTES, TLS_BINDING_LABEL,
				       strlen(TLS_BINDING_LABEL), NULL, 0, 0) != 1) {
		ERR_clear_error();
		return -EPROTO;
	}
	return 0;
}

bool tls_conn_failed(const struct tls_conn *c)
{
	return c->failed;
}
