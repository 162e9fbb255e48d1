"""Tidy CSV and JSON (issue 18 point 4): bounds that cannot be negative, n/a rows, null for non-finite."""

from __future__ import annotations

import csv
import io
import json
import math
from pathlib import Path

import numpy as np
import pytest

from torchperf import stats
from torchperf.errors import SmallSampleWarning
from torchperf.report import csv_text, render_run
from torchperf.result import BenchmarkResult
from torchperf.suite import load_run, results_frame

DATA = Path(__file__).parent / "data"


def _rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


@pytest.mark.parametrize(
    ("name", "draw", "true_mean"),
    [
        ("lognormal s=1.5", lambda rng, n: rng.lognormal(0.0, 1.5, n), math.exp(1.5**2 / 2)),
        ("lognormal s=0.5", lambda rng, n: rng.lognormal(0.0, 0.5, n), math.exp(0.5**2 / 2)),
        ("normal", lambda rng, n: rng.normal(1.0, 0.1, n), 1.0),
    ],
)
@pytest.mark.parametrize("n", [5, 10, 30])
def test_nonnegative_mean_ci_coverage_simulation(name, draw, true_mean, n):
    rng = np.random.default_rng(20261203)
    trials = 1500
    covered_t = covered = 0
    for _ in range(trials):
        x = draw(rng, n)
        lo, hi = stats.mean_ci(x)
        covered_t += lo <= true_mean <= hi
        lo, hi, method = stats.nonnegative_mean_ci(x)
        assert lo > 0 and method == "log-cox"
        covered += lo <= true_mean <= hi
    # binomial sd at 1500 trials is 0.6 %: 0.91 is more than 5 sd below the nominal 0.95
    assert 0.91 <= covered / trials <= 0.975, (name, n, covered / trials)
    if name == "lognormal s=1.5":
        assert covered / trials > covered_t / trials + 0.1  # the t interval undercovers badly here


def test_nonnegative_mean_ci_with_zeros_truncates_and_keeps_t_otherwise():
    x = [0.0, 0.0, 0.0, 0.0, 10.0]
    t_lo, t_hi = stats.mean_ci(x)
    assert t_lo < 0
    assert stats.nonnegative_mean_ci(x) == (0.0, t_hi, "student-t-truncated")
    y = [0.0, 1.0, 1.1, 0.9, 1.0, 1.05]
    assert stats.nonnegative_mean_ci(y) == (*stats.mean_ci(y), "student-t")
    assert stats.nonnegative_mean_ci([3.0, 3.0]) == pytest.approx((3.0, 3.0, "log-cox"))
    with pytest.raises(Exception, match="values >= 0"):
        stats.nonnegative_mean_ci([-1.0, 2.0])


def test_results_csv_has_no_negative_latency_bound():
    # a loaded machine: fast calls and a few very slow ones, as in the zoo report (ci_low=-0.00018)
    values = [2e-5] * 7 + [2e-5, 1.2e-3, 2.5e-3]
    r = BenchmarkResult("latency", values, unit="s")
    assert r.ci_lower < 0  # the Student-t interval of the mean (BenchmarkResult's documented CI)
    frame = results_frame({"latency": {"m": r}})
    row = frame.iloc[0]
    assert row["ci_low"] > 0 and row["ci_high"] > row["mean"] > row["ci_low"]
    assert row["ci_method"] == "log-cox" and row["status"] == "ok"


@pytest.mark.parametrize("path", ["run-v1/results.json", "run-v1/results-first-layout.json", "run-v0.1/results.json"])
def test_old_results_files_load_and_give_tidy_csv(path):
    run = load_run(DATA / path)
    rows = _rows(csv_text(run))
    assert rows
    for row in rows:
        for key in ("ci_low", "median_ci_low"):
            if row[key] != "":
                assert float(row[key]) >= 0, (row["model"], row["metric"], key, row[key])
        assert row["status"] in {"ok", "n/a", "failed"}
        assert (row["status"] == "ok") == (row["reason"] == "")


def test_na_and_failed_pairs_are_rows_with_a_reason():
    rows = _rows(csv_text(load_run(DATA / "run-v1/results.json")))
    by = {(r["model"], r["metric"]): r for r in rows}
    na = by[("gen", "accuracy")]
    assert na["status"] == "n/a" and "not classification" in na["reason"]
    assert na["mean"] == "" and na["n"] == "0"
    failed = by[("broken", "latency")]
    assert failed["status"] == "failed" and "ValueError" in failed["reason"]


def test_json_writes_null_for_non_finite_and_old_nan_strings_still_load(tmp_path):
    run = load_run(DATA / "run-v1/results.json")
    with pytest.warns(SmallSampleWarning):
        single = BenchmarkResult("latency", [1e-3], unit="s", metadata={"warmup_cv": math.nan, "x": math.inf})
    doc = dict(run)
    doc["results"] = {**run["results"], "latency": {**run["results"]["latency"], "one": single}}
    render_run(doc, tmp_path, plots=False)
    text = (tmp_path / "results.json").read_text()
    assert '"NaN"' not in text and "Infinity" not in text and "NaN" not in text
    saved = json.loads(text)["results"]["latency"]["one"]
    assert saved["metadata"]["warmup_cv"] is None and saved["metadata"]["x"] is None
    assert load_run(tmp_path / "results.json")["results"]["latency"]["one"].values == (1e-3,)
    # a file written before (non-finite floats as the strings "NaN" / "Infinity") still loads
    old = json.loads(text)
    old["results"]["latency"]["one"]["metadata"]["warmup_cv"] = "NaN"
    old["results"]["latency"]["one"]["std"] = "NaN"
    (tmp_path / "old.json").write_text(json.dumps(old))
    assert load_run(tmp_path / "old.json")["results"]["latency"]["one"].count == 1


# --------------------------------------------------------------------------- no negative lower bound
# (issue 18 point 4) Every lower bound torchperf writes for a quantity that cannot be negative:
# results.json (ci_lower, median_ci), results.csv (ci_low, median_ci_low), the rows of
# Benchmark.compare_models and the comparison rows of compare_runs (ratio intervals).

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_NONNEG_METRICS = {
    "latency": ("s", True),
    "memory": ("B", True),
    "size": ("B", True),
    "throughput": ("samples/s", False),
}

# skewed, nonnegative samples: mostly fast calls, a few very slow ones, sometimes zeros
_samples = st.lists(
    st.one_of(
        st.floats(min_value=1e-9, max_value=1e-4),
        st.floats(min_value=1e-3, max_value=10.0),
        st.just(0.0),
    ),
    min_size=2,
    max_size=40,
)

_LOWER_KEYS = ("ci_lower", "ci_low", "median_ci_low", "ratio_ci_low", "percent_ci_low_ratio")


def _lower_bounds(obj, path=""):
    """Yield (path, value) of every lower bound in a JSON document."""
    if isinstance(obj, dict):
        for k, v in obj.items():
            if k in _LOWER_KEYS and isinstance(v, (int, float)):
                yield f"{path}.{k}", v
            elif k == "median_ci" and isinstance(v, list) and v and isinstance(v[0], (int, float)):
                yield f"{path}.median_ci[0]", v[0]
            else:
                yield from _lower_bounds(v, f"{path}.{k}")
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from _lower_bounds(v, f"{path}[{i}]")


def _strict_json(text: str):
    """json.loads that refuses NaN / Infinity tokens (what a strict parser does)."""

    def bad(token):
        raise AssertionError(f"non-finite JSON token {token}")

    return json.loads(text, parse_constant=bad)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(base=_samples, cand=_samples, metric=st.sampled_from(sorted(_NONNEG_METRICS)))
def test_no_written_lower_bound_of_a_nonnegative_quantity_is_negative(tmp_path_factory, base, cand, metric):
    from torchperf.comparison import compare_runs
    from torchperf.runfile import build_run

    unit, lower = _NONNEG_METRICS[metric]
    scale = 1e6 if unit == "B" else 1.0
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a = BenchmarkResult(metric, [v * scale for v in base], unit=unit, lower_is_better=lower)
        b = BenchmarkResult(metric, [v * scale for v in cand], unit=unit, lower_is_better=lower)
        # results.json of one result: ci_lower and median_ci never below zero
        doc = _strict_json(json.dumps(a.to_dict(), allow_nan=False))
        bounds = dict(_lower_bounds(doc))
        assert bounds and all(v >= 0 for v in bounds.values()), bounds
        assert doc["ci_method"] in ("log-cox", "student-t-truncated", "student-t")
        # no finite upper bound (a spread of many orders of magnitude at n = 2) is null
        assert doc["ci_upper"] is None or doc["ci_upper"] >= doc["ci_lower"]
        # results.csv
        for _, row in results_frame({metric: {"a": a, "b": b}}).iterrows():
            assert row["ci_low"] >= 0 and row["median_ci_low"] >= 0
        # a whole run written to disk, and the comparison rows of two runs
        out = tmp_path_factory.mktemp("run")
        run_a = build_run({metric: {"m": a, "n": b}}, protocol={"baseline": "m"}, models=["m", "n"])
        run_b = build_run({metric: {"m": b, "n": a}}, protocol={"baseline": "m"}, models=["m", "n"])
        run_a.save(out / "results.json")
        saved = _strict_json((out / "results.json").read_text())
        rows = compare_runs(run_a, run_b)
    for where, v in [*_lower_bounds(saved), *_lower_bounds(_strict_json(json.dumps(rows, allow_nan=False,
                                                                                   default=str)))]:
        assert v >= 0, (where, v)


def test_compare_models_rows_bound_the_mean_at_zero():
    from torchperf.benchmark import Benchmark

    # a loaded machine: fast calls and a few very slow ones (the Student-t bound is negative)
    skewed = [2e-5] * 8 + [1.2e-3, 2.5e-3]
    bench = Benchmark({"a": lambda x: x, "b": lambda x: x})
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        bench.results["latency"] = {
            "a": BenchmarkResult("latency", skewed, unit="s"),
            "b": BenchmarkResult("latency", [v * 1.1 for v in skewed], unit="s"),
        }
        rows = bench.compare_models("latency")
    assert bench.results["latency"]["a"].ci_lower < 0  # what used to be written
    for row in rows:
        assert row["ci_low"] > 0 and row["ci_high"] > row["mean"], row


def test_every_cli_json_writer_is_strict_json_with_null_for_no_value(tmp_path, capsys):
    """run/report --format json, compare --format json, regressions/compare on history: no NaN tokens."""
    from torchperf import cli

    run = load_run(DATA / "run-v1/results.json")
    with pytest.warns(SmallSampleWarning):
        single = BenchmarkResult("latency", [1e-3], unit="s")
    doc = dict(run)
    doc["results"] = {**run["results"], "latency": {**run["results"]["latency"], "one": single}}
    render_run(doc, tmp_path / "r", plots=False)
    path = str(tmp_path / "r" / "results.json")
    hist = str(DATA / "asv-history" / "results")
    for argv in (
        ["report", path, "--output", str(tmp_path / "r2"), "--format", "json"],
        ["compare", path, path, "--format", "json"],
        ["regressions", "--results-dir", hist, "--all", "--no-cache", "--format", "json"],
    ):
        try:
            cli.main(argv)
        except SystemExit:
            pass
        out = capsys.readouterr().out
        parsed = _strict_json(out)
        assert parsed is not None, argv
        for where, v in _lower_bounds(parsed):
            assert v is None or v >= 0, (argv, where, v)
    # the single-sample result: its CV has no value and is written as null, not "NaN"
    saved = _strict_json((tmp_path / "r" / "results.json").read_text())["results"]["latency"]["one"]
    assert saved["cv"] is None or math.isfinite(saved["cv"])
