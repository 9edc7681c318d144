/*
 * tls.c - the client's TLS 1.3 with the access file's key. See tls.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <munge.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "client/tls.h"

#define KEY_BYTES 32u
#define IDENTITY_MAX 64u
#define PIN_HEX 65u		/* a certificate's SHA-256 in hex, and the NUL */
/* The daemon's src/daemon/net/tls.h: what a MUNGE credential carries. */
#define BINDING_LABEL "EXPORTER-jobring-munge"
#define BINDING_BYTES 32u
#define HEALTH_ANSWER_MAX (256u * 1024u)	/* the authenticating GET /health's, at most */

struct client_tls {
	SSL_CTX *ctx;
	SSL *ssl;
	int fd;
	unsigned char key[KEY_BYTES];
	char identity[IDENTITY_MAX];
	bool refused_busy;	/* the handshake was answered by the socket's 503 */
	/* A MUNGE access file's ("auth":"munge"): no key; the server's
	 * certificate must have this fingerprint, and the connection shows
	 * a MUNGE credential bound to it. */
	bool munge;
	char pin[PIN_HEX];
};

int client_tls_is_address(const char *addr)
{
	const char *colon = strrchr(addr, ':');

	if (strncmp(addr, "tls://", 6) == 0)
		return 1;
	if (strchr(addr, '/') || !colon || colon == addr || !colon[1])
		return 0;
	return strspn(colon + 1, "0123456789") == strlen(colon + 1);
}

/* The string value of "name":"..." in text, into out. */
static bool json_field(const char *text, const char *name, char *out, size_t size)
{
	char pat[32];
	const char *p, *end;

	snprintf(pat, sizeof(pat), "\"%s\":\"", name);
	if (!(p = strstr(text, pat)))
		return false;
	p += strlen(pat);
	if (!(end = strchr(p, '"')) || (size_t)(end - p) >= size)
		return false;
	memcpy(out, p, (size_t)(end - p));
	out[end - p] = '\0';
	return true;
}

static bool parse_key(const char *hex, unsigned char key[KEY_BYTES])
{
	if (strlen(hex) != 2 * KEY_BYTES)
		return false;
	for (size_t i = 0; i < KEY_BYTES; i++) {
		unsigned v;
		if (sscanf(hex + 2 * i, "%2x", &v) != 1)
			return false;
		key[i] = (unsigned char)v;
	}
	return true;
}

/* A MUNGE access file: the server and the certificate's fingerprint. */
static int read_munge_access(struct client_tls *t, const char *text, char *server, size_t size)
{
	if (!json_field(text, "certificate_sha256", t->pin, sizeof(t->pin)) ||
	    strlen(t->pin) != PIN_HEX - 1 || strspn(t->pin, "0123456789abcdef") != PIN_HEX - 1 ||
	    !json_field(text, "server", server, size))
		return -EBADMSG;
	t->munge = true;
	return 0;
}

static int read_access(struct client_tls *t, const char *path, char *server, size_t size)
{
	char text[1024] = { 0 }, hex[2 * KEY_BYTES + 2], auth[16];
	struct stat st;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC), rc = 0;

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		close(fd);
		return -EPERM;
	}
	n = read(fd, text, sizeof(text) - 1);
	close(fd);
	if (n > 0 && json_field(text, "auth", auth, sizeof(auth)) && strcmp(auth, "munge") == 0)
		return read_munge_access(t, text, server, size);	/* no secret in it */
	if (st.st_mode & 077)
		rc = -EPERM;
	else if (n <= 0 || !json_field(text, "key", hex, sizeof(hex)) || !parse_key(hex, t->key) ||
		 !json_field(text, "server", server, size))
		rc = -EBADMSG;
	else if (!json_field(text, "identity", t->identity, sizeof(t->identity)))
		snprintf(t->identity, sizeof(t->identity), "jobring");
	explicit_bzero(text, sizeof(text));
	return rc;
}

/* The session the client offers: the key as TLS 1.3's external PSK,
 * for TLS_AES_128_GCM_SHA256 (as the daemon's). */
static int use_psk(SSL *ssl, const EVP_MD *md, const unsigned char **id, size_t *idlen,
		   SSL_SESSION **sess)
{
	static const unsigned char cipher_id[2] = { 0x13, 0x01 };
	struct client_tls *t = SSL_get_app_data(ssl);
	const SSL_CIPHER *cipher = SSL_CIPHER_find(ssl, cipher_id);
	SSL_SESSION *s;

	*sess = NULL;
	if (!cipher || (md && md != SSL_CIPHER_get_handshake_digest(cipher)))
		return 1;	/* none for that hash */
	if (!(s = SSL_SESSION_new()))
		return 0;
	if (!SSL_SESSION_set1_master_key(s, t->key, KEY_BYTES) ||
	    !SSL_SESSION_set_cipher(s, cipher) ||
	    !SSL_SESSION_set_protocol_version(s, TLS1_3_VERSION)) {
		SSL_SESSION_free(s);
		return 0;
	}
	*sess = s;
	*id = (const unsigned char *)t->identity;
	*idlen = strlen(t->identity);
	return 1;
}

static int pinned_later(int preverified, X509_STORE_CTX *store)
{
	(void)preverified;
	(void)store;
	return 1;
}

int client_tls_load(struct client_tls **out, const char *path, char *server, size_t size)
{
	struct client_tls *t = calloc(1, sizeof(*t));
	int rc;

	if (!t)
		return -ENOMEM;
	t->fd = -1;
	if ((rc = read_access(t, path, server, size)) < 0) {
		client_tls_free(t);
		return rc;
	}
	t->ctx = SSL_CTX_new(TLS_client_method());
	if (!t->ctx || !SSL_CTX_set_min_proto_version(t->ctx, TLS1_3_VERSION) ||
	    !SSL_CTX_set_ciphersuites(t->ctx, "TLS_AES_128_GCM_SHA256")) {
		ERR_clear_error();
		client_tls_free(t);
		return -ENOMEM;
	}
	if (t->munge) {
		/* Its certificate is self-signed: pinned (client_tls_connect),
		 * not checked against a CA. */
		SSL_CTX_set_verify(t->ctx, SSL_VERIFY_PEER, pinned_later);
	} else {
		SSL_CTX_set_psk_use_session_callback(t->ctx, use_psk);
		/* The key is the only proof the server gives: a server that
		 * ignores it and shows a certificate instead is refused (no CA
		 * is trusted, so any certificate fails), and client_tls_connect
		 * checks that the handshake was the key's. */
		SSL_CTX_set_verify(t->ctx, SSL_VERIFY_PEER, NULL);
	}
	*out = t;
	return 0;
}

void client_tls_free(struct client_tls *t)
{
	if (!t)
		return;
	client_tls_disconnect(t);
	SSL_CTX_free(t->ctx);
	OPENSSL_cleanse(t->key, sizeof(t->key));
	free(t);
}

/* "tls://HOST:PORT" or "[V6]:PORT": a connected TCP socket. */
static int tcp_connect(const char *addr)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM }, *ai, *a;
	char host[256];
	const char *colon;
	size_t n;
	int fd = -ECONNREFUSED, one = 1;

	if (strncmp(addr, "tls://", 6) == 0)
		addr += 6;
	colon = strrchr(addr, ':');
	if (!colon || (n = (size_t)(colon - addr)) >= sizeof(host) || n == 0)
		return -EINVAL;
	if (addr[0] == '[' && addr[n - 1] == ']')
		snprintf(host, sizeof(host), "%.*s", (int)n - 2, addr + 1);
	else
		snprintf(host, sizeof(host), "%.*s", (int)n, addr);
	if (getaddrinfo(host, colon + 1, &hints, &ai) != 0)
		return -EADDRNOTAVAIL;
	for (a = ai; a; a = a->ai_next) {
		fd = socket(a->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0) {
			fd = -errno;
			continue;
		}
		if (connect(fd, a->ai_addr, a->ai_addrlen) == 0)
			break;
		close(fd);
		fd = -errno;
	}
	freeaddrinfo(ai);
	if (fd >= 0)	/* requests and answers are small: no Nagle delay */
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

/* Why the handshake failed. The PSK binder did not verify (another key):
 * OpenSSL 3.0's server says illegal_parameter, RFC 8446 4.2.11 and later
 * versions decrypt_error; a server that found no key for the identity,
 * handshake_failure. */
static int handshake_error(void)
{
	unsigned long e = ERR_peek_last_error();
	int reason = ERR_GET_REASON(e);

	ERR_clear_error();
	if (reason == SSL_R_TLSV1_ALERT_DECRYPT_ERROR || reason == SSL_R_SSLV3_ALERT_ILLEGAL_PARAMETER ||
	    reason == SSL_R_SSLV3_ALERT_HANDSHAKE_FAILURE)
		return -EKEYREJECTED;
	return e ? -EPROTO : -ECONNRESET;
}

/* What the SSL object wrote goes to the socket. Through memory BIOs, not
 * a socket BIO, so that a daemon gone away is -EPIPE here rather than a
 * SIGPIPE in the calling program (MSG_NOSIGNAL, as the Unix socket's
 * client does). */
static int flush_out(struct client_tls *t)
{
	char buf[16384];
	int n;

	while ((n = BIO_read(SSL_get_wbio(t->ssl), buf, sizeof(buf))) > 0) {
		for (char *p = buf; n > 0;) {
			ssize_t w = send(t->fd, p, (size_t)n, MSG_NOSIGNAL);
			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0)
				return -errno;
			p += w;
			n -= (int)w;
		}
	}
	return 0;
}

/* More ciphertext from the socket for the SSL object: 1, 0 at the end of
 * the stream, or -errno. */
static int fill_in(struct client_tls *t)
{
	char buf[16384];
	ssize_t n;

	do
		n = recv(t->fd, buf, sizeof(buf), 0);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	/* Over the daemon's connection budget, it answers in clear text. */
	if (!SSL_is_init_finished(t->ssl) && n >= 12 && memcmp(buf, "HTTP/1.1 503", 12) == 0)
		t->refused_busy = true;
	if (n > 0 && BIO_write(SSL_get_rbio(t->ssl), buf, (int)n) != (int)n)
		return -ENOMEM;
	return n > 0;
}

/* One step of an SSL call that returned ret: 1 to call it again, 0 at the
 * end of the stream, or -errno. */
static int pump(struct client_tls *t, int ret)
{
	int e = SSL_get_error(t->ssl, ret), rc = flush_out(t);

	if (rc < 0)
		return rc;
	if (e == SSL_ERROR_WANT_READ)
		return fill_in(t);
	if (e == SSL_ERROR_ZERO_RETURN)
		return 0;
	return -EPROTO;
}

/* --- a MUNGE access file's connection ------------------------------------------ */

/* The server's certificate is the one the access file names. */
static bool pin_matches(struct client_tls *t)
{
	X509 *cert = SSL_get0_peer_certificate(t->ssl);
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	char hex[PIN_HEX];

	if (!cert || !X509_digest(cert, EVP_sha256(), md, &n) || 2 * n + 1 != PIN_HEX)
		return false;
	for (unsigned int i = 0; i < n; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	return CRYPTO_memcmp(hex, t->pin, PIN_HEX - 1) == 0;
}

/* A credential of this process's uid whose payload is the connection's
 * channel binding, made by the local munged ($JOBRING_MUNGE_SOCKET, else
 * libmunge's default socket). NULL: munged could not make one. */
static char *munge_credential(struct client_tls *t)
{
	unsigned char binding[BINDING_BYTES];
	const char *sock = getenv("JOBRING_MUNGE_SOCKET");
	munge_ctx_t ctx;
	char *cred = NULL;

	if (SSL_export_keying_material(t->ssl, binding, sizeof(binding), BINDING_LABEL,
				       strlen(BINDING_LABEL), NULL, 0, 0) != 1 ||
	    !(ctx = munge_ctx_create()))
		return NULL;
	if ((!sock || !*sock || munge_ctx_set(ctx, MUNGE_OPT_SOCKET, sock) == EMUNGE_SUCCESS) &&
	    munge_encode(&cred, ctx, binding, sizeof(binding)) != EMUNGE_SUCCESS) {
		free(cred);
		cred = NULL;
	}
	munge_ctx_destroy(ctx);
	return cred;
}

/* The answer's status once its head and body are in: 0 if not yet. */
static int answer_status(const char *text, size_t len)
{
	const char *end = strstr(text, "\r\n\r\n"), *cl;
	long body = 0;
	int status = 0;

	if (!end || sscanf(text, "HTTP/1.1 %d", &status) != 1)
		return 0;
	if ((cl = strcasestr(text, "\r\ncontent-length:")) && cl < end)
		body = strtol(cl + 17, NULL, 10);
	return (size_t)(end + 4 - text) + (size_t)(body > 0 ? body : 0) <= len ? status : 0;
}

/* GET /health with "Authorization: MUNGE <credential>": the daemon
 * handles this connection as our uid from now on (200), or refuses it
 * and closes. 0, -EKEYREJECTED (401: the credential did not verify),
 * -EACCES (403: the daemon does not serve this uid), -EAGAIN (503: its
 * munged did not answer, or this uid holds too many connections),
 * -EHOSTDOWN (no munged here to make one), -EPROTO. */
static int munge_authenticate(struct client_tls *t)
{
	char request[1024], *answer;
	char *cred = munge_credential(t);
	size_t len = 0;
	int n, status = 0;

	if (!cred)
		return -EHOSTDOWN;
	n = snprintf(request, sizeof(request), "GET /health HTTP/1.1\r\nHost: jobring\r\n"
		     "Authorization: MUNGE %s\r\nContent-Length: 0\r\n\r\n", cred);
	free(cred);
	if (n < 0 || (size_t)n >= sizeof(request) || client_tls_send(t, request, (size_t)n) < 0)
		return -EPROTO;
	if (!(answer = malloc(HEALTH_ANSWER_MAX)))
		return -ENOMEM;
	answer[0] = '\0';
	while (!(status = answer_status(answer, len))) {
		ssize_t got = len + 1 < HEALTH_ANSWER_MAX ?
			      client_tls_recv(t, answer + len, HEALTH_ANSWER_MAX - 1 - len) : 0;
		if (got <= 0) {
			status = -1;
			break;
		}
		len += (size_t)got;
		answer[len] = '\0';
	}
	free(answer);
	return status == 200 ? 0 : status == 401 ? -EKEYREJECTED : status == 403 ? -EACCES
	       : status == 503 ? -EAGAIN : status < 0 ? -ECONNRESET : -EPROTO;
}

int client_tls_connect(struct client_tls *t, const char *addr)
{
	int fd = tcp_connect(addr), ret, rc;
	BIO *rbio = BIO_new(BIO_s_mem()), *wbio = BIO_new(BIO_s_mem());

	client_tls_disconnect(t);
	if (fd < 0 || !rbio || !wbio || !(t->ssl = SSL_new(t->ctx))) {
		BIO_free(rbio);
		BIO_free(wbio);
		if (fd >= 0)
			close(fd);
		ERR_clear_error();
		return fd < 0 ? fd : -ENOMEM;
	}
	SSL_set_bio(t->ssl, rbio, wbio);
	t->fd = fd;
	SSL_set_app_data(t->ssl, t);
	SSL_set_connect_state(t->ssl);
	t->refused_busy = false;
	while ((ret = SSL_do_handshake(t->ssl)) != 1) {
		if ((rc = pump(t, ret)) <= 0) {
			rc = rc == -EPROTO || rc == 0 ? handshake_error() : rc;
			rc = t->refused_busy ? -EBUSY : rc;
			client_tls_disconnect(t);
			return rc;
		}
	}
	if (t->munge)	/* not the daemon the file names: -EBADE */
		rc = pin_matches(t) ? munge_authenticate(t) : -EBADE;
	else	/* not by the key: -EKEYREJECTED */
		rc = SSL_session_reused(t->ssl) ? flush_out(t) : -EKEYREJECTED;
	if (rc < 0)
		client_tls_disconnect(t);
	return rc;
}

int client_tls_send(struct client_tls *t, const char *p, size_t n)
{
	size_t written;

	if (!t->ssl)
		return -ENOTCONN;
	if (n && !SSL_write_ex(t->ssl, p, n, &written)) {
		ERR_clear_error();
		return -EPROTO;
	}
	return flush_out(t);
}

ssize_t client_tls_recv(struct client_tls *t, char *buf, size_t size)
{
	size_t got = 0;
	int rc;

	if (!t->ssl)
		return -ENOTCONN;
	while (!SSL_read_ex(t->ssl, buf, size, &got)) {
		if ((rc = pump(t, 0)) <= 0) {
			ERR_clear_error();
			return rc == -EPROTO ? -ECONNRESET : rc;
		}
	}
	return (ssize_t)got;
}

void client_tls_disconnect(struct client_tls *t)
{
	if (t->ssl)
		SSL_free(t->ssl);
	t->ssl = NULL;
	if (t->fd >= 0)
		close(t->fd);
	t->fd = -1;
}

int client_tls_fd(const struct client_tls *t)
{
	return t->fd;
}

int client_tls_pending(const struct client_tls *t)
{
	/* Plaintext deciphered, a record read but not yet deciphered, or
	 * ciphertext pumped into the memory BIO and not yet read by TLS. */
	return t->ssl && (SSL_pending(t->ssl) > 0 || SSL_has_pending(t->ssl) ||
			  BIO_ctrl_pending(SSL_get_rbio(t->ssl)) > 0);
}
