/*
 * bench/dispatch - no-op function jobs end to end (submit -> run ->
 * execution recorded), against two baselines measured in the same run:
 *
 *  (a) a mutex+condvar binary-heap dispatcher that takes one job per lock
 *      acquisition (the naive design; its submit side is given batches
 *      under one lock, which only helps it);
 *  (b) the raw ck_ring MPMC enqueue+dequeue rate between two threads with
 *      ck's own ck_ring_enqueue_mpmc/ck_ring_dequeue_mpmc: the ceiling for
 *      one item per transfer. jobring's batch ring operations (ring.h) on
 *      the same struct ck_ring are measured next to it.
 *
 * Every figure is the median of JR_BENCH_RUNS runs (default 5) of
 * JR_BENCH_JOBS jobs (default 1,000,000).
 */
#include "benchutil.h"

#include <errno.h>
#include <stdbool.h>
#include <ck_ring.h>

#include "jobring.h"
#include "shm/ring.h"

#define LEVELS JR_PRIORITY_LEVELS
#define BATCH_SUBMIT 10000

static uint64_t jobs;
static int runs;

static int noop(void *arg, const struct jr_job_ctx *ctx)
{
	(void)arg;
	(void)ctx;
	return 0;
}

/* ---- jobring ---------------------------------------------------------- */

struct jr_case {
	struct jr_engine *e;
	struct jr_job_spec *specs;
	jr_job_id *ids;
	uint32_t producers;
	bool batch;
	pthread_barrier_t start;
};

struct jr_producer {
	struct jr_case *c;
	uint32_t index;
	pthread_t thread;
	double submit_end;
};

static void submit_range(struct jr_case *c, uint64_t from, uint64_t to)
{
	if (!c->batch) {
		for (uint64_t i = from; i < to; i++)
			while (jr_job_submit(c->e, &c->specs[i], NULL) == -EAGAIN)
				sched_yield();
		return;
	}
	for (uint64_t i = from; i < to; i += BATCH_SUBMIT) {
		size_t n = to - i < BATCH_SUBMIT ? to - i : BATCH_SUBMIT;
		while (jr_job_submit_batch(c->e, &c->specs[i], n, &c->ids[i]) == -EAGAIN)
			sched_yield();
	}
}

static void *jr_producer_main(void *arg)
{
	struct jr_producer *p = arg;
	struct jr_case *c = p->c;
	uint64_t per = jobs / c->producers;
	uint64_t from = p->index * per;
	uint64_t to = p->index + 1 == c->producers ? jobs : from + per;

	bench_pin(p->index + 1);
	pthread_barrier_wait(&c->start);
	submit_range(c, from, to);
	p->submit_end = jrt_now_s();
	return NULL;
}

/* One timed run; returns jobs/s end to end, *submit_s the submit phase. */
static double jr_run_once(struct jr_case *c, double *submit_s)
{
	struct jr_producer ps[8];
	double t0, t_sub = 0, t1;

	pthread_barrier_init(&c->start, NULL, c->producers + 1);
	for (uint32_t i = 0; i < c->producers; i++) {
		ps[i] = (struct jr_producer){ c, i, 0, 0 };
		pthread_create(&ps[i].thread, NULL, jr_producer_main, &ps[i]);
	}
	pthread_barrier_wait(&c->start);
	t0 = jrt_now_s();
	for (uint32_t i = 0; i < c->producers; i++) {
		pthread_join(ps[i].thread, NULL);
		if (ps[i].submit_end > t_sub)
			t_sub = ps[i].submit_end;
	}
	jr_engine_wait_all(c->e);
	t1 = jrt_now_s();
	pthread_barrier_destroy(&c->start);
	*submit_s = t_sub - t0;
	return (double)jobs / (t1 - t0);
}

static double jr_measure(uint32_t workers, uint32_t producers, bool batch,
			 double *submit_s_median)
{
	struct jr_engine_opts o;
	struct jr_case c = { 0 };
	double rate[64], sub[64], ignored;

	jr_engine_opts_init(&o);
	o.workers = workers;
	o.capacity = JR_CAPACITY_DEFAULT;	/* what users get */
	if (jr_engine_open(&c.e, &o) < 0) {
		fprintf(stderr, "dispatch: cannot open engine\n");
		exit(1);
	}
	c.specs = calloc(jobs, sizeof(*c.specs));
	c.ids = calloc(jobs, sizeof(*c.ids));
	for (uint64_t i = 0; i < jobs; i++)
		c.specs[i] = (struct jr_job_spec){ noop, NULL, (int)(i % LEVELS), 0,
						   NULL };
	c.producers = producers;
	c.batch = batch;
	jr_run_once(&c, &ignored);	/* warm-up: fault in the region */
	for (int r = 0; r < runs; r++)
		rate[r] = jr_run_once(&c, &sub[r]);
	jr_engine_close(c.e, JR_CLOSE_DRAIN);
	free(c.specs);
	free(c.ids);
	if (submit_s_median)
		*submit_s_median = bench_median(sub, runs);
	return bench_median(rate, runs);
}

/* ---- baseline (a): mutex + condvar + binary heap ------------------------ */

struct mjob {
	int prio;
	uint64_t seq;
	jr_job_fn fn;
	void *arg;
	uint64_t start_ns, end_ns;
	int result;
};

struct mqueue {
	pthread_mutex_t mu;
	pthread_cond_t nonempty, all_done;
	struct mjob **heap;
	size_t n;
	uint64_t finished, target;
	bool stop;
};

static bool mjob_before(const struct mjob *a, const struct mjob *b)
{
	return a->prio != b->prio ? a->prio > b->prio : a->seq < b->seq;
}

static void heap_push(struct mqueue *q, struct mjob *j)
{
	size_t i = q->n++;

	while (i > 0 && mjob_before(j, q->heap[(i - 1) / 2])) {
		q->heap[i] = q->heap[(i - 1) / 2];
		i = (i - 1) / 2;
	}
	q->heap[i] = j;
}

static struct mjob *heap_pop(struct mqueue *q)
{
	struct mjob *top = q->heap[0], *last = q->heap[--q->n];
	size_t i = 0;

	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= q->n)
			break;
		if (c + 1 < q->n && mjob_before(q->heap[c + 1], q->heap[c]))
			c++;
		if (!mjob_before(q->heap[c], last))
			break;
		q->heap[i] = q->heap[c];
		i = c;
	}
	if (q->n)
		q->heap[i] = last;
	return top;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void *mworker_main(void *arg)
{
	struct mqueue *q = arg;
	struct jr_job_ctx ctx = { 0 };

	for (;;) {
		pthread_mutex_lock(&q->mu);
		while (q->n == 0 && !q->stop)
			pthread_cond_wait(&q->nonempty, &q->mu);
		if (q->n == 0) {
			pthread_mutex_unlock(&q->mu);
			return NULL;
		}
		struct mjob *j = heap_pop(q);
		pthread_mutex_unlock(&q->mu);
		j->start_ns = now_ns();
		j->result = j->fn(j->arg, &ctx);
		j->end_ns = now_ns();
		pthread_mutex_lock(&q->mu);
		if (++q->finished == q->target)
			pthread_cond_broadcast(&q->all_done);
		pthread_mutex_unlock(&q->mu);
	}
}

static double mutex_run_once(uint32_t workers, struct mjob *pool)
{
	struct mqueue q;
	pthread_t th[16];
	double t0, t1;

	memset(&q, 0, sizeof(q));
	pthread_mutex_init(&q.mu, NULL);
	pthread_cond_init(&q.nonempty, NULL);
	pthread_cond_init(&q.all_done, NULL);
	q.heap = malloc(jobs * sizeof(*q.heap));
	q.target = jobs;
	for (uint32_t i = 0; i < workers; i++)
		pthread_create(&th[i], NULL, mworker_main, &q);
	t0 = jrt_now_s();
	for (uint64_t i = 0; i < jobs; i += BATCH_SUBMIT) {
		uint64_t end = i + BATCH_SUBMIT < jobs ? i + BATCH_SUBMIT : jobs;
		pthread_mutex_lock(&q.mu);
		for (uint64_t k = i; k < end; k++) {
			pool[k] = (struct mjob){ (int)(k % LEVELS), k, noop, NULL, 0, 0, 0 };
			heap_push(&q, &pool[k]);
		}
		pthread_cond_broadcast(&q.nonempty);
		pthread_mutex_unlock(&q.mu);
	}
	pthread_mutex_lock(&q.mu);
	while (q.finished < q.target)
		pthread_cond_wait(&q.all_done, &q.mu);
	q.stop = true;
	pthread_cond_broadcast(&q.nonempty);
	pthread_mutex_unlock(&q.mu);
	t1 = jrt_now_s();
	for (uint32_t i = 0; i < workers; i++)
		pthread_join(th[i], NULL);
	free(q.heap);
	return (double)jobs / (t1 - t0);
}

static double mutex_measure(uint32_t workers)
{
	struct mjob *pool = calloc(jobs, sizeof(*pool));
	double rate[64];

	mutex_run_once(workers, pool);
	for (int r = 0; r < runs; r++)
		rate[r] = mutex_run_once(workers, pool);
	free(pool);
	return bench_median(rate, runs);
}

/* ---- baseline (b): the raw ring between two threads --------------------- */

#define RING_SIZE 65536u

struct ring_case {
	struct ck_ring ring;
	void *ck_buf[RING_SIZE];
	uint32_t jr_buf[RING_SIZE];
	uint32_t batch;	/* 0: ck's one-item calls */
};

static void *ring_consumer(void *arg)
{
	struct ring_case *rc = arg;
	uint64_t got = 0;
	uint32_t out[256];
	void *item;

	bench_pin(1);
	while (got < jobs) {
		if (rc->batch) {
			got += jr_ring_dequeue_batch_mpmc(&rc->ring, rc->jr_buf, out,
							  rc->batch);
		} else if (ck_ring_dequeue_mpmc(&rc->ring, (ck_ring_buffer_t *)rc->ck_buf,
						&item)) {
			got++;
		}
	}
	return NULL;
}

static void ring_produce(struct ring_case *rc)
{
	uint32_t items[256];

	for (uint32_t i = 0; i < 256; i++)
		items[i] = i;
	for (uint64_t sent = 0; sent < jobs;) {
		if (rc->batch) {
			uint32_t n = jobs - sent < rc->batch ? (uint32_t)(jobs - sent) : rc->batch;
			if (jr_ring_enqueue_batch_mpmc(&rc->ring, rc->jr_buf, items, n))
				sent += n;
		} else if (ck_ring_enqueue_mpmc(&rc->ring, (ck_ring_buffer_t *)rc->ck_buf,
						(void *)(uintptr_t)(sent + 1))) {
			sent++;
		}
	}
}

static double ring_run_once(uint32_t batch)
{
	struct ring_case *rc = calloc(1, sizeof(*rc));
	pthread_t th;
	double t0, t1;

	ck_ring_init(&rc->ring, RING_SIZE);
	rc->batch = batch;
	pthread_create(&th, NULL, ring_consumer, rc);
	bench_pin(0);
	t0 = jrt_now_s();
	ring_produce(rc);
	pthread_join(th, NULL);
	t1 = jrt_now_s();
	free(rc);
	return (double)jobs / (t1 - t0);
}

static double ring_measure(uint32_t batch)
{
	double rate[64];

	ring_run_once(batch);
	for (int r = 0; r < runs; r++)
		rate[r] = ring_run_once(batch);
	return bench_median(rate, runs);
}

/* ---- report ------------------------------------------------------------- */

static void verdict(const char *what, double got, double want, const char *unit)
{
	printf("  target %-44s %10.2f %-8s (want >= %.2f) %s\n", what, got, unit,
	       want, got >= want ? "PASS" : "MISS");
}

static void region_bytes_per_job(void)
{
	struct jr_engine *e;
	struct jr_engine_opts o;
	struct jr_stats st;

	jr_engine_opts_init(&o);
	o.workers = 1;
	jr_engine_open(&e, &o);
	jr_engine_stats(e, &st);
	jr_engine_close(e, JR_CLOSE_DRAIN);
	printf("  region: %lu bytes for %u slots = %.1f bytes per job slot "
	       "(64 slot + 8x4 ring + 4 free ring + 16 arena + fixed)\n",
	       (unsigned long)st.region_bytes, st.capacity,
	       (double)st.region_bytes / st.capacity);
	printf("  target %-44s %10.1f %-8s (want <= 128) %s\n",
	       "region bytes per queued function job",
	       (double)st.region_bytes / st.capacity, "bytes",
	       (double)st.region_bytes / st.capacity <= 128 ? "PASS" : "MISS");
}

/* JR_BENCH_SCALING="1,2,4,8,16": the batch path and the mutex baseline
 * at each worker count (for a host with that many cores). */
static void scaling(const char *list)
{
	if (!list || !*list)
		return;
	printf("  scaling (batch submit from 1 producer; median of %d runs):\n", runs);
	printf("  %8s %14s %14s %8s\n", "workers", "jobring M/s", "mutex M/s", "ratio");
	while (list && *list) {
		uint32_t w = (uint32_t)strtoul(list, NULL, 10);
		if (w > 0 && w <= 16) {	/* the mutex baseline has 16 threads at most */
			double j = jr_measure(w, 1, true, NULL), m = mutex_measure(w);
			printf("  %8u %14.2f %14.2f %7.2fx\n", w, j / 1e6, m / 1e6, j / m);
		}
		list += strcspn(list, ",");
		list += *list == ',';
	}
}

int main(void)
{
	double b1, b2, s1, s2, s22, m1, m2, ring_ck, ring_b32, sub_s;

	jobs = jrt_env_u64("JR_BENCH_JOBS", 1000000);
	runs = (int)jrt_env_u64("JR_BENCH_RUNS", 5);
	if (runs < 1 || runs > 64)
		runs = 5;
	printf("bench/dispatch: %lu no-op jobs per run, median of %d runs, "
	       "8 priority levels mixed\n", (unsigned long)jobs, runs);

	b1 = jr_measure(1, 1, true, &sub_s);
	b2 = jr_measure(2, 1, true, NULL);
	s1 = jr_measure(1, 1, false, NULL);
	s2 = jr_measure(2, 1, false, NULL);
	s22 = jr_measure(2, 2, false, NULL);
	m1 = mutex_measure(1);
	m2 = mutex_measure(2);
	ring_ck = ring_measure(0);
	ring_b32 = ring_measure(32);

	printf("  %-52s %8.2f M jobs/s\n", "jobring batch submit, 1 worker", b1 / 1e6);
	printf("  %-52s %8.2f M jobs/s\n", "jobring batch submit, 2 workers", b2 / 1e6);
	printf("  %-52s %8.2f M jobs/s\n", "jobring single submit, 1 producer, 1 worker", s1 / 1e6);
	printf("  %-52s %8.2f M jobs/s\n", "jobring single submit, 1 producer, 2 workers", s2 / 1e6);
	printf("  %-52s %8.2f M jobs/s\n", "jobring single submit, 2 producers, 2 workers", s22 / 1e6);
	printf("  %-52s %8.2f M jobs/s\n", "baseline mutex+condvar heap, 1 worker", m1 / 1e6);
	printf("  %-52s %8.2f M jobs/s\n", "baseline mutex+condvar heap, 2 workers", m2 / 1e6);
	printf("  %-52s %8.2f M items/s\n", "raw ck_ring mpmc, 1 item per op, 2 threads", ring_ck / 1e6);
	printf("  %-52s %8.2f M items/s\n", "jobring ring batch ops, 32 per op, 2 threads", ring_b32 / 1e6);
	printf("  %-52s %8.3f s\n", "submit phase of 1M jobs (batch, 1 worker running)",
	       sub_s * 1e6 / (double)jobs);
	printf("  ratio batch/mutex: 1 worker %.2fx, 2 workers %.2fx\n", b1 / m1, b2 / m2);
	printf("  ratio single/raw ring: 1p1w %.2fx, 1p2w %.2fx, 2p2w %.2fx\n",
	       s1 / ring_ck, s2 / ring_ck, s22 / ring_ck);
	double best_batch = b1 > b2 ? b1 : b2;
	double best_mutex = m1 > m2 ? m1 : m2;
	double best_single = s1 > s2 ? s1 : s2;
	verdict("batch path end to end (best of 1, 2 workers)", best_batch / 1e6, 10, "M/s");
	verdict("batch path vs mutex baseline (best vs best)", best_batch / best_mutex, 3, "x");
	verdict("single submission vs raw ring (best)", best_single / ring_ck, 0.6, "x");
	printf("  target %-44s %10.3f %-8s (want <  0.30) %s\n",
	       "1,000,000 jobs submitted in", sub_s * 1e6 / (double)jobs, "s",
	       sub_s * 1e6 / (double)jobs < 0.3 ? "PASS" : "MISS");
	region_bytes_per_job();
	scaling(getenv("JR_BENCH_SCALING"));
	return 0;
}
