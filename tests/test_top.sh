#!/usr/bin/env bash
# test_top.sh - jobring top (issue 16) driven in a pseudo-terminal
# (python3's pty module): its screen shows the right counts (one running
# per core up to 3, 1 succeeded), the running jobs and the queues; `c` cancels the selected
# job (the first by id); `s` changes the sort; `q` quits. Without a
# terminal it prints plain lines (--iterations).
# Usage: tests/test_top.sh BUILD_DIR
set -u
build=${1:-build/debug}
build=$(cd "$build" && pwd)
daemon="$build/jobringd"
cli="$build/jobring"
tmp=$(mktemp -d /tmp/jr-top-XXXXXX)
sock="$tmp/s.sock"
. "$(dirname "$0")/lib.sh"
export JOBRING_SOCKET=$sock

start_daemon
req POST /jobs '{"command":["true"]}'
done_id=$(field job_id)
wait_status "$done_id" succeeded
req GET /health
n=$(field cores)	# one sleeper per core: all run at once
[ "$n" -gt 3 ] && n=3
ids=()
for _ in $(seq "$n"); do
	req POST /jobs '{"command":["sleep","60"],"name":"sleeper"}'
	ids+=("$(field job_id)")
done
for id in "${ids[@]}"; do wait_status "$id" running; done
first=$(printf '%s\n' "${ids[@]}" | sort | head -1)

# --- plain lines without a terminal ------------------------------------------------------------
out=$("$cli" top --interval 0.2 --iterations 2)
check "plain: two lines" [ "$(wc -l <<<"$out")" = 2 ]
check "plain: counts" grep -q "running=$n succeeded=1" <<<"$out"

# --- the screen in a pty ----------------------------------------------------------------------------
python3 - "$cli" "$tmp/screen" <<'PY'
import os, pty, sys, time, select
cli, out = sys.argv[1], sys.argv[2]
pid, fd = pty.fork()
if pid == 0:
    os.execv(cli, [cli, "top", "--interval", "0.3"])
def read_for(sec):
    data = b""
    end = time.time() + sec
    while time.time() < end:
        r, _, _ = select.select([fd], [], [], 0.1)
        if r:
            try:
                data += os.read(fd, 65536)
            except OSError:
                break
    return data.decode(errors="replace")
first = read_for(1.5)
os.write(fd, b"c")
after = read_for(1.5)
os.write(fd, b"s")
sorted_ = read_for(1.0)
os.write(fd, b"q")
rest = read_for(1.0)
_, status = os.waitpid(pid, 0)
with open(out, "w") as f:
    f.write(first + "\n=====CANCEL\n" + after + "\n=====SORT\n" + sorted_ +
            "\n=====EXIT %d\n" % os.waitstatus_to_exitcode(status))
PY
screen=$(sed -n '1,/^=====CANCEL/p' "$tmp/screen")
check "screen: counts" grep -q "running: $n  succeeded: 1" <<<"$screen"
check "screen: the running jobs" grep -q "${ids[0]}  *sleeper" <<<"$screen"
check "screen: selected row in reverse video" grep -q $'\033\\[7m'"$first" <<<"$screen"
check "screen: NUMA bars" grep -q "node0 cores \[" <<<"$screen"
check "screen: queues" grep -q "queues: default" <<<"$screen"
check "c: cancelled the selected job" wait_status "$first" cancelled
check "c: said so" grep -q "cancel $first: done" "$tmp/screen"
check "s: sort by elapsed" grep -q "sort: elapsed" "$tmp/screen"
check "q: exits 0" grep -q "=====EXIT 0" "$tmp/screen"
for id in "${ids[@]}"; do req POST "/jobs/$id/cancel"; done

echo "test_top: $pass passed, $fail failed"
[ "$fail" = 0 ]
