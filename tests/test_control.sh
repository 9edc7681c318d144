#!/usr/bin/env bash
# test_control.sh - job control through curl: a job submitted held and one
# held while queued stay pending (reason held) until released; hold of a
# running or finished job is refused (409); PATCH changes a queued job's
# priority (its start order changes), timeout and start time, names a bad
# field (422) and refuses a started job (409); requeue of a running job
# runs it again as attempt 2; scheduling paused and resumed (only the
# daemon's owner or root); held, updated and paused survive kill -9, and
# a snapshot then kill -9.
# Usage: tests/test_control.sh BUILD_DIR
set -u
build=${1:-build/debug}
daemon="$build/jobringd"
cli="$build/jobring"
tmp=$(mktemp -d /tmp/jr-control-XXXXXX)
sock="$tmp/s.sock"
. "$(dirname "$0")/lib.sh"

topo="package:1 core:2 pu:1"	# two cores: a job asking for both blocks the rest
submit() {	# submit JSON: sets $id
	req POST /jobs "$1"
	id=$(field job_id)
}
shows() {	# shows ID KEY VALUE: the job's view has "KEY":VALUE
	req GET "/jobs/$1"
	grep -q "\"$2\":$3" <<<"$body"
}
answered() {	# answered STATUS [CODE]: the last answer had that status (and error code)
	[ "$code" = "$1" ] && { [ $# -lt 2 ] || [ "$(field code)" = "$2" ]; }
}
says() { grep -q "$1" <<<"$body"; }	# says TEXT: the last answer has it
held() { shows "$1" status '"pending"' && shows "$1" reason '"held"' && shows "$1" held true; }

start_daemon --topology "$topo"
submit '{"command":["sleep","30"],"requirements":{"cpus":2}}'
blocker=$id
check "the blocker runs" wait_status "$blocker" running
submit '{"command":["sh","-c","echo first >> '"$tmp"'/order"],"requirements":{"cpus":2},"priority":3}'
first=$id
submit '{"command":["sh","-c","echo second >> '"$tmp"'/order"],"requirements":{"cpus":2},"priority":3}'
second=$id
submit '{"command":["true"],"hold":true}'
sub_held=$id
check "submitted with \"hold\": true: pending, reason held, held true" held "$sub_held"
submit '{"command":["true"],"hold":"yes"}'
check "\"hold\" must be a boolean (400)" [ "$code" = 400 ]
req POST /jobs/batch $'{"command":["true"],"hold":true}\n{"command":["true"]}'
batch_held=$(printf '%s' "$body" | grep -o '"job_ids":\["[0-9a-f]*' | sed 's/.*"//')
check "a batch's line with \"hold\": true is submitted held" held "$batch_held"

# --- hold and release ----------------------------------------------------------------------
submit '{"command":["true"],"requirements":{"cpus":2}}'
queued=$id
req PUT "/jobs/$queued/hold"
check "PUT hold of a queued job: 200" [ "$code" = 200 ]
check "... it is held" held "$queued"
req POST "/jobs/$queued/hold"
check "POST hold too (again: still 200)" [ "$code" = 200 ]
req PUT "/jobs/$blocker/hold"
check "hold of a running job: 409 already_started" answered 409 already_started
req PUT "/jobs/00000000deadbeef/hold"
check "hold of no such job: 404" [ "$code" = 404 ]

# --- update -------------------------------------------------------------------------------
req PATCH "/jobs/$second" '{"priority":6,"timeout":"10m"}'
check "PATCH priority and timeout: 200" [ "$code" = 200 ]
check "... the view shows them" shows "$second" priority 6
check "... and the timeout" grep -q '"timeout":"10m"' <<<"$body"
req PATCH "/jobs/$first" '{"priority":4294967296}'
check "PATCH a bad priority: 422" answered 422
check "... naming it" says priority
req PATCH "/jobs/$first" '{"command":["false"]}'
check "PATCH a field that cannot change: 422 unknown_field" answered 422 unknown_field
req PATCH "/jobs/$first" '{"scheduled_at":"2099-01-01T00:00:00Z"}'
check "PATCH scheduled_at: 200" answered 200
check "... the job is pending" shows "$first" status '"pending"'
req PATCH "/jobs/$first" '{"scheduled_at":null}'
check "PATCH scheduled_at null: 200" answered 200
check "... queued again" shows "$first" status '"queued"'
req PATCH "/jobs/$blocker" '{"priority":1}'
check "PATCH a running job: 409 already_started" answered 409 already_started
req PATCH "/jobs/$first" '{"priority":'
check "PATCH with broken JSON: 400" [ "$code" = 400 ]

# --- persistence: kill -9 -----------------------------------------------------------------
req POST /scheduler/pause
check "POST /scheduler/pause: 200" answered 200
check "... paused" says '"paused":true'
req PUT "/jobs/$blocker/cancel"
check "the blocker is cancelled" wait_status "$blocker" cancelled
sleep 0.3
check "paused: nothing starts" shows "$first" status '"queued"'
stop_daemon KILL
start_daemon --topology "$topo"
req GET /scheduler
check "after kill -9: still paused" grep -q '"paused":true' <<<"$body"
check "... the held job still held" held "$queued"
check "... the job submitted held too" held "$sub_held"
check "... the update kept" shows "$second" priority 6
req POST /snapshot
check "a snapshot is taken (202)" [ "$code" = 202 ]
snapshot_over() { req GET /health; grep -q '"snapshotting":false' <<<"$body"; }
check "... and written" wait_until 30 snapshot_over
stop_daemon KILL
start_daemon --topology "$topo"
req GET /scheduler
check "after a snapshot and kill -9: still paused" grep -q '"paused":true' <<<"$body"
check "... still held" held "$queued"
check "... the update kept" shows "$second" priority 6

# --- resume: the updated job starts first; release ------------------------------------------
req POST /scheduler/resume
check "POST /scheduler/resume: 200" answered 200
check "... not paused" says '"paused":false'
check "the first job ends" wait_status "$first" succeeded
check "the second too" wait_status "$second" succeeded
check "the raised one started first" [ "$(tr '\n' ' ' <"$tmp/order")" = "second first " ]
check "the held job did not run" held "$queued"
req PUT "/jobs/$queued/release"
check "PUT release: 200" [ "$code" = 200 ]
check "... it runs to its end" wait_status "$queued" succeeded
req PUT "/jobs/$queued/hold"
check "hold of a finished job: 409 already_finished" answered 409 already_finished
req POST "/jobs/$sub_held/release"
check "POST release of the job submitted held: it runs" wait_status "$sub_held" succeeded

# --- requeue ---------------------------------------------------------------------------------
submit '{"command":["sh","-c","if [ -e '"$tmp"'/ran ]; then exit 0; fi; : > '"$tmp"'/ran; exec sleep 30"]}'
rq=$id
check "a job to requeue runs" wait_status "$rq" running
wait_until 10 [ -e "$tmp/ran" ]
req PUT "/jobs/$rq/requeue"
check "PUT requeue of a running job: 200" [ "$code" = 200 ]
check "... it runs again and succeeds" wait_status "$rq" succeeded
check "... as attempt 2" shows "$rq" attempts 2
submit '{"command":["true"],"hold":true}'
req PUT "/jobs/$id/requeue"
check "requeue of a job that has not started: 409 not_started" answered 409 not_started

# A finished job requeued (paused, so that it waits), then kill -9: it is
# queued again after the restart and runs as attempt 2.
submit '{"command":["sh","-c","if [ -e '"$tmp"'/ran2 ]; then exit 0; fi; : > '"$tmp"'/ran2; exit 3"],"hold":true}'
fin=$id
req PUT "/jobs/$fin/release"
check "a job that fails once ends failed" wait_status "$fin" failed
req POST /scheduler/pause
req PUT "/jobs/$fin/requeue"
check "PUT requeue of a finished job: 200" answered 200
check "... queued again, not held (its \"hold\" was for its submission)" shows "$fin" status '"queued"'
check "... reason requeued" shows "$fin" reason '"requeued"'
stop_daemon KILL
start_daemon --topology "$topo"
check "after kill -9: still queued" shows "$fin" status '"queued"'
req POST /scheduler/resume
check "... resumed, it runs and succeeds" wait_status "$fin" succeeded
check "... as attempt 2" shows "$fin" attempts 2
req PUT "/jobs/00000001deadbeef/requeue"
check "requeue of no such job: 404" answered 404

# An array's id (its first task's) controls every task, as scontrol's
# does: held at submission, updated, released, requeued once ended; a
# finished task's first attempt stays in its executions.
tasks_all() {	# tasks_all ARRAY KEY VALUE: every task's own view has it
	req GET "/jobs?array=$1&limit=1000"
	[ "$(grep -o "\"$2\":$3" <<<"$body" | wc -l)" -ge 4 ]
}
tasks_done() {	# tasks_done ARRAY: all 4 tasks succeeded
	req GET "/jobs?array=$1&limit=1000"
	[ "$(grep -o '"status":"succeeded","reason"' <<<"$body" | wc -l)" = 4 ]
}
submit '{"command":["true"],"array":"0-3","hold":true}'
arr=$id
check "an array submitted held: every task held" tasks_all "$arr" reason '"held"'
req PATCH "/jobs/$arr" '{"priority":9}'
check "PATCH of the array's id: 200" answered 200
check "... every task's priority" tasks_all "$arr" priority 9
req PATCH "/jobs/$arr" '{"command":["false"]}'
check "... a field that cannot change: 422 for the array too" answered 422 unknown_field
req PUT "/jobs/$arr/release"
check "release of the array's id: 200" answered 200
check "... every task runs to the end" wait_until 20 tasks_done "$arr"
req PUT "/jobs/$arr/hold"
check "hold of an array whose tasks all ended: 409" answered 409
req POST /scheduler/pause
req PUT "/jobs/$arr/requeue"
check "requeue of the array's id: 200" answered 200
check "... every task queued again" tasks_all "$arr" reason '"requeued"'
stop_daemon KILL
start_daemon --topology "$topo"
check "... still queued after kill -9" tasks_all "$arr" reason '"requeued"'
req POST /scheduler/resume
check "... resumed, every task succeeds again" wait_until 20 tasks_done "$arr"
check "... as attempt 2" tasks_all "$arr" attempts 2
req GET "/executions?job_id=$arr"
check "... the first attempt kept in the task's executions" \
	[ "$(grep -o '"execution_id"' <<<"$body" | wc -l)" = 2 ]

stop_daemon

# --- who may: the job's owner or root; pause only root or the daemon's owner ---------------
if [ "$(id -u)" = 0 ] && command -v useradd >/dev/null && command -v runuser >/dev/null; then
	id jrtest_a >/dev/null 2>&1 || useradd -M -s /bin/sh jrtest_a
	chmod 755 "$tmp"
	as_a() {	# as_a METHOD PATH [BODY]: req as jrtest_a
		local out
		out=$(runuser -u jrtest_a -- curl -s -w '\n%{http_code}' --unix-socket "$sock" \
			-X "$1" -H 'Content-Type: application/json' ${3:+--data-binary "$3"} \
			"http://jobring$2")
		code=${out##*$'\n'}
		body=${out%$'\n'*}
	}
	start_daemon --topology "$topo" --socket-mode 0666
	submit '{"command":["true"],"hold":true}'
	as_a PUT "/jobs/$id/release"
	check "another user's release of root's job: 403" answered 403 forbidden
	as_a PATCH "/jobs/$id" '{"priority":1}'
	check "... PATCH: 403" answered 403 forbidden
	as_a POST /scheduler/pause
	check "pause by a user who does not own the daemon: 403" answered 403 forbidden
	as_a GET /scheduler
	check "... who may still look (200)" answered 200
	cd /
	as_a POST /jobs '{"command":["true"],"hold":true}'
	mine=$(field job_id)
	as_a PUT "/jobs/$mine/release"
	check "the owner releases their own job: 200" answered 200
	check "... and it runs" wait_status "$mine" succeeded
	cd - >/dev/null
	stop_daemon
else
	echo "SKIP (part): the owner checks need root, useradd and runuser"
fi
echo "test_control: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
