/*
 * test_lockorder.c - the lock order of base/lock.h is checked in debug
 * builds: mutexes taken in rising rank pass; a lower rank taken while a
 * higher one is held, or two of one rank, stop the process (in a forked
 * child) the first time, without two threads having to meet.
 */
#include "testutil.h"

#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/lock.h"

static struct jr_mutex state_lock = JR_MUTEX_INITIALIZER(JR_LOCK_COORD_STATE);
static struct jr_mutex inbox_lock = JR_MUTEX_INITIALIZER(JR_LOCK_COORD_INBOX);
static struct jr_mutex pool_lock = JR_MUTEX_INITIALIZER(JR_LOCK_CGROUP_POOL);
static struct jr_mutex other_pool = JR_MUTEX_INITIALIZER(JR_LOCK_CGROUP_POOL);

static void rising_order(void)
{
	jr_mutex_lock(&state_lock);
	jr_mutex_lock(&inbox_lock);
	jr_mutex_lock(&pool_lock);
	jr_mutex_unlock(&pool_lock);
	jr_mutex_unlock(&inbox_lock);
	jr_mutex_unlock(&state_lock);
}

static void inverted_order(void)
{
	jr_mutex_lock(&inbox_lock);
	jr_mutex_lock(&state_lock);	/* the order turn() takes reversed */
}

static void same_rank_twice(void)
{
	jr_mutex_lock(&pool_lock);
	jr_mutex_lock(&other_pool);
}

static int in_child(void (*fn)(void))
{
	int status;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		fclose(stderr);	/* the assertion's message is expected */
		fn();
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return status;
}

static void test_rising_order_passes(void **state)
{
	(void)state;
	for (int i = 0; i < 3; i++)
		rising_order();
	assert_int_equal(in_child(rising_order), 0);
}

static void test_wrong_order_stops(void **state)
{
	int status;

	(void)state;
	if (!JR_DEBUG)
		skip();
	status = in_child(inverted_order);
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT);
	status = in_child(same_rank_twice);
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rising_order_passes),
		cmocka_unit_test(test_wrong_order_stops),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
