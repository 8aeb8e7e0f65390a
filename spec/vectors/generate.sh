#!/usr/bin/env bash
# Regenerate the protocol test vectors (version 2) in this folder with the
# real tools: klic-vendor signs an entitlement, klic-admin pins the vendor,
# imports it and issues, klic requests, klic-admin exports the usage and
# klic-vendor's true-up accepts it.
#   usage: spec/vectors/generate.sh BUILD_DIR      (needs root for unshare -m)
# TEST-ONLY KEYS: vendor.sec.asc, issuer.sec.asc and member.sec.asc are
# published secret keys. Never pin, embed or trust them anywhere but in tests.
# The keys are created once and reused; the entitlement, bundles and licenses
# are made anew (signatures, times and IDs differ on every run; tests compare
# verdicts and payloads).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "$1" && pwd)
KLIC=$build/request/klic
ADMIN=$build/response/klic-admin
VENDOR=$build/response/vendor/klic-vendor
box=$(mktemp -d /tmp/klic-vec-XXXXXX)
trap 'for g in "$box"/*/ "$box"/v/gnupg/; do gpgconf --homedir "$g" --kill all 2>/dev/null || true; done; rm -rf "$box"' EXIT

# The issuer and member keys: stock gpg, kept across runs.
mkdir -m 700 "$box/ig" "$box/mg"
for role in issuer member; do
	g=$box/ig; [ $role = member ] && g=$box/mg
	if [ ! -f "$here/$role.sec.asc" ]; then
		gpg --homedir "$g" --batch --passphrase '' --quick-gen-key \
			"klic TEST-ONLY $role <$role@vectors.invalid>" ed25519 sign never 2>/dev/null
		gpg --homedir "$g" --batch --armor --export-secret-keys > "$here/$role.sec.asc"
		gpg --homedir "$g" --batch --armor --export > "$here/$role.pub.asc"
	else
		gpg --homedir "$g" --batch --import "$here/$role.sec.asc" 2>/dev/null
	fi
done
ifpr=$(gpg --homedir "$box/ig" --batch --with-colons --list-secret-keys | awk -F: '/^fpr/{print $10; exit}')

# The vendor: made by klic-vendor init the first time, then its key is
# restored into a fresh vendor state (gnupg/ and entitlements/, spec 5.10).
if [ ! -f "$here/vendor.sec.asc" ]; then
	"$VENDOR" --state "$box/v" init --name "klic TEST-ONLY vendor" \
		--email vendor@vectors.invalid >/dev/null
	gpg --homedir "$box/v/gnupg" --batch --armor --export-secret-keys > "$here/vendor.sec.asc"
	"$VENDOR" --state "$box/v" export-key -o "$here/vendor.pub.asc" >/dev/null
else
	mkdir -m 700 "$box/v" "$box/v/gnupg" "$box/v/entitlements"
	gpg --homedir "$box/v/gnupg" --batch --import "$here/vendor.sec.asc" 2>/dev/null
fi

printf '0123456789abcdef0123456789abcdef\n' > "$here/machine-id"
run_on_vector_machine() {
	unshare -m --propagation private bash -c 'mount --bind "$0" /etc/machine-id && exec "$@"' "$here/machine-id" "$@"
}
run_on_vector_machine "$KLIC" --home "$box/u" id > "$here/machine-id.expected"

# vendor -> admin: the entitlement, its body and the body's SHA-256
org="klic test vectors"
rm -f "$here/entitlement.kent" # klic-vendor never overwrites an entitlement
"$VENDOR" --state "$box/v" entitle --org "$org" --org-key "$here/issuer.pub.asc" \
	--product KRE --model node-locked --billing yearly --seats 10 \
	--from 2026-01-01 --until 2099-12-31 --ref vectors -o "$here/entitlement.kent" >/dev/null
# the body: line 4 up to the line before the signature, without its last LF
sed -n '4,$p' "$here/entitlement.kent" | sed '/^-----BEGIN PGP SIGNATURE-----$/,$d' |
	head -c -1 > "$here/entitlement.json"
sha256sum "$here/entitlement.json" | cut -c1-64 > "$here/entitlement.json.sha256"

"$ADMIN" --state "$box/a" --gnupghome "$box/ig" init --org "$org" \
	--name "TEST-ONLY issuer" --email issuer@vectors.invalid --key "$ifpr" \
	--vendor "$here/vendor.pub.asc" >/dev/null
"$ADMIN" --state "$box/a" entitlement import "$here/entitlement.kent" >/dev/null
"$ADMIN" --state "$box/a" member add "$here/member.pub.asc" >/dev/null

# admin -> user
"$KLIC" --home "$box/u" --gnupghome "$box/mg" trust "$here/issuer.pub.asc" >/dev/null
cd "$box"
run_on_vector_machine "$KLIC" --home "$box/u" --gnupghome "$box/mg" request --product KRE --seats 2 -o "$here/request.kreq" >/dev/null
run_on_vector_machine "$KLIC" --home "$box/u" --gnupghome "$box/mg" request --product KSE -o "$here/request-kse.kreq" >/dev/null
"$ADMIN" --state "$box/a" issue "$here/request.kreq" "$here/request-kse.kreq" -o "$box/out" --yes >/dev/null
cp "$box/out/request.kresp" "$here/response.kresp"
cp "$box/out/request-kse.kresp" "$here/response-denied.kresp"
mid=$(cat "$here/machine-id.expected")
tar xzf "$here/response.kresp" -C "$box" "KRE_${mid}.lic"
cp "$box/KRE_${mid}.lic" "$here/license.lic"

# admin -> vendor: the usage export, which the vendor's true-up accepts
rm -f "$here/usage.kusage" # klic-admin never replaces an export
"$ADMIN" --state "$box/a" usage export -o "$here/usage.kusage" >/dev/null
"$VENDOR" --state "$box/v" usage verify "$here/usage.kusage" >/dev/null
echo "vectors written to $here"
