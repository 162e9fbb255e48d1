"""The main job's own checks (the whole job is exercised by tests/test_asv_e2e.py's pieces)."""

import subprocess

import pytest

from torchperf.cli import main
from torchperf.errors import InvalidParameterError
from torchperf.quickstart import StepFailed, run_quickstart


def _git(repo, *args):
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)


def test_outside_a_checkout_is_a_clear_usage_error(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(InvalidParameterError, match=r"asv\.conf\.json is not in the current"):
        run_quickstart(tmp_path / "out", say=lambda s: None, show=lambda s: None)
    assert main(["quickstart", "--output", str(tmp_path / "out")]) == 2
    assert "cd` into the cloned repository" in capsys.readouterr().err


def test_missing_published_branch_is_named_before_anything_runs(tmp_path, monkeypatch):
    pytest.importorskip("sklearn")
    repo = tmp_path / "repo"
    repo.mkdir()
    _git(repo, "init", "-q", "-b", "trunk")
    (repo / "asv.conf.json").write_text('{"version": 1, "branches": ["main"]}')
    _git(repo, "add", "-A")
    for msg in ("one", "two"):
        _git(repo, "-c", "user.email=a@b", "-c", "user.name=t", "commit", "-q",
             "--allow-empty", "-m", msg)
    monkeypatch.chdir(repo)
    monkeypatch.setattr("torchperf.quickstart.run_zoo", lambda output, **kw: {
        "files": {}, "results": {}, "failures": {}})
    monkeypatch.setattr("torchperf.report.summary_table", lambda run: "table")
    with pytest.raises(StepFailed, match="publishes branch 'main'"):
        run_quickstart(tmp_path / "out", say=lambda s: None, show=lambda s: None)


@pytest.mark.parametrize("fmt", ["json", "csv"])
def test_format_json_and_csv_put_only_the_document_on_stdout(fmt, tmp_path, monkeypatch, capsys):
    """``torchperf quickstart --format json|csv``: stdout is the machine-readable document
    (the zoo's results, comparisons, the history's findings, the files), the readable
    summary goes to stderr; the exit status is the job's."""
    import io
    import json
    from pathlib import Path

    import pandas as pd

    import torchperf.quickstart as qs
    from torchperf.suite import load_run, results_frame

    saved = Path(__file__).parent / "data" / "run-v0.1" / "results.json"

    def fake(output, *, say, show, progress, record):
        run = load_run(saved)
        record["run"] = run
        show("READABLE TABLE")
        record["history"] = {"revisions": ["a", "b"], "head_vs_previous": [], "change_points": 0}
        record["files"] = {"site": "site/index.html"}
        return 1

    monkeypatch.setattr(qs, "run_quickstart", fake)
    assert main(["quickstart", "--output", str(tmp_path / "q"), "--format", fmt]) == 1
    cap = capsys.readouterr()
    assert "READABLE TABLE" in cap.err and "READABLE TABLE" not in cap.out
    n = len(results_frame(load_run(saved)["results"]))
    if fmt == "json":
        doc = json.loads(cap.out)
        assert doc["exit_status"] == 1 and doc["history"]["revisions"] == ["a", "b"]
        assert doc["files"] == {"site": "site/index.html"} and doc["results"]
        rows = doc["results"]
    else:
        rows = pd.read_csv(io.StringIO(cap.out)).to_dict(orient="records")
    assert {"model", "metric"} <= set(rows[0]) and len(rows) == n > 0
