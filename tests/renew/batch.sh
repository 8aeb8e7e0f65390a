#!/usr/bin/env bash
# Issue 15 item 1: a lab's stick of renewals, one command: 50 machines
# (simulated by klic_test_mkreq's --machine-hex) hold a license each; 50
# days later (faketime) their 50 renewal requests are answered by one
# klic-admin issue run: all renewed, no seat spent, the ledger's counters
# and the vendor's true-up agree.
# Usage: batch.sh KLIC_ADMIN MKREQ   (KLIC_VENDOR from ctest)
. "$(dirname "$0")/../lib.sh"
ADMIN=$1 MKREQ=$2
A="$BOX/admin"
N=50
admin() { "$ADMIN" --state "$A" "$@"; }
ledger() { sqlite3 "$A/ledger.sqlite" "$@"; }
at() { local d=$1; shift; faketime "+$d days" "$@"; }
seats() {
	at "$1" "$ADMIN" --state "$A" entitlement list --json |
		python3 -c 'import json,sys; e=json.load(sys.stdin)[0]; print(e["used"], e["free"])'
}
cd "$BOX"
t_org_setup "$A" "Lab Org" $N # every seat taken: a renewal needs none free
mkdir -m 700 gnupg-lab
gpg --homedir gnupg-lab --batch --quiet --pinentry-mode loopback --passphrase '' \
	--quick-gen-key "Lab <lab@test.invalid>" ed25519 sign never 2>/dev/null
"$MKREQ" --signer-home gnupg-lab -o first.kreq >/dev/null
admin member add --yes --from-request first.kreq >/dev/null
mkdir stick1 stick2 out1 out2
for i in $(seq 1 $N); do
	"$MKREQ" --signer-home gnupg-lab --machine-hex "$(printf '%032x' "$i")" -o "stick1/m$i.kreq" >/dev/null
done
admin issue stick1 -o out1 --yes --jobs 2 >issue1.txt
[ "$(grep -c '^OK' issue1.txt)" = $N ] && [ "$(seats 0)" = "$N 0" ] &&
	pass "$N machines hold one license each: $(tail -1 issue1.txt)" || fail "first issue: $(tail -3 issue1.txt) $(seats 0)"

# 50 days later: each machine asks to renew its license (one request each)
for i in $(seq 1 $N); do
	mid=$(tar xzOf "out1/m$i.kresp" manifest.json | python3 -c 'import json,sys; m=json.load(sys.stdin); print(m["licenses"][0]["license_id"])')
	at 50 "$MKREQ" --signer-home gnupg-lab --machine-hex "$(printf '%032x' "$i")" --renews "$mid" -o "stick2/m$i.kreq" >/dev/null
done
n0=$(ledger "SELECT count(*) FROM licenses")
[ "$(seats 50)" = "$N 0" ] || fail "seats before the batch: $(seats 50)"
start=$(date +%s)
rc=0; at 50 "$ADMIN" --state "$A" issue stick2 -o out2 --jobs 2 >issue2.txt 2>err2.txt || rc=$?
[ "$rc" = 0 ] && [ "$(grep -c '^OK' issue2.txt)" = $N ] &&
	pass "one issue run renews $N machines without --yes in $(( $(date +%s) - start )) s: $(tail -1 issue2.txt)" || fail "batch: rc $rc $(tail -3 issue2.txt) $(cat err2.txt)"
[ "$(seats 50)" = "$N 0" ] && pass "no seat spent: $N used, 0 free (every seat taken) before and after" || fail "seats after: $(seats 50)"
[ "$(ledger "SELECT count(*) FROM licenses")" = $((n0 + N)) ] &&
	[ "$(ledger "SELECT count(*) FROM license_ends WHERE reason = 'renewed'")" = $N ] &&
	[ "$(ledger "SELECT count(*) FROM audit WHERE event = 'renewed'")" = $N ] &&
	pass "$N new licenses, $N ended, $N 'renewed' audit rows" || fail "ledger rows"
# each machine got its own license back under the same name
bad=0
for i in $(seq 1 $N); do
	a=$(tar xzOf "out1/m$i.kresp" manifest.json | python3 -c 'import json,sys; m=json.load(sys.stdin); print(m["machine_id"], m["licenses"][0]["file"])')
	b=$(tar xzOf "out2/m$i.kresp" manifest.json | python3 -c 'import json,sys; m=json.load(sys.stdin); print(m["machine_id"], m["licenses"][0]["file"], m["status"])')
	[ "$b" = "$a issued" ] || bad=$((bad + 1))
done
[ "$bad" = 0 ] && pass "every renewal answers its machine, under the file name it had" || fail "$bad responses differ"
at 50 "$ADMIN" --state "$A" audit verify >verify.txt && grep -q "seat counters ok" verify.txt &&
	pass "audit verify: $(paste -sd';' verify.txt)" || fail "audit verify: $(cat verify.txt)"
# the same stick again: stored responses, nothing spent
at 51 "$ADMIN" --state "$A" issue stick2 -o out2 --jobs 2 >issue3.txt
grep -q "re-issued: $N" issue3.txt && [ "$(ledger "SELECT count(*) FROM licenses")" = $((n0 + N)) ] &&
	[ "$(seats 51)" = "$N 0" ] && pass "the stick again: $(tail -1 issue3.txt), nothing spent" || fail "replay: $(tail -1 issue3.txt)"
# the vendor: no over-issue, nothing flagged
at 52 "$ADMIN" --state "$A" usage export -o lab.kusage >/dev/null
rc=0; at 52 "$(t_vendor_bin)" --state "${T_VENDOR:-$BOX/vendor}" usage verify lab.kusage >trueup.txt 2>&1 || rc=$?
[ "$rc" = 0 ] && grep -q "peak $N of $N seats: ok" trueup.txt && ! grep -q FLAGGED trueup.txt &&
	pass "vendor usage verify: $(grep peak trueup.txt)" || fail "usage verify: rc $rc $(cat trueup.txt)"
t_done
