#!/usr/bin/env bash
# The baseline of issue 6: what a careful admin would script with stock
# tools (tar, gpg, sqlite3) to answer klic requests, one request after the
# other, one process per step.  Only used for timing (bench.sh); never a
# substitute for klic-admin.
#
# Per request it does the essential work klic-admin does:
#   1. tar xzf the request (manifest.json, manifest.sig);
#   2. gpg --verify the member's detached signature in the members' keyring
#      (LEDGER's folder/members, public keys only, when it exists), keep the
#      signer's primary fingerprint (VALIDSIG), digest = sha256sum of
#      manifest.json;
#   3. one sqlite3 process on the real ledger: BEGIN IMMEDIATE; read the
#      manifest (readfile + json_extract); the signer must be a registered
#      member; pick a node-locked yearly entitlement valid today with enough
#      free seats (count of licenses not yet expired), the one valid longest;
#      insert the requests row and one licenses row per seat (random
#      license_id, expires = issued + 60 days capped at the entitlement's
#      end); COMMIT; write the response manifest (json_object), carrying
#      the entitlement's .kent text and the issuer key (base64, exported
#      once) like a version 2 response;
#   4. ONE signature per response, like klic's response format: gpg
#      --clearsign of the manifest is the license file; its signature block
#      is manifest.sig (a denial: manifest and signature only);
#   5. tar czf the response (manifest.json, manifest.sig, one file per seat).
# What it does not do (so the baseline is, if anything, too fast): strict
# archive and JSON checks, the embedded-key checks, a second verification
# with the embedded key for non-members, storing the response in the ledger
# for re-issue, the audit log, fsync of the response file, per-machine file
# name allocation (seat k is named PRODUCT_MACHINE_k.lic), and manifests are
# compact JSON.  A request processed twice fails (primary key) instead of
# being answered again.
#
# usage: shell_issue.sh GNUPGHOME LEDGER.sqlite OUTDIR REQ.kreq...
# Writes OUTDIR/NAME.kresp for each REQ NAME.kreq; exits non-zero on the
# first failure.
set -euo pipefail
if [ $# -lt 4 ]; then
	echo "usage: shell_issue.sh GNUPGHOME LEDGER.sqlite OUTDIR REQ.kreq..." >&2
	exit 2
fi
export GNUPGHOME=$1
db=$2
out=$3
shift 3
mkdir -p "$out"
work=$(mktemp -d /tmp/klic-shell-XXXXXX)
trap 'rm -rf "$work"' EXIT

# The ledger may carry columns this script does not know (a newer schema):
# fill licenses.file when it exists, refuse other NOT NULL columns without
# a default rather than guess.
lic_cols=$(sqlite3 "$db" "SELECT group_concat(name || ':' || \"notnull\" || ':' || (dflt_value IS NOT NULL), ' ') FROM pragma_table_info('licenses')")
file_col="" file_val=""
for c in $lic_cols; do
	case "${c%%:*}" in
	license_id | request_digest | seat | machine_id | product | issued | expires | entitlement_id | member_fpr) ;;
	file) file_col=", file" file_val=", q.product || '_' || q.machine || CASE WHEN k > 1 THEN '_' || k ELSE '' END || '.lic'" ;;
	*) if [ "${c#*:}" = "1:0" ]; then
		echo "shell_issue.sh: licenses.${c%%:*} is NOT NULL and unknown here" >&2
		exit 1
	fi ;;
	esac
done

issuer=$(sqlite3 "$db" "SELECT value FROM meta WHERE key = 'issuer_fpr'")
if [ -z "$issuer" ]; then
	echo "shell_issue.sh: $db: no issuer_fpr in meta" >&2
	exit 1
fi
members=$GNUPGHOME
[ -d "$(dirname "$db")/members" ] && members="$(dirname "$db")/members"
issuer_key=$(gpg --batch --export-options export-minimal --export "$issuer" | base64 -w0)
i=0
for req in "$@"; do
	i=$((i + 1))
	name=$(basename "$req" .kreq)
	d="$work/$i"
	mkdir -p "$d/in" "$d/out"
	tar xzf "$req" -C "$d/in" manifest.json manifest.sig
	signer=$(gpg --homedir "$members" --batch --no-tty --status-fd 1 --verify "$d/in/manifest.sig" "$d/in/manifest.json" 2>/dev/null |
		awk '$2 == "VALIDSIG" { print $NF }')
	if [ -z "$signer" ]; then
		echo "shell_issue.sh: $req: bad signature" >&2
		exit 1
	fi
	digest=$(sha256sum <"$d/in/manifest.json")
	digest=${digest%% *}
	# One transaction decides and spends; then the manifest is written to
	# $d/out/manifest.json and "status product machine seats" to stdout.
	read -r status product machine seats < <(sqlite3 -batch "$db" <<-SQL
		.bail on
		.timeout 10000
		PRAGMA foreign_keys = ON;
		BEGIN IMMEDIATE;
		CREATE TEMP TABLE q AS SELECT
		  json_extract(m, '\$.machine_id') AS machine, json_extract(m, '\$.product') AS product,
		  json_extract(m, '\$.seats') AS seats, '$digest' AS digest, '$signer' AS signer,
		  strftime('%Y-%m-%dT%H:%M:%SZ', 'now') AS created,
		  CAST(strftime('%s', 'now') AS INTEGER) AS now,
		  EXISTS (SELECT 1 FROM members WHERE fingerprint = '$signer') AS member
		FROM (SELECT CAST(readfile('$d/in/manifest.json') AS TEXT) AS m);
		CREATE TEMP TABLE e AS SELECT en.id AS id, en.valid_until AS ends
		FROM entitlements en, q
		WHERE q.member AND en.product = q.product AND en.model = 'node-locked'
		  AND en.billing = 'yearly' AND en.kent IS NOT NULL
		  AND en.valid_from <= q.now AND en.valid_until > q.now
		  AND en.seats - (SELECT count(*) FROM licenses l
		                  WHERE l.entitlement_id = en.id AND l.expires > q.now) >= q.seats
		ORDER BY en.valid_until DESC LIMIT 1;
		INSERT INTO requests (digest, member_fpr, machine_id, product, seats, status,
		                      reason_code, reason, entitlement_id, created)
		SELECT digest, signer, machine, product, seats,
		  CASE WHEN e.id IS NULL THEN 'denied' ELSE 'issued' END,
		  CASE WHEN e.id IS NOT NULL THEN NULL WHEN NOT member THEN 'not-member' ELSE 'no-seats' END,
		  CASE WHEN e.id IS NOT NULL THEN NULL ELSE 'not eligible' END, e.id, created
		FROM q LEFT JOIN e;
		WITH RECURSIVE s(k) AS (SELECT 1 UNION ALL SELECT k + 1 FROM s, q WHERE k < q.seats)
		INSERT INTO licenses (license_id, request_digest, seat, machine_id, product, issued,
		                      expires, entitlement_id, member_fpr $file_col)
		SELECT lower(hex(randomblob(16))), q.digest, k, q.machine, q.product, q.now,
		  min(q.now + 60 * 86400, e.ends), e.id, q.signer $file_val
		FROM s, q, e;
		COMMIT;
		.output $d/out/manifest.json
		SELECT json_patch(json_object('created', r.created, 'issuer_fpr',
		  (SELECT value FROM meta WHERE key = 'issuer_fpr'), 'issuer_org',
		  (SELECT value FROM meta WHERE key = 'org'), 'licenses',
		  (SELECT json_group_array(json_object('file', product || '_' || machine_id ||
		     CASE WHEN seat > 1 THEN '_' || seat ELSE '' END || '.lic', 'license_id',
		     license_id, 'seat', seat)) FROM licenses WHERE request_digest = r.digest),
		  'machine_id', r.machine_id, 'member_fpr', r.member_fpr, 'product', r.product,
		  'request_digest', r.digest, 'seats', r.seats, 'status', r.status,
		  'type', 'klic-response', 'version', 2),
		  CASE WHEN r.status = 'issued' THEN json_object('expires',
		    (SELECT strftime('%Y-%m-%dT%H:%M:%SZ', max(expires), 'unixepoch') FROM licenses
		     WHERE request_digest = r.digest),
		    'entitlement', (SELECT kent FROM entitlements WHERE id = r.entitlement_id),
		    'entitlement_id', (SELECT kent_id FROM entitlements WHERE id = r.entitlement_id),
		    'issuer_key', '$issuer_key')
		  ELSE json_object('reason', r.reason, 'reason_code', r.reason_code) END)
		FROM requests r WHERE r.digest = '$digest';
		.output stdout
		SELECT status || ' ' || product || ' ' || machine_id || ' ' || seats FROM requests WHERE digest = '$digest';
	SQL
	)
	if [ -z "${seats:-}" ]; then
		echo "shell_issue.sh: $req: ledger step failed" >&2
		exit 1
	fi
	# no trailing newline: the clear-signed text is then exactly the file,
	# and manifest.sig verifies over manifest.json on its own
	m=$(<"$d/out/manifest.json")
	printf '%s' "$m" >"$d/out/manifest.json"
	gpg --batch --no-tty --yes --local-user "$issuer" --clearsign \
		-o "$d/lic" "$d/out/manifest.json" 2>/dev/null
	sed -n '/^-----BEGIN PGP SIGNATURE-----$/,$p' "$d/lic" >"$d/out/manifest.sig"
	files=(manifest.json manifest.sig)
	if [ "$status" = issued ]; then
		lic=$(<"$d/lic")
		for ((k = 1; k <= seats; k++)); do
			f="${product}_${machine}.lic"
			[ "$k" -gt 1 ] && f="${product}_${machine}_$k.lic"
			printf '%s\n' "$lic" >"$d/out/$f"
			files+=("$f")
		done
	fi
	tar czf "$out/$name.kresp" -C "$d/out" "${files[@]}"
done
