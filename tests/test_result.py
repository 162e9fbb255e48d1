"""Tests of torchperf.result: the seed's BenchmarkResult API, JSON round-trip, Comparison."""

from __future__ import annotations

import copy
import json
import math
import pickle
import re
import statistics as pystats
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import stats as sps

from torchperf import stats
from torchperf.errors import InvalidParameterError, ResultsFileError, SmallSampleWarning
from torchperf.result import SCHEMA_VERSION, BenchmarkResult, Comparison, format_quantity

SEED_FIELDS = (
    "metric_name", "values", "metadata", "mean", "std", "median", "min_val", "max_val",
    "count", "ci_lower", "ci_upper",
)  # fmt: skip


# =============================================================================== seed API


def test_seed_fields_and_values():
    vals = [0.0123, 0.0119, 0.0131, 0.0125, 0.0122]
    r = BenchmarkResult("latency", vals, {"platform": "linux"})
    for name in SEED_FIELDS:
        assert hasattr(r, name), name
    assert r.metric_name == "latency"
    assert r.values == tuple(vals) and all(isinstance(v, float) for v in r.values)
    assert dict(r.metadata) == {"platform": "linux"}
    assert math.isclose(r.mean, pystats.mean(vals), rel_tol=1e-12)
    assert math.isclose(r.std, pystats.stdev(vals), rel_tol=1e-12)
    assert r.median == pystats.median(vals)
    assert (r.min_val, r.max_val, r.count) == (min(vals), max(vals), 5)
    assert isinstance(r.count, int)
    # Student t, not the seed's 1.96
    lo, hi = sps.t.interval(0.95, 4, loc=r.mean, scale=r.std / math.sqrt(5))
    assert math.isclose(r.ci_lower, lo, rel_tol=1e-12) and math.isclose(r.ci_upper, hi, rel_tol=1e-12)
    seed_half = 1.96 * r.std / math.sqrt(5)
    assert r.ci_upper - r.mean > seed_half * 1.4  # t(0.975, 4) = 2.776 vs 1.96


def test_str_is_the_seed_format():
    assert str(BenchmarkResult("latency", [1.0, 2.0, 3.0])) == "latency: 2.0000 ± 1.0000 (n=3)"
    assert str(BenchmarkResult("accuracy", [0.5, 0.7])) == "accuracy: 0.6000 ± 0.1414 (n=2)"
    pattern = re.compile(r"^(\w+): (\S+) ± (\S+) \(n=(\d+)\)$")
    m = pattern.match(str(BenchmarkResult("x", [10.0, 12.0, 11.0])))
    assert m and m.groups() == ("x", "11.0000", "1.0000", "3")
    # with a unit the numbers get human units, same shape
    s = str(BenchmarkResult("latency", [0.0123, 0.0131], unit="s"))
    assert s == "latency: 12.7 ms ± 0.6 ms (n=2)"


def test_to_dict_has_seed_keys_and_is_strict_json():
    r = BenchmarkResult("latency", [1.0, 2.0, 4.0], {"model": "mlp"}, unit="s")
    d = r.to_dict()
    for name in SEED_FIELDS:
        assert name in d, name
    assert d["schema_version"] == SCHEMA_VERSION and d["schema"] == "torchperf.BenchmarkResult"
    assert d["values"] == [1.0, 2.0, 4.0] and d["metadata"] == {"model": "mlp"}
    assert d["min"] == d["min_val"] == 1.0 and d["max"] == d["max_val"] == 4.0
    assert d["percentiles"].keys() == {"50", "90", "95", "99"}
    assert d["median_ci"] == list(r.median_ci) and d["outliers"]["count"] == 0
    json.dumps(d, allow_nan=False)
    zero_mean = BenchmarkResult("delta", [-1.0, 1.0]).to_dict()
    assert zero_mean["cv"] is None
    json.dumps(zero_mean, allow_nan=False)


def test_extra_statistics():
    rng = np.random.default_rng(0)
    x = rng.lognormal(0, 0.2, 50)
    r = BenchmarkResult("latency", x, unit="s")
    q = np.percentile(x, [25, 50, 75, 90, 95, 99])
    assert r.iqr == pytest.approx(q[2] - q[0])
    assert (r.p50, r.p90, r.p95, r.p99) == pytest.approx((q[1], q[3], q[4], q[5]))
    assert dict(r.percentiles) == {50: r.p50, 90: r.p90, 95: r.p95, 99: r.p99}
    assert r.cv == pytest.approx(r.std / r.mean)
    assert r.median_ci == stats.median_ci(x)
    assert r.outliers == stats.classify_outliers(x)
    assert r.confidence_interval(0.95) == (r.ci_lower, r.ci_upper)
    lo99, hi99 = r.confidence_interval(confidence_level=0.99)
    assert lo99 < r.ci_lower and hi99 > r.ci_upper
    assert (lo99, hi99) == stats.mean_ci(x, confidence_level=0.99)
    assert r.summary == stats.summarize(x)
    r90 = BenchmarkResult("latency", x, confidence_level=0.9)
    assert (r90.ci_lower, r90.ci_upper) == stats.mean_ci(x, confidence_level=0.9)


def test_outliers_reported_never_dropped():
    vals = [1.0, 1.01, 0.99, 1.0, 1.02, 0.98, 5.0]
    r = BenchmarkResult("latency", vals)
    assert r.outliers.high_indices == (6,) and r.count == 7 and r.max_val == 5.0
    assert r.mean == pytest.approx(np.mean(vals))
    frame = r.to_frame()
    assert frame["is_outlier"].tolist() == [False] * 6 + [True]


def test_to_frame():
    pytest.importorskip("pandas")
    r = BenchmarkResult("latency", [1.0, 2.0, 3.0], unit="s")
    f = r.to_frame()
    assert list(f.columns) == ["metric_name", "unit", "sample", "value", "is_outlier"]
    assert f["value"].tolist() == [1.0, 2.0, 3.0] and (f["metric_name"] == "latency").all()
    assert f.attrs["statistics"]["mean"] == 2.0


# =============================================================================== validation


@pytest.mark.parametrize(
    ("values", "match"),
    [
        ([], r"`values` is empty"),
        ([1.0, 2.0, 3.0, float("nan")], r"values\[3\] is nan"),
        ([float("inf")], r"values\[0\] is inf"),
        ([1.0, float("-inf")], r"values\[1\] is -inf"),
        ([1.0, "fast"], r"values\[1\] is 'fast'"),
        ([[1.0, 2.0]], r"values\[0\] is \[1\.0, 2\.0\]"),
        ([1e308, 1e308, -1e308], r"overflows float64"),
    ],
)
def test_invalid_values_raise_naming_the_problem(values, match):
    with pytest.raises(InvalidParameterError, match=match):
        BenchmarkResult("latency", values)


def test_invalid_parameters():
    cases = [
        (lambda: BenchmarkResult("", [1.0]), r"`metric_name` must be a non-empty str"),
        (lambda: BenchmarkResult(3, [1.0]), r"`metric_name` must be a non-empty str such as 'latency'; got 3"),
        (lambda: BenchmarkResult("m", [1.0], ["a"]), r"`metadata` must be a mapping"),
        (lambda: BenchmarkResult("m", [1.0], {1: "a"}), r"metadata keys must be str"),
        (lambda: BenchmarkResult("m", [1.0], {"a": {2: 1}}), r"metadata\['a'\] keys must be str"),
        (lambda: BenchmarkResult("m", [1.0], unit=None), r"`unit` must be a str"),
        (lambda: BenchmarkResult("m", [1.0], lower_is_better="no"), r"`lower_is_better` must be"),
        (
            lambda: BenchmarkResult("m", [1.0, 2.0], confidence_level=95),
            r"Did you mean 0\.95\?",
        ),
        (
            lambda: BenchmarkResult("m", [1.0, 2.0]).confidence_interval(0),
            r"`confidence_level` must be in \(0, 1\)",
        ),
        (lambda: format_quantity("1", "s"), r"`value` must be a number"),
        (lambda: format_quantity(1.0, 3), r"`unit` must be a str"),
    ]
    for fn, match in cases:
        with pytest.raises(InvalidParameterError, match=match):
            fn()


def test_single_value():
    with pytest.warns(SmallSampleWarning, match=r"'latency' has a single value"):
        r = BenchmarkResult("latency", [0.5])
    assert r.std == 0.0 and (r.ci_lower, r.ci_upper) == (0.5, 0.5) and r.median_ci == (0.5, 0.5)
    assert r.count == 1 and str(r) == "latency: 0.5000 ± 0.0000 (n=1)"


def test_no_warning_for_ordinary_results():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        BenchmarkResult("latency", [1.0, 2.0, 3.0])  # n=3: median CI widened silently
        BenchmarkResult("size", [7.0, 7.0, 7.0])


# =============================================================================== immutability


def test_immutable():
    meta = {"env": {"threads": [1, 2]}}
    r = BenchmarkResult("latency", [1.0, 2.0], meta)
    with pytest.raises(AttributeError, match=r"immutable; cannot set 'mean'"):
        r.mean = 3.0
    with pytest.raises(AttributeError, match=r"immutable; cannot delete 'values'"):
        del r.values
    with pytest.raises(AttributeError):
        r.new_attribute = 1
    with pytest.raises(TypeError):
        r.metadata["x"] = 1
    with pytest.raises(TypeError):
        r.metadata["env"]["threads"] = 3
    with pytest.raises(TypeError):
        r.percentiles[50] = 0.0
    meta["env"]["threads"].append(3)  # the caller's dict is not shared
    assert r.metadata["env"]["threads"] == (1, 2)
    assert isinstance(r.values, tuple)


def test_equality_hash_pickle_copy():
    a = BenchmarkResult("latency", [1.0, 2.0], {"m": 1}, unit="s")
    b = BenchmarkResult("latency", np.array([1.0, 2.0]), {"m": 1}, unit="s")
    assert a == b and hash(a) == hash(b)
    assert a != BenchmarkResult("latency", [1.0, 2.0], {"m": 2}, unit="s")
    assert a != BenchmarkResult("latency", [1.0, 2.0], {"m": 1}, unit="ms")
    assert a != BenchmarkResult("latency", [1.0, 2.0], {"m": 1}, unit="s", lower_is_better=False)
    assert a != BenchmarkResult("throughput", [1.0, 2.0], {"m": 1}, unit="s")
    assert a != "latency"
    for clone in (pickle.loads(pickle.dumps(a)), copy.deepcopy(a), copy.copy(a)):
        assert clone == a and clone.ci_lower == a.ci_lower


# =============================================================================== round trip

_json_leaf = (
    st.none()
    | st.booleans()
    | st.integers(-(2**53), 2**53)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8)
)
_json = st.recursive(
    _json_leaf,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3),
    max_leaves=8,
)
_values = st.lists(
    st.floats(min_value=-1e100, max_value=1e100, allow_nan=False, allow_infinity=False),
    min_size=2,
    max_size=40,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    metric=st.text(min_size=1, max_size=12),
    values=_values,
    metadata=st.dictionaries(st.text(max_size=6), _json, max_size=4),
    unit=st.sampled_from(["", "s", "B", "samples/s", "fraction"]),
    lower_is_better=st.booleans(),
    level=st.floats(min_value=0.5, max_value=0.999),
)
def test_round_trip_through_json(metric, values, metadata, unit, lower_is_better, level):
    if unit in ("s", "B", "samples/s"):  # impossible values are rejected (negative times)
        values = [abs(v) for v in values]
    elif unit == "fraction":
        values = [min(1.0, abs(v)) for v in values]
    r = BenchmarkResult(
        metric, values, metadata, unit=unit, lower_is_better=lower_is_better, confidence_level=level
    )
    back = BenchmarkResult.from_dict(r.to_dict())
    assert back == r
    text = json.dumps(r.to_dict(), allow_nan=False)
    again = BenchmarkResult.from_dict(json.loads(text))
    assert again == r
    assert again.confidence_level == r.confidence_level
    assert (again.mean, again.std, again.ci_lower, again.ci_upper) == (r.mean, r.std, r.ci_lower, r.ci_upper)
    assert str(again) == str(r)


def test_round_trip_single_value_and_numpy_metadata():
    with pytest.warns(SmallSampleWarning):
        r = BenchmarkResult("accuracy", [0.97], {"n": np.int64(3), "arr": np.arange(3)}, unit="fraction")
    assert r.metadata["n"] == 3 and r.metadata["arr"] == (0, 1, 2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # from_dict does not re-warn
        assert BenchmarkResult.from_dict(json.loads(json.dumps(r.to_dict()))) == r


def _good() -> dict:
    return BenchmarkResult("latency", [1.0, 2.0, 3.0], unit="s").to_dict()


@pytest.mark.parametrize(
    ("mutate", "match"),
    [
        (lambda d: d.update(schema_version=2), r"unknown BenchmarkResult schema_version 2"),
        (lambda d: d.pop("schema_version"), r"unknown BenchmarkResult schema_version None"),
        (lambda d: d.update(schema="torchperf.run"), r"not a BenchmarkResult: schema is"),
        (lambda d: d.pop("values"), r"missing 'values'"),
        (lambda d: d.pop("metric_name"), r"missing 'metric_name'"),
        (lambda d: d.update(values="1,2,3"), r"'values' must be a list of numbers; got str"),
        (lambda d: d.update(count=4), r"'count' is 4 but 'values' has 3 entries"),
        (lambda d: d.update(values=[1.0, "NaN", 3.0]), r"invalid BenchmarkResult: .*values\[1\] is 'NaN' \(str\)"),
        (lambda d: d.update(values=[], count=0), r"invalid BenchmarkResult: `values` is empty"),
        (lambda d: d.update(confidence_level=95), r"invalid BenchmarkResult: .*Did you mean 0\.95"),
    ],
)
def test_from_dict_rejects_corrupt_input(mutate, match):
    d = _good()
    mutate(d)
    with pytest.raises(ResultsFileError, match=match):
        BenchmarkResult.from_dict(d)


def test_from_dict_rejects_non_mapping():
    with pytest.raises(ResultsFileError, match=r"must be a JSON object; got list"):
        BenchmarkResult.from_dict([1, 2])


# =============================================================================== formatting


@pytest.mark.parametrize(
    ("value", "unit", "expected"),
    [
        (0.0123, "s", "12.3 ms"),
        (4.1e-6, "s", "4.10 µs"),
        (3.5e-10, "s", "0.35 ns"),
        (2.5, "s", "2.50 s"),
        (123.4, "s", "123 s"),
        (0.0, "s", "0 s"),
        (-0.002, "s", "-2.00 ms"),
        (1.5e6, "B", "1.50 MB"),
        (512, "B", "512 B"),
        (2.1e9, "B", "2.10 GB"),
        (0.952, "fraction", "95.2 %"),
        (95.2, "%", "95.2 %"),
        (12345.0, "samples/s", "12.3k samples/s"),
        (12.0, "samples/s", "12.0 samples/s"),
        (3.14159, "", "3.142"),
        (float("nan"), "s", "nan s"),
    ],
)
def test_format_quantity(value, unit, expected):
    assert format_quantity(value, unit) == expected


# =============================================================================== Comparison


def _pair(seed: int = 0):
    rng = np.random.default_rng(seed)
    base = BenchmarkResult(
        "latency", rng.lognormal(math.log(0.0123), 0.06, 20), {"model_name": "baseline"}, unit="s"
    )
    opt = BenchmarkResult(
        "latency", rng.lognormal(math.log(0.0041), 0.07, 20), {"model_name": "optimized"}, unit="s"
    )
    return base, opt


def test_comparison_str_matches_the_seed_pattern():
    base, opt = _pair()
    c = Comparison.from_results(base, opt, rng=0)
    s = str(c)
    assert re.fullmatch(
        r"baseline: \d+\.\d ms ± \d\.\d ms, optimized: \d\.\d+ ms ± \d\.\d+ ms "
        r"\(\d+% reduction, 95% CI \[\d+%, \d+%\], p < 0\.001\)",
        s,
    ), s
    assert c.verdict == "improvement"
    lo_pct, hi_pct = (int(v) for v in re.search(r"CI \[(\d+)%, (\d+)%\]", s).groups())
    red = int(re.search(r"\((\d+)% reduction", s).group(1))
    assert lo_pct <= red <= hi_pct
    assert lo_pct == round(100 * (1 - c.comparison.ci_high))
    assert c.comparison.ratio == pytest.approx(opt.median / base.median)


def test_comparison_increase_and_names():
    base, opt = _pair(1)
    c = Comparison.from_results(opt, base, baseline_name="new", candidate_name="old", ci_method="log-t")
    assert re.fullmatch(r"new: .* old: .* \(\d+% increase, 95% CI \[\d+%, \d+%\], p < 0\.001\)", str(c))
    assert c.verdict == "regression"
    plain = Comparison.from_results(
        BenchmarkResult("latency", [1.0, 1.1]), BenchmarkResult("latency", [1.0, 1.2]), ci_method="log-t"
    )
    assert str(plain).startswith("baseline: 1.05 ± 0.07071, candidate: 1.1 ± 0.1414 (")


def test_comparison_direction_from_result():
    a = BenchmarkResult("throughput", [100.0, 101, 99, 100], unit="samples/s", lower_is_better=False)
    b = BenchmarkResult("throughput", [120.0, 121, 119, 120], unit="samples/s", lower_is_better=False)
    c = Comparison.from_results(a, b, ci_method="log-t")
    assert c.comparison.lower_is_better is False and c.verdict == "improvement"
    assert "20% increase" in str(c)


def test_comparison_single_values():
    with pytest.warns(SmallSampleWarning):
        a = BenchmarkResult("accuracy", [0.9], unit="fraction", lower_is_better=False)
        b = BenchmarkResult("accuracy", [0.95], unit="fraction", lower_is_better=False)
        c = Comparison.from_results(a, b)
    assert c.verdict == "inconclusive"
    assert str(c) == "baseline: 90.0 % ± 0.0 %, candidate: 95.0 % ± 0.0 % (6% increase, p = n/a)"
    json.dumps(c.to_dict(), allow_nan=False)


def test_comparison_validation_and_immutability():
    base, opt = _pair()
    with pytest.raises(InvalidParameterError, match=r"same metric and unit; got 'latency' \[s\] and 'memory' \[B\]"):
        Comparison.from_results(base, BenchmarkResult("memory", [1.0, 2.0], unit="B"))
    with pytest.raises(InvalidParameterError, match=r"`candidate` must be a BenchmarkResult; got list"):
        Comparison.from_results(base, [1.0, 2.0])
    with pytest.raises(InvalidParameterError, match=r"`baseline` must be a BenchmarkResult; got dict"):
        Comparison({}, opt, None)
    with pytest.raises(InvalidParameterError, match=r"`comparison` must be a SampleComparison"):
        Comparison(base, opt, None)
    c = Comparison.from_results(base, opt, ci_method="log-t")
    with pytest.raises(AttributeError, match=r"Comparison is immutable"):
        c.baseline = opt
    d = json.loads(json.dumps(c.to_dict(), allow_nan=False))
    assert BenchmarkResult.from_dict(d["baseline"]) == base
    assert stats.SampleComparison.from_dict(d["comparison"]) == c.comparison
    assert "verdict='improvement'" in repr(c)


def test_median_ci_coverage_is_recorded():
    assert BenchmarkResult("latency", [1.0, 2.0, 3.0]).median_ci_coverage == pytest.approx(0.75)
    assert BenchmarkResult("latency", np.linspace(1, 2, 20)).median_ci_coverage >= 0.95
    assert BenchmarkResult("size", [5.0, 5.0]).median_ci_coverage == 1.0
    r = BenchmarkResult("latency", [1.0, 2.0, 3.0])
    assert BenchmarkResult.from_dict(json.loads(json.dumps(r.to_dict()))).median_ci_coverage == 0.75


def test_values_impossible_for_their_unit_are_rejected():
    with pytest.raises(InvalidParameterError, match=r"cannot be negative; values\[1\] is"):
        BenchmarkResult("latency", [1e-3, -2e-3], unit="s")
    with pytest.raises(InvalidParameterError, match="Divide by 100"):
        BenchmarkResult("accuracy", [0.9, 95.0], unit="fraction", lower_is_better=False)
    with pytest.raises(InvalidParameterError, match="cannot be negative"):
        BenchmarkResult("memory", [-5.0, 3.0], unit="B")
    assert BenchmarkResult("delta", [-1.0, 2.0]).count == 2  # no unit: no range to check


def test_replicate_groups_split_by_process_and_ignore_bad_metadata():
    vals = [1.0, 2.0, 3.0, 4.0, 5.0]
    r = BenchmarkResult("latency", vals, {"replicate_sizes": [2, 3]})
    assert r.replicate_groups() == [[1.0, 2.0], [3.0, 4.0, 5.0]]
    for bad in (None, [5], [2, 2], [0, 5], ["x", 3], 7):
        assert BenchmarkResult("latency", vals, {"replicate_sizes": bad}).replicate_groups() is None
