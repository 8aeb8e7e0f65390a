#!/usr/bin/env bash
# with_pg.sh CMD [ARGS...]: run CMD against a throw-away PostgreSQL server.
#
# Makes /tmp/kpg-XXXXXX (short: the Unix socket lives there; owned by
# postgres when we are root, since PostgreSQL refuses to run as root),
# initdb's a cluster in it (trust on the local socket, no TCP), starts it
# with pg_ctl -w, creates database klic, exports KLIC_PG_DIR, KLIC_PG_BIN,
# KLIC_TEST_LEDGER and KLIC_LEDGER (postgresql:///klic?host=DIR), runs CMD,
# then stops the server (pg_ctl stop -m immediate) and removes the folder,
# also when CMD fails or we get a signal.  Exit status: CMD's (128+N on
# signal N).  Tests source tests/pg/pglib.sh for pg_start, pg_stop_fast,
# pg_stop_immediate, pg_restart, pg_psql, pg_url_with_password, ...
#
# Durability is not under test here (pglib.sh says why): the server runs
# with fsync=off and initdb --no-sync.
#
# No PostgreSQL server installed: one line on stderr, exit 1 (never a
# silent skip; setup.sh installs Debian's postgresql).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=pglib.sh
. "$HERE/pglib.sh"

if [ $# -eq 0 ]; then
	echo "usage: with_pg.sh CMD [ARGS...]" >&2
	exit 2
fi
if ! KLIC_PG_BIN=$(pg_bindir); then
	echo "with_pg.sh: no PostgreSQL server (initdb, pg_ctl, postgres in /usr/lib/postgresql/*/bin): install Debian's postgresql (setup.sh)" >&2
	exit 1
fi
if [ "$(id -u)" -eq 0 ] && ! id postgres >/dev/null 2>&1; then
	echo "with_pg.sh: running as root but there is no postgres user to run the server as" >&2
	exit 1
fi
KLIC_PG_DIR=$(mktemp -d /tmp/kpg-XXXXXX)
export KLIC_PG_DIR KLIC_PG_BIN
CHILD=

wp_cleanup() {
	local rc=$?
	trap - EXIT INT TERM HUP
	if [ -n "$CHILD" ] && kill -0 "$CHILD" 2>/dev/null; then
		kill -TERM "$CHILD" 2>/dev/null || true
		wait "$CHILD" 2>/dev/null || true
	fi
	if [ -f "$KLIC_PG_DIR/data/postmaster.pid" ]; then
		pg_stop_immediate 2>/dev/null || true
	fi
	if [ "$rc" -ne 0 ] && [ -s "$KLIC_PG_DIR/log" ]; then
		echo "with_pg.sh: exit $rc; the server log's last lines:" >&2
		tail -n 15 "$KLIC_PG_DIR/log" >&2 || true
	fi
	if [ "${KEEP:-0}" = 1 ]; then echo "server folder kept: $KLIC_PG_DIR" >&2
	else rm -rf "$KLIC_PG_DIR"; fi
	exit "$rc"
}
trap wp_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

if [ "$(id -u)" -eq 0 ]; then
	chown postgres: "$KLIC_PG_DIR"
fi
chmod 700 "$KLIC_PG_DIR"
# The superuser is named after us (root in CI), libpq's default user name.
if ! pg_as "$KLIC_PG_BIN/initdb" -D "$KLIC_PG_DIR/data" -A trust -U "$(id -un)" \
	-E UTF8 --locale=C --no-sync --no-instructions >"$KLIC_PG_DIR/initdb.log" 2>&1; then
	echo "with_pg.sh: initdb failed:" >&2
	tail -n 5 "$KLIC_PG_DIR/initdb.log" >&2
	exit 1
fi
if ! pg_start; then
	echo "with_pg.sh: the server did not start (log: $KLIC_PG_DIR/log)" >&2
	exit 1
fi
"$KLIC_PG_BIN/createdb" -h "$KLIC_PG_DIR" klic
KLIC_TEST_LEDGER="postgresql:///klic?host=$KLIC_PG_DIR"
KLIC_LEDGER=$KLIC_TEST_LEDGER
export KLIC_TEST_LEDGER KLIC_LEDGER

# In the background so that a signal reaches our trap at once (bash runs
# traps only between commands); stdin passed on explicitly.
"$@" <&0 &
CHILD=$!
rc=0
wait "$CHILD" || rc=$?
CHILD=
exit "$rc"
