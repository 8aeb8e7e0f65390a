#!/usr/bin/env bash
# valgrind (memcheck) over the end-to-end suites: tests/e2e/roundtrip.sh
# and tests/admin/issue.sh run unchanged, with `klic`
# and `klic-admin` replaced by wrappers that run the real binaries under
#
#   valgrind --error-exitcode=99 --leak-check=full
#            --errors-for-leak-kinds=definite --show-leak-kinds=definite
#            --child-silent-after-fork=yes
#
# Only the tools themselves are traced: gpg, gpg-agent and gpgconf that
# GPGME spawns are not (valgrind's default --trace-children=no; a forked
# child is silent until it execs).  A memcheck error or a definite leak in
# any run makes that run exit 99, which its script reports as a failure;
# in addition every valgrind log is scanned afterwards, and the logs with
# errors are printed (so a finding names file:line of our code).
#
# Needs a build without sanitizers (valgrind cannot run ASan binaries) and
# the valgrind package.  Run by ctest as valgrind_e2e (label "valgrind") in
# the normal build, or by hand:
#   tests/valgrind/run.sh build/normal/request/klic build/normal/response/klic-admin \
#       build/normal/tests/admin/klic_test_mkreq build/normal/tests/user/klic_test_mkresp
# VALGRIND_KEEP=1 keeps the logs (their folder is printed).
# usage: run.sh KLIC KLIC_ADMIN MKREQ MKRESP
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
tests=$(dirname "$here")
KLIC=$(realpath "$1"); ADMIN=$(realpath "$2"); MKREQ=$(realpath "$3"); MKRESP=$(realpath "$4")
command -v valgrind >/dev/null || { echo "valgrind not installed: skipped"; exit 77; }

work=$(mktemp -d /tmp/klic-vg-XXXXXX)
cleanup() { if [ "${VALGRIND_KEEP:-0}" = 1 ]; then echo "logs kept: $work/logs"; else rm -rf "$work"; fi; }
trap cleanup EXIT
mkdir -p "$work/bin" "$work/logs"
for t in klic klic-admin; do
	real=$KLIC; [ "$t" = klic-admin ] && real=$ADMIN
	cat >"$work/bin/$t" <<WRAP
#!/bin/sh
exec valgrind --quiet --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite \\
	--show-leak-kinds=definite --child-silent-after-fork=yes --num-callers=30 \\
	--log-file="$work/logs/$t.%p.log" "$real" "\$@"
WRAP
	chmod +x "$work/bin/$t"
done

rc=0
run() {
	local name=$1; shift
	local s e r=0
	s=$(date +%s)
	bash "$@" >"$work/$name.out" 2>&1 || r=$?
	e=$(date +%s)
	echo "$name: $(tail -1 "$work/$name.out") (exit $r, $((e - s)) s)"
	if [ "$r" -ne 0 ]; then grep -E '^FAIL' "$work/$name.out" | head -20 || true; rc=1; fi
}
run e2e_roundtrip "$tests/e2e/roundtrip.sh" "$work/bin/klic" "$work/bin/klic-admin"
# (tests/user/install.sh runs under ASan + UBSan in the sanitizer pass; its
# klic install paths are here through roundtrip.sh)
run admin_issue "$tests/admin/issue.sh" "$work/bin/klic-admin" "$MKREQ" "$work/bin/klic"

runs=$(find "$work/logs" -name '*.log' | wc -l)
# With --quiet a clean run leaves an empty log; a non-empty one holds an
# error, a definite leak, or a warning of valgrind's own.
errpat='^==[0-9]+== (Invalid |Conditional jump|Use of uninitialised|Syscall param|Mismatched free|Source and destination overlap|Argument .* of function|[0-9,]+ bytes in [0-9,]+ blocks are definitely lost|Process terminating)'
bad=$(grep -lE "$errpat" "$work"/logs/*.log 2>/dev/null || true)
other=$(find "$work/logs" -name '*.log' -size +0 | sort)
if [ -n "$bad" ]; then
	echo "valgrind: errors or definite leaks in $(echo "$bad" | wc -l) of $runs runs:"
	for f in $(echo "$bad" | head -5); do echo "--- $f"; head -80 "$f"; done
	rc=1
else
	echo "valgrind: $runs runs of klic and klic-admin, 0 errors, 0 definite leaks"
fi
if [ -n "$other" ] && [ -z "$bad" ]; then
	echo "valgrind: $(echo "$other" | wc -l) run(s) logged something else, e.g. $(echo "$other" | head -1):"
	head -5 "$(echo "$other" | head -1)"
fi
exit "$rc"
