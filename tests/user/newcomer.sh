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

t_done
