"""Every figure stays readable at the zoo's real spread (issue 18 point 1).

The data are built here, without running the zoo, with the spread its report showed: latencies
from 10 us to 25 ms (six MLP variants within 10-16 us), accuracies 83-96 %, sizes 2 kB to
40 MB, one model without accuracy and one name too long for a label. Each figure is rendered
with the Agg renderer and the window extents of its texts are checked: point labels do not
overlap one another, no text leaves the figure, and the footer overlaps no axes.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

pytest.importorskip("matplotlib")

from matplotlib.text import Text

from torchperf import plots
from torchperf.errors import SmallSampleWarning
from torchperf.result import BenchmarkResult

LONG = "mlp-distilled-tiny-student-variant"
MEDIANS = {
    "mlp": 1.2e-5, "mlp-int8": 1.0e-5, "mlp-fp16": 1.4e-5, "mlp-pruned-50pct": 1.1e-5, LONG: 1.3e-5,
    "mlp-wide": 1.6e-5, "cnn-naive": 2.5e-2, "cnn-im2col": 3.0e-3, "attn-nocache": 8.0e-3,
    "attn-kvcache": 1.5e-3, "logreg": 2.0e-5, "gen-lm": 5e-3,
}  # fmt: skip
PROVENANCE = {
    "n": 10, "warmup": 5, "loops": 1, "timer": "perf_counter", "machine": "x86_64 shared CI runner",
    "python": "3.12.1", "numpy": "2.1.3", "blas": "openblas 0.3.27 (4 threads)", "commit": "0123456789abcdef",
}  # fmt: skip


def zoo_results():
    rng = np.random.default_rng(18)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SmallSampleWarning)
        lat = {m: BenchmarkResult("latency", list(v * rng.lognormal(0, 0.2, 10)), unit="s") for m, v in MEDIANS.items()}
        correct = [340, 338, 339, 335, 330, 341, 345, 345, 320, 320, 300]
        acc = {
            m: BenchmarkResult("accuracy", [k / 360], {"n_examples": 360, "n_correct": k},
                               unit="fraction", lower_is_better=False)
            for m, k in zip([m for m in MEDIANS if m != "gen-lm"], correct, strict=True)
        }  # gen-lm is a generation model: no accuracy
        size = {m: BenchmarkResult("size", [s], unit="B") for m, s in zip(MEDIANS, np.geomspace(2e3, 4e7, 12), strict=True)}
    return {"latency": lat, "accuracy": acc, "size": size}


def _box(bb):
    return (bb.x0, bb.y0, bb.x1, bb.y1)


def _overlap(a, b, tol=0.5):
    return min(a[2], b[2]) - max(a[0], b[0]) > tol and min(a[3], b[3]) - max(a[1], b[1]) > tol


def check_layout(fig):
    """Label boxes disjoint, every text inside the figure, footer clear of the axes."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    r = canvas.get_renderer()
    W, H = fig.bbox.width, fig.bbox.height
    labels = []
    for ax in fig.axes:
        if not ax.get_visible():
            continue
        labels += [_box(Text.get_window_extent(t, r)) for t in ax.texts if t.get_text()]
    for i, a in enumerate(labels):
        for b in labels[i + 1:]:
            assert not _overlap(a, b), f"point labels overlap: {a} {b}"
    # what is drawn: each axes with its ticks, labels, title and point labels; legends; footer
    drawn = [(f"axes {ax.get_title()!r}", _box(ax.get_tightbbox(r))) for ax in fig.axes if ax.get_visible()]
    drawn += [("legend", _box(leg.get_window_extent(r))) for leg in fig.legends]
    drawn += [(repr(t.get_text()[:30]), _box(t.get_window_extent(r))) for t in fig.texts if t.get_text()]
    drawn += [("point label", b) for b in labels]
    for what, (x0, y0, x1, y1) in drawn:
        assert x0 >= -0.5 and y0 >= -0.5 and x1 <= W + 0.5 and y1 <= H + 0.5, f"{what} leaves the figure"
    footer = [t for t in fig.texts if t.get_text() and t is not fig._suptitle]
    assert len(footer) == 1
    fb = _box(footer[0].get_window_extent(r))
    for ax in fig.axes:
        if ax.get_visible():
            assert not _overlap(fb, _box(ax.get_tightbbox(r))), "footer collides with an axes"
            for t in ax.texts:
                assert not _overlap(fb, _box(Text.get_window_extent(t, r)))
    for leg in fig.legends:
        lb = _box(leg.get_window_extent(r))
        assert not _overlap(fb, lb)
        for a in labels:
            assert not _overlap(a, lb), "a point label under the legend"
    return footer[0].get_text()


def test_pareto_at_zoo_spread_is_log_scaled_labelled_without_overlaps():
    fig = plots.plot_pareto(zoo_results(), provenance=PROVENANCE)
    ax = fig.axes[0]
    assert ax.get_xscale() == "log" and "log scale" in ax.get_xlabel()
    assert ax.get_yscale() == "linear" and "log scale" not in ax.get_ylabel()
    footer = check_layout(fig)
    assert "not shown: gen-lm (no accuracy)" in footer
    assert "= " + LONG in footer  # the shortened label is spelt out in the key
    shown = [t.get_text() for t in ax.texts]
    assert len(shown) == 11 and LONG not in shown and all(len(s) <= 27 for s in shown)
    # crowded labels moved away from their points carry a leader line
    assert any(t.arrow_patch is not None for t in ax.texts)


def test_pareto_on_a_narrow_spread_stays_linear():
    res = zoo_results()
    narrow = {m: {k: v for k, v in per.items() if k.startswith("mlp")} for m, per in res.items()}
    fig = plots.plot_pareto(narrow, provenance=PROVENANCE)
    assert fig.axes[0].get_xscale() == "linear" and "log" not in fig.axes[0].get_xlabel()
    check_layout(fig)


def test_metric_bars_at_zoo_spread():
    fig = plots.plot_metric_bars(zoo_results(), provenance=PROVENANCE)
    lat, acc, size = fig.axes
    assert lat.get_xscale() == "log" and "log scale" in lat.get_xlabel()
    assert size.get_xscale() == "log" and acc.get_xscale() == "linear"
    footer = check_layout(fig)
    assert "not shown in accuracy: gen-lm (no result)" in footer


@pytest.mark.parametrize("kind", ["ecdf", "violin"])
def test_latency_distribution_at_zoo_spread(kind):
    fig = plots.plot_latency_distribution(zoo_results(), kind=kind, provenance=PROVENANCE)
    assert fig.axes[0].get_xscale() == "log" and "log scale" in fig.axes[0].get_xlabel()
    check_layout(fig)


def test_pareto_history_at_zoo_spread():
    res = zoo_results()
    revs = [(f"rev{i}", {m: (res["latency"][m], res["accuracy"][m]) for m in list(res["accuracy"])[: 8 + i]})
            for i in range(4)]
    fig = plots.plot_pareto_history(revs, ncols=2, provenance=PROVENANCE)
    assert all(ax.get_xscale() == "log" for ax in fig.axes if ax.get_visible())
    footer = check_layout(fig)
    assert "= " + LONG in footer
