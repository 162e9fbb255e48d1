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
