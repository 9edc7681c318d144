/*
 * test_lease.c - the leases of external executions (daemon/state/lease.c):
 * SipHash-2-4 with a 128-bit output against the reference vectors; a
 * lease is 32 hex digits, differs by execution and by key, and only
 * the right one, whole, is valid.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
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

static void test_lease_is_hex_and_checked(void **state)
{
	struct lease_key k, other;
	char a[LEASE_HEX + 1], b[LEASE_HEX + 1], c[LEASE_HEX + 1];

	(void)state;
	assert_int_equal(lease_key_init(&k), 0);
	assert_int_equal(lease_key_init(&other), 0);
	lease_format(&k, 0x0100000100000005ULL, a);
	lease_format(&k, 0x0200000100000005ULL, b);
	lease_format(&other, 0x0100000100000005ULL, c);
	assert_int_equal(strlen(a), LEASE_HEX);
	assert_int_equal(strspn(a, "0123456789abcdef"), LEASE_HEX);
	assert_string_not_equal(a, b);	/* the next attempt */
	assert_string_not_equal(a, c);	/* the next daemon */
	assert_true(lease_valid(&k, 0x0100000100000005ULL, a));
	assert_false(lease_valid(&k, 0x0200000100000005ULL, a));
	assert_false(lease_valid(&other, 0x0100000100000005ULL, a));
	assert_false(lease_valid(&k, 0x0100000100000005ULL, NULL));
	assert_false(lease_valid(&k, 0x0100000100000005ULL, ""));
	a[LEASE_HEX - 1] = '\0';
	assert_false(lease_valid(&k, 0x0100000100000005ULL, a));	/* a prefix */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_siphash128_reference_vectors),
		cmocka_unit_test(test_lease_is_hex_and_checked),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
