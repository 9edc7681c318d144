#!/usr/bin/env bash
# test_owners.sh - a root jobringd shared by hostile users (issue 12):
# workers belong to the uid that registered them (heartbeat, claim,
# complete, remove: the owner or root, 403 otherwise); a worker runs only
# its owner's jobs (root's run anyone's), also through execute; a
# completion must carry the lease its claim returned (403 without it, 409
# for an attempt that is no longer current; the lease outlives a restart,
# and the owner check with it); others
# see only a job's id, name, owner, status, priority, queue and times,
# and with --private nothing of it. Two throwaway users (useradd) talk
# to the daemon through curl and the CLI (runuser). Needs root.
# Usage: tests/test_owners.sh BUILD_DIR
set -u
build=${1:-build/debug}
build=$(cd "$build" && pwd)	# the users run it from /
daemon="$build/jobringd"
cli="$build/jobring"
if [ "$(id -u)" != 0 ] || ! command -v useradd >/dev/null || ! command -v runuser >/dev/null; then
	echo "SKIP: test_owners needs root, useradd and runuser (it runs as two other users)"
	exit 0
fi
tmp=$(mktemp -d /tmp/jr-owners-XXXXXX)
chmod 755 "$tmp"	# the users reach the socket in it
sock="$tmp/s.sock"
. "$(dirname "$0")/lib.sh"
cd /	# a cwd every user can enter: jobs inherit the CLI's
# The users run the CLI from a copy they can reach: the checkout may sit
# in a directory they cannot enter (a clone in /root or under mktemp -d).
mkdir -m 755 "$tmp/bin"
cp "$daemon" "$cli" "$tmp/bin/"
share_sanitizer_files "$tmp/bin"
daemon=$tmp/bin/jobringd
cli=$tmp/bin/jobring

for u in jrtest_a jrtest_b; do id "$u" >/dev/null 2>&1 || useradd -M -s /bin/sh "$u"; done
ua=$(id -u jrtest_a)

# as USER METHOD PATH [BODY]: req, as USER ("root": as ourselves).
cli_as() { local u=$1; shift; runuser -u "$u" -- env JOBRING_SOCKET="$sock" "$cli" "$@"; }
error_is() { grep -q "\"error\":{\"code\":\"$1\"" <<<"$body"; }	# error_is CODE

start_daemon --socket-mode 0666 --heartbeat-timeout 30

# --- workers belong to who registered them ----------------------------------------------
as root POST /workers/register '{"name":"root-box"}'
wr=$(field worker_id)
as jrtest_a POST /workers/register '{"name":"a-box"}'
wa=$(field worker_id)
as jrtest_b POST /workers/register '{"name":"b-box"}'
wb=$(field worker_id)
check "three workers registered" [ -n "$wr" ] && [ -n "$wa" ] && [ -n "$wb" ]
as root GET "/workers/$wa"
check "a worker shows its owner" [ "$(field uid)" = "$ua" ]

as jrtest_b POST "/workers/$wa/heartbeat"
check "another user's heartbeat 403" [ "$code" = 403 ]
check "... a JSON error, forbidden" error_is forbidden
as jrtest_a POST "/workers/$wa/heartbeat"
check "the owner's heartbeat 200" [ "$code" = 200 ]
as root POST "/workers/$wa/heartbeat"
check "root's heartbeat of a user's worker 200" [ "$code" = 200 ]
as jrtest_a POST "/workers/$wr/claim?wait=0"
check "claim through root's worker by a user 403" [ "$code" = 403 ]
as jrtest_b POST "/workers/$wa/claim?wait=0"
check "claim through another user's worker 403" [ "$code" = 403 ]

# --- a worker runs its owner's jobs; root's run anyone's ------------------------------------
as root POST /jobs '{"name":"root-secret","executor":"external","priority":7,"payload":{"key":"rootpayload"},"env":{"TOKEN":"rootenv"},"cwd":"/root"}'
jr=$(field job_id)
as jrtest_b POST /jobs '{"name":"b-job","executor":"external","priority":6,"payload":{"b":1}}'
jb=$(field job_id)
sleep 0.2
as jrtest_a POST "/workers/$wa/claim?wait=1"
check "a user's worker does not get root's or another user's job (204)" [ "$code" = 204 ]
as jrtest_b POST "/workers/$wb/claim?wait=2"
check "a user's worker gets its owner's job" [ "$(field job_id)" = "$jb" ]
exb=$(field execution_id)
lb=$(field lease)
check "the claim carries a 128-bit lease" grep -qE '^[0-9a-f]{32}$' <<<"$lb"
as root POST "/workers/$wr/claim?wait=2"
check "root's worker gets root's job" [ "$(field job_id)" = "$jr" ]
exr=$(field execution_id)
lr=$(field lease)
check "leases differ by execution" [ "$lr" != "$lb" ]

# --- completions: the worker's owner or root, with the lease ----------------------------------
as jrtest_a POST "/executions/$exr/complete" "{\"status\":\"succeeded\",\"lease\":\"$lb\"}"
check "completing root's execution as a user 403" [ "$code" = 403 ]
as jrtest_a POST "/executions/$exb/complete" "{\"status\":\"failed\",\"lease\":\"$lb\"}"
check "failing another user's execution 403, even with its lease" [ "$code" = 403 ]
as jrtest_b POST "/executions/$exb/complete" '{"status":"succeeded"}'
check "a completion without the lease 403" [ "$code" = 403 ]
check "... invalid_lease" error_is invalid_lease
as jrtest_b POST "/executions/$exb/complete" "{\"status\":\"succeeded\",\"lease\":\"$lr\"}"
check "a completion with another execution's lease 403" [ "$code" = 403 ]
as jrtest_b POST "/executions/$exb/complete" '{"status":"succeeded","lease":"00000000000000000000000000000000"}'
check "a completion with a made-up lease 403" [ "$code" = 403 ]
as root POST "/executions/$exb/complete" '{"status":"succeeded"}'
check "root too needs the lease" [ "$code" = 403 ]
as jrtest_b GET "/jobs/$jb"
check "the refused completions left it running" [ "$(field status)" = running ]
as jrtest_b POST "/executions/$exb/complete" "{\"status\":\"failed\",\"result\":3,\"lease\":\"$lb\"}"
check "the owner fails it with the lease 200" [ "$code" = 200 ]
check "... failed" [ "$(field status)" = failed ]
as jrtest_b POST "/executions/$exb/complete" "{\"status\":\"succeeded\",\"lease\":\"$lb\"}"
check "completing it again 409" [ "$code" = 409 ]
check "... already_finished" error_is already_finished
as root POST "/executions/$exr/complete" "{\"status\":\"succeeded\",\"lease\":\"$lr\"}"
check "root completes its own with the lease 200" [ "$code" = 200 ]

# --- execute obeys the same rule --------------------------------------------------------
as root POST /jobs '{"name":"root-2","executor":"external","priority":0}'
jr2=$(field job_id)
as jrtest_a POST /jobs '{"name":"a-ext","executor":"external","priority":0}'
ja=$(field job_id)
sleep 0.2
as jrtest_a POST "/jobs/$jr2/execute" "{\"worker_id\":\"$wa\"}"
check "execute root's job on a user's worker 409" [ "$code" = 409 ]
check "... owner_mismatch" error_is owner_mismatch
as jrtest_a POST "/jobs/$jr2/execute" "{\"worker_id\":\"$wr\"}"
check "execute on root's worker by a user 403" [ "$code" = 403 ]
as root POST "/jobs/$jr2/execute" "{\"worker_id\":\"$wb\"}"
check "even root cannot run root's job on a user's worker 409" [ "$code" = 409 ]
as jrtest_b POST "/jobs/$ja/execute" "{\"worker_id\":\"$wb\"}"
check "execute another user's job on one's own worker 409" [ "$code" = 409 ]
as root GET "/jobs/$jr2"
check "the refused executes left it queued" [ "$(field status)" = queued ]
as root POST "/jobs/$ja/execute" "{\"worker_id\":\"$wr\"}"
check "root runs a user's job on root's worker 201" [ "$code" = 201 ]
exa=$(field execution_id)
la=$(field lease)
check "... with a lease" grep -qE '^[0-9a-f]{32}$' <<<"$la"
as jrtest_a POST "/executions/$exa/complete" "{\"status\":\"succeeded\",\"lease\":\"$la\"}"
check "the job's owner may not complete through root's worker 403" [ "$code" = 403 ]
as root POST "/executions/$exa/complete" "{\"status\":\"succeeded\",\"lease\":\"$la\"}"
check "root completes it 200" [ "$code" = 200 ]
as jrtest_a POST "/jobs/$ja/execute" "{\"worker_id\":\"$wa\"}"
check "a finished job is not claimable 409" [ "$code" = 409 ]

# --- a stale lease: the attempt was lost and is run again -------------------------------------
as jrtest_a POST /jobs '{"name":"a-retry","executor":"external","max_retries":1,"priority":7}'
jretry=$(field job_id)
as jrtest_a POST "/workers/$wa/claim?wait=2"
check "the user's worker claims its job" [ "$(field job_id)" = "$jretry" ]
ex1=$(field execution_id)
l1=$(field lease)

# --- remove: the owner or root -------------------------------------------------------------
runuser -u jrtest_a -- curl -s -o /dev/null -w '%{http_code}' --unix-socket "$sock" -X POST \
	"http://x/workers/$wa/claim?wait=10" >"$tmp/poll.code" &
poller=$!
sleep 0.3
as jrtest_b DELETE "/workers/$wa"
check "removing another user's worker 403" [ "$code" = 403 ]
as jrtest_a DELETE "/workers/$wa"
check "the owner removes its worker 200" [ "$code" = 200 ]
check "... gone" [ "$(field status)" = gone ]
wait $poller
check "a long poll on the removed worker ends with 404" [ "$(cat "$tmp/poll.code")" = 404 ]
as jrtest_a GET "/workers/$wa"
check "a removed worker 404" [ "$code" = 404 ]
as jrtest_a POST "/workers/$wa/heartbeat"
check "heartbeat of a removed worker 404" [ "$code" = 404 ]
as jrtest_a GET "/jobs/$jretry"
check "its execution was lost, the job waits for a retry" grep -qE '"status":"(pending|queued)".*"reason":"worker_lost"' <<<"$body"
as jrtest_a POST /workers/register '{"name":"a-box-2"}'
wa2=$(field worker_id)
check "a new worker does not take a removed one's name" [ "$wa2" != "$wa" ]
as jrtest_a POST "/workers/$wa2/claim?wait=3"
check "the retry goes to the new worker" [ "$(field job_id)" = "$jretry" ]
ex2=$(field execution_id)
l2=$(field lease)
as jrtest_a POST "/executions/$ex1/complete" "{\"status\":\"succeeded\",\"lease\":\"$l1\"}"
check "completing the lost attempt with its lease 409" [ "$code" = 409 ]
check "... lease_expired" error_is lease_expired
as jrtest_a POST "/executions/$ex2/complete" "{\"status\":\"succeeded\",\"lease\":\"$l1\"}"
check "the old lease does not complete the new attempt 403" [ "$code" = 403 ]
as jrtest_a POST "/executions/$ex2/complete" "{\"status\":\"succeeded\",\"lease\":\"$l2\"}"
check "the new lease does 200" [ "$code" = 200 ]
as root DELETE "/workers/$wb"
check "root removes a user's worker 200" [ "$code" = 200 ]

# --- visibility -----------------------------------------------------------------------------
secret_job=$(cli_as jrtest_a submit -J a-local -e APITOKEN=hunter2 -- sh -c 'echo aout')
check "a user submits through the CLI" [ "${#secret_job}" = 16 ]
cli_as jrtest_a wait "$secret_job" >/dev/null 2>&1
as jrtest_b GET "/jobs/$secret_job"
check "another user sees the job 200" [ "$code" = 200 ]
check "... its name and status" grep -q '"name":"a-local".*"status":"succeeded"' <<<"$body"
check "... its owner" [ "$(field uid)" = "$ua" ]
check "... marked redacted" grep -q '"redacted":true' <<<"$body"
for k in env command cwd payload; do
	check "... not its $k" not grep -q "\"$k\"" <<<"$body"
done
check "... nor the secret" not grep -q hunter2 <<<"$body"
as jrtest_a GET "/jobs/$secret_job"
check "the owner sees its env" grep -q '"env":{[^}]*"APITOKEN":"hunter2"' <<<"$body"
check "... and command and cwd" grep -q '"command":\["sh".*"cwd":"/"' <<<"$body"
as root GET "/jobs/$secret_job"
check "root sees its env" grep -q hunter2 <<<"$body"
as jrtest_b GET "/jobs/$jr"
check "another user sees no payload of root's job" not grep -qE 'rootpayload|rootenv|"/root"' <<<"$body"
as jrtest_b GET "/jobs?limit=1000"
check "listing: others' jobs are there" grep -q "\"job_id\":\"$jr\"" <<<"$body"
check "listing: with nothing secret" not grep -qE 'hunter2|rootpayload|rootenv' <<<"$body"
as jrtest_b GET "/executions?limit=1000"
check "executions: listed" grep -q "\"execution_id\":\"$exr\"" <<<"$body"
check "executions: nothing secret" not grep -qE 'hunter2|rootpayload|rootenv' <<<"$body"
as jrtest_b GET "/executions/$exr"
check "an execution of root's job: no payload" not grep -q rootpayload <<<"$body"
as jrtest_b GET "/executions?job_id=$jr"
check "executions by job: no payload" not grep -q rootpayload <<<"$body"
as root GET "/executions/$exr"
check "root sees the payload of the execution" grep -q rootpayload <<<"$body"
out=$(cli_as jrtest_b show "$secret_job" 2>&1)
check "cli show for another user: the job" grep -q '^status *succeeded' <<<"$out"
check "cli show for another user: not the env" not grep -q hunter2 <<<"$out"
cli_as jrtest_b logs "$secret_job" >/dev/null 2>&1
check "cli logs of another user's job refused" [ $? = 1 ]
check "cli logs for the owner" [ "$(cli_as jrtest_a logs "$secret_job")" = aout ]
out=$(cli_as jrtest_b ls --all 2>&1)
check "cli ls for another user lists the job" grep -q "^$(printf %s "$secret_job" | sed 's/^0*//') " <<<"$out"

# An earlier attempt is seen as its job is (issue 13: every execution kept).
mkdir -m 777 "$tmp/rw"
as jrtest_a POST /jobs "{\"name\":\"a-twice\",\"cwd\":\"/\",\"max_retries\":1,\"retry_backoff\":\"50ms\",\"command\":[\"sh\",\"-c\",\"if [ -e \\\"\$0\\\" ]; then echo second; else : >\\\"\$0\\\"; echo hunter3; exit 1; fi\",\"$tmp/rw/flag\"]}"
retry_job=$(field job_id)
check "a user's job that fails once, then succeeds" wait_until 20 wait_status "$retry_job" succeeded
old_exec="01${retry_job:2}"
as jrtest_b GET "/executions/$old_exec"
check "another user sees its earlier attempt 200" [ "$code" = 200 ]
check "... redacted" grep -q '"redacted":true' <<<"$body"
check "... without its command or result" not grep -qE '"command"|"result"' <<<"$body"
as jrtest_b GET "/executions/$old_exec/logs"
check "... but not its output (403)" [ "$code" = 403 ]
as jrtest_a GET "/executions/$old_exec/logs"
check "the owner reads its earlier attempt's output" grep -q '"data":"hunter3\\n"' <<<"$body"
as jrtest_a GET "/executions?job_id=$retry_job"
check "the owner lists both attempts" [ "$(grep -o '"execution_id"' <<<"$body" | wc -l)" = 2 ]

# --- a restart: leases outlive it (issue 17), owners still checked --------------------------
as root POST /jobs '{"name":"across","executor":"external","priority":7}'
jx=$(field job_id)
as root POST "/workers/$wr/claim?wait=2"
check "claimed before the restart" [ "$(field job_id)" = "$jx" ]
exx=$(field execution_id)
lx=$(field lease)
stop_daemon TERM
check "the daemon stops cleanly (exit 0)" [ $? = 0 ]

# --- --private --------------------------------------------------------------------------------
start_daemon --socket-mode 0666 --private
as root GET "/jobs/$jx"
check "a claimed external job runs on after a restart" \
	[ "$(field status)/$(field attempts)/$(field worker_id)" = "running/1/$wr" ]
as root POST "/workers/$wr/heartbeat"
as jrtest_a POST "/executions/$exx/complete" "{\"status\":\"succeeded\",\"lease\":\"$lx\"}"
check "... another uid with its lease: still 403 (or 404: --private)" \
	eval '[ "$code" = 403 ] || [ "$code" = 404 ]'
as root POST "/executions/$exx/complete" "{\"status\":\"succeeded\",\"lease\":\"$lx\"}"
check "... the last daemon's lease completes it" [ "$code" = 200 ]
as root GET "/jobs/$jx"
check "... at attempt 1" [ "$(field status)/$(field attempts)" = succeeded/1 ]
as root GET "/workers/$wa"
check "a removed worker stays removed after a restart" [ "$code" = 404 ]
as root GET "/workers/$wa2"
check "... the others are back" [ "$code" = 200 ]

as jrtest_b GET "/jobs/$secret_job"
check "--private: another user's job 404" [ "$code" = 404 ]
as jrtest_b GET "/jobs?limit=1000"
check "--private: not listed" not grep -qE "\"$secret_job\"|\"$jr\"" <<<"$body"
check "--private: one's own still listed" grep -q "\"job_id\":\"$jb\"" <<<"$body"
as jrtest_b GET "/executions?limit=1000"
check "--private: others' executions not listed" not grep -q "\"job_id\":\"$jr\"" <<<"$body"
check "--private: one's own executions listed" grep -q "\"job_id\":\"$jb\"" <<<"$body"
as jrtest_b GET "/executions/$exr"
check "--private: another user's execution 404" [ "$code" = 404 ]
as jrtest_b GET "/executions?job_id=$jr"
check "--private: executions by another's job: none" not grep -q "\"job_id\":\"$jr\"" <<<"$body"
as jrtest_b GET "/executions/$old_exec"
check "--private: another user's earlier attempt 404" [ "$code" = 404 ]
as jrtest_b GET "/executions/$old_exec/logs"
check "--private: ... and its logs 404" [ "$code" = 404 ]
as jrtest_a GET "/executions/$old_exec"
check "--private: the owner still sees it" grep -q '"exit_code":1' <<<"$body"
as jrtest_b PUT "/jobs/$secret_job/cancel"
check "--private: cancelling another user's job 404" [ "$code" = 404 ]
as jrtest_a GET "/jobs/$secret_job"
check "--private: the owner sees its job in full" grep -q hunter2 <<<"$body"
as root GET "/jobs?limit=1000"
check "--private: root lists everyone's" grep -q "\"job_id\":\"$secret_job\"" <<<"$body"
as jrtest_b POST /jobs "{\"command\":[\"true\"],\"cwd\":\"/\",\"dependencies\":[\"$secret_job\"]}"
check "--private: depending on another user's job: 422 unknown_dependency" \
	[ "$code" = 422 ] && error_is unknown_dependency
hidden_dep=$code
as jrtest_b POST /jobs '{"command":["true"],"cwd":"/","dependencies":["00000000deadbeef"]}'
check "... as for an id that does not exist" [ "$code" = "$hidden_dep" ] && error_is unknown_dependency
as jrtest_b GET /workers
check "--private: another user's workers not listed" not grep -q "\"$wr\"" <<<"$body"
as jrtest_b GET "/workers/$wr"
check "--private: another user's worker 404" [ "$code" = 404 ]
as root GET /workers
check "--private: root lists every worker" grep -q "\"$wr\"" <<<"$body"
cli_as jrtest_b show "$secret_job" >/dev/null 2>&1
check "--private: cli show of another user's job fails" [ $? != 0 ]
stop_daemon
check "the --private daemon stops cleanly (exit 0)" [ $? = 0 ]
check "no sanitizer report in the daemon's log" \
	not grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$tmp/daemon.log"

echo "test_owners: $pass passed, $fail failed"
[ "$fail" = 0 ]
