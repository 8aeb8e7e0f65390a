#!/usr/bin/env bash
# kill -9 in the middle of a batch of 30, then run the batch again: every
# request has exactly one stored response, seats spent == license rows,
# integrity_check and the audit chain are fine.
# usage: crash.sh KLIC_ADMIN MKREQ [KLIC|none]
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/common.sh"

N=30
admin init --org "Crash Org" --name "Admin" --email admin@test.invalid >/dev/null
setup_verifier
mkuser ada
req ada seed.kreq --product KRE; admin member add --from-request seed.kreq >/dev/null
admin entitlement add --product KRE --model node-locked --billing yearly --seats 1000 \
	--until "$(date -u -d '+400 days' +%F)" >/dev/null
files=()
for ((i = 1; i <= N; i++)); do
	seats=$(( (i % 3) + 1 ))
	req ada "r$i.kreq" --product KRE --seats "$seats"
	files+=("r$i.kreq")
done
want_seats=$(for ((i = 1; i <= N; i++)); do echo $(( (i % 3) + 1 )); done | paste -sd+ | bc)

"$ADMIN" --state "$A" issue "${files[@]}" -o out --yes --jobs 2 >"$BOX/o1" 2>&1 &
pid=$!
# wait until some requests are spent, then kill it hard
for ((t = 0; t < 600; t++)); do
	n=$(ledger 'SELECT count(*) FROM requests' 2>/dev/null || echo 0)
	[ "${n:-0}" -ge 5 ] && break
	sleep 0.05
done
kill -9 "$pid" 2>/dev/null || true
wait "$pid" 2>/dev/null || true
spent=$(ledger 'SELECT count(*) FROM requests')
if [ "$spent" -ge 1 ] && [ "$spent" -lt "$N" ]; then pass "killed after $spent of $N requests were recorded"
else echo "# note: kill landed after $spent of $N requests"; fi
pending=$(ledger 'SELECT count(*) FROM requests WHERE response IS NULL')
echo "# after the kill: $pending spent request(s) without a stored response"
[ "$(ledger 'PRAGMA integrity_check')" = ok ] && pass "integrity_check ok after kill -9" || fail "integrity_check after kill"

admin issue "${files[@]}" -o out --yes --jobs 2 >"$BOX/o2" 2>&1 || fail "re-run exit: $(tail -3 "$BOX/o2")"
tail -1 "$BOX/o2" | grep -q "errors: 0$" && pass "re-run: $(tail -1 "$BOX/o2")" || fail "re-run: $(tail -1 "$BOX/o2")"
order=$(grep -E '^(OK|DENY|ERR) ' "$BOX/o2" | awk '{print $2}' | tr '\n' ' ')
[ "$order" = "$(printf '%s ' "${files[@]}")" ] && pass "summary lines in input order (2 workers)" || fail "order: $order"
rebuilt=$(grep -c 'rebuilt from the ledger' "$BOX/o2" || true)
[ "$rebuilt" = "$pending" ] && pass "the re-run rebuilt exactly the $pending response(s) the kill interrupted" || fail "rebuilt $rebuilt, pending $pending"
[ "$(ledger 'SELECT count(*) FROM requests')" = "$N" ] && pass "$N request rows" || fail "request rows: $(ledger 'SELECT count(*) FROM requests')"
[ "$(ledger 'SELECT count(*) FROM requests WHERE response IS NULL')" = 0 ] && pass "every request has its stored response" || fail "requests without response"
[ "$(nlic)" = "$want_seats" ] && pass "license rows == seats spent ($want_seats)" || fail "licenses $(nlic), want $want_seats"
[ "$(ledger 'SELECT sum(seats) FROM requests WHERE status = "issued"')" = "$want_seats" ] && pass "request seats == license rows" || fail "request seats"
bad=0
for ((i = 1; i <= N; i++)); do
	f="out/r$i.kresp"
	if [ ! -f "$f" ]; then bad=$((bad + 1)); continue; fi
	unpack "$f" "$BOX/u"
	manifest_ok "$BOX/u" || bad=$((bad + 1))
	want=$(( (i % 3) + 1 ))
	[ "$(tar tzf "$f" | grep -c '\.lic$')" = "$want" ] || bad=$((bad + 1))
	# the file written is exactly the stored response
	dg=$(tar xzOf "r$i.kreq" manifest.json | sha256sum | cut -c1-64)
	cmp -s "$f" <(ledger "SELECT hex(response) FROM requests WHERE digest = '$dg'" | xxd -r -p) || bad=$((bad + 1))
done
[ "$bad" = 0 ] && pass "all $N responses present, signed, N licenses each, equal to the stored bytes" || fail "$bad response problems"
dups=$(ledger 'SELECT count(*) FROM (SELECT request_digest, seat FROM licenses GROUP BY 1, 2 HAVING count(*) > 1)')
[ "$dups" = 0 ] && pass "no seat issued twice" || fail "$dups duplicated seats"
[ "$(ledger 'PRAGMA integrity_check')" = ok ] && pass "integrity_check ok" || fail "integrity_check"
admin audit verify >/dev/null && pass "audit chain verifies" || fail "audit verify"
t_done
