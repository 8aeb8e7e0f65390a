#!/usr/bin/env bash
# Issue 15 item 1: a renewal spends no seat (spec 3.3 "renews", 5.3.4, 5.4,
# spec/ledger-7.sql, 3.7 / 5.10 for the vendor's true-up).
# Usage: lifecycle.sh KLIC KLIC_ADMIN MKREQ   (KLIC_VENDOR from ctest)
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../user/common.sh"
KLIC=$1 ADMIN=$2 MKREQ=$3
t_engine_admin # KLIC_TEST_ENGINE=pg: $ADMIN on PostgreSQL (../lib.sh)
A="$BOX/admin" U="$BOX/user"
admin() { "$ADMIN" --state "$A" "$@"; }
user() { "$KLIC" --home "$U" "$@"; }
ledger() { t_sql "$A" "$1"; }
# at DAYS CMD...: CMD under faketime, DAYS days from now
at() { local d=$1; shift; faketime "+$d days" "$@"; }
# seats DAYS: "used free" of the one KRE entitlement, DAYS days from now
seats() {
	at "$1" "$ADMIN" --state "$A" entitlement list --json |
		python3 -c 'import json,sys; e=json.load(sys.stdin)[0]; print(e["used"], e["free"])'
}
jget() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2"; }
# resp_field FILE.kresp KEY: a field of the response manifest
resp_field() {
	rm -rf "$BOX/unp" && mkdir "$BOX/unp" && tar xzf "$1" -C "$BOX/unp" && jget "$BOX/unp/manifest.json" "$2"
}
# expect_denial NAME FILE.kresp CODE [TEXT]: a signed denial with that code
expect_denial() {
	local code reason
	code=$(resp_field "$2" reason_code 2>/dev/null || echo "?")
	reason=$(jget "$BOX/unp/manifest.json" reason 2>/dev/null || echo "?")
	if [ "$(resp_field "$2" status 2>/dev/null)" = denied ] && [ "$code" = "$3" ] &&
		{ [ -z "${4:-}" ] || [[ "$reason" == *"$4"* ]]; }; then
		pass "$1: denied $code: $reason"
	else
		fail "$1: expected denial $3 ${4:-}, got $code: $reason"
	fi
}
cd "$BOX"
VKEY="$BOX/vendor.asc"

# ---- an organization with 5 KRE seats; Ada's machine holds 2 of them -----
t_org_setup "$A" "Test Org" 5
admin export-key -o issuer.asc >/dev/null
user init --name Ada --email ada@test.invalid >/dev/null
user trust issuer.asc >/dev/null
user request --product KRE --seats 2 -o ada.kreq >/dev/null
admin member add --yes --from-request ada.kreq >/dev/null
admin issue ada.kreq -o outbox --yes >/dev/null
user install --vendor "$VKEY" outbox/ada.kresp >/dev/null
MID=$(user id)
L="$U/license"
L1="$L/KRE_$MID.lic" L2="$L/KRE_${MID}_2.lic"
OLD=$(ledger "SELECT license_id FROM licenses ORDER BY license_id" | paste -sd, -)
OLD_EXP=$(ledger "SELECT max(expires) FROM licenses")
[ "$(seats 0)" = "2 3" ] && pass "2 of 5 seats used after the first issue" || fail "seats: $(seats 0)"

# ---- the user side: what --renew refuses, before anything is written -------
expect_usage user request --renew --seats 2 --product KRE
expect_usage user request --renew
before=$(tree_sum "$U"; ls "$BOX")
rc=0; user request --renew --product KSE -o none.kreq >out.txt 2>err.txt || rc=$?
after=$(tree_sum "$U"; ls "$BOX" | grep -v -e '^out.txt$' -e '^err.txt$')
before=$(echo "$before" | grep -v -e '^out.txt$' -e '^err.txt$')
if [ "$rc" = 1 ] && [ "$(wc -l <err.txt)" = 1 ] && grep -qF "klic: $L: no valid KSE license of this machine to renew" err.txt &&
	[ "$before" = "$after" ] && [ ! -e none.kreq ]; then
	pass "nothing to renew: exit 1, $(cat err.txt), nothing written"
else
	fail "nothing to renew: rc $rc: $(cat err.txt)"
fi
cp "$L1" broken.lic
flip broken.lic 300
expect_fail_file "renew a broken license file" "$U" broken.lic user request --renew broken.lic -o b.kreq
[ ! -e b.kreq ] && pass "no request written for a broken license" || fail "b.kreq written"
expect_fail_file "renew a KRE file as KSE" "$U" "$L1" user request --renew --product KSE "$L1" -o b.kreq

# ---- 30 days after issue: too early, denied with the date ------------------
at 30 "$KLIC" --home "$U" request --renew --product KRE -o early.kreq >early.out
grep -c '^renews ' early.out | grep -qx 2 && pass "request --renew names both licenses: $(grep '^renews' early.out | head -1)" || fail "early.out: $(cat early.out)"
PEND=$(ls "$U/klic/pending" | wc -l)
[ "$PEND" = 2 ] && pass "the renewal request is pending like any request" || fail "pending: $PEND"
FROM=$(date -u -d "@$((OLD_EXP - 14 * 86400))" +%F)
n0=$(ledger "SELECT count(*) FROM licenses")
at 30 "$ADMIN" --state "$A" issue early.kreq -o outbox >/dev/null
expect_denial "30 days after issue" outbox/early.kresp renewal-too-early "renewal possible from $FROM"
[ "$(ledger "SELECT count(*) FROM licenses")" = "$n0" ] && [ "$(seats 30)" = "2 3" ] &&
	pass "the early denial spends nothing (2 used, 3 free)" || fail "early denial spent: $(seats 30)"
expect_fail_file "install the early denial" "$L" outbox/early.kresp at 30 "$KLIC" --home "$U" install outbox/early.kresp

# ---- inside the window (day 50 of 60): renewed, no seat spent ---------------
at 50 "$KLIC" --home "$U" request --renew --product KRE -o renew.kreq >/dev/null
RDIG=$(sha256sum < <(tar xzOf renew.kreq manifest.json) | cut -c1-64)
python3 -c 'import json,sys; m=json.loads(open(sys.argv[1]).read()); print(",".join(m["renews"]), m["seats"])' \
	<(tar xzOf renew.kreq manifest.json) >renews.txt
[ "$(cat renews.txt)" = "$OLD 2" ] && pass "the manifest's renews: the two license IDs, ascending, seats 2" || fail "renews: $(cat renews.txt) vs $OLD"
[ "$(seats 50)" = "2 3" ] || fail "seats before renewal: $(seats 50)"
at 50 "$ADMIN" --state "$A" issue renew.kreq -o outbox >issue.out
grep -q "^OK   renew.kreq -> outbox/renew.kresp: renewed 2 KRE license(s) of [0-9A-F]\{40\} machine $(user id) (no new seat)$" issue.out &&
	pass "renewal issued without --yes (it spends no seat), the line says renewed: $(head -1 issue.out)" || fail "issue: $(cat issue.out)"
[ "$(seats 50)" = "2 3" ] && pass "inside the window: 2 used, 3 free before and after" || fail "seats after renewal: $(seats 50)"
[ "$(ledger "SELECT count(*) FROM license_ends WHERE reason = 'renewed' AND by_digest = '$RDIG'")" = 2 ] &&
	pass "the ledger ends both old licenses, by the renewal" || fail "license_ends: $(ledger 'SELECT * FROM license_ends')"
[ "$(ledger "SELECT count(*) FROM audit WHERE event = 'renewed' AND digest = '$RDIG'")" = 2 ] &&
	pass "two 'renewed' audit rows: $(ledger "SELECT detail FROM audit WHERE event = 'renewed' LIMIT 1")" || fail "audit renewed rows"
# same file names, new license IDs, same entitlement
NEWIDS=$(ledger "SELECT license_id FROM licenses WHERE request_digest = '$RDIG' ORDER BY license_id" | paste -sd, -)
NEWFILES=$(ledger "SELECT file FROM licenses WHERE request_digest = '$RDIG' ORDER BY file" | paste -sd, -)
[ -n "$NEWFILES" ] && [ "$NEWFILES" = "$(ledger "SELECT file FROM licenses WHERE license_id IN ('${OLD//,/\',\'}') ORDER BY file" | paste -sd, -)" ] &&
	[ -n "$NEWIDS" ] && [ "$NEWIDS" != "$OLD" ] && pass "the new licenses keep the file names, with new IDs" || fail "names/IDs"
NEW_EXP=$(ledger "SELECT max(expires) FROM licenses WHERE request_digest = '$RDIG'")
NEW_ISS=$(ledger "SELECT max(issued) FROM licenses WHERE request_digest = '$RDIG'")
[ "$((NEW_EXP - NEW_ISS))" = $((60 * 86400)) ] && pass "the new licenses run 60 days from the renewal" || fail "expiry $NEW_EXP - $NEW_ISS"
at 50 "$ADMIN" --state "$A" list >list.txt
[ "$(grep -c ' renewed$' list.txt)" = 2 ] && [ "$(grep -c ' active$' list.txt)" = 2 ] &&
	pass "list: 2 renewed, 2 active" || fail "list: $(cat list.txt)"
at 50 "$ADMIN" --state "$A" audit verify >verify.txt && grep -q "seat counters ok" verify.txt &&
	pass "audit verify recounts the seats: $(grep 'seat counters' verify.txt)" || fail "audit verify: $(cat verify.txt)"

# ---- install: the renewed files replace the old ones ------------------------
s1=$(sha256sum <"$L1") s2=$(sha256sum <"$L2")
at 50 "$KLIC" --home "$U" install --vendor "$VKEY" outbox/renew.kresp >/dev/null && pass "install of the renewal" || fail "install renewal"
[ "$(ls "$L" | wc -l)" = 2 ] && [ "$(sha256sum <"$L1")" != "$s1" ] && [ "$(sha256sum <"$L2")" != "$s2" ] &&
	pass "both files replaced under the same names" || fail "files: $(ls "$L")"
NEWX=$(date -u -d "@$NEW_EXP" +%FT%TZ)
at 50 "$KLIC" --home "$U" status --vendor "$VKEY" >status.txt
[ "$(grep -c "$NEWX  60 days left  valid" status.txt)" = 2 ] && pass "status shows the new expiry $NEWX" || fail "status: $(cat status.txt)"
# the old files cannot come back over the renewed ones (they expire earlier)
at 50 "$KLIC" --home "$U" install outbox/renew.kresp >/dev/null && pass "installing the renewal again changes nothing" || fail "re-install"

# ---- replay: the same request digest gets its stored response ---------------
cp outbox/renew.kresp first.kresp
n0=$(ledger "SELECT count(*) FROM licenses"); a0=$(ledger "SELECT count(*) FROM audit WHERE event = 'renewed'")
at 51 "$ADMIN" --state "$A" issue renew.kreq -o outbox >replay.out
cmp -s first.kresp outbox/renew.kresp && [ "$(ledger "SELECT count(*) FROM licenses")" = "$n0" ] &&
	[ "$(ledger "SELECT count(*) FROM audit WHERE event = 'renewed'")" = "$a0" ] && [ "$(seats 51)" = "2 3" ] &&
	grep -q "re-issued: 1" replay.out && grep -q "^OK   renew.kreq -> outbox/renew.kresp: re-issued renewal of 2 KRE license(s) of .* (stored response, nothing spent)$" replay.out && pass "replay: the stored response, nothing spent ($(tail -1 replay.out))" || fail "replay: $(cat replay.out)"

# ---- renewed twice: the old licenses are no longer active ---------------------
at 51 "$ADMIN" --state "$A" issue early.kreq -o outbox >/dev/null
expect_denial "the old licenses renewed a second time" outbox/early.kresp renewal-inactive "already renewed"

# ---- other members, machines, unknown IDs (requests made with mkreq) ------------
mkdir -m 700 gnupg-bob
gpg --homedir gnupg-bob --batch --quiet --pinentry-mode loopback --passphrase '' \
	--quick-gen-key "Bob <bob@test.invalid>" ed25519 sign never 2>/dev/null
"$MKREQ" --signer-home gnupg-bob -o bob0.kreq >/dev/null
admin member add --yes --from-request bob0.kreq >/dev/null
FIRST=${NEWIDS%%,*}
HEXID=$(cat /etc/machine-id 2>/dev/null || cat /var/lib/dbus/machine-id)
"$MKREQ" --signer-home gnupg-bob --machine-hex "$HEXID" --renews "$FIRST" -o bob.kreq >/dev/null
"$MKREQ" --signer-home "$U/klic/gnupg" --machine-hex 0123456789abcdef0123456789abcdef --renews "$FIRST" -o other.kreq >/dev/null
"$MKREQ" --signer-home "$U/klic/gnupg" --machine-hex "$HEXID" --renews 0123456789abcdef0123456789abcdef -o unknown.kreq >/dev/null
n0=$(ledger "SELECT count(*) FROM licenses"); e0=$(ledger "SELECT count(*) FROM license_ends")
at 55 "$ADMIN" --state "$A" issue bob.kreq other.kreq unknown.kreq -o outbox >/dev/null || true
expect_denial "another member's license" outbox/bob.kresp renewal-not-yours "another member"
expect_denial "another machine's license" outbox/other.kresp renewal-not-yours "another machine"
expect_denial "an unknown license ID" outbox/unknown.kresp renewal-unknown "0123456789abcdef0123456789abcdef"
[ "$(ledger "SELECT count(*) FROM licenses")" = "$n0" ] && [ "$(ledger "SELECT count(*) FROM license_ends")" = "$e0" ] &&
	[ "$(seats 55)" = "2 3" ] && pass "the denials spend and end nothing" || fail "denials changed the ledger"
# a renews array out of order is not a well-formed request: error line, no output
IFS=, read -r x y <<<"$NEWIDS"
"$MKREQ" --signer-home "$U/klic/gnupg" --machine-hex "$HEXID" --seats 2 --renews "$y,$x" -o unsorted.kreq >/dev/null
before=$(tree_sum "$A"; ls outbox)
rc=0; at 55 "$ADMIN" --state "$A" issue unsorted.kreq -o outbox >out.txt 2>err.txt || rc=$?
[ "$rc" != 0 ] && grep -q 'unsorted.kreq.*renews' err.txt && [ ! -e outbox/unsorted.kresp ] &&
	[ "$before" = "$(tree_sum "$A"; ls outbox)" ] && pass "renews out of order: exit $rc, $(grep unsorted err.txt | head -1), nothing recorded" ||
	fail "unsorted: rc $rc $(cat err.txt)"

# ---- the renewal window: klic-admin policy --renew-window -------------------------
out=$(admin policy) && [ "$out" = "renew-window 14 days" ] && pass "policy: $out (the default)" || fail "policy: $out"
for bad in 0 60 abc; do
	before=$(tree_sum "$A")
	rc=0; admin policy --renew-window "$bad" >out.txt 2>err.txt || rc=$?
	[ "$rc" = 2 ] && [ "$(wc -l <err.txt)" = 1 ] && [ "$before" = "$(tree_sum "$A")" ] &&
		pass "policy --renew-window $bad: exit 2, $(cat err.txt)" || fail "policy $bad: rc $rc $(cat err.txt)"
done
# 5 days after the renewal the new licenses have 55 days left: too early with 14 ...
at 55 "$KLIC" --home "$U" request --renew --product KRE -o again.kreq >/dev/null
at 55 "$ADMIN" --state "$A" issue again.kreq -o outbox >/dev/null
expect_denial "renewing 55 days before expiry (window 14)" outbox/again.kresp renewal-too-early "renewal possible from $(date -u -d "@$((NEW_EXP - 14 * 86400))" +%F)"
# ... and granted once the window is 59 days (the same request, decided afresh)
p0=$(ledger "SELECT count(*) FROM audit WHERE event = 'policy'")
out=$(admin policy --renew-window 59)
[ "$out" = "renew-window 59 days (changed)" ] && [ "$(ledger "SELECT count(*) FROM audit WHERE event = 'policy'")" = $((p0 + 1)) ] &&
	pass "policy --renew-window 59: $out, audited: $(ledger "SELECT detail FROM audit WHERE event = 'policy'")" || fail "policy set: $out"
out=$(admin policy --renew-window 59)
[ "$out" = "renew-window 59 days (unchanged)" ] && [ "$(ledger "SELECT count(*) FROM audit WHERE event = 'policy'")" = $((p0 + 1)) ] &&
	pass "the same window again: $out, nothing audited" || fail "policy again: $out"
at 55 "$ADMIN" --state "$A" issue again.kreq -o outbox >/dev/null
[ "$(resp_field outbox/again.kresp status)" = issued ] && [ "$(seats 55)" = "2 3" ] &&
	pass "with the 59-day window the same request is renewed, still 2 used, 3 free" || fail "window 59: $(resp_field outbox/again.kresp status) $(seats 55)"
at 55 "$KLIC" --home "$U" install --vendor "$VKEY" outbox/again.kresp >/dev/null && pass "the second renewal installs" || fail "install again.kresp"
admin policy --renew-window 14 >/dev/null

# ---- the vendor's true-up: a renewal is no over-issue --------------------------
V=$(t_vendor_bin)
at 56 "$ADMIN" --state "$A" usage export -o org.kusage >/dev/null
python3 - org.kusage "$OLD" "$NEWIDS" >ended.txt <<'PY' || true
import json, sys
t = open(sys.argv[1]).read()
body = t.split("\n\n", 1)[1].split("\n-----BEGIN PGP SIGNATURE-----")[0]
lics = {l["license_id"]: l for l in json.loads(body)["licenses"]}
old, new = sys.argv[2].split(","), sys.argv[3].split(",")
ok = all(lics[i]["state"] == "renewed" and lics[i]["ended"] == lics[new[0]]["issued"] for i in old)
ok = ok and all(lics[i]["state"] == "renewed" and lics[i]["ended"] is not None for i in new)
cur = [l for l in lics.values() if l["license_id"] not in old + new]
ok = ok and len(cur) == 2 and all(l["state"] == "active" and l["ended"] is None for l in cur)
print("ok" if ok else "bad")
PY
[ "$(cat ended.txt)" = ok ] && pass "usage export: 4 renewed licenses carry when they ended, the 2 current ones null" || fail "export ended: $(cat ended.txt)"
rc=0; at 56 "$V" --state "${T_VENDOR:-$BOX/vendor}" usage verify org.kusage >trueup.txt 2>&1 || rc=$?
[ "$rc" = 0 ] && grep -q "peak 2 of 5 seats: ok" trueup.txt && [ "$(grep -c FLAGGED trueup.txt)" = 0 ] &&
	pass "vendor usage verify is clean after two renewals (one decided again after a denial): $(grep peak trueup.txt)" || fail "usage verify: rc $rc $(cat trueup.txt)"
# an end the ledger cannot account for (written into the ledger by hand) is flagged
t_state_copy "$A" "$BOX/a2"
CUR=$(ledger "SELECT license_id FROM licenses x WHERE NOT EXISTS (SELECT 1 FROM license_ends d WHERE d.license_id = x.license_id) LIMIT 1")
t_sql "$BOX/a2" "INSERT INTO license_ends VALUES ('$CUR', $(($(date +%s) + 56 * 86400)), 'renewed', '$RDIG')"
at 57 "$ADMIN" --state "$BOX/a2" usage export -o forged.kusage >/dev/null
rc=0; at 57 "$V" --state "${T_VENDOR:-$BOX/vendor}" usage verify forged.kusage >forged.txt 2>&1 || rc=$?
[ "$rc" = 1 ] && grep -q "license $CUR .*ended early, unaudited: no 'renewed' audit row names it" forged.txt &&
	pass "an end without its 'renewed' audit row is flagged: $(grep "$CUR" forged.txt | head -1)" || fail "forged end: rc $rc $(cat forged.txt)"

t_done
