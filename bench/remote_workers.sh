#!/usr/bin/env bash
# bench/remote_workers.sh BUILD_DIR - jobring-worker processes against one
# jobringd (issue 17): N worker processes (JR_BENCH_WORKERS, default 100),
# each declaring 1 cpu (--cpus 1, its share of the host) and started with
# --echo: a job without a command is completed at once with its payload as
# its result, so what is measured is the worker's claim->complete path
# (two threads, two connections, the long poll, the lease), not fork and
# exec. Each process is a real jobring-worker on libjobring's client over
# the Unix socket.
#
#   rate:      JR_BENCH_REMOTE_JOBS no-op jobs (default 200 per worker, at
#              least 20,000) submitted in batches of 5,000, timed until the
#              daemon counts them all succeeded; median of JR_BENCH_RUNS (3).
#   baseline:  the same daemon build and the same N, with bench/workers'
#              in-process driver (N simulated workers on one epoll loop:
#              the protocol's cost without N processes), measured in this
#              run just before.
#   restart:   the daemon stopped (SIGTERM) and started again on its state
#              directory while the N workers wait in their long polls: the
#              time from its start until N claims are connected again, and
#              until a batch of N jobs submitted at once is done.
#   no loss:   JR_BENCH_REMOTE_JOBS jobs, the daemon killed (kill -9) and
#              started again when about a third are done: every job must
#              end succeeded; executions run twice (the daemon's
#              coordinator_lost, a job running at the kill run again) are
#              counted and printed.
# Needs RLIMIT_NOFILE above 2N + 100 (raised to the hard limit).
set -euo pipefail
build=${1:-build/release}
n=${JR_BENCH_WORKERS:-100}
runs=${JR_BENCH_RUNS:-3}
jobs=${JR_BENCH_REMOTE_JOBS:-$((n * 200 > 20000 ? n * 200 : 20000))}
daemon=$build/jobringd
worker=$build/jobring-worker
dir=$(mktemp -d /tmp/jr-remote-XXXXXX)
# JR_BENCH_REMOTE_COMMAND=1: each job is "command":["true"], spawned by
# the worker (output files in $dir/out), instead of --echo's payload job.
job='{"executor":"external"}'
worker_mode=(--echo)
if [ -n "${JR_BENCH_REMOTE_COMMAND:-}" ]; then
	job='{"executor":"external","command":["true"]}'
	mkdir -p "$dir/out"
	worker_mode=(--output-dir "$dir/out")
fi
# JR_BENCH_WORKER_ARGS: more options for every worker (e.g. --no-claim-next:
# the protocol before completions claimed, a long-poll claim and a
# completion a job). JR_BENCH_RATE_ONLY=1: the rate only (no restart, no
# kill -9 phase).
read -r -a worker_extra <<<"${JR_BENCH_WORKER_ARGS:-}"
sock=$dir/s.sock
wpids=()
dpid=
cleanup() {
	[ -z "${JR_BENCH_VERBOSE:-}" ] || grep -E "recovered|stopped|snapshot" "$dir/daemon.log" | sed 's/^/remote_workers: daemon: /'
	[ -n "$dpid" ] && kill "$dpid" 2>/dev/null || true
	for p in "${wpids[@]}"; do kill -INT "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$dir"
}
trap cleanup EXIT
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
now() { date +%s.%N; }
metric() {	# metric NAME_AND_LABELS: its value (0 if absent)
	curl -s --unix-socket "$sock" http://x/metrics | awk -v m="$1" '$1 == m { v = $2 } END { print v + 0 }'
}
succeeded() { metric 'jobring_jobs_finished_total{status="succeeded"}'; }
workers() {
	curl -s --unix-socket "$sock" http://x/metrics |
		awk '/^jobring_external_workers\{/ { n += $2 } END { print n + 0 }'
}
start_daemon() {
	"$daemon" --socket "$sock" --state-dir "$dir/state" --no-keeper --no-cgroups --sync none \
		--max-connections $((2 * n + 200)) --heartbeat-timeout 30 2>>"$dir/daemon.log" &
	dpid=$!
	for _ in $(seq 400); do curl -sf --unix-socket "$sock" http://x/health >/dev/null && return 0; sleep 0.05; done
	echo "jobringd did not start"; cat "$dir/daemon.log"; exit 1
}
# submit COUNT: no-op external jobs through POST /jobs/batch, 5,000 a request
submit() {
	local left=$1 k
	while [ "$left" -gt 0 ]; do
		k=$((left > 5000 ? 5000 : left))
		awk -v k="$k" -v job="$job" 'BEGIN { for (i = 0; i < k; i++) print job }' \
			>"$dir/batch.ndjson"
		curl -sf --unix-socket "$sock" -H 'Content-Type: application/x-ndjson' \
			--data-binary @"$dir/batch.ndjson" http://x/jobs/batch >/dev/null
		left=$((left - k))
	done
}
wait_succeeded() {	# wait_succeeded COUNT [SECONDS]
	local end=$((SECONDS + ${2:-600}))
	while [ "$(succeeded)" -lt "$1" ]; do
		[ "$SECONDS" -ge "$end" ] && { echo "remote_workers: only $(succeeded) of $1 done"; return 1; }
		sleep 0.05
	done
}
phase() { [ -z "${JR_BENCH_VERBOSE:-}" ] || echo "remote_workers: [$(date +%T.%N | cut -c1-12)] $*"; }
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

echo "remote_workers: $n jobring-worker processes (--cpus 1 ${worker_mode[*]}), $jobs jobs $job a run," \
	"$runs runs; $(nproc) cores; load $(cut -d' ' -f1-3 /proc/loadavg)"

# --- baseline: the in-process driver, same daemon, same N -----------------------------
base=0
if [ -z "${JR_BENCH_NO_BASELINE:-}" ] && [ -x "$build/bench/workers" ]; then
	base=$(JR_WORKERS_N=$n JR_WORKERS_PHASES=claim JR_WORKERS_BASELINE=0 JR_WORKERS_RUNS=$runs \
		JR_WORKERS_SECONDS=3 JR_WORKERS_CLAIM_HB_CONNS=0 JR_WORKERS_SYNC=none \
		"$build/bench/workers" | awk '/workers: +[0-9]+ workers:/ { print $4 }' | tail -1)
fi
[ "$base" = 0 ] || echo "remote_workers: baseline (bench/workers' in-process driver, $n workers): $base jobs/s"

# --- the worker processes --------------------------------------------------------------
start_daemon
for i in $(seq "$n"); do
	"$worker" --server "$sock" --name "b$i" --cpus 1 "${worker_mode[@]}" "${worker_extra[@]}" --no-cgroups --quiet \
		--heartbeat 5s --claim-wait 30s 2>>"$dir/workers.log" &
	wpids+=($!)
done
t0=$(now)
while [ "$(workers)" -lt "$n" ]; do sleep 0.1; done
echo "remote_workers: $n workers registered in $(awk -v a="$t0" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }') s"

# CPU seconds (user + system) a process has used, all its threads
cpu_s() { awk -v hz="$(getconf CLK_TCK)" '{ t += $14 + $15 } END { print t / hz }' "$@" 2>/dev/null || echo 0; }
workers_cpu_s() { local f=(); for p in "${wpids[@]}"; do f+=("/proc/$p/stat"); done; cpu_s "${f[@]}"; }
d_cpu0=$(cpu_s "/proc/$dpid/stat")
w_cpu0=$(workers_cpu_s)
done_total=0
for r in $(seq "$runs"); do
	t0=$(now)
	submit "$jobs"
	done_total=$((done_total + jobs))
	wait_succeeded "$done_total"
	t1=$(now)
	awk -v j="$jobs" -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f\n", j / (b - a) }' >>"$dir/rates"
	echo "remote_workers: run $r: $(tail -1 "$dir/rates") jobs/s"
done
rate=$(median <"$dir/rates")
awk -v d="$(awk -v a="$d_cpu0" -v b="$(cpu_s "/proc/$dpid/stat")" 'BEGIN { print b - a }')" \
    -v w="$(awk -v a="$w_cpu0" -v b="$(workers_cpu_s)" 'BEGIN { print b - a }')" -v j="$done_total" 'BEGIN {
	printf "remote_workers: CPU over the runs: daemon %.1f s (%.1f us a job), the %s workers %.1f s (%.1f us a job)\n",
		d, d * 1e6 / j, "'"$n"'", w, w * 1e6 / j
}'
if [ -n "${JR_BENCH_RATE_ONLY:-}" ]; then
	echo "remote_workers: claim->complete, $n jobring-worker processes: $rate jobs/s (median)"
	exit 0
fi

# --- restart: reconnection ------------------------------------------------------------
phase "restart: stopping the daemon"
kill -TERM "$dpid"; wait "$dpid" 2>/dev/null || true
phase "restart: stopped"
t0=$(now)
start_daemon
t_up=$(now)
until [ "$(metric jobring_socket_connections)" -ge $((n + 1)) ]; do sleep 0.02; done
t_conn=$(now)
phase "restart: claims connected"
before=$(succeeded)
submit "$n"
wait_succeeded $((before + n)) 60
t_work=$(now)

echo "remote_workers: restart measured"
# --- kill -9 mid-run: nothing lost, what ran twice -------------------------------------
before=$(succeeded)
submit "$jobs"
wait_succeeded $((before + jobs / 3))
phase "kill -9"
kill -9 "$dpid"; wait "$dpid" 2>/dev/null || true
start_daemon
phase "started again"
wait_succeeded $((before + jobs)) 120 || true
after=$(succeeded)
failed=$(metric 'jobring_jobs_finished_total{status="failed"}')
twice=$(curl -s --unix-socket "$sock" "http://x/executions?status=failed&limit=100000" |
	{ grep -o '"reason":"coordinator_lost"' || true; } | wc -l)

awk -v n="$n" -v rate="$rate" -v base="$base" -v t0="$t0" -v up="$t_up" -v conn="$t_conn" \
    -v work="$t_work" -v jobs="$jobs" -v got=$((after - before)) -v failed="$failed" \
    -v twice="$twice" 'BEGIN {
	printf "remote_workers: claim->complete, %d jobring-worker processes: %.0f jobs/s (median)\n", n, rate
	if (base > 0)
		printf "remote_workers:   in-process driver, %d workers, same daemon: %.0f jobs/s; ratio %.2fx\n", n, base, rate / base
	printf "remote_workers:   target >= 20000 jobs/s (at 1,000 workers): %s\n", (rate >= 20000 ? "met" : "missed")
	printf "remote_workers: restart: the daemon answered %.2f s after it was started again (its own recovery);\n", up - t0
	printf "remote_workers:   all %d claims connected %.2f s after that, %d jobs submitted then done %.2f s after it (target <= 5 s: %s)\n",
		n, conn - up, n, work - up, (conn - up <= 5 ? "met" : "missed")
	printf "remote_workers: kill -9 mid-run: %d of %d jobs succeeded (%s), %d failed; %d executions run twice (coordinator_lost)\n",
		got, jobs, (got == jobs ? "none lost" : "LOST SOME"), failed, twice
	exit (got == jobs ? 0 : 1)
}'
