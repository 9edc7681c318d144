/*
 * test_livesort.c - a snapshot's list of live jobs sorted in place
 * (daemon/durable/livesort.h) agrees with qsort() on lists in order, in
 * reverse, in blocks of one creation time (a batch's), random, and built
 * to push a quicksort to its worst case (the heapsort takes over).
 */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

#include "daemon/durable/livesort.h"

static int by_created(const void *x, const void *y)
{
	const struct live *a = x, *b = y;

	if (a->created_ns != b->created_ns)
		return a->created_ns < b->created_ns ? -1 : 1;
	return a->id < b->id ? -1 : a->id > b->id;
}

static uint64_t rnd(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

enum shape { IN_ORDER, REVERSED, BATCHES, RANDOM, ORGAN_PIPE, SHAPES };

static void fill(struct live *v, size_t n, enum shape sh, uint64_t *x)
{
	for (size_t i = 0; i < n; i++) {
		uint64_t k = sh == IN_ORDER ? i : sh == REVERSED ? n - i
			   : sh == BATCHES ? (rnd(x) % 8) * 1000 : sh == RANDOM ? rnd(x) % (n + 1)
			   : (i < n / 2 ? i : n - i);
		/* ids unique, as the table's are */
		v[i] = (struct live){ .created_ns = k, .id = (rnd(x) << 20) | i };
	}
}

static void test_agrees_with_qsort(void **state)
{
	(void)state;
	uint64_t x = 88172645463325252ull;
	size_t sizes[] = { 0, 1, 2, 3, 16, 17, 100, 1000, 65537 };

	for (size_t si = 0; si < sizeof(sizes) / sizeof(sizes[0]); si++) {
		size_t n = sizes[si];
		struct live *a = calloc(n + 1, sizeof(*a)), *b = calloc(n + 1, sizeof(*b));
		for (int sh = 0; sh < SHAPES; sh++) {
			for (int round = 0; round < 4; round++) {
				fill(a, n, (enum shape)sh, &x);
				memcpy(b, a, n * sizeof(*a));
				qsort(b, n, sizeof(*b), by_created);
				live_sort_listed(a, n);
				if (n && memcmp(a, b, n * sizeof(*a)) != 0)
					fail_msg("n %zu shape %d round %d: not qsort's order", n, sh, round);
			}
		}
		free(a);
		free(b);
	}
}

/* The heapsort alone (what a quicksort gone too deep finishes with). */
static void test_heapsort(void **state)
{
	(void)state;
	uint64_t x = 7;
	enum { N = 5000 };
	struct live *a = calloc(N, sizeof(*a)), *b = calloc(N, sizeof(*b));

	fill(a, N, RANDOM, &x);
	memcpy(b, a, sizeof(*a) * N);
	qsort(b, N, sizeof(*b), by_created);
	live_heapsort(a, N);
	assert_memory_equal(a, b, sizeof(*a) * N);
	free(a);
	free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_agrees_with_qsort),
		cmocka_unit_test(test_heapsort),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
