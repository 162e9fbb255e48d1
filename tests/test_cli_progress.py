"""Issue 18 point 5: progress that reads in a log, warnings aggregated and printed before the summary."""

from __future__ import annotations

import importlib
import sys
import textwrap
import warnings

import pytest

from torchperf import cli

MODULE = "tpf_cli_progress_models"
SOURCE = textwrap.dedent(
    """
    import warnings
    import numpy as np

    class Chatty:
        input_shape = (4,)
        def __init__(self, name):
            self.name = name
        def forward(self, x):
            warnings.warn(f"slow path taken after {np.random.randint(1, 1000)} calls", RuntimeWarning)
            return np.asarray(x, dtype=np.float32).reshape(len(x), 4) @ np.eye(4, 3, dtype=np.float32)

    models = [Chatty("alpha"), Chatty("beta")]
    """
)


@pytest.fixture
def target(tmp_path, monkeypatch):
    (tmp_path / f"{MODULE}.py").write_text(SOURCE)
    monkeypatch.syspath_prepend(str(tmp_path))
    importlib.invalidate_caches()
    yield f"{MODULE}:models"
    sys.modules.pop(MODULE, None)


def _message(category, text):
    return warnings.WarningMessage(category(text), category, "x.py", 1)


def test_measurement_warnings_are_aggregated_per_model_and_metric(capsys):
    caught = [
        _message(UserWarning, f"[mlp, latency, worker process] coefficient of variation {cv} % is above 10 %")
        for cv in (221, 409, 300)
    ] + [
        _message(UserWarning, "[mlp, throughput, batch 32] coefficient of variation 50 % is above 10 %"),
        _message(UserWarning, "[cnn, latency, worker process] coefficient of variation 12 % is above 10 %"),
        _message(UserWarning, "[cnn, latency, worker process] coefficient of variation 12 % is above 10 %"),
        _message(RuntimeWarning, "something else 1"),
        _message(RuntimeWarning, "something else 2"),
    ]
    cli._report_warnings(caught)
    lines = capsys.readouterr().err.splitlines()
    assert lines == [
        "torchperf: UserWarning [mlp, latency] (x3, e.g.): coefficient of variation 221 % is above 10 %",
        "torchperf: UserWarning [mlp, throughput, batch 32]: coefficient of variation 50 % is above 10 %",
        "torchperf: UserWarning [cnn, latency] (x2): coefficient of variation 12 % is above 10 %",
        "torchperf: RuntimeWarning: something else 1",  # unlabelled warnings: one line per message
        "torchperf: RuntimeWarning: something else 2",
    ]


def test_run_prints_aggregated_warnings_before_the_summary_and_progress_lines(target, tmp_path, monkeypatch):
    stream: list[tuple[str, str]] = []
    monkeypatch.setattr(cli, "_out", lambda text: stream.append(("out", text)))
    monkeypatch.setattr(cli, "_err", lambda text: stream.append(("err", text)))
    code = cli.main([
        "run", target, "--output", str(tmp_path / "o"), "--warmup", "0", "--runs", "3",
        "--metrics", "latency", "--processes", "2",
    ])  # fmt: skip
    assert code == 0, stream
    text = [t for _, t in stream]
    slow = [i for i, t in enumerate(text) if "slow path taken" in t]
    # one line per model and metric, however many calls and worker processes warned
    assert len(slow) == 2, text
    assert "[alpha, latency]" in text[slow[0]] and "[beta, latency]" in text[slow[1]]
    assert "e.g." in text[slow[0]]  # the messages differed only in their numbers
    summary = next(i for i, (kind, t) in enumerate(stream) if kind == "out")
    assert max(slow) < summary  # warnings first; the summary is what a reader sees last
    assert not any("slow path" in t for t in text[summary:])
    # progress in a log (stderr is not a terminal here): plain lines, the last one at the end
    progress = [t for kind, t in stream if kind == "err" and t.startswith("torchperf: benchmarking ")]
    assert progress and progress[-1].startswith("torchperf: benchmarking 2/2: done")
    assert all("\r" not in t for t in progress)


def test_publish_shows_its_stages_on_stderr(tmp_path, monkeypatch):
    from pathlib import Path

    asv = pytest.importorskip("asv")
    fixture = Path(__file__).parent / "data" / "asv-history"
    html = tmp_path / "html"
    html.mkdir()
    (html / "index.html").write_text((Path(asv.__file__).parent / "www" / "index.html").read_text(encoding="utf-8"))
    stream: list[tuple[str, str]] = []
    monkeypatch.setattr(cli, "_out", lambda text: stream.append(("out", text)))
    monkeypatch.setattr(cli, "_err", lambda text: stream.append(("err", text)))
    monkeypatch.chdir(fixture)
    code = cli.main(["publish", "--html-dir", str(html), "--results-dir", str(fixture / "results")])
    assert code == 0, stream
    lines = [t for kind, t in stream if kind == "err" and t.startswith("torchperf: publishing ")]
    assert lines[0].startswith("torchperf: publishing 0/6: loading asv results")
    assert lines[-1].startswith("torchperf: publishing 6/6: done")
    assert stream[-1] == ("out", f"published: {html / 'index.html'}")  # the result is the last line


def test_publish_progress_hook_sees_every_stage_in_order(tmp_path):
    from pathlib import Path

    asv = pytest.importorskip("asv")
    from torchperf.site.pages import publish

    fixture = Path(__file__).parent / "data" / "asv-history"
    html = tmp_path / "html"
    html.mkdir()
    (html / "index.html").write_text((Path(asv.__file__).parent / "www" / "index.html").read_text(encoding="utf-8"))
    seen: list[tuple[int, int, str]] = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        publish(html_dir=html, results_dir=fixture / "results", conf_path=fixture / "asv.conf.json",
                progress=lambda k, n, what: seen.append((k, n, what)))
    stages = ["loading asv results", "regressions page", "environments page", "Pareto pages", "hub page",
              "linking asv's page", "done"]  # fmt: skip
    firsts = {}
    for k, _, what in seen:
        firsts.setdefault(k, what)
    assert list(firsts) == list(range(7)) and list(firsts.values()) == stages
    assert {n for _, n, _ in seen} == {6}
    assert [k for k, _, _ in seen] == sorted(k for k, _, _ in seen)  # never backwards
    # calls inside a stage keep its number and name it first
    assert all(what.startswith(stages[k]) for k, _, what in seen)


def test_publish_reports_progress_within_its_long_stages(tmp_path, monkeypatch):
    """Each results file parsed (fresh cache) and each Pareto page, not only the 6 stages."""
    from pathlib import Path

    asv = pytest.importorskip("asv")
    from torchperf.site.pages import build_pages, publish

    monkeypatch.setenv("TORCHPERF_CACHE_DIR", str(tmp_path / "cache"))  # nothing parsed yet
    fixture = Path(__file__).parent / "data" / "asv-history"
    html = tmp_path / "html"
    html.mkdir()
    (html / "index.html").write_text((Path(asv.__file__).parent / "www" / "index.html").read_text(encoding="utf-8"))
    seen: list[tuple[int, int, str]] = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        publish(html_dir=html, results_dir=fixture / "results", conf_path=fixture / "asv.conf.json",
                progress=lambda k, n, what: seen.append((k, n, what)))
    # the regressions page: the change-point scan reports the series it has scanned
    scans = [w for k, _, w in seen if k == 1 and w.startswith("regressions page: series ")]
    assert scans and scans[-1].endswith("scanned"), seen
    done, total = scans[-1].split()[3].split("/")
    assert done == total and int(total) > 1 and len(scans) >= 2
    files = [w for k, _, w in seen if k == 0 and w.startswith("loading asv results: file ")]
    n_files = len(list((fixture / "results").rglob("*.json"))) - len(list((fixture / "results").rglob("machine.json"))) - 1
    assert files[-1] == f"loading asv results: file {n_files}/{n_files}" and len(files) == n_files

    # the Pareto stage: one call per revision page (a zoo history of 3 commits)
    from tooling import load_tool

    from torchperf.history import load_results

    tool = load_tool("check_site")

    repo = tool.make_demo_history(tmp_path / "repo", commits=3, environments=1, regress_at=2)
    pages: list[tuple[int, int, str]] = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        build_pages(load_results(repo / "results"), tmp_path / "out", pareto_revisions=0,
                    progress=lambda k, n, what: pages.append((k, n, what)))
    per_page = [w for k, _, w in pages if k == 2 and w.startswith("Pareto pages: revision ")]
    assert [w.split()[3] for w in per_page] == ["1/3", "2/3", "3/3"], pages


def test_progress_in_a_log_says_a_silent_step_is_still_running(monkeypatch):
    """A stage that reports nothing for a while gets a plain line; nothing after close()."""
    import time

    lines: list[str] = []
    monkeypatch.setattr(cli, "_err", lines.append)
    monkeypatch.setattr(cli.sys.stderr, "isatty", lambda: False)
    hook, close = cli._progress_bar("publishing", unit="stage", heartbeat_s=0.5)
    hook(1, 6, "regressions page")
    time.sleep(2.5)
    close()
    assert lines[0].startswith("torchperf: publishing 1/6: regressions page (0 s elapsed")
    beats = [ln for ln in lines[1:] if "still running" in ln]
    assert beats and all(ln.startswith("torchperf: publishing 1/6: regressions page (") for ln in beats)
    n = len(lines)
    time.sleep(1.2)
    assert len(lines) == n  # the heartbeat stopped with close()
    # a finished bar does not beat
    done_lines: list[str] = []
    monkeypatch.setattr(cli, "_err", done_lines.append)
    hook, close = cli._progress_bar("benchmarking", heartbeat_s=0.1)
    hook(2, 2, "done")
    time.sleep(1.2)
    close()
    assert done_lines == [done_lines[0]] and "2/2: done" in done_lines[0]


@pytest.mark.parametrize("command", ["run", "publish", "regressions"])
def test_long_commands_speak_before_their_first_long_step(command, tmp_path, monkeypatch, target):
    """Progress within seconds, checked by order, not by a clock: a line is on stderr before the
    first step that can take long (importing targets, parsing the asv results) begins."""
    from pathlib import Path

    stream: list[str] = []
    monkeypatch.setattr(cli, "_err", stream.append)
    monkeypatch.setattr(cli, "_out", lambda text: None)
    spoken: list[int] = []

    class Reached(Exception):
        pass

    def first_long_step(*args, **kwargs):
        if command == "run":  # a slow import: said after 1 s (a failing one keeps its one error line)
            import time

            time.sleep(1.5)
        spoken.append(len(stream))
        raise Reached

    fixture = Path(__file__).parent / "data" / "asv-history"
    if command == "run":
        monkeypatch.setattr(cli, "_models_from_targets", first_long_step)
        argv = ["run", target, "--output", str(tmp_path / "o")]
    elif command == "publish":
        pytest.importorskip("asv")
        import torchperf.history.loader as loader

        monkeypatch.setattr(loader, "load_results", first_long_step)
        html = tmp_path / "html"
        html.mkdir()
        (html / "index.html").write_text("<html><body></body></html>")
        argv = ["publish", "--html-dir", str(html), "--results-dir", str(fixture / "results")]
        monkeypatch.chdir(fixture)
    else:
        import torchperf.history.store as store

        monkeypatch.setattr(store.HistoryStore, "update", first_long_step)
        monkeypatch.setattr(store.HistoryStore, "parse", first_long_step)
        argv = ["regressions", "--results-dir", str(fixture / "results"), "--no-cache"]
    with pytest.raises(Reached):
        cli.main(argv)
    assert spoken and spoken[0] >= 1, stream  # something was said before the long step


def test_quickstart_prints_measurement_warnings_above_its_tables(monkeypatch, tmp_path):
    import torchperf.quickstart as qs

    def fake_quickstart(output, *, say, show, progress):
        for cv in (221, 409, 300):
            warnings.warn(f"[mlp, latency, worker process] coefficient of variation {cv} %", UserWarning, stacklevel=2)
        show("SUMMARY TABLE")
        warnings.warn("[cnn, memory] peak varied", UserWarning, stacklevel=2)
        show("FINAL SUMMARY")
        return 0

    monkeypatch.setattr(qs, "run_quickstart", fake_quickstart)
    stream: list[tuple[str, str]] = []
    monkeypatch.setattr(cli, "_out", lambda text: stream.append(("out", text)))
    monkeypatch.setattr(cli, "_err", lambda text: stream.append(("err", text)))
    assert cli.main(["quickstart", "--output", str(tmp_path / "q")]) == 0
    assert stream == [
        ("err", "torchperf: UserWarning [mlp, latency] (x3, e.g.): coefficient of variation 221 %"),
        ("out", "SUMMARY TABLE"),
        ("err", "torchperf: UserWarning [cnn, memory]: peak varied"),
        ("out", "FINAL SUMMARY"),
    ]


def test_progress_latency_tool_measures_a_command(tmp_path):
    """tools/progress_latency.py (docs/reports.md's figures) on a short command."""
    import importlib.util
    import os
    from pathlib import Path

    root = Path(__file__).parents[1]
    spec = importlib.util.spec_from_file_location("progress_latency", root / "tools" / "progress_latency.py")
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    env = {**os.environ, "TORCHPERF_CACHE_DIR": str(tmp_path / "cache"),
           "PYTHONPATH": os.pathsep.join([str(root), os.environ.get("PYTHONPATH", "")])}  # fmt: skip
    r = tool.measure([sys.executable, "-m", "torchperf", "regressions", "--results-dir",
                      str(root / "tests" / "data" / "asv-real" / "results"), "--all"], env=env)
    assert r["rc"] in (0, 1) and r["stderr_lines"] >= 2 and not r["stopped"]
    assert r["first_lines"][0].startswith("torchperf: reading the asv history in ")
    assert 0 < r["first_line_s"] <= r["total_s"] and r["longest_silence_s"] <= r["total_s"]
    assert r["warnings_after_summary"] == 0
