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
    "TorchperfError": "torchperf.errors",
    "InvalidParameterError": "torchperf.errors",
    "ResultsFileError": "torchperf.errors",
    "ModelError": "torchperf.errors",
    "BenchmarkTimeoutError": "torchperf.errors",
    "MissingDependencyError": "torchperf.errors",
    "EnvironmentMismatchError": "torchperf.errors",
    "TorchperfWarning": "torchperf.errors",
    "UnstableMeasurementWarning": "torchperf.errors",
    "WarmupNotConvergedWarning": "torchperf.errors",
    "SmallSampleWarning": "torchperf.errors",
    "ModelFailureWarning": "torchperf.errors",
    "CorruptResultsWarning": "torchperf.errors",
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
