/*
 * jsonarena.h - cJSON's allocations for a batch from a bump arena: a
 * batch of 10,000 lines is some 100,000 cJSON nodes and strings, each a
 * malloc and a free; from the arena they cost a pointer bump, and the
 * whole tree goes at once (json_arena_reset). Per thread.
 */
#ifndef JR_JSONARENA_H
#define JR_JSONARENA_H

#include <stddef.h>

/* Route cJSON's malloc and free through here (once, at start). */
void json_arena_install(void);

/* Between begin and end, cJSON allocates on this thread from the arena;
 * freeing such memory is a no-op whenever it happens. */
void json_arena_begin(void);
void json_arena_end(void);

/* n bytes (16-aligned) from the arena between begin and end; NULL when
 * it is not active or full (never malloc's: the caller frees nothing). */
void *json_arena_alloc(size_t n);

/* Forget everything allocated in the arena (its memory is kept for the
 * next batch). No tree from it may be used afterwards. */
void json_arena_reset(void);

#endif
