#!/usr/bin/env bash
# test_worker.sh - jobring-worker (issue 17) against a real jobringd:
# it registers what it is told (name, cpus, capabilities), runs command
# jobs submitted with "executor":"external" (exit codes, signals, output
# files the daemon's GET /jobs/{id}/logs reads, progress, jobring's
# variables), at most --cpus at once, a time limit and a cancel kill the
# job's processes, --echo completes a payload job with its payload (100
# of them one after the other, each claimed by the completion before
# it: ?claim=1), a job without a command fails; kill -9 of the worker mid-job: the job is
# retried (worker_lost after the heartbeat timeout) by another worker;
# the daemon stopped and started again while a job runs: the worker
# survives, keeps its job (run once: the daemon keeps the execution) and goes on claiming; --on-server-lost=kill
# kills what runs once the server is gone past --lost-after; SIGTERM lets
# the running job end, reports it and unregisters; SIGINT kills it and
# unregisters (the job is retried); --idle-timeout exits and unregisters;
# --output-stream sends a job's output (700 kB of random bytes, stderr)
# back into the daemon's output directory, visible while it runs, whole
# and byte for byte at its end, a retried job's attempts kept apart; a
# job's free retry after a lost worker still counts after a restart.
# Usage: tests/test_worker.sh BUILD_DIR
set -u
build=${1:-build/debug}
daemon="$build/jobringd"
worker="$build/jobring-worker"
tmp=$(mktemp -d /tmp/jr-worker-XXXXXX)
chmod 755 "$tmp"
sock="$tmp/s.sock"
. "$(dirname "$0")/lib.sh"
out="$tmp/state/output"

# start_worker NAME [options...]: jobring-worker in the background, its
# log in $tmp/NAME.log, its pid in $wpid
start_worker() {
	local name=$1
	shift
	"$worker" --server "$sock" --name "$name" --output-dir "$out" --no-cgroups \
		--heartbeat 300ms "$@" 2>>"$tmp/$name.log" &
	wpid=$!
	pids+=("$wpid")
}
# worker_id NAME: its id from GET /workers (empty if not registered)
worker_id() {
	curl -s --unix-socket "$sock" http://x/workers |
		grep -o "\"worker_id\":\"w[0-9]*\",\"name\":\"$1\"" | head -1 | sed 's/.*"worker_id":"\(w[0-9]*\)".*/\1/'
}
registered() { [ -n "$(worker_id "$1")" ]; }
submit() { req POST /jobs "$1"; jid=$(field job_id); }
status_is() { req GET "/jobs/$1"; field_is status "$2"; }
alive() { kill -0 "$1" 2>/dev/null; }
dead() { ! kill -0 "$1" 2>/dev/null; }
pid_in() { [ -s "$1" ] && alive "$(cat "$1")"; }
pid_gone() { [ -s "$1" ] && dead "$(cat "$1")"; }
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }	# user + system, in clock ticks
ended() { req GET "/jobs/$1"; case $(field status) in succeeded|failed|cancelled) return 0;; esac; return 1; }

start_daemon --no-keeper --no-cgroups --sync none --heartbeat-timeout 2s
mkdir -p "$out"

# --- registration, exit codes, output, progress, variables -------------------------------
start_worker a --cpus 2 --capabilities fast,ib
wait_until 10 registered a
check "worker registered" registered a
wa=$(worker_id a)
req GET "/workers/$wa"
check "declared cpus" grep -q '"resources":{"cpus":2,' <<<"$body"
check "capabilities" grep -q '"capabilities":\["fast","ib"\]' <<<"$body"

submit '{"executor":"external","command":["sh","-c","echo out $JOBRING_JOB_ID; echo err >&2; exit 3"]}'
j_exit=$jid
# j_ok runs until the test has seen its progress ($tmp/okgo; 30 s at most):
# a fixed sleep ran out first on a loaded machine.
submit "{\"executor\":\"external\",\"command\":[\"sh\",\"-c\",\"echo progress 40 >&\$JOBRING_PROGRESS_FD; echo cpus=\$JOBRING_CPUS omp=\$OMP_NUM_THREADS x=\$X; i=0; while [ ! -e $tmp/okgo ] && [ \$i -lt 300 ]; do sleep 0.1; i=\$((i + 1)); done\"],\"env\":{\"X\":\"y\"},\"requirements\":{\"cpus\":2}}"
j_ok=$jid
submit '{"executor":"external","command":["sh","-c","kill -9 $$"]}'
j_sig=$jid
wait_until 10 ended "$j_exit"
req GET "/jobs/$j_exit"
check "exit code 3 reported" [ "$(field status)/$(field exit_code)" = failed/3 ]
req GET "/jobs/$j_exit/logs?stream=stdout"
check "stdout through the daemon's logs" grep -q "\"data\":\"out $j_exit\\\\n\"" <<<"$body"
req GET "/jobs/$j_exit/logs?stream=stderr"
check "stderr through the daemon's logs" grep -q '"data":"err\\n"' <<<"$body"
wait_until 5 bash -c "curl -s --unix-socket $sock http://x/jobs/$j_ok | grep -q '\"progress\":40'"
check "progress reported while it runs" status_is "$j_ok" running
touch "$tmp/okgo"
req GET "/jobs/$j_ok"
check "progress 40 shown" [ "$(field progress)" = 40 ]
wait_until 10 ended "$j_ok"
check "a 2-cpu job succeeded" status_is "$j_ok" succeeded
check "its variables: both cores, OMP, its env" grep -qx 'cpus=0-1 omp=2 x=y\|cpus=0,1 omp=2 x=y' "$out/$j_ok.out"
wait_until 10 ended "$j_sig"
req GET "/executions/01${j_sig:2}"
check "killed by a signal: failed, signal in the result" grep -q '"result":{"signal":9}' <<<"$body"

# --- several at once, at most --cpus -----------------------------------------------------
# each job writes "+ start" and "- end" (ns) to $tmp/conc: at most 2 overlap
for i in 1 2 3 4 5 6; do
	submit "{\"executor\":\"external\",\"command\":[\"sh\",\"-c\",\"echo + \$(date +%s%N) >>$tmp/conc; sleep 0.3; echo - \$(date +%s%N) >>$tmp/conc\"]}"
	c[$i]=$jid
done
for i in 1 2 3 4 5 6; do wait_until 10 ended "${c[$i]}"; done
most=$(sort -k2 -n "$tmp/conc" | awk '$1 == "+" { n++; if (n > m) m = n } $1 == "-" { n-- } END { print m }')
check "two jobs at once on 2 cpus, never three (saw $most)" [ "$most" = 2 ]
check "all six succeeded" bash -c "for j in ${c[*]}; do curl -s --unix-socket $sock http://x/jobs/\$j | grep -q '\"status\":\"succeeded\"' || exit 1; done"

# --- a time limit, a cancel ----------------------------------------------------------------
submit "{\"executor\":\"external\",\"timeout\":\"1s\",\"command\":[\"sh\",\"-c\",\"echo \$\$ >$tmp/t; sleep 30\"]}"
j_t=$jid
submit "{\"executor\":\"external\",\"command\":[\"sh\",\"-c\",\"echo \$\$ >$tmp/k; sleep 30\"]}"
j_k=$jid
wait_until 5 pid_in "$tmp/k"
req PUT "/jobs/$j_k/cancel"
wait_until 5 pid_gone "$tmp/k"
check "a cancel kills the job's process" pid_gone "$tmp/k"
wait_until 8 pid_gone "$tmp/t"
check "a time limit kills the job's process" pid_gone "$tmp/t"
req GET "/jobs/$j_t"
check "... and the job failed with reason timeout" [ "$(field status)/$(field reason)" = failed/timeout ]

# --- payload jobs: --echo, and without it --------------------------------------------------
submit '{"executor":"external","payload":{"n":7}}'
wait_until 10 ended "$jid"
req GET "/executions/01${jid:2}"
check "no command without --echo: failed, why in the result" grep -q '"spawn_error":"the job has no command' <<<"$body"
kill -TERM "$wpid"
wait_until 10 dead "$wpid"
start_worker e --cpus 1 --echo
wait_until 10 registered e
submit '{"executor":"external","payload":{"n":7}}'
wait_until 10 ended "$jid"
req GET "/executions/01${jid:2}"
check "--echo: succeeded, the payload as its result" grep -q '"status":"succeeded".*"result":{"n":7}\|"result":{"n":7}.*"status":"succeeded"' <<<"$body"
long=$(printf 'x%.0s' $(seq 3000))
submit "{\"executor\":\"external\",\"payload\":{\"s\":\"$long\"}}"
wait_until 10 ended "$jid"
req GET "/jobs/$jid"
check "--echo: a 3 KB payload comes back whole (the completion is not cut)" [ "$(field status)" = succeeded ]
# One cpu, a long poll of 30 s: each job after the first comes as the
# "next" of the previous one's completion (?claim=1), started by the
# main thread, 64 in a row, then one through the long poll; one dropped
# would stay running here.
: >"$tmp/many.ndjson"
for i in $(seq 100); do echo "{\"executor\":\"external\",\"payload\":{\"i\":$i}}" >>"$tmp/many.ndjson"; done
curl -s --unix-socket "$sock" -H 'Content-Type: application/x-ndjson' \
	--data-binary @"$tmp/many.ndjson" http://x/jobs/batch >"$tmp/many.out"
last=$(grep -o '"job_id":"[0-9a-f]*"' "$tmp/many.out" | tail -1 | cut -d'"' -f4)
wait_until 20 ended "$last"
many_ok() {
	[ "$(curl -s --unix-socket "$sock" "http://x/executions?worker_id=$(worker_id e)&status=succeeded&limit=1000" |
		grep -o '"result":{"i":[0-9]*}' | sort -u | wc -l)" = 100 ]
}
check "--echo, 100 jobs on 1 cpu claimed with their predecessors' completions: all succeeded" \
	wait_until 10 many_ok
we=$(worker_id e)
req DELETE "/workers/$we"
check "a worker removed by the server ..." [ "$code" = 200 ]
wait_until 10 bash -c "ids=\$(curl -s --unix-socket $sock http://x/workers | grep -o '\"worker_id\":\"w[0-9]*\",\"name\":\"e\"'); [ -n \"\$ids\" ] && ! grep -q '\"$we\"' <<<\"\$ids\""
new_e=$(worker_id e)
check "... registers again under a new id ($we, then $new_e)" [ -n "$new_e" -a "$new_e" != "$we" ]
submit '{"executor":"external","payload":{"n":8}}'
wait_until 10 ended "$jid"
check "... and goes on running jobs" status_is "$jid" succeeded
kill -TERM "$wpid"
wait_until 10 dead "$wpid"

# --- kill -9 of the worker mid-job: retried by another -------------------------------------
start_worker k9 --cpus 1
wait_until 10 registered k9
k9=$wpid
submit "{\"executor\":\"external\",\"max_retries\":1,\"command\":[\"sh\",\"-c\",\"echo \$\$ >>$tmp/r; sleep 1\"]}"
j_r=$jid
wait_until 5 bash -c "[ -s $tmp/r ]"
kill -9 "$k9"
kill -9 "$(head -1 "$tmp/r")" 2>/dev/null	# its orphan: the node is gone
start_worker b --cpus 1
wait_until 10 ended "$j_r"
req GET "/jobs/$j_r"
check "killed worker's job retried and succeeded" [ "$(field status)/$(field attempts)" = succeeded/2 ]
req GET "/executions/01${j_r:2}"
check "... its first attempt lost with the worker" [ "$(field reason)" = worker_lost ]

# --- the daemon restarted while the worker runs a job --------------------------------------
wb=$wpid
submit "{\"executor\":\"external\",\"command\":[\"sh\",\"-c\",\"echo \$\$ >>$tmp/rs; sleep 3\"]}"
j_rs=$jid
wait_until 5 bash -c "[ -s $tmp/rs ]"
first_pid=$(head -1 "$tmp/rs")
stop_daemon
sleep 0.5
check "the worker survives the server's stop" alive "$wb"
check "... and so does its job" alive "$first_pid"
start_daemon --no-keeper --no-cgroups --sync none --heartbeat-timeout 2s
wait_until 10 ended "$j_rs"
check "the job ends succeeded after the restart" status_is "$j_rs" succeeded
check "... run once: the daemon kept the worker's execution (ran $(wc -l <"$tmp/rs") times)" \
	[ "$(wc -l <"$tmp/rs")" = 1 ]
submit '{"executor":"external","command":["true"]}'
wait_until 10 ended "$jid"
check "the worker claims again after the restart" status_is "$jid" succeeded
check "... still registered" registered b
kill -TERM "$wb"
wait_until 10 dead "$wb"

# --- --on-server-lost=kill ----------------------------------------------------------------
start_worker lk --cpus 1 --on-server-lost=kill --lost-after 1s
lk=$wpid
wait_until 10 registered lk
submit "{\"executor\":\"external\",\"command\":[\"sh\",\"-c\",\"echo \$\$ >$tmp/lk; sleep 30\"]}"
wait_until 5 pid_in "$tmp/lk"
stop_daemon KILL
ticks0=$(cpu_ticks "$lk")
wait_until 6 pid_gone "$tmp/lk"
sleep 0.5
ticks1=$(cpu_ticks "$lk")
check "no server: the worker backs off (it used $((ticks1 - ticks0)) ticks of CPU)" [ $((ticks1 - ticks0)) -lt 40 ]
check "--on-server-lost=kill: the job killed once the server is lost" pid_gone "$tmp/lk"
check "... the worker itself waits for the server" alive "$lk"
start_daemon --no-keeper --no-cgroups --sync none --heartbeat-timeout 2s
req PUT "/jobs/$jid/cancel"	# run again after the restart, else
kill -INT "$lk"
wait_until 10 dead "$lk"

# --- SIGTERM drains, SIGINT kills, --idle-timeout ------------------------------------------
start_worker st --cpus 1
st=$wpid
wait_until 10 registered st
wst=$(worker_id st)
submit "{\"executor\":\"external\",\"command\":[\"sh\",\"-c\",\"echo \$\$ >$tmp/st; sleep 2\"]}"
j_st=$jid
wait_until 5 pid_in "$tmp/st"
kill -TERM "$st"
sleep 0.3
check "SIGTERM: the worker waits for its job" alive "$st"
wait_until 10 dead "$st"
check "... which succeeded" status_is "$j_st" succeeded
req GET "/workers/$wst"
check "... then it unregistered" [ "$code" = 404 ]

start_worker si --cpus 1
si=$wpid
wait_until 10 registered si
submit "{\"executor\":\"external\",\"max_retries\":1,\"command\":[\"sh\",\"-c\",\"echo \$\$ >$tmp/si; sleep 30\"]}"
j_si=$jid
wait_until 5 pid_in "$tmp/si"
kill -INT "$si"
wait_until 5 dead "$si"
check "SIGINT: the worker leaves at once" dead "$si"
check "... killing its job" pid_gone "$tmp/si"
req GET "/executions/01${j_si:2}"
check "... which is lost with it (to be retried)" [ "$(field reason)" = worker_lost ]
req PUT "/jobs/$j_si/cancel"

start_worker idle --cpus 1 --idle-timeout 1s
idle=$wpid
wait_until 10 registered idle
wait_until 6 dead "$idle"
check "--idle-timeout: exits" dead "$idle"
check "... unregistered" not registered idle
wait "$idle"
check "... with status 0" [ $? = 0 ]

# --- a cgroup per job where the worker can make one ----------------------------------------
"$worker" --server "$sock" --name cg --output-dir "$out" --heartbeat 300ms --cpus 1 2>>"$tmp/cg.log" &
cgw=$!
pids+=("$cgw")
wait_until 10 registered cg
submit '{"executor":"external","command":["sh","-c","grep ^0:: /proc/self/cgroup"]}'
wait_until 10 ended "$jid"
if grep -q 'no cgroups' "$tmp/cg.log"; then
	echo "   (cgroup per job SKIPPED: $(grep -o 'no cgroups.*' "$tmp/cg.log" | head -1))"
else
	check "the job ran in a cgroup of its own under the worker's" \
		grep -q "/jobring-worker-$cgw/job-" "$out/$jid.out"
	cgdir=$(sed -n 's|^0::\(/jobring-worker-[0-9]*\)/.*|\1|p' "$out/$jid.out")
fi
kill -TERM "$cgw"
wait_until 10 dead "$cgw"
if [ -n "${cgdir:-}" ]; then
	check "... and the worker's cgroups are removed as it ends" \
		not bash -c "ls -d /sys/fs/cgroup$cgdir /sys/fs/cgroup/unified$cgdir 2>/dev/null | grep -q ."
fi

# --- --output-stream: output sent back to the daemon, no shared directory -------------------
spool="$tmp/spool"
"$worker" --server "$sock" --name streamer --output-dir "$spool" --output-stream --no-cgroups \
	--heartbeat 300ms --cpus 1 2>>"$tmp/streamer.log" &
sw=$!
pids+=("$sw")
wait_until 10 registered streamer
head -c 700000 /dev/urandom >"$tmp/blob"	# three chunks, bytes of every value
submit "{\"executor\":\"external\",\"command\":[\"sh\",\"-c\",\"echo first; sleep 1.5; cat $tmp/blob; echo oops >&2\"]}"
j_st=$jid
first_seen() { req GET "/jobs/$j_st/logs?stream=stdout"; grep -q '"data":"first' <<<"$body"; }
check "--output-stream: output shows while the job runs" wait_until 10 first_seen
wait_until 15 ended "$j_st"
req GET "/jobs/$j_st"
check "... the job succeeded ($(field status))" [ "$(field status)" = succeeded ]
{ echo first; cat "$tmp/blob"; } | cmp -s - "$out/$j_st.out"
check "... its stdout is whole in the daemon's directory, byte for byte" [ $? = 0 ]
check "... and its stderr" [ "$(cat "$out/$j_st.err" 2>/dev/null)" = oops ]
check "... the worker's spool is emptied" [ ! -e "$spool/$j_st.out" ]
submit "{\"executor\":\"external\",\"max_retries\":1,\"command\":[\"sh\",\"-c\",\"if [ ! -e $tmp/once ]; then touch $tmp/once; echo one; exit 1; fi; echo two\"]}"
wait_until 15 ended "$jid"
check "a retried job's streamed output is its last attempt's" [ "$(cat "$out/$jid.out")" = two ]
check "... the first attempt's kept under its execution id" \
	[ "$(cat "$out/01${jid:2}.out" 2>/dev/null)" = one ]
req POST "/executions/02${jid:2}/output" '{"lease":"x","stream":"stdout","offset":0,"data":"AAAA"}'
check "a chunk without the execution's lease: 403 ($code $body)" [ "$code" = 403 ]
check "... and the output is untouched" [ "$(cat "$out/$jid.out")" = two ]
req POST "/executions/01${jid:2}/output" '{"lease":"x","stream":"stdout","offset":0,"data":"AAAA"}'
check "a chunk for an attempt that is not the current one: 409 ($code)" [ "$code" = 409 ]
kill -TERM "$sw"
wait_until 10 dead "$sw"

# --- a lost worker's free retry is still counted after a restart -----------------------------
# max_retries 1: attempt 1's worker is killed (worker_lost: a free retry),
# the daemon restarts, attempt 2 fails: its one real retry is left, so
# attempt 3 runs (and succeeds). Forgetting the lost worker across the
# restart would count attempt 2's failure as the second retry and fail it.
m="$tmp/lostmark"
submit "{\"executor\":\"external\",\"max_retries\":1,\"retry_backoff\":\"100ms\",\"requirements\":{\"capabilities\":[\"lostcap\"]},\"command\":[\"sh\",\"-c\",\"[ -e $m.2 ] && exit 0; [ -e $m.1 ] && { touch $m.2; exit 1; }; echo \$\$ >$m.1; sleep 60\"]}"
j_lost=$jid
start_worker lost1 --cpus 1 --capabilities lostcap
l1=$wpid
wait_until 10 bash -c "[ -s $m.1 ]"
kill -9 "$l1"
kill -9 "$(cat "$m.1")" 2>/dev/null
attempt_is() { req GET "/jobs/$1"; field_is attempts "$2" && field_is status queued; }
check "the lost worker's job is queued again (attempt 1 lost)" wait_until 15 attempt_is "$j_lost" 1
stop_daemon
start_daemon --no-keeper --no-cgroups --sync none --heartbeat-timeout 2s
start_worker lost2 --cpus 1 --capabilities lostcap
wait_until 20 ended "$j_lost"
req GET "/jobs/$j_lost"
check "after a restart the free retry still counts: attempt 2 failed, 3 succeeded ($(field status)/$(field attempts))" \
	[ "$(field status)/$(field attempts)" = succeeded/3 ]
kill -TERM "$wpid"

"$worker" --cpus 0 2>/dev/null
check "--cpus 0: usage error 2" [ $? = 2 ]
"$worker" --server "$tmp/none.sock" --lost-after 300ms 2>/dev/null
check "no server: exit 1" [ $? = 1 ]

stop_daemon
echo "test_worker: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
