"""Tests of torchperf.benchmark: the Benchmark class over real models, failures, comparisons.

Nothing here asserts on absolute speed. The only timing claim is an ordering between
two models whose costs differ by about three orders of magnitude, measured in one run.
"""

from __future__ import annotations

import json
import math
import os
import re
import time
import warnings

import numpy as np
import pytest

from torchperf.benchmark import Benchmark, FailureRecord
from torchperf.errors import (
    BenchmarkTimeoutError,
    InvalidParameterError,
    ModelError,
    ModelFailureWarning,
    UnstableMeasurementWarning,
)
from torchperf.metrics import METRICS

ENV = {"machine": "test"}  # skip collect_environment in most tests (one test checks it)
FAST = {"warmup_runs": 1, "measurement_runs": 3, "environment": ENV}

pytestmark = pytest.mark.filterwarnings("ignore::torchperf.errors.UnstableMeasurementWarning")


# --------------------------------------------------------------------------- models
# Module level, so that spawned worker processes can import them. This module imports
# nothing heavy at the top (torchperf.result -> scipy is imported inside tests), so that a
# worker process unpickling one of these models starts quickly.

W = np.random.default_rng(0).standard_normal((64, 10)).astype(np.float32)


def numpy_linear(x):
    return np.asarray(x, dtype=np.float32).reshape(len(x), -1) @ W


class ForwardModel:
    name = "forward-model"
    input_shape = (64,)

    def __init__(self):
        self.W = W.copy()

    def forward(self, x):
        return np.maximum(x.reshape(len(x), -1) @ self.W, 0)


def raises(x):
    raise RuntimeError("weights not loaded")


def returns_nan(x):
    return np.full((len(x), 10), np.nan)


def needs_64_features(x):
    x = np.asarray(x)
    if x.ndim != 2 or x.shape[1] != 64:
        raise ValueError(f"expected input of shape (n, 64), got {x.shape}")
    return x @ W


def hangs(x):
    time.sleep(600)


def dies(x):
    os._exit(7)


def allocates_too_much(x):
    return np.ones(3 * 2**30, dtype=np.uint8)  # 3 GiB


def fast_model(x):
    return x


BIG = np.ones(200_000)


def slow_model(x):
    return float(np.sort(BIG).sum())  # ~1000x the cost of fast_model


class Oracle:
    """Reads the label stored in column 0."""

    name = "oracle"

    def predict(self, X):
        return X[:, 0].astype(int)


class HalfRight:
    """Right on even rows, wrong on odd rows."""

    name = "half-right"

    def predict(self, X):
        labels = X[:, 0].astype(int)
        labels[1::2] = (labels[1::2] + 1) % 10
        return labels


def labelled_data(n=200, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 10, n)
    X = np.column_stack([y, rng.standard_normal((n, 3))]).astype(np.float32)
    return X, y


@pytest.fixture(scope="module")
def digits():
    from sklearn.datasets import load_digits
    from sklearn.linear_model import LogisticRegression

    X, y = load_digits(return_X_y=True)
    X = (X / 16).astype(np.float32)
    X_train, y_train, X_test, y_test = X[:1200], y[:1200], X[1200:], y[1200:]
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):  # multi-threaded BLAS on a loaded 2-core runner is ~100x slower
        lr = LogisticRegression(max_iter=500).fit(X_train, y_train)
    return lr, X_test, y_test


def _failure_warnings(caught):
    return [str(w.message) for w in caught if issubclass(w.category, ModelFailureWarning)]


# --------------------------------------------------------------------------- point 5: four kinds of model


def test_latency_on_numpy_forward_sklearn_and_torch_models(digits):
    torch = pytest.importorskip("torch", reason="PyTorch is not installed; torch model skipped")
    lr, _, _ = digits
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(64, 16), torch.nn.ReLU(), torch.nn.Linear(16, 10))
    bench = Benchmark([numpy_linear, ForwardModel(), lr, net.eval()], **FAST)
    results = bench.run_latency_benchmark(input_shape=(1, 64))
    assert list(results) == ["numpy_linear", "forward-model", "LogisticRegression", "Sequential"]
    assert bench.failures == {}
    from torchperf.result import BenchmarkResult

    for name, r in results.items():
        assert isinstance(r, BenchmarkResult)
        assert (r.metric_name, r.unit, r.lower_is_better, r.count) == ("latency", "s", True, 3)
        assert all(v > 0 for v in r.values)
        meta = r.metadata
        assert meta["model"] == name
        assert meta["input_shape"] == (1, 64) and meta["input_dtype"] == "float32"
        assert meta["input_source"] == "input_shape"
        assert meta["warmup"]["protocol"] == "fixed(n=1)"
        assert meta["n"] == 3 and meta["number"] >= 1
        assert meta["timer"] == "time.perf_counter_ns"
        assert meta["environment"] == ENV
    assert results["Sequential"].metadata["call"] == "torch-module"
    assert results["LogisticRegression"].metadata["call"] == "predict"
    assert results["forward-model"].metadata["call"] == "forward"


def test_default_input_resolution_keeps_the_seed_shape(digits):
    lr, _, _ = digits
    seen = {}

    def records_shape(x):
        seen["shape"] = x.shape
        return x.sum()

    bench = Benchmark([records_shape, ForwardModel(), lr], number=1, **FAST)
    results = bench.run_latency_benchmark()
    assert seen["shape"] == (1, 28, 28)  # the course module's default
    assert results["records_shape"].metadata["input_source"] == "default"
    assert results["forward-model"].metadata["input_shape"] == (1, 64)  # its input_shape
    assert results["forward-model"].metadata["input_source"] == "model"
    assert results["LogisticRegression"].metadata["input_shape"] == (1, 64)  # n_features_in_

    # an explicit shape wins over the model's declaration; example_input over both
    explicit = bench.run_latency_benchmark(input_shape=(2, 64))
    assert explicit["forward-model"].metadata["input_shape"] == (2, 64)
    example = np.zeros((3, 64), dtype=np.float64)
    given = bench.run_latency_benchmark(input_shape=(2, 64), example_input=example)
    assert given["LogisticRegression"].metadata["input_source"] == "example_input"
    assert given["LogisticRegression"].metadata["input_dtype"] == "float64"


def test_every_model_of_one_shape_gets_identical_seeded_input():
    seen = []

    def a(x):
        seen.append(x.copy())
        return x

    def b(x):
        seen.append(x.copy())
        return x

    Benchmark([a, b], warmup_runs=0, measurement_runs=2, number=1, environment=ENV, rng=3)\
        .run_latency_benchmark()
    assert np.array_equal(seen[0], seen[-1])
    first = seen[0]
    seen.clear()
    Benchmark([a], warmup_runs=0, measurement_runs=2, number=1, environment=ENV, rng=3)\
        .run_latency_benchmark()
    assert np.array_equal(seen[0], first)  # same seed, same data


def test_environment_is_collected_once_and_attached():
    bench = Benchmark([fast_model], warmup_runs=0, measurement_runs=2)
    r = bench.run_latency_benchmark()["fast_model"]
    env = r.metadata["environment"]
    assert env and "python" in env and "blas" in env
    assert bench.environment is bench.environment
    json.dumps(r.to_dict())  # everything JSON-ready


def test_accuracy_sklearn_on_digits_matches_sklearn_score(digits):
    lr, X_test, y_test = digits
    bench = Benchmark([lr], datasets=[(X_test, y_test)], **FAST)
    r = bench.run_accuracy_benchmark()["LogisticRegression"]
    assert (r.metric_name, r.unit, r.lower_is_better) == ("accuracy", "fraction", False)
    assert r.values == (pytest.approx(lr.score(X_test, y_test)),)
    assert r.metadata["accuracy"] == pytest.approx(lr.score(X_test, y_test))
    assert r.mean > 0.8
    assert r.metadata["n_examples"] == len(y_test)
    lo, hi = r.metadata["wilson_ci"]
    assert lo < r.mean < hi
    assert r.metadata["values_are"] == "per-dataset"


def test_accuracy_torch_module(digits):
    torch = pytest.importorskip("torch", reason="PyTorch is not installed; torch model skipped")
    lr, X_test, y_test = digits
    net = torch.nn.Linear(64, 10)
    with torch.no_grad():  # the sklearn model's weights: same predictions
        net.weight.copy_(torch.from_numpy(lr.coef_.astype(np.float32)))
        net.bias.copy_(torch.from_numpy(lr.intercept_.astype(np.float32)))
    bench = Benchmark({"lr": lr, "torch-twin": net}, datasets=(X_test, y_test), **FAST)
    results = bench.run_accuracy_benchmark()
    assert results["torch-twin"].mean == pytest.approx(results["lr"].mean, abs=0.01)


def test_accuracy_batches_values_and_generators():
    X, y = labelled_data(100)
    batches = ((X[i : i + 20], y[i : i + 20]) for i in range(0, 100, 20))  # one-shot generator
    bench = Benchmark([Oracle(), HalfRight()], datasets=[batches], **FAST)
    results = bench.run_accuracy_benchmark()
    assert results["oracle"].values == (1.0,) * 5  # one value per batch
    assert results["oracle"].metadata["values_are"] == "per-batch"
    assert results["half-right"].metadata["accuracy"] == 0.5
    assert results["half-right"].values == (0.5,) * 5
    # several datasets: one value per dataset
    two = Benchmark([Oracle()], datasets={"a": (X[:50], y[:50]), "b": (X[50:], y[50:])}, **FAST)
    r = two.run_accuracy_benchmark()["oracle"]
    assert r.count == 2 and r.metadata["values_are"] == "per-dataset"
    assert [d["name"] for d in r.metadata["per_dataset"]] == ["a", "b"]


def test_accuracy_accepts_one_hot_and_torch_style_lists():
    X, y = labelled_data(30)
    one_hot = np.eye(10)[y]
    r = Benchmark([Oracle()], datasets=[[X, one_hot]], **FAST).run_accuracy_benchmark()
    assert r["oracle"].values == (1.0,)


@pytest.mark.parametrize(
    ("datasets", "match"),
    [
        (None, "needs labelled data"),
        ([], "needs labelled data"),
        ([(np.ones((5, 4)), np.arange(4))], "5 examples but y has 4 labels"),
        ([(np.ones((0, 4)), np.arange(0))], "is empty"),
        ([[(np.ones((3, 4)), np.arange(3), "extra")]], r"must be an \(X, y\) pair"),
        (42, "must be an"),
    ],
)
def test_accuracy_input_errors_are_clear(datasets, match):
    bench = Benchmark([Oracle()], datasets=datasets, **FAST)
    with pytest.raises(InvalidParameterError, match=match):
        bench.run_accuracy_benchmark()


def test_memory_tracemalloc_of_a_known_allocation():
    def allocates_8mb(x):
        return np.ones(1_000_000)  # 8,000,000 bytes

    bench = Benchmark([allocates_8mb, fast_model], **FAST)
    results = bench.run_memory_benchmark()
    r = results["allocates_8mb"]
    assert (r.metric_name, r.unit, r.count) == ("memory", "B", 3)
    assert r.metadata["memory_method"] == "tracemalloc"
    assert all(8_000_000 <= v <= 8_000_000 * 1.02 for v in r.values)
    assert results["fast_model"].median < 10_000


def test_memory_of_torch_module_uses_torch_counters():
    torch = pytest.importorskip("torch", reason="PyTorch is not installed; torch model skipped")
    net = torch.nn.Linear(64, 1000).eval()
    bench = Benchmark([net], warmup_runs=0, measurement_runs=2, environment=ENV)
    r = bench.run_memory_benchmark(input_shape=(1, 64))["Linear"]
    assert r.metadata["memory_method"] == "torch-cpu"
    assert r.median >= 4000  # the (1, 1000) float32 output at least


def test_size_benchmark_is_exact_and_says_how():
    torch = pytest.importorskip("torch", reason="PyTorch is not installed; torch model skipped")
    net = torch.nn.Linear(64, 10)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no SmallSampleWarning for an exact single value
        results = Benchmark([ForwardModel(), net, numpy_linear], **FAST).run_size_benchmark()
    assert results["forward-model"].values == (W.nbytes,)
    assert results["forward-model"].metadata["size_method"] == "numpy-attributes"
    assert results["Linear"].values == ((64 * 10 + 10) * 4,)
    assert results["numpy_linear"].values == (W.nbytes,)  # module-level weights it uses
    assert all(r.unit == "B" and r.count == 1 for r in results.values())


def test_throughput_reports_the_largest_batch_and_keeps_every_size():
    bench = Benchmark([ForwardModel(), needs_64_features], **FAST)
    results = bench.run_throughput_benchmark(batch_sizes=(4, 1), input_shape=(1, 64))
    r = results["forward-model"]
    assert (r.metric_name, r.unit, r.lower_is_better) == ("throughput", "samples/s", False)
    assert r.metadata["batch_size"] == 4 and r.metadata["input_shape"] == (4, 64)
    assert set(r.metadata["batch_sizes"]) == {"1", "4"}
    per = bench.throughput_by_batch_size["forward-model"]
    assert sorted(per) == [1, 4]
    assert per[4].values == r.values
    # values are samples per second: batch / seconds-per-call
    assert per[1].metadata["batch_size"] == 1
    assert "needs_64_features" in results


def test_throughput_with_example_batch_cycles_rows():
    seen = []

    def records(x):
        seen.append(x.shape)
        return x

    example = np.arange(6, dtype=np.float32).reshape(3, 2)
    Benchmark([records], number=1, **FAST).run_throughput_benchmark((5,), example_input=example)
    assert (5, 2) in seen


# --------------------------------------------------------------------------- point 6: failures


def test_failing_models_are_recorded_and_others_still_measured():
    models = [fast_model, raises, returns_nan, needs_64_features, ForwardModel()]
    bench = Benchmark(models, **FAST)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        results = bench.run_latency_benchmark()  # default (1, 28, 28) input
    assert sorted(results) == ["fast_model", "forward-model"]
    messages = _failure_warnings(caught)
    assert len(messages) == 3  # one clear message per failing model
    assert set(bench.failures) == {"raises", "returns_nan", "needs_64_features"}

    raised = bench.failures["raises"]
    assert isinstance(raised, FailureRecord)
    assert (raised.model, raised.metric, raised.cause, raised.kind) == (
        "raises", "latency", "RuntimeError", "exception",
    )  # fmt: skip
    assert "'raises'" in raised.message and "weights not loaded" in raised.message

    nan = bench.failures["returns_nan"]
    assert (nan.cause, nan.kind) == ("NonFiniteOutput", "non-finite-output")
    assert "10 NaN of 10 output values" in nan.message

    shape = bench.failures["needs_64_features"]
    assert (shape.cause, shape.kind) == ("ValueError", "input-rejected")
    assert "(1, 28, 28)" in shape.message and "input_shape=" in shape.message
    for record in bench.failures.values():
        assert record.message in messages
        assert "\n" not in record.message
        d = record.to_dict()
        assert d["error"] == record.cause and json.dumps(d)


def test_failures_in_every_metric_keep_healthy_results():
    X, y = labelled_data(20)
    bench = Benchmark([Oracle(), raises], datasets=[(X, y)], **FAST)
    with pytest.warns(ModelFailureWarning, match="'raises' failed the accuracy benchmark"):
        assert list(bench.run_accuracy_benchmark()) == ["oracle"]
    with pytest.warns(ModelFailureWarning, match="'raises' failed the memory benchmark"):
        assert list(bench.run_memory_benchmark(input_shape=(2, 4))) == ["oracle"]
    with pytest.warns(ModelFailureWarning, match="'raises' failed the throughput benchmark"):
        assert list(bench.run_throughput_benchmark((1, 2), input_shape=(1, 4))) == ["oracle"]
    assert [f.metric for f in bench.failure_log] == ["accuracy", "memory", "throughput"]


def test_bad_predictions_are_failures_not_crashes():
    X, y = labelled_data(10)

    def wrong_count(X):
        return np.zeros(3, dtype=int)

    def cube(X):
        return np.zeros((len(X), 2, 2))

    bench = Benchmark([wrong_count, cube, Oracle()], datasets=[(X, y)], **FAST)
    with pytest.warns(ModelFailureWarning):
        results = bench.run_accuracy_benchmark()
    assert list(results) == ["oracle"]
    assert "3 predictions for the 10 examples" in bench.failures["wrong_count"].message
    assert bench.failures["cube"].kind == "bad-output"


def test_strict_raises_model_error_naming_the_model():
    bench = Benchmark([fast_model, raises], strict=True, **FAST)
    with pytest.raises(ModelError, match=r"'raises'.*RuntimeError") as info:
        bench.run_latency_benchmark()
    assert isinstance(info.value.__cause__, RuntimeError)
    nan = Benchmark([returns_nan], strict=True, **FAST)
    with pytest.raises(ModelError, match="NaN"):
        nan.run_memory_benchmark()


def test_model_that_fails_during_timing_is_recorded():
    calls = {"n": 0}

    def flaky(x):
        calls["n"] += 1
        if calls["n"] > 3:
            raise OSError("device lost")
        return x

    bench = Benchmark([flaky, fast_model], number=1, **FAST)
    with pytest.warns(ModelFailureWarning, match="OSError.*while being timed"):
        results = bench.run_latency_benchmark()
    assert list(results) == ["fast_model"]


@pytest.mark.slow
def test_worker_isolation_timeout_crash_memory_and_unpicklable():
    # Fault injection (issue 8): a hanging, a dying, a memory-hungry and an unpicklable
    # model among healthy ones; each is recorded with its cause and the rest completes.
    models = {
        "healthy": numpy_linear,
        "hangs": hangs,
        "dies": dies,
        "hog": allocates_too_much,
        "lambda": lambda x: x,
    }
    bench = Benchmark(
        models, timeout_s=3, memory_limit_bytes=2 * 2**30, warmup_runs=1, measurement_runs=3,
        environment=ENV,
    )  # fmt: skip
    start = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        results = bench.run_latency_benchmark(input_shape=(1, 64))
    elapsed = time.perf_counter() - start
    assert list(results) == ["healthy"] and results["healthy"].count == 3
    assert results["healthy"].metadata["isolation"]["timeout_s"] == 3
    f = bench.failures
    assert (f["hangs"].kind, f["hangs"].cause) == ("timeout", "BenchmarkTimeoutError")
    assert "timeout_s=3" in f["hangs"].message
    assert (f["dies"].kind, f["dies"].cause) == ("crashed", "WorkerCrashed")
    assert "exit code 7" in f["dies"].message
    assert (f["hog"].kind, f["hog"].cause) == ("memory", "MemoryError")
    assert (f["lambda"].kind, f["lambda"].cause) == ("unpicklable", "PicklingError")
    assert "module level" in f["lambda"].message
    assert len(_failure_warnings(caught)) == 4
    assert elapsed < 120  # the hang was cut short (generous: spawn is slow on loaded CI)

    strict = Benchmark({"hangs": hangs}, timeout_s=1, strict=True, **FAST)
    with pytest.raises(BenchmarkTimeoutError, match="'hangs'"):
        strict.run_latency_benchmark()


@pytest.mark.slow
def test_processes_are_the_unit_of_replication():
    bench = Benchmark([fast_model, slow_model], processes=2, **FAST)
    results = bench.run_latency_benchmark()
    for r in results.values():
        assert r.metadata["replicate_sizes"] == (3, 3)
        assert r.metadata["processes"] == 2 and r.count == 6
    rows = bench.compare_models()
    assert rows[1]["method"].startswith("replicate-median/")
    assert rows[1]["model"] == "slow_model"


# --------------------------------------------------------------------------- compare_models


def test_compare_models_ranks_and_summarises_latency():
    bench = Benchmark([slow_model, fast_model], warmup_runs=1, measurement_runs=5,
                      environment=ENV)  # fmt: skip
    rows = bench.compare_models("latency")  # runs the latency benchmark first
    assert [r["model"] for r in rows] == ["fast_model", "slow_model"]  # ~1000x apart
    base = next(r for r in rows if r["is_baseline"])
    assert base["model"] == "slow_model" and base["verdict"] == "baseline"  # first model
    assert base["ratio"] == 1.0 and base["rank"] == 2
    cand = rows[0]
    assert cand["rank"] == 1 and cand["ratio"] < 0.5
    assert cand["ratio_ci_low"] <= cand["ratio"] <= cand["ratio_ci_high"]
    assert cand["percent_change"] == pytest.approx(100 * (cand["ratio"] - 1))
    assert cand["p_value_adjusted"] >= cand["p_value"]
    assert cand["verdict"] == "improvement"
    pattern = (
        r"^slow_model: \S+ \S+ ± \S+ \S+, fast_model: \S+ \S+ ± \S+ \S+ "
        r"\(\d+% reduction, 95% CI \[\d+%, \d+%\], p [<=] [\d.]+\)$"
    )
    assert re.match(pattern, cand["summary"]), cand["summary"]
    json.dumps(rows)


def test_compare_models_baseline_choice_and_errors():
    bench = Benchmark([fast_model, slow_model, raises], **FAST)
    with pytest.warns(ModelFailureWarning):
        bench.run_latency_benchmark()
    rows = bench.compare_models(baseline="slow_model")
    assert {r["model"] for r in rows} == {"fast_model", "slow_model"}
    assert next(r for r in rows if r["is_baseline"])["model"] == "slow_model"
    with pytest.raises(InvalidParameterError, match="it failed"):
        bench.compare_models(baseline="raises")
    with pytest.raises(InvalidParameterError, match="`metric` must be one of"):
        bench.compare_models("speed")
    with pytest.raises(InvalidParameterError, match="threshold"):
        bench.compare_models(threshold=-1)


def test_compare_models_accuracy_uses_paired_mcnemar():
    X, y = labelled_data(200)
    bench = Benchmark([Oracle(), HalfRight(), Oracle()], datasets=[(X, y)], **FAST)
    rows = bench.compare_models("accuracy")
    assert rows[0]["model"] in ("oracle", "oracle-2")
    half = next(r for r in rows if r["model"] == "half-right")
    same = next(r for r in rows if r["model"] == "oracle-2")
    assert half["method"] == "mcnemar-exact"
    assert half["ratio"] == pytest.approx(0.5)
    assert half["p_value"] < 1e-20 and half["verdict"] == "regression"
    assert "percentage points" in half["summary"] and "McNemar p < 0.001" in half["summary"]
    assert same["p_value"] == 1.0 and same["verdict"] == "equivalent"
    assert rows[-1]["model"] == "half-right"  # higher is better: worst last


def test_compare_models_size_is_exact():
    class Small:  # weights of its own only (ForwardModel's __init__ names the global W)
        name = "forward-model"
        input_shape = (64,)
        width = 10

        def __init__(self):
            self.W = np.zeros((64, self.width), dtype=np.float32)

        def forward(self, x):
            return x.reshape(len(x), -1) @ self.W

    class Bigger(Small):
        name = "bigger"
        width = 20

    bench = Benchmark([Small(), Bigger()], **FAST)
    rows = bench.compare_models("size")
    bigger = next(r for r in rows if r["model"] == "bigger")
    sizes = bench.results["size"]
    ratio = sizes["bigger"].values[0] / sizes["forward-model"].values[0]
    assert ratio > 1.4  # 2560 more weight bytes (what else counts is models.py's business)
    assert bigger["method"] == "exact" and bigger["ratio"] == ratio
    assert bigger["ratio_ci_low"] == bigger["ratio_ci_high"] == ratio
    assert bigger["verdict"] == "regression" and bigger["p_value"] is None
    assert f"{ratio - 1:.0%} increase, exact" in bigger["summary"]
    assert [r["model"] for r in rows] == ["forward-model", "bigger"]
    # An exact difference has no noise to guard against: the noise threshold does not apply
    # (docs/statistics.md#rule-8), in compare_models as in the suite and the reports.
    lenient = bench.compare_models("size", threshold=1.5)
    assert next(r for r in lenient if r["model"] == "bigger")["verdict"] == "regression"


def test_compare_models_agrees_with_the_suite_and_compare_runs(tmp_path):
    """The same two results get the same test, interval and unadjusted verdict everywhere."""
    from torchperf.report import compare_runs
    from torchperf.suite import compare_to_baseline, save_run

    X, y = labelled_data(200)
    bench = Benchmark([Oracle(), HalfRight()], datasets=[(X, y)], **FAST)
    bench.run_latency_benchmark()
    bench.run_accuracy_benchmark()
    for metric in ("latency", "accuracy"):
        row = next(r for r in bench.compare_models(metric) if not r["is_baseline"])
        suite = compare_to_baseline(bench.results, "oracle")
        entry = next(e for e in suite if e["metric"] == metric)
        assert entry["method"] == row["method"]
        assert (entry["ratio"], entry["ci_low"], entry["ci_high"], entry["p_value"]) == (
            row["ratio"], row["ratio_ci_low"], row["ratio_ci_high"], row["p_value"]
        )
    # two saved runs, the same model name scored before and after: the paired test survives
    # the results file (per-example outcomes are saved with the accuracy)
    paths = [
        save_run(tmp_path / f"{side}.json", {"accuracy": {"m": bench.results["accuracy"][name]}},
                 environment=ENV, models=["m"])
        for side, name in (("a", "oracle"), ("b", "half-right"))
    ]  # fmt: skip
    (acc,) = compare_runs(*paths)
    assert acc["method"] == "mcnemar-exact" and acc["p_value"] == row["p_value"]


def test_compare_models_when_everything_failed_is_empty():
    bench = Benchmark([raises], **FAST)
    with pytest.warns(ModelFailureWarning):
        assert bench.compare_models() == []


# --------------------------------------------------------------------------- validation


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"models": []}, "empty"),
        ({"models": numpy_linear}, "Wrap a single model in a list"),
        ({"models": [object()]}, "forward"),
        ({"warmup_runs": -1}, "warmup_runs"),
        ({"measurement_runs": 10**12}, "measurement_runs"),
        ({"measurement_runs": 0}, "measurement_runs"),
        ({"number": 0}, "number"),
        ({"processes": 0}, "processes"),
        ({"timeout_s": -1}, "timeout_s"),
        ({"timeout_s": math.inf}, "timeout_s"),
        ({"memory_limit_bytes": 10}, "memory_limit_bytes"),
        ({"memory_method": "magic"}, "memory_method"),
        ({"rng": "seed"}, "rng"),
        ({"confidence_level": 95}, "Did you mean 0.95"),
        ({"strict": "yes"}, "strict"),
    ],
)
def test_constructor_validation(kwargs, match):
    args = {"models": [numpy_linear], **kwargs}
    with pytest.raises(InvalidParameterError, match=match):
        Benchmark(**args)


@pytest.mark.parametrize(
    ("shape", "match"),
    [((1, 0), "positive ints"), ((), "non-empty"), ("28x28", "tuple"), ((10**6, 10**6), "elements")],
)
def test_input_shape_validation(shape, match):
    bench = Benchmark([numpy_linear], **FAST)
    with pytest.raises(InvalidParameterError, match=match):
        bench.run_latency_benchmark(input_shape=shape)


def test_batch_size_validation():
    bench = Benchmark([numpy_linear], **FAST)
    with pytest.raises(InvalidParameterError, match="batch size"):
        bench.run_throughput_benchmark(batch_sizes=(0,))
    with pytest.raises(InvalidParameterError, match="batch_sizes"):
        bench.run_throughput_benchmark(batch_sizes="32")


def test_mapping_of_models_fixes_names_and_metrics_table_is_complete():
    bench = Benchmark({"a": fast_model, "b": fast_model}, **FAST)
    assert bench.model_names == ["a", "b"]
    assert {m.name: (m.unit, m.lower_is_better) for m in METRICS.values()} == {
        "latency": ("s", True),
        "throughput": ("samples/s", False),
        "accuracy": ("fraction", False),
        "memory": ("B", True),
        "size": ("B", True),
    }


class Jitter:
    """Every other call sleeps 2 ms: a coefficient of variation near 100 %."""

    name = "jitter"

    def __init__(self):
        self.calls = 0

    def __call__(self, x):
        self.calls += 1
        if self.calls % 2:
            time.sleep(0.002)
        return x


def test_measurement_warnings_name_the_model_and_point_at_the_caller():
    bench = Benchmark([Jitter()], warmup_runs=0, measurement_runs=4, number=1, environment=ENV)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        results = bench.run_latency_benchmark()
    assert "jitter" in results
    unstable = [w for w in caught if issubclass(w.category, UnstableMeasurementWarning)]
    assert unstable and str(unstable[0].message).startswith("[jitter, latency] ")  # model and metric
    assert unstable[0].filename == __file__
    assert results["jitter"].metadata["stability_warnings"]


class Generates:
    """Declares a generation task, like the zoo's attn-* models: its output is not class scores."""

    name = "generator"
    task = "generation"

    def forward(self, x):
        return np.asarray(x)[:, :4] * 0  # argmax of this would always be class 0


class StringLabels:
    name = "strings"

    def forward(self, x):
        return np.array(["cat"] * len(x))


def test_accuracy_skips_models_whose_task_is_not_classification():
    X, y = labelled_data(40)
    bench = Benchmark([Oracle(), Generates(), StringLabels()], [(X, y)], **FAST)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        results = bench.run_accuracy_benchmark()
    assert list(results) == ["oracle"] and results["oracle"].values == (1.0,)
    assert bench.not_applicable["accuracy"] == {"generator": "task 'generation' is not classification"}
    assert "generator" not in bench.failures  # skipped, not failed, not zero
    # text predictions against integer labels are garbage, not a silent 0 %
    assert bench.failures["strings"].cause == "BadOutput"
    assert "str" in bench.failures["strings"].message or "<U" in bench.failures["strings"].message
    assert len(_failure_warnings(caught)) == 1
    # only generation models: no data needed, nothing scored
    only = Benchmark([Generates()], None, **FAST)
    assert only.run_accuracy_benchmark() == {} and "generator" in only.not_applicable["accuracy"]


def test_wilson_interval_contains_a_perfect_accuracy():
    from torchperf.benchmark import _wilson_ci

    for k, n in ((360, 360), (0, 360), (7, 7)):
        lo, hi = _wilson_ci(k, n, 0.95)
        assert lo <= k / n <= hi


def test_compare_models_default_threshold_is_the_shared_noise_threshold():
    import inspect

    from torchperf.benchmark import Benchmark
    from torchperf.stats import DEFAULT_NOISE_THRESHOLD

    sig = inspect.signature(Benchmark.compare_models)
    assert sig.parameters["threshold"].default == DEFAULT_NOISE_THRESHOLD


def test_benchmark_measuring_window_rule():
    """number="auto" (the default): each replicate spans the window; number=1: none."""
    from torchperf import timing

    w = np.ones((8, 8))

    def tiny(x):
        return x @ w

    b = Benchmark([tiny], measurement_runs=4, warmup_runs=1, environment={})
    assert b.window_s == timing.DEFAULT_WINDOW_S  # tests run with a short default (conftest)
    assert Benchmark([tiny], number=1, environment={}).window_s is None
    b = Benchmark([tiny], measurement_runs=4, warmup_runs=1, environment={}, window_s=0.04)
    meta = b.run_latency_benchmark(input_shape=(1, 8))["tiny"].metadata
    assert meta["window_s"] == 0.04 and meta["blocks_per_sample"] > 1
    assert min(meta["measuring_s_per_process"]) >= 0.04
    with pytest.raises(InvalidParameterError, match="window_s"):
        Benchmark([tiny], window_s=0, environment={})


class _SlowUntilWarm:
    """A model whose first calls are slow (lazy init, cold caches) and later ones near free."""

    def __init__(self, cold_calls: int = 12, cold_s: float = 0.005) -> None:
        self.calls, self.cold_calls, self.cold_s = 0, cold_calls, cold_s

    def __call__(self, x):
        self.calls += 1
        if self.calls <= self.cold_calls:
            time.sleep(self.cold_s)
        return x


def test_latency_number_is_calibrated_on_warmed_code():
    """number='auto' is chosen after warmup: a cold calibration (5 ms calls) would pick 1 call
    per sample; the warmed callable costs about a microsecond, so a sample needs many more."""
    model = _SlowUntilWarm(cold_calls=3)
    r = Benchmark([model], warmup_runs=5, measurement_runs=3, environment=ENV,
                  window_s=None).run_latency_benchmark((1, 4))
    (res,) = r.values()
    assert res.metadata["number"] >= 20, res.metadata["number"]
    fixed = Benchmark([_SlowUntilWarm()], warmup_runs=5, measurement_runs=3, number=3,
                      environment=ENV, window_s=None).run_latency_benchmark((1, 4))
    assert next(iter(fixed.values())).metadata["number"] == 3
