#!/usr/bin/env bash
# test_schedules_attack.sh - schedules and triggers (issue 15) attacked
# by another local user of a root daemon (jrtest_a, jrtest_b), and fed
# hostile values. Regressions of what a red-team pass found:
# - a schedule of B's bound by name to A's trigger ran on A's fires with
#   A's payload in its environment (A's payloads leaked to B);
# - B's job-event trigger on a queue fired on A's jobs' ends, handing B
#   A's job ids, states and exit codes;
# - a payload over 32 KiB went to a file under the output directory,
#   which a user's job cannot reach with the default state directory
#   (0700): the job got a path it could not read; now the fire is refused
#   (413) unless --output-dir is one its owner can enter;
# - a watched path swapped for another inode still fired under its name;
# - a payload file at a reused name was truncated in place (an old
#   descriptor on it read the new payload);
# - queue triggers fired on each other's jobs forever (exponentially
#   with three on one queue).
# Needs root (it runs as two other users); skips otherwise.
# Usage: tests/test_schedules_attack.sh BUILD_DIR
set -u
build=${1:-build/debug}
build=$(cd "$build" && pwd)
daemon="$build/jobringd"
cli="$build/jobring"
if [ "$(id -u)" != 0 ] || ! command -v useradd >/dev/null || ! command -v runuser >/dev/null; then
	echo "SKIP: test_schedules_attack needs root, useradd and runuser (it runs as two other users)"
	exit 0
fi
tmp=$(mktemp -d /tmp/jr-schedatk-XXXXXX)
chmod 755 "$tmp"
sock="$tmp/s.sock"
. "$(dirname "$0")/lib.sh"
cd /
mkdir -m 755 "$tmp/bin"
cp "$daemon" "$cli" "$tmp/bin/"
share_sanitizer_files "$tmp/bin"
daemon=$tmp/bin/jobringd
mkdir -m 1777 "$tmp/drop"	# where the users' jobs leave what they saw

for u in jrtest_a jrtest_b; do id "$u" >/dev/null 2>&1 || useradd -M -s /bin/sh "$u"; done

error_is() { grep -q "\"error\":{\"code\":\"$1\"" <<<"$body"; }

start_daemon --socket-mode 0666

# --- B cannot see or touch A's schedule or trigger ------------------------------------------
as jrtest_a POST /schedules '{"name":"s1","every":"1h","job":{"command":["/bin/true"],"cwd":"/tmp"}}'
check "A's schedule made" [ "$code" = 201 ]
sid=$(field id)
as jrtest_a PUT /triggers/ta '{"job":{"command":["/bin/true"],"cwd":"/tmp"}}'
check "A's trigger made" [ "$code" = 201 ]
# shellcheck disable=SC2089,SC2090	# the JSON's quotes are meant literally
for m in "GET /schedules/$sid" "GET /schedules/s1" "PATCH /schedules/$sid {\"paused\":true}" \
	"POST /schedules/$sid/pause" "DELETE /schedules/$sid" "GET /triggers/ta" \
	"POST /triggers/ta {}" "DELETE /triggers/ta"; do
	# shellcheck disable=SC2086,SC2090
	as jrtest_b $m
	check "B: $m is 404" [ "$code" = 404 ]
done
as jrtest_b GET /schedules
check "B lists none of A's schedules" not grep -q '"s1"' <<<"$body"
as jrtest_b PUT /triggers/ta '{"job":{"command":["/bin/true"]}}'
check "B cannot take A's trigger's name (409)" [ "$code" = 409 ]

# --- B's schedule bound to A's trigger name gets nothing of A's ------------------------------
as jrtest_b POST /schedules "{\"name\":\"spy\",\"trigger\":\"ta\",\"job\":{\"command\":[\"/bin/sh\",\"-c\",\"printf %s \\\"\$JOBRING_TRIGGER_PAYLOAD\\\" > $tmp/drop/spy\"],\"cwd\":\"/tmp\"}}"
check "B may name any trigger in a schedule (201)" [ "$code" = 201 ]
as jrtest_a POST /schedules "{\"name\":\"mine\",\"trigger\":\"ta\",\"job\":{\"command\":[\"/bin/sh\",\"-c\",\"printf %s \\\"\$JOBRING_TRIGGER_PAYLOAD\\\" > $tmp/drop/mine\"],\"cwd\":\"/tmp\"}}"
as jrtest_a POST /triggers/ta '{"secret":"A-private"}'
check "A fires its trigger" [ "$code" = 201 ]
check "... only A's own bound schedule fires" [ "$(field schedules)" = 1 ]
check "... A's schedule got the payload" wait_until 10 grep -qs A-private "$tmp/drop/mine"
sleep 0.3
check "... B's schedule did not run (nor see the payload)" [ ! -e "$tmp/drop/spy" ]

# --- B's queue trigger does not see A's jobs end ---------------------------------------------
as jrtest_b PUT /triggers/qspy "{\"on\":{\"type\":\"afterany\",\"queue\":\"default\"},\"job\":{\"command\":[\"/bin/sh\",\"-c\",\"printf '%s\\\\n' \\\"\$JOBRING_TRIGGER_PAYLOAD\\\" >> $tmp/drop/qspy\"],\"cwd\":\"/tmp\"}}"
check "B's queue trigger defined" [ "$code" = 201 ]
as jrtest_a POST /jobs '{"command":["/bin/sh","-c","exit 7"],"cwd":"/tmp"}'
ja=$(field job_id)
as jrtest_b POST /jobs '{"command":["/bin/true"],"cwd":"/tmp"}'
jb=$(field job_id)
check "B's own job's end fires B's trigger" wait_until 10 grep -qs "$jb" "$tmp/drop/qspy"
sleep 0.3
check "... A's job's end does not" not grep -qs "$ja" "$tmp/drop/qspy"

# --- a file trigger: A's private directory, directly or through B's links -----------------
mkdir -m 700 "$tmp/apriv" && chown jrtest_a "$tmp/apriv"
mkdir -m 755 "$tmp/bdir" && chown jrtest_b "$tmp/bdir"
fj="\"job\":{\"command\":[\"/bin/sh\",\"-c\",\"printf '%s\\\\n' \\\"\$JOBRING_TRIGGER_PAYLOAD\\\" >> $tmp/drop/files\"],\"cwd\":\"/tmp\"}"
as jrtest_b PUT /triggers/f1 "{\"file\":{\"path\":\"$tmp/apriv\"},$fj}"
check "B's file trigger on A's 0700 directory: 403" [ "$code" = 403 ]
runuser -u jrtest_b -- ln -s "$tmp/apriv" "$tmp/bdir/lnk"
as jrtest_b PUT /triggers/f2 "{\"file\":{\"path\":\"$tmp/bdir/lnk\"},$fj}"
check "... through a link of B's: 403" [ "$code" = 403 ]
runuser -u jrtest_b -- mkdir "$tmp/bdir/w"
as jrtest_b PUT /triggers/f3 "{\"file\":{\"path\":\"$tmp/bdir/w\",\"debounce\":\"200ms\"},$fj}"
check "B's file trigger on its own directory: 201" [ "$code" = 201 ]
# The path watched swapped for another directory: what the old inode
# sees is not handed on under the path's name.
runuser -u jrtest_b -- sh -c "mv $tmp/bdir/w $tmp/bdir/w.old && mkdir $tmp/bdir/w && echo x > $tmp/bdir/w.old/moved-away"
sleep 1
as jrtest_b GET /triggers/f3
check "... swapped: not fired" not grep -qs moved-away "$tmp/drop/files"
check "... and no longer watched" grep -q '"watching":false' <<<"$body"
runuser -u jrtest_b -- sh -c "rm -rf $tmp/bdir/w && ln -s $tmp/apriv $tmp/bdir/w"
runuser -u jrtest_a -- sh -c "echo s > $tmp/apriv/a-secret-name"
as jrtest_b PUT /triggers/f3 "{\"file\":{\"path\":\"$tmp/bdir/w\",\"debounce\":\"200ms\"},$fj}"
check "... redefined on a link to A's directory: 403" [ "$code" = 403 ]
sleep 0.5
check "... A's file names never reach B" not grep -qs a-secret-name "$tmp/drop/files"

# --- a large payload: a file its owner's job can read, or a refusal -------------------------
big=$(python3 -c 'import json; print(json.dumps({"blob": "x" * 40000}))')
as jrtest_a PUT /triggers/bigp "{\"job\":{\"command\":[\"/bin/sh\",\"-c\",\"cat \\\"\$JOBRING_TRIGGER_PAYLOAD_FILE\\\" > $tmp/drop/big\"],\"cwd\":\"/tmp\"}}"
printf '%s' "$big" > "$tmp/big.json"
chmod 644 "$tmp/big.json"
as jrtest_a POST /triggers/bigp "$(cat "$tmp/big.json")"
check "a 40 kB payload its owner's job could not read: 413" \
	[ "$code" = 413 ] && error_is payload_too_large

# --- job-event triggers firing into each other's queue: no endless chain -----------------
req POST /queues '{"name":"loop"}'
for t in l1 l2 l3; do
	req PUT /triggers/$t '{"on":{"type":"afterany","queue":"loop"},"job":{"command":["/bin/true"],"cwd":"/tmp","queue":"loop"}}'
done
req POST /jobs '{"command":["/bin/true"],"cwd":"/tmp","queue":"loop"}'
check "three queue triggers: each fires once for a submitted job's end" \
	wait_until 10 eval 'req GET /triggers/l3; [ "$(field fire_count)" = 1 ]'
sleep 1.5
for t in l1 l2 l3; do
	req GET /triggers/$t
	check "... $t fired once, not on the others' jobs" [ "$(field fire_count)" = 1 ]
done

# --- hostile values: a JSON 4xx each ---------------------------------------------------------
J='"job":{"command":["/bin/true"],"cwd":"/tmp"}'
n=0
for v in '"cron":"*/4294967296 * * * *"' '"cron":"1-99999999 * * * *"' '"cron":"60 * * * *"' \
	"\"cron\":\"$(seq -s, 0 59) * * * *\"" "\"cron\":\"*$(printf '%10000s' '') * * * *\"" \
	'"cron":"0 * * * *","timezone":"../../etc/passwd"' \
	'"cron":"0 * * * *","timezone":"/etc/localtime"' \
	'"cron":"0 * * * *","timezone":"UTC\u0000x"' '"cron":"TZ=../../etc/shadow 0 * * * *"' \
	'"every":"99999999999999999999d"' '"every":"0s"' '"every":"-5m"' '"every":1e300' \
	'"every":"1m","jitter":"9999999999999999s"' \
	'"every":"1m","start":"2030-01-01T00:00:00Z","end":"2020-01-01T00:00:00Z"'; do
	n=$((n + 1))
	as jrtest_a POST /schedules "{\"name\":\"h$n\",$v,$J}"
	check "hostile $v: 4xx JSON" [ "${code:0:1}" = 4 ] && grep -q '"error"' <<<"$body"
done
for q in 101 -1 abc 99999999999999999999; do
	as jrtest_a GET "/schedules/$sid?next=$q"
	check "?next=$q: 400" [ "$code" = 400 ]
done
as jrtest_a PATCH "/schedules/$sid" '{"job":{"command":["/bin/true"],"uid":0}}'
check "a job body with uid: 422 unknown_field" [ "$code" = 422 ] && error_is unknown_field
as jrtest_a POST "/triggers/ta" 'not json'
check "a payload that is not JSON: 400" [ "$code" = 400 ]

req GET /health
check "the daemon still answers" [ "$code" = 200 ]
stop_daemon

# An output directory its users can enter: the payload file reaches the job.
start_daemon --socket-mode 0666 --output-dir "$tmp/outdir"
rm -f "$tmp/drop/big"
as jrtest_a GET /triggers/bigp
pf="$tmp/outdir/trigger-payloads/bigp.$(( $(field fire_count) + 1 )).json"
# A file already at the next payload's name (a fire id handed out again
# after a crash, or a name reused by another user), held open by B: the
# payload goes to a new file, never through B's descriptor.
[ -d "$tmp/outdir/trigger-payloads" ] || mkdir -m 0711 "$tmp/outdir/trigger-payloads"
printf old > "$pf" && chown jrtest_b "$pf" && chmod 600 "$pf"
runuser -u jrtest_b -- sh -c "exec 3<'$pf'; sleep 3; cat <&3 > $tmp/drop/held" &
held=$!
sleep 0.3
as jrtest_a POST /triggers/bigp "$(cat "$tmp/big.json")"
check "with a reachable --output-dir a 40 kB payload fires (201)" [ "$code" = 201 ]
check "... and its job reads the file" wait_until 10 cmp -s "$tmp/drop/big" "$tmp/big.json"
wait "$held"
check "... a descriptor held on an older file at its name does not see it" \
	[ "$(cat "$tmp/drop/held")" = old ]
check "... the file is its owner's" [ "$(stat -c %U "$pf")" = jrtest_a ]
stop_daemon
check "no sanitizer report in the daemon's log" \
	not grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$tmp/daemon.log"

echo "test_schedules_attack: $pass passed, $fail failed"
[ "$fail" = 0 ]
