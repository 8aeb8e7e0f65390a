#!/usr/bin/env bash
# pg_roundtrip (issue 16): the whole admin side on a PostgreSQL ledger and,
# with the same issuer key and the very same request files, on the SQLite
# default; what the admin sees must agree.  init --ledger, entitlement
# import (KRE 5 seats, KSE 1 seat), member add, one issue call over a
# request made by the real klic (installed by it afterwards), a 2-seat
# request, a KSE request, a KSE request with no seat left (signed denial)
# and a non-member's (denial, not recorded); then list, list --json,
# report, report --json, entitlement list --json, member list, audit verify
# and the usage export (its JSON, and the vendor's usage verify) are
# compared line by line after blanking times, the issuance-time fields and
# signatures (a response is signed afresh on each ledger).
# usage: roundtrip.sh KLIC_ADMIN MKREQ KLIC   (under with_pg.sh)
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../lib.sh"
. "$HERE/pglib.sh"
. "$HERE/common.sh"

t_vendor
mkdir -m 700 "$BOX/gnupg-admin"
# a() MODE STATE ARGS: klic-admin on that mode's ledger, one admin keyring
a() {
	local mode=$1 s=$2; shift 2
	if [ "$mode" = pg ]; then
		"$ADMIN" --state "$s" --gnupghome "$BOX/gnupg-admin" --ledger "$PG_URL" "$@"
	else
		"$ADMIN" --state "$s" --gnupghome "$BOX/gnupg-admin" "$@"
	fi
}
ORG="Round Trip Org"
rc=0
a pg "$BOX/st-pg" init --org "$ORG" --name "RT Admin" --email admin@test.invalid \
	--vendor "$BOX/vendor.asc" >init-pg.txt 2>&1 || rc=$?
FPR=$(awk '/^issuer/ {print $2}' init-pg.txt)
[ "$rc" = 0 ] && [ -n "$FPR" ] && pass "init --ledger postgresql://: issuer $FPR" ||
	{ fail "init on PostgreSQL: rc $rc $(cat init-pg.txt)"; t_done; exit 1; }
[ "$(pgq "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public' AND table_name IN ('meta', 'audit', 'licenses', 'requests', 'entitlements', 'members')")" = 6 ] &&
	pass "init made the schema in the server's database" || fail "schema: $(pgq "SELECT string_agg(table_name, ' ') FROM information_schema.tables WHERE table_schema = 'public'")"
[ ! -e "$BOX/st-pg/ledger.sqlite" ] && pass "no SQLite ledger made in the state folder" || fail "ledger.sqlite made too"
a sqlite "$BOX/st-sq" init --org "$ORG" --name "RT Admin" --email admin@test.invalid --key "$FPR" \
	--vendor "$BOX/vendor.asc" >init-sq.txt 2>&1 || fail "init on SQLite: $(cat init-sq.txt)"
a pg "$BOX/st-pg" export-key -o issuer.asc >/dev/null
vendor_entitle kre.kent "$ORG" 5 KRE issuer.asc
vendor_entitle kse.kent "$ORG" 1 KSE issuer.asc

# the real user tool (its own home, key and machine)
U=$BOX/khome
if [ "$KLIC" = none ] || [ ! -x "$KLIC" ]; then fail "no klic binary ($KLIC)"; t_done; exit 1; fi
"$KLIC" --home "$U" init --name "Uma User" --email uma@test.invalid >/dev/null
"$KLIC" --home "$U" trust issuer.asc >/dev/null
"$KLIC" --home "$U" request --product KRE --seats 1 -o u1.kreq >/dev/null
mkuser ada; mkuser bob; mkuser eve
req ada seed-ada.kreq --product KRE --machine-hex "$(mid 100)"
req bob seed-bob.kreq --product KRE --machine-hex "$(mid 101)"
req ada a1.kreq --product KRE --seats 2 --machine-hex "$(mid 1)"
req bob b1.kreq --product KSE --seats 1 --machine-hex "$(mid 2)"
req bob b2.kreq --product KSE --seats 1 --machine-hex "$(mid 3)"
req eve e1.kreq --product KRE --seats 1 --machine-hex "$(mid 4)"

for mode in pg sqlite; do
	s=$BOX/st-${mode:0:2}
	a "$mode" "$s" entitlement import kre.kent >/dev/null
	a "$mode" "$s" entitlement import kse.kent >/dev/null
	for f in u1 seed-ada seed-bob; do a "$mode" "$s" member add --yes --from-request "$f.kreq" >/dev/null; done
	mkdir "out-$mode"
	rc=0
	# b1 takes the one KSE seat before b2 asks (the same winner on both)
	a "$mode" "$s" issue b1.kreq -o "out-$mode" --yes >"issue-$mode.txt" 2>&1 || rc=$?
	a "$mode" "$s" issue u1.kreq a1.kreq b2.kreq e1.kreq -o "out-$mode" --yes --jobs 1 \
		>>"issue-$mode.txt" 2>&1 || rc=$?
	[ "$rc" = 0 ] && [ "$(grep -c '^OK' "issue-$mode.txt")" = 3 ] &&
		pass "$mode: issue: $(tail -n 1 "issue-$mode.txt")" || fail "$mode issue: rc $rc $(cat "issue-$mode.txt")"
	for v in "list" "list --json" "report" "report --json" "entitlement list --json" "member list" "audit verify"; do
		# shellcheck disable=SC2086
		a "$mode" "$s" $v >"$mode-${v// /_}.txt" 2>&1 || echo "exit $?" >>"$mode-${v// /_}.txt"
	done
	a "$mode" "$s" usage export -o "$mode.kusage" >/dev/null
	"$(t_vendor_bin)" --state "$BOX/vendor" usage verify "$mode.kusage" >"$mode-usage_verify.txt" 2>&1 ||
		echo "exit $?" >>"$mode-usage_verify.txt"
done

# the user installs the response from the PostgreSQL ledger
rc=0; "$KLIC" --home "$U" install --vendor "$BOX/vendor.asc" out-pg/u1.kresp >inst.txt 2>&1 || rc=$?
[ "$rc" = 0 ] && ls "$U"/license/KRE_*.lic >/dev/null 2>&1 && pass "klic installs the response: $(head -n 1 inst.txt)" ||
	fail "install: rc $rc $(cat inst.txt)"
[ "$(mstatus out-pg/b2.kresp)" = denied ] && [ ! -e out-pg/e1.kresp ] || [ "$(mstatus out-pg/e1.kresp 2>/dev/null)" = denied ] &&
	pass "no seat left / not a member: signed denials" || fail "denials: $(ls out-pg)"

# norm FILE: what must agree between two runs of the same requests on two
# ledgers: times, the state folder and ledger name, signatures, hashes
# over times, and the license ids (a time prefix and random bits, made at
# issuance) blanked; JSON canonical with lists sorted, text lines sorted
# (rows issued within one second come in license id order).  A
# clear-signed file (the usage export) is reduced to its JSON.
norm() {
	"$PY" - "$1" "$BOX" <<'PY'
import json, re, sys
t = open(sys.argv[1], encoding='utf-8').read()
box = sys.argv[2]
if t.startswith('-----BEGIN PGP SIGNED MESSAGE-----'):
    t = t.split('\n\n', 1)[1].rsplit('\n-----BEGIN PGP SIGNATURE-----', 1)[0]
    t = re.sub(r'^- ', '', t, flags=re.M)
TIMEKEY = re.compile(r'(^|_)(at|time|created|exported|hash|head|prev|sig|signature|response|kresp|license_id|lid|file)$')
def s(x):
    x = re.sub(r'\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(\.\d+)?Z?', 'TIME', x)
    x = re.sub(r'\b[0-9a-f]{32}\b', 'LID', x)
    x = re.sub(re.escape(box) + r'/st-(pg|sq)', 'STATE', x).replace(box, 'BOX')
    x = re.sub(r'postgres(ql)?://\S*', 'LEDGER', x)
    return re.sub(r'\S*ledger\.sqlite\b', 'LEDGER', x)
def blank(x):
    if isinstance(x, dict):
        return {k: ('X' if TIMEKEY.search(k) else blank(v)) for k, v in x.items()}
    if isinstance(x, list):
        return sorted((blank(v) for v in x), key=lambda v: json.dumps(v, sort_keys=True))
    if isinstance(x, str):
        return s(x)
    return x
try:
    d = json.loads(t)
except ValueError:
    for line in sorted(s(t).splitlines()):
        print(line)
else:
    print(json.dumps(blank(d), indent=1, sort_keys=True, ensure_ascii=False))
PY
}
for v in list list_--json report report_--json entitlement_list_--json member_list audit_verify usage_verify; do
	if diff <(norm "pg-$v.txt") <(norm "sqlite-$v.txt") >"diff-$v.txt"; then
		pass "'${v//_/ }' agrees on both ledgers ($(wc -l <"pg-$v.txt") lines)"
	else
		fail "'${v//_/ }' differs: $(head -c 1500 "diff-$v.txt")"
	fi
done
if diff <(norm pg.kusage) <(norm sqlite.kusage) >diff-usage.txt; then
	pass "usage export: same content on both ledgers ($(norm pg.kusage | wc -l) lines)"
else
	fail "usage export differs: $(head -c 1500 diff-usage.txt)"
fi
grep -q "chain ok\|verified\|ok" pg-audit_verify.txt && ! grep -q '^exit' pg-audit_verify.txt &&
	pass "audit verify on PostgreSQL: $(paste -sd';' pg-audit_verify.txt)" || fail "audit verify: $(cat pg-audit_verify.txt)"
gpgconf --homedir "$U/klic/gnupg" --kill all >/dev/null 2>&1 || true
t_done
