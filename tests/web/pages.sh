#!/usr/bin/env bash
# The web console's Entitlements page (issue 17 item 5): its numbers are
# those of `klic-admin report --json` (the same report code): per product
# granted/used/free and expiring soon, per entitlement the same, and per
# product an inline SVG of the seats in use per day whose peak is the
# report's.  The page holds no script and no style attribute (the CSP).
# Usage: pages.sh KLIC_ADMIN
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/weblib.sh"
ADMIN=$1
A="$BOX/org"
cd "$BOX"
command -v curl >/dev/null || { echo "# curl missing (setup.sh installs it): skipped"; exit 77; }
t_org_setup "$A" "Acme" 5 KRE
t_entitle "$A" 3 KSE
# licenses written straight into the ledger, away from the 7/30-day edges
python3 - "$A/ledger.sqlite" <<'PY'
import sqlite3, sys, time, hashlib
db = sqlite3.connect(sys.argv[1])
def cols(table):
    return [(r[1], r[2].upper(), r[3], r[4]) for r in db.execute("PRAGMA table_info(%s)" % table)]
def insert(table, values):
    for name, typ, notnull, default in cols(table):
        if name not in values and notnull and default is None:
            values[name] = 0 if "INT" in typ else "x"
    keys = sorted(values)
    db.execute("INSERT INTO %s(%s) VALUES (%s)" % (table, ",".join(keys), ",".join("?" * len(keys))),
               [values[k] for k in keys])
ids = {p: i for i, p in db.execute("SELECT id, product FROM entitlements")}
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
db.commit()
PY
before=$(tree_sum "$A")
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
assert "<script" not in page and " style=" not in page
PY
	pass "GET /entitlements: per product and per entitlement the numbers of 'klic-admin report --json'; each chart's peak and days are the report's; no script, no style attribute"
else
	fail "entitlements page: $CODE"
fi
serve_stop TERM
after=$(tree_sum "$A")
[ "$before" = "$after" ] && pass "the admin state is unchanged" || fail "the state changed"
t_done
