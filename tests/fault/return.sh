#!/usr/bin/env bash
# Fault injection into a real `klic return` (spec 5.11): every write,
# fsync, rename and create it makes under the user's home and the receipt's
# folder fails in turn, through the LD_PRELOAD shim tests/fault/shim.c, in
# the three modes of common.sh (EIO once, ENOSPC that persists, a crash by
# SIGKILL just before the call).  The user returns the 3 licenses of a
# 3-seat response; the entitlement is returnable.
#
# After an injected error: exit 3 (I/O) and exactly one line on stderr
# ("klic: ..."), or exit 0 with the clean result; and the home is in one of
# the states 5.11 allows:
#   - untouched: every file of the home as before, no receipt, no
#     temporary file (a failure before step 2);
#   - refused here: the 3 license IDs in <home>/klic/returned, the signed
#     receipt kept (as FILE.kret, or in its temporary file, whose path the
#     error line names), the license files gone or still there (a failure
#     after step 2);
# After a crash: the licenses and the returned list either as before or
# as after step 2, never half-written.
# In every mode a re-run without the fault (klic return for the licenses
# still there, when any is) leaves the home as a clean run does (no
# license, the 3 IDs refused, no temporary file in the home); and then the
# admin, given every receipt the runs left (FILE.kret, the re-run's, and
# any temporary receipt), frees exactly the 3 seats whichever order it
# applies them in: nothing is lost, no seat is stranded, nothing is freed
# twice (5.3.6 #6 skips a license another receipt returned).  A second
# loop fails or kills each delete of a license file (the shim's opt-in
# unlink class), the case where the run's receipt and its re-run's
# overlap; then what the admin prints of overlapping receipts, and the
# vendor's usage verify of such returns.
# usage: return.sh KLIC KLIC_ADMIN SHIM.so
. "$(dirname "$0")/../lib.sh"
KLIC=$1
ADMIN=$2
SHIM=$(realpath "$3")
. "$(dirname "$0")/common.sh" # (and cd "$BOX")

A0="$BOX/admin0"; G="$BOX/gnupg-user"; R="$BOX/run"; H="$R/home"; O="$R/out"
user() { "$KLIC" --home "$1" --gnupghome "$G" "${@:2}"; }

# --- both sides, once: 3 returnable seats issued and installed ---------------
t_org_setup "$A0" "Fault Org" 5 KRE node-locked yearly --returnable
"$ADMIN" --state "$A0" export-key -o issuer.asc
mkdir -m 700 "$G"
user "$BOX/h0" init --name "Ada" --email ada@test.invalid >/dev/null
user "$BOX/h0" trust issuer.asc >/dev/null
user "$BOX/h0" request --product KRE --seats 3 -o r3.kreq >/dev/null
"$ADMIN" --state "$A0" member add --yes --from-request r3.kreq >/dev/null
"$ADMIN" --state "$A0" issue r3.kreq -o issued --yes >/dev/null
user "$BOX/h0" install --vendor "$BOX/vendor.asc" issued/r3.kresp >/dev/null
[ "$(ls "$BOX/h0/license" | wc -l)" = 3 ] || { fail "setup: 3 licenses installed: $(ls "$BOX/h0/license")"; t_done; exit 1; }

# used SEATS of the admin state $1 (entitlement list --json)
used() {
	"$ADMIN" --state "$1" entitlement list --json |
		"$PY" -c 'import json,sys; print(sum(e["used"] for e in json.load(sys.stdin)))'
}
[ "$(used "$A0")" = 3 ] || fail "setup: $(used "$A0") seats used, expected 3"

# fresh: the home as installed, an empty receipt folder
fresh() { rm -rf "$R"; mkdir -p "$R"; cp -a "$BOX/h0" "$H"; mkdir "$O"; }
ret() { user "$H" return --product KRE --vendor "$BOX/vendor.asc" -o "$O/$1"; }
# faulted SPEC LOG: the run under test, klic return into $O/w.kret with the
# shim (fault SPEC, "" to count only; the unlink class when UNLINKS=1)
faulted() {
	KLIC_FAULT_UNLINK=${UNLINKS:-0} shim "$R" "$2" "$1" "$KLIC" --home "$H" --gnupghome "$G" \
		return --product KRE --vendor "$BOX/vendor.asc" -o "$O/w.kret"
}
# receipts: every receipt the runs left in $O (final and temporary)
receipts() { find "$O" -type f | sort; }
# licenses_left: license files in the license folder
licenses_left() { find "$H/license" -type f -name 'KRE_*.lic' 2>/dev/null | wc -l; }
# refused_all: the 3 IDs are in <home>/klic/returned
refused_all() { [ "$(grep -cFf <(printf '%s\n' "${IDS[@]}") "$H/klic/returned" 2>/dev/null)" = 3 ]; }
# admin_frees: every receipt the runs left in $O, applied by a copy of
# the admin, frees exactly the 3 seats, in ascending and in descending order
# (a run interrupted after step 2 and its re-run each sign a receipt, for
# overlapping licenses: spec 5.3.6 #6 skips a license another receipt
# returned, so the order cannot strand a seat).  The one refusal allowed:
# a temporary receipt a kill cut short before the run took the licenses
# (state untouched), as malformed.  Sets ADMIN_ERR.
admin_frees() {
	local a="$BOX/admin-try" f x order
	ADMIN_ERR=
	for order in "" r; do
		rm -rf "$a"; cp -a "$A0" "$a"
		while IFS= read -r f; do
			x=0; "$ADMIN" --state "$a" return "$f" >/dev/null 2>"$BOX/aerr" || x=$?
			if [ "$x" = 0 ]; then :
			elif [ "$x" = 1 ] && [ "$mode" = KILL ] && [ "$state" = untouched ] && [[ $f == */.w.kret.tmp.* ]] &&
				grep -q ": malformed license file: " "$BOX/aerr"; then :
			else ADMIN_ERR+="$(basename "$f"): exit $x: $(cat "$BOX/aerr"); "; fi
		done < <(receipts | LC_ALL=C sort ${order:+-r})
		gpgconf --homedir "$a/gnupg" --kill all >/dev/null 2>&1 || true
		[ "$(used "$a")" = 0 ] || ADMIN_ERR+="order ${order:-ascending}${order:+descending}: $(used "$a") seat(s) still used; "
		# each license ended once, with one audit row
		[ "$(sqlite3 "$a/ledger.sqlite" "SELECT count(*) FROM license_ends WHERE reason = 'returned'")" = 3 ] &&
			[ "$(sqlite3 "$a/ledger.sqlite" "SELECT count(*) FROM audit WHERE event = 'returned'")" = 3 ] ||
			ADMIN_ERR+="order ${order:-ascending}${order:+descending}: not 3 ends and 3 'returned' audit rows; "
	done
	[ -z "$ADMIN_ERR" ]
}

# classify: the state a run left, in $state: untouched (the home as
# before; in $O at most a temporary receipt, left by a kill), refused (the
# 3 IDs refused here and a receipt kept), complete (no license left,
# FILE.kret there), or other
classify() {
	local tmps_only=1 f
	while IFS= read -r f; do [[ $f == */.w.kret.tmp.* ]] || tmps_only=0; done < <(receipts)
	if [ "$(NO_TEMPS=1 files_sum "$H")" = "$before" ] && [ -z "$(receipts)" ]; then state=untouched
	elif [ "$(NO_TEMPS=1 files_sum "$H")" = "$before" ] && [ "$mode" = KILL ] && [ "$tmps_only" = 1 ]; then state=untouched
	elif refused_all && [ -n "$(receipts)" ]; then
		if [ "$(licenses_left)" = 0 ] && [ -e "$O/w.kret" ]; then state=complete; else state=refused; fi
	else state=other; fi
}

# point SPEC: one run with the fault SPEC (shim syntax), then the checks
# and the re-run; counts into the loop's tallies
point() {
	local spec=$1 rc=0 lines what tmp
	fresh; rm -f "$BOX/log"
	faulted "$spec" "$BOX/log" >/dev/null 2>"$BOX/err" || rc=$?
	what=$(fault_what "$BOX/log" "$R")
	[ -n "$what" ] || missed=$((missed + 1))
	lines=$(wc -l <"$BOX/err")
	classify
	if [ "$mode" = KILL ]; then
		if [ "$rc" -ne 137 ]; then note_point "$spec ($what): exit $rc, expected 137 (killed)"; bad=$((bad + 1)); return; fi
	elif [ "$rc" -eq 0 ]; then
		if [ "$state" = complete ] && [ "$(NO_TEMPS=1 NORM_CLOCK=1 files_sum "$H")" = "$clean" ]; then absorbed=$((absorbed + 1))
		else note_point "$spec ($what): exit 0 but not the clean result ($state)"; bad=$((bad + 1)); return; fi
	elif [ "$rc" -ne 3 ] || [ "$lines" -ne 1 ] || ! grep -q '^klic: ' "$BOX/err"; then
		note_point "$spec ($what): exit $rc, $lines stderr line(s): $(head -c 300 "$BOX/err")"; bad=$((bad + 1)); return
	fi
	if [ "$state" = other ]; then
		note_point "$spec ($what): a state 5.11 does not allow: $(licenses_left) license(s) left, returned: $(wc -l <"$H/klic/returned" 2>/dev/null || echo none), receipts: $(receipts | sed "s|$O/||" | tr '\n' ' ')"
		bad=$((bad + 1)); return
	fi
	if [ "$mode" != KILL ] && [ "$rc" = 3 ] && [ "$state" = refused ] && [ ! -e "$O/w.kret" ]; then
		# the error line names the temporary receipt it kept
		tmp=$(receipts | head -n 1)
		grep -qF "$(basename "$tmp")" "$BOX/err" ||
			{ note_point "$spec ($what): the receipt was kept in $(basename "$tmp") but the error does not name it: $(cat "$BOX/err")"; bad=$((bad + 1)); }
	fi
	if [ "$mode" != KILL ] && [ -n "$(temps "$H")" ]; then
		note_point "$spec ($what): temporary files left in the home: $(temps "$H" | sed "s|$H/||" | tr '\n' ' ')"; bad=$((bad + 1))
	fi
	case $state in untouched) untouched=$((untouched + 1)) ;; refused) refused=$((refused + 1)) ;; complete) [ "$rc" = 0 ] || complete=$((complete + 1)) ;; esac
	# the re-run: the licenses still there are returned
	if [ "$(licenses_left)" -gt 0 ]; then
		rc=0; ret w2.kret >/dev/null 2>"$BOX/err2" || rc=$?
		if [ "$rc" -ne 0 ]; then note_point "$spec ($what): re-run exit $rc: $(cat "$BOX/err2")"; bad=$((bad + 1)); return; fi
	fi
	if [ "$(NO_TEMPS=1 NORM_CLOCK=1 files_sum "$H")" != "$clean" ]; then
		note_point "$spec ($what): the re-run does not reach the clean result: $(sum_diff "$clean" "$(NO_TEMPS=1 NORM_CLOCK=1 files_sum "$H")")"; bad=$((bad + 1))
	elif [ -n "$(temps "$H")" ]; then
		note_point "$spec ($what): after the re-run, temporary files left in the home: $(temps "$H" | sed "s|$H/||" | tr '\n' ' ')"; bad=$((bad + 1))
	elif ! admin_frees; then
		note_point "$spec ($what): the admin, given $(receipts | sed "s|$O/||" | tr '\n' ' '), does not free exactly 3 seats: $ADMIN_ERR"; bad=$((bad + 1))
	fi
}

# count CLASS: the calls of a clean run the loop injects into (any, or the
# opt-in unlink); sets $clean, $points
count() {
	local rc=0
	mode=none state=none
	fresh; rm -f "$BOX/log"
	before=$(files_sum "$H")
	faulted "" "$BOX/log" >/dev/null 2>"$BOX/err" || rc=$?
	clean=$(NORM_CLOCK=1 files_sum "$H")
	points=$(grep -c " $1 " "$BOX/log" 2>/dev/null || true)
	[ "$1" = any ] && points=$(grep -vc ' unlink ' "$BOX/log" 2>/dev/null || true)
	if [ "$rc" = 0 ] && [ "$(licenses_left)" = 0 ] && refused_all && [ "$(receipts)" = "$O/w.kret" ] && admin_frees &&
		[ "${points:-0}" -gt 0 ]; then
		pass "clean run: 3 licenses returned, the receipt frees 3 seats; $points $1 injection points ($(cut -d' ' -f2 "$BOX/log" | sort | uniq -c | awk '{printf "%s %s, ", $1, $2}' | sed 's/, $//'))"
	else
		fail "clean run ($1): rc $rc $(cat "$BOX/err"); $(licenses_left) left; receipts $(receipts | tr '\n' ' '); points ${points:-0}; $ADMIN_ERR"
		t_done; exit 1
	fi
}

mapfile -t IDS < <("$ADMIN" --state "$A0" list --json | "$PY" -c 'import json,sys; [print(x["license_id"]) for x in json.load(sys.stdin)]')

# --- every write, fsync, rename and create, in every mode ---------------------------
count any
mi=-1
for mode in $FAULT_MODES; do
	mi=$((mi + 1)) k=-1
	untouched=0 refused=0 complete=0 absorbed=0 missed=0 bad=0 NOTES=0 covered=0
	for ((n = 1; n <= points; n += STRIDE)); do
		k=$((k + 1))
		skip_point "$mi" "$k" && continue
		covered=$((covered + 1))
		point "any:$n:$mode"
	done
	summary="$covered of $points points: $untouched untouched, $refused refused here (receipt kept), $complete complete (then the error or the kill), $absorbed absorbed (exit 0), $missed not reached"
	if [ "$bad" -eq 0 ] && [ "$missed" -eq 0 ]; then pass "return 3 licenses, $mode: $summary; each re-run finished, the admin freed exactly 3 seats in either order"
	else fail "return 3 licenses, $mode: $summary, $bad problem(s)"; fi
done

# --- every unlink (the license files deleted one by one, step 3): a failed
# or killed delete leaves some licenses deleted and some not, the case
# where the receipts of the run and of its re-run overlap -------------------------------
UNLINKS=1
count unlink
for mode in EIO KILL; do
	untouched=0 refused=0 complete=0 absorbed=0 missed=0 bad=0 NOTES=0 covered=0
	for ((n = 1; n <= points; n++)); do
		covered=$((covered + 1))
		point "unlink:$n:$mode"
	done
	summary="$covered of $points deletes: $untouched untouched, $refused refused here (receipt kept), $complete complete, $absorbed absorbed (exit 0), $missed not reached"
	if [ "$bad" -eq 0 ] && [ "$missed" -eq 0 ] && [ "$refused" -gt 0 ]; then pass "return 3 licenses, unlink $mode: $summary; each re-run finished, the admin freed exactly 3 seats in either order"
	else fail "return 3 licenses, unlink $mode: $summary, $bad problem(s)"; fi
done

# --- what the admin says of overlapping receipts ------------------------------------
# the 2nd delete fails: the kept receipt names 3 licenses, the re-run's the 2 left
mode=EIO
fresh
UNLINKS=1 faulted "unlink:2:EIO" /dev/null >/dev/null 2>&1 || true
ret w2.kret >/dev/null 2>&1 || true
KEPT=$(find "$O" -name '.w.kret.tmp.*' | head -n 1)
a="$BOX/admin-say"
rm -rf "$a"; cp -a "$A0" "$a"
"$ADMIN" --state "$a" return "$O/w2.kret" >say1.txt 2>&1 || true
"$ADMIN" --state "$a" return --json "$KEPT" >say2.json 2>&1 || true
if grep -q "^OK   .*w2.kret: returned 2 KRE license(s)" say1.txt && "$PY" - say2.json <<'PY'; then
import json, sys
o = json.load(open(sys.argv[1]))[0]
assert o["status"] == "returned" and len(o["license_ids"]) == 3 and len(o["returned_before"]) == 2, o
PY
	pass "the re-run's receipt frees 2; the kept one then frees the 3rd, naming the 2 returned before"
else
	fail "overlap, re-run's first: $(cat say1.txt say2.json | head -c 600)"
fi
rm -rf "$a"; cp -a "$A0" "$a"
"$ADMIN" --state "$a" return "$KEPT" >/dev/null 2>&1 || true
rc=0; "$ADMIN" --state "$a" return "$O/w2.kret" >say3.txt 2>&1 || rc=$?
"$ADMIN" --state "$a" return --json "$O/w2.kret" >say4.json 2>/dev/null || true
[ "$rc" = 0 ] && grep -q "w2.kret: its 2 license(s) were returned by other receipts: nothing freed" say3.txt &&
	"$PY" -c 'import json,sys; o=json.load(open(sys.argv[1]))[0]; sys.exit(0 if o["status"] == "already-returned" and len(o["returned_before"]) == 2 and o["at"] == "" else 1)' say4.json &&
	[ "$(used "$a")" = 0 ] && pass "the kept receipt first frees 3; the re-run's then: $(cat say3.txt)" ||
	fail "overlap, kept first: rc $rc $(cat say3.txt say4.json | head -c 600)"
"$ADMIN" --state "$a" usage export -o "$BOX/ov.kusage" >/dev/null
rc=0; "$(t_vendor_bin)" --state "$BOX/vendor" usage verify "$BOX/ov.kusage" >trueup.txt 2>&1 || rc=$?
[ "$rc" = 0 ] && grep -qx "verdict: ok" trueup.txt && pass "the vendor's usage verify accepts the returns of overlapping receipts" ||
	fail "true-up after overlapping receipts: rc $rc $(grep -v ': ok$' trueup.txt | head -c 400)"
gpgconf --homedir "$a/gnupg" --kill all >/dev/null 2>&1 || true
# the kept receipt applied by an admin host whose clock is an hour ahead
# (a shared ledger, several hosts): its ends are as final for the next
# receipt as ones in the past
if faketime '+1 hour' "$ADMIN" --version >/dev/null 2>&1; then
	rm -rf "$a"; cp -a "$A0" "$a"
	faketime '+1 hour' "$ADMIN" --state "$a" return "$KEPT" >/dev/null 2>&1 || true
	rc=0; "$ADMIN" --state "$a" return "$O/w2.kret" >say5.txt 2>&1 || rc=$?
	[ "$rc" = 0 ] && grep -q "its 2 license(s) were returned by other receipts: nothing freed" say5.txt &&
		pass "ends recorded by a clock an hour ahead: the overlapping receipt frees nothing, exit 0" ||
		fail "clock ahead: rc $rc $(cat say5.txt)"
	gpgconf --homedir "$a/gnupg" --kill all >/dev/null 2>&1 || true
fi
t_done
