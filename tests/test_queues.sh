#!/usr/bin/env bash
# test_queues.sh - queues that cap, through the real jobringd: max_workers
# counts a queue's local and external command jobs together (a local job
# running keeps an external one from being claimed, and the other way
# round; never more than the cap at once); PATCH raises the cap and
# changes the priority that later jobs take; DELETE refuses while live
# jobs belong to the queue (409 not_empty) and removes it after; both
# survive kill -9 and a snapshot. Usage: tests/test_queues.sh BUILD_DIR
set -u
build=${1:-build/debug}
daemon="$build/jobringd"
cli="$build/jobring"
tmp=$(mktemp -d /tmp/jr-queues-XXXXXX)
sock="$tmp/s.sock"
. "$(dirname "$0")/lib.sh"

# Running jobs of queue capped, local and external.
running_in_capped() {
	req GET "/jobs?status=running&limit=1000"
	grep -o '"queue":"capped"' <<<"$body" | wc -l
}

start_daemon --workers 4
req POST /queues '{"name":"capped","priority":5,"max_workers":1}'
check "capped queue 201" [ "$code" = 201 ]
req POST /workers/register '{"name":"ext"}'
w=$(field worker_id)

# --- a cap of 1 with a local and an external job ------------------------------------
req POST /jobs '{"command":["sleep","4"],"queue":"capped","name":"L1"}'
l1=$(field job_id)
check "L1 runs" wait_status "$l1" running
req POST /jobs '{"executor":"external","queue":"capped","name":"E1"}'
e1=$(field job_id)
req POST "/workers/$w/claim?wait=1"
check "external job not claimable while a local one fills the cap" [ "$code" = 204 ]
req POST /jobs '{"command":["sleep","1"],"queue":"capped","name":"L2"}'
l2=$(field job_id)
sleep 0.5
req GET "/jobs/$l2"
check "second local job waits for the cap" [ "$(field status)" = queued ]
check "L2 runs once L1 ends" wait_status "$l2" running
req POST "/workers/$w/claim?wait=0"
check "... and the external job still waits" [ "$code" = 204 ]
check "L2 ends" wait_until 10 sh -c "curl -s --unix-socket '$sock' http://x/jobs/$l2 | grep -q '\"status\":\"succeeded\"'"
req POST "/workers/$w/claim?wait=2"
check "then the external job is claimed" [ "$(field job_id)" = "$e1" ]
lease=$(field lease)
exe=$(field execution_id)
req POST /jobs '{"command":["true"],"queue":"capped","name":"L3"}'
l3=$(field job_id)
sleep 0.5
req GET "/jobs/$l3"
check "a local job waits while the external one fills the cap" [ "$(field status)" = queued ]
most=0
for _ in $(seq 10); do
	n=$(running_in_capped)
	[ "$n" -gt "$most" ] && most=$n
	nap 0.05
done
check "never more than 1 running in the queue" [ "$most" = 1 ]
req POST "/executions/$exe/complete" "{\"status\":\"succeeded\",\"lease\":\"$lease\"}"
check "external completes" [ "$code" = 200 ]
check "then the local job runs" wait_until 10 sh -c "curl -s --unix-socket '$sock' http://x/jobs/$l3 | grep -q '\"status\":\"succeeded\"'"

# --- PATCH ----------------------------------------------------------------------------------
for i in 1 2 3; do
	req POST /jobs "{\"command\":[\"sleep\",\"3\"],\"queue\":\"capped\",\"name\":\"S$i\"}"
done
sleep 0.5
check "cap 1: one of three runs" [ "$(running_in_capped)" = 1 ]
req PATCH /queues/capped '{"max_workers":2}'
check "PATCH 200" [ "$code" = 200 ]
check "PATCH answers the new cap" grep -q '"max_workers":2' <<<"$body"
check "raised cap: two run" wait_until 5 sh -c "[ \$(curl -s --unix-socket '$sock' 'http://x/jobs?status=running' | grep -o '\"queue\":\"capped\"' | wc -l) = 2 ]"
req PATCH /queues/capped '{"priority":-70000}'
check "PATCH priority 200" [ "$code" = 200 ]
req POST /jobs '{"command":["true"],"queue":"capped"}'
req GET "/jobs/$(field job_id)"
check "a later job takes the new queue priority" [ "$(field priority)" = -70000 ]
req PATCH /queues/capped '{"max_workers":-1}'
check "PATCH bad value 422" [ "$code" = 422 ]
req PATCH /queues/capped '{"priority":2147483648}'
check "PATCH priority out of int32 422" [ "$code" = 422 ]
req PATCH /queues/capped '{"name":"other"}'
check "PATCH of another field 422" [ "$code" = 422 ]
req PATCH /queues/capped '[1]'
check "PATCH not an object 400" [ "$code" = 400 ]
req PATCH /queues/nowhere '{"max_workers":1}'
check "PATCH unknown queue 404" [ "$code" = 404 ]

# --- DELETE ---------------------------------------------------------------------------------
req DELETE /queues/capped
check "DELETE with live jobs 409" [ "$code" = 409 ]
check "... not_empty" grep -q '"not_empty"' <<<"$body"
req DELETE /queues/nowhere
check "DELETE unknown 404" [ "$code" = 404 ]
req DELETE /queues/default
check "DELETE default 409" [ "$code" = 409 ]
no_live() { [ "$(running_in_capped)" = 0 ] && req GET "/jobs?status=queued,pending" && ! grep -q '"queue":"capped"' <<<"$body"; }
check "the queue's jobs end" wait_until 15 no_live
req DELETE /queues/capped
check "DELETE when empty 200" [ "$code" = 200 ]
req GET /queues
check "gone from the list" not grep -q '"name":"capped"' <<<"$body"
req POST /jobs '{"command":["true"],"queue":"capped"}'
check "unknown queue for new jobs 422" [ "$code" = 422 ]

# --- durable: kill -9, then a snapshot ------------------------------------------------------
req POST /queues '{"name":"kept","priority":1,"max_workers":2}'
req PATCH /queues/kept '{"priority":123456,"max_workers":7}'
req PATCH /queues/default '{"max_workers":9}'
req POST /jobs '{"command":["true"],"priority":-2147483648,"scheduled_at":"2099-01-01T00:00:00Z"}'
low=$(field job_id)
req POST /jobs '{"command":["true"],"priority":2147483647,"scheduled_at":"2099-01-01T00:00:00Z"}'
high=$(field job_id)
req POST /queues '{"name":"dropped"}'
req DELETE /queues/dropped
check "empty queue deleted" [ "$code" = 200 ]
queues_as_left() {
	req GET /queues
	grep -q '"name":"kept","priority":123456,"max_workers":7' <<<"$body" &&
		grep -q '"name":"default","priority":[0-9-]*,"max_workers":9' <<<"$body" &&
		not grep -q '"name":"dropped"' <<<"$body" && not grep -q '"name":"capped"' <<<"$body" &&
		req GET "/jobs/$low" && [ "$(field priority)" = -2147483648 ] &&
		req GET "/jobs/$high" && [ "$(field priority)" = 2147483647 ]
}
stop_daemon KILL
start_daemon --workers 4
check "queue changes and int32 job priorities survive kill -9" queues_as_left
req POST /snapshot
snapshot_over() { req GET /health; grep -q '"snapshotting":false' <<<"$body"; }
wait_until 30 snapshot_over
stop_daemon KILL
start_daemon --workers 4
check "... and a snapshot" queues_as_left

stop_daemon
echo "test_queues: $pass passed, $fail failed"
[ "$fail" = 0 ]
