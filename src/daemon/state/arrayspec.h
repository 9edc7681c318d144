/*
 * arrayspec.h - a job array's index set in Slurm's --array syntax:
 * "0-999", "0-999:2" (a step), "1,3,5-7" (a list), each with an optional
 * "%N" (at most N tasks run at once). The set is kept as its ranges, not
 * its indices, so a million-task array costs a few hundred bytes; task
 * ordinal i (0 <= i < count, in ascending index order) maps to its index
 * in O(ranges). Pure functions, no allocation; and an index of array
 * tasks by (array, index) for aftercorr.
 */
#ifndef JR_ARRAYSPEC_H
#define JR_ARRAYSPEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ARRAY_TASKS_MAX 4000000u	/* tasks in one array */
#define ARRAY_INDEX_MAX 2147483647u	/* the largest index (an int in env) */
#define ARRAY_RANGES_MAX 64u		/* comma-separated items */

struct arrayspec_range {
	uint32_t first, last, step;	/* last is an index of the range */
	uint32_t count;
};

struct arrayspec {
	uint32_t range_count;
	struct arrayspec_range ranges[ARRAY_RANGES_MAX];	/* by first, disjoint */
	uint32_t count;		/* tasks */
	uint32_t throttle;	/* "%N"; 0: none */
	uint32_t min, max;	/* the lowest and highest index */
};

/* Parse text: true, or false with why (a sentence naming what is wrong:
 * syntax, an empty or reversed range, a step or throttle of 0, ranges
 * that overlap, over ARRAY_TASKS_MAX tasks or ARRAY_INDEX_MAX). */
bool arrayspec_parse(const char *text, struct arrayspec *out, char *why, size_t why_len);

/* The index of task ordinal (< count). */
uint32_t arrayspec_index(const struct arrayspec *a, uint32_t ordinal);

/* The ordinal of index, or -1 when the array has no such index. */
int64_t arrayspec_ordinal(const struct arrayspec *a, uint32_t index);

/* Array tasks by (array id, index): what aftercorr looks up. Built once
 * (add, then sort), then searched in O(log n). 24 bytes a task. */
struct array_task_ref {
	uint64_t array;
	uint64_t id;
	uint32_t index;
};

struct array_index {
	struct array_task_ref *v;
	size_t n, cap;
};

/* 0 or -ENOMEM. */
int array_index_add(struct array_index *x, uint64_t array, uint32_t index, uint64_t id);
void array_index_sort(struct array_index *x);
/* The id of array's task of that index, or 0: none. */
uint64_t array_index_find(const struct array_index *x, uint64_t array, uint32_t index);
void array_index_free(struct array_index *x);

#endif
