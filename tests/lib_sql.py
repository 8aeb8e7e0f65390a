"""SQL text both ledger engines take, for the scripted tests that write rows
straight into a ledger: print it and give it to t_sql (tests/lib.sh), e.g.

    import sys; sys.path.insert(0, TESTS_DIR); from lib_sql import insert
    print(insert("licenses", dict(license_id="...", seat=1)))

Integers are written as numbers, everything else as a quoted string (the
tests' values hold no quote; one that does is refused, never mangled)."""


def lit(v):
    if isinstance(v, bool) or not isinstance(v, (int, str)):
        raise ValueError("lib_sql: %r: an int or a str" % (v,))
    if isinstance(v, int):
        return str(v)
    if "'" in v or "\\" in v:
        raise ValueError("lib_sql: %r: a quote or backslash" % (v,))
    return "'%s'" % v


def insert(table, values):
    keys = sorted(values)
    return "INSERT INTO %s(%s) VALUES (%s);" % (
        table, ", ".join(keys), ", ".join(lit(values[k]) for k in keys))
