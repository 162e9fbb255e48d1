"""torchperf's pages in the site ``asv publish`` writes: regressions, Pareto per revision, environments.

``asv publish`` writes a static site into ``html_dir`` (and wipes it first).
:func:`publish` adds, under ``<html_dir>/torchperf/``:

* ``index.html`` -- the hub: what the history holds and links to everything below;
* ``regressions.html`` -- the verdicts of :func:`torchperf.history.verdicts.assess_history`
  (last good / first bad commit, before -> after, ratio with CI, q-value, kind,
  status ``open`` / ``fixed`` with the fixing commit, cause ``code`` /
  ``environment`` / ``broad-shift``): open code regressions first, as
  ``torchperf regressions`` lists them, everything else in a collapsed section
  (as ``--all``); then the comparison of the two latest revisions;
* ``pareto-<commit>.html`` -- per revision, the zoo variants' Pareto plots
  (latency vs error rate, latency vs peak memory, with confidence intervals),
  one pair per machine x environment, and the values in a table;
* ``pareto-history.html`` -- the interactive explorer of every revision's fronts
  (:mod:`torchperf.site.explorer`: embedded JSON, the packaged
  ``assets/pareto-explorer.js``), then, for readers without JavaScript, the latest
  values and small multiples of the same plots across the last revisions;
* ``environments.html`` -- the environments (Python, NumPy, BLAS library,
  version and threads) and, for the same commit, which benchmarks differ
  between two environments (NumPy 1.26 vs 2.x ...);

and puts a ``torchperf`` link into the navigation bar of asv's ``index.html``.
With ``offline=True`` asv's JavaScript/CSS dependencies are served from
``<html_dir>/vendor/`` (see :mod:`torchperf.site.offline`).

Safety: every string that comes from results (model names, benchmark names,
parameters, environment names, commit hashes) is HTML-escaped; file names
derived from them go through :func:`torchperf.fileio.safe_filename` (plus a
short hash, so two names never share a file); pages carry a
Content-Security-Policy that forbids every script, so even a missed escape
could not run code (``pareto-history.html`` allows ``script-src 'self'`` only: its
packaged file, no inline code); every file is written atomically.
"""

from __future__ import annotations

import ast
import datetime
import hashlib
import html
import math
import os
import re
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from torchperf.errors import (
    InvalidParameterError,
    ResultsFileError,
    TorchperfWarning,
)
from torchperf.fileio import atomic_write_json, atomic_write_text, read_json, safe_filename
from torchperf.metrics import HISTORY_METRICS

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from torchperf.pareto import Estimate

__all__ = [
    "NAV_ID",
    "ParetoData",
    "build_pages",
    "inject_nav_link",
    "pareto_data",
    "publish",
    "revision_pareto_figure",
]

#: ``id`` of the ``<li>`` torchperf adds to asv's navigation bar.
NAV_ID = "nav-li-torchperf"
#: Folder of torchperf's pages inside asv's ``html_dir``.
PAGES_DIR = "torchperf"
_MANIFEST = "manifest.json"

_CSP = "default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'"

#: The one page with a script: only the packaged ``assets/pareto-explorer.js`` (same origin, no inline code).
_CSP_EXPLORER = _CSP.replace("default-src 'none';", "default-src 'none'; script-src 'self';")

_CSS = """
body{font-family:-apple-system,'Segoe UI',Roboto,'DejaVu Sans',Arial,sans-serif;margin:0;color:#222;background:#fff}
nav.tp{background:#2c3e50;padding:.5em 1em;position:sticky;top:0}
nav.tp a{color:#ecf0f1;text-decoration:none;margin-right:1.2em;font-size:14px}
nav.tp a.here{font-weight:bold;text-decoration:underline}
main{padding:1em 2em;max-width:1400px}
h1{font-size:1.5em}h2{font-size:1.2em;margin-top:1.6em;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:.5em 0 1em;font-size:13px}
th,td{border:1px solid #ccc;padding:3px 7px;text-align:left;vertical-align:top}
th{background:#f3f5f7}
td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
tr.regression td{background:#fde8e8}tr.improvement td{background:#e7f6ea}
tr.environment td{background:#fff6dc}
.badge{display:inline-block;padding:0 6px;border-radius:8px;font-size:12px;border:1px solid #999}
.b-regression{background:#f8d0d0;border-color:#c0392b}.b-improvement{background:#cdeed5;border-color:#27ae60}
.b-environment{background:#ffe9a8;border-color:#b7950b}.b-code{background:#e3e9f6;border-color:#2c3e50}
.b-broad-shift{background:#f0e0f7;border-color:#7d3c98}.b-open{background:#f8d0d0;border-color:#c0392b}
.b-fixed,.b-reverted{background:#e8e8e8;border-color:#777}.b-kept{background:#cdeed5;border-color:#27ae60}
tr.broad-shift td{background:#f7effa}tr.fixed td,tr.reverted td{background:#f6f6f6}
.note{color:#555;font-size:13px}
code{background:#f4f4f4;padding:0 3px;word-break:break-all}
figure{display:inline-block;margin:.5em 1em 1em 0;vertical-align:top}
figure img{max-width:100%;border:1px solid #ddd}
figcaption{font-size:12px;color:#444;max-width:640px}
details{margin:.5em 0}
"""


# --------------------------------------------------------------------------- small helpers


def _e(value: Any) -> str:
    """HTML-escape anything (quotes too, so the result is safe inside attributes)."""
    return html.escape(str(value), quote=True)


def _short(commit: Any) -> str:
    return str(commit)[:8]


def _finite(x: Any) -> bool:
    try:
        return x is not None and math.isfinite(float(x))
    except (TypeError, ValueError):
        return False


def _fmt_ratio(r: Any) -> str:
    return f"{float(r):.3f}×" if _finite(r) else "n/a"


def _fmt_ci(lo: Any, hi: Any) -> str:
    if not (_finite(lo) and _finite(hi)):
        return "n/a"
    return f"[{float(lo):.3f}, {float(hi):.3f}]"


def _fmt_p(p: Any) -> str:
    """``"< 0.001"``, ``"0.034"`` or ``"n/a"``: :func:`torchperf.stats.format_p` without ``"p = "``."""
    if not _finite(p):
        return "n/a"
    from torchperf.stats import format_p

    return format_p(float(p)).removeprefix("p ").removeprefix("= ")


_UNIT_ALIASES = {"seconds": "s", "second": "s", "sec": "s", "s": "s", "bytes": "B", "byte": "B", "B": "B"}


def _fmt_value(value: Any, unit: Any) -> str:
    if not _finite(value):
        return "n/a"
    from torchperf.result import format_quantity

    u = _UNIT_ALIASES.get(str(unit or ""), None)
    if u is None:
        text = f"{float(value):.4g}"
        return f"{text} {unit}" if unit else text
    return format_quantity(float(value), u)


def _unique_file(stem: str, suffix: str) -> str:
    """A safe, collision-free file name for a user-derived ``stem``."""
    digest = hashlib.sha256(stem.encode("utf-8", "surrogatepass")).hexdigest()[:8]
    return f"{safe_filename(stem, max_length=60)}-{digest}{suffix}"


def _param_value(raw: Any) -> str:
    """Show an asv parameter value (stored as its ``repr``): ``'mlp'`` becomes ``mlp``."""
    s = str(raw)
    if len(s) >= 2 and s[0] == s[-1] and s[0] in "'\"":
        try:
            v = ast.literal_eval(s)
        except (ValueError, SyntaxError):
            return s
        if isinstance(v, str):
            return v
    return s


def _param_text(params: Sequence[Any], names: Sequence[str] | None) -> str:
    if not params:
        return ""
    vals = [_param_value(p) for p in params]
    if names and len(names) == len(vals):
        return ", ".join(f"{n}={v}" for n, v in zip(names, vals, strict=True))
    return ", ".join(vals)


def _benchmark_meta(df: pd.DataFrame) -> dict[str, dict[str, Any]]:
    """benchmarks.json of the results directory the frame came from (empty when unknown)."""
    root = df.attrs.get("results_dir")
    if not root:
        return {}
    path = Path(root) / "benchmarks.json"
    if not path.is_file():
        return {}
    try:
        data = read_json(path, what="asv benchmarks.json")
    except ResultsFileError:
        return {}
    if not isinstance(data, dict):
        return {}
    return {k: v for k, v in data.items() if isinstance(v, dict)}


def _page(
    title: str, body: str, *, here: str, nav: Sequence[tuple[str, str]], csp: str = _CSP, css: str = ""
) -> str:
    links = ['<a href="../index.html">&larr; asv benchmarks</a>']
    for href, label in nav:
        cls = ' class="here"' if href == here else ""
        links.append(f'<a href="{_e(href)}"{cls}>{_e(label)}</a>')
    return (
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        f'<meta http-equiv="Content-Security-Policy" content="{csp}">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        '<link rel="icon" href="data:,">\n'
        f"<title>{_e(title)} · torchperf</title>\n<style>{_CSS}{css}</style>\n</head>\n<body>\n"
        f'<nav class="tp">{"".join(links)}</nav>\n<main>\n<h1>{_e(title)}</h1>\n{body}\n</main>\n'
        "</body>\n</html>\n"
    )


def _table(headers: Sequence[str], rows: Sequence[tuple[str, Sequence[str]]], *, num: Sequence[int] = ()) -> str:
    """HTML table. ``rows`` hold (row class, cells); cells are ALREADY escaped HTML."""
    head = "".join(f"<th>{_e(h)}</th>" for h in headers)
    body = []
    for cls, cells in rows:
        tds = "".join(
            f'<td class="num">{c}</td>' if i in num else f"<td>{c}</td>" for i, c in enumerate(cells)
        )
        attr = f' class="{_e(cls)}"' if cls else ""
        body.append(f"<tr{attr}>{tds}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


# --------------------------------------------------------------------------- Pareto data


_LATENCY_TYPES = ("latency", "time")
_MEMORY_TYPES = ("peakbytes", "peakmemory", "memory", "mem")


@dataclass(frozen=True)
class ParetoData:
    """The zoo variants of one revision, machine and environment, ready for a Pareto plot.

    Attributes
    ----------
    commit, machine, env : str
        Where the values come from.
    batch : str or None
        Batch size of the latency and memory benchmarks (``None`` when not parameterised).
    latency, error_rate, peak_memory : dict
        Model name -> :class:`torchperf.pareto.Estimate` (seconds, percent, bytes).
    confidence_level : float
        Level of the intervals: the requested level when raw samples were
        recorded, else 0.99 (asv's stored CI of the median).
    ci_source : str
        How the intervals were obtained, in words.
    error_rate_examples : int or None
        Test-set size behind the Wilson intervals of the error rates.
    provenance : dict
        Commit, machine, environment, Python, NumPy, BLAS and batch, for the figure footer.
    benchmarks : dict
        Which asv benchmark gave each metric.
    notes : tuple of str
        Caveats (models without an error rate ...).

    """

    commit: str
    machine: str
    env: str
    batch: str | None
    latency: dict[str, Estimate]
    error_rate: dict[str, Estimate]
    peak_memory: dict[str, Estimate]
    confidence_level: float
    ci_source: str
    error_rate_examples: int | None
    provenance: dict[str, Any] = field(default_factory=dict)
    benchmarks: dict[str, str] = field(default_factory=dict)
    notes: tuple[str, ...] = ()

    def pairs(self, metric: str) -> dict[str, tuple[Estimate, Estimate]]:
        """Return ``{model: (latency, metric)}`` for the models that have both.

        ``metric`` is ``"error_rate"`` or ``"peak_memory"``.
        """
        other: dict[str, Estimate] = getattr(self, metric)
        return {m: (self.latency[m], other[m]) for m in self.latency if m in other}


def _model_param_index(bench: str, meta: Mapping[str, Any], nparams: int) -> tuple[int | None, int | None]:
    """Positions of the ``model`` and ``batch`` parameters of a benchmark."""
    names = list(meta.get(bench, {}).get("param_names") or [])
    if names:
        m = names.index("model") if "model" in names else None
        b = names.index("batch") if "batch" in names else None
        return m, b
    # no benchmarks.json: first parameter is the model, a second one the batch
    return (0 if nparams >= 1 else None), (1 if nparams >= 2 else None)


def _pick(df: pd.DataFrame, meta: Mapping[str, Any], kinds: Sequence[str] | None, name_re: str | None) -> str | None:
    """The benchmark with a model parameter of the wanted type (most rows wins)."""
    counts = df["benchmark"].value_counts()
    firsts = df.drop_duplicates("benchmark")
    types = firsts["benchmark_type"] if "benchmark_type" in firsts.columns else [None] * len(firsts)
    best: tuple[int, str] | None = None
    for bench, btype_raw, params in zip(firsts["benchmark"], types, firsts["params"], strict=True):
        bench = str(bench)
        bname = bench.rsplit(".", 1)[-1]
        btype = str(btype_raw or bname.split("_", 1)[0])
        if kinds is not None and btype not in kinds and bname.split("_", 1)[0] not in kinds:
            continue
        if name_re is not None and not re.search(name_re, bench):
            continue
        nparams = len(params) if isinstance(params, (tuple, list)) else 0
        mi, _ = _model_param_index(bench, meta, nparams)
        if mi is None or nparams == 0:
            continue
        cand = (int(counts[bench]), bench)
        if best is None or cand > best:
            best = cand
    return None if best is None else best[1]


def _plot_label(name: str) -> str:
    """Model name safe for matplotlib text (``$`` would start mathtext)."""
    return name.replace("$", r"\$")


def pareto_data(
    df: pd.DataFrame,
    revision: str,
    *,
    machine: str | None = None,
    env: str | None = None,
    batch: str | int | None = None,
    confidence_level: float = 0.95,
    error_rate_examples: int | None = None,
) -> ParetoData:
    """Collect the zoo variants' latency, error rate and peak memory at one revision.

    The benchmarks are found by type and parameter name: a ``latency_`` (or
    ``time_``) benchmark and a ``peakbytes_`` benchmark with a ``model``
    parameter, and a ``*error_rate*`` benchmark with a ``model`` parameter
    (torchperf's ``benchmarks/zoo_models.py``).

    Parameters
    ----------
    df : pandas.DataFrame
        From :func:`torchperf.history.load_results`.
    revision : str
        Commit hash or unique prefix.
    machine, env : str, optional
        Which machine / asv environment; default: the first (sorted) that has
        latency results at this revision.
    batch : str or int, optional
        Batch size of the latency and memory benchmarks; default the smallest.
    confidence_level : float, default 0.95
        Level of the intervals when raw samples were recorded (order-statistic
        CI of the median). Without samples asv's stored 99% CI is used and
        ``confidence_level`` of the result is 0.99.
    error_rate_examples : int or None
        Test-set size for Wilson intervals of the error rate: for torchperf's
        ``benchmarks/`` the size of the zoo's test split,
        :func:`torchperf.zoo.digits_test_examples` (what ``track_error_rate``
        divides by; the CLI passes it); ``None`` (default): no interval.

    Returns
    -------
    ParetoData

    Raises
    ------
    InvalidParameterError
        Unknown revision / machine / environment, or no zoo latency results at that revision.

    """
    from torchperf.history.loader import resolve_commit
    from torchperf.stats import _check_confidence_level

    _check_confidence_level(confidence_level)
    commit = resolve_commit(df, revision)
    meta = _benchmark_meta(df)
    picks = _zoo_benchmarks(df, meta)
    at = df[df["commit"] == commit]
    return _pareto_data_at(
        at.to_dict("records"), commit, meta, picks, machine=machine, env=env, batch=batch,
        confidence_level=confidence_level, error_rate_examples=error_rate_examples,
    )


def _zoo_benchmarks(df: pd.DataFrame, meta: Mapping[str, Any]) -> tuple[str, str | None, str | None]:
    """The (latency, peak memory, error rate) benchmarks of the zoo; raises without a latency one."""
    lat_b = _pick(df, meta, _LATENCY_TYPES, None)
    if lat_b is None:
        raise InvalidParameterError(
            "these results hold no latency benchmark with a `model` parameter (torchperf's "
            "benchmarks/zoo_models.py ZooLatency.latency_forward); run the zoo benchmarks with asv first."
        )
    return lat_b, _pick(df, meta, _MEMORY_TYPES, None), _pick(df, meta, None, r"error_rate")


def _pareto_data_at(
    at: Sequence[Mapping[str, Any]],
    commit: str,
    meta: Mapping[str, Any],
    picks: tuple[str, str | None, str | None],
    *,
    machine: str | None,
    env: str | None,
    batch: str | int | None,
    confidence_level: float,
    error_rate_examples: int | None,
) -> ParetoData:
    """:func:`pareto_data` on ``at``, the rows (records) of one commit, with the benchmarks already picked.

    Works on plain records, not a frame: the explorer calls it for every revision.
    """
    from torchperf.pareto import Estimate
    from torchperf.stats import wilson_ci

    lat_b, mem_b, err_b = picks
    lat_rows = [r for r in at if r["benchmark"] == lat_b]
    if not lat_rows:
        raise InvalidParameterError(
            f"revision {commit[:8]} has no results for {lat_b}; pick a revision the zoo benchmarks ran at."
        )
    combos = sorted({(str(r["machine"]), str(r["env_name"])) for r in lat_rows})
    if machine is not None:
        combos = [c for c in combos if c[0] == machine]
    if env is not None:
        combos = [c for c in combos if c[1] == env]
    if not combos:
        known = sorted({(str(r["machine"]), str(r["env_name"])) for r in lat_rows})
        raise InvalidParameterError(
            f"no latency results at {commit[:8]} for machine={machine!r}, env={env!r}; available: {known}."
        )
    machine, env = combos[0]
    sub = [r for r in at if str(r["machine"]) == machine and str(r["env_name"]) == env]

    # batch
    lat = [r for r in sub if r["benchmark"] == lat_b]
    _, bi = _model_param_index(lat_b, meta, len(lat[0]["params"]))
    batch_s: str | None = None
    if bi is not None:
        batches = sorted({str(r["params"][bi]) for r in lat}, key=lambda s: (float(s) if _finite_str(s) else math.inf, s))
        if batch is None:
            batch_s = batches[0]
        else:
            batch_s = str(batch)
            if batch_s not in batches:
                raise InvalidParameterError(f"batch {batch!r} was not measured; measured: {batches}.")

    def rows_of(bench: str | None) -> dict[str, dict[str, Any]]:
        if bench is None:
            return {}
        g = [r for r in sub if r["benchmark"] == bench]
        if not g:
            return {}
        m_i, b_i = _model_param_index(bench, meta, len(g[0]["params"]))
        out: dict[str, dict[str, Any]] = {}
        for r in g:
            p = r["params"]
            if m_i is None or m_i >= len(p):
                continue
            if b_i is not None and batch_s is not None and b_i < len(p) and str(p[b_i]) != batch_s:
                continue
            if not _finite(r["value"]):
                continue
            out[_param_value(p[m_i])] = r
        return out

    lat_r, mem_r, err_r = rows_of(lat_b), rows_of(mem_b), rows_of(err_b)
    # one interval source for the whole figure
    uncertain = [r for r in (*lat_r.values(), *mem_r.values()) if _has_spread(r)]
    use_samples = all(_samples(r) is not None for r in uncertain)
    cl = float(confidence_level) if use_samples else 0.99
    if not uncertain:
        unbounded = any(
            isinstance(r.get("ci_low"), float) and math.isinf(r["ci_low"])
            for r in (*lat_r.values(), *mem_r.values())
        )
        ci_source = (
            "no interval: one sample per result (asv run --quick?), points only"
            if unbounded
            else "no spread recorded (exact values)"
        )
    elif use_samples:
        ci_source = f"{cl:.0%} order-statistic CI of the median of the raw samples"
    else:
        ci_source = "asv's stored 99% CI of the median (raw samples not recorded: asv run --record-samples)"

    def timing(r: Mapping[str, Any], unit: str) -> Estimate:
        v = float(r["value"])
        s = _samples(r)
        if use_samples and s is not None:
            from torchperf import stats

            with warnings.catch_warnings():
                warnings.simplefilter("ignore", TorchperfWarning)
                lo, hi = stats.median_ci(s, confidence_level=cl)
            import numpy as np

            return Estimate(v, min(float(lo), v), max(float(hi), v), float(np.std(s, ddof=1)), len(s), tuple(s), True, unit)
        lo, hi = r.get("ci_low"), r.get("ci_high")
        if _finite(lo) and _finite(hi) and float(lo) <= v <= float(hi) and float(hi) > float(lo):
            return Estimate(v, float(lo), float(hi), 0.0, 1, (v,), True, unit)
        return Estimate(v, v, v, 0.0, 1, (v,), True, unit)

    n_ex: int | None
    if error_rate_examples is None:
        n_ex = None
    elif isinstance(error_rate_examples, int) and not isinstance(error_rate_examples, bool) and error_rate_examples > 0:
        n_ex = error_rate_examples
    else:
        raise InvalidParameterError(
            f"`error_rate_examples` must be a positive int (the test-set size, e.g. "
            f"torchperf.zoo.digits_test_examples()) or None; got {error_rate_examples!r}."
        )
    notes: list[str] = []

    def error(r: Mapping[str, Any]) -> Estimate:
        p = float(r["value"])
        if n_ex is not None and 0 <= p <= 1 and abs(p * n_ex - round(p * n_ex)) < 1e-6 * n_ex:
            lo, hi = wilson_ci(round(p * n_ex), n_ex, confidence_level=cl)
            return Estimate(100 * p, 100 * lo, 100 * hi, 100 * math.sqrt(p * (1 - p)), n_ex, (100 * p,), True, "%", True)
        return Estimate(100 * p, 100 * p, 100 * p, 0.0, 1, (100 * p,), True, "%")

    latency = {m: timing(r, "s") for m, r in lat_r.items()}
    memory = {m: timing(r, "B") for m, r in mem_r.items()}
    errors = {m: error(r) for m, r in err_r.items()}
    no_err = sorted(m for m in latency if m not in errors)
    if err_b is not None and no_err:
        notes.append("no error rate (not a classifier, or skipped): " + ", ".join(no_err))
    if n_ex is not None and errors:
        notes.append(f"error-rate intervals: Wilson {cl:.0%}, n = {n_ex} test examples")
    first = sub[0]
    prov = {
        "commit": commit[:8],
        "machine": machine,
        "env": env,
        "python": first.get("python"),
        "numpy": first.get("numpy_version") if _known(first.get("numpy_version")) else first.get("env_numpy"),
        "blas": first.get("blas_library") if _known(first.get("blas_library")) else None,
        "blas_threads": first.get("blas_threads") if _known(first.get("blas_threads")) else None,
        "batch": batch_s,
    }
    prov = {k: v for k, v in prov.items() if _known(v)}
    prov["env_label"] = f"numpy {prov['numpy']}" if "numpy" in prov else (env if len(env) <= 40 else env[:37] + "...")
    return ParetoData(
        commit=commit,
        machine=machine,
        env=env,
        batch=batch_s,
        latency=latency,
        error_rate=errors,
        peak_memory=memory,
        confidence_level=cl,
        ci_source=ci_source,
        error_rate_examples=n_ex if errors else None,
        provenance=prov,
        benchmarks={k: v for k, v in (("latency", lat_b), ("peak_memory", mem_b), ("error_rate", err_b)) if v},
        notes=tuple(notes),
    )


def _finite_str(s: str) -> bool:
    try:
        return math.isfinite(float(s))
    except ValueError:
        return False


def _known(v: Any) -> bool:
    if v is None:
        return False
    if isinstance(v, float) and math.isnan(v):
        return False
    return str(v) != ""


def _samples(r: Mapping[str, Any]) -> list[float] | None:
    s = r.get("samples")
    if isinstance(s, list) and len(s) >= 2:
        vals = [float(x) for x in s if _finite(x)]
        if len(vals) >= 2:
            return vals
    return None


def _has_spread(r: Mapping[str, Any]) -> bool:
    if _samples(r) is not None:
        return True
    lo, hi = r.get("ci_low"), r.get("ci_high")
    return _finite(lo) and _finite(hi) and float(hi) > float(lo)


_Y_METRICS = {m: HISTORY_METRICS[m].label for m in ("error_rate", "peak_memory")}


def _directions(metric: str) -> tuple[str, str]:
    """Pareto senses of (latency, ``metric``) from :data:`torchperf.metrics.HISTORY_METRICS`."""
    return (HISTORY_METRICS["latency"].direction.sense, HISTORY_METRICS[metric].direction.sense)


def _figure(data: ParetoData, metric: str, title: str | None = None) -> Any:
    from torchperf.plots import plot_pareto

    pairs = data.pairs(metric)
    table = {_plot_label(m): v for m, v in pairs.items()}
    prov = {k: v for k, v in data.provenance.items() if k not in ("env", "env_label")}  # env is in the title
    return plot_pareto(
        table,
        x_metric="latency",
        y_metric=_Y_METRICS[metric],
        directions=_directions(metric),
        confidence_level=data.confidence_level,
        title=title or f"{_Y_METRICS[metric]} vs latency at {data.commit[:8]} ({data.provenance['env_label']})",
        provenance=prov,
    )


def revision_pareto_figure(
    df: pd.DataFrame,
    revision: str,
    output_path: str | os.PathLike[str],
    *,
    machine: str | None = None,
    env: str | None = None,
    batch: str | int | None = None,
    confidence_level: float = 0.95,
    error_rate_examples: int | None = None,
) -> list[Path]:
    """Pareto plots of one revision: zoo variants' latency vs error rate and vs peak memory.

    Parameters
    ----------
    df : pandas.DataFrame
        From :func:`torchperf.history.load_results`.
    revision : str
        Commit hash or unique prefix.
    output_path : path-like
        ``<stem>.png``: latency vs error rate is written to ``<stem>.png`` and
        ``<stem>.svg``; latency vs peak memory to ``<stem>-memory.png`` and
        ``<stem>-memory.svg``. A figure whose metric was not measured is skipped.
    machine, env, batch, confidence_level, error_rate_examples
        As in :func:`pareto_data` (default: first machine/environment, smallest batch).

    Returns
    -------
    list of pathlib.Path
        The files written (PNG and SVG of each figure).

    Raises
    ------
    InvalidParameterError
        If the revision is unknown or has neither error-rate nor memory
        results next to its latencies.

    """
    from torchperf.plots import save_figure

    data = pareto_data(
        df, revision, machine=machine, env=env, batch=batch, confidence_level=confidence_level,
        error_rate_examples=error_rate_examples,
    )
    stem = Path(output_path)
    if stem.suffix.lower() in (".png", ".svg", ".pdf"):
        stem = stem.with_suffix("")
    written: list[Path] = []
    made = False
    for metric, suffix in (("error_rate", ""), ("peak_memory", "-memory")):
        if not data.pairs(metric):
            continue
        fig = _figure(data, metric)
        written.extend(save_figure(fig, Path(f"{stem}{suffix}")))
        made = True
    if not made:
        raise InvalidParameterError(
            f"revision {data.commit[:8]} ({data.env}) has latencies but neither error-rate nor "
            "peak-memory results for the same models; nothing to plot."
        )
    return written


# --------------------------------------------------------------------------- pages


@dataclass
class _Site:
    out: Path
    written: list[Path] = field(default_factory=list)

    def write(self, rel: str, text: str) -> Path:
        path = self.out / rel
        atomic_write_text(path, text)
        self.written.append(path)
        return path

    def save(self, fig: Any, rel_stem: str, *, svg: bool = True) -> tuple[str, str]:
        """Write PNG (and SVG) of ``fig``; return (png, link target) relative paths."""
        from torchperf.plots import save_figure

        paths = save_figure(fig, self.out / rel_stem, formats=("png", "svg") if svg else ("png",))
        self.written.extend(paths)
        return (f"{rel_stem}.png", f"{rel_stem}.svg" if svg else f"{rel_stem}.png")


_NAV = (
    ("index.html", "torchperf overview"),
    ("regressions.html", "Regressions"),
    ("pareto-history.html", "Pareto across revisions"),
    ("environments.html", "Environments"),
)


def _dates(df: pd.DataFrame) -> dict[str, Any]:
    """Commit -> date (of its first row); empty when the frame has no dates."""
    if "date" not in df.columns:
        return {}
    first = df.drop_duplicates("commit")
    return {str(c): d for c, d in zip(first["commit"], first["date"], strict=True)}


def _series_label(row: Any, meta: Mapping[str, Any]) -> tuple[str, str]:
    bench = str(row.benchmark)
    names = meta.get(bench, {}).get("param_names")
    return bench, _param_text(row.params, names)


def _commit_cell(commit: str, date: Any = None, *, inline: bool = False) -> str:
    sep = " " if inline else "<br>"
    d = f'{sep}<span class="note">({_e(str(date)[:19])})</span>' if date else ""
    return f'<code title="{_e(commit)}">{_e(_short(commit))}</code>{d}'


def _levels(before: Any, after: Any, unit: Any) -> str:
    return f"{_e(_fmt_value(before, unit))} &rarr; {_e(_fmt_value(after, unit))}"


def _cause_cell(v: Any) -> str:
    cause = str(v.cause)
    why = ""
    if v.env_change:
        why = "<br>" + "; ".join(
            f"{_e(k)}: {_e(x[0])} &rarr; {_e(x[1])}" for k, x in sorted(v.env_change.items())
        )
    elif v.broad_shift:
        b = v.broad_shift
        why = (f'<br><span class="note">{_e(b.get("groups"))} of {_e(b.get("groups_measured"))} benchmark '
               f'groups moved at this commit (p = {_e(_fmt_p(b.get("p_value")))}); machine or '
               "environment suspected</span>")
    return f'<span class="badge b-{_e(cause)}">{_e(cause)}</span>{why}'


def _status_cell(v: Any, dates: Mapping[str, Any]) -> str:
    status = str(v.status)
    cell = f'<span class="badge b-{_e(status)}">{_e(status)}</span>'
    if v.fixed_by:
        ratio = f", ratio {_e(_fmt_ratio(v.fix_ratio))}" if _finite(v.fix_ratio) else ""
        cell += f"<br>by {_commit_cell(v.fixed_by, dates.get(v.fixed_by), inline=True)}{ratio}"
    return cell


def _verdict_rows(verdicts: Sequence[Any], meta: Mapping[str, Any], dates: Mapping[str, Any]) -> list[tuple[str, list[str]]]:
    """Table rows of :class:`torchperf.history.verdicts.Verdict` s (status and cause included)."""
    rows = []
    for v in verdicts:
        bench, ptxt = _series_label(v, meta)
        cause = str(v.cause)
        if v.status in ("fixed", "reverted"):
            cls = str(v.status)
        elif cause in ("environment", "broad-shift"):
            cls = cause
        else:
            cls = str(v.direction)
        rows.append(
            (
                cls,
                [
                    f"<code>{_e(bench)}</code>",
                    _e(ptxt),
                    f"{_e(v.machine)}<br><span class=\"note\">{_e(v.env)}</span>",
                    _commit_cell(v.commit_before, dates.get(v.commit_before)),
                    _commit_cell(v.commit_after, dates.get(v.commit_after)),
                    _levels(v.value_before, v.value_after, v.unit),
                    _e(_fmt_ratio(v.ratio)),
                    _e(_fmt_ci(v.ci_low, v.ci_high)),
                    _e(_fmt_p(v.q_value)),
                    _e("change point" if v.kind == "change-point" else "pairwise"),
                    f'<span class="badge b-{_e(v.direction)}">{_e(v.direction)}</span>',
                    _status_cell(v, dates),
                    _cause_cell(v),
                ],
            )
        )
    return rows


_CP_HEADERS = (
    "benchmark", "parameters", "machine / environment", "last good", "first bad", "before → after",
    "ratio", "CI", "q", "kind", "direction", "status", "cause",
)


def _finding_rows(findings: Sequence[Any], meta: Mapping[str, Any], *, env_pair: bool = False) -> list[tuple[str, list[str]]]:
    rows = []
    for f in findings:
        bench, ptxt = _series_label(f, meta)
        where = f"{_e(f.machine)}" if env_pair else f"{_e(f.machine)}<br><span class=\"note\">{_e(f.env)}</span>"
        notes = "; ".join(str(n) for n in f.notes)
        rows.append(
            (
                str(f.verdict) if f.verdict in ("regression", "improvement") else "",
                [
                    f"<code>{_e(bench)}</code>",
                    _e(ptxt),
                    where,
                    _levels(f.value_before, f.value_after, f.unit),
                    _e(_fmt_ratio(f.ratio)),
                    _e(_fmt_ci(f.ci_low, f.ci_high)),
                    _e(_fmt_p(f.p_value)),
                    _e(_fmt_p(f.q_value)),
                    f'<span class="badge b-{_e(f.verdict)}">{_e(f.verdict)}</span> {_e(f.change)}',
                    f'{_e(f.evidence)}, {_e(f.noise_model)}<br><span class="note">{_e(notes)}</span>',
                ],
            )
        )
    return rows


_F_HEADERS = ("benchmark", "parameters", "machine / environment", "before &rarr; after", "ratio", "CI", "p", "q", "verdict", "evidence")


def _findings_table(findings: Sequence[Any], meta: Mapping[str, Any], *, env_pair: bool = False) -> str:
    headers = list(_F_HEADERS)
    headers[3] = "before → after"
    if findings:
        headers[5] = f"{findings[0].confidence_level:.0%} CI"
    if env_pair:
        headers[2] = "machine"
    notable = [f for f in findings if f.verdict in ("regression", "improvement")]
    rest = [f for f in findings if f.verdict not in ("regression", "improvement")]
    parts = []
    if notable:
        parts.append(_table(headers, _finding_rows(notable, meta, env_pair=env_pair), num=(4, 5, 6, 7)))
    else:
        parts.append('<p>No significant change beyond threshold.</p>')
    if rest:
        n_eq = sum(f.verdict == "equivalent" for f in rest)
        parts.append(
            f"<details><summary>{len(rest)} other series ({n_eq} equivalent, {len(rest) - n_eq} inconclusive)"
            f"</summary>{_table(headers, _finding_rows(rest, meta, env_pair=env_pair), num=(4, 5, 6, 7))}</details>"
        )
    return "\n".join(parts)


def _regressions_page(
    site: _Site, df: pd.DataFrame, meta: Mapping[str, Any], fdr: float,
    tick: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    from torchperf.history.compare import compare_revisions
    from torchperf.history.verdicts import assess_history, select_verdicts

    dates = _dates(df)
    thresholds = df.attrs.get("regressions_thresholds") or {}
    body = [
        "<p>Change points are level shifts inside one series (benchmark &times; parameters &times; "
        "machine &times; environment), found on the log scale by a multiscale scan of windows (short "
        "levels and steps near either end included) with an outlier guard and a drift-aware local "
        f"test; q-values control the false-discovery rate across all series (FDR {fdr:g}). A change "
        f"is reported when q &le; {fdr:g} and the ratio exceeds the benchmark's noise threshold; the "
        "newest revisions, which a change point cannot reach yet, are compared pairwise. "
        "<b>status</b>: <i>open</i> while the regression is still there at the newest revision, "
        "<i>fixed</i> (with the fixing commit) once a later change undid it. <b>cause</b>: "
        "<i>environment</i> when recorded environment facts (NumPy/BLAS/Python, asv's environment "
        "and params, environment snapshots) changed at that commit; <i>broad-shift</i> when many "
        "unrelated benchmark groups moved together (machine or environment suspected); else "
        "<i>code</i>. As <code>torchperf regressions</code>, the open code regressions come first; "
        "everything else (<code>--all</code>) is in the collapsed section below them.</p>",
        f'<p class="note">Noise thresholds (asv <code>regressions_thresholds</code>): '
        f"{_e(', '.join(f'{k}: {v:g}' for k, v in thresholds.items()) or 'default 5%')}</p>",
    ]
    scanned = None if tick is None else (lambda k, n: tick(f"series {k}/{n} scanned"))
    verdicts = assess_history(df, fdr=fdr, progress=scanned)
    shown = select_verdicts(verdicts)
    ids = {id(v) for v in shown}
    others = [v for v in verdicts if id(v) not in ids]
    n_cp = sum(v.kind == "change-point" for v in verdicts)
    n_reg = sum(v.direction == "regression" and v.cause == "code" for v in verdicts)
    headers = list(_CP_HEADERS)
    if verdicts:
        headers[7] = f"{verdicts[0].confidence_level:.0%} CI"
    body.append(f"<h2>Open code regressions ({len(shown)})</h2>")
    if shown:
        body.append(_table(headers, _verdict_rows(shown, meta, dates), num=(6, 7, 8)))
    else:
        body.append("<p>No open code regression.</p>")
    if others:
        def count(pred: Callable[[Any], bool]) -> int:
            return sum(1 for v in others if pred(v))

        summary = (f"{len(others)} other changes: {count(lambda v: v.status == 'fixed')} fixed regression(s), "
                   f"{count(lambda v: v.direction == 'improvement')} improvements, "
                   f"{count(lambda v: v.cause == 'environment')} environment-caused, "
                   f"{count(lambda v: v.cause == 'broad-shift')} broad shifts")
        body.append(f"<details><summary>{_e(summary)}</summary>"
                    f"{_table(headers, _verdict_rows(others, meta, dates), num=(6, 7, 8))}</details>")
    elif not shown:
        body.append("<p>No significant change point in any series.</p>")
    # latest revision-to-revision comparison
    order = df.drop_duplicates("commit").sort_values("revision")["commit"].tolist()
    latest: dict[str, Any] = {"change_points": n_cp, "code_regressions": n_reg, "open_code_regressions": len(shown)}
    body.append("<h2>Latest revision against the previous one</h2>")
    if len(order) >= 2:
        a, b = order[-2], order[-1]
        try:
            findings = compare_revisions(df, a, b, fdr=fdr)
        except InvalidParameterError as exc:
            body.append(f"<p>Not compared: {_e(exc)}</p>")
        else:
            body.append(
                f"<p>{_commit_cell(a, dates.get(a), inline=True)} &rarr; {_commit_cell(b, dates.get(b), inline=True)}: ratio = after / before "
                "with its 95% CI; the test uses run-to-run noise estimated from each series' history "
                f"(Benjamini-Hochberg across {len(findings)} series).</p>"
            )
            body.append(_findings_table(findings, meta))
            latest["latest_findings"] = len(findings)
            latest["latest_significant"] = sum(f.significant for f in findings)
    else:
        body.append("<p>Only one revision has results; nothing to compare yet.</p>")
    site.write("regressions.html", _page("Regressions and change points", "\n".join(body), here="regressions.html", nav=_NAV))
    return latest


def _environments_page(site: _Site, df: pd.DataFrame, meta: Mapping[str, Any], fdr: float) -> dict[str, Any]:
    from torchperf.history.envdiff import compare_environments, environment_table

    table = environment_table(df)
    cols = [c for c in table.columns if c not in ("env_params",)]
    rows = []
    for r in table.to_dict("records"):
        rows.append(("", [_e("" if not _known(r.get(c)) else (_short(r[c]) if c == "commit" else r[c])) for c in cols]))
    body = [
        "<p>Each asv environment (matrix cell) as measured: Python, matrix parameters and, from "
        "torchperf's side store, the NumPy actually imported and the BLAS library, version and "
        "threads (threadpoolctl). Facts are those of each environment's latest commit.</p>",
        _table(cols, rows),
    ]
    info: dict[str, Any] = {"environments": len(table), "pairs": 0}
    for machine, g in table.groupby("machine", sort=True):
        envs = sorted(g["env_name"].astype(str))
        for i, ea in enumerate(envs):
            for eb in envs[i + 1 :]:
                sub = df[df["machine"] == machine]
                try:
                    found = compare_environments(sub, ea, eb, fdr=fdr)
                except InvalidParameterError as exc:
                    body.append(f"<h2>{_e(ea)} vs {_e(eb)} on {_e(machine)}</h2><p>Not compared: {_e(exc)}</p>")
                    continue
                info["pairs"] += 1
                commit = found[0].commit_before if found else ""
                sig = sum(f.significant for f in found)
                body.append(
                    f"<h2>{_e(eb)} vs {_e(ea)} on {_e(machine)}</h2>"
                    f"<p>Same commit {_commit_cell(commit)}; ratio = <b>{_e(eb)}</b> / <b>{_e(ea)}</b>; "
                    f"{sig} of {len(found)} benchmarks differ significantly beyond threshold "
                    f"(FDR {fdr:g}).</p>"
                )
                if found:
                    fa, fb = found[0].facts_before, found[0].facts_after
                    keys = sorted(set(fa) | set(fb))
                    frows = [
                        ("environment" if fa.get(k) != fb.get(k) else "", [_e(k), _e(fa.get(k, "")), _e(fb.get(k, ""))])
                        for k in keys
                    ]
                    body.append(_table(["fact", ea, eb], frows))
                body.append(_findings_table(found, meta, env_pair=True))
    if info["pairs"] == 0 and len(table) < 2:
        body.append("<p>Only one environment has results; run asv with the NumPy matrix to compare environments.</p>")
    site.write("environments.html", _page("Environments: NumPy and BLAS effects", "\n".join(body), here="environments.html", nav=_NAV))
    return info


def _pareto_values_table(data: ParetoData) -> str:
    from torchperf.pareto import pareto_front

    status: dict[str, dict[str, str]] = {}
    for metric in ("error_rate", "peak_memory"):
        pairs = data.pairs(metric)
        if len(pairs) >= 1:
            pr = pareto_front(pairs, _directions(metric), objectives=("latency", metric), confidence_level=data.confidence_level)
            status[metric] = {m: pr.status(m) for m in pr.names}
    rows = []
    for m, lat in data.latency.items():
        err = data.error_rate.get(m)
        mem = data.peak_memory.get(m)

        def est(e: Estimate | None, unit: str) -> str:
            if e is None:
                return "n/a"
            if e.ci_low == e.ci_high:
                return _e(_fmt_value(e.value, unit))
            return f"{_e(_fmt_value(e.value, unit))}<br><span class=\"note\">[{_e(_fmt_value(e.ci_low, unit))}, {_e(_fmt_value(e.ci_high, unit))}]</span>"

        rows.append(
            (
                "",
                [
                    _e(m),
                    est(lat, "s"),
                    est(err, "%") if err is None else (f"{err.value:.2f} %" + (f'<br><span class="note">[{err.ci_low:.2f}, {err.ci_high:.2f}]</span>' if err.ci_low != err.ci_high else "")),
                    est(mem, "B"),
                    _e(status.get("error_rate", {}).get(m, "n/a")),
                    _e(status.get("peak_memory", {}).get(m, "n/a")),
                ],
            )
        )
    return _table(
        ["model", "latency (median, CI)", "error rate", "peak memory", "latency / error-rate front", "latency / memory front"],
        rows,
        num=(1, 2, 3),
    )


def _fig_html(png: str, svg: str, caption: str, alt: str) -> str:
    return (
        f'<figure><a href="{_e(svg)}"><img src="{_e(png)}" alt="{_e(alt)}"></a>'
        f"<figcaption>{caption}</figcaption></figure>"
    )


def _pareto_pages(
    site: _Site, df: pd.DataFrame, commits: Sequence[str], history: Sequence[str], confidence_level: float,
    error_rate_examples: int | None = None, all_revisions: Sequence[str] | None = None,
    tick: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """One page per revision in ``commits``; the explorer over ``all_revisions`` and small multiples over ``history``.

    ``tick(what)`` is called before each page (progress within the stage).
    """
    from torchperf.plots import plot_pareto_history

    dates = _dates(df)
    pages: list[tuple[str, str]] = []
    combos = sorted({(str(m), str(e)) for m, e in zip(df["machine"], df["env_name"], strict=True)})
    data_cache: dict[tuple[str, str, str], ParetoData | None] = {}

    def get(commit: str, machine: str, env: str) -> ParetoData | None:
        key = (commit, machine, env)
        if key not in data_cache:
            try:
                data_cache[key] = pareto_data(
                    df, commit, machine=machine, env=env, confidence_level=confidence_level,
                    error_rate_examples=error_rate_examples,
                )
            except InvalidParameterError:
                data_cache[key] = None
        return data_cache[key]

    for i, commit in enumerate(commits):
        if tick is not None:
            tick(f"revision {i + 1}/{len(commits)} ({commit[:8]})")
        body = [
            f"<p>Commit {_commit_cell(commit, dates.get(commit), inline=True)}. Each point is one zoo variant; "
            "filled markers are on the Pareto frontier (lower latency, lower error rate / memory), "
            "half-filled are dominated on the point estimates but not with confidence (tied), hollow "
            "are dominated with confidence. Bars are confidence intervals.</p>"
        ]
        any_fig = False
        for machine, env in combos:
            data = get(commit, machine, env)
            if data is None:
                continue
            body.append(f"<h2>{_e(machine)} &middot; {_e(env)}</h2>")
            body.append(
                f'<p class="note">batch {_e(data.batch or "n/a")}; intervals: {_e(data.ci_source)}; '
                f"benchmarks: {_e(', '.join(f'{k}={v}' for k, v in data.benchmarks.items()))}"
                + "".join(f"<br>{_e(n)}" for n in data.notes)
                + "</p>"
            )
            for metric in ("error_rate", "peak_memory"):
                if not data.pairs(metric):
                    continue
                stem = "img/" + _unique_file(f"pareto-{commit[:8]}-{machine}-{env}-{metric}", "")
                png, svg = site.save(_figure(data, metric), stem, svg=False)
                any_fig = True
                body.append(_fig_html(png, svg, f"{_e(_Y_METRICS[metric])} vs latency", f"Pareto plot {_Y_METRICS[metric]} vs latency, {env}"))
            body.append(_pareto_values_table(data))
        if not any_fig:
            continue
        name = _unique_file(f"pareto-{commit[:8]}", ".html")
        site.write(name, _page(f"Pareto front at {commit[:8]}", "\n".join(body), here=name, nav=_NAV))
        pages.append((commit, name))

    # the interactive explorer over every revision, then the static view (no JavaScript needed)
    if tick is not None:
        tick(f"explorer over {len(all_revisions or commits)} revisions and small multiples")
    from torchperf.site import explorer

    revs = list(all_revisions) if all_revisions is not None else list(history)
    body = []
    if revs:
        payload = explorer.pareto_history_payload(
            df, confidence_level=confidence_level, error_rate_examples=error_rate_examples, revisions=revs,
        )
        asset = site.write(f"assets/{explorer.ASSET_JS}", explorer.asset_text()).relative_to(site.out).as_posix()
        body += [
            f"<p>The zoo variants' Pareto fronts at each of the {len(revs)} revisions with zoo results, oldest "
            f"first. The interactive view below needs JavaScript (the packaged <code>{_e(asset)}</code>, no "
            "network); without it, the static view further down shows the latest values and small multiples "
            "of the last revisions.</p>",
            explorer.explorer_html(payload, asset),
        ]
    body += [
        "<h2>Static view</h2>",
    ]
    latest = history[-1] if history else None
    for machine, env in combos:
        data = get(latest, machine, env) if latest is not None else None
        if data is None:
            continue
        body.append(f"<h3>{_e(machine)} &middot; {_e(env)}: values at {_commit_cell(latest, dates.get(latest), inline=True)}</h3>")
        body.append(_pareto_values_table(data))
    body.append(
        f"<p>Small multiples over the last {len(history)} revisions that have zoo results, oldest "
        "first, on shared axes: a model keeps its marker in every panel, so a variant leaving the "
        "frontier is visible at a glance.</p>"
    )
    n_hist = 0
    for machine, env in combos:
        for metric in ("error_rate", "peak_memory"):
            panels = []
            cls = []
            label = ""
            for commit in history:
                data = get(commit, machine, env)
                if data is None or not data.pairs(metric):
                    continue
                panels.append((commit[:8], {_plot_label(m): v for m, v in data.pairs(metric).items()}))
                cls.append(data.confidence_level)
                label = str(data.provenance.get("env_label", env))
            if not panels:
                continue
            fig = plot_pareto_history(
                panels,
                x_metric="latency",
                y_metric=_Y_METRICS[metric],
                directions=_directions(metric),
                confidence_level=min(cls),
                provenance={"machine": machine, "env": label},
            )
            stem = "img/" + _unique_file(f"history-{machine}-{env}-{metric}", "")
            png, svg = site.save(fig, stem)
            body.append(f"<h2>{_e(machine)} &middot; {_e(env)}: {_e(_Y_METRICS[metric])} vs latency</h2>")
            body.append(_fig_html(png, svg, f"{len(panels)} revisions", f"Pareto small multiples {env} {metric}"))
            n_hist += 1
    if not n_hist:
        body.append("<p>No revision has zoo latency results with error rates or peak memory.</p>")
    if pages:
        links = "".join(
            f'<li><a href="{_e(name)}">{_e(c[:8])}</a> <span class="note">{_e(str(dates.get(c, ""))[:19])}</span></li>'
            for c, name in reversed(pages)
        )
        body.append(f"<h2>Pareto page per revision</h2><ul>{links}</ul>")
    site.write(
        "pareto-history.html",
        _page("Pareto fronts across revisions", "\n".join(body), here="pareto-history.html", nav=_NAV,
              csp=_CSP_EXPLORER, css=explorer.EXPLORER_CSS),
    )
    return {"pareto_pages": pages, "small_multiples": n_hist}


def build_pages(
    df: pd.DataFrame,
    out_dir: str | os.PathLike[str],
    *,
    pareto_revisions: int = 5,
    history_revisions: int = 6,
    fdr: float = 0.05,
    confidence_level: float = 0.95,
    error_rate_examples: int | None = None,
    torchperf_version: str | None = None,
    progress: Callable[[int, int, str], None] | None = None,
) -> list[Path]:
    """Write torchperf's pages for the history in ``df`` into ``out_dir``.

    Parameters
    ----------
    df : pandas.DataFrame
        From :func:`torchperf.history.load_results`.
    out_dir : path-like
        Destination folder (``<html_dir>/torchperf`` when called by :func:`publish`).
    pareto_revisions : int, default 5
        A Pareto page is written for each of the latest ``pareto_revisions``
        revisions with zoo results (0 = all).
    history_revisions : int, default 6
        Revisions in the small-multiples view.
    fdr : float, default 0.05
        False-discovery rate of change points and comparisons.
    confidence_level : float, default 0.95
        Level of the Pareto plots' intervals when raw samples were recorded.
    error_rate_examples : int, optional
        Test-set size behind the recorded error rates (see :func:`pareto_data`).
    torchperf_version : str, optional
        Version shown on the hub page as the generator (the CLI passes
        ``torchperf.__version__``); omitted when ``None``.
    progress : callable, optional
        ``progress(completed, total, description)`` before each of the 4
        stages (regressions, environments, Pareto pages, hub), and within the
        regressions stage as series are scanned (``"regressions page: series 40/400
        scanned"``) and the Pareto stage before each page, with the same ``completed``
        and a description such as ``"Pareto pages: revision 2/5 (0123abcd)"``; the
        library never prints, the CLI shows it on stderr.

    Returns
    -------
    list of pathlib.Path
        Every file written, ``index.html`` first.

    """
    for name, val in (("pareto_revisions", pareto_revisions), ("history_revisions", history_revisions)):
        if isinstance(val, bool) or not isinstance(val, int) or val < 0:
            raise InvalidParameterError(f"`{name}` must be a non-negative int; got {val!r}.")
    from torchperf.history.changepoints import _check_fdr

    _check_fdr(fdr)
    out = Path(out_dir)
    old = _read_manifest(out)
    site = _Site(out)
    meta = _benchmark_meta(df)

    def stage(k: int, what: str) -> None:
        if progress is not None:
            progress(k, 4, what)

    stage(0, "regressions page")
    reg = _regressions_page(site, df, meta, fdr, tick=lambda what: stage(0, f"regressions page: {what}"))
    stage(1, "environments page")
    envs = _environments_page(site, df, meta, fdr)
    # revisions with zoo latency results
    lat_b = _pick(df, meta, _LATENCY_TYPES, None)
    zoo_commits: list[str] = []
    if lat_b is not None:
        sub = df[df["benchmark"] == lat_b].drop_duplicates("commit").sort_values("revision")
        zoo_commits = sub["commit"].tolist()
    commits = zoo_commits if pareto_revisions == 0 else zoo_commits[-pareto_revisions:]
    hist = zoo_commits[-history_revisions:] if history_revisions else []
    stage(2, "Pareto pages")
    par = _pareto_pages(site, df, commits, hist, confidence_level, error_rate_examples, all_revisions=zoo_commits,
                        tick=lambda what: stage(2, f"Pareto pages: {what}"))
    stage(3, "hub page")

    # hub
    order = df.drop_duplicates("commit").sort_values("revision")
    n_series = df.groupby(["machine", "env_name", "benchmark", "param_str"]).ngroups
    first, last = order.iloc[0], order.iloc[-1]
    facts = [
        ("results directory", df.attrs.get("results_dir", "")),
        ("revisions", f"{len(order)} ({_short(first['commit'])} … {_short(last['commit'])})"),
        ("latest commit", f"{last['commit']} ({str(last['date'])[:19]})"),
        ("machines", ", ".join(sorted(df["machine"].astype(str).unique()))),
        ("environments", ", ".join(sorted(df["env_name"].astype(str).unique()))),
        ("benchmarks", f"{df['benchmark'].nunique()} ({n_series} series)"),
        ("generated", datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")),
    ]
    if torchperf_version is not None:
        facts.append(("torchperf", torchperf_version))
    body = [
        _table(["", ""], [("", [_e(k), _e(v)]) for k, v in facts]),
        "<h2>Pages</h2><ul>",
        f'<li><a href="regressions.html">Regressions and change points</a>: {reg["change_points"]} change '
        f'points, {reg["code_regressions"]} code regressions ({reg["open_code_regressions"]} open)'
        + (f'; latest revision vs previous: {reg["latest_significant"]} of {reg["latest_findings"]} series changed significantly'
           if "latest_findings" in reg else "")
        + "</li>",
        f'<li><a href="environments.html">Environments</a>: {envs["environments"]} environments, '
        f'{envs["pairs"]} same-commit comparisons (NumPy / BLAS effects)</li>',
        '<li><a href="pareto-history.html">Pareto fronts across revisions</a> (step through every revision; '
        "static small multiples without JavaScript)</li>",
        "</ul>",
    ]
    if par["pareto_pages"]:
        links = "".join(f'<li><a href="{_e(n)}">{_e(c[:8])}</a></li>' for c, n in reversed(par["pareto_pages"]))
        body.append(f"<h2>Pareto front per revision</h2><ul>{links}</ul>")
    else:
        body.append("<p>No revision has zoo latency results (benchmarks/zoo_models.py); no Pareto pages.</p>")
    index = site.write("index.html", _page("torchperf: history analysis", "\n".join(body), here="index.html", nav=_NAV))
    _write_manifest(out, site.written, old)
    return [index, *[p for p in site.written if p != index]]


def _read_manifest(out: Path) -> list[str]:
    path = out / _MANIFEST
    if not path.is_file():
        return []
    try:
        data = read_json(path, what="torchperf pages manifest")
    except ResultsFileError:
        return []
    files = data.get("files") if isinstance(data, dict) else None
    return [f for f in files if isinstance(f, str)] if isinstance(files, list) else []


def _write_manifest(out: Path, written: Sequence[Path], old: Sequence[str]) -> None:
    rel = sorted({p.relative_to(out).as_posix() for p in written})
    root = out.resolve()
    for name in set(old) - set(rel):  # stale pages of an earlier publish
        target = (out / name).resolve()
        if root in target.parents and target.is_file():
            target.unlink()
    atomic_write_json(out / _MANIFEST, {"schema": "torchperf.pages", "schema_version": 1, "files": rel})


# --------------------------------------------------------------------------- asv integration


_NAV_LI = f'<li id="{NAV_ID}"><a href="{PAGES_DIR}/index.html">torchperf</a></li>'


def inject_nav_link(index_html: str | os.PathLike[str]) -> bool:
    """Add a ``torchperf`` entry to the navigation bar of asv's ``index.html``.

    Idempotent: nothing changes when the entry is already there.

    Parameters
    ----------
    index_html : path-like
        asv's published ``index.html``.

    Returns
    -------
    bool
        True when the file was changed.

    Raises
    ------
    ResultsFileError
        If the file is missing or has no navigation bar torchperf recognises.

    """
    path = Path(index_html)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ResultsFileError(
            f"cannot read asv's {path}: {exc.strerror or exc}; run `asv publish` first."
        ) from None
    if f'id="{NAV_ID}"' in text:
        return False
    anchor = re.search(r'<li id="nav-li-graphdisplay"', text)
    if anchor is None:
        anchor = re.search(r"</ul>\s*</nav>", text)
    if anchor is None:
        raise ResultsFileError(
            f"{path} has no asv navigation bar (<nav> ... </ul>); it is not an `asv publish` index.html. "
            "Run `asv publish` and try again."
        )
    new = text[: anchor.start()] + _NAV_LI + "\n        " + text[anchor.start() :]
    atomic_write_text(path, new)
    return True


def _site_dirs(
    html_dir: str | os.PathLike[str] | None,
    results_dir: str | os.PathLike[str] | None,
    conf_path: str | os.PathLike[str],
) -> tuple[Path, Path, dict[str, Any] | None]:
    from torchperf.history.loader import load_asv_config

    conf: dict[str, Any] | None = None
    base = Path(conf_path).parent
    if html_dir is None or results_dir is None or Path(conf_path).is_file():
        if not Path(conf_path).is_file():
            missing = [n for n, v in (("html_dir", html_dir), ("results_dir", results_dir)) if v is None]
            raise ResultsFileError(
                f"no asv configuration at {conf_path}, so {' and '.join(missing)} cannot be found; run "
                "from the directory holding asv.conf.json, or pass html_dir and results_dir."
            )
        conf = load_asv_config(conf_path)
    html_p = Path(html_dir) if html_dir is not None else base / str((conf or {}).get("html_dir", "html"))
    res_p = Path(results_dir) if results_dir is not None else base / str((conf or {}).get("results_dir", "results"))
    return html_p, res_p, conf


def publish(
    html_dir: str | os.PathLike[str] | None = None,
    results_dir: str | os.PathLike[str] | None = None,
    offline: bool = False,
    conf_path: str | os.PathLike[str] = "asv.conf.json",
    *,
    pareto_revisions: int = 5,
    history_revisions: int = 6,
    asv_config: Mapping[str, Any] | None = None,
    error_rate_examples: int | None = None,
    torchperf_version: str | None = None,
    progress: Callable[[int, int, str], None] | None = None,
) -> Path:
    """Add torchperf's pages to a site written by ``asv publish``.

    Parameters
    ----------
    html_dir : path-like, optional
        asv's output folder; default the ``html_dir`` of ``conf_path``.
    results_dir : path-like, optional
        asv's results folder; default the ``results_dir`` of ``conf_path``.
    offline : bool, default False
        Also serve asv's JavaScript/CSS dependencies from ``<html_dir>/vendor/``
        (downloaded once from the npm registry, verified, cached; see
        :func:`torchperf.site.offline.vendor_asv_assets`), so the site works
        with no internet.
    conf_path : path-like, default "asv.conf.json"
        asv configuration; relative ``html_dir`` / ``results_dir`` in it are
        taken relative to its folder. Its ``regressions_thresholds`` are used.
    pareto_revisions, history_revisions : int
        See :func:`build_pages`.
    asv_config : mapping, optional
        Parsed asv configuration to use instead of reading ``conf_path``
        (the asv plugin passes asv's own).
    error_rate_examples, torchperf_version
        See :func:`build_pages`.
    progress : callable, optional
        ``progress(completed, total, description)`` before each stage (loading
        the results, the stages of :func:`build_pages`, linking, vendoring)
        and once at the end with ``completed == total`` and ``"done"``; within
        the long stages it is called again with the same ``completed`` and a
        description of the item (``"loading asv results: file 12/340"``, each
        Pareto page), so a caller can show progress inside a stage.

    Returns
    -------
    pathlib.Path
        The site folder ``html_dir``: open ``<html_dir>/index.html`` (asv's
        page, now with a ``torchperf`` link); torchperf's hub is
        ``<html_dir>/torchperf/index.html``.

    Raises
    ------
    ResultsFileError
        The site or the results are missing ("run `asv publish` first"), or unreadable.
    MissingDependencyError
        ``offline=True`` and asv's dependencies can be neither downloaded nor found in the cache.

    """
    from torchperf.history.loader import load_results

    if not isinstance(offline, bool):
        raise InvalidParameterError(f"`offline` must be True or False; got {offline!r}.")
    if asv_config is not None and html_dir is not None and results_dir is not None:
        html_p, res_p, conf = Path(html_dir), Path(results_dir), dict(asv_config)
    else:
        html_p, res_p, conf = _site_dirs(html_dir, results_dir, conf_path)
    index = html_p / "index.html"
    if not html_p.is_dir() or not index.is_file():
        raise ResultsFileError(
            f"asv site {html_p} does not exist (no index.html); run `asv publish` first, then "
            "`torchperf publish`."
        )
    total = 6 + bool(offline)

    def step(k: int, what: str) -> None:
        if progress is not None:
            progress(k, total, what)

    step(0, "loading asv results")

    def parsed(_stage: str, done: int, n: int) -> None:
        step(0, f"loading asv results: file {done}/{n}")

    df = load_results(res_p, asv_config=conf, progress=parsed)
    if df.empty:
        raise ResultsFileError(f"asv results in {res_p} hold no benchmark values; run `asv run` first.")
    build_pages(
        df, html_p / PAGES_DIR, pareto_revisions=pareto_revisions, history_revisions=history_revisions,
        error_rate_examples=error_rate_examples, torchperf_version=torchperf_version,
        progress=lambda k, _n, what: step(1 + k, what),
    )
    step(5, "linking asv's page")
    inject_nav_link(index)
    if offline:
        from torchperf.site.offline import vendor_asv_assets

        step(6, "vendoring asv's assets")
        vendor_asv_assets(html_p)
    step(total, "done")
    return html_p
