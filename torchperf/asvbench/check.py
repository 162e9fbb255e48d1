"""Registration of torchperf's asv types, and the check behind ``torchperf asv-check``.

asv_runner finds benchmark types in two places only: its own modules and
installed distributions named ``asv_bench*``; errors while importing the
latter are swallowed. torchperf therefore registers explicitly: a suite's
``benchmarks/__init__.py`` calls :func:`register`, which appends
torchperf's types to ``asv_runner.benchmarks.benchmark_types`` (the list the
discovery code iterates) before asv imports the suite's modules. This works
in asv-managed virtualenvs and with ``--python=same`` alike.

:func:`check_types` lists what asv will see; :func:`check_suite` imports a
suite directory the way asv does and reports every benchmark, its type and
every module that failed to import.
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
import traceback
from pathlib import Path
from typing import Any

from torchperf.errors import InvalidParameterError, MissingDependencyError

__all__ = ["asv_check", "check_suite", "check_types", "register"]


def _benchmark_types() -> list:
    try:
        from asv_runner.benchmarks import benchmark_types
    except ImportError as exc:  # pragma: no cover - asv_runner is a dependency
        raise MissingDependencyError(
            f"asv_runner is not importable ({exc}); install it with `pip install asv_runner`."
        ) from exc
    return benchmark_types


def register() -> list[str]:
    """Append torchperf's benchmark types to asv_runner's list (idempotent).

    Returns
    -------
    list of str
        The names of the types that were newly added (empty when already registered).

    """
    from torchperf.asvbench.types import TORCHPERF_TYPES

    types = _benchmark_types()
    present = {(t.__module__, t.__qualname__) for t in types}
    added = []
    for t in TORCHPERF_TYPES:
        if (t.__module__, t.__qualname__) not in present:
            # before asv's built-ins: no prefix collides, but a user's catch-all type must not win
            types.insert(len(added), t)
            added.append(t.__name__)
    return added


def check_types(*, register_first: bool = True) -> list[dict[str, Any]]:
    """List the benchmark types asv_runner will use, in matching order.

    Parameters
    ----------
    register_first : bool, default True
        Call :func:`register` first (what a suite's ``benchmarks/__init__.py`` does).

    Returns
    -------
    list of dict
        One dict per type: ``name`` (class name), ``module``, ``pattern``
        (the name regex), ``source`` (``"torchperf"``, ``"asv_runner"`` or
        ``"plugin"``), ``unit`` (when known) and ``ok`` (True). If torchperf's
        types cannot be imported, one entry per missing type with ``ok`` False
        and ``error`` holding the exception text.

    """
    rows: list[dict[str, Any]] = []
    if register_first:
        try:
            register()
        except Exception as exc:
            for name in ("LatencyBenchmark", "PeakBytesBenchmark"):
                rows.append(
                    {
                        "name": name,
                        "module": "torchperf.asvbench.types",
                        "pattern": None,
                        "source": "torchperf",
                        "unit": None,
                        "ok": False,
                        "error": f"{type(exc).__name__}: {exc}",
                    }
                )
    units = {"LatencyBenchmark": "seconds", "PeakBytesBenchmark": "bytes"}
    for t in _benchmark_types():
        mod = t.__module__
        source = (
            "torchperf"
            if mod.startswith("torchperf.")
            else "asv_runner"
            if mod.startswith("asv_runner.")
            else "plugin"
        )
        rows.append(
            {
                "name": t.__name__,
                "module": mod,
                "pattern": t.name_regex.pattern,
                "source": source,
                "unit": units.get(t.__name__),
                "ok": True,
            }
        )
    return rows


def check_suite(benchmark_dir: str | os.PathLike[str]) -> dict[str, Any]:
    """Discover a suite the way asv_runner does and report what was found and what failed.

    Import errors do not stop the discovery (as with asv's
    ``ignore_import_errors``); each is reported with its traceback.

    Parameters
    ----------
    benchmark_dir : path-like
        The suite's directory (``benchmark_dir`` of ``asv.conf.json``), a
        Python package whose ``__init__.py`` normally calls :func:`register`.

    Returns
    -------
    dict
        ``benchmarks``: list of ``{"name", "type", "unit", "params"}``;
        ``by_type``: counts per type; ``import_errors``: list of
        ``{"module", "error", "traceback"}`` (``"guarded": True`` when
        :func:`~torchperf.asvbench.guard.guard_imports` turned the module into
        a failing stand-in, so asv still runs the rest); ``ok``: no import errors and at least one benchmark.

    Raises
    ------
    InvalidParameterError
        If ``benchmark_dir`` is not a directory.

    """
    root = Path(benchmark_dir).resolve()
    if not root.is_dir():
        raise InvalidParameterError(
            f"`benchmark_dir` must be an existing directory (asv's benchmark_dir); got {str(root)!r}."
        )
    from asv_runner._aux import update_sys_path
    from asv_runner.discovery import disc_benchmarks

    name = root.name
    # a fresh import of the suite: forget modules from a previous check of another suite
    from torchperf.asvbench.guard import IMPORT_FAILURES

    for mod in [m for m in sys.modules if m == name or m.startswith(name + ".")]:
        del sys.modules[mod]
    for mod in [m for m in IMPORT_FAILURES if m.startswith(name + ".")]:
        del IMPORT_FAILURES[mod]
    update_sys_path(str(root))
    stderr = io.StringIO()
    benchmarks = []
    with contextlib.redirect_stderr(stderr):
        try:
            for b in disc_benchmarks(str(root), ignore_import_errors=True):
                benchmarks.append(
                    {"name": b.name, "type": b.type, "unit": b.unit, "params": b.params}
                )
            fatal = None
        except Exception:
            fatal = traceback.format_exc()
    errors = []
    text = stderr.getvalue()
    if text.strip():
        # disc_modules prints one traceback per failed module
        for chunk in text.split("Traceback (most recent call last):"):
            chunk = chunk.strip()
            if chunk:
                last = chunk.splitlines()[-1]
                mod = None
                for line in chunk.splitlines():
                    if 'File "' in line and str(root) in line:
                        mod = line.split('File "', 1)[1].split('"', 1)[0]
                errors.append({"module": mod, "error": last, "traceback": chunk})
    from torchperf.asvbench.guard import IMPORT_FAILURES

    for mod, tb in IMPORT_FAILURES.items():
        if mod.startswith(name + "."):
            errors.append(
                {"module": mod, "error": tb.strip().splitlines()[-1], "traceback": tb,
                 "guarded": True}
            )
    if fatal:
        errors.append({"module": None, "error": fatal.strip().splitlines()[-1], "traceback": fatal})
    by_type: dict[str, int] = {}
    for b in benchmarks:
        by_type[b["type"]] = by_type.get(b["type"], 0) + 1
    return {
        "benchmark_dir": str(root),
        "benchmarks": benchmarks,
        "by_type": by_type,
        "import_errors": errors,
        "ok": not errors and bool(benchmarks),
    }


def asv_check(conf_dir: str | os.PathLike[str] = ".") -> dict[str, Any]:
    """What ``torchperf asv-check`` reports: the types asv will see and the suite's state.

    Parameters
    ----------
    conf_dir : path-like
        Directory holding ``asv.conf.json`` (its ``benchmark_dir`` is checked).
        Without a configuration only the types are checked.

    Returns
    -------
    dict
        ``types`` (:func:`check_types`), ``suite`` (:func:`check_suite`, or
        ``None`` without ``asv.conf.json``), ``environment``
        (:func:`~torchperf.asvbench.envrecord.verify_environment` of this
        interpreter) and ``ok``: torchperf's types are registered, and the
        suite (if any) imports cleanly. The CLI maps ``ok`` to exit 0 and
        anything else to exit 2.

    """
    from torchperf.asvbench.envrecord import load_asv_conf, verify_environment
    from torchperf.errors import ResultsFileError

    types = check_types()
    types_ok = {r["name"] for r in types if r["source"] == "torchperf" and r["ok"]} >= {
        "LatencyBenchmark",
        "PeakBytesBenchmark",
    }
    suite = None
    conf_path = Path(conf_dir) / "asv.conf.json"
    if conf_path.is_file():
        try:
            conf = load_asv_conf(conf_dir)
        except ResultsFileError as exc:
            suite = {"ok": False, "import_errors": [{"module": None, "error": str(exc)}]}
        else:
            suite = check_suite(Path(conf_dir) / conf.get("benchmark_dir", "benchmarks"))
    try:
        env = verify_environment()
    except Exception as exc:  # EnvironmentMismatchError: report, don't raise
        env = {"verified": False, "error": str(exc)}
    ok = types_ok and (suite is None or suite["ok"]) and "error" not in env
    return {"types": types, "suite": suite, "environment": env, "ok": ok}
