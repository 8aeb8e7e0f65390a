#!/usr/bin/env bash
# Self-test of the fault-injection shim (tests/fault/shim.c), driven from a
# python3 process that loads it: counting, the prefix filter, each class
# (unlink opt-in),
# the errno, "persist", and that children (spawned without LD_PRELOAD) are
# never affected.
# usage: shim_selftest.sh SHIM.so
. "$(dirname "$0")/../lib.sh"
SHIM=$(realpath "$1")
mkdir -p "$BOX/in" "$BOX/out"
IN=$BOX/in
# the system interpreter (a pyenv shim is a script that re-execs)
PY=python3; [ -x /usr/bin/python3 ] && PY=/usr/bin/python3
# py FAULT CODE: run python3 CODE with the shim (prefix $IN); prints the
# errors it caught, one per line, on stdout.
py() {
	local f=$1 code=$2
	rm -f "$BOX/log"
	{ env LD_PRELOAD="$SHIM" KLIC_FAULT="$f" KLIC_FAULT_PREFIX="$IN" KLIC_FAULT_LOG="$BOX/log" \
		IN="$IN" OUT="$BOX/out" "$PY" -c "
import os, subprocess, errno
IN = os.environ['IN']; OUT = os.environ['OUT']
def t(fn, *a):
    try:
        return fn(*a)
    except OSError as e:
        print(fn.__name__, errno.errorcode[e.errno])
def wr(p, s, mode='w'):
    fd = os.open(p, os.O_WRONLY | os.O_CREAT | (os.O_APPEND if mode == 'a' else os.O_TRUNC), 0o644)
    try:
        os.write(fd, s.encode()); os.fsync(fd)
    finally:
        os.close(fd)
$code" >"$BOX/o" 2>"$BOX/e"; } 2>/dev/null || true
}
classes() { [ -f "$BOX/log" ] && cut -d' ' -f2 "$BOX/log" | tr '\n' ' '; }

py "" "t(wr, IN+'/f', 'a'); t(wr, OUT+'/g', 'b'); t(os.mkdir, IN+'/d'); t(os.rename, IN+'/f', IN+'/h')"
[ "$(classes)" = "create write fsync create rename " ] \
	&& pass "counting: only calls under the prefix ($(wc -l <"$BOX/log") calls: $(classes))" \
	|| fail "log: $(cat "$BOX/log" 2>&1)"
[ -d "$IN/d" ] && [ "$(cat "$IN/h")" = a ] && [ ! -s "$BOX/o" ] && pass "count-only mode changes nothing" || fail "count-only mode: $(cat "$BOX/o")"

py "create:1:ENOSPC" "t(wr, IN+'/x', 'a')"
[ ! -e "$IN/x" ] && [ "$(cat "$BOX/o")" = "wr ENOSPC" ] && pass "create:1:ENOSPC" || fail "create:1: $(cat "$BOX/o" "$BOX/e")"
py "write:2:EIO" "t(wr, IN+'/y', 'a'); t(wr, IN+'/y', 'b', 'a'); t(wr, IN+'/y', 'c', 'a')"
[ "$(cat "$IN/y")" = ac ] && [ "$(cat "$BOX/o")" = "wr EIO" ] \
	&& pass "write:2:EIO fails the 2nd write only" || fail "write:2: $(cat "$IN/y") / $(cat "$BOX/o")"
py "fsync:1:EIO" "t(wr, IN+'/s', 'a')"
[ "$(cat "$BOX/o")" = "wr EIO" ] && grep -q " FAIL " "$BOX/log" && pass "fsync:1:EIO" || fail "fsync:1: $(cat "$BOX/o")"
py "write:2:ENOSPC:persist" "t(wr, IN+'/z', 'a'); t(wr, IN+'/z', 'b', 'a'); t(wr, IN+'/z', 'c', 'a')"
[ "$(cat "$IN/z")" = a ] && [ "$(grep -c ENOSPC "$BOX/o")" = 2 ] \
	&& pass "write:2:ENOSPC:persist fails the 2nd and every later write" || fail "persist: $(cat "$BOX/o")"
py "rename:1:EIO" "t(wr, IN+'/r1', 'a'); t(os.rename, IN+'/r1', IN+'/r2'); t(os.link, IN+'/r1', IN+'/r3'); t(os.mkdir, IN+'/m'); t(os.truncate, IN+'/r1', 0)"
[ -f "$IN/r1" ] && [ ! -e "$IN/r2" ] && [ -e "$IN/r3" ] && [ "$(cat "$BOX/o")" = "rename EIO" ] \
	&& pass "rename:1 fails the rename, the later link still works" || fail "rename:1: $(cat "$BOX/o")"
py "any:3" "t(os.mkdir, IN+'/e1'); t(os.mkdir, IN+'/e2'); t(os.mkdir, IN+'/e3'); t(os.mkdir, IN+'/e4')"
[ -d "$IN/e2" ] && [ ! -d "$IN/e3" ] && [ -d "$IN/e4" ] && pass "any:3 fails the 3rd call of any class" || fail "any:3: $(cat "$BOX/o")"
py "truncate:1:EIO" "fd = os.open(IN+'/tr', os.O_RDWR | os.O_CREAT); os.write(fd, b'abc'); t(os.ftruncate, fd, 0); os.close(fd)"
[ "$(cat "$IN/tr")" = abc ] && [ "$(cat "$BOX/o")" = "ftruncate EIO" ] && pass "truncate:1" || fail "truncate:1: $(cat "$BOX/o")"
py "any:1:EIO:persist" "subprocess.run(['sh', '-c', 'echo b > ' + IN + '/child; mkdir ' + IN + '/cdir'], check=True); print('child ok')"
[ "$(cat "$IN/child")" = b ] && [ -d "$IN/cdir" ] && [ ! -s "$BOX/log" ] && grep -q "child ok" "$BOX/o" \
	&& pass "children (spawned without LD_PRELOAD) are not affected" || fail "child affected: $(cat "$BOX/log" "$BOX/e" 2>&1)"
py "write:1:persist" "t(wr, OUT+'/q', 'a')"
[ "$(cat "$BOX/out/q")" = a ] && pass "paths outside the prefix never fail" || fail "outside prefix"
py "write:2:KILL" "t(wr, IN+'/k', 'a'); t(wr, IN+'/k', 'b', 'a'); print('survived')"
[ "$(cat "$IN/k")" = a ] && ! grep -q survived "$BOX/o" && grep -q ' FAIL ' "$BOX/log" \
	&& pass "write:2:KILL kills the process just before the 2nd write" || fail "KILL: $(cat "$BOX/o")"
# unlink: opt-in, never one of "any"'s calls
py "any:1:EIO" "t(os.unlink, IN+'/r3'); t(os.mkdir, IN+'/u1')"
[ ! -e "$IN/r3" ] && [ ! -d "$IN/u1" ] && [ "$(classes)" = "create " ] && [ "$(cat "$BOX/o")" = "mkdir EIO" ] \
	&& pass "an unlink is not counted by default, nor failed by any:1" || fail "unlink under any: $(classes) / $(cat "$BOX/o")"
py "unlink:2:EIO" "t(wr, IN+'/u2', 'a'); t(wr, IN+'/u3', 'a'); t(os.unlink, IN+'/u2'); t(os.unlink, IN+'/u3')"
[ ! -e "$IN/u2" ] && [ -e "$IN/u3" ] && [ "$(cat "$BOX/o")" = "unlink EIO" ] && grep -q '^0 unlink 2 unlink FAIL ' "$BOX/log" \
	&& pass "unlink:2 fails the 2nd unlink only (logged with sequence 0)" || fail "unlink:2: $(cat "$BOX/o") $(cat "$BOX/log")"
rc=0; env LD_PRELOAD="$SHIM" KLIC_FAULT="frobnicate:1" true 2>/dev/null || rc=$?
[ "$rc" = 125 ] && pass "a malformed KLIC_FAULT is refused (exit 125)" || fail "malformed spec: rc $rc"
t_done
