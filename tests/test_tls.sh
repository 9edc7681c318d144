#!/usr/bin/env bash
# test_tls.sh - the API over TCP and TLS 1.3 (issue 17, jobringd --listen),
# through the real jobringd and the jobring CLI (curl and openssl s_client
# cannot offer an external PSK): the access file is written 0600, owned
# by the daemon's user, names the bound port and keeps its key across a
# restart; the CLI submits and lists over TLS with --server/--access, with
# $JOBRING_SERVER/$JOBRING_ACCESS and with --access alone; a wrong key
# fails the handshake (a message saying so, exit 3); no access file or a
# missing one is a clear error; an access file others may read is
# refused; plain HTTP and garbage sent to the TLS port are closed
# without an answer; 100 half-open handshakes do not stop a good client,
# and are closed at --tls-handshake-timeout; over the share of
# connections not yet authenticated, a client is told so (the socket's
# 503 read as such: exit 3); the Unix socket still works
# and still names its peer (SO_PEERCRED). Light enough for build/asan and
# build/tsan as it is.
# Usage: tests/test_tls.sh BUILD_DIR
set -u
build=${1:-build/debug}
daemon="$build/jobringd"
cli="$build/jobring"
tmp=$(mktemp -d /tmp/jr-tls-XXXXXX)
sock="$tmp/s.sock"
. "$(dirname "$0")/lib.sh"
access="$tmp/state/access.json"
unset JOBRING_SERVER JOBRING_ACCESS

start_daemon --paused --listen 127.0.0.1:0 --tls-handshake-timeout 1
server=$(grep -o '"server":"[^"]*"' "$access" | sed 's/.*:"//; s/"$//')
port=${server##*:}

# --- the access file ----------------------------------------------------------------------------
check "the access file is 0600 ($(stat -c %a "$access"))" [ "$(stat -c %a "$access")" = 600 ]
check "the access file is the daemon's user's" [ "$(stat -c %u "$access")" = "$(id -u)" ]
check "it names the bound port ($server)" [ "$port" -gt 0 ] 2>/dev/null
check "it holds a 256-bit key" grep -qE '"key":"[0-9a-f]{64}"' "$access"
grep -q "\-\-listen listening on 127.0.0.1:$port" "$tmp/daemon.log"
check "jobringd tells the port on stderr" [ $? = 0 ]

# --- the CLI over TLS -----------------------------------------------------------------------------
id1=$("$cli" --server "$server" --access "$access" submit --name over-tls -- true 2>"$tmp/err")
check "submit over TLS ($(cat "$tmp/err"))" [ -n "$id1" ]
out=$("$cli" --server "$server" --access "$access" ls 2>&1)
check "ls over TLS lists the job" grep -q over-tls <<<"$out"
id2=$(JOBRING_SERVER=$server JOBRING_ACCESS=$access "$cli" submit --name from-env -- true)
check "JOBRING_SERVER and JOBRING_ACCESS" [ -n "$id2" ]
out=$(JOBRING_ACCESS=$access "$cli" ls 2>&1)
check "JOBRING_ACCESS alone: the file's address" grep -q from-env <<<"$out"
out=$("$cli" --server "tls://$server" --access "$access" --json ls 2>&1)
check "tls://HOST:PORT and --json" grep -q from-env <<<"$out"
req GET "/jobs/$id1"
check "the TLS client's job is the owner's (uid $(field uid))" [ "$(field uid)" = "$(id -u)" ]
batch=$(for i in $(seq 200); do echo '{"command":["true"],"name":"b"}'; done)
printf '%s\n' "$batch" >"$tmp/batch.ndjson"
"$cli" --server "$server" --access "$access" submit --file "$tmp/batch.ndjson" >"$tmp/ids" 2>"$tmp/err"
check "a batch of 200 over TLS ($(wc -l <"$tmp/ids") ids; $(head -c 200 "$tmp/err"))" [ "$(wc -l <"$tmp/ids")" = 200 ]

# --- jobring events over TLS: the same window as on the socket, and --follow -------------------
out=$("$cli" --server "$server" --access "$access" events --kind job 2>"$tmp/err")
check "events over TLS: the first job's event ($(head -c 200 "$tmp/err"))" \
	grep -q "job job=$id1 " <<<"$out"
check "... the same lines as on the Unix socket" [ "$out" = "$("$cli" --socket "$sock" events --kind job)" ]
"$cli" --server "$server" --access "$access" events --follow --kind job >"$tmp/follow" 2>&1 &
follower=$!
pids+=("$follower")
sleep 1
id3=$("$cli" --server "$server" --access "$access" submit --name followed -- true)
followed() { grep -q "job job=$id3 " "$tmp/follow"; }
check "events --follow over TLS: a job submitted meanwhile shows" wait_until 10 followed
kill "$follower" 2>/dev/null

# --- refusals -----------------------------------------------------------------------------------
sed -E 's/"key":"[0-9a-f]{64}"/"key":"'"$(printf '%064d' 7)"'"/' "$access" >"$tmp/wrong.json"
chmod 600 "$tmp/wrong.json"
"$cli" --server "$server" --access "$tmp/wrong.json" ls >/dev/null 2>"$tmp/err"
rc=$?
check "a wrong key: exit 3 ($rc)" [ "$rc" = 3 ]
check "a wrong key: the handshake failed, said so ($(cat "$tmp/err"))" grep -q "refused the key" "$tmp/err"
"$cli" --server "$server" ls >/dev/null 2>"$tmp/err"
rc=$?
check "no access file: exit 3 ($rc)" [ "$rc" = 3 ]
check "no access file: said so ($(cat "$tmp/err"))" grep -q "needs the daemon's access file" "$tmp/err"
"$cli" --server "$server" --access "$tmp/nonexistent.json" ls >/dev/null 2>"$tmp/err"
check "a missing access file: said so ($(cat "$tmp/err"))" grep -q "cannot read the access file" "$tmp/err"
# A server that ignores the key and shows a certificate instead (what
# one who took the address would run): refused, not talked to.
if command -v openssl >/dev/null; then
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=x -days 1 \
		-keyout "$tmp/fake.key" -out "$tmp/fake.crt" >/dev/null 2>&1
	fport=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
	(sleep 20 | openssl s_server -quiet -accept "127.0.0.1:$fport" -cert "$tmp/fake.crt" \
		-key "$tmp/fake.key" -tls1_3 -ciphersuites TLS_AES_128_GCM_SHA256 >/dev/null 2>&1) &
	fake=$!
	pids+=("$fake")
	for _ in $(seq 50); do (exec 3<>"/dev/tcp/127.0.0.1/$fport") 2>/dev/null && break; sleep 0.1; done
	sed -E "s/\"server\":\"[^\"]*\"/\"server\":\"127.0.0.1:$fport\"/" "$access" >"$tmp/fake.json"
	chmod 600 "$tmp/fake.json"
	timeout 10 "$cli" --access "$tmp/fake.json" ls >/dev/null 2>"$tmp/err"
	rc=$?
	check "a server with a certificate instead of the key: refused, exit 3 ($rc: $(cat "$tmp/err"))" \
		[ "$rc" = 3 ]
	pkill -P "$fake" 2>/dev/null; kill "$fake" 2>/dev/null
else
	echo "SKIP the server without the key: no openssl program"
fi
cp "$access" "$tmp/open.json"
chmod 644 "$tmp/open.json"
"$cli" --server "$server" --access "$tmp/open.json" ls >/dev/null 2>"$tmp/err"
check "an access file others may read is refused ($(cat "$tmp/err"))" grep -q "others may read" "$tmp/err"

curl -s -m 5 "http://127.0.0.1:$port/health" >"$tmp/plain" 2>&1
rc=$?
check "plain HTTP to the TLS port: closed, no answer (curl $rc)" [ "$rc" = 52 ] || [ "$rc" = 56 ]
check "plain HTTP: nothing came back" [ ! -s "$tmp/plain" ]
python3 - "$port" >"$tmp/garbage" 2>&1 <<'PY'
import os, socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.settimeout(5)
s.sendall(os.urandom(2048))
got = b""
try:
    while True:
        b = s.recv(4096)
        if not b:
            break
        got += b
except socket.timeout:
    print("still open"); sys.exit(1)
except ConnectionResetError:
    pass
print("closed", len(got))
PY
check "garbage instead of a ClientHello: closed ($(cat "$tmp/garbage"))" grep -q closed "$tmp/garbage"

# --- half-open handshakes --------------------------------------------------------------------------
# 100 connections that send the first bytes of a ClientHello and stop; a
# good client is served meanwhile; all are closed at the 1 s timeout.
python3 - "$port" "$cli" "$server" "$access" >"$tmp/halfopen" 2>&1 <<'PY'
import socket, subprocess, sys, time
port, cli, server, access = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
held = []
for _ in range(100):
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03")   # a ClientHello's start
    held.append(s)
t = time.time()
r = subprocess.run([cli, "--server", server, "--access", access, "ls", "--limit", "1"],
                   capture_output=True, timeout=20)
print("good client rc", r.returncode, "in %.2f s" % (time.time() - t))
closed = 0
deadline = time.time() + 6
for s in held:
    s.settimeout(max(0.01, deadline - time.time()))
    try:
        if s.recv(1) == b"":
            closed += 1
    except (socket.timeout, ConnectionResetError):
        closed += s.fileno() >= 0 and 0
print("closed", closed, "of", len(held))
PY
check "100 half-open handshakes do not stop a good client ($(head -1 "$tmp/halfopen"))" grep -q "good client rc 0 " "$tmp/halfopen"
check "they are closed at --tls-handshake-timeout ($(tail -1 "$tmp/halfopen"))" grep -q "closed 100 of 100" "$tmp/halfopen"

# --- the Unix socket is as it was ----------------------------------------------------------------
req GET /health
check "the Unix socket still answers" [ "$code" = 200 ]
req POST /jobs '{"command":["true"],"name":"unix"}'
check "a submission over the Unix socket" [ "$code" = 201 ]
req GET "/jobs/$(field job_id)"
check "... names its peer from SO_PEERCRED (uid $(field uid))" [ "$(field uid)" = "$(id -u)" ]
out=$("$cli" --socket "$sock" ls --name unix 2>&1)
check "the CLI on the Unix socket" grep -q unix <<<"$out"

# --- the key outlives a restart ------------------------------------------------------------------
key=$(grep -o '"key":"[^"]*"' "$access")
stop_daemon || true
start_daemon --paused --listen 127.0.0.1:0
check "a restart keeps the key" [ "$(grep -o '"key":"[^"]*"' "$access")" = "$key" ]
check "... and the file stays 0600" [ "$(stat -c %a "$access")" = 600 ]
out=$(JOBRING_ACCESS=$access "$cli" ls 2>&1)
check "the same access file reaches the restarted daemon (new port)" grep -q over-tls <<<"$out"
stop_daemon || true

# --- over the share of unauthenticated connections: 503, told as such ----------------------------
start_daemon --paused --listen 127.0.0.1:0 --max-connections-per-uid 2 --tls-handshake-timeout 2
python3 - "$(grep -o '"server":"[^"]*"' "$access" | sed 's/.*:"//; s/"$//')" "$cli" "$access" \
	>"$tmp/busy" 2>&1 <<'PY'
import socket, subprocess, sys, time
host, port = sys.argv[1].rsplit(":", 1)
held = [socket.create_connection((host, int(port))) for _ in range(2)]
time.sleep(0.3)
r = subprocess.run([sys.argv[2], "--access", sys.argv[3], "ls"], capture_output=True, text=True)
print("busy rc", r.returncode, r.stderr.strip().replace("\n", " "))
silent = socket.create_connection((host, int(port)))   # refused too, and sends nothing
silent.settimeout(10)
t = time.time()
answer = silent.recv(64)
print("silent answered after %.1f s: %s" % (time.time() - t, answer[:12].decode(errors="replace")))
time.sleep(1)   # the handshake timeout (2 s) has freed the share meanwhile
r = subprocess.run([sys.argv[2], "--access", sys.argv[3], "ls"], capture_output=True, text=True)
print("later rc", r.returncode)
PY
check "over the share: exit 3, 'too many connections' ($(head -1 "$tmp/busy"))" grep -q "busy rc 3 .*too many connections" "$tmp/busy"
check "... and served once the half-open ones timed out" grep -q "later rc 0" "$tmp/busy"
check "a refused peer that sends nothing is answered 503 within 3 s, not held ($(grep silent "$tmp/busy"))" \
	grep -qE "silent answered after [0-2]\.[0-9] s: HTTP/1.1 503" "$tmp/busy"
stop_daemon || true
chmod 644 "$access"
spawn_daemon --paused --listen 127.0.0.1:0
wait "$daemon_pid" 2>/dev/null
rc=$?
check "an access file others may read: jobringd refuses to start (rc $rc)" [ "$rc" != 0 ]
check "... saying why" grep -q "access-file.*readable by others" "$tmp/daemon.log"

echo "test_tls: $pass passed, $fail failed"
[ "$fail" = 0 ]
