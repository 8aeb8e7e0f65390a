#!/usr/bin/env bash
# The committed vectors are exactly what spec/vectors/generate.sh makes
# (issue 18 item 18): regenerate them into a temporary folder and compare
# every file byte for byte, and the list of files both ways. Any change to
# the tools that changes a vector's bytes fails here until the vectors are
# regenerated (spec/vectors/generate.sh BUILD_DIR) and committed.
#   usage: regenerate.sh SOURCE_DIR BUILD_DIR
# Needs root (unshare) and faketime: without them it exits 77 (SKIP), loudly.
set -uo pipefail
src=$1 build=$2
vec=$src/spec/vectors
if [ "$(id -u)" != 0 ] || ! command -v faketime >/dev/null || ! unshare -m -u true 2>/dev/null; then
	echo "SKIP - regenerating the vectors needs root, unshare -m -u and faketime (NOT RUN)"
	exit 77
fi
tmp=$(mktemp -d /tmp/klic-regen-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
if ! bash "$vec/generate.sh" "$build" "$tmp/v" >"$tmp/log" 2>&1; then
	echo "FAIL - generate.sh failed:"; cat "$tmp/log"; exit 1
fi
fail=0
committed=$(cd "$vec" && ls | grep -vx 'generate.sh' | sort)
made=$(cd "$tmp/v" && ls | sort)
if [ "$committed" != "$made" ]; then
	echo "FAIL - the files differ: $(diff <(echo "$committed") <(echo "$made") | grep '^[<>]' | tr '\n' ' ')"
	fail=1
fi
for f in $made; do
	if [ ! -f "$vec/$f" ]; then continue; fi
	if cmp -s "$vec/$f" "$tmp/v/$f"; then
		echo "ok - $f: byte-identical to the committed vector"
	else
		echo "FAIL - $f: generate.sh now makes other bytes ($(cmp "$vec/$f" "$tmp/v/$f" 2>&1 | head -n 1))"
		fail=1
	fi
done
if [ "$fail" != 0 ]; then
	echo "the committed vectors are not what spec/vectors/generate.sh makes: regenerate and commit them"
	exit 1
fi
echo "$(echo "$made" | wc -l) vector files, all byte-identical to a fresh generate.sh run"
