#!/usr/bin/env bash
# test_systemd.sh - jobringd as a systemd service: the units pass
# `systemd-analyze verify` (and a broken one would not); started through
# socket activation (systemd-socket-activate) it serves the socket it was
# handed and leaves that socket in place when it stops; it tells the
# notification socket READY=1, pets the watchdog, says STOPPING=1. Each
# part is skipped, saying so, where its tool is missing.
# Usage: tests/test_systemd.sh BUILD_DIR
set -u
build=${1:-build/debug}
daemon="$build/jobringd"
cli="$build/jobring"
listen="$build/tests/notify_listen"
top=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d /tmp/jr-systemd-XXXXXX)
sock="$tmp/act.sock"
. "$(dirname "$0")/lib.sh"

# --- the units ------------------------------------------------------------------------------
verify() {	# verify DIR: no complaint at all
	local out
	out=$(systemd-analyze verify --man=no "$1/jobringd.service" "$1/jobringd.socket" 2>&1)
	[ $? = 0 ] && [ -z "$out" ] || { printf '%s\n' "$out"; return 1; }
}
if command -v systemd-analyze >/dev/null 2>&1; then
	mkdir -p "$tmp/units"
	sed "s|@SBINDIR@|$(cd "$(dirname "$daemon")" && pwd)|" \
		"$top/tools/systemd/jobringd.service.in" >"$tmp/units/jobringd.service"
	cp "$top/tools/systemd/jobringd.socket" "$tmp/units/"
	check "systemd-analyze verify: jobringd.service and jobringd.socket" verify "$tmp/units"
	for want in 'Type=notify' 'KillMode=process' 'Delegate=yes' 'Restart=always' 'WatchdogSec='; do
		check "jobringd.service has $want" grep -q "^$want" "$tmp/units/jobringd.service"
	done
	sed -i 's/^Type=notify/Type=notifyy/' "$tmp/units/jobringd.service"
	check "... and the check fails on a broken unit" not verify "$tmp/units" >/dev/null
else
	echo "SKIP: systemd-analyze verify: systemd-analyze is not installed"
fi

# --- socket activation and sd_notify ------------------------------------------------------
if ! command -v systemd-socket-activate >/dev/null 2>&1; then
	echo "SKIP: socket activation: systemd-socket-activate is not installed"
else
	"$listen" "$tmp/notify" 30 >"$tmp/notes" &
	pids+=($!)
	sleep 0.2
	daemon_run=(systemd-socket-activate -l "$sock" -E NOTIFY_SOCKET="$tmp/notify"
		-E WATCHDOG_USEC=200000)
	spawn_daemon	# not waited for: the first connection starts jobringd
	daemon_run=()
	wait_socket
	req GET /health	# that first connection
	check "socket activation: jobringd answers on the socket it was handed" [ "$code" = 200 ]
	req POST /jobs '{"command":["true"]}'
	check "... and takes jobs" [ "$code" = 201 ]
	sleep 0.6
	check "READY=1 sent" grep -q 'READY=1' "$tmp/notes"
	check "the watchdog is petted (WATCHDOG_USEC=200000)" [ "$(grep -c 'WATCHDOG=1' "$tmp/notes")" -ge 2 ]
	stop_daemon TERM
	check "SIGTERM: exit 0" [ $? = 0 ]
	sleep 0.3
	check "STOPPING=1 sent" grep -q 'STOPPING=1' "$tmp/notes"
	check "the handed-over socket stays (systemd's)" [ -S "$sock" ]
fi

echo "test_systemd: $pass passed, $fail failed"
[ "$fail" = 0 ]
