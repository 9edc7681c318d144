/*
 * schedint.h - what scheduler.c, schedlists.c and throttle.c share: where
 * a job is listed, the list and heap operations, and the throttles'
 * parking. Private to src/sched/.
 */
#ifndef JR_SCHEDINT_H
#define JR_SCHEDINT_H

#include <stdbool.h>
#include <stdint.h>

#include "sched/scheduler.h"

/* ON_PASSED: waiting, taken off its heap by the running pass (s->passed).
 * ON_PARKED: waiting, held back by its full throttle (its parked heap). */
enum { ON_NONE, ON_WAITING, ON_RUNNING, ON_DELAYED, ON_PASSED, ON_PARKED };

int sched_list_reserve(struct jr_job_list *l, uint32_t need);
void sched_list_set(struct jr_job_list *l, uint32_t i, struct jr_sched_job *j);
int64_t sched_order_key(const struct jr_sched *s, const struct jr_sched_job *j);
bool sched_goes_before(const struct jr_sched *s, const struct jr_sched_job *a,
			const struct jr_sched_job *b);
void sched_wheap_up(const struct jr_sched *s, struct jr_job_list *h, uint32_t i);
void sched_wheap_down(const struct jr_sched *s, struct jr_job_list *h, uint32_t i);
void sched_heap_up_by(struct jr_job_list *h, uint32_t i, bool by_seq);
void sched_heap_down_by(struct jr_job_list *h, uint32_t i, bool by_seq);
void sched_heap_remove_by(struct jr_job_list *h, struct jr_sched_job *job, bool by_seq);
struct jr_sched_throttle *sched_throttle_of(struct jr_sched *s, const struct jr_sched_job *job);
int sched_throttle_park(struct jr_sched *s, struct jr_sched_job *job);


/* fairshare.c: a user's record (made at first sight; NULL without memory),
 * an ended attempt charged to its user, each user's penalty for a pass. */
struct jr_sched_user *sched_user_of(struct jr_sched *s, uint32_t uid);
void sched_charge_usage(struct jr_sched *s, const struct jr_sched_job *job, uint64_t now);
void sched_fair_share_penalties(struct jr_sched *s, uint64_t now);

#endif
