#!/usr/bin/env bash
# Expiry warnings (issue 15 item 2) under faketime: klic status marks a
# valid license with 14 days left or fewer ("expires soon", --json
# expiring_soon), klic status --expiring DAYS exits 1 when a valid license
# has DAYS days left or fewer (at 10, 50 and 61 days after issue), and
# klic-admin list --expiring DAYS / report count what expires soon.
# Usage: expiry.sh KLIC KLIC_ADMIN
. "$(dirname "$0")/../lib.sh"
KLIC=$1 ADMIN=$2
A="$BOX/admin" U="$BOX/ada" W="$BOX/bob"
admin() { "$ADMIN" --state "$A" "$@"; }
cd "$BOX"
command -v faketime >/dev/null || { echo "faketime is not installed"; exit 1; }
# faketime preloads libfaketime: a --sanitize build's ASan runtime must not insist on coming first
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0"

t_org_setup "$A" "Life Org" 5
admin export-key -o issuer.asc
for h in "$U" "$W"; do
	"$KLIC" --home "$h" init --name "$(basename "$h")" --email "$(basename "$h")@test.invalid" >/dev/null
	"$KLIC" --home "$h" trust issuer.asc >/dev/null
done
# ada's license now (expires in 60 days), bob's 20 days later (in 80 days)
"$KLIC" --home "$U" request --product KRE -o ada.kreq >/dev/null
admin member add --yes --from-request ada.kreq >/dev/null
admin issue ada.kreq -o out --yes >/dev/null
"$KLIC" --home "$U" install --vendor "$BOX/vendor.asc" out/ada.kresp >/dev/null
faketime '+20 days' "$KLIC" --home "$W" request --product KRE -o bob.kreq >/dev/null
faketime '+20 days' "$ADMIN" --state "$A" member add --yes --from-request bob.kreq >/dev/null
faketime '+20 days' "$ADMIN" --state "$A" issue bob.kreq -o out --yes >/dev/null
faketime '+20 days' "$KLIC" --home "$W" install --vendor "$BOX/vendor.asc" out/bob.kresp >/dev/null
MID=$("$KLIC" --home "$U" id)
LIC="KRE_$MID.lic"

# at OFFSET CMD...: CMD at now + OFFSET (faketime; "" for now)
at() { local o=$1; shift; if [ -z "$o" ]; then "$@"; else faketime "$o" "$@"; fi; }
# status OFFSET WANT_RC ARGS...: klic status of ada's home; stdout out.txt, stderr err.txt
status() {
	local o=$1 want=$2 rc=0; shift 2
	at "$o" "$KLIC" --home "$U" status --vendor "$BOX/vendor.asc" "$@" >out.txt 2>err.txt || rc=$?
	[ "$rc" = "$want" ] && pass "${o:-now}: klic status $*: exit $rc" || fail "${o:-now}: klic status $*: exit $rc, expected $want ($(cat err.txt))"
}
# jrow KEY: the key of ada's license in out.txt (status --json)
jrow() { python3 -c 'import json,sys; print(json.dumps(json.load(open("out.txt"))["licenses"][0][sys.argv[1]]))' "$1"; }
line() { grep "^$LIC  " out.txt; }

# --- now: 60 days left ---------------------------------------------------------------
status "" 0 --expiring 14
[ ! -s err.txt ] && line | grep -Eq "^$LIC  KRE  $MID  [0-9T:-]{19}Z  60 days left  valid\$" &&
	pass "now: no mark, nothing on stderr: $(line)" || fail "now: $(line) / $(cat err.txt)"
status "" 0 --json
[ "$(jrow expiring_soon)" = false ] && [ "$(jrow days_left)" = 60 ] && pass "now: --json expiring_soon false, days_left 60" || fail "now json: $(cat out.txt)"

# --- 10 days after issue: 50 days left -------------------------------------------------
status "+10 days" 0 --expiring 14
[ ! -s err.txt ] && ! line | grep -q "expires soon" && line | grep -q "  50 days left  valid\$" && pass "+10 days: '$(line | cut -d' ' -f7-)', no mark" || fail "+10: $(line)"
status "+10 days" 1 --expiring 50
[ "$(cat err.txt)" = "klic: $U/license: 1 valid license(s) expire within 50 day(s)" ] && pass "+10 days: --expiring 50 (the boundary): $(cat err.txt)" || fail "+10 --expiring 50: $(cat err.txt)"
status "+10 days" 0 --expiring 49
status "+10 days" 0 --json
[ "$(jrow expiring_soon)" = false ] && [ "$(jrow days_left)" = 50 ] && pass "+10 days: --json expiring_soon false, days_left 50" || fail "+10 json: $(cat out.txt)"

# --- 50 days after issue: 10 days left -------------------------------------------------
status "+50 days" 1 --expiring 14
[ "$(cat err.txt)" = "klic: $U/license: 1 valid license(s) expire within 14 day(s)" ] && pass "+50 days: one stderr line: $(cat err.txt)" || fail "+50 stderr: $(cat err.txt)"
line | grep -Eq "^$LIC  KRE  $MID  [0-9T:-]{19}Z  10 days left  valid  expires soon\$" && pass "+50 days: the line is marked: $(line)" || fail "+50 line: $(cat out.txt)"
status "+50 days" 0 --expiring 9
status "+50 days" 0
line | grep -q "  expires soon\$" && [ ! -s err.txt ] && pass "+50 days: marked without --expiring too, exit 0" || fail "+50 plain: $(line) $(cat err.txt)"
status "+50 days" 1 --json --expiring 14
[ "$(jrow expiring_soon)" = true ] && [ "$(jrow days_left)" = 10 ] && [ "$(jrow valid)" = true ] && [ "$(wc -l <err.txt)" = 1 ] &&
	pass "+50 days: --json --expiring 14: exit 1, the document (expiring_soon true, days_left 10) and one stderr line" || fail "+50 json: $(cat out.txt) $(cat err.txt)"

# --- 61 days after issue: expired ---------------------------------------------------------
status "+61 days" 0 --expiring 14
[ ! -s err.txt ] && line | grep -q "expired" && ! line | grep -q "expires soon" && pass "+61 days: expired, not counted, no mark: $(line | cut -d' ' -f7-)" || fail "+61: $(line) $(cat err.txt)"
status "+61 days" 0 --expiring 365
status "+61 days" 0 --json
[ "$(jrow expiring_soon)" = false ] && [ "$(jrow valid)" = false ] && [ "$(jrow days_left)" = 0 ] && pass "+61 days: --json expiring_soon false, valid false, days_left 0" || fail "+61 json: $(cat out.txt)"

# --- usage errors: exit 2, one line, nothing on stdout ------------------------------------
for bad in 0 366 abc -1 "" 14x; do
	rc=0; "$KLIC" --home "$U" status --expiring "$bad" >out.txt 2>err.txt || rc=$?
	[ "$rc" = 2 ] && [ "$(wc -l <err.txt)" = 1 ] && [ ! -s out.txt ] && pass "status --expiring '$bad': usage error: $(cat err.txt)" || fail "--expiring '$bad': rc=$rc $(cat err.txt)"
done
rc=0; "$KLIC" --home "$U" status --expiring 3 --expiring 4 >out.txt 2>err.txt || rc=$?
[ "$rc" = 2 ] && grep -q "repeated option" err.txt && pass "status --expiring twice: $(cat err.txt)" || fail "twice: rc=$rc $(cat err.txt)"
"$KLIC" status --help | grep -q -- "--expiring DAYS" && pass "status --help documents --expiring" || fail "status --help"

# --- klic-admin list --expiring / report -------------------------------------------------------
ids() { python3 -c 'import json,sys; print(" ".join(sorted(r["machine_id"] + ":" + r["expires"][:10] for r in json.load(open(sys.argv[1])))))' "$1"; }
A_EXP=$(admin list --json | python3 -c 'import json,sys; r=json.load(sys.stdin); print(min(x["expires"] for x in r))')
B_EXP=$(admin list --json | python3 -c 'import json,sys; r=json.load(sys.stdin); print(max(x["expires"] for x in r))')
faketime '+50 days' "$ADMIN" --state "$A" list --expiring 14 --json >l14.json
faketime '+50 days' "$ADMIN" --state "$A" list --expiring 30 --json >l30.json
faketime '+50 days' "$ADMIN" --state "$A" list --expiring 9 --json >l9.json
python3 -c '
import json, sys
l14, l30, l9 = (json.load(open(f)) for f in ("l14.json", "l30.json", "l9.json"))
assert [r["expires"] for r in l14] == [sys.argv[1]], l14
assert sorted(r["expires"] for r in l30) == [sys.argv[1], sys.argv[2]], l30
assert l9 == [], l9
assert all(r["state"] == "active" for r in l30)
' "$A_EXP" "$B_EXP" && pass "+50 days: list --expiring 14 is ada's license, 30 both, 9 none" || fail "list --expiring: $(cat l14.json l30.json l9.json)"
faketime '+50 days' "$ADMIN" --state "$A" list --expiring 14 >l14.txt
[ "$(wc -l <l14.txt)" = 2 ] && grep -q "$A_EXP .*active\$" l14.txt && pass "+50 days: list --expiring 14 (text): a header and one row" || fail "list text: $(cat l14.txt)"
faketime '+61 days' "$ADMIN" --state "$A" list --expiring 365 --json >l365.json
python3 -c 'import json,sys; l=json.load(open("l365.json")); assert [r["expires"] for r in l] == [sys.argv[1]], l' "$B_EXP" &&
	pass "+61 days: list --expiring 365 leaves out the expired license" || fail "l365: $(cat l365.json)"
for bad in 0 366 x; do
	rc=0; admin list --expiring "$bad" >out.txt 2>err.txt || rc=$?
	[ "$rc" = 2 ] && [ "$(wc -l <err.txt)" = 1 ] && [ ! -s out.txt ] && pass "list --expiring '$bad': usage error" || fail "list --expiring $bad: rc=$rc $(cat err.txt)"
done
rc=0; admin list --expired --expiring 5 >out.txt 2>err.txt || rc=$?
[ "$rc" = 2 ] && [ "$(cat err.txt)" = "klic-admin: list: --expiring lists active licenses, not --expired (see 'klic-admin list --help')" ] &&
	pass "list --expired --expiring: $(cat err.txt)" || fail "--expired --expiring: rc=$rc $(cat err.txt)"

faketime '+50 days' "$ADMIN" --state "$A" report --json >r50.json
faketime '+10 days' "$ADMIN" --state "$A" report --json >r10.json
python3 -c '
import json
r50, r10 = (json.load(open(f))["entitlements"][0] for f in ("r50.json", "r10.json"))
assert (r50["expiring_7d"], r50["expiring_14d"], r50["expiring_30d"], r50["used"]) == (0, 1, 2, 2), r50
assert (r10["expiring_7d"], r10["expiring_14d"], r10["expiring_30d"], r10["used"]) == (0, 0, 0, 2), r10
' && pass "report --json: expiring_14d 1 at +50 days (7d 0, 30d 2), 0 at +10 days" || fail "report: $(cat r50.json)"
faketime '+50 days' "$ADMIN" --state "$A" report >r50.txt
head -2 r50.txt | tail -1 | grep -q " EXP<=7D EXP<=14D EXP<=30D " && awk 'NR == 3 {exit !($8 == 0 && $9 == 1 && $10 == 2)}' r50.txt &&
	pass "report (text): EXP<=14D column, 0 / 1 / 2" || fail "report text: $(cat r50.txt)"
t_done
