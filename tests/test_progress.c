/*
 * test_progress.c - progress lines parsed as they arrive (exec/progress.c)
 * and the keeper's PROGRESS frames (exec/keeperprogress.c), without a
 * daemon: values, clamping, garbage, lines split anywhere; a tick sends
 * one frame of what changed and nothing when nothing did; a flooded pipe
 * is read 64 KiB at a time and left until the next tick; stopping drains
 * the pipe and returns the last value.
 */
#include "testutil.h"

#include <fcntl.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "exec/keeperprogress.h"
#include "exec/progress.h"

static int feed(const char *text)
{
	struct jr_progress_parse p = JR_PROGRESS_PARSE_NEW;

	jr_progress_feed(&p, text, strlen(text));
	return p.last;
}

static void test_lines(void **state)
{
	(void)state;
	assert_int_equal(feed("progress 42\n"), 42);
	assert_int_equal(feed("progress 0\n"), 0);
	assert_int_equal(feed("progress 100\n"), 100);
	assert_int_equal(feed("progress \t 8 percent done\n"), 8);
	assert_int_equal(feed("progress42\n"), 42);
	assert_int_equal(feed("progress +9\n"), 9);
	assert_int_equal(feed("progress 007\n"), 7);
	assert_int_equal(feed("progress 250\n"), 100);		/* clamped */
	assert_int_equal(feed("progress 99999999999999\n"), 100);
	assert_int_equal(feed("progress -5\n"), 0);
	assert_int_equal(feed("progress 5"), -1);		/* no newline yet */
	assert_int_equal(feed("progress\n"), -1);
	assert_int_equal(feed("progress -\n"), -1);
	assert_int_equal(feed("progress x5\n"), -1);
	assert_int_equal(feed("progressive 5\n"), -1);
	assert_int_equal(feed("xprogress 5\n"), -1);
	assert_int_equal(feed(" progress 5\n"), -1);
	assert_int_equal(feed("PROGRESS 5\n"), -1);
	assert_int_equal(feed("progress 30\ngarbage\nprogress 31\n\n\n"), 31);
	assert_int_equal(feed("progress 30\nprogress oops\n"), 30);	/* the last good one */
}

/* A line split at every possible point reads the same. */
static void test_split_anywhere(void **state)
{
	static const char text[] = "noise\nprogress 17\nprogress 64 tail\nbad 3\n";

	(void)state;
	for (size_t cut = 0; cut <= strlen(text); cut++) {
		struct jr_progress_parse p = JR_PROGRESS_PARSE_NEW;
		jr_progress_feed(&p, text, cut);
		jr_progress_feed(&p, text + cut, strlen(text) - cut);
		assert_int_equal(p.last, 64);
	}
}

/* Random bytes never give a value outside 0..100. */
static void test_random_bytes(void **state)
{
	struct jr_progress_parse p = JR_PROGRESS_PARSE_NEW;
	char buf[4096];
	uint64_t x = 0x9E3779B97F4A7C15ull;

	(void)state;
	for (int round = 0; round < 2000; round++) {
		for (size_t i = 0; i < sizeof(buf); i++) {
			x ^= x << 13, x ^= x >> 7, x ^= x << 17;
			/* mostly the alphabet of a progress line */
			static const char alphabet[] = "progress 0123456789-+\n\t";
			buf[i] = (x & 0x100) ? (char)x : alphabet[x % (sizeof(alphabet) - 1)];
		}
		jr_progress_feed(&p, buf, sizeof(buf));
		assert_true(p.last >= -1 && p.last <= 100);
	}
}

/* --- the keeper's frames ---------------------------------------------------------------- */

struct kfix {
	int epfd, pipe_r, pipe_w;
	struct kp_progress p;
	struct jr_child child;
	struct kp_watch w;
	struct kp_buf out;
};

static void kfix_open(struct kfix *f)
{
	int fds[2];

	memset(f, 0, sizeof(*f));
	f->epfd = epoll_create1(EPOLL_CLOEXEC);
	assert_true(f->epfd >= 0);
	assert_int_equal(pipe2(fds, O_CLOEXEC | O_NONBLOCK), 0);
	f->pipe_r = fds[0];
	f->pipe_w = fds[1];
	assert_int_equal(jr_kpp_init(&f->p, f->epfd, &f->p.timer_fd), 0);
	f->child = JR_CHILD_NONE;
	f->child.progress_fd = f->pipe_r;
	jr_kpp_watch(&f->p, &f->w, &f->child, 0x0000000100000007ull, 3);
}

static void kfix_close(struct kfix *f)
{
	jr_kpp_stop(&f->p, &f->w);
	jr_kpp_close(&f->p);
	close(f->pipe_r);
	close(f->pipe_w);
	close(f->epfd);
	jr_kp_buf_free(&f->out);
}

/* Wait for the pipe's event and hand it over: true if there was one. */
static bool kfix_event(struct kfix *f, int timeout_ms)
{
	struct epoll_event ev[4];
	int n = epoll_wait(f->epfd, ev, 4, timeout_ms);
	bool seen = false;

	for (int i = 0; i < n; i++) {
		struct kp_watch *w = jr_kpp_untag(ev[i].data.ptr);
		if (w) {
			assert_ptr_equal(w, &f->w);
			jr_kpp_ready(&f->p, w);
			seen = true;
		}
	}
	return seen;
}

/* The frames in out: their count, and the entries of the last one. */
static int frames(struct kfix *f, struct kp_progress_entry *last, uint32_t *entries)
{
	struct kp_header h;
	const uint8_t *payload;
	bool bad;
	int n = 0;

	while (jr_kp_next(&f->out, &h, &payload, &bad)) {
		assert_int_equal(h.type, KP_PROGRESS);
		assert_int_equal(h.len % sizeof(*last), 0);
		*entries = h.len / (uint32_t)sizeof(*last);
		memcpy(last, payload + h.len - sizeof(*last), sizeof(*last));
		n++;
	}
	assert_false(bad);
	return n;
}

static void write_text(int fd, const char *text)
{
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
}

static void test_tick_sends_what_changed(void **state)
{
	struct kfix f;
	struct kp_progress_entry e;
	uint32_t entries = 0;

	(void)state;
	kfix_open(&f);
	write_text(f.pipe_w, "progress 10\nprogress 20\n");
	assert_true(kfix_event(&f, 1000));
	jr_kpp_tick(&f.p, &f.out);
	assert_int_equal(frames(&f, &e, &entries), 1);
	assert_int_equal(entries, 1);
	assert_int_equal(e.job_id, 0x0000000100000007ull);
	assert_int_equal(e.attempt, 3);
	assert_int_equal(e.progress, 20);
	/* The same value again: no frame. */
	write_text(f.pipe_w, "progress 20\n");
	assert_true(kfix_event(&f, 1000));
	jr_kpp_tick(&f.p, &f.out);
	assert_int_equal(frames(&f, &e, &entries), 0);
	/* Nothing read: a tick sends nothing either. */
	jr_kpp_tick(&f.p, &f.out);
	assert_int_equal(frames(&f, &e, &entries), 0);
	/* No engine connected: nothing is written, and LIVE tells the next. */
	write_text(f.pipe_w, "progress 30\n");
	assert_true(kfix_event(&f, 1000));
	jr_kpp_tick(&f.p, NULL);
	assert_int_equal(f.child.progress.last, 30);
	assert_int_equal(f.p.frames, 1);
	kfix_close(&f);
}

/* A pipe is read once per event and not watched again until the tick,
 * however much it holds; a full one's last line counts. */
static void test_flood_paused_until_tick(void **state)
{
	struct kfix f;
	struct kp_progress_entry e;
	uint32_t entries = 0;
	char line[] = "progress 55\n";
	size_t wrote = 0;

	(void)state;
	kfix_open(&f);
	while (write(f.pipe_w, line, sizeof(line) - 1) == (ssize_t)(sizeof(line) - 1))
		wrote += sizeof(line) - 1;
	assert_true(wrote >= 4096 - sizeof(line));	/* full (one page if the user is short of pipe pages) */
	assert_true(kfix_event(&f, 1000));
	assert_true(f.w.paused);
	write_text(f.pipe_w, "progress 56\n");
	assert_false(kfix_event(&f, 50));	/* not watched until the tick */
	jr_kpp_tick(&f.p, &f.out);
	assert_int_equal(frames(&f, &e, &entries), 1);
	assert_int_equal(e.progress, 55);
	assert_false(f.w.paused);
	assert_true(kfix_event(&f, 1000));	/* watched again: 56 read */
	assert_int_equal(f.child.progress.last, 56);
	write_text(f.pipe_w, "progress 77\n");	/* room again: the last word */
	assert_int_equal(jr_kpp_stop(&f.p, &f.w), 77);
	assert_int_equal(jr_kpp_stop(&f.p, &f.w), -1);	/* stopped: twice is safe */
	kfix_close(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lines),
		cmocka_unit_test(test_split_anywhere),
		cmocka_unit_test(test_random_bytes),
		cmocka_unit_test(test_tick_sends_what_changed),
		cmocka_unit_test(test_flood_paused_until_tick),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
