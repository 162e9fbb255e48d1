"""Interoperability with ``torch.utils.benchmark`` (``Timer`` / ``Measurement`` / ``Compare``).

A ``torch.utils.benchmark.Measurement`` holds ``raw_times`` (seconds per *run* of
``number_per_run`` calls) and a ``TaskSpec`` (statement, labels, ``num_threads``).
:func:`result_from_torch_measurement` turns it into a
:class:`~torchperf.result.BenchmarkResult` (one value per run: seconds per call,
torch's own ``Measurement.times``), so a ``Timer`` measurement gets torchperf's
intervals, comparisons and reports; :func:`result_to_torch_measurement` goes back,
so torchperf timings can be shown with ``torch.utils.benchmark.Compare``. Both are
also :meth:`BenchmarkResult.from_torch_measurement` and
:meth:`BenchmarkResult.to_torch_measurement`.

PyTorch is imported only by :func:`result_to_torch_measurement` (a Measurement
passed in means torch is already imported).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from torchperf.errors import InvalidParameterError, MissingDependencyError

if TYPE_CHECKING:  # pragma: no cover
    from torchperf.result import BenchmarkResult

__all__ = ["result_from_torch_measurement", "result_to_torch_measurement"]

_SPEC_FIELDS = ("stmt", "setup", "global_setup", "label", "sub_label", "description", "env",
                "num_threads")  # fmt: skip


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, (str, bool, int)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return repr(value)


def result_from_torch_measurement(
    measurement: Any, *, metric_name: str = "latency", confidence_level: float = 0.95
) -> BenchmarkResult:
    """Convert a ``torch.utils.benchmark.Measurement`` into a BenchmarkResult.

    Parameters
    ----------
    measurement : torch.utils.benchmark.Measurement
        From ``Timer.timeit``, ``Timer.blocked_autorange`` or ``Timer.adaptive_autorange``.
    metric_name : str, default "latency"
        Metric name of the result.
    confidence_level : float, default 0.95
        Level of the result's intervals.

    Returns
    -------
    BenchmarkResult
        ``values`` are torch's ``measurement.times`` (seconds per call, one per run),
        ``unit="s"``, lower is better. ``metadata`` holds ``source``
        (``"torch.utils.benchmark"``), ``number`` (``number_per_run``), ``torch_task_spec``
        (stmt, setup, global_setup, label, sub_label, description, env, num_threads),
        ``torch_num_threads``, ``model`` (the description, else sub_label, label or stmt)
        and torch's own ``metadata`` as ``torch_metadata``.

    Raises
    ------
    InvalidParameterError
        If ``measurement`` is not a Measurement (no ``raw_times`` / ``number_per_run`` /
        ``task_spec``) or holds no times.

    """
    from torchperf.result import BenchmarkResult

    try:
        number = int(measurement.number_per_run)
        raw = [float(t) for t in measurement.raw_times]
        spec = measurement.task_spec
    except (AttributeError, TypeError, ValueError) as exc:
        raise InvalidParameterError(
            "expected a torch.utils.benchmark Measurement (from Timer.timeit or "
            f"Timer.blocked_autorange); got {type(measurement).__name__} ({exc})."
        ) from None
    if not raw or number < 1:
        raise InvalidParameterError(
            "the Measurement holds no times; run Timer.blocked_autorange() or timeit(n) first."
        )
    task = {field: _jsonable(getattr(spec, field, None)) for field in _SPEC_FIELDS}
    name = next((task[k] for k in ("description", "sub_label", "label", "stmt") if task[k]), None)
    metadata: dict[str, Any] = {
        "source": "torch.utils.benchmark",
        "model": name,
        "number": number,
        "torch_task_spec": task,
        "torch_num_threads": task["num_threads"],
        "torch_metadata": _jsonable(getattr(measurement, "metadata", None)),
        "replication": "one process (torch.utils.benchmark.Timer): runs are not independent",
    }
    return BenchmarkResult(
        metric_name,
        [t / number for t in raw],
        metadata,
        unit="s",
        lower_is_better=True,
        confidence_level=confidence_level,
    )


def result_to_torch_measurement(result: BenchmarkResult) -> Any:
    """Convert a timing BenchmarkResult into a ``torch.utils.benchmark.Measurement``.

    Parameters
    ----------
    result : BenchmarkResult
        A result in seconds (``unit="s"``: latency, or any time per call).

    Returns
    -------
    torch.utils.benchmark.Measurement
        ``number_per_run`` is the result's ``metadata["number"]`` (calls per sample; 1
        when unknown) and ``raw_times`` are the values times it, so
        ``measurement.times == result.values``. The ``TaskSpec`` is the one recorded by
        :func:`result_from_torch_measurement` when there is one; otherwise
        ``stmt``/``description`` are the model name, ``label`` the metric and
        ``num_threads`` the recorded torch threads (``torch_num_threads``, else the
        worker's ``threads["torch"]["num_threads"]``, else 1). Usable with
        ``torch.utils.benchmark.Compare``.

    Raises
    ------
    InvalidParameterError
        If the result is not a time in seconds (throughput, memory, size, accuracy).
    MissingDependencyError
        If torch is not installed.

    """
    if result.unit != "s":
        raise InvalidParameterError(
            f"only times convert to a torch Measurement; {result.metric_name!r} is in "
            f"{result.unit!r}. Convert a latency result (unit 's')."
        )
    try:
        from torch.utils.benchmark.utils.common import Measurement, TaskSpec
    except ImportError:
        raise MissingDependencyError(
            "to_torch_measurement needs PyTorch: pip install torch (CPU build is enough)."
        ) from None
    md = result.metadata
    number = md.get("number")
    number = int(number) if isinstance(number, int) and not isinstance(number, bool) and number >= 1 else 1
    recorded = md.get("torch_task_spec") if isinstance(md.get("torch_task_spec"), Mapping) else None
    if recorded is not None:
        kw = {k: recorded.get(k) for k in _SPEC_FIELDS if recorded.get(k) is not None}
        kw.setdefault("stmt", str(md.get("model") or result.metric_name))
        kw.setdefault("setup", "pass")
    else:
        name = str(md.get("model") or md.get("model_name") or result.metric_name)
        threads = md.get("torch_num_threads")
        if not isinstance(threads, int):
            worker = md.get("threads") if isinstance(md.get("threads"), Mapping) else {}
            torch_threads = worker.get("torch") if isinstance(worker.get("torch"), Mapping) else {}
            threads = torch_threads.get("num_threads")
            threads = threads if isinstance(threads, int) else 1
        kw = {"stmt": name, "setup": "pass", "label": result.metric_name,
              "description": name, "num_threads": int(threads)}  # fmt: skip
    extra = md.get("torch_metadata")
    extra = dict(extra) if isinstance(extra, Mapping) else {}
    return Measurement(
        number_per_run=number,
        raw_times=[float(v) * number for v in result.values],
        task_spec=TaskSpec(**kw),
        metadata={**extra, "torchperf_metric": result.metric_name},
    )
