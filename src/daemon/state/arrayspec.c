/*
 * arrayspec.c - a job array's index set. See arrayspec.h.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/state/arrayspec.h"

static bool fail(char *why, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, len, fmt, ap);
	va_end(ap);
	return false;
}

/* A decimal of at most 10 digits at *p, at most max. */
static bool number(const char **p, uint32_t max, uint32_t *out)
{
	uint64_t v = 0;
	int digits = 0;

	while (**p >= '0' && **p <= '9' && digits < 11) {
		v = v * 10 + (uint64_t)(**p - '0');
		(*p)++;
		digits++;
	}
	if (!digits || digits > 10 || v > max)
		return false;
	*out = (uint32_t)v;
	return true;
}

/* N, N-M or N-M:S at *p. */
static bool parse_range(const char **p, struct arrayspec_range *r, char *why, size_t len)
{
	r->step = 1;
	if (!number(p, ARRAY_INDEX_MAX, &r->first))
		return fail(why, len, "an index is a number from 0 to %u", ARRAY_INDEX_MAX);
	r->last = r->first;
	if (**p == '-') {
		(*p)++;
		if (!number(p, ARRAY_INDEX_MAX, &r->last))
			return fail(why, len, "an index is a number from 0 to %u", ARRAY_INDEX_MAX);
		if (r->last < r->first)
			return fail(why, len, "range %u-%u ends before it starts", r->first, r->last);
		if (**p == ':' && ((*p)++, !number(p, ARRAY_INDEX_MAX, &r->step) || !r->step))
			return fail(why, len, "a step is a number from 1 to %u", ARRAY_INDEX_MAX);
	}
	r->count = (r->last - r->first) / r->step + 1;
	r->last = r->first + (r->count - 1) * r->step;
	return true;
}

static int by_first(const void *a, const void *b)
{
	const struct arrayspec_range *x = a, *y = b;

	return x->first < y->first ? -1 : x->first > y->first;
}

/* Sorted by first, each range must end before the next begins. */
static bool settle(struct arrayspec *a, char *why, size_t len)
{
	uint64_t count = 0;

	qsort(a->ranges, a->range_count, sizeof(a->ranges[0]), by_first);
	for (uint32_t i = 0; i < a->range_count; i++) {
		if (i && a->ranges[i].first <= a->ranges[i - 1].last)
			return fail(why, len, "ranges overlap at %u", a->ranges[i].first);
		count += a->ranges[i].count;
	}
	if (count > ARRAY_TASKS_MAX)
		return fail(why, len, "at most %u tasks in an array", ARRAY_TASKS_MAX);
	a->count = (uint32_t)count;
	a->min = a->ranges[0].first;
	a->max = a->ranges[a->range_count - 1].last;
	return true;
}

bool arrayspec_parse(const char *text, struct arrayspec *a, char *why, size_t len)
{
	const char *p = text;

	memset(a, 0, sizeof(*a));
	for (;;) {
		if (a->range_count == ARRAY_RANGES_MAX)
			return fail(why, len, "at most %u items in an array's list", ARRAY_RANGES_MAX);
		if (!parse_range(&p, &a->ranges[a->range_count++], why, len))
			return false;
		if (*p != ',')
			break;
		p++;
	}
	if (*p == '%') {
		p++;
		if (!number(&p, ARRAY_TASKS_MAX, &a->throttle) || !a->throttle)
			return fail(why, len, "%%N is a number of tasks from 1 to %u", ARRAY_TASKS_MAX);
	}
	if (*p)
		return fail(why, len, "unexpected \"%.20s\": write 0-999, 0-999:2, 1,3,5-7, "
			    "each with an optional %%N", p);
	return settle(a, why, len);
}

uint32_t arrayspec_index(const struct arrayspec *a, uint32_t ordinal)
{
	for (uint32_t i = 0; i < a->range_count; i++) {
		const struct arrayspec_range *r = &a->ranges[i];
		if (ordinal < r->count)
			return r->first + ordinal * r->step;
		ordinal -= r->count;
	}
	return a->max;	/* past the end: a caller's bug; the last index */
}

int64_t arrayspec_ordinal(const struct arrayspec *a, uint32_t index)
{
	int64_t before = 0;

	for (uint32_t i = 0; i < a->range_count; i++) {
		const struct arrayspec_range *r = &a->ranges[i];
		if (index >= r->first && index <= r->last && (index - r->first) % r->step == 0)
			return before + (index - r->first) / r->step;
		before += r->count;
	}
	return -1;
}

/* --- tasks by (array, index) ----------------------------------------------------------- */

int array_index_add(struct array_index *x, uint64_t array, uint32_t index, uint64_t id)
{
	if (x->n == x->cap) {
		size_t cap = x->cap ? 2 * x->cap : 64;
		struct array_task_ref *v = realloc(x->v, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		x->v = v;
		x->cap = cap;
	}
	x->v[x->n++] = (struct array_task_ref){ array, id, index };
	return 0;
}

static int ref_cmp(uint64_t array, uint32_t index, const struct array_task_ref *r)
{
	if (array != r->array)
		return array < r->array ? -1 : 1;
	return index < r->index ? -1 : index > r->index;
}

static int by_array_index(const void *a, const void *b)
{
	const struct array_task_ref *x = a;

	return ref_cmp(x->array, x->index, b);
}

void array_index_sort(struct array_index *x)
{
	if (x->n)
		qsort(x->v, x->n, sizeof(*x->v), by_array_index);
}

uint64_t array_index_find(const struct array_index *x, uint64_t array, uint32_t index)
{
	size_t lo = 0, hi = x->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = ref_cmp(array, index, &x->v[mid]);
		if (c == 0)
			return x->v[mid].id;
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return 0;
}

void array_index_free(struct array_index *x)
{
	free(x->v);
	*x = (struct array_index){ 0 };
}
