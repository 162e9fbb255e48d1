"""Compare two revisions of an asv history, benchmark by benchmark.

For every series (benchmark x parameters x machine x environment) present at
both commits, the ratio ``after / before`` of asv's values (medians) is
tested on the log scale:

* **Within-run uncertainty** of each side comes from its raw samples when asv
  recorded them (``evidence="samples"``: robust standard error of the median
  of log samples), else from asv's stored 99% CI of the median
  (``evidence="stored-ci"``: ``(log hi - log lo) / (2 z_0.995)``), and the
  finding says which.
* **Between-run noise** dominates real benchmark histories: samples of one
  run share a process, a CPU frequency, a runner VM (DESIGN rule 1), so a test
  on within-run samples calls identical code "different". When the series
  has history (at least ``min_history`` revisions) the run-to-run standard
  deviation is estimated robustly from differences of neighbouring
  revisions (``1.4826 MAD(diff log y) / sqrt 2``, insensitive to steps) and
  the variance of the log ratio is ``max(within_a + within_b, 2 sigma_run^2)``
  with a t reference on ``n_history - 1`` degrees of freedom
  (``noise_model="history"``). Without history but with samples from
  ``rounds >= 2`` processes, per-process medians are compared
  (``noise_model="rounds"``, :func:`torchperf.stats.compare_replicates`
  style); otherwise only within-run noise is known (``noise_model="within-run"``,
  flagged in ``notes`` as optimistic).

p-values of all series are adjusted together with Benjamini-Hochberg. A
finding is a **regression** (or improvement) when its q-value is at most
``fdr`` and ``|ratio - 1|`` exceeds the benchmark's noise threshold in the
bad (good) direction; **equivalent** when its CI lies within
``[1/(1+m), 1+m]`` (``m = max(threshold, 0.02)``); else **inconclusive**.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from torchperf.errors import InvalidParameterError
from torchperf.history.changepoints import (
    SERIES_KEYS,
    _check_fdr,
    _check_frame,
    _clean,
    _json_ready,
    _noise_scale,
    threshold_for,
)
from torchperf.history.loader import resolve_commit
from torchperf.metrics import Direction

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = ["Finding", "compare_revisions", "threshold_for"]

_Z99 = 2.5758293035489004  # asv stores 99% intervals
_TIME_UNITS = {"seconds", "s", "second", "sec"}


@dataclass(frozen=True)
class Finding:
    """One benchmark compared between two revisions (or two environments).

    The first twelve fields are DESIGN.md's CLI JSON contract.

    Attributes
    ----------
    benchmark, params, machine, env : identify the series.
    commit_before, commit_after : the two commits (full hashes).
    ratio, ci_low, ci_high : value after / value before with its CI.
    p_value : unadjusted p-value; ``q_value`` is its BH-adjusted value across the suite.
    direction : ``"regression"``, ``"improvement"`` or ``None`` (not significant / within threshold).
    metric_direction : ``"lower_is_better"`` or ``"higher_is_better"``.
    verdict : ``"regression"``, ``"improvement"``, ``"equivalent"`` or ``"inconclusive"``.
    change : for people: ``"slower"``/``"faster"`` (time units) or ``"higher"``/``"lower"``;
        ``"same"`` when equivalent, ``"unclear"`` when inconclusive.
    evidence : ``"samples"`` (raw samples) or ``"stored-ci"`` (asv's 99% CI; no samples recorded).
    noise_model : ``"history"``, ``"rounds"`` or ``"within-run"``.
    notes : caveats in words.

    """

    benchmark: str
    params: tuple[str, ...]
    machine: str
    env: str
    commit_before: str
    commit_after: str
    ratio: float
    ci_low: float
    ci_high: float
    p_value: float
    direction: str | None
    metric_direction: str
    q_value: float = math.nan
    verdict: str = "inconclusive"
    change: str = "unclear"
    value_before: float = math.nan
    value_after: float = math.nan
    unit: str | None = None
    threshold: float = 0.05
    evidence: str = "samples"
    noise_model: str = "within-run"
    n_before: int = 0
    n_after: int = 0
    confidence_level: float = 0.95
    notes: tuple[str, ...] = ()
    env_after: str | None = None
    kind: str = "comparison"
    facts_before: dict[str, Any] = field(default_factory=dict)
    facts_after: dict[str, Any] = field(default_factory=dict)

    @property
    def significant(self) -> bool:
        """True for a regression or an improvement beyond threshold."""
        return self.verdict in ("regression", "improvement")

    @property
    def percent_change(self) -> float:
        """``100 * (ratio - 1)``."""
        return 100.0 * (self.ratio - 1.0)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (non-finite floats become ``None``)."""
        return _json_ready(
            self, notes=list(self.notes), percent_change=self.percent_change,
            significant=self.significant,
        )


# --------------------------------------------------------------------------- core


def _validate(confidence_level: Any, fdr: Any) -> None:
    from torchperf.stats import _check_confidence_level

    _check_confidence_level(confidence_level)
    _check_fdr(fdr)


def _side(row: Mapping[str, Any]) -> tuple[float, float, int, str, list[float] | None]:
    """(log value, within-run SE of log value, n, evidence, samples) for one result row."""
    value = float(row["value"])
    samples = row.get("samples")
    if isinstance(samples, list) and len(samples) >= 3 and all(s > 0 for s in samples):
        ls = np.log(np.asarray(samples, dtype=float))
        n = ls.size
        mad = 1.4826 * float(np.median(np.abs(ls - np.median(ls))))
        sd = mad if mad > 0 else float(np.std(ls, ddof=1))
        return math.log(value), 1.2533 * sd / math.sqrt(n), n, "samples", list(samples)
    lo, hi = row.get("ci_low"), row.get("ci_high")
    n = int(row["repeat"]) if _finite(row.get("repeat")) else 0
    if _finite(lo) and _finite(hi) and lo > 0 and hi >= lo:
        return math.log(value), (math.log(hi) - math.log(lo)) / (2 * _Z99), n, "stored-ci", None
    return math.log(value), math.nan, n, "stored-ci", None


def _finite(x: Any) -> bool:
    try:
        return x is not None and math.isfinite(float(x))
    except (TypeError, ValueError):
        return False


def _blocks(samples: list[float], rounds: Any) -> list[list[float]] | None:
    try:
        r = int(rounds)
    except (TypeError, ValueError):
        return None
    if r < 2 or len(samples) % r or len(samples) // r < 1:
        return None
    size = len(samples) // r
    return [samples[i * size : (i + 1) * size] for i in range(r)]


def _history_sigma(values: np.ndarray) -> tuple[float, int]:
    v = values[np.isfinite(values) & (values > 0)]
    if v.size < 3:
        return math.nan, int(v.size)
    y, _ = _clean(np.log(v), 4.0)
    d = np.abs(np.diff(np.log(v)))
    # Run-to-run noise has heavy tails: the MAD-based scale fits the bulk, the 90th
    # percentile of neighbour differences (/ z_0.95 / sqrt 2; equal for normal noise)
    # fits the tail where tests decide. The larger of the two is used.
    tail = float(np.quantile(d, 0.9)) / (1.6449 * math.sqrt(2)) if d.size >= 5 else 0.0
    return max(_noise_scale(y), tail), int(v.size)


def _pair(
    a: Mapping[str, Any],
    b: Mapping[str, Any],
    sigma_run: float,
    n_hist: int,
    *,
    min_history: int,
    cl: float,
) -> dict[str, Any]:
    """Log-ratio test of row b against row a."""
    from scipy.stats import norm
    from scipy.stats import t as tdist

    la, sa, na, ev_a, smp_a = _side(a)
    lb, sb, nb, ev_b, smp_b = _side(b)
    evidence = "samples" if ev_a == ev_b == "samples" else "stored-ci"
    notes: list[str] = []
    if evidence == "stored-ci":
        notes.append(
            "raw samples were not recorded (asv run --record-samples); within-run noise taken "
            "from asv's stored 99% CI of the median"
        )
    d = lb - la
    within = sa**2 + sb**2
    df_ref = math.inf
    noise_model = "within-run"
    if n_hist >= min_history and math.isfinite(sigma_run):
        var = max(within if math.isfinite(within) else 0.0, 2 * sigma_run**2)
        df_ref = float(n_hist - 1)
        noise_model = "history"
    else:
        ba = _blocks(smp_a, a.get("rounds")) if smp_a else None
        bb = _blocks(smp_b, b.get("rounds")) if smp_b else None
        if ba and bb and len(ba) >= 2 and len(bb) >= 2:
            ma = np.log([np.median(x) for x in ba])
            mb = np.log([np.median(x) for x in bb])
            d = float(np.mean(mb) - np.mean(ma))
            va, vb = np.var(ma, ddof=1) / ma.size, np.var(mb, ddof=1) / mb.size
            var = float(va + vb)
            df_ref = (
                var**2 / (va**2 / (ma.size - 1) + vb**2 / (mb.size - 1)) if var > 0 else 1.0
            )
            noise_model = "rounds"
            notes.append(
                f"no history for this series: compared {ma.size} vs {mb.size} per-process medians "
                "(asv rounds), so power is low"
            )
        else:
            var = within
            if evidence == "samples":
                df_ref = float(max(na + nb - 2, 1))
            notes.append(
                "no history for this series: only within-run noise is known, so the p-value is "
                "optimistic (run-to-run variation is ignored)"
            )
    if not math.isfinite(var):
        return dict(d=d, lo=math.nan, hi=math.nan, p=1.0, evidence=evidence,
                    noise_model=noise_model, notes=(*notes, "no uncertainty information"),
                    n_before=na, n_after=nb)
    se = math.sqrt(var)
    if se == 0:
        p = 0.0 if d != 0 else 1.0
        lo = hi = d
    else:
        if math.isinf(df_ref):
            p = float(2 * norm.sf(abs(d) / se))
            qz = float(norm.ppf(0.5 + cl / 2))
        else:
            p = float(2 * tdist.sf(abs(d) / se, df_ref))
            qz = float(tdist.ppf(0.5 + cl / 2, df_ref))
        lo, hi = d - qz * se, d + qz * se
    return dict(d=d, lo=lo, hi=hi, p=min(1.0, p), evidence=evidence, noise_model=noise_model,
                notes=tuple(notes), n_before=na, n_after=nb)


def _verdict(
    ratio: float, lo: float, hi: float, q: float, fdr: float, threshold: float,
    lower_is_better: bool, margin: float | None, unit: str | None,
) -> tuple[str, str | None, str]:
    worse = ratio > 1 if lower_is_better else ratio < 1
    timey = (unit or "").lower() in _TIME_UNITS
    if q <= fdr and abs(ratio - 1) > threshold:
        verdict = "regression" if worse else "improvement"
        if timey:
            change = "slower" if ratio > 1 else "faster"
        else:
            change = "higher" if ratio > 1 else "lower"
        return verdict, verdict, change
    m = max(threshold, 0.02) if margin is None else margin
    if math.isfinite(lo) and math.isfinite(hi) and lo >= 1 / (1 + m) and hi <= 1 + m:
        return "equivalent", None, "same"
    return "inconclusive", None, "unclear"


def _raw_finding(
    a: Mapping[str, Any],
    b: Mapping[str, Any],
    t: Mapping[str, Any],
    *,
    confidence_level: float,
    **fields: Any,
) -> dict[str, Any]:
    """:class:`Finding` fields (all but the verdict) from rows ``a``, ``b`` and their :func:`_pair` test.

    ``fields`` names the series and commits (``benchmark``, ``machine``,
    ``env``, ``commit_before``, ``commit_after``), the ``threshold`` and any
    extra fields of a subclass.
    """
    lib = bool(a.get("lower_is_better", True))
    return dict(
        params=tuple(a["params"]),
        ratio=math.exp(t["d"]),
        ci_low=math.exp(t["lo"]) if math.isfinite(t["lo"]) else math.nan,
        ci_high=math.exp(t["hi"]) if math.isfinite(t["hi"]) else math.nan,
        p_value=t["p"],
        metric_direction=Direction.from_flag(lib).value,
        value_before=float(a["value"]),
        value_after=float(b["value"]),
        unit=a.get("unit") if isinstance(a.get("unit"), str) else None,
        evidence=t["evidence"],
        noise_model=t["noise_model"],
        n_before=t["n_before"],
        n_after=t["n_after"],
        confidence_level=float(confidence_level),
        notes=tuple(t["notes"]),
        **fields,
    )


def _finalise(
    raw: list[dict[str, Any]], fdr: float, margin: float | None, cls: type[Finding] = Finding
) -> list[Finding]:
    from torchperf.stats import benjamini_hochberg

    q = benjamini_hochberg(np.array([r["p_value"] for r in raw], dtype=float))
    out = []
    for r, qv in zip(raw, q, strict=True):
        verdict, direction, change = _verdict(
            r["ratio"], r["ci_low"], r["ci_high"], float(qv), fdr, r["threshold"],
            Direction(r["metric_direction"]).lower_is_better, margin, r["unit"],
        )
        out.append(cls(q_value=float(qv), verdict=verdict, direction=direction, change=change, **r))
    rank = {"regression": 0, "improvement": 1, "inconclusive": 2, "equivalent": 3}
    out.sort(key=lambda f: (rank[f.verdict], f.q_value, f.benchmark, f.params, f.env))
    return out


def _rows_at(df: pd.DataFrame, commit: str) -> dict[tuple[Any, ...], dict[str, Any]]:
    sub = df[(df["commit"] == commit) & np.isfinite(df["value"].to_numpy(dtype=float))]
    sub = sub[sub["value"] > 0]
    return {tuple(r[k] for k in SERIES_KEYS): r for r in sub.to_dict("records")}


def _sigmas(df: pd.DataFrame) -> dict[tuple[Any, ...], tuple[float, int]]:
    sub = df
    if "version_current" in sub.columns:
        sub = sub[sub["version_current"].astype(bool)]
    out = {}
    for key, g in sub.groupby(list(SERIES_KEYS), sort=False, dropna=False):
        vals = g.groupby("revision", sort=True)["value"].median().to_numpy(dtype=float)
        out[key] = _history_sigma(vals)
    return out


def compare_revisions(
    df: pd.DataFrame,
    rev_a: str,
    rev_b: str,
    *,
    confidence_level: float = 0.95,
    fdr: float = 0.05,
    thresholds: float | Mapping[str, float] | None = None,
    default_threshold: float = 0.05,
    equivalence_margin: float | None = None,
    min_history: int = 8,
    benchmarks: Sequence[str] | None = None,
) -> list[Finding]:
    """Compare every benchmark between two commits of an asv history.

    Parameters
    ----------
    df : pandas.DataFrame
        From :func:`torchperf.history.load_results`. The rest of the history
        (other commits) is used to estimate run-to-run noise per series.
    rev_a, rev_b : str
        Baseline and candidate commits; unique hash prefixes are resolved.
    confidence_level : float, default 0.95
        Level of each ratio's confidence interval.
    fdr : float, default 0.05
        False-discovery rate across all compared series (Benjamini-Hochberg).
    thresholds : float or mapping, optional
        Noise threshold(s): one relative threshold, or asv's
        ``regressions_thresholds`` (regex -> threshold, largest match wins).
        Defaults to ``df.attrs["regressions_thresholds"]`` from ``asv.conf.json``.
    default_threshold : float, default 0.05
        Threshold of benchmarks no regex matches (asv's default, 5%).
    equivalence_margin : float, optional
        Margin of the equivalence verdict; default ``max(threshold, 0.02)``.
    min_history : int, default 8
        Revisions a series needs before its run-to-run noise is estimated from history.
    benchmarks : sequence of str, optional
        Regular expressions; only matching benchmark names are compared.

    Returns
    -------
    list of Finding
        One per series present at both commits: regressions first, then
        improvements, inconclusive and equivalent results, by q-value.

    Raises
    ------
    InvalidParameterError
        If a revision is unknown or ambiguous, both are the same commit, or a
        parameter is out of range.

    """
    import re

    _validate(confidence_level, fdr)
    _check_frame(df)
    ca, cb = resolve_commit(df, rev_a), resolve_commit(df, rev_b)
    if ca == cb:
        raise InvalidParameterError(
            f"`rev_a` and `rev_b` resolve to the same commit {ca[:12]}; pass two different revisions."
        )
    if thresholds is None:
        thresholds = df.attrs.get("regressions_thresholds") or None
    if benchmarks is not None:
        pats = [re.compile(p) for p in benchmarks]
        df = df[df["benchmark"].map(lambda n: any(p.search(n) for p in pats))]
    ra, rb = _rows_at(df, ca), _rows_at(df, cb)
    sigmas = _sigmas(df)
    raw = []
    for key in sorted(set(ra) & set(rb), key=str):
        a, b = ra[key], rb[key]
        sig, nh = sigmas.get(key, (math.nan, 0))
        t = _pair(a, b, sig, nh, min_history=min_history, cl=confidence_level)
        raw.append(
            _raw_finding(
                a, b, t, benchmark=key[2], machine=key[0], env=key[1], commit_before=ca,
                commit_after=cb, confidence_level=confidence_level,
                threshold=threshold_for(f"{key[2]}{key[3]}", thresholds, default_threshold),
            )
        )
    return _finalise(raw, fdr, equivalence_margin)
