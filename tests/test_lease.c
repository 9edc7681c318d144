/*
 * test_lease.c - the leases of external executions (daemon/state/lease.c):
 * SipHash-2-4 with a 128-bit output against the reference vectors; a
 * lease is 32 hex digits, differs by execution, by the attempt's start
 * and by key, and only the right one, whole, is valid; the key file
 * (issue 17): made once 0600, read back the same, refused when it is
 * not the process's, open to others, a link or not a key.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "daemon/state/lease.h"

/* vectors_sip128[0..2], [8] and [15] of github.com/veorq/SipHash (vectors.h):
 * key 00..0f, message 00..(len - 1). */
static void test_siphash128_reference_vectors(void **state)
{
	static const struct { size_t len; uint8_t out[16]; } v[] = {
		{ 0, { 0xa3, 0x81, 0x7f, 0x04, 0xba, 0x25, 0xa8, 0xe6,
		       0x6d, 0xf6, 0x72, 0x14, 0xc7, 0x55, 0x02, 0x93 } },
		{ 1, { 0xda, 0x87, 0xc1, 0xd8, 0x6b, 0x99, 0xaf, 0x44,
		       0x34, 0x76, 0x59, 0x11, 0x9b, 0x22, 0xfc, 0x45 } },
		{ 2, { 0x81, 0x77, 0x22, 0x8d, 0xa4, 0xa4, 0x5d, 0xc7,
		       0xfc, 0xa3, 0x8b, 0xde, 0xf6, 0x0a, 0xff, 0xe4 } },
		{ 8, { 0x3b, 0x62, 0xa9, 0xba, 0x62, 0x58, 0xf5, 0x61,
		       0x0f, 0x83, 0xe2, 0x64, 0xf3, 0x14, 0x97, 0xb4 } },
		{ 15, { 0x54, 0x93, 0xe9, 0x99, 0x33, 0xb0, 0xa8, 0x11,
			0x7e, 0x08, 0xec, 0x0f, 0x97, 0xcf, 0xc3, 0xd9 } },
	};
	uint8_t key[16], msg[64], out[16];

	(void)state;
	for (int i = 0; i < 16; i++)
		key[i] = (uint8_t)i;
	for (int i = 0; i < 64; i++)
		msg[i] = (uint8_t)i;
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		lease_siphash128(key, msg, v[i].len, out);
		assert_memory_equal(out, v[i].out, 16);
	}
}

#define T0 1764590400123456789ULL	/* an attempt's start, ns */

static void test_lease_is_hex_and_checked(void **state)
{
	struct lease_key k, other;
	char a[LEASE_HEX + 1], b[LEASE_HEX + 1], c[LEASE_HEX + 1];

	(void)state;
	assert_int_equal(lease_key_init(&k), 0);
	assert_int_equal(lease_key_init(&other), 0);
	lease_format(&k, 0x0100000100000005ULL, T0, a);
	lease_format(&k, 0x0200000100000005ULL, T0, b);
	lease_format(&other, 0x0100000100000005ULL, T0, c);
	assert_int_equal(strlen(a), LEASE_HEX);
	assert_int_equal(strspn(a, "0123456789abcdef"), LEASE_HEX);
	assert_string_not_equal(a, b);	/* the next attempt */
	assert_string_not_equal(a, c);	/* the next daemon */
	assert_true(lease_valid(&k, 0x0100000100000005ULL, T0, a));
	assert_false(lease_valid(&k, 0x0200000100000005ULL, T0, a));
	assert_false(lease_valid(&other, 0x0100000100000005ULL, T0, a));
	assert_false(lease_valid(&k, 0x0100000100000005ULL, T0, NULL));
	assert_false(lease_valid(&k, 0x0100000100000005ULL, T0, ""));
	assert_false(lease_valid(&k, 0x0100000100000005ULL, T0 + 1, a));	/* another start */
	a[LEASE_HEX - 1] = '\0';
	assert_false(lease_valid(&k, 0x0100000100000005ULL, T0, a));	/* a prefix */
}

/* A scratch state directory. */
static char *scratch_dir(void)
{
	static char dir[64];

	snprintf(dir, sizeof(dir), "/tmp/test_lease.XXXXXX");
	assert_non_null(mkdtemp(dir));
	return dir;
}

static void scratch_remove(const char *dir)
{
	char path[128];

	snprintf(path, sizeof(path), "%s/lease.key", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/lease.key.new", dir);
	unlink(path);
	rmdir(dir);
}

static void test_key_file_made_once_and_read_back(void **state)
{
	struct lease_key a, b;
	char err[256], path[128], la[LEASE_HEX + 1], lb[LEASE_HEX + 1];
	const char *dir = scratch_dir();
	struct stat st;

	(void)state;
	assert_int_equal(lease_key_load(&a, dir, err, sizeof(err)), 1);	/* made */
	snprintf(path, sizeof(path), "%s/lease.key", dir);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(st.st_uid, geteuid());
	assert_int_equal(st.st_size, 33);
	assert_int_equal(lease_key_load(&b, dir, err, sizeof(err)), 0);	/* the next start */
	lease_format(&a, 0x0100000100000005ULL, T0, la);
	lease_format(&b, 0x0100000100000005ULL, T0, lb);
	assert_string_equal(la, lb);
	scratch_remove(dir);
}

static void write_key(const char *dir, const char *text, mode_t mode)
{
	char path[128];
	int fd;

	snprintf(path, sizeof(path), "%s/lease.key", dir);
	unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	assert_int_equal(chmod(path, mode), 0);
}

static void test_key_file_refused(void **state)
{
	static const char good[] = "000102030405060708090a0b0c0d0e0f\n";
	const char *dir = scratch_dir();
	struct lease_key k;
	char err[256], path[128], target[128];

	(void)state;
	write_key(dir, good, 0600);
	assert_int_equal(lease_key_load(&k, dir, err, sizeof(err)), 0);
	assert_true(k.k0 == 0x0706050403020100ULL && k.k1 == 0x0f0e0d0c0b0a0908ULL);
	write_key(dir, good, 0640);	/* readable by the group */
	assert_int_equal(lease_key_load(&k, dir, err, sizeof(err)), -EPERM);
	assert_non_null(strstr(err, "mode 0600"));
	write_key(dir, good, 0604);
	assert_int_equal(lease_key_load(&k, dir, err, sizeof(err)), -EPERM);
	write_key(dir, "000102030405060708090a0b0c0d0e0\n", 0600);	/* short */
	assert_int_equal(lease_key_load(&k, dir, err, sizeof(err)), -EINVAL);
	write_key(dir, "000102030405060708090a0b0c0d0e0g\n", 0600);
	assert_int_equal(lease_key_load(&k, dir, err, sizeof(err)), -EINVAL);
	write_key(dir, "", 0600);
	assert_int_equal(lease_key_load(&k, dir, err, sizeof(err)), -EINVAL);
	/* A link, even to a good key of ours, is not followed. */
	snprintf(path, sizeof(path), "%s/lease.key", dir);
	snprintf(target, sizeof(target), "%s/lease.key.new", dir);
	write_key(dir, good, 0600);
	assert_int_equal(rename(path, target), 0);
	assert_int_equal(symlink(target, path), 0);
	assert_int_equal(lease_key_load(&k, dir, err, sizeof(err)), -EPERM);
	unlink(path);
	unlink(target);
	/* Another uid's file: only root can make one to try. */
	if (geteuid() == 0) {
		write_key(dir, good, 0600);
		assert_int_equal(chown(path, 65534, 65534), 0);
		assert_int_equal(lease_key_load(&k, dir, err, sizeof(err)), -EPERM);
	}
	scratch_remove(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_siphash128_reference_vectors),
		cmocka_unit_test(test_lease_is_hex_and_checked),
		cmocka_unit_test(test_key_file_made_once_and_read_back),
		cmocka_unit_test(test_key_file_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
