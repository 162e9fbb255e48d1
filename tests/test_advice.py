"""Issue 16.4: advice names the CLI flag from the CLI and the Python argument from Python.

Each advice path of the library is triggered twice: from Python (the message names the
argument, ``input_shape=...``, and no flag) and from the ``torchperf`` command (the
message names the flag, ``--input-shape``, and no ``argument=``). The mapping lives in
``torchperf/cli.py`` (``_FLAG_ADVICE``, ``_COMMAND_ADVICE``, ``_ARG_FLAGS``); see
docs/reliability.md#advice-names-flags. Measurement warnings name the model and the metric.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import textwrap
import warnings
from pathlib import Path

import numpy as np
import pytest

from torchperf import cli
from torchperf.errors import (
    InvalidParameterError,
    MissingDependencyError,
    ModelError,
    ResultsFileError,
)

DATA = Path(__file__).parent / "data"
MODULE = "tpf_advice_targets"
SOURCE = textwrap.dedent(
    """
    import time
    import numpy as np

    W = np.ones((8, 2), dtype=np.float32)

    def wants_16(x):
        return x.reshape(len(x), 16) @ np.ones((16, 2), dtype=np.float32)

    def fast(x):
        return None

    def slow(x):
        time.sleep(30)
    """
)


@pytest.fixture
def targets(tmp_path, monkeypatch):
    (tmp_path / f"{MODULE}.py").write_text(SOURCE)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.chdir(tmp_path)
    importlib.invalidate_caches()
    yield importlib.import_module(MODULE)
    sys.modules.pop(MODULE, None)


def cli_run(argv, capsys):
    try:
        code = cli.main(argv)
    except SystemExit as exc:
        code = exc.code
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return code, out, err


def _python_says(text: str, *, names: tuple[str, ...], flags: tuple[str, ...]) -> None:
    for n in names:
        assert n in text, (n, text)
    for f in flags:
        assert f not in text, (f, text)


def _cli_says(text: str, *, flags: tuple[str, ...], names: tuple[str, ...]) -> None:
    for f in flags:
        assert f in text, (f, text)
    for n in names:
        assert n not in text, (n, text)


# --------------------------------------------------------------------------- torchperf run / Benchmark


def test_input_rejected(targets, capsys):
    from torchperf import Benchmark

    b = Benchmark({"w": targets.wants_16}, warmup_runs=0, measurement_runs=2, environment={})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        b.run_latency_benchmark(input_shape=(1, 8))
    _python_says(b.failures["w"].message, names=("input_shape=...", "example_input=..."),
                 flags=("--input-shape",))  # fmt: skip
    code, _, err = cli_run(["run", f"{MODULE}:wants_16", "--input-shape", "1,8", "--metrics", "latency",
                            "--processes", "1", "--runs", "2", "--warmup", "0", "-o", "o"], capsys)  # fmt: skip
    assert code == 1
    _cli_says(err, flags=("--input-shape", "--example-input"), names=("input_shape=", "example_input="))


def test_timeout(targets, capsys):
    from torchperf import Benchmark

    b = Benchmark({"slow": targets.slow}, warmup_runs=0, measurement_runs=2, timeout_s=0.5,
                  environment={})  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        b.run_latency_benchmark(input_shape=(1, 8))
    _python_says(b.failures["slow"].message, names=("timeout_s",), flags=("--timeout",))
    code, _, err = cli_run(["run", f"{MODULE}:slow", "--input-shape", "1,8", "--metrics", "latency",
                            "--processes", "1", "--runs", "2", "--warmup", "0", "--timeout", "0.5",
                            "-o", "o"], capsys)  # fmt: skip
    assert code == 1
    _cli_says(err, flags=("--timeout",), names=("timeout_s",))


def test_strict_and_labelled_data(targets, capsys):
    from torchperf import Benchmark, BenchmarkSuite

    b = Benchmark({"w": targets.wants_16}, warmup_runs=0, measurement_runs=2, strict=True,
                  environment={})  # fmt: skip
    with pytest.raises(ModelError) as e:
        b.run_latency_benchmark(input_shape=(1, 8))
    _python_says(str(e.value), names=("strict=True",), flags=("--strict",))
    code, _, err = cli_run(["run", f"{MODULE}:wants_16", "--input-shape", "1,8", "--metrics", "latency",
                            "--processes", "1", "--runs", "2", "--warmup", "0", "--strict", "-o", "o"],
                           capsys)  # fmt: skip
    assert code == 1
    _cli_says(err, flags=("--strict",), names=("strict=",))
    # accuracy without labelled data
    suite = BenchmarkSuite({"f": targets.fast}, None, output_dir="s", metrics=("accuracy", "size"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        suite.run_full_benchmark(report=False)
    text = json.dumps(suite.to_run().to_dict())
    _python_says(text, names=("datasets=[(X, y)]",), flags=("--dataset",))
    code, out, err = cli_run(["run", f"{MODULE}:fast", "--metrics", "accuracy,size", "-o", "o2"], capsys)
    _cli_says(out + err, flags=("--dataset MODULE:ATTR",), names=("datasets=",))


def test_resume_with_other_settings_and_unusable_output(targets, capsys):
    from torchperf import BenchmarkSuite

    def suite(warmup, **kw):
        return BenchmarkSuite({"f": targets.fast}, None, output_dir="r", metrics=("size",),
                              warmup_runs=warmup, **kw)  # fmt: skip

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        suite(1).run_full_benchmark(report=False)
        with pytest.raises(InvalidParameterError) as e:
            suite(2).run_full_benchmark(resume=True, report=False)
    _python_says(str(e.value), names=("warmup_runs=1", "output_dir", "resume=False"),
                 flags=("--warmup", "--resume"))  # fmt: skip
    base = ["run", f"{MODULE}:fast", "--metrics", "size", "-o", "c"]
    assert cli_run([*base, "--warmup", "1"], capsys)[0] == 0
    code, _, err = cli_run([*base, "--warmup", "2", "--resume"], capsys)
    assert code == 2
    _cli_says(err, flags=("--warmup 1", "--output DIR", "drop --resume"),
              names=("warmup_runs", "output_dir", "resume="))  # fmt: skip
    # an output directory whose staging folder is a symbolic link
    for d in ("py", "cli"):
        Path(d).mkdir()
        os.symlink(Path.cwd(), Path(d) / ".staging")
    with warnings.catch_warnings(), pytest.raises(Exception) as e:
        warnings.simplefilter("ignore")
        BenchmarkSuite({"f": targets.fast}, None, output_dir="py", metrics=("size",)).run_full_benchmark()
    _python_says(str(e.value), names=("output_dir",), flags=("--output",))
    code, _, err = cli_run(["run", f"{MODULE}:fast", "--metrics", "size", "-o", "cli"], capsys)
    assert code == 2
    _cli_says(err, flags=("--output DIR",), names=("output_dir",))


def test_timer_overhead_advice_applies_and_warnings_name_model_and_metric(targets, capsys):
    from torchperf.errors import UnstableMeasurementWarning
    from torchperf.timing import _stability_warnings, measure

    # a fixed count: calibrate, or a count large enough (1-2-5 rounding of 1 % overhead)
    with pytest.warns(UnstableMeasurementWarning) as rec:
        measure(lambda: None, number=1, stop=5, warmup=0)
    text = " ".join(str(w.message) for w in rec)
    _python_says(text, names=("number='auto'", "number="), flags=("--number",))
    # already calibrated (number='auto'): not "use number='auto'", but a fixed larger count
    (msg,) = _stability_warnings([1e-7] * 5, 5e-8, 10, calibrated=True)
    assert "pass a fixed number=50" in msg and "pass number='auto'" not in msg
    (msg,) = _stability_warnings([1e-7] * 5, 5e-8, 10, calibrated=False)
    assert "pass number='auto' (calibrated) or number=50" in msg
    assert "pass a fixed --number 50" in cli._cli_advice(
        _stability_warnings([1e-7] * 5, 5e-8, 10, calibrated=True)[0], "run")
    # from the CLI: the flag, and the model and metric it concerns
    code, _, err = cli_run(["run", f"{MODULE}:fast", "--input-shape", "1,8", "--metrics", "latency",
                            "--processes", "1", "--runs", "5", "--warmup", "0", "--number", "1",
                            "-o", "o"], capsys)  # fmt: skip
    assert code == 0
    line = next(ln for ln in err.splitlines() if "timer overhead" in ln)
    assert "[fast, latency]" in line
    _cli_says(line, flags=("--number auto", "--number "), names=("number=",))


# --------------------------------------------------------------------------- history: compare / regressions


def test_history_scope_and_dependencies(tmp_path, capsys, monkeypatch):
    from torchperf.history import load_results
    from torchperf.history.store import Scope
    from torchperf.history.verdicts import assess_results

    res = str(DATA / "asv-history" / "results")
    with pytest.raises(ResultsFileError) as e:
        load_results(res, machine="nope", cache=False)
    _python_says(str(e.value), names=("machine='nope'", "machine= and env="), flags=("--machine", "--env"))
    with pytest.raises(ResultsFileError) as e:
        assess_results(res, scope=Scope(machine="nope"), cache=False)
    _python_says(str(e.value), names=("machine= and env=",), flags=("--machine",))
    for argv in (["compare", "HEAD~1", "HEAD"], ["regressions"]):
        code, _, err = cli_run([*argv, "--results-dir", res, "--no-cache", "--machine", "nope"], capsys)
        assert code == 2
        _cli_says(err, flags=("--machine 'nope'", "--machine and --env"), names=("machine=", "env="))
    with pytest.raises(InvalidParameterError) as e:
        Scope(env="(")
    _python_says(str(e.value), names=("env='('",), flags=("--env",))
    code, _, err = cli_run(["regressions", "--results-dir", res, "--no-cache", "--env", "("], capsys)
    assert code == 2
    _cli_says(err, flags=("--env '('",), names=("env=",))
    # the results directory: Python's argument, the CLI's flag
    with pytest.raises(ResultsFileError) as e:
        load_results("no-such-dir")
    _python_says(str(e.value), names=("`results_dir`",), flags=("--results-dir",))
    assert "pass --results-dir DIR (the `results_dir`" in cli._cli_advice(str(e.value), "regressions")
    # optional dependencies: Dask's scheduler and pyarrow's cache
    monkeypatch.setitem(sys.modules, "distributed", None)
    with pytest.raises(MissingDependencyError) as e:
        assess_results(res, scheduler="tcp://127.0.0.1:1", cache=str(tmp_path / "c1"))
    _python_says(str(e.value), names=("scheduler=None",), flags=("--scheduler",))
    code, _, err = cli_run(["regressions", "--results-dir", res, "--cache-dir", str(tmp_path / "c2"),
                            "--scheduler", "tcp://127.0.0.1:1"], capsys)  # fmt: skip
    assert code == 2
    _cli_says(err, flags=("drop --scheduler",), names=("scheduler=",))
    from torchperf.history import store

    monkeypatch.setitem(sys.modules, "pyarrow", None)
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    with pytest.raises(MissingDependencyError) as e:
        store._need_pyarrow()
    _python_says(str(e.value), names=("cache=False",), flags=("--no-cache",))
    assert "or pass --no-cache." in cli._cli_advice(str(e.value), "regressions")


def test_compare_runs_machine_env(tmp_path, capsys):
    from torchperf import BenchmarkResult, compare_runs, save_run

    env = {"hostname": "box1", "python": {"version": "3.11.7"}, "numpy_imported": "2.4.6"}
    rng = np.random.default_rng(0)
    paths = [save_run(tmp_path / f"{k}.json", {"latency": {"m": BenchmarkResult(
        "latency", 1e-3 * rng.lognormal(0, 0.01, 10), {}, unit="s")}}, environment=env)
        for k in "ab"]  # fmt: skip
    with pytest.raises(InvalidParameterError) as e:
        compare_runs(*paths, machine="box2", env="numpy1")
    _python_says(str(e.value), names=("machine='box2'", "env='numpy1'"), flags=("--machine", "--env"))
    code, _, err = cli_run(["compare", *map(str, paths), "--machine", "box2", "--env", "numpy1"], capsys)
    assert code == 2
    _cli_says(err, flags=("--machine 'box2'", "--env 'numpy1'"), names=("machine=", "env="))


# --------------------------------------------------------------------------- ab, publish


def test_ab_and_publish(tmp_path, capsys, monkeypatch):
    from torchperf.ab import checkout_revision
    from torchperf.site.offline import fetch_package

    with pytest.raises(InvalidParameterError) as e:
        checkout_revision(tmp_path, "no-such-rev", tmp_path / "out")
    _python_says(str(e.value), names=("repo=DIR",), flags=("--repo",))
    code, _, err = cli_run(["ab", "m:f", "--revisions", "no-such-rev", "HEAD", "--repo", str(tmp_path),
                            "-q"], capsys)  # fmt: skip
    assert code == 2
    _cli_says(err, flags=("--repo DIR",), names=("repo=",))
    with pytest.raises(MissingDependencyError) as e:
        fetch_package("jquery", "3.3.1", registry="http://127.0.0.1:9", cache=tmp_path / "c", timeout_s=2)
    _python_says(str(e.value), names=("offline=False",), flags=("--offline",))
    assert "or publish without --offline." in cli._cli_advice(str(e.value), "publish")
    monkeypatch.chdir(tmp_path)
    code, _, err = cli_run(["publish"], capsys)  # no asv.conf.json here
    assert code == 2 and "--html-dir DIR and --results-dir DIR" in err


def test_flags_named_by_the_mapping_exist():
    """Every flag the mapping writes is a flag of the command it is written for."""
    import re

    parser = cli.build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    options = {name: {o for a in p._actions for o in a.option_strings} for name, p in sub.choices.items()}
    for command, flags in cli._ARG_FLAGS.items():
        assert set(flags.values()) <= options[command], command
    for command, phrases in cli._COMMAND_ADVICE.items():
        for _, text in phrases:
            assert set(re.findall(r"--[a-z][a-z-]*", text)) <= options[command], text
    every = set().union(*options.values())
    for _, text in cli._FLAG_ADVICE:
        assert set(re.findall(r"--[a-z][a-z-]*", text)) <= every, text


def test_report_notes_and_caveats(tmp_path, capsys, monkeypatch):
    """Notes written into findings and reports name arguments; the CLI's summary, flags."""
    from torchperf import BenchmarkResult, compare_results, save_run
    from torchperf.report import collect_warnings

    rng = np.random.default_rng(0)
    a, b = (BenchmarkResult("latency", 1e-3 * rng.lognormal(0, 0.8, 12), {}, unit="s") for _ in "ab")
    caveat = compare_results(a, b, metric="latency").caveat
    _python_says(caveat, names=("processes >= 2",), flags=("--processes",))
    assert "(measure with --processes 2 or more)" in cli._cli_advice(caveat, "run")
    assert "`torchperf run --processes 2` or more" in cli._cli_advice(caveat, "compare")
    path = save_run(tmp_path / "results.json", {"latency": {"a": a, "b": b}}, models=["a", "b"])
    from torchperf import load_run

    notes = " ".join(n["message"] for n in collect_warnings(load_run(path)))
    _python_says(notes, names=("measurement_runs",), flags=("--runs",))
    assert "or raise --runs)." in cli._cli_advice(notes, "run")
    assert "`torchperf run --runs N`" in cli._cli_advice(notes, "report")
    # the flag the timer-overhead advice names is one of `torchperf run`
    monkeypatch.chdir(tmp_path)
    code, out, _ = cli_run(["run", "--help"], capsys)
    assert code == 0 and "--number N|auto" in out


def test_calibration_cap_advice():
    """calibrate_loops' cap: Python names ``max_number``; ``torchperf run`` (which has no such
    flag) names ``--number``."""
    from torchperf.timing import calibrate_loops

    with pytest.warns(Warning, match=r"Raise `max_number`\.") as rec:
        calibrate_loops(lambda: None, min_sample_s=0.5, max_number=4)
    msg = str(rec[0].message)
    out = cli._cli_advice(msg, "run")
    assert "Pass a fixed --number N above that." in out and "max_number`" not in out.split("reached")[1]
