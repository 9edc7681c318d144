/*
 * region.c - create and attach the shared-memory region.
 *
 * The region is a memfd mapped MAP_SHARED: other processes attach by
 * receiving the fd. jr_region_create() lays out the sections (region.h)
 * and initialises the rings; jr_region_attach() trusts nothing it maps
 * until the header's magic, version, CRC and geometry have been checked
 * and every ring passes ck_ring_valid().
 */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/common.h"
#include "base/crc32c.h"
#include "shm/region.h"

static uint32_t header_crc(const struct jr_region_header *h)
{
	return jr_crc32c(0, h, __builtin_offsetof(struct jr_region_header,
						  layout_crc));
}

static void layout_compute(struct jr_region_header *h,
			   const struct jr_region_geometry *geo)
{
	uint64_t off = jr_align_up(sizeof(*h), JR_CACHELINE);

	memset(h, 0, sizeof(*h));
	memcpy(h->magic, JR_REGION_MAGIC, sizeof(h->magic));
	h->version = JR_REGION_VERSION;
	h->header_bytes = sizeof(*h);
	h->capacity = geo->capacity;
	h->ring_size = jr_round_up_pow2_u32(geo->capacity);
	h->levels = JR_PRIORITY_LEVELS;
	h->queue_max = JR_QUEUE_MAX;
	h->worker_max = JR_WORKER_MAX;
	h->slot_bytes = sizeof(struct jr_slot);
	h->arena_bytes = jr_align_up(geo->arena_bytes, 4096);
	h->off_control = off;
	off = jr_align_up(off + sizeof(struct jr_control), 4096);
	h->off_queues = off;
	off += (uint64_t)JR_QUEUE_MAX * sizeof(struct jr_queue_rec);
	h->off_workers = off;
	off = jr_align_up(off + (uint64_t)JR_WORKER_MAX *
				      sizeof(struct jr_worker_rec), 4096);
	h->off_slots = off;
	off += (uint64_t)h->capacity * sizeof(struct jr_slot);
	h->off_free_ring = jr_align_up(off, 4096);
	off = h->off_free_ring + sizeof(struct ck_ring) +
	      (uint64_t)h->ring_size * sizeof(uint32_t);
	h->off_prio_rings = jr_align_up(off, 4096);
	off = h->off_prio_rings + JR_PRIORITY_LEVELS * sizeof(struct ck_ring);
	h->off_prio_bufs = jr_align_up(off, 4096);
	off = h->off_prio_bufs + (uint64_t)JR_PRIORITY_LEVELS *
					 h->ring_size * sizeof(uint32_t);
	h->off_arena = jr_align_up(off, 4096);
	h->total_bytes = h->off_arena + h->arena_bytes;
	h->layout_crc = header_crc(h);
}

uint64_t jr_region_size(const struct jr_region_geometry *geo)
{
	struct jr_region_header h;

	layout_compute(&h, geo);
	return h.total_bytes;
}

static void region_bind_pointers(struct jr_region *r)
{
	uint8_t *b = r->base;
	const struct jr_region_header *h = r->hdr;

	r->ctl = (struct jr_control *)(b + h->off_control);
	r->queues = (struct jr_queue_rec *)(b + h->off_queues);
	r->workers = (struct jr_worker_rec *)(b + h->off_workers);
	r->slots = (struct jr_slot *)(b + h->off_slots);
	r->free_ring = (struct ck_ring *)(b + h->off_free_ring);
	r->free_buf = (uint32_t *)(b + h->off_free_ring + sizeof(struct ck_ring));
	r->prio_rings = (struct ck_ring *)(b + h->off_prio_rings);
	r->prio_bufs = (uint32_t *)(b + h->off_prio_bufs);
	r->arena = b + h->off_arena;
}

/* Every slot but the reserved slot 0 starts on the free ring. */
static void region_init_rings(struct jr_region *r)
{
	uint32_t size = r->hdr->ring_size;

	ck_ring_init(r->free_ring, size);
	for (uint32_t i = 1; i < r->hdr->capacity; i++)
		r->free_buf[i - 1] = i;
	r->free_ring->p_head = r->hdr->capacity - 1;
	r->free_ring->p_tail = r->hdr->capacity - 1;
	for (uint32_t l = 0; l < JR_PRIORITY_LEVELS; l++)
		ck_ring_init(&r->prio_rings[l], size);
}

static int region_map(struct jr_region *r, int fd, uint64_t bytes)
{
	void *base = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);

	if (base == MAP_FAILED)
		return -errno;
	r->base = base;
	r->bytes = bytes;
	r->hdr = base;
	return 0;
}

int jr_region_create(struct jr_region *r, const struct jr_region_geometry *geo)
{
	struct jr_region_header h;
	int fd, rc;

	if (geo->capacity < 2 || geo->capacity > JR_CAPACITY_MAX)
		return -EINVAL;
	layout_compute(&h, geo);
	memset(r, 0, sizeof(*r));
	fd = memfd_create("jobring-region", MFD_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (ftruncate(fd, (off_t)h.total_bytes) < 0) {
		rc = -errno;
		goto fail_fd;
	}
	rc = region_map(r, fd, h.total_bytes);
	if (rc < 0)
		goto fail_fd;
	r->fd = fd;
	*r->hdr = h;
	region_bind_pointers(r);
	region_init_rings(r);
	return 0;
fail_fd:
	close(fd);
	r->fd = -1;
	return rc;
}

static int header_validate(const struct jr_region_header *h, uint64_t file_bytes)
{
	struct jr_region_geometry geo;
	struct jr_region_header want;

	if (memcmp(h->magic, JR_REGION_MAGIC, sizeof(h->magic)) != 0 ||
	    h->version != JR_REGION_VERSION)
		return -EPROTO;
	if (h->layout_crc != header_crc(h))
		return -EBADMSG;
	/* The geometry must be exactly what this build lays out for it. */
	geo.capacity = h->capacity;
	geo.arena_bytes = h->arena_bytes;
	if (h->capacity < 2 || h->capacity > JR_CAPACITY_MAX)
		return -EBADMSG;
	layout_compute(&want, &geo);
	if (memcmp(&want, h, sizeof(want)) != 0 || want.total_bytes > file_bytes)
		return -EBADMSG;
	return 0;
}

static bool ring_valid(const struct ck_ring *ring, uint32_t size)
{
	return ring->size == size && ring->mask == size - 1 &&
	       ring->p_head - ring->c_head < size &&
	       ring->p_tail - ring->c_head <= ring->p_head - ring->c_head;
}

static int region_rings_validate(const struct jr_region *r)
{
	uint32_t size = r->hdr->ring_size;

	if (!ck_ring_valid(r->free_ring) || !ring_valid(r->free_ring, size))
		return -EBADMSG;
	for (uint32_t l = 0; l < JR_PRIORITY_LEVELS; l++)
		if (!ring_valid(&r->prio_rings[l], size))
			return -EBADMSG;
	return 0;
}

int jr_region_attach(struct jr_region *r, int fd)
{
	struct jr_region_header h;
	struct stat st;
	int rc;

	memset(r, 0, sizeof(*r));
	r->fd = -1;
	if (fstat(fd, &st) < 0)
		return -errno;
	if ((uint64_t)st.st_size < sizeof(h))
		return -EPROTO;
	if (pread(fd, &h, sizeof(h), 0) != (ssize_t)sizeof(h))
		return -EIO;
	rc = header_validate(&h, (uint64_t)st.st_size);
	if (rc < 0)
		return rc;
	rc = region_map(r, fd, h.total_bytes);
	if (rc < 0)
		return rc;
	region_bind_pointers(r);
	rc = region_rings_validate(r);
	if (rc < 0)
		goto fail_unmap;
	r->fd = dup(fd);
	if (r->fd < 0) {
		rc = -errno;
		goto fail_unmap;
	}
	return 0;
fail_unmap:
	munmap(r->base, r->bytes);
	memset(r, 0, sizeof(*r));
	r->fd = -1;
	return rc;
}

void jr_region_unmap(struct jr_region *r)
{
	if (r->base)
		munmap(r->base, r->bytes);
	if (r->fd >= 0)
		close(r->fd);
	memset(r, 0, sizeof(*r));
	r->fd = -1;
}
