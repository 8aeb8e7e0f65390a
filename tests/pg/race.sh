#!/usr/bin/env bash
# pg_race (issue 16, "Must show"): two admin workstations (two state
# folders, two issuer keys, both named in every entitlement's org_keys)
# share one PostgreSQL ledger.  ROUNDS (50) times: the vendor's entitlement
# of 3 seats is imported, then 4 admin processes (2 per key) each issue one
# 1-seat request at the same moment: exactly 3 are issued and 1 denied
# (no-seats) every round.  Afterwards every issued response verifies with
# stock gpg against the issuer key that signed it (both keys are used),
# and so does every license in it; the entitlements are used to the last
# seat and no further; `audit verify` is clean from either workstation;
# `report` and the usage export (verified by the vendor) count both sites';
# re-running every request spends nothing.
# usage: race.sh KLIC_ADMIN MKREQ KLIC   (under with_pg.sh)
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../lib.sh"
. "$HERE/pglib.sh"
. "$HERE/common.sh"

ROUNDS=${KLIC_PG_RACE_ROUNDS:-50}
ORG="Race Org"
t0=$(date +%s)
t_vendor
SA=$BOX/site-a SB=$BOX/site-b
for s in "$SA" "$SB"; do
	rc=0
	adm "$s" init --org "$ORG" --name "Admin ${s##*-}" --email "admin-${s##*-}@test.invalid" \
		--vendor "$BOX/vendor.asc" >"$s.init" 2>&1 || rc=$?
	[ "$rc" = 0 ] || { fail "init --ledger for $s: rc $rc $(cat "$s.init")"; t_done; exit 1; }
	adm "$s" export-key -o "$s.asc" >/dev/null
done
FA=$(awk '/^issuer/ {print $2}' "$SA.init") FB=$(awk '/^issuer/ {print $2}' "$SB.init")
[ -n "$FA" ] && [ -n "$FB" ] && [ "$FA" != "$FB" ] && pass "two workstations, two issuer keys, one ledger" ||
	fail "issuer keys: '$FA' '$FB'"
verify_keyring "$SA.asc" "$SB.asc"
users=(ada bob cyd dan)
for u in "${users[@]}"; do
	mkuser "$u"
	req "$u" "seed-$u.kreq" --machine-hex "$(mid $((900 + ${#u})))"
done
adm "$SA" member add --yes --from-request seed-ada.kreq >/dev/null
adm "$SA" member add --yes --from-request seed-bob.kreq >/dev/null
adm "$SB" member add --yes --from-request seed-cyd.kreq >/dev/null
adm "$SB" member add --yes --from-request seed-dan.kreq >/dev/null
[ "$(adm "$SA" member list | grep -c '@test.invalid')" = 4 ] && pass "members added at either site are seen at both" ||
	fail "member list: $(adm "$SA" member list)"

# every round's entitlement and requests, made up front
mkdir kents reqs out
rp=()
# the vendor's entitlements (one vendor, in order) alongside the requests
(for ((i = 1; i <= ROUNDS; i++)); do vendor_entitle "kents/r$i.kent" "$ORG" 3 KRE "$SA.asc" "$SB.asc"; done) &
vpid=$!
for ((i = 1; i <= ROUNDS; i++)); do
	# the four signers (four gpg-agents) at once
	for j in 0 1 2 3; do
		req "${users[j]}" "reqs/r$i-$j.kreq" --product KRE --seats 1 --machine-hex "$(mid $((i * 4 + j)))" &
		rp[j]=$!
	done
	wait "${rp[@]}"
done
wait "$vpid" || { fail "the vendor's entitlements"; t_done; exit 1; }
echo "# $ROUNDS entitlements and $((ROUNDS * 4)) requests made in $(( $(date +%s) - t0 )) s"

t1=$(date +%s)
good=0
for ((i = 1; i <= ROUNDS; i++)); do
	if [ $((i % 2)) = 0 ]; then imp=$SA; else imp=$SB; fi
	adm "$imp" entitlement import "kents/r$i.kent" >/dev/null
	pids=()
	for j in 0 1 2 3; do
		if [ "$j" -lt 2 ]; then s=$SA; else s=$SB; fi
		adm "$s" issue "reqs/r$i-$j.kreq" -o out --yes --jobs 1 >"o$j" 2>&1 &
		pids+=($!)
	done
	for p in "${pids[@]}"; do wait "$p" || true; done
	ok=$(cat o0 o1 o2 o3 | grep -c '^OK ' || true)
	deny=$(cat o0 o1 o2 o3 | grep -c '^DENY .*: no-seats:' || true)
	if [ "$ok" = 3 ] && [ "$deny" = 1 ]; then
		good=$((good + 1))
	else
		fail "round $i: ok=$ok deny=$deny: $(cat o0 o1 o2 o3 | head -c 1200)"
	fi
done
[ "$good" = "$ROUNDS" ] && pass "$ROUNDS rounds of 4 admins (2 keys) for 3 seats: exactly 3 issued and 1 denied each time ($(( $(date +%s) - t1 )) s)"

# every issued response (and each license in it) verifies, signed by one
# of the two issuer keys; both keys answered
nok=0 nbad=0 bya=0 byb=0
: >issued.list
: >signed_by.txt # license ID, the key that signed its response
for f in out/*.kresp; do
	unpack "$f" u
	grep -Eq '"status": ?"issued"' u/manifest.json || continue
	echo "$f" >>issued.list
	nok=$((nok + 1))
	who=$(gpg --homedir "$BOX/gnupg-verify" --batch --status-fd 1 --verify u/manifest.sig u/manifest.json 2>/dev/null |
		awk '/VALIDSIG/ {print $NF}')
	case $who in
	"$FA") bya=$((bya + 1)) ;;
	"$FB") byb=$((byb + 1)) ;;
	*) nbad=$((nbad + 1)); fail "$f: manifest not signed by either issuer ($who)"; continue ;;
	esac
	grep -o '"license_id": *"[0-9a-f]*"' u/manifest.json | cut -d'"' -f4 | sed "s/\$/ $who/" >>signed_by.txt
	for l in u/*.lic; do
		[ -e "$l" ] || { nbad=$((nbad + 1)); fail "$f: no license in it"; break; }
		gpg --homedir "$BOX/gnupg-verify" --batch --quiet --verify "$l" 2>/dev/null ||
			{ nbad=$((nbad + 1)); fail "$f: license $l does not verify"; }
	done
done
[ "$nok" = $((ROUNDS * 3)) ] && [ "$nbad" = 0 ] && [ "$bya" -gt 0 ] && [ "$byb" -gt 0 ] &&
	pass "$nok issued responses verify with stock gpg ($bya signed at site A, $byb at site B), each license too" ||
	fail "responses: $nok issued, $nbad bad, $bya by A, $byb by B"

seats() {
	adm "$1" entitlement list --json | "$PY" -c '
import json, sys
e = json.load(sys.stdin)
print(len(e), sum(x["seats"] for x in e), sum(x["used"] for x in e), sum(x["free"] for x in e))'
}
want="$ROUNDS $((ROUNDS * 3)) $((ROUNDS * 3)) 0"
[ "$(seats "$SA")" = "$want" ] && [ "$(seats "$SB")" = "$want" ] &&
	pass "entitlements: $want (count, seats, used, free) from both sites" || fail "seats: A $(seats "$SA") B $(seats "$SB"), want $want"
n=$(adm "$SB" list --json | "$PY" -c 'import json,sys; print(len(json.load(sys.stdin)))')
[ "$n" = $((ROUNDS * 3)) ] && pass "list from site B shows all $n licenses" || fail "list: $n licenses"
for s in "$SA" "$SB"; do
	rc=0; adm "$s" audit verify >verify.txt 2>&1 || rc=$?
	[ "$rc" = 0 ] && pass "audit verify at ${s##*/}: $(paste -sd';' verify.txt)" || fail "audit verify at ${s##*/}: rc $rc $(cat verify.txt)"
done
# the ledger says which site issued each license: the key that signed it
adm "$SA" list --json | "$PY" -c '
import json, sys
for x in json.load(sys.stdin):
    print(x["license_id"], x["issuer_fpr"])' | sort >listed_by.txt
sort signed_by.txt >signed_sorted.txt
[ "$(wc -l <signed_sorted.txt)" = $((ROUNDS * 3)) ] && cmp -s listed_by.txt signed_sorted.txt &&
	pass "list --json names, for each of the $((ROUNDS * 3)) licenses, the issuer key that signed it" ||
	fail "issuer_fpr in list --json: $(diff listed_by.txt signed_sorted.txt | head -5)"
# the report and the vendor's usage export see both sites' licenses
used=$(adm "$SA" report --json | "$PY" -c 'import json,sys; print(sum(e["used"] for e in json.load(sys.stdin)["entitlements"]))')
[ "$used" = $((ROUNDS * 3)) ] && pass "report from site A counts all $used seats used" || fail "report: $used seats used"
rc=0; adm "$SB" usage export -o race.kusage >/dev/null 2>export.txt || rc=$?
"$PY" - race.kusage >body.txt 2>&1 <<'PY' || rc=$?
import json, sys
t = open(sys.argv[1]).read()
d = json.loads(t.split("\n\n", 1)[1].split("\n-----BEGIN PGP SIGNATURE-----\n")[0])
print(len(d["licenses"]), len(d["entitlements"]), sum(a["event"] == "issued" for a in d["audit"]))
PY
rc2=0; "$(t_vendor_bin)" --state "$BOX/vendor" usage verify race.kusage >trueup.txt 2>&1 || rc2=$?
[ "$rc" = 0 ] && [ "$(cat body.txt)" = "$((ROUNDS * 3)) $ROUNDS $((ROUNDS * 3))" ] && [ "$rc2" = 0 ] &&
	[ "$(grep -c 'KRE peak 3 of 3 seats: ok$' trueup.txt)" = "$ROUNDS" ] && grep -qx "verdict: ok" trueup.txt &&
	pass "usage export from site B: $ROUNDS entitlements, $((ROUNDS * 3)) licenses and their audit rows, from both sites; the vendor's verify: ok" ||
	fail "usage export: rc $rc $(cat export.txt body.txt | head -c 400); verify rc $rc2 $(grep -v ': ok$' trueup.txt | head -c 400)"

# nothing spent twice: every request again, at the other site
issued_sums() { xargs sha256sum <issued.list; }
sum_before=$(issued_sums)
rc=0; adm "$SB" issue reqs -o out --yes --jobs 2 >again.txt 2>&1 || rc=$?
[ "$(seats "$SA")" = "$want" ] && [ "$(adm "$SA" list --json | "$PY" -c 'import json,sys; print(len(json.load(sys.stdin)))')" = $((ROUNDS * 3)) ] &&
	grep -q "^issued: 0, denied: 0, re-issued: $((ROUNDS * 4)), errors: 0" again.txt &&
	pass "every request again: $(tail -n 1 again.txt), nothing spent" ||
	fail "re-run at site B: rc $rc, $(grep -c 'not-member' again.txt) not-member lines (first: $(grep -m1 'not-member' again.txt | cut -c1-160)); $(tail -n 1 again.txt); seats $(seats "$SA")"
[ "$sum_before" = "$(issued_sums)" ] && pass "the other site answers with the stored responses, byte for byte" ||
	fail "re-issued responses differ from the first answers"
# a member added at one site is a member at the other: ada and bob were
# added at site A, cyd and dan at site B; one more seat, each site answers
# a request of a member added at the other
vendor_entitle kents/x.kent "$ORG" 2 KRE "$SA.asc" "$SB.asc"
adm "$SA" entitlement import kents/x.kent >/dev/null
req ada x-ada.kreq --product KRE --seats 1 --machine-hex "$(mid 7001)"
req cyd x-cyd.kreq --product KRE --seats 1 --machine-hex "$(mid 7002)"
mkdir outx
rc=0; adm "$SB" issue x-ada.kreq -o outx --yes >x1.txt 2>&1 || rc=$?
grep -q '^OK' x1.txt && pass "site B issues to ada, added at site A" || fail "site B, member added at site A: rc $rc $(head -n 1 x1.txt | cut -c1-200)"
rc=0; adm "$SA" issue x-cyd.kreq -o outx --yes >x2.txt 2>&1 || rc=$?
grep -q '^OK' x2.txt && pass "site A issues to cyd, added at site B" || fail "site A, member added at site B: rc $rc $(head -n 1 x2.txt | cut -c1-200)"
echo "# total $(( $(date +%s) - t0 )) s"
t_done
