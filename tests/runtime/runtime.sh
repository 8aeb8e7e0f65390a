#!/usr/bin/env bash
# The runtime library libklic (build tree): klic_license_verify() agrees
# with `klic verify` on a real license and gives the precise error for each
# way a license can be wrong; the public header stands alone (C and C++)
# and matches the internal error table; the shared library exports only the
# public API.
# Usage: runtime.sh KLIC KLIC_ADMIN EXAMPLE RT_THREADS SOURCE_DIR LIBKLIC_SO KLIC_H
# (KLIC_H: the klic.h generated in the build tree from bundle/klic_errors.def)
. "$(dirname "$0")/../lib.sh"
# faketime preloads itself before the sanitizer runtime; let ASan builds
# run under it (no effect on normal builds).
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0"
KLIC=$1
ADMIN=$2
EXAMPLE=$3
THREADS=$4
SRC=$5
SO=$6
HDR=$7

# --- the public header ---------------------------------------------------------
if python3 - "$HDR" "$SRC/bundle/klic_errors.def" <<'EOF'; then
import re, sys
def codes(p):
    return dict(re.findall(r'^\s*(KLIC_(?:OK|ERR_[A-Z_]+))\s*=\s*(-?\d+)', open(p).read(), re.M))
def rows(p):
    return dict(re.findall(r'^KLIC_ERROR\((KLIC_(?:OK|ERR_[A-Z_]+)),\s*(-?\d+),', open(p).read(), re.M))
pub, internal = codes(sys.argv[1]), rows(sys.argv[2])
if len(pub) < 50:
    print("# only %d codes in klic.h" % len(pub))
    sys.exit(1)
if pub != internal:
    print("# only in klic.h:", sorted(set(pub.items()) - set(internal.items())))
    print("# only in klic_errors.def:", sorted(set(internal.items()) - set(pub.items())))
    sys.exit(1)
print("# %d codes" % len(pub))
EOF
	pass "klic.h error codes are exactly the internal table's"
else
	fail "klic.h and bundle/klic_errors.def disagree"
fi
hdr=$(mktemp -d "$BOX/hdr-XXXX")
cp "$HDR" "$hdr/"
printf '#include <klic.h>\nint main(void) { struct klic_license_info i; return klic_license_verify(&i, "x", 0) == KLIC_OK; }\n' >"$hdr/c.c"
if cc -std=c99 -Wall -Wextra -Wpedantic -Werror -fsyntax-only -I"$hdr" "$hdr/c.c" 2>"$BOX/cc.err"; then
	pass "klic.h alone compiles as C99 (-Wpedantic -Werror)"
else
	fail "klic.h as C99: $(head -5 "$BOX/cc.err")"
fi
if command -v c++ >/dev/null; then
	cp "$hdr/c.c" "$hdr/cxx.cpp"
	if c++ -std=c++11 -Wall -Wextra -Wpedantic -Werror -fsyntax-only -I"$hdr" "$hdr/cxx.cpp" 2>"$BOX/cxx.err"; then
		pass "klic.h compiles as C++11"
	else
		fail "klic.h as C++: $(head -5 "$BOX/cxx.err")"
	fi
fi

# --- exported symbols ----------------------------------------------------------
syms=$(nm -D --defined-only "$SO" | awk '$2 == "T" {sub(/@.*/, "", $3); print $3}' | sort | tr '\n' ' ')
want=$(grep -oE '^KLIC_API [^(]*\(' "$HDR" | grep -oE '[a-z_]+\($' | tr -d '(' | sort | tr '\n' ' ')
if [ "$syms" = "$want" ]; then pass "libklic.so exports exactly the klic.h API: $syms"
else fail "exported: '$syms', declared: '$want'"; fi
soname=$(readelf -d "$SO" | sed -n 's/.*Library soname: \[\(.*\)\]/\1/p')
[ "$soname" = libklic.so.1 ] && pass "SONAME $soname" || fail "SONAME '$soname'"

# --- a real license --------------------------------------------------------------
A="$BOX/admin"; H="$BOX/home"; U="$H/.katalon"; V="$BOX/other"; O="$BOX/other-org"
admin() { "$ADMIN" --state "$A" "$@"; }
user() { "$KLIC" --home "$U" "$@"; }
cd "$BOX"
until=$(date -u -d '+400 days' +%F)
admin init --org "Runtime Org" --name "Admin" --email admin@test.invalid >/dev/null
admin entitlement add --product KRE --model node-locked --billing yearly --seats 5 --until "$until" >/dev/null
admin export-key -o issuer.asc
user init --name "Ada" --email ada@test.invalid >/dev/null
IFPR=$(user trust issuer.asc)
MID=$(user id)
user request --product KRE --seats 2 -o ada.kreq >/dev/null
admin member add --from-request ada.kreq >/dev/null
admin issue ada.kreq -o outbox --yes >/dev/null
user install outbox/ada.kresp >/dev/null
L="$U/license"
LIC="$L/KRE_${MID}.lic"
[ -f "$LIC" ] && pass "installed $LIC" || fail "no $LIC: $(ls "$L" 2>&1)"

# expect NAME ERRNAME CMD...: the example must exit 1 naming ERRNAME.
expect() {
	local name=$1 code=$2 rc=0; shift 2
	"$@" >"$BOX/out.txt" 2>"$BOX/err.txt" || rc=$?
	if [ "$rc" -eq 1 ] && grep -q "^invalid: $code: " "$BOX/err.txt"; then
		pass "$name: $(cat "$BOX/err.txt")"
	else
		fail "$name: exit $rc, expected 1 with $code: $(head -c 300 "$BOX/err.txt")"
	fi
}

if "$EXAMPLE" "$LIC" "$U" >"$BOX/ok.txt" 2>"$BOX/err.txt"; then
	pass "example: valid license, exit 0"
else
	fail "example on the installed license: $(cat "$BOX/err.txt")"
fi
lid=$(user status --json | python3 -c 'import json,sys; print([l["license_id"] for l in json.load(sys.stdin)["licenses"] if l["file"] == sys.argv[1]][0])' "KRE_${MID}.lic")
exp=$(user status --json | python3 -c 'import json,sys; print([l["expires"] for l in json.load(sys.stdin)["licenses"] if l["file"] == sys.argv[1]][0])' "KRE_${MID}.lic")
field() { awk -v k="$1" '$1 == k {sub(/^[^ ]+ +/, ""); print; exit}' "$BOX/ok.txt"; }
if [ "$(field product)" = KRE ] && [ "$(field machine_id)" = "$MID" ] &&
	[ "$(field seat)" = "1 of 2" ] && [ "$(field file)" = "KRE_${MID}.lic" ] &&
	[ "$(field license_id)" = "$lid" ] && [ "$(field expires)" = "$exp" ] &&
	[ "$(field issuer_org)" = "Runtime Org" ] && [ "$(field issuer_fpr)" = "$IFPR" ] && grep -q "^this machine    $MID\$" "$BOX/ok.txt"; then
	pass "decoded license agrees with klic status --json (id $lid, expires $exp)"
else
	fail "decoded license: $(cat "$BOX/ok.txt")"
fi
user verify "$LIC" >/dev/null && pass "klic verify agrees: valid" || fail "klic verify"

# the home from KLIC_HOME, then from HOME (~/.katalon)
KLIC_HOME="$U" "$EXAMPLE" "$LIC" >/dev/null 2>&1 && pass "home from \$KLIC_HOME" || fail "KLIC_HOME"
env -u KLIC_HOME HOME="$H" "$EXAMPLE" "$LIC" >/dev/null 2>&1 && pass "home from \$HOME/.katalon" || fail "HOME/.katalon"
[ -s "$U/klic/clock" ] && pass "a successful check records the trusted time" || fail "no $U/klic/clock"

# --- the precise errors -------------------------------------------------------------
mkdir -p t
sed 's/"seats": 2/"seats": 3/' "$LIC" >"t/KRE_${MID}.lic"
expect "edited license" KLIC_ERR_SIG_BAD "$EXAMPLE" "t/KRE_${MID}.lic" "$U"
grep -q '^not valid:' "$BOX/out.txt" && fail "edited license reported as verified" || pass "edited license: no decoded fields"
cp "$LIC" "t/KRE_${MID}_9.lic"
expect "a valid license under a name it does not list" KLIC_ERR_LICENSE_NAME "$EXAMPLE" "t/KRE_${MID}_9.lic" "$U"
cp "$LIC" "t/renamed.lic"
expect "a valid license renamed" KLIC_ERR_LICENSE_NAME "$EXAMPLE" t/renamed.lic "$U"
# the second seat: the same signed bytes under the other listed name
cp "$LIC" "t/KRE_${MID}_2.lic"
if "$EXAMPLE" "t/KRE_${MID}_2.lic" "$U" >"$BOX/ok2.txt" 2>&1 && grep -q "^seat            2 of 2$" "$BOX/ok2.txt" &&
	grep -q "^file            KRE_${MID}_2.lic$" "$BOX/ok2.txt"; then
	pass "the file name selects the seat (seat 2 of 2)"
else
	fail "seat 2: $(cat "$BOX/ok2.txt")"
fi
expect "missing file" KLIC_ERR_NOT_FOUND "$EXAMPLE" "$BOX/nope/KRE_${MID}.lic" "$U"
expect "a response is not a license" KLIC_ERR_LICENSE_FORMAT "$EXAMPLE" outbox/ada.kresp "$U"
{ echo "free license"; cat "$LIC"; } >"t/prefixed.lic"
expect "text before the license" KLIC_ERR_LICENSE_FORMAT "$EXAMPLE" t/prefixed.lic "$U"
mkdir -p "$BOX/empty-home"
expect "no issuer pinned" KLIC_ERR_NOT_ISSUER "$EXAMPLE" "$LIC" "$BOX/empty-home"
"$ADMIN" --state "$O" init --org "Other Org" --name "Other" --email o@test.invalid >/dev/null
"$ADMIN" --state "$O" export-key -o other-issuer.asc
"$KLIC" --home "$V" init --name "Bob" --email bob@test.invalid >/dev/null
"$KLIC" --home "$V" trust other-issuer.asc >/dev/null
expect "signed by an issuer this home does not pin" KLIC_ERR_SIG_UNKNOWN_KEY "$EXAMPLE" "$LIC" "$V"
if command -v faketime >/dev/null; then
	expect "61 days later" KLIC_ERR_LICENSE_EXPIRED faketime -f '+61d' "$EXAMPLE" "$LIC" "$U"
	grep -q "^license_id      $lid" "$BOX/out.txt" && pass "expired: the decoded license is still shown" ||
		fail "expired: $(cat "$BOX/out.txt")"
	expect "clock set back" KLIC_ERR_CLOCK faketime -f '-2d' "$EXAMPLE" "$LIC" "$U"
else
	echo "# skipped: expiry and clock (no faketime)"
fi
if can_unshare; then
	echo 0123456789abcdef0123456789abcdef >other-machine-id
	expect "another machine" KLIC_ERR_WRONG_MACHINE on_machine "$BOX/other-machine-id" "$EXAMPLE" "$LIC" "$U"
else
	echo "# skipped: another machine (needs root and unshare -m)"
fi

# --- threads ------------------------------------------------------------------------
if "$THREADS" "$LIC" "t/KRE_${MID}.lic" "$U" >"$BOX/thr.txt" 2>&1; then
	pass "threads: $(tail -1 "$BOX/thr.txt")"
else
	fail "threads: $(head -c 600 "$BOX/thr.txt")"
fi

t_done
