#!/usr/bin/env bash
# pg_bench.sh — issue 16's measurements for the PostgreSQL ledger (README.md
# here, "PostgreSQL").  A measurement, never a timed test: it prints the
# figures and the targets, exit 0 when every step ran whatever the verdicts.
#
#   tests/bench/pg_bench.sh [--n N] [--rows R] [--rounds K] [--build DIR] [--keep]
#
#   (a) a batch of N requests (klic-admin issue --jobs 2) on a fresh
#       PostgreSQL ledger against the same batch on a fresh SQLite ledger:
#       target <= 1.2x;
#   (b) two admins (two workstations, two issuer keys, one ledger) each
#       issuing N/2 at the same moment against one admin issuing all N
#       alone, both on fresh PostgreSQL ledgers: combined throughput
#       target >= 0.9x (no collapse under the writer lock);
#   (c) the batch on a PostgreSQL ledger holding R licenses (default
#       1,000,000, written by SQL as tests/bench/bench.sh does for SQLite)
#       against an empty one: target <= 1.1x.
# Each figure is the median of K rounds (default 3), the two sides of a
# ratio measured alternately.  It starts its own server (tests/pg/with_pg.sh)
# unless run under one already.  Needs root for nothing; the same requests
# come from 4 members, one fake machine each (klic_test_mkreq --machine-hex).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
N=200 ROWS=1000000 ROUNDS=3 BUILD=$ROOT/build/normal
usage() { echo "usage: pg_bench.sh [--n N] [--rows R] [--rounds K] [--build DIR] [--keep]"; }
while [ $# -gt 0 ]; do
	case $1 in
	--n) N=$2; shift 2 ;;
	--rows) ROWS=$2; shift 2 ;;
	--rounds) ROUNDS=$2; shift 2 ;;
	--build) BUILD=$(cd "$2" && pwd); shift 2 ;;
	--keep) export KEEP=1; shift ;;
	-h | --help) usage; exit 0 ;;
	*) usage >&2; exit 2 ;;
	esac
done
if [ -z "${KLIC_PG_DIR:-}" ]; then
	exec bash "$ROOT/tests/pg/with_pg.sh" bash "$0" --n "$N" --rows "$ROWS" --rounds "$ROUNDS" --build "$BUILD"
fi
ADMIN=$BUILD/response/klic-admin MKREQ=$BUILD/tests/admin/klic_test_mkreq
export KLIC_VENDOR=${KLIC_VENDOR:-$BUILD/response/vendor/klic-vendor}
for b in "$ADMIN" "$MKREQ" "$KLIC_VENDOR"; do [ -x "$b" ] || { echo "pg_bench: no $b (build first: --build DIR)" >&2; exit 1; }; done
[ "$N" -ge 2 ] || { echo "pg_bench: --n must be 2 or more" >&2; exit 2; }
. "$ROOT/tests/lib.sh"
. "$ROOT/tests/pg/pglib.sh"
set -- "$ADMIN" "$MKREQ" none
. "$ROOT/tests/pg/common.sh"
log() { echo "pg_bench: $*" >&2; }
calc() { awk "BEGIN { printf \"%.${2:-2}f\", $1 }"; }
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
verdict() { awk -v v="$1" -v op="$2" -v l="$3" 'BEGIN { ok = (op == "<=") ? (v + 0 <= l + 0) : (v + 0 >= l + 0); print ok ? "MET" : "NOT MET" }'; }

t_vendor
mkdir -m 700 "$BOX/ga" "$BOX/gb"
# the two issuer keys (site A's and site B's), made once
"$ADMIN" --state "$BOX/keya" --gnupghome "$BOX/ga" init --org "Bench Org" --name "Site A" --email a@test.invalid --vendor "$BOX/vendor.asc" >keya.txt
"$ADMIN" --state "$BOX/keyb" --gnupghome "$BOX/gb" init --org "Bench Org" --name "Site B" --email b@test.invalid --vendor "$BOX/vendor.asc" >keyb.txt
FA=$(awk '/^issuer/ {print $2}' keya.txt) FB=$(awk '/^issuer/ {print $2}' keyb.txt)
"$ADMIN" --state "$BOX/keya" --gnupghome "$BOX/ga" export-key -o a.asc >/dev/null
"$ADMIN" --state "$BOX/keyb" --gnupghome "$BOX/gb" export-key -o b.asc >/dev/null
vendor_entitle ent.kent "Bench Org" $((N + 10)) KRE a.asc b.asc
users=(ada bob cyd dan)
for u in "${users[@]}"; do mkuser "$u"; req "$u" "seed-$u.kreq" --machine-hex "$(mid $((5000 + ${#u})))"; done
log "making $N requests"
mkdir reqs
for ((i = 0; i < N; i++)); do
	req "${users[i % 4]}" "reqs/q$(printf '%05d' "$i").kreq" --product KRE --seats 1 --machine-hex "$(mid "$i")" &
	(( i % 4 == 3 )) && wait
done
wait
# the two halves for (b): site A's members' requests, site B's
mkdir half-a half-b
for ((i = 0; i < N; i++)); do
	f=reqs/q$(printf '%05d' "$i").kreq
	if (( i % 4 < 2 )); then ln "$f" half-a/; else ln "$f" half-b/; fi
done

DBN=0
# ledger SITE MEMBERS...: a fresh ledger (PostgreSQL: a new database;
# SITE sq: the SQLite default) with site SITE's state; prints the state
# folder in $ST, its URL in $ST.url, its GNUPGHOME in $ST.g
# (not in a subshell: DBN counts on)
ledger() {
	local site=$1 st url g fpr; shift
	DBN=$((DBN + 1)); st=$BOX/st$DBN
	case $site in
	sq) url="" g=$BOX/ga fpr=$FA ;;
	a | b)
		if [ -z "${LEDGER_URL:-}" ]; then
			"$KLIC_PG_BIN/createdb" -h "$KLIC_PG_DIR" "b$DBN"
			url="postgresql:///b$DBN?host=$KLIC_PG_DIR"
		else url=$LEDGER_URL; fi
		if [ "$site" = a ]; then g=$BOX/ga fpr=$FA; else g=$BOX/gb fpr=$FB; fi ;;
	esac
	local lo=(); [ -n "$url" ] && lo=(--ledger "$url")
	"$ADMIN" --state "$st" --gnupghome "$g" "${lo[@]}" init --org "Bench Org" --name "Site $site" \
		--email "$site@test.invalid" --key "$fpr" --vendor "$BOX/vendor.asc" >/dev/null
	[ -n "${LEDGER_URL:-}" ] || "$ADMIN" --state "$st" --gnupghome "$g" "${lo[@]}" entitlement import ent.kent >/dev/null
	local u
	for u in "$@"; do "$ADMIN" --state "$st" --gnupghome "$g" "${lo[@]}" member add --yes --from-request "seed-$u.kreq" >/dev/null; done
	printf '%s\n' "$url" >"$st.url"
	printf '%s\n' "$g" >"$st.g"
	ST=$st
}
# run STATE DIR: issue every request of DIR; prints the wall seconds
run() {
	local st=$1 dir=$2 url g t0 lo=()
	url=$(cat "$st.url"); [ -n "$url" ] && lo=(--ledger "$url")
	g=$(cat "$st.g")
	rm -rf "$st.out"; mkdir "$st.out"
	t0=$EPOCHREALTIME
	"$ADMIN" --state "$st" --gnupghome "$g" "${lo[@]}" issue "$dir" -o "$st.out" --yes --jobs 2 >"$st.log" 2>&1 ||
		{ log "issue failed: $(tail -n 3 "$st.log")"; exit 1; }
	grep -q "^issued: $(ls "$dir" | wc -l), denied: 0" "$st.log" || { log "not all issued: $(tail -n 1 "$st.log")"; exit 1; }
	calc "$EPOCHREALTIME - $t0" 3
}

# (a) PostgreSQL against SQLite
A_PG=() A_SQ=()
for ((k = 1; k <= ROUNDS; k++)); do
	log "(a) round $k: batch of $N on SQLite, then on PostgreSQL"
	ledger sq "${users[@]}"; s=$ST; A_SQ+=("$(run "$s" reqs)")
	ledger a "${users[@]}"; s=$ST; A_PG+=("$(run "$s" reqs)")
done
a_sq=$(median "${A_SQ[@]}") a_pg=$(median "${A_PG[@]}")

# (b) two admins at once against one alone
B_ONE=() B_TWO=()
for ((k = 1; k <= ROUNDS; k++)); do
	log "(b) round $k: one admin, $N requests; two admins, $((N / 2)) each at once"
	ledger a "${users[@]}"; s=$ST; B_ONE+=("$(run "$s" reqs)")
	ledger a ada bob; sa=$ST
	LEDGER_URL=$(cat "$sa.url") ledger b cyd dan; sb=$ST
	t0=$EPOCHREALTIME
	run "$sa" half-a >ta.txt &
	pa=$!
	run "$sb" half-b >tb.txt &
	pb=$!
	wait "$pa"; wait "$pb"
	B_TWO+=("$(calc "$EPOCHREALTIME - $t0" 3)")
	log "(b) round $k: site A $(cat ta.txt) s, site B $(cat tb.txt) s"
done
b_one=$(median "${B_ONE[@]}") b_two=$(median "${B_TWO[@]}")

# (c) a ledger of ROWS licenses against an empty one
C_BIG=() C_EMPTY=()
ledger a "${users[@]}"; big=$ST
bigurl=$(cat "$big.url")
log "(c) writing $ROWS licenses into $bigurl"
t0=$EPOCHREALTIME
psql -X -q -v ON_ERROR_STOP=1 "$bigurl" >/dev/null <<SQL
BEGIN;
INSERT INTO entitlements (product, model, billing, seats, until, ref, created)
VALUES ('KRE', 'node-locked', 'yearly', $ROWS, to_char(now() + interval '300 days', 'YYYY-MM-DD'), 'bench-history',
        to_char(now() - interval '3 years', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'));
CREATE TEMP TABLE h AS SELECT (SELECT max(id) FROM entitlements) AS ent,
  extract(epoch FROM now())::bigint AS now, (SELECT min(fingerprint) FROM members) AS member;
INSERT INTO requests (digest, member_fpr, machine_id, product, seats, status, reason_code, reason,
                      entitlement_id, created, response)
SELECT encode(sha256(('bench-' || i)::bytea), 'hex'), h.member,
  'BENCH-' || lpad(((i % 100000) / 10)::text, 5, '0') || '-' || lpad((i % 10)::text, 5, '0') || '-00000-00000',
  'KRE', 1, 'issued', NULL, NULL, h.ent,
  to_char(to_timestamp(h.now - 94608000 + (i::bigint * 94608000) / $ROWS) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
  'bench-history'::bytea
FROM generate_series(0, $ROWS - 1) i, h;
INSERT INTO licenses (license_id, request_digest, seat, machine_id, product, issued, expires,
                      entitlement_id, member_fpr, file)
SELECT lpad(to_hex(t * 1000 + (random() * 999)::int), 12, '0') || substr(md5(r.digest), 1, 20), r.digest, 1,
  r.machine_id, 'KRE', t, t + 5184000, r.entitlement_id, r.member_fpr, 'KRE_' || r.machine_id || '.lic'
FROM (SELECT r.*, extract(epoch FROM (r.created)::timestamptz)::bigint AS t FROM requests r, h
      WHERE r.entitlement_id = h.ent) r;
-- the seat counter klic keeps from its first issue on (spec/ledger-3.sql)
INSERT INTO entitlement_usage (entitlement_id, as_of, active)
SELECT h.ent, h.now, (SELECT count(*) FROM licenses x WHERE x.entitlement_id = h.ent AND x.expires > h.now)
FROM h;
COMMIT;
VACUUM ANALYZE;
SQL
c_pop=$(calc "$EPOCHREALTIME - $t0" 1)
nbig=$(psql -X -At "$bigurl" -c 'SELECT count(*) FROM licenses')
[ "$nbig" = "$ROWS" ] || { log "(c): $nbig licenses, not $ROWS"; exit 1; }
mb=$(psql -X -At "$bigurl" -c 'SELECT pg_database_size(current_database()) / 1048576')
# every round: a copy of the full ledger (CREATE DATABASE ... TEMPLATE) and a
# fresh empty one, the same N requests on each
for ((k = 1; k <= ROUNDS; k++)); do
	log "(c) round $k: batch of $N on the $ROWS-license ledger, then on an empty one"
	DBN=$((DBN + 1))
	psql -X -q "postgresql:///klic?host=$KLIC_PG_DIR" -c "CREATE DATABASE b$DBN TEMPLATE $(basename "${bigurl%%\?*}")"
	cp -a "$big" "$BOX/st$DBN"; cp "$big.g" "$BOX/st$DBN.g"
	echo "postgresql:///b$DBN?host=$KLIC_PG_DIR" >"$BOX/st$DBN.url"
	C_BIG+=("$(run "$BOX/st$DBN" reqs)")
	ledger a "${users[@]}"; s=$ST; C_EMPTY+=("$(run "$s" reqs)")
done
c_big=$(median "${C_BIG[@]}") c_empty=$(median "${C_EMPTY[@]}")

ra=$(calc "$a_pg / $a_sq") rb=$(calc "$b_one / $b_two") rc=$(calc "$c_big / $c_empty")
cat <<EOF2
== details
(a) batch of $N, SQLite s:     ${A_SQ[*]}
(a) batch of $N, PostgreSQL s: ${A_PG[*]}
(b) one admin, $N requests s:  ${B_ONE[*]}
(b) two admins, $((N / 2)) each s:  ${B_TWO[*]}
(c) $ROWS licenses (${mb} MiB, written in ${c_pop} s), batch s: ${C_BIG[*]}
(c) empty ledger, batch s:     ${C_EMPTY[*]}
host: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), PostgreSQL $("$KLIC_PG_BIN/postgres" --version | awk '{print $3}') (fsync=off)
== summary (medians of $ROUNDS rounds)
figure                                         value    target   verdict
PostgreSQL / SQLite, batch of $N               ${ra}x   <= 1.2x  $(verdict "$ra" '<=' 1.2)
two admins / one admin, throughput             ${rb}x   >= 0.9x  $(verdict "$rb" '>=' 0.9)
ledger of $ROWS / empty, PostgreSQL            ${rc}x   <= 1.1x  $(verdict "$rc" '<=' 1.1)
EOF2
