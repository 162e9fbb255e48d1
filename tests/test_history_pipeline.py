"""Streaming change points per series group (in process and on Dask) == the whole-frame path."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from torchperf.errors import ResultsFileError
from torchperf.history import detect_change_points, find_regressions, load_results
from torchperf.history import store as store_mod
from torchperf.history.pipeline import stream_change_points, stream_regressions
from torchperf.history.store import HistoryStore, Scope

DATA = Path(__file__).parent / "data"
FIXTURES = [DATA / "asv-real" / "results", DATA / "asv-history" / "results"]


def _key(c):
    return (c.machine, c.env, c.benchmark, c.params, c.revision_after)


@pytest.fixture
def many_groups(monkeypatch):
    """Small groups, so that the fixtures' benchmarks spread over several series groups."""
    monkeypatch.setattr(store_mod, "GROUP_TARGET_VALUES", 60)


def _whole(root, **load_kw):
    return sorted(detect_change_points(load_results(root, cache=False, **load_kw),
                                       include_insignificant=True), key=_key)


@pytest.mark.parametrize("root", FIXTURES, ids=lambda p: p.parent.name)
def test_streamed_groups_give_the_whole_frame_findings(root, tmp_path, many_groups):
    store = tmp_path / "store"
    cps, start = stream_change_points(root, cache=store, include_insignificant=True)
    assert len(HistoryStore(root, store).update().group_paths()) > 1
    assert start is None
    assert cps == _whole(root)
    assert any(c.significant for c in cps)
    assert stream_regressions(root, cache=store) == find_regressions(load_results(root, cache=False))
    # without a cache: the same, from memory
    assert stream_change_points(root, cache=False, include_insignificant=True)[0] == cps


def test_scope_is_pushed_down(tmp_path, many_groups):
    root = FIXTURES[0]
    scope = Scope(bench=r"Steps\.")
    cps, _ = stream_change_points(root, cache=tmp_path / "s", scope=scope, include_insignificant=True)
    assert cps and all(".Steps." in c.benchmark for c in cps)
    assert cps == _whole(root, bench=r"Steps\.")
    with pytest.raises(ResultsFileError, match="match the scope"):
        stream_change_points(root, cache=tmp_path / "s", scope=Scope(machine="nope"))


def test_since_reads_only_recent_files_and_filters(tmp_path):
    root = FIXTURES[0]
    df = load_results(root, cache=False)
    commits = df.drop_duplicates("revision").sort_values("revision")["commit"].tolist()
    since = commits[15]
    got = stream_regressions(root, since=since, cache=tmp_path / "s", since_context=100)
    assert got == find_regressions(df, since=since)
    assert all(c.revision_after > 15 for c in got)
    # a short context reads fewer files and still only reports after `since`
    short = stream_regressions(root, since=since, cache=tmp_path / "s", since_context=6)
    assert all(c.revision_after > 15 for c in short)


def test_progress_stages(tmp_path, many_groups):
    calls = []
    stream_change_points(FIXTURES[0], cache=tmp_path / "s", progress=lambda *a: calls.append(a))
    stages = [c[0] for c in calls]
    assert stages[0] == "parse" and stages[-1] == "analyse"
    assert calls[-1][1] == calls[-1][2] > 1


def test_cli_regressions_scope_flags_and_log_progress(tmp_path, capsys):
    from torchperf import cli

    root = tmp_path / "results"
    shutil.copytree(FIXTURES[0], root)
    code = cli.main(["regressions", "--results-dir", str(root), "--bench", "time_regress",
                     "--format", "json"])
    out, err = capsys.readouterr()
    assert code == 1 and "time_regress" in out and "time_two_steps" not in out
    # stderr is not a terminal here: plain progress lines with the time left
    assert "torchperf: parsing asv results files: 30/30" in err and "s left)" in err
    assert "analysing series groups" in err
    code = cli.main(["regressions", "--results-dir", str(root), "--machine", "elsewhere"])
    assert code == 2 and "match the scope" in capsys.readouterr().err
    code = cli.main(["regressions", "--results-dir", str(root), "--env", "("])
    assert code == 2 and "regular expression" in capsys.readouterr().err


@pytest.mark.slow
def test_dask_local_cluster_gives_the_same_findings(tmp_path, many_groups, monkeypatch):
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=":0") as cluster, \
            distributed.Client(cluster) as client:
        for root in FIXTURES:
            store = tmp_path / root.parent.name
            single, _ = stream_change_points(root, cache=store, include_insignificant=True,
                                             reuse_results=False)
            on_dask, _ = stream_change_points(root, cache=store, include_insignificant=True,
                                              scheduler=client, reuse_results=False)
            assert on_dask == single == _whole(root)
        # the address form (what --scheduler / TORCHPERF_DASK_SCHEDULER pass)
        monkeypatch.setenv("TORCHPERF_DASK_SCHEDULER", cluster.scheduler_address)
        root = FIXTURES[0]
        assert stream_regressions(root, cache=tmp_path / "x") == find_regressions(
            load_results(root, cache=False))


def test_group_results_are_reused_only_while_their_inputs_are_unchanged(tmp_path, many_groups,
                                                                       monkeypatch):
    from torchperf.history import pipeline

    root = tmp_path / "results"
    shutil.copytree(FIXTURES[0], root)
    store = tmp_path / "s"
    first, _ = stream_change_points(root, cache=store, include_insignificant=True)
    calls = []
    real = pipeline._group_task
    monkeypatch.setattr(pipeline, "_group_task", lambda *a: calls.append(1) or real(*a))
    assert stream_change_points(root, cache=store, include_insignificant=True)[0] == first
    assert calls == []  # nothing changed: every group's candidates came from the cache
    # a damaged cached result is recomputed, not used
    victim = next((store / "results").glob("*.json"))
    victim.write_text("{")
    assert stream_change_points(root, cache=store, include_insignificant=True)[0] == first
    assert len(calls) == 1
    # new data (one file removed) changes the revisions: every group is analysed again
    calls.clear()
    sorted((root / "fixture-box").glob("*-existing-*.json"))[-1].unlink()
    again, _ = stream_change_points(root, cache=store, include_insignificant=True)
    assert len(calls) == len(HistoryStore(root, store).update().group_paths())
    assert again == _whole(root)


def test_scale_tool_writes_a_history_the_loader_reads(tmp_path):
    """tools/history_scale.py --store's generator: valid asv results, as many values as asked."""
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))
    try:
        from history_scale import write_asv_history
    finally:
        sys.path.pop(0)
    n = write_asv_history(tmp_path / "r", 30, 45)
    df = load_results(tmp_path / "r", cache=False)
    assert n == len(df) == 30 * 45 and df["value"].notna().all()
    assert df.groupby(["benchmark", "param_str"]).ngroups == 45
    cps, _ = stream_change_points(tmp_path / "r", cache=tmp_path / "s", include_insignificant=True)
    assert cps == _whole(tmp_path / "r")


def test_documented_cluster_command_is_what_the_cli_accepts():
    """docs/history.md's Dask command: the extra exists and the CLI parses the command as shown."""
    import re
    import shlex

    from torchperf.cli import build_parser

    root = Path(__file__).resolve().parents[1]
    text = (root / "docs" / "history.md").read_text(encoding="utf-8")
    block = re.search(r"### Beyond one machine: Dask\n\n```\n(.*?)```", text, re.S).group(1)
    lines = block.replace("\\\n", " ").splitlines()
    assert lines[0] == 'pip install "torchperf[dask]"'
    pyproject = (root / "pyproject.toml").read_text()
    assert re.search(r'^dask = \["dask\[distributed\]', pyproject, re.M)
    argv = shlex.split(lines[1], comments=True)
    assert argv[0] == "torchperf"
    args = build_parser().parse_args(argv[1:])
    assert (args.command, args.scheduler, args.cache_dir) == (
        "regressions", "tcp://scheduler:8786", "/shared/torchperf-cache/proj")


def test_pairwise_check_of_the_newest_revisions_is_cached_by_content(tmp_path, monkeypatch):
    """assess_results: a warm run reads the pairwise check from the store; a changed file redoes it."""
    import json

    from torchperf.history import verdicts

    root = tmp_path / "results"
    shutil.copytree(FIXTURES[0], root)
    files = sorted((root / "fixture-box").glob("*-existing-*.json"),
                   key=lambda p: json.loads(p.read_text())["date"])

    def step(factor):  # the newest revision of the Flat benchmarks moves: pairwise findings
        d = json.loads(files[-1].read_text())
        for name, row in d["results"].items():
            if "Flat" in name:
                row[0] = [v * factor if isinstance(v, float) else v for v in row[0]]
        files[-1].write_text(json.dumps(d))

    step(1.5)
    calls = []
    real = verdicts._tail_frame
    monkeypatch.setattr(verdicts, "_tail_frame", lambda *a: calls.append(1) or real(*a))

    def run(cache):
        v, _ = verdicts.assess_results(root, cache=cache)
        return json.dumps([x.to_dict() for x in v], sort_keys=True, default=str), v

    plain, v = run(False)
    assert any(x.kind == "pairwise" for x in v)
    store = tmp_path / "s"
    assert run(store)[0] == plain and len(calls) == 2
    warm, v = run(store)
    assert warm == plain and len(calls) == 2  # nothing changed: nothing compared
    assert [x.finding.comparison for x in v if x.kind == "pairwise"] == [
        x.finding.comparison for x in run(False)[1] if x.kind == "pairwise"]
    step(1.2)  # a file among the newest revisions changed: compared again
    plain = run(False)[0]
    assert run(store)[0] == plain and len(calls) == 5


@pytest.mark.slow
def test_scale_tool_store_mode_runs_as_documented(tmp_path):
    """docs/history.md's `history_scale.py --store ... --new-commit` and `--generate-only`, tiny."""
    import os
    import subprocess
    import sys

    tool = Path(__file__).resolve().parents[1] / "tools" / "history_scale.py"
    base = [sys.executable, str(tool), "--store", "--revisions", "30", "--series", "40"]
    out = subprocess.run([*base, "--generate-only", "--dir", str(tmp_path / "g")],
                         capture_output=True, text=True, check=True).stdout
    assert "wrote 1,200 values in 30 files" in out
    assert len(load_results(tmp_path / "g" / "results", cache=False)) == 1200
    out = subprocess.run([*base, "--repeat", "1", "--new-commit", "--dir", str(tmp_path / "s")],
                         capture_output=True, text=True, check=True,
                         env={**os.environ, "HISTORY_SCALE_STDERR": str(tmp_path / "err")}).stdout
    for label in ("cold (empty cache)", "warm #1 (nothing changed)", "after one new commit",
                  "back to the original (one deleted)"):
        line = next(ln for ln in out.splitlines() if ln.startswith(label))
        assert "B/value above its baseline" in line and line.rstrip().endswith(("exit 0", "exit 1"))
