#!/usr/bin/env bash
# pg_migrate (issue 16, "Must show"): `klic-admin ledger migrate --to
# postgresql://...` of a SQLite ledger holding 10,000 licenses (a few
# issued by klic-admin itself, signed denial included; the rest written
# straight into the ledger in the shape issue gives them: request row with
# a stored response, license row, 'issued' audit row chained by
# klic_audit_hash), one vendor entitlement of 10,100 seats.
# list, list --json, report --json, entitlement list --json, member list,
# audit verify and the usage export's content agree before (SQLite) and
# after (PostgreSQL); issuing goes on from the migrated ledger; a second
# migrate into the now non-empty database is refused (one line, nothing
# changed); a source whose audit chain does not verify is refused too.
# usage: migrate.sh KLIC_ADMIN MKREQ KLIC   (under with_pg.sh)
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../lib.sh"
. "$HERE/pglib.sh"
. "$HERE/common.sh"

ROWS=${KLIC_PG_MIGRATE_ROWS:-10000}
S=$BOX/admin
sq() { "$ADMIN" --state "$S" "$@"; }
t0=$(date +%s)
t_vendor
sq init --org "Migrate Org" --name "Mig Admin" --email admin@test.invalid --vendor "$BOX/vendor.asc" >init.txt 2>&1 ||
	{ fail "init: $(cat init.txt)"; t_done; exit 1; }
sq export-key -o issuer.asc >/dev/null
vendor_entitle kre.kent "Migrate Org" $((ROWS + 100)) KRE issuer.asc
vendor_entitle kse.kent "Migrate Org" 1 KSE issuer.asc
sq entitlement import kre.kent >/dev/null
sq entitlement import kse.kent >/dev/null
mkuser ada; mkuser bob
req ada seed-ada.kreq --machine-hex "$(mid 900)"
req bob seed-bob.kreq --machine-hex "$(mid 901)"
sq member add --yes --from-request seed-ada.kreq >/dev/null
sq member add --yes --from-request seed-bob.kreq >/dev/null
req ada i1.kreq --product KRE --seats 2 --machine-hex "$(mid 1)"
req bob i2.kreq --product KSE --seats 1 --machine-hex "$(mid 2)"
req ada i3.kreq --product KSE --seats 1 --machine-hex "$(mid 3)"
mkdir out
sq issue i1.kreq i2.kreq -o out --yes --jobs 1 >/dev/null
sq issue i3.kreq -o out --yes >/dev/null # no KSE seat left: a stored denial

# the bulk: ROWS - 3 more licenses, one 1-seat request each
"$PY" - "$S/ledger.sqlite" $((ROWS - 3)) <<'PY'
import hashlib, os, sqlite3, sys, time
db = sqlite3.connect(sys.argv[1], isolation_level=None)
n = int(sys.argv[2])
db.execute('PRAGMA foreign_keys = ON')
db.execute('BEGIN IMMEDIATE')
ent = db.execute("SELECT id FROM entitlements WHERE product = 'KRE'").fetchone()[0]
fprs = [r[0] for r in db.execute('SELECT fingerprint FROM members ORDER BY fingerprint')]
seq, prev = db.execute('SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1').fetchone()
now = int(time.time())
A = '0123456789ABCDEFGHJKMNPQRSTVWXYZ'
def mid(i):
    # spec 2.2: 24 base32 symbols of a 120-bit ID, a Luhn mod 32 check symbol
    v = [((i * 2654435761 + 12345) >> (5 * k)) & 31 for k in range(24)][::-1]
    total = 0
    for n, x in enumerate(reversed(v)):
        if n % 2 == 0:
            x *= 2
            x = x // 32 + x % 32
        total += x
    s = ''.join(A[x] for x in v) + A[(32 - total % 32) % 32]
    return '-'.join(s[k:k + 5] for k in range(0, 25, 5))
for i in range(n):
    # issued 80..11 days ago, each half a day off a day boundary so that
    # report's 7/14/30-day columns and active/expired cannot change while
    # the test runs (60 days: some expired, most active)
    t = now - 86400 * 80 + (i % 70) * 86400 + 43200 + i // 70
    at = time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(t))
    exp = t + 86400 * 60
    exps = time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(exp))
    digest = hashlib.sha256(b'migrate-%d' % i).hexdigest()
    fpr = fprs[i % len(fprs)]
    m = mid(i + 4096)
    lid = '%012x' % (t * 1000 + i % 1000) + os.urandom(10).hex()
    db.execute('INSERT INTO requests (digest, member_fpr, machine_id, product, seats, status, '
               'reason_code, reason, entitlement_id, created, response) '
               "VALUES (?, ?, ?, 'KRE', 1, 'issued', NULL, NULL, ?, ?, ?)",
               (digest, fpr, m, ent, at, b'migrated-response-%d' % i))
    db.execute('INSERT INTO licenses (license_id, request_digest, seat, machine_id, product, issued, '
               "expires, entitlement_id, member_fpr, file) VALUES (?, ?, 1, ?, 'KRE', ?, ?, ?, ?, ?)",
               (lid, digest, m, t, exp, ent, fpr, 'KRE_%s.lic' % m))
    seq += 1
    detail = '1 KRE seat(s) to %s machine %s from entitlement %d, expires %s' % (fpr, m, ent, exps)
    h = hashlib.sha256(('%s%d\t%s\t%s\t%s\t%s' % (prev, seq, at, 'issued', digest, detail)).encode()).hexdigest()
    db.execute('INSERT INTO audit (seq, at, event, digest, detail, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?)',
               (seq, at, 'issued', digest, detail, prev, h))
    prev = h
db.execute('COMMIT')
PY
n=$(sqlite3 "$S/ledger.sqlite" 'SELECT count(*) FROM licenses')
[ "$n" = "$ROWS" ] && pass "a SQLite ledger of $n licenses ($(( $(date +%s) - t0 )) s to make)" || fail "$n licenses made"

# what the admin sees, on either ledger
views() {
	local tag=$1; shift
	local v
	for v in "list" "list --json" "report --json" "entitlement list --json" "member list" "audit verify"; do
		# shellcheck disable=SC2086
		"$@" $v >"$tag-${v// /_}.txt" 2>&1 || echo "exit $?" >>"$tag-${v// /_}.txt"
	done
	"$@" usage export -o "$tag.kusage" >"$tag-usage.txt" 2>&1 || fail "$tag: usage export: $(cat "$tag-usage.txt")"
}
views before sq
# the licenses klic-admin issued carry their issuer key (schema 10), those
# written straight into the ledger none: the copy must keep both
[ "$(grep -c '"issuer_fpr": "[0-9A-F]\{40\}"' before-list_--json.txt)" = 3 ] &&
	[ "$(grep -c '"issuer_fpr": null' before-list_--json.txt)" = $((ROWS - 3)) ] &&
	pass "before: 3 licenses name their issuer key, $((ROWS - 3)) (written by hand) none" ||
	fail "before: issuer_fpr in list --json: $(grep -o '"issuer_fpr": [^,]*' before-list_--json.txt | sort | uniq -c | head -3)"
grep -q "audit chain ok: $((ROWS + 6))\? *rows\|audit chain ok" before-audit_verify.txt && ! grep -q '^exit' before-audit_verify.txt &&
	pass "before: audit verify: $(paste -sd';' before-audit_verify.txt)" || fail "before: audit verify: $(cat before-audit_verify.txt)"

t1=$(date +%s)
rc=0; sq ledger migrate --to "$PG_URL" >mig.txt 2>&1 || rc=$?
[ "$rc" = 0 ] && pass "ledger migrate --to postgresql:// in $(( $(date +%s) - t1 )) s: $(paste -sd';' mig.txt | cut -c1-300)" ||
	{ fail "migrate: rc $rc $(cat mig.txt)"; t_done; exit 1; }
[ "$(pgq 'SELECT count(*) FROM licenses')" = "$ROWS" ] &&
	[ "$(pgq 'SELECT count(*) FROM audit')" = "$(sqlite3 "$S/ledger.sqlite" 'SELECT count(*) FROM audit')" ] &&
	[ "$(pgq 'SELECT hash FROM audit ORDER BY seq DESC LIMIT 1')" = "$(sqlite3 "$S/ledger.sqlite" 'SELECT hash FROM audit ORDER BY seq DESC LIMIT 1')" ] &&
	[ "$(pgq "SELECT digest || ' ' || coalesce(encode(sha256(response), 'hex'), '-') FROM requests ORDER BY digest" | sha256sum)" = \
	  "$("$PY" -c '
import hashlib, sqlite3, sys
for d, r in sqlite3.connect(sys.argv[1]).execute("SELECT digest, response FROM requests ORDER BY digest"):
    print(d, hashlib.sha256(r).hexdigest() if r is not None else "-")' "$S/ledger.sqlite" | sha256sum)" ] &&
	pass "the rows came over: $ROWS licenses, every audit row and the same head hash, every stored response byte for byte" ||
	fail "rows: $(pgq 'SELECT count(*) FROM licenses') licenses, $(pgq 'SELECT count(*) FROM audit') audit rows"
views after adm "$S"

norm() { sed -E -e "s#postgres(ql)?://[^ :]*#LEDGER#g" -e "s#$S/ledger\.sqlite#LEDGER#g" \
	-e 's/seats of (.*) at [0-9TZ:-]+/seats of \1 at NOW/' -e 's/"(as_of|at|now|generated)": "[^"]*"/"\1": "NOW"/' "$1"; }
for v in list list_--json report_--json entitlement_list_--json member_list audit_verify; do
	if diff <(norm "before-$v.txt") <(norm "after-$v.txt") >"diff-$v.txt"; then
		pass "'${v//_/ }' agrees before and after ($(wc -l <"after-$v.txt") lines)"
	else
		fail "'${v//_/ }' differs: $(head -c 1200 "diff-$v.txt")"
	fi
done
ujson() {
	"$PY" - "$1" <<'PY'
import json, sys
t = open(sys.argv[1], encoding='utf-8').read()
t = t.split('\n\n', 1)[1].rsplit('\n-----BEGIN PGP SIGNATURE-----', 1)[0].replace('\n- ', '\n')
d = json.loads(t)
d.pop('created', None)
print(json.dumps(d, indent=1, sort_keys=True))
PY
}
if diff <(ujson before.kusage) <(ujson after.kusage) >diff-usage.txt 2>&1; then
	pass "usage export: the same content before and after ($(ujson after.kusage | wc -l) lines)"
else
	fail "usage export differs: $(head -c 1200 diff-usage.txt)"
fi

# issuing goes on from the migrated ledger; the stored answers are kept
req bob i4.kreq --product KRE --seats 1 --machine-hex "$(mid 4)"
cp out/i1.kresp i1.first
rc=0; adm "$S" issue i1.kreq i4.kreq -o out --yes --jobs 1 >iss.txt 2>&1 || rc=$?
[ "$rc" = 0 ] && grep -q "re-issued: 1" iss.txt && grep -q "issued: 1," iss.txt && cmp -s i1.first out/i1.kresp &&
	[ "$(pgq 'SELECT count(*) FROM licenses')" = $((ROWS + 1)) ] &&
	pass "issue on the migrated ledger: $(tail -n 1 iss.txt); the old answer byte for byte" || fail "issue after migrate: rc $rc $(cat iss.txt)"

# a second migrate into the now non-empty database: refused, nothing changed
snap() { pgq "SELECT (SELECT count(*) FROM licenses) || ' ' || (SELECT count(*) FROM audit) || ' ' || (SELECT hash FROM audit ORDER BY seq DESC LIMIT 1)"; }
s0=$(snap)
rc=0; sq ledger migrate --to "$PG_URL" >mig2.txt 2>mig2.err || rc=$?
[ "$rc" != 0 ] && [ "$(wc -l <mig2.err)" = 1 ] && [ "$(snap)" = "$s0" ] &&
	pass "a second migrate into the non-empty database is refused: exit $rc: $(cat mig2.err)" ||
	fail "second migrate: rc $rc $(cat mig2.err) $(snap)"

# a source whose audit chain does not verify: refused (into a fresh database)
"$KLIC_PG_BIN/createdb" -h "$KLIC_PG_DIR" klic2
mkdir "$BOX/bad"; cp -a "$S/." "$BOX/bad/"
sqlite3 "$BOX/bad/ledger.sqlite" "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'audit'" |
	while read -r tr; do sqlite3 "$BOX/bad/ledger.sqlite" "DROP TRIGGER \"$tr\""; done
sqlite3 "$BOX/bad/ledger.sqlite" "UPDATE audit SET detail = detail || ' (edited)' WHERE seq = 5"
rc=0; "$ADMIN" --state "$BOX/bad" ledger migrate --to "postgresql:///klic2?host=$KLIC_PG_DIR" >mig3.txt 2>mig3.err || rc=$?
[ "$rc" != 0 ] && [ "$(wc -l <mig3.err)" = 1 ] &&
	[ "$(pg_psql -d klic2 -At -c "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public' AND table_name = 'licenses'")" = 0 ] ||
	[ "$(pg_psql -d klic2 -At -c "SELECT count(*) FROM licenses" 2>/dev/null)" = 0 ] &&
	pass "a source with a broken audit chain is refused: exit $rc: $(cat mig3.err)" ||
	fail "broken source: rc $rc $(cat mig3.err)"
echo "# total $(( $(date +%s) - t0 )) s"
t_done
