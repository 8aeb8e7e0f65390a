#!/usr/bin/env bash
# User side without an admin: init, id, request (size, members, stock gpg
# verification), usage errors, --help/--version, and hostile files given to
# install (garbage, empty, a request) refused with one line and nothing
# changed.  Usage: basic.sh KLIC
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/common.sh"
KLIC=$1
U="$BOX/user"
user() { "$KLIC" --home "$U" "$@"; }
cd "$BOX"

# --- help and version ----------------------------------------------------------
for c in id init trust request install status verify; do
	rc=0; out=$(user "$c" --help) || rc=$?
	if [ "$rc" -eq 0 ] && echo "$out" | grep -q "^usage: klic .*$c"; then pass "klic $c --help"
	else fail "klic $c --help: exit $rc: $out"; fi
done
"$KLIC" --help | grep -q "request" && pass "klic --help lists the commands" || fail "klic --help"
"$KLIC" --version | grep -Eq '^klic [0-9]+\.[0-9]+\.[0-9]+' && pass "klic --version" || fail "klic --version"

# --- id ------------------------------------------------------------------------
MID=$(user id)
if echo "$MID" | grep -Eq '^[0-9A-HJKMNP-TV-Z]{5}(-[0-9A-HJKMNP-TV-Z]{5}){4}$'; then
	pass "klic id: $MID"; else fail "klic id: '$MID'"; fi
[ "$(KLIC_HOME=/nonexistent "$KLIC" id)" = "$MID" ] && pass "id does not depend on the home" || fail "id differs"
[ ! -e "$U" ] && pass "id touches no files" || fail "id created $U"

# --- init ----------------------------------------------------------------------
out=$(user init --name "Ada User" --email ada@test.invalid)
fpr=$(echo "$out" | awk '/^key / {print $2}')
# issue 18 item 15: the fingerprint with the name, and the next step
[ "$(echo "$out" | head -1)" = "key $fpr Ada User <ada@test.invalid>" ] && echo "$fpr" | grep -Eq '^[0-9A-F]{40}$' &&
	[ "$(echo "$out" | sed -n 2p)" = "next: pin your admin's issuer key (klic-admin export-key gives it): klic trust ISSUER.asc" ] &&
	pass "init prints the key with its name and the next step" || fail "init: $out"
[ "$(stat -c %a "$U/klic/gnupg")" = 700 ] && pass "keyring is 0700" || fail "keyring mode $(stat -c %a "$U/klic/gnupg")"
expect_fail_file "a second init is refused" "$U/klic" "$U/klic/gnupg" user init --name Ada --email a@x
expect_msg "second init: already exists" "already exists"

# --- request -------------------------------------------------------------------
out=$(user request --product KRE --seats 3)
kreq="KRE_${MID}.kreq"
[ -f "$kreq" ] && pass "default output name $kreq" || fail "no $kreq: $out"
[ "$(echo "$out" | head -1)" = "$kreq" ] && pass "request prints the path" || fail "request output: $out"
digest=$(echo "$out" | sed -n 's/^request digest: //p')
echo "$digest" | grep -Eq '^[0-9a-f]{64}$' && pass "request prints the digest" || fail "digest: $out"
[ -f "$U/klic/pending/$digest.json" ] && pass "pending record stored" || fail "no pending record"
size=$(stat -c %s "$kreq")
[ "$size" -lt 2048 ] && pass ".kreq is $size bytes (< 2 KiB)" || fail ".kreq is $size bytes"
[ "$(tar tzf "$kreq" | tr '\n' ' ')" = "manifest.json manifest.sig requester.pgp " ] &&
	pass "tar tzf lists exactly the 3 members" || fail "tar tzf: $(tar tzf "$kreq")"
mkdir -p x && tar xzf "$kreq" -C x
[ "$(sha256sum < x/manifest.json | cut -c1-64)" = "$digest" ] && pass "digest = SHA-256(manifest.json)" || fail "digest mismatch"
cmp -s x/manifest.json "$U/klic/pending/$digest.json" && pass "pending record = manifest bytes" || fail "pending content"
mkdir -m 700 "$BOX/gnupg-check"
gpg --homedir "$BOX/gnupg-check" --batch --quiet --import x/requester.pgp 2>/dev/null
if gpg --homedir "$BOX/gnupg-check" --batch --verify x/manifest.sig x/manifest.json 2>/dev/null; then
	pass "stock gpg verifies manifest.sig with the exported key"; else fail "gpg --verify"; fi
grep -q "\"seats\":3" x/manifest.json && grep -q "\"machine_id\":\"$MID\"" x/manifest.json &&
	grep -q "\"requester_fpr\":\"$fpr\"" x/manifest.json && pass "manifest names seats, machine, key" ||
	fail "manifest: $(cat x/manifest.json)"
# two requests differ (fresh nonce) but both are pending
user request --product KSE -o kse.kreq >/dev/null
user request --product KSE -o - > kse-stdout.kreq
tar tzf kse-stdout.kreq >/dev/null && pass "-o - writes the bundle to stdout" || fail "-o -"
[ "$(ls "$U/klic/pending" | wc -l)" -eq 3 ] && pass "3 pending records" || fail "pending: $(ls "$U/klic/pending")"
# no key: refused
# (issue 18 item 5: the home is named, not the output file)
WANT_RC=1 expect_fail_file "request without a home is refused (exit 1)" "$BOX/nokey" "request" "$KLIC" --home "$BOX/nokey" request --product KRE -o nokey.kreq
expect_msg "no home: run klic init" "klic: request: no klic home at $BOX/nokey: run 'klic init' first"
[ ! -e nokey.kreq ] && pass "no output without a key" || fail "nokey.kreq written"

# --- usage errors: exit 2, one line -----------------------------------------------
expect_usage user request --product KRE --seats 0
expect_usage user request --product KRE --seats 65
expect_usage user request --product KRE --seats -1
expect_usage user request --product KRE --seats 2x
expect_usage user request --product KRE --seats ""
expect_usage user request --product KSE --seats 2
expect_usage user request --product XYZ
expect_usage user request --product kre
expect_usage user request
expect_usage user request --product KRE --product KRE
expect_usage user request --product KRE -o a.kreq -o b.kreq
expect_usage user request --product KRE extra
expect_usage user request --product KRE --bogus
expect_usage user request --product
expect_usage user id id
expect_usage user id --json
expect_usage user install
expect_usage user install a.kresp b.kresp
expect_usage user verify
expect_usage user trust
expect_usage user status extra
expect_usage user status --json --json
expect_usage user init --name A
expect_usage user init --name A --name B --email e@x
expect_usage user frobnicate
expect_usage "$KLIC"
expect_usage "$KLIC" --home
expect_usage "$KLIC" --home a --home b id
expect_usage "$KLIC" --bogus id

# --- trust -----------------------------------------------------------------------
gpg --homedir "$U/klic/gnupg" --batch --armor --export "$fpr" > own.asc 2>/dev/null
expect_fail_file "trusting your own key is refused" "$U/klic" own.asc user trust own.asc
echo "not a key" > junk.asc
expect_fail_file "trusting garbage is refused" "$U/klic" junk.asc user trust junk.asc

# --- install of hostile files: refused, license folder unchanged -----------------
mkdir -p "$U/license"; echo keep > "$U/license/other.txt"
L="$U/license"
head -c 3000 /dev/urandom > garbage.kresp
: > empty.kresp
expect_fail_file "garbage response refused" "$L" garbage.kresp user install garbage.kresp
expect_fail_file "empty response refused" "$L" empty.kresp user install empty.kresp
expect_fail_file "a .kreq given to install is refused" "$L" "$kreq" user install "$kreq"
WANT_RC=3 expect_fail_file "missing file refused (exit 3)" "$L" missing.kresp user install missing.kresp
head -c 300000 /dev/zero > big.kresp
expect_fail_file "oversized file refused" "$L" big.kresp user install big.kresp
expect_msg "oversized: too large" "too large"
mkdir dir.kresp
rc=0; user install dir.kresp 2>/dev/null || rc=$?
[ "$rc" -ne 0 ] && pass "a directory is refused (exit $rc)" || fail "directory accepted"

# --- status and verify without licenses ------------------------------------------
user status | grep -q "^machine $MID" && pass "status names the machine" || fail "status"
json=$(user status --json)
echo "$json" | python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["licenses"]==[] and d["clock_ok"] is True and "machine_id" in d' &&
	pass "status --json with no license" || fail "status --json: $json"
expect_fail_file "verify of a non-license refused" "$L" "$L/other.txt" user verify "$L/other.txt"

t_done
