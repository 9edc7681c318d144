#!/usr/bin/env bash
# bench/reattach.sh - external workers across kill -9 of jobringd (issue 17,
# item 5), the daemon's side: N workers (curl, 8 requests in flight) each
# claim one external job; the daemon is killed (-9) once every start is
# journaled and started again; then every worker heartbeats and completes
# its execution with the lease it had. Prints the daemon's recovery, the
# time from the kill until all N heartbeats were answered and until all N
# completions were, and checks that every job succeeded at attempt 1 (none
# lost, none run twice). Not a worker program's reconnect: curl stands in.
# Usage: bench/reattach.sh BUILD_DIR [N]   (N: 1000)
set -u
build=${1:-build/release}
n=${2:-1000}
daemon="$build/jobringd"
tmp=$(mktemp -d /tmp/jr-bench-reattach-XXXXXX)
sock="$tmp/s.sock"
. "$(dirname "$0")/../tests/lib.sh"
opts=(--no-keeper --no-cgroups --capacity 65536 --heartbeat-timeout 300 --max-workers 65536)
ms() { date +%s%3N; }

# batch METHOD PATH_WITH_@ BODY_FILE_PREFIX|"" : N requests, @ = 1..N; bodies
# from PREFIX.i when given; answers in $tmp/out/i, codes in $tmp/codes.
batch() {
	local method=$1 path=$2 bodies=$3 i
	mkdir -p "$tmp/out"
	for i in $(seq 1 "$n"); do
		[ "$i" = 1 ] || echo next
		echo "url = \"http://x${path//@/$i}\""
		echo "request = \"$method\""
		if [ -n "$bodies" ]; then
			echo "data = \"@$bodies.$i\""
			echo 'header = "Content-Type: application/json"'
		fi
		echo "unix-socket = \"$sock\""
		echo "output = \"$tmp/out/$i\""
		echo 'write-out = "%{http_code}\n"'
	done >"$tmp/batch.cfg"
	curl -s -Z --parallel-max 8 -K "$tmp/batch.cfg" >"$tmp/codes" 2>/dev/null
}
all_ok() { [ "$(grep -c "^$1\$" "$tmp/codes")" = "$n" ]; }
starts() { "$build/jobring-journal" dump "$tmp/state" 2>/dev/null | grep -c "^.*start "; }

start_daemon "${opts[@]}"
printf '{"name":"bench"}' >"$tmp/reg"
for i in $(seq 1 "$n"); do cp "$tmp/reg" "$tmp/reg.$i"; done
batch POST /workers/register "$tmp/reg"; all_ok 201 || { echo "register failed"; exit 1; }
printf '{"executor":"external","command":["true"]}' >"$tmp/job"
for i in $(seq 1 "$n"); do cp "$tmp/job" "$tmp/job.$i"; done
batch POST /jobs "$tmp/job"; all_ok 201 || { echo "submit failed"; exit 1; }
batch POST "/workers/w@/claim?wait=30" ""; all_ok 200 || { echo "claim failed: $(sort "$tmp/codes" | uniq -c | tr "\n" " ")"; exit 1; }
for i in $(seq 1 "$n"); do
	body=$(cat "$tmp/out/$i")
	exec_id=$(printf '%s' "$body" | grep -o '"execution_id":"[0-9a-f]*"' | head -1 | cut -d'"' -f4)
	lease=$(printf '%s' "$body" | grep -o '"lease":"[0-9a-f]*"' | cut -d'"' -f4)
	echo "$exec_id" >"$tmp/exec.$i"
	printf '{"status":"succeeded","lease":"%s"}' "$lease" >"$tmp/done.$i"
done
wait_until 60 eval '[ "$(starts)" -ge "$n" ]' || { echo "starts not journaled"; exit 1; }

stop_daemon KILL
t0=$(ms)
start_daemon "${opts[@]}"
t_up=$(ms)
batch POST "/workers/w@/heartbeat" ""
t_hb=$(ms)
all_ok 200 || echo "heartbeats: $(sort "$tmp/codes" | uniq -c | tr '\n' ' ')"
# the completions: one config with each worker's own execution
for i in $(seq 1 "$n"); do
	[ "$i" = 1 ] || echo next
	echo "url = \"http://x/executions/$(cat "$tmp/exec.$i")/complete\""
	echo 'request = "POST"'
	echo "data = \"@$tmp/done.$i\""
	echo 'header = "Content-Type: application/json"'
	echo "unix-socket = \"$sock\""
	echo 'output = "/dev/null"'
	echo 'write-out = "%{http_code}\n"'
done >"$tmp/done.cfg"
curl -s -Z --parallel-max 8 -K "$tmp/done.cfg" >"$tmp/codes" 2>/dev/null
t_done=$(ms)
ok=$(grep -c '^200$' "$tmp/codes")
curl -s -Z --parallel-max 8 -K "$tmp/done.cfg" >"$tmp/codes2" 2>/dev/null
twice=$(grep -c '^409$' "$tmp/codes2")
req GET "/jobs?status=succeeded&limit=1000"
succeeded=$(grep -o '"attempts":1,' <<<"$body" | wc -l)
grep 'recovered' "$tmp/daemon.log" | tail -1 | sed 's/^jobringd [^ ]* /daemon: /'
echo "N=$n workers: daemon answering $((t_up - t0)) ms after kill -9 (recovery included);" \
	"all $n heartbeats answered at $((t_hb - t0)) ms; all completions at $((t_done - t0)) ms"
echo "completions with the old lease: $ok/$n accepted; sent again: $twice/$n refused (409);" \
	"jobs succeeded at attempt 1 (first page, at most 1000): $succeeded"
stop_daemon TERM
[ "$ok" = "$n" ] && [ "$twice" = "$n" ]
