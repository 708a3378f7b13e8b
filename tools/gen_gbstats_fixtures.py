#!/usr/bin/env python3
"""Generate reference values for ratio metrics and CUPED from GrowthBook's gbstats.

Usage:
    python3 -m venv target/stats-venv
    target/stats-venv/bin/pip install -r tools/requirements-stats.txt
    target/stats-venv/bin/python tools/gen_gbstats_fixtures.py

Writes crates/featureflags/tests/fixtures/gbstats/{ratio,cuped}.json: a list of cases,
each an `ff_analyze_json` input (per-variant sums computed from seeded per-user data)
and, per non-control variant, what gbstats 0.8.0 computes:

  ratio   RatioStatistic(m_statistic, d_statistic, m_d_sum_of_products): the delta-method
          mean and per-user variance of each arm;
  cuped   RegressionAdjustedStatistic(post_statistic, pre_statistic, post_pre_sum_of_products)
          with theta from gbstats' compute_theta (both arms pooled);

then TwoSidedTTest(FrequentistConfig(difference_type="absolute" / "relative")) for the
estimate, its CI and the p-value (the p-value re-evaluated with scipy's t.sf from gbstats'
statistic and degrees of freedom, since gbstats' 1 − cdf loses small p-values). The generated files are committed, so `cargo test`
needs no Python. crates/featureflags/tests/stats_gbstats.rs compares them.
"""
import json
import os

import numpy as np
from scipy.stats import t as scipy_t
from gbstats.frequentist.tests import FrequentistConfig, TwoSidedTTest
from gbstats.models.statistics import (RatioStatistic, RegressionAdjustedStatistic,
                                       SampleMeanStatistic, compute_theta)

OUT = os.path.join(os.path.dirname(__file__), "..", "crates", "featureflags", "tests", "fixtures", "gbstats")
ALPHA = 0.05


def ttest(a, b, kind):
    r = TwoSidedTTest(a, b, FrequentistConfig(alpha=ALPHA, difference_type=kind)).compute_result()
    assert r.error_message is None, r.error_message
    return r


def ratio_case(rng, i):
    k = 2 + (i % 3 == 0)  # some three-variant cases
    variants, stats = {}, {}
    for v in range(k):
        n = int(rng.choice([40, 300, 2000, 20000]))
        rate = rng.uniform(0.5, 3.0)
        d = rng.poisson(rate, n).astype(float)  # e.g. orders per user
        d[rng.random(n) < 0.2] += 1
        value = rng.lognormal(2.0 + 0.05 * v, rng.uniform(0.3, 1.2), n)
        m = np.round(d * value, 2)  # revenue per user, proportional to orders
        name = "control" if v == 0 else f"v{v}"
        variants[name] = {"users": n, "sum": float(m.sum()), "sum_squares": float((m * m).sum()),
                          "denominator_sum": float(d.sum()), "denominator_sum_squares": float((d * d).sum()),
                          "sum_products": float((m * d).sum())}
        x = variants[name]
        stats[name] = lambda x=x, n=n: RatioStatistic(
            n=n, m_statistic=SampleMeanStatistic(n=n, sum=x["sum"], sum_squares=x["sum_squares"]),
            d_statistic=SampleMeanStatistic(n=n, sum=x["denominator_sum"], sum_squares=x["denominator_sum_squares"]),
            m_d_sum_of_products=x["sum_products"])
    return {"input": {"metric": "ratio", "control": "control", "variants": variants}}, stats


def cuped_case(rng, i):
    k = 2 + (i % 4 == 0)
    rho = rng.uniform(0.1, 0.95)
    variants, stats = {}, {}
    for v in range(k):
        n = int(rng.choice([30, 500, 5000, 50000]))
        x = rng.gamma(2.0, 10.0, n)  # pre-period spend
        noise = rng.normal(0.0, 1.0, n) * x.std()
        y = rho * x + np.sqrt(1 - rho * rho) * noise + 20.0 + (0.4 * v)
        if i % 2:
            y = np.maximum(np.round(y), 0.0)  # a count-like metric
        name = "control" if v == 0 else f"v{v}"
        variants[name] = {"users": n, "sum": float(y.sum()), "sum_squares": float((y * y).sum()),
                          "sum_x": float(x.sum()), "sum_x2": float((x * x).sum()), "sum_xy": float((x * y).sum())}
        s = variants[name]
        stats[name] = lambda s=s, n=n: RegressionAdjustedStatistic(
            n=n, post_statistic=SampleMeanStatistic(n=n, sum=s["sum"], sum_squares=s["sum_squares"]),
            pre_statistic=SampleMeanStatistic(n=n, sum=s["sum_x"], sum_squares=s["sum_x2"]),
            post_pre_sum_of_products=s["sum_xy"], theta=0.0)
    return {"input": {"metric": "revenue", "control": "control", "variants": variants}}, stats


def expected(case, stats):
    names = list(case["input"]["variants"])
    out = {}
    for name in names[1:]:
        a, b = stats["control"](), stats[name]()
        ab = ttest(a, b, "absolute")
        rel = ttest(stats["control"](), stats[name](), "relative")
        t = TwoSidedTTest(stats["control"](), stats[name](), FrequentistConfig(alpha=ALPHA, difference_type="absolute"))
        # gbstats' p-value is 2·(1 − cdf), which cancels to ~1e-16 absolute: the reference is
        # the same statistic's tail from scipy's sf, checked against gbstats' own value.
        p = float(2 * scipy_t.sf(abs(ab.expected / ab.uplift.stddev), t.dof))
        assert abs(p - ab.p_value) < 1e-14, (p, ab.p_value)
        row = {"absolute_uplift": ab.expected, "absolute_ci": list(ab.ci), "p_value": p, "df": t.dof,
               "relative_uplift": rel.expected, "relative_ci": list(rel.ci)}
        if isinstance(a, RegressionAdjustedStatistic):
            row["theta"] = compute_theta(stats["control"](), stats[name]())
        out[name] = row
    if isinstance(stats["control"](), RatioStatistic):
        for name in names:
            s = stats[name]()
            out.setdefault(name, {})["mean"] = s.mean
            out[name]["sd"] = float(np.sqrt(s.variance))
    return out


def main():
    os.makedirs(OUT, exist_ok=True)
    for kind, make, count in [("ratio", ratio_case, 120), ("cuped", cuped_case, 120)]:
        rng = np.random.default_rng(20261201 + len(kind))
        cases = []
        for i in range(count):
            case, stats = make(rng, i)
            case["name"] = f"{kind}_{i}"
            case["expected"] = expected(case, stats)
            cases.append(case)
        with open(os.path.join(OUT, f"{kind}.json"), "w") as fh:
            json.dump(cases, fh, indent=1)
            fh.write("\n")
        print(f"wrote {count} {kind} cases")


if __name__ == "__main__":
    main()
