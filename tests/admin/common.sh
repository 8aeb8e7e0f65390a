# Shared helpers for the admin-side scripted tests (sourced after ../lib.sh).
# usage of the sourcing script: SCRIPT.sh KLIC_ADMIN MKREQ [KLIC|none]
ADMIN=$1
MKREQ=$2
KLIC=${3:-none}
t_engine_admin # KLIC_TEST_ENGINE=pg: $ADMIN on PostgreSQL (../lib.sh)
A="$BOX/admin"
admin() { "$ADMIN" --state "$A" "$@"; }
cd "$BOX"

# mkuser NAME: a member-side keyring $BOX/gnupg-NAME with an Ed25519 key.
mkuser() {
	local h="$BOX/gnupg-$1"
	mkdir -m 700 "$h"
	gpg --homedir "$h" --batch --quiet --pinentry-mode loopback --passphrase '' \
		--quick-gen-key "$1 <$1@test.invalid>" ed25519 sign never 2>/dev/null
}
fpr_of() { gpg --homedir "$BOX/gnupg-$1" --batch --with-colons --list-secret-keys 2>/dev/null | awk -F: '/^fpr/ {print $10; exit}'; }

# req NAME OUT [mkreq options...]: a request signed by user NAME.
req() {
	local u=$1 out=$2; shift 2
	"$MKREQ" --signer-home "$BOX/gnupg-$u" -o "$out" "$@" >/dev/null
}

# A keyring holding only the issuer's public key, for stock gpg --verify.
setup_verifier() {
	mkdir -m 700 "$BOX/gnupg-verify"
	admin export-key -o "$BOX/issuer.asc"
	gpg --homedir "$BOX/gnupg-verify" --batch --quiet --import "$BOX/issuer.asc" 2>/dev/null
}

# unpack FILE.kresp DIR: extract with stock tar.
unpack() { rm -rf "$2"; mkdir -p "$2"; tar xzf "$1" -C "$2"; }

# manifest_ok DIR: stock gpg verifies the manifest with the issuer key.
manifest_ok() {
	gpg --homedir "$BOX/gnupg-verify" --batch --quiet --verify "$1/manifest.sig" "$1/manifest.json" 2>/dev/null
}

# jfield FILE KEY: a top-level string/number field of a compact JSON file.
jfield() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2"; }

# check_denial NAME FILE.kresp CODE: signed denial with that reason code.
check_denial() {
	local name=$1 f=$2 code=$3 d="$BOX/unpacked"
	if [ ! -f "$f" ]; then fail "$name: no $f"; return; fi
	unpack "$f" "$d"
	if ! manifest_ok "$d"; then fail "$name: manifest signature does not verify"; return; fi
	if [ "$(jfield "$d/manifest.json" status)" != denied ]; then fail "$name: status not denied: $(head -c 600 "$d/manifest.json")"; return; fi
	if [ "$(jfield "$d/manifest.json" reason_code)" != "$code" ]; then
		fail "$name: reason_code $(jfield "$d/manifest.json" reason_code), expected $code"; return
	fi
	if [ "$(tar tzf "$f" | tr '\n' ' ')" != "manifest.json manifest.sig " ]; then
		fail "$name: denial holds licenses"; return
	fi
	pass "$name: signed denial $code ($(jfield "$d/manifest.json" reason))"
}

# ledger SQL: one statement on the admin's ledger (either engine, ../lib.sh)
ledger() { t_sql "$A" "$1"; }
nlic() { ledger 'SELECT count(*) FROM licenses'; }
