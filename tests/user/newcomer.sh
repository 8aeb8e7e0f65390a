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

# --- item 13: UTF-8 names ---------------------------------------------------------
Z="$BOX/zoe"
for bad in "$(printf 'Zo\xeb')" "$(printf 'Zo\x1b[31m')" "$(printf 'Zo\xc2\x85e')" "$(printf 'Zo\xe2\x80\xaee')"; do
	rc=0; "$KLIC" --home "$Z" init --name "$bad" --email zoe@test.invalid >"$BOX/out.txt" 2>"$BOX/err.txt" || rc=$?
	[ "$rc" -eq 2 ] && grep -qx "klic: init: --name: 1-200 bytes of UTF-8 text, no control characters (see 'klic init --help')" "$BOX/err.txt" &&
		[ ! -e "$Z" ] && pass "init --name $(printf '%q' "$bad"): exit 2, names --name, nothing made" ||
		fail "init --name $(printf '%q' "$bad"): exit $rc: $(cat "$BOX/err.txt")"
done
out=$("$KLIC" --home "$Z" init --name "Zoë Müller" --email zoe@test.invalid)
zfpr=$(echo "$out" | awk '/^key / {print $2}')
[ "$(echo "$out" | head -1)" = "key $zfpr Zoë Müller <zoe@test.invalid>" ] && pass "init --name 'Zoë Müller': $(echo "$out" | head -1)" || fail "init Zoë: $out"
gpg --homedir "$Z/klic/gnupg" --batch --with-colons --list-keys 2>/dev/null | grep -q '^uid:.*:Zoë Müller <zoe@test.invalid>:' &&
	pass "the key's user ID is the UTF-8 name" || fail "uid: $(gpg --homedir "$Z/klic/gnupg" --with-colons --list-keys 2>/dev/null | grep ^uid)"
# --- item 8: folders where a file is expected ---------------------------------------
t_org_setup "$A" "Test Org" 10
t_entitle "$A" 2 KSE
VKEY="$BOX/vendor.asc"
admin export-key -o issuer.asc
user trust issuer.asc >/dev/null
mkdir -p stick/keys "$U/license"
for c in "trust stick" "verify stick" "verify --vendor stick x.lic" "status --vendor stick" \
	"request --product KRE -o stick" "request --product KRE --qr-png stick"; do
	rc=0; before=$(tree_sum "$U")
	# shellcheck disable=SC2086
	user $c >"$BOX/out.txt" 2>"$BOX/err.txt" || rc=$?
	if [ "$rc" -eq 2 ] && [ "$(wc -l <"$BOX/err.txt")" -eq 1 ] && grep -q "^klic: stick: is a folder: " "$BOX/err.txt" &&
		[ "$before" = "$(tree_sum "$U")" ]; then pass "klic $c: exit 2, $(cat "$BOX/err.txt")"
	else fail "klic $c: exit $rc: $(cat "$BOX/err.txt")"; fi
done
rc=0; "$KLIC" --home "$U" --passphrase-file stick status >/dev/null 2>"$BOX/err.txt" || rc=$?
[ "$rc" -eq 2 ] && grep -qx "klic: stick: is a folder: --passphrase-file takes a file (see 'klic --help')" "$BOX/err.txt" &&
	pass "--passphrase-file DIR: $(cat "$BOX/err.txt")" || fail "--passphrase-file DIR: exit $rc: $(cat "$BOX/err.txt")"

# a shared stick with responses for two machines (the second: another
# /etc/machine-id in a mount namespace) and an empty folder
rc=0; user install stick/keys >"$BOX/out.txt" 2>"$BOX/err.txt" || rc=$?
[ "$rc" -eq 1 ] && grep -qx "klic: stick/keys: no .kresp file in the folder answers a request of this home (0 for other machines)" "$BOX/err.txt" &&
	pass "install of a folder without responses: exit 1, $(cat "$BOX/err.txt")" || fail "install empty folder: exit $rc: $(cat "$BOX/err.txt")"
if can_unshare && unshare -m --propagation private bash -c 'mount --bind /dev/null /etc/machine-id' 2>/dev/null; then
	echo 0123456789abcdef0123456789abcdef > other-id
	B="$BOX/bob"
	bob() { on_machine "$BOX/other-id" "$KLIC" --home "$B" "$@"; }
	bob init --name Bob --email bob@test.invalid >/dev/null
	bob trust issuer.asc >/dev/null
	user request --product KRE -o stick/ada.kreq >/dev/null
	user request --product KSE -o stick/ada-kse.kreq >/dev/null
	bob request --product KRE -o stick/bob.kreq >/dev/null
	# Zoë (a UTF-8 name) requests, is added and installs like anyone
	"$KLIC" --home "$Z" trust issuer.asc >/dev/null
	"$KLIC" --home "$Z" request --product KRE -o zoe.kreq >/dev/null
	admin member add --yes --from-request zoe.kreq >/dev/null && admin issue zoe.kreq -o zout --yes >/dev/null &&
		"$KLIC" --home "$Z" install --vendor "$VKEY" zout/zoe.kresp >/dev/null && [ -n "$(ls "$Z/license")" ] &&
		pass "a UTF-8 named user's request is issued and installed" || fail "Zoë's round trip"
	rm -rf "$Z/license"
	for r in ada ada-kse bob; do admin member add --yes --from-request "stick/$r.kreq" >/dev/null 2>&1 || true; done
	for r in ada ada-kse bob; do admin issue "stick/$r.kreq" -o stick --yes >/dev/null; done
	echo "not a response" > stick/notes.txt
	stick_before=$(tree_sum stick); bob_before=$(tree_sum "$B")
	rc=0; user install --vendor "$VKEY" stick >"$BOX/out.txt" 2>"$BOX/err.txt" || rc=$?
	MID=$(user id)
	# (Zoë's license on this machine took the first KRE seat name)
	if [ "$rc" -eq 0 ] && [ "$(ls "$U/license" | wc -l)" -eq 2 ] && [ ! -s "$BOX/err.txt" ] &&
		grep -Eqx "$U/license/KRE_${MID}(_[0-9]+)?\.lic" "$BOX/out.txt" && grep -qx "$U/license/KSE_$MID.lic" "$BOX/out.txt"; then
		pass "install stick: both of this machine's responses installed"
	else fail "install stick: exit $rc: $(cat "$BOX/out.txt" "$BOX/err.txt" | tr "\n" "|")"; fi
	grep -Eq "^not for this machine: stick/bob\.kresp \(request [0-9a-f]{12}\.\.\. was not made from $U\)$" "$BOX/out.txt" &&
		[ "$(grep -c '^not for this machine' "$BOX/out.txt")" -eq 1 ] &&
		pass "install stick: bob's response named on one line: $(grep '^not for' "$BOX/out.txt")" ||
		fail "install stick: other machine's line: $(cat "$BOX/out.txt")"
	[ "$stick_before" = "$(tree_sum stick)" ] && [ "$bob_before" = "$(tree_sum "$B")" ] &&
		pass "install stick: the stick and bob's home untouched" || fail "install stick changed the stick or bob's home"
	rc=0; bob install --vendor "$VKEY" stick >"$BOX/out.txt" 2>"$BOX/err.txt" || rc=$?
	[ "$rc" -eq 0 ] && [ "$(ls "$B/license")" = "KRE_$(bob id).lic" ] &&
		[ "$(grep -c '^not for this machine' "$BOX/out.txt")" -eq 2 ] &&
		pass "install stick on bob's machine: his license, ada's two named" ||
		fail "bob install stick: exit $rc: $(cat "$BOX/out.txt" "$BOX/err.txt")"
	out=$(user install --vendor "$VKEY" stick)
	[ "$(echo "$out" | grep -c '^already installed: ')" -eq 2 ] && pass "install stick again: already installed" || fail "again: $out"
	# a tampered response on the stick is an error, not "another machine"
	cp stick/ada.kresp bad.kresp; flip bad.kresp 200; cp bad.kresp stick/zz.kresp
	rc=0; user install --vendor "$VKEY" stick >"$BOX/out.txt" 2>"$BOX/err.txt" || rc=$?
	[ "$rc" -eq 1 ] && grep -q "^klic: stick/zz.kresp: " "$BOX/err.txt" && ! grep -q "zz.kresp" "$BOX/out.txt" &&
		pass "a damaged response on the stick: exit 1, $(grep zz "$BOX/err.txt")" ||
		fail "damaged on stick: exit $rc: $(cat "$BOX/out.txt" "$BOX/err.txt")"
else
	echo "# skipped: two machines need root, unshare -m and mount --bind"
fi

t_done
