#!/usr/bin/env bash
# Regenerate the protocol test vectors in this folder with the real tools.
#   usage: spec/vectors/generate.sh BUILD_DIR      (needs root for unshare -m)
# TEST-ONLY KEYS: issuer.sec.asc and member.sec.asc are published secret keys.
# Never pin or trust them anywhere but in tests.
# The keys are created once and reused; bundles and licenses are made anew
# (signatures and times differ on every run; tests compare verdicts/payloads).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "$1" && pwd)
KLIC=$build/request/klic
ADMIN=$build/response/klic-admin
box=$(mktemp -d /tmp/klic-vec-XXXXXX)
trap 'for g in "$box"/*/; do gpgconf --homedir "$g" --kill all 2>/dev/null || true; done; rm -rf "$box"' EXIT

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

printf '0123456789abcdef0123456789abcdef\n' > "$here/machine-id"
run_on_vector_machine() {
	unshare -m --propagation private bash -c 'mount --bind "$0" /etc/machine-id && exec "$@"' "$here/machine-id" "$@"
}
run_on_vector_machine "$KLIC" --home "$box/u" id > "$here/machine-id.expected"

"$ADMIN" --state "$box/a" --gnupghome "$box/ig" init --org "klic test vectors" \
	--name "TEST-ONLY issuer" --email issuer@vectors.invalid --key "$ifpr" >/dev/null
"$ADMIN" --state "$box/a" entitlement add --product KRE --model node-locked --billing yearly \
	--seats 10 --until 2099-12-31 --ref vectors >/dev/null
"$ADMIN" --state "$box/a" member add "$here/member.pub.asc" >/dev/null
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
echo "vectors written to $here"
