"""Change points of a large asv history, one group of series at a time (in process or on Dask).

:func:`torchperf.history.load_results` builds one frame of the whole history with
every column, which is what comparisons and pages want. Change-point detection
needs a few columns and only one series at a time, so :func:`stream_change_points`
reads the columnar store (:mod:`torchperf.history.store`) **one series group at a
time** (every parameter combination of a set of benchmarks, on every machine and
environment), with only the columns the analysis uses, categorical strings and
per-file facts joined by index. Each group yields its candidates
(:func:`torchperf.history.changepoints.group_candidates`); one global step
(:func:`~torchperf.history.changepoints.finish_candidates`) applies
Benjamini-Hochberg across all of them. The findings are exactly those of
``detect_change_points(load_results(...))`` (a test checks it), and peak memory is
that of the largest group, not of the history.

With ``scheduler=`` (an address, a ``distributed.Client``, or the environment
variable ``TORCHPERF_DASK_SCHEDULER``) the groups run as ``dask.distributed`` tasks:
each worker reads its group's Parquet fragments from the store directory, which
must therefore be readable by the workers at the same path (a shared file system).
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from torchperf.errors import InvalidParameterError, MissingDependencyError, ResultsFileError
from torchperf.history.store import (
    HistoryStore,
    Progress,
    Scope,
    _Corrupt,
    _sorted_rows,
    filter_rows,
    read_group,
)

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd
    import pyarrow as pa

    from torchperf.history.changepoints import ChangePoint, GroupCandidates

__all__ = ["SCHEDULER_ENV", "stream_change_points", "stream_regressions"]

#: Environment variable naming a Dask scheduler address (``tcp://host:8786``).
SCHEDULER_ENV = "TORCHPERF_DASK_SCHEDULER"

#: Stored columns the change-point analysis reads (per-revision uncertainty included).
_COLUMNS = ("benchmark", "params", "param_str", "value", "version",
            "ci_low", "ci_high", "q25", "q75", "repeat", "samples")
_FACTS = ("numpy_version", "blas_library", "blas_version", "blas_threads")


def _categorical(values: Sequence[Any], codes: Any) -> pd.Categorical:
    """A categorical with lexically sorted categories from (distinct values, codes)."""
    import numpy as np
    import pandas as pd

    order = sorted(range(len(values)), key=lambda i: values[i])
    remap = np.empty(len(values), dtype=np.int32)
    remap[order] = np.arange(len(values), dtype=np.int32)
    cats = [values[i] for i in order]
    return pd.Categorical.from_codes(remap[np.asarray(codes)] if len(values) else codes, categories=cats)


def _file_info(
    store: HistoryStore, scope: Scope, revision_order: Any, asv_config: Any
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Per results file: machine, environment, Python, commit, date, revision and side-store facts."""
    import numpy as np
    import pandas as pd

    from torchperf.history.loader import load_env_facts, revision_ranks

    files = store.files(scope)
    dates = pd.to_datetime(files["date"], unit="ms", utc=True, errors="coerce")
    commits = dates.groupby(files["commit"].to_numpy(), sort=False).min()
    rank, order_info = revision_ranks(store.results_dir, commits, revision_order, asv_config)
    info = pd.DataFrame(
        {
            "machine": files["machine"].to_numpy(object),
            "env_name": files["env_name"].to_numpy(object),
            "python": files["python"].to_numpy(object),
            "commit": files["commit"].to_numpy(object),
            "date": dates.to_numpy(),
            "revision": files["commit"].map(rank).to_numpy(np.int64),
        },
        index=files["file_id"].to_numpy(np.int64),
    )
    facts = load_env_facts(store.results_dir)
    if facts:
        fdf = pd.DataFrame(
            [{"machine": r["machine"], "env_name": r["env_name"], "_c8": r["commit"][:8],
              **{k: r.get(k) for k in _FACTS}} for r in facts]
        ).drop_duplicates(["machine", "env_name", "_c8"], keep="last")
        merged = info.assign(_c8=info["commit"].str[:8]).reset_index().merge(
            fdf, on=["machine", "env_name", "_c8"], how="left"
        ).set_index("index")
        for k in _FACTS:
            col = merged[k].astype(object)
            info[k] = col.where(col.notna(), None).to_numpy(object)
    else:
        for k in _FACTS:
            info[k] = np.nan
    return info, order_info


def group_frame(
    source: Sequence[str | os.PathLike[str]] | pa.Table,
    info: pd.DataFrame,
    benchmarks: Mapping[str, Any],
    scope: Scope,
    thresholds: Mapping[str, float],
) -> pd.DataFrame:
    """The analysis frame of one series group: only what detection reads, compactly typed.

    Parameters
    ----------
    source : sequence of path-like, or pyarrow.Table
        The group's Parquet fragments (or its rows, already in memory).
    info : pandas.DataFrame
        Per results file (index: file id), from the store's manifest; only rows of these
        files are read.
    benchmarks : mapping
        ``benchmarks.json`` (unit, direction, current version).
    scope : Scope
        Benchmarks in scope.
    thresholds : mapping
        asv's ``regressions_thresholds`` (stored in ``df.attrs``).

    Returns
    -------
    pandas.DataFrame
        The columns of :func:`torchperf.history.load_results` that detection uses, strings
        as categoricals, one row per value in loader order.

    """
    import numpy as np
    import pandas as pd

    from torchperf.history.loader import _lower_is_better

    ids = info.index.tolist()
    if isinstance(source, (list, tuple)):
        t = read_group(source, _COLUMNS, file_ids=ids, bench_scope=scope)
    else:
        t = filter_rows(source, file_ids=ids, bench_scope=scope)
    t = _sorted_rows([t], info.index.tolist())
    fpos = info.index.get_indexer(t.column("file_id").to_numpy())
    out: dict[str, Any] = {}
    for c in ("machine", "env_name", "commit"):
        vals, codes = np.unique(info[c].to_numpy(object).astype(str), return_inverse=True)
        out[c] = _categorical(list(vals), codes[fpos])

    def dict_col(name: str) -> tuple[list[Any], Any]:
        a = t.column(name).combine_chunks()
        return a.dictionary.to_pylist(), a.indices.to_numpy(zero_copy_only=False)

    bnames, bcodes = dict_col("benchmark")
    out["benchmark"] = _categorical(bnames, bcodes)
    pvals, pcodes = dict_col("params")
    ptuples = np.empty(len(pvals), dtype=object)
    ptuples[:] = [tuple(json.loads(p)) for p in pvals]
    out["params"] = ptuples[pcodes]
    svals, scodes = dict_col("param_str")
    out["param_str"] = _categorical(svals, scodes)
    out["revision"] = info["revision"].to_numpy()[fpos]
    for c in ("value", "ci_low", "ci_high", "q25", "q75", "repeat"):
        out[c] = t.column(c).to_numpy()
    samples = t.column("samples").combine_chunks()
    smp = np.empty(len(samples), dtype=object)
    if samples.null_count < len(samples):
        flat = samples.flatten().to_numpy()
        offs = samples.offsets.to_numpy()
        valid = samples.is_valid().to_numpy(zero_copy_only=False)
        for i in np.flatnonzero(valid):
            smp[i] = flat[offs[i]:offs[i + 1]]
    out["samples"] = smp
    meta = [benchmarks.get(b, {}) for b in bnames]
    lib = np.array([_lower_is_better(m) for m in meta], dtype=bool)
    out["lower_is_better"] = lib[bcodes] if len(bnames) else np.zeros(0, bool)
    units = np.empty(len(meta), dtype=object)
    units[:] = [m.get("unit") for m in meta]
    out["unit"] = units[bcodes]
    vvals, vcodes = dict_col("version")
    bver = [m.get("version") for m in meta]
    vdec = [json.loads(v) for v in vvals]
    current = np.array(
        [[bv is None or v is None or v == bv for v in vdec] for bv in bver], dtype=bool
    ).reshape(len(bver), len(vdec))
    out["version_current"] = current[bcodes, vcodes] if len(bnames) else np.zeros(0, bool)
    out["date"] = info["date"].to_numpy()[fpos]
    for c in ("python", *_FACTS):
        out[c] = info[c].to_numpy()[fpos]
    df = pd.DataFrame(out)
    df["date"] = pd.to_datetime(df["date"], utc=True)
    df.attrs["regressions_thresholds"] = dict(thresholds)
    return df


def _group_task(
    source: Sequence[str] | pa.Table,
    info: pd.DataFrame,
    benchmarks: Mapping[str, Any],
    scope: Scope,
    thresholds: Mapping[str, float],
    detect_kw: Mapping[str, Any],
) -> GroupCandidates:
    """One task: read one group and return its candidates (runs in any process).

    The series of one benchmark are analysed together (siblings: the same parameters on
    other machines and environments) and independently of other benchmarks, so the
    group's frame is analysed one benchmark at a time: the working memory of the scan is
    that of one benchmark's series, not of the group's.
    """
    from torchperf.history.changepoints import GroupCandidates, group_candidates

    df = group_frame(source, info, benchmarks, scope, thresholds)
    cps: list[ChangePoint] = []
    n_series = 0
    for _name, sub in df.groupby("benchmark", observed=True, sort=True):
        sub.attrs.update(df.attrs)  # asv's regressions_thresholds
        part = group_candidates(sub, **detect_kw)
        cps += part.change_points
        n_series += part.n_series
    return GroupCandidates(change_points=cps, n_series=n_series)


_RESULTS = "results"
_RESULTS_KEEP = 512


def _analysis_fingerprint(
    info: pd.DataFrame, benchmarks: Mapping[str, Any], scope: Scope,
    thresholds: Mapping[str, float], detect_kw: Mapping[str, Any],
) -> str:
    """Everything a group's candidates depend on besides its fragments (code and versions too)."""
    import hashlib

    import numpy as np
    import pandas as pd
    import scipy

    h = hashlib.blake2b(digest_size=16)
    here = Path(__file__).resolve().parent
    for f in (here / "changepoints.py", here / "pipeline.py", here / "store.py",
              here.parent / "stats.py"):
        with contextlib.suppress(OSError):
            h.update(f.read_bytes())
    h.update(f"{np.__version__} {pd.__version__} {scipy.__version__}".encode())
    h.update(pd.util.hash_pandas_object(info.astype(str), index=True).to_numpy().tobytes())
    h.update(json.dumps([benchmarks, dict(thresholds), scope.bench, sorted(detect_kw.items())],
                        sort_keys=True, default=repr).encode())
    return h.hexdigest()


def _result_path(store: HistoryStore, paths: Sequence[str], fingerprint: str) -> Path:
    import hashlib

    key = hashlib.blake2b((fingerprint + "|" + "|".join(Path(p).name for p in paths)).encode(),
                          digest_size=16).hexdigest()
    return store.dir / _RESULTS / f"{key}.json"


def _read_result(path: Path) -> GroupCandidates | None:
    """A cached group result, or None (missing or unreadable: recomputed)."""
    from torchperf.history.changepoints import ChangePoint, GroupCandidates

    try:
        d = json.loads(path.read_text(encoding="utf-8"))
        cps = [ChangePoint(**{**c, "params": tuple(c["params"])}) for c in d["change_points"]]
        return GroupCandidates(change_points=cps, n_series=int(d["n_series"]))
    except (OSError, ValueError, TypeError, KeyError):
        return None


def _write_result(path: Path, result: GroupCandidates) -> None:
    from dataclasses import asdict

    from torchperf.history.store import write_bytes

    doc = {"n_series": result.n_series, "change_points": [asdict(c) for c in result.change_points]}
    with contextlib.suppress(OSError):
        write_bytes(path, json.dumps(doc, allow_nan=True).encode())


def _prune_results(store: HistoryStore, keep: set[Path]) -> None:
    """Keep the newest cached group results (at most _RESULTS_KEEP files besides ``keep``)."""
    d = store.dir / _RESULTS
    if not d.is_dir():
        return
    files = sorted(d.glob("*.json"), key=lambda p: p.stat().st_mtime, reverse=True)
    for p in [f for f in files if f not in keep][_RESULTS_KEEP:]:
        with contextlib.suppress(OSError):
            p.unlink()


def _client(scheduler: Any) -> tuple[Any, bool]:
    try:
        from distributed import Client
    except ImportError:
        raise MissingDependencyError(
            "running change-point detection on Dask needs dask.distributed: "
            "`pip install torchperf[dask]` (or pass scheduler=None and unset TORCHPERF_DASK_SCHEDULER)."
        ) from None
    if isinstance(scheduler, Client):
        return scheduler, False
    try:
        return Client(str(scheduler), timeout="30s"), True
    except OSError as exc:
        raise InvalidParameterError(
            f"cannot reach the Dask scheduler at {scheduler!r} ({exc}); check the address "
            f"(tcp://HOST:8786) or unset {SCHEDULER_ENV}."
        ) from None


def stream_change_points(
    results_dir: str | os.PathLike[str],
    *,
    cache: bool | str | os.PathLike[str] = True,
    scope: Scope | None = None,
    since: str | None = None,
    since_context: int = 100,
    revision_order: Any = None,
    asv_config: Any = None,
    scheduler: Any = None,
    progress: Progress | None = None,
    reuse_results: bool = True,
    context: dict[str, Any] | None = None,
    **detect_kw: Any,
) -> tuple[list[ChangePoint], int | None]:
    """Change points of every series in scope, one series group at a time.

    Parameters
    ----------
    results_dir : path-like
        The asv results directory.
    cache : bool or path-like, default True
        As for :func:`torchperf.history.load_results`. Streaming needs the store; with
        False the files are parsed into memory and grouped there.
    scope : Scope, optional
        Benchmarks, machine and environments to load.
    since : str, optional
        A commit (hash prefix or git ref): only results files of commits from
        ``since_context`` revisions before it onwards are read (the levels before a
        change need some history), and the revision of ``since`` is returned.
    since_context : int, default 100
        Revisions of history before ``since`` that are still read.
    revision_order, asv_config
        As for :func:`torchperf.history.load_results`.
    scheduler : str or distributed.Client, optional
        Run the groups on this Dask scheduler (default: ``$TORCHPERF_DASK_SCHEDULER``;
        unset: in this process).
    progress : callable, optional
        ``progress("parse", files_done, files_total)`` while results files are parsed,
        then ``progress("analyse", groups_done, groups_total)``.
    context : dict, optional
        Filled with what :mod:`torchperf.history.verdicts` needs besides the change
        points: ``files`` (one row per results file in scope: ``machine, env_name,
        python, commit, date, revision``, side-store facts, ``env_params``, ``file``, ``hash``),
        ``order_info``, ``results_dir``, ``benchmarks``, ``thresholds`` and ``store_dir``
        (the store's directory; None without the store), where later steps may cache
        their results.
    **detect_kw
        Passed to :func:`torchperf.history.detect_change_points` (``fdr``, ``min_effect``,
        ``include_insignificant``, ...).
    reuse_results : bool, default True
        Reuse the candidates of groups whose inputs are unchanged since an earlier run
        (cached next to the store; with ``cache=False`` nothing is reused).

    Returns
    -------
    (list of ChangePoint, int or None)
        The change points (as ``detect_change_points`` returns them) and the revision of
        ``since`` (None without it).

    Raises
    ------
    ResultsFileError
        ``results_dir`` is missing or holds no results in scope.

    """
    from torchperf.history.changepoints import _check_fdr, finish_candidates
    from torchperf.history.loader import _read_benchmarks, _thresholds_for, resolve_commit

    scope = scope or Scope()
    root = Path(results_dir)
    if not root.is_dir():
        raise ResultsFileError(
            f"asv results directory {root} does not exist; pass the `results_dir` of your "
            "asv.conf.json (run `asv run` first if there are no results yet)."
        )
    fdr = detect_kw.pop("fdr", 0.05)
    include_insignificant = detect_kw.pop("include_insignificant", False)
    _check_fdr(fdr)
    if scheduler is None:
        scheduler = os.environ.get(SCHEDULER_ENV) or None
    benchmarks = _read_benchmarks(root)
    store = HistoryStore(root, None if cache is True or cache is False else cache)
    memory: Any = None
    if cache is not False:
        # held until the analysis has read every fragment (a concurrent update waits)
        if store.acquire():
            store.update(scope, progress)
        else:
            cache = False
    if cache is False:
        memory = store.parse(scope, progress)
    n_files = store.replay_warnings(scope)
    if n_files == 0:
        raise ResultsFileError(
            f"no asv results files under {root} match the scope ({scope.describe()}); "
            "check the path, machine= and env=, or run `asv run` first."
        )
    info, order_info = _file_info(store, scope, revision_order, asv_config)
    if context is not None:
        extra = store.files(scope).set_index("file_id")[["file", "env_params", "hash"]]
        context.update(files=info.join(extra), order_info=order_info, results_dir=str(root),
                       benchmarks=benchmarks, thresholds=_thresholds_for(root, asv_config),
                       store_dir=None if memory is not None else store.dir)
    start = None
    if since is not None:
        probe = info[["commit", "revision"]].copy()
        probe.attrs.update(order_info, results_dir=str(root))
        commit = resolve_commit(probe, since)
        start = int(probe.loc[probe["commit"] == commit, "revision"].iloc[0])
        info = info[info["revision"] >= start - int(since_context)]
    thresholds = _thresholds_for(root, asv_config)
    tasks: list[Any]
    if memory is not None:
        tasks = [memory]  # --no-cache: one group, in memory
    else:
        try:
            store._check_fragments()
        except _Corrupt as why:
            store._warn_rebuild(str(why))
            with store._locked():
                store._wipe()
            store.update(scope)
        tasks = [[str(p) for p in paths] for paths in store.group_paths().values()]
    kw = dict(detect_kw)
    results: list[GroupCandidates] = []
    total = len(tasks)
    # Group results are cached next to the store, keyed by the group's fragments and everything
    # else the candidates depend on (files, revisions, benchmarks.json, thresholds, parameters,
    # the code): a run on an unchanged history only applies the global FDR step.
    todo = list(range(total))
    cached: dict[int, Path] = {}
    if memory is None:
        fp = _analysis_fingerprint(info, benchmarks, scope, thresholds, kw)
        cached = {i: _result_path(store, tasks[i], fp) for i in range(total)}
        todo = []
        for i in range(total):
            hit = _read_result(cached[i]) if reuse_results else None
            if hit is None:
                todo.append(i)
            else:
                results.append(hit)
        if progress is not None and results:
            progress("analyse", len(results), total)

    def done_one(i: int, res: GroupCandidates) -> None:
        results.append(res)
        if i in cached:
            _write_result(cached[i], res)
        if progress is not None:
            progress("analyse", len(results), total)

    if scheduler is not None and memory is None and todo:
        client, own = _client(scheduler)  # first: a missing dask.distributed is one clear error
        from distributed import as_completed

        try:
            info_f = client.scatter(info, broadcast=True)
            futs = {
                client.submit(_group_task, tasks[i], info_f, benchmarks, scope, thresholds, kw,
                              pure=False): i
                for i in todo
            }
            for fut in as_completed(list(futs)):
                done_one(futs[fut], fut.result())
        finally:
            if own:
                client.close()
    else:
        from torchperf.history.store import release_memory

        for i in todo:
            done_one(i, _group_task(tasks[i], info, benchmarks, scope, thresholds, kw))
            release_memory()  # what Arrow kept from reading the group
    if cached:
        _prune_results(store, set(cached.values()))
    store.release()
    return finish_candidates(results, fdr=fdr, include_insignificant=include_insignificant), start


def stream_regressions(
    results_dir: str | os.PathLike[str],
    since: str | None = None,
    *,
    include_environment: bool = False,
    **kw: Any,
) -> list[ChangePoint]:
    """Significant code regressions, as :func:`torchperf.history.find_regressions`, streamed.

    Parameters
    ----------
    results_dir : path-like
        The asv results directory.
    since : str, optional
        Only change points whose first bad commit comes after this one (only the history
        from ``since_context`` revisions before it is read).
    include_environment : bool, default False
        Also return regressions that coincide with an environment change.
    **kw
        Passed to :func:`stream_change_points` (``cache``, ``scope``, ``scheduler``,
        ``progress``, detection parameters).

    Returns
    -------
    list of ChangePoint
        Significant changes in the bad direction, newest first.

    """
    from torchperf.history.changepoints import select_regressions

    kw["include_insignificant"] = False
    cps, start = stream_change_points(results_dir, since=since, **kw)
    start = -1 if start is None else start
    return select_regressions(cps, start, include_environment=include_environment)
