#!/usr/bin/env bash
# pg_crash (issue 16, "Must show"): a batch on a PostgreSQL ledger is cut
# short ROUNDS (2) times, each round with a batch of its own (N=24
# requests: KRE of 1-3 seats, KSE with no KSE entitlement = stored denial,
# a non-member's = denial never stored), --jobs 2:
#   odd rounds:  kill -9 of klic-admin once a random number of seats is
#                spent (and a random few ms more, so the kill also lands
#                while a response is being signed or committed);
#   even rounds: a fast PostgreSQL stop (pg_ctl -m fast: every session
#                cut off) at such a point, then the server is started again.
# After the cut: every issued request has its stored response and exactly
# its seats of licenses, every request its audit row, every response file
# present equals the stored response byte for byte, `audit verify` is clean.
# Then the batch again (exit 0, every request answered, the seats of each
# distinct request spent once over the whole run), and once more into
# another folder: every issued response the same bytes, nothing spent.
# The seed is printed; KLIC_PG_CRASH_SEED=S replays the same points.
# usage: crash.sh KLIC_ADMIN MKREQ KLIC   (under with_pg.sh)
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../lib.sh"
. "$HERE/pglib.sh"
. "$HERE/common.sh"

N=${KLIC_PG_CRASH_N:-24}
ROUNDS=${KLIC_PG_CRASH_ROUNDS:-2}
SEED=${KLIC_PG_CRASH_SEED:-$(( $(date +%s) % 1000000 ))}
RANDOM=$SEED
echo "# seed $SEED (replay: KLIC_PG_CRASH_SEED=$SEED), $ROUNDS rounds of $N requests"
t0=$(date +%s)
S=$BOX/admin
t_vendor
adm "$S" init --org "Crash Org" --name "Crash Admin" --email admin@test.invalid --vendor "$BOX/vendor.asc" >init.txt 2>&1 ||
	{ fail "init: $(cat init.txt)"; t_done; exit 1; }
adm "$S" export-key -o issuer.asc >/dev/null
vendor_entitle kre.kent "Crash Org" 2000 KRE issuer.asc
adm "$S" entitlement import kre.kent >/dev/null
members=(ada bob cyd)
for u in ada bob cyd eve; do mkuser "$u"; done
for u in "${members[@]}"; do
	req "$u" "seed-$u.kreq" --machine-hex "$(mid $((9000 + ${#u} + RANDOM % 100)))"
	adm "$S" member add --yes --from-request "seed-$u.kreq" >/dev/null
done

# the batches: round R's requests in b$R/, expected seats in want[R]
want_total=0
for ((r = 1; r <= ROUNDS; r++)); do
	mkdir "b$r"
	for ((i = 1; i <= N; i++)); do
		f=$(printf 'b%d/q%02d.kreq' "$r" "$i") m=$(mid $((r * 100 + i)))
		if ((i % 12 == 0)); then req eve "$f" --product KRE --seats 1 --machine-hex "$m" &
		elif ((i % 7 == 0)); then req "${members[i % 3]}" "$f" --product KSE --seats 1 --machine-hex "$m" &
		else
			s=$(( (i % 3) + 1 ))
			req "${members[i % 3]}" "$f" --product KRE --seats "$s" --machine-hex "$m" &
			want_total=$((want_total + s))
		fi
		((i % 4)) || wait
	done
	wait
done
echo "# $((ROUNDS * N)) requests made in $(( $(date +%s) - t0 )) s; $want_total seats in all"

used() { pgq "SELECT count(*) FROM licenses"; }
# check NAME OUTDIR: the ledger after a cut; prints one line per problem
check() {
	local x f d
	x=$(pgq "SELECT count(*) FROM requests WHERE status = 'issued' AND response IS NULL")
	[ "$x" = 0 ] || echo "$x issued requests without a stored response"
	x=$(pgq "SELECT count(*) FROM requests r WHERE status = 'issued' AND
		(SELECT count(*) FROM licenses l WHERE l.request_digest = r.digest) <> r.seats")
	[ "$x" = 0 ] || echo "$x requests whose license rows differ from their seats"
	x=$(pgq "SELECT count(*) FROM requests r WHERE NOT EXISTS (SELECT 1 FROM audit a WHERE a.digest = r.digest)")
	[ "$x" = 0 ] || echo "$x requests without an audit row"
	x=$(pgq "SELECT count(*) FROM requests WHERE status = 'denied' AND reason_code = 'not-member'")
	[ "$x" = 0 ] || echo "$x not-member denials stored"
	for f in "$2"/*.kresp; do
		[ -e "$f" ] || continue
		d=$(digest "$1/$(basename "$f" .kresp).kreq")
		x=$(pgq "SELECT encode(response, 'hex') FROM requests WHERE digest = '$d'")
		if [ -z "$x" ]; then
			[ "$(tar xzOf "$f" manifest.json | "$PY" -c 'import json,sys; print(json.load(sys.stdin).get("reason_code"))')" = not-member ] ||
				echo "$f written, but its request holds no stored response"
		elif [ "$(sha256sum <"$f" | cut -c1-64)" != "$(echo "$x" | xxd -r -p | sha256sum | cut -c1-64)" ]; then
			echo "$f differs from its stored response"
		fi
	done
	x=0; adm "$S" audit verify >verify.txt 2>&1 || x=$?
	[ "$x" = 0 ] || echo "audit verify: rc $x $(cat verify.txt)"
	x=$(pgq "SELECT count(*) FROM (SELECT request_digest, seat FROM licenses GROUP BY 1, 2 HAVING count(*) > 1) t")
	[ "$x" = 0 ] || echo "a seat issued twice"
}

good=0 landed=0 spent=0
for ((r = 1; r <= ROUNDS; r++)); do
	mkdir "out$r"
	n0=$(used)
	seats_r=$(for f in "b$r"/*.kreq; do tar xzOf "$f" manifest.json; echo; done | "$PY" -c '
import json, sys
print(sum(m["seats"] for m in map(json.loads, filter(str.strip, sys.stdin)) if m["product"] == "KRE"))')
	# eve's requests are not a member's: no seats for them
	seats_r=$((seats_r - N / 12))
	target=$((n0 + 1 + RANDOM % (seats_r - 1)))
	extra=$((RANDOM % 150))
	"$ADMIN" --state "$S" --ledger "$PG_URL" issue "b$r" -o "out$r" --yes --jobs 2 >"run$r.txt" 2>&1 &
	pid=$!
	while kill -0 "$pid" 2>/dev/null && [ "$(used)" -lt "$target" ]; do sleep 0.02; done
	sleep "0.$(printf '%03d' "$extra")"
	if ((r % 2)); then
		how="kill -9"
		kill -9 "$pid" 2>/dev/null && landed=$((landed + 1)) || how="(finished before) kill -9"
		wait "$pid" 2>/dev/null || true
	else
		how="fast server stop"
		kill -0 "$pid" 2>/dev/null && landed=$((landed + 1)) || how="(finished before) fast server stop"
		pg_stop_fast
		rc=0; wait "$pid" || rc=$?
		pg_start
		if [ "$how" = "fast server stop" ]; then
			if [ "$rc" = 0 ]; then how="$how (exit 0: it had no request left to record)"
			elif ! grep -q 'ledger postgres' "run$r.txt"; then fail "round $r: no line names the ledger: $(tail -n 3 "run$r.txt")"; fi
		fi
	fi
	cut=$(used)
	p1=$(check "b$r" "out$r")
	rc=0; adm "$S" issue "b$r" -o "out$r" --yes --jobs 2 >"rerun$r.txt" 2>&1 || rc=$?
	spent=$((spent + seats_r))
	p2=$(check "b$r" "out$r")
	[ "$rc" = 0 ] || p2="re-run exit $rc: $(tail -n 2 "rerun$r.txt"); $p2"
	[ "$(used)" = "$spent" ] || p2="$(used) seats spent, want $spent; $p2"
	[ "$(ls "out$r" | grep -c '\.kresp$')" = "$N" ] || p2="$(ls "out$r" | grep -c '\.kresp$') of $N answered; $p2"
	mkdir "again$r"
	adm "$S" issue "b$r" -o "again$r" --yes --jobs 2 >"again$r.txt" 2>&1 || true
	same=0 nis=0
	for f in "out$r"/*.kresp; do
		[ "$(mstatus "$f")" = issued ] || continue
		nis=$((nis + 1)); cmp -s "$f" "again$r/$(basename "$f")" && same=$((same + 1))
	done
	[ "$same" = "$nis" ] && [ "$(used)" = "$spent" ] || p2="third run: $same of $nis identical, $(used) spent; $p2"
	echo "# round $r: $how at $((cut - n0)) of $seats_r seats (target $((target - n0)), +${extra} ms); re-run: $(tail -n 1 "rerun$r.txt")"
	if [ -z "$p1$p2" ]; then good=$((good + 1))
	else
		[ -z "$p1" ] || fail "round $r, after the cut: $(echo "$p1" | head -5 | tr '\n' ';')"
		[ -z "$p2" ] || fail "round $r, after the re-runs: $(echo "$p2" | head -5 | tr '\n' ';')"
	fi
done
[ "$good" = "$ROUNDS" ] && pass "$ROUNDS cuts ($landed landed mid-batch): consistent after each; each re-run finished the batch, every seat spent once ($spent of $want_total), every issued response reproducible byte for byte"
[ "$spent" = "$want_total" ] || fail "spent $spent, the batches hold $want_total"
echo "# total $(( $(date +%s) - t0 )) s"
t_done
