#!/usr/bin/env bash
# klic-admin report: numbers checked against a known ledger state (licenses
# written straight into the ledger with fixed times, the report run at a
# fixed time with faketime), the JSON (valid, exact keys, agrees with
# entitlement list --json), the HTML page (well-formed, escaped, no script,
# no network reference) and the usage errors.
# Usage: report.sh KLIC_ADMIN
. "$(dirname "$0")/../lib.sh"
# faketime preloads itself before the sanitizer runtime; let ASan builds
# run under it (no effect on normal builds).
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0"
ADMIN=$1
t_engine_admin # KLIC_TEST_ENGINE=pg: $ADMIN on PostgreSQL (../lib.sh)
A="$BOX/admin"
admin() { "$ADMIN" --state "$A" "$@"; }
cd "$BOX"
command -v faketime >/dev/null || { echo "# faketime missing: skipped"; exit 77; }
NOW='2026-03-01 12:00:00'
at_now() { faketime -f "@$NOW" "$@"; }

# --- an empty ledger ------------------------------------------------------------
# the vendor and the admin made their keys before everything they sign
PAST='2025-06-01 00:00:00'
T_RUN=(faketime -f "@$PAST")
t_vendor
faketime -f "@$PAST" "$ADMIN" --state "$A" init --org 'A&B <Labs> "Q"' --name Admin \
	--email admin@test.invalid --vendor "$BOX/vendor.asc" >/dev/null
if admin report >out.txt && grep -q '^ID ' out.txt && [ "$(wc -l <out.txt)" -eq 2 ]; then
	pass "empty ledger: a table with no rows"
else
	fail "empty report: $(cat out.txt)"
fi
admin report --json >empty.json
if python3 - empty.json <<'EOF'; then
import json, sys
d = json.load(open(sys.argv[1]))
assert d["entitlements"] == [] and d["daily_start"] is None and d["daily_days"] == 0, d
EOF
	pass "empty ledger: JSON with no entitlements, no series"
else
	fail "empty ledger JSON: $(cat empty.json)"
fi
admin report --html empty.html >/dev/null && grep -q "No entitlements recorded" empty.html &&
	pass "empty ledger: HTML says so" || fail "empty HTML"

# --- a known state -----------------------------------------------------------------
# vendor entitlements, signed and imported on 2026-01-15 (the 4th has ended by now)
T_RUN=(faketime -f "@2026-01-15 00:00:00")
t_entitle "$A" 10 KRE node-locked yearly --from 2025-11-01 --until 2026-12-31 \
	--ref "PO <b>&\"x'</b>"                                                     # 1
t_entitle "$A" 2 KSE node-locked yearly --from 2025-11-01 --until 2026-06-30    # 2
t_entitle "$A" 5 KRE floating yearly --from 2025-11-01 --until 2027-01-01       # 3
t_entitle "$A" 3 KRE node-locked yearly --from 2025-11-01 --until 2026-01-31    # 4 (ended)
T_RUN=()

# licenses: entitlement, product, issued, expires (UTC), written as SQL
# both engines take (t_sql, ../lib.sh)
python3 - "$T_LIB_DIR" >licenses.sql <<'EOF'
import calendar, time, hashlib, sys
sys.path.insert(0, sys.argv[1])
from lib_sql import insert
def t(s): return calendar.timegm(time.strptime(s, "%Y-%m-%dT%H:%M:%SZ"))
rows = [
    (1, "KRE", "2026-01-10T00:00:00Z", "2026-03-11T00:00:00Z"),  # active, 9.5 d left
    (1, "KRE", "2026-01-05T10:00:00Z", "2026-03-06T10:00:00Z"),  # active, 4.9 d left
    (1, "KRE", "2025-12-01T00:00:00Z", "2026-01-30T00:00:00Z"),  # expired
    (1, "KRE", "2026-02-20T00:00:00Z", "2026-04-21T00:00:00Z"),  # active, 51 d left
    (1, "KRE", "2026-01-07T12:00:00Z", "2026-03-08T12:00:00Z"),  # exactly now + 7 d
    (1, "KRE", "2026-01-01T12:00:00Z", "2026-03-01T12:00:00Z"),  # expires exactly now
    (2, "KSE", "2026-02-01T00:00:00Z", "2026-04-02T00:00:00Z"),  # active, 31.5 d left
    (2, "KSE", "2026-02-15T00:00:00Z", "2026-03-31T00:00:00Z"),  # active, 29.5 d left
    (4, "KRE", "2026-01-02T00:00:00Z", "2026-02-01T00:00:00Z"),  # expired, entitlement ended
]
mid = "AHK71-7GYA7-9T7JC-4WBRZ-19YG5"
fpr = "A" * 40
print("BEGIN;")
for i, (ent, prod, iss, exp) in enumerate(rows):
    digest = hashlib.sha256(b"req%d" % i).hexdigest()
    print(insert("requests", dict(digest=digest, member_fpr=fpr, machine_id=mid, product=prod,
                                  seats=1, status="issued", entitlement_id=ent, created=iss)))
    print(insert("licenses", dict(license_id="%032x" % (i + 1), request_digest=digest, seat=1,
                                  machine_id=mid, product=prod, issued=t(iss), expires=t(exp),
                                  entitlement_id=ent, member_fpr=fpr,
                                  file="%s_%s.lic" % (prod, mid))))
print("COMMIT;")
EOF
t_sql "$A" "$(cat licenses.sql)"

# --- JSON ----------------------------------------------------------------------------
at_now "$ADMIN" --state "$A" report --json >r.json
at_now "$ADMIN" --state "$A" entitlement list --json >e.json
if python3 -m json.tool r.json >/dev/null; then pass "report --json is valid JSON"; else fail "report --json: $(head -c 300 r.json)"; fi
if command -v jq >/dev/null; then
	[ "$(jq -r '.entitlements[0].used' r.json)" = 4 ] && pass "jq reads it" || fail "jq"
fi
if python3 - r.json e.json <<'EOF'; then
import json, sys, calendar, time
d = json.load(open(sys.argv[1]))
ents = json.load(open(sys.argv[2]))
def t(s): return calendar.timegm(time.strptime(s, "%Y-%m-%dT%H:%M:%SZ"))
top = {"generated", "org", "issuer_fpr", "daily_start", "daily_days", "daily_truncated", "entitlements"}
assert set(d) == top, sorted(d)
keys = {"id", "product", "model", "billing", "seats", "used", "free", "expiring_7d", "expiring_14d", "expiring_30d",
        "issued_total", "peak", "until", "ref", "valid", "daily"}
for e in d["entitlements"]:
    assert set(e) == keys, sorted(e)
assert d["generated"] == "2026-03-01T12:00:00Z", d["generated"]
assert d["org"] == 'A&B <Labs> "Q"', d["org"]
got = {e["id"]: (e["seats"], e["used"], e["free"], e["expiring_7d"], e["expiring_30d"],
                 e["issued_total"], e["valid"]) for e in d["entitlements"]}
want = {1: (10, 4, 6, 2, 3, 6, True), 2: (2, 2, 0, 0, 1, 2, True),
        3: (5, 0, 5, 0, 0, 0, True), 4: (3, 0, 3, 0, 0, 1, False)}
assert got == want, got
# within 14 days: 9.5 d, 4.9 d and exactly 7 d left (entitlement 1)
assert [e["expiring_14d"] for e in d["entitlements"]] == [3, 0, 0, 0], d["entitlements"]
assert d["entitlements"][0]["ref"] == "PO <b>&\"x'</b>"
# the same used/free as entitlement list --json at the same time
for e, l in zip(d["entitlements"], ents):
    assert (e["id"], e["used"], e["free"], e["valid"]) == (l["id"], l["used"], l["free"], l["valid"]), (e, l)
# the series: 2025-12-01 (first issue) .. 2026-04-20 (last day of the last license)
assert d["daily_start"] == "2025-12-01" and d["daily_days"] == 141 and not d["daily_truncated"], d["daily_start"]
e1 = d["entitlements"][0]["daily"]
def day(s): return (t(s + "T00:00:00Z") - t("2025-12-01T00:00:00Z")) // 86400
assert e1[day("2025-12-01")] == 1, e1[:3]      # only the first license
assert e1[day("2026-01-30")] == 4, e1[day("2026-01-30")]  # it expired at 00:00 that day
assert e1[day("2026-03-01")] == 5, e1[day("2026-03-01")]  # today, one expiring at noon
assert e1[day("2026-04-20")] == 1 and e1[-1] == 1
assert d["entitlements"][0]["peak"] == max(e1) == 5
assert max(d["entitlements"][1]["daily"]) == 2 and d["entitlements"][2]["daily"] == [0] * 141
assert all(len(e["daily"]) == 141 for e in d["entitlements"])
EOF
	pass "numbers: used/free/expiring 7 and 30 days per entitlement, daily series, keys exact"
else
	fail "report numbers (JSON above)"
fi

# the other --json outputs of klic-admin, on the same state: exact keys
at_now "$ADMIN" --state "$A" list --json >l.json
at_now "$ADMIN" --state "$A" list --json --active >la.json
if python3 - l.json la.json e.json <<'EOF'; then
import json, sys
l, la, e = (json.load(open(f)) for f in sys.argv[1:4])
lk = {"license_id", "product", "machine_id", "member_fpr", "request_digest", "seat", "issued",
      "expires", "state", "entitlement_id", "file", "issuer_fpr"}
assert isinstance(l, list) and len(l) == 9 and len(la) == 6, (len(l), len(la))
for x in l:
    assert set(x) == lk, sorted(x)
    assert x["state"] in ("active", "expired") and isinstance(x["seat"], int)
    assert x["issuer_fpr"] is None  # written into the ledger by hand: no issuer recorded
assert [x["state"] for x in l].count("active") == 6
assert l[0]["issued"] == "2025-12-01T00:00:00Z" and l[0]["expires"] == "2026-01-30T00:00:00Z"
assert l[0]["file"] == "KRE_AHK71-7GYA7-9T7JC-4WBRZ-19YG5.lic", l[0]["file"]
ek = {"id", "entitlement_id", "product", "model", "billing", "seats", "used", "free", "until",
      "valid_from", "valid_until", "ref", "created", "valid"}
assert all(set(x) == ek for x in e) and len(e) == 4, [sorted(x) for x in e]
assert [(x["id"], x["used"], x["free"], x["valid"]) for x in e] == [(1, 4, 6, True), (2, 2, 0, True), (3, 0, 5, True), (4, 0, 3, False)]
assert [(x["valid_from"], x["valid_until"]) for x in e][0] == ("2025-11-01T00:00:00Z", "2027-01-01T00:00:00Z")
assert all(len(x["entitlement_id"]) == 32 for x in e)
EOF
	pass "list --json and entitlement list --json: exact keys, the same counts"
else
	fail "list / entitlement list JSON"
fi

# --- the table -------------------------------------------------------------------------
at_now "$ADMIN" --state "$A" report >t.txt
if grep -qE '^1 +KRE +node-locked +yearly +10 +4 +6 +2 +3 +3 +2026-12-31' t.txt &&
	grep -qE '^2 +KSE +node-locked +yearly +2 +2 +0 +0 +0 +1 +2026-06-30' t.txt &&
	grep -qE '^4 +KRE .*2026-01-31 .*\(ended\)$' t.txt && grep -q '^seats of A&B <Labs> "Q" at 2026-03-01T12:00:00Z$' t.txt; then
	pass "table: one row per entitlement with the same numbers"
else
	fail "table: $(cat t.txt)"
fi

# --- HTML ------------------------------------------------------------------------------
at_now "$ADMIN" --state "$A" report --html report.html >t2.txt
if cmp -s t.txt <(grep -v '^HTML report: ' t2.txt) && grep -q '^HTML report: report.html$' t2.txt; then
	pass "--html FILE: the table on stdout and the path"
else
	fail "--html output: $(cat t2.txt)"
fi
if python3 - report.html <<'EOF'; then
import sys, re
from html.parser import HTMLParser
src = open(sys.argv[1], encoding="ascii").read()   # ASCII only
VOID = {"meta", "br", "img", "hr", "link", "input", "line", "path", "rect", "circle"}
class P(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack, self.errors, self.tags, self.text = [], [], [], []
    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        for k, v in attrs:
            if k.startswith("on") or (v and re.search(r"(?i)(https?:|//|javascript:|url\()", v)):
                self.errors.append("attribute %s=%r" % (k, v))
        if tag not in VOID:
            self.stack.append(tag)
    def handle_startendtag(self, tag, attrs):
        self.tags.append(tag)
    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1] != tag:
            self.errors.append("</%s> closes %s" % (tag, self.stack[-1:] or "nothing"))
        else:
            self.stack.pop()
    def handle_data(self, d):
        self.text.append(d)
p = P(); p.feed(src); p.close()
assert not p.errors, p.errors
assert p.stack == [], p.stack
assert src.startswith("<!DOCTYPE html>")
assert not re.search(r"(?i)https?://|<script|<link|<iframe|<img|@import|url\(", src), "external reference"
assert p.tags.count("svg") == 3, p.tags.count("svg")          # entitlements 1, 2, 4 have licenses
assert p.tags.count("tr") == 5                                  # header + 4 entitlements
text = "".join(p.text)
assert 'A&B <Labs> "Q"' in text and "PO <b>&\"x'</b>" in text   # shown as text ...
assert "<b>" not in src and "<Labs>" not in src                 # ... never as markup
assert "&lt;Labs&gt;" in src and "PO &lt;b&gt;&amp;&quot;x&#39;&lt;/b&gt;" in src
assert "2025-12-01" in text and "2026-04-20" in text and "today" in text
EOF
	pass "HTML: well-formed, escaped, 3 inline SVG charts, no script or network reference"
else
	fail "HTML checks"
fi
at_now "$ADMIN" --state "$A" report --html - >stdout.html
cmp -s report.html stdout.html && pass "--html -: the same page on stdout, nothing else" || fail "--html - differs"

# --- usage errors ------------------------------------------------------------------------
usage() { local rc=0; "$@" >/dev/null 2>&1 || rc=$?; [ "$rc" -eq 2 ] && pass "usage error (exit 2): ${*:3}" || fail "exit $rc for: $*"; }
usage admin report --json --json
usage admin report --json --html -
usage admin report --html a.html --html b.html
usage admin report --html ""
usage admin report extra
usage admin report --bogus
admin report --help | grep -q "usage: klic-admin report" && pass "report --help" || fail "report --help"
rc=0; "$ADMIN" --state "$BOX/nothing" report >/dev/null 2>err.txt || rc=$?
[ "$rc" -ne 0 ] && [ "$(wc -l <err.txt)" -eq 1 ] && pass "no ledger: exit $rc, $(cat err.txt)" || fail "no ledger: exit $rc"

t_done
