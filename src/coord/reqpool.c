/*
 * reqpool.c - resource requests kept once per distinct request: a hash
 * set with linear probing (deletion by backward shift), each entry
 * counted and knowing its set. See reqpool.h.
 */
#include <stddef.h>
#include <string.h>

#include "base/alloc.h"
#include "base/common.h"
#include "coord/reqpool.h"

struct req_entry {
	uint32_t refs;
	uint32_t hash;
	struct jr_req_pool *pool;
	struct jr_req req;		/* normalized: padding zeroed */
};

#define ENTRY_OF(r) ((struct req_entry *)(void *)((char *)(r) - offsetof(struct req_entry, req)))

/* req with its padding zeroed, so that equal requests compare and hash
 * equal as bytes. */
static struct jr_req normalized(const struct jr_req *req)
{
	struct jr_req n;

	memset(&n, 0, sizeof(n));
	n.cpus = req->cpus;
	n.gpus = req->gpus;
	n.mem_bytes = req->mem_bytes;
	memcpy(n.custom, req->custom, sizeof(n.custom));
	n.capabilities = req->capabilities;
	n.span = req->span;
	return n;
}

static uint32_t hash_of(const struct jr_req *n)
{
	const unsigned char *p = (const unsigned char *)n;
	uint64_t h = 1469598103934665603ull;

	for (size_t i = 0; i < sizeof(*n); i++)
		h = (h ^ p[i]) * 1099511628211ull;
	return (uint32_t)(h ^ (h >> 32));
}

static int grow(struct jr_req_pool *p)
{
	uint32_t cap = p->cap ? p->cap * 2 : 16;
	struct req_entry **slots = jr_calloc(cap, sizeof(*slots));

	if (!slots)
		return -1;
	for (uint32_t i = 0; i < p->cap; i++) {
		struct req_entry *e = p->slots[i];
		if (!e)
			continue;
		uint32_t j = e->hash & (cap - 1);
		while (slots[j])
			j = (j + 1) & (cap - 1);
		slots[j] = e;
	}
	jr_free(p->slots);
	p->slots = slots;
	p->cap = cap;
	return 0;
}

const struct jr_req *jr_req_pool_take(struct jr_req_pool *p, const struct jr_req *req)
{
	struct jr_req n = normalized(req);
	struct req_entry *e;
	uint32_t h, i;

	if (p->last && memcmp(&p->last->req, &n, sizeof(n)) == 0) {
		p->last->refs++;
		return &p->last->req;
	}
	h = hash_of(&n);
	for (i = p->cap ? h & (p->cap - 1) : 0; p->cap && (e = p->slots[i]);
	     i = (i + 1) & (p->cap - 1))
		if (e->hash == h && memcmp(&e->req, &n, sizeof(n)) == 0) {
			e->refs++;
			p->last = e;
			return &e->req;
		}
	if ((p->count + 1) * 2 > p->cap && grow(p) < 0)
		return NULL;
	if (!(e = jr_malloc(sizeof(*e))))
		return NULL;
	e->refs = 1;
	e->hash = h;
	e->pool = p;
	e->req = n;
	for (i = h & (p->cap - 1); p->slots[i]; i = (i + 1) & (p->cap - 1))
		;
	p->slots[i] = e;
	p->count++;
	p->last = e;
	return &e->req;
}

/* Take e out of its set: the entries after it in its run move back
 * into the hole when their home is at or before it. */
static void unlink_entry(struct jr_req_pool *p, struct req_entry *e)
{
	uint32_t mask = p->cap - 1, i = e->hash & mask, j;

	while (p->slots[i] != e)
		i = (i + 1) & mask;
	p->slots[i] = NULL;
	for (j = (i + 1) & mask; p->slots[j]; j = (j + 1) & mask) {
		uint32_t home = p->slots[j]->hash & mask;
		/* Movable into the hole at i unless its home lies in (i, j]. */
		if (((j - home) & mask) >= ((j - i) & mask)) {
			p->slots[i] = p->slots[j];
			p->slots[j] = NULL;
			i = j;
		}
	}
	p->count--;
	if (p->last == e)
		p->last = NULL;
}

void jr_req_pool_drop(const struct jr_req *req)
{
	struct req_entry *e;

	if (!req)
		return;
	e = ENTRY_OF(req);
	JR_ASSERT(e->refs > 0);
	if (--e->refs)
		return;
	unlink_entry(e->pool, e);
	jr_free(e);
}

void jr_req_pool_destroy(struct jr_req_pool *p)
{
	for (uint32_t i = 0; i < p->cap; i++)
		jr_free(p->slots[i]);	/* none, once every job is freed */
	jr_free(p->slots);
	memset(p, 0, sizeof(*p));
}
