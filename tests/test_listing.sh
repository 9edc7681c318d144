#!/usr/bin/env bash
# test_listing.sh - GET /jobs answered from the index (daemon/state/
# jobindex.c) agrees with the jobs themselves, through the real daemon:
# random jobs (singles, batches, arrays; names, priorities, queues,
# external ones claimed by a worker) and random changes (cancels, holds,
# releases, priority updates, requeues, jobs that end by themselves),
# then every filter and random combinations of them (status, priority,
# queue, name, user, worker_id, array) paged with random limits give
# exactly the jobs that GET /jobs/{id} of every job says match, each
# once, in cursor order; again after kill -9 and recovery, and after more
# changes. Usage: tests/test_listing.sh BUILD_DIR
set -u
build=${1:-build/debug}
daemon="$build/jobringd"
cli="$build/jobring"
tmp=$(mktemp -d /tmp/jr-listing-XXXXXX)
sock="$tmp/s.sock"
. "$(dirname "$0")/lib.sh"

start_daemon --workers 2 --capacity 4096
req POST /queues '{"name":"qa","priority":3}'
req POST /queues '{"name":"qb","priority":1,"max_workers":1}'

# round SEED PHASE: python drives the daemon; prints "ok N" or the mismatches
round() {
	python3 - "$sock" "$1" "$2" "$tmp/ids" <<'EOF'
import http.client, json, random, socket, sys, time

sock, seed, phase, idfile = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
rnd = random.Random(seed)

class Conn(http.client.HTTPConnection):
    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(sock)

def req(method, path, body=None, raw=None):
    c = Conn("jobring")
    c.request(method, path, body=raw if raw is not None else
              json.dumps(body) if body is not None else None,
              headers={"Content-Type": "application/json"})
    r = c.getresponse()
    data = r.read()
    c.close()
    return r.status, (json.loads(data) if data else None)

try:
    ids = [l.strip() for l in open(idfile) if l.strip()]
except FileNotFoundError:
    ids = []
names = ["a", "b", "build", "x-1"]
queues = [None, "qa", "qb"]

def job():
    j = {"name": rnd.choice(names), "priority": rnd.choice([0, 5, -2, 100])}
    q = rnd.choice(queues)
    if q:
        j["queue"] = q
    kind = rnd.random()
    if kind < 0.3:
        j["command"] = ["true"]
    elif kind < 0.4:
        j["command"] = ["false"]
    elif kind < 0.5:
        j["executor"] = "external"
    else:
        j["command"] = ["sleep", "60"]
    if rnd.random() < 0.2:
        j["hold"] = True
    return j

if phase == "submit":
    for _ in range(12):
        st, b = req("POST", "/jobs", job())
        assert st == 201, (st, b)
        ids.append(b["job_id"])
    for _ in range(3):
        lines = [json.dumps(job()) for _ in range(rnd.randint(5, 40))]
        st, b = req("POST", "/jobs/batch", raw="\n".join(lines) + "\n")
        assert st == 201, (st, b)
        ids += b["job_ids"]
    for _ in range(2):
        j = job()
        j["array"] = "0-%d" % rnd.randint(3, 12)
        st, b = req("POST", "/jobs", j)
        assert st == 201, (st, b)
        ids.append(b["job_id"])
    st, b = req("POST", "/workers/register", {"name": "w-%d" % seed})
    if st in (200, 201):
        wid = b["worker_id"]
        for _ in range(2):
            req("POST", "/workers/%s/claim?wait=0" % wid, {})
    # the arrays' tasks, from their listing
    more = []
    for a in ids:
        st, b = req("GET", "/jobs/%s" % a)
        if st == 200 and b.get("array_job_id") == a:
            cur = None
            while True:
                st, p = req("GET", "/jobs?array=%s&limit=7%s" % (a, "&cursor=" + cur if cur else ""))
                more += [j["job_id"] for j in p["jobs"]]
                cur = p["next_cursor"]
                if not cur:
                    break
    ids = list(dict.fromkeys(ids + more))

def listing(q):
    out, cur = [], None
    while True:
        lim = rnd.randint(1, 30)
        path = "/jobs?limit=%d%s%s" % (lim, "&" + q if q else "", "&cursor=" + cur if cur else "")
        st, b = req("GET", path)
        assert st == 200, (path, st, b)
        out += [j["job_id"] for j in b["jobs"]]
        cur = b["next_cursor"]
        if not cur:
            return out

if phase in ("submit", "change"):
    listing("")    # filed now: what ends later reaches the index by events only
    for _ in range(40):
        i = rnd.choice(ids)
        op = rnd.random()
        if op < 0.25:
            req("PUT", "/jobs/%s/cancel" % i)
        elif op < 0.4:
            req("PUT", "/jobs/%s/hold" % i)
        elif op < 0.55:
            req("PUT", "/jobs/%s/release" % i)
        elif op < 0.8:
            req("PATCH", "/jobs/%s" % i, {"priority": rnd.choice([0, 5, -2, 100, 7])})
        else:
            req("PUT", "/jobs/%s/requeue" % i)
        if rnd.random() < 0.1:
            listing("status=queued")
    listing("")
    time.sleep(1.0)    # true/false jobs end, their events arrive

open(idfile, "w").write("\n".join(ids) + "\n")

def truth():
    t = {}
    for i in ids:
        st, b = req("GET", "/jobs/%s" % i)
        if st == 200:
            t[i] = b
    return t

def matches(j, f):
    for k, v in f.items():
        if k == "status":
            if j["status"] not in v.split(","):
                return False
        elif k == "priority":
            if j["priority"] != int(v):
                return False
        elif k == "user":
            if j["uid"] != int(v):
                return False
        elif k == "array":
            if j.get("array_job_id") != v:
                return False
        elif k == "worker_id":
            if j.get("worker_id") != v:
                return False
        elif j.get(k) != v:
            return False
    return True

t = truth()
states = ["pending", "queued", "running", "succeeded", "failed", "cancelled"]
arrays = sorted({j["array_job_id"] for j in t.values() if j.get("array_job_id")})
workers = sorted({j["worker_id"] for j in t.values() if j.get("worker_id")})
choices = {
    "status": lambda: ",".join(rnd.sample(states, rnd.randint(1, 2))),
    "priority": lambda: str(rnd.choice([0, 5, -2, 100, 7])),
    "queue": lambda: rnd.choice(["default", "qa", "qb"]),
    "name": lambda: rnd.choice(names + ["nobody"]),
    "user": lambda: rnd.choice(["0", "4242"]),
    "worker_id": lambda: rnd.choice(workers or ["local"]),
    "array": lambda: rnd.choice(arrays) if arrays else None,
}
queries = [{}] + [{k: choices[k]()} for k in choices for _ in range(2)]
for _ in range(40):
    queries.append({k: choices[k]() for k in rnd.sample(list(choices), rnd.randint(2, 4))})
queries = [{k: v for k, v in f.items() if v is not None} for f in queries]

def shape(t):    # what the filters look at
    return {i: (j["status"], j["priority"], j["queue"], j["name"], j["uid"], j.get("worker_id"))
            for i, j in t.items()}

# A job that ends while the listings run (a slow machine) would differ
# from the truth taken before: the round is taken again, up to 5 times.
for attempt in range(5):
    bad = 0
    report = []
    for f in queries:
        q = "&".join("%s=%s" % kv for kv in f.items())
        got = listing(q)
        want = {i for i, j in t.items() if matches(j, f)}
        if len(got) != len(set(got)) or set(got) != want:
            bad += 1
            report.append("MISMATCH %s: got %d (dup %d), want %d, missing %s, extra %s" % (
                q, len(got), len(got) - len(set(got)), len(want),
                sorted(want - set(got))[:5], sorted(set(got) - want)[:5]))
    after = truth()
    if shape(after) == shape(t):
        break
    t = after
if report:
    print("\n".join(report))
print("ok %d jobs %d queries, workers %s" % (len(t), len(queries), workers) if not bad else "bad %d" % bad)
EOF
}

out=$(round 1 submit)
echo "$out" | tail -3
check "listings agree with every job's own view" grep -q '^ok ' <<<"$out"
out=$(round 2 change)
echo "$out" | tail -3
check "... after more changes" grep -q '^ok ' <<<"$out"

stop_daemon KILL
start_daemon --workers 2 --capacity 4096
out=$(round 3 check)
echo "$out" | tail -3
check "... after kill -9 and recovery" grep -q '^ok ' <<<"$out"
out=$(round 4 submit)
echo "$out" | tail -3
check "... with more jobs and changes after recovery" grep -q '^ok ' <<<"$out"

req GET '/jobs?bogus=1'
check "an unknown key is still refused" [ "$code" = 400 ]
req GET '/jobs?worker_id=w999999'
check "an unknown worker is 422" [ "$code" = 422 ]

# pending and queued share one index class: status=pending alone checks
# the queued jobs one by one, at most 65,536 per request (a short page
# with a cursor), and following the cursor ends the listing.
stop_daemon
# The stopped daemon's keeper still runs its jobs: remove_state waits
# for it to leave (lib.sh).
remove_state
start_daemon --workers 2 --capacity 131072
req POST /queues '{"name":"one","max_workers":1}'
seq 70001 | sed 's/.*/{"command":["sleep","60"],"queue":"one"}/' >"$tmp/wait.ndjson"
curl -s --unix-socket "$sock" --data-binary @"$tmp/wait.ndjson" http://x/jobs/batch >/dev/null
req POST /jobs '{"command":["true"],"hold":true}'
held=$(field job_id)
req GET "/jobs?status=pending&limit=10"
check "past the budget: a short page with a cursor" [ "$(field next_cursor)" != null ]
pages=1 found=0
while grep -q "\"job_id\":\"$held\"" <<<"$body" && found=1; [ "$(field next_cursor)" != null ] &&
	[ "$pages" -lt 10 ]; do
	req GET "/jobs?status=pending&limit=10&cursor=$(field next_cursor)"
	pages=$((pages + 1))
done
check "... the cursor leads to the held job, then the end" [ "$found" = 1 ]
check "... in a few pages" [ "$pages" -lt 10 ]
one_running() {
	req GET "/jobs?status=running&limit=10"
	[ "$(grep -o '"status":"running"' <<<"$body" | wc -l)" = 1 ] && [ "$(field next_cursor)" = null ]
}
check "status=running among 70,000 queued: one job, the listing over" wait_until 20 one_running

stop_daemon
echo "test_listing: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
