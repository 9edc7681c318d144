#!/usr/bin/env bash
# test_history.sh - every execution kept (issue 13, item 1): a job retried
# twice lists its three attempts, each with its own output, status and
# result; an earlier attempt is shown and its logs read by its own id; an
# external worker's old attempt is found by ?worker_id=; a completion's
# result is any JSON up to 64 KiB; the history survives kill -9, a
# snapshot and a restart; it leaves with its job (retention), files too.
# Usage: tests/test_history.sh BUILD_DIR
set -u
build=${1:-build/debug}
daemon="$build/jobringd"
cli="$build/jobring"
tmp=$(mktemp -d /tmp/jr-history-XXXXXX)
chmod 755 "$tmp"
sock="$tmp/s.sock"
. "$(dirname "$0")/lib.sh"

execs() {	# execs JOB: sets $body to GET /executions?job_id=JOB
	req GET "/executions?job_id=$1"
}
count() { grep -o "\"$1\"" <<<"$body" | wc -l; }	# count "KEY": its occurrences in $body
snapshot_done() { req GET /health; grep -q '"snapshotting":false' <<<"$body"; }
snapshot() {	# POST /snapshot, and wait until it is written
	req POST /snapshot
	[ "$code" = 202 ] && wait_until 20 snapshot_done
}
ids_of() { grep -o '"execution_id":"[0-9a-f]*"' <<<"$body" | sed 's/.*:"//; s/"//'; }

# A local job that fails twice, then succeeds: 3 executions.
start_daemon --workers 2
script='n=$(cat "$0" 2>/dev/null || echo 0); n=$((n+1)); echo $n >"$0"; echo "out $n"; echo "err $n" >&2; [ $n -ge 3 ] || exit $((n+4))'
retried="{\"command\":[\"sh\",\"-c\",$(printf '%s' "$script" | python3 -c 'import json,sys;print(json.dumps(sys.stdin.read()))'),\"$tmp/count\"],\"max_retries\":2,\"retry_backoff\":\"50ms\"}"
req POST /jobs "$retried"
check "retried job submitted" [ "$code" = 201 ]
job=$(field job_id)
check "it succeeds at its third attempt" wait_until 20 wait_status "$job" succeeded
execs "$job"
check "it lists 3 executions" [ "$(count execution_id)" = 3 ]
check "in attempt order" [ "$(grep -o '"attempt":[0-9]*' <<<"$body" | tr -d '\n')" = '"attempt":1"attempt":2"attempt":3' ]
check "two failed, one succeeded" [ "$(grep -o '"status":"[a-z]*"' <<<"$body" | tr -d '\n')" = '"status":"failed""status":"failed""status":"succeeded"' ]
check "each with its exit code" [ "$(grep -o '"exit_code":[0-9]*,' <<<"$body" | tr -d '\n')" = '"exit_code":5,"exit_code":6,"exit_code":0,' ]
check "a local result is the exit status" grep -q '"result":{"exit_code":5}' <<<"$body"
check "started_at and ended_at" [ "$(grep -o '"ended_at":"20' <<<"$body" | wc -l)" = 3 ]
mapfile -t ex < <(ids_of)
check "attempt 1's id is the job's with 01 on top" [ "${ex[0]}" = "01${job:2}" ]
req GET "/executions/${ex[0]}"
check "GET /executions/{attempt 1} 200" [ "$code" = 200 ]
check "... attempt 1, failed" grep -q '"attempt":1,.*"status":"failed"' <<<"$body"
check "... by the local executor" [ "$(field worker_id)" = local ]
check "... with its reason" [ "$(field reason)" = exit_code ]
for k in 0 1 2; do
	n=$((k + 1))
	req GET "/executions/${ex[$k]}/logs"
	check "attempt $n's stdout is its own" grep -q "\"data\":\"out $n\\\\n\"" <<<"$body"
	req GET "/executions/${ex[$k]}/logs?stream=stderr"
	check "attempt $n's stderr is its own" grep -q "\"data\":\"err $n\\\\n\"" <<<"$body"
done
req GET "/jobs/$job/logs"
check "the job's logs are its latest attempt's" grep -q '"data":"out 3\\n"' <<<"$body"
req GET "/executions/${ex[0]}/logs?stream=both"
check "bad stream 422" [ "$code" = 422 ]
req GET "/executions/04${job:2}"
check "an attempt never made 404" [ "$code" = 404 ]
req GET "/executions?job_id=$job&status=failed"
check "?status=failed: its 2 failed attempts" [ "$(count execution_id)" = 2 ]
req GET "/executions?worker_id=local&status=failed"
check "?worker_id=local&status=failed lists the old attempts" [ "$(count execution_id)" = 2 ]
req GET "/executions?limit=1"
check "a page has a next cursor" not [ "$(field next_cursor)" = null ]

# External workers: attempt 1 by w1 (failed, with a result), attempt 2 by w2.
req POST /workers/register '{"name":"one"}'
w1=$(field worker_id)
req POST /workers/register '{"name":"two"}'
w2=$(field worker_id)
req POST /jobs '{"executor":"external","max_retries":1,"retry_backoff":"50ms"}'
ext=$(field job_id)
req POST "/workers/$w1/claim?wait=2"
e1=$(field execution_id)
l1=$(field lease)
req POST "/executions/$e1/complete" "{\"status\":\"failed\",\"exit_code\":3,\"lease\":\"$l1\",\"result\":{\"accuracy\":0.93,\"tags\":[\"a\",\"b\"]}}"
check "complete with an object result 200" [ "$code" = 200 ]
check "... shown in the answer" grep -q '"result":{"accuracy":0.93,"tags":\["a","b"\]}' <<<"$body"
check "... its exit code kept" grep -q '"exit_code":3' <<<"$body"
check "... the attempt failed (its job waits to retry)" [ "$(field status)" = failed ]
sleep 0.2
req POST "/workers/$w2/claim?wait=3"
check "the retry is claimed" [ "$(field job_id)" = "$ext" ]
e2=$(field execution_id)
l2=$(field lease)
big=$(python3 -c 'print("\"" + "x" * 70000 + "\"")')
req POST "/executions/$e2/complete" "{\"status\":\"succeeded\",\"lease\":\"$l2\",\"result\":$big}"
check "a result over 64 KiB: 413" [ "$code" = 413 ]
check "... result_too_large" grep -q '"code":"result_too_large"' <<<"$body"
req POST "/executions/$e2/complete" "{\"status\":\"succeeded\",\"lease\":\"$l2\",\"result\":[1,[2,{\"d\":null}],\"s\"]}"
check "complete with an array result 200" [ "$code" = 200 ]
req GET "/executions?worker_id=$w1"
check "?worker_id=w1: its old attempt" grep -q "\"execution_id\":\"$e1\"" <<<"$body"
check "... and only it" [ "$(count execution_id)" = 1 ]
req GET "/executions/$e1"
check "attempt 1's result round trips" grep -q '"result":{"accuracy":0.93,"tags":\["a","b"\]}' <<<"$body"
check "... by $w1" [ "$(field worker_id)" = "$w1" ]
req GET "/executions/$e2"
check "attempt 2's array result round trips" grep -q '"result":\[1,\[2,{"d":null}\],"s"\]' <<<"$body"
for r in 42 '"done"' '{"deep":{"a":{"b":{"c":[1,2,3]}}}}'; do
	req POST /jobs '{"executor":"external"}'
	j=$(field job_id)
	req POST "/workers/$w1/claim?wait=2"
	req POST "/executions/$(field execution_id)/complete" "{\"status\":\"succeeded\",\"lease\":\"$(field lease)\",\"result\":$r}"
	req GET "/executions?job_id=$j"
	check "result $r round trips" grep -qF "\"result\":$r" <<<"$body"
done
deep=$(python3 -c 'print("[" * 500 + "1" + "]" * 500)')
req POST /jobs '{"executor":"external"}'
jdeep=$(field job_id)
req POST "/workers/$w1/claim?wait=2"
edeep=$(field execution_id)
ldeep=$(field lease)
too_deep=$(python3 -c 'print("[" * 1100 + "1" + "]" * 1100)')
req POST "/executions/$edeep/complete" "{\"status\":\"succeeded\",\"lease\":\"$ldeep\",\"result\":$too_deep}"
check "a result nested 1,100 deep: 400, not kept" [ "$code" = 400 ]
req POST "/executions/$edeep/complete" "{\"status\":\"succeeded\",\"lease\":\"$ldeep\",\"result\":$deep}"
check "a result nested 500 deep: 200" [ "$code" = 200 ]
req GET "/executions?job_id=$jdeep"
check "... and round trips" grep -qF "\"result\":$deep" <<<"$body"
req POST /jobs '{"executor":"external"}'
j64=$(field job_id)
req POST "/workers/$w1/claim?wait=2"
e64=$(field execution_id)
exact=$(python3 -c 'print("\"" + "y" * 65534 + "\"")')
req POST "/executions/$e64/complete" "{\"status\":\"succeeded\",\"lease\":\"$(field lease)\",\"result\":$exact}"
check "a result of exactly 64 KiB: 200" [ "$code" = 200 ]

# --- kill -9, then a snapshot, then a clean stop -----------------------------------------
history_intact() {	# history_intact WHEN
	execs "$job"
	check "$1: 3 executions of the retried job" [ "$(count execution_id)" = 3 ]
	check "$1: their statuses" [ "$(grep -o '"status":"[a-z]*"' <<<"$body" | tr -d '\n')" = '"status":"failed""status":"failed""status":"succeeded"' ]
	req GET "/executions/${ex[0]}"
	check "$1: attempt 1 shown" grep -q '"exit_code":5' <<<"$body"
	check "$1: attempt 1 has its start" grep -q '"started_at":"20' <<<"$body"
	req GET "/executions/${ex[1]}/logs"
	check "$1: attempt 2's output" grep -q '"data":"out 2\\n"' <<<"$body"
	req GET "/executions/$e1"
	check "$1: the external result" grep -q '"result":{"accuracy":0.93,"tags":\["a","b"\]}' <<<"$body"
	req GET "/executions?worker_id=$w1"
	check "$1: ?worker_id=w1 finds the old attempt" grep -q "\"execution_id\":\"$e1\"" <<<"$body"
	req GET "/executions/$e64"
	check "$1: the 64 KiB result" [ "$(printf '%s' "$body" | wc -c)" -gt 65534 ]
}
stop_daemon KILL
start_daemon --workers 2
history_intact "after kill -9"
check "snapshot taken" snapshot
check "... a snapshot holds the history" grep -q 'snapshot_executions' <("$build/jobring-journal" dump "$tmp/state")
stop_daemon KILL
start_daemon --workers 2
history_intact "after a snapshot and kill -9"
check "the daemon stops cleanly (exit 0; under ASan, no leak)" stop_daemon TERM
start_daemon --workers 2
history_intact "after a clean stop"

# --- an attempt lost with the daemon is kept, as lost ------------------------------------
req POST "/workers/$w1/heartbeat"
req POST /jobs '{"executor":"external","priority":7,"max_retries":1}'
lost=$(field job_id)
req POST "/workers/$w1/claim?wait=2"
check "an external job claimed before kill -9" [ "$(field job_id)" = "$lost" ]
# A claim is answered before its start is on disk (a start the journal
# lost voids the lease: it names the start): this case is about a start
# that was written. Its worker does not come back after the restart: the
# attempt is lost with it (issue 17), after the heartbeat timeout.
start_written() { "$build/jobring-journal" dump "$tmp/state" 2>/dev/null | grep -q "start .*job=$lost"; }
check "... its start journaled" wait_until 10 start_written
stop_daemon KILL
start_daemon --workers 2 --heartbeat-timeout 1
req POST "/workers/$w2/heartbeat"
req POST "/workers/$w2/claim?wait=5"
check "... claimed again after the restart, as attempt 2" [ "$(field attempt)" = 2 ]
req POST "/executions/$(field execution_id)/complete" "{\"status\":\"succeeded\",\"lease\":\"$(field lease)\"}"
execs "$lost"
check "... 2 executions" [ "$(count execution_id)" = 2 ]
req GET "/executions/01${lost:2}"
check "... attempt 1 lost with its worker" grep -q '"status":"failed".*"reason":"worker_lost"' <<<"$body"
check "... by $w1" [ "$(field worker_id)" = "$w1" ]

# --- retention: the history and its files go with the job -----------------------------
check "the daemon stops cleanly (exit 0; under ASan, no leak)" stop_daemon TERM
check "attempt 1's file is there while its job is kept" test -f "$tmp/state/output/${ex[0]}.out"
start_daemon --workers 2 --retain-finished 1
req GET "/executions/${ex[0]}"
check "out of retention at a restart: its attempts 404" [ "$code" = 404 ]
check "... and their files are removed" not ls "$tmp/state/output/${ex[0]}.out" 2>/dev/null
rm -f "$tmp/count"
req POST /jobs "$retried"
job=$(field job_id)
check "another retried job succeeds" wait_until 20 wait_status "$job" succeeded
execs "$job"
mapfile -t ex < <(ids_of)
check "... its attempt 2's file is there" test -f "$tmp/state/output/${ex[1]}.err"
req POST /jobs '{"command":["true"]}'
wait_status "$(field job_id)" succeeded
check "snapshot taken" snapshot
req GET "/executions/${ex[1]}"
check "out of retention at a snapshot: its attempts 404" [ "$code" = 404 ]
check "... and their files are removed" not ls "$tmp/state/output/${ex[1]}.err" 2>/dev/null

# --- a slot reused: the older job's attempts and files go ----------------------------------
check "the daemon stops cleanly (exit 0; under ASan, no leak)" stop_daemon TERM
remove_state
rm -rf "$tmp/count"
start_daemon --workers 2 --capacity 16
req POST /jobs "$retried"
job=$(field job_id)
check "a retried job in a 16-slot table" wait_until 20 wait_status "$job" succeeded
old="01${job:2}"
check "... its attempt 1's file" test -f "$tmp/state/output/$old.out"
for i in $(seq 20); do
	req POST /jobs '{"command":["true"]}'
	wait_status "$(field job_id)" succeeded
done
req GET "/executions/$old"
check "its slot reused: its attempt 1 404" [ "$code" = 404 ]
check "... and its file removed" not test -e "$tmp/state/output/$old.out"

check "the last daemon stops cleanly" stop_daemon TERM
echo "test_history: $pass passed, $fail failed"
[ "$fail" = 0 ]
