#!/usr/bin/env bash
# Fault injection into a real `klic-admin issue` batch (1-seat and 3-seat
# KRE requests, a KSE request denied no-entitlement, a request by a
# non-member): every write, fsync, rename, create and truncate the admin
# tool makes under its state and output folders, SQLite's included, fails
# in turn through the LD_PRELOAD shim tests/fault/shim.c: once with EIO,
# with ENOSPC that persists (disk full), and as a crash (SIGKILL just
# before the call: exit 137, no message; temporary files the kill
# interrupted may remain until the re-run).  After each injected failure:
#   - exit 0 (the call did not matter), or non-zero with one stderr line
#     per failed request ("klic-admin: FILE: ..."; exactly one for a
#     one-shot fault);
#   - the ledger (checked on a copy, so the re-run does its own recovery):
#     PRAGMA integrity_check ok, `klic-admin audit verify` ok, every request
#     row is one of the clean run's rows with exactly its seats of license
#     rows and one issued/denied audit row, every response file written
#     equals the stored response; no temporary files;
#   - a re-run of the same batch without the fault exits 0 and reaches the
#     clean run's ledger: same request rows, one seat per requested seat
#     (seats spent once), every response file equal to the stored one.
# usage: issue.sh KLIC_ADMIN MKREQ SHIM.so
. "$(dirname "$0")/../lib.sh"
ADMIN=$1
MKREQ=$2
SHIM=$(realpath "$3")
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/common.sh"

SNAP="$BOX/snap/state"; RUN="$BOX/run"; A="$RUN/state"; OUT="$RUN/out"
mkuser() {
	mkdir -m 700 "$BOX/gnupg-$1"
	gpg --homedir "$BOX/gnupg-$1" --batch --quiet --pinentry-mode loopback --passphrase '' \
		--quick-gen-key "$1 <$1@test.invalid>" ed25519 sign never 2>/dev/null
}
req() { local u=$1 out=$2; shift 2; "$MKREQ" --signer-home "$BOX/gnupg-$u" -o "$out" "$@" >/dev/null; }
q() { sqlite3 "$1/ledger.sqlite" "$2"; }

# --- the ledger snapshot and the batch --------------------------------------
mkdir -p "$BOX/snap" "$BOX/gnupg-admin"; chmod 700 "$BOX/gnupg-admin"
T_ADMIN_OPTS=(--gnupghome "$BOX/gnupg-admin")
t_org_setup "$SNAP" "Fault Org" 50 KRE
T_ADMIN_OPTS=()
mkuser ada; mkuser eve
req ada r1.kreq --product KRE --seats 1
req ada r3.kreq --product KRE --seats 3
req ada k1.kreq --product KSE --seats 1
req eve x1.kreq --product KRE --seats 1
"$ADMIN" --state "$SNAP" member add --yes --from-request r1.kreq >/dev/null
q "$SNAP" 'PRAGMA wal_checkpoint(TRUNCATE)' >/dev/null
BATCH=(r1.kreq r3.kreq k1.kreq x1.kreq)
STORED=(r1 r3 k1) # x1 (not-member) is answered but never stored
declare -A DIGEST
for r in r1 r3 k1 x1; do DIGEST[$r]=$(tar xzOf "$r.kreq" manifest.json | sha256sum | cut -c1-64); done

restore() { rm -rf "$RUN"; mkdir -p "$RUN"; cp -a "$SNAP" "$A"; }
ISSUE=("$ADMIN" --state "$A" issue "${BATCH[@]}" -o "$OUT" --yes --jobs 1)
rows() { q "$1" "SELECT digest || ' ' || status || ' ' || seats || ' ' || coalesce(reason_code, '') FROM requests ORDER BY digest"; }

# ledger_problems STATE OUTDIR FINAL: the consistency checks (ledger_check.py
# and the audit chain); prints one short line per problem, nothing when
# consistent.  FINAL=1 also wants the clean run's complete result.
ledger_problems() {
	local st=$1 out=$2 final=$3 args=() r
	for r in "${STORED[@]}"; do args+=(--req "$r=${DIGEST[$r]}"); done
	[ "$final" = 1 ] && args+=(--final --seats "$CLEAN_SEATS" --unstored x1)
	"$PY" "$HERE/ledger_check.py" "$st" "$out" --clean "$BOX/clean_rows" "${args[@]}" || true
	"$ADMIN" --state "$st" audit verify >/dev/null 2>"$BOX/audit_err" || echo "audit verify: $(tail -1 "$BOX/audit_err")"
}

# --- the clean run -----------------------------------------------------------
restore; rm -f "$BOX/log"
rc=0; shim "$RUN" "$BOX/log" "" "${ISSUE[@]}" >"$BOX/o" 2>"$BOX/err" || rc=$?
rows "$A" >"$BOX/clean_rows"
CLEAN_SEATS=$(q "$A" 'SELECT count(*) FROM licenses')
POINTS=$(wc -l <"$BOX/log" 2>/dev/null || echo 0)
[ "$POINTS" -gt 0 ] || { fail "the shim counted no call (not preloaded?)"; t_done; exit 1; }
if [ "$rc" -ne 0 ] || [ "$(tail -1 "$BOX/o")" != "issued: 2, denied: 2, re-issued: 0, errors: 0" ] || [ "$CLEAN_SEATS" != 4 ]; then
	fail "clean run: exit $rc, $(tail -1 "$BOX/o"), $CLEAN_SEATS seats: $(cat "$BOX/err")"; t_done; exit 1
fi
p=$(ledger_problems "$A" "$OUT" 1)
# the clean run may be one of the short ones (see the loop below): the
# longest of it and 5 more counted runs gives the injection points
for ((k = 0; k < 5; k++)); do
	restore; rm -f "$BOX/log2"
	shim "$RUN" "$BOX/log2" "" "${ISSUE[@]}" >/dev/null 2>&1 || { fail "counted run $k failed"; t_done; exit 1; }
	[ "$(wc -l <"$BOX/log2")" -le "$POINTS" ] || { mv "$BOX/log2" "$BOX/log"; POINTS=$(wc -l <"$BOX/log"); }
done
[ -z "$p" ] && pass "clean run: 2 issued (4 seats), 2 denied; consistent" || fail "clean run: $p"
echo "# issue batch of ${#BATCH[@]}: $POINTS injection points ($(cut -d' ' -f2,4 "$BOX/log" | sort | uniq -c | awk '{printf "%s %s/%s, ", $1, $2, $3}'))"

# The points to fault.  SQLite writes a transaction's pages to the WAL, and
# a checkpoint's to the database, as a run of pwrite64 calls to one file;
# a failure anywhere inside such a run reaches klic as the same failed
# step or commit, so inside a run only its first, its last and every
# KLIC_FAULT_RUN_STEP-th call (default 8; 1 = every call) are faulted.
# Every other call is faulted; KLIC_FAULT_STRIDE then takes every Kth point
# of that plan.
PLAN=$(awk -v k="${KLIC_FAULT_RUN_STEP:-8}" -v stride="$STRIDE" '
	{ key[NR] = ($4 == "pwrite64") ? $4 " " $6 : "" }
	END {
		for (n = 1; n <= NR; n++) {
			if (key[n] == "" || key[n] != key[n - 1]) s = n
			if (key[n] == "" || n == s || key[n + 1] != key[n] || (n - s) % k == 0)
				if (i++ % stride == 0) printf "%d ", n
		}
	}' "$BOX/log")
echo "# faulted: $(wc -w <<<"$PLAN") of the $POINTS points (runs of SQLite page writes sampled every ${KLIC_FAULT_RUN_STEP:-8}; stride $STRIDE; $([ "$ROTATE" = 1 ] && echo "each with one of the $NMODES modes in turn" || echo "each with every mode"))"

TOTAL=0
mi=-1
for mode in $FAULT_MODES; do
	mi=$((mi + 1)) k=-1
	echo "# issue, $mode:"
	NOTES=0 bad=0 absorbed=0 failed=0 missed=0 retried=0 rerun_bad=0 covered=0 killed_temps=0
	declare -A rcs=() example=()
	for n in $PLAN; do
		k=$((k + 1))
		skip_point "$mi" "$k" && continue
		covered=$((covered + 1))
		# The number of calls is not the same in every run: the responses
		# hold random license IDs and signatures, so their gzip size varies
		# by a few bytes, and a requests row whose response crosses
		# SQLite's local-payload limit writes a few pages fewer (the
		# 3-seat one: about 1 run in 15 makes 105 calls instead of 111).
		# A run that ended before the Nth call is run again, up to 5 times
		# in all; a point none of them reached fails the loop.
		for ((try = 1; try <= 5; try++)); do
			restore; rm -f "$BOX/log"
			rc=0; shim "$RUN" "$BOX/log" "any:$n:$mode" "${ISSUE[@]}" >"$BOX/o" 2>"$BOX/err" || rc=$?
			what=$(fault_what "$BOX/log" "$RUN")
			[ -z "$what" ] || break
			retried=$((retried + 1))
		done
		[ -n "$what" ] || missed=$((missed + 1))
		lines=$(wc -l <"$BOX/err")
		rcs[$rc]=$(( ${rcs[$rc]:-0} + 1 ))
		[ "$rc" -eq 0 ] || [ -n "${example[$rc]:-}" ] || example[$rc]="#$n ($what): $(head -1 "$BOX/err")"
		if [ "$mode" = KILL ]; then
			# a crash: no message; the ledger must be consistent, the
			# temporary files the kill interrupted are counted here and
			# must be gone after the re-run
			[ "$rc" -eq 137 ] || { note_point "#$n ($what): exit $rc, expected 137 (killed)"; bad=$((bad + 1)); }
			failed=$((failed + 1))
			killed_temps=$((killed_temps + $(find "$RUN" -name '*.tmp*' | wc -l)))
			rm -rf "$BOX/chk"; cp -a "$A" "$BOX/chk"
			p=$(ledger_problems "$BOX/chk" "$OUT" 0 | grep -v '^temporary file' || true)
			[ -z "$p" ] || { note_point "#$n ($what): after the kill: $p"; bad=$((bad + 1)); }
		elif [ "$rc" -eq 0 ]; then
			absorbed=$((absorbed + 1))
			p=$(ledger_problems "$A" "$OUT" 1)
			[ -z "$p" ] || { note_point "#$n ($what): exit 0 but: $p"; bad=$((bad + 1)); }
		else
			failed=$((failed + 1))
			if [ "$lines" -lt 1 ] || [ "$lines" -gt "${#BATCH[@]}" ] || grep -qv '^klic-admin: ' "$BOX/err" ||
				{ [ "${mode%:persist}" = "$mode" ] && [ "$lines" -ne 1 ]; }; then
				note_point "#$n ($what): exit $rc with $lines stderr line(s): $(head -c 300 "$BOX/err" | tr '\n' '|')"
				bad=$((bad + 1))
			fi
			rm -rf "$BOX/chk"; cp -a "$A" "$BOX/chk"
			p=$(ledger_problems "$BOX/chk" "$OUT" 0)
			[ -z "$p" ] || { note_point "#$n ($what): after the failure: $p"; bad=$((bad + 1)); }
		fi
		rc=0; "${ISSUE[@]}" >"$BOX/o2" 2>"$BOX/err2" || rc=$?
		if [ "$rc" -ne 0 ]; then
			note_point "#$n ($what): re-run exit $rc: $(head -c 300 "$BOX/err2")"; bad=$((bad + 1)); rerun_bad=$((rerun_bad + 1))
		else
			p=$(ledger_problems "$A" "$OUT" 1)
			[ -z "$p" ] || { note_point "#$n ($what): after the re-run: $p"; bad=$((bad + 1)); rerun_bad=$((rerun_bad + 1)); }
		fi
	done
	TOTAL=$((TOTAL + covered))
	dist=$(for k in "${!rcs[@]}"; do echo "exit $k: ${rcs[$k]}"; done | sort | paste -sd, | sed 's/,/, /g')
	summary="$covered of $POINTS points: $failed failed ($dist), $absorbed absorbed, $missed not reached ($retried short run(s) repeated); re-runs: $((covered - rerun_bad)) reached the clean result"
	[ "$mode" != KILL ] || summary+="; $killed_temps temp file(s) left by the kills"
	if [ "$bad" -eq 0 ] && [ "$missed" -eq 0 ]; then pass "issue, $mode: $summary"
	else fail "issue, $mode: $summary; $bad problem(s)"; fi
	for k in "${!example[@]}"; do echo "#   first exit $k: ${example[$k]}" | cut -c1-300; done
	unset rcs example
done
echo "# $TOTAL injected failures in total"
t_done
