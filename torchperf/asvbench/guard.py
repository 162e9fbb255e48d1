"""Keep one broken benchmark module from stopping a whole asv run.

asv discovers a suite by importing every module under ``benchmark_dir``; one
module that raises on import makes discovery fail and ``asv run`` stops
before measuring anything. :func:`guard_imports`, called from the suite's
``benchmarks/__init__.py``, imports each submodule first; a module that fails
is replaced by a stand-in holding one benchmark, ``<module>.track_import``,
whose ``setup`` re-raises the original error with its traceback. asv then
runs everything else and lists the stand-in as *failed*, showing the
traceback (``asv run --show-stderr``, ``asv show``), so the failure is
visible instead of silent or fatal.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
import traceback
import types
from collections.abc import Iterable

__all__ = ["IMPORT_FAILURES", "BenchmarkImportError", "guard_imports"]

#: ``"package.module" -> traceback text`` for every module replaced by a stand-in.
IMPORT_FAILURES: dict[str, str] = {}


class BenchmarkImportError(ImportError):
    """A benchmark module failed to import; the message carries the original traceback."""


def _stand_in(fullname: str, tb: str) -> types.ModuleType:
    mod = types.ModuleType(fullname, f"stand-in for {fullname}, which failed to import")

    def setup() -> None:
        raise BenchmarkImportError(
            f"benchmark module {fullname} failed to import; its benchmarks were not run.\n"
            f"Original error:\n{tb}"
        )

    def track_import() -> int:
        """Stand-in benchmark of a module that failed to import (its setup raises)."""
        return 0

    track_import.unit = "import"
    mod.setup = setup
    mod.track_import = track_import
    mod.__torchperf_import_error__ = tb
    return mod


def guard_imports(package: str, path: Iterable[str]) -> dict[str, str]:
    """Import every submodule of ``package``; replace each that fails by a failing stand-in.

    Parameters
    ----------
    package : str
        The suite package's name (``__name__`` in ``benchmarks/__init__.py``).
    path : iterable of str
        Its ``__path__``.

    Returns
    -------
    dict
        ``"package.module" -> traceback`` of the modules that failed in this call.

    """
    failed: dict[str, str] = {}
    for info in pkgutil.iter_modules(list(path), prefix=f"{package}."):
        name = info.name
        if name in sys.modules:
            continue
        try:
            importlib.import_module(name)
        except Exception:
            tb = traceback.format_exc()
            sys.modules[name] = _stand_in(name, tb)
            failed[name] = tb
    IMPORT_FAILURES.update(failed)
    return failed
