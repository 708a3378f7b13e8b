#!/usr/bin/env python3
"""Checks a report as Chromium rendered it: the DOM Chromium dumped after loading the
page must plot exactly the input's figures, and the browser's log must hold no console
error (a script error, a blocked network request, a CSP violation).

usage: check_report.py DOM.html CHROMIUM_STDERR RESULTS.json TIMESERIES.json FUNNEL.json SCHEDULE.json
"""
import json
import re
import sys
from html.parser import HTMLParser


class Elements(HTMLParser):
    def __init__(self):
        super().__init__()
        self.elements = []

    def handle_starttag(self, tag, attrs):
        self.elements.append((tag, dict(attrs)))

    handle_startendtag = handle_starttag

    def having(self, cls):
        return [a for _, a in self.elements if cls in (a.get("class") or "").split()]


def main():
    dom_path, log_path, results_path, series_path, funnel_path, schedule_path = sys.argv[1:7]
    dom = open(dom_path, encoding="utf-8").read()
    log = open(log_path, encoding="utf-8", errors="replace").read()
    results = json.load(open(results_path))
    series = json.load(open(series_path))
    funnel = json.load(open(funnel_path))
    schedule = json.load(open(schedule_path))
    failures = []

    def check(cond, what):
        if not cond:
            failures.append(what)

    # Console errors: Chromium logs console messages, uncaught exceptions and CSP
    # violations as CONSOLE lines on stderr (--enable-logging=stderr).
    console = [l for l in log.splitlines() if "CONSOLE" in l]
    check(not console, "console messages: " + "\n".join(console))
    check("</html>" in dom or "</body>" in dom, "no document was dumped")

    page = Elements()
    page.feed(dom)
    primary = results["primary_metric"]
    rows = results["metrics"][primary]["variants"]

    # Cumulative uplift: the last point of each variant is the results' relative uplift
    # and CI; every point equals its interval's cumulative figure.
    points = page.having("uplift-point")
    check(points, "no uplift points")
    by_variant = {}
    for p in points:
        by_variant.setdefault(p["data-variant"], []).append(p)
    interval = series["interval_ms"]
    cumulative = {iv["start_ms"] + interval: iv["cumulative"] for iv in series["intervals"]}
    for p in points:
        want = cumulative[int(p["data-t"])][p["data-variant"]]
        check(float(p["data-uplift"]) == want["relative_uplift"], f"point {p}: != {want['relative_uplift']}")
        check(float(p["data-lower"]) == want["relative_ci"]["lower"], f"point {p}: lower")
        check(float(p["data-upper"]) == want["relative_ci"]["upper"], f"point {p}: upper")
    for row in rows:
        if row["vs_control"] is None:
            continue
        last = by_variant.get(row["name"], [None])[-1]
        check(last is not None, f"no points for {row['name']}")
        if last is not None:
            check(float(last["data-uplift"]) == row["vs_control"]["relative_uplift"],
                  f"last uplift {last['data-uplift']} != results {row['vs_control']['relative_uplift']}")
            check(float(last["data-lower"]) == row["vs_control"]["relative_ci"]["lower"], "last lower")
            check(float(last["data-upper"]) == row["vs_control"]["relative_ci"]["upper"], "last upper")

    # Anomalies: one marker each.
    marks = page.having("anomaly")
    check(len(marks) == len(series["anomalies"]), f"{len(marks)} anomaly marks, {len(series['anomalies'])} anomalies")
    for m, a in zip(marks, series["anomalies"]):
        check(int(m["data-t"]) == a["interval_start_ms"] and m["data-variant"] == a["variant"], f"anomaly {m} != {a}")

    # Per-variant conversion with its CI.
    rates = [p for p in page.having("rate-point") if "data-control" in p]
    conv = {p["data-variant"]: p for p in rates}
    for row in rows:
        p = conv.get(row["name"])
        check(p is not None, f"no rate point for {row['name']}")
        if p:
            check(float(p["data-value"]) == row["rate"], f"rate {p['data-value']} != {row['rate']}")
            check(float(p["data-lower"]) == row["ci95"]["lower"], "rate lower")
            check(float(p["data-upper"]) == row["ci95"]["upper"], "rate upper")

    # Decision and SRM.
    decision = [a for _, a in page.elements if a.get("id") == "decision"]
    check(decision and decision[0]["data-decision"] == results["decision"], "decision")
    check(decision and decision[0]["data-srm"] == str(results["srm"]).lower(), "srm")

    # Funnel bars: users per step and variant.
    bars = page.having("funnel-bar")
    want_bars = [(s["step"], v, s["users"]) for v, d in funnel["variants"].items() for s in d["steps"]]
    got_bars = [(b["data-step"], b["data-variant"], int(b["data-users"])) for b in bars]
    check(sorted(got_bars) == sorted(want_bars), f"funnel bars {got_bars} != {want_bars}")

    # Breakdowns: one point per segment value and non-control variant.
    want_segments = sum(
        1
        for values in results.get("breakdowns", {}).values()
        for seg in values.values()
        for v in seg["metrics"][primary]["variants"]
        if v["vs_control"] is not None
    )
    segment_points = [p for p in page.having("rate-point") if "data-control" in p and p["data-variant"].count(" · ")]
    check(len(segment_points) == want_segments, f"{len(segment_points)} breakdown points, want {want_segments}")

    # Rollout timeline.
    stages = page.having("rollout-stage")
    check([float(s["data-percentage"]) for s in stages] == [r["percentage"] for r in schedule],
          f"rollout stages {[s['data-percentage'] for s in stages]}")

    if failures:
        print("report check FAILED:\n  " + "\n  ".join(failures))
        return 1
    print(f"report check: {len(points)} uplift points, {len(rates)} interval points, {len(bars)} funnel bars, "
          f"{len(marks)} anomalies, {len(stages)} rollout stages match the input; no console errors")
    return 0


if __name__ == "__main__":
    sys.exit(main())
