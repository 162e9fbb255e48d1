"""Statistics for benchmark samples: summaries, intervals, tests, effects, outliers.

Every function here is pure (no I/O, no timing) and validates its input at
the entry point, raising :class:`~torchperf.errors.InvalidParameterError` with
a message that states the contract, what was received and the fix. Parameter
names follow scipy: ``confidence_level``, ``alternative``, ``n_resamples``,
``rng`` (``None``, an ``int`` seed or a :class:`numpy.random.Generator`).

The statistical rules these functions implement (see ``docs/statistics.md``):

* Small samples use the Student t distribution, never a fixed 1.96
  (:func:`mean_ci`).
* Medians and other quantiles get distribution-free order-statistic intervals
  or :func:`scipy.stats.bootstrap` intervals (:func:`quantile_ci`).
* Timings are compared as ratios on the log scale (:func:`compare_samples`),
  with an equivalence test (:func:`tost`) so that "no change" is a claim too,
  and with false-discovery-rate control across many benchmarks
  (:func:`benjamini_hochberg`, :func:`holm`).
* The unit of replication is the process: :func:`compare_replicates` compares
  per-process medians instead of pooling correlated per-call samples.
"""

from __future__ import annotations

import math
import sys
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import MISSING, asdict, dataclass, field, replace
from functools import lru_cache
from typing import Any

import numpy as np
from scipy import special as _special
from scipy import stats as _sps

from torchperf.errors import InvalidParameterError, SmallSampleWarning

__all__ = [
    "DEFAULT_NOISE_THRESHOLD",
    "PERCENTILES",
    "EquivalenceResult",
    "LogRatioTest",
    "OutlierReport",
    "RatioTest",
    "SampleComparison",
    "Summary",
    "benjamini_hochberg",
    "classify_outliers",
    "compare_replicates",
    "compare_samples",
    "format_p",
    "hodges_lehmann",
    "holm",
    "iqr_over_median",
    "log_ratio_test",
    "log_t_test",
    "mcnemar_ratio_test",
    "mean_ci",
    "median_abs_deviation",
    "median_ci",
    "nonnegative_mean_ci",
    "pettitt_test",
    "prob_superiority",
    "proportion_ratio_test",
    "quantile_ci",
    "quantile_ci_coverage",
    "ratio_ci_from_intervals",
    "required_sample_size",
    "summarize",
    "theil_sen_slope",
    "tost",
    "welch_difference_ci",
    "welch_log_ratio_test",
    "wilson_ci",
]

#: Relative change below which comparisons of benchmark *results* (suite, reports, saved runs,
#: ``Benchmark.compare_models``) call no regression or improvement, whatever the p-value
#: (docs/statistics.md#rule-4: significance *and* an effect beyond noise). Between models measured in
#: one process, differences of a few percent come from memory layout and allocator state as
#: much as from the code; asv's own default regression threshold is also 5 %.
DEFAULT_NOISE_THRESHOLD = 0.05

#: Percentiles reported by :func:`summarize` (keys of ``Summary.percentiles``).
PERCENTILES: tuple[int, ...] = (50, 90, 95, 99)

_ALTERNATIVES = ("two-sided", "less", "greater")


# --------------------------------------------------------------------------- validation


def _as_sample(values: Any, name: str = "values", *, min_n: int = 1) -> np.ndarray:
    """Return ``values`` as a 1-D float64 array of finite numbers, or raise."""
    if isinstance(values, (str, bytes)):
        raise InvalidParameterError(
            f"`{name}` must be a sequence of numbers; got a {type(values).__name__}."
        )
    if isinstance(values, np.ndarray):
        arr = values
    else:
        if not isinstance(values, Iterable):
            raise InvalidParameterError(
                f"`{name}` must be a sequence of numbers; got {type(values).__name__}."
            )
        items = list(values)
        for i, v in enumerate(items):
            if isinstance(v, (bool, np.bool_)) or not isinstance(
                v, (int, float, np.integer, np.floating)
            ):
                raise InvalidParameterError(
                    f"`{name}` must contain only real numbers; {name}[{i}] is {v!r} "
                    f"({type(v).__name__})."
                )
        arr = np.asarray(items, dtype=np.float64)
    if arr.ndim != 1:
        raise InvalidParameterError(
            f"`{name}` must be one-dimensional; got an array of shape {arr.shape}. "
            "Flatten it or pass one sample at a time."
        )
    if arr.dtype.kind not in "iuf":
        raise InvalidParameterError(
            f"`{name}` must contain real numbers; got an array of dtype {arr.dtype}."
        )
    arr = arr.astype(np.float64, copy=False)
    if arr.size < min_n:
        if arr.size == 0:
            raise InvalidParameterError(
                f"`{name}` is empty; at least {min_n} measurement(s) are needed."
            )
        raise InvalidParameterError(
            f"`{name}` has {arr.size} value(s); at least {min_n} are needed."
        )
    bad = ~np.isfinite(arr)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        what = "nan" if np.isnan(arr[i]) else ("inf" if arr[i] > 0 else "-inf")
        raise InvalidParameterError(
            f"{name}[{i}] is {what}; every measurement must be finite. "
            "Drop failed measurements before computing statistics."
        )
    return arr


def _check_confidence_level(confidence_level: Any, name: str = "confidence_level") -> float:
    if isinstance(confidence_level, bool) or not isinstance(
        confidence_level, (int, float, np.integer, np.floating)
    ):
        raise InvalidParameterError(
            f"`{name}` must be a number in (0, 1); got {confidence_level!r}."
        )
    cl = float(confidence_level)
    if not (0.0 < cl < 1.0):
        hint = f" Did you mean {cl / 100:g}?" if 1.0 < cl < 100.0 else ""
        raise InvalidParameterError(f"`{name}` must be in (0, 1); got {cl:g}.{hint}")
    return cl


def _check_alternative(alternative: Any) -> str:
    if alternative not in _ALTERNATIVES:
        raise InvalidParameterError(
            f"`alternative` must be one of {', '.join(repr(a) for a in _ALTERNATIVES)}; "
            f"got {alternative!r}."
        )
    return str(alternative)


def _check_choice(value: Any, name: str, choices: Sequence[str]) -> str:
    if value not in choices:
        raise InvalidParameterError(
            f"`{name}` must be one of {', '.join(repr(c) for c in choices)}; got {value!r}."
        )
    return str(value)


def _check_nonneg(value: Any, name: str, *, positive: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise InvalidParameterError(f"`{name}` must be a number; got {value!r}.")
    v = float(value)
    if not math.isfinite(v) or v < 0 or (positive and v == 0):
        kind = "> 0" if positive else ">= 0"
        raise InvalidParameterError(f"`{name}` must be a finite number {kind}; got {v:g}.")
    return v


def _check_n_resamples(n_resamples: Any) -> int:
    if isinstance(n_resamples, bool) or not isinstance(n_resamples, (int, np.integer)):
        raise InvalidParameterError(
            f"`n_resamples` must be an integer >= 1; got {n_resamples!r}."
        )
    if n_resamples < 1:
        raise InvalidParameterError(f"`n_resamples` must be an integer >= 1; got {n_resamples}.")
    return int(n_resamples)


def _check_rng(rng: Any) -> np.random.Generator:
    if rng is None or (isinstance(rng, (int, np.integer)) and not isinstance(rng, bool)):
        return np.random.default_rng(rng)
    if isinstance(rng, np.random.Generator):
        return rng
    raise InvalidParameterError(
        f"`rng` must be None, an int seed or a numpy.random.Generator; got {type(rng).__name__}."
    )


def _check_positive(arr: np.ndarray, name: str) -> None:
    bad = arr <= 0
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InvalidParameterError(
            f"ratio comparisons work on the log scale and need positive values; "
            f"{name}[{i}] is {arr[i]:g}. Compare times, sizes or rates, not differences."
        )


@lru_cache(maxsize=4096)
def _t_ppf(p: float, df: float) -> float:
    return float(_sps.t.ppf(p, df))


@lru_cache(maxsize=256)
def _z_ppf(p: float) -> float:
    return float(_sps.norm.ppf(p))


# --------------------------------------------------------------------------- summaries


@dataclass(frozen=True)
class Summary:
    """Descriptive statistics of one sample (see :func:`summarize`).

    Attributes
    ----------
    count : int
        Number of values.
    mean, std : float
        Arithmetic mean and sample standard deviation (``ddof=1``; 0 when n = 1).
    median, min, max : float
        Median, smallest and largest value.
    cv : float
        Coefficient of variation ``std / mean`` (nan when the mean is 0).
    iqr : float
        Interquartile range ``p75 - p25`` (linear interpolation).
    percentiles : dict
        ``{50, 90, 95, 99} -> value`` (linear interpolation, numpy's default).

    """

    count: int
    mean: float
    std: float
    median: float
    min: float
    max: float
    cv: float
    iqr: float
    percentiles: dict[int, float] = field(default_factory=dict)


def _summary_of(x: np.ndarray) -> Summary:
    n = x.size
    with np.errstate(over="ignore", invalid="ignore"):  # huge values: callers check finiteness
        mean = float(np.mean(x))
        std = float(np.std(x, ddof=1)) if n > 1 else 0.0
        q = np.percentile(x, [25, 75, *PERCENTILES])
    cv = std / mean if mean != 0 else math.nan
    return Summary(
        count=int(n),
        mean=mean,
        std=std,
        median=float(np.median(x)),
        min=float(np.min(x)),
        max=float(np.max(x)),
        cv=float(cv),
        iqr=float(q[1] - q[0]),
        percentiles={p: float(v) for p, v in zip(PERCENTILES, q[2:], strict=True)},
    )


def summarize(values: Sequence[float] | np.ndarray) -> Summary:
    """Summarize a sample: count, mean, std, median, min, max, CV, IQR, percentiles.

    Parameters
    ----------
    values : sequence of float
        Finite measurements (at least one).

    Returns
    -------
    Summary
        Frozen dataclass of descriptive statistics.

    Raises
    ------
    InvalidParameterError
        If ``values`` is empty, not one-dimensional, or holds NaN / inf / non-numbers.

    Examples
    --------
    >>> s = summarize([1.0, 2.0, 3.0, 4.0])
    >>> s.mean, s.median, s.count
    (2.5, 2.5, 4)

    """
    return _summary_of(_as_sample(values))


# --------------------------------------------------------------------------- intervals


def _mean_ci(x: np.ndarray, cl: float) -> tuple[float, float]:
    n = x.size
    mean = float(np.mean(x))
    if n < 2:
        return mean, mean
    half = _t_ppf(0.5 + cl / 2, n - 1) * float(np.std(x, ddof=1)) / math.sqrt(n)
    return mean - half, mean + half


def mean_ci(
    values: Sequence[float] | np.ndarray, *, confidence_level: float = 0.95
) -> tuple[float, float]:
    """Student-t confidence interval for the mean (``docs/statistics.md#rule-3``).

    ``mean ± t(1 - α/2, n - 1) · s / √n`` with ``α = 1 - confidence_level``.
    Unlike a fixed 1.96, this keeps its nominal coverage for small n (at n = 5
    the 1.96 interval covers the true mean in only about 88 % of samples).

    Parameters
    ----------
    values : sequence of float
        Finite measurements.
    confidence_level : float, default 0.95
        Confidence level in (0, 1).

    Returns
    -------
    tuple of float
        ``(low, high)``. For n = 1 the degenerate interval ``(x, x)`` with a
        :class:`~torchperf.errors.SmallSampleWarning`.

    Raises
    ------
    InvalidParameterError
        On empty / non-finite values or a ``confidence_level`` outside (0, 1).

    """
    x = _as_sample(values)
    cl = _check_confidence_level(confidence_level)
    if x.size == 1:
        warnings.warn(
            "a confidence interval needs at least 2 values; got 1, so the interval is "
            "degenerate (x, x). Take more measurements.",
            SmallSampleWarning,
            stacklevel=2,
        )
    return _mean_ci(x, cl)


_LOG_FLOAT_MAX = math.log(sys.float_info.max)


def nonnegative_mean_ci(
    values: Sequence[float] | np.ndarray, *, confidence_level: float = 0.95
) -> tuple[float, float, str]:
    """Confidence interval for the mean of a quantity that cannot be negative.

    Latency, memory and model size are never negative, but the Student-t
    interval of :func:`mean_ci` is symmetric and, on a skewed sample (a few
    slow calls among fast ones), reaches below zero (and undercovers: 70 % at
    n = 10 for a log-normal sample with σ = 1.5). So:

    * all values positive: the modified Cox interval on log values (Olsson
      2005), ``exp(ȳ + s²/2 ± t(1 - α/2, n - 1) · √(s²/n + s⁴/(2(n - 1))))``
      with ``ȳ``, ``s²`` the mean and variance of ``log x``. It is positive by
      construction and, in the seeded simulation of ``tests/test_tidy_output.py``,
      covers 92-96 % at the 95 % level for log-normal (σ = 0.5, 1.5) and
      normal samples at n = 5-30;
    * some values zero: the Student-t interval intersected with ``[0, ∞)``;
      the true mean lies in ``[0, ∞)``, so the intersection keeps the coverage;
    * fewer than two values: the degenerate ``(x, x)`` of :func:`mean_ci`.

    The upper bound is ``inf`` when it exceeds the largest float (a log spread
    of many orders of magnitude at tiny n): there is no finite bound, and
    files write it as ``null``.

    Parameters
    ----------
    values : sequence of float
        Finite measurements, none negative.
    confidence_level : float, default 0.95
        Confidence level in (0, 1).

    Returns
    -------
    tuple
        ``(low, high, method)`` with ``method`` one of ``"student-t"``,
        ``"log-cox"`` and ``"student-t-truncated"``.

    Raises
    ------
    InvalidParameterError
        On empty / non-finite / negative values or a ``confidence_level``
        outside (0, 1).

    """
    x = _as_sample(values)
    cl = _check_confidence_level(confidence_level)
    if np.any(x < 0):
        raise InvalidParameterError(
            "nonnegative_mean_ci needs values >= 0; got a negative value. "
            "Use mean_ci for quantities that can be negative."
        )
    lo, hi = _mean_ci(x, cl)
    if x.size < 2:
        return lo, hi, "student-t"
    if np.all(x > 0):
        y = np.log(x)
        n = y.size
        s2 = float(np.var(y, ddof=1))
        est = float(np.mean(y)) + s2 / 2
        se = math.sqrt(s2 / n + s2 * s2 / (2 * (n - 1)))
        half = _t_ppf(0.5 + cl / 2, n - 1) * se
        # a huge log spread at tiny n (e.g. 1 ns and 1 s, n = 2) overflows: no finite upper bound
        def exp(v: float) -> float:
            return math.exp(v) if v < _LOG_FLOAT_MAX else math.inf

        return exp(est - half), exp(est + half), "log-cox"
    return (lo, hi, "student-t") if lo >= 0 else (0.0, hi, "student-t-truncated")


@lru_cache(maxsize=4096)
def _order_ci_ranks(n: int, q: float, cl: float) -> tuple[int, int, float]:
    """0-based ranks ``(r, s)`` of the equal-tailed order-statistic CI and its coverage.

    ``K ~ Binomial(n, q)`` counts observations below the true quantile; then
    ``P(X_(r) <= xi <= X_(s)) = P(r <= K <= s - 1)`` (1-based ranks). The
    lower rank is the largest with ``P(K <= r - 1) <= α/2``, the upper the
    smallest with ``P(K <= s - 1) >= 1 - α/2``. When no such rank exists the
    interval widens to the sample minimum / maximum and the achieved coverage
    falls below ``cl``.
    """
    alpha = 1.0 - cl
    cdf = _sps.binom.cdf(np.arange(n + 1), n, q)  # cdf[k] = P(K <= k)
    # 1-based r with cdf[r-1] <= alpha/2, largest; r >= 1
    ok_low = np.flatnonzero(cdf[:n] <= alpha / 2 + 1e-12)
    r1 = int(ok_low[-1]) + 1 if ok_low.size else 1
    ok_high = np.flatnonzero(cdf[:n] >= 1 - alpha / 2 - 1e-12)
    s1 = int(ok_high[0]) + 1 if ok_high.size else n
    coverage = float(cdf[s1 - 1] - cdf[r1 - 1])
    return r1 - 1, s1 - 1, coverage


def quantile_ci_coverage(n: int, q: float = 0.5, *, confidence_level: float = 0.95) -> float:
    """Coverage actually achieved by :func:`quantile_ci` (``method="order"``) for ``n`` values.

    The distribution-free interval needs enough values: for the median at 95 %
    that is n >= 6. With fewer it widens to the sample minimum / maximum and
    covers less, e.g. 75 % for n = 3 and 93.75 % for n = 5. Reports use this
    to label an interval with the level it really has.

    Parameters
    ----------
    n : int
        Number of values (>= 1).
    q : float, default 0.5
        Quantile in (0, 1).
    confidence_level : float, default 0.95
        Requested level.

    Returns
    -------
    float
        ``confidence_level`` or more when ``n`` is large enough, else the lower
        achieved coverage (0.0 for n = 1: the interval is a single point).

    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise InvalidParameterError(f"`n` must be an integer >= 1; got {n!r}.")
    if isinstance(q, bool) or not isinstance(q, (int, float)) or not 0.0 < float(q) < 1.0:
        raise InvalidParameterError(f"`q` must be a quantile in (0, 1); got {q!r}.")
    cl = _check_confidence_level(confidence_level)
    if n == 1:
        return 0.0
    return _order_ci_ranks(int(n), float(q), float(cl))[2]


def _quantile_ci_order(x: np.ndarray, q: float, cl: float) -> tuple[float, float, float]:
    y = np.sort(x)
    r, s, coverage = _order_ci_ranks(int(y.size), float(q), float(cl))
    return float(y[r]), float(y[s]), coverage


def quantile_ci(
    values: Sequence[float] | np.ndarray,
    q: float = 0.5,
    *,
    confidence_level: float = 0.95,
    method: str = "order",
    n_resamples: int = 9999,
    rng: int | np.random.Generator | None = None,
    bootstrap_method: str = "BCa",
) -> tuple[float, float]:
    """Confidence interval for the ``q``-quantile (the median by default).

    Parameters
    ----------
    values : sequence of float
        Finite measurements.
    q : float, default 0.5
        Quantile in (0, 1).
    confidence_level : float, default 0.95
        Confidence level in (0, 1).
    method : {"order", "bootstrap"}, default "order"
        ``"order"``: distribution-free interval between two order statistics,
        chosen with the binomial distribution (as asv's ``quantile_ci`` does);
        it assumes only independent, continuously distributed samples. When the
        sample is too small for the requested coverage (e.g. n < 6 for a 95 %
        median interval) it widens to the sample minimum / maximum and warns
        with the coverage actually achieved.
        ``"bootstrap"``: :func:`scipy.stats.bootstrap` of ``numpy.quantile``.
    n_resamples : int, default 9999
        Bootstrap resamples (``method="bootstrap"`` only).
    rng : None, int or numpy.random.Generator
        Randomness for the bootstrap.
    bootstrap_method : {"BCa", "percentile", "basic"}, default "BCa"
        Passed to :func:`scipy.stats.bootstrap` as ``method``. If BCa cannot be
        computed (degenerate jackknife) the percentile interval is returned with
        a :class:`~torchperf.errors.SmallSampleWarning`.

    Returns
    -------
    tuple of float
        ``(low, high)``; ``(x, x)`` when all values are equal.

    Raises
    ------
    InvalidParameterError
        On invalid values or parameters.

    """
    x = _as_sample(values)
    if isinstance(q, bool) or not isinstance(q, (int, float, np.integer, np.floating)) or not (
        0.0 < float(q) < 1.0
    ):
        hint = ""
        if isinstance(q, (int, float)) and not isinstance(q, bool) and 1 < q < 100:
            hint = f" Did you mean {q / 100:g}?"
        raise InvalidParameterError(f"`q` must be a quantile in (0, 1); got {q!r}.{hint}")
    q = float(q)
    cl = _check_confidence_level(confidence_level)
    method = _check_choice(method, "method", ("order", "bootstrap"))
    if method == "bootstrap":
        _check_n_resamples(n_resamples)
        bootstrap_method = _check_choice(
            bootstrap_method, "bootstrap_method", ("BCa", "percentile", "basic")
        )
        gen = _check_rng(rng)
    if x.size == 1 or np.all(x == x[0]):
        if x.size == 1:
            warnings.warn(
                "a quantile interval needs more than 1 value; got 1, so the interval is "
                "degenerate (x, x). Take more measurements.",
                SmallSampleWarning,
                stacklevel=2,
            )
        return float(x[0]), float(x[0])
    if method == "order":
        lo, hi, coverage = _quantile_ci_order(x, q, cl)
        if coverage < cl - 1e-12:
            warnings.warn(
                f"n = {x.size} is too small for a {cl:.0%} distribution-free interval of the "
                f"{q:g}-quantile; returning an interval with {coverage:.1%} coverage. "
                "Take more measurements.",
                SmallSampleWarning,
                stacklevel=2,
            )
        return lo, hi

    def stat(sample: np.ndarray, axis: int = -1) -> np.ndarray:
        return np.quantile(sample, q, axis=axis)

    res = _bootstrap((x,), stat, cl, n_resamples, bootstrap_method, gen)
    return float(res[0]), float(res[1])


def _bootstrap(
    data: tuple[np.ndarray, ...],
    statistic: Any,
    cl: float,
    n_resamples: int,
    method: str,
    rng: np.random.Generator,
) -> tuple[float, float]:
    """Run :func:`scipy.stats.bootstrap`; fall back to percentile if BCa degenerates.

    Resamples are processed in batches of at most ~4 million values so that
    large samples do not allocate ``n_resamples x n`` arrays at once (small
    samples run in one batch, exactly as scipy's default).
    """
    n_max = max(d.size for d in data)
    per_batch = max(1, 4_000_000 // n_max)
    batch = per_batch if per_batch < n_resamples or n_max > 2000 else None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=getattr(_sps, "DegenerateDataWarning", Warning))
        warnings.simplefilter("ignore", category=RuntimeWarning)
        res = _sps.bootstrap(
            data,
            statistic,
            n_resamples=n_resamples,
            confidence_level=cl,
            method=method,
            vectorized=True,
            rng=rng,
            batch=batch,
        )
    lo, hi = float(res.confidence_interval.low), float(res.confidence_interval.high)
    if method != "percentile" and not (math.isfinite(lo) and math.isfinite(hi)):
        warnings.warn(
            f"the {method} bootstrap interval is undefined for this sample (too few distinct "
            "values); using the percentile interval instead.",
            SmallSampleWarning,
            stacklevel=3,
        )
        dist = res.bootstrap_distribution
        alpha = 1 - cl
        lo, hi = (float(v) for v in np.percentile(dist, [50 * alpha, 100 - 50 * alpha]))
    return lo, hi


def median_ci(values: Sequence[float] | np.ndarray, **kw: Any) -> tuple[float, float]:
    """Confidence interval for the median: :func:`quantile_ci` with ``q=0.5`` (``docs/statistics.md#rule-3``).

    Parameters
    ----------
    values : sequence of float
        Finite measurements.
    **kw
        ``confidence_level``, ``method``, ``n_resamples``, ``rng``,
        ``bootstrap_method`` as for :func:`quantile_ci`.

    Returns
    -------
    tuple of float
        ``(low, high)``.

    """
    if "q" in kw:
        raise InvalidParameterError("median_ci fixes q=0.5; call quantile_ci to choose `q`.")
    return quantile_ci(values, 0.5, **kw)


# --------------------------------------------------------------------------- log-ratio test


@dataclass(frozen=True)
class LogRatioTest:
    """Welch's t-test on log values (see :func:`log_ratio_test`).

    Attributes
    ----------
    ratio : float or ndarray
        Ratio of geometric means, candidate / baseline.
    ci_low, ci_high : float or ndarray
        Two-sided confidence interval of that ratio.
    p_value : float or ndarray
        p-value of Welch's t-test on ``log(candidate)`` vs ``log(baseline)``
        for the requested ``alternative``.
    statistic, df : float or ndarray
        Welch t statistic and Welch-Satterthwaite degrees of freedom.

    """

    ratio: Any
    ci_low: Any
    ci_high: Any
    p_value: Any
    statistic: Any
    df: Any


def _welch_core(
    lb: np.ndarray, lc: np.ndarray, cl: float, alternative: str
) -> tuple[np.ndarray, ...]:
    """Welch t on the last axis of log arrays; returns (diff, lo, hi, p, t, df).

    Uses ``scipy.special.stdtr`` / ``stdtrit`` (the Student t CDF and its
    inverse) directly: identical values to ``scipy.stats.t`` without its
    per-call overhead, which matters in simulations of thousands of tests.
    """
    nb, nc = lb.shape[-1], lc.shape[-1]
    mb, mc = lb.mean(axis=-1), lc.mean(axis=-1)
    vb, vc = lb.var(axis=-1, ddof=1), lc.var(axis=-1, ddof=1)
    diff = mc - mb
    ab, ac = vb / nb, vc / nc
    se2 = ab + ac
    se = np.sqrt(se2)
    degenerate = se2 == 0
    with np.errstate(divide="ignore", invalid="ignore"):
        df = np.where(degenerate, float(nb + nc - 2), se2**2 / (ab**2 / (nb - 1) + ac**2 / (nc - 1)))
        tstat = np.where(degenerate, 0.0, diff / np.where(degenerate, 1.0, se))
    with np.errstate(invalid="ignore", over="ignore"):
        tq = _special.stdtrit(df, 0.5 + cl / 2)
        # Zero variance on both sides (identical samples): the interval is the point,
        # not inf * 0 = nan with a RuntimeWarning.
        half = np.where(degenerate, 0.0, tq * np.where(degenerate, 1.0, se))
    lo, hi = diff - half, diff + half
    if alternative == "two-sided":
        p = 2 * _special.stdtr(df, -np.abs(tstat))
        p_deg = np.where(diff == 0, 1.0, 0.0)
    elif alternative == "greater":
        p = _special.stdtr(df, -tstat)
        p_deg = np.where(diff > 0, 0.0, 1.0)
    else:
        p = _special.stdtr(df, tstat)
        p_deg = np.where(diff < 0, 0.0, 1.0)
    p = np.where(degenerate, p_deg, np.minimum(p, 1.0))
    tstat = np.where(degenerate & (diff != 0), np.copysign(np.inf, diff), tstat)
    return diff, lo, hi, p, tstat, df


def log_ratio_test(
    baseline: Any,
    candidate: Any,
    *,
    confidence_level: float = 0.95,
    alternative: str = "two-sided",
) -> LogRatioTest:
    """Welch's t-test on log values: ratio of geometric means with its CI and p-value.

    Vectorised: ``baseline`` and ``candidate`` may be 2-D arrays whose rows are
    independent comparisons (the last axis holds the samples), which is how the
    simulations in the test-suite run thousands of comparisons at once. For 1-D
    input the result matches ``scipy.stats.ttest_ind(log(candidate),
    log(baseline), equal_var=False)`` (p-value, statistic, df and confidence
    interval, exponentiated).

    Parameters
    ----------
    baseline, candidate : array_like
        Positive, finite samples (at least 2 per row).
    confidence_level : float, default 0.95
        Level of the two-sided interval of the ratio.
    alternative : {"two-sided", "less", "greater"}
        ``"greater"`` tests whether the candidate is larger than the baseline.

    Returns
    -------
    LogRatioTest
        Scalars for 1-D input, arrays for 2-D input.

    Raises
    ------
    InvalidParameterError
        On fewer than 2 values per sample, non-positive or non-finite values,
        or invalid parameters.

    """
    cl = _check_confidence_level(confidence_level)
    alternative = _check_alternative(alternative)
    try:
        b = np.asarray(baseline, dtype=np.float64)
        c = np.asarray(candidate, dtype=np.float64)
    except (TypeError, ValueError):
        raise InvalidParameterError(
            "`baseline` and `candidate` must be 1-D sequences or rectangular 2-D arrays of "
            "numbers (one comparison per row)."
        ) from None
    if b.ndim == 1 and c.ndim == 1:
        b = _as_sample(b, "baseline", min_n=2)
        c = _as_sample(c, "candidate", min_n=2)
    else:
        if b.ndim != 2 or c.ndim != 2 or b.shape[0] != c.shape[0]:
            raise InvalidParameterError(
                "`baseline` and `candidate` must both be 1-D, or both 2-D with the same number "
                f"of rows; got shapes {b.shape} and {c.shape}."
            )
        for arr, name in ((b, "baseline"), (c, "candidate")):
            if arr.shape[1] < 2:
                raise InvalidParameterError(
                    f"each row of `{name}` needs at least 2 values; got {arr.shape[1]}."
                )
            if not np.isfinite(arr).all():
                raise InvalidParameterError(f"`{name}` contains nan or inf; drop those values.")
    for arr, name in ((b, "baseline"), (c, "candidate")):
        _check_positive(arr.ravel(), name)
    diff, lo, hi, p, t, df = _welch_core(np.log(b), np.log(c), cl, alternative)
    out = [np.exp(diff), np.exp(lo), np.exp(hi), p, t, df]
    if b.ndim == 1:
        out = [float(v) for v in out]
    return LogRatioTest(*out)


def _delta_ratio_of_means(b: np.ndarray, c: np.ndarray, cl: float) -> tuple[float, float]:
    """Delta-method CI for ``mean(c) / mean(b)`` on the log scale (Welch df, t quantile)."""
    nb, nc = b.size, c.size
    mb, mc = float(b.mean()), float(c.mean())
    ab = float(b.var(ddof=1)) / (nb * mb**2)
    ac = float(c.var(ddof=1)) / (nc * mc**2)
    se2 = ab + ac
    log_r = math.log(mc / mb)
    if se2 == 0:
        return math.exp(log_r), math.exp(log_r)
    df = se2**2 / (ab**2 / (nb - 1) + ac**2 / (nc - 1))
    half = _t_ppf(0.5 + cl / 2, df) * math.sqrt(se2)
    return math.exp(log_r - half), math.exp(log_r + half)


# --------------------------------------------------------------------------- effect sizes


@lru_cache(maxsize=256)
def _mwu_null_cdf(m: int, n: int) -> np.ndarray:
    """Exact null CDF of the Mann-Whitney U statistic for sizes (m, n), no ties.

    ``cdf[u] = P(U <= u)``. Uses the recursion on the largest observation:
    ``f(m, n) = shift(f(m - 1, n), n) + f(m, n - 1)``.
    """
    # rows[j] holds the (unnormalised) distribution for sizes (i, j) at the current i.
    rows = [np.ones(1) for _ in range(n + 1)]  # i = 0
    for i in range(1, m + 1):
        new = [np.ones(1)]  # (i, 0)
        for j in range(1, n + 1):
            a = rows[j]  # (i - 1, j): largest is from sample 1 -> contributes j
            b = new[j - 1]  # (i, j - 1): largest from sample 2 -> contributes 0
            out = np.zeros(i * j + 1)
            out[j : j + a.size] += a
            out[: b.size] += b
            new.append(out)
        rows = new
    f = rows[n]
    cdf = np.cumsum(f) / f.sum()
    return cdf


def _hl_k(m: int, n: int, cl: float) -> int:
    """Largest k with ``P(U <= k - 1) <= α/2`` (exact for m*n <= 2500, else normal)."""
    alpha = 1 - cl
    if m * n <= 2500:
        cdf = _mwu_null_cdf(m, n)
        ok = np.flatnonzero(cdf <= alpha / 2 + 1e-12)
        return int(ok[-1]) + 1 if ok.size else 0
    z = _z_ppf(1 - alpha / 2)
    return math.floor(m * n / 2 - z * math.sqrt(m * n * (m + n + 1) / 12))


def _sketch(x: np.ndarray, size: int) -> np.ndarray:
    return np.quantile(x, (np.arange(size) + 0.5) / size) if x.size > size else x


def hodges_lehmann(
    baseline: Sequence[float] | np.ndarray,
    candidate: Sequence[float] | np.ndarray,
    *,
    confidence_level: float = 0.95,
) -> tuple[float, tuple[float, float]]:
    """Hodges-Lehmann shift ``candidate - baseline`` with its distribution-free CI.

    The estimate is the median of all pairwise differences ``c_j - b_i`` (in the
    samples' own units, e.g. seconds). The interval inverts the Mann-Whitney
    test (Moses' method): the k-th smallest and k-th largest pairwise
    differences, with k from the exact null distribution of U when
    ``m * n <= 2500`` and the normal approximation beyond. It assumes a pure
    location shift and no ties. When the samples are too small for the
    requested level it widens to the smallest / largest difference.
    For very large samples (``m * n > 4e6``) each sample is first reduced to
    2000 evenly spaced quantiles (an approximation).

    Parameters
    ----------
    baseline, candidate : sequence of float
        Finite samples.
    confidence_level : float, default 0.95
        Confidence level in (0, 1).

    Returns
    -------
    tuple
        ``(shift, (low, high))``.

    """
    b = _as_sample(baseline, "baseline")
    c = _as_sample(candidate, "candidate")
    cl = _check_confidence_level(confidence_level)
    return _hodges_lehmann(b, c, cl)


def _hodges_lehmann(b: np.ndarray, c: np.ndarray, cl: float) -> tuple[float, tuple[float, float]]:
    if b.size * c.size > 4_000_000:
        b, c = _sketch(b, 2000), _sketch(c, 2000)
    d = np.sort((c[None, :] - b[:, None]).ravel())
    shift = float(np.median(d))
    k = max(_hl_k(b.size, c.size, cl), 1)
    return shift, (float(d[k - 1]), float(d[d.size - k]))


def prob_superiority(
    baseline: Sequence[float] | np.ndarray, candidate: Sequence[float] | np.ndarray
) -> float:
    """Probability that a candidate value is below a baseline value.

    ``P(C < B) + 0.5 · P(C = B)`` for independent draws, i.e.
    ``U_baseline / (m · n)`` where ``U_baseline`` is scipy's Mann-Whitney U of
    ``baseline`` against ``candidate``. For lower-is-better metrics (times)
    this is the probability that the candidate is faster; 0.5 means no
    tendency either way.

    Parameters
    ----------
    baseline, candidate : sequence of float
        Finite samples.

    Returns
    -------
    float
        A probability in [0, 1].

    """
    b = _as_sample(baseline, "baseline")
    c = _as_sample(candidate, "candidate")
    return _prob_superiority(b, c)


def _prob_superiority(b: np.ndarray, c: np.ndarray) -> float:
    cs = np.sort(c)
    below = np.searchsorted(cs, b, side="left")  # candidates strictly below each baseline value
    ties = np.searchsorted(cs, b, side="right") - below
    return float((below.sum() + 0.5 * ties.sum()) / (b.size * c.size))


# --------------------------------------------------------------------------- equivalence


@dataclass(frozen=True)
class EquivalenceResult:
    """Two one-sided tests (TOST) of a ratio on the log scale (see :func:`tost`).

    Attributes
    ----------
    equivalent : bool
        True when both one-sided tests reject, i.e. the ratio of geometric
        means lies within ``[lower_bound, upper_bound]`` at ``confidence_level``.
    p_value : float
        ``max(p_lower, p_upper)`` (nan when a sample has fewer than 2 values).
    p_lower, p_upper : float
        p-values of ``H0: ratio <= lower_bound`` and ``H0: ratio >= upper_bound``.
    ratio : float
        Ratio of geometric means, candidate / baseline.
    ci_low, ci_high : float
        The ``1 - 2α`` interval of the ratio that TOST is equivalent to.
    margin, lower_bound, upper_bound : float
        ``margin`` m gives the bounds ``1 / (1 + m)`` and ``1 + m``.
    confidence_level : float
        ``1 - α``.

    """

    equivalent: bool
    p_value: float
    p_lower: float
    p_upper: float
    ratio: float
    ci_low: float
    ci_high: float
    margin: float
    lower_bound: float
    upper_bound: float
    confidence_level: float

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict (non-finite floats become ``None``)."""
        return {k: _json_float(v) for k, v in asdict(self).items()}


def tost(
    baseline: Sequence[float] | np.ndarray,
    candidate: Sequence[float] | np.ndarray,
    *,
    margin: float,
    confidence_level: float = 0.95,
) -> EquivalenceResult:
    """Test equivalence: is the candidate/baseline ratio within ``[1/(1+m), 1+m]``.

    Two one-sided Welch t-tests on log values (Schuirmann's TOST):
    ``H0: log ratio <= -log(1+m)`` and ``H0: log ratio >= log(1+m)``. Each is
    equivalent to :func:`scipy.stats.ttest_ind` (``equal_var=False``) after
    shifting the candidate's log values by the bound. Equivalence is declared at level
    α = ``1 - confidence_level`` when both reject, which is the same as the
    ``1 - 2α`` confidence interval of the ratio lying inside the bounds.

    Parameters
    ----------
    baseline, candidate : sequence of float
        Positive, finite samples.
    margin : float
        Relative equivalence margin m > 0, e.g. 0.02 for ±2 %.
    confidence_level : float, default 0.95
        ``1 - α``.

    Returns
    -------
    EquivalenceResult
        Not equivalent (p = nan) when a sample has fewer than 2 values.

    """
    b = _as_sample(baseline, "baseline")
    c = _as_sample(candidate, "candidate")
    m = _check_nonneg(margin, "margin", positive=True)
    cl = _check_confidence_level(confidence_level)
    _check_positive(b, "baseline")
    _check_positive(c, "candidate")
    return _tost(np.log(b), np.log(c), m, cl)


def _tost(lb: np.ndarray, lc: np.ndarray, m: float, cl: float) -> EquivalenceResult:
    lo_b, hi_b = -math.log1p(m), math.log1p(m)
    ratio = math.exp(float(lc.mean() - lb.mean()))
    if lb.size < 2 or lc.size < 2:
        return EquivalenceResult(
            False, math.nan, math.nan, math.nan, ratio, math.nan, math.nan, m,
            math.exp(lo_b), math.exp(hi_b), cl,
        )  # fmt: skip
    alpha = 1 - cl
    if lb.var() == 0 and lc.var() == 0:
        d = float(lc[0] - lb[0])
        p_lower = 0.0 if d > lo_b else 1.0
        p_upper = 0.0 if d < hi_b else 1.0
        ci = (ratio, ratio)
    else:
        # Welch t of the shifted log values; equal to scipy.stats.ttest_ind(lc - bound, lb,
        # equal_var=False, alternative=...) (cross-checked in the tests) without its overhead.
        p_lower = float(_welch_core(lb, lc - lo_b, 0.95, "greater")[3])
        p_upper = float(_welch_core(lb, lc - hi_b, 0.95, "less")[3])
        _, lo, hi, *_ = _welch_core(lb, lc, 1 - 2 * alpha, "two-sided")
        ci = (math.exp(float(lo)), math.exp(float(hi)))
    p = max(p_lower, p_upper)
    return EquivalenceResult(
        equivalent=bool(p < alpha),
        p_value=p,
        p_lower=p_lower,
        p_upper=p_upper,
        ratio=ratio,
        ci_low=ci[0],
        ci_high=ci[1],
        margin=m,
        lower_bound=math.exp(lo_b),
        upper_bound=math.exp(hi_b),
        confidence_level=cl,
    )


# --------------------------------------------------------------------------- comparison


def _json_float(v: Any) -> Any:
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, (tuple, list)):
        return [_json_float(x) for x in v]
    return v


@dataclass(frozen=True)
class SampleComparison:
    """Result of :func:`compare_samples`: effect, its CI, tests and a verdict.

    Attributes
    ----------
    statistic : str
        ``"median"`` or ``"mean"``: the centre whose ratio is reported.
    baseline_center, candidate_center : float
        That statistic for each sample.
    ratio : float
        ``candidate_center / baseline_center``.
    ci_low, ci_high : float
        Two-sided confidence interval of the ratio at ``confidence_level``
        (method in ``ci_method``); nan when a sample has fewer than 2 values.
    percent_change : float
        ``100 * (ratio - 1)``.
    p_value : float
        p-value of the primary test named by ``method``.
    method : str
        ``"welch-log-t"`` (Welch's t on log values) or ``"mann-whitney"``;
        prefixed by ``"replicate-median/"`` for :func:`compare_replicates`.
    mann_whitney_p : float
        Mann-Whitney U p-value (scipy, ``method="auto"``), same ``alternative``.
    hodges_lehmann : float
        Hodges-Lehmann shift ``candidate - baseline`` in the samples' units.
    hodges_lehmann_ci : tuple of float
        Its distribution-free interval.
    prob_superiority : float
        ``P(candidate < baseline) + 0.5 P(tie)``: for times, the probability
        that a candidate value is faster than a baseline value.
    verdict : str
        ``"regression"`` / ``"improvement"`` when ``p_value < 1 - confidence_level``
        and the ratio moved beyond ``threshold`` in the bad / good direction of
        the metric; ``"equivalent"`` when TOST within ``equivalence_margin``
        passes; otherwise ``"inconclusive"``.
    lower_is_better : bool
        Direction of the metric.
    confidence_level, threshold : float
        As passed.
    n_baseline, n_candidate : int
        Sample sizes (numbers of processes for :func:`compare_replicates`).
    alternative : str
        Alternative of the tests.
    ci_method : str
        ``"bootstrap-percentile"``, ``"bootstrap-bca"``, ``"delta"`` or ``"log-t"``.
    equivalence_margin : float
        Margin used for the equivalence verdict.
    equivalence_p : float
        TOST p-value.

    """

    statistic: str
    baseline_center: float
    candidate_center: float
    ratio: float
    ci_low: float
    ci_high: float
    percent_change: float
    p_value: float
    method: str
    mann_whitney_p: float
    hodges_lehmann: float
    hodges_lehmann_ci: tuple[float, float]
    prob_superiority: float
    verdict: str
    lower_is_better: bool
    confidence_level: float
    threshold: float
    n_baseline: int
    n_candidate: int
    alternative: str = "two-sided"
    ci_method: str = "log-t"
    equivalence_margin: float = 0.02
    equivalence_p: float = math.nan

    @property
    def significant(self) -> bool:
        """Whether ``p_value < 1 - confidence_level``."""
        return bool(self.p_value < 1 - self.confidence_level)

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict; non-finite floats become ``None``."""
        return {k: _json_float(v) for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> SampleComparison:
        """Rebuild from :meth:`to_dict` output (``None`` becomes nan).

        Raises
        ------
        InvalidParameterError
            If ``d`` lacks a field or has unknown ones.

        """
        if not isinstance(d, dict):
            raise InvalidParameterError(f"expected a dict; got {type(d).__name__}.")
        names = set(cls.__dataclass_fields__)
        missing = [
            k for k, f in cls.__dataclass_fields__.items() if f.default is MISSING and k not in d
        ]
        unknown = [k for k in d if k not in names]
        if missing or unknown:
            raise InvalidParameterError(
                f"not a SampleComparison dict: missing {sorted(missing)}, unknown {sorted(unknown)}."
            )
        kw = {k: (math.nan if v is None else v) for k, v in d.items()}
        ci = d.get("hodges_lehmann_ci")
        if ci is not None:
            kw["hodges_lehmann_ci"] = tuple(math.nan if v is None else float(v) for v in ci)
        return cls(**kw)


def _verdict(
    p: float, ratio: float, lower_is_better: bool, alpha: float, threshold: float, equiv: bool
) -> str:
    if math.isfinite(p) and p < alpha and abs(ratio - 1) > threshold and ratio != 1:
        worse = ratio > 1 if lower_is_better else ratio < 1
        return "regression" if worse else "improvement"
    if equiv:
        return "equivalent"
    return "inconclusive"


def compare_samples(
    baseline: Sequence[float] | np.ndarray,
    candidate: Sequence[float] | np.ndarray,
    *,
    confidence_level: float = 0.95,
    alternative: str = "two-sided",
    statistic: str = "median",
    lower_is_better: bool = True,
    threshold: float = 0.0,
    equivalence_margin: float | None = None,
    n_resamples: int = 9999,
    rng: int | np.random.Generator | None = None,
    test: str = "welch-log-t",
    ci_method: str = "auto",
) -> SampleComparison:
    """Compare two samples of a positive metric (times, sizes, rates) as a ratio (``docs/statistics.md#rule-2``).

    Parameters
    ----------
    baseline, candidate : sequence of float
        Positive, finite, independent samples (one value per replicate; see
        :func:`compare_replicates` for per-process groups).
    confidence_level : float, default 0.95
        Level of the ratio CI; ``α = 1 - confidence_level`` is the
        significance level of the verdict.
    alternative : {"two-sided", "less", "greater"}
        Alternative of the tests; ``"greater"`` means candidate larger.
        Intervals are always two-sided.
    statistic : {"median", "mean"}, default "median"
        Centre whose ratio is reported.
    lower_is_better : bool, default True
        Direction of the metric (times: True; throughput, accuracy: False).
    threshold : float, default 0.0
        Relative noise threshold: a significant change smaller than this
        (``|ratio - 1| <= threshold``) is not called a regression/improvement.
    equivalence_margin : float, optional
        TOST margin; default ``max(threshold, 0.02)``.
    n_resamples : int, default 9999
        Bootstrap resamples for the ratio CI when ``ci_method`` is a bootstrap.
    rng : None, int or numpy.random.Generator
        Randomness of the bootstrap.
    test : {"welch-log-t", "mann-whitney"}, default "welch-log-t"
        Primary test behind ``p_value`` and the verdict.
    ci_method : {"auto", "bootstrap-percentile", "bootstrap-bca", "delta", "log-t"}
        How the ratio CI is computed. ``"auto"``: for ``statistic="median"``
        the interval of the primary test, ``"log-t"`` with the Welch test (so
        that the interval excludes 1 exactly when ``p < α``,
        ``docs/statistics.md#rule-7``) and the percentile bootstrap of the log
        ratio of medians (:func:`scipy.stats.bootstrap`, each sample resampled
        independently) with Mann-Whitney; delta method on the log scale with
        Welch degrees of freedom for ``statistic="mean"``.
        ``"log-t"``: the Welch interval of the ratio of geometric means (equal
        to the ratio of medians under a log-symmetric or pure scale-shift
        model; consistent with the Welch p-value; no resampling, fastest).

    Returns
    -------
    SampleComparison
        With a SmallSampleWarning, p-values and CIs are nan and the verdict
        "inconclusive" when a sample has fewer than 2 values.

    Raises
    ------
    InvalidParameterError
        On non-positive / non-finite values or invalid parameters.

    """
    b = _as_sample(baseline, "baseline")
    c = _as_sample(candidate, "candidate")
    cl = _check_confidence_level(confidence_level)
    alternative = _check_alternative(alternative)
    statistic = _check_choice(statistic, "statistic", ("median", "mean"))
    test = _check_choice(test, "test", ("welch-log-t", "mann-whitney"))
    ci_method = _check_choice(
        ci_method, "ci_method", ("auto", "bootstrap-percentile", "bootstrap-bca", "delta", "log-t")
    )
    if ci_method == "auto":
        # The interval of the primary test, so that it excludes 1 exactly when p < alpha
        # (docs/statistics.md#rule-7); a ratio of means keeps its delta-method interval.
        if statistic == "mean":
            ci_method = "delta"
        else:
            ci_method = "log-t" if test == "welch-log-t" else "bootstrap-percentile"
    if ci_method == "delta" and statistic != "mean":
        raise InvalidParameterError(
            "`ci_method='delta'` is the delta method for a ratio of means; use it with "
            "statistic='mean', or pick 'bootstrap-percentile' / 'log-t' for medians."
        )
    if not isinstance(lower_is_better, (bool, np.bool_)):
        raise InvalidParameterError(
            f"`lower_is_better` must be True or False; got {lower_is_better!r}."
        )
    threshold = _check_nonneg(threshold, "threshold")
    margin = (
        max(threshold, 0.02)
        if equivalence_margin is None
        else _check_nonneg(equivalence_margin, "equivalence_margin", positive=True)
    )
    n_resamples = _check_n_resamples(n_resamples)
    gen = _check_rng(rng)  # validated whether or not this interval resamples
    _check_positive(b, "baseline")
    _check_positive(c, "candidate")

    center = np.median if statistic == "median" else np.mean
    cb, cc = float(center(b)), float(center(c))
    ratio = cc / cb
    hl, hl_ci = _hodges_lehmann(b, c, cl)
    ps = _prob_superiority(b, c)
    lb, lc = np.log(b), np.log(c)
    alpha = 1 - cl

    if b.size < 2 or c.size < 2:
        warnings.warn(
            f"a comparison needs at least 2 values per sample; got {b.size} baseline and "
            f"{c.size} candidate values, so no test or interval is computed (verdict "
            "'inconclusive'). Take more measurements.",
            SmallSampleWarning,
            stacklevel=2,
        )
        nan = math.nan
        return SampleComparison(
            statistic, cb, cc, ratio, nan, nan, 100 * (ratio - 1), nan, test, nan, hl,
            (nan, nan), ps, "inconclusive", bool(lower_is_better), cl, threshold,
            int(b.size), int(c.size), alternative, ci_method, margin, nan,
        )  # fmt: skip

    welch = _welch_core(lb, lc, cl, alternative)
    welch_p = float(welch[3])
    mw_p = float(_sps.mannwhitneyu(c, b, alternative=alternative, method="auto").pvalue)
    p = welch_p if test == "welch-log-t" else mw_p

    if ci_method == "log-t":
        ci = (math.exp(float(welch[1])), math.exp(float(welch[2])))
    elif ci_method == "delta":
        ci = _delta_ratio_of_means(b, c, cl)
    else:

        def log_ratio(xb: np.ndarray, xc: np.ndarray, axis: int = -1) -> np.ndarray:
            return np.log(center(xc, axis=axis)) - np.log(center(xb, axis=axis))

        if np.all(b == b[0]) and np.all(c == c[0]):
            ci = (ratio, ratio)
        else:
            method = "percentile" if ci_method == "bootstrap-percentile" else "BCa"
            lo, hi = _bootstrap((b, c), log_ratio, cl, n_resamples, method, gen)  # type: ignore[arg-type]
            ci = (math.exp(lo), math.exp(hi))

    eq = _tost(lb, lc, margin, cl)
    verdict = _verdict(p, ratio, bool(lower_is_better), alpha, threshold, eq.equivalent)
    return SampleComparison(
        statistic=statistic,
        baseline_center=cb,
        candidate_center=cc,
        ratio=ratio,
        ci_low=ci[0],
        ci_high=ci[1],
        percent_change=100 * (ratio - 1),
        p_value=p,
        method=test,
        mann_whitney_p=mw_p,
        hodges_lehmann=hl,
        hodges_lehmann_ci=hl_ci,
        prob_superiority=ps,
        verdict=verdict,
        lower_is_better=bool(lower_is_better),
        confidence_level=cl,
        threshold=threshold,
        n_baseline=int(b.size),
        n_candidate=int(c.size),
        alternative=alternative,
        ci_method=ci_method,
        equivalence_margin=margin,
        equivalence_p=eq.p_value,
    )


def compare_replicates(
    baseline_groups: Sequence[Sequence[float]],
    candidate_groups: Sequence[Sequence[float]],
    **compare_kw: Any,
) -> SampleComparison:
    """Compare two revisions on replicate-level data: one median per process.

    Samples taken inside one process share allocator state, CPU frequency and
    address layout, so they are correlated; pooling them into one large sample
    makes ordinary tests over-confident (identical code looks "significantly"
    different). Here each group (the samples of one process) is reduced to its
    median, and :func:`compare_samples` runs on those per-process medians, so
    the process is the unit of replication (docs/statistics.md#rule-1).

    Parameters
    ----------
    baseline_groups, candidate_groups : sequence of sequences of float
        One inner sequence of samples per process (at least 2 processes each
        for a test; fewer gives an inconclusive result with a warning).
    **compare_kw
        Passed to :func:`compare_samples` (``confidence_level``,
        ``lower_is_better``, ``threshold``, ``statistic``, ...).

    Returns
    -------
    SampleComparison
        ``n_baseline`` / ``n_candidate`` count processes; ``method`` is
        prefixed with ``"replicate-median/"``.

    """
    meds = []
    for groups, name in ((baseline_groups, "baseline_groups"), (candidate_groups, "candidate_groups")):
        if isinstance(groups, (str, bytes)) or not isinstance(groups, Iterable):
            raise InvalidParameterError(
                f"`{name}` must be a sequence of per-process samples; got {type(groups).__name__}."
            )
        groups = list(groups)
        if not groups:
            raise InvalidParameterError(f"`{name}` is empty; pass one sample list per process.")
        meds.append(
            np.array([np.median(_as_sample(g, f"{name}[{i}]")) for i, g in enumerate(groups)])
        )
    res = compare_samples(meds[0], meds[1], **compare_kw)
    return replace(res, method=f"replicate-median/{res.method}")


# --------------------------------------------------------------------------- multiplicity


def _as_pvalues(p_values: Any) -> np.ndarray:
    p = np.asarray(p_values, dtype=np.float64) if not isinstance(p_values, (str, bytes)) else None
    if p is None or p.ndim != 1:
        raise InvalidParameterError(
            "`p_values` must be a one-dimensional sequence of p-values; "
            f"got {type(p_values).__name__}{'' if p is None else f' of shape {p.shape}'}."
        )
    bad = ~((p >= 0) & (p <= 1))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InvalidParameterError(
            f"p-values must be in [0, 1]; p_values[{i}] is {p[i]}. Drop missing tests first."
        )
    return p


def holm(p_values: Sequence[float] | np.ndarray) -> np.ndarray:
    """Holm's step-down adjusted p-values (family-wise error control).

    ``adj_(i) = max_{j <= i} min(1, (m - j + 1) · p_(j))`` over the sorted
    p-values, returned in the input order. Reject ``H_i`` when
    ``adj_i <= alpha``.

    Parameters
    ----------
    p_values : sequence of float
        p-values in [0, 1].

    Returns
    -------
    numpy.ndarray
        Adjusted p-values, same order as the input.

    """
    p = _as_pvalues(p_values)
    m = p.size
    if m == 0:
        return p.copy()
    order = np.argsort(p, kind="stable")
    adj = np.minimum(1.0, (m - np.arange(m)) * p[order])
    adj = np.maximum.accumulate(adj)
    out = np.empty(m)
    out[order] = adj
    return out


def benjamini_hochberg(p_values: Sequence[float] | np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values (q-values; false-discovery-rate control).

    ``q_(i) = min_{j >= i} min(1, m · p_(j) / j)``; rejecting ``q_i <= alpha``
    controls the FDR at alpha for independent or positively dependent tests.
    Equal to ``scipy.stats.false_discovery_control(p, method="bh")``.

    Parameters
    ----------
    p_values : sequence of float
        p-values in [0, 1].

    Returns
    -------
    numpy.ndarray
        Adjusted p-values, same order as the input.

    """
    p = _as_pvalues(p_values)
    m = p.size
    if m == 0:
        return p.copy()
    order = np.argsort(p, kind="stable")
    q = p[order] * m / np.arange(1, m + 1)
    q = np.minimum(1.0, np.minimum.accumulate(q[::-1])[::-1])
    out = np.empty(m)
    out[order] = q
    return out


# --------------------------------------------------------------------------- proportions


def wilson_ci(
    successes: int, n: int, *, confidence_level: float = 0.95
) -> tuple[float, float]:
    """Wilson score interval of a proportion ``successes / n`` (e.g. an accuracy).

    Unlike the Wald interval it stays inside [0, 1] and keeps its coverage
    near 0 and 1. The bounds are clamped so that the interval always contains
    the estimate (at ``successes == n`` the upper bound would otherwise round
    to ``1 - 1e-16``).

    Parameters
    ----------
    successes : int
        Number of successes, ``0 <= successes <= n``.
    n : int
        Number of trials; ``n == 0`` gives ``(nan, nan)``.
    confidence_level : float, default 0.95
        Confidence level in (0, 1).

    Returns
    -------
    tuple of float
        ``(low, high)``.

    Examples
    --------
    >>> lo, hi = wilson_ci(95, 100)
    >>> round(lo, 4), round(hi, 4)
    (0.8882, 0.9785)

    """
    cl = _check_confidence_level(confidence_level)
    for name, v in (("successes", successes), ("n", n)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 0:
            raise InvalidParameterError(f"`{name}` must be an integer >= 0; got {v!r}.")
    if successes > n:
        raise InvalidParameterError(
            f"`successes` must be at most `n`; got {successes} successes in {n} trials."
        )
    if n == 0:
        return math.nan, math.nan
    z = _z_ppf(0.5 + cl / 2)
    p = successes / n
    denom = 1.0 + z * z / n
    center = (p + z * z / (2 * n)) / denom
    half = z / denom * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return min(max(0.0, center - half), p), max(min(1.0, center + half), p)


# --------------------------------------------------------------------------- ratio tests
#
# Each function below returns a ratio, its two-sided interval and the p-value of "ratio = 1"
# from ONE procedure, so that the interval excludes 1 exactly when p < 1 - confidence_level
# (docs/statistics.md#rule-7). torchperf.comparison builds every comparison on them.


@dataclass(frozen=True)
class RatioTest:
    """A ratio with its confidence interval and the p-value of the matching test.

    The interval is the inversion of the test: it excludes 1 exactly when
    ``p_value < 1 - confidence_level``.

    Attributes
    ----------
    ratio : float
        Point estimate, candidate / baseline.
    ci_low, ci_high : float
        Two-sided interval of the ratio at ``confidence_level``.
    p_value : float
        Two-sided p-value of ``H0: ratio = 1``.
    confidence_level : float
        Level of the interval.
    method : str
        ``"welch-log-t"``, ``"t-log"``, ``"mcnemar-exact"`` or ``"katz-log-z"``.

    """

    ratio: float
    ci_low: float
    ci_high: float
    p_value: float
    confidence_level: float
    method: str

    @property
    def excludes_one(self) -> bool:
        """Whether the interval excludes 1 (no change)."""
        return bool(self.ci_low > 1.0 or self.ci_high < 1.0)


def log_t_test(
    log_ratio: float, se: float, df: float, *, confidence_level: float = 0.95
) -> RatioTest:
    """t-based interval and test of a log ratio from its estimate and standard error.

    ``p = 2 · P(T_df > |d| / se)`` and ``exp(d ± t(1 − α/2, df) · se)``:
    the interval excludes 1 exactly when ``p < α``. ``df = inf`` uses the
    normal distribution. ``se == 0`` gives the point interval and p = 0 (or
    1 when ``d == 0``); a non-finite ``se`` gives nan.

    Parameters
    ----------
    log_ratio : float
        Estimate ``d`` of ``log(candidate / baseline)``.
    se : float
        Its standard error (>= 0).
    df : float
        Degrees of freedom of the t reference (> 0; ``inf`` for normal).
    confidence_level : float, default 0.95
        Level of the interval.

    Returns
    -------
    RatioTest
        ``method="t-log"``.

    """
    cl = _check_confidence_level(confidence_level)
    d, se, df = float(log_ratio), float(se), float(df)
    if not math.isfinite(d):
        raise InvalidParameterError(f"`log_ratio` must be finite; got {log_ratio!r}.")
    if not (df > 0):
        raise InvalidParameterError(f"`df` must be > 0 (inf for a normal reference); got {df!r}.")
    ratio = math.exp(d)
    if not math.isfinite(se) or se < 0:
        return RatioTest(ratio, math.nan, math.nan, math.nan, cl, "t-log")
    if se == 0:
        return RatioTest(ratio, ratio, ratio, 0.0 if d != 0 else 1.0, cl, "t-log")
    if math.isinf(df):
        p = float(2 * _special.ndtr(-abs(d) / se))
        q = float(_special.ndtri(0.5 + cl / 2))
    else:
        p = float(2 * _special.stdtr(df, -abs(d) / se))
        q = float(_special.stdtrit(df, 0.5 + cl / 2))
    return RatioTest(ratio, math.exp(d - q * se), math.exp(d + q * se), min(p, 1.0), cl, "t-log")


def welch_log_ratio_test(
    baseline: Sequence[float] | np.ndarray,
    candidate: Sequence[float] | np.ndarray,
    *,
    confidence_level: float = 0.95,
) -> RatioTest:
    """Ratio of geometric means with the Welch t interval and test on log values.

    The same Welch statistic, standard error and degrees of freedom give the
    p-value and the interval (:func:`log_ratio_test`); p-value and interval
    equal ``scipy.stats.ttest_ind(log c, log b, equal_var=False)`` and its
    ``confidence_interval``, exponentiated. Two constant samples give the
    exact ratio, a point interval and p = 0 (1 when equal).

    Parameters
    ----------
    baseline, candidate : sequence of float
        Positive, finite samples, at least 2 values each.
    confidence_level : float, default 0.95
        Level of the interval.

    Returns
    -------
    RatioTest
        ``method="welch-log-t"``.

    """
    t = log_ratio_test(baseline, candidate, confidence_level=confidence_level)
    cl = _check_confidence_level(confidence_level)
    return RatioTest(t.ratio, t.ci_low, t.ci_high, t.p_value, cl, "welch-log-t")


def _check_outcomes(x: Any, name: str) -> np.ndarray:
    arr = np.asarray(x)
    if arr.ndim != 1 or arr.size == 0:
        raise InvalidParameterError(
            f"`{name}` must be a non-empty 1-D sequence of per-example outcomes (True = correct); "
            f"got shape {arr.shape}."
        )
    if arr.dtype != bool:
        if not np.isin(arr, (0, 1)).all():
            raise InvalidParameterError(
                f"`{name}` must hold booleans or 0/1 (1 = correct); got other values."
            )
        arr = arr.astype(bool)
    return arr


def mcnemar_ratio_test(
    baseline_correct: Sequence[bool] | np.ndarray,
    candidate_correct: Sequence[bool] | np.ndarray,
    *,
    confidence_level: float = 0.95,
) -> RatioTest:
    """Exact McNemar test of two accuracies on the same examples, with the matching interval.

    Of the ``D = b + c`` discordant examples (``b`` right only for the
    baseline, ``c`` right only for the candidate), ``c ~ Binomial(D, π)`` with
    ``π = 1/2`` under "same accuracy". The p-value is the exact two-sided
    binomial test (``scipy.stats.binomtest(c, D, 0.5)``), and the interval of
    π is its Clopper-Pearson inversion (``binomtest(...).proportion_ci(method="exact")``).
    Given the ``k`` examples both got right, the accuracy ratio is
    ``r(π) = (k + π D) / (k + (1 − π) D)``, increasing in π with ``r(1/2) = 1``,
    so the interval ``(r(π_lo), r(π_hi))`` excludes 1 exactly when the test
    rejects (an interval conditional on ``k`` and ``D``).

    Parameters
    ----------
    baseline_correct, candidate_correct : sequence of bool
        Per-example outcomes on the same examples, in the same order.
    confidence_level : float, default 0.95
        Level of the interval.

    Returns
    -------
    RatioTest
        ``method="mcnemar-exact"``; ``ratio`` is the candidate's accuracy over
        the baseline's (inf when the baseline got nothing right).

    """
    cl = _check_confidence_level(confidence_level)
    bc = _check_outcomes(baseline_correct, "baseline_correct")
    cc = _check_outcomes(candidate_correct, "candidate_correct")
    if bc.size != cc.size:
        raise InvalidParameterError(
            f"paired outcomes need the same examples; got {bc.size} baseline and {cc.size} "
            "candidate outcomes. Compare accuracies on the same test set."
        )
    k = int(np.sum(bc & cc))
    b = int(np.sum(bc & ~cc))
    c = int(np.sum(~bc & cc))
    d = b + c

    def r(pi: float) -> float:
        num, den = k + pi * d, k + (1 - pi) * d
        return num / den if den > 0 else (math.inf if num > 0 else 1.0)

    if d == 0:  # identical outcomes: equal accuracies, nothing to test
        return RatioTest(1.0, 1.0, 1.0, 1.0, cl, "mcnemar-exact")
    res = _sps.binomtest(c, d, 0.5)
    ci = res.proportion_ci(confidence_level=cl, method="exact")
    return RatioTest(
        r(c / d), r(float(ci.low)), r(float(ci.high)), float(res.pvalue), cl, "mcnemar-exact"
    )


def proportion_ratio_test(
    baseline_successes: int,
    baseline_n: int,
    candidate_successes: int,
    candidate_n: int,
    *,
    confidence_level: float = 0.95,
) -> RatioTest:
    """Ratio of two independent proportions: Katz log interval with the matching z test.

    ``log r = log(p2 / p1)`` with ``se² = 1/k2 − 1/n2 + 1/k1 − 1/n1`` (Katz et
    al. 1978); ``p = 2 Φ(−|log r| / se)`` and ``r · exp(± z se)`` come from the
    same statistic, so the interval excludes 1 exactly when ``p < α``. For
    accuracies on one shared test set this ignores the pairing (conservative
    when the models' errors are positively correlated); prefer
    :func:`mcnemar_ratio_test` when per-example outcomes exist. A zero count
    on either side gives nan (no log-scale test).

    Parameters
    ----------
    baseline_successes, baseline_n, candidate_successes, candidate_n : int
        Counts, ``0 <= successes <= n``, ``n >= 1``.
    confidence_level : float, default 0.95
        Level of the interval.

    Returns
    -------
    RatioTest
        ``method="katz-log-z"``.

    """
    cl = _check_confidence_level(confidence_level)
    for name, v in (
        ("baseline_successes", baseline_successes), ("baseline_n", baseline_n),
        ("candidate_successes", candidate_successes), ("candidate_n", candidate_n),
    ):  # fmt: skip
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 0:
            raise InvalidParameterError(f"`{name}` must be an integer >= 0; got {v!r}.")
    k1, n1, k2, n2 = int(baseline_successes), int(baseline_n), int(candidate_successes), int(candidate_n)
    if n1 == 0 or n2 == 0 or k1 > n1 or k2 > n2:
        raise InvalidParameterError(
            f"counts must satisfy 0 <= successes <= n and n >= 1; got {k1}/{n1} and {k2}/{n2}."
        )
    p1, p2 = k1 / n1, k2 / n2
    if k1 == 0 or k2 == 0:
        ratio = p2 / p1 if p1 > 0 else (1.0 if p2 == 0 else math.inf)
        return RatioTest(ratio, math.nan, math.nan, math.nan, cl, "katz-log-z")
    se = math.sqrt(max(1 / k2 - 1 / n2 + 1 / k1 - 1 / n1, 0.0))
    t = log_t_test(math.log(p2 / p1), se, math.inf, confidence_level=cl)
    return replace(t, method="katz-log-z")


# --------------------------------------------------------------------------- trends and shifts
#
# Pure statistics used by the measurement loop (timing.steady_state_check, AdaptiveStop,
# measure's stability warnings) and by Pareto comparisons; they live here so that every
# statistic of the package is in one module, checked against scipy.


def theil_sen_slope(values: Sequence[float] | np.ndarray) -> float:
    """Theil-Sen slope of ``values`` against their index: the median of pairwise slopes.

    Robust to outliers; equal to the slope of
    ``scipy.stats.theilslopes(values)``.

    Parameters
    ----------
    values : sequence of float
        At least 2 finite values, in order.

    Returns
    -------
    float
        Change per step.

    """
    y = _as_sample(values, "values", min_n=2)
    i, j = np.triu_indices(y.size, k=1)
    return float(np.median((y[j] - y[i]) / (j - i)))


def pettitt_test(values: Sequence[float] | np.ndarray) -> tuple[int, float]:
    """Pettitt's non-parametric test for one change in level.

    ``U_k = Σ_{i<=k<j} sign(x_j − x_i)``; the split is at ``argmax |U_k|`` and the
    approximate p-value is ``min(1, 2 exp(−6 K² / (n³ + n²)))`` with
    ``K = max |U_k|`` (Pettitt 1979).

    Parameters
    ----------
    values : sequence of float
        At least 2 finite values, in order.

    Returns
    -------
    tuple
        ``(k, p)``: the change happens between ``values[k - 1]`` and ``values[k]``.

    """
    x = _as_sample(values, "values", min_n=2)
    n = x.size
    signs = np.sign(x[None, :] - x[:, None])  # signs[i, j] = sign(x_j - x_i)
    u = np.array([signs[: k + 1, k + 1 :].sum() for k in range(n - 1)])
    k = int(np.argmax(np.abs(u)))
    big_k = float(abs(u[k]))
    p = min(1.0, 2.0 * math.exp(-6.0 * big_k**2 / (n**3 + n**2)))
    return k + 1, p


def median_abs_deviation(values: Sequence[float] | np.ndarray) -> float:
    """Median absolute deviation from the median (unscaled).

    Equal to ``scipy.stats.median_abs_deviation(values)`` (``scale=1``).

    Parameters
    ----------
    values : sequence of float
        Finite values.

    Returns
    -------
    float
        ``median(|x − median(x)|)``.

    """
    x = _as_sample(values, "values")
    return float(np.median(np.abs(x - np.median(x))))


def iqr_over_median(values: Sequence[float] | np.ndarray) -> float | None:
    """Interquartile range over the median, a robust relative spread.

    Quartiles by Python's ``statistics.quantiles(values, n=4)`` (the
    "exclusive" method). ``None`` for fewer than 4 values or a median <= 0.

    Parameters
    ----------
    values : sequence of float
        Finite values.

    Returns
    -------
    float or None
        ``(Q3 − Q1) / median``.

    """
    import statistics

    x = _as_sample(values, "values")
    if x.size < 4:
        return None
    q1, _, q3 = statistics.quantiles(x.tolist(), n=4)
    med = float(np.median(x))
    return (q3 - q1) / med if med > 0 else None


def welch_difference_ci(
    mean_a: float,
    std_a: float,
    n_a: int,
    mean_b: float,
    std_b: float,
    n_b: int,
    *,
    confidence_level: float = 0.95,
) -> tuple[float, float]:
    """Welch interval of ``mean_a − mean_b`` from each side's mean, standard deviation and count.

    A side with ``n < 2`` contributes no variance. Equal to
    ``scipy.stats.ttest_ind(a, b, equal_var=False).confidence_interval(level)``
    for the samples behind the summaries.

    Parameters
    ----------
    mean_a, std_a, n_a, mean_b, std_b, n_b : float, float, int
        Summaries of the two samples (``std`` with ``ddof=1``).
    confidence_level : float, default 0.95
        Level of the interval.

    Returns
    -------
    tuple of float
        ``(low, high)``; the point difference twice when neither side has variance.

    """
    cl = _check_confidence_level(confidence_level)
    var_a = std_a**2 / n_a if n_a >= 2 else 0.0
    var_b = std_b**2 / n_b if n_b >= 2 else 0.0
    diff = float(mean_a - mean_b)
    se2 = var_a + var_b
    if se2 == 0.0:
        return diff, diff
    denom = 0.0
    if var_a > 0:
        denom += var_a**2 / (n_a - 1)
    if var_b > 0:
        denom += var_b**2 / (n_b - 1)
    half = _t_ppf(0.5 + cl / 2.0, se2**2 / denom) * math.sqrt(se2)
    return diff - half, diff + half


# --------------------------------------------------------------------------- outliers


@dataclass(frozen=True)
class OutlierReport:
    """Which values lie outside the fences (see :func:`classify_outliers`).

    Outliers are reported, never removed: statistics are always computed on
    every value.

    Attributes
    ----------
    method : str
        ``"tukey"`` or ``"mad"``.
    k : float
        Fence multiplier.
    lower_fence, upper_fence : float
        Values strictly outside ``[lower_fence, upper_fence]`` are outliers.
    low_indices, high_indices : tuple of int
        Positions (in input order) of low and high outliers.

    """

    method: str
    k: float
    lower_fence: float
    upper_fence: float
    low_indices: tuple[int, ...] = ()
    high_indices: tuple[int, ...] = ()

    @property
    def indices(self) -> tuple[int, ...]:
        """All outlier positions, sorted."""
        return tuple(sorted(self.low_indices + self.high_indices))

    @property
    def low_count(self) -> int:
        """Number of low outliers."""
        return len(self.low_indices)

    @property
    def high_count(self) -> int:
        """Number of high outliers."""
        return len(self.high_indices)

    @property
    def count(self) -> int:
        """Number of outliers."""
        return self.low_count + self.high_count

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict (fences, indices and counts)."""
        return {
            "method": self.method,
            "k": self.k,
            "lower_fence": _json_float(self.lower_fence),
            "upper_fence": _json_float(self.upper_fence),
            "low_indices": list(self.low_indices),
            "high_indices": list(self.high_indices),
            "low_count": self.low_count,
            "high_count": self.high_count,
            "count": self.count,
        }


_MAD_Z = 0.6745  # Phi^-1(0.75): modified z = 0.6745 (x - median) / MAD (Iglewicz & Hoaglin)


def classify_outliers(
    values: Sequence[float] | np.ndarray, *, method: str = "tukey", k: float | None = None
) -> OutlierReport:
    """Classify outliers by Tukey fences or the MAD-based modified z-score.

    ``"tukey"``: outside ``[Q1 - k·IQR, Q3 + k·IQR]`` (default k = 1.5).
    ``"mad"``: modified z-score ``0.6745 (x - median) / MAD`` beyond ±k
    (default k = 3.5, Iglewicz & Hoaglin); when MAD is 0 the mean absolute
    deviation times 1.2533 replaces ``MAD / 0.6745``. Nothing is dropped.

    Parameters
    ----------
    values : sequence of float
        Finite measurements.
    method : {"tukey", "mad"}, default "tukey"
        Rule to apply.
    k : float, optional
        Fence multiplier (> 0).

    Returns
    -------
    OutlierReport
        Fences and the indices of low / high outliers.

    """
    x = _as_sample(values)
    method = _check_choice(method, "method", ("tukey", "mad"))
    kk = (1.5 if method == "tukey" else 3.5) if k is None else _check_nonneg(k, "k", positive=True)
    if method == "tukey":
        q1, q3 = np.percentile(x, [25, 75])
        lo, hi = q1 - kk * (q3 - q1), q3 + kk * (q3 - q1)
    else:
        med = float(np.median(x))
        scale = float(np.median(np.abs(x - med))) / _MAD_Z
        if scale == 0:
            scale = 1.253314 * float(np.mean(np.abs(x - med)))
        lo, hi = med - kk * scale, med + kk * scale
    return OutlierReport(
        method=method,
        k=kk,
        lower_fence=float(lo),
        upper_fence=float(hi),
        low_indices=tuple(int(i) for i in np.flatnonzero(x < lo)),
        high_indices=tuple(int(i) for i in np.flatnonzero(x > hi)),
    )


# --------------------------------------------------------------------------- planning


def required_sample_size(
    cv: float, *, target_rel_halfwidth: float, confidence_level: float = 0.95
) -> int:
    """Return the samples needed for a Student-t CI of the mean with a target relative half-width.

    Smallest n >= 2 with ``t(1 - α/2, n - 1) · cv / √n <= target_rel_halfwidth``,
    where ``cv`` is the (observed or expected) coefficient of variation. The
    realised half-width is random (it uses the sample std); at the planned n it
    is about the target on average (slightly below, since E[s] < σ).

    Parameters
    ----------
    cv : float
        Coefficient of variation std/mean (>= 0).
    target_rel_halfwidth : float
        Desired half-width relative to the mean, e.g. 0.01 for ±1 %.
    confidence_level : float, default 0.95
        Confidence level in (0, 1).

    Returns
    -------
    int
        Planned sample size (2 when ``cv`` is 0).

    Examples
    --------
    A std of 2 ms around a mean of 10 ms (cv 0.2), target ±0.5 ms (0.05):

    >>> required_sample_size(0.2, target_rel_halfwidth=0.05)
    64

    """
    cv = _check_nonneg(cv, "cv")
    target = _check_nonneg(target_rel_halfwidth, "target_rel_halfwidth", positive=True)
    cl = _check_confidence_level(confidence_level)
    if cv == 0:
        return 2
    p = 0.5 + cl / 2
    n = max(2, math.ceil((_z_ppf(p) * cv / target) ** 2))
    if n > 10**9:
        raise InvalidParameterError(
            f"cv = {cv:g} with a target half-width of {target:g} needs about {n:.3g} samples; "
            "relax the target or reduce the noise."
        )
    while _t_ppf(p, n - 1) * cv / math.sqrt(n) > target:
        n += 1
    return n


def ratio_ci_from_intervals(
    baseline_center: float,
    baseline_ci: tuple[float, float],
    candidate_center: float,
    candidate_ci: tuple[float, float],
    *,
    interval_level: float = 0.99,
    confidence_level: float = 0.95,
) -> tuple[float, float, float]:
    """Approximate CI of ``candidate / baseline`` when only per-side CIs are known.

    For asv results stored without raw samples (median and a 99 % CI). Each
    side's log-scale standard error is recovered as
    ``(log hi - log lo) / (2 z)`` with ``z = Φ⁻¹(1 - (1 - interval_level)/2)``;
    the two are combined in quadrature and ``log ratio ± z' · se`` is
    exponentiated. Assumes roughly symmetric intervals on the log scale and
    independent sides; use :func:`compare_samples` when samples exist.

    Parameters
    ----------
    baseline_center, candidate_center : float
        Positive centres (e.g. medians).
    baseline_ci, candidate_ci : tuple of float
        Positive ``(low, high)`` intervals around each centre.
    interval_level : float, default 0.99
        Level of the given intervals (asv stores 99 %).
    confidence_level : float, default 0.95
        Level of the returned ratio interval.

    Returns
    -------
    tuple of float
        ``(ratio, low, high)``.

    """
    il = _check_confidence_level(interval_level, "interval_level")
    cl = _check_confidence_level(confidence_level)
    vals = {}
    for name, center, ci in (
        ("baseline", baseline_center, baseline_ci),
        ("candidate", candidate_center, candidate_ci),
    ):
        try:
            lo, hi = (float(v) for v in ci)
            center = float(center)
        except (TypeError, ValueError):
            raise InvalidParameterError(
                f"`{name}_ci` must be a (low, high) pair of numbers and `{name}_center` a "
                f"number; got {ci!r} and {center!r}."
            ) from None
        if not all(math.isfinite(v) and v > 0 for v in (lo, hi, center)) or not lo <= center <= hi:
            raise InvalidParameterError(
                f"{name}: need 0 < low <= center <= high, all finite; got center {center!r}, "
                f"interval ({lo!r}, {hi!r})."
            )
        vals[name] = (center, (math.log(hi) - math.log(lo)) / (2 * _z_ppf(0.5 + il / 2)))
    (cb, sb), (cc, sc) = vals["baseline"], vals["candidate"]
    ratio = cc / cb
    half = _z_ppf(0.5 + cl / 2) * math.hypot(sb, sc)
    return ratio, ratio * math.exp(-half), ratio * math.exp(half)


# --------------------------------------------------------------------------- formatting


def format_p(p: float) -> str:
    """Format a p-value for humans: ``"p < 0.001"``, ``"p = 0.034"``, ``"p = n/a"``.

    Parameters
    ----------
    p : float
        p-value in [0, 1], or nan when no test was possible.

    Returns
    -------
    str
        The formatted p-value.

    """
    if isinstance(p, bool) or not isinstance(p, (int, float, np.integer, np.floating)):
        raise InvalidParameterError(f"`p` must be a number in [0, 1] or nan; got {p!r}.")
    p = float(p)
    if math.isnan(p):
        return "p = n/a"
    if not 0 <= p <= 1:
        raise InvalidParameterError(f"`p` must be in [0, 1] or nan; got {p:g}.")
    if p < 0.001:
        return "p < 0.001"
    return f"p = {p:.3f}"
