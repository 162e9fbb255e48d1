"""The metrics torchperf measures, each defined once: name, unit, direction, label.

Every module that needs to know which metrics exist, in which order they run, in which
unit they are stored or which way is better reads it here (the suite, the CLI, reports,
plots, Pareto fronts, the asv history pages).

Direction has one encoding, :class:`Direction`, whose values are the spellings of the
CLI's JSON contract (``"lower_is_better"`` / ``"higher_is_better"``). The two other
spellings met at the package's edges are conversions of it, done here and nowhere else:
the boolean ``lower_is_better`` of :class:`torchperf.BenchmarkResult` and
:func:`torchperf.stats.compare_samples` (:attr:`Direction.lower_is_better`,
:meth:`Direction.from_flag`), and the ``"min"`` / ``"max"`` of
:func:`torchperf.pareto.pareto_front` (:attr:`Direction.sense`, :meth:`Direction.parse`).
Direction is part of the metric (`docs/statistics.md#rule-5`).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal

from torchperf.errors import InvalidParameterError

__all__ = [
    "HISTORY_METRICS",
    "METRICS",
    "METRIC_NAMES",
    "Direction",
    "Metric",
    "get_metric",
    "lookup_metric",
]


class Direction(str, enum.Enum):
    """Which way a metric is better; the value is the CLI's JSON spelling.

    A ``str`` subclass, so ``Direction.LOWER == "lower_is_better"`` and
    ``json.dumps`` writes the plain string.
    """

    LOWER = "lower_is_better"
    HIGHER = "higher_is_better"

    def __str__(self) -> str:  # the JSON spelling, not "Direction.LOWER"
        return self.value

    @property
    def lower_is_better(self) -> bool:
        """The boolean spelling of :class:`torchperf.BenchmarkResult` and :mod:`torchperf.stats`."""
        return self is Direction.LOWER

    @property
    def sense(self) -> Literal["min", "max"]:
        """The optimisation sense of :func:`torchperf.pareto.pareto_front`: ``"min"`` or ``"max"``."""
        return "min" if self is Direction.LOWER else "max"

    @property
    def words(self) -> str:
        """``"lower is better"`` or ``"higher is better"`` (axis labels, tables)."""
        return "lower is better" if self is Direction.LOWER else "higher is better"

    @classmethod
    def from_flag(cls, lower_is_better: bool) -> Direction:
        """The direction of a ``lower_is_better`` flag."""
        return cls.LOWER if lower_is_better else cls.HIGHER

    @classmethod
    def parse(cls, value: object, *, where: str = "direction") -> Direction:
        """Read any accepted spelling of a direction.

        Parameters
        ----------
        value : Direction, bool or str
            A :class:`Direction`; a ``lower_is_better`` flag; or one of ``"min"``,
            ``"minimize"``, ``"minimise"``, ``"lower"``, ``"lower_is_better"``,
            ``"max"``, ``"maximize"``, ``"maximise"``, ``"higher"``, ``"higher_is_better"``
            (case-insensitive).
        where : str
            What the value is the direction of, for the error message.

        Returns
        -------
        Direction

        Raises
        ------
        InvalidParameterError
            For anything else.

        """
        if isinstance(value, Direction):
            return value
        if isinstance(value, bool):
            return cls.from_flag(value)
        if isinstance(value, str):
            found = _ALIASES.get(value.lower())
            if found is not None:
                return found
        raise InvalidParameterError(
            f"{where} must be 'min' or 'max' (or 'minimize'/'maximize', 'lower_is_better'/"
            f"'higher_is_better'); got {value!r}."
        )


_ALIASES: dict[str, Direction] = {
    **dict.fromkeys(("min", "minimize", "minimise", "lower", "lower_is_better"), Direction.LOWER),
    **dict.fromkeys(("max", "maximize", "maximise", "higher", "higher_is_better"), Direction.HIGHER),
}


@dataclass(frozen=True)
class Metric:
    """One metric: what it is called, its stored unit, which way is better, how to show it.

    Attributes
    ----------
    name : str
        The key in results, files and the CLI (``"latency"``).
    unit : str
        SI base unit the values are stored in (``"s"``, ``"B"``, ``"samples/s"``,
        ``"fraction"``).
    direction : Direction
        Which way is better.
    label : str
        Human name for titles, axes and tables (``"peak memory"``).
    description : str
        One line: what is measured.
    uses_input : bool
        Whether measuring it calls the model on a synthetic input of the
        suite's ``input_shape`` (latency, throughput, memory).

    """

    name: str
    unit: str
    direction: Direction
    label: str
    description: str = ""
    uses_input: bool = False

    @property
    def lower_is_better(self) -> bool:
        """``self.direction.lower_is_better``."""
        return self.direction.lower_is_better

    @property
    def run_method(self) -> str:
        """Name of the :class:`torchperf.Benchmark` method that measures it (``"run_latency_benchmark"``)."""
        return f"run_{self.name}_benchmark"


def _table(*metrics: Metric) -> Mapping[str, Metric]:
    return MappingProxyType({m.name: m for m in metrics})


#: The metrics a :class:`torchperf.Benchmark` / :class:`torchperf.BenchmarkSuite` measures,
#: in the order the suite runs them.
METRICS: Mapping[str, Metric] = _table(
    Metric("latency", "s", Direction.LOWER, "latency", "seconds per call, one input", uses_input=True),
    Metric(
        "throughput", "samples/s", Direction.HIGHER, "throughput", "samples per second at the largest batch",
        uses_input=True,
    ),
    Metric("accuracy", "fraction", Direction.HIGHER, "accuracy", "fraction of the test split classified correctly"),
    Metric("memory", "B", Direction.LOWER, "peak memory", "peak bytes allocated by one call", uses_input=True),
    Metric("size", "B", Direction.LOWER, "model size", "bytes of the model's parameters"),
)

#: Metric names in run order: ``("latency", "throughput", "accuracy", "memory", "size")``.
METRIC_NAMES: tuple[str, ...] = tuple(METRICS)

#: The metrics the asv suite in ``benchmarks/`` records per revision (read by the history
#: pages). asv treats everything as lower-is-better, so accuracy is recorded as an error rate.
HISTORY_METRICS: Mapping[str, Metric] = _table(
    METRICS["latency"],
    Metric("error_rate", "fraction", Direction.LOWER, "error rate", "1 - accuracy on the zoo's test split"),
    Metric("peak_memory", "B", Direction.LOWER, "peak memory", "peak bytes allocated by one call", uses_input=True),
)


def get_metric(name: str) -> Metric:
    """The metric called ``name``.

    Raises
    ------
    InvalidParameterError
        When ``name`` is not one of :data:`METRICS` or :data:`HISTORY_METRICS`.

    """
    found = METRICS.get(name) or HISTORY_METRICS.get(name)
    if found is None:
        known = list(METRICS) + [m for m in HISTORY_METRICS if m not in METRICS]
        raise InvalidParameterError(f"unknown metric {name!r}; known metrics: {known}.")
    return found


def lookup_metric(name: str, table: Mapping[str, Metric] | None = None) -> Metric | None:
    """The metric ``name`` is, or is a variant of (``"latency_p90"`` -> latency); else ``None``.

    Parameters
    ----------
    name : str
        A metric name, possibly with a ``_suffix``.
    table : mapping, optional
        Where to look: :data:`METRICS` (default) or :data:`HISTORY_METRICS`.

    """
    table = METRICS if table is None else table
    if name in table:
        return table[name]
    for key, metric in table.items():
        if name.startswith(key + "_"):
            return metric
    return None
