#!/usr/bin/env bash
# run.sh BUILD SECONDS NAME... - make fuzz's run: each harness
# BUILD/fuzzers/NAME for SECONDS (-max_total_time) at nice 19, $FUZZ_JOBS
# at a time (default 1), on its corpus BUILD/corpus/NAME (kept from run
# to run), seeded from tests/fuzz/seeds/NAME, tests/fuzz/regress/NAME and
# BUILD/seeds/NAME (tests/fuzz/seeds.sh, made again each run). A finding
# goes to BUILD/crashes/NAME/ (crash-*, leak-*, timeout-*, oom-*) and its
# log to BUILD/logs/NAME.log; the run fails if any harness found
# anything in this run (libFuzzer stops a harness at its first finding).
# Prints, per harness: executions, cov, ft, corpus size, findings.
set -u
build=$1
seconds=$2
shift 2
jobs=${FUZZ_JOBS:-1}
here=$(cd "$(dirname "$0")" && pwd)

"$here/seeds.sh" "$build" "$build/seeds" || { echo "run.sh: seeds.sh failed"; exit 1; }
mkdir -p "$build/logs"
started=$build/logs/.started
touch "$started"

one() {	# one NAME: 0 when the run found nothing
	local name=$1 crashes=$build/crashes/$1 corpus=$build/corpus/$1 dict= dir
	local dirs=("$corpus")
	mkdir -p "$crashes" "$corpus"
	for dir in "$here/seeds/$name" "$here/regress/$name" "$build/seeds/$name"; do
		[ -d "$dir" ] && dirs+=("$dir")
	done
	[ -r "$here/$name.dict" ] && dict=-dict=$here/$name.dict
	# shellcheck disable=SC2086
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:symbolize=1 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	nice -n 19 "$build/fuzzers/$name" -max_total_time="$seconds" -timeout=10 \
		-rss_limit_mb=2048 -max_len=65536 -print_final_stats=1 $dict \
		-artifact_prefix="$crashes/" "${dirs[@]}" >"$build/logs/$name.log" 2>&1
	local rc=$?
	local execs cov ft
	execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$build/logs/$name.log" | grep -o '[0-9]*$')
	cov=$(grep -o 'cov: [0-9]*' "$build/logs/$name.log" | tail -1 | cut -d' ' -f2)
	ft=$(grep -o 'ft: [0-9]*' "$build/logs/$name.log" | tail -1 | cut -d' ' -f2)
	printf '%-9s %s s: %s executions, cov %s, ft %s, corpus %s files, %s findings (exit %d)\n' \
		"$name" "$seconds" "${execs:-?}" "${cov:-?}" "${ft:-?}" \
		"$(find "$corpus" -type f | wc -l)" "$(find "$crashes" -type f -newer "$started" | wc -l)" "$rc"
	[ "$rc" -eq 0 ]
}

status=0
running=0
for name in "$@"; do
	one "$name" >"$build/logs/$name.summary" &
	running=$((running + 1))
	if [ "$running" -ge "$jobs" ]; then
		wait -n || true
		running=$((running - 1))
	fi
done
wait
for name in "$@"; do
	cat "$build/logs/$name.summary"
	grep -q '0 findings (exit 0)' "$build/logs/$name.summary" || {
		status=1
		echo "  finding: see $build/logs/$name.log and $build/crashes/$name/;" \
			"keep the input in tests/fuzz/regress/$name/ with the fix"
	}
done
exit $status
