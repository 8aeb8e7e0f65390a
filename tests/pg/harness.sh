#!/usr/bin/env bash
# pg_harness: the server harness itself (run under with_pg.sh): the
# server answers on its socket only, stops and starts mid-test, keeps a
# committed row across an immediate stop, asks a password role for its
# password and refuses a wrong one.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$HERE/../lib.sh"
. "$HERE/pglib.sh"

[ -n "${KLIC_PG_DIR:-}" ] || { echo "run me under tests/pg/with_pg.sh" >&2; exit 2; }
case $KLIC_LEDGER in
"postgresql:///klic?host=$KLIC_PG_DIR") pass "KLIC_LEDGER names the socket folder" ;;
*) fail "KLIC_LEDGER is $KLIC_LEDGER" ;;
esac
[ "$KLIC_TEST_LEDGER" = "$KLIC_LEDGER" ] && pass "KLIC_TEST_LEDGER = KLIC_LEDGER" || fail "KLIC_TEST_LEDGER differs"
[ -S "$KLIC_PG_DIR/.s.PGSQL.5432" ] && pass "Unix socket in $KLIC_PG_DIR" || fail "no socket"
[ "$(pg_psql -At -c 'SHOW listen_addresses')" = "" ] && pass "no TCP" || fail "listens on TCP"
[ "$(psql -X -At "$KLIC_LEDGER" -c 'SELECT current_database()')" = klic ] && pass "the URL reaches database klic" || fail "URL"

pg_psql -c 'CREATE TABLE h (x int); INSERT INTO h VALUES (42)'
pg_stop_immediate
if pg_running; then fail "still running after pg_stop_immediate"; else pass "pg_stop_immediate"; fi
if psql -X "$KLIC_LEDGER" -c 'SELECT 1' >/dev/null 2>&1; then fail "answers while stopped"; else pass "refuses while stopped"; fi
pg_start
[ "$(pg_psql -At -c 'SELECT x FROM h')" = 42 ] && pass "committed row kept across an immediate stop" || fail "row lost"
pg_restart
pg_running && pass "pg_restart" || fail "pg_restart"
pg_stop_fast
pg_running && fail "pg_stop_fast" || pass "pg_stop_fast"
pg_start

url=$(pg_url_with_password alice 'pw-Zq81')
[ "$(psql -X -At "$url" -c 'SELECT current_user')" = alice ] && pass "password role connects" || fail "password role"
bad=${url/pw-Zq81/wrong}
if psql -X -w "$bad" -c 'SELECT 1' >/dev/null 2>"$BOX/e"; then fail "wrong password accepted"
else grep -q 'password authentication failed' "$BOX/e" && pass "wrong password refused" || fail "wrong password: $(cat "$BOX/e")"; fi
if psql -X -w "$(pg_url_bad_socket)" -c 'SELECT 1' >/dev/null 2>&1; then fail "bad socket answered"; else pass "bad socket refused"; fi
t_done
