#!/usr/bin/env bash
# test_daemon.sh - the real jobringd driven through curl --unix-socket (a
# real HTTP client) and the jobring CLI: every endpoint and every error
# code, external workers and heartbeat expiry, the socket's mode, a clean
# stop on SIGTERM, and (as root, with useradd) jobs running as the uid that
# submitted them. Usage: tests/test_daemon.sh BUILD_DIR
set -u
build=${1:-build/debug}
daemon="$build/jobringd"
cli="$build/jobring"
tmp=$(mktemp -d /tmp/jr-daemon-XXXXXX)
chmod 755 "$tmp"
sock="$tmp/s.sock"
. "$(dirname "$0")/lib.sh"


start_daemon --heartbeat-timeout 5 --max-request 1M --capabilities avx2
check "socket is owner-only" [ "$(stat -c %a "$sock")" = 600 ]

# --- jobs ------------------------------------------------------------------
req GET /health
check "health 200" [ "$code" = 200 ]
req POST /jobs '{"name":"hi","command":["sh","-c","echo out; echo err >&2"],"priority":5,"requirements":{"cpus":1,"memory":"1M"}}'
check "submit 201" [ "$code" = 201 ]
id=$(field job_id)
check "job id is 16 hex digits" [ "${#id}" = 16 ]
check "job succeeds" wait_status "$id" succeeded
req GET "/jobs/$id"
check "show 200" [ "$code" = 200 ]
check "show has requirements" grep -q '"requirements":{"cpus":1,"memory":"1M"}' <<<"$body"
check "show has created_at RFC 3339" grep -qE '"created_at":"20[0-9]{2}-[0-9]{2}-[0-9]{2}T' <<<"$body"
req GET "/jobs/$id/logs?stream=stderr"
check "logs stderr" grep -q '"data":"err\\n"' <<<"$body"
req PUT "/jobs/$id/cancel"
check "cancel finished 409" [ "$code" = 409 ]
check "409 is a JSON error" grep -q '"error":{"code":"already_finished"' <<<"$body"
req GET /jobs/0000000000000000
check "unknown id 404" [ "$code" = 404 ]
req GET /jobs/zz
check "malformed id 404" [ "$code" = 404 ]
req DELETE /jobs
check "wrong method 405" [ "$code" = 405 ]
req GET /nowhere
check "unknown path 404" [ "$code" = 404 ]
req POST /jobs '{"command":["true"'
check "malformed JSON 400" [ "$code" = 400 ]
req POST /jobs '{"command":"true"}'
check "wrong type 400" [ "$code" = 400 ]
req POST /jobs '{"command":["true"],"priority":2147483648}'
check "priority out of range 422" [ "$code" = 422 ]
req POST /jobs '{"command":["true"],"priority":1.5}'
check "priority not whole 422" [ "$code" = 422 ]
req POST /jobs '{"command":["true"],"priority":-2147483648,"name":"lowest"}'
check "int32 priority 201" [ "$code" = 201 ]
req GET "/jobs/$(field job_id)"
check "int32 priority kept" [ "$(field priority)" = -2147483648 ]
req POST /jobs '{"command":["true"],"priority":100000,"name":"wide"}'
wide=$(field job_id)
req GET "/jobs?priority=100000"
check "filter by wide priority" grep -q "\"$wide\"" <<<"$body"
check "filter by wide priority: only it" [ "$(grep -o '"job_id"' <<<"$body" | wc -l)" = 1 ]
req POST /jobs '{"command":["true"],"dependencies":["00000000deadbeef"]}'
check "unknown dependency 422" [ "$code" = 422 ]
req POST /jobs '{"command":["true"],"requirements":{"cpus":4096}}'
check "impossible resources 422" [ "$code" = 422 ]
req POST /jobs '{"command":["true"],"timeout":"soon"}'
check "bad duration 422" [ "$code" = 422 ]
req POST /jobs '{"command":["true"],"scheduled_at":"tomorrow"}'
check "bad time 422" [ "$code" = 422 ]
req POST /jobs '{"command":["true"],"colour":"blue"}'
check "unknown field 422" [ "$code" = 422 ]
req POST /jobs '{"command":["true"],"queue":"nope"}'
check "unknown queue 422" [ "$code" = 422 ]
big=$(head -c 1100000 /dev/zero | tr '\0' 'x')
code=$(printf '%s' "$big" | curl -s -o /dev/null -w '%{http_code}' --unix-socket "$sock" -X POST --data-binary @- http://x/jobs)
check "over --max-request 413" [ "$code" = 413 ]

req POST /jobs '{"command":["sleep","30"],"name":"long"}'
long=$(field job_id)
check "long job runs" wait_status "$long" running
req PUT "/jobs/$long/cancel"
check "cancel running 200" [ "$code" = 200 ]
check "cancelled" wait_status "$long" cancelled

at=$(date -u -d '+1 hour' +%Y-%m-%dT%H:%M:%SZ)
req POST /jobs "{\"command\":[\"true\"],\"scheduled_at\":\"$at\"}"
later=$(field job_id)
check "delayed job is pending" wait_status "$later" pending
req POST /jobs "{\"command\":[\"true\"],\"dependencies\":[\"$later\"],\"priority\":1}"
dep=$(field job_id)
check "dependent is pending" wait_status "$dep" pending
req PUT "/jobs/$later/cancel"
check "dependent cancelled with its dependency" wait_status "$dep" cancelled
req GET "/jobs/$dep"
check "reason dependency_failed" [ "$(field reason)" = dependency_failed ]

batch=$(printf '{"command":["true"],"priority":2}\n{"command":["true"],"priority":2}\n\n{"command":["false"],"priority":2,"max_retries":1,"timeout":"1m"}\n')
req POST /jobs/batch "$batch"
check "batch 201" [ "$code" = 201 ]
check "batch count 3" [ "$(field count)" = 3 ]
req POST /jobs/batch "$(printf '{"command":["true"]}\n{"command":["true"],"priority":2147483648}\nnot json\n')"
check "bad batch 422" [ "$code" = 422 ]
check "bad batch names lines 2 and 3" grep -q '"line":2.*"line":3' <<<"$body"
req POST /jobs/batch ''
check "empty batch 400" [ "$code" = 400 ]
sleep 0.5
req GET "/jobs?status=succeeded&priority=2&limit=1"
check "list 200" [ "$code" = 200 ]
cursor=$(field next_cursor)
check "list pages" [ -n "$cursor" ] && [ "$cursor" != null ]
req GET "/jobs?status=succeeded&priority=2&limit=1&cursor=$cursor"
check "second page" grep -q '"status":"succeeded"' <<<"$body"
req GET "/jobs?status=bogus"
check "bad filter 422" [ "$code" = 422 ]

# --- queues, metrics ---------------------------------------------------------
req POST /queues '{"name":"gpu","priority":6,"max_workers":2}'
check "queue create 201" [ "$code" = 201 ]
req POST /queues '{"name":"gpu"}'
check "queue exists 409" [ "$code" = 409 ]
req GET /queues
check "queue listed" grep -q '"name":"gpu","priority":6' <<<"$body"
req POST /jobs '{"command":["true"],"queue":"gpu"}'
check "queue default priority" [ "$code" = 201 ]
req GET "/jobs/$(field job_id)"
check "job has the queue's priority" [ "$(field priority)" = 6 ]
req GET /metrics
check "metrics 200" [ "$code" = 200 ]
for m in jobring_jobs jobring_queue_depth jobring_job_wait_seconds_bucket \
	jobring_worker_utilization jobring_socket_requests_total; do
	check "metric $m" grep -q "^$m" <<<"$body"
done

# --- external workers and executions -------------------------------------------
req POST /workers/register '{"name":"gpu-box","capabilities":["gpu","avx2"],"resources":{"gpus":4}}'
check "register 201" [ "$code" = 201 ]
w=$(field worker_id)
# w stays healthy whatever the machine's load (--heartbeat-timeout 5 is
# shorter than a few curls take at load average 100): a heartbeat every
# 0.3 s from here to the end of the section. (At 3 s, a TSan daemon
# under CI's load once lost w before its completion: 409 for all four.)
(while :; do curl -s -o /dev/null --unix-socket "$sock" -X POST "http://x/workers/$w/heartbeat"; sleep 0.3; done) &
keepalive=$!
pids+=("$keepalive")
req GET "/workers/$w"
check "worker 200" [ "$code" = 200 ]
req POST "/workers/$w/heartbeat"
check "heartbeat 200" [ "$code" = 200 ]
req GET "/workers?status=idle&capabilities=gpu"
check "worker filter" grep -q "\"worker_id\":\"$w\"" <<<"$body"
req GET "/workers?capabilities=fpga"
check "worker filter excludes" not grep -q "\"worker_id\":\"$w\"" <<<"$body"
req GET /workers/w999
check "unknown worker 404" [ "$code" = 404 ]
req POST "/workers/$w/claim?wait=0"
check "nothing to claim 204" [ "$code" = 204 ]
req POST /jobs '{"name":"render","executor":"external","requirements":{"capabilities":["gpu"]},"payload":{"frame":7}}'
ext=$(field job_id)
req POST "/workers/$w/claim?wait=2"
check "claim 200" [ "$code" = 200 ]
check "claim carries the payload" grep -q '"payload":{"frame":7}' <<<"$body"
ex=$(field execution_id)
lease=$(field lease)
req GET "/executions/$ex"
check "execution 200" [ "$(field status)" = running ]
req GET "/executions?worker_id=$w&status=running"
check "executions by worker" grep -q "\"execution_id\":\"$ex\"" <<<"$body"
req POST "/executions/$ex/complete" '{"status":"succeeded","result":0}'
check "complete without the lease 403" [ "$code" = 403 ]
req POST "/executions/$ex/complete" "{\"status\":\"succeeded\",\"result\":0,\"lease\":\"$lease\"}"
check "complete 200" [ "$code" = 200 ]
req POST "/executions/$ex/complete" "{\"status\":\"succeeded\",\"lease\":\"$lease\"}"
check "complete twice 409" [ "$code" = 409 ]
req POST "/executions/$ex/complete" "{\"status\":\"maybe\",\"lease\":\"$lease\"}"
check "bad completion 422" [ "$code" = 422 ]
req GET /executions/00000000000000ff
check "unknown execution 404" [ "$code" = 404 ]
req GET "/executions?job_id=$ext"
check "executions by job" grep -q "\"status\":\"succeeded\"" <<<"$body"
req POST "/jobs/$id/execute" "{\"worker_id\":\"$w\"}"
check "execute a local job 409" [ "$code" = 409 ]
req POST /jobs '{"executor":"external"}'
ext2=$(field job_id)
sleep 0.1
req POST "/jobs/$ext2/execute" "{\"worker_id\":\"$w\"}"
check "execute assigns 201" [ "$code" = 201 ]
req POST "/jobs/$ext2/execute" '{"worker_id":"w999"}'
check "execute unknown worker 422" [ "$code" = 422 ]

# A worker that stops sending heartbeats loses its job, which is retried.
req POST /workers/register '{"name":"flaky"}'
w2=$(field worker_id)
req POST /jobs '{"executor":"external","priority":7}'	# no retries: a lost worker is not its failure
lost=$(field job_id)
req POST "/workers/$w2/claim?wait=2"
check "flaky claims" [ "$(field job_id)" = "$lost" ]
worker_status_is() { req GET "/workers/$1"; field_is status "$2"; }
check "silent worker unhealthy" wait_until 20 worker_status_is "$w2" unhealthy
req GET "/jobs/$lost"
check "its job waits for a retry" grep -qE '"status":"(pending|queued)".*"reason":"worker_lost"' <<<"$body"
req POST "/workers/$w2/claim"
check "unhealthy worker may not claim 409" [ "$code" = 409 ]

req POST "/workers/$w/claim?wait=3"
check "the retry goes to a healthy worker" [ "$(field job_id)" = "$lost" ]
check "as attempt 2" [ "$(field attempt)" = 2 ]
req POST "/executions/$(field execution_id)/complete" "{\"status\":\"succeeded\",\"lease\":\"$(field lease)\"}"

# A long poll is answered as soon as work arrives.
curl -s -o "$tmp/poll" -w '%{http_code}' --unix-socket "$sock" -X POST "http://x/workers/$w/claim?wait=5" >"$tmp/poll.code" &
poller=$!
sleep 0.3
req POST /jobs '{"executor":"external","name":"late"}'
t0=$(date +%s%N)
wait $poller
t1=$(date +%s%N)
check "long poll answered with the job" grep -q '"name":"late"' "$tmp/poll"
check "long poll answered promptly" [ $(( (t1 - t0) / 1000000 )) -lt 2000 ]

kill "$keepalive" 2>/dev/null; wait "$keepalive" 2>/dev/null

# --- the CLI ---------------------------------------------------------------------
export JOBRING_SOCKET=$sock
jid=$("$cli" submit -J cli --priority 4 -c 1 -m 1M -r 1 -t 1m -e GREETING=hello -- sh -c 'echo $GREETING')
check "cli submit prints the id" [ "${#jid}" = 16 ]
"$cli" wait "$jid" 2>/dev/null
check "cli wait 0" [ $? = 0 ]
check "cli logs" [ "$("$cli" logs "$jid")" = hello ]
"$cli" show "$jid" | grep -q '^status *succeeded'
check "cli show" [ $? = 0 ]
"$cli" ls --status succeeded --all | grep -q "^$(printf %s "$jid" | sed 's/^0*//') "	# the short id
check "cli ls" [ $? = 0 ]
"$cli" --json ls --limit 2 | grep -q '"job_id"'
check "cli ls --json" [ $? = 0 ]
fid=$("$cli" submit -- false)
"$cli" wait "$fid" 2>/dev/null
check "cli wait 4 on failure" [ $? = 4 ]
"$cli" cancel "$fid" 2>/dev/null
check "cli cancel finished 1" [ $? = 1 ]
printf 'echo a\necho b\n# note\n\necho c\n' >"$tmp/jobs.txt"
n=$("$cli" submit --file "$tmp/jobs.txt" --batch-size 2 2>/dev/null | wc -l)
check "cli submit --file" [ "$n" = 3 ]
"$cli" submit --priority high -- true 2>/dev/null
check "cli usage 2" [ $? = 2 ]
"$cli" --socket "$tmp/none.sock" stats 2>/dev/null
check "cli unreachable 3" [ $? = 3 ]
"$cli" workers | grep -q '^local'
check "cli workers" [ $? = 0 ]
"$cli" executions --worker local | grep -q succeeded
check "cli executions" [ $? = 0 ]
"$cli" stats | grep -q '^submitted'
check "cli stats" [ $? = 0 ]
for c in submit show ls cancel wait logs workers executions stats queues hold release requeue \
	update scheduler; do
	"$cli" $c --help >/dev/null
	check "cli $c --help" [ $? = 0 ]
done

# --- a clean stop ------------------------------------------------------------------
stop_daemon TERM
check "SIGTERM exits 0" [ $? = 0 ]
check "socket removed" [ ! -e "$sock" ]

# --- the connection limit --------------------------------------------------------------
start_daemon --max-connections 1 --state-dir "$tmp/state-connlimit"	# no queued jobs to claim
req POST /workers/register '{"name":"holder"}'
curl -s -o /dev/null --unix-socket "$sock" -X POST "http://x/workers/$(field worker_id)/claim?wait=3" &
holder=$!
sleep 0.3
req GET /health
check "over --max-connections 503" [ "$code" = 503 ]
check "503 is a JSON error" grep -q '"code":"too_many_connections"' <<<"$body"
wait $holder
req GET /health
check "served again once a connection closed" [ "$code" = 200 ]
stop_daemon

# --- uid separation -------------------------------------------------------------------
if [ "$(id -u)" = 0 ] && command -v useradd >/dev/null && command -v runuser >/dev/null; then
	for u in jrtest_a jrtest_b; do id "$u" >/dev/null 2>&1 || useradd -M -s /bin/sh "$u"; done
	# The other users must reach the programs and the jobs' cwd (the
	# CLI's) from any checkout, one in a directory they cannot enter
	# included (a clone in /root or under mktemp -d): copies in a 0755
	# directory, and a 0755 directory to work in.
	mkdir -m 755 "$tmp/bin" "$tmp/work"
	cp "$daemon" "$cli" "$tmp/bin/"
	share_sanitizer_files "$tmp/bin"
	daemon=$tmp/bin/jobringd
	cli=$tmp/bin/jobring
	cd "$tmp/work" || exit 1
	start_daemon --socket-mode 0666
	ua=$(id -u jrtest_a)
	jid=$(runuser -u jrtest_a -- env JOBRING_SOCKET="$sock" "$cli" submit -- sh -c 'id -u; id -g')
	check "user submits" [ "${#jid}" = 16 ]
	runuser -u jrtest_a -- env JOBRING_SOCKET="$sock" "$cli" wait "$jid" 2>/dev/null
	out=$(runuser -u jrtest_a -- env JOBRING_SOCKET="$sock" "$cli" logs "$jid" | head -1)
	check "the job ran as the submitting uid" [ "$out" = "$ua" ]
	long=$(runuser -u jrtest_a -- env JOBRING_SOCKET="$sock" "$cli" submit -- sleep 30)
	runuser -u jrtest_b -- env JOBRING_SOCKET="$sock" "$cli" cancel "$long" 2>"$tmp/err"
	check "another user cannot cancel (exit 1)" [ $? = 1 ]
	check "another user gets 403" grep -q 'HTTP 403' "$tmp/err"
	runuser -u jrtest_b -- env JOBRING_SOCKET="$sock" "$cli" logs "$jid" 2>/dev/null
	check "another user cannot read the output" [ $? = 1 ]
	"$cli" cancel "$long" >/dev/null
	check "root may cancel any job" [ $? = 0 ]
	stop_daemon
	# A daemon running as a user serves only that user.
	chown jrtest_a "$tmp"
	daemon_run=(runuser -u jrtest_a --)
	start_daemon --state-dir "$tmp/state-a" --socket-mode 0666
	daemon_run=()
	req GET /health
	check "a user's daemon refuses another uid 403" [ "$code" = 403 ]
else
	echo "SKIP: uid separation needs root, useradd and runuser"
fi

echo "test_daemon: $pass passed, $fail failed"
[ "$fail" = 0 ]
