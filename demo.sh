#!/usr/bin/env bash
# Set up, build, and run the klic round trip in a throwaway sandbox, vendor
# -> admin -> user: the vendor signs what the organization bought, the
# admin issues from it, the user installs and checks the whole chain.  Each
# role gets its own home and keyring; nothing outside the sandbox is touched.  The sandbox is removed at the end (KEEP=1 keeps it).
set -euo pipefail
cd "$(dirname "$0")"
./setup.sh
# Everything 'cmake --install' installs (the tools, the gpg worker program,
# libklic, klic.h, klic.pc, the man pages), without the tests: afterwards
# 'sudo cmake --install build/demo' installs klic (see README).
cmake -S . -B build/demo -DKLIC_WERROR=ON -DKLIC_TESTS=OFF >/dev/null
cmake --build build/demo -j"$(nproc)" >/dev/null

bin="$PWD/build/demo"; klic="$bin/request/klic"; klic_admin="$bin/response/klic-admin"
klic_vendor="$bin/response/vendor/klic-vendor"
box=$(mktemp -d /tmp/klic-demo-XXXXXX)
cleanup() {
  for g in "$box"/vendor/gnupg "$box"/admin/gnupg "$box"/user/klic/gnupg; do
    [ -d "$g" ] && gpgconf --homedir "$g" --kill all 2>/dev/null || true
  done
  if [ "${KEEP:-0}" = 1 ]; then echo "sandbox kept: $box"; else rm -rf "$box"; fi
}
trap cleanup EXIT

vendor() { echo "+ klic-vendor $*" >&2; "$klic_vendor" --state "$box/vendor" "$@"; }
admin() { echo "+ klic-admin $*" >&2; "$klic_admin" --state "$box/admin" "$@"; }
user()  { echo "+ klic $*" >&2; "$klic" --home "$box/user" "$@"; }
step()  { printf '\n== %s\n' "$*"; }

cd "$box"
# Example Org is its own vendor here: it runs klic-vendor itself (a customer
# gets vendor.asc and its .kent files from the vendor instead).
step "vendor: create the vendor signing key and publish its public key"
vendor init --name "Example Vendor" --email licensing@example.com
vendor export-key -o vendor.asc

step "admin: create the ledger and the issuing key, pinning the vendor"
admin init --org "Example Org" --name "License Admin" --email admin@example.org --vendor vendor.asc
admin export-key -o issuer.asc

step "vendor: sign the organization's purchase, 5 node-locked yearly KRE seats, naming its issuer key"
vendor entitle --org "Example Org" --org-key issuer.asc --product KRE --model node-locked \
  --billing yearly --seats 5 --until "$(date -u -d '+300 days' +%F)" --ref "PO-1234" -o example.kent

step "admin: import the vendor-signed entitlement (checked against the pinned vendor key)"
admin entitlement import example.kent
admin entitlement list

step "user (air-gapped): machine ID, own key, pin the issuer, request 2 KRE seats"
user id
user init --name "Ada User" --email ada@example.org
user trust issuer.asc
user request --product KRE --seats 2 -o ada.kreq
ls -l ada.kreq

step "admin: accept the user's key from the request, issue (irreversible)"
admin member add --yes --from-request ada.kreq
admin issue ada.kreq -o outbox --yes
admin list

step "user: verify and install the response"
user install --vendor vendor.asc outbox/ada.kresp
ls -l "$box/user/license"
user status --vendor vendor.asc
# the whole chain: the license's issuer signature, the vendor's signature on
# the entitlement it carries, and the entitlement's terms
for f in "$box"/user/license/*.lic; do user verify --vendor vendor.asc "$f"; done

step "the same response again changes nothing; a tampered one is refused"
user install --vendor vendor.asc outbox/ada.kresp
# flip one bit of the compressed file where it changes what the bundle holds
for off in 200 201 202 203 204 205 206 207; do
	cp outbox/ada.kresp evil.kresp
	b=$(od -An -tu1 -j$off -N1 evil.kresp | tr -d ' ')
	printf "$(printf '\\%03o' $((b ^ 1)))" | dd of=evil.kresp bs=1 seek=$off conv=notrunc status=none
	x=$(gzip -dc <outbox/ada.kresp | sha256sum); y=$(gzip -dc <evil.kresp 2>/dev/null | sha256sum || true)
	[ "$x" != "$y" ] && break
done
if user install evil.kresp; then echo "tampered response accepted!" >&2; exit 1; fi
echo "demo: round trip complete"
