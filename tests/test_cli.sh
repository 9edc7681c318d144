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
rm -rf "$tmp/state"
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

echo "test_cli: $pass passed, $fail failed"
[ "$fail" = 0 ]
