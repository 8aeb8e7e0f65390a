#!/usr/bin/env bash
# Set up, build and run the whole test suite (unit, tamper, end-to-end,
# fuzz-corpus replay).  Usage: ./test.sh [--sanitize]
#   --sanitize   build with AddressSanitizer + UndefinedBehaviorSanitizer
set -euo pipefail
cd "$(dirname "$0")"
./setup.sh

variant=normal
cmake_args=(-DKLIC_WERROR=ON)
case "${1:-}" in
  "") ;;
  --sanitize) variant=asan; cmake_args+=(-DKLIC_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug) ;;
  *) echo "usage: $0 [--sanitize]" >&2; exit 2 ;;
esac

build="build/$variant"
cmake -S . -B "$build" "${cmake_args[@]}" >/dev/null
cmake --build "$build" -j"$(nproc)"
cd "$build"
ctest --output-on-failure -j"$(nproc)" --timeout 900
