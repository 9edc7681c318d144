/*
 * test_swf.c - Standard Workload Format records (src/sim/swf.c): integer
 * and fractional fields (LANL-CM5's average CPU time reads "489.00"), -1
 * for unknown, short and malformed lines, the header's processor count;
 * and, when ../shared/data/swf is there, every record of the KTH-SP2
 * excerpt parsed (skipped, saying so, when absent).
 */
#include "testutil.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "sim/swf.h"

#define NS 1000000000ull

static void test_fields(void **state)
{
	(void)state;
	struct jr_swf_record r;
	struct jr_sim_job j;
	double wait;

	/* A LANL-CM5 style record: floats among the integers. */
	assert_int_equal(jr_swf_parse_line("    1   0   1473  1536  1024  489.00  -1  1024  3600"
					   "  -1  1  1  1  1  1  -1  -1  -1\n", &r), 0);
	assert_true(r.f[JR_SWF_AVG_CPU] == 489.0);
	assert_int_equal(jr_swf_to_job(&r, &j, &wait), 0);
	assert_int_equal(j.sj.id, 1);
	assert_int_equal(j.req.cpus, 1024);
	assert_true(j.run_ns == 1536 * NS);
	assert_true(j.sj.limit_ns == 3600 * NS);
	assert_true(wait == 1473.0);
	/* Fractions in times; requested processors unknown: allocated used;
	 * requested time unknown: no limit; wait unknown: 0. */
	assert_int_equal(jr_swf_parse_line("2 10.5 -1 2.25 16 -1 -1 -1 -1 -1 1 1 1 1 1 -1 -1 -1",
					   &r), 0);
	assert_int_equal(jr_swf_to_job(&r, &j, &wait), 0);
	assert_true(j.submit_ns == 10500000000ull);
	assert_true(j.run_ns == 2250000000ull);
	assert_int_equal(j.req.cpus, 16);
	assert_true(j.sj.limit_ns == 0);
	assert_true(wait == 0);
	/* Requested processors win over allocated (the scheduler sees them). */
	assert_int_equal(jr_swf_parse_line("3 0 0 5 8 -1 -1 4 60", &r), 0);
	assert_int_equal(jr_swf_to_job(&r, &j, &wait), 0);
	assert_int_equal(j.req.cpus, 4);
	assert_true(r.f[17] == -1);	/* missing trailing fields read -1 */
	/* Exponents and tabs are numbers too. */
	assert_int_equal(jr_swf_parse_line("4\t1e3\t0\t1.5e1\t2", &r), 0);
	assert_int_equal(jr_swf_to_job(&r, &j, &wait), 0);
	assert_true(j.submit_ns == 1000 * NS && j.run_ns == 15 * NS);
}

static void test_unusable_and_malformed(void **state)
{
	(void)state;
	struct jr_swf_record r;
	struct jr_sim_job j;
	double wait;

	assert_int_equal(jr_swf_parse_line("; MaxProcs: 1024\n", &r), 1);
	assert_int_equal(jr_swf_parse_line("\n", &r), 1);
	assert_int_equal(jr_swf_parse_line("", &r), 1);
	assert_int_equal(jr_swf_parse_line("1 2 3", &r), -EINVAL);	/* too short */
	assert_int_equal(jr_swf_parse_line("1 2 x 4 5", &r), -EINVAL);
	assert_int_equal(jr_swf_parse_line("1 2 3 4 5abc", &r), -EINVAL);
	assert_int_equal(jr_swf_parse_line("1 2 3 nan 5", &r), -EINVAL);
	/* Parsed, but nothing to simulate: run time or processors unknown. */
	assert_int_equal(jr_swf_parse_line("5 0 0 -1 4 -1 -1 4 60", &r), 0);
	assert_int_equal(jr_swf_to_job(&r, &j, &wait), -EINVAL);
	assert_int_equal(jr_swf_parse_line("6 0 0 10 -1 -1 -1 -1 60", &r), 0);
	assert_int_equal(jr_swf_to_job(&r, &j, &wait), -EINVAL);
	assert_int_equal(jr_swf_header_procs("; MaxProcs: 1024\n"), 1024);
	assert_int_equal(jr_swf_header_procs(";MaxNodes: 100"), 100);
	assert_int_equal(jr_swf_header_procs("; Note: none"), 0);
	assert_int_equal(jr_swf_header_procs("1 2 3 MaxProcs: 5"), 0);
}

/* Every record of the real excerpt parses (the old parser read only
 * integers: a record with a fraction was skipped). */
static void test_kth_excerpt(void **state)
{
	(void)state;
	const char *base = getenv("JR_SHARED_DATA");
	char path[512], line[1024];
	struct jr_swf_record r;
	struct jr_sim_job j;
	uint64_t records = 0, usable = 0;
	uint32_t procs = 0;
	double wait;
	FILE *f;

	snprintf(path, sizeof(path), "%s/swf/KTH-SP2-1996-2.1-cln.first10k.swf",
		 base ? base : "../shared/data");
	f = fopen(path, "r");
	if (!f) {
		print_message("SKIPPED: %s not found\n", path);
		skip();
	}
	while (fgets(line, sizeof(line), f)) {
		int rc = jr_swf_parse_line(line, &r);
		if (rc == 1) {
			if (!procs)
				procs = jr_swf_header_procs(line);
			continue;
		}
		assert_int_equal(rc, 0);
		records++;
		usable += jr_swf_to_job(&r, &j, &wait) == 0;
	}
	fclose(f);
	print_message("KTH-SP2 excerpt: %lu records, %lu usable, %u processors\n",
		      (unsigned long)records, (unsigned long)usable, procs);
	assert_int_equal(procs, 100);
	assert_int_equal(records, 10000);
	assert_true(usable >= 9900);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fields),
		cmocka_unit_test(test_unusable_and_malformed),
		cmocka_unit_test(test_kth_excerpt),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
