#!/usr/bin/env bash
# test_layers.sh - tools/layers.sh, the check make test runs on the
# build's objects, fails when it should: on a call up a layer, on a call
# between modules side by side, on files that call each other, on a module
# missing from the layers file; and passes calls that point down, also
# when a cycle lies outside the modules it was asked to check.
# Usage: tests/test_layers.sh [BUILD_DIR] (the build is not used: the
# objects here are made up).
set -u
here=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0
fail=0

check() {	# check NAME WANT_RC [MODULE...]: layers.sh on $tmp/b exits WANT_RC
	local name=$1 want=$2 rc
	shift 2
	JR_LAYERS=$tmp/LAYERS JR_LAYERS_SRC= "$here/tools/layers.sh" "$tmp/b" "$@" >"$tmp/out" 2>&1
	rc=$?
	if [ "$rc" = "$want" ]; then
		pass=$((pass + 1))
	else
		fail=$((fail + 1))
		echo "FAIL: $name (exit $rc, wanted $want)"
		cat "$tmp/out"
	fi
}

obj() {	# obj MODULE/FILE 'C code': compile it into the made-up build
	mkdir -p "$tmp/b/obj/$(dirname "$1")"
	printf '%s\n' "$2" >"$tmp/src.c"
	cc -c -o "$tmp/b/obj/$1.o" "$tmp/src.c"
}

fresh() { rm -rf "$tmp/b"; printf 'low\nmid side\nhigh\n' >"$tmp/LAYERS"; }

fresh
obj low/a 'int low_a(void) { return 1; }'
obj mid/b 'int low_a(void); int mid_b(void) { return low_a(); }'
obj high/c 'int mid_b(void); int low_a(void); int high_c(void) { return mid_b() + low_a(); }'
check "calls that point down" 0

obj low/up 'int high_c(void); int low_up(void) { return high_c(); }'
check "a call up a layer" 1
grep -q 'low calls high, which is not below it' "$tmp/out" || { fail=$((fail + 1)); echo "FAIL: the upward call is not named"; }

fresh
obj low/a 'int low_a(void) { return 1; }'
obj mid/b 'int side_s(void); int mid_b(void) { return side_s(); }'
obj side/s 'int side_s(void) { return 2; }'
check "a call between modules on one line" 1

fresh
obj mid/x 'int mid_y(void); int mid_x(void) { return mid_y(); }'
obj mid/y 'int mid_x(void); int mid_y(void) { return mid_x(); }'
check "two files calling each other" 1
grep -q '^  mid/x$' "$tmp/out" && grep -q '^  mid/y$' "$tmp/out" ||
	{ fail=$((fail + 1)); echo "FAIL: the files of the cycle are not named"; }
obj low/a 'int low_a(void) { return 1; }'
check "a cycle outside the modules checked" 0 low
check "a cycle inside the modules checked" 1 low mid

fresh
obj low/a 'int low_a(void) { return 1; }'
obj other/o 'int low_a(void); int other_o(void) { return low_a(); }'
check "a module missing from the layers file" 1

echo "test_layers: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
