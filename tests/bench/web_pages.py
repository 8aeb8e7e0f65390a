#!/usr/bin/env python3
"""Issue 17's page bench (web.sh runs it): log in to a running klic-admin
serve through its one-time login URL, then fetch the Offline licenses page
ROUNDS times per kind of page (first, middle, last, filtered), one request at
a time, kinds interleaved, and print one line per kind, one for all and one
for the untimed first round:

    KIND n=N p50=MS p95=MS max=MS

A first round, untimed, warms the server up (its page cache fills with
the index pages it reads: the first read of a page of a large ledger comes
from the file); its figures are printed as "cold".  Every answer must be 200 with the license table and the page number asked
for; anything else stops the run (exit 1).  Timings are wall clock around
each whole request (connect, send, read the answer), in milliseconds.

In a QUERY, page=mid and page=last stand for the middle and the last page
of that filter, read from its first page before the timed rounds.

usage: web_pages.py LOGIN_URL ROUNDS KIND=QUERY...
"""
import http.client
import re
import sys
import time
import urllib.parse


def pct(xs, p):
    xs = sorted(xs)
    k = max(0, min(len(xs) - 1, int(round(p / 100.0 * len(xs) + 0.5)) - 1))
    return xs[k]


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    login, rounds = sys.argv[1], int(sys.argv[2])
    kinds = [a.split("=", 1) for a in sys.argv[3:]]
    u = urllib.parse.urlsplit(login)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
    conn.request("GET", u.path + "?" + u.query)
    r = conn.getresponse()
    r.read()
    cookie = (r.getheader("Set-Cookie") or "").split(";")[0]
    if r.status != 303 or not cookie:
        sys.exit("web_pages: login: %d %s" % (r.status, cookie))
    resolved = []
    for k, q in kinds:
        if "page=mid" in q or "page=last" in q:
            base = "&".join(p for p in q.split("&") if not p.startswith("page="))
            conn.request("GET", "/licenses?" + base, headers={"Cookie": cookie})
            r = conn.getresponse()
            m = re.search(r", page 1 of (\d+)", r.read().decode("utf-8", "replace"))
            if r.status != 200 or m is None:
                sys.exit("web_pages: %s: %d" % (base, r.status))
            n = int(m.group(1))
            q = q.replace("page=mid", "page=%d" % max(1, (n + 1) // 2)).replace("page=last", "page=%d" % n)
        resolved.append((k, q))
    kinds = resolved
    times = {k: [] for k, _ in kinds}
    allt = []
    cold = []
    for rnd in range(rounds + 1):  # round 0: the server's first reads, untimed

        for k, q in kinds:
            t0 = time.perf_counter()
            conn.request("GET", "/licenses" + ("?" + q if q else ""), headers={"Cookie": cookie})
            r = conn.getresponse()
            body = r.read().decode("utf-8", "replace")
            ms = (time.perf_counter() - t0) * 1000.0
            want = re.search(r"page=(\d+)", q)
            m = re.search(r'<span id="count">(\d+) licenses?</span>, page (\d+) of (\d+)', body)
            if r.status != 200 or m is None or (want and m.group(2) != want.group(1)):
                sys.exit("web_pages: %s: %d %s" % (q, r.status, m.group(0) if m else body[:200]))
            if rnd == 0:
                cold.append(ms)
                continue
            times[k].append(ms)
            allt.append(ms)
    for k, _ in kinds:
        t = times[k]
        print("%-10s n=%d p50=%.1f p95=%.1f max=%.1f" % (k, len(t), pct(t, 50), pct(t, 95), max(t)))
    print("%-10s n=%d p50=%.1f p95=%.1f max=%.1f" % ("all", len(allt), pct(allt, 50), pct(allt, 95),
                                                    max(allt)))
    print("%-10s n=%d p50=%.1f p95=%.1f max=%.1f" % ("cold", len(cold), pct(cold, 50), pct(cold, 95),
                                                    max(cold)))


if __name__ == "__main__":
    main()
