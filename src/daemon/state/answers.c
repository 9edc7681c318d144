/*
 * answers.c - a claim's and a completion's answers written by hand. See
 * answers.h; the field order is view.c's and execview.c's, which these
 * must follow field for field (debug builds check every answer).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/common.h"
#include "base/units.h"
#include "daemon/net/reply.h"
#include "daemon/state/answers.h"
#include "daemon/state/execview.h"
#include "daemon/state/view.h"

/* buf_append, with its common case inlined: an answer is written a
 * few bytes at a time. */
static inline void put(struct buf *b, const char *s, size_t n)
{
	if (!n)
		return;	/* s may be NULL: an empty buffer's */
	if (b->len + n + 1 <= b->cap) {
		memcpy(b->p + b->len, s, n);
		b->len += n;
		b->p[b->len] = '\0';
	} else {
		buf_append(b, s, n);
	}
}

#define PUT(b, lit) put(b, lit, sizeof(lit) - 1)

/* "text" for text that needs no escaping (ids, times, names of states). */
static void put_plain(struct buf *b, const char *s, size_t n)
{
	put(b, "\"", 1);
	put(b, s, n);
	put(b, "\"", 1);
}

/* b back to its first n bytes. */
static void cut(struct buf *b, size_t n)
{
	b->len = n;
	if (b->p)
		b->p[n] = '\0';
}

/* --- reprinting JSON text as cJSON would ----------------------------------------------- */

#define REPRINT_DEPTH_MAX 64	/* deeper: left to cJSON (its limit is 1,000) */

struct scan {
	const char *p, *end;
	int depth;
};

static void skip_space(struct scan *s)
{
	while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r'))
		s->p++;
}

/* A string at s->p (its opening quote): its bytes into out (NUL-ended).
 * Only the escapes that stand for one byte; \u, a raw control character
 * or a string longer than out: false. */
static bool scan_string(struct scan *s, char *out, size_t size)
{
	size_t n = 0;

	if (s->p >= s->end || *s->p != '"')
		return false;
	for (s->p++; s->p < s->end; s->p++) {
		unsigned char c = (unsigned char)*s->p;
		if (c == '"') {
			s->p++;
			out[n] = '\0';
			return true;
		}
		if (c < 0x20 || n + 1 >= size)
			return false;
		if (c == '\\') {
			if (++s->p >= s->end)
				return false;
			switch (*s->p) {
			case '"': c = '"'; break;
			case '\\': c = '\\'; break;
			case '/': c = '/'; break;
			case 'b': c = '\b'; break;
			case 'f': c = '\f'; break;
			case 'n': c = '\n'; break;
			case 'r': c = '\r'; break;
			case 't': c = '\t'; break;
			default: return false;	/* \u and anything else: cJSON's */
			}
		}
		out[n++] = (char)c;
	}
	return false;
}

/* A string at s->p, printed as cJSON prints what it parsed (b NULL: only
 * passed over). Short ones with nothing to undo are copied. */
static bool reprint_string(struct buf *b, struct scan *s)
{
	const char *q = s->p + 1;
	char small[256], *big;
	bool ok;

	if (s->p >= s->end || *s->p != '"')
		return false;
	while (q < s->end && *q != '"' && *q != '\\' && (unsigned char)*q >= 0x20)
		q++;
	if (q < s->end && *q == '"') {	/* nothing to undo or escape */
		if (b)
			put(b, s->p, (size_t)(q + 1 - s->p));
		s->p = q + 1;
		return true;
	}
	if ((size_t)(s->end - s->p) < sizeof(small)) {
		if (!scan_string(s, small, sizeof(small)))
			return false;
		if (b)
			reply_json_string(b, small);
		return true;
	}
	if (!(big = malloc((size_t)(s->end - s->p) + 1)))
		return false;
	ok = scan_string(s, big, (size_t)(s->end - s->p) + 1);
	if (ok && b)
		reply_json_string(b, big);
	free(big);
	return ok;
}

static bool reprint_number(struct buf *b, struct scan *s)
{
	char tmp[64], *stop;
	size_t n = 0;
	double d;

	if (*s->p != '-' && (*s->p < '0' || *s->p > '9'))	/* what cJSON takes for one */
		return false;
	while (s->p + n < s->end && strchr("0123456789+-.eE", s->p[n]) && s->p[n])
		n++;
	if (!n || n >= sizeof(tmp))
		return false;
	memcpy(tmp, s->p, n);
	tmp[n] = '\0';
	d = strtod(tmp, &stop);
	if (stop != tmp + n)
		return false;
	s->p += n;
	if (b)
		reply_json_number(b, d);
	return true;
}

static bool reprint_literal(struct buf *b, struct scan *s, const char *word)
{
	size_t n = strlen(word);

	if ((size_t)(s->end - s->p) < n || memcmp(s->p, word, n) != 0)
		return false;
	s->p += n;
	if (b)
		put(b, word, n);
	return true;
}

static bool reprint_value(struct buf *b, struct scan *s);

/* An object or an array at s->p. */
static bool reprint_members(struct buf *b, struct scan *s, bool object)
{
	char close = object ? '}' : ']';
	bool first = true;

	if (++s->depth > REPRINT_DEPTH_MAX)
		return false;
	if (b)
		put(b, s->p, 1);
	s->p++;
	skip_space(s);
	if (s->p < s->end && *s->p == close) {
		s->p++;
		s->depth--;
		if (b)
			put(b, &close, 1);
		return true;
	}
	for (;;) {
		if (!first && b)
			put(b, ",", 1);
		first = false;
		skip_space(s);
		if (object) {
			if (!reprint_string(b, s))
				return false;
			skip_space(s);
			if (s->p >= s->end || *s->p != ':')
				return false;
			s->p++;
			if (b)
				put(b, ":", 1);
			skip_space(s);
		}
		if (!reprint_value(b, s))
			return false;
		skip_space(s);
		if (s->p >= s->end)
			return false;
		if (*s->p == close)
			break;
		if (*s->p != ',')
			return false;
		s->p++;
	}
	s->p++;
	s->depth--;
	if (b)
		put(b, &close, 1);
	return true;
}

static bool reprint_value(struct buf *b, struct scan *s)
{
	if (s->p >= s->end)
		return false;
	switch (*s->p) {
	case '"': return reprint_string(b, s);
	case '{': return reprint_members(b, s, true);
	case '[': return reprint_members(b, s, false);
	case 't': return reprint_literal(b, s, "true");
	case 'f': return reprint_literal(b, s, "false");
	case 'n': return reprint_literal(b, s, "null");
	default: return reprint_number(b, s);
	}
}

bool answer_reprint(struct buf *b, const char *text, size_t len)
{
	struct scan s = { text, text + len, 0 };
	size_t start = b->len;

	skip_space(&s);
	if (reprint_value(b, &s) && !b->oom)
		return true;
	cut(b, start);
	return false;
}

/* --- the submitted fields ---------------------------------------------------------- */

/* view.c's add_submitted(): these keys, in this order, the first of each. */
static const char *const submitted_keys[] = {
	"command", "requirements", "dependencies", "after", "singleton", "array", "max_retries",
	"timeout", "retry_backoff", "retry_backoff_max", "scheduled_at", "payload", "env", "cwd"
};
#define SUBMITTED_KEYS (sizeof(submitted_keys) / sizeof(submitted_keys[0]))

/* Append ,"key":value for each of them the job's submitted JSON has. */
static bool write_submitted(struct buf *b, const char *text)
{
	struct scan s = { text, text ? text + strlen(text) : NULL, 1 };
	const char *at[SUBMITTED_KEYS] = { NULL };
	char key[64];

	if (!text)
		return true;	/* none kept: none shown */
	skip_space(&s);
	if (s.p >= s.end || *s.p != '{')
		return false;
	s.p++;
	skip_space(&s);
	if (s.p < s.end && *s.p == '}')
		return true;
	for (;;) {
		size_t k = SUBMITTED_KEYS;
		skip_space(&s);
		if (*s.p != '"' || !scan_string(&s, key, sizeof(key)))
			return false;	/* a long key: cJSON's */
		for (size_t i = 0; i < SUBMITTED_KEYS; i++)
			if (strcmp(key, submitted_keys[i]) == 0) {
				k = i;
				break;
			}
		skip_space(&s);
		if (s.p >= s.end || *s.p != ':')
			return false;
		s.p++;
		skip_space(&s);
		if (k < SUBMITTED_KEYS && !at[k])
			at[k] = s.p;
		if (!reprint_value(NULL, &s))
			return false;
		skip_space(&s);
		if (s.p < s.end && *s.p == '}')
			break;
		if (s.p >= s.end || *s.p != ',')
			return false;
		s.p++;
	}
	for (size_t i = 0; i < SUBMITTED_KEYS; i++) {
		struct scan v = { at[i], s.end, 1 };
		if (!at[i])
			continue;
		put(b, ",\"", 2);
		buf_puts(b, submitted_keys[i]);
		put(b, "\":", 2);
		if (!reprint_value(b, &v))
			return false;
	}
	return true;
}

/* --- fields -------------------------------------------------------------------------- */

/* "k": after a comma, unless it is its object's first. k is a string
 * literal. */
#define KEY(b, k) key_n(b, "\"" k "\":", sizeof(k) + 2)

static void key_n(struct buf *b, const char *quoted, size_t n)
{
	if (b->len && b->p[b->len - 1] != '{')
		put(b, ",", 1);
	put(b, quoted, n);
}

/* The fields, each after its key (a string literal). */
#define PUT_TIME(b, k, ns) (KEY(b, k), time_value(b, ns))
#define PUT_ID(b, k, id) (KEY(b, k), id_value(b, id))
#define PUT_NUMBER(b, k, v) (KEY(b, k), reply_json_number(b, (double)(v)))
#define PUT_STRING(b, k, v) (KEY(b, k), reply_json_string(b, v))
#define PUT_NAME(b, k, v) (KEY(b, k), put_plain(b, v, strlen(v)))
#define PUT_BOOL(b, k, v) (KEY(b, k), (v) ? PUT(b, "true") : PUT(b, "false"))
#define PUT_NULL(b, k) (KEY(b, k), PUT(b, "null"))

static void time_value(struct buf *b, uint64_t ns)
{
	char t[40];

	if (!ns) {
		PUT(b, "null");
		return;
	}
	jr_format_rfc3339(ns, t, sizeof(t));
	put_plain(b, t, strlen(t));
}

static void id_value(struct buf *b, uint64_t id)
{
	char s[17];

	if (!id) {
		PUT(b, "null");
		return;
	}
	view_format_id(id, s);
	put_plain(b, s, 16);
}

/* view_worker_name()'s "wN" or "local", without snprintf. */
static void put_worker(struct buf *b, const struct jr_job_info *info)
{
	char w[16], *p = w + sizeof(w);
	uint32_t n;

	if (!info->exec.execution_id) {
		PUT_NULL(b, "worker_id");
		return;
	}
	if (info->exec.worker_id < JR_EXTERNAL_WORKER_BASE) {
		PUT_NAME(b, "worker_id", "local");
		return;
	}
	n = info->exec.worker_id - JR_EXTERNAL_WORKER_BASE;
	do
		*--p = (char)('0' + n % 10);
	while ((n /= 10));
	*--p = 'w';
	KEY(b, "worker_id");
	put_plain(b, p, (size_t)(w + sizeof(w) - p));
}

static void put_reason(struct buf *b, const struct jr_job_info *info)
{
	if (info->reason)
		PUT_NAME(b, "reason", jr_reason_name(info->reason));
	else
		PUT_NULL(b, "reason");
}

/* What the writers leave to cJSON: a batch header (its env merged), an
 * array (its summary), a spawn error (its cause reads the parsed JSON). */
static bool plain_job(const struct submitted *t, const struct jr_job_info *info)
{
	const struct submitted_job *s = submitted_of(t, info->job_id);

	return !info->exec.spawn_error && !(s && s->array_job_id) &&
	       !submitted_header(t, info->job_id);
}

/* view_execution(VIEW_FULL) up to its submitted fields, without its
 * closing brace; the caller appends them. */
/* For execview_json: "result" is its result_json() (r: the attempt's
 * record) and "progress" null when none was reported. false: a result
 * left to cJSON. */
static bool execution_head(struct buf *b, const struct jr_job_info *info, const char *submitted,
			   size_t submitted_len, bool execview, const struct exec_rec *r)
{
	put(b, "{", 1);
	PUT_ID(b, "execution_id", info->exec.execution_id);
	PUT_ID(b, "job_id", info->job_id);
	put_worker(b, info);
	PUT_NUMBER(b, "attempt", info->exec.attempt);
	PUT_TIME(b, "start_time", info->exec.start_ns);
	PUT_TIME(b, "end_time", info->exec.end_ns);
	PUT_NAME(b, "status", jr_job_state_name(info->state));
	if (!execview) {
		if (info->exec.end_ns)
			PUT_NUMBER(b, "result", info->exec.result);
		else
			PUT_NULL(b, "result");
	} else if (r && r->result_len) {
		KEY(b, "result");
		if (!answer_reprint(b, r->result, r->result_len))
			return false;
	} else if (!info->exec.end_ns || info->exec.spawn_error) {
		PUT_NULL(b, "result");
	} else {
		KEY(b, "result");
		put(b, "{", 1);
		if (info->exec.signal)
			PUT_NUMBER(b, "signal", info->exec.signal);
		else
			PUT_NUMBER(b, "exit_code", info->exec.result);
		put(b, "}", 1);
	}
	put_reason(b, info);
	if (execview && info->progress < 0)
		PUT_NULL(b, "progress");
	else
		PUT_NUMBER(b, "progress", info->progress);
	PUT_BOOL(b, "output_truncated", info->exec.output_truncated);
	KEY(b, "usage");
	put(b, "{\"max_rss_kib\":", 15);
	reply_json_number(b, (double)info->exec.max_rss_kib);
	put(b, ",\"user_us\":", 11);
	reply_json_number(b, (double)info->exec.user_us);
	put(b, ",\"system_us\":", 13);
	reply_json_number(b, (double)info->exec.system_us);
	put(b, "}", 1);
	put(b, submitted, submitted_len);
	return true;
}

/* view.c's queue name: "default" for a queue the engine does not know. */
static void put_queue(struct buf *b, struct jr_engine *e, uint32_t queue_id)
{
	struct jr_queue_info q;

	if (jr_queue_get_info(e, queue_id, &q) < 0) {
		PUT_NAME(b, "queue", "default");
		return;
	}
	q.name[sizeof(q.name) - 1] = '\0';
	PUT_STRING(b, "queue", q.name);
}

bool answer_claim_write(struct buf *b, struct jr_engine *e, const struct submitted *t,
			const struct jr_job_info *info, const char *lease)
{
	struct buf sub = { 0 };
	size_t start = b->len;

	if (!plain_job(t, info) || !write_submitted(&sub, submitted_json(t, info->job_id)) ||
	    sub.oom) {
		buf_free(&sub);
		return false;
	}
	buf_reserve(b, 1536 + 2 * sub.len);	/* once: put() then only copies */
	execution_head(b, info, sub.p, sub.len, false, NULL);
	PUT_NAME(b, "lease", lease);
	KEY(b, "job");
	put(b, "{", 1);
	PUT_ID(b, "job_id", info->job_id);
	PUT_STRING(b, "name", info->name);
	put_queue(b, e, info->queue_id);
	PUT_NUMBER(b, "priority", info->priority);
	PUT_NAME(b, "status", jr_job_state_name(info->state));
	put_reason(b, info);
	PUT_BOOL(b, "held", view_job_held(info));
	PUT_NAME(b, "executor", info->is_external ? "external" : "local");
	put(b, sub.p, sub.len);
	PUT_TIME(b, "created_at", info->created_ns);
	PUT_NUMBER(b, "attempts", info->attempts);
	PUT_ID(b, "execution_id", info->exec.execution_id);
	put_worker(b, info);
	PUT_TIME(b, "start_time", info->exec.start_ns);
	PUT_TIME(b, "end_time", info->exec.end_ns);
	if (info->exec.end_ns && info->exec.attempt)
		PUT_NUMBER(b, "exit_code", info->exec.result);
	else
		PUT_NULL(b, "exit_code");
	PUT_NUMBER(b, "signal", info->exec.signal);
	PUT_BOOL(b, "output_truncated", info->exec.output_truncated);
	PUT_NUMBER(b, "progress", info->progress);
	PUT_NUMBER(b, "uid", info->owner_uid);
	put(b, "}}", 2);
	buf_free(&sub);
	if (!b->oom)
		return true;
	cut(b, start);
	return false;
}

bool answer_execution_write(struct buf *b, const struct state *st,
			    const struct jr_job_info *info, uint32_t attempt)
{
	const struct exec_rec *r = executions_find(&st->execs, info->job_id, attempt);
	struct buf sub = { 0 };
	size_t start = b->len;
	struct jr_job_info x;
	bool ended, exited;

	if (!execview_info(st, info, attempt, &x) || !plain_job(&st->jobs, &x) ||
	    !write_submitted(&sub, submitted_json(&st->jobs, x.job_id)) || sub.oom ||
	    (buf_reserve(b, 1024 + sub.len + (r ? r->result_len : 0)), false) ||
	    !execution_head(b, &x, sub.p, sub.len, true, r)) {
		buf_free(&sub);
		cut(b, start);
		return false;
	}
	buf_free(&sub);
	ended = x.exec.end_ns != 0;
	exited = ended && !x.exec.signal && !x.exec.spawn_error;
	PUT_TIME(b, "started_at", x.exec.start_ns);
	PUT_TIME(b, "ended_at", x.exec.end_ns);
	if (exited)
		PUT_NUMBER(b, "exit_code", x.exec.result);
	else
		PUT_NULL(b, "exit_code");
	if (ended && x.exec.signal)
		PUT_NUMBER(b, "signal", x.exec.signal);
	else
		PUT_NULL(b, "signal");
	PUT_NULL(b, "spawn_error");	/* no cause: plain_job() */
	put(b, "}", 1);
	if (!b->oom)
		return true;
	cut(b, start);
	return false;
}
