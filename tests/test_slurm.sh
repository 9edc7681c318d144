#!/usr/bin/env bash
# test_slurm.sh - allocations from Slurm (issue 17), with a real Slurm
# that tests/slurm_lib.sh starts on this machine (munge with a private
# key, slurmctld, two slurmd nodes where the build allows).
# Light part (always, also under ASan/TSan and without Slurm): bad
# definitions refused, sbatch failing (a stub in PATH) backs off with
# the reason and the retry in `jobring alloc ls`, the queue kept across
# a restart. With Slurm (skipped, saying why, where it cannot start, and
# under build/asan, build/tsan): nothing asked while no external job
# waits; external jobs waiting make jobringd sbatch an allocation whose
# jobring-workers run them; its Slurm job id survives kill -9 of
# jobringd; the allocation ends once its workers idle, and nothing more
# is asked; a wrong partition backs off with Slurm's reason.
# Usage: tests/test_slurm.sh BUILD_DIR
set -u
build=${1:-build/debug}
build=$(cd "$build" && pwd)
daemon="$build/jobringd"
cli="$build/jobring"
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d /tmp/jr-slurmtest-XXXXXX)
chmod 755 "$tmp"
sock="$tmp/s.sock"
. "$here/lib.sh"
. "$here/slurm_lib.sh"
export JOBRING_SOCKET=$sock
# A small job table: a daemon starts in a second, also under TSan (30 s
# with the default million slots).
export JR_DAEMON_ARGS="${JR_DAEMON_ARGS:-} --capacity 4096"
jq_() { jq -r "$1" <<<"$body"; }
alloc_field() { req GET "/allocations/$1"; jq -r "$2" <<<"$body"; }	# alloc_field ID JQ
t0=$SECONDS

# --- light: definitions, backoff on a failing sbatch, kept across a restart -----------------
mkdir -p "$tmp/bin" "$tmp/out"
cat >"$tmp/bin/sbatch" <<EOF
#!/bin/sh
printf '%s\n' "\$@" >$tmp/sbatch.args
echo "sbatch: error: Batch job submission failed: Invalid partition name specified"
exit 1
EOF
# Two node configurations: the largest of each is 4 cores (sockets x
# cores), 16,000 MB, 2 GPUs.
cat >"$tmp/bin/sinfo" <<EOF
#!/bin/sh
echo "\$*" >>$tmp/sinfo.calls
printf 'stub 1 4 8000 gpu:a100:2(S:0)\nstub 2 1 16000 (null)\n'
EOF
chmod +x "$tmp/bin/sbatch" "$tmp/bin/sinfo"
PATH="$tmp/bin:$PATH" start_daemon --socket-mode 0666

if [ "$(id -u)" = 0 ]; then	# another user may list the queues, not add or remove one
	id jrtest_a >/dev/null 2>&1 || useradd -M -s /bin/sh jrtest_a
	as jrtest_a POST /allocations '{"time":"5"}'
	check "another user adds: 403" [ "$code" = 403 ]
	as jrtest_a GET /allocations
	check "another user lists: 200" [ "$code" = 200 ]
fi
req POST /allocations '{"time":"1:00","partition":"a b"}'
check "a blank in partition: 422" [ "$code" = 422 ]
req POST /allocations '{"partition":"p"}'
check "no time: 422" [ "$code" = 422 ]
req POST /allocations '{"time":"5","colour":"red"}'
check "unknown field: 422 unknown_field" [ "$(jq_ .error.code)" = unknown_field ]
req POST /allocations '[1]'
check "not an object: 400" [ "$code" = 400 ]
req POST /allocations '{"time":"5","nodes":0}'
check "nodes 0: 422" [ "$code" = 422 ]
out=$("$cli" alloc add slurm --partition stub --time 5 --idle-timeout 2 -- --qos=x)
check "alloc add: its id" [ "$out" = "allocation queue 1 added" ]
req GET /allocations/1
check "shown: its sbatch args" [ "$(jq_ '.sbatch_args[0]')" = "--qos=x" ]
check "nothing asked while no job waits" [ "$(jq_ .submitted)" = 0 ]
# Jobs too big for every node of the partition (sinfo's) ask for nothing.
req POST /jobs '{"executor":"external","command":["true"],"requirements":{"cpus":8}}'
req POST /jobs '{"executor":"external","command":["true"],"requirements":{"gpus":3}}'
req POST /jobs '{"executor":"external","command":["true"],"requirements":{"memory":"17G"}}'
too_big_seen() { [ "$(alloc_field 1 .jobs_too_big)" = 3 ]; }
check "jobs too big for its nodes: counted" wait_until 10 too_big_seen
sleep 1.5
req GET /allocations/1
check "too big: nothing asked of Slurm" [ "$(jq_ .submitted)/$(jq_ .failures)" = 0/0 ]
check "too big: sbatch never ran" [ ! -e "$tmp/sbatch.args" ]
check "the node, from sinfo: 4 cpus, 2 GPUs, 16,000 MB" \
	[ "$(jq_ '"\(.node.cpus) \(.node.gpus) \(.node.memory_bytes)"')" = "4 2 16777216000" ]
check "sinfo asked once, for its partition" [ "$(cat "$tmp/sinfo.calls")" = \
	"--noheader --exact --format=%P %X %Y %m %G --partition=stub" ]
check "alloc ls: too big" grep -q "3 too big for its nodes" <<<"$("$cli" alloc ls)"
req POST /jobs '{"executor":"external","command":["true"],"requirements":{"cpus":4,"gpus":2}}'
ext_job=$(field job_id)
backoff_twice() { [ "$(alloc_field 1 .failures)" -ge 2 ]; }
check "a failing sbatch: retried after 1 s, then backs off" wait_until 15 backoff_twice
req GET /allocations/1
check "its status: backoff" [ "$(jq_ .status)" = backoff ]
check "its reason: sbatch's" grep -q "Invalid partition name" <<<"$(jq_ .last_error)"
check "the job that fits: counted waiting" [ "$(jq_ .jobs_waiting)/$(jq_ .nodes_wanted)" = 1/1 ]
check "whole nodes asked for, with their GPUs" \
	[ "$(grep -xE -- '--exclusive|--mem=0|--gres=gpu:2' "$tmp/sbatch.args" | wc -l)" = 3 ]
check "when it retries" [ "$(jq_ '.retry_in | floor')" -le 4 ]
ls_out=$("$cli" alloc ls)
check "alloc ls: backoff and the reason" grep -q "backoff, retry in .*Invalid partition" <<<"$ls_out"
check "a clean stop (backing off)" stop_daemon
PATH="$tmp/bin:$PATH" start_daemon --socket-mode 0666
req GET /allocations
check "restart: the queue kept" [ "$(jq_ '.allocations[0].partition')" = stub ]
check "restart: its parameters" [ "$(jq_ '.allocations[0].idle_timeout')" = 2 ]
[ "$(id -u)" = 0 ] && { as jrtest_a DELETE /allocations/1; check "another user removes: 403" [ "$code" = 403 ]; }
out=$("$cli" alloc rm 1)
check "alloc rm" [ "$out" = "allocation queue 1 removed" ]
# Declared workers: no sinfo (it would fail now), their resources and
# labels on jobring-worker's command line, and only jobs they fit count.
printf '#!/bin/sh\necho "sinfo: error: slurmctld down"; exit 1\n' >"$tmp/bin/sinfo"
req POST /allocations '{"time":"5","worker_memory":"lots"}'
check "worker_memory not a size: 422" [ "$code" = 422 ]
req POST /allocations '{"time":"5","worker_gpus":65}'
check "worker_gpus 65: 422" [ "$code" = 422 ]
req POST /allocations '{"time":"5","worker_capabilities":"a b"}'
check "worker_capabilities with a blank: 422" [ "$code" = 422 ]
q2=$("$cli" --json alloc add slurm --partition stub --time 5 --worker-cpus 16 --worker-memory 32G \
	--worker-gpus 0 --worker-capabilities fast,big -- --mem-per-cpu=2G | jq -r .id)
req POST /jobs '{"executor":"external","command":["true"],"requirements":{"capabilities":["slow"]}}'
req POST /jobs '{"executor":"external","command":["true"],"requirements":{"cpus":16,"capabilities":["fast"]}}'
asked_once() { [ "$(alloc_field "$q2" .failures)" -ge 1 ]; }
check "declared workers: sbatch asked" wait_until 10 asked_once
req GET "/allocations/$q2"
check "declared: sbatch's error, not sinfo's" grep -q "Invalid partition" <<<"$(jq_ .last_error)"
check "declared: the node as declared" [ "$(jq_ '"\(.node.cpus) \(.node.gpus) \(.node.memory_bytes)"')" = "16 0 34359738368" ]
check "declared: the job without its labels not counted, 3 fit, 2 too big" \
	[ "$(jq_ .jobs_waiting)/$(jq_ .jobs_too_big)/$(jq_ .nodes_wanted)" = 3/2/2 ]
check "declared: the worker's resources and labels" \
	grep -q -- "--idle-timeout 300 --cpus 16 --gpus 0 --memory '32G' --capabilities 'fast,big'$" "$tmp/sbatch.args"
check "declared: no GPUs asked for" not grep -q -- --gres "$tmp/sbatch.args"
check "the user's --mem-per-cpu, not --mem=0 (sbatch takes one)" \
	[ "$(grep -cxE -- '--mem=0|--mem-per-cpu=2G|--exclusive' "$tmp/sbatch.args")" = 2 ]
stop_daemon KILL
PATH="$tmp/bin:$PATH" start_daemon --socket-mode 0666
req GET "/allocations/$q2"
check "kill -9: the declared workers kept" \
	[ "$(jq_ '"\(.worker_cpus) \(.worker_memory) \(.worker_gpus) \(.worker_capabilities)"')" = "16 32G 0 fast,big" ]
"$cli" alloc rm "$q2" >/dev/null
# No partition: sbatch's is Slurm's default one, so only its nodes count.
printf '#!/bin/sh\nprintf "gpu 8 8 64000 gpu:8\\nbatch* 1 2 4000 (null)\\n"\n' >"$tmp/bin/sinfo"
q3=$("$cli" --json alloc add slurm --time 5 | jq -r .id)
node_known() { [ "$(alloc_field "$q3" .node.cpus)" != null ]; }
check "no partition: sinfo asked" wait_until 10 node_known
req GET "/allocations/$q3"
check "no partition: the default partition's node" [ "$(jq_ '"\(.node.cpus) \(.node.gpus)"')" = "2 0" ]
"$cli" alloc rm "$q3" >/dev/null
req GET /allocations/1
check "removed: 404" [ "$code" = 404 ]
req PUT "/jobs/$ext_job/cancel"
check "a clean stop" stop_daemon
echo "light part: $((SECONDS - t0)) s"

# --- with a real Slurm ---------------------------------------------------------------------
case $build in
*/asan | */tsan)
	echo "SKIP the real-Slurm part under $(basename "$build")"
	echo "test_slurm: $pass passed, $fail failed"
	[ "$fail" = 0 ]
	exit
	;;
esac
if ! slurm_start; then
	echo "SKIP the real-Slurm part"
	echo "test_slurm: $pass passed, $fail failed"
	[ "$fail" = 0 ]
	exit
fi
echo "slurm: $slurm_node_count node(s) up after $((SECONDS - t0)) s"
nodes=$slurm_node_count
remove_state
start_daemon
q=$("$cli" --json alloc add slurm --partition "$slurm_partition" --nodes "$nodes" --time 5 \
	--max-pending 1 --idle-timeout 3  \
	-- "--output=$tmp/slurm-%j.out" | jq -r .id)
sleep 2
check "nothing waits: nothing asked" [ "$(alloc_field "$q" .submitted)" = 0 ]

# A job more than any node holds waits beside them and asks for nothing.
req POST /jobs "{\"executor\":\"external\",\"command\":[\"true\"],\"requirements\":{\"cpus\":$(($(nproc) + 1))}}"
too_big=$(field job_id)
for i in 1 2 3 4; do
	req POST /jobs "{\"executor\":\"external\",\"command\":[\"sh\",\"-c\",\"sleep 1; echo \$SLURM_JOB_ID \$SLURMD_NODENAME > $tmp/out/j$i\"]}"
	jobs[i]=$(field job_id)
done
asked() { [ "$(alloc_field "$q" '.allocations | length')" -ge 1 ]; }
check "jobs wait: an allocation asked" wait_until 10 asked
slurm_id=$(alloc_field "$q" '.allocations[0].slurm_job_id')
check "it is a Slurm job of ours" [ "$(squeue -h -j "$slurm_id" -o %j)" = "jobring-a$q" ]
stop_daemon KILL
start_daemon
check "kill -9: its Slurm job id kept" [ "$(alloc_field "$q" '.allocations[0].slurm_job_id')" = "$slurm_id" ]
all_done() {
	local j
	for j in 1 2 3 4; do
		req GET "/jobs/${jobs[j]}"
		[ "$(field status)" = succeeded ] || return 1
	done
}
all_done_or_say() {	# what went wrong, if they did not
	wait_until 30 all_done && return 0
	tail -20 "$tmp/daemon.log"; cat "$tmp"/slurm-*.out; squeue; "$cli" alloc ls; "$cli" workers
	return 1
}
check "the jobs run by workers Slurm started" all_done_or_say
ran_in() { read -r sid _ <"$tmp/out/j$1" && [ -n "$sid" ] && [ "$sid" = "$slurm_id" ]; }
for i in 1 2 3 4; do check "job $i ran in allocation $slurm_id" ran_in "$i"; done
check "one allocation was enough (max-pending 1)" [ "$(alloc_field "$q" .submitted)" = 1 ]
drained() {
	[ "$(alloc_field "$q" '.allocations | length')" = 0 ] && [ -z "$(squeue -h --name="jobring-a$q")" ]
}
check "drained: the workers left, the allocation ended" wait_until 20 drained
check "drained: counted ended" [ "$(alloc_field "$q" .ended)" = 1 ]
sleep 2
req GET "/allocations/$q"
check "drained: nothing more asked, the too-big job still waiting" \
	[ "$(jq_ .submitted)/$(jq_ .jobs_too_big)/$(jq_ .node.cpus)" = "1/1/$(nproc)" ]
req GET "/jobs/$too_big"
check "the too-big job: still queued" field_is status queued
req POST "/jobs/$too_big/cancel"

# A wrong partition: Slurm's reason, and a backoff.
"$cli" alloc rm "$q" >/dev/null
q=$("$cli" --json alloc add slurm --partition nope --time 5 | jq -r .id)
req POST /jobs '{"executor":"external","command":["true"]}'
failed_once() { [ "$(alloc_field "$q" .failures)" -ge 1 ]; }
check "a wrong partition: sinfo or sbatch fails" wait_until 10 failed_once
req GET "/allocations/$q"
check "its reason is Slurm's" grep -qi "partition" <<<"$(jq_ .last_error)"
check "backing off" [ "$(jq_ .status)" = backoff ]
check "no Slurm job left behind" [ -z "$(squeue -h)" ]
stop_daemon

# --- in-allocation mode: jobringd in the allocation, a worker on every node, the CLI
# inside finds it (no JOBRING_SOCKET) -------------------------------------------------------
mkdir -m 700 "$tmp/home"
cat >"$tmp/inalloc.sh" <<EOF
#!/bin/sh
for i in 1 2 3 4; do
	env -u JOBRING_SOCKET "$cli" submit --external -- \
		sh -c "echo \\\$SLURMD_NODENAME > $tmp/out/ia\$i; sleep 1" >/dev/null
done
env -u JOBRING_SOCKET "$cli" wait
echo "wait rc=\$?"
curl -s --unix-socket "\$HOME/.jobring/alloc/\$SLURM_JOB_ID/jobring.sock" 'http://x/jobs?limit=10' |
	jq -r '.jobs[].worker_id' >$tmp/out/ia-workers
EOF
ia_id=$(HOME=$tmp/home sbatch --parsable -N "$nodes" --time 2 -o "$tmp/inalloc.out" \
	--wrap "$cli run-in-allocation -- sh $tmp/inalloc.sh")
ia_gone() { [ -z "$(squeue -h -j "$ia_id" 2>/dev/null)" ]; }
check "in-allocation: the allocation ends with its command" wait_until 40 ia_gone
check "in-allocation: every job done (jobring wait inside)" grep -q "wait rc=0" "$tmp/inalloc.out"
# The jobs' environment is their submitter's (SLURMD_NODENAME names the
# first node for all): the workers that ran them say where.
ia_nodes=$(sort -u "$tmp/out/ia-workers" 2>/dev/null | grep -c '^w')
check "in-allocation: 4 jobs ran" [ "$(find "$tmp/out" -name 'ia[0-9]' | wc -l)" = 4 ]
check "in-allocation: by a worker of every node ($ia_nodes of $nodes)" [ "$ia_nodes" = "$nodes" ]
check "in-allocation: jobringd stopped with it" not pgrep -f "jobringd --socket $tmp/home"
grep -q "wait rc=0" "$tmp/inalloc.out" || cat "$tmp/inalloc.out" "$tmp"/home/.jobring/alloc/*/*.log
echo "test_slurm: $pass passed, $fail failed ($((SECONDS - t0)) s)"
[ "$fail" = 0 ]
