/*
 * batch.c - fuzzes POST /jobs/batch (src/daemon/api/submit.c): the input
 * is the NDJSON body, handed to api_submit_batch() as the router would
 * hand it (a root daemon, a user's request): split into lines, each
 * parsed into the JSON arena and checked (jobspec.c), the errors
 * collected, the batch's arrays kept from one input to the next as the
 * daemon keeps them. The engine refuses every submission (fuzz_engine():
 * its restore never ends), so nothing runs and the journal is never
 * needed. The journal record's size is computed first, as the router
 * does before admitting the request. Beyond the sanitizers: the answer
 * is an error with a JSON body (a batch that passed every check is
 * refused by the engine).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "daemon/api/api.h"
#include "daemon/api/handlers.h"
#include "daemon/api/route.h"
#include "daemon/state/jsonarena.h"
#include "daemon/state/state.h"
#include "fuzz.h"
#include "fuzz_engine.h"

static struct api api;
static struct state state;	/* what the checks read of it: not --private */

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	json_arena_install();
	api.engine = fuzz_engine();
	api.st = &state;
	api.daemon_uid = 0;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* The body as the server hands it over: its own copy, not terminated. */
	char *body = malloc(size ? size : 1);
	struct request req = { .method = "POST", .path = "/jobs/batch", .query = "",
			       .uid = 1000, .gid = 1000, .pid = 1 };
	struct response res = { .status = 200 };
	struct api_call call = { .req = &req, .res = &res, .param = "" };
	struct route_record rec = { 0 };
	cJSON *answer;

	if (!body)
		return 0;
	memcpy(body, data, size);
	req.body = body;
	req.body_len = size;
	api_submit_batch_record(&req, &rec);
	api_submit_batch(&api, &call);
	if (res.status < 400 || !res.body.p)
		abort();
	answer = cJSON_ParseWithLength(res.body.p, res.body.len);
	if (!answer) {
		fprintf(stderr, "batch: %d answer is not JSON: %.*s\n", res.status,
			(int)res.body.len, res.body.p);
		abort();
	}
	cJSON_Delete(answer);
	buf_free(&res.body);
	free(body);
	return 0;
}
