#!/usr/bin/env bash
# Issue 15 item 3: a signed return frees the seat at once when the vendor
# made the entitlement returnable, and changes nothing otherwise (spec 3.8
# the receipt, 5.3.6 klic-admin return, 5.11 klic return, spec/ledger-8.sql,
# 5.10 the vendor's true-up).
# Usage: lifecycle.sh KLIC KLIC_ADMIN   (KLIC_VENDOR from ctest)
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../user/common.sh"
KLIC=$1 ADMIN=$2
t_engine_admin # KLIC_TEST_ENGINE=pg: $ADMIN on PostgreSQL (../lib.sh)
A="$BOX/admin" B="$BOX/adminb" U="$BOX/user" W="$BOX/userb" M="$BOX/bob" E="$BOX/eve"
admin() { "$ADMIN" --state "$A" "$@"; }
user() { "$KLIC" --home "$U" "$@"; }
ledger() { t_sql "$A" "$1"; }
dump() { t_dump "$1" | sha256sum | cut -c1-64; }
# seats DIR: "used free" of DIR's one entitlement
seats() {
	"$ADMIN" --state "$1" entitlement list --json |
		python3 -c 'import json,sys; e=json.load(sys.stdin)[0]; print(e["used"], e["free"])'
}
# refused_admin NAME DIR CODE-TEXT CMD...: exit 1, one stderr line naming
# TEXT, the ledger of DIR byte-for-byte unchanged (its SQL dump)
refused_admin() {
	local name=$1 dir=$2 text=$3 before after rc=0; shift 3
	before=$(dump "$dir")
	"$@" >"$BOX/out.txt" 2>"$BOX/err.txt" || rc=$?
	after=$(dump "$dir")
	if [ "$rc" = 1 ] && [ "$(wc -l <"$BOX/err.txt")" = 1 ] && grep -qF -- "$text" "$BOX/err.txt" &&
		[ "$before" = "$after" ]; then
		pass "$name: ledger unchanged ($before): $(cat "$BOX/err.txt")"
	else
		fail "$name: rc $rc, ledger $before -> $after: $(cat "$BOX/err.txt")"
	fi
}
cd "$BOX"
VKEY="$BOX/vendor.asc"

# ---- org A: 5 returnable KRE seats; Ada's machine holds 2 ------------------
t_org_setup "$A" "Test Org" 5 KRE node-locked yearly --returnable
admin export-key -o issuer.asc >/dev/null
user init --name Ada --email ada@test.invalid >/dev/null
user trust issuer.asc >/dev/null
user request --product KRE --seats 2 -o ada.kreq >/dev/null
admin member add --yes --from-request ada.kreq >/dev/null
admin issue ada.kreq -o outbox --yes >/dev/null
user install --vendor "$VKEY" outbox/ada.kresp >/dev/null
MID=$(user id)
L="$U/license"
IDS=$(ledger "SELECT license_id FROM licenses ORDER BY license_id" | paste -sd, -)
[ "$(seats "$A")" = "2 3" ] && pass "returnable: 2 of 5 seats used after the issue" || fail "seats: $(seats "$A")"

# ---- klic return: what it refuses before anything is written ----------------
expect_usage user return --product KRE
expect_usage user return -o x.kret
expect_usage user return --product KRE "$L/KRE_$MID.lic" -o x.kret
expect_usage user return --product KRE -o -
cp "$L/KRE_$MID.lic" elsewhere.lic
WANT_RC=2 expect_fail_file "a license file outside the license folder" "$U" elsewhere.lic user return elsewhere.lic -o x.kret
expect_fail_file "no KSE license to return" "$U" "$L" user return --product KSE -o x.kret
[ ! -e x.kret ] && pass "no receipt written for a refused return" || fail "x.kret written"
# a failed -o (a folder nobody may write) leaves the licenses in place
mkdir ro
if [ "$(id -u)" != 0 ]; then
	chmod 555 ro
	expect_fail_file "-o in an unwritable folder" "$U" ro/r.kret user return --product KRE -o ro/r.kret
elif can_unshare; then
	before=$(tree_sum "$U")
	rc=0
	unshare -m --propagation private bash -c 'mount --bind ro ro && mount -o remount,bind,ro ro && exec "$@"' \
		_ "$KLIC" --home "$U" return --product KRE -o ro/r.kret >out.txt 2>err.txt || rc=$?
	if [ "$rc" = 3 ] && [ "$(wc -l <err.txt)" = 1 ] && grep -qF "klic: ro/r.kret: " err.txt &&
		[ "$before" = "$(tree_sum "$U")" ] && [ -z "$(ls -A ro)" ]; then
		pass "-o in a read-only folder: exit 3, the licenses in place: $(cat err.txt)"
	else
		fail "-o read-only: rc $rc: $(cat err.txt)"
	fi
else
	echo "skip - -o in an unwritable folder (root without mount namespaces)"
fi
[ "$(ls "$L" | wc -l)" = 2 ] && pass "both licenses still installed" || fail "licenses: $(ls "$L")"

# ---- klic return --product KRE: the receipt, the files gone ----------------
user return --product KRE -o ada.kret --json >ret.json
python3 - ret.json "$IDS" "$MID" >chk.txt <<'PY' || true
import json, sys
j = json.load(open(sys.argv[1]))
ids = sys.argv[2].split(",")
ok = sorted(j) == ["chain_checked", "created", "digest", "machine_id", "member_fpr", "product",
                   "receipt", "returned"]
ok = ok and [r["license_id"] for r in j["returned"]] == ids and j["machine_id"] == sys.argv[3]
ok = ok and j["product"] == "KRE" and j["receipt"] == "ada.kret" and len(j["digest"]) == 64
print("ok" if ok else "bad " + json.dumps(j))
PY
[ "$(cat chk.txt)" = ok ] && pass "klic return --json: the keys of spec/CLI-JSON.md" || fail "return json: $(cat chk.txt)"
[ "$(sha256sum <ada.kret | cut -c1-64)" = "$(python3 -c 'import json,sys; print(json.load(open("ret.json"))["digest"])')" ] &&
	pass "the digest printed is the SHA-256 of the receipt's bytes" || fail "digest"
[ -z "$(ls -A "$L")" ] && pass "the license files are deleted" || fail "left: $(ls "$L")"
[ "$(paste -sd, - <"$U/klic/returned")" = "$IDS" ] && pass "the returned list holds both IDs" || fail "returned: $(cat "$U/klic/returned")"
n=$(user status --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["licenses"]))')
[ "$n" = 0 ] && pass "klic status lists no returned license" || fail "status lists $n"
gpg --homedir "$U/klic/gnupg" --verify ada.kret >/dev/null 2>&1 && pass "gpg --verify checks the receipt" || fail "gpg --verify"
ls -A | grep -q '^\.ada\.kret\.' && fail "a temporary file is left" || pass "no temporary file left beside the receipt"

# ---- tampered receipts and foreign signers are refused, nothing changes ----
cp ada.kret body.kret
off=$(grep -bo '"product": "KRE"' body.kret | cut -d: -f1)
flip body.kret $((off + 13))
refused_admin "a flipped byte in the body" "$A" "bad signature" admin return body.kret
cp ada.kret sig.kret
off=$(grep -bo -- '-----BEGIN PGP SIGNATURE-----' sig.kret | cut -d: -f1)
flip sig.kret $((off + 60))
refused_admin "a flipped byte in the signature" "$A" "klic-admin: sig.kret: " admin return sig.kret
"$KLIC" --home "$E" init --name Eve --email eve@test.invalid >/dev/null
EVE=$(gpg --homedir "$E/klic/gnupg" --with-colons --list-secret-keys | awk -F: '/^fpr/ {print $10; exit}')
python3 - ada.kret "$EVE" >eve.body <<'PY'
import sys
t = open(sys.argv[1]).read()
body = t.split("\n\n", 1)[1].split("\n-----BEGIN PGP SIGNATURE-----")[0]
import re
sys.stdout.write(re.sub(r'"member_fpr": "[0-9A-F]{40}"', '"member_fpr": "%s"' % sys.argv[2], body))
PY
gpg --homedir "$E/klic/gnupg" --batch --yes --pinentry-mode loopback --passphrase '' --digest-algo SHA256 \
	--clearsign -o eve.kret eve.body 2>/dev/null
refused_admin "a receipt signed by a non-member" "$A" "signer is not a registered member" admin return eve.kret

# ---- klic-admin return: the seats are free at once ------------------------
before=$(seats "$A")
admin return ada.kret >adm.txt
after=$(seats "$A")
[ "$before" = "2 3" ] && [ "$after" = "0 5" ] && grep -q "^OK   ada.kret: returned 2 KRE license(s) of machine $MID" adm.txt &&
	pass "returnable: seats used/free $before -> $after at once: $(head -1 adm.txt)" || fail "return: $before -> $after: $(cat adm.txt)"
[ "$(ledger "SELECT count(*) FROM license_ends WHERE reason = 'returned' AND by_digest = '$(sha256sum <ada.kret | cut -c1-64)'")" = 2 ] &&
	pass "two license_ends rows 'returned' by the receipt's digest" || fail "license_ends: $(ledger 'SELECT * FROM license_ends')"
[ "$(ledger "SELECT count(*) FROM audit WHERE event = 'returned' AND detail LIKE '%returned by receipt %'")" = 2 ] &&
	pass "two 'returned' audit rows name the receipt" || fail "audit: $(ledger "SELECT detail FROM audit WHERE event = 'returned'")"
[ "$(ledger "SELECT count(*) FROM returns")" = 1 ] && pass "the receipt is kept in returns" || fail "returns"
admin audit verify >/dev/null && pass "audit verify: chain and seat counters intact" || fail "audit verify"
r=$(admin report --json | python3 -c 'import json,sys; e=json.load(sys.stdin)["entitlements"][0]; print(e["used"], e["free"])')
[ "$r" = "0 5" ] && pass "report --json: used 0, free 5 after the return" || fail "report: $r"
n=$(admin list --json | python3 -c 'import json,sys; print(sum(1 for l in json.load(sys.stdin) if l.get("state") == "returned"))')
[ "$n" = 2 ] && pass "list: 2 licenses in state returned" || fail "list returned: $n ($(admin list --json | head -c 400))"

# ---- replayed twice: nothing freed the second time --------------------------
d0=$(dump "$A")
rc=0; admin return ada.kret >again.txt 2>&1 || rc=$?
[ "$rc" = 0 ] && grep -q "already returned on" again.txt && [ "$(dump "$A")" = "$d0" ] && [ "$(seats "$A")" = "0 5" ] &&
	pass "replay: exit 0, ledger unchanged: $(cat again.txt)" || fail "replay: rc $rc $(cat again.txt)"
admin return --json ada.kret >again.json
python3 -c 'import json,sys; j=json.load(open("again.json")); sys.exit(0 if j[0]["status"] == "already-returned" else 1)' &&
	pass "replay --json: status already-returned" || fail "replay json: $(cat again.json)"

# ---- a returned license is never installed again ----------------------------
expect_fail_file "re-install of the returned licenses' .kresp" "$U" outbox/ada.kresp user install --vendor "$VKEY" outbox/ada.kresp
expect_msg "the refusal says it was returned here" "was returned on this machine"

# ---- the vendor's true-up accepts the audited return ----------------------
V=$(t_vendor_bin)
admin usage export -o org.kusage >/dev/null
python3 - org.kusage "$IDS" >ended.txt <<'PY' || true
import json, sys
t = open(sys.argv[1]).read()
body = t.split("\n\n", 1)[1].split("\n-----BEGIN PGP SIGNATURE-----")[0]
lics = {l["license_id"]: l for l in json.loads(body)["licenses"]}
print("ok" if all(lics[i]["state"] == "returned" and lics[i]["ended"] for i in sys.argv[2].split(",")) else "bad")
PY
[ "$(cat ended.txt)" = ok ] && pass "usage export: both licenses returned with when they ended" || fail "export: $(cat ended.txt)"
rc=0; "$V" --state "$BOX/vendor" usage verify org.kusage >trueup.txt 2>&1 || rc=$?
[ "$rc" = 0 ] && [ "$(grep -c FLAGGED trueup.txt)" = 0 ] && pass "vendor usage verify accepts the audited return" || fail "usage verify: rc $rc $(cat trueup.txt)"

# ---- a removed member's receipt is refused as not-member -----------------
"$KLIC" --home "$M" init --name Bob --email bob@test.invalid >/dev/null
"$KLIC" --home "$M" trust issuer.asc >/dev/null
"$KLIC" --home "$M" request --product KRE -o bob.kreq >/dev/null
admin member add --yes --from-request bob.kreq >/dev/null
admin issue bob.kreq -o outbox --yes >/dev/null
"$KLIC" --home "$M" install --vendor "$VKEY" outbox/bob.kresp >/dev/null
"$KLIC" --home "$M" return "$M/license/KRE_$MID.lic" -o bob.kret >bob.txt
grep -qx "deleted $M/license/KRE_$MID.lic" bob.txt && [ ! -e "$M/license/KRE_$MID.lic" ] &&
	pass "klic return FILE.lic: that file deleted, receipt written" || fail "return by file: $(cat bob.txt)"
BOB=$(gpg --homedir "$M/klic/gnupg" --with-colons --list-secret-keys | awk -F: '/^fpr/ {print $10; exit}')
admin member remove --yes "$BOB" >/dev/null
refused_admin "a removed member's receipt" "$A" "signer is not a registered member" admin return bob.kret

# ---- org B: an irreversible entitlement: refused, nothing changes ---------
t_org_setup "$B" "Other Org" 3
"$ADMIN" --state "$B" export-key -o issuerb.asc >/dev/null
"$KLIC" --home "$W" init --name Ada --email ada@test.invalid >/dev/null
"$KLIC" --home "$W" trust issuerb.asc >/dev/null
"$KLIC" --home "$W" request --product KRE -o w.kreq >/dev/null
"$ADMIN" --state "$B" member add --yes --from-request w.kreq >/dev/null
"$ADMIN" --state "$B" issue w.kreq -o outb --yes >/dev/null
"$KLIC" --home "$W" install --vendor "$VKEY" outb/w.kresp >/dev/null
# a failure after the returned list was written (the license folder
# read-only, so the files cannot be deleted): the licenses are refused
# here, the signed receipt is kept and named, a second run finishes
if [ "$(id -u)" = 0 ] && can_unshare; then
	rc=0
	unshare -m --propagation private bash -c 'mount --bind "$0" "$0" && mount -o remount,bind,ro "$0" && exec "$@"' \
		"$W/license" "$KLIC" --home "$W" return --product KRE -o w0.kret >out.txt 2>err.txt || rc=$?
	kept=$(ls -A | grep '^\.w0\.kret\.tmp\.' || true)
	if [ "$rc" = 3 ] && [ "$(wc -l <err.txt)" = 1 ] && grep -qF "the signed receipt is kept at" err.txt &&
		[ ! -e w0.kret ] && [ -n "$kept" ] && [ "$(ls "$W/license" | wc -l)" = 1 ] && [ -s "$W/klic/returned" ]; then
		pass "delete failed after the returned list: exit 3, receipt kept as $kept, license still there"
	else
		fail "failed delete: rc $rc, kept '$kept': $(cat err.txt)"
	fi
	gpg --homedir "$W/klic/gnupg" --verify "$kept" >/dev/null 2>&1 && pass "the kept receipt is a signed receipt" || fail "kept receipt"
	WANT_RC=1 expect_fail_file "install of a license refused before its file was deleted" "$W" outb/w.kresp \
		"$KLIC" --home "$W" install --vendor "$VKEY" outb/w.kresp
else
	echo "skip - failed delete (root with mount namespaces needed)"
fi
"$KLIC" --home "$W" return --product KRE -o w.kret >/dev/null
[ -e w.kret ] && [ -z "$(ls -A "$W/license")" ] && pass "a second klic return finishes the return" || fail "second return"
sb=$(seats "$B")
refused_admin "irreversible entitlement" "$B" "not-returnable: the entitlement" "$ADMIN" --state "$B" return w.kret
[ "$sb" = "1 2" ] && [ "$(seats "$B")" = "1 2" ] && pass "irreversible: seats used/free $sb before and after" || fail "seats B: $sb -> $(seats "$B")"
# a returned end the ledger cannot account for (written by hand) is flagged
WID=$(t_sql "$B" "SELECT license_id FROM licenses LIMIT 1")
t_sql "$B" "INSERT INTO license_ends VALUES ('$WID', $(date +%s), 'returned', '$(printf '0%.0s' {1..64})')"
"$ADMIN" --state "$B" usage export -o forged.kusage >/dev/null
rc=0; "$V" --state "$BOX/vendor" usage verify forged.kusage >forged.txt 2>&1 || rc=$?
[ "$rc" = 1 ] && grep -q "license $WID .*ended early, unaudited: no 'returned' audit row names it" forged.txt &&
	pass "a returned end without its audit row is flagged: $(grep "$WID" forged.txt | head -1)" || fail "forged end: rc $rc $(cat forged.txt)"
# a license ends once: a second 'returned' row naming one of A's returned
# licenses, appended with a valid hash chain (written by hand), is flagged
t_sql "$A" "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1" >last.txt
t_sql "$A" "SELECT at, digest, detail FROM audit WHERE event = 'returned' ORDER BY seq LIMIT 1" >ret.txt
python3 - last.txt ret.txt >dup.sql <<'PY'
import hashlib, sys
seq, prev = open(sys.argv[1]).read().strip().split("|")
at, digest, detail = open(sys.argv[2]).read().rstrip("\n").split("|", 2)
seq = int(seq) + 1
text = "%d\t%s\t%s\t%s\t%s" % (seq, at, "returned", digest, detail)
h = hashlib.sha256((prev + text).encode()).hexdigest()
print("INSERT INTO audit(seq, at, event, digest, detail, prev_hash, hash) VALUES "
      "(%d, '%s', 'returned', '%s', '%s', '%s', '%s');" % (seq, at, digest, detail, prev, h))
PY
t_sql "$A" "$(cat dup.sql)"
DUP=$(cut -c1-32 <<<"$(cut -d'|' -f3 ret.txt)")
"$ADMIN" --state "$A" audit verify >/dev/null 2>&1 && pass "(the hand-made row keeps the audit chain valid)" || fail "dup row breaks the chain"
"$ADMIN" --state "$A" usage export -o dup.kusage >/dev/null
rc=0; "$V" --state "$BOX/vendor" usage verify dup.kusage >dup.txt 2>&1 || rc=$?
[ "$rc" = 1 ] && grep -q "license $DUP .*ended early, unaudited: two 'returned' audit rows name it" dup.txt &&
	pass "a license named by two 'returned' audit rows is flagged: $(grep "$DUP" dup.txt | head -1)" || fail "duplicate returned row: rc $rc $(cat dup.txt)"

# ---- overlapping receipts (an interrupted return and its re-run): each
# license is freed once, whatever the order (spec 5.3.6 #6) ----------------
if [ "$(id -u)" = 0 ] && can_unshare; then
	user request --product KRE --seats 2 -o ada2.kreq >/dev/null
	admin issue ada2.kreq -o outbox --yes >/dev/null
	user install --vendor "$VKEY" outbox/ada2.kresp >/dev/null
	IDS2=$(t_sql "$A" "SELECT license_id FROM licenses WHERE request_digest = (SELECT request_digest FROM licenses ORDER BY issued DESC, license_id DESC LIMIT 1) ORDER BY license_id" | paste -sd, -)
	used0=$(seats "$A")
	# the license folder read-only: the IDs are refused here, both receipts kept
	rc=0
	unshare -m --propagation private bash -c 'mount --bind "$0" "$0" && mount -o remount,bind,ro "$0" && exec "$@"' \
		"$L" "$KLIC" --home "$U" return --product KRE -o ov.kret >/dev/null 2>err.txt || rc=$?
	KEPT=$(ls -A | grep '^\.ov\.kret\.tmp\.' | head -n 1 || true)
	# one file deleted by hand, the other returned by the re-run
	rm -f "$(ls "$L"/KRE_*.lic | head -n 1)"
	user return --product KRE -o ov2.kret >/dev/null
	if [ "$rc" = 3 ] && [ -n "$KEPT" ] && [ -e ov2.kret ] && [ -z "$(ls -A "$L")" ]; then
		a1="$BOX/admin-ov1" a2="$BOX/admin-ov2"
		t_state_copy "$A" "$a1"; t_state_copy "$A" "$a2"
		find "$a1" "$a2" -type s -delete
		"$ADMIN" --state "$a1" return "$KEPT" >o1.txt 2>&1 && "$ADMIN" --state "$a1" return ov2.kret >o2.txt 2>&1 &&
			"$ADMIN" --state "$a2" return ov2.kret >o3.txt 2>&1 && "$ADMIN" --state "$a2" return "$KEPT" >o4.txt 2>&1 &&
			[ "$(seats "$a1")" = "$(seats "$a2")" ] && [ "$(seats "$a1")" != "$used0" ] &&
			grep -q "its 1 license(s) were returned by other receipts" o2.txt &&
			grep -q "returned 1 KRE license(s)" o3.txt && grep -q "returned 1 KRE license(s)" o4.txt &&
			grep -q "(returned before, by another receipt)" o4.txt &&
			[ "$(t_sql "$a1" "SELECT count(*) FROM license_ends WHERE license_id IN ('${IDS2//,/\',\'}')")" = 2 ] &&
			[ "$(t_sql "$a2" "SELECT count(*) FROM license_ends WHERE license_id IN ('${IDS2//,/\',\'}')")" = 2 ] &&
			pass "overlapping receipts (kept: 2 licenses, re-run: 1): both orders free the 2 seats once ($used0 -> $(seats "$a1"))" ||
			fail "overlapping receipts: $(cat o1.txt o2.txt o3.txt o4.txt | head -c 800); seats $(seats "$a1") / $(seats "$a2")"
		gpgconf --homedir "$a1/gnupg" --kill all >/dev/null 2>&1 || true
		gpgconf --homedir "$a2/gnupg" --kill all >/dev/null 2>&1 || true
	else
		fail "interrupted return for the overlap: rc $rc, kept '$KEPT', $(ls -A "$L" | wc -l) left: $(cat err.txt)"
	fi
else
	echo "skip - overlapping receipts (root with mount namespaces needed)"
fi

t_done
