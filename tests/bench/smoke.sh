#!/usr/bin/env bash
# ctest bench_smoke: bench.sh runs end to end with tiny sizes (including the
# --big steps, scaled down) and prints its whole summary.  Timings are never
# asserted; any failed step fails the test.
# usage: smoke.sh BUILD_DIR
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
out=$(mktemp /tmp/klic-bench-smoke-XXXXXX)
trap 'rm -f "$out"' EXIT

rc=0
bash "$here/bench.sh" --n 4 --build "$1" --big --big-n 6 --ledger-rows 5000 >"$out" || rc=$?
cat "$out"
if [ "$rc" -ne 0 ]; then
	echo "bench_smoke: bench.sh exited $rc" >&2
	exit 1
fi
missing=0
for fig in "== summary" "admin / shell throughput" "admin per request per core / floor" \
	"admin CPU utilisation" "at once (per core)" "admin per request per core / that" "klic request latency" "klic install latency, 1 seat" \
	"klic install latency, 4 seats" ".kreq size" ".kresp size, 1 seat" ".kresp size, 4 seats" \
	".kresp size, denied" "ledger of 5000 / empty" "peak RSS, batch of 6"; do
	if ! grep -qF -- "$fig" "$out"; then
		echo "bench_smoke: summary lacks '$fig'" >&2
		missing=$((missing + 1))
	fi
done
# no figure of the summary is NaN or infinite
if awk '/^== summary/ { on = 1; next } on && /(nan|inf)/ { bad = 1 } END { exit !bad }' "$out"; then
	echo "bench_smoke: a summary row has no value" >&2
	missing=$((missing + 1))
fi
[ "$missing" -eq 0 ]
echo "bench_smoke: ok"
