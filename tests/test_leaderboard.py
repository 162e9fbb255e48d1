"""Tests for torchperf.leaderboard: the Olympics events and statistical ties."""

from __future__ import annotations

import json
import math
import warnings

import numpy as np
import pytest

from torchperf.errors import InvalidParameterError
from torchperf.leaderboard import (
    DEFAULT_BUDGET_FACTOR,
    EVENTS,
    Row,
    format_leaderboard,
    olympics,
    rank_metric,
)
from torchperf.result import BenchmarkResult


def result(metric, values, *, unit="", lower_is_better=True):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return BenchmarkResult(metric, list(values), unit=unit, lower_is_better=lower_is_better)


def lat(center, spread=0.0, n=12, seed=0):
    rng = np.random.default_rng(seed)
    vals = center * np.exp(spread * rng.standard_normal(n)) if spread else [center] * n
    return result("latency", vals, unit="s")


def acc(value, spread=0.0, n=1, seed=0):
    rng = np.random.default_rng(seed)
    vals = value + spread * rng.standard_normal(n) if spread else [value] * n
    return result("accuracy", vals, lower_is_better=False)


def size(nbytes):
    return result("size", [nbytes], unit="B")


def by_model(rows):
    return {r.model: r for r in rows}


# ----------------------------------------------------------------------------- single-metric ranks


def test_statistically_indistinguishable_models_share_the_rank():
    # a and b come from the same distribution (different seeds); c is 30 % slower
    rows = rank_metric(
        {"c": lat(0.013, 0.05, seed=3), "a": lat(0.010, 0.05, seed=1), "b": lat(0.010, 0.05, seed=2)}
    )
    r = by_model(rows)
    assert r["a"].rank == r["b"].rank == 1
    assert set(r["a"].tied_with) == {"b"} and r["b"].tied_with == ("a",)
    assert r["c"].rank == 3  # competition ranking: 1, 1, 3
    assert r["c"].tied_with == ()
    assert [row.model for row in rows][2] == "c"


def test_ties_are_decided_by_statistics_not_decimals():
    # 0.1 % apart with 5 % noise: same rank although the means differ
    noisy = rank_metric({"x": lat(0.0100, 0.05, seed=1), "y": lat(0.01001, 0.05, seed=1)})
    assert {r.rank for r in noisy} == {1}
    # exact metrics (one value each) differ when they differ by one byte
    exact = rank_metric({"p": size(1000), "q": size(1001), "s": size(1000)})
    r = by_model(exact)
    assert r["p"].rank == r["s"].rank == 1 and r["q"].rank == 3
    # with tiny noise a 1 % gap is significant
    precise = by_model(rank_metric({"x": lat(0.0100, 0.001, seed=1), "y": lat(0.0101, 0.001, seed=2)}))
    assert precise["x"].rank == 1 and precise["y"].rank == 2


def test_direction_from_results_and_explicit():
    rows = rank_metric({"lo": acc(0.8), "hi": acc(0.9)})
    assert [r.model for r in rows] == ["hi", "lo"]
    rows = rank_metric({"lo": 1.0, "hi": 2.0}, lower_is_better=False)
    assert rows[0].model == "hi"
    with pytest.raises(InvalidParameterError, match="lower_is_better"):
        rank_metric({"lo": 1.0, "hi": 2.0})
    assert rank_metric({}) == []


# ----------------------------------------------------------------------------- events


def _results():
    return {
        "latency": {
            "baseline": lat(0.010, 0.03, seed=1),
            "quantized": lat(0.004, 0.03, seed=2),
            "pruned": lat(0.0041, 0.03, seed=3),  # tied with quantized
            "big": lat(0.030, 0.03, seed=4),  # outside the default budget (2 x 4 ms)
        },
        "accuracy": {
            "baseline": acc(0.95),
            "quantized": acc(0.93),
            "pruned": acc(0.90),
            "big": acc(0.99),
        },
        "size": {
            "baseline": size(4_000_000),
            "quantized": size(1_000_000),
            "pruned": size(2_000_000),
            "big": size(16_000_000),
        },
    }


def test_olympics_has_every_event():
    board = olympics(_results())
    assert list(board) == list(EVENTS)
    sprint = by_model(board["latency_sprint"])
    assert sprint["quantized"].rank == sprint["pruned"].rank == 1
    assert sprint["baseline"].rank == 3 and sprint["big"].rank == 4
    assert sprint["quantized"].unit == "s"
    assert sprint["quantized"].ci[0] <= sprint["quantized"].value <= sprint["quantized"].ci[1]


def test_memory_challenge_prefers_memory_and_falls_back_to_size():
    res = _results()
    board = olympics(res)
    assert [r.model for r in board["memory_challenge"]] == ["quantized", "pruned", "baseline", "big"]
    assert board["memory_challenge"][0].metric == "size"
    res["memory"] = {m: result("memory", [v], unit="B") for m, v in
                     {"baseline": 10, "quantized": 30, "pruned": 20, "big": 40}.items()}
    board = olympics(res)
    assert board["memory_challenge"][0].model == "baseline"
    assert board["memory_challenge"][0].metric == "memory"
    assert olympics(res, memory_metric="size")["memory_challenge"][0].model == "quantized"


def test_accuracy_contest_default_budget_is_twice_the_fastest():
    res = _results()
    board = olympics(res)
    contest = board["accuracy_contest"]
    fastest = min(r.median for r in res["latency"].values())
    budget = DEFAULT_BUDGET_FACTOR * fastest
    assert {r.model for r in contest} == {m for m, r in res["latency"].items() if r.median <= budget}
    assert "big" not in {r.model for r in contest}
    assert contest[0].model == "quantized"  # 0.93 beats pruned (0.90); baseline is too slow
    assert f"{budget:.4g} s" in contest[0].note
    # an absolute budget lets the big model compete, and it wins
    board = olympics(res, latency_budget_s=0.05)
    assert board["accuracy_contest"][0].model == "big"
    assert len(board["accuracy_contest"]) == 4
    for bad in (0, -1.0, float("nan"), "fast"):
        with pytest.raises(InvalidParameterError, match="latency_budget_s"):
            olympics(res, latency_budget_s=bad)


def test_all_around_pareto_rank_then_geometric_mean_score():
    res = {
        "latency": {"a": lat(0.010), "b": lat(0.020), "c": lat(0.040)},
        "accuracy": {"a": acc(0.90), "b": acc(0.99), "c": acc(0.90)},
    }
    rows = olympics(res)["all_around"]
    r = by_model(rows)
    # a: best latency (1.0), accuracy ratio 0.99/0.90 -> sqrt(1.1)
    assert r["a"].value == pytest.approx(math.sqrt(0.99 / 0.90))
    # b: latency ratio 2, best accuracy -> sqrt(2)
    assert r["b"].value == pytest.approx(math.sqrt(2.0))
    # c is dominated by a: Pareto rank 2 puts it last whatever its score
    assert [row.model for row in rows] == ["a", "b", "c"]
    assert [row.rank for row in rows] == [1, 2, 3]
    assert "Pareto rank 2" in r["c"].note and "dominated by a" in r["c"].note
    assert r["a"].metric == "score"


def test_all_around_best_everywhere_scores_one_and_noise_ties():
    res = {
        "latency": {"a": lat(0.010, 0.2, seed=1), "b": lat(0.0101, 0.2, seed=2)},
        "accuracy": {"a": acc(0.9, 0.05, n=10, seed=1), "b": acc(0.9, 0.05, n=10, seed=2)},
    }
    rows = olympics(res)["all_around"]
    assert {r.rank for r in rows} == {1}
    exact = olympics({"latency": {"a": lat(0.01), "b": lat(0.02)}, "accuracy": {"a": acc(0.9), "b": acc(0.8)}})
    top = exact["all_around"][0]
    assert top.model == "a" and top.value == pytest.approx(1.0) and top.ci == pytest.approx((1.0, 1.0))


def test_missing_metrics_give_empty_events():
    board = olympics({"latency": {"a": lat(0.01), "b": lat(0.02)}})
    assert board["memory_challenge"] == [] and board["accuracy_contest"] == []
    assert [r.model for r in board["all_around"]] == ["a", "b"]
    with pytest.raises(InvalidParameterError, match="results container"):
        olympics({"latency": [1, 2]})


def test_format_and_serialise():
    board = olympics(_results())
    text = format_leaderboard(board)
    for title in EVENTS.values():
        assert f"## {title}" in text
    assert "4.00 ms" in text or "4.0" in text
    assert "| 1 | quantized |" in text
    payload = json.dumps({k: [r.to_dict() for r in v] for k, v in board.items()})
    assert "tied_with" in payload
    row = Row(1, "a|b", 1.0, (1.0, 1.0), ())
    assert "a\\|b" in format_leaderboard({"latency_sprint": [row], "memory_challenge": []})
    assert "No model has the metrics" in format_leaderboard({"memory_challenge": []})
