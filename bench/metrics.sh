#!/usr/bin/env bash
# bench/metrics.sh BASE_BUILD NEW_BUILD - what a scrape costs (issue 16):
# each build's jobringd holds 100,000 jobs (pending until 2099), then 200
# GET /metrics on one kept-alive connection (curl) are timed, wall clock
# and the daemon's CPU time (utime + stime of /proc/PID/stat: less
# sensitive to a loaded machine); the two daemons are measured in turns,
# JR_BENCH_RUNS rounds (default 5), and the medians and their ratios
# printed. Release builds:
#   make MODE=release BUILD=build/release build/release/jobringd
set -euo pipefail
base=${1:?BASE_BUILD}
new=${2:?NEW_BUILD}
runs=${JR_BENCH_RUNS:-5}
jobs=${JR_BENCH_JOBS:-100000}
dir=$(mktemp -d /tmp/jr-bench-metrics-XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$dir"; }
trap cleanup EXIT

declare -A pid_of
start() {	# start NAME BUILD: a daemon holding $jobs jobs
	local s="$dir/$1.sock"
	"$2/jobringd" --socket "$s" --state-dir "$dir/$1" --workers 1 2>>"$dir/$1.log" &
	pids+=($!)
	pid_of[$1]=$!
	for _ in $(seq 600); do curl -sf --unix-socket "$s" http://x/health >/dev/null && break; sleep 0.05; done
	python3 - "$dir/batch" <<'PY'
import sys
with open(sys.argv[1], "w") as f:
    for i in range(10000):
        f.write('{"command":["true"],"scheduled_at":"2099-01-01T00:00:00Z"}\n')
PY
	for _ in $(seq $((jobs / 10000))); do
		curl -sf --unix-socket "$s" -H 'Content-Type: application/x-ndjson' \
			--data-binary @"$dir/batch" http://x/jobs/batch >/dev/null
	done
}
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
scrape() {	# scrape NAME: seconds for 200 GET /metrics, and the daemon's CPU ticks
	local urls=() t0 c0
	for _ in $(seq 200); do urls+=(http://x/metrics); done
	c0=$(cpu_ticks "${pid_of[$1]}")
	t0=$(date +%s.%N)
	curl -s --unix-socket "$dir/$1.sock" "${urls[@]}" >/dev/null
	echo "$(echo "$(date +%s.%N) - $t0" | bc) $(($(cpu_ticks "${pid_of[$1]}") - c0))"
}
start base "$base"
start new "$new"
echo "bench-metrics: 200 GET /metrics with $jobs jobs held, $runs rounds, base then new in turns"
for _ in $(seq "$runs"); do
	echo "base $(scrape base)" >>"$dir/times"
	echo "new $(scrape new)" >>"$dir/times"
done
bytes_base=$(curl -s --unix-socket "$dir/base.sock" http://x/metrics | wc -c)
bytes_new=$(curl -s --unix-socket "$dir/new.sock" http://x/metrics | wc -c)
median() {	# median NAME COLUMN
	grep "^$1 " "$dir/times" | awk -v c="$2" '{ print $c }' | sort -n |
		awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'
}
hz=$(getconf CLK_TCK)
awk -v b="$(median base 2)" -v n="$(median new 2)" -v cb="$(median base 3)" \
    -v cn="$(median new 3)" -v hz="$hz" -v bb="$bytes_base" -v nb="$bytes_new" 'BEGIN {
	printf "  base: %.3f s wall, %.0f ms daemon CPU per 200 (%d bytes each)\n", b, cb * 1000 / hz, bb
	printf "  new:  %.3f s wall, %.0f ms daemon CPU per 200 (%d bytes each)\n", n, cn * 1000 / hz, nb
	printf "  new / base: %.2fx wall, %.2fx CPU\n", n / b, (cb ? cn / cb : 0)
}'
