"""Matplotlib figures for benchmark results; every function returns a ``Figure``.

Figures are built with :class:`matplotlib.figure.Figure` directly (no
``pyplot``): nothing opens a window, nothing calls ``show()``, no global figure
registry grows, and the Agg renderer is used for raster output. Matplotlib
is imported only inside these functions.

Every figure is readable in grayscale: models differ by marker shape and
line style, and Pareto status by marker fill (filled: on the frontier;
half-filled: statistically tied, i.e. dominated on the point estimates but
not with confidence; hollow: dominated with confidence), not only by colour.
Figures are drawn under fixed rcParams (:func:`plot_style`: DejaVu Sans
9 pt, 100 dpi, fixed SVG hash salt) so the same data gives the same pixels.

Readable at any spread: an axis whose positive data span more than
:data:`LOG_SPAN` (20x) is drawn on a log scale and its label says
``log scale``; point labels are placed by a greedy label-repulsion step
(candidate offsets on rings around the point, the first that overlaps no
other label, marker or legend and stays inside the axes, joined to its point
by a leader line when it had to move away); long names are shortened with
:func:`torchperf.text.display_names` and spelt out in a key under the
figure; the footer (notes, models left out and why, provenance) is wrapped to
the figure width and space for it is reserved in the layout, so it never
overlaps the axes.
"""

from __future__ import annotations

import contextlib
import io
import math
import textwrap
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from torchperf.errors import InvalidParameterError
from torchperf.fileio import atomic_write_bytes
from torchperf.metrics import Direction, lookup_metric
from torchperf.pareto import Estimate, estimate, pareto_front
from torchperf.text import display_name, display_names, escape_text

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = [
    "LOG_SPAN",
    "MARKERS",
    "plot_latency_distribution",
    "plot_metric_bars",
    "plot_pareto",
    "plot_pareto_history",
    "plot_style",
    "save_figure",
]

#: An axis whose positive values span more than this ratio (largest / smallest) is drawn on a log scale.
LOG_SPAN = 20.0
#: Longest point label in a scatter; longer names are shortened and spelt out in a key.
_LABEL_MAX = 18
_FOOTER_PT = 6.5

#: Marker per model (cycled), so models stay distinguishable without colour.
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*", "<", ">", "h", "p")
_LINESTYLES = ("-", "--", "-.", ":", (0, (5, 1)), (0, (3, 1, 1, 1, 1, 1)))
_HATCHES = ("", "//", "\\\\", "xx", "..", "++", "oo", "--", "||", "**")
# Okabe-Ito colour-blind-safe palette (also distinct in luminance for most pairs)
_COLORS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442")

_RC: dict[str, Any] = {
    "font.family": "DejaVu Sans",
    "font.size": 9.0,
    "axes.titlesize": 10.0,
    "axes.labelsize": 9.0,
    "legend.fontsize": 8.0,
    "xtick.labelsize": 8.0,
    "ytick.labelsize": 8.0,
    "figure.dpi": 100.0,
    "savefig.dpi": 100.0,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "svg.hashsalt": "torchperf",
    "svg.fonttype": "path",
    "pdf.fonttype": 42,
    "path.simplify": False,
    "text.hinting": "default",
    "axes.unicode_minus": False,
}


@contextlib.contextmanager
def plot_style() -> Iterator[None]:
    """Context manager applying torchperf's fixed, deterministic matplotlib style.

    Starts from matplotlib's default style (ignoring the user's matplotlibrc)
    and sets the font (DejaVu Sans, shipped with matplotlib), sizes, dpi and
    the SVG hash salt, so that output is reproducible. The user's rcParams are
    restored on exit.
    """
    import matplotlib
    import matplotlib.style

    with matplotlib.style.context("default"), matplotlib.rc_context(_RC):
        yield


def _new_figure(figsize: tuple[float, float], nrows: int = 1, ncols: int = 1, **kw: Any) -> tuple[Figure, Any]:
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize, layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False, **kw)
    return fig, axes


# --------------------------------------------------------------------------- units


def _scale(metric: str, unit: str, values: Sequence[float]) -> tuple[float, str]:
    """Factor to multiply values by, and the unit label to show."""
    finite = [abs(v) for v in values if math.isfinite(v)]
    top = max(finite) if finite else 0.0
    if unit == "s":
        for factor, label in ((1.0, "s"), (1e3, "ms"), (1e6, "µs"), (1e9, "ns")):
            if top * factor >= 1.0 or label == "ns":
                return factor, label
    if unit in ("B", "bytes"):
        for factor, label in ((1e-9, "GB"), (1e-6, "MB"), (1e-3, "kB"), (1.0, "B")):
            if top * factor >= 1.0 or label == "B":
                return factor, label
    if metric.startswith("accuracy") and unit in ("", "fraction", "1") and top <= 1.0:
        return 100.0, "%"
    return 1.0, unit


def _axis_label(metric: str, unit_label: str, direction: str) -> str:
    better = Direction.parse(direction).words
    unit_txt = f" ({escape_text(unit_label)})" if unit_label else ""
    return f"{display_name(metric)}{unit_txt}, {better}"


def _wants_log(values: Sequence[float]) -> bool:
    """Log axis when the positive, finite values span more than :data:`LOG_SPAN`."""
    pos = [v for v in values if math.isfinite(v) and v > 0]
    return bool(pos) and max(pos) / min(pos) > LOG_SPAN


def _log_label(label: str) -> str:
    return f"{label}, log scale"


def _footer_text(fig: Figure, provenance: str | Mapping[str, Any] | None, notes: Sequence[str] = ()) -> str:
    parts = []
    if isinstance(provenance, Mapping):
        parts.append(", ".join(f"{k}={v}" for k, v in provenance.items()))
    elif provenance:
        parts.append(str(provenance))
    parts = [display_name(p, 300) for p in parts]  # user strings: escaped and bounded
    lines = [n for n in notes if n] + [p for p in parts if p]
    # DejaVu Sans at 6.5 pt averages under 0.6 em per character: wrap to the figure's width
    width_chars = max(40, int(fig.get_figwidth() * 72 / (_FOOTER_PT * 0.62)))
    return "\n".join(w for line in lines for w in textwrap.wrap(line, width_chars))


def _add_provenance(
    fig: Figure, provenance: str | Mapping[str, Any] | None, extra: str = "", *, notes: Sequence[str] = ()
) -> None:
    """Write the footer (notes, then provenance) and reserve its height in the layout."""
    text = _footer_text(fig, provenance, [extra, *notes] if extra else notes)
    if not text:
        return
    n_lines = text.count("\n") + 1
    height_in = (n_lines * _FOOTER_PT * 1.25 + 6) / 72
    frac = min(0.45, height_in / fig.get_figheight())
    fig.text(0.005, 0.004, text, fontsize=_FOOTER_PT, color="0.35", ha="left", va="bottom")
    engine = fig.get_layout_engine()
    if engine is not None and hasattr(engine, "set"):
        engine.set(rect=(0.0, frac, 1.0, 1.0 - frac))
    else:  # pragma: no cover - figures here always use constrained layout
        fig.subplots_adjust(bottom=frac + 0.08)


def _renderer(fig: Figure) -> Any:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    if not isinstance(fig.canvas, FigureCanvasAgg):
        FigureCanvasAgg(fig)
    return fig.canvas.get_renderer()


def _freeze_layout(fig: Figure) -> Any:
    """Run the layout once and keep the axes where it put them; return the renderer."""
    renderer = _renderer(fig)
    fig.draw_without_rendering()
    fig.set_layout_engine("none")
    return renderer


def _overlap(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> float:
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    return w * h if w > 0 and h > 0 else 0.0


_ANGLES = (45, 0, 90, 315, 135, 180, 270, 225, 22, 68, 112, 158, 202, 248, 292, 338)
_RADII = (7, 16, 28, 42, 60, 82, 108, 140)


def _place_labels(fig: Figure, ax: Axes, points: Sequence[tuple[str, float, float]], *, fontsize: float = 8) -> list[Any]:
    """Label points without overlaps: greedy label repulsion with leader lines.

    ``points`` are ``(label, x, y)`` in data coordinates. The layout must be
    frozen (:func:`_freeze_layout`). Each label takes the first candidate
    offset, nearest first, whose box stays inside the axes and overlaps no
    marker, no label placed before and no legend; if none is free, the one
    with the least overlap. A label moved beyond the first ring gets a leader
    line to its point.
    """
    renderer = _renderer(fig)
    dpi = fig.dpi
    box = ax.get_window_extent(renderer)
    axes_box = (box.x0 + 2, box.y0 + 2, box.x1 - 2, box.y1 - 2)
    pix = [tuple(ax.transData.transform((x, y))) for _, x, y in points]
    obstacles: list[tuple[float, float, float, float]] = [
        (px - 7, py - 7, px + 7, py + 7) for px, py in pix if math.isfinite(px) and math.isfinite(py)
    ]
    for leg in [ax.get_legend(), *fig.legends]:
        if leg is not None:
            b = leg.get_window_extent(renderer)
            obstacles.append((b.x0, b.y0, b.x1, b.y1))
    probe = ax.text(0, 0, "", fontsize=fontsize)
    placed = []
    # crowded points first: they have the fewest free places
    order = sorted(range(len(points)), key=lambda i: -sum(
        1 for j in range(len(points)) if abs(pix[i][0] - pix[j][0]) < 60 and abs(pix[i][1] - pix[j][1]) < 30
    ))
    for i in order:
        label, x, y = points[i]
        px, py = pix[i]
        if not (math.isfinite(px) and math.isfinite(py)):
            continue
        probe.set_text(label)
        tb = probe.get_window_extent(renderer)
        w, h = tb.width, tb.height
        best = None
        for r in _RADII:
            for ang in _ANGLES:
                dx, dy = r * math.cos(math.radians(ang)), r * math.sin(math.radians(ang))
                ha = "left" if dx > 1 else ("right" if dx < -1 else "center")
                va = "bottom" if dy > 1 else ("top" if dy < -1 else "center")
                x0 = px + dx - (0 if ha == "left" else (w if ha == "right" else w / 2))
                y0 = py + dy - (0 if va == "bottom" else (h if va == "top" else h / 2))
                cand = (x0, y0, x0 + w, y0 + h)
                inside = (cand[0] >= axes_box[0] and cand[1] >= axes_box[1]
                          and cand[2] <= axes_box[2] and cand[3] <= axes_box[3])
                cost = sum(_overlap(cand, o) for o in obstacles) + (0.0 if inside else 1e9) + r * 1e-3
                if best is None or cost < best[0]:
                    best = (cost, dx, dy, ha, va, cand, r)
                if cost < 1:
                    break
            if best is not None and best[0] < 1:
                break
        assert best is not None
        _, dx, dy, ha, va, cand, r = best
        arrow = {"arrowstyle": "-", "color": "0.45", "linewidth": 0.6, "shrinkA": 0, "shrinkB": 3} if r > _RADII[0] else None
        ann = ax.annotate(
            label, (x, y), xytext=(dx * 72 / dpi, dy * 72 / dpi), textcoords="offset points",
            ha=ha, va=va, fontsize=fontsize, zorder=4, arrowprops=arrow, annotation_clip=False,
        )
        obstacles.append(cand)
        placed.append(ann)
    probe.remove()
    return placed


def _label_key(names: Sequence[str]) -> tuple[dict[str, str], str]:
    """Short labels for ``names`` and the key line that spells out the shortened ones."""
    short = display_names(names, _LABEL_MAX)
    full = {n: display_name(n, 120) for n in names}
    key = [f"{short[n]} = {full[n]}" for n in names if short[n] != full[n]]
    return short, ("labels: " + "; ".join(key)) if key else ""


# --------------------------------------------------------------------------- Pareto


def _xy_table(data: Mapping[str, Any], x_metric: str, y_metric: str) -> dict[str, tuple[Any, Any]]:
    if not isinstance(data, Mapping) or not data:
        raise InvalidParameterError(
            "Pareto plot data must be a non-empty results container {metric: {model: result}} "
            f"or a dict {{model: (x, y)}}; got {type(data).__name__}."
        )
    if all(isinstance(v, Mapping) for v in data.values()):
        missing = [m for m in (x_metric, y_metric) if m not in data]
        if missing:
            raise InvalidParameterError(
                f"metrics {missing} have no results; available: {sorted(data)}."
            )
        xs, ys = data[x_metric], data[y_metric]
        return {str(m): (xs[m], ys[m]) for m in xs if m in ys}
    table = {}
    for m, v in data.items():
        if isinstance(v, (str, bytes)) or not isinstance(v, Sequence) or len(v) != 2:
            raise InvalidParameterError(
                f"each model needs an (x, y) pair; {m!r} has {v!r}."
            )
        table[str(m)] = (v[0], v[1])
    return table


def _missing_note(data: Mapping[str, Any], x_metric: str, y_metric: str) -> str:
    """``"not shown: a, b (no accuracy)"`` for models that have only one of the two metrics."""
    if not (isinstance(data, Mapping) and data and all(isinstance(v, Mapping) for v in data.values())):
        return ""
    xs, ys = data.get(x_metric, {}), data.get(y_metric, {})
    parts = []
    for have, lack in ((xs, y_metric), (ys, x_metric)):
        other = ys if have is xs else xs
        gone = [str(m) for m in have if m not in other]
        if gone:
            names = ", ".join(display_name(m) for m in gone)
            parts.append(f"{names} (no {display_name(lack)})")
    return ("not shown: " + "; ".join(parts)) if parts else ""


def _draw_pareto(
    ax: Axes,
    table: Mapping[str, tuple[Any, Any]],
    x_metric: str,
    y_metric: str,
    *,
    directions: Any,
    statistic: str,
    confidence_level: float,
    style_index: Mapping[str, int],
    scales: tuple[tuple[float, str], tuple[float, str]] | None,
    log: tuple[bool, bool] | None = None,
    labels: Mapping[str, str] | None = None,
) -> tuple[Any, tuple[tuple[float, str], tuple[float, str]], list[tuple[str, float, float]]]:
    pr = pareto_front(
        table,
        directions,
        objectives=(x_metric, y_metric),
        statistic=statistic,
        confidence_level=confidence_level,
    )
    ex = {m: pr.estimates[m][0] for m in pr.names}
    ey = {m: pr.estimates[m][1] for m in pr.names}
    if scales is None:
        scales = (
            _scale(x_metric, _unit(ex, x_metric), [v for e in ex.values() for v in (e.ci_low, e.ci_high)]),
            _scale(y_metric, _unit(ey, y_metric), [v for e in ey.values() for v in (e.ci_low, e.ci_high)]),
        )
    (fx, ux), (fy, uy) = scales
    if log is None:
        log = (
            _wants_log([v for e in ex.values() for v in (e.value, e.ci_low, e.ci_high)]),
            _wants_log([v for e in ey.values() for v in (e.value, e.ci_low, e.ci_high)]),
        )
    points: list[tuple[str, float, float]] = []
    for m in pr.names:
        i = style_index.get(m, 0)
        color = _COLORS[i % len(_COLORS)]
        status = pr.status(m)
        x, y = ex[m].value * fx, ey[m].value * fy
        # max(0, ...): matplotlib rejects negative error bars, and a bound can sit a
        # rounding error on the wrong side of the point (a 100 % accuracy's Wilson bound).
        # on a log axis a bound at or below zero cannot be drawn: the bar stops at x / 1000
        x_lo = max(ex[m].ci_low * fx, x / 1000) if log[0] else ex[m].ci_low * fx
        y_lo = max(ey[m].ci_low * fy, y / 1000) if log[1] else ey[m].ci_low * fy
        xerr = [[max(0.0, x - x_lo)], [max(0.0, ex[m].ci_high * fx - x)]]
        yerr = [[max(0.0, y - y_lo)], [max(0.0, ey[m].ci_high * fy - y)]]
        ax.errorbar(
            [x], [y], xerr=xerr, yerr=yerr,
            fmt=MARKERS[i % len(MARKERS)], color=color, ecolor=color, elinewidth=1.0, capsize=3,
            markersize=8, markeredgecolor="black", markeredgewidth=1.0,
            markerfacecolor=color if status != "dominated" else "white",
            fillstyle={"frontier": "full", "tied": "left", "dominated": "none"}[status],
            markerfacecoloralt="white", zorder=3,
        )
        points.append(((labels or {}).get(m, display_name(m)), x, y))
    front = sorted(pr.members, key=lambda m: ex[m].value)
    if front:
        ax.plot(
            [ex[m].value * fx for m in front], [ey[m].value * fy for m in front],
            drawstyle="steps-post" if pr.directions[0] == "min" else "steps-pre",
            color="black", linestyle="--", linewidth=1.2, zorder=2,
        )
    xlabel = _axis_label(x_metric, ux, pr.directions[0])
    ylabel = _axis_label(y_metric, uy, pr.directions[1])
    if log[0]:
        ax.set_xscale("log")
        xlabel = _log_label(xlabel)
    if log[1]:
        ax.set_yscale("log")
        ylabel = _log_label(ylabel)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.margins(0.12)
    return pr, scales, points


def _unit(est: Mapping[str, Estimate], metric: str = "") -> str:
    units = {e.unit for e in est.values() if e.unit}
    if len(units) == 1:
        return units.pop()
    if not units:  # plain numbers: torchperf's SI base unit for the metric
        known = lookup_metric(metric)
        if known is not None and known.unit != "fraction":
            return known.unit
    return ""


def _ci_words(confidence_level: float, estimates: Any = ()) -> str:
    """``"95% CI"``, or ``"95% CI (75% at small n)"`` when some interval reaches less."""
    covs = [getattr(e, "coverage", None) for e in estimates]
    covs = [c for c in covs if c is not None]
    if covs:
        return f"{confidence_level:.0%} CI ({min(covs):.0%} at small n)"
    return f"{confidence_level:.0%} CI"


def _pareto_estimates(pr: Any) -> list[Any]:
    return [e for m in pr.names for e in pr.estimates[m]]


def _status_legend(
    ax: Axes, confidence_level: float, statistic: str, estimates: Any = ()
) -> None:
    from matplotlib.lines import Line2D

    kw = {"color": "0.3", "marker": "o", "linestyle": "none", "markersize": 7, "markeredgecolor": "black"}
    handles = [
        Line2D([], [], color="black", linestyle="--", label="Pareto frontier"),
        Line2D([], [], fillstyle="full", label="on the frontier", **kw),
        Line2D([], [], fillstyle="left", markerfacecoloralt="white",
               label="tied: dominated, not significantly", **kw),
        Line2D([], [], fillstyle="none", label="dominated with confidence", **kw),
    ]
    # outside the axes, so it covers no point and no label
    ax.figure.legend(handles=handles, loc="outside right upper", framealpha=0.85, fontsize=7,
                     title=f"points: {statistic}s\nbars: {_ci_words(confidence_level, estimates)}",
                     title_fontsize=7)


def plot_pareto(
    data: Mapping[str, Any],
    x_metric: str = "latency",
    y_metric: str = "accuracy",
    *,
    directions: Sequence[str] | Mapping[str, str] | None = None,
    statistic: str = "median",
    confidence_level: float = 0.95,
    title: str | None = None,
    provenance: str | Mapping[str, Any] | None = None,
    figsize: tuple[float, float] = (6.4, 4.8),
) -> Figure:
    """Scatter two metrics with confidence intervals in both directions and the frontier.

    Parameters
    ----------
    data : dict
        A results container ``{metric: {model: BenchmarkResult}}`` or
        ``{model: (x, y)}`` with results or numbers.
    x_metric, y_metric : str
        Metrics on the axes (also used to infer their directions).
    directions : sequence or dict, optional
        Override of the directions; see :func:`torchperf.pareto.pareto_front`.
    statistic : {"mean", "median"}
        Point plotted; error bars are its confidence interval.
    confidence_level : float
        Level of the error bars and of the tie judgement.
    title : str, optional
        Axes title (default ``"<y> vs <x>"``).
    provenance : str or dict, optional
        Environment/protocol line printed in the figure footer.
    figsize : tuple of float
        Size in inches.

    Returns
    -------
    matplotlib.figure.Figure
        Frontier members are filled markers joined by a dashed step line;
        statistically tied models are half-filled, confidently dominated ones
        hollow; each model is labelled with its name.

    """
    table = _xy_table(data, x_metric, y_metric)
    missing = _missing_note(data, x_metric, y_metric)
    with plot_style():
        fig, axes = _new_figure(figsize)
        ax = axes[0, 0]
        style_index = {m: i for i, m in enumerate(table)}
        short, key = _label_key(list(table))
        pr, _, points = _draw_pareto(
            ax, table, x_metric, y_metric, directions=directions, statistic=statistic,
            confidence_level=confidence_level, style_index=style_index, scales=None, labels=short,
        )
        ax.set_title(
            display_name(title, 120)
            if title is not None
            else f"{display_name(y_metric)} vs {display_name(x_metric)}"
        )
        _status_legend(ax, confidence_level, statistic, _pareto_estimates(pr))
        _add_provenance(fig, provenance, notes=[missing, key])
        _freeze_layout(fig)
        _place_labels(fig, ax, points)
    return fig


def plot_pareto_history(
    revisions: Sequence[tuple[str, Mapping[str, tuple[Any, Any]]]],
    *,
    x_metric: str = "latency",
    y_metric: str = "accuracy",
    directions: Sequence[str] | Mapping[str, str] | None = None,
    statistic: str = "median",
    confidence_level: float = 0.95,
    ncols: int = 3,
    provenance: str | Mapping[str, Any] | None = None,
    panel_size: tuple[float, float] = (3.6, 3.0),
) -> Figure:
    """Small multiples: one Pareto scatter per revision, on shared axes.

    Parameters
    ----------
    revisions : sequence of (str, dict)
        ``(label, {model: (x, y)})`` per panel, in display order; ``x``/``y``
        are results or numbers. A model keeps its marker in every panel.
    x_metric, y_metric : str
        Names of the two metrics (for labels and directions).
    directions : sequence or dict, optional
        Override of the directions.
    statistic : {"mean", "median"}
        Point plotted.
    confidence_level : float
        Level of the error bars.
    ncols : int
        Panels per row.
    provenance : str or dict, optional
        Footer line.
    panel_size : tuple of float
        Size of one panel in inches.

    Returns
    -------
    matplotlib.figure.Figure

    """
    if not revisions:
        raise InvalidParameterError("`revisions` is empty; pass at least one (label, {model: (x, y)}).")
    if not isinstance(ncols, int) or ncols < 1:
        raise InvalidParameterError(f"`ncols` must be a positive int; got {ncols!r}.")
    models: list[str] = []
    tables = []
    for item in revisions:
        if not (isinstance(item, Sequence) and len(item) == 2):
            raise InvalidParameterError(
                f"each revision must be a (label, {{model: (x, y)}}) pair; got {item!r}."
            )
        label, points = item
        t = _xy_table(points, x_metric, y_metric)
        tables.append((str(label), t))
        models.extend(m for m in t if m not in models)
    style_index = {m: i for i, m in enumerate(models)}
    # one scale for all panels
    ex: dict[str, Estimate] = {}
    ey: dict[str, Estimate] = {}
    for label, t in tables:
        for m, (x, y) in t.items():
            ex[f"{label}/{m}"] = estimate(x, statistic=statistic, confidence_level=confidence_level)
            ey[f"{label}/{m}"] = estimate(y, statistic=statistic, confidence_level=confidence_level)
    scales = (
        _scale(x_metric, _unit(ex, x_metric), [v for e in ex.values() for v in (e.ci_low, e.ci_high)]),
        _scale(y_metric, _unit(ey, y_metric), [v for e in ey.values() for v in (e.ci_low, e.ci_high)]),
    )
    log = (
        _wants_log([v for e in ex.values() for v in (e.value, e.ci_low, e.ci_high)]),
        _wants_log([v for e in ey.values() for v in (e.value, e.ci_low, e.ci_high)]),
    )
    short, key = _label_key(models)
    n = len(tables)
    ncols = min(ncols, n)
    nrows = math.ceil(n / ncols)
    with plot_style():
        fig, axes = _new_figure(
            (panel_size[0] * ncols, panel_size[1] * nrows + 0.3), nrows, ncols, sharex=True, sharey=True
        )
        all_estimates: list[Any] = []
        panel_points = []
        for k, (label, t) in enumerate(tables):
            ax = axes[k // ncols, k % ncols]
            pr, _, points = _draw_pareto(
                ax, t, x_metric, y_metric, directions=directions, statistic=statistic,
                confidence_level=confidence_level, style_index=style_index, scales=scales,
                log=log, labels=short,
            )
            panel_points.append((ax, points))
            all_estimates += _pareto_estimates(pr)
            ax.set_title(
                f"{display_name(label)}  (frontier: {len(pr.members)}/{len(pr.names)})", fontsize=9
            )
            if k % ncols:
                ax.set_ylabel("")
            if k + ncols < n:  # another panel below this one
                ax.set_xlabel("")
            else:
                ax.xaxis.set_tick_params(labelbottom=True)
        for k in range(n, nrows * ncols):
            axes[k // ncols, k % ncols].set_visible(False)
        _status_legend(axes[0, 0], confidence_level, statistic, all_estimates)
        _add_provenance(fig, provenance, notes=[key])
        _freeze_layout(fig)
        for ax, points in panel_points:
            _place_labels(fig, ax, points, fontsize=7)
    return fig


# --------------------------------------------------------------------------- bars


def plot_metric_bars(
    results: Mapping[str, Mapping[str, Any]],
    metrics: Sequence[str] | None = None,
    *,
    statistic: str = "median",
    confidence_level: float = 0.95,
    provenance: str | Mapping[str, Any] | None = None,
) -> Figure:
    """One horizontal bar chart per metric with confidence-interval error bars.

    Parameters
    ----------
    results : dict
        ``{metric: {model: BenchmarkResult or number}}``.
    metrics : sequence of str, optional
        Metrics to draw (default: all, in order).
    statistic : {"mean", "median"}
        Bar length.
    confidence_level : float
        Level of the error bars.
    provenance : str or dict, optional
        Footer line.

    Returns
    -------
    matplotlib.figure.Figure
        Bars are hatched per model (readable without colour) and each axis
        says whether lower or higher is better.

    """
    if not isinstance(results, Mapping) or not all(isinstance(v, Mapping) for v in results.values()):
        raise InvalidParameterError(
            "`results` must be a results container {metric: {model: result}}; "
            f"got {type(results).__name__}."
        )
    chosen = [m for m in (metrics if metrics is not None else list(results)) if results.get(m)]
    unknown = [m for m in (metrics or []) if m not in results]
    if unknown:
        raise InvalidParameterError(f"metrics {unknown} have no results; available: {sorted(results)}.")
    if not chosen:
        raise InvalidParameterError("no metric has any result to plot.")
    models: list[str] = []
    for m in chosen:
        models.extend(str(k) for k in results[m] if str(k) not in models)
    style_index = {m: i for i, m in enumerate(models)}
    notes: list[str] = []
    with plot_style():
        fig, axes = _new_figure((6.4, 0.45 * len(models) * len(chosen) + 1.1 * len(chosen) + 0.4), len(chosen), 1)
        for row, metric in enumerate(chosen):
            ax = axes[row, 0]
            est = {
                str(k): estimate(v, statistic=statistic, confidence_level=confidence_level)
                for k, v in results[metric].items()
            }
            flags = {e.lower_is_better for e in est.values()} - {None}
            known = lookup_metric(metric)
            direction = (
                Direction.from_flag(flags.pop()).sense if len(flags) == 1
                else (known.direction.sense if known is not None else "min")
            )
            factor, unit_label = _scale(metric, _unit(est, metric), [e.ci_high for e in est.values()])
            log = _wants_log([v for e in est.values() for v in (e.value, e.ci_high)])
            names = list(est)
            ys = list(range(len(names)))
            for y, name in zip(ys, names, strict=True):
                e = est[name]
                i = style_index[name]
                lo = max(e.ci_low, e.value / 1000) if log else e.ci_low  # a log axis has no 0
                ax.barh(
                    y, e.value * factor,
                    xerr=[
                        [max(0.0, (e.value - lo) * factor)],
                        [max(0.0, (e.ci_high - e.value) * factor)],
                    ],
                    color=_COLORS[i % len(_COLORS)], alpha=0.75, edgecolor="black",
                    hatch=_HATCHES[i % len(_HATCHES)], capsize=4, error_kw={"elinewidth": 1.2},
                )
            ax.set_yticks(ys, [display_name(n) for n in names])
            ax.invert_yaxis()
            xlabel = _axis_label(metric, unit_label, direction)
            if log:
                ax.set_xscale("log")
                pos = [v * factor for e in est.values() for v in (e.value, e.ci_low) if v > 0 and math.isfinite(v)]
                ax.set_xlim(left=min(pos) / 2)
                xlabel = _log_label(xlabel)
            ax.set_xlabel(xlabel)
            ax.set_title(f"{metric} ({statistic}, {_ci_words(confidence_level, est.values())})")
            gone = [m for m in models if m not in est]
            if gone:
                notes.append(f"not shown in {display_name(metric)}: {', '.join(display_name(m) for m in gone)} (no result)")
        _add_provenance(fig, provenance, notes=notes)
    return fig


# --------------------------------------------------------------------------- distributions


def plot_latency_distribution(
    results: Mapping[str, Any],
    *,
    metric: str = "latency",
    kind: str = "ecdf",
    log_scale: bool | None = None,
    provenance: str | Mapping[str, Any] | None = None,
) -> Figure:
    """Distribution of every model's latency samples, with p50 and p99 marked.

    Parameters
    ----------
    results : dict
        ``{model: BenchmarkResult}`` or a results container (its ``metric``
        entry is used).
    metric : str
        Metric to take from a results container.
    kind : {"ecdf", "violin"}
        Empirical CDF (one step line per model, distinct line styles) or
        horizontal violins.
    log_scale : bool, optional
        Log x axis; default when the largest sample exceeds 20x the smallest.
    provenance : str or dict, optional
        Footer line.

    Returns
    -------
    matplotlib.figure.Figure
        p50 is marked with a circle and p99 with a triangle on each model.

    """
    import numpy as np

    if kind not in ("ecdf", "violin"):
        raise InvalidParameterError(f"`kind` must be 'ecdf' or 'violin'; got {kind!r}.")
    if isinstance(results, Mapping) and metric in results and isinstance(results[metric], Mapping):
        results = results[metric]
    if not isinstance(results, Mapping) or not results:
        raise InvalidParameterError(
            "`results` must be a non-empty {model: BenchmarkResult} or a results container "
            f"with a {metric!r} entry."
        )
    samples: dict[str, np.ndarray] = {}
    for name, r in results.items():
        vals = getattr(r, "values", None)
        if vals is None:
            raise InvalidParameterError(
                f"model {name!r}: a distribution needs a BenchmarkResult with `values`; got "
                f"{type(r).__name__}."
            )
        samples[str(name)] = np.asarray(vals, dtype=float)
    unit = _unit({m: estimate(r) for m, r in results.items()}, metric) or "s"
    everything = np.concatenate(list(samples.values()))
    factor, unit_label = _scale(metric, unit, [float(everything.max())])
    lo, hi = float(everything.min()), float(everything.max())
    if log_scale is None:
        log_scale = lo > 0 and hi / lo > 20
    with plot_style():
        fig, axes = _new_figure((6.4, max(3.2, 0.5 * len(samples) + 2.0)))
        ax = axes[0, 0]
        if kind == "ecdf":
            for i, (name, v) in enumerate(samples.items()):
                x = np.sort(v) * factor
                p = np.arange(1, x.size + 1) / x.size
                color = _COLORS[i % len(_COLORS)]
                ax.step(
                    np.concatenate([[x[0]], x]), np.concatenate([[0.0], p]), where="post",
                    color=color, linestyle=_LINESTYLES[i % len(_LINESTYLES)], linewidth=1.4,
                    label=f"{display_name(name)} (n={x.size})",
                )
                p50, p99 = np.percentile(v, [50, 99]) * factor
                ax.plot([p50], [0.5], marker="o", color=color, markeredgecolor="black", linestyle="none")
                ax.plot([p99], [0.99], marker="^", color=color, markeredgecolor="black", linestyle="none")
            ax.set_ylabel("fraction of samples ≤ x")
            ax.set_ylim(0, 1.02)
            ax.axhline(0.5, color="0.6", linewidth=0.6, linestyle=":")
            ax.axhline(0.99, color="0.6", linewidth=0.6, linestyle=":")
            # beside the axes: over them it would hide the curves of a dozen models
            fig.legend(loc="outside right upper", fontsize=7,
                       title="circle: p50, triangle: p99", title_fontsize=7)
        else:
            names = list(samples)
            data = [samples[n] * factor for n in names]
            pos = list(range(1, len(names) + 1))
            parts = ax.violinplot(data, positions=pos, orientation="horizontal", showextrema=False)
            for i, body in enumerate(parts["bodies"]):
                body.set_facecolor(_COLORS[i % len(_COLORS)])
                body.set_edgecolor("black")
                body.set_hatch(_HATCHES[i % len(_HATCHES)])
                body.set_alpha(0.6)
            for y, v in zip(pos, data, strict=True):
                p50, p99 = np.percentile(v, [50, 99])
                ax.plot([p50], [y], marker="o", color="white", markeredgecolor="black", linestyle="none", zorder=3)
                ax.plot([p99], [y], marker="^", color="black", linestyle="none", zorder=3)
            ax.set_yticks(pos, [display_name(n) for n in names])
            ax.invert_yaxis()
            ax.set_title("circle: p50, triangle: p99", fontsize=8)
        xlabel = _axis_label(metric, unit_label, "min")
        if log_scale:
            ax.set_xscale("log")
            xlabel = _log_label(xlabel)
        ax.set_xlabel(xlabel)
        fig.suptitle(f"{display_name(metric)} distribution")
        _add_provenance(fig, provenance)
    return fig


# --------------------------------------------------------------------------- saving


_KNOWN_SUFFIXES = (".png", ".svg", ".pdf")


def save_figure(
    fig: Figure,
    path_stem: str | Path,
    *,
    formats: Sequence[str] = ("png", "svg"),
    dpi: float = 100.0,
) -> list[Path]:
    """Write ``fig`` as ``<path_stem>.png`` and ``<path_stem>.svg`` atomically.

    Each format is rendered into memory, then written with
    :func:`torchperf.fileio.atomic_write_bytes`, so a reader never sees a
    half-written image. Rendering uses :func:`plot_style` and strips
    timestamps from the metadata, so identical figures give identical files.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        The figure.
    path_stem : str or Path
        Destination without extension (a trailing ``.png``/``.svg``/``.pdf``
        is dropped). Parent directories are created.
    formats : sequence of str
        Any of ``"png"``, ``"svg"``, ``"pdf"``.
    dpi : float
        Raster resolution.

    Returns
    -------
    list of pathlib.Path
        The files written, in ``formats`` order.

    """
    bad = [f for f in formats if f not in ("png", "svg", "pdf")]
    if bad or not formats:
        raise InvalidParameterError(
            f"`formats` must be a non-empty subset of ('png', 'svg', 'pdf'); got {list(formats)}."
        )
    stem = Path(path_stem)
    if stem.suffix.lower() in _KNOWN_SUFFIXES:
        stem = stem.with_suffix("")
    metadata = {
        "png": {"Software": None},
        "svg": {"Date": None, "Creator": None},
        "pdf": {"CreationDate": None, "ModDate": None, "Creator": None, "Producer": None},
    }
    written = []
    with plot_style():
        for fmt in formats:
            buf = io.BytesIO()
            fig.savefig(buf, format=fmt, dpi=dpi, metadata=metadata[fmt])
            written.append(atomic_write_bytes(Path(f"{stem}.{fmt}"), buf.getvalue()))
    return written
