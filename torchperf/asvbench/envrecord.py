"""Record, per commit and environment, the facts an asv run actually ran with.

asv's own results say which *requested* environment a number belongs to
(``virtualenv-py3.11-numpy1.26.4-...``), not which NumPy was imported nor which
BLAS it used. torchperf writes those facts next to asv's results, one file per
(machine, commit, environment)::

    <results_dir>/<machine>/torchperf-env/<commit[:8]>-<env_name>.tpenv

The file is JSON (strict, atomically written); its extension is not ``.json``
so that asv's results walker never tries to load it. Its fields are listed in
:data:`SCHEMA` and documented in ``docs/asv.md``.

Where the facts come from:

* ``ASV_COMMIT``, ``ASV_ENV_NAME``, ``ASV_CONF_DIR`` when asv manages the
  environment;
* with ``--python=same`` / ``-E existing`` asv sets none of them: the
  configuration is found by walking up from the benchmark suite's directory
  to ``asv.conf.json``, the commit is ``git rev-parse HEAD`` there and the
  environment name is the one asv gives an existing interpreter
  (``existing-py_<path with / replaced by _>``);
* the machine name is ``TORCHPERF_ASV_MACHINE`` if set, else the only machine
  in ``~/.asv-machine.json``, else the host name (asv's own default).

Before anything is stored, :func:`verify_environment` compares the versions
the process imported with the versions the environment name promises
(``numpy1.26.4`` ...) and raises :class:`~torchperf.errors.EnvironmentMismatchError`
on any difference, so a benchmark never records a number under the wrong
environment (asv then marks it failed, with the message in its log).
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import platform
import re
import sys
from pathlib import Path
from typing import Any

from torchperf.errors import EnvironmentMismatchError, ResultsFileError
from torchperf.fileio import atomic_write_json, read_asv_config, read_json, safe_filename

__all__ = [
    "ENV_STORE_DIRNAME",
    "ENV_STORE_SUFFIX",
    "SCHEMA",
    "RunContext",
    "collect_run_facts",
    "env_record_path",
    "expected_versions",
    "find_conf_dir",
    "load_asv_conf",
    "read_environment_records",
    "record_environment",
    "record_environment_once",
    "resolve_context",
    "verify_environment",
]

ENV_STORE_DIRNAME = "torchperf-env"
ENV_STORE_SUFFIX = ".tpenv"
SCHEMA = "torchperf.asv-env"
SCHEMA_VERSION = 1

_DONE: dict[str, Path] = {}


class RunContext(dict):
    """Where a benchmark process stores its facts.

    A dict with keys ``conf_dir``, ``results_dir``, ``machine``, ``machine_source``, ``commit``,
    ``commit_source``, ``env_name``, ``env_source``.
    """


def load_asv_conf(conf_dir: str | os.PathLike[str]) -> dict[str, Any]:
    """Read ``asv.conf.json`` from ``conf_dir`` (``//`` comment lines allowed).

    Raises
    ------
    ResultsFileError
        If the file is missing or not valid JSON.

    """
    return read_asv_config(Path(conf_dir) / "asv.conf.json")


def find_conf_dir(start: str | os.PathLike[str] | None) -> Path | None:
    """Return the nearest directory at or above ``start`` holding ``asv.conf.json``."""
    if start is None:
        return None
    p = Path(start).resolve()
    if p.is_file():
        p = p.parent
    for cand in (p, *p.parents):
        if (cand / "asv.conf.json").is_file():
            return cand
    return None


def _machine_name() -> tuple[str, str]:
    forced = os.environ.get("TORCHPERF_ASV_MACHINE")
    if forced:
        return forced, "TORCHPERF_ASV_MACHINE"
    path = Path(os.path.expanduser("~/.asv-machine.json"))
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        names = [k for k in data if k != "version"]
        if len(names) == 1:
            return names[0], "~/.asv-machine.json"
    except (OSError, ValueError, AttributeError):
        pass
    return platform.node(), "hostname"


def _git_head(conf_dir: Path) -> str | None:
    from torchperf.environment import git_info

    info = git_info(conf_dir)
    sha = info["commit"] if info else None
    return sha if sha and re.fullmatch(r"[0-9a-f]{7,64}", sha) else None


def _module_file(attr_sources: list | None) -> str | None:
    for src in reversed(attr_sources or []):
        f = getattr(src, "__file__", None)
        if isinstance(f, str):
            return f
    return None


def resolve_context(
    attr_sources: list | None = None, *, environ: dict[str, str] | None = None
) -> RunContext:
    """Work out conf dir, results dir, machine, commit and environment name for this process.

    Parameters
    ----------
    attr_sources : list, optional
        The benchmark's attribute sources (its module is used to find
        ``asv.conf.json`` when ``ASV_CONF_DIR`` is not set).
    environ : dict, optional
        Environment variables (default ``os.environ``); for tests.

    """
    env = os.environ if environ is None else environ
    conf_dir: Path | None = Path(env["ASV_CONF_DIR"]) if env.get("ASV_CONF_DIR") else None
    if conf_dir is None:
        conf_dir = find_conf_dir(_module_file(attr_sources)) or find_conf_dir(os.getcwd())
    results_dir = None
    if conf_dir is not None:
        try:
            conf = load_asv_conf(conf_dir)
            results_dir = (conf_dir / conf.get("results_dir", "results")).resolve()
        except ResultsFileError:
            results_dir = None
    machine, machine_source = _machine_name()
    commit = env.get("ASV_COMMIT")
    commit_source = "ASV_COMMIT"
    if not commit:
        commit = _git_head(conf_dir) if conf_dir is not None else None
        commit_source = "git HEAD of the asv.conf.json directory" if commit else "unknown"
    env_name = env.get("ASV_ENV_NAME")
    env_source = "ASV_ENV_NAME"
    if not env_name:
        env_name = "existing-py" + sys.executable.replace(os.path.sep, "_")
        env_source = "existing interpreter (--python=same)"
    return RunContext(
        conf_dir=str(conf_dir) if conf_dir else None,
        results_dir=str(results_dir) if results_dir else None,
        machine=machine,
        machine_source=machine_source,
        commit=commit,
        commit_source=commit_source,
        env_name=env_name,
        env_source=env_source,
    )


def expected_versions(env_name: str, package_names: list[str] | None = None) -> dict[str, str]:
    """Versions an asv environment name promises, e.g. ``{"numpy": "1.26.4"}``.

    asv names an environment ``<tool>-py<python>-<name><version>-...`` from its
    matrix requirements (``pip+`` prefixes kept). Tokens are matched against
    ``package_names`` (default: numpy, scipy, scikit-learn, threadpoolctl,
    psutil, joblib, torch); a package listed without a version is not pinned
    and is not returned.
    """
    names = package_names or [
        "numpy",
        "scipy",
        "scikit-learn",
        "threadpoolctl",
        "psutil",
        "joblib",
        "torch",
    ]
    out: dict[str, str] = {}
    for name in names:
        m = re.search(rf"(?:^|-)(?:pip\+)?{re.escape(name)}(\d[^-]*)(?=-|$)", env_name)
        if m:
            out[name] = m.group(1)
    return out


def _installed_version(name: str) -> str | None:
    if name == "numpy" and "numpy" in sys.modules:
        return str(sys.modules["numpy"].__version__)
    from importlib import metadata

    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def verify_environment(env_name: str | None = None) -> dict[str, Any]:
    """Check that the packages this process imports match the asv environment's pins.

    NumPy is checked through the module actually imported (``numpy.__version__``);
    other pinned packages through their installed metadata.

    Parameters
    ----------
    env_name : str, optional
        asv environment name; default ``ASV_ENV_NAME``. Without one (``--python=same``)
        nothing is pinned and the check passes with ``{"verified": False}``.

    Returns
    -------
    dict
        ``{"verified": bool, "expected": {...}, "actual": {...}}``.

    Raises
    ------
    EnvironmentMismatchError
        If any pinned version differs from the one in use.

    """
    import numpy

    name = env_name if env_name is not None else os.environ.get("ASV_ENV_NAME")
    if not name:
        return {"verified": False, "expected": {}, "actual": {"numpy": numpy.__version__}}
    expected = expected_versions(name)
    actual = {pkg: _installed_version(pkg) for pkg in expected}
    bad = {p: (v, actual[p]) for p, v in expected.items() if actual[p] != v}
    if bad:
        detail = ", ".join(f"{p}: expected {e}, imported {a}" for p, (e, a) in sorted(bad.items()))
        raise EnvironmentMismatchError(
            f"refusing to store results under asv environment {name!r}: {detail}. "
            "Something reinstalled a different version (asv installs the project with "
            "`pip install --force-reinstall`, which upgrades unpinned dependencies). "
            "Install the project with --no-deps (see install_command in asv.conf.json) "
            "and pin every dependency per matrix cell, then delete the environment "
            "directory under env_dir and re-run."
        )
    return {"verified": True, "expected": expected, "actual": actual}


def collect_run_facts() -> dict[str, Any]:
    """NumPy, BLAS (threadpoolctl), CPU and thread settings of this process, JSON-ready."""
    import numpy

    facts: dict[str, Any] = {
        "python": platform.python_version(),
        "python_executable": sys.executable,
        "numpy_version": numpy.__version__,
        "numpy_file": getattr(numpy, "__file__", None),
        "platform": platform.platform(),
        "machine_arch": platform.machine(),
        "processor": platform.processor(),
        "cpu_count": os.cpu_count(),
        "thread_env": {
            k: os.environ[k]
            for k in (
                "OMP_NUM_THREADS",
                "OPENBLAS_NUM_THREADS",
                "MKL_NUM_THREADS",
                "BLIS_NUM_THREADS",
                "VECLIB_MAXIMUM_THREADS",
            )
            if k in os.environ
        },
    }
    try:
        from torchperf.environment import blas_info

        facts["blas"] = blas_info()
    except ImportError:
        try:
            from threadpoolctl import threadpool_info

            facts["blas"] = [
                {
                    k: d.get(k)
                    for k in (
                        "user_api",
                        "internal_api",
                        "version",
                        "num_threads",
                        "threading_layer",
                        "architecture",
                        "filepath",
                        "prefix",
                    )
                }
                for d in threadpool_info()
            ]
        except ImportError:
            facts["blas"] = []
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    facts["cpu_model"] = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        from importlib import metadata

        facts["packages"] = {
            name: _installed_version(name)
            for name in ("numpy", "scipy", "scikit-learn", "threadpoolctl", "torch", "torchperf")
        }
        del metadata
    except ImportError:
        pass
    return facts


def env_record_path(results_dir: str | os.PathLike[str], machine: str, commit: str, env_name: str) -> Path:
    """Path of the facts file of one (machine, commit, environment)."""
    return (
        Path(results_dir)
        / safe_filename(machine)
        / ENV_STORE_DIRNAME
        / f"{commit[:8]}-{safe_filename(env_name, max_length=200)}{ENV_STORE_SUFFIX}"
    )


def record_environment(
    attr_sources: list | None = None,
    *,
    context: RunContext | None = None,
    overwrite: bool = False,
) -> Path | None:
    """Verify the environment, then write its facts file (atomically).

    An existing file for the same (machine, commit, environment) whose
    verified versions agree is kept (``overwrite=False``), so the many
    processes of one run collect the facts once.

    Returns the path written, or ``None`` when no results directory or commit
    could be determined (e.g. a benchmark run outside asv), in which case nothing
    is stored.

    Raises
    ------
    EnvironmentMismatchError
        See :func:`verify_environment`.

    """
    ctx = context if context is not None else resolve_context(attr_sources)
    check = verify_environment(ctx["env_name"] if ctx.get("env_source") == "ASV_ENV_NAME" else "")
    if not ctx.get("results_dir") or not ctx.get("commit"):
        return None
    path = env_record_path(ctx["results_dir"], ctx["machine"], ctx["commit"], ctx["env_name"])
    if not overwrite and path.is_file():
        try:
            old = read_json(path, what="torchperf environment record")
            if old.get("verification", {}).get("actual") == check["actual"]:
                return path
        except (ResultsFileError, AttributeError):
            pass  # unreadable: rewrite it
    doc = {
        "schema": SCHEMA,
        "schema_version": SCHEMA_VERSION,
        "recorded": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "machine": ctx["machine"],
        "machine_source": ctx["machine_source"],
        "commit": ctx["commit"],
        "commit_source": ctx["commit_source"],
        "env_name": ctx["env_name"],
        "env_source": ctx["env_source"],
        "verification": check,
        "facts": collect_run_facts(),
    }
    atomic_write_json(path, doc)
    return path


def record_environment_once(attr_sources: list | None = None) -> Path | None:
    """:func:`record_environment` at most once per process and context (cheap afterwards).

    The environment check runs every time a new context is seen; a mismatch
    raises every time, so no benchmark of that process stores a value.
    """
    key = json.dumps(
        [os.environ.get(k) for k in ("ASV_CONF_DIR", "ASV_COMMIT", "ASV_ENV_NAME")]
        + [_module_file(attr_sources)]
    )
    if key in _DONE:
        return _DONE[key]
    path = record_environment(attr_sources, context=resolve_context(attr_sources))
    _DONE[key] = path  # type: ignore[assignment]
    return path


def read_environment_records(results_dir: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """Load every facts file under ``results_dir`` (for the history tools).

    Returns a list of the stored documents, each with an added ``"path"``.
    Unreadable files raise :class:`~torchperf.errors.ResultsFileError` naming
    the file; callers that want to skip them should catch it per file via
    :func:`torchperf.fileio.read_json`.
    """
    out = []
    for p in sorted(Path(results_dir).glob(f"*/{ENV_STORE_DIRNAME}/*{ENV_STORE_SUFFIX}")):
        doc = read_json(p, what="torchperf environment record")
        if isinstance(doc, dict):
            doc["path"] = str(p)
            out.append(doc)
    return out
