#!/usr/bin/env python3
"""bench/loophold.py SOCKET [LINES] [BATCHES] - how long a long batch holds
jobringd's event loop: one client sends GET /health every millisecond on a
keep-alive connection while BATCHES (3) POST /jobs/batch of LINES (100,000)
lines go in on another, one after the other; prints each batch's round
trip, the probes' p50, p99 and max, and the daemon's longest loop turn
(GET /metrics). Start the daemon --paused (and --no-keeper) so that no job
runs: docs/BENCHMARKS.md, "long batches a slice a turn"."""
import re
import socket
import sys
import threading
import time

sock = sys.argv[1]
nlines = int(sys.argv[2]) if len(sys.argv) > 2 else 100000
nbatches = int(sys.argv[3]) if len(sys.argv) > 3 else 3
body = "".join('{"command":["/bin/true"],"name":"job-%d","priority":3}\n' % i
               for i in range(nlines)).encode()


def conn():
    s = socket.socket(socket.AF_UNIX)
    s.connect(sock)
    return s


def round_trip(s, request):
    """Send request on s, read one answer: (status line, body)."""
    s.sendall(request)
    buf = b""
    while b"\r\n\r\n" not in buf:
        buf += s.recv(1 << 20)
    head, rest = buf.split(b"\r\n\r\n", 1)
    n = int(re.search(rb"content-length: *(\d+)", head, re.I).group(1))
    while len(rest) < n:
        rest += s.recv(1 << 20)
    return head.split(b"\r\n")[0], rest[:n]


waits, done = [], [False]


def prober():
    s = conn()
    while not done[0]:
        t = time.perf_counter()
        round_trip(s, b"GET /health HTTP/1.1\r\nHost: j\r\n\r\n")
        waits.append(time.perf_counter() - t)
        time.sleep(0.001)


probe = threading.Thread(target=prober)
probe.start()
time.sleep(0.3)
for k in range(nbatches):
    b = conn()
    t = time.perf_counter()
    status, _ = round_trip(b, b"POST /jobs/batch HTTP/1.1\r\nHost: j\r\nContent-Length: %d\r\n\r\n"
                           % len(body) + body)
    print("loophold: batch %d of %d lines: %s in %.0f ms"
          % (k + 1, nlines, status.decode(), (time.perf_counter() - t) * 1e3))
    b.close()
    time.sleep(0.3)
done[0] = True
probe.join()
waits.sort()
_, metrics = round_trip(conn(), b"GET /metrics HTTP/1.1\r\nHost: j\r\n\r\n")
turn = re.search(rb"\njobring_loop_turn_max_seconds ([\d.e+-]+)", metrics)
print("loophold: %d /health probes: p50 %.2f ms, p99 %.2f ms, max %.2f ms; "
      "the daemon's longest loop turn %s ms"
      % (len(waits), waits[len(waits) // 2] * 1e3, waits[int(len(waits) * 0.99)] * 1e3,
         waits[-1] * 1e3, "%.1f" % (float(turn.group(1)) * 1e3) if turn else "(not told)"))
