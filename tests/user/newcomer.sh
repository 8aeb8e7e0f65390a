#!/usr/bin/env bash
# Issue 18, the user side of a newcomer's first hour: a home that was never
# made, a failed request, folders where a file is expected, binary output
# to a terminal, UTF-8 names, what init/trust/export-key print.
# Usage: newcomer.sh KLIC KLIC_ADMIN
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/common.sh"
KLIC=$1 ADMIN=$2
A="$BOX/admin"; U="$BOX/user"
admin() { "$ADMIN" --state "$A" "$@"; }
user() { "$KLIC" --home "$U" "$@"; }
cd "$BOX"

# --- item 5: a command that needs a home, before klic init ---------------------
NH="$BOX/never-made"; mkdir w; cd w
for c in "request --product KRE -o ada.kreq" "install ada.kresp"; do
	rc=0; before=$(tree_sum "$BOX/w")
	# shellcheck disable=SC2086
	"$KLIC" --home "$NH" $c >"$BOX/out.txt" 2>"$BOX/err.txt" || rc=$?
	want="klic: ${c%% *}: no klic home at $NH: run 'klic init' first"
	if [ "$rc" -eq 1 ] && [ "$(cat "$BOX/err.txt")" = "$want" ] && [ ! -s "$BOX/out.txt" ] &&
		[ "$before" = "$(tree_sum "$BOX/w")" ] && [ ! -e "$NH" ] && [ ! -e ada.kreq ]; then
		pass "klic $c before init: exit 1, '$want', nothing written"
	else fail "klic $c before init: exit $rc: $(cat "$BOX/err.txt")"; fi
done
cd "$BOX"
"$KLIC" --home "$NH" status >/dev/null
[ ! -e "$NH" ] && pass "status before init makes no home" || fail "status made $(find "$NH")"

# --- item 15: a request that cannot be written leaves no pending record --------
user init --name "Ada User" --email ada@test.invalid >/dev/null
rc=0; user request --product KRE -o "$BOX/no-such-folder/ada.kreq" >out.txt 2>err.txt || rc=$?
if [ "$rc" -eq 3 ] && [ "$(wc -l <err.txt)" -eq 1 ] && grep -q "^klic: $BOX/no-such-folder/ada.kreq: " err.txt &&
	[ -z "$(ls -A "$U/klic/pending" 2>/dev/null)" ]; then
	pass "failed request: exit 3, one line, no pending record: $(cat err.txt)"
else fail "failed request: exit $rc, pending: $(ls -A "$U/klic/pending" 2>/dev/null): $(cat err.txt)"; fi
out=$(user request --product KRE -o ada.kreq)
[ "$(ls "$U/klic/pending" | wc -l)" -eq 1 ] && pass "a written request is pending ($out)" || fail "pending after a good request"

# --- item 10: binary -o - to a terminal is refused (script gives a tty) ---------
if command -v script >/dev/null; then
	for o in "-o -" "--qr-png -"; do
		before=$(tree_sum "$U"); rc=0
		script -qec "'$KLIC' --home '$U' request --product KRE $o 2>'$BOX/err.txt'" /dev/null >tty.txt || rc=$?
		what=request; [ "$o" = "-o -" ] || what=PNG
		want="klic: request: refusing to write binary $what to a terminal (use -o FILE, --armor or a pipe) (see 'klic request --help')"
		if [ "$rc" -eq 2 ] && [ "$(cat "$BOX/err.txt")" = "$want" ] && [ "$before" = "$(tree_sum "$U")" ] &&
			! grep -q . tty.txt; then
			pass "request $o on a tty: exit 2, '$want', nothing pending, nothing on the screen"
		else fail "request $o on a tty: exit $rc: $(cat "$BOX/err.txt") / $(head -c 100 tty.txt | od -c | head -2)"; fi
	done
	script -qec "'$KLIC' --home '$U' request --product KRE --armor -o -" /dev/null >tty.txt
	grep -q -- "-----BEGIN KLIC REQUEST-----" tty.txt && pass "request --armor -o - on a tty: the armored text" || fail "armor on a tty: $(head -3 tty.txt)"
	user request --product KRE -o - | head -c2 | od -An -tx1 | grep -q "1f 8b" && pass "request -o - into a pipe: gzip" || fail "request -o - into a pipe"
else
	echo "# skipped: no script(1) for a terminal"
fi

t_done
