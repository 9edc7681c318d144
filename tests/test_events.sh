#!/usr/bin/env bash
# test_events.sh - GET /events (issue 16): the stream's wire format,
# filters by kind, job and queue, jobring events, resume with
# Last-Event-ID (header and ?last_event_id=) inside the window and
# outside it (event: reset), --private visibility as a second uid (root
# only: jrtest_a), and a slow consumer that does not read while many
# jobs run: the daemon keeps answering, its RSS stays bounded, and the
# consumer gets `event: coalesced` once it reads again. The load is
# 50,000 jobs for external workers (5,000 under build/asan and
# build/tsan): submitted and queued, each one event, none run (50,000
# command jobs took 310 s on the shared 2-core machine: each a process).
# Usage: tests/test_events.sh BUILD_DIR
set -u
build=${1:-build/debug}
build=$(cd "$build" && pwd)
daemon="$build/jobringd"
cli="$build/jobring"
tmp=$(mktemp -d /tmp/jr-events-XXXXXX)
chmod 755 "$tmp"
sock="$tmp/s.sock"
. "$(dirname "$0")/lib.sh"
export JOBRING_SOCKET=$sock
case "$build" in
*/asan|*/tsan) load=5000; echo "sanitizer build: the slow-consumer load is 5,000 jobs" ;;
*) load=${JR_EVENTS_LOAD:-50000} ;;
esac

# stream FILE QUERY [curl args...]: a subscriber in the background, to FILE
stream() {
	local f=$1 q=$2
	shift 2
	curl -sN --unix-socket "$sock" "$@" "http://jobring/events$q" >"$f" 2>/dev/null &
	pids+=($!)
	sleep 0.3
}
submit() { req POST /jobs "{\"command\":[\"true\"]$1}"; }

start_daemon --socket-mode 0666

# --- format and filters --------------------------------------------------------------------
stream "$tmp/all" ""
stream "$tmp/jobs" "?kind=job"
stream "$tmp/q1" "?queue=q1"
req POST /queues '{"name":"q1"}'
submit ',"queue":"q1"'
j1=$(field job_id)
stream "$tmp/one" "?job=$j1&from=oldest"
submit ''
j2=$(field job_id)
check "two jobs end" wait_status "$j2" succeeded
wait_status "$j1" succeeded
sleep 0.5
check "first line: ok comment" [ "$(head -1 "$tmp/all")" = ": ok" ]
check "id, event, data lines" grep -q "^event: job$" "$tmp/all"
check "data has seq, kind, job, status, queue, user, time" \
	grep -q "^data: {\"seq\":[0-9]*,\"kind\":\"job\",\"job\":\"$j2\",\"status\":\"queued\",\"queue\":\"default\",\"user\":\"[^\"]*\",\"time\":\"20[0-9-]*T[0-9:.]*Z\"}$" "$tmp/all"
check "id equals data seq" python3 - "$tmp/all" <<'PY'
import sys, json
blocks = open(sys.argv[1]).read().split("\n\n")
ok = 0
for b in blocks:
    lines = dict(l.split(": ", 1) for l in b.splitlines() if ": " in l and not l.startswith(":"))
    if "data" in lines:
        assert int(lines["id"]) == json.loads(lines["data"])["seq"], b
        ok += 1
assert ok >= 8, ok
PY
check "execution events" grep -q "\"kind\":\"execution\",\"execution\":\"[0-9a-f]*\",\"job\":\"$j1\",\"attempt\":1,\"status\":\"succeeded\"" "$tmp/all"
check "queue event" grep -q '"kind":"queue","change":"created","queue":"q1"' "$tmp/all"
stream "$tmp/ws" "?kind=worker,schedule"
req POST /workers/register '{"name":"ev","resources":{"cpus":1}}'
wid=$(field worker_id)
req POST /schedules '{"name":"ev-hourly","every":"1h","job":{"command":["true"]}}'
req DELETE "/workers/$wid"
sleep 0.5
check "worker registered" grep -q "\"kind\":\"worker\",\"worker\":\"$wid\",\"status\":\"registered\"" "$tmp/ws"
check "worker gone" grep -q "\"worker\":\"$wid\",\"status\":\"gone\"" "$tmp/ws"
check "schedule created" grep -q '"kind":"schedule","schedule":"ev-hourly","change":"created"' "$tmp/ws"
check "kind=worker,schedule: nothing else" not grep -q "^event: \(job\|execution\|queue\)" "$tmp/ws"
check "kind=job: jobs only" not grep -q "^event: \(execution\|queue\)" "$tmp/jobs"
check "kind=job: has jobs" grep -q "^event: job" "$tmp/jobs"
check "queue=q1: only q1" not grep -q "\"queue\":\"default\"" "$tmp/q1"
check "queue=q1: j1" grep -q "\"job\":\"$j1\"" "$tmp/q1"
check "job=: only that job" not grep -q "\"job\":\"$j2\"" "$tmp/one"
check "job=: its end" grep -q "\"job\":\"$j1\",\"status\":\"succeeded\"" "$tmp/one"
req GET "/events?kind=nope"
check "bad kind: 422" [ "$code" = 422 ]
req GET "/events?job=zz"
check "bad job: 422" [ "$code" = 422 ]

# --- jobring events ------------------------------------------------------------------------------
out=$("$cli" events --kind job)
check "cli: one line per event" grep -q "^[0-9:.]*Z job job=$j1 status=succeeded queue=q1" <<<"$out"
check "cli: kind filter" not grep -q " execution " <<<"$out"
out=$("$cli" --json events --job "$j1")
check "cli --json: raw data" grep -q "^{\"seq\":.*\"job\":\"$j1\"" <<<"$out"

# --- resume -------------------------------------------------------------------------------------------
mid=$(grep "^id: " "$tmp/all" | sed -n 3p | cut -c5-)
last=$(grep "^id: " "$tmp/all" | tail -1 | cut -c5-)
# 3 s each to read up to the last id (1 s was not enough on a loaded
# host); compared up to that id.
timeout 3 curl -sN --unix-socket "$sock" -H "Last-Event-ID: $mid" http://jobring/events >"$tmp/resume"
check "resume (header): starts after the id" [ "$(grep '^id: ' "$tmp/resume" | head -1 | cut -c5-)" = $((mid + 1)) ]
check "resume (header): up to the last" grep -q "^id: $last$" "$tmp/resume"
timeout 3 curl -sN --unix-socket "$sock" "http://jobring/events?last_event_id=$mid" >"$tmp/resume2"
upto_last() { sed "/^id: $last\$/q" "$1"; }
check "resume (query) = resume (header)" cmp -s <(upto_last "$tmp/resume") <(upto_last "$tmp/resume2")
timeout 1 curl -sN --unix-socket "$sock" -H "Last-Event-ID: 5" http://jobring/events >"$tmp/reset"
check "resume outside the window: reset first" [ "$(sed -n 2p "$tmp/reset")" = "event: reset" ]
check "reset: then live only" [ "$(grep -c '^event: job' "$tmp/reset")" = 0 ]

# --- visibility (a second uid) --------------------------------------------------------------------
if [ "$(id -u)" = 0 ] && command -v runuser >/dev/null && command -v useradd >/dev/null; then
	id jrtest_a >/dev/null 2>&1 || useradd -M -s /bin/sh jrtest_a
	stop_daemon
	start_daemon --socket-mode 0666 --private
	runuser -u jrtest_a -- curl -sN --unix-socket "$sock" http://jobring/events >"$tmp/other" 2>/dev/null &
	pids+=($!)
	stream "$tmp/rootview" ""
	submit ''
	j3=$(field job_id)
	wait_status "$j3" succeeded
	runuser -u jrtest_a -- curl -s --unix-socket "$sock" -X POST -d '{"command":["true"],"cwd":"/"}' http://jobring/jobs >"$tmp/a.json"
	ja=$(sed 's/.*"job_id":"\([0-9a-f]*\)".*/\1/' "$tmp/a.json")
	wait_status "$ja" succeeded
	sleep 0.5
	check "private: another's job hidden" not grep -q "$j3" "$tmp/other"
	check "private: its own job shown" grep -q "\"job\":\"$ja\"" "$tmp/other"
	check "private: root sees both" grep -q "$ja" "$tmp/rootview"
else
	echo "skip: visibility as a second uid needs root, runuser and useradd"
fi

# --- a batch: one event for a run of consecutive ids in one queue ------------------------------
stream "$tmp/b3" ""
req POST /jobs/batch "$(printf '{"command":["true"],"executor":"external"}\n%.0s' 1 2 3)"
b_first=$(jq -r '.job_ids[0]' <<<"$body")
b_mid=$(jq -r '.job_ids[1]' <<<"$body")
b_last=$(jq -r '.job_ids[2]' <<<"$body")
stream "$tmp/bmid" "?job=$b_mid&last_event_id=1"
sleep 0.5
check "a batch of 3: one event with first, last and count" \
	grep -q "\"kind\":\"job\",\"job\":\"$b_first\",\"last\":\"$b_last\",\"jobs\":3,\"status\":\"submitted\"" "$tmp/b3"
check "a batch of 3: no event of its own for the middle job" not grep -q "\"job\":\"$b_mid\"" "$tmp/b3"
check "?job= of the middle job: the batch's event" grep -q "\"job\":\"$b_first\",\"last\":\"$b_last\"" "$tmp/bmid"

# --- a slow consumer ----------------------------------------------------------------------------
# A subscriber that does not read: curl into a pipe nobody drains until
# the load is done (a fifo opened later).
mkfifo "$tmp/fifo"
curl -sN --unix-socket "$sock" http://jobring/events >"$tmp/fifo" 2>/dev/null &
pids+=($!)
exec 7<>"$tmp/fifo"	# held open, not read: curl blocks, its socket fills
sleep 0.3
rss() { awk '/^VmRSS/ { print $2 }' "/proc/$daemon_pid/status"; }
rss0=$(rss)
python3 - "$load" >"$tmp/batch" <<'PY'
import sys
for i in range(int(sys.argv[1])):  # queues alternate: one event a job
    print('{"command":["true"],"executor":"external"%s}' % (',"queue":"q1"' if i % 2 else ''))
PY
t0=$SECONDS
split -l 5000 "$tmp/batch" "$tmp/part."
for p in "$tmp"/part.*; do
	curl -s --unix-socket "$sock" -X POST -H 'Content-Type: application/x-ndjson' --data-binary @"$p" http://jobring/jobs/batch >/dev/null
	req GET /health
	[ "$code" = 200 ] || break
done
check "the daemon answers during the load" [ "$code" = 200 ]
all_queued() { req GET /health; [ "$(field queued)" -ge "$load" ]; }
check "all $load jobs queued" wait_until 120 all_queued
rss1=$(rss)
echo "slow consumer: $load jobs in $((SECONDS - t0)) s, daemon RSS ${rss0} -> ${rss1} KiB"
check "RSS bounded (< +400 MiB)" [ $((rss1 - rss0)) -lt 409600 ]
# Now read: what was held, then `coalesced` with what was skipped.
timeout 2 cat <&7 >"$tmp/slow" || true
exec 7<&-
check "slow consumer: event: coalesced" grep -q "^event: coalesced$" "$tmp/slow"
check "coalesced: skipped counted" grep -q '"kind":"coalesced","skipped":[1-9][0-9]*' "$tmp/slow"
req GET /health
check "daemon still healthy" [ "$code" = 200 ]

echo "test_events: $pass passed, $fail failed"
[ "$fail" = 0 ]
