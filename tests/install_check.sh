#!/bin/sh
# install_check.sh - `make install DESTDIR=... PREFIX=...` produces a
# library, header, man page and pkg-config file that a program can build
# and link against, statically and dynamically.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
dest=$(mktemp -d)
trap 'rm -rf "$dest"' EXIT
prefix=/opt/jobring-test
make -s -C "$top" install DESTDIR="$dest" PREFIX="$prefix" >/dev/null
root="$dest$prefix"
for f in include/jobring.h lib/libjobring.a lib/libjobring.so.0 bin/jobring sbin/jobringd \
	lib/pkgconfig/jobring.pc share/man/man3/jobring.3 share/man/man1/jobring.1 \
	share/man/man8/jobringd.8 lib/systemd/system/jobringd.service lib/systemd/system/jobringd.socket \
	share/man/man3/jr_engine_open.3 share/man/man3/jr_version.3; do
	[ -e "$root/$f" ] || { echo "install_check: missing $f"; exit 1; }
done
# jobring-worker (issue 17) and its page.
for f in bin/jobring-worker share/man/man1/jobring-worker.1; do
	[ -e "$root/$f" ] || { echo "install_check: missing $f"; exit 1; }
done
# The man pages' headers carry the version (jobring.h's).
if grep -l '@VERSION@' "$root"/share/man/man*/*; then
	echo "install_check: man pages installed without their version"; exit 1
fi
example="$top/build/debug/tests/readme_example.c"
export PKG_CONFIG_SYSROOT_DIR="$dest" PKG_CONFIG_PATH="$root/lib/pkgconfig"
cc -o "$dest/dyn" "$example" $(pkg-config --cflags --libs jobring)
LD_LIBRARY_PATH="$root/lib" "$dest/dyn" >/dev/null
# Static libjobring with the system's shared libraries it calls: the .pc
# file's Libs.private, as a program linking the archive would take them.
cc -o "$dest/static" "$example" $(pkg-config --cflags jobring) \
	"$root/lib/libjobring.a" $(pkg-config --static --libs-only-l jobring | sed 's/-ljobring //')
"$dest/static" >/dev/null
echo "install_check: 1 passed, 0 failed"
