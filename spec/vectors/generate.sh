#!/usr/bin/env bash
# Regenerate the protocol test vectors (version 2) with the real tools:
# klic-vendor signs an entitlement, klic-admin pins the vendor, imports it
# and issues, klic requests, klic-admin exports the usage and klic-vendor's
# true-up accepts it.
#   usage: spec/vectors/generate.sh BUILD_DIR [OUT_DIR]
# OUT_DIR defaults to this folder; another folder gets a copy of the
# committed keys first (tests/unit/vectors/regenerate.sh writes into a
# temporary folder and compares every file with the committed one).
# Needs root (unshare -m -u, for the vector machine-id and hostname),
# faketime, and BUILD_DIR's libklic_fixed_random.so.
# TEST-ONLY KEYS: vendor.sec.asc, issuer.sec.asc and member.sec.asc are
# published secret keys. Never pin, embed or trust them anywhere but in tests.
#
# Every input is pinned, so the output is the same bytes on every run: the
# keys are created once and reused; every tool runs at the frozen time
# VEC_TIME (faketime: signature times, created/expires, the time part of
# license IDs); its getrandom(2) is a fixed stream (libklic_fixed_random.so:
# nonces, license and entitlement IDs); the request's machine-id file and
# hostname are fixed (a private mount and UTS namespace); every path a tool
# sees is relative to OUT_DIR. EdDSA signatures are deterministic.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "$1" && pwd)
out=$(mkdir -p "${2:-$here}" && cd "${2:-$here}" && pwd)
KLIC=$build/request/klic
ADMIN=$build/response/klic-admin
VENDOR=$build/response/vendor/klic-vendor
SHIM=$build/tests/unit/vectors/libklic_fixed_random.so
VEC_TIME='2026-12-05 13:00:00'
[ -f "$SHIM" ] || { echo "generate.sh: $SHIM missing (build tests/unit/vectors)" >&2; exit 1; }
command -v faketime >/dev/null || { echo "generate.sh: faketime is needed" >&2; exit 1; }
box=$(mktemp -d /tmp/klic-vec-XXXXXX)
trap 'for g in "$box"/*/ "$box"/v/gnupg/; do gpgconf --homedir "$g" --kill all 2>/dev/null || true; done; rm -rf "$box"' EXIT
if [ "$out" != "$here" ]; then
	for k in vendor issuer member; do
		cp "$here/$k.sec.asc" "$here/$k.pub.asc" "$out/"
	done
fi
cd "$out"
# pinned: the time and the randomness of every tool run below
# (the ASan runtime of a --sanitize build must not insist on coming first)
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0"
pin() { LD_PRELOAD="$SHIM" KLIC_TEST_RANDOM_STATE="$box/random" faketime -f "$VEC_TIME" "$@"; }
KLIC() { pin "$KLIC" "$@"; }
ADMIN() { pin "$ADMIN" "$@"; }
VENDOR() { pin "$VENDOR" "$@"; }

# The issuer and member keys: stock gpg, kept across runs.
mkdir -m 700 "$box/ig" "$box/mg"
for role in issuer member; do
	g=$box/ig; [ $role = member ] && g=$box/mg
	if [ ! -f "$out/$role.sec.asc" ]; then
		gpg --homedir "$g" --batch --passphrase '' --quick-gen-key \
			"klic TEST-ONLY $role <$role@vectors.invalid>" ed25519 sign never 2>/dev/null
		gpg --homedir "$g" --batch --armor --export-secret-keys > "$out/$role.sec.asc"
		gpg --homedir "$g" --batch --armor --export > "$out/$role.pub.asc"
	else
		gpg --homedir "$g" --batch --import "$out/$role.sec.asc" 2>/dev/null
	fi
done
ifpr=$(gpg --homedir "$box/ig" --batch --with-colons --list-secret-keys | awk -F: '/^fpr/{print $10; exit}')

# The vendor: made by klic-vendor init the first time, then its key is
# restored into a fresh vendor state (gnupg/ and entitlements/, spec 5.10).
if [ ! -f "$out/vendor.sec.asc" ]; then
	"$VENDOR" --state "$box/v" init --name "klic TEST-ONLY vendor" \
		--email vendor@vectors.invalid >/dev/null
	gpg --homedir "$box/v/gnupg" --batch --armor --export-secret-keys > "$out/vendor.sec.asc"
	"$VENDOR" --state "$box/v" export-key -o "$out/vendor.pub.asc" >/dev/null
else
	mkdir -m 700 "$box/v" "$box/v/gnupg" "$box/v/entitlements"
	gpg --homedir "$box/v/gnupg" --batch --import "$out/vendor.sec.asc" 2>/dev/null
fi

printf '0123456789abcdef0123456789abcdef\n' > machine-id
# the user's machine: the vector machine-id file and the hostname "vectors"
run_on_vector_machine() {
	unshare -m -u --propagation private bash -c \
		'mount --bind "$0" /etc/machine-id && hostname vectors && exec "$@"' "$out/machine-id" "$@"
}
run_on_vector_machine "$KLIC" --home "$box/u" id > machine-id.expected

# vendor -> admin: the entitlement, its body and the body's SHA-256
org="klic test vectors"
rm -f entitlement.kent # klic-vendor never overwrites an entitlement
VENDOR --state "$box/v" entitle --org "$org" --org-key issuer.pub.asc \
	--product KRE --model node-locked --billing yearly --seats 10 \
	--from 2026-01-01 --until 2099-12-31 --ref vectors -o entitlement.kent >/dev/null
# the body: line 4 up to the line before the signature, without its last LF
sed -n '4,$p' entitlement.kent | sed '/^-----BEGIN PGP SIGNATURE-----$/,$d' |
	head -c -1 > entitlement.json
sha256sum entitlement.json | cut -c1-64 > entitlement.json.sha256

ADMIN --state "$box/a" --gnupghome "$box/ig" init --org "$org" \
	--name "TEST-ONLY issuer" --email issuer@vectors.invalid --key "$ifpr" \
	--vendor vendor.pub.asc >/dev/null
ADMIN --state "$box/a" entitlement import entitlement.kent >/dev/null
ADMIN --state "$box/a" member add --yes member.pub.asc >/dev/null

# admin -> user
KLIC --home "$box/u" --gnupghome "$box/mg" trust issuer.pub.asc >/dev/null
run_on_vector_machine env LD_PRELOAD="$SHIM" KLIC_TEST_RANDOM_STATE="$box/random" \
	faketime -f "$VEC_TIME" "$KLIC" --home "$box/u" --gnupghome "$box/mg" \
	request --product KRE --seats 2 -o request.kreq >/dev/null
run_on_vector_machine env LD_PRELOAD="$SHIM" KLIC_TEST_RANDOM_STATE="$box/random" \
	faketime -f "$VEC_TIME" "$KLIC" --home "$box/u" --gnupghome "$box/mg" \
	request --product KSE -o request-kse.kreq >/dev/null
mkdir "$box/out"
# one request per run: a batch answers in parallel jobs, so the audit order
# (and with it usage.kusage) would vary
ADMIN --state "$box/a" issue request.kreq -o "$box/out" --yes >/dev/null
ADMIN --state "$box/a" issue request-kse.kreq -o "$box/out" --yes >/dev/null
cp "$box/out/request.kresp" response.kresp
cp "$box/out/request-kse.kresp" response-denied.kresp
mid=$(cat machine-id.expected)
tar xzf response.kresp -C "$box" "KRE_${mid}.lic"
cp "$box/KRE_${mid}.lic" license.lic

# admin -> vendor: the usage export, which the vendor's true-up accepts
rm -f usage.kusage # klic-admin never replaces an export
ADMIN --state "$box/a" usage export -o usage.kusage >/dev/null
VENDOR --state "$box/v" usage verify usage.kusage >/dev/null

# a license signed with SHA-512 (Hash: SHA512), beside the SHA-256 ones:
# the issuer's gpg told to use that digest for one more 1-seat request
# (after the usage export, which stays as described in spec 9)
# one minute later, so its license ID's time part is later (spec 1)
echo "digest-algo SHA512" >> "$box/ig/gpg.conf"
VEC_TIME='2026-12-05 13:01:00'
run_on_vector_machine env LD_PRELOAD="$SHIM" KLIC_TEST_RANDOM_STATE="$box/random" \
	faketime -f "$VEC_TIME" "$KLIC" --home "$box/u" --gnupghome "$box/mg" \
	request --product KRE -o request-sha512.kreq >/dev/null
ADMIN --state "$box/a" issue request-sha512.kreq -o "$box/out" --yes >/dev/null
cp "$box/out/request-sha512.kresp" response-sha512.kresp
tar xzf response-sha512.kresp -C "$box" "KRE_${mid}_3.lic"
cp "$box/KRE_${mid}_3.lic" license-sha512.lic
sed -n 2p license-sha512.lic | grep -qx 'Hash: SHA512' ||
	{ echo "generate.sh: license-sha512.lic is not signed with SHA-512" >&2; exit 1; }
# user -> admin: a return receipt (spec 3.8) of the two licenses of
# response.kresp, signed by the member key, two minutes after the issue
# (after everything above, which stays as it was)
VEC_TIME='2026-12-05 13:02:00'
rm -f return.kret # klic return never overwrites a receipt
run_on_vector_machine env LD_PRELOAD="$SHIM" KLIC_TEST_RANDOM_STATE="$box/random" \
	faketime -f "$VEC_TIME" "$KLIC" --home "$box/u" --gnupghome "$box/mg" \
	install --vendor vendor.pub.asc response.kresp >/dev/null
run_on_vector_machine env LD_PRELOAD="$SHIM" KLIC_TEST_RANDOM_STATE="$box/random" \
	faketime -f "$VEC_TIME" "$KLIC" --home "$box/u" --gnupghome "$box/mg" \
	return --vendor vendor.pub.asc --product KRE -o return.kret >/dev/null
echo "vectors written to $out"
