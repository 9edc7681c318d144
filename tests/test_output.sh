#!/usr/bin/env bash
# test_output.sh - jobs' output files, as a hostile job or user would try
# them: the cap (--max-output, a job's "max_output"), output_truncated in
# the job and execution views, output that goes on across a kill -9 of the
# daemon, output removed when its job leaves retention (a snapshot, its
# slot reused, and the sweep at a restart), --output-dir elsewhere, a link planted at a
# job's file name not followed, output directories refused (a link, mode
# 0777, another user's), and 507 output_full below --output-reserve.
# Usage: tests/test_output.sh BUILD_DIR
set -u
build=${1:-build/debug}
daemon="$build/jobringd"
cli="$build/jobring"
tmp=$(mktemp -d /tmp/jr-output-XXXXXX)
chmod 755 "$tmp"
sock="$tmp/s.sock"
. "$(dirname "$0")/lib.sh"

out="$tmp/state/output"
size() { stat -c %s "$1" 2>/dev/null || echo missing; }
submit() {	# submit BODY: sets $id
	req POST /jobs "$1"
	id=$(field job_id)
}

# --- the cap ------------------------------------------------------------------
start_daemon --max-output 10M
submit '{"command":["sh","-c","head -c 50000000 /dev/zero; echo tail >&2; exit 3"]}'
capped=$id
check "capped job ends with its own status" wait_status "$capped" failed
req GET "/jobs/$capped"
check "its exit code is kept" [ "$(field exit_code)" = 3 ]
check "job says output_truncated" grep -q '"output_truncated":true' <<<"$body"
check "stdout cut to exactly 10M" [ "$(size "$out/$capped.out")" = 10485760 ]
check "stderr under the cap kept" [ "$(cat "$out/$capped.err")" = tail ]
req GET "/executions/$(field execution_id)"
check "execution says output_truncated" grep -q '"output_truncated":true' <<<"$body"
check "jobring show says it" grep -q '^output_truncated *true' <("$cli" --socket "$sock" show "$capped")

submit '{"command":["sh","-c","head -c 5000000 /dev/zero"],"max_output":"1M"}'
low=$id
submit '{"command":["sh","-c","head -c 20000000 /dev/zero"],"max_output":"100M"}'
high=$id
submit '{"command":["sh","-c","echo small"]}'
small=$id
check "job's lower cap: succeeds" wait_status "$low" succeeded
check "job's lower cap: 1M kept" [ "$(size "$out/$low.out")" = 1048576 ]
check "a job cannot raise the daemon's cap" wait_status "$high" succeeded
check "raised cap: still 10M" [ "$(size "$out/$high.out")" = 10485760 ]
check "small job" wait_status "$small" succeeded
req GET "/jobs/$small"
check "small job not truncated" grep -q '"output_truncated":false' <<<"$body"
check "small job's output whole" [ "$(cat "$out/$small.out")" = small ]
submit '{"command":["true"],"max_output":"lots"}'
check "bad max_output 422" [ "$code" = 422 ]

# --- a job writing past the cap while it runs: cut within a check or so ----------------
submit '{"command":["sh","-c","yes | head -c 60000000; sleep 3"]}'
slow=$id
check "writer runs" wait_status "$slow" running
sleep 1
check "cut while running" [ "$(size "$out/$slow.out")" -le 10485760 ]

# --- output goes on across kill -9 of the daemon --------------------------------------
submit '{"command":["sh","-c","for i in $(seq 30); do echo line$i; sleep 0.1; done"]}'
writer=$id
check "writer running" wait_status "$writer" running
sleep 0.5
stop_daemon KILL
sleep 0.5
start_daemon --max-output 10M
check "writer ends after the restart" wait_status "$writer" succeeded
check "all its output is there" [ "$(wc -l <"$out/$writer.out")" = 30 ]
check "in order, from line1" [ "$(head -1 "$out/$writer.out")$(tail -1 "$out/$writer.out")" = line1line30 ]
req GET "/jobs/$capped"
check "truncation mark survives a restart" grep -q '"output_truncated":true' <<<"$body"
stop_daemon

# --- retention: a snapshot ages jobs out, their files go; a restart sweeps ------------
start_daemon --retain-finished 1
submit '{"command":["sh","-c","echo old"]}'
old=$id
check "old job" wait_status "$old" succeeded
submit '{"command":["sh","-c","echo new"]}'
new=$id
check "new job" wait_status "$new" succeeded
check "old output there before" [ -e "$out/$old.out" ]
req POST /snapshot
check "snapshot 202" [ "$code" = 202 ]
gone() { [ ! -e "$out/$1.out" ] && [ ! -e "$out/$1.err" ]; }
check "aged-out job's files removed" wait_until 10 gone "$old"
check "kept job's files stay" [ "$(cat "$out/$new.out")" = new ]
check "capped job (aged out) files removed" gone "$capped"
stop_daemon
touch "$out/00000000deadbeef.out" "$out/00000000deadbeef.trunc" "$out/notes.txt"
start_daemon --retain-finished 1
check "restart sweeps files of unknown jobs" wait_until 10 gone 00000000deadbeef
check "the sweep leaves other names alone" [ -e "$out/notes.txt" ]
check "the sweep keeps retained jobs' files" [ -e "$out/$new.out" ]
stop_daemon

# --- a full table reuses a finished job's slot: that job's files go ----------------------
start_daemon --capacity 8
first=()
for i in $(seq 7); do submit "{\"command\":[\"sh\",\"-c\",\"echo first$i\"]}"; first+=("$id"); done
for j in "${first[@]}"; do wait_status "$j" succeeded; done
check "first round's files there" [ "$(cat "$out/${first[0]}.out")" = first1 ]
for i in $(seq 7); do submit "{\"command\":[\"sh\",\"-c\",\"echo second$i\"]}"; done
check "second round" wait_status "$id" succeeded
req GET "/jobs/${first[0]}"
check "the first job left the table" [ "$code" = 404 ]
check "its files went with its slot" gone "${first[0]}"
check "the new job's are there" [ "$(cat "$out/$id.out")" = second7 ]
stop_daemon

# --- --output-dir elsewhere; a planted link is not followed ---------------------------
mkdir -m 0700 "$tmp/elsewhere"
start_daemon --output-dir "$tmp/elsewhere" --paused
submit '{"command":["sh","-c","echo mine"]}'
planted=$id
echo precious >"$tmp/victim"
ln -s "$tmp/victim" "$tmp/elsewhere/$planted.out"
ln "$tmp/victim" "$tmp/elsewhere/$planted.err"
stop_daemon
start_daemon --output-dir "$tmp/elsewhere"
check "job runs with a link at its name" wait_status "$planted" succeeded
check "the link's target untouched" [ "$(cat "$tmp/victim")" = precious ]
check "output is a file of its own" [ ! -L "$tmp/elsewhere/$planted.out" ]
check "output went to --output-dir" [ "$(cat "$tmp/elsewhere/$planted.out")" = mine ]
check "nothing in the state dir's output" [ ! -e "$out/$planted.out" ]
req GET /health
check "health names the output dir" grep -q "\"dir\":\"$tmp/elsewhere\"" <<<"$body"
stop_daemon

# --- directories refused --------------------------------------------------------------
refused() {	# refused DIR WORDS: the daemon will not start on it, and says why
	local dir=$1 words=$2 rc=0
	"$daemon" --socket "$tmp/r.sock" --state-dir "$tmp/state-r" --output-dir "$dir" \
		2>"$tmp/refused.log" &
	local p=$!
	pids+=("$p")
	wait "$p" || rc=$?
	[ "$rc" != 0 ] && grep -q "$words" "$tmp/refused.log"
}
mkdir -m 0777 "$tmp/open"
chmod 0777 "$tmp/open"
check "a 0777 output dir is refused" refused "$tmp/open" "writable by group or others"
ln -s "$tmp/elsewhere" "$tmp/link"
check "a link as output dir is refused" refused "$tmp/link" "symbolic link"
if [ "$(id -u)" = 0 ] && command -v useradd >/dev/null; then
	id jrtest_a >/dev/null 2>&1 || useradd -M -s /bin/sh jrtest_a
	mkdir -m 0700 "$tmp/theirs"
	chown jrtest_a "$tmp/theirs"
	check "another user's output dir is refused" refused "$tmp/theirs" "owned by another user"
else
	echo "SKIP: another user's output directory needs root and useradd"
fi

# --- the output disk nearly full: 507 ------------------------------------------------
start_daemon --output-reserve 1000P
req GET /health
check "health says output full" grep -q '"full":true' <<<"$body"
req POST /jobs '{"command":["true"]}'
check "submission refused 507" [ "$code" = 507 ]
check "507 output_full names the dir" grep -q "\"code\":\"output_full\".*$out" <<<"$body"
stop_daemon

echo "test_output: $pass passed, $fail failed"
[ "$fail" = 0 ]
