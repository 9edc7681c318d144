/*
 * lock.c - the lock order checked in debug builds. See lock.h.
 */
#include "base/lock.h"

#if JR_DEBUG
/* Bit r: this thread holds a mutex of rank r. */
static __thread uint32_t held_ranks;

void jr_lock_order_enter(uint32_t rank)
{
	JR_ASSERT(rank > 0 && rank < JR_LOCK_RANKS);
	/* Nothing of this rank or a later one may be held already. */
	JR_ASSERT((held_ranks >> rank) == 0);
	held_ranks |= 1u << rank;
}

void jr_lock_order_leave(uint32_t rank)
{
	JR_ASSERT(held_ranks & (1u << rank));
	held_ranks &= ~(1u << rank);
}
#endif
