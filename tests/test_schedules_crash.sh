#!/usr/bin/env bash
# test_schedules_crash.sh - exactly one fire per due instant across
# kill -9 (issue 15): 1,000 schedules (fewer under JR_TEST_SCALE) fire
# every second, half "every": "1s", half cron "* * * * * *" in
# Europe/London (external jobs: nothing runs, the daemon only fires and
# journals); jobringd is killed with SIGKILL at random moments four
# times and started again. Then, from GET /jobs (schedule_id, due): no
# schedule has a due instant twice, every due is on its schedule's
# second, and every instant missing lies in a window from just before a
# kill to just after the restart (what the catch-up policy drops: one
# interval by default).
# Usage: tests/test_schedules_crash.sh BUILD_DIR
set -u
build=${1:-build/debug}
build=$(cd "$build" && pwd)
daemon="$build/jobringd"
cli="$build/jobring"
tmp=$(mktemp -d /tmp/jr-schedcrash-XXXXXX)
sock="$tmp/s.sock"
. "$(dirname "$0")/lib.sh"
n=$((1000 / ${JR_TEST_SCALE:-1}))
kills=${JR_SCHED_KILLS:-4}

py() { python3 - "$sock" "$@"; }
cat >"$tmp/drive.py" <<'EOF2'
import http.client, json, socket, sys, time
sock, what = sys.argv[1], sys.argv[2]
class Conn(http.client.HTTPConnection):
    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(sock)
c = Conn("jobring")
def req(method, path, body=None):
    c.request(method, path, body=json.dumps(body) if body is not None else None,
              headers={"Content-Type": "application/json"})
    r = c.getresponse()
    data = r.read()
    return r.status, json.loads(data) if data else None
if what == "create":
    n = int(sys.argv[3])
    for i in range(n):
        body = {"name": "s%d" % i, "overlap": "allow",
                "job": {"command": ["true"], "executor": "external"}}
        if i % 2:
            body["cron"] = "* * * * * *"   # with seconds: the cron library's
            body["timezone"] = "Europe/London"
        else:
            body["every"] = "1s"
        st, b = req("POST", "/schedules", body)
        if st != 201:
            print("create", i, st, b); sys.exit(1)
    print(time.time())
elif what == "check":
    t0, t_end = float(sys.argv[3]), float(sys.argv[4])
    windows = [tuple(map(float, l.split())) for l in open(sys.argv[5]) if l.strip()]
    n = int(sys.argv[6])
    dues = {}
    cursor = None
    while True:
        st, b = req("GET", "/jobs?limit=1000" + ("&cursor=%s" % cursor if cursor else ""))
        for j in b["jobs"]:
            if "schedule_id" in j:
                t = time.mktime(time.strptime(j["due"][:19], "%Y-%m-%dT%H:%M:%S")) - time.timezone
                t += float(j["due"][19:-1] or 0)
                dues.setdefault(j["schedule_id"], []).append(t)
        cursor = b.get("next_cursor")
        if not cursor:
            break
    bad = 0
    total = 0
    def in_window(d):
        return any(k - 1.0 <= d <= u + 0.5 for k, u in windows)
    for sid, ds in dues.items():
        total += len(ds)
        s = sorted(ds)
        if len(set(s)) != len(s):
            bad += 1
            if bad < 5: print("schedule %d: a due twice" % sid)
            continue
        if any(abs(d - round(d)) > 1e-6 for d in s):
            bad += 1
            if bad < 5: print("schedule %d: a due off its second" % sid)
            continue
        have = set(round(d) for d in s)
        first = int(t0) + 2
        for d in range(first, int(t_end) - 1):
            if d not in have and not in_window(d):
                bad += 1
                if bad < 5: print("schedule %d: due %d missing outside the kill windows" % (sid, d))
                break
    if len(dues) != n:
        print("only %d of %d schedules fired" % (len(dues), n)); bad += 1
    print("fires %d, schedules %d, bad %d" % (total, len(dues), bad))
    sys.exit(1 if bad else 0)
EOF2

start_daemon --capacity 262144
t0=$(python3 "$tmp/drive.py" "$sock" create "$n") || { echo "FAIL: create: $t0"; exit 1; }
check "created $n schedules" [ -n "$t0" ]
: >"$tmp/windows"
for k in $(seq "$kills"); do
	sleep "$(python3 -c 'import random; print(round(random.uniform(1.2, 3.0), 2))')"
	down=$(date +%s.%N)
	stop_daemon KILL
	start_daemon --capacity 262144
	echo "$down $(date +%s.%N)" >>"$tmp/windows"
done
sleep 2.5
t_end=$(date +%s.%N)
out=$(python3 "$tmp/drive.py" "$sock" check "$t0" "$t_end" "$tmp/windows" "$n")
rc=$?
echo "$out" | tail -6
check "each due instant once, none missed outside the kill windows" [ "$rc" = 0 ]
grep -c "recovered" "$tmp/daemon.log" >/dev/null
check "recovered $kills times" [ "$(grep -c 'recovered' "$tmp/daemon.log")" -ge "$kills" ]
stop_daemon
echo "test_schedules_crash: $pass passed, $fail failed"
[ "$fail" = 0 ]
