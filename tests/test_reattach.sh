#!/usr/bin/env bash
# test_reattach.sh - external workers keep their executions across a
# restart of jobringd (issue 17, item 5), curl standing in for the worker:
# a worker that comes back and heartbeats keeps its execution (same
# attempt, same execution id, its old lease accepted once: the job
# succeeds at attempt 1, a second completion is refused); one that does
# not come back loses its execution (worker_lost) within the heartbeat
# timeout of the restart, and the job is retried; a worker killed while
# the daemon runs likewise. Both after kill -9 with the state in the
# journal and with it in a snapshot, and after a clean stop (the survivor
# only). A time limit that passed while the daemon was down ends the
# execution at the start, and the worker hears "stop"; a worker that
# registers anew completes what its old number held; the lease key file:
# 0600, refused open to others, and without it (an upgrade) nothing is
# re-attached. About 30 s (three heartbeat timeouts of 3 s).
# Usage: tests/test_reattach.sh BUILD_DIR
set -u
build=${1:-build/debug}
daemon="$build/jobringd"
tmp=$(mktemp -d /tmp/jr-reattach-XXXXXX)
sock="$tmp/s.sock"
. "$(dirname "$0")/lib.sh"

hb=3	# --heartbeat-timeout after a restart, seconds
base=(--no-keeper --no-cgroups --capacity 4096 --grace 100ms)
opts=("${base[@]}" --heartbeat-timeout "$hb")
# Before the restart, the workers must not be lost while the test gets
# ready on a slow machine: the timeout is not kept across a restart.
calm=("${base[@]}" --heartbeat-timeout 60)

register() {	# register NAME: sets $wid
	req POST /workers/register "{\"name\":\"$1\"}"
	wid=$(field worker_id)
}
submit() {	# submit [EXTRA JSON FIELDS]: an external job, sets $job
	req POST /jobs "{\"executor\":\"external\",\"command\":[\"true\"]${1:+,$1}}"
	job=$(field job_id)
}
claim() {	# claim WORKER JOB: sets $exec and $lease (the job claimed must be JOB)
	req POST "/workers/$1/heartbeat"
	req POST "/workers/$1/claim?wait=5"
	[ "$(field job_id)" = "$2" ] || { echo "claim by $1: wanted $2, got: $body"; return 1; }
	exec=$(field execution_id)
	lease=$(field lease)
}
complete() {	# complete EXEC LEASE: sets $code
	req POST "/executions/$1/complete" "{\"status\":\"succeeded\",\"lease\":\"$2\"}"
}
started() {	# started JOB: its start is in the journal (a claim is answered before)
	"$build/jobring-journal" dump "$tmp/state" 2>/dev/null | grep -q "start .*job=$1"
}
job_is() {	# job_is JOB STATUS ATTEMPT WORKER
	req GET "/jobs/$1"
	[ "$(field status)/$(field attempts)/$(field worker_id)" = "$2/$3/$4" ] ||
		{ echo "  job $1: $(field status)/$(field attempts)/$(field worker_id), not $2/$3/$4"; false; }
}
snapshot_done() { req GET /health; grep -q '"snapshotting":false' <<<"$body"; }
now_ms() { date +%s%3N; }
ms_of() { date -d "$1" +%s%3N; }	# ms_of RFC3339: milliseconds since the epoch
# beat_start WORKER: heartbeat it every 0.3 s in the background (a loaded
# machine may stall the test's own requests longer than the timeout);
# beat_stop.
beat_start() {
	while :; do
		curl -s -o /dev/null --unix-socket "$sock" -X POST "http://jobring/workers/$1/heartbeat"
		nap 0.3
	done &
	beat_pid=$!
	pids+=("$beat_pid")
}
beat_stop() { kill "$beat_pid" 2>/dev/null; wait "$beat_pid" 2>/dev/null; true; }
answered() { [ "$code" = "$1" ] || { echo "  $code $body"; false; }; }	# answered CODE
told_stop() {	# told_stop EXEC REASON: $body (a heartbeat's answer) lists it in "stop"
	grep -q "\"execution_id\":\"$1\",\"reason\":\"$2\"" <<<"$body" || { echo "  $code $body"; false; }
}
retried() {	# retried JOB: waiting again after worker_lost, or claimed again
	req GET "/jobs/$1"
	[ "$(field reason)" = worker_lost ] || [ "$(field attempts)" = 2 ]
}

# restart_case HOW: HOW is "journal", "snapshot" or "term". Two workers
# claim one job each; the daemon is killed (HOW: after a snapshot) or
# stopped and started again; the survivor heartbeats, the other is gone.
restart_case() {
	local how=$1 keep keep_exec keep_lease lost lost_exec lost_lease since lost_ms
	remove_state
	start_daemon "${calm[@]}"
	register survivor; local w_keep=$wid
	register doomed; local w_lost=$wid
	submit; keep=$job
	claim "$w_keep" "$keep" || { stop_daemon KILL; return 1; }
	keep_exec=$exec keep_lease=$lease
	submit '"max_retries":1,"retry_backoff":"50ms"'; lost=$job
	claim "$w_lost" "$lost" || { stop_daemon KILL; return 1; }
	lost_exec=$exec lost_lease=$lease
	check "$how: both starts journaled" wait_until 10 started "$lost"
	if [ "$how" = snapshot ]; then
		req POST /snapshot
		check "$how: snapshot asked" [ "$code" = 202 ]
		check "$how: ... written" wait_until 20 snapshot_done
	fi
	if [ "$how" = term ]; then
		check "$how: a clean stop" stop_daemon TERM
	else
		stop_daemon KILL
	fi
	start_daemon "${opts[@]}"
	# The survivor's first requests come at once: a loaded machine may
	# take seconds for each of the test's requests.
	req GET "/workers/$w_keep"
	local shown=$body
	req POST "/workers/$w_keep/heartbeat" '{"status":"busy"}'
	beat_start "$w_keep"
	check "$how: its heartbeat: 200, nothing to stop" \
		eval '[ "$code" = 200 ] && grep -q "\"stop\":\[\]" <<<"$body"'
	body=$shown
	check "$how: $w_keep holds it again" [ "$(field running)" = 1 ]
	check "$how: ... shown unhealthy until it heartbeats" [ "$(field status)" = unhealthy ]
	req GET "/workers/$w_lost"	# its timeout counts from its last_heartbeat: the restart
	since=$(ms_of "$(field last_heartbeat)")
	check "$how: the kept job runs on: attempt 1 on $w_keep" job_is "$keep" running 1 "$w_keep"
	req GET "/workers/$w_keep"
	check "$how: ... busy again" [ "$(field status)" = busy ]
	if [ $(($(now_ms) - since)) -lt $((hb * 1000 - 500)) ]; then	# a slow machine may be past it
		check "$how: the other job waits for its worker meanwhile" \
			job_is "$lost" running 1 "$w_lost"
	fi
	if [ "$how" != term ]; then	# (a clean stop: the survivor only, to save a timeout)
		check "$how: $w_lost silent: its job retried (worker_lost) within the timeout" \
			wait_until $((hb + 6)) retried "$lost"
	fi
	complete "$keep_exec" "$keep_lease"
	check "$how: the old lease completes it: 200" [ "$code" = 200 ]
	check "$how: ... succeeded at attempt 1" job_is "$keep" succeeded 1 "$w_keep"
	req GET "/executions?job_id=$keep"
	check "$how: ... one execution only" [ "$(grep -o '"execution_id"' <<<"$body" | wc -l)" = 1 ]
	complete "$keep_exec" "$keep_lease"
	check "$how: a second completion: 409" [ "$code" = 409 ]
	if [ "$how" != term ]; then
		req GET "/executions/$lost_exec"
		lost_ms=$(($(ms_of "$(field ended_at)") - since))
		echo "$how: $w_lost's execution lost $lost_ms ms after the restart (the daemon's" \
			"clock; heartbeat timeout ${hb} s, checked every 0.5 s)"
		check "$how: ... after the timeout, not before" [ "$lost_ms" -ge $((hb * 1000)) ]
		complete "$lost_exec" "$lost_lease"
		check "$how: the lost attempt's completion: 409 lease_expired" \
			eval '[ "$code" = 409 ] && grep -q lease_expired <<<"$body"'
		check "$how: the retried job claimed as attempt 2" claim "$w_keep" "$lost"
		complete "$exec" "$lease"
		check "$how: ... and completed" job_is "$lost" succeeded 2 "$w_keep"
		req GET "/executions/$lost_exec"
		check "$how: its attempt 1 lost with its worker" \
			grep -q '"status":"failed".*"reason":"worker_lost"' <<<"$body"
	fi
	beat_stop
	check "$how: the daemon stops cleanly" stop_daemon TERM
}

restart_case journal
restart_case snapshot
restart_case term

# --- the lease key ----------------------------------------------------------------------------
check "lease.key: mode 0600" [ "$(stat -c %a "$tmp/state/lease.key")" = 600 ]
chmod 644 "$tmp/state/lease.key"
spawn_daemon "${opts[@]}"
exited() { ! kill -0 "$daemon_pid" 2>/dev/null; }
check "lease.key readable by others: refused at start" wait_until 5 exited
kill -9 "$daemon_pid" 2>/dev/null
wait "$daemon_pid" 2>/dev/null
check "... saying why" grep -q "lease.key must be a regular file of uid" "$tmp/daemon.log"
chmod 600 "$tmp/state/lease.key"

# --- a time limit passed while the daemon was down; a lease of another start ------------------
remove_state
start_daemon "${calm[@]}"
register timed; w=$wid
submit '"timeout":"3s"'; timed=$job
claim "$w" "$timed"
t0=$(now_ms)
timed_exec=$exec timed_lease=$lease
check "time limit: its start journaled" wait_until 10 started "$timed"
stop_daemon KILL
left=$((t0 + 3300 - $(now_ms)))
[ "$left" -gt 0 ] && sleep "$((left / 1000)).$(printf %03d $((left % 1000)))"
start_daemon "${calm[@]}"	# (its worker's loss is not what this is about)
check "time limit passed while down: ended as timeout at the start" \
	wait_until 5 eval 'req GET "/jobs/$timed"; [ "$(field reason)" = timeout ]'
req POST "/workers/$w/heartbeat"
check "... its worker is told to stop it" told_stop "$timed_exec" timeout
req GET "/workers/$w"
check "... and holds nothing" [ "$(field running)" = 0 ]
complete "$timed_exec" "$timed_lease"
check "... its completion: 409" [ "$code" = 409 ]
submit; j=$job
claim "$w" "$j"
if [ "${lease: -1}" = 0 ]; then wrong="${lease%?}1"; else wrong="${lease%?}0"; fi
complete "$exec" "$wrong"
check "a wrong lease: 403 invalid_lease" eval '[ "$code" = 403 ] && grep -q invalid_lease <<<"$body"'
complete "$exec" "$lease"
check "the right one: 200" answered 200

# --- a worker registered anew completes what its old number holds; no key -----------------
submit; kept=$job
claim "$w" "$kept"
kept_exec=$exec kept_lease=$lease
submit; old=$job
claim "$w" "$old"
old_exec=$exec old_lease=$lease
check "re-register: both starts journaled" wait_until 10 started "$old"
stop_daemon KILL
start_daemon "${opts[@]}"
register "same node, new number"
complete "$kept_exec" "$kept_lease"
check "re-registered as $wid: the old number's execution completes (same uid, its lease): 200" \
	[ "$code" = 200 ]
check "... succeeded at attempt 1" job_is "$kept" succeeded 1 "$w"
complete "$old_exec" "$old_lease"
check "... and the other: 200, attempt 1" job_is "$old" succeeded 1 "$w"
w=$wid
stop_daemon TERM
start_daemon "${calm[@]}"
req POST "/workers/$w/heartbeat"
submit '"max_retries":1,"retry_backoff":"50ms"'; j=$job
claim "$w" "$j"
check "no key: its start journaled" wait_until 10 started "$j"
stop_daemon KILL
rm "$tmp/state/lease.key"	# as after an upgrade from a daemon without one
start_daemon "${calm[@]}"
check "a new lease key: what ran is not re-attached (its lease is void), but retried" \
	eval 'req GET "/jobs/$j"; [ "$(field reason)" = worker_lost ]'
req POST "/workers/$w/heartbeat"
check "... its worker is told to stop it" told_stop "$exec" worker_lost
check "... lease.key made again" test -f "$tmp/state/lease.key"
claim "$w" "$j"
complete "$exec" "$lease"
check "... its retry succeeds" job_is "$j" succeeded 2 "$w"
stop_daemon TERM
start_daemon "${opts[@]}"

# --- a worker killed while the daemon runs --------------------------------------------------
register victim; w=$wid
submit '"max_retries":1,"retry_backoff":"50ms"'; j=$job
claim "$w" "$j"
check "killed worker: its job retried (worker_lost) within the timeout" \
	wait_until $((hb + 6)) retried "$j"
req GET "/executions/$exec"
lost_ms=$(($(ms_of "$(field ended_at)") - $(ms_of "$(field started_at)")))
echo "kill -9 of a worker: its execution lost $lost_ms ms after its claim, its last sign" \
	"of life (daemon's clock; heartbeat timeout ${hb} s, checked every 0.5 s)"
check "... after the timeout, not before" [ "$lost_ms" -ge $((hb * 1000)) ]
check "the daemon stops cleanly" stop_daemon TERM

echo "test_reattach: $pass passed, $fail failed"
[ "$fail" = 0 ]
