/*
 * route.c - the routing table, and a path matched against it. See
 * route.h. The table is in the order of docs/PROTOCOL.md.
 */
#include <stdbool.h>
#include <string.h>

#include "daemon/api/handlers.h"
#include "daemon/api/route.h"

#define HOLD ROUTE_HOLD
#define JOURNALED (ROUTE_ADMIT | ROUTE_HOLD)

const struct route api_routes[] = {
	{ "POST", "/jobs", api_submit_one, JOURNALED, api_submit_one_record },
	{ "GET", "/jobs", api_job_list, 0, NULL },
	{ "POST", "/jobs/batch", api_submit_batch, JOURNALED, api_submit_batch_record },
	{ "GET", "/jobs/{id}", api_job_show, 0, NULL },
	{ "PUT", "/jobs/{id}/cancel", api_job_cancel, HOLD, NULL },
	{ "POST", "/jobs/{id}/cancel", api_job_cancel, HOLD, NULL },
	{ "GET", "/jobs/{id}/logs", api_job_logs, 0, NULL },
	{ "PATCH", "/jobs/{id}", api_job_update, HOLD, NULL },
	{ "PUT", "/jobs/{id}/hold", api_job_hold, HOLD, NULL },
	{ "POST", "/jobs/{id}/hold", api_job_hold, HOLD, NULL },
	{ "PUT", "/jobs/{id}/release", api_job_release, HOLD, NULL },
	{ "POST", "/jobs/{id}/release", api_job_release, HOLD, NULL },
	{ "PUT", "/jobs/{id}/requeue", api_job_requeue, HOLD, NULL },
	{ "POST", "/jobs/{id}/requeue", api_job_requeue, HOLD, NULL },
	{ "POST", "/jobs/{id}/execute", api_job_execute, 0, NULL },
	{ "POST", "/workers/register", api_worker_register, JOURNALED,
	  api_worker_register_record },
	{ "GET", "/workers", api_worker_list, 0, NULL },
	{ "GET", "/workers/{id}", api_worker_show, 0, NULL },
	{ "DELETE", "/workers/{id}", api_worker_remove, JOURNALED, api_worker_remove_record },
	{ "POST", "/workers/{id}/heartbeat", api_worker_heartbeat, 0, NULL },
	{ "POST", "/workers/{id}/claim", api_worker_claim, 0, NULL },
	{ "GET", "/executions", api_execution_list, 0, NULL },
	{ "GET", "/executions/{id}", api_execution_show, 0, NULL },
	{ "GET", "/executions/{id}/logs", api_execution_logs, 0, NULL },
	{ "POST", "/executions/{id}/complete", api_execution_complete, HOLD, NULL },
	{ "POST", "/executions/{id}/progress", api_execution_progress, 0, NULL },
	{ "POST", "/executions/{id}/output", api_execution_output, 0, NULL },
	{ "GET", "/queues", api_queue_list, 0, NULL },
	{ "POST", "/queues", api_queue_create, JOURNALED, api_queue_create_record },
	{ "PATCH", "/queues/{name}", api_queue_update, JOURNALED, api_queue_change_record },
	{ "DELETE", "/queues/{name}", api_queue_delete, JOURNALED, api_queue_change_record },
	{ "GET", "/scheduler", api_scheduler_show, 0, NULL },
	{ "POST", "/scheduler/pause", api_scheduler_pause, HOLD, NULL },
	{ "POST", "/scheduler/resume", api_scheduler_resume, HOLD, NULL },
	{ "GET", "/health", api_health, 0, NULL },
	{ "POST", "/shutdown", api_shutdown, 0, NULL },
	{ "POST", "/snapshot", api_snapshot, 0, NULL },
	{ "GET", "/metrics", api_metrics, 0, NULL },
	{ "GET", "/resources", api_resources, 0, NULL },
	{ "GET", "/events", api_events, 0, NULL },
	{ "GET", "/triggers", api_trigger_list, 0, NULL },
	{ "GET", "/triggers/{name}", api_trigger_show, 0, NULL },
	{ "PUT", "/triggers/{name}", api_trigger_put, JOURNALED, api_trigger_put_record },
	{ "POST", "/triggers/{name}", api_trigger_fire, JOURNALED, api_trigger_fire_record },
	{ "DELETE", "/triggers/{name}", api_trigger_delete, JOURNALED, api_trigger_delete_record },
	{ "POST", "/schedules", api_schedule_create, JOURNALED, api_schedule_record },
	{ "GET", "/schedules", api_schedule_list, 0, NULL },
	{ "GET", "/schedules/{id}", api_schedule_show, 0, NULL },
	{ "PATCH", "/schedules/{id}", api_schedule_update, JOURNALED, api_schedule_record },
	{ "DELETE", "/schedules/{id}", api_schedule_delete, JOURNALED, api_schedule_record },
	{ "POST", "/schedules/{id}/pause", api_schedule_pause, JOURNALED, api_schedule_record },
	{ "POST", "/schedules/{id}/resume", api_schedule_resume, JOURNALED, api_schedule_record },
	{ "POST", "/allocations", api_alloc_add, JOURNALED, api_alloc_add_record },
	{ "GET", "/allocations", api_alloc_list, 0, NULL },
	{ "GET", "/allocations/{id}", api_alloc_show, 0, NULL },
	{ "DELETE", "/allocations/{id}", api_alloc_remove, JOURNALED, api_alloc_remove_record },
	{ "GET", "/", api_web_page, 0, NULL },
	{ "GET", "/ui/{name}", api_web_asset, 0, NULL },
};

const size_t api_routes_count = sizeof(api_routes) / sizeof(api_routes[0]);

/* Does path fit pattern? The {...} segment's text goes to param. */
static bool fits(const char *pattern, const char *path, char *param)
{
	while (*pattern && *path) {
		if (*pattern == '{') {
			size_t n = strcspn(path, "/");
			if (n == 0 || n >= ROUTE_PARAM_MAX)
				return false;
			memcpy(param, path, n);
			param[n] = '\0';
			path += n;
			pattern += strcspn(pattern, "}") + 1;
		} else if (*pattern++ != *path++) {
			return false;
		}
	}
	return *pattern == '\0' && *path == '\0';
}

/* The methods of the rows with this pattern, as an Allow header says. */
static void allowed(const char *pattern, char *out, size_t size)
{
	size_t used = 0;

	out[0] = '\0';
	for (size_t i = 0; i < api_routes_count; i++) {
		const char *m = api_routes[i].method;
		size_t n = strlen(m);
		if (strcmp(api_routes[i].pattern, pattern) != 0 || used + n + 3 > size)
			continue;
		if (used) {
			memcpy(out + used, ", ", 2);
			used += 2;
		}
		memcpy(out + used, m, n + 1);
		used += n;
	}
}

/* The first pattern path fits, with its param, and its row in *row;
 * NULL if none. A pattern "/x..." whose letter x the path does not have
 * there is passed over at once: the external workers' requests come by
 * the tens of thousands a second. */
static const char *pattern_of(const char *path, char *param, size_t *row)
{
	for (size_t i = 0; i < api_routes_count; i++) {
		const char *pat = api_routes[i].pattern;
		param[0] = '\0';
		if (pat[0] == '/' && pat[1] != '{' && (path[0] != '/' || pat[1] != path[1]))
			continue;
		if (fits(pat, path, param)) {
			*row = i;
			return pat;
		}
	}
	param[0] = '\0';
	return NULL;
}

enum route_result route_find(const char *method, const char *path, struct route_match *m)
{
	size_t first = 0;
	const char *pattern = pattern_of(path, m->param, &first);

	m->route = NULL;
	m->allow[0] = '\0';
	if (!pattern)
		return ROUTE_NO_PATH;
	for (size_t i = first; i < api_routes_count; i++)	/* none before fits */
		if (strcmp(api_routes[i].pattern, pattern) == 0 &&
		    strcmp(api_routes[i].method, method) == 0) {
			m->route = &api_routes[i];
			return ROUTE_FOUND;
		}
	allowed(pattern, m->allow, sizeof(m->allow));
	return ROUTE_NO_METHOD;
}
