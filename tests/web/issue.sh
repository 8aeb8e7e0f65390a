#!/usr/bin/env bash
# Create offline licenses through klic-admin serve (issue 17 item 3): a
# .kreq made by `klic request` uploaded, previewed (nothing written to the
# ledger), confirmed ("Issue N seats: this cannot be undone"), downloaded and
# installed by `klic install`; the ledger rows are those `klic-admin issue`
# writes for the same request; denials shown with their reason; a hostile
# .kreq gets the command line's refusal line and spends nothing; many
# responses come as one deterministic .tar.gz; a plan that changed between
# preview and confirmation issues nothing.
# Usage: issue.sh KLIC KLIC_ADMIN
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/weblib.sh"
KLIC=$1
ADMIN=$2
t_engine_admin # KLIC_TEST_ENGINE=pg: $ADMIN on PostgreSQL (../lib.sh)
A="$BOX/org"; A2="$BOX/org-cli"; U="$BOX/ada"; V="$BOX/bob"
cd "$BOX"
command -v curl >/dev/null || { echo "# curl missing (setup.sh installs it): skipped"; exit 77; }
t_org_setup "$A" "Acme" 5 KRE
"$ADMIN" --state "$A" export-key -o issuer.asc >/dev/null
"$KLIC" --home "$U" init --name "Ada User" --email ada@test.invalid >/dev/null
"$KLIC" --home "$U" trust issuer.asc >/dev/null
"$KLIC" --home "$V" init --name "Bob User" --email bob@test.invalid >/dev/null
MID=$("$KLIC" --home "$U" id)
mkdir -p req
"$KLIC" --home "$U" request --product KRE --seats 2 -o req/ada.kreq >/dev/null
"$KLIC" --home "$U" request --product KSE -o req/ada-kse.kreq >/dev/null
"$KLIC" --home "$U" request --product KRE --seats 3 --armor -o req/ada3.txt >/dev/null
"$KLIC" --home "$V" request --product KRE -o req/bob.kreq >/dev/null
head -c 700 /dev/urandom >req/evil.kreq
"$ADMIN" --state "$A" member add --yes --from-request req/ada.kreq >/dev/null
# the same state twice: one answers through the page, the other through
# `klic-admin issue` (same issuer key, same ledger so far)
gpgconf --homedir "$A/gnupg" --kill all 2>/dev/null || true
t_state_copy "$A" "$A2"
find "$A2" -type s -delete
dump() { # the ledger's rows, without what differs from run to run
	t_sql "$1" \
		"SELECT 'R', digest, member_fpr, machine_id, product, seats, status, reason_code, reason, entitlement_id FROM requests ORDER BY digest;
		 SELECT 'L', request_digest, seat, machine_id, product, entitlement_id, member_fpr, file, expires - issued FROM licenses ORDER BY request_digest, seat;
		 SELECT 'A', seq, event, digest FROM audit ORDER BY seq;
		 SELECT 'E', id, seats FROM entitlements ORDER BY id;"
}
# the server's private folders go under its TMPDIR
mkdir -p "$BOX/tmp"
export TMPDIR="$BOX/tmp"
tmp_before=$(ls "$TMPDIR")
serve_start
unset TMPDIR
req -c jar.txt "$URL"
req -b jar.txt "$ORIGIN/issue"
CSRF=$(grep -o 'name="csrf" value="[0-9a-f]*"' b.txt | head -n1 | cut -d'"' -f4)
[ "$CODE" = 200 ] && grep -q 'enctype="multipart/form-data"' b.txt && grep -q 'name="kreq" id="kreq" multiple' b.txt &&
	grep -q '<textarea name="armored"' b.txt && pass "GET /issue: the upload form (files, multiple; armored text)" ||
	fail "GET /issue: $CODE"
post() { req -b jar.txt -H "Origin: $ORIGIN" -F "csrf=$CSRF" "$@"; }
batch_id() { grep -o 'name="batch" value="[0-9a-f]*"' b.txt | cut -d'"' -f4; }

# --- one request: preview, confirm, download, install --------------------------
before=$(dump "$A")
post -F kreq=@req/ada.kreq "$ORIGIN/issue/preview"
if [ "$CODE" = 200 ] && grep -q '<td class="mono">ada.kreq</td><td>Ada User &lt;ada@test.invalid&gt;<br><span class="mono">[0-9A-F]\{40\}</span></td>' b.txt &&
	grep -q "<td class=\"mono\">$MID</td><td>KRE</td><td>2</td><td class=\"verdict\"><span class=\"ok\">issue 2 seats</span>" b.txt &&
	grep -q '<button type="submit" id="go">Issue 2 seats: this cannot be undone</button>' b.txt; then
	pass "preview of ada.kreq: member and fingerprint, machine $MID, KRE, 2 seats, 'Issue 2 seats: this cannot be undone'"
else
	fail "preview: $CODE $(grep -o '<tr><td class="mono">ada.kreq.*' b.txt | head -c 600)"
fi
[ "$(dump "$A")" = "$before" ] && pass "the preview wrote nothing to the ledger" || fail "the preview changed the ledger"
B1=$(batch_id)
post -F batch=0000 "$ORIGIN/issue/confirm"
[ "$CODE" = 409 ] && grep -q 'no such preview' b.txt && [ "$(dump "$A")" = "$before" ] &&
	pass "confirm with a wrong batch: 409, nothing spent" || fail "wrong batch: $CODE"
req -b jar.txt -H "Origin: $ORIGIN" -F "csrf=${CSRF//[0-9a-f]/0}" -F "batch=$B1" "$ORIGIN/issue/confirm"
[ "$CODE" = 403 ] && [ "$(dump "$A")" = "$before" ] && pass "confirm with a wrong CSRF token: 403, nothing spent" ||
	fail "confirm wrong CSRF: $CODE"
post -F "batch=$B1" "$ORIGIN/issue/confirm"
want="OK   ada.kreq -&gt; ada.kresp: issued 2 KRE seat(s) to [0-9A-F]\{40\} machine $MID"
[ "$CODE" = 200 ] && grep -q "<li class=\"mono\">$want</li>" b.txt &&
	grep -q 'id="download" href="/issue/download?batch=[0-9a-f]*">Download the response (.kresp)' b.txt &&
	pass "confirm: 'OK   ada.kreq -> ada.kresp: issued 2 KRE seat(s) ...'" || fail "confirm: $CODE $(grep -o '<ul id="results">.*' b.txt | head -c 400)"
after_page=$(dump "$A")
post -F "batch=$B1" "$ORIGIN/issue/confirm"
[ "$CODE" = 200 ] && [ "$(dump "$A")" = "$after_page" ] && pass "confirming the same batch again spends nothing more" ||
	fail "second confirm changed the ledger"
req -b jar.txt "$ORIGIN/issue/download?batch=$B1"
cp b.txt ada.kresp
[ "$CODE" = 200 ] && [ "$(hdr Content-Disposition)" = 'attachment; filename="ada.kresp"' ] &&
	pass "download: ada.kresp" || fail "download: $CODE $(hdr Content-Disposition)"
rc=0
"$KLIC" --home "$U" install ada.kresp >out.txt 2>err.txt || rc=$?
[ "$rc" -eq 0 ] && "$KLIC" --home "$U" status >st.txt 2>&1 && grep -q KRE st.txt &&
	pass "klic install of the downloaded .kresp: exit 0 ($(head -n1 out.txt))" ||
	fail "klic install: exit $rc $(cat err.txt)"

# the same request through the command line, in the copy of the state
rc=0
"$ADMIN" --state "$A2" issue req/ada.kreq -o out-cli --yes >cli.txt 2>&1 || rc=$?
if [ "$rc" -eq 0 ] && [ "$(dump "$A")" = "$(dump "$A2")" ]; then
	pass "the ledger rows (requests, licenses, audit events, seats used) = those of 'klic-admin issue' of ada.kreq"
else
	fail "ledger rows differ (issue exit $rc): $(diff <(dump "$A") <(dump "$A2") | head -20)"
fi

# --- many: denials, a hostile file, pasted armor; one .tar.gz ---------------------
before=$(dump "$A")
post -F kreq=@req/bob.kreq -F kreq=@req/ada-kse.kreq -F kreq=@req/evil.kreq -F "armored=<req/ada3.txt" "$ORIGIN/issue/preview"
(cd req && "$ADMIN" --state "$A2" issue evil.kreq -o ../evil-out --yes >/dev/null 2>../evil.err) || true
evil=$(sed 's/&/\&amp;/g; s/</\&lt;/g; s/>/\&gt;/g' evil.err)
if [ "$CODE" = 200 ] && grep -q '<td class="mono">bob.kreq</td>.*<span class="refused">denied: not-member</span>' b.txt &&
	grep -q '<td class="mono">ada-kse.kreq</td>.*<span class="refused">denied: [a-z-]*</span>' b.txt &&
	grep -qF "<span class=\"refused\">refused: $evil</span>" b.txt &&
	grep -q '<td class="mono">pasted.kreq</td>.*<span class="ok">issue 3 seats</span>' b.txt &&
	grep -q 'id="go">Issue 3 seats: this cannot be undone' b.txt; then
	pass "preview of 4: bob denied not-member, KSE denied with its reason, evil.kreq refused with the CLI's line '$(cat evil.err)', pasted armor: issue 3 seats"
else
	fail "preview of 4: $CODE $(grep -o '<tbody>.*' b.txt | head -c 900) / CLI: $(cat evil.err)"
fi
[ "$(dump "$A")" = "$before" ] && pass "that preview wrote nothing" || fail "preview of 4 changed the ledger"
post -F "batch=$(batch_id)" "$ORIGIN/issue/confirm"
B2=$(grep -o 'batch=[0-9a-f]*' b.txt | head -n1 | cut -d= -f2)
reason_kse=$(grep -o 'DENY ada-kse.kreq -&gt; ada-kse.kresp: [a-z-]*: [^<]*' b.txt || true)
if [ "$CODE" = 200 ] && grep -q '<li class="mono">DENY bob.kreq -&gt; bob.kresp: not-member: [^<]' b.txt &&
	[ -n "$reason_kse" ] && grep -qF "<li class=\"refused\">$evil</li>" b.txt &&
	grep -q "<li class=\"mono\">OK   pasted.kreq -&gt; pasted.kresp: issued 3 KRE seat(s)" b.txt &&
	grep -q 'Download the responses (.tar.gz)' b.txt; then
	pass "confirmed: denials with their reasons ($reason_kse), evil.kreq refused, pasted.kreq issued 3 seats"
else
	fail "confirm of 4: $CODE $(grep -o '<ul id="results">.*' b.txt | head -c 900)"
fi
evil_rows=$(t_sql "$A" "SELECT count(*) FROM audit WHERE detail LIKE '%evil%'")
[ "$evil_rows" = 0 ] && pass "evil.kreq left no row" || fail "evil.kreq rows: $evil_rows"
req -b jar.txt "$ORIGIN/issue/download?batch=$B2"
cp b.txt r1.tar.gz
[ "$CODE" = 200 ] && [ "$(hdr Content-Disposition)" = 'attachment; filename="responses.tar.gz"' ] &&
	[ "$(tar tzf r1.tar.gz | tr '\n' ' ')" = "ada-kse.kresp bob.kresp pasted.kresp " ] &&
	pass "download: responses.tar.gz with ada-kse.kresp bob.kresp pasted.kresp (sorted)" ||
	fail "tar.gz: $CODE $(tar tzvf r1.tar.gz 2>&1)"
req -b jar.txt "$ORIGIN/issue/download?batch=$B2"
cmp -s b.txt r1.tar.gz && [ "$(tar tzvf r1.tar.gz | awk '{print $1, $2}' | sort -u)" = "-rw-r--r-- 0/0" ] &&
	pass "downloaded twice: the same bytes (mode 0644, owner 0/0, time 0, no gzip time)" || fail "tar.gz not deterministic"
mkdir -p x && tar xzf r1.tar.gz -C x
rc=0
"$KLIC" --home "$U" install x/pasted.kresp >/dev/null 2>err.txt || rc=$?
[ "$rc" -eq 0 ] && pass "klic install of pasted.kresp from the archive: exit 0" || fail "install pasted: $rc $(cat err.txt)"

# --- the plan changes between preview and confirmation: nothing issued ----------
# the 5 seats are spent (2 + 3): late.kreq is denied at the preview; a new
# entitlement imported meanwhile would make it issued: the confirmation
# refuses, since that is not what the admin saw
"$KLIC" --home "$U" request --product KRE --seats 1 -o req/late.kreq >/dev/null
post -F kreq=@req/late.kreq "$ORIGIN/issue/preview"
grep -q '<span class="refused">denied: [a-z-]*</span>' b.txt && grep -q 'id="go">Answer 1 request (no seat is spent)' b.txt &&
	pass "preview of late.kreq with no free seat: denied, 'Answer 1 request (no seat is spent)'" ||
	fail "late preview: $(grep -o '<td class="verdict">.*' b.txt | head -c 300)"
B3=$(batch_id)
t_entitle "$A" 1 KRE
before=$(dump "$A")
post -F "batch=$B3" "$ORIGIN/issue/confirm"
[ "$CODE" = 409 ] && grep -q 'id="error">klic-admin: issue: [^<]*the plan changed since the preview; nothing was issued: preview again<' b.txt &&
	[ "$(dump "$A")" = "$before" ] &&
	pass "a seat imported between preview and confirmation: 409 'the plan changed since the preview; nothing was issued: preview again', ledger unchanged" ||
	fail "changed plan: $CODE $(grep -o 'id="error">[^<]*' b.txt)"
post -F kreq=@req/late.kreq "$ORIGIN/issue/preview"
post -F "batch=$(batch_id)" "$ORIGIN/issue/confirm"
grep -q '<li class="mono">OK   late.kreq -&gt; late.kresp: issued 1 KRE seat(s)' b.txt &&
	pass "previewed again: late.kreq issued 1 seat" || fail "late again: $(grep -o '<ul id="results">.*' b.txt | head -c 300)"

# the licenses issued through the page name the issuer key that signed
# them (schema 10), in the CSV download as in list --json
req -b jar.txt "$ORIGIN/licenses.csv"
if [ "$CODE" = 200 ] && python3 - b.txt "$T_ISSUER" <("$ADMIN" --state "$A" list --json) <<'PY'; then
import csv, json, sys
rows = list(csv.DictReader(open(sys.argv[1], newline="")))
want = json.load(open(sys.argv[3]))
assert len(rows) == len(want) == 6, (len(rows), len(want))
assert all(r["issuer_fpr"] == sys.argv[2] for r in rows), [r["issuer_fpr"] for r in rows]
assert all(w["issuer_fpr"] == sys.argv[2] for w in want)
PY
	pass "licenses.csv and list --json: each of the 6 licenses issued through the page names issuer $T_ISSUER"
else
	fail "issuer_fpr in licenses.csv: $CODE $(head -c 300 b.txt)"
fi

during=$(ls "$BOX/tmp")

# --- refused uploads -------------------------------------------------------------
post "$ORIGIN/issue/preview"
[ "$CODE" = 400 ] && grep -q 'id="error">no request: choose .kreq files or paste an armored request<' b.txt &&
	pass "preview of nothing: 400 'no request: ...'" || fail "empty preview: $CODE"
post -F kreq=@req/bob.kreq -F "kreq=@req/bob.kreq" "$ORIGIN/issue/preview"
[ "$CODE" = 400 ] && grep -q 'id="error">two requests named bob.kreq: rename one<' b.txt &&
	pass "two files of one name: 400 'two requests named bob.kreq: rename one'" || fail "duplicate: $CODE"
req -b jar.txt -F "csrf=$CSRF" -F kreq=@req/ada.kreq "$ORIGIN/issue/preview"
[ "$CODE" = 403 ] && pass "preview without Origin: 403" || fail "preview without Origin: $CODE"
serve_stop TERM
[ "$SRV_RC" -eq 0 ] && [ -z "$tmp_before" ] && [[ $during == klic-serve-* ]] && [ -z "$(ls "$BOX/tmp")" ] &&
	pass "SIGTERM: exit 0; the private upload folder ($during under TMPDIR, kept while serving) is removed" ||
	fail "stop: exit $SRV_RC; TMPDIR before '$tmp_before', during '$during', after '$(ls "$BOX/tmp")'"
t_done
