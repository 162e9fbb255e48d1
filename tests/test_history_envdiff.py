"""torchperf.history.envdiff: the same commit in two environments (NumPy / BLAS / Python)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from torchperf.errors import InvalidParameterError
from torchperf.history import (
    compare_environments,
    detect_change_points,
    environment_table,
    load_results,
)

DJANGO = Path(__file__).resolve().parents[2] / "shared" / "data" / "asv-results-django"


def two_env_history(tmp_path: Path) -> Path:
    """A tiny asv results tree: 12 commits x 2 NumPy environments, 3 benchmarks, side store.

    ``time_matmul`` is 30% slower in the numpy2 environment; the others are equal.
    """
    from asv.results import Results

    rng = np.random.default_rng(7)
    root = tmp_path / "results"
    (root / "box").mkdir(parents=True)
    (root / "box" / "machine.json").write_text(json.dumps({"machine": "box", "version": 1}))
    benches = {n: {"name": n, "type": "time", "unit": "seconds", "params": [], "version": "1"}
               for n in ("b.time_matmul", "b.time_sort", "b.time_sum")}
    (root / "benchmarks.json").write_text(json.dumps({**benches, "version": 2}))
    store = root / "box" / "torchperf-env"
    store.mkdir()

    class Res:  # what asv_runner hands to Results.add_result
        def __init__(self, samples):
            self.result = [float(np.median(samples))]
            self.samples = [list(samples)]
            self.number = [1]
            self.stderr = ""
            self.errcode = 0
            self.profile = None

    for i in range(12):
        commit = f"{i:02x}" * 20
        for env, numpy, slow, threads in (("venv-numpy1", "1.26.4", 1.0, 2), ("venv-numpy2", "2.1.3", 1.3, 1)):
            r = Results({"machine": "box", "python": "3.11", "numpy": numpy.rsplit(".", 1)[0]}, {}, commit,
                        1_700_000_000_000 + i * 3_600_000, "3.11", env, {})
            for name, bench in benches.items():
                base = 1e-3 * (slow if name == "b.time_matmul" else 1.0)
                level = base * np.exp(rng.normal(0, 0.01))
                r.add_result(bench, Res(level * np.exp(rng.normal(0, 0.01, 10))), record_samples=True)
            r.save(str(root))
            (store / f"{commit[:8]}-{env}.json").write_text(json.dumps({
                "commit": commit, "env_name": env, "numpy_version": numpy,
                "blas": {"user_api": "blas", "internal_api": "openblas", "version": "0.3.27",
                         "num_threads": threads}}))
    return root


def test_environment_difference_found_and_facts_shown(tmp_path):
    df = load_results(two_env_history(tmp_path))
    diffs = compare_environments(df, "venv-numpy1", "venv-numpy2")
    by = {d.benchmark: d for d in diffs}
    assert by["b.time_matmul"].verdict == "regression"
    assert by["b.time_matmul"].ratio == pytest.approx(1.3, rel=0.05)
    assert by["b.time_matmul"].env == "venv-numpy1" and by["b.time_matmul"].env_after == "venv-numpy2"
    assert not by["b.time_sort"].significant and not by["b.time_sum"].significant
    assert by["b.time_matmul"].facts_before["numpy_version"] == "1.26.4"
    assert by["b.time_matmul"].facts_after["blas_threads"] == 1
    assert by["b.time_matmul"].commit_before == by["b.time_matmul"].commit_after == "0b" * 20
    d = by["b.time_matmul"].to_dict()
    assert d["kind"] == "environment"
    json.dumps(d)
    table = environment_table(df)
    assert set(table["env_name"]) == {"venv-numpy1", "venv-numpy2"}
    row = table.set_index("env_name").loc["venv-numpy2"]
    assert row["numpy_version"] == "2.1.3" and row["blas_library"] == "openblas"
    assert row["blas_threads"] == 1 and row["env_numpy"] == "2.1" and row["n_commits"] == 12
    # history: series are per environment, so the 30% environment gap is no change point
    assert detect_change_points(df) == []


def test_bad_environment_names(tmp_path):
    df = load_results(two_env_history(tmp_path))
    with pytest.raises(InvalidParameterError, match="known"):
        compare_environments(df, "venv-numpy1", "nope")
    with pytest.raises(InvalidParameterError, match="same environment"):
        compare_environments(df, "venv-numpy1", "venv-numpy1")


def test_django_python_versions_at_one_commit():
    if not DJANGO.is_dir():
        pytest.skip(f"real Django asv data not present at {DJANGO} (shared/data is optional)")
    df = load_results(DJANGO)
    diffs = compare_environments(df, "conda-py3.8", "conda-py3.10")
    assert len(diffs) > 20
    assert {d.facts_before["python"] for d in diffs} == {"3.8"}
    assert {d.facts_after["python"] for d in diffs} == {"3.10"}
    assert len({d.commit_before for d in diffs}) == 1
    print(f"\nDjango py3.8 -> py3.10 at {diffs[0].commit_before[:8]}: "
          + ", ".join(f"{v}: {sum(d.verdict == v for d in diffs)}"
                      for v in ("regression", "improvement", "equivalent", "inconclusive")))
