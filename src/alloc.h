/*
 * alloc.h - heap allocation outside the region. jemalloc's mallocx/dallocx
 * in normal builds; the C library's malloc under the sanitizers, which
 * must own malloc themselves (JR_NO_JEMALLOC).
 */
#ifndef JR_ALLOC_H
#define JR_ALLOC_H

#include <stddef.h>
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

#endif
