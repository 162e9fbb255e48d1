"""The public API in torchperf/__init__.py is complete and importable."""

import ast
import importlib
import pkgutil

import torchperf


def test_every_exported_name_resolves():
    for name in torchperf.__all__:
        assert getattr(torchperf, name) is not None, name


def test_version_matches_metadata():
    from importlib.metadata import version

    assert torchperf.__version__ == version("torchperf")


#: Modules whose whole ``__all__`` is re-exported by ``import torchperf``.
FACADE = frozenset({
    "torchperf.errors", "torchperf.metrics", "torchperf.result", "torchperf.timing",
    "torchperf.benchmark", "torchperf.suite", "torchperf.pareto", "torchperf.comparison",
})

#: Modules used through their own name (``torchperf.stats.format_p``), with the reason; the
#: few of their names that ``torchperf`` also re-exports must be in their ``__all__``.
NAMESPACES: dict[str, str] = {
    "torchperf.stats": "statistics on arrays; the common ones are also top level",
    "torchperf.runfile": "the run file: Run/RunFlags top level, schema constants and upgrade here",
    "torchperf.environment": "machine facts; collect_environment/noise_checks top level",
    "torchperf.memory": "peak memory; measure_peak_memory top level",
    "torchperf.models": "how a model is called (used by Benchmark)",
    "torchperf.targets": "`module:attribute` targets of the CLI",
    "torchperf.fileio": "atomic files, locks and staging used across the package",
    "torchperf.plots": "matplotlib figures (import matplotlib only when used)",
    "torchperf.report": "rendering a run; render_run/summary_table top level",
    "torchperf.leaderboard": "the Olympics events; olympics top level",
    "torchperf.sequential": "the always-valid sequential test behind torchperf ab",
    "torchperf.ab": "torchperf ab: interleaved A/B of two revisions",
    "torchperf.cli": "the console script",
    "torchperf.text": "display names and escaping of user strings",
    "torchperf.torchbench": "conversion to and from torch.utils.benchmark measurements",
    "torchperf.pytest_plugin": "the pytest plugin (torchperf_benchmark fixture), an entry point",
    "torchperf.quickstart": "torchperf quickstart",
    "torchperf.history": "asv history analysis, its own namespace (docs/history.md)",
    "torchperf.site": "the pages of the asv site, its own namespace (docs/site.md)",
    "torchperf.zoo": "the reference models, their own namespace (docs/zoo.md)",
    "torchperf.asvbench": "asv benchmark types, their own namespace (docs/asv.md)",
}


def _all_modules() -> list[str]:
    names = []
    for info in pkgutil.walk_packages(torchperf.__path__, prefix="torchperf."):
        if info.name.rsplit(".", 1)[-1] in {"__main__"}:
            continue  # running it is the CLI
        names.append(info.name)
    return sorted(names)


def _group(module: str) -> str:
    """``torchperf.history.loader`` -> ``torchperf.history``; top-level modules are their own."""
    return ".".join(module.split(".")[:2])


def test_all_is_complete():
    """Every module declares its public names; the facade modules are exported whole.

    Covers every module of the package: a new module fails until it has an ``__all__``
    and is placed in FACADE or NAMESPACES (private ``_modules`` need neither).
    """
    exported = set(torchperf.__all__)
    problems = []
    for name in _all_modules():
        if name.rsplit(".", 1)[-1].startswith("_"):
            continue
        group = _group(name)
        if group not in FACADE and group not in NAMESPACES:
            problems.append(f"{name}: place it in FACADE or NAMESPACES in tests/test_public_api.py")
            continue
        mod = importlib.import_module(name)
        public = getattr(mod, "__all__", None)
        if public is None:
            problems.append(f"{name}: no __all__")
            continue
        problems += [f"{name}.{p}: in __all__ but not defined" for p in public if not hasattr(mod, p)]
        if name in FACADE:
            problems += [f"torchperf.{p} missing (from {name})" for p in public if p not in exported]
    for public, module in torchperf._EXPORTS.items():
        if public not in getattr(importlib.import_module(module), "__all__", ()):
            problems.append(f"torchperf.{public} comes from {module}, whose __all__ does not list it")
    assert not problems, "\n".join(problems)


def test_import_is_lazy():
    """``import torchperf`` must not import matplotlib, pandas, sklearn or torch."""
    import subprocess
    import sys

    code = (
        "import sys, torchperf; heavy = [m for m in ('matplotlib', 'pandas', 'sklearn', 'torch') "
        "if m in sys.modules]; print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_library_never_prints_or_exits():
    """Only torchperf/cli.py may print or call sys.exit (the project rule: the library never prints)."""
    offenders = []
    pkg_path = torchperf.__path__[0]
    for info in pkgutil.walk_packages([pkg_path], prefix="torchperf."):
        if info.name in {"torchperf.cli", "torchperf.__main__"}:
            continue
        spec = importlib.util.find_spec(info.name)
        if spec is None or not spec.origin or not spec.origin.endswith(".py"):
            continue
        tree = ast.parse(open(spec.origin, encoding="utf-8").read())
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                f = node.func
                if isinstance(f, ast.Name) and f.id in {"print", "exit", "quit"}:
                    offenders.append(f"{info.name}:{node.lineno} {f.id}()")
                if (
                    isinstance(f, ast.Attribute)
                    and f.attr == "exit"
                    and isinstance(f.value, ast.Name)
                    and f.value.id in {"sys", "os"}
                ):
                    offenders.append(f"{info.name}:{node.lineno} {f.value.id}.exit()")
    assert not offenders, offenders
