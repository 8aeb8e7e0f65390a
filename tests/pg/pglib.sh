# PostgreSQL helpers for the tests in tests/pg (sourced, bash).
#
# with_pg.sh starts one throw-away server per test and exports
#   KLIC_PG_DIR   its folder (/tmp/kpg-XXXXXX): data/ (the cluster), log,
#                 and the Unix socket .s.PGSQL.5432 (no TCP at all)
#   KLIC_PG_BIN   the server's bin folder (/usr/lib/postgresql/N/bin)
#   KLIC_TEST_LEDGER, KLIC_LEDGER   postgresql:///klic?host=$KLIC_PG_DIR
# A test sources this file to stop and start that server mid-test:
#   pg_start [OPTION=VALUE...]   start it (pg_ctl -w), extra -c settings
#   pg_stop_fast                 pg_ctl stop -m fast (clients disconnected)
#   pg_stop_immediate            pg_ctl stop -m immediate (like a crash:
#                                no checkpoint, recovery on the next start)
#   pg_restart                   fast stop, then start
#   pg_running                   status 0 when the server answers
#   pg_psql [PSQL ARGS...]       psql on database klic as the superuser
#   pg_url_with_password ROLE PASS
#                                creates login role ROLE (superuser, so it
#                                can use klic's schema) with password PASS,
#                                makes the socket ask ROLE for it
#                                (scram-sha-256 in pg_hba.conf, every other
#                                role stays trust), reloads, and prints
#                                postgresql://ROLE:PASS@/klic?host=DIR
#   pg_url_bad_socket            a URL naming a folder with no server in it
#                                (connection refused / no such socket)
#   pg_silent_start / pg_silent_stop
#                                while the server is stopped: a listener on
#                                its socket that accepts every connection and
#                                never answers (a hung server, or a half-open
#                                link); PG_SILENT_PID
#   pg_as CMD...                 CMD as the server's owner (postgres when
#                                we are root; PostgreSQL refuses root)
# The superuser is named after the user running the tests (root in CI),
# so libpq's default user name needs no configuration.
#
# Durability is not under test with these servers: they run with
# fsync=off (initdb --no-sync too), which is much faster.  A stop in any
# mode, immediate included, still keeps every committed transaction: the
# WAL is in the OS page cache and recovery replays it.  Only a crash of
# the machine itself could lose data, and no test does that.  A test that
# needs real fsync passes pg_start fsync=on.

pg_as() {
	if [ "$(id -u)" -eq 0 ]; then
		(cd "$KLIC_PG_DIR" && runuser -u postgres -- "$@")
	else
		(cd "$KLIC_PG_DIR" && "$@")
	fi
}

# pg_bindir: the newest /usr/lib/postgresql/*/bin with a server in it, else
# the folder of `pg_config --bindir` if it has one (pg_config alone names
# the client's folder, which on Debian holds no initdb).
pg_bindir() {
	local d best=
	while IFS= read -r d; do
		[ -x "$d/postgres" ] && [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ] && best=$d
	done < <(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V)
	if [ -z "$best" ] && command -v pg_config >/dev/null 2>&1; then
		d=$(pg_config --bindir 2>/dev/null || true)
		[ -n "$d" ] && [ -x "$d/postgres" ] && [ -x "$d/initdb" ] && best=$d
	fi
	[ -n "$best" ] || return 1
	echo "$best"
}

pg_start() {
	local opts="-c listen_addresses='' -k $KLIC_PG_DIR -c fsync=off -c full_page_writes=off"
	local o
	for o in "$@"; do opts="$opts -c $o"; done
	pg_as "$KLIC_PG_BIN/pg_ctl" -D "$KLIC_PG_DIR/data" -l "$KLIC_PG_DIR/log" -w -t 60 \
		-o "$opts" start >/dev/null
}

pg_stop_fast() {
	pg_as "$KLIC_PG_BIN/pg_ctl" -D "$KLIC_PG_DIR/data" -m fast -w -t 60 stop >/dev/null
}

pg_stop_immediate() {
	pg_as "$KLIC_PG_BIN/pg_ctl" -D "$KLIC_PG_DIR/data" -m immediate -w -t 60 stop >/dev/null
}

pg_restart() {
	pg_stop_fast
	pg_start "$@"
}

pg_running() {
	pg_as "$KLIC_PG_BIN/pg_ctl" -D "$KLIC_PG_DIR/data" status >/dev/null 2>&1
}

pg_psql() {
	"$KLIC_PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$KLIC_PG_DIR" -d klic "$@"
}

pg_url_with_password() {
	local role=$1 pass=$2 hba=$KLIC_PG_DIR/data/pg_hba.conf
	pg_psql -c "CREATE ROLE \"$role\" LOGIN SUPERUSER PASSWORD '$pass'" >/dev/null
	# first matching line wins: ROLE's line goes before the trust lines
	{ printf 'local all %s scram-sha-256\n' "$role"; cat "$hba"; } >"$hba.new"
	cat "$hba.new" >"$hba" && rm -f "$hba.new"
	pg_as "$KLIC_PG_BIN/pg_ctl" -D "$KLIC_PG_DIR/data" reload >/dev/null
	sleep 0.3
	printf 'postgresql://%s:%s@/klic?host=%s\n' "$role" "$pass" "$KLIC_PG_DIR"
}

pg_silent_start() {
	python3 - "$KLIC_PG_DIR/.s.PGSQL.5432" <<'PY' &
import os, socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(sys.argv[1])
s.listen(64)
held = []
while True:
    c, _ = s.accept()
    held.append(c)  # read nothing, answer nothing, close nothing
PY
	PG_SILENT_PID=$!
	local i
	for i in $(seq 50); do [ -S "$KLIC_PG_DIR/.s.PGSQL.5432" ] && return 0; sleep 0.1; done
	return 1
}

pg_silent_stop() {
	kill "$PG_SILENT_PID" 2>/dev/null || true
	wait "$PG_SILENT_PID" 2>/dev/null || true
	rm -f "$KLIC_PG_DIR/.s.PGSQL.5432"
}

pg_url_bad_socket() {
	printf 'postgresql:///klic?host=%s/nosuchdir\n' "$KLIC_PG_DIR"
}
