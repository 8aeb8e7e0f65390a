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
# any temporary receipt), frees exactly the 3 seats: nothing is lost, no
# seat is stranded, nothing is freed twice (a receipt whose licenses
# another one returned is refused, as 5.3.6 says).
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
# receipts: every receipt the runs left in $O (final and temporary)
receipts() { find "$O" -type f | sort; }
# licenses_left: license files in the license folder
licenses_left() { find "$H/license" -type f -name 'KRE_*.lic' 2>/dev/null | wc -l; }
# refused_all: the 3 IDs are in <home>/klic/returned
refused_all() { [ "$(grep -cFf <(printf '%s\n' "${IDS[@]}") "$H/klic/returned" 2>/dev/null)" = 3 ]; }
# admin_frees: a copy of the admin applies every receipt in $O; status 0
# when, in all, exactly the 3 seats are free again.  A receipt may be
# refused only because its licenses were returned by another one (each
# license is applied once, spec 5.3.6 #6: a run killed after step 1 and
# its re-run each signed one) or, a temporary file a kill cut short, as
# malformed; anything else fails.
admin_frees() {
	local a="$BOX/admin-try" f rc=0 x
	rm -rf "$a"; cp -a "$A0" "$a"
	while IFS= read -r f; do
		x=0; "$ADMIN" --state "$a" return "$f" >/dev/null 2>"$BOX/aerr" || x=$?
		if [ "$x" = 0 ] || { [ "$x" = 1 ] && grep -q ": license returned: license [0-9a-f]* ended (returned)" "$BOX/aerr"; }; then :
		elif [ "$x" = 1 ] && [ "$mode" = KILL ] && [[ $f == */.w.kret.tmp.* ]] && grep -q ": malformed license file: " "$BOX/aerr"; then :
		else rc=1; ADMIN_ERR="$f: exit $x: $(cat "$BOX/aerr")"; fi
	done < <(receipts)
	gpgconf --homedir "$a/gnupg" --kill all >/dev/null 2>&1 || true
	[ "$rc" = 0 ] && [ "$(used "$a")" = 0 ] || { ADMIN_ERR="${ADMIN_ERR:-} used $(used "$a")"; return 1; }
}

# --- the clean run -----------------------------------------------------------------
mode=none
fresh
mapfile -t IDS < <("$ADMIN" --state "$A0" list --json | "$PY" -c 'import json,sys; [print(x["license_id"]) for x in json.load(sys.stdin)]')
before=$(files_sum "$H")
rc=0; shim "$R" "$BOX/log" "" "$KLIC" --home "$H" --gnupghome "$G" return --product KRE \
	--vendor "$BOX/vendor.asc" -o "$O/w.kret" >/dev/null 2>"$BOX/err" || rc=$?
clean=$(NORM_CLOCK=1 files_sum "$H")
points=$(wc -l <"$BOX/log" 2>/dev/null || echo 0)
if [ "$rc" = 0 ] && [ "$(licenses_left)" = 0 ] && refused_all && [ "$(receipts)" = "$O/w.kret" ] && admin_frees; then
	pass "clean run: 3 licenses returned, the receipt frees 3 seats; $points injection points ($(cut -d' ' -f2 "$BOX/log" | sort | uniq -c | awk '{printf "%s %s, ", $1, $2}' | sed 's/, $//'))"
else
	fail "clean run: rc $rc $(cat "$BOX/err"); $(licenses_left) left; receipts $(receipts | tr '\n' ' '); ${ADMIN_ERR:-}"
	t_done; exit 1
fi
[ "$points" -gt 0 ] || { fail "the shim counted no call (not preloaded?)"; t_done; exit 1; }

# --- every point, in every mode ------------------------------------------------------
mi=-1
for mode in $FAULT_MODES; do
	mi=$((mi + 1)) k=-1
	untouched=0 refused=0 complete=0 absorbed=0 missed=0 bad=0 NOTES=0 covered=0
	for ((n = 1; n <= points; n += STRIDE)); do
		k=$((k + 1))
		skip_point "$mi" "$k" && continue
		covered=$((covered + 1))
		fresh; rm -f "$BOX/log"
		rc=0
		shim "$R" "$BOX/log" "any:$n:$mode" "$KLIC" --home "$H" --gnupghome "$G" return --product KRE \
			--vendor "$BOX/vendor.asc" -o "$O/w.kret" >/dev/null 2>"$BOX/err" || rc=$?
		what=$(fault_what "$BOX/log" "$R")
		[ -n "$what" ] || missed=$((missed + 1))
		lines=$(wc -l <"$BOX/err")
		left=$(licenses_left)
		# the state the run left
		if [ "$(NO_TEMPS=1 files_sum "$H")" = "$before" ] && [ -z "$(receipts)" ]; then state=untouched
		elif [ "$(NO_TEMPS=1 files_sum "$H")" = "$before" ] && [ "$mode" = KILL ]; then state=untouched # a temporary receipt of step 1
		elif refused_all && [ -n "$(receipts)" ]; then
			if [ "$left" = 0 ] && [ -e "$O/w.kret" ]; then state=complete; else state=refused; fi
		else state=other; fi
		if [ "$mode" = KILL ]; then
			if [ "$rc" -ne 137 ]; then note_point "#$n ($what): exit $rc, expected 137 (killed)"; bad=$((bad + 1)); continue; fi
		elif [ "$rc" -eq 0 ]; then
			if [ "$state" = complete ] && [ "$(NO_TEMPS=1 NORM_CLOCK=1 files_sum "$H")" = "$clean" ]; then absorbed=$((absorbed + 1))
			else note_point "#$n ($what): exit 0 but not the clean result ($state)"; bad=$((bad + 1)); continue; fi
		elif [ "$rc" -ne 3 ] || [ "$lines" -ne 1 ] || ! grep -q '^klic: ' "$BOX/err"; then
			note_point "#$n ($what): exit $rc, $lines stderr line(s): $(head -c 300 "$BOX/err")"; bad=$((bad + 1)); continue
		fi
		if [ "$state" = other ]; then
			note_point "#$n ($what): a state 5.11 does not allow: $left license(s) left, returned: $(wc -l <"$H/klic/returned" 2>/dev/null || echo none), receipts: $(receipts | sed "s|$O/||" | tr '\n' ' ')"
			bad=$((bad + 1)); continue
		fi
		if [ "$mode" != KILL ] && [ "$rc" = 3 ] && [ "$state" = refused ] && [ ! -e "$O/w.kret" ]; then
			# the error line names the temporary receipt it kept
			tmp=$(receipts | head -n 1)
			if ! grep -qF "$(basename "$tmp")" "$BOX/err"; then
				note_point "#$n ($what): the receipt was kept in $(basename "$tmp") but the error does not name it: $(cat "$BOX/err")"; bad=$((bad + 1))
			fi
		fi
		if [ "$mode" != KILL ] && [ -n "$(temps "$H")" ]; then
			note_point "#$n ($what): temporary files left in the home: $(temps "$H" | sed "s|$H/||" | tr '\n' ' ')"; bad=$((bad + 1))
		fi
		case $state in untouched) untouched=$((untouched + 1)) ;; refused) refused=$((refused + 1)) ;; complete) [ "$rc" = 0 ] || complete=$((complete + 1)) ;; esac
		# the re-run: the licenses still there are returned
		if [ "$(licenses_left)" -gt 0 ]; then
			rc=0; ret w2.kret >/dev/null 2>"$BOX/err2" || rc=$?
			if [ "$rc" -ne 0 ]; then note_point "#$n ($what): re-run exit $rc: $(cat "$BOX/err2")"; bad=$((bad + 1)); continue; fi
		fi
		if [ "$(NO_TEMPS=1 NORM_CLOCK=1 files_sum "$H")" != "$clean" ]; then
			note_point "#$n ($what): the re-run does not reach the clean result: $(sum_diff "$clean" "$(NO_TEMPS=1 NORM_CLOCK=1 files_sum "$H")")"; bad=$((bad + 1))
		elif [ -n "$(temps "$H")" ]; then
			note_point "#$n ($what): after the re-run, temporary files left in the home: $(temps "$H" | sed "s|$H/||" | tr '\n' ' ')"; bad=$((bad + 1))
		elif ADMIN_ERR="" && ! admin_frees; then
			note_point "#$n ($what): the admin, given $(receipts | sed "s|$O/||" | tr '\n' ' '), does not free exactly 3 seats: ${ADMIN_ERR:-}"; bad=$((bad + 1))
		fi
	done
	summary="$covered of $points points: $untouched untouched, $refused refused here (receipt kept), $complete complete (then the error or the kill), $absorbed absorbed (exit 0), $missed not reached"
	if [ "$bad" -eq 0 ] && [ "$missed" -eq 0 ]; then pass "return 3 licenses, $mode: $summary; each re-run finished, the admin freed exactly 3 seats"
	else fail "return 3 licenses, $mode: $summary, $bad problem(s)"; fi
done
t_done
