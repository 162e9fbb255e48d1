"""The pytest plugin (issue 16.5): fixture, --torchperf-save, --torchperf-compare gating."""

from __future__ import annotations

import re
import shlex
import sys
from pathlib import Path

import pytest

from torchperf.suite import load_run

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parents[1]
PLUGIN = ("-p", "torchperf.pytest_plugin")


def _docs_example() -> tuple[str, list[list[str]]]:
    text = (ROOT / "docs" / "pytest.md").read_text()
    block = re.search(r"<!-- pytest-example -->(.*?)<!-- /pytest-example -->", text, re.S).group(1)
    source, commands = re.findall(r"```[a-z]*\n(.*?)```", block, re.S)
    return source, [shlex.split(line) for line in commands.strip().splitlines()]


def _run(pytester, argv):
    assert argv[0] == "pytest"
    return pytester.runpytest(*PLUGIN, "-p", "no:cacheprovider", *argv[1:])


def test_docs_example_saves_compares_and_fails_on_a_regression(pytester):
    source, (save, compare) = _docs_example()
    assert source.startswith("# test_speed.py\n")
    pytester.makepyfile(test_speed=source)
    saved = _run(pytester, save)
    assert saved.ret == 0, saved.stdout.str()
    saved.stdout.fnmatch_lines(["*torchperf: saved 1 result(s) to baseline.json*"])
    run = load_run(pytester.path / "baseline.json")
    (result,) = run.results["latency"].values() if hasattr(run, "results") else run["results"][
        "latency"].values()
    assert result.count == 20 and result.unit == "s"
    assert list(run["results"]["latency"]) == ["test_speed.py::test_squares"]

    # the compare command as written runs and prints the CLI's comparison
    again = _run(pytester, compare)
    assert again.ret in (0, 1)  # an A/A verdict inside one process each is not guaranteed
    again.stdout.fnmatch_lines(["*torchperf: compared with baseline.json (1 benchmark(s) in both)*",
                                "*test_speed.py::test_squares*x*"])  # fmt: skip
    # unchanged code with a generous threshold: never a regression
    calm = _run(pytester, [*compare, "--torchperf-threshold", "1.0"])
    assert calm.ret == 0, calm.stdout.str()

    # five times the work: a significant regression fails the session after the tests passed
    pytester.makepyfile(test_speed=source.replace("range(n)", "range(5 * n)").replace(
        "2664667000", "333283335000"))  # fmt: skip
    slow = _run(pytester, compare)
    out = slow.stdout.str()
    assert slow.ret == 1, out
    assert "1 passed" in out
    assert "torchperf: 1 significant regression(s): test_speed.py::test_squares" in out
    ratio = float(re.search(r"test_squares\s+([0-9.]+)x", out).group(1))
    assert ratio > 2.0  # five times the work; wall-clock ratios on a busy machine vary


def test_fixture_returns_the_value_and_disable_runs_once(pytester):
    pytester.makepyfile(
        test_calls="""
        calls = []

        def f(x, y=1):
            calls.append(1)
            return x + y

        def test_value(torchperf_benchmark):
            assert torchperf_benchmark(f, 2, y=3) == 5
            assert torchperf_benchmark.result.metric_name == "latency"
            assert len(calls) > 5

        def test_disabled(torchperf_benchmark, pytestconfig):
            if not pytestconfig.getoption("torchperf_disable"):
                return
            calls.clear()
            assert torchperf_benchmark(f, 1) == 2 and calls == [1]
            assert torchperf_benchmark.result is None
        """
    )
    assert pytester.runpytest(*PLUGIN, "--torchperf-runs", "3").ret == 0
    res = pytester.runpytest(*PLUGIN, "--torchperf-disable", "-k", "disabled")
    assert res.ret == 0, res.stdout.str()


@pytest.mark.parametrize(
    "args, needle",
    [
        (["--torchperf-runs", "1"], "--torchperf-runs must be at least 2"),
        (["--torchperf-compare", "nope.json"], "--torchperf-compare nope.json: no such file"),
        (["--torchperf-threshold", "-1"], "--torchperf-threshold must be >= 0"),
    ],
)
def test_bad_options_are_usage_errors(pytester, args, needle):
    pytester.makepyfile(test_x="def test_x():\n    pass\n")
    res = pytester.runpytest(*PLUGIN, *args)
    assert res.ret == pytest.ExitCode.USAGE_ERROR
    assert needle in res.stderr.str()


def test_entry_point_is_declared():
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover
        tomllib = pytest.importorskip("tomli")
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert meta["project"]["entry-points"]["pytest11"] == {
        "torchperf.pytest_plugin": "torchperf.pytest_plugin"
    }
