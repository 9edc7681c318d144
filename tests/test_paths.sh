#!/usr/bin/env bash
# test_paths.sh - hostile users (issue 12), as root with two other users:
# a /tmp/jobring-UID or a state directory made first by another user is
# refused by jobringd and by the CLI (which sends nothing there), a link
# planted in the state directory is not followed, and a root daemon's job
# for another user never sees the daemon's environment: HOME, USER and
# LOGNAME from the password database, only what the submission carried
# (jobring submit --export=ALL by default, NONE, VAR, VAR=value).
#
# The default socket /tmp/jobring-UID is tested in mount namespaces whose
# /tmp is a directory of this test (bound over it), so the machine's own
# /tmp/jobring-* are never touched. The binaries are copied to a 0755
# directory, so that the other users can run them from any checkout.
# Usage: tests/test_paths.sh BUILD_DIR
set -u
build=$(cd "${1:-build/debug}" && pwd)
for c in useradd runuser unshare mount curl; do
	if [ "$(id -u)" != 0 ] || ! command -v "$c" >/dev/null; then
		echo "SKIP: test_paths needs root, useradd, runuser, unshare, mount and curl"
		exit 0
	fi
done
if ! unshare -m --propagation private true 2>/dev/null; then
	echo "SKIP: test_paths needs mount namespaces (unshare -m)"
	exit 0
fi
tmp=$(mktemp -d /tmp/jr-paths-XXXXXX)
chmod 755 "$tmp"
sock="$tmp/s.sock"
daemon="$tmp/bin/jobringd"
cli="$tmp/bin/jobring"
. "$(dirname "$0")/lib.sh"
mkdir -m 755 "$tmp/bin" "$tmp/work"
cp "$build/jobringd" "$build/jobring" "$tmp/bin/"
share_sanitizer_files "$tmp/bin"
for u in jrtest_a jrtest_b; do id "$u" >/dev/null 2>&1 || useradd -M -s /bin/sh "$u"; done
ua=$(id -u jrtest_a)
home_a=$(getent passwd jrtest_a | cut -d: -f6)
cd "$tmp/work" || exit 1	# the jobs of other users start in the CLI's cwd

# A fake /tmp: "${ns[@]}" CMD... runs CMD in a mount namespace where $ft is
# /tmp (each call a namespace of its own, all seeing the same $ft); run in
# the background, $! is the process that ends up running CMD (unshare, sh
# and runuser exec or pass signals on), so that kill stops it.
ft="$tmp/t"
mkdir -m 1777 "$ft"
mkdir -m 755 "$ft/bin"
cp "$build/jobringd" "$build/jobring" "$ft/bin/"
ns=(unshare -m --propagation private sh -c 'mount --bind "$1" /tmp && shift && exec "$@"' ns "$ft")
clean_env=(env -u XDG_RUNTIME_DIR -u XDG_STATE_HOME -u HOME)
as_a=(runuser -u jrtest_a -- "${clean_env[@]}")
as_b=(runuser -u jrtest_b -- "${clean_env[@]}")

# --- a /tmp/jobring-UID made first by another user ------------------------------------
mkdir -m 0777 "$ft/jobring-$ua"
chown jrtest_b "$ft/jobring-$ua"
mkdir -m 700 "$ft/st-a" && chown jrtest_a "$ft/st-a"
"${ns[@]}" "${as_a[@]}" timeout 20 /tmp/bin/jobringd --state-dir /tmp/st-a 2>"$tmp/err"
check "daemon: another user's /tmp/jobring-UID refused (exit 1)" [ $? = 1 ]
check "daemon: the refusal names the path, owner and mode" \
	grep -q "/tmp/jobring-$ua is owned by another user (owner jrtest_b, uid [0-9]*, mode 0777)" "$tmp/err"
check "daemon: no socket made there" [ ! -e "$ft/jobring-$ua/jobring.sock" ]

# The attacker's own daemon behind that path (its directory is theirs, not
# writable by others, so it starts): jrtest_a's CLI must not talk to it.
chmod 755 "$ft/jobring-$ua"
mkdir -m 700 "$ft/st-b" && chown jrtest_b "$ft/st-b"
"${ns[@]}" "${as_b[@]}" /tmp/bin/jobringd --socket "/tmp/jobring-$ua/jobring.sock" --state-dir /tmp/st-b \
	2>>"$tmp/daemon.log" &
pids+=($!)
evil=$ft/jobring-$ua/jobring.sock
wait_until 20 test -S "$evil"
check "the attacker's daemon listens" [ -S "$evil" ]
note_cgroup "$(runuser -u jrtest_b -- curl -s --unix-socket "$evil" http://x/health)"
out=$("${ns[@]}" "${as_a[@]}" /tmp/bin/jobring submit -- true 2>"$tmp/err")
check "cli: a socket in another user's directory refused (exit 3)" [ $? = 3 ]
check "cli: prints no id" [ -z "$out" ]
check "cli: the refusal names the directory and its owner" \
	grep -q "refusing the socket /tmp/jobring-$ua/jobring.sock: /tmp/jobring-$ua is owned by another user (owner jrtest_b" "$tmp/err"
check "cli: the attacker's daemon got nothing" \
	sh -c "runuser -u jrtest_b -- curl -s --unix-socket '$evil' http://x/jobs | grep -q '\"jobs\":\[\]'"
chmod 777 "$ft/jobring-$ua"
"${ns[@]}" "${as_a[@]}" /tmp/bin/jobring --socket "/tmp/jobring-$ua/jobring.sock" stats >/dev/null 2>"$tmp/err"
check "cli: an explicit --socket there refused too (exit 3)" [ $? = 3 ]
check "cli: ...named owned by another user" grep -q "is owned by another user" "$tmp/err"
kill "${pids[-1]}"; wait "${pids[-1]}" 2>/dev/null
rm -rf "${ft:?}/jobring-$ua"

# A socket of another user in a sticky shared directory (/tmp itself).
"${ns[@]}" "${as_b[@]}" /tmp/bin/jobringd --socket /tmp/b.sock --state-dir /tmp/st-b 2>>"$tmp/daemon.log" &
pids+=($!)
wait_until 20 test -S "$ft/b.sock"
"${ns[@]}" "${as_a[@]}" /tmp/bin/jobring --socket /tmp/b.sock stats >/dev/null 2>"$tmp/err"
check "cli: another user's socket in /tmp refused (exit 3)" [ $? = 3 ]
check "cli: ...named owned by another user" grep -q "/tmp/b.sock is owned by another user" "$tmp/err"
kill "${pids[-1]}"; wait "${pids[-1]}" 2>/dev/null

# Nothing in the way: jrtest_a's daemon makes its own /tmp/jobring-UID (0700)
# and its CLI finds it there by default.
"${ns[@]}" "${as_a[@]}" /tmp/bin/jobringd --state-dir /tmp/st-a 2>>"$tmp/daemon.log" &
pids+=($!)
wait_until 20 test -S "$ft/jobring-$ua/jobring.sock"
check "daemon: its own /tmp/jobring-UID is made private" \
	[ "$(stat -c '%U %a' "$ft/jobring-$ua")" = "jrtest_a 700" ]
note_cgroup "$(runuser -u jrtest_a -- curl -s --unix-socket "$ft/jobring-$ua/jobring.sock" http://x/health)"
# From /: the daemon, in a mount namespace of its own, checks the cwd the CLI sends.
id=$("${ns[@]}" "${as_a[@]}" env -C / /tmp/bin/jobring submit -- true 2>"$tmp/err")
check "cli: the default socket is used when it is the user's" [ "${#id}" = 16 ]
kill "${pids[-1]}"; wait "${pids[-1]}" 2>/dev/null

# --- a state directory made first by another user -------------------------------------
mkdir -m 777 "$tmp/xdg-b" && chown jrtest_b "$tmp/xdg-b"
runuser -u jrtest_a -- env XDG_STATE_HOME="$tmp/xdg-b" timeout 20 "$daemon" \
	--socket "$tmp/a.sock" 2>"$tmp/err"
check "daemon: a state directory under another user's refused (exit 1)" [ $? = 1 ]
check "daemon: ...naming it" grep -q "refusing the state directory $tmp/xdg-b/jobring: $tmp/xdg-b is owned by another user" "$tmp/err"
check "daemon: ...and writing nothing there" [ ! -e "$tmp/xdg-b/jobring" ]
mkdir -m 700 "$tmp/st-other" && chown jrtest_b "$tmp/st-other"
runuser -u jrtest_a -- timeout 20 "$daemon" --socket "$tmp/a.sock" --state-dir "$tmp/st-other" \
	2>"$tmp/err"
check "daemon: --state-dir owned by another user refused" grep -q "$tmp/st-other is owned by another user" "$tmp/err"
# Without HOME the state no longer goes to /tmp/.local/state/jobring.
mkdir -p -m 777 "$ft/.local/state/jobring" && chown -R jrtest_b "$ft/.local"
"${ns[@]}" "${as_a[@]}" timeout 5 /tmp/bin/jobringd --socket /tmp/a.sock 2>"$tmp/err"
check "daemon: without HOME, not /tmp/.local/state" not grep -q "/tmp/.local" "$tmp/err"
check "daemon: without HOME, the home of the password database" grep -q "$home_a/.local/state/jobring" "$tmp/err"

# --- links planted in the state directory ---------------------------------------------
mkdir -m 700 "$tmp/st-link"
ln -s "$tmp/victim" "$tmp/st-link/jobringd.lock"
timeout 20 "$daemon" --socket "$tmp/l.sock" --state-dir "$tmp/st-link" 2>"$tmp/err"
check "a linked jobringd.lock: refused (exit 1)" [ $? = 1 ]
check "a linked jobringd.lock: not followed" [ ! -e "$tmp/victim" ]
check "a linked jobringd.lock: said" grep -q "jobringd.lock: Too many levels of symbolic links" "$tmp/err"
rm "$tmp/st-link/jobringd.lock"
mkdir -m 755 "$tmp/elsewhere"
rm -rf "$tmp/st-link/output"	# made by the run before
ln -s "$tmp/elsewhere" "$tmp/st-link/output"
timeout 20 "$daemon" --socket "$tmp/l.sock" --state-dir "$tmp/st-link" 2>"$tmp/err"
check "a linked output directory: refused" grep -q "refusing the output directory $tmp/st-link/output: $tmp/st-link/output is a symbolic link" "$tmp/err"
check "a linked output directory: nothing written through it" [ -z "$(ls -A "$tmp/elsewhere")" ]
chmod 777 "$tmp/st-link" && rm "$tmp/st-link/output"
timeout 20 "$daemon" --socket "$tmp/l.sock" --state-dir "$tmp/st-link" 2>"$tmp/err"
check "a state directory writable by others: refused" grep -q "st-link is writable by group or others" "$tmp/err"

# --- the environment of another user's job under a root daemon --------------------------
export JR_SECRET=s3cret-of-root
start_daemon --socket-mode 0666
unset JR_SECRET
show_env='echo "secret=[$JR_SECRET]"; echo "home=$HOME"; echo "user=$USER"; echo "logname=$LOGNAME"; echo "foo=[$FOO]"; echo "bar=[$BAR]"; echo "path=$PATH"'
job_env() {	# job_env SUBMIT-OPTIONS...: jrtest_a submits show_env; its output
	local id
	id=$(runuser -u jrtest_a -- env -i PATH=/usr/bin:/bin HOME=/caller/home FOO=foo-of-caller \
		BAR=bar-of-caller JOBRING_SOCKET="$sock" "$cli" submit "$@" -- sh -c "$show_env")
	"$cli" --socket "$sock" wait "$id" >/dev/null 2>&1
	"$cli" --socket "$sock" logs "$id"
}
out=$(job_env --export=NONE)
check "NONE: no daemon variable leaks" grep -qx 'secret=\[\]' <<<"$out"
check "NONE: HOME from the password database" grep -qx "home=$home_a" <<<"$out"
check "NONE: USER" grep -qx "user=jrtest_a" <<<"$out"
check "NONE: LOGNAME" grep -qx "logname=jrtest_a" <<<"$out"
check "NONE: a default PATH" grep -qx "path=/usr/local/bin:/usr/bin:/bin" <<<"$out"
check "NONE: nothing of the caller's" grep -qx 'foo=\[\]' <<<"$out"
out=$(job_env)
check "ALL (default): no daemon variable leaks" grep -qx 'secret=\[\]' <<<"$out"
check "ALL (default): the caller's variables" grep -qx 'foo=\[foo-of-caller\]' <<<"$out"
check "ALL (default): the caller's HOME wins" grep -qx "home=/caller/home" <<<"$out"
check "ALL (default): the caller's PATH" grep -qx "path=/usr/bin:/bin" <<<"$out"
out=$(job_env --export=FOO)
check "FOO: that variable" grep -qx 'foo=\[foo-of-caller\]' <<<"$out"
check "FOO: no other" grep -qx 'bar=\[\]' <<<"$out"
check "FOO: HOME from the password database" grep -qx "home=$home_a" <<<"$out"
check "FOO: no daemon variable leaks" grep -qx 'secret=\[\]' <<<"$out"
out=$(job_env --export=FOO=bar)
check "FOO=bar: set" grep -qx 'foo=\[bar\]' <<<"$out"
check "FOO=bar: no other" grep -qx 'bar=\[\]' <<<"$out"
out=$(job_env --export=ALL,FOO=bar -e BAR=from-e)
check "ALL,FOO=bar: the value given wins" grep -qx 'foo=\[bar\]' <<<"$out"
check "-e wins over --export" grep -qx 'bar=\[from-e\]' <<<"$out"
# --file: the environment goes once per batch (its header), with the same result.
printf '%s\n' "$show_env" >"$tmp/work/env.jobs"
chmod 644 "$tmp/work/env.jobs"
id=$(runuser -u jrtest_a -- env -i PATH=/usr/bin:/bin HOME=/caller/home FOO=foo-of-caller \
	BAR=bar-of-caller JOBRING_SOCKET="$sock" "$cli" submit -e BAR=from-e --file "$tmp/work/env.jobs" \
	2>/dev/null)
"$cli" --socket "$sock" wait "$id" >/dev/null 2>&1
out=$("$cli" --socket "$sock" logs "$id")
check "--file ALL: the caller's variables" grep -qx 'foo=\[foo-of-caller\]' <<<"$out"
check "--file ALL: -e wins" grep -qx 'bar=\[from-e\]' <<<"$out"
check "--file ALL: the caller's HOME wins" grep -qx "home=/caller/home" <<<"$out"
check "--file ALL: USER from the password database" grep -qx "user=jrtest_a" <<<"$out"
check "--file ALL: no daemon variable leaks" grep -qx 'secret=\[\]' <<<"$out"
runuser -u jrtest_a -- env JOBRING_SOCKET="$sock" "$cli" submit --export=1BAD -- true 2>/dev/null
check "a bad --export: usage (exit 2)" [ $? = 2 ]
# Root's own jobs run as the daemon's uid: they inherit its environment.
id=$("$cli" --socket "$sock" submit --export=NONE -- sh -c 'echo "secret=[$JR_SECRET]"')
"$cli" --socket "$sock" wait "$id" >/dev/null 2>&1
check "root's own job keeps the daemon's environment" \
	sh -c "'$cli' --socket '$sock' logs '$id' | grep -qx 'secret=\[s3cret-of-root\]'"
stop_daemon

echo "test_paths: $pass passed, $fail failed"
[ "$fail" = 0 ]
