"""The "TorchPerf Olympics" leaderboard: four events, ranks decided by statistics.

Events (keys of the dict :func:`olympics` returns):

``latency_sprint``
    Lowest latency (metric ``"latency"``).
``memory_challenge``
    Lowest peak memory (metric ``"memory"``; ``"size"`` when no memory was
    measured, or whichever ``memory_metric`` names).
``accuracy_contest``
    Highest accuracy among the models whose latency is within a budget.
    The default budget is **twice the Latency Sprint winner's latency**
    (``DEFAULT_BUDGET_FACTOR``); pass ``latency_budget_s`` for an absolute one.
``all_around``
    Pareto rank first (non-dominated sorting under dominance *with
    confidence*, see :mod:`torchperf.pareto`), then a scalar score: the
    geometric mean, over the objectives, of each model's ratio to the best
    model on that objective (``value / best`` when lower is better,
    ``best / value`` when higher is better). A score of 1.0 means best on every
    objective; 1.10 means 10 % worse than the best, on geometric average.

Ties are decided by statistics, not decimals: rows are sorted by their point
estimate, the first unplaced model leads a group, and every unplaced model
that the leader does *not* beat significantly (see
:func:`torchperf.pareto.significantly_better`; by default the ratio CI of
:func:`torchperf.stats.compare_samples`, or non-overlapping confidence
intervals when a side has fewer than two values) joins its group and shares
its rank (standard competition ranking: 1, 1, 3). Comparisons are made at the
stated confidence level without multiplicity adjustment. Exact metrics (a
single value, such as model size) tie only when equal.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from torchperf.errors import InvalidParameterError
from torchperf.pareto import Estimate, estimate, pareto_front, significantly_better

if TYPE_CHECKING:  # pragma: no cover
    from torchperf.runfile import Run

__all__ = [
    "DEFAULT_BUDGET_FACTOR",
    "EVENTS",
    "Row",
    "format_family_comparisons",
    "format_leaderboard",
    "olympics",
    "rank_metric",
]

#: Default latency budget of the Accuracy Contest, as a multiple of the fastest latency.
DEFAULT_BUDGET_FACTOR = 2.0

#: Event key -> display title.
EVENTS: Mapping[str, str] = {
    "latency_sprint": "Latency Sprint",
    "memory_challenge": "Memory Challenge",
    "accuracy_contest": "Accuracy Contest",
    "all_around": "All-Around",
}


@dataclass(frozen=True)
class Row:
    """One line of an event's leaderboard.

    Attributes
    ----------
    rank : int
        Competition rank (models that are statistically tied share it).
    model : str
        Model name.
    value : float
        The model's score in the event (SI base units; the All-Around score
        is dimensionless).
    ci : tuple of float
        Confidence interval of ``value``.
    tied_with : tuple of str
        Models that share this rank.
    note : str
        What the value is and anything that qualifies it.
    metric : str
        The metric ranked (``"score"`` for All-Around).
    unit : str
        Unit of ``value``.

    """

    rank: int
    model: str
    value: float
    ci: tuple[float, float]
    tied_with: tuple[str, ...]
    note: str = ""
    metric: str = ""
    unit: str = ""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict of the row."""
        d = asdict(self)
        d["ci"] = list(self.ci)
        d["tied_with"] = list(self.tied_with)
        return d


def _group_ranks(
    order: Sequence[str],
    beats: Any,
) -> dict[str, tuple[int, tuple[str, ...]]]:
    """Greedy statistical grouping: ``{model: (rank, tied_with)}`` for models in ``order``.

    ``beats(a, b)`` tells whether ``a`` is significantly better than ``b``.
    """
    out: dict[str, tuple[int, tuple[str, ...]]] = {}
    unplaced = list(order)
    placed = 0
    while unplaced:
        leader = unplaced[0]
        group = [leader] + [m for m in unplaced[1:] if not beats(leader, m)]
        for m in group:
            out[m] = (placed + 1, tuple(g for g in group if g != m))
        placed += len(group)
        unplaced = [m for m in unplaced if m not in group]
    return out


def rank_metric(
    results: Mapping[str, Any],
    *,
    lower_is_better: bool | None = None,
    statistic: str = "median",
    confidence_level: float = 0.95,
    method: str = "compare",
    metric: str = "",
    note: str = "",
) -> list[Row]:
    """Rank models on one metric, sharing ranks between statistically tied models.

    Parameters
    ----------
    results : dict
        ``{model: BenchmarkResult or number}`` for one metric.
    lower_is_better : bool, optional
        Direction; defaults to the results' ``lower_is_better`` (plain numbers
        need it explicitly).
    statistic : {"mean", "median"}
        Centre ranked.
    confidence_level : float
        Level of the significance judgement, in (0, 1).
    method : {"compare", "welch", "overlap", "auto"}
        How "significantly better" is decided; see
        :func:`torchperf.pareto.significantly_better`.
    metric, note : str
        Copied into each row.

    Returns
    -------
    list of Row
        Sorted by rank, then by point estimate.

    """
    if not results:
        return []
    est: dict[str, Estimate] = {
        str(m): estimate(r, statistic=statistic, confidence_level=confidence_level)
        for m, r in results.items()
    }
    if lower_is_better is None:
        flags = {e.lower_is_better for e in est.values()} - {None}
        if len(flags) != 1:
            raise InvalidParameterError(
                f"cannot tell whether lower is better for metric {metric or '?'!r} "
                f"(results say {sorted(flags)}); pass lower_is_better=True or False."
            )
        lower_is_better = flags.pop()
    sign = 1.0 if lower_is_better else -1.0
    order = sorted(est, key=lambda m: sign * est[m].value)

    def beats(a: str, b: str) -> bool:
        return significantly_better(
            est[a],
            est[b],
            lower_is_better=bool(lower_is_better),
            confidence_level=confidence_level,
            statistic=statistic,
            method=method,
        )

    groups = _group_ranks(order, beats)
    rows = [
        Row(
            rank=groups[m][0],
            model=m,
            value=est[m].value,
            ci=(est[m].ci_low, est[m].ci_high),
            tied_with=groups[m][1],
            note=note,
            metric=metric,
            unit=est[m].unit,
        )
        for m in order
    ]
    rows.sort(key=lambda r: (r.rank, sign * r.value))
    return rows


def _all_around(
    results: Mapping[str, Mapping[str, Any]],
    metrics: Sequence[str],
    *,
    statistic: str,
    confidence_level: float,
) -> list[Row]:
    usable = [m for m in metrics if results.get(m)]
    if not usable:
        return []
    pr = pareto_front(
        results, objectives=usable, statistic=statistic, confidence_level=confidence_level
    )
    scored: list[str] = []
    skipped: list[str] = []
    for j, obj in enumerate(pr.objectives):
        if all(pr.estimates[m][j].value > 0 for m in pr.names):
            scored.append(obj)
        else:
            skipped.append(obj)
    log_score: dict[str, float] = {m: 0.0 for m in pr.names}
    log_var: dict[str, float] = {m: 0.0 for m in pr.names}
    for obj in scored:
        j = pr.objectives.index(obj)
        lower = pr.directions[j] == "min"
        vals = {m: pr.estimates[m][j].value for m in pr.names}
        best = min(vals.values()) if lower else max(vals.values())
        for m in pr.names:
            e = pr.estimates[m][j]
            ratio = e.value / best if lower else best / e.value
            log_score[m] += math.log(ratio) / len(scored)
            rel_half = (e.ci_high - e.ci_low) / 2.0 / e.value
            log_var[m] += (rel_half / len(scored)) ** 2
    score = {m: math.exp(v) for m, v in log_score.items()}
    ci = {
        m: (math.exp(log_score[m] - math.sqrt(log_var[m])), math.exp(log_score[m] + math.sqrt(log_var[m])))
        for m in pr.names
    }
    order = sorted(pr.names, key=lambda m: (pr.confident_ranks[m], score[m]))

    def beats(a: str, b: str) -> bool:
        if pr.confident_ranks[a] != pr.confident_ranks[b]:
            return True
        return ci[a][1] < ci[b][0]

    groups = _group_ranks(order, beats)
    basis = ", ".join(scored) if scored else "nothing"
    extra = f"; not scored (non-positive values): {', '.join(skipped)}" if skipped else ""
    rows = []
    for m in order:
        status = pr.status(m)
        status_txt = {
            "frontier": "on the frontier",
            "tied": f"statistically tied with {', '.join(pr.ties[m])}",
            "dominated": f"dominated by {', '.join(pr.confidently_dominated_by[m])}",
        }[status]
        rows.append(
            Row(
                rank=groups[m][0],
                model=m,
                value=score[m],
                ci=ci[m],
                tied_with=groups[m][1],
                note=(
                    f"Pareto rank {pr.confident_ranks[m]} ({status_txt}); score = geometric mean "
                    f"of ratios to the best on {basis}{extra}"
                ),
                metric="score",
                unit="",
            )
        )
    rows.sort(key=lambda r: (r.rank, pr.confident_ranks[r.model], r.value))
    return rows


def olympics(
    results: Mapping[str, Mapping[str, Any]] | Run,
    *,
    latency_budget_s: float | None = None,
    statistic: str = "median",
    confidence_level: float = 0.95,
    method: str = "compare",
    memory_metric: str = "auto",
    all_around_metrics: Sequence[str] | None = None,
) -> dict[str, list[Row]]:
    """Run the four Olympics events on a results container.

    Parameters
    ----------
    results : dict or Run
        ``{metric: {model: BenchmarkResult}}`` as returned by
        ``BenchmarkSuite.run_full_benchmark()``, or a whole run (what
        :func:`~torchperf.load_run` returns; its results are ranked).
    latency_budget_s : float, optional
        Latency budget of the Accuracy Contest in seconds (compared with each
        model's point estimate). Default: ``DEFAULT_BUDGET_FACTOR`` (2) times
        the fastest model's latency.
    statistic : {"mean", "median"}
        Centre ranked in every event.
    confidence_level : float
        Level of the tie decisions, in (0, 1).
    method : str
        How single-metric ties are decided; see
        :func:`torchperf.pareto.significantly_better`.
    memory_metric : str
        Metric of the Memory Challenge; ``"auto"`` is ``"memory"`` when
        measured, else ``"size"``.
    all_around_metrics : sequence of str, optional
        Objectives of the All-Around event; default latency, accuracy and
        the Memory Challenge's metric (those measured). Throughput is left
        out by default because it mostly restates latency and would count
        speed twice.

    Returns
    -------
    dict
        ``{event: list of Row}`` for every key of :data:`EVENTS`; an event
        whose metric was not measured has an empty list.

    Raises
    ------
    InvalidParameterError
        If ``results`` is not a results container or a parameter is invalid.

    """
    from torchperf.runfile import Run

    if isinstance(results, Run):  # olympics(load_run(p)) composes
        results = results.results
    if not isinstance(results, Mapping) or not all(isinstance(v, Mapping) for v in results.values()):
        raise InvalidParameterError(
            "`results` must be a results container {metric: {model: BenchmarkResult}}; "
            f"got {type(results).__name__}."
        )
    if latency_budget_s is not None and not (
        isinstance(latency_budget_s, (int, float)) and math.isfinite(latency_budget_s) and latency_budget_s > 0
    ):
        raise InvalidParameterError(
            f"`latency_budget_s` must be a positive number of seconds; got {latency_budget_s!r}."
        )
    common = {"statistic": statistic, "confidence_level": confidence_level, "method": method}
    board: dict[str, list[Row]] = {k: [] for k in EVENTS}

    latency = results.get("latency") or {}
    board["latency_sprint"] = rank_metric(
        latency, metric="latency", note="lowest latency", **common
    )

    if memory_metric == "auto":
        memory_metric = "memory" if results.get("memory") else "size"
    if results.get(memory_metric):
        board["memory_challenge"] = rank_metric(
            results[memory_metric],
            metric=memory_metric,
            note=f"lowest {'peak memory' if memory_metric == 'memory' else memory_metric}",
            **common,
        )

    accuracy = results.get("accuracy") or {}
    if accuracy:
        lat_est = {
            m: estimate(r, statistic=statistic, confidence_level=confidence_level)
            for m, r in latency.items()
        }
        if lat_est:
            budget = (
                float(latency_budget_s)
                if latency_budget_s is not None
                else DEFAULT_BUDGET_FACTOR * min(e.value for e in lat_est.values())
            )
            origin = (
                "given"
                if latency_budget_s is not None
                else f"{DEFAULT_BUDGET_FACTOR:g}x the fastest latency"
            )
            eligible = {m: r for m, r in accuracy.items() if m in lat_est and lat_est[m].value <= budget}
            rows = rank_metric(
                eligible,
                metric="accuracy",
                note=f"highest accuracy with latency <= {budget:.4g} s ({origin})",
                **common,
            )
            board["accuracy_contest"] = [
                Row(
                    r.rank,
                    r.model,
                    r.value,
                    r.ci,
                    r.tied_with,
                    r.note
                    + (
                        "; latency CI reaches above the budget"
                        if lat_est[r.model].ci_high > budget
                        else ""
                    ),
                    r.metric,
                    r.unit,
                )
                for r in rows
            ]
        else:
            board["accuracy_contest"] = rank_metric(
                accuracy, metric="accuracy", note="highest accuracy (no latency measured: no budget)", **common
            )

    if all_around_metrics is None:
        metrics = [m for m in ("latency", "accuracy", memory_metric) if results.get(m)]
    else:
        metrics = list(all_around_metrics)
    board["all_around"] = _all_around(
        results, metrics, statistic=statistic, confidence_level=confidence_level
    )
    return board


def format_leaderboard(board: Mapping[str, Sequence[Row]]) -> str:
    """Render a leaderboard (the output of :func:`olympics`) as Markdown tables.

    Parameters
    ----------
    board : dict
        ``{event: list of Row}``.

    Returns
    -------
    str
        One ``##`` section per event with a table of rank, model, value,
        confidence interval, ties and note.

    """
    from torchperf.result import format_quantity as fmt  # "" -> bare number (4 significant figures)

    out: list[str] = []
    for key, rows in board.items():
        out.append(f"## {EVENTS.get(key, key)}")
        out.append("")
        if not rows:
            out.append("No model has the metrics this event needs.")
            out.append("")
            continue
        out.append("| rank | model | value | CI | tied with | note |")
        out.append("|---:|---|---:|---|---|---|")
        for r in rows:
            name = r.model.replace("|", "\\|")
            ties = ", ".join(r.tied_with).replace("|", "\\|") or "—"
            out.append(
                f"| {r.rank} | {name} | {fmt(r.value, r.unit)} | "
                f"[{fmt(r.ci[0], r.unit)}, {fmt(r.ci[1], r.unit)}] | {ties} | {r.note} |"
            )
        out.append("")
    return "\n".join(out)


def format_family_comparisons(
    results: Mapping[str, Mapping[str, Any]],
    baselines: Mapping[str, str],
    *,
    confidence_level: float = 0.95,
) -> str:
    """Each variant against its own family's baseline, as a plain-text table.

    The Olympics rank every model against every other (the overall view); this
    table answers the other question: did each optimisation beat the model it
    optimises (``cnn-im2col`` vs ``cnn-naive``, ``attn-kvcache`` vs
    ``attn-nocache``, each MLP variant vs ``mlp``)? Comparisons are
    :func:`torchperf.suite.compare_to_baseline` with ``baselines``
    (Benjamini-Hochberg across the table).

    Parameters
    ----------
    results : Mapping
        ``{metric: {model: BenchmarkResult}}``.
    baselines : Mapping
        ``{model: its family's baseline}`` (:func:`torchperf.zoo.family_baselines`).
    confidence_level : float, default 0.95
        Level of the ratio intervals.

    Returns
    -------
    str
        One row per (metric, variant); empty when ``baselines`` names no variant.

    """
    from torchperf.comparison import compare_to_baseline

    variants = {m: b for m, b in baselines.items() if m != b}
    if not variants:
        return ""
    rows = [
        c
        for c in compare_to_baseline(
            results, "", confidence_level=confidence_level, baselines=baselines
        )
        if c["model"] in variants
    ]
    if not rows:
        return ""
    head = ("metric", "variant", "family baseline", "ratio", "ratio CI", "verdict")
    body = [
        (
            str(c["metric"]),
            str(c["model"]),
            str(c["baseline"]),
            f"{c['ratio']:.3f}x" if math.isfinite(c["ratio"]) else "n/a",
            f"[{c['ci_low']:.3f}x, {c['ci_high']:.3f}x]"
            if math.isfinite(c["ci_low"]) and math.isfinite(c["ci_high"])
            else "",
            str(c["verdict"]),
        )
        for c in rows
    ]
    widths = [max(len(h), *(len(r[i]) for r in body)) for i, h in enumerate(head)]
    lines = ["Each variant vs its own family's baseline (ratio = variant / baseline):"]
    lines.append("  ".join(h.ljust(w) for h, w in zip(head, widths, strict=True)).rstrip())
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)).rstrip() for r in body]
    return "\n".join(lines)
