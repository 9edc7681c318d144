/*
 * region.h - the shared-memory region: its binary layout and how to create
 * or attach one.
 *
 * The layout is a binary interface between processes that map the same
 * region: fixed-width types only, every struct size pinned by
 * _Static_assert, producer and consumer counters on separate cache lines.
 * The header carries a magic, a version, the geometry and the offset of
 * every section, plus a CRC32C over all of that; jr_region_attach()
 * rejects any region whose header does not check out.
 *
 *   [header][control][queues][workers][slots][free ring][prio rings][arena]
 */
#ifndef JR_REGION_H
#define JR_REGION_H

#include <stdint.h>
#include <ck_ring.h>

#include "base/atomics.h"
#include "jobring.h"

#define JR_REGION_MAGIC "JOBRING"	/* 8 bytes with the NUL */
#define JR_REGION_VERSION 1u
#define JR_STAT_SHARDS 64u
#define JR_WORKER_MAX 1024u

/* One job: exactly one cache line. The state word is the futex that
 * jr_job_wait() sleeps on. */
struct jr_slot {
	uint32_t state;		/* gen:23 | waiter:1 | state:8, see jobtab.h */
	uint8_t priority;
	uint8_t queue_id;
	uint16_t flags;		/* JR_SLOT_F_* */
	uint32_t held_next;	/* link in a queue's held list; 0 ends it */
	int32_t result;
	uint64_t fn;		/* jr_job_fn of the submitting process */
	uint64_t arg;
	uint64_t created_ns;
	uint64_t start_ns;
	uint64_t end_ns;
	uint32_t name_ref;	/* arena reference, 0: no name */
	uint16_t worker_id;
	uint16_t attempt;
};
_Static_assert(sizeof(struct jr_slot) == 64, "a slot is one cache line");
_Static_assert(__builtin_offsetof(struct jr_slot, state) == 0 &&
		       __builtin_offsetof(struct jr_slot, fn) == 16 &&
		       __builtin_offsetof(struct jr_slot, created_ns) == 32 &&
		       __builtin_offsetof(struct jr_slot, attempt) == 62,
	       "slot layout: another process maps the same bytes");

/* A JobQueue. Written under its lock except the published fields. */
struct jr_queue_rec {
	char name[48];
	int32_t priority;
	uint32_t max_workers;	/* 0: no cap */
	uint32_t live;		/* 0 free, 1 published (release) */
	uint32_t lock;		/* spinlock for the fields below */
	uint32_t running;	/* jobs of this queue holding a run token */
	uint32_t held_head;	/* FIFO of jobs waiting for a token */
	uint32_t held_tail;
	uint32_t held_count;
	uint8_t pad[48];
};
_Static_assert(sizeof(struct jr_queue_rec) == 128, "queue record size");

/* A worker, as other processes see it. Counters have one writer: the
 * worker itself. */
struct jr_worker_rec {
	uint32_t status;	/* enum jr_worker_status */
	int32_t core_index;	/* index into the topology's cores */
	int32_t numa_node;
	uint32_t running;	/* claimed and started, not yet finished */
	uint64_t succeeded;
	uint64_t failed;
	uint64_t last_heartbeat_ns;
	uint64_t wakeups;	/* times a futex wake ended a sleep */
	uint8_t pad[16];
};
_Static_assert(sizeof(struct jr_worker_rec) == 64, "worker record size");

/* Counters bumped by submitting and cancelling threads; each thread uses
 * its own shard, so they do not share a cache line (counters.c). */
struct jr_stat_shard {
	uint64_t submitted;
	uint64_t cancelled;
	uint8_t pad[48];
};
_Static_assert(sizeof(struct jr_stat_shard) == 64, "stat shard size");

enum jr_run_state {
	JR_RUN_PAUSED = 0,
	JR_RUN_ACTIVE = 1,
	JR_RUN_STOP = 2,	/* workers exit when they see it */
};

/* Mutable engine-wide words, each group on its own cache line. */
struct jr_control {
	uint64_t prio_bitmap jr_cacheline_aligned;	/* bit L: level L may be non-empty */
	uint32_t wake_seq jr_cacheline_aligned;	/* futex: idle workers */
	uint32_t idle_workers;	/* parked, or about to */
	uint32_t spinning_workers;	/* idle but awake: will see new work */
	uint32_t done_seq jr_cacheline_aligned;	/* futex: counters.c, jr_engine_wait_all() */
	uint32_t done_waiters;
	uint32_t run_state jr_cacheline_aligned;	/* futex: enum jr_run_state */
	uint32_t accepting;	/* 0 once close began */
	uint64_t cancel_pending[JR_PRIORITY_LEVELS] jr_cacheline_aligned;
	uint64_t held_cancelled jr_cacheline_aligned;
	uint64_t arena_heads[16] jr_cacheline_aligned;	/* per size class */
	uint64_t arena_top jr_cacheline_aligned;
	uint32_t next_execution jr_cacheline_aligned;
	struct jr_stat_shard shards[JR_STAT_SHARDS] jr_cacheline_aligned;
};
#define JR_CONTROL_LINE(field) (__builtin_offsetof(struct jr_control, field) % JR_CACHELINE == 0)
_Static_assert(JR_CONTROL_LINE(prio_bitmap) && JR_CONTROL_LINE(wake_seq) &&
		       JR_CONTROL_LINE(done_seq) && JR_CONTROL_LINE(run_state) &&
		       JR_CONTROL_LINE(cancel_pending) && JR_CONTROL_LINE(held_cancelled) &&
		       JR_CONTROL_LINE(arena_heads) && JR_CONTROL_LINE(arena_top) &&
		       JR_CONTROL_LINE(next_execution) && JR_CONTROL_LINE(shards),
	       "each group of control words starts its own cache line");
_Static_assert(__builtin_offsetof(struct jr_control, wake_seq) == JR_CACHELINE &&
		       __builtin_offsetof(struct jr_control, done_seq) == 2 * JR_CACHELINE &&
		       sizeof(struct jr_control) == 10 * JR_CACHELINE + sizeof(struct jr_stat_shard) * JR_STAT_SHARDS,
	       "control layout: another process maps the same bytes");

struct jr_region_header {
	char magic[8];
	uint32_t version;
	uint32_t header_bytes;
	uint64_t total_bytes;
	uint32_t capacity;	/* slots, including the reserved slot 0 */
	uint32_t ring_size;	/* entries per ring, a power of two >= capacity */
	uint32_t levels;
	uint32_t queue_max;
	uint32_t worker_max;
	uint32_t slot_bytes;
	uint64_t arena_bytes;
	uint64_t off_control;
	uint64_t off_queues;
	uint64_t off_workers;
	uint64_t off_slots;
	uint64_t off_free_ring;	/* struct ck_ring, then its buffer */
	uint64_t off_prio_rings;	/* levels x struct ck_ring */
	uint64_t off_prio_bufs;	/* levels x ring_size x uint32_t */
	uint64_t off_arena;
	uint32_t layout_crc;	/* CRC32C of every byte above */
	uint32_t pad;
};
_Static_assert(sizeof(struct jr_region_header) == 128, "header size");
_Static_assert(__builtin_offsetof(struct jr_region_header, layout_crc) == 120,
	       "crc covers the first 120 bytes");
_Static_assert(__builtin_offsetof(struct ck_ring, p_tail) == JR_CACHELINE &&
		       __builtin_offsetof(struct ck_ring, size) == 2 * JR_CACHELINE &&
		       sizeof(struct ck_ring) == 2 * JR_CACHELINE + 8,
	       "ck_ring: consumer and producer counters on their own lines");

/* A process's view of a mapped region: pointers into it. */
struct jr_region {
	void *base;
	uint64_t bytes;
	int fd;
	struct jr_region_header *hdr;
	struct jr_control *ctl;
	struct jr_queue_rec *queues;
	struct jr_worker_rec *workers;
	struct jr_slot *slots;
	struct ck_ring *free_ring;
	uint32_t *free_buf;
	struct ck_ring *prio_rings;
	uint32_t *prio_bufs;	/* level L at prio_bufs + L * ring_size */
	uint8_t *arena;
};

struct jr_region_geometry {
	uint32_t capacity;
	uint64_t arena_bytes;
};

/* Bytes a region of this geometry takes. */
uint64_t jr_region_size(const struct jr_region_geometry *geo);

/* Create an anonymous region (memfd) with every slot free. Returns 0 or
 * -errno; on success the caller owns r and releases it with
 * jr_region_unmap(). */
int jr_region_create(struct jr_region *r, const struct jr_region_geometry *geo);

/* Map the region behind fd (not consumed) and validate its header and
 * rings: -EPROTO for a foreign magic or version, -EBADMSG for a corrupt
 * header or ring. Returns 0 and fills r on success. */
int jr_region_attach(struct jr_region *r, int fd);

/* Unmap and close the region's fd. Safe after a failed create or attach. */
void jr_region_unmap(struct jr_region *r);

#endif
