"""Pareto frontiers over any number of objectives, with and without uncertainty.

Definitions (see ``docs/pareto.md`` for the worked examples):

* **Direction.** Each objective is minimised (``"min"``: latency, memory,
  size) or maximised (``"max"``: accuracy, throughput). Directions come from,
  in order of precedence: the ``directions`` argument, the results'
  ``lower_is_better`` flag, and the metric name (:data:`DEFAULT_DIRECTIONS`).
* **Strict (point) dominance.** ``A`` dominates ``B`` when ``A`` is at least
  as good as ``B`` on every objective and strictly better on at least one.
  Identical points do not dominate each other. The **frontier** is the set of
  models no other model dominates.
* **Dominance with confidence.** ``A`` dominates ``B`` *with confidence* when
  ``A`` dominates ``B`` on the point estimates **and**, on at least one
  objective, ``A`` is better by a statistically significant margin: the
  confidence interval of the difference ``A - B`` excludes 0 in ``A``'s
  favour (``method="welch"``), the two confidence intervals do not overlap
  (``method="overlap"``), or the CI of the ratio from
  :func:`torchperf.stats.compare_samples` excludes 1 (``method="compare"``).
  By construction it is never stronger than point dominance.
* **Statistically tied.** ``B`` is tied with ``A`` when ``A`` dominates
  ``B`` on the point estimates (or has identical estimates) but not with
  confidence: the data cannot tell them apart on any objective, so ``B``'s
  exclusion from the frontier could be noise.
* **Pareto rank** (non-dominated sorting): rank 1 is the frontier; rank
  ``k`` is the frontier of what remains after removing ranks ``1 .. k-1``.

Point estimates without uncertainty (plain numbers, or results with a
single value such as a model size) are compared exactly. The default point is
the **median** (robust to the long right tail of latencies); an accuracy
measured once on ``n_examples`` examples carries a Wilson interval.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np

from torchperf.errors import InvalidParameterError, SmallSampleWarning
from torchperf.metrics import METRICS, Direction, lookup_metric

__all__ = [
    "DEFAULT_DIRECTIONS",
    "Estimate",
    "ParetoResult",
    "dominates",
    "estimate",
    "pareto_front",
    "significantly_better",
]

#: Direction of the metric names torchperf produces ("min" = lower is better), read from
#: :data:`torchperf.metrics.METRICS`.
DEFAULT_DIRECTIONS: Mapping[str, str] = MappingProxyType({m.name: m.direction.sense for m in METRICS.values()})

_STATISTICS = ("mean", "median")
_METHODS = ("auto", "welch", "overlap", "compare")


# --------------------------------------------------------------------------- estimates


@dataclass(frozen=True)
class Estimate:
    """A point estimate of one metric for one model, with its uncertainty.

    Attributes
    ----------
    value : float
        The point estimate (mean or median).
    ci_low, ci_high : float
        Confidence interval of ``value``; equal to ``value`` when there is no
        uncertainty (a plain number or a single measurement).
    std : float
        Sample standard deviation of the underlying values (0 when unknown).
    count : int
        Number of underlying values (1 for a plain number).
    values : tuple of float
        The underlying values (``(value,)`` for a plain number).
    lower_is_better : bool or None
        Direction recorded by the result, ``None`` for a plain number.
    unit : str
        Unit recorded by the result (``""`` for a plain number).
    binomial : bool
        True for a proportion measured once on ``count`` examples (an
        accuracy whose result metadata holds ``n_examples`` and
        ``n_correct``): ``std`` is then the per-example Bernoulli standard
        deviation and the interval is Wilson's.
    coverage : float or None
        Coverage the interval really has when it is below the requested
        level (the distribution-free median interval of n < 6 values reaches
        only 75 % for n = 3); ``None`` when it has the requested level.

    """

    value: float
    ci_low: float
    ci_high: float
    std: float = 0.0
    count: int = 1
    values: tuple[float, ...] = ()
    lower_is_better: bool | None = None
    unit: str = ""
    binomial: bool = False
    coverage: float | None = None

    @property
    def exact(self) -> bool:
        """Whether the estimate carries no uncertainty (zero-width interval)."""
        return not self.binomial and self.ci_low == self.ci_high and (self.count < 2 or self.std == 0.0)


def _is_result(obj: Any) -> bool:
    return all(hasattr(obj, a) for a in ("values", "mean", "median", "count"))


def _check_statistic(statistic: str) -> None:
    if statistic not in _STATISTICS:
        raise InvalidParameterError(
            f"`statistic` must be one of {_STATISTICS}; got {statistic!r}."
        )


def _binomial_estimate(
    obj: Any, confidence_level: float, lib: bool | None, unit: str
) -> Estimate | None:
    """Wilson estimate for a single-valued proportion with ``n_examples``/``n_correct`` metadata."""
    md = getattr(obj, "metadata", None) or {}
    if int(obj.count) != 1 or not isinstance(md, Mapping):
        return None
    n, k = md.get("n_examples"), md.get("n_correct")
    if not (isinstance(n, int) and isinstance(k, int)) or isinstance(n, bool) or not 0 <= k <= n or n < 1:
        return None
    p = k / n
    if not math.isclose(p, float(obj.values[0]), rel_tol=1e-9, abs_tol=1e-12):
        return None
    from torchperf.stats import wilson_ci

    lo, hi = wilson_ci(k, n, confidence_level=confidence_level)
    return Estimate(p, lo, hi, math.sqrt(p * (1 - p)), n, (p,), lib, unit, True)


def estimate(obj: Any, *, statistic: str = "median", confidence_level: float = 0.95) -> Estimate:
    """Turn a number or a :class:`~torchperf.result.BenchmarkResult` into an :class:`Estimate`.

    Parameters
    ----------
    obj : float or BenchmarkResult or Estimate
        A plain number (no uncertainty), a result (anything with ``values``,
        ``mean``, ``median``, ``count``), or an existing estimate (returned
        unchanged).
    statistic : {"mean", "median"}
        Which centre to use. ``"mean"`` uses the result's Student-t interval
        (``confidence_interval(confidence_level)``); ``"median"`` uses the
        distribution-free order-statistic interval
        (:func:`torchperf.stats.median_ci`). A proportion measured once
        whose metadata holds ``n_examples`` and ``n_correct`` (torchperf's
        accuracy results) gets a Wilson interval and binomial standard
        error instead, whatever the statistic.
    confidence_level : float
        Level of the interval, in (0, 1).

    Returns
    -------
    Estimate

    Raises
    ------
    InvalidParameterError
        If ``obj`` is neither a finite number nor a result, or a parameter is invalid.

    """
    from torchperf.stats import _check_confidence_level

    _check_statistic(statistic)
    _check_confidence_level(confidence_level)
    if isinstance(obj, Estimate):
        return obj
    if _is_result(obj):
        values = tuple(float(v) for v in obj.values)
        count = int(obj.count)
        std = float(getattr(obj, "std", 0.0) or 0.0)
        lib = getattr(obj, "lower_is_better", None)
        unit = str(getattr(obj, "unit", "") or "")
        binom = _binomial_estimate(obj, confidence_level, lib, unit)
        if binom is not None:
            return binom
        coverage: float | None = None
        if statistic == "mean":
            center = float(obj.mean)
            if count < 2:
                lo = hi = center
            elif hasattr(obj, "confidence_interval"):
                lo, hi = (float(v) for v in obj.confidence_interval(confidence_level))
            else:
                lo, hi = float(obj.ci_lower), float(obj.ci_upper)
        else:
            center = float(obj.median)
            if count < 2:
                lo = hi = center
            else:
                from torchperf import stats

                # The achieved coverage is carried in the estimate (and shown by the
                # plots), so the per-call SmallSampleWarning would only be noise.
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", SmallSampleWarning)
                    lo, hi = (
                        float(v)
                        for v in stats.median_ci(values, confidence_level=confidence_level)
                    )
                if lo != hi:
                    achieved = stats.quantile_ci_coverage(
                        count, 0.5, confidence_level=confidence_level
                    )
                    if achieved < confidence_level - 1e-12:
                        coverage = achieved
        # An interval must contain its point estimate; rounding (or a saved file) can
        # put a bound a few ulps on the wrong side.
        lo, hi = min(lo, center), max(hi, center)
        return Estimate(center, lo, hi, std, count, values, lib, unit, coverage=coverage)
    if isinstance(obj, (bool, np.bool_)) or not isinstance(obj, (int, float, np.number)):
        raise InvalidParameterError(
            "an objective value must be a finite number or a BenchmarkResult; "
            f"got {type(obj).__name__} {obj!r}."
        )
    value = float(obj)
    if not math.isfinite(value):
        raise InvalidParameterError(
            f"objective values must be finite; got {value!r}. Remove or re-measure that model."
        )
    return Estimate(value, value, value, 0.0, 1, (value,))


# --------------------------------------------------------------------------- comparisons


def _welch_difference_ci(a: Estimate, b: Estimate, confidence_level: float) -> tuple[float, float]:
    """Welch CI of ``mean(a) - mean(b)`` (:func:`torchperf.stats.welch_difference_ci`)."""
    from torchperf.stats import welch_difference_ci

    return welch_difference_ci(
        a.value, a.std, a.count, b.value, b.std, b.count, confidence_level=confidence_level
    )


def significantly_better(
    a: Any,
    b: Any,
    *,
    lower_is_better: bool,
    confidence_level: float = 0.95,
    statistic: str = "median",
    method: str = "auto",
) -> bool:
    """Whether ``a`` is better than ``b`` on one metric beyond statistical doubt.

    Parameters
    ----------
    a, b : float or BenchmarkResult or Estimate
        The two measurements of the same metric.
    lower_is_better : bool
        Direction of the metric.
    confidence_level : float
        Confidence level of the intervals used, in (0, 1).
    statistic : {"mean", "median"}
        Centre compared.
    method : {"auto", "welch", "overlap", "compare"}
        ``"welch"``: the Welch confidence interval of the difference of means
        (computed from each side's mean, standard deviation and count)
        excludes 0 in ``a``'s favour; for ``statistic="mean"`` and for
        binomial proportions (two-proportion z interval).
        ``"overlap"``: ``a``'s interval lies entirely on the good side of
        ``b``'s (conservative: two non-overlapping 95 % intervals mean
        p < 0.01 roughly). ``"compare"``: the CI of the ratio from
        :func:`torchperf.stats.compare_samples` (delta method on the log
        scale for the mean, percentile bootstrap with ``rng=0`` for the
        median) excludes 1; when a side has fewer than 2 raw values or
        non-positive values it falls back to ``"welch"`` (mean or binomial)
        or ``"overlap"`` (median). ``"auto"`` is ``"welch"`` for the mean
        and ``"compare"`` for the median. When both sides are exact (no
        uncertainty) the point values are compared directly, whatever the
        method.

    Returns
    -------
    bool

    """
    if method not in _METHODS:
        raise InvalidParameterError(f"`method` must be one of {_METHODS}; got {method!r}.")
    ea = estimate(a, statistic=statistic, confidence_level=confidence_level)
    eb = estimate(b, statistic=statistic, confidence_level=confidence_level)
    sign = 1.0 if lower_is_better else -1.0
    if ea.exact and eb.exact:
        return sign * (ea.value - eb.value) < 0.0
    if method == "auto":
        method = "welch" if statistic == "mean" else "compare"
    binomial = ea.binomial or eb.binomial
    if method == "welch" and statistic != "mean" and not binomial:
        raise InvalidParameterError(
            "`method='welch'` compares means; use statistic='mean' or method='overlap'/'compare'."
        )
    if method == "compare":
        usable = (
            len(ea.values) >= 2
            and len(eb.values) >= 2
            and min(ea.values) > 0
            and min(eb.values) > 0
            and not (ea.std == 0.0 and eb.std == 0.0)
        )
        if usable:
            from torchperf import stats

            cmp = stats.compare_samples(
                eb.values,
                ea.values,
                confidence_level=confidence_level,
                statistic=statistic,
                lower_is_better=lower_is_better,
                # Only the interval decides here: the bootstrap of the ratio of medians (or
                # the delta method for means), seeded for deterministic verdicts.
                ci_method="bootstrap-percentile" if statistic == "median" else "delta",
                rng=0,
            )
            # ratio = a / b of the statistic
            return cmp.ci_high < 1.0 if lower_is_better else cmp.ci_low > 1.0
        method = "welch" if statistic == "mean" or binomial else "overlap"
    if method == "welch":
        lo, hi = _welch_difference_ci(ea, eb, confidence_level)
        return hi < 0.0 if lower_is_better else lo > 0.0
    # overlap
    return ea.ci_high < eb.ci_low if lower_is_better else ea.ci_low > eb.ci_high


def dominates(a: Sequence[float], b: Sequence[float], directions: Sequence[str]) -> bool:
    """Strict Pareto dominance of point ``a`` over point ``b``.

    Parameters
    ----------
    a, b : sequence of float
        Objective values, in the order of ``directions``.
    directions : sequence of {"min", "max"}
        Direction of each objective.

    Returns
    -------
    bool
        True when ``a`` is at least as good as ``b`` on every objective and
        strictly better on at least one.

    """
    dirs = [_normalise_direction(d, f"objective {i}") for i, d in enumerate(directions)]
    if not (len(a) == len(b) == len(dirs)):
        raise InvalidParameterError(
            f"`a`, `b` and `directions` must have the same length; got {len(a)}, {len(b)}, "
            f"{len(dirs)}."
        )
    signs = np.array([1.0 if d == "min" else -1.0 for d in dirs])
    sa = signs * np.asarray(a, dtype=float)
    sb = signs * np.asarray(b, dtype=float)
    return bool(np.all(sa <= sb) and np.any(sa < sb))


# --------------------------------------------------------------------------- input handling


def _normalise_direction(d: Any, where: str) -> str:
    return Direction.parse(d, where=f"direction for {where}").sense


def _default_direction(objective: str) -> str | None:
    metric = lookup_metric(objective)
    return metric.direction.sense if metric is not None else None


def _resolve_directions(
    objectives: Sequence[str],
    directions: Sequence[str] | Mapping[str, str] | None,
    table: Mapping[str, Sequence[Estimate]],
) -> tuple[str, ...]:
    if directions is not None and not isinstance(directions, Mapping):
        if isinstance(directions, str):
            directions = [directions] * len(objectives)
        directions = list(directions)
        if len(directions) != len(objectives):
            raise InvalidParameterError(
                f"`directions` must give one direction per objective ({len(objectives)}: "
                f"{list(objectives)}); got {len(directions)}."
            )
        return tuple(_normalise_direction(d, repr(o)) for d, o in zip(directions, objectives, strict=True))
    override = dict(directions or {})
    unknown = set(override) - set(objectives)
    if unknown:
        raise InvalidParameterError(
            f"`directions` names objectives that are not compared: {sorted(unknown)}; "
            f"objectives are {list(objectives)}."
        )
    out = []
    for j, obj in enumerate(objectives):
        if obj in override:
            out.append(_normalise_direction(override[obj], repr(obj)))
            continue
        flags = {e[j].lower_is_better for e in table.values()} - {None}
        if len(flags) > 1:
            raise InvalidParameterError(
                f"results for objective {obj!r} disagree on `lower_is_better`; pass "
                f"directions={{{obj!r}: 'min' or 'max'}}."
            )
        if flags:
            out.append(Direction.from_flag(flags.pop()).sense)
            continue
        d = _default_direction(obj)
        if d is None:
            raise InvalidParameterError(
                f"direction of objective {obj!r} is unknown; pass directions={{{obj!r}: 'min'}} "
                f"or 'max' (known metric names: {sorted(DEFAULT_DIRECTIONS)})."
            )
        out.append(d)
    return tuple(out)


def _parse_points(
    points: Any,
    objectives: Sequence[str] | None,
    names: Sequence[str] | None,
    statistic: str,
    confidence_level: float,
) -> tuple[tuple[str, ...], dict[str, list[Estimate]], dict[str, str]]:
    """Return objectives, {model: [Estimate per objective]}, {excluded model: reason}."""
    excluded: dict[str, str] = {}

    def est(v: Any) -> Estimate:
        return estimate(v, statistic=statistic, confidence_level=confidence_level)

    if isinstance(points, Mapping) and points and all(
        isinstance(v, Mapping) for v in points.values()
    ):
        # results container {metric: {model: result}}
        objs = tuple(objectives) if objectives is not None else tuple(str(m) for m in points)
        missing = [o for o in objs if o not in points]
        if missing:
            raise InvalidParameterError(
                f"metrics {missing} are not in the results; available: {list(points)}."
            )
        models: list[str] = []
        for o in objs:
            for m in points[o]:
                if m not in models:
                    models.append(str(m))
        table: dict[str, list[Estimate]] = {}
        for m in models:
            lacking = [o for o in objs if m not in points[o]]
            if lacking:
                excluded[m] = f"no result for {', '.join(lacking)}"
                continue
            table[m] = [est(points[o][m]) for o in objs]
        return objs, table, excluded

    if isinstance(points, Mapping):
        if names is not None:
            raise InvalidParameterError("`names` is only used with array input; the dict keys name the models.")
        rows = {str(k): v for k, v in points.items()}
    else:
        try:
            arr = np.asarray(points, dtype=float)
        except (TypeError, ValueError):
            raise InvalidParameterError(
                "`points` must be a dict {model: values}, a results container "
                "{metric: {model: BenchmarkResult}} or a 2-D array (models x objectives); "
                f"got {type(points).__name__}."
            ) from None
        if arr.ndim != 2:
            raise InvalidParameterError(
                f"array `points` must be 2-D (models x objectives); got shape {arr.shape}."
            )
        if names is None:
            names = [str(i) for i in range(arr.shape[0])]
        names = [str(n) for n in names]
        if len(names) != arr.shape[0]:
            raise InvalidParameterError(
                f"`names` has {len(names)} entries for {arr.shape[0]} rows of `points`."
            )
        if len(set(names)) != len(names):
            raise InvalidParameterError("`names` must be unique.")
        rows = {n: list(r) for n, r in zip(names, arr, strict=True)}
    table = {}
    width: int | None = None
    for name, row in rows.items():
        if isinstance(row, (str, bytes)) or not isinstance(row, Sequence | np.ndarray):
            row = [row]
        row = list(row)
        if width is None:
            width = len(row)
        if len(row) != width:
            raise InvalidParameterError(
                f"every model needs the same number of objectives; {name!r} has {len(row)}, "
                f"expected {width}."
            )
        table[name] = [est(v) for v in row]
    width = width or 0
    if objectives is None:
        objs = tuple(f"objective_{j}" for j in range(width))
    else:
        objs = tuple(str(o) for o in objectives)
        if len(objs) != width:
            raise InvalidParameterError(
                f"`objectives` names {len(objs)} objectives but each point has {width} values."
            )
    return objs, table, excluded


# --------------------------------------------------------------------------- result


@dataclass(frozen=True)
class ParetoResult:
    """The Pareto analysis of a set of models.

    Attributes
    ----------
    names : tuple of str
        Every model analysed, in input order.
    objectives : tuple of str
        The objectives, in order.
    directions : tuple of {"min", "max"}
        Direction of each objective.
    estimates : dict
        ``{model: tuple of Estimate}`` (one per objective).
    members : tuple of str
        The frontier (models no other model dominates on the point
        estimates), in input order.
    dominated_by : dict
        ``{model: tuple of models that dominate it}``; empty for members.
    ranks : dict
        ``{model: Pareto rank}`` by non-dominated sorting (1 = frontier).
    confidently_dominated_by : dict
        ``{model: tuple of models that dominate it with confidence}``.
    ties : dict
        ``{model: tuple of models it is statistically tied with}``: models
        that dominate it (or equal it) on the point estimates but not with
        confidence.
    confident_ranks : dict
        Non-dominated sorting under dominance with confidence (never larger
        than ``ranks``).
    confidence_level, statistic, method
        How the uncertainty was judged.
    excluded : dict
        ``{model: reason}`` for models left out (a metric missing).

    """

    names: tuple[str, ...]
    objectives: tuple[str, ...]
    directions: tuple[str, ...]
    estimates: Mapping[str, tuple[Estimate, ...]]
    members: tuple[str, ...]
    dominated_by: Mapping[str, tuple[str, ...]]
    ranks: Mapping[str, int]
    confidently_dominated_by: Mapping[str, tuple[str, ...]]
    ties: Mapping[str, tuple[str, ...]]
    confident_ranks: Mapping[str, int]
    confidence_level: float = 0.95
    statistic: str = "median"
    method: str = "auto"
    excluded: Mapping[str, str] = field(default_factory=dict)

    @property
    def values(self) -> dict[str, tuple[float, ...]]:
        """``{model: tuple of point estimates}``."""
        return {m: tuple(e.value for e in es) for m, es in self.estimates.items()}

    @property
    def confident_members(self) -> tuple[str, ...]:
        """Models that no model dominates with confidence (frontier plus tied models)."""
        return tuple(m for m in self.names if not self.confidently_dominated_by[m])

    def status(self, name: str) -> str:
        """Return ``"frontier"``, ``"tied"`` (dominated, but not with confidence) or ``"dominated"``."""
        if name not in self.ranks:
            raise InvalidParameterError(f"unknown model {name!r}; models are {list(self.names)}.")
        if not self.dominated_by[name]:
            return "frontier"
        if not self.confidently_dominated_by[name]:
            return "tied"
        return "dominated"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary (point values and intervals, memberships, ranks, ties)."""
        return {
            "objectives": list(self.objectives),
            "directions": list(self.directions),
            "statistic": self.statistic,
            "method": self.method,
            "confidence_level": self.confidence_level,
            "models": {
                m: {
                    "values": [e.value for e in self.estimates[m]],
                    "ci": [[e.ci_low, e.ci_high] for e in self.estimates[m]],
                    "status": self.status(m),
                    "rank": self.ranks[m],
                    "confident_rank": self.confident_ranks[m],
                    "dominated_by": list(self.dominated_by[m]),
                    "confidently_dominated_by": list(self.confidently_dominated_by[m]),
                    "tied_with": list(self.ties[m]),
                }
                for m in self.names
            },
            "members": list(self.members),
            "excluded": dict(self.excluded),
        }

    def __str__(self) -> str:
        head = ", ".join(f"{o} ({d})" for o, d in zip(self.objectives, self.directions, strict=True))
        lines = [f"Pareto analysis over {head}"]
        for m in self.names:
            vals = ", ".join(f"{e.value:.6g}" for e in self.estimates[m])
            s = self.status(m)
            extra = ""
            if s == "tied":
                extra = f" (tied with {', '.join(self.ties[m])})"
            elif s == "dominated":
                extra = f" (by {', '.join(self.confidently_dominated_by[m])})"
            lines.append(f"  {m}: ({vals}) rank {self.ranks[m]} {s}{extra}")
        return "\n".join(lines)


def _nondominated_sort(dom: np.ndarray) -> np.ndarray:
    """Ranks (1-based) from a boolean matrix ``dom[i, j]`` = i dominates j (acyclic)."""
    n = dom.shape[0]
    ranks = np.zeros(n, dtype=int)
    remaining = np.ones(n, dtype=bool)
    rank = 0
    while remaining.any():
        rank += 1
        dominated = dom[remaining][:, :].any(axis=0) & remaining
        front = remaining & ~dominated
        if not front.any():  # pragma: no cover - impossible for an acyclic relation
            raise RuntimeError("dominance relation has a cycle")
        ranks[front] = rank
        remaining &= ~front
    return ranks


def pareto_front(
    points: Any,
    directions: Sequence[str] | Mapping[str, str] | None = None,
    *,
    objectives: Sequence[str] | None = None,
    names: Sequence[str] | None = None,
    statistic: str = "median",
    confidence_level: float = 0.95,
    method: str = "auto",
) -> ParetoResult:
    """Find the Pareto frontier, Pareto ranks and statistical ties of a set of models.

    Parameters
    ----------
    points : dict, results container or array
        One of

        * ``{model: (v1, v2, ...)}`` where each ``v`` is a number or a
          :class:`~torchperf.result.BenchmarkResult`;
        * a results container ``{metric: {model: BenchmarkResult}}`` (every
          metric is an objective unless ``objectives`` selects some; models
          missing a selected metric are listed in ``excluded``);
        * a 2-D array, models x objectives (``names`` names the rows).
    directions : sequence or dict, optional
        ``"min"`` / ``"max"`` per objective (a sequence in objective order,
        or ``{objective: direction}`` overriding the defaults). Defaults: the
        results' ``lower_is_better``, then :data:`DEFAULT_DIRECTIONS` by
        metric name. An objective whose direction cannot be inferred is an
        error.
    objectives : sequence of str, optional
        Objective names (for dict/array input, one per column; for a results
        container, the metrics to use).
    names : sequence of str, optional
        Model names for array input (default ``"0"``, ``"1"``, ...).
    statistic : {"mean", "median"}
        Centre of each result used as its point.
    confidence_level : float
        Level of the intervals that decide dominance with confidence.
    method : {"auto", "welch", "overlap", "compare"}
        How a significant difference on one objective is judged; see
        :func:`significantly_better`.

    Returns
    -------
    ParetoResult

    Raises
    ------
    InvalidParameterError
        On empty input, non-finite values, ragged rows or unknown directions.

    Examples
    --------
    >>> r = pareto_front({"A": (10, 0.90), "B": (15, 0.95), "C": (12, 0.91)},
    ...                  objectives=("latency", "accuracy"))
    >>> r.members
    ('A', 'B', 'C')

    """
    from torchperf.stats import _check_confidence_level

    _check_statistic(statistic)
    _check_confidence_level(confidence_level)
    if method not in _METHODS:
        raise InvalidParameterError(f"`method` must be one of {_METHODS}; got {method!r}.")
    if isinstance(objectives, str):
        objectives = (objectives,)
    objs, table, excluded = _parse_points(points, objectives, names, statistic, confidence_level)
    if not table:
        raise InvalidParameterError(
            "`points` holds no model with a value for every objective; nothing to compare"
            + (f" (excluded: {excluded})." if excluded else ".")
        )
    if not objs:
        raise InvalidParameterError("at least one objective is needed; got points with 0 values.")
    dirs = _resolve_directions(objs, directions, table)
    model_names = tuple(table)
    n, k = len(model_names), len(objs)
    signs = np.array([1.0 if d == "min" else -1.0 for d in dirs])
    vals = np.array([[e.value for e in table[m]] for m in model_names]) * signs  # minimise all

    le = np.all(vals[:, None, :] <= vals[None, :, :], axis=2)
    lt = np.any(vals[:, None, :] < vals[None, :, :], axis=2)
    dom = le & lt  # dom[i, j]: i dominates j
    equal = np.all(vals[:, None, :] == vals[None, :, :], axis=2) & ~np.eye(n, dtype=bool)

    conf = np.zeros_like(dom)
    for i, j in zip(*np.nonzero(dom), strict=True):
        a, b = table[model_names[i]], table[model_names[j]]
        conf[i, j] = any(
            vals[i, o] < vals[j, o]
            and significantly_better(
                a[o],
                b[o],
                lower_is_better=dirs[o] == "min",
                confidence_level=confidence_level,
                statistic=statistic,
                method=method,
            )
            for o in range(k)
        )

    ranks = _nondominated_sort(dom)
    conf_ranks = _nondominated_sort(conf)
    dominated_by = {m: tuple(model_names[i] for i in np.nonzero(dom[:, j])[0]) for j, m in enumerate(model_names)}
    conf_by = {m: tuple(model_names[i] for i in np.nonzero(conf[:, j])[0]) for j, m in enumerate(model_names)}
    tie_mat = (dom | equal) & ~conf
    ties = {m: tuple(model_names[i] for i in np.nonzero(tie_mat[:, j])[0]) for j, m in enumerate(model_names)}
    return ParetoResult(
        names=model_names,
        objectives=objs,
        directions=dirs,
        estimates={m: tuple(table[m]) for m in model_names},
        members=tuple(m for m in model_names if not dominated_by[m]),
        dominated_by=dominated_by,
        ranks={m: int(r) for m, r in zip(model_names, ranks, strict=True)},
        confidently_dominated_by=conf_by,
        ties=ties,
        confident_ranks={m: int(r) for m, r in zip(model_names, conf_ranks, strict=True)},
        confidence_level=float(confidence_level),
        statistic=statistic,
        method=method,
        excluded=excluded,
    )
