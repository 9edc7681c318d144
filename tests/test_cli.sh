#!/usr/bin/env bash
# test_cli.sh - the jobring CLI on its own: the socket path it reports
# is the one it was given, for every request of a command (it once pointed
# into a returned function's stack) and when too long for a socket (it was
# cut to 107 bytes). Usage: tests/test_cli.sh BUILD_DIR
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

echo "test_cli: $pass passed, $fail failed"
[ "$fail" = 0 ]
