#!/usr/bin/env python3
"""Fails when include/featureflags.h declares a name outside the ff_/FF_ namespace.

A C header shares one namespace with everything its includer declares: an unprefixed
`#define K 4.0` breaks any later `template <class K, ...>`. This lists every macro, tag,
typedef, enum constant and function the header declares and allows only `ff_`/`FF_`
names (and the include guard).
"""
import re
import sys
from pathlib import Path

ALLOWED_EXTRA = {"FEATUREFLAGS_H"}
C_WORDS = {"void", "sizeof", "const", "struct", "enum", "typedef", "return"}


def declared_names(text: str) -> set[str]:
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    text = re.sub(r"//[^\n]*", "", text)
    names = set(re.findall(r"^\s*#\s*define\s+(\w+)", text, flags=re.M))
    code = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))
    code = re.sub(r'extern\s+"C"\s*\{', "", code)
    names |= set(re.findall(r"\b(?:struct|enum|union)\s+(\w+)", code))
    for body in re.findall(r"\benum\b[^{;]*\{([^}]*)\}", code):
        names |= set(re.findall(r"(\w+)\s*(?:=[^,]*)?(?:,|$)", body.strip()))
    # Function declarations: an identifier directly before '(' at the top level.
    depth = 0
    top = []
    for ch in code:
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth = max(depth - 1, 0)  # the brace that closed `extern "C" {`
        elif depth == 0:
            top.append(ch)
    for statement in "".join(top).split(";"):
        if "typedef" in statement:
            names.add(re.search(r"(\w+)\s*\)?\s*(?:\([^()]*\))?\s*$", statement).group(1))
        elif match := re.search(r"(\w+)\s*\(", statement):
            names.add(match.group(1))
    return {n for n in names if n and n not in C_WORDS and not n.isdigit()}


def main() -> int:
    header = Path(sys.argv[1] if len(sys.argv) > 1 else "include/featureflags.h")
    names = declared_names(header.read_text())
    bad = sorted(n for n in names if not n.startswith(("ff_", "FF_")) and n not in ALLOWED_EXTRA)
    if bad:
        print(f"{header}: names outside the ff_/FF_ namespace: {', '.join(bad)}")
        return 1
    print(f"{header}: {len(names)} declared names, all prefixed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
