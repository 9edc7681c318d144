/*
 * atomics.h - the one place where jobring spells out atomics, fences and
 * futexes. Everything shared between threads or processes goes through
 * these macros, so ThreadSanitizer sees every synchronizing access (the
 * __atomic builtins are instrumented; Concurrency Kit's inline assembly is
 * not, see docs/TESTING.md).
 *
 * Every fence at a call site names the operation it pairs with.
 */
#ifndef JR_ATOMICS_H
#define JR_ATOMICS_H

#include <stdint.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <limits.h>

#define JR_CACHELINE 64
#define jr_cacheline_aligned __attribute__((aligned(JR_CACHELINE)))

#define jr_load_relaxed(p) __atomic_load_n((p), __ATOMIC_RELAXED)
#define jr_load_acquire(p) __atomic_load_n((p), __ATOMIC_ACQUIRE)
#define jr_store_relaxed(p, v) __atomic_store_n((p), (v), __ATOMIC_RELAXED)
#define jr_store_release(p, v) __atomic_store_n((p), (v), __ATOMIC_RELEASE)
#define jr_exchange_acq_rel(p, v) __atomic_exchange_n((p), (v), __ATOMIC_ACQ_REL)
#define jr_fetch_add_relaxed(p, v) __atomic_fetch_add((p), (v), __ATOMIC_RELAXED)
#define jr_fetch_add_acq_rel(p, v) __atomic_fetch_add((p), (v), __ATOMIC_ACQ_REL)
#define jr_fetch_sub_acq_rel(p, v) __atomic_fetch_sub((p), (v), __ATOMIC_ACQ_REL)
#define jr_fetch_or_acq_rel(p, v) __atomic_fetch_or((p), (v), __ATOMIC_ACQ_REL)
#define jr_fetch_or_seq_cst(p, v) __atomic_fetch_or((p), (v), __ATOMIC_SEQ_CST)
#define jr_fetch_and_seq_cst(p, v) __atomic_fetch_and((p), (v), __ATOMIC_SEQ_CST)
/* Strong CAS; on failure *expected receives the current value. */
#define jr_cas_acq_rel(p, expected, desired)                                  \
	__atomic_compare_exchange_n((p), (expected), (desired), 0,            \
				    __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)
#define jr_fence_seq_cst() __atomic_thread_fence(__ATOMIC_SEQ_CST)
#define jr_fence_acquire() __atomic_thread_fence(__ATOMIC_ACQUIRE)

static inline void jr_cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield" ::: "memory");
#endif
}

/* Futexes on words of the shared region: not FUTEX_PRIVATE, so processes
 * that map the same region can wait and wake on them. */
/* Sleep while *word == expected. True if a wake ended the sleep; false if
 * the word had already changed (or a signal interrupted). */
static inline int jr_futex_wait(uint32_t *word, uint32_t expected)
{
	return syscall(SYS_futex, word, FUTEX_WAIT, expected, NULL, NULL, 0) == 0;
}

static inline void jr_futex_wake(uint32_t *word, int count)
{
	syscall(SYS_futex, word, FUTEX_WAKE, count, NULL, NULL, 0);
}

static inline void jr_futex_wake_all(uint32_t *word)
{
	jr_futex_wake(word, INT_MAX);
}

#endif
