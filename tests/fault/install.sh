#!/usr/bin/env bash
# Fault injection into a real `klic install`: every write, fsync, rename
# and create (open O_CREAT, mkdir) that install makes under the user's home
# fails in turn, through the LD_PRELOAD shim tests/fault/shim.c, in three
# modes: once with EIO, with ENOSPC that persists (disk full), and as a
# crash (SIGKILL just before the call).  After an injected error:
#   - exit status 3 (I/O) and exactly one line on stderr ("klic: ..."), or
#     exit 0 when the tool did not depend on the failed call;
#   - either no trace (every file of the license folder and of <home>/klic
#     byte-identical to before) or complete (the same files as a clean run);
#     anything in between is a partial install and fails the test;
#   - no temporary file left anywhere in the home.
# After a crash: every file is either as before or as after a clean run
# (never half-written); a mix of both is allowed (a crash cannot roll back).
# In every mode a re-run without the fault then exits 0 and leaves exactly
# the files of a clean run (the trusted clock compared by presence: it
# holds a time) and no temporary file.
# Scenarios: a 3-seat response into an empty folder, and the same response
# into a folder that already holds a 1-seat license.  (A 1-seat response
# into an empty folder makes a subset of the 3-seat calls, the same code
# looped per file: it is left out to keep CI short.)
# usage: install.sh KLIC KLIC_ADMIN SHIM.so
. "$(dirname "$0")/../lib.sh"
KLIC=$1
ADMIN=$2
SHIM=$(realpath "$3")
. "$(dirname "$0")/common.sh" # (and cd "$BOX")

A="$BOX/admin"; G="$BOX/gnupg-user"; H="$BOX/home"
admin() { "$ADMIN" --state "$A" "$@"; }
user() { "$KLIC" --home "$1" --gnupghome "$G" "${@:2}"; }

# --- both sides, once ------------------------------------------------------
t_org_setup "$A" "Fault Org" 50 KRE
admin export-key -o issuer.asc
mkdir -m 700 "$G"
user "$BOX/h0" init --name "Ada" --email ada@test.invalid >/dev/null
user "$BOX/h0" trust issuer.asc >/dev/null
user "$BOX/h0" request --product KRE --seats 1 -o r1.kreq >/dev/null
user "$BOX/h0" request --product KRE --seats 3 -o r3.kreq >/dev/null
admin member add --yes --from-request r1.kreq >/dev/null
admin issue r1.kreq r3.kreq -o out --yes >/dev/null
# h1: h0 with the 1-seat response installed
cp -a "$BOX/h0" "$BOX/h1"
user "$BOX/h1" install --vendor "$BOX/vendor.asc" out/r1.kresp >/dev/null

TOTAL_POINTS=0
# scenario NAME SNAPSHOT RESPONSE
scenario() {
	local name=$1 snap=$2 resp=$3
	local clean before after rc lines points mode n
	local notrace complete absorbed partial missed bad covered absorbed_at killed_temps
	rm -rf "$H"; cp -a "$snap" "$H"; rm -f "$BOX/log"
	rc=0; shim "$H" "$BOX/log" "" "$KLIC" --home "$H" --gnupghome "$G" install --vendor "$BOX/vendor.asc" "$resp" >/dev/null 2>"$BOX/err" || rc=$?
	if [ "$rc" -ne 0 ]; then fail "$name: clean run exit $rc: $(cat "$BOX/err")"; return; fi
	clean=$(NORM_CLOCK=1 files_sum "$H")
	points=$(wc -l <"$BOX/log" 2>/dev/null || echo 0)
	if [ "$points" -eq 0 ]; then fail "$name: the shim counted no call (not preloaded?)"; return; fi
	echo "# $name: $points injection points ($(cut -d' ' -f2 "$BOX/log" | sort | uniq -c | awk '{printf "%s %s, ", $1, $2}'))"
	local mi=-1 k
	for mode in $FAULT_MODES; do
		mi=$((mi + 1)) k=-1
		notrace=0 complete=0 absorbed=0 partial=0 missed=0 bad=0 NOTES=0 covered=0 absorbed_at="" killed_temps=0
		echo "# $name, $mode:"
		for ((n = 1; n <= points; n += STRIDE)); do
			k=$((k + 1))
			skip_point "$mi" "$k" && continue
			covered=$((covered + 1))
			rm -rf "$H"; cp -a "$snap" "$H"; rm -f "$BOX/log"
			before=$(files_sum "$H")
			rc=0
			shim "$H" "$BOX/log" "any:$n:$mode" "$KLIC" --home "$H" --gnupghome "$G" install --vendor "$BOX/vendor.asc" "$resp" \
				>/dev/null 2>"$BOX/err" || rc=$?
			local what
			what=$(fault_what "$BOX/log" "$H")
			if [ -z "$what" ]; then missed=$((missed + 1)); fi
			after=$(files_sum "$H")
			lines=$(wc -l <"$BOX/err")
			if [ "$mode" = KILL ]; then
				# a crash cannot be undone: any mix of old and new files is
				# allowed, a half-written one is not; the re-run must finish
				local nt m
				nt=$(temps "$H" | wc -l)
				killed_temps=$((killed_temps + nt))
				m=$(mixed "$before" "$clean" "$(NO_TEMPS=1 NORM_CLOCK=0 files_sum "$H")")
				if [ "$rc" -ne 137 ]; then
					note_point "#$n ($what): exit $rc, expected 137 (killed)"; bad=$((bad + 1))
				elif [ -n "$m" ]; then
					note_point "#$n ($what): after the kill, neither old nor new: $m"; bad=$((bad + 1))
				elif [ "$(NO_TEMPS=1 files_sum "$H")" = "$before" ]; then notrace=$((notrace + 1))
				elif [ "$(NO_TEMPS=1 NORM_CLOCK=1 files_sum "$H")" = "$clean" ]; then complete=$((complete + 1))
				else partial=$((partial + 1)); fi
			elif [ "$rc" -eq 0 ]; then
				if [ "$(NORM_CLOCK=1 files_sum "$H")" = "$clean" ]; then absorbed=$((absorbed + 1)); absorbed_at+="#$n $what, "
				else note_point "#$n ($what): exit 0 but not the clean result: $(sum_diff "$clean" "$(NORM_CLOCK=1 files_sum "$H")")"; bad=$((bad + 1)); fi
			elif [ "$rc" -ne 3 ] || [ "$lines" -ne 1 ] || ! grep -q '^klic: ' "$BOX/err"; then
				note_point "#$n ($what): exit $rc, $lines stderr line(s): $(head -c 300 "$BOX/err")"; bad=$((bad + 1))
			elif [ "$after" = "$before" ]; then
				notrace=$((notrace + 1))
			elif [ "$(NORM_CLOCK=1 files_sum "$H")" = "$clean" ]; then
				complete=$((complete + 1))
			else
				partial=$((partial + 1)); bad=$((bad + 1))
				note_point "#$n ($what): partial state: $(sum_diff "$before" "$after")"
			fi
			if [ "$mode" != KILL ] && [ -n "$(temps "$H")" ]; then
				note_point "#$n ($what): temporary files left: $(temps "$H" | tr '\n' ' ')"; bad=$((bad + 1))
			fi
			rc=0; "$KLIC" --home "$H" --gnupghome "$G" install --vendor "$BOX/vendor.asc" "$resp" >/dev/null 2>"$BOX/err2" || rc=$?
			if [ "$rc" -ne 0 ]; then
				note_point "#$n ($what): re-run exit $rc: $(cat "$BOX/err2")"; bad=$((bad + 1))
			elif [ "$(NO_TEMPS=1 NORM_CLOCK=1 files_sum "$H")" != "$clean" ]; then
				note_point "#$n ($what): the re-run does not reach the clean result: $(sum_diff "$clean" "$(NO_TEMPS=1 NORM_CLOCK=1 files_sum "$H")")"; bad=$((bad + 1))
			elif [ -n "$(temps "$H")" ]; then
				note_point "#$n ($what): after the re-run, temporary files left: $(temps "$H" | sed "s|$H/||" | tr '\n' ' ')"; bad=$((bad + 1))
			fi
		done
		TOTAL_POINTS=$((TOTAL_POINTS + covered))
		[ -z "$absorbed_at" ] || echo "#   exit 0 despite the fault (the tool does not depend on the call): ${absorbed_at%, }" | sed -e 's/[0-9A-Z]\{5\}\(-[0-9A-Z]\{5\}\)\{4\}/<id>/g' -e 's/[0-9a-f]\{64\}/<digest>/g' 
		local summary="$covered of $points points: $notrace no trace, $complete complete, $absorbed absorbed (exit 0), $partial partial, $missed not reached"
		[ "$mode" != KILL ] || summary+=", $killed_temps temp file(s) left by the kills"
		if [ "$bad" -eq 0 ] && [ "$missed" -eq 0 ]; then pass "$name, $mode: $summary"
		else fail "$name, $mode: $summary, $bad problem(s)"; fi
	done
}

scenario "install 3 seats" "$BOX/h0" out/r3.kresp
scenario "install 3 seats next to an installed license" "$BOX/h1" out/r3.kresp
echo "# $TOTAL_POINTS injected failures in total"
t_done
