/*
 * alloc.h - heap allocation outside the region. jemalloc's mallocx/dallocx
 * in normal builds; the C library's malloc under the sanitizers, which
 * must own malloc themselves (JR_NO_JEMALLOC).
 */
#ifndef JR_ALLOC_H
#define JR_ALLOC_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#ifdef JR_NO_JEMALLOC
static inline void *jr_malloc(size_t n) { return malloc(n); }
static inline void jr_free(void *p) { free(p); }
#else
#include <jemalloc/jemalloc.h>
static inline void *jr_malloc(size_t n) { return n ? mallocx(n, 0) : NULL; }
static inline void jr_free(void *p)
{
	if (p)
		dallocx(p, 0);
}
#endif

static inline void *jr_calloc(size_t n, size_t size)
{
	void *p;

	if (size && n > (size_t)-1 / size)
		return NULL;
	p = jr_malloc(n * size);
	if (p)
		memset(p, 0, n * size);
	return p;
}

/* Make room for at least need elements of elem_size in *items (count
 * of them in use, capacity *cap), doubling from first. 0 or -ENOMEM (the
 * array is unchanged). */
static inline int jr_array_grow(void *items, uint32_t *cap, uint32_t count,
				uint32_t need, size_t elem_size, uint32_t first)
{
	void **slot = items;
	uint32_t c;
	void *grown;

	if (need <= *cap)
		return 0;
	c = *cap ? *cap * 2 : first;
	while (c < need)
		c *= 2;
	grown = jr_malloc((size_t)c * elem_size);
	if (!grown)
		return -ENOMEM;
	if (count)
		memcpy(grown, *slot, (size_t)count * elem_size);
	jr_free(*slot);
	*slot = grown;
	*cap = c;
	return 0;
}

/* A large zeroed table (one entry per job slot), in huge pages where the
 * kernel allows them (madvise mode): filling one of a million entries
 * otherwise costs a read fault on the zero page, then a copy-on-write
 * fault with a TLB shootdown, per 4 KiB page. NULL on failure. */
void *jr_table_alloc(size_t bytes);
void jr_table_free(void *p, size_t bytes);

#endif
