#!/usr/bin/env bash
# Admin side end to end: init, members, every denial reason as a signed
# response, N-seat issue with stock-gpg-verifiable licenses, the 60-day cap
# at the entitlement end, seats returning after expiry (faketime),
# idempotent re-issue, hostile/unattributable requests (error, no output,
# ledger unchanged), usage errors, the confirmation refusal.
# usage: issue.sh KLIC_ADMIN MKREQ [KLIC|none]
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/common.sh"

far=$(date -u -d '+400 days' +%F)

# --- init ---------------------------------------------------------------------
t_vendor
rc=0; admin init --org "Test Org" --name "Test Admin" --email admin@test.invalid >/dev/null 2>"$BOX/err" || rc=$?
[ "$rc" = 2 ] && grep -q -- "--vendor" "$BOX/err" && ! t_ledger_made "$A" && pass "init without --vendor: usage error, no ledger" || fail "init without vendor: rc=$rc $(cat "$BOX/err")"
out=$(admin init --org "Test Org" --name "Test Admin" --email admin@test.invalid --vendor "$BOX/vendor.asc")
ISSUER=$(echo "$out" | awk '/^issuer/ {print $2}')
[[ "$ISSUER" =~ ^[0-9A-F]{40}$ ]] && pass "init: issuer $ISSUER" || fail "init output: $out"
rc=0; admin init --org X --name Y --email y@x --vendor "$BOX/vendor.asc" >/dev/null 2>"$BOX/err" || rc=$?
[ "$rc" -ne 0 ] && grep -q "already exists" "$BOX/err" && pass "re-init refused (exit $rc)" || fail "re-init: rc=$rc $(cat "$BOX/err")"
setup_verifier
[ "$(stat -c %a "$A/gnupg")" = 700 ] && pass "admin GNUPGHOME is 0700" || fail "gnupg mode"

# --- init adopting an existing key in an existing keyring (--gnupghome --key) ---
mkuser smartcard
SC=$(fpr_of smartcard)
rc=0; "$ADMIN" --state "$BOX/s2" --gnupghome "$BOX/gnupg-smartcard" init --org "Card Org" --key 0123456789ABCDEF0123456789ABCDEF01234567 --vendor "$BOX/vendor.asc" >/dev/null 2>"$BOX/err" || rc=$?
[ "$rc" = 1 ] && ! t_ledger_made "$BOX/s2" && pass "init --key with no such secret key: refused, no ledger" || fail "init --key bogus: rc=$rc $(cat "$BOX/err")"
out=$("$ADMIN" --state "$BOX/s2" --gnupghome "$BOX/gnupg-smartcard" init --org "Card Org" --key "$SC" --vendor "$BOX/vendor.asc")
[[ "$out" == "issuer $SC"* ]] && pass "init adopts the existing key $SC" || fail "init --key: $out"
"$ADMIN" --state "$BOX/s2" export-key > s2.asc
grep -q "^fpr:::::::::$SC:" <<<"$(gpg --batch --with-colons --import-options show-only --import s2.asc 2>/dev/null)" \
	&& pass "later commands use the recorded --gnupghome" || fail "export-key from s2"

# --- usage errors (exit 2) -----------------------------------------------------
usage() {
	local name=$1; shift
	local rc=0
	"$@" >/dev/null 2>"$BOX/err" || rc=$?
	if [ "$rc" -eq 2 ] && [ "$(wc -l <"$BOX/err")" -eq 1 ]; then pass "usage: $name"; else fail "usage: $name: rc=$rc $(cat "$BOX/err")"; fi
}
usage "entitlement add is gone (import a vendor .kent)" admin entitlement add --product KRE --model node-locked --billing yearly --seats 1 --until "$far"
usage "entitlement import without a file" admin entitlement import
usage "entitlement import with two files" admin entitlement import a.kent b.kent
usage "repeated option" admin init --org X --org Y --name N --email e --vendor "$BOX/vendor.asc"
usage "unknown command" admin frobnicate
usage "unknown option" admin list --bogus
usage "issue without files" admin issue
[ "$(admin entitlement list --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')" = 0 ] \
	&& pass "usage errors recorded nothing" || fail "entitlements after usage errors"

# --- members ----------------------------------------------------------------------
mkuser ada; mkuser bob; mkuser eve
ADA=$(fpr_of ada); BOB=$(fpr_of bob); EVE=$(fpr_of eve)
req ada ada0.kreq --product KRE --seats 1
out=$(admin member add --yes --from-request ada0.kreq)
[[ "$out" == "$ADA ada <ada@test.invalid>" ]] && pass "member add --from-request: $out" || fail "member add output: $out"
out=$(admin member add --yes --from-request ada0.kreq)
[[ "$out" == *"already a member"* ]] && pass "member add is idempotent" || fail "second member add: $out"
gpg --homedir "$BOX/gnupg-bob" --batch --armor --export "$BOB" > bob.asc 2>/dev/null
out=$(admin member add --yes bob.asc)
[[ "$out" == "$BOB bob <bob@test.invalid>" ]] && pass "member add FILE.asc: $out" || fail "member add asc: $out"
expect_refused "the issuer key can never be a member" "$A" admin member add --yes "$BOX/issuer.asc"
# a request whose signature is not by its embedded key cannot register anyone
req eve stolen.kreq --key-home "$BOX/gnupg-ada" --product KRE
expect_refused "member add from a request re-signed by a stranger" "$A" admin member add --yes --from-request stolen.kreq
[ "$(ledger 'SELECT count(*) FROM members')" = 2 ] && pass "two members" || fail "members: $(ledger 'SELECT fingerprint FROM members')"

# --- denials, in order of precedence ----------------------------------------------
req eve eve.kreq --product KRE --seats 1
admin issue eve.kreq -o out --yes >"$BOX/o" 2>"$BOX/e" || fail "issue eve exit"
grep -q '^DENY eve.kreq -> out/eve.kresp: not-member' "$BOX/o" && pass "summary line for not-member" || fail "summary: $(cat "$BOX/o")"
check_denial "not a member" out/eve.kresp not-member
# the issuer itself asking is not a member either
mkdir -m 700 "$BOX/gnupg-issuercopy"
cp -a "$A/gnupg/." "$BOX/gnupg-issuercopy/" 2>/dev/null || true
rm -f "$BOX/gnupg-issuercopy"/S.* 2>/dev/null || true
req issuercopy byissuer.kreq --product KRE --seats 1
admin issue byissuer.kreq -o out --yes >/dev/null 2>&1 || true
check_denial "request signed by the issuer key" out/byissuer.kresp not-member

req ada kse2.kreq --product KSE --seats 2
admin issue kse2.kreq -o out --yes >/dev/null 2>"$BOX/e" || true
check_denial "KSE with 2 seats" out/kse2.kresp malformed-request

req ada noent.kreq --product KRE --seats 1
admin issue noent.kreq -o out --yes >/dev/null
check_denial "no entitlement" out/noent.kresp no-entitlement

# floating and monthly entitlements are real purchases: they import, but
# requests against them are denied with the reason and nothing is spent
t_entitle "$A" 50 KRE floating yearly
req ada floating.kreq --product KRE --seats 1
admin issue floating.kreq -o out --yes >/dev/null
check_denial "only floating" out/floating.kresp floating

t_entitle "$A" 50 KRE node-locked monthly
req ada monthly.kreq --product KRE --seats 1
admin issue monthly.kreq -o out --yes >/dev/null
check_denial "only monthly" out/monthly.kresp monthly
[ "$(nlic)" = 0 ] && pass "floating / monthly: nothing spent" || fail "licenses after floating/monthly: $(nlic)"

# an entitlement that has ended (another organization of the same vendor:
# ends tomorrow, asked 2 days later)
if faketime '+2 days' "$ADMIN" --version >/dev/null 2>&1; then
	t_org_setup "$BOX/ended" "Ended Org" 50 KRE node-locked yearly --until "$(date -u +%F)"
	"$ADMIN" --state "$BOX/ended" member add --yes --from-request ada0.kreq >/dev/null
	"$ADMIN" --state "$BOX/ended" export-key | gpg --homedir "$BOX/gnupg-verify" --batch --quiet --import 2>/dev/null
	req ada expired.kreq --product KRE --seats 1
	faketime '+2 days' "$ADMIN" --state "$BOX/ended" issue expired.kreq -o out --yes >/dev/null
	check_denial "entitlement ended" out/expired.kresp entitlement-expired
else
	echo "# skipped: faketime cannot run klic-admin here (sanitizer build?)"
fi

# --- the confirmation: not a terminal and no --yes -> usage error, nothing spent --
t_entitle "$A" 2 KRE node-locked yearly --ref PO-42
req ada two.kreq --product KRE --seats 2 --machine-hex 0123456789abcdef0123456789abcdef
before=$(t_dump "$A")
rc=0; admin issue two.kreq -o out </dev/null >/dev/null 2>"$BOX/e" || rc=$?
if [ "$rc" -eq 2 ] && grep -q -- "--yes" "$BOX/e" && grep -q "Spend\|seat" "$BOX/e" && [ ! -e out/two.kresp ] && [ "$before" = "$(t_dump "$A")" ]; then
	pass "no tty, no --yes: exit 2, plan shown, nothing spent"
else fail "confirmation refusal: rc=$rc $(cat "$BOX/e")"; fi

# --- issue 2 seats ---------------------------------------------------------------------
admin issue two.kreq -o out --yes >"$BOX/o"
grep -q "^OK   two.kreq -> out/two.kresp: issued 2 KRE seat(s) to $ADA" "$BOX/o" && pass "OK summary line" || fail "summary: $(cat "$BOX/o")"
grep -q "^issued: 1, denied: 0, re-issued: 0, errors: 0$" "$BOX/o" && pass "tally line" || fail "tally: $(cat "$BOX/o")"
MID=$(jfield <(tar xzOf two.kreq manifest.json) machine_id)
members=$(tar tzf out/two.kresp | tr '\n' ' ')
[ "$members" = "manifest.json manifest.sig KRE_${MID}.lic KRE_${MID}_2.lic " ] && pass "2 seats -> 2 licenses in seat order" || fail "members: $members"
unpack out/two.kresp "$BOX/two"
manifest_ok "$BOX/two" && pass "issued manifest verifies" || fail "issued manifest"
ok=0
for l in "$BOX/two"/*.lic; do gpg --homedir "$BOX/gnupg-verify" --batch --quiet --verify "$l" 2>/dev/null && ok=$((ok + 1)); done
[ "$ok" = 2 ] && pass "each .lic verifies with stock gpg on its own" || fail "$ok of 2 licenses verify"
[ "$(nlic)" = 2 ] && pass "ledger: 2 license rows" || fail "licenses: $(nlic)"
[ "$(admin list --json | python3 -c 'import json,sys; d=json.load(sys.stdin); print(len(d), d[0]["state"], d[0]["machine_id"], " ".join(x["issuer_fpr"] for x in d))')" = "2 active $MID $ISSUER $ISSUER" ] \
	&& pass "list --json shows the 2 active licenses" || fail "list: $(admin list)"
[ "$(admin entitlement list --json | python3 -c 'import json,sys; print([ (e["used"],e["free"]) for e in json.load(sys.stdin) if e["ref"]=="PO-42"][0])')" = "(2, 0)" ] \
	&& pass "entitlement list: 2 used, 0 free" || fail "entitlement list: $(admin entitlement list)"

grep -q "^$(admin list --machine "$(echo "$MID" | tr 'A-Z' 'a-z' | tr -d -)" | tail -n +2 | head -1 | cut -c1-32)" <(admin list --member "$ADA" | tail -n +2) \
	&& [ "$(admin list --machine "$MID" | tail -n +2 | wc -l)" = 2 ] && [ "$(admin list --member "$BOB" | tail -n +2 | wc -l)" = 0 ] \
	&& pass "list --machine (as a person types it) / --member filter" || fail "list filters"

# --- the interactive confirmation on a terminal (script(1) gives a pty) ------------------
t_entitle "$A" 1 KSE
req bob tty.kreq --product KSE --seats 1
rc=0; echo n | script -qec "$ADMIN --state $A issue tty.kreq -o out" /dev/null >"$BOX/o" 2>&1 || rc=$?
if [ "$rc" = 1 ] && grep -q "Spend 1 seat(s)? \[y/N\]" "$BOX/o" && [ ! -e out/tty.kresp ]; then pass "answering n spends nothing"
else fail "tty n: rc=$rc $(cat "$BOX/o")"; fi
rc=0; echo y | script -qec "$ADMIN --state $A issue tty.kreq -o out" /dev/null >"$BOX/o" 2>&1 || rc=$?
if [ "$rc" = 0 ] && grep -q "member bob <bob@test.invalid> ($BOB), machine .*, 1 KSE seat(s)" "$BOX/o" && [ -e out/tty.kresp ]; then pass "answering y issues"
else fail "tty y: rc=$rc $(cat "$BOX/o")"; fi

# --- no seats left ----------------------------------------------------------------
req ada three.kreq --product KRE --seats 1
admin issue three.kreq -o out --yes >/dev/null
check_denial "no free seats" out/three.kresp no-seats

# --- idempotent re-issue ------------------------------------------------------------
cp out/two.kresp two.first
n0=$(nlic); l0=$(admin list | wc -l)
admin issue two.kreq -o out --yes >"$BOX/o"
cmp -s two.first out/two.kresp && pass "re-issue gives the same bytes" || fail "re-issue bytes differ"
grep -q "re-issued" "$BOX/o" && grep -q "re-issued: 1," "$BOX/o" && pass "summary says re-issued" || fail "summary: $(cat "$BOX/o")"
[ "$(nlic)" = "$n0" ] && [ "$(admin list | wc -l)" = "$l0" ] && pass "re-issue spent nothing ($n0 licenses)" || fail "licenses after re-issue: $(nlic)"
cp out/three.kresp three.first
admin issue three.kreq -o out --yes >/dev/null
cmp -s three.first out/three.kresp && pass "a denied request gets the same denial again" || fail "denial re-issue differs"

# --- seats come back after expiry (run 61 days later) ---------------------------------
req ada later.kreq --product KRE --seats 2
if ! faketime '+61 days' "$ADMIN" --version >/dev/null 2>&1; then
	echo "# skipped: faketime cannot run klic-admin here (sanitizer build?)"
else
faketime '+61 days' "$ADMIN" --state "$A" issue later.kreq -o out --yes >"$BOX/o" 2>"$BOX/e" || true
grep -q "^OK   later.kreq" "$BOX/o" && pass "61 days later the 2 seats are free again" || fail "after expiry: $(cat "$BOX/o" "$BOX/e")"
[ "$(faketime '+61 days' "$ADMIN" --state "$A" list --active | tail -n +2 | wc -l)" = 2 ] && \
	[ "$(faketime '+61 days' "$ADMIN" --state "$A" list --expired | tail -n +2 | wc -l)" = "$(( $(nlic) - 2 ))" ] && \
	pass "list --active/--expired 61 days later" || fail "list 61 days later"
fi

# --- 60-day cap at the entitlement end ---------------------------------------------------
soon=$(date -u -d '+10 days' +%F)
t_entitle "$A" 1 KSE node-locked yearly --until "$soon"
req bob kse.kreq --product KSE --seats 1
admin issue kse.kreq -o out --yes >/dev/null
unpack out/kse.kresp "$BOX/kse"
lic=$(ls "$BOX/kse"/KSE_*.lic)
exp=$(sed -n 's/^  "expires": "\(.*\)",\{0,1\}$/\1/p' "$lic")
want="$(date -u -d "$soon +1 day" +%F)T00:00:00Z"
[ "$exp" = "$want" ] && pass "expiry capped at the entitlement end ($exp)" || fail "expires $exp, want $want"

# --- hostile or unattributable requests: error line, no output, ledger unchanged ------------
hostile() {
	local name=$1 file=$2 before after rc=0 base
	base=$(basename "$file" .kreq)
	before=$(t_dump "$A")
	admin issue "$file" -o out --yes >"$BOX/o" 2>"$BOX/e" || rc=$?
	after=$(t_dump "$A")
	if [ "$rc" -ne 1 ]; then fail "$name: exit $rc"
	elif [ -e "out/$base.kresp" ]; then fail "$name: wrote out/$base.kresp"
	elif [ "$before" != "$after" ]; then fail "$name: ledger changed"
	elif ! grep -q "^ERR  $file: " "$BOX/o" || [ "$(wc -l <"$BOX/e")" -ne 1 ]; then fail "$name: output $(cat "$BOX/o" "$BOX/e")"
	else pass "$name: $(cat "$BOX/e")"; fi
}
head -c 3000 /dev/urandom > garbage.kreq
hostile "garbage" garbage.kreq
head -c 300 two.kreq > truncated.kreq
hostile "truncated" truncated.kreq
: > empty.kreq
hostile "empty file" empty.kreq
mkdir -p uns && tar xzf two.kreq -C uns && (cd uns && tar czf ../unsigned.kreq manifest.json requester.pgp)
hostile "unsigned (no manifest.sig)" unsigned.kreq
(cd uns && head -c 64 /dev/urandom > manifest.sig && tar czf ../badsig.kreq manifest.json manifest.sig requester.pgp)
hostile "garbage signature" badsig.kreq
req eve resigned.kreq --key-home "$BOX/gnupg-ada" --product KRE
hostile "member's request re-signed by a stranger" resigned.kreq
req ada keysha.kreq --product KRE --bad-key-sha
hostile "requester_key_sha256 mismatch" keysha.kreq
req ada wrongfpr.kreq --product KRE --requester-fpr "$BOB"
hostile "requester_fpr is not the embedded key" wrongfpr.kreq
req ada crossed.kreq --product KRE --key-home "$BOX/gnupg-bob"
hostile "signed by member A, claims member B" crossed.kreq
rm -rf uns && mkdir uns && tar xzf two.kreq -C uns
(cd uns && python3 -c 'import sys; d=open("manifest.json","rb").read(); open("manifest.json","wb").write(d.replace(b"\"seats\":2", b"\"seats\":1"))' \
	&& tar czf ../edited.kreq manifest.json manifest.sig requester.pgp)
hostile "manifest edited after signing" edited.kreq
# a batch: errors do not stop the others; exit 1
req ada good.kreq --product KSE --seats 1
rc=0; admin issue garbage.kreq good.kreq -o out --yes >"$BOX/o" 2>/dev/null || rc=$?
[ "$rc" = 1 ] && grep -q "^DENY good.kreq" "$BOX/o" && grep -q "errors: 1$" "$BOX/o" && pass "batch goes on after an error, exit 1" || fail "batch: rc=$rc $(cat "$BOX/o")"

# --- the user tool, if built --------------------------------------------------------------------
if [ "$KLIC" != none ] && [ -x "$KLIC" ]; then
	H="$BOX/khome"
	if "$KLIC" --home "$H" init --name U --email u@test.invalid >/dev/null 2>&1 &&
		"$KLIC" --home "$H" request --product KRE --seats 1 -o klic.kreq >/dev/null 2>&1; then
		admin member add --yes --from-request klic.kreq >/dev/null
		t_entitle "$A" 1 KRE
		admin issue klic.kreq -o out --yes >"$BOX/o" 2>&1 || true
		grep -q "^OK   klic.kreq" "$BOX/o" && pass "a request made by klic is issued" || fail "klic request: $(cat "$BOX/o")"
	else
		echo "# skipped: klic init/request failed"
	fi
	gpgconf --homedir "$H/klic/gnupg" --kill all >/dev/null 2>&1 || true
else
	echo "# skipped: klic not built"
fi

# --- two requests that would be answered under one name: refused before anything ----------------
mkdir -p dupa dupb
req ada dupa/same.kreq --product KRE --seats 1
req ada dupb/same.kreq --product KRE --seats 1
before=$(ledger 'SELECT count(*) FROM requests')
osum=$(tree_sum "$BOX/out"); rc=0
admin issue dupa/same.kreq dupb/same.kreq -o out --yes >"$BOX/o" 2>"$BOX/e" || rc=$?
[ "$rc" = 2 ] && [ "$(wc -l <"$BOX/e")" = 1 ] && grep -q "same file name" "$BOX/e" && [ "$osum" = "$(tree_sum "$BOX/out")" ] &&
	pass "two requests answered under one file name: usage error, nothing written: $(cat "$BOX/e")" ||
	fail "duplicate output names: rc=$rc $(cat "$BOX/e")"
[ "$(ledger 'SELECT count(*) FROM requests')" = "$before" ] && pass "nothing recorded for the duplicate names" ||
	fail "duplicate names recorded something"

# --- the ledger is sound ---------------------------------------------------------------------------
[ "$(t_ledger_sound "$A")" = ok ] && pass "integrity_check ok" || fail "integrity_check"
admin audit verify >/dev/null && pass "audit chain verifies" || fail "audit verify"
[ "$(t_ledger_version "$A")" = 10 ] && pass "schema version 10" || fail "schema version $(t_ledger_version "$A")"
t_done
