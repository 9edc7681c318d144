#!/bin/sh
# build.sh - turns a tree staged by `make install DESTDIR=WORK/debian/jobring
# PREFIX=/usr` into OUT/jobring_VERSION_ARCH.deb: man pages compressed, the
# copyright file made from LICENSE, Depends computed by dpkg-shlibdeps from
# what the binaries and the library link, the control file and maintainer
# scripts of tools/deb/ added, then dpkg-deb. Called by `make deb`.
# Usage: tools/deb/build.sh WORK VERSION OUT [MAINTAINER]
set -eu
work=$1
version=$2
out=$3
maintainer=${4:-jobring maintainers <maintainers@jobring.invalid>}
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
root="$work/debian/jobring"
arch=$(dpkg --print-architecture)

# Man pages gzipped (Debian policy); a link to a page follows it to its .gz.
compress_man() {
	find "$root/usr/share/man" -type f ! -name '*.gz' -exec gzip -9n {} +
	find "$root/usr/share/man" -type l ! -name '*.gz' | while read -r link; do
		ln -s "$(readlink "$link").gz" "$link.gz"
		rm "$link"
	done
}

# /usr/share/doc/jobring/copyright in the machine-readable format.
write_copyright() {
	mkdir -p "$root/usr/share/doc/jobring"
	{
		printf 'Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n'
		printf 'Upstream-Name: jobring\n\nFiles: *\n'
		printf 'Copyright: %s\n' "$(sed -n 's/^Copyright (c) //p' "$top/LICENSE")"
		printf 'License: Expat\n'
		sed -e '1,/^Copyright/d' -e 's/^$/./' -e 's/^/ /' "$top/LICENSE" | sed '1{/^ \.$/d}'
	} > "$root/usr/share/doc/jobring/copyright"
}

# The runtime packages, with versions, that the programs and the library
# need (dpkg-shlibdeps reads the shlibs files of the installed libraries).
shlib_depends() {
	printf 'Source: jobring\n\nPackage: jobring\nArchitecture: any\n' > "$work/debian/control"
	deps=$(cd "$work" && dpkg-shlibdeps -O debian/jobring/usr/bin/* \
		debian/jobring/usr/sbin/* debian/jobring/usr/lib/libjobring.so.*)
	printf '%s\n' "$deps" | sed -n 's/^shlibs:Depends=//p'
}

write_control() {
	mkdir -p "$root/DEBIAN"	# where dpkg-shlibdeps sees a package's root
	depends=$(shlib_depends)
	[ -n "$depends" ] || { echo "build.sh: dpkg-shlibdeps found no Depends" >&2; exit 1; }
	sed -e "s|@VERSION@|$version|" -e "s|@ARCH@|$arch|" \
		-e "s|@MAINTAINER@|$maintainer|" -e "s|@DEPENDS@|$depends|" \
		-e "s|@SIZE@|$(du -sk --exclude=DEBIAN "$root" | cut -f1)|" \
		"$here/control.in" > "$root/DEBIAN/control"
	printf 'libjobring 0 jobring (>= %s)\n' "$version" > "$root/DEBIAN/shlibs"
	cp "$here/triggers" "$root/DEBIAN/"
	install -m 755 "$here/postinst" "$here/prerm" "$here/postrm" "$root/DEBIAN/"
}

[ -x "$root/usr/sbin/jobringd" ] || { echo "build.sh: nothing staged in $root" >&2; exit 1; }
compress_man
write_copyright
write_control
(cd "$root" && find . -type f ! -path './DEBIAN/*' -printf '%P\0' | sort -z |
	xargs -0 md5sum > DEBIAN/md5sums)
mkdir -p "$out"
dpkg-deb --root-owner-group -Zxz --build "$root" "$out/jobring_${version}_${arch}.deb"
