"""torchperf compare on results files / run directories (issue 16.2, the results-file half)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from torchperf import cli
from torchperf.result import BenchmarkResult
from torchperf.suite import save_run


def _run(path, scale, models=("a", "b", "c")):
    rng = np.random.default_rng(int(scale * 1000))
    results = {"latency": {m: BenchmarkResult("latency", 1e-3 * s * rng.lognormal(0, 0.01, 20),
                                              {}, unit="s")
                           for m, s in zip(models, (1.0, scale, 1.0 / scale), strict=True)}}  # fmt: skip
    return save_run(path, results, models=list(models))


def test_values_units_threshold_split_sort_only_changed(tmp_path, capsys):
    a, b = _run(tmp_path / "a" / "results.json", 1.0), _run(tmp_path / "b" / "results.json", 1.5)
    code = cli.main(["compare", str(tmp_path / "a"), str(tmp_path / "b"), "--split", "--sort", "ratio"])
    out = capsys.readouterr().out
    assert code == 1  # b is 1.5x slower: a significant regression
    assert "Regressions:" in out and "Improvements:" in out and " ms " in out and "ratio CI" in out
    assert out.index("Regressions:") < out.index("Improvements:")
    # asv's --factor: a 1.5x change is within a factor of 2
    code = cli.main(["compare", str(a), str(b), "--factor", "2", "--only-changed"])
    out = capsys.readouterr().out
    assert code == 0 and "No significant change" in out
    code = cli.main(["compare", str(a), str(b), "--threshold", "0.05", "--format", "json",
                     "--only-changed"])  # fmt: skip
    rows = json.loads(capsys.readouterr().out)
    assert {r["model"]: r["verdict"] for r in rows} == {"b": "regression", "c": "improvement"}


def test_nothing_in_common_is_exit_2(tmp_path, capsys):
    a = _run(tmp_path / "a.json", 1.0, models=("a", "b", "c"))
    b = _run(tmp_path / "b.json", 1.0, models=("x", "y", "z"))
    assert cli.main(["compare", str(a), str(b)]) == 2
    assert "no (metric, model) result in common" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cli.main(["compare", str(a), str(b), "--factor", "abc"])
    assert cli.main(["compare", str(a), str(a), "--factor", "1.1", "--threshold", "0.1"]) == 2
    assert cli.main(["compare", str(a), str(a), "--factor", "0.5"]) == 2


# --------------------------------------------------------------------------- --machine / --env


def _env(host, numpy, venv):
    return {"hostname": host, "machine": "x86_64", "numpy_imported": numpy,
            "python": {"version": "3.11.7", "executable": f"/{venv}/bin/python"}}  # fmt: skip


def _two_machine_run(path, scale):
    """A run whose model 'a' was measured on box1 (numpy 1.26), 'b' on box2 (numpy 2.4)."""
    rng = np.random.default_rng(int(scale * 100))
    results = {"latency": {
        "a": BenchmarkResult("latency", 1e-3 * rng.lognormal(0, 0.01, 20),
                             {"environment": _env("box1", "1.26.4", "venv-np1")}, unit="s"),
        "b": BenchmarkResult("latency", 2e-3 * scale * rng.lognormal(0, 0.01, 20),
                             {"environment": _env("box2", "2.4.6", "venv-np2")}, unit="s"),
    }}  # fmt: skip
    return save_run(path, results, models=["a", "b"], environment=_env("box1", "1.26.4", "venv-np1"))


def test_runs_filtered_by_machine_and_env(tmp_path, capsys):
    a, b = _two_machine_run(tmp_path / "a.json", 1.0), _two_machine_run(tmp_path / "b.json", 1.5)
    assert cli.main(["compare", str(a), str(b), "--format", "json"]) == 1
    rows = json.loads(capsys.readouterr().out)
    assert {(r["model"], r["machine"]) for r in rows} == {("a", "box1 (x86_64)"), ("b", "box2 (x86_64)")}
    # box1 holds only 'a', which did not change: no regression, exit 0
    assert cli.main(["compare", str(a), str(b), "--machine", "box1", "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["model"] for r in rows] == ["a"] and rows[0]["env"] == "py3.11.7-numpy1.26.4"
    # --env: a regex on py<ver>-numpy<ver> or on the interpreter's path (a virtualenv)
    for pattern in ("numpy2", "venv-np2"):
        assert cli.main(["compare", str(a), str(b), "--env", pattern, "--format", "json"]) == 1
        assert [r["model"] for r in json.loads(capsys.readouterr().out)] == ["b"]
    assert cli.main(["compare", str(a), str(b), "--machine", "box2", "--env", "numpy2"]) == 1
    assert "latency" in capsys.readouterr().out
    # nothing selected: exit 2, naming the flag and what the runs record
    assert cli.main(["compare", str(a), str(b), "--machine", "nope"]) == 2
    err = capsys.readouterr().err
    assert "--machine 'nope'" in err and "'box1'" in err and "'box2'" in err and "machine=" not in err
    assert cli.main(["compare", str(a), str(b), "--machine", "box1", "--env", "numpy2"]) == 2
    err = capsys.readouterr().err
    assert "--env 'numpy2'" in err and "env=" not in err
    assert cli.main(["compare", str(a), str(b), "--env", "("]) == 2
    assert "--env '('" in capsys.readouterr().err


def test_compare_runs_machine_env_arguments_from_python(tmp_path):
    from torchperf import compare_runs
    from torchperf.errors import InvalidParameterError

    a, b = _two_machine_run(tmp_path / "a.json", 1.0), _two_machine_run(tmp_path / "b.json", 1.5)
    assert [r["model"] for r in compare_runs(a, b, machine="box2")] == ["b"]
    assert [r["model"] for r in compare_runs(a, b, env=r"numpy1\.26")] == ["a"]
    with pytest.raises(InvalidParameterError, match=r"machine='nope'.*'box1', 'box2'") as e:
        compare_runs(a, b, machine="nope")
    assert "--machine" not in str(e.value)
    with pytest.raises(InvalidParameterError, match=r"env='\('"):
        compare_runs(a, b, env="(")


def _asv_two_machines(tmp_path):
    """The asv-history fixture on two machines x two environments (box2's 'slow' env is 2x)."""
    import shutil
    from pathlib import Path

    src = Path(__file__).parent / "data" / "asv-history"
    root = tmp_path / "hist"
    shutil.copytree(src, root)
    res = root / "results"
    box2 = res / "box2"
    box2.mkdir()
    (box2 / "machine.json").write_text(json.dumps({"machine": "box2", "version": 1}))
    for f in sorted((res / "fixture-box").glob("*-virtualenv-py3.11.json")):
        doc = json.loads(f.read_text())
        doc["params"]["machine"] = "box2"
        (box2 / f.name).write_text(json.dumps(doc))
        doc["env_name"] = "virtualenv-py3.11-slow"
        for row in doc["results"].values():
            if isinstance(row, list) and row and isinstance(row[0], list):
                row[0] = [2 * v if isinstance(v, (int, float)) else v for v in row[0]]
        (box2 / f.name.replace(".json", "-slow.json")).write_text(json.dumps(doc))
    truth = json.loads((src / "truth.json").read_text())
    return res, truth["commits"]


def test_revisions_filtered_by_machine_and_env(tmp_path, capsys):
    res, commits = _asv_two_machines(tmp_path)
    base = ["compare", commits[-2], commits[-1], "--results-dir", str(res), "--no-cache",
            "--format", "json", "--all"]  # fmt: skip
    cli.main(base)
    every = json.loads(capsys.readouterr().out)
    assert {(r["machine"], r["env"]) for r in every} == {
        ("fixture-box", "virtualenv-py3.11"), ("box2", "virtualenv-py3.11"), ("box2", "virtualenv-py3.11-slow")}
    cli.main([*base, "--machine", "box2"])
    rows = json.loads(capsys.readouterr().out)
    assert rows and {r["machine"] for r in rows} == {"box2"} and len(rows) == 2 * len(every) // 3
    cli.main([*base, "--machine", "box2", "--environment", "slow$"])  # asv compare's spelling
    rows = json.loads(capsys.readouterr().out)
    assert rows and {(r["machine"], r["env"]) for r in rows} == {("box2", "virtualenv-py3.11-slow")}
    assert cli.main([*base, "--machine", "nope"]) == 2
    err = capsys.readouterr().err
    assert "--machine 'nope'" in err and "machine=" not in err


def test_two_asv_results_files(tmp_path, capsys):
    """compare A.json B.json on asv results files: two commits of one environment, or two
    environments of one commit; --machine/--env must match the files."""
    res, commits = _asv_two_machines(tmp_path)
    c1, c2 = commits[-2][:8], commits[-1][:8]
    f1, f2 = res / "box2" / f"{c1}-virtualenv-py3.11.json", res / "box2" / f"{c2}-virtualenv-py3.11.json"
    assert cli.main(["compare", str(f1), str(f2), "--no-cache", "--format", "json", "--all"]) in (0, 1)
    rows = json.loads(capsys.readouterr().out)
    cli.main(["compare", c1, c2, "--results-dir", str(res), "--no-cache", "--machine", "box2",
              "--env", "^virtualenv-py3.11$", "--format", "json", "--all"])  # fmt: skip
    assert rows == json.loads(capsys.readouterr().out) and rows  # the same as by revision
    # two environments of one commit: the slow one is 2x
    slow = res / "box2" / f"{c2}-virtualenv-py3.11-slow.json"
    assert cli.main(["compare", str(f2), str(slow), "--no-cache", "--format", "json"]) == 1
    rows = json.loads(capsys.readouterr().out)
    assert rows and all(r["env"] == "virtualenv-py3.11" and r["env_after"] == "virtualenv-py3.11-slow"
                        for r in rows)  # fmt: skip
    assert all(1.9 < r["ratio"] < 2.1 and r["verdict"] == "regression" for r in rows)
    assert cli.main(["compare", str(f2), str(slow), "--no-cache"]) == 1
    assert "environment virtualenv-py3.11 -> virtualenv-py3.11-slow at " in capsys.readouterr().out
    # what cannot be compared, or does not match: exit 2 with one message
    other = res / "fixture-box" / f2.name
    run = _run(tmp_path / "run.json", 1.0)
    for argv, needle in (
        ([str(f1), str(other)], "different machines"),
        ([str(f1), str(slow)], "differ in both commit and environment"),
        ([str(f1), str(run)], "is an asv results file but"),
        ([str(f1), str(f2), "--machine", "fixture-box"], "--machine 'fixture-box' does not match"),
        ([str(f1), str(f2), "--env", "slow"], "--env 'slow' does not match"),
    ):
        assert cli.main(["compare", *argv, "--no-cache"]) == 2, argv
        assert needle in capsys.readouterr().err, argv
