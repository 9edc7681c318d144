#!/usr/bin/env bash
# test_keeper.sh - running jobs outlive the daemon: 200 running jobs go
# through kill -9 of jobringd (the living ones keep their pid and attempt
# and end with their real exit codes; those that ended meanwhile show
# their real exit codes and end times); processes that left their session
# die on cancel, on timeout and when their job ends; SIGTERM leaves jobs
# running, a drain lets them finish or cancels them after the grace; a
# retry's backoff and a delayed start survive a restart; a keeper killed
# under the daemon is replaced and the job it ran is found again.
# With JR_DAEMON_ARGS=--no-cgroups the same runs on process groups (the
# cgroup-only checks say they are skipped).
# Usage: tests/test_keeper.sh BUILD_DIR
set -u
build=${1:-build/debug}
daemon="$build/jobringd"
cli="$build/jobring"
tmp=$(mktemp -d /tmp/jr-keeper-XXXXXX)
chmod 755 "$tmp"
sock="$tmp/s.sock"
. "$(dirname "$0")/lib.sh"

cgroups=1
case "${JR_DAEMON_ARGS:-}" in *--no-cgroups*) cgroups=0 ;; esac
wide="package:1 core:256 pu:1"	# a modelled host: 200 jobs at once

out() { cat "$tmp/state/output/$1.out" 2>/dev/null; }
alive() { [ -d "/proc/$1" ] && ! grep -q '^State:.*Z' "/proc/$1/status" 2>/dev/null; }
health_field() { req GET /health; field "$1"; }
running_is() { [ "$(health_field running)" = "$1" ]; }
ids_of() { printf '%s' "$1" | grep -o '"[0-9a-f]\{16\}"' | tr -d '"'; }
epoch_ms() { date -d "$1" +%s%3N; }
# Conditions wait_until can evaluate again and again.
has_escapee() { test -n "$(escapee "$1")"; }
status_is() { req GET "/jobs/$1"; field_is status "$2"; }
attempts_is() { req GET "/jobs/$1"; field_is attempts "$2"; }
new_keeper() { local p; p=$(keeper_pid); [ -n "$p" ] && [ "$p" != "$1" ]; }

# --- 200 running jobs through kill -9 ----------------------------------------------------------
start_daemon --topology "$wide"
: >"$tmp/b200"
# The jobs wait for the test, not for a time (on a loaded host a fixed sleep
# ran out before the restart, or before the kill): released, the short
# FIFO ends the 50 short ones during the outage, the long one the 150
# others after the checks. Blocked opening a FIFO, a job costs no CPU
# (200 jobs polling for a file with sleep(1) forked thousands of times).
wait_for() { echo "echo pid \$\$; i=0; while [ ! -e $tmp/$1 ] && [ \$i -lt $((300 / $2)) ]; do sleep $2; i=\$((i + 1)); done"; }
mkfifo "$tmp/short.fifo" "$tmp/long.fifo"
blocked_on() { echo "echo pid \$\$; read x <$tmp/$1.fifo || :"; }
# release NAME: every job blocked on NAME's FIFO goes on (an open for
# writing wakes them; closed, their read ends).
release() { local fd; exec {fd}<>"$tmp/$1.fifo"; exec {fd}>&-; }
for i in $(seq 0 199); do
	case $((i % 4)) in
	0) echo "{\"command\":[\"sh\",\"-c\",\"$(blocked_on short); exit 3\"]}" ;;	# ends during the outage
	1) echo "{\"command\":[\"sh\",\"-c\",\"$(blocked_on long); exit 4\"]}" ;;
	*) echo "{\"command\":[\"sh\",\"-c\",\"$(blocked_on long)\"],\"timeout\":\"1h\"}" ;;
	esac
done >"$tmp/b200"
body=$(curl -s --unix-socket "$sock" -X POST --data-binary @"$tmp/b200" http://x/jobs/batch)
mapfile -t ids < <(ids_of "$body")
check "200 jobs accepted" [ "${#ids[@]}" = 200 ]
check "all 200 running (/health counts command jobs)" wait_until 20 running_is 200
pids_written() { [ "$(grep -l '^pid ' "$tmp"/state/output/*.out 2>/dev/null | wc -l)" -ge "$1" ]; }
check "all 200 wrote their pid" wait_until 20 pids_written 200
declare -A pid0
# One grep for all 200 (a fork per job took seconds on a loaded machine:
# the 4 s jobs then ended before the kill).
while IFS=: read -r f line; do
	id=${f##*/}
	pid0[${id%.out}]=${line#pid }
done < <(grep -H '^pid ' "$tmp"/state/output/*.out)
killed_ms=$(date +%s%3N)
stop_daemon KILL
release short
sleep 3	# the short ones end meanwhile
alive_after=0
for id in "${ids[@]}"; do alive "${pid0[$id]:-0}" && alive_after=$((alive_after + 1)); done
check "kill -9 of jobringd kills no job (150 still run, 50 ended)" [ "$alive_after" = 150 ]
restart_ms=$(date +%s%3N)
start_daemon --topology "$wide"
bad_short=0 bad_long=0
# The 200 read in one listing (a request per job took longer than the
# long jobs have left on a loaded machine).
declare -A st
while read -r id status code attempts end; do
	st[$id]="$status $code $attempts $end"
done < <(curl -s --unix-socket "$sock" "http://x/jobs?limit=1000" |
	jq -r '.jobs[] | "\(.job_id) \(.status) \(.exit_code // "-") \(.attempts) \(.end_time // "-")"')
for i in "${!ids[@]}"; do
	id=${ids[$i]}
	read -r status code attempts end <<<"${st[$id]:-none - - -}"
	if [ $((i % 4)) = 0 ]; then
		end=$(epoch_ms "$end" 2>/dev/null || echo 0)
		[ "$status" = failed ] && [ "$code" = 3 ] && [ "$attempts" = 1 ] &&
			[ "$end" -gt "$killed_ms" ] && [ "$end" -lt "$restart_ms" ] ||
			bad_short=$((bad_short + 1))
	else
		[ "$status" = running ] && [ "$attempts" = 1 ] && alive "${pid0[$id]:-0}" ||
			bad_long=$((bad_long + 1))
	fi
done
check "the 50 that ended meanwhile: their real exit code (3) and end time" [ "$bad_short" = 0 ]
check "the 150 still running: taken back, same attempt, same pid ($bad_long not)" [ "$bad_long" = 0 ]
check "/health says 150 running" running_is 150
grep -q '200 of them running when the daemon stopped: 150 taken back, 50 had ended meanwhile, 0 lost' \
	"$tmp/daemon.log"
check "the log says what was taken back" [ $? = 0 ]
release long
check "all end" wait_until 40 running_is 0
bad=0
for i in "${!ids[@]}"; do
	id=${ids[$i]}
	[ $((i % 4)) = 0 ] && continue
	req GET "/jobs/$id"
	want=succeeded code=0
	[ $((i % 4)) = 1 ] && want=failed code=4
	[ "$(field status)" = "$want" ] && [ "$(field exit_code)" = "$code" ] &&
		[ "$(field attempts)" = 1 ] && [ "$(out "$id" | grep -c '^pid')" = 1 ] ||
		bad=$((bad + 1))
done
check "the taken-back ones end with their real exit codes, each run once" [ "$bad" = 0 ]

# --- processes that leave their session --------------------------------------------------------
escapee() { sed -n 's/^escapee //p' "$tmp/state/output/$1.out" 2>/dev/null; }
esc_job() {	# esc_job JSON-FIELDS: a job whose grandchild calls setsid
	req POST /jobs "{\"command\":[\"sh\",\"-c\",\"setsid sleep 131 & echo escapee \$!; $1\"]$2}"
	field job_id
}
escapee_dies() {	# escapee_dies ID
	local e
	wait_until 10 has_escapee "$1" || return 1
	e=$(escapee "$1")
	wait_until 10 not alive "$e"
}
if [ "$cgroups" = 1 ]; then
	id=$(esc_job "sleep 100" "")
	wait_status "$id" running
	wait_until 10 has_escapee "$id"
	req PUT "/jobs/$id/cancel"
	check "cancel: the process that left the session dies too" escapee_dies "$id"
	id=$(esc_job "sleep 100" ',"timeout":"1s"')
	check "time limit: the process that left the session dies too" escapee_dies "$id"
	wait_status "$id" failed
	req GET "/jobs/$id"
	check "... and the job ended by its time limit" [ "$(field reason)" = timeout ]
	id=$(esc_job "exit 0" "")
	wait_status "$id" succeeded
	check "the job's end: what it left behind dies" escapee_dies "$id"
	req GET /health
	check "/health: cgroups in use, and which controllers" grep -q '"cgroups":{"enabled":true' <<<"$body"
else
	echo "SKIP: processes that leave their session: they escape without cgroups (--no-cgroups)"
	req GET /health
	check "/health: no cgroups, and why" grep -q '"cgroups":{"enabled":false,"controllers":\[\],"note":"cgroups disabled' <<<"$body"
fi
stop_daemon KILL

# --- SIGTERM leaves jobs running; a drain does not --------------------------------------------
remove_state
start_daemon --workers 1
req POST /jobs "{\"command\":[\"sh\",\"-c\",\"$(wait_for go-long 1); exit 7\"]}"
long=$(field job_id)
wait_status "$long" running
sleep 0.3
p=$(out "$long" | sed -n 's/^pid //p')
t0=$(date +%s%3N)
stop_daemon TERM
t1=$(date +%s%3N)
# "At once": well before the job's end, which waits for $tmp/go-long (up to
# 300 s); a loaded host took 4 s to stop.
check "SIGTERM stops the daemon at once ($((t1 - t0)) ms)" [ $((t1 - t0)) -lt 15000 ]
check "... and leaves the running job running" alive "$p"
start_daemon --workers 1
req GET "/jobs/$long"
check "... which the next start takes back" [ "$(field status)" = running ]
touch "$tmp/go-long"
check "... and which ends with its own exit code" wait_status "$long" failed
req GET "/jobs/$long"
check "... 7, first attempt" [ "$(field exit_code)/$(field attempts)" = 7/1 ]

req POST /jobs "{\"command\":[\"sh\",\"-c\",\"$(wait_for go-first 1); echo done\"]}"
first=$(field job_id)
req POST /jobs '{"command":["true"],"name":"queued-behind"}'
queued=$(field job_id)	# --workers 1: waits for the first
wait_status "$first" running
kill -USR1 "$daemon_pid"
sleep 0.5
req GET /health
check "SIGUSR1 drains: /health says so" grep -q '"draining":true' <<<"$body"
req GET "/jobs/$queued"
check "a drain starts nothing new" [ "$(field status)" = queued ]
touch "$tmp/go-first"
wait "$daemon_pid"
check "the drain stops once nothing runs (exit 0)" [ $? = 0 ]
start_daemon --workers 1
req GET "/jobs/$first"
check "the running job finished during the drain" [ "$(field status)" = succeeded ]
check "the queued one runs at the next start" wait_status "$queued" succeeded

req POST /jobs '{"command":["sleep","60"]}'
slow=$(field job_id)
wait_status "$slow" running
"$cli" --socket "$sock" shutdown --drain --grace 1s >/dev/null
check "jobring shutdown --drain --grace 1s" [ $? = 0 ]
t0=$(date +%s%3N)
wait "$daemon_pid"
t1=$(date +%s%3N)
check "... stops once the grace is over ($((t1 - t0)) ms)" [ $((t1 - t0)) -lt 15000 ]
start_daemon --workers 1
req GET "/jobs/$slow"
check "... and cancels what still ran" [ "$(field status)" = cancelled ]
req POST /shutdown '{"drain":"yes"}'
check "POST /shutdown with a bad value: 422" [ "$code" = 422 ]
req POST /shutdown '{"drainn":true}'
check "POST /shutdown with an unknown field: 422" [ "$code" = 422 ]
stop_daemon KILL

# --- a retry's backoff and a delayed start survive a restart ----------------------------------
remove_state
start_daemon
req POST /jobs "{\"command\":[\"sh\",\"-c\",\"date +%s%3N >>$tmp/flaky; exit 1\"],\"max_retries\":1,\"retry_backoff\":\"6s\"}"
flaky=$(field job_id)
check "a failing job waits out its backoff" wait_until 10 status_is "$flaky" pending
at=$(date -u -d @$(($(date +%s) + 4)) +%Y-%m-%dT%H:%M:%SZ)
req POST /jobs "{\"command\":[\"true\"],\"scheduled_at\":\"$at\"}"
later=$(field job_id)
stop_daemon KILL
start_daemon
check "after kill -9, its second attempt runs" wait_status "$flaky" failed
req GET "/jobs/$flaky"
check "... as attempt 2" [ "$(field attempts)" = 2 ]
first=$(sed -n 1p "$tmp/flaky") second=$(sed -n 2p "$tmp/flaky")
check "... no earlier than half its 6 s backoff after the first ($((second - first)) ms)" \
	[ $((second - first)) -ge 3000 ]
wait_status "$later" succeeded
req GET "/jobs/$later"
check "the delayed job ran at its time, not at the restart" \
	[ "$(epoch_ms "$(field start_time)")" -ge "$(epoch_ms "$at")" ]
stop_daemon KILL

# --- a clean stop keeps a retry's attempt and a cancel not yet obeyed --------------------------
remove_state
start_daemon --kill-grace 2s
req POST /jobs "{\"command\":[\"sh\",\"-c\",\"echo run >>$tmp/twice; exit 3\"],\"max_retries\":1,\"retry_backoff\":\"3s\"}"
twice=$(field job_id)
check "a failing job waits out its backoff" wait_until 10 status_is "$twice" pending
check "... having made 1 attempt" attempts_is "$twice" 1
req POST /jobs '{"command":["sh","-c","trap \"\" TERM; echo started; sleep 30"]}'
stubborn=$(field job_id)	# ignores SIGTERM: a cancel waits for its kill
wait_status "$stubborn" running
req POST "/jobs/$stubborn/cancel"
check "a cancel of a job that ignores SIGTERM: 200" [ "$code" = 200 ]
stop_daemon TERM	# its snapshot holds both jobs
start_daemon --kill-grace 2s
check "after SIGTERM, the retry runs once more" wait_status "$twice" failed
req GET "/jobs/$twice"
check "... as attempt 2, two runs in all ($(grep -c run "$tmp/twice"))" \
	[ "$(field attempts)/$(grep -c run "$tmp/twice")" = 2/2 ]
check "the cancel acknowledged before the stop is obeyed after it" \
	wait_until 15 status_is "$stubborn" cancelled
check "... its only run killed, not run again" [ "$(out "$stubborn" | grep -c started)" = 1 ]
stop_daemon KILL

# --- descriptor limits: the keeper's raised, a job's as it was ------------------------------------
remove_state
soft=$(ulimit -Sn)
ulimit -Sn 1000
start_daemon
ulimit -Sn "$soft"
req POST /jobs '{"command":["sh","-c","ulimit -Sn"]}'
id=$(field job_id)
wait_status "$id" succeeded
check "a job gets the soft descriptor limit the daemon was started with ($(out "$id"))" \
	[ "$(out "$id")" = 1000 ]
kp=$(keeper_pid)
check "the keeper raised its own (it holds descriptors for each running job)" \
	[ "$(awk '/open files/ {print $4}' "/proc/$kp/limits")" -gt 1000 ]
stop_daemon KILL

# --- the keeper killed under a running daemon ----------------------------------------------------
remove_state
start_daemon
req POST /jobs '{"command":["sh","-c","echo run; sleep 2"]}'
id=$(field job_id)
wait_status "$id" running
old=$(keeper_pid)
kill -9 "$old"
if [ "$cgroups" = 1 ]; then
	check "a new keeper finds the job in its cgroup; it ends, its status lost: run again" \
		wait_until 20 attempts_is "$id" 2
	check "... and succeeds" wait_status "$id" succeeded
	check "... by its second run only (no two at once)" [ "$(out "$id" | grep -c run)" -le 2 ]
else
	echo "SKIP: a job found again by its cgroup after the keeper died (--no-cgroups)"
	wait_until 20 status_is "$id" succeeded
fi
check "a new keeper runs" wait_until 10 new_keeper "$old"
grep -q 'the keeper (pid [0-9]*) is gone; starting another' "$tmp/daemon.log"
check "the log says the keeper was replaced" [ $? = 0 ]

# --- the state directory deleted under a keeper that holds jobs ----------------------------
# Nobody can collect them: the keeper kills them and leaves, its cgroups with it.
req GET /health
cg_path=$(printf '%s' "$body" | grep -o '"path":"[^"]*"' | head -1 | sed 's/"path":"//; s/"$//')
last=()
for _ in 1 2; do	# a core each: this host may have only 2
	req POST /jobs '{"command":["sh","-c","setsid sleep 300 & sleep 300"]}'
	last+=("$(field job_id)")
done
for id in "${last[@]}"; do check "job $id running" wait_until 20 status_is "$id" running; done
keeper=$(keeper_pid)
stop_daemon KILL
rm -rf "$tmp/state"
keeper_gone() { ! alive "$keeper"; }
check "the keeper leaves when its state directory is deleted" wait_until 15 keeper_gone
if [ "$cgroups" = 1 ] && [ -n "$cg_path" ]; then
	# Its jobs' cgroups go once their processes are gone (up to 5 s on
	# a loaded machine), then the subtree's.
	cgroup_gone() { [ ! -e "$cg_path" ]; }
	check "... and leaves no cgroup behind ($cg_path)" wait_until 15 cgroup_gone ||
		{ find "$cg_path" -name cgroup.procs -exec sh -c 'echo "$1: $(cat "$1" | tr "\n" " ")"' _ {} \; ; }
fi

echo "test_keeper: $pass passed, $fail failed"
[ "$fail" = 0 ]
