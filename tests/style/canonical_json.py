#!/usr/bin/env python3
"""spec/PROTOCOL.md 1.1 says what canonical JSON is by rules, not by a
library. This is those rules written a second time, independently of the C
code, and checked against every document in spec/vectors/: each manifest
(and the signed bodies of license.lic, entitlement.kent, return.kret and
entitlement.json) must be exactly what the rules make of
its own parsed value. If the spec's rules and the implementation that made
the vectors disagree, this fails.

    canonical_json.py [VECTORS_DIR]
"""

import json
import os
import sys
import tarfile


# 1.1 (v2): the fields that carry a whole signed text may hold line feeds
TEXT_FIELDS = ("entitlement", "kent")


def string(s, lf=False):
    # 1.1 (v2): `"` -> \", `\` -> \\, LF -> \n (only in TEXT_FIELDS), every
    # other (printable ASCII) character as itself
    if any(not (0x20 <= ord(c) <= 0x7E or (lf and c == "\n")) for c in s):
        raise ValueError("string not printable ASCII: %r" % s)
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def scalar(v, key=None):
    if isinstance(v, str):
        return string(v, key in TEXT_FIELDS)
    if isinstance(v, bool):
        return "true" if v else "false"
    if v is None and key == "ended":  # spec 1.1: null only there
        return "null"
    if not isinstance(v, int) or v < 0:
        raise ValueError("not a v2 value: %r" % (v,))
    return str(v)


def members(obj):
    # keys ordered as byte strings
    return sorted(obj.items(), key=lambda kv: kv[0].encode())


def compact(v, key=None):
    if isinstance(v, dict):
        return "{" + ",".join(string(k) + ":" + compact(x, k) for k, x in members(v)) + "}"
    if isinstance(v, list):
        return "[" + ",".join(compact(x) for x in v) + "]"
    return scalar(v, key)


def indented(v, depth=0, key=None):
    pad = "  " * (depth + 1)
    if isinstance(v, dict) and v:
        lines = [pad + string(k) + ": " + indented(x, depth + 1, k) for k, x in members(v)]
        return "{\n" + ",\n".join(lines) + "\n" + "  " * depth + "}"
    if isinstance(v, list) and v:
        lines = [pad + indented(x, depth + 1) for x in v]
        return "[\n" + ",\n".join(lines) + "\n" + "  " * depth + "]"
    if isinstance(v, (dict, list)):
        return "{}" if isinstance(v, dict) else "[]"
    return scalar(v, key)


def check(name, data):
    doc = json.loads(data)
    if doc.get("type") == "klic-request":
        want = compact(doc) + "\n"  # compact, one line feed
    else:
        want = indented(doc)  # indented, no line feed after the final }
    if want.encode("ascii") != data:
        print("%s: not what the rules of spec 1.1 make of it" % name)
        print("  file:  %r" % data[:120])
        print("  rules: %r" % want.encode("ascii")[:120])
        return 1
    print("%s: canonical (%d bytes)" % (name, len(data)))
    return 0


def license_body(text):
    head = b"-----BEGIN PGP SIGNED MESSAGE-----\n"
    start = text.index(b"\n\n", len(head)) + 2
    end = text.index(b"\n-----BEGIN PGP SIGNATURE-----\n", start)
    return text[start:end]


def main(argv):
    here = os.path.dirname(os.path.abspath(__file__))
    vectors = argv[1] if len(argv) > 1 else os.path.join(here, "..", "..", "spec", "vectors")
    failed = checked = 0
    for name in sorted(os.listdir(vectors)):
        path = os.path.join(vectors, name)
        if name.endswith((".kreq", ".kresp")):
            with tarfile.open(path, "r:gz") as tar:
                data = tar.extractfile("manifest.json").read()
            failed += check(name + ":manifest.json", data)
            checked += 1
        elif name.endswith((".lic", ".kent", ".kusage", ".kret")):
            with open(path, "rb") as f:
                failed += check(name + ":body", license_body(f.read()))
            checked += 1
        elif name.endswith(".json"):
            with open(path, "rb") as f:
                failed += check(name, f.read())
            checked += 1
    if checked < 6:
        print("expected at least 6 documents in %s, found %d" % (vectors, checked))
        return 1
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
