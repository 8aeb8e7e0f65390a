#!/usr/bin/env bash
# Set up, build and run the whole test suite (unit, tamper, end-to-end,
# fuzz-corpus replay).  Usage: ./test.sh [--sanitize]
#   --sanitize   build with AddressSanitizer + UndefinedBehaviorSanitizer
set -euo pipefail
cd "$(dirname "$0")"
./setup.sh

variant=normal
cmake_args=(-DKLIC_WERROR=ON)
ctest_args=()
case "${1:-}" in
  "") ;;
  --sanitize)
    # The sanitizer pass checks memory, not coverage: it injects faults at
    # every 16th point of the plan (the normal pass faults every call but
    # the inside of runs of SQLite page writes, tests/fault/issue.sh) and
    # skips the benches (timings under ASan measure ASan).  Also left to
    # the normal pass, for CI's 30 minutes: the kill -9 rounds (admin_crash,
    # pg_crash: a killed process reports nothing), the PostgreSQL race
    # (pg_race: the C it drives is pg_roundtrip's and pg_bad's, which run
    # here), the browser and the 50-machine batch (web_issue and
    # renew_lifecycle drive the same C code and run here).
    variant=asan; cmake_args+=(-DKLIC_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug)
    export KLIC_FAULT_STRIDE=${KLIC_FAULT_STRIDE:-16}
    ctest_args+=(-LE bench -E '^(web_browser|renew_batch|admin_crash|pg_crash|pg_race)$') ;;
  *) echo "usage: $0 [--sanitize]" >&2; exit 2 ;;
esac

build="build/$variant"
cmake -S . -B "$build" "${cmake_args[@]}" >/dev/null
cmake --build "$build" -j"$(nproc)"
cd "$build"
ctest --output-on-failure -j"$(nproc)" --timeout 900 "${ctest_args[@]}"
