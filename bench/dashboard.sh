#!/usr/bin/env bash
# dashboard.sh BUILD [JOBS] [LOADS] - the web dashboard with JOBS jobs in
# the daemon (default 1,000,000; issue 16): jobringd (--paused, so they
# stay queued, --sync none) loaded through POST /jobs/batch, then
# bench/dashboard.py loads the page LOADS times (default 7) in headless
# Chromium over --http and reports the medians of the first meaningful
# paint (the counts on screen) and of a job's detail (asked for by the
# address, to its fields on screen); the same with an empty daemon first,
# measured in the same run, as the baseline. `make bench-dashboard`.
set -eu
build=$(cd "${1:-build/release}" && pwd)
jobs=${2:-1000000}
loads=${3:-7}
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d /tmp/jr-benchdash-XXXXXX)
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$tmp"' EXIT
py=
for p in /usr/bin/python3 python3; do
	if "$p" -c 'import selenium' 2>/dev/null; then py=$p; break; fi
done
if [ -z "$py" ] || ! command -v chromium >/dev/null; then
	echo "bench/dashboard: skipped: chromium, chromedriver or python3-selenium is missing (make deps)"
	exit 0
fi

start() {	# start NAME: a daemon in $tmp/NAME; sets pid, url, token
	"$build/jobringd" --socket "$tmp/$1.sock" --state-dir "$tmp/$1" --paused --sync none \
		--http 127.0.0.1:0 2>"$tmp/$1.log" &
	pid=$!
	for _ in $(seq 600); do
		curl -s --unix-socket "$tmp/$1.sock" http://x/health >/dev/null && break
		sleep 0.05
	done
	url=http://$(grep -o -- '--http listening on [^ ]*' "$tmp/$1.log" | awk '{ print $4 }')
	token=$(cat "$tmp/$1/http-token")
}

load() {	# load SOCK N: N jobs, 50,000 a batch
	local sock=$1 n=$2 batch=50000 sent=0 t0
	seq "$batch" | sed 's/.*/{"command":["true"],"name":"bench-&"}/' >"$tmp/batch"
	t0=$(date +%s.%N)
	while [ "$sent" -lt "$n" ]; do
		[ $((n - sent)) -lt "$batch" ] && head -n $((n - sent)) "$tmp/batch" >"$tmp/last" &&
			mv "$tmp/last" "$tmp/batch"
		curl -sf --unix-socket "$sock" -X POST -H 'Content-Type: application/x-ndjson' \
			--data-binary @"$tmp/batch" http://x/jobs/batch >/dev/null
		sent=$((sent + $(wc -l <"$tmp/batch")))
	done
	echo "loaded $sent jobs in $(echo "$(date +%s.%N) - $t0" | bc) s"
}

start empty
curl -s --unix-socket "$tmp/empty.sock" -X POST -d '{"command":["true"]}' http://x/jobs >/dev/null
"$py" "$here/dashboard.py" "$url" "$token" "$loads" "baseline (1 job)"
kill "$pid"; wait "$pid" 2>/dev/null || true

start full
load "$tmp/full.sock" "$jobs"
curl -s --unix-socket "$tmp/full.sock" http://x/health | grep -o '"queued":[0-9]*'
"$py" "$here/dashboard.py" "$url" "$token" "$loads" "$jobs jobs"
