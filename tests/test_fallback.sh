#!/usr/bin/env bash
# test_fallback.sh - the keeper's suite again, on process groups instead of
# cgroups (jobringd --no-cgroups), as on a host without a writable cgroup v2
# hierarchy. Skipped under the sanitizers (their own run covers the code).
# Usage: tests/test_fallback.sh BUILD_DIR
build=${1:-build/debug}
case "$build" in
*asan* | *tsan*) echo "SKIP: the --no-cgroups run is made in the debug build only"; exit 0 ;;
esac
JR_DAEMON_ARGS=--no-cgroups exec "$(dirname "$0")/test_keeper.sh" "$build"
