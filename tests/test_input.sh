#!/usr/bin/env bash
# test_input.sh - input that means what it says (docs/PROTOCOL.md,
# "Validation"): each bad value sent over curl --unix-socket to the real
# jobringd, on POST /jobs and POST /jobs/batch, and through the CLI:
# times past the last representable instant, durations past the cap,
# impossible dates, \u0000 in any string, invalid UTF-8 and NUL bytes,
# duplicate keys, memory 0, a relative, missing or closed cwd (as a second
# uid when root), text after the JSON value; each with its status and a
# JSON error naming the field. Usage: tests/test_input.sh BUILD_DIR
set -u
build=${1:-build/debug}
daemon="$build/jobringd"
cli="$build/jobring"
tmp=$(mktemp -d /tmp/jr-input-XXXXXX)
chmod 755 "$tmp"
sock="$tmp/s.sock"
. "$(dirname "$0")/lib.sh"

start_daemon

# expect NAME STATUS CODE BODY [MESSAGE-PATTERN]: POST /jobs answers so
expect() {
	req POST /jobs "$4"
	check "$1: $2" [ "$code" = "$2" ]
	check "$1: code $3" grep -q "\"error\":{\"code\":\"$3\"" <<<"$body"
	if [ $# -ge 5 ]; then
		check "$1: message names it" grep -q -- "$5" <<<"$body" || echo "  got: $body"
	fi
}

# batch_expect NAME STATUS CODE BODY [PATTERN]: the same as a batch's
# second line, and as line 302 of a long batch (parsed a slice a turn:
# src/daemon/api/batch.c)
long_head=$(for _ in $(seq 301); do echo '{"command":["true"]}'; done)
batch_expect() {
	local n line
	for n in short long; do
		line=2
		if [ $n = short ]; then
			req POST /jobs/batch "$(printf '{"command":["true"]}\n%s\n' "$4")"
		else
			line=302
			req POST /jobs/batch "$(printf '%s\n%s\n' "$long_head" "$4")"
		fi
		check "$n batch $1: $2" [ "$code" = "$2" ]
		check "$n batch $1: line $line $3" grep -q "\"line\":$line,\"code\":\"$3\"" <<<"$body"
		if [ $# -ge 5 ]; then
			check "$n batch $1: message names it" grep -q -- "$5" <<<"$body" ||
				echo "  got: $body"
		fi
	done
}

both() { expect "$@"; batch_expect "$@"; }

# --- times ---------------------------------------------------------------------------
both "time past 2554" 422 invalid_value '{"command":["true"],"scheduled_at":"2600-01-01T00:00:00Z"}' \
	'scheduled_at.*out of range.*2554-07-21T23:34:33Z'
both "time 9999" 422 invalid_value '{"command":["true"],"scheduled_at":"9999-12-31T23:59:59Z"}' 'scheduled_at'
both "time before 1970" 422 invalid_value '{"command":["true"],"scheduled_at":"1969-12-31T23:59:59Z"}' 'scheduled_at'
both "seconds past 2554" 422 invalid_value '{"command":["true"],"scheduled_at":1e11}' 'scheduled_at'
both "Feb 31" 422 invalid_value '{"command":["true"],"scheduled_at":"2026-02-31T00:00:00Z"}' \
	'scheduled_at.*no such date'
both "second 60" 422 invalid_value '{"command":["true"],"scheduled_at":"2026-12-31T23:59:60Z"}' 'no such date'
both "month 13" 422 invalid_value '{"command":["true"],"scheduled_at":"2026-13-01T00:00:00Z"}' 'no such date'
both "hour 24" 422 invalid_value '{"command":["true"],"scheduled_at":"2026-01-01T24:00:00Z"}' 'no such date'
both "Feb 29 of a common year" 422 invalid_value '{"command":["true"],"scheduled_at":"2027-02-29T00:00:00Z"}'
req POST /jobs '{"command":["true"],"scheduled_at":"2554-07-21T23:34:33Z"}'
check "the latest time is taken: 201" [ "$code" = 201 ]
late=$(field job_id)
req GET "/jobs/$late"
check "a far job waits (pending)" [ "$(field status)" = pending ]
req PUT "/jobs/$late/cancel"
req POST /jobs '{"command":["true"],"scheduled_at":"2028-02-29T00:00:00Z"}'
check "Feb 29 of a leap year: 201" [ "$code" = 201 ]
req PUT "/jobs/$(field job_id)/cancel"

# --- durations -------------------------------------------------------------------------
both "timeout past the cap" 422 invalid_value '{"command":["true"],"timeout":"18446744073709s"}' \
	'timeout.*longest duration'
both "timeout 1e9 s + 1 ms" 422 invalid_value '{"command":["true"],"timeout":"1000000000001ms"}' 'timeout'
both "timeout number past the cap" 422 invalid_value '{"command":["true"],"timeout":2e9}' 'timeout'
both "backoff past the cap" 422 invalid_value '{"command":["true"],"retry_backoff":"40000d"}' 'retry_backoff'
both "hex duration" 422 invalid_value '{"command":["true"],"timeout":"0x10"}' 'timeout'
both "exponent duration" 422 invalid_value '{"command":["true"],"retry_backoff_max":"1e3"}' 'retry_backoff_max'
req POST /jobs '{"command":["sleep","0.3"],"timeout":"1000000000s"}'
check "the longest timeout is taken: 201" [ "$code" = 201 ]
capped=$(field job_id)
check "and does not kill the job early" wait_status "$capped" succeeded

# --- NUL, UTF-8, duplicates, trailing text ------------------------------------------------
both "NUL in command" 422 invalid_value '{"command":["echo","a\u0000b"]}' 'command\[1\] holds a NUL'
both "NUL in env value" 422 invalid_value '{"command":["true"],"env":{"A":"x\u0000"}}' 'env.A holds a NUL'
both "NUL in a key" 422 invalid_value '{"command":["true"],"env":{"A\u0000B":"x"}}' 'a key in env'
both "NUL in payload" 422 invalid_value '{"command":["true"],"payload":{"a":[1,{"b":"\u0000"}]}}' \
	'payload.a\[1\].b'
both "NUL in name" 422 invalid_value '{"command":["true"],"name":"\u0000"}' 'name holds'
req POST /jobs '{"command":["echo","a\\u0000b"]}'
check "an escaped backslash before u0000 is no NUL: 201" [ "$code" = 201 ]
esc=$(field job_id)
wait_status "$esc" succeeded
req GET "/jobs/$esc/logs"
check "and runs as sent" grep -q '"data":"a\\\\u0000b\\n"' <<<"$body"

bad_utf8=$(printf '{"command":["echo","\xff"]}')
expect "invalid UTF-8" 400 invalid_utf8 "$bad_utf8" 'not valid UTF-8 (byte 20: 0xff)'
req POST /jobs/batch "$(printf '{"command":["true"]}\n%s\n' "$bad_utf8")"
check "batch invalid UTF-8: 400" [ "$code" = 400 ]
check "batch invalid UTF-8 names the line" grep -q '"code":"invalid_utf8","message":"line 2:' <<<"$body"
expect "overlong UTF-8" 400 invalid_utf8 "$(printf '{"command":["echo","\xc0\xaf"]}')"
expect "UTF-8 surrogate" 400 invalid_utf8 "$(printf '{"command":["echo","\xed\xa0\x80"]}')"
expect "truncated UTF-8" 400 invalid_utf8 "$(printf '{"command":["echo","\xe2\x82"]}')"
printf '{"command":["echo","a\0b"]}' >"$tmp/nul.json"
out=$(curl -s -w '\n%{http_code}' --unix-socket "$sock" --data-binary @"$tmp/nul.json" http://x/jobs)
check "raw NUL byte: 400 invalid_utf8" grep -q '"code":"invalid_utf8","message":"the body holds a NUL byte' <<<"$out"
req POST /jobs '{"command":["echo","héllo ☃ 𝄞"],"name":"naïve"}'
check "valid UTF-8: 201" [ "$code" = 201 ]
utf=$(field job_id)
wait_status "$utf" succeeded
req GET "/jobs/$utf"
check "and is shown as sent" grep -q '"name":"naïve"' <<<"$body"

long3=$(for i in $(seq 30); do printf '☃'; done)	# 90 bytes: a quote of 64 cuts one
req POST /jobs "{\"command\":[\"true\"],\"timeout\":\"$long3\"}"
check "a quoted value cut mid-character: 422" [ "$code" = 422 ]
check "and the error is still valid UTF-8" iconv -f UTF-8 -t UTF-8 <<<"$body" >/dev/null 2>&1
both "duplicate top-level key" 400 duplicate_key '{"command":["true"],"command":["false"]}' '"command\\" appears twice'
both "duplicate nested key" 400 duplicate_key '{"command":["true"],"env":{"A":"1","A":"2"}}' 'in \\"env\\"'
big=$(for i in $(seq 100); do printf '"K%d":"v",' "$i"; done)
both "duplicate in a big object" 400 duplicate_key "{\"command\":[\"true\"],\"env\":{${big}\"K7\":\"w\"}}" 'K7'
req POST /jobs "{\"command\":[\"true\"],\"env\":{${big}\"K0\":\"w\"}}"
check "a big object without duplicates: 201" [ "$code" = 201 ]
expect "text after the value" 400 invalid_json '{"command":["true"]} {"command":["false"]}' 'text after'
req POST /jobs $'{"command":["true"]}\n  \r\n'
check "whitespace after the value: 201" [ "$code" = 201 ]

# --- memory and cwd ----------------------------------------------------------------------
both "memory 0" 422 invalid_value '{"command":["true"],"requirements":{"memory":0}}' 'requirements.memory must be more than 0'
both "memory \"0G\"" 422 invalid_value '{"command":["true"],"requirements":{"memory":"0G"}}' 'requirements.memory'
both "memory past 2^64" 422 invalid_value '{"command":["true"],"requirements":{"memory":"16E"}}' 'requirements.memory'
both "empty cwd" 422 invalid_value '{"command":["true"],"cwd":""}' 'cwd \\"\\" is not an absolute path'
both "relative cwd" 422 invalid_value '{"command":["true"],"cwd":"sub/dir"}' 'not an absolute path'
both "missing cwd" 422 invalid_value "{\"command\":[\"true\"],\"cwd\":\"$tmp/nowhere/x\"}" \
	"$tmp/nowhere: No such file or directory"
touch "$tmp/file"
both "cwd a file" 422 invalid_value "{\"command\":[\"true\"],\"cwd\":\"$tmp/file\"}" 'is not a directory'
mkdir -p "$tmp/work"
req POST /jobs "{\"command\":[\"pwd\"],\"cwd\":\"$tmp/work\"}"
check "an existing cwd: 201" [ "$code" = 201 ]
wd=$(field job_id)
wait_status "$wd" succeeded
req GET "/jobs/$wd/logs"
check "and the job runs there" grep -q "\"data\":\"$tmp/work\\\\n\"" <<<"$body"
req POST /jobs '{"executor":"external","cwd":"/on/the/worker/host"}'
check "an external job's cwd need not exist here: 201" [ "$code" = 201 ]
req PUT "/jobs/$(field job_id)/cancel"
expect "an external job's cwd is absolute" 422 invalid_value '{"executor":"external","cwd":"rel"}'

# --- the CLI ---------------------------------------------------------------------------------
export JOBRING_SOCKET=$sock
"$cli" submit --at 2600-01-01T00:00:00Z -- true >/dev/null 2>"$tmp/err"
check "CLI --at past 2554 fails" [ $? != 0 ]
check "CLI says why" grep -q -- '--at 2600-01-01T00:00:00Z is out of range' "$tmp/err"
"$cli" submit --at 2026-02-31T00:00:00Z -- true >/dev/null 2>"$tmp/err"
check "CLI --at Feb 31 fails" [ $? != 0 ]
check "CLI --at Feb 31 says why" grep -q 'no such date' "$tmp/err"
"$cli" submit --timeout 18446744073709s -- true >/dev/null 2>"$tmp/err"
check "CLI --timeout past the cap fails" [ $? != 0 ]
check "CLI --timeout says why" grep -q -- '--timeout 18446744073709s is longer than' "$tmp/err"
"$cli" submit --mem 0 -- true >/dev/null 2>"$tmp/err"
check "CLI --mem 0 fails" [ $? != 0 ]
check "CLI --mem 0 says why" grep -q -- '--mem 0 must be more than 0' "$tmp/err" || cat "$tmp/err"
cli_path=$(readlink -f "$cli")
(cd "$tmp/work" && "$cli_path" submit -- true >/dev/null)
check "CLI from an enterable directory: accepted (it sends its cwd)" [ $? = 0 ]
"$cli" submit -- echo "$(printf 'bad \xff')" >/dev/null 2>"$tmp/err"
check "CLI invalid UTF-8 fails" [ $? != 0 ]
check "CLI invalid UTF-8 says why" grep -q 'UTF-8' "$tmp/err" || cat "$tmp/err"
unset JOBRING_SOCKET

# --- other routes: queues, workers, shutdown -------------------------------------------------
req POST /queues '{"name":"q1","name":"q2"}'
check "queue duplicate key: 400" [ "$code" = 400 ]
check "queue duplicate key: duplicate_key" grep -q '"code":"duplicate_key"' <<<"$body"
req POST /queues "$(printf '{"name":"q\xff"}')"
check "queue invalid UTF-8: 400" [ "$code" = 400 ]
req POST /queues '{"name":"q\u0000x"}'
check "queue name with NUL: 422" [ "$code" = 422 ]
req POST /workers/register '{"name":"w","name":"v"}'
check "worker duplicate key: 400" [ "$code" = 400 ]
req POST /workers/register "$(printf '{"name":"w\xfe"}')"
check "worker invalid UTF-8: 400 invalid_utf8" grep -q '"code":"invalid_utf8"' <<<"$body"
req POST /shutdown '{"drain":true,"grace":"18446744073709s"}'
check "shutdown grace past the cap: 422" [ "$code" = 422 ]
req POST /shutdown '{"drain":true,"grace":"1s","grace":"2s"}'
check "shutdown duplicate key: 400" [ "$code" = 400 ]

# --- a job that cannot start: its cause and end time, also after a restart ----------------------
req POST /jobs '{"command":["/nonexistent/program"]}'
sf=$(field job_id)
check "spawn_failed job fails" wait_status "$sf" failed
check "reason spawn_failed" grep -q '"reason":"spawn_failed"' <<<"$body"
check "spawn_failed has an end time" grep -qE '"end_time":"20[0-9]{2}-' <<<"$body"
check "spawn_failed has its cause" \
	grep -q '"cause":"execve /nonexistent/program: No such file or directory"' <<<"$body"
req GET "/executions/01${sf:2}"
check "its execution has an end time" grep -qE '"end_time":"20[0-9]{2}-' <<<"$body"
check "and the cause" grep -q '"cause":"execve /nonexistent/program: No such' <<<"$body"
# A cwd that was there at submission and is gone at the start.
mkdir "$tmp/gone"
req POST /jobs "{\"command\":[\"true\"],\"cwd\":\"$tmp/gone\",\"scheduled_at\":$(($(date +%s) + 2))}"
gone=$(field job_id)
rmdir "$tmp/gone"
check "a cwd gone by the start: spawn_failed" wait_status "$gone" failed
check "cause: chdir" grep -q "\"cause\":\"chdir $tmp/gone: No such file or directory\"" <<<"$body"
# One string past MAX_ARG_STRLEN (128 KiB): execve says E2BIG.
{ printf '{"command":["true"],"env":{"HUGE":"'; head -c 200000 /dev/zero | tr '\0' x; printf '"}}'; } \
	>"$tmp/huge.json"	# too long for curl's own argv
body=$(curl -s --unix-socket "$sock" --data-binary @"$tmp/huge.json" http://x/jobs)
e2big=$(field job_id)
check "a huge environment: spawn_failed" wait_status "$e2big" failed
check "cause: E2BIG" grep -q '"cause":"execve true: Argument list too long"' <<<"$body"
JOBRING_SOCKET=$sock "$cli" show "$e2big" >"$tmp/show"
check "the CLI's show says the cause" grep -q '^cause  *execve true: Argument list too long' "$tmp/show"
stop_daemon KILL	# the journal alone
start_daemon
req GET "/jobs/$sf"
check "the end time survives kill -9" grep -qE '"end_time":"20[0-9]{2}-' <<<"$body"
check "the cause survives kill -9" grep -q '"cause":"execve /nonexistent/program' <<<"$body"
req GET "/jobs/$gone"
check "the chdir cause survives kill -9" grep -q '"cause":"chdir ' <<<"$body"
stop_daemon	# a clean stop writes a snapshot
start_daemon
req GET "/jobs/$e2big"
check "the cause survives a snapshot" grep -q '"cause":"execve true: Argument list too long"' <<<"$body"
stop_daemon
# Without a keeper, the runner spawns: the same cause.
start_daemon --no-keeper --state-dir "$tmp/state-nokeeper"
req POST /jobs '{"command":["/nonexistent/program"]}'
nk=$(field job_id)
check "no keeper: spawn_failed" wait_status "$nk" failed
check "no keeper: the cause" grep -q '"cause":"execve /nonexistent/program: No such' <<<"$body"
req POST /jobs '{"command":["true"]}'
ok=$(field job_id)
wait_status "$ok" succeeded
check "a job that started has no cause" not grep -q '"cause"' <<<"$body"

# --- cwd as another uid ----------------------------------------------------------------------
stop_daemon
if [ "$(id -u)" = 0 ] && command -v useradd >/dev/null && command -v runuser >/dev/null; then
	id jrtest_a >/dev/null 2>&1 || useradd -M -s /bin/sh jrtest_a
	start_daemon --socket-mode 0666 --state-dir "$tmp/state-uid"
	mkdir -p "$tmp/closed/inner" "$tmp/open" "$tmp/mine"
	chmod 700 "$tmp/closed"
	chmod 755 "$tmp/closed/inner" "$tmp/open"
	chown jrtest_a "$tmp/mine"
	chmod 700 "$tmp/mine"
	ln -sfn "$tmp/closed/inner" "$tmp/link"
	as_a() {	# as_a BODY: POST /jobs as jrtest_a; $code and $body
		local out
		out=$(runuser -u jrtest_a -- curl -s -w '\n%{http_code}' --unix-socket "$sock" \
			--data-binary "$1" http://x/jobs)
		code=${out##*$'\n'}
		body=${out%$'\n'*}
	}
	as_a "{\"command\":[\"true\"],\"cwd\":\"$tmp/closed\"}"
	check "another uid: a closed cwd 422" [ "$code" = 422 ]
	check "and the message says so" grep -q "uid $(id -u jrtest_a) may not enter $tmp/closed" <<<"$body"
	as_a "{\"command\":[\"true\"],\"cwd\":\"$tmp/closed/inner\"}"
	check "another uid: an open cwd under a closed one 422" [ "$code" = 422 ]
	as_a "{\"command\":[\"true\"],\"cwd\":\"$tmp/link\"}"
	check "another uid: a symlink into a closed directory 422" [ "$code" = 422 ]
	as_a "{\"command\":[\"true\"],\"cwd\":\"$tmp/open\"}"
	check "another uid: an open cwd 201" [ "$code" = 201 ]
	as_a "{\"command\":[\"true\"],\"cwd\":\"$tmp/mine\"}"
	check "another uid: its own 0700 directory 201" [ "$code" = 201 ]
	req POST /jobs "{\"command\":[\"true\"],\"cwd\":\"$tmp/closed\"}"
	check "root may enter the closed one: 201" [ "$code" = 201 ]
	stop_daemon
else
	echo "SKIP: cwd as another uid needs root, useradd and runuser"
fi

echo "test_input: $pass passed, $fail failed"
[ "$fail" = 0 ]
