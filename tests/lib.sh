# lib.sh - what the shell suites (and tools/demo.sh) share, as
# tests/support/harness.h is for the C ones: checks, requests through curl
# --unix-socket, reading a field of the answer, waiting for a condition,
# jobringd started, stopped and its keeper found, and at exit everything
# removed: the daemons, $tmp, and the cgroup subtree a killed daemon
# leaves. Source it after setting build, daemon, cli, tmp and sock. Safe
# under set -e.
pass=0
fail=0
pids=()
daemon_run=()	# a command that runs jobringd (runuser -u USER --, systemd-socket-activate ...)
daemon_cgroups=()	# the job cgroup subtrees of the daemons started, from /health

cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$tmp" || true
	remove_cgroups
}
trap cleanup EXIT

# Each daemon's cgroup subtree, once its processes are gone: its keeper
# ends them within a second of its state directory going and removes the
# subtree itself; one killed with the daemon, or a --no-keeper daemon
# killed, leaves it. Killed after 10 s.
remove_cgroups() {
	local cg
	for cg in "${daemon_cgroups[@]}"; do
		for _ in $(seq 100); do
			[ -e "$cg" ] || continue 2
			grep -q '^populated 0' "$cg/cgroup.events" 2>/dev/null && break
			sleep 0.1
		done
		if ! grep -q '^populated 0' "$cg/cgroup.events" 2>/dev/null; then
			echo "processes outlived the test by 10 s in $cg: killed"
			echo 1 >"$cg/cgroup.kill" 2>/dev/null || true
			sleep 0.5
		fi
		find "$cg" -depth -type d -exec rmdir {} + 2>/dev/null || true
	done
}

# as USER METHOD PATH [BODY]: req as another user (runuser; root: req
# itself); sets $code and $body. For the suites that act as a second uid.
as() {
	local u=$1 out
	shift
	if [ "$u" = root ]; then
		req "$@"
		return
	fi
	if [ $# -ge 3 ]; then
		out=$(runuser -u "$u" -- curl -s -w '\n%{http_code}' --unix-socket "$sock" -X "$1" \
			-H 'Content-Type: application/json' --data-binary "$3" "http://jobring$2")
	else
		out=$(runuser -u "$u" -- curl -s -w '\n%{http_code}' --unix-socket "$sock" -X "$1" \
			"http://jobring$2")
	fi
	code=${out##*$'\n'}
	body=${out%$'\n'*}
}

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

# req METHOD PATH [BODY]: sets $code and $body. Through tests/jrreq.c
# where it is built (a third of curl's cost: the suites make thousands
# of requests), else curl.
req() {
	local out
	if [ -x "${build:-}/tests/jrreq" ]; then
		out=$("$build/tests/jrreq" "$sock" "${@:1:3}")
	elif [ $# -ge 3 ]; then
		out=$(curl -s -w '\n%{http_code}' --unix-socket "$sock" -X "$1" \
			-H 'Content-Type: application/json' --data-binary "$3" "http://jobring$2")
	else
		out=$(curl -s -w '\n%{http_code}' --unix-socket "$sock" -X "$1" "http://jobring$2")
	fi
	code=${out##*$'\n'}
	body=${out%$'\n'*}
}

not() { ! "$@"; }

# field KEY: a top-level string or number of $body (its first "KEY":
# in the text), matched by bash itself: the suites call it thousands of
# times, and a grep | head | sed pipeline each time was a third of a
# suite's CPU on a loaded host.
field() {
	local re="\"$1\":(\"([^\"]*)\"|[-0-9.]*|null)"
	[[ $body =~ $re ]] || return 0
	if [ "${BASH_REMATCH[1]:0:1}" = '"' ]; then	# a line, as grep|sed wrote it
		printf '%s\n' "${BASH_REMATCH[2]}"
	else
		printf '%s\n' "${BASH_REMATCH[1]}"
	fi
}

# nap SECONDS: sleep without a process, for the polling loops below
# (a fork and exec of sleep(1) at every turn was a good part of what a
# suite's waits cost a loaded machine): the read builtin timing out on
# a FIFO opened for reading and writing, which never has data. Opened
# for the one read (no descriptor for jobringd and its jobs to inherit);
# made in $tmp at the first nap; sleep(1) if it cannot be.
nap() {
	{ [ -p "$tmp/.nap" ] || mkfifo "$tmp/.nap"; } 2>/dev/null || { sleep "$1"; return 0; }
	read -r -t "$1" _ <>"$tmp/.nap" || true
}

# field_is KEY VALUE: what [ "$(field KEY)" = VALUE ] says, without the
# subshell (the polling loops call it at every turn).
field_is() {
	local re="\"$1\":(\"([^\"]*)\"|[-0-9.]*|null)"
	if [[ $body =~ $re ]]; then
		if [ "${BASH_REMATCH[1]:0:1}" = '"' ]; then
			[ "${BASH_REMATCH[2]}" = "$2" ]
		else
			[ "${BASH_REMATCH[1]}" = "$2" ]
		fi
	else
		[ -z "$2" ]
	fi
}

wait_until() {	# wait_until SECONDS COMMAND...
	local end=$((SECONDS + $1))
	shift
	until "$@"; do [ "$SECONDS" -ge "$end" ] && return 1; nap 0.1; done
}

# spawn_daemon [options...]: jobringd --socket $sock --state-dir $tmp/state
# $JR_DAEMON_ARGS options... in the background (run by $daemon_run if set),
# its stderr appended to $tmp/daemon.log; not waited for.
spawn_daemon() {
	# shellcheck disable=SC2086
	"${daemon_run[@]}" "$daemon" --socket "$sock" --state-dir "$tmp/state" ${JR_DAEMON_ARGS:-} \
		"$@" 2>>"$tmp/daemon.log" &
	daemon_pid=$!
	pids+=("$daemon_pid")
}

wait_socket() {	# until $sock exists (30 s)
	for _ in $(seq 600); do [ -S "$sock" ] && return 0; nap 0.05; done
	return 1
}

note_cgroup() {	# note_cgroup HEALTH: remember its job cgroup subtree for cleanup
	local cg known
	cg=$(printf '%s' "$1" | grep -o '"cgroups":{"enabled":true,"path":"[^"]*"' |
		sed 's/.*"path":"//; s/"$//')
	[ -n "$cg" ] || return 0
	for known in "${daemon_cgroups[@]}"; do [ "$known" = "$cg" ] && return 0; done
	daemon_cgroups+=("$cg")
}

# health_answers: GET /health answered (its body in $health), through
# jrreq where built: start_daemon asks every 50 ms while a daemon reads
# back a million jobs, and curl's start-up took the CPU it needed.
health_answers() {
	[ -S "$sock" ] || return 1
	if [ -x "${build:-}/tests/jrreq" ]; then
		health=$("$build/tests/jrreq" "$sock" GET /health)	# any answer, as curl
	else
		health=$(curl -s --unix-socket "$sock" http://x/health)
	fi
}

start_daemon() {	# start_daemon [options...]: spawn_daemon, then until /health answers
	local health
	spawn_daemon "$@"
	for _ in $(seq 600); do
		if health_answers; then
			note_cgroup "$health"
			return 0
		fi
		nap 0.05
	done
	echo "jobringd did not start:"; cat "$tmp/daemon.log"; exit 1
}

wait_status() {	# wait_status ID STATUS
	for _ in $(seq 200); do
		req GET "/jobs/$1"
		field_is status "$2" && return 0
		nap 0.05
	done
	return 1
}

stop_daemon() {	# stop_daemon [SIGNAL]: TERM (a clean stop) unless told KILL; its exit status
	local rc=0
	kill -"${1:-TERM}" "$daemon_pid" 2>/dev/null || true
	wait "$daemon_pid" 2>/dev/null || rc=$?
	return "$rc"
}

keeper_pid() { cat "$tmp/state/keeper.pid" 2>/dev/null; }	# the keeper of $tmp/state
pid_gone() { ! kill -0 "$1" 2>/dev/null; }

# remove_state: $tmp/state removed, and the keeper that served it gone
# before anything starts there again. A keeper stops its jobs and leaves
# when its state directory is deleted, at its own pace; a daemon started
# meanwhile could find it first and then lose it ("cannot start the engine
# (or its keeper)", seen under ASan in test_listing and test_durable).
remove_state() {
	local k
	k=$(keeper_pid)
	rm -rf "$tmp/state"
	[ -z "$k" ] || wait_until 10 pid_gone "$k"
}

# share_sanitizer_files DIR: TSan's suppressions file, named in
# TSAN_OPTIONS, copied into DIR (0755) and named there, so that programs
# run as other users can read it: the checkout may be closed to them (a
# clone under mktemp -d), and TSan stops a program whose file it cannot read.
# An empty file is dropped from the options instead.
share_sanitizer_files() {
	local f
	case ${TSAN_OPTIONS-} in
	*suppressions=*)
		f=$(printf '%s' "$TSAN_OPTIONS" | sed -n 's/.*suppressions=\([^ :]*\).*/\1/p')
		[ -r "$f" ] || return 0
		if ! grep -qv '^[[:space:]]*\(#.*\)\{0,1\}$' "$f"; then
			# Nothing in it: no file to name (one that holds in a
			# mount namespace with another /tmp too).
			TSAN_OPTIONS=$(printf '%s' "$TSAN_OPTIONS" | sed "s|suppressions=[^ :]*||")
		else
			install -m 644 "$f" "$1/tsan.supp"
			TSAN_OPTIONS=$(printf '%s' "$TSAN_OPTIONS" |
				sed "s|suppressions=[^ :]*|suppressions=$1/tsan.supp|")
		fi
		export TSAN_OPTIONS
		;;
	esac
}
