"""One comparison of two results, one way: :class:`Finding`, :func:`compare_results`, :func:`adjust`.

Every comparison torchperf reports (``Benchmark.compare_models``, the suite's
comparisons against a baseline, ``compare_runs`` and its report, asv history's
``compare_revisions`` and the ``torchperf compare`` command) is a
:class:`Finding` built here, so the same two results get the same verdict from
every entry point.

:func:`compare_results` picks the test from what the results hold
(``docs/statistics.md#rule-7`` to ``#rule-9``):

1. **Paired accuracy**: both results carry per-example outcomes on the same
   examples -> exact McNemar test with its Clopper-Pearson inversion
   (:func:`torchperf.stats.mcnemar_ratio_test`).
2. **Unpaired accuracy**: only counts (older files) -> Katz log-ratio z test
   and interval (:func:`torchperf.stats.proportion_ratio_test`), with a caveat.
3. **Exact**: no spread on either side (model size, a deterministic
   allocation) -> the ratio is exact; no test.
4. **Replicates**: both measured in several processes -> Welch t on the log
   per-process medians (:func:`torchperf.stats.welch_log_ratio_test`).
5. **Pooled**: otherwise the samples themselves, with a caveat that calls of
   one process are not independent replicates.

In every case the interval and the p-value come from the same procedure, so
the interval excludes 1 exactly when ``p < 1 - confidence_level``; the verdict
is decided by :func:`decide` with one rule, and :func:`adjust` adjusts the
p-values of a family of findings together (Benjamini-Hochberg or Holm).
"""

from __future__ import annotations

import base64
import hashlib
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import numpy as np

from torchperf import stats
from torchperf.environment import environment_facts
from torchperf.errors import InvalidParameterError
from torchperf.metrics import Direction

if TYPE_CHECKING:  # pragma: no cover
    from torchperf.result import BenchmarkResult
    from torchperf.runfile import Run

__all__ = [
    "Finding",
    "adjust",
    "baseline_findings",
    "compare_results",
    "compare_runs",
    "compare_to_baseline",
    "decide",
    "run_correction",
    "run_findings",
]

#: Verdicts a finding can have (``"baseline"`` is only used by ranked tables).
VERDICTS: tuple[str, ...] = ("regression", "improvement", "equivalent", "inconclusive")

#: Accepted spellings of a multiple-comparison correction -> canonical name.
CORRECTIONS: Mapping[str, str] = MappingProxyType(
    {
        "bh": "benjamini-hochberg",
        "fdr": "benjamini-hochberg",
        "benjamini-hochberg": "benjamini-hochberg",
        "holm": "holm",
        "none": "none",
    }
)

_TIME_UNITS = frozenset({"s", "seconds", "second", "sec"})
_OUTCOMES_KEY = "per_example_correct"
_EXAMPLES_KEY = "examples_digest"


def _json_float(v: Any) -> Any:
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


@dataclass(frozen=True)
class Finding:
    """Two results of one metric compared: the ratio, its interval, the test and the verdict.

    Attributes
    ----------
    metric : str
        What was compared (``"latency"``, an asv benchmark name, ...).
    baseline, candidate : str
        Labels of the two sides (model names, commits).
    before, after : float
        The baseline's and the candidate's value of ``statistic``.
    unit : str
        Unit of ``before`` / ``after``.
    lower_is_better : bool
        Direction of the metric (times, memory, size: True).
    statistic : str
        What ``before`` / ``after`` are (``"geometric mean"``, ``"proportion"``, ...).
    ratio, ratio_ci_low, ratio_ci_high : float
        ``after / before`` and its two-sided interval at ``confidence_level``,
        from the same procedure as ``p`` (the interval excludes 1 exactly when
        ``p < 1 - confidence_level``).
    p : float
        Unadjusted two-sided p-value of "ratio = 1" (nan for an exact comparison).
    test : str
        The procedure: ``"mcnemar-exact"``, ``"katz-log-z"``, ``"exact"``,
        ``"replicate-median/welch-log-t"``, ``"welch-log-t"``, ``"t-log"``, or
        ``"none"`` when nothing could be tested.
    unadjusted_verdict : str
        The verdict at the unadjusted level (one of :data:`VERDICTS`).
    verdict : str
        The verdict after :func:`adjust` (equal to ``unadjusted_verdict`` before).
    q : float
        The adjusted p-value (nan until :func:`adjust`, and for exact findings).
    correction : str
        ``"benjamini-hochberg"``, ``"holm"`` or ``"none"``.
    family_size : int
        Number of tested findings adjusted together.
    n_before, n_after : int
        Sample sizes (processes for replicate tests, examples for accuracy).
    confidence_level, threshold, equivalence_margin : float
        Level; relative change a directional verdict must exceed; margin of
        the equivalence test.
    caveat : str
        What the reader must know about this comparison (``""`` when nothing).
    context : Mapping
        Identifiers of the entry point (benchmark parameters, machine,
        commits, ...), read-only; :meth:`as_dict` puts them first.
    adjusted_level, adjusted_ci_low, adjusted_ci_high : float
        Set by :func:`adjust`: the interval of the same procedure at the level
        that matches the adjusted decision (``docs/statistics.md#rule-9``): it
        excludes 1 exactly when ``q <= α``. nan before adjustment, for exact
        findings, and for findings rebuilt from a dict or a pickle.
    procedure : callable or None
        ``level -> RatioTest`` of the finding (not compared, not serialised).

    """

    metric: str
    baseline: str
    candidate: str
    before: float
    after: float
    unit: str
    lower_is_better: bool
    statistic: str
    ratio: float
    ratio_ci_low: float
    ratio_ci_high: float
    p: float
    test: str
    unadjusted_verdict: str
    verdict: str
    q: float = math.nan
    correction: str = "none"
    family_size: int = 0
    n_before: int = 0
    n_after: int = 0
    confidence_level: float = 0.95
    threshold: float = stats.DEFAULT_NOISE_THRESHOLD
    equivalence_margin: float = stats.DEFAULT_NOISE_THRESHOLD
    caveat: str = ""
    context: Mapping[str, Any] = field(default_factory=dict)
    adjusted_level: float = math.nan
    adjusted_ci_low: float = math.nan
    adjusted_ci_high: float = math.nan
    procedure: Callable[[float], stats.RatioTest] | None = field(
        default=None, compare=False, repr=False
    )

    def __post_init__(self) -> None:
        if self.verdict not in VERDICTS or self.unadjusted_verdict not in VERDICTS:
            raise InvalidParameterError(
                f"a Finding's verdicts must be in {VERDICTS}; got {self.unadjusted_verdict!r} / "
                f"{self.verdict!r}."
            )
        if not isinstance(self.context, MappingProxyType):
            object.__setattr__(self, "context", MappingProxyType(dict(self.context)))

    def __reduce__(self) -> tuple[Any, ...]:  # MappingProxyType does not pickle
        kw = {f.name: getattr(self, f.name) for f in fields(self)}
        kw["context"] = dict(self.context)
        kw["procedure"] = None  # a closure over the data; the numbers it gave are kept
        return (_rebuild_finding, (kw,))

    def __getattr__(self, name: str) -> Any:
        # Identifiers of the entry point read as attributes (``f.benchmark``, ``f.machine``).
        if name.startswith("__") or name == "context":
            raise AttributeError(name)
        ctx = self.__dict__.get("context")
        if ctx is not None and name in ctx:
            return ctx[name]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    # -- torchperf 0.1 spellings (read-only aliases of the fields) ---------------
    @property
    def ci_low(self) -> float:
        """Alias of ``ratio_ci_low`` (the 0.1 spelling)."""
        return self.ratio_ci_low

    @property
    def ci_high(self) -> float:
        """Alias of ``ratio_ci_high`` (the 0.1 spelling)."""
        return self.ratio_ci_high

    @property
    def p_value(self) -> float:
        """Alias of ``p`` (the 0.1 spelling)."""
        return self.p

    @property
    def q_value(self) -> float:
        """Alias of ``q`` (the 0.1 spelling of asv history findings)."""
        return self.q

    @property
    def value_before(self) -> float:
        """Alias of ``before`` (the 0.1 spelling of asv history findings)."""
        return self.before

    @property
    def value_after(self) -> float:
        """Alias of ``after`` (the 0.1 spelling of asv history findings)."""
        return self.after

    @property
    def notes(self) -> tuple[str, ...]:
        """``caveat`` split into its sentences (the 0.1 spelling of asv history findings)."""
        return tuple(c for c in self.caveat.split("; ") if c)

    # -- derived ----------------------------------------------------------------
    @property
    def change(self) -> str:
        """The verdict in words: ``"slower"`` / ``"faster"`` (time units) or ``"higher"`` / ``"lower"``; ``"same"``; ``"unclear"``."""
        if self.significant:
            if self.unit.lower() in _TIME_UNITS:
                return "slower" if self.ratio > 1 else "faster"
            return "higher" if self.ratio > 1 else "lower"
        return "same" if self.verdict == "equivalent" else "unclear"

    @property
    def significant(self) -> bool:
        """Whether the (adjusted) verdict is a regression or an improvement."""
        return self.verdict in ("regression", "improvement")

    @property
    def excludes_one(self) -> bool:
        """Whether the ratio interval excludes 1 (no change) at ``confidence_level``."""
        return bool(self.ratio_ci_low > 1.0 or self.ratio_ci_high < 1.0)

    @property
    def percent_change(self) -> float:
        """``100 * (ratio - 1)``."""
        return 100.0 * (self.ratio - 1.0) if math.isfinite(self.ratio) else math.nan

    @property
    def direction(self) -> str:
        """Where the point estimate moved: ``"regression"``, ``"improvement"``, ``"unchanged"`` or ``"unknown"``.

        ``verdict`` says what the statistics support; ``direction`` only reads
        the ratio (a cue for readers of an inconclusive finding).
        """
        if self.ratio == 1.0:
            return "unchanged"
        if not math.isfinite(self.ratio) and not math.isinf(self.ratio):
            return "unknown"
        better = self.ratio < 1.0 if self.lower_is_better else self.ratio > 1.0
        return "improvement" if better else "regression"

    @property
    def metric_direction(self) -> Direction:
        """:class:`~torchperf.metrics.Direction` (``"lower_is_better"`` or ``"higher_is_better"``)."""
        return Direction.from_flag(self.lower_is_better)

    def as_dict(self, *, legacy: bool = False) -> dict[str, Any]:
        """A JSON-ready dict: ``context`` first, then every field and the derived properties.

        Non-finite floats become ``None``. ``legacy=True`` also writes the
        spellings of torchperf 0.1's comparison dicts, which the documented
        entry points (``compare_to_baseline``, ``compare_runs``,
        ``compare_revisions``, ``torchperf compare --format json``) keep
        returning: ``ci_low`` / ``ci_high`` (= ``ratio_ci_low`` /
        ``ratio_ci_high``), ``p_value`` (= ``p``), ``p_adjusted`` and ``q_value``
        (= ``q``), ``method`` (= ``test``), ``baseline_center`` /
        ``candidate_center`` and ``value_before`` / ``value_after`` (= ``before`` /
        ``after``), ``n_baseline`` / ``n_candidate``, ``note`` (= ``caveat``),
        ``notes`` (its sentences), ``change`` and ``model`` (= ``candidate``).

        Parameters
        ----------
        legacy : bool, default False
            Add the old spellings too.

        Returns
        -------
        dict
            Plain JSON types only.

        """
        out: dict[str, Any] = {k: _jsonable(v) for k, v in self.context.items()}
        for f in fields(self):
            if f.name not in ("context", "procedure"):
                out[f.name] = _json_float(getattr(self, f.name))
        out.update(
            significant=self.significant,
            direction=self.direction,
            metric_direction=self.metric_direction.value,
            percent_change=_json_float(self.percent_change),
        )
        if legacy:
            out.update(
                model=self.candidate,
                baseline_center=out["before"],
                candidate_center=out["after"],
                ci_low=out["ratio_ci_low"],
                ci_high=out["ratio_ci_high"],
                p_value=out["p"],
                p_adjusted=out["q"],
                method=self.test,
                n_baseline=self.n_before,
                n_candidate=self.n_after,
                note=self.caveat,
                q_value=out["q"],
                value_before=out["before"],
                value_after=out["after"],
                notes=list(self.notes),
                change=self.change,
            )
        return out

    def to_dict(self) -> dict[str, Any]:
        """``as_dict(legacy=True)``: the 0.1 name of the JSON form of asv history findings."""
        return self.as_dict(legacy=True)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Finding:
        """Rebuild a finding from :meth:`as_dict` output (``None`` becomes nan).

        Keys that are neither fields nor derived properties nor legacy
        spellings are taken as ``context``.

        Raises
        ------
        InvalidParameterError
            If a field is missing.

        """
        if not isinstance(d, Mapping):
            raise InvalidParameterError(f"expected a dict; got {type(d).__name__}.")
        names = {f.name for f in fields(cls)} - {"context", "procedure"}
        derived = {
            "significant", "direction", "metric_direction", "percent_change", "model",
            "baseline_center", "candidate_center", "ci_low", "ci_high", "p_value", "p_adjusted",
            "method", "n_baseline", "n_candidate", "note", "q_value", "value_before",
            "value_after", "notes", "change",
        }  # fmt: skip
        missing = [k for k in _REQUIRED if k not in d]
        if missing:
            raise InvalidParameterError(f"not a Finding dict: missing {sorted(missing)}.")
        kw = {
            k: (math.nan if v is None and k in _FLOAT_FIELDS else v)
            for k, v in d.items()
            if k in names
        }
        kw["context"] = {k: v for k, v in d.items() if k not in names and k not in derived}
        return cls(**kw)


_REQUIRED = (
    "metric", "baseline", "candidate", "before", "after", "unit", "lower_is_better", "statistic",
    "ratio", "ratio_ci_low", "ratio_ci_high", "p", "test", "unadjusted_verdict", "verdict",
)  # fmt: skip
_FLOAT_FIELDS = frozenset(
    {"before", "after", "ratio", "ratio_ci_low", "ratio_ci_high", "p", "q", "confidence_level",
     "threshold", "equivalence_margin", "adjusted_level", "adjusted_ci_low", "adjusted_ci_high"}
)  # fmt: skip


def _rebuild_finding(kw: dict[str, Any]) -> Finding:
    return Finding(**kw)


def _jsonable(v: Any) -> Any:
    if isinstance(v, float):
        return _json_float(v)
    if isinstance(v, tuple):
        return [_jsonable(x) for x in v]
    if isinstance(v, Mapping):
        return {str(k): _jsonable(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_jsonable(x) for x in v]
    return v


# --------------------------------------------------------------------------- the rule


def _check_level(confidence_level: Any) -> float:
    return stats._check_confidence_level(confidence_level)


def _check_threshold(threshold: Any, name: str = "threshold") -> float:
    if (
        isinstance(threshold, bool)
        or not isinstance(threshold, (int, float, np.floating, np.integer))
        or not math.isfinite(float(threshold))
        or threshold < 0
    ):
        raise InvalidParameterError(
            f"`{name}` must be a finite fraction >= 0 such as 0.05 (5 %); got {threshold!r}."
        )
    return float(threshold)


def decide(
    procedure: Callable[[float], stats.RatioTest] | None,
    *,
    metric: str,
    baseline: str,
    candidate: str,
    before: float,
    after: float,
    unit: str,
    lower_is_better: bool,
    statistic: str,
    confidence_level: float = 0.95,
    threshold: float = stats.DEFAULT_NOISE_THRESHOLD,
    equivalence_margin: float | None = None,
    n_before: int = 0,
    n_after: int = 0,
    caveat: str = "",
    context: Mapping[str, Any] | None = None,
    exact_ratio: float | None = None,
) -> Finding:
    """Build a :class:`Finding` from a ratio procedure with the one verdict rule.

    ``procedure(level)`` returns the :class:`~torchperf.stats.RatioTest` (ratio,
    interval at ``level``, p-value) of one procedure. With ``α = 1 -
    confidence_level`` (``docs/statistics.md#rule-9``):

    * **regression / improvement** when the interval at ``confidence_level``
      excludes 1 (equivalently ``p < α``) and ``|ratio - 1| > threshold``, in
      the bad / good direction of the metric;
    * else **equivalent** when the ``1 - 2α`` interval of the same procedure
      lies strictly inside ``[1/(1+m), 1+m]`` (two one-sided tests at level α,
      ``m = equivalence_margin``, default ``max(threshold, 0.02)``);
    * else **inconclusive**.

    ``procedure=None`` with ``exact_ratio`` set is an exact comparison (no
    sampling noise): the interval is the point, any change is real (the
    threshold does not apply) and no change is "equivalent". ``procedure=None``
    without ``exact_ratio`` is a comparison that could not be tested:
    "inconclusive" with nan interval and p-value.

    Parameters
    ----------
    procedure : callable or None
        ``level -> RatioTest``.
    metric, baseline, candidate, before, after, unit, lower_is_better, statistic
        Fields of the finding (see :class:`Finding`).
    confidence_level : float, default 0.95
        Level of the interval; ``1 - confidence_level`` is α.
    threshold : float, default 0.05
        Relative change a directional verdict must exceed.
    equivalence_margin : float, optional
        Default ``max(threshold, 0.02)``.
    n_before, n_after : int
        Sample sizes.
    caveat : str
        Caveat of the comparison.
    context : Mapping, optional
        Identifiers of the entry point.
    exact_ratio : float, optional
        The exact ratio when ``procedure`` is None.

    Returns
    -------
    Finding
        Unadjusted (``verdict == unadjusted_verdict``).

    """
    cl = _check_level(confidence_level)
    threshold = _check_threshold(threshold)
    margin = (
        max(threshold, 0.02)
        if equivalence_margin is None
        else _check_threshold(equivalence_margin, "equivalence_margin")
    )
    alpha = 1.0 - cl
    nan = math.nan
    common = dict(
        metric=str(metric), baseline=str(baseline), candidate=str(candidate),
        before=float(before), after=float(after), unit=str(unit),
        lower_is_better=bool(lower_is_better), statistic=str(statistic),
        n_before=int(n_before), n_after=int(n_after), confidence_level=cl,
        equivalence_margin=margin, context=dict(context or {}),
    )  # fmt: skip
    if procedure is None:
        if exact_ratio is None:
            return Finding(
                ratio=(float(after) / float(before)) if before not in (0, 0.0) else nan,
                ratio_ci_low=nan, ratio_ci_high=nan, p=nan, test="none",
                unadjusted_verdict="inconclusive", verdict="inconclusive",
                threshold=threshold, caveat=caveat, **common,
            )  # fmt: skip
        r = float(exact_ratio)
        if r == 1.0:
            verdict = "equivalent"
        elif math.isnan(r):
            verdict = "inconclusive"
        else:
            better = r < 1.0 if lower_is_better else r > 1.0
            verdict = "improvement" if better else "regression"
        return Finding(
            ratio=r, ratio_ci_low=r, ratio_ci_high=r, p=nan, test="exact",
            unadjusted_verdict=verdict, verdict=verdict, threshold=0.0, caveat=caveat, **common,
        )  # fmt: skip
    t = procedure(cl)
    ratio = float(t.ratio)
    verdict = "inconclusive"
    if t.excludes_one and math.isfinite(ratio) and abs(ratio - 1.0) > threshold:
        better = ratio < 1.0 if lower_is_better else ratio > 1.0
        verdict = "improvement" if better else "regression"
    elif cl > 0.5:
        eq = procedure(1.0 - 2.0 * alpha)
        if eq.ci_low > 1.0 / (1.0 + margin) and eq.ci_high < 1.0 + margin:
            verdict = "equivalent"
    return Finding(
        ratio=ratio, ratio_ci_low=float(t.ci_low), ratio_ci_high=float(t.ci_high),
        p=float(t.p_value), test=t.method, unadjusted_verdict=verdict, verdict=verdict,
        procedure=procedure,
        threshold=threshold, caveat=caveat, **common,
    )  # fmt: skip


# --------------------------------------------------------------------------- outcomes


def encode_outcomes(
    correct: Sequence[bool] | np.ndarray, labels: Any = None
) -> dict[str, Any]:
    """Metadata entries that record per-example outcomes compactly (for paired tests).

    Parameters
    ----------
    correct : sequence of bool
        Whether each example was predicted correctly, in dataset order.
    labels : array_like, optional
        The examples' true labels; their digest lets a later comparison check
        that two results were scored on the same examples.

    Returns
    -------
    dict
        ``{"per_example_correct": {"n", "packbits_base64"}}`` and, with
        ``labels``, ``"examples_digest"`` (sha256 of the labels, 16 hex digits).

    """
    arr = np.asarray(correct, dtype=bool).ravel()
    out: dict[str, Any] = {
        _OUTCOMES_KEY: {
            "n": int(arr.size),
            "packbits_base64": base64.b64encode(np.packbits(arr).tobytes()).decode("ascii"),
        }
    }
    if labels is not None:
        lab = np.ascontiguousarray(np.asarray(labels))
        h = hashlib.sha256(str(lab.dtype).encode() + str(lab.shape).encode())
        h.update(lab.tobytes() if lab.dtype != object else repr(lab.tolist()).encode())
        out[_EXAMPLES_KEY] = h.hexdigest()[:16]
    return out


def outcomes_of(result: BenchmarkResult) -> np.ndarray | None:
    """Per-example outcomes recorded by :func:`encode_outcomes` in a result's metadata, or None."""
    rec = result.metadata.get(_OUTCOMES_KEY)
    if not isinstance(rec, Mapping):
        return None
    n, data = rec.get("n"), rec.get("packbits_base64")
    if isinstance(n, bool) or not isinstance(n, int) or n < 1 or not isinstance(data, str):
        return None
    try:
        raw = np.frombuffer(base64.b64decode(data, validate=True), dtype=np.uint8)
    except (ValueError, TypeError):
        return None
    if raw.size != (n + 7) // 8:
        return None
    return np.unpackbits(raw)[:n].astype(bool)


def _counts(result: BenchmarkResult) -> tuple[int, int] | None:
    md = result.metadata
    k, n = md.get("n_correct"), md.get("n_examples")
    if (
        isinstance(k, int) and isinstance(n, int) and not isinstance(k, bool)
        and not isinstance(n, bool) and 0 <= k <= n and n > 0
    ):  # fmt: skip
        return k, n
    return None


# --------------------------------------------------------------------------- compare_results


def _label(result: BenchmarkResult, default: str) -> str:
    for key in ("model_name", "model", "name"):
        v = result.metadata.get(key)
        if isinstance(v, str) and v:
            return v
    return default


def _gmean(x: Sequence[float]) -> float:
    arr = np.asarray(x, dtype=float)
    return float(np.exp(np.mean(np.log(arr)))) if arr.size and (arr > 0).all() else math.nan


def compare_results(
    base: BenchmarkResult,
    cand: BenchmarkResult,
    *,
    metric: str | None = None,
    baseline_name: str | None = None,
    candidate_name: str | None = None,
    confidence_level: float | None = None,
    threshold: float = stats.DEFAULT_NOISE_THRESHOLD,
    equivalence_margin: float | None = None,
    context: Mapping[str, Any] | None = None,
) -> Finding:
    """Compare two results of one metric with the test their data call for.

    The choice (``docs/statistics.md#rule-8``), first that applies:

    1. both carry per-example outcomes (``Benchmark.run_accuracy_benchmark``
       records them) on the same examples: **exact McNemar**, paired;
    2. both carry accuracy counts (``n_correct`` / ``n_examples``): Katz
       log-ratio **z test**, unpaired (caveat: conservative on a shared set);
    3. neither side has any spread: **exact** ratio, no test;
    4. both were measured in several processes (``replicate_sizes``): Welch t
       on log **per-process medians** (the process is the unit of replication);
    5. otherwise Welch t on the log of the **pooled** samples, with a caveat
       that calls of one process are not independent replicates.

    Parameters
    ----------
    base, cand : BenchmarkResult
        Results of the same metric and unit: before and after.
    metric : str, optional
        Name of the compared metric; default the results' ``metric_name``.
    baseline_name, candidate_name : str, optional
        Labels; default ``metadata["model_name"]`` or ``"baseline"`` / ``"candidate"``.
    confidence_level : float, optional
        Default: the baseline's ``confidence_level``.
    threshold : float, default 0.05
        Relative change a regression or improvement must exceed.
    equivalence_margin : float, optional
        Default ``max(threshold, 0.02)``.
    context : Mapping, optional
        Identifiers stored in the finding.

    Returns
    -------
    Finding
        Unadjusted; pass a family to :func:`adjust`. Data that cannot be
        compared (non-positive values, fewer than 2 values on a side) give
        an "inconclusive" finding whose ``caveat`` says why; nothing raises.

    Raises
    ------
    InvalidParameterError
        If the arguments are not results of the same metric and unit, or a
        parameter is invalid.

    """
    from torchperf.result import BenchmarkResult

    for obj, name in ((base, "base"), (cand, "cand")):
        if not isinstance(obj, BenchmarkResult):
            raise InvalidParameterError(
                f"`{name}` must be a BenchmarkResult; got {type(obj).__name__}."
            )
    if base.metric_name != cand.metric_name or base.unit != cand.unit:
        raise InvalidParameterError(
            "can only compare results of the same metric and unit; got "
            f"{base.metric_name!r} [{base.unit}] and {cand.metric_name!r} [{cand.unit}]."
        )
    cl = _check_level(base.confidence_level if confidence_level is None else confidence_level)
    lower = bool(base.lower_is_better)
    common: dict[str, Any] = dict(
        metric=base.metric_name if metric is None else metric,
        baseline=baseline_name or _label(base, "baseline"),
        candidate=candidate_name or _label(cand, "candidate"),
        unit=base.unit,
        lower_is_better=lower,
        confidence_level=cl,
        threshold=threshold,
        equivalence_margin=equivalence_margin,
        context=context,
    )

    # 1-2. proportions
    ob, oc = outcomes_of(base), outcomes_of(cand)
    same_examples = (
        ob is not None and oc is not None and ob.size == oc.size
        and base.metadata.get(_EXAMPLES_KEY) == cand.metadata.get(_EXAMPLES_KEY)
    )  # fmt: skip
    if same_examples:
        assert ob is not None and oc is not None
        k = int(np.sum(ob & oc))
        b, c = int(np.sum(ob & ~oc)), int(np.sum(~ob & oc))
        return decide(
            lambda level: stats.mcnemar_ratio_test(ob, oc, confidence_level=level),
            before=float(ob.mean()), after=float(oc.mean()), statistic="proportion",
            n_before=int(ob.size), n_after=int(oc.size),
            caveat=f"paired on {ob.size} examples: {k} right for both, {b} only for the "
            f"baseline, {c} only for the candidate",
            **common,
        )  # fmt: skip
    cb, cc = _counts(base), _counts(cand)
    if cb is not None and cc is not None:
        (k1, n1), (k2, n2) = cb, cc
        why = (
            "per-example outcomes not recorded"
            if ob is None or oc is None
            else "the results were scored on different examples"
        )
        proc = None
        caveat = f"{k1}/{n1} vs {k2}/{n2} correct; {why}: unpaired test (conservative on a shared test set)"
        if k1 > 0 and k2 > 0:
            def proc(level: float) -> stats.RatioTest:
                return stats.proportion_ratio_test(k1, n1, k2, n2, confidence_level=level)
        else:
            caveat += "; no log-ratio test with a zero count"
        return decide(
            proc, before=k1 / n1, after=k2 / n2, statistic="proportion",
            n_before=n1, n_after=n2, caveat=caveat, **common,
        )  # fmt: skip

    vb, vc = np.asarray(base.values, dtype=float), np.asarray(cand.values, dtype=float)
    # 3. exact
    if vb.size and vc.size and vb.min() == vb.max() and vc.min() == vc.max():
        b0, c0 = float(vb[0]), float(vc[0])
        ratio = c0 / b0 if b0 != 0 else (1.0 if c0 == 0 else math.inf)
        return decide(
            None, exact_ratio=ratio, before=b0, after=c0, statistic="value",
            n_before=int(vb.size), n_after=int(vc.size),
            caveat="no spread in either sample: the difference is exact, not estimated",
            **common,
        )  # fmt: skip

    # 4-5. samples
    gb, gc = base.replicate_groups(), cand.replicate_groups()
    if gb is not None and gc is not None:
        xb = np.array([np.median(g) for g in gb])
        xc = np.array([np.median(g) for g in gc])
        statistic, test_prefix, caveat = "geometric mean of per-process medians", "replicate-median/", ""
    else:
        xb, xc = vb, vc
        statistic, test_prefix = "geometric mean", ""
        caveat = (
            "samples pooled within one process per model: calls are not independent "
            "replicates, so the p-value is optimistic (measure with processes >= 2)"
        )
    if xb.size < 2 or xc.size < 2 or (xb <= 0).any() or (xc <= 0).any():
        why = (
            "fewer than 2 values on a side"
            if xb.size < 2 or xc.size < 2
            else "values must be positive for a ratio on the log scale"
        )
        return decide(
            None, before=_gmean(xb) if (xb > 0).all() else float(np.median(xb)),
            after=_gmean(xc) if (xc > 0).all() else float(np.median(xc)), statistic=statistic,
            n_before=int(xb.size), n_after=int(xc.size), caveat=f"not compared: {why}", **common,
        )  # fmt: skip

    def welch(level: float) -> stats.RatioTest:
        t = stats.welch_log_ratio_test(xb, xc, confidence_level=level)
        return replace(t, method=test_prefix + t.method)

    return decide(
        welch, before=_gmean(xb), after=_gmean(xc), statistic=statistic,
        n_before=int(xb.size), n_after=int(xc.size), caveat=caveat, **common,
    )  # fmt: skip


# --------------------------------------------------------------------------- adjust


def _correction(correction: Any) -> str:
    key = str(correction).lower()
    if key not in CORRECTIONS:
        raise InvalidParameterError(
            "`correction` must be 'bh' (Benjamini-Hochberg false-discovery rate), 'holm' "
            f"(family-wise error) or 'none'; got {correction!r}."
        )
    return CORRECTIONS[key]


def adjust(
    findings: Iterable[Finding], correction: str = "bh", *, alpha: float | None = None
) -> list[Finding]:
    """Adjust the p-values of a family of findings together and settle their verdicts.

    The family is every finding with a finite ``p`` (exact and untested
    findings keep ``q = nan``). ``"bh"``: Benjamini-Hochberg q-values
    (:func:`scipy.stats.false_discovery_control`, ``method="bh"``); ``"holm"``:
    Holm's step-down (:func:`torchperf.stats.holm`); ``"none"``: ``q = p``.
    A directional unadjusted verdict survives only when ``q <= alpha``
    (default each finding's ``1 - confidence_level``); otherwise it becomes
    "inconclusive" (``docs/statistics.md#rule-9``).

    Parameters
    ----------
    findings : iterable of Finding
        Unadjusted findings (their ``unadjusted_verdict`` is used, so adjusting
        twice is the same as adjusting once).
    correction : {"bh", "holm", "none"}
        The correction.
    alpha : float, optional
        Level the adjusted p-values are held to (e.g. the false-discovery rate
        of asv history comparisons); default ``1 - confidence_level``.

    Returns
    -------
    list of Finding
        New findings, in the input order, with ``q``, ``correction``,
        ``family_size`` and ``verdict`` set.

    """
    method = _correction(correction)
    if alpha is not None and not (isinstance(alpha, (int, float)) and 0 < alpha < 1):
        raise InvalidParameterError(f"`alpha` must be in (0, 1), e.g. 0.05; got {alpha!r}.")
    items = list(findings)
    for i, f in enumerate(items):
        if not isinstance(f, Finding):
            raise InvalidParameterError(f"findings[{i}] is a {type(f).__name__}, not a Finding.")
    family = [i for i, f in enumerate(items) if math.isfinite(f.p)]
    q: dict[int, float] = {}
    if family:
        p = np.asarray([items[i].p for i in family], dtype=float)
        if method == "benjamini-hochberg":
            from scipy.stats import false_discovery_control

            adj = false_discovery_control(p, method="bh")
        elif method == "holm":
            adj = stats.holm(p)
        else:
            adj = p
        q = {i: float(v) for i, v in zip(family, np.asarray(adj, dtype=float), strict=True)}
    m = len(family)
    out = []
    for i, f in enumerate(items):
        qi = q.get(i, math.nan)
        a_i = 1.0 - f.confidence_level if alpha is None else float(alpha)
        verdict = f.unadjusted_verdict
        if verdict in ("regression", "improvement") and f.test != "exact":
            if not (qi <= a_i):
                verdict = "inconclusive"
        level = lo = hi = math.nan
        if i in q and f.procedure is not None:
            level = 1.0 - _matching_gamma(method, a_i, m, sum(v <= a_i for v in q.values()))
            t = f.procedure(level)
            lo, hi = float(t.ci_low), float(t.ci_high)
        kw = dict(adjusted_level=level, adjusted_ci_low=lo, adjusted_ci_high=hi)
        out.append(replace(f, q=qi, correction=method, family_size=m, verdict=verdict, **kw))
    return out


def _matching_gamma(method: str, alpha: float, m: int, rejected: int) -> float:
    """Per-comparison level γ whose intervals agree with the adjusted decisions.

    Benjamini-Hochberg rejects exactly the p-values ``<= R α / m`` (R rejections), so
    intervals at ``1 - max(R, 1) α / m`` exclude 1 exactly for the discoveries; these are
    Benjamini and Yekutieli's (2005) false-coverage-rate adjusted intervals. Holm rejects
    the R smallest p-values, each below ``α / (m - R)``, and every other p-value exceeds
    it, so intervals at ``1 - α / (m - R)`` (``1 - α`` when all are rejected) agree with
    its decisions. ``"none"``: ``γ = α``.
    """
    if method == "benjamini-hochberg":
        return max(rejected, 1) * alpha / m
    if method == "holm":
        return alpha / (m - rejected) if rejected < m else alpha
    return alpha

# --------------------------------------------------------------------------- runs
# Comparisons over whole runs: every model against the baseline (the suite and its
# report) and two saved runs against each other (``torchperf compare A.json B.json``).

_RUN_CORRECTIONS = {
    "bh": "benjamini-hochberg",
    "benjamini-hochberg": "benjamini-hochberg",
    "fdr": "benjamini-hochberg",
    "holm": "holm",
}


def run_correction(correction: str) -> str:
    """The canonical name of a run-level correction: ``"benjamini-hochberg"`` or ``"holm"``.

    Accepts ``"bh"``, ``"fdr"``, ``"benjamini-hochberg"`` and ``"holm"`` (any case).

    Raises
    ------
    InvalidParameterError
        For anything else (``"none"`` is not offered for a whole run).

    """
    key = str(correction).lower()
    if key not in _RUN_CORRECTIONS:
        raise InvalidParameterError(
            f"`correction` must be 'bh' (Benjamini-Hochberg) or 'holm'; got {correction!r}."
        )
    return _RUN_CORRECTIONS[key]


def compare_to_baseline(
    results: Mapping[str, Mapping[str, BenchmarkResult]] | Run,
    baseline: str,
    *,
    correction: str = "bh",
    confidence_level: float = 0.95,
    threshold: float = stats.DEFAULT_NOISE_THRESHOLD,
    models: Sequence[str] | None = None,
    baselines: Mapping[str, str] | None = None,
) -> list[dict[str, Any]]:
    """Compare every model with ``baseline`` on every metric, adjusting p-values across all.

    Each pair is a :class:`torchperf.comparison.Finding` from
    :func:`torchperf.comparison.compare_results` (the test follows the data:
    paired McNemar for accuracy with per-example outcomes, exact for metrics
    without spread, per-process medians when measured in several processes,
    pooled samples with a caveat otherwise; ``docs/statistics.md#rule-8``), and
    the family is adjusted with :func:`torchperf.comparison.adjust`.

    Parameters
    ----------
    results : Mapping or Run
        ``{metric: {model: BenchmarkResult}}``, or a whole run (what
        :func:`~torchperf.load_run` returns: its results, in its model order).
    baseline : str
        Name of the reference model.
    correction : {"bh", "holm"}
        Multiple-comparison control across *all* comparisons of the run:
        Benjamini-Hochberg (false-discovery rate) or Holm (family-wise error).
    confidence_level : float
        Confidence level of the ratio CIs; ``1 - confidence_level`` is the
        significance level applied to the adjusted p-values.
    threshold : float
        Relative change below which a difference is not called a
        regression or an improvement (0.05 = 5 %).
    models : sequence of str, optional
        Display order of the models.
    baselines : Mapping, optional
        ``{model: its baseline}`` for families of models (the zoo's
        :data:`torchperf.zoo.FAMILIES`: each optimised variant against its own
        unoptimised twin). Models not in it are compared with ``baseline``; a model
        mapped to itself is a baseline and is not compared.

    Returns
    -------
    list of dict
        One ``Finding.as_dict(legacy=True)`` per (metric, model != its baseline):
        the finding's fields (``metric, baseline, candidate, before, after,
        ratio, ratio_ci_low, ratio_ci_high, p, q, test, verdict, caveat, ...``)
        and the 0.1 spellings ``model, baseline_center, candidate_center,
        ci_low, ci_high, p_value, p_adjusted, method, n_baseline,
        n_candidate, note``; ``direction`` is where the point estimate moved,
        ``verdict`` what the statistics support.

    """
    return [
        f.as_dict(legacy=True)
        for f in baseline_findings(
            results, baseline, correction=correction, confidence_level=confidence_level,
            threshold=threshold, models=models, baselines=baselines,
        )
    ]  # fmt: skip


def baseline_findings(
    results: Mapping[str, Mapping[str, BenchmarkResult]] | Run,
    baseline: str,
    *,
    correction: str = "bh",
    confidence_level: float = 0.95,
    threshold: float = stats.DEFAULT_NOISE_THRESHOLD,
    models: Sequence[str] | None = None,
    baselines: Mapping[str, str] | None = None,
) -> list[Finding]:
    """:func:`compare_to_baseline` as :class:`Finding` objects (adjusted together).

    Raises
    ------
    InvalidParameterError
        For a bad ``correction``, ``confidence_level`` or ``threshold``.

    """
    from torchperf.runfile import Run

    if isinstance(results, Run):  # load_run(p) composes
        models = list(results.models) if models is None else models
        results = results.results
    confidence_level = _check_level(confidence_level)
    if (
        isinstance(threshold, bool)
        or not isinstance(threshold, (int, float))
        or not (threshold >= 0 and math.isfinite(threshold))
    ):
        raise InvalidParameterError(f"`threshold` must be a finite number >= 0; got {threshold!r}.")
    method = run_correction(correction)
    findings = []
    own = dict(baselines or {})
    for metric, per_model in results.items():
        order = [m for m in (models or per_model) if m in per_model]
        order += [m for m in per_model if m not in order]
        for model in order:
            ref = own.get(model, baseline)
            if model == ref or ref not in per_model:
                continue
            base = per_model[ref]
            try:
                f = compare_results(
                    base, per_model[model], metric=metric, baseline_name=ref,
                    candidate_name=model, confidence_level=confidence_level, threshold=threshold,
                )  # fmt: skip
            except InvalidParameterError as exc:  # e.g. units differ in a hand-edited file
                f = _not_compared(metric, ref, model, base, confidence_level, threshold, exc)
            findings.append(f)
    return adjust(findings, method)


def _not_compared(
    metric: str,
    baseline: str,
    model: str,
    base: BenchmarkResult,
    confidence_level: float,
    threshold: float,
    exc: Exception,
) -> Finding:
    return decide(
        None, metric=metric, baseline=baseline, candidate=model, before=math.nan,
        after=math.nan, unit=base.unit, lower_is_better=base.lower_is_better,
        statistic="none", confidence_level=confidence_level, threshold=threshold,
        caveat=f"not compared: {exc}",
    )  # fmt: skip


def _env_label(env: Mapping[str, Any]) -> str:
    facts = dict(environment_facts(env))
    parts = [f"py{facts['Python']}" if "Python" in facts else "", f"numpy{facts['NumPy']}" if "NumPy" in facts else ""]
    return "-".join(p for p in parts if p) or "unknown"


def _result_environment(result: Any, run_env: Mapping[str, Any]) -> Mapping[str, Any]:
    """The environment a result was measured in: its own when it records one, else the run's."""
    meta = getattr(result, "metadata", None)
    own = meta.get("environment") if isinstance(meta, Mapping) else None
    return own if isinstance(own, Mapping) and own else run_env


def _machine_names(env: Mapping[str, Any]) -> list[str]:
    """Names a machine answers to: its hostname, and asv's machine name when asv ran it."""
    asv = env.get("asv") if isinstance(env.get("asv"), Mapping) else {}
    names = [env.get("hostname"), env.get("node"), asv.get("ASV_MACHINE")]
    return list(dict.fromkeys(str(n) for n in names if n))


def _env_names(env: Mapping[str, Any]) -> list[str]:
    """Names an environment answers to: ``py<ver>-numpy<ver>``, the interpreter, asv's env name."""
    asv = env.get("asv") if isinstance(env.get("asv"), Mapping) else {}
    py = env.get("python") if isinstance(env.get("python"), Mapping) else {}
    names = [_env_label(env), py.get("executable"), asv.get("ASV_ENV_NAME")]
    return list(dict.fromkeys(str(n) for n in names if n))


def _select_run(run: Any, machine: str | None, env: str | None, source: str) -> Any:
    """``run`` with only the results measured on ``machine`` in an environment matching ``env``.

    Raises
    ------
    InvalidParameterError
        For an invalid ``env`` pattern, or when no result matches (naming the machines and
        environments the run records).

    """
    import re

    if machine is None and env is None:
        return run
    if machine is not None and not isinstance(machine, str):
        raise InvalidParameterError(f"`machine` must be a machine name (str); got {machine!r}.")
    try:
        rx = None if env is None else re.compile(env)
    except (re.error, TypeError) as exc:
        raise InvalidParameterError(
            f"env={env!r} is not a valid regular expression ({exc}); escape special characters."
        ) from None
    kept: dict[str, dict[str, Any]] = {}
    machines: dict[str, None] = {}
    envs: dict[str, None] = {}
    for metric, per in run.results.items():
        for model, result in per.items():
            e = _result_environment(result, run.environment)
            m_names, e_names = _machine_names(e), _env_names(e)
            machines.update(dict.fromkeys(m_names[:1] or ["unknown"]))
            envs.update(dict.fromkeys(e_names[:1]))
            if machine is not None and machine not in m_names:
                continue
            if rx is not None and not any(rx.search(n) for n in e_names):
                continue
            kept.setdefault(metric, {})[model] = result
    if not kept:
        wanted = " and ".join(
            f"{k}={v!r}" for k, v in (("machine", machine), ("env", env)) if v is not None
        )
        raise InvalidParameterError(
            f"{source} has no result with {wanted}: its results were measured on machine "
            f"{', '.join(map(repr, machines))} in environment {', '.join(map(repr, envs))}; "
            "choose a machine and an environment that both runs record."
        )
    return run.replace(results=kept)


def compare_runs(
    a: Mapping[str, Any] | str | Path,
    b: Mapping[str, Any] | str | Path,
    *,
    correction: str = "bh",
    confidence_level: float = 0.95,
    threshold: float = stats.DEFAULT_NOISE_THRESHOLD,
    machine: str | None = None,
    env: str | None = None,
) -> list[dict[str, Any]]:
    """Compare two saved runs, model by model and metric by metric.

    Each (metric, model) present in both runs is compared with
    :func:`torchperf.comparison.compare_results` (``a`` is the baseline, ``b``
    the candidate; direction from the metric's ``lower_is_better``), and
    the p-values of all pairs are adjusted together by
    :func:`torchperf.comparison.adjust` (Benjamini-Hochberg by default, or Holm).

    Parameters
    ----------
    a, b : Mapping or path
        Runs (dicts or ``results.json`` paths): before and after.
    correction : {"bh", "holm"}
        Multiple-comparison method.
    confidence_level : float
        Level of the ratio CIs; ``1 - confidence_level`` is the significance level.
    threshold : float
        Relative change below which no regression / improvement is called.
    machine : str, optional
        Compare only results measured on this machine: its hostname (or asv's machine
        name, ``ASV_MACHINE``, when asv ran it), as recorded in the run's environment or
        in a result's own ``metadata["environment"]``.
    env : str, optional
        Compare only results whose environment matches this regular expression
        (:func:`re.search`) in its name ``py<version>-numpy<version>``, its Python
        executable (a virtualenv's path) or asv's environment name.

    Returns
    -------
    list of dict
        One ``Finding.as_dict(legacy=True)`` per pair, with the CLI-contract fields ``benchmark``
        (``"<metric>:<model>"``), ``params`` (``None``), ``machine``, ``env``,
        ``commit_before``, ``commit_after``, ``ratio``, ``ci_low``,
        ``ci_high``, ``p_value``, ``direction`` (``"regression"`` /
        ``"improvement"`` / ``"unchanged"``: where the point estimate moved)
        and ``metric_direction``, plus ``metric``, ``model``, ``p_adjusted``,
        ``correction``, ``verdict`` (what the statistics support:
        ``"regression"``, ``"improvement"``, ``"equivalent"`` or
        ``"inconclusive"``), ``significant`` and the rest of
        :func:`compare_to_baseline`'s fields. A significant
        regression is an entry with ``verdict == "regression"``.

    """
    return [
        f.as_dict(legacy=True)
        for f in run_findings(
            a, b, correction=correction, confidence_level=confidence_level, threshold=threshold,
            machine=machine, env=env,
        )
    ]


def run_findings(
    a: Mapping[str, Any] | str | Path,
    b: Mapping[str, Any] | str | Path,
    *,
    correction: str = "bh",
    confidence_level: float = 0.95,
    threshold: float = stats.DEFAULT_NOISE_THRESHOLD,
    machine: str | None = None,
    env: str | None = None,
) -> list[Finding]:
    """:func:`compare_runs` as :class:`Finding` objects (adjusted together).

    Raises
    ------
    InvalidParameterError
        For a bad ``correction``, ``confidence_level`` or ``env`` pattern, or when
        ``machine`` / ``env`` select no result of a run.
    ResultsFileError
        If a run file cannot be read.

    """
    from torchperf.runfile import Run

    ra, rb = (Run.load(x) if isinstance(x, (str, Path)) else Run.from_dict(x) for x in (a, b))
    ra = _select_run(ra, machine, env, str(a) if isinstance(a, (str, Path)) else "run a")
    rb = _select_run(rb, machine, env, str(b) if isinstance(b, (str, Path)) else "run b")
    confidence_level = _check_level(confidence_level)
    if str(correction).lower() not in ("bh", "holm", "benjamini-hochberg", "fdr"):
        raise InvalidParameterError(
            f"`correction` must be 'bh' (Benjamini-Hochberg) or 'holm'; got {correction!r}."
        )
    env_a, env_b = ra.environment, rb.environment
    facts_a, facts_b = dict(environment_facts(env_a)), dict(environment_facts(env_b))
    findings = []
    for metric, per_a in ra.results.items():
        per_b = rb.results.get(metric, {})
        order = [m for m in ra.models if m in per_a and m in per_b] + [
            m for m in per_a if m in per_b and m not in ra.models
        ]
        for model in order:
            own_a = _result_environment(per_a[model], env_a)
            own_b = _result_environment(per_b[model], env_b)
            machine_b = dict(environment_facts(own_b)).get("machine")
            context = {
                "benchmark": f"{metric}:{model}",
                "params": None,
                "machine": machine_b or dict(environment_facts(own_a)).get("machine"),
                "env": _env_label(own_b),
                "env_before": _env_label(own_a),
                "commit_before": facts_a.get("git commit"),
                "commit_after": facts_b.get("git commit"),
            }
            findings.append(
                compare_results(
                    per_a[model], per_b[model], metric=metric, baseline_name=model,
                    candidate_name=model, confidence_level=confidence_level,
                    threshold=threshold, context=context,
                )
            )
    return adjust(findings, correction)
