"""Change points (level shifts) across an asv history, with significance across many series.

One *series* is one benchmark x parameter combination x machine x environment,
ordered by revision. Environments are never mixed in one series, so a NumPy or
BLAS switch between environments cannot look like a code regression.

Method (per series, on ``log(value)``; values <= 0 are analysed unlogged)
--------------------------------------------------------------------------
1. **Noise.** The per-revision noise SD ``sigma`` comes from neighbour
   differences (the larger of the MAD estimate and the 90%-trimmed RMS, so a
   second mode of the noise is seen); a revision whose stored uncertainty
   (raw samples, asv's 99% CI, or quartiles over ``sqrt(repeat)``) is larger
   than usual gets a larger variance and counts less.
2. **Outlier guard.** A point far (``outlier_k`` robust SDs) from the levels of
   the 3 revisions before it and the 3 after it, and from both neighbours, is
   set aside; so are two neighbouring points that together stand apart. A
   point next to a step is close to one of the two levels and is kept.
3. **Multiscale scan.** For every window ``(s, k, e)`` of a grid of side
   lengths (3, 4, 5, 6, 8, ... up to ``window``, and every window that reaches
   the series start or end, where a side may be as short as ``min_size``), the
   weighted two-sample z of the levels either side of ``k``. Its p-value (t
   tail) is multiplied by the effective number of windows (``0.1 n^2`` or the
   number of windows, whichever is smaller; calibrated by simulation) — a scan
   bound, so short levels and steps near the series ends are reachable
   without paying a Bonferroni price for every overlapping window.
4. **Greedy selection.** Windows are taken best-first (smallest p) as long as
   p <= ``split_alpha``; a window is dropped once a chosen split lies strictly
   inside it. A bump (a regression fixed N >= 3 revisions later) is two
   changes whose windows share an end.
5. **Magnitude and drift.** Each change is re-estimated between its
   neighbouring changes (at most ``window`` revisions per side); when a common
   slope is significant there (p < 0.01) the jump is re-tested with the slope
   fitted (``method="trend-adjusted"``) and must stay significant.
6. **Environments and machines.** Series of one benchmark (same parameters) in
   other environments or on other machines are tested at every commit where
   any of them has a candidate (their own local test there needs no search
   correction); the members' evidence is combined (Stouffer) and a series with
   its own candidate gets ``min(1, 2 min(p_own, p_combined))``.
7. **Many series.** The p-values of all candidates of all series are adjusted
   with Benjamini-Hochberg (quiet series count as p = 1); a change point is
   reported when its q-value is at most ``fdr`` **and** ``|ratio - 1|``
   reaches the benchmark's threshold (``min_effect``, or asv's
   ``regressions_thresholds`` entry for it).

Each change point names the last good and first bad commit (the neighbouring
revisions that have data for this series), the ratio ``exp(delta)`` with its
confidence interval, p and q, direction (``regression``/``improvement``, which
depends on ``lower_is_better``) and cause: ``environment`` when an
environment fact recorded by torchperf's side store (NumPy version, BLAS
library or threads) or the Python version changed between those two commits
inside the same environment name, else ``code``.
"""

from __future__ import annotations

import math
import re
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from torchperf.errors import InvalidParameterError
from torchperf.metrics import Direction

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = [
    "ChangePoint",
    "detect_change_points",
    "find_regressions",
    "segment_series",
    "select_regressions",
]

SERIES_KEYS = ("machine", "env_name", "benchmark", "param_str")
ENV_FACTS = ("python", "numpy_version", "blas_library", "blas_version", "blas_threads")
_UNCERTAINTY = ("ci_low", "ci_high", "q25", "q75", "repeat", "samples")


@dataclass(frozen=True)
class ChangePoint:
    """A level shift in one series.

    Attributes
    ----------
    benchmark, params, machine, env : identify the series (``params`` is a tuple of str).
    commit_before, commit_after : last good and first bad commit (full hashes).
    revision_before, revision_after : their positions in the history.
    ratio, ci_low, ci_high : level after / level before, with its CI.
    p_value, q_value : location-corrected p-value and its BH-adjusted q-value.
    direction : ``"regression"`` or ``"improvement"``.
    metric_direction : ``"lower_is_better"`` or ``"higher_is_better"``.
    value_before, value_after : robust levels (medians) of the neighbouring segments.
    n_before, n_after : revisions in those segments (within the test window).
    threshold : the effect threshold applied.
    method : ``"level"`` or ``"trend-adjusted"`` (drift absorbed by a slope).
    cause : ``"code"`` or ``"environment"``.
    env_change : the environment facts that changed, ``{fact: [before, after]}``.
    significant : q <= fdr and the effect reaches the threshold.

    """

    benchmark: str
    params: tuple[str, ...]
    machine: str
    env: str
    commit_before: str
    commit_after: str
    revision_before: int
    revision_after: int
    ratio: float
    ci_low: float
    ci_high: float
    p_value: float
    q_value: float
    direction: str
    metric_direction: str
    value_before: float
    value_after: float
    n_before: int
    n_after: int
    threshold: float
    method: str
    cause: str = "code"
    env_change: dict[str, list[Any]] = field(default_factory=dict)
    unit: str | None = None
    date_after: str | None = None
    confidence_level: float = 0.95
    significant: bool = True

    @property
    def percent_change(self) -> float:
        """``100 * (ratio - 1)``."""
        return 100.0 * (self.ratio - 1.0)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict with the CLI contract fields (README, *The command line*) and the rest."""
        return _json_ready(self, kind="change-point", percent_change=self.percent_change)


def _json_ready(finding: Any, **extra: Any) -> dict[str, Any]:
    """``asdict(finding)`` with ``params`` as a list, ``extra`` added and non-finite floats as ``None``."""
    d = asdict(finding)
    d["params"] = list(finding.params)
    d.update(extra)
    return {k: None if isinstance(v, float) and not math.isfinite(v) else v for k, v in d.items()}


# --------------------------------------------------------------------------- numerics


def _running_median(y: np.ndarray, w: int = 5) -> np.ndarray:
    n = y.size
    if n < 3:
        return y.copy()
    h = w // 2
    pad = np.concatenate([np.full(h, y[0]), y, np.full(h, y[-1])])
    win = np.lib.stride_tricks.sliding_window_view(pad, w)
    return np.median(win, axis=1)


def _noise_scale(y: np.ndarray) -> float:
    if y.size < 3:
        return 0.0
    d = np.abs(np.diff(y))
    return float(1.4826 * np.median(d) / math.sqrt(2))


def _outliers(y: np.ndarray, k: float, sigma: float | None = None) -> np.ndarray:
    """Boolean mask of single-commit outliers: far from the levels on both sides.

    A point is an outlier when it lies more than ``k`` noise SDs from the median of
    the 3 points before it **and** from the median of the 3 points after it (one side
    at the series ends), and more than ``k`` SDs from each neighbour. A point
    next to a step is close to one of the two levels, so a step never creates an
    outlier and a spike next to a step is still caught. Two neighbouring points
    that together stand apart from the 3 points before and the 3 after (same side)
    are outliers too: a level must last 3 revisions inside a series to count. The noise scale comes from neighbour differences
    (robust to steps). In a deterministic series (zero noise) only isolated points
    that differ from both neighbours count.
    """
    n = y.size
    if n < 5:
        return np.zeros(n, dtype=bool)
    if sigma is None:
        sigma = _noise_scale(y)
    if sigma == 0:
        rm = _running_median(y, 5)
        bad = y != rm
        iso = np.zeros_like(bad)
        iso[1:-1] = bad[1:-1] & ~bad[:-2] & ~bad[2:]
        return iso
    lim = k * sigma
    pad = np.r_[np.full(3, np.nan), y, np.full(3, np.nan)]
    win = np.lib.stride_tricks.sliding_window_view(pad, 3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        med = np.nanmedian(win, axis=1)  # med[j] = median of y[j-3:j]
    left, right = med[:n], med[4 : n + 4]  # 3 points before i; 3 points after i
    far_l = ~(np.abs(y - left) <= lim)  # NaN (no points on that side) counts as far
    far_r = ~(np.abs(y - right) <= lim)
    jump = np.abs(np.diff(y)) > lim  # jump[i]: between i and i + 1
    far_prev = np.r_[True, jump]
    far_next = np.r_[jump, True]
    out = far_l & far_r & far_prev & far_next
    # pairs: two close points far from the 3 before and the 3 after (never at a series end)
    if n >= 8:
        i = np.arange(3, n - 4)
        j = i + 1
        r2 = med[j + 4]  # 3 points after j
        pair = (
            ~jump[i] & jump[i - 1] & jump[j]
            & (np.abs(y[i] - left[i]) > lim) & (np.abs(y[j] - left[i]) > lim)
            & (np.abs(y[i] - r2) > lim) & (np.abs(y[j] - r2) > lim)
            & (np.sign(y[i] - left[i]) == np.sign(y[i] - r2))
        )
        out[i[pair]] = True
        out[j[pair]] = True
    return out


def _clean(y: np.ndarray, k: float) -> tuple[np.ndarray, float]:
    """``y`` without its single-commit outliers, and the robust noise scale."""
    keep = ~_outliers(y, k)
    yc = y[keep]
    return yc, _noise_scale(yc)


#: Shortest side of a change point whose window reaches a series end (the default
#: ``min_size``): a step two revisions before the newest revision is found.
MIN_SIZE_END = 2
#: Shortest side of a change point inside a series (a level between two changes).
MIN_SIZE_INNER = 3
_SIDE_GRID = (2, 3, 4, 5, 6, 8, 11, 15, 21, 30, 42, 60, 84, 120)
_Z99 = 2.5758293035489004  # asv stores 99% intervals
# E[Z^2 | |Z| <= c] for Z ~ N(0, 1) and c its two-sided 90% point: makes the 90%-trimmed
# mean square of neighbour differences a consistent estimate of 2 sigma^2 for normal noise.
_C_TRIM = 0.6230154841


def _noise_sd(y: np.ndarray) -> float:
    """Run-to-run noise SD of a series from its neighbour differences (insensitive to steps).

    The larger of ``1.4826 MAD(diff) / sqrt(2)`` (robust) and the 90%-trimmed root mean
    square of the differences (consistent for normal noise, and it sees a second mode:
    bimodal runner pools make many neighbour differences large, which the MAD ignores).
    """
    if y.size < 3:
        return 0.0
    d = np.abs(np.diff(y))
    mad = 1.4826 * float(np.median(d)) / math.sqrt(2)
    keep = max(1, math.floor(0.9 * d.size))
    ds = np.sort(d)[:keep]
    rms = math.sqrt(float(np.mean(ds * ds)) / (2 * _C_TRIM))
    return max(mad, rms)


def _side_sizes(min_size: int, max_side: int) -> list[int]:
    return sorted({min_size, *(a for a in _SIDE_GRID if min_size <= a <= max_side)})


def scan_windows(
    y: np.ndarray, w: np.ndarray | None = None, *, min_size: int = MIN_SIZE_END, max_side: int = 30
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Two-sample statistics of every window ``(s, k, e)`` of a multiscale grid.

    A window compares ``y[s:k]`` with ``y[k:e]``. Side lengths come from a geometric
    grid (3, 4, 5, 6, 8, 10, 12, ...) up to ``max_side``, plus every window that
    reaches the start or the end of the series, whose side there may be as short as
    ``min_size``: a step two revisions after the start (or before the end) and a
    level of three revisions between two steps are both looked at, while two
    unusual revisions inside a series never make a level on their own.

    Parameters
    ----------
    y : ndarray
        The series (log values).
    w : ndarray, optional
        Inverse variances of the points (default 1): the statistic is
        ``(mean_w(right) - mean_w(left)) / sqrt(1/W_left + 1/W_right)``.
    min_size : int, default 2
        Shortest side at a series end (inside the series, sides have at least 3 points).
    max_side : int, default 30
        Longest side (windows reaching a series end may be shorter than the grid).

    Returns
    -------
    s, k, e : ndarray of int
        Window start, split (first point of the right side) and end (exclusive).
    z : ndarray of float
        The standardised difference of the weighted means (right minus left).

    """
    n = int(y.size)
    if w is None:
        w = np.ones(n)
    inner = _side_sizes(max(min_size, MIN_SIZE_INNER), max_side)  # sides inside the series: >= 3 points
    grid = np.array(inner)
    parts: list[tuple[np.ndarray, np.ndarray]] = []  # (s, k) per family; e in `ends`
    ends: list[np.ndarray] = []
    # (families are disjoint: a window reaching an end whose sides are both grid sizes
    # is left to the grid family)
    for a in inner:
        for b in inner:
            kk = np.arange(a, n - b + 1)
            parts.append((kk - a, kk))
            ends.append(kk + b)
        # right side reaching the series end (it may be as short as min_size)
        kk = np.arange(max(a, n - max_side), n - min_size + 1)
        kk = kk[~np.isin(n - kk, grid)]
        parts.append((kk - a, kk))
        ends.append(np.full(kk.size, n))
    for b in inner:  # left side reaching the series start
        kk = np.arange(min_size, min(max_side, n - b) + 1)
        kk = kk[~np.isin(kk, grid)]
        parts.append((np.zeros(kk.size, dtype=int), kk))
        ends.append(kk + b)
    kk = np.arange(max(min_size, n - max_side), min(max_side, n - min_size) + 1)
    kk = kk[~np.isin(kk, grid) & ~np.isin(n - kk, grid)]
    parts.append((np.zeros(kk.size, dtype=int), kk))
    ends.append(np.full(kk.size, n))
    s = np.concatenate([p[0] for p in parts]).astype(np.int64)
    k = np.concatenate([p[1] for p in parts]).astype(np.int64)
    e = np.concatenate(ends).astype(np.int64)
    if s.size == 0:
        z = np.zeros(0)
        return s, k, e, z
    cw = np.r_[0.0, np.cumsum(w)]
    cy = np.r_[0.0, np.cumsum(w * y)]
    wl, wr = cw[k] - cw[s], cw[e] - cw[k]
    ml, mr = (cy[k] - cy[s]) / wl, (cy[e] - cy[k]) / wr
    z = (mr - ml) / np.sqrt(1.0 / wl + 1.0 / wr)
    return s, k, e, z


def _scan_hits(
    y: np.ndarray, w: np.ndarray, *, min_size: int, max_side: int, df: float, alpha: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, float]:
    """The windows of :func:`scan_windows` whose scan-corrected p can reach ``alpha``.

    Same windows and statistics, computed family by family with slices (no gathers) and
    kept only when ``|z|`` reaches the critical value of the scan bound; returns
    ``(s, k, e, z, m)`` with ``m`` the scan multiplier of the whole scan.
    """
    from scipy.special import stdtrit

    n = int(y.size)
    inner = _side_sizes(max(min_size, MIN_SIZE_INNER), max_side)
    grid = np.array(inner)
    cw = np.r_[0.0, np.cumsum(w)]
    cy = np.r_[0.0, np.cumsum(w * y)]
    small: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []  # edge families (gathered)
    count = 0
    for a in inner:
        kk = np.arange(max(a, n - max_side), n - min_size + 1)
        kk = kk[~np.isin(n - kk, grid)]
        small.append((kk - a, kk, np.full(kk.size, n)))
    for b in inner:
        kk = np.arange(min_size, min(max_side, n - b) + 1)
        kk = kk[~np.isin(kk, grid)]
        small.append((np.zeros(kk.size, dtype=np.int64), kk, kk + b))
    kk = np.arange(max(min_size, n - max_side), min(max_side, n - min_size) + 1)
    kk = kk[~np.isin(kk, grid) & ~np.isin(n - kk, grid)]
    small.append((np.zeros(kk.size, dtype=np.int64), kk, np.full(kk.size, n)))
    count = sum(max(0, n - a - b + 1) for a in inner for b in inner) + sum(f[0].size for f in small)
    m = _scan_multiplier(n, count)
    crit = float(stdtrit(df, 1.0 - min(0.5, alpha / (2.0 * m)))) * (1 - 1e-9)
    out_s, out_k, out_e, out_z = [], [], [], []
    for a in inner:
        for b in inner:
            nk = n - a - b + 1
            if nk <= 0:
                continue
            # windows (k - a, k, k + b) for k = a .. n - b, as slices of the cumulative sums
            wl = cw[a:a + nk] - cw[0:nk]
            wr = cw[a + b:a + b + nk] - cw[a:a + nk]
            z = ((cy[a + b:a + b + nk] - cy[a:a + nk]) / wr - (cy[a:a + nk] - cy[0:nk]) / wl)
            z /= np.sqrt(1.0 / wl + 1.0 / wr)
            hit = np.flatnonzero(np.abs(z) >= crit)
            if hit.size:
                out_s.append(hit)
                out_k.append(hit + a)
                out_e.append(hit + a + b)
                out_z.append(z[hit])
    for fs, fk, fe in small:
        if fk.size == 0:
            continue
        wl, wr = cw[fk] - cw[fs], cw[fe] - cw[fk]
        z = ((cy[fe] - cy[fk]) / wr - (cy[fk] - cy[fs]) / wl) / np.sqrt(1.0 / wl + 1.0 / wr)
        hit = np.abs(z) >= crit
        if hit.any():
            out_s.append(fs[hit])
            out_k.append(fk[hit])
            out_e.append(fe[hit])
            out_z.append(z[hit])
    if not out_s:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, empty, np.zeros(0), m
    return (np.concatenate(out_s).astype(np.int64), np.concatenate(out_k).astype(np.int64),
            np.concatenate(out_e).astype(np.int64), np.concatenate(out_z), m)


def _t_sf2(t: float, df: float) -> float:
    from scipy.special import stdtr

    if not math.isfinite(t):
        return 0.0
    return float(2 * stdtr(max(df, 1), -abs(t)))


def _noise_df(n: int) -> float:
    """Degrees of freedom credited to the noise scale of an n-point series (3/4 of n - 1).

    The trimmed estimate of :func:`_noise_sd` is less efficient than a sample SD; with
    3/4 of the degrees of freedom the scan bound below holds at every level tried.
    """
    return max(2.0, 0.75 * (n - 1))


def _scan_multiplier(n: int, n_windows: int) -> float:
    """Effective number of independent windows: ``min(n_windows, 0.1 n^2)``.

    Windows that share a split and most of their points are strongly correlated, so
    Bonferroni over all of them is far too strict (a 10% step in 30 revisions of 3%
    noise would go unseen). The multiplier was calibrated by simulation: for Gaussian
    noise, ``P(max |z| >= z_a) = a`` holds with ``z_a`` solving ``m 2 t_sf(z_a) = a``
    for ``m`` between 0.4 n^2 / 10 and 0.9 n^2 / 10 at a = 0.2, 0.05 and 0.01, n = 6
    to 400 (``tests/test_history_changepoints.py::test_scan_bound_calibration``
    checks the false-alarm rate this gives).
    """
    return float(max(1.0, min(float(n_windows), 0.1 * n * n)))


def _scan_p(z: np.ndarray, m: float, df: float, alpha: float) -> np.ndarray:
    """Scan-corrected p-values ``min(1, m 2 t_sf(|z|, df))``; 1 wherever that exceeds ``alpha``.

    Only windows that can pass are evaluated (a long series has ~10^5 windows).
    """
    from scipy.special import stdtr, stdtrit

    p = np.ones(z.size)
    crit = float(stdtrit(df, 1.0 - min(0.5, alpha / (2.0 * m))))
    hit = np.flatnonzero(np.abs(z) >= crit * (1 - 1e-9))
    if hit.size:
        p[hit] = np.minimum(1.0, m * 2.0 * stdtr(df, -np.abs(z[hit])))
    p[p > alpha] = 1.0
    return p


def _greedy(
    s: np.ndarray, k: np.ndarray, e: np.ndarray, z: np.ndarray, p: np.ndarray,
    *, alpha: float, max_cps: int, y: np.ndarray | None = None, w: np.ndarray | None = None,
    min_size: int = MIN_SIZE_END, refine: bool = True,
) -> list[tuple[int, int, int, float, float]]:
    """Windows chosen best-first so that no chosen split lies inside another chosen window.

    Returns ``(s, k, e, z, p)`` per choice. With ``refine``, the split of a chosen window
    is moved (by at most 2) to where the two-sample z inside that same window ``[s, e)``
    is largest (same sign): the grid of side lengths is coarse, the best split of the
    window is not. ``p`` stays that of the scanned window.
    """
    idx = np.flatnonzero(p <= alpha)
    order = idx[np.lexsort((-np.abs(z[idx]), p[idx]))]
    alive = np.ones(s.size, dtype=bool)
    chosen: list[tuple[int, int, int, float, float]] = []
    cw = cy = None
    if refine and y is not None:
        w = np.ones(y.size) if w is None else w
        cw = np.r_[0.0, np.cumsum(w)]
        cy = np.r_[0.0, np.cumsum(w * y)]
    n = int(y.size) if y is not None else int(e.max(initial=0))
    for i in order:
        if not alive[i]:
            continue
        si, ki, ei, zi = int(s[i]), int(k[i]), int(e[i]), float(z[i])
        if cw is not None and cy is not None:
            lo = max(si + (min_size if si == 0 else MIN_SIZE_INNER), ki - 2)
            hi = min(ei - (min_size if ei == n else MIN_SIZE_INNER), ki + 2)
            if hi > lo:
                kk = np.arange(lo, hi + 1)
                wl, wr = cw[kk] - cw[si], cw[ei] - cw[kk]
                zz = ((cy[ei] - cy[kk]) / wr - (cy[kk] - cy[si]) / wl) / np.sqrt(1 / wl + 1 / wr)
                j = int(np.argmax(zz * np.sign(zi)))
                if zz[j] * np.sign(zi) > abs(zi):
                    ki, zi = int(kk[j]), float(zz[j])
        chosen.append((si, ki, ei, zi, float(p[i])))
        if len(chosen) >= max_cps:
            break
        alive &= ~((s < ki) & (e > ki))
    return chosen


def _scan_series(
    y: np.ndarray, v: np.ndarray, *, min_size: int, max_side: int, alpha: float, df: float,
) -> list[tuple[int, int, int, float, float]]:
    """Candidates of one series: ``(s, k, e, z, p)`` with p corrected for every window scanned."""
    s, k, e, z, m = _scan_hits(y, 1.0 / v, min_size=min_size, max_side=max_side, df=df,
                               alpha=alpha)
    if s.size == 0:
        return []
    p = _scan_p(z, m, df, alpha)
    return _greedy(s, k, e, z, p, alpha=alpha, max_cps=max(1, y.size // 2), y=y, w=1.0 / v,
                   min_size=min_size)


def _variances(
    y: np.ndarray, se: np.ndarray | None, sigma: float | None = None
) -> tuple[np.ndarray, float]:
    """Per-point variances: the run-to-run noise, raised where a revision's own uncertainty is larger.

    ``sigma`` (from neighbour differences) estimates the total per-revision noise. When a
    revision stored its own standard error ``se_i`` (asv's CI, quartiles or samples), its
    variance is ``max(sigma^2, tau^2 + se_i^2)`` with ``tau^2 = sigma^2 - median(se^2)``
    (the part of the noise between runs): a revision measured less precisely than usual
    counts less; none counts more than the history's noise allows.
    """
    if sigma is None:
        sigma = _noise_sd(y)
    floor = max(sigma * sigma, 1e-18)
    v = np.full(y.size, floor)
    if se is not None:
        ok = np.isfinite(se) & (se >= 0)
        if ok.any():
            s2 = np.where(ok, se * se, 0.0)
            tau2 = max(0.0, sigma * sigma - float(np.median(s2[ok])))
            v = np.maximum(v, np.where(ok, tau2 + s2, floor))
    return v, sigma


def segment_series(
    y: np.ndarray, *, min_size: int = MIN_SIZE_END, split_alpha: float = 0.05, max_depth: int = 32,
    max_side: int = 30,
) -> list[int]:
    """Change points of one series by the multiscale scan (see the module docstring).

    Parameters
    ----------
    y : ndarray
        The series (log values), outliers already guarded.
    min_size : int, default 2
        Minimum points on each side of a split.
    split_alpha : float, default 0.05
        A window is kept while its scan-corrected p-value is below this.
    max_depth : int, default 32
        At most this many change points.
    max_side : int, default 30
        Longest side of a scanned window.

    Returns
    -------
    list of int
        Sorted indices ``k`` (first point of the new level).

    """
    y = np.asarray(y, dtype=float)
    if y.size < 2 * min_size:
        return []
    v, _ = _variances(y, None)
    cands = _scan_series(y, v, min_size=min_size, max_side=max_side, alpha=split_alpha,
                         df=_noise_df(y.size))
    return sorted(c[1] for c in cands)[:max_depth]


def _estimate(
    y: np.ndarray, v: np.ndarray, k: int, a: int, b: int, *, cl: float, df: float,
) -> tuple[float, float, float, float]:
    """Weighted level difference at k on ``[a, b)``: (delta, se, ci_low, ci_high)."""
    from scipy.stats import t as tdist

    w = 1.0 / v
    wl, wr = float(w[a:k].sum()), float(w[k:b].sum())
    delta = float((w[k:b] @ y[k:b]) / wr - (w[a:k] @ y[a:k]) / wl)
    se = math.sqrt(1.0 / wl + 1.0 / wr)
    q = float(tdist.ppf(0.5 + cl / 2, df))
    return delta, se, delta - q * se, delta + q * se


def _trend_step(y: np.ndarray, k: int, a: int, b: int) -> tuple[float, float, float, float] | None:
    """OLS ``y = c + slope t + delta [t >= k]`` on ``[a, b)``: (delta, se, p_drift, dof) or None.

    ``p_drift`` is the slope's p-value, or 0 when a straight line without a step fits
    the window at least as well as a step without a slope (then the data cannot tell
    a drift from a step, and the step must prove itself with the slope fitted).
    """
    n = b - a
    if k - a < 3 or b - k < 3:
        return None
    seg = y[a:b]
    tt = np.arange(n, dtype=float)
    tt -= tt.mean()
    x = np.column_stack([np.ones(n), tt, (np.arange(a, b) >= k).astype(float)])
    beta, *_ = np.linalg.lstsq(x, seg, rcond=None)
    resid = seg - x @ beta
    dof = n - 3
    if dof <= 0:
        return None
    s2 = float(resid @ resid) / dof
    cov = s2 * np.linalg.pinv(x.T @ x)
    se = np.sqrt(np.maximum(np.diag(cov), 0.0))
    if se[1] <= 0 or se[2] <= 0:
        return None

    def sse(cols: list[int]) -> float:
        bb, *_ = np.linalg.lstsq(x[:, cols], seg, rcond=None)
        r = seg - x[:, cols] @ bb
        return float(r @ r)

    p_drift = 0.0 if sse([0, 1]) <= sse([0, 2]) else _t_sf2(beta[1] / se[1], dof)
    return float(beta[2]), float(se[2]), p_drift, float(dof)


# --------------------------------------------------------------------------- public API


def _check_fdr(fdr: Any) -> None:
    if isinstance(fdr, bool) or not (isinstance(fdr, (int, float)) and 0 < fdr < 1):
        raise InvalidParameterError(f"`fdr` must be in (0, 1); got {fdr!r}. Did you mean 0.05?")


def _validate(fdr: float, min_effect: float, min_size: int, confidence_level: float) -> None:
    from torchperf.stats import _check_confidence_level

    _check_fdr(fdr)
    if not (isinstance(min_effect, (int, float)) and 0 <= min_effect < 10):
        raise InvalidParameterError(
            f"`min_effect` is a relative change (0.05 = 5%) and must be in [0, 10); got {min_effect!r}."
        )
    if not (isinstance(min_size, int) and min_size >= 2):
        raise InvalidParameterError(f"`min_size` must be an int >= 2; got {min_size!r}.")
    _check_confidence_level(confidence_level)


def _check_frame(df: Any) -> None:
    need = {"machine", "env_name", "benchmark", "param_str", "params", "commit", "revision", "value"}
    cols = set(getattr(df, "columns", []))
    if not need <= cols:
        raise InvalidParameterError(
            "expected a frame from torchperf.history.load_results(); missing columns "
            f"{sorted(need - cols)}."
        )


def threshold_for(
    entry: str, thresholds: float | Mapping[str, float] | None, default: float = 0.05
) -> float:
    """Noise threshold of one benchmark entry, asv's way.

    Parameters
    ----------
    entry : str
        asv entry name, ``benchmark`` or ``benchmark(p1, p2)``.
    thresholds : float or mapping of regex -> float or None
        A single threshold for everything, or asv's ``regressions_thresholds``
        (regular expressions matched with :func:`re.match`; when several match,
        the largest threshold wins, as in asv).
    default : float, default 0.05
        Used when nothing matches (asv's default is 5%).

    Returns
    -------
    float

    """
    if thresholds is None:
        return float(default)
    if isinstance(thresholds, (int, float)):
        return float(thresholds)
    hits = [float(v) for rx, v in thresholds.items() if re.match(rx, entry)]
    return max(hits) if hits else float(default)


def _series_slices(df: pd.DataFrame) -> list[dict[str, Any]]:
    """Split the frame into per-series numpy arrays ordered by revision (one sort, no groupby-apply)."""
    import pandas as pd

    sub = df
    if "version_current" in sub.columns:
        sub = sub[sub["version_current"].astype(bool)]
    sub = sub[np.isfinite(sub["value"].to_numpy(dtype=float))]
    if sub.empty:
        return []
    keys = list(SERIES_KEYS)
    codes = sub.groupby(keys, sort=True, dropna=False).ngroup().to_numpy()
    rev = sub["revision"].to_numpy()
    order = np.lexsort((rev, codes))
    codes, rev = codes[order], rev[order]
    first = np.r_[True, (codes[1:] != codes[:-1]) | (rev[1:] != rev[:-1])]
    order, codes = order[first], codes[first]
    starts = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1]])
    ends = np.r_[starts[1:], codes.size]
    cols = ["value", "revision", "commit", "params", "lower_is_better", "unit"]
    cols += [c for c in (*ENV_FACTS, *_UNCERTAINTY) if c in sub.columns]
    arrays = {c: sub[c].to_numpy()[order] for c in cols}
    arrays["value"] = arrays["value"].astype(float)
    if "date" in sub.columns:
        dates = pd.to_datetime(sub["date"], utc=True).dt.tz_localize(None).to_numpy()
        arrays["date"] = dates[order]
    keyarr = [sub[k].to_numpy()[order] for k in keys]
    out = []
    for a, b in zip(starts, ends, strict=True):
        d = {c: arr[a:b] for c, arr in arrays.items()}
        d["key"] = tuple(k[a] for k in keyarr)
        out.append(d)
    return out


def _revision_se(sl: Mapping[str, Any], logged: bool) -> np.ndarray | None:
    """Each revision's own standard error of ``log(value)``, from what asv stored (NaN if nothing).

    Raw samples (robust SE of the median of the log samples) win; else asv's 99% CI of the
    median (``ci_99_a``/``ci_99_b``); else the interquartile range over ``sqrt(repeat)``.
    """
    if not logged:
        return None
    n = sl["value"].size
    se = np.full(n, np.nan)
    if "ci_low" in sl and "ci_high" in sl:
        lo = np.asarray(sl["ci_low"], dtype=float)
        hi = np.asarray(sl["ci_high"], dtype=float)
        ok = np.isfinite(lo) & np.isfinite(hi) & (lo > 0) & (hi >= lo)
        se[ok] = (np.log(hi[ok]) - np.log(lo[ok])) / (2 * _Z99)
    if "q25" in sl and "q75" in sl and "repeat" in sl:
        q1 = np.asarray(sl["q25"], dtype=float)
        q3 = np.asarray(sl["q75"], dtype=float)
        rep = np.asarray(sl["repeat"], dtype=float)
        ok = ~np.isfinite(se) & np.isfinite(q1) & np.isfinite(q3) & (q1 > 0) & (q3 >= q1) & (rep >= 2)
        se[ok] = 1.2533 * (np.log(q3[ok]) - np.log(q1[ok])) / 1.349 / np.sqrt(rep[ok])
    if "samples" in sl:
        for i, smp in enumerate(sl["samples"]):
            if isinstance(smp, (list, tuple, np.ndarray)) and len(smp) >= 3:
                x = np.asarray(smp, dtype=float)
                x = x[np.isfinite(x) & (x > 0)]
                if x.size >= 3:
                    lx = np.log(x)
                    sd = 1.4826 * float(np.median(np.abs(lx - np.median(lx))))
                    se[i] = 1.2533 * sd / math.sqrt(x.size)
    return se if np.isfinite(se).any() else None


@dataclass
class _Series:
    """One series prepared for the scan (outliers removed, variances known)."""

    sl: dict[str, Any]
    y: np.ndarray
    v: np.ndarray
    sigma: float
    logged: bool
    df: float
    m_windows: float
    cands: list[tuple[int, int, int, float, float]]


def _prepare(sl: dict[str, Any], *, outlier_k: float, min_size: int, max_side: int,
             split_alpha: float) -> _Series | None:

    vals = sl["value"]
    if vals.size < 2 * min_size:
        return None
    logged = bool(np.all(vals > 0))
    y = np.log(vals) if logged else vals.astype(float)
    # The noise scale is taken before outliers are set aside (they are part of the noise: a
    # bimodal runner pool makes many "outliers"), and the guard uses it too, so the second
    # mode of such noise stays in the data instead of leaving its clusters looking like levels.
    sigma = _noise_sd(y)
    keep = ~_outliers(y, outlier_k, sigma)
    if not keep.all():
        sl = {c: (v[keep] if isinstance(v, np.ndarray) else v) for c, v in sl.items()}
        y = y[keep]
    if y.size < 2 * min_size:
        return None
    v, sigma = _variances(y, _revision_se(sl, logged), sigma)
    df = _noise_df(y.size)
    s, k, e, z, m = _scan_hits(y, 1.0 / v, min_size=min_size, max_side=max_side, df=df,
                               alpha=split_alpha)
    cands: list[tuple[int, int, int, float, float]] = []
    if s.size:
        p = _scan_p(z, m, df, split_alpha)
        cands = _greedy(s, k, e, z, p, alpha=split_alpha, max_cps=max(1, y.size // 2), y=y,
                        w=1.0 / v, min_size=min_size)
        cands = _drop_drift(y, cands, m, window=max_side, alpha=split_alpha)
    return _Series(sl=sl, y=y, v=v, sigma=sigma, logged=logged, df=df, m_windows=m, cands=cands)


def _drop_drift(
    y: np.ndarray, cands: list[tuple[int, int, int, float, float]], m: float, *, window: int,
    alpha: float,
) -> list[tuple[int, int, int, float, float]]:
    """Remove candidates that a gradual drift explains, one at a time.

    Each candidate is re-tested between its neighbouring candidates: where a common
    slope is significant (p < 0.01), the jump fitted together with the slope must
    still be significant after the scan correction (``m``). The least significant
    failure is removed and the others are re-tested, so a drift that the scan chopped
    into several short "steps" goes as a whole (each removal widens its neighbours'
    windows).
    """
    cands = list(cands)
    while cands:
        ks = sorted(c[1] for c in cands)
        worst: tuple[float, tuple[int, int, int, float, float]] | None = None
        for c in cands:
            k = c[1]
            lo = max([0, *[b for b in ks if b < k]])
            hi = min([y.size, *[b for b in ks if b > k]])
            tr = _trend_step(y, k, max(lo, k - window), min(hi, k + window))
            if tr is None or tr[2] >= 0.01:
                continue
            p_tr = min(1.0, m * _t_sf2(tr[0] / tr[1], tr[3]))
            if p_tr > alpha and (worst is None or p_tr > worst[0]):
                worst = (p_tr, c)
        if worst is None:
            break
        cands.remove(worst[1])
    return cands


def _joint_scan(
    group: list[_Series], *, min_size: int, max_side: int, alpha: float,
) -> dict[int, float]:
    """Scan the members of a group together: ``{revision: p}`` of the joint candidates.

    On the revisions every member has, each window's member z statistics are summed
    (Stouffer, ``sum z / sqrt(m)``); p-values carry the same scan bound as one series.
    A modest step at one commit in several environments or machines is found here
    even when no single series shows it clearly.
    """
    common = group[0].sl["revision"]
    for g in group[1:]:
        common = np.intersect1d(common, g.sl["revision"])
    n = int(common.size)
    if n < 2 * min_size + 1:
        return {}
    zsum = None
    for g in group:
        idx = np.searchsorted(g.sl["revision"], common)
        s, k, e, z = scan_windows(g.y[idx], 1.0 / g.v[idx], min_size=min_size, max_side=max_side)
        zsum = z if zsum is None else zsum + z
    if zsum is None or zsum.size == 0:
        return {}
    z = zsum / math.sqrt(len(group))
    df = min(g.df for g in group)
    p = _scan_p(z, _scan_multiplier(n, s.size), df, alpha)
    chosen = _greedy(s, k, e, z, p, alpha=alpha, max_cps=max(1, n // 2), refine=False)
    return {int(common[c[1]]): c[4] for c in chosen}


def _sibling_tests(
    group: list[_Series], *, min_size: int, window: int, max_side: int = 30, alpha: float = 0.05,
) -> list[list[tuple[int, float, float, bool]]]:
    """Per member: ``(k, z, p, own)`` at every revision where any member of the group has a candidate.

    ``own`` candidates keep their scan p-value (corrected for the search). At a revision
    found only by siblings, the member's own local z-test there needs no correction for
    the search: the revision was chosen from other series' data. When several members
    have data around a revision, the members' evidence is combined (Stouffer, own scan
    p-values converted to z) and a member with its own candidate gets
    ``min(1, 2 min(p_own, p_combined))`` (Bonferroni over the two ways of looking).
    At a revision found only by the joint scan (:func:`_joint_scan`), whose location
    was chosen with the member's own data, a member's p-value is the larger of the
    joint scan's p and its own local p there (both must hold).
    """
    from scipy.special import ndtr, ndtri

    revs_of = [g.sl["revision"] for g in group]
    own_revs = {int(g.sl["revision"][c[1]]) for g in group for c in g.cands}
    joint = (_joint_scan(group, min_size=min_size, max_side=max_side, alpha=alpha)
             if len(group) >= 2 else {})
    cand_revs = sorted(own_revs | set(joint))
    per_member: list[dict[int, tuple[int, float, float, bool]]] = []
    for g, revs in zip(group, revs_of, strict=True):
        own = {int(revs[c[1]]): (c[1], c[3], c[4], True) for c in g.cands}
        bounds = sorted(c[1] for c in g.cands)
        out = dict(own)
        for r in cand_revs:
            if r in out:
                continue
            k = int(np.searchsorted(revs, r))
            if k < min_size or g.y.size - k < min_size:
                continue
            lo = max([0, *[b for b in bounds if b < k]])
            hi = min([g.y.size, *[b for b in bounds if b > k]])
            a, b = max(lo, k - window), min(hi, k + window)
            if k - a < min_size or b - k < min_size:
                continue
            w = 1.0 / g.v
            wl, wr = float(w[a:k].sum()), float(w[k:b].sum())
            z = float((w[k:b] @ g.y[k:b]) / wr - (w[a:k] @ g.y[a:k]) / wl) / math.sqrt(1 / wl + 1 / wr)
            p_loc = _t_sf2(z, g.df)
            out[r] = (k, z, p_loc if r in own_revs else max(p_loc, joint[r]), False)
        per_member.append(out)
    if len(group) < 2:
        return [list(d.values()) for d in per_member]
    result: list[list[tuple[int, float, float, bool]]] = []
    comb: dict[int, float] = {}
    for r in cand_revs:
        zs = []
        for d in per_member:
            if r in d:
                _, z, p, own = d[r]
                zz = abs(z) if not own else float(ndtri(1.0 - max(p, 1e-300) / 2.0))
                zs.append(math.copysign(min(zz, 37.0), z))
        if len(zs) >= 2:
            zc = sum(zs) / math.sqrt(len(zs))
            comb[r] = float(2.0 * ndtr(-abs(zc)))
    for d in per_member:
        rows = []
        for r, (k, z, p, own) in d.items():
            if own and r in comb:
                p = min(1.0, 2.0 * min(p, comb[r]))
            rows.append((k, z, p, own))
        result.append(rows)
    return result


def detect_change_points(
    df: pd.DataFrame,
    *,
    fdr: float = 0.05,
    min_effect: float = 0.05,
    thresholds: float | Mapping[str, float] | None = None,
    min_size: int = MIN_SIZE_END,
    window: int = 30,
    split_alpha: float = 0.05,
    outlier_k: float = 4.0,
    confidence_level: float = 0.95,
    include_insignificant: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> list[ChangePoint]:
    """Find level shifts in every series of an asv history (multiscale scan, FDR across series).

    Parameters
    ----------
    df : pandas.DataFrame
        From :func:`torchperf.history.load_results` (any subset of its rows).
    fdr : float, default 0.05
        False-discovery rate across all candidates of all series (Benjamini-Hochberg).
    min_effect : float, default 0.05
        Smallest relative change reported (0.05 = 5%), for benchmarks without an
        entry in ``thresholds``.
    thresholds : float or mapping, optional
        Per-benchmark thresholds as asv's ``regressions_thresholds`` (regex ->
        relative threshold). Defaults to ``df.attrs["regressions_thresholds"]``
        (filled from ``asv.conf.json`` by the loader).
    min_size : int, default 2
        Minimum revisions on each side of a change point. A single-commit
        spike is never a step (the outlier guard sets it aside first).
    window : int, default 30
        Longest side of a scanned window; at most this many revisions per side
        enter the magnitude.
    split_alpha : float, default 0.05
        Scan-corrected p-value up to which a window becomes a candidate
        (candidates only; the reported significance is the BH q-value).
    outlier_k : float, default 4.0
        Robust standard deviations from the running median beyond which a
        point is treated as an outlier.
    confidence_level : float, default 0.95
        Level of the ratio's confidence interval.
    include_insignificant : bool, default False
        Also return candidates that failed the q-value or threshold test
        (``significant=False``), e.g. to show near misses.
    progress : callable, optional
        ``progress(series_done, series_total)``: called as the series are scanned (at most
        about 100 times, and once at the end); the library never prints, a caller shows it.

    Returns
    -------
    list of ChangePoint
        Sorted by series, then revision.

    """
    from torchperf.stats import benjamini_hochberg

    _validate(fdr, min_effect, min_size, confidence_level)
    if not (isinstance(window, int) and window >= min_size):
        raise InvalidParameterError(f"`window` must be an int >= min_size; got {window!r}.")
    _check_frame(df)
    if thresholds is None:
        thresholds = df.attrs.get("regressions_thresholds") or None
    for col, default in (("lower_is_better", True), ("unit", None)):
        if col not in df.columns:
            df = df.assign(**{col: default})
    slices = _series_slices(df)
    n_series = len(slices)
    prepared = [
        _prepare(sl, outlier_k=outlier_k, min_size=min_size, max_side=window, split_alpha=split_alpha)
        for sl in slices
    ]
    groups: dict[tuple[Any, ...], list[_Series]] = {}
    for ser in prepared:
        if ser is not None:
            groups.setdefault((ser.sl["key"][2], ser.sl["key"][3]), []).append(ser)
    raw: list[dict[str, Any]] = []
    n_scanned, next_report, every = 0, 0, max(1, n_series // 100)
    for group in groups.values():
        if progress is not None and n_scanned >= next_report:
            progress(n_scanned, n_series)
            next_report = n_scanned + every
        n_scanned += len(group)
        tests = _sibling_tests(group, min_size=min_size, window=window, max_side=window,
                               alpha=split_alpha)
        for ser, rows in zip(group, tests, strict=True):
            if not rows:
                continue
            own_bounds = sorted(c[1] for c in ser.cands)
            for k, _z, p, _own in sorted(rows):
                raw.append(_finding(ser, k, p, own_bounds, window=window, min_size=min_size,
                                    cl=confidence_level, thresholds=thresholds,
                                    min_effect=min_effect))
    if progress is not None:
        progress(n_series, n_series)
    # The family is every series analysed: a series without a candidate contributes p = 1,
    # so BH's m counts it (otherwise testing many quiet series would look like testing few).
    n_quiet = max(0, n_series - len({(r["machine"], r["env"], r["benchmark"], r["params"]) for r in raw}))
    q = benjamini_hochberg(np.r_[np.array([r["p_value"] for r in raw], dtype=float), np.ones(n_quiet)])[: len(raw)]
    out = []
    for r, qv in zip(raw, q, strict=True):
        eff = abs(r["ratio"] - 1) if math.isfinite(r["ratio"]) else 0.0
        sig = bool(qv <= fdr and eff >= r["threshold"])
        if sig or include_insignificant:
            out.append(ChangePoint(q_value=float(qv), significant=sig, **r))
    out.sort(key=lambda c: (c.machine, c.env, c.benchmark, c.params, c.revision_after))
    return out


def _ambiguous_edges(y: np.ndarray, k: int, a: int, b: int, sigma: float) -> tuple[int, int]:
    """Last good and first bad index of a step at k, widened over points that fit the other side.

    A point within two revisions of the split that lies on one side but is closer to the
    other side's level (and more than 2 noise SDs from its own) makes the location
    ambiguous: the step is then reported between the last point before and the first
    point after such points, as a range of commits rather than a guess.
    """
    if sigma <= 0 or k - a < 3 or b - k < 3:
        return k - 1, k
    left, right = float(np.median(y[a:k])), float(np.median(y[k:b]))

    def misfit(j: int, own: float, other: float) -> bool:
        return abs(y[j] - other) < abs(y[j] - own) and abs(y[j] - own) > 2 * sigma

    right_mis = [j for j in (k, k + 1) if j < b - 2 and misfit(j, right, left)]
    left_mis = [j for j in (k - 1, k - 2) if j >= a + 2 and misfit(j, left, right)]
    ka = max(right_mis) + 1 if right_mis else k
    kb = min(left_mis) - 1 if left_mis else k - 1
    return kb, ka


def _finding(
    ser: _Series, k: int, p: float, bounds: list[int], *, window: int, min_size: int, cl: float,
    thresholds: float | Mapping[str, float] | None, min_effect: float,
) -> dict[str, Any]:
    """The fields of one ChangePoint (all but q_value/significant) for a step at index k."""
    sl, y = ser.sl, ser.y
    lo = max([0, *[b for b in bounds if b < k]])
    hi = min([y.size, *[b for b in bounds if b > k]])
    a, b = max(lo, k - window), min(hi, k + window)
    delta, _se, dlo, dhi = _estimate(y, ser.v, k, a, b, cl=cl, df=ser.df)
    method = "level"
    tr = _trend_step(y, k, a, b)
    if tr is not None and tr[2] < 0.01:
        from scipy.stats import t as tdist

        d2, se2, _ps, dof = tr
        method = "trend-adjusted"
        q = float(tdist.ppf(0.5 + cl / 2, dof))
        delta, dlo, dhi = d2, d2 - q * se2, d2 + q * se2
        p = max(p, min(1.0, ser.m_windows * _t_sf2(d2 / se2, dof)))
    vals = np.exp(y) if ser.logged else y
    before, after = float(np.median(vals[a:k])), float(np.median(vals[k:b]))
    if ser.logged:
        ratio, rlo, rhi = math.exp(delta), math.exp(dlo), math.exp(dhi)
    else:
        base = float(np.mean(y[a:k]))
        ratio = (base + delta) / base if base else math.nan
        rlo = (base + dlo) / base if base else math.nan
        rhi = (base + dhi) / base if base else math.nan
        if base < 0:
            rlo, rhi = rhi, rlo
    kb, ka = _ambiguous_edges(y, k, a, b, ser.sigma)
    machine, env_name, bench, pstr = sl["key"]
    lib = bool(sl["lower_is_better"][0])
    unit = sl["unit"][0]
    env_change = {}
    for f in ENV_FACTS:
        if f in sl:
            fb, fa = sl[f][kb], sl[f][ka]
            if _known(fb) and _known(fa) and fb != fa:
                env_change[f] = [fb, fa]
    worse = (ratio > 1) if lib else (ratio < 1)
    return dict(
        benchmark=bench,
        params=tuple(sl["params"][0]),
        machine=machine,
        env=env_name,
        commit_before=str(sl["commit"][kb]),
        commit_after=str(sl["commit"][ka]),
        revision_before=int(sl["revision"][kb]),
        revision_after=int(sl["revision"][ka]),
        ratio=ratio,
        ci_low=min(rlo, rhi),
        ci_high=max(rlo, rhi),
        p_value=float(p),
        direction="regression" if worse else "improvement",
        metric_direction=Direction.from_flag(lib).value,
        value_before=before,
        value_after=after,
        n_before=k - a,
        n_after=b - k,
        threshold=threshold_for(f"{bench}{pstr}", thresholds, min_effect),
        method=method,
        cause="environment" if env_change else "code",
        env_change=env_change,
        unit=unit if isinstance(unit, str) else None,
        date_after=_iso(sl["date"][ka]) if "date" in sl else None,
        confidence_level=float(cl),
    )


def _iso(d: Any) -> str | None:
    if isinstance(d, np.datetime64):
        return None if np.isnat(d) else np.datetime_as_string(d, unit="s") + "Z"
    return None if d is None else str(d)


def _known(v: Any) -> bool:
    if v is None:
        return False
    try:
        return not (isinstance(v, float) and math.isnan(v))
    except TypeError:  # pragma: no cover
        return True


def find_regressions(
    df: pd.DataFrame,
    since: str | None = None,
    *,
    include_environment: bool = False,
    **detect_kw: Any,
) -> list[ChangePoint]:
    """Significant code regressions across the history (what ``torchperf regressions`` gates on).

    Parameters
    ----------
    df : pandas.DataFrame
        From :func:`torchperf.history.load_results`.
    since : str, optional
        Commit (hash prefix): only change points whose first bad commit comes
        after it are returned. The whole history is still analysed so that the
        levels before ``since`` are known.
    include_environment : bool, default False
        Also return regressions that coincide with an environment change
        (``cause="environment"``); by default these are not code regressions.
    **detect_kw
        Passed to :func:`detect_change_points` (``fdr``, ``min_effect``, ...).

    Returns
    -------
    list of ChangePoint
        Significant changes in the bad direction, newest first.

    """
    from torchperf.history.loader import resolve_commit

    start = -1
    if since is not None:
        commit = resolve_commit(df, since)
        start = int(df.loc[df["commit"] == commit, "revision"].iloc[0])
    detect_kw["include_insignificant"] = False
    cps = detect_change_points(df, **detect_kw)
    return select_regressions(cps, start, include_environment=include_environment)


def select_regressions(
    change_points: Sequence[ChangePoint], start: int, *, include_environment: bool = False
) -> list[ChangePoint]:
    """The regressions after revision ``start``, newest first (what :func:`regression_report` lists).

    Parameters
    ----------
    change_points : sequence of ChangePoint
        Significant change points (any direction).
    start : int
        Only changes whose first bad revision is after this index are kept (-1 keeps all).
    include_environment : bool, default False
        Keep changes attributed to the environment as well as those caused by the code.

    Returns
    -------
    list of ChangePoint
        Sorted newest first, then by benchmark, params and environment.

    """
    out = [
        c
        for c in change_points
        if c.direction == "regression"
        and c.revision_after > start
        and (include_environment or c.cause == "code")
    ]
    return sorted(out, key=lambda c: (-c.revision_after, c.benchmark, c.params, c.env))


# --------------------------------------------------------------------------- per-group entry points
# The history store (torchperf.history.pipeline) and Dask run detection one group of series at
# a time: ``group_candidates`` on each group (any process), then one global ``finish_candidates``
# (Benjamini-Hochberg over every candidate of every group, the threshold, the order). Together
# they return exactly what ``detect_change_points`` returns on the whole frame, provided no
# series is split across groups (the store keeps every series of a benchmark, on every machine
# and environment, in one group).


@dataclass(frozen=True)
class GroupCandidates:
    """Change-point candidates of one group of series, before the global FDR step.

    Attributes
    ----------
    change_points : list of ChangePoint
        Every candidate (``q_value``/``significant`` are the group's own; replaced by
        :func:`finish_candidates`).
    n_series : int
        Series analysed in the group (the BH family counts quiet series too).

    """

    change_points: list[ChangePoint]
    n_series: int


def group_candidates(df: pd.DataFrame, **detect_kw: Any) -> GroupCandidates:
    """Candidates of the series in ``df`` (one group), for :func:`finish_candidates`.

    Parameters
    ----------
    df : pandas.DataFrame
        The rows of whole series (every machine and environment of a benchmark).
    **detect_kw
        As for :func:`detect_change_points` (``fdr`` and ``include_insignificant``
        are ignored here: they belong to the global step).

    Returns
    -------
    GroupCandidates

    """
    kw = {k: v for k, v in detect_kw.items() if k not in ("fdr", "include_insignificant")}
    cps = detect_change_points(df, include_insignificant=True, **kw)
    for col, default in (("lower_is_better", True), ("unit", None)):
        if col not in df.columns:
            df = df.assign(**{col: default})
    return GroupCandidates(change_points=cps, n_series=len(_series_slices(df)))


def finish_candidates(
    groups: list[GroupCandidates], *, fdr: float = 0.05, include_insignificant: bool = False
) -> list[ChangePoint]:
    """The global step: BH q-values across all groups, the effect threshold, series order.

    Parameters
    ----------
    groups : list of GroupCandidates
        From :func:`group_candidates`, one per group of series.
    fdr : float, default 0.05
        False-discovery rate across all candidates of all series.
    include_insignificant : bool, default False
        Also return candidates that failed the q-value or threshold test.

    Returns
    -------
    list of ChangePoint
        As :func:`detect_change_points` on the union of the groups.

    """
    from dataclasses import replace

    from torchperf.stats import benjamini_hochberg

    _check_fdr(fdr)
    raw = [c for g in groups for c in g.change_points]
    n_series = sum(int(g.n_series) for g in groups)
    n_quiet = max(0, n_series - len({(c.machine, c.env, c.benchmark, c.params) for c in raw}))
    q = benjamini_hochberg(np.r_[np.array([c.p_value for c in raw], dtype=float), np.ones(n_quiet)])[: len(raw)]
    out = []
    for c, qv in zip(raw, q, strict=True):
        eff = abs(c.ratio - 1) if math.isfinite(c.ratio) else 0.0
        sig = bool(qv <= fdr and eff >= c.threshold)
        if sig or include_insignificant:
            out.append(replace(c, q_value=float(qv), significant=sig))
    out.sort(key=lambda c: (c.machine, c.env, c.benchmark, c.params, c.revision_after))
    return out
