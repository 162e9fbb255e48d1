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


def test_all_is_complete():
    """Every public class/function defined in a layer-0..6 module's __all__ is exported."""
    exported = set(torchperf.__all__)
    missing = []
    for mod_name in ("errors", "metrics", "result", "timing", "benchmark", "suite", "pareto"):
        try:
            mod = importlib.import_module(f"torchperf.{mod_name}")
        except ModuleNotFoundError:
            continue
        for public in getattr(mod, "__all__", []):
            if public not in exported:
                missing.append(f"torchperf.{mod_name}.{public}")
    assert not missing, f"not exported from torchperf: {missing}"


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
    """Only torchperf/cli.py may print or call sys.exit (DESIGN: the library never prints)."""
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
