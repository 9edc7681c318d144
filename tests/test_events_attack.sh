#!/usr/bin/env bash
# test_events_attack.sh - the issue 16 red team's findings, kept fixed:
# connections held open on --metrics-listen (no token) not starving --http;
# a browser's request from another site (Origin) through the Unix socket
# (ssh -L) refused, so a page the user visits cannot submit jobs as them;
# the event stream's JSON stays valid UTF-8 and whole when a queue's name
# is all escapes and multi-byte characters; Last-Event-ID takes digits
# only ("-1" was 2^64-1); jobring events and jobring top print other
# users' names (any user may create a queue, name a job) with their
# control characters as '?', never an escape sequence to the terminal;
# jobring events fed a hostile stream (data that is not an object, a
# kind with an escape) neither crashes nor relays it.
# Usage: tests/test_events_attack.sh BUILD_DIR
set -u
build=${1:-build/debug}
build=$(cd "$build" && pwd)
daemon="$build/jobringd"
cli="$build/jobring"
tmp=$(mktemp -d /tmp/jr-evatk-XXXXXX)
chmod 755 "$tmp"
sock="$tmp/s.sock"
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
export JOBRING_SOCKET=$sock
esc=$'\033'

start_daemon --socket-mode 0666 --http 127.0.0.1:0 --metrics-listen 127.0.0.1:0
listening() {	# listening FLAG: the ADDR:PORT the daemon's log says it took
	grep -o -- "$1 listening on [^ ]*" "$tmp/daemon.log" | tail -1 | awk '{ print $4 }'
}
http=$(listening --http)
metrics=$(listening --metrics-listen)
token=$(cat "$tmp/state/http-token")

# --- --metrics-listen's connections do not take --http's share ---------------------------------
# 300 connections (one uid's share is 256) to the metrics port, each with
# half a request, held while the dashboard's listener is asked.
python3 - "$metrics" 300 "$tmp/held" <<'PY' &
import socket, sys, time
host, port = sys.argv[1].rsplit(":", 1)
ss = []
for _ in range(int(sys.argv[2])):
    try:
        s = socket.create_connection((host, int(port)), timeout=2)
        s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n")
        ss.append(s)
    except OSError:
        break
open(sys.argv[3], "w").write(str(len(ss)))
time.sleep(6)
PY
pids+=($!)
check "300 connections held on --metrics-listen" wait_until 15 test -s "$tmp/held"
code=$(curl -s -o /dev/null -m 5 -w '%{http_code}' -H "Authorization: Bearer $token" "http://$http/health")
check "... --http still answers (was 503): $code" [ "$code" = 200 ]

# --- browsers through ssh -L: cross-site requests refused ---------------------------------------
# ocode ORIGIN HOST [METHOD PATH [BODY]]: the status of a request with that Origin and Host
ocode() {
	curl -s -o /dev/null -m 5 -w '%{http_code}' --unix-socket "$sock" -H "Origin: $1" -H "Host: $2" \
		-H 'Content-Type: text/plain' ${5:+--data-binary "$5"} -X "${3:-GET}" "http://x${4:-/}"
}
job='{"command":["touch","'"$tmp"'/csrf"]}'
check "a form of another site POSTs /jobs: 403" [ "$(ocode http://evil.example localhost:8080 POST /jobs "$job")" = 403 ]
check "a rebound name posting from its own origin: 421" \
	[ "$(ocode http://evil.example:8080 evil.example:8080 POST /jobs "$job")" = 421 ]
check "a rebound name reading (GET, no Origin): 421" \
	[ "$(curl -s -o /dev/null -w '%{http_code}' --unix-socket "$sock" -H 'Host: evil.example:8080' http://x/jobs)" = 421 ]
check "Origin: null: 403" [ "$(ocode null localhost:8080 POST /jobs "$job")" = 403 ]
check "an Origin not the Host: 403" [ "$(ocode http://localhost:9 localhost:8080 POST /jobs "$job")" = 403 ]
sleep 0.5
check "... and no job ran" not test -e "$tmp/csrf"
check "the page at localhost posting: 201" [ "$(ocode http://localhost:8080 localhost:8080 POST /jobs '{"command":["true"]}')" = 201 ]
check "the page at 127.0.0.1: 200" [ "$(ocode http://127.0.0.1:9 127.0.0.1:9 GET /health)" = 200 ]
check "the page at [::1]: 200" [ "$(ocode 'http://[::1]:9' '[::1]:9' GET /health)" = 200 ]
req POST /jobs '{"command":["true"]}'
check "no Origin (curl, the CLI): 201" [ "$code" = 201 ]

# --- a queue's name in the stream -------------------------------------------------------------
# 13 newlines (6 bytes each escaped) then 15 two-byte characters: the
# escaped name was cut at 96 bytes, between the two bytes of an é.
qname=$(python3 -c 'import json; print(json.dumps("\n" * 13 + "\u00e9" * 15))')
req POST /queues "{\"name\":$qname}"
check "a queue named with newlines and é: 201" [ "$code" = 201 ]
timeout 3 curl -sN --unix-socket "$sock" "http://jobring/events?from=oldest&kind=queue" >"$tmp/q.sse"
check "... its event's data is valid UTF-8 JSON, the whole name" python3 - "$tmp/q.sse" <<'PY'
import json, sys
names = [json.loads(l[6:].decode("utf-8")).get("queue") for l in open(sys.argv[1], "rb").read().split(b"\n")
         if l.startswith(b"data: ")]
sys.exit(0 if "\n" * 13 + "\u00e9" * 15 in names else 1)
PY

# --- Last-Event-ID: digits only ----------------------------------------------------------------
for v in -1 +3 1x; do
	code=$(curl -s -o /dev/null -m 3 -w '%{http_code}' --unix-socket "$sock" -H "Last-Event-ID: $v" \
		http://jobring/events)
	check "Last-Event-ID '$v': 422" [ "$code" = 422 ]
done
code=$(curl -s -o /dev/null -m 3 -w '%{http_code}' --unix-socket "$sock" \
	"http://jobring/events?last_event_id=%205")
check "?last_event_id=' 5': 422" [ "$code" = 422 ]

# --- escapes in names: jobring events and top --------------------------------------------------
req POST /queues '{"name":"q\u001b]0;PWNED\u0007\u001b[2J"}'
check "a queue named with escape sequences: 201" [ "$code" = 201 ]
req POST /jobs '{"command":["sleep","30"],"name":"j\u001b[2Jx","queue":"q\u001b]0;PWNED\u0007\u001b[2J"}'
jid=$(field job_id)
out=$(timeout 5 "$cli" events --kind queue,job 2>&1)
check "jobring events: the queue's event printed" grep -q 'queue=q?]0;PWNED??\[2J' <<<"$out"
check "... with no escape character" not grep -q "$esc" <<<"$out"
out=$(timeout 5 "$cli" events --queue "q${esc}]0;PWNED"$'\a'"${esc}[2J" 2>&1)
check "jobring events --queue with escapes: the job's events" grep -q "job=$jid" <<<"$out"
python3 - "$cli" "$tmp/screen" <<'PY'
import os, pty, sys, time, select
cli, out = sys.argv[1], sys.argv[2]
pid, fd = pty.fork()
if pid == 0:
    os.execv(cli, [cli, "top", "--interval", "0.3"])
data, end = b"", time.time() + 2
while time.time() < end:
    if select.select([fd], [], [], 0.1)[0]:
        try:
            data += os.read(fd, 65536)
        except OSError:
            break
os.write(fd, b"q")
time.sleep(0.5)
os.waitpid(pid, 0)
open(out, "wb").write(data)
PY
check "jobring top: the job's name scrubbed" grep -q 'j?\[2Jx' "$tmp/screen"
check "... the queue's name scrubbed" grep -q 'q?]0;PWNED??\[2J' "$tmp/screen"
check "... no OSC title sequence reached the terminal" not grep -q "${esc}]0;" "$tmp/screen"
req POST "/jobs/$jid/cancel"

# --- jobring events fed a hostile stream ---------------------------------------------------------
cat >"$tmp/fake.py" <<'PY'
import socket, sys, threading
def serve(c):	# the CLI's first connection says nothing: a thread each
    try:
        if c.recv(4096):
            c.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\n"
                      b"event: job\x1b[2J\ndata: [1,2]\n\n"
                      b"event: job\ndata: 7\n\n"
                      b"event: job\ndata: {\"time\":\"x\",\"a\\u001b[2J\":\"\\u001b]0;t\\u0007\"}\n\n"
                      b"event: job\ndata: {not json\n\n")
    except OSError:
        pass
    c.close()
s = socket.socket(socket.AF_UNIX)
s.bind(sys.argv[1]); s.listen(4)
while True:
    threading.Thread(target=serve, args=(s.accept()[0],), daemon=True).start()
PY
python3 "$tmp/fake.py" "$tmp/fake.sock" &
pids+=($!)
check "the hostile stream's socket" wait_until 10 test -S "$tmp/fake.sock"
out=$(JOBRING_SOCKET=$tmp/fake.sock timeout 5 "$cli" events 2>&1)
rc=$?
check "jobring events, hostile stream: exits (no crash; rc $rc)" [ "$rc" -lt 128 ]
check "... prints the object's fields, scrubbed" grep -q 'a?\[2J=?]0;t?' <<<"$out"
check "... relays no escape character" not grep -q "$esc" <<<"$out"

check "the daemon still answers" curl -sf --unix-socket "$sock" http://x/health -o /dev/null
echo "test_events_attack: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
