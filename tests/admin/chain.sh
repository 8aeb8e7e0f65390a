#!/usr/bin/env bash
# The trust chain on the admin side (issue 14): the vendor pinned at init,
# `entitlement import` of vendor-signed .kent files (happy path, idempotent,
# and every refusal: one line, exit 1, ledger unchanged), the .kent and the
# issuer key inside every issued response (stock gpg still verifies the
# .lic, and the embedded .kent with the vendor key), request signatures
# verified in the members' keyring (no secret key there, the issuer's
# keyring untouched), a ledger without a vendor, and the .kresp sizes.
# usage: chain.sh KLIC_ADMIN MKREQ [KLIC|none]
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/common.sh"

V=$(t_vendor_bin)
vendor() { "$V" --state "$BOX/vendor" "$@"; }

# --- init pins the vendor; the vendor key stays out of the issuer keyring --------
t_org_setup "$A" "Chain Org"
VFPR=$(gpg --batch --with-colons --import-options show-only --import "$BOX/vendor.asc" 2>/dev/null | awk -F: '/^fpr/ {print $10; exit}')
[ "$(ledger "SELECT value FROM meta WHERE key = 'vendor_fpr'")" = "$VFPR" ] && pass "init pins vendor $VFPR in the ledger" || fail "vendor_fpr meta"
[ -f "$A/vendor.asc" ] && pass "the vendor key is kept as state/vendor.asc" || fail "no state/vendor.asc"
if gpg --homedir "$A/gnupg" --batch --list-keys "$VFPR" >/dev/null 2>&1; then fail "the vendor key is in the issuer's keyring"
else pass "the vendor key is not in the issuer's keyring"; fi
admin entitlement list >/dev/null # the members' keyring is made on first use

# --- import: happy path, idempotent ---------------------------------------------------
admin export-key -o org.asc
vendor entitle --org "Chain Org" --org-key org.asc --product KRE --model node-locked --billing yearly \
	--seats 4 --until "$(date -u -d '+400 days' +%F)" --ref PO-1 -o good.kent >/dev/null
KID=$(sed -n 's/^  "entitlement_id": "\([0-9a-f]*\)",$/\1/p' good.kent)
out=$(admin entitlement import good.kent)
[[ "$out" == "entitlement $KID "*"4 KRE seats, node-locked, yearly"* ]] && pass "import: $out" || fail "import output: $out"
before=$(t_dump "$A")
out=$(admin entitlement import good.kent)
[[ "$out" == *"(already imported)" ]] && [ "$before" = "$(t_dump "$A")" ] && pass "importing it again changes nothing: $out" || fail "second import: $out"
[ "$(ledger "SELECT kent FROM entitlements WHERE kent_id = '$KID'")" = "$(cat good.kent)" ] && pass "the ledger keeps the exact .kent text" || fail "kent text"
admin entitlement list | grep -q "$KID" && [ "$(admin entitlement list --json | python3 -c 'import json,sys; e=json.load(sys.stdin)[0]; print(e["entitlement_id"], e["seats"], e["valid"])')" = "$KID 4 True" ] \
	&& pass "entitlement list shows the entitlement ID" || fail "entitlement list: $(admin entitlement list)"
ledger "SELECT detail FROM audit WHERE event = 'entitlement-add'" | grep -q "^import $KID " && pass "the import is audited" || fail "audit of import"

# --- import refusals: one line, exit 1, state unchanged -------------------------------------
# signed by another vendor
"$V" --state "$BOX/vendor2" init --name "Other Vendor" --email other@test.invalid >/dev/null
"$V" --state "$BOX/vendor2" entitle --org "Chain Org" --org-key org.asc --product KRE --model node-locked \
	--billing yearly --seats 40 --until "$(date -u -d '+400 days' +%F)" --ref X -o othervendor.kent >/dev/null
expect_refused "import of an entitlement signed by another vendor" "$A" admin entitlement import othervendor.kent
grep -q "othervendor.kent" "$BOX/err.txt" || fail "the refusal names the file"
# tampered: one byte of the signed body flipped (seats 4 -> 5)
cp good.kent tampered.kent
flip tampered.kent "$(grep -bo '"seats": 4' tampered.kent | cut -d: -f1 | awk '{print $1 + 9}')"
grep -q '"seats": 5' tampered.kent || fail "tamper did not take"
expect_refused "import of a tampered entitlement" "$A" admin entitlement import tampered.kent
# another organization's entitlement, naming this admin's key
vendor entitle --org "Other Org" --org-key org.asc --product KRE --model node-locked --billing yearly \
	--seats 4 --until "$(date -u -d '+400 days' +%F)" --ref PO-2 -o otherorg.kent >/dev/null
expect_refused "import of another organization's entitlement" "$A" admin entitlement import otherorg.kent
# this organization's name, but another admin's key
"$ADMIN" --state "$BOX/other" init --org "Chain Org" --name "Other Admin" --email o@test.invalid --vendor "$BOX/vendor.asc" >/dev/null
"$ADMIN" --state "$BOX/other" export-key -o other.asc
vendor entitle --org "Chain Org" --org-key other.asc --product KRE --model node-locked --billing yearly \
	--seats 4 --until "$(date -u -d '+400 days' +%F)" --ref PO-3 -o otherkey.kent >/dev/null
expect_refused "import of an entitlement that does not name this issuer key" "$A" admin entitlement import otherkey.kent
# ended: it ends tomorrow, imported 2 days later
vendor entitle --org "Chain Org" --org-key org.asc --product KRE --model node-locked --billing yearly \
	--seats 4 --until "$(date -u +%F)" --ref PO-4 -o ending.kent >/dev/null
if faketime '+2 days' "$ADMIN" --version >/dev/null 2>&1; then
	expect_refused "import of an entitlement that has ended" "$A" faketime '+2 days' "$ADMIN" --state "$A" entitlement import ending.kent
else
	echo "# skipped: faketime cannot run klic-admin here"
fi
head -c 1500 /dev/urandom > garbage.kent
expect_refused "import of a garbage file" "$A" admin entitlement import garbage.kent
{ cat good.kent; head -c 5000 /dev/zero | tr '\0' 'x'; } > big.kent
expect_refused "import of a file over 4 KiB" "$A" admin entitlement import big.kent
rc=0; admin entitlement import nosuch.kent 2>"$BOX/e" || rc=$?
[ "$rc" = 3 ] && [ "$(wc -l <"$BOX/e")" = 1 ] && grep -q nosuch.kent "$BOX/e" && pass "a missing file: exit 3 (I/O), one line" || fail "missing file: rc=$rc $(cat "$BOX/e")"
[ "$(ledger 'SELECT count(*) FROM entitlements')" = 1 ] && pass "only the good entitlement is recorded" || fail "entitlements: $(ledger 'SELECT kent_id FROM entitlements')"

# --- issue: the response carries the chain -------------------------------------------------------
mkuser ada
ADA=$(fpr_of ada)
gpg --homedir "$BOX/gnupg-ada" --batch --armor --export "$ADA" > ada.asc 2>/dev/null
issuer_pub0=$(sha256sum < "$A/gnupg/pubring.kbx")
admin member add --yes ada.asc >/dev/null
[ "$(gpg --homedir "$A/members" --batch --with-colons --list-secret-keys 2>/dev/null | grep -c '^sec')" = 0 ] \
	&& pass "the members' keyring holds no secret key" || fail "secret key in the members' keyring"
gpg --homedir "$A/members" --batch --list-keys "$ADA" >/dev/null 2>&1 && pass "member add imports into the members' keyring" || fail "member key not in members keyring"
if gpg --homedir "$A/gnupg" --batch --list-keys "$ADA" >/dev/null 2>&1; then fail "the member key is in the issuer's keyring"
else pass "the member key is not in the issuer's keyring"; fi
req ada one.kreq --product KRE --seats 1 --machine-hex 11111111111111111111111111111111
req ada four.kreq --product KRE --seats 3 --machine-hex 22222222222222222222222222222222
admin issue one.kreq four.kreq -o out --yes --jobs 2 >"$BOX/o" || fail "issue: $(cat "$BOX/o")"
grep -q "^OK   one.kreq" "$BOX/o" && grep -q "^OK   four.kreq" "$BOX/o" && pass "issued from the imported entitlement" || fail "issue: $(cat "$BOX/o")"
[ "$issuer_pub0" = "$(sha256sum < "$A/gnupg/pubring.kbx")" ] && pass "member add and issue leave the issuer's public keyring as it was" || fail "issuer pubring changed"
setup_verifier
unpack out/one.kresp "$BOX/one"
python3 - "$BOX/one/manifest.json" good.kent "$KID" <<'PY' && pass "the manifest carries the exact .kent, its ID and issuer_key" || fail "manifest chain fields"
import json, sys, base64
m = json.load(open(sys.argv[1]))
k = open(sys.argv[2]).read()
assert m["entitlement"] == k, "entitlement text differs"
assert m["entitlement_id"] == sys.argv[3]
base64.b64decode(m["issuer_key"], validate=True)
PY
python3 -c 'import json,sys,base64; sys.stdout.buffer.write(base64.b64decode(json.load(open(sys.argv[1]))["issuer_key"]))' "$BOX/one/manifest.json" > ikey.pgp
[ "$(gpg --batch --with-colons --import-options show-only --import ikey.pgp 2>/dev/null | awk -F: '/^fpr/ {print $10; exit}')" = "$T_ISSUER" ] \
	&& pass "issuer_key is the issuer's public key" || fail "issuer_key fingerprint"
lic=$(ls "$BOX/one"/*.lic)
gpg --homedir "$BOX/gnupg-verify" --batch --quiet --verify "$lic" 2>/dev/null && pass "stock gpg --verify still checks the .lic" || fail "gpg --verify of the .lic"
mkdir -m 700 "$BOX/gnupg-vendor-verify"
gpg --homedir "$BOX/gnupg-vendor-verify" --batch --quiet --import "$BOX/vendor.asc" 2>/dev/null
python3 -c 'import json,sys; sys.stdout.write(json.load(open(sys.argv[1]))["entitlement"])' "$BOX/one/manifest.json" > embedded.kent
gpg --homedir "$BOX/gnupg-vendor-verify" --batch --quiet --verify embedded.kent 2>/dev/null && pass "stock gpg verifies the embedded .kent with the vendor key" || fail "embedded .kent"
exp=$(jfield "$BOX/one/manifest.json" expires); cre=$(jfield "$BOX/one/manifest.json" created)
[ $(( $(date -u -d "$exp" +%s) - $(date -u -d "$cre" +%s) )) = $((60 * 86400)) ] && pass "expires = created + 60 days ($exp)" || fail "expires $exp created $cre"

# --- sizes ---------------------------------------------------------------------------------------
s1=$(stat -c %s out/one.kresp)
req ada four4.kreq --product KRE --seats 4 --machine-hex 33333333333333333333333333333333
t_entitle "$A" 4 KRE
admin issue four4.kreq -o out --yes >/dev/null
s4=$(stat -c %s out/four4.kresp)
echo "# .kresp sizes: 1 seat $s1 bytes, 4 seats $s4 bytes"
[ "$s4" -le 4096 ] && pass "a 4-seat .kresp is $s4 bytes (<= 4 KiB)" || fail "4-seat .kresp is $s4 bytes"

# --- denials carry no chain -----------------------------------------------------------------------
req ada kse.kreq --product KSE --seats 1
admin issue kse.kreq -o out --yes >/dev/null
check_denial "no KSE entitlement" out/kse.kresp no-entitlement
! grep -q '"entitlement' "$BOX/unpacked/manifest.json" && ! grep -q '"issuer_key' "$BOX/unpacked/manifest.json" \
	&& pass "a denial carries no entitlement and no issuer_key" || fail "denial has chain fields"

# --- a not yet started entitlement issues nothing -------------------------------------------------
vendor entitle --org "Chain Org" --org-key org.asc --product KSE --model node-locked --billing yearly \
	--seats 4 --from "$(date -u -d '+3 days' +%F)" --until "$(date -u -d '+400 days' +%F)" --ref PO-5 -o later.kent >/dev/null
admin entitlement import later.kent >/dev/null && pass "a not yet started entitlement imports" || fail "import later.kent"
req ada kse2.kreq --product KSE --seats 1
admin issue kse2.kreq -o out --yes >/dev/null
check_denial "entitlement not yet started" out/kse2.kresp no-entitlement

# --- a ledger without a vendor (made before protocol version 2) -------------------------------------
t_org_setup "$BOX/old" "Old Org" 2
"$ADMIN" --state "$BOX/old" member add --yes ada.asc >/dev/null
t_sql "$BOX/old" "DELETE FROM meta WHERE key = 'vendor_fpr'"
rm "$BOX/old/vendor.asc"
expect_refused "issue with no vendor pinned" "$BOX/old" "$ADMIN" --state "$BOX/old" issue one.kreq -o "$BOX/old-out" --yes
grep -q "vendor set" "$BOX/err.txt" || fail "the refusal says what to do"
expect_refused "import with no vendor pinned" "$BOX/old" "$ADMIN" --state "$BOX/old" entitlement import good.kent
out=$("$ADMIN" --state "$BOX/old" vendor set "$BOX/vendor.asc")
[ "$out" = "vendor $VFPR" ] && pass "vendor set pins it: $out" || fail "vendor set: $out"
expect_refused "vendor set when one is pinned" "$BOX/old" "$ADMIN" --state "$BOX/old" vendor set "$BOX/vendor.asc"
# the members' keyring of an old ledger is made from the issuer's keyring
gpg --homedir "$BOX/old/gnupg" --batch --quiet --import ada.asc 2>/dev/null
rm -rf "$BOX/old/members"
"$ADMIN" --state "$BOX/old" issue one.kreq -o "$BOX/old-out" --yes >"$BOX/o" 2>&1
grep -q "^OK   one.kreq" "$BOX/o" && pass "old ledger: members' keyring rebuilt, vendor set, issued" || fail "old ledger issue: $(cat "$BOX/o")"

[ "$(t_ledger_sound "$A")" = ok ] && admin audit verify >/dev/null && pass "ledger sound, audit chain verifies" || fail "audit verify"
t_done
