#!/usr/bin/env bash
# demo.sh - `make demo`: start jobringd on a temporary socket and state
# directory, submit a sample workload through the jobring CLI (a small DAG
# of heavy jobs, a sweep of light ones from a file, an urgent job, one job
# that fails and is retried), watch it with `jobring wait`, print a summary
# and stop the daemon. Usage: tools/demo.sh BUILD_DIR
set -eu
build=${1:-build/release}
daemon="$build/jobringd"
tmp=$(mktemp -d /tmp/jobring-demo-XXXXXX)
sock="$tmp/jobring.sock"
export JOBRING_SOCKET=$sock
# Starting and stopping jobringd, and the clean-up at exit, as the tests do.
. "$(dirname "$0")/../tests/lib.sh"
jobring() { "$build/jobring" "$@"; }

start_daemon
echo "jobringd $daemon_pid listening on $JOBRING_SOCKET"

# A DAG: prepare -> four simulations (2 cores each) -> reduce.
prep=$(jobring submit -J prepare --priority 6 -- sh -c 'sleep 0.3; echo inputs ready')
sims=""
for i in 1 2 3 4; do
	sims="$sims,$(jobring submit -J "simulate-$i" --priority 5 -c 2 --after "$prep" -- \
		sh -c "sleep 0.6; echo simulation $i on cores \$JOBRING_CPUS")"
done
reduce=$(jobring submit -J reduce --priority 5 --after "${sims#,}" -- sh -c 'echo all simulations reduced')

# A sweep of 300 light jobs, one per line, as GNU parallel users keep them.
for i in $(seq 300); do echo "echo point $i > /dev/null; sleep 0.0$((i % 3))"; done >"$tmp/sweep.txt"
jobring submit --priority 1 -J sweep --quiet --file "$tmp/sweep.txt"

# One that fails on its first attempt and succeeds when retried.
flaky=$(jobring submit -J flaky --priority 4 -r 2 -- sh -c "test -e $tmp/flag || { touch $tmp/flag; echo first try fails >&2; exit 1; }")
# And an urgent job, submitted last, started first.
urgent=$(jobring submit -J urgent --priority 7 -- sh -c 'echo urgent done')

jobring wait || true
echo
echo "== summary"
jobring stats | grep -E '^(submitted|succeeded|failed|cancelled)'
printf '%-10s %-10s %-8s %s\n' JOB STATUS ATTEMPTS STARTED
for pair in "prepare:$prep" "reduce:$reduce" "flaky:$flaky" "urgent:$urgent"; do
	name=${pair%%:*} id=${pair#*:}
	jobring show "$id" | awk -v n="$name" '/^status /{s=$2} /^attempts /{a=$2} /^start_time /{t=$2}
		END {printf "%-10s %-10s %-8s %s\n", n, s, a, t}'
done
echo "reduce said: $(jobring logs "$reduce")"
stop_daemon && echo "jobringd stopped cleanly"
