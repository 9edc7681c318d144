#!/usr/bin/env bash
# test_resources_api.sh - the resources view and storage as a resource (issue
# 14). GET /resources on a modelled two-socket host before, during and
# after jobs (per-node figures add up to the host's, and to what the jobs
# asked), the head job's reservation, jobring resources; --storage
# filesystems: a request beyond one's size or malformed is 422, requests
# queue while the space is held, and each job gets a directory of its
# own (its user's, 0700, JOBRING_SCRATCH) that is gone after success,
# failure, cancel, timeout, and a kill -9 of the daemon and a restart
# (which also sweeps directories of attempts that are over). As root the
# job runs as jrtest_a (useradd, like test_owners.sh).
# Usage: tests/test_resources_api.sh BUILD_DIR
set -u
build=${1:-build/debug}
build=$(cd "$build" && pwd)
daemon="$build/jobringd"
cli="$build/jobring"
tmp=$(mktemp -d /tmp/jr-res-XXXXXX)
chmod 755 "$tmp"	# jrtest_a reaches its scratch directory under it
sock="$tmp/s.sock"
. "$(dirname "$0")/lib.sh"
cd /

user=$(id -un)
as_other=false
if [ "$(id -u)" = 0 ] && command -v useradd >/dev/null && command -v runuser >/dev/null; then
	id jrtest_a >/dev/null 2>&1 || useradd -M -s /bin/sh jrtest_a
	as_other=true
	user=jrtest_a
fi
# post_as BODY: POST /jobs, as jrtest_a when root (its job runs as it).
post_as() {
	local out
	if $as_other; then
		out=$(runuser -u jrtest_a -- curl -s -w '\n%{http_code}' --unix-socket "$sock" \
			-X POST -H 'Content-Type: application/json' --data-binary "$1" http://jobring/jobs)
		code=${out##*$'\n'}
		body=${out%$'\n'*}
	else
		req POST /jobs "$1"
	fi
}
# py EXPR...: python statements over the answer r (json of $body); false
# when one raises (an assert).
py() { python3 -c "import json,sys; r=json.load(sys.stdin); $1" <<<"$body" 2>>"$tmp/py.log"; }
resources() { req GET /resources; }
scratch_of() { echo "$tmp/fs1/jobring/$1"; }

mkdir -m 755 "$tmp/fs1" "$tmp/fs2"
opts=(--topology "package:2 numa:1 core:8 pu:2" --memory 16G --gpus 1 --resources licenses=3
      --storage "$tmp/fs1=1G" --storage "$tmp/fs2/=200M" --socket-mode 0666 --kill-grace 1)
start_daemon "${opts[@]}"

# --- the view, idle ---------------------------------------------------------------------------
resources
check "GET /resources: 200" [ "$code" = 200 ]
check "two nodes of 8 cores, 16 PUs, 16G and a GPU each; nothing in use" py '
n = r["numa"]; h = r["host"]
assert len(n) == 2 and [x["cores"]["total"] for x in n] == [8, 8]
assert [x["pus"]["total"] for x in n] == [16, 16] and h["pus"]["total"] == 32
assert h["cores"] == {"total": 16, "used": 0} and h["memory_bytes"]["total"] == 32 << 30
assert h["gpus"] == {"total": 2, "used": 0} and r["head"] is None
assert [x["first_core"] for x in n] == [0, 8]'
check "counters: licenses, then a storage:<i> for each filesystem" py '
c = r["counters"]
assert [x["name"] for x in c] == ["licenses", "storage:0", "storage:1"]
assert c[0]["total"] == 3 and c[1]["total"] == 1 << 30 and c[2]["total"] == 200 << 20'
check "storage lists the filesystems (a trailing / dropped)" py "
s = r['storage']
assert [x['path'] for x in s] == ['$tmp/fs1', '$tmp/fs2']
assert s[1]['total_bytes'] == 200 << 20 and s[1]['used_bytes'] == 0"
check "workers: local first" py 'assert r["workers"][0]["id"] == "local" and r["workers"][0]["type"] == "local"'

# --- in use while jobs run: per node adds up to the host and to the requests --------------------
ids=()
for g in 1 0 0; do
	req POST /jobs "{\"command\":[\"sleep\",\"300\"],\"requirements\":{\"cpus\":3,\"memory\":\"1G\",\"gpus\":$g,\"licenses\":1}}"
	ids+=("$(field job_id)")
done
for id in "${ids[@]}"; do wait_status "$id" running; done
resources
check "3 jobs of 3 cores, 1G, 1 license (one with a GPU): in use adds up" py '
n = r["numa"]; h = r["host"]
assert sum(x["cores"]["used"] for x in n) == h["cores"]["used"] == 9
assert sum(x["memory_bytes"]["used"] for x in n) == h["memory_bytes"]["used"] == 3 << 30
assert sum(x["gpus"]["used"] for x in n) == h["gpus"]["used"] == 1
assert r["counters"][0]["used"] == 3 and r["workers"][0]["commands_running"] == 3
assert all(x["cores"]["used"] <= x["cores"]["total"] for x in n)'
check "no head while nothing waits" py 'assert r["head"] is None'
req POST /jobs '{"command":["true"],"requirements":{"licenses":2}}'
waiting=$(field job_id)
head_is() { resources; py "assert r['head']['job_id'] == '$waiting'"; }
check "a job waiting for licenses is the head" wait_until 5 head_is
check "... its reservation: 1 core, 2 licenses, no expected start (no time limits)" py '
h = r["head"]
assert h["reserved"]["cpus"] == 1 and h["reserved"]["counters"] == {"licenses": 2}
assert h["expected_start"] is None'
out=$(JOBRING_SOCKET=$sock "$cli" resources)
check "jobring resources: the host's row" grep -q '^host   9/16 .* 32 3G/32G *1/2$' <<<"$out"
check "jobring resources: the head" grep -q "head: job $waiting waits" <<<"$out"
check "jobring resources: licenses 3/3" grep -q '^licenses  *3/3' <<<"$out"
out=$(JOBRING_SOCKET=$sock "$cli" --json resources)
check "jobring --json resources" grep -q '"numa"' <<<"$out"
for id in "${ids[@]}" "$waiting"; do req PUT "/jobs/$id/cancel"; done
all_free() { resources; py 'assert r["host"]["cores"]["used"] == 0 and r["counters"][0]["used"] == 0'; }
check "cancelled: everything free again" wait_until 10 all_free

# --- the cost of a look: 500 GET /resources on one connection, against GET /health --------------
urls() { for _ in $(seq 500); do printf 'http://x/%s\n' "$1"; done; }
look() {	# look PATH: microseconds a request, one keep-alive connection
	local t0 t1
	urls "$1" | sed 's|^\(.*\)$|url = \1\noutput = /dev/null|' >"$tmp/urls"
	t0=$(date +%s%N)
	curl -s --unix-socket "$sock" -K "$tmp/urls"
	t1=$(date +%s%N)
	echo $(( (t1 - t0) / 500000 ))
}
look resources >/dev/null
echo "GET /resources: $(look resources) us a request, GET /health: $(look health) us" \
	"(500 each on one connection, through curl)"

# --- storage: refused at submission -----------------------------------------------------------
req POST /jobs '{"command":["true"],"storage":"2G"}'
check "2G on a 1G filesystem: 422 impossible_resources" \
	[ "$code" = 422 ] && grep -q impossible_resources <<<"$body"
req POST /jobs "{\"command\":[\"true\"],\"storage\":{\"size\":\"300M\",\"path\":\"$tmp/fs2\"}}"
check "300M on the 200M one: 422" [ "$code" = 422 ]
for bad in '"10Q"' '"-1G"' '"1.5.2G"' '"0"' '{"path":"/x"}' "{\"size\":\"1M\",\"path\":\"/nope\"}" \
	'{"size":"1M","bogus":1}' 'true' '""'; do
	req POST /jobs "{\"command\":[\"true\"],\"storage\":$bad}"
	check "storage $bad: 4xx" [ "${code:0:1}" = 4 ]
done
req POST /jobs '{"executor":"external","storage":"1M"}'
check "storage on an external job: 422" [ "$code" = 422 ]
req POST /jobs "{\"command\":[\"true\"],\"storage\":\"10Q\"}"
check "a malformed size is 422 invalid_value" [ "$code" = 422 ] && grep -q invalid_value <<<"$body"

# --- storage queues while held ----------------------------------------------------------------
# Each runs until $tmp/go-fs2 exists (a fixed sleep ran out on a loaded
# host before the second was looked at).
hold="i=0; while [ ! -e $tmp/go-fs2 ] && [ \$i -lt 300 ]; do sleep 0.1; i=\$((i + 1)); done"
small="{\"command\":[\"sh\",\"-c\",\"$hold\"],\"storage\":{\"size\":\"150M\",\"path\":\"$tmp/fs2\"}}"
req POST /jobs "$small"; first=$(field job_id)
req POST /jobs "$small"; second=$(field job_id)
wait_status "$first" running
sleep 0.3
req GET "/jobs/$second"
check "150M + 150M on 200M: the second waits while the first runs" [ "$(field status)" = queued ]
resources
check "... 150M of fs2 in use" py 'assert r["storage"][1]["used_bytes"] == 150 << 20'
touch "$tmp/go-fs2"
started_or_done() { req GET "/jobs/$1"; field_is status running || field_is status succeeded; }
check "... and runs once the first is over" wait_until 20 started_or_done "$second"
req GET "/jobs/$first"
check "... after it succeeded" [ "$(field status)" = succeeded ]
check "its directory on fs2 went with it" wait_until 5 test ! -e "$tmp/fs2/jobring/$first"

# --- the scratch directory: owner, mode, variable; removed however the attempt ends -------------
script='stat -c "%U %a" "$JOBRING_SCRATCH"; echo "at=$JOBRING_SCRATCH"; mkdir -p "$JOBRING_SCRATCH/d/e/f"; echo x >"$JOBRING_SCRATCH/d/e/f/g"; ln -s / "$JOBRING_SCRATCH/d/root"; ln -s /etc/passwd "$JOBRING_SCRATCH/pw"; sleep 1'
post_as "{\"command\":[\"sh\",\"-c\",$(printf '%s' "$script" | python3 -c 'import json,sys;print(json.dumps(sys.stdin.read()))')],\"storage\":\"10M\",\"cwd\":\"/\"}"
ok=$(field job_id)
wait_status "$ok" running
dir=$(scratch_of "$ok")
check "during the job: $dir is $user's, mode 700" \
	wait_until 5 [ "$(stat -c '%U %a' "$dir" 2>/dev/null)" = "$user 700" ]
check "... after success it is gone" wait_status "$ok" succeeded
check "... (removed)" wait_until 5 test ! -e "$dir"
check "... the links in it were not followed" [ -e /etc/passwd ]
req GET "/jobs/$ok/logs?stream=stdout"
check "JOBRING_SCRATCH named it, the job saw $user 700" \
	grep -q "\"data\":\"$user 700" <<<"$body"
check "... at $dir" grep -q "at=$dir" <<<"$body"
ls "$tmp/fs1/jobring" >"$tmp/left"
check "nothing is left in fs1/jobring (moved-up subdirectories included)" [ ! -s "$tmp/left" ]

post_as '{"command":["sh","-c","touch \"$JOBRING_SCRATCH/x\"; exit 3"],"storage":"10M","cwd":"/"}'
bad=$(field job_id)
check "a failed job" wait_status "$bad" failed
check "... its directory is gone" wait_until 5 test ! -e "$(scratch_of "$bad")"

post_as '{"command":["sh","-c","touch \"$JOBRING_SCRATCH/x\"; sleep 30"],"storage":"10M","cwd":"/"}'
cancelled=$(field job_id)
wait_status "$cancelled" running
check "a running job's directory exists" wait_until 5 test -d "$(scratch_of "$cancelled")"
req PUT "/jobs/$cancelled/cancel"
check "cancelled" wait_status "$cancelled" cancelled
check "... its directory is gone" wait_until 5 test ! -e "$(scratch_of "$cancelled")"

post_as '{"command":["sh","-c","touch \"$JOBRING_SCRATCH/x\"; sleep 30"],"storage":"10M","timeout":"1s","cwd":"/"}'
timed=$(field job_id)
check "a job past its time limit" wait_status "$timed" failed
req GET "/jobs/$timed"
check "... (timeout)" grep -q '"reason":"timeout"' <<<"$body"
check "... its directory is gone" wait_until 5 test ! -e "$(scratch_of "$timed")"

# --- jobring submit --tmp ----------------------------------------------------------------------
cli_job=$(cd "$tmp" && JOBRING_SOCKET=$sock "$cli" submit --tmp "$tmp/fs2=5M" -- \
	sh -c "case \$JOBRING_SCRATCH in $tmp/fs2/jobring/*) test -d \"\$JOBRING_SCRATCH\";; *) exit 9;; esac")
check "jobring submit --tmp PATH=SIZE: a directory on that filesystem" wait_status "$cli_job" succeeded
cli_job=$(cd "$tmp" && JOBRING_SOCKET=$sock "$cli" submit --tmp 5 -- \
	sh -c "case \$JOBRING_SCRATCH in $tmp/fs1/jobring/*) exit 0;; *) exit 9;; esac")
check "jobring submit --tmp 5 (MB): on the first" wait_status "$cli_job" succeeded
rc=0
JOBRING_SOCKET=$sock "$cli" submit --tmp 0 -- true 2>/dev/null || rc=$?
check "jobring submit --tmp 0: usage error (2)" [ "$rc" = 2 ]
rc=0
JOBRING_SOCKET=$sock "$cli" submit --tmp 5T -- true 2>/dev/null || rc=$?
check "jobring submit --tmp 5T: refused by the daemon (1)" [ "$rc" = 1 ]

# --- kill -9 of the daemon and a restart ------------------------------------------------------
post_as '{"command":["sh","-c","touch \"$JOBRING_SCRATCH/x\"; sleep 2"],"storage":"10M","cwd":"/"}'
ended=$(field job_id)
post_as '{"command":["sh","-c","touch \"$JOBRING_SCRATCH/x\"; sleep 30"],"storage":"10M","cwd":"/"}'
still=$(field job_id)
wait_status "$ended" running
wait_status "$still" running
check "both have their directories" test -d "$(scratch_of "$ended")" -a -d "$(scratch_of "$still")"
stop_daemon KILL
# What an attempt over before this start left: a directory, and one of
# its subdirectories moved up by a removal cut short.
mkdir -p "$tmp/fs1/jobring/00000000deadbeef/a/b" "$tmp/fs1/jobring/00000000deadbeef.1/c"
touch "$tmp/fs1/jobring/00000000deadbeef/a/b/f"
sleep 2.5	# the first ends while no daemon runs
start_daemon "${opts[@]}"
check "after kill -9 and a restart: the job that ended meanwhile succeeded" wait_status "$ended" succeeded
check "... its directory is gone" wait_until 5 test ! -e "$(scratch_of "$ended")"
check "... the orphans are swept" wait_until 5 test ! -e "$tmp/fs1/jobring/00000000deadbeef" -a \
	! -e "$tmp/fs1/jobring/00000000deadbeef.1"
check "the job still running was taken back" wait_status "$still" running
check "... and kept its directory" test -d "$(scratch_of "$still")"
req PUT "/jobs/$still/cancel"
check "... which goes when it ends (cancelled)" wait_status "$still" cancelled
check "... (removed)" wait_until 5 test ! -e "$(scratch_of "$still")"
resources
check "storage all free at the end" py 'assert all(s["used_bytes"] == 0 for s in r["storage"])'
stop_daemon

# --- bad --storage ----------------------------------------------------------------------------
for arg in "relative=1G" "$tmp/fs1" "$tmp/fs1=0" "$tmp/fs1=1Q"; do
	"$daemon" --socket "$tmp/x.sock" --state-dir "$tmp/x" --storage "$arg" 2>/dev/null &
	p=$!
	rc=0
	wait "$p" || rc=$?
	check "jobringd --storage $arg refuses to start" [ "$rc" != 0 ]
done

mkdir -m 777 "$tmp/open"
rc=0
"$daemon" --socket "$tmp/x.sock" --state-dir "$tmp/x" --storage "$tmp/open=1G" 2>"$tmp/open.err" || rc=$?
check "--storage on a directory anyone may write in: refused, saying so" \
	[ "$rc" != 0 ] && grep -q "refusing the storage directory $tmp/open/jobring: .*writable by group or others" "$tmp/open.err"

echo "test_resources_api: $pass passed, $fail failed"
[ "$fail" = 0 ]
