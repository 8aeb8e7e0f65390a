#!/usr/bin/env bash
# Another machine, simulated with a mount namespace that bind-mounts another
# /etc/machine-id (root + unshare -m).  Exits 77 (ctest: skipped) when that
# is not permitted.  Usage: machine.sh KLIC KLIC_ADMIN
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/common.sh"
KLIC=$1 ADMIN=$2
if ! can_unshare || ! unshare -m --propagation private bash -c 'mount --bind /dev/null /etc/machine-id' 2>/dev/null; then
	echo "# SKIP: needs root, unshare -m and mount --bind"
	exit 77
fi
A="$BOX/admin"; U="$BOX/user"
admin() { "$ADMIN" --state "$A" "$@"; }
user() { "$KLIC" --home "$U" "$@"; }
cd "$BOX"
echo 0123456789abcdef0123456789abcdef > other-id
printf '0123456789ABCDEF0123456789ABCDEF\n' > upper-id
: > empty-id

MID=$(user id)
OTHER=$(on_machine "$BOX/other-id" "$KLIC" id)
[ -n "$OTHER" ] && [ "$OTHER" != "$MID" ] && pass "another machine-id gives another ID ($OTHER)" || fail "ID: $OTHER"
[ "$(on_machine "$BOX/other-id" "$KLIC" id)" = "$OTHER" ] && pass "the ID is stable" || fail "unstable ID"
if [ -e /var/lib/dbus/machine-id ]; then
	echo "# /var/lib/dbus/machine-id exists: the fallback hides a broken /etc/machine-id"
else
	rc=0; on_machine "$BOX/upper-id" "$KLIC" id >/dev/null 2>"$BOX/err.txt" || rc=$?
	[ "$rc" -eq 1 ] && [ "$(wc -l < "$BOX/err.txt")" -eq 1 ] && pass "upper-case machine-id refused: $(cat "$BOX/err.txt")" || fail "upper-case: rc $rc"
	rc=0; on_machine "$BOX/empty-id" "$KLIC" id >/dev/null 2>&1 || rc=$?
	[ "$rc" -eq 1 ] && pass "empty machine-id refused" || fail "empty: rc $rc"
fi

t_org_setup "$A" "Test Org" 5
VKEY="$BOX/vendor.asc"
admin export-key -o issuer.asc
user init --name Ada --email ada@test.invalid >/dev/null
user trust issuer.asc >/dev/null
user request --product KRE -o ada.kreq >/dev/null
admin member add --yes --from-request ada.kreq >/dev/null
admin issue ada.kreq -o outbox --yes >/dev/null
mkdir -p "$U/license"; L="$U/license"
expect_fail_file "install on another machine (same home)" "$L" outbox/ada.kresp on_machine "$BOX/other-id" "$KLIC" --home "$U" install outbox/ada.kresp
expect_msg "another machine: message" "made for another machine"
# a request made on the other machine cannot be answered for this one
on_machine "$BOX/other-id" "$KLIC" --home "$U" request --product KRE -o other.kreq >/dev/null
admin issue other.kreq -o outbox --yes >/dev/null
expect_fail_file "response to the other machine's request, installed here" "$L" outbox/other.kresp user install outbox/other.kresp
user install --vendor "$VKEY" outbox/ada.kresp >/dev/null && pass "installs on its own machine" || fail "install"
expect_fail_file "verify on another machine" "$L" "$L/KRE_${MID}.lic" on_machine "$BOX/other-id" "$KLIC" --home "$U" verify --vendor "$VKEY" "$L/KRE_${MID}.lic"
out=$(on_machine "$BOX/other-id" "$KLIC" --home "$U" status --vendor "$VKEY")
echo "$out" | grep -q "other machine: license is for $MID" && pass "status on another machine: other machine" || fail "status: $out"
t_done
