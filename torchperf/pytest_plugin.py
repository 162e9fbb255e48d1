"""pytest plugin: measure inside tests, save results, gate on regressions against a baseline.

Registered through the ``pytest11`` entry point ``torchperf.pytest_plugin`` (see
pyproject.toml), so installing torchperf makes it available; ``-p
torchperf.pytest_plugin`` loads it explicitly and ``-p no:torchperf.pytest_plugin``
disables it. Nothing heavy is imported until a test uses the fixture or an option is
given. See docs/pytest.md.

* ``torchperf_benchmark(fn, *args, **kwargs)`` times ``fn(*args, **kwargs)`` with
  torchperf's protocol (:func:`torchperf.timing.measure`: fixed warmup, calibrated
  loop count, ``--torchperf-runs`` samples) and returns ``fn``'s result; the
  :class:`~torchperf.result.BenchmarkResult` is ``torchperf_benchmark.result``.
* ``--torchperf-save FILE`` writes every result of the session as a run file
  (``torchperf.run``: the format of ``torchperf run``; ``torchperf report`` and
  ``torchperf compare`` read it). The metric is ``latency``; models are test node ids.
* ``--torchperf-compare FILE`` compares the session with a saved run exactly as
  ``torchperf compare FILE NEW.json`` does (:func:`torchperf.report.compare_runs`:
  per-test comparison, p-values adjusted across all tests, a regression needs
  significance *and* an effect beyond ``--torchperf-threshold``) and fails the session
  (exit status 1) on any significant regression.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest

__all__ = ["TorchperfFixture"]

_KEY = "_torchperf_state"


def pytest_addoption(parser: pytest.Parser) -> None:
    """Register the ``--torchperf-*`` options."""
    group = parser.getgroup("torchperf", "torchperf benchmarks (torchperf_benchmark fixture)")
    group.addoption("--torchperf-save", metavar="FILE", default=None,
                    help="save this session's results as a torchperf run file (JSON)")
    group.addoption("--torchperf-compare", metavar="FILE", default=None,
                    help="compare with a saved run file; exit 1 on a significant regression")
    group.addoption("--torchperf-threshold", metavar="FRACTION", type=float, default=None,
                    help="smallest relative slowdown called a regression (default 0.05 = 5%%, "
                    "as torchperf compare)")
    group.addoption("--torchperf-warmup", metavar="N", type=int, default=5,
                    help="warmup samples per benchmark, discarded (default 5)")
    group.addoption("--torchperf-runs", metavar="N", type=int, default=20,
                    help="measured samples per benchmark (default 20)")
    group.addoption("--torchperf-disable", action="store_true", default=False,
                    help="call each benchmarked function once, without timing")  # fmt: skip


def pytest_configure(config: pytest.Config) -> None:
    """Validate the options once; keep the session's results on the config."""
    opt = config.option
    for name in ("torchperf_warmup", "torchperf_runs"):
        value = getattr(opt, name, None)
        low = 0 if name == "torchperf_warmup" else 2
        if value is not None and value < low:
            flag = "--" + name.replace("_", "-")
            raise pytest.UsageError(f"{flag} must be at least {low}; got {value}.")
    threshold = getattr(opt, "torchperf_threshold", None)
    if threshold is not None and not (0 <= threshold < math.inf):
        raise pytest.UsageError(f"--torchperf-threshold must be >= 0; got {threshold}.")
    baseline = getattr(opt, "torchperf_compare", None)
    if baseline and not Path(baseline).exists():
        raise pytest.UsageError(
            f"--torchperf-compare {baseline}: no such file; save one first with "
            "--torchperf-save FILE."
        )
    setattr(config, _KEY, {"results": {}, "lines": [], "regressions": 0})


class TorchperfFixture:
    """The ``torchperf_benchmark`` fixture: call it with the function to time.

    Attributes
    ----------
    name : str
        The test's node id: the "model" name in saved runs and comparisons.
    result : BenchmarkResult or None
        The latency result, after the call.

    """

    def __init__(self, name: str, warmup: int, runs: int, disabled: bool) -> None:
        self.name = name
        self.warmup = warmup
        self.runs = runs
        self.disabled = disabled
        self.result: Any = None

    def __call__(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        """Time ``fn(*args, **kwargs)``; return what it returns."""
        if self.result is not None:
            raise pytest.UsageError(
                f"torchperf_benchmark was called twice in {self.name}; time one function per test."
            )
        value = fn(*args, **kwargs)  # the first call, untimed: its result is returned
        if self.disabled:
            return value
        from torchperf.result import BenchmarkResult
        from torchperf.timing import FixedStop, FixedWarmup, measure

        m = measure(lambda: fn(*args, **kwargs), warmup=FixedWarmup(self.warmup),
                    stop=FixedStop(self.runs), number="auto")  # fmt: skip
        self.result = BenchmarkResult(
            "latency",
            list(m.samples_s),
            {
                "model": self.name,
                "source": "pytest",
                "number": m.number,
                "warmup_runs": self.warmup,
                "measurement_runs": self.runs,
                "processes": 1,
                "replication": "one process (the pytest session): calls are not independent",
            },
            unit="s",
            lower_is_better=True,
        )
        return value


@pytest.fixture
def torchperf_benchmark(request: pytest.FixtureRequest) -> Any:
    """Time a function inside a test: ``torchperf_benchmark(fn, *args, **kwargs)``."""
    opt = request.config.option
    fixture = TorchperfFixture(
        request.node.nodeid, opt.torchperf_warmup, opt.torchperf_runs, opt.torchperf_disable
    )
    yield fixture
    if fixture.result is not None:
        getattr(request.config, _KEY)["results"][fixture.name] = fixture.result


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Save the results; compare with the baseline; exit 1 on a significant regression."""
    config = session.config
    state = getattr(config, _KEY, None)
    opt = config.option
    if state is None or not (opt.torchperf_save or opt.torchperf_compare):
        return
    results = state["results"]
    lines: list[str] = state["lines"]
    if not results:
        lines.append("torchperf: no test used the torchperf_benchmark fixture; nothing saved.")
        return
    import tempfile

    from torchperf.environment import collect_environment
    from torchperf.suite import save_run

    environment = collect_environment(include_git=True)
    protocol = {"source": "pytest", "warmup_runs": opt.torchperf_warmup,
                "measurement_runs": opt.torchperf_runs, "processes": 1}  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="torchperf-pytest-") as tmp:
        target = opt.torchperf_save or str(Path(tmp) / "results.json")
        path = save_run(target, {"latency": results}, environment=environment,
                        protocol=protocol, models=list(results))  # fmt: skip
        if opt.torchperf_save:
            lines.append(f"torchperf: saved {len(results)} result(s) to {path}")
        if opt.torchperf_compare:
            _compare(session, state, opt, path)


def _compare(session: pytest.Session, state: dict[str, Any], opt: Any, current: Path) -> None:
    """Compare the saved session with the baseline as ``torchperf compare`` does."""
    from torchperf.report import compare_runs
    from torchperf.stats import DEFAULT_NOISE_THRESHOLD

    lines: list[str] = state["lines"]
    threshold = opt.torchperf_threshold
    rows = compare_runs(
        opt.torchperf_compare, current,
        threshold=DEFAULT_NOISE_THRESHOLD if threshold is None else threshold,
    )  # fmt: skip
    lines.append(f"torchperf: compared with {opt.torchperf_compare} "
                 f"({len(rows)} benchmark(s) in both):")  # fmt: skip
    for r in rows:
        ci = f"[{r['ci_low']:.3f}x, {r['ci_high']:.3f}x]"
        p = r.get("p_adjusted")
        p_text = "exact" if p is None else f"p(adj) {p:.3g}"
        lines.append(f"  {r['model']}  {r['ratio']:.3f}x  {ci}  {p_text}  {r['verdict']}")
    regressions = [r for r in rows if r.get("verdict") == "regression"]
    state["regressions"] = len(regressions)
    if regressions:
        lines.append(
            f"torchperf: {len(regressions)} significant regression(s): "
            + ", ".join(r["model"] for r in regressions)
        )
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Print what was saved and compared."""
    state = getattr(terminalreporter.config, _KEY, None)
    if state and state["lines"]:
        terminalreporter.section("torchperf")
        for line in state["lines"]:
            terminalreporter.write_line(line)
