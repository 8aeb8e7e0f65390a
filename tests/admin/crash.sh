#!/usr/bin/env bash
# kill -9 at a random point of a batch of N requests (60), ROUNDS times (3):
# each round starts from the same ledger (no request recorded yet), runs
# `klic-admin issue` over the whole batch with --jobs 2, kills it hard after
# a random delay within the time a full batch takes, checks the ledger the
# kill left, re-runs the same batch to completion and checks everything
# again, then runs it once more to show that nothing changes.  The batch:
# KRE requests of 1-3 seats by three members, KSE requests (no KSE
# entitlement: stored denial), requests by a non-member (denial, never
# stored).  The seed is printed; KLIC_CRASH_SEED=S replays the same delays.
#
# After the kill (on a copy, so that the re-run does its own recovery):
# PRAGMA integrity_check, `klic-admin audit verify`, each recorded request
# is one of the expected rows with exactly its seats of license rows and one
# issued/denied audit row, each response file present equals the stored
# response.  After the re-run: exit 0, every request answered, exactly the
# responses the kill left unstored rebuilt from the ledger, every stored
# response written and byte-identical to its file (reproducible), seats
# spent == the sum over distinct requests (no seat twice), no temporary
# file in the output folder; a further re-run spends nothing and rewrites
# every response byte for byte.
# usage: crash.sh KLIC_ADMIN MKREQ [KLIC|none]
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../lib.sh"
# a private sandbox name (a cleanup of leftover /tmp/klic-t-* boxes on a
# shared machine must not pull it away during the minutes this runs)
rmdir "$BOX"
BOX=$(mktemp -d /tmp/klic-crash-XXXXXX)
. "$HERE/common.sh"
PY=python3; [ -x /usr/bin/python3 ] && PY=/usr/bin/python3

N=${KLIC_CRASH_N:-60}
ROUNDS=${KLIC_CRASH_ROUNDS:-3}
SEED=${KLIC_CRASH_SEED:-$(( $(date +%s) % 1000000 ))}
RANDOM=$SEED
echo "# seed $SEED (replay: KLIC_CRASH_SEED=$SEED), $N requests, $ROUNDS kills"

t0=$(date +%s)
# the admin keyring lives outside the state folder, so the state can be
# restored from a snapshot every round while one gpg-agent serves them all
mkdir -m 700 "$BOX/gnupg-admin"
T_ADMIN_OPTS=(--gnupghome "$BOX/gnupg-admin")
t_org_setup "$A" "Crash Org" 1000 KRE node-locked yearly
for u in ada bob cyd eve; do mkuser "$u"; done
for u in ada bob cyd; do req "$u" "seed-$u.kreq" --product KRE; admin member add --yes --from-request "seed-$u.kreq" >/dev/null; done
ledger 'PRAGMA wal_checkpoint(TRUNCATE)' >/dev/null
cp -a "$A" "$BOX/snap"

# The batch, and what the ledger must end up holding.
files=(); stored=(); unstored=(); want_seats=0
: >"$BOX/expected_rows"
members=(ada bob cyd)
for ((i = 1; i <= N; i++)); do
	f=$(printf 'q%03d' "$i")
	if ((i % 25 == 0)); then
		req eve "$f.kreq" --product KRE --seats 1      # not a member: denial, not stored
		unstored+=("$f")
	elif ((i % 10 == 0)); then
		req "${members[i % 3]}" "$f.kreq" --product KSE  # no KSE entitlement: stored denial
		d=$(tar xzOf "$f.kreq" manifest.json | sha256sum | cut -c1-64)
		echo "$d denied 1 no-entitlement" >>"$BOX/expected_rows"; stored+=("$f=$d")
	else
		s=$(( (i % 3) + 1 ))
		req "${members[i % 3]}" "$f.kreq" --product KRE --seats "$s"
		d=$(tar xzOf "$f.kreq" manifest.json | sha256sum | cut -c1-64)
		echo "$d issued $s " >>"$BOX/expected_rows"; stored+=("$f=$d")
		want_seats=$((want_seats + s))
	fi
	files+=("$f.kreq")
done
sort -o "$BOX/expected_rows" "$BOX/expected_rows"
echo "# $N requests made in $(( $(date +%s) - t0 )) s: ${#stored[@]} recorded when answered ($want_seats seats), ${#unstored[@]} by a non-member"

req_args=(); for s in "${stored[@]}"; do req_args+=(--req "$s"); done
uns_args=(); for s in "${unstored[@]}"; do uns_args+=(--unstored "$s"); done
outs=(); for s in "${stored[@]}"; do outs+=("out/${s%%=*}.kresp"); done
nst=${#stored[@]}
# check STATE [--final ...]: the consistency checks; prints one line per
# problem, nothing when all is well
check() {
	local st=$1; shift
	"$PY" "$HERE/../fault/ledger_check.py" "$st" out --clean "$BOX/expected_rows" "${req_args[@]}" \
		"${uns_args[@]}" "$@" | grep -v '^temporary file' || true
	"$ADMIN" --state "$st" audit verify >/dev/null 2>"$BOX/audit_err" || echo "audit verify: $(tail -1 "$BOX/audit_err")"
}
temps() { { find out -name '*.tmp*' 2>/dev/null || true; } | wc -l; }
restore() { rm -rf "$A" out; cp -a "$BOX/snap" "$A"; }
issue() { "$ADMIN" --state "$A" issue "${files[@]}" -o out --yes --jobs 2; }

# after_rerun ROUND LOG UNSTORED: the checks after a completed re-run, and
# one more run that must change nothing; prints problems.  UNSTORED: issued
# requests the kill left without a stored response (the re-run reports each
# as "rebuilt from the ledger"; a stored denial is rebuilt too, silently;
# --final checks that every request has its response afterwards).
after_rerun() {
	local log=$2 nul=$3 rebuilt order p sum1 sum2 rc
	[[ "$(tail -1 "$log")" == *"errors: 0" ]] || echo "re-run: $(tail -1 "$log") $(grep -m2 '^ERR' "$log" | tr '\n' ' ')"
	rebuilt=$(grep -c 'rebuilt from the ledger' "$log" || true)
	[ "$rebuilt" = "$nul" ] || echo "the re-run rebuilt $rebuilt issued response(s), the kill left $nul unstored"
	order=$(grep -E '^(OK|DENY|ERR) ' "$log" | awk '{print $2}' | tr '\n' ' ')
	[ "$order" = "$(printf '%s ' "${files[@]}")" ] || echo "summary lines not in input order"
	check "$A" --final --seats "$want_seats"
	[ "$(ledger 'SELECT count(*) FROM (SELECT request_digest, seat FROM licenses GROUP BY 1, 2 HAVING count(*) > 1)')" = 0 ] || echo "a seat issued twice"
	[ "$(temps)" = 0 ] || echo "temporary file(s) left in out/: $(find out -name '*.tmp*' | head -3 | tr '\n' ' ')"
	sum1=$(sha256sum "${outs[@]}" 2>/dev/null)
	rc=0; issue >"$BOX/again" 2>&1 || rc=$?
	sum2=$(sha256sum "${outs[@]}" 2>/dev/null)
	[ "$rc" = 0 ] && [ "$sum1" = "$sum2" ] && [ "$(nlic)" = "$want_seats" ] &&
		[ "$(tail -1 "$BOX/again")" = "issued: 0, denied: ${#unstored[@]}, re-issued: $nst, errors: 0" ] ||
		echo "another re-run: exit $rc, $(tail -1 "$BOX/again"), $(nlic) licenses, outputs $([ "$sum1" = "$sum2" ] && echo equal || echo changed)"
}

# --- round 0: the batch without a kill, to time it -----------------------------
restore
s0=$(date +%s%N)
rc=0; issue >"$BOX/run0" 2>&1 || rc=$?
T_MS=$(( ($(date +%s%N) - s0) / 1000000 ))
p=$(after_rerun 0 "$BOX/run0" 0)
[ "$rc" = 0 ] && [ -z "$p" ] && pass "the batch without a kill: $(tail -1 "$BOX/run0") in $T_MS ms; consistent" \
	|| { fail "the batch without a kill: exit $rc: $(echo "$p" | head -5 | tr '\n' ';')"; t_done; exit 1; }

# --- the kill rounds -------------------------------------------------------------
t1=$(date +%s)
good=0 landed=0
for ((round = 1; round <= ROUNDS; round++)); do
	# within 90% of the time a whole batch took, so nearly every kill lands
	delay=$(( (RANDOM * 32768 + RANDOM) % (T_MS * 9 / 10) ))
	restore
	# the binary itself in the background (not a function: $! must be
	# klic-admin's pid, not a subshell's)
	"$ADMIN" --state "$A" issue "${files[@]}" -o out --yes --jobs 2 >"$BOX/run$round" 2>&1 &
	pid=$!
	sleep "$(printf '%d.%03d' $((delay / 1000)) $((delay % 1000)))"
	if kill -9 "$pid" 2>/dev/null; then how="killed"; landed=$((landed + 1)); else how="finished before the kill"; fi
	wait "$pid" 2>/dev/null || true
	rm -rf "$BOX/chk"; cp -a "$A" "$BOX/chk"
	rec=$(sqlite3 "$BOX/chk/ledger.sqlite" 'SELECT count(*) FROM requests')
	nul=$(sqlite3 "$BOX/chk/ledger.sqlite" 'SELECT count(*) FROM requests WHERE response IS NULL')
	nul_issued=$(sqlite3 "$BOX/chk/ledger.sqlite" "SELECT count(*) FROM requests WHERE response IS NULL AND status = 'issued'")
	nout=$(ls out 2>/dev/null | grep -c '\.kresp$' || true)
	ntmp=$(temps)
	p1=$(check "$BOX/chk")
	rc=0; issue >"$BOX/rerun$round" 2>&1 || rc=$?
	p2=$(after_rerun "$round" "$BOX/rerun$round" "$nul_issued")
	[ "$rc" = 0 ] || p2="re-run exit $rc; $p2"
	echo "# round $round: $how after $delay ms: $rec of $nst recorded, $nul without stored response, $nout responses and $ntmp temp file(s) in out/"
	if [ -z "$p1$p2" ]; then good=$((good + 1))
	else
		[ -z "$p1" ] || fail "round $round, after the kill: $(echo "$p1" | head -5 | tr '\n' ';')"
		[ -z "$p2" ] || fail "round $round, after the re-run: $(echo "$p2" | head -5 | tr '\n' ';')"
	fi
done
[ "$good" = "$ROUNDS" ] && pass "$ROUNDS kill -9 rounds ($landed landed mid-batch) survived: ledger consistent after each kill; each re-run completed the batch with every seat spent once and every response reproducible"
echo "# kill rounds took $(( $(date +%s) - t1 )) s (seed $SEED)"
t_done
