#!/usr/bin/env bash
# test_snapshot.sh - snapshots are written in the background: while one of
# 1,000,000 queued jobs is written, a client probing /health every 10 ms
# never waits 50 ms; the snapshot then holds every job (a restart from it
# brings all back), including a running job's process (taken back after
# kill -9) and a retry's backoff; jobs submitted while it is written are
# kept too (the journal after it). Skipped under the sanitizers (they
# slow the loop down tenfold; the code is the same).
# Usage: tests/test_snapshot.sh BUILD_DIR
set -u
build=${1:-build/debug}
case "$build" in
*asan* | *tsan*) echo "SKIP: snapshot latency is measured in the debug build only"; exit 0 ;;
esac
daemon="$build/jobringd"
cli="$build/jobring"
probe="$build/tests/probe"
tmp=$(mktemp -d /tmp/jr-snapshot-XXXXXX)
sock="$tmp/s.sock"
. "$(dirname "$0")/lib.sh"

jobs=$((1000000 / ${JR_TEST_SCALE:-1}))
queued_is() { req GET /health; field_is queued "$1"; }
snapshot_over() { req GET /health; grep -q '"snapshotting":false' <<<"$body"; }

start_daemon --paused --capacity 1100000 --topology "package:1 core:8 pu:1"
req POST /jobs '{"command":["sleep","60"]}'	# not started: paused
for i in $(seq 10000); do echo "{\"command\":[\"true\"],\"name\":\"s$i\"}"; done >"$tmp/b10k"
for _ in $(seq $((jobs / 10000))); do
	curl -s --unix-socket "$sock" -X POST --data-binary @"$tmp/b10k" http://x/jobs/batch >/dev/null
done
want=$(((jobs / 10000) * 10000 + 1))
check "$want jobs queued" queued_is "$want"

# A snapshot that blocked the loop would be slow every time; a loaded
# machine that preempts the daemon once is not: up to 3 snapshots, and
# one whose slowest answer stayed under 50 ms passes.
for try in 1 2 3; do
	req POST /snapshot
	[ "$try" = 1 ] && check "POST /snapshot starts one (202)" [ "$code" = 202 ]
	out=$("$probe" "$sock" 10 120 --snapshot)
	echo "probe while writing (try $try): $out"
	max=$(sed -n 's/.*max_ms \([0-9.]*\).*/\1/p' <<<"$out")
	wait_until 60 snapshot_over
	grep -q 'snapshot_seen 1' <<<"$out" && awk -v m="$max" 'BEGIN { exit !(m < 50) }' && break
done
check "the probe saw the snapshot being written" grep -q 'snapshot_seen 1' <<<"$out"
check "no /health answer took 50 ms or more (slowest $max ms, try $try)" \
	awk -v m="$max" 'BEGIN { exit !(m < 50) }'
check "the snapshot is over" wait_until 60 snapshot_over
grep 'snapshot (asked for)' "$tmp/daemon.log" | tail -1
check "the log says how long it took, and how much on the loop" \
	grep -q 'snapshot (asked for): .* jobs, .* ms (.* ms of it on the event loop, at most .* ms at once, in .*)' "$tmp/daemon.log"
req POST /jobs '{"command":["true"],"name":"after"}'
after=$(field job_id)
stop_daemon KILL
check "the snapshot is in place" ls -d "$tmp"/state/snapshot-* >/dev/null
start_daemon --paused --capacity 1100000 --topology "package:1 core:8 pu:1"
check "after kill -9: all $((want + 1)) back (snapshot + journal)" wait_until 60 queued_is $((want + 1))
req GET "/jobs/$after"
check "... the job submitted after the snapshot too" [ "$code" = 200 ]
grep 'recovered' "$tmp/daemon.log" | tail -1
stop_daemon KILL

# --- a running job and a backoff in a snapshot ---------------------------------------------------
remove_state
start_daemon
req POST /jobs '{"command":["sh","-c","echo pid $$; sleep 5; exit 6"]}'
run=$(field job_id)
req POST /jobs '{"command":["false"],"max_retries":1,"retry_backoff":"1h"}'
backoff=$(field job_id)
wait_status "$run" running
wait_status "$backoff" pending
req POST /snapshot
check "snapshot asked for" [ "$code" = 202 ]
wait_until 20 snapshot_over
stop_daemon KILL
rm -f "$tmp"/state/journal/journal-*.log	# only the snapshot can tell now
start_daemon
req GET "/jobs/$run"
check "a running job in a snapshot is taken back after kill -9" [ "$(field status)/$(field attempts)" = running/1 ]
check "... and ends with its own exit code" wait_status "$run" failed
req GET "/jobs/$run"
check "... 6" [ "$(field exit_code)" = 6 ]
req GET "/jobs/$backoff"
check "a job in a 1 h backoff is still waiting" [ "$(field status)" = pending ]
stop_daemon KILL

echo "test_snapshot: $pass passed, $fail failed"
[ "$fail" = 0 ]
