#!/usr/bin/env bash
# The lock of the license folder (issue 15 item 5): klic install takes an
# exclusive flock(2) on HOME/klic/license.lock (made 0600, never deleted)
# before it reads the folder and holds it until the last file is written.
# A held lock makes install wait (one line on stderr) and then succeed; two
# installs at once, round after round, both install and lose nothing; a lock
# file that is a symbolic link is refused and nothing changes.
# Usage: locks.sh KLIC KLIC_ADMIN [ROUNDS]
. "$(dirname "$0")/../lib.sh"
KLIC=$1 ADMIN=$2 ROUNDS=${3:-100}
A="$BOX/admin" U="$BOX/ada"
L="$U/license" LOCK="$U/klic/license.lock"
admin() { "$ADMIN" --state "$A" "$@"; }
user() { "$KLIC" --home "$U" "$@"; }
cd "$BOX"

PAIRS=$((ROUNDS < 29 ? ROUNDS : 29))
t_org_setup "$A" "Life Org" $((2 * PAIRS + 4))
admin export-key -o issuer.asc
user init --name ada --email ada@test.invalid >/dev/null
user trust issuer.asc >/dev/null
# req NAME...: one KRE request each, issued (responses in out/)
req() {
	local n
	for n in "$@"; do user request --product KRE -o "$n.kreq" >/dev/null; done
	admin member add --yes --from-request "$1.kreq" >/dev/null
	for n in "$@"; do admin issue "$n.kreq" -o out --yes >/dev/null; done
}
req r0 r1 r2
count() { find "$L" -maxdepth 1 -name '*.lic' | wc -l; }

# --- the first install makes the lock file ----------------------------------------------------
rc=0; user install --vendor "$BOX/vendor.asc" out/r0.kresp >out.txt 2>err.txt || rc=$?
[ "$rc" = 0 ] && ! grep -q waiting err.txt && [ "$(stat -c %a "$LOCK")" = 600 ] && [ -f "$LOCK" ] &&
	pass "install: exit 0, no wait, $LOCK made 0600" || fail "first install: rc=$rc $(cat err.txt) $(ls -l "$LOCK")"

# --- a held lock: install waits, then installs ---------------------------------------------------
flock "$LOCK" sleep 2 &
holder=$!
sleep 0.3
t0=$(date +%s%N); rc=0
user install --vendor "$BOX/vendor.asc" out/r1.kresp >out.txt 2>err.txt || rc=$?
t1=$(date +%s%N); ms=$(((t1 - t0) / 1000000))
wait "$holder"
[ "$rc" = 0 ] && [ "$(grep -c . err.txt)" -ge 1 ] && [ "$(head -1 err.txt)" = "waiting for another klic using $L" ] &&
	[ "$ms" -ge 1500 ] && [ "$(count)" = 2 ] &&
	pass "lock held 2 s by flock(1): install printed '$(head -1 err.txt)', waited ${ms} ms, then installed (exit 0)" ||
	fail "held lock: rc=$rc after ${ms} ms: $(cat err.txt); $(count) licenses"
[ -f "$LOCK" ] && pass "the lock file stays" || fail "lock file removed"

# --- both installs of a pair wait for a held lock, then both install ---------------------------
flock "$LOCK" sleep 2 &
holder=$!
sleep 0.3
rc1=0 rc2=0
user install --vendor "$BOX/vendor.asc" out/r2.kresp >o1.txt 2>e1.txt & p1=$!
req q1 q2 # meanwhile: two more responses
wait "$holder"
wait "$p1" || rc1=$?
[ "$rc1" = 0 ] && grep -qx "waiting for another klic using $L" e1.txt && [ "$(count)" = 3 ] &&
	pass "an install started under a held lock waited and installed" || fail "r2: rc=$rc1 $(cat e1.txt)"

# --- ROUNDS rounds of two installs at once -------------------------------------------------------
# One machine holds at most 64 licenses of a product, so the rounds go
# through PAIRS pairs of responses, issued up front in one batch (pair 1:
# q1, q2 from above); a pair's second and later rounds first delete the two
# files its first round installed, then install the pair again.
declare -A FILES=()
batch=()
for i in $(seq 2 "$PAIRS"); do
	user request --product KRE -o "a$i.kreq" >/dev/null
	user request --product KRE -o "b$i.kreq" >/dev/null
	batch+=("a$i.kreq" "b$i.kreq")
done
[ "${#batch[@]}" = 0 ] || admin issue "${batch[@]}" -o out --yes >/dev/null
lost=0
for i in $(seq 1 "$ROUNDS"); do
	k=$(( (i - 1) % PAIRS + 1 ))
	a=out/a$k.kresp b=out/b$k.kresp
	[ "$k" = 1 ] && a=out/q1.kresp b=out/q2.kresp
	[ -z "${FILES[$k]:-}" ] || (cd "$L" && rm -- ${FILES[$k]})
	ls "$L" >ls.before
	before=$(count); rc1=0 rc2=0
	user install --vendor "$BOX/vendor.asc" "$a" >o1.txt 2>e1.txt & p1=$!
	user install --vendor "$BOX/vendor.asc" "$b" >o2.txt 2>e2.txt & p2=$!
	wait "$p1" || rc1=$?
	wait "$p2" || rc2=$?
	if [ "$rc1" != 0 ] || [ "$rc2" != 0 ] || [ "$(count)" != $((before + 2)) ]; then
		lost=1
		fail "round $i: exit $rc1/$rc2, $before -> $(count) licenses: $(cat e1.txt e2.txt)"
	fi
	[ -n "${FILES[$k]:-}" ] || FILES[$k]=$(ls "$L" | comm -13 ls.before - | tr '\n' ' ')
done
[ "$lost" = 0 ] && pass "$ROUNDS rounds of two installs at once ($PAIRS pairs of responses): every install exit 0, two more licenses each round"
n=$(count)
user status --vendor "$BOX/vendor.asc" --json >st.json
python3 -c '
import json, sys
d = json.load(open("st.json"))
lics = d["licenses"]
assert len(lics) == int(sys.argv[1]), len(lics)
assert all(l["valid"] for l in lics), [l for l in lics if not l["valid"]]
assert len({l["license_id"] for l in lics}) == len(lics)
' "$n" && [ "$n" = $((2 * PAIRS + 3)) ] &&
	pass "all $n licenses installed, each valid (klic status), none overwritten (distinct IDs)" || fail "status: $n files: $(head -c 600 st.json)"
[ -z "$(find "$L" "$U/klic" -name '.*tmp*' -o -name '*.tmp' 2>/dev/null)" ] && pass "no temporary file left" || fail "left: $(ls -a "$L")"

# --- the lock file as a symbolic link: refused, nothing changed --------------------------------------
req s1
mv "$LOCK" "$BOX/lock.saved"
ln -s "$BOX/elsewhere" "$LOCK"
before=$(tree_sum "$L"); rc=0
user install --vendor "$BOX/vendor.asc" out/s1.kresp >out.txt 2>err.txt || rc=$?
[ "$rc" = 3 ] && [ "$(wc -l <err.txt)" = 1 ] && grep -q "^klic: .*$LOCK: .*" err.txt && [ "$before" = "$(tree_sum "$L")" ] && [ ! -e "$BOX/elsewhere" ] &&
	pass "lock file a symbolic link: exit 3, $(cat err.txt), nothing changed" || fail "symlink lock: rc=$rc $(cat err.txt)"
rm "$LOCK"; mv "$BOX/lock.saved" "$LOCK"
user install --vendor "$BOX/vendor.asc" out/s1.kresp >/dev/null 2>&1 && pass "with the lock file back, it installs" || fail "s1 after restore"
t_done
