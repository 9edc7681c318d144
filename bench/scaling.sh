#!/usr/bin/env bash
# bench/scaling.sh BUILD_DIR - the scaling figures for a larger host
# (`make bench-scaling`, or on a lent 16-core machine): bench/dispatch at
# 1, 2, 4, 8 and 16 workers against the mutex baseline, then bench/durable
# and bench/submit through jobringd. Writes each report to $OUT too, if set.
# A bundle with its own libraries (build/device/lib) is used as it is.
set -u
build=${1:-build/release}
[ -d "$build/lib" ] && export LD_LIBRARY_PATH="$PWD/$build/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
out=${OUT:-}
echo "host: $(nproc) cpus; $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2)"
run() {	# run NAME command...
	local name=$1
	shift
	echo "== $name"
	if [ -n "$out" ]; then "$@" | tee "$out/$name.txt"; else "$@"; fi
}
run dispatch env JR_BENCH_RUNS=${JR_BENCH_RUNS:-3} JR_BENCH_SCALING=1,2,4,8,16 "$build/bench/dispatch"
run durable env JR_BENCH_RUNS=${JR_BENCH_RUNS:-3} "$build/bench/durable"
run submit env JR_BENCH_RUNS=${JR_BENCH_RUNS:-3} "$build/bench/submit"
