#!/usr/bin/env bash
# test_triggers.sh - triggers (issue 15): named triggers defined, fired,
# listed and deleted through curl and the CLI, the payload in the job's
# environment (or a file when large), bad input refused with JSON errors;
# other users can neither see, fire nor delete someone's trigger (root
# only: runs as jrtest_a/jrtest_b); a file trigger on a directory that
# receives 1,000 files fires a few times, each file's path listed or
# counted once; job-event triggers (afterok, afternotok; a job, a queue);
# kill -9 keeps the triggers and their last fires, and fires nothing twice.
# Usage: tests/test_triggers.sh BUILD_DIR
set -u
build=${1:-build/debug}
build=$(cd "$build" && pwd)
daemon="$build/jobringd"
cli="$build/jobring"
tmp=$(mktemp -d /tmp/jr-triggers-XXXXXX)
chmod 755 "$tmp"
sock="$tmp/s.sock"
. "$(dirname "$0")/lib.sh"
files=${JR_TRIGGER_FILES:-1000}

export JOBRING_SOCKET=$sock
error_is() { grep -q "\"error\":{\"code\":\"$1\"" <<<"$body"; }	# error_is CODE
jq_() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)" <<<"$body"; }
mkdir -m 755 "$tmp/out" "$tmp/watch"

start_daemon --socket-mode 0666

# --- a named trigger: define, fire with a payload, see it -----------------------------------
job="{\"command\":[\"sh\",\"-c\",\"printf %s \\\"\$JOBRING_TRIGGER_PAYLOAD\\\" > $tmp/out/p.\$JOBRING_TRIGGER_FIRE_ID\"]}"
req PUT /triggers/hello "{\"job\":$job,\"description\":\"say hello\"}"
check "define: 201" [ "$code" = 201 ]
check "define: kind named" [ "$(field kind)" = named ]
req PUT /triggers/hello "{\"job\":$job}"
check "redefine: 200" [ "$code" = 200 ]
req POST /triggers/hello '{"greeting":"héllo","n":[1,2]}'
check "fire: 201" [ "$code" = 201 ]
check "fire: fire_id 1" [ "$(field fire_id)" = 1 ]
jid=$(field job_id)
check "fire: its job succeeds" wait_status "$jid" succeeded
check "the payload is in the job's environment" \
	[ "$(cat "$tmp/out/p.1")" = '{"greeting":"héllo","n":[1,2]}' ]
req GET "/jobs/$jid"
check "the job shows its trigger" [ "$(field trigger)" = hello ]
check "the job shows its fire id" [ "$(field fire_id)" = 1 ]
req GET /triggers/hello
check "show: fire_count 1" [ "$(field fire_count)" = 1 ]
check "show: last fire's job" grep -q "\"job_id\":\"$jid\"" <<<"$body"
check "show: last fire's payload size" grep -q '"payload_bytes":31' <<<"$body"
req POST /triggers/hello
check "fire without a payload: 201" [ "$code" = 201 ]
check "... fire_id 2" [ "$(field fire_id)" = 2 ]

# A payload over the environment's bound goes to a file the job reads.
big=$(python3 -c 'import json; print(json.dumps({"blob": "x" * 40000}))')
req PUT /triggers/bigp "{\"job\":{\"command\":[\"sh\",\"-c\",\"test -z \\\"\$JOBRING_TRIGGER_PAYLOAD\\\" && cp \\\"\$JOBRING_TRIGGER_PAYLOAD_FILE\\\" $tmp/out/big.json\"]}}"
req POST /triggers/bigp "$big"
check "a 40 kB payload fires" [ "$code" = 201 ]
check "... its job reads it from a file" wait_status "$(field job_id)" succeeded
check "... the file holds it" cmp -s "$tmp/out/big.json" <(printf '%s' "$big")

# --- refused ----------------------------------------------------------------------------
req PUT /triggers/.hidden "{\"job\":$job}"
check "bad name: 422 invalid_name" [ "$code" = 422 ] && error_is invalid_name
req PUT /triggers/x '{"job":{"command":["true"]},"colour":"red"}'
check "unknown field: 422" [ "$code" = 422 ] && error_is unknown_field
req PUT /triggers/x '{"job":{"command":["true"],"prio":1}}'
check "unknown field in the job: 422" [ "$code" = 422 ] && error_is unknown_field
req PUT /triggers/x '{"job":{"command":["true"]},"on":{"type":"afterwards","job":"1"}}'
check "bad on.type: 422" [ "$code" = 422 ]
req PUT /triggers/x '{"job":{"command":["true"]},"file":{"path":"relative"}}'
check "relative file.path: 422" [ "$code" = 422 ]
req PUT /triggers/x '{"job":'
check "definition not JSON: 400" [ "$code" = 400 ]
req POST /triggers/hello 'not json'
check "payload not JSON: 400 invalid_json" [ "$code" = 400 ] && error_is invalid_json
req POST /triggers/hello "$(printf '{"a":"\xff\xfe"}')"
check "payload not UTF-8: 400 invalid_utf8" [ "$code" = 400 ] && error_is invalid_utf8
python3 -c 'import json; print(json.dumps({"blob": "x" * (1024 * 1024 + 10)}))' >"$tmp/huge.json"
out=$(curl -s -w '\n%{http_code}' --unix-socket "$sock" -X POST --data-binary @"$tmp/huge.json" \
	http://jobring/triggers/hello)
check "payload over 1 MiB: 413" [ "${out##*$'\n'}" = 413 ]
req POST /triggers/nosuch '{}'
check "fire an unknown trigger: 404" [ "$code" = 404 ] && error_is not_found
req GET /triggers/hello
check "refused fires fired nothing" [ "$(field fire_count)" = 2 ]

# --- schedules bound to a trigger's name fire with it ---------------------------------------
req POST /schedules "{\"name\":\"bound-sched\",\"every\":\"24h\",\"trigger\":\"kick\",\"job\":{\"command\":[\"sh\",\"-c\",\"printf %s \\\"\$JOBRING_TRIGGER_PAYLOAD\\\" > $tmp/out/sched.txt\"]}}"
check "a schedule bound to the name kick: 201" [ "$code" = 201 ]
req PUT /triggers/kick '{"description":"no job of its own"}'
check "a trigger without a job: 201" [ "$code" = 201 ]
req POST /triggers/kick '{"from":"kick"}'
check "firing it fires the bound schedule" [ "$code" = 201 ] && grep -q '"schedules":1' <<<"$body"
check "... whose job gets the payload" wait_until 10 test -s "$tmp/out/sched.txt"
check "... as sent" [ "$(cat "$tmp/out/sched.txt")" = '{"from":"kick"}' ]
req PUT /triggers/lonely '{}'
req POST /triggers/lonely
check "nothing bound and no job: 409 nothing_to_fire" [ "$code" = 409 ] && error_is nothing_to_fire
req GET /triggers/lonely
check "... and not counted" [ "$(field fire_count)" = 0 ]

# --- the CLI ------------------------------------------------------------------------------
check "cli add" "$cli" trigger add clitrig -- sh -c "echo \"\$JOBRING_TRIGGER_PAYLOAD\" > $tmp/out/cli.txt"
check "cli fire --payload" "$cli" trigger fire clitrig --payload '{"from":"cli"}'
printf '{"from":"file"}' >"$tmp/payload.json"
out=$("$cli" --json trigger fire clitrig --payload-file "$tmp/payload.json")
check "cli fire --payload-file" grep -q '"fire_id":[[:space:]]*2' <<<"$out"
check "cli ls lists it" bash -c "'$cli' trigger ls | grep -q '^clitrig .* 2 '"
check "cli show" bash -c "'$cli' trigger show clitrig | grep -q '\"fire_count\":[[:space:]]*2'"
check "cli fire of an unknown trigger exits 1" not "$cli" trigger fire nosuch
check "cli rm" "$cli" trigger rm clitrig
req GET /triggers/clitrig
check "rm: gone" [ "$code" = 404 ]
check "cli with no verb: usage (2)" bash -c "'$cli' trigger 2>/dev/null; [ \$? = 2 ]"

# --- other users ----------------------------------------------------------------------------
if [ "$(id -u)" = 0 ] && command -v runuser >/dev/null && command -v useradd >/dev/null; then
	for u in jrtest_a jrtest_b; do id "$u" >/dev/null 2>&1 || useradd -M -s /bin/sh "$u"; done
	ua=$(id -u jrtest_a)
	mkdir -m 700 "$tmp/private" && chown jrtest_b "$tmp/private"
	as jrtest_a PUT /triggers/mine '{"job":{"command":["sh","-c","id -u > /tmp/jr-trig-uid.$JOBRING_TRIGGER_FIRE_ID"],"cwd":"/"}}'
	check "a user defines a trigger" [ "$code" = 201 ]
	as jrtest_b GET /triggers/mine
	check "another user cannot see it" [ "$code" = 404 ]
	as jrtest_b GET /triggers
	check "... nor list it" not grep -q '"mine"' <<<"$body"
	as jrtest_b POST /triggers/mine '{}'
	check "... nor fire it" [ "$code" = 404 ]
	as jrtest_b DELETE /triggers/mine
	check "... nor delete it" [ "$code" = 404 ]
	as jrtest_b PUT /triggers/mine '{"job":{"command":["true"]}}'
	check "... nor take its name" [ "$code" = 409 ]
	as jrtest_a PUT /triggers/peek "{\"job\":{\"command\":[\"true\"]},\"file\":{\"path\":\"$tmp/private\"}}"
	check "a user cannot watch a directory closed to them: 403" [ "$code" = 403 ]
	mkdir -m 755 "$tmp/shared"
	as jrtest_a PUT /triggers/watcher "{\"job\":{\"command\":[\"true\"],\"cwd\":\"/\"},\"file\":{\"path\":\"$tmp/shared\",\"debounce\":\"100ms\"}}"
	check "a user watches a directory open to them" [ "$code" = 201 ]
	chmod 700 "$tmp/shared"
	echo secret >"$tmp/shared/secret.csv"
	watch_dropped() { as jrtest_a GET /triggers/watcher; grep -q '"watching":false' <<<"$body"; }
	check "... closed to them since: the watch ends" wait_until 10 watch_dropped
	check "... and nothing fired" [ "$(field fire_count)" = 0 ]
	req POST /triggers/mine '{}'
	check "root fires a user's trigger" [ "$code" = 201 ]
	check "... its job runs as the trigger's owner" wait_status "$(field job_id)" succeeded
	check "... uid $ua" [ "$(cat /tmp/jr-trig-uid.1 2>/dev/null)" = "$ua" ]
	rm -f /tmp/jr-trig-uid.*
	as jrtest_a DELETE /triggers/mine
	check "the owner deletes it" [ "$code" = 200 ]
else
	echo "SKIP: the other-user checks need root, runuser and useradd"
fi

# --- a file trigger on a directory that receives $files files ---------------------------------
fjob="{\"command\":[\"sh\",\"-c\",\"printf %s \\\"\$JOBRING_TRIGGER_PAYLOAD\\\" > $tmp/out/f.\$JOBRING_TRIGGER_FIRE_ID.json\"]}"
req PUT /triggers/drop "{\"job\":$fjob,\"file\":{\"path\":\"$tmp/watch\",\"events\":[\"close_write\",\"moved_to\"],\"pattern\":\"*.csv\",\"debounce\":\"400ms\"}}"
check "file trigger: 201" [ "$code" = 201 ]
check "file trigger: watching" grep -q '"watching":true' <<<"$body"
for i in $(seq "$files"); do echo "$i" >"$tmp/watch/f$i.csv"; done
echo ignored >"$tmp/watch/notes.txt"
fired_all() {
	req GET /triggers/drop
	local n
	n=$(field fire_count)
	[ "${n:-0}" -ge 1 ] && [ "$(field pending_paths)" = 0 ] &&
		[ "$(ls "$tmp/out" | grep -c '^f\..*\.json$')" = "$n" ]
}
check "file trigger: fired" wait_until 20 fired_all
fires=$(ls "$tmp/out" | grep -c '^f\..*\.json$')
echo "file trigger: $fires fires for $files files"
check "file trigger: far fewer fires than files ($fires for $files)" [ "$fires" -le 10 ]
accounted=$(python3 - "$tmp/out" "$tmp/watch" <<'EOF'
import glob, json, sys
out, watch = sys.argv[1], sys.argv[2]
listed, counted = [], 0
for f in glob.glob(out + "/f.*.json"):
    p = json.load(open(f))
    listed += p["paths"]
    counted += p["count"]
    assert p["count"] == len(p["paths"]) + p["more"], p
ok = len(set(listed)) == len(listed) and all(x.startswith(watch + "/f") and x.endswith(".csv") for x in listed)
print(counted if ok else -1)
EOF
)
check "file trigger: every file listed or counted once ($accounted of $files)" [ "$accounted" = "$files" ]

# --- job-event triggers --------------------------------------------------------------------
req POST /queues '{"name":"etl"}'
ejob() { echo "{\"command\":[\"sh\",\"-c\",\"printf %s \\\"\$JOBRING_TRIGGER_PAYLOAD\\\" > $tmp/out/$1.\$JOBRING_TRIGGER_FIRE_ID\"]}"; }
req POST /jobs '{"command":["sleep","0.5"]}'
ok_id=$(field job_id)
req POST /jobs '{"command":["sh","-c","sleep 0.5; exit 3"]}'
bad_id=$(field job_id)
req PUT /triggers/on-ok "{\"job\":$(ejob ok),\"on\":{\"type\":\"afterok\",\"job\":\"$ok_id\"}}"
check "afterok on a job: 201" [ "$code" = 201 ]
req PUT /triggers/on-notok "{\"job\":$(ejob notok),\"on\":{\"type\":\"afternotok\",\"job\":\"$bad_id\"}}"
req PUT /triggers/on-ok-never "{\"job\":$(ejob never),\"on\":{\"type\":\"afterok\",\"job\":\"$bad_id\"}}"
req PUT /triggers/q-notok "{\"job\":$(ejob qnotok),\"on\":{\"type\":\"afternotok\",\"queue\":\"etl\"}}"
req PUT /triggers/q-any "{\"job\":$(ejob qany),\"on\":{\"type\":\"afterany\",\"queue\":\"etl\"}}"
check "on a queue: 201" [ "$code" = 201 ]
req PUT /triggers/q-none '{"job":{"command":["true"]},"on":{"type":"afterany","queue":"nosuch"}}'
check "on an unknown queue: 422" [ "$code" = 422 ]
req POST /jobs '{"command":["true"],"queue":"etl"}'
req POST /jobs '{"command":["false"],"queue":"etl"}'
qbad=$(field job_id)
check "afterok fires when the job succeeds" wait_until 10 test -s "$tmp/out/ok.1"
check "... with the job in its payload" grep -q "\"job_id\":\"$ok_id\",\"state\":\"succeeded\"" "$tmp/out/ok.1"
req PUT /triggers/too-late "{\"job\":{\"command\":[\"true\"]},\"on\":{\"type\":\"afterany\",\"job\":\"$ok_id\"}}"
check "on a job that has ended: 409 job_ended" [ "$code" = 409 ] && error_is job_ended
check "afternotok fires when the job fails" wait_until 10 test -s "$tmp/out/notok.1"
check "... exit code 3 in its payload" grep -q '"exit_code":3' "$tmp/out/notok.1"
check "afternotok on a queue fires for its failed job" wait_until 10 test -s "$tmp/out/qnotok.1"
check "... that one" grep -q "\"job_id\":\"$qbad\"" "$tmp/out/qnotok.1"
check "afterany on a queue fires for both" wait_until 10 test -s "$tmp/out/qany.2"
sleep 0.5
check "afterok does not fire for a failure" [ ! -e "$tmp/out/never.1" ]
check "afternotok on a queue fired once" [ ! -e "$tmp/out/qnotok.2" ]
check "afterany on a queue fired twice, not for its own jobs" [ ! -e "$tmp/out/qany.3" ]

# A queue's trigger whose own job goes to that queue does not loop.
req POST /queues '{"name":"loop"}'
req PUT /triggers/self "{\"job\":{\"command\":[\"true\"],\"queue\":\"loop\"},\"on\":{\"type\":\"afterany\",\"queue\":\"loop\"}}"
req POST /jobs '{"command":["true"],"queue":"loop"}'
self_fired() { req GET /triggers/self; field_is fire_count 1; }
check "a queue's trigger fires for a job of the queue" wait_until 10 self_fired
sleep 1
req GET /triggers/self
check "... but not for the job it fired there (no loop)" [ "$(field fire_count)" = 1 ]

# --- kill -9: triggers and last fires survive, nothing fires twice ----------------------------
req GET /triggers/hello
before=$body
hello_fires=$(field fire_count)
fires_before=$(ls "$tmp/out" | grep -c '^f\..*\.json$')
stop_daemon KILL
start_daemon --socket-mode 0666
req GET /triggers
check "after kill -9: the triggers are back" grep -q '"name":"drop"' <<<"$body"
req GET /triggers/hello
check "after kill -9: its last fire is the same" [ "$body" = "$before" ]
req POST /triggers/hello '{"after":"restart"}'
check "after kill -9: the next fire id follows on" [ "$(field fire_id)" = $((hello_fires + 1)) ]
sleep 1	# a restart fires a file trigger only for files newer than its last fire: none
check "after kill -9: the file trigger did not fire again" \
	[ "$(ls "$tmp/out" | grep -c '^f\..*\.json$')" = "$fires_before" ]
# Files written while the daemon is down fire once at the next start.
stop_daemon KILL
echo late >"$tmp/watch/late.csv"
start_daemon --socket-mode 0666
check "a file written while down fires once at start" \
	wait_until 10 test -s "$tmp/out/f.$((fires_before + 1)).json"
check "... listing it" grep -q 'late.csv' "$tmp/out/f.$((fires_before + 1)).json"
# kill -9 while fires come in: every acknowledged fire has its job, no
# fire id is used twice, and the next fire's id follows the highest.
req PUT /triggers/storm '{"job":{"command":["true"],"hold":true}}'
( while :; do
	out=$(curl -s --unix-socket "$sock" -X POST http://jobring/triggers/storm -d '{}') || break
	grep -o '"fire_id":[0-9]*' <<<"$out" | cut -d: -f2 >>"$tmp/acked"
done ) &
storm=$!
sleep 0.7
stop_daemon KILL
wait "$storm" 2>/dev/null
start_daemon --socket-mode 0666
req GET '/jobs?limit=1000'
printf '%s' "$body" >"$tmp/jobs.json"
storm_check=$(python3 - "$tmp/jobs.json" "$tmp/acked" <<'EOF'
import json, sys
jobs = json.load(open(sys.argv[1]))["jobs"]
ids = [int(j["fire_id"]) for j in jobs if j.get("trigger") == "storm"]
acked = [int(x) for x in open(sys.argv[2]).read().split()]
print("ok %d %d" % (len(acked), max(ids)) if ids and len(set(ids)) == len(ids) and set(acked) <= set(ids)
      else "bad: %d jobs, %d distinct, %d acked missing" % (len(ids), len(set(ids)), len(set(acked) - set(ids))))
EOF
)
echo "storm: $storm_check (acked, highest fire id)"
check "kill -9 under fires: acked fires all have their job, no fire id twice ($storm_check)" \
	grep -q '^ok' <<<"$storm_check"
req POST /triggers/storm '{}'
check "... and the next fire id follows the highest" [ "$(field fire_id)" = $(( ${storm_check##* } + 1 )) ]

# A snapshot keeps them too.
req POST /snapshot
sleep 0.5
stop_daemon
start_daemon --socket-mode 0666
req GET /triggers/hello
check "after a snapshot and a clean stop: fire count kept" \
	[ "$(field fire_count)" = $((hello_fires + 1)) ]
req DELETE /triggers/hello
check "delete: 200" [ "$code" = 200 ]
stop_daemon KILL
start_daemon --socket-mode 0666
req GET /triggers/hello
check "a delete survives kill -9" [ "$code" = 404 ]
req PUT /triggers/hello "{\"job\":$job}"
check "the name defined again starts with no last fire" grep -q '"last_fire":null' <<<"$body"
req POST /triggers/hello
check "... and its fire ids go on after its old jobs' ($(field fire_id))" \
	[ "$(field fire_id)" = $((hello_fires + 2)) ]
stop_daemon

echo "test_triggers: $pass passed, $fail failed"
[ "$fail" = 0 ]
