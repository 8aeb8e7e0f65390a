#!/usr/bin/env bash
# The web console's Entitlements and Audit pages (issue 17 item 5).
# Entitlements: its numbers are
# those of `klic-admin report --json` (the same report code): per product
# granted/used/free and expiring soon, per entitlement the same, and per
# product an inline SVG of the seats in use per day whose peak is the
# report's.  The page holds no script and no style attribute (the CSP).
# Audit: the lines of `klic-admin audit verify` (and its refusal line once a
# row is edited by hand); the usage export of `klic-admin usage export`.
# Usage: pages.sh KLIC_ADMIN
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/weblib.sh"
ADMIN=$1
t_engine_admin # KLIC_TEST_ENGINE=pg: $ADMIN on PostgreSQL (../lib.sh)
A="$BOX/org"
cd "$BOX"
command -v curl >/dev/null || { echo "# curl missing (setup.sh installs it): skipped"; exit 77; }
t_org_setup "$A" "Acme" 5 KRE
t_entitle "$A" 3 KSE
# licenses written straight into the ledger, away from the 7/30-day edges
t_sql "$A" "SELECT id, product FROM entitlements" >ents.txt
python3 - "$T_LIB_DIR" ents.txt >seed.sql <<'PY'
import sys, time, hashlib
sys.path.insert(0, sys.argv[1])
from lib_sql import insert as sql
def insert(table, values):
    print(sql(table, values))
ids = {p: int(i) for i, p in (l.strip().split("|") for l in open(sys.argv[2]) if l.strip())}
print("BEGIN;")
now, d = int(time.time()), 86400
rows = [("KRE", -57, 3), ("KRE", -40, 20), ("KRE", -10, 50), ("KRE", -65, -5), ("KSE", -50, 10)]
mid, fpr = "AHK71-7GYA7-9T7JC-4WBRZ-19YG5", "A" * 40
for i, (prod, iss, exp) in enumerate(rows):
    digest = hashlib.sha256(b"req%d" % i).hexdigest()
    insert("requests", dict(digest=digest, member_fpr=fpr, machine_id=mid, product=prod, seats=1,
                            status="issued", entitlement_id=ids[prod], created=now + iss * d))
    insert("licenses", dict(license_id="%032x" % (i + 1), request_digest=digest, seat=1, machine_id=mid,
                            product=prod, issued=now + iss * d, expires=now + exp * d,
                            entitlement_id=ids[prod], member_fpr=fpr, file="%s_%s.lic" % (prod, mid)))
print("COMMIT;")
PY
t_sql "$A" "$(cat seed.sql)"
dump() { t_dump "$A"; }
before0=$(dump)
serve_start
req -c jar.txt "$URL"

# --- Entitlements ----------------------------------------------------------------
req -b jar.txt "$ORIGIN/entitlements"
"$ADMIN" --state "$A" report --json >report.json
if [ "$CODE" = 200 ] && python3 - b.txt report.json <<'PY'; then
import json, re, sys
page, rep = open(sys.argv[1]).read(), json.load(open(sys.argv[2]))
ents = rep["entitlements"]
for p in ("KRE", "KSE"):
    mine = [e for e in ents if e["product"] == p]
    live = [e for e in mine if e["valid"]]
    want = [sum(e["seats"] for e in live), sum(e["used"] for e in mine), sum(e["free"] for e in live),
            sum(e["expiring_7d"] for e in mine), sum(e["expiring_30d"] for e in mine)]
    row = re.search(r'<tr id="product-%s"><td>%s</td>((?:<td>\d+</td>){5})</tr>' % (p, p), page)
    got = [int(x) for x in re.findall(r"\d+", row.group(1))]
    assert got == want, (p, got, want)
    print("# %s: granted, used, free, expiring 7 d, 30 d = %s" % (p, got))
    peak = max([sum(x) for x in zip(*[e["daily"] for e in mine])] or [0])
    m = re.search(r'<svg id="chart-%s".*?</svg>.*?peak <span class="peak">(\d+)</span>' % p, page, re.S)
    assert m and int(m.group(1)) == peak, (p, m and m.group(1), peak)
    pts = re.search(r'<svg id="chart-%s".*?<polyline[^>]* points="([^"]*)"' % p, page, re.S).group(1).split()
    assert len(pts) == rep["daily_days"], (len(pts), rep["daily_days"])
for e in ents:
    cells = [e["seats"], e["used"], e["free"], e["expiring_7d"], e["expiring_30d"]]
    want = "<tr><td>%d</td><td>%s</td><td>%s</td><td>%s</td>" % (e["id"], e["product"], e["model"], e["billing"]) + \
        "".join("<td>%d</td>" % x for x in cells)
    assert want in page, want
assert re.findall(r"<script[^>]*>", page) == ['<script src="/static/app.js" defer>'] and " style=" not in page
PY
	pass "GET /entitlements: per product and per entitlement the numbers of 'klic-admin report --json'; each chart's peak and days are the report's; no inline script (only /static/app.js), no style attribute"
else
	fail "entitlements page: $CODE"
fi
[ "$(dump)" = "$before0" ] && pass "the Entitlements page changed nothing in the ledger" || fail "entitlements changed the state"
# --- Audit ----------------------------------------------------------------------
audit_lines() { # the lines of `klic-admin audit verify` (stdout, then stderr)
	"$ADMIN" --state "$A" audit verify >av.out 2>av.err || true
	cat av.out av.err
}
page_lines() { grep -o '<li class="[a-z]*">[^<]*</li>' b.txt | sed 's/<[^>]*>//g; s/&amp;/\&/g; s/&lt;/</g; s/&gt;/>/g; s/&quot;/"/g; s/&#39;/'"'"'/g'; }
before=$(dump)
req -b jar.txt "$ORIGIN/audit"
want=$(audit_lines)
[ "$CODE" = 200 ] && [ "$(page_lines)" = "$want" ] && [ -n "$want" ] &&
	pass "GET /audit: the lines of 'klic-admin audit verify': $(echo "$want" | tr '\n' '|')" ||
	fail "audit page: $CODE '$(page_lines)' want '$want'"
req -b jar.txt "$ORIGIN/audit/usage.kusage"
cp b.txt web.kusage
"$ADMIN" --state "$A" usage export -o cli.kusage >/dev/null
mkdir -m 700 "$BOX/gnupg-check"
"$ADMIN" --state "$A" export-key -o issuer.asc >/dev/null
gpg --homedir "$BOX/gnupg-check" --batch --quiet --import issuer.asc 2>/dev/null
if [ "$CODE" = 200 ] && [ "$(hdr Content-Disposition)" = 'attachment; filename="usage.kusage"' ] &&
	gpg --homedir "$BOX/gnupg-check" --batch --verify web.kusage 2>/dev/null &&
	python3 - web.kusage cli.kusage <<'PY'; then
import json, sys
def body(path):
    t = open(path).read()
    j = t.split("\n\n", 1)[1].rsplit("\n-----BEGIN PGP SIGNATURE-----", 1)[0]
    j = "\n".join(l[2:] if l.startswith("- ") else l for l in j.split("\n"))  # dash-escaping
    d = json.loads(j)
    d.pop("created")
    return d
assert body(sys.argv[1]) == body(sys.argv[2])
PY
	pass "GET /audit/usage.kusage: signed by the issuer (stock gpg verifies it), the body of 'klic-admin usage export' but its time"
else
	fail "usage export download: $CODE $(head -c 200 web.kusage)"
fi
[ "$(dump)" = "$before" ] && pass "the Audit page and the export changed nothing in the ledger" || fail "audit changed the state"
gpgconf --homedir "$BOX/gnupg-check" --kill all 2>/dev/null || true
# a row edited by hand: the page shows the command line's refusal line
if [ "$T_ENGINE" = pg ]; then
	t_sql "$A" "ALTER TABLE audit DISABLE TRIGGER audit_no_update; UPDATE audit SET detail = detail || 'x' WHERE seq = 1"
else
	sqlite3 "$A/ledger.sqlite" "PRAGMA trusted_schema=1; DROP TRIGGER IF EXISTS audit_no_update; UPDATE audit SET detail = detail || 'x' WHERE seq = 1" 2>/dev/null ||
		python3 -c "import sqlite3,sys; d=sqlite3.connect(sys.argv[1]); [d.execute('DROP TRIGGER %s' % n) for (n,) in d.execute(\"SELECT name FROM sqlite_master WHERE type='trigger' AND tbl_name='audit'\").fetchall()]; d.execute(\"UPDATE audit SET detail = detail || 'x' WHERE seq = 1\"); d.commit()" "$A/ledger.sqlite"
fi
req -b jar.txt "$ORIGIN/audit"
want=$(audit_lines)
[ "$CODE" = 200 ] && [ "$(page_lines)" = "$want" ] && grep -q '<p id="status" class="refused">The ledger does not verify.</p>' b.txt &&
	[ -s av.err ] && pass "audit row 1 edited: the page shows '$(cat av.err)', 'does not verify'" ||
	fail "edited audit: '$(page_lines)' want '$want'"

serve_stop TERM

t_done
