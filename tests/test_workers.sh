#!/usr/bin/env bash
# test_workers.sh - external workers with resources and at scale: a claim
# hands out only jobs that fit what the worker has free (a 16-cpu, 64G
# worker never gets a 32-cpu or 200G job; three 4-cpu jobs never share a
# 4-cpu worker), best fit first; a completion with ?claim=1 answers the
# worker's next execution as "next" (a claim's answer, its lease
# completes it; null when nothing fits; nothing claimed when the
# completion is refused); an external job past its time limit
# fails with reason timeout and the worker's next heartbeat says stop;
# heartbeats carry status and usage, shown and validated; GET
# /workers?status= validates and filters ("local" idle is not busy);
# 70,000 workers at once (ids past 16 bits: claims, listings, the journal
# and a snapshot), removals, numbers reused, a removed worker's late
# completion refused, all of it through kill -9; workers unhealthy
# past --worker-remove-after removed, and that survives kill -9 too.
# Usage: tests/test_workers.sh BUILD_DIR
set -u
build=${1:-build/debug}
daemon="$build/jobringd"
cli="$build/jobring"
tmp=$(mktemp -d /tmp/jr-workers-XXXXXX)
chmod 755 "$tmp"
sock="$tmp/s.sock"
. "$(dirname "$0")/lib.sh"

status_is() { req GET "/jobs/$1"; field_is status "$2"; }
gone() { req GET "/workers/$1"; [ "$code" = 404 ]; }
# submit BODY: a job, its id in $jid
submit() { req POST /jobs "$1"; jid=$(field job_id); }
claim() { req POST "/workers/$1/claim?wait=${2:-0}"; }
complete() {	# complete EXEC LEASE
	req POST "/executions/$1/complete" "{\"status\":\"succeeded\",\"lease\":\"$2\"}"
}
# batch METHOD PATH FIRST LAST [BODY]: one curl for LAST-FIRST+1 requests
# (an @ in PATH becomes the number), 8 at a time; each answer's status
# in $tmp/codes.
batch() {
	local method=$1 path=$2 first=$3 last=$4 data=${5:-} i
	for i in $(seq "$first" "$last"); do
		[ "$i" = "$first" ] || echo next
		echo "url = \"http://x${path//@/$i}\""
		echo "request = \"$method\""
		if [ -n "$data" ]; then
			echo "data = \"$data\""
			echo 'header = "Content-Type: application/json"'
		fi
		echo "unix-socket = \"$sock\""
		echo 'output = "/dev/null"'
		echo 'write-out = "%{http_code}\n"'
	done >"$tmp/batch.cfg"
	curl -s -Z --parallel-max 8 -K "$tmp/batch.cfg" >"$tmp/codes" 2>/dev/null
}
codes_all() {	# codes_all CODE COUNT: every answer was CODE, COUNT of them
	[ "$(grep -c "^$1\$" "$tmp/codes")" = "$2" ] && [ "$(wc -l <"$tmp/codes")" = "$2" ]
}
workers_listed() {	# how many external workers are registered (by /metrics: cheap)
	curl -s --unix-socket "$sock" http://x/metrics |
		awk '/^jobring_external_workers\{/ { n += $2 } END { print n + 0 }'
}

# --- resources matched ---------------------------------------------------------------
start_daemon --no-keeper --no-cgroups --sync none --heartbeat-timeout 30
req POST /workers/register '{"name":"w16","resources":{"cpus":16,"memory":"64G"}}'
check "register with resources 201" [ "$code" = 201 ]
w16=$(field worker_id)
check "declared resources shown" grep -q '"resources":{"cpus":16,"memory":"64G"}' <<<"$body"
req POST /workers/register '{"name":"bad","resources":{"cpus":-1}}'
check "negative cpus 400" [ "$code" = 400 ]
req POST /workers/register '{"name":"bad","resources":{"memory":"lots"}}'
check "bad memory 400" [ "$code" = 400 ]
submit '{"executor":"external","requirements":{"cpus":32}}'
big_cpu=$jid
submit '{"executor":"external","requirements":{"memory":"200G"}}'
big_mem=$jid
check "an external job is not held to this host's size" [ "$code" = 201 ]
sleep 0.2
claim "$w16" 1
check "16-cpu/64G worker gets neither the 32-cpu nor the 200G job" [ "$code" = 204 ]
req POST "/jobs/$big_cpu/execute" "{\"worker_id\":\"$w16\"}"
check "execute a job that does not fit 409" [ "$code" = 409 ]
req POST "/jobs/$big_cpu/cancel"
req POST "/jobs/$big_mem/cancel"

req POST /workers/register '{"name":"w4","resources":{"cpus":4}}'
w4=$(field worker_id)
for i in 1 2 3; do submit '{"executor":"external","requirements":{"cpus":4}}'; done
third=$jid
sleep 0.2
claim "$w4" 1
check "4-cpu worker takes one 4-cpu job" [ "$code" = 200 ]
ex1=$(field execution_id)
lease1=$(field lease)
claim "$w4" 1
check "... and not a second while it runs" [ "$code" = 204 ]
req GET "/workers/$w4"
check "allocated cpus 4" grep -q '"allocated":{"cpus":4,' <<<"$body"
check "free cpus 0" grep -q '"free":{"cpus":0,' <<<"$body"
complete "$ex1" "$lease1"
check "complete 200" [ "$code" = 200 ]
claim "$w4" 1
check "freed: the next 4-cpu job" [ "$code" = 200 ]
ex2=$(field execution_id)
lease2=$(field lease)
req POST "/jobs/$third/cancel"

# Best fit: of one priority, the job that uses most of what is free.
req POST /workers/register '{"name":"w8","resources":{"cpus":8,"gpus":1,"licenses":2}}'
w8=$(field worker_id)
submit '{"executor":"external","priority":9,"requirements":{"cpus":2}}'
small=$jid
submit '{"executor":"external","priority":9,"requirements":{"cpus":6}}'
best=$jid
submit '{"executor":"external","priority":9,"requirements":{"cpus":1,"licenses":3}}'
toomany=$jid
sleep 0.2
claim "$w8" 1
check "best fit: 6 of 8 cpus before 2" [ "$(field job_id)" = "$best" ]
claim "$w8" 1
check "then 2 of the 2 left" [ "$(field job_id)" = "$small" ]
claim "$w8" 1
check "3 licenses never fit a worker with 2" [ "$code" = 204 ]
req POST "/jobs/$toomany/cancel"

# --- a completion that claims the next (?claim=1) ----------------------------------------
req POST /workers/register '{"name":"cn","resources":{"cpus":1}}'
wcn=$(field worker_id)
submit '{"executor":"external","requirements":{"cpus":1}}'
cn_a=$jid
submit '{"executor":"external","requirements":{"cpus":1}}'
cn_b=$jid
sleep 0.2
claim "$wcn" 1
check "claim=1: the first job claimed as usual" [ "$(field job_id)" = "$cn_a" ]
cn_exa=$(field execution_id)
cn_lease_a=$(field lease)
req POST "/executions/$cn_exa/complete?claim=1" "{\"status\":\"succeeded\",\"lease\":\"$cn_lease_a\"}"
check "claim=1: the completion is answered 200" [ "$code" = 200 ]
check "... with the completed execution" grep -q "^{\"execution_id\":\"$cn_exa\".*\"status\":\"succeeded\"" <<<"$body"
cn_next=$(jq -c .next <<<"$body")
check "... and the next one as a claim answers it (job, lease)" \
	[ "$(jq -r .job.job_id <<<"$cn_next")/$(jq -r '.lease | length' <<<"$cn_next")" = "$cn_b/32" ]
check "... running on this worker" status_is "$cn_b" running
cn_exb=$(jq -r .execution_id <<<"$cn_next")
submit '{"executor":"external","requirements":{"cpus":1}}'
cn_c=$jid
sleep 0.2
req POST "/executions/$cn_exa/complete?claim=1" "{\"status\":\"succeeded\",\"lease\":\"$cn_lease_a\"}"
check "claim=1 on a completion refused (409): nothing claimed" \
	[ "$code/$(jq -r 'has("next")' <<<"$body")" = 409/false ]
check "... the next job still waits" status_is "$cn_c" queued
req POST "/executions/$cn_exb/complete?claim=1" "{\"status\":\"succeeded\",\"lease\":\"$(jq -r .lease <<<"$cn_next")\"}"
check "the lease from \"next\" completes it, and claims the third" \
	[ "$code/$(jq -r .next.job.job_id <<<"$body")" = "200/$cn_c" ]
cn_next=$(jq -c .next <<<"$body")
submit '{"executor":"external","requirements":{"cpus":2}}'
cn_big=$jid
sleep 0.2
req POST "/executions/$(jq -r .execution_id <<<"$cn_next")/complete?claim=true" \
	"{\"status\":\"failed\",\"exit_code\":3,\"lease\":\"$(jq -r .lease <<<"$cn_next")\"}"
check "nothing that fits: \"next\" is null" [ "$code/$(jq -c .next <<<"$body")" = 200/null ]
check "... the 2-cpu job is left for another worker" status_is "$cn_big" queued
req GET "/jobs/$cn_c"
check "... and the failure was kept" [ "$(field status)/$(field exit_code)" = failed/3 ]
req POST "/jobs/$cn_big/cancel"

# --- heartbeats: status and usage ------------------------------------------------------
req POST "/workers/$w4/heartbeat" '{"status":"busy","resources":{"cpus_used":4,"memory_used":1073741824}}'
check "heartbeat with usage 200" [ "$code" = 200 ]
req GET "/workers/$w4"
check "usage stored and shown" grep -q '"usage":{"cpus_used":4,"memory_used":1073741824}' <<<"$body"
check "reported status shown" [ "$(field reported_status)" = busy ]
check "usage_at shown" [ -n "$(field usage_at)" ] && [ "$(field usage_at)" != null ]
req POST "/workers/$w4/heartbeat" '{"status":"bogus"}'
check "unknown heartbeat status 422" [ "$code" = 422 ]
req POST "/workers/$w4/heartbeat" '{"resources":{"cpus_used":-1}}'
check "negative usage 422" [ "$code" = 422 ]
req POST "/workers/$w4/heartbeat" '{"resources":{"cpus_used":"four"}}'
check "usage not a number 422" [ "$code" = 422 ]
req GET "/workers/$w4"
check "a refused heartbeat changes nothing" grep -q '"cpus_used":4,' <<<"$body"

# --- the status filter ------------------------------------------------------------------
req GET "/workers?status=bogus"
check "unknown status filter 422" [ "$code" = 422 ]
req GET "/workers?status=busy"
check "status=busy 200" [ "$code" = 200 ]
check "an idle local is not busy" not grep -q '"worker_id":"local"' <<<"$body"
check "a busy worker is" grep -q "\"worker_id\":\"$w4\"" <<<"$body"
check "... once" [ "$(grep -o "\"worker_id\":\"$w4\"" <<<"$body" | wc -l)" = 1 ]
check "an idle one is not" not grep -q "\"worker_id\":\"$w16\"" <<<"$body"
req GET "/workers?status=idle"
check "status=idle lists local and w16" grep -q '"worker_id":"local"' <<<"$body"
check "... and w16" grep -q "\"worker_id\":\"$w16\"" <<<"$body"
req POST "/workers/$w16/heartbeat" '{"status":"draining"}'
req GET "/workers?status=draining"
check "draining listed" grep -q "\"worker_id\":\"$w16\"" <<<"$body"
submit '{"executor":"external"}'
sleep 0.2
claim "$w16" 0
check "a draining worker claims nothing" [ "$code" = 204 ]
req POST "/workers/$w16/heartbeat" '{"status":"idle"}'
claim "$w16" 1
check "back to idle: it claims" [ "$code" = 200 ]
complete "$(field execution_id)" "$(field lease)"

# --- external time limits ---------------------------------------------------------------
submit '{"executor":"external","timeout":"1s"}'
tid=$jid
sleep 0.2
claim "$w16" 1
texec=$(field execution_id)
tlease=$(field lease)
check "timed job claimed" [ "$(field job_id)" = "$tid" ]
check "fails within 4 s of a 1 s limit" wait_until 4 status_is "$tid" failed
req GET "/jobs/$tid"
check "reason timeout" [ "$(field reason)" = timeout ]
req POST "/workers/$w16/heartbeat"
check "the heartbeat says stop" grep -q "\"stop\":\[{\"execution_id\":\"$texec\",\"reason\":\"timeout\"}\]" <<<"$body"
check "its cpu is free again" grep -q '"allocated":{"cpus":0,' <<<"$body"
complete "$texec" "$tlease"
check "a late completion 409" [ "$code" = 409 ]
req POST "/workers/$w16/heartbeat"
check "told once" grep -q '"stop":\[\]' <<<"$body"
complete "$ex2" "$lease2"
stop_daemon KILL
remove_state

# --- 65,536 registrations and more, removal and reuse -----------------------------------
# n workers at once (--max-workers n: the cap, 1,048,576 by default). From
# w32768 on a worker's engine id needs more than 16 bits: the job slot's
# and the journal's widened id (issue 14), checked through a claim, kill -9
# (the journal) and a snapshot. Under the sanitizers (JR_TEST_SCALE > 1):
# 33,000 workers (still past 16 bits) and 100 numbers reused, not 1,000.
if [ "${JR_TEST_SCALE:-1}" -gt 1 ]; then n=33000; k=100; else n=70000; k=1000; fi
start_daemon --no-keeper --no-cgroups --sync none --heartbeat-timeout 300 --max-workers "$n"
t0=$SECONDS
submit '{"executor":"external"}'
high_job=$jid
submit '{"executor":"external","max_retries":1}'
job=$jid
batch POST /workers/register 1 "$n" '{\"name\":\"bulk\"}'
check "$n registered at once" codes_all 201 "$n"
check "... all listed" [ "$(workers_listed)" = "$n" ]
req GET /workers
check "GET /workers lists all $n" [ "$(grep -o '"worker_id":"w[0-9]*"' <<<"$body" | wc -l)" = "$n" ]
req POST /workers/register '{"name":"one too many"}'
check "the $((n + 1))th at once 503" [ "$code" = 503 ]
check "... saying the cap" grep -q "at most $n workers" <<<"$body"
claim "w$n" 2
check "w$n (engine id $((32768 + n))) claims" [ "$(field job_id)" = "$high_job" ]
hexec=$(field execution_id)
hlease=$(field lease)
req GET "/jobs/$high_job"
check "... its job shows worker w$n" [ "$(field worker_id)" = "w$n" ]
req GET "/jobs?worker_id=w$n"
check "... found by GET /jobs?worker_id=w$n" grep -q "\"job_id\":\"$high_job\"" <<<"$body"
req GET "/workers/w$n"
check "... w$n holds it" [ "$(field running)" = 1 ]
complete "$hexec" "$hlease"
check "... and completes it" [ "$code" = 200 ]
high_done() {	# high_done HOW: $high_job succeeded on w$n, its execution too
	req GET "/jobs/$high_job"
	check "$1: $high_job succeeded on w$n" \
		[ "$(field status)/$(field worker_id)" = "succeeded/w$n" ]
	req GET "/executions/$hexec"
	check "$1: its execution's worker w$n" [ "$(field worker_id)" = "w$n" ]
}
high_done "before a restart"
stop_daemon KILL
start_daemon --no-keeper --no-cgroups --sync none --heartbeat-timeout 300 --max-workers "$n"
high_done "kill -9, from the journal"
req POST /snapshot
check "a snapshot" [ "$code" = 202 ]
snapped() {
	curl -s --unix-socket "$sock" http://x/metrics | grep -q '^jobring_snapshots_total [1-9]'
}
t_snap=${EPOCHREALTIME/./}
check "... written" wait_until 60 snapped
echo "snapshot with $n workers written in $(( (${EPOCHREALTIME/./} - t_snap) / 1000 )) ms"
grep "snapshot (asked for)" "$tmp/daemon.log" | tail -1
stop_daemon KILL
start_daemon --no-keeper --no-cgroups --sync none --heartbeat-timeout 300 --max-workers "$n"
high_done "kill -9, from the snapshot"
check "... all $n workers back" [ "$(workers_listed)" = "$n" ]
req POST /workers/w1/heartbeat	# back from unhealthy, as after any restart
claim w1 2
check "w1 claims" [ "$(field job_id)" = "$job" ]
old_exec=$(field execution_id)
old_lease=$(field lease)
req DELETE /workers/w1
check "DELETE 200" [ "$code" = 200 ]
check "removed: 404" gone w1
wait_until 5 status_is "$job" queued
req GET "/jobs/$job"
check "its job waits for a retry (worker_lost)" [ "$(field reason)" = worker_lost ]
batch DELETE /workers/w@ 2 "$k"
check "$((k - 1)) removed" codes_all 200 $((k - 1))
req DELETE "/workers/w$n"
check "DELETE w$n 200" [ "$code" = 200 ]
check "$((n - k - 1)) listed" [ "$(workers_listed)" = $((n - k - 1)) ]
batch POST /workers/register 1 "$k" '{\"name\":\"again\"}'
check "$k registered again" codes_all 201 "$k"
req GET /workers/w1
check "w1 reused, oldest removed first" [ "$(field name)" = again ]
req POST /workers/register '{"name":"high again"}'
check "then w$n reused" [ "$(field worker_id)" = "w$n" ]
batch DELETE /workers/w@ $((k - 1)) "$k"
batch POST /workers/register 1 2 '{\"name\":\"last\"}'
check "$((n + k + 3)) registrations in all" codes_all 201 2
claim w1 2
check "the new w1 claims the retried job" [ "$(field job_id)" = "$job" ]
new_exec=$(field execution_id)
check "a new execution" [ "$new_exec" != "$old_exec" ]
complete "$old_exec" "$old_lease"
check "the removed worker's late completion 409" [ "$code" = 409 ]
req GET "/jobs/$job"
check "... not applied" [ "$(field status)" = running ]
echo "$((n + k + 3)) registrations and $((k + 2)) removals: $((SECONDS - t0)) s"
stop_daemon KILL
start_daemon --no-keeper --no-cgroups --sync none --heartbeat-timeout 300 --max-workers "$n"
check "after kill -9: $n workers" [ "$(workers_listed)" = "$n" ]
req GET "/workers/w$k"
check "re-registered after removal kept" [ "$(field name)" = last ]
req GET /workers/w2
check "... the others too" [ "$(field name)" = again ]
req GET "/workers/w$n"
check "... w$n too" [ "$(field name)" = "high again" ]
req POST /workers/register '{"name":"full"}'
check "still full 503" [ "$code" = 503 ]
req DELETE /workers/w5
req POST /workers/register '{"name":"five"}'
check "a removed number after a restart: reused" [ "$(field worker_id)" = w5 ]
stop_daemon KILL
remove_state

# --- automatic removal ------------------------------------------------------------------
start_daemon --no-keeper --no-cgroups --sync none --heartbeat-timeout 1 --worker-remove-after 1
req POST /workers/register '{"name":"silent"}'
ws=$(field worker_id)
req POST /workers/register '{"name":"alive"}'
wa=$(field worker_id)
keepalive() { req POST "/workers/$wa/heartbeat"; gone "$ws"; }
check "silent past 1 s + 1 s: removed" wait_until 10 keepalive
req GET "/workers/$wa"
check "one that heartbeats stays" [ "$(field status)" = idle ]
stop_daemon KILL
start_daemon --no-keeper --no-cgroups --sync none --heartbeat-timeout 300
check "the removal survives kill -9" gone "$ws"
req GET "/workers/$wa"
check "... and the other worker too" [ "$code" = 200 ]
stop_daemon

echo "test_workers: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
