/*
 * recent.c - the completions the daemon answered 200 lately, kept with
 * their leases. A daemon killed just after answering may not have made
 * a completion durable (its END record waits for the next journal
 * write); after its restart it re-attaches that execution to this
 * worker as still running, and a worker that heartbeats would keep it
 * so for ever. So after every reconnection the worker asks which
 * executions the daemon thinks it runs (GET /executions?worker_id=&
 * status=running) and sends again the kept completion of each that it
 * no longer runs. A completion the daemon did keep is not listed (or
 * gets 409 already_finished, harmless).
 */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "worker/worker.h"

void wk_recent_keep(struct wk_ctx *w, const char *exec_id, const char *lease, char *completion)
{
	struct wk_recent *r = &w->recent[w->recent_next++ % JR_ARRAY_SIZE(w->recent)];

	free(r->completion);
	snprintf(r->exec_id, sizeof(r->exec_id), "%s", exec_id);
	snprintf(r->lease, sizeof(r->lease), "%s", lease);
	r->completion = completion;
}

void wk_recent_free(struct wk_ctx *w)
{
	for (size_t i = 0; i < JR_ARRAY_SIZE(w->recent); i++) {
		free(w->recent[i].completion);
		w->recent[i].completion = NULL;
	}
}

static bool running_here(const struct wk_ctx *w, const char *exec_id)
{
	for (uint32_t i = 0; i < w->jobs.count; i++)
		if (strcmp(w->jobs.v[i]->exec_id, exec_id) == 0)
			return true;
	return false;
}

static void send_again(struct wk_ctx *w, const char *exec_id)
{
	for (size_t i = 0; i < JR_ARRAY_SIZE(w->recent); i++) {
		struct wk_recent *r = &w->recent[i];
		char path[96], *body, *resp = NULL;
		int rc;

		if (!r->completion || strcmp(r->exec_id, exec_id) != 0)
			continue;
		snprintf(path, sizeof(path), "/executions/%s/complete", exec_id);
		if (asprintf(&body, "{%s,\"lease\":\"%s\"}", r->completion, r->lease) < 0)
			return;
		rc = wk_link_request(&w->link, "POST", path, body, &resp);
		free(body);
		wk_log("execution %s: the restarted server lost its completion: sent again (%d)",
		       exec_id, rc);
		free(resp);
		return;
	}
}

int wk_recent_recheck(struct wk_ctx *w)
{
	char path[160], *resp = NULL;
	const cJSON *list, *e;
	cJSON *o;
	int rc;

	snprintf(path, sizeof(path), "/executions?worker_id=%s&status=running&limit=1000",
		 w->shared.worker_id);
	rc = wk_link_request(&w->link, "GET", path, NULL, &resp);
	if (rc != 200) {
		free(resp);
		return rc;	/* answered otherwise: nothing to learn */
	}
	o = cJSON_Parse(resp);
	list = cJSON_GetObjectItemCaseSensitive(o, "executions");
	cJSON_ArrayForEach(e, list) {
		const cJSON *id = cJSON_GetObjectItemCaseSensitive(e, "execution_id");
		if (cJSON_IsString(id) && !running_here(w, id->valuestring))
			send_again(w, id->valuestring);
	}
	cJSON_Delete(o);
	free(resp);
	return rc;
}
