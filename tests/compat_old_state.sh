#!/usr/bin/env bash
# compat_old_state.sh - state written by the previous jobringd (commit
# 0383363, worker ids of 16 bits: 32,767 workers, jobs done on w32767..,
# a retry, a removal, a snapshot and journal records after it, kill -9)
# is recovered by this one as the old one showed it, then written and
# recovered again. Run by hand (it needs the old build):
#   git archive 0383363 | tar -x -C /tmp/jr-old && make -C /tmp/jr-old MODE=debug \
#     BUILD=build/debug build/debug/jobringd
#   bash tests/compat_old_state.sh /tmp/jr-old/build/debug build/debug
set -u
old=$1 new=$2
tmp=$(mktemp -d /tmp/jr-compat-XXXXXX)
chmod 755 "$tmp"
sock="$tmp/s.sock"
daemon="$old/jobringd"
. "$(dirname "$0")/lib.sh"
submit() { req POST /jobs "$1"; jid=$(field job_id); }
claim() { req POST "/workers/$1/claim?wait=${2:-0}"; }
complete() { req POST "/executions/$1/complete" "{\"status\":\"$3\",\"lease\":\"$2\"}"; }
batch() {
	local method=$1 path=$2 first=$3 last=$4 data=${5:-} i
	for i in $(seq "$first" "$last"); do
		[ "$i" = "$first" ] || echo next
		echo "url = \"http://x${path//@/$i}\""; echo "request = \"$method\""
		[ -n "$data" ] && { echo "data = \"$data\""; echo 'header = "Content-Type: application/json"'; }
		echo "unix-socket = \"$sock\""; echo 'output = "/dev/null"'; echo 'write-out = "%{http_code}\n"'
	done >"$tmp/batch.cfg"
	curl -s -Z --parallel-max 8 -K "$tmp/batch.cfg" >"$tmp/codes" 2>/dev/null
}
workers_listed() { curl -s --unix-socket "$sock" http://x/metrics | awk '/^jobring_external_workers\{/ { n += $2 } END { print n + 0 }'; }
snapped() { curl -s --unix-socket "$sock" http://x/metrics | grep -q '^jobring_snapshots_total [1-9]'; }

start_daemon --no-keeper --no-cgroups --sync none --heartbeat-timeout 300
batch POST /workers/register 1 32767 '{\"name\":\"old\"}'
check "old: 32767 registered" [ "$(grep -c '^201$' "$tmp/codes")" = 32767 ]
submit '{"executor":"external"}'; a=$jid	# done by w32767 before the snapshot
submit '{"executor":"external","max_retries":2}'; b=$jid	# failed once by w32766, then done by w32765 after
submit '{"executor":"external"}'; c=$jid	# running on w32764 at the kill
claim w32767 1; ea=$(field execution_id); complete "$ea" "$(field lease)" succeeded
claim w32766 1; eb1=$(field execution_id); complete "$eb1" "$(field lease)" failed
req DELETE /workers/w5
req POST /snapshot
check "old: snapshot" wait_until 20 snapped
claim w32765 1; eb2=$(field execution_id); complete "$eb2" "$(field lease)" succeeded
claim w32764 1; ec=$(field execution_id)
for j in $a $b $c; do req GET "/jobs/$j"; echo "old $j: $(field status) $(field worker_id) attempts=$(field attempts)"; done
for x in $ea $eb1 $eb2 $ec; do req GET "/executions/$x"; echo "old $x: $(field status) $(field worker_id)"; done
stop_daemon KILL

daemon="$new/jobringd"
start_daemon --no-keeper --no-cgroups --sync none --heartbeat-timeout 300
check "new: 32766 workers back" [ "$(workers_listed)" = 32766 ]
req GET /workers/w5; check "new: w5 stays removed" [ "$code" = 404 ]
req GET /workers/w32767; check "new: w32767 back" [ "$(field name)" = old ]
req GET "/jobs/$a"; check "new: $a succeeded on w32767" [ "$(field status)/$(field worker_id)" = succeeded/w32767 ]
req GET "/jobs/$b"; check "new: $b succeeded on w32765, attempt 2" [ "$(field status)/$(field worker_id)/$(field attempts)" = succeeded/w32765/2 ]
req GET "/jobs/$c"; echo "new $c: $(field status) $(field reason) $(field worker_id)"
req GET "/executions/$ea"; check "new: $ea on w32767" [ "$(field status)/$(field worker_id)" = succeeded/w32767 ]
req GET "/executions/$eb1"; check "new: $eb1 failed on w32766" [ "$(field status)/$(field worker_id)" = failed/w32766 ]
req GET "/executions/$eb2"; check "new: $eb2 on w32765" [ "$(field status)/$(field worker_id)" = succeeded/w32765 ]
req GET "/executions/$ec"; check "new: $ec was on w32764" [ "$(field worker_id)" = w32764 ]
req POST /workers/register '{"name":"new"}'; check "new: a new worker takes a fresh number" [ "$(field worker_id)" = w32768 ]
# w32768 (engine id 65,536: the new layout) runs a job after the old records
submit '{"executor":"external"}'; d=$jid
req POST /workers/w32767/heartbeat
claim w32767 1	# w32767 takes $c, run again after the kill
req GET "/jobs/$c"; check "new: $c again, on w32767" [ "$(field status)/$(field worker_id)" = running/w32767 ]
claim w32768 1; ed=$(field execution_id); complete "$ed" "$(field lease)" succeeded
req GET "/jobs/$d"; check "new: $d succeeded on w32768" [ "$(field status)/$(field worker_id)" = succeeded/w32768 ]
stop_daemon KILL
start_daemon --no-keeper --no-cgroups --sync none --heartbeat-timeout 300
req GET "/jobs/$d"; check "new, kill -9: $d on w32768 (journal, both layouts)" [ "$(field status)/$(field worker_id)" = succeeded/w32768 ]
req GET "/jobs/$a"; check "new, kill -9: $a still on w32767" [ "$(field worker_id)" = w32767 ]
# the new daemon writes a snapshot over the old state; and once more
req POST /snapshot; sleep 2
stop_daemon KILL
start_daemon --no-keeper --no-cgroups --sync none --heartbeat-timeout 300
req GET "/jobs/$b"; check "new, restarted: $b succeeded on w32765" [ "$(field status)/$(field worker_id)" = succeeded/w32765 ]
req GET "/executions/$ea"; check "new, restarted: $ea on w32767" [ "$(field worker_id)" = w32767 ]
req GET /workers/w32768; check "new, restarted: w32768 kept" [ "$(field name)" = new ]
req GET "/jobs/$d"; check "new, restarted: $d on w32768 (snapshot)" [ "$(field worker_id)" = w32768 ]
stop_daemon
echo "compat: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
