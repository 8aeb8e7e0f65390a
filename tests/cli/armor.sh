#!/usr/bin/env bash
# ASCII armor end to end (spec/ARMOR.md): klic request --armor, klic-admin
# reading armored requests (also as a mail client sends them), klic-admin
# issue --armor, klic install of armored responses (plain, CRLF, a saved
# quoted-printable e-mail, standard input), and refusals that change
# nothing (damaged text, the other kind of armor, two blocks, cut short).
# Usage: armor.sh KLIC KLIC_ADMIN
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/common.sh"
setup_pair
L="$U/license"
nreq() { sqlite3 "$A/ledger.sqlite" 'SELECT count(*) FROM requests'; }
nlics() { local n=0 f; for f in "$L"/*.lic; do [ -e "$f" ] && n=$((n + 1)); done; echo $n; }

# an e-mail as a mail client sends it: MIME, quoted-printable, CRLF
mkmail() { # mkmail IN OUT
	python3 - "$1" "$2" <<'PY'
import sys, email.policy
from email.message import EmailMessage
m = EmailMessage(policy=email.policy.SMTP)
m['From'] = 'Ada User <ada@test.invalid>'
m['To'] = 'admin@test.invalid'
m['Subject'] = 'license request'
body = 'Hello,\n\nhere it is:\n\n' + open(sys.argv[1]).read() + '\nThanks, Ada\n'
m.set_content(body, cte='quoted-printable')
open(sys.argv[2], 'wb').write(m.as_bytes())
PY
}

# --- request side ------------------------------------------------------------------
check "request --armor" user request --product KRE --seats 2 --armor -o ada.txt
head -1 ada.txt | grep -qx -- '-----BEGIN KLIC REQUEST-----' && pass "armored request: BEGIN line" ||
	fail "armored request starts with: $(head -1 ada.txt)"
py_dearmor ada.txt >ada.bin
if [ "$(head -c2 ada.bin | od -An -tx1 | tr -d ' ')" = 1f8b ] && tar tzf ada.bin >/dev/null 2>&1; then
	pass "independent decoding gives a gzip tar: $(tar tzf ada.bin | tr '\n' ' ')"
else fail "decoded armor is not a bundle"; fi
py_armor REQUEST ada.bin | cmp -s - ada.txt && pass "armor is exactly the spec's format (independent encoder)" ||
	fail "armor differs from the independent encoder"
user request --product KRE --armor -o - >stdout.txt 2>"$BOX/err.txt"
head -1 stdout.txt | grep -qx -- '-----BEGIN KLIC REQUEST-----' && [ ! -s "$BOX/err.txt" ] &&
	pass "request --armor -o -: armor on stdout only" || fail "request --armor -o -"

# the admin reads armored requests as they are
check "member add --from-request accepts armor" admin member add --yes --from-request ada.txt
check "issue: armored request, --armor response" admin issue ada.txt -o out --yes --armor
R=out/ada.txt.kresp
head -1 "$R" | grep -qx -- '-----BEGIN KLIC RESPONSE-----' && tail -1 "$R" | grep -qx -- '-----END KLIC RESPONSE-----' &&
	pass "issue --armor writes a RESPONSE armor" || fail "response armor: $(head -1 "$R")"
py_dearmor "$R" >resp.bin
grep -q '^manifest.sig$' <<<"$(tar tzf resp.bin)" && pass "response armor holds a bundle: $(tar tzf resp.bin | tr '\n' ' ')" ||
	fail "response armor does not decode to a bundle"
# the same request again (binary output): the stored response, same bytes
check "re-issue the same request without --armor" admin issue ada.txt -o out2 --yes
py_armor RESPONSE out2/ada.txt.kresp | cmp -s - "$R" && pass "armor and binary of the re-issued response are the same bundle" ||
	fail "re-issued response differs from the armored one"

# --- install side ---------------------------------------------------------------------
before=$(nlics)
check "install an armored response" user install "$R"
[ $(($(nlics) - before)) -eq 2 ] && pass "2 licenses installed from armor" || fail "installed $(($(nlics) - before))"

# each transport form of a fresh response installs
form() { # form NAME MAKE_CMD: request, armored response, transformed, installed
	local name=$1 mk=$2 n
	user request --product KRE --armor -o "$name.txt" >/dev/null
	admin issue "$name.txt" -o out --yes --armor >/dev/null
	$mk "out/$name.txt.kresp" "$name.form"
	n=$(nlics)
	if user install "$name.form" >"$BOX/out.txt" 2>"$BOX/err.txt" && [ $(($(nlics) - n)) -eq 1 ]; then
		pass "install from $name"
	else fail "install from $name: $(cat "$BOX/err.txt")"; fi
}
crlf() { sed 's/$/\r/' "$1" >"$2"; }
mail() { mkmail "$1" "$2"; }
quoted_chat() { { echo "  forwarded from the chat:"; sed 's/^/    /; s/$/  /' "$1"; echo "  end"; } >"$2"; }
form crlf crlf
form mail mail
grep -q '=3D' mail.form && grep -q '^Content-Transfer-Encoding: quoted-printable' mail.form &&
	pass "the saved e-mail is quoted-printable (=3D) with headers around the block" ||
	fail "mail.form is not quoted-printable"
form chat quoted_chat
user request --product KRE --armor -o stdin.txt >/dev/null
admin issue stdin.txt -o out --yes --armor >/dev/null
n=$(nlics)
if user install - <out/stdin.txt.kresp >/dev/null 2>"$BOX/err.txt" && [ $(($(nlics) - n)) -eq 1 ]; then
	pass "install - reads an armored response from stdin"
else fail "install -: $(cat "$BOX/err.txt")"; fi

# the admin reads a request e-mailed by a mail client (quoted-printable, CRLF)
user request --product KRE --armor -o mailed.txt >/dev/null
mkmail mailed.txt mailed.eml
check "klic-admin issue reads a saved quoted-printable e-mail" admin issue mailed.eml -o out --yes
check "and its response installs" user install out/mailed.eml.kresp

# --- refusals: nothing changes -------------------------------------------------------------
user request --product KRE --armor -o bad.txt >/dev/null
admin issue bad.txt -o out --yes --armor >/dev/null
# a base64 character changed (still base64): the checksum catches it
python3 - out/bad.txt.kresp damaged.kresp <<'PY'
import sys
t = open(sys.argv[1]).read().split('\n')
l = t[5]
t[5] = l[:10] + ('B' if l[10] != 'B' else 'C') + l[11:]
open(sys.argv[2], 'w').write('\n'.join(t))
PY
expect_refused "damaged armored response" "$L" user install damaged.kresp
grep -q "checksum mismatch" "$BOX/err.txt" && pass "damage is named: checksum mismatch" || fail "message: $(cat "$BOX/err.txt")"
expect_refused "a REQUEST armor given to install" "$L" user install bad.txt
grep -q "wrong document type: this is an armored KLIC REQUEST; a KLIC RESPONSE is expected" "$BOX/err.txt" &&
	pass "wrong kind is named" || fail "message: $(cat "$BOX/err.txt")"
cat out/bad.txt.kresp out/bad.txt.kresp >two.kresp
expect_refused "two armored blocks" "$L" user install two.kresp
head -n -2 out/bad.txt.kresp >cut.kresp
expect_refused "armor cut short (checksum and END missing)" "$L" user install cut.kresp
sed 's/^-----BEGIN/> -----BEGIN/' out/bad.txt.kresp >quoted.kresp
expect_refused "a quoted block (no BEGIN line of its own)" "$L" user install quoted.kresp
sed '2i Version: 1' out/bad.txt.kresp >hdr.kresp
expect_refused "armor header line" "$L" user install hdr.kresp

# the admin: a damaged request or the wrong kind records nothing, writes nothing
python3 - bad.txt damaged.kreq <<'PY'
import sys
t = open(sys.argv[1]).read().split('\n')
t[4] = t[4][:20] + ('x' if t[4][20] != 'x' else 'y') + t[4][21:]
open(sys.argv[2], 'w').write('\n'.join(t))
PY
r0=$(nreq)
rc=0; admin issue damaged.kreq -o refused --yes >"$BOX/out.txt" 2>"$BOX/err.txt" || rc=$?
if [ $rc -eq 1 ] && [ "$(nreq)" = "$r0" ] && [ ! -e refused/damaged.kresp ] && grep -q "malformed ASCII armor" "$BOX/err.txt"; then
	pass "klic-admin: damaged armored request refused, nothing recorded: $(cat "$BOX/err.txt")"
else fail "klic-admin damaged request: rc $rc, $(cat "$BOX/err.txt")"; fi
rc=0; admin issue out/bad.txt.kresp -o refused --yes >"$BOX/out.txt" 2>"$BOX/err.txt" || rc=$?
if [ $rc -eq 1 ] && [ "$(nreq)" = "$r0" ] && grep -q "armored KLIC RESPONSE; a KLIC REQUEST is expected" "$BOX/err.txt"; then
	pass "klic-admin: a RESPONSE armor given to issue is refused by kind"
else fail "klic-admin wrong kind: rc $rc, $(cat "$BOX/err.txt")"; fi
t_done
