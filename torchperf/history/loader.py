"""Read any airspeed velocity (asv) results directory into one tidy :class:`pandas.DataFrame`.

Layout read (asv 0.6, results format version 2; version 1 files are upgraded
with asv's own ``Results.update_to_2``)::

    <results_dir>/benchmarks.json                 benchmark metadata (unit, params, version, type)
    <results_dir>/<machine>/machine.json          machine facts
    <results_dir>/<machine>/<hash8>-<env>.json    one file per commit x environment
    <results_dir>/<machine>/torchperf-env/*.json  optional torchperf side store (NumPy, BLAS facts)

Each results file holds ``result_columns`` (``result, params, version,
started_at, duration, stats_ci_99_a, stats_ci_99_b, stats_q_25, stats_q_75,
stats_number, stats_repeat, samples, profile``) and one *positional* row per
benchmark, whose trailing ``None`` columns asv drops. Values may be ``NaN`` or
``Infinity``. A parameterised benchmark stores one entry per element of the
cartesian product of its parameter lists.

A corrupt, truncated or structurally invalid file is skipped with a
:class:`~torchperf.errors.CorruptResultsWarning` that names it; every other
file still loads.
"""

from __future__ import annotations

import itertools
import math
import os
import re
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from torchperf.errors import CorruptResultsWarning, InvalidParameterError, ResultsFileError
from torchperf.fileio import read_asv_config, read_json

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = [
    "COLUMNS",
    "entry_name",
    "load_asv_config",
    "load_env_facts",
    "load_results",
    "resolve_commit",
    "revision_ranks",
]

#: Columns of the frame returned by :func:`load_results`, in order. Matrix
#: parameters of the environment are added as ``env_<name>`` columns after these.
COLUMNS: tuple[str, ...] = (
    "machine",
    "env_name",
    "python",
    "env_params",
    "commit",
    "date",
    "revision",
    "benchmark",
    "params",
    "param_str",
    "value",
    "ci_low",
    "ci_high",
    "q25",
    "q75",
    "number",
    "repeat",
    "samples",
    "unit",
    "lower_is_better",
    "version",
    "version_current",
    "benchmark_type",
    "rounds",
    "started_at",
    "duration_s",
    "file",
    "numpy_version",
    "blas_library",
    "blas_version",
    "blas_threads",
)

_SIDE_STORE = "torchperf-env"
_SKIP = {"machine.json", "benchmarks.json"}
_HIGHER_UNITS = re.compile(r"(/\s*s(ec(ond)?)?\b|per second|higher is better|\bops\b|\bhz\b)", re.I)


def _warn(path: Path, why: str) -> None:
    warnings.warn(
        f"skipped asv results file {path}: {why}. The rest of the directory was loaded; "
        "delete or re-run the benchmark that wrote this file.",
        CorruptResultsWarning,
        stacklevel=3,
    )


def entry_name(benchmark: str, params: Sequence[str]) -> str:
    """Return asv's display name of one parameter combination: ``name(p1, p2)`` or ``name``.

    This is the string asv matches ``regressions_thresholds`` regular expressions against.
    """
    return f"{benchmark}({', '.join(params)})" if params else benchmark


def _lower_is_better(meta: Mapping[str, Any]) -> bool:
    """Direction of a benchmark from its benchmarks.json entry.

    asv treats every benchmark as lower-is-better. torchperf records accuracy as
    an error rate so that this holds. An explicit ``lower_is_better`` /
    ``higher_is_better`` key wins; otherwise a ``track_`` benchmark whose unit
    is a rate (``samples/s``, ``ops``, ``Hz``, "higher is better") counts as
    higher-is-better.
    """
    if "lower_is_better" in meta:
        return bool(meta["lower_is_better"])
    if "higher_is_better" in meta:
        return not bool(meta["higher_is_better"])
    unit = str(meta.get("unit") or "")
    return not (meta.get("type") == "track" and _HIGHER_UNITS.search(unit))


def _float(x: Any) -> float:
    if x is None:
        return math.nan
    try:
        return float(x)
    except (TypeError, ValueError):
        return math.nan


def _at(seq: Any, j: int) -> Any:
    if isinstance(seq, list) and j < len(seq):
        return seq[j]
    return None


def load_asv_config(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read an ``asv.conf.json`` (comments allowed); see :func:`torchperf.fileio.read_asv_config`."""
    return read_asv_config(path)


def _flatten_blas(blas: Any) -> tuple[Any, Any, Any]:
    """(library, version, threads) from a threadpoolctl-like record, list of them, or a string."""
    if blas is None:
        return None, None, None
    if isinstance(blas, str):
        return blas, None, None
    if isinstance(blas, Mapping):
        blas = [blas]
    if isinstance(blas, list):
        libs = [b for b in blas if isinstance(b, Mapping)]
        blas_libs = [b for b in libs if b.get("user_api", "blas") == "blas"] or libs
        if not blas_libs:
            return None, None, None
        names = ",".join(
            str(b.get("internal_api") or b.get("library") or b.get("name") or b.get("prefix") or "?")
            for b in blas_libs
        )
        versions = ",".join(str(b.get("version")) for b in blas_libs if b.get("version") is not None)
        threads = [b.get("num_threads", b.get("threads")) for b in blas_libs]
        threads = [int(t) for t in threads if isinstance(t, (int, float))]
        return names, versions or None, (threads[0] if len(set(threads)) == 1 else (max(threads) if threads else None))
    return str(blas), None, None


def load_env_facts(results_dir: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """Read torchperf's per-run environment side store, if any.

    Every ``<results_dir>/<machine>/torchperf-env/*.tpenv`` (written by
    :mod:`torchperf.asvbench.envrecord`, facts nested under ``"facts"``) and
    ``*.json`` file is read; each
    holds one record (or a list of records) with at least ``commit`` (or
    ``commit_hash``) and ``env_name``, and optionally ``numpy_version`` (or
    ``numpy``), ``blas`` (threadpoolctl records, one record, or a string),
    ``blas_threads`` and anything else. Unknown keys are kept.

    Parameters
    ----------
    results_dir : path-like
        The asv results directory.

    Returns
    -------
    list of dict
        One dict per record with normalised keys ``machine``, ``commit``,
        ``env_name``, ``numpy_version``, ``blas_library``, ``blas_version``,
        ``blas_threads`` (``None`` when unknown) plus the original fields.

    """
    root = Path(results_dir)
    out: list[dict[str, Any]] = []
    for store in sorted(root.glob(f"*/{_SIDE_STORE}")):
        machine = store.parent.name
        files = sorted([*store.rglob("*.json"), *store.rglob("*.tpenv")])
        for f in files:
            try:
                data = read_json(f, what="torchperf environment record")
            except ResultsFileError as exc:
                _warn(f, str(exc))
                continue
            records = data if isinstance(data, list) else [data]
            for rec in records:
                if not isinstance(rec, Mapping):
                    _warn(f, "expected a JSON object or a list of objects")
                    break
                if isinstance(rec.get("facts"), Mapping):
                    # torchperf.asvbench.envrecord nests the measured facts under "facts"
                    rec = {**rec["facts"], **{k: v for k, v in rec.items() if k != "facts"}}
                commit = rec.get("commit", rec.get("commit_hash"))
                env_name = rec.get("env_name", rec.get("env"))
                if not isinstance(commit, str) or not isinstance(env_name, str):
                    _warn(f, "a record lacks the string fields 'commit' and 'env_name'")
                    break
                numpy_version = rec.get("numpy_version", rec.get("numpy"))
                if isinstance(numpy_version, Mapping):
                    numpy_version = numpy_version.get("version")
                lib, ver, threads = _flatten_blas(rec.get("blas"))
                if rec.get("blas_threads") is not None:
                    threads = rec.get("blas_threads")
                norm = dict(rec)
                norm.update(
                    machine=rec.get("machine", machine),
                    commit=commit,
                    env_name=env_name,
                    numpy_version=None if numpy_version is None else str(numpy_version),
                    blas_library=rec.get("blas_library", lib),
                    blas_version=rec.get("blas_version", ver),
                    blas_threads=threads,
                )
                out.append(norm)
    return out


def _read_benchmarks(root: Path) -> dict[str, Any]:
    path = root / "benchmarks.json"
    if not path.exists():
        from torchperf.errors import TorchperfWarning

        warnings.warn(
            f"{path} is missing, so the units and directions of the benchmarks are unknown: "
            "values are shown without units and lower is taken as better. Copy benchmarks.json "
            "from the asv results directory these results came from, or run `asv run` "
            "(it writes benchmarks.json).",
            TorchperfWarning,
            stacklevel=3,
        )
        return {}
    try:
        data = read_json(path, what="asv benchmarks.json")
    except ResultsFileError as exc:
        _warn(path, str(exc))
        return {}
    if not isinstance(data, dict):
        _warn(path, "expected a JSON object")
        return {}
    return {k: v for k, v in data.items() if isinstance(v, dict)}


def _machine_dirs(root: Path) -> list[tuple[Path, str]]:
    dirs = []
    for d in sorted(p for p in root.iterdir() if p.is_dir()):
        files = [f for f in d.glob("*.json") if f.name not in _SKIP]
        if not files:
            continue
        name = d.name
        mj = d / "machine.json"
        if mj.exists():
            try:
                m = read_json(mj, what="asv machine.json")
                if isinstance(m, dict) and isinstance(m.get("machine"), str):
                    name = m["machine"]
            except ResultsFileError as exc:
                _warn(mj, f"{exc} (using the folder name {d.name!r} as the machine name)")
        dirs.append((d, name))
    return dirs


def _rows_from_file(
    path: Path, machine: str, benchmarks: Mapping[str, Any]
) -> list[dict[str, Any]] | None:
    try:
        d = read_json(path, what="asv results file")
    except ResultsFileError as exc:
        _warn(path, str(exc))
        return None
    if not isinstance(d, dict):
        _warn(path, "expected a JSON object")
        return None
    if d.get("version") == 1:
        try:
            from asv.results import Results

            d = Results.update_to_2(d)
        except Exception as exc:
            _warn(path, f"cannot upgrade results format version 1: {exc}")
            return None
    elif d.get("version", 2) != 2:
        _warn(path, f"unknown results format version {d.get('version')!r} (expected 2)")
        return None
    try:
        columns = list(d["result_columns"])
        results = d["results"]
        commit = d["commit_hash"]
        if not isinstance(results, dict) or not isinstance(commit, str):
            raise TypeError("'results' must be an object and 'commit_hash' a string")
    except (KeyError, TypeError) as exc:
        _warn(path, f"not an asv results file (missing or malformed {exc})")
        return None
    env_params = d.get("params") or {}
    env_name = d.get("env_name") or path.stem.split("-", 1)[-1]
    python = d.get("python") or env_params.get("python")
    date = d.get("date")
    env_key = tuple(sorted((str(k), str(v)) for k, v in env_params.items() if k != "machine"))
    col = {name: i for i, name in enumerate(columns)}
    rows: list[dict[str, Any]] = []
    try:
        for name, row in results.items():
            if not isinstance(row, list):
                raise TypeError(f"row of {name!r} is not a list")

            def get(key: str, row: list[Any] = row) -> Any:
                i = col.get(key)
                return row[i] if i is not None and i < len(row) else None

            param_lists = get("params") or []
            combos = list(itertools.product(*param_lists)) if param_lists else [()]
            result = get("result")
            meta = benchmarks.get(name, {})
            version = get("version")
            bench_version = meta.get("version")
            samples_all = get("samples")
            started = get("started_at")
            duration = get("duration")
            for j, combo in enumerate(combos):
                samples = _at(samples_all, j)
                if isinstance(samples, list):
                    samples = [float(s) for s in samples if s is not None]
                rows.append(
                    {
                        "machine": machine,
                        "env_name": env_name,
                        "python": None if python is None else str(python),
                        "env_params": env_key,
                        "commit": commit,
                        "date": date,
                        "benchmark": name,
                        "params": tuple(str(p) for p in combo),
                        "param_str": entry_name(name, [str(p) for p in combo])[len(name):],
                        "value": _float(_at(result, j)),
                        "ci_low": _float(_at(get("stats_ci_99_a"), j)),
                        "ci_high": _float(_at(get("stats_ci_99_b"), j)),
                        "q25": _float(_at(get("stats_q_25"), j)),
                        "q75": _float(_at(get("stats_q_75"), j)),
                        "number": _float(_at(get("stats_number"), j)),
                        "repeat": _float(_at(get("stats_repeat"), j)),
                        "samples": samples if isinstance(samples, list) and samples else None,
                        "unit": meta.get("unit"),
                        "lower_is_better": _lower_is_better(meta),
                        "version": version,
                        "version_current": bench_version is None or version is None or version == bench_version,
                        "benchmark_type": meta.get("type") or name.rsplit(".", 1)[-1].split("_", 1)[0],
                        "rounds": meta.get("rounds"),
                        "started_at": started,
                        "duration_s": _float(duration),
                        "file": str(path),
                        **{f"env_{k}": v for k, v in env_key if k != "python"},
                    }
                )
    except (TypeError, ValueError, IndexError) as exc:
        _warn(path, f"malformed benchmark row ({exc})")
        return None
    return rows


def resolve_commit(df: pd.DataFrame, rev: str) -> str:
    """Resolve a revision name or (possibly abbreviated) hash to a commit present in ``df``.

    As asv does, a name is first given to ``git rev-parse NAME^{commit}`` in the
    project repository (``df.attrs["git_repo"]``, set by :func:`load_results`
    when ``asv.conf.json``'s ``repo`` is reachable), so ``HEAD~1``, branch names
    and tags work; when there is no repository or git does not know the name,
    it is matched as a hash prefix against the commits that have results.

    Parameters
    ----------
    df : pandas.DataFrame
        A frame from :func:`load_results`.
    rev : str
        A git revision name (``HEAD``, ``HEAD~1``, ``main``, ``v1.0``), a full
        hash or a unique prefix (asv file names use 8 characters).

    Returns
    -------
    str
        The full commit hash.

    Raises
    ------
    InvalidParameterError
        If git names a commit that has no results, or no commit or more than
        one commit starts with ``rev``.

    """
    if not isinstance(rev, str) or not rev.strip():
        raise InvalidParameterError(f"revision must be a non-empty commit hash prefix; got {rev!r}.")
    commits = df["commit"].drop_duplicates()
    repo = df.attrs.get("git_repo")
    if repo:
        from torchperf.history.gitorder import ProjectRepo, rev_parse

        full = rev_parse(ProjectRepo(Path(repo), tuple(df.attrs.get("git_branches") or ("HEAD",))), rev)
        if full is not None:
            hit = [c for c in commits if c.lower() == full]
            if hit:
                return hit[0]
            if full != rev.strip().lower():  # a name, not a hash that merely lacks results
                raise InvalidParameterError(
                    f"revision {rev.strip()!r} is commit {full[:12]} in {repo}, which has no asv "
                    f"results in {df.attrs.get('results_dir', 'these results')}; run "
                    f"`asv run {full[:12]}^!` first, or name a commit that has results."
                )
    rev = rev.strip().lower()
    matches = sorted(c for c in commits if c.lower().startswith(rev) or rev.startswith(c.lower()))
    if len(matches) == 1:
        return matches[0]
    if not matches:
        known = ", ".join(sorted(c[:8] for c in commits)[:10])
        raise InvalidParameterError(
            f"revision {rev!r} matches no commit in the results (known: {known}"
            f"{', ...' if len(commits) > 10 else ''}); pass a hash prefix that asv has results for."
        )
    raise InvalidParameterError(
        f"revision {rev!r} is ambiguous: it matches {', '.join(m[:12] for m in matches)}; "
        "give more characters."
    )


def revision_ranks(
    root: Path,
    commits: pd.Series,
    revision_order: Iterable[str] | None = None,
    asv_config: str | os.PathLike[str] | Mapping[str, Any] | None = None,
) -> tuple[dict[str, int], dict[str, Any]]:
    """Position of each commit in the history (0 = oldest): the caller's order, else git's, else dates.

    Parameters
    ----------
    root : pathlib.Path
        The results directory (git's order comes from the repository of its asv.conf.json).
    commits : pandas.Series
        Commit hash -> its date (UTC timestamp, ``NaT`` when unknown).
    revision_order : iterable of str, optional
        Commit hashes (or prefixes) oldest first; see :func:`load_results`.
    asv_config : path-like or mapping, optional
        As in :func:`load_results`.

    Returns
    -------
    (dict, dict)
        ``{commit: position}`` and the order's provenance (``df.attrs`` entries).

    """
    import pandas as pd

    order_info: dict[str, Any] = {"revision_order": "given" if revision_order is not None else "date"}
    if revision_order is None:
        from torchperf.history.gitorder import revision_order as git_revision_order

        revision_order, order_info = git_revision_order(
            root, list(commits.index), commits.to_dict(), asv_config
        )
    if revision_order is not None:
        order = [str(c).lower() for c in revision_order]
        exact = {o: i for i, o in reversed(list(enumerate(order)))}
        pos: dict[str, int] = {}
        for c in commits.index:
            if c.lower() in exact:
                pos[c] = exact[c.lower()]
                continue
            hit = [i for i, o in enumerate(order) if c.lower().startswith(o) or o.startswith(c.lower())]
            pos[c] = hit[0] if hit else len(order) + 1
        ordered = sorted(commits.index, key=lambda c: (pos[c], commits[c], c))
    else:
        ordered = [c for _, c in sorted((d if pd.notna(d) else pd.Timestamp.max.tz_localize("UTC"), c) for c, d in commits.items())]
    return {c: i for i, c in enumerate(ordered)}, order_info


def load_results(
    results_dir: str | os.PathLike[str],
    *,
    revision_order: Iterable[str] | None = None,
    asv_config: str | os.PathLike[str] | Mapping[str, Any] | None = None,
    cache: bool | str | os.PathLike[str] = True,
    bench: str | None = None,
    machine: str | None = None,
    env: str | None = None,
    progress: Callable[[str, int, int], None] | None = None,
) -> pd.DataFrame:
    """Load every asv result under ``results_dir`` into a tidy frame, one row per value.

    Parameters
    ----------
    results_dir : path-like
        An asv ``results_dir`` (containing ``benchmarks.json`` and one folder per machine).
    revision_order : iterable of str, optional
        Commit hashes oldest first (e.g. ``git rev-list --reverse --first-parent main``);
        full hashes or prefixes. Without it, the project's git history is used
        when ``asv.conf.json``'s ``repo`` is reachable (first-parent chain of its
        ``branches``, see :mod:`torchperf.history.gitorder`); otherwise commits
        are ordered by their date (asv's ``date`` field, the author date), ties
        broken by hash. ``df.attrs["revision_order"]`` says which (``"given"``,
        ``"git"`` or ``"date"``).
    asv_config : path-like or mapping, optional
        ``asv.conf.json`` (or its parsed contents) whose ``regressions_thresholds``
        are stored in ``df.attrs["regressions_thresholds"]``. By default the first
        ``asv.conf.json`` found in the parent or grandparent of ``results_dir``
        (``results`` or ``.asv/results`` layouts) is used when present.
    cache : bool or path-like, default True
        Read through the columnar cache (:mod:`torchperf.history.store`): only
        results files that are new or changed are parsed; the frame is exactly
        the one parsing every file gives. A path names the cache directory;
        False parses every file and touches no cache.
    bench, env : str, optional
        Regular expressions (:func:`re.search`) on the benchmark / environment
        name: only matching values are loaded (files of other environments are
        not parsed).
    machine : str, optional
        Load only this machine (other machines' files are not parsed).
    progress : callable, optional
        ``progress("parse", files_done, files_total)`` while results files are parsed.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`COLUMNS` plus one ``env_<param>`` column per matrix
        parameter (e.g. ``env_numpy``). ``value`` is asv's result (median of
        samples for timing benchmarks; ``NaN`` for failed benchmarks),
        ``ci_low``/``ci_high`` asv's 99% CI of the median, ``samples`` the raw
        samples (a list) when asv recorded them, else ``None``. ``date`` is a
        UTC timestamp, ``revision`` the 0-based position of the commit in
        the history. ``numpy_version`` and ``blas_*`` come from torchperf's side
        store when present. ``df.attrs`` holds ``results_dir`` and
        ``regressions_thresholds``.

    Raises
    ------
    ResultsFileError
        If ``results_dir`` does not exist or holds no asv results at all.

    Warns
    -----
    CorruptResultsWarning
        For every file that was skipped, naming it.

    """
    import pandas as pd

    root = Path(results_dir)
    if not root.is_dir():
        raise ResultsFileError(
            f"asv results directory {root} does not exist; pass the `results_dir` of your "
            "asv.conf.json (run `asv run` first if there are no results yet)."
        )
    from torchperf.history.store import Scope, load_raw

    scope = Scope(bench=bench, machine=machine, env=env)
    with warnings.catch_warnings(record=True) as early:  # said only if there are results
        warnings.simplefilter("always")
        benchmarks = _read_benchmarks(root)
    df, files, n_files = load_raw(
        root, cache=cache, scope=scope, benchmarks=benchmarks, progress=progress
    )
    for w in early if n_files else ():
        warnings.warn(w.message, w.category, stacklevel=2)
    if n_files == 0:
        if not scope.empty:
            raise ResultsFileError(
                f"no asv results files under {root} match the scope ({scope.describe()}); "
                "check machine= and env= against the machine folders and file names."
            )
        raise ResultsFileError(
            f"no asv results files found under {root} (expected <machine>/<hash>-<env>.json); "
            "check the path or run `asv run` first."
        )
    env_cols = [c for c in df.columns if c not in COLUMNS]
    if df.empty:
        df["revision"] = pd.Series(dtype="int64")
        return df[list(COLUMNS) + env_cols]
    df["date"] = pd.to_datetime(df["date"], unit="ms", utc=True, errors="coerce")
    df["started_at"] = pd.to_datetime(df["started_at"], unit="ms", utc=True, errors="coerce")
    # revision order over every results file in machine/environment scope (a --bench
    # restriction does not renumber the history): the caller's, else git's (gitorder), else dates
    file_dates = pd.to_datetime(files["date"], unit="ms", utc=True, errors="coerce")
    commits = file_dates.groupby(files["commit"].to_numpy(), sort=False).min()
    rank, order_info = revision_ranks(root, commits, revision_order, asv_config)
    df["revision"] = df["commit"].map(rank).astype("int64")
    # side store
    facts = load_env_facts(root)
    if facts:
        keys = ["numpy_version", "blas_library", "blas_version", "blas_threads"]
        fdf = pd.DataFrame(
            [{"machine": r["machine"], "env_name": r["env_name"], "_c8": r["commit"][:8],
              **{k: r.get(k) for k in keys}} for r in facts]
        ).drop_duplicates(["machine", "env_name", "_c8"], keep="last")
        df = df.drop(columns=keys).assign(_c8=df["commit"].str[:8])
        df = df.merge(fdf, on=["machine", "env_name", "_c8"], how="left").drop(columns="_c8")
        df = df.astype({k: object for k in keys})
        df[keys] = df[keys].where(df[keys].notna(), None)
    df = df[list(COLUMNS) + env_cols].sort_values(
        ["machine", "env_name", "benchmark", "revision"], kind="stable"
    )
    df = df.reset_index(drop=True)
    df.attrs["results_dir"] = str(root)
    df.attrs.update(order_info)
    df.attrs["regressions_thresholds"] = _thresholds_for(root, asv_config)
    return df


def _thresholds_for(
    root: Path, asv_config: str | os.PathLike[str] | Mapping[str, Any] | None
) -> dict[str, float]:
    conf: Mapping[str, Any] | None
    if isinstance(asv_config, Mapping):
        conf = asv_config
    elif asv_config is not None:
        conf = load_asv_config(asv_config)
    else:
        conf = None
        # results_dir is usually "results" or ".asv/results" next to asv.conf.json
        for cand in (root.parent / "asv.conf.json", root.parent.parent / "asv.conf.json",
                     root / "asv.conf.json"):
            if cand.is_file():
                try:
                    conf = load_asv_config(cand)
                except ResultsFileError as exc:
                    _warn(cand, str(exc))
                break
    raw = (conf or {}).get("regressions_thresholds") or {}
    out: dict[str, float] = {}
    for k, v in raw.items():
        try:
            out[str(k)] = float(v)
        except (TypeError, ValueError):
            raise ResultsFileError(
                f"regressions_thresholds[{k!r}] in asv.conf.json must be a number; got {v!r}."
            ) from None
    return out
