"""torchperf: benchmarking harness for machine-learning models.

Measure latency, throughput, accuracy, peak memory and model size with
statistics a performance engineer can trust, compare models and commits with
significance tests and effect sizes, find Pareto frontiers, write reports, and
track history across commits and NumPy/BLAS builds through airspeed velocity.

The public API is imported lazily so that ``import torchperf`` stays cheap
(matplotlib, pandas and scikit-learn load only when used).
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

# public name -> module that defines it
_EXPORTS: dict[str, str] = {
    # errors
    "BenchmarkTimeoutError": "torchperf.errors",
    "CorruptResultsWarning": "torchperf.errors",
    "EnvironmentMismatchError": "torchperf.errors",
    "InvalidParameterError": "torchperf.errors",
    "MissingDependencyError": "torchperf.errors",
    "ModelError": "torchperf.errors",
    "OutputLockedError": "torchperf.errors",
    "ModelFailureWarning": "torchperf.errors",
    "ResultsFileError": "torchperf.errors",
    "SmallSampleWarning": "torchperf.errors",
    "TorchperfError": "torchperf.errors",
    "TorchperfWarning": "torchperf.errors",
    "UnstableMeasurementWarning": "torchperf.errors",
    "WarmupNotConvergedWarning": "torchperf.errors",
    # metrics
    "Direction": "torchperf.metrics",
    "HISTORY_METRICS": "torchperf.metrics",
    "METRICS": "torchperf.metrics",
    "METRIC_NAMES": "torchperf.metrics",
    "Metric": "torchperf.metrics",
    "get_metric": "torchperf.metrics",
    "lookup_metric": "torchperf.metrics",
    # result
    "BenchmarkResult": "torchperf.result",
    "Comparison": "torchperf.result",
    "format_quantity": "torchperf.result",
    "compare_result_samples": "torchperf.result",
    # comparison
    "Finding": "torchperf.comparison",
    "adjust": "torchperf.comparison",
    "baseline_findings": "torchperf.comparison",
    "compare_results": "torchperf.comparison",
    "compare_runs": "torchperf.comparison",
    "compare_to_baseline": "torchperf.comparison",
    "decide": "torchperf.comparison",
    "run_correction": "torchperf.comparison",
    "run_findings": "torchperf.comparison",
    # timing
    "AdaptiveStop": "torchperf.timing",
    "AdaptiveWarmup": "torchperf.timing",
    "Calibration": "torchperf.timing",
    "FixedStop": "torchperf.timing",
    "FixedWarmup": "torchperf.timing",
    "Measurement": "torchperf.timing",
    "StopDecision": "torchperf.timing",
    "WarmupReport": "torchperf.timing",
    "calibrate_loops": "torchperf.timing",
    "clock_pair_gap_s": "torchperf.timing",
    "measure": "torchperf.timing",
    "measure_in_processes": "torchperf.timing",
    "precise_timer": "torchperf.timing",
    "resolve_target": "torchperf.timing",
    "steady_state_check": "torchperf.timing",
    "timer_overhead_s": "torchperf.timing",
    "timer_resolution_s": "torchperf.timing",
    # benchmark
    "Benchmark": "torchperf.benchmark",
    "FailureRecord": "torchperf.benchmark",
    # runfile
    "Run": "torchperf.runfile",
    "RunFlags": "torchperf.runfile",
    # suite
    "BenchmarkSuite": "torchperf.suite",
    "load_run": "torchperf.suite",
    "results_frame": "torchperf.suite",
    "save_run": "torchperf.suite",
    # pareto
    "DEFAULT_DIRECTIONS": "torchperf.pareto",
    "Estimate": "torchperf.pareto",
    "ParetoResult": "torchperf.pareto",
    "dominates": "torchperf.pareto",
    "estimate": "torchperf.pareto",
    "pareto_front": "torchperf.pareto",
    "significantly_better": "torchperf.pareto",
    # stats
    "SampleComparison": "torchperf.stats",
    "benjamini_hochberg": "torchperf.stats",
    "classify_outliers": "torchperf.stats",
    "compare_replicates": "torchperf.stats",
    "compare_samples": "torchperf.stats",
    "holm": "torchperf.stats",
    "mean_ci": "torchperf.stats",
    "median_ci": "torchperf.stats",
    "quantile_ci": "torchperf.stats",
    "required_sample_size": "torchperf.stats",
    "summarize": "torchperf.stats",
    "tost": "torchperf.stats",
    # memory
    "MemoryMeasurement": "torchperf.memory",
    "measure_peak_memory": "torchperf.memory",
    # environment
    "collect_environment": "torchperf.environment",
    "noise_checks": "torchperf.environment",
    # report
    "render_run": "torchperf.report",
    "summary_table": "torchperf.report",
    # leaderboard
    "olympics": "torchperf.leaderboard",
}

__all__ = ["__version__", *sorted(_EXPORTS)]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'torchperf' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
