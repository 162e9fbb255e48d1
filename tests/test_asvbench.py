"""Fast tests of torchperf's asv integration, run in-process through asv_runner's own discovery.

The real end-to-end run (asv-managed virtualenvs, two commits, compare and
publish) is in test_asv_e2e.py.
"""

from __future__ import annotations

import json
import sys
import textwrap
import uuid
from pathlib import Path

import pytest

asv_runner = pytest.importorskip("asv_runner", reason="asv_runner is a dependency of the asv types")

from asv_runner.benchmarks import benchmark_types  # noqa: E402
from asv_runner.discovery import disc_benchmarks, get_benchmark_from_name  # noqa: E402

from torchperf.asvbench import (  # noqa: E402
    check_suite,
    check_types,
    env_record_path,
    expected_versions,
    read_environment_records,
    record_environment,
    register,
    verify_environment,
)
from torchperf.asvbench.envrecord import RunContext  # noqa: E402
from torchperf.asvbench.types import (  # noqa: E402
    DEFAULT_ROUNDS,
    LatencyBenchmark,
    PeakBytesBenchmark,
    block_medians,
)
from torchperf.errors import EnvironmentMismatchError  # noqa: E402

# timing noise on shared CI cores is expected here; the warnings are tested in test_timing
pytestmark = pytest.mark.filterwarnings("ignore::torchperf.errors.UnstableMeasurementWarning")

INIT = """
from torchperf.asvbench import guard_imports, register
register()
IMPORT_FAILURES = guard_imports(__name__, __path__)
"""

MOD_OK = """
import numpy as np

def setup():
    global BIG
    BIG = np.ones(12_500_000)  # 100 MB allocated in setup: must not count

def peakbytes_alloc80():
    a = np.ones(10_000_000)  # 80 MB, float64
    return a.sum()

def latency_sum():
    sum(range(200))

latency_sum.repeat = 3
latency_sum.warmup_time = 0.01
latency_sum.sample_time = 0.0005
latency_sum.blocks = 2

def track_answer():
    return 42
"""

MOD_NOSETUP = """
import numpy as np

def peakbytes_alloc80():
    a = np.ones(10_000_000)
    return a.sum()
"""

MOD_BROKEN_IMPORT = """
raise ImportError("this benchmark module is broken on purpose")
"""

MOD_BROKEN_SETUP = """
def setup():
    raise RuntimeError("setup is broken on purpose")

def track_never():
    return 1
"""


@pytest.fixture()
def suite(tmp_path, monkeypatch):
    """A throwaway asv suite package with a unique name (asv imports the dir's basename)."""
    name = f"tpbench_{uuid.uuid4().hex[:8]}"
    root = tmp_path / name
    root.mkdir()
    (root / "__init__.py").write_text(textwrap.dedent(INIT))
    (root / "ok.py").write_text(textwrap.dedent(MOD_OK))
    (root / "nosetup.py").write_text(textwrap.dedent(MOD_NOSETUP))
    (root / "brokenimport.py").write_text(textwrap.dedent(MOD_BROKEN_IMPORT))
    (root / "brokensetup.py").write_text(textwrap.dedent(MOD_BROKEN_SETUP))
    # keep the env-record side store inside tmp_path, never in a real asv dir
    (tmp_path / "asv.conf.json").write_text(json.dumps({"results_dir": "results"}))
    monkeypatch.setenv("TORCHPERF_ASV_MACHINE", "testbox")
    monkeypatch.setenv("ASV_COMMIT", "a" * 40)
    monkeypatch.setenv("ASV_ENV_NAME", "existing-test")
    monkeypatch.setenv("ASV_CONF_DIR", str(tmp_path))
    yield root
    for mod in [m for m in sys.modules if m == name or m.startswith(name + ".")]:
        del sys.modules[mod]


def _run(root: Path, bench_name: str, extra: dict | None = None):
    b = get_benchmark_from_name(str(root), bench_name, extra_params=extra)
    b.set_cache(None)
    skip = b.do_setup()
    assert not skip
    try:
        return b.do_run()
    finally:
        b.do_teardown()


def test_register_is_idempotent_and_types_do_not_collide():
    register()
    assert register() == []
    classes = [t for t in benchmark_types if t in (LatencyBenchmark, PeakBytesBenchmark)]
    assert classes == [LatencyBenchmark, PeakBytesBenchmark]
    for name in ("latency_x", "LatencyFoo", "peakbytes_x", "PeakBytesFoo"):
        matches = [t for t in benchmark_types if t.name_regex.match(name)]
        assert len(matches) == 1, (name, matches)
    for builtin in ("time_x", "timeraw_x", "mem_x", "peakmem_x", "track_x", "PeakMemFoo", "TimeFoo"):
        assert not LatencyBenchmark.name_regex.match(builtin)
        assert not PeakBytesBenchmark.name_regex.match(builtin)


def test_check_types_lists_torchperf_and_builtin_types():
    rows = check_types()
    by_name = {r["name"]: r for r in rows}
    assert by_name["LatencyBenchmark"]["source"] == "torchperf"
    assert by_name["LatencyBenchmark"]["unit"] == "seconds"
    assert by_name["PeakBytesBenchmark"]["unit"] == "bytes"
    assert by_name["TimeBenchmark"]["source"] == "asv_runner"
    assert all(r["ok"] for r in rows)


def test_discovery_finds_types_and_reports_import_failures(suite):
    report = check_suite(suite)
    names = {b["name"]: b for b in report["benchmarks"]}
    assert names["ok.latency_sum"]["type"] == "latency"
    assert names["ok.latency_sum"]["unit"] == "seconds"
    assert names["ok.peakbytes_alloc80"]["type"] == "peakbytes"
    assert names["ok.peakbytes_alloc80"]["unit"] == "bytes"
    assert names["ok.track_answer"]["type"] == "track"
    # the broken module is visible, and did not stop the others from being discovered
    assert not report["ok"]
    broken = [e for e in report["import_errors"] if e["module"].endswith(".brokenimport")]
    assert broken and "broken on purpose" in broken[0]["error"]
    assert "brokenimport.track_import" in names
    # discovery through asv_runner's own function (what `asv run` does) does not raise either
    assert len(list(disc_benchmarks(str(suite)))) == len(report["benchmarks"])


def test_default_rounds_let_asvs_test_survive_one_disturbed_process():
    """asv's own test (Mann-Whitney, p < 0.002) on DEFAULT_ROUNDS process values per side.

    A clean shift must be significant even when one process of the faster side was
    disturbed (slower than every process of the other side); with 8 rounds it is not.
    """
    from asv._stats import is_different

    def verdict(n: int) -> bool:
        before = [1.0 + 0.001 * i for i in range(n)]
        after = [1.1 + 0.001 * i for i in range(n)]
        before[0] = 1.5  # one disturbed process
        return is_different(before, after, None, None)

    assert verdict(DEFAULT_ROUNDS)
    assert not verdict(8)  # the former default: one disturbed process hides a 10 % change


def test_latency_returns_replicate_level_samples(suite):
    check_suite(suite)
    b = get_benchmark_from_name(str(suite), "ok.latency_sum")
    assert isinstance(b, LatencyBenchmark)
    assert b.rounds == DEFAULT_ROUNDS and b.type == "latency"
    res = _run(suite, "ok.latency_sum")
    # blocks=2: one process contributes two block medians, not its per-call samples
    assert set(res) == {"samples", "number"}
    assert len(res["samples"]) == 2
    assert res["number"] >= 1
    assert all(0 < s < 0.01 for s in res["samples"])


def test_latency_honours_asv_quick(suite):
    check_suite(suite)
    quick = {"number": 1, "repeat": 1, "warmup_time": 0, "rounds": 1}
    res = _run(suite, "ok.latency_sum", quick)
    assert res["number"] == 1
    assert len(res["samples"]) == 1


def test_latency_clock_attribute(suite):
    check_suite(suite)
    b = get_benchmark_from_name(str(suite), "ok.latency_sum", extra_params={"clock": "process"})
    b.do_setup()
    assert b.clock == "process"
    res = _run(suite, "ok.latency_sum", {"clock": "process", "repeat": 2})
    assert len(res["samples"]) == 2 and all(s > 0 for s in res["samples"])
    with pytest.raises(ValueError, match="`clock` must be one of"):
        _run(suite, "ok.latency_sum", {"clock": "sundial"})


def test_block_medians():
    assert block_medians([1, 2, 3, 10, 20, 30], 2) == [2.0, 20.0]
    assert block_medians([5.0], 3) == [5.0]
    assert block_medians([], 2) == []
    assert block_medians([1, 2, 3, 4], 1) == [2.5]


def test_peakbytes_within_two_percent_of_known_allocation_independent_of_setup(suite):
    check_suite(suite)
    with_setup = _run(suite, "ok.peakbytes_alloc80")  # setup holds 200 MB
    without_setup = _run(suite, "nosetup.peakbytes_alloc80")
    assert abs(with_setup - 80e6) / 80e6 < 0.02, with_setup
    assert abs(without_setup - 80e6) / 80e6 < 0.02, without_setup


def test_setup_failure_is_raised_not_swallowed_and_others_still_run(suite):
    check_suite(suite)
    with pytest.raises(RuntimeError, match="setup is broken"):
        _run(suite, "brokensetup.track_never")
    with pytest.raises(ImportError, match="broken on purpose"):
        _run(suite, "brokenimport.track_import")
    assert _run(suite, "ok.track_answer") == 42


def test_benchmark_run_writes_environment_record(suite, tmp_path):
    check_suite(suite)
    _run(suite, "ok.latency_sum", {"number": 1, "repeat": 1, "warmup_time": 0})
    path = env_record_path(tmp_path / "results", "testbox", "a" * 40, "existing-test")
    assert path.is_file()
    docs = read_environment_records(tmp_path / "results")
    assert len(docs) == 1
    doc = docs[0]
    import numpy

    assert doc["commit"] == "a" * 40 and doc["env_name"] == "existing-test"
    assert doc["facts"]["numpy_version"] == numpy.__version__
    assert isinstance(doc["facts"]["blas"], list)
    # asv's results walker only loads *.json: the side store must never look like results
    assert not path.name.endswith(".json")


def test_expected_versions_from_env_names():
    name = (
        "virtualenv-py3.11-joblib1.6.0-numpy1.26.4-psutil7.2.2-scikit-learn1.6.1-"
        "scipy1.13.1-threadpoolctl3.7.0"
    )
    assert expected_versions(name) == {
        "numpy": "1.26.4",
        "scipy": "1.13.1",
        "scikit-learn": "1.6.1",
        "joblib": "1.6.0",
        "psutil": "7.2.2",
        "threadpoolctl": "3.7.0",
    }
    assert expected_versions("virtualenv-py3.11-pip+numpy2.4.6-numpydoc") == {"numpy": "2.4.6"}
    assert expected_versions("existing-py_usr_bin_python3.11") == {}


def test_wrong_numpy_refuses_to_store(tmp_path):
    import numpy

    wrong = "1.0.0" if numpy.__version__ != "1.0.0" else "9.9.9"
    env_name = f"virtualenv-py3.11-numpy{wrong}"
    with pytest.raises(EnvironmentMismatchError, match=rf"numpy: expected {wrong}, imported"):
        verify_environment(env_name)
    ctx = RunContext(
        conf_dir=str(tmp_path),
        results_dir=str(tmp_path / "results"),
        machine="m",
        machine_source="test",
        commit="b" * 40,
        commit_source="test",
        env_name=env_name,
        env_source="ASV_ENV_NAME",
    )
    with pytest.raises(EnvironmentMismatchError):
        record_environment(context=ctx)
    assert not (tmp_path / "results").exists()
    right = verify_environment(f"virtualenv-py3.11-numpy{numpy.__version__}")
    assert right["verified"] is True


def test_without_asv_variables_commit_comes_from_git_head(tmp_path, monkeypatch):
    from torchperf.asvbench.envrecord import resolve_context
    from torchperf.asvbench.scratch import copy_worktree

    src = tmp_path / "src"
    src.mkdir()
    (src / "asv.conf.json").write_text(json.dumps({"results_dir": ".asv/results"}))
    (src / "benchmarks").mkdir()
    (src / "benchmarks" / "__init__.py").write_text("")
    sha = copy_worktree(src, tmp_path / "repo")
    for var in ("ASV_COMMIT", "ASV_ENV_NAME", "ASV_CONF_DIR"):
        monkeypatch.delenv(var, raising=False)

    class FakeModule:
        __file__ = str(tmp_path / "repo" / "benchmarks" / "__init__.py")

    ctx = resolve_context([FakeModule])
    assert ctx["commit"] == sha
    assert ctx["env_name"].startswith("existing-py")
    assert ctx["results_dir"] == str((tmp_path / "repo" / ".asv" / "results").resolve())


def test_repo_suite_discovers_all_types():
    root = Path(__file__).resolve().parents[1] / "benchmarks"
    report = check_suite(root)
    assert report["import_errors"] == []
    types = report["by_type"]
    assert types.get("latency", 0) >= 3 and types.get("peakbytes", 0) >= 2
    assert types.get("track", 0) >= 2
    names = {b["name"] for b in report["benchmarks"]}
    assert "zoo_models.ZooLatency.latency_forward" in names
    assert "zoo_models.ZooQuality.track_error_rate" in names


def test_asv_check_reports_types_suite_and_broken_modules(suite):
    from torchperf.asvbench import asv_check

    conf_dir = suite.parent
    (conf_dir / "asv.conf.json").write_text(
        json.dumps({"results_dir": "results", "benchmark_dir": suite.name})
    )
    report = asv_check(conf_dir)
    assert report["ok"] is False  # the suite has a module that fails to import
    assert report["suite"]["by_type"]["latency"] == 1
    assert any("broken on purpose" in e["error"] for e in report["suite"]["import_errors"])
    # the repository's own suite is clean
    clean = asv_check(Path(__file__).resolve().parents[1])
    assert clean["ok"] is True, clean["suite"]["import_errors"]


def test_latency_replicate_spans_the_measuring_window(suite, monkeypatch):
    """The asv type uses the same window rule as Benchmark (window_time; none under --quick)."""
    from torchperf import timing

    seen = []
    real = timing.measure

    def spy(*args, **kwargs):
        m = real(*args, **kwargs)
        seen.append(m.metadata)
        return m

    monkeypatch.setattr(timing, "measure", spy)
    check_suite(suite)
    _run(suite, "ok.latency_sum", {"window_time": 0.03, "repeat": 4})
    assert seen[-1]["window_s"] == 0.03 and seen[-1]["measuring_s"] >= 0.03
    _run(suite, "ok.latency_sum", {"number": 1, "repeat": 1, "warmup_time": 0, "rounds": 1})
    assert seen[-1]["window_s"] is None and seen[-1]["blocks_per_sample"] == 1


def test_latency_number_is_calibrated_on_warmed_code():
    """The asv type chooses ``number`` after its warmup: the first calls of this function take
    5 ms (a cold calibration picks 1-2 calls per sample); warmed, a call costs about a
    microsecond and a 5 ms sample needs many. A fixed ``number`` and --quick stay as given."""
    import time

    def make():
        state = {"calls": 0}

        def latency_lazy():
            state["calls"] += 1
            if state["calls"] <= 3:
                time.sleep(0.005)

        latency_lazy.window_time = 0
        latency_lazy.repeat = 3
        return latency_lazy

    fn = make()
    res = LatencyBenchmark("m.latency_lazy", fn, [fn]).run()
    assert res["number"] >= 20, res
    fn = make()
    fn.number = 2
    assert LatencyBenchmark("m.latency_lazy", fn, [fn]).run()["number"] == 2
    fn = make()
    fn.number, fn.repeat, fn.warmup_time = 1, 1, 0  # asv --quick
    quick = LatencyBenchmark("m.latency_lazy", fn, [fn]).run()
    assert quick["number"] == 1 and len(quick["samples"]) == 1
