"""Tests for torchperf.plots: figures are saved, read back, and match a golden image.

Regenerate the golden image (only after an intended visual change, and look at it):

    python tests/test_plots.py --update-golden
"""

from __future__ import annotations

import subprocess
import sys
import warnings
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest

from torchperf import plots
from torchperf.errors import InvalidParameterError
from torchperf.result import BenchmarkResult

GOLDEN_DIR = Path(__file__).parent / "golden"
GOLDEN_PARETO = GOLDEN_DIR / "pareto_seed_example.png"
GOLDEN_TOL = 3.0  # RMS pixel difference (0-255) tolerated by compare_images


def result(metric, values, *, unit="", lower_is_better=True):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return BenchmarkResult(metric, list(values), unit=unit, lower_is_better=lower_is_better)


def seed_results():
    """The seed's A/B/C example plus a tied model T and a dominated model D (deterministic)."""
    spread = np.linspace(-1.0, 1.0, 10)
    lat = {"A": 0.010, "B": 0.015, "C": 0.012, "T": 0.0102, "D": 0.016}
    lat_sd = {"A": 3e-4, "B": 4e-4, "C": 3e-4, "T": 1.2e-3, "D": 2e-4}
    acc = {"A": 0.90, "B": 0.95, "C": 0.91, "T": 0.899, "D": 0.88}
    acc_sd = {"A": 0.004, "B": 0.003, "C": 0.004, "T": 0.012, "D": 0.002}
    return {
        "latency": {m: result("latency", lat[m] + lat_sd[m] * spread, unit="s") for m in lat},
        "accuracy": {
            m: result("accuracy", acc[m] + acc_sd[m] * spread, lower_is_better=False) for m in acc
        },
        "size": {m: result("size", [s], unit="B") for m, s in zip(lat, [4e6, 16e6, 8e6, 4e6, 2e6], strict=True)},
    }


def golden_figure():
    return plots.plot_pareto(
        seed_results(), provenance="golden test data: n=10 per model, synthetic"
    )


def read_png(path: Path) -> np.ndarray:
    import matplotlib.image as mpimg

    return mpimg.imread(path)


def read_svg(path: Path) -> ET.Element:
    root = ET.parse(path).getroot()
    assert root.tag.endswith("svg")
    return root


# ----------------------------------------------------------------------------- read back


def test_pareto_plot_saved_as_png_and_svg(tmp_path):
    fig = golden_figure()
    paths = plots.save_figure(fig, tmp_path / "sub" / "pareto")
    assert [p.name for p in paths] == ["pareto.png", "pareto.svg"]
    img = read_png(paths[0])
    assert img.shape[:2] == (480, 640)  # 6.4 x 4.8 in at 100 dpi
    assert paths[0].stat().st_size > 10_000
    assert img[..., :3].std() > 0.05  # not blank
    svg_text = paths[1].read_text()
    read_svg(paths[1])
    # matplotlib writes every text as a comment next to its glyph paths
    for name in ("A", "B", "C", "T", "D"):
        assert f"<!-- {name} -->" in svg_text
    assert "lower is better" in svg_text and "higher is better" in svg_text
    assert not list(tmp_path.rglob("*.tmp"))  # atomic writes leave no temporaries


def test_pareto_markers_encode_status_without_colour():
    fig = golden_figure()
    ax = fig.axes[0]
    fills = {}
    markers = {}
    for line in ax.lines:
        xs = line.get_xdata()
        if len(xs) == 1 and line.get_marker() not in (None, "None", "", "_", "|"):
            fills[len(fills)] = line.get_fillstyle()
            markers[len(markers)] = line.get_marker()
    # 5 models: distinct marker shapes, and all three fill styles present
    assert len(set(markers.values())) == 5
    assert set(fills.values()) == {"full", "left", "none"}
    # frontier drawn as a dashed step line through the members
    steps = [ln for ln in ax.lines if ln.get_drawstyle() == "steps-post"]
    assert len(steps) == 1 and steps[0].get_linestyle() == "--"
    assert len(steps[0].get_xdata()) == 3  # A, C, B
    labels = {t.get_text() for t in ax.texts}
    assert {"A", "B", "C", "T", "D"} <= labels


def test_pareto_plot_accepts_model_pairs_and_plain_numbers(tmp_path):
    fig = plots.plot_pareto(
        {"A": (10e-3, 0.90), "B": (15e-3, 0.95), "C": (12e-3, 0.91)}, title="seed example"
    )
    assert fig.axes[0].get_title() == "seed example"
    assert "ms" in fig.axes[0].get_xlabel() and "%" in fig.axes[0].get_ylabel()
    png, = plots.save_figure(fig, tmp_path / "seed.png", formats=("png",))
    assert png.name == "seed.png"
    with pytest.raises(InvalidParameterError, match=r"\(x, y\) pair"):
        plots.plot_pareto({"A": (1.0,)})
    with pytest.raises(InvalidParameterError, match="no results"):
        plots.plot_pareto(seed_results(), "latency", "memory")


def test_metric_bars_read_back(tmp_path):
    res = seed_results()
    fig = plots.plot_metric_bars(res, provenance={"machine": "test", "n": 10})
    assert len(fig.axes) == 3
    assert "ms" in fig.axes[0].get_xlabel() and "lower is better" in fig.axes[0].get_xlabel()
    assert "higher is better" in fig.axes[1].get_xlabel()
    hatches = {p.get_hatch() for p in fig.axes[0].patches}
    assert len(hatches) == 5  # one hatch per model: readable in grayscale
    png, svg = plots.save_figure(fig, tmp_path / "bars")
    w, h = fig.get_size_inches() * 100
    assert read_png(png).shape[:2] == (round(h), round(w))
    read_svg(svg)
    with pytest.raises(InvalidParameterError, match="no results"):
        plots.plot_metric_bars(res, ["latency", "energy"])


@pytest.mark.parametrize("kind", ["ecdf", "violin"])
def test_latency_distribution_marks_p50_and_p99(tmp_path, kind):
    res = seed_results()
    fig = plots.plot_latency_distribution(res, kind=kind)
    ax = fig.axes[0]
    p50 = [ln for ln in ax.lines if ln.get_marker() == "o"]
    p99 = [ln for ln in ax.lines if ln.get_marker() == "^"]
    assert len(p50) == len(p99) == 5
    a_vals = np.asarray(res["latency"]["A"].values) * 1e3  # plotted in ms
    got = sorted(float(ln.get_xdata()[0]) for ln in p50)
    assert any(np.isclose(g, np.percentile(a_vals, 50)) for g in got)
    png, svg = plots.save_figure(fig, tmp_path / f"dist_{kind}")
    assert read_png(png).shape[1] == 640
    read_svg(svg)


def test_latency_distribution_rejects_plain_numbers_and_bad_kind():
    with pytest.raises(InvalidParameterError, match="values"):
        plots.plot_latency_distribution({"a": 1.0})
    with pytest.raises(InvalidParameterError, match="kind"):
        plots.plot_latency_distribution(seed_results(), kind="box")


def test_pareto_history_small_multiples(tmp_path):
    res = seed_results()
    revs = [
        (f"rev{i}", {m: (res["latency"][m], res["accuracy"][m]) for m in list("ABCTD")[: i + 2]})
        for i in range(4)
    ]
    fig = plots.plot_pareto_history(revs, ncols=3)
    visible = [ax for ax in fig.axes if ax.get_visible()]
    assert len(visible) == 4 and len(fig.axes) == 6
    assert [ax.get_title().split()[0] for ax in visible] == ["rev0", "rev1", "rev2", "rev3"]
    # shared axes: every panel has the same limits
    assert len({ax.get_xlim() for ax in visible}) == 1
    # a model keeps its marker across panels
    def marker_of(ax, x_ms):
        for ln in ax.lines:
            if len(ln.get_xdata()) == 1 and np.isclose(ln.get_xdata()[0], x_ms):
                return ln.get_marker()
        return None

    assert {marker_of(ax, 10.0) for ax in visible} == {"o"}
    png, _ = plots.save_figure(fig, tmp_path / "history")
    assert read_png(png).shape[:2] == (630, 1080)
    with pytest.raises(InvalidParameterError, match="empty"):
        plots.plot_pareto_history([])
    with pytest.raises(InvalidParameterError, match="pair"):
        plots.plot_pareto_history([("only-label",)])


def test_save_figure_is_deterministic_and_validates(tmp_path):
    fig = golden_figure()
    a = plots.save_figure(fig, tmp_path / "one")
    b = plots.save_figure(fig, tmp_path / "two")
    for x, y in zip(a, b, strict=True):
        assert x.read_bytes() == y.read_bytes()
    with pytest.raises(InvalidParameterError, match="formats"):
        plots.save_figure(fig, tmp_path / "x", formats=("gif",))


# ----------------------------------------------------------------------------- golden


def test_pareto_plot_matches_golden_image(tmp_path):
    from matplotlib.testing.compare import compare_images

    assert GOLDEN_PARETO.exists(), "run `python tests/test_plots.py --update-golden`"
    (png,) = plots.save_figure(golden_figure(), tmp_path / "pareto", formats=("png",))
    diff = compare_images(str(GOLDEN_PARETO), str(png), tol=GOLDEN_TOL)
    assert diff is None, diff


# ----------------------------------------------------------------------------- hygiene


def test_no_show_no_pyplot_and_lazy_matplotlib():
    src = Path(plots.__file__).read_text()
    assert ".show(" not in src and "import matplotlib.pyplot" not in src
    code = (
        "import sys, torchperf.plots as p, torchperf.pareto, torchperf.leaderboard\n"
        "assert 'matplotlib' not in sys.modules, 'matplotlib imported eagerly'\n"
        "p.plot_pareto({'A': (1.0, 0.9), 'B': (2.0, 0.95)})\n"
        "assert 'matplotlib.pyplot' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)


def test_plot_style_restores_user_rcparams():
    import matplotlib

    with matplotlib.rc_context({"font.size": 17.0}):
        plots.plot_pareto({"A": (1.0, 0.9)}, directions=("min", "max"))
        assert matplotlib.rcParams["font.size"] == 17.0


if __name__ == "__main__":  # python tests/test_plots.py --update-golden
    if "--update-golden" in sys.argv:
        out = plots.save_figure(golden_figure(), GOLDEN_PARETO, formats=("png",))
        sys.stdout.write(f"wrote {out[0]}\n")


@pytest.mark.filterwarnings("ignore::torchperf.errors.SmallSampleWarning")  # n = 1 proportion
def test_pareto_plot_accepts_perfect_accuracy_and_labels_small_n_coverage():
    """Regression: a 100 % accuracy made matplotlib reject a negative error bar."""
    lat = {
        "a": result("latency", [1.0e-3, 1.1e-3, 1.2e-3], unit="s"),
        "b": result("latency", [2.0e-3, 2.1e-3, 2.2e-3], unit="s"),
    }
    acc = {
        name: BenchmarkResult(
            "accuracy", [k / 360], {"n_examples": 360, "n_correct": k},
            unit="fraction", lower_is_better=False,
        )
        for name, k in (("a", 360), ("b", 355))
    }
    fig = plots.plot_pareto({"latency": lat, "accuracy": acc})
    legend = fig.legends[0]  # outside the axes: it covers no point or label
    assert "75% at small n" in legend.get_title().get_text()
    fig = plots.plot_metric_bars({"accuracy": acc, "latency": lat})
    assert any("75% at small n" in ax.get_title() for ax in fig.axes)
