/*
 * lease.c - lease tokens of external executions. See lease.h.
 *
 * SipHash-2-4, 128-bit output, as in Aumasson and Bernstein's reference
 * implementation (github.com/veorq/SipHash): a keyed PRF, so a token
 * cannot be computed, or told from another execution's, without the key.
 */
#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <sys/random.h>

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

static void token_of(const struct lease_key *k, uint64_t execution_id, uint8_t out[16])
{
	uint8_t key[16], msg[8];

	store64_le(key, k->k0);
	store64_le(key + 8, k->k1);
	store64_le(msg, execution_id);
	lease_siphash128(key, msg, sizeof(msg), out);
}

void lease_format(const struct lease_key *k, uint64_t execution_id, char out[LEASE_HEX + 1])
{
	static const char hex[] = "0123456789abcdef";
	uint8_t t[16];

	token_of(k, execution_id, t);
	for (int i = 0; i < 16; i++) {
		out[2 * i] = hex[t[i] >> 4];
		out[2 * i + 1] = hex[t[i] & 15];
	}
	out[LEASE_HEX] = '\0';
}

bool lease_valid(const struct lease_key *k, uint64_t execution_id, const char *token)
{
	char want[LEASE_HEX + 1];
	unsigned diff = 0;

	if (!token || strlen(token) != LEASE_HEX)
		return false;
	lease_format(k, execution_id, want);
	for (int i = 0; i < LEASE_HEX; i++)
		diff |= (unsigned)(want[i] ^ token[i]);
	return diff == 0;
}
