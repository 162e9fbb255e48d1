"""torchperf ab: interleaved, paired, sequential A/B across fresh worker processes.

No wall-clock speed is asserted. Slowdowns used here are 3x (three times the work), so
the verdicts are not in doubt on a busy machine; the error rates of the procedure are
tested by simulation in tests/test_sequential.py, and measured in tools/ab_study.py.
"""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from torchperf import cli
from torchperf.ab import ABSide, ab_compare, checkout_revision
from torchperf.errors import InvalidParameterError, ModelError

ROOT = Path(__file__).resolve().parents[1]

MODULE = textwrap.dedent(
    """
    def work(n=300):
        total = 0
        for i in range(n):
            total += i * i
        return total

    def base():
        return work(300)

    def triple():
        return work(900)

    def boom():
        raise RuntimeError("kaboom in the target")

    def chatty():
        print("the user's print must not break the protocol")
        return work(300)

    class Model:
        input_shape = (4,)
        def predict(self, x):
            return [v * 2 for v in x.ravel()]

    model = Model()

    import numpy as _np
    X = (_np.ones((3, 4), dtype=_np.float32), _np.zeros(3))
    """
)

FAST = {"blocks_per_pair": 2, "samples_per_chunk": 2, "sample_s": 2e-4, "warmup_s": 0.005}


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    (tmp_path / "abmod.py").write_text(MODULE)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_a_threefold_slowdown_is_found_and_the_interval_agrees(workdir):
    r = ab_compare("abmod:base", "abmod:triple", max_time_s=60, max_pairs=12, seed=1,
                   order="random", clock="wall", **FAST)
    d = r.decision
    assert r.verdict == "slower" and r.regression and r.stop_reason == "settled"
    assert d.ci_low > 1 and d.ci_low <= d.ratio <= d.ci_high
    assert 2.0 < d.ratio < 4.5  # three times the loop iterations
    assert len(r.pairs) >= 3 and r.blocks == 2 * len(r.pairs)
    assert all(sorted(o) == ["A", "A", "B", "B"] for p in r.pairs for o in p.orders)
    js = r.to_dict()
    assert js["blocks"] == r.blocks and js["pairs"] == len(r.pairs) and js["seconds"] > 0
    assert js["procedure"] == "docs/statistics.md#rule-10"
    json.dumps(js, allow_nan=False)


def _live_workers() -> list[int]:
    """Worker processes of this test process that are still alive (zombies included)."""
    pids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            cmdline = (stat.parent / "cmdline").read_bytes()
        except OSError:
            continue
        if int(fields[1]) == os.getpid() and (b"_abworker.py" in cmdline or fields[0] == "Z"):
            pids.append(int(stat.parent.name))
    return pids


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc")
@pytest.mark.parametrize("overlap", [True, False])
def test_next_pair_starts_while_one_measures_and_nothing_is_left_running(workdir, overlap):
    """overlap_start: the pair started in advance is killed unused at the stop; all reaped."""
    r = ab_compare("abmod:base", "abmod:triple", max_time_s=60, max_pairs=12, seed=2,
                   overlap_start=overlap, **FAST)
    assert r.verdict == "slower" and r.settings["overlap_start"] is overlap
    assert all(p.seconds > 0 for p in r.pairs)
    assert _live_workers() == []
    with pytest.raises(ModelError, match="kaboom"):  # an error mid-run reaps the started pair too
        ab_compare("abmod:base", "abmod:boom", max_pairs=3, overlap_start=overlap, **FAST)
    assert _live_workers() == []


def test_same_target_under_two_interpreter_paths(workdir):
    """--python-a/--python-b: each side runs in its own interpreter (here the same binary)."""
    side_a = ABSide("abmod:base", python=sys.executable)
    side_b = ABSide("abmod:chatty", python=sys.executable, label="chatty")
    r = ab_compare(side_a, side_b, max_time_s=2, max_pairs=2, seed=3, **FAST)
    assert r.stop_reason in ("max pairs", "time budget") and not r.decision.settled
    assert r.to_dict()["candidate"]["label"] == "chatty"
    assert all(p.median_a_s > 0 and p.median_b_s > 0 for p in r.pairs)


def test_model_target_with_input(workdir):
    a = ABSide("abmod:model", input="abmod:X")
    r = ab_compare(a, a, max_pairs=2, max_time_s=30, seed=4, **FAST)
    assert len(r.pairs) == 2 and math.isfinite(r.decision.ratio)


def test_errors_are_clear(workdir):
    with pytest.raises(ModelError, match="kaboom in the target"):
        ab_compare("abmod:base", "abmod:boom", max_pairs=1, **FAST)
    with pytest.raises(InvalidParameterError, match="no attribute 'missing'"):
        ab_compare("abmod:base", "abmod:missing", max_pairs=1, **FAST)
    with pytest.raises(InvalidParameterError, match="module:attribute"):
        ABSide("abmod")
    with pytest.raises(InvalidParameterError, match="not an executable"):
        ABSide("abmod:base", python=str(workdir / "no-such-python"))
    with pytest.raises(InvalidParameterError, match="order"):
        ab_compare("abmod:base", "abmod:base", order="aabb")


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True,
                   env={"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t",
                        "GIT_COMMITTER_EMAIL": "t@t", "HOME": str(repo), "PATH": "/usr/bin:/bin"})


def test_revisions_measure_two_commits_interleaved(tmp_path, monkeypatch, capsys):
    """`torchperf ab TARGET --revisions A B`: each side imports its own commit's code."""
    repo = tmp_path / "proj"
    (repo / "pkg").mkdir(parents=True)
    body = "def run():\n    return sum(i * i for i in range({n}))\n"
    (repo / "pkg" / "__init__.py").write_text("")
    (repo / "pkg" / "hot.py").write_text(body.format(n=300))
    _git(repo, "init", "-q")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-qm", "fast")
    (repo / "pkg" / "hot.py").write_text(body.format(n=900))
    _git(repo, "commit", "-qam", "slow")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    rc = cli.main(["ab", "pkg.hot:run", "--revisions", "HEAD~1", "HEAD", "--repo", str(repo),
                   "--blocks", "2", "--max-time", "60", "--max-pairs", "12", "--seed", "5",
                   "--format", "json", "-q"])
    out = json.loads(capsys.readouterr().out)
    assert rc == 1 and out["verdict"] == "slower" and out["ci_low"] > 1
    assert out["base"]["label"] == "pkg.hot:run@HEAD~1"
    with pytest.raises(InvalidParameterError, match="not a commit"):
        checkout_revision(repo, "no-such-rev", tmp_path / "x")


def test_cli_exit_codes_and_json(workdir, capsys):
    rc = cli.main(["ab", "abmod:triple", "abmod:base", "--blocks", "2", "--max-pairs", "12",
                   "--max-time", "60", "--seed", "7"])
    captured = capsys.readouterr()
    assert rc == 0 and "-> faster" in captured.out and "pair 1:" in captured.err
    assert all(o in captured.out for o in ("B / A = 0.", "interleaved blocks", "stopped: settled"))
    assert cli.main(["ab", "abmod:base", "abmod:boom", "-q"]) == 2
    assert "kaboom" in capsys.readouterr().err
    assert cli.main(["ab", "abmod:base"]) == 2
    assert "--python-a/--python-b" in capsys.readouterr().err
    assert cli.main(["ab", "abmod:base", "abmod:base", "--python-b", "/no/such/python"]) == 2


def test_readme_ab_example_runs_as_written():
    """The README's `torchperf ab` example, run exactly as shown, from the repository root."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"<!-- ab-example -->\s*```\n\$ (torchperf ab [^\n]+)\n", text)
    assert block, "README.md lost its <!-- ab-example --> block"
    command = block.group(1).split()
    assert command[:2] == ["torchperf", "ab"]
    proc = subprocess.run([sys.executable, "-m", "torchperf", *command[1:]], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode in (0, 1), proc.stderr
    assert re.search(r"B / A = \d\.\d{3}\s+\(95% confidence sequence \[", proc.stdout)
    assert "pairs of fresh processes" in proc.stdout


@pytest.mark.slow
def test_asv_recipe_overlay_venvs(tmp_path, monkeypatch, capsys):
    """docs/measurement.md's recipe for built projects: one overlay venv per commit."""
    repo = tmp_path / "proj"
    (repo / "abpkg").mkdir(parents=True)
    (repo / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["setuptools"]\nbuild-backend = "setuptools.build_meta"\n'
        '[project]\nname = "abpkg"\nversion = "0"\n[tool.setuptools]\npackages = ["abpkg"]\n'
    )
    body = "def run():\n    return sum(i * i for i in range({n}))\n"
    (repo / "abpkg" / "__init__.py").write_text(body.format(n=300))
    _git(repo, "init", "-q")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-qm", "fast")
    (repo / "abpkg" / "__init__.py").write_text(body.format(n=900))
    _git(repo, "commit", "-qam", "slow")
    pythons = []
    for name, rev in (("A", "HEAD~1"), ("B", "HEAD")):
        sha = subprocess.run(["git", "-C", str(repo), "rev-parse", rev], capture_output=True,
                             text=True, check=True).stdout.strip()
        venv = tmp_path / f"ab-{name}"
        subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", "--without-pip",
                        str(venv)], check=True)
        py = venv / "bin" / "python"
        subprocess.run([sys.executable, "-m", "pip", "--python", str(py), "install", "-q", "--no-deps",
                        "--no-build-isolation", f"git+file://{repo}@{sha}"], check=True,
                       capture_output=True)
        pythons.append(str(py))
    outside = tmp_path / "outside"
    outside.mkdir()
    monkeypatch.chdir(outside)
    rc = cli.main(["ab", "abpkg:run", "--python-a", pythons[0], "--python-b", pythons[1],
                   "--blocks", "2", "--max-pairs", "12", "--max-time", "60", "--format", "json", "-q"])
    out = json.loads(capsys.readouterr().out)
    assert rc == 1 and out["verdict"] == "slower"
    assert out["base"]["python"] == pythons[0] and out["candidate"]["python"] == pythons[1]


def test_study_table_in_docs_is_regenerated_from_its_results_file():
    """docs/measurement.md's point-3 tables are tools/ab_study.py --summarize of the committed results."""
    proc = subprocess.run([sys.executable, "tools/ab_study.py", "--summarize",
                           "docs/data/ab_study_2026-12-03.jsonl"], cwd=ROOT, capture_output=True,
                          text=True, check=True, timeout=120)
    docs = (ROOT / "docs" / "measurement.md").read_text(encoding="utf-8")
    rows = [line for line in proc.stdout.splitlines() if line.startswith("| ")]
    assert len(rows) > 15
    missing = [line for line in rows if line not in docs]
    assert not missing, missing
