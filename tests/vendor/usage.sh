#!/usr/bin/env bash
# The usage export and the vendor's true-up (issue 14 item 9): vendor ->
# entitlement of 5 seats -> admin issues 5 seats -> `klic-admin usage
# export` -> `klic-vendor usage verify` says ok; a license row slipped into
# the ledger by hand is flagged (unaudited, over-issued); a tampered
# .kusage, one signed by another organization's key and one of an
# organization this vendor never entitled are refused.
# usage: usage.sh KLIC_ADMIN MKREQ [KLIC|none]   (KLIC_VENDOR in the environment)
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../admin/common.sh"

V=$(t_vendor_bin)
vendor() { "$V" --state "$BOX/vendor" "$@"; }

# expect_exit CODE NAME CMD...: exit CODE, one stderr line.
expect_exit() {
	local code=$1 name=$2; shift 2
	local rc=0
	"$@" >"$BOX/out.txt" 2>"$BOX/err.txt" || rc=$?
	if [ "$rc" -ne "$code" ]; then fail "$name: exit $rc, expected $code ($(head -c 300 "$BOX/err.txt"))"
	elif [ "$(wc -l <"$BOX/err.txt")" -ne 1 ]; then fail "$name: stderr: $(head -c 300 "$BOX/err.txt")"
	else pass "$name: $(cat "$BOX/err.txt")"; fi
}

# --- an organization with 5 seats, all of them issued ------------------------------
t_org_setup "$A" "Usage Org" 5
A_ISSUER=$T_ISSUER
KID=$(sed -n 's/^  "entitlement_id": "\([0-9a-f]*\)",$/\1/p' "$T_KENT")
[[ $KID =~ ^[0-9a-f]{32}$ ]] && pass "entitled: $KID" || fail "no entitlement ID in $T_KENT"
for u in ada bob; do
	mkuser $u
	gpg --homedir "$BOX/gnupg-$u" --batch --armor --export "$(fpr_of $u)" >$u.asc 2>/dev/null
	admin member add --yes $u.asc >/dev/null
done
req ada a.kreq --product KRE --seats 2 --machine-hex 11111111111111111111111111111111
req bob b.kreq --product KRE --seats 3 --machine-hex 22222222222222222222222222222222
admin issue a.kreq b.kreq -o out --yes >"$BOX/o" || fail "issue: $(cat "$BOX/o")"
[ "$(nlic)" = 5 ] && pass "5 licenses issued" || fail "licenses: $(nlic) $(cat "$BOX/o")"
req ada c.kreq --product KRE --seats 1 --machine-hex 33333333333333333333333333333333
admin issue c.kreq -o out --yes >/dev/null 2>&1 || true
[ "$(nlic)" = 5 ] && pass "a 6th seat is denied" || fail "licenses: $(nlic)"

# --- export, verify: ok ---------------------------------------------------------------------
out=$(admin usage export -o org.kusage) && [ "$out" = org.kusage ] && pass "usage export" || fail "export: $out"
head -1 org.kusage | grep -qx -- '-----BEGIN PGP SIGNED MESSAGE-----' && pass ".kusage is clear-signed" || fail "shape"
admin export-key -o issuer.asc
mkdir -m 700 gnupg-check
gpg --homedir "$BOX/gnupg-check" --batch --quiet --import issuer.asc 2>/dev/null
gpg --homedir "$BOX/gnupg-check" --batch --quiet --verify org.kusage 2>/dev/null && pass "stock gpg --verify of the .kusage" ||
	fail "gpg --verify org.kusage"
python3 - org.kusage "$KID" "$A_ISSUER" "$(ledger 'SELECT count(*) FROM audit')" <<'PY' && pass "the body holds what the ledger holds" || fail "body"
import json, sys
t = open(sys.argv[1]).read()
body = t.split("\n\n", 1)[1].split("\n-----BEGIN PGP SIGNATURE-----\n")[0]
d = json.loads(body)
assert body == json.dumps(d, indent=2, sort_keys=True, ensure_ascii=False), "not canonical"
assert d["type"] == "klic-usage" and d["version"] == 2 and d["org"] == "Usage Org"
assert d["issuer_fpr"] == sys.argv[3]
assert [e["entitlement_id"] for e in d["entitlements"]] == [sys.argv[2]]
assert d["entitlements"][0]["seats"] == 5 and d["entitlements"][0]["kent"].startswith("-----BEGIN PGP SIGNED")
assert len(d["licenses"]) == 5 and all(l["entitlement_id"] == sys.argv[2] and l["state"] == "active" for l in d["licenses"])
assert [l["license_id"] for l in d["licenses"]] == sorted(l["license_id"] for l in d["licenses"])
assert len(d["audit"]) == int(sys.argv[4]) and d["audit_head"] == d["audit"][-1]["hash"]
PY
rc=0; vendor usage verify org.kusage >v.txt 2>v.err || rc=$?
[ $rc = 0 ] && grep -qx "$KID KRE peak 5 of 5 seats: ok" v.txt && grep -qx "verdict: ok" v.txt &&
	grep -qx "audit chain: ok" v.txt && [ ! -s v.err ] && pass "usage verify: ok, peak 5 of 5" ||
	fail "usage verify: rc $rc $(cat v.txt v.err)"
expect_exit 1 "export refuses to overwrite" admin usage export -o org.kusage
expect_exit 2 "export without -o" admin usage export
admin usage --help | grep -q "usage export" && pass "usage --help" || fail "usage --help"
vendor usage verify --help | grep -q "OVER-ISSUED" && pass "vendor usage verify --help" || fail "verify --help"
admin audit verify >/dev/null && pass "audit verify: the chain klic_audit_hash writes" || fail "audit verify"

# --- tampering: refused ---------------------------------------------------------------------
cp org.kusage t1.kusage
flip t1.kusage "$(grep -bo '"org": "Usage Org"' t1.kusage | head -1 | cut -d: -f1 | awk '{print $1 + 10}')"
expect_exit 1 "a flipped byte in the body" vendor usage verify t1.kusage
cp org.kusage t2.kusage
flip t2.kusage $(( $(stat -c %s t2.kusage) - 60 ))
expect_exit 1 "a flipped byte in the signature" vendor usage verify t2.kusage
head -c 2000 org.kusage >t3.kusage
expect_exit 1 "a truncated .kusage" vendor usage verify t3.kusage
expect_exit 1 "a .kent is not a .kusage" vendor usage verify "$T_KENT"

# --- signed by another organization's key: refused ---------------------------------------------
B=$BOX/orgb
T_VENDOR=$BOX/vendor2 t_org_setup "$B" "Other Org" 2
"$ADMIN" --state "$B" usage export -o orgb.kusage >/dev/null
expect_exit 1 "an organization this vendor never entitled" vendor usage verify orgb.kusage
grep -q "no entitlement of this vendor names" err.txt && pass "it names the reason" || fail "reason: $(cat err.txt)"
"$V" --state "$BOX/vendor2" usage verify orgb.kusage >/dev/null && pass "its own vendor accepts it" ||
	fail "vendor2 refuses orgb.kusage"
BFPR=$(sed -n 's/^  "issuer_fpr": "\([0-9A-F]*\)",$/\1/p' orgb.kusage)
BKEY=$(sed -n 's/^  "issuer_key": "\(.*\)",$/\1/p' orgb.kusage)
# org A's usage, re-signed by org B's key, claiming to be B's
python3 - org.kusage "$BFPR" "$BKEY" >forged.body <<'PY'
import sys
t = open(sys.argv[1]).read()
body = t.split("\n\n", 1)[1].split("\n-----BEGIN PGP SIGNATURE-----\n")[0]
out = []
for line in body.split("\n"):
    if line.startswith('  "issuer_fpr": '): line = '  "issuer_fpr": "%s",' % sys.argv[2]
    if line.startswith('  "issuer_key": '): line = '  "issuer_key": "%s",' % sys.argv[3]
    out.append(line)
sys.stdout.write("\n".join(out))
PY
gpg --homedir "$B/gnupg" --batch --pinentry-mode loopback --passphrase '' --digest-algo SHA512 \
	--local-user "$BFPR" --clearsign <forged.body >forged.kusage 2>/dev/null
gpg --homedir "$B/gnupg" --batch --quiet --verify forged.kusage 2>/dev/null && pass "forged .kusage made" || fail "forgery not signed"
expect_exit 1 "org A's usage signed by org B's key" vendor usage verify forged.kusage

# --- org A's own key, but the body edited: flagged ---------------------------------------------
# resign FILE.kusage OUT PYTHON-EXPR: the body as JSON d, changed by the
# statement, written canonically and clear-signed by org A's issuer key.
resign() {
	python3 - "$1" "$3" >edited.body <<'PY'
import json, sys
t = open(sys.argv[1]).read()
d = json.loads(t.split("\n\n", 1)[1].split("\n-----BEGIN PGP SIGNATURE-----\n")[0])
exec(sys.argv[2])
sys.stdout.write(json.dumps(d, indent=2, sort_keys=True, ensure_ascii=False))
PY
	gpg --homedir "$A/gnupg" --batch --pinentry-mode loopback --passphrase '' --digest-algo SHA512 \
		--local-user "$A_ISSUER" --clearsign <edited.body >"$2" 2>/dev/null
}
resign org.kusage same.kusage 'pass'
vendor usage verify same.kusage >/dev/null && pass "re-signed unchanged by the issuer key: ok (the forger's tool works)" ||
	fail "re-signed unchanged body refused"
resign org.kusage hidden.kusage 'del d["licenses"][0]'
rc=0; vendor usage verify hidden.kusage >v.txt 2>v.err || rc=$?
[ $rc = 1 ] && grep -q "^FLAGGED: audit row [0-9]*: issued [23] seat(s), the export lists [12] license(s) .*left out" v.txt &&
	grep -qx "$KID KRE peak 4 of 5 seats: ok" v.txt && pass "a license left out of the export is flagged" ||
	fail "hidden license: rc $rc $(cat v.txt v.err)"
resign org.kusage edited.kusage 'd["audit"][1]["detail"] = "nothing to see"'
rc=0; vendor usage verify edited.kusage >v.txt 2>v.err || rc=$?
[ $rc = 1 ] && grep -qx "audit chain: BROKEN" v.txt && grep -q "^FLAGGED: audit row 2: hash mismatch" v.txt &&
	pass "an edited audit row breaks the chain" || fail "edited audit: rc $rc $(cat v.txt v.err)"
resign org.kusage head.kusage 'd["audit_head"] = "0" * 64'
rc=0; vendor usage verify head.kusage >v.txt 2>v.err || rc=$?
[ $rc = 1 ] && grep -q "^FLAGGED: audit_head" v.txt && pass "a wrong audit_head is flagged" ||
	fail "audit_head: rc $rc $(cat v.txt v.err)"
resign org.kusage moved.kusage 'd["licenses"][0]["expires"] = "2099-01-01T00:00:00Z"'
rc=0; vendor usage verify moved.kusage >v.txt 2>v.err || rc=$?
[ $rc = 1 ] && grep -q "unaudited: its audit row names another expiry" v.txt && pass "a license with a moved expiry is unaudited" ||
	fail "moved expiry: rc $rc $(cat v.txt v.err)"
resign org.kusage noent.kusage 'd["licenses"][0]["entitlement_id"] = "f" * 32'
rc=0; vendor usage verify noent.kusage >v.txt 2>v.err || rc=$?
[ $rc = 1 ] && grep -q "^FLAGGED: license .*: unknown entitlement \"f\{32\}\"" v.txt &&
	pass "a license of an entitlement not in the export is flagged" || fail "unknown entitlement: rc $rc $(cat v.txt v.err)"

# --- a license slipped into the ledger by hand: flagged -------------------------------------------
DA=$(ledger "SELECT request_digest FROM licenses GROUP BY request_digest HAVING count(*) = 2") # ada's 2 seats
MID=$(ledger "SELECT machine_id FROM licenses WHERE request_digest = '$DA' LIMIT 1")
ENT=$(ledger "SELECT id FROM entitlements WHERE kent_id = '$KID'")
NOW=$(date +%s)
L1=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa
L2=bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb
FAKE=$(printf 'forged' | sha256sum | cut -c1-64)
ledger "INSERT INTO licenses(license_id, request_digest, seat, machine_id, product, issued, expires,
	entitlement_id, member_fpr, file) VALUES ('$L1', '$DA', 3, '$MID', 'KRE', $NOW, $((NOW + 86400 * 30)),
	$ENT, '$(fpr_of ada)', 'KRE_${MID}_3.lic')"
admin usage export -o hand.kusage >/dev/null || fail "export after the hand insert"
rc=0; vendor usage verify hand.kusage >v.txt 2>v.err || rc=$?
[ $rc = 1 ] && grep -q "^FLAGGED: license $L1 .*unaudited" v.txt &&
	grep -qx "$KID KRE peak 6 of 5 seats: OVER-ISSUED" v.txt && grep -q "^verdict: FLAGGED" v.txt &&
	pass "a hand-inserted license: unaudited, over-issued ($(grep -c ^FLAGGED v.txt) findings)" ||
	fail "hand insert: rc $rc $(cat v.txt v.err)"
ledger "INSERT INTO requests(digest, member_fpr, machine_id, product, seats, status, created)
	VALUES ('$FAKE', '$(fpr_of ada)', '$MID', 'KRE', 1, 'issued', '2026-01-01T00:00:00Z');
	INSERT INTO licenses(license_id, request_digest, seat, machine_id, product, issued, expires,
	entitlement_id, member_fpr, file) VALUES ('$L2', '$FAKE', 1, '$MID', 'KRE', $((NOW - 86400 * 90)),
	$((NOW - 86400 * 40)), $ENT, '$(fpr_of ada)', 'KRE_${MID}_4.lic')"
admin usage export -o hand2.kusage >/dev/null || fail "export after the second hand insert"
rc=0; vendor usage verify hand2.kusage >v.txt 2>v.err || rc=$?
[ $rc = 1 ] && grep -q "^FLAGGED: license $L2 .*no \"issued\" audit row" v.txt &&
	grep -qx "$KID KRE peak 6 of 5 seats: OVER-ISSUED" v.txt &&
	pass "an expired license without an audit row is flagged, the peak stays 6" ||
	fail "hand insert 2: rc $rc $(cat v.txt v.err)"

t_done
