#!/usr/bin/env bash
# The web console on a shared PostgreSQL ledger whose server goes away
# while `klic-admin serve` runs (issue 16 "Bad conditions", the server
# side): after a restart of the database server (fast, and immediate: a
# crash) the next page opens a new session and answers 200, with no
# restart of klic-admin; while the database server is down a page answers
# 503 naming the ledger (never its password), the console keeps running,
# and it answers again once the server is back; a server that accepts and
# never answers costs a page at most connect_timeout (10 s), never the
# console.  The password of the ledger's URL appears nowhere.
# Usage: pg_restart.sh KLIC_ADMIN   (under tests/pg/with_pg.sh, KLIC_TEST_ENGINE=pg)
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../pg/pglib.sh"
. "$(dirname "$0")/weblib.sh"
ADMIN=$1
t_engine_admin
A="$BOX/org"
cd "$BOX"
command -v curl >/dev/null || { echo "# curl missing (setup.sh installs it): skipped"; exit 77; }
[ "$T_ENGINE" = pg ] || { echo "$0: KLIC_TEST_ENGINE=pg only" >&2; exit 2; }
t_org_setup "$A" "Acme" 3
# the console reaches the ledger with a password (scram-sha-256): it must
# never show it
PASS=Zq8-web-Secret7
URLPW=$(pg_url_with_password klicweb "$PASS" | sed "s#/klic?#/$(pg_state_db "$A")?#")
ADMIN_WRAPPED=$ADMIN
ADMIN=$KLIC_REAL_ADMIN
export KLIC_LEDGER=$URLPW
serve_start
ADMIN=$ADMIN_WRAPPED
unset KLIC_LEDGER
req -c jar.txt "$URL"
[ "$CODE" = 303 ] || fail "login: $CODE"
page() { req -b jar.txt "$ORIGIN$1"; }
page /entitlements
[ "$CODE" = 200 ] && grep -q "Acme\|KRE" b.txt && pass "the Entitlements page before anything happens" ||
	fail "entitlements: $CODE $(head -c 200 b.txt)"

page /members
CSRF=$(grep -o 'name="csrf" value="[0-9a-f]*"' b.txt | head -n1 | cut -d'"' -f4)
post() { req -b jar.txt -H "Origin: $ORIGIN" -F "csrf=$CSRF" "$@"; }

pg_restart
# a form post first: the POST path opens the new session too (a member
# that is not one: the ledger's own answer, not a lost connection)
post -F "member=$(printf 'A%.0s' {1..40})" "$ORIGIN/members/remove"
[ "$CODE" = 409 ] && grep -qi "member" b.txt && ! grep -qi "connection\|ledger failure" b.txt &&
	pass "after the database server restarted (fast): a form post gets the ledger's answer (409, not a member)" ||
	fail "post after a fast restart: $CODE $(grep -o 'id="error">[^<]*' b.txt | head -c 300)"
page /entitlements
[ "$CODE" = 200 ] && pass "after the database server restarted (fast): 200, a new session" ||
	fail "after a fast restart: $CODE $(head -c 300 b.txt)"
page /licenses.csv
[ "$CODE" = 200 ] && head -n 1 b.txt | grep -q '^license_id,' && pass "and the licenses' CSV" ||
	fail "licenses.csv after the restart: $CODE"

pg_stop_immediate
pg_start
page /entitlements
[ "$CODE" = 200 ] && pass "after a crash of the database server (immediate stop) and its start: 200" ||
	fail "after an immediate stop: $CODE $(head -c 300 b.txt)"

pg_stop_fast
: >"$BOX/srv.err"
page /entitlements
if [ "$CODE" = 503 ] && grep -q "ledger postgresql://" b.txt && kill -0 "$SRV_PID" 2>/dev/null; then
	pass "database server down: 503 naming the ledger, the console still runs: $(head -c 200 b.txt | tr '\n' ' ')"
else
	fail "server down: $CODE $(head -c 300 b.txt)"
fi
page /licenses
[ "$CODE" = 503 ] && pass "and again 503 while it is down" || fail "second page while down: $CODE"
[ "$(grep -c ' GET /entitlements: 503 ledger postgresql://klicweb@' "$BOX/srv.err")" = 1 ] &&
	[ "$(grep -c ' GET /licenses: 503 ledger postgresql://klicweb@' "$BOX/srv.err")" = 1 ] &&
	pass "each 503 is one line of the console's log" || fail "503 log lines: $(cat "$BOX/srv.err")"
req "$ORIGIN/entitlements"
[ "$CODE" = 403 ] && pass "without a session: 403, the ledger not even tried" || fail "no session while down: $CODE"
# a server that accepts and never answers: the page gives up (connect_timeout)
pg_silent_start || fail "the silent listener did not start"
t=$(date +%s)
page /entitlements
[ "$CODE" = 503 ] && grep -q "timeout" b.txt && [ $(( $(date +%s) - t )) -le 20 ] &&
	pass "a database server that never answers: 503 after $(( $(date +%s) - t )) s: $(head -c 160 b.txt | tr '\n' ' ')" ||
	fail "silent server: $CODE after $(( $(date +%s) - t )) s: $(head -c 300 b.txt)"
pg_silent_stop
pg_start
page /entitlements
[ "$CODE" = 200 ] && pass "the database server back: 200" || fail "after start: $CODE $(head -c 300 b.txt)"
serve_stop
[ "$SRV_RC" = 0 ] && pass "the console stops cleanly (exit 0)" || fail "serve exit $SRV_RC: $(cat "$BOX/srv.err")"
grep -qF -- "$PASS" "$BOX"/*.txt "$BOX/srv.err" "$BOX/srv.out" && fail "the password appears in a page or the log" ||
	pass "the password appears in no page and no log line"
t_done
