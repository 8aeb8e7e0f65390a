#!/usr/bin/env bash
# The Members page of klic-admin serve (issue 17 item 5): accepting a member
# from a request after seeing its key (user ID, fingerprint); the preview
# changes nothing; accepting prints and records what `klic-admin member add
# --from-request` does for the same file; a hostile request gets the
# command line's refusal line.  Removing it: a question showing its
# fingerprint and user ID (nothing changed), then what `klic-admin member
# remove --yes` does and prints; CSRF and Origin are checked.
# Usage: members.sh KLIC KLIC_ADMIN
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/weblib.sh"
KLIC=$1
ADMIN=$2
t_engine_admin # KLIC_TEST_ENGINE=pg: $ADMIN on PostgreSQL (../lib.sh)
A="$BOX/org"; A2="$BOX/org-cli"; U="$BOX/ada"
cd "$BOX"
command -v curl >/dev/null || { echo "# curl missing (setup.sh installs it): skipped"; exit 77; }
t_org_setup "$A" "Acme" 5 KRE
"$ADMIN" --state "$A" export-key -o issuer.asc >/dev/null
"$KLIC" --home "$U" init --name "Ada User" --email ada@test.invalid >/dev/null
"$KLIC" --home "$U" trust issuer.asc >/dev/null
mkdir -p req
"$KLIC" --home "$U" request --product KRE -o req/ada.kreq >/dev/null
head -c 500 /dev/urandom >req/evil.kreq
gpgconf --homedir "$A/gnupg" --kill all 2>/dev/null || true
t_state_copy "$A" "$A2" && find "$A2" -type s -delete
(cd req && "$ADMIN" --state "$A2" member add --yes --from-request ada.kreq >../cli.out 2>../cli.err) || true
(cd req && "$ADMIN" --state "$A2" member add --yes --from-request evil.kreq >/dev/null 2>../evil.err) || true
members() { t_sql "$1" "SELECT fingerprint, name, email FROM members ORDER BY fingerprint; SELECT event, digest FROM audit ORDER BY seq"; }
unesc() { sed 's/&lt;/</g; s/&gt;/>/g; s/&quot;/"/g; s/&#39;/'"'"'/g; s/&amp;/\&/g'; }

serve_start
req -c jar.txt "$URL"
req -b jar.txt "$ORIGIN/members"
CSRF=$(grep -o 'name="csrf" value="[0-9a-f]*"' b.txt | head -n1 | cut -d'"' -f4)
[ "$CODE" = 200 ] && grep -q '<p id="count">0 members</p>' b.txt && grep -q 'id="member-kreq"' b.txt &&
	pass "GET /members: 0 members, the upload form" || fail "members page: $CODE"
post() { req -b jar.txt -H "Origin: $ORIGIN" -F "csrf=$CSRF" "$@"; }
keys() { gpg --homedir "$A/members" --batch --list-keys --with-colons 2>/dev/null | grep '^fpr' || true; }
before=$(members "$A"); keys_before=$(keys)
post -F kreq=@req/ada.kreq "$ORIGIN/members/preview"
FPR=$(cut -d' ' -f1 cli.out)
shown=$(grep -o '<dd class="mono" id="fpr">[^<]*' b.txt | sed 's/.*>//; s/&nbsp;//g; s/ //g')
if [ "$CODE" = 200 ] && grep -q '<dd id="uid">Ada User &lt;ada@test.invalid&gt;</dd>' b.txt && [ "$shown" = "$FPR" ] &&
	grep -q 'id="accept-go">Accept this key as a member' b.txt; then
	pass "preview: Ada User <ada@test.invalid>, fingerprint $FPR (the one member add finds), 'Accept this key as a member'"
else
	fail "preview: $CODE shown '$shown' want '$FPR'"
fi
[ "$(members "$A")" = "$before" ] && [ "$(keys)" = "$keys_before" ] &&
	pass "the preview changed nothing (members, audit rows; no key in the members' keyring: '$keys_before')" || fail "the preview changed the state"
ID=$(grep -o 'name="member" value="[0-9a-f]*"' b.txt | cut -d'"' -f4)
post -F "member=$ID" "$ORIGIN/members/accept"
line=$(grep -o '<p class="ok" id="done">[^<]*' b.txt | sed 's/.*>//' | unesc)
[ "$CODE" = 200 ] && [ "$line" = "$(cat cli.out)" ] && grep -q '<p id="count">1 member</p>' b.txt &&
	grep -q "<td class=\"mono\">$FPR</td>" b.txt &&
	keys | grep -q "$FPR" &&
	pass "accept: '$line', as 'klic-admin member add --yes --from-request ada.kreq' prints; 1 member; its key in the members' keyring" ||
	fail "accept: $CODE '$line' want '$(cat cli.out)'"
[ "$(members "$A")" = "$(members "$A2")" ] && pass "the members and audit rows are those of member add on the command line" ||
	fail "rows differ: $(diff <(members "$A") <(members "$A2"))"
after=$(members "$A")
post -F "member=$ID" "$ORIGIN/members/accept"
[ "$CODE" = 409 ] && grep -q 'no such key shown' b.txt && [ "$(members "$A")" = "$after" ] &&
	pass "accepting the same preview twice: 409, nothing changed" || fail "accept twice: $CODE"
post -F kreq=@req/evil.kreq "$ORIGIN/members/preview"
evil=$(grep -o '<p class="refused" id="error">[^<]*' b.txt | sed 's/.*>//' | unesc)
[ "$CODE" = 400 ] && [ "$evil" = "$(cat evil.err)" ] && [ "$(members "$A")" = "$after" ] &&
	pass "a hostile request: 400 with the command line's line '$evil', nothing changed" ||
	fail "evil: $CODE '$evil' want '$(cat evil.err)'"
post "$ORIGIN/members/preview"
[ "$CODE" = 400 ] && grep -q 'no request: choose a .kreq file' b.txt && pass "nothing uploaded: 400" || fail "empty: $CODE"
serve_stop TERM
gpgconf --homedir "$A/members" --kill all 2>/dev/null || true
# the member can now be issued to, from the command line
rc=0
"$ADMIN" --state "$A" issue req/ada.kreq -o out --yes >/dev/null 2>err.txt || rc=$?
[ "$rc" -eq 0 ] && pass "the accepted member's request is issued (klic-admin issue exit 0)" || fail "issue: $rc $(cat err.txt)"

# --- remove the member: the question (fingerprint, user ID), then member remove --
"$ADMIN" --state "$A2" member remove --yes "$FPR" >cli-rm.out 2>cli-rm.err
"$ADMIN" --state "$A2" member remove --yes "$FPR" >/dev/null 2>cli-rm2.err || true
serve_start
req -c jar.txt "$URL"
req -b jar.txt "$ORIGIN/members"
CSRF=$(grep -o 'name="csrf" value="[0-9a-f]*"' b.txt | head -n1 | cut -d'"' -f4)
[ "$CODE" = 200 ] && grep -q "<input type=\"hidden\" name=\"member\" value=\"$FPR\"><button type=\"submit\" id=\"remove-$FPR\">Remove</button>" b.txt &&
	pass "GET /members: a Remove button on the member's row" || fail "no Remove button: $CODE"
before=$(members "$A"); keys_before=$(keys)
grouped=$(echo "$FPR" | tr 'A-F' 'a-f' | sed 's/..../& /g')
req -b jar.txt -H "Origin: $ORIGIN" --data-urlencode "csrf=$CSRF" --data-urlencode "member=$grouped" "$ORIGIN/members/remove"
shown=$(grep -o '<dd class="mono" id="fpr">[^<]*' b.txt | sed 's/.*>//; s/&nbsp;//g; s/ //g')
if [ "$CODE" = 200 ] && grep -q '<dd id="uid">Ada User &lt;ada@test.invalid&gt;</dd>' b.txt && [ "$shown" = "$FPR" ] &&
	grep -q "name=\"member\" value=\"$FPR\"><button type=\"submit\" id=\"remove-go\">Remove this member</button>" b.txt; then
	pass "remove (fingerprint typed in lower case, in groups): the question shows Ada User <ada@test.invalid> and $FPR"
else
	fail "remove question: $CODE shown '$shown'"
fi
[ "$(members "$A")" = "$before" ] && [ "$(keys)" = "$keys_before" ] && pass "the question changed nothing" ||
	fail "the question changed the state"
req -b jar.txt -H "Origin: $ORIGIN" -d "csrf=${CSRF//[0-9a-f]/0}" -d "member=$FPR" "$ORIGIN/members/remove/confirm"
[ "$CODE" = 403 ] && [ "$(members "$A")" = "$before" ] && pass "remove with a wrong CSRF token: 403, nothing changed" ||
	fail "remove wrong CSRF: $CODE"
req -b jar.txt -H "Origin: http://evil.invalid" -d "csrf=$CSRF" -d "member=$FPR" "$ORIGIN/members/remove/confirm"
[ "$CODE" = 403 ] && [ "$(members "$A")" = "$before" ] && pass "remove from a foreign Origin: 403, nothing changed" ||
	fail "remove foreign Origin: $CODE"
post -F "member=$FPR" "$ORIGIN/members/remove/confirm"
line=$(grep -o '<p class="ok" id="done">[^<]*' b.txt | sed 's/.*>//' | unesc)
[ "$CODE" = 200 ] && [ "$line" = "$(cat cli-rm.out)" ] && grep -q '<p id="count">0 members</p>' b.txt &&
	! keys | grep -q "$FPR" &&
	pass "confirmed: '$line', as 'klic-admin member remove --yes' prints; 0 members; its key out of the members' keyring" ||
	fail "remove: $CODE '$line' want '$(cat cli-rm.out)'"
# (A issued ada.kreq in between, A2 did not: the member events only)
mevents() { t_sql "$1" "SELECT fingerprint FROM members; SELECT event, detail FROM audit WHERE event LIKE 'member%' ORDER BY seq"; }
[ "$(mevents "$A")" = "$(mevents "$A2")" ] && pass "the members and their audit events (member-add, member-remove with its detail) are those of the command line" ||
	fail "rows differ: $(diff <(mevents "$A") <(mevents "$A2"))"
after=$(members "$A")
post -F "member=$FPR" "$ORIGIN/members/remove/confirm"
line=$(grep -o '<p class="refused" id="error">[^<]*' b.txt | sed 's/.*>//' | unesc)
[ "$CODE" = 409 ] && [ "$line" = "$(cat cli-rm2.err)" ] && [ "$(members "$A")" = "$after" ] &&
	pass "removing it again: 409 with the command line's line '$line', nothing changed" ||
	fail "remove twice: $CODE '$line' want '$(cat cli-rm2.err)'"
post -F "member=ABC" "$ORIGIN/members/remove"
[ "$CODE" = 400 ] && grep -q 'member must be a fingerprint (40 hex digits)' b.txt && pass "remove of a non-fingerprint: 400" ||
	fail "remove ABC: $CODE"
grep -q 'POST /members/remove/confirm.*403' "$BOX/srv.err" && pass "the refused remove POSTs left an audit line on stderr" ||
	fail "no audit line: $(cat "$BOX/srv.err")"
serve_stop TERM
gpgconf --homedir "$A/members" --kill all 2>/dev/null || true
"$KLIC" --home "$U" request --product KRE -o req/ada2.kreq >/dev/null
"$ADMIN" --state "$A" issue req/ada2.kreq -o out2 --yes >issue2.txt 2>&1 || true
grep -q '^DENY .*not-member' issue2.txt && pass "the removed member's next request is denied not-member" ||
	fail "after remove: $(cat issue2.txt)"
t_done
