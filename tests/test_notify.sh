#!/usr/bin/env bash
# test_notify.sh - notifications (issue 16): a job's notify (webhook and
# command) and callback_url, a queue's notify, on end, failure and
# retries_exhausted; bad targets refused with 422; the signature checks
# out with the daemon's secret; a receiver that answers 500 gets the
# notification again until it takes it; across kill -9 of the daemon
# while notifications wait, every one is delivered at least once, a
# duplicate under the same delivery id. A command runs as the job's owner
# (root only: as jrtest_a). The webhook receiver is tests/notify/receiver.py.
# Usage: tests/test_notify.sh BUILD_DIR
set -u
build=${1:-build/debug}
build=$(cd "$build" && pwd)
daemon="$build/jobringd"
tmp=$(mktemp -d /tmp/jr-notify-XXXXXX)
chmod 755 "$tmp"
sock="$tmp/s.sock"
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

export JOBRING_SOCKET=$sock
log="$tmp/deliveries.jsonl"
touch "$log"
python3 "$here/notify/receiver.py" "$log" "$tmp/fail" "$tmp/port" &
pids+=("$!")
wait_until 10 test -s "$tmp/port" || { echo "the receiver did not start"; exit 1; }
url="http://127.0.0.1:$(cat "$tmp/port")"

# dq FILTER: a jq filter over the deliveries (an array of them, each with
# its body parsed as .B), its output raw.
dq() { jq -rs "map(. + {B: (.body | fromjson)}) | $1" "$log"; }
at() { printf 'map(select(.path == "%s"))' "$1"; }	# at PATH: a filter
delivered_to() { [ "$(dq "$(at "$1") | map(select(.status == 200)) | length")" -ge "${2:-1}" ]; }
jq_() { jq -r "$1" <<<"$body"; }

start_daemon --socket-mode 0666 --notify-backoff 100ms

# --- refused at submission ------------------------------------------------------------------
for bad in '{"url":"file:///etc/passwd"}' '{"url":"gopher://127.0.0.1/"}' '{"url":"127.0.0.1:80"}' \
	'{"url":"http://"}' '{"command":["sh","-c","true"]}' '{"command":"/bin/true"}' \
	'{"url":"http://x/","command":["/bin/true"]}' '{"on":"start","url":"http://x/"}' \
	'{"url":"http://x/","secret":"s"}' '[{"url":"http://x/1"},{"url":"http://x/2"},{"url":"http://x/3"},{"url":"http://x/4"},{"url":"http://x/5"}]'; do
	req POST /jobs "{\"command\":[\"true\"],\"notify\":$bad}"
	check "notify $bad: 422" [ "$code" = 422 ]
done
req POST /jobs '{"command":["true"],"callback_url":"file:///etc/shadow"}'
check "callback_url file://: 422" [ "$code" = 422 ]
req POST /jobs/batch "{\"command\":[\"true\"],\"notify\":{\"url\":\"ftp://x/\"}}"
check "a batch line with a bad notify: refused" [ "$code" = 422 ]
req POST /queues '{"name":"badq","notify":{"url":"file:///x"}}'
check "a queue's bad notify: 422" [ "$code" = 422 ]

# --- a job's webhook, signed -----------------------------------------------------------------
req POST /jobs "{\"command\":[\"true\"],\"name\":\"hooked\",\"notify\":{\"on\":\"end\",\"url\":\"$url/job\"}}"
check "a job with notify: 201" [ "$code" = 201 ]
jid=$(field job_id)
check "... it is delivered" wait_until 10 delivered_to /job
check "... event end" [ "$(dq "$(at /job)[0].B.event")" = end ]
check "... the payload names the job" [ "$(dq "$(at /job)[0].B.job.id")" = "$jid" ]
check "... and its status" [ "$(dq "$(at /job)[0].B.job.status")" = succeeded ]
check "... the delivery header is the payload's id" \
	[ "$(dq 'all(.delivery == .B.delivery_id)')" = true ]
check "the secret is 0600" [ "$(stat -c %a "$tmp/state/notify.secret")" = 600 ]
sig=$(dq "$(at /job)[0].body" | tr -d '\n' |
	openssl dgst -sha256 -hmac "$(cat "$tmp/state/notify.secret")" -r | cut -d' ' -f1)
check "the signature verifies with the secret" [ "$(dq "$(at /job)[0].signature")" = "sha256=$sig" ]
check "... and a wrong one does not" not [ "$(dq "$(at /job)[0].signature")" = "sha256=$(printf x | openssl dgst -sha256 -hmac k -r | cut -d' ' -f1)" ]
wait_until 5 sh -c "curl -s --unix-socket $sock http://j/jobs/$jid | grep -q '\"state\":\"delivered\"'"
req GET "/jobs/$jid"
check "the job shows its notification delivered" \
	[ "$(jq_ '.notifications[0].state')" = delivered ]
check "... a webhook, on end, 1 attempt" \
	[ "$(jq_ '.notifications[0] | "\(.target) \(.event) \(.attempts)"')" = "webhook end 1" ]

# --- callback_url, failure, retries_exhausted ----------------------------------------------------
req POST /jobs "{\"command\":[\"false\"],\"callback_url\":\"$url/cb\"}"
check "callback_url: 201" [ "$code" = 201 ]
check "... delivered on end" wait_until 10 delivered_to /cb
req POST /jobs "{\"command\":[\"true\"],\"notify\":{\"on\":\"failure\",\"url\":\"$url/onfail-ok\"}}"
req POST /jobs "{\"command\":[\"false\"],\"notify\":{\"on\":[\"failure\"],\"url\":\"$url/onfail\"}}"
check "on failure: a failed job notifies" wait_until 10 delivered_to /onfail
check "... as event failure" [ "$(dq "$(at /onfail)[0].event")" = failure ]
req POST /jobs "{\"command\":[\"false\"],\"max_retries\":1,\"retry_backoff\":\"50ms\",\"notify\":{\"on\":[\"end\",\"retries_exhausted\"],\"url\":\"$url/exhausted\"}}"
check "retries exhausted: notified" wait_until 10 delivered_to /exhausted
check "... as event retries_exhausted" \
	[ "$(dq "$(at /exhausted)[0].event")" = retries_exhausted ]
check "... once" [ "$(dq "$(at /exhausted) | length")" = 1 ]
check "a succeeded job does not notify on failure" [ "$(dq "$(at /onfail-ok) | length")" = 0 ]

# --- a queue's notify ---------------------------------------------------------------------------
req POST /queues "{\"name\":\"nq\",\"notify\":{\"on\":\"end\",\"url\":\"$url/queue\"}}"
check "a queue with notify: 201" [ "$code" = 201 ]
check "... shown to its owner" grep -q "$url/queue" <<<"$body"
req POST /jobs '{"command":["true"],"queue":"nq"}'
check "a job of the queue notifies" wait_until 10 delivered_to /queue
req PATCH /queues/nq '{"notify":null}'
check "PATCH notify null: 200" [ "$code" = 200 ]
req POST /jobs '{"command":["true"],"queue":"nq"}'
qjid=$(field job_id)
wait_status "$qjid" succeeded
sleep 0.3
check "... cleared: no more" [ "$(dq "$(at /queue) | length")" = 1 ]

# --- a schedule's notify: its jobs' ------------------------------------------------------------
req POST /schedules "{\"name\":\"tick\",\"every\":\"1s\",\"overlap\":\"allow\",\"notify\":{\"url\":\"$url/sched\"},\"job\":{\"command\":[\"true\"]}}"
check "a schedule with notify: 201" [ "$code" = 201 ]
sid=$(field id)
check "... its fired job notifies" wait_until 10 delivered_to /sched
req DELETE "/schedules/$sid"
req POST /schedules '{"name":"bad","every":"1h","notify":{"url":"file:///x"},"job":{"command":["true"]}}'
check "a schedule's bad notify: 422" [ "$code" = 422 ]

# --- a command, as the job's owner ------------------------------------------------------------
mkdir -m 777 "$tmp/cmd"
cmdjob() {	# cmdjob NAME: a job whose notify command writes its uid and its stdin
	printf '{"command":["true"],"cwd":"/","notify":{"command":["/bin/sh","-c","id -u > %s/%s.uid; cat > %s/%s.json"]}}' \
		"$tmp/cmd" "$1" "$tmp/cmd" "$1"
}
req POST /jobs "$(cmdjob mine)"
cjid=$(field job_id)
check "a command notify runs" wait_until 10 test -s "$tmp/cmd/mine.json"
check "... as the job's owner" [ "$(cat "$tmp/cmd/mine.uid")" = "$(id -u)" ]
check "... with the event on stdin" grep -q "\"id\":\"$cjid\"" "$tmp/cmd/mine.json"
if [ "$(id -u)" = 0 ] && command -v runuser >/dev/null && command -v useradd >/dev/null; then
	for u in jrtest_a jrtest_b; do id "$u" >/dev/null 2>&1 || useradd -M -s /bin/sh "$u"; done
	as jrtest_a POST /jobs "$(cmdjob theirs)"
	check "another user's command notify: 201" [ "$code" = 201 ]
	check "... runs" wait_until 10 test -s "$tmp/cmd/theirs.uid"
	check "... as that user, not as root" [ "$(cat "$tmp/cmd/theirs.uid")" = "$(id -u jrtest_a)" ]
	as jrtest_b PATCH /queues/nq "{\"notify\":{\"url\":\"$url/steal\"}}"
	check "a user cannot set a queue's notify (others' jobs): 403" [ "$code" = 403 ]
	as jrtest_b GET "/jobs/$cjid"
	check "another user does not see a job's notifications" not grep -q notifications <<<"$body"
else
	echo "SKIP: the other-user checks need root, runuser and useradd"
fi

tried_twice() { [ "$(dq "$(at /flaky) | length")" -ge 2 ]; }
# crash_jobs_are N FILTER: N jobs have deliveries at /crash that FILTER keeps
crash_jobs_are() { [ "$(dq "$(at /crash) | map($2) | map(.B.job.id) | unique | length")" = "$1" ]; }

# --- a receiver that fails, then recovers ---------------------------------------------------------
touch "$tmp/fail"
req POST /jobs "{\"command\":[\"true\"],\"notify\":{\"url\":\"$url/flaky\"}}"
fjid=$(field job_id)
check "a failing receiver is tried again" \
	wait_until 10 tried_twice
req GET "/jobs/$fjid"
check "... the job shows it queued, its last error" grep -q '"last_error":"HTTP 500"' <<<"$body"
rm "$tmp/fail"
check "... delivered once the receiver recovers" wait_until 15 delivered_to /flaky
check "... every try under one delivery id" \
	[ "$(dq "$(at /flaky) | map(.delivery) | unique | length")" = 1 ]
wait_until 5 sh -c "curl -s --unix-socket $sock http://j/jobs/$fjid | grep -q '\"state\":\"delivered\"'"
req GET "/jobs/$fjid"
check "... the job shows it delivered after several attempts" \
	[ "$(jq_ '.notifications[0] | .attempts >= 2 and .state == "delivered"')" = true ]

# --- kill -9 while notifications wait ----------------------------------------------------------
touch "$tmp/fail"
n=10
ids=()
for i in $(seq $n); do
	req POST /jobs "{\"command\":[\"true\"],\"notify\":{\"url\":\"$url/crash\"}}"
	ids+=("$(field job_id)")
done
for id in "${ids[@]}"; do wait_status "$id" succeeded; done
check "the receiver refused the first tries" \
	wait_until 10 crash_jobs_are "$n" .
req POST /snapshot
wait_until 5 sh -c "ls -d $tmp/state/snapshot-* >/dev/null 2>&1"
sleep 0.3
stop_daemon KILL
rm "$tmp/fail"
start_daemon --socket-mode 0666 --notify-backoff 100ms
check "after kill -9: every job's notification delivered" \
	wait_until 20 crash_jobs_are "$n" 'select(.status == 200)'
check "... a job's tries all carry one delivery id" \
	[ "$(dq "$(at /crash) | group_by(.B.job.id) | all(map(.delivery) | unique | length == 1)")" = true ]
req GET "/jobs/${ids[0]}"
check "... and the job shows it delivered" wait_until 5 sh -c "curl -s --unix-socket $sock http://j/jobs/${ids[0]} | grep -q '\"state\":\"delivered\"'"
# Delivered ones stay delivered across a restart: nothing is sent again.
before=$(dq length)
stop_daemon KILL
start_daemon --socket-mode 0666 --notify-backoff 100ms
sleep 1
check "a restart sends nothing already delivered" [ "$(dq length)" = "$before" ]
req GET "/jobs/$jid"
check "... the first job still shows its delivery" [ "$(jq_ '.notifications[0].state')" = delivered ]
check "a clean stop (exit 0)" stop_daemon
check "no sanitizer report in the daemon's log" not grep -q Sanitizer "$tmp/daemon.log"

echo "test_notify: $pass passed, $fail failed"
[ "$fail" = 0 ]
