#!/usr/bin/env bash
# The Offline licenses page of klic-admin serve (issue 17 item 2): the
# seeds' columns, 50 rows a page, the filters (product, state, machine,
# member, checked like `klic-admin list` checks them), and the CSV and JSON
# downloads, which hold exactly the rows `klic-admin list --json` gives for
# the same filters.  The ledger is not changed.
# Usage: licenses.sh KLIC_ADMIN
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/weblib.sh"
ADMIN=$1
t_engine_admin # KLIC_TEST_ENGINE=pg: $ADMIN on PostgreSQL (../lib.sh)
A="$BOX/org"
cd "$BOX"
command -v curl >/dev/null || { echo "# curl missing (setup.sh installs it): skipped"; exit 77; }
t_org_setup "$A" "Acme" 3

# 123 licenses written straight into the ledger: 2 products, 3 machines,
# 2 members, active and expired, some ended early (the list reads them;
# nothing signs them).  Pages 1 and 2 are read from the list's start, page 3
# from its end (response/ledger_report.c): both must give the list's rows.
python3 - "$T_LIB_DIR" >seed.sql <<'PY'
import sys, time, hashlib
sys.path.insert(0, sys.argv[1])
from lib_sql import insert as sql
def insert(table, values):
    print(sql(table, values))
print("BEGIN;")
mids = ["93AX8-BB8QX-4G7T6-2GC39-RHAVX", "AHK71-7GYA7-9T7JC-4WBRZ-19YG5", "5GT6E-QFX7P-P11KD-Z8B7B-07J90"]
fprs = ["A" * 40, "0123456789ABCDEF0123456789ABCDEF01234567"]
now = int(time.time())
for i in range(123):
    prod = "KSE" if i % 4 == 0 else "KRE"
    mid, fpr = mids[i % 3], fprs[i % 2]
    issued = now - 86400 * (100 - i % 100)
    expires = issued + 60 * 86400
    digest = hashlib.sha256(b"req%d" % i).hexdigest()
    insert("requests", dict(digest=digest, member_fpr=fpr, machine_id=mid, product=prod, seats=1,
                            status="issued", entitlement_id=1, created=issued))
    insert("licenses", dict(license_id="%032x" % (i + 1), request_digest=digest, seat=1, machine_id=mid,
                            product=prod, issued=issued, expires=expires, entitlement_id=1,
                            member_fpr=fpr, file="%s_%s.lic" % (prod, mid)))
    # some ended early (spec/ledger-7.sql): a day after issue (in the past),
    # or 30 days after (for the recent ones: still ahead)
    if i % 5 in (1, 3):
        insert("license_ends", dict(license_id="%032x" % (i + 1),
                                    ended=issued + 86400 * (1 if i % 5 == 1 else 30),
                                    reason="renewed", by_digest=digest))
print("COMMIT;")
PY
t_sql "$A" "$(cat seed.sql)"
before=$(tree_sum "$A")
serve_start
req -c jar.txt "$URL"
[ "$CODE" = 303 ] || fail "login: $CODE"

# rows: the license IDs in the page's table body
page_ids() { grep -oE '<tr><td class="mono">[0-9a-f]{32}</td>' b.txt | grep -oE '[0-9a-f]{32}'; }
# list_ids ARGS...: the license IDs klic-admin list --json gives, in order
list_ids() { "$ADMIN" --state "$A" list --json "$@" | python3 -c 'import json,sys; [print(r["license_id"]) for r in json.load(sys.stdin)]'; }

req -b jar.txt "$ORIGIN/licenses"
if [ "$CODE" = 200 ] && grep -q '<th>License ID</th><th>Product</th><th>Machine</th><th>Member</th><th>Seat</th><th>Issued</th><th>Expires</th><th>State</th>' b.txt &&
	grep -q '<span id="count">123 licenses</span>, page 1 of 3' b.txt &&
	[ "$(page_ids)" = "$(list_ids | head -n 50)" ]; then
	pass "GET /licenses: the seeds' columns, 123 licenses, page 1 of 3 = the first 50 rows of 'klic-admin list'"
else
	fail "GET /licenses: $CODE, $(grep -o '<span id="count">[^<]*</span>[^<]*' b.txt)"
fi
grep -q 'rel="next" href="/licenses?page=2"' b.txt && ! grep -q 'rel="prev"' b.txt &&
	pass "page 1 links to page 2, not back" || fail "page 1 links"
req -b jar.txt "$ORIGIN/licenses?page=3"
[ "$CODE" = 200 ] && [ "$(page_ids)" = "$(list_ids | tail -n 23)" ] &&
	grep -q 'rel="prev" href="/licenses?page=2"' b.txt && ! grep -q 'rel="next"' b.txt &&
	pass "page 3: the last 23 rows, a link back to page 2" || fail "page 3: $CODE $(page_ids | wc -l) rows"

# --- filters: the same rows as klic-admin list with the same options -------------
check_filter() { # NAME QUERY LIST_OPTIONS...
	local name=$1 query=$2
	shift 2
	local want n
	want=$(list_ids "$@")
	n=$(printf '%s\n' "$want" | grep -c . || true)
	req -b jar.txt "$ORIGIN/licenses?$query"
	local got
	got=$(page_ids)
	if [ "$CODE" = 200 ] && [ "$got" = "$(printf '%s\n' "$want" | head -n 50)" ] &&
		grep -q "<span id=\"count\">$n license" b.txt && [ "$n" -gt 0 ]; then
		pass "$name: $n rows, as 'klic-admin list $*'"
	else
		fail "$name: $CODE, $(printf '%s\n' "$got" | grep -c .) rows on the page, want $n"
	fi
	# the downloads: every row, in the list's order
	req -b jar.txt "$ORIGIN/licenses.json?$query"
	if [ "$CODE" = 200 ] && [[ $(hdr Content-Type) == application/json* ]] &&
		[ "$(hdr Content-Disposition)" = 'attachment; filename="licenses.json"' ] &&
		python3 - b.txt <("$ADMIN" --state "$A" list --json "$@") <<'PY'; then
import json, sys
a, b = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
assert a == b, (len(a), len(b))
PY
		pass "$name: licenses.json = 'klic-admin list --json $*' (every key, every row)"
	else
		fail "$name: licenses.json: $CODE $(head -c 200 b.txt)"
	fi
	req -b jar.txt "$ORIGIN/licenses.csv?$query"
	if [ "$CODE" = 200 ] && [[ $(hdr Content-Type) == text/csv* ]] &&
		python3 - b.txt <("$ADMIN" --state "$A" list --json "$@") <<'PY'; then
import csv, json, sys
rows = list(csv.DictReader(open(sys.argv[1], newline="")))
want = json.load(open(sys.argv[2]))
keys = ["license_id", "product", "machine_id", "member_fpr", "seat", "issued", "expires", "state",
        "issuer_fpr"]
assert list(rows[0].keys()) == keys, rows[0].keys()
# (an issuer the ledger did not record: null in JSON, empty in CSV)
assert [[r[k] for k in keys] for r in rows] == [["" if w[k] is None else str(w[k]) for k in keys]
                                                for w in want]
PY
		pass "$name: licenses.csv has the same rows (license ID .. state)"
	else
		fail "$name: licenses.csv: $CODE $(head -c 200 b.txt)"
	fi
}
check_filter "no filter" "" 
check_filter "product KSE" "product=KSE" --product KSE
check_filter "state expired" "state=expired" --expired
check_filter "state active, product kre (any case)" "state=active&product=kre" --active --product KRE
check_filter "machine as typed (lower case, no dashes)" "machine=ahk717gya79t7jc4wbrz19yg5" --machine AHK71-7GYA7-9T7JC-4WBRZ-19YG5
check_filter "member in groups, lower case" "member=0123+4567+89ab+cdef+0123++4567+89ab+cdef+0123+4567" --member 0123456789ABCDEF0123456789ABCDEF01234567
check_filter "member and machine and state" "member=$(printf 'A%.0s' {1..40})&machine=93AX8-BB8QX-4G7T6-2GC39-RHAVX&state=expired" \
	--member "$(printf 'A%.0s' {1..40})" --machine 93AX8-BB8QX-4G7T6-2GC39-RHAVX --expired
req -b jar.txt "$ORIGIN/licenses?product=KSE&machine=5GT6E-QFX7P-P11KD-Z8B7B-07J90&member=$(printf 'A%.0s' {1..40})&state=active"
grep -q 'option value="KSE" selected' b.txt && grep -q 'option value="active" selected' b.txt &&
	grep -q 'name="machine" size="32" value="5GT6E-QFX7P-P11KD-Z8B7B-07J90"' b.txt &&
	pass "the filter form shows the filters in use" || fail "filter form"
req -b jar.txt "$ORIGIN/licenses?product=KSE&page=1"
n=$(grep -o '<span id="count">[0-9]*' b.txt | grep -o '[0-9]*$')
[ "$n" -le 50 ] && ! grep -q 'rel="next"' b.txt && pass "product KSE: $n rows fit one page, no next link" ||
	fail "KSE pages"
req -b jar.txt "$ORIGIN/licenses?product=KRE&state=expired&page=2"
grep -q 'rel="prev" href="/licenses?product=KRE&amp;state=expired"' b.txt &&
	pass "page links keep the filters" || fail "page links: $(grep -o 'rel="prev"[^>]*' b.txt)"

# --- refused filters: the page says why, 400 -----------------------------------
bad_filter() { # QUERY WHY
	req -b jar.txt "$ORIGIN/licenses?$1"
	if [ "$CODE" = 400 ] && grep -q "<p class=\"refused\" id=\"error\">$2</p>" b.txt && [ -z "$(page_ids)" ]; then
		pass "licenses?$1: 400, '$2'"
	else
		fail "licenses?$1: $CODE $(grep -o 'id="error">[^<]*' b.txt)"
	fi
}
bad_filter "product=XYZ" "product must be KRE or KSE"
bad_filter "state=soon" "state must be active or expired"
bad_filter "machine=93AX8-BB8QX-4G7T6-2GC39-RHAVW" "machine is not a valid machine ID"
bad_filter "member=ABC" "member must be a fingerprint (40 hex digits)"
bad_filter "page=0" "page: not a page number"
bad_filter "member=%3Cscript%3E" "member must be a fingerprint (40 hex digits)"
grep -q 'value="&lt;script&gt;"' b.txt && ! grep -q '<script>' b.txt &&
	pass "a refused value is shown escaped" || fail "escaping of a refused value"
req -b jar.txt "$ORIGIN/licenses.json?product=XYZ"
[ "$CODE" = 400 ] && [ "$(cat b.txt)" = "400 product must be KRE or KSE" ] &&
	pass "licenses.json?product=XYZ: 400 product must be KRE or KSE" || fail "json bad filter: $CODE"
req "$ORIGIN/licenses.csv"
[ "$CODE" = 403 ] && pass "licenses.csv without the session: 403" || fail "csv without session: $CODE"

serve_stop TERM
after=$(tree_sum "$A")
[ "$before" = "$after" ] && pass "the ledger is unchanged" || fail "the state changed"
t_done
