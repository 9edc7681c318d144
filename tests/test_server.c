/*
 * test_server.c - the control socket's event loop (src/daemon/net/server.c)
 * on its own, with a submission queue of 8 entries, so that it is full
 * again and again, and a kernel that refuses submissions now and then:
 * io_uring_submit and io_uring_submit_and_wait are wrapped at link time
 * (-Wl,--wrap) to fail with -EBUSY every few calls. 200 clients each
 * pipeline a request answered at once and one held and answered from the
 * tick; every client must get both answers, and the loop must end
 * cleanly when asked. Before the loop owed what found no SQE, a refused
 * submission left sqe_get() returning NULL (dereferenced by every
 * caller) and a refused wait ended the loop.
 */
#include "testutil.h"

#include <errno.h>
#include <liburing.h>
#include <poll.h>
#include <pthread.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "daemon/net/server.h"

#define CLIENTS 200u
#define HELD_MAX 1024u

int __real_io_uring_submit(struct io_uring *ring);
int __real_io_uring_submit_and_wait(struct io_uring *ring, unsigned wait_nr);

/* Every refuse_every-th call fails (0: none). Set before the loop's
 * thread starts, read after it is joined. */
static unsigned refuse_every, calls, refused;

static bool refuse_now(void)
{
	if (!refuse_every || ++calls % refuse_every)
		return false;
	refused++;
	return true;
}

int __wrap_io_uring_submit(struct io_uring *ring)
{
	return refuse_now() ? -EBUSY : __real_io_uring_submit(ring);
}

int __wrap_io_uring_submit_and_wait(struct io_uring *ring, unsigned wait_nr)
{
	return refuse_now() ? -EBUSY : __real_io_uring_submit_and_wait(ring, wait_nr);
}

static char dir[64];	/* /tmp/jr-server-XXXXXX */
static char sock_path[100];

struct loop {
	struct server *s;
	pthread_t thread;
	int rc;
	uint64_t held[HELD_MAX];	/* tokens of deferred requests */
	uint32_t held_count;
};

/* /hold is answered from the tick; /stop stops the loop; the rest at once. */
static void handle(void *ctx, const struct request *req, struct response *res)
{
	struct loop *l = ctx;

	if (strcmp(req->path, "/hold") == 0 && l->held_count < HELD_MAX) {
		l->held[l->held_count++] = req->token;
		res->deferred = true;
		return;
	}
	if (strcmp(req->path, "/stop") == 0)
		server_stop(l->s);
	buf_puts(&res->body, "{\"now\":true}");
}

static void tick(void *ctx, uint64_t now_ns)
{
	struct loop *l = ctx;

	(void)now_ns;
	for (uint32_t i = 0; i < l->held_count; i++) {
		struct buf body = { 0 };
		buf_puts(&body, "{\"held\":true}");
		server_finish(l->s, l->held[i], 200, &body);
		buf_free(&body);
	}
	l->held_count = 0;
}

static void *run(void *arg)
{
	struct loop *l = arg;

	l->rc = server_run(l->s);
	return NULL;
}

static void loop_start(struct loop *l)
{
	struct server_opts o = { .path = sock_path, .mode = 0600, .group = (gid_t)-1,
				 .max_connections = 512, .max_request_bytes = 1 << 20,
				 .request_timeout_ms = 30000, .idle_timeout_ms = 300000,
				 .tick_ms = 10, .listen_fd = -1, .sq_entries = 8 };
	struct server_ops ops = { handle, tick, NULL, l };

	memset(l, 0, sizeof(*l));
	assert_int_equal(server_open(&l->s, &o, &ops), 0);
	assert_int_equal(pthread_create(&l->thread, NULL, run, l), 0);
}

static int connect_loop(void)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	snprintf(a.sun_path, sizeof(a.sun_path), "%s", sock_path);
	assert_true(fd >= 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	return fd;
}

static void send_str(int fd, const char *s)
{
	assert_int_equal(send(fd, s, strlen(s), MSG_NOSIGNAL), (ssize_t)strlen(s));
}

/* Read until buf holds every one of the wanted strings, or time is up. */
static bool read_until(int fd, char *buf, size_t size, const char *const *wanted, int n,
		       double until_s)
{
	size_t got = 0;

	buf[0] = '\0';
	for (;;) {
		int found = 0;
		for (int i = 0; i < n; i++)
			found += strstr(buf, wanted[i]) != NULL;
		if (found == n)
			return true;
		struct pollfd p = { fd, POLLIN, 0 };
		int left_ms = (int)((until_s - jrt_now_s()) * 1000);
		if (left_ms <= 0 || got >= size - 1 || poll(&p, 1, left_ms) <= 0)
			return false;
		ssize_t r = recv(fd, buf + got, size - 1 - got, 0);
		if (r <= 0)
			return false;
		got += (size_t)r;
		buf[got] = '\0';
	}
}

/* Every client gets its answer at once and its held one. */
static void many_clients(void)
{
	static const char *const both[] = { "{\"now\":true}", "{\"held\":true}" };
	static int fds[CLIENTS];
	double until = jrt_now_s() + 20;
	uint32_t answered = 0;
	char buf[4096];

	for (uint32_t i = 0; i < CLIENTS; i++)
		fds[i] = connect_loop();
	for (uint32_t i = 0; i < CLIENTS; i++)
		send_str(fds[i], "GET /now HTTP/1.1\r\nHost: x\r\n\r\n"
				 "GET /hold HTTP/1.1\r\nHost: x\r\n\r\n");
	for (uint32_t i = 0; i < CLIENTS; i++) {
		answered += read_until(fds[i], buf, sizeof(buf), both, 2, until);
		close(fds[i]);
	}
	assert_int_equal(answered, CLIENTS);
}

static void loop_stop(struct loop *l)
{
	static const char *const now[] = { "{\"now\":true}" };
	char buf[1024];
	int fd = connect_loop();

	send_str(fd, "GET /stop HTTP/1.1\r\nHost: x\r\n\r\n");
	assert_int_equal(pthread_join(l->thread, NULL), 0);
	assert_int_equal(l->rc, 0);
	server_drain(l->s, 5000);	/* as jobringd does: the answers made go out */
	assert_true(read_until(fd, buf, sizeof(buf), now, 1, jrt_now_s() + 10));
	close(fd);
	server_close(l->s);
}

/* A queue of 8 entries, full at every burst: it is handed to the kernel
 * and filled again. */
static void test_tiny_queue(void **state)
{
	struct loop l;

	(void)state;
	refuse_every = 0;
	loop_start(&l);
	many_clients();
	loop_stop(&l);
}

/* The same while the kernel refuses every third submission: nothing is
 * lost, nothing hangs, the loop goes on. */
static void test_refused_submissions(void **state)
{
	struct loop l;

	(void)state;
	refused = calls = 0;
	refuse_every = 3;	/* before the loop's thread starts */
	loop_start(&l);
	many_clients();
	loop_stop(&l);
	refuse_every = 0;	/* the loop's thread is joined */
	printf("submissions refused: %u\n", refused);
	assert_true(refused > 10);
}

static int setup(void **state)
{
	(void)state;
	if (jrt_dir_make(dir, sizeof(dir), NULL, "server") < 0)
		return -1;
	snprintf(sock_path, sizeof(sock_path), "%s/s.sock", dir);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	return jrt_dir_remove(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tiny_queue),
		cmocka_unit_test(test_refused_submissions),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
