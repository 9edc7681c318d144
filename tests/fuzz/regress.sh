#!/usr/bin/env bash
# regress.sh BUILD - make test's replay of the fuzzing harnesses without
# libFuzzer: BUILD/tests/fuzz-NAME (replay.c's main) given every file of
# tests/fuzz/seeds/NAME/ and tests/fuzz/regress/NAME/ (each finding's
# input, kept with its fix). Fails if any input trips a sanitizer, an
# assertion or the harness's own checks.
set -u
build=$1
here=$(dirname "$0")
fail=0
for name in http jobspec batch units journal snapshot; do
	if "$build/tests/fuzz-$name" "$here/seeds/$name" "$here/regress/$name" >"$build/tests/fuzz-$name.log" 2>&1; then
		tail -1 "$build/tests/fuzz-$name.log"
	else
		echo "FAIL: fuzz-$name:"
		tail -30 "$build/tests/fuzz-$name.log"
		fail=1
	fi
done
exit $fail
