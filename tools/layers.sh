#!/bin/sh
# layers.sh BUILD [-v] [MODULE...] - the modules' dependencies, computed
# from the objects' defined and undefined symbols, checked against
# src/LAYERS: a call may only point to a layer listed above its own, and
# no module (a folder) and no file may be part of a dependency cycle.
# With MODULEs, only the calls made from those modules are checked (every
# object is still read, so a call up into an unlisted module is caught).
# Prints the module graph with -v. Exit 1 on a violation. JR_LAYERS names
# another layers file (tests/test_layers.sh). See docs/ARCHITECTURE.md,
# "Layers".
set -eu
build=${1:?usage: layers.sh BUILD [-v] [MODULE...]}
shift
verbose=
if [ "${1:-}" = -v ]; then verbose=-v; shift; fi
only="$*"
here=$(cd "$(dirname "$0")/.." && pwd)
layers=${JR_LAYERS:-$here/src/LAYERS}
# Objects whose source is gone (a file moved or deleted since the build
# made them) are not read; JR_LAYERS_SRC= reads every object.
srcdir=${JR_LAYERS_SRC-$here/src}
objs=$(cd "$build/obj" && find . -name '*.o' ! -name 'jobring-all.o' | sed 's|^\./||' | sort |
	while read -r o; do
		if [ -z "$srcdir" ] || [ -f "$srcdir/${o%.o}.c" ]; then echo "$o"; fi
	done)
[ -n "$objs" ] || { echo "layers: no objects under $build/obj" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# file<TAB>D|U<TAB>symbol for every global symbol of every object
for o in $objs; do
	nm "$build/obj/$o" | awk -v f="${o%.o}" '
		$1 == "U" { print f "\tU\t" $2; next }
		NF == 3 && $2 ~ /^[TDBRCVW]$/ { print f "\tD\t" $3 }'
done >"$tmp/syms"

# file -> file edges (from the checked modules only), then module (the
# file's folder) edges
awk -F'\t' -v only="$only" '
	BEGIN { n = split(only, m, " "); for (i = 1; i <= n; i++) checked[m[i]] = 1 }
	$2 == "D" { def[$3] = $1 } $2 == "U" { use[NR] = $1 "\t" $3 }
	END { for (i in use) { split(use[i], u, "\t"); from = u[1]; sub(/\/[^\/]+$/, "", from)
		if (n && !(from in checked)) continue
		if (u[2] in def && def[u[2]] != u[1]) print u[1] "\t" def[u[2]] } }' \
	"$tmp/syms" | sort -u >"$tmp/file_edges"
awk -F'\t' '{ a = $1; b = $2; sub(/\/[^\/]+$/, "", a); sub(/\/[^\/]+$/, "", b);
	if (a != b) print a "\t" b }' "$tmp/file_edges" | sort -u >"$tmp/module_edges"

status=0
[ "$verbose" = -v ] && { echo "module -> the modules it calls:"; \
	awk -F'\t' '{ m[$1] = m[$1] " " $2 } END { for (k in m) print "  " k ":" m[k] }' \
	"$tmp/module_edges" | sort; }

# ranks: src/LAYERS lists layers lowest first, one per line; modules on
# one line are side by side and may not call one another.
awk -F'\t' -v L="$layers" '
	BEGIN { while ((getline line < L) > 0) { sub(/#.*/, "", line); if (line ~ /^[ \t]*$/) continue;
		n++; k = split(line, m, /[ \t]+/); for (i = 1; i <= k; i++) if (m[i] != "") rank[m[i]] = n } }
	{ if (!($1 in rank)) { print "layers: module " $1 " is not in src/LAYERS"; bad = 1; next }
	  if (!($2 in rank)) { print "layers: module " $2 " is not in src/LAYERS"; bad = 1; next }
	  if (rank[$2] >= rank[$1]) { print "layers: " $1 " calls " $2 ", which is not below it"; bad = 1 } }
	END { exit bad }' "$tmp/module_edges" >"$tmp/rank_errors" || status=1
if [ "$status" = 1 ]; then
	sort -u "$tmp/rank_errors"
	# name the calls behind each upward edge
	sed -n 's/^layers: \([^ ]*\) calls \([^,]*\),.*/\1 \2/p' "$tmp/rank_errors" | sort -u |
	while read -r from to; do
		awk -F'\t' -v a="$from" -v b="$to" '
			$2 == "D" { def[$3] = $1 } $2 == "U" { u[NR] = $1 "\t" $3 }
			END { for (i in u) { split(u[i], x, "\t"); d = def[x[2]]; fa = x[1]; fb = d;
				sub(/\/[^\/]+$/, "", fa); sub(/\/[^\/]+$/, "", fb);
				if (d != "" && fa == a && fb == b) print "    " x[1] " -> " x[2] " (" d ")" } }' \
			"$tmp/syms" | sort -u | head -8
	done
fi

# cycles between files: tsort names each loop it breaks; every file on
# one is listed once
if ! tsort "$tmp/file_edges" >/dev/null 2>"$tmp/loops"; then
	echo "layers: files in a dependency cycle:"
	sed -n 's/^tsort: \([^:]*\)$/\1/p' "$tmp/loops" | grep -v ' ' | sort -u | sed 's/^/  /'
	status=1
fi
checked=${only:-every module}
[ "$status" = 0 ] && echo "layers: $(echo "$objs" | wc -l) objects, $(wc -l <"$tmp/module_edges") module edges from $checked, all downward, no cycle"
exit $status
