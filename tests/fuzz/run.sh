#!/usr/bin/env bash
# Build the libFuzzer targets with clang + ASan + UBSan (build/fuzz) and run
# each for a fixed time on a scratch copy of its committed seed corpus.
# Fails on any crash, sanitizer report, leak, timeout or OOM; the input that
# triggered it is kept in build/fuzz/artifacts/ (replay it with
# build/fuzz/tests/fuzz/<target> FILE, or with build/*/tests/fuzz/replay_<target>).
# Prints the executions each target reached.
# usage: tests/fuzz/run.sh [SECONDS_PER_TARGET]   (default 60; env KLIC_FUZZ_SECONDS)
set -euo pipefail
cd "$(dirname "$0")/../.."
secs=${1:-${KLIC_FUZZ_SECONDS:-60}}
targets=(fuzz_archive fuzz_manifest fuzz_license fuzz_machine_id fuzz_entitlement
	fuzz_usage fuzz_kret)
build=build/fuzz

CC=clang cmake -S . -B "$build" -DKLIC_FUZZ=ON -DKLIC_SANITIZE=ON -DKLIC_WERROR=ON \
	-DCMAKE_BUILD_TYPE=Debug >/dev/null
cmake --build "$build" -j"$(nproc)" --target "${targets[@]}"

work=$(mktemp -d /tmp/klic-fuzz-XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir -p "$build/artifacts"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
bad=0
for t in "${targets[@]}"; do
	mkdir -p "$work/$t"
	cp tests/fuzz/corpus/"$t"/* "$work/$t/"
	rc=0
	"$build/tests/fuzz/$t" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
		-print_final_stats=1 -artifact_prefix="$build/artifacts/$t-" "$work/$t" \
		>"$work/$t.log" 2>&1 || rc=$?
	execs=$(grep -E 'stat::number_of_executed_units' "$work/$t.log" | grep -Eo '[0-9]+$' || true)
	cov=$(grep -Eo 'cov: [0-9]+ ft: [0-9]+ corp: [0-9]+' "$work/$t.log" | tail -1 || true)
	if [ "$rc" -eq 0 ]; then
		echo "fuzz: $t: ${execs:-?} executions in ${secs} s, no finding ($cov)"
	else
		bad=1
		echo "fuzz: $t: FINDING (exit $rc) after ${execs:-?} executions; artifacts in $build/artifacts/"
		grep -E -m20 'ERROR|SUMMARY|runtime error|Test unit written|#[0-9]+ 0x' "$work/$t.log" || tail -30 "$work/$t.log"
	fi
done
exit "$bad"
