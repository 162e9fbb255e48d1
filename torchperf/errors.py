"""Exceptions and warnings raised by torchperf.

Every exception derives from :class:`TorchperfError` *and* from the builtin
exception a caller would naturally catch, so ``except ValueError`` keeps
working for code that does not know about torchperf::

    Exception
     └── TorchperfError
          ├── InvalidParameterError      (also ValueError)   bad argument or data
          ├── ResultsFileError           (also ValueError)   unreadable / corrupt / unknown-schema results
          ├── ModelError                 (also RuntimeError) a user's model raised, returned garbage, rejected input
          ├── BenchmarkTimeoutError      (also TimeoutError) a benchmark exceeded its time limit
          ├── MissingDependencyError     (also ImportError)  an optional package (torch, chromium) is absent
          ├── OutputLockedError          (also RuntimeError) another run holds the output directory's lock
          └── EnvironmentMismatchError   (also RuntimeError) results would be stored under the wrong environment

    UserWarning
     └── TorchperfWarning
          ├── UnstableMeasurementWarning     high dispersion, too-short samples, drift
          │    └── WarmupNotConvergedWarning  adaptive warmup hit its cap without reaching steady state
          ├── SmallSampleWarning             too few samples for the requested statistic
          ├── ModelFailureWarning            one model failed; the others were still measured
          └── CorruptResultsWarning          a results file was skipped while loading a directory

Only the CLI turns these into exit codes (2 for user errors); the library
never prints or exits.
"""

from __future__ import annotations

__all__ = [
    "BenchmarkTimeoutError",
    "CorruptResultsWarning",
    "EnvironmentMismatchError",
    "InvalidParameterError",
    "MissingDependencyError",
    "ModelError",
    "ModelFailureWarning",
    "OutputLockedError",
    "ResultsFileError",
    "SmallSampleWarning",
    "TorchperfError",
    "TorchperfWarning",
    "UnstableMeasurementWarning",
    "WarmupNotConvergedWarning",
]


class TorchperfError(Exception):
    """Base class of every exception torchperf raises on purpose."""


class InvalidParameterError(TorchperfError, ValueError):
    """An argument or a data value violates the documented contract."""


class ResultsFileError(TorchperfError, ValueError):
    """A results, cache or configuration file is unreadable, corrupt or of an unknown schema."""


class ModelError(TorchperfError, RuntimeError):
    """A user's model raised, returned non-finite output, or rejected its input."""


class BenchmarkTimeoutError(TorchperfError, TimeoutError):
    """A benchmark ran longer than its time limit."""


class MissingDependencyError(TorchperfError, ImportError):
    """An optional dependency needed for the requested feature is not installed."""


class OutputLockedError(TorchperfError, RuntimeError):
    """Another torchperf run is writing to the same output directory (its lock is held)."""


class EnvironmentMismatchError(TorchperfError, RuntimeError):
    """The running environment differs from the one results are being stored under."""


class TorchperfWarning(UserWarning):
    """Base class of torchperf's warnings."""


class UnstableMeasurementWarning(TorchperfWarning):
    """Measurements are too noisy or too short to be trusted as they are."""


class WarmupNotConvergedWarning(UnstableMeasurementWarning):
    """An adaptive warmup reached its cap without reaching steady state."""


class SmallSampleWarning(TorchperfWarning):
    """Too few samples for the statistic that was asked for (e.g. n = 1)."""


class ModelFailureWarning(TorchperfWarning):
    """One model failed during a benchmark; the others were still measured."""


class CorruptResultsWarning(TorchperfWarning):
    """A results file was skipped because it is corrupt or truncated."""
