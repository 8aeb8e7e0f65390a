# The PostgreSQL engine for the scripted tests written for both engines
# (sourced by ../lib.sh when KLIC_TEST_ENGINE=pg, and by admin_on_pg).
# Runs under with_pg.sh (KLIC_PG_DIR, KLIC_PG_BIN: pglib.sh).
#
# Each klic-admin state folder gets a database of its own on the test
# server, as an admin's SQLite ledger is a file of its own in the state
# folder: a test that makes several organizations (several `init`) gets
# several ledgers, never one shared by accident.
#   pg_state_db DIR    the database name of state folder DIR (k + 20 hex
#                      digits of the SHA-256 of its canonical path)
#   pg_state_url DIR   its URL, the database made on first use (flock:
#                      two klic-admin started at once make it once)
#   pg_state_made DIR  status 0 when that database exists
#   pg_state_sql DIR SQL      statements, unaligned, tuples only, as
#                             sqlite3 prints them (| between columns); DIR's
#                             database must exist (klic-admin used DIR)
#   pg_state_dump DIR  schema and rows as text, for comparisons before and
#                      after (pg_dump; left out: sequence positions, since a
#                      refused insert may advance one and change nothing, and
#                      the random key of pg_dump's \restrict line)
#   pg_state_copy DIR NEW  NEW's database made as a copy of DIR's (no one
#                          may be connected to DIR's: createdb -T)
#   pg_state_sound DIR prints ok when amcheck finds every B-tree index of
#                      the ledger consistent with its table (the engine's
#                      counterpart of SQLite's PRAGMA integrity_check)

pg_state_db() {
	local d
	d=$(realpath -m -- "$1") # DIR, DIR/, ./DIR: one folder, one database
	printf 'k%s\n' "$(printf '%s' "$d" | sha256sum | cut -c1-20)"
}

pg_state_made() {
	[ -e "$KLIC_PG_DIR/dbs/$(pg_state_db "$1")" ]
}

pg_state_url() {
	local db
	db=$(pg_state_db "$1")
	if [ ! -e "$KLIC_PG_DIR/dbs/$db" ]; then
		mkdir -p "$KLIC_PG_DIR/dbs"
		(
			flock 9
			if [ ! -e "$KLIC_PG_DIR/dbs/$db" ]; then
				"$KLIC_PG_BIN/createdb" -h "$KLIC_PG_DIR" "$db" && : >"$KLIC_PG_DIR/dbs/$db"
			fi
		) 9>"$KLIC_PG_DIR/dbs.lock" || return 1
	fi
	printf 'postgresql:///%s?host=%s\n' "$db" "$KLIC_PG_DIR"
}

pg_state_sql() {
	# never made here: a query on a folder no klic-admin used is a mistake
	pg_state_made "$1" || { echo "pg_state_sql: no ledger database for $1" >&2; return 1; }
	# on stdin, not -c: psql -c shows only the last statement's rows
	printf '%s\n' "$2" | PGOPTIONS='-c lock_timeout=30s' "$KLIC_PG_BIN/psql" -X -q -At \
		-v ON_ERROR_STOP=1 -h "$KLIC_PG_DIR" -d "$(pg_state_db "$1")"
}

pg_state_dump() {
	pg_state_made "$1" || { echo "no database"; return 0; }
	"$KLIC_PG_BIN/pg_dump" -h "$KLIC_PG_DIR" --no-owner "$(pg_state_db "$1")" |
		grep -Ev '^(SELECT pg_catalog\.setval\(|\\(un)?restrict )'
}

pg_state_copy() {
	local db
	db=$(pg_state_db "$2")
	mkdir -p "$KLIC_PG_DIR/dbs"
	"$KLIC_PG_BIN/createdb" -h "$KLIC_PG_DIR" -T "$(pg_state_db "$1")" "$db" && : >"$KLIC_PG_DIR/dbs/$db"
}

pg_state_sound() {
	local n
	pg_state_sql "$1" "CREATE EXTENSION IF NOT EXISTS amcheck" >/dev/null 2>&1 || { echo "no amcheck"; return 0; }
	# bt_index_check raises an error on any inconsistency; count the indexes checked
	n=$(pg_state_sql "$1" "SELECT count(bt_index_check(c.oid, true)) FROM pg_index i
		JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_am a ON a.oid = c.relam
		JOIN pg_namespace s ON s.oid = c.relnamespace
		WHERE a.amname = 'btree' AND s.nspname = 'public'" 2>&1) || { echo "$n"; return 0; }
	if [ "$n" -gt 0 ] 2>/dev/null; then echo ok; else echo "no index checked ($n)"; fi
}
