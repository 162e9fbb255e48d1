"""What each history finding means for people: open or fixed, code or environment, broad shifts.

:func:`assess_history` post-processes the change points of
:func:`torchperf.history.detect_change_points` (and, for the newest revisions,
which a change point cannot confirm yet, pairwise comparisons of neighbouring
revisions from :func:`torchperf.history.compare_revisions`) into
:class:`Verdict` objects:

* **Status.** A regression is ``fixed`` when a later change of the same series
  in the good direction brings its level back (within the benchmark's
  threshold of the level before the regression, and closer to it than to the
  regressed level); ``fixed_by`` names that commit, ``fix_ratio`` its ratio.
  With no such change but a newest level that passes the same test (a fix that
  came in small steps), it is ``fixed`` with ``fixed_by=None``. Otherwise it is
  ``open``: still present at the series' newest revision (``ratio_now`` is the
  newest level over the level before). Improvements are ``kept`` or
  ``reverted`` by the same rule.
* **Cause.** ``environment`` when recorded facts of the environment changed
  between the last good and first bad commit of that machine and environment:
  torchperf's side store (NumPy, BLAS library/version/threads), asv's
  ``python``, ``params`` (machine facts such as ``cpu``, ``os``, ``ram`` and
  matrix entries) and ``requirements`` stored in each results file, and
  environment snapshots kept beside the results (``envs/<sha>.yml`` conda
  files or ``envs/<sha>.txt`` pip freezes). ``env_change`` lists them as
  ``{fact: [before, after]}``. Otherwise ``broad-shift`` when the commit is one
  where many unrelated benchmarks moved together on one machine (see
  :func:`broad_shifts`): a machine or environment change is suspected rather
  than many code regressions. Otherwise ``code``.

Everything here is a pure function of the loaded frame and the findings.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from torchperf.errors import InvalidParameterError

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = [
    "Verdict",
    "assess",
    "assess_history",
    "assess_results",
    "benchmark_group",
    "broad_shifts",
    "comparison_table",
    "context_frame",
    "environment_snapshots",
    "explain_compare",
    "measured_groups",
    "pairwise_tail",
    "parse_environment_snapshot",
    "select_verdicts",
    "verdict_table",
]

_SIDE_FACTS = ("python", "numpy_version", "blas_library", "blas_version", "blas_threads")
_SNAPSHOT_SUFFIXES = (".yml", ".yaml", ".txt")
_HEX = re.compile(r"^[0-9a-fA-F]{7,40}$")


@dataclass(frozen=True)
class Verdict:
    """One history finding with its status and cause.

    Attributes
    ----------
    finding : ChangePoint or Finding
        The change point (``kind="change-point"``) or the pairwise comparison of
        two neighbouring revisions (``kind="pairwise"``). Attributes not defined
        here (``benchmark``, ``ratio``, ``q_value``, ...) are read from it.
    kind : str
        ``"change-point"`` or ``"pairwise"``.
    direction : str
        ``"regression"`` or ``"improvement"``.
    status : str
        ``"open"`` / ``"fixed"`` for regressions, ``"kept"`` / ``"reverted"`` for improvements.
    cause : str
        ``"code"``, ``"environment"`` or ``"broad-shift"``.
    revision_before, revision_after : int
        Positions of the last good and first bad commit in the history.
    date_after : str or None
        ISO date of the first bad commit (asv's ``date``).
    fixed_by : str or None
        Commit (full hash) at which a later change undid this one.
    fixed_by_revision : int or None
        Its position.
    fix_ratio : float or None
        Ratio of that undoing change (after / before).
    ratio_now : float
        Level after the series' last change (its newest level) over the level before this one.
    env_change : dict
        Environment facts that changed at this commit, ``{fact: [before, after]}``.
    snapshots : tuple of str
        Environment snapshot files compared (before, after), when any.
    broad_shift : dict or None
        For ``cause="broad-shift"``: ``groups`` (unrelated benchmark groups that
        moved), ``groups_measured``, ``series``, ``p_value``.

    """

    finding: Any
    kind: str
    direction: str
    status: str
    cause: str
    revision_before: int
    revision_after: int
    date_after: str | None = None
    fixed_by: str | None = None
    fixed_by_revision: int | None = None
    fix_ratio: float | None = None
    ratio_now: float = math.nan
    env_change: dict[str, list[Any]] = field(default_factory=dict)
    snapshots: tuple[str, ...] = ()
    broad_shift: dict[str, Any] | None = None

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") or name == "finding":
            raise AttributeError(name)
        return getattr(self.finding, name)

    @property
    def open(self) -> bool:
        """True for a regression still present at the newest revision."""
        return self.status == "open"

    def to_dict(self) -> dict[str, Any]:
        """The finding's JSON fields plus ``kind``, ``status``, ``cause``, ``fixed_by``, ... (JSON-ready)."""
        d = dict(self.finding.to_dict())
        d.update(
            kind=self.kind,
            direction=self.direction,
            status=self.status,
            cause=self.cause,
            revision_before=self.revision_before,
            revision_after=self.revision_after,
            date_after=self.date_after,
            fixed_by=self.fixed_by,
            fixed_by_revision=self.fixed_by_revision,
            fix_ratio=self.fix_ratio,
            ratio_now=self.ratio_now,
            env_change={k: list(v) for k, v in self.env_change.items()},
            snapshots=list(self.snapshots),
            broad_shift=None if self.broad_shift is None else dict(self.broad_shift),
        )
        if self.kind == "pairwise":
            d["method"] = "pairwise"  # the comparison's own test stays in "test"
        return {k: None if isinstance(v, float) and not math.isfinite(v) else v for k, v in d.items()}


# --------------------------------------------------------------------------- helpers


def benchmark_group(name: str) -> str:
    """The group a benchmark belongs to: its name without the last dotted part (module.Class).

    Benchmarks of one asv class (or one module of functions) are related; different
    groups are "unrelated" for :func:`broad_shifts`.
    """
    return name.rsplit(".", 1)[0] if "." in name else name


def _badness(x: float, lower_is_better: bool) -> float:
    """``x`` as a factor of worsening (> 1 is worse), whatever the metric's direction."""
    if not (isinstance(x, (int, float)) and math.isfinite(x) and x > 0):
        return math.nan
    return float(x) if lower_is_better else 1.0 / float(x)


def _undone(level_ratio: float, change_ratio: float, threshold: float, lib: bool) -> bool:
    """Whether a change of ``change_ratio`` is undone at ``level_ratio`` x the level before it.

    Back within ``threshold`` of the old level and closer to it than to the changed
    level (on the log scale).
    """
    b, c = _badness(level_ratio, lib), _badness(change_ratio, lib)
    if not (math.isfinite(b) and math.isfinite(c)) or c == 1:
        return False
    if c > 1:  # a regression: undone when the level is low enough again
        return b <= min(1 + threshold, math.sqrt(c))
    return b >= max(1 / (1 + threshold), math.sqrt(c))  # an improvement, lost again


def _iso(value: Any) -> str | None:
    import pandas as pd

    if value is None:
        return None
    try:
        ts = pd.Timestamp(value)
    except (TypeError, ValueError):
        return str(value)
    if pd.isna(ts):
        return None
    if ts.tzinfo is not None:
        ts = ts.tz_convert("UTC").tz_localize(None)
    return ts.strftime("%Y-%m-%dT%H:%M:%SZ")


def _known(v: Any) -> bool:
    if v is None:
        return False
    if isinstance(v, float) and math.isnan(v):
        return False
    return True


# --------------------------------------------------------------------------- environment snapshots


def parse_environment_snapshot(text: str) -> dict[str, str]:
    """Package versions from a conda environment file (``conda env export``) or a pip freeze.

    Parameters
    ----------
    text : str
        The file's contents: YAML with ``dependencies:`` (``- numpy=1.26.4=py311h...``,
        ``- numpy==1.26.4``, and a nested ``- pip:`` list), or ``name==version`` lines.

    Returns
    -------
    dict
        ``{package name (lower case): version}``; entries without a version are
        listed with ``""``.

    """
    out: dict[str, str] = {}
    in_deps = False
    item = re.compile(r"^\s*(?:-\s*)?([A-Za-z0-9_][A-Za-z0-9_.\-]*)\s*(?:\[[^\]]*\])?\s*(==|=|>=|<=|~=|@)?\s*([^\s=;#,]*)")
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].rstrip()
        if not line.strip():
            continue
        stripped = line.strip()
        if not line.startswith((" ", "-", "\t")) and stripped.endswith(":"):
            in_deps = stripped[:-1].strip() == "dependencies"
            continue
        if not line.startswith((" ", "-", "\t")) and ":" in stripped:
            in_deps = False  # name: / prefix: / channels on one line
            continue
        is_item = stripped.startswith("-")
        if stripped.rstrip(":").lstrip("- ").strip() == "pip" and stripped.endswith(":"):
            continue
        if is_item and not in_deps:
            continue  # e.g. channels
        if not is_item and "==" not in stripped:
            continue
        m = item.match(stripped)
        if not m:
            continue
        name, op, version = m.group(1).lower(), m.group(2), m.group(3)
        if op == "@":
            version = ""
        if "::" in stripped.split()[-1] and not op:  # channel::name
            continue
        out[name.replace("_", "-")] = version or ""
    return out


def _snapshot_dirs(results_dir: Path) -> list[tuple[Path, str | None]]:
    """(envs directory, machine folder or None for all machines)."""
    out: list[tuple[Path, str | None]] = []
    for cand in (results_dir / "envs", results_dir.parent / "envs"):
        if cand.is_dir():
            out.append((cand, None))
    if results_dir.is_dir():
        for d in sorted(p for p in results_dir.iterdir() if p.is_dir()):
            if (d / "envs").is_dir():
                out.append((d / "envs", d.name))
    return out


def environment_snapshots(
    results_dir: str | Path | None, commits: Iterable[str]
) -> dict[tuple[str | None, str | None, str], Path]:
    """Environment snapshot files stored beside an asv results directory, by commit.

    Looks in ``<results>/envs``, ``<results>/../envs`` and ``<results>/<machine>/envs``
    for ``<sha>.yml``, ``<sha>.yaml`` or ``<sha>.txt`` (``<sha>`` a full or
    abbreviated hash of a commit with results; ``<sha>-<env_name>.<ext>`` applies
    to one environment only).

    Parameters
    ----------
    results_dir : path-like or None
        The asv results directory (``df.attrs["results_dir"]``).
    commits : iterable of str
        Full hashes of the commits with results.

    Returns
    -------
    dict
        ``{(machine folder or None, env_name or None, full commit): path}``.

    """
    if not results_dir:
        return {}
    by7: dict[str, list[str]] = {}
    for c in sorted(set(commits)):
        by7.setdefault(c[:7].lower(), []).append(c)
    out: dict[tuple[str | None, str | None, str], Path] = {}
    for d, machine in _snapshot_dirs(Path(results_dir)):
        for f in sorted(d.iterdir()):
            if f.suffix.lower() not in _SNAPSHOT_SUFFIXES or not f.is_file():
                continue
            sha, _, env = f.stem.partition("-")
            if not _HEX.match(sha):
                continue
            hits = [c for c in by7.get(sha[:7].lower(), []) if c.lower().startswith(sha.lower())]
            if len(hits) == 1:
                out[(machine, env or None, hits[0])] = f
    return out


def context_frame(df: pd.DataFrame) -> pd.DataFrame:
    """One row per (machine, environment, commit) of a loaded history: what :func:`assess` reads.

    Parameters
    ----------
    df : pandas.DataFrame
        From :func:`torchperf.history.load_results`.

    Returns
    -------
    pandas.DataFrame
        Columns ``machine, env_name, commit, revision, date, python, env_params, file``
        and the side-store facts, where present; ``attrs`` copied from ``df``.

    """
    cols = [c for c in ("machine", "env_name", "commit", "revision", "date", "env_params", "file",
                        *_SIDE_FACTS) if c in df.columns]
    ctx = df[cols].drop_duplicates(["machine", "env_name", "commit"]).reset_index(drop=True)
    ctx.attrs.update(df.attrs)
    return ctx


class _Facts:
    """Environment facts of (machine, env, commit), from the frame, results files and snapshots."""

    def __init__(self, ctx: pd.DataFrame) -> None:
        self.rows = {(r["machine"], r["env_name"], r["commit"]): r for r in ctx.to_dict("records")}
        self.revision = dict(zip(ctx["commit"], ctx["revision"], strict=False))
        self.snapshots = environment_snapshots(ctx.attrs.get("results_dir"), self.revision)
        self.machine_dirs = self._machine_dirs(ctx)
        self._req: dict[str, dict[str, Any]] = {}
        self._parsed: dict[Path, dict[str, str]] = {}
        self._snap_index: dict[tuple[str | None, str | None], list[tuple[int, str]]] = {}
        for (mdir, env, commit) in self.snapshots:
            self._snap_index.setdefault((mdir, env), []).append((self.revision.get(commit, -1), commit))
        for v in self._snap_index.values():
            v.sort()

    @staticmethod
    def _machine_dirs(df: pd.DataFrame) -> dict[str, str]:
        """Machine name -> its folder name (from the ``file`` column)."""
        out: dict[str, str] = {}
        if "file" not in df.columns:
            return out
        for m, f in df[["machine", "file"]].drop_duplicates("machine").itertuples(index=False):
            if isinstance(f, str):
                out[m] = Path(f).parent.name
        return out

    def _requirements(self, path: Any) -> dict[str, Any]:
        if not isinstance(path, str):
            return {}
        if path not in self._req:
            from torchperf.fileio import read_json

            try:
                d = read_json(Path(path), what="asv results file")
            except Exception:  # a file the loader could read once; never fail the analysis on it
                d = {}
            req = d.get("requirements") if isinstance(d, dict) else None
            env_vars = d.get("env_vars") if isinstance(d, dict) else None
            facts = {f"requirements.{k}": v for k, v in (req or {}).items()} if isinstance(req, dict) else {}
            if isinstance(env_vars, dict):
                facts.update({f"env_vars.{k}": v for k, v in env_vars.items()})
            self._req[path] = facts
        return self._req[path]

    def _snapshot(self, machine: str, env: str, commit: str) -> Path | None:
        """The newest snapshot at or before ``commit`` for this machine and environment."""
        rev = self.revision.get(commit, -1)
        mdir = self.machine_dirs.get(machine)
        best: tuple[int, Path] | None = None
        for key in ((mdir, env), (mdir, None), (None, env), (None, None)):
            for r, c in self._snap_index.get(key, []):
                if r <= rev and (best is None or r > best[0]):
                    best = (r, self.snapshots[(key[0], key[1], c)])
        return None if best is None else best[1]

    def _packages(self, path: Path) -> dict[str, str]:
        if path not in self._parsed:
            try:
                self._parsed[path] = parse_environment_snapshot(path.read_text(encoding="utf-8", errors="replace"))
            except OSError:
                self._parsed[path] = {}
        return self._parsed[path]

    def changed(self, machine: str, env: str, before: str, after: str) -> tuple[dict[str, list[Any]], tuple[str, ...]]:
        """Facts that differ between two commits of one machine x environment, and the snapshots read."""
        a = self.rows.get((machine, env, before), {})
        b = self.rows.get((machine, env, after), {})
        out: dict[str, list[Any]] = {}
        for k in _SIDE_FACTS:
            va, vb = a.get(k), b.get(k)
            if _known(va) and _known(vb) and va != vb:
                out[k] = [va, vb]
        pa = dict(a.get("env_params") or ())
        pb = dict(b.get("env_params") or ())
        for k in sorted(set(pa) | set(pb)):
            if k != "python" and pa.get(k) != pb.get(k) and k in pa and k in pb:
                out[f"params.{k}"] = [pa.get(k), pb.get(k)]
        ra, rb = self._requirements(a.get("file")), self._requirements(b.get("file"))
        for k in sorted(set(ra) & set(rb)):
            if ra[k] != rb[k]:
                out[k] = [ra[k], rb[k]]
        snaps: tuple[str, ...] = ()
        sa, sb = self._snapshot(machine, env, before), self._snapshot(machine, env, after)
        if sa is not None and sb is not None:
            snaps = (str(sa), str(sb))
            if sa != sb:
                ka, kb = self._packages(sa), self._packages(sb)
                for k in sorted(set(ka) | set(kb)):
                    if ka.get(k) != kb.get(k):
                        out[f"package:{k}"] = [ka.get(k), kb.get(k)]
        return out, snaps


# --------------------------------------------------------------------------- broad shifts


def measured_groups(df: pd.DataFrame) -> dict[tuple[str, str], int]:
    """Benchmark groups measured per (machine, commit) in a loaded history (for :func:`broad_shifts`)."""
    groups = df["benchmark"].astype(str).map(benchmark_group)
    counts = (
        df.assign(_group=groups)[["machine", "commit", "_group"]].astype(str).drop_duplicates()
        .groupby(["machine", "commit"]).size()
    )
    return {k: int(v) for k, v in counts.items()}


def broad_shifts(
    measured: Mapping[tuple[str, str], int],
    events: Iterable[Any],
    *,
    min_groups: int = 3,
    alpha: float = 0.01,
) -> dict[tuple[str, str], dict[str, Any]]:
    """Commits at which many unrelated benchmarks moved together on one machine.

    A benchmark *group* is its name without the last part (:func:`benchmark_group`:
    one asv class or module). Let ``p`` be the fraction of (machine, commit,
    group) triples measured in the history at which that group has a finding.
    If findings fell on commits independently of each other, the number of
    groups moving at one commit with ``G`` groups measured would be
    ``Binomial(G, p)``. A commit is a broad shift when at least ``min_groups``
    groups moved there and the binomial tail probability, times the number of
    (machine, commit) pairs in the history (Bonferroni), is at most ``alpha``.

    Parameters
    ----------
    measured : mapping
        ``{(machine, commit): number of benchmark groups measured}``
        (:func:`measured_groups`).
    events : iterable
        Findings with ``machine``, ``benchmark`` and ``commit_after``.
    min_groups : int, default 3
        Fewest unrelated groups that make a broad shift.
    alpha : float, default 0.01
        Level of the corrected binomial test.

    Returns
    -------
    dict
        ``{(machine, commit): {"groups", "groups_measured", "series", "p_value"}}``
        for each broad shift.

    """
    from scipy.stats import binom

    moved: dict[tuple[str, str], set[str]] = {}
    series: dict[tuple[str, str], int] = {}
    for e in events:
        key = (e.machine, e.commit_after)
        moved.setdefault(key, set()).add(benchmark_group(e.benchmark))
        series[key] = series.get(key, 0) + 1
    total = int(sum(measured.values()))
    if not moved or total == 0:
        return {}
    p = min(1.0, sum(len(v) for v in moved.values()) / total)
    n_tests = max(1, len(measured))
    out = {}
    for key, gs in moved.items():
        k = len(gs)
        g = max(k, int(measured.get(key, k)))
        if k < min_groups:
            continue
        padj = min(1.0, float(binom.sf(k - 1, g, p)) * n_tests)
        if padj <= alpha:
            out[key] = {"groups": k, "groups_measured": g, "series": series[key], "p_value": padj}
    return out


# --------------------------------------------------------------------------- assessment


def _key(f: Any) -> tuple[Any, ...]:
    return (f.machine, f.env, f.benchmark, tuple(f.params))


class _Pairwise:
    """A significant pairwise comparison read through the attribute names of a change point."""

    def __init__(self, finding: Any) -> None:
        d = dict(finding.to_dict())
        self.comparison = finding
        self._dict = d
        self.benchmark = str(d["benchmark"])
        self.params = tuple(d.get("params") or ())
        self.machine, self.env = d["machine"], d["env"]
        self.commit_before, self.commit_after = d["commit_before"], d["commit_after"]
        self.direction = d.get("verdict", d.get("direction"))
        self.metric_direction = str(d.get("metric_direction", "lower_is_better"))
        for k in ("ratio", "ci_low", "ci_high", "p_value", "q_value", "value_before", "value_after",
                  "threshold"):
            v = d.get(k)
            setattr(self, k, math.nan if v is None else float(v))
        self.unit = d.get("unit")
        self.confidence_level = d.get("confidence_level", 0.95)
        self.date_after = None
        self.significant = True

    def to_dict(self) -> dict[str, Any]:
        return {**self._dict, "direction": self.direction}


def pairwise_tail(
    df: pd.DataFrame, change_points: Sequence[Any], *, tail: int = 2, fdr: float = 0.05,
    min_effect: float = 0.05, thresholds: Any = None,
) -> list[Any]:
    """Significant pairwise findings of the newest ``tail`` neighbouring revision pairs.

    A change point needs revisions after it; the newest revisions are therefore
    also compared with the revision before them (:func:`torchperf.history.compare_revisions`,
    one Benjamini-Hochberg family per pair). Series that already have a change
    point at that commit are left out.

    Parameters
    ----------
    df : pandas.DataFrame
        The history, or at least its newest revisions (20 or more for the
        run-to-run noise).
    change_points : sequence of ChangePoint
        Change points already found.
    tail, fdr, min_effect, thresholds
        As in :func:`assess_history`.

    Returns
    -------
    list
        Regressions and improvements, read through the attribute names of a
        change point (``benchmark``, ``ratio``, ``q_value``, ``direction`` = the
        verdict ...); the comparison itself is ``.comparison``.

    """
    found = _tail_findings(df, tail=tail, fdr=fdr, min_effect=min_effect, thresholds=thresholds)
    return _unseen_pairs(found, change_points)


def _tail_findings(
    df: pd.DataFrame, *, tail: int, fdr: float, min_effect: float, thresholds: Any,
) -> list[Any]:
    """The significant :class:`~torchperf.comparison.Finding` s of the newest ``tail`` revision pairs.

    The run-to-run noise of every series is estimated once for all pairs (the same
    frame gives the same estimate to each :func:`~torchperf.history.compare_revisions`).
    """
    from torchperf.history.changepoints import _check_frame
    from torchperf.history.compare import _compare_resolved, _sigmas, _validate

    if tail <= 0 or df.empty:
        return []
    if thresholds is None:
        thresholds = df.attrs.get("regressions_thresholds") or None
    try:
        _validate(0.95, fdr)
        _check_frame(df)
    except InvalidParameterError:
        return []
    order = df.drop_duplicates("commit").sort_values("revision")["commit"].tolist()
    pairs = [(order[i - 1], order[i]) for i in range(max(1, len(order) - tail), len(order))]
    if not pairs:
        return []
    sigmas = _sigmas(df)
    out = []
    for a, b in pairs:
        found = _compare_resolved(df, a, b, sigmas, confidence_level=0.95, fdr=fdr,
                                  thresholds=thresholds, default_threshold=min_effect,
                                  equivalence_margin=None, min_history=8)
        out += [f for f in found if f.verdict in ("regression", "improvement")]
    return out


def _unseen_pairs(found: Sequence[Any], change_points: Sequence[Any]) -> list[Any]:
    """Pairwise findings (as :class:`_Pairwise`) of series without a change point at that commit."""
    seen = {(_key(c), c.commit_after) for c in change_points}
    out = []
    for f in found:
        pf = _Pairwise(f)
        if (_key(pf), pf.commit_after) not in seen:
            out.append(pf)
    return out


def _finding_json(f: Any) -> dict[str, Any]:
    """A pairwise :class:`~torchperf.comparison.Finding` as JSON (every field; ``procedure`` dropped)."""
    from dataclasses import fields as dc_fields

    d = {k.name: getattr(f, k.name) for k in dc_fields(f) if k.name != "procedure"}
    d["context"] = {**dict(f.context), "params": list(f.context.get("params", ()))}
    return d


def _finding_from_json(d: Mapping[str, Any]) -> Any:
    """Inverse of :func:`_finding_json` (equal to the finding that was written)."""
    from torchperf.comparison import Finding

    ctx = dict(d["context"])
    ctx["params"] = tuple(ctx.get("params") or ())
    return Finding(**{**d, "context": ctx})


def assess(
    change_points: Sequence[Any],
    context: pd.DataFrame,
    *,
    pairwise: Sequence[Any] = (),
    measured: Mapping[tuple[str, str], int] | None = None,
    broad_min_groups: int = 3,
    broad_alpha: float = 0.01,
) -> list[Verdict]:
    """Status and cause of each change point and pairwise finding.

    Parameters
    ----------
    change_points : sequence of ChangePoint
        Significant change points (insignificant ones are ignored).
    context : pandas.DataFrame
        One row per (machine, environment, commit) with ``revision``, ``date``,
        ``python``, ``env_params``, ``file`` and side-store facts
        (:func:`context_frame`); ``attrs["results_dir"]`` locates environment snapshots.
    pairwise : sequence of Finding, optional
        Significant pairwise findings (:func:`pairwise_tail`).
    measured : mapping, optional
        Benchmark groups measured per (machine, commit) (:func:`measured_groups`);
        without it no commit is called a broad shift.
    broad_min_groups, broad_alpha
        Parameters of :func:`broad_shifts`.

    Returns
    -------
    list of Verdict
        Newest first, then by machine and benchmark.

    """
    cps = [c for c in change_points if getattr(c, "significant", True)]
    events: list[tuple[str, Any]] = [("change-point", c) for c in cps] + [("pairwise", f) for f in pairwise]
    revision_of = dict(zip(context["commit"], context["revision"], strict=False))
    dates = context.drop_duplicates("commit").set_index("commit")["date"] if "date" in context else None
    facts = _Facts(context)
    shifts = broad_shifts(measured or {}, [e for _, e in events], min_groups=broad_min_groups,
                          alpha=broad_alpha) if measured else {}
    by_series: dict[tuple[Any, ...], list[tuple[int, str, Any]]] = {}
    for kind, e in events:
        by_series.setdefault(_key(e), []).append((int(revision_of.get(e.commit_after, -1)), kind, e))
    out: list[Verdict] = []
    for evs in by_series.values():
        evs.sort(key=lambda t: t[0])
        # the level after the last change of the series is its newest level (no later change seen)
        level_now = float(evs[-1][2].value_after)
        for i, (rev_after, kind, e) in enumerate(evs):
            lib = str(e.metric_direction) != "higher_is_better"
            base = float(e.value_before)
            fixed_by = fixed_rev = fix_ratio = None
            for rev2, _kind2, f in evs[i + 1:]:
                if f.direction == e.direction:
                    continue
                if base and _undone(float(f.value_after) / base, float(e.ratio), e.threshold, lib):
                    fixed_by, fixed_rev, fix_ratio = f.commit_after, rev2, float(f.ratio)
                    break
            ratio_now = level_now / base if base and math.isfinite(level_now) else math.nan
            undone = fixed_by is not None
            if e.direction == "regression":
                status = "fixed" if undone else "open"
            else:
                status = "reverted" if undone else "kept"
            env_change, snaps = facts.changed(e.machine, e.env, e.commit_before, e.commit_after)
            shift = shifts.get((e.machine, e.commit_after))
            cause = "environment" if env_change else ("broad-shift" if shift else "code")
            date = getattr(e, "date_after", None)
            if date is None and dates is not None and e.commit_after in dates.index:
                date = _iso(dates[e.commit_after])
            out.append(Verdict(
                finding=e, kind=kind, direction=e.direction, status=status, cause=cause,
                revision_before=int(revision_of.get(e.commit_before, rev_after - 1)),
                revision_after=rev_after, date_after=date, fixed_by=fixed_by,
                fixed_by_revision=fixed_rev, fix_ratio=fix_ratio, ratio_now=ratio_now,
                env_change=env_change, snapshots=snaps, broad_shift=shift,
            ))
    out.sort(key=lambda v: (-v.revision_after, v.machine, v.benchmark, tuple(v.params), v.env))
    return out


def assess_history(
    df: pd.DataFrame,
    *,
    fdr: float = 0.05,
    min_effect: float = 0.05,
    thresholds: float | Mapping[str, float] | None = None,
    tail: int = 2,
    broad_min_groups: int = 3,
    broad_alpha: float = 0.01,
    change_points: Sequence[Any] | None = None,
    **detect_kw: Any,
) -> list[Verdict]:
    """Every significant change of a loaded asv history, with status and cause.

    Parameters
    ----------
    df : pandas.DataFrame
        From :func:`torchperf.history.load_results`.
    fdr : float, default 0.05
        False-discovery rate of the change-point search (and of each pairwise comparison).
    min_effect : float, default 0.05
        Smallest relative change reported for benchmarks without a threshold.
    thresholds : float or mapping, optional
        asv's ``regressions_thresholds``; default from ``df.attrs``.
    tail : int, default 2
        The newest ``tail`` revisions are also compared pairwise with the revision
        before them (``kind="pairwise"``), since a change point needs revisions
        after it; 0 turns this off.
    broad_min_groups, broad_alpha : int, float
        Parameters of :func:`broad_shifts`.
    change_points : sequence of ChangePoint, optional
        Precomputed change points of ``df`` (default: computed with
        :func:`torchperf.history.detect_change_points`).
    **detect_kw
        Passed to :func:`torchperf.history.detect_change_points`.

    Returns
    -------
    list of Verdict
        Newest first, then by machine and benchmark.

    """
    from torchperf.history.changepoints import _check_frame, detect_change_points

    _check_frame(df)
    if not (isinstance(tail, int) and not isinstance(tail, bool) and tail >= 0):
        raise InvalidParameterError(f"`tail` must be an int >= 0; got {tail!r}.")
    if thresholds is None:
        thresholds = df.attrs.get("regressions_thresholds") or None
    if change_points is None:
        detect_kw["include_insignificant"] = False
        change_points = detect_change_points(df, fdr=fdr, min_effect=min_effect,
                                             thresholds=thresholds, **detect_kw)
    cps = [c for c in change_points if getattr(c, "significant", True)]
    pairs = pairwise_tail(df, cps, tail=tail, fdr=fdr, min_effect=min_effect, thresholds=thresholds)
    return assess(cps, context_frame(df), pairwise=pairs, measured=measured_groups(df),
                  broad_min_groups=broad_min_groups, broad_alpha=broad_alpha)


def _tail_frame(files: pd.DataFrame, benchmarks: Mapping[str, Any], scope: Any, n: int,
                attrs: Mapping[str, Any]) -> pd.DataFrame:
    """The newest ``n`` revisions of a history, read from their results files (bounded memory)."""
    import pandas as pd

    from torchperf.history.loader import _rows_from_file

    revs = sorted(set(files["revision"]))[-n:]
    sub = files[files["revision"].isin(revs)]
    rows: list[dict[str, Any]] = []
    for f, machine in sub[["file", "machine"]].itertuples(index=False):
        got = _rows_from_file(Path(f), machine, benchmarks) or []
        rows += [r for r in got if scope is None or scope.bench_ok(r["benchmark"])]
    if not rows:
        return pd.DataFrame(columns=["machine", "env_name", "benchmark", "param_str", "params",
                                     "commit", "revision", "value"])
    df = pd.DataFrame(rows)
    df["date"] = pd.to_datetime(df["date"], unit="ms", utc=True, errors="coerce")
    rank = dict(zip(sub["commit"], sub["revision"], strict=False))
    df["revision"] = df["commit"].map(rank).astype("int64")
    df.attrs.update(attrs)
    return df


_TAIL_CODE = ("verdicts.py", "compare.py", "changepoints.py", "loader.py", "../comparison.py",
              "../stats.py")


def _tail_key(files: pd.DataFrame, ctx: Mapping[str, Any], scope: Any, n: int,
              params: Mapping[str, Any]) -> str | None:
    """Cache key of the pairwise check: its files' content hashes and everything else it reads.

    None when a file has no content hash (parsed without the store): nothing is cached.
    """
    import hashlib
    import json

    import numpy as np
    import pandas as pd
    import scipy

    revs = sorted(set(files["revision"]))[-n:]
    sub = files[files["revision"].isin(revs)]
    if "hash" not in sub.columns or not all(isinstance(h, str) and h for h in sub["hash"]):
        return None
    h = hashlib.blake2b(digest_size=16)
    here = Path(__file__).resolve().parent
    for name in _TAIL_CODE:
        try:
            h.update((here / name).read_bytes())
        except OSError:
            return None
    h.update(f"{np.__version__} {pd.__version__} {scipy.__version__}".encode())
    rows = sub[["file", "hash", "machine", "env_name", "commit", "revision"]].astype(str)
    h.update(json.dumps(rows.to_numpy().tolist()).encode())
    h.update(json.dumps([ctx["benchmarks"], ctx["thresholds"], getattr(scope, "bench", None),
                         sorted(params.items())], sort_keys=True, default=repr).encode())
    return h.hexdigest()


def _cached_tail(
    files: pd.DataFrame, ctx: Mapping[str, Any], scope: Any, *, tail: int, fdr: float,
    min_effect: float, attrs: Mapping[str, Any],
) -> tuple[list[Any], list[str]]:
    """Significant findings of the newest ``tail`` revision pairs, and the benchmarks measured there.

    Read from ``tail + 20`` revisions' results files (the run-to-run noise needs them).
    With the history store, the result is cached in its ``results/`` folder keyed by
    :func:`_tail_key`: a run with no new or changed file among them compares nothing.
    """
    import json

    n = tail + 20
    store_dir = ctx.get("store_dir")
    key = None
    if store_dir is not None:
        key = _tail_key(files, ctx, scope, n, {"tail": tail, "fdr": fdr, "min_effect": min_effect})
    path = None if key is None else store_dir / "results" / f"tail-{key}.json"
    if path is not None:
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
            return [_finding_from_json(d) for d in doc["findings"]], list(doc["benchmarks"])
        except (OSError, ValueError, TypeError, KeyError, InvalidParameterError):
            pass  # missing or unreadable: recomputed
    tdf = _tail_frame(files, ctx["benchmarks"], scope, n, attrs)
    found = _tail_findings(tdf, tail=tail, fdr=fdr, min_effect=min_effect,
                           thresholds=ctx["thresholds"] or None)
    names = sorted(set(tdf["benchmark"].astype(str)))
    if path is not None:
        import contextlib

        from torchperf.history.store import write_bytes

        doc = {"findings": [_finding_json(f) for f in found], "benchmarks": names}
        with contextlib.suppress(OSError, TypeError, ValueError):
            write_bytes(path, json.dumps(doc, allow_nan=True).encode())
    return found, names


def assess_results(
    results_dir: str | Path,
    *,
    since: str | None = None,
    cache: bool | str | Path = True,
    scope: Any = None,
    scheduler: Any = None,
    progress: Any = None,
    fdr: float = 0.05,
    min_effect: float = 0.05,
    tail: int = 2,
    broad_min_groups: int = 3,
    broad_alpha: float = 0.01,
    **detect_kw: Any,
) -> tuple[list[Verdict], int | None]:
    """:func:`assess_history` of an asv results directory, streamed from the history store.

    Change points come from :func:`torchperf.history.pipeline.stream_change_points`
    (one series group at a time, on Dask with ``scheduler``); the pairwise check of
    the newest revisions reads only the newest ``tail + 20`` revisions' files, and
    its result is cached in the store, keyed by those files' content hashes (a run
    on an unchanged history compares nothing). The
    benchmark groups measured at a commit (for :func:`broad_shifts`) are taken as
    every group of ``benchmarks.json`` in scope (without it: of the newest revisions'
    results), on every commit of the machine.

    Parameters
    ----------
    results_dir : path-like
        The asv results directory.
    since : str, optional
        Revision (git ref or hash prefix); the returned int is its position, and
        only history from 100 revisions before it is read.
    cache, scope, scheduler, progress
        As for :func:`torchperf.history.pipeline.stream_change_points`.
    fdr, min_effect, tail, broad_min_groups, broad_alpha, **detect_kw
        As for :func:`assess_history`.

    Returns
    -------
    (list of Verdict, int or None)
        The verdicts (newest first) and the revision of ``since``.

    """
    from torchperf.history.pipeline import stream_change_points

    if not (isinstance(tail, int) and not isinstance(tail, bool) and tail >= 0):
        raise InvalidParameterError(f"`tail` must be an int >= 0; got {tail!r}.")
    ctx: dict[str, Any] = {}
    cps, start = stream_change_points(
        results_dir, since=since, cache=cache, scope=scope, scheduler=scheduler,
        progress=progress, context=ctx, fdr=fdr, min_effect=min_effect,
        include_insignificant=False, **detect_kw,
    )
    files = ctx["files"].reset_index(drop=True)
    attrs = {**ctx["order_info"], "results_dir": ctx["results_dir"],
             "regressions_thresholds": ctx["thresholds"]}
    context = files.drop_duplicates(["machine", "env_name", "commit"]).reset_index(drop=True)
    context.attrs.update(attrs)
    names = [b for b in ctx["benchmarks"] if scope is None or scope.bench_ok(b)]
    pairs: list[Any] = []
    if tail > 0:
        found, tail_names = _cached_tail(files, ctx, scope, tail=tail, fdr=fdr, min_effect=min_effect,
                                         attrs=attrs)
        pairs = _unseen_pairs(found, cps)
        if not names:  # no benchmarks.json: what the newest revisions measured
            names = tail_names
    if not names:
        names = sorted({c.benchmark for c in cps})
    n_groups = len({benchmark_group(b) for b in names})
    measured = {(m, c): n_groups for m, c in files[["machine", "commit"]].drop_duplicates().itertuples(index=False)}
    verdicts = assess(cps, context, pairwise=pairs, measured=measured,
                      broad_min_groups=broad_min_groups, broad_alpha=broad_alpha)
    return verdicts, start


def explain_compare(
    df: pd.DataFrame,
    findings: Sequence[Any],
    *,
    change_points: Sequence[Any] | None = None,
    min_size: int | None = None,
    **detect_kw: Any,
) -> dict[tuple[Any, ...], dict[str, Any]]:
    """Why ``compare A B`` and the change-point analysis disagree on a series, when they do.

    ``compare_revisions`` tests the two commits' values alone (run-to-run noise from
    the series' history); the change-point analysis (``torchperf regressions``) tests
    a level shift between *segments* of revisions -- at least ``min_size`` (2) on a
    side that reaches the series start or end, at least 3 on a side inside the
    series (``changepoints.MIN_SIZE_END``, ``changepoints.MIN_SIZE_INNER``) -- with one FDR family over every candidate of every series. They
    can therefore differ: a one-commit spike or a step at the newest revisions is
    seen by the first only; a small step whose segments are long is seen by the
    second only, and a step inside ``A..B`` (not at B) too.

    Parameters
    ----------
    df : pandas.DataFrame
        The history (:func:`torchperf.history.load_results`).
    findings : sequence of Finding
        ``compare_revisions(df, A, B)``.
    change_points : sequence of ChangePoint, optional
        ``detect_change_points(df, include_insignificant=True)`` (computed when omitted).
    min_size : int, optional
        The detector's ``min_size``: revisions a change point needs on a side that
        reaches the series start or end (default ``changepoints.MIN_SIZE_END``, 2;
        passed to the detector when ``change_points`` is computed here). A change at
        B has B and the revisions after it on its right side, so it is out of
        reach only when fewer than ``min_size`` revisions from B on have data.
    **detect_kw
        Passed to :func:`torchperf.history.detect_change_points`.

    Returns
    -------
    dict
        ``{(machine, env, benchmark, params): explanation}`` for each series whose
        verdicts differ; an explanation holds ``compare`` (verdict, ratio, q,
        noise model, n), ``regressions`` (verdict and the change points in
        ``(A, B]`` with ratio, q, segment sizes and method; the nearest
        insignificant candidate when none is significant), ``revisions_after_b``
        and ``reason`` (one sentence).

    """
    from torchperf.history.changepoints import MIN_SIZE_END, detect_change_points

    if not findings:
        return {}
    if min_size is None:
        min_size = int(detect_kw.get("min_size", MIN_SIZE_END))
    detect_kw["min_size"] = min_size
    if change_points is None:
        change_points = detect_change_points(df, include_insignificant=True, **detect_kw)
    revision_of = dict(zip(df["commit"], df["revision"], strict=False))
    first = _Pairwise(findings[0])
    ra, rb = revision_of[first.commit_before], revision_of[first.commit_after]
    lo, hi = min(ra, rb), max(ra, rb)
    by_series: dict[tuple[Any, ...], list[Any]] = {}
    for c in change_points:
        rev = int(revision_of.get(c.commit_after, -1))
        if lo < rev <= hi:
            by_series.setdefault(_key(c), []).append(c)
    out: dict[tuple[Any, ...], dict[str, Any]] = {}
    for f in findings:
        d = f.to_dict()
        pf = _Pairwise(f)
        key = _key(pf)
        cps = sorted(by_series.get(key, []), key=lambda c: revision_of[c.commit_after])
        sig = [c for c in cps if c.significant]
        lib = str(pf.metric_direction) != "higher_is_better"
        if sig:
            net = math.prod(float(c.ratio) for c in sig)
            net = net if rb >= ra else 1 / net
            cp_verdict = "regression" if _badness(net, lib) > 1 else "improvement"
        else:
            cp_verdict = "none"
        cmp_verdict = d.get("verdict")
        cmp_dir = cmp_verdict if cmp_verdict in ("regression", "improvement") else "none"
        if cmp_dir == cp_verdict:
            continue
        series_revs = sorted(int(r) for r in df.loc[
            (df["machine"] == pf.machine) & (df["env_name"] == pf.env) & (df["benchmark"] == pf.benchmark)
            & (df["params"].map(tuple) == pf.params), "revision"].unique())
        after_b = sum(r > hi for r in series_revs)
        before_a = sum(r <= lo for r in series_revs)
        cp_info = [
            {"commit_before": c.commit_before, "commit_after": c.commit_after, "ratio": float(c.ratio),
             "q_value": float(c.q_value), "significant": bool(c.significant),
             "n_before": int(c.n_before), "n_after": int(c.n_after), "method": c.method}
            for c in cps
        ]
        q = d.get("q_value")
        cmp_text = (f"compare: {cmp_verdict}, ratio {pf.ratio:.3f} [{pf.ci_low:.3f}, {pf.ci_high:.3f}], "
                    f"q = {q:.3g}" if isinstance(q, float) else f"compare: {cmp_verdict}")
        cmp_text += f" (one value per commit, noise model {d.get('noise_model', '?')})"
        if sig:
            c = sig[0]
            where = "at B" if c.commit_after == pf.commit_after else f"inside A..B, at {c.commit_after[:8]}"
            reason = (f"{cmp_text}; regressions: {cp_verdict} {where}, ratio {float(c.ratio):.3f}, "
                      f"q = {float(c.q_value):.3g}, segments of {c.n_before} and {c.n_after} revisions "
                      f"({c.method}): the segment means are more precise than two single values")
            if c.commit_after != pf.commit_after:
                reason += ", and A and B are not the two commits either side of the change"
        elif after_b + 1 < min_size:  # the right side of a change at B: B and what follows it
            reason = (f"{cmp_text}; regressions: no change point, because only {after_b} revision(s) "
                      f"of this series come after B and a change point at the series end needs "
                      f"{min_size} revisions from B on (B included) "
                      "(the newest revisions are compared pairwise by `torchperf regressions` instead)")
        elif before_a < min_size:  # the left side of a change right after A: A and what precedes it
            reason = (f"{cmp_text}; regressions: no change point, because only {before_a} revision(s) "
                      f"of this series come up to A (A included) and a change point at the series "
                      f"start needs {min_size} on that side")
        elif cps:
            c = min(cps, key=lambda c: float(c.q_value))
            reason = (f"{cmp_text}; regressions: a candidate at {c.commit_after[:8]} (ratio "
                      f"{float(c.ratio):.3f}, segments of {c.n_before} and {c.n_after} revisions, "
                      f"{c.method}) is not significant after FDR across all series (q = {float(c.q_value):.3g})"
                      " or below the threshold")
        else:
            reason = (f"{cmp_text}; regressions: no level shift in A..B: the levels of the revisions "
                      "around it do not differ (a one-commit excursion that did not persist, or noise "
                      "that the two-commit test cannot tell from a change)")
        out[key] = {
            "compare": {"verdict": cmp_verdict, "ratio": pf.ratio, "q_value": q,
                        "noise_model": d.get("noise_model"), "n_before": d.get("n_before"),
                        "n_after": d.get("n_after")},
            "regressions": {"verdict": cp_verdict, "change_points": cp_info},
            "revisions_before_a": before_a,
            "revisions_after_b": after_b,
            "reason": reason + ".",
        }
    return out


def select_verdicts(
    verdicts: Iterable[Verdict],
    *,
    everything: bool = False,
    since_revision: int | None = None,
    min_effect: float | None = None,
) -> list[Verdict]:
    """What ``torchperf regressions`` lists.

    Parameters
    ----------
    verdicts : iterable of Verdict
        From :func:`assess_history`.
    everything : bool, default False
        False: open regressions caused by code only. True: also fixed ones,
        improvements, environment-caused changes and broad shifts.
    since_revision : int, optional
        Only changes whose first bad revision comes after this one.
    min_effect : float, optional
        Only changes with ``|ratio - 1| >= min_effect``.

    Returns
    -------
    list of Verdict

    """
    out = []
    for v in verdicts:
        if since_revision is not None and v.revision_after <= since_revision:
            continue
        if min_effect is not None and not abs(float(v.ratio) - 1) >= min_effect:
            continue
        if not everything and not (v.direction == "regression" and v.status == "open" and v.cause == "code"):
            continue
        out.append(v)
    return out


# --------------------------------------------------------------------------- table


_UNITS = {"seconds": "s", "second": "s", "s": "s", "bytes": "B", "byte": "B", "B": "B"}


def _value(v: Any, unit: Any) -> str:
    from torchperf.result import format_quantity

    if not (isinstance(v, (int, float)) and math.isfinite(v)):
        return "-"
    u = _UNITS.get(str(unit)) if unit is not None else None
    if u is not None:
        return format_quantity(float(v), u)
    text = f"{float(v):.3g}"
    return f"{text} {unit}" if unit else text


def _elide(text: str, width: int, *, head: int | None = None) -> str:
    """``text`` shortened to ``width`` characters with an ellipsis (``head`` characters kept in front)."""
    if len(text) <= width:
        return text
    if width <= 1:
        return text[:width]
    keep = width - 1
    head = keep // 3 if head is None else min(head, keep)
    return text[:head] + "…" + text[len(text) - (keep - head):]


def _q(q: Any) -> str:
    if not (isinstance(q, (int, float)) and math.isfinite(q)):
        return "-"
    return "<0.001" if q < 0.001 else f"{q:.3f}"


def verdict_table(verdicts: Sequence[Verdict], *, width: int = 120, biggest: int = 3) -> str:
    """Plain-text table of verdicts grouped by commit, at most ``width`` columns wide.

    Each group starts with the commit range, its date, how many series moved
    (regressions / improvements), the cause when it is not the code (environment
    facts that changed, or a broad shift) and the ``biggest`` changes; one row per
    series follows: benchmark (``Class.method(params)``; the full name is in the JSON),
    environment (machine/environment when several machines are shown), value before
    -> after with units, ratio with its CI, q-value, kind (``cp`` change point,
    ``pair`` pairwise) and status (``fixed@<commit>`` names the fix).

    Parameters
    ----------
    verdicts : sequence of Verdict
        What to show (e.g. from :func:`select_verdicts`).
    width : int, default 120
        Maximum line width; benchmark and environment names are shortened in the middle.
    biggest : int, default 3
        How many of the biggest changes the group line names.

    Returns
    -------
    str

    """
    from torchperf.history.loader import entry_name

    one_machine = len({v.machine for v in verdicts}) == 1
    groups: dict[str, list[Verdict]] = {}
    for v in verdicts:
        groups.setdefault(v.commit_after, []).append(v)
    order = sorted(groups, key=lambda c: -max(v.revision_after for v in groups[c]))
    rows: list[list[str]] = []
    heads: dict[int, list[str]] = {}
    for c in order:
        vs = sorted(groups[c], key=lambda v: -abs(math.log(v.ratio)) if v.ratio and v.ratio > 0 else 0)
        first = vs[0]
        n_reg = sum(v.direction == "regression" for v in vs)
        date = (first.date_after or "")[:10]
        lines = [f"{first.commit_before[:8]}..{c[:8]}  {date}  {len(vs)} series moved "
                 f"({n_reg} regression{'s' if n_reg != 1 else ''}, {len(vs) - n_reg} improvement"
                 f"{'s' if len(vs) - n_reg != 1 else ''})"]
        shift = next((v.broad_shift for v in vs if v.broad_shift), None)
        env = next((v for v in vs if v.cause == "environment"), None)
        if env is not None:
            facts = ", ".join(f"{k} {a} -> {b}" for k, (a, b) in list(env.env_change.items())[:4])
            more = len(env.env_change) - 4
            lines.append(_elide(f"  cause: environment ({facts}{f', +{more} more' if more > 0 else ''})", width))
        if shift:
            lines.append(_elide(f"  cause: broad shift on {first.machine}: {shift['groups']} of "
                                f"{shift['groups_measured']} benchmark groups moved "
                                f"(p = {shift['p_value']:.2g}); machine or environment suspected", width))
        big = ", ".join(f"{v.benchmark.rsplit('.', 1)[-1]} x{v.ratio:.3g}" for v in vs[:biggest])
        lines.append(_elide(f"  biggest: {big}", width))
        heads[len(rows)] = lines
        for v in vs:
            short = ".".join(v.benchmark.split(".")[-2:])
            name = entry_name(short, list(v.params))
            status = v.status + (f"@{v.fixed_by[:8]}" if v.fixed_by else "")
            ci = f"{v.ratio:.3f} [{v.ci_low:.3f}, {v.ci_high:.3f}]" if all(
                isinstance(x, float) and math.isfinite(x) for x in (v.ratio, v.ci_low, v.ci_high)
            ) else f"{v.ratio:.3f}"
            rows.append([
                name, v.env if one_machine else f"{v.machine}/{v.env}",
                f"{_value(v.value_before, v.unit)} -> {_value(v.value_after, v.unit)}",
                ci, _q(v.q_value), "cp" if v.kind == "change-point" else "pair",
                {"code": "code", "environment": "env", "broad-shift": "shift"}.get(v.cause, v.cause),
                status,
            ])
    header = ["benchmark", "env" if one_machine else "machine/env", "before -> after", "ratio [95% CI]", "q", "kind", "cause", "status"]
    line = _fitted(header, rows, width)
    out = [f"machine: {verdicts[0].machine}"] if one_machine and verdicts else []
    out += [line(header), line(["-" * len(h) for h in header], rule=True)]
    for i, r in enumerate(rows):
        if i in heads:
            out.extend(heads[i])
        out.append(line(r))
    return "\n".join(out)


def _fitted(header: Sequence[str], rows: Sequence[Sequence[str]], width: int) -> Callable[..., str]:
    """A line formatter for ``rows`` under ``header`` in at most ``width`` columns.

    The first two columns (benchmark, environment) share what the others leave;
    benchmark names keep their end (method and parameters), others their middle.
    """
    widths = [max([len(header[i])] + [len(r[i]) for r in rows]) for i in range(len(header))]
    gap = 2
    fixed = sum(widths[2:]) + gap * (len(widths) - 1) + 2
    room = max(20, width - fixed)
    # share what is left between the benchmark and machine/env columns (benchmark gets more)
    w_env = min(widths[1], max(11, room // 3))
    w_bench = min(widths[0], room - w_env)
    w_env = min(widths[1], room - w_bench)
    widths[0], widths[1] = w_bench, w_env
    sep = " " * gap

    def line(cells: Sequence[str], *, rule: bool = False) -> str:
        if rule:
            cells = ["-" * w for w in widths]
        parts = [_elide(c, w, head=0 if i == 0 else None).ljust(w)
                 for i, (c, w) in enumerate(zip(cells, widths, strict=True))]
        return ("  " + sep.join(parts)).rstrip()

    return line


def comparison_table(rows: Sequence[Mapping[str, Any]], *, width: int = 120) -> str:
    """Plain-text table of ``torchperf compare A B`` (``compare_revisions`` rows), at most ``width`` wide.

    Laid out like :func:`verdict_table`: a first line names the two commits (and the
    machine when there is one), then one row per series: benchmark
    (``Class.method(params)``; the full name is in the JSON), environment
    (machine/environment when several machines are shown), value before -> after
    with units, ratio with its confidence interval, q (the Benjamini-Hochberg
    adjusted p-value the verdict is decided on; p is in the JSON), the verdict
    and the evidence the noise came from.

    Parameters
    ----------
    rows : sequence of mapping
        ``Finding.to_dict()`` of :func:`torchperf.history.compare_revisions`.
    width : int, default 120
        Maximum line width; benchmark and environment names are shortened.

    Returns
    -------
    str

    """
    from torchperf.history.loader import entry_name

    if not rows:
        return "(no series to show)"
    machines = {str(r.get("machine")) for r in rows}
    one_machine = len(machines) == 1
    level = rows[0].get("confidence_level")
    pct = f"{100 * level:g}%" if isinstance(level, (int, float)) else "95%"
    body: list[list[str]] = []
    for r in rows:
        short = ".".join(str(r.get("benchmark")).split(".")[-2:])
        name = entry_name(short, [str(p) for p in r.get("params") or ()])
        ratio, lo, hi = (r.get(k) for k in ("ratio", "ci_low", "ci_high"))
        ok = [isinstance(x, (int, float)) and math.isfinite(x) for x in (ratio, lo, hi)]
        ci = f"{ratio:.3f} [{lo:.3f}, {hi:.3f}]" if all(ok) else (f"{ratio:.3f}" if ok[0] else "-")
        unit = r.get("unit")
        body.append([
            name, str(r.get("env")) if one_machine else f"{r.get('machine')}/{r.get('env')}",
            f"{_value(r.get('value_before', r.get('before')), unit)} -> "
            f"{_value(r.get('value_after', r.get('after')), unit)}",
            ci, _q(r.get("q_value", r.get("q"))), str(r.get("verdict") or "-"), str(r.get("evidence") or "-"),
        ])
    header = ["benchmark", "env" if one_machine else "machine/env", "before -> after", f"ratio [{pct} CI]", "q",
              "verdict", "evidence"]
    line = _fitted(header, body, width)
    a, b = str(rows[0].get("commit_before"))[:8], str(rows[0].get("commit_after"))[:8]
    out = [f"{a}..{b}" + (f"  machine: {next(iter(machines))}" if one_machine else "")]
    out += [line(header), line(header, rule=True)]
    out += [line(c) for c in body]
    return "\n".join(out)
