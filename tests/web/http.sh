#!/usr/bin/env bash
# klic-admin serve through curl (issue 17, item 1): --listen takes loopback
# addresses only; the login token works once; every page needs the session;
# every POST needs the server's own Origin and the form's CSRF token; each
# 403 writes one log line; uploads are capped (413); every response carries
# the security headers; SIGTERM/SIGINT stop it with exit 0; the admin state
# is not changed by any of it.
# Usage: http.sh KLIC_ADMIN
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/weblib.sh"
ADMIN=$1
HERE=$(cd "$(dirname "$0")" && pwd)
A="$BOX/org"
cd "$BOX"
command -v curl >/dev/null || { echo "# curl missing (setup.sh installs it): skipped"; exit 77; }
t_org_setup "$A" 'Acme & "Sons"' 3
CSP="default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

# --- --listen: loopback only --------------------------------------------------
for l in 0.0.0.0:8080 10.1.2.3:0 128.0.0.1:0 '[::]:0' '[2001:db8::1]:0' '[::ffff:127.0.0.1]:0'; do
	rc=0
	"$ADMIN" --state "$A" serve --listen "$l" >out.txt 2>err.txt || rc=$?
	want="klic-admin: serve: --listen $l: not a loopback address (127.0.0.0/8 or [::1] only) (see 'klic-admin serve --help')"
	if [ "$rc" -eq 2 ] && [ "$(cat err.txt)" = "$want" ] && [ ! -s out.txt ]; then
		pass "serve --listen $l: exit 2, '$want'"
	else
		fail "serve --listen $l: exit $rc, stdout '$(cat out.txt)', stderr '$(cat err.txt)'"
	fi
done
for l in localhost:0 127.0.0.1 127.0.0.1:65536 127.0.0.1:-1 '[::1]0'; do
	rc=0
	"$ADMIN" --state "$A" serve --listen "$l" >out.txt 2>err.txt || rc=$?
	if [ "$rc" -eq 2 ] && [ "$(wc -l <err.txt)" -eq 1 ] &&
		grep -qF "klic-admin: serve: --listen $l: " err.txt && [ ! -s out.txt ]; then
		pass "serve --listen $l: exit 2, $(cat err.txt)"
	else
		fail "serve --listen $l: exit $rc, stderr '$(cat err.txt)'"
	fi
done
before=$(tree_sum "$A")

# --- 127.0.0.0/8 and [::1] are served ----------------------------------------
serve_start --listen 127.7.8.9:0
if [[ $URL =~ ^http://127\.7\.8\.9:[0-9]+/login\?token=[0-9a-f]{64}$ ]]; then
	pass "serve --listen 127.7.8.9:0 prints $URL"
else
	fail "127.7.8.9: printed '$URL' ($(cat srv.err))"
fi
serve_stop TERM
if [ "$(ip -6 addr show lo 2>/dev/null | grep -c '::1')" -gt 0 ]; then
	serve_start --listen '[::1]:0'
	if [[ $URL =~ ^http://\[::1\]:[0-9]+/login\?token=[0-9a-f]{64}$ ]]; then
		pass "serve --listen [::1]:0 prints $URL"
	else
		fail "[::1]: printed '$URL' ($(cat srv.err))"
	fi
	serve_stop TERM
fi

# --- login ---------------------------------------------------------------------
serve_start
TOKEN=${URL##*token=}
[[ $URL =~ ^http://127\.0\.0\.1:[0-9]+/login\?token=[0-9a-f]{64}$ ]] &&
	pass "default --listen 127.0.0.1:0: $URL" || fail "login URL '$URL'"
n403=0 # 403s so far, each must have its log line
req "$ORIGIN/"
[ "$CODE" = 403 ] && n403=$((n403 + 1)) && pass "GET / without a session: 403 ($(cat b.txt))" ||
	fail "GET / without a session: $CODE"
[ "$(hdr Content-Security-Policy)" = "$CSP" ] && pass "the 403 carries the CSP: $CSP" ||
	fail "403 CSP: '$(hdr Content-Security-Policy)'"
req "$ORIGIN/static/style.css"
[ "$CODE" = 403 ] && n403=$((n403 + 1)) && pass "GET /static/style.css without a session: 403" ||
	fail "style.css without a session: $CODE"
req "$ORIGIN/login"
[ "$CODE" = 403 ] && n403=$((n403 + 1)) && grep -qx '403 no login token' b.txt &&
	pass "GET /login without a token: 403 no login token" || fail "no token: $CODE $(cat b.txt)"
bad=$(printf '%s' "$TOKEN" | tr '0-9a-f' '1-9a-f0')
req "$ORIGIN/login?token=$bad"
[ "$CODE" = 403 ] && n403=$((n403 + 1)) && grep -qx '403 wrong login token' b.txt &&
	pass "GET /login with a wrong token: 403 wrong login token" || fail "wrong token: $CODE"
req -c jar.txt "$URL"
cookie=$(hdr Set-Cookie)
if [ "$CODE" = 303 ] && [ "$(hdr Location)" = / ] &&
	[[ $cookie =~ ^klic_session=[0-9a-f]{64}\;\ HttpOnly\;\ SameSite=Strict\;\ Path=/$ ]] &&
	[ "$(hdr Content-Security-Policy)" = "$CSP" ]; then
	pass "GET the login URL: 303 to /, Set-Cookie: $cookie"
else
	fail "login: $CODE, Location '$(hdr Location)', Set-Cookie '$cookie'"
fi
req -c jar2.txt "$URL"
[ "$CODE" = 403 ] && n403=$((n403 + 1)) && grep -qx '403 login token already used' b.txt &&
	[ -z "$(hdr Set-Cookie)" ] && pass "the login URL a second time: 403 login token already used, no cookie" ||
	fail "token twice: $CODE $(cat b.txt) cookie '$(hdr Set-Cookie)'"
req -b 'klic_session=0000000000000000000000000000000000000000000000000000000000000000' "$ORIGIN/"
[ "$CODE" = 403 ] && n403=$((n403 + 1)) && pass "GET / with a made-up session cookie: 403" ||
	fail "made-up cookie: $CODE"

# --- pages with the session: headers -------------------------------------------
req -b jar.txt "$ORIGIN/"
if [ "$CODE" = 200 ] && [ "$(hdr Content-Security-Policy)" = "$CSP" ] &&
	[ "$(hdr X-Content-Type-Options)" = nosniff ] &&
	[ "$(hdr Referrer-Policy)" = same-origin ] && [ "$(hdr Cache-Control)" = no-store ] &&
	grep -q 'Acme &amp; &quot;Sons&quot;' b.txt && ! grep -q 'Acme & "Sons"' b.txt; then
	pass "GET / with the session: 200, CSP, nosniff, Referrer-Policy same-origin, no-store; the org name escaped"
else
	fail "GET /: $CODE; $(tr -d '\r' <h.txt | tr '\n' '|')"
fi
if grep -Eq '(src|href)="(https?:)?//' b.txt || grep -q '<script>' b.txt ||
	[ "$(grep -o '<script[^>]*>' b.txt)" != '<script src="/static/app.js" defer>' ]; then
	fail "the page refers outside or has an inline script"
else
	pass "the page has no outside reference and no inline script (one: /static/app.js)"
fi
CSRF=$(grep -o 'name="csrf" value="[0-9a-f]*"' b.txt | head -n1 | cut -d'"' -f4)
[ "${#CSRF}" -eq 64 ] && pass "the page's forms carry a 64-hex CSRF token" || fail "CSRF '$CSRF'"
req -b jar.txt "$ORIGIN/static/style.css"
[ "$CODE" = 200 ] && [[ $(hdr Content-Type) == text/css* ]] && cmp -s b.txt "$HERE/../../response/web/style.css" &&
	pass "GET /static/style.css: the built-in copy of response/web/style.css" ||
	fail "style.css: $CODE $(hdr Content-Type)"
req -b jar.txt "$ORIGIN/static/app.js"
[ "$CODE" = 200 ] && [[ $(hdr Content-Type) == text/javascript* ]] && cmp -s b.txt "$HERE/../../response/web/app.js" &&
	pass "GET /static/app.js: the built-in copy of response/web/app.js" ||
	fail "app.js: $CODE $(hdr Content-Type)"
req -b jar.txt "$ORIGIN/nothing-here"
[ "$CODE" = 404 ] && [ "$(hdr Content-Security-Policy)" = "$CSP" ] &&
	pass "GET /nothing-here: 404 with the CSP" || fail "404: $CODE"

# --- POST: Origin and CSRF -------------------------------------------------------
post_refused() { # NAME WHY CURL_ARGS...: 403 and the body "403 WHY"
	local name=$1 why=$2
	shift 2
	req -b jar.txt "$@" "$ORIGIN/logout"
	if [ "$CODE" = 403 ] && [ "$(cat b.txt)" = "403 $why" ]; then
		n403=$((n403 + 1))
		pass "$name: 403 $why"
	else
		fail "$name: $CODE $(cat b.txt)"
	fi
}
post_refused "POST with a wrong CSRF token" "wrong CSRF token" -H "Origin: $ORIGIN" -d csrf=${CSRF//[0-9a-f]/0}
post_refused "POST without a CSRF token" "no CSRF token" -H "Origin: $ORIGIN" -d other=1
post_refused "POST with the CSRF token but no Origin" "no Origin header" -d "csrf=$CSRF"
post_refused "POST with a foreign Origin" "foreign Origin" -H "Origin: http://evil.example" -d "csrf=$CSRF"
post_refused "POST with the Origin of another port" "foreign Origin" -H "Origin: ${ORIGIN%:*}:1" -d "csrf=$CSRF"
post_refused "POST with Origin null" "foreign Origin" -H "Origin: null" -d "csrf=$CSRF"
post_refused "POST not a form" "not a form (no CSRF token)" -H "Origin: $ORIGIN" -H 'Content-Type: application/json' --data-binary "{\"csrf\":\"$CSRF\"}"
req -X POST -H "Origin: $ORIGIN" -d "csrf=$CSRF" "$ORIGIN/logout"
[ "$CODE" = 403 ] && n403=$((n403 + 1)) && pass "POST without the session cookie: 403 ($(cat b.txt))" ||
	fail "POST without a session: $CODE"

# --- caps: 256 KiB a file, 64 files, 20 MiB a body --------------------------------
head -c 262144 /dev/urandom >f256k.bin
head -c 262145 /dev/urandom >f256k1.bin
head -c 100 /dev/urandom >small.bin
post_refused "a 256 KiB file (at the cap) with a wrong CSRF token: read, then" "wrong CSRF token" \
	-H "Origin: $ORIGIN" -F csrf=${CSRF//[0-9a-f]/1} -F kreq=@f256k.bin
req -b jar.txt -H "Origin: $ORIGIN" -F "csrf=$CSRF" -F kreq=@f256k1.bin "$ORIGIN/logout"
[ "$CODE" = 413 ] && [ "$(cat b.txt)" = "413 upload too large: f256k1.bin: larger than 256 KiB" ] &&
	pass "a 256 KiB + 1 byte file: $(cat b.txt)" || fail "256 KiB + 1: $CODE $(cat b.txt)"
files=()
for i in $(seq 64); do files+=(-F "kreq=@small.bin"); done
post_refused "64 files (at the cap) with a wrong CSRF token: read, then" "wrong CSRF token" \
	-H "Origin: $ORIGIN" -F csrf=${CSRF//[0-9a-f]/2} "${files[@]}"
req -b jar.txt -H "Origin: $ORIGIN" -F "csrf=$CSRF" "${files[@]}" -F kreq=@small.bin "$ORIGIN/logout"
[ "$CODE" = 413 ] && [ "$(cat b.txt)" = "413 too many files: more than 64 files in one upload" ] &&
	pass "65 files: $(cat b.txt)" || fail "65 files: $CODE $(cat b.txt)"
head -c $((20 * 1024 * 1024 + 1)) /dev/zero >big.bin
req -b jar.txt -H "Origin: $ORIGIN" -H 'Content-Type: application/x-www-form-urlencoded' --data-binary @big.bin "$ORIGIN/logout"
[ "$CODE" = 413 ] && [ "$(cat b.txt)" = "413 request body larger than 20 MiB" ] &&
	pass "a body of 20 MiB + 1 (Content-Length): 413" || fail "20 MiB + 1: $CODE $(cat b.txt)"
req -b jar.txt -H "Origin: $ORIGIN" -H 'Transfer-Encoding: chunked' -H 'Content-Type: application/x-www-form-urlencoded' --data-binary @big.bin "$ORIGIN/logout"
[ "$CODE" = 413 ] && [ "$(cat b.txt)" = "413 request body larger than 20 MiB" ] &&
	pass "a body of 20 MiB + 1 (chunked, no length): 413" || fail "chunked 20 MiB + 1: $CODE $(cat b.txt)"
head -c 20000 /dev/zero | tr '\0' x >longkey.txt
req -b jar.txt -H "Origin: $ORIGIN" -H 'Content-Type: application/x-www-form-urlencoded' --data-binary @longkey.txt "$ORIGIN/logout"
[ "$CODE" = 400 ] && [ "$(cat b.txt)" = "400 malformed form" ] &&
	pass "a form the parser gives up on (a 20000-byte field name): 400 malformed form" ||
	fail "malformed form: $CODE $(cat b.txt)"
req -b jar.txt "$ORIGIN/"
[ "$CODE" = 200 ] && pass "after every refusal the session still works (GET / 200)" ||
	fail "session after refusals: $CODE"

# --- the log: one line per 403 ---------------------------------------------------
nlog=$(grep -c ': 403 ' srv.err || true)
if [ "$nlog" -eq "$n403" ] && [ "$(wc -l <srv.err)" -eq "$n403" ] &&
	! grep -Evq '^klic-admin: serve: [0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z (GET|POST) /[^ ]*: 403 .+$' srv.err &&
	grep -q ' POST /logout: 403 foreign Origin$' srv.err &&
	grep -q ' GET /login: 403 login token already used$' srv.err; then
	pass "stderr: one log line per 403 ($n403), time, method, path and why"
else
	fail "log: $nlog lines for $n403 refusals: $(cat srv.err)"
fi

# --- sign out, then SIGTERM --------------------------------------------------------
req -b jar.txt -H "Origin: $ORIGIN" -d "csrf=$CSRF" "$ORIGIN/logout"
[ "$CODE" = 200 ] && grep -q 'Signed out' b.txt && pass "POST /logout with Origin and CSRF: 200 Signed out" ||
	fail "logout: $CODE"
req -b jar.txt "$ORIGIN/"
[ "$CODE" = 403 ] && pass "after signing out the cookie is refused: 403" || fail "after logout: $CODE"
serve_stop TERM
if [ "$SRV_RC" -eq 0 ] && [ "$(tail -n1 srv.out)" = "stopped (SIGTERM)" ]; then
	pass "SIGTERM: exit 0, 'stopped (SIGTERM)'"
else
	fail "SIGTERM: exit $SRV_RC, $(cat srv.out)"
fi
req "$ORIGIN/"
[ "$CODE" = 000 ] && pass "after SIGTERM nothing listens on $ORIGIN" || fail "still answering: $CODE"
serve_start
serve_stop INT
[ "$SRV_RC" -eq 0 ] && [ "$(tail -n1 srv.out)" = "stopped (SIGINT)" ] &&
	pass "SIGINT: exit 0, 'stopped (SIGINT)'" || fail "SIGINT: exit $SRV_RC, $(cat srv.out)"

# --- the login token expires after 10 minutes (faketime, 100x) --------------------
if command -v faketime >/dev/null; then
	export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0"
	: >srv.out
	faketime -f '+0 x100' "$ADMIN" --state "$A" serve >srv.out 2>srv.err &
	FT_PID=$!
	for i in $(seq 100); do [ -s srv.out ] && break; sleep 0.1; done
	SRV_PID=$(pgrep -P "$FT_PID" || echo "$FT_PID") # faketime runs it as its child
	URL=$(head -n1 srv.out)
	ORIGIN=${URL%%/login*}
	sleep 7 # 700 s of the server's time
	req "$URL"
	[ "$CODE" = 403 ] && [ "$(cat b.txt)" = "403 login token expired" ] &&
		pass "the login URL after 10 minutes: 403 login token expired" ||
		fail "expired token: $CODE $(cat b.txt)"
	kill -TERM "$SRV_PID"
	wait "$FT_PID" || true
	SRV_PID=
	[ "$(tail -n1 srv.out)" = "stopped (SIGTERM)" ] && pass "under faketime: stopped (SIGTERM)" ||
		fail "faketime run: $(cat srv.out)"
else
	echo "# faketime missing: the token expiry is not tested"
fi

after=$(tree_sum "$A")
[ "$before" = "$after" ] && pass "the admin state is unchanged by all of the above" ||
	fail "the admin state changed: $(diff <(echo "$before") <(echo "$after"))"
t_done
