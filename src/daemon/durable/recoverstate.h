/*
 * recoverstate.h - recovery's records of the state beside the jobs
 * (recoverstate.c), for recover_record() in recover.c: each applies one
 * record, of the type its name says, to r. 0, -EPROTO (it does not read
 * as one), -ENOMEM. A schedule whose definition no longer reads, and a
 * trigger's or an allocation queue's record that does not, is dropped
 * with a line on stderr (0). Internal to src/daemon/durable.
 */
#ifndef JR_RECOVERSTATE_H
#define JR_RECOVERSTATE_H

#include <stdint.h>

#include "daemon/durable/recover.h"

/* REC_SCHEDULE, REC_SCHEDULE_DELETE, REC_SNAP_ORIGINS (issue 15). */
int recover_schedule(struct recovery *r, const uint8_t *p, uint32_t len);
int recover_schedule_delete(struct recovery *r, const void *p, uint32_t len);
int recover_snap_origins(struct recovery *r, const uint8_t *p, uint32_t len);
/* A fired job's origin (from its REC_SUBMIT): kept for the job, and its
 * schedule's last fired due instant advanced. */
void recover_origin(struct recovery *r, jr_job_id id, const struct rec_origin *o);

/* REC_SCHEDULER; REC_QUEUE and REC_QUEUE_UPDATE; REC_QUEUE_DELETE;
 * REC_WORKER. */
int recover_scheduler(struct recovery *r, const void *p, uint32_t len);
int recover_queue(struct recovery *r, const void *p, uint32_t len);
int recover_queue_delete(struct recovery *r, const void *p, uint32_t len);
int recover_worker(struct recovery *r, const uint8_t *p, uint32_t len);

/* REC_TRIGGER* (issue 15) and REC_ALLOC* (issue 17), by type. */
int recover_trigger(struct recovery *r, uint16_t type, const void *p, uint32_t len);
int recover_alloc(struct recovery *r, uint16_t type, const void *p, uint32_t len);

#endif
