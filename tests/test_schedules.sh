#!/usr/bin/env bash
# test_schedules.sh - schedules (issue 15) through the API and the CLI:
# created, listed, shown with their next fire times, patched, paused,
# resumed, deleted; every bad field a 422 JSON error; another user sees
# and changes none of them (as root, with useradd); the overlap
# policies with a job that outlives its interval (skip, queue_one,
# cancel_running, allow); catch-up after a pause and after the daemon
# was stopped (one run, the rest counted); every fired job carries
# schedule_id and due, and no due instant fires twice.
# Usage: tests/test_schedules.sh BUILD_DIR
set -u
build=${1:-build/debug}
build=$(cd "$build" && pwd)
daemon="$build/jobringd"
cli="$build/jobring"
tmp=$(mktemp -d /tmp/jr-sched-XXXXXX)
chmod 755 "$tmp"
sock="$tmp/s.sock"
. "$(dirname "$0")/lib.sh"
cd /
error_is() { grep -q "\"error\":{\"code\":\"$1\"" <<<"$body"; }
jr() { JOBRING_SOCKET="$sock" "$cli" "$@"; }
# jobs_of ID: "due status" of each job schedule ID fired, sorted by due
jobs_of() {
	req GET "/jobs?limit=1000"
	jq -r --argjson s "$1" '.jobs[] | select(.schedule_id == $s) | "\(.due) \(.status)"' <<<"$body" | sort
}
dues_unique() { [ -z "$(jobs_of "$1" | awk '{print $1}' | uniq -d)" ]; }

start_daemon --socket-mode 0666

# --- create, list, show, patch, pause, resume, delete -----------------------------------------
req POST /schedules '{"name":"every-hour","every":"1h","job":{"command":["true"]}}'
check "create 201" [ "$code" = 201 ]
id=$(field id)
check "... an id" [ -n "$id" ]
check "... next_due on the hour" grep -q '"next_due":"[0-9-]*T[0-9][0-9]:00:00.000Z"' <<<"$body"
req GET "/schedules/$id?next=3"
check "show 200" [ "$code" = 200 ]
check "... three next fire times" [ "$(grep -o '"next":\[[^]]*\]' <<<"$body" | grep -o 'Z"' | wc -l)" = 3 ]
req GET "/schedules/every-hour?next=101"
check "next over the bound 400" [ "$code" = 400 ]
req GET "/schedules/every-hour"
check "show by name" [ "$(field id)" = "$id" ]
req GET /schedules
check "list has it" grep -q '"name":"every-hour"' <<<"$body"
req POST /schedules '{"name":"every-hour","every":"2h","job":{"command":["true"]}}'
check "a second with the name 409" [ "$code" = 409 ]
req PATCH "/schedules/$id" '{"every":"30m","overlap":"allow"}'
check "patch 200" [ "$code" = 200 ]
check "... every changed" [ "$(field every)" = 30m ]
check "... overlap changed" [ "$(field overlap)" = allow ]
check "... same id" [ "$(field id)" = "$id" ]
req PATCH "/schedules/$id" '{"every":"soon"}'
check "bad patch 422" [ "$code" = 422 ]
req POST "/schedules/$id/pause"
check "pause 200" [ "$code" = 200 ] && grep -q '"paused":true' <<<"$body"
check "... no next_due" [ "$(field next_due)" = null ]
req POST "/schedules/$id/resume"
check "resume 200" grep -q '"paused":false' <<<"$body"
req DELETE "/schedules/$id"
check "delete 200" [ "$code" = 200 ]
req GET "/schedules/$id"
check "gone 404" [ "$code" = 404 ]

# --- validation ---------------------------------------------------------------------------
bad() {	# bad NAME BODY CODE
	req POST /schedules "$2"
	check "$1: $3" [ "$code" = "$3" ]
	check "$1: JSON error" grep -q '"error":{"code":' <<<"$body"
}
bad "unknown field" '{"name":"x","every":"1m","job":{"command":["true"]},"repeat":1}' 422
bad "bad duration" '{"name":"x","every":"1 fortnight","job":{"command":["true"]}}' 422
bad "no cron, no every" '{"name":"x","job":{"command":["true"]}}' 422
bad "both" '{"name":"x","every":"1m","cron":"* * * * *","job":{"command":["true"]}}' 422
bad "no job" '{"name":"x","every":"1m"}' 422
bad "bad job" '{"name":"x","every":"1m","job":{"command":["true"],"priority":"high"}}' 400
bad "job unknown field" '{"name":"x","every":"1m","job":{"command":["true"],"cron":1}}' 422
bad "bad overlap" '{"name":"x","every":"1m","overlap":"maybe","job":{"command":["true"]}}' 422
bad "bad start" '{"name":"x","every":"1m","start":"yesterday","job":{"command":["true"]}}' 422
bad "bad name" '{"name":"../x","every":"1m","job":{"command":["true"]}}' 422
bad "not JSON" '{"name":' 400
bad "array job" '{"name":"x","every":"1m","job":{"command":["true"],"array":"1-3"}}' 422
req POST /schedules '{"name":"c","cron":"*/5 * * * *","timezone":"Europe/London","job":{"command":["true"]}}'
if [ "$code" = 201 ]; then
	check "cron: next fires on the 5 minutes" grep -q '"next":\["[0-9-]*T[0-9][0-9]:[0-5][05]:00.000Z"' <<<"$body"
	req DELETE "/schedules/$(field id)"
	bad "unknown zone" '{"name":"x","cron":"0 2 * * *","timezone":"Mars/Olympus","job":{"command":["true"]}}' 422
	bad "bad cron" '{"name":"x","cron":"61 * * * *","job":{"command":["true"]}}' 422
else
	echo "NOTE: cron expressions not built in (the cron library is not merged): cron cases skipped"
fi

# --- another user ------------------------------------------------------------------------
if [ "$(id -u)" = 0 ] && command -v useradd >/dev/null && command -v runuser >/dev/null; then
	for u in jrtest_a jrtest_b; do id "$u" >/dev/null 2>&1 || useradd -M -s /bin/sh "$u"; done
	as jrtest_a POST /schedules '{"name":"mine","every":"1h","job":{"command":["true"],"cwd":"/"}}'
	check "a user creates one" [ "$code" = 201 ]
	aid=$(field id)
	check "... owned by the user" [ "$(field uid)" = "$(id -u jrtest_a)" ]
	as jrtest_b GET "/schedules/$aid"
	check "another user cannot see it" [ "$code" = 404 ]
	as jrtest_b GET /schedules
	check "... nor list it" not grep -q '"name":"mine"' <<<"$body"
	as jrtest_b PATCH "/schedules/$aid" '{"every":"1m"}'
	check "... nor patch it" [ "$code" = 404 ]
	as jrtest_b POST "/schedules/$aid/pause"
	check "... nor pause it" [ "$code" = 404 ]
	as jrtest_b DELETE "/schedules/$aid"
	check "... nor delete it" [ "$code" = 404 ]
	as jrtest_b POST /schedules '{"name":"mine","every":"1h","job":{"command":["true"],"cwd":"/"}}'
	check "names are per owner" [ "$code" = 201 ]
	req GET "/schedules/$aid"
	check "root sees it" [ "$code" = 200 ]
	as jrtest_a POST /schedules '{"name":"fast","every":"1s","job":{"command":["id","-u"],"cwd":"/"}}'
	fid=$(field id)
	sleep 2.2
	as jrtest_a POST "/schedules/$fid/pause"
	req GET "/jobs?limit=1000"
	fj=$(jq -r --argjson s "$fid" '[.jobs[] | select(.schedule_id == $s)][0].job_id' <<<"$body")
	check "a user's schedule fired" [ -n "$fj" ] && [ "$fj" != null ]
	wait_status "$fj" succeeded
	check "... its job is the user's" [ "$(field uid)" = "$(id -u jrtest_a)" ]
	out=$(JOBRING_SOCKET="$sock" "$cli" logs "$fj" 2>/dev/null)
	check "... and ran as the user" [ "$out" = "$(id -u jrtest_a)" ]
	as jrtest_a DELETE "/schedules/$fid"
	as jrtest_a DELETE "/schedules/$aid"
	check "the owner deletes it" [ "$code" = 200 ]
else
	echo "SKIP: the other-user cases need root, useradd and runuser"
fi

# --- overlap policies: a 2.5 s job every second -------------------------------------------
for p in skip queue_one cancel_running allow; do
	req POST /schedules '{"name":"ov-'$p'","every":"1s","overlap":"'$p'","job":{"command":["sleep","2.5"]}}'
	eval "ov_$p=$(field id)"
done
sleep 5.5
for p in skip queue_one cancel_running allow; do
	eval "sid=\$ov_$p"
	req POST "/schedules/$sid/pause"
done
req GET "/schedules/$ov_skip"
check "skip: fires skipped while one runs" [ "$(field skipped)" -ge 2 ]
check "skip: at most 3 fired in 5.5 s" [ "$(field fired)" -le 3 ]
check "skip: one due each" dues_unique "$ov_skip"
req GET "/schedules/$ov_queue_one"
check "queue_one: some skipped" [ "$(field skipped)" -ge 1 ]
n_running=$(jobs_of "$ov_queue_one" | grep -c running || true)
check "queue_one: never two running" [ "$n_running" -le 1 ]
check "cancel_running: fired each second" [ "$(jobs_of "$ov_cancel_running" | wc -l)" -ge 4 ]
check "cancel_running: predecessors cancelled" [ "$(jobs_of "$ov_cancel_running" | grep -c cancelled)" -ge 2 ]
check "allow: fired each second" [ "$(jobs_of "$ov_allow" | wc -l)" -ge 4 ]
check "allow: several live at once" [ "$(jobs_of "$ov_allow" | grep -cE 'running|queued|pending')" -ge 2 ]
for p in skip queue_one cancel_running allow; do eval "req DELETE /schedules/\$ov_$p"; done

# --- catch-up after a pause --------------------------------------------------------------
req POST /schedules '{"name":"cu","every":"1s","catch_up":"2s","overlap":"allow","job":{"command":["true"]}}'
cu=$(field id)
sleep 1.5
req POST "/schedules/$cu/pause"
before=$(jobs_of "$cu" | wc -l)
sleep 5
req POST "/schedules/$cu/resume"
sleep 0.5
req GET "/schedules/$cu"
check "resumed: missed instants counted" [ "$(field missed)" -ge 2 ]
check "... coalesced ones counted" [ "$(field coalesced)" -ge 1 ]
after=$(jobs_of "$cu" | wc -l)
check "... one catch-up run (not one per missed instant)" [ $((after - before)) -le 2 ]
check "... each due once" dues_unique "$cu"

# --- catch-up after the daemon was stopped -----------------------------------------------
req POST /schedules '{"name":"down","every":"1s","overlap":"allow","job":{"command":["true"]}}'
down=$(field id)
sleep 2.2
stop_daemon
n1=0
sleep 4
start_daemon --socket-mode 0666
sleep 0.3
req GET "/schedules/$down"
check "restart: missed counted" [ "$(field missed)" -ge 2 ]
check "restart: fired count kept" [ "$(field fired)" -ge 2 ]
check "restart: each due once" dues_unique "$down"
req GET "/jobs?limit=1000"
check "fired jobs carry schedule_id and due" grep -q '"schedule_id":'"$down"',"schedule":"down","due":"' <<<"$body"
check "... and the env" grep -q '"JOBRING_SCHEDULE_ID":"'"$down"'"' <<<"$body"
jid=$(jq -r --argjson s "$down" '[.jobs[] | select(.schedule_id == $s)][0].job_id' <<<"$body")
req GET "/jobs/$jid"
check "GET /jobs/{id}: due" [ -n "$(field due)" ] && [ "$(field schedule_id)" = "$down" ]
req POST /snapshot
sleep 1
stop_daemon
start_daemon --socket-mode 0666
req GET "/jobs/$jid"
check "after a snapshot: due kept" [ -n "$(field due)" ] && [ "$(field schedule_id)" = "$down" ]
req GET "/schedules/$down"
check "after a snapshot: the schedule kept" [ "$code" = 200 ] && [ "$(field fired)" -ge 2 ]
check "after a snapshot: each due once" dues_unique "$down"
req DELETE "/schedules/$down"
req DELETE "/schedules/$cu"

# --- the CLI -------------------------------------------------------------------------------
out=$(jr schedule add --name nightly --every 1d --overlap queue_one --catch-up 2h -- echo hi 2>&1)
check "cli add" grep -q '^schedule [0-9]* (nightly): next' <<<"$out"
out=$(jr schedule ls 2>&1)
check "cli ls" grep -q ' nightly .* 1d ' <<<"$out"
out=$(jr schedule next nightly -n 3 2>&1)
check "cli next: 3 times" [ "$(grep -c 'T00:00:00.000Z' <<<"$out")" = 3 ]
out=$(jr schedule show nightly 2>&1)
check "cli show" grep -q '"overlap":[[:space:]]*"queue_one"' <<<"$out"
check "cli pause" jr schedule pause nightly
out=$(jr schedule ls 2>&1)
check "... paused" grep -q 'nightly.*paused' <<<"$out"
check "cli resume" jr schedule resume nightly
check "cli rm" jr schedule rm nightly
jr schedule show nightly >/dev/null 2>&1
check "... gone: refused" [ $? = 1 ]
jr schedule add --name x --every nope -- true >/dev/null 2>&1
check "cli add refused: exit 1" [ $? = 1 ]
jr schedule frobnicate >/dev/null 2>&1
check "cli usage: exit 2" [ $? = 2 ]

stop_daemon
echo "test_schedules: $pass passed, $fail failed"
[ "$fail" = 0 ]
