/*
 * jsonarena.c - a bump arena for cJSON. See jsonarena.h.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#include <cjson/cJSON.h>

#include "base/common.h"
#include "daemon/state/jsonarena.h"

#define CHUNK_BYTES (4 * JR_MIB)
#define CHUNKS_MAX 64u

struct chunk {
	char *base;
	size_t size;
};

struct arena {
	struct chunk chunks[CHUNKS_MAX];
	unsigned count, current;	/* chunks held; the one being filled */
	size_t used;			/* in the current one */
	bool active;
};

static __thread struct arena arena;

static bool owned(const void *p)
{
	for (unsigned i = 0; i < arena.count; i++)
		if ((const char *)p >= arena.chunks[i].base &&
		    (const char *)p < arena.chunks[i].base + arena.chunks[i].size)
			return true;
	return false;
}

/* A chunk after the current one with room for n, or a new one. */
static bool next_chunk(size_t n)
{
	while (arena.current + 1 < arena.count) {
		arena.current++;
		arena.used = 0;
		if (arena.chunks[arena.current].size >= n)
			return true;
	}
	if (arena.count == CHUNKS_MAX)
		return false;
	size_t size = n > CHUNK_BYTES ? n : CHUNK_BYTES;
	char *base = malloc(size);
	if (!base)
		return false;
	arena.chunks[arena.count] = (struct chunk){ base, size };
	arena.current = arena.count++;
	arena.used = 0;
	return true;
}

void *json_arena_alloc(size_t n)
{
	size_t need = (n + 15) & ~(size_t)15;

	if (!arena.active)
		return NULL;
	if (arena.count == 0 || arena.used + need > arena.chunks[arena.current].size) {
		if (!next_chunk(need))
			return NULL;
	}
	void *p = arena.chunks[arena.current].base + arena.used;
	arena.used += need;
	return p;
}

/* Outside begin/end, or with the arena full, malloc's (owned() says
 * no: freed normally). */
static void *arena_malloc(size_t n)
{
	void *p = json_arena_alloc(n);

	return p ? p : malloc(n);
}

static void arena_free(void *p)
{
	if (p && !owned(p))
		free(p);
}

void json_arena_install(void)
{
	cJSON_Hooks hooks = { arena_malloc, arena_free };

	cJSON_InitHooks(&hooks);
}

void json_arena_begin(void)
{
	arena.active = true;
}

void json_arena_end(void)
{
	arena.active = false;
}

void json_arena_reset(void)
{
	arena.current = 0;
	arena.used = 0;
}
