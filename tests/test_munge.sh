#!/usr/bin/env bash
# test_munge.sh - MUNGE credentials on jobringd --listen (issue 17,
# --munge), with a real munged this test starts with its own key and
# socket: the daemon writes a MUNGE access file (0644, no secret: the
# server and its certificate's fingerprint) and keeps the certificate's
# key 0600, the same across a restart; a client holding that file
# submits over TLS as its own uid, root's job running as root and
# nobody's as nobody (a root daemon); a jobring-worker registers with it
# and runs an external job; the access file's key still works
# beside it; a server whose certificate is not the file's is refused by
# the client; no munged, or a munged with another key, is a clear error
# (exit 3); a request without a credential, or with one not made for the
# connection (munge -n: no binding), is refused 401 and the connection
# closed; no body is taken before the credential; a hung munged costs
# the loop 250 ms, then credentials are answered 503 for 5 s (a message,
# exit 3). Skipped, saying why, when not root or when munged, munge or
# openssl is missing (make deps installs munge).
# Usage: tests/test_munge.sh BUILD_DIR
set -u
build=${1:-build/debug}
daemon="$build/jobringd"
cli="$build/jobring"
tmp=$(mktemp -d /tmp/jr-munge-XXXXXX)
sock="$tmp/s.sock"
. "$(dirname "$0")/lib.sh"
unset JOBRING_SERVER JOBRING_ACCESS JOBRING_MUNGE_SOCKET

skip() { echo "test_munge: skipped: $1"; exit 0; }
[ "$(id -u)" = 0 ] || skip "not root (a second uid and munged's key)"
for b in munged munge openssl runuser; do
	command -v "$b" >/dev/null 2>&1 || skip "$b not installed (make deps: munge, openssl)"
done

# munge_start DIR: a munged with a key of its own, its socket DIR/sock
# reachable by every user (as /run/munge's is).
munge_start() {
	mkdir -m 0755 "$1"
	dd if=/dev/urandom of="$1/key" bs=1024 count=1 status=none
	chmod 0400 "$1/key"
	munged --force --socket="$1/sock" --key-file="$1/key" --log-file="$1/log" \
		--pid-file="$1/pid" --seed-file="$1/seed" >"$1/out" 2>&1 || return 1
	for _ in $(seq 50); do [ -s "$1/pid" ] && break; sleep 0.1; done
	[ -s "$1/pid" ] && pids+=("$(cat "$1/pid")") && [ -S "$1/sock" ]
}
chmod 711 "$tmp"	# nobody reaches the munged sockets and its copy of the CLI
munge_start "$tmp/munge" || skip "munged did not start: $(cat "$tmp/munge/out" "$tmp/munge/log" 2>/dev/null)"
msock=$tmp/munge/sock

start_daemon --listen 127.0.0.1:0 --munge --munge-socket "$msock" --tls-handshake-timeout 2
macc=$tmp/state/access-munge.json
server=$(grep -o '"server":"[^"]*"' "$macc" | sed 's/.*:"//; s/"$//')
port=${server##*:}

# --- the files -------------------------------------------------------------------------------------
check "the MUNGE access file is 0644 ($(stat -c %a "$macc"))" [ "$(stat -c %a "$macc")" = 644 ]
check "it says munge and names the listener ($server)" grep -q '"auth":"munge"' "$macc"
check "it holds no key" not grep -q '"key"' "$macc"
pin=$(grep -o '"certificate_sha256":"[0-9a-f]*"' "$macc" | sed 's/.*:"//; s/"$//')
check "it names a SHA-256 fingerprint ($pin)" [ ${#pin} = 64 ]
check "the certificate's key is kept 0600 ($(stat -c %a "$tmp/state/listen.pem"))" \
	[ "$(stat -c %a "$tmp/state/listen.pem")" = 600 ]
real=$(openssl x509 -in "$tmp/state/listen.pem" -outform DER | sha256sum | cut -d' ' -f1)
check "the fingerprint is the certificate's ($real)" [ "$real" = "$pin" ]

# --- submitters as themselves ------------------------------------------------------------------------
export JOBRING_MUNGE_SOCKET=$msock
id1=$("$cli" --access "$macc" submit --name root-munge -- id -u 2>"$tmp/err")
check "root submits with MUNGE ($(cat "$tmp/err"))" [ -n "$id1" ]
wait_status "$id1" succeeded
check "root's job is root's (uid $(field uid))" [ "$(field uid)" = 0 ]
mkdir -m 0755 "$tmp/pub"
cp "$macc" "$tmp/pub/access-munge.json"
install -m 0755 "$cli" "$tmp/pub/jobring"
share_sanitizer_files "$tmp/pub"
nobody_uid=$(id -u nobody)
id2=$(cd / && runuser -u nobody -- env JOBRING_MUNGE_SOCKET="$msock" \
	"$tmp/pub/jobring" --access "$tmp/pub/access-munge.json" submit --name nobody-munge -- id -u 2>"$tmp/err")
check "nobody submits with MUNGE ($(cat "$tmp/err"))" [ -n "$id2" ]
wait_status "$id2" succeeded
check "nobody's job is nobody's (uid $(field uid))" [ "$(field uid)" = "$nobody_uid" ]
req GET "/jobs/$id2/logs?stream=stdout"
check "and ran as nobody ($body)" grep -qF "\"data\":\"$nobody_uid\\n\"" <<<"$body"
out=$(cd / && runuser -u nobody -- env JOBRING_MUNGE_SOCKET="$msock" \
	"$tmp/pub/jobring" --access "$tmp/pub/access-munge.json" cancel "$id1" 2>&1)
rc=$?
check "nobody may not cancel root's job (exit $rc: $out)" [ "$rc" != 0 ]
id3=$("$cli" --access "$tmp/state/access.json" submit --name by-key -- true 2>"$tmp/err")
check "the access file's key still works beside it ($(cat "$tmp/err"))" [ -n "$id3" ]

# --- a jobring-worker with the MUNGE access file ----------------------------------------------------
"$build/jobring-worker" --server "$server" --access "$macc" --name munge-worker --no-cgroups \
	--output-dir "$tmp/wout" --heartbeat 300ms 2>"$tmp/worker.log" &
pids+=("$!")
id4=$("$cli" --socket "$sock" submit --external --name remote -- echo from-worker)
wait_status "$id4" succeeded
check "a jobring-worker registered with MUNGE ran an external job ($(field status); $(tail -n 2 "$tmp/worker.log"))" \
	[ "$(field status)" = succeeded ]
check "... its output is the job's" grep -q from-worker "$tmp/wout/$id4.out"

# --- refusals -----------------------------------------------------------------------------------------
sed "s/$pin/$(printf '%064d' 0)/" "$macc" >"$tmp/wrong-pin.json"
"$cli" --access "$tmp/wrong-pin.json" ls >/dev/null 2>"$tmp/err"
rc=$?
check "another certificate's fingerprint: exit 3 ($rc)" [ "$rc" = 3 ]
check "... said so ($(cat "$tmp/err"))" grep -q "is not the one" "$tmp/err"
JOBRING_MUNGE_SOCKET=$tmp/no-such-socket "$cli" --access "$macc" ls >/dev/null 2>"$tmp/err"
rc=$?
check "no munged: exit 3 ($rc; $(cat "$tmp/err"))" [ "$rc" = 3 ] && grep -q "no MUNGE credential" "$tmp/err"
if munge_start "$tmp/munge2"; then
	JOBRING_MUNGE_SOCKET=$tmp/munge2/sock "$cli" --access "$macc" ls >/dev/null 2>"$tmp/err"
	rc=$?
	check "a munged with another key: exit 3 ($rc; $(cat "$tmp/err"))" \
		[ "$rc" = 3 ] && grep -q "MUNGE credential" "$tmp/err"
else
	check "a second munged starts" false
fi

# tls_request [CREDENTIAL]: GET /health over TLS without the key, with
# "Authorization: MUNGE CREDENTIAL" if given; the answer's first line.
tls_request() {
	local auth=""
	[ -n "${1:-}" ] && auth="Authorization: MUNGE $1"$'\r\n'
	printf 'GET /health HTTP/1.1\r\nHost: x\r\n%s\r\n' "$auth" |
		timeout 10 openssl s_client -connect "127.0.0.1:$port" -tls1_3 -quiet 2>/dev/null |
		head -n 1 | tr -d '\r'
}
out=$(tls_request)
check "no credential: 401 ($out)" [ "$out" = "HTTP/1.1 401 Unauthorized" ]
cred=$(munge -n -S "$msock")
out=$(tls_request "$cred")
check "a credential not made for the connection: 401 ($out)" [ "$out" = "HTTP/1.1 401 Unauthorized" ]
printf 'GET /health HTTP/1.1\r\nHost: x\r\nAuthorization: MUNGE %s\r\n\r\n' "$(munge -n -S "$msock")" |
	timeout 10 openssl s_client -connect "127.0.0.1:$port" -tls1_3 -quiet 2>/dev/null >"$tmp/answer"
check "... its body names why" grep -q '"code":"munge_rejected"' "$tmp/answer"

# Before its credential a connection may not send a body: no 100
# Continue, and a large one is refused as its head arrives.
out=$(printf 'POST /jobs HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 1000000\r\n\r\n' |
	timeout 10 openssl s_client -connect "127.0.0.1:$port" -tls1_3 -quiet 2>/dev/null | head -n 1 | tr -d '\r')
check "a body before the credential: refused at once, no 100 Continue ($out)" \
	[ "$out" = "HTTP/1.1 413 Content Too Large" ]

# A munged that hangs: a credential waits for it 250 ms at most, and the
# loop goes on meanwhile; then credentials are answered 503 for 5 s.
if [ -s "$tmp/munge2/pid" ]; then
	kill -STOP "$(cat "$tmp/munge/pid")"
	t0=$(date +%s%N)
	JOBRING_MUNGE_SOCKET=$tmp/munge2/sock "$cli" --access "$macc" ls >/dev/null 2>"$tmp/err" &
	hung_client=$!
	sleep 0.1
	h0=$(date +%s%N)
	curl -s -m 5 --unix-socket "$sock" http://x/health >/dev/null
	h_ms=$((($(date +%s%N) - h0) / 1000000))
	wait "$hung_client"
	rc=$?
	c_ms=$((($(date +%s%N) - t0) / 1000000))
	check "munged hung: the client is told at once (exit $rc in $c_ms ms: $(cat "$tmp/err"))" \
		[ "$rc" = 3 ] && [ "$c_ms" -lt 3000 ] && grep -q "could not take" "$tmp/err"
	check "... and the socket answers meanwhile ($h_ms ms)" [ "$h_ms" -lt 1000 ]
	kill -CONT "$(cat "$tmp/munge/pid")"
	sleep 5.2
	out=$("$cli" --access "$macc" ls 2>&1)
	check "munged back: credentials are checked again ($(head -c 200 <<<"$out"))" grep -q root-munge <<<"$out"
fi

# --- a restart keeps the certificate ---------------------------------------------------------------
stop_daemon
rc=$?
check "jobringd stopped cleanly, no sanitizer report (exit $rc; $(grep -m1 -E 'ERROR|runtime error' "$tmp/daemon.log"))" [ "$rc" = 0 ]
start_daemon --listen 127.0.0.1:0 --munge --munge-socket "$msock"
pin2=$(grep -o '"certificate_sha256":"[0-9a-f]*"' "$macc" | sed 's/.*:"//; s/"$//')
check "after a restart the fingerprint is the same" [ "$pin2" = "$pin" ]
out=$("$cli" --access "$macc" ls 2>&1)
check "and clients still get in (ls: $(head -c 200 <<<"$out"))" grep -q root-munge <<<"$out"
stop_daemon
rc=$?
check "and stopped cleanly again (exit $rc)" [ "$rc" = 0 ]

echo "test_munge: $pass passed, $fail failed"
[ "$fail" = 0 ]
