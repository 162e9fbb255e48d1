"""The import order of torchperf's layers: each module imports only from its own layer or below.

Every ``import`` in every module counts, including the lazy ones inside functions and
those under ``TYPE_CHECKING``: a lazy import still makes the lower module depend on the
higher one. A module that is not placed in a layer fails the test; put a new module
in the lowest layer whose modules it needs (and say why in the layer's comment).

The test that the library never prints or exits is next door, in
tests/test_public_api.py (``test_library_never_prints_or_exits``).
"""

from __future__ import annotations

import ast
from pathlib import Path

import torchperf

PKG = Path(torchperf.__file__).parent

#: Lowest first. A name ending in ``.*`` places a package and every module in it.
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    ("exceptions", ("torchperf.errors",)),
    # pure definitions and pure functions: no measurement, no run, no report
    ("foundations", (
        "torchperf.metrics", "torchperf.stats", "torchperf.fileio", "torchperf.models",
        "torchperf.sequential", "torchperf.memory", "torchperf.text", "torchperf._tables",
    )),
    # containers of measurements, the clocks, the machine, the models measured
    ("measurement", (
        "torchperf.result", "torchperf.torchbench", "torchperf.timing", "torchperf.environment",
        "torchperf.targets", "torchperf.zoo.*",
    )),
    # a run as a value; Pareto fronts
    ("values", ("torchperf.runfile", "torchperf.pareto")),
    # every comparison of the package; rankings and figures built on Pareto fronts
    ("comparison", ("torchperf.comparison", "torchperf.leaderboard", "torchperf.plots")),
    # measuring (Benchmark, A/B, asv benchmark types) and pure history analysis
    ("measuring and analysis", (
        "torchperf.benchmark", "torchperf.ab", "torchperf._abworker", "torchperf.asvbench.*",
        "torchperf.history.*",
    )),
    # rendering: reports of a run, the pages of the asv site
    ("rendering", ("torchperf.report", "torchperf.site", "torchperf.site.pages", "torchperf.site.offline",
                   "torchperf.site.explorer")),
    # the suite: measures, saves, then renders its report
    ("suite", ("torchperf.suite",)),
    # entry points: the CLI, the quickstart, asv's and pytest's plugin hooks, the lazy public facade
    ("entry points", (
        "torchperf", "torchperf.__main__", "torchperf.cli", "torchperf.quickstart",
        "torchperf.site.asv_plugin", "torchperf.pytest_plugin",
    )),
]


def _module_names() -> dict[str, Path]:
    out = {}
    for path in PKG.rglob("*.py"):
        parts = path.with_suffix("").relative_to(PKG.parent).parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


MODULES = _module_names()


def layer_of(module: str) -> int | None:
    """Index in LAYERS of ``module`` (an exact name beats a ``.*`` package)."""
    for i, (_, names) in enumerate(LAYERS):
        if module in names:
            return i
    for i, (_, names) in enumerate(LAYERS):
        for name in names:
            if name.endswith(".*") and (module == name[:-2] or module.startswith(name[:-1])):
                return i
    return None


def _resolve(name: str) -> str | None:
    parts = name.split(".")
    while parts:
        if ".".join(parts) in MODULES:
            return ".".join(parts)
        parts.pop()
    return None


def imports_of(module: str) -> set[tuple[str, int]]:
    """torchperf modules ``module`` imports, with a line number each."""
    path = MODULES[module]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".")
                if path.name != "__init__.py":
                    base = base[:-1]
                base = base[: len(base) - (node.level - 1)]
                mod = ".".join([*base, *([node.module] if node.module else [])])
            else:
                mod = node.module or ""
            names = [f"{mod}.{a.name}" if f"{mod}.{a.name}" in MODULES else mod for a in node.names]
        for name in names:
            if name == "torchperf" or name.startswith("torchperf."):
                target = _resolve(name)
                if target is not None and target != module:
                    found.add((target, node.lineno))
    return found


def test_every_module_has_a_layer():
    unplaced = sorted(m for m in MODULES if layer_of(m) is None)
    assert not unplaced, (
        f"modules without a layer: {unplaced}; add each to LAYERS in tests/test_layers.py "
        "(the lowest layer whose modules it imports)"
    )


def test_each_module_imports_only_from_its_own_or_lower_layers():
    upward = []
    for module in sorted(MODULES):
        mine = layer_of(module)
        if mine is None:
            continue
        for target, line in sorted(imports_of(module)):
            theirs = layer_of(target)
            if theirs is not None and theirs > mine:
                upward.append(
                    f"{module}:{line} imports {target} "
                    f"({LAYERS[mine][0]!r} layer imports the higher {LAYERS[theirs][0]!r} layer)"
                )
    assert not upward, "\n".join(upward)


def test_the_checker_sees_lazy_relative_and_from_imports(tmp_path):
    """The parser is not vacuous: it finds the imports the issue named."""
    assert ("torchperf.report", 0) not in imports_of("torchperf.suite")  # line numbers are real
    assert "torchperf.report" in {t for t, _ in imports_of("torchperf.suite")}  # lazy, in a method
    assert "torchperf.stats" in {t for t, _ in imports_of("torchperf.result")}  # from torchperf import stats
    assert "torchperf.zoo._base" in {t for t, _ in imports_of("torchperf.zoo.mlp")}
    assert layer_of("torchperf.history.changepoints") == layer_of("torchperf.history")
    assert layer_of("torchperf.site.asv_plugin") > layer_of("torchperf.site.pages")


def test_named_layering_rules_of_issue_14():
    """report does not import suite; site pages import neither the zoo nor the package root."""
    assert "torchperf.suite" not in {t for t, _ in imports_of("torchperf.report")}
    pages = {t for t, _ in imports_of("torchperf.site.pages")}
    assert not {t for t in pages if t == "torchperf" or t.startswith("torchperf.zoo")}, pages
    history = {t for m in MODULES if m.startswith("torchperf.history") for t, _ in imports_of(m)}
    assert not {t for t in history if t.startswith("torchperf.site")}, "history/ is pure analysis"
