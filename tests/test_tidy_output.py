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
