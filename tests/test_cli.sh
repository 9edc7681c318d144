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

echo "test_cli: $pass passed, $fail failed"
[ "$fail" = 0 ]
