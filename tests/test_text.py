"""Display names (issue 15.4): escaped, bounded, stable and unique; full names stay in JSON."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from torchperf.result import BenchmarkResult
from torchperf.text import (
    DISPLAY_MAX_LENGTH,
    display_name,
    display_names,
    escape_text,
    name_digest,
    utf8_safe,
)

pytestmark = pytest.mark.reliability  # `pytest -m reliability` prints the trials/failures table

SETTINGS = settings(
    max_examples=300, deadline=None, database=None, derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)

HOSTILE = [
    "sur\ud800rogate",
    "\x1b[31mred\x1b[0m",
    "rtl\u202eevil",
    "nul\x00byte",
    "zero\u200bwidth",
    "line\u2028sep",
    "tab\tand\nnewline",
]


def _visible(label: str) -> bool:
    """Every character can be shown: printable (or a space) and encodable as UTF-8."""
    label.encode("utf-8")  # raises on a surrogate
    return all(ch == " " or ch.isprintable() for ch in label)


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_names_are_escaped_visibly(name):
    label = display_name(name)
    assert _visible(label)
    assert "\\" in label  # the escape is shown, not silently dropped
    assert escape_text("sur\ud800rogate") == "sur\\ud800rogate"
    assert escape_text("a\x1b[1m") == "a\\x1b[1m"
    assert escape_text("a\u202eb") == "a\\u202eb"
    assert escape_text("keep\nthis", keep="\n") == "keep\nthis"


@given(name=st.text(max_size=200))
@SETTINGS
def test_display_name_is_bounded_visible_and_stable(name, record_property):
    record_property("example", 1)  # one trial of the reliability table
    label = display_name(name)
    assert len(label) <= DISPLAY_MAX_LENGTH
    assert _visible(label)
    assert display_name(name) == label  # stable
    if len(name) <= DISPLAY_MAX_LENGTH and name.isprintable() and "\\" not in name:
        assert label == name  # ordinary names are shown unchanged
    if len(label) < len(name) or label != escape_text(name):
        assert label.endswith(name_digest(name))  # abbreviated with the full name's hash


@given(names=st.lists(st.text(min_size=0, max_size=80), max_size=12), shared_prefix=st.text(max_size=60))
@SETTINGS
def test_display_names_are_unique(names, shared_prefix, record_property):
    record_property("example", 1)  # one trial of the reliability table
    names = [shared_prefix * 3 + n for n in names]
    labels = display_names(names)
    assert set(labels) == set(names)
    assert len(set(labels.values())) == len(labels)
    assert all(len(v) <= DISPLAY_MAX_LENGTH + 9 and _visible(v) for v in labels.values())


def test_ten_megabyte_name_has_a_short_label():
    huge = "m" * 10_000_000
    label = display_name(huge)
    assert len(label) == DISPLAY_MAX_LENGTH and label.startswith("mmm")
    assert label != display_name(huge + "x")  # not merged with a name of the same prefix


def test_utf8_safe_escapes_only_surrogates():
    assert utf8_safe("ok é 日本") == "ok é 日本"
    assert utf8_safe("sur\ud800rogate") == "sur\\ud800rogate"


def _run_with(names: list[str]) -> dict:
    from torchperf.suite import run_to_jsonable

    rng = np.random.default_rng(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # one accuracy value: a degenerate CI, on purpose
        accuracy = {n: BenchmarkResult("accuracy", [0.9 - 0.01 * i], unit="") for i, n in enumerate(names)}
    results = {
        "latency": {
            n: BenchmarkResult("latency", rng.lognormal(-7, 0.1, 6), unit="s") for n in names
        },
        "accuracy": accuracy,
    }
    return run_to_jsonable(
        {"schema": "torchperf.run", "schema_version": 1, "environment": {"os": "x"},
         "protocol": {"baseline": names[0]}, "models": names, "results": results,
         "failures": {}, "not_applicable": {}, "warnings": [], "complete": True,
         "interrupted": False}
    )  # fmt: skip


@pytest.mark.timeout(600)
def test_reports_and_figures_of_hostile_and_huge_names(tmp_path):
    """A surrogate, control characters and a 10 MB name: every report and figure renders
    (matplotlib used to hang on a 100 kB tick label and raise TypeError on a surrogate);
    every drawn label is bounded; results.json keeps the full names."""
    from matplotlib.text import Text

    from torchperf import report
    from torchperf.suite import load_run

    huge = "h" * 10_000_000
    names = ["ok", huge, "sur\ud800rogate", "\x1b[31mred\u202e\x00"]
    run = _run_with(names)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        files = report.render_run(run, tmp_path)
        figures = report.standard_figures(report._display_run(load_run(tmp_path))["results"])
    saved = load_run(tmp_path)
    assert saved["models"] == names  # the JSON keeps every name whole
    assert json.loads((tmp_path / "results.json").read_text())["models"][1] == huge
    for name in ("report.md", "report.html"):
        text = files[name].read_text(encoding="utf-8")
        assert len(text) < 2_000_000, name  # not proportional to the 10 MB name
        assert "\x1b" not in text and "\u202e" not in text
        assert display_name(huge) in text
    assert figures
    for fig in figures.values():
        fig.canvas.draw()
        for t in fig.findobj(Text):
            label = t.get_text()
            # a figure's own line breaks (legend keys, wrapped footers) are layout, not name text
            assert len(label) <= 400 and _visible(label.replace("\n", " ")), label[:80]
    assert report.summary_table(saved).count(display_name(huge)) == 2
