#!/usr/bin/env python3
"""Fails when the places that carry the release version disagree.

The version is the workspace's (Cargo.toml). It must also be: the latest released
heading of CHANGELOG.md (`## X.Y.Z — date`, below any `## Unreleased`), FF_VERSION and
FF_VERSION_MAJOR/MINOR/PATCH in include/featureflags.h, the Maven project's <version>
(bindings/java/pom.xml), the C++ CMake project's VERSION (bindings/cpp/CMakeLists.txt),
and the major.minor that find_package asks for in the C++ consumer, the dist consumer
and the bindings' docs. The Go module has no version of its own: its release is the git
tag bindings/go/vX.Y.Z (README, "Releasing").
"""
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def find(path, pattern, flags=0):
    text = (ROOT / path).read_text(encoding="utf-8")
    m = re.search(pattern, text, flags)
    if not m:
        sys.exit(f"versions: {path}: no match for {pattern!r}")
    return m.groups() if len(m.groups()) > 1 else m.group(1)


def main():
    version = find("Cargo.toml", r'(?ms)^\[workspace\.package\].*?^version = "([^"]+)"')
    major, minor, patch = version.split(".")
    found = {
        "CHANGELOG.md latest release": find("CHANGELOG.md", r"(?m)^## (\d+\.\d+\.\d+)\b"),
        "include/featureflags.h FF_VERSION": find("include/featureflags.h", r'#define FF_VERSION "([^"]+)"'),
        "include/featureflags.h FF_VERSION_MAJOR.MINOR.PATCH": ".".join(
            find("include/featureflags.h", rf"#define FF_VERSION_{part} (\d+)") for part in ("MAJOR", "MINOR", "PATCH")
        ),
        "bindings/java/pom.xml": find("bindings/java/pom.xml", r"</modelVersion>\s*<groupId>[^<]*</groupId>\s*"
                                      r"<artifactId>[^<]*</artifactId>\s*<version>([^<]+)</version>"),
        "bindings/cpp/CMakeLists.txt project()": find("bindings/cpp/CMakeLists.txt", r"project\(\w+ VERSION (\S+)"),
    }
    compatible = f"{major}.{minor}" if major == "0" else major
    for path in ("bindings/cpp/tests/consumer/CMakeLists.txt", "tests/dist/CMakeLists.txt", "bindings/cpp/README.md"):
        asked = find(path, r"find_package\(featureflags ([\d.]+)")
        found[f"{path} find_package"] = version if asked == compatible else f"{asked} (wants {compatible})"
    bad = {where: v for where, v in found.items() if v != version}
    for where, v in found.items():
        print(f"{'ok ' if where not in bad else 'BAD'} {where}: {v}")
    if bad:
        print(f"versions: these differ from Cargo.toml's {version}", file=sys.stderr)
        return 1
    print(f"versions: all carry {version}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
