#!/usr/bin/env bash
# test_arrays.sh - job arrays through the real daemon: "array" in
# POST /jobs (ranges, steps, lists, %N), the answer, each task's
# environment and view, the array's summary, a throttle never exceeded,
# refusals, aftercorr (task to task of the same index, across kill -9
# too), cancel of the array's id, and every task back with its index
# after kill -9 (from the journal, then from a snapshot); then a
# 1,000,000-task array (JR_ARRAY_TASKS, default 1,000,000; 0 skips it)
# submitted in one request and every task recovered after kill -9.
# Usage: tests/test_arrays.sh BUILD_DIR
set -u
build=${1:-build/debug}
daemon="$build/jobringd"
cli="$build/jobring"
tmp=$(mktemp -d /tmp/jr-arrays-XXXXXX)
sock="$tmp/s.sock"
# 1,000,000 tasks; a quarter or an eighth under the sanitizers (JR_TEST_SCALE).
big=${JR_ARRAY_TASKS:-$((1000000 / ${JR_TEST_SCALE:-1}))}
. "$(dirname "$0")/lib.sh"

status_is() { req GET "/jobs/$1"; field_is status "$2"; }
tasks_field() {	# tasks_field KEY: KEY inside "array_tasks" of $body
	printf '%s' "$body" | grep -o '"array_tasks":{[^}]*}' | grep -o "\"$1\":[^,}]*" |
		sed 's/.*://; s/"//g'
}
array_done() { req GET "/jobs/$1"; [ "$(tasks_field status)" = "$2" ]; }
snapshot_over() { req GET /health; grep -q '"snapshotting":false' <<<"$body"; }

start_daemon --workers 8 --capacity 8192

# --- submit, environment, views ------------------------------------------------------
req POST /jobs '{"name":"arr","command":["sh","-c","echo $JOBRING_ARRAY_JOB_ID $JOBRING_ARRAY_TASK_ID $JOBRING_ARRAY_TASK_COUNT $JOBRING_ARRAY_TASK_MIN $JOBRING_ARRAY_TASK_MAX"],"array":"1,3,10-20:5"}'
check "array 201" [ "$code" = 201 ]
A=$(field job_id)
check "answer: array_job_id is the job id" [ "$(field array_job_id)" = "$A" ]
check "answer: 5 tasks" [ "$(field tasks)" = 5 ]
check "the array ends succeeded" wait_until 20 array_done "$A" succeeded
check "... 5 tasks counted" [ "$(tasks_field count)" = 5 ]
check "... 5 succeeded" [ "$(tasks_field succeeded)" = 5 ]
req GET "/jobs/$A/logs"
check "task 0 sees its array, index, count, min, max" grep -q "\"data\":\"$A 1 5 1 20\\\\n\"" <<<"$body"
req GET "/jobs?limit=100"
ids=$(printf '%s' "$body" | grep -o '"job_id":"[0-9a-f]*"' | sed 's/.*:"//; s/"//')
seen=""
for id in $ids; do
	req GET "/jobs/$id"
	[ "$(field array_job_id)" = "$A" ] || continue
	t=$(field array_task_id)
	seen="$seen $t"
	req GET "/jobs/$id/logs"
	grep -q "\"data\":\"$A $t 5 1 20" <<<"$body" || echo "task $t: $body"
done
check "the tasks are 1 3 10 15 20" [ "$(tr ' ' '\n' <<<"$seen" | sort -n | xargs)" = "1 3 10 15 20" ]

req GET "/jobs?array=$A&limit=2"
check "?array= lists its tasks, paged" [ "$(grep -o '"array_job_id"' <<<"$body" | wc -l)" = 2 ]
cursor=$(field next_cursor)
n=2
while [ -n "$cursor" ] && [ "$cursor" != null ]; do
	req GET "/jobs?array=$A&limit=2&cursor=$cursor"
	n=$((n + $(grep -o "\"array_job_id\":\"$A\"" <<<"$body" | wc -l)))
	cursor=$(field next_cursor)
done
check "... all 5, no other job" [ "$n" = 5 ]
req GET "/jobs?array=zz"
check "?array= not an id 422" [ "$code" = 422 ]

# --- throttle -------------------------------------------------------------------------
req POST /jobs '{"command":["sleep","0.3"],"array":"0-11%3"}'
T=$(field job_id)
most=0
for _ in $(seq 100); do
	req GET "/jobs/$T"
	r=$(tasks_field running)
	[ "${r:-0}" -gt "$most" ] && most=$r
	[ "$(tasks_field status)" = succeeded ] && break
	nap 0.05
done
check "%3: never more than 3 tasks running" [ "$most" -le 3 ]
cores=$(nproc)
check "%3: as many at once as the cores allow at some point" [ "$most" = $((cores < 3 ? cores : 3)) ]
check "the throttled array ends" wait_until 20 array_done "$T" succeeded

# --- a throttle on external tasks -------------------------------------------------------
req POST /workers/register '{"name":"w1"}'
w1=$(field worker_id)
req POST /workers/register '{"name":"w2"}'
w2=$(field worker_id)
req POST /jobs '{"executor":"external","array":"0-2%1"}'
E=$(field job_id)
req POST "/workers/$w1/claim?wait=2"
check "an external task claimed" [ "$code" = 200 ]
ex=$(field execution_id)
lease=$(field lease)
req POST "/workers/$w2/claim?wait=0"
check "%1: no second external task while one runs (204)" [ "$code" = 204 ]
req POST "/executions/$ex/complete" "{\"status\":\"succeeded\",\"result\":0,\"lease\":\"$lease\"}"
req POST "/workers/$w2/claim?wait=2"
check "... the next once it ended" [ "$code" = 200 ]

# --- refusals -------------------------------------------------------------------------
for bad in '"5-1"' '"1-2:0"' '"0-9%0"' '"x"' '"0-4000000"' '"1-5,3"'; do
	req POST /jobs "{\"command\":[\"true\"],\"array\":$bad}"
	check "array $bad 422" [ "$code" = 422 ]
done
req POST /jobs '{"command":["true"],"array":5}'
check "array not a string 400" [ "$code" = 400 ]
req POST /jobs/batch '{"command":["true"],"array":"1-3"}'
check "an array in a batch 422" [ "$code" = 422 ]

# --- aftercorr -------------------------------------------------------------------------
task_of() {	# task_of ARRAY INDEX: the task's id (from the first 1,000 jobs)
	local id
	req GET "/jobs?limit=1000"
	for id in $(printf '%s' "$body" | grep -o '"job_id":"[0-9a-f]*"' | sed 's/.*:"//; s/"//'); do
		req GET "/jobs/$id"
		if [ "$(field array_job_id)" = "$1" ] && [ "$(field array_task_id)" = "$2" ]; then
			echo "$id"
			return 0
		fi
	done
	return 1
}
dep_corr() { printf '[{"job_id":"%s","type":"aftercorr"}]' "$1"; }
req POST /jobs '{"command":["sh","-c","sleep 1; [ $JOBRING_ARRAY_TASK_ID != 2 ]"],"array":"0-4"}'
X=$(field job_id)
req POST /jobs "{\"command\":[\"true\"],\"array\":\"0-5\",\"after\":$(dep_corr "$X")}"
check "aftercorr array 201" [ "$code" = 201 ]
Y=$(field job_id)
y5=$(task_of "$Y" 5)
check "a task with no corresponding task runs at once" wait_status "$y5" succeeded
y0=$(task_of "$Y" 0)
x0=$(task_of "$X" 0)
check "aftercorr: the rest end (one cancelled, none failed: cancelled)" \
	wait_until 20 array_done "$Y" cancelled
req GET "/jobs/$Y"
check "... 5 succeeded, 1 cancelled" [ "$(tasks_field succeeded)/$(tasks_field cancelled)" = 5/1 ]
y2=$(task_of "$Y" 2)
req GET "/jobs/$y2"
check "... task 2's (its corresponding task failed): dependency_failed" \
	[ "$(field reason)" = dependency_failed ]
req GET "/jobs/$y0"
t_y0=$(field start_time)
req GET "/jobs/$x0"
check "... task 0 started after X's task 0 ended" [ "$t_y0" \> "$(field end_time)" ]
req POST /jobs "{\"command\":[\"true\"],\"after\":$(dep_corr "$X")}"
check "aftercorr outside an array 422" [ "$code" = 422 ]
req POST /jobs "{\"command\":[\"true\"],\"array\":\"0-1\",\"after\":$(dep_corr "$(task_of "$X" 1)")}"
check "aftercorr on a task that is not an array's id 422" [ "$code" = 422 ]
check "... unknown_dependency" grep -q unknown_dependency <<<"$body"

# --- cancel the array's id ------------------------------------------------------------
at=$(date -u -d '+1 hour' +%Y-%m-%dT%H:%M:%SZ)
req POST /jobs "{\"command\":[\"true\"],\"array\":\"0-49\",\"scheduled_at\":\"$at\"}"
C=$(field job_id)
req PUT "/jobs/$C/cancel"
check "cancel of the array's id 200" [ "$code" = 200 ]
check "... cancels all its tasks" wait_until 10 array_done "$C" cancelled
check "... 50 cancelled" [ "$(tasks_field cancelled)" = 50 ]

# --- kill -9: journal, then snapshot ----------------------------------------------------
req POST /jobs "{\"command\":[\"true\"],\"array\":\"100-298:2%4\",\"scheduled_at\":\"$at\"}"
K=$(field job_id)
check "a pending array of 100" [ "$(field tasks)" = 100 ]
req POST /jobs "{\"command\":[\"true\"],\"array\":\"100-104:2\",\"after\":$(dep_corr "$K")}"
KC=$(field job_id)
stop_daemon KILL
start_daemon --workers 8 --capacity 8192
req GET "/jobs/$K"
check "after kill -9 (journal): 100 tasks" [ "$(tasks_field count)" = 100 ]
check "... all pending" [ "$(tasks_field pending)" = 100 ]
req GET "/jobs/$A"
check "... the finished array too" [ "$(tasks_field succeeded)" = 5 ]
kc2=$(task_of "$KC" 102)
k2=$(task_of "$K" 102)
req PUT "/jobs/$k2/cancel"
check "aftercorr kept across kill -9: its task cancelled with the corresponding one" \
	wait_status "$kc2" cancelled
req GET "/jobs/$KC"
check "... the others still wait" [ "$(tasks_field pending)" = 2 ]
req POST /snapshot
check "snapshot taken" wait_until 30 snapshot_over
stop_daemon KILL
start_daemon --workers 8 --capacity 8192
req GET "/jobs/$K"
check "after kill -9 (snapshot): 100 tasks" [ "$(tasks_field count)" = 100 ]
check "... 99 pending (one cancelled)" [ "$(tasks_field pending)" = 99 ]
check "... with their array" [ "$(field array_job_id)" = "$K" ]
check "... and index" [ "$(field array_task_id)" = 100 ]
req GET "/jobs/$KC"
check "... the aftercorr array: 2 still wait" [ "$(tasks_field pending)" = 2 ]
kc0=$(task_of "$KC" 100)
k0=$(task_of "$K" 100)
req PUT "/jobs/$k0/cancel"
check "... and still follow their corresponding tasks" wait_status "$kc0" cancelled
req GET "/jobs/$C"
check "... the cancelled array still cancelled" [ "$(tasks_field cancelled)" = 50 ]
# Last: a refused submission may have reused finished jobs' slots (the
# engine evicts the oldest finished jobs when the table needs room).
req POST /jobs '{"command":["true"],"array":"0-99999"}'
check "over the table's capacity: 503 table_full" [ "$code" = 503 ]
check "... naming it" grep -q table_full <<<"$body"
req GET "/jobs/$K"
check "... the table untouched (refused before any slot was taken)" [ "$(tasks_field count)" = 100 ]
req GET "/jobs/$C"
check "... finished jobs not evicted for it" [ "$(tasks_field cancelled)" = 50 ]
check "jobringd stops cleanly (exit 0; a sanitizer's finding fails it)" stop_daemon

# --- a million tasks in one request ---------------------------------------------------
if [ "$big" -gt 0 ]; then
	remove_state
	start_daemon --workers 1 --capacity $((big + 1024)) --paused
	t0=$(date +%s.%N)
	req POST /jobs "{\"command\":[\"true\"],\"array\":\"0-$((big - 1))\"}"
	t1=$(date +%s.%N)
	check "$big tasks in one request: 201" [ "$code" = 201 ]
	B=$(field job_id)
	echo "test_arrays: $big tasks submitted in $(echo "$t1 - $t0" | bc) s"
	stop_daemon KILL
	t0=$(date +%s.%N)
	start_daemon --workers 1 --capacity $((big + 1024)) --paused
	t1=$(date +%s.%N)
	echo "test_arrays: recovered in $(echo "$t1 - $t0" | bc) s"
	req GET "/jobs/$B"
	check "after kill -9: all $big tasks back" [ "$(tasks_field count)" = "$big" ]
	check "... all queued" [ "$(tasks_field queued)" = "$big" ]
	req POST /snapshot
	check "a snapshot of them" wait_until 120 snapshot_over
	bytes=$(du -cb "$tmp"/state/snapshot-* | tail -1 | cut -f1)
	echo "test_arrays: snapshot of $big tasks: $bytes bytes"
	# Each task's fixed record is 112 bytes; its JSON (about 70) is written once.
	check "... the array's JSON written once, not per task" [ "$bytes" -lt $((big * 130)) ]
	stop_daemon KILL
	start_daemon --workers 1 --capacity $((big + 1024)) --paused
	req GET "/jobs/$B"
	check "after kill -9 (snapshot): all $big tasks back" [ "$(tasks_field count)" = "$big" ]
	req GET "/jobs/$B"
	check "... with their index" [ "$(field array_task_id)" = 0 ]
	stop_daemon KILL
fi

echo "test_arrays: $pass passed, $fail failed"
[ "$fail" = 0 ]
