"""Issue 16.3: every command that prints a table has --format json and csv; load/convert pairs compose.

For every table command, ``--format json`` parses and ``--format csv`` reads back with
pandas with the same rows (and the JSON rows' keys as its columns). Then every exported
load function composes with every exported function that takes what it loads.
"""

from __future__ import annotations

import io
import json
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from torchperf import cli
from torchperf._tables import csv_cell, rows_csv
from torchperf.result import BenchmarkResult
from torchperf.suite import save_run

DATA = Path(__file__).parent / "data"

pytestmark = pytest.mark.filterwarnings("ignore::torchperf.SmallSampleWarning")


def _run(path: Path, scale: float, models=("a", "b", "c")) -> Path:
    rng = np.random.default_rng(int(scale * 1000))
    results = {
        "latency": {m: BenchmarkResult("latency", 1e-3 * s * rng.lognormal(0, 0.01, 20), {}, unit="s")
                    for m, s in zip(models, (1.0, scale, 1.0 / scale), strict=True)},
        "size": {m: BenchmarkResult("size", [1000.0 * (i + 1)], {}, unit="B") for i, m in enumerate(models)},
    }  # fmt: skip
    return save_run(path, results, models=list(models), protocol={"baseline": models[0]})


def _both(argv: list[str], capsys) -> tuple[int, object, pd.DataFrame, str]:
    """(exit code, parsed JSON, CSV read back, CSV text) of one command in both formats."""
    code_j = cli.main([*argv, "--format", "json"])
    doc = json.loads(capsys.readouterr().out)
    code_c = cli.main([*argv, "--format", "csv"])
    text = capsys.readouterr().out
    assert code_j == code_c
    return code_j, doc, pd.read_csv(io.StringIO(text)), text


def _same_rows(rows: list[dict], frame: pd.DataFrame, key: str | None = None) -> None:
    assert len(frame) == len(rows) > 0
    keys = list(dict.fromkeys(k for r in rows for k in r))
    assert list(frame.columns) == keys
    if key is not None:
        assert [str(r[key]) for r in rows] == [str(v) for v in frame[key]]


@pytest.fixture
def runs(tmp_path):
    return _run(tmp_path / "a" / "results.json", 1.0), _run(tmp_path / "b" / "results.json", 1.5)


def test_report_json_and_csv_have_the_same_rows(runs, capsys):
    _, doc, frame, _ = _both(["report", str(runs[0])], capsys)
    _same_rows(doc["results"], frame, key="model")
    assert list(zip(frame["model"], frame["metric"], strict=True)) == [
        (r["model"], r["metric"]) for r in doc["results"]
    ]
    assert np.allclose(frame["median"], [r["median"] for r in doc["results"]])


def test_compare_runs_json_and_csv_have_the_same_rows(runs, capsys):
    code, rows, frame, _ = _both(["compare", str(runs[0]), str(runs[1])], capsys)
    assert code == 1  # b is 1.5x slower
    _same_rows(rows, frame, key="benchmark")
    assert list(frame["verdict"]) == [r["verdict"] for r in rows]
    assert np.allclose(frame["ratio"], [r["ratio"] for r in rows])


def test_compare_revisions_and_regressions_json_and_csv(capsys):
    res = str(DATA / "asv-real" / "results")
    truth = json.loads((DATA / "asv-real" / "truth.json").read_text())
    c = truth["commits"]
    _, rows, frame, _ = _both(["compare", c[11], c[12], "--results-dir", res, "--no-cache"], capsys)
    _same_rows(rows, frame, key="benchmark")
    code, rows, frame, _ = _both(["regressions", "--results-dir", res, "--no-cache", "--all"], capsys)
    assert code == 1
    _same_rows(rows, frame, key="benchmark")
    assert list(frame["status"]) == [r["status"] for r in rows]


def test_leaderboard_doctor_and_asv_check_json_and_csv(runs, tmp_path, capsys):
    _, doc, frame, _ = _both(["leaderboard", str(runs[0])], capsys)
    events = [(ev, row["model"]) for ev, rows in doc["events"].items() for row in rows]
    olympic = frame[frame["table"] == "olympics"]
    assert list(zip(olympic["event"], olympic["model"], strict=True)) == events and events
    _, doc, frame, _ = _both(["doctor"], capsys)
    _same_rows(doc["checks"], frame, key="name")
    _, doc, frame, _ = _both(["asv-check", "--conf-dir", str(tmp_path)], capsys)
    _same_rows(doc["types"], frame, key="name")


def test_run_json_and_csv(tmp_path, capsys, monkeypatch):
    (tmp_path / "tpf_fmt_targets.py").write_text(textwrap.dedent("""
        import numpy as np
        W = np.ones((8, 2))
        def f(x): return x @ W
        def g(x): return (x @ W) * 2
    """))  # fmt: skip
    monkeypatch.syspath_prepend(str(tmp_path))
    argv = ["run", "tpf_fmt_targets:f", "tpf_fmt_targets:g", "--metrics", "size", "--input-shape", "1,8"]
    try:
        _, doc, frame, _ = _both([*argv, "--output", str(tmp_path / "out")], capsys)
    finally:
        sys.modules.pop("tpf_fmt_targets", None)
    _same_rows(doc["results"], frame, key="model")
    assert set(frame["model"]) == {"f", "g"}


def test_cache_json_and_formats_offered(tmp_path, capsys):
    assert cli.main(["cache", "path", "--all", "--format", "json"]) == 0
    assert "path" in json.loads(capsys.readouterr().out)
    assert cli.main(["cache", "clear", "--cache-dir", str(tmp_path / "none"), "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out) == {"removed": []}
    parser = cli.build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    formats = {name: next((a.choices for a in p._actions if a.dest == "format"), None)
               for name, p in sub.choices.items()}  # fmt: skip
    # commands that print a table: json and csv; the rest that print results: json
    for name in ("run", "report", "compare", "regressions", "leaderboard", "doctor", "asv-check"):
        assert tuple(formats[name]) == ("table", "json", "csv"), name
    for name in ("pareto", "ab", "cache"):
        assert tuple(formats[name]) == ("table", "json"), name


def test_csv_cells_are_safe_and_nested_values_are_json():
    text = rows_csv([{"a": "=1+2", "b": [1, 2], "c": float("nan"), "d": None, "e": {"k": 1}}, {"f": 3}])
    frame = pd.read_csv(io.StringIO(text))
    assert list(frame.columns) == ["a", "b", "c", "d", "e", "f"]
    assert frame.loc[0, "a"] == "'=1+2" and json.loads(frame.loc[0, "b"]) == [1, 2]
    assert pd.isna(frame.loc[0, "c"]) and pd.isna(frame.loc[0, "d"]) and frame.loc[1, "f"] == 3
    assert csv_cell(float("inf")) == "" and csv_cell(2.5) == 2.5


# --------------------------------------------------------------------------- load/convert pairs


def test_every_exported_load_convert_pair_composes(runs, tmp_path):
    """What each exported loader returns is accepted by each exported function that takes it."""
    import torchperf as tp
    from torchperf.history import compare_revisions, load_results
    from torchperf.report import csv_text

    path = runs[0]
    loaded = {"load_run(path)": tp.load_run(path), "Run.load(path)": tp.Run.load(path),
              "load_run(dir)": tp.load_run(path.parent)}  # fmt: skip
    for how, run in loaded.items():
        n = sum(len(v) for v in run.results.values())
        assert len(tp.results_frame(run)) == n, how
        assert "latency" in tp.summary_table(run), how
        assert "report.html" in {p.name for p in tp.render_run(run, tmp_path / "r", plots=False).values()}, how
        assert len(tp.compare_runs(run, tp.load_run(runs[1]))) == n, how
        assert len(tp.run_findings(run, run)) == n, how
        assert tp.olympics(run)["latency_sprint"], how
        assert len(tp.compare_to_baseline(run, "a")) == len(tp.baseline_findings(run, "a")) == 4, how
        assert csv_text(run).count("\n") == n + 1, how
        saved = tp.save_run(tmp_path / "again.json", run)
        again = tp.load_run(saved)
        assert again.to_dict()["results"] == run.to_dict()["results"], how
        assert again.protocol == run.protocol and again.flags == run.flags, how
        assert tp.Run.from_dict(run.to_dict()).to_dict() == run.to_dict(), how
        assert len(run.to_frame()) == n, how
    r = tp.load_run(path).results["latency"]["a"]
    assert tp.BenchmarkResult.from_dict(r.to_dict()) == r
    df = load_results(DATA / "asv-real" / "results", cache=False)
    commits = list(dict.fromkeys(df.sort_values("revision")["commit"]))
    assert compare_revisions(df, commits[-2], commits[-1])


def test_docs_history_compare_scope_command_runs_as_written(capsys, monkeypatch):
    """docs/history.md's `compare --machine --env --format csv` command, run as written."""
    import re
    import shlex

    root = Path(__file__).resolve().parents[1]
    text = (root / "docs" / "history.md").read_text(encoding="utf-8")
    block = re.search(r"<!-- example:compare-scope -->\n```\n(.*?)\n```", text, re.S).group(1)
    argv = shlex.split(block)
    assert argv[0] == "torchperf"
    monkeypatch.chdir(root)
    assert cli.main(argv[1:]) in (0, 1)
    frame = pd.read_csv(io.StringIO(capsys.readouterr().out))
    assert len(frame) == 19 and set(frame["machine"]) == {"fixture-box"}
    assert frame["env"].str.contains("py_root").all()
