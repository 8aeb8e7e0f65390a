#!/usr/bin/env bash
# Baseline for the admin batch benchmark: what a careful admin would script
# with stock tools (tar, gpg, sqlite3) to answer klic requests, one process
# per step.  It does the same essential work per request as `klic-admin
# issue` -- unpack, verify the member's signature, check and spend a seat in
# the ledger, write and clear-sign a license, sign a response manifest, pack
# the response -- without klic's strictness.  Only used for timing.
#
# usage: shell_issue.sh GNUPGHOME ISSUER_FPR LEDGER.sqlite OUTDIR REQ.kreq...
set -euo pipefail
export GNUPGHOME=$1 fpr=$2 db=$3 out=$4
shift 4
mkdir -p "$out"
sqlite3 "$db" 'CREATE TABLE IF NOT EXISTS lic(id TEXT PRIMARY KEY, digest TEXT, machine TEXT, product TEXT, issued INT, expires INT);'
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for req in "$@"; do
	d="$work/r"; rm -rf "$d"; mkdir -p "$d/resp"
	tar xzf "$req" -C "$d"
	gpg --batch --quiet --verify "$d/manifest.sig" "$d/manifest.json" 2>/dev/null
	digest=$(sha256sum < "$d/manifest.json" | cut -c1-64)
	machine=$(grep -o '"machine_id":"[^"]*"' "$d/manifest.json" | cut -d'"' -f4)
	product=$(grep -o '"product":"[^"]*"' "$d/manifest.json" | cut -d'"' -f4)
	now=$(date +%s); exp=$((now + 60 * 86400)); id=$(head -c16 /dev/urandom | od -An -tx1 | tr -d ' \n')
	sqlite3 "$db" "BEGIN IMMEDIATE; INSERT INTO lic VALUES('$id','$digest','$machine','$product',$now,$exp); COMMIT;"
	printf '{\n  "license_id": "%s",\n  "machine_id": "%s",\n  "product": "%s",\n  "expires": %s\n}' \
		"$id" "$machine" "$product" "$exp" > "$d/body"
	gpg --batch --quiet --local-user "$fpr" --clearsign -o "$d/resp/${product}_${machine}.lic" "$d/body"
	printf '{"request_digest":"%s","status":"issued"}\n' "$digest" > "$d/resp/manifest.json"
	gpg --batch --quiet --local-user "$fpr" --detach-sign -o "$d/resp/manifest.sig" "$d/resp/manifest.json"
	tar czf "$out/$(basename "$req" .kreq).kresp" -C "$d/resp" manifest.json manifest.sig "${product}_${machine}.lic"
done
