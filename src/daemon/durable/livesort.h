/*
 * livesort.h - a background snapshot's list of live jobs (snapshot.c),
 * sorted by creation where it lies. qsort() would take a copy as large
 * as the list (glibc's merge sort mallocs n x 16 bytes: 160 MB, 16 bytes
 * a job more, at 10,000,000 jobs; issue 14). Listed in slot order, it is
 * often in order already. A quicksort (median of three, the smaller side
 * by recursion) that turns to heapsort past 2 log2(n) levels: O(n log n)
 * time, O(log n) stack. Tested against qsort() in test_livesort.
 */
#ifndef JR_LIVESORT_H
#define JR_LIVESORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "jobring.h"

struct live {
	uint64_t created_ns;
	jr_job_id id;
};

/* Created earlier, or at once with a smaller id. */
static inline bool live_before(const struct live *a, const struct live *b)
{
	return a->created_ns != b->created_ns ? a->created_ns < b->created_ns : a->id < b->id;
}

static inline void live_swap(struct live *a, struct live *b)
{
	struct live t = *a;

	*a = *b;
	*b = t;
}

static inline void live_sift(struct live *v, size_t i, size_t n)
{
	for (size_t c; (c = 2 * i + 1) < n; i = c) {
		if (c + 1 < n && live_before(&v[c], &v[c + 1]))
			c++;
		if (!live_before(&v[i], &v[c]))
			return;
		live_swap(&v[i], &v[c]);
	}
}

static inline void live_heapsort(struct live *v, size_t n)
{
	for (size_t i = n / 2; i-- > 0;)
		live_sift(v, i, n);
	while (n > 1) {
		live_swap(&v[0], &v[--n]);
		live_sift(v, 0, n);
	}
}

static inline void live_insertion(struct live *v, size_t n)
{
	for (size_t i = 1; i < n; i++)
		for (size_t j = i; j > 0 && live_before(&v[j], &v[j - 1]); j--)
			live_swap(&v[j], &v[j - 1]);
}

/* v[0, n) around a median of three: the index where the right part starts. */
static inline size_t live_partition(struct live *v, size_t n)
{
	size_t mid = n / 2, i = 0, j = n - 1;

	if (live_before(&v[mid], &v[0]))
		live_swap(&v[mid], &v[0]);
	if (live_before(&v[n - 1], &v[0]))
		live_swap(&v[n - 1], &v[0]);
	if (live_before(&v[n - 1], &v[mid]))
		live_swap(&v[n - 1], &v[mid]);
	struct live pivot = v[mid];
	for (;;) {
		while (live_before(&v[i], &pivot))
			i++;
		while (live_before(&pivot, &v[j]))
			j--;
		if (i >= j)
			return j + 1;
		live_swap(&v[i++], &v[j--]);
	}
}

static inline void live_sort(struct live *v, size_t n, unsigned depth)
{
	while (n > 16) {
		if (depth-- == 0) {
			live_heapsort(v, n);
			return;
		}
		size_t k = live_partition(v, n);
		if (k < n - k) {	/* the smaller side by recursion */
			live_sort(v, k, depth);
			v += k;
			n -= k;
		} else {
			live_sort(v + k, n - k, depth);
			n = k;
		}
	}
	live_insertion(v, n);
}

/* v[0, n) by creation, then id. */
static inline void live_sort_listed(struct live *v, size_t n)
{
	size_t i = 1;
	unsigned depth = 0;

	while (i < n && !live_before(&v[i], &v[i - 1]))
		i++;
	if (i >= n)
		return;		/* in order already */
	for (size_t m = n; m > 1; m >>= 1)
		depth += 2;
	live_sort(v, n, depth);
}

#endif
