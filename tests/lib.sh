# Shared helpers for the scripted tests (sourced, bash).
# Every test runs in its own sandbox under /tmp (short gpg-agent socket
# paths) and kills the gpg-agents of every GNUPGHOME it used on exit.
set -euo pipefail

T_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
T_FAILS=0
T_PASSES=0
BOX=$(mktemp -d /tmp/klic-t-XXXXXX)

t_cleanup() {
	local g
	while IFS= read -r g; do
		gpgconf --homedir "$g" --kill all >/dev/null 2>&1 || true
	done < <(find "$BOX" -type d \( -name gnupg -o -name 'gnupg-*' \) 2>/dev/null)
	if [ "${KEEP:-0}" = 1 ]; then echo "sandbox kept: $BOX" >&2; else rm -rf "$BOX"; fi
}
trap t_cleanup EXIT

pass() { T_PASSES=$((T_PASSES + 1)); echo "ok   - $*"; }
fail() { T_FAILS=$((T_FAILS + 1)); echo "FAIL - $*"; }

# t_done: print the plain summary line and exit non-zero on any failure.
t_done() {
	local stray
	if [ -s "$BOX/t_sql.errors" ]; then
		fail "statements on the ledger failed: $(head -c 600 "$BOX/t_sql.errors")"
	fi
	if [ "$T_ENGINE" = pg ]; then
		# the PostgreSQL run never fell back to a SQLite ledger
		stray=$(find "$BOX" -name ledger.sqlite 2>/dev/null | head -3 | tr '\n' ' ')
		[ -z "$stray" ] || fail "PostgreSQL run: SQLite ledgers made: $stray"
		[ -n "$(ls "$KLIC_PG_DIR/dbs" 2>/dev/null)" ] || fail "PostgreSQL run: no ledger database made"
	fi
	echo "$T_PASSES passed, $T_FAILS failed"
	[ "$T_FAILS" -eq 0 ]
}

# flip FILE OFFSET: xor one byte with 0x01 in place.
flip() {
	local f=$1 off=$2 b
	b=$(od -An -tu1 -j"$off" -N1 "$f" | tr -d ' ')
	printf "$(printf '\\%03o' $((b ^ 1)))" | dd of="$f" bs=1 seek="$off" conv=notrunc status=none
}

# same_content A B: both gzip streams decompress, to the same bytes.  Some
# bit flips of a gzip file change nothing it holds (gzip header fields that
# zlib ignores, unused deflate code lengths, padding bits of the last deflate
# byte); such a file is the same bundle, and accepting it is right.
same_content() {
	local x y
	x=$(gzip -dc <"$1" 2>/dev/null | sha256sum) || return 1
	y=$(gzip -dc <"$2" 2>/dev/null | sha256sum) || return 1
	[ "$x" = "$y" ]
}

# tree_sum DIR: one line per file (path + sha256) and per directory, so a
# comparison before/after shows any change, including new empty files.  The
# one exception: a home's empty license lock klic/license.lock (klic(1):
# made by the first install, also one that is then refused, never removed,
# no data); with any byte in it, or as a link, it counts.
tree_sum() {
	local d=$1
	if [ ! -e "$d" ]; then echo "absent"; return; fi
	(cd "$d" && find . -print0 | sort -z | while IFS= read -r -d '' p; do
		if [ "$p" = ./klic/license.lock ] && [ -f "$p" ] && [ ! -L "$p" ] && [ ! -s "$p" ]; then continue
		elif [ -f "$p" ]; then printf '%s %s\n' "$(sha256sum < "$p" | cut -c1-64)" "$p"
		else printf 'dir %s\n' "$p"; fi
	done)
	# a state folder's ledger on PostgreSQL lives on the server (a dump
	# that fails never reads as "unchanged")
	local dump n
	if [ "$T_ENGINE" = pg ] && pg_state_made "$d"; then
		if ! n=$(pg_state_sql "$d" "$T_PG_TABLES") || ! dump=$(t_dump "$d"); then
			echo "ledger unreadable $RANDOM$RANDOM"
		elif [ "$n" -gt 0 ]; then # (an empty database is no ledger yet)
			printf '%s ledger\n' "$(printf '%s' "$dump" | sha256sum | cut -c1-64)"
		fi
	fi
}

# expect_refused NAME DIR_TO_WATCH CMD...: the command must exit 1 with
# exactly one line on stderr, and DIR_TO_WATCH must be unchanged.
expect_refused() {
	local name=$1 watch=$2; shift 2
	local before after rc=0 lines
	before=$(tree_sum "$watch")
	"$@" >"$BOX/out.txt" 2>"$BOX/err.txt" || rc=$?
	after=$(tree_sum "$watch")
	lines=$(wc -l <"$BOX/err.txt")
	if [ "$rc" -ne 1 ]; then
		fail "$name: exit $rc, expected 1 ($(head -c 300 "$BOX/err.txt"))"
	elif [ "$lines" -ne 1 ]; then
		fail "$name: $lines stderr lines, expected 1: $(head -c 300 "$BOX/err.txt")"
	elif [ "$before" != "$after" ]; then
		fail "$name: $watch changed"
	else
		pass "$name: $(cat "$BOX/err.txt")"
	fi
}

# can_unshare: 0 when we may simulate another machine with a mount namespace.
can_unshare() {
	[ "$(id -u)" -eq 0 ] && unshare -m true 2>/dev/null
}

# on_machine MACHINE_ID_FILE CMD...: run CMD with /etc/machine-id replaced
# (bind mount inside a private mount namespace; the host is not affected).
on_machine() {
	local idfile=$1; shift
	unshare -m --propagation private bash -c 'mount --bind "$0" /etc/machine-id && exec "$@"' "$idfile" "$@"
}

# ---- the trust chain: vendor -> organization (issue 14) ---------------------
# An organization's admin state with its vendor entitlement, in one call:
#
#   t_org_setup DIR ORG [SEATS [PRODUCT [MODEL [BILLING [ENTITLE OPTIONS...]]]]]
#       klic-admin --state DIR init --org ORG --vendor $BOX/vendor.asc, then,
#       unless SEATS is empty or 0, t_entitle DIR SEATS PRODUCT MODEL BILLING ...
#       Sets T_ISSUER (the admin's issuer fingerprint).
#   t_entitle DIR SEATS [PRODUCT [MODEL [BILLING [ENTITLE OPTIONS...]]]]
#       the vendor signs an entitlement for DIR's organization naming DIR's
#       issuer key (defaults KRE node-locked yearly, --until 400 days ahead,
#       --ref PO-test; ENTITLE OPTIONS are more klic-vendor entitle options,
#       e.g. --until 2027-01-01 --from 2026-12-01 --ref PO-42), and DIR's admin
#       imports it.  Sets T_KENT (the .kent file, kept in $BOX/kents/).
#   t_vendor
#       the test vendor: klic-vendor --state $T_VENDOR (default $BOX/vendor,
#       made on first use), its public key in $T_VENDOR.asc.
#
# T_RUN (an array, default empty) prefixes every command these helpers run,
# e.g. T_RUN=(faketime '-71 days') for an organization set up in the past
# (with its own T_VENDOR: a key cannot sign before it was made).
#
# Binaries: $ADMIN (klic-admin) and $KLIC_VENDOR (klic-vendor; ctest sets it,
# else it is looked for next to klic-admin: build tree response/vendor/, or
# the same bin folder).  Extra klic-admin global options (--gnupghome,
# --passphrase-file) for DIR: T_ADMIN_OPTS (an array, default empty).
T_ADMIN_OPTS=()
T_RUN=()

t_vendor_bin() {
	if [ -n "${KLIC_VENDOR:-}" ]; then echo "$KLIC_VENDOR"; return; fi
	local d
	d=$(dirname "$ADMIN")
	if [ -x "$d/vendor/klic-vendor" ]; then echo "$d/vendor/klic-vendor"
	elif [ -x "$d/klic-vendor" ]; then echo "$d/klic-vendor"
	else echo "t_vendor: no klic-vendor (set KLIC_VENDOR)" >&2; return 1; fi
}

t_vendor() {
	local v vd=${T_VENDOR:-$BOX/vendor}
	v=$(t_vendor_bin)
	if [ ! -e "$vd.asc" ]; then
		"${T_RUN[@]}" "$v" --state "$vd" init --name "Test Vendor" --email vendor@test.invalid >/dev/null
		"${T_RUN[@]}" "$v" --state "$vd" export-key -o "$vd.asc" >/dev/null
	fi
}

t_org_setup() {
	local dir=$1 org=$2 seats=${3:-}
	t_vendor
	T_ISSUER=$("${T_RUN[@]}" "$ADMIN" --state "$dir" "${T_ADMIN_OPTS[@]}" init --org "$org" \
		--name "$org Admin" --email admin@test.invalid --vendor "${T_VENDOR:-$BOX/vendor}.asc" |
		awk '/^issuer/ {print $2}')
	if [ -n "$seats" ] && [ "$seats" != 0 ]; then
		shift 2
		t_entitle "$dir" "$@"
	fi
}

t_entitle() {
	local dir=$1 seats=$2 product=${3:-KRE} model=${4:-node-locked} billing=${5:-yearly}
	local v org extra=() a
	shift $(( $# < 5 ? $# : 5 ))
	extra=("$@")
	v=$(t_vendor_bin)
	t_vendor
	org=$(t_sql "$dir" "SELECT value FROM meta WHERE key = 'org'")
	mkdir -p "$BOX/kents"
	"${T_RUN[@]}" "$ADMIN" --state "$dir" "${T_ADMIN_OPTS[@]}" export-key -o "$BOX/kents/org-key.asc"
	local has_until=0 has_ref=0
	for a in "${extra[@]}"; do
		case $a in --until) has_until=1 ;; --ref) has_ref=1 ;; esac
	done
	[ "$has_until" = 1 ] || extra+=(--until "$("${T_RUN[@]}" date -u -d '+400 days' +%F)")
	[ "$has_ref" = 1 ] || extra+=(--ref PO-test)
	T_KENT=$(mktemp -u "$BOX/kents/ent-XXXXXX").kent
	"${T_RUN[@]}" "$v" --state "${T_VENDOR:-$BOX/vendor}" entitle --org "$org" \
		--org-key "$BOX/kents/org-key.asc" \
		--product "$product" --model "$model" --billing "$billing" --seats "$seats" \
		"${extra[@]}" -o "$T_KENT" >/dev/null
	"${T_RUN[@]}" "$ADMIN" --state "$dir" "${T_ADMIN_OPTS[@]}" entitlement import "$T_KENT" >/dev/null
}

# ---- the ledger engine (issue 16) -------------------------------------------
# A script written for both engines reads an admin's ledger only through
# these, DIR being the admin's state folder:
#   t_sql DIR SQL        one statement (output as sqlite3 prints it: | between
#                        columns, no header)
#   t_dump DIR           the whole ledger as text, to compare before/after
#   t_ledger_made DIR    status 0 when DIR's ledger exists, with its schema
#   t_ledger_sound DIR   prints ok when the engine's own check passes (SQLite:
#                        PRAGMA integrity_check; PostgreSQL: amcheck)
#   t_ledger_version DIR the schema version
#   t_state_copy DIR NEW a copy of the state folder and its ledger
# KLIC_TEST_ENGINE=pg (ctest's admin_*_pg tests, under tests/pg/with_pg.sh)
# runs it on PostgreSQL: t_engine_admin (called by tests/admin/common.sh once
# $ADMIN is set) swaps $ADMIN for tests/pg/admin_on_pg, which gives each
# state folder a database of its own on the test server (tests/pg/engine.sh),
# and tree_sum DIR then covers DIR's ledger too.
T_ENGINE=${KLIC_TEST_ENGINE:-sqlite}
case $T_ENGINE in
sqlite) ;;
pg)
	if [ -z "${KLIC_PG_DIR:-}" ] || [ -z "${KLIC_PG_BIN:-}" ]; then
		echo "$0: KLIC_TEST_ENGINE=pg: run me under tests/pg/with_pg.sh" >&2
		exit 2
	fi
	# shellcheck source=pg/engine.sh
	. "$T_LIB_DIR/pg/engine.sh"
	;;
*)
	echo "$0: KLIC_TEST_ENGINE=$T_ENGINE: sqlite or pg" >&2
	exit 2
	;;
esac

t_engine_admin() {
	[ "$T_ENGINE" = pg ] || return 0
	KLIC_VENDOR=$(t_vendor_bin)
	KLIC_REAL_ADMIN=$ADMIN
	export KLIC_VENDOR KLIC_REAL_ADMIN
	ADMIN=$T_LIB_DIR/pg/admin_on_pg
	# only the wrapper's --ledger names a ledger
	unset KLIC_LEDGER KLIC_TEST_LEDGER
}

# (a statement one engine refuses would read as an empty answer inside
# [ ... ]: every failure is kept in $BOX/t_sql.errors, and t_done fails)
t_sql() {
	local rc=0
	if [ "$T_ENGINE" = pg ]; then pg_state_sql "$1" "$2" 2>"$BOX/t_sql.err" || rc=$?
	else sqlite3 "$1/ledger.sqlite" "$2" 2>"$BOX/t_sql.err" || rc=$?; fi
	if [ "$rc" -ne 0 ]; then
		printf 't_sql %s: %s: %s\n' "$1" "$2" "$(tr '\n' ' ' <"$BOX/t_sql.err")" >>"$BOX/t_sql.errors"
		cat "$BOX/t_sql.err" >&2
	fi
	return "$rc"
}

t_dump() {
	if [ "$T_ENGINE" = pg ]; then pg_state_dump "$1"
	else sqlite3 "$1/ledger.sqlite" .dump; fi
}

T_PG_TABLES="SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'"
t_ledger_made() {
	local n
	if [ "$T_ENGINE" = pg ]; then
		pg_state_made "$1" || return 1
		n=$(pg_state_sql "$1" "$T_PG_TABLES") || { echo "t_ledger_made $1: psql failed" >&2; exit 3; }
		[ "$n" -gt 0 ]
	else
		[ -e "$1/ledger.sqlite" ]
	fi
}

t_ledger_sound() {
	if [ "$T_ENGINE" = pg ]; then pg_state_sound "$1"
	else sqlite3 "$1/ledger.sqlite" 'PRAGMA integrity_check'; fi
}

# t_state_copy DIR NEW: a copy of admin state folder DIR, its ledger with it
t_state_copy() {
	cp -a "$1" "$2"
	if [ "$T_ENGINE" = pg ]; then pg_state_copy "$1" "$2"; fi
}

t_ledger_version() {
	if [ "$T_ENGINE" = pg ]; then t_sql "$1" "SELECT value FROM meta WHERE key = 'ledger_version'"
	else sqlite3 "$1/ledger.sqlite" 'PRAGMA user_version'; fi
}
