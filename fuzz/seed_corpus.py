#!/usr/bin/env python3
"""Writes the fuzz targets' seed corpora from the repository's own inputs.

    python3 fuzz/seed_corpus.py [OUT]      (default: fuzz/corpus, which git ignores)
    python3 fuzz/seed_corpus.py --dicts    rewrites fuzz/dicts/*.dict (committed)

load_config: every config of tests/vectors/ (config.json and each case of invalid.json),
examples/ and tests/fixtures/. analyze: every statistics fixture's input, ten of each gbstats
fixture set (ratio, CUPED) and one multi-metric input. The structured
targets (evaluate, operations, c_api) read their input through `arbitrary`: their seeds
are byte strings that decode to useful calls (the repository's configs and names as
text), and the fuzzer finds its way from there. Nothing here is committed: the corpora
are made at run time, so they follow the vectors as these change.
"""
import glob
import hashlib
import json
import os
import sys

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))


def read(path):
    with open(os.path.join(ROOT, path), "rb") as f:
        return f.read()


def configs():
    for path in ["tests/vectors/config.json", "examples/trading.json", "tests/fixtures/minimal.json"]:
        yield read(path)
    for case in json.loads(read("tests/vectors/invalid.json")):
        yield json.dumps(case["config"]).encode()


def analysis_inputs():
    for path in sorted(glob.glob(os.path.join(ROOT, "crates/featureflags/tests/fixtures/stats/*.json"))):
        with open(path, "rb") as f:
            doc = json.load(f)
        if isinstance(doc, dict) and "input" in doc:
            yield json.dumps(doc["input"]).encode()
    for path in sorted(glob.glob(os.path.join(ROOT, "crates/featureflags/tests/fixtures/gbstats/*.json"))):
        with open(path, "rb") as f:
            cases = json.load(f)
        for case in cases[:10]:  # ratio and CUPED inputs; ten of each cover their keys
            yield json.dumps(case["input"]).encode()
    # The multi-metric form, with a guardrail and allocation periods.
    yield json.dumps({"control": "a", "allocations": [
        {"from": 0, "weights": {"a": 1, "b": 1}, "users": {"a": 500, "b": 500}},
        {"from": 1, "weights": {"a": 1, "b": 9}, "users": {"a": 100, "b": 900}}],
        "metrics": {"buy": {"role": "primary", "variants": {"a": {"users": 600, "conversions": 60},
                                                             "b": {"users": 1400, "conversions": 170}}},
                    "rejections": {"role": "guardrail", "metric": "count", "higher_is_better": False,
                                   "variants": {"a": {"users": 600, "sum": 12, "sum_squares": 12},
                                                "b": {"users": 1400, "sum": 40, "sum_squares": 44}}},
                    "spend": {"role": "secondary", "metric": "revenue",
                              "variants": {"a": {"users": 600, "sum": 3000, "sum_squares": 90000},
                                           "b": {"users": 1400, "sum": 7500, "sum_squares": 240000}}}}}).encode()


def names():
    """Flag keys, user ids and attribute names/values from the flag vectors."""
    doc = json.loads(read("tests/vectors/flags.json"))
    out = []
    for scenario in doc["scenarios"]:
        for case in scenario["cases"]:
            ctx = case.get("context", {})
            out.append((case["flag"], ctx.get("user_id", ""), ctx.get("attributes", {})))
    return out


def structured(count=64):
    """Byte strings for the `arbitrary` targets: mostly printable text and small numbers,
    which decode to known names, valid strings and short call sequences."""
    seeds = []
    for i, (flag, user, attributes) in enumerate(names()[:count]):
        attrs = "".join(f"{k}\x00{v}\x00" for k, v in attributes.items())
        seeds.append(bytes([i % 3, i % 7, i % 11, 4]) + f"{user}\x00{flag}\x00{attrs}".encode())
    for i in range(16):
        seeds.append(bytes((i * 37 + j * 11) % 256 for j in range(64)))
    return seeds


def write(out, target, inputs):
    directory = os.path.join(out, target)
    os.makedirs(directory, exist_ok=True)
    n = 0
    for data in inputs:
        name = hashlib.sha1(data).hexdigest()
        with open(os.path.join(directory, name), "wb") as f:
            f.write(data)
        n += 1
    return n


def walk(value, keys, strings):
    if isinstance(value, dict):
        for k, v in value.items():
            keys.add(k)
            walk(v, keys, strings)
    elif isinstance(value, list):
        for v in value:
            walk(v, keys, strings)
    elif isinstance(value, str) and len(value) < 24:
        strings.add(value)


def dict_token(text):
    r"""A libFuzzer dictionary entry: quoted, with \\, \" and \xNN escapes only."""
    out = []
    for b in text.encode():
        c = chr(b)
        if c in '\\"':
            out.append("\\" + c)
        elif 32 <= b < 127:
            out.append(c)
        else:
            out.append("\\x%02X" % b)
    return '"' + "".join(out) + '"'


def write_dict(path, header, keys, strings, extra):
    with open(os.path.join(ROOT, path), "w") as f:
        f.write(f"# {header}\n# Written by fuzz/seed_corpus.py --dicts.\n")
        for k in sorted(keys):
            f.write(dict_token(json.dumps(k) + ":") + "\n")
        for s in sorted(strings):
            f.write(dict_token(json.dumps(s)) + "\n")
        for t in extra:
            f.write(dict_token(t) + "\n")


def dicts():
    keys, strings = set(), set()
    for data in configs():
        walk(json.loads(data), keys, strings)
    # Operators, types, strategies: the lower-case words among the values.
    words = {s for s in strings if s.replace("_", "").isalpha() and s.islower()}
    syntax = ["{", "}", "[", "]", ":", ",", "true", "false", "null", "1e308", "-0", "\\u0000", "\\ud800"]
    write_dict("fuzz/dicts/config.dict", "JSON keys and keywords of the native config format (tests/vectors/, examples/).",
               keys, words, syntax)
    keys, strings = set(), set()
    for data in analysis_inputs():
        walk(json.loads(data), keys, strings)
    write_dict("fuzz/dicts/analyze.dict", "JSON keys and values of ff_analyze_json's input (the statistics fixtures).",
               keys, strings, syntax[:9] + ["1e-320", "-1", "0"])


def main():
    if sys.argv[1:] == ["--dicts"]:
        dicts()
        return
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "fuzz", "corpus")
    counts = {
        "load_config": write(out, "load_config", configs()),
        "analyze": write(out, "analyze", analysis_inputs()),
        "evaluate": write(out, "evaluate", structured()),
        "operations": write(out, "operations", structured()),
        "c_api": write(out, "c_api", structured() + list(analysis_inputs())[:4]),
    }
    print("seeds: " + ", ".join(f"{t} {n}" for t, n in counts.items()))


if __name__ == "__main__":
    main()
