"""Tests of torchperf.suite: BenchmarkSuite runs, incremental saves, interrupts, resume, run files."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
import warnings
from pathlib import Path

import numpy as np
import pytest

from torchperf.errors import InvalidParameterError, ModelError, ResultsFileError
from torchperf.suite import (
    RUN_SCHEMA,
    BenchmarkSuite,
    compare_to_baseline,
    load_run,
    save_run,
)

FAST = {"number": 1}  # one call per sample: keeps call counts predictable and tests fast


class Tiny:
    """A 4-feature, 3-class linear classifier."""

    input_shape = (4,)

    def __init__(self, name: str, seed: int = 0, noise: float = 0.0) -> None:
        self.name = name
        rng = np.random.default_rng(seed)
        self.w = np.eye(4, 3, dtype=np.float32) + noise * rng.standard_normal((4, 3)).astype(np.float32)
        self.calls = 0

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.calls += 1
        return np.asarray(x, dtype=np.float32).reshape(len(x), 4) @ self.w

    def parameter_bytes(self) -> int:
        return int(self.w.nbytes)


class Interrupter(Tiny):
    """Sends itself SIGINT on its n-th call while armed (a user pressing Ctrl-C)."""

    def __init__(self, name: str, at_call: int = 3) -> None:
        super().__init__(name)
        self.at_call = at_call
        self.armed = True

    def forward(self, x: np.ndarray) -> np.ndarray:
        out = super().forward(x)
        if self.armed and self.calls == self.at_call:
            os.kill(os.getpid(), signal.SIGINT)
        return out


class Broken(Tiny):
    def forward(self, x: np.ndarray) -> np.ndarray:
        raise ValueError("broken <model>")


def dataset(n: int = 30):
    rng = np.random.default_rng(1)
    X = rng.random((n, 4)).astype(np.float32)
    y = np.argmax(X[:, :3], axis=1)
    return [(X, y)]


def make_suite(models, tmp_path, **kw):
    kw.setdefault("warmup_runs", 1)
    kw.setdefault("measurement_runs", 3)
    kw.setdefault("benchmark_kwargs", FAST)
    return BenchmarkSuite(models, dataset(), tmp_path / "out", **kw)


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


# --------------------------------------------------------------------------- full run


@pytest.mark.slow
def test_full_run_results_frame_comparisons_and_files(tmp_path):
    models = [Tiny("base", seed=5, noise=0.3), Tiny("other", seed=3, noise=0.5)]
    suite = make_suite(models, tmp_path)
    results = suite.run_full_benchmark()
    assert set(results) == {"latency", "throughput", "accuracy", "memory", "size"}
    for per_model in results.values():
        assert set(per_model) == {"base", "other"}
    assert results["latency"]["base"].unit == "s"
    assert results["accuracy"]["base"].lower_is_better is False

    saved = load_run(tmp_path / "out" / "results.json")
    assert saved["complete"] is True and saved["interrupted"] is False
    assert saved["results"] == results
    assert saved["protocol"]["measurement_runs"] == 3
    assert saved["models"] == ["base", "other"]
    assert "python" in saved["environment"]

    frame = suite.to_frame()
    assert len(frame) == 10
    for col in ("model", "metric", "mean", "median", "ci_low", "ci_high", "n", "unit", "direction"):
        assert col in frame.columns
    row = frame[(frame.model == "base") & (frame.metric == "latency")].iloc[0]
    assert row["ci_low"] <= row["mean"] <= row["ci_high"]
    assert row["n"] == 3 and row["direction"] == "lower_is_better"

    comps = suite.comparisons()
    assert {(c["metric"], c["model"]) for c in comps} == {(m, "other") for m in results}
    assert {c["correction"] for c in comps} == {"benjamini-hochberg"}
    acc = next(c for c in comps if c["metric"] == "accuracy")
    assert acc["method"] == "mcnemar-exact" and acc["ratio"] < 1.0

    md = suite.generate_report()
    out = tmp_path / "out"
    for name in ("report.md", "report.html", "results.csv", "results.json", "pareto.png", "pareto.svg"):
        assert (out / name).is_file(), name
    assert md == (out / "report.md").read_text(encoding="utf-8")
    assert "status: **complete**" in md


def test_plot_pareto_frontier_saves_png_and_svg(tmp_path):
    from PIL import Image

    # accuracies below 100 %: see the lead's note on Wilson intervals at p = 1 in plots
    models = [Tiny("a", seed=5, noise=0.3), Tiny("b", seed=2, noise=0.6)]
    suite = make_suite(models, tmp_path, metrics=("latency", "accuracy"))
    suite.run_full_benchmark()
    fig = suite.plot_pareto_frontier()
    assert fig.__class__.__name__ == "Figure"
    png = tmp_path / "out" / "pareto.png"
    with Image.open(png) as im:
        w, h = im.size
    assert (w, h) == (int(fig.get_figwidth() * 100), int(fig.get_figheight() * 100))
    assert (tmp_path / "out" / "pareto.svg").read_text().lstrip().startswith("<?xml")
    figs = suite.plot_results(save_plots=True)
    assert {"pareto", "metric_latency", "metric_accuracy", "latency_distribution"} <= set(figs)
    assert (tmp_path / "out" / "metric_latency.png").stat().st_size > 1000
    with pytest.raises(InvalidParameterError, match="memory"):
        suite.plot_pareto_frontier("memory", "accuracy")


def test_failing_model_is_recorded_and_others_complete(tmp_path):
    suite = make_suite([Tiny("ok"), Broken("bad")], tmp_path, metrics=("latency", "size"))
    results = suite.run_full_benchmark()
    assert all("ok" in per for per in results.values())
    assert "bad" not in results["latency"]
    assert "latency" in suite.failures["bad"]
    assert "broken <model>" in suite.failures["bad"]["latency"]["message"]
    saved = load_run(suite.results_path)
    assert saved["complete"] is True and "bad" in saved["failures"]
    html = (Path(suite.generate_report()) and (tmp_path / "out" / "report.html")).read_text()
    assert "broken &lt;model&gt;" in html


def test_strict_failure_saves_then_raises(tmp_path):
    suite = make_suite([Tiny("ok"), Broken("bad")], tmp_path, strict=True)
    with pytest.raises(ModelError):
        suite.run_full_benchmark()
    assert not suite.results_path.exists()  # staged: only a complete run is promoted
    saved = load_run(suite.staging_path)
    assert saved["complete"] is False and saved["interrupted"] is True
    assert "ok" in saved["results"]["latency"]


# --------------------------------------------------------------------------- interrupts and resume


@pytest.mark.reliability
def test_keyboard_interrupt_in_model_keeps_finished_results_and_resume(tmp_path):
    healthy, stopper = Tiny("healthy"), Interrupter("stopper", at_call=3)
    suite = make_suite([healthy, stopper], tmp_path)
    with pytest.raises(KeyboardInterrupt):
        suite.run_full_benchmark()
    out = tmp_path / "out"
    assert not (out / "results.json").exists()
    staged = out / ".staging"
    saved = load_run(staged / "results.json")
    assert saved["complete"] is False and saved["interrupted"] is True
    assert list(saved["results"]) == ["latency"]
    assert list(saved["results"]["latency"]) == ["healthy"]
    before = saved["results"]["latency"]["healthy"]
    # a partial report of what completed, beside the staged results
    md = (staged / "report.md").read_text(encoding="utf-8")
    assert "INTERRUPTED" in md and "healthy" in md
    assert "Pending:" in md and "stopper" in md
    assert "INTERRUPTED" in (staged / "report.html").read_text(encoding="utf-8")

    # resume: only what is missing is measured
    stopper.armed = False
    calls_before = healthy.calls
    resumed = make_suite([healthy, stopper], tmp_path)
    results = resumed.run_full_benchmark(resume=True)
    assert results["latency"]["healthy"] == before  # not re-measured
    assert set(results["latency"]) == {"healthy", "stopper"}
    assert all(set(per) == {"healthy", "stopper"} for per in results.values())
    assert load_run(out / "results.json")["complete"] is True
    assert healthy.calls > calls_before  # its other metrics were measured now


def test_progress_hook_raising_interrupt(tmp_path):
    seen = []

    def hook(completed, total, description):
        seen.append((completed, total, description))
        if completed == 3:
            raise KeyboardInterrupt

    suite = make_suite([Tiny("a"), Tiny("b")], tmp_path, progress=hook)
    with pytest.raises(KeyboardInterrupt):
        suite.run_full_benchmark()
    assert seen[0] == (0, 10, "latency: a")
    saved = load_run(suite.staging_path)
    done = {(m, n) for m, per in saved["results"].items() for n in per}
    assert done == {("latency", "a"), ("latency", "b"), ("throughput", "a")}
    assert saved["complete"] is False


def test_progress_hook_reaches_total_and_tqdm_like(tmp_path):
    class Bar:
        def __init__(self):
            self.n, self.total, self.desc = 0, None, ""

        def update(self, k):
            self.n += k

        def set_description_str(self, s):
            self.desc = s

    bar = Bar()
    suite = make_suite([Tiny("a")], tmp_path, progress=bar, metrics=("size", "accuracy"))
    suite.run_full_benchmark()
    assert bar.total == 2 and bar.n == 2 and bar.desc == "done"


def test_resume_refuses_other_protocol(tmp_path):
    make_suite([Tiny("a")], tmp_path, metrics=("size",)).run_full_benchmark()
    other = make_suite([Tiny("a")], tmp_path, metrics=("size",), measurement_runs=4)
    with pytest.raises(InvalidParameterError, match="measurement_runs"):
        other.run_full_benchmark(resume=True)


def test_resume_from_corrupt_file_redoes_everything(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "results.json").write_text('{"schema": "torchperf.run", "schema_ver')
    suite = make_suite([Tiny("a")], tmp_path, metrics=("size",))
    with pytest.warns(Warning, match="cannot resume"):
        warnings.simplefilter("always")
        results = suite.run_full_benchmark(resume=True)
    assert "a" in results["size"]


@pytest.mark.slow
def test_sigkill_at_random_points_then_resume(tmp_path):
    """Kill a running suite with SIGKILL at seeded random moments; the file stays readable."""
    script = tmp_path / "run.py"
    script.write_text(
        textwrap.dedent(
            f"""
            import sys, time, warnings
            import numpy as np
            sys.path.insert(0, {str(Path(__file__).parent)!r})
            from test_suite import Tiny, dataset
            from torchperf.suite import BenchmarkSuite

            class Slow(Tiny):
                def forward(self, x):
                    time.sleep(0.002)
                    return super().forward(x)

            warnings.simplefilter("ignore")
            models = [Slow(f"m{{i}}") for i in range(4)]
            suite = BenchmarkSuite(models, dataset(), sys.argv[1], warmup_runs=1,
                                   measurement_runs=3, benchmark_kwargs={{"number": 1}},
                                   metrics=("latency", "throughput", "size"))
            suite.run_full_benchmark(resume=True)
            """
        )
    )
    out = tmp_path / "out"
    rng = np.random.default_rng(12345)
    env = dict(os.environ, PYTHONWARNINGS="ignore")
    for _ in range(3):
        proc = subprocess.Popen([sys.executable, str(script), str(out)], env=env)
        deadline = time.monotonic() + 60
        while not (out / "results.json").exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(float(rng.uniform(0.0, 0.6)))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        if (out / "results.json").exists():
            run = load_run(out / "results.json")  # never torn
            assert run["schema"] == RUN_SCHEMA
    subprocess.run([sys.executable, str(script), str(out)], env=env, check=True, timeout=120)
    run = load_run(out / "results.json")
    assert run["complete"] is True
    assert all(len(run["results"][m]) == 4 for m in ("latency", "throughput", "size"))


# --------------------------------------------------------------------------- validation


@pytest.mark.parametrize(
    ("kw", "match"),
    [
        ({"warmup_runs": -1}, "warmup_runs"),
        ({"measurement_runs": 10**12}, "measurement_runs"),
        ({"metrics": ("latency", "speed")}, "metrics"),
        ({"baseline": "nope"}, "baseline"),
        ({"correction": "bonferroni"}, "correction"),
        ({"confidence_level": 95.0}, "Did you mean 0.95"),
        ({"progress": 3}, "progress"),
    ],
)
def test_invalid_parameters(tmp_path, kw, match):
    with pytest.raises(InvalidParameterError, match=match):
        BenchmarkSuite([Tiny("a")], None, tmp_path, **kw)


def test_empty_models_and_no_results(tmp_path):
    with pytest.raises(InvalidParameterError, match="empty"):
        BenchmarkSuite([], None, tmp_path)
    suite = BenchmarkSuite({"x": Tiny("a")}, None, tmp_path)
    assert list(suite.models) == ["x"]
    with pytest.raises(InvalidParameterError, match="run_full_benchmark"):
        suite.comparisons()


# --------------------------------------------------------------------------- run files


def _small_run(tmp_path):
    from torchperf.result import BenchmarkResult

    res = {"latency": {"a": BenchmarkResult("latency", [1.0, 1.1, 0.9], {"k": "v"}, unit="s")}}
    return save_run(tmp_path / "results.json", res, protocol={"baseline": "a"})


def test_load_run_unknown_version_and_schema(tmp_path):
    p = _small_run(tmp_path)
    doc = json.loads(p.read_text())
    doc["schema_version"] = 3  # a future version
    p.write_text(json.dumps(doc))
    with pytest.raises(ResultsFileError, match="schema_version 3"):
        load_run(p)
    doc["schema"] = "something.else"
    p.write_text(json.dumps(doc))
    with pytest.raises(ResultsFileError, match="not a torchperf run file"):
        load_run(p)
    with pytest.raises(ResultsFileError, match="does not exist"):
        load_run(tmp_path / "missing.json")


def test_load_run_truncated_at_every_point_gives_clear_error(tmp_path):
    p = _small_run(tmp_path)
    full = p.read_bytes()
    assert load_run(p)["results"]["latency"]["a"].values == (1.0, 1.1, 0.9)
    rng = np.random.default_rng(7)
    cuts = sorted(set(rng.integers(0, len(full), 40).tolist()) | {0, 1, len(full) - 2})
    for cut in cuts:
        p.write_bytes(full[:cut])
        with pytest.raises(ResultsFileError):
            load_run(p)


@pytest.mark.parametrize(
    "mutate",
    [
        lambda d: d.update(results=[1, 2]),
        lambda d: d["results"].update(latency=[1]),
        lambda d: d["results"]["latency"].update(a={"values": "x"}),
        lambda d: d["results"]["latency"]["a"].update(values=["NaN", 1.0]),
        lambda d: d.update(failures=[]),
        lambda d: d.update(complete="yes"),
        lambda d: d.update(models="a"),
    ],
)
def test_load_run_malformed_parts(tmp_path, mutate):
    p = _small_run(tmp_path)
    doc = json.loads(p.read_text())
    mutate(doc)
    p.write_text(json.dumps(doc))
    with pytest.raises(ResultsFileError):
        load_run(p)


def test_compare_to_baseline_exact_and_family():
    from torchperf.result import BenchmarkResult

    rng = np.random.default_rng(0)
    res = {
        "latency": {
            "a": BenchmarkResult("latency", rng.lognormal(0, 0.02, 10), {}, unit="s"),
            "b": BenchmarkResult("latency", rng.lognormal(0.3, 0.02, 10), {}, unit="s"),
        },
        "size": {
            "a": BenchmarkResult("size", [100.0, 100.0], {}, unit="B"),
            "b": BenchmarkResult("size", [50.0, 50.0], {}, unit="B"),
        },
    }
    comps = compare_to_baseline(res, "a")
    lat = next(c for c in comps if c["metric"] == "latency")
    size = next(c for c in comps if c["metric"] == "size")
    assert lat["verdict"] == "regression" and lat["family_size"] == 1
    assert size["method"] == "exact" and size["ratio"] == 0.5 and size["verdict"] == "improvement"
    assert size["p_value"] is None
    with pytest.raises(InvalidParameterError):
        compare_to_baseline(res, "a", confidence_level=95)


def test_compare_to_baseline_uses_processes_as_replicates():
    """A/A with process-level noise (the usual case): per-call samples pooled across processes
    over-state the evidence; per-process medians do not (docs/statistics.md#rule-1). Seeded simulation."""
    from torchperf.result import BenchmarkResult

    rng = np.random.default_rng(3)

    def measured() -> np.ndarray:
        # 4 processes x 10 calls: each process has its own level (5 %), calls vary 0.5 % around it
        levels = rng.normal(0.0, 0.05, 4)
        return np.concatenate([np.exp(lvl + rng.normal(0, 0.005, 10)) for lvl in levels])

    meta = {"processes": 4, "replicate_sizes": [10, 10, 10, 10]}
    flagged = {"pooled": 0, "replicates": 0}
    n_sim = 100
    for _ in range(n_sim):
        a, b = measured(), measured()
        pooled = compare_to_baseline(
            {"latency": {"a": BenchmarkResult("latency", a, {"processes": 1}, unit="s"),
                         "b": BenchmarkResult("latency", b, {"processes": 1}, unit="s")}}, "a")[0]
        repl = compare_to_baseline(
            {"latency": {"a": BenchmarkResult("latency", a, meta, unit="s"),
                         "b": BenchmarkResult("latency", b, meta, unit="s")}}, "a")[0]
        assert repl["method"].startswith("replicate-median/")
        assert repl["n_baseline"] == repl["n_candidate"] == 4
        assert "one process" in pooled["note"] and not repl["note"]
        flagged["pooled"] += pooled["p_value"] < 0.05
        flagged["replicates"] += repl["p_value"] < 0.05
    print(f"A/A pairs with p < 0.05 out of {n_sim}: {flagged}")
    assert flagged["pooled"] > 0.3 * n_sim  # identical code "significantly" different
    assert flagged["replicates"] <= 0.10 * n_sim  # nominal 5 %, binomial slack for 100 draws


# --------------------------------------------------------------------------- regressions (issue 8 review)


class Generator(Tiny):
    """A model that declares a non-classification task (like the zoo's attn-* models)."""

    task = "generation"


def test_generation_models_get_no_accuracy_not_a_zero(tmp_path):
    suite = make_suite(
        {"clf": Tiny("clf"), "gen": Generator("gen")}, tmp_path, metrics=("accuracy", "size")
    )
    results = suite.run_full_benchmark()
    assert "gen" not in results["accuracy"] and "clf" in results["accuracy"]
    assert "gen" not in suite.failures  # not a failure either
    assert "generation" in suite.not_applicable["accuracy"]["gen"]
    assert "gen" in results["size"]
    run = load_run(suite.results_path)
    assert run["not_applicable"] == {"accuracy": {"gen": suite.not_applicable["accuracy"]["gen"]}}
    assert suite.pending() == []  # a resume does not redo it
    from torchperf.report import summary_table

    line = [ln for ln in summary_table(run).splitlines() if ln.startswith("gen") and "accuracy" in ln]
    assert line and "n/a" in line[0] and "0 %" not in line[0]


def test_results_file_keeps_the_environment_once_and_round_trips(tmp_path):
    env = {"platform": "x" * 20_000, "python": {"version": "3.11"}}
    suite = make_suite([Tiny("a"), Tiny("b", noise=0.1)], tmp_path)
    import torchperf.environment as envmod

    orig = envmod.collect_environment
    envmod.collect_environment = lambda **kw: dict(env)  # a large environment, as on a real box
    try:
        suite.run_full_benchmark()
    finally:
        envmod.collect_environment = orig
    raw = json.loads(suite.results_path.read_text())
    size = suite.results_path.stat().st_size
    assert size < 2 * 20_000 + 60_000  # environment stored once, not 10 times (>= 200 kB)
    assert raw["environment"] == env
    some = raw["results"]["latency"]["a"]["metadata"]
    assert "environment" not in some and some["environment_fingerprint"] == raw["environment_fingerprint"]
    run = load_run(suite.results_path)
    for metric, per_model in suite.results.items():
        for model, r in per_model.items():
            assert run["results"][metric][model] == r  # metadata (with environment) restored
            assert dict(run["results"][metric][model].metadata["environment"]) == env


def test_old_run_files_with_per_result_environment_still_load(tmp_path):
    suite = make_suite([Tiny("a")], tmp_path, metrics=("latency",))
    suite.run_full_benchmark()
    raw = json.loads(suite.results_path.read_text())
    for per_model in raw["results"].values():
        for d in per_model.values():  # the old layout: a full copy in every result
            d["metadata"].pop("environment_fingerprint", None)
            d["metadata"]["environment"] = raw["environment"]
    raw.pop("environment_fingerprint", None)
    old = tmp_path / "old.json"
    old.write_text(json.dumps(raw))
    run = load_run(old)
    from torchperf.fileio import to_jsonable

    assert to_jsonable(run["results"]["latency"]["a"].metadata["environment"]) == raw["environment"]
    # a result measured under another environment keeps its own copy through a save
    other = dict(raw)
    other["results"]["latency"]["a"]["metadata"]["environment"] = {"platform": "elsewhere"}
    save_run(tmp_path / "mixed.json", normalize(other), environment=raw["environment"])
    again = load_run(tmp_path / "mixed.json")
    assert to_jsonable(again["results"]["latency"]["a"].metadata["environment"]) == {
        "platform": "elsewhere"
    }


def normalize(raw):
    from torchperf.suite import normalize_run

    return normalize_run(raw)["results"]


def test_result_metadata_uses_the_suite_key_not_the_model_attribute(tmp_path):
    suite = make_suite({"my-key": Tiny("attribute-name")}, tmp_path, metrics=("latency", "size"))
    results = suite.run_full_benchmark()
    for metric in ("latency", "size"):
        assert list(results[metric]) == ["my-key"]
        assert results[metric]["my-key"].metadata["model"] == "my-key"


def test_pareto_frontier_plot_with_perfect_accuracy(tmp_path):
    pytest.importorskip("matplotlib", reason="plots need matplotlib")
    suite = make_suite([Tiny("a"), Tiny("b", noise=0.01)], tmp_path, metrics=("latency", "accuracy"))
    results = suite.run_full_benchmark()
    assert results["accuracy"]["a"].values == (1.0,)  # the identity classifier is perfect
    fig = suite.plot_pareto_frontier()
    assert fig is not None and (tmp_path / "out" / "pareto.png").stat().st_size > 0


def test_second_run_into_a_locked_directory_fails_fast(tmp_path):
    from torchperf.errors import OutputLockedError
    from torchperf.fileio import directory_lock

    suite = make_suite([Tiny("a")], tmp_path, metrics=("size",))
    code = (
        "import sys, time; from torchperf.fileio import directory_lock\n"
        f"with directory_lock({str(tmp_path / 'out')!r}, purpose='holder'):\n"
        "    print('locked', flush=True); time.sleep(30)\n"
    )
    holder = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(OutputLockedError, match=f"pid {holder.pid}"):
            suite.run_full_benchmark()
    finally:
        holder.kill()
        holder.wait()
    assert suite.run_full_benchmark()["size"]["a"].count == 1  # the kernel freed the lock
    with directory_lock(tmp_path / "out"):  # re-entrant in one thread
        suite.run_full_benchmark()


# --------------------------------------------------------------------------- staging (issue 15.2)


def _snapshot(directory: Path) -> dict[str, bytes]:
    """Every regular file directly in ``directory`` (not the lock, not .staging)."""
    return {
        p.name: p.read_bytes()
        for p in directory.iterdir()
        if p.is_file() and not p.name.startswith(".")
    }


@pytest.mark.reliability
def test_interrupted_rerun_keeps_previous_complete_run_and_reports(tmp_path):
    first = make_suite([Tiny("a"), Tiny("b")], tmp_path, metrics=("latency", "size"))
    first.run_full_benchmark(report=True)
    out = tmp_path / "out"
    before = _snapshot(out)
    assert {"results.json", "report.md", "report.html", "results.csv"} <= set(before)
    assert not list((out / ".staging").iterdir())  # promoted: nothing left staged

    def hook(completed, total, description):
        if completed == 2:
            raise KeyboardInterrupt

    again = make_suite([Tiny("a"), Tiny("b")], tmp_path, metrics=("latency", "size"), progress=hook)
    with pytest.raises(KeyboardInterrupt):
        again.run_full_benchmark(report=True)
    assert _snapshot(out) == before  # every byte of the previous run and its reports
    staged = load_run(again.staging_path)
    assert staged["interrupted"] and len(staged["results"]["latency"]) == 2
    assert "INTERRUPTED" in (out / ".staging" / "report.md").read_text(encoding="utf-8")

    # --resume continues the staged run (not the complete one) and then promotes it
    resumed = make_suite([Tiny("a"), Tiny("b")], tmp_path, metrics=("latency", "size"))
    resumed.run_full_benchmark(resume=True, report=True)
    final = load_run(out)
    assert final["complete"]
    assert final["results"]["latency"]["a"] == staged["results"]["latency"]["a"]
    md = (out / "report.md").read_text(encoding="utf-8")
    assert "INTERRUPTED" not in md and final["created"] == staged["created"]
    assert set(resumed.report_files) >= {"report.md", "report.html", "results.json"}
    assert all(p.parent == out for p in resumed.report_files.values())


@pytest.mark.reliability
def test_completed_run_without_reports_removes_the_stale_ones(tmp_path):
    first = make_suite([Tiny("a")], tmp_path, metrics=("size",))
    first.run_full_benchmark(report=True)
    out = tmp_path / "out"
    assert (out / "report.md").exists()
    second = make_suite([Tiny("a"), Tiny("b")], tmp_path, metrics=("size",))
    second.run_full_benchmark()
    assert set(load_run(out)["results"]["size"]) == {"a", "b"}
    for name in ("report.md", "report.html", "results.csv"):
        assert not (out / name).exists(), f"{name} of the previous run left beside new results"
    second.generate_report()
    assert "b" in (out / "report.md").read_text(encoding="utf-8")


@pytest.mark.reliability
def test_promotion_killed_halfway_is_completed_by_the_next_lock(tmp_path, monkeypatch):
    """A run killed between the renames of its promotion: the journal makes the next
    command that takes the lock finish the same promotion (roll forward)."""
    from torchperf import fileio

    first = make_suite([Tiny("a")], tmp_path, metrics=("size",))
    first.run_full_benchmark(report=True)
    out = tmp_path / "out"
    real_replace = os.replace
    calls = {"n": 0}

    def dying_replace(src, dst):
        if Path(src).parent.name == ".staging" and not str(src).endswith(".tmp"):
            calls["n"] += 1
            if calls["n"] == 2:
                raise SystemExit("killed")  # stands for SIGKILL between two renames
        return real_replace(src, dst)

    second = make_suite([Tiny("a"), Tiny("b")], tmp_path, metrics=("size",))
    monkeypatch.setattr(fileio.os, "replace", dying_replace)
    with pytest.raises(SystemExit):
        second.run_full_benchmark(report=True)
    monkeypatch.setattr(fileio.os, "replace", real_replace)
    assert (out / ".staging" / ".promote.json").exists()
    assert set(load_run(out)["results"]["size"]) == {"a"}  # results.json is renamed last
    with fileio.directory_lock(out):  # e.g. the next `torchperf report` or `run`
        pass
    assert not (out / ".staging" / ".promote.json").exists()
    assert set(load_run(out)["results"]["size"]) == {"a", "b"}
    csv_models = {line.split(",")[0] for line in (out / "results.csv").read_text().splitlines()[1:]}
    assert csv_models == {"a", "b"}  # the reports were promoted with the results


@pytest.mark.reliability
def test_staging_dir_symlink_is_refused(tmp_path):
    from torchperf.errors import OutputLockedError

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "keep.txt").write_text("keep")
    out = tmp_path / "out"
    out.mkdir()
    (out / ".staging").symlink_to(elsewhere)
    with pytest.raises(OutputLockedError, match=r"\.staging"):
        make_suite([Tiny("a")], tmp_path, metrics=("size",)).run_full_benchmark()
    assert (elsewhere / "keep.txt").read_text() == "keep"
