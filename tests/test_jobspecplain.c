/*
 * test_jobspecplain - daemon/state/jobspecplain.c against jobspec_parse:
 * every line the plain path takes, the general path (json_parse_checked,
 * jobspec_parse) takes into the same spec, field by field; lines just
 * outside its shape (a key twice, -0, 1.0, int32's limits passed, a
 * 256-byte name, an escape, an empty command, an unknown key, text after)
 * are left to the general path (and "executor" other than "local" or
 * "external"); and it does take the shapes it is for,
 * or it would be dead code. Generated lines: 200,000, a third of them
 * damaged.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <setjmp.h>
#include <cmocka.h>

#include "daemon/state/jobspec.h"
#include "daemon/state/jobspecplain.h"
#include "daemon/state/jsonarena.h"
#include "daemon/state/jsoncheck.h"

static uint64_t rng = 0x2545f4914f6cdd1dull;

static uint32_t rnd(uint32_t n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng % n);
}

static bool same_str(const char *a, const char *b)
{
	return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static bool same_argv(char *const *a, char *const *b)
{
	if (!a || !b)
		return a == b;
	for (; *a && *b; a++, b++)
		if (strcmp(*a, *b) != 0)
			return false;
	return !*a && !*b;
}

/* Every field of the specs: the strings by value, the rest as numbers. */
static bool same_spec(const struct jr_command_spec *p, const struct jr_command_spec *g)
{
	return same_argv(p->argv, g->argv) && same_argv(p->env, g->env) &&
	       same_str(p->cwd, g->cwd) && same_str(p->name, g->name) &&
	       p->priority == g->priority && p->queue_id == g->queue_id && p->cpus == g->cpus &&
	       p->gpus == g->gpus && p->mem_bytes == g->mem_bytes &&
	       same_str(p->resources, g->resources) && same_str(p->capabilities, g->capabilities) &&
	       p->span_numa == g->span_numa && p->use_umask == g->use_umask &&
	       p->umask == g->umask && p->max_retries == g->max_retries && p->after == g->after &&
	       p->after_count == g->after_count && p->timeout_ms == g->timeout_ms &&
	       p->backoff_base_ms == g->backoff_base_ms && p->backoff_max_ms == g->backoff_max_ms &&
	       p->scheduled_at_ns == g->scheduled_at_ns && p->run_as_user == g->run_as_user &&
	       p->uid == g->uid && p->gid == g->gid && p->flags == g->flags &&
	       p->max_output_bytes == g->max_output_bytes && p->shared_env == g->shared_env &&
	       p->after_types == g->after_types && p->throttle_key == g->throttle_key &&
	       p->throttle_max == g->throttle_max && p->array_task_id == g->array_task_id &&
	       p->array_job_id == g->array_job_id;
}

static unsigned long taken, left;

/* The one rule: what the plain path takes, jobspec_parse takes the same. */
static bool check(const char *text, bool switch_user)
{
	struct jobspec_submitter who = { 1000, 1000, switch_user, true, false, NULL };
	struct jobspec p, g;
	struct jobspec_error err;
	size_t len = strlen(text);
	bool plain;

	jobspec_init(&p);
	jobspec_init(&g);
	plain = jobspec_parse_plain(NULL, text, len, &who, &p);
	if (plain) {
		cJSON *tree = json_parse_checked(text, len, &err);
		bool general = tree && jobspec_parse(NULL, tree, &who, &g, &err);
		if (!general || !same_spec(&p.spec, &g.spec)) {
			fprintf(stderr, "plain path took what jobspec_parse %s: %s\n",
				general ? "reads otherwise" : "refuses", text);
			fail();
		}
		assert_null(p.argv);	/* nothing for jobspec_free to free */
		assert_null(p.env);
		assert_null(p.after);
		assert_null(p.array);
		jobspec_free(&g);
		taken++;
	} else {
		left++;
	}
	jobspec_free(&p);
	return plain;
}

static void test_shapes_taken(void **state)
{
	(void)state;
	static const char *const yes[] = {
		"{\"command\":[\"/bin/true\"],\"name\":\"job-1\",\"priority\":3}",
		"{\"command\":[\"/bin/true\"]}",
		"{\"name\":\"x\",\"priority\":-7,\"command\":[\"sh\",\"-c\",\"echo hi\"]}",
		" { \"command\" : [ \"a\" , \"\" ] , \"priority\" : 0 }\r\n",
		"{\"command\":[\"a\"],\"priority\":2147483647}",
		"{\"command\":[\"a\"],\"priority\":-2147483648}",
		"{\"command\":[\"a\"],\"name\":\"\"}",
		"{\"command\":[\"caf\xc3\xa9\"],\"name\":\"\xe2\x82\xac\"}",
		"{\"executor\":\"external\"}",
		"{\"executor\":\"external\",\"command\":[\"x\"],\"name\":\"n\"}",
		"{\"command\":[\"a\"],\"executor\":\"local\",\"priority\":5}",
	};
	for (size_t i = 0; i < sizeof(yes) / sizeof(*yes); i++) {
		if (!check(yes[i], i % 2)) {
			fprintf(stderr, "not taken: %s\n", yes[i]);
			fail();
		}
	}
}

static void test_edges_left(void **state)
{
	(void)state;
	static const char *const no[] = {
		"{\"command\":[\"a\"],\"command\":[\"b\"]}",
		"{\"command\":[\"a\"],\"name\":\"x\",\"name\":\"y\"}",
		"{\"command\":[\"a\"],\"priority\":1,\"priority\":2}",
		"{\"command\":[\"a\"],\"priority\":-0}",
		"{\"command\":[\"a\"],\"priority\":1.0}",
		"{\"command\":[\"a\"],\"priority\":1e2}",
		"{\"command\":[\"a\"],\"priority\":007}",
		"{\"command\":[\"a\"],\"priority\":2147483648}",
		"{\"command\":[\"a\"],\"priority\":-2147483649}",
		"{\"command\":[\"a\"],\"priority\":\"3\"}",
		"{\"command\":[\"a\\\"b\"]}",
		"{\"command\":[\"a\\u0041\"]}",
		"{\"command\":[\"a\tb\"]}",
		"{\"command\":[]}",
		"{\"command\":[\"\"]}",
		"{\"command\":\"a\"}",
		"{\"command\":[\"a\",1]}",
		"{\"command\":[\"a\"],\"queue\":\"default\"}",
		"{\"command\":[\"a\"],}",
		"{\"command\":[\"a\",]}",
		"{\"command\":[\"a\"]} x",
		"{\"command\":[\"a\"]}{}",
		"{\"name\":\"x\"}",
		"{}",
		"[]",
		"",
		"{\"command\":[\"a\"]",
		"{\"comm\\u0061nd\":[\"a\"]}",
		"{\"command\" [\"a\"]}",
		"{\"command\":[\"a\"],\"Name\":\"x\"}",
		"{\"executor\":\"local\"}",
		"{\"executor\":\"remote\",\"command\":[\"a\"]}",
		"{\"executor\":\"External\"}",
		"{\"executor\":\"external\",\"executor\":\"external\"}",
		"{\"executor\":1,\"command\":[\"a\"]}",
		"{\"executor\":\"external\",\"command\":[]}",
	};
	for (size_t i = 0; i < sizeof(no) / sizeof(*no); i++) {
		if (check(no[i], false)) {
			fprintf(stderr, "taken, but it is the general path's: %s\n", no[i]);
			fail();
		}
	}
	/* The limits: 64 arguments and 255 bytes of name are its; 65 and 256 not. */
	char line[8192], *w;
	for (int args = 63; args <= 65; args++) {
		w = line + sprintf(line, "{\"command\":[");
		for (int i = 0; i < args; i++)
			w += sprintf(w, "%s\"a%d\"", i ? "," : "", i);
		sprintf(w, "]}");
		assert_int_equal(check(line, false), args <= JOBSPEC_PLAIN_ARGS);
	}
	for (int n = 254; n <= 257; n++) {
		w = line + sprintf(line, "{\"command\":[\"a\"],\"name\":\"");
		memset(w, 'n', (size_t)n);
		sprintf(w + n, "\"}");
		assert_int_equal(check(line, false), n < (int)JR_NAME_MAX);
	}
}

/* A random string value: mostly plain, sometimes an escape, a control
 * byte, UTF-8 or nothing. */
static int gen_string(char *w)
{
	static const char *const odd[] = { "\\n", "\\\"", "\\u00e9", "\t", "\xc3\xa9", "" };
	int n = 0, len = (int)rnd(12);

	w[n++] = '"';
	for (int i = 0; i < len; i++) {
		if (rnd(40) == 0)
			n += sprintf(w + n, "%s", odd[rnd(6)]);
		else
			w[n++] = "abcdefghij-_/.0123456789 XYZ"[rnd(28)];
	}
	w[n++] = '"';
	return n;
}

static int gen_number(char *w)
{
	static const char *const odd[] = { "-0", "1.5", "1e3", "007", "2147483648", "-2147483649",
					   "2147483647", "-2147483648", "99999999999", "0" };
	if (rnd(4) == 0)
		return sprintf(w, "%s", odd[rnd(10)]);
	return sprintf(w, "%d", (int)rnd(2000) - 1000);
}

static int gen_space(char *w)
{
	static const char *const sp[] = { "", "", "", " ", "\t", "\r\n", "  " };

	return sprintf(w, "%s", sp[rnd(7)]);
}

static int gen_value(char *w, const char *key)
{
	int n = 0, k;

	switch (rnd(16)) {
	case 0: return gen_string(w);
	case 1: return gen_number(w);
	case 2: return sprintf(w, "%s", rnd(2) ? "true" : "null");
	default: break;
	}
	if (strcmp(key, "command") == 0 || rnd(4) == 0) {
		w[n++] = '[';
		k = (int)rnd(rnd(10) == 0 ? 70 : 4);
		for (int i = 0; i < k; i++) {
			if (i)
				w[n++] = ',';
			n += gen_space(w + n);
			n += rnd(30) ? gen_string(w + n) : gen_number(w + n);
		}
		w[n++] = ']';
		return n;
	}
	if (strcmp(key, "executor") == 0 && rnd(4))
		return sprintf(w, "\"%s\"", rnd(3) ? "external" : rnd(2) ? "local" : "remote");
	return strcmp(key, "priority") == 0 ? gen_number(w) : gen_string(w);
}

static void generate(char *w)
{
	static const char *const keys[] = { "command", "name", "priority", "command", "name",
					    "priority", "queue", "timeout", "Command", "executor" };
	int n = 0, fields = 1 + (int)rnd(4);

	n += gen_space(w + n);
	w[n++] = '{';
	for (int i = 0; i < fields; i++) {
		const char *k = i == 0 && rnd(4) ? "command" : keys[rnd(10)];
		if (i)
			w[n++] = ',';
		n += gen_space(w + n);
		n += sprintf(w + n, "\"%s\"", k);
		n += gen_space(w + n);
		w[n++] = ':';
		n += gen_space(w + n);
		n += gen_value(w + n, k);
		n += gen_space(w + n);
	}
	w[n++] = '}';
	n += gen_space(w + n);
	w[n] = '\0';
	if (rnd(3) == 0 && n > 1) {	/* damaged: a byte cut, doubled or changed */
		int at = (int)rnd((uint32_t)n);
		switch (rnd(3)) {
		case 0: memmove(w + at, w + at + 1, (size_t)(n - at)); break;
		case 1: memmove(w + at + 1, w + at, (size_t)(n - at + 1)); break;
		default: w[at] = ",:[]{}\"0 -"[rnd(10)]; break;
		}
	}
}

static void test_generated(void **state)
{
	(void)state;
	char line[16384];

	taken = left = 0;
	for (int i = 0; i < 200000; i++) {
		generate(line);
		check(line, rnd(2));
		if (i % 1000 == 999)
			json_arena_reset();	/* as a batch does */
	}
	fprintf(stderr, "generated: %lu taken by the plain path, %lu left to jobspec_parse\n",
		taken, left);
	assert_true(taken > 10000);	/* it takes the lines it is for */
	assert_true(left > 10000);
}

static int setup(void **state)
{
	(void)state;
	json_arena_install();
	json_arena_begin();
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_shapes_taken),
		cmocka_unit_test(test_edges_left),
		cmocka_unit_test(test_generated),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
