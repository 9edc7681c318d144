#!/usr/bin/env bash
# test_progress.sh - live progress: a job's "progress N" lines on
# $JOBRING_PROGRESS_FD show in GET /jobs/{id} while it runs, with the
# keeper and without it (runner threads); a job that floods its progress
# pipe leaves the daemon responsive and the keeper's PROGRESS frames
# bounded; external workers report progress by POST
# /executions/{id}/progress and in heartbeats, bad values refused.
# Usage: tests/test_progress.sh BUILD_DIR
set -u
build=${1:-build/debug}
daemon="$build/jobringd"
cli="$build/jobring"
tmp=$(mktemp -d /tmp/jr-progress-XXXXXX)
chmod 755 "$tmp"
sock="$tmp/s.sock"
. "$(dirname "$0")/lib.sh"

progress_is() { req GET "/jobs/$1"; field_is progress "$2"; }
# A job that reports 10, 50 and 90, each once the test has seen the one
# before ($tmp/LABEL-P; at most 30 s each: on a loaded host a fixed pace
# outran the checks), then ends.
steps() {
	echo "{\"command\":[\"sh\",\"-c\",\"for p in 10 50 90; do echo progress \$p >&\$JOBRING_PROGRESS_FD; i=0; while [ ! -e $tmp/$1-\$p ] && [ \$i -lt 300 ]; do sleep 0.1; i=\$((i + 1)); done; done\"]}"
}

live_steps() {	# live_steps LABEL: the three values seen while it runs
	req POST /jobs "$(steps "$1")"
	local id
	id=$(field job_id)
	check "$1: job running" wait_until 20 status_is "$id" running
	for p in 10 50 90; do
		check "$1: progress $p while it runs" wait_until 10 progress_is "$id" "$p"
		req GET "/jobs/$id"
		check "$1: ... and still running at $p" [ "$(field status)" = running ]
		touch "$tmp/$1-$p"
	done
	check "$1: it ends with progress 90" wait_until 10 status_is "$id" succeeded
	req GET "/jobs/$id"
	check "$1: ... kept after its end" [ "$(field progress)" = 90 ]
}
status_is() { req GET "/jobs/$1"; field_is status "$2"; }

health_ms() {	# the time /health takes to answer, in ms
	curl -s -o /dev/null -w '%{time_total}' --unix-socket "$sock" http://x/health |
		awk '{ printf "%d", $1 * 1000 }'
}
frames() { req GET /health; field progress_frames; }

# --- with the keeper -------------------------------------------------------------------------
start_daemon
live_steps keeper

# A job that floods its pipe for 2 s with ever-changing values (and
# garbage): the daemon answers quickly throughout, the keeper sends at most
# one PROGRESS frame per 100 ms, and a line written after the flood counts.
before=$(frames)
cat >"$tmp/flood.sh" <<'FLOOD'
printf 'progress 250\nxx\nprogress -4\n' >&$JOBRING_PROGRESS_FD
# The pipe never blocks the job: a write that finds it full fails (EAGAIN).
timeout 2 sh -c 'i=0; while :; do echo "progress $((i % 100))"; i=$((i + 1)); done' \
	>&$JOBRING_PROGRESS_FD 2>/dev/null
sleep 0.3	# the pipe is read again within 100 ms
echo progress 64 >&$JOBRING_PROGRESS_FD
FLOOD
req POST /jobs "{\"command\":[\"sh\",\"$tmp/flood.sh\"]}"
flood=$(field job_id)
check "flood: running" wait_until 20 status_is "$flood" running
t0=$SECONDS worst=0 bad_values=0
while [ $((SECONDS - t0)) -lt 2 ]; do
	ms=$(health_ms)
	[ "$ms" -gt "$worst" ] && worst=$ms
	req GET "/jobs/$flood"
	p=$(field progress)
	{ [ "$p" -ge -1 ] && [ "$p" -le 100 ]; } || bad_values=$((bad_values + 1))
done
check "flood: /health answered within 500 ms throughout (worst $worst ms)" [ "$worst" -lt 500 ]
check "flood: progress stayed within 0..100" [ "$bad_values" = 0 ]
check "flood: the job ends" wait_until 20 status_is "$flood" succeeded
check "flood: a line after the flood counts (64)" progress_is "$flood" 64
after=$(frames)
elapsed=$((SECONDS - t0 + 2))
check "flood: PROGRESS frames bounded ($((after - before)) in ~${elapsed} s)" \
	[ $((after - before)) -le $((elapsed * 10 + 5)) ]
check "flood: ... and it did report while running" [ $((after - before)) -ge 3 ]

# Many jobs writing changing values at once: still one frame per tick.
stop_daemon
check "a clean stop exits 0 (under a sanitizer: no leak)" [ $? = 0 ]
start_daemon --topology "package:1 core:128 pu:1"
before=$(frames)
: >"$tmp/many"
for i in $(seq 100); do
	echo '{"command":["sh","-c","i=0; while [ $i -lt 3000 ]; do echo progress $((i % 100)); i=$((i + 1)); done >&$JOBRING_PROGRESS_FD 2>/dev/null; sleep 1; echo progress 99 >&$JOBRING_PROGRESS_FD"]}'
done >"$tmp/many"
t0=$SECONDS
body=$(curl -s --unix-socket "$sock" -X POST --data-binary @"$tmp/many" http://x/jobs/batch)
mapfile -t many < <(printf '%s' "$body" | grep -o '"[0-9a-f]\{16\}"' | tr -d '"')
check "many: 100 jobs accepted" [ "${#many[@]}" = 100 ]
worst=0
busy() { req GET /health; [ $(($(field queued) + $(field running))) -gt 0 ]; }
while busy && [ $((SECONDS - t0)) -lt 60 ]; do
	ms=$(health_ms)
	[ "$ms" -gt "$worst" ] && worst=$ms
	nap 0.1
done
elapsed=$((SECONDS - t0 + 1))
after=$(frames)
check "many: all ended" not busy
check "many: /health within 500 ms throughout (worst $worst ms)" [ "$worst" -lt 500 ]
check "many: PROGRESS frames bounded by the tick ($((after - before)) in ~${elapsed} s)" \
	[ $((after - before)) -le $((elapsed * 10 + 5)) ]
check "many: ... and there were some" [ $((after - before)) -ge 1 ]
last_ok=0
for id in "${many[@]}"; do progress_is "$id" 99 && last_ok=$((last_ok + 1)); done
check "many: each ends with its last value ($last_ok of 100)" [ "$last_ok" = 100 ]

# A running job's last value comes back after kill -9 of the daemon (the
# keeper holds it and says so in LIVE).
# It sleeps 120 s (a sanitizer daemon restarting on a loaded host took
# over 5 s) and is cancelled once checked.
req POST /jobs '{"command":["sh","-c","echo progress 40 >&$JOBRING_PROGRESS_FD; sleep 120"]}'
held=$(field job_id)
check "restart: 40 before" wait_until 10 progress_is "$held" 40
stop_daemon KILL
start_daemon
req GET "/jobs/$held"
check "restart: still running after kill -9" [ "$(field status)" = running ]
check "restart: ... and still 40" [ "$(field progress)" = 40 ]
req PUT "/jobs/$held/cancel"
check "restart: cancelled" wait_until 20 status_is "$held" cancelled
stop_daemon
check "a clean stop exits 0 (under a sanitizer: no leak)" [ $? = 0 ]

# --- without the keeper (runner threads) ----------------------------------------------------------
start_daemon --no-keeper
live_steps no-keeper
stop_daemon
check "a clean stop exits 0 (under a sanitizer: no leak)" [ $? = 0 ]

# --- external workers -----------------------------------------------------------------------------
start_daemon
req POST /workers/register '{"name":"ext"}'
w=$(field worker_id)
req POST /workers/register '{"name":"other"}'
w2=$(field worker_id)
req POST /jobs '{"executor":"external"}'
job=$(field job_id)
req POST "/workers/$w/claim?wait=2"
ex=$(field execution_id)
lease=$(field lease)
check "external: claimed" [ -n "$ex" ] && [ -n "$lease" ]
req GET "/jobs/$job"
check "external: no progress before a report" [ "$(field progress)" = -1 ]
req POST "/executions/$ex/progress" "{\"lease\":\"$lease\",\"progress\":30}"
check "external: report 200" [ "$code" = 200 ]
check "external: the answer is the execution, progress 30" [ "$(field progress)" = 30 ]
check "external: GET /jobs/{id} shows 30" progress_is "$job" 30
req GET "/executions/$ex"
check "external: GET /executions/{id} shows 30" [ "$(field progress)" = 30 ]
req POST "/executions/$ex/progress" '{"progress":40}'
check "external: without the lease 403 invalid_lease" [ "$code" = 403 ] && grep -q invalid_lease <<<"$body"
req POST "/executions/$ex/progress" '{"lease":"00","progress":40}'
check "external: a wrong lease 403" [ "$code" = 403 ]
for bad in 101 -1 50.5; do
	req POST "/executions/$ex/progress" "{\"lease\":\"$lease\",\"progress\":$bad}"
	check "external: progress $bad 422 invalid_value" [ "$code" = 422 ] && grep -q invalid_value <<<"$body"
done
req POST "/executions/$ex/progress" "{\"lease\":\"$lease\",\"progress\":\"half\"}"
check "external: progress as a string 400" [ "$code" = 400 ]
req POST "/executions/$ex/progress" "{\"lease\":\"$lease\""
check "external: broken JSON 400" [ "$code" = 400 ]
check "external: ... none of them changed it" progress_is "$job" 30
req POST "/executions/ffffffffffffffff/progress" "{\"lease\":\"$lease\",\"progress\":1}"
check "external: unknown execution 404" [ "$code" = 404 ]
req POST "/workers/$w/heartbeat" "{\"progress\":{\"$ex\":55}}"
check "external: heartbeat with progress 200" [ "$code" = 200 ]
check "external: ... applied to 1" [ "$(field progress_applied)" = 1 ]
check "external: GET /jobs/{id} shows 55" progress_is "$job" 55
req POST "/workers/$w2/heartbeat" "{\"progress\":{\"$ex\":77}}"
check "external: another worker's heartbeat applies nothing" [ "$(field progress_applied)" = 0 ]
check "external: ... still 55" progress_is "$job" 55
req POST "/workers/$w/heartbeat" "{\"progress\":{\"$ex\":170}}"
check "external: heartbeat value 170 422" [ "$code" = 422 ]
req POST "/workers/$w/heartbeat" '{"progress":[1]}'
check "external: heartbeat progress not an object 400" [ "$code" = 400 ]
req POST "/workers/$w/heartbeat" '{"progress":{"zz":1}}'
check "external: heartbeat with a bad execution id 422" [ "$code" = 422 ]
req POST "/workers/$w/heartbeat"
check "external: a plain heartbeat still 200" [ "$code" = 200 ]
req POST "/executions/$ex/complete" "{\"status\":\"failed\",\"result\":3,\"lease\":\"$lease\"}"
check "external: complete 200" [ "$code" = 200 ]
req POST "/executions/$ex/progress" "{\"lease\":\"$lease\",\"progress\":60}"
check "external: report after the end 409" [ "$code" = 409 ]
req POST /jobs '{"command":["sleep","5"]}'
local_job=$(field job_id)
check "external: local job running" wait_until 20 status_is "$local_job" running
req GET "/jobs/$local_job"
req POST "/executions/$(field execution_id)/progress" '{"lease":"x","progress":1}'
check "external: a local execution 409 not_external" [ "$code" = 409 ] && grep -q not_external <<<"$body"
stop_daemon
check "a clean stop exits 0 (under a sanitizer: no leak)" [ $? = 0 ]

echo "test_progress: $pass passed, $fail failed"
[ "$fail" = 0 ]
