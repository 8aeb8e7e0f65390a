#!/usr/bin/env bash
# `cmake --install` into a temporary prefix, then use only what was
# installed: the files are all there, the man pages render and document
# every command and option of --help, the installed binaries run a full
# vendor -> admin -> user round trip, and an example product built with
# `pkg-config --cflags --libs klic` (shared, then static) checks the
# installed license against the vendor key (klic_license_check, ABI 2),
# takes a session, and refuses a tampered copy.
# Usage: install.sh BUILD_DIR SOURCE_DIR BINDIR LIBDIR INCLUDEDIR MANDIR VERSION [CFLAGS]
# (the directories as GNUInstallDirs gave them, relative to the prefix;
# CFLAGS for the example programs, e.g. the sanitizers of the build)
. "$(dirname "$0")/../lib.sh"
BUILD=$1
SRC=$2
BINDIR=$3
LIBDIR=$4
INCDIR=$5
MANDIR=$6
VERSION=$7
XCFLAGS=${8:-}
LIBEXECDIR=${9:-libexec}

for d in "$BINDIR" "$LIBDIR" "$INCDIR" "$MANDIR" "$LIBEXECDIR"; do
	case $d in /*) echo "# absolute install directory $d: cannot relocate, skipped"; exit 77 ;; esac
done
for tool in pkg-config cc man groff col readelf nm python3; do
	command -v "$tool" >/dev/null || { echo "# $tool missing: skipped"; exit 77; }
done

P="$BOX/prefix"
if cmake --install "$BUILD" --prefix "$P" >"$BOX/install.log" 2>&1; then
	pass "cmake --install --prefix $P"
else
	fail "cmake --install: $(tail -5 "$BOX/install.log")"
	t_done
fi

# --- the files -----------------------------------------------------------------
KLIC="$P/$BINDIR/klic"
ADMIN="$P/$BINDIR/klic-admin"
KLIC_VENDOR="$P/$BINDIR/klic-vendor"
LIB="$P/$LIBDIR"
PC="$LIB/pkgconfig/klic.pc"
missing=""
WORKER="$P/$LIBEXECDIR/klic/klic-keys-worker"
for f in "$KLIC" "$ADMIN" "$KLIC_VENDOR" "$WORKER"; do [ -x "$f" ] || missing="$missing $f"; done
for f in "$P/$MANDIR/man1/klic.1" "$P/$MANDIR/man1/klic-admin.1" "$P/$MANDIR/man1/klic-vendor.1" \
	"$P/$MANDIR/man3/libklic.3" "$P/$MANDIR/man3/klic_license_check.3" \
	"$P/$MANDIR/man3/klic_session_open.3" "$P/$INCDIR/klic.h" "$LIB/libklic.a" \
	"$LIB/libklic.so" "$LIB/libklic.so.2" "$PC"; do
	[ -r "$f" ] || missing="$missing $f"
done
[ -z "$missing" ] && pass "installed: bin/klic, bin/klic-admin, bin/klic-vendor, $LIBEXECDIR/klic/klic-keys-worker, man1, man3, klic.h, libklic.so.2, libklic.a, klic.pc" ||
	fail "not installed:$missing"
other=$(cd "$P" && find . -type f -o -type l | sort | grep -vE "^\./($BINDIR/klic(-admin|-vendor)?|$LIBEXECDIR/klic/klic-keys-worker|$MANDIR/man[13]/[a-z_-]+\.[13]|$INCDIR/klic\.h|$LIBDIR/libklic\.(a|so(\.[0-9]+)*)|$LIBDIR/pkgconfig/klic\.pc)$" || true)
[ -z "$other" ] && pass "nothing else installed (no internal headers, no test programs)" ||
	fail "unexpected installed files: $other"
[ "$(readlink "$LIB/libklic.so")" = libklic.so.2 ] && pass "libklic.so -> libklic.so.2" ||
	fail "libklic.so -> $(readlink "$LIB/libklic.so")"
API="klic_license_check klic_license_errname klic_license_strerror klic_runtime_machine_id klic_runtime_version klic_session_close klic_session_open"
syms=$(nm -D --defined-only "$LIB/libklic.so.2" | awk '$2 == "T" {print $3}' | sort | tr '\n' ' ')
if [ "$syms" = "$(printf '%s@@KLIC_2 ' $API)" ]; then
	pass "installed libklic.so.2 exports only the versioned public API (KLIC_2)"
else
	fail "libklic.so.2 exports: $syms"
fi
asyms=$(nm -g --defined-only "$LIB/libklic.a" 2>/dev/null | awk 'NF == 3 {print $3}' | sort | tr '\n' ' ')
[ "$asyms" = "$API " ] &&
	pass "libklic.a defines only the public API globally" || fail "libklic.a globals: $asyms"

# --- man pages -------------------------------------------------------------------
render() { groff -t -man -Tascii -rHY=0 -rLL=200n "$1" 2>/dev/null | col -b; }
for page in man1/klic.1 man1/klic-admin.1 man3/libklic.3 man3/klic_license_check.3 man3/klic_session_open.3; do
	rc=0
	(cd "$P/$MANDIR" && MANWIDTH=80 man -l "$page" >"$BOX/man.txt" 2>"$BOX/man.err") || rc=$?
	if [ "$rc" -eq 0 ] && [ -s "$BOX/man.txt" ] && [ ! -s "$BOX/man.err" ]; then
		pass "man -l $page renders ($(wc -l <"$BOX/man.txt") lines)"
	else
		fail "man -l $page: exit $rc: $(head -3 "$BOX/man.err")"
	fi
done
# every command and option that --help shows is in the man page, and the
# page has the exit status table and the files
man_covers() {
	local prog=$1 page=$2 text cmds c opts o miss=""
	text=$(render "$page")
	cmds=$("$prog" --help | awk '/^commands:/ {on=1; next} on && /^  [a-z]/ {print $1} on && /^$/ {on=0}')
	opts=$("$prog" --help | grep -oE -- '--[a-z][a-z-]+' || true)
	for c in $cmds; do
		opts="$opts $("$prog" "$c" --help | grep -oE -- '--[a-z][a-z-]+' || true)"
		grep -qE "(^|[^a-z-])$c([^a-z-]|$)" <<<"$text" || miss="$miss command:$c"
	done
	for o in $(tr ' ' '\n' <<<"$opts" | sort -u); do
		grep -qF -- "$o" <<<"$text" || miss="$miss $o"
	done
	for s in "EXIT STATUS" FILES ENVIRONMENT; do
		grep -q "^$s" <<<"$text" || miss="$miss section:$s"
	done
	for x in 0 1 2 3 4; do
		grep -qE "^ +$x( |$)" <<<"$(sed -n '/^EXIT STATUS/,/^[A-Z]/p' <<<"$text")" || miss="$miss exit:$x"
	done
	if [ -z "$miss" ]; then
		pass "$(basename "$page"): every command ($(echo $cmds | wc -w)) and option of --help, exit table, files"
	else
		fail "$(basename "$page") lacks:$miss"
	fi
}
man_covers "$KLIC" "$P/$MANDIR/man1/klic.1"
man_covers "$ADMIN" "$P/$MANDIR/man1/klic-admin.1"

# --- the installed binaries ------------------------------------------------------
for b in "$KLIC" "$ADMIN"; do
	v=$("$b" --version 2>&1) || true
	case $v in *"$VERSION"*) pass "$(basename "$b") --version: $v" ;; *) fail "$(basename "$b") --version: $v" ;; esac
	"$b" --help >/dev/null 2>&1 && pass "$(basename "$b") --help" || fail "$(basename "$b") --help"
done

A="$BOX/admin"; U="$BOX/home/.katalon"
admin() { "$ADMIN" --state "$A" "$@"; }
user() { "$KLIC" --home "$U" "$@"; }
cd "$BOX"
{
	t_org_setup "$A" "Installed Org" 5 &&
	admin export-key -o issuer.asc &&
	user init --name "Ada" --email ada@test.invalid &&
	user trust issuer.asc &&
	user request --product KRE -o ada.kreq &&
	admin member add --yes --from-request ada.kreq &&
	admin issue ada.kreq -o outbox --yes &&
	user install --vendor "$BOX/vendor.asc" outbox/ada.kresp
} >"$BOX/rt.log" 2>&1 && rc=0 || rc=$?
VKEY="$BOX/vendor.asc"
MID=$(user id)
LIC="$U/license/KRE_${MID}.lic"
if [ "$rc" -eq 0 ] && [ -f "$LIC" ]; then
	pass "round trip with the installed binaries: $LIC"
else
	fail "round trip: exit $rc: $(tail -5 "$BOX/rt.log")"
fi
user verify --vendor "$VKEY" "$LIC" >/dev/null && pass "installed klic verify --vendor: valid" || fail "installed klic verify"

# The installed klic-admin runs the installed worker program (libexec, found
# from its own location): --version names it, and a batch with two jobs
# goes through it (a wrapper in its place records that it ran, then execs
# it with the sockets it was given).
"$ADMIN" --version | grep -qxF "gpg worker program: $(realpath "$WORKER")" &&
	pass "klic-admin --version names the installed worker program" ||
	fail "klic-admin --version: $("$ADMIN" --version | tail -1)"
mv "$WORKER" "$WORKER.real"
printf '#!/bin/sh\necho "$$ $*" >>"%s"\nexec "%s" "$@"\n' "$BOX/worker.log" "$WORKER.real" >"$WORKER"
chmod 755 "$WORKER"
user request --product KRE -o ada2.kreq >/dev/null 2>&1 && user request --product KRE -o ada3.kreq >/dev/null 2>&1 &&
	admin issue ada2.kreq ada3.kreq -o outbox2 --yes --jobs 2 >"$BOX/batch.log" 2>"$BOX/batch.err" && rc=0 || rc=$?
# (a program that ran but did not start its workers would be a warning on
# stderr: the batch then runs with forked workers)
if [ "$rc" -eq 0 ] && [ "$(tail -1 "$BOX/batch.log")" = "issued: 2, denied: 0, re-issued: 0, errors: 0" ] &&
	[ ! -s "$BOX/batch.err" ] && [ "$(wc -l <"$BOX/worker.log" 2>/dev/null)" = 2 ] &&
	grep -q -- " --worker .* $A/gnupg [0-9A-F]\{40\} - 2$" "$BOX/worker.log" &&
	grep -q -- " --worker .* $A/members - - 2$" "$BOX/worker.log"; then
	pass "a batch of 2 with --jobs 2 ran through the installed worker program (2 signing workers, 2 verifying in the members' keyring)"
else
	fail "batch through the worker program: exit $rc, $(tail -1 "$BOX/batch.log"), stderr: $(head -c 300 "$BOX/batch.err"); worker runs: $(cat "$BOX/worker.log" 2>/dev/null)"
fi
# a worker program that does not start: the batch still runs (forked
# workers), with one warning line naming it
printf '#!/bin/sh\nexit 3\n' >"$WORKER"
user request --product KRE -o ada4.kreq >/dev/null 2>&1 && user request --product KRE -o ada5.kreq >/dev/null 2>&1 &&
	admin issue ada4.kreq ada5.kreq -o outbox3 --yes --jobs 2 >"$BOX/batch.log" 2>"$BOX/batch.err" && rc=0 || rc=$?
if [ "$rc" -eq 0 ] && [ "$(tail -1 "$BOX/batch.log")" = "issued: 2, denied: 0, re-issued: 0, errors: 0" ] &&
	[ "$(wc -l <"$BOX/batch.err")" = 1 ] &&
	grep -q "^klic-admin: issue: warning: gpg worker program $(realpath "$WORKER") did not start" "$BOX/batch.err"; then
	pass "a worker program that does not start: the batch runs with forked workers, one warning"
else
	fail "broken worker program: exit $rc, $(tail -1 "$BOX/batch.log"), stderr: $(head -c 300 "$BOX/batch.err")"
fi
mv "$WORKER.real" "$WORKER"
if user status --vendor "$VKEY" --json | python3 -m json.tool >/dev/null && admin list --json | python3 -m json.tool >/dev/null &&
	admin entitlement list --json | python3 -m json.tool >/dev/null &&
	admin report --json | python3 -m json.tool >/dev/null; then
	pass "status, list, entitlement list, report --json: valid JSON"
else
	fail "--json output is not valid JSON"
fi

# --- pkg-config and the example program --------------------------------------------
export PKG_CONFIG_PATH="$LIB/pkgconfig"
[ "$(pkg-config --modversion klic)" = "$VERSION" ] && pass "pkg-config --modversion klic: $VERSION" ||
	fail "pkg-config --modversion klic: $(pkg-config --modversion klic 2>&1)"
[ "$(pkg-config --variable=prefix klic)" = "$P" ] && pass "klic.pc names the install prefix" ||
	fail "klic.pc prefix: $(pkg-config --variable=prefix klic)"
# a license check needs no archive, QR code or PNG library
static_libs=$(pkg-config --libs --static klic 2>&1 || true)
if [ -n "$static_libs" ] && ! grep -qE 'qrencode|png|archive' <<<"$static_libs"; then
	pass "pkg-config --libs --static klic names no libqrencode, libpng, libarchive: $static_libs"
else
	fail "pkg-config --libs --static klic: $static_libs"
fi
flags=$(pkg-config --cflags --libs klic || true)
mkdir -p ex
if cc -std=c99 -Wall -Wextra -Werror $XCFLAGS "$SRC/tests/runtime/example.c" $flags -o ex/example 2>"$BOX/cc.err"; then
	pass "example.c builds with: $flags"
else
	fail "example.c: $(head -5 "$BOX/cc.err")"
fi
if grep -q "libklic.so.2 => $LIB/libklic.so.2" <<<"$(LD_LIBRARY_PATH="$LIB" ldd ex/example)"; then
	pass "example uses the installed libklic.so.2"
else
	fail "example links: $(LD_LIBRARY_PATH="$LIB" ldd ex/example | grep klic)"
fi
if LD_LIBRARY_PATH="$LIB" ex/example check "$VKEY" "$LIC" "$U" >"$BOX/ex.txt" 2>"$BOX/ex.err" &&
	grep -q "^product         KRE$" "$BOX/ex.txt" && grep -q "^machine_id      $MID$" "$BOX/ex.txt"; then
	pass "example on the installed license: exit 0, $(grep -c . "$BOX/ex.txt") lines of decoded license"
	sed 's/^/#   /' "$BOX/ex.txt"
else
	fail "example: $(cat "$BOX/ex.err" "$BOX/ex.txt" | head -5)"
fi
mkdir -p tampered
if LD_LIBRARY_PATH="$LIB" ex/example session "$VKEY" KRE "$U/license" >"$BOX/ex.txt" 2>"$BOX/ex.err" &&
	grep -q "^session: license [0-9a-f]\{32\} (KRE_${MID}.lic), 1 of 1 sessions in use$" "$BOX/ex.txt"; then
	pass "example session with the installed library: $(head -1 "$BOX/ex.txt")"
else
	fail "example session: $(cat "$BOX/ex.err" "$BOX/ex.txt" | head -3)"
fi
sed 's/"issuer_org": "Installed Org"/"issuer_org": "Installed Orx"/' "$LIC" >"tampered/KRE_${MID}.lic"
rc=0
LD_LIBRARY_PATH="$LIB" ex/example check "$VKEY" "tampered/KRE_${MID}.lic" "$U" >/dev/null 2>"$BOX/ex.err" || rc=$?
if [ "$rc" -eq 1 ] && grep -q "^invalid: KLIC_ERR_SIG_BAD: bad signature" "$BOX/ex.err"; then
	pass "example on a tampered copy: exit 1, $(cat "$BOX/ex.err")"
else
	fail "tampered copy: exit $rc: $(cat "$BOX/ex.err")"
fi

# static: libklic.a, then its dependencies (Requires.private of klic.pc) as
# shared libraries (their own static archives are not all installed here)
deps="$(pkg-config --libs $(pkg-config --print-requires-private klic) 2>/dev/null || true) -lpthread"
if cc -std=c99 -Wall -Werror $XCFLAGS "$SRC/tests/runtime/example.c" $(pkg-config --cflags klic) \
	"$LIB/libklic.a" $deps -o ex/example-static 2>"$BOX/cc.err"; then
	if ! grep -q libklic <<<"$(ldd ex/example-static)" && ex/example-static check "$VKEY" "$LIC" "$U" >/dev/null 2>&1; then
		pass "static example (libklic.a + $deps): valid"
	else
		fail "static example: $(ex/example-static check "$VKEY" "$LIC" "$U" 2>&1 | head -3)"
	fi
else
	fail "static link: $(head -5 "$BOX/cc.err")"
fi
# the installed header alone, from C++
if command -v c++ >/dev/null; then
	printf '#include <klic.h>\nint main() { klic_license_info i; const char *k[1] = {"x"}; return klic_license_check(&i, "x", k, 1, nullptr); }\n' >ex/c.cpp
	c++ -std=c++11 -Wall -Wextra -Werror $(pkg-config --cflags klic) -fsyntax-only ex/c.cpp 2>"$BOX/cxx.err" &&
		pass "installed klic.h compiles as C++11" || fail "C++: $(head -3 "$BOX/cxx.err")"
fi

# --- DESTDIR staging ---------------------------------------------------------------
if DESTDIR="$BOX/stage" cmake --install "$BUILD" --prefix /opt/klic >/dev/null 2>&1 &&
	[ -x "$BOX/stage/opt/klic/$BINDIR/klic" ] &&
	grep -qx "prefix=/opt/klic" "$BOX/stage/opt/klic/$LIBDIR/pkgconfig/klic.pc"; then
	pass "DESTDIR install: files under DESTDIR, klic.pc names the final prefix"
else
	fail "DESTDIR install"
fi

t_done
