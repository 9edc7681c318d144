#!/usr/bin/env bash
# package_check.sh - the Debian package used as an administrator and a
# programmer would: installed with `apt-get install ./jobring_*.deb` (its
# dependencies from the archive), the installed jobringd started on a
# temporary socket and state directory (not through systemd, which CI may
# not run) and driven by the installed jobring (a job's output and exit
# code, the journal read back by jobring journal verify); the README's
# example built against the installed library with the README's commands,
# once with libjobring.so.0 and once with libjobring.a; then the package
# purged. Root on Debian 12, after `make deb`; .ci/run calls it.
# Usage: tests/package_check.sh [build/jobring_VERSION_ARCH.deb]
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
deb=${1:-$(ls "$top"/build/jobring_*.deb 2>/dev/null | tail -1)}
[ -f "$deb" ] || { echo "package_check: no package (make deb first)"; exit 1; }
[ "$(id -u)" = 0 ] || { echo "package_check: run as root (it installs $deb)"; exit 1; }
if dpkg-query -W -f='${Status}' jobring 2>/dev/null | grep -q 'ok installed'; then
	echo "package_check: jobring is installed already; this check would remove it"
	exit 1
fi
daemon=/usr/sbin/jobringd
cli=/usr/bin/jobring
tmp=$(mktemp -d /tmp/jr-package-XXXXXX)
sock="$tmp/jobring.sock"
. "$top/tests/lib.sh"
installed=0
remove_package() { [ "$installed" = 1 ] && dpkg --purge jobring >/dev/null; installed=0; }
trap 'cleanup; remove_package' EXIT

# --- install ----------------------------------------------------------------------------------
if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$(realpath "$deb")" >"$tmp/apt.log" 2>&1; then
	cat "$tmp/apt.log"
	echo "package_check: apt-get install $deb failed"
	exit 1
fi
installed=1
check "apt-get install ./$(basename "$deb"): installed" \
	sh -c "dpkg-query -W -f='\${Status}' jobring | grep -q 'ok installed'"
for f in /usr/sbin/jobringd /usr/bin/jobring /usr/bin/jobring-journal /usr/lib/libjobring.so.0 \
	/usr/lib/libjobring.so /usr/lib/libjobring.a /usr/include/jobring.h /usr/lib/pkgconfig/jobring.pc \
	/lib/systemd/system/jobringd.service /lib/systemd/system/jobringd.socket \
	/usr/share/doc/jobring/copyright; do
	check "installed: $f" [ -e "$f" ]
done
for page in "$top"/docs/man/*.[1-8]; do	# every man page, compressed
	f=/usr/share/man/man${page##*.}/$(basename "$page").gz
	check "installed: $f" [ -e "$f" ]
done
check "ldconfig knows libjobring.so.0 (the package's trigger)" \
	sh -c 'ldconfig -p | grep -Eq "libjobring.so.0 .*=> (/usr)?/lib/libjobring.so.0"'
check "jobringd.service runs /usr/sbin/jobringd" \
	grep -q '^ExecStart=/usr/sbin/jobringd ' /lib/systemd/system/jobringd.service
if command -v systemd-analyze >/dev/null 2>&1; then
	check "systemd-analyze verify: the installed units" systemd-analyze verify --man=no \
		/lib/systemd/system/jobringd.service /lib/systemd/system/jobringd.socket
fi

# --- the installed daemon, driven by the installed CLI ----------------------------------------
start_daemon
J() { "$cli" --socket "$sock" "$@"; }
id=$(J submit -- sh -c 'echo from-the-package; exit 3')
check "jobring submit: an id" [ -n "$id" ]
J wait "$id" >/dev/null 2>&1
check "jobring wait: exit 4 for a failed job" [ $? = 4 ]
check "jobring show: exit_code 3" sh -c "'$cli' --socket '$sock' show '$id' | grep -q '^exit_code  *3$'"
check "jobring logs: the job's output" [ "$(J logs "$id")" = from-the-package ]
ok=$(J submit -- true)
J wait "$ok" >/dev/null 2>&1
check "jobring wait: exit 0 for a job that succeeded" [ $? = 0 ]
stop_daemon
check "jobringd: SIGTERM, exit 0" [ $? = 0 ]
"$cli" journal verify "$tmp/state" >/dev/null
check "jobring journal verify (the installed jobring-journal): intact" [ $? = 0 ]

# --- the README's example against the installed library -----------------------------------
awk '/<!-- example:begin -->/{f=1;next} /<!-- example:end -->/{f=0} f && !/^```/' \
	"$top/README.md" > "$tmp/example.c"
readme_link() {	# readme_link N OUT: the README's Nth `cc -o app app.c ...`, building OUT
	local cmd
	cmd=$(grep '^cc -o app app.c ' "$top/README.md" | sed -n "${1}p")
	[ -n "$cmd" ] && eval "${cmd/-o app app.c/-o $2 $tmp/example.c}"
}
check "jobring.pc: prefix /usr" [ "$(pkg-config --variable=prefix jobring)" = /usr ]
check "jobring.pc: needs no other .pc file" \
	env PKG_CONFIG_LIBDIR=/usr/lib/pkgconfig pkg-config --exists --static jobring
check "the README's link with libjobring.so.0: builds" readme_link 1 "$tmp/dynamic"
check "... loads the installed libjobring.so.0" \
	sh -c "ldd '$tmp/dynamic' | grep -Eq '=> (/usr)?/lib/libjobring.so.0'"
check "... and runs" sh -c "'$tmp/dynamic' >/dev/null"
check "the README's link with libjobring.a (pkg-config --static): builds" readme_link 2 "$tmp/static"
check "... needs no libjobring.so" \
	sh -c "readelf -d '$tmp/static' >'$tmp/static.dyn' && ! grep -q libjobring '$tmp/static.dyn'"
check "... and runs" sh -c "'$tmp/static' >/dev/null"

# --- removal ------------------------------------------------------------------------------
remove_package
check "dpkg --purge jobring: dpkg knows it no more" not dpkg-query -W jobring 2>/dev/null
check "... its files gone" not sh -c 'ls /usr/sbin/jobringd /usr/lib/libjobring.so.0 \
	/lib/systemd/system/jobringd.service 2>/dev/null | grep -q .'
check "... and ldconfig forgot the library" not sh -c 'ldconfig -p | grep -q libjobring.so.0'

echo "package_check: $pass passed, $fail failed"
[ "$fail" = 0 ]
