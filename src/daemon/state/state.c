/*
 * state.c - the state the API serves, made and unmade. See state.h.
 */
#include <errno.h>
#include <string.h>

#include "base/common.h"
#include "daemon/state/schedules.h"
#include "daemon/state/state.h"

int state_init(struct state *s, struct jr_engine *e, uint32_t capacity,
	       uint64_t heartbeat_timeout_ms, const char *local_capabilities)
{
	int rc;

	memset(s, 0, sizeof(*s));
	s->engine = e;
	s->local_capabilities = local_capabilities ? local_capabilities : "";
	s->started_ns = jr_now_realtime_ns();
	triggers_init(&s->triggers);
	allocs_init(&s->allocs);	/* issue 17 */
	rc = submitted_init(&s->jobs, capacity);
	s->jobs.engine = e;	/* the index reads jobs from it */
	if (rc == 0)
		rc = workers_init(&s->workers, heartbeat_timeout_ms);
	if (rc == 0)
		rc = executions_init(&s->execs, capacity);
	if (rc == 0 && !(s->events = events_new()))	/* GET /events (issue 16) */
		rc = -ENOMEM;
	s->workers.events = s->events;
	if (rc < 0)
		state_destroy(s);
	return rc;
}

void state_destroy(struct state *s)
{
	submitted_destroy(&s->jobs);
	workers_destroy(&s->workers);
	executions_destroy(&s->execs);
	triggers_destroy(&s->triggers);
	allocs_destroy(&s->allocs);	/* issue 17 */
	fired_destroy(&s->fired);
	schedules_free(s->schedules);
	outbox_destroy(&s->outbox);	/* issue 16 */
	events_free(s->events);
	memset(s, 0, sizeof(*s));
}
