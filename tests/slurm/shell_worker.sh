#!/usr/bin/env bash
# shell_worker.sh - a stand-in for jobring-worker in tests/test_slurm.sh
# (until jobring-worker is there; JR_ALLOC_WORKER or an allocation
# queue's worker_command names it): the same command line
# (--server SOCKET --idle-timeout S; other options ignored). Registers,
# claims (long poll, 1 s), runs each job's command with its environment
# plus the allocation's, completes it with its lease, and leaves
# (DELETE /workers/ID) once idle S seconds. Unix socket only; needs curl
# and jq. Appends "registered NAME" / "left NAME" lines to
# $JR_SHELL_WORKER_LOG if set.
set -u
server="" idle=300
while [ $# -gt 0 ]; do
	case $1 in
	--server) server=$2; shift 2 ;;
	--idle-timeout) idle=$2; shift 2 ;;
	--*=*) shift ;;
	*) shift 2 ;;
	esac
done
name="slurm-${SLURM_JOB_ID:-0}-${SLURMD_NODENAME:-$(hostname -s)}"
call() {	# call METHOD PATH [BODY]: sets $body and $code
	local out
	out=$(curl -s -w '\n%{http_code}' --unix-socket "$server" -X "$1" \
		-H 'Content-Type: application/json' ${3:+--data-binary "$3"} "http://jobring$2")
	code=${out##*$'\n'}
	body=${out%$'\n'*}
}
log() { [ -n "${JR_SHELL_WORKER_LOG:-}" ] && echo "$*" >>"$JR_SHELL_WORKER_LOG"; return 0; }

# The daemon may be restarting: retried for 30 s, as a worker reconnects.
for _ in $(seq 60); do
	call POST /workers/register "{\"name\":\"$name\",\"resources\":{\"cpus\":1}}"
	[ "$code" = 201 ] && break
	sleep 0.5
done
wid=$(jq -r .worker_id <<<"$body")
[ "$code" = 201 ] && [ -n "$wid" ] || { echo "register: $code $body" >&2; exit 1; }
log "registered $name $wid"
last=$SECONDS
while [ $((SECONDS - last)) -lt "$idle" ]; do
	call POST "/workers/$wid/claim?wait=1"
	[ "$code" = 200 ] || { [ "$code" = 204 ] && continue; sleep 0.5; continue; }
	eid=$(jq -r .execution_id <<<"$body")
	lease=$(jq -r .lease <<<"$body")
	mapfile -t cmd < <(jq -r '.job.command[]' <<<"$body")
	rc=0
	(cd "$(jq -r '.job.cwd // "/"' <<<"$body")" && "${cmd[@]}") </dev/null || rc=$?
	st=succeeded; [ "$rc" = 0 ] || st=failed
	call POST "/executions/$eid/complete" \
		"{\"status\":\"$st\",\"exit_code\":$rc,\"lease\":\"$lease\"}"
	last=$SECONDS
done
call DELETE "/workers/$wid"
log "left $name $wid"
