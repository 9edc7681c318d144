#!/usr/bin/env bash
# test_web.sh - the web dashboard and the TCP listeners (issue 16): the
# page and its files served over the Unix socket (whatever Host the
# browser behind `ssh -L` sends) and over --http, which wants the token
# (401 without, 200 with Authorization: Bearer or the cookie ?token= sets,
# 421 for a Host that names another site), acts as the daemon's owner,
# and refuses a token file others can read; --metrics-listen answering
# GET /metrics and 404 for anything else. Then the page in a real browser
# (tests/web_selenium.py: headless Chromium through Selenium) against the
# live daemon, skipped, saying so, without chromium, chromedriver or
# python3-selenium, and under build/asan and build/tsan.
# Usage: tests/test_web.sh BUILD_DIR
set -u
build=${1:-build/debug}
build=$(cd "$build" && pwd)
daemon="$build/jobringd"
cli="$build/jobring"
tmp=$(mktemp -d /tmp/jr-web-XXXXXX)
chmod 755 "$tmp"
sock="$tmp/s.sock"
. "$(dirname "$0")/lib.sh"

listening() {	# listening FLAG: the ADDR:PORT the daemon's log says it took
	grep -o -- "$1 listening on [^ ]*" "$tmp/daemon.log" | tail -1 | awk '{ print $4 }'
}
# tcp [curl options...] URL_PATH: over --http; sets $code and $body
tcp() {
	local path=${*: -1} out
	out=$(curl -s -w '\n%{http_code}' "${@:1:$#-1}" "http://$http$path")
	code=${out##*$'\n'}
	body=${out%$'\n'*}
}

start_daemon --http 127.0.0.1:0 --metrics-listen 127.0.0.1:0
http=$(listening --http)
metrics=$(listening --metrics-listen)
token=$(cat "$tmp/state/http-token")
check "--http and --metrics-listen said where they listen ($http, $metrics)" \
	[ -n "$http" ] && [ -n "$metrics" ]
check "the token file was made 0600" [ "$(stat -c %a "$tmp/state/http-token")" = 600 ]
check "... holding 64 hex digits" grep -qxE '[0-9a-f]{64}' "$tmp/state/http-token"

# --- the page over the Unix socket ----------------------------------------------------
req GET /
check "socket: / is 200" [ "$code" = 200 ]
check "socket: / is the dashboard's page" grep -q '<main id="view"' <<<"$body"
check "socket: ... its script and styles within it (one request to paint)" \
	grep -q "EventSource('/events')" <<<"$body" && grep -q '^<style>' <<<"$body"
boot=$(sed -n 's|^<script id="boot-health" type="application/json">\(.*\)</script>$|\1|p' <<<"$body")
check "socket: ... /health's answer within it (the counts paint without a fetch)" \
	[ "$(jq -r .submitted <<<"$boot")" = "$(curl -s --unix-socket "$sock" http://x/health | jq -r .submitted)" ]
ctype=$(curl -s -o /dev/null -w '%{content_type}' --unix-socket "$sock" http://localhost:8080/)
check "socket: / is text/html, with Host: localhost:8080 as ssh -L gives ($ctype)" \
	[ "${ctype%%;*}" = text/html ]
for f in app.js app.css; do
	req GET "/ui/$f"
	check "socket: /ui/$f is 200" [ "$code" = 200 ]
done
req GET /ui/app.js
check "socket: app.js follows /events" grep -q "EventSource('/events')" <<<"$body"
check "socket: no file from elsewhere (no http:// or https:// in the page or script)" \
	not grep -qE "(src|href)=\"https?:|url\\(|@import" <<<"$body$(curl -s --unix-socket "$sock" http://x/)"
req GET /ui/missing.js
check "socket: /ui/missing.js is 404" [ "$code" = 404 ]
req POST /
check "socket: POST / is 405" [ "$code" = 405 ]

# --- --http: the token, Host, the cookie ---------------------------------------------------
tcp /
check "--http: / without the token is 401" [ "$code" = 401 ]
tcp /health
check "--http: /health without the token is 401" [ "$code" = 401 ]
tcp -H "Authorization: Bearer $token" /
check "--http: / with the token is 200" [ "$code" = 200 ]
check "--http: ... the page" grep -q '<main id="view"' <<<"$body"
tcp -H "Authorization: Bearer $token" /ui/app.css
check "--http: /ui/app.css with the token is 200" [ "$code" = 200 ]
tcp -H "Authorization: Bearer ${token}0" /health
check "--http: a wrong token is 401" [ "$code" = 401 ]
tcp -H "Authorization: Bearer $token" -H "Host: rebound.example.com:${http##*:}" /health
check "--http: a Host naming another site is 421 (DNS rebinding)" [ "$code" = 421 ]
tcp -H "Authorization: Bearer $token" -H "Host: 127.0.0.1:1" /health
check "--http: a Host with another port is 421" [ "$code" = 421 ]
tcp -H "Authorization: Bearer $token" -H "Host: localhost:${http##*:}" /health
check "--http: Host localhost:PORT is fine" [ "$code" = 200 ]
headers=$(curl -s -D - -o /dev/null "http://$http/?token=$token")
check "--http: ?token= answers 303" grep -q '^HTTP/1.1 303' <<<"$headers"
check "--http: ... back to / without the token" grep -q $'^Location: /\r$' <<<"$headers"
check "--http: ... setting an HttpOnly SameSite=Strict cookie" \
	grep -q "^Set-Cookie: jobring_token=$token; Path=/; HttpOnly; SameSite=Strict" <<<"$headers"
tcp "/?token=${token}0"
check "--http: a wrong ?token= is 401" [ "$code" = 401 ]
curl -s -c "$tmp/jar" -L -o "$tmp/page" "http://$http/?token=$token"
check "--http: following it with a cookie jar lands on the page" grep -q '<main id="view"' "$tmp/page"
tcp -b "$tmp/jar" /health
check "--http: the cookie alone then opens the API" [ "$code" = 200 ]
tcp -H "Cookie: other=1; jobring_token=$token; x=y" /jobs
check "--http: the cookie among others" [ "$code" = 200 ]
tcp -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
	--data-binary '{"command":["true"],"name":"over-tcp"}' /jobs
check "--http: a job submitted with the token is 201" [ "$code" = 201 ]
jid=$(field job_id)
req GET "/jobs/$jid"
check "--http: ... and is the daemon owner's (uid $(id -u))" [ "$(field uid)" = "$(id -u)" ]

# --- --metrics-listen --------------------------------------------------------------------------
out=$(curl -s -w '\n%{http_code}' "http://$metrics/metrics")
check "--metrics-listen: /metrics is 200 without a token" [ "${out##*$'\n'}" = 200 ]
check "--metrics-listen: ... the Unix socket's metrics" grep -q '^jobring_jobs_submitted_total ' <<<"$out"
for p in /health /jobs / /ui/app.js /metrics/x; do
	check "--metrics-listen: $p is 404" [ "$(curl -s -o /dev/null -w '%{http_code}' "http://$metrics$p")" = 404 ]
done
check "--metrics-listen: POST /metrics is 404" \
	[ "$(curl -s -o /dev/null -w '%{http_code}' -X POST "http://$metrics/metrics")" = 404 ]

# --- the browser -------------------------------------------------------------------------------
py=
for p in /usr/bin/python3 python3; do
	if "$p" -c 'import selenium' 2>/dev/null; then py=$p; break; fi
done
case "$(basename "$build")" in
asan|tsan) echo "test_web: browser part skipped under $(basename "$build") (Chromium is too heavy there)" ;;
*)
	if [ -z "$py" ] || ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then
		echo "test_web: browser part skipped: chromium, chromedriver or python3-selenium is missing (make deps)"
	else
		JOBRING_SOCKET=$sock "$py" "$(dirname "$0")/web_selenium.py" "http://$http" "$token" >"$tmp/selenium.log" 2>&1
		rc=$?
		cat "$tmp/selenium.log"
		check "the dashboard in headless Chromium shows the daemon's state" [ "$rc" = 0 ]
	fi
	;;
esac
stop_daemon

# --- a token file given, and one others can read -------------------------------------------------
printf 'my-own-token-0123456789\n' >"$tmp/token"
chmod 600 "$tmp/token"
start_daemon --http 127.0.0.1:0 --http-token-file "$tmp/token"
http=$(listening --http)
tcp -H "Authorization: Bearer my-own-token-0123456789" /health
check "--http-token-file: its token is the one wanted" [ "$code" = 200 ]
stop_daemon
chmod 644 "$tmp/token"
spawn_daemon --http 127.0.0.1:0 --http-token-file "$tmp/token"
wait "$daemon_pid"
check "--http-token-file readable by others: the daemon refuses to start" [ $? != 0 ]
check "... saying why" grep -q 'readable by others' "$tmp/daemon.log"

echo "test_web: $pass passed, $fail failed"
[ "$fail" = 0 ]
