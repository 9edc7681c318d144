#!/usr/bin/env bash
# test_answers.sh - the claim's and the completion's answers, written by
# hand (daemon/state/answers.c, issue 14), for many jobs whose names,
# commands, environments, payloads and results need escaping or hold
# non-ASCII UTF-8, numbers in every form, and the cases left to the cJSON
# views (\u escapes, array tasks, a batch header, results with \u). A debug
# build (JR_DEBUG: the test builds) compares every answer it writes by hand
# with the cJSON view, byte for byte, and aborts on a difference: the
# daemon must still be up, and stop cleanly, after all of them.
# Usage: tests/test_answers.sh BUILD_DIR
set -u
build=${1:-build/debug}
daemon="$build/jobringd"
tmp=$(mktemp -d /tmp/jr-answers-XXXXXX)
sock="$tmp/s.sock"
. "$(dirname "$0")/lib.sh"

start_daemon --heartbeat-timeout 60
req POST /workers/register '{"name":"answers"}'
w=$(field worker_id)
check "a worker registered" [ "$code" = 201 ] && [ -n "$w" ]

names=('plain' 'with \"quotes\"' 'back\\slash' 'tab\there' 'new\nline' 'ctl \u0001 \u001f'
	'caf\u00e9' 'café 日本 🚀' 'slash\/es' '<html>&amp;' '%s %n' 'x\ud83d\ude80y' '')
commands=('["/bin/true"]' '["/bin/sh","-c","echo \"hi\" > /tmp/x; printf \"%s\\n\" a\tb"]'
	'["prog","ünï","日本語","\u00e9"]' '["a\\\\b","c\/d"]')
envs=('{}' '{"A":"1","B":"x\ty","C":"é"}' '{"PATH":"/usr/bin","Q":"\"\\\\"}' '{"U":"\u20ac"}')
payloads=('null' '{"n":1.5e3,"m":-0,"z":0.1,"big":12345678901234567890,"l":[true,false,null]}'
	'"text with \"quotes\" and \\\\ and é"' '[1,[2,[3,{"deep":{"er":[]}}]]]' '3.14159265358979')
results=('' '"done"' '{"rows":42,"ratio":0.30000000000000004,"why":"a\"b\\\\c\td","ü":"✓"}'
	'[1e2,-2.5e-7,1E+2]' '{"u":"\u00e9"}' 'null' '7' '{"nested":{"a":[{"b":[]}]}}')

jobs=0 claimed=0 completed=0
one() {	# one JOB_JSON RESULT STATUS: submit, claim, complete
	local job=$1 result=$2 status=$3 exec lease done_body
	req POST /jobs "$job"
	[ "$code" = 201 ] || { echo "submit $code: $body ($job)"; return; }
	jobs=$((jobs + 1))
	req POST "/workers/$w/claim"
	[ "$code" = 200 ] || { echo "claim $code: $body"; return; }
	claimed=$((claimed + 1))
	exec=$(field execution_id)
	lease=$(field lease)
	done_body="{\"status\":\"$status\",\"lease\":\"$lease\"${result:+,\"result\":$result}}"
	req POST "/executions/$exec/complete" "$done_body"
	[ "$code" = 200 ] || { echo "complete $code: $body ($done_body)"; return; }
	completed=$((completed + 1))
}

i=0
for name in "${names[@]}"; do
	for c in "${commands[@]}"; do
		e=${envs[$((i % ${#envs[@]}))]}
		p=${payloads[$((i % ${#payloads[@]}))]}
		r=${results[$((i % ${#results[@]}))]}
		st=succeeded
		[ $((i % 5)) = 4 ] && st=failed
		one "{\"executor\":\"external\",\"name\":\"$name\",\"command\":$c,\"env\":$e,\"payload\":$p,\"priority\":$((i % 10)),\"max_retries\":0,\"cwd\":\"/tmp\",\"timeout\":3600}" "$r" "$st"
		i=$((i + 1))
	done
done
# A retry: the completion's answer shows the failed attempt while the job waits.
one '{"executor":"external","name":"retry \"me\"","max_retries":2,"retry_backoff":0}' \
	'{"exit_code":3}' failed
# None of the submitted fields the answers show.
one '{"executor":"external","name":"bare"}' '' succeeded
# Odd spacing everywhere.
one ' { "executor" : "external" , "name" : "spaced" , "env" : { "A" : "1" } ,
	"priority" : 3 , "dependencies" : [ ] , "command" : [ "x" ] } ' '' succeeded
# Left to cJSON: an array's tasks, a batch with a header.
req POST /jobs '{"executor":"external","name":"arr","array":"0-2"}'
check "an array submitted" [ "$code" = 201 ]
printf '%s\n' '{"batch":{"env":{"RUN":"7","MODE":"fast"}}}' \
	'{"executor":"external","name":"b1","env":{"MODE":"slow"}}' \
	'{"executor":"external","name":"b2 \"é\""}' > "$tmp/batch"
req POST /jobs/batch "$(cat "$tmp/batch")"
check "a batch with a header submitted" [ "$code" = 201 ]
for _ in 1 2 3 4 5; do
	req POST "/workers/$w/claim"
	[ "$code" = 200 ] || break
	claimed=$((claimed + 1))
	exec=$(field execution_id)
	req POST "/executions/$exec/complete" "{\"status\":\"succeeded\",\"lease\":\"$(field lease)\"}"
	[ "$code" = 200 ] && completed=$((completed + 1))
done

want=$((${#names[@]} * ${#commands[@]} + 3))
check "all $want jobs submitted" [ "$jobs" = "$want" ]
check "... claimed, with the array's 3 tasks and the batch's 2" [ "$claimed" = $((want + 5)) ]
check "... and completed" [ "$completed" = $((want + 5)) ]
req GET /health
check "the daemon is up (no answer differed from cJSON's)" [ "$code" = 200 ]
check "... and stops cleanly" stop_daemon
if grep -q "differs from cJSON" "$tmp/daemon.log"; then
	grep -A2 "differs from cJSON" "$tmp/daemon.log" | head -6
	check "no answer differs from cJSON's" false
fi

echo "test_answers: $pass passed, $fail failed"
[ "$fail" = 0 ]
