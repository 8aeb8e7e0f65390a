#!/usr/bin/env bash
# pg_bad (issue 16, "Bad conditions"): klic-admin on a PostgreSQL ledger
# reached with a password (scram-sha-256), under each bad condition:
#   server down (stopped), connection refused (a socket nobody listens
#   on), no server at all in the named folder, wrong password, statement
#   timeout (a psql session holds a lock, the URL sets statement_timeout),
#   server stopped hard (immediate) in the middle of a batch of 30, then
#   started again and the batch run again.
# Each time: non-zero exit, one line on stderr naming the ledger (the URL
# without its password: the password appears nowhere in the output), and
# afterwards no seat spent without its stored response, no response file
# for a request the ledger did not record, `audit verify` clean, and the
# re-run issues what is left and spends nothing twice.
# usage: bad.sh KLIC_ADMIN MKREQ KLIC   (under with_pg.sh)
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../lib.sh"
. "$HERE/pglib.sh"
. "$HERE/common.sh"

PASS=Zq8-pw-Secret41
GOOD=$(pg_url_with_password klicpw "$PASS")
# from here on, every call uses the password URL
PG_URL=$GOOD
S=$BOX/admin
t_vendor
adm "$S" init --org "Bad Org" --name "Bad Admin" --email admin@test.invalid --vendor "$BOX/vendor.asc" >init.txt 2>&1 ||
	{ fail "init: $(cat init.txt)"; t_done; exit 1; }
adm "$S" export-key -o issuer.asc >/dev/null
vendor_entitle kre.kent "Bad Org" 100 KRE issuer.asc
adm "$S" entitlement import kre.kent >/dev/null
mkuser ada
req ada seed.kreq --machine-hex "$(mid 999)"
adm "$S" member add --yes --from-request seed.kreq >/dev/null
for i in $(seq 1 40); do req ada "r$i.kreq" --product KRE --seats 1 --machine-hex "$(mid "$i")"; done
mkdir batch out
for i in $(seq 11 40); do mv "r$i.kreq" batch/; done

used() { pgq "SELECT count(*) FROM licenses"; }
# sound: the ledger's invariants after a failure (checked with psql)
sound() {
	local name=$1 x
	x=$(pgq "SELECT count(*) FROM requests WHERE status = 'issued' AND response IS NULL")
	[ "$x" = 0 ] || fail "$name: $x issued requests without a stored response"
	x=$(pgq "SELECT count(*) FROM requests r WHERE status = 'issued' AND
		(SELECT count(*) FROM licenses l WHERE l.request_digest = r.digest) <> r.seats")
	[ "$x" = 0 ] || fail "$name: $x requests whose license rows differ from their seats"
	x=$(pgq "SELECT count(*) FROM licenses l WHERE NOT EXISTS (SELECT 1 FROM requests r WHERE r.digest = l.request_digest AND r.status = 'issued')")
	[ "$x" = 0 ] || fail "$name: $x licenses without an issued request"
	x=$(pgq "SELECT count(*) FROM requests r WHERE NOT EXISTS (SELECT 1 FROM audit a WHERE a.digest = r.digest)")
	[ "$x" = 0 ] || fail "$name: $x requests without an audit row"
	local f d
	for f in out/*.kresp; do
		[ -e "$f" ] || continue
		d=$(basename "$f" .kresp)
		if [ -e "$d.kreq" ]; then d=$(digest "$d.kreq"); else d=$(digest "batch/$d.kreq"); fi
		[ "$(pgq "SELECT count(*) FROM requests WHERE digest = '$d'")" = 1 ] ||
			fail "$name: $f written for a request the ledger does not hold"
	done
	x=0; adm "$S" audit verify >verify.txt 2>&1 || x=$?
	[ "$x" = 0 ] && pass "$name: afterwards the ledger is sound, audit verify: $(paste -sd';' verify.txt)" ||
		fail "$name: audit verify: rc $x $(cat verify.txt)"
}
# one_line NAME RC ERRFILE [MUST-MATCH]: the failure is reported as asked
one_line() {
	local name=$1 rc=$2 err=$3 want=${4:-} all
	all=$(cat "$err" out.txt 2>/dev/null)
	if [ "$rc" = 0 ]; then fail "$name: exit 0"
	elif [ "$(wc -l <"$err")" != 1 ]; then fail "$name: $(wc -l <"$err") stderr lines: $(head -c 600 "$err")"
	elif [[ $all == *"$PASS"* ]]; then fail "$name: the password is in the output: $(cat "$err")"
	elif ! grep -q 'ledger postgres\(ql\)\?://klicpw@' "$err"; then fail "$name: the line does not name the ledger (postgresql://klicpw@...): $(cat "$err")"
	elif [ -n "$want" ] && ! grep -Eqi "$want" "$err"; then fail "$name: reason not /$want/: $(cat "$err")"
	else pass "$name: exit $rc: $(cat "$err")"; fi
}
# fails NAME URL WANT CMD...: a command on that URL fails as asked and
# changes nothing
fails() {
	local name=$1 url=$2 want=$3 rc=0 n0 o0; shift 3
	n0=down; [ "$KEEP_DOWN" = 1 ] || n0=$(used); o0=$(tree_sum out)
	"$ADMIN" --state "$S" --ledger "$url" "$@" >out.txt 2>err.txt || rc=$?
	one_line "$name" "$rc" err.txt "$want"
	[ "$(tree_sum out)" = "$o0" ] || fail "$name: the output folder changed"
	[ "$KEEP_DOWN" = 1 ] || [ "$(used)" = "$n0" ] || fail "$name: seats spent"
}
KEEP_DOWN=0

# --- the good path, once --------------------------------------------------------
rc=0; adm "$S" issue r1.kreq -o out --yes >out.txt 2>err.txt || rc=$?
[ "$rc" = 0 ] && [ "$(used)" = 1 ] && pass "with the password: issued ($(head -n 1 out.txt | cut -c1-60))" ||
	fail "good path: rc $rc $(cat err.txt)"

# --- a URL libpq cannot parse: klic's own words, never the password in it ---------
rc=0; "$ADMIN" --state "$S" --ledger "postgresql://klicpw:Zq8%zzSecret@/klic?host=$KLIC_PG_DIR" list >out.txt 2>err.txt || rc=$?
[ "$rc" != 0 ] && [ "$(wc -l <err.txt)" = 1 ] && ! grep -q "Secret" err.txt out.txt && grep -q "not a valid postgresql:// URL" err.txt &&
	pass "an unparsable URL: exit $rc, the password nowhere: $(cat err.txt)" || fail "unparsable URL: rc $rc $(cat err.txt)"

# --- server down ----------------------------------------------------------------
pg_stop_fast
KEEP_DOWN=1
for c in "issue r2.kreq -o out --yes" "list" "report" "audit verify" "entitlement list" "member list"; do
	# shellcheck disable=SC2086
	fails "server down: $c" "$GOOD" 'connect|server|socket|running|refused|No such file' $c
done
# a server that accepts and never answers: the command gives up (libpq's
# connect_timeout, 10 s by default, response/ledger_db_pg.c)
pg_silent_start || fail "the silent listener did not start"
t=$(date +%s)
fails "a server that never answers: list" "$GOOD" 'timeout' list
[ $(( $(date +%s) - t )) -le 20 ] && pass "a server that never answers: gave up in $(( $(date +%s) - t )) s" ||
	fail "a server that never answers: $(( $(date +%s) - t )) s"
pg_silent_stop
KEEP_DOWN=0
pg_start
[ "$(used)" = 1 ] && [ ! -e out/r2.kresp ] && pass "server down: nothing spent, no file" || fail "server down: spent $(used)"
sound "server down"

# --- connection refused: a socket file nobody listens on --------------------------
mkdir -p "$BOX/stale"
"$PY" -c 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.close()' "$BOX/stale/.s.PGSQL.5432"
fails "connection refused" "postgresql://klicpw:$PASS@/klic?host=$BOX/stale" 'refused' issue r2.kreq -o out --yes
# --- no server in the named folder ------------------------------------------------
fails "no such socket" "postgresql://klicpw:$PASS@/klic?host=$BOX/nosuch" 'No such file|connect' issue r2.kreq -o out --yes
# --- wrong password ----------------------------------------------------------------
fails "wrong password" "postgresql://klicpw:Wrong-$PASS@/klic?host=$KLIC_PG_DIR" 'password|authentication' issue r2.kreq -o out --yes
grep -q "Wrong-" err.txt && fail "wrong password: the wrong password is shown too"
# --- no such database ----------------------------------------------------------------
fails "no such database" "postgresql://klicpw:$PASS@/nosuchdb?host=$KLIC_PG_DIR" 'nosuchdb|database' list
sound "refused / wrong password"

# --- statement timeout: a session holds a lock on the ledger's tables ------------------
mkfifo hold.fifo
pg_psql <hold.fifo >/dev/null 2>&1 &
holder=$!
exec 7>hold.fifo
echo "BEGIN; LOCK TABLE licenses, requests, audit, entitlements, meta, members IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(60);" >&7
for _ in $(seq 1 50); do
	[ "$(pgq "SELECT count(*) FROM pg_locks WHERE mode = 'AccessExclusiveLock' AND relation = 'licenses'::regclass")" -ge 1 ] && break
	sleep 0.1
done
t=$(date +%s)
KEEP_DOWN=1 # the held lock keeps our own counting out too
fails "statement timeout" "$GOOD&options=-c%20statement_timeout%3D800" 'timeout|cancel' issue r2.kreq -o out --yes
[ $(( $(date +%s) - t )) -lt 20 ] && pass "statement timeout: gave up in $(( $(date +%s) - t )) s" || fail "statement timeout: took $(( $(date +%s) - t )) s"
pgq "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE '%pg_sleep(60)%' AND pid <> pg_backend_pid()" >/dev/null
exec 7>&-
wait "$holder" 2>/dev/null || true
KEEP_DOWN=0
[ "$(used)" = 1 ] && [ ! -e out/r2.kresp ] && pass "statement timeout: nothing spent, no file" || fail "statement timeout: spent $(used)"
sound "statement timeout"
rc=0; adm "$S" issue r2.kreq -o out --yes >out.txt 2>err.txt || rc=$?
[ "$rc" = 0 ] && [ "$(used)" = 2 ] && pass "after the lock is gone the same request is issued" || fail "after timeout: rc $rc $(cat err.txt)"

# --- server stopped hard in the middle of a batch, started again, batch again -----------
n0=$(used)
rc=0
adm "$S" issue batch -o out --yes --jobs 1 >out.txt 2>err.txt &
ip=$!
for _ in $(seq 1 300); do
	[ "$(used 2>/dev/null || echo 0)" -ge $((n0 + 5)) ] && break
	kill -0 "$ip" 2>/dev/null || break
	sleep 0.05
done
pg_stop_immediate
wait "$ip" || rc=$?
if [ "$rc" = 0 ]; then
	fail "mid-batch stop: the batch finished before the stop (exit 0); nothing tested"
else
	all=$(cat out.txt err.txt)
	if [[ $all == *"$PASS"* ]]; then fail "mid-batch stop: the password is in the output"
	elif [ "$(wc -l <err.txt)" = 1 ] && grep -q 'ledger postgres\(ql\)\?://klicpw@.*connection was lost' err.txt; then
		pass "mid-batch stop: exit $rc, $(grep -c '^OK' out.txt) issued before it; one stderr line: $(cat err.txt)"
	else fail "mid-batch stop: not one line naming the ledger: $(head -c 1500 err.txt)"; fi
fi
pg_start
got=$(used)
sound "mid-batch stop"
before=$(tree_sum out)
rc=0; adm "$S" issue batch -o out --yes --jobs 2 >out2.txt 2>err2.txt || rc=$?
[ "$rc" = 0 ] && [ "$(used)" = $((n0 + 30)) ] &&
	pass "batch again: $(tail -n 1 out2.txt); $((got - n0)) seats spent before the stop, $((n0 + 30 - got)) now, none twice" ||
	fail "batch again: rc $rc used $(used) (want $((n0 + 30))): $(tail -n 2 out2.txt) $(head -c 300 err2.txt)"
# the files written before the stop are the stored responses, byte for byte
mkdir out3
adm "$S" issue batch -o out3 --yes --jobs 2 >out3.txt 2>&1 || true
same=0
for f in out/r*.kresp; do
	case $f in out/r1.kresp | out/r2.kresp) continue ;; esac
	cmp -s "$f" "out3/${f#out/}" && same=$((same + 1))
done
[ "$same" = 30 ] && [ "$(used)" = $((n0 + 30)) ] && pass "a third run answers all 30 with the same bytes, spends nothing" ||
	fail "third run: $same of 30 identical, used $(used)"
sound "after the re-runs"
t_done
