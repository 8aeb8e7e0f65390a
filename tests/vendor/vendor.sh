#!/bin/bash
# klic-vendor: init, export-key, entitle, list, check, and every refusal
# (usage errors exit 2, refusals exit 1, each with one stderr line and the
# state unchanged).  Usage: vendor.sh KLIC_VENDOR
KV=$1
. "$(dirname "$0")/../lib.sh"
export KLIC_VENDOR_HOME=$BOX/vendor
S=$KLIC_VENDOR_HOME
cd "$BOX"

# expect_exit CODE NAME CMD...: exit CODE, one stderr line, the vendor state
# and the .kent files in the sandbox unchanged.
expect_exit() {
	local code=$1 name=$2; shift 2
	local before after rc=0 lines
	before=$(tree_sum "$S"; sha256sum "$BOX"/*.kent 2>/dev/null || true)
	"$@" >"$BOX/out.txt" 2>"$BOX/err.txt" || rc=$?
	after=$(tree_sum "$S"; sha256sum "$BOX"/*.kent 2>/dev/null || true)
	lines=$(wc -l <"$BOX/err.txt")
	if [ "$rc" -ne "$code" ]; then fail "$name: exit $rc, expected $code ($(head -c 300 "$BOX/err.txt"))"
	elif [ "$lines" -ne 1 ]; then fail "$name: $lines stderr lines: $(head -c 300 "$BOX/err.txt")"
	elif [ "$before" != "$after" ]; then fail "$name: state or a .kent changed"
	else pass "$name: $(cat "$BOX/err.txt")"; fi
}
expect_usage() { expect_exit 2 "$@"; }
refused() { expect_exit 1 "$@"; }

# an organization's issuer key, made with stock gpg
org_key() { # NAME -> $BOX/NAME.asc
	local h=$BOX/gnupg-$1
	mkdir -m 700 "$h"
	GNUPGHOME=$h gpg --batch --passphrase '' --quick-gen-key "$1 <$1@org.test>" ed25519 sign never 2>/dev/null
	GNUPGHOME=$h gpg --armor --export >"$BOX/$1.asc"
}
org_key orga
org_key orgb

# ---- happy path -------------------------------------------------------------
out=$("$KV" init --name "Acme Vendor" --email vendor@acme.test) || fail "init"
VFPR=${out#vendor }
[[ $out =~ ^vendor\ [0-9A-F]{40}$ ]] && pass "init: $out" || fail "init printed '$out'"
[ -d "$S/gnupg" ] && [ -d "$S/entitlements" ] && pass "init made the state" || fail "state"
refused "re-init" "$KV" init --name X --email x@y.test

"$KV" export-key -o vendor.asc >/dev/null && grep -q 'BEGIN PGP PUBLIC KEY BLOCK' vendor.asc &&
	pass "export-key" || fail "export-key"
refused "export-key overwrite" "$KV" export-key -o vendor.asc

ENT=(--org "Org A" --org-key orga.asc --product KRE --model node-locked --billing yearly
	--seats 5 --until 2099-12-31 --ref PO-1)
id=$("$KV" entitle "${ENT[@]}" -o a.kent) || fail "entitle"
[[ $id =~ ^[0-9a-f]{32}$ ]] && pass "entitle: $id" || fail "entitle printed '$id'"
cmp -s a.kent "$S/entitlements/$id.kent" && pass "entitlement recorded" || fail "not recorded"
head -1 a.kent | grep -qx -- '-----BEGIN PGP SIGNED MESSAGE-----' && pass ".kent is clear-signed" ||
	fail ".kent shape"
grep -q '"valid_until": "2100-01-01T00:00:00Z"' a.kent && pass "--until: the day after, 00:00Z" ||
	fail "valid_until"
grep -q "\"valid_from\": \"$(date -u +%Y-%m-%d)T00:00:00Z\"" a.kent && pass "--from: today" ||
	fail "valid_from"
grep -q "\"vendor_fpr\": \"$VFPR\"" a.kent && grep -q '"returnable": false' a.kent &&
	pass "vendor_fpr, returnable" || fail "vendor_fpr/returnable"

# two org keys, a start date, returnable
id2=$("$KV" entitle --org "Org B" --org-key orgb.asc --org-key orga.asc --product KSE \
	--model floating --billing monthly --seats 1000000 --from 2030-01-01 --until 2030-01-31 \
	--returnable --ref "PO 2" -o b.kent) && pass "entitle with 2 keys" || fail "entitle 2 keys"
grep -q '"valid_from": "2030-01-01T00:00:00Z"' b.kent &&
	grep -q '"valid_until": "2030-02-01T00:00:00Z"' b.kent &&
	grep -q '"returnable": true' b.kent && pass "--from/--until/--returnable" || fail "b.kent terms"
[ "$(grep -c '^    "[0-9A-F]\{40\}"' b.kent)" = 2 ] && pass "two org keys" || fail "org_keys"

# stock gpg verifies the .kent with the exported vendor key
mkdir -m 700 gnupg-check
GNUPGHOME=$BOX/gnupg-check gpg --batch --import vendor.asc 2>/dev/null
if GNUPGHOME=$BOX/gnupg-check gpg --batch --status-fd 1 --verify a.kent 2>/dev/null |
	grep -q "VALIDSIG $VFPR"; then pass "gpg --verify a.kent"; else fail "gpg --verify"; fi

out=$("$KV" list) && pass "list" || fail "list exit"
echo "$out" | grep -q "^$id Org A .* KRE *node-locked yearly *5 .* 2099-12-31 PO-1$" &&
	echo "$out" | grep -q "^$id2 Org B" && pass "list shows both" || fail "list: $out"
"$KV" list --json >list.json && python3 - "$id" "$id2" <<'PY' && pass "list --json" || fail "list --json"
import json, sys
a = json.load(open("list.json"))
ids = {e["entitlement_id"]: e for e in a}
assert set(ids) == set(sys.argv[1:3]), ids
e = ids[sys.argv[1]]
assert e["verified"] is True and e["seats"] == 5 and e["org"] == "Org A", e
assert e["valid_until"] == "2100-01-01T00:00:00Z" and e["ref"] == "PO-1", e
assert len(ids[sys.argv[2]]["org_keys"]) == 2
PY
out=$("$KV" check a.kent) && [[ $out == "ok $id "* ]] && pass "check: $out" || fail "check"
"$KV" --help | grep -q entitle && pass "--help" || fail "--help"
for c in init export-key entitle list check; do
	"$KV" $c --help | grep -q "^usage: klic-vendor" && pass "$c --help" || fail "$c --help"
done

# ---- refusals and usage errors ----------------------------------------------
expect_usage "bad product" "$KV" entitle "${ENT[@]/KRE/KXE}" -o x.kent
expect_usage "bad model" "$KV" entitle "${ENT[@]/node-locked/cloud}" -o x.kent
expect_usage "bad billing" "$KV" entitle "${ENT[@]/yearly/weekly}" -o x.kent
args=("${ENT[@]}"); args[11]=0
expect_usage "seats 0" "$KV" entitle "${args[@]}" -o x.kent
args[11]=1000001
expect_usage "seats too many" "$KV" entitle "${args[@]}" -o x.kent
args[11]=five
expect_usage "seats not a number" "$KV" entitle "${args[@]}" -o x.kent
args[11]=-3
expect_usage "seats negative" "$KV" entitle "${args[@]}" -o x.kent
expect_usage "until before from" "$KV" entitle "${ENT[@]}" --from 2100-01-01 -o x.kent
args=("${ENT[@]}"); args[13]=2020-01-01
expect_usage "until in the past" "$KV" entitle "${args[@]}" -o x.kent
args[13]=2099-02-30
expect_usage "bad date" "$KV" entitle "${args[@]}" -o x.kent
args[13]=9999-12-31
expect_usage "date out of range" "$KV" entitle "${args[@]}" -o x.kent
expect_usage "bad --from" "$KV" entitle "${ENT[@]}" --from tomorrow -o x.kent
expect_usage "unknown option" "$KV" entitle "${ENT[@]}" --colour -o x.kent
expect_usage "missing -o" "$KV" entitle "${ENT[@]}"
expect_usage "missing --ref" "$KV" entitle "${ENT[@]:0:14}" -o x.kent
expect_usage "repeated --seats" "$KV" entitle "${ENT[@]}" --seats 3 -o x.kent
expect_usage "9 org keys" "$KV" entitle "${ENT[@]}" --org-key orgb.asc --org-key orgb.asc \
	--org-key orgb.asc --org-key orgb.asc --org-key orgb.asc --org-key orgb.asc \
	--org-key orgb.asc --org-key orgb.asc -o x.kent
expect_usage "unprintable org" "$KV" entitle "${ENT[@]/Org A/Org$'\t'A}" -o x.kent
expect_usage "init without --email" "$KV" --state "$BOX/other" init --name X
expect_usage "unknown command" "$KV" frobnicate
expect_usage "list operand" "$KV" list extra
expect_usage "export-key without -o" "$KV" export-key
[ -e x.kent ] && fail "x.kent written by a refused entitle" || pass "no x.kent left"

refused "overwrite .kent" "$KV" entitle "${ENT[@]}" -o a.kent
grep -q "a.kent" err.txt && pass "overwrite names the file" || fail "overwrite message"
echo "not a key" >junk.asc
refused "org key that is not a key" "$KV" entitle "${ENT[@]/orga.asc/junk.asc}" -o x.kent
grep -q "junk.asc" err.txt && pass "names junk.asc" || fail "junk message"
refused "duplicate org key" "$KV" entitle "${ENT[@]}" --org-key orga.asc -o x.kent
GNUPGHOME=$BOX/gnupg-orga gpg --batch --pinentry-mode loopback --passphrase '' --armor \
	--export-secret-keys >orga-secret.asc
refused "secret key as org key" "$KV" entitle "${ENT[@]/orga.asc/orga-secret.asc}" -o x.kent
refused "vendor key as org key" "$KV" entitle "${ENT[@]/orga.asc/vendor.asc}" -o x.kent
expect_exit 3 "missing org key file" "$KV" entitle "${ENT[@]/orga.asc/nope.asc}" -o x.kent
expect_exit 3 "no state" "$KV" --state "$BOX/none" list

# ---- tampering ----------------------------------------------------------------
cp a.kent flipped.kent
off=$(grep -bo '"seats": 5' flipped.kent | cut -d: -f1)
flip flipped.kent $((off + 9))
grep -q '"seats": 4' flipped.kent || fail "flip did not land"
refused "check a flipped .kent" "$KV" check flipped.kent
cp "$S/entitlements/$id.kent" saved.kent
cp flipped.kent "$S/entitlements/$id.kent"
rc=0; "$KV" list >out.txt 2>err.txt || rc=$?
[ $rc = 1 ] && grep -q "^$id BAD: bad signature" out.txt && [ "$(wc -l <err.txt)" = 1 ] &&
	grep -q "$id.kent" err.txt && pass "list flags the flipped record: $(cat err.txt)" ||
	fail "list of a flipped record: rc $rc $(cat out.txt err.txt)"
rc=0; "$KV" list --json >list.json 2>/dev/null || rc=$?
[ $rc = 1 ] && python3 -c "
import json; a = json.load(open('list.json'))
assert [e['verified'] for e in a if e['file'] == '$id.kent'] == [False]" &&
	pass "list --json flags it" || fail "list --json of a flipped record"
cp saved.kent "$S/entitlements/$id.kent"
cp b.kent "$S/entitlements/$id.kent" # a valid .kent under another ID's name
rc=0; "$KV" list >out.txt 2>err.txt || rc=$?
[ $rc = 1 ] && grep -q "recorded as $id.kent" err.txt && pass "list: wrong file name flagged" ||
	fail "misnamed record: rc $rc $(cat err.txt)"
cp saved.kent "$S/entitlements/$id.kent"
"$KV" list >/dev/null && pass "list ok again" || fail "list after restore"

# a .kent of another vendor: refused by check; unrecorded: refused too
KLIC_VENDOR_HOME=$BOX/vendor2 "$KV" init --name "Other" --email o@other.test >/dev/null
KLIC_VENDOR_HOME=$BOX/vendor2 "$KV" entitle "${ENT[@]}" -o other.kent >/dev/null
refused "check another vendor's .kent" "$KV" check other.kent
grep -q "unknown key" err.txt && pass "names the unknown vendor key" || fail "wrong-vendor message"
rm "$S/entitlements/$id2.kent"
refused "check an unrecorded .kent" "$KV" check b.kent
cp b.kent "$S/entitlements/$id2.kent"

t_done
