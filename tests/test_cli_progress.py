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
    assert [k for k, _, _ in seen] == list(range(7))
    assert {n for _, n, _ in seen} == {6}
    assert [w for _, _, w in seen] == [
        "loading asv results", "regressions page", "environments page", "Pareto pages", "hub page",
        "linking asv's page", "done",
    ]


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
