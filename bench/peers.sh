#!/usr/bin/env bash
# bench/peers.sh BUILD_DIR - jobringd against the queue most users would
# pick instead, in the same run: a PostgreSQL jobs table with batched
# INSERTs and dequeue by FOR UPDATE SKIP LOCKED (bench/pgqueue), on a
# private data directory and Unix socket, synchronous_commit on. Skips,
# saying so, when PostgreSQL (server and libpq) is not installed.
set -euo pipefail
build=${1:-build/release}
bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
if [ -z "$bindir" ] || [ ! -x "$bindir/initdb" ] || [ ! -x "$build/bench/pgqueue" ]; then
	echo "bench-peers: SKIPPED: PostgreSQL is not installed (apt-get install postgresql libpq-dev)"
	exit 0
fi
dir=$(mktemp -d /tmp/jr-peers-XXXXXX)
chmod 755 "$dir"
run_pg() {	# as a user who is not root: initdb and postgres refuse root
	if [ "$(id -u)" = 0 ]; then runuser -u nobody -- "$@"; else "$@"; fi
}
[ "$(id -u)" = 0 ] && chown nobody "$dir"
port=54329
cleanup() {
	run_pg "$bindir/pg_ctl" -D "$dir/data" -m fast stop >/dev/null 2>&1 || true
	rm -rf "$dir"
}
trap cleanup EXIT
run_pg "$bindir/initdb" -D "$dir/data" -U postgres -A trust >/dev/null
run_pg "$bindir/pg_ctl" -D "$dir/data" -l "$dir/log" -w -o "-k $dir -p $port \
	-c listen_addresses='' -c fsync=on -c synchronous_commit=on -c max_connections=100 \
	-c shared_buffers=256MB" start >/dev/null
pg_version=$("$bindir/postgres" --version)

echo "bench-peers: jobringd and $pg_version on this machine, median of ${JR_BENCH_RUNS:-3} runs each"
jr=$("$build/bench/durable" --json)
pg=$("$build/bench/pgqueue" "$dir" "$port" --json)
get() { printf '%s' "$1" | grep -o "\"$2\":[0-9.]*" | cut -d: -f2; }
awk -v jb="$(get "$jr" batch)" -v js="$(get "$jr" single)" -v jp="$(get "$jr" single_p99_ms)" \
    -v pb="$(get "$pg" batch)" -v ps="$(get "$pg" single)" -v pp="$(get "$pg" single_p99_ms)" \
    -v pd="$(get "$pg" dequeue)" -v rec="$(get "$jr" recovery_s)" 'BEGIN {
	printf "  %-44s %12s %12s %8s\n", "", "jobringd", "PostgreSQL", "ratio"
	printf "  %-44s %12.0f %12.0f %7.1fx\n", "durable batch (jobs/s; 10,000 / 100 per request)", jb, pb, jb / pb
	printf "  %-44s %12.0f %12.0f %7.1fx\n", "durable single, 64 connections (jobs/s)", js, ps, js / ps
	printf "  %-44s %12.3f %12.3f\n", "  p99 acknowledgement (ms)", jp, pp
	printf "  %-44s %12s %12.0f\n", "dequeue, SKIP LOCKED (claims/s)", "-", pd
	printf "  %-44s %12.3f\n", "recovery of the batch phase after kill -9 (s)", rec
	printf "  targets: batch >= 5x PostgreSQL: %s; single >= 3x PostgreSQL: %s\n",
		(jb >= 5 * pb) ? "pass" : "MISSED", (js >= 3 * ps) ? "pass" : "MISSED"
}'
