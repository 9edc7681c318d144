#!/bin/sh
# check-man.sh EXPORTS [MANDIR] - every call that libjobring exports (one
# name a line in EXPORTS) has its man page, MANDIR/<call>.3 (docs/man):
# a page of its own or a link, ".so man3/<page>.3", to the page of its
# group; that page's NAME section lists the call and its SYNOPSIS
# declares it. And every MANDIR/jr_*.3 is the page of an exported call.
# Exit 1 on a miss. Run by make check-exports.
set -eu
exports=${1:?usage: check-man.sh EXPORTS [MANDIR]}
man=${2:-$(cd "$(dirname "$0")/.." && pwd)/docs/man}
fail=0
miss() { echo "check-man: $*"; fail=1; }

# The page a name's file stands for: itself, or the target of its .so link.
page_of() {
	target=$(sed -n '1s|^\.so man3/||p' "$1")
	if [ -n "$target" ]; then echo "$man/$target"; else echo "$1"; fi
}

# The lines of section $2 of page $1, up to the next .SH.
section() {
	awk -v s="$2" '/^\.SH / { on = ($0 == ".SH " s); next } on' "$1"
}

for call in $(cat "$exports"); do
	f=$man/$call.3
	[ -f "$f" ] || { miss "$call: no page $f"; continue; }
	page=$(page_of "$f")
	[ -f "$page" ] || { miss "$call: $f links to $page, which is missing"; continue; }
	section "$page" NAME | grep -qE "(^|[ ,])$call([ ,]|$)" ||
		miss "$call: not in the NAME section of ${page##*/}"
	section "$page" SYNOPSIS | grep -q "[ *]$call(" ||
		miss "$call: not declared in the SYNOPSIS of ${page##*/}"
done
for f in "$man"/jr_*.3; do
	[ -e "$f" ] || continue
	name=${f##*/}
	grep -qx "${name%.3}" "$exports" || miss "$name: no exported call of that name"
done
[ "$fail" -eq 0 ] && echo "check-man: a page for each of the $(wc -l < "$exports") exported calls"
exit "$fail"
