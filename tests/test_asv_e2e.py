"""End-to-end: the real asv workflow on a reduced suite, in a real asv-managed virtualenv.

A scratch git repo is made from this working tree (never touching the
repository's own git state) with two benchmarked commits; ``asv machine
--yes``, ``asv run --quick`` over both commits (a subset of the suite, one
NumPy cell of the matrix), ``asv compare`` and ``asv publish`` must all work,
torchperf's types must be recorded, the environment facts stored, and a
broken benchmark module / a failing setup must show up as failures without
stopping the rest. Takes a few minutes (building the virtualenv dominates;
pip's wheel cache is reused).
"""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import pytest

from torchperf.asvbench.scratch import (
    commit_all,
    copy_worktree,
    run_asv,
    scratch_home_env,
    select_matrix_cell,
)

pytestmark = [pytest.mark.asv, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[1]
CELL = {"numpy": "2.4.6", "scipy": "1.17.1", "scikit-learn": "1.9.1"}
BENCH = "ZooLatency|ZooMemory|track_error_rate|MatmulLatency|zz_broken"

BROKEN_IMPORT = 'raise ImportError("zz_broken_import is broken on purpose")\n'
BROKEN_SETUP = """
def setup():
    raise RuntimeError("zz_broken_setup is broken on purpose")

def track_never():
    return 1
"""


def _env(home: Path) -> dict[str, str]:
    return {
        **scratch_home_env(home),
        "TORCHPERF_ASV_MODELS": "mlp,cnn-im2col,attn-kvcache",
        "TORCHPERF_ASV_BATCHES": "1",
    }


def _asv(repo: Path, home: Path, *args: str):
    proc = run_asv(repo, list(args), env=_env(home), timeout=1200)
    return proc


@pytest.fixture(scope="module")
def asv_run(tmp_path_factory):
    if shutil.which("git") is None:
        pytest.skip("git is needed to make the scratch repository")
    work = tmp_path_factory.mktemp("asv-e2e")
    home = work / "home"
    home.mkdir()
    repo = work / "repo"
    copy_worktree(ROOT, repo, exclude=(".asv",))
    select_matrix_cell(repo, CELL)
    commit_all(repo, "one environment for CI")
    c1 = commit_all(repo, "first benchmarked commit")
    (repo / "CHANGES.txt").write_text("a change between the two benchmarked commits\n")
    c2 = commit_all(repo, "second benchmarked commit")
    # broken benchmark modules in the working tree's suite (asv runs the working tree's suite)
    (repo / "benchmarks" / "zz_broken_import.py").write_text(BROKEN_IMPORT)
    (repo / "benchmarks" / "zz_broken_setup.py").write_text(BROKEN_SETUP)
    machine = _asv(repo, home, "machine", "--yes", "--machine", "ci")
    assert machine.returncode == 0, machine.stdout + machine.stderr
    run = _asv(repo, home, "run", "--quick", "--show-stderr", "--bench", BENCH, "HEAD~2..HEAD")
    return {"repo": repo, "home": home, "c1": c1, "c2": c2, "run": run}


def _results(repo: Path, commit: str) -> dict:
    files = [
        f for f in (repo / ".asv" / "results" / "ci").glob(f"{commit[:8]}-*.json")
    ]
    assert len(files) == 1, files
    data = json.loads(files[0].read_text())
    cols = data["result_columns"]
    return {name: dict(zip(cols, vals, strict=False)) for name, vals in data["results"].items()}


def test_run_records_every_selected_benchmark_in_both_commits(asv_run):
    for commit in (asv_run["c1"], asv_run["c2"]):
        res = _results(asv_run["repo"], commit)
        for name in (
            "zoo_models.ZooLatency.latency_forward",
            "zoo_models.ZooMemory.peakbytes_forward",
            "kernels.MatmulLatency.latency_matmul",
        ):
            values = res[name]["result"]
            assert values and all(v is not None and v > 0 for v in values), (name, values)
        err = res["zoo_models.ZooQuality.track_error_rate"]["result"]
        # classifiers recorded; attention (not a classifier) skipped as NaN, never failed
        assert err[0] is not None and 0 <= err[0] < 0.2
        assert err[1] is not None and 0 <= err[1] < 0.2
        assert math.isnan(err[2])


def test_broken_modules_fail_visibly_without_stopping_the_rest(asv_run):
    out = asv_run["run"].stdout + asv_run["run"].stderr
    assert "zz_broken_import is broken on purpose" in out
    assert "zz_broken_setup is broken on purpose" in out
    res = _results(asv_run["repo"], asv_run["c2"])
    assert res["zz_broken_import.track_import"]["result"] is None
    assert res["zz_broken_setup.track_never"]["result"] is None


def test_types_and_environment_facts_are_stored(asv_run):
    repo = asv_run["repo"]
    benchmarks = json.loads((repo / ".asv" / "results" / "benchmarks.json").read_text())
    assert benchmarks["zoo_models.ZooLatency.latency_forward"]["type"] == "latency"
    assert benchmarks["zoo_models.ZooLatency.latency_forward"]["unit"] == "seconds"
    assert benchmarks["zoo_models.ZooMemory.peakbytes_forward"]["unit"] == "bytes"
    assert benchmarks["zoo_models.ZooQuality.track_error_rate"]["unit"] == "error rate"
    records = sorted((repo / ".asv" / "results" / "ci" / "torchperf-env").glob("*.tpenv"))
    assert {r.name[:8] for r in records} == {asv_run["c1"][:8], asv_run["c2"][:8]}
    for r in records:
        doc = json.loads(r.read_text())
        assert doc["facts"]["numpy_version"] == "2.4.6"
        assert doc["verification"]["verified"] is True
        assert "numpy2.4.6" in doc["env_name"]
        assert all(b["num_threads"] == 1 for b in doc["facts"]["blas"])


def test_compare_and_publish_work(asv_run):
    repo, home = asv_run["repo"], asv_run["home"]
    cmp = _asv(repo, home, "compare", asv_run["c1"], asv_run["c2"])
    assert cmp.returncode == 0, cmp.stderr
    assert "latency_forward" in cmp.stdout
    pub = _asv(repo, home, "publish")
    assert pub.returncode == 0, pub.stdout + pub.stderr
    html = repo / ".asv" / "html"
    assert (html / "index.html").is_file()
    assert (html / "graphs").is_dir()
