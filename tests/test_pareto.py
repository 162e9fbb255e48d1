"""Tests for torchperf.pareto: frontiers, ranks, directions and uncertainty-aware dominance."""

from __future__ import annotations

import itertools
import json
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from torchperf.errors import InvalidParameterError
from torchperf.pareto import (
    Estimate,
    dominates,
    estimate,
    pareto_front,
    significantly_better,
)
from torchperf.result import BenchmarkResult

LA = ("latency", "accuracy")


def result(metric: str, values, *, unit: str = "", lower_is_better: bool = True) -> BenchmarkResult:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return BenchmarkResult(metric, list(values), unit=unit, lower_is_better=lower_is_better)


def lat(center: float, spread: float, n: int = 10) -> BenchmarkResult:
    """Latency result with values symmetric around ``center`` (mean == center exactly)."""
    offsets = np.linspace(-1.0, 1.0, n) * spread
    return result("latency", center + offsets, unit="s")


def acc(center: float, spread: float, n: int = 10) -> BenchmarkResult:
    offsets = np.linspace(-1.0, 1.0, n) * spread
    return result("accuracy", center + offsets, lower_is_better=False)


# ----------------------------------------------------------------------------- seed examples


def test_seed_worked_example_all_three_are_pareto_optimal():
    # The seed says C=(12 ms, 91%) is dominated by A=(10 ms, 90%). It is not: C is
    # more accurate, so A is not at least as good on every objective.
    r = pareto_front({"A": (10e-3, 0.90), "B": (15e-3, 0.95), "C": (12e-3, 0.91)}, objectives=LA)
    assert r.members == ("A", "B", "C")
    assert r.dominated_by == {"A": (), "B": (), "C": ()}
    assert set(r.ranks.values()) == {1}
    assert not dominates((10, 0.90), (12, 0.91), ("min", "max"))


def test_seed_example_with_c_no_more_accurate_than_a_is_dominated():
    # What the seed's prose describes holds once C is not more accurate than A.
    r = pareto_front({"A": (10e-3, 0.90), "B": (15e-3, 0.95), "C": (12e-3, 0.90)}, objectives=LA)
    assert r.members == ("A", "B")
    assert r.dominated_by["C"] == ("A",)
    assert r.ranks == {"A": 1, "B": 1, "C": 2}
    assert r.status("C") == "dominated"  # exact numbers: dominance is certain


def test_seed_q4_all_three_are_pareto_optimal():
    # Q4: A=(5 ms, 88%), B=(8 ms, 92%), C=(6 ms, 89%): each is faster than every
    # more accurate model, so all three are on the frontier.
    r = pareto_front({"A": (5, 88), "B": (8, 92), "C": (6, 89)}, objectives=LA)
    assert r.members == ("A", "B", "C")
    for x, y in itertools.permutations("ABC", 2):
        assert not dominates(r.values[x], r.values[y], r.directions)


# ----------------------------------------------------------------------------- shapes of input


def test_array_input_with_names_and_directions():
    pts = np.array([[1.0, 1.0], [2.0, 2.0], [0.5, 3.0], [3.0, 0.5]])
    r = pareto_front(pts, ("min", "min"), names=["a", "b", "c", "d"])
    assert r.members == ("a", "c", "d")
    assert r.dominated_by["b"] == ("a",)
    assert r.objectives == ("objective_0", "objective_1")
    r2 = pareto_front(pts, "min")
    assert r2.names == ("0", "1", "2", "3")
    assert r2.members == ("0", "2", "3")


def test_results_container_uses_lower_is_better_and_excludes_incomplete_models():
    res = {
        "latency": {"fast": lat(0.010, 0.0001), "slow": lat(0.020, 0.0001), "half": lat(0.005, 0.0001)},
        "accuracy": {"fast": acc(0.90, 0.001), "slow": acc(0.80, 0.001)},
    }
    r = pareto_front(res)
    assert r.objectives == LA
    assert r.directions == ("min", "max")
    assert r.names == ("fast", "slow")
    assert r.excluded == {"half": "no result for accuracy"}
    assert r.members == ("fast",)
    assert r.status("slow") == "dominated"


def test_results_as_tuples_of_benchmark_results():
    r = pareto_front(
        {"A": (lat(0.010, 1e-4), acc(0.9, 1e-3)), "B": (lat(0.012, 1e-4), acc(0.89, 1e-3))},
        objectives=LA,
    )
    assert r.members == ("A",)
    assert r.confidently_dominated_by["B"] == ("A",)


# ----------------------------------------------------------------------------- directions


def test_mixed_directions_change_the_frontier():
    pts = {"p": (1.0, 1.0), "q": (2.0, 2.0), "r": (1.5, 0.5)}
    assert pareto_front(pts, ("min", "min")).members == ("p", "r")
    assert pareto_front(pts, ("min", "max")).members == ("p", "q")
    assert pareto_front(pts, ("max", "max")).members == ("q",)
    assert pareto_front(pts, ("max", "min")).members == ("q", "r")


def test_direction_mapping_overrides_defaults_and_aliases():
    pts = {"p": (1.0, 1.0), "q": (2.0, 2.0)}
    default = pareto_front(pts, objectives=LA)  # latency min, accuracy max
    assert default.members == ("p", "q")
    flipped = pareto_front(pts, {"accuracy": "minimize"}, objectives=LA)
    assert flipped.directions == ("min", "min")
    assert flipped.members == ("p",)
    assert pareto_front(pts, ["lower", "higher"]).directions == ("min", "max")
    # prefixed metric names inherit the direction
    assert pareto_front(pts, objectives=("latency_s", "throughput_batch32")).directions == ("min", "max")


def test_unknown_direction_is_an_actionable_error():
    with pytest.raises(InvalidParameterError, match=r"directions=\{'objective_0'"):
        pareto_front({"a": (1.0,), "b": (2.0,)})
    with pytest.raises(InvalidParameterError, match="'min' or 'max'"):
        pareto_front({"a": (1.0,)}, ["up"])
    with pytest.raises(InvalidParameterError, match="one direction per objective"):
        pareto_front({"a": (1.0, 2.0)}, ["min"])
    with pytest.raises(InvalidParameterError, match="not compared"):
        pareto_front({"a": (1.0, 2.0)}, {"memory": "min"}, objectives=LA)


def test_invalid_inputs():
    with pytest.raises(InvalidParameterError, match="finite"):
        pareto_front({"a": (float("nan"), 1.0)}, "min")
    with pytest.raises(InvalidParameterError, match="same number of objectives"):
        pareto_front({"a": (1.0, 2.0), "b": (1.0,)}, "min")
    with pytest.raises(InvalidParameterError, match="2-D"):
        pareto_front(np.arange(3.0), "min")
    with pytest.raises(InvalidParameterError, match="nothing to compare"):
        pareto_front({}, "min")
    with pytest.raises(InvalidParameterError, match=r"Did you mean 0\.95"):
        pareto_front({"a": (1.0,)}, "min", confidence_level=95)
    with pytest.raises(InvalidParameterError, match="method"):
        pareto_front({"a": (1.0,)}, "min", method="vote")
    with pytest.raises(InvalidParameterError, match="not in the results"):
        pareto_front({"latency": {"a": 1.0}}, objectives=("latency", "memory"))
    with pytest.raises(InvalidParameterError, match="BenchmarkResult"):
        pareto_front({"a": ("fast",)}, "min")


# ----------------------------------------------------------------------------- special cases


def test_single_model_is_the_frontier():
    r = pareto_front({"only": (0.01, 0.9)}, objectives=LA)
    assert r.members == ("only",)
    assert r.ranks == {"only": 1}
    assert r.ties == {"only": ()}
    assert r.status("only") == "frontier"


def test_identical_models_are_both_members_and_tied():
    r = pareto_front({"a": (0.01, 0.9), "b": (0.01, 0.9), "c": (0.02, 0.8)}, objectives=LA)
    assert r.members == ("a", "b")
    assert r.ties["a"] == ("b",)
    assert r.ties["b"] == ("a",)
    assert r.dominated_by["c"] == ("a", "b")
    assert r.ranks == {"a": 1, "b": 1, "c": 2}


def test_three_objectives():
    pts = {
        "base": (10.0, 0.90, 100.0),
        "quant": (6.0, 0.88, 25.0),  # faster, smaller, less accurate
        "prune": (8.0, 0.90, 60.0),  # dominates base: faster, same acc, smaller
        "bad": (9.0, 0.89, 70.0),  # dominated by prune only
        "big": (20.0, 0.95, 400.0),  # most accurate
        "tiny": (12.0, 0.85, 10.0),  # slow and inaccurate, but the smallest
    }
    r = pareto_front(pts, objectives=("latency", "accuracy", "memory"))
    assert r.directions == ("min", "max", "min")
    assert r.members == ("quant", "prune", "big", "tiny")
    assert r.dominated_by["base"] == ("prune",)
    assert r.dominated_by["bad"] == ("prune",)
    assert r.ranks["base"] == 2 and r.ranks["bad"] == 2
    # without the memory objective, tiny is dominated (by quant, among others)
    r2 = pareto_front({k: v[:2] for k, v in pts.items()}, objectives=LA)
    assert r2.members == ("quant", "prune", "big")
    assert "quant" in r2.dominated_by["tiny"]


def test_ranks_by_nondominated_sorting_on_a_chain():
    pts = {str(i): (float(i), float(i), float(i), float(i)) for i in range(5)}
    r = pareto_front(pts, "min")
    assert r.ranks == {str(i): i + 1 for i in range(5)}
    assert r.members == ("0",)


# ----------------------------------------------------------------------------- uncertainty


def test_point_dominated_but_overlapping_intervals_is_statistically_tied():
    # B is slower and less accurate on the point estimates, but by far less than the noise.
    res = {
        "latency": {"A": lat(0.0100, 0.002), "B": lat(0.0101, 0.002), "C": lat(0.0300, 0.0002)},
        "accuracy": {"A": acc(0.900, 0.05), "B": acc(0.899, 0.05), "C": acc(0.850, 0.001)},
    }
    r = pareto_front(res)
    assert r.members == ("A",)
    assert r.dominated_by["B"] == ("A",)
    assert r.confidently_dominated_by["B"] == ()
    assert r.status("B") == "tied"
    assert r.ties["B"] == ("A",)
    assert r.status("C") == "dominated"
    assert set(r.confidently_dominated_by["C"]) == {"A", "B"}
    assert r.confident_members == ("A", "B")
    assert r.confident_ranks["B"] == 1 and r.ranks["B"] == 2


def test_one_significant_objective_is_enough_for_confident_dominance():
    # A is clearly faster; accuracy is indistinguishable but A's point estimate is not worse.
    res = {
        "latency": {"A": lat(0.010, 0.0001), "B": lat(0.012, 0.0001)},
        "accuracy": {"A": acc(0.900, 0.05), "B": acc(0.899, 0.05)},
    }
    r = pareto_front(res)
    assert r.confidently_dominated_by["B"] == ("A",)
    assert r.status("B") == "dominated"


@pytest.mark.parametrize(
    ("method", "statistic"),
    [("welch", "mean"), ("overlap", "median"), ("overlap", "mean"), ("compare", "median"),
     ("compare", "mean"), ("auto", "median"), ("auto", "mean")],
)
def test_methods_agree_on_clear_cases(method, statistic):
    res = {
        "latency": {"A": lat(0.010, 1e-4), "B": lat(0.020, 1e-4), "T": lat(0.0101, 0.003)},
        "accuracy": {"A": acc(0.9, 1e-3), "B": acc(0.8, 1e-3), "T": acc(0.8995, 0.003)},
    }
    r = pareto_front(res, method=method, statistic=statistic)
    assert r.status("B") == "dominated"
    assert r.status("T") == "tied"


def test_overlap_is_more_conservative_than_welch():
    # Intervals overlap a little but the CI of the difference excludes 0.
    a = lat(0.0100, 0.0005, n=20)
    b = lat(0.01025, 0.0005, n=20)
    ea, eb = estimate(a, statistic="mean"), estimate(b, statistic="mean")
    assert ea.ci_high > eb.ci_low  # the two intervals overlap
    kw = {"lower_is_better": True, "statistic": "mean"}
    assert significantly_better(a, b, method="welch", **kw)
    assert not significantly_better(a, b, method="overlap", **kw)
    assert not significantly_better(b, a, method="welch", **kw)
    with pytest.raises(InvalidParameterError, match="compares means"):
        significantly_better(a, b, lower_is_better=True, statistic="median", method="welch")


def test_median_statistic_uses_median_intervals():
    a = result("latency", [1.0, 1.1, 1.2, 1.3, 1.4, 1.5, 1.6, 1.7, 1.8, 50.0], unit="s")
    e = estimate(a, statistic="median")
    assert e.value == pytest.approx(1.45)
    assert e.ci_low <= 1.45 <= e.ci_high < 50.0
    r = pareto_front({"a": (a,), "b": (result("latency", [3.0] * 2 + [3.1] * 8, unit="s"),)},
                     statistic="median")
    assert r.members == ("a",)
    assert r.status("b") == "dominated"


def accuracy_once(n_correct: int, n_examples: int) -> BenchmarkResult:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return BenchmarkResult(
            "accuracy", [n_correct / n_examples],
            {"n_examples": n_examples, "n_correct": n_correct}, lower_is_better=False,
        )


def test_accuracy_measured_once_gets_a_wilson_interval():
    e = estimate(accuracy_once(354, 360))
    assert e.binomial and not e.exact and e.count == 360
    # Wilson 95 % interval of 354/360, computed by hand
    assert e.ci_low == pytest.approx(0.96412, abs=1e-4)
    assert e.ci_high == pytest.approx(0.99234, abs=1e-4)
    assert e.std == pytest.approx(np.sqrt(354 / 360 * 6 / 360))
    # 98.3 % vs 97.8 % on 360 examples is noise; 98.3 % vs 43 % is not
    kw = {"lower_is_better": False}
    assert not significantly_better(accuracy_once(354, 360), accuracy_once(352, 360), **kw)
    assert significantly_better(accuracy_once(354, 360), accuracy_once(155, 360), **kw)
    # without the metadata a single value is exact
    assert estimate(result("accuracy", [0.5], lower_is_better=False)).exact


def test_exact_estimates_compare_exactly_whatever_the_method():
    for method in ("welch", "overlap", "compare", "auto"):
        assert significantly_better(1.0, 1.0 + 1e-12, lower_is_better=True, method=method)
        assert not significantly_better(1.0, 1.0, lower_is_better=True, method=method)
        assert significantly_better(2.0, 1.0, lower_is_better=False, method=method)
    assert Estimate(1.0, 1.0, 1.0).exact


def test_to_dict_is_json_ready_and_str_mentions_status():
    res = {
        "latency": {"A": lat(0.0100, 0.002), "B": lat(0.0101, 0.002)},
        "accuracy": {"A": acc(0.900, 0.05), "B": acc(0.899, 0.05)},
    }
    r = pareto_front(res)
    d = json.loads(json.dumps(r.to_dict()))
    assert d["models"]["B"]["status"] == "tied"
    assert d["models"]["B"]["tied_with"] == ["A"]
    assert d["members"] == ["A"]
    assert "tied with A" in str(r)
    with pytest.raises(InvalidParameterError, match="unknown model"):
        r.status("Z")


# ----------------------------------------------------------------------------- properties

_dirs = st.sampled_from(["min", "max"])


@st.composite
def point_sets(draw):
    k = draw(st.integers(1, 4))
    n = draw(st.integers(1, 12))
    # small integer grid so that ties and equal coordinates are common
    rows = draw(st.lists(st.lists(st.integers(0, 4), min_size=k, max_size=k), min_size=n, max_size=n))
    dirs = draw(st.lists(_dirs, min_size=k, max_size=k))
    return {f"m{i}": tuple(float(v) for v in row) for i, row in enumerate(rows)}, dirs


@settings(max_examples=150, deadline=None)
@given(point_sets())
def test_property_frontier_definition(data):
    pts, dirs = data
    r = pareto_front(pts, dirs)
    members = set(r.members)
    for m in members:  # no member is dominated by anyone
        assert not any(dominates(pts[o], pts[m], dirs) for o in pts)
    for m in set(pts) - members:  # every non-member is dominated by a member
        assert any(dominates(pts[f], pts[m], dirs) for f in members)
    for m in pts:  # dominated_by is exactly the brute-force relation
        assert set(r.dominated_by[m]) == {o for o in pts if dominates(pts[o], pts[m], dirs)}
    # ranks: frontier is rank 1; a rank-r model is dominated by some rank r-1 model
    assert {m for m, k in r.ranks.items() if k == 1} == members
    for m, k in r.ranks.items():
        if k > 1:
            assert any(r.ranks[o] == k - 1 for o in r.dominated_by[m])
        assert all(r.ranks[o] < k for o in r.dominated_by[m])
    # without uncertainty, confidence changes nothing
    assert r.confidently_dominated_by == r.dominated_by
    assert r.confident_ranks == r.ranks


@st.composite
def noisy_sets(draw):
    n = draw(st.integers(1, 6))
    k = draw(st.integers(1, 3))
    dirs = draw(st.lists(_dirs, min_size=k, max_size=k))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    pts = {}
    for i in range(n):
        row = []
        for j in range(k):
            center = float(rng.integers(1, 5))
            spread = float(rng.choice([0.0, 0.01, 0.5, 2.0]))
            size = int(rng.integers(1, 6))
            vals = center + spread * rng.standard_normal(size) + 10.0
            row.append(result(f"obj{j}", vals, lower_is_better=dirs[j] == "min"))
        pts[f"m{i}"] = tuple(row)
    method, statistic = draw(
        st.sampled_from([("auto", "median"), ("auto", "mean"), ("welch", "mean"),
                         ("overlap", "median"), ("overlap", "mean"), ("compare", "mean")])
    )
    return pts, dirs, method, statistic


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(noisy_sets())
def test_property_uncertain_dominance_never_stronger_than_point_dominance(data):
    pts, dirs, method, statistic = data
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = pareto_front(pts, dirs, method=method, statistic=statistic)
    for m in r.names:
        conf = set(r.confidently_dominated_by[m])
        point = set(r.dominated_by[m])
        assert conf <= point
        assert r.confident_ranks[m] <= r.ranks[m]
        assert set(r.ties[m]) & conf == set()
        assert point - conf <= set(r.ties[m])
    assert set(r.members) <= set(r.confident_members)
    # the frontier properties still hold for point estimates
    for m in r.names:
        if m not in r.members:
            assert any(dominates(r.values[f], r.values[m], dirs) for f in r.members)


@pytest.mark.filterwarnings("ignore::torchperf.errors.SmallSampleWarning")  # n = 1 proportion
def test_perfect_accuracy_interval_contains_the_estimate():
    """Regression: Wilson's upper bound at k = n is 1 - 1e-16 < 1.0, which broke error bars."""
    for k, n in ((360, 360), (0, 360), (359, 360), (1, 1)):
        r = BenchmarkResult(
            "accuracy", [k / n], {"n_examples": n, "n_correct": k},
            unit="fraction", lower_is_better=False,
        )  # fmt: skip
        e = estimate(r)
        assert e.binomial and e.ci_low <= e.value <= e.ci_high, (k, n, e)


def test_median_interval_carries_its_real_coverage_without_warning_noise():
    r = BenchmarkResult("latency", [1.0, 1.2, 1.1], unit="s")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        e = estimate(r)
    assert e.coverage == pytest.approx(0.75)
    assert estimate(BenchmarkResult("latency", np.linspace(1, 2, 12), unit="s")).coverage is None
