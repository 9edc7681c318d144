#!/usr/bin/env bash
# test_longpoll.sh - external workers' long polls (issue 14): a waiting
# claim is answered as soon as a job comes (not a tick later), a burst of
# jobs reaches every waiting worker once each while heartbeats are answered
# at once, a wait ends with 204 on time, a removed worker's wait gets 404,
# and a claim that finds nothing does not stop a worker with other
# capabilities, waiting behind it, from getting its job.
# Usage: tests/test_longpoll.sh BUILD_DIR
set -u
build=${1:-build/debug}
daemon="$build/jobringd"
cli="$build/jobring"
tmp=$(mktemp -d /tmp/jr-longpoll-XXXXXX)
sock="$tmp/s.sock"
. "$(dirname "$0")/lib.sh"

now() { date +%s.%N; }
# claim_bg WORKER WAIT OUT: a long poll in the background; OUT gets the
# body, then a line "CODE START TOTAL" (start: when curl was launched)
claim_bg() {
	local start
	start=$(now)
	( curl -s -o "$3.body" -w "%{http_code} $start %{time_total}\n" --unix-socket "$sock" \
		-X POST "http://jobring/workers/$1/claim?wait=$2" > "$3"; ) &
	pids+=($!)
}
answered_at() { awk '{ printf "%.6f", $2 + $3 }' "$1"; }
code_of() { awk '{ print $1 }' "$1"; }
# seconds between two timestamps, as a number awk compares
within() { awk -v a="$1" -v b="$2" -v lim="$3" 'BEGIN { exit !(b - a <= lim) }'; }

start_daemon --heartbeat-timeout 30
workers=()
for i in $(seq 40); do
	req POST /workers/register "{\"name\":\"lp-$i\"}"
	workers+=("$(field worker_id)")
done
check "40 workers registered" [ "${#workers[@]}" = 40 ] && [ -n "${workers[39]}" ]

# --- one waiting claim, one job: answered within a second of it -------------------
w=${workers[0]}
claim_bg "$w" 20 "$tmp/one"
sleep 0.3
t_sub=$(now)
req POST /jobs '{"executor":"external","name":"wake"}'
wait_until 10 test -s "$tmp/one"
check "the waiting claim got the job" [ "$(code_of "$tmp/one")" = 200 ]
check "answered within 1 s of the submission" within "$t_sub" "$(answered_at "$tmp/one")" 1
body=$(cat "$tmp/one.body")
req POST "/executions/$(field execution_id)/complete" \
	"{\"status\":\"succeeded\",\"lease\":\"$(field lease)\"}"
check "completed" [ "$code" = 200 ]

# --- 40 waiting, a batch of 40: each gets one, heartbeats meanwhile -------------
for i in $(seq 0 39); do claim_bg "${workers[$i]}" 20 "$tmp/c$i"; done
sleep 0.5
lines=""
for i in $(seq 40); do lines+="{\"executor\":\"external\",\"name\":\"burst-$i\"}"$'\n'; done
req POST /jobs/batch "$lines"
check "batch 201" [ "$code" = 201 ]
t_hb=$(now)
req POST "/workers/${workers[0]}/heartbeat"
check "a heartbeat during the burst 200" [ "$code" = 200 ]
check "a heartbeat during the burst answered within 1 s" within "$t_hb" "$(now)" 1
for i in $(seq 0 39); do wait_until 10 test -s "$tmp/c$i"; done
ok=0
: > "$tmp/ids"
for i in $(seq 0 39); do
	[ "$(code_of "$tmp/c$i")" = 200 ] && ok=$((ok + 1))
	body=$(cat "$tmp/c$i.body")
	field job_id >> "$tmp/ids"
done
check "all 40 waiting claims got a job" [ "$ok" = 40 ]
check "40 different jobs" [ "$(sort -u "$tmp/ids" | grep -c .)" = 40 ]
req GET "/jobs?status=queued&limit=100"
check "none of the burst left queued" not grep -q '"name":"burst-' <<<"$body"

# --- a wait ends on time with 204 ----------------------------------------------
w=${workers[1]}
req POST "/workers/$w/heartbeat"
claim_bg "$w" 1 "$tmp/short"
wait_until 10 test -s "$tmp/short"
check "an empty wait ends with 204" [ "$(code_of "$tmp/short")" = 204 ]
check "after about its wait" awk '{ exit !($3 >= 0.9 && $3 <= 3) }' "$tmp/short"

# --- a removed worker's wait gets 404 ----------------------------------------------
req POST /workers/register '{"name":"lp-gone"}'
gone=$(field worker_id)
claim_bg "$gone" 20 "$tmp/gone"
sleep 0.3
req DELETE "/workers/$gone"
check "removed 200" [ "$code" = 200 ]
wait_until 5 test -s "$tmp/gone"
check "its waiting claim got 404" [ "$(code_of "$tmp/gone")" = 404 ]

# --- a claim that finds nothing does not hide a job from another kind of worker --
req POST /workers/register '{"name":"lp-gpu","capabilities":["gpu"]}'
gpu=$(field worker_id)
plain=${workers[2]}
claim_bg "$plain" 20 "$tmp/plain"	# first in line, cannot run the gpu job
sleep 0.2
claim_bg "$gpu" 20 "$tmp/gpu"
sleep 0.3
req POST /jobs '{"executor":"external","name":"needs-gpu","requirements":{"capabilities":["gpu"]}}'
gpu_job=$(field job_id)
wait_until 5 test -s "$tmp/gpu"
check "the gpu worker behind got the gpu job" [ "$(code_of "$tmp/gpu")" = 200 ] &&
	grep -q "\"job_id\":\"$gpu_job\"" "$tmp/gpu.body"
check "the plain worker still waits" [ ! -s "$tmp/plain" ]
req POST /jobs '{"executor":"external","name":"plain"}'
wait_until 5 test -s "$tmp/plain"
check "then gets the plain job" [ "$(code_of "$tmp/plain")" = 200 ] &&
	grep -q '"name":"plain"' "$tmp/plain.body"

check "a clean stop exits 0 (under ASan: no leak)" stop_daemon
grep -q "runtime error\|Sanitizer" "$tmp/daemon.log" && { echo "FAIL: sanitizer:"; cat "$tmp/daemon.log"; fail=$((fail + 1)); }
echo "test_longpoll: $pass passed, $fail failed"
[ "$fail" = 0 ]
