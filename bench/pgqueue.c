/*
 * bench/pgqueue - the queue most users would pick instead of jobring: a
 * PostgreSQL jobs table (the design of River, Oban, pg-boss,
 * graphile-worker), with the figures bench/durable measures for jobringd:
 *
 *   batch:   JR_BENCH_JOBS/5 jobs as INSERTs of 100 rows, from 4
 *            connections (jobs/s);
 *   single:  one-row INSERTs, each its own transaction, from 64
 *            connections (jobs/s; p50/p99 of the commit);
 *   dequeue: UPDATE ... WHERE id = (SELECT ... FOR UPDATE SKIP LOCKED
 *            LIMIT 1) from 4 connections (claims/s), for context.
 *
 * synchronous_commit is on (the server's default): a commit returns after
 * its WAL is flushed, as jobringd's answer does with --sync=always.
 * usage: pgqueue SOCKET_DIR PORT [--json]   (bench/peers.sh starts the server)
 */
#include "benchutil.h"

#include <libpq-fe.h>
#include <stdbool.h>

#define BATCH_ROWS 100
#define BATCH_CONNS 4
#define SINGLE_CONNS 64

static char conninfo[512];
static uint64_t batch_jobs, single_jobs, claims;

static PGconn *connect_db(void)
{
	PGconn *c = PQconnectdb(conninfo);

	if (PQstatus(c) != CONNECTION_OK) {
		fprintf(stderr, "pgqueue: %s", PQerrorMessage(c));
		exit(1);
	}
	return c;
}

static void exec_ok(PGconn *c, const char *sql)
{
	PGresult *r = PQexec(c, sql);

	if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK) {
		fprintf(stderr, "pgqueue: %s: %s", sql, PQerrorMessage(c));
		exit(1);
	}
	PQclear(r);
}

static void schema(void)
{
	PGconn *c = connect_db();

	exec_ok(c, "DROP TABLE IF EXISTS jobs");
	exec_ok(c, "CREATE TABLE jobs (id bigserial PRIMARY KEY, queue text NOT NULL DEFAULT "
		   "'default', priority int NOT NULL, status text NOT NULL DEFAULT 'queued', "
		   "attempts int NOT NULL DEFAULT 0, payload jsonb NOT NULL, "
		   "created_at timestamptz NOT NULL DEFAULT now())");
	exec_ok(c, "CREATE INDEX jobs_fetch ON jobs (queue, priority DESC, id) "
		   "WHERE status = 'queued'");
	PQfinish(c);
}

/* --- inserts ------------------------------------------------------------------------------ */

struct worker {
	uint64_t first, count;	/* jobs */
	uint64_t rows;		/* per statement */
	double *lat;		/* ms per statement, indexed by statement */
};

static char *insert_sql(uint64_t first, uint64_t rows)
{
	char *sql = malloc(rows * 120 + 128), *p = sql;

	p += sprintf(p, "INSERT INTO jobs (priority, payload) VALUES ");
	for (uint64_t i = 0; i < rows; i++)
		p += sprintf(p, "%s(3, '{\"command\":[\"/bin/true\"],\"name\":\"job-%llu\"}')",
			     i ? "," : "", (unsigned long long)(first + i));
	return sql;
}

static void *insert_main(void *arg)
{
	struct worker *w = arg;
	PGconn *c = connect_db();

	for (uint64_t done = 0, k = 0; done < w->count; done += w->rows, k++) {
		char *sql = insert_sql(w->first + done, w->rows);
		double t = jrt_now_s();
		exec_ok(c, sql);
		w->lat[k] = (jrt_now_s() - t) * 1e3;
		free(sql);
	}
	PQfinish(c);
	return NULL;
}

struct figures {
	double rate, p50_ms, p99_ms;
};

static double percentile(double *v, int n, double q)
{
	bench_median(v, n);
	return v[(int)(q * (n - 1))];
}

static struct figures inserts(int conns, uint64_t total, uint64_t rows)
{
	struct worker w[SINGLE_CONNS];
	pthread_t t[SINGLE_CONNS];
	uint64_t per = total / (uint64_t)conns / rows * rows, stmts = per / rows;
	double *lat = calloc((size_t)(stmts * (uint64_t)conns), sizeof(double)), t0;
	struct figures f;

	schema();
	t0 = jrt_now_s();
	for (int i = 0; i < conns; i++) {
		w[i] = (struct worker){ (uint64_t)i * per, per, rows, lat + (uint64_t)i * stmts };
		pthread_create(&t[i], NULL, insert_main, &w[i]);
	}
	for (int i = 0; i < conns; i++)
		pthread_join(t[i], NULL);
	f.rate = (double)(per * (uint64_t)conns) / (jrt_now_s() - t0);
	f.p50_ms = percentile(lat, (int)(stmts * (uint64_t)conns), 0.5);
	f.p99_ms = percentile(lat, (int)(stmts * (uint64_t)conns), 0.99);
	free(lat);
	return f;
}

/* --- dequeue with SKIP LOCKED ---------------------------------------------------------- */

static void *claim_main(void *arg)
{
	uint64_t n = *(uint64_t *)arg;
	PGconn *c = connect_db();

	for (uint64_t i = 0; i < n; i++)
		exec_ok(c, "UPDATE jobs SET status = 'running', attempts = attempts + 1 "
			   "WHERE id = (SELECT id FROM jobs WHERE queue = 'default' AND status = "
			   "'queued' ORDER BY priority DESC, id LIMIT 1 FOR UPDATE SKIP LOCKED) "
			   "RETURNING id");
	PQfinish(c);
	return NULL;
}

static double dequeue(void)
{
	pthread_t t[BATCH_CONNS];
	uint64_t each = claims / BATCH_CONNS;
	double t0 = jrt_now_s();

	for (int i = 0; i < BATCH_CONNS; i++)
		pthread_create(&t[i], NULL, claim_main, &each);
	for (int i = 0; i < BATCH_CONNS; i++)
		pthread_join(t[i], NULL);
	return (double)(each * BATCH_CONNS) / (jrt_now_s() - t0);
}

int main(int argc, char **argv)
{
	bool json = argc > 3 && strcmp(argv[3], "--json") == 0;
	double br[16], sr[16], s50[16], s99[16], dq[16];
	int runs;

	if (argc < 3) {
		fprintf(stderr, "usage: pgqueue SOCKET_DIR PORT [--json]\n");
		return 2;
	}
	snprintf(conninfo, sizeof(conninfo), "host=%s port=%s dbname=postgres user=postgres "
		 "options='-c client_min_messages=warning'",
		 argv[1], argv[2]);
	runs = (int)jrt_env_u64("JR_BENCH_RUNS", 3);
	runs = runs < 1 ? 1 : runs > 16 ? 16 : runs;
	batch_jobs = jrt_env_u64("JR_BENCH_JOBS", 1000000) / 5;
	single_jobs = jrt_env_u64("JR_BENCH_JOBS", 1000000) / 50;
	claims = single_jobs / 2;
	for (int r = 0; r < runs; r++) {
		struct figures f = inserts(BATCH_CONNS, batch_jobs, BATCH_ROWS);
		br[r] = f.rate;
		dq[r] = dequeue();
		f = inserts(SINGLE_CONNS, single_jobs, 1);
		sr[r] = f.rate, s50[r] = f.p50_ms, s99[r] = f.p99_ms;
	}
	if (json) {
		printf("{\"batch\":%.0f,\"single\":%.0f,\"single_p99_ms\":%.3f,\"dequeue\":%.0f}\n",
		       bench_median(br, runs), bench_median(sr, runs), bench_median(s99, runs),
		       bench_median(dq, runs));
		return 0;
	}
	printf("bench/pgqueue: PostgreSQL jobs table, synchronous_commit on, median of %d runs\n",
	       runs);
	printf("  batch: %llu jobs in %d-row INSERTs from %d connections  %10.0f jobs/s\n",
	       (unsigned long long)batch_jobs, BATCH_ROWS, BATCH_CONNS, bench_median(br, runs));
	printf("  single: %llu one-row INSERTs from %d connections      %10.0f jobs/s  p50 %.3f ms"
	       "  p99 %.3f ms\n", (unsigned long long)single_jobs, SINGLE_CONNS,
	       bench_median(sr, runs), bench_median(s50, runs), bench_median(s99, runs));
	printf("  dequeue: FOR UPDATE SKIP LOCKED from %d connections   %10.0f claims/s\n",
	       BATCH_CONNS, bench_median(dq, runs));
	return 0;
}
