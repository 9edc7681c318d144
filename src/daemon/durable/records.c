/*
 * records.c - the journal's record types by name (logs, jobring-journal).
 * See records.h.
 */
#include <stdint.h>

#include "daemon/durable/records.h"
#include "daemon/state/allocrec.h"
#include "daemon/state/notifyrec.h"

const char *rec_type_name(uint16_t type)
{
	switch (type) {
	case REC_SUBMIT: return "submit";
	case REC_START: return "start";
	case REC_RETRY: return "retry";
	case REC_END: return "end";
	case REC_CANCEL: return "cancel";
	case REC_QUEUE: return "queue";
	case REC_QUEUE_UPDATE: return "queue_update";
	case REC_QUEUE_DELETE: return "queue_delete";
	case REC_WORKER: return "worker";
	case REC_CONTROL: return "control";
	case REC_UPDATE: return "update";
	case REC_SCHEDULER: return "scheduler";
	case REC_TRIGGER: return "trigger";
	case REC_TRIGGER_DELETE: return "trigger_delete";
	case REC_TRIGGER_FIRE: return "trigger_fire";
	case REC_NOTIFY_QUEUED: return "notify_queued";
	case REC_NOTIFY_DELIVERED: return "notify_delivered";
	case REC_NOTIFY_FAILED: return "notify_failed";
	case REC_NOTIFY_QUEUE_SET: return "notify_queue_set";
	case REC_SNAP_BEGIN: return "snapshot_begin";
	case REC_SNAP_JOBS: return "snapshot_jobs";
	case REC_SNAP_END: return "snapshot_end";
	case REC_RESULT: return "result";
	case REC_SNAP_EXECS: return "snapshot_executions";
	case REC_SCHEDULE: return "schedule";
	case REC_SCHEDULE_DELETE: return "schedule_delete";
	case REC_SNAP_ORIGINS: return "snapshot_origins";
	case REC_SNAP_COUNTERS: return "snapshot_counters";
	case REC_ALLOC: return "alloc";	/* issue 17 (allocrec.h) */
	case REC_ALLOC_DELETE: return "alloc_delete";
	case REC_ALLOC_JOB: return "alloc_job";
	}
	return "unknown";
}
