#!/usr/bin/env bash
# seeds.sh BUILD OUT - the generated seed corpora of the harnesses of
# tests/fuzz/, written into OUT/NAME/ (make fuzz: build/fuzz/seeds/NAME/):
#   jobspec  every JSON job body of the shell suites (tests/*.sh)
#   batch    those bodies three lines at a time, and the suites' batches
#   units    the durations, sizes and times those bodies hold
#   http     the requests of ../shared/data/http/llhttp_requests.jsonl
#            ($JR_SHARED_DATA/http/ if set; skipped, saying so, when
#            absent), each whole and in 7-byte pieces, plus requests
#            carrying the JSON bodies
#   journal  the journal segments of BUILD/jobringd after queues, jobs,
#            batches, a worker, a cancel, retries, an external result,
#            kill -9 and a restart
#   snapshot the snapshot that jobringd wrote on its clean stop
# The hand-written seeds of tests/fuzz/seeds/ are used beside these.
set -u
build=$1
out=$2
daemon=$build/jobringd
tmp=$(mktemp -d)
sock=$tmp/s.sock
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"

rm -rf "$out"
mkdir -p "$out"/{http,jobspec,batch,units,journal,snapshot}

# --- JSON bodies, batches, units -------------------------------------------------------------
grep -ho "'{[^']*}'" tests/*.sh | sed "s/^'//; s/'\$//" | grep -v '\$' | sort -u >"$tmp/bodies"
n=0
while IFS= read -r body; do
	n=$((n + 1))
	printf '%s' "$body" >"$out/jobspec/test-$n"
done <"$tmp/bodies"
split -l 3 -a 3 "$tmp/bodies" "$out/batch/tests-"
printf '{"command":["true"],"priority":2}\n{"command":["true"],"priority":2}\n\n{"command":["false"],"priority":2,"max_retries":1,"timeout":"1m"}\n' \
	>"$out/batch/daemon-ok"
printf '{"command":["true"]}\n{"command":["true"],"priority":-1}\nnot json\n' >"$out/batch/daemon-bad"
grep -ho '"[0-9][^"]*"' "$tmp/bodies" | tr -d '"' | sort -u | while IFS= read -r v; do
	printf '%s' "$v" >"$out/units/test-$(printf '%s' "$v" | cksum | cut -d' ' -f1)"
done

# --- HTTP ----------------------------------------------------------------------------------------
http_seed() {	# http_seed NAME PIECE: stdin, after the piece-size byte (http.c)
	{ printf "\\$(printf '%03o' "$2")"; cat; } >"$out/http/$1"
}
cases=${JR_SHARED_DATA:-../shared/data}/http/llhttp_requests.jsonl
if [ -r "$cases" ]; then
	n=0
	grep -o '"raw_b64": "[^"]*"' "$cases" | cut -d'"' -f4 | while IFS= read -r b64; do
		n=$((n + 1))
		printf '%s' "$b64" | base64 -d | http_seed "llhttp-$n" 0
		printf '%s' "$b64" | base64 -d | http_seed "llhttp-$n-pieces" 7
	done
else
	echo "seeds.sh: $cases absent: no llhttp seeds (set JR_SHARED_DATA)"
fi
n=0
head -5 "$tmp/bodies" | while IFS= read -r body; do
	n=$((n + 1))
	printf 'POST /jobs HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s' \
		"${#body}" "$body" | http_seed "post-$n" 0
done

# --- a journal and a snapshot from a real jobringd ----------------------------------------------
if [ ! -x "$daemon" ] || ! command -v curl >/dev/null; then
	echo "seeds.sh: no $daemon or no curl: no journal or snapshot seeds"
	exit 0
fi
opts=(--workers 1 --no-keeper --no-cgroups --segment-size 64K)
start_daemon "${opts[@]}"
req POST /queues '{"name":"nightly","priority":6,"max_workers":2}'
req POST /jobs '{"command":["true"],"name":"done"}'
first=$(field job_id)
req POST /jobs '{"command":["false"],"max_retries":1,"retry_backoff":"10ms"}'
req POST /jobs '{"command":["true"],"queue":"nightly","scheduled_at":"2099-01-01T00:00:00Z"}'
later=$(field job_id)
req POST /jobs "{\"command\":[\"true\"],\"dependencies\":[\"$later\"],\"env\":{\"A\":\"b\"}}"
req POST /jobs '{"executor":"external","requirements":{"capabilities":["gpu"]},"payload":{"x":1}}'
req POST /jobs/batch "$(printf '{"command":["true"],"priority":2}\n{"command":["sh","-c","exit 3"],"timeout":"1m"}\n')"
req POST /workers/register '{"name":"w","capabilities":["gpu"]}'
w=$(field worker_id)
req POST /jobs '{"executor":"external","max_retries":1,"retry_backoff":"10ms","priority":7}'
req POST "/workers/$w/claim?wait=2"	# an attempt that fails with a result (RESULT, RETRY)
req POST "/executions/$(field execution_id)/complete" \
	"{\"status\":\"failed\",\"lease\":\"$(field lease)\",\"result\":{\"loss\":[0.5,0.25]}}"
req POST "/jobs/$later/cancel"
sleep 0.3
kill -9 "$daemon_pid"
wait "$daemon_pid" 2>/dev/null
# The restart cuts the journal after its last record: copied then, before
# the clean stop's snapshot deletes the segments it covers.
start_daemon "${opts[@]}"
for f in "$tmp"/state/journal/journal-*.log; do
	[ -s "$f" ] || continue
	{ printf '\001'; cat "$f"; } >"$out/journal/$(basename "$f" .log)"
done
req GET "/jobs/$first"
req POST /jobs '{"command":["true"],"name":"after-restart"}'
sleep 0.3
kill -TERM "$daemon_pid"
wait "$daemon_pid" 2>/dev/null
for f in "$tmp"/state/snapshot-*/journal-*.log; do
	[ -s "$f" ] || continue
	{ printf '\001'; cat "$f"; } >"$out/snapshot/$(basename "$(dirname "$f")")"
done
echo "seeds.sh: $(find "$out" -type f | wc -l) seeds in $out"
