#!/usr/bin/env python3
"""Every function the C header exports is wrapped by each binding, so the languages cannot
drift apart. A binding wraps a function when its sources call it: Go through cgo
(`C.ff_x`, or a C helper in a preamble, comments aside) and, for the default run-time
loading build, through a trampoline of its dlsym table (bindings/go/ffgo_dl.c), and, for
the CGO_ENABLED=0 build, through purego's Dlsym (bindings/go/ffi_purego.go), C++ in
its headers, Java in its JNI glue, where every native method must also
be reached from a public class. ABI 1 calls that ABI 2 superseded count as wrapped when
their replacement is; the gaps still open are listed below with their issue, and a gap
that closes must leave the list."""
import glob
import re
import sys

ROOT = sys.argv[1] if len(sys.argv) > 1 else "."

# ABI 1 call -> the ABI 2 call that does the same and more (README, "ABI 2").
SUPERSEDED = {
    "ff_context_new": "ff_context_create",
    "ff_engine_new": "ff_engine_create",
    "ff_variant": "ff_variant_id",
    "ff_evaluate": "ff_evaluate_value",
    "ff_flag_value_json": "ff_evaluate_value",
    "ff_experiment_assign": "ff_experiment_assign_id",
    # Not ABI 1, but the same call with string ids for a binding that caches the engine's
    # strings by id (Java); Go and C++ wrap both.
    "ff_evaluate_many": "ff_evaluate_many_detail",
    # The same read with the answers as bits, which is what Java's JNI call returns; Go and
    # C++ wrap both.
    "ff_flag_list_is_enabled": "ff_flag_list_is_enabled_bits",
}
# Needs no wrapper of its own: every fallible call returns the status its error carries.
NOT_NEEDED = {"ff_error_status"}
KNOWN_GAPS = {
    "go": {},
    "cpp": {},
    "java": {},
}
SOURCES = {
    "go": [f for f in glob.glob(f"{ROOT}/bindings/go/*.go") if not f.endswith("_test.go")],
    "cpp": glob.glob(f"{ROOT}/bindings/cpp/include/featureflags/*.hpp"),
    "java": [f"{ROOT}/bindings/java/src/main/c/featureflags_jni.c"],
}


def go_called(files, exported):
    """The functions the Go package calls (comments stripped) that its dlopen table
    (ffgo_dl.c: X(ret, name, …) / V(name, …)) and its purego build (ffi_purego.go: each
    symbol it resolves, by name) also resolve."""
    code = "".join(re.sub(r"//[^\n]*", "", open(f, encoding="utf-8").read()) for f in files)
    table_src = open(f"{ROOT}/bindings/go/ffgo_dl.c", encoding="utf-8").read()
    table = set(re.findall(r"^\s*X\([^,]+, (ff_\w+),", table_src, re.M))
    table |= set(re.findall(r"^\s*V\((ff_\w+),", table_src, re.M))
    purego_src = re.sub(r"//[^\n]*", "", open(f"{ROOT}/bindings/go/ffi_purego.go", encoding="utf-8").read())
    purego = set(re.findall(r'"(ff_\w+)"', purego_src))
    return {f for f in exported if re.search(rf"\b{f}\(", code) and f in table and f in purego}


def main() -> int:
    header = open(f"{ROOT}/include/featureflags.h", encoding="utf-8").read()
    exported = sorted(set(re.findall(r"^[\w \*]*?\b(ff_\w+)\(", header, re.M)))
    problems = []
    for binding, files in SOURCES.items():
        text = "".join(open(f, encoding="utf-8").read() for f in files)
        if binding == "go":
            called = go_called(files, exported)
        else:
            called = {f for f in exported if re.search(rf"\b{f}\b", text)}
        missing = {
            f
            for f in exported
            if f not in called and f not in NOT_NEEDED and not (f in SUPERSEDED and SUPERSEDED[f] in called)
        }
        gaps = set(KNOWN_GAPS[binding])
        for f in sorted(missing - gaps):
            problems.append(f"{binding}: {f} is not wrapped")
        for f in sorted(gaps - missing):
            problems.append(f"{binding}: {f} is wrapped now; remove it from KNOWN_GAPS")
        print(f"{binding}: {len(exported) - len(missing)} of {len(exported)} functions wrapped"
              + (f"; open: {', '.join(f'{f} ({why})' for f, why in KNOWN_GAPS[binding].items())}" if gaps else ""))
    # Each native method is called somewhere besides its declaration: by a public method,
    # or by the checks that run when the library loads.
    java_main = glob.glob(f"{ROOT}/bindings/java/src/main/java/io/featureflags/*.java")
    code = "".join(open(f, encoding="utf-8").read() for f in java_main)
    calls = re.sub(r"static native [^;]*;", "", code)
    for name in re.findall(r"static native \S+ (\w+)\(", code):
        if not re.search(rf"\b{name}\(", calls):
            problems.append(f"java: native {name} is never called")
    for p in problems:
        print(p, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
