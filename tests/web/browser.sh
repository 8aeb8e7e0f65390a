#!/usr/bin/env bash
# The web console in headless chromium (browser.py, Selenium): the setup
# (an organization, two users, their requests made by `klic request`, a
# hostile file and the command line's refusal line for it), the server, the
# browser run, then `klic install` of the .kresp the browser downloaded.
# Screenshots: SHOTS (the build folder).  Exit 77 when chromium is missing.
# Usage: browser.sh KLIC KLIC_ADMIN SHOTS
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/weblib.sh"
KLIC=$1
ADMIN=$2
SHOTS=$3
A="$BOX/org"; U="$BOX/ada"; V="$BOX/bob"
cd "$BOX"
if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ] || ! /usr/bin/python3 -c 'import selenium' 2>/dev/null; then
	echo "# SKIPPED: chromium, chromium-driver or python3-selenium is not installed (setup.sh installs them)" >&2
	exit 77
fi
mkdir -p "$SHOTS" && rm -f "$SHOTS"/*.png
t_org_setup "$A" "Acme" 5 KRE
"$ADMIN" --state "$A" export-key -o issuer.asc >/dev/null
"$KLIC" --home "$U" init --name "Ada User" --email ada@test.invalid >/dev/null
"$KLIC" --home "$U" trust issuer.asc >/dev/null
"$KLIC" --home "$V" init --name "Bob User" --email bob@test.invalid >/dev/null
MID=$("$KLIC" --home "$U" id)
mkdir -p req dl
"$KLIC" --home "$U" request --product KRE --seats 2 -o req/ada.kreq >/dev/null
"$KLIC" --home "$V" request --product KRE -o req/bob.kreq >/dev/null
head -c 700 /dev/urandom >req/evil.kreq
"$ADMIN" --state "$A" member add --yes --from-request req/ada.kreq >/dev/null
# the line the command line prints for the hostile file (in a copy of the state)
gpgconf --homedir "$A/gnupg" --kill all 2>/dev/null || true
cp -a "$A" "$BOX/copy" && find "$BOX/copy" -type s -delete
(cd req && "$ADMIN" --state "$BOX/copy" issue evil.kreq -o ../evil-out --yes >/dev/null 2>../evil.err) || true
serve_start
rc=0
/usr/bin/python3 "$(dirname "$0")/browser.py" "$URL" "$BOX/req" "$BOX/dl" "$SHOTS" "$(cat evil.err)" "$MID" || rc=$?
[ "$rc" -eq 0 ] && pass "browser.py: every check passed (screenshots in $SHOTS)" || fail "browser.py: exit $rc"
serve_stop TERM
rc=0
"$KLIC" --home "$U" install dl/ada.kresp >out.txt 2>err.txt || rc=$?
[ "$rc" -eq 0 ] && pass "klic install of the .kresp the browser downloaded: $(head -n1 out.txt)" ||
	fail "klic install dl/ada.kresp: exit $rc $(cat err.txt)"
n=$(ls "$SHOTS"/*.png 2>/dev/null | wc -l)
[ "$n" -eq 15 ] && pass "15 screenshots kept in $SHOTS" || fail "$n screenshots in $SHOTS"
t_done
