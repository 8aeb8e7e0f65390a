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
    # every 16th point of the plan and kills 2 batches of 60 requests (the
    # normal pass faults every call but the inside of runs of SQLite page
    # writes, tests/fault/issue.sh, and kills 10 batches of 200), and skips
    # the benches (timings under ASan measure ASan).
    variant=asan; cmake_args+=(-DKLIC_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug)
    export KLIC_FAULT_STRIDE=${KLIC_FAULT_STRIDE:-16} KLIC_CRASH_ROUNDS=${KLIC_CRASH_ROUNDS:-2} KLIC_CRASH_N=${KLIC_CRASH_N:-60}
    # the browser and the 50-machine batch drive the same C code as
    # web_issue and renew_lifecycle, which do run here
    ctest_args+=(-LE bench -E '^(web_browser|renew_batch)$') ;;
  *) echo "usage: $0 [--sanitize]" >&2; exit 2 ;;
esac

build="build/$variant"
cmake -S . -B "$build" "${cmake_args[@]}" >/dev/null
cmake --build "$build" -j"$(nproc)"
cd "$build"
ctest --output-on-failure -j"$(nproc)" --timeout 900 "${ctest_args[@]}"
