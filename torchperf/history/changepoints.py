"""Change points (level shifts) across an asv history, with significance across many series.

One *series* is one benchmark x parameter combination x machine x environment,
ordered by revision. Environments are never mixed in one series, so a NumPy or
BLAS switch between environments cannot look like a code regression.

Method (per series, on ``log(value)``; values <= 0 are analysed unlogged)
--------------------------------------------------------------------------
1. **Outlier guard.** Points further than ``outlier_k`` robust standard
   deviations from a running median of 5 are replaced by that running median.
   The noise scale is ``1.4826 * MAD(diff(y)) / sqrt(2)``: differences of
   neighbours are insensitive to steps and slow drift. A single-commit spike
   therefore cannot create or hide a step.
2. **Binary segmentation.** For a segment, the two-sample t statistic of every
   admissible split (at least ``min_size`` points each side) is computed with
   cumulative sums (O(n)); the best split's p-value is Bonferroni-corrected for
   the number of splits looked at, which makes the location search honest.
   Segments split while that corrected p is below ``split_alpha``.
3. **Local confirmation, drift-aware.** Each candidate is re-tested on the
   data between its neighbouring change points (at most ``window`` points per
   side): a level model ``y = a + delta [t >= k]`` and, when the data show a
   significant common slope, a trend model ``y = a + b t + delta [t >= k]``.
   Gradual drift is absorbed by ``b``; only the jump ``delta`` counts. The
   candidate's p-value is again Bonferroni-corrected for the positions it
   could have taken in that window.
4. **Many series.** The p-values of all candidates of all series are adjusted
   with Benjamini-Hochberg; a change point is reported when its q-value is at
   most ``fdr`` **and** ``|ratio - 1|`` reaches the benchmark's threshold
   (``min_effect``, or asv's ``regressions_thresholds`` entry for it).

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
from collections.abc import Mapping
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
]

SERIES_KEYS = ("machine", "env_name", "benchmark", "param_str")
ENV_FACTS = ("python", "numpy_version", "blas_library", "blas_version", "blas_threads")


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
        """JSON-ready dict with the CLI contract fields (DESIGN.md) and the rest."""
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


def _outliers(y: np.ndarray, k: float) -> np.ndarray:
    """Boolean mask of single-commit outliers: far from the running median of 5.

    The noise scale comes from neighbour differences (robust to steps). In a
    deterministic series (zero noise) only isolated points that differ from
    both neighbours' level count. A level that lasts 3 or more revisions is
    never an outlier, because the running median of 5 follows it.
    """
    if y.size < 5:
        return np.zeros(y.size, dtype=bool)
    sigma = _noise_scale(y)
    rm = _running_median(y, 5)
    if sigma == 0:
        bad = y != rm
        iso = np.zeros_like(bad)
        iso[1:-1] = bad[1:-1] & ~bad[:-2] & ~bad[2:]
        return iso
    return np.abs(y - rm) > k * sigma


def _clean(y: np.ndarray, k: float) -> tuple[np.ndarray, float]:
    """``y`` without its single-commit outliers, and the robust noise scale."""
    keep = ~_outliers(y, k)
    yc = y[keep]
    return yc, _noise_scale(yc)


def _best_split(y: np.ndarray, min_size: int) -> tuple[int, float, int]:
    """Best two-sample split of ``y``: (index k of first point after the split, |t|, #splits)."""
    n = y.size
    ks = np.arange(min_size, n - min_size + 1)
    if ks.size == 0:
        return -1, 0.0, 0
    c1 = np.concatenate([[0.0], np.cumsum(y)])
    c2 = np.concatenate([[0.0], np.cumsum(y * y)])
    nl = ks.astype(float)
    nr = n - nl
    sl, sr = c1[ks], c1[n] - c1[ks]
    ml, mr = sl / nl, sr / nr
    sse = (c2[ks] - sl * ml) + (c2[n] - c2[ks] - sr * mr)
    s2 = np.maximum(sse, 0.0) / max(n - 2, 1)
    se = np.sqrt(s2 * (1 / nl + 1 / nr))
    diff = np.abs(mr - ml)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.where(se > 0, diff / se, np.where(diff > 1e-12 * (np.abs(ml) + 1e-300), np.inf, 0.0))
    i = int(np.argmax(t))
    return int(ks[i]), float(t[i]), int(ks.size)


def _t_sf2(t: float, df: float) -> float:
    from scipy.special import stdtr

    if not math.isfinite(t):
        return 0.0
    return float(2 * stdtr(max(df, 1), -abs(t)))


def segment_series(
    y: np.ndarray, *, min_size: int = 3, split_alpha: float = 0.05, max_depth: int = 32
) -> list[int]:
    """Binary segmentation of a (cleaned) series into candidate change points.

    Parameters
    ----------
    y : ndarray
        The series (log values), outliers already guarded.
    min_size : int, default 3
        Minimum points on each side of a split.
    split_alpha : float, default 0.05
        A segment is split while its Bonferroni-corrected best-split p-value is below this.
    max_depth : int, default 32
        Recursion limit.

    Returns
    -------
    list of int
        Sorted indices ``k`` (first point of the new level).

    """
    out: list[int] = []
    stack = [(0, y.size, 0)]
    while stack:
        lo, hi, depth = stack.pop()
        if hi - lo < 2 * min_size or depth > max_depth:
            continue
        k, t, m = _best_split(y[lo:hi], min_size)
        if k < 0:
            continue
        p = min(1.0, m * _t_sf2(t, hi - lo - 2))
        if p > split_alpha:
            continue
        out.append(lo + k)
        stack.append((lo, lo + k, depth + 1))
        stack.append((lo + k, hi, depth + 1))
    return sorted(out)


def _rank_p(before: np.ndarray, after: np.ndarray) -> float:
    """Two-sided Mann-Whitney p-value (exact for small samples without ties)."""
    from scipy.stats import mannwhitneyu

    if before.size == 0 or after.size == 0:
        return 1.0
    if np.ptp(np.r_[before, after]) == 0:
        return 1.0
    return float(mannwhitneyu(after, before, alternative="two-sided", method="auto").pvalue)


def _rank_scan_p(
    before: np.ndarray, after: np.ndarray, min_size: int, *, m_windows: float = 1.0,
    n_resamples: int = 2000,
) -> float:
    """Permutation p-value of a step at the boundary, honest about the location search.

    Statistic: the standardised rank sum ``|Z_k|`` at the observed boundary, referred
    to the permutation distribution of ``max_k |Z_k|`` over every admissible split
    of the window (exact under exchangeability, any noise distribution). Multiplied
    by ``m_windows`` when the location was searched in a segment longer than the window.
    Deterministic: the permutations are seeded from the window size.
    """
    from scipy.stats import rankdata

    x = np.r_[before, after]
    n, k0 = x.size, before.size
    ks = np.arange(min_size, n - min_size + 1)
    if ks.size == 0 or np.ptp(x) == 0:
        return 1.0
    r = rankdata(x)
    var = ks * (n - ks) * (n + 1) / 12.0
    mean = ks * (n + 1) / 2.0
    z_obs = abs((r[:k0].sum() - k0 * (n + 1) / 2.0) / math.sqrt(k0 * (n - k0) * (n + 1) / 12.0))
    rng = np.random.default_rng(n)
    perm = rng.permuted(np.broadcast_to(r, (n_resamples, n)), axis=1)
    cs = np.cumsum(perm, axis=1)[:, ks - 1]
    zmax = np.max(np.abs((cs - mean) / np.sqrt(var)), axis=1)
    p = (1 + np.count_nonzero(zmax >= z_obs - 1e-12)) / (n_resamples + 1)
    return min(1.0, float(p) * m_windows)


def _confirm(
    y: np.ndarray,
    k: int,
    lo: int,
    hi: int,
    *,
    window: int,
    min_size: int,
    cl: float,
    raw: np.ndarray | None = None,
    raw_index: np.ndarray | None = None,
) -> tuple[float, float, float, float, str, int, int]:
    """Local test of a step at k using data in [lo, hi): (delta, ci_lo, ci_hi, p, method, nb, na).

    ``y`` is the series without outliers; ``raw`` the series with them and
    ``raw_index[i]`` the position in ``raw`` of ``y[i]``. The rank test runs on
    the raw values of the same revision window: removing outliers is a
    data-dependent step that could cluster the remaining points, ranks do not
    need it.
    """
    from scipy.stats import t as tdist

    a = max(lo, k - window)
    b = min(hi, k + window)
    seg = y[a:b]
    if raw is not None and raw_index is not None:
        ra, rk, rb = raw_index[a], raw_index[k], raw_index[b - 1] + 1
        rank_before, rank_after = raw[ra:rk], raw[rk:rb]
    else:
        rank_before, rank_after = y[a:k], y[k:b]
    n = seg.size
    nb, na = k - a, b - k
    step = (np.arange(a, b) >= k).astype(float)
    tt = np.arange(a, b, dtype=float)
    tt -= tt.mean()
    # positions the segmentation could have chosen in [lo, hi) (Bonferroni for the location search)
    m = max(1, hi - lo - 2 * min_size + 1)

    def ols(cols: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray, float, float]:
        x = np.column_stack([np.ones(n), *cols])
        beta, *_ = np.linalg.lstsq(x, seg, rcond=None)
        resid = seg - x @ beta
        dof = n - x.shape[1]
        s2 = float(resid @ resid) / dof if dof > 0 else math.nan
        cov = s2 * np.linalg.pinv(x.T @ x)
        return beta, np.sqrt(np.maximum(np.diag(cov), 0.0)), s2, float(dof)

    method = "level"
    beta, se, _s2, dof = ols([step])
    delta, se_d = float(beta[1]), float(se[1])
    if n >= 2 * min_size + 2 and nb >= 3 and na >= 3:
        beta2, se2, _, dof2 = ols([tt, step])
        if se2[1] > 0 and dof2 > 0 and _t_sf2(beta2[1] / se2[1], dof2) < 0.01:
            method = "trend-adjusted"
            delta, se_d, dof = float(beta2[2]), float(se2[2]), dof2
    if not math.isfinite(se_d) or dof <= 0:
        return delta, math.nan, math.nan, 1.0, method, nb, na
    if se_d == 0:  # deterministic series: only the rank evidence counts
        p = min(1.0, m * _rank_p(rank_before, rank_after)) if delta != 0 else 1.0
        return delta, delta, delta, p, method, nb, na
    # Both a parametric test of the (drift-adjusted) jump and a rank test must agree
    # (intersection-union: p = max). The rank test is exact under exchangeability,
    # whatever the noise distribution (heavy tails, bimodal runner pools).
    p_rank = min(
        1.0,
        2 * min(m * _rank_p(rank_before, rank_after),
                _rank_scan_p(rank_before, rank_after, min_size, m_windows=max(1.0, (hi - lo) / n))),
    )
    p = max(min(1.0, m * _t_sf2(delta / se_d, dof)), p_rank)
    q = float(tdist.ppf(0.5 + cl / 2, dof))
    return delta, delta - q * se_d, delta + q * se_d, p, method, nb, na


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
    cols += [c for c in ENV_FACTS if c in sub.columns]
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


def detect_change_points(
    df: pd.DataFrame,
    *,
    fdr: float = 0.05,
    min_effect: float = 0.05,
    thresholds: float | Mapping[str, float] | None = None,
    min_size: int = 3,
    window: int = 20,
    split_alpha: float = 0.05,
    outlier_k: float = 4.0,
    confidence_level: float = 0.95,
    include_insignificant: bool = False,
) -> list[ChangePoint]:
    """Find level shifts in every series of an asv history.

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
    min_size : int, default 3
        Minimum revisions on each side of a change point (a single-commit
        spike is never a step).
    window : int, default 20
        At most this many revisions per side enter the local test and the magnitude.
    split_alpha : float, default 0.05
        Level at which binary segmentation keeps splitting (candidates only;
        the reported significance is the BH q-value).
    outlier_k : float, default 4.0
        Robust standard deviations from the running median beyond which a
        point is treated as an outlier.
    confidence_level : float, default 0.95
        Level of the ratio's confidence interval.
    include_insignificant : bool, default False
        Also return candidates that failed the q-value or threshold test
        (``significant=False``), e.g. to show near misses.

    Returns
    -------
    list of ChangePoint
        Sorted by series, then revision.

    """
    from torchperf.stats import benjamini_hochberg

    _validate(fdr, min_effect, min_size, confidence_level)
    _check_frame(df)
    if thresholds is None:
        thresholds = df.attrs.get("regressions_thresholds") or None
    for col, default in (("lower_is_better", True), ("unit", None)):
        if col not in df.columns:
            df = df.assign(**{col: default})
    raw: list[dict[str, Any]] = []
    slices = _series_slices(df)
    n_series = len(slices)
    for sl in slices:
        vals = sl["value"]
        if vals.size < 2 * min_size:
            continue
        logged = bool(np.all(vals > 0))
        y = np.log(vals) if logged else vals
        keep = ~_outliers(y, outlier_k)
        y_raw, raw_index = y, np.flatnonzero(keep)
        if not keep.all():
            sl = {c: (v[keep] if isinstance(v, np.ndarray) else v) for c, v in sl.items()}
            vals, y = vals[keep], y[keep]
        yc = y
        cps = segment_series(yc, min_size=min_size, split_alpha=split_alpha)
        if not cps:
            continue
        machine, env_name, bench, pstr = sl["key"]
        bounds = [0, *cps, yc.size]
        lib = bool(sl["lower_is_better"][0])
        unit = sl["unit"][0]
        for i, k in enumerate(cps):
            lo, hi = bounds[i], bounds[i + 2]
            delta, dlo, dhi, p, method, nb, na = _confirm(
                yc, k, lo, hi, window=window, min_size=min_size, cl=confidence_level,
                raw=y_raw, raw_index=raw_index,
            )
            a, b = max(lo, k - window), min(hi, k + window)
            before, after = float(np.median(vals[a:k])), float(np.median(vals[k:b]))
            if logged:
                ratio, rlo, rhi = math.exp(delta), math.exp(dlo), math.exp(dhi)
            else:
                base = float(np.median(yc[a:k]))
                ratio = (base + delta) / base if base else math.nan
                rlo = (base + dlo) / base if base else math.nan
                rhi = (base + dhi) / base if base else math.nan
            env_change = {}
            for f in ENV_FACTS:
                if f in sl:
                    fb, fa = sl[f][k - 1], sl[f][k]
                    if _known(fb) and _known(fa) and fb != fa:
                        env_change[f] = [fb, fa]
            worse = (ratio > 1) if lib else (ratio < 1)
            entry = f"{bench}{pstr}"
            raw.append(
                dict(
                    benchmark=bench,
                    params=tuple(sl["params"][0]),
                    machine=machine,
                    env=env_name,
                    commit_before=str(sl["commit"][k - 1]),
                    commit_after=str(sl["commit"][k]),
                    revision_before=int(sl["revision"][k - 1]),
                    revision_after=int(sl["revision"][k]),
                    ratio=ratio,
                    ci_low=rlo,
                    ci_high=rhi,
                    p_value=p,
                    direction="regression" if worse else "improvement",
                    metric_direction=Direction.from_flag(lib).value,
                    value_before=before,
                    value_after=after,
                    n_before=nb,
                    n_after=na,
                    threshold=threshold_for(entry, thresholds, min_effect),
                    method=method,
                    cause="environment" if env_change else "code",
                    env_change=env_change,
                    unit=unit if isinstance(unit, str) else None,
                    date_after=_iso(sl["date"][k]) if "date" in sl else None,
                    confidence_level=float(confidence_level),
                )
            )
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
    return out


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
    out = [
        c
        for c in cps
        if c.direction == "regression"
        and c.revision_after > start
        and (include_environment or c.cause == "code")
    ]
    return sorted(out, key=lambda c: (-c.revision_after, c.benchmark, c.params, c.env))
