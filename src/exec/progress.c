/*
 * progress.c - progress lines parsed as they arrive. See progress.h.
 */
#include <errno.h>
#include <poll.h>
#include <unistd.h>

#include "base/common.h"
#include "exec/executor.h"
#include "exec/progress.h"

#define WORD "progress"
#define WORD_LEN 8
#define VALUE_MAX 1000		/* saturates here; clamped to 100 at the newline */

/* state 0..WORD_LEN-1: so many letters of WORD matched; then: */
enum {
	P_BLANKS = WORD_LEN,	/* after the word: blanks, a sign or the first digit */
	P_PLUS,			/* '+': a digit must follow */
	P_MINUS,		/* '-': likewise; the value is then 0 */
	P_DIGITS,		/* in the number */
	P_NEGATIVE,		/* in a negative number */
	P_TAIL,			/* after the number: the rest of the line ignored */
	P_SKIP,			/* not a progress line: up to the newline ignored */
};

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static void line_end(struct jr_progress_parse *p)
{
	if (p->state == P_DIGITS || p->state == P_NEGATIVE || p->state == P_TAIL)
		p->last = (int8_t)(p->value > 100 ? 100 : p->value);
	p->state = 0;
	p->value = 0;
}

static void add_digit(struct jr_progress_parse *p, char c)
{
	if (p->value < VALUE_MAX)
		p->value = (uint16_t)(p->value * 10 + (c - '0'));
}

static void after_word(struct jr_progress_parse *p, char c)
{
	if (is_digit(c)) {
		p->state = P_DIGITS;
		add_digit(p, c);
	} else if (c == '-' || c == '+') {
		p->state = c == '-' ? P_MINUS : P_PLUS;
	} else if (c != ' ' && c != '\t') {
		p->state = P_SKIP;
	}
}

static void feed_byte(struct jr_progress_parse *p, char c)
{
	if (c == '\n') {
		line_end(p);
		return;
	}
	switch (p->state) {
	case P_BLANKS: after_word(p, c); break;
	case P_PLUS: if (is_digit(c)) after_word(p, c); else p->state = P_SKIP; break;
	case P_MINUS: p->state = is_digit(c) ? P_NEGATIVE : P_SKIP; break;
	case P_DIGITS: if (is_digit(c)) add_digit(p, c); else p->state = P_TAIL; break;
	case P_NEGATIVE: if (!is_digit(c)) p->state = P_TAIL; break;
	case P_TAIL: case P_SKIP: break;
	default: p->state = c == WORD[p->state] ? p->state + 1 : P_SKIP;
	}
}

void jr_progress_feed(struct jr_progress_parse *p, const char *buf, size_t n)
{
	for (size_t i = 0; i < n; i++)
		feed_byte(p, buf[i]);
}

size_t jr_progress_read(int fd, struct jr_progress_parse *p, size_t max_bytes, bool *eof)
{
	char buf[4096];
	size_t total = 0;

	*eof = false;
	while (fd >= 0 && total < max_bytes) {
		size_t want = max_bytes - total < sizeof(buf) ? max_bytes - total : sizeof(buf);
		ssize_t n = read(fd, buf, want);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			*eof = n == 0 || errno != EAGAIN;
			break;
		}
		jr_progress_feed(p, buf, (size_t)n);
		total += (size_t)n;
	}
	return total;
}

/* --- a child waited for -------------------------------------------------------------------- */

struct waiting {
	struct jr_child *c;
	void (*report)(void *ctx, int pct);
	void *ctx;
	int reported;
	bool pipe_open;
	uint64_t rest_until_ms;	/* the pipe is not read again before */
};

static void report_changed(struct waiting *w)
{
	if (w->c->progress.last == w->reported)
		return;
	w->report(w->ctx, w->c->progress.last);
	w->reported = w->c->progress.last;
}

/* One read, then JR_PROGRESS_REPORT_MS of rest for the pipe. */
static void read_pipe(struct waiting *w, uint64_t now_ms)
{
	bool eof;

	jr_progress_read(w->c->progress_fd, &w->c->progress, JR_PROGRESS_READ_MAX, &eof);
	w->pipe_open = !eof;
	w->rest_until_ms = now_ms + JR_PROGRESS_REPORT_MS;
	report_changed(w);
}

int jr_progress_wait_exit(struct jr_child *c, void (*report)(void *ctx, int pct), void *ctx)
{
	struct waiting w = { c, report, ctx, c->progress.last, c->progress_fd >= 0, 0 };

	if (c->pidfd < 0)
		return -EBADF;	/* nothing to wait on here: the caller's wait blocks */
	for (;;) {
		uint64_t now_ms = jr_now_monotonic_ms();
		bool resting = w.pipe_open && now_ms < w.rest_until_ms;
		bool watch_pipe = w.pipe_open && !resting;
		struct pollfd fds[2] = { { c->pidfd, POLLIN, 0 }, { c->progress_fd, POLLIN, 0 } };
		int n = poll(fds, watch_pipe ? 2 : 1,
			     resting ? (int)(w.rest_until_ms - now_ms) : -1);
		if (n < 0 && errno != EINTR)
			return -errno;
		if (n > 0 && watch_pipe && fds[1].revents)
			read_pipe(&w, jr_now_monotonic_ms());
		if (n > 0 && fds[0].revents)
			break;
	}
	return 0;	/* what is left in the pipe: the caller's jr_exec_read_progress */
}
