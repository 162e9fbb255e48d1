"""torchperf.sequential: the always-valid paired test behind ``torchperf ab``.

Statistics tested as statistics: the e-value against numerical integration of its
definition, the interval against the e-value it inverts, and seeded simulations of the
error rates under optional stopping (checked after every replicate).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import integrate
from scipy import stats as sps

from torchperf.errors import InvalidParameterError
from torchperf.sequential import (
    SequentialRatioTest,
    confidence_sequence_path,
    sequential_verdict,
    t_boundary,
    t_mixture_e_value,
)

ALPHA = 0.05


def _ever_excludes(values: np.ndarray, mu: float, start: int = 0) -> np.ndarray:
    """For each row: does the confidence sequence exclude ``mu`` at any look from ``start``?"""
    _, low, high = confidence_sequence_path(values, alpha=ALPHA)
    miss = (low > mu) | (high < mu)
    return miss[:, start:].any(axis=1)


def test_e_value_equals_its_definition_by_numerical_integration():
    """E_n(mu0) = int N(x; d*s, s) N(d; 0, g) ds/s dd / int N(x; 0, s) ds/s (grid in log s)."""
    rng = np.random.default_rng(3)
    u = np.linspace(-8.0, 8.0, 2001)  # log sigma; ds / s = du
    d = np.linspace(-12.0, 12.0, 4001)
    for mu, n, scale in ((0.3, 12, 1.0), (0.0, 6, 0.5), (1.0, 9, 2.0)):
        x = rng.normal(mu, 1.0, n)
        s = np.exp(u)[:, None]
        log0 = sps.norm.logpdf(x[None, :], 0.0, s).sum(axis=1)
        ref = log0.max()
        p0 = integrate.trapezoid(np.exp(log0 - ref), u)
        log1 = np.stack([sps.norm.logpdf(x, dd * s, s).sum(axis=1) for dd in d[::10]], axis=1)
        inner = integrate.trapezoid(np.exp(log1 - ref) * sps.norm.pdf(d[::10], 0, scale), d[::10], axis=1)
        p1 = integrate.trapezoid(inner, u)
        assert math.isclose(t_mixture_e_value(x, prior_scale=scale), p1 / p0, rel_tol=1e-4)


def test_e_value_is_scale_invariant_and_one_at_start():
    rng = np.random.default_rng(4)
    x = rng.normal(0.2, 1.0, 15)
    assert math.isclose(t_mixture_e_value(x), t_mixture_e_value(x * 37.5), rel_tol=1e-12)
    assert t_mixture_e_value(x[:1]) == 1.0
    assert t_mixture_e_value([]) == 1.0


def test_interval_endpoints_are_where_the_e_value_reaches_one_over_alpha():
    rng = np.random.default_rng(5)
    x = rng.normal(0.02, 0.03, 25)
    mean, low, high = confidence_sequence_path(x, alpha=ALPHA)
    for k in (5, 10, 25):
        for end in (low[k - 1], high[k - 1]):
            assert math.isclose(t_mixture_e_value(x[:k], end), 1 / ALPHA, rel_tol=1e-8)
        assert t_mixture_e_value(x[:k], mean[k - 1]) < 1 / ALPHA


def test_boundary_is_wider_than_the_fixed_sample_t_quantile_and_infinite_early():
    n = np.arange(2, 200)
    b = t_boundary(n, ALPHA)
    assert np.isinf(b[:3]).all()  # n = 2, 3, 4 cannot settle at prior_scale 1
    finite = np.isfinite(b)
    assert (b[finite] > sps.t.ppf(1 - ALPHA / 2, n[finite] - 1)).all()


def test_false_alarm_rate_under_optional_stopping_holds_at_every_look():
    """Identical code: the interval excludes ratio 1 at ANY of 200 looks in <= alpha of runs.

    The naive fixed-sample t-interval, re-checked at every look, does not hold its level
    (the reason an always-valid method is needed).
    """
    rng = np.random.default_rng(20261203)
    x = rng.normal(0.0, 0.03, size=(4000, 200))
    rate = _ever_excludes(x, 0.0).mean()
    assert rate <= ALPHA + 0.01, rate
    n = np.arange(1, 201)
    mean = np.cumsum(x, axis=1) / n
    sd = np.sqrt(np.maximum(np.cumsum(x * x, axis=1) - n * mean**2, 0) / np.maximum(n - 1, 1))
    with np.errstate(divide="ignore", invalid="ignore"):
        naive_t = np.abs(mean) / (sd / np.sqrt(n))
    naive = (naive_t[:, 2:] > sps.t.ppf(1 - ALPHA / 2, n[2:] - 1)).any(axis=1).mean()
    assert naive > 3 * ALPHA, naive


def test_false_alarm_rate_with_heavy_tails():
    """Student-t(4) replicates (heavier tails than the model) still stay near alpha."""
    rng = np.random.default_rng(11)
    x = 0.02 * rng.standard_t(4, size=(3000, 150))
    assert _ever_excludes(x, 0.0).mean() <= ALPHA + 0.01


def test_coverage_of_a_real_effect_at_every_look():
    rng = np.random.default_rng(12)
    mu = math.log(1.05)
    x = rng.normal(mu, 0.02, size=(3000, 150))
    assert _ever_excludes(x, mu).mean() <= ALPHA + 0.01


def _first_settled(x: np.ndarray, margin: float, min_n: int = 3) -> list[str]:
    """Run the stopping rule on each row: the verdict at the first settled look."""
    _, low, high = confidence_sequence_path(x, alpha=ALPHA)
    bound = math.log1p(margin)
    eq = (low > -bound) & (high < bound)
    slower = ~eq & (low > 0)
    faster = ~eq & (high < 0)
    settled = eq | slower | faster
    settled[:, : min_n - 1] = False
    out = []
    for i in range(x.shape[0]):
        hit = np.flatnonzero(settled[i])
        if hit.size == 0:
            out.append("inconclusive")
        else:
            k = hit[0]
            out.append("equivalent" if eq[i, k] else "slower" if slower[i, k] else "faster")
    return out


def test_stopping_rule_wrong_verdicts_are_rare():
    rng = np.random.default_rng(13)
    # identical code: the stopping rule calls it slower or faster in <= alpha of runs
    v = _first_settled(rng.normal(0.0, 0.02, size=(3000, 100)), margin=0.02)
    assert (v.count("slower") + v.count("faster")) / len(v) <= ALPHA + 0.01
    # a true ratio exactly on the margin (1.02) is called "equivalent" in <= alpha of runs
    v = _first_settled(rng.normal(math.log(1.02), 0.02, size=(3000, 100)), margin=0.02)
    assert v.count("equivalent") / len(v) <= ALPHA + 0.01
    # and a true +5 % with 2 % replicate noise is called slower almost always within 20
    v = _first_settled(rng.normal(math.log(1.05), 0.02, size=(2000, 20)), margin=0.02)
    assert v.count("slower") / len(v) >= 0.99


@settings(max_examples=200, deadline=None, database=None)
@given(
    st.lists(st.floats(-0.5, 0.5, allow_nan=False), min_size=0, max_size=40),
    st.floats(0.001, 0.2),
)
def test_verdict_always_agrees_with_the_interval(values, margin):
    d = sequential_verdict(values, margin=margin)
    bound = math.log1p(margin)
    inside = -bound < d.log_ci_low and d.log_ci_high < bound
    if d.verdict == "equivalent":
        assert inside
    elif d.verdict == "slower":
        assert d.log_ci_low > 0 and not inside
    elif d.verdict == "faster":
        assert d.log_ci_high < 0 and not inside
    else:
        assert d.verdict == "inconclusive"
        assert d.log_ci_low <= 0 <= d.log_ci_high and not inside
    assert d.settled == (d.verdict != "inconclusive")
    if d.n:
        assert d.ci_low <= d.ratio <= d.ci_high
        # the e-value against ratio 1 crosses 1/alpha exactly when 1 leaves the interval
        excluded = d.log_ci_low > 0 or d.log_ci_high < 0
        if d.n >= 2 and np.std(values) > 0 and abs(math.log(max(d.e_value, 1e-300)) + math.log(ALPHA)) > 1e-6:
            assert excluded == (d.e_value >= 1 / ALPHA)


def test_sequential_ratio_test_min_n_and_json():
    t = SequentialRatioTest(min_n=6)
    for v in [0.05, 0.051, 0.049, 0.05, 0.0505]:
        d = t.update(v)
    assert d.verdict == "slower" and not d.settled  # decisive, but before min_n
    d = t.update(0.0495)
    assert d.settled and d.n == 6
    js = d.to_dict()
    assert js["verdict"] == "slower" and js["n"] == 6 and 1.04 < js["ratio"] < 1.06


def test_bad_input_is_one_clear_error():
    with pytest.raises(InvalidParameterError, match=r"Did you mean 0\.05"):
        sequential_verdict([0.1, 0.2], alpha=5)
    with pytest.raises(InvalidParameterError, match=r"values\[1\] is nan"):
        sequential_verdict([0.1, float("nan")])
    with pytest.raises(InvalidParameterError, match="margin"):
        sequential_verdict([0.1], margin=0)
    with pytest.raises(InvalidParameterError, match="min_n"):
        SequentialRatioTest(min_n=1)
    with pytest.raises(InvalidParameterError, match="finite"):
        SequentialRatioTest().update(float("inf"))
