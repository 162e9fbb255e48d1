"""Statistics containers: :class:`BenchmarkResult` and :class:`Comparison`.

A :class:`BenchmarkResult` holds the raw values of one metric for one model
and every statistic derived from them. It keeps the course module's API
(``metric_name, values, metadata, mean, std, median, min_val, max_val, count,
ci_lower, ci_upper``, ``to_dict()``, ``str(r) == "metric: mean ± std (n=count)"``)
with one deliberate change: ``ci_lower`` / ``ci_upper`` are a Student-t
interval, not ``mean ± 1.96·std/√n``, because the fixed 1.96 undercovers for
small n (see ``docs/statistics.md``).

Results are immutable, compare equal by their inputs, and round-trip through
JSON: ``BenchmarkResult.from_dict(json.loads(json.dumps(r.to_dict()))) == r``.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import numpy as np

from torchperf import stats
from torchperf.errors import InvalidParameterError, ResultsFileError, SmallSampleWarning
from torchperf.fileio import to_jsonable

if TYPE_CHECKING:  # pragma: no cover
    import pandas

__all__ = ["BenchmarkResult", "Comparison", "compare_result_samples", "format_quantity"]

#: Version of the dict layout written by :meth:`BenchmarkResult.to_dict`.
SCHEMA_VERSION = 1
_SCHEMA = "torchperf.BenchmarkResult"


def compare_result_samples(
    baseline: BenchmarkResult, candidate: BenchmarkResult, **compare_kw: Any
) -> stats.SampleComparison:
    """Compare two results' samples, with the process as the unit of replication when known.

    When both results record several worker processes
    (:meth:`BenchmarkResult.replicate_groups`), their per-process medians are compared
    (:func:`torchperf.stats.compare_replicates`, docs/statistics.md#rule-1); otherwise the samples
    themselves (:func:`torchperf.stats.compare_samples`).

    Parameters
    ----------
    baseline, candidate : BenchmarkResult
        The two results.
    **compare_kw
        Passed on (``confidence_level``, ``lower_is_better``, ``threshold``, ``rng``, ...).

    Returns
    -------
    torchperf.stats.SampleComparison
        ``method`` starts with ``"replicate-median/"`` (and ``n_baseline`` /
        ``n_candidate`` count processes) when per-process medians were compared.

    """
    groups_b, groups_c = baseline.replicate_groups(), candidate.replicate_groups()
    if groups_b is not None and groups_c is not None:
        return stats.compare_replicates(groups_b, groups_c, **compare_kw)
    return stats.compare_samples(baseline.values, candidate.values, **compare_kw)


# --------------------------------------------------------------------------- formatting

_TIME_UNITS = ((1.0, "s"), (1e-3, "ms"), (1e-6, "µs"), (1e-9, "ns"))
_SI_PREFIXES = ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k"), (1.0, ""))


def _scale(value: float, unit: str) -> tuple[float, str]:
    """Return ``(factor, display_unit)`` such that ``value / factor`` reads well.

    For long units the prefix goes on the number (``"12.3k samples/s"``): it is
    separated from the unit by a NUL character that :func:`_join` turns into a space.
    """
    a = abs(value)
    if unit == "s":
        if a >= 1.0 or a == 0:
            return 1.0, "s"
        for factor, name in _TIME_UNITS:
            if a >= factor:
                return factor, name
        return 1e-9, "ns"
    if unit == "fraction":
        return 0.01, "%"
    if unit in ("%", ""):
        return 1.0, unit
    for factor, prefix in _SI_PREFIXES:
        if a >= factor:
            if not prefix:
                return 1.0, unit
            # short units take the prefix ("MB", "kHz"); long ones get it on the number
            return factor, f"{prefix}{unit}" if len(unit) <= 3 else f"{prefix}\x00{unit}"
    return 1.0, unit


def _digits(scaled: float) -> int:
    """Decimals that give three significant figures for ``scaled``."""
    a = abs(scaled)
    if a == 0 or a >= 100:
        return 0
    if a >= 10:
        return 1
    return 2


def _join(number: str, unit: str) -> str:
    if "\x00" in unit:
        prefix, rest = unit.split("\x00", 1)
        return f"{number}{prefix} {rest}"
    return f"{number} {unit}" if unit else number


def format_quantity(value: float, unit: str) -> str:
    """Format a value given in SI base units with a human-readable prefix.

    Three significant figures. ``unit`` ``"s"`` uses ns/µs/ms/s; ``"B"`` and
    other units use decimal SI prefixes (k, M, G, T; glued to the number for
    units longer than three characters, e.g. ``"12.3k samples/s"``);
    ``"fraction"`` is shown as a percentage; ``"%"`` is taken as already in
    percent; ``""`` prints the bare number (4 significant figures).

    Parameters
    ----------
    value : float
        The quantity in base units (seconds, bytes, samples/s, ...).
    unit : str
        Base unit.

    Returns
    -------
    str
        E.g. ``"12.3 ms"``, ``"4.10 µs"``, ``"1.50 MB"``, ``"95.2 %"``.

    Raises
    ------
    InvalidParameterError
        If ``value`` is not a number or ``unit`` not a str.

    Examples
    --------
    >>> format_quantity(0.0123, "s"), format_quantity(1.5e6, "B"), format_quantity(0.952, "fraction")
    ('12.3 ms', '1.50 MB', '95.2 %')

    """
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise InvalidParameterError(f"`value` must be a number; got {value!r}.")
    if not isinstance(unit, str):
        raise InvalidParameterError(f"`unit` must be a str such as 's' or 'B'; got {unit!r}.")
    value = float(value)
    if not math.isfinite(value):
        return _join(str(value), unit)
    if unit == "":
        return f"{value:.4g}"
    factor, shown = _scale(value, unit)
    scaled = value / factor
    return _join(f"{scaled:.{_digits(scaled)}f}", shown)


def _format_pair(mean: float, std: float, unit: str) -> tuple[str, str]:
    """Format ``mean`` and ``std`` in the same display unit."""
    if unit == "":
        return f"{mean:.4g}", f"{std:.4g}"
    factor, shown = _scale(mean, unit)
    d = _digits(mean / factor)
    return _join(f"{mean / factor:.{d}f}", shown), _join(f"{std / factor:.{d}f}", shown)


# --------------------------------------------------------------------------- freezing


def _freeze(obj: Any, path: str = "metadata") -> Any:
    """Deep-copy ``obj`` into read-only containers (mappings -> MappingProxyType, lists -> tuples)."""
    if isinstance(obj, Mapping):
        out = {}
        for k, v in obj.items():
            if not isinstance(k, str):
                raise InvalidParameterError(
                    f"{path} keys must be str (they become JSON object keys); got key {k!r}."
                )
            out[k] = _freeze(v, f"{path}[{k!r}]")
        return MappingProxyType(out)
    if isinstance(obj, (list, tuple)):
        return tuple(_freeze(v, f"{path}[{i}]") for i, v in enumerate(obj))
    if isinstance(obj, np.ndarray):
        return tuple(_freeze(v, path) for v in obj.tolist())
    if isinstance(obj, np.generic):
        return obj.item()
    return obj


def _thaw(obj: Any) -> Any:
    """Inverse of :func:`_freeze`: plain dicts and lists."""
    if isinstance(obj, Mapping):
        return {k: _thaw(v) for k, v in obj.items()}
    if isinstance(obj, tuple):
        return [_thaw(v) for v in obj]
    return obj


def _finite_or_none(v: float) -> float | None:
    return v if math.isfinite(v) else None


# --------------------------------------------------------------------------- result

_ATTRS = (
    "metric_name", "values", "metadata", "unit", "lower_is_better", "confidence_level",
    "mean", "std", "median", "min_val", "max_val", "count", "ci_lower", "ci_upper",
    "cv", "iqr", "percentiles", "p50", "p90", "p95", "p99", "median_ci", "median_ci_coverage",
    "outliers",
)  # fmt: skip


class BenchmarkResult:
    """Measurements of one metric and their statistics; immutable.

    Parameters
    ----------
    metric_name : str
        E.g. ``"latency"``, ``"throughput"``, ``"accuracy"``, ``"memory"``.
    values : sequence of float
        Finite measurements, in SI base units (seconds, bytes, samples/s).
    metadata : mapping, optional
        JSON-like provenance (str keys). Deep-copied and made read-only.
    unit : str, default ""
        Base unit of ``values`` (``"s"``, ``"B"``, ``"samples/s"``, ``"fraction"``).
    lower_is_better : bool, default True
        Direction of the metric.
    confidence_level : float, default 0.95
        Level of ``ci_lower`` / ``ci_upper`` and ``median_ci``.

    Attributes
    ----------
    mean, std, median, min_val, max_val : float
        ``std`` is the sample standard deviation (ddof=1), 0 when n = 1.
    count : int
        Number of values.
    ci_lower, ci_upper : float
        Student-t interval for the mean at ``confidence_level`` (``(x, x)``
        when n = 1).
    cv, iqr : float
        Coefficient of variation (nan when the mean is 0) and interquartile range.
    percentiles : mapping
        ``{50, 90, 95, 99} -> value``; also ``p50``, ``p90``, ``p95``, ``p99``.
    median_ci : tuple of float
        Distribution-free order-statistic interval for the median (widened to
        ``(min_val, max_val)`` when n is too small for the level).
    median_ci_coverage : float
        Coverage ``median_ci`` actually has: ``confidence_level`` (or a bit
        more) when n allows, less for small n (75 % for n = 3 at 95 %; see
        :func:`torchperf.stats.quantile_ci_coverage`), 1.0 when all values
        are equal (an exact figure), 0.0 for n = 1. Reports label the
        interval with it.
    outliers : OutlierReport
        Tukey-fence outliers (reported, never removed).

    Raises
    ------
    InvalidParameterError
        On empty values, NaN / inf (naming the position, e.g. ``values[3] is nan``),
        non-numbers, or invalid parameters.

    Warns
    -----
    SmallSampleWarning
        When n = 1 (std 0, degenerate interval).

    Examples
    --------
    >>> r = BenchmarkResult("latency", [1.0, 2.0, 3.0])
    >>> str(r)
    'latency: 2.0000 ± 1.0000 (n=3)'

    """

    __slots__ = _ATTRS

    metric_name: str
    values: tuple[float, ...]
    metadata: Mapping[str, Any]
    unit: str
    lower_is_better: bool
    confidence_level: float
    mean: float
    std: float
    median: float
    min_val: float
    max_val: float
    count: int
    ci_lower: float
    ci_upper: float
    cv: float
    iqr: float
    percentiles: Mapping[int, float]
    p50: float
    p90: float
    p95: float
    p99: float
    median_ci: tuple[float, float]
    median_ci_coverage: float
    outliers: stats.OutlierReport

    def __init__(
        self,
        metric_name: str,
        values: Sequence[float] | np.ndarray,
        metadata: Mapping[str, Any] | None = None,
        *,
        unit: str = "",
        lower_is_better: bool = True,
        confidence_level: float = 0.95,
    ) -> None:
        if not isinstance(metric_name, str) or not metric_name:
            raise InvalidParameterError(
                f"`metric_name` must be a non-empty str such as 'latency'; got {metric_name!r}."
            )
        if metadata is None:
            metadata = {}
        if not isinstance(metadata, Mapping):
            raise InvalidParameterError(
                f"`metadata` must be a mapping (dict); got {type(metadata).__name__}."
            )
        if not isinstance(unit, str):
            raise InvalidParameterError(f"`unit` must be a str such as 's' or 'B'; got {unit!r}.")
        if not isinstance(lower_is_better, (bool, np.bool_)):
            raise InvalidParameterError(
                f"`lower_is_better` must be True or False; got {lower_is_better!r}."
            )
        cl = stats._check_confidence_level(confidence_level)
        frozen_metadata = _freeze(metadata)
        x = stats._as_sample(values, "values")
        _check_unit_range(x, unit, metric_name)
        summary = stats._summary_of(x)
        if not (math.isfinite(summary.mean) and math.isfinite(summary.std)):
            raise InvalidParameterError(
                "`values` are too large: their mean or standard deviation overflows float64. "
                "Express them in a larger unit."
            )
        if x.size == 1:
            warnings.warn(
                f"BenchmarkResult {metric_name!r} has a single value: std is 0 and the "
                "confidence interval is degenerate. Take more measurements.",
                SmallSampleWarning,
                stacklevel=2,
            )
        ci = stats._mean_ci(x, cl)
        if x.size == 1:
            med_ci, med_cov = (summary.median, summary.median), 0.0
        elif summary.min == summary.max:
            med_ci, med_cov = (summary.median, summary.median), 1.0
        else:
            lo, hi, med_cov = stats._quantile_ci_order(x, 0.5, cl)
            med_ci = (lo, hi)
        pct = summary.percentiles
        s = object.__setattr__
        s(self, "metric_name", metric_name)
        s(self, "values", tuple(float(v) for v in x))
        s(self, "metadata", frozen_metadata)
        s(self, "unit", unit)
        s(self, "lower_is_better", bool(lower_is_better))
        s(self, "confidence_level", cl)
        s(self, "mean", summary.mean)
        s(self, "std", summary.std)
        s(self, "median", summary.median)
        s(self, "min_val", summary.min)
        s(self, "max_val", summary.max)
        s(self, "count", summary.count)
        s(self, "ci_lower", float(ci[0]))
        s(self, "ci_upper", float(ci[1]))
        s(self, "cv", summary.cv)
        s(self, "iqr", summary.iqr)
        s(self, "percentiles", MappingProxyType(dict(pct)))
        s(self, "p50", pct[50])
        s(self, "p90", pct[90])
        s(self, "p95", pct[95])
        s(self, "p99", pct[99])
        s(self, "median_ci", (float(med_ci[0]), float(med_ci[1])))
        s(self, "median_ci_coverage", float(med_cov))
        s(self, "outliers", stats.classify_outliers(x))

    # -- immutability ---------------------------------------------------------------
    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"BenchmarkResult is immutable; cannot set {name!r}.")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"BenchmarkResult is immutable; cannot delete {name!r}.")

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (self.metric_name, self.values, _thaw(self.metadata), self.unit,
                           self.lower_is_better, self.confidence_level))  # fmt: skip

    # -- comparisons ----------------------------------------------------------------
    def _key(self) -> tuple[Any, ...]:
        return (self.metric_name, self.values, self.metadata, self.unit, self.lower_is_better)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, BenchmarkResult):
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash((self.metric_name, self.values, self.unit, self.lower_is_better))

    # -- statistics -----------------------------------------------------------------
    @property
    def summary(self) -> stats.Summary:
        """The :class:`~torchperf.stats.Summary` of ``values``."""
        return stats.summarize(self.values)

    def replicate_groups(self) -> list[list[float]] | None:
        """The samples split by the process that took them, when there were several.

        Results measured in ``processes >= 2`` worker processes record
        ``metadata["replicate_sizes"]`` (samples per process, in order); comparisons
        then reduce each process to its median, because the process, not the call, is
        the unit of replication (:func:`torchperf.stats.compare_replicates`).

        Returns
        -------
        list of list of float or None
            One list per process, or ``None`` when the samples come from one process
            (or the recorded sizes do not add up to ``count``).

        """
        try:
            sizes = [int(k) for k in self.metadata.get("replicate_sizes") or ()]
        except (TypeError, ValueError):  # metadata from a hand-edited or foreign file
            return None
        if len(sizes) < 2 or min(sizes) < 1 or sum(sizes) != self.count:
            return None
        out, start = [], 0
        for size in sizes:
            out.append([float(v) for v in self.values[start : start + size]])
            start += size
        return out

    def confidence_interval(self, confidence_level: float = 0.95) -> tuple[float, float]:
        """Student-t confidence interval for the mean at another level.

        Parameters
        ----------
        confidence_level : float, default 0.95
            Level in (0, 1).

        Returns
        -------
        tuple of float
            ``(low, high)``; ``(x, x)`` when n = 1.

        """
        cl = stats._check_confidence_level(confidence_level)
        return stats._mean_ci(np.asarray(self.values), cl)

    @property
    def cannot_be_negative(self) -> bool:
        """Whether the measured quantity cannot be negative (and none of ``values`` is).

        True for torchperf's metrics (latency, throughput, accuracy, memory, size:
        :data:`torchperf.metrics.METRIC_NAMES`) and for any metric in a unit that cannot
        be negative (seconds, bytes, samples/s, fractions), when every value is >= 0.
        """
        from torchperf.metrics import METRIC_NAMES

        kind = (
            self.metric_name in METRIC_NAMES
            or self.unit in _NONNEGATIVE_UNITS
            or self.unit == "fraction"
        )
        return bool(kind and self.min_val >= 0)

    def bounded_mean_ci(self) -> tuple[float, float, str]:
        """The confidence interval of the mean that torchperf's files write.

        For a quantity that cannot be negative (:attr:`cannot_be_negative`) and at
        least two values it is :func:`torchperf.stats.nonnegative_mean_ci`: the
        modified Cox interval on log values (``"log-cox"``) when every value is
        positive, the Student-t interval cut at 0 (``"student-t-truncated"``) when
        some are zero, so its lower bound is never negative. Otherwise it is
        ``(ci_lower, ci_upper, "student-t")``. ``results.json`` (``ci_lower`` /
        ``ci_upper`` / ``ci_method`` of :meth:`to_dict`), ``results.csv`` and the rows
        of :meth:`torchperf.Benchmark.compare_models` use it; the attributes
        ``ci_lower`` / ``ci_upper`` stay the Student-t interval.

        Returns
        -------
        tuple
            ``(low, high, method)`` with ``method`` one of ``"student-t"``,
            ``"log-cox"`` and ``"student-t-truncated"``.

        """
        if self.count >= 2 and self.cannot_be_negative:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", SmallSampleWarning)
                lo, hi, method = stats.nonnegative_mean_ci(
                    self.values, confidence_level=self.confidence_level
                )
            return float(lo), float(hi), method
        return self.ci_lower, self.ci_upper, "student-t"

    # -- serialisation --------------------------------------------------------------
    @classmethod
    def from_torch_measurement(
        cls, measurement: Any, *, metric_name: str = "latency", confidence_level: float = 0.95
    ) -> BenchmarkResult:
        """Build a result from a ``torch.utils.benchmark.Measurement``.

        See :func:`torchperf.torchbench.result_from_torch_measurement`: one value per
        run (seconds per call, torch's ``Measurement.times``), the ``TaskSpec`` in the
        metadata.

        Examples
        --------
        >>> import torch.utils.benchmark as tb  # doctest: +SKIP
        >>> m = tb.Timer("x @ x", globals={"x": torch.ones(64, 64)}).blocked_autorange()  # doctest: +SKIP
        >>> BenchmarkResult.from_torch_measurement(m).median  # doctest: +SKIP

        """
        from torchperf.torchbench import result_from_torch_measurement

        return result_from_torch_measurement(
            measurement, metric_name=metric_name, confidence_level=confidence_level
        )

    def to_torch_measurement(self) -> Any:
        """Return this (time) result as a ``torch.utils.benchmark.Measurement``.

        See :func:`torchperf.torchbench.result_to_torch_measurement`; usable with
        ``torch.utils.benchmark.Compare``. Only results in seconds convert.
        """
        from torchperf.torchbench import result_to_torch_measurement

        return result_to_torch_measurement(self)

    def to_dict(self) -> dict[str, Any]:
        """Serialise to a JSON-ready dict (strict JSON: non-finite floats become ``None``).

        Inputs (``metric_name``, ``values``, ``metadata``, ``unit``,
        ``lower_is_better``, ``confidence_level``) plus every derived statistic
        (the seed's ``mean, std, median, min_val, max_val, count, ci_lower,
        ci_upper``; ``min``/``max`` aliases; ``cv``, ``iqr``, ``p50``..``p99``,
        ``percentiles``, ``median_ci``, ``outliers``), tagged with ``schema`` and
        ``schema_version``. :meth:`from_dict` recomputes the statistics from the
        inputs.

        ``ci_lower`` / ``ci_upper`` are :meth:`bounded_mean_ci`, named by
        ``ci_method``: for a quantity that cannot be negative (latency, memory,
        size, ...) the log-scale (Cox) interval, never below zero, where a
        Student-t interval of a skewed sample would reach below it; else the
        attributes' Student-t interval.

        Returns
        -------
        dict
            The serialised result.

        """
        ci_lo, ci_hi, ci_method = self.bounded_mean_ci()
        return {
            "schema": _SCHEMA,
            "schema_version": SCHEMA_VERSION,
            "metric_name": self.metric_name,
            "values": list(self.values),
            "metadata": to_jsonable(_thaw(self.metadata)),
            "unit": self.unit,
            "lower_is_better": self.lower_is_better,
            "confidence_level": self.confidence_level,
            "mean": self.mean,
            "std": self.std,
            "median": self.median,
            "min_val": self.min_val,
            "max_val": self.max_val,
            "min": self.min_val,
            "max": self.max_val,
            "count": self.count,
            "ci_lower": _finite_or_none(ci_lo),
            "ci_upper": _finite_or_none(ci_hi),
            "ci_method": ci_method,
            "cv": _finite_or_none(self.cv),
            "iqr": self.iqr,
            "p50": self.p50,
            "p90": self.p90,
            "p95": self.p95,
            "p99": self.p99,
            "percentiles": {str(k): v for k, v in self.percentiles.items()},
            "median_ci": list(self.median_ci),
            "median_ci_coverage": self.median_ci_coverage,
            "outliers": self.outliers.to_dict(),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> BenchmarkResult:
        """Rebuild a result from :meth:`to_dict` output (possibly through JSON).

        Parameters
        ----------
        d : mapping
            A dict written by :meth:`to_dict`.

        Returns
        -------
        BenchmarkResult
            Equal to the result that wrote ``d``.

        Raises
        ------
        ResultsFileError
            If ``d`` is not a mapping, has an unknown ``schema`` or
            ``schema_version``, lacks a required key, or holds invalid values
            (e.g. a ``count`` that disagrees with ``values``).

        """
        if not isinstance(d, Mapping):
            raise ResultsFileError(
                f"a BenchmarkResult must be a JSON object; got {type(d).__name__}."
            )
        schema = d.get("schema", _SCHEMA)
        if schema != _SCHEMA:
            raise ResultsFileError(
                f"not a BenchmarkResult: schema is {schema!r}, expected {_SCHEMA!r}."
            )
        version = d.get("schema_version")
        if version != SCHEMA_VERSION:
            raise ResultsFileError(
                f"unknown BenchmarkResult schema_version {version!r}; this torchperf reads "
                f"version {SCHEMA_VERSION}. Upgrade torchperf or re-run the benchmark."
            )
        missing = [k for k in ("metric_name", "values") if k not in d]
        if missing:
            raise ResultsFileError(
                f"BenchmarkResult is missing {', '.join(map(repr, missing))}; the file is corrupt."
            )
        values = d["values"]
        if not isinstance(values, list):
            raise ResultsFileError(
                f"BenchmarkResult 'values' must be a list of numbers; got {type(values).__name__}."
            )
        if "count" in d and d["count"] != len(values):
            raise ResultsFileError(
                f"BenchmarkResult 'count' is {d['count']!r} but 'values' has {len(values)} "
                "entries; the file is corrupt or was edited by hand."
            )
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", SmallSampleWarning)
                return cls(
                    d["metric_name"],
                    values,
                    d.get("metadata") or {},
                    unit=d.get("unit", ""),
                    lower_is_better=d.get("lower_is_better", True),
                    confidence_level=d.get("confidence_level", 0.95),
                )
        except InvalidParameterError as exc:
            raise ResultsFileError(f"invalid BenchmarkResult: {exc}") from None

    def to_frame(self) -> pandas.DataFrame:
        """Return the values as a tidy pandas DataFrame.

        Returns
        -------
        pandas.DataFrame
            One row per value: ``metric_name``, ``unit``, ``sample`` (index),
            ``value``, and ``is_outlier`` (Tukey); the statistics are in
            ``DataFrame.attrs["statistics"]``.

        """
        import pandas as pd

        out = set(self.outliers.indices)
        frame = pd.DataFrame(
            {
                "metric_name": [self.metric_name] * self.count,
                "unit": [self.unit] * self.count,
                "sample": np.arange(self.count),
                "value": np.asarray(self.values),
                "is_outlier": [i in out for i in range(self.count)],
            }
        )
        d = self.to_dict()
        frame.attrs["statistics"] = {k: v for k, v in d.items() if k not in ("values", "metadata")}
        return frame

    # -- display ----------------------------------------------------------------------
    def __str__(self) -> str:
        if self.unit:
            mean, std = _format_pair(self.mean, self.std, self.unit)
        else:
            mean, std = f"{self.mean:.4f}", f"{self.std:.4f}"
        return f"{self.metric_name}: {mean} ± {std} (n={self.count})"

    def __repr__(self) -> str:
        return (
            f"BenchmarkResult(metric_name={self.metric_name!r}, count={self.count}, "
            f"mean={self.mean!r}, std={self.std!r}, unit={self.unit!r})"
        )


#: Units whose values cannot be negative (times, bytes, rates) or leave [0, 1] (fractions).
_NONNEGATIVE_UNITS = frozenset({"s", "B", "samples/s", "ns", "ms", "us"})


def _check_unit_range(x: np.ndarray, unit: str, metric_name: str) -> None:
    """Reject values impossible for their unit: negative times/bytes/rates, fractions outside [0, 1]."""
    if unit in _NONNEGATIVE_UNITS:
        bad = np.flatnonzero(x < 0)
        if bad.size:
            i = int(bad[0])
            what = "times" if unit in ("s", "ns", "ms", "us") else f"values in {unit!r}"
            raise InvalidParameterError(
                f"{metric_name!r} values are {what} and cannot be negative; values[{i}] is "
                f"{x[i]!r}. A negative duration means the clock or the subtraction is wrong "
                "(use time.perf_counter, end - start)."
            )
    elif unit == "fraction":
        bad = np.flatnonzero((x < 0) | (x > 1))
        if bad.size:
            i = int(bad[0])
            hint = " Did you pass a percentage? Divide by 100." if 1 < x[i] <= 100 else ""
            raise InvalidParameterError(
                f"{metric_name!r} values are fractions and must be in [0, 1]; values[{i}] is "
                f"{x[i]!r}.{hint}"
            )


def _rebuild(
    metric_name: str,
    values: tuple[float, ...],
    metadata: dict[str, Any],
    unit: str,
    lower_is_better: bool,
    confidence_level: float,
) -> BenchmarkResult:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SmallSampleWarning)
        return BenchmarkResult(
            metric_name,
            values,
            metadata,
            unit=unit,
            lower_is_better=lower_is_better,
            confidence_level=confidence_level,
        )


# --------------------------------------------------------------------------- comparison


def _name_of(result: BenchmarkResult, default: str) -> str:
    for key in ("model_name", "model", "name"):
        v = result.metadata.get(key)
        if isinstance(v, str) and v:
            return v
    return default


class Comparison:
    """Two :class:`BenchmarkResult` of one metric and their :class:`~torchperf.stats.SampleComparison`.

    Build it with :meth:`from_results`. ``str(c)`` reads like
    ``"baseline: 12.3 ms ± 0.8 ms, optimized: 4.1 ms ± 0.3 ms (67% reduction,
    95% CI [64%, 70%], p < 0.001)"``: mean ± std of each side, then the
    relative change of the compared statistic (median by default) with its
    confidence interval and the p-value of the primary test.

    Parameters
    ----------
    baseline, candidate : BenchmarkResult
        The two results.
    comparison : SampleComparison
        Their statistical comparison.
    baseline_name, candidate_name : str
        Labels used in ``str``.

    """

    __slots__ = ("baseline", "baseline_name", "candidate", "candidate_name", "comparison")

    baseline: BenchmarkResult
    candidate: BenchmarkResult
    comparison: stats.SampleComparison
    baseline_name: str
    candidate_name: str

    def __init__(
        self,
        baseline: BenchmarkResult,
        candidate: BenchmarkResult,
        comparison: stats.SampleComparison,
        *,
        baseline_name: str = "baseline",
        candidate_name: str = "candidate",
    ) -> None:
        for obj, name in ((baseline, "baseline"), (candidate, "candidate")):
            if not isinstance(obj, BenchmarkResult):
                raise InvalidParameterError(
                    f"`{name}` must be a BenchmarkResult; got {type(obj).__name__}."
                )
        if not isinstance(comparison, stats.SampleComparison):
            raise InvalidParameterError(
                f"`comparison` must be a SampleComparison; got {type(comparison).__name__}."
            )
        s = object.__setattr__
        s(self, "baseline", baseline)
        s(self, "candidate", candidate)
        s(self, "comparison", comparison)
        s(self, "baseline_name", str(baseline_name))
        s(self, "candidate_name", str(candidate_name))

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"Comparison is immutable; cannot set {name!r}.")

    @classmethod
    def from_results(
        cls,
        baseline: BenchmarkResult,
        candidate: BenchmarkResult,
        *,
        baseline_name: str | None = None,
        candidate_name: str | None = None,
        **compare_kw: Any,
    ) -> Comparison:
        """Compare two results of the same metric with :func:`~torchperf.stats.compare_samples`.

        Parameters
        ----------
        baseline, candidate : BenchmarkResult
            Results of the same ``metric_name`` and ``unit``.
        baseline_name, candidate_name : str, optional
            Labels; default to ``metadata["model_name"]`` (or ``"model"``,
            ``"name"``) and else ``"baseline"`` / ``"candidate"``.
        **compare_kw
            Passed to :func:`~torchperf.stats.compare_samples`;
            ``lower_is_better`` and ``confidence_level`` default to the
            baseline's.

        Returns
        -------
        Comparison
            The comparison.

        Raises
        ------
        InvalidParameterError
            If the metrics or units differ, or values are not positive.

        """
        for obj, name in ((baseline, "baseline"), (candidate, "candidate")):
            if not isinstance(obj, BenchmarkResult):
                raise InvalidParameterError(
                    f"`{name}` must be a BenchmarkResult; got {type(obj).__name__}."
                )
        if baseline.metric_name != candidate.metric_name or baseline.unit != candidate.unit:
            raise InvalidParameterError(
                "can only compare results of the same metric and unit; got "
                f"{baseline.metric_name!r} [{baseline.unit}] and "
                f"{candidate.metric_name!r} [{candidate.unit}]."
            )
        compare_kw.setdefault("lower_is_better", baseline.lower_is_better)
        compare_kw.setdefault("confidence_level", baseline.confidence_level)
        comp = stats.compare_samples(baseline.values, candidate.values, **compare_kw)
        return cls(
            baseline,
            candidate,
            comp,
            baseline_name=baseline_name or _name_of(baseline, "baseline"),
            candidate_name=candidate_name or _name_of(candidate, "candidate"),
        )

    @property
    def verdict(self) -> str:
        """``"regression"``, ``"improvement"``, ``"equivalent"`` or ``"inconclusive"``."""
        return self.comparison.verdict

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict with both results, names and the comparison."""
        return {
            "baseline_name": self.baseline_name,
            "candidate_name": self.candidate_name,
            "baseline": self.baseline.to_dict(),
            "candidate": self.candidate.to_dict(),
            "comparison": self.comparison.to_dict(),
        }

    def __str__(self) -> str:
        c = self.comparison
        unit = self.baseline.unit
        bm, bs = _format_pair(self.baseline.mean, self.baseline.std, unit)
        cm, cs = _format_pair(self.candidate.mean, self.candidate.std, unit)
        change = c.ratio - 1
        word = "reduction" if change < 0 else "increase"
        sign = -1 if change < 0 else 1
        parts = [f"{abs(change):.0%} {word}" if change != 0 else "no change"]
        if math.isfinite(c.ci_low) and math.isfinite(c.ci_high):
            ends = sorted((sign * (c.ci_low - 1), sign * (c.ci_high - 1)))
            parts.append(f"{c.confidence_level:.0%} CI [{ends[0]:.0%}, {ends[1]:.0%}]")
        parts.append(stats.format_p(c.p_value))
        return (
            f"{self.baseline_name}: {bm} ± {bs}, {self.candidate_name}: {cm} ± {cs} "
            f"({', '.join(parts)})"
        )

    def __repr__(self) -> str:
        return (
            f"Comparison({self.baseline_name!r} vs {self.candidate_name!r}, "
            f"ratio={self.comparison.ratio:.4g}, verdict={self.comparison.verdict!r})"
        )
