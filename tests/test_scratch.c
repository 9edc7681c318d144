/*
 * test_scratch.c - src/exec/scratch.c: "PATH=SIZE" declarations read or
 * refused; a job's directory made (mode 0700) and removed with all it
 * holds, however deep, without following the links planted in it (to a
 * directory outside, to a file outside); leftovers of an attempt removed
 * when its directory is made again; the sweep removes what keep() does
 * not claim, moved-up subdirectories included.
 */
#include "testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "exec/scratch.h"

static void test_parse(void **state)
{
	char path[64];
	uint64_t bytes;

	(void)state;
	assert_int_equal(jr_scratch_parse("/scratch=2T", path, sizeof(path), &bytes), 0);
	assert_string_equal(path, "/scratch");
	assert_true(bytes == 2ull << 40);
	assert_int_equal(jr_scratch_parse("/a=b/c=10G", path, sizeof(path), &bytes), 0);
	assert_string_equal(path, "/a=b/c");	/* the last '=' splits */
	assert_int_equal(jr_scratch_parse("/x//=1M", path, sizeof(path), &bytes), 0);
	assert_string_equal(path, "/x");
	assert_int_equal(jr_scratch_parse("/=1M", path, sizeof(path), &bytes), 0);
	assert_string_equal(path, "/");
	const char *bad[] = { "scratch=1G", "/scratch", "/scratch=", "/scratch=0", "=1G",
			      "/scratch=1Q", "/scratch=-1G", NULL };
	for (int i = 0; bad[i]; i++)
		if (jr_scratch_parse(bad[i], path, sizeof(path), &bytes) != -EINVAL)
			fail_msg("\"%s\" was read", bad[i]);
	assert_int_equal(jr_scratch_parse("/a-very-long-path=1G", path, 8, &bytes), -EINVAL);
}

static void test_init_limits(void **state)
{
	struct jr_scratch sc;
	char *five[] = { "/a=1G", "/b=1G", "/c=1G", "/d=1G", "/e=1G", NULL };
	char *twice[] = { "/a=1G", "/a/=2G", NULL };

	(void)state;
	assert_int_equal(jr_scratch_init(&sc, NULL), 0);
	assert_int_equal(sc.count, 0);
	assert_int_equal(jr_scratch_init(&sc, five), -EINVAL);
	assert_int_equal(jr_scratch_init(&sc, twice), -EINVAL);
	five[4] = NULL;
	assert_int_equal(jr_scratch_init(&sc, five), 0);
	assert_int_equal(sc.count, 4);
}

struct fixture {
	char dir[128], decl[160], root[200], outside[200];
	char *decls[2];
	struct jr_scratch sc;
};

static int setup(void **state)
{
	static struct fixture f;

	memset(&f, 0, sizeof(f));
	if (jrt_dir_make(f.dir, sizeof(f.dir), NULL, "scratch") < 0)
		return -1;
	snprintf(f.decl, sizeof(f.decl), "%s=1G", f.dir);
	snprintf(f.root, sizeof(f.root), "%s/jobring", f.dir);
	snprintf(f.outside, sizeof(f.outside), "%s/outside", f.dir);
	mkdir(f.outside, 0755);
	f.decls[0] = f.decl;
	if (jr_scratch_init(&f.sc, f.decls) < 0 || jr_scratch_open(&f.sc, NULL) < 0)
		return -1;
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	jr_scratch_close(&f->sc);
	return jrt_dir_remove(f->dir);
}

static void put_file(const char *dir, const char *name)
{
	char p[600];
	int fd;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	fd = open(p, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "x", 1), 1);
	close(fd);
}

static bool exists(const char *p)
{
	struct stat st;

	return lstat(p, &st) == 0;
}

static size_t entries(const char *dir)
{
	char cmd[300];
	FILE *f;
	size_t n = 0;
	char line[256];

	snprintf(cmd, sizeof(cmd), "ls -A '%s'", dir);
	f = popen(cmd, "r");
	while (f && fgets(line, sizeof(line), f))
		n++;
	if (f)
		pclose(f);
	return n;
}

static void test_make_and_remove(void **state)
{
	struct fixture *f = *state;
	char path[300], deep[8192], link[600];
	struct stat st;

	assert_int_equal(stat(f->root, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0711);
	assert_int_equal(jr_scratch_make(&f->sc, 0, 0x1234, false, 0, 0, path, sizeof(path)), 0);
	snprintf(deep, sizeof(deep), "%s/0000000000001234", f->root);
	assert_string_equal(path, deep);
	assert_int_equal(stat(path, &st), 0);
	assert_true(S_ISDIR(st.st_mode) && (st.st_mode & 07777) == 0700);
	/* What a job leaves: a tree 300 deep (beyond any recursion a
	 * descriptor a level could afford), files, and links out. */
	put_file(f->outside, "keep");
	snprintf(deep, sizeof(deep), "%s", path);
	for (int i = 0; i < 300; i++) {
		size_t len = strlen(deep);
		snprintf(deep + len, sizeof(deep) - len, "/d");
		assert_int_equal(mkdir(deep, 0700), 0);
		if (i % 50 == 0)
			put_file(deep, "f");
	}
	snprintf(link, sizeof(link), "%s/out", path);
	assert_int_equal(symlink(f->outside, link), 0);
	snprintf(link, sizeof(link), "%s/d/keep", path);
	snprintf(deep, sizeof(deep), "%s/keep", f->outside);
	assert_int_equal(symlink(deep, link), 0);
	assert_int_equal(jr_scratch_remove(&f->sc, 0x1234), 0);
	assert_false(exists(path));
	assert_int_equal(entries(f->root), 0);	/* the moved-up levels too */
	assert_true(exists(deep));		/* links were not followed */
	assert_int_equal(entries(f->outside), 1);
	assert_int_equal(jr_scratch_remove(&f->sc, 0x1234), 0);	/* gone: fine */
}

static void test_make_again_clears(void **state)
{
	struct fixture *f = *state;
	char path[300], sub[400];

	assert_int_equal(jr_scratch_make(&f->sc, 0, 7, false, 0, 0, path, sizeof(path)), 0);
	snprintf(sub, sizeof(sub), "%s/sub", path);
	assert_int_equal(mkdir(sub, 0700), 0);
	put_file(sub, "old");
	/* A restart: the next attempt gets a fresh directory. */
	assert_int_equal(jr_scratch_make(&f->sc, 0, 7, false, 0, 0, path, sizeof(path)), 0);
	assert_int_equal(entries(path), 0);
	assert_int_equal(entries(f->root), 1);
	assert_int_equal(jr_scratch_remove(&f->sc, 7), 0);
	assert_int_equal(entries(f->root), 0);
}

static bool keep_odd(void *ctx, uint64_t id)
{
	(void)ctx;
	return id & 1;
}

static void test_sweep(void **state)
{
	struct fixture *f = *state;
	char path[300], odd[300], name[400];

	for (uint64_t id = 1; id <= 6; id++)
		assert_int_equal(jr_scratch_make(&f->sc, 0, id, false, 0, 0, path, sizeof(path)), 0);
	snprintf(odd, sizeof(odd), "%s", path);	/* id 6 */
	snprintf(name, sizeof(name), "%s/x", odd);
	assert_int_equal(mkdir(name, 0700), 0);
	/* A removal cut short: a subdirectory moved up, and a stray file. */
	snprintf(name, sizeof(name), "%s/0000000000000004.1", f->root);
	assert_int_equal(mkdir(name, 0700), 0);
	put_file(name, "f");
	put_file(f->root, "not-a-job");
	assert_int_equal(jr_scratch_sweep(&f->sc, keep_odd, NULL) >= 3, true);
	assert_int_equal(entries(f->root), 4);	/* 1, 3, 5 and not-a-job */
	snprintf(name, sizeof(name), "%s/0000000000000003", f->root);
	assert_true(exists(name));
	assert_false(exists(odd));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_init_limits),
		cmocka_unit_test_setup_teardown(test_make_and_remove, setup, teardown),
		cmocka_unit_test_setup_teardown(test_make_again_clears, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sweep, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
