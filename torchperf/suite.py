"""Run every metric for every model, save as you go, compare against a baseline.

:class:`BenchmarkSuite` is the multi-metric layer above
:class:`torchperf.benchmark.Benchmark`: it runs latency, throughput, accuracy,
peak memory and size for each model, one *model x metric* task at a time, and
after each task rewrites ``output_dir/.staging/results.json`` atomically
(temporary file, fsync, rename) with ``"complete": false``; only a completed
run moves its files into ``output_dir`` (:func:`torchperf.fileio.promote_staged`).
A run that is interrupted (Ctrl-C, a failing progress hook, ``strict=True``
and a failing model) or killed therefore leaves every finished result on disk
and the previous complete run untouched; the suite writes a partial report of
what completed beside the staged results and re-raises.
``run_full_benchmark(resume=True)`` reloads the staged file and redoes only
what is missing (or failed).

The saved run file (schema ``"torchperf.run"``) is a :class:`torchperf.runfile.Run`
(see that module for the layout, version 2, and the upgrade of version-1 files).
:func:`load_run` and :func:`save_run` read and write it; unknown versions and
corrupt files raise :class:`~torchperf.errors.ResultsFileError`.

Statistics of the comparisons (:func:`compare_to_baseline`): each model is
compared with the baseline on each metric by
:func:`torchperf.comparison.compare_results` (``docs/statistics.md#rule-7`` to
``#rule-9``), and the p-values of *all* comparisons of the run are adjusted
together by :func:`torchperf.comparison.adjust` (Benjamini-Hochberg
false-discovery rate by default, Holm family-wise error on request). Metrics
whose samples have no spread on either side (model size) are exact
measurements, not samples: their difference is reported exactly, without a
p-value, and they are left out of the multiple-comparison family.
"""

from __future__ import annotations

import datetime as _dt
import os
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from torchperf.comparison import compare_to_baseline, run_correction
from torchperf.errors import (
    CorruptResultsWarning,
    InvalidParameterError,
    ResultsFileError,
)
from torchperf.fileio import (
    directory_lock,
    discard_staged,
    promote_staged,
    remove_stale_temp_files,
    safe_filename,
    staging_dir,
)
from torchperf.metrics import METRIC_NAMES
from torchperf.metrics import METRICS as METRICS_BY_NAME
from torchperf.runfile import (  # noqa: F401  (RUN_SCHEMA*, environment_fingerprint: kept importable from here)
    RUN_SCHEMA,
    RUN_SCHEMA_VERSION,
    Run,
    build_run,
    environment_fingerprint,
    results_frame,
)
from torchperf.stats import DEFAULT_NOISE_THRESHOLD

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd
    from matplotlib.figure import Figure

    from torchperf.result import BenchmarkResult

__all__ = [
    "BenchmarkSuite",
    "compare_to_baseline",
    "load_run",
    "results_frame",
    "save_run",
]


#: Report files of a previous run that a completed run without reports deletes when it
#: replaces ``results.json`` (so that no report contradicts the results beside it).
_STALE_REPORT_FILES = ("report.md", "report.html", "results.csv")

#: Metrics in the order the suite runs them (:data:`torchperf.metrics.METRIC_NAMES`).
METRICS: tuple[str, ...] = METRIC_NAMES

ProgressHook = Callable[[int, int, str], object]


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


# --------------------------------------------------------------------------- run files
# The run and its file live in torchperf.runfile; these functions keep the suite's
# documented entry points (load_run / save_run / results_frame) working.


def normalize_run(run: Mapping[str, Any], *, source: str = "run") -> Run:
    """Validate a run document (any readable version) and return it as a :class:`~torchperf.runfile.Run`.

    See :meth:`torchperf.runfile.Run.from_dict`; the :class:`Run` is also a read-only
    mapping with the file's keys, as the dict this function returned before.

    Raises
    ------
    ResultsFileError
        If the document is not a torchperf run, has an unknown schema version, or
        any part of it is malformed.

    """
    return Run.from_dict(run, source=source)


def load_run(path: str | Path) -> Run:
    """Read a ``results.json`` run file (see :meth:`torchperf.runfile.Run.load`).

    Parameters
    ----------
    path : str or Path
        The file written by :class:`BenchmarkSuite` / ``torchperf run``, or
        the directory that holds ``results.json``.

    Returns
    -------
    Run
        Typed and frozen; ``run["results"][metric][model]`` still works.

    Raises
    ------
    ResultsFileError
        If the file is missing, not JSON, truncated, not a torchperf run or
        of an unknown schema version.

    """
    return Run.load(path)


def run_to_jsonable(run: Mapping[str, Any]) -> dict[str, Any]:
    """Return the JSON document of a run (:meth:`torchperf.runfile.Run.to_dict`)."""
    return Run.from_dict(run).to_dict()


def save_run(
    path: str | Path,
    results: Mapping[str, Mapping[str, Any]] | Run,
    *,
    environment: Mapping[str, Any] | None = None,
    protocol: Mapping[str, Any] | None = None,
    models: Sequence[str] | None = None,
    failures: Mapping[str, Any] | None = None,
    not_applicable: Mapping[str, Mapping[str, str]] | None = None,
    warnings_: Sequence[Mapping[str, Any]] = (),
    complete: bool | None = None,
    interrupted: bool | None = None,
    created: str | None = None,
) -> Path:
    """Write a run file (schema ``torchperf.run``, the current version) atomically.

    Parameters
    ----------
    path : str or Path
        Destination, usually ``output_dir / "results.json"``.
    results : Mapping or Run
        ``{metric: {model: BenchmarkResult}}`` (or their ``to_dict()``), or a whole
        :class:`~torchperf.Run` (what :func:`load_run` returns), whose environment,
        protocol, models, failures, warnings and flags are kept unless given here,
        so ``save_run(path, load_run(p))`` composes.
    environment, protocol : Mapping, optional
        Provenance stored with the results.
    models : sequence of str, optional
        Model names in display order (baseline first).
    failures : Mapping, optional
        ``{model: {metric: {"error": ..., "message": ...}}}``.
    not_applicable : Mapping, optional
        ``{metric: {model: reason}}``: tasks skipped because the metric does
        not apply (accuracy of a generation model); neither failures nor zeros.
    warnings_ : sequence of Mapping
        Warnings raised while measuring.
    complete : bool, optional
        ``False`` while a run is still in progress or was interrupted (default
        ``True``, or the flag of a given ``Run``).
    interrupted : bool, optional
        ``True`` when the run stopped early (default ``False``, or the ``Run``'s flag).
    created : str, optional
        ISO timestamp of the start of the run (default: now).

    Returns
    -------
    pathlib.Path
        The written file.

    """
    if isinstance(results, Run):
        src = results
        results = src.results
        environment = src.environment if environment is None else environment
        protocol = src.protocol if protocol is None else protocol
        models = src.models if models is None else models
        failures = src.failures if failures is None else failures
        not_applicable = src.not_applicable if not_applicable is None else not_applicable
        warnings_ = warnings_ or src.warnings
        complete = src.flags.complete if complete is None else complete
        interrupted = src.flags.interrupted if interrupted is None else interrupted
        created = created or src.created or None
    run = build_run(
        results, environment=environment, protocol=protocol, models=models, failures=failures,
        not_applicable=not_applicable, warnings_=warnings_,
        complete=True if complete is None else complete,
        interrupted=False if interrupted is None else interrupted,
        created=created, source=str(path),
    )
    return run.save(path)


# --------------------------------------------------------------------------- analysis


# --------------------------------------------------------------------------- the suite


def _check_int(name: str, value: object, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise InvalidParameterError(
            f"`{name}` must be an integer in [{low}, {high}]; got {value!r}."
        )
    return int(value)


class BenchmarkSuite:
    """Measure every metric for every model and turn the results into decisions.

    Parameters
    ----------
    models : sequence or mapping
        Models (objects with ``forward``/``predict``, callables, torch
        modules, scikit-learn estimators). A mapping ``{name: model}`` (as
        returned by :func:`torchperf.zoo.build_comparison_set`) fixes the
        names; otherwise names come from :func:`torchperf.models.unique_model_names`.
    datasets : sequence, optional
        ``(X, y)`` pairs for the accuracy benchmark, passed to
        :class:`~torchperf.benchmark.Benchmark`.
    output_dir : str or Path
        Where ``results.json``, the reports and the plots are written.
    warmup_runs : int
        Warmup calls before measuring (per model and metric).
    measurement_runs : int
        Samples per measurement.
    metrics : sequence of str
        Subset of ``("latency", "throughput", "accuracy", "memory", "size")``.
    progress : callable, optional
        ``progress(completed, total, description)`` is called before each
        model x metric task (``completed`` tasks done so far) and once at
        the end with ``completed == total``. The CLI passes a tqdm bar
        update; the library itself never prints. A tqdm-like object (with
        ``update`` and ``total``) is accepted too.
    strict : bool
        If true, the first failing model stops the run (finished results are
        still saved); otherwise failures are recorded and the others go on.
    baseline : str, optional
        Name of the reference model of comparisons (default: the first).
    baselines : Mapping, optional
        ``{model: its own baseline}`` for families of models (e.g.
        ``torchperf.zoo.family_baselines(models)``): each model is compared with its
        family's baseline instead of ``baseline``; recorded in the protocol, so reports
        of the saved run compare the same way.
    correction : {"bh", "holm"}
        Multiple-comparison control of :meth:`comparisons`.
    confidence_level : float
        Confidence level of intervals and comparisons.
    input_shape : tuple of int, optional
        Shape of the latency / memory / throughput input *including* the
        batch axis. Default: the Benchmark's choice (the model's declared
        ``input_shape``, else ``(1, 28, 28)``).
    example_input : array_like, optional
        A real input for latency and memory (first axis = batch), instead of a generated
        one; it wins over ``input_shape``. Its rows are cycled to fill throughput
        batches unless ``throughput_input`` is given.
    throughput_input : array_like, optional
        Rows cycled to fill each throughput batch (e.g. a dataset's whole ``X`` while
        ``example_input`` is its first row). Default: ``example_input``.
    batch_sizes : sequence of int
        Batch sizes of the throughput benchmark.
    benchmark_kwargs : Mapping, optional
        Extra keyword arguments for :class:`~torchperf.benchmark.Benchmark`
        (``processes``, ``timeout_s``, ``memory_limit_bytes``, ``number``, ...).

    Attributes
    ----------
    results : dict
        ``{metric: {model: BenchmarkResult}}`` of the last run.
    failures : dict
        ``{model: {metric: {"error": ..., "message": ...}}}``.

    """

    def __init__(
        self,
        models: Sequence[Any] | Mapping[str, Any],
        datasets: Sequence[Any] | None = None,
        output_dir: str | Path = "benchmark_results",
        *,
        warmup_runs: int = 5,
        measurement_runs: int = 10,
        metrics: Iterable[str] = METRICS,
        progress: Any = None,
        strict: bool = False,
        baseline: str | None = None,
        baselines: Mapping[str, str] | None = None,
        correction: str = "bh",
        confidence_level: float = 0.95,
        input_shape: tuple[int, ...] | None = None,
        batch_sizes: Sequence[int] = (1, 32),
        benchmark_kwargs: Mapping[str, Any] | None = None,
        example_input: Any = None,
        throughput_input: Any = None,
    ) -> None:
        if isinstance(models, Mapping):
            names = [str(k) for k in models]
            model_list = list(models.values())
        else:
            if isinstance(models, (str, bytes)) or not isinstance(models, Iterable):
                raise InvalidParameterError(
                    f"`models` must be a list of models or a {{name: model}} mapping; got {type(models).__name__}."
                )
            model_list = list(models)
            from torchperf.models import unique_model_names

            names = list(unique_model_names(model_list))
        if not model_list:
            raise InvalidParameterError("`models` is empty; pass at least one model to benchmark.")
        if len(set(names)) != len(names):
            raise InvalidParameterError(f"model names must be unique; got {names}.")
        self.models: dict[str, Any] = dict(zip(names, model_list, strict=True))
        self.datasets = datasets
        # Absolute now, before any model code runs: a model's os.chdir cannot split the output.
        self.output_dir = Path(os.path.abspath(output_dir))
        self.warmup_runs = _check_int("warmup_runs", warmup_runs, 0, 100_000)
        self.measurement_runs = _check_int("measurement_runs", measurement_runs, 1, 1_000_000)
        metric_list = [metrics] if isinstance(metrics, str) else list(metrics)
        unknown = [m for m in metric_list if m not in METRICS]
        if unknown or not metric_list:
            raise InvalidParameterError(
                f"`metrics` must be a non-empty subset of {METRICS}; got {metric_list!r}."
            )
        self.metrics: tuple[str, ...] = tuple(m for m in METRICS if m in metric_list)
        if datasets is not None and "accuracy" in self.metrics:
            # Validate the data now (empty, mismatched X/y, NaN: one clear error before any
            # measuring) and read iterables of batches once, so that every accuracy task
            # sees the same batches (a generator would be exhausted after the first model).
            from torchperf.benchmark import Benchmark

            probe = Benchmark({"probe": _probe_model}, datasets, environment={})
            self.datasets = {name: batches for name, batches in probe._load_datasets()}
        if progress is not None and not callable(progress) and not hasattr(progress, "update"):
            raise InvalidParameterError(
                "`progress` must be a callable progress(completed, total, description) or a "
                f"tqdm-like object with .update(); got {type(progress).__name__}."
            )
        self.progress = progress
        self.strict = bool(strict)
        if baseline is None:
            baseline = names[0]
        if baseline not in self.models:
            raise InvalidParameterError(
                f"`baseline` must be one of the model names {names}; got {baseline!r}."
            )
        self.baseline = baseline
        self.baselines: dict[str, str] = {
            str(k): str(v) for k, v in (baselines or {}).items() if k in self.models and v in self.models
        }
        self.correction = run_correction(correction)
        from torchperf.stats import _check_confidence_level

        self.confidence_level = _check_confidence_level(confidence_level)
        self.input_shape = tuple(input_shape) if input_shape is not None else None
        self.example_input = example_input
        self.throughput_input = throughput_input
        self.batch_sizes = tuple(batch_sizes)
        self.benchmark_kwargs = dict(benchmark_kwargs or {})
        self.results: dict[str, dict[str, BenchmarkResult]] = {}
        self.failures: dict[str, dict[str, dict[str, Any]]] = {}
        self.not_applicable: dict[str, dict[str, str]] = {}
        self.recorded_warnings: list[dict[str, Any]] = []
        self.environment: dict[str, Any] = {}
        self.created: str | None = None
        self.complete = False
        self.interrupted = False
        self.report_files: dict[str, Path] = {}
        self._staging = False

    # ----------------------------------------------------------------- properties

    @property
    def results_path(self) -> Path:
        """Path of the run file of the last complete run (``output_dir / "results.json"``)."""
        return self.output_dir / "results.json"

    @property
    def staging_path(self) -> Path:
        """Run file of a run in progress or interrupted: ``output_dir/.staging/results.json``.

        A run saves here after every task and moves its files into
        ``output_dir`` only when it completes, so that a killed or interrupted
        run leaves the previous complete run (and its reports) untouched.
        """
        return staging_dir(self.output_dir) / "results.json"

    def protocol(self) -> dict[str, Any]:
        """Return the measurement protocol recorded with the results."""
        return {
            "warmup_runs": self.warmup_runs,
            "measurement_runs": self.measurement_runs,
            "metrics": list(self.metrics),
            "baseline": self.baseline,
            "baselines": dict(self.baselines) or None,
            "correction": self.correction,
            "confidence_level": self.confidence_level,
            "input_shape": list(self.input_shape) if self.input_shape else None,
            "example_input": _describe_example(self.example_input),
            "input_dtype": str(self.benchmark_kwargs.get("input_dtype", "float32")),
            "batch_sizes": list(self.batch_sizes),
            "strict": self.strict,
            "timer": "time.perf_counter_ns",
            "replication": self._replication(),
        }

    def _replication(self) -> str:
        k = self.benchmark_kwargs.get("processes", 1)
        if isinstance(k, int) and k >= 2:
            return (
                f"latency and throughput in {k} worker processes per model; comparisons use "
                "per-process medians (the process is the unit of replication)"
            )
        return "all samples of a model come from one process (the suite's); p-values treat calls as independent"

    def to_run(self) -> Run:
        """Return the current state as a frozen :class:`~torchperf.runfile.Run`.

        A snapshot: later measurements of this suite do not change it. It is also a
        read-only mapping with the file's keys (``run["results"]``, ``run["complete"]``).
        """
        now = _now()
        return build_run(
            self.results,
            environment=self.environment,
            protocol=self.protocol(),
            models=list(self.models),
            failures=self.failures,
            not_applicable=self.not_applicable,
            warnings_=self.recorded_warnings,
            complete=self.complete,
            interrupted=self.interrupted,
            created=self.created or now,
        ).replace(updated=now)

    def save(self) -> Path:
        """Write the run file atomically with the current results.

        While a run is in progress (or after it was interrupted) the file is
        :attr:`staging_path`; otherwise :attr:`results_path`.
        """
        return self.to_run().save(self.staging_path if self._staging else self.results_path)

    # ----------------------------------------------------------------- running

    def _notify(self, completed: int, total: int, description: str) -> None:
        hook = self.progress
        if hook is None:
            return
        if callable(hook):
            hook(completed, total, description)
            return
        # tqdm-like object
        if getattr(hook, "total", None) != total:
            hook.total = total
        delta = completed - int(getattr(hook, "n", 0))
        if hasattr(hook, "set_description_str"):
            hook.set_description_str(description)
        if delta > 0:
            hook.update(delta)

    def _run_task(self, metric: str, name: str, model: Any) -> None:
        from torchperf.benchmark import Benchmark

        if metric == "accuracy" and self.datasets is None:
            self.not_applicable.setdefault(metric, {})[name] = (
                "no labelled dataset given (pass datasets=[(X, y)])"
            )
            return

        kwargs = dict(self.benchmark_kwargs)
        kwargs.setdefault("confidence_level", self.confidence_level)
        kwargs.setdefault("environment", self.environment)
        bench = Benchmark(
            {name: model},
            self.datasets,
            warmup_runs=self.warmup_runs,
            measurement_runs=self.measurement_runs,
            strict=self.strict,
            **kwargs,
        )
        method = getattr(bench, METRICS_BY_NAME[metric].run_method)
        call_kw: dict[str, Any] = {}
        if METRICS_BY_NAME[metric].uses_input and self.input_shape is not None:
            call_kw["input_shape"] = self.input_shape
        if metric in ("latency", "memory") and self.example_input is not None:
            call_kw["example_input"] = self.example_input
        if metric == "throughput":
            rows = self.throughput_input if self.throughput_input is not None else self.example_input
            if rows is not None:
                call_kw["example_input"] = rows
        if metric == "throughput":
            call_kw["batch_sizes"] = self.batch_sizes
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                out = method(**call_kw)
            finally:
                self._record_warnings(metric, name, caught)
        for w in caught:  # show them to the caller too
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
        if out:
            (result,) = out.values()
            self.results.setdefault(metric, {})[name] = result
            self.failures.get(name, {}).pop(metric, None)
            if name in self.failures and not self.failures[name]:
                del self.failures[name]
        failures = getattr(bench, "failures", {}) or {}
        for record in failures.values():
            self.failures.setdefault(name, {})[metric] = _failure_dict(record)
        skipped = (getattr(bench, "not_applicable", {}) or {}).get(metric, {})
        if not out and name in skipped:
            self.not_applicable.setdefault(metric, {})[name] = str(skipped[name])
            self.failures.get(name, {}).pop(metric, None)
            if name in self.failures and not self.failures[name]:
                del self.failures[name]
            return
        if not out and not failures:
            self.failures.setdefault(name, {})[metric] = {
                "error": "NoResult",
                "message": f"the {metric} benchmark returned no result for {name!r}",
            }

    def _record_warnings(self, metric: str, name: str, caught: list[warnings.WarningMessage]) -> None:
        for w in caught:
            if w.category.__name__ == "ModelFailureWarning":
                continue  # the failure itself is recorded in self.failures
            self.recorded_warnings.append(
                {
                    "metric": metric,
                    "model": name,
                    "category": w.category.__name__,
                    "message": str(w.message),
                }
            )

    def _load_for_resume(self) -> None:
        # An unfinished run in the staging directory is newer than the complete one.
        path = self.staging_path if self.staging_path.exists() else self.results_path
        if not path.exists():
            return
        try:
            prior = load_run(path)
        except ResultsFileError as exc:
            warnings.warn(
                f"cannot resume from {path} ({exc}); redoing every task.",
                CorruptResultsWarning,
                stacklevel=3,
            )
            return
        proto = prior["protocol"]
        for key in ("warmup_runs", "measurement_runs"):
            if key in proto and proto[key] != getattr(self, key):
                raise InvalidParameterError(
                    f"cannot resume {path}: it was measured with {key}={proto[key]!r}, this suite "
                    f"uses {getattr(self, key)!r}. Use the same settings, another output_dir, "
                    "or resume=False."
                )
        self.created = prior["created"] or None
        self.environment = prior["environment"] or self.environment
        for metric, per_model in prior.get("not_applicable", {}).items():
            if metric in self.metrics:
                for model, reason in per_model.items():
                    if model in self.models:
                        self.not_applicable.setdefault(metric, {})[model] = reason
        for metric, per_model in prior["results"].items():
            if metric not in self.metrics:
                continue
            for model, result in per_model.items():
                if model in self.models:
                    self.results.setdefault(metric, {})[model] = result
        self.recorded_warnings = [
            w for w in prior["warnings"] if (w.get("metric"), w.get("model")) in self._done()
        ]

    def _done(self) -> set[tuple[str, str]]:
        done = {(metric, model) for metric, per in self.results.items() for model in per}
        done |= {(metric, model) for metric, per in self.not_applicable.items() for model in per}
        return done

    def pending(self) -> list[tuple[str, str]]:
        """Return the (metric, model) tasks without a result yet, in run order."""
        done = self._done()
        return [(m, n) for m in self.metrics for n in self.models if (m, n) not in done]

    def run_full_benchmark(
        self, *, resume: bool = False, report: bool = False
    ) -> dict[str, dict[str, BenchmarkResult]]:
        """Run every metric for every model, saving after each model x metric task.

        The run is staged: it saves to :attr:`staging_path`
        (``output_dir/.staging/results.json``) after every task, and only when
        every task is done are its files moved into ``output_dir`` (one
        journaled step, see :func:`torchperf.fileio.promote_staged`). Killed or
        interrupted at any moment, it leaves the previous complete run in
        ``output_dir`` (``results.json`` and its reports) as it was.

        Parameters
        ----------
        resume : bool
            Reuse the finished results of an interrupted or killed run with
            the same protocol (``output_dir/.staging/results.json``, else
            ``output_dir/results.json``) and run only the missing or failed tasks.
        report : bool
            Also write the reports (:func:`torchperf.report.render_run`) and
            promote them together with ``results.json``, so the reports in
            ``output_dir`` always belong to the results beside them. Without
            it, a completed run deletes the previous run's ``report.md``,
            ``report.html`` and ``results.csv`` as it replaces ``results.json``
            (call :meth:`generate_report` to write new ones).

        Returns
        -------
        dict
            ``{metric: {model: BenchmarkResult}}``; failed models are absent
            and listed in :attr:`failures`.

        Raises
        ------
        KeyboardInterrupt
            Re-raised after saving every finished result (``complete: false``)
            and writing a partial report to ``output_dir/.staging``. Any other
            exception that stops the run (``strict=True``, a failing progress
            hook) is handled the same way.
        OutputLockedError
            Another run (another process) is writing to the same
            ``output_dir``: runs hold :func:`torchperf.fileio.directory_lock`
            on it, so two runs never interleave their files.

        """
        with directory_lock(self.output_dir, purpose="BenchmarkSuite.run_full_benchmark"):
            # Only now (lock held) is it safe to delete temporary files that a killed
            # run's atomic writes left behind.
            remove_stale_temp_files(self.output_dir)
            return self._run_locked(resume=resume, report=report)

    def _run_locked(self, *, resume: bool, report: bool) -> dict[str, dict[str, BenchmarkResult]]:
        from torchperf.environment import collect_environment
        from torchperf.report import render_run

        self.results = {}
        self.failures = {}
        self.not_applicable = {}
        self.recorded_warnings = []
        self.complete = False
        self.interrupted = False
        self.created = None
        self.report_files = {}
        staging = staging_dir(self.output_dir, create=True)
        if not resume:
            discard_staged(self.output_dir)
        self._staging = True
        if resume:
            self._load_for_resume()
        if not self.environment:
            self.environment = collect_environment()
        self.created = self.created or _now()
        tasks = self.pending()
        total = len(self.metrics) * len(self.models)
        done = total - len(tasks)
        self.save()
        try:
            for metric, name in tasks:
                self._notify(done, total, f"{metric}: {name}")
                self._run_task(metric, name, self.models[name])
                done += 1
                self.save()
            self.complete = True
            self.save()
            staged = render_run(self.to_run(), staging) if report else {}
            self._notify(total, total, "done")
        except BaseException as exc:
            self.interrupted = True
            self.complete = False
            self.save()
            if self.results:
                try:
                    self.report_files = render_run(self.to_run(), staging)
                except Exception as report_exc:  # never hide the original exception
                    if hasattr(exc, "add_note"):
                        exc.add_note(f"torchperf: the partial report could not be written: {report_exc}")
            raise
        # Every task is done and saved: the staged files replace the previous run's.
        promote_staged(self.output_dir, remove=() if report else _STALE_REPORT_FILES)
        self._staging = False
        self.report_files = {name: self.output_dir / name for name in staged}
        return self.results

    # ----------------------------------------------------------------- analysis

    def _require_results(self) -> None:
        if not self.results:
            raise InvalidParameterError(
                "no results yet; call run_full_benchmark() first (or load_run() a saved run)."
            )

    def to_frame(self) -> pd.DataFrame:
        """Return the results as a tidy DataFrame (see :func:`results_frame`)."""
        return results_frame(self.results)

    def comparisons(self, *, threshold: float = DEFAULT_NOISE_THRESHOLD) -> list[dict[str, Any]]:
        """Compare each model with the baseline on every metric.

        p-values are adjusted across all comparisons with this suite's
        ``correction`` (named in each entry's ``"correction"`` field); see
        :func:`compare_to_baseline`.
        """
        self._require_results()
        return compare_to_baseline(
            self.results,
            self.baseline,
            correction=self.correction,
            confidence_level=self.confidence_level,
            threshold=threshold,
            models=list(self.models),
            baselines=self.baselines,
        )

    def plot_pareto_frontier(self, x_metric: str = "latency", y_metric: str = "accuracy") -> Figure:
        """Plot the Pareto frontier of two metrics and save it as PNG and SVG.

        The default pair is saved as ``output_dir/pareto.png`` and
        ``pareto.svg``; other pairs as ``pareto_<x>_vs_<y>.png/.svg``.

        Returns
        -------
        matplotlib.figure.Figure

        """
        from torchperf import report

        self._require_results()
        for m in (x_metric, y_metric):
            if m not in self.results:
                raise InvalidParameterError(
                    f"metric {m!r} has no results; available: {sorted(self.results)}."
                )
        stem = (
            "pareto"
            if (x_metric, y_metric) == ("latency", "accuracy")
            else safe_filename(f"pareto_{x_metric}_vs_{y_metric}")
        )
        data = report.build_report(self.to_run())
        fig = report.pareto_figure(
            self.results,
            x_metric,
            y_metric,
            provenance=report.provenance_line(data),
            confidence_level=self.confidence_level,
        )
        report.save_figure_files(fig, self.output_dir / stem)
        return fig

    def plot_results(self, save_plots: bool = True) -> dict[str, Figure]:
        """Draw the standard figures: per-metric bars, latency distribution, Pareto.

        Parameters
        ----------
        save_plots : bool
            Also write each figure to ``output_dir`` as PNG and SVG.

        Returns
        -------
        dict
            ``{figure name: matplotlib Figure}``.

        """
        from torchperf import report

        self._require_results()
        data = report.build_report(self.to_run())
        figures = report.standard_figures(
            self.results,
            provenance=report.provenance_line(data),
            confidence_level=self.confidence_level,
        )
        if save_plots:
            for stem, fig in figures.items():
                report.save_figure_files(fig, self.output_dir / stem)
        return figures

    def generate_report(self) -> str:
        """Write ``report.md``, ``report.html``, ``results.csv``, ``results.json`` and the plots.

        After a complete run they go to ``output_dir``; after an interrupted
        one, beside its results in ``output_dir/.staging`` (the previous
        complete run's files are left alone).

        Returns
        -------
        str
            The Markdown report.

        """
        from torchperf import report

        target = staging_dir(self.output_dir) if self._staging else self.output_dir
        files = report.render_run(self.to_run(), target)
        self.report_files = dict(files)
        return files["report.md"].read_text(encoding="utf-8")


def _describe_example(x: Any) -> dict[str, Any] | None:
    """Shape and dtype of a user's example input, for the run's protocol record."""
    if x is None:
        return None
    shape = getattr(x, "shape", None)
    dtype = getattr(x, "dtype", None)
    return {
        "type": type(x).__name__,
        "shape": list(shape) if shape is not None else None,
        "dtype": str(dtype).replace("torch.", "") if dtype is not None else None,
    }


def _probe_model(x: Any) -> Any:
    """Stand-in model used only to validate datasets (never called)."""
    return x


def _failure_dict(record: Any) -> dict[str, Any]:
    """Convert a Benchmark failure record into a JSON-ready dict."""
    if isinstance(record, Mapping):
        d = dict(record)
    elif hasattr(record, "to_dict"):
        d = dict(record.to_dict())
    elif hasattr(record, "__dataclass_fields__"):
        import dataclasses

        d = dataclasses.asdict(record)
    else:
        d = {"message": str(record)}
    d.setdefault("error", d.get("error_type") or d.get("exception") or "Error")
    d.setdefault("message", str(record))
    return {str(k): v for k, v in d.items()}
