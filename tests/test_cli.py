"""Input validation at the CLI boundary: one clear message, exit 2, never a traceback.

Also the library boundaries the CLI relies on (Benchmark, BenchmarkSuite,
BenchmarkResult) for the same absurd inputs, and ``torchperf doctor``.
"""

from __future__ import annotations

import importlib
import json
import sys
import textwrap

import numpy as np
import pytest

from torchperf import cli
from torchperf.benchmark import Benchmark
from torchperf.errors import InvalidParameterError, ResultsFileError
from torchperf.result import BenchmarkResult
from torchperf.suite import BenchmarkSuite, save_run

MODULE = "tpf_cli_inputs"
SOURCE = textwrap.dedent(
    """
    import numpy as np

    class Lin:
        name = "lin"
        input_shape = (4,)
        def forward(self, x):
            return np.asarray(x, dtype=np.float32).reshape(len(x), 4) @ np.eye(4, 3, dtype=np.float32)

    models = [Lin()]
    X = np.eye(4, dtype=np.float32)[[0, 1, 2, 0, 1, 2]]
    good = (X, np.array([0, 1, 2, 0, 1, 2]))
    empty = (X[:0], np.array([], dtype=int))
    mismatched = (X, np.array([0, 1, 2]))
    nan_x = (np.where(X == 1, np.nan, X), np.array([0, 1, 2, 0, 1, 2]))
    out_of_range = (X, np.array([0, 1, 2, 7, 8, 99]))
    not_data = 42
    evil = {"<img src=x onerror=alert(1)>": Lin(), "m</script><script>alert(2)</script>": Lin()}

    def broken_import():
        pass
    """
)


@pytest.fixture(scope="module")
def target_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli_inputs")
    (root / f"{MODULE}.py").write_text(SOURCE)
    (root / "tpf_cli_raises_on_import.py").write_text("raise RuntimeError('import-time bug')\n")
    sys.path.insert(0, str(root))
    importlib.invalidate_caches()
    yield root
    sys.path.remove(str(root))
    for name in (MODULE, "tpf_cli_raises_on_import"):
        sys.modules.pop(name, None)


def run_cli(argv, capsys):
    """cli.main with argparse's SystemExit turned into its code; returns (code, stdout, stderr)."""
    try:
        code = cli.main(argv)
    except SystemExit as exc:  # argparse: usage errors exit 2 before main's body
        code = exc.code
    out, err = capsys.readouterr()
    assert "Traceback" not in err and "Traceback" not in out
    return code, out, err


@pytest.mark.parametrize(
    "argv, needle",
    [
        (["run", "--warmup", "-1"], "--warmup must be in [0, 10000]; got -1"),
        (["run", "--runs", str(10**12)], "--runs must be in [2, 100000]"),
        (["run", "--runs", "ten"], "--runs must be an integer; got 'ten'"),
        (["run", "--metrics", "latency,speed"], "--metrics must be a comma-separated subset"),
        (["run", "--timeout", "-3"], "--timeout must be > 0"),
        (["run", "--memory-limit-mb", "1"], "--memory-limit-mb must be in [16,"),
        (["compare", "a", "b", "--confidence-level", "95"], "Did you mean 0.95?"),
        (["leaderboard", "x.json", "--latency-budget", "nan"], "--latency-budget must be >= 0"),
        (["frobnicate"], "invalid choice"),
        ([], "required"),
    ],
)
def test_bad_arguments_exit_2_with_one_message(argv, needle, capsys):
    code, _, err = run_cli(argv, capsys)
    assert code == 2 and needle in err


@pytest.mark.parametrize(
    "target, dataset, needle",
    [
        ("nomodule_xyz:models", None, "cannot import module 'nomodule_xyz'"),
        ("no-colon", None, "must look like 'module:attribute'"),
        (f"{MODULE}:missing", None, "has no attribute 'missing'"),
        ("tpf_cli_raises_on_import:x", None, "raised RuntimeError: import-time bug"),
        (f"{MODULE}:models", f"{MODULE}:empty", "is empty; pass at least one labelled example"),
        (f"{MODULE}:models", f"{MODULE}:mismatched", "X has 6 examples but y has 3 labels"),
        (f"{MODULE}:models", f"{MODULE}:nan_x", "X contains a non-finite value"),
        (f"{MODULE}:models", f"{MODULE}:not_data", "must name an (X, y) pair"),
    ],
)
def test_bad_targets_and_data_exit_2_before_measuring(target, dataset, needle, target_dir, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(target_dir)
    argv = ["run", target, "--output", str(tmp_path / "o"), "--warmup", "0", "--runs", "2"]
    if dataset:
        argv += ["--dataset", dataset]
    code, _, err = run_cli(argv, capsys)
    assert code == 2 and needle in err, err
    assert err.strip().count("\n") == 0  # one message
    assert not (tmp_path / "o" / "results.json").exists()  # failed before measuring anything


def test_labels_out_of_range_are_a_clear_model_failure(target_dir, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(target_dir)
    argv = [
        "run", f"{MODULE}:models", "--dataset", f"{MODULE}:out_of_range", "--output",
        str(tmp_path / "o"), "--warmup", "0", "--runs", "2", "--metrics", "accuracy,size",
    ]  # fmt: skip
    code, _, err = run_cli(argv, capsys)
    assert code == 1 and "labels range over [0, 99], outside [0, 2]" in err


def test_output_that_is_a_file_and_bad_results_files(tmp_path, capsys):
    f = tmp_path / "file.txt"
    f.write_text("x")
    code, _, err = run_cli(["run", "--output", str(f)], capsys)
    assert code == 2 and "is not a directory" in err
    cases = {
        "missing.json": None,
        "nan.json": '{"schema": "torchperf.run", "schema_version": 1, "results": {"latency": '
        '{"m": {"schema": "torchperf.BenchmarkResult", "schema_version": 1, "metric_name": "latency", '
        '"values": [NaN, 1.0], "unit": "s"}}}}',
        "negative.json": '{"schema": "torchperf.run", "schema_version": 1, "results": {"latency": '
        '{"m": {"schema": "torchperf.BenchmarkResult", "schema_version": 1, "metric_name": "latency", '
        '"values": [-1.0, 1.0], "unit": "s"}}}}',
        "future.json": '{"schema": "torchperf.run", "schema_version": 99}',
        "list.json": "[1, 2, 3]",
    }
    for name, text in cases.items():
        p = tmp_path / name
        if text is not None:
            p.write_text(text)
        for argv in (["report", str(p)], ["leaderboard", str(p)], ["compare", str(p), str(p)]):
            code, _, err = run_cli(argv, capsys)
            assert code == 2 and str(p) in err and err.strip().count("\n") == 0, (name, argv, err)
    assert "schema_version 99" in run_cli(["report", str(tmp_path / "future.json")], capsys)[2]
    assert "cannot be negative" in run_cli(["report", str(tmp_path / "negative.json")], capsys)[2]


def test_library_boundaries_reject_absurd_parameters():
    X = np.eye(4, dtype=np.float32)
    cases = [
        (lambda: Benchmark([np.negative], warmup_runs=-1), "`warmup_runs` must be an integer in [0,"),
        (lambda: Benchmark([np.negative], measurement_runs=10**12), "`measurement_runs` must be"),
        (lambda: Benchmark([], None), "`models` is empty"),
        (lambda: Benchmark([np.negative], [(X, [0])]).run_accuracy_benchmark(), "X has 4 examples but y has 1"),
        (lambda: Benchmark([np.negative], [(X[:0], [])]).run_accuracy_benchmark(), "is empty"),
        (lambda: BenchmarkSuite([np.negative], warmup_runs=-1), "`warmup_runs` must be an integer"),
        (lambda: BenchmarkSuite([np.negative], measurement_runs=10**12), "`measurement_runs`"),
        (lambda: BenchmarkSuite([np.negative], [(X, [0, 1])]), "X has 4 examples but y has 2"),
        (lambda: BenchmarkSuite([np.negative], metrics=("speed",)), "`metrics` must be"),
        (lambda: BenchmarkResult("latency", [1.0, float("nan")], unit="s"), "nan"),
        (lambda: BenchmarkResult("latency", [-1e-3, 1e-3], unit="s"), "cannot be negative"),
        (lambda: BenchmarkResult("latency", [], unit="s"), "empty"),
    ]
    for make, needle in cases:
        with pytest.raises(InvalidParameterError) as info:
            make()
        assert needle in str(info.value), (needle, str(info.value))


def test_results_file_with_bad_values_is_a_results_file_error(tmp_path):
    from torchperf.suite import load_run

    good = BenchmarkResult("latency", [1e-3, 2e-3], unit="s")
    path = save_run(tmp_path / "r.json", {"latency": {"m": good}})
    doc = json.loads(path.read_text())
    doc["results"]["latency"]["m"]["values"] = [1e-3, "NaN"]
    path.write_text(json.dumps(doc))
    with pytest.raises(ResultsFileError, match="results\\['latency'\\]\\['m'\\]"):
        load_run(path)


def test_doctor_checks_the_machine_and_says_what_to_fix(capsys):
    code, out, _ = run_cli(["doctor"], capsys)
    assert code == 0
    for name in ("load_average", "cpu_governor", "thread_oversubscription", "busy_processes",
                 "blas_threads_under_load", "timer"):  # fmt: skip
        assert name in out
    assert "->" in out or "fit for benchmarking" in out  # advice for every non-ok check
    code, out, _ = run_cli(["doctor", "--format", "json"], capsys)
    doc = json.loads(out)
    assert code == 0 and {c["status"] for c in doc["checks"]} <= {"ok", "warn", "unknown"}
    assert all(c["advice"] for c in doc["checks"] if c["status"] == "warn")


EVIL = "<img src=x onerror=alert(1)>"
EVIL2 = "m</script><script>alert(2)</script>"


def test_cli_reports_render_hostile_model_names_as_text(target_dir, tmp_path, capsys, monkeypatch):
    """Issue 8 (3), CLI part: names from a user's module stay text in every file `run` writes."""
    import importlib.util
    import os
    import shutil
    from pathlib import Path

    monkeypatch.chdir(target_dir)
    out = tmp_path / "evil"
    code, stdout, _ = run_cli(
        ["run", f"{MODULE}:evil", "--output", str(out), "--warmup", "0", "--runs", "2",
         "--metrics", "latency,size"],
        capsys,
    )  # fmt: skip
    assert code == 0 and EVIL in stdout  # the terminal table shows the name as it is
    html = (out / "report.html").read_text()
    assert "<img src=x" not in html and "<script>alert" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    md = (out / "report.md").read_text()
    assert r"\<img src=x onerror=alert\(1\)\>" in md
    assert "<" not in md.replace("\\<", "").replace("p <= ", "")  # every user < is escaped
    assert sorted(p.name for p in out.iterdir() if "img" in p.name or "script" in p.name) == []
    chromium = os.environ.get("CHROMIUM", "/usr/bin/chromium")
    chromium = chromium if os.path.isfile(chromium) else shutil.which("chromium")
    if not chromium:
        return  # the browser half runs where Chromium is installed (CI: tools/install-chromium.sh)
    root = Path(__file__).resolve().parents[1]
    spec = importlib.util.spec_from_file_location("render_report", root / "tools" / "render_report.py")
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    info = tool.render(out / "report.html", chromium=chromium)
    assert info["dialogs"] == [] and info["scripts"] == 0 and info["event_handlers"] == []
    assert EVIL in info["text"] and "</script>" in info["text"]


def test_asv_check_lists_torchperf_types_and_flags_a_broken_suite(tmp_path, capsys, monkeypatch):
    import json as _json

    from torchperf.cli import main as _main

    assert _main(["asv-check", "--conf-dir", str(tmp_path), "--format", "json"]) == 0
    report = _json.loads(capsys.readouterr().out)
    names = {t["name"] for t in report["types"] if t["source"] == "torchperf"}
    assert {"LatencyBenchmark", "PeakBytesBenchmark"} <= names
    assert report["suite"] is None

    (tmp_path / "asv.conf.json").write_text('{"version": 1, "benchmark_dir": "bench"}')
    bench = tmp_path / "bench"
    bench.mkdir()
    (bench / "__init__.py").write_text("")
    (bench / "bad.py").write_text("raise ImportError('broken on purpose')\n")
    monkeypatch.chdir(tmp_path)
    assert _main(["asv-check", "--conf-dir", str(tmp_path)]) == 2
    captured = capsys.readouterr()
    assert "broken on purpose" in captured.err
    assert "PROBLEMS FOUND" in captured.out


def test_compare_two_saved_runs_prints_coherent_intervals(tmp_path, capsys):
    """`torchperf compare A B`: each row's CI excludes 1 exactly when its p < 0.05 (rule 7)."""
    rng = np.random.default_rng(8)
    meta = {"processes": 3, "replicate_sizes": [10, 10, 10]}

    def lat(level):
        vals = np.concatenate([rng.lognormal(level + o, 0.01, 10) for o in rng.normal(0, 0.02, 3)])
        return BenchmarkResult("latency", vals * 1e-3, meta, unit="s")

    paths = []
    for side, slow in (("a", 0.0), ("b", 0.4)):
        res = {"latency": {"fast": lat(0.0), "slow": lat(slow)}}
        paths.append(save_run(tmp_path / f"{side}.json", res, environment={"machine": "t"},
                              models=["fast", "slow"]))  # fmt: skip
    code, out, _ = run_cli(["compare", str(paths[0]), str(paths[1])], capsys)
    assert code == 1  # "slow" regressed by ~50 %
    assert "replicate-median/welch-log-t" in out and "regression" in out
    code, out, _ = run_cli(["compare", str(paths[0]), str(paths[1]), "--format", "json"], capsys)
    rows = json.loads(out)
    for r in rows:
        assert (r["p_value"] < 0.05) == (r["ci_low"] > 1 or r["ci_high"] < 1)
        assert r["ci_low"] == r["ratio_ci_low"] and r["p_adjusted"] == r["q"]
    slow = next(r for r in rows if r["model"] == "slow")
    assert slow["verdict"] == "regression" and slow["n_before"] == 3
