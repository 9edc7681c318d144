/*
 * test_alloc.c - allocation queues without a daemon or Slurm (issue 17;
 * daemon/state/alloc.c, bgcmd.c): definitions parsed and refused, the
 * journal's records applied (a queue, its Slurm jobs submitted and
 * ended, a removal), a snapshot's records read back into an equal state
 * followed by the journal's (no job counted twice), and a background
 * command's output, exit status and deadline.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include <cjson/cJSON.h>

#include "base/common.h"
#include "daemon/state/alloc.h"
#include "daemon/state/allocrec.h"

static bool parse(const char *json, struct alloc_params *p, char *why)
{
	cJSON *o = cJSON_Parse(json);
	bool ok = allocs_parse(o, p, why, 256);

	cJSON_Delete(o);
	return ok;
}

static void test_definitions(void **state)
{
	struct alloc_params p;
	char why[256];

	(void)state;
	assert_true(parse("{\"kind\":\"slurm\",\"partition\":\"batch\",\"nodes\":4,\"time\":\"1:00:00\","
			  "\"max_pending\":3,\"idle_timeout\":60,\"sbatch_args\":[\"--qos=x\",\"-A\"]}",
			  &p, why));
	assert_string_equal(p.partition, "batch");
	assert_int_equal(p.nodes, 4);
	assert_int_equal(p.max_pending, 3);
	assert_int_equal(p.idle_timeout_s, 60);
	assert_int_equal(p.sbatch_arg_count, 2);
	assert_string_equal(p.sbatch_args[1], "-A");
	assert_null(p.worker_command);
	allocs_params_free(&p);
	assert_true(parse("{\"time\":\"5\"}", &p, why));	/* defaults */
	assert_int_equal(p.nodes, 1);
	assert_int_equal(p.max_pending, 1);
	assert_int_equal(p.idle_timeout_s, 300);
	assert_string_equal(p.partition, "");
	allocs_params_free(&p);
	assert_false(parse("{}", &p, why));
	assert_non_null(strstr(why, "time"));
	assert_false(parse("{\"time\":\"5\",\"kind\":\"pbs\"}", &p, why));
	assert_false(parse("{\"time\":\"5\",\"x\":1}", &p, why));
	assert_non_null(strstr(why, "unknown field x"));
	assert_false(parse("{\"time\":\"5 ; rm\"}", &p, why));
	assert_false(parse("{\"time\":\"5\",\"partition\":\"a'b\"}", &p, why));
	assert_false(parse("{\"time\":\"5\",\"nodes\":1.5}", &p, why));
	assert_false(parse("{\"time\":\"5\",\"max_pending\":65}", &p, why));
	assert_false(parse("{\"time\":\"5\",\"sbatch_args\":[1]}", &p, why));
	assert_false(parse("{\"time\":\"5\",\"sbatch_args\":[\"\"]}", &p, why));
	assert_false(parse("[]", &p, why));
}

/* A REC_ALLOC's bytes for id with def. */
static uint32_t alloc_rec(uint8_t *buf, uint32_t id, const char *def)
{
	struct rec_alloc r = { .id = id, .uid = 1000, .created_ns = 42, .next_id = id + 1,
			       .def_len = (uint32_t)strlen(def) };

	memcpy(buf, &r, sizeof(r));
	memcpy(buf + sizeof(r), def, r.def_len);
	return (uint32_t)sizeof(r) + r.def_len;
}

static void job_rec(struct allocs *a, uint32_t id, uint32_t op, uint64_t slurm_id)
{
	struct rec_alloc_job r = { .alloc_id = id, .op = op, .slurm_id = slurm_id, .time_ns = 7 };

	assert_int_equal(allocs_apply(a, REC_ALLOC_JOB, &r, sizeof(r)), 0);
}

/* What a node holds: sinfo's lines read (lines that lie or are cut are
 * skipped, GRES forms, the default partition), declared values over them. */
static void test_node(void **state)
{
	struct alloc_node n;
	struct alloc_params p;
	char why[256];

	(void)state;
	assert_true(alloc_node_read("batch* 2 8 64000 gpu:a100:4(S:0-1),mps:100\n"
				    "batch* 1 4 128000 (null)\n"
				    "gpu 2 32 512000 gpu:8\n", false, &n));
	assert_true(n.known);
	assert_int_equal(n.cpus, 64);
	assert_int_equal(n.gpus, 8);
	assert_true(n.mem_bytes == 512000ull << 20);
	assert_true(alloc_node_read("batch* 2 8 64000 gpu:a100:4(S:0-1)\ngpu 2 32 512000 gpu:8\n",
				    true, &n));
	assert_int_equal(n.cpus, 16);	/* the default partition's only */
	assert_int_equal(n.gpus, 4);
	/* Lies: a cut line, zero cores, a huge GRES count, a line that would
	 * borrow its fields from the next, memory past 2^64 bytes. */
	assert_false(alloc_node_read("batch 2\n3 4 5\nx 0 4 100 (null)\n", false, &n));
	assert_true(alloc_node_read("x 1 2 99999999999999999 gpu:99999999999,gpu:x:5,gpu,gpu:\n",
				    false, &n));
	assert_int_equal(n.cpus, 2);
	assert_int_equal(n.gpus, 64);
	assert_true(n.mem_bytes == (1ull << 63));
	/* RealMemory 1 (not configured): memory not judged. */
	assert_true(alloc_node_read("x 1 2 1 (null)\n", false, &n));
	assert_true(n.mem_bytes == UINT64_MAX);
	assert_false(alloc_node_read("", false, &n));
	/* Declared values win; those not declared stay sinfo's. */
	assert_true(parse("{\"time\":\"5\",\"worker_cpus\":6,\"worker_gpus\":0}", &p, why));
	assert_false(allocs_shape_declared(&p));
	assert_true(alloc_node_read("x 1 2 1000 gpu:2\n", false, &n));
	alloc_node_declared(&p, &n);
	assert_int_equal(n.cpus, 6);
	assert_int_equal(n.gpus, 0);
	assert_true(n.mem_bytes == 1000ull << 20);
	allocs_params_free(&p);
	assert_true(parse("{\"time\":\"5\",\"worker_cpus\":6,\"worker_gpus\":1,"
			  "\"worker_memory\":\"2G\",\"worker_capabilities\":\"a,b\"}", &p, why));
	assert_true(allocs_shape_declared(&p));
	assert_string_equal(p.worker_capabilities, "a,b");
	allocs_params_free(&p);
	assert_false(parse("{\"time\":\"5\",\"worker_memory\":\"9P\"}", &p, why));
	assert_false(parse("{\"time\":\"5\",\"worker_cpus\":0}", &p, why));
}

static void test_records(void **state)
{
	struct allocs a;
	uint8_t buf[512];
	uint32_t n;
	struct rec_alloc_delete del = { .id = 1 };

	(void)state;
	allocs_init(&a);
	n = alloc_rec(buf, 1, "{\"time\":\"5\",\"nodes\":2}");
	assert_int_equal(allocs_apply(&a, REC_ALLOC, buf, n), 0);
	assert_int_equal(allocs_apply(&a, REC_ALLOC, buf, n - 1), -EPROTO);	/* def_len wrong */
	assert_int_equal(allocs_count(&a), 1);
	assert_int_equal(a.next_id, 2);
	job_rec(&a, 1, REC_ALLOC_JOB_SUBMITTED, 100);
	job_rec(&a, 1, REC_ALLOC_JOB_SUBMITTED, 101);
	job_rec(&a, 1, REC_ALLOC_JOB_SUBMITTED, 101);	/* read twice: once */
	job_rec(&a, 9, REC_ALLOC_JOB_SUBMITTED, 5);	/* a removed queue's: skipped */
	struct alloc_queue *q = allocs_find(&a, 1);
	assert_non_null(q);
	assert_int_equal(q->job_count, 2);
	assert_int_equal(q->submitted, 2);
	job_rec(&a, 1, REC_ALLOC_JOB_ENDED, 100);
	assert_int_equal(q->job_count, 1);
	assert_int_equal(q->jobs[0].slurm_id, 101);
	assert_int_equal(q->ended, 1);
	assert_int_equal(q->p.nodes, 2);
	assert_int_equal(allocs_apply(&a, REC_ALLOC_DELETE, &del, sizeof(del)), 0);
	assert_int_equal(allocs_count(&a), 0);
	allocs_destroy(&a);
}

/* A snapshot's put: the records applied to another state. */
static int put_into(void *ctx, uint16_t type, const void *head, size_t head_len,
		    const void *tail, size_t tail_len)
{
	uint8_t buf[4096];

	assert_true(head_len + tail_len <= sizeof(buf));
	memcpy(buf, head, head_len);
	if (tail_len)
		memcpy(buf + head_len, tail, tail_len);
	return allocs_apply(ctx, type, buf, (uint32_t)(head_len + tail_len));
}

static void test_snapshot_round_trip(void **state)
{
	struct allocs a, b;
	uint8_t buf[512];
	cJSON *va, *vb;
	char *ta, *tb;

	(void)state;
	allocs_init(&a);
	allocs_init(&b);
	assert_int_equal(allocs_apply(&a, REC_ALLOC, buf,
				      alloc_rec(buf, 3, "{\"time\":\"5\",\"partition\":\"p\"}")), 0);
	job_rec(&a, 3, REC_ALLOC_JOB_SUBMITTED, 1);
	job_rec(&a, 3, REC_ALLOC_JOB_SUBMITTED, 2);
	job_rec(&a, 3, REC_ALLOC_JOB_ENDED, 1);
	assert_int_equal(allocs_write(&a, put_into, &b), 0);
	va = allocs_view(allocs_find(&a, 3), 0);
	vb = allocs_view(allocs_find(&b, 3), 0);
	cJSON_DeleteItemFromObject(va, "created");
	cJSON_DeleteItemFromObject(vb, "created");
	ta = cJSON_PrintUnformatted(va);
	tb = cJSON_PrintUnformatted(vb);
	assert_string_equal(ta, tb);	/* counters too: submitted 2, ended 1 */
	assert_non_null(strstr(ta, "\"submitted\":2,\"ended\":1"));
	assert_int_equal(b.next_id, 4);
	/* The journal after the snapshot: a job submitted again is not counted again. */
	job_rec(&b, 3, REC_ALLOC_JOB_SUBMITTED, 2);
	assert_int_equal(allocs_find(&b, 3)->submitted, 2);
	free(ta);
	free(tb);
	cJSON_Delete(va);
	cJSON_Delete(vb);
	allocs_destroy(&a);
	allocs_destroy(&b);
}

static int run(struct bgcmd *c, char *const argv[], uint64_t timeout_ms)
{
	int status = 0;

	assert_int_equal(bgcmd_start(c, argv, timeout_ms), 0);
	for (int i = 0; i < 1000 && bgcmd_poll(c, &status) == 0; i++)
		usleep(10000);
	assert_int_equal(c->pid, 0);
	return status;
}

static void test_bgcmd(void **state)
{
	struct bgcmd c;
	char *echo[] = { "sh", "-c", "echo out; echo err >&2; exit 3", NULL };
	char *big[] = { "sh", "-c", "head -c 100000 /dev/zero | tr '\\0' x", NULL };
	char *slow[] = { "sleep", "10", NULL };
	char *none[] = { "/nonexistent/program", NULL };
	uint64_t t0;

	(void)state;
	assert_int_equal(run(&c, echo, 5000), 3);
	assert_non_null(strstr(c.out, "out\n"));
	assert_non_null(strstr(c.out, "err\n"));
	assert_int_equal(run(&c, big, 5000), 0);	/* the rest read and dropped */
	assert_int_equal(c.len, BGCMD_OUT_MAX);
	t0 = jr_now_monotonic_ns();
	assert_int_equal(run(&c, slow, 200), -1);	/* past its deadline */
	assert_true(c.killed);
	assert_true(jr_now_monotonic_ns() - t0 < 5 * JR_NS_PER_SEC);
	assert_int_not_equal(bgcmd_start(&c, none, 100), 0);	/* nothing started */
	bgcmd_kill(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_definitions),
		cmocka_unit_test(test_node),
		cmocka_unit_test(test_records),
		cmocka_unit_test(test_snapshot_round_trip),
		cmocka_unit_test(test_bgcmd),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
