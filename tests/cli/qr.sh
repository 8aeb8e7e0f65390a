#!/usr/bin/env bash
# QR transport (spec/ARMOR.md section 4), decoded by an independent decoder
# (zbarimg from Debian's zbar-tools): the PNG of `klic request --qr-png`
# and the terminal rendering of `klic request --qr` both decode to exactly
# the request's armor, byte for byte; the .kreq inside is the file written;
# klic-admin accepts the decoded text and its response installs.
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

# --- terminal ---------------------------------------------------------------------------
user request --product KSE -o k.kreq --qr >term.txt
# turn the half blocks back into an image (4 pixels a module) for zbarimg
python3 - term.txt term.pgm <<'PY' || fail "terminal rendering malformed"
import sys
cells = {' ': (0, 0), '\u2580': (1, 0), '\u2584': (0, 1), '\u2588': (1, 1)}
rows = []
for line in open(sys.argv[1], encoding='utf-8').read().split('\n'):
    if not line.startswith('\x1b[30;107m'):
        continue
    assert line.endswith('\x1b[0m'), 'line not reset'
    body = line[len('\x1b[30;107m'):-len('\x1b[0m')]
    rows.append([cells[c][0] for c in body])
    rows.append([cells[c][1] for c in body])
w = len(rows[0])
assert all(len(r) == w for r in rows), 'ragged lines'
# quiet zone: 4 light modules on every side
assert not any(rows[0]) and not any(r[0] or r[-1] for r in rows), 'no quiet zone'
S = 4
out = bytearray()
for r in rows:
    line = b''.join((b'\x00' if v else b'\xff') * S for v in r)
    out += line * S
open(sys.argv[2], 'wb').write(b'P5\n%d %d\n255\n' % (w * S, len(rows) * S) + bytes(out))
PY
zbar term.pgm | cmp -s - <(py_armor REQUEST k.kreq) &&
	pass "the terminal QR code decodes to exactly the armor of k.kreq" || fail "terminal QR does not decode"
grep -qx k.kreq term.txt && pass "path and digest follow the QR code" || fail "no path line after the QR code"

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
