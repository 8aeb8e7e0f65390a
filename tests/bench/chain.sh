#!/usr/bin/env bash
# Issue 14's bench: a folder of 64 license files from one response costs at
# most 2x one file (identical bytes are verified once), and the chain check
# against one raw gpg --verify.  A measurement printing ratios from the same
# run, never a timed test.
# usage: chain.sh KLIC KLIC_ADMIN BENCH_CHAIN [ROUNDS]   (KLIC_VENDOR in the environment)
. "$(dirname "$0")/../lib.sh"
KLIC=$1 ADMIN=$2 BENCH=$3 ROUNDS=${4:-5}
A="$BOX/admin"; U="$BOX/home"
admin() { "$ADMIN" --state "$A" "$@"; }
user() { "$KLIC" --home "$U" "$@"; }
cd "$BOX"
t_org_setup "$A" "Bench Org" 64
admin export-key -o issuer.asc
user init --name B --email b@test.invalid >/dev/null
user trust issuer.asc >/dev/null
user request --product KRE --seats 64 -o b.kreq >/dev/null
admin member add --yes --from-request b.kreq >/dev/null
admin issue b.kreq -o outbox --yes >/dev/null
user install --vendor "$BOX/vendor.asc" outbox/b.kresp >/dev/null
MID=$(user id)
n=$(ls "$U/license" | wc -l)
[ "$n" = 64 ] && pass "64 license files of one response installed" || fail "$n license files"
# the raw gpg's keyring: the issuer key only
mkdir -m 700 "$BOX/gpg-raw"
gpg --homedir "$BOX/gpg-raw" --batch --quiet --import issuer.asc 2>/dev/null
gpgconf --homedir "$BOX/gpg-raw" --kill all 2>/dev/null || true
if KLIC_HOME="$U" "$BENCH" "$BOX/vendor.asc" "$U/license/KRE_${MID}.lic" "$U/license" "$BOX/gpg-raw" "$ROUNDS" >"$BOX/bench.txt" 2>&1; then
	pass "bench ran ($ROUNDS rounds)"
	sed 's/^/#   /' "$BOX/bench.txt"
else
	fail "bench: $(cat "$BOX/bench.txt")"
fi
gpgconf --homedir "$BOX/gpg-raw" --kill all 2>/dev/null || true
t_done
