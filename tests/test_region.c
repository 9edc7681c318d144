/*
 * test_region.c - the shared-memory region: layout bounds, attach
 * validation (corrupt and foreign headers, damaged rings), large tables.
 */
#include "testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "base/crc32c.h"
#include "shm/region.h"

static struct jr_region_geometry default_geo(void)
{
	struct jr_region_geometry g = { JR_CAPACITY_DEFAULT,
					(uint64_t)JR_CAPACITY_DEFAULT * 16 };
	return g;
}

static void test_bytes_per_job_bounded(void **state)
{
	(void)state;
	struct jr_region_geometry g = default_geo();
	uint64_t bytes = jr_region_size(&g);

	/* Slot + one ring entry per level + free ring entry + arena share,
	 * plus fixed overhead spread over a million slots. */
	assert_true(bytes / g.capacity <= 128);
}

static void test_attach_accepts_own_region(void **state)
{
	(void)state;
	struct jr_region_geometry g = { 1024, 1024 * 16 };
	struct jr_region a, b;

	assert_int_equal(jr_region_create(&a, &g), 0);
	assert_int_equal(jr_region_attach(&b, a.fd), 0);
	assert_int_equal(b.hdr->capacity, 1024);
	/* Both views are the same memory. */
	a.slots[5].result = 42;
	assert_int_equal(b.slots[5].result, 42);
	jr_region_unmap(&b);
	jr_region_unmap(&a);
}

/* Overwrite len bytes at off in the region's file, then try to attach. */
static int attach_after_write(struct jr_region *a, off_t off, const void *bytes,
			      size_t len)
{
	struct jr_region b;
	int rc;

	assert_int_equal(pwrite(a->fd, bytes, len, off), (ssize_t)len);
	rc = jr_region_attach(&b, a->fd);
	if (rc == 0)
		jr_region_unmap(&b);
	return rc;
}

static void test_attach_rejects_foreign_magic(void **state)
{
	(void)state;
	struct jr_region_geometry g = { 1024, 1024 * 16 };
	struct jr_region a;

	assert_int_equal(jr_region_create(&a, &g), 0);
	assert_int_equal(attach_after_write(&a, 0, "NOTJOBR", 8), -EPROTO);
	jr_region_unmap(&a);
}

static void test_attach_rejects_other_version(void **state)
{
	(void)state;
	struct jr_region_geometry g = { 1024, 1024 * 16 };
	struct jr_region a;
	uint32_t v = JR_REGION_VERSION + 1;

	assert_int_equal(jr_region_create(&a, &g), 0);
	assert_int_equal(attach_after_write(&a, 8, &v, sizeof(v)), -EPROTO);
	jr_region_unmap(&a);
}

static void test_attach_rejects_corrupt_geometry(void **state)
{
	(void)state;
	struct jr_region_geometry g = { 1024, 1024 * 16 };
	struct jr_region a;
	uint32_t cap = 4096;

	assert_int_equal(jr_region_create(&a, &g), 0);
	/* capacity changed, CRC not: the CRC catches it. */
	assert_int_equal(attach_after_write(&a, offsetof(struct jr_region_header,
							 capacity),
					    &cap, sizeof(cap)),
			 -EBADMSG);
	jr_region_unmap(&a);
}

static void test_attach_rejects_inconsistent_layout(void **state)
{
	(void)state;
	struct jr_region_geometry g = { 1024, 1024 * 16 };
	struct jr_region a;
	struct jr_region_header h;

	assert_int_equal(jr_region_create(&a, &g), 0);
	/* A header with a valid CRC but an offset this build would not
	 * produce: rejected on the layout check. */
	h = *a.hdr;
	h.off_slots += 64;
	h.layout_crc = jr_crc32c(0, &h, offsetof(struct jr_region_header, layout_crc));
	assert_int_equal(attach_after_write(&a, 0, &h, sizeof(h)), -EBADMSG);
	jr_region_unmap(&a);
}

static void test_attach_rejects_damaged_ring(void **state)
{
	(void)state;
	struct jr_region_geometry g = { 1024, 1024 * 16 };
	struct jr_region a;
	uint32_t bad_size = 1000;	/* not a power of two */

	assert_int_equal(jr_region_create(&a, &g), 0);
	assert_int_equal(attach_after_write(&a, (off_t)a.hdr->off_prio_rings +
							offsetof(struct ck_ring, size),
					    &bad_size, sizeof(bad_size)),
			 -EBADMSG);
	jr_region_unmap(&a);
}

static void test_attach_rejects_random_file(void **state)
{
	(void)state;
	char path[] = "/tmp/jr-foreign-XXXXXX";
	int fd = mkstemp(path);
	char junk[8192];
	struct jr_region b;

	assert_true(fd >= 0);
	unlink(path);
	for (size_t i = 0; i < sizeof(junk); i++)
		junk[i] = (char)(i * 131 + 7);
	assert_int_equal(write(fd, junk, sizeof(junk)), (ssize_t)sizeof(junk));
	assert_int_equal(jr_region_attach(&b, fd), -EPROTO);
	assert_int_equal(ftruncate(fd, 16), 0);
	assert_int_equal(jr_region_attach(&b, fd), -EPROTO);
	close(fd);
}

static int count_job(void *arg, const struct jr_job_ctx *ctx)
{
	(void)ctx;
	__atomic_fetch_add((uint64_t *)arg, 1, __ATOMIC_RELAXED);
	return 0;
}

/* A 16M-slot table opens, runs jobs and closes. */
static void test_sixteen_million_slots(void **state)
{
	(void)state;
	struct jr_engine *e = test_engine(2, 1u << 24, 0);
	struct jr_job_spec spec = { count_job, NULL, 3, 0, NULL };
	uint64_t ran = 0;
	struct jr_stats st;

	spec.arg = &ran;
	for (int i = 0; i < 1000; i++)
		assert_int_equal(jr_job_submit(e, &spec, NULL), 0);
	assert_int_equal(jr_engine_wait_all(e), 0);
	assert_int_equal(jr_engine_stats(e, &st), 0);
	assert_int_equal(st.capacity, 1u << 24);
	assert_int_equal(ran, 1000);
	assert_int_equal(jr_engine_close(e, JR_CLOSE_DRAIN), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bytes_per_job_bounded),
		cmocka_unit_test(test_attach_accepts_own_region),
		cmocka_unit_test(test_attach_rejects_foreign_magic),
		cmocka_unit_test(test_attach_rejects_other_version),
		cmocka_unit_test(test_attach_rejects_corrupt_geometry),
		cmocka_unit_test(test_attach_rejects_inconsistent_layout),
		cmocka_unit_test(test_attach_rejects_damaged_ring),
		cmocka_unit_test(test_attach_rejects_random_file),
		cmocka_unit_test(test_sixteen_million_slots),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
