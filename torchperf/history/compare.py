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
  run share a process, a CPU frequency, a runner VM (docs/statistics.md#rule-1), so a test
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

Each series' interval and p-value come from one t (or normal) test of the
log ratio with that variance (:func:`torchperf.stats.log_t_test`), so the
interval excludes 1 exactly when ``p < 1 - confidence_level``; the verdict is
the package's one rule (:func:`torchperf.comparison.decide`,
``docs/statistics.md#rule-9``) and the p-values of all series are adjusted
together with Benjamini-Hochberg (:func:`torchperf.comparison.adjust`). A
finding is a **regression** (or improvement) when its interval excludes 1, its
q-value is at most ``fdr`` and ``|ratio - 1|`` exceeds the benchmark's noise
threshold in the bad (good) direction; **equivalent** when the ``1 - 2α``
interval of the same test lies within ``[1/(1+m), 1+m]`` (``m =
max(threshold, 0.02)``); else **inconclusive**.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import fields
from typing import TYPE_CHECKING, Any

import numpy as np

from torchperf.comparison import Finding as _Finding
from torchperf.comparison import adjust, decide
from torchperf.errors import InvalidParameterError
from torchperf.history.changepoints import (
    SERIES_KEYS,
    _check_fdr,
    _check_frame,
    _clean,
    _noise_scale,
    threshold_for,
)
from torchperf.history.loader import resolve_commit

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = ["Finding", "compare_revisions", "threshold_for"]

_Z99 = 2.5758293035489004  # asv stores 99% intervals


#: asv history findings are :class:`torchperf.comparison.Finding` s, the one record of every
#: comparison in torchperf. The series and the commits are in ``context`` and read as
#: attributes: ``benchmark``, ``params``, ``machine``, ``env``, ``commit_before``,
#: ``commit_after`` (the CLI JSON contract, with ``ratio``, ``ci_low``, ``ci_high``,
#: ``p_value``, ``direction`` and ``metric_direction`` of :meth:`Finding.as_dict` with
#: ``legacy=True``), ``evidence`` (``"samples"`` or ``"stored-ci"``), ``noise_model``
#: (``"history"``, ``"rounds"`` or ``"within-run"``), ``env_after``, ``kind``,
#: ``facts_before`` and ``facts_after``.
Finding = _Finding


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
    notes_t = tuple(notes)
    if not math.isfinite(var):
        notes_t = (*notes_t, "no uncertainty information")
    return dict(d=float(d), se=math.sqrt(var) if math.isfinite(var) else math.nan, df=df_ref,
                evidence=evidence, noise_model=noise_model, notes=notes_t, n_before=na, n_after=nb)


def _raw_finding(
    a: Mapping[str, Any],
    b: Mapping[str, Any],
    t: Mapping[str, Any],
    *,
    confidence_level: float,
    threshold: float,
    **context: Any,
) -> dict[str, Any]:
    """:func:`torchperf.comparison.decide` arguments from rows ``a``, ``b`` and their :func:`_pair` test.

    ``context`` names the series and commits (``benchmark``, ``machine``,
    ``env``, ``commit_before``, ``commit_after``) and any extra identifiers
    (``env_after``, ``kind``, ``facts_before``, ``facts_after``).
    """
    lib = bool(a.get("lower_is_better", True))
    unit = a.get("unit") if isinstance(a.get("unit"), str) else ""
    ctx = {
        "benchmark": context.pop("benchmark"),
        "params": tuple(a["params"]),
        "machine": context.pop("machine"),
        "env": context.pop("env"),
        "commit_before": context.pop("commit_before"),
        "commit_after": context.pop("commit_after"),
        "evidence": t["evidence"],
        "noise_model": t["noise_model"],
        "env_after": context.pop("env_after", None),
        "kind": context.pop("kind", "comparison"),
        "facts_before": dict(context.pop("facts_before", {})),
        "facts_after": dict(context.pop("facts_after", {})),
        **context,
    }
    return dict(
        d=t["d"], se=t["se"], df=t["df"],
        metric=ctx["benchmark"], baseline=ctx["commit_before"], candidate=ctx["commit_after"],
        before=float(a["value"]), after=float(b["value"]), unit=unit or "",
        lower_is_better=lib, statistic="value", confidence_level=float(confidence_level),
        threshold=threshold, n_before=t["n_before"], n_after=t["n_after"],
        caveat="; ".join(t["notes"]), context=ctx,
    )  # fmt: skip


def _finalise(
    raw: list[dict[str, Any]], fdr: float, margin: float | None, cls: type[_Finding] = _Finding
) -> list[_Finding]:
    """Decide each series with the one verdict rule, then adjust them together (BH at ``fdr``)."""
    from torchperf.stats import log_t_test

    found = []
    for r in raw:
        r = dict(r)
        d, se, df = r.pop("d"), r.pop("se"), r.pop("df")

        def proc(level: float, d: float = d, se: float = se, df: float = df) -> Any:
            return log_t_test(d, se, df, confidence_level=level)

        found.append(decide(proc, equivalence_margin=margin, **r))
    adjusted = adjust(found, "bh", alpha=fdr)
    out = [
        f if cls is _Finding else cls(**{k.name: getattr(f, k.name) for k in fields(f)})
        for f in adjusted
    ]
    rank = {"regression": 0, "improvement": 1, "inconclusive": 2, "equivalent": 3}
    out.sort(key=lambda f: (rank[f.verdict], _nan_last(f.q), f.benchmark, f.params, f.env))
    return out


def _nan_last(q: float) -> float:
    return q if math.isfinite(q) else math.inf


def _rows_at(df: pd.DataFrame, commit: str) -> dict[tuple[Any, ...], dict[str, Any]]:
    sub = df[(df["commit"] == commit) & np.isfinite(df["value"].to_numpy(dtype=float))]
    sub = sub[sub["value"] > 0]
    return {tuple(r[k] for k in SERIES_KEYS): r for r in sub.to_dict("records")}


def _sigmas(df: pd.DataFrame) -> dict[tuple[Any, ...], tuple[float, int]]:
    """Run-to-run noise of every series: :func:`_history_sigma` of its per-revision medians.

    One groupby over (series, revision) for all medians, then one slice per series
    (not one groupby per series).
    """
    sub = df
    if "version_current" in sub.columns:
        sub = sub[sub["version_current"].astype(bool)]
    if sub.empty:
        return {}
    med = sub.groupby([*SERIES_KEYS, "revision"], sort=True, dropna=False, observed=True)["value"].median()
    vals = med.to_numpy(dtype=float)
    idx = med.index
    nk = len(SERIES_KEYS)
    codes = np.stack([np.asarray(idx.codes[i]) for i in range(nk)], axis=1)
    starts = np.flatnonzero(np.r_[True, (codes[1:] != codes[:-1]).any(axis=1)])
    ends = np.r_[starts[1:], vals.size]
    out = {}
    for a, b in zip(starts.tolist(), ends.tolist(), strict=True):
        out[tuple(idx[a][:nk])] = _history_sigma(vals[a:b])
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
    return _compare_resolved(
        df, ca, cb, _sigmas(df), confidence_level=confidence_level, fdr=fdr,
        thresholds=thresholds, default_threshold=default_threshold,
        equivalence_margin=equivalence_margin, min_history=min_history,
    )


def _compare_resolved(
    df: pd.DataFrame,
    ca: str,
    cb: str,
    sigmas: Mapping[tuple[Any, ...], tuple[float, int]],
    *,
    confidence_level: float,
    fdr: float,
    thresholds: float | Mapping[str, float] | None,
    default_threshold: float,
    equivalence_margin: float | None,
    min_history: int,
) -> list[Finding]:
    """:func:`compare_revisions` of two full commit hashes with the series' noise (:func:`_sigmas`) given.

    Several comparisons on one frame (the newest revision pairs) share one ``sigmas``.
    """
    ra, rb = _rows_at(df, ca), _rows_at(df, cb)
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
