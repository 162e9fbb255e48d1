"""torchperf.history.compare: two revisions of an asv history, FDR across the suite."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from torchperf.errors import InvalidParameterError
from torchperf.history import compare_revisions, load_results

DATA = Path(__file__).parent / "data" / "asv-history"
CONTRACT = ("benchmark", "params", "machine", "env", "commit_before", "commit_after", "ratio",
            "ci_low", "ci_high", "p_value", "direction", "metric_direction")


@pytest.fixture(scope="module")
def history():
    return load_results(DATA / "results"), json.loads((DATA / "truth.json").read_text())


def by_name(findings):
    return {f.benchmark.split(".")[-1] + "".join(f.params): f for f in findings}


def test_injected_regression_between_neighbour_commits(history):
    df, truth = history
    c = truth["commits"]
    found = by_name(compare_revisions(df, c[11][:7], c[12][:7]))  # short prefixes resolve
    reg = found["time_regress"]
    assert reg.verdict == "regression" and reg.direction == "regression" and reg.change == "slower"
    assert reg.ci_low < 1.25 < reg.ci_high or abs(reg.ratio - 1.25) < 0.05
    assert reg.evidence == "samples" and reg.noise_model == "history"
    assert reg.commit_before == c[11] and reg.commit_after == c[12]
    flat = [f for k, f in found.items() if k.startswith("time_flat")]
    assert len(flat) == 16 and not any(f.significant for f in flat)
    assert found["track_error_rate"].verdict == "equivalent"  # deterministic, unchanged
    d = reg.to_dict()
    assert all(k in d for k in CONTRACT)
    json.dumps(d)


def test_improvement_and_direction(history):
    df, truth = history
    c = truth["commits"]
    found = by_name(compare_revisions(df, c[19], c[20]))
    imp = found["time_improve"]
    assert imp.verdict == "improvement" and imp.change == "faster"
    assert imp.metric_direction == "lower_is_better"
    # the error-rate step (lower is better) is a regression, deterministic: p == 0
    err = by_name(compare_revisions(df, c[17], c[18]))["track_error_rate"]
    assert err.verdict == "regression" and err.ratio == pytest.approx(1.3) and err.change == "higher"


def test_aa_pairs_of_unchanged_code_are_rarely_significant(history):
    df, truth = history
    c = truth["commits"]
    flat = df[df["benchmark"] == "benchmarks.Flat.time_flat"]
    sig = 0
    total = 0
    for i in range(0, 28, 3):
        f = compare_revisions(flat, c[i], c[i + 1])
        sig += sum(x.significant for x in f)
        total += len(f)
    assert sig / total < 0.05


def test_thresholds_from_asv_conf_are_used(history):
    df, truth = history
    c = truth["commits"]
    found = by_name(compare_revisions(df, c[0], c[29]))
    assert found["time_drift"].threshold == 0.10  # regressions_thresholds in asv.conf.json
    assert found["time_regress"].threshold == 0.05
    found2 = by_name(compare_revisions(df, c[0], c[29], thresholds={"benchmarks.Steps": 0.5}))
    assert found2["time_regress"].threshold == 0.5 and not found2["time_regress"].significant


def test_falls_back_to_stored_ci_and_says_so(history):
    df, truth = history
    c = truth["commits"]
    nos = df.assign(samples=None)
    f = by_name(compare_revisions(nos, c[11], c[12]))["time_regress"]
    assert f.evidence == "stored-ci" and any("record-samples" in n for n in f.notes)
    assert f.verdict == "regression"
    # without history: no run-to-run noise estimate -> said in the notes
    two = df[df["commit"].isin([c[11], c[12]])]
    g = by_name(compare_revisions(two, c[11], c[12]))["time_regress"]
    assert g.noise_model in ("rounds", "within-run") and g.notes


def test_fdr_is_applied_across_the_suite(history):
    df, truth = history
    c = truth["commits"]
    f = compare_revisions(df, c[5], c[25])
    p = np.array([x.p_value for x in f])
    q = np.array([x.q_value for x in f])
    from scipy.stats import false_discovery_control

    np.testing.assert_allclose(np.sort(q), np.sort(false_discovery_control(p, method="bh")))
    assert all(x.q_value >= x.p_value for x in f)


def test_bad_input(history):
    df, truth = history
    c = truth["commits"]
    with pytest.raises(InvalidParameterError, match="same commit"):
        compare_revisions(df, c[3], c[3][:10])
    with pytest.raises(InvalidParameterError, match="matches no commit"):
        compare_revisions(df, "zzzz", c[3])
    with pytest.raises(InvalidParameterError, match=r"Did you mean 0\.95"):
        compare_revisions(df, c[1], c[2], confidence_level=95)


def test_higher_is_better_metric():
    rows = []
    for i, v in enumerate([100.0, 100.5, 99.5, 100.2, 99.8, 100.1, 99.9, 100.3, 100.0, 80.0]):
        rows.append({"machine": "m", "env_name": "e", "benchmark": "b.track_throughput",
                     "params": (), "param_str": "", "commit": f"{i:08x}", "revision": i,
                     "value": v, "lower_is_better": False, "unit": "samples/s",
                     "samples": None, "ci_low": math.nan, "ci_high": math.nan, "repeat": math.nan})
    df = pd.DataFrame(rows)
    (f,) = compare_revisions(df, f"{8:08x}", f"{9:08x}")
    assert f.verdict == "regression" and f.metric_direction == "higher_is_better"
    assert f.change == "lower" and f.noise_model == "history"


def test_history_findings_are_the_package_finding_and_ci_agrees_with_p(history):
    """One record for every comparison; its interval is the inversion of its test (rule 7)."""
    from torchperf.comparison import Finding

    df, truth = history
    c = truth["commits"]
    found = compare_revisions(df, c[0], c[12], min_history=3) + compare_revisions(df, c[11], c[12])
    assert found and all(type(f) is Finding for f in found)
    checked = 0
    for f in found:
        if math.isfinite(f.p) and abs(f.p - 0.05) > 1e-9:
            assert (f.p < 0.05) == f.excludes_one, f
            checked += 1
        if f.significant:
            assert f.excludes_one and f.q <= 0.05
    assert checked >= 10
    d = found[0].to_dict()
    assert all(k in d for k in CONTRACT) and d["q_value"] == d["q"]
