/*
 * cmdbatch.c - copy a batch of command specs into one block. See
 * cmdbatch.h.
 */
#include <string.h>

#include "alloc.h"
#include "cmdbatch.h"

#define ALIGN8(x) (((x) + 7) & ~(size_t)7)

static size_t strv_bytes(char *const *v)
{
	size_t n = 0, bytes = 0;

	while (v && v[n])
		bytes += strlen(v[n++]) + 1;
	return v ? ALIGN8((n + 1) * sizeof(char *)) + ALIGN8(bytes) : 0;
}

static size_t str_bytes(const char *s)
{
	return s ? ALIGN8(strlen(s) + 1) : 0;
}

static size_t spec_bytes(const struct jr_command_spec *s)
{
	return strv_bytes(s->argv) + strv_bytes(s->env) + str_bytes(s->cwd) +
	       str_bytes(s->capabilities) + ALIGN8(s->after_count * sizeof(jr_job_id));
}

/* Take size bytes from the block at *cursor. */
static void *take(char **cursor, size_t size)
{
	void *p = *cursor;

	*cursor += ALIGN8(size);
	return p;
}

static char *copy_str(char **cursor, const char *s)
{
	return s ? memcpy(take(cursor, strlen(s) + 1), s, strlen(s) + 1) : NULL;
}

static char **copy_strv(char **cursor, char *const *v)
{
	size_t n = 0, bytes = 0;
	char **out, *p;

	if (!v)
		return NULL;
	while (v[n])
		bytes += strlen(v[n++]) + 1;
	out = take(cursor, (n + 1) * sizeof(char *));
	p = take(cursor, bytes);
	for (size_t i = 0; i < n; i++) {
		size_t len = strlen(v[i]) + 1;
		out[i] = memcpy(p, v[i], len);
		p += len;
	}
	out[n] = NULL;
	return out;
}

static void copy_spec(struct jr_command_spec *dst, const struct jr_command_spec *src,
		      char **cursor)
{
	*dst = *src;
	dst->argv = copy_strv(cursor, src->argv);
	dst->env = copy_strv(cursor, src->env);
	dst->cwd = copy_str(cursor, src->cwd);
	dst->capabilities = copy_str(cursor, src->capabilities);
	dst->name = NULL;
	dst->resources = NULL;
	if (src->after_count) {
		jr_job_id *after = take(cursor, src->after_count * sizeof(jr_job_id));
		dst->after = memcpy(after, src->after, src->after_count * sizeof(jr_job_id));
	} else {
		dst->after = NULL;
	}
}

struct cmd_batch *cmd_batch_new(const struct jr_command_spec *specs, size_t n)
{
	size_t fixed = ALIGN8(sizeof(struct cmd_batch)) +
		       ALIGN8(n * sizeof(struct jr_command_spec)) + ALIGN8(n * sizeof(struct jr_req)) +
		       ALIGN8(n * sizeof(int)) + 2 * ALIGN8(n * sizeof(uint32_t)) +
		       ALIGN8(n * sizeof(jr_job_id));
	size_t extra = 0;
	struct cmd_batch *b;
	char *cursor;

	for (size_t i = 0; i < n; i++)
		extra += spec_bytes(&specs[i]);
	b = jr_malloc(fixed + extra);
	if (!b)
		return NULL;
	cursor = (char *)b + ALIGN8(sizeof(*b));
	b->next = NULL;
	b->n = n;
	b->specs = take(&cursor, n * sizeof(*b->specs));
	b->reqs = take(&cursor, n * sizeof(*b->reqs));
	b->prios = take(&cursor, n * sizeof(*b->prios));
	b->slots = take(&cursor, n * sizeof(*b->slots));
	b->records = take(&cursor, n * sizeof(*b->records));
	b->ids = take(&cursor, n * sizeof(*b->ids));
	for (size_t i = 0; i < n; i++)
		copy_spec(&b->specs[i], &specs[i], &cursor);
	return b;
}
