# lib.sh - what the shell suites share: checks, requests through curl
# --unix-socket, reading a field of the answer, starting jobringd. Source it
# after setting build, daemon, cli, tmp and sock.
pass=0
fail=0
pids=()

cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT

check() {	# check NAME CONDITION...
	local name=$1
	shift
	if "$@"; then
		pass=$((pass + 1))
	else
		fail=$((fail + 1))
		echo "FAIL: $name"
	fi
}

# req METHOD PATH [BODY]: sets $code and $body
req() {
	local out
	if [ $# -ge 3 ]; then
		out=$(curl -s -w '\n%{http_code}' --unix-socket "$sock" -X "$1" \
			-H 'Content-Type: application/json' --data-binary "$3" "http://jobring$2")
	else
		out=$(curl -s -w '\n%{http_code}' --unix-socket "$sock" -X "$1" "http://jobring$2")
	fi
	code=${out##*$'\n'}
	body=${out%$'\n'*}
}

not() { ! "$@"; }

field() {	# field KEY: a top-level string or number of $body
	printf '%s' "$body" | grep -o "\"$1\":\(\"[^\"]*\"\|[-0-9.]*\|null\)" | head -1 |
		sed -e "s/^\"$1\"://" -e 's/^"//' -e 's/"$//'
}

start_daemon() {	# start_daemon [options...] (and $JR_DAEMON_ARGS)
	# shellcheck disable=SC2086
	"$daemon" --socket "$sock" --state-dir "$tmp/state" ${JR_DAEMON_ARGS:-} "$@" 2>>"$tmp/daemon.log" &
	daemon_pid=$!
	pids+=("$daemon_pid")
	for _ in $(seq 600); do [ -S "$sock" ] && curl -s --unix-socket "$sock" http://x/health >/dev/null && return 0; sleep 0.05; done
	echo "jobringd did not start:"; cat "$tmp/daemon.log"; exit 1
}


wait_status() {	# wait_status ID STATUS
	for _ in $(seq 200); do
		req GET "/jobs/$1"
		[ "$(field status)" = "$2" ] && return 0
		sleep 0.05
	done
	return 1
}

stop_daemon() {	# stop_daemon [SIGNAL]: TERM (a clean stop) unless told KILL
	kill -"${1:-TERM}" "$daemon_pid" 2>/dev/null
	wait "$daemon_pid" 2>/dev/null
}
