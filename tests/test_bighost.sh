#!/usr/bin/env bash
# test_bighost.sh - jobringd on modelled hosts (issue 14): a 1,024-core
# NUMA node (synthetic) starts and runs a job holding every core and then
# 1,024 one-core jobs at once; an 8,192-core host starts and runs a job of
# all its cores, a larger one is refused with a message; a job wider
# than the host is refused at submission (422 impossible_resources, and
# the CLI says so); on 8 cores and 2 GPUs with no time limits, a job
# waiting for a GPU leaves the free cores to 1-core jobs, which start at
# once, and itself starts as soon as a GPU frees up.
# Usage: tests/test_bighost.sh BUILD_DIR
set -u
build=${1:-build/debug}
daemon="$build/jobringd"
cli="$build/jobring"
tmp=$(mktemp -d /tmp/jr-bighost-XXXXXX)
sock="$tmp/s.sock"
. "$(dirname "$0")/lib.sh"

submit() {	# submit JSON: sets $id
	req POST /jobs "$1"
	id=$(field job_id)
}
running_count() {	# running jobs, as /health counts them
	req GET /health
	field running
}
at_least_running() { [ "$(running_count)" -ge "$1" ]; }

# --- a 1,024-core NUMA node ------------------------------------------------
start_daemon --topology "package:1 numa:1 core:1024 pu:1" --no-keeper
submit '{"command":["sh","-c","echo $OMP_NUM_THREADS $JOBRING_CPUS"],"requirements":{"cpus":1024}}'
all=$id
check "a job of all 1,024 cores is accepted" [ "$code" = 201 ]
check "it runs and ends" wait_status "$all" succeeded
req GET "/jobs/$all/logs"
check "it held all 1,024 cores (0-1023)" grep -q '"data":"1024 0-1023\\n"' <<<"$body"
submit '{"command":["true"],"requirements":{"cpus":1025}}'
check "1,025 cores: 422 impossible_resources" \
	[ "$code" = 422 ] && [ "$(field code)" = impossible_resources ]
out=$(JOBRING_SOCKET=$sock "$cli" submit --cpus 1025 true 2>&1)
check "the CLI says the host cannot hold it" grep -qi "more resources than this host has" <<<"$out"
# 1,024 one-core jobs that sleep until a file appears: all run at once.
# (They look every 5 s: every 1 s was 1,024 forks a second on 2 cores,
# and the suite took 4 minutes in CI.)
batch=$(for i in $(seq 1024); do
	echo '{"command":["sh","-c","while [ ! -e '"$tmp"'/go ]; do sleep 5; done"]}'
done)
req POST /jobs/batch "$batch"
check "1,024 one-core jobs submitted" [ "$code" = 201 ]
check "all 1,024 run at once" wait_until 60 at_least_running 1024
req GET /health
check "/health counts 1,024 cores" [ "$(field cores)" = 1024 ]
touch "$tmp/go"
ended_all() { [ "$(running_count)" -eq 0 ]; }
check "and end" wait_until 60 ended_all
stop_daemon
rm -f "$sock"

# --- 8,192 cores, the most a host has ---------------------------------------
# 16 nodes of 512 (hwloc builds one flat level of 8,192 synthetic cores in
# quadratic time: the simulator's tests cover a flat pool that large).
start_daemon --topology "package:16 numa:1 core:512 pu:1" --no-keeper
req GET /health
check "8,192 cores: the host starts" [ "$(field cores)" = 8192 ]
submit '{"command":["sh","-c","echo $OMP_NUM_THREADS $JOBRING_CPUS"],"requirements":{"cpus":8192,"span_numa":true}}'
check "a job spread over all 8,192 runs" wait_status "$id" succeeded
req GET "/jobs/$id/logs"
check "it held cores 0-8191" grep -q '"data":"8192 0-8191\\n"' <<<"$body"
stop_daemon
rm -f "$sock"
spawn_daemon --topology "package:9 numa:1 core:1024 pu:1" --no-keeper
wait "$daemon_pid"
check "9,216 cores: refused with a message" grep -q "more than 8,192 cores" "$tmp/daemon.log"

# --- no idle cores behind a blocked head ------------------------------------
start_daemon --topology "package:1 numa:1 core:8 pu:1" --gpus 2 --no-keeper
# The GPU jobs hold their GPU until $tmp/gpu-go exists (a fixed sleep ran
# out on a loaded host before the head was looked at).
for g in 1 2; do
	submit "{\"command\":[\"sh\",\"-c\",\"i=0; while [ ! -e $tmp/gpu-go ] && [ \$i -lt 300 ]; do sleep 0.2; i=\$((i + 1)); done\"],\"requirements\":{\"cpus\":1,\"gpus\":1}}"
	gpu[g]=$id
done
wait_status "${gpu[1]}" running
wait_status "${gpu[2]}" running
submit '{"command":["true"],"requirements":{"cpus":1,"gpus":1}}'
head=$id
small=()
for i in 1 2 3 4; do
	submit '{"command":["sleep","0.5"],"requirements":{"cpus":1}}'
	small+=("$id")
done
started_all() {
	for s in "${small[@]}"; do
		req GET "/jobs/$s"
		case $(field status) in running|succeeded) ;; *) return 1 ;; esac
	done
}
check "four 1-core jobs start while the head waits for a GPU" wait_until 10 started_all
req GET "/jobs/$head"
check "the head still waits" [ "$(field status)" = queued ]
touch "$tmp/gpu-go"
check "the head starts once a GPU frees up" wait_status "$head" succeeded
stop_daemon

echo "test_bighost: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
