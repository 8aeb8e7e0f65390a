# Helpers for the user-side scripted tests (sourced after ../lib.sh).

# expect_fail_file NAME WATCH FILE CMD...: exit 1 (or $WANT_RC), exactly one
# stderr line that starts with "klic: FILE: ", and WATCH unchanged.
expect_fail_file() {
	local name=$1 watch=$2 file=$3 want=${WANT_RC:-1}; shift 3
	local before after rc=0 lines
	before=$(tree_sum "$watch")
	"$@" >"$BOX/out.txt" 2>"$BOX/err.txt" || rc=$?
	after=$(tree_sum "$watch")
	lines=$(wc -l <"$BOX/err.txt")
	if [ "$rc" -ne "$want" ]; then
		fail "$name: exit $rc, expected $want ($(head -c 300 "$BOX/err.txt"))"
	elif [ "$lines" -ne 1 ]; then
		fail "$name: $lines stderr lines, expected 1: $(head -c 300 "$BOX/err.txt")"
	elif ! grep -qF "klic: $file: " "$BOX/err.txt"; then
		fail "$name: error line does not name $file: $(cat "$BOX/err.txt")"
	elif [ "$before" != "$after" ]; then
		fail "$name: $watch changed"
	else
		pass "$name: $(cat "$BOX/err.txt")"
	fi
}

# expect_msg NAME TEXT: the last error line contains TEXT.
expect_msg() {
	if grep -qF -- "$2" "$BOX/err.txt"; then pass "$1"; else fail "$1: $(cat "$BOX/err.txt")"; fi
}

# expect_usage CMD...: exit 2, one stderr line, nothing on stdout.
expect_usage() {
	local rc=0
	"$@" >"$BOX/out.txt" 2>"$BOX/err.txt" || rc=$?
	if [ "$rc" -eq 2 ] && [ "$(wc -l <"$BOX/err.txt")" -eq 1 ] && [ ! -s "$BOX/out.txt" ]; then
		pass "usage error (exit 2): ${*:2}"
	else
		fail "exit $rc / $(wc -l <"$BOX/err.txt") stderr lines for: $* ($(head -c 200 "$BOX/err.txt"))"
	fi
}

# faketime preloads itself before the sanitizer runtime; let ASan builds
# run under it (no effect on normal builds).
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0"
