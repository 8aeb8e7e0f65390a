#!/usr/bin/env bash
# klic-admin member add / list / remove (issue 15 item 4): the question
# before a key is accepted or removed (on a terminal: a pty, answered y and
# n; without one: refused unless --yes), the list in text and JSON, and a
# removed member's later request denied not-member while the license it
# already has stays valid.  Every refusal: one stderr line, the exit status,
# the admin state byte-identical.  Usage: members.sh KLIC KLIC_ADMIN
. "$(dirname "$0")/../lib.sh"
KLIC=$1 ADMIN=$2
t_engine_admin # KLIC_TEST_ENGINE=pg: $ADMIN on PostgreSQL (../lib.sh)
PTY="python3 $(dirname "$0")/pty_answer.py"
A="$BOX/admin"
admin() { "$ADMIN" --state "$A" "$@"; }
cd "$BOX"

t_org_setup "$A" "Life Org" 5
admin export-key -o issuer.asc
for u in ada bob; do
	"$KLIC" --home "$BOX/$u" init --name "$u" --email "$u@test.invalid" >/dev/null
	"$KLIC" --home "$BOX/$u" trust issuer.asc >/dev/null
	"$KLIC" --home "$BOX/$u" request --product KRE -o "$u.kreq" >/dev/null
done
ADA=$(gpg --homedir "$BOX/ada/klic/gnupg" --batch --with-colons --list-keys 2>/dev/null | awk -F: '/^fpr/ {print $10; exit}')
BOB=$(gpg --homedir "$BOX/bob/klic/gnupg" --batch --with-colons --list-keys 2>/dev/null | awk -F: '/^fpr/ {print $10; exit}')
gpg --homedir "$BOX/bob/klic/gnupg" --batch --export "$BOB" >bob.asc 2>/dev/null

# run NAME WANT_RC CMD...: exit WANT_RC; stdout in out.txt, stderr in err.txt
run() {
	local name=$1 want=$2 rc=0; shift 2
	"$@" >"$BOX/out.txt" 2>"$BOX/err.txt" </dev/null || rc=$?
	[ "$rc" = "$want" ] && pass "$name: exit $rc" || fail "$name: exit $rc, expected $want ($(head -c 300 "$BOX/err.txt"))"
}
# refused NAME WANT_RC LINE CMD...: exit WANT_RC, exactly LINE on stderr
# (one line), the admin state unchanged
refused() {
	local name=$1 want=$2 line=$3 before after rc=0; shift 3
	before=$(tree_sum "$A")
	"$@" >"$BOX/out.txt" 2>"$BOX/err.txt" </dev/null || rc=$?
	after=$(tree_sum "$A")
	if [ "$rc" != "$want" ]; then fail "$name: exit $rc, expected $want ($(cat "$BOX/err.txt"))"
	elif [ "$(cat "$BOX/err.txt")" != "$line" ]; then fail "$name: stderr '$(cat "$BOX/err.txt")', expected '$line'"
	elif [ "$before" != "$after" ]; then fail "$name: $A changed: $(diff <(echo "$before") <(echo "$after") | tr '\n' ' ')"
	else pass "$name: exit $rc: $line"; fi
}
members() { admin member list --json | python3 -c 'import json,sys; print(" ".join(m["fingerprint"] for m in json.load(sys.stdin)))'; }

# --- member add: asks first ----------------------------------------------------------
refused "member add without a terminal and without --yes" 2 \
	"klic-admin: ada.kreq: invalid argument: standard input is not a terminal: use --yes to accept the key without asking" \
	admin member add --from-request ada.kreq
refused "member add FILE.asc without a terminal and without --yes" 2 \
	"klic-admin: bob.asc: invalid argument: standard input is not a terminal: use --yes to accept the key without asking" \
	admin member add bob.asc
# bob first, without a question: the members' keyring is in use from here on
# (gpg makes its empty keybox on its first use, before any question)
run "member add --yes FILE.asc" 0 admin member add --yes bob.asc
[ "$(cat out.txt)" = "$BOB bob <bob@test.invalid>" ] && [ ! -s err.txt ] && pass "--yes asks nothing: $(cat out.txt)" || fail "--yes: $(cat out.txt) / $(cat err.txt)"
before=$(tree_sum "$A"); rc=0
$PTY n "$ADMIN" --state "$A" member add --from-request ada.kreq >out.txt 2>err.txt || rc=$?
[ "$rc" = 1 ] && [ "$(cat err.txt)" = "accept $ADA ada <ada@test.invalid> as a member? [y/N] klic-admin: ada.kreq: request denied: not confirmed; nothing was changed" ] &&
	[ ! -s out.txt ] && [ "$before" = "$(tree_sum "$A")" ] &&
	pass "member add on a terminal answered n: exit 1, the question and one refusal, nothing changed" ||
	fail "member add answered n: rc=$rc err=$(cat err.txt) out=$(cat out.txt)"
[ "$(members)" = "$BOB" ] && pass "ada is no member after the refusals" || fail "members: $(members)"
rc=0
$PTY y "$ADMIN" --state "$A" member add --from-request ada.kreq >out.txt 2>err.txt || rc=$?
[ "$rc" = 0 ] && [ "$(cat err.txt)" = "accept $ADA ada <ada@test.invalid> as a member? [y/N] " ] &&
	[ "$(cat out.txt)" = "$ADA ada <ada@test.invalid>" ] && [ "$(members)" = "$(printf '%s\n%s\n' "$ADA" "$BOB" | sort | tr '\n' ' ' | sed 's/ $//')" ] &&
	pass "member add on a terminal answered y: exit 0, asked once, member $ADA" ||
	fail "member add answered y: rc=$rc err=$(cat err.txt) out=$(cat out.txt) members=$(members)"
rc=0
$PTY n "$ADMIN" --state "$A" member add --from-request ada.kreq >out.txt 2>err.txt || rc=$?
[ "$rc" = 0 ] && [ ! -s err.txt ] && [ "$(cat out.txt)" = "$ADA ada <ada@test.invalid> (already a member)" ] &&
	pass "member add of a member: no question, exit 0: $(cat out.txt)" || fail "again: rc=$rc $(cat out.txt) $(cat err.txt)"

# --- member list ---------------------------------------------------------------------
run "member list" 0 admin member list
first=$(printf '%s\n%s\n' "$ADA" "$BOB" | sort | head -1)
[ "$(head -1 out.txt)" = "$(printf '%-40s %-20s %s' FINGERPRINT ADDED "USER ID")" ] && [ "$(wc -l <out.txt)" = 3 ] &&
	grep -Eq "^$ADA [0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z ada <ada@test.invalid>\$" out.txt &&
	grep -Eq "^$BOB [0-9T:-]{19}Z bob <bob@test.invalid>\$" out.txt &&
	[ "$(sed -n 2p out.txt | cut -c1-40)" = "$first" ] &&
	pass "member list: a header and one line per member, by fingerprint" || fail "member list: $(cat out.txt)"
run "member list --json" 0 admin member list --json
python3 -c '
import json, re, sys
doc = json.load(open(sys.argv[3]))
assert [m["fingerprint"] for m in doc] == sorted(sys.argv[1:3]), doc
for m in doc:
    assert sorted(m) == ["added", "email", "fingerprint", "name"], m
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", m["added"]), m
    who = "ada" if m["fingerprint"] == sys.argv[1] else "bob"
    assert m["name"] == who and m["email"] == who + "@test.invalid", m
' "$ADA" "$BOB" out.txt && pass "member list --json: the documented keys and values" || fail "member list --json: $(cat out.txt)"
refused "member list with an argument" 2 "klic-admin: member list: unexpected argument (see 'klic-admin member list --help')" admin member list extra

# ada gets a license before she is removed
admin issue ada.kreq -o out --yes >/dev/null
"$KLIC" --home "$BOX/ada" install out/ada.kresp >/dev/null
LIC=$(ls "$BOX/ada/license/"*.lic)
run "ada's license verifies" 0 "$KLIC" --home "$BOX/ada" verify --vendor "$BOX/vendor.asc" "$LIC"

# --- member remove: refusals ---------------------------------------------------------
NOPE=0123456789ABCDEF0123456789ABCDEF01234567
refused "member remove of a key that is not a member" 1 \
	"klic-admin: $NOPE: signer is not a registered member: $NOPE is not a member" \
	admin member remove --yes "$NOPE"
refused "member remove of a malformed fingerprint" 2 \
	"klic-admin: member remove: FPR must be a fingerprint (40 hex digits) (see 'klic-admin member remove --help')" \
	admin member remove --yes 12345
refused "member remove without a terminal and without --yes" 2 \
	"klic-admin: $ADA: invalid argument: standard input is not a terminal: use --yes to remove $ADA ada <ada@test.invalid> without asking" \
	admin member remove "$ADA"
before=$(tree_sum "$A"); rc=0
$PTY n "$ADMIN" --state "$A" member remove "$ADA" >out.txt 2>err.txt || rc=$?
[ "$rc" = 1 ] && [ "$(cat err.txt)" = "remove $ADA ada <ada@test.invalid> from the members? [y/N] klic-admin: $ADA: request denied: not confirmed; nothing was changed" ] &&
	[ "$before" = "$(tree_sum "$A")" ] &&
	pass "member remove answered n: exit 1, nothing changed" || fail "member remove n: rc=$rc $(cat err.txt)"

# --- member remove: answered y ---------------------------------------------------------
audit0=$(t_sql "$A" "SELECT count(*) FROM audit")
rc=0
$PTY y "$ADMIN" --state "$A" member remove "${ADA,,}" >out.txt 2>err.txt || rc=$?
[ "$rc" = 0 ] && [ "$(cat out.txt)" = "removed $ADA ada <ada@test.invalid> (its licenses stay valid until they expire)" ] &&
	pass "member remove (lower-case FPR) answered y: $(cat out.txt)" || fail "member remove y: rc=$rc $(cat out.txt) $(cat err.txt)"
[ "$(members)" = "$BOB" ] && pass "member list: only $BOB is left" || fail "members after remove: $(members)"
row=$(t_sql "$A" "SELECT event || '|' || detail FROM audit ORDER BY seq DESC LIMIT 1")
[ "$row" = "member-remove|$ADA ada <ada@test.invalid>" ] && [ "$(t_sql "$A" "SELECT count(*) FROM audit")" = $((audit0 + 1)) ] &&
	pass "one audit row: $row" || fail "audit: $row"
run "audit verify after the removal" 0 admin audit verify
gpg --homedir "$A/members" --batch --list-keys "$ADA" >/dev/null 2>&1 && fail "ada's key is still in $A/members" || pass "ada's key is gone from the members' keyring"
gpg --homedir "$A/members" --batch --list-keys "$BOB" >/dev/null 2>&1 && pass "bob's key is still there" || fail "bob's key lost"
[ -z "$(find "$A" -maxdepth 1 -name '.members-*')" ] && pass "no scratch keyring left in $A" || fail "left: $(ls -a "$A")"
refused "member remove of the removed member" 1 \
	"klic-admin: $ADA: signer is not a registered member: $ADA is not a member" \
	admin member remove --yes "$ADA"

# --- afterwards: requests denied, licenses valid ------------------------------------------
"$KLIC" --home "$BOX/ada" request --product KRE -o ada2.kreq >/dev/null
used0=$(admin entitlement list --json | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["used"])')
admin issue ada2.kreq -o out --yes >issue.txt 2>&1 || true
grep -q "^DENY ada2.kreq -> out/ada2.kresp: not-member" issue.txt && pass "a removed member's new request is denied not-member" || fail "issue after remove: $(cat issue.txt)"
used1=$(admin entitlement list --json | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["used"])')
[ "$used0" = 1 ] && [ "$used1" = 1 ] && pass "no seat spent on it (used $used1)" || fail "used $used0 -> $used1"
run "ada's license issued before the removal still verifies" 0 "$KLIC" --home "$BOX/ada" verify --vendor "$BOX/vendor.asc" "$LIC"
[ "$(admin list --active --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')" = 1 ] && pass "its ledger row is still active" || fail "list --active"
admin issue bob.kreq -o out --yes >issue.txt 2>&1
grep -q "^OK   bob.kreq" issue.txt && pass "another member's request is still issued" || fail "bob: $(cat issue.txt)"
run "a removed member can be added again" 0 admin member add --yes --from-request ada2.kreq
gpg --homedir "$A/members" --batch --list-keys "$ADA" >/dev/null 2>&1 && [ "$(members)" = "$(printf '%s\n%s\n' "$ADA" "$BOB" | sort | tr '\n' ' ' | sed 's/ $//')" ] &&
	pass "added again: in the list and the keyring" || fail "re-add: $(members)"
t_done
