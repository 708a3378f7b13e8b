#!/usr/bin/env python3
"""The glibc a shared library needs: the highest GLIBC_ symbol version its dynamic symbol
table (objdump -T) asks for, and the symbols that ask for it.

    check_symbols.py LIB [--max 2.17]

prints the highest version and the symbols needing it; with --max, fails when the
library needs a newer glibc than that. Only undefined (imported) symbols count: those
are what the loader must find in the system's glibc.
"""
import argparse
import re
import subprocess
import sys


def version_key(v):
    return tuple(int(p) for p in v.split("."))


def glibc_imports(path):
    out = subprocess.run(["objdump", "-T", path], check=True, capture_output=True, text=True).stdout
    needs = {}
    for line in out.splitlines():
        # 0000000000000000      DF *UND*  0000000000000000 (GLIBC_2.34) pthread_key_create
        m = re.search(r"\*UND\*\s+\S+\s+\(?GLIBC_([0-9.]+)\)?\s+(\S+)$", line)
        if m:
            needs.setdefault(m.group(1), []).append(m.group(2))
    return needs


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("library")
    ap.add_argument("--max", help="fail when a newer GLIBC_ version is needed")
    args = ap.parse_args()
    needs = glibc_imports(args.library)
    if not needs:
        print(f"{args.library}: no GLIBC_ symbol versions (not linked against glibc)")
        return 0
    highest = max(needs, key=version_key)
    print(f"{args.library}: highest GLIBC_{highest} ({', '.join(sorted(needs[highest]))})")
    if args.max and version_key(highest) > version_key(args.max):
        newer = sorted(v for v in needs if version_key(v) > version_key(args.max))
        for v in newer:
            print(f"  GLIBC_{v}: {', '.join(sorted(needs[v]))}", file=sys.stderr)
        print(f"{args.library} needs glibc {highest}, newer than the baseline {args.max}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
