#!/usr/bin/env bash
# Issue 14's must-shows on the user side: a license is valid only when it
# chains to the vendor.  The forge (the user's own key pinned in the home,
# a self-signed 64-seat license in 3 files) is refused by klic verify, klic
# status and the runtime, each naming the reason; a fake gpg first on PATH
# changes no verdict; seven hostile licenses (made by klic_test_mkresp over
# .kent files from klic-vendor) are each refused by the runtime AND by
# `klic verify --vendor`; the vendor folder is trusted only when root's and
# writable by nobody else; install runs the chain when it can.
# Usage: chain.sh KLIC KLIC_ADMIN MKRESP EXAMPLE   (KLIC_VENDOR in the environment)
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/common.sh"
KLIC=$1 ADMIN=$2 MKRESP=$3 EXAMPLE=$4
A="$BOX/admin"; U="$BOX/user"; L="$U/license"
VKEY="$BOX/vendor.asc"
admin() { "$ADMIN" --state "$A" "$@"; }
user() { "$KLIC" --home "$U" "$@"; }
vendor() { "$(t_vendor_bin)" --state "$BOX/vendor" "$@"; }
cd "$BOX"

t_org_setup "$A" "Chain Org" 5
KENT=$T_KENT
admin export-key -o issuer.asc
user init --name "Ada User" --email ada@test.invalid >/dev/null
user trust issuer.asc >/dev/null
MID=$(user id)
user request --product KRE --seats 3 -o ada.kreq >/dev/null
admin member add --yes --from-request ada.kreq >/dev/null
admin issue ada.kreq -o outbox --yes >/dev/null
user install --vendor "$VKEY" outbox/ada.kresp >"$BOX/out.txt" 2>"$BOX/err.txt" &&
	grep -q "^vendor: Test Vendor <vendor@test.invalid> [0-9A-F]\{40\}$" "$BOX/out.txt" &&
	[ ! -s "$BOX/err.txt" ] && pass "install --vendor checks the chain and names the vendor" ||
	fail "install --vendor: $(cat "$BOX/out.txt" "$BOX/err.txt")"
LIC="$L/KRE_${MID}.lic"
VFPR=$(sed -n 's/^vendor: .* \([0-9A-F]\{40\}\)$/\1/p' "$BOX/out.txt")

# refused NAME FILE TEXT ERRNAME: klic verify --vendor (exit 1, one stderr
# line naming FILE, containing TEXT) and the runtime (ERRNAME) refuse FILE.
refused() {
	local name=$1 file=$2 text=$3 code=$4 rc=0
	expect_fail_file "$name: klic verify --vendor" "$L" "$file" user verify --vendor "$VKEY" "$file"
	expect_msg "$name: klic verify names it: $text" "$text"
	"$EXAMPLE" check "$VKEY" "$file" "$U" >"$BOX/rt.out" 2>"$BOX/rt.err" || rc=$?
	if [ "$rc" = 1 ] && grep -q "^invalid: $code: .*$text" "$BOX/rt.err"; then
		pass "$name: the runtime: $(cat "$BOX/rt.err")"
	else
		fail "$name: the runtime: exit $rc: $(cat "$BOX/rt.err")"
	fi
}

user verify --vendor "$VKEY" "$LIC" >"$BOX/out.txt" && grep -q "^vendor: Test Vendor <vendor@test.invalid> $VFPR$" "$BOX/out.txt" &&
	grep -q "^valid: KRE until " "$BOX/out.txt" && pass "klic verify --vendor: valid, names the vendor" ||
	fail "verify: $(cat "$BOX/out.txt")"
"$EXAMPLE" check "$VKEY" "$LIC" "$U" >/dev/null && pass "the runtime: valid" || fail "runtime on the valid license"

# --- the forge (issue 14) -----------------------------------------------------------
# 1-2: the user's own key (in <home>/klic/gnupg) pinned as an issuer
OWN=$(gpg --homedir "$U/klic/gnupg" --list-secret-keys --with-colons | awk -F: '$1 == "fpr" {print $10; exit}')
echo "$OWN" >>"$U/klic/issuers"
# 3-4, literally: a version-1 canonical manifest, 64 licenses a year out,
# clear-signed with stock gpg, as three license files
python3 - "$LIC" forge-v1.json <<'EOF'
import json, sys, re
body = open(sys.argv[1]).read().split("\n\n", 1)[1].split("\n-----BEGIN PGP SIGNATURE-----")[0]
d = json.loads(body)
for k in ("entitlement", "entitlement_id", "issuer_key"):
    d.pop(k)
d["version"] = 1
d["seats"] = 64
lic0 = d["licenses"][0]
d["licenses"] = [dict(lic0, seat=i + 1, file=lic0["file"] if i == 0 else lic0["file"][:-4] + "_%d.lic" % (i + 1),
                      license_id="%032x" % (i + 1)) for i in range(64)]
d["expires"] = d["created"].replace(d["created"][:4], str(int(d["created"][:4]) + 1), 1)
open(sys.argv[2], "w").write(json.dumps(d, indent=2, sort_keys=True))
EOF
mkdir -p forge
gpg --homedir "$U/klic/gnupg" --batch -q -u "$OWN" --clearsign --digest-algo SHA512 -o forge/v1.lic forge-v1.json
# the same forge as a version-2 document: a vendor of the user's own making
# entitles the user's key to 64 seats
"$KLIC" --home "$BOX/forger" init --name F --email f@x >/dev/null
"$KLIC" --home "$BOX/forger" request --product KRE --seats 64 -o forge.kreq >/dev/null
"$(t_vendor_bin)" --state "$BOX/own-vendor" init --name "Own Vendor" --email own@x >/dev/null
gpg --homedir "$U/klic/gnupg" --armor --export "$OWN" >own.asc
"$(t_vendor_bin)" --state "$BOX/own-vendor" entitle --org "Chain Org" --org-key own.asc --product KRE \
	--model node-locked --billing yearly --seats 64 --until "$(date -u -d '+400 days' +%F)" --ref forged \
	-o own.kent >/dev/null
mkdir -p forge2
"$MKRESP" "$U/klic/gnupg" forge.kreq forge.kresp kent=own.kent seats=64 org="Chain Org" lic=forge2 machine="$MID"
# and with the genuine entitlement of the organization
mkdir -p forge3
"$MKRESP" "$U/klic/gnupg" forge.kreq forge3.kresp kent="$KENT" seats=64 org="Chain Org" lic=forge3 machine="$MID"
F="$BOX/forge-home/license"; mkdir -p "$F"
cp -r "$U/klic" "$BOX/forge-home/" # the same pinned issuers, own key included
for k in "" _2 _3; do cp forge2/"KRE_${MID}${k}.lic" "$F/"; done
cp forge/v1.lic "$BOX/KRE_${MID}_4.lic"
refused "forge, version 1, stock gpg" "$BOX/KRE_${MID}_4.lic" "version 1 (this klic reads version 2)" KLIC_ERR_VERSION
refused "forge, own vendor, 64 seats" "$F/KRE_${MID}_2.lic" "not signed by a vendor key" KLIC_ERR_SIG_WRONG_KEY
refused "forge, genuine entitlement, own key" forge3/"KRE_${MID}_3.lic" "signed by $OWN, a key the entitlement does not name" KLIC_ERR_NOT_ENTITLED
out=$("$KLIC" --home "$BOX/forge-home" status --vendor "$VKEY")
n=$(echo "$out" | grep -c "^KRE_${MID}\(_[23]\)\?.lic .*wrong signing key: entitlement: not signed by a vendor key" || true)
[ "$n" = 3 ] && pass "klic status: the 3 forged files refused, naming the reason" || fail "status: $out"
rc=0; "$EXAMPLE" session "$VKEY" KRE "$F" >/dev/null 2>"$BOX/err.txt" || rc=$?
[ "$rc" = 1 ] && grep -q "not signed by a vendor key" "$BOX/err.txt" && pass "the runtime's sessions: no seat from the forge: $(cat "$BOX/err.txt")" ||
	fail "sessions on the forge: $rc $(cat "$BOX/err.txt")"

# --- a fake gpg first on PATH changes no verdict ---------------------------------------
mkdir -p fakebin
cat >fakebin/gpg <<EOF
#!/bin/sh
echo "\$*" >>"$BOX/fake-gpg-ran"
echo "[GNUPG:] NEWSIG"
echo "[GNUPG:] GOODSIG 0000000000000000 Anyone"
echo "[GNUPG:] VALIDSIG $OWN 2026-01-01 1700000000 0 4 0 22 10 01 $OWN"
exit 0
EOF
chmod +x fakebin/gpg
cp fakebin/gpg fakebin/gpg2
PATH="$BOX/fakebin:$PATH" user verify --vendor "$VKEY" "$F/KRE_${MID}.lic" >/dev/null 2>"$BOX/err.txt" && fail "fake gpg: the forge passed" ||
	{ grep -q "not signed by a vendor key" "$BOX/err.txt" && pass "fake gpg on PATH: klic verify still refuses the forge" || fail "fake gpg: $(cat "$BOX/err.txt")"; }
PATH="$BOX/fakebin:$PATH" "$EXAMPLE" check "$VKEY" "$F/KRE_${MID}.lic" "$U" >/dev/null 2>&1 && fail "fake gpg: runtime accepted the forge" ||
	pass "fake gpg on PATH: the runtime still refuses the forge"
PATH="$BOX/fakebin:$PATH" user verify --vendor "$VKEY" "$LIC" >/dev/null && PATH="$BOX/fakebin:$PATH" "$EXAMPLE" check "$VKEY" "$LIC" "$U" >/dev/null &&
	pass "fake gpg on PATH: the valid license stays valid" || fail "fake gpg: valid license refused"
# GPGME 1.18's default-engine probe runs "gpg --version" from PATH once
# per process (posix-util.c walk_path; its answer decides nothing); every
# operation runs the build-time gpg
if [ ! -e "$BOX/fake-gpg-ran" ] || [ -z "$(grep -v '^--version$' "$BOX/fake-gpg-ran")" ]; then
	pass "the fake gpg never ran an operation ($(sort -u "$BOX/fake-gpg-ran" 2>/dev/null | tr '\n' ' ')only)"
else
	fail "the fake gpg ran: $(sort -u "$BOX/fake-gpg-ran" | tr '\n' ' ')"
fi

# --- seven hostile licenses: the runtime and klic verify --vendor refuse each ----------
ent() { vendor entitle --product KRE --model node-locked --billing yearly --ref PO-x "$@" >/dev/null; }
hostile() { # NAME GNUPGHOME KEY=VALUE...: its first license file
	local name=$1 g=$2; shift 2
	mkdir -p "h-$name"
	"$MKRESP" "$g" ada.kreq "h-$name.kresp" org="Chain Org" lic="h-$name" "$@"
	echo "h-$name/KRE_${MID}.lic"
}
UNTIL=$(date -u -d '+400 days' +%F)
t_org_setup "$BOX/admin2" "Chain Org" 0
refused "a genuine admin key the entitlement does not name" "$(hostile admin2 "$BOX/admin2/gnupg" kent="$KENT")" \
	"a key the entitlement does not name" KLIC_ERR_NOT_ENTITLED
ent --org "Other Org" --org-key issuer.asc --seats 5 --until "$UNTIL" -o other-org.kent
refused "an entitlement of another organization" "$(hostile otherorg "$A/gnupg" kent=other-org.kent)" \
	"entitlement of Other Org, license issued by Chain Org" KLIC_ERR_NOT_ENTITLED
T_VENDOR="$BOX/evil-vendor" t_vendor
"$(t_vendor_bin)" --state "$BOX/evil-vendor" entitle --org "Chain Org" --org-key issuer.asc --product KRE \
	--model node-locked --billing yearly --seats 5 --until "$UNTIL" --ref PO-evil -o evil.kent >/dev/null
refused "an entitlement signed by a non-vendor key" "$(hostile evil "$A/gnupg" kent=evil.kent)" \
	"entitlement: not signed by a vendor key" KLIC_ERR_SIG_WRONG_KEY
refused "a tampered entitlement" "$(hostile tamper "$A/gnupg" kent="$KENT" kent_tamper=1)" \
	"entitlement: bad signature" KLIC_ERR_SIG_BAD
ent --org "Chain Org" --org-key issuer.asc --seats 5 --until "$(date -u -d '+10 days' +%F)" -o short.kent
refused "a license outliving its entitlement" "$(hostile outlive "$A/gnupg" kent=short.kent days=60)" \
	"after min(created + 60 days, entitlement end)" KLIC_ERR_NOT_ENTITLED
ent --org "Chain Org" --org-key issuer.asc --seats 2 --until "$UNTIL" -o two.kent
refused "more seats than entitled" "$(hostile seats "$A/gnupg" kent=two.kent)" \
	"3 seats, entitlement grants 2" KLIC_ERR_NOT_ENTITLED
ent --org "Chain Org" --org-key issuer.asc --seats 5 --from "$(date -u -d '+5 days' +%F)" --until "$UNTIL" -o later.kent
refused "an entitlement not yet started" "$(hostile later "$A/gnupg" kent=later.kent)" \
	"entitlement not yet started (from " KLIC_ERR_NOT_ENTITLED
refused "issuer_key not the key issuer_fpr names" "$(hostile keymix "$A/gnupg" kent="$KENT" key_from="$BOX/admin2/gnupg")" \
	"issuer_key is " KLIC_ERR_MISMATCH
vendor entitle --org "Chain Org" --org-key issuer.asc --product KRE --model floating --billing yearly \
	--seats 5 --until "$UNTIL" --ref PO-f -o floating.kent >/dev/null
refused "a floating entitlement" "$(hostile floating "$A/gnupg" kent=floating.kent)" \
	"entitlement is floating/yearly" KLIC_ERR_NOT_ENTITLED
# install with --vendor refuses what the chain refuses; the folder is untouched
user request --product KRE --seats 3 -o ada2.kreq >/dev/null
"$MKRESP" "$A/gnupg" ada2.kreq h-seats2.kresp kent=two.kent org="Chain Org"
expect_fail_file "install --vendor: more seats than entitled" "$L" h-seats2.kresp user install --vendor "$VKEY" h-seats2.kresp
expect_msg "install names the term" "3 seats, entitlement grants 2"

# --- the vendor folder: root's, writable by nobody else ---------------------------------
if can_unshare; then
	made=0
	if [ ! -d /etc/klic/vendors ]; then mkdir -p /etc/klic/vendors; made=1; fi
	VD="$BOX/vendors"; mkdir -p "$VD"; chmod 755 "$VD"; cp "$VKEY" "$VD/KRE.asc"; chmod 644 "$VD/KRE.asc"
	in_vendors() { unshare -m --propagation private bash -c 'mount --bind "$0" /etc/klic/vendors && exec "$@"' "$VD" "$@"; }
	if in_vendors "$KLIC" --home "$U" verify "$LIC" >"$BOX/out.txt" 2>&1 && grep -q "^vendor: Test Vendor <vendor@test.invalid> $VFPR$" "$BOX/out.txt"; then
		pass "klic verify with the vendor folder: valid, names the vendor"
	else
		fail "vendor folder: $(cat "$BOX/out.txt")"
	fi
	out=$(in_vendors "$KLIC" --home "$BOX/forge-home" status)
	echo "$out" | grep -q "not signed by a vendor key" && pass "klic status with the vendor folder: the forge refused" || fail "status: $out"
	out=$(in_vendors "$KLIC" --home "$U" status)
	echo "$out" | grep -q "^KRE_${MID}.lic .* valid$" && pass "klic status with the vendor folder: the license valid" || fail "status: $out"
	chmod 777 "$VD"
	expect_fail_file "vendor folder writable by others" "$L" "$LIC" in_vendors "$KLIC" --home "$U" verify "$LIC"
	expect_msg "  ... the detail names the folder and why" "/etc/klic/vendors: writable by group or others (mode 0777)"
	chmod 755 "$VD"; chown 65534 "$VD"
	expect_fail_file "vendor folder owned by a non-root user" "$L" "$LIC" in_vendors "$KLIC" --home "$U" verify "$LIC"
	expect_msg "  ... names the owner" "/etc/klic/vendors: owned by uid 65534, not by root"
	out=$(in_vendors "$KLIC" --home "$U" status)
	echo "$out" | grep -q "^KRE_${MID}.lic .*no trusted vendor key: /etc/klic/vendors: owned by uid 65534" &&
		pass "klic status: a non-root vendor folder trusts nothing" || fail "status: $out"
	chown 0 "$VD"; chmod 666 "$VD/KRE.asc"
	expect_fail_file "vendor key writable by others" "$L" "$LIC" in_vendors "$KLIC" --home "$U" verify "$LIC"
	expect_msg "  ... names the key file" "/etc/klic/vendors/KRE.asc: writable by group or others"
	chmod 644 "$VD/KRE.asc"; mv "$VD/KRE.asc" "$VD/KSE.asc"
	expect_fail_file "no vendor key for the product" "$L" "$LIC" in_vendors "$KLIC" --home "$U" verify "$LIC"
	expect_msg "  ... missing" "/etc/klic/vendors/KRE.asc: missing"
	in_vendors "$KLIC" --home "$U" install outbox/ada.kresp >"$BOX/out.txt" 2>"$BOX/err.txt" &&
		grep -q "note: the chain to the vendor was not checked" "$BOX/err.txt" &&
		pass "install without a vendor key: installs, says the chain was not checked" ||
		fail "install without vendor key: $(cat "$BOX/out.txt" "$BOX/err.txt")"
	[ "$made" = 1 ] && rmdir /etc/klic/vendors /etc/klic 2>/dev/null || true
else
	echo "# skipped: the vendor folder (needs root and unshare -m)"
fi

t_done
