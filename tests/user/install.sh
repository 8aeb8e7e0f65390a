#!/usr/bin/env bash
# klic install / status / verify against real responses (klic-admin) and
# hostile ones (klic_test_mkresp): every refusal leaves the license folder
# byte-identical.  Usage: install.sh KLIC KLIC_ADMIN MKRESP
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/common.sh"
KLIC=$1 ADMIN=$2 MKRESP=$3
A="$BOX/admin"; U="$BOX/user"; V="$BOX/other-user"; O="$BOX/other-org"; N="$BOX/no-issuer"
admin() { "$ADMIN" --state "$A" "$@"; }
user() { "$KLIC" --home "$U" "$@"; }
mk() { "$MKRESP" "$A/gnupg" "$@" kent="$KENT"; }
OTHER_MID=derive:0123456789abcdef0123456789abcdef
cd "$BOX"

t_org_setup "$A" "Test Org" 5
KENT=$T_KENT; VKEY="$BOX/vendor.asc"
admin export-key -o issuer.asc
user init --name "Ada User" --email ada@test.invalid >/dev/null
out=$(user trust issuer.asc)
ifpr=$(echo "$out" | awk '/^issuer / {print $2}')
# issue 18 item 15: the fingerprint with the name, and the next step
[ "$out" = "issuer $ifpr Test Org Admin <admin@test.invalid> (pinned)
next: klic request --product KRE|KSE, give the .kreq to your admin, then: klic install FILE.kresp" ] &&
	pass "trust prints the issuer with its name and the next step" || fail "trust: $out"
[ "$(user trust issuer.asc | head -1)" = "issuer $ifpr Test Org Admin <admin@test.invalid> (already pinned)" ] && [ "$(wc -l < "$U/klic/issuers")" -eq 1 ] &&
	pass "trusting twice pins once" || fail "issuers: $(cat "$U/klic/issuers")"
MID=$(user id)
user request --product KRE -o ada.kreq >/dev/null
admin member add --yes --from-request ada.kreq >/dev/null
admin issue ada.kreq -o outbox --yes >/dev/null
[ -f outbox/ada.kresp ] || { fail "klic-admin issue wrote no response"; t_done; }
mkdir -p "$U/license"; L="$U/license"

# --- refusals: the folder stays byte-identical --------------------------------------
"$KLIC" --home "$N" init --name N --email n@x >/dev/null
expect_fail_file "no issuer pinned" "$L" outbox/ada.kresp "$KLIC" --home "$N" install outbox/ada.kresp
expect_msg "no issuer pinned: message" "no issuer key pinned"

"$KLIC" --home "$V" init --name Bob --email bob@test.invalid >/dev/null
"$KLIC" --home "$V" trust issuer.asc >/dev/null
"$KLIC" --home "$V" request --product KRE -o bob.kreq >/dev/null
admin member add --yes --from-request bob.kreq >/dev/null
admin issue bob.kreq -o outbox --yes >/dev/null
expect_fail_file "another home's request" "$L" outbox/bob.kresp user install outbox/bob.kresp
expect_msg "another home's request: not pending" "not a response to a pending request"
expect_fail_file "our response installed in another home" "$V" outbox/ada.kresp "$KLIC" --home "$V" install outbox/ada.kresp

t_org_setup "$O" "Evil Org" 0
"$MKRESP" "$O/gnupg" ada.kreq evil.kresp org="Evil Org" kent="$KENT"
expect_fail_file "unpinned issuer" "$L" evil.kresp user install evil.kresp
"$MKRESP" "$U/klic/gnupg" ada.kreq self.kresp kent="$KENT"
expect_fail_file "response signed by the user's own key" "$L" self.kresp user install self.kresp

mk ada.kreq m1.kresp machine=$OTHER_MID
expect_fail_file "response for another machine" "$L" m1.kresp user install m1.kresp
expect_msg "another machine: message" "made for another machine"
mk ada.kreq m2.kresp lic_machine=$OTHER_MID
expect_fail_file "license member signed for another machine" "$L" m2.kresp user install m2.kresp
expect_msg "license for another machine: mismatch" "is not the clear-signed manifest.json"
mk ada.kreq mb.kresp binary=1
expect_fail_file "binary (not text-mode) manifest signature" "$L" mb.kresp user install mb.kresp
expect_msg "binary signature: message" "not a text-mode signature"
mk ada.kreq m3.kresp issued=-7000000 days=60
expect_fail_file "expired license" "$L" m3.kresp user install m3.kresp
expect_msg "expired: message" "license expired"
mk ada.kreq m4.kresp issued=86400
expect_fail_file "license issued in the future" "$L" m4.kresp user install m4.kresp
expect_msg "future: message" "issued in the future"
mk ada.kreq m5.kresp digest=$(printf 'ab%.0s' {1..32})
expect_fail_file "unknown request digest" "$L" m5.kresp user install m5.kresp
user request --product KRE --seats 2 -o two.kreq >/dev/null
mk two.kreq m6.kresp extra=1
expect_fail_file "a license member the manifest does not list" "$L" m6.kresp user install m6.kresp
expect_msg "unlisted member: message" "archive members do not match the manifest"
mk ada.kreq m7.kresp status=denied reason_code=no-seats reason="all seats in use"
expect_fail_file "denied response" "$L" m7.kresp user install m7.kresp
grep -qx "klic: m7.kresp: request denied: no-seats: all seats in use" "$BOX/err.txt" &&
	pass "denial line: $(cat "$BOX/err.txt")" || fail "denial line: $(cat "$BOX/err.txt")"

n=$(stat -c %s outbox/ada.kresp); step=$(( n / 40 + 1 )); bad=0
for ((off = 0; off < n; off += step)); do
	cp outbox/ada.kresp t.kresp; flip t.kresp "$off"
	same_content outbox/ada.kresp t.kresp && continue # the same bundle (see lib.sh)
	before=$(tree_sum "$L"); rc=0
	user install t.kresp >/dev/null 2>"$BOX/err.txt" || rc=$?
	if [ "$rc" -eq 0 ] || [ "$before" != "$(tree_sum "$L")" ] || [ "$(wc -l < "$BOX/err.txt")" -ne 1 ]; then
		bad=$((bad + 1)); echo "# accepted flip at $off (rc $rc)"; fi
done
[ "$bad" -eq 0 ] && pass "every bit-flipped response refused with one line, folder unchanged" || fail "$bad flips accepted"
head -c $((n - 10)) outbox/ada.kresp > trunc.kresp
expect_fail_file "truncated response" "$L" trunc.kresp user install trunc.kresp
[ -z "$(ls -A "$L")" ] && pass "license folder still empty" || fail "folder: $(ls -A "$L")"
[ ! -e "$U/klic/clock" ] && [ ! -e "$U/klic/installed" ] && pass "no clock or marker written by refusals" || fail "state written"

# --- the good install ---------------------------------------------------------------
out=$(user install outbox/ada.kresp)
[ "$out" = "$L/KRE_${MID}.lic" ] && pass "install prints the installed path" || fail "install output: $out"
[ -f "$L/KRE_${MID}.lic" ] && [ "$(stat -c %a "$L/KRE_${MID}.lic")" = 644 ] && pass "KRE_${MID}.lic installed (0644)" || fail "not installed"
digest=$(tar xzOf ada.kreq manifest.json | sha256sum | cut -c1-64)
[ -f "$U/klic/installed/$digest" ] && pass "installed marker written" || fail "no installed marker"
grep -Eq '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z$' "$U/klic/clock" && pass "clock recorded" || fail "clock file"
sum=$(tree_sum "$U")
out=$(user install outbox/ada.kresp)
[ "$out" = "already installed: $L/KRE_${MID}.lic" ] && [ "$sum" = "$(tree_sum "$U")" ] &&
	pass "second install: already installed, nothing changed" || fail "re-install: $out"
out=$(user verify --vendor "$VKEY" "$L/KRE_${MID}.lic" | grep '^valid')
# issue 18 item 15: a fresh 60-day license has 60 days left (a part day
# counts as a day), in verify, status and status --json alike
echo "$out" | grep -Eq "^valid: KRE until [0-9T:-]+Z \(60 days left\)$" && pass "verify: $out" || fail "verify: $out"
user status --vendor "$VKEY" | grep -F "KRE_${MID}.lic" | grep -q "  60 days left  valid$" &&
	pass "status: a fresh license shows 60 days left" || fail "status days: $(user status --vendor "$VKEY")"
user status --vendor "$VKEY" | grep -F "KRE_${MID}.lic" | grep -q "valid$" && pass "status: valid" || fail "status: $(user status --vendor "$VKEY")"
user status --vendor "$VKEY" --json > st.json
python3 - st.json "$MID" <<'PY' && pass "status --json: stable keys, one valid license" || fail "status --json: $(cat st.json)"
import json, sys
d = json.load(open(sys.argv[1]))
assert set(d) == {"licenses", "machine_id", "clock_ok", "clock_record"}, d
assert d["machine_id"] == sys.argv[2] and d["clock_ok"] is True
(l,) = d["licenses"]
assert set(l) == {"file", "product", "machine_id", "license_id", "entitlement_id", "vendor_fpr", "issued", "expires", "days_left", "expiring_soon", "valid", "reason", "detail"}, l
assert l["valid"] is True and l["reason"] is None and l["product"] == "KRE" and l["days_left"] == 60, l
PY

# --- status of broken files, verify refusals -------------------------------------------
cp "$L/KRE_${MID}.lic" good.lic
sed 's/"issuer_org": "Test Org"/"issuer_org": "Test Orx"/' good.lic > "$L/KRE_${MID}_9.lic"
cp good.lic "$L/KRE_${MID}_7.lic"
echo junk > "$L/KRE_${MID}_8.lic"
rc=0; user status --vendor "$VKEY" --json > st2.json || rc=$?
python3 - st2.json <<'PY' && [ "$rc" -eq 0 ] && pass "status reports bad signature / malformed, exit 0" || fail "status: rc $rc $(cat st2.json)"
import json, sys
d = {l["file"].split("_")[-1]: l for l in json.load(open(sys.argv[1]))["licenses"]}
assert d["9.lic"]["valid"] is False and d["9.lic"]["reason"] == "bad signature" and d["9.lic"]["product"] is None, d
assert d["8.lic"]["reason"] == "malformed", d
assert d["7.lic"]["valid"] is False and d["7.lic"]["reason"] == "renamed (name not granted)", d
PY
# issue 18 item 3: the text shows no signed field of a license whose
# signature did not verify ("-" for product, machine, expiry, days left)
user status --vendor "$VKEY" > st2.txt
line=$(grep -F "KRE_${MID}_9.lic" st2.txt)
if echo "$line" | grep -Eq "^KRE_${MID}_9\.lic  -  -  -  -  bad signature: " && ! echo "$line" | grep -q "days left"; then
	pass "status text, bad signature: $line"; else fail "status text, bad signature: '$line'"; fi
line=$(grep -F "KRE_${MID}_8.lic" st2.txt)
echo "$line" | grep -Eq "^KRE_${MID}_8\.lic  -  -  -  -  malformed: " && pass "status text, malformed: $line" || fail "status text, malformed: '$line'"
expect_fail_file "verify: edited license" "$L" "$L/KRE_${MID}_9.lic" user verify --vendor "$VKEY" "$L/KRE_${MID}_9.lic"
expect_fail_file "verify: a license copied to a name it does not grant" "$L" "$L/KRE_${MID}_7.lic" user verify --vendor "$VKEY" "$L/KRE_${MID}_7.lic"
expect_msg "copied license: message" "license file name not granted by the license"
rm -f "$L/KRE_${MID}_9.lic" "$L/KRE_${MID}_8.lic" "$L/KRE_${MID}_7.lic"
"$KLIC" --home "$V" request --product KRE -o bob2.kreq >/dev/null
"$MKRESP" "$A/gnupg" bob2.kreq bob2.kresp machine=$OTHER_MID kent="$KENT"
mkdir -p xb && tar xzf bob2.kresp -C xb
expect_fail_file "verify: license for another machine" "$L" xb/KRE_*.lic user verify --vendor "$VKEY" xb/KRE_*.lic
expect_msg "verify other machine: message" "made for another machine"
# the chain decides, not the home's pinned issuers: a home that pins none
# verifies the license; without a vendor key nothing is valid
"$KLIC" --home "$N" verify --vendor "$VKEY" "$L/KRE_${MID}.lic" >/dev/null &&
	pass "verify in a home with no pinned issuer: valid by its chain" || fail "verify in home N"
expect_fail_file "verify: no vendor key installed" "$L" good.lic user verify good.lic
expect_msg "no vendor key: message" "no trusted vendor key"
"$KLIC" --home "$N" status | grep -q "^KRE_.*no trusted vendor key" || true

# --- clock set back ----------------------------------------------------------------------
if command -v faketime >/dev/null; then
	expect_fail_file "verify with the clock set back" "$L" "$L/KRE_${MID}.lic" faketime -f '-1d' "$KLIC" --home "$U" verify --vendor "$VKEY" "$L/KRE_${MID}.lic"
	expect_msg "clock: message" "system clock is behind"
	out=$(faketime -f '-1d' "$KLIC" --home "$U" status --vendor "$VKEY") && echo "$out" | grep -q "  clock set back: " &&
		pass "status reports clock set back (exit 0)" || fail "status with clock back: $out"
	expect_fail_file "install with the clock set back" "$L" outbox/ada.kresp faketime -f '-1d' "$KLIC" --home "$U" install outbox/ada.kresp
	expect_msg "install clock: message" "system clock is behind"
fi

# --- names: a valid license is never overwritten; each license has its own name ---------
mk two.kreq older.kresp days=30
expect_fail_file "a license expiring earlier never replaces a valid one" "$L" older.kresp user install older.kresp
expect_msg "older: message" "older one"
mk two.kreq newer.kresp issued=100 days=60
expect_fail_file "a newer license never overwrites another valid one either" "$L" newer.kresp user install newer.kresp
expect_msg "newer: message" "already exists"
mk two.kreq next.kresp issued=100 days=60 start=2
out=$(user install next.kresp)
cmp -s good.lic "$L/KRE_${MID}.lic" && [ -f "$L/KRE_${MID}_2.lic" ] && [ -f "$L/KRE_${MID}_3.lic" ] &&
	cmp -s "$L/KRE_${MID}_2.lic" "$L/KRE_${MID}_3.lic" &&
	pass "licenses go to the names the issuer gave them, the valid one stays" || fail "names: $out / $(ls "$L")"
two=$(user verify --vendor "$VKEY" "$L/KRE_${MID}_2.lic") && three=$(user verify --vendor "$VKEY" "$L/KRE_${MID}_3.lic") &&
	pass "both seats of one response verify: $two" || fail "seats: $two / $three"

# --- an expired license is replaced (separate home, time moved forward) -----------------
W="$BOX/w"
"$KLIC" --home "$W" init --name W --email w@x >/dev/null
"$KLIC" --home "$W" trust issuer.asc >/dev/null
"$KLIC" --home "$W" request --product KRE -o w1.kreq >/dev/null
mk w1.kreq w1.kresp days=1
"$KLIC" --home "$W" install w1.kresp >/dev/null && pass "short license installed" || fail "w1 install"
cp "$W/license/KRE_${MID}.lic" w1.lic
if command -v faketime >/dev/null; then
	faketime -f '+2d' "$KLIC" --home "$W" request --product KRE -o w2.kreq >/dev/null
	faketime -f '+2d' "$MKRESP" "$A/gnupg" w2.kreq w2.kresp kent="$KENT"
	out=$(faketime -f '+2d' "$KLIC" --home "$W" install w2.kresp 2>/dev/null) &&
		[ "$out" = "$W/license/KRE_${MID}.lic" ] && ! cmp -s w1.lic "$W/license/KRE_${MID}.lic" &&
		pass "an expired license at the delivered name is replaced" || fail "replace expired: $out"
fi
t_done
