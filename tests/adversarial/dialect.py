#!/usr/bin/env python3
"""TEST-ONLY: rewrite a .kreq/.kresp in a tar dialect klic does not write
(spec 3.2: a bundle is plain POSIX ustar, regular members, two zero blocks).

usage: dialect.py IN OUT DIALECT

The members of IN are written again in order, each header built here byte
by byte (not by a tar library), then gzip'd; with DIALECT "ustar" the
output decompresses to exactly the tar klic writes, so each other dialect
differs from an accepted bundle only in what it names:

  ustar        the klic dialect (control: accepted)
  gnu          GNU magic "ustar  \\0" on every header
  v7           pre-POSIX headers: no magic, no version (all zero)
  oldgnu-ver   magic "ustar\\0" with version "\\0\\0"
  pax          a pax 'x' header before the first member, path=<its name>
  pax-rename   a pax 'x' header renaming the last member to manifest.json's
               neighbour name given in the header (path= wins in libarchive)
  pax-global   a pax 'g' header first
  gnu-long     a GNU 'L' long-name header before the first member
  type7        the last member with typeflag '7' (contiguous file)
  typenul      the last member with typeflag NUL (pre-POSIX regular file)
  prefix       the last member's name split into prefix "." and name
  base256      the first member's size in GNU base-256
  one-zero     only one zero block at the end
  no-zero      no zero block at the end
"""
import gzip
import io
import sys
import tarfile


def octal(v, n):
    return b"%0*o\x00" % (n - 1, v) if n == 8 else b"%0*o " % (n - 1, v)


def header(name, size, typeflag=b"0", magic=b"ustar\x00", version=b"00",
           prefix=b"", size_field=None):
    h = bytearray(512)
    h[0:len(name)] = name
    h[100:108] = b"000644 \x00"
    h[108:116] = b"000000 \x00"
    h[116:124] = b"000000 \x00"
    h[124:136] = size_field if size_field is not None else octal(size, 12)
    h[136:148] = octal(0, 12)
    h[156:157] = typeflag
    h[257:263] = magic
    h[263:265] = version
    if magic == b"ustar\x00":
        h[329:337] = b"000000 \x00"
        h[337:345] = b"000000 \x00"
    h[345:345 + len(prefix)] = prefix
    h[148:156] = b" " * 8
    h[148:156] = b"%06o\x00 " % sum(h)
    assert len(h) == 512, "header is not one block"
    return bytes(h)


def pad(data):
    return data + b"\x00" * (-len(data) % 512)


def pax_record(key, value):
    body = b" %s=%s\n" % (key, value)
    n = len(body) + 1
    while len(b"%d" % n) + len(body) != n:
        n += 1
    return b"%d%s" % (n, body)


def main():
    src, dst, d = sys.argv[1:4]
    with tarfile.open(src, "r:gz") as t:
        members = [(m.name.encode(), t.extractfile(m).read()) for m in t.getmembers()]
    out = io.BytesIO()
    magic, version = b"ustar\x00", b"00"
    if d == "gnu":
        magic, version = b"ustar ", b" \x00"
    elif d == "v7":
        magic, version = b"\x00" * 6, b"\x00\x00"
    elif d == "oldgnu-ver":
        version = b"\x00\x00"
    elif d not in ("ustar", "pax", "pax-rename", "pax-global", "gnu-long", "type7",
                   "typenul", "prefix", "base256", "one-zero", "no-zero"):
        sys.exit("dialect.py: unknown dialect " + d)
    for i, (name, data) in enumerate(members):
        last = i == len(members) - 1
        kw = {"magic": magic, "version": version}
        if d == "pax" and i == 0:
            rec = pax_record(b"path", name)
            out.write(header(b"PaxHeader/" + name[:80], len(rec), b"x") + pad(rec))
        if d == "pax-rename" and last:
            rec = pax_record(b"path", name)
            out.write(header(b"PaxHeader/x", len(rec), b"x") + pad(rec))
            name = b"renamed-by-pax"
        if d == "pax-global" and i == 0:
            rec = pax_record(b"comment", b"x")
            out.write(header(b"GlobalHead", len(rec), b"g") + pad(rec))
        if d == "gnu-long" and i == 0:
            out.write(header(b"././@LongLink", len(name) + 1, b"L") + pad(name + b"\x00"))
        if d == "type7" and last:
            kw["typeflag"] = b"7"
        if d == "typenul" and last:
            kw["typeflag"] = b"\x00"
        if d == "prefix" and last:
            kw["prefix"] = b"."
        if d == "base256" and i == 0:
            kw["size_field"] = b"\x80" + len(data).to_bytes(11, "big")
        out.write(header(name, len(data), **kw) + pad(data))
    out.write(b"\x00" * {"one-zero": 512, "no-zero": 0}.get(d, 1024))
    with open(dst, "wb") as f:
        f.write(gzip.compress(out.getvalue(), compresslevel=9, mtime=0))


main()
