#!/usr/bin/env python3
"""The style check: the rules of HACKING.md that a machine can verify.

    check.py [ROOT]          check the C sources under ROOT (default: the
                             repository this script lives in)
    check.py --self-test     check tests/style/fixtures and compare the
                             offences found with fixtures/expected.txt

Every offence is printed as FILE:LINE: reason (FILE relative to ROOT);
exit status 1 when there is any, 0 when there is none.

Rules (HACKING.md, "Rules a test checks"):
  - no call of a banned function (strcpy, sprintf, sscanf, atoi, system, ...);
  - no C source file over 1,000 lines;
  - no function over 120 lines, counted from its '{' at column 0 to its '}'
    at column 0, both included (the project's clang-format style);
  - no SQL statement in a string literal of a .c file under response/
    other than response/ledger*;
  - the name of the removed fault seam (KLIC_FAULT + _INJECTION) in no
    file of the tree;
  - no function other than klic_printable_copy replaces non-printable bytes
    with '?' in the product sources (bundle/ keys/ request/ response/).

Comments and string literals are blanked before calls are looked for, so
a comment or a help text that names a banned function is not an offence.
"""

import os
import re
import subprocess
import sys
import tempfile

SOURCE_DIRS = ("bundle", "keys", "request", "response", "tests")
PRODUCT_DIRS = ("bundle", "keys", "request", "response")
SKIP_DIRS = (os.path.join("tests", "style", "fixtures"),)

MAX_FILE_LINES = 1000
MAX_FUNCTION_LINES = 120

BANNED = (
    "strcpy", "strcat", "sprintf", "vsprintf", "sscanf", "vsscanf", "atoi",
    "atol", "atoll", "gets", "strtok", "system", "popen", "tmpnam", "tempnam",
    "mktemp",
)
# A call: the name as a whole word, not a member (s.system, p->system), then '('.
BANNED_RE = re.compile(r"(?<![\w.>])(" + "|".join(BANNED) + r")\s*\(")

SQL_RE = re.compile(
    r"\bSELECT\b.*\bFROM\b|^\s*SELECT\b|\bINSERT\s+(OR\s+\w+\s+)?INTO\b|"
    r"\bUPDATE\s+\w+\s+SET\b|\bDELETE\s+FROM\b|"
    r"\bCREATE\s+(TABLE|INDEX|UNIQUE\s+INDEX|TRIGGER|VIEW)\b|"
    r"^\s*(BEGIN|COMMIT|ROLLBACK|END)(\s+(IMMEDIATE|EXCLUSIVE|DEFERRED|TRANSACTION))?\s*;?\s*$|"
    r"\bPRAGMA\s+\w+")

# '?' put in place of a byte: "... ? c : '?'" or "x = '?'".
QMARK_TERNARY_RE = re.compile(r":\s*'\?'")
QMARK_ASSIGN_RE = re.compile(r"(?<![=!<>])=\s*'\?'")
# ... but inside bundle/ only when the result is stored (a[i] = c ? c : '?'):
# bundle/armor.c prints one offending character in an error message.
ASSIGNMENT_RE = re.compile(r"(?<![=!<>])=(?!=)")
PRINTABLE_HELPER = "klic_printable_copy"
# Spelled in two pieces so that this file does not hold the name it bans.
FAULT_SEAM = "KLIC_FAULT" + "_INJECTION"


def lex(text):
    """Return (code, strings): code is text with comments and the contents
    of string literals blanked (newlines kept, quotes kept, character
    literals kept); strings is a list of (line, contents) of every string
    literal."""
    out = []
    strings = []
    i, n, line = 0, len(text), 1
    while i < n:
        c = text[i]
        if c == "/" and text.startswith("/*", i):
            end = text.find("*/", i + 2)
            end = n if end < 0 else end + 2
            chunk = text[i:end]
            out.append(re.sub(r"[^\n]", " ", chunk))
            line += chunk.count("\n")
            i = end
        elif c == "/" and text.startswith("//", i):
            end = text.find("\n", i)
            end = n if end < 0 else end
            out.append(" " * (end - i))
            i = end
        elif c == '"':
            j = i + 1
            while j < n and text[j] != '"' and text[j] != "\n":
                j += 2 if text[j] == "\\" else 1
            strings.append((line, text[i + 1:j]))
            out.append('"' + " " * (j - i - 1) + ('"' if j < n else ""))
            i = j + 1
        elif c == "'":
            j = i + 1
            while j < n and text[j] != "'" and text[j] != "\n":
                j += 2 if text[j] == "\\" else 1
            out.append(text[i:j + 1])
            i = j + 1
        else:
            if c == "\n":
                line += 1
            out.append(c)
            i += 1
    return "".join(out), strings


def functions(lines):
    """Yield (name, first, last) for every function body: a '{' at column 0
    up to the next '}' at column 0 (1-based line numbers, both included)."""
    i = 0
    while i < len(lines):
        if lines[i].startswith("{"):
            start = i
            j = i - 1
            while j > 0 and lines[j][:1] in (" ", "\t"):
                j -= 1
            sig = " ".join(lines[j:start])
            m = re.search(r"(\w+)\s*\(", sig)
            name = m.group(1) if m else "?"
            end = start + 1
            while end < len(lines) and not lines[end].startswith("}"):
                end += 1
            yield name, start + 1, end + 1
            i = end + 1
        else:
            i += 1


def statement_at(lines, k):
    """The text of the statement around line index k: from the line after
    the previous ';', '{' or '}' up to the next ';'."""
    a = k
    while a > 0 and not re.search(r"[;{}]\s*$", lines[a - 1]):
        a -= 1
    b = k
    while b < len(lines) - 1 and ";" not in lines[b]:
        b += 1
    return re.sub(r"'(\\.|[^'\\])*'", "''", " ".join(lines[a:b + 1]))


def check_file(root, rel, report):
    path = os.path.join(root, rel)
    with open(path, encoding="utf-8", errors="replace") as f:
        text = f.read()
    raw_lines = text.split("\n")
    if text.endswith("\n"):
        raw_lines.pop()
    top = rel.split(os.sep)[0]
    code, strings = lex(text)
    lines = code.split("\n")

    if len(raw_lines) > MAX_FILE_LINES:
        report(rel, len(raw_lines),
               "file has %d lines (at most %d)" % (len(raw_lines), MAX_FILE_LINES))

    for no, l in enumerate(lines, 1):
        for m in BANNED_RE.finditer(l):
            report(rel, no, "banned function %s()" % m.group(1))

    funcs = list(functions(lines))
    for name, first, last in funcs:
        if last - first + 1 > MAX_FUNCTION_LINES:
            report(rel, first, "function %s has %d lines (at most %d)"
                   % (name, last - first + 1, MAX_FUNCTION_LINES))

    if (top == "response" and rel.endswith(".c")
            and not os.path.basename(rel).startswith("ledger")):
        for no, s in strings:
            if SQL_RE.search(s):
                report(rel, no, "SQL outside response/ledger*: \"%s\"" % s.strip()[:40])

    if top in PRODUCT_DIRS:
        seen = set()
        for k, l in enumerate(lines):
            if not (QMARK_TERNARY_RE.search(l) or QMARK_ASSIGN_RE.search(l)):
                continue
            fn = next((f for f in funcs if f[1] <= k + 1 <= f[2]), None)
            name = fn[0] if fn else "?"
            if name == PRINTABLE_HELPER or (fn and fn in seen):
                continue
            if top == "bundle" and not ASSIGNMENT_RE.search(statement_at(lines, k)):
                continue
            seen.add(fn)
            report(rel, k + 1, "%s replaces non-printable bytes with '?' by hand "
                               "(use klic_printable_copy)" % name)


def check_fault_seam(root, report):
    """The removed fault seam's name in any file of the tree (sources,
    CMakeLists.txt, scripts), build folders and .git aside."""
    for dirpath, dirnames, filenames in os.walk(root):
        rel_dir = os.path.relpath(dirpath, root)
        dirnames[:] = sorted(
            d for d in dirnames
            if d != ".git" and not (rel_dir == "." and d.startswith("build"))
            and os.path.normpath(os.path.join(rel_dir, d)) not in SKIP_DIRS)
        for name in sorted(filenames):
            rel = os.path.normpath(os.path.join(rel_dir, name))
            with open(os.path.join(root, rel), "rb") as f:
                data = f.read()
            for no, raw in enumerate(data.split(b"\n"), 1):
                if FAULT_SEAM.encode() in raw:
                    report(rel, no, "the removed fault seam's name (faults are injected "
                                    "by the LD_PRELOAD shim in tests/fault/)")


def source_files(root):
    for top in SOURCE_DIRS:
        base = os.path.join(root, top)
        for dirpath, dirnames, filenames in os.walk(base):
            rel_dir = os.path.relpath(dirpath, root)
            dirnames[:] = sorted(d for d in dirnames
                                 if os.path.join(rel_dir, d) not in SKIP_DIRS)
            for name in sorted(filenames):
                if name.endswith((".c", ".h")):
                    yield os.path.join(rel_dir, name)


def check(root):
    offences = []

    def report(rel, line, reason):
        offences.append("%s:%d: %s" % (rel, line, reason))

    for rel in source_files(root):
        check_file(root, rel, report)
    check_fault_seam(root, report)
    return offences


def self_test(here):
    """Check the fixtures (plus a generated file over the line limit) and
    compare with expected.txt line by line: the check must flag every bad
    construct and nothing in the good ones."""
    fixtures = os.path.join(here, "fixtures")
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(["cp", "-R", fixtures + "/.", tmp], check=True)
        with open(os.path.join(tmp, "tests", "long.c"), "w") as f:
            f.write("/* generated by check.py --self-test: one line too many */\n")
            f.write("".join("int v%d;\n" % k for k in range(MAX_FILE_LINES)))
        with open(os.path.join(tmp, "bundle", "seam.cmake"), "w") as f:
            f.write("# generated by check.py --self-test\nif(%s)\nendif()\n" % FAULT_SEAM)
        got = check(tmp)
    with open(os.path.join(fixtures, "expected.txt")) as f:
        want = [l.rstrip("\n") for l in f if l.strip() and not l.startswith("#")]
    if got == want:
        print("style self-test: %d offences found in the fixtures, as expected" % len(got))
        return 0
    print("style self-test FAILED")
    for l in want:
        if l not in got:
            print("  not reported: " + l)
    for l in got:
        if l not in want:
            print("  unexpected:   " + l)
    if sorted(got) == sorted(want):
        print("  (same offences, different order)")
    return 1


def main(argv):
    here = os.path.dirname(os.path.abspath(__file__))
    if argv[1:] == ["--self-test"]:
        return self_test(here)
    if len(argv) > 2 or (len(argv) == 2 and argv[1].startswith("-")):
        print("usage: check.py [ROOT] | --self-test", file=sys.stderr)
        return 2
    root = argv[1] if len(argv) == 2 else os.path.dirname(os.path.dirname(here))
    offences = check(root)
    for o in offences:
        print(o)
    if offences:
        print("style: %d offence(s); the rules are in HACKING.md" % len(offences))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
