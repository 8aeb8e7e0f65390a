#!/usr/bin/env bash
# Two klic-admin processes race for the last seat, 20 times: exactly one
# gets it every time; the ledger stays consistent.
# usage: race.sh KLIC_ADMIN MKREQ [KLIC|none]
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/common.sh"

t_org_setup "$A" "Race Org"
mkuser ada; mkuser bob
req ada seed.kreq --product KRE; admin member add --yes --from-request seed.kreq >/dev/null
req bob seed2.kreq --product KRE; admin member add --yes --from-request seed2.kreq >/dev/null
far=$(date -u -d '+400 days' +%F)
ROUNDS=${ROUNDS:-20}
good=0
for ((i = 1; i <= ROUNDS; i++)); do
	# one more seat in the pool: exactly one free seat for this round
	t_entitle "$A" 1 KRE node-locked yearly --until "$far"
	req ada "a$i.kreq" --product KRE
	req bob "b$i.kreq" --product KRE
	"$ADMIN" --state "$A" issue "a$i.kreq" -o out --yes --jobs 1 >"$BOX/oa" 2>&1 &
	pa=$!
	"$ADMIN" --state "$A" issue "b$i.kreq" -o out --yes --jobs 1 >"$BOX/ob" 2>&1 &
	pb=$!
	wait $pa || true
	wait $pb || true
	ok=$(cat "$BOX/oa" "$BOX/ob" | grep -c '^OK ' || true)
	deny=$(cat "$BOX/oa" "$BOX/ob" | grep -c '^DENY .*: no-seats:' || true)
	if [ "$ok" = 1 ] && [ "$deny" = 1 ] && [ "$(nlic)" = "$i" ]; then
		good=$((good + 1))
	else
		fail "round $i: ok=$ok deny=$deny licenses=$(nlic): $(cat "$BOX/oa" "$BOX/ob")"
	fi
done
[ "$good" = "$ROUNDS" ] && pass "$ROUNDS rounds: exactly one of two racers got the last seat" || true
over=$(ledger 'SELECT count(*) FROM entitlements e WHERE (SELECT count(*) FROM licenses l WHERE l.entitlement_id = e.id) > e.seats')
[ "$over" = 0 ] && pass "no entitlement over-spent" || fail "$over entitlements over-spent"
[ "$(t_ledger_sound "$A")" = ok ] && pass "integrity_check ok" || fail "integrity_check"
admin audit verify >/dev/null && pass "audit chain verifies" || fail "audit verify"
t_done
