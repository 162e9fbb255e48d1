"""Reports of a saved run: Markdown, self-contained HTML, JSON and CSV.

:func:`render_run` is the one entry point: given a run (a
:class:`torchperf.runfile.Run`: :func:`torchperf.suite.load_run`, a suite's
``to_run()``, or a path) and an output directory it writes

``report.md``
    Markdown report; images referenced by relative file name.
``report.html``
    One self-contained HTML file: inline CSS, every image embedded as a
    ``data:image/png;base64`` URI, no script, no external resource. A
    Content-Security-Policy forbids scripts and remote loads, so the file is
    safe to open from a CI artifact store even if a string slipped through.
``results.json``
    The run (:mod:`torchperf.runfile`, schema ``torchperf.run`` version 2, every sample and metadata).
``results.csv``
    One row per model x metric, n/a and failed pairs included with their
    reason (see :func:`torchperf.runfile.results_frame`).
``pareto.png`` / ``.svg``, ``metric_<name>.png`` / ``.svg``, ``latency_distribution.png`` / ``.svg``
    The figures (when matplotlib is available and the metrics were measured).

Each report states the environment (machine, Python, NumPy, BLAS library,
version and threads), the protocol (warmup, samples, loops per sample,
timer), each comparison with the baseline (ratio, its CI, p-value adjusted
with the named multiple-comparison method, verdict), the Pareto set, the
Olympics leaderboard and warnings: unstable measurements (coefficient of
variation above 10 %, pyperf's threshold), outliers (Tukey fences, reported,
never removed), warmups that never stabilised, and failures.

This module renders only: :func:`build_report` gathers the run, its findings
(:func:`torchperf.comparison.baseline_findings`, or the ones passed in), the Pareto
fronts and the leaderboard into a frozen :class:`ReportData`, and the renderers
format that. It imports nothing from :mod:`torchperf.suite`, which sits above it.

Escaping: every string that comes from the user or from a results file
(model names, metric names, units, error messages, environment values) goes
through :func:`html_escape` in HTML and :func:`markdown_escape` in Markdown;
file names derived from user strings go through
:func:`torchperf.fileio.safe_filename`.
"""

from __future__ import annotations

import base64
import csv
import dataclasses
import functools
import html
import io
import math
import re
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from torchperf._tables import csv_cell
from torchperf.comparison import Finding, baseline_findings
from torchperf.comparison import compare_runs as compare_runs
from torchperf.environment import environment_facts
from torchperf.errors import InvalidParameterError, TorchperfWarning
from torchperf.fileio import atomic_write_bytes, atomic_write_text, safe_filename
from torchperf.metrics import METRIC_NAMES, Direction
from torchperf.runfile import Run, results_frame
from torchperf.stats import DEFAULT_NOISE_THRESHOLD
from torchperf.text import display_name, display_names, escape_text, utf8_safe

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

    from torchperf.result import BenchmarkResult

__all__ = [
    "CV_WARN_THRESHOLD",
    "UNSTABLE_KINDS",
    "ReportData",
    "build_report",
    "csv_text",
    "html_escape",
    "instability",
    "markdown_escape",
    "render_html",
    "render_markdown",
    "render_run",
    "summary_table",
]

#: Coefficient of variation above which a measurement is flagged as unstable (pyperf uses 10 %).
CV_WARN_THRESHOLD = 0.10

# --------------------------------------------------------------------------- escaping

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()<>#+!|~&$])")
_MD_LINE_START = re.compile(r"^(\s*)(\d+)([.)])|^(\s*)([-=:])")


def markdown_escape(text: object, *, line_start: bool = False) -> str:
    r"""Escape a string so Markdown renders it as literal text (also inside a table cell).

    Backslash-escapes ``\\ ` * _ { } [ ] ( ) < > # + ! | ~ & $`` (so no
    emphasis, link, image, raw HTML, entity, math or table cell boundary can
    be formed), escapes a leading list / heading marker, and turns line
    breaks into spaces (a table row is one line).

    Parameters
    ----------
    text : object
        Converted with ``str()``.
    line_start : bool
        The text starts a line: also escape a leading ordered-list marker
        (``1.``) or ``-``, ``=``, ``:`` (which would start a list, a setext
        heading or a definition). Not needed inside table cells or after
        other text.

    Returns
    -------
    str

    """
    s = str(text).replace("\r\n", " ").replace("\r", " ").replace("\n", " ")
    s = "".join(ch if ch.isprintable() else " " for ch in s)
    s = _MD_SPECIAL.sub(r"\\\1", s)
    if not line_start:
        return s
    return _MD_LINE_START.sub(
        lambda m: (m.group(1) + m.group(2) + "\\" + m.group(3))
        if m.group(2)
        else (m.group(4) + "\\" + m.group(5)),
        s,
        count=1,
    )


def html_escape(text: object) -> str:
    """Escape a string for HTML text and attribute values (``html.escape`` with quotes)."""
    return html.escape(str(text), quote=True)


# --------------------------------------------------------------------------- formatting


def _fmt(value: float | None, unit: str) -> str:
    from torchperf.result import format_quantity

    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    try:
        return str(format_quantity(value, unit))
    except (ValueError, TypeError):
        return f"{value:.4g} {unit}".strip()


def _fmt_ratio(ratio: float) -> str:
    if ratio is None or not math.isfinite(ratio):
        return "n/a"
    return f"{ratio:.3f}x"


def _fmt_pct(pct: float) -> str:
    if pct is None or not math.isfinite(pct):
        return "n/a"
    return f"{pct:+.1f}%"


def _fmt_p(p: float | None) -> str:
    if p is None or (isinstance(p, float) and math.isnan(p)):
        return "n/a"
    from torchperf.stats import format_p

    return format_p(p).removeprefix("p ").removeprefix("= ")


def _fmt_ci(lo: float, hi: float, fmt: Any = _fmt_ratio) -> str:
    if lo is None or hi is None or not (math.isfinite(lo) and math.isfinite(hi)):
        return "n/a"
    return f"[{fmt(lo)}, {fmt(hi)}]"


# --------------------------------------------------------------------------- report data


def _as_run(run: Mapping[str, Any] | str | Path) -> Run:
    if isinstance(run, (str, Path)):
        return Run.load(run)
    if not isinstance(run, Mapping):
        raise InvalidParameterError(
            f"`run` must be a Run, a run dict (see torchperf.runfile.Run) or a path; got {type(run).__name__}."
        )
    return Run.from_dict(run)


def _loops_per_sample(results: Mapping[str, Mapping[str, Any]]) -> dict[str, str]:
    """``{metric: "1" or "1-64"}`` from the results' metadata (``number`` / ``loops``)."""
    out: dict[str, str] = {}
    for metric, per_model in results.items():
        numbers = set()
        for r in per_model.values():
            md = r.metadata
            for key in ("number", "loops", "loops_per_sample", "inner_loops"):
                v = md.get(key) if isinstance(md, Mapping) else None
                if isinstance(v, int) and not isinstance(v, bool):
                    numbers.add(v)
                    break
        if numbers:
            lo, hi = min(numbers), max(numbers)
            out[metric] = str(lo) if lo == hi else f"{lo}-{hi}"
    return out


def _warmup_converged(metadata: Mapping[str, Any]) -> bool | None:
    for key in ("warmup_converged", "converged"):
        v = metadata.get(key)
        if isinstance(v, bool):
            return v
    warm = metadata.get("warmup")
    if isinstance(warm, Mapping) and isinstance(warm.get("converged"), bool):
        return bool(warm["converged"])
    return None


def collect_warnings(run: Mapping[str, Any]) -> list[dict[str, str]]:
    """List what a reader must know before trusting the numbers.

    Returns
    -------
    list of dict
        Each with ``kind`` (``"incomplete"``, ``"failure"``, ``"unstable"``,
        ``"outliers"``, ``"warmup"``, ``"spread"``, ``"small-sample"`` or the
        name of a warning class recorded during the run), ``metric``,
        ``model`` and ``message``.

    """
    out: list[dict[str, str]] = []
    seen: set[tuple[str, str, str]] = set()

    def add(kind: str, metric: str, model: str, message: str) -> None:
        key = (kind, metric, model + message)
        if key not in seen:
            seen.add(key)
            out.append({"kind": kind, "metric": metric, "model": model, "message": message})

    if not run.get("complete", False):
        how = "was interrupted" if run.get("interrupted") else "did not finish"
        add("incomplete", "", "", f"this run {how}: only the results listed below were measured.")
    for model, per_metric in (run.get("failures") or {}).items():
        if isinstance(per_metric, Mapping) and all(isinstance(v, Mapping) for v in per_metric.values()):
            items = list(per_metric.items())
        else:
            items = [("", per_metric)]
        for metric, rec in items:
            err = rec.get("error", "error") if isinstance(rec, Mapping) else "error"
            msg = rec.get("message", "") if isinstance(rec, Mapping) else str(rec)
            add("failure", str(metric), str(model), f"failed ({err}): {msg}")
    for metric, per_model in run["results"].items():
        for model, r in per_model.items():
            n = int(r.count)
            cv = float(r.cv) if r.cv is not None else math.nan
            if n >= 2 and math.isfinite(cv) and cv > CV_WARN_THRESHOLD:
                add(
                    "unstable",
                    metric,
                    model,
                    f"coefficient of variation {cv:.1%} exceeds {CV_WARN_THRESHOLD:.0%}: "
                    "the measurement is unstable (close other programs, pin threads, "
                    "or raise measurement_runs).",
                )
            if n >= 2 and r.mean and math.isfinite(r.mean) and r.mean != 0:
                far = max(abs(r.max_val - r.mean), abs(r.mean - r.min_val)) / abs(r.mean)
                if far >= 0.5:
                    add(
                        "spread",
                        metric,
                        model,
                        f"min or max is {far:.0%} away from the mean (pyperf's 50% check).",
                    )
            outliers = getattr(r, "outliers", None)
            count = int(getattr(outliers, "count", 0) or 0) if outliers is not None else 0
            if count:
                add(
                    "outliers",
                    metric,
                    model,
                    f"{count} of {n} samples outside the Tukey fences (kept in every statistic).",
                )
            converged = _warmup_converged(r.metadata) if isinstance(r.metadata, Mapping) else None
            if converged is False:
                add("warmup", metric, model, "the warmup never stabilised (its cap was reached).")
            if n < 3 and not (n >= 1 and r.min_val == r.max_val):
                add("small-sample", metric, model, f"only {n} sample(s): intervals are unreliable.")
    for w in run.get("warnings") or []:
        add(
            str(w.get("category", "warning")),
            str(w.get("metric", "")),
            str(w.get("model", "")),
            str(w.get("message", "")),
        )
    return out


def _pareto(run: Mapping[str, Any], objectives: Sequence[str]) -> Any:
    from torchperf.pareto import pareto_front

    results = run["results"]
    objs = [m for m in objectives if results.get(m)]
    if not objs:
        return None
    try:
        return pareto_front(
            {m: results[m] for m in objs},
            objectives=objs,
            confidence_level=float(run["protocol"].get("confidence_level", 0.95)),
        )
    except (InvalidParameterError, ValueError):
        return None


@dataclass(frozen=True)
class ReportData:
    """Everything a report shows, gathered once; the renderers only format it.

    Built by :func:`build_report`. Also indexable by field name
    (``data["comparisons"]``), as the dict it replaces.

    Attributes
    ----------
    run : Run
        The run.
    baseline : str or None
        The model every other is compared with.
    baselines : Mapping
        ``{model: its own baseline}`` for families of models (the protocol's ``baselines``).
    models : tuple of str
        Display order.
    findings : tuple of Finding
        One per (metric, model != baseline), adjusted together
        (:func:`torchperf.comparison.baseline_findings`).
    pareto, pareto_all : ParetoResult or None
        Over latency and accuracy; over every measured metric.
    leaderboard : Mapping or None
        ``{event: [Row]}`` (:func:`torchperf.leaderboard.olympics`).
    warnings : tuple of Mapping
        ``kind``, ``metric``, ``model``, ``message`` (:func:`collect_warnings`).
    environment, protocol : tuple of (str, str)
        ``(label, value)`` facts.
    pending : tuple of (str, str)
        ``(metric, model)`` tasks without a result.

    """

    run: Run
    baseline: str | None
    baselines: Mapping[str, str]
    models: tuple[str, ...]
    findings: tuple[Finding, ...]
    pareto: Any
    pareto_all: Any
    leaderboard: Mapping[str, Any] | None
    warnings: tuple[Mapping[str, str], ...]
    environment: tuple[tuple[str, str], ...]
    protocol: tuple[tuple[str, str], ...]
    pending: tuple[tuple[str, str], ...]

    @functools.cached_property
    def comparisons(self) -> list[dict[str, Any]]:
        """The findings as ``Finding.as_dict(legacy=True)`` rows (what the tables read)."""
        return [f.as_dict(legacy=True) for f in self.findings]

    def __getitem__(self, key: str) -> Any:
        """The dict view: the same values, sequences as lists (as before)."""
        if key == "comparisons" or key in _REPORT_FIELDS:
            value = getattr(self, key)
            return list(value) if isinstance(value, tuple) else value
        raise KeyError(key)

    def get(self, key: str, default: Any = None) -> Any:
        """``self[key]``, or ``default`` for an unknown key (the dict view)."""
        try:
            return self[key]
        except KeyError:
            return default


_REPORT_FIELDS = frozenset(f.name for f in dataclasses.fields(ReportData))


def build_report(
    run: Mapping[str, Any] | str | Path,
    *,
    correction: str | None = None,
    threshold: float = DEFAULT_NOISE_THRESHOLD,
    findings: Sequence[Finding] | None = None,
) -> ReportData:
    """Gather everything a report shows, from a run and its findings.

    Parameters
    ----------
    run : Run, Mapping or path
        A :class:`~torchperf.runfile.Run`, a run document or the path of a ``results.json``.
    correction : {"bh", "holm"}, optional
        Multiple-comparison method when the findings are computed here; default the
        run protocol's (else BH).
    threshold : float
        Relative change below which no regression / improvement is called.
    findings : sequence of Finding, optional
        The comparisons to show; default :func:`torchperf.comparison.baseline_findings`
        of the run against its baseline.

    Returns
    -------
    ReportData

    """
    r = _as_run(run)
    results = r.results
    models: list[str] = list(r.models)
    proto = r.protocol
    baseline = proto.get("baseline")
    if baseline not in models:
        baseline = models[0] if models else None
    correction = correction or str(proto.get("correction", "bh"))
    if correction not in ("bh", "holm", "benjamini-hochberg", "fdr"):
        correction = "bh"
    confidence_level = float(proto.get("confidence_level", 0.95))
    fam = proto.get("baselines")
    baselines = (
        {str(k): str(v) for k, v in fam.items() if k in models and v in models}
        if isinstance(fam, Mapping)
        else {}
    )
    if findings is None:
        findings = (
            baseline_findings(
                results,
                baseline,
                correction=correction,
                confidence_level=confidence_level,
                threshold=threshold,
                models=models,
                baselines=baselines,
            )
            if baseline is not None
            else []
        )
    leaderboard = None
    if results:
        from torchperf.leaderboard import olympics

        try:
            leaderboard = olympics(results, confidence_level=confidence_level)
        except (InvalidParameterError, ValueError):
            leaderboard = None
    metrics_run = list(proto.get("metrics") or results)
    pending = [
        (metric, model)
        for metric in metrics_run
        for model in models
        if model not in results.get(metric, {})
        and model not in r.failures
        and model not in r.not_applicable.get(metric, {})
    ]
    loops = _loops_per_sample(results)
    protocol_facts: list[tuple[str, str]] = []
    for label, key in (
        ("warmup calls", "warmup_runs"),
        ("samples per measurement (n)", "measurement_runs"),
        ("metrics", "metrics"),
        ("baseline", "baseline"),
        ("confidence level", "confidence_level"),
        ("timer", "timer"),
        ("latency input shape", "input_shape"),
        ("throughput batch sizes", "batch_sizes"),
        ("replication", "replication"),
    ):
        if proto.get(key) not in (None, "", []):
            v = proto[key]
            protocol_facts.append((label, ", ".join(map(str, v)) if isinstance(v, (list, tuple)) else str(v)))
    if loops:
        protocol_facts.append(
            ("loops per sample", "; ".join(f"{m}: {v}" for m, v in loops.items()))
        )
    protocol_facts.append(
        (
            "comparisons",
            "ratio (candidate / baseline) of geometric means (per-process medians when measured in "
            "several processes; accuracies, paired by example, for accuracy) with the confidence "
            "interval of the same test (docs/statistics.md#rule-7); p-values adjusted across all "
            "comparisons ("
            + ("Holm" if findings and findings[0].correction == "holm" else "Benjamini-Hochberg")
            + "); metrics without spread are compared exactly",
        )
    )
    return ReportData(
        run=r,
        baseline=baseline,
        baselines=MappingProxyType(baselines),
        models=tuple(models),
        findings=tuple(findings),
        pareto=_pareto(r, ("latency", "accuracy")),
        pareto_all=_pareto(r, [m for m in METRIC_NAMES if m in results] or list(results)),
        leaderboard=leaderboard,
        warnings=tuple(collect_warnings(r)),
        environment=tuple(environment_facts(r.environment)),
        protocol=tuple(protocol_facts),
        pending=tuple(pending),
    )


# --------------------------------------------------------------------------- tables


def _summary_rows(data: Mapping[str, Any]) -> list[dict[str, str]]:
    """Rows of the summary table (raw strings; escape before rendering)."""
    results = data["run"]["results"]
    by_key = {(c["metric"], c["model"]): c for c in data["comparisons"]}
    rows = []
    not_applicable = data["run"].get("not_applicable") or {}
    metrics = list(results) + [m for m in not_applicable if m not in results]
    for metric in metrics:
        per_model = results.get(metric, {})
        order = [m for m in data["models"] if m in per_model] + [
            m for m in per_model if m not in data["models"]
        ]
        for model in order:
            res = per_model[model]
            c = by_key.get((metric, model))
            rows.append(
                {
                    "model": model,
                    "metric": metric,
                    "median": _fmt(res.median, res.unit),
                    "ci": _median_ci_cell(res),
                    "mean": _fmt(res.mean, res.unit),
                    "cv": f"{res.cv:.1%}" if res.cv is not None and math.isfinite(res.cv) else "n/a",
                    "n": str(res.count),
                    "direction": "lower" if res.lower_is_better else "higher",
                    "ratio": "baseline" if model == data["baseline"] or data.get("baselines", {}).get(model) == model else (_fmt_ratio(c["ratio"]) if c else "n/a"),
                    "ratio_ci": _fmt_ci(c["ci_low"], c["ci_high"]) if c else "",
                    "p": (_fmt_p(c["p_adjusted"]) if c["p_adjusted"] is not None else ("exact" if c["method"] == "exact" else "n/a")) if c else "",
                    "verdict": c["verdict"] if c else "",
                }
            )
        for model, reason in (not_applicable.get(metric) or {}).items():
            if model in per_model:
                continue
            unknown = str(reason).startswith("unknown")  # e.g. a size no search could find
            rows.append(
                {
                    "model": model, "metric": metric, "median": "unknown" if unknown else "n/a",
                    "ci": "", "mean": "unknown" if unknown else "n/a",
                    "cv": "", "n": "0", "direction": "", "ratio": "n/a", "ratio_ci": "", "p": "",
                    "verdict": f"not compared: {reason}" if unknown else f"not applicable: {reason}",
                }
            )  # fmt: skip
    return rows


def _median_ci_cell(res: BenchmarkResult) -> str:
    """The median's CI, labelled with the coverage it really has when that is lower."""
    if res.count == 1:
        return "single value"
    lo, hi = res.median_ci
    cell = f"[{_fmt(lo, res.unit)}, {_fmt(hi, res.unit)}]"
    cov = getattr(res, "median_ci_coverage", None)
    if cov is not None and cov < float(res.confidence_level) - 1e-9:
        cell += f" ({cov:.0%} only)"
    return cell


def _coverage_note(rows: Sequence[Mapping[str, str]], cl: str) -> str:
    """A sentence explaining '(75% only)' cells, or '' when no row has one."""
    if not any(r["ci"].endswith("only)") for r in rows):
        return ""
    return (
        f"CI of median: distribution-free (order statistics). Where n is too small for a {cl} "
        "interval (n < 6 at 95%) the interval spans the smallest to the largest sample and its "
        "real coverage is shown, e.g. '(75% only)' for n = 3; take more measurements for a "
        f"{cl} interval."
    )


_SUMMARY_HEAD = (
    ("model", "model"),
    ("metric", "metric"),
    ("median", "median"),
    ("ci", "95% CI of median"),
    ("n", "n"),
    ("cv", "CV"),
    ("ratio", "vs baseline"),
    ("ratio_ci", "ratio CI"),
    ("p", "p (adj.)"),
    ("verdict", "verdict"),
)


def _ci_label(data: Mapping[str, Any]) -> str:
    cl = float(data["run"]["protocol"].get("confidence_level", 0.95))
    return f"{cl:.0%}".rstrip("%") + "%"


def _family_groups(data: Mapping[str, Any]) -> list[tuple[str, list[str]]]:
    """``[(baseline, [variants])]`` of a run compared by families (empty otherwise)."""
    groups: dict[str, list[str]] = {}
    for model, ref in (data.get("baselines") or {}).items():
        groups.setdefault(ref, [])
        if model != ref:
            groups[ref].append(model)
    return list(groups.items())


def _families_sentence(data: Mapping[str, Any], quote: Callable[[str], str]) -> str:
    """One sentence naming each family's baseline and its variants."""
    parts = [f"{quote(b)} (for {', '.join(quote(v) for v in vs) or 'itself'})"
             for b, vs in _family_groups(data)]  # fmt: skip
    return (
        "Each variant is compared with its own family's baseline: " + "; ".join(parts) + "; any "
        f"other model with {quote(str(data['baseline']))}."
    )


def summary_table(run: Mapping[str, Any] | str | Path, *, data: Mapping[str, Any] | None = None) -> str:
    """Plain-text summary of a run: medians with CIs, ratio to the baseline, adjusted p-values.

    Parameters
    ----------
    run : Mapping or path
        A run dict (``load_run`` / ``BenchmarkSuite.to_run()``) or a path.
    data : Mapping, optional
        A precomputed :func:`build_report` result (saves recomputation).

    Returns
    -------
    str
        A fixed-width table (what ``torchperf run`` prints), followed by the
        multiple-comparison method and, for incomplete runs, a note.

    """
    d = data if data is not None else build_report(run)
    rows = _summary_rows(d)
    cl = _ci_label(d)
    head = [label.replace("95%", cl) for _, label in _SUMMARY_HEAD]
    keys = [k for k, _ in _SUMMARY_HEAD]
    # names shortened and escaped for the terminal (torchperf.text); results.json keeps them whole
    table = [head] + [
        [display_name(r[k]) if k in ("model", "metric") else _plain(r[k]) for k in keys] for r in rows
    ]
    widths = [max(len(row[i]) for row in table) for i in range(len(keys))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in table]
    lines.insert(1, "  ".join("-" * w for w in widths))
    method = d["comparisons"][0]["correction"] if d["comparisons"] else "benjamini-hochberg"
    lines.append("")
    note = _coverage_note(rows, cl)
    if note:
        lines.append(note)
    lines.append(
        f"ratio = candidate / baseline (geometric means; proportions for accuracy); p adjusted across {len(d['comparisons'])} comparisons "
        f"({'Holm' if method == 'holm' else 'Benjamini-Hochberg'}); "
        + (
            "baseline per family: "
            + ", ".join(
                f"{display_name(b)} ({len(vs)} variant{'s' if len(vs) != 1 else ''})"
                for b, vs in _family_groups(d)
            )
            if _family_groups(d)
            else f"baseline: {display_name(d['baseline'])}"
        )
        + "."
    )
    if not d["run"]["complete"]:
        lines.append("NOTE: incomplete run; only finished results are shown.")
    return "\n".join(lines)


def _plain(text: object) -> str:
    """Make a string safe for a one-line terminal cell (control characters escaped)."""
    return escape_text(text)


# --------------------------------------------------------------------------- figures


def save_figure_files(fig: Figure, stem: str | Path) -> dict[str, Path]:
    """Save ``fig`` as ``<stem>.png`` and ``<stem>.svg`` atomically.

    Returns
    -------
    dict
        ``{"png": Path, "svg": Path}``.

    """
    from torchperf import plots

    paths = plots.save_figure(fig, stem, formats=("png", "svg"))
    return {p.suffix.lstrip("."): p for p in paths}


def pareto_figure(
    results: Mapping[str, Mapping[str, BenchmarkResult]],
    x_metric: str,
    y_metric: str,
    *,
    provenance: str | None = None,
    confidence_level: float = 0.95,
) -> Figure:
    """Pareto scatter of two metrics (see :func:`torchperf.plots.plot_pareto`)."""
    from torchperf import plots

    return plots.plot_pareto(
        results,
        x_metric=x_metric,
        y_metric=y_metric,
        provenance=provenance,
        confidence_level=confidence_level,
    )


def standard_figures(
    results: Mapping[str, Mapping[str, BenchmarkResult]],
    *,
    provenance: str | None = None,
    confidence_level: float = 0.95,
    on_error: str = "raise",
) -> dict[str, Figure]:
    """Draw the report's figures.

    Parameters
    ----------
    results : Mapping
        ``{metric: {model: BenchmarkResult}}``.
    provenance : str, optional
        Footer line of every figure.
    confidence_level : float
        Level of the error bars.
    on_error : {"raise", "warn"}
        What to do when one figure cannot be drawn: raise, or warn with
        :class:`~torchperf.errors.TorchperfWarning` and go on without it
        (reports use ``"warn"`` so a plotting problem never costs the report).

    Returns
    -------
    dict
        ``{file stem: Figure}``: ``pareto`` (latency vs accuracy, when both
        were measured), ``metric_<name>`` per metric (bars with CIs) and
        ``latency_distribution`` (ECDF with p50/p99, when latency was
        measured). Stems derived from metric names pass through
        :func:`torchperf.fileio.safe_filename`.

    """
    from torchperf import plots

    if on_error not in ("raise", "warn"):
        raise InvalidParameterError(f"`on_error` must be 'raise' or 'warn'; got {on_error!r}.")
    jobs: list[tuple[str, Any]] = []
    if results.get("latency") and results.get("accuracy"):
        jobs.append(
            (
                "pareto",
                lambda: pareto_figure(
                    results, "latency", "accuracy", provenance=provenance, confidence_level=confidence_level
                ),
            )
        )
    for metric, per_model in results.items():
        if per_model:
            jobs.append(
                (
                    safe_filename(f"metric_{metric}"),
                    lambda metric=metric: plots.plot_metric_bars(
                        results, [metric], provenance=provenance, confidence_level=confidence_level
                    ),
                )
            )
    if results.get("latency"):
        jobs.append(
            (
                "latency_distribution",
                lambda: plots.plot_latency_distribution(results["latency"], provenance=provenance),
            )
        )
    figures: dict[str, Figure] = {}
    for stem, draw in jobs:
        try:
            figures[stem] = draw()
        except Exception as exc:
            if on_error == "raise":
                raise
            warnings.warn(
                f"figure {stem!r} could not be drawn ({type(exc).__name__}: {exc}); "
                "the report is written without it.",
                TorchperfWarning,
                stacklevel=2,
            )
    return figures


def provenance_line(data: Mapping[str, Any]) -> str:
    """One line of provenance for figure footers: protocol and environment facts."""
    facts = dict(data["protocol"])
    env = dict(data["environment"])
    parts = [
        f"n={facts.get('samples per measurement (n)', '?')}",
        f"warmup={facts.get('warmup calls', '?')}",
    ]
    if "loops per sample" in facts:
        parts.append(f"loops/sample {facts['loops per sample']}")
    if "timer" in facts:
        parts.append(f"timer {facts['timer']}")
    for label in ("machine", "Python", "NumPy", "BLAS", "git commit"):
        if label in env:
            parts.append(f"{label} {env[label]}")
    return "; ".join(parts)


# --------------------------------------------------------------------------- Markdown


def _md_table(head: Sequence[str], rows: Sequence[Sequence[str]], align: str = "") -> list[str]:
    out = ["| " + " | ".join(head) + " |"]
    out.append("|" + "|".join(("---:" if a == "r" else "---") for a in (align or "l" * len(head)).ljust(len(head), "l")) + "|")
    out.extend("| " + " | ".join(row) + " |" for row in rows)
    return out


def render_markdown(data: Mapping[str, Any], *, images: Mapping[str, str] | None = None) -> str:
    """Render a :func:`build_report` result as Markdown.

    Parameters
    ----------
    data : Mapping
        Output of :func:`build_report`.
    images : Mapping, optional
        ``{title: relative file name}`` of figures to reference.

    Returns
    -------
    str

    """
    e = markdown_escape
    run = data["run"]
    cl = _ci_label(data)
    out: list[str] = ["# torchperf benchmark report", ""]
    status = "complete" if run["complete"] else ("INTERRUPTED (partial)" if run["interrupted"] else "incomplete")
    out.append(f"Run created {e(run['created'])}, updated {e(run['updated'])}; status: **{status}**.")
    out.append("")
    unstable = instability(data)
    out += _md_overview(data, unstable, figures=bool(images))
    out += ["## Summary", ""]
    if data["baseline"] is not None:
        out.append(f"Baseline: **{e(data['baseline'])}**. Models: {', '.join(e(m) for m in data['models'])}.")
        out.append("")
        if _family_groups(data):
            out += [_families_sentence(data, lambda m: f"**{e(m)}**"), ""]
    if not run["complete"]:
        done = sum(len(v) for v in run["results"].values())
        out.append(f"Completed {done} model x metric results; still pending: {len(data['pending'])}.")
        if data["pending"]:
            out.append("")
            out.append("Pending: " + ", ".join(f"{e(m)} / {e(n)}" for m, n in data["pending"]) + ".")
        out.append("")

    rows = _summary_rows(data)
    if rows:
        keys = [k for k, _ in _SUMMARY_HEAD]
        head = [label.replace("95%", cl) for _, label in _SUMMARY_HEAD]
        by_key = {(c["metric"], c["model"]): c for c in data["comparisons"]}

        def cell(r: Mapping[str, str], k: str) -> str:
            c = by_key.get((r["metric"], r["model"]))
            note = _unstable_note(c, unstable) if k == "verdict" and c is not None else ""
            return e(r[k]) + (f" ({e(note)})" if note else "")

        out += _md_table(head, [[cell(r, k) for k in keys] for r in rows], "llrrrrrrll")
        note = _coverage_note(rows, cl)
        if note:
            out += ["", e(note)]
    else:
        out.append("No results.")
    out.append("")

    out += ["## Comparisons with the baseline", ""]
    if data["comparisons"]:
        first = data["comparisons"][0]
        method = "Holm (family-wise error)" if first["correction"] == "holm" else "Benjamini-Hochberg (false-discovery rate)"
        out.append(
            f"Each model vs **{e(data['baseline'])}**: ratio (candidate / baseline; geometric means of the samples "
            "or of per-process medians, accuracies paired by example) with the "
            f"{cl} confidence interval of its test (the interval excludes 1 exactly when p is below α), the test's "
            f"p-value and the p-value adjusted with {method} across "
            f"the {first['family_size']} statistical comparisons of this report. Exact comparisons (no spread in "
            "either sample, e.g. model size) carry no p-value and are not in the family. A verdict of regression or "
            f"improvement needs an adjusted p <= {1 - float(run['protocol'].get('confidence_level', 0.95)):.2g}."
        )
        out.append("")
        crow = []
        for c in data["comparisons"]:
            crow.append(
                [
                    e(c["metric"]),
                    e(c["model"]),
                    _fmt_ratio(c["ratio"]),
                    _fmt_pct(c["percent_change"]),
                    _fmt_ci(c["ci_low"], c["ci_high"]),
                    _fmt_p(c["p_value"]),
                    _fmt_p(c["p_adjusted"]),
                    e(c["method"] or "n/a"),
                    e(c["verdict"]) + (f" ({e(c['note'])})" if c.get("note") and c["method"] != "exact" else "")
                    + (f" ({e(_unstable_note(c, unstable))})" if _unstable_note(c, unstable) else ""),
                ]
            )
        out += _md_table(
            ["metric", "model", "ratio", "change", f"{cl} CI", "p", "p (adj.)", "test", "verdict"],
            crow,
            "llrrrrrll",
        )
    else:
        out.append("No comparisons (a single model, or the baseline has no results).")
    out.append("")

    out += _md_pareto(data)
    out += _md_leaderboard(data)

    if images:
        out += ["## Figures", ""]
        for title, fname in images.items():
            out.append(f"![{e(title)}]({safe_filename(fname)})")
            out.append("")

    out += ["## Warnings", ""]
    if data["warnings"]:
        for w in data["warnings"]:
            where = " / ".join(e(x) for x in (w["model"], w["metric"]) if x)
            out.append(f"- **{e(w['kind'])}**" + (f" {where}" if where else "") + f": {e(w['message'])}")
    else:
        out.append("None: every measurement passed the stability checks.")
    out.append("")

    out += ["## Protocol", ""]
    out += _md_table(["item", "value"], [[e(k), e(v)] for k, v in data["protocol"]])
    out.append("")
    out += ["## Environment", ""]
    if data["environment"]:
        out += _md_table(["item", "value"], [[e(k), e(v)] for k, v in data["environment"]])
    else:
        out.append("Not recorded.")
    out.append("")
    return "\n".join(out)


def _md_overview(
    data: Mapping[str, Any], unstable: Mapping[tuple[str, str], str], *, figures: bool = True
) -> list[str]:
    """What was compared, the warnings banner (a quote) above the verdicts that matter, contents."""
    e = markdown_escape
    cl = _ci_label(data)
    out = ["## Overview", "", "**Compared:** " + e("; ".join(_compared_facts(data))) + ".", ""]
    for head, text in _alerts(data, unstable):
        out += [f"> **{e(head)}** {e(text)}", ""]
    shown = _verdicts_that_matter(data)
    out += [f"**Verdicts that matter: {len(shown)} regressions and improvements**", ""]
    if shown:
        rows = []
        for c in shown:
            note = _unstable_note(c, unstable)
            p = _fmt_p(c["p_adjusted"]) if c["p_adjusted"] is not None else ("exact" if c["method"] == "exact" else "n/a")
            rows.append([e(c["model"]), e(c["metric"]), e(str(c.get("baseline") or "")), _fmt_ratio(c["ratio"]),
                         _fmt_ci(c["ci_low"], c["ci_high"]), e(p),
                         e(c["verdict"]) + (f" ({e(note)})" if note else "")])  # fmt: skip
        out += _md_table(["model", "metric", "vs", "ratio", f"{cl} CI", "p (adj.)", "verdict"], rows, "lllrrrl")
    else:
        out.append("No regression or improvement: no change passed the significance and noise thresholds.")
    out.append("")
    titles = ["Summary", "Comparisons with the baseline", "Pareto set", "Leaderboard (TorchPerf Olympics)",
              "Figures", "Warnings", "Protocol", "Environment"]  # fmt: skip
    titles = [t for t in titles if figures or t != "Figures"]
    anchors = {t: re.sub(r"[^a-z0-9 -]", "", t.lower()).replace(" ", "-") for t in titles}
    out += ["Contents: " + " · ".join(f"[{t}](#{anchors[t]})" for t in titles), ""]
    return out


def _pareto_lines(p: Any) -> list[tuple[str, str, str, str]]:
    """``(model, status, rank, detail)`` for a ParetoResult."""
    rows = []
    for m in p.names:
        status = p.status(m)
        if status == "tied":
            detail = "dominated on point estimates by " + ", ".join(p.dominated_by[m]) + ", but not with confidence"
        elif status == "dominated":
            detail = "dominated with confidence by " + ", ".join(p.confidently_dominated_by[m])
        else:
            detail = ""
        rows.append((m, status, str(p.ranks[m]), detail))
    return rows


def _md_pareto(data: Mapping[str, Any]) -> list[str]:
    e = markdown_escape
    out = ["## Pareto set", ""]
    shown = False
    for key, title in (("pareto", "latency vs accuracy"), ("pareto_all", "all measured metrics")):
        p = data[key]
        if p is None:
            continue
        shown = True
        objs = ", ".join(f"{e(o)} ({Direction.parse(d).sense})" for o, d in zip(p.objectives, p.directions, strict=True))
        out.append(f"**{e(title)}** over {objs}: frontier = {', '.join(e(m) for m in p.members) or 'none'}.")
        out.append("")
        out += _md_table(["model", "status", "rank", "detail"], [[e(x) for x in row] for row in _pareto_lines(p)])
        out.append("")
    if not shown:
        out += ["Not enough metrics for a Pareto analysis.", ""]
    return out


def _leader_rows(data: Mapping[str, Any]) -> list[tuple[str, list[list[str]]]]:
    from torchperf.leaderboard import EVENTS

    board = data["leaderboard"] or {}
    sections = []
    for key, rows in board.items():
        table = []
        for r in rows:
            unit = r.unit
            val = _fmt(r.value, unit) if unit else f"{r.value:.4g}"
            ci = f"[{_fmt(r.ci[0], unit) if unit else f'{r.ci[0]:.4g}'}, {_fmt(r.ci[1], unit) if unit else f'{r.ci[1]:.4g}'}]"
            table.append([str(r.rank), r.model, val, ci, ", ".join(r.tied_with) or "-", r.note])
        sections.append((EVENTS.get(key, key), table))
    return sections


def _md_leaderboard(data: Mapping[str, Any]) -> list[str]:
    e = markdown_escape
    out = ["## Leaderboard (TorchPerf Olympics)", ""]
    sections = _leader_rows(data)
    if not sections:
        return [*out, "No leaderboard (no results).", ""]
    for title, table in sections:
        out += [f"### {e(title)}", ""]
        if table:
            out += _md_table(["rank", "model", "value", "CI", "tied with", "note"], [[e(c) for c in row] for row in table], "rlrrll")
        else:
            out.append("No model has the metrics this event needs.")
        out.append("")
    return out


# --------------------------------------------------------------------------- overview (shared)

#: Warning kinds that make a measurement, and every verdict resting on it, "unstable data".
UNSTABLE_KINDS = frozenset(
    {"unstable", "spread", "warmup", "UnstableMeasurementWarning", "WarmupNotConvergedWarning"}
)

_REASONS = {
    "spread": "min or max far from the mean",
    "warmup": "warmup never stabilised",
    "WarmupNotConvergedWarning": "warmup never stabilised",
    "UnstableMeasurementWarning": "warned while measuring",
}


def instability(data: Mapping[str, Any]) -> dict[tuple[str, str], str]:
    """The measurements a reader should not trust blindly, with a short reason.

    Parameters
    ----------
    data : Mapping
        A :func:`build_report` result.

    Returns
    -------
    dict
        ``{(metric, model): reason}`` for every measurement with a warning of a kind in
        :data:`UNSTABLE_KINDS` (coefficient of variation above :data:`CV_WARN_THRESHOLD`,
        min or max 50 % from the mean, a warmup that never stabilised, an
        ``UnstableMeasurementWarning`` raised while measuring); the reason leads with the
        CV when it is above the threshold, e.g. ``"CV 61%, min or max far from the mean"``.

    """
    results = data["run"]["results"]
    found: dict[tuple[str, str], list[str]] = {}
    for w in data["warnings"]:
        if w["kind"] not in UNSTABLE_KINDS or not w["metric"] or not w["model"]:
            continue
        key = (str(w["metric"]), str(w["model"]))
        reasons = found.setdefault(key, [])
        r = results.get(key[0], {}).get(key[1])
        cv = float(r.cv) if r is not None and r.cv is not None else math.nan
        text = (
            f"CV {cv:.0%}"
            if math.isfinite(cv) and cv > CV_WARN_THRESHOLD
            else _REASONS.get(w["kind"], "unstable")
        )
        if text not in reasons:
            reasons.append(text)
    for reasons in found.values():  # the CV first, whichever warning came first
        reasons.sort(key=lambda t: not t.startswith("CV "))
    return {k: ", ".join(v) for k, v in found.items()}


def _unstable_note(c: Mapping[str, Any], unstable: Mapping[tuple[str, str], str]) -> str:
    """``"unstable data: mlp-int8 CV 22%; mlp CV 18%"`` for a comparison row, else ``""``."""
    parts = [
        f"{who} {unstable[(c['metric'], who)]}"
        for who in dict.fromkeys((c["model"], c.get("baseline")))
        if who is not None and (c["metric"], who) in unstable
    ]
    return "unstable data: " + "; ".join(parts) if parts else ""


def _verdicts_that_matter(data: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """Regressions, then improvements, in the report's metric and model order."""
    rows = [c for c in data["comparisons"] if c["verdict"] in ("regression", "improvement")]
    return sorted(rows, key=lambda c: c["verdict"] != "regression")


def _compared_facts(data: Mapping[str, Any]) -> list[str]:
    """Sentences saying what was compared (models, metrics, baselines, protocol, where)."""
    run = data["run"]
    facts = dict(data["protocol"])
    env = dict(data["environment"])
    metrics = list(run["results"]) or list(run["protocol"].get("metrics") or [])
    out = [
        f"{len(data['models'])} model{'s' if len(data['models']) != 1 else ''} on "
        f"{len(metrics)} metric{'s' if len(metrics) != 1 else ''} ({', '.join(map(str, metrics)) or 'none'})"
    ]
    groups = _family_groups(data)
    if groups:
        out.append(
            "each variant against its family's baseline: "
            + "; ".join(f"{b} ({len(vs)} variant{'s' if len(vs) != 1 else ''})" for b, vs in groups)
        )
    elif data["baseline"] is not None:
        out.append(f"each model against {data['baseline']}")
    n = facts.get("samples per measurement (n)")
    if n:
        out.append(f"n = {n} samples per measurement")
    rep = str(run["protocol"].get("replication") or "")
    k = re.search(r"in (\d+) worker processes", rep)
    if k:
        out.append(f"{k.group(1)} worker processes per model")
    elif "one process" in rep:
        out.append("one process per model")
    if env.get("machine"):
        out.append(f"machine {env['machine']}")
    return out


# --------------------------------------------------------------------------- HTML

_CSS = """
body{font-family:system-ui,-apple-system,'Segoe UI',Helvetica,Arial,sans-serif;margin:1.2em auto;max-width:96em;
padding:0 1em;color:#111;line-height:1.45}
h1{font-size:1.6em;border-bottom:2px solid #333;margin:.2em 0 .4em}h2{margin-top:1.2em;border-bottom:1px solid #bbb}
table{border-collapse:collapse;margin:.6em 0 1.2em;font-size:.92em}
th,td{border:1px solid #999;padding:.25em .6em;vertical-align:top}
th{background:#e8e8e8;text-align:left}td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
tr:nth-child(even) td{background:#f6f6f6}
.status{font-weight:bold}.partial{color:#8a1c1c}
.regression td:last-child{font-weight:bold;text-decoration:underline}.improvement td:last-child{font-weight:bold}
td:first-child{white-space:nowrap}
figure{margin:1em 0}figure img{max-width:100%;height:auto;border:1px solid #ccc}
figcaption{font-size:.9em;color:#444}ul.warnings li{margin:.2em 0}
code{background:#f0f0f0;padding:0 .2em}
#overview h2{margin-top:.6em}#overview p{margin:.3em 0}
.banner{border:2px solid #a40000;background:#fff1f0;padding:.5em .9em;margin:.6em 0}
.banner strong{color:#a40000}
.unstable{color:#a40000;font-weight:normal;display:inline-block}
nav.toc ol{margin:.2em 0;padding-left:1.6em;columns:2;max-width:48em}
details.section{border-bottom:1px solid #bbb;margin:.2em 0}
details.section>summary{cursor:pointer;padding:.3em 0}
details.section>summary>h2{display:inline;border:0;font-size:1.25em;margin:0}
details.section>summary .hint{color:#555;font-size:.9em;margin-left:.6em}
"""

_CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'"


def _html_table(
    head: Sequence[str],
    rows: Sequence[Sequence[str]],
    numeric: Sequence[int] = (),
    cls: Sequence[str] | None = None,
    extra: Sequence[str] | None = None,
) -> str:
    """A table of escaped cells; ``extra[i]`` is trusted HTML appended to row i's last cell."""
    h = html_escape
    parts = ["<table>", "<thead><tr>" + "".join(f"<th>{h(c)}</th>" for c in head) + "</tr></thead>", "<tbody>"]
    for i, row in enumerate(rows):
        cells = []
        for j, c in enumerate(row):
            attr = ' class="num"' if j in numeric else ""
            tail = extra[i] if extra and j == len(row) - 1 else ""
            cells.append(f"<td{attr}>{h(c)}{tail}</td>")
        rcls = f' class="{h(cls[i])}"' if cls and cls[i] else ""
        parts.append(f"<tr{rcls}>" + "".join(cells) + "</tr>")
    parts.append("</tbody></table>")
    return "\n".join(parts)


def _html_unstable(note: str) -> str:
    return f' <span class="unstable">({html_escape(note)})</span>' if note else ""


def _alerts(data: Mapping[str, Any], unstable: Mapping[tuple[str, str], str]) -> list[tuple[str, str]]:
    """``(heading, text)`` of everything that limits the verdicts: incomplete run, failures, instability."""
    run = data["run"]
    alerts = []
    if not run["complete"]:
        done = sum(len(v) for v in run["results"].values())
        alerts.append(
            ("Incomplete run.",
             f"{done} model x metric results were measured; {len(data['pending'])} are still pending.")
        )  # fmt: skip
    failed = [w for w in data["warnings"] if w["kind"] == "failure"]
    if failed:
        who = sorted({" / ".join(x for x in (w["model"], w["metric"]) if x) for w in failed})
        alerts.append(
            (f"{len(failed)} measurement{'s' if len(failed) != 1 else ''} failed:",
             ", ".join(who[:6]) + (f" and {len(who) - 6} more" if len(who) > 6 else "")
             + " (causes under Warnings).")
        )  # fmt: skip
    if unstable:
        results = run["results"]
        measured = sum(len(v) for v in results.values())
        affected = [c for c in data["comparisons"] if _unstable_note(c, unstable)]
        worst = sorted(
            ((float(results[m][mod].cv), m, mod) for (m, mod) in unstable
             if mod in results.get(m, {}) and math.isfinite(float(results[m][mod].cv))),
            reverse=True,
        )  # fmt: skip
        listed = ", ".join(f"{m} of {mod} ({unstable[(m, mod)]})" for _, m, mod in worst[:4])
        alerts.append(
            ("Unstable measurements:",
             f"{len(unstable)} of {measured} measurements are unstable (CV above "
             f"{CV_WARN_THRESHOLD:.0%}, pyperf's threshold, or similar warnings)"
             + (f"; the worst: {listed}" if listed else "")
             + f". {len(affected)} of the {len(data['comparisons'])} comparisons rest on them, and "
             "each verdict below that does says 'unstable data'. Close other programs, pin threads "
             "(--threads 1), measure in several processes or take more samples before acting on them.")
        )  # fmt: skip
    return alerts


def _html_overview(data: Mapping[str, Any], unstable: Mapping[tuple[str, str], str]) -> str:
    """The one-screen summary: what was compared, the banner, the verdicts that matter."""
    h = html_escape
    run = data["run"]
    cl = _ci_label(data)
    parts = ['<section id="overview">']
    if run["complete"]:
        status = '<span class="status">complete</span>'
    else:
        word = "INTERRUPTED (partial)" if run["interrupted"] else "incomplete"
        status = f'<span class="status partial">{word}</span>'
    parts.append(
        "<p><strong>Compared:</strong> " + h("; ".join(_compared_facts(data))) + ". "
        f"Run created {h(run['created'])}, updated {h(run['updated'])}; status: {status}.</p>"
    )
    if data["models"]:
        parts.append("<p>Models: " + ", ".join(h(m) for m in data["models"]) + ".</p>")
    # the banner: everything that limits the verdicts below it
    alerts = [f"<strong>{h(head)}</strong> {h(text)}" for head, text in _alerts(data, unstable)]
    if alerts:
        parts.append('<div class="banner" id="banner" role="alert">' + "<br>".join(alerts) + "</div>")
    # the verdicts that matter
    shown = _verdicts_that_matter(data)
    parts.append(f'<h2 id="verdicts">Verdicts that matter: {len(shown)} regressions and improvements</h2>')
    if shown:
        rows, cls, extra = [], [], []
        for c in shown:
            rows.append(
                [
                    c["model"],
                    c["metric"],
                    str(c.get("baseline") or ""),
                    _fmt_ratio(c["ratio"]),
                    _fmt_ci(c["ci_low"], c["ci_high"]),
                    _fmt_p(c["p_adjusted"]) if c["p_adjusted"] is not None else ("exact" if c["method"] == "exact" else "n/a"),
                    c["verdict"],
                ]
            )
            cls.append(c["verdict"])
            extra.append(_html_unstable(_unstable_note(c, unstable)))
        parts.append(
            _html_table(
                ["model", "metric", "vs", "ratio", f"{cl} CI", "p (adj.)", "verdict"],
                rows, numeric=(3, 4, 5), cls=cls, extra=extra,
            )
        )
    else:
        parts.append("<p>No regression or improvement: no change passed the significance and noise thresholds.</p>")
    counts: dict[str, int] = {}
    for c in data["comparisons"]:
        if c["verdict"] not in ("regression", "improvement"):
            counts[c["verdict"]] = counts.get(c["verdict"], 0) + 1
    if counts:
        parts.append(
            "<p>The other comparisons: "
            + ", ".join(f"{k} {h(v)}" for v, k in sorted(counts.items()))
            + ' (all in <a href="#summary">Summary</a> and <a href="#comparisons">Comparisons</a>).</p>'
        )
    parts.append("</section>")
    return "\n".join(parts)


def render_html(data: Mapping[str, Any], *, images: Mapping[str, bytes] | None = None) -> str:
    """Render a :func:`build_report` result as one self-contained HTML page.

    The page opens with a one-screen overview (what was compared; a banner with any
    instability, failure or incomplete-run warning, above the verdicts it affects; the
    regressions and improvements, each saying *unstable data* inline when it rests on an
    unstable measurement), then a table of contents, then every section collapsed in a
    ``<details>`` element (no script: it works offline and under the page's CSP).

    Parameters
    ----------
    data : Mapping
        Output of :func:`build_report`.
    images : Mapping, optional
        ``{caption: PNG bytes}``, embedded as ``data:`` URIs.

    Returns
    -------
    str
        HTML5 text: inline CSS, no script, no external resource, and a
        Content-Security-Policy that forbids both.

    """
    h = html_escape
    run = data["run"]
    cl = _ci_label(data)
    unstable = instability(data)
    sections: list[tuple[str, str, str, list[str]]] = []  # (id, title, hint, body)

    body: list[str] = []
    if data["baseline"] is not None and _family_groups(data):
        body.append(f"<p>{_families_sentence(data, lambda m: f'<strong>{h(m)}</strong>')}</p>")
    if not run["complete"] and data["pending"]:
        body.append("<p>Pending: " + ", ".join(f"{h(m)} / {h(n)}" for m, n in data["pending"]) + ".</p>")
    rows = _summary_rows(data)
    if rows:
        keys = [k for k, _ in _SUMMARY_HEAD]
        head = [label.replace("95%", cl) for _, label in _SUMMARY_HEAD]
        by_key = {(c["metric"], c["model"]): c for c in data["comparisons"]}
        body.append(
            _html_table(
                head,
                [[r[k] for k in keys] for r in rows],
                numeric=(2, 3, 4, 5, 6, 7, 8),
                cls=[r["verdict"] if r["verdict"] in ("regression", "improvement") else "" for r in rows],
                extra=[
                    _html_unstable(_unstable_note(by_key[(r["metric"], r["model"])], unstable))
                    if (r["metric"], r["model"]) in by_key else ""
                    for r in rows
                ],
            )
        )  # fmt: skip
        note = _coverage_note(rows, cl)
        if note:
            body.append(f"<p class=\"note\">{html_escape(note)}</p>")
    else:
        body.append("<p>No results.</p>")
    sections.append(("summary", "Summary", f"{len(rows)} model × metric rows: medians, CIs, ratios, verdicts", body))

    body = []
    if data["comparisons"]:
        first = data["comparisons"][0]
        method = "Holm (family-wise error)" if first["correction"] == "holm" else "Benjamini&ndash;Hochberg (false-discovery rate)"
        body.append(
            f"<p>Each model vs <strong>{h(data['baseline'])}</strong>"
            + (" (or its family's baseline)" if _family_groups(data) else "")
            + ": ratio (candidate / baseline; geometric "
            "means of the samples or of per-process medians, accuracies paired by example) with the "
            f"{h(cl)} confidence interval of its test (the interval excludes 1 exactly when p &lt; &alpha;), the "
            "test's p-value and the p-value "
            f"adjusted with {method} across the {first['family_size']} statistical comparisons of this report. "
            "Exact comparisons (no spread in either sample, e.g. model size) carry no p-value and are not in the "
            "family.</p>"
        )
        crow, ccls, cextra = [], [], []
        for c in data["comparisons"]:
            crow.append(
                [
                    c["metric"],
                    c["model"],
                    _fmt_ratio(c["ratio"]),
                    _fmt_pct(c["percent_change"]),
                    _fmt_ci(c["ci_low"], c["ci_high"]),
                    _fmt_p(c["p_value"]),
                    _fmt_p(c["p_adjusted"]),
                    c["method"] or "n/a",
                    c["verdict"] + (f" ({c['note']})" if c.get("note") and c["method"] != "exact" else ""),
                ]
            )
            ccls.append(c["verdict"] if c["verdict"] in ("regression", "improvement") else "")
            cextra.append(_html_unstable(_unstable_note(c, unstable)))
        body.append(
            _html_table(
                ["metric", "model", "ratio", "change", f"{cl} CI", "p", "p (adj.)", "test", "verdict"],
                crow, numeric=(2, 3, 4, 5, 6), cls=ccls, extra=cextra,
            )
        )
    else:
        body.append("<p>No comparisons (a single model, or the baseline has no results).</p>")
    sections.append(("comparisons", "Comparisons with the baseline", f"{len(data['comparisons'])} comparisons with tests and p-values", body))

    body = []
    for key, title in (("pareto", "latency vs accuracy"), ("pareto_all", "all measured metrics")):
        p = data[key]
        if p is None:
            continue
        objs = ", ".join(f"{h(o)} ({Direction.parse(d).sense})" for o, d in zip(p.objectives, p.directions, strict=True))
        body.append(
            f"<p><strong>{h(title)}</strong> over {objs}: frontier = "
            + (", ".join(h(m) for m in p.members) or "none")
            + ".</p>"
        )
        body.append(_html_table(["model", "status", "rank", "detail"], _pareto_lines(p), numeric=(2,)))
    if not body:
        body.append("<p>Not enough metrics for a Pareto analysis.</p>")
    front = data["pareto"].members if data["pareto"] is not None else ()
    sections.append(("pareto", "Pareto set", "frontier: " + (", ".join(front) if front else "see inside"), body))

    body = []
    board = _leader_rows(data)
    if not board:
        body.append("<p>No leaderboard (no results).</p>")
    for title, table in board:
        body.append(f"<h3>{h(title)}</h3>")
        if table:
            body.append(_html_table(["rank", "model", "value", "CI", "tied with", "note"], table, numeric=(0, 2, 3)))
        else:
            body.append("<p>No model has the metrics this event needs.</p>")
    sections.append(("leaderboard", "Leaderboard (TorchPerf Olympics)", f"{len(board)} events", body))

    if images:
        body = []
        for caption, png in images.items():
            b64 = base64.b64encode(png).decode("ascii")
            body.append(
                f'<figure><img alt="{h(caption)}" src="data:image/png;base64,{b64}">'
                f"<figcaption>{h(caption)}</figcaption></figure>"
            )
        sections.append(("figures", "Figures", f"{len(images)} figures", body))

    body = []
    if data["warnings"]:
        items = []
        for w in data["warnings"]:
            where = " / ".join(h(x) for x in (w["model"], w["metric"]) if x)
            items.append(f"<li><strong>{h(w['kind'])}</strong>" + (f" {where}" if where else "") + f": {h(w['message'])}</li>")
        body.append('<ul class="warnings">' + "".join(items) + "</ul>")
    else:
        body.append("<p>None: every measurement passed the stability checks.</p>")
    sections.append(("warnings", "Warnings", f"{len(data['warnings'])} warnings", body))

    sections.append(("protocol", "Protocol", "warmup, samples, loops, timer, replication, tests",
                     [_html_table(["item", "value"], data["protocol"])]))
    sections.append(("environment", "Environment", "machine, Python, NumPy, BLAS, commit",
                     [_html_table(["item", "value"], data["environment"])] if data["environment"]
                     else ["<p>Not recorded.</p>"]))  # fmt: skip

    page = ["<h1>torchperf benchmark report</h1>", _html_overview(data, unstable)]
    page.append(
        '<nav class="toc" id="contents" aria-label="Contents"><h2>Contents</h2><ol>'
        + '<li><a href="#overview">Overview and verdicts</a></li>'
        + "".join(f'<li><a href="#{sid}">{h(title)}</a></li>' for sid, title, _, _ in sections)
        + "</ol><p class=\"note\">Sections are collapsed: click a heading to open it.</p></nav>"
    )
    for sid, title, hint, content in sections:
        page.append(
            f'<details class="section" id="{sid}"><summary><h2>{h(title)}</h2>'
            f'<span class="hint">{h(hint)}</span></summary>\n' + "\n".join(content) + "\n</details>"
        )

    title = "torchperf report" + ("" if run["complete"] else " (partial)")
    return (
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{h(title)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n"
        + "\n".join(page)
        + "\n</body>\n</html>\n"
    )


# --------------------------------------------------------------------------- CSV


def csv_text(run: Mapping[str, Any] | str | Path) -> str:
    """Return the run as CSV: one row per model x metric (see :func:`torchperf.suite.results_frame`).

    Pairs without a result are rows too: ``status`` ``n/a`` (the metric does
    not apply to the model) or ``failed``, with the ``reason`` and empty
    numbers. Text cells that a spreadsheet would run as a formula (starting
    with ``= + - @``) are prefixed with ``'``. A number that has no finite
    value (NaN, inf: e.g. the CV of a zero mean) is an empty cell.
    """
    r = _as_run(run)
    frame = results_frame(
        r["results"], not_applicable=r.get("not_applicable") or {}, failures=r.get("failures") or {}
    )
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(list(frame.columns))
    for row in frame.itertuples(index=False):
        writer.writerow([csv_cell(v) for v in row])
    return buf.getvalue()


# --------------------------------------------------------------------------- files


def render_run(
    run: Mapping[str, Any] | str | Path,
    output_dir: str | Path,
    *,
    plots: bool = True,
    correction: str | None = None,
    threshold: float = DEFAULT_NOISE_THRESHOLD,
) -> dict[str, Path]:
    """Write every report file of a run into ``output_dir``.

    Parameters
    ----------
    run : Mapping or path
        A run dict (``load_run`` / ``BenchmarkSuite.to_run()``) or the path
        of a ``results.json``.
    output_dir : str or Path
        Created if missing.
    plots : bool
        Draw and embed the figures (needs matplotlib).
    correction : {"bh", "holm"}, optional
        Multiple-comparison method (default: the run's).
    threshold : float
        Relative change below which no regression / improvement is called.

    Returns
    -------
    dict
        ``{file name: Path}`` of everything written: ``report.md``,
        ``report.html``, ``results.json``, ``results.csv`` and each figure's
        ``.png`` and ``.svg``.

    """
    out_dir = Path(output_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    full = _as_run(run)
    # The reports and figures show each model under its display name (torchperf.text:
    # escaped, long names abbreviated with a hash); results.json and the CSV keep it whole.
    data = build_report(_display_run(full), correction=correction, threshold=threshold)
    r = data.run
    figure_warnings: list[dict[str, str]] = []
    written: dict[str, Path] = {}
    md_images: dict[str, str] = {}
    html_images: dict[str, bytes] = {}
    if plots and r["results"]:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            figures = standard_figures(
                r["results"],
                provenance=provenance_line(data),
                confidence_level=float(r["protocol"].get("confidence_level", 0.95)),
                on_error="warn",
            )
        for w in caught:
            if issubclass(w.category, TorchperfWarning) and str(w.message).startswith("figure "):
                figure_warnings.append(
                    {"kind": "figure", "metric": "", "model": "", "message": str(w.message)}
                )
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
        for stem, fig in figures.items():
            paths = save_figure_files(fig, out_dir / safe_filename(stem))
            for p in paths.values():
                written[p.name] = p
            png = paths["png"]
            caption = _caption(stem)
            md_images[caption] = png.name
            html_images[caption] = png.read_bytes()
    if figure_warnings:
        data = dataclasses.replace(data, warnings=(*data.warnings, *figure_warnings))
    written["results.json"] = full.save(out_dir / "results.json", touch=False)
    written["results.csv"] = atomic_write_text(out_dir / "results.csv", utf8_safe(csv_text(full)))
    # utf8_safe: a lone surrogate in a user string is written as \ud800, not an encoding error
    written["report.md"] = atomic_write_text(
        out_dir / "report.md", utf8_safe(render_markdown(data, images=md_images))
    )
    written["report.html"] = atomic_write_bytes(
        out_dir / "report.html", utf8_safe(render_html(data, images=html_images)).encode("utf-8")
    )
    return written


def _display_run(run: Mapping[str, Any]) -> dict[str, Any]:
    """``run`` with every model name replaced by its display label (see :mod:`torchperf.text`).

    Labels are distinct for distinct names, so nothing merges; statistics only use
    names as keys and are unchanged.
    """
    labels = display_names(
        [*run.get("models", []), *(m for per in run.get("results", {}).values() for m in per),
         *run.get("failures", {}),
         *(m for per in run.get("not_applicable", {}).values() for m in per)]
    )  # fmt: skip
    if all(k == v for k, v in labels.items()):
        return dict(run)

    def lab(name: Any) -> Any:
        return labels.get(name, name) if isinstance(name, str) else name

    out = dict(run)
    out["models"] = [lab(m) for m in run.get("models", [])]
    out["results"] = {k: {lab(m): v for m, v in per.items()} for k, per in run.get("results", {}).items()}
    out["failures"] = {lab(m): v for m, v in run.get("failures", {}).items()}
    out["not_applicable"] = {
        k: {lab(m): v for m, v in per.items()} for k, per in run.get("not_applicable", {}).items()
    }
    out["warnings"] = [
        {**w, "model": lab(w.get("model"))} if isinstance(w, Mapping) else w
        for w in run.get("warnings", [])
    ]
    proto = dict(run.get("protocol", {}))
    if "baseline" in proto:
        proto["baseline"] = lab(proto["baseline"])
    out["protocol"] = proto
    return out


def _caption(stem: str) -> str:
    if stem == "pareto":
        return "Pareto frontier: latency vs accuracy"
    if stem == "latency_distribution":
        return "Latency distribution per model"
    if stem.startswith("metric_"):
        return f"{stem[len('metric_'):]} per model (with confidence intervals)"
    return stem


# --------------------------------------------------------------------------- two runs


