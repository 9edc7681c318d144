/*
 * jobspec.c - fuzzes src/daemon/state/jobspec.c: the input is one job's
 * JSON body (POST /jobs), parsed with cJSON and turned into a
 * jr_command_spec against a real engine (queues are looked up in it),
 * once as a user's daemon sees it and once as root's running a user's
 * job. Beyond the sanitizers: a refusal is a 400 or 422 with a code and
 * a message, and an accepted spec has a command or is external.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "daemon/state/jobspec.h"
#include "fuzz.h"
#include "fuzz_engine.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_engine();
	return 0;
}

static void parse_as(const cJSON *o, const struct jobspec_submitter *who)
{
	struct jobspec js;
	struct jobspec_error err = { 0 };

	memset(&js, 0, sizeof(js));
	if (jobspec_parse(fuzz_engine(), o, who, &js, &err)) {
		if (!js.spec.argv && !(js.spec.flags & JR_COMMAND_EXTERNAL))
			abort();
		if (who->switch_user && (!js.spec.run_as_user || js.spec.uid != who->uid))
			abort();
	} else if ((err.status != 400 && err.status != 422 && err.status != 503) || !err.code ||
		   !memchr(err.message, '\0', sizeof(err.message))) {
		fprintf(stderr, "jobspec: refused with %d %s\n", err.status,
			err.code ? err.code : "(no code)");
		abort();
	}
	jobspec_free(&js);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct jobspec_submitter user = { 1000, 1000, false };
	static const struct jobspec_submitter root_for_user = { 1000, 1000, true };
	cJSON *o = cJSON_ParseWithLength((const char *)data, size);

	if (!o)
		return 0;
	parse_as(o, &user);
	parse_as(o, &root_for_user);
	cJSON_Delete(o);
	return 0;
}
