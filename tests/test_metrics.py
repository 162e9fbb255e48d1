"""torchperf.metrics: each metric defined once, one encoding of direction, read everywhere."""

import ast
import json
import pathlib

import pytest

import torchperf
from torchperf.errors import InvalidParameterError
from torchperf.metrics import (
    HISTORY_METRICS,
    METRIC_NAMES,
    METRICS,
    Direction,
    Metric,
    get_metric,
    lookup_metric,
)

PKG = pathlib.Path(torchperf.__file__).parent


def test_table_is_the_documented_metrics_in_run_order():
    assert METRIC_NAMES == ("latency", "throughput", "accuracy", "memory", "size")
    assert all(isinstance(m, Metric) and m.name == k for k, m in METRICS.items())
    assert [m.unit for m in METRICS.values()] == ["s", "samples/s", "fraction", "B", "B"]
    assert [m.lower_is_better for m in METRICS.values()] == [True, False, False, True, True]
    assert HISTORY_METRICS["latency"] is METRICS["latency"]
    assert HISTORY_METRICS["error_rate"].direction is Direction.LOWER  # asv: accuracy as error rate
    with pytest.raises(TypeError):
        METRICS["latency"] = METRICS["size"]  # read-only
    with pytest.raises(AttributeError):
        METRICS["latency"].unit = "ms"  # frozen


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (True, Direction.LOWER), (False, Direction.HIGHER),
        ("min", Direction.LOWER), ("MAX", Direction.HIGHER), ("minimise", Direction.LOWER),
        ("lower_is_better", Direction.LOWER), ("higher_is_better", Direction.HIGHER),
        (Direction.HIGHER, Direction.HIGHER),
    ],
)
def test_every_spelling_of_direction_parses_to_the_one_encoding(value, expected):
    d = Direction.parse(value)
    assert d is expected
    assert Direction.parse(d.sense) is d and Direction.from_flag(d.lower_is_better) is d
    assert json.dumps(d) == f'"{d.value}"' and str(d) == d.value


@pytest.mark.parametrize("bad", ["up", "", None, 1, 0.0])
def test_unknown_direction_is_one_clear_error(bad):
    with pytest.raises(InvalidParameterError, match="must be 'min' or 'max'"):
        Direction.parse(bad, where="direction of 'x'")


def test_lookup_and_get():
    assert lookup_metric("latency_p90") is METRICS["latency"]
    assert lookup_metric("peak_memory") is None
    assert lookup_metric("peak_memory", HISTORY_METRICS) is HISTORY_METRICS["peak_memory"]
    assert get_metric("error_rate").unit == "fraction"
    with pytest.raises(InvalidParameterError, match="unknown metric 'speed'"):
        get_metric("speed")


def test_pareto_and_suite_read_the_table():
    from torchperf.pareto import DEFAULT_DIRECTIONS
    from torchperf.suite import METRICS as SUITE_METRICS

    assert SUITE_METRICS == METRIC_NAMES
    assert DEFAULT_DIRECTIONS == {m.name: m.direction.sense for m in METRICS.values()}


def _string_tuples(tree: ast.AST):
    for node in ast.walk(tree):
        if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
            vals = [e.value for e in node.elts if isinstance(e, ast.Constant) and isinstance(e.value, str)]
            if len(vals) == len(node.elts) and len(vals) >= 3:
                yield node.lineno, vals
        if isinstance(node, ast.Dict):
            keys = [k.value for k in node.keys if isinstance(k, ast.Constant) and isinstance(k.value, str)]
            if len(keys) == len(node.keys) and len(keys) >= 3:
                yield node.lineno, keys


def test_no_module_writes_out_the_metric_list_or_a_direction_table():
    """The metric list and the name -> direction/unit tables live only in metrics.py."""
    names = set(METRIC_NAMES)
    offenders = []
    for path in sorted(PKG.rglob("*.py")):
        if path.name == "metrics.py":
            continue
        for lineno, vals in _string_tuples(ast.parse(path.read_text(encoding="utf-8"))):
            if len(names.intersection(vals)) >= 3:
                offenders.append(f"{path.relative_to(PKG.parent)}:{lineno} {vals}")
    assert not offenders, offenders


def test_direction_literals_are_spelled_only_in_metrics():
    """`"lower_is_better" if flag else "higher_is_better"` and the like go through Direction."""
    offenders = []
    for path in sorted(PKG.rglob("*.py")):
        if path.name == "metrics.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.IfExp):
                consts = {
                    n.value for n in (node.body, node.orelse) if isinstance(n, ast.Constant)
                }
                if consts in ({"min", "max"}, {"lower_is_better", "higher_is_better"},
                              {"lower is better", "higher is better"}):
                    offenders.append(f"{path.relative_to(PKG.parent)}:{node.lineno}")
    assert not offenders, offenders
