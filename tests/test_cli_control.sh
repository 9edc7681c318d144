#!/usr/bin/env bash
# test_cli_control.sh - the jobring CLI against issue 13's new routes
# (the shared contract: hold/release/requeue, PATCH /jobs/{id},
# /scheduler, executions of every attempt, PATCH and DELETE /queues,
# "after" objects and "singleton", arrays). Each check says what the
# contract promises, through the CLI, with curl to look.
# Usage: tests/test_cli_control.sh BUILD_DIR
set -u
build=$(cd "${1:-build/debug}" && pwd)
daemon="$build/jobringd"
cli="$build/jobring"
tmp=$(mktemp -d /tmp/jr-clictl-XXXXXX)
sock="$tmp/s.sock"
. "$(dirname "$0")/lib.sh"

jr() { "$cli" --socket "$sock" "$@"; }
short_of() { printf '%s' "$1" | sed 's/^0*//'; }
get() { req GET "/jobs/$1"; }
ended() { get "$1"; case $(field status) in succeeded|failed|cancelled) return 0;; esac; return 1; }
bool_field() { grep -o "\"$1\":\(true\|false\)" <<<"$body" | head -1 | sed 's/.*://'; }

start_daemon
mkdir -p "$tmp/work"
cd "$tmp/work" || exit 1

# --- hold, release -------------------------------------------------------------
held=$(jr submit --hold -J held1 -- true)
check "submit --hold: an id" grep -qx '[0-9a-f]\{16\}' <<<"$held"
get "$held"
check "--hold: pending" [ "$(field status)" = pending ]
check "--hold: reason held" [ "$(field reason)" = held ]
check "--hold: held true" [ "$(bool_field held)" = true ]
sleep 0.5
get "$held"
check "a held job does not start" [ "$(field status)" = pending ]
jr release held1 >"$tmp/out"
check "release NAME: exit 0" [ $? = 0 ]
check "release: says the job" grep -q "^$held " "$tmp/out"
check "released: it runs to the end" wait_status "$held" succeeded

jr scheduler pause >"$tmp/out"
check "scheduler pause: says paused" grep -qx 'scheduler paused' "$tmp/out"
jr scheduler status >"$tmp/out"
check "scheduler status: paused" grep -qx 'scheduler paused' "$tmp/out"
req GET /scheduler
check "GET /scheduler: paused true" [ "$(bool_field paused)" = true ]
q=$(jr submit -J queued1 -- true)
sleep 0.5
get "$q"
check "paused: a new job does not start" [ "$(field status)" = queued ]
jr hold "$(short_of "$q")" >/dev/null
check "hold SHORT_ID: exit 0" [ $? = 0 ]
get "$q"
check "hold: pending, held" [ "$(field status)/$(field reason)" = pending/held ]

# --- update before the start, refused after ------------------------------------------
jr queues create ctlq --priority 2 >/dev/null
jr update "$q" --priority 5 --time 10 --partition ctlq >"$tmp/out" 2>&1
check "update --priority --time --partition: exit 0" [ $? = 0 ] || cat "$tmp/out"
get "$q"
check "update: the priority" [ "$(field priority)" = 5 ]
check "update: the queue" [ "$(field queue)" = ctlq ]
jr update "$q" --priority -2147483648 >/dev/null 2>&1
get "$q"
check "update: the lowest int32 priority" [ "$(field priority)" = -2147483648 ]
jr update "$q" --time 1:2:3:4 >/dev/null 2>"$tmp/err"
check "update --time bad: exit 2, naming it" [ $? = 2 ] && grep -q -- '--time 1:2:3:4 must be' "$tmp/err"
jr update "$q" >/dev/null 2>"$tmp/err"
check "update with nothing to change: exit 2" [ $? = 2 ]
jr release "$q" >/dev/null
jr scheduler resume >"$tmp/out"
check "scheduler resume: says running" grep -qx 'scheduler running' "$tmp/out"
check "resumed: the job runs" wait_status "$q" succeeded
jr update "$q" --priority 1 >/dev/null 2>"$tmp/err"
check "update after the start: exit 1" [ $? = 1 ]
check "update after the start: already_finished" grep -q already_finished "$tmp/err"

# --- requeue and every attempt ---------------------------------------------------------
r=$(jr submit -J twice -- sh -c 'echo "run $(cat count 2>/dev/null || echo 0)"; echo 1 > count')
check "first run ends" wait_status "$r" succeeded
jr requeue twice >/dev/null
check "requeue NAME: exit 0" [ $? = 0 ]
second_done() { get "$r"; field_is status succeeded && field_is attempts 2; }
check "requeued: runs again as attempt 2" wait_until 10 second_done
check "logs --attempt 1: the first run's" [ "$(jr logs --attempt 1 "$r")" = "run 0" ]
check "logs --attempt 2: the second's" [ "$(jr logs --attempt 2 "$r")" = "run 1" ]
check "logs: the latest attempt" [ "$(jr logs twice)" = "run 1" ]
jr executions --job twice >"$tmp/out"
check "executions --job NAME: both attempts" [ "$(grep -c "$r" "$tmp/out")" = 2 ]
jr logs --attempt 9 "$r" >/dev/null 2>&1
check "logs --attempt of none: exit 1" [ $? = 1 ]

# --- queues update, delete -----------------------------------------------------------------
jr queues update ctlq --max-workers 3 --priority 4 >/dev/null
check "queues update: exit 0" [ $? = 0 ]
jr queues >"$tmp/out"
check "queues: the update shows" grep -q '^[0-9]* *ctlq *4 *3$' "$tmp/out"
jr scheduler pause >/dev/null
live=$(jr submit -p ctlq -J inq -- true)
jr queues delete ctlq >/dev/null 2>"$tmp/err"
check "queues delete with a live job: exit 1" [ $? = 1 ]
check "... not_empty" grep -q not_empty "$tmp/err"
jr cancel "$live" >/dev/null
jr scheduler resume >/dev/null
jr queues delete ctlq >/dev/null
check "queues delete once empty: exit 0" [ $? = 0 ]
jr queues >"$tmp/out"
check "... gone" not grep -q ctlq "$tmp/out"

# --- --dependency, singleton --------------------------------------------------------------------
# The parent ends once $tmp/go-parent exists (a fixed sleep ran out on a
# loaded host before the child was looked at).
p=$(jr submit -J parent -- sh -c "i=0; while [ ! -e $tmp/go-parent ] && [ \$i -lt 300 ]; do sleep 0.1; i=\$((i + 1)); done; touch parent.done")
c=$(jr submit -J child -d afterok:parent -- test -e parent.done)
get "$c"
check "-d afterok:NAME: the child waits" [ "$(field status)" = pending ]
touch "$tmp/go-parent"
check "the child runs after its parent (and succeeds)" wait_status "$c" succeeded
f=$(jr submit -J failing -- false)
n=$(jr submit -J notok -d "afternotok:$(short_of "$f")" -- true)
a=$(jr submit -J any -d "afterany:$f" -- true)
check "afternotok on a failure: runs" wait_status "$n" succeeded
check "afterany on a failure: runs" wait_status "$a" succeeded
o=$(jr submit -J okonfail -d "afterok:$f" -- true)
check "afterok on a failure: cancelled" wait_status "$o" cancelled
check "... dependency_failed" [ "$(field reason)" = dependency_failed ]
s1=$(jr submit -J single -d singleton -- sh -c 'echo start >> single.log; sleep 0.5; echo end >> single.log')
s2=$(jr submit -J single -d singleton -- sh -c 'echo start >> single.log; sleep 0.5; echo end >> single.log')
both() { ended "$s1" && ended "$s2"; }
check "singletons end" wait_until 20 both
check "singletons one at a time" [ "$(tr '\n' ' ' <single.log)" = "start end start end " ]

# --- arrays ---------------------------------------------------------------------------------
arr=$(jr submit -J arr -a 0-5%2 -- sh -c 'echo "task $JOBRING_ARRAY_TASK_ID of $JOBRING_ARRAY_JOB_ID"')
check "--array: the array's id" grep -qx '[0-9a-f]\{16\}' <<<"$arr"
jr ls --array "$arr" >"$tmp/out"
check "ls --array: its 6 tasks" [ "$(grep -c '^[0-9a-f]' "$tmp/out")" = 6 ]
req GET "/jobs?array=$arr&limit=1000"
task=$(grep -o '"job_id":"[0-9a-f]*"' <<<"$body" | tail -1 | sed 's/.*:"//; s/"//')
check "a task ends" wait_status "$task" succeeded
check "a task's logs: its task id and the array's id" \
	grep -qx "task [0-5] of [0-9a-f]\{1,16\}" <<<"$(jr logs "$task")"
arr2=$(jr submit -J arr2 -a 0-9%1 -- sleep 30)
jr cancel "$arr2" >/dev/null
all_cancelled() {
	req GET "/jobs?array=$arr2&limit=1000"
	# Each task's own status (the array's view adds an "array_tasks" one).
	[ "$(grep -o '"status":"cancelled","reason"' <<<"$body" | wc -l)" = 10 ]
}
check "cancel of the array's id: every task cancelled" wait_until 10 all_cancelled

echo "test_cli_control: $pass passed, $fail failed"
[ "$fail" = 0 ]
