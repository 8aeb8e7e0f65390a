# Helpers for the command-line scripted tests (sourced after ../lib.sh).
# Usage of the sourcing script: SCRIPT.sh KLIC KLIC_ADMIN
KLIC=$1 ADMIN=$2
A="$BOX/admin"; U="$BOX/user"
admin() { "$ADMIN" --state "$A" "$@"; }
user() { "$KLIC" --home "$U" "$@"; }
cd "$BOX"

# setup_pair: an admin with 64 KRE and 2 KSE seats, a user who pinned the
# issuer, and the user registered as a member (from a first request).
setup_pair() {
	t_org_setup "$A" "Test Org" 64 KRE node-locked yearly --until 2099-12-31
	t_entitle "$A" 2 KSE node-locked yearly --until 2099-12-31
	admin export-key -o issuer.asc
	user init --name "Ada User" --email ada@test.invalid >/dev/null
	user trust issuer.asc >/dev/null
	user request --product KRE -o first.kreq >/dev/null
	admin member add --yes --from-request first.kreq >/dev/null
}

# check NAME CMD...: pass when CMD succeeds.
check() {
	local name=$1; shift
	if "$@" >"$BOX/out.txt" 2>"$BOX/err.txt"; then pass "$name"
	else fail "$name (exit $?): $(head -c 300 "$BOX/err.txt")"; fi
}

# py_armor KIND FILE: the armor of FILE's bytes, computed independently of
# klic (Python's base64 and a CRC-24 written from RFC 4880 6.1).
py_armor() {
	python3 - "$1" "$2" <<'PY'
import base64, sys
def crc24(d):
    c = 0xB704CE
    for b in d:
        c ^= b << 16
        for _ in range(8):
            c <<= 1
            if c & 0x1000000:
                c ^= 0x1864CFB
    return c & 0xFFFFFF
kind, data = sys.argv[1], open(sys.argv[2], 'rb').read()
b = base64.b64encode(data).decode()
out = '-----BEGIN KLIC %s-----\n\n' % kind
out += ''.join(b[i:i + 64] + '\n' for i in range(0, len(b), 64))
out += '=' + base64.b64encode(crc24(data).to_bytes(3, 'big')).decode() + '\n'
out += '-----END KLIC %s-----\n' % kind
sys.stdout.write(out)
PY
}

# py_dearmor FILE: the bytes inside a plain armor, decoded independently.
py_dearmor() {
	python3 - "$1" <<'PY'
import base64, sys
lines = open(sys.argv[1]).read().split('\n')
body = [l for l in lines if l and not l.startswith('-----') and not l.startswith('=')]
sys.stdout.buffer.write(base64.b64decode(''.join(body), validate=True))
PY
}
