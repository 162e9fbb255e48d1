r"""Data and assets of the interactive "Pareto fronts across revisions" page.

:func:`pareto_history_payload` turns a history into one compact JSON document:
columnar arrays per machine x environment, model names and commits
dictionary-encoded (integers into ``models`` / ``commits``), numbers rounded to
``digits`` significant digits, rows grouped by revision through an ``offset``
array, so 2,000 revisions of a dozen models stay a few megabytes. The page
(:func:`explorer_html`) embeds it in a ``<script type="application/json">``
data block (never executed; ``<``, ``>`` and ``&`` escaped as ``\u003c`` ...)
and loads the packaged, dependency-free ``assets/pareto-explorer.js``, which
draws the front of the selected revision with the previous one faint, a
slider and arrow keys to step through revisions, and a tooltip (model,
revision, values with their intervals, front status) on hover or keyboard
focus. Both the data block and the script work from ``file://``; nothing is
fetched from the network.

Payload (``schema`` ``"torchperf.pareto_explorer"``, ``schema_version`` 1)::

    commits      [full hash, ...]             oldest first (revisions with zoo latencies)
    dates        ["YYYY-MM-DD HH:MM", ...]    or "" when unknown
    models       [name, ...]                  dictionary of model names
    metrics      {latency|error_rate|peak_memory: {label, unit, scale, direction}}
                 a stored number times ``scale`` is the value in ``unit``
    fronts       [["latency", "error_rate"], ["latency", "peak_memory"]]
    status_codes ["frontier", "tied", "dominated"]
    status_method "overlap"
    series       [{machine, env, label, batch,
                   rev:        [commit index, ...]        revisions this series has
                   offset:     [row start per rev entry, ..., n_rows]
                   cl:         [confidence level per rev entry]
                   model:      [model index per row]
                   latency, latency_lo, latency_hi, error_rate, ..., peak_memory, ...:
                               [number or null per row]   null bounds: no interval (exact value)
                   status_error_rate, status_peak_memory:
                               [code or null per row]     null: not on that front (value missing)
                  }, ...]                                 a column null in every row is left out

Front status per revision is :func:`torchperf.pareto.pareto_front` of
that revision's :func:`torchperf.site.pages.pareto_data` with
``method="overlap"``: *frontier* = no model dominates it on the point
estimates (the members), *tied* = dominated on the point estimates but every
dominating model's interval overlaps its own on every objective where it is
better, *dominated* = some model is better with non-overlapping intervals.
The per-revision pages use the default ``method="auto"`` (a bootstrap of the
ratio of medians, about 5 ms a pair): too slow for 2,000 revisions, and the
explorer judges exactly what it draws. Overlap is the conservative check, so a
model can read *tied* here and *dominated* on its revision's page, never the
reverse for the frontier itself (membership does not depend on the method).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping, Sequence
from importlib import resources
from typing import TYPE_CHECKING, Any

from torchperf.errors import InvalidParameterError

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from torchperf.site.pages import ParetoData

__all__ = ["ASSET_JS", "EXPLORER_CSS", "SCHEMA", "asset_text", "explorer_html", "pareto_history_payload", "payload_json"]

#: ``schema`` of the payload.
SCHEMA = "torchperf.pareto_explorer"
SCHEMA_VERSION = 1
#: File name of the packaged script (``torchperf/site/assets/``); copied to ``<pages>/assets/``.
ASSET_JS = "pareto-explorer.js"

_METRICS = ("latency", "error_rate", "peak_memory")
_FRONTS = (("latency", "error_rate"), ("latency", "peak_memory"))
_STATUS = ("frontier", "tied", "dominated")
#: stored number x scale = value in the unit (latency kept in microseconds: shorter numbers)
_SCALE = {"latency": 1e-6, "error_rate": 1.0, "peak_memory": 1.0}
_UNIT = {"latency": "s", "error_rate": "%", "peak_memory": "B"}


def asset_text(name: str = ASSET_JS) -> str:
    """Text of a packaged asset of the explorer (``torchperf/site/assets/<name>``)."""
    return resources.files("torchperf.site").joinpath("assets", name).read_text(encoding="utf-8")


def _round(x: float, digits: int) -> float | int | None:
    if x is None or not math.isfinite(x):
        return None
    r = float(f"{x:.{digits}g}")
    return int(r) if r.is_integer() and abs(r) < 2**53 else r


def pareto_history_payload(
    df: pd.DataFrame,
    *,
    confidence_level: float = 0.95,
    error_rate_examples: int | None = None,
    batch: str | int | None = None,
    digits: int = 4,
    revisions: Sequence[str] | None = None,
    data: Callable[[str, str, str], ParetoData | None] | None = None,
) -> dict[str, Any]:
    """Compact JSON-ready payload of every revision's zoo Pareto fronts.

    Parameters
    ----------
    df : pandas.DataFrame
        From :func:`torchperf.history.load_results`.
    confidence_level, error_rate_examples, batch
        As in :func:`torchperf.site.pages.pareto_data`.
    digits : int, default 4
        Significant digits kept of every value and bound.
    revisions : sequence of str, optional
        Full commit hashes, oldest first; default every revision with zoo
        latency results, in ``revision`` order.
    data : callable, optional
        ``data(commit, machine, env)`` returning a
        :class:`~torchperf.site.pages.ParetoData` or None (the pages pass their
        cache); default computed here.

    Returns
    -------
    dict
        See the module docstring; ``json.dumps`` it with
        ``separators=(",", ":")`` (:func:`explorer_html` does).

    Raises
    ------
    InvalidParameterError
        If the history has no zoo latency benchmark, or ``digits`` is not in 2..17.

    """
    from torchperf.metrics import HISTORY_METRICS
    from torchperf.pareto import pareto_front
    from torchperf.site import pages
    from torchperf.stats import _check_confidence_level

    _check_confidence_level(confidence_level)
    if isinstance(digits, bool) or not isinstance(digits, int) or not 2 <= digits <= 17:
        raise InvalidParameterError(f"`digits` must be an int in 2..17; got {digits!r}.")
    meta = pages._benchmark_meta(df)
    picks = pages._zoo_benchmarks(df, meta)
    lat_b = picks[0]
    wanted = [b for b in picks if b is not None]
    narrow = df[df["benchmark"].isin(wanted)].copy()
    narrow.attrs = {}  # pandas deep-copies attrs on every slice: keep the per-revision slices cheap
    if revisions is None:
        lat = narrow[narrow["benchmark"] == lat_b].drop_duplicates("commit").sort_values("revision")
        commits = [str(c) for c in lat["commit"]]
    else:
        commits = [str(c) for c in revisions]
    by_commit: dict[str, list[dict[str, Any]]] = {}
    for rec in narrow.to_dict("records"):
        by_commit.setdefault(str(rec["commit"]), []).append(rec)
    combos = sorted({(str(m), str(e)) for m, e in zip(narrow["machine"], narrow["env_name"], strict=True)})
    dates = pages._dates(df)

    def compute(commit: str, machine: str, env: str) -> ParetoData | None:
        at = by_commit.get(commit)
        if at is None:
            return None
        try:
            return pages._pareto_data_at(
                at, commit, meta, picks, machine=machine, env=env, batch=batch,
                confidence_level=confidence_level, error_rate_examples=error_rate_examples,
            )
        except InvalidParameterError:
            return None

    get = data if data is not None else compute
    models: dict[str, int] = {}
    series: list[dict[str, Any]] = []
    for machine, env in combos:
        cols: dict[str, list[Any]] = {"model": []}
        for m in _METRICS:
            cols[m], cols[m + "_lo"], cols[m + "_hi"] = [], [], []
        for _, y in _FRONTS:
            cols["status_" + y] = []
        rev: list[int] = []
        offset: list[int] = []
        cls: list[float] = []
        label, batch_s = env, None
        for i, commit in enumerate(commits):
            d = get(commit, machine, env)
            if d is None or not d.latency:
                continue
            label, batch_s = str(d.provenance.get("env_label", env)), d.batch
            status: dict[str, dict[str, int]] = {}
            for x, y in _FRONTS:
                pairs = d.pairs(y)
                if pairs:
                    pr = pareto_front(
                        pairs, pages._directions(y), objectives=(x, y),
                        confidence_level=d.confidence_level, method="overlap",
                    )
                    status[y] = {name: _STATUS.index(pr.status(name)) for name in pr.names}
            rev.append(i)
            offset.append(len(cols["model"]))
            cls.append(d.confidence_level)
            for name in d.latency:
                cols["model"].append(models.setdefault(name, len(models)))
                for m in _METRICS:
                    est = getattr(d, m).get(name)
                    scale = _SCALE[m]
                    if est is None:
                        v = lo = hi = None
                    else:
                        v = _round(est.value / scale, digits)
                        exact = est.ci_low == est.value == est.ci_high
                        lo = None if exact else _round(est.ci_low / scale, digits)
                        hi = None if exact else _round(est.ci_high / scale, digits)
                    cols[m].append(v)
                    cols[m + "_lo"].append(lo)
                    cols[m + "_hi"].append(hi)
                for _, y in _FRONTS:
                    cols["status_" + y].append(status.get(y, {}).get(name))
        if not rev:
            continue
        offset.append(len(cols["model"]))
        # a column that is null in every row (exact peak memory has no bounds) is left out
        kept = {k: v for k, v in cols.items() if any(x is not None for x in v)}
        series.append({
            "machine": machine, "env": env, "label": label, "batch": batch_s,
            "rev": rev, "offset": offset, "cl": cls, **kept,
        })
    return {
        "schema": SCHEMA,
        "schema_version": SCHEMA_VERSION,
        "digits": digits,
        "commits": commits,
        "dates": [str(dates.get(c, ""))[:16] for c in commits],
        "models": list(models),
        "metrics": {
            m: {
                "label": HISTORY_METRICS[m].label,
                "unit": _UNIT[m],
                "scale": _SCALE[m],
                "direction": HISTORY_METRICS[m].direction.sense,
            }
            for m in _METRICS
        },
        "fronts": [list(f) for f in _FRONTS],
        "status_codes": list(_STATUS),
        "status_method": "overlap",
        "series": series,
    }


def payload_json(payload: Mapping[str, Any]) -> str:
    r"""``payload`` as compact JSON safe inside an HTML ``<script type="application/json">`` block.

    ``<``, ``>`` and ``&`` become ``\u003c``, ``\u003e`` and ``\u0026`` (still the same
    JSON strings), so no model name can close the block or open a comment.
    """
    text = json.dumps(payload, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return (
        text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")
        .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
    )


#: The page's skeleton; the script fills it (every text via textContent, never innerHTML).
_SKELETON = """<div id="tp-explorer" class="tp-explorer" hidden>
<div class="tp-controls">
<label>machine &middot; environment <select id="tp-series"></select></label>
<button type="button" id="tp-prev" aria-label="previous revision">&larr;</button>
<input type="range" id="tp-rev" min="0" max="0" value="0" step="1" aria-label="revision">
<button type="button" id="tp-next" aria-label="next revision">&rarr;</button>
<span id="tp-rev-label" aria-live="polite"></span>
</div>
<p class="note">Step through revisions with the slider or the &larr; / &rarr; keys (Home / End: first / last);
hover or focus (Tab) a point for its values and intervals. Filled: on the Pareto front; half-filled:
tied (dominated on the point estimates, intervals overlap); hollow: dominated with non-overlapping
intervals (the per-revision pages and the static table below judge ties with the bootstrap test of
<code>torchperf.pareto.pareto_front</code>, so a model may read tied here and dominated there); faint grey:
the previous revision. Bars: confidence intervals.</p>
<div id="tp-panels" class="tp-panels"></div>
<div id="tp-tip" class="tp-tip" role="tooltip" hidden></div>
<table id="tp-values"><thead><tr><th>model</th><th>latency (median, CI)</th><th>error rate</th>
<th>peak memory</th><th>latency / error-rate front</th><th>latency / memory front</th></tr></thead>
<tbody></tbody></table>
</div>"""

#: Extra CSS of the explorer page (inline styles are allowed by the pages' CSP).
EXPLORER_CSS = """
.tp-controls{display:flex;align-items:center;gap:.6em;flex-wrap:wrap;margin:.5em 0}
.tp-controls input[type=range]{flex:1 1 320px;min-width:200px}
#tp-rev-label{font-family:monospace;font-size:13px}
.tp-panels{display:flex;flex-wrap:wrap;gap:1em}
.tp-panels svg{border:1px solid #ddd;background:#fff}
.tp-panels .pt{cursor:pointer}.tp-panels .pt:focus{outline:none}
.tp-panels .pt:focus circle,.tp-panels .pt:hover circle{stroke-width:3}
.tp-tip{position:absolute;z-index:10;background:#fffff0;border:1px solid #555;padding:4px 8px;font-size:12px;
white-space:pre;pointer-events:none;box-shadow:1px 1px 3px rgba(0,0,0,.3)}
"""


def explorer_html(payload: Mapping[str, Any], script_src: str) -> str:
    """HTML of the explorer: the skeleton, the JSON data block and the script tag.

    ``script_src`` is the relative URL of the packaged script (``assets/pareto-explorer.js``).
    """
    import html as _html

    return (
        f"{_SKELETON}\n"
        f'<script type="application/json" id="tp-pareto-data">{payload_json(payload)}</script>\n'
        f'<script src="{_html.escape(script_src, quote=True)}"></script>'
    )
