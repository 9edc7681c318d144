/*
 * jobspecplain.c - the batch line of the commonest shape, straight into
 * its job spec. See jobspecplain.h.
 */
#include <stdint.h>
#include <string.h>

#include "daemon/state/jobspecplain.h"
#include "daemon/state/jsonarena.h"
#include "daemon/state/jsonfast.h"

struct span {
	const char *s;
	size_t n;
};

struct plain {
	const char *p, *end;
	struct span args[JOBSPEC_PLAIN_ARGS];
	int argc;		/* -1: no "command" yet */
	struct span name;	/* s NULL: no "name" */
	bool has_priority;
	int32_t priority;
	int executor;		/* -1: none given; 0: "local"; 1: "external" */
	size_t bytes;		/* the strings, with their NULs */
};

static void skip_space(struct plain *t)
{
	while (t->p < t->end && (*t->p == ' ' || *t->p == '\t' || *t->p == '\n' || *t->p == '\r'))
		t->p++;
}

static bool eat(struct plain *t, char c)
{
	skip_space(t);
	if (t->p == t->end || *t->p != c)
		return false;
	t->p++;
	return true;
}

static bool string(struct plain *t, struct span *out)
{
	const char *q;

	if (!eat(t, '"') || !(q = json_fast_string_end(t->p, t->end)))
		return false;
	*out = (struct span){ t->p, (size_t)(q - t->p) };
	t->p = q + 1;
	return true;
}

/* The key at t is "want" (with its quotes): t past it. Keys are
 * matched whole, never scanned: anything else is not this path's. */
static bool key(struct plain *t, const char *want, size_t n)
{
	if ((size_t)(t->end - t->p) < n || memcmp(t->p, want, n) != 0)
		return false;
	t->p += n;
	return true;
}

/* -?(0|[1-9][0-9]*) in int32's range, then a delimiter; not -0 (a
 * fraction, an exponent or -0 is jobspec_parse's). */
static bool whole_number(struct plain *t, int32_t *out)
{
	skip_space(t);
	bool negative = t->p < t->end && *t->p == '-';
	const char *digits = t->p + negative, *q = digits;
	int64_t v = 0;

	while (q < t->end && *q >= '0' && *q <= '9' && q - digits < 11)
		v = v * 10 + (*q++ - '0');
	size_t n = (size_t)(q - digits);
	if (n == 0 || n > 10 || (digits[0] == '0' && (n > 1 || negative)))
		return false;
	if (q < t->end && *q != ',' && *q != '}' && *q != ' ' && *q != '\t' && *q != '\n' &&
	    *q != '\r')
		return false;
	v = negative ? -v : v;
	if (v < INT32_MIN || v > INT32_MAX)
		return false;
	*out = (int32_t)v;
	t->p = q;
	return true;
}

static bool command(struct plain *t)
{
	int n = 0;

	if (!eat(t, '['))
		return false;
	do {
		if (n == JOBSPEC_PLAIN_ARGS || !string(t, &t->args[n]))
			return false;
		t->bytes += t->args[n++].n + 1;
	} while (eat(t, ','));
	if (!eat(t, ']') || t->args[0].n == 0)
		return false;
	t->argc = n;
	return true;
}

/* "local" or "external", as jobspec_parse reads them. */
static bool executor(struct plain *t)
{
	struct span v;

	if (!string(t, &v))
		return false;
	if (v.n == 5 && memcmp(v.s, "local", 5) == 0)
		t->executor = 0;
	else if (v.n == 8 && memcmp(v.s, "external", 8) == 0)
		t->executor = 1;
	else
		return false;
	return true;
}

/* One "key": value; false for any other key, or one seen before. */
static bool field(struct plain *t)
{
	skip_space(t);
	if (key(t, "\"command\"", 9)) {
		return t->argc < 0 && eat(t, ':') && command(t);
	} else if (key(t, "\"name\"", 6)) {
		if (t->name.s || !eat(t, ':') || !string(t, &t->name) || t->name.n >= JR_NAME_MAX)
			return false;
		t->bytes += t->name.n + 1;
		return true;
	} else if (key(t, "\"priority\"", 10)) {
		return !t->has_priority && eat(t, ':') &&
		       (t->has_priority = whole_number(t, &t->priority));
	} else if (key(t, "\"executor\"", 10)) {
		return t->executor < 0 && eat(t, ':') && executor(t);
	}
	return false;
}

static char *copy(char **w, const struct span *s)
{
	char *out = *w;

	memcpy(out, s->s, s->n);
	out[s->n] = '\0';
	*w += s->n + 1;
	return out;
}

/* argv (none for an external job without a command) and the name in
 * one block of the arena. */
static bool fill(struct plain *t, struct jobspec *js)
{
	size_t table = t->argc > 0 ? (size_t)(t->argc + 1) * sizeof(char *) : 0;
	char *block = table + t->bytes ? json_arena_alloc(table + t->bytes) : NULL;
	char **argv = table ? (char **)block : NULL, *w = block ? block + table : NULL;

	if (table + t->bytes && !block)
		return false;
	for (int i = 0; i < t->argc; i++)
		argv[i] = copy(&w, &t->args[i]);
	if (argv)
		argv[t->argc] = NULL;
	jobspec_init(js);
	js->spec.argv = argv;	/* js->argv, what jobspec_free frees, stays NULL */
	js->spec.priority = JR_PRIORITY_FROM_QUEUE;
	if (t->name.s)
		js->spec.name = copy(&w, &t->name);
	if (t->has_priority) {
		js->spec.priority = t->priority;
		js->spec.flags |= JR_COMMAND_PRIORITY_SET;
	}
	if (t->executor == 1)
		js->spec.flags |= JR_COMMAND_EXTERNAL;
	return true;
}

bool jobspec_parse_plain(struct jr_engine *e, const char *text, size_t len,
			 const struct jobspec_submitter *who, struct jobspec *js)
{
	struct plain t;		/* not zeroed whole: args[] is 1 KiB */
	struct jobspec_error err;

	t.p = text;
	t.end = text + len;
	t.argc = -1;
	t.name.s = NULL;
	t.has_priority = false;
	t.executor = -1;
	t.bytes = 0;

	if (!eat(&t, '{'))
		return false;
	do {
		if (!field(&t))
			return false;
	} while (eat(&t, ','));
	if (!eat(&t, '}'))
		return false;
	skip_space(&t);
	return t.p == t.end && (t.argc > 0 || t.executor == 1) && fill(&t, js) &&
	       jobspec_finish(e, js, who, &err);
}
