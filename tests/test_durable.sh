#!/usr/bin/env bash
# test_durable.sh - the journal through the real daemon: what was
# acknowledged survives kill -9 (jobs with their ids and states, queues,
# workers, cancels; running jobs are retried as coordinator_lost); a torn
# or corrupt tail loses exactly the records after the damage; a clean stop
# keeps queued jobs queued; a full disk answers 507 and recovers by itself
# (as root, on a small tmpfs); a million jobs come back.
# Usage: tests/test_durable.sh BUILD_DIR
set -u
build=${1:-build/debug}
daemon="$build/jobringd"
cli="$build/jobring"
tool="$build/jobring-journal"
tmp=$(mktemp -d /tmp/jr-durable-XXXXXX)
sock="$tmp/s.sock"
scale=${JR_TEST_SCALE:-1}
. "$(dirname "$0")/lib.sh"

segment() { ls "$1"/journal/journal-*.log | tail -1; }

# --- what survives kill -9 ------------------------------------------------------------
start_daemon --workers 1
req POST /queues '{"name":"nightly","priority":6}'
check "queue created" [ "$code" = 201 ]
req POST /jobs '{"command":["true"],"name":"done"}'
done_id=$(field job_id)
req POST /jobs '{"command":["sleep","30"],"name":"long"}'
long_id=$(field job_id)
req POST /jobs '{"command":["true"],"queue":"nightly","scheduled_at":"2099-01-01T00:00:00Z"}'
later_id=$(field job_id)
req POST /jobs '{"command":["true"],"scheduled_at":"2099-01-01T00:00:00Z"}'
cancel_id=$(field job_id)
req POST "/jobs/$cancel_id/cancel"
check "cancel answered" [ "$code" = 200 ]
printf '{"command":["true"],"name":"b1"}\n{"command":["true"],"name":"b2","dependencies":["%s"]}\n' \
	"$later_id" >"$tmp/batch"
req POST /jobs/batch "$(cat "$tmp/batch")"
check "batch with a dependency accepted" [ "$code" = 201 ]
b2_id=$(printf '%s' "$body" | grep -o '"[0-9a-f]\{16\}"' | tail -1 | tr -d '"')
req POST /workers/register '{"name":"ext","capabilities":["gpu"]}'
worker=$(field worker_id)
wait_status "$done_id" succeeded
check "a job is running" wait_status "$long_id" running
stop_daemon KILL
start_daemon --workers 1
req GET "/jobs/$done_id"
check "finished job back, same state" [ "$(field status)" = succeeded ]
req GET "/jobs/$long_id"
check "a running job runs on through kill -9 of the daemon" [ "$(field status)" = running ]
check "... still its first attempt" [ "$(field attempts)" = 1 ]
req GET "/jobs/$later_id"
check "delayed job still pending" [ "$(field status)" = pending ]
check "... in its queue" [ "$(field queue)" = nightly ]
req GET "/jobs/$cancel_id"
check "acknowledged cancel kept" [ "$(field status)" = cancelled ]
req GET "/jobs/$b2_id"
check "dependent job waits on its dependency" [ "$(field status)" = pending ]
req GET /queues
check "queue back" grep -q '"name":"nightly"' <<<"$body"
req GET /workers
check "worker back, unhealthy until it beats" grep -q "\"worker_id\":\"$worker\",\"name\":\"ext\",\"status\":\"unhealthy\"" <<<"$body"
grep -qE 'recovered 6 jobs .* 1 of them running when the daemon stopped: 1 taken back' "$tmp/daemon.log"
check "the log says what was recovered" [ $? = 0 ]
req POST /jobs '{"command":["true"],"name":"after"}'
after_id=$(field job_id)
req GET /metrics
check "/metrics: journal counters, healthy" grep -q '^jobring_journal_healthy 1' <<<"$body"
check "/metrics: answers held for the disk" grep -qE '^jobring_journal_answers_held_total [1-9]' <<<"$body"
check "new ids do not reuse restored ones" not [ "$after_id" = "$done_id" ]

# --- a clean stop keeps queued jobs queued --------------------------------------------------
stop_daemon TERM
start_daemon --workers 1
req GET "/jobs/$later_id"
check "queued job survives a clean stop" [ "$(field status)" = pending ]
req GET "/jobs/$cancel_id"
check "a job cancelled before it ran is kept by the snapshot" [ "$(field status)" = cancelled ]
check "the clean stop wrote a snapshot" ls -d "$tmp"/state/snapshot-* >/dev/null
"$tool" verify "$tmp/state" >/dev/null
check "jobring-journal verify: intact" [ $? = 0 ]
"$cli" journal summarize "$tmp/state" >"$tmp/summary"
check "jobring journal summarize" grep -q '^bytes per job' "$tmp/summary"
stop_daemon KILL

# --- a host that can no longer run a job ---------------------------------------------------
# The first section's long job still runs under its keeper, which stops
# once it sees its state directory gone: at its own pace, so that the
# next daemon could find it first and then lose it (CI under ASan:
# "cannot start the engine (or its keeper)"). It goes before the state.
k=$(keeper_pid)
[ -z "$k" ] || kill -KILL "$k" 2>/dev/null
remove_state	# and waits for it (lib.sh)
start_daemon --paused --topology "package:1 core:4 pu:1"
req POST /jobs '{"command":["true"],"requirements":{"cpus":4}}'
wide_id=$(field job_id)
stop_daemon KILL
start_daemon --paused --topology "package:1 core:2 pu:1"
req GET "/jobs/$wide_id"
check "a job this host can no longer run is back as failed, not lost" [ "$(field status)" = failed ]
stop_daemon KILL

# --- restored jobs that end while recovery still restores -----------------------------------------
# Their slots must not be handed out first: every acknowledged id keeps
# answering, and new jobs take untouched slots.
remove_state
start_daemon --paused --capacity 65536
n=$((20000 / scale))
for i in $(seq "$n"); do echo '{"command":["true"]}'; done >"$tmp/b20k"
body=$(curl -s --unix-socket "$sock" -X POST --data-binary @"$tmp/b20k" http://x/jobs/batch)
first_id=$(printf '%s' "$body" | grep -o '"[0-9a-f]\{16\}"' | head -1 | tr -d '"')
stop_daemon KILL
start_daemon --capacity 65536
reused=0
for i in $(seq 5); do
	req POST /jobs '{"command":["true"]}'
	slot=$((16#$(field job_id | cut -c9-16)))
	[ "$slot" -gt "$n" ] || reused=$((reused + 1))
done
check "new jobs take untouched slots, not those of restored jobs that ended" [ "$reused" = 0 ]
req GET "/jobs/$first_id"
check "the first restored id still answers" [ "$code" = 200 ]
stop_daemon KILL

# --- torn and corrupt tails --------------------------------------------------------------------
remove_state
start_daemon --paused
ids=()
for i in $(seq 40); do
	req POST /jobs "{\"command\":[\"true\"],\"name\":\"t$i\"}"
	ids+=("$(field job_id)")
done
stop_daemon KILL
cp -a "$tmp/state" "$tmp/pristine"
seg=$(segment "$tmp/pristine")
used=$("$tool" verify "$tmp/pristine" | sed -n 's/.*), \([0-9]*\) bytes.*/\1/p')
bad=0
for round in $(seq 12); do
	remove_state
	cp -a "$tmp/pristine" "$tmp/state"
	cut=$((RANDOM % used))
	if [ $((round % 2)) = 0 ]; then
		truncate -s "$cut" "$(segment "$tmp/state")"	# torn
	else
		printf 'X' | dd of="$(segment "$tmp/state")" bs=1 seek="$cut" conv=notrunc 2>/dev/null
	fi
	kept=$("$tool" dump "$tmp/state" | grep -c ' submit ')
	start_daemon --paused
	present=0
	req GET "/jobs?limit=1000"	# one listing, not a request per job
	listed=$body
	for i in "${!ids[@]}"; do
		if [[ $listed == *"\"job_id\":\"${ids[$i]}\""* ]]; then
			present=$((present + 1))
			[ "$i" -lt "$kept" ] || bad=$((bad + 1))
		else
			[ "$i" -ge "$kept" ] || bad=$((bad + 1))
		fi
	done
	[ "$present" = "$kept" ] || bad=$((bad + 1))
	req POST /jobs '{"command":["true"],"name":"after-damage"}'
	new_id=$(field job_id)
	stop_daemon KILL
	start_daemon --paused	# the cut journal, then what followed it
	req GET "/jobs/$new_id"
	[ "$code" = 200 ] || bad=$((bad + 1))
	stop_daemon KILL
done
check "damage keeps exactly the records before it, 12 rounds" [ "$bad" = 0 ]
check "dropped bytes reported" grep -q 'bytes after seq .* dropped' "$tmp/daemon.log"
rm -rf "$tmp/pristine"

# --- a full disk --------------------------------------------------------------------------------
if [ "$(id -u)" != 0 ]; then
	echo "SKIP: disk full: needs root to mount a small tmpfs"
elif ! mkdir -p "$tmp/small" || ! mount -t tmpfs -o size=6m tmpfs "$tmp/small" 2>/dev/null; then
	echo "SKIP: disk full: cannot mount a tmpfs here"
else
	remove_state
	dd if=/dev/zero of="$tmp/small/filler" bs=1M count=3 2>/dev/null
	start_daemon --state-dir "$tmp/small/state" --paused --segment-size 256K
	line='{"command":["true"],"name":"fill-the-disk-with-a-longer-name-xxxxxxxxxxxxxxxxxxxxxxxx"}'
	for i in $(seq 1000); do echo "$line"; done >"$tmp/b1000"
	acked=()
	full=""
	for i in $(seq 100); do
		req POST /jobs/batch "$(cat "$tmp/b1000")"
		if [ "$code" = 201 ]; then
			acked+=("$(printf '%s' "$body" | grep -o '"[0-9a-f]\{16\}"' | tail -1 | tr -d '"')")
		else
			full=$code
			break
		fi
	done
	check "a full disk answers 507" [ "$full" = 507 ]
	check "507 is a JSON error" grep -q '"code":"insufficient_storage"' <<<"$body"
	req GET /health
	check "the daemon still answers" [ "$code" = 200 ]
	req GET /metrics
	check "/metrics: the journal is not healthy" grep -q '^jobring_journal_healthy 0' <<<"$body"
	missing=0
	for id in "${acked[@]}"; do req GET "/jobs/$id"; [ "$code" = 200 ] || missing=$((missing + 1)); done
	check "acknowledged jobs all there (${#acked[@]} batches)" [ "$missing" = 0 ]
	rm -f "$tmp/small/filler"
	ok=""
	for _ in $(seq 50); do
		req POST /jobs/batch "$(cat "$tmp/b1000")"
		[ "$code" = 201 ] && ok=1 && break
		nap 0.1
	done
	check "submissions succeed again once space is freed" [ -n "$ok" ]
	stop_daemon KILL
	start_daemon --state-dir "$tmp/small/state" --paused --segment-size 256K
	missing=0
	for id in "${acked[@]}"; do req GET "/jobs/$id"; [ "$code" = 200 ] || missing=$((missing + 1)); done
	check "... and after kill -9 and a restart" [ "$missing" = 0 ]
	stop_daemon KILL
	# The keeper leaves within a second of its daemon (it holds no job):
	# until then it holds the state directory open.
	for _ in $(seq 50); do umount "$tmp/small" 2>/dev/null && break; sleep 0.1; done
	mountpoint -q "$tmp/small" && umount -l "$tmp/small"
fi

# --- a million jobs ------------------------------------------------------------------------------
jobs=$((1000000 / scale))
remove_state
start_daemon --paused --capacity 1100000
for i in $(seq 10000); do echo "{\"command\":[\"true\"],\"name\":\"m$i\"}"; done >"$tmp/b10k"
batches=$((jobs / 10000))
first="" last=""
for b in $(seq "$batches"); do
	out=$(curl -s --unix-socket "$sock" -X POST --data-binary @"$tmp/b10k" http://x/jobs/batch)
	# The ids of the first and the last batch only (200 KB of answer each).
	[ "$b" = 1 ] && first=$(printf '%s' "$out" | grep -o '"[0-9a-f]\{16\}"' | head -1 | tr -d '"')
	[ "$b" = "$batches" ] && last=$(printf '%s' "$out" | grep -o '"[0-9a-f]\{16\}"' | tail -1 | tr -d '"')
done
stop_daemon KILL
start_daemon --paused --capacity 1100000
want=$((batches * 10000))
for _ in $(seq 300); do
	req GET /health
	[ "$(field queued)" = "$want" ] && break
	nap 0.1
done
check "$want jobs recovered" [ "$(field queued)" = "$want" ]
req GET "/jobs/$first"
check "... the first" [ "$code" = 200 ]
req GET "/jobs/$last"
check "... and the last" [ "$code" = 200 ]
grep 'recovered' "$tmp/daemon.log" | tail -1
stop_daemon KILL

# --- options ----------------------------------------------------------------------------------------
"$daemon" --sync sometimes >/dev/null 2>&1
check "a bad --sync is a usage error (exit 2)" [ $? = 2 ]

echo "test_durable: $pass passed, $fail failed"
[ "$fail" = 0 ]
