#!/bin/sh
# test_version.sh BUILD - the version is written once, in jobring.h's
# JR_VERSION_MAJOR, _MINOR and _PATCH; everything that shows it says the
# same: jobringd --version, jobring --version, jobring.pc, the soname
# (libjobring.so.MAJOR) and `make version` (jr_version(): test_abi).
set -eu
build=${1:?usage: test_version.sh BUILD}
top=$(cd "$(dirname "$0")/.." && pwd)
part() { sed -n "s/^#define JR_VERSION_$1 \\([0-9][0-9]*\\)\$/\\1/p" "$top/include/jobring.h"; }
major=$(part MAJOR) minor=$(part MINOR) patch=$(part PATCH)
v=$major.$minor.$patch
case $v in *..*|.*|*.) echo "test_version: no version in jobring.h"; exit 1;; esac
pass=0 fail=0
check() {	# what, what it says, what it should say
	if [ "$2" = "$3" ]; then pass=$((pass + 1))
	else echo "test_version: $1 says '$2', jobring.h '$3'"; fail=$((fail + 1)); fi
}
check "jobringd --version" "$("$build/jobringd" --version)" "jobringd $v"
check "jobring --version" "$("$build/jobring" --version)" "jobring $v"
check jobring.pc "$(sed -n 's/^Version: //p' "$build/jobring.pc")" "$v"
check soname "$(readelf -d "$build/libjobring.so.$major" | sed -n 's/.*Library soname: \[\(.*\)\]/\1/p')" \
	"libjobring.so.$major"
check "make version" "$(make -s --no-print-directory -C "$top" version)" "$v"
echo "test_version: $v, $pass passed, $fail failed"
[ "$fail" -eq 0 ]
