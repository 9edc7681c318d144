/*
 * lease.h - the lease of an external execution: a token that the claim
 * (or POST /jobs/{id}/execute) hands to the worker and that its
 * completion must carry, so that a process that does not hold the claim
 * (another user's, or one left over from an earlier daemon) cannot end
 * the execution. A token is SipHash-2-4 (128-bit output) of the
 * execution id under a key drawn from getrandom at start: nothing is
 * stored per execution, and every lease of an earlier daemon is void
 * (its executions are claimed again after a restart, see
 * docs/DECISIONS.md). The event loop's thread only.
 */
#ifndef JR_LEASE_H
#define JR_LEASE_H

#include <stdbool.h>
#include <stdint.h>

#define LEASE_HEX 32	/* 128 bits as hex digits, without the NUL */

struct lease_key {
	uint64_t k0, k1;
};

/* A fresh key from getrandom: 0 or -errno (no entropy to be had). */
int lease_key_init(struct lease_key *k);

/* The lease of execution_id as LEASE_HEX hex digits and a NUL. */
void lease_format(const struct lease_key *k, uint64_t execution_id, char out[LEASE_HEX + 1]);

/* Is token (any string, NULL included) the lease of execution_id?
 * Compared in constant time. */
bool lease_valid(const struct lease_key *k, uint64_t execution_id, const char *token);

/* SipHash-2-4 with a 128-bit output of len bytes of in (exposed for its
 * test vectors). */
void lease_siphash128(const uint8_t key[16], const void *in, size_t len, uint8_t out[16]);

#endif
