#!/usr/bin/env python3
"""Independent reference evaluator for the featureflags conformance vectors.

Python 3 standard library only. Loads config.json, flags.json, bucketing.json and
invalid.json from this directory and checks every case against the semantics of
docs/design.md §3/§4 (summarised in README.md). Prints "N passed, 0 failed" and exits
non-zero on any failure.

This file is deliberately written from the contract, not from the Rust engine.
"""

import datetime
import hashlib
import json
import math
import os
import re
import sys
from fractions import Fraction

HERE = os.path.dirname(os.path.abspath(__file__))
BUCKETS = 100000
MAX_DEPTH = 32

# --------------------------------------------------------------------------- bucketing


def bucket(salt, key):
    digest = hashlib.sha256((salt + "." + key).encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % BUCKETS


def round_half_away(x):
    if x < 0:
        return -round_half_away(-x)
    f = math.floor(x)
    return int(f) + (1 if x - f >= 0.5 else 0)


def percentage_threshold(p):
    return round_half_away(p * 1000.0)


def split_pick(split, b):
    """split: list of (variant, weight) in document order."""
    total = 0.0
    for _, w in split:
        total += float(w)
    cum = 0.0
    for v, w in split:
        cum += float(w)
        if b < round_half_away(float(BUCKETS) * cum / total):
            return v
    raise AssertionError("split fell through")


# --------------------------------------------------------------------------- types


def is_str(x):
    return isinstance(x, str)


def is_num(x):
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def is_bool(x):
    return isinstance(x, bool)


def is_scalar(x):
    return is_str(x) or is_num(x) or is_bool(x)


def kind(x):
    if is_bool(x):
        return "bool"
    if is_num(x):
        return "num"
    if is_str(x):
        return "str"
    return "other"


RFC3339 = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$"
)


def parse_rfc3339(s):
    """Exact instant as Fraction seconds since the epoch, or None."""
    m = RFC3339.match(s)
    if not m:
        return None
    y, mo, d, h, mi, se = (int(m.group(i)) for i in range(1, 7))
    try:
        dt = datetime.datetime(y, mo, d, h, mi, se, tzinfo=datetime.timezone.utc)
    except ValueError:
        return None
    secs = Fraction(int(dt.timestamp()))
    if m.group(7):
        secs += Fraction(m.group(7)[1:]) / (10 ** (len(m.group(7)) - 1))
    tz = m.group(8)
    if tz not in ("Z", "z"):
        oh, om = int(tz[1:3]), int(tz[4:6])
        if oh > 23 or om > 59:
            return None
        off = oh * 3600 + om * 60
        secs -= off if tz[0] == "+" else -off
    return secs


def instant(x):
    if is_num(x):
        return Fraction(x)
    if is_str(x):
        return parse_rfc3339(x)
    return None


SEMVER = re.compile(
    r"^v?(0|[1-9]\d*)(?:\.(0|[1-9]\d*))?(?:\.(0|[1-9]\d*))?"
    r"(?:-([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?"
    r"(?:\+([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?$"
)


def parse_version(s):
    if not is_str(s):
        return None
    m = SEMVER.match(s)
    if not m:
        return None
    core = tuple(int(m.group(i) or 0) for i in (1, 2, 3))
    pre = tuple(m.group(4).split(".")) if m.group(4) else ()
    for ident in pre:
        if ident.isdigit() and len(ident) > 1 and ident[0] == "0":
            return None
    return core, pre


def cmp_ident(a, b):
    an, bn = a.isdigit(), b.isdigit()
    if an and bn:
        return (int(a) > int(b)) - (int(a) < int(b))
    if an:
        return -1
    if bn:
        return 1
    return (a > b) - (a < b)


def cmp_version(x, y):
    if x[0] != y[0]:
        return -1 if x[0] < y[0] else 1
    px, py = x[1], y[1]
    if not px and not py:
        return 0
    if not px:
        return 1
    if not py:
        return -1
    for a, b in zip(px, py):
        c = cmp_ident(a, b)
        if c:
            return c
    return (len(px) > len(py)) - (len(px) < len(py))


# --------------------------------------------------------------------------- conditions

MISSING = object()


def as_list(v):
    return v if isinstance(v, list) else [v]


def clause(op, a, value):
    """Attribute clause; a is MISSING when absent."""
    if op == "exists":
        return a is not MISSING
    if op == "not_exists":
        return a is MISSING
    if a is MISSING:
        return False
    if op in ("equals", "not_equals"):
        if kind(a) != kind(value):
            return False
        return (a == value) if op == "equals" else (a != value)
    if op == "in":
        return any(kind(a) == kind(e) and a == e for e in value)
    if op == "not_in":
        same = [e for e in value if kind(e) == kind(a)]
        return bool(same) and all(a != e for e in same)
    if op in ("contains", "not_contains", "starts_with", "ends_with"):
        if not is_str(a):
            return False
        vals = as_list(value)
        if op == "contains":
            return any(v in a for v in vals)
        if op == "not_contains":
            return not any(v in a for v in vals)
        if op == "starts_with":
            return any(a.startswith(v) for v in vals)
        return any(a.endswith(v) for v in vals)
    if op == "matches":
        return is_str(a) and re.search(value, a) is not None
    if op in ("greater_than", "greater_or_equal", "less_than", "less_or_equal"):
        if not is_num(a):
            return False
        return {
            "greater_than": a > value,
            "greater_or_equal": a >= value,
            "less_than": a < value,
            "less_or_equal": a <= value,
        }[op]
    if op == "between":
        return is_num(a) and value[0] <= a <= value[1]
    if op in ("before", "after"):
        ia, iv = instant(a), instant(value)
        if ia is None:
            return False
        return ia < iv if op == "before" else ia > iv
    if op.startswith("version_"):
        va, vv = parse_version(a), parse_version(value)
        if va is None:
            return False
        c = cmp_version(va, vv)
        return {
            "version_equals": c == 0,
            "version_greater_than": c > 0,
            "version_greater_or_equal": c >= 0,
            "version_less_than": c < 0,
            "version_less_or_equal": c <= 0,
        }[op]
    raise ValueError("unknown op " + op)


class Scope:
    """Where a condition is evaluated: a flag rule or a segment definition."""

    def __init__(self, salt, key):
        self.salt = salt  # percentage salt
        self.key = key  # bucketing key, None when unavailable


def lookup(ctx, attr):
    if attr == "user_id":
        return ctx["user_id"]
    return ctx.get("attributes", {}).get(attr, MISSING)


def cond(c, ctx, scope, segments):
    if "all" in c:
        return all(cond(x, ctx, scope, segments) for x in c["all"])
    if "any" in c:
        return any(cond(x, ctx, scope, segments) for x in c["any"])
    if "not" in c:
        return not cond(c["not"], ctx, scope, segments)
    if "segment" in c:
        name = c["segment"]
        return cond(segments[name], ctx, Scope("segment." + name, ctx["user_id"]), segments)
    if "percentage" in c:
        if scope.key is None:
            return False
        return bucket(scope.salt, scope.key) < percentage_threshold(c["percentage"])
    return clause(c["op"], lookup(ctx, c["attr"]), c.get("value"))


# --------------------------------------------------------------------------- flags

BOOLEANISH = ("boolean", "kill_switch", "percentage")


def off_variant(f):
    if f["type"] in BOOLEANISH:
        return "off"
    return f.get("off_variant")


def default_serve(f):
    t = f["type"]
    if t == "percentage":
        p = f["percentage"]
        return {"split": {"on": p, "off": 100 - p}}
    if t in ("boolean", "kill_switch"):
        return f.get("default", "on")
    return f["default"]


def to_ms(s):
    return parse_rfc3339(s) * 1000


def evaluate(config, key, ctx, overrides, now_ms):
    """Returns (variant, reason, rule_index, rule_id)."""
    flags = config["flags"]
    f = flags.get(key)
    if f is None:
        return None, "FLAG_NOT_FOUND", None, None
    if key in overrides:
        return overrides[key], "OVERRIDE", None, None
    off = off_variant(f)
    if not f.get("enabled", True):
        return off, "DISABLED", None, None
    sched = f.get("schedule")
    if sched:
        if "enable_at" in sched and now_ms < to_ms(sched["enable_at"]):
            return off, "SCHEDULED_OFF", None, None
        if "disable_at" in sched and now_ms >= to_ms(sched["disable_at"]):
            return off, "SCHEDULED_OFF", None, None
    for p in f.get("prerequisites", []):
        v = evaluate(config, p["flag"], ctx, overrides, now_ms)[0]
        if v != p["variant"]:
            return off, "PREREQUISITE_FAILED", None, None
    salt = f.get("salt", key)
    if "bucket_by" in f:
        bk = ctx.get("attributes", {}).get(f["bucket_by"], MISSING)
        if f["bucket_by"] == "user_id":
            bk = ctx["user_id"]
        bkey = bk if is_str(bk) else None
    else:
        bkey = ctx["user_id"]
    segments = config.get("segments", {})
    for i, r in enumerate(f.get("rules", [])):
        rid = r.get("id", str(i))
        if cond(r["when"], ctx, Scope(salt + ".rule." + rid, bkey), segments):
            s = r["serve"]
            if is_str(s):
                return s, "RULE_MATCH", i, rid
            if bkey is None:
                return None, "ERROR", i, rid
            return split_pick(list(s["split"].items()), bucket(salt, bkey)), "RULE_MATCH", i, rid
    d = default_serve(f)
    if is_str(d):
        return d, "DEFAULT", None, None
    if bkey is None:
        return None, "ERROR", None, None
    return split_pick(list(d["split"].items()), bucket(salt, bkey)), "SPLIT", None, None


def value_of(config, key, variant):
    if variant is None:
        return None
    f = config["flags"][key]
    if f["type"] in BOOLEANISH:
        return variant == "on"
    return f["variants"][variant]


def is_enabled(config, key, variant):
    f = config["flags"].get(key)
    if f is None or f["type"] == "multivariate" or variant is None:
        return False  # caller default (false); TYPE_MISMATCH for multivariate
    return variant == "on"


# --------------------------------------------------------------------------- validation

TOP_KEYS = {"schema_version", "revision", "segments", "flags"}
FLAG_KEYS = {"description", "tags", "type", "enabled", "variants", "default", "off_variant",
             "percentage", "rules", "prerequisites", "schedule", "bucket_by", "salt"}
RULE_KEYS = {"id", "when", "serve"}
OPS_SCALAR = {"equals", "not_equals"}
OPS_LIST = {"in", "not_in"}
OPS_STRING = {"contains", "not_contains", "starts_with", "ends_with"}
OPS_NUM = {"greater_than", "greater_or_equal", "less_than", "less_or_equal"}
OPS_TIME = {"before", "after"}
OPS_EXIST = {"exists", "not_exists"}
OPS_VERSION = {"version_equals", "version_greater_than", "version_greater_or_equal",
               "version_less_than", "version_less_or_equal"}
ALL_OPS = OPS_SCALAR | OPS_LIST | OPS_STRING | OPS_NUM | OPS_TIME | OPS_EXIST | OPS_VERSION | {"matches", "between"}


def three_decimals(x):
    s = x * 1000.0
    return abs(s - round(s)) <= 1e-6 * max(1.0, abs(s))


def validate(config):
    problems = []

    def bad(path, msg):
        problems.append(path + ": " + msg)

    if not isinstance(config, dict):
        bad("", "config must be an object")
        return problems
    for k in config:
        if k not in TOP_KEYS:
            bad(k, "unknown key")
    sv = config.get("schema_version")
    if not (is_num(sv) and sv == 1):
        bad("schema_version", "must be 1")
    segments = config.get("segments", {})
    flags = config.get("flags", {})

    def check_cond(c, path, depth, in_segment):
        if depth > MAX_DEPTH:
            bad(path, "nesting deeper than %d" % MAX_DEPTH)
            return
        if not isinstance(c, dict):
            bad(path, "condition must be an object")
            return
        forms = [k for k in ("all", "any", "not", "segment", "percentage", "attr") if k in c]
        if len(forms) != 1:
            bad(path, "condition must have exactly one form")
            return
        form = forms[0]
        allowed = {"attr", "op", "value"} if form == "attr" else {form}
        for k in c:
            if k not in allowed:
                bad(path + "." + k, "unknown key")
        if form in ("all", "any"):
            if not isinstance(c[form], list):
                bad(path + "." + form, "must be an array")
                return
            for i, x in enumerate(c[form]):
                check_cond(x, "%s.%s[%d]" % (path, form, i), depth + 1, in_segment)
        elif form == "not":
            check_cond(c["not"], path + ".not", depth + 1, in_segment)
        elif form == "segment":
            if in_segment:
                bad(path + ".segment", "segments may not reference segments")
            elif c["segment"] not in segments:
                bad(path + ".segment", "unknown segment")
        elif form == "percentage":
            p = c["percentage"]
            if not is_num(p) or not 0 <= p <= 100 or not three_decimals(p):
                bad(path + ".percentage", "percentage must be 0..100 with <= 3 decimals")
        else:
            if not is_str(c["attr"]):
                bad(path + ".attr", "must be a string")
            op = c.get("op")
            if op not in ALL_OPS:
                bad(path + ".op", "unknown operator")
                return
            vpath = path + ".value"
            if op in OPS_EXIST:
                if "value" in c:
                    bad(vpath, "exists/not_exists take no value")
                return
            if "value" not in c:
                bad(path, "missing value")
                return
            v = c["value"]
            ok = True
            if op in OPS_SCALAR:
                ok = is_scalar(v)
            elif op in OPS_LIST:
                ok = isinstance(v, list) and len(v) > 0 and all(is_scalar(e) for e in v)
            elif op in OPS_STRING:
                ok = is_str(v) or (isinstance(v, list) and len(v) > 0 and all(is_str(e) for e in v))
            elif op == "matches":
                ok = is_str(v)
                if ok:
                    try:
                        re.compile(v)
                    except re.error:
                        ok = False
            elif op in OPS_NUM:
                ok = is_num(v)
            elif op == "between":
                ok = isinstance(v, list) and len(v) == 2 and all(is_num(e) for e in v) and v[0] <= v[1]
            elif op in OPS_TIME:
                ok = instant(v) is not None
            elif op in OPS_VERSION:
                ok = parse_version(v) is not None
            if not ok:
                bad(vpath, "invalid value for " + op)

    if not isinstance(segments, dict):
        bad("segments", "must be an object")
        segments = {}
    for name, c in segments.items():
        check_cond(c, "segments." + name, 1, True)

    if not isinstance(flags, dict):
        bad("flags", "must be an object")
        flags = {}

    def variants_of(f):
        t = f.get("type") if isinstance(f, dict) else None
        if t in BOOLEANISH:
            return {"on", "off"}
        if t == "multivariate" and isinstance(f.get("variants"), dict):
            return set(f["variants"])
        return set()

    def check_serve(s, path, vs):
        if is_str(s):
            if s not in vs:
                bad(path, "unknown variant")
            return
        if not isinstance(s, dict) or set(s) != {"split"} or not isinstance(s["split"], dict):
            bad(path, "serve must be a variant or {\"split\": {...}}")
            return
        total = 0.0
        for v, w in s["split"].items():
            wp = path + ".split." + v
            if v not in vs:
                bad(wp, "unknown variant")
            if not is_num(w) or w < 0:
                bad(wp, "weight must be a non-negative number")
                continue
            if not three_decimals(w):
                bad(wp, "weight has more than three decimals")
            total += w
        if not total > 0:
            bad(path + ".split", "weights sum to zero")

    for key, f in flags.items():
        fp = "flags." + key
        if not isinstance(f, dict):
            bad(fp, "flag must be an object")
            continue
        for k in f:
            if k not in FLAG_KEYS:
                bad(fp + "." + k, "unknown key")
        t = f.get("type")
        if t not in BOOLEANISH + ("multivariate",):
            bad(fp + ".type", "unknown type")
            continue
        if "enabled" in f and not is_bool(f["enabled"]):
            bad(fp + ".enabled", "must be a boolean")
        vs = variants_of(f)
        if t in BOOLEANISH and "variants" in f:
            bad(fp + ".variants", "not allowed for " + t)
        if t == "kill_switch" and "rules" in f:
            bad(fp + ".rules", "not allowed for kill_switch")
        if t == "percentage":
            p = f.get("percentage")
            if "percentage" not in f:
                bad(fp, "missing percentage")
            elif not is_num(p) or not 0 <= p <= 100 or not three_decimals(p):
                bad(fp + ".percentage", "percentage must be 0..100 with <= 3 decimals")
            if "default" in f:
                bad(fp + ".default", "not allowed for percentage")
        elif "percentage" in f:
            bad(fp + ".percentage", "only for percentage flags")
        if t == "multivariate":
            if not isinstance(f.get("variants"), dict) or not f["variants"]:
                bad(fp + ".variants", "required non-empty object")
            if "default" not in f:
                bad(fp, "missing default")
        if "default" in f and t != "percentage":
            check_serve(f["default"], fp + ".default", vs)
        if "off_variant" in f and f["off_variant"] not in vs:
            bad(fp + ".off_variant", "unknown variant")
        for k in ("bucket_by", "salt", "description"):
            if k in f and not is_str(f[k]):
                bad(fp + "." + k, "must be a string")
        rules = f.get("rules", [])
        if not isinstance(rules, list):
            bad(fp + ".rules", "must be an array")
            rules = []
        for i, r in enumerate(rules):
            rp = "%s.rules[%d]" % (fp, i)
            if not isinstance(r, dict):
                bad(rp, "rule must be an object")
                continue
            for k in r:
                if k not in RULE_KEYS:
                    bad(rp + "." + k, "unknown key")
            if "when" not in r or "serve" not in r:
                bad(rp, "rule needs when and serve")
                continue
            if "id" in r and not is_str(r["id"]):
                bad(rp + ".id", "must be a string")
            check_cond(r["when"], rp + ".when", 1, False)
            check_serve(r["serve"], rp + ".serve", vs)
        for i, p in enumerate(f.get("prerequisites", [])):
            pp = "%s.prerequisites[%d]" % (fp, i)
            if not isinstance(p, dict) or set(p) - {"flag", "variant"}:
                bad(pp, "prerequisite must be {flag, variant}")
                continue
            target = flags.get(p.get("flag"))
            if target is None:
                bad(pp + ".flag", "unknown flag")
            elif p.get("variant") not in variants_of(target):
                bad(pp + ".variant", "unknown variant")
        sched = f.get("schedule")
        if sched is not None:
            if not isinstance(sched, dict):
                bad(fp + ".schedule", "must be an object")
            else:
                for k, v in sched.items():
                    if k not in ("enable_at", "disable_at"):
                        bad(fp + ".schedule." + k, "unknown key")
                    elif not is_str(v) or parse_rfc3339(v) is None:
                        bad(fp + ".schedule." + k, "invalid RFC 3339 instant")

    # prerequisite cycles
    state = {}

    def visit(k):
        state[k] = 1
        for p in flags[k].get("prerequisites", []) if isinstance(flags[k], dict) else []:
            t = p.get("flag") if isinstance(p, dict) else None
            if t in flags:
                if state.get(t) == 1:
                    bad("flags.%s.prerequisites" % k, "prerequisite cycle through " + t)
                elif t not in state:
                    visit(t)
        state[k] = 2

    for k in flags:
        if k not in state:
            visit(k)
    return problems


# --------------------------------------------------------------------------- main


def main():
    passed = failed = 0

    def check(ok, what):
        nonlocal passed, failed
        if ok:
            passed += 1
        else:
            failed += 1
            print("FAIL:", what)

    config = json.load(open(os.path.join(HERE, "config.json"), encoding="utf-8"))
    probs = validate(config)
    check(not probs, "config.json validates: %s" % probs)

    suite = json.load(open(os.path.join(HERE, "flags.json"), encoding="utf-8"))
    assert suite["config"] == "config.json"
    ncases = 0
    for sc in suite["scenarios"]:
        overrides = sc.get("overrides", {})
        for fk, v in overrides.items():
            check(fk in config["flags"] and v in (
                {"on", "off"} if config["flags"][fk]["type"] in BOOLEANISH else set(config["flags"][fk]["variants"])),
                "override %s=%s names a known flag and variant" % (fk, v))
        for case in sc["cases"]:
            ncases += 1
            variant, reason, ri, rid = evaluate(config, case["flag"], case["context"], overrides, sc["time_ms"])
            got = {
                "variant": variant,
                "reason": reason,
                "rule_index": ri,
                "rule_id": rid,
                "value": value_of(config, case["flag"], variant) if case["flag"] in config["flags"] else None,
                "enabled": is_enabled(config, case["flag"], variant),
            }
            exp = case["expect"]
            same = set(exp) == set(got) and all(
                exp[k] == got[k] and kind(exp[k]) == kind(got[k]) for k in got)
            check(same, "%s / %s: expected %s, got %s" % (sc["name"], case["name"], exp, got))

    buckets = json.load(open(os.path.join(HERE, "bucketing.json"), encoding="utf-8"))
    for e in buckets:
        check(bucket(e["salt"], e["key"]) == e["bucket"], "bucket(%r, %r) = %s" % (e["salt"], e["key"], e["bucket"]))

    invalid = json.load(open(os.path.join(HERE, "invalid.json"), encoding="utf-8"))
    for case in invalid:
        probs = validate(case["config"])
        check(bool(probs), "invalid/%s is rejected" % case["name"])
        for p in case["paths"]:
            check(any(x.startswith(p) for x in probs),
                  "invalid/%s reports a problem at %s (got %s)" % (case["name"], p, probs))

    print("%d flag cases, %d bucket vectors, %d invalid configs" % (ncases, len(buckets), len(invalid)))
    print("%d passed, %d failed" % (passed, failed))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
