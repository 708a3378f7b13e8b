#!/usr/bin/env python3
"""High-precision chance to beat and expected loss for very large conversion arms.

Usage:  pip install mpmath && python3 tools/gen_large_beta_reference.py

Prints the rows of `LARGE_ARM_REFERENCE` in tests/stats_large_arms.rs (the values are
committed there, so `cargo test` does not need Python; nothing runs this script in CI).

With uniform priors the posteriors are C ~ Beta(1 + c_C, 1 + n_C - c_C) and
T ~ Beta(1 + c_T, 1 + n_T - c_T). The script evaluates, with mpmath at 40 significant
digits,

    chance to beat  P(T > C)         = ∫ f_C(c) P(T > c) dc = ∫ f_T(t) P(C < t) dt
    expected loss   E[max(C - T, 0)] = ∫ f_T(t) E[max(C - t, 0)] dt = ∫ f_C(c) E[max(c - T, 0)] dc

by nested Gauss–Legendre quadrature (the outer integral over the narrower posterior) in
standardised variables u = (x - mean)/sd over ±20 posterior standard deviations (beyond
them the Beta densities are below e^-190), on panels of 5 standard deviations with 24 and
with 48 nodes, whose results must agree to 1e-18.
The log-densities use mpmath's log-gamma at 40 digits, so the ~1e14-sized terms of
ln f at 2^53 users keep more than 20 significant digits. It is independent of the
engine's methods (beta-binomial sums, normal approximation). Before the large cases it
checks itself against the exact rational value of the beta-binomial sums at small counts.
"""
from fractions import Fraction
from math import comb, factorial

import mpmath as mp
from mpmath.calculus.quadrature import GaussLegendre

mp.mp.dps = 40
SPAN = 20  # standard deviations integrated on each side of the mean
STEP = 5  # quadrature panel width, in standard deviations
RULE = GaussLegendre(mp.mp)


def standardised_beta(a, b):
    """Mean, sd and the density of (X - mean)/sd for X ~ Beta(a, b)."""
    a, b = mp.mpf(a), mp.mpf(b)
    mean = a / (a + b)
    sd = mp.sqrt(a * b / ((a + b) ** 2 * (a + b + 1)))
    log_norm = mp.log(sd) - (mp.loggamma(a) + mp.loggamma(b) - mp.loggamma(a + b))

    def density(u):
        x = mean + sd * u
        if x <= 0 or x >= 1:
            return mp.mpf(0)
        return mp.exp((a - 1) * mp.log(x) + (b - 1) * mp.log1p(-x) + log_norm)

    # The support [0, 1] in standardised units, so no panel straddles an end point.
    support = (-mean / sd, (1 - mean) / sd)
    return mean, sd, support, density


def panels(lo, hi):
    """Breakpoints from lo to hi every STEP, so each panel is a smooth, short piece."""
    points = [lo]
    k = mp.floor(lo / STEP) + 1
    while k * STEP < hi:
        points.append(k * STEP)
        k += 1
    points.append(hi)
    return points


def integrate(f, lo, hi, degree):
    """Gauss–Legendre with 3·2^(degree−1) nodes on every panel of `panels(lo, hi)`."""
    if lo >= hi:
        return mp.mpf(0)
    bounds = panels(lo, hi)
    return mp.fsum(w * f(x) for a, b in zip(bounds, bounds[1:]) for x, w in RULE.get_nodes(a, b, degree, mp.mp.prec))


def chance_and_loss(c_users, c_conv, t_users, t_conv, degree):
    mc, sc, (c_lo, c_hi), fc = standardised_beta(1 + c_conv, 1 + c_users - c_conv)
    mt, st, (t_lo, t_hi), ft = standardised_beta(1 + t_conv, 1 + t_users - t_conv)
    c_lo, c_hi = max(c_lo, -SPAN), min(c_hi, SPAN)
    t_lo, t_hi = max(t_lo, -SPAN), min(t_hi, SPAN)
    # The outer integral runs over the narrower posterior: the inner one, a distribution
    # function of the wider posterior, is then smooth on the outer variable's scale (the
    # other way round it would be a step that the quadrature cannot resolve).
    if st <= sc:

        def control_below(t):  # P(C < t)
            return integrate(fc, c_lo, min((t - mc) / sc, c_hi), degree)

        def control_excess(t):  # E[max(C - t, 0)]
            return integrate(lambda u: (mc + sc * u - t) * fc(u), max((t - mc) / sc, c_lo), c_hi, degree)

        chance = integrate(lambda v: ft(v) * control_below(mt + st * v), t_lo, t_hi, degree)
        loss = integrate(lambda v: ft(v) * control_excess(mt + st * v), t_lo, t_hi, degree)
    else:

        def treatment_above(c):  # P(T > c)
            return integrate(ft, max((c - mt) / st, t_lo), t_hi, degree)

        def treatment_shortfall(c):  # E[max(c - T, 0)]
            return integrate(lambda v: (c - mt - st * v) * ft(v), t_lo, min((c - mt) / st, t_hi), degree)

        chance = integrate(lambda u: fc(u) * treatment_above(mc + sc * u), c_lo, c_hi, degree)
        loss = integrate(lambda u: fc(u) * treatment_shortfall(mc + sc * u), c_lo, c_hi, degree)
    return chance, loss


def converged(case):
    """The values at 24 and 48 nodes per panel, asserted to agree to 1e-18 relative."""
    coarse = chance_and_loss(*case, degree=4)
    fine = chance_and_loss(*case, degree=5)
    for c, f in zip(coarse, fine):
        assert abs(c - f) <= 1e-18 * abs(f), (case, c, f)
    return fine


def exact_small(c_users, c_conv, t_users, t_conv):
    """Exact rationals from the beta-binomial sums (docs/stats.md), for the self-check."""
    ac, bc = 1 + c_conv, 1 + c_users - c_conv
    at, bt = 1 + t_conv, 1 + t_users - t_conv

    def beta_binomial(j, m, a, b):  # C(m, j) B(j + a, m - j + b) / B(a, b), integers
        return Fraction(comb(m, j)) * beta_ratio(j + a, m - j + b, a, b)

    def beta_ratio(a1, b1, a0, b0):  # B(a1, b1) / B(a0, b0) for positive integers
        def beta(x, y):
            return Fraction(factorial(x - 1) * factorial(y - 1), factorial(x + y - 1))

        return beta(a1, b1) / beta(a0, b0)

    m = at + bt - 1
    chance = sum(beta_binomial(j, m, ac, bc) for j in range(at))
    m = ac + bc
    loss = sum((ac - j) * beta_binomial(j, m, at, bt) for j in range(ac)) / m
    return chance, loss


def self_check():
    for case in [(100, 10, 100, 15), (400, 40, 300, 20), (1000, 100, 1200, 150)]:
        chance, loss = converged(case)
        exact_chance, exact_loss = exact_small(*case)
        err_chance = abs(chance - mp.mpf(exact_chance.numerator) / exact_chance.denominator)
        err_loss = abs(loss - mp.mpf(exact_loss.numerator) / exact_loss.denominator) / loss
        assert err_chance < 1e-25 and err_loss < 1e-25, (case, err_chance, err_loss)


# (control users, control conversions, treatment users, treatment conversions)
CASES = [
    (1_000_000, 100_000, 1_000_000, 100_600),
    (10_000_000, 200_000, 10_000_000, 201_000),
    (100_000_000, 50_000_000, 100_000_000, 50_010_000),
    (1_000_000_000, 1_000_000, 1_000_000_000, 1_001_500),
    (10_000_000_000, 1_000_000_000, 10_000_000_000, 1_000_080_000),
    (100_000_000_000, 10_000_000_000, 100_000_000_000, 10_000_400_000),
    (100_000_000_000, 30_000_000_000, 100_000_000_000, 29_999_500_000),
    (1_000_000_000_000, 100_000_000_000, 1_000_000_000_000, 100_001_272_792),
    (10_000_000_000_000, 1_000_000_000_000, 10_000_000_000_000, 1_000_004_024_922),
    (10_000_000_000_000, 1_000_000_000, 10_000_000_000_000, 999_800_000),
    (10_000_000_000_000, 5_000_000_000_000, 10_000_000_000_000, 5_000_000_000_000),
    (1_000_000, 100_000, 1_000_000_000_000, 100_300_000_000),
    (1_000_000_000_000, 100_000_000_000, 10_000_000, 1_001_000),
    (100_000_000_000, 10_000_000_000, 10_000_000_000_000, 1_000_100_000_000),
    (9_007_199_254_740_992, 900_719_925_474_099, 9_007_199_254_740_992, 900_719_926_474_099),
]


def main():
    self_check()
    for case in CASES:
        chance, loss = converged(case)
        c_users, c_conv, t_users, t_conv = case
        # repr of the nearest double: the shortest literal that Rust reads back as it.
        print(f"    ({c_users}, {c_conv}, {t_users}, {t_conv}, {float(chance)!r}, {float(loss)!r}),")


if __name__ == "__main__":
    main()
