#!/usr/bin/env python3
"""Issue 17's page bench (web.sh): fill a ledger made by `klic-admin init`
(and brought to the current schema by klic-admin) with ROWS issued licenses,
in one transaction of plain INSERTs, shaped like the rows klic-admin writes:

- 200 members (random fingerprints), 100,000 machines (valid machine IDs,
  spec/PROTOCOL.md 2.2), products KRE (70 %) and KSE (30 %) on two extra
  node-locked yearly entitlements;
- one request row per license (1 seat), issue times spread evenly over the
  past 3 years, expires = issued + 60 days (about 5 % active now), license
  IDs as klic-admin makes them (the issue time in milliseconds, then 10
  random bytes), file names PRODUCT_MACHINE.lic;
- every 20th license that could have been renewed ended early ("renewed",
  50 days after issue; spec/ledger-7.sql).

Stored responses are a short placeholder; no audit rows (nothing here is
signed: the page reads rows).  Prints "ACTIVE MACHINE MEMBER": the number of
active licenses, and a machine and a member that have licenses.

usage: web_ledger.py LEDGER ROWS
"""
import random
import sqlite3
import sys

CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def machine_id(rng):
    v = [rng.randrange(32) for _ in range(24)]
    total, dbl = 0, True
    for d in reversed(v):
        if dbl:
            d *= 2
            d = d // 32 + d % 32
        total += d
        dbl = not dbl
    v.append((32 - total % 32) % 32)
    s = "".join(CROCKFORD[x] for x in v)
    return "-".join(s[i:i + 5] for i in range(0, 25, 5))


SQL = """
INSERT INTO entitlements (product, model, billing, seats, until, ref, created)
VALUES ('KRE', 'node-locked', 'yearly', 1000000, date('now', '+300 days'), 'bench-KRE',
        strftime('%Y-%m-%dT%H:%M:%SZ', 'now', '-3 years'));
CREATE TEMP TABLE h AS SELECT last_insert_rowid() AS kre, CAST(strftime('%s', 'now') AS INTEGER) AS now;
INSERT INTO entitlements (product, model, billing, seats, until, ref, created)
VALUES ('KSE', 'node-locked', 'yearly', 1000000, date('now', '+300 days'), 'bench-KSE',
        strftime('%Y-%m-%dT%H:%M:%SZ', 'now', '-3 years'));
CREATE TEMP TABLE h2 AS SELECT h.kre, last_insert_rowid() AS kse, h.now FROM h;
CREATE TEMP TABLE m (k INTEGER PRIMARY KEY, fingerprint TEXT NOT NULL);
INSERT INTO m SELECT row_number() OVER (ORDER BY fingerprint) - 1, fingerprint
  FROM members WHERE name LIKE 'Bench User %';
WITH RECURSIVE s(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM s WHERE i < {rows} - 1)
INSERT INTO requests (digest, member_fpr, machine_id, product, seats, status, reason_code, reason,
                      entitlement_id, created, response)
SELECT lower(hex(randomblob(32))), m.fingerprint, mid.id,
  CASE WHEN i % 10 < 3 THEN 'KSE' ELSE 'KRE' END, 1, 'issued', NULL, NULL,
  CASE WHEN i % 10 < 3 THEN h2.kse ELSE h2.kre END,
  strftime('%Y-%m-%dT%H:%M:%SZ', h2.now - 94608000 + (i * 94608000) / {rows}, 'unixepoch'),
  CAST('bench-history' AS BLOB)
FROM s, h2, m, mid WHERE m.k = (i / 7) % 200 AND mid.k = i % 100000;
INSERT INTO licenses (license_id, request_digest, seat, machine_id, product, issued, expires,
                      entitlement_id, member_fpr, file)
SELECT printf('%012x', CAST(strftime('%s', r.created) AS INTEGER) * 1000 + abs(random() % 1000))
         || lower(hex(randomblob(10))), r.digest, 1, r.machine_id, r.product,
  CAST(strftime('%s', r.created) AS INTEGER), CAST(strftime('%s', r.created) AS INTEGER) + 5184000,
  r.entitlement_id, r.member_fpr, r.product || '_' || r.machine_id || '.lic'
FROM requests r, h2 WHERE r.entitlement_id IN (h2.kre, h2.kse);
INSERT INTO license_ends (license_id, ended, reason, by_digest)
SELECT license_id, issued + 50 * 86400, 'renewed', request_digest FROM licenses, h2
WHERE entitlement_id IN (h2.kre, h2.kse) AND abs(random() % 20) = 0 AND issued + 50 * 86400 <= h2.now;
"""


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    path, rows = sys.argv[1], int(sys.argv[2])
    rng = random.Random(17)
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA cache_size = -262144")  # 256 MiB: the indexes stay in memory while filling
    db.execute("PRAGMA foreign_keys = ON")
    db.execute("BEGIN IMMEDIATE")
    db.executemany("INSERT INTO members (fingerprint, name, email, added) VALUES (?, ?, ?, ?)",
                   [("%040X" % rng.getrandbits(160), "Bench User %03d" % i, "u%03d@bench.invalid" % i,
                     "2024-01-01T00:00:00Z") for i in range(200)])
    db.execute("CREATE TEMP TABLE mid (k INTEGER PRIMARY KEY, id TEXT NOT NULL)")
    db.executemany("INSERT INTO mid VALUES (?, ?)", [(k, machine_id(rng)) for k in range(100000)])
    for stmt in SQL.format(rows=rows).split(";\n"):
        if stmt.strip():
            db.execute(stmt)
    db.execute("COMMIT")
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    active = db.execute("SELECT count(*) FROM licenses WHERE expires > strftime('%s', 'now')").fetchone()[0]
    mach, member = db.execute("SELECT machine_id, member_fpr FROM licenses WHERE seat = 1 AND file LIKE 'KRE_%'"
                              " ORDER BY issued DESC LIMIT 1").fetchone()
    print(active, mach, member)


if __name__ == "__main__":
    main()
