"""torchperf inside airspeed velocity (asv).

* :mod:`torchperf.asvbench.types`: the ``latency_`` and ``peakbytes_`` benchmark types;
* :func:`register`: add them to asv_runner (call it from ``benchmarks/__init__.py``);
* :func:`guard_imports`: a benchmark module that fails to import becomes a failed
  benchmark instead of stopping asv's discovery;
* :func:`asv_check` (``torchperf asv-check``), :func:`check_types`, :func:`check_suite`:
  what asv will see;
* :mod:`torchperf.asvbench.envrecord`: per-(machine, commit, environment) facts
  (imported NumPy, BLAS, CPU) stored next to asv's results, and the check that
  refuses to store results under the wrong environment.

The package is named ``asvbench`` so that it never shadows the ``asv`` package.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "register": "torchperf.asvbench.check",
    "guard_imports": "torchperf.asvbench.guard",
    "IMPORT_FAILURES": "torchperf.asvbench.guard",
    "check_types": "torchperf.asvbench.check",
    "asv_check": "torchperf.asvbench.check",
    "check_suite": "torchperf.asvbench.check",
    "LatencyBenchmark": "torchperf.asvbench.types",
    "PeakBytesBenchmark": "torchperf.asvbench.types",
    "TORCHPERF_TYPES": "torchperf.asvbench.types",
    "record_environment": "torchperf.asvbench.envrecord",
    "record_environment_once": "torchperf.asvbench.envrecord",
    "verify_environment": "torchperf.asvbench.envrecord",
    "resolve_context": "torchperf.asvbench.envrecord",
    "read_environment_records": "torchperf.asvbench.envrecord",
    "env_record_path": "torchperf.asvbench.envrecord",
    "expected_versions": "torchperf.asvbench.envrecord",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'torchperf.asvbench' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
