#!/usr/bin/env python3
"""Generate reference values for crates/featureflags/src/stats/ with scipy/statsmodels.

Usage:  pip install scipy statsmodels numpy && python3 tools/gen_stats_fixtures.py

Writes crates/featureflags/tests/fixtures/stats/<case>.json (one analysis input + expected output each) and
crates/featureflags/tests/fixtures/stats/planning.json (sample_size / power / minimum_detectable_effect).
The generated files are committed, so `cargo test` does not need Python.

Independent implementations are used wherever a library provides one:
  Wilson CI            statsmodels proportion_confint(method="wilson")
  z-test (pooled)      statsmodels proportions_ztest
  diff CI (unpooled)   statsmodels confint_proportions_2indep(method="wald", compare="diff")
  Welch t-test         scipy.stats.ttest_ind_from_stats(equal_var=False)
  t CI of a mean       scipy.stats.t.interval
  SRM                  scipy.stats.chisquare
  Holm                 statsmodels multipletests(method="holm")
  chance to beat       scipy.integrate.quad of f_T(x) F_C(x)
  expected loss        scipy.integrate.quad of f_C(x) E[(x - p_T)+]
Sequential N* is the input `sequential_tuning`; without it, twice the required sample per
variant when an MDE is given, else 10,000.
  power / sample size  statsmodels NormalIndPower (checked against the closed formula)
The relative-uplift delta-method CI and the sequential confidence sequence have no
library implementation; they are written out from the published formulas here.
"""
import json
import math
import os

import numpy as np
from scipy import integrate, optimize, stats
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.power import NormalIndPower
from statsmodels.stats.proportion import (confint_proportions_2indep,
                                          proportion_confint, proportions_ztest)

OUT = os.path.join(os.path.dirname(__file__), "..", "crates", "featureflags", "tests", "fixtures", "stats")


def beta_params(conv, users):
    return 1 + conv, 1 + users - conv


def window(a, b, k=40.0):
    m = a / (a + b)
    sd = math.sqrt(a * b / ((a + b) ** 2 * (a + b + 1)))
    return max(0.0, m - k * sd), min(1.0, m + k * sd), m


def quad(f, lo, hi, pts):
    pts = sorted(p for p in pts if lo < p < hi)
    v, err = integrate.quad(f, lo, hi, points=pts or None, epsabs=1e-22, epsrel=1e-13, limit=1000)
    assert err <= 1e-11 * abs(v) + 1e-16, (v, err)
    return v


def chance_to_beat(cc, nc, ct, nt):
    ac, bc = beta_params(cc, nc)
    at, bt = beta_params(ct, nt)
    lo1, hi1, m1 = window(at, bt)
    lo2, hi2, m2 = window(ac, bc)
    lo, hi = max(lo1, 0.0), hi1
    # P(p_T > p_C) = ∫ f_T(x) F_C(x) dx
    return quad(lambda x: stats.beta.pdf(x, at, bt) * stats.beta.cdf(x, ac, bc), lo, hi, [m1, m2])


def expected_loss(cc, nc, ct, nt):
    ac, bc = beta_params(cc, nc)
    at, bt = beta_params(ct, nt)
    mt = at / (at + bt)
    lo, hi, mc = window(ac, bc)
    # E[max(p_C - p_T, 0)] = ∫ f_C(x) (x F_T(x) - E[p_T] F_{T'}(x)) dx, T' = Beta(at+1, bt)
    inner = lambda x: x * stats.beta.cdf(x, at, bt) - mt * stats.beta.cdf(x, at + 1, bt)
    return quad(lambda x: stats.beta.pdf(x, ac, bc) * inner(x), lo, hi, [mc, at / (at + bt)])


def power_two_sided(d, alpha):
    z = stats.norm.isf(alpha / 2)
    return stats.norm.cdf(d - z) + stats.norm.cdf(-d - z)


def seq_rho(alpha, n_star):
    l = -2 * math.log(alpha)
    return math.sqrt((l + math.log(l + 1)) / n_star)


def seq(diff, var_est, n, alpha, rho):
    s2 = var_est * n
    r2 = rho * rho
    half = math.sqrt(s2 * 2 * (n * r2 + 1) / (n * n * r2) * math.log(math.sqrt(n * r2 + 1) / alpha))
    p = min(1.0, math.sqrt(n * r2 + 1) * math.exp(-diff * diff * n * n * r2 / (2 * s2 * (n * r2 + 1))))
    return {"ci": [diff - half, diff + half], "p_value": p}


def conv_sample_size(p1, mde, alpha, power):
    p2 = p1 * (1 + mde)
    if not (0 < p1 < 1 and 0 < p2 < 1):
        return None
    formula = (stats.norm.isf(alpha / 2) + stats.norm.ppf(power)) ** 2 * (p1 * (1 - p1) + p2 * (1 - p2)) / (p2 - p1) ** 2
    es = (p2 - p1) / math.sqrt((p1 * (1 - p1) + p2 * (1 - p2)) / 2)
    sm = NormalIndPower().solve_power(effect_size=es, alpha=alpha, power=power, ratio=1.0)
    assert abs(sm - formula) / formula < 1e-4, (sm, formula)  # statsmodels adds the far tail
    return formula


def analyze(case):
    inp = case["input"]
    metric = inp.get("metric", "conversion")
    alpha = inp.get("alpha", 0.05)
    power = inp.get("power", 0.8)
    mde = inp.get("mde")
    sequential = inp.get("sequential", False)
    names = list(inp["variants"].keys())
    control = inp.get("control", names[0])
    weights = inp.get("weights", {n: 1.0 for n in names})
    V = inp["variants"]
    raw = case.pop("raw", None)  # per-user data for revenue/count, used for mean/sd
    zc = stats.norm.isf(alpha / 2)

    arms = {}
    exp_vars = {}
    for n in names:
        v = V[n]
        users = v["users"]
        if metric == "conversion":
            c = v["conversions"]
            p = c / users
            arms[n] = dict(n=users, mean=p, var=p * (1 - p), conv=c)
            l95, u95 = proportion_confint(c, users, alpha=0.05, method="wilson")
            l99, u99 = proportion_confint(c, users, alpha=0.01, method="wilson")
            exp_vars[n] = {"rate": p, "sd": math.sqrt(p * (1 - p)), "ci95": [l95, u95], "ci99": [l99, u99]}
        else:
            x = np.asarray(raw[n], dtype=float)
            mean, sd = float(x.mean()), float(x.std(ddof=1))
            arms[n] = dict(n=users, mean=mean, var=sd * sd)
            se = sd / math.sqrt(users)
            ci95 = stats.t.interval(0.95, users - 1, loc=mean, scale=se)
            ci99 = stats.t.interval(0.99, users - 1, loc=mean, scale=se)
            exp_vars[n] = {"mean": mean, "sd": sd, "ci95": list(ci95), "ci99": list(ci99)}

    c = arms[control]
    # required sample size
    req = None
    if mde is not None:
        if metric == "conversion":
            req = conv_sample_size(c["mean"], mde, alpha, power)
        else:
            delta = c["mean"] * mde
            req = (zc + stats.norm.ppf(power)) ** 2 * 2 * c["var"] / delta ** 2
    # N*: the input's; with an MDE, the planned total (both arms at the required sample); else 10,000.
    n_star = inp.get("sequential_tuning", 2.0 * math.ceil(req) if req else 10000.0)
    rho = seq_rho(alpha, n_star)

    comps = {}
    for n in names:
        if n == control:
            continue
        t = arms[n]
        diff = t["mean"] - c["mean"]
        vc, vt = c["var"] / c["n"], t["var"] / t["n"]
        se = math.sqrt(vc + vt)
        out = {"absolute_uplift": diff}
        if metric == "conversion" and t["conv"] + c["conv"] in (0, t["n"] + c["n"]):
            # Both arms all-0 (or all-1): proportions_ztest divides 0 by 0 (nan). The
            # documented convention is statistic null, p = 1 (identical arms).
            lo, hi = confint_proportions_2indep(t["conv"], t["n"], c["conv"], c["n"], method="wald",
                                                compare="diff", alpha=alpha)
            crit = zc
            out.update(statistic=None, df=None, p_value=1.0, absolute_ci=[float(lo), float(hi)])
            out["chance_to_beat"] = chance_to_beat(c["conv"], c["n"], t["conv"], t["n"])
            out["expected_loss"] = expected_loss(c["conv"], c["n"], t["conv"], t["n"])
        elif metric == "conversion":
            z, p = proportions_ztest([t["conv"], c["conv"]], [t["n"], c["n"]])
            lo, hi = confint_proportions_2indep(t["conv"], t["n"], c["conv"], c["n"], method="wald",
                                                compare="diff", alpha=alpha)
            crit = zc
            out.update(statistic=float(z), df=None, p_value=float(p), absolute_ci=[float(lo), float(hi)])
            out["chance_to_beat"] = chance_to_beat(c["conv"], c["n"], t["conv"], t["n"])
            out["expected_loss"] = expected_loss(c["conv"], c["n"], t["conv"], t["n"])
        else:
            tt, p = stats.ttest_ind_from_stats(t["mean"], math.sqrt(t["var"]), t["n"], c["mean"],
                                               math.sqrt(c["var"]), c["n"], equal_var=False)
            df = (vc + vt) ** 2 / (vc ** 2 / (c["n"] - 1) + vt ** 2 / (t["n"] - 1))
            crit = stats.t.isf(alpha / 2, df)
            out.update(statistic=float(tt), df=df, p_value=float(p), absolute_ci=[diff - crit * se, diff + crit * se])
            d = diff / se
            out["chance_to_beat"] = float(stats.norm.cdf(d))
            out["expected_loss"] = float(se * stats.norm.pdf(d) - diff * stats.norm.cdf(-d))
        if c["mean"] != 0:
            rel = diff / c["mean"]
            var_rel = vt / c["mean"] ** 2 + t["mean"] ** 2 * vc / c["mean"] ** 4
            out["relative_uplift"] = rel
            out["relative_ci"] = [rel - crit * math.sqrt(var_rel), rel + crit * math.sqrt(var_rel)]
        else:
            out["relative_uplift"] = None
            out["relative_ci"] = None
        out["power_reached"] = float(power_two_sided(abs(diff) / se, alpha)) if se > 0 else None
        if sequential:
            out["sequential"] = seq(diff, vc + vt, c["n"] + t["n"], alpha, rho)
        comps[n] = out

    cn = list(comps)
    ps = [comps[n]["p_value"] for n in cn]
    adj = multipletests(ps, method="holm")[1] if len(ps) > 1 else ps
    for n, a in zip(cn, adj):
        comps[n]["p_adjusted"] = float(a)
    if sequential:
        sps = [comps[n]["sequential"]["p_value"] for n in cn]
        sadj = multipletests(sps, method="holm")[1] if len(sps) > 1 else sps
        for n, a in zip(cn, sadj):
            comps[n]["sequential"]["p_adjusted"] = float(a)
    for n in cn:
        p = comps[n]["sequential"]["p_adjusted"] if sequential else comps[n]["p_adjusted"]
        comps[n]["significant"] = bool(p < alpha)

    users = np.array([V[n]["users"] for n in names], dtype=float)
    w = np.array([weights[n] for n in names], dtype=float)
    chi = stats.chisquare(users, f_exp=users.sum() * w / w.sum())
    for n in names:
        exp_vars[n]["vs_control"] = comps.get(n)
    return {
        "variants": exp_vars,
        "srm_chi_square": float(chi.statistic),
        "srm_p_value": float(chi.pvalue),
        "srm": bool(chi.pvalue < 0.001),
        "required_sample_size_per_variant": None if req is None else math.ceil(req),
        "required_sample_size_unrounded": req,
        "decision": case.get("decision"),
    }


def revenue_case(name, metric, arms, seed, **kw):
    """arms: list of (name, users, generator) — builds aggregates from raw per-user data."""
    rng = np.random.default_rng(seed)
    raw, variants = {}, {}
    for vn, users, gen in arms:
        x = gen(rng, users)
        if metric == "count":
            x = np.round(x)
        raw[vn] = x.tolist()
        variants[vn] = {"users": users, "sum": float(x.sum()), "sum_squares": float((x * x).sum())}
    inp = {"metric": metric, **kw, "variants": variants}
    return {"name": name, "input": inp, "raw": raw}


def conv(name, arms, **kw):
    return {"name": name, "input": {"metric": "conversion", **kw,
                                    "variants": {n: {"users": u, "conversions": c} for n, u, c in arms}}}


def lognormal(mu, s):
    return lambda rng, n: rng.lognormal(mu, s, n)


def zero_inflated(p, mu, s):
    return lambda rng, n: np.where(rng.random(n) < p, rng.lognormal(mu, s, n), 0.0)


def poisson(lam):
    return lambda rng, n: rng.poisson(lam, n).astype(float)


CASES = [
    {**conv("design_example", [("control", 10000, 1000), ("treatment", 10000, 1100)], control="control",
            alpha=0.05, power=0.8, mde=0.05, weights={"control": 50, "treatment": 50}, sequential=False),
     "decision": "ship treatment"},
    conv("small_samples", [("a", 50, 5), ("b", 48, 9)]),
    conv("low_rate", [("control", 20000, 20), ("treatment", 20000, 35)], mde=0.5),
    conv("high_rate", [("control", 1000, 950), ("treatment", 1000, 970)], mde=0.02),
    conv("three_variants_holm", [("control", 5000, 500), ("b", 5100, 530), ("c", 4950, 560)], mde=0.1),
    conv("unequal_weights", [("control", 10000, 1200), ("b", 5000, 640), ("c", 5050, 590)],
         weights={"control": 2, "b": 1, "c": 1}),
    {**conv("srm", [("control", 10000, 1000), ("treatment", 10600, 1080)]), "decision": "stop: sample ratio mismatch"},
    conv("sequential_with_mde", [("control", 8000, 800), ("treatment", 8000, 880)], mde=0.1, sequential=True),
    conv("sequential_default_tuning", [("control", 3000, 300), ("treatment", 3000, 345)], sequential=True),
    conv("negative_effect", [("control", 4000, 480), ("treatment", 4000, 400)], mde=0.1),
    conv("large_counts", [("control", 200000, 20000), ("treatment", 200000, 20400)], mde=0.02),
    conv("alpha01_power09_control_not_first", [("b", 3000, 390), ("control", 3000, 330)], control="control",
         alpha=0.01, power=0.9, mde=0.15),
    conv("zero_control_conversions", [("control", 30, 0), ("treatment", 30, 1)]),
    conv("four_variants_sequential", [("control", 6000, 600), ("b", 6000, 640), ("c", 6000, 700), ("d", 6000, 590)],
         sequential=True, mde=0.1, alpha=0.1),
    revenue_case("revenue_basic", "revenue",
                 [("control", 1000, zero_inflated(0.3, 3.0, 1.0)), ("treatment", 1000, zero_inflated(0.33, 3.0, 1.0))],
                 1, mde=0.1),
    revenue_case("revenue_small_unequal_var", "revenue",
                 [("control", 12, lognormal(2.0, 0.5)), ("treatment", 9, lognormal(2.3, 1.0))], 2),
    revenue_case("revenue_three_sequential", "revenue",
                 [("control", 2000, lognormal(1.0, 0.8)), ("b", 2000, lognormal(1.05, 0.8)),
                  ("c", 1900, lognormal(0.9, 0.8))], 3, sequential=True, mde=0.05,
                 weights={"control": 1, "b": 1, "c": 1}),
    revenue_case("count_poisson", "count",
                 [("control", 5000, poisson(2.0)), ("treatment", 5000, poisson(2.1))], 4, mde=0.05),
    # --- tiny arms (n = 20) ---
    conv("tiny_n20", [("control", 20, 3), ("treatment", 20, 7)], mde=0.5),
    conv("tiny_n20_all_converted", [("control", 20, 15), ("treatment", 20, 20)]),
    conv("tiny_n20_zero_vs_some", [("control", 20, 0), ("treatment", 20, 2)], sequential=True),
    {**conv("zero_conversions_both_arms", [("control", 500, 0), ("treatment", 480, 0)]),
     "decision": "continue"},
    conv("all_converted_vs_high", [("control", 400, 396), ("treatment", 400, 400)], mde=0.005),
    revenue_case("revenue_tiny_n20", "revenue",
                 [("control", 20, lognormal(2.0, 0.7)), ("treatment", 20, zero_inflated(0.6, 2.2, 0.9))], 6),
    revenue_case("count_tiny_n20", "count",
                 [("control", 20, poisson(1.5)), ("treatment", 20, poisson(2.5))], 7, mde=0.2),
    # --- large arms (1,000,000 users each) ---
    conv("large_1m", [("control", 1000000, 100000), ("treatment", 1000000, 100900)], mde=0.01),
    conv("large_1m_sequential_tuned", [("control", 1000000, 50000), ("treatment", 1000000, 50350),
                                       ("b", 1000000, 49800)],
         sequential=True, sequential_tuning=2000000, mde=0.02),
    conv("large_1m_low_rate", [("control", 1000000, 1000), ("treatment", 1000000, 1100)]),
    revenue_case("revenue_1m", "revenue",
                 [("control", 1000000, zero_inflated(0.05, 3.0, 1.1)),
                  ("treatment", 1000000, zero_inflated(0.0505, 3.0, 1.1))], 8, mde=0.02),
    revenue_case("count_1m", "count",
                 [("control", 1000000, poisson(0.8)), ("treatment", 1000000, poisson(0.802))], 9,
                 sequential=True, sequential_tuning=500000),
    # --- several variants (Holm) ---
    conv("four_variants_holm", [("control", 8000, 800), ("b", 8000, 870), ("c", 8000, 910), ("d", 8000, 790)],
         mde=0.1),
    conv("three_variants_holm_sequential_custom_tuning",
         [("control", 4000, 400), ("b", 4000, 470), ("c", 4000, 430)], sequential=True, sequential_tuning=3000),
    revenue_case("count_four_variants_holm", "count",
                 [("control", 3000, poisson(3.0)), ("b", 3000, poisson(3.2)), ("c", 3000, poisson(2.9)),
                  ("d", 3000, poisson(3.05))], 10),
    revenue_case("revenue_large", "revenue",
                 [("control", 100000, zero_inflated(0.1, 3.5, 1.2)), ("treatment", 100000, zero_inflated(0.105, 3.5, 1.2))],
                 5, mde=0.05, alpha=0.05, power=0.9),
]


def planning():
    rows = []
    for baseline, mde, alpha, power in [(0.1, 0.05, 0.05, 0.8), (0.02, 0.1, 0.05, 0.8), (0.5, -0.05, 0.05, 0.9),
                                        (0.3, 0.2, 0.01, 0.8), (0.001, 0.5, 0.1, 0.95), (0.9, 0.05, 0.05, 0.8)]:
        n = conv_sample_size(baseline, mde, alpha, power)
        p2 = baseline * (1 + mde)
        es = (p2 - baseline) / math.sqrt((baseline * (1 - baseline) + p2 * (1 - p2)) / 2)
        for n_eval in [n, 1000.0, 12345.0]:
            pw = NormalIndPower().power(effect_size=abs(es), nobs1=n_eval, alpha=alpha, ratio=1.0)
            def f(m):
                q2 = baseline * (1 + m)
                e = (q2 - baseline) / math.sqrt((baseline * (1 - baseline) + q2 * (1 - q2)) / 2)
                return NormalIndPower().power(effect_size=e, nobs1=n_eval, alpha=alpha, ratio=1.0) - power
            hi = (1 - baseline) / baseline * (1 - 1e-12)
            m = optimize.brentq(f, 1e-12, hi, xtol=1e-15, rtol=1e-13) if f(hi) > 0 else None
            rows.append({"baseline": baseline, "mde": mde, "alpha": alpha, "power": power, "sample_size": n,
                         "n": n_eval, "power_at_n": float(pw), "mde_at_n": m})
    return rows


def main():
    os.makedirs(OUT, exist_ok=True)
    for case in CASES:
        case["expected"] = analyze(case)
        case.pop("decision", None)
        with open(os.path.join(OUT, case["name"] + ".json"), "w") as fh:
            json.dump(case, fh, indent=1, allow_nan=False)
    with open(os.path.join(OUT, "planning.json"), "w") as fh:
        json.dump(planning(), fh, indent=1, allow_nan=False)
    print(f"wrote {len(CASES)} analysis fixtures and planning.json to {os.path.normpath(OUT)}")


if __name__ == "__main__":
    main()
