"""torchperf.comparison: one Finding, one compare_results, one adjust; CI and verdict agree."""

from __future__ import annotations

import json
import math
import pickle
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from scipy import stats as sps

from torchperf import stats
from torchperf.comparison import (
    Finding,
    adjust,
    compare_results,
    decide,
    encode_outcomes,
    outcomes_of,
)
from torchperf.errors import InvalidParameterError
from torchperf.result import BenchmarkResult

ALPHA = 0.05


def _res(values, metric="latency", unit="s", lower=True, **meta):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return BenchmarkResult(metric, list(values), meta, unit=unit, lower_is_better=lower)


def _acc(correct, labels=None, **extra):
    correct = np.asarray(correct, dtype=bool)
    meta = {"n_correct": int(correct.sum()), "n_examples": int(correct.size), **extra}
    meta.update(encode_outcomes(correct, labels))
    return _res([correct.mean()], metric="accuracy", unit="fraction", lower=False, **meta)


# --------------------------------------------------------------------------- the property


def _agrees(f: Finding) -> bool:
    """Significance at the unadjusted level <=> the ratio CI excludes 1."""
    return (f.p < 1 - f.confidence_level) == f.excludes_one


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 2**32 - 1),
    nb=st.integers(2, 25),
    nc=st.integers(2, 25),
    sigma_b=st.floats(0.001, 0.8),
    sigma_c=st.floats(0.001, 0.8),
    shift=st.floats(-0.5, 0.5),
    level=st.sampled_from([0.8, 0.9, 0.95, 0.99]),
)
def test_samples_ci_excludes_one_iff_significant(seed, nb, nc, sigma_b, sigma_c, shift, level):
    rng = np.random.default_rng(seed)
    b = rng.lognormal(0.0, sigma_b, nb)
    c = rng.lognormal(shift, sigma_c, nc)
    f = compare_results(_res(b), _res(c), confidence_level=level, threshold=0.0)
    assume(abs(f.p - (1 - level)) > 1e-9)  # exactly on the boundary: either side is right
    assert _agrees(f), f
    assert (f.verdict in ("regression", "improvement")) == f.excludes_one
    assert f.ratio_ci_low <= f.ratio <= f.ratio_ci_high


@settings(max_examples=200, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    procs=st.tuples(st.integers(2, 6), st.integers(2, 6)),
    per=st.integers(1, 8),
    shift=st.floats(-0.3, 0.3),
)
def test_replicates_ci_excludes_one_iff_significant(seed, procs, per, shift):
    rng = np.random.default_rng(seed)
    sides = []
    for n_proc, mu in ((procs[0], 0.0), (procs[1], shift)):
        offsets = rng.normal(mu, 0.05, n_proc)
        vals = np.concatenate([rng.lognormal(o, 0.02, per) for o in offsets])
        sides.append(_res(vals, replicate_sizes=[per] * n_proc))
    f = compare_results(*sides, threshold=0.0)
    assert f.test == "replicate-median/welch-log-t"
    assert (f.n_before, f.n_after) == procs
    assume(abs(f.p - ALPHA) > 1e-9)
    assert _agrees(f), f


@settings(max_examples=150, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(1, 400),
    acc=st.floats(0.0, 1.0),
    flip=st.floats(0.0, 0.3),
    level=st.sampled_from([0.9, 0.95, 0.99]),
)
def test_mcnemar_ci_excludes_one_iff_significant(seed, n, acc, flip, level):
    rng = np.random.default_rng(seed)
    b = rng.random(n) < acc
    c = np.where(rng.random(n) < flip, ~b, b)
    f = compare_results(_acc(b), _acc(c), confidence_level=level, threshold=0.0)
    assert f.test == "mcnemar-exact"
    assume(abs(f.p - (1 - level)) > 1e-9)
    assert _agrees(f), f
    if math.isfinite(f.ratio):
        assert f.ratio_ci_low <= f.ratio <= f.ratio_ci_high


@settings(max_examples=300, deadline=None)
@given(
    n1=st.integers(1, 500), n2=st.integers(1, 500),
    f1=st.floats(0.0, 1.0), f2=st.floats(0.0, 1.0),
)  # fmt: skip
def test_unpaired_proportions_ci_excludes_one_iff_significant(n1, n2, f1, f2):
    k1, k2 = round(f1 * n1), round(f2 * n2)
    t = stats.proportion_ratio_test(k1, n1, k2, n2)
    assume(math.isfinite(t.p_value) and abs(t.p_value - ALPHA) > 1e-9)
    assert (t.p_value < ALPHA) == t.excludes_one


def test_issue_example_cannot_happen_any_more():
    """`torchperf compare` printed `1.080 [1.015, 35.000] p=0.333 inconclusive` (3 processes)."""
    rng = np.random.default_rng(3)
    trials = disagree = 0
    for _ in range(200):
        sides = []
        for mu in (0.0, 0.08):
            offsets = rng.normal(mu, 0.1, 3)
            sides.append(
                _res(np.concatenate([rng.lognormal(o, 0.05, 10) for o in offsets]),
                     replicate_sizes=[10, 10, 10])
            )  # fmt: skip
        f = compare_results(*sides)
        trials += 1
        disagree += not _agrees(f)
        assert f.ratio_ci_low <= f.ratio <= f.ratio_ci_high
    assert trials == 200 and disagree == 0


# --------------------------------------------------------------------------- against scipy


def test_welch_log_ratio_matches_scipy():
    rng = np.random.default_rng(11)
    for _ in range(20):
        b, c = rng.lognormal(0, 0.2, 12), rng.lognormal(0.1, 0.3, 9)
        for level in (0.9, 0.95):
            t = stats.welch_log_ratio_test(b, c, confidence_level=level)
            ref = sps.ttest_ind(np.log(c), np.log(b), equal_var=False)
            ci = ref.confidence_interval(level)
            assert t.p_value == pytest.approx(ref.pvalue, rel=1e-9, abs=1e-12)
            assert t.ci_low == pytest.approx(math.exp(ci.low), rel=1e-9)
            assert t.ci_high == pytest.approx(math.exp(ci.high), rel=1e-9)
            assert t.ratio == pytest.approx(math.exp(np.log(c).mean() - np.log(b).mean()))


def test_mcnemar_matches_scipy_binomtest():
    rng = np.random.default_rng(5)
    for _ in range(30):
        n = int(rng.integers(20, 300))
        b = rng.random(n) < 0.8
        c = np.where(rng.random(n) < 0.1, ~b, b)
        t = stats.mcnemar_ratio_test(b, c, confidence_level=0.9)
        nb, nc = int(np.sum(b & ~c)), int(np.sum(~b & c))
        if nb + nc == 0:
            assert t.p_value == 1.0 and t.ratio == 1.0
            continue
        ref = sps.binomtest(nc, nb + nc, 0.5)
        assert t.p_value == pytest.approx(ref.pvalue, rel=1e-12)
        ci = ref.proportion_ci(confidence_level=0.9, method="exact")
        k, d = int(np.sum(b & c)), nb + nc
        assert t.ci_low == pytest.approx((k + ci.low * d) / (k + (1 - ci.low) * d), rel=1e-12)
        assert t.ratio == pytest.approx(c.mean() / b.mean(), rel=1e-12)


@pytest.mark.slow
def test_mcnemar_exact_null_rejects_at_most_alpha():
    """Simulated A/A accuracy comparisons (paired, correlated errors): size <= α."""
    rng = np.random.default_rng(20240601)
    n, trials, rejected = 360, 800, 0
    for _ in range(trials):
        hard = rng.random(n) < 0.1  # shared difficulty: correlated errors
        p = np.where(hard, 0.5, 0.98)
        b, c = rng.random(n) < p, rng.random(n) < p
        rejected += stats.mcnemar_ratio_test(b, c).excludes_one  # what compare_results uses
    assert rejected / trials <= ALPHA + 0.01


def test_log_t_test_matches_scipy_t_and_normal():
    t = stats.log_t_test(0.1, 0.04, 7.0, confidence_level=0.9)
    assert t.p_value == pytest.approx(2 * sps.t.sf(0.1 / 0.04, 7), rel=1e-12)
    q = sps.t.ppf(0.95, 7)
    assert (t.ci_low, t.ci_high) == pytest.approx((math.exp(0.1 - q * 0.04), math.exp(0.1 + q * 0.04)))
    z = stats.log_t_test(-0.1, 0.04, math.inf)
    assert z.p_value == pytest.approx(2 * sps.norm.sf(2.5), rel=1e-12)
    assert stats.log_t_test(0.0, 0.0, 3).p_value == 1.0
    assert stats.log_t_test(0.2, 0.0, 3).p_value == 0.0


def test_proportion_ratio_matches_katz_and_normal():
    t = stats.proportion_ratio_test(90, 100, 80, 100)
    se = math.sqrt(1 / 80 - 1 / 100 + 1 / 90 - 1 / 100)
    lr = math.log(0.8 / 0.9)
    assert t.p_value == pytest.approx(2 * sps.norm.sf(abs(lr) / se), rel=1e-12)
    z = sps.norm.ppf(0.975)
    assert t.ci_low == pytest.approx(math.exp(lr - z * se), rel=1e-12)
    assert math.isnan(stats.proportion_ratio_test(0, 10, 3, 10).p_value)
    with pytest.raises(InvalidParameterError):
        stats.proportion_ratio_test(11, 10, 3, 10)


def test_pooled_aa_false_positive_rate_is_near_alpha():
    rng = np.random.default_rng(7)
    trials = 1000
    flagged = sum(
        compare_results(_res(rng.lognormal(0, 0.1, 20)), _res(rng.lognormal(0, 0.1, 20)),
                        threshold=0.0).excludes_one
        for _ in range(trials)
    )  # fmt: skip
    assert 0.03 <= flagged / trials <= 0.07


# --------------------------------------------------------------------------- dispatch


def test_dispatch_picks_the_test_from_the_data():
    rng = np.random.default_rng(0)
    b = rng.random(360) < 0.97
    c = b.copy()
    c[:12] = ~c[:12]
    paired = compare_results(_acc(b), _acc(c))
    assert paired.test == "mcnemar-exact" and paired.statistic == "proportion"
    assert paired.n_before == 360 and "paired on 360 examples" in paired.caveat

    # different examples (digest differs): unpaired, with the reason
    other = compare_results(_acc(b, labels=np.arange(360)), _acc(c, labels=np.arange(1, 361)))
    assert other.test == "katz-log-z" and "different examples" in other.caveat

    old_b = _res([b.mean()], metric="accuracy", unit="fraction", lower=False,
                 n_correct=int(b.sum()), n_examples=360)  # fmt: skip
    old_c = _res([c.mean()], metric="accuracy", unit="fraction", lower=False,
                 n_correct=int(c.sum()), n_examples=360)  # fmt: skip
    unpaired = compare_results(old_b, old_c)
    assert unpaired.test == "katz-log-z" and "not recorded" in unpaired.caveat

    exact = compare_results(_res([100.0] * 3, unit="B"), _res([90.0] * 3, unit="B"))
    assert exact.test == "exact" and exact.ratio == 0.9 and exact.verdict == "improvement"
    assert math.isnan(exact.p) and exact.ratio_ci_low == exact.ratio_ci_high == 0.9

    rep = compare_results(
        _res(rng.lognormal(0, 0.05, 30), replicate_sizes=[10, 10, 10]),
        _res(rng.lognormal(0.5, 0.05, 30), replicate_sizes=[10, 10, 10]),
    )
    assert rep.test == "replicate-median/welch-log-t" and rep.n_before == 3
    assert rep.verdict == "regression" and rep.caveat == ""

    pooled = compare_results(_res(rng.lognormal(0, 0.05, 20)), _res(rng.lognormal(0, 0.05, 20)))
    assert pooled.test == "welch-log-t" and "not independent replicates" in pooled.caveat

    bad = compare_results(_res([0.0, 1.0, 2.0]), _res([1.0, 2.0, 3.0]))
    assert bad.test == "none" and bad.verdict == "inconclusive" and "not compared" in bad.caveat
    one = compare_results(_res([1.0, 2.0]), _res([1.5]))
    assert one.test == "none" and "fewer than 2" in one.caveat

    with pytest.raises(InvalidParameterError, match="same metric"):
        compare_results(_res([1.0, 2.0]), _res([1.0, 2.0], metric="memory", unit="B"))


def test_equivalence_uses_the_same_procedure_at_one_minus_two_alpha():
    rng = np.random.default_rng(1)
    b = rng.lognormal(0, 0.01, 30)
    f = compare_results(_res(b), _res(b * rng.lognormal(0, 0.01, 30)), threshold=0.05)
    assert f.verdict == "equivalent"
    t90 = stats.welch_log_ratio_test(b, b, confidence_level=0.9)
    assert t90.ci_low <= 1 <= t90.ci_high


def test_outcomes_round_trip_and_reject_garbage():
    x = np.random.default_rng(2).random(37) < 0.5
    meta = encode_outcomes(x, labels=np.arange(37))
    r = _res([x.mean()], metric="accuracy", unit="fraction", lower=False, **meta)
    assert np.array_equal(outcomes_of(r), x)
    r2 = BenchmarkResult.from_dict(json.loads(json.dumps(r.to_dict())))
    assert np.array_equal(outcomes_of(r2), x)
    broken = _res([0.5], metric="accuracy", unit="fraction", lower=False,
                  per_example_correct={"n": 37, "packbits_base64": "!!"})  # fmt: skip
    assert outcomes_of(broken) is None


# --------------------------------------------------------------------------- adjust


def _finding(p, ratio=1.2, level=0.95):
    lo, hi = (1.1, 1.3) if p < 1 - level else (0.9, 1.3)
    return decide(
        lambda lv: stats.RatioTest(ratio, lo, hi, p, lv, "t-log"),
        metric="m", baseline="a", candidate="b", before=1.0, after=ratio, unit="s",
        lower_is_better=True, statistic="value", threshold=0.0, confidence_level=level,
    )  # fmt: skip


def test_adjust_bh_and_holm_match_references():
    p = [0.001, 0.01, 0.03, 0.04, 0.5]
    found = [_finding(x) for x in p]
    bh = adjust(found, "bh")
    assert [f.q for f in bh] == pytest.approx(sps.false_discovery_control(p, method="bh"))
    assert [f.q for f in adjust(found, "holm")] == pytest.approx(stats.holm(p))
    assert [f.q for f in adjust(found, "none")] == pytest.approx(p)
    assert all(f.family_size == 5 and f.correction == "benjamini-hochberg" for f in bh)
    # directional verdicts survive only with q <= alpha
    assert [f.verdict for f in bh] == ["regression"] * 4 + ["inconclusive"]  # q = .05 <= .05
    holm = adjust(found, "holm")  # adjusted 0.005, 0.04, 0.09, 0.09, 0.5
    assert [f.verdict for f in holm] == ["regression"] * 2 + ["inconclusive"] * 3
    assert [f.unadjusted_verdict for f in bh] == ["regression"] * 4 + ["inconclusive"]
    # adjusting twice is adjusting once
    assert adjust(bh, "bh") == bh
    with pytest.raises(InvalidParameterError, match="correction"):
        adjust(found, "bonferroni")


def test_adjust_leaves_exact_findings_out_of_the_family():
    exact = compare_results(_res([100.0] * 3, unit="B"), _res([120.0] * 3, unit="B"))
    out = adjust([exact, _finding(0.2)], "holm")
    assert math.isnan(out[0].q) and out[0].verdict == "regression" and out[0].family_size == 1
    assert out[1].q == pytest.approx(0.2)


# --------------------------------------------------------------------------- the record


def test_finding_is_frozen_picklable_and_round_trips():
    rng = np.random.default_rng(4)
    f = adjust([compare_results(_res(rng.lognormal(0, 0.1, 10)), _res(rng.lognormal(0.1, 0.1, 10)),
                                context={"machine": "m1", "params": ("a", 1)})])[0]  # fmt: skip
    with pytest.raises(AttributeError):
        f.ratio = 2.0  # type: ignore[misc]
    with pytest.raises(TypeError):
        f.context["machine"] = "x"  # type: ignore[index]
    assert pickle.loads(pickle.dumps(f)) == f
    d = f.as_dict()
    assert list(d)[:2] == ["machine", "params"] and d["params"] == ["a", 1]
    assert json.loads(json.dumps(d)) == d
    back = Finding.from_dict(json.loads(json.dumps(f.as_dict(legacy=True))))
    assert back.ratio == f.ratio and back.q == f.q and back.context["machine"] == "m1"
    legacy = f.as_dict(legacy=True)
    assert legacy["ci_low"] == f.ratio_ci_low and legacy["p_adjusted"] == f.q
    assert legacy["p_value"] == f.p and legacy["method"] == f.test
    with pytest.raises(InvalidParameterError, match="missing"):
        Finding.from_dict({"metric": "x"})
    with pytest.raises(InvalidParameterError, match="verdicts"):
        decide(None, exact_ratio=1.0, metric="m", baseline="a", candidate="b", before=1, after=1,
               unit="", lower_is_better=True, statistic="v").__class__(**{
                   **{k.name: getattr(f, k.name) for k in f.__dataclass_fields__.values()},
                   "verdict": "slower"})  # fmt: skip


def test_direction_reads_the_point_estimate():
    up = compare_results(_res([1.0] * 3), _res([2.0] * 3))
    assert up.direction == "regression" and up.metric_direction == "lower_is_better"
    acc = compare_results(_res([0.5] * 2, metric="accuracy", unit="fraction", lower=False),
                          _res([0.6] * 2, metric="accuracy", unit="fraction", lower=False))
    assert acc.direction == "improvement" and acc.metric_direction == "higher_is_better"
    same = compare_results(_res([1.0] * 3), _res([1.0] * 3))
    assert same.direction == "unchanged" and same.verdict == "equivalent"


# --------------------------------------------------------------------------- files of torchperf 0.1


@pytest.mark.slow
def test_results_file_of_the_previous_version_loads_compares_and_renders(tmp_path, capsys):
    """A results.json written at fba00c0 (no per-example outcomes) still works end to end."""
    from pathlib import Path

    from torchperf import cli
    from torchperf.report import compare_runs

    old = Path(__file__).parent / "data" / "run-v0.1" / "results.json"
    rows = compare_runs(old, old)
    assert {r["metric"] for r in rows} == {"latency", "throughput", "accuracy", "memory", "size"}
    acc = [r for r in rows if r["metric"] == "accuracy"]
    assert {r["test"] for r in acc} == {"katz-log-z"}
    assert all("per-example outcomes not recorded" in r["caveat"] for r in acc)
    assert all(r["verdict"] in ("equivalent", "inconclusive") for r in rows)  # a run vs itself
    for r in rows:
        if r["p"] is not None:
            assert (r["p"] < 0.05) == (r["ratio_ci_low"] > 1 or r["ratio_ci_high"] < 1)
    assert cli.main(["compare", str(old), str(old), "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["benchmark"].count(":") == 1
    assert cli.main(["report", str(old), "--output", str(tmp_path / "rep")]) == 0
    capsys.readouterr()
    assert (tmp_path / "rep" / "report.html").is_file()
    # within the old run: noisy (3 in 4 right) against exact (all right) is an accuracy regression
    from torchperf.suite import compare_to_baseline, load_run

    run = load_run(old)
    results = run["results"] if isinstance(run, dict) else run.results
    entry = next(e for e in compare_to_baseline(results, "exact") if e["metric"] == "accuracy")
    assert entry["test"] == "katz-log-z" and entry["verdict"] == "regression"


def test_tool_ci_verdict_agreement_runs(capsys):
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "tools" / "ci_verdict_agreement.py"
    spec = importlib.util.spec_from_file_location("ci_verdict_agreement", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    assert mod.main(["--trials", "40"]) == 0
    out = capsys.readouterr().out
    assert "after  (compare_results, one procedure):         0 contradict" in out


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    m=st.integers(1, 12),
    correction=st.sampled_from(["bh", "holm", "none"]),
)
def test_adjusted_intervals_agree_with_adjusted_decisions(seed, m, correction):
    """After adjust(), the interval at `adjusted_level` excludes 1 exactly when q <= alpha."""
    rng = np.random.default_rng(seed)
    found = [
        compare_results(_res(rng.lognormal(0, 0.1, 8)),
                        _res(rng.lognormal(float(rng.choice([0, 0.05, 0.2])), 0.1, 8)), threshold=0.0)
        for _ in range(m)
    ]  # fmt: skip
    for f in adjust(found, correction):
        assume(abs(f.q - ALPHA) > 1e-9)
        gamma = 1 - f.adjusted_level
        assume(abs(f.p - gamma) > 1e-9)
        excl = f.adjusted_ci_low > 1 or f.adjusted_ci_high < 1
        assert excl == (f.q <= ALPHA), f
        assert f.significant == excl  # threshold 0: the verdict and the adjusted CI agree
        assert f.adjusted_ci_low <= f.ratio_ci_low <= f.ratio_ci_high <= f.adjusted_ci_high


def test_adjusted_interval_is_dropped_by_pickle_but_numbers_stay():
    rng = np.random.default_rng(9)
    (f,) = adjust([compare_results(_res(rng.lognormal(0, 0.1, 8)), _res(rng.lognormal(0.3, 0.1, 8)))])
    g = pickle.loads(pickle.dumps(f))
    assert g == f and g.procedure is None and g.adjusted_ci_low == f.adjusted_ci_low
    assert "procedure" not in f.as_dict() and f.as_dict()["adjusted_level"] == 0.95
