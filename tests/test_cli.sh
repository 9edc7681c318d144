#!/usr/bin/env bash
# test_cli.sh - the jobring CLI on its own: the socket path it reports
# is the one it was given, for every request of a command (it once pointed
# into a returned function's stack) and when too long for a socket (it was
# cut to 107 bytes); submit --file out of memory stops with exit 5 and says
# from which line nothing was submitted (a debug build's $JR_TEST_CLI_ALLOC_MAX
# makes larger buffers fail). Usage: tests/test_cli.sh BUILD_DIR
set -u
build=${1:-build/debug}
daemon="$build/jobringd"
cli="$build/jobring"
tmp=$(mktemp -d /tmp/jr-cli-XXXXXX)
sock="$tmp/s.sock"
. "$(dirname "$0")/lib.sh"

# --- the socket path ----------------------------------------------------------
far="$tmp/$(printf 'd%.0s' $(seq 60))/none.sock"	# 90-odd bytes: fits a socket
JOBRING_SOCKET=$far "$cli" cancel 1 2 3 >/dev/null 2>"$tmp/err"
check "unreachable: exit 3" [ $? = 3 ]
check "every request names \$JOBRING_SOCKET" \
	[ "$(grep -cF "cannot reach jobringd at $far: No such file" "$tmp/err")" = 3 ]
"$cli" --socket "$far" cancel 1 2 >/dev/null 2>"$tmp/err"
check "every request names --socket" \
	[ "$(grep -cF "cannot reach jobringd at $far: No such file" "$tmp/err")" = 2 ]
long="$tmp/$(printf 'l%.0s' $(seq 200))/none.sock"	# past sun_path's 108 bytes
JOBRING_SOCKET=$long "$cli" stats >/dev/null 2>"$tmp/err"
check "too long: exit 3" [ $? = 3 ]
check "too long: refused whole, not cut" grep -qF "at $long: File name too long" "$tmp/err"

# --- submit --file out of memory ----------------------------------------------
start_daemon
for i in $(seq 10); do echo "true $i"; done >"$tmp/jobs.txt"
printf 'echo %04000d\n' 0 >>"$tmp/jobs.txt"	# line 11: the body must grow
echo "true 12" >>"$tmp/jobs.txt"
# --export=NONE: the caller's environment (sent by default) would make
# every line longer than the 4096 bytes this counts on.
JR_TEST_CLI_ALLOC_MAX=4096 JOBRING_SOCKET=$sock "$cli" submit --export=NONE --file "$tmp/jobs.txt" \
	--batch-size 4 >"$tmp/out" 2>"$tmp/err"
check "out of memory: exit 5" [ $? = 5 ]
check "out of memory: says from which line" \
	grep -qF "out of memory at line 11 of $tmp/jobs.txt: lines 9 on were not submitted" "$tmp/err"
check "out of memory: the batches before it went" [ "$(wc -l <"$tmp/out")" = 8 ]
req GET /health
check "out of memory: the daemon has those 8" [ "$(field submitted)" = 8 ]
JOBRING_SOCKET=$sock "$cli" submit --file "$tmp/jobs.txt" --batch-size 4 >"$tmp/out" 2>/dev/null
check "without the limit: all 12" [ "$(wc -l <"$tmp/out")" = 12 ]

# --- a batch's environment, sent once (its header) -------------------------------------
# submit --file sends the caller's environment once per batch, as the
# header {"batch":{"env":...}}; a job's own env wins over it. Both must
# come back after kill -9 of a paused daemon, from the journal and then
# from a snapshot, before the jobs run.
stop_daemon
remove_state
start_daemon --paused
printf '%s\n' 'echo "file=[$JR_BENV] own=[$JR_OWN]"' >"$tmp/benv.txt"
file_id=$(JR_BENV=from-caller JR_OWN=of-caller JOBRING_SOCKET=$sock "$cli" submit \
	--file "$tmp/benv.txt" 2>/dev/null)
check "--file: submitted" [ -n "$file_id" ]
show='echo batch=$JR_BENV own=$JR_OWN'
printf '{"batch":{"env":{"JR_BENV":"batch","JR_OWN":"batch"}}}\n{"command":["sh","-c","%s"],"env":{"JR_OWN":"line"}}\n{"command":["sh","-c","%s"]}\n' \
	"$show" "$show" >"$tmp/benv.ndjson"
body=$(curl -s --unix-socket "$sock" -X POST --data-binary @"$tmp/benv.ndjson" http://x/jobs/batch)
check "a header and two jobs: count 2" grep -q '"count":2' <<<"$body"
own_id=$(printf '%s' "$body" | grep -o '"[0-9a-f]\{16\}"' | head -1 | tr -d '"')
shared_id=$(printf '%s' "$body" | grep -o '"[0-9a-f]\{16\}"' | tail -1 | tr -d '"')
stop_daemon KILL
start_daemon --paused	# from the journal
req POST /snapshot
snapshot_over() { req GET /health; grep -q '"snapshotting":false' <<<"$body"; }
wait_until 30 snapshot_over
check "a snapshot of the batch jobs" ls -d "$tmp"/state/snapshot-* >/dev/null
stop_daemon KILL
dump=$("$build/jobring-journal" dump "$tmp/state")
check "... which writes each batch's header once" [ "$(grep -c 'header={"batch"' <<<"$dump")" = 2 ]
check "... the next job of a batch refers to it" grep -q 'header=same' <<<"$dump"
start_daemon	# from the snapshot, and the jobs run
check "... restarted from the snapshot" \
	sh -c "grep 'recovered 3 jobs' '$tmp/daemon.log' | tail -1 | grep -q 'from a snapshot and 0 journal records'"
logs_of() { "$cli" --socket "$sock" wait "$1" >/dev/null 2>&1; "$cli" --socket "$sock" logs "$1"; }
check "--file: the job sees the exported variable" \
	grep -qx 'file=\[from-caller\] own=\[of-caller\]' <<<"$(logs_of "$file_id")"
check "header: the line's own env wins" \
	grep -qx 'batch=batch own=line' <<<"$(logs_of "$own_id")"
check "header: a line without env gets the batch's" \
	grep -qx 'batch=batch own=batch' <<<"$(logs_of "$shared_id")"
req GET "/jobs/$own_id"
check "GET: env is the line's over the header's" \
	grep -q '"env":{"JR_OWN":"line","JR_BENV":"batch"}' <<<"$body"
batch_with() {	# batch_with HEADER: POST it and one job
	req POST /jobs/batch "$(printf '%s\n{"command":["true"]}\n' "$1")"
}
batch_with '{"batch":{"env":{"A":1}}}'
check "header: a value not a string: 422" [ "$code" = 422 ]
check "... naming line 1" grep -q '"line":1,"code":"invalid_field"' <<<"$body"
batch_with '{"batch":{"env":{"A":"1","A":"2"}}}'
check "header: a key twice: 400" [ "$code" = 400 ]
batch_with '{"batch":{"env":{"A":"x\u0000y"}}}'
check "header: a NUL: 422" [ "$code" = 422 ]
batch_with $'{"batch":{"env":{"A":"\xff"}}}'
check "header: not UTF-8: 400" [ "$code" = 400 ]
batch_with '{"batch":{"envs":{}}}'
check "header: an unknown field: 422" [ "$code" = 422 ]
req POST /jobs/batch '{"command":["true"]}
{"batch":{"env":{}}}'
check "a header after a job: 422 (a job has no field batch)" [ "$code" = 422 ]
req POST /jobs/batch '{"batch":{"env":{"A":"1"}}}'
check "a header and no job: 400" [ "$code" = 400 ]

# --- sbatch's words (issue 13) ------------------------------------------------
# Against a paused daemon, so that the jobs stay queued: each flag's value
# as the daemon stores it, errors that name the option, --json anywhere,
# ids by short form, prefix and name, ls's columns, cancel's filters, and
# GET /jobs's filters (name, queue, user; an unknown key refused).
stop_daemon
remove_state
start_daemon --paused --capacity 131072	# 70,000 jobs below (the sanitizer runs start with 65,536)
jr() { "$cli" --socket "$sock" "$@"; }
get_job() { req GET "/jobs/$1"; }
sb=$(jr submit -J sb1 -t 1:30:00 --mem 4000 -c 2 -p default --begin now+1hour -- true 2>&1)
check "submit -J -t -c -p --mem --begin: an id" grep -qx '[0-9a-f]\{16\}' <<<"$sb"
get_job "$sb"
check "-J names the job" [ "$(field name)" = sb1 ]
check "-t 1:30:00 is 90 minutes" grep -q '"timeout":"5400s"' <<<"$body"
check "--mem 4000 is MB" grep -q '"memory":"4000M"' <<<"$body"
check "-c is cpus" grep -q '"cpus":2' <<<"$body"
check "--begin now+1hour: scheduled_at" grep -q '"scheduled_at":"20' <<<"$body"
t90=$(jr submit -J t90 -t 90 --mem 2G -- true)
get_job "$t90"
check "-t 90 is 90 minutes" grep -q '"timeout":"5400s"' <<<"$body"
check "--mem 2G as the suffix says" grep -q '"memory":"2G"' <<<"$body"
tdh=$(jr submit -J tdh -t 1-02:00:30 --timeout 2h -- true)
get_job "$tdh"
check "--timeout 2h (the last one given wins)" grep -q '"timeout":"7200s"' <<<"$body"
tdh=$(jr submit -J tdh -t 1-02:00:30 -- true)
get_job "$tdh"
check "-t D-HH:MM:SS" grep -q '"timeout":"93630s"' <<<"$body"

bad() {	# bad NAME EXPECTED-MESSAGE ARGS...: exit 2, the message, no usage dump
	local name=$1 want=$2
	shift 2
	jr "$@" >"$tmp/out" 2>"$tmp/err"
	check "$name: exit 2" [ $? = 2 ]
	check "$name: says $want" grep -qF -- "$want" "$tmp/err"
	check "$name: not the whole usage" [ "$(wc -l <"$tmp/err")" -le 2 ]
}
bad "-n 4" "-n 4 is sbatch's --ntasks" submit -n 4 -- true
bad "--ntasks" "--ntasks 4 is sbatch's --ntasks" submit --ntasks 4 -- true
bad "-t bad" "-t 1:2:3:4 must be minutes (90), MM:SS, HH:MM:SS" submit -t 1:2:3:4 -- true
bad "--mem bad" "--mem lots must be a size: MB as a number" submit --mem lots -- true
bad "--mem 0" "--mem 0 must be more than 0" submit --mem 0 -- true
bad "--priority bad" "--priority high must be a whole number from -2147483648 to 2147483647" \
	submit --priority high -- true
bad "-c 0" "-c 0 must be a whole number from 1 to 65536" submit -c 0 -- true
bad "--begin bad" "--begin soon must be a time" submit --begin soon -- true
bad "--array bad" "--array 1-x must be indexes like 0-999" submit --array 1-x -- true
bad "-d bad type" "\"afterwards\" is no dependency type" submit -d afterwards:1 -- true
bad "-d '?'" "'?' (any of)" submit -d 'afterok:1?afterany:2' -- true
bad "unknown option" "submit --help lists the options" submit --frobnicate -- true
bad "ls --limit" "--limit x must be a whole number" ls --limit x
bad "logs --attempt" "--attempt 0 must be 1 to 255" logs --attempt 0 "$sb"
bad "scheduler" "command frob must be pause, resume or status" scheduler frob
bad "queues" "command frob must be create, update or delete" queues frob
jr submit -d afterok:no-such-job -- true >/dev/null 2>"$tmp/err"
check "-d names a missing job: refused before submitting" \
	grep -qF 'no job has the id, short id, id prefix or name "no-such-job"' "$tmp/err"

jr ls --json >"$tmp/a" 2>&1
jr --json ls >"$tmp/b" 2>&1
check "--json after the command" grep -q '"job_id":' "$tmp/a"
check "--json before or after: the same" cmp -s "$tmp/a" "$tmp/b"
check "--json after --: the job's word" \
	sh -c "'$cli' --socket '$sock' submit -J j -- echo --json | grep -qx '[0-9a-f]\{16\}'"

short=$(printf '%s' "$sb" | sed 's/^0*//')
jr show "$short" >"$tmp/out"
check "show SHORT_ID (no leading zeros)" grep -q "^job_id *$sb" "$tmp/out"
jr show sb1 >"$tmp/out"
check "show NAME" grep -q "^job_id *$sb" "$tmp/out"
jr show "${sb:0:15}" >/dev/null 2>"$tmp/err"
check "a prefix of several: refused" grep -q 'matches [0-9]* jobs' "$tmp/err"
check "... listing them" grep -qF "$sb  (sb1, " "$tmp/err"
jr show tdh >/dev/null 2>"$tmp/err"
check "a name of several jobs: refused" grep -q '"tdh" matches 2 jobs' "$tmp/err"
jr show nosuch >/dev/null 2>"$tmp/err"
check "no such name: exit 1" [ $? = 1 ]

jr ls >"$tmp/out"
check "ls: the columns" grep -q '^JOBID *NAME *STATE *PRIORITY *PARTITION *TIME *EXIT *COMMAND' "$tmp/out"
check "ls: short ids, no time or exit yet, the command" \
	grep -q "^$short *sb1 *pending .* - *- *true$" "$tmp/out"
check "ls: no 'more' line when all are shown" not grep -q 'more jobs' "$tmp/out"
jr ls --limit 2 >"$tmp/out"
check "ls --limit 2: two rows" [ "$(grep -c '^[0-9a-f]' "$tmp/out")" = 2 ]
check "ls --limit 2: says more exist" grep -qF 'more jobs than the 2 shown' "$tmp/out"
jr ls --name tdh >"$tmp/out"
check "ls --name" [ "$(grep -c ' tdh ' "$tmp/out")" = 2 ]

# GET /jobs's filters, and paging with them
for i in 1 2 3 4 5; do jr submit -J pg -q default -- true >/dev/null; jr submit -J pgx -- true >/dev/null; done
pages=0 seen=0 cursor=
while :; do
	req GET "/jobs?name=pg&limit=2${cursor:+&cursor=$cursor}"
	pages=$((pages + 1))
	seen=$((seen + $(grep -o '"name":"[^"]*"' <<<"$body" | grep -c '"name":"pg"')))
	others=$(grep -o '"name":"[^"]*"' <<<"$body" | grep -vc '"name":"pg"')
	[ "$others" = 0 ] || break
	cursor=$(field next_cursor)
	[ "$cursor" = null ] && break
	[ $pages -lt 10 ] || break
done
check "?name= pages: the 5, and none other" [ "$seen" = 5 ] && [ "$others" = 0 ]
check "?name= limit 2: 3 pages" [ "$pages" = 3 ]
req GET "/jobs?queue=default&name=pgx"
check "?queue=&name=" [ "$(grep -o '"name":"pgx"' <<<"$body" | wc -l)" = 5 ]
req GET "/jobs?queue=nosuch"
check "?queue= unknown: 422 unknown_queue" [ "$code" = 422 ] && grep -q unknown_queue <<<"$body"
req GET "/jobs?user=$(id -u)&name=sb1"
check "?user=UID" grep -q "\"job_id\":\"$sb\"" <<<"$body"
req GET "/jobs?user=$(id -un)&name=sb1"
check "?user=NAME" grep -q "\"job_id\":\"$sb\"" <<<"$body"
req GET "/jobs?user=$(($(id -u) + 1))"
check "?user= another uid: none" grep -q '"jobs":\[\]' <<<"$body"
req GET "/jobs?user=no_such_user_jr"
check "?user= unknown name: 422" [ "$code" = 422 ]
req GET "/jobs?nmae=pg"
check "an unknown key: 400 unknown_parameter naming it" \
	[ "$code" = 400 ] && grep -q 'unknown_parameter.*nmae' <<<"$body"
req GET "/jobs?array=xyz"
check "?array= not an id: 422" [ "$code" = 422 ]

jr cancel --name pgx >"$tmp/out"
check "cancel --name: says how many" grep -qx 'jobring: cancelled 5 jobs' "$tmp/out"
req GET "/jobs?name=pgx&status=cancelled"
check "cancel --name: those 5 cancelled" [ "$(grep -o '"status":"cancelled"' <<<"$body" | wc -l)" = 5 ]
req GET "/jobs?name=pg&status=queued"
check "cancel --name: not the others" [ "$(grep -o '"status":"queued"' <<<"$body" | wc -l)" = 5 ]
jr cancel "$short" >"$tmp/out"
check "cancel SHORT_ID" grep -q "^$sb cancelled" "$tmp/out"
jr cancel pg 1 >/dev/null 2>"$tmp/err"
check "cancel of a name of several: refused" grep -q '"pg" matches 5 jobs' "$tmp/err"
jr cancel --all --state queued >"$tmp/out"
queued_left() { req GET "/jobs?status=queued,pending"; grep -q '"jobs":\[\]' <<<"$body"; }
check "cancel --all --state queued: every one" queued_left
check "cancel --all: a count" grep -q '^jobring: cancelled [0-9]* jobs' "$tmp/out"
jr cancel --all --name x 1 >/dev/null 2>"$tmp/err"
check "cancel: ids and filters: refused" [ $? = 2 ]

# Behind 70,000 others, a filter answers from the index (issue 14): the
# job on the first page, the listing over; the CLI finds it too.
seq 70000 | sed 's/.*/{"command":["true"],"name":"hay"}/' >"$tmp/hay.ndjson"
echo '{"command":["true"],"name":"needle"}' >>"$tmp/hay.ndjson"
curl -s --unix-socket "$sock" --data-binary @"$tmp/hay.ndjson" http://x/jobs/batch >/dev/null
req GET "/jobs?name=needle&limit=10"
check "behind 70,000 others: the job on the first page" grep -q '"name":"needle"' <<<"$body"
check "... the last one" [ "$(field next_cursor)" = null ]
jr show needle >"$tmp/out"
check "show NAME follows the cursor" grep -q '^name *needle' "$tmp/out"
jr ls --name needle >"$tmp/out"
check "ls --name follows the cursor" [ "$(grep -c ' needle ' "$tmp/out")" = 1 ]

echo "test_cli: $pass passed, $fail failed"
[ "$fail" = 0 ]
