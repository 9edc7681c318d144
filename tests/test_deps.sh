#!/usr/bin/env bash
# test_deps.sh - dependency types and singleton through the real daemon:
# afterok, afterany, afternotok and after, as ids or {"job_id","type"}
# objects, each on a job that succeeds, fails, runs or is cancelled; a
# dependency that can never be met cancels with the reason; singleton
# jobs of one name never overlap; the types survive kill -9, including a
# dependency that ends while the daemon is down (settled at restore by
# its type). Usage: tests/test_deps.sh BUILD_DIR
set -u
build=${1:-build/debug}
daemon="$build/jobringd"
cli="$build/jobring"
tmp=$(mktemp -d /tmp/jr-deps-XXXXXX)
sock="$tmp/s.sock"
. "$(dirname "$0")/lib.sh"

submit() {	# submit JSON: the new job's id in $id
	req POST /jobs "$1"
	id=$(field job_id)
	[ "$code" = 201 ] || echo "submit refused ($code): $body"
}
dep() { printf '{"job_id":"%s","type":"%s"}' "$1" "$2"; }
reason_is() { req GET "/jobs/$1"; field_is reason "$2"; }
status_is() { req GET "/jobs/$1"; field_is status "$2"; }

start_daemon --workers 4

# --- each type on each outcome ----------------------------------------------------
submit '{"command":["true"],"name":"ok"}'; ok=$id
submit '{"command":["false"],"name":"bad"}'; bad=$id
check "ok succeeds" wait_status "$ok" succeeded
check "bad fails" wait_status "$bad" failed
submit "{\"command\":[\"true\"],\"after\":[$(dep "$bad" afterany)]}"; any_bad=$id
submit "{\"command\":[\"true\"],\"after\":[$(dep "$bad" afternotok)]}"; notok_bad=$id
submit "{\"command\":[\"true\"],\"after\":[$(dep "$ok" afternotok)]}"; notok_ok=$id
submit "{\"command\":[\"true\"],\"after\":[\"$bad\"]}"; ok_bad=$id
submit "{\"command\":[\"true\"],\"dependencies\":[\"$ok\",$(dep "$bad" afterany)]}"; mixed=$id
check "afterany on a failed job runs" wait_status "$any_bad" succeeded
check "afternotok on a failed job runs" wait_status "$notok_bad" succeeded
check "afternotok on a succeeded job: cancelled" wait_status "$notok_ok" cancelled
check "... dependency_never_satisfied" reason_is "$notok_ok" dependency_never_satisfied
check "afterok (a plain id) on a failed job: dependency_failed" wait_status "$ok_bad" cancelled
check "... reason dependency_failed" reason_is "$ok_bad" dependency_failed
check "ids and objects mixed in one list" wait_status "$mixed" succeeded
req GET "/jobs/$mixed"
check "the view shows the typed dependencies" grep -q '"type":"afterany"' <<<"$body"

# after: starts once its dependency started, while it still runs.
submit '{"command":["sleep","3"],"name":"runner"}'; runner=$id
submit "{\"command\":[\"true\"],\"after\":[$(dep "$runner" after)]}"; after_run=$id
submit "{\"command\":[\"true\"],\"after\":[$(dep "$runner" afterany)]}"; any_run=$id
check "after: done while its dependency still runs" wait_status "$after_run" succeeded
check "... which is still running" status_is "$runner" running
check "afterany waits for the end" status_is "$any_run" pending
check "afterany runs after the end" wait_until 10 status_is "$any_run" succeeded

# Cancelled before it ran: after, afterany and afternotok are met, afterok is not.
at=$(date -u -d '+1 hour' +%Y-%m-%dT%H:%M:%SZ)
submit "{\"command\":[\"true\"],\"scheduled_at\":\"$at\"}"; gate=$id
submit "{\"command\":[\"true\"],\"after\":[$(dep "$gate" after)]}"; g_after=$id
submit "{\"command\":[\"true\"],\"after\":[$(dep "$gate" afternotok)]}"; g_notok=$id
submit "{\"command\":[\"true\"],\"after\":[\"$gate\"]}"; g_ok=$id
check "dependents of a pending job wait" status_is "$g_after" pending
req PUT "/jobs/$gate/cancel"
check "after on a job cancelled before it ran: runs" wait_status "$g_after" succeeded
check "afternotok on a cancelled job: runs" wait_status "$g_notok" succeeded
check "afterok on a cancelled job: cancelled" wait_status "$g_ok" cancelled

# --- bad input ------------------------------------------------------------------------
req POST /jobs "{\"command\":[\"true\"],\"after\":[$(dep "$ok" afterwards)]}"
check "unknown type 422" [ "$code" = 422 ]
check "... invalid_value" grep -q '"code":"invalid_value"' <<<"$body"
req POST /jobs "{\"command\":[\"true\"],\"after\":[$(dep "$ok" aftercorr)]}"
check "aftercorr on a plain job 422" [ "$code" = 422 ]
req POST /jobs "{\"command\":[\"true\"],\"after\":[{\"job_id\":\"$ok\",\"type\":\"afterany\",\"x\":1}]}"
check "extra key in a dependency 422" [ "$code" = 422 ]
req POST /jobs "{\"command\":[\"true\"],\"after\":[{\"type\":\"afterany\"}]}"
check "dependency without job_id 400" [ "$code" = 400 ]
req POST /jobs '{"command":["true"],"after":[7]}'
check "a number as a dependency 400" [ "$code" = 400 ]
req POST /jobs "{\"command\":[\"true\"],\"after\":[$(dep 00000000deadbeef afterany)]}"
check "unknown job in an object 422" [ "$code" = 422 ]
req POST /jobs '{"command":["true"],"singleton":true}'
check "singleton without a name 422" [ "$code" = 422 ]
req POST /jobs '{"command":["true"],"name":"x","singleton":"yes"}'
check "singleton not a boolean 400" [ "$code" = 400 ]

# --- singleton ----------------------------------------------------------------------
submit '{"command":["sleep","1"],"name":"one","singleton":true}'; s1=$id
submit '{"command":["sleep","1"],"name":"one","singleton":true}'; s2=$id
submit '{"command":["sleep","1"],"name":"one","singleton":true}'; s3=$id
submit '{"command":["true"],"name":"other","singleton":true}'; other=$id
check "all three singletons ran" wait_until 15 status_is "$s3" succeeded
check "... the first too" status_is "$s1" succeeded
# Their runs, by start: each starts no earlier than the one before ended
# (times to the millisecond, as RFC 3339 strings that sort by time).
runs=$(for j in "$s1" "$s2" "$s3"; do
	req GET "/jobs/$j"
	echo "$(field start_time) $(field end_time)"
done | sort)
prev_end=""
overlap=0
while read -r start end; do
	[ -n "$prev_end" ] && [[ "$start" < "$prev_end" ]] && overlap=1
	prev_end=$end
done <<<"$runs"
check "singleton jobs of one name never overlap" [ "$overlap" = 0 ]
check "another name is not held back" wait_status "$other" succeeded

# --- kill -9 ------------------------------------------------------------------------
submit '{"command":["sleep","1"],"name":"away"}'; away=$id
check "it runs" wait_status "$away" running
submit "{\"command\":[\"true\"],\"after\":[$(dep "$away" afternotok)]}"; k_notok=$id
submit "{\"command\":[\"true\"],\"after\":[$(dep "$away" afterany)]}"; k_any=$id
submit "{\"command\":[\"true\"],\"scheduled_at\":\"$at\"}"; gate2=$id
submit "{\"command\":[\"true\"],\"after\":[$(dep "$gate2" afternotok)]}"; k_gate=$id
stop_daemon KILL
sleep 1.5	# "away" ends while the daemon is down
start_daemon --workers 4
check "afternotok on a job that succeeded while the daemon was down: cancelled" \
	wait_status "$k_notok" cancelled
check "... dependency_never_satisfied" reason_is "$k_notok" dependency_never_satisfied
check "afterany on it runs after the restart" wait_status "$k_any" succeeded
check "a typed dependent of a pending job still waits" status_is "$k_gate" pending
req PUT "/jobs/$gate2/cancel"
check "... and its type still counts (afternotok: runs)" wait_status "$k_gate" succeeded

check "jobringd stops cleanly (exit 0; a sanitizer's finding fails it)" stop_daemon
echo "test_deps: $pass passed, $fail failed"
[ "$fail" = 0 ]
