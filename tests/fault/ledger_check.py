#!/usr/bin/env python3
"""Consistency checks of a klic-admin ledger and its output folder, for the
fault-injection and crash tests (one process instead of dozens of sqlite3
calls).  Prints one line per problem; exit 0 when consistent, 1 otherwise.

usage: ledger_check.py STATE OUTDIR --clean ROWS_FILE [--final] [--seats N]
                       [--req NAME=DIGEST ...] [--unstored NAME ...]

  ROWS_FILE  the clean run's request rows ("digest status seats reason_code"
             per line); every row of the ledger must be one of them, and
             with --final the ledger must hold exactly them.
  --req      a request name (OUTDIR/NAME.kresp) and its digest: a response
             file present must equal the stored response (with --final it
             must be present).
  --unstored a response that is answered but not stored (not-member
             denial): with --final OUTDIR/NAME.kresp must exist.
  --seats N  with --final: exactly N license rows.
Not checked here: the audit hash chain (`klic-admin audit verify` does it).
"""
import argparse
import os
import sqlite3
import sys


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("state")
    ap.add_argument("outdir")
    ap.add_argument("--clean", required=True)
    ap.add_argument("--final", action="store_true")
    ap.add_argument("--seats", type=int)
    ap.add_argument("--req", action="append", default=[])
    ap.add_argument("--unstored", action="append", default=[])
    a = ap.parse_args()
    probs = []
    with open(a.clean) as f:
        clean = sorted(l.rstrip("\n") for l in f if l.strip())
    db = sqlite3.connect(os.path.join(a.state, "ledger.sqlite"))
    ic = [r[0] for r in db.execute("PRAGMA integrity_check")]
    if ic != ["ok"]:
        probs.append("integrity_check: " + " ".join(ic[:2]))
    rows = sorted(
        "%s %s %d %s" % (d, s, n, rc or "")
        for d, s, n, rc in db.execute("SELECT digest, status, seats, reason_code FROM requests"))
    extra = sorted(set(rows) - set(clean))
    if extra:
        probs.append("request rows not in the clean run: " + "; ".join(extra))
    if a.final and rows != clean:
        probs.append("request rows differ from the clean run (%d rows, want %d)" % (len(rows), len(clean)))
    (n,) = db.execute(
        "SELECT count(*) FROM requests r WHERE (SELECT count(*) FROM licenses l WHERE "
        "l.request_digest = r.digest) != CASE r.status WHEN 'issued' THEN r.seats ELSE 0 END").fetchone()
    if n:
        probs.append("%d request(s) without exactly their seats of license rows" % n)
    (n,) = db.execute(
        "SELECT count(*) FROM licenses l LEFT JOIN requests r ON r.digest = l.request_digest "
        "WHERE r.digest IS NULL OR r.status != 'issued' OR l.seat < 1 OR l.seat > r.seats").fetchone()
    if n:
        probs.append("%d license row(s) outside an issued request's seats" % n)
    (n,) = db.execute(
        "SELECT count(*) FROM requests r WHERE (SELECT count(*) FROM audit a WHERE a.digest = r.digest "
        "AND a.event IN ('issued', 'denied')) != 1").fetchone()
    if n:
        probs.append("%d request(s) without exactly one issued/denied audit row" % n)
    if a.final:
        (n,) = db.execute("SELECT count(*) FROM requests WHERE response IS NULL").fetchone()
        if n:
            probs.append("%d request(s) without a stored response" % n)
        if a.seats is not None:
            (n,) = db.execute("SELECT count(*) FROM licenses").fetchone()
            if n != a.seats:
                probs.append("%d license rows, want %d" % (n, a.seats))
    for spec in a.req:
        name, digest = spec.split("=", 1)
        path = os.path.join(a.outdir, name + ".kresp")
        row = db.execute("SELECT response FROM requests WHERE digest = ?", (digest,)).fetchone()
        if os.path.exists(path):
            with open(path, "rb") as f:
                data = f.read()
            if row is None or row[0] is None:
                probs.append("%s.kresp written but no response stored" % name)
            elif bytes(row[0]) != data:
                probs.append("%s.kresp differs from the stored response" % name)
        elif a.final:
            probs.append("%s.kresp missing" % name)
    if a.final:
        for name in a.unstored:
            p = os.path.join(a.outdir, name + ".kresp")
            if not (os.path.isfile(p) and os.path.getsize(p) > 0):
                probs.append("%s.kresp missing" % name)
    db.close()
    for d in (a.state, a.outdir):
        for root, _dirs, files in os.walk(d):
            for fn in files:
                if ".tmp" in fn:
                    probs.append("temporary file " + os.path.relpath(os.path.join(root, fn), d))
    for p in probs:
        print(p)
    return 1 if probs else 0


if __name__ == "__main__":
    sys.exit(main())
