# Shared helpers for the PostgreSQL end-to-end tests (sourced after
# ../lib.sh and pglib.sh, under with_pg.sh).
# usage of the sourcing script: SCRIPT.sh KLIC_ADMIN MKREQ KLIC
# (KLIC_VENDOR from ctest, else next to klic-admin).
ADMIN=$1
MKREQ=$2
KLIC=${3:-none}
if [ -z "${KLIC_PG_DIR:-}" ] || [ -z "${KLIC_LEDGER:-}" ]; then
	echo "$0: run me under tests/pg/with_pg.sh (no KLIC_PG_DIR / KLIC_LEDGER)" >&2
	exit 2
fi
PG_URL=$KLIC_LEDGER
# the system python: a version manager's shim costs a shell script per call
PY=python3; [ -x /usr/bin/python3 ] && PY=/usr/bin/python3
# Every klic-admin call names its ledger explicitly (--ledger); the
# environment names none, so that a call without --ledger is the plain
# SQLite default and cannot reach the server by accident.
unset KLIC_LEDGER
cd "$BOX"

# mkuser NAME: a member-side keyring $BOX/gnupg-NAME with an Ed25519 key.
mkuser() {
	local h="$BOX/gnupg-$1"
	mkdir -m 700 "$h"
	gpg --homedir "$h" --batch --quiet --pinentry-mode loopback --passphrase '' \
		--quick-gen-key "$1 <$1@test.invalid>" ed25519 sign never 2>/dev/null
}
# req NAME OUT [mkreq options...]: a request signed by user NAME.
req() {
	local u=$1 out=$2; shift 2
	"$MKREQ" --signer-home "$BOX/gnupg-$u" -o "$out" "$@" >/dev/null
}
# mid N: a machine id (32 hex digits) of its own for request N.
mid() { printf '%032x' "$1"; }
# digest FILE.kreq: the request digest (sha256 of its manifest).
digest() { tar xzOf "$1" manifest.json | sha256sum | cut -c1-64; }

# pgq SQL: one query on the test server, unaligned, tuples only.
# (never waits for a lock more than 30 s: a test hangs on nothing)
pgq() { PGOPTIONS='-c lock_timeout=30s' pg_psql -At -c "$1"; }

# adm STATE [klic-admin args...]: klic-admin on the PostgreSQL ledger.
adm() { local s=$1; shift; "$ADMIN" --state "$s" --ledger "$PG_URL" "$@"; }

# vendor_entitle OUT.kent ORG SEATS PRODUCT ORGKEY.asc...: a vendor
# entitlement naming every given issuer key (the test vendor, lib.sh).
vendor_entitle() {
	local out=$1 org=$2 seats=$3 product=$4 k keys=()
	shift 4
	for k in "$@"; do keys+=(--org-key "$k"); done
	t_vendor
	"$(t_vendor_bin)" --state "${T_VENDOR:-$BOX/vendor}" entitle --org "$org" "${keys[@]}" \
		--product "$product" --model node-locked --billing yearly --seats "$seats" \
		--until "$(date -u -d '+400 days' +%F)" --ref PO-pg -o "$out" >/dev/null
}

# verify_keyring ISSUER.asc...: $BOX/gnupg-verify holds these public keys
# (stock gpg checks a response manifest with them: manifest_ok).
verify_keyring() {
	mkdir -p -m 700 "$BOX/gnupg-verify"
	gpg --homedir "$BOX/gnupg-verify" --batch --quiet --import "$@" 2>/dev/null
}
manifest_ok() {
	gpg --homedir "$BOX/gnupg-verify" --batch --quiet --verify "$1/manifest.sig" "$1/manifest.json" 2>/dev/null
}
unpack() { rm -rf "$2"; mkdir -p "$2"; tar xzf "$1" -C "$2"; }
# mstatus FILE.kresp: the response's status field (issued, denied, ...).
mstatus() { tar xzOf "$1" manifest.json | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["status"])'; }
