#!/usr/bin/env bash
# kill -9 at random points of a batch of 200 requests, ROUNDS times (10),
# each kill followed by a ledger consistency check and a re-run of the same
# batch (the next round's run, which must first repair what the kill left),
# then a final re-run to completion and a second one that must change
# nothing.  The batch: KRE requests of 1-3 seats by three members, KSE
# requests (no KSE entitlement: stored denial), requests by a non-member
# (denial, never stored), issued with --jobs 2.
#
# Kill points: for each round a target count of recorded requests is drawn
# (distinct, spread over the whole batch); the run is killed once the ledger
# holds that many, after a further random 0-99 ms, so kills land in seat
# transactions, signing, storing and writing alike.  The seed is printed;
# KLIC_CRASH_SEED=S replays the same targets (the exact instants still
# depend on timing).
#
# After every kill: PRAGMA integrity_check, `klic-admin audit verify`, each
# recorded request is one of the expected rows with exactly its seats of
# license rows and one issued/denied audit row, each response file present
# equals the stored response.  After the final re-run: every request
# answered, every stored response written and byte-identical to the file
# (reproducible), seats spent == the sum over distinct requests (none twice),
# no temporary file in the output folder.
# usage: crash.sh KLIC_ADMIN MKREQ [KLIC|none]
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../lib.sh"
# a private sandbox name (a cleanup of leftover /tmp/klic-t-* boxes on a
# shared machine must not pull it away during the minutes this runs)
rmdir "$BOX"
BOX=$(mktemp -d /tmp/klic-crash-XXXXXX)
. "$HERE/common.sh"
PY=python3; [ -x /usr/bin/python3 ] && PY=/usr/bin/python3

N=${KLIC_CRASH_N:-200}
ROUNDS=${KLIC_CRASH_ROUNDS:-10}
SEED=${KLIC_CRASH_SEED:-$(( $(date +%s) % 1000000 ))}
RANDOM=$SEED
echo "# seed $SEED (replay: KLIC_CRASH_SEED=$SEED), $N requests, $ROUNDS kills"

t0=$(date +%s)
admin init --org "Crash Org" --name "Admin" --email admin@test.invalid >/dev/null
admin entitlement add --product KRE --model node-locked --billing yearly --seats 1000 \
	--until "$(date -u -d '+400 days' +%F)" >/dev/null
for u in ada bob cyd eve; do mkuser "$u"; done
for u in ada bob cyd; do req "$u" "seed-$u.kreq" --product KRE; admin member add --from-request "seed-$u.kreq" >/dev/null; done

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
# check [--final]: the consistency checks; prints problems, nothing when fine
check() {
	"$PY" "$HERE/../fault/ledger_check.py" "$A" out --clean "$BOX/expected_rows" "${req_args[@]}" \
		"${uns_args[@]}" "$@" | grep -v '^temporary file' || true
	admin audit verify >/dev/null 2>"$BOX/audit_err" || echo "audit verify: $(tail -1 "$BOX/audit_err")"
}
temps() { find out -name '*.tmp*' 2>/dev/null | wc -l; }
recorded() { ledger 'SELECT count(*) FROM requests' 2>/dev/null || echo 0; }

# Kill targets: ROUNDS distinct counts of recorded requests in 1 .. stored-1.
nst=${#stored[@]}
targets=$(for ((k = 0; k < ROUNDS * 4; k++)); do echo $(( RANDOM % (nst - 1) + 1 )); done | awk '!seen[$0]++' | head -"$ROUNDS" | sort -n)
t1=$(date +%s)
round=0 ok_rounds=0
for target in $targets; do
	round=$((round + 1))
	jitter=$(( RANDOM % 100 ))
	"$ADMIN" --state "$A" issue "${files[@]}" -o out --yes --jobs 2 >"$BOX/run$round" 2>&1 &
	pid=$!
	while kill -0 "$pid" 2>/dev/null && [ "$(recorded)" -lt "$target" ]; do sleep 0.02; done
	sleep "0.$(printf '%02d' "$jitter")"
	if kill -9 "$pid" 2>/dev/null; then how="killed"; else how="finished before the kill"; fi
	wait "$pid" 2>/dev/null || true
	rec=$(recorded); nul=$(ledger 'SELECT count(*) FROM requests WHERE response IS NULL')
	rebuilt=$(grep -c 'rebuilt from the ledger' "$BOX/run$round" || true)
	p=$(check)
	echo "# round $round: target $target + ${jitter} ms: $how at $rec recorded, $nul without stored response, $(temps) temp file(s) in out/; this run rebuilt $rebuilt"
	if [ -z "$p" ]; then ok_rounds=$((ok_rounds + 1)); else fail "round $round (target $target): $(echo "$p" | head -5 | tr '\n' ';')"; fi
done
[ "$ok_rounds" = "$round" ] && pass "$round kill -9 rounds: ledger consistent after each (integrity, audit chain, seats, stored responses)" || true

# The final re-run completes the batch.
nul=$(ledger 'SELECT count(*) FROM requests WHERE response IS NULL')
rc=0; admin issue "${files[@]}" -o out --yes --jobs 2 >"$BOX/final" 2>&1 || rc=$?
tally=$(tail -1 "$BOX/final")
[ "$rc" = 0 ] && [[ "$tally" == *"errors: 0" ]] && pass "final re-run: $tally" || fail "final re-run: exit $rc: $tally $(grep -m3 ERR "$BOX/final")"
rebuilt=$(grep -c 'rebuilt from the ledger' "$BOX/final" || true)
[ "$rebuilt" = "$nul" ] && pass "the final re-run rebuilt exactly the $nul response(s) the last kill left unstored" || fail "rebuilt $rebuilt, unstored $nul"
order=$(grep -E '^(OK|DENY|ERR) ' "$BOX/final" | awk '{print $2}' | tr '\n' ' ')
[ "$order" = "$(printf '%s ' "${files[@]}")" ] && pass "summary lines in input order (2 workers)" || fail "summary order"
p=$(check --final --seats "$want_seats")
[ -z "$p" ] && pass "every request answered once: $nst rows as expected, $want_seats license rows == seats asked, each response file == the stored response; integrity_check and audit chain ok" || fail "after the final re-run: $(echo "$p" | head -5 | tr '\n' ';')"
dups=$(ledger 'SELECT count(*) FROM (SELECT request_digest, seat FROM licenses GROUP BY 1, 2 HAVING count(*) > 1)')
[ "$dups" = 0 ] && pass "no seat issued twice" || fail "$dups duplicated seats"
nt=$(temps)
[ "$nt" = 0 ] && pass "no temporary file in the output folder" || fail "$nt temporary file(s) left in out/ by the kills: $(find out -name '*.tmp*' | head -3 | tr '\n' ' ')"

# Once more: nothing is spent, every output is byte-identical (reproducible).
outs=(); for s in "${stored[@]}"; do outs+=("out/${s%%=*}.kresp"); done
sum1=$(sha256sum "${outs[@]}")
rc=0; admin issue "${files[@]}" -o out --yes --jobs 2 >"$BOX/again" 2>&1 || rc=$?
sum2=$(sha256sum "${outs[@]}")
[ "$rc" = 0 ] && [ "$sum1" = "$sum2" ] && [ "$(nlic)" = "$want_seats" ] && [ "$(tail -1 "$BOX/again")" = "issued: 0, denied: $(( ${#unstored[@]} )), re-issued: $nst, errors: 0" ] \
	&& pass "another re-run: nothing spent, every stored response re-issued byte-identical ($(tail -1 "$BOX/again"))" \
	|| fail "another re-run: exit $rc, $(tail -1 "$BOX/again"), licenses $(nlic)"
echo "# kill rounds and re-runs took $(( $(date +%s) - t1 )) s"
t_done
