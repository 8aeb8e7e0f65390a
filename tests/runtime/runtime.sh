#!/usr/bin/env bash
# The runtime library libklic (build tree), ABI 2: klic_license_check()
# with the vendor key the product embeds agrees with `klic verify --vendor`
# on a real license and gives the precise error for each way a license can
# be wrong; a read-only home still verifies; session seats (3 licenses give
# 3 sessions, the 4th is refused, copies in a second home add none, kill -9
# frees a seat); the public header stands alone (C and C++) and matches the
# internal error table; the shared library exports only the public API.
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
printf '#include <klic.h>\nint main(void) { struct klic_license_info i; struct klic_session *s; struct klic_session_info si; const char *k[1] = {"x"}; if (klic_session_open(&s, &si, "KRE", 0, k, 1) == KLIC_OK) klic_session_close(s); return klic_license_check(&i, "x", k, 1, 0) == KLIC_OK; }\n' >"$hdr/c.c"
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
[ "$soname" = libklic.so.2 ] && pass "SONAME $soname" || fail "SONAME '$soname'"
vers=$(nm -D --defined-only "$SO" | awk '$2 == "T" {sub(/^[^@]*@+/, "", $3); print $3}' | sort -u | tr '\n' ' ')
[ "$vers" = "KLIC_2 " ] && pass "every symbol versioned KLIC_2" || fail "symbol versions: '$vers'"

# --- a real license, chained to the vendor -------------------------------------
A="$BOX/admin"; H="$BOX/home"; U="$H/.katalon"
VKEY="$BOX/vendor.asc"
admin() { "$ADMIN" --state "$A" "$@"; }
user() { "$KLIC" --home "$U" "$@"; }
cd "$BOX"
t_org_setup "$A" "Runtime Org" 5
admin export-key -o issuer.asc
user init --name "Ada" --email ada@test.invalid >/dev/null
IFPR=$(user trust issuer.asc | awk '/^issuer / {print $2}')
MID=$(user id)
user request --product KRE --seats 3 -o ada.kreq >/dev/null
admin member add --yes --from-request ada.kreq >/dev/null
admin issue ada.kreq -o outbox --yes >/dev/null
user install --vendor "$VKEY" outbox/ada.kresp >/dev/null
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
ex() { "$EXAMPLE" check "$VKEY" "$@"; }

if ex "$LIC" "$U" >"$BOX/ok.txt" 2>"$BOX/err.txt"; then
	pass "example: valid license, exit 0"
else
	fail "example on the installed license: $(cat "$BOX/err.txt")"
fi
user verify --vendor "$VKEY" "$LIC" >"$BOX/v.txt" && pass "klic verify --vendor agrees: valid" || fail "klic verify"
VFPR=$(awk '/^vendor: / {print $NF; exit}' "$BOX/v.txt")
st() { user status --vendor "$VKEY" --json | python3 -c 'import json,sys; print([l[sys.argv[2]] for l in json.load(sys.stdin)["licenses"] if l["file"] == sys.argv[1]][0])' "KRE_${MID}.lic" "$1"; }
lid=$(st license_id); exp=$(st expires); eid=$(st entitlement_id)
field() { awk -v k="$1" '$1 == k {sub(/^[^ ]+ +/, ""); print; exit}' "$BOX/ok.txt"; }
if [ "$(field product)" = KRE ] && [ "$(field machine_id)" = "$MID" ] &&
	[ "$(field seat)" = "1 of 3" ] && [ "$(field file)" = "KRE_${MID}.lic" ] &&
	[ "$(field license_id)" = "$lid" ] && [ "$(field expires)" = "$exp" ] &&
	[ "$(field entitlement_id)" = "$eid" ] && [ "$(field vendor_fpr)" = "$VFPR" ] &&
	[ "$(field issuer_org)" = "Runtime Org" ] && [ "$(field issuer_fpr)" = "$IFPR" ] && grep -q "^this machine    $MID\$" "$BOX/ok.txt"; then
	pass "decoded license agrees with klic status --json (id $lid, entitlement $eid, vendor $VFPR)"
else
	fail "decoded license: $(cat "$BOX/ok.txt")"
fi

# the home (for the clock record only) from KLIC_HOME, then from HOME (~/.katalon)
rm -f "$U/klic/clock"
KLIC_HOME="$U" ex "$LIC" >/dev/null 2>&1 && pass "home from \$KLIC_HOME" || fail "KLIC_HOME"
[ -s "$U/klic/clock" ] && pass "a successful check records the trusted time" || fail "no $U/klic/clock"
env -u KLIC_HOME HOME="$H" ex "$LIC" >/dev/null 2>&1 && pass "home from \$HOME/.katalon" || fail "HOME/.katalon"
mkdir -p "$BOX/empty-home"
if ex "$LIC" "$BOX/empty-home" >"$BOX/out.txt" 2>&1 && grep -q "^clock  *no trusted-time record" "$BOX/out.txt"; then
	pass "a home with no clock record (no key, no issuer either): valid, the missing record reported"
else
	fail "empty home: $(cat "$BOX/out.txt")"
fi

# --- the precise errors -------------------------------------------------------------
mkdir -p t
sed 's/"issuer_org": "Runtime Org"/"issuer_org": "Runtime Orx"/' "$LIC" >"t/KRE_${MID}.lic"
expect "edited license" KLIC_ERR_SIG_BAD ex "t/KRE_${MID}.lic" "$U"
grep -q '^not valid:' "$BOX/out.txt" && fail "edited license reported as verified" || pass "edited license: no decoded fields"
cp "$LIC" "t/KRE_${MID}_9.lic"
expect "a valid license under a name it does not list" KLIC_ERR_LICENSE_NAME ex "t/KRE_${MID}_9.lic" "$U"
cp "$LIC" "t/renamed.lic"
expect "a valid license renamed" KLIC_ERR_LICENSE_NAME ex t/renamed.lic "$U"
# the second seat: the same signed bytes under the other listed name
cp "$LIC" "t/KRE_${MID}_2.lic"
if ex "t/KRE_${MID}_2.lic" "$U" >"$BOX/ok2.txt" 2>&1 && grep -q "^seat            2 of 3$" "$BOX/ok2.txt" &&
	grep -q "^file            KRE_${MID}_2.lic$" "$BOX/ok2.txt"; then
	pass "the file name selects the seat (seat 2 of 3)"
else
	fail "seat 2: $(cat "$BOX/ok2.txt")"
fi
expect "missing file" KLIC_ERR_NOT_FOUND ex "$BOX/nope/KRE_${MID}.lic" "$U"
expect "a response is not a license" KLIC_ERR_TYPE_TAG ex outbox/ada.kresp "$U"
{ echo "free license"; cat "$LIC"; } >"t/prefixed.lic"
expect "text before the license" KLIC_ERR_LICENSE_FORMAT ex t/prefixed.lic "$U"
T_VENDOR="$BOX/vendor-other" t_vendor
expect "checked against another vendor's key" KLIC_ERR_SIG_WRONG_KEY "$EXAMPLE" check "$BOX/vendor-other.asc" "$LIC" "$U"
if command -v faketime >/dev/null; then
	expect "61 days later" KLIC_ERR_LICENSE_EXPIRED faketime -f '+61d' "$EXAMPLE" check "$VKEY" "$LIC" "$U"
	expect "clock set back" KLIC_ERR_CLOCK faketime -f '-2d' "$EXAMPLE" check "$VKEY" "$LIC" "$U"
else
	echo "# skipped: expiry and clock (no faketime)"
fi
if can_unshare; then
	echo 0123456789abcdef0123456789abcdef >other-machine-id
	expect "another machine" KLIC_ERR_WRONG_MACHINE on_machine "$BOX/other-machine-id" "$EXAMPLE" check "$VKEY" "$LIC" "$U"
else
	echo "# skipped: another machine (needs root and unshare -m)"
fi
# the trusted clock ahead of now (a clock set back): refused, and never moved back
future=$(date -u -d '+3 days' +%Y-%m-%dT%H:%M:%SZ)
printf '%s\n' "$future" >"$U/klic/clock"
expect "system clock behind the trusted time" KLIC_ERR_CLOCK ex "$LIC" "$U"
[ "$(cat "$U/klic/clock")" = "$future" ] && pass "the trusted time is never moved backwards" || fail "clock record: $(cat "$U/klic/clock")"
rm -f "$U/klic/clock"

# --- a read-only home still verifies (best-effort clock) -------------------------------
if can_unshare; then
	rm -f "$U/klic/clock"
	ro() { unshare -m --propagation private bash -c 'mount --bind "$0" "$0" && mount -o remount,bind,ro "$0" && exec "$@"' "$H" "$@"; }
	if ro "$EXAMPLE" check "$VKEY" "$LIC" "$U" >"$BOX/out.txt" 2>&1 && grep -q "^clock  *no trusted-time record" "$BOX/out.txt"; then
		pass "read-only home: the runtime says valid (clock record missing: reported)"
	else
		fail "read-only home, runtime: $(cat "$BOX/out.txt")"
	fi
	if ro "$KLIC" --home "$U" verify --vendor "$VKEY" "$LIC" >"$BOX/out.txt" 2>&1 && grep -q "^valid: KRE" "$BOX/out.txt"; then
		pass "read-only home: klic verify says valid"
	else
		fail "read-only home, klic verify: $(cat "$BOX/out.txt")"
	fi
	[ ! -e "$U/klic/clock" ] && pass "read-only home: nothing written" || fail "clock written in a read-only home"
else
	echo "# skipped: read-only home (needs root and unshare -m)"
fi

# --- sessions ---------------------------------------------------------------------------
# hold K [DIR]: a session held in the background (its stdin a fifo we keep open)
declare -A HOLD_PID
hold() {
	local k=$1 dir=${2:-$L}
	rm -f "$BOX/fifo$k"; mkfifo "$BOX/fifo$k"
	"$EXAMPLE" session "$VKEY" KRE "$dir" hold <"$BOX/fifo$k" >"$BOX/s$k.out" 2>&1 &
	HOLD_PID[$k]=$!
	eval "exec {HOLD_FD_$k}>\"$BOX/fifo$k\""
	for _ in $(seq 1 100); do
		grep -q '^holding$\|^invalid' "$BOX/s$k.out" && break
		sleep 0.1
	done
}
release_all() {
	local k
	for k in "${!HOLD_PID[@]}"; do kill -9 "${HOLD_PID[$k]}" 2>/dev/null || true; done
}
trap 'release_all; t_cleanup' EXIT
for k in 1 2 3; do hold $k; done
ids=$(cat "$BOX"/s[123].out | sed -n 's/^session: license \([0-9a-f]*\) .*/\1/p' | sort -u | wc -l)
[ "$ids" = 3 ] && pass "3 license files: 3 sessions on 3 distinct license IDs" || fail "sessions: $(cat "$BOX"/s[123].out)"
grep -q "3 of 3 sessions in use" "$BOX/s3.out" && pass "the third session sees 3 of 3 in use" || fail "s3: $(head -1 "$BOX/s3.out")"
expect "the 4th session" KLIC_ERR_QUOTA "$EXAMPLE" session "$VKEY" KRE "$L"
grep -q "quota exceeded: 3 licenses of KRE on this machine, all in use" "$BOX/err.txt" &&
	pass "the refusal says: quota exceeded: 3 licenses of KRE on this machine, all in use" || fail "quota text: $(cat "$BOX/err.txt")"
# the same files copied into a second user's home on this machine add no seat
H2="$BOX/home2/.katalon"; mkdir -p "$H2/license"; cp "$L"/*.lic "$H2/license/"
expect "the same licenses in a second home: no 4th session" KLIC_ERR_QUOTA "$EXAMPLE" session "$VKEY" KRE "$H2/license"
# kill -9 of a session frees its seat
kill -9 "${HOLD_PID[2]}"; wait "${HOLD_PID[2]}" 2>/dev/null || true; unset 'HOLD_PID[2]'
hold 4 "$H2/license"
if grep -q '^holding$' "$BOX/s4.out"; then
	pass "kill -9 of a session frees its seat: $(head -1 "$BOX/s4.out")"
else
	fail "after kill -9: $(cat "$BOX/s4.out")"
fi
expect "and the seat is taken again" KLIC_ERR_QUOTA "$EXAMPLE" session "$VKEY" KRE "$L"
release_all
expect "sessions: a folder without licenses" KLIC_ERR_NOT_FOUND "$EXAMPLE" session "$VKEY" KRE "$BOX/empty-home"
mkdir -p "$BOX/t2"; cp "$LIC" "$BOX/t2/KRE_renamed.lic"
expect "sessions: only invalid licenses give the first file's reason" KLIC_ERR_LICENSE_NAME "$EXAMPLE" session "$VKEY" KRE "$BOX/t2"
grep -q "KRE_renamed.lic: " "$BOX/err.txt" && pass "  ... naming the file" || fail "no file named: $(cat "$BOX/err.txt")"

# --- threads ------------------------------------------------------------------------
if "$THREADS" "$VKEY" "$LIC" "t/KRE_${MID}.lic" "$U" >"$BOX/thr.txt" 2>&1; then
	pass "threads: $(tail -1 "$BOX/thr.txt")"
else
	fail "threads: $(head -c 600 "$BOX/thr.txt")"
fi

t_done
