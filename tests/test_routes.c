/*
 * test_routes.c - jobringd's routing table (src/daemon/api/route.c) and
 * router (api.c) without a daemon: every endpoint docs/PROTOCOL.md
 * documents has its row and every row is documented; each path reaches
 * the handler meant for it with its {id} and the journal flags its
 * answer needs; unknown paths are 404, known paths with another method
 * 405 with the right Allow; a batch's record is sized by its jobs; the
 * query string is parsed once and decoded.
 */
#include "testutil.h"

#include <string.h>
#include <unistd.h>

#include "daemon/api/api.h"
#include "daemon/api/handlers.h"
#include "daemon/api/query.h"
#include "daemon/api/route.h"

#define JOURNALED (ROUTE_ADMIT | ROUTE_HOLD)

struct expect {
	const char *method, *path;
	api_handler *handler;
	uint32_t flags;
	const char *param;
};

static const struct expect expected[] = {
	{ "POST", "/jobs", api_submit_one, JOURNALED, "" },
	{ "GET", "/jobs", api_job_list, 0, "" },
	{ "POST", "/jobs/batch", api_submit_batch, JOURNALED, "" },
	{ "GET", "/jobs/0000000100000002", api_job_show, 0, "0000000100000002" },
	{ "PUT", "/jobs/0000000100000002/cancel", api_job_cancel, ROUTE_HOLD, "0000000100000002" },
	{ "POST", "/jobs/0000000100000002/cancel", api_job_cancel, ROUTE_HOLD, "0000000100000002" },
	{ "GET", "/jobs/0000000100000002/logs", api_job_logs, 0, "0000000100000002" },
	{ "PATCH", "/jobs/0000000100000002", api_job_update, ROUTE_HOLD, "0000000100000002" },
	{ "PUT", "/jobs/0000000100000002/hold", api_job_hold, ROUTE_HOLD, "0000000100000002" },
	{ "POST", "/jobs/0000000100000002/hold", api_job_hold, ROUTE_HOLD, "0000000100000002" },
	{ "PUT", "/jobs/0000000100000002/release", api_job_release, ROUTE_HOLD, "0000000100000002" },
	{ "POST", "/jobs/0000000100000002/release", api_job_release, ROUTE_HOLD,
	  "0000000100000002" },
	{ "PUT", "/jobs/0000000100000002/requeue", api_job_requeue, ROUTE_HOLD, "0000000100000002" },
	{ "POST", "/jobs/0000000100000002/requeue", api_job_requeue, ROUTE_HOLD,
	  "0000000100000002" },
	{ "POST", "/jobs/0000000100000005/execute", api_job_execute, 0, "0000000100000005" },
	{ "POST", "/workers/register", api_worker_register, JOURNALED, "" },
	{ "GET", "/workers", api_worker_list, 0, "" },
	{ "GET", "/workers/w1", api_worker_show, 0, "w1" },
	{ "GET", "/workers/local", api_worker_show, 0, "local" },
	{ "DELETE", "/workers/w3", api_worker_remove, JOURNALED, "w3" },
	{ "POST", "/workers/w12/heartbeat", api_worker_heartbeat, 0, "w12" },
	{ "POST", "/workers/w1/claim", api_worker_claim, 0, "w1" },
	{ "GET", "/executions", api_execution_list, 0, "" },
	{ "GET", "/executions/0100000100000005", api_execution_show, 0, "0100000100000005" },
	{ "GET", "/executions/0200000100000005/logs", api_execution_logs, 0, "0200000100000005" },
	{ "POST", "/executions/0100000100000005/complete", api_execution_complete, ROUTE_HOLD,
	  "0100000100000005" },
	{ "POST", "/executions/0100000100000005/progress", api_execution_progress, 0,
	  "0100000100000005" },
	{ "POST", "/executions/0100000100000005/output", api_execution_output, 0,
	  "0100000100000005" },
	{ "GET", "/queues", api_queue_list, 0, "" },
	{ "POST", "/queues", api_queue_create, JOURNALED, "" },
	{ "PATCH", "/queues/nightly", api_queue_update, JOURNALED, "nightly" },
	{ "DELETE", "/queues/nightly", api_queue_delete, JOURNALED, "nightly" },
	{ "GET", "/scheduler", api_scheduler_show, 0, "" },
	{ "POST", "/scheduler/pause", api_scheduler_pause, ROUTE_HOLD, "" },
	{ "POST", "/scheduler/resume", api_scheduler_resume, ROUTE_HOLD, "" },
	{ "GET", "/health", api_health, 0, "" },
	{ "POST", "/shutdown", api_shutdown, 0, "" },
	{ "POST", "/snapshot", api_snapshot, 0, "" },
	{ "GET", "/metrics", api_metrics, 0, "" },
	{ "GET", "/resources", api_resources, 0, "" },
	{ "GET", "/triggers", api_trigger_list, 0, "" },
	{ "GET", "/triggers/nightly-etl", api_trigger_show, 0, "nightly-etl" },
	{ "PUT", "/triggers/nightly-etl", api_trigger_put, JOURNALED, "nightly-etl" },
	{ "POST", "/triggers/nightly-etl", api_trigger_fire, JOURNALED, "nightly-etl" },
	{ "DELETE", "/triggers/nightly-etl", api_trigger_delete, JOURNALED, "nightly-etl" },
	{ "POST", "/schedules", api_schedule_create, JOURNALED, "" },
	{ "GET", "/schedules", api_schedule_list, 0, "" },
	{ "GET", "/schedules/12", api_schedule_show, 0, "12" },
	{ "PATCH", "/schedules/nightly", api_schedule_update, JOURNALED, "nightly" },
	{ "DELETE", "/schedules/12", api_schedule_delete, JOURNALED, "12" },
	{ "POST", "/schedules/12/pause", api_schedule_pause, JOURNALED, "12" },
	{ "POST", "/schedules/12/resume", api_schedule_resume, JOURNALED, "12" },
	{ "GET", "/events", api_events, 0, "" },
	{ "POST", "/allocations", api_alloc_add, JOURNALED, "" },
	{ "GET", "/allocations", api_alloc_list, 0, "" },
	{ "GET", "/allocations/3", api_alloc_show, 0, "3" },
	{ "DELETE", "/allocations/3", api_alloc_remove, JOURNALED, "3" },
	{ "GET", "/", api_web_page, 0, "" },
	{ "GET", "/ui/app.js", api_web_asset, 0, "app.js" },
};

/* Every row is reached by one of the paths above, and no row is dead. */
static void test_each_path_reaches_its_handler(void **state)
{
	bool hit[64] = { false };

	(void)state;
	assert_true(api_routes_count <= 64);
	for (size_t i = 0; i < sizeof(expected) / sizeof(expected[0]); i++) {
		const struct expect *x = &expected[i];
		struct route_match m;
		printf("%s %s\n", x->method, x->path);
		assert_int_equal(route_find(x->method, x->path, &m), ROUTE_FOUND);
		assert_ptr_equal(m.route->handler, x->handler);
		assert_int_equal(m.route->flags, x->flags);
		assert_string_equal(m.param, x->param);
		/* Admission needs the size of the record. */
		assert_true(!(x->flags & ROUTE_ADMIT) || m.route->record);
		hit[m.route - api_routes] = true;
	}
	for (size_t i = 0; i < api_routes_count; i++)
		assert_true(hit[i]);
}

static void test_unknown_paths_404(void **state)
{
	static const char *const paths[] = {
		"", "/nowhere", "/ui", "/ui/", "/ui/a/b", "/jobs/", "/jobs//logs", "/jobs/a/b/c", "/jobs/a/",
		"/JOBS", "/jobs/a/execute/x", "/workers/w1/fly", "/executions/", "/healthz",
		"/jobs/0123456789012345678901234567890123456789012345678901234567890123/logs",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		struct route_match m;
		printf("%s\n", paths[i]);
		assert_int_equal(route_find("GET", paths[i], &m), ROUTE_NO_PATH);
		assert_null(m.route);
		assert_string_equal(m.param, "");
	}
}

static void test_wrong_method_405_with_allow(void **state)
{
	static const struct { const char *method, *path, *allow; } cases[] = {
		{ "DELETE", "/jobs", "POST, GET" },
		{ "GET", "/jobs/batch", "POST" },
		{ "POST", "/jobs/0000000100000002", "GET, PATCH" },
		{ "GET", "/jobs/0000000100000002/hold", "PUT, POST" },
		{ "GET", "/scheduler/pause", "POST" },
		{ "PATCH", "/jobs/0000000100000002/cancel", "PUT, POST" },
		{ "GET", "/jobs/0000000100000002/execute", "POST" },
		{ "GET", "/workers/register", "POST" },
		{ "PUT", "/workers/w1", "GET, DELETE" },
		{ "GET", "/workers/w1/claim", "POST" },
		{ "PUT", "/executions/0100000100000005/complete", "POST" },
		{ "POST", "/health", "GET" },
		{ "GET", "/shutdown", "POST" },
		{ "DELETE", "/queues", "GET, POST" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct route_match m;
		printf("%s %s\n", cases[i].method, cases[i].path);
		assert_int_equal(route_find(cases[i].method, cases[i].path, &m), ROUTE_NO_METHOD);
		assert_null(m.route);
		assert_string_equal(m.allow, cases[i].allow);
	}
}

/* docs/PROTOCOL.md's headings name every endpoint: "### `GET /jobs/{id}`". */
static size_t documented(char pairs[][96], size_t max)
{
	FILE *f = fopen("docs/PROTOCOL.md", "r");
	char line[512];
	size_t n = 0;

	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "### ", 4) != 0)
			continue;
		for (char *p = strchr(line, '`'); p && n < max; p = strchr(p + 1, '`')) {
			char method[8], path[80];
			if (sscanf(p + 1, "%7[A-Z] %79[^`?]", method, path) == 2) {
				snprintf(pairs[n++], 96, "%s %s", method, path);
				p = strchr(p + 1, '`');	/* the closing quote */
			}
			if (!p)
				break;
		}
	}
	fclose(f);
	return n;
}

static bool in_table(const char *pair)
{
	char row[96];

	for (size_t i = 0; i < api_routes_count; i++) {
		snprintf(row, sizeof(row), "%s %s", api_routes[i].method, api_routes[i].pattern);
		if (strcmp(row, pair) == 0)
			return true;
	}
	return false;
}

static bool in_docs(const char *row, char pairs[][96], size_t n)
{
	/* Documented in prose under PUT: "POST works too". */
	if (strcmp(row, "POST /jobs/{id}/cancel") == 0)
		return true;
	for (size_t i = 0; i < n; i++)
		if (strcmp(pairs[i], row) == 0)
			return true;
	return false;
}

static void test_table_matches_protocol_md(void **state)
{
	static char pairs[64][96];
	size_t n = documented(pairs, 64);
	char row[96];

	(void)state;
	assert_true(n >= 20);
	for (size_t i = 0; i < n; i++) {
		printf("documented: %s\n", pairs[i]);
		assert_true(in_table(pairs[i]));
	}
	for (size_t i = 0; i < api_routes_count; i++) {
		snprintf(row, sizeof(row), "%s %s", api_routes[i].method, api_routes[i].pattern);
		printf("routed: %s\n", row);
		assert_true(in_docs(row, pairs, n));
	}
}

static void test_records_sized_for_admission(void **state)
{
	static const char body[] = "{\"a\":1}\n\n{\"b\":2}\r\n\r\n{\"c\":3}";
	struct request req = { .method = "POST", .body = body, .body_len = sizeof(body) - 1 };
	struct route_record one, three;

	(void)state;
	api_submit_one_record(&req, &one);
	api_submit_batch_record(&req, &three);
	assert_int_equal(one.jobs, 1);
	assert_int_equal(three.jobs, 3);	/* blank lines are no jobs */
	assert_int_equal(one.bytes, durable_submit_bytes(1, req.body_len));
	assert_int_equal(three.bytes, durable_submit_bytes(3, req.body_len));
	assert_true(three.bytes > one.bytes);
}

static void test_query_parsed_once(void **state)
{
	static struct query q;

	(void)state;
	query_parse(&q, "status=queued%2Crunning&limit=10&flag&status=failed&q=a+b%21&empty=");
	assert_string_equal(query_get(&q, "status"), "queued,running");	/* the first */
	assert_string_equal(query_get(&q, "limit"), "10");
	assert_null(query_get(&q, "flag"));	/* no '=' */
	assert_string_equal(query_get(&q, "q"), "a b!");
	assert_string_equal(query_get(&q, "empty"), "");
	assert_null(query_get(&q, "stat"));
	assert_null(query_get(&q, "cursor"));
	query_parse(&q, "");
	assert_int_equal(q.count, 0);
	query_parse(&q, NULL);
	assert_int_equal(q.count, 0);
}

/* The router's own answers need no engine: 404, 405 with Allow, and the
 * 403 of a daemon run by another user. */
static void route_answer(struct api *a, const char *method, const char *path, uid_t uid,
			 struct response *res)
{
	struct request req = { .method = method, .body = "", .uid = uid };
	char p[64];

	snprintf(p, sizeof(p), "%s", path);
	req.path = p;
	req.query = p + strlen(p);
	memset(res, 0, sizeof(*res));
	api_handle(a, &req, res);
}

static void test_router_answers(void **state)
{
	struct api a = { .daemon_uid = getuid() == 0 ? 4242 : getuid() };
	struct response res;

	(void)state;
	route_answer(&a, "GET", "/nowhere", a.daemon_uid, &res);
	assert_int_equal(res.status, 404);
	assert_non_null(strstr(res.body.p, "\"code\":\"not_found\""));
	buf_free(&res.body);
	route_answer(&a, "DELETE", "/jobs", a.daemon_uid, &res);
	assert_int_equal(res.status, 405);
	assert_string_equal(res.allow, "POST, GET");
	assert_non_null(strstr(res.body.p, "\"code\":\"method_not_allowed\""));
	buf_free(&res.body);
	route_answer(&a, "GET", "/health", a.daemon_uid + 1, &res);
	assert_int_equal(res.status, 403);
	assert_non_null(strstr(res.body.p, "\"code\":\"forbidden\""));
	buf_free(&res.body);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_each_path_reaches_its_handler),
		cmocka_unit_test(test_unknown_paths_404),
		cmocka_unit_test(test_wrong_method_405_with_allow),
		cmocka_unit_test(test_table_matches_protocol_md),
		cmocka_unit_test(test_records_sized_for_admission),
		cmocka_unit_test(test_query_parsed_once),
		cmocka_unit_test(test_router_answers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
