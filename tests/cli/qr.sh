#!/usr/bin/env bash
# QR transport (spec/ARMOR.md sections 4 and 5), decoded by an independent
# decoder (zbarimg from Debian's zbar-tools): the PNG of `klic request
# --qr-png` decodes to exactly the request's armor; the terminal rendering of
# `klic request --qr` is numbered codes that each fit 80x24, each decoded,
# joined (independently) back into the .kreq byte for byte; klic-admin
# issue and klic install join parts (any order, zbarimg's own output, an
# e-mail) and refuse a missing, repeated, foreign or damaged part with one
# line, exit 1, nothing changed; on a terminal (script(1)) one code a
# screen, a key for the next, and a note first when the terminal is small.
# Usage: qr.sh KLIC KLIC_ADMIN   (exit 77 = skipped: no zbarimg)
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/common.sh"
if ! command -v zbarimg >/dev/null 2>&1; then
	echo "# skipped: zbarimg not installed (Debian package zbar-tools)"
	exit 77
fi
setup_pair
# zbarimg --raw -Sbinary: the symbol's bytes unchanged (zbar >= 0.23);
# stderr carries D-Bus noise in containers.
zbar() { zbarimg --quiet --raw -Sbinary "$1" 2>/dev/null; }

# --- PNG ---------------------------------------------------------------------------------
user request --product KRE --seats 3 -o q.kreq --qr-png q.png >out.txt
[ -f q.kreq ] && [ -f q.png ] && pass "request --qr-png writes the .kreq and the PNG" || fail "files missing"
grep -q '^QR code: version [0-9]*, level [LMQH]' out.txt && pass "$(grep '^QR code' out.txt)" ||
	fail "no QR summary: $(cat out.txt)"
head -2 out.txt | tail -1 | grep -q '^request digest: ' && head -1 out.txt | grep -qx q.kreq &&
	pass "first two lines unchanged (path, digest)" || fail "output: $(head -2 out.txt)"
zbar q.png >q.dec || true
py_armor REQUEST q.kreq >q.want
if cmp -s q.dec q.want; then pass "zbarimg decodes the PNG to exactly the armor of q.kreq ($(wc -c <q.dec) bytes)"
else fail "PNG decodes to something else ($(wc -c <q.dec) bytes vs $(wc -c <q.want))"; fi
py_dearmor q.dec | cmp -s - q.kreq && pass "the bundle inside the QR code is the .kreq written, byte for byte" ||
	fail "decoded bundle differs from q.kreq"
check "klic-admin issue accepts the decoded text" admin issue q.dec -o out --yes
check "and its response installs" user install out/q.dec.kresp
[ "$(ls "$U/license" | wc -l)" -eq 3 ] && pass "3 licenses from the QR round trip" || fail "licenses: $(ls "$U/license")"

# --armor file and QR: the file is exactly what the code holds
user request --product KRE --armor -o a.txt --qr-png a.png >/dev/null
zbar a.png | cmp -s - a.txt && pass "--armor file == QR content" || fail "--armor file differs from the QR content"

# --qr-png - : the PNG on stdout, nothing else
user request --product KRE -o s.kreq --qr-png - >s.png 2>"$BOX/err.txt"
[ "$(head -c4 s.png | od -An -c | tr -d ' ')" = '211PNG' ] && [ ! -s "$BOX/err.txt" ] &&
	pass "--qr-png -: a PNG on stdout" || fail "--qr-png -: $(head -c 40 s.png | od -c | head -2)"
zbar s.png | cmp -s - <(py_armor REQUEST s.kreq) && pass "stdout PNG decodes to the armor of s.kreq" ||
	fail "stdout PNG does not decode"

# --- terminal: numbered codes that each fit 80x24 (spec/ARMOR.md section 5) ---------------
# qr_split TERM PREFIX: the codes of a --qr output (each followed by its
# "part i/n" caption) back into images PREFIX01.pgm ... (4 pixels a module)
# for zbarimg; fails unless every code with its caption fits 80 columns and
# 24 lines and has its quiet zone.  Prints "N W H" (codes, widest, tallest).
qr_split() {
	python3 - "$1" "$2" <<'PY'
import sys
cells = {' ': (0, 0), '\u2580': (1, 0), '\u2584': (0, 1), '\u2588': (1, 1)}
pre, post = '\x1b[30;107m', '\x1b[0m'
blocks, cur, W, H = [], [], 0, 0
for line in open(sys.argv[1], encoding='utf-8').read().split('\n'):
    if line.startswith(pre):
        assert line.endswith(post), 'line not reset'
        cur.append(line[len(pre):-len(post)])
    elif line.startswith('part '):
        assert cur, 'caption without a code'
        assert line == 'part %d/%s' % (len(blocks) + 1, line.split('/')[1]), line
        blocks.append(cur); cur = []
assert blocks and not cur, 'no codes, or a code without its caption'
for k, b in enumerate(blocks):
    w = len(b[0])
    assert all(len(x) == w for x in b), 'ragged lines'
    W, H = max(W, w), max(H, len(b) + 1)  # + the caption line
    rows = []
    for body in b:
        rows.append([cells[c][0] for c in body]); rows.append([cells[c][1] for c in body])
    assert not any(rows[0]) and not any(rows[-1]) and not any(r[0] or r[-1] for r in rows), 'no quiet zone'
    out = bytearray()
    for r in rows:
        out += b''.join((b'\x00' if v else b'\xff') * 4 for v in r) * 4
    open('%s%02d.pgm' % (sys.argv[2], k + 1), 'wb').write(
        b'P5\n%d %d\n255\n' % (w * 4, len(rows) * 4) + bytes(out))
assert W <= 80 and H <= 24, 'a code of %dx%d does not fit 80x24' % (W, H)
print(len(blocks), W, H)
PY
}
# py_join FILE KIND: the bundle in QR parts (one per zbarimg output), joined
# independently of klic: the spec's part lines, any order, digest checked.
py_join() {
	python3 - "$1" "$2" <<'PY'
import base64, hashlib, re, sys
text, kind = open(sys.argv[1]).read(), sys.argv[2]
parts = re.findall(r'^(?:QR-Code:)?KLIC (\w+) ([1-9][0-9]?)/([1-9][0-9]?) ([0-9a-f]{8})\n+([A-Za-z0-9+/=]+)$', text, re.M)
assert parts and all(p[0] == kind for p in parts), 'no parts of a %s' % kind
n, dig = int(parts[0][2]), parts[0][3]
assert sorted(int(p[1]) for p in parts) == list(range(1, n + 1)), 'parts missing or repeated'
assert all(int(p[2]) == n and p[3] == dig for p in parts), 'parts of two bundles'
data = b''.join(base64.b64decode(p[4], validate=True) for p in sorted(parts, key=lambda p: int(p[1])))
assert hashlib.sha256(data).hexdigest()[:8] == dig, 'digest mismatch'
sys.stdout.buffer.write(data)
PY
}
# py_split FILE KIND: FILE's bytes as QR part texts, written independently
# of klic (spec/ARMOR.md 5.1), most of them first, part 1 last.
py_split() {
	python3 - "$1" "$2" <<'PY'
import base64, hashlib, sys
data, kind = open(sys.argv[1], 'rb').read(), sys.argv[2]
dig, chunk = hashlib.sha256(data).hexdigest()[:8], 57
sl = [data[i:i + chunk] for i in range(0, len(data), chunk)]
parts = ['KLIC %s %d/%d %s\n%s\n' % (kind, i + 1, len(sl), dig, base64.b64encode(s).decode())
         for i, s in enumerate(sl)]
sys.stdout.write(''.join(parts[1:] + parts[:1]))
PY
}

user request --product KSE -o k.kreq --qr >term.txt
if geo=$(qr_split term.txt k); then
	read -r N W H <<<"$geo"
	pass "--qr prints $N codes, each with its caption at most ${W}x$H: fits 80x24"
else
	fail "terminal codes malformed or too large"; N=0
fi
grep -qx "QR codes: $N of $N parts shown, each at most 45 columns and 24 lines (version 5 or less)" term.txt &&
	pass "$(grep '^QR codes' term.txt)" || fail "summary: $(grep '^QR' term.txt)"
[ "$N" -ge 2 ] && pass "a request needs several codes ($N)" || fail "only $N code(s)"
: >k.parts
for f in k[0-9][0-9].pgm; do zbar "$f" >>k.parts || fail "zbarimg cannot decode $f"; done
[ "$(grep -c '^KLIC REQUEST ' k.parts)" -eq "$N" ] && pass "zbarimg decodes each of the $N codes" ||
	fail "decoded: $(grep -c '^KLIC REQUEST ' k.parts) of $N"
head -1 k.parts | grep -Eqx "KLIC REQUEST 1/$N [0-9a-f]{8}" && pass "code 1 holds: $(head -1 k.parts)" ||
	fail "code 1: $(head -1 k.parts)"
py_join k.parts REQUEST >k.joined && cmp -s k.joined k.kreq &&
	pass "the $N decoded parts join (independently) into k.kreq, byte for byte" ||
	fail "joined parts differ from k.kreq"
# as pasted into one file in any order, and as zbarimg prints them (QR-Code:)
for f in $(ls k[0-9][0-9].pgm | sort -r); do zbar "$f"; echo; done >k.rev
zbarimg --quiet k[0-9][0-9].pgm 2>/dev/null >k.zbar
grep -q '^QR-Code:KLIC REQUEST 1/' k.zbar && pass "zbarimg's own output (QR-Code: prefix) kept as is" ||
	fail "zbarimg output: $(head -1 k.zbar)"
check "klic-admin issue joins the parts given in reverse order" admin issue k.rev -o pout --yes
check "klic-admin issue joins zbarimg's output (QR-Code: lines)" admin issue k.zbar -o zout --yes
admin member add --yes --from-request k.zbar >mem.txt 2>&1 && grep -q "(already a member)" mem.txt &&
	pass "member add --from-request reads the joined parts: $(cat mem.txt)" || fail "member add: $(cat mem.txt)"
cmp -s pout/k.rev.kresp zout/k.zbar.kresp && pass "both give the same response (one request)" ||
	fail "the two responses differ"
check "klic install joins the parts of a response (split independently, in an e-mail)" \
	bash -c "{ echo 'Hello Ada, here is your license:'; echo; $(declare -f py_split); py_split pout/k.rev.kresp RESPONSE; echo '-- '; echo 'Bob'; } >r.mail && \"$KLIC\" --home \"$U\" install r.mail"
ls "$U/license" | grep -q . && grep -q KSE <(user status 2>&1) && pass "the KSE license from the joined parts is installed" ||
	fail "no KSE license: $(user status 2>&1 | head -3)"

# --- refusals: one line, exit 1, nothing changed ---------------------------------------
# refused NAME WATCH EXPECTED_LINE CMD...: exit 1, exactly EXPECTED_LINE on
# stderr, WATCH unchanged.
refused() {
	local name=$1 watch=$2 want=$3; shift 3
	local before after rc=0
	before=$(tree_sum "$watch")
	"$@" >"$BOX/out.txt" 2>"$BOX/err.txt" || rc=$?
	after=$(tree_sum "$watch")
	if [ "$rc" -ne 1 ]; then fail "$name: exit $rc, expected 1 ($(head -c 300 "$BOX/err.txt"))"
	elif [ "$(cat "$BOX/err.txt")" != "$want" ]; then fail "$name: got '$(cat "$BOX/err.txt")', want '$want'"
	elif [ "$before" != "$after" ]; then fail "$name: $watch changed"
	else pass "$name: exit 1, '$want', nothing changed"; fi
}
user request --product KRE -o o.kreq --qr >o.term
qr_split o.term o >/dev/null || fail "second request's codes"
: >o.parts
for f in o[0-9][0-9].pgm; do zbar "$f" >>o.parts; done
part() { # part FILE I: part I (its two lines) of a parts file
	grep -A1 "^KLIC [A-Z]* $2/" "$1" | grep -v '^--$'
}
D=$(head -1 k.parts | cut -d' ' -f4) D2=$(head -1 o.parts | cut -d' ' -f4)
grep -v -A1 "^KLIC REQUEST 2/" k.parts | grep -v -e "^KLIC REQUEST 2/" -e '^--$' >miss.txt
{ cat k.parts; part k.parts 3; } >dup.txt
{ grep -v -e "^KLIC REQUEST 2/" k.parts | grep -vxF "$(part k.parts 2 | tail -1)"; part o.parts 2; } >foreign.txt
# one base64 character of part 1 changed into another (the text stays base64)
python3 - k.parts damaged.txt <<'PY'
import sys
t = open(sys.argv[1]).read().split('\n')
i = [k for k, l in enumerate(t) if l.startswith('KLIC REQUEST 1/')][0] + 1
t[i] = ('B' if t[i][0] == 'A' else 'A') + t[i][1:]
open(sys.argv[2], 'w').write('\n'.join(t))
PY
{ cat k.parts; py_armor REQUEST k.kreq; } >both.txt
refused "a missing part" "$A" "klic-admin: miss.txt: malformed ASCII armor: part 2/$N is missing ($((N - 1)) of $N parts given)" \
	admin issue miss.txt -o m1 --yes
refused "a part given twice" "$A" "klic-admin: dup.txt: malformed ASCII armor: part 3/$N is given twice" \
	admin issue dup.txt -o m2 --yes
refused "a part of another request" "$A" \
	"klic-admin: foreign.txt: malformed ASCII armor: part 2/$(head -1 o.parts | cut -d' ' -f3 | cut -d/ -f2) $D2 is of another bundle than part 1/$N $D: give the parts of one bundle only" \
	admin issue foreign.txt -o m3 --yes
refused "a part changed on the way" "$A" \
	"klic-admin: damaged.txt: malformed ASCII armor: the joined parts do not match their digest $D ($(
		python3 -c 'import sys,re,base64,hashlib
t=open(sys.argv[1]).read()
p=re.findall(r"^KLIC REQUEST (\d+)/\d+ \w+\n(\S+)$",t,re.M)
print(hashlib.sha256(b"".join(base64.b64decode(d) for i,d in sorted(p,key=lambda x:int(x[0])))).hexdigest()[:8])' damaged.txt)): a part was changed or damaged on the way" \
	admin issue damaged.txt -o m4 --yes
refused "an armor block and parts in one file" "$A" \
	"klic-admin: both.txt: malformed ASCII armor: both an armor block (-----BEGIN KLIC) and QR part lines (KLIC ... i/n): give one of them only" \
	admin issue both.txt -o m5 --yes
refused "request parts given to install" "$U" \
	"klic: k.rev: wrong document type: these are the QR parts of a KLIC REQUEST; a KLIC RESPONSE is expected here" \
	user install k.rev
[ -z "$(find m1 m2 m3 m4 m5 -type f 2>/dev/null)" ] && pass "no response written by a refused issue" ||
	fail "refused issues wrote: $(find m1 m2 m3 m4 m5 -type f)"

# --- a real terminal: one code a screen, a keypress for the next -------------------------
# script(1) gives klic a terminal; its input is the keys.
KQ="\"$KLIC\" --home \"$U\""
printf '%*s' 40 '' | tr ' ' n | script -qec "stty rows 24 cols 80; $KQ request --product KRE -o t1.kreq --qr" /dev/null >tty1.txt 2>&1
[ "$(grep -o $'\e\[H\e\[2J' tty1.txt | wc -l)" -gt 2 ] && grep -q "part 1/[0-9]*: scan it, then press a key for the next (q stops)" tty1.txt &&
	pass "on a terminal: the screen is cleared for each code, a key shows the next" ||
	fail "paging: $(grep -ao 'part [0-9/]*: [a-z ,]*' tty1.txt | head -3)"
grep -aq "QR codes: \([0-9]*\) of \1 parts shown" tty1.txt && pass "every code shown, one key each" ||
	fail "not all shown: $(grep -a 'QR codes' tty1.txt)"
[ -f t1.kreq ] || fail "t1.kreq missing"
printf 'q' | script -qec "stty rows 24 cols 80; $KQ request --product KRE -o t2.kreq --qr" /dev/null >tty2.txt 2>&1
grep -aq "klic: request: stopped after 1 of [0-9]* QR codes" tty2.txt && grep -aq "QR codes: 1 of [0-9]* parts shown" tty2.txt &&
	pass "q stops after the first code, and says so" || fail "q: $(grep -a 'QR\|stopped' tty2.txt)"
# a small terminal: the note first, then a key to go on (q stops, nothing shown)
printf '%*s' 40 '' | tr ' ' n | script -qec "stty rows 20 cols 40; $KQ request --product KRE -o t3.kreq --qr" /dev/null >tty3.txt 2>&1
note="klic: request: note: each QR code needs 45 columns and 24 lines, the terminal has 40x20: enlarge the window or use a smaller font (or --qr-png FILE)"
if grep -aqF "$note" tty3.txt; then
	before=$(grep -abo -F "$note" tty3.txt | sed -n '1s/:.*//p')
	prompt=$(grep -abo -F "press a key to show them anyway (q stops)" tty3.txt | sed -n '1s/:.*//p')
	first=$(grep -abo $'\e\[30;107m' tty3.txt | sed -n '1s/:.*//p')
	[ -n "$prompt" ] && [ -n "$first" ] && [ "$before" -lt "$prompt" ] && [ "$prompt" -lt "$first" ] &&
		pass "a small terminal: '$note', then a key before the first code" ||
		fail "the note or its key come after a code"
else
	fail "no note for a 40x20 terminal: $(grep -a note tty3.txt)"
fi
printf 'q' | script -qec "stty rows 20 cols 40; $KQ request --product KRE -o t4.kreq --qr" /dev/null >tty4.txt 2>&1
grep -aqF "$note" tty4.txt && ! grep -aq $'\e\[30;107m' tty4.txt &&
	grep -aq "klic: request: stopped after 0 of [0-9]* QR codes" tty4.txt && [ -f t4.kreq ] &&
	pass "q at the note: no code printed, the note stays, the .kreq is written" ||
	fail "q at the note: $(grep -a 'stopped\|note' tty4.txt)"

# --- usage: stdout can carry one thing; nothing is made ------------------------------------
P="$U/klic/pending"
before=$(ls "$P" | wc -l)
rc=0; user request --product KRE --qr -o - >"$BOX/out.txt" 2>"$BOX/err.txt" || rc=$?
[ $rc -eq 2 ] && [ ! -s "$BOX/out.txt" ] && [ "$(ls "$P" | wc -l)" = "$before" ] &&
	pass "--qr with -o - is a usage error, nothing made" || fail "--qr -o -: rc $rc"
rc=0; user request --product KRE --qr --qr-png - >"$BOX/out.txt" 2>"$BOX/err.txt" || rc=$?
[ $rc -eq 2 ] && [ "$(ls "$P" | wc -l)" = "$before" ] && pass "--qr with --qr-png - is a usage error" ||
	fail "--qr --qr-png -: rc $rc"
t_done
