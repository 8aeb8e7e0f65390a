#!/usr/bin/env bash
# End-to-end: the real binaries through init -> trust -> request -> member add
# -> issue -> install -> status -> verify, plus the binding refusals
# (another machine, another user's request, another organization, expired,
# clock set back, tampered).  The organizations' entitlements come from a
# vendor (klic-vendor, tests/lib.sh t_org_setup).
# Usage: roundtrip.sh KLIC KLIC_ADMIN
. "$(dirname "$0")/../lib.sh"
KLIC=$1
ADMIN=$2

A="$BOX/admin"; U="$BOX/user"; V="$BOX/other-user"; O="$BOX/other-org"
admin() { "$ADMIN" --state "$A" "$@"; }
user() { "$KLIC" --home "$U" "$@"; }
cd "$BOX"

# --- set up both sides ------------------------------------------------------
t_org_setup "$A" "Test Org" 5 KRE
t_entitle "$A" 1 KSE
admin export-key -o issuer.asc
user init --name "Ada User" --email ada@test.invalid >/dev/null
fpr=$(user trust issuer.asc)
if echo "$fpr" | grep -Eq '[0-9A-F]{40}'; then pass "trust prints the issuer fingerprint"; else fail "trust output: $fpr"; fi

MID=$(user id)
if echo "$MID" | grep -Eq '^[0-9A-HJKMNP-TV-Z]{5}(-[0-9A-HJKMNP-TV-Z]{5}){4}$'; then pass "klic id: $MID"; else fail "klic id: '$MID'"; fi

user request --product KRE --seats 2 -o ada.kreq >/dev/null
size=$(stat -c %s ada.kreq)
if [ "$size" -lt 2048 ]; then pass ".kreq is $size bytes (< 2 KiB)"; else fail ".kreq is $size bytes"; fi
if [ "$(tar tzf ada.kreq | tr '\n' ' ')" = "manifest.json manifest.sig requester.pgp " ]; then
	pass "tar lists the request members"; else fail "tar tzf ada.kreq: $(tar tzf ada.kreq)"; fi

admin member add --yes --from-request ada.kreq >/dev/null
admin issue ada.kreq -o outbox --yes >/dev/null
[ -f outbox/ada.kresp ] && pass "issue wrote outbox/ada.kresp" || fail "no outbox/ada.kresp"
rsize=$(stat -c %s outbox/ada.kresp)
echo "# .kresp with 2 seats: $rsize bytes"

# Stock tools can audit the response and its licenses.
mkdir -p audit && tar xzf outbox/ada.kresp -C audit
mkdir -m 700 "$BOX/gnupg-audit"
gpg --homedir "$BOX/gnupg-audit" --batch --quiet --import issuer.asc 2>/dev/null
if gpg --homedir "$BOX/gnupg-audit" --batch --verify audit/manifest.sig audit/manifest.json 2>/dev/null; then
	pass "stock gpg verifies the response manifest"; else fail "gpg --verify manifest"; fi
if gpg --homedir "$BOX/gnupg-audit" --batch --verify "audit/KRE_${MID}.lic" 2>/dev/null; then
	pass "stock gpg verifies KRE_${MID}.lic on its own"; else fail "gpg --verify lic"; fi

# --- refusals before the good install (folder must stay as it is) ----------
mkdir -p "$U/license"
L="$U/license"

# another user (another home, its own key, trusts the same issuer)
"$KLIC" --home "$V" init --name "Bob" --email bob@test.invalid >/dev/null
"$KLIC" --home "$V" trust issuer.asc >/dev/null
mkdir -p "$V/license"
expect_refused "another user's response is refused" "$V/license" "$KLIC" --home "$V" install outbox/ada.kresp

# another machine, same home (mount namespace with another /etc/machine-id)
if can_unshare; then
	echo 0123456789abcdef0123456789abcdef > other-machine-id
	other=$(on_machine "$BOX/other-machine-id" "$KLIC" --home "$U" id)
	[ "$other" != "$MID" ] && pass "another machine has another ID ($other)" || fail "same ID on another machine"
	expect_refused "response for another machine is refused" "$L" on_machine "$BOX/other-machine-id" "$KLIC" --home "$U" install outbox/ada.kresp
else
	echo "# skipped: another machine (needs root and unshare -m)"
fi

# a response from another organization's admin for the same request
t_org_setup "$O" "Evil Org" 5 KRE
"$ADMIN" --state "$O" member add --yes --from-request ada.kreq >/dev/null
"$ADMIN" --state "$O" issue ada.kreq -o evil --yes >/dev/null
expect_refused "response from an unpinned issuer is refused" "$L" user install evil/ada.kresp

# tampered: flip bytes across the whole file
n=$(stat -c %s outbox/ada.kresp); step=$(( n / 24 + 1 )); bad=0
for ((off = 0; off < n; off += step)); do
	cp outbox/ada.kresp t.kresp; flip t.kresp "$off"
	same_content outbox/ada.kresp t.kresp && continue # the same bundle (see lib.sh)
	before=$(tree_sum "$L"); rc=0
	user install t.kresp >/dev/null 2>&1 || rc=$?
	[ "$rc" -ne 0 ] && [ "$before" = "$(tree_sum "$L")" ] || { bad=$((bad + 1)); echo "# accepted flip at $off"; }
done
[ "$bad" -eq 0 ] && pass "every bit-flipped response refused, folder unchanged" || fail "$bad flipped responses accepted"
head -c $((n / 2)) outbox/ada.kresp > trunc.kresp
expect_refused "truncated response refused" "$L" user install trunc.kresp
expect_refused "a request given to install is refused" "$L" user install ada.kreq
: > empty.kresp
expect_refused "empty file refused" "$L" user install empty.kresp

# expired: install 61 days later
if command -v faketime >/dev/null; then
	expect_refused "expired license refused" "$L" faketime -f '+61d' "$KLIC" --home "$U" install outbox/ada.kresp
fi

# --- the good install --------------------------------------------------------
out=$(user install outbox/ada.kresp)
if [ -f "$L/KRE_${MID}.lic" ] && [ -f "$L/KRE_${MID}_2.lic" ]; then
	pass "install: KRE_${MID}.lic and KRE_${MID}_2.lic in the license folder"
else
	fail "install output: $out; folder: $(ls "$L")"
fi
sum1=$(tree_sum "$L")
user install outbox/ada.kresp >/dev/null && [ "$sum1" = "$(tree_sum "$L")" ] &&
	pass "installing the same response twice changes nothing" || fail "re-install changed the folder"
if user status --vendor "$BOX/vendor.asc" | grep -q "KRE"; then pass "status lists the licenses"; else fail "status: $(user status --vendor "$BOX/vendor.asc" 2>&1)"; fi
json=$(user status --vendor "$BOX/vendor.asc" --json)
if [ "$(echo "$json" | grep -o '"valid": *true' | wc -l)" -eq 2 ]; then
	pass "status --json: 2 valid licenses"; else fail "status --json: $(echo "$json" | head -c 400)"; fi
user verify --vendor "$BOX/vendor.asc" "$L/KRE_${MID}.lic" >/dev/null && pass "verify: valid now" || fail "verify failed"

# a license verified elsewhere: another machine refuses it
if can_unshare; then
	expect_refused "verify on another machine fails" "$L" on_machine "$BOX/other-machine-id" "$KLIC" --home "$U" verify --vendor "$BOX/vendor.asc" "$L/KRE_${MID}.lic"
fi
# a license whose text was edited
sed 's/"seats": 2/"seats": 3/' "$L/KRE_${MID}.lic" > edited.lic
expect_refused "edited license text refused" "$L" user verify --vendor "$BOX/vendor.asc" edited.lic
{ echo "free license, trust me"; cat "$L/KRE_${MID}.lic"; } > prefixed.lic
expect_refused "unsigned text before the license refused" "$L" user verify --vendor "$BOX/vendor.asc" prefixed.lic
# clock set back below the latest trusted time
if command -v faketime >/dev/null; then
	expect_refused "clock set back is reported" "$L" faketime -f '-2d' "$KLIC" --home "$U" verify --vendor "$BOX/vendor.asc" "$L/KRE_${MID}.lic"
fi

# KSE: one seat only
expect_refused_usage() { local rc=0; "$@" >/dev/null 2>&1 || rc=$?; [ "$rc" -eq 2 ] && pass "usage error (exit 2): ${*: -4}" || fail "exit $rc for: $*"; }
expect_refused_usage user request --product KSE --seats 2 -o x.kreq
expect_refused_usage user request --product KRE --seats 0 -o x.kreq
expect_refused_usage user request --product XYZ -o x.kreq
user request --product KSE -o kse.kreq >/dev/null
admin issue kse.kreq -o outbox --yes >/dev/null
user install outbox/kse.kresp >/dev/null && [ -f "$L/KSE_${MID}.lic" ] && pass "KSE_${MID}.lic installed" || fail "KSE install"
# the single KSE seat is now spent: the next request is denied, with a reason
user request --product KSE -o kse2.kreq >/dev/null
admin issue kse2.kreq -o outbox --yes >/dev/null
expect_refused "denied response: reason shown, nothing installed" "$L" user install outbox/kse2.kresp
grep -q "no-seats" "$BOX/err.txt" && pass "denial names its reason" || fail "denial reason: $(cat "$BOX/err.txt")"

t_done
