/*
 * lease.c - lease tokens of external executions. See lease.h.
 *
 * SipHash-2-4, 128-bit output, as in Aumasson and Bernstein's reference
 * implementation (github.com/veorq/SipHash): a keyed PRF, so a token
 * cannot be computed, or told from another execution's, without the key.
 */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon/state/lease.h"

static inline uint64_t rotl(uint64_t x, int b)
{
	return x << b | x >> (64 - b);
}

static inline uint64_t load64_le(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static inline void store64_le(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++, v >>= 8)
		p[i] = (uint8_t)v;
}

struct sip {
	uint64_t v0, v1, v2, v3;
};

static void rounds(struct sip *s, int n)
{
	for (int i = 0; i < n; i++) {
		s->v0 += s->v1; s->v1 = rotl(s->v1, 13); s->v1 ^= s->v0; s->v0 = rotl(s->v0, 32);
		s->v2 += s->v3; s->v3 = rotl(s->v3, 16); s->v3 ^= s->v2;
		s->v0 += s->v3; s->v3 = rotl(s->v3, 21); s->v3 ^= s->v0;
		s->v2 += s->v1; s->v1 = rotl(s->v1, 17); s->v1 ^= s->v2; s->v2 = rotl(s->v2, 32);
	}
}

static void absorb(struct sip *s, uint64_t m)
{
	s->v3 ^= m;
	rounds(s, 2);
	s->v0 ^= m;
}

void lease_siphash128(const uint8_t key[16], const void *in, size_t len, uint8_t out[16])
{
	const uint8_t *p = in;
	uint64_t k0 = load64_le(key), k1 = load64_le(key + 8), last = (uint64_t)len << 56;
	struct sip s = { 0x736f6d6570736575ULL ^ k0, 0x646f72616e646f6dULL ^ k1 ^ 0xee,
			 0x6c7967656e657261ULL ^ k0, 0x7465646279746573ULL ^ k1 };
	size_t i;

	for (i = 0; i + 8 <= len; i += 8)
		absorb(&s, load64_le(p + i));
	for (size_t j = 0; i + j < len; j++)
		last |= (uint64_t)p[i + j] << (8 * j);
	absorb(&s, last);
	s.v2 ^= 0xee;
	rounds(&s, 4);
	store64_le(out, s.v0 ^ s.v1 ^ s.v2 ^ s.v3);
	s.v1 ^= 0xdd;
	rounds(&s, 4);
	store64_le(out + 8, s.v0 ^ s.v1 ^ s.v2 ^ s.v3);
}

int lease_key_init(struct lease_key *k)
{
	uint8_t b[16];
	size_t got = 0;

	while (got < sizeof(b)) {
		ssize_t n = getrandom(b + got, sizeof(b) - got, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		got += (size_t)n;
	}
	k->k0 = load64_le(b);
	k->k1 = load64_le(b + 8);
	return 0;
}

static void token_of(const struct lease_key *k, uint64_t execution_id, uint64_t start_ns,
		     uint8_t out[16])
{
	uint8_t key[16], msg[16];

	store64_le(key, k->k0);
	store64_le(key + 8, k->k1);
	store64_le(msg, execution_id);
	store64_le(msg + 8, start_ns);
	lease_siphash128(key, msg, sizeof(msg), out);
}

static void hex_of(const uint8_t *b, size_t n, char *out)
{
	static const char hex[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = hex[b[i] >> 4];
		out[2 * i + 1] = hex[b[i] & 15];
	}
	out[2 * n] = '\0';
}

void lease_format(const struct lease_key *k, uint64_t execution_id, uint64_t start_ns,
		  char out[LEASE_HEX + 1])
{
	uint8_t t[16];

	token_of(k, execution_id, start_ns, t);
	hex_of(t, sizeof(t), out);
}

bool lease_valid(const struct lease_key *k, uint64_t execution_id, uint64_t start_ns,
		 const char *token)
{
	char want[LEASE_HEX + 1];
	unsigned diff = 0;

	if (!token || strlen(token) != LEASE_HEX)
		return false;
	lease_format(k, execution_id, start_ns, want);
	for (int i = 0; i < LEASE_HEX; i++)
		diff |= (unsigned)(want[i] ^ token[i]);
	return diff == 0;
}

/* --- the key file ------------------------------------------------------------------------ */

#define KEY_TEXT (2 * 16 + 1)	/* 32 hex digits and a newline */

static int unhex(const char *s, uint8_t out[16])
{
	for (int i = 0; i < 32; i++) {
		int c = s[i], v;
		if (c >= '0' && c <= '9')
			v = c - '0';
		else if (c >= 'a' && c <= 'f')
			v = c - 'a' + 10;
		else
			return -EINVAL;
		out[i / 2] = (uint8_t)(i % 2 ? out[i / 2] | v : v << 4);
	}
	return 0;
}

static int key_read(struct lease_key *k, int fd, const char *path, char *err, size_t err_size)
{
	char text[KEY_TEXT + 1];
	uint8_t b[16];
	struct stat st;
	ssize_t n;

	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 077)) {
		snprintf(err, err_size, "%s must be a regular file of uid %u, mode 0600 "
			 "(it is uid %u, mode %04o): the lease key is secret", path,
			 (unsigned)geteuid(), (unsigned)st.st_uid, (unsigned)(st.st_mode & 07777));
		return -EPERM;
	}
	n = pread(fd, text, sizeof(text), 0);
	if (n < 0)
		return -errno;
	if (n != KEY_TEXT || text[32] != '\n' || unhex(text, b) < 0) {
		snprintf(err, err_size, "%s is not a lease key (32 hex digits, a newline)",
			 path);
		return -EINVAL;
	}
	k->k0 = load64_le(b);
	k->k1 = load64_le(b + 8);
	return 0;
}

static int write_all(int fd, const char *p, size_t len)
{
	while (len) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* A new key, written whole before it gets its name: a crash leaves
 * either no lease.key or a complete one. */
static int key_create(struct lease_key *k, int dirfd)
{
	uint8_t b[16];
	char text[KEY_TEXT + 1];
	int fd, rc;

	if ((rc = lease_key_init(k)) < 0)
		return rc;
	store64_le(b, k->k0);
	store64_le(b + 8, k->k1);
	hex_of(b, sizeof(b), text);
	text[32] = '\n';
	if (unlinkat(dirfd, LEASE_KEY_FILE ".new", 0) < 0 && errno != ENOENT)
		return -errno;
	fd = openat(dirfd, LEASE_KEY_FILE ".new",
		    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	rc = write_all(fd, text, KEY_TEXT);
	if (rc == 0 && fsync(fd) < 0)
		rc = -errno;
	close(fd);
	if (rc == 0 && renameat(dirfd, LEASE_KEY_FILE ".new", dirfd, LEASE_KEY_FILE) < 0)
		rc = -errno;
	if (rc == 0 && fsync(dirfd) < 0)
		rc = -errno;
	if (rc < 0)
		unlinkat(dirfd, LEASE_KEY_FILE ".new", 0);
	return rc;
}

int lease_key_load(struct lease_key *k, const char *dir, char *err, size_t err_size)
{
	char path[4096];
	int dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), fd, rc;

	snprintf(path, sizeof(path), "%s/%s", dir, LEASE_KEY_FILE);
	snprintf(err, err_size, "%s: %s", path, "cannot be read or made");
	if (dirfd < 0)
		return -errno;
	fd = openat(dirfd, LEASE_KEY_FILE, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd >= 0) {
		rc = key_read(k, fd, path, err, err_size);
		close(fd);
	} else if (errno == ENOENT) {
		rc = key_create(k, dirfd);
		rc = rc < 0 ? rc : 1;
	} else {
		rc = errno == ELOOP ? -EPERM : -errno;
		if (rc == -EPERM)
			snprintf(err, err_size, "%s is a symbolic link: refused", path);
	}
	close(dirfd);
	if (rc < 0 && rc != -EPERM && rc != -EINVAL)
		snprintf(err, err_size, "%s: %s", path, strerror(-rc));
	return rc;
}
