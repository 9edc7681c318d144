#!/usr/bin/env bash
# test_metrics.sh - /metrics as Prometheus reads it (issue 16), through the
# real jobringd: `promtool check metrics` passes with jobs in every state
# (succeeded, failed, cancelled, queued behind a queue's cap, pending on a
# hold, command jobs running); the counts by state and queue are right; a
# job held ~2 s lands in the wait histogram's (2, 5] bucket; the job totals
# of /metrics and /health are equal after kill -9 and a restart (from the
# journal alone, then from a snapshot and the journal after it); the
# alert rules pass `promtool test rules`; every metric the rules and the
# Grafana dashboard use is in a live /metrics; docs/PROTOCOL.md lists
# exactly the metric families /metrics has. promtool parts skip (saying
# so) without promtool, and under build/asan and build/tsan.
# Usage: tests/test_metrics.sh BUILD_DIR
set -u
build=${1:-build/debug}
daemon="$build/jobringd"
cli="$build/jobring"
tmp=$(mktemp -d /tmp/jr-metrics-XXXXXX)
sock="$tmp/s.sock"
. "$(dirname "$0")/lib.sh"
root=$(cd "$(dirname "$0")/.." && pwd)

promtool=$(command -v promtool || true)
case "$build" in
*asan* | *tsan*) [ -n "$promtool" ] && echo "SKIP: promtool parts run in the debug build only"
	promtool= ;;
esac
[ -z "$promtool" ] && ! command -v promtool >/dev/null && echo "SKIP: promtool not installed: its checks are skipped"

metrics() { curl -s --unix-socket "$sock" http://x/metrics; }
value() {	# value SAMPLE (name with labels, as printed): its value, or "none"
	metrics | awk -v s="$1" '$1 == s { print $2; f = 1 } END { if (!f) print "none" }'
}
totals() {	# the job totals of /metrics and /health, one line
	local m h
	m=$(metrics | grep -E '^jobring_jobs_(submitted|finished)_total' | tr '\n' ' ')
	h=$(curl -s --unix-socket "$sock" http://x/health | grep -o '"\(submitted\|succeeded\|failed\|cancelled\)":[0-9]*' | tr '\n' ' ')
	echo "$m| $h"
}
submit() { req POST /jobs "$1"; field job_id; }
promcheck() { "$promtool" check metrics >"$tmp/promtool.out" 2>&1; }

start_daemon --workers 2

# --- a wait of ~2 s: a held job released -----------------------------------------------------
held=$(submit '{"command":["true"],"hold":true}')
sleep 2.2
req POST "/jobs/$held/release"
check "held job released" [ "$code" = 200 ]
check "released job succeeds" wait_status "$held" succeeded
b2=$(value 'jobring_job_wait_seconds_bucket{le="2"}')
b5=$(value 'jobring_job_wait_seconds_bucket{le="5"}')
check "a 2.2 s wait lands in (2, 5] ($b2, $b5)" [ "$((b5 - b2))" = 1 ]
check "run-time histogram counts the attempt" [ "$(value jobring_job_run_seconds_count)" = 1 ]

# --- jobs in every state -----------------------------------------------------------------------
req POST /queues '{"name":"nightly","max_workers":1}'
check "capped queue" [ "$code" = 201 ]
req POST /queues '{"name":"odd \\\"name\\\\"}'
check "a queue whose name needs escaping" [ "$code" = 201 ]
ok=$(submit '{"command":["true"]}')
bad=$(submit '{"command":["false"]}')
check "a job succeeds" wait_status "$ok" succeeded
check "a job fails" wait_status "$bad" failed
run1=$(submit '{"command":["sleep","60"],"queue":"nightly"}')
check "a command job runs" wait_status "$run1" running
queued=$(submit '{"command":["sleep","60"],"queue":"nightly"}')
pending=$(submit '{"command":["true"],"hold":true}')
run2=$(submit '{"command":["sleep","60"]}')
check "a second command job runs" wait_status "$run2" running
gone=$(submit '{"command":["sleep","60"],"queue":"nightly"}')
req POST "/jobs/$gone/cancel"
check "a queued job cancelled" wait_status "$gone" cancelled
req GET "/jobs/$queued"
check "one job queued behind the cap (API: $(field status))" [ "$(field status)" = queued ]
req GET "/jobs/$pending"
check "one job pending on a hold" [ "$(field status)" = pending ]

check "running command jobs counted (2)" [ "$(value 'jobring_jobs{state="running"}')" = 2 ]
check "queued counted (1)" [ "$(value 'jobring_jobs{state="queued"}')" = 1 ]
check "pending counted, the API's word (1)" [ "$(value 'jobring_jobs{state="pending"}')" = 1 ]
check "no state named held" not grep -q 'state="held"' <<<"$(metrics)"
check "succeeded total 2" [ "$(value 'jobring_jobs_finished_total{status="succeeded"}')" = 2 ]
check "failed total 1" [ "$(value 'jobring_jobs_finished_total{status="failed"}')" = 1 ]
check "cancelled total 1" [ "$(value 'jobring_jobs_finished_total{status="cancelled"}')" = 1 ]
check "submitted total 8" [ "$(value jobring_jobs_submitted_total)" = 8 ]
check "queue nightly: 1 running" [ "$(value 'jobring_queue_jobs{queue="nightly",state="running"}')" = 1 ]
check "queue nightly: 1 waiting" [ "$(value 'jobring_queue_jobs{queue="nightly",state="waiting"}')" = 1 ]
check "queue default: 1 running, 1 waiting" [ "$(value 'jobring_queue_jobs{queue="default",state="running"}') $(value 'jobring_queue_jobs{queue="default",state="waiting"}')" = "1 1" ]
check "queue nightly: 3 submitted" [ "$(value 'jobring_queue_submitted_total{queue="nightly"}')" = 3 ]
check "queue nightly: 1 cancelled" [ "$(value 'jobring_queue_finished_total{queue="nightly",status="cancelled"}')" = 1 ]
check "build info" grep -q '^jobring_build_info{version="[0-9.]*"' <<<"$(metrics)"
check "process metrics" grep -q '^process_resident_memory_bytes [1-9]' <<<"$(metrics)"
check "journal disk free bytes" grep -qE '^jobring_filesystem_free_bytes\{dir="journal"\} [1-9]' <<<"$(metrics)"
check "ack wait in seconds" grep -q '^jobring_journal_ack_wait_max_seconds ' <<<"$(metrics)"
if [ -n "$promtool" ]; then
	metrics >"$tmp/m.txt"
	"$promtool" check metrics <"$tmp/m.txt" >"$tmp/promtool.out" 2>&1
	rc=$?
	check "promtool check metrics passes (rc $rc)" [ "$rc" = 0 ]
	[ "$rc" = 0 ] || cat "$tmp/promtool.out"
fi

# --- the totals after kill -9: from the journal alone, then a snapshot and the journal --------
before=$(totals)
stop_daemon KILL || true
start_daemon --workers 2
check "totals equal after kill -9 (journal): $before" [ "$(totals)" = "$before" ]
check "running jobs taken back counted (2)" wait_until 10 sh -c "curl -s --unix-socket '$sock' http://x/metrics | grep -q '^jobring_jobs{state=\"running\"} 2'"
for id in "$run1" "$run2"; do req POST "/jobs/$id/cancel"; done
check "the running jobs, taken back, cancelled" wait_status "$run2" cancelled
req POST /snapshot
check "snapshot written" wait_until 20 sh -c "curl -s --unix-socket '$sock' http://x/metrics | grep -q '^jobring_snapshots_total 1'"
submit '{"command":["true"]}' >/dev/null
last=$(submit '{"command":["false"]}')
check "a job fails after the snapshot" wait_status "$last" failed
before=$(totals)
stop_daemon KILL || true
start_daemon --workers 2
check "totals equal after kill -9 (snapshot + journal): $before" [ "$(totals)" = "$before" ]
check "submitted total 10 after both restarts" [ "$(value jobring_jobs_submitted_total)" = 10 ]
check "cancelled total 3 after both restarts" [ "$(value 'jobring_jobs_finished_total{status="cancelled"}')" = 3 ]

# --- the rules, the dashboard and the doc against a live /metrics -----------------------------
metrics >"$tmp/m.txt"
grep -v '^#' "$tmp/m.txt" | sed 's/[{ ].*//' | sort -u >"$tmp/samples"
grep -E '^(jobring|process)_' "$tmp/samples" >/dev/null
used=$(cat "$root/contrib/prometheus/jobring-rules.yml" "$root/contrib/grafana/jobring.json" |
	grep -oE '\b(jobring|process)_[a-z0-9_]+' | sort -u)
missing=$(comm -23 <(echo "$used") "$tmp/samples" | tr '\n' ' ')
check "every metric of the rules and dashboard is in /metrics (missing: $missing)" [ -z "$missing" ]
check "the dashboard is valid JSON" python3 -m json.tool "$root/contrib/grafana/jobring.json" >/dev/null
grep '^# TYPE ' "$tmp/m.txt" | awk '{ print $3 }' | sort >"$tmp/families"
sed -n '/^### `GET \/metrics`/,/^## /p' "$root/docs/PROTOCOL.md" |
	grep -oE '^\| `[a-z_]+`' | tr -d '|` ' | sort >"$tmp/documented"
check "docs/PROTOCOL.md lists exactly the families of /metrics: $(diff "$tmp/families" "$tmp/documented" | grep '^[<>]' | tr '\n' ' ')" \
	diff -q "$tmp/families" "$tmp/documented"
if [ -n "$promtool" ]; then
	(cd "$root/contrib/prometheus" && "$promtool" check rules jobring-rules.yml >"$tmp/rules.out" 2>&1 &&
		"$promtool" test rules jobring-rules.test.yml >>"$tmp/rules.out" 2>&1)
	rc=$?
	check "promtool check and test rules pass (rc $rc)" [ "$rc" = 0 ]
	[ "$rc" = 0 ] || cat "$tmp/rules.out"
fi

stop_daemon || true
echo "test_metrics: $pass passed, $fail failed"
[ "$fail" = 0 ]
