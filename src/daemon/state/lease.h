/*
 * lease.h - the lease of an external execution: a token that the claim
 * (or POST /jobs/{id}/execute) hands to the worker and that its
 * completion must carry, so that a process that does not hold the claim
 * (another user's, or one whose attempt is not the job's current one)
 * cannot end the execution. A token is SipHash-2-4 (128-bit output) of
 * the execution id and the attempt's start (ns) under the daemon's key:
 * nothing is stored per execution. The key lives in STATE_DIR/lease.key
 * (lease_key_load), so that leases survive a restart and a worker that
 * ran on keeps its executions (docs/DECISIONS.md, "Workers re-attach
 * after a restart"); the start in the token voids the lease of a claim
 * whose start the journal lost (the attempt is claimed again, at
 * another instant). The event loop's thread only.
 */
#ifndef JR_LEASE_H
#define JR_LEASE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LEASE_HEX 32	/* 128 bits as hex digits, without the NUL */

struct lease_key {
	uint64_t k0, k1;
};

/* A fresh key from getrandom: 0 or -errno (no entropy to be had). */
int lease_key_init(struct lease_key *k);

#define LEASE_KEY_FILE "lease.key"

/* The key of dir/lease.key (32 hex digits and a newline): read (0), or,
 * if there is none, drawn and written (1: lease.key.new created O_EXCL
 * 0600, fsynced, renamed, the directory fsynced). A file that is not a
 * regular file of this process's effective uid with no group or other
 * bits, or whose content is not a key, is refused: -EPERM or -EINVAL,
 * with why in err. Other errors: -errno. */
int lease_key_load(struct lease_key *k, const char *dir, char *err, size_t err_size);

/* The lease of the attempt execution_id that started at start_ns, as
 * LEASE_HEX hex digits and a NUL. */
void lease_format(const struct lease_key *k, uint64_t execution_id, uint64_t start_ns,
		  char out[LEASE_HEX + 1]);

/* Is token (any string, NULL included) that lease? Compared in constant
 * time. */
bool lease_valid(const struct lease_key *k, uint64_t execution_id, uint64_t start_ns,
		 const char *token);

/* SipHash-2-4 with a 128-bit output of len bytes of in (exposed for its
 * test vectors). */
void lease_siphash128(const uint8_t key[16], const void *in, size_t len, uint8_t out[16]);

#endif
