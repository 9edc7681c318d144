#!/usr/bin/env bash
# test_batch_slices.sh - a long POST /jobs/batch (more than 256 lines) is
# parsed a slice per turn of the daemon's loop, its answer deferred
# (src/daemon/api/batch.c), and still all or none: a long batch is
# submitted whole with its ids in line order; one bad line far down, a
# bad header or a byte that is not UTF-8 refuses all of it; long and
# short batches from several connections at once, and two pipelined on
# one connection, are each answered, in order, with distinct ids; a
# request on another connection is answered while a 200,000-line batch
# is being parsed, and the parser's arrays for it (more than 16,384
# lines) are given back afterwards; clients that close after sending
# submit all of a batch or none of it; a daemon stopped, or killed, while it parses one comes back
# with all of that batch or none of it. Usage: tests/test_batch_slices.sh BUILD_DIR
set -u
build=${1:-build/debug}
daemon="$build/jobringd"
cli="$build/jobring"
tmp=$(mktemp -d /tmp/jr-batchslices-XXXXXX)
sock="$tmp/s.sock"
. "$(dirname "$0")/lib.sh"

# drive CASE: python talks to the daemon on raw sockets; prints "ok ..."
# or what went wrong
drive() {
	python3 - "$sock" "$1" "$tmp" <<'PYEOF'
import json, re, socket, sys, threading, time

sock, case, tmp = sys.argv[1], sys.argv[2], sys.argv[3]

def conn():
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(sock)
    return s

def read_answer(s, buf=b""):
    """One HTTP answer from s: (status, body, what is left after it)."""
    while b"\r\n\r\n" not in buf:
        more = s.recv(1 << 20)
        if not more:
            raise SystemExit("connection closed before an answer")
        buf += more
    head, rest = buf.split(b"\r\n\r\n", 1)
    n = int(re.search(rb"content-length: *(\d+)", head, re.I).group(1))
    while len(rest) < n:
        rest += s.recv(1 << 20)
    return int(head.split()[1]), rest[:n], rest[n:]

def post(path, body):
    return (b"POST %s HTTP/1.1\r\nHost: j\r\nContent-Length: %d\r\n\r\n" % (path.encode(), len(body))
            + body)

def ask(method, path, body=b""):
    s = conn()
    if method == "GET":
        s.sendall(b"GET %s HTTP/1.1\r\nHost: j\r\n\r\n" % path.encode())
    else:
        s.sendall(post(path, body))
    st, b, _ = read_answer(s)
    s.close()
    return st, json.loads(b) if b else None

def lines(n, tag, start=0):
    return "".join('{"command":["true"],"name":"%s-%d","priority":3}\n' % (tag, i)
                   for i in range(start, start + n)).encode()

def submitted():
    return ask("GET", "/health")[1]["submitted"]

def fail(msg):
    print("FAIL:", msg)
    sys.exit(0)

if case == "long":
    st, b = ask("POST", "/jobs/batch", lines(3000, "long"))
    if st != 201 or b["count"] != 3000 or len(set(b["job_ids"])) != 3000:
        fail("3000 lines: %d %s" % (st, str(b)[:200]))
    ids = b["job_ids"]
    if ids != sorted(ids, key=lambda x: int(x, 16)):
        fail("ids not in line order")
    for k in (0, 1234, 2999):
        st, j = ask("GET", "/jobs/" + ids[k])
        if st != 200 or j["name"] != "long-%d" % k:
            fail("job %d: %d %s" % (k, st, j))
    hdr = b'{"batch":{"env":{"SLICE":"yes"}}}\n' + lines(700, "hdr")
    st, b = ask("POST", "/jobs/batch", hdr)
    st2, j = ask("GET", "/jobs/" + b["job_ids"][650]) if st == 201 else (st, None)
    if st != 201 or b["count"] != 700 or j["env"] != {"SLICE": "yes"} or j["name"] != "hdr-650":
        fail("header batch: %d %s" % (st, j))
    print("ok long")

elif case == "refused":
    before = submitted()
    body = lines(2499, "bad") + b'{"command":["true"],"priority":"high"}\n' + lines(500, "bad", 2500)
    st, b = ask("POST", "/jobs/batch", body)
    if st != 422 or b["error"]["lines"][0]["line"] != 2500 or "1 of 3000" not in b["error"]["message"]:
        fail("bad line 2500: %d %s" % (st, b))
    st, b = ask("POST", "/jobs/batch", b'{"batch":{"nonsense":1}}\n' + lines(1000, "bh"))
    if st != 422 or b["error"]["lines"][0]["line"] != 1:
        fail("bad header: %d %s" % (st, b))
    st, b = ask("POST", "/jobs/batch", lines(1000, "u8") + b'{"command":["\xff"]}\n')
    if st != 400 or b["error"]["code"] != "invalid_utf8" or "line 1001" not in b["error"]["message"]:
        fail("not UTF-8: %d %s" % (st, b))
    many = b"".join(b'{"command":["true"],"priority":"x%d"}\n' % i for i in range(400))
    st, b = ask("POST", "/jobs/batch", many)
    if st != 422 or len(b["error"]["lines"]) != 100 or "400 of 400" not in b["error"]["message"]:
        fail("400 bad lines: %d %s" % (st, str(b)[:200]))
    if submitted() != before:
        fail("a refused batch submitted jobs: %d -> %d" % (before, submitted()))
    print("ok refused")

elif case == "concurrent":
    before = submitted()
    results, errors = {}, []
    def one(k, n):
        try:
            results[k] = ask("POST", "/jobs/batch", lines(n, "c%d" % k))
        except BaseException as e:
            errors.append(repr(e))
    sizes = [3000, 5, 1200, 300, 2, 4000, 257, 256]
    ts = [threading.Thread(target=one, args=(k, n)) for k, n in enumerate(sizes)]
    for t in ts: t.start()
    for t in ts: t.join()
    if errors:
        fail("clients: %s" % errors)
    ids = []
    for k, n in enumerate(sizes):
        st, b = results[k]
        if st != 201 or b["count"] != n:
            fail("batch %d of %d: %d" % (k, n, st))
        ids += b["job_ids"]
    if len(set(ids)) != sum(sizes) or submitted() != before + sum(sizes):
        fail("ids %d distinct of %d; submitted %d" % (len(set(ids)), sum(sizes), submitted() - before))
    # two long batches and a short one pipelined on one connection
    s = conn()
    s.sendall(post("/jobs/batch", lines(2000, "p1")) + post("/jobs/batch", lines(3, "p2")) +
              post("/jobs/batch", lines(1500, "p3")))
    got, rest = [], b""
    for want in (2000, 3, 1500):
        st, b, rest = read_answer(s, rest)
        b = json.loads(b)
        if st != 201 or b["count"] != want:
            fail("pipelined batch of %d: %d %s" % (want, st, str(b)[:100]))
        got.append(b["job_ids"])
    if not int(got[0][-1], 16) < int(got[1][0], 16) < int(got[2][0], 16):
        fail("pipelined batches out of order")
    print("ok concurrent")

elif case == "meanwhile":
    # a request on another connection is answered while a long batch is parsed
    big = lines(200000, "big")
    b = conn()
    b.sendall(post("/jobs/batch", big))
    time.sleep(0.05)
    h = conn()
    t = time.monotonic()
    h.sendall(b"GET /health HTTP/1.1\r\nHost: j\r\n\r\n")
    st, body, _ = read_answer(h)
    health_s = time.monotonic() - t
    b.settimeout(0.0)
    try:
        early = b.recv(1)
    except BlockingIOError:
        early = b""
    b.settimeout(None)
    st2, body2, _ = read_answer(b, early)
    if st != 200 or st2 != 201 or json.loads(body2)["count"] != 200000:
        fail("health %d, batch %d" % (st, st2))
    if early:
        fail("the batch was answered before /health (%.3f s)" % health_s)
    print("ok meanwhile (health in %.1f ms)" % (health_s * 1000))

elif case == "leave":
    before = submitted()
    for n in (5000, 20000):
        s = conn()
        s.sendall(post("/jobs/batch", lines(n, "gone")))
        s.close()
    time.sleep(1.0)
    ask("GET", "/health")
    after = submitted()
    # a batch whose client left may still have been submitted whole if
    # it was done before the close was seen: never a part of one
    if (after - before) not in (0, 5000, 20000, 25000):
        fail("clients that left: %d jobs submitted" % (after - before))
    print("ok leave (%d)" % (after - before))

elif case == "busy":
    # twelve 1.8 MB batches at once against --max-buffered 4M: the copies
    # waiting are capped (twice that for root); each is answered 201 whole
    # or 503 busy with nothing submitted, and no copy is left behind
    before = submitted()
    results, errors = {}, []
    body = lines(32000, "busy")
    def one(k):
        try:
            results[k] = ask("POST", "/jobs/batch", body)
        except BaseException as e:
            errors.append(repr(e))
    ts = [threading.Thread(target=one, args=(k,)) for k in range(12)]
    for t in ts: t.start()
    for t in ts: t.join()
    if errors:
        fail("clients: %s" % errors)
    ok = sum(1 for st, b in results.values() if st == 201 and b["count"] == 32000)
    busy = sum(1 for st, b in results.values() if st == 503 and b["error"]["code"] == "busy")
    if ok + busy != 12 or submitted() != before + 32000 * ok:
        fail("answers %s; submitted %d" % (sorted(st for st, b in results.values()), submitted() - before))
    print("ok busy (%d submitted, %d busy)" % (ok, busy))

elif case == "queued-zero":
    for _ in range(100):
        s = conn()
        s.sendall(b"GET /metrics HTTP/1.1\r\nHost: j\r\n\r\n")
        st, m, _ = read_answer(s)
        s.close()
        v = re.search(rb"\njobring_batch_queued_bytes (\d+)", m)
        arrays = re.search(rb"\njobring_batch_arrays_bytes (\d+)", m)
        if v and v.group(1) == b"0":
            # after the 200,000-line batch: its arrays (~1.1 KB a line,
            # some 280 MB kept before) are given back; 16,384 lines' kept
            if not arrays or int(arrays.group(1)) > 64 << 20:
                fail("the batch arrays kept: %s" % (arrays.group(1) if arrays else "no metric"))
            print("ok queued-zero (arrays kept: %d bytes)" % int(arrays.group(1)))
            sys.exit(0)
        time.sleep(0.05)
    fail("copies of batches left: %s" % (v.group(1) if v else "no metric"))

elif case.startswith("send-"):
    # send a long batch and return without its answer (the test stops the daemon)
    s = conn()
    s.sendall(post("/jobs/batch", lines(80000, case[5:])))
    print("ok sent")

elif case.startswith("count-"):
    tag = case[6:]
    first = len(ask("GET", "/jobs?name=%s-0&limit=10" % tag)[1]["jobs"])
    last = len(ask("GET", "/jobs?name=%s-79999&limit=10" % tag)[1]["jobs"])
    mid = len(ask("GET", "/jobs?name=%s-37777&limit=10" % tag)[1]["jobs"])
    if not first == mid == last or first > 1:
        fail("after the stop: %d, %d, %d jobs named %s-0, -37777, -79999" % (first, mid, last, tag))
    print("ok count (%d of the cut batch)" % first)
PYEOF
}

expect_ok() {	# expect_ok NAME OUTPUT
	check "$1" grep -q '^ok' <<<"$2" || echo "  $2"
}

# Its own --capacity: the sanitizers' runs pass 65,536 (Makefile), and
# this suite submits some 800,000 jobs.
start_daemon --paused --capacity 1048576

expect_ok "a long batch is submitted whole, in line order" "$(drive long)"
expect_ok "a long batch with a bad line, header or byte is refused whole" "$(drive refused)"
expect_ok "long and short batches at once and pipelined: each answered, in order" "$(drive concurrent)"
out=$(drive meanwhile)
expect_ok "a request is answered while a 200,000-line batch is parsed" "$out"
echo "  $out"
out=$(drive leave)
expect_ok "a client that leaves submits all of its batch or nothing" "$out"
echo "  $out"
out=$(drive queued-zero)
expect_ok "no copy of a batch is left once all are answered, nor its arrays" "$out"
echo "  $out"

# A stop (SIGTERM, then kill -9) while a long batch is parsed: all of it
# or nothing comes back.
for sig in TERM KILL; do
	expect_ok "send a long batch before SIG$sig" "$(drive "send-cut$sig")"
	stop_daemon "$sig" || true
	start_daemon --paused --capacity 1048576
	out=$(drive "count-cut$sig")
	expect_ok "after SIG$sig during a long batch: all of it or none" "$out"
	echo "  $out"
done

# The copies waiting are capped by --max-buffered.
stop_daemon
start_daemon --paused --capacity 1048576 --max-request 2M --max-buffered 4M
out=$(drive busy)
expect_ok "batches over the cap on copies: 201 whole or 503 busy, nothing in between" "$out"
echo "  $out"
expect_ok "and no copy is left" "$(drive queued-zero)"

echo "test_batch_slices: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
