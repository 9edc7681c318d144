#!/usr/bin/env bash
# run_suites.sh BUILD_DIR SUITE... - the test suites, several at once: the
# shell suites (SCRIPT.sh BUILD_DIR) and the C ones (run without arguments).
#
# Most suites spend their time waiting (jobs that sleep through a kill -9,
# a keeper's grace, a heartbeat timeout), so running TEST_JOBS of them at
# a time (default: the number of cores, at least 2) shortens `make test`
# without changing what any of them checks. Each suite has its own state
# directory, socket, cgroup subtree and ports (127.0.0.1:0), so they do
# not meet. A suite named in TEST_ALONE (space-separated paths) runs only
# when nothing else does: those that load the whole host on purpose.
#
# A suite's output is kept apart and printed whole when it ends, between
# "== SCRIPT" and "== SCRIPT: N s" as before; a failed or timed-out one
# (TEST_TIMEOUT seconds, default 600) adds "FAILED: SCRIPT". Exits 1 if
# any failed, after all have run.
set -u; [ -n "${RUN_SUITES_TRACE:-}" ] && set -x
build=$1
shift
jobs=${TEST_JOBS:-$(nproc)}
[ "$jobs" -ge 2 ] 2>/dev/null || jobs=2
limit=${TEST_TIMEOUT:-600}
alone=" ${TEST_ALONE:-} "
logs=$(mktemp -d /tmp/jr-suites-XXXXXX)
trap 'rm -rf "$logs"' EXIT
declare -A script_of=() start_of=()
active=0
pass=0
fail=0
failed=()

launch() {	# launch SCRIPT: start it in the background, its output to a file
	local t=$1 log="$logs/$(echo "$1" | tr / _).log" pid args=()
	[[ $t == *.sh ]] && args=("$build")	# a C suite (cmocka) takes none
	timeout "$limit" "$t" "${args[@]}" >"$log" 2>&1 &
	pid=$!
	script_of[$pid]=$t
	start_of[$pid]=$(date +%s)
	active=$((active + 1))
}

reap_one() {	# reap_one: wait for any running suite, report it
	local pid rc t log
	wait -n -p pid
	rc=$?
	t=${script_of[$pid]}
	log="$logs/$(echo "$t" | tr / _).log"
	echo "== $t"
	cat "$log"
	if [ "$rc" = 0 ]; then
		pass=$((pass + 1))
	else
		[ "$rc" = 124 ] && echo "TIMED OUT after $limit s: $t"
		echo "FAILED: $t"
		fail=$((fail + 1))
		failed+=("$t")
	fi
	echo "== $t: $(($(date +%s) - ${start_of[$pid]})) s"
	unset "script_of[$pid]" "start_of[$pid]"
	active=$((active - 1))
}

for t in "$@"; do
	if [[ $alone == *" $t "* ]]; then
		while [ "$active" -gt 0 ]; do reap_one; done
		launch "$t"
		reap_one
		continue
	fi
	while [ "$active" -ge "$jobs" ]; do reap_one; done
	launch "$t"
done
while [ "$active" -gt 0 ]; do reap_one; done
echo "suites: $pass passed, $fail failed${failed:+ (${failed[*]})}"
[ "$fail" = 0 ]
