"""A persistent, versioned columnar cache (Parquet) of an asv results directory.

Parsing thousands of asv JSON files is what made every ``torchperf regressions``
slow and memory-hungry (issue 13: 2.2-2.6 kB per value). The store parses each
results file once, keeps its values in Parquet with dictionary-encoded strings,
and afterwards re-parses only files that are new or changed.

Layout of a store directory (one per results directory)::

    manifest.json           format, version, code fingerprint, results_dir, one entry per results
                            file (size, mtime_ns, content hash, file id, commit, date, environment,
                            row count, the warning a corrupt file gave), the series groups
    groups/g<NNNN>-<id>.parquet
                            the rows of one *series group* (all parameter combinations of a set
                            of benchmarks, chosen by a stable hash of the benchmark name);
                            a group may have several fragments

Per row the store keeps only what varies per row (file id, benchmark, parameters,
value, CI, quartiles, samples, version, start time, duration); what is constant per
file (machine, environment, commit, date, Python) lives in the manifest, and what
comes from ``benchmarks.json`` (unit, direction, type, rounds, current version) and
``machine.json`` is re-read on every load, so editing those files never needs a
re-parse.

**Freshness.** A results file is re-parsed when its size or ``mtime_ns`` changed
*and* its content hash (BLAKE2b) differs (a touched but unchanged file is not
re-parsed), or when its mtime is within 2 s of the time the manifest was written
(it may have been rewritten within one timestamp tick). Deleted files are dropped.
A corrupt or stale cache (unreadable manifest or fragment, another format version,
another version of the parsing code, another results directory, a row count that
does not match) is rebuilt from the JSON files with one
:class:`CacheRebuiltWarning`; its contents are never used.

**Where.** By default ``<user cache dir>/torchperf/history/<name>-<hash of the results
directory's absolute path>`` (:func:`platformdirs.user_cache_dir`; ``~/.cache`` on
Linux), so that read-only results directories work and no repository gets a cache
folder. ``TORCHPERF_CACHE_DIR`` moves the root; ``cache_dir=`` (CLI ``--cache-dir``)
names one store directory exactly (e.g. on a shared file system for Dask workers).

**Concurrency.** Updates hold an exclusive ``flock`` on ``<store>/.lock``; a second
process waits for it (up to ``lock_timeout`` seconds, then reads the JSON without the
cache). New fragments get new names and the manifest is replaced atomically
(:func:`torchperf.fileio.atomic_write_json`) before old fragments are deleted, so a
killed update leaves the previous store intact.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import re
import shutil
import time
import uuid
import warnings
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from torchperf.errors import (
    CorruptResultsWarning,
    InvalidParameterError,
    MissingDependencyError,
    ResultsFileError,
    TorchperfWarning,
)

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd
    import pyarrow as pa

__all__ = [
    "STORE_VERSION",
    "CacheRebuiltWarning",
    "HistoryStore",
    "Progress",
    "RemotePath",
    "Scope",
    "cache_root",
    "clear_cache",
    "default_store_dir",
    "is_url",
    "store_location",
    "write_bytes",
]

#: Bump when the on-disk layout changes (older stores are rebuilt with one warning).
STORE_VERSION = 1
_FORMAT = "torchperf-history-store"
_MANIFEST = "manifest.json"
_GROUPS = "groups"
_RACY_NS = 2_000_000_000
#: Target number of values per series group when a store is built.
GROUP_TARGET_VALUES = 20_000
#: Rows buffered across groups before fragments are written during a build: at least
#: _FLUSH_ROWS, and enough for _FRAGMENT_MIN_ROWS rows per group (so that a build of many
#: groups does not write a multitude of tiny fragments), at most _FLUSH_ROWS_MAX. This
#: bounds the memory of a build (about 400 bytes per buffered row, whatever the history).
_FLUSH_ROWS = 125_000
_FRAGMENT_MIN_ROWS = 1_000
_FLUSH_ROWS_MAX = 1_000_000
#: Parsed rows collected before they are split into their groups (one sort per batch).
_SPLIT_ROWS = 65_536
#: A group with more fragments than this is merged into one at the end of an update.
_MAX_FRAGMENTS = 4

#: ``progress(stage, done, total)``: stage is ``"parse"`` (results files) or ``"analyse"``
#: (series groups); called after each unit of work.
Progress = Callable[[str, int, int], None]


class CacheRebuiltWarning(TorchperfWarning):
    """The history cache was corrupt or stale and has been rebuilt from the asv JSON files."""


# --------------------------------------------------------------------------- scope


@dataclass(frozen=True)
class Scope:
    """What to load: benchmarks, machines and environments (pushed down into parsing and reads).

    Attributes
    ----------
    bench : str, optional
        Regular expression searched (:func:`re.search`) in the benchmark name.
    machine : str, optional
        Exact machine name (``machine.json``'s, else the folder name).
    env : str, optional
        Regular expression searched in asv's environment name (which is also the
        suffix of the results file's name, ``<hash8>-<env>.json``).

    """

    bench: str | None = None
    machine: str | None = None
    env: str | None = None
    _rx: dict[str, re.Pattern[str]] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        for name in ("bench", "env"):
            pattern = getattr(self, name)
            if pattern is None:
                continue
            try:
                self._rx[name] = re.compile(pattern)
            except re.error as exc:
                raise InvalidParameterError(
                    f"{name}={pattern!r} is not a valid regular expression ({exc}); "
                    "quote it and escape special characters."
                ) from None
        if self.machine is not None and not isinstance(self.machine, str):
            raise InvalidParameterError(f"machine must be a string; got {self.machine!r}.")

    def describe(self) -> str:
        """``bench='x', machine='y'`` for messages."""
        parts = [f"{k}={getattr(self, k)!r}" for k in ("bench", "machine", "env") if getattr(self, k) is not None]
        return ", ".join(parts) or "everything"

    @property
    def empty(self) -> bool:
        """True when nothing is restricted."""
        return self.bench is None and self.machine is None and self.env is None

    def bench_ok(self, name: str) -> bool:
        """Is benchmark ``name`` in scope."""
        rx = self._rx.get("bench")
        return rx is None or rx.search(name) is not None

    def env_ok(self, name: str) -> bool:
        """Is environment ``name`` in scope."""
        rx = self._rx.get("env")
        return rx is None or rx.search(name) is not None

    def machine_ok(self, name: str) -> bool:
        """Is machine ``name`` in scope."""
        return self.machine is None or self.machine == name


# --------------------------------------------------------------------------- locations


def cache_root() -> Path:
    """Root folder of the default stores: ``$TORCHPERF_CACHE_DIR`` or the user cache dir."""
    env = os.environ.get("TORCHPERF_CACHE_DIR")
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_cache_dir("torchperf")) / "history"


def default_store_dir(results_dir: str | os.PathLike[str]) -> Path:
    """Store directory of ``results_dir`` under :func:`cache_root` (keyed by its absolute path)."""
    root = Path(results_dir).resolve()
    digest = hashlib.blake2b(str(root).encode(), digest_size=8).hexdigest()
    name = re.sub(r"[^A-Za-z0-9._-]+", "_", root.name or "results")[:40]
    return cache_root() / f"{name}-{digest}"


_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")


def is_url(location: Any) -> bool:
    """Is ``location`` an fsspec URL (``s3://``, ``gs://``, ``memory://`` ...) rather than a local path."""
    return isinstance(location, str) and _URL.match(location) is not None


class RemotePath:
    """A file or folder of a store kept on an fsspec filesystem (object storage, ``memory://``).

    The few :class:`pathlib.Path` operations the store uses (``/``, ``name``, ``exists``,
    ``is_dir``, ``iterdir``, ``glob``, ``read_text``, ``unlink``, ``stat().st_mtime``),
    plus :meth:`write_bytes` (one object written whole: object stores have no partial
    writes, which is what the atomic rename gives on a local disk) and :meth:`arrow_fs`
    (the filesystem as pyarrow sees it, through ``pyarrow.fs.FSSpecHandler``).

    Parameters
    ----------
    url : str
        ``protocol://path``.

    Raises
    ------
    MissingDependencyError
        fsspec is not installed.

    """

    __slots__ = ("_arrow", "fs", "path", "url")

    def __init__(self, url: str, fs: Any = None, path: str | None = None) -> None:
        if fs is None:
            try:
                import fsspec
            except ImportError:
                raise MissingDependencyError(
                    f"the history cache {url} is an fsspec URL: `pip install torchperf[dask]` "
                    "(fsspec, plus the filesystem's own package such as s3fs or gcsfs), or pass "
                    "a local --cache-dir."
                ) from None
            fs, path = fsspec.core.url_to_fs(url)
        self.fs = fs
        self.path = str(path).rstrip("/")
        self.url = url.rstrip("/")
        self._arrow: Any = None

    def __truediv__(self, name: str) -> RemotePath:
        return RemotePath(f"{self.url}/{name}", self.fs, f"{self.path}/{name}")

    def __str__(self) -> str:
        return self.url

    def __repr__(self) -> str:
        return f"RemotePath({self.url!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, RemotePath) and other.url == self.url

    def __hash__(self) -> int:
        return hash(self.url)

    def __reduce__(self) -> tuple[Any, ...]:  # to Dask workers: re-opened from the URL there
        return (RemotePath, (self.url,))

    @property
    def name(self) -> str:
        """The last part of the path."""
        return self.path.rsplit("/", 1)[-1]

    def exists(self) -> bool:
        """Whether the object or folder exists."""
        return bool(self.fs.exists(self.path))

    def is_dir(self) -> bool:
        """Whether this is a folder (a prefix holding objects)."""
        return bool(self.fs.isdir(self.path))

    def iterdir(self) -> Iterator[RemotePath]:
        """The entries of this folder."""
        for entry in self.fs.ls(self.path, detail=False):
            yield self / str(entry).rstrip("/").rsplit("/", 1)[-1]

    def glob(self, pattern: str) -> list[RemotePath]:
        """Entries of this folder matching ``pattern`` (one level)."""
        import fnmatch

        return [p for p in self.iterdir() if fnmatch.fnmatch(p.name, pattern)]

    def read_bytes(self) -> bytes:
        """The whole object."""
        try:
            return bytes(self.fs.cat_file(self.path))
        except OSError:
            raise
        except Exception as exc:  # some fsspec back ends raise their own types
            raise OSError(f"{self.url}: {exc}") from exc

    def read_text(self, encoding: str = "utf-8") -> str:
        """The whole object as text."""
        return self.read_bytes().decode(encoding)

    def write_bytes(self, data: bytes) -> None:
        """Write the object whole (parent folders are created where the filesystem has them)."""
        parent = self.path.rsplit("/", 1)[0]
        with contextlib.suppress(Exception):
            self.fs.makedirs(parent, exist_ok=True)
        self.fs.pipe_file(self.path, data)

    def unlink(self, missing_ok: bool = False) -> None:
        """Delete the object."""
        if not self.fs.exists(self.path):
            if missing_ok:
                return
            raise FileNotFoundError(self.url)
        self.fs.rm_file(self.path)

    def rmtree(self) -> None:
        """Delete this folder and everything under it."""
        if self.fs.exists(self.path):
            self.fs.rm(self.path, recursive=True)

    def stat(self) -> Any:
        """An object with ``st_mtime`` (0 when the filesystem does not say)."""
        from types import SimpleNamespace

        try:
            mtime = self.fs.modified(self.path).timestamp()
        except Exception:
            mtime = 0.0
        return SimpleNamespace(st_mtime=mtime)

    def arrow_fs(self) -> Any:
        """The filesystem as a ``pyarrow.fs.FileSystem`` (``PyFileSystem(FSSpecHandler(fs))``)."""
        if self._arrow is None:
            from pyarrow.fs import FSSpecHandler, PyFileSystem

            self._arrow = PyFileSystem(FSSpecHandler(self.fs))
        return self._arrow


StoreDir = Path | RemotePath


def store_location(location: str | os.PathLike[str] | RemotePath) -> Path | RemotePath:
    """A store directory from a local path or an fsspec URL (``s3://bucket/prefix``, ``memory://x``)."""
    if isinstance(location, RemotePath):
        return location
    if is_url(location):
        return RemotePath(str(location))
    return Path(location)


def write_bytes(path: Path | RemotePath, data: bytes) -> None:
    """Write a store file: atomically on a local disk, as one whole object on an fsspec filesystem."""
    if isinstance(path, RemotePath):
        path.write_bytes(data)
        return
    from torchperf.fileio import atomic_write_bytes

    atomic_write_bytes(path, data)


def release_memory() -> None:
    """Give the memory Arrow's allocator keeps for reuse back to the system (after a build)."""
    with contextlib.suppress(Exception):
        _need_pyarrow().default_memory_pool().release_unused()


def _rmtree(path: Path | RemotePath) -> None:
    if isinstance(path, RemotePath):
        path.rmtree()
    else:
        shutil.rmtree(path, ignore_errors=True)


def _as_location(p: str | os.PathLike[str] | RemotePath) -> Path | RemotePath:
    if isinstance(p, RemotePath):
        return p
    return RemotePath(p) if is_url(p) else Path(p)


def _parquet_args(p: Path | RemotePath) -> tuple[Any, dict[str, Any]]:
    """``(source, {"filesystem": ...})`` for pyarrow.parquet readers."""
    if isinstance(p, RemotePath):
        return p.path, {"filesystem": p.arrow_fs()}
    return p, {}


def clear_cache(
    results_dir: str | os.PathLike[str] | None = None,
    *,
    cache_dir: str | os.PathLike[str] | None = None,
) -> list[Path | RemotePath]:
    """Delete cached stores.

    Parameters
    ----------
    results_dir : path-like, optional
        Delete the default store of this results directory. Without it (and
        without ``cache_dir``) every store under :func:`cache_root` is deleted.
    cache_dir : path-like or str, optional
        Delete this store directory (it must hold a torchperf manifest); an fsspec URL
        names a store on that filesystem.

    Returns
    -------
    list of pathlib.Path or RemotePath
        The directories deleted.

    Raises
    ------
    InvalidParameterError
        ``cache_dir`` exists but is not a torchperf history store (nothing is deleted).

    """
    if cache_dir is not None:
        targets = [store_location(cache_dir)]
        for t in targets:
            if t.exists() and not (t / _MANIFEST).exists() and not (t / _GROUPS).exists():
                raise InvalidParameterError(
                    f"{t} is not a torchperf history cache (no {_MANIFEST}); not deleting it."
                )
    elif results_dir is not None:
        targets = [default_store_dir(results_dir)]
    else:
        root = cache_root()
        targets = sorted(p for p in root.iterdir() if p.is_dir()) if root.is_dir() else []
    out = []
    for t in targets:
        if t.exists():
            if isinstance(t, RemotePath):
                t.rmtree()
            else:
                shutil.rmtree(t)
            out.append(t)
    return out


# --------------------------------------------------------------------------- helpers


def _code_fingerprint() -> str:
    """Hash of the parsing code: a store written by other code is stale."""
    h = hashlib.blake2b(digest_size=8)
    here = Path(__file__).parent
    for name in ("loader.py", "store.py"):
        with contextlib.suppress(OSError):
            h.update((here / name).read_bytes())
    h.update(str(STORE_VERSION).encode())
    return h.hexdigest()


def _hash_file(path: Path) -> str:
    h = hashlib.blake2b(digest_size=16)
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _order_key(rel: str) -> tuple[str, str]:
    """The loader's file order: machine folder, then file name."""
    mdir, _, name = rel.partition("/")
    return mdir, name


def _stem_env(rel: str) -> str:
    """Environment name from an asv results file name ``<hash8>-<env>.json``."""
    return rel.rsplit("/", 1)[-1][: -len(".json")].split("-", 1)[-1]


def _group_of(benchmark: str, n_groups: int) -> int:
    return zlib.crc32(benchmark.encode("utf-8")) % n_groups


def _need_pyarrow() -> Any:
    try:
        import pyarrow as pa
        import pyarrow.parquet
    except ImportError:  # pragma: no cover - a dependency
        raise MissingDependencyError(
            "the history cache needs pyarrow; `pip install pyarrow` (a torchperf dependency) "
            "or pass cache=False."
        ) from None
    return pa


def _schema() -> pa.Schema:
    pa = _need_pyarrow()
    d = pa.dictionary(pa.int32(), pa.string())
    return pa.schema(
        [
            ("file_id", pa.int32()),
            ("row", pa.int32()),  # position in the results file (the loader's row order)
            ("benchmark", d),
            ("params", d),  # JSON list of str
            ("param_str", d),
            ("value", pa.float64()),
            ("ci_low", pa.float64()),
            ("ci_high", pa.float64()),
            ("q25", pa.float64()),
            ("q75", pa.float64()),
            ("number", pa.float64()),
            ("repeat", pa.float64()),
            ("samples", pa.list_(pa.float64())),
            ("version", d),  # JSON of asv's raw version value
            ("started_at", pa.int64()),  # raw int (ms); other types in started_at_raw
            ("started_at_raw", d),  # JSON of a non-int started_at
            ("duration_s", pa.float64()),
        ]
    )


_ROW_FLOATS = ("value", "ci_low", "ci_high", "q25", "q75", "number", "repeat", "duration_s")


def _table_from_rows(rows: Sequence[Mapping[str, Any]], file_id: int) -> pa.Table:
    """Per-row columns of one file's loader rows as an Arrow table (dictionary-encoded)."""
    pa = _need_pyarrow()
    n = len(rows)
    started_int: list[int | None] = []
    started_raw: list[str | None] = []
    for r in rows:
        s = r["started_at"]
        if isinstance(s, int) and not isinstance(s, bool) and -(2**63) <= s < 2**63:
            started_int.append(s)
            started_raw.append(None)
        else:
            started_int.append(None)
            started_raw.append(None if s is None else json.dumps(s))
    schema = _schema()
    cols: dict[str, Any] = {
        "file_id": pa.array([file_id] * n, pa.int32()),
        "row": pa.array(range(n), pa.int32()),
        "benchmark": [r["benchmark"] for r in rows],
        "params": [json.dumps(list(r["params"])) for r in rows],
        "param_str": [r["param_str"] for r in rows],
        **{c: pa.array([r[c] for r in rows], pa.float64()) for c in _ROW_FLOATS},
        "samples": [r["samples"] for r in rows],
        "version": [json.dumps(r["version"]) for r in rows],
        "started_at": started_int,
        "started_at_raw": started_raw,
    }
    arrays = []
    for f in schema:
        v = cols[f.name]
        if isinstance(v, pa.Array):
            arrays.append(v)
        elif pa.types.is_dictionary(f.type):
            arrays.append(pa.array(v, pa.string()).dictionary_encode())
        else:
            arrays.append(pa.array(v, f.type))
    return pa.Table.from_arrays(arrays, schema=schema)


_PER_FILE = ("machine_dir", "commit", "date", "env_name", "python", "env_params")


@dataclass
class _FileEntry:
    rel: str
    size: int
    mtime_ns: int
    hash: str
    id: int
    machine_dir: str
    commit: str | None = None
    date: Any = None
    env_name: str | None = None
    python: str | None = None
    env_params: list[list[str]] = field(default_factory=list)
    n_rows: int = 0
    groups: list[int] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    ok: bool = True  # False: the loader skipped the file (corrupt), n_rows == 0

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


class _Corrupt(Exception):
    """The cache cannot be used."""


def _parse_file(
    rel: str, path: Path, mdir: str, st: os.stat_result, digest: str, fid: int
) -> tuple[_FileEntry, pa.Table | None]:
    """Parse one results file; its manifest entry and its rows (None: no rows).

    A fast columnar reader handles well-formed files; anything it does not expect
    (a corrupt file, format version 1, odd types) goes through the loader's own
    row reader, which decides and warns exactly as :func:`load_results` always did.
    """
    entry = _FileEntry(rel=rel, size=st.st_size, mtime_ns=st.st_mtime_ns, hash=digest, id=fid,
                       machine_dir=mdir)
    try:
        fast = _fast_table(path, fid)
    except Exception:
        fast = None
    if fast is not None:
        meta, table = fast
        if table is None:
            return entry, None
        entry.__dict__.update(meta, n_rows=table.num_rows)
        return entry, table
    from torchperf.history.loader import _rows_from_file

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        rows = _rows_from_file(path, mdir, {})
    entry.warnings = [str(w.message) for w in caught if issubclass(w.category, CorruptResultsWarning)]
    entry.ok = rows is not None
    if not rows:
        return entry, None
    r0 = rows[0]
    entry.commit = r0["commit"]
    entry.date = r0["date"]
    entry.env_name = r0["env_name"]
    entry.python = r0["python"]
    entry.env_params = [list(kv) for kv in r0["env_params"]]
    entry.n_rows = len(rows)
    return entry, _table_from_rows(rows, fid)


class _Odd(Exception):
    """The fast reader met something unusual: the loader's row reader decides."""


def _floats(seq: Any, n: int) -> Any:
    """``[_float(_at(seq, j)) for j in range(n)]`` as float64, without a Python call per value."""
    import numpy as np

    out = np.full(n, np.nan)
    if not isinstance(seq, list):
        return out
    head = seq[:n]
    try:
        vals = np.asarray(head, dtype=np.float64)
        if vals.ndim != 1:
            raise ValueError
    except (TypeError, ValueError):
        from torchperf.history.loader import _float

        vals = np.array([_float(x) for x in head], dtype=np.float64)
    out[: vals.size] = vals
    return out


def _fast_table(path: Path, fid: int) -> tuple[dict[str, Any], pa.Table | None] | None:
    """Columns of a well-formed asv results file, the same as the loader's rows give."""
    import itertools

    import numpy as np

    from torchperf.fileio import read_json
    from torchperf.history.loader import entry_name

    pa = _need_pyarrow()
    d = read_json(path, what="asv results file")
    if not isinstance(d, dict) or d.get("version", 2) != 2:
        raise _Odd
    columns = list(d["result_columns"])
    results = d["results"]
    commit = d["commit_hash"]
    if not isinstance(results, dict) or not isinstance(commit, str):
        raise _Odd
    env_params = d.get("params") or {}
    env_name = d.get("env_name") or path.stem.split("-", 1)[-1]
    python = d.get("python") or env_params.get("python")
    env_key = sorted((str(k), str(v)) for k, v in env_params.items() if k != "machine")
    col = {name: i for i, name in enumerate(columns)}
    meta = {"commit": commit, "date": d.get("date"), "env_name": env_name,
            "python": None if python is None else str(python),
            "env_params": [list(kv) for kv in env_key]}
    bench_names: list[str] = []
    bench_idx: list[Any] = []
    pjson: dict[tuple[str, ...], int] = {}
    pstr: dict[str, int] = {}
    vjson: dict[str, int] = {}
    p_idx: list[int] = []
    s_idx: list[int] = []
    v_idx: list[Any] = []
    floats: dict[str, list[Any]] = {c: [] for c in _ROW_FLOATS}
    samples: list[Any] = []
    started_int: list[Any] = []
    started_raw: list[Any] = []
    stats = (("value", "result"), ("ci_low", "stats_ci_99_a"), ("ci_high", "stats_ci_99_b"),
             ("q25", "stats_q_25"), ("q75", "stats_q_75"), ("number", "stats_number"),
             ("repeat", "stats_repeat"))
    from torchperf.history.loader import _float

    for name, row in results.items():
        if not isinstance(row, list) or not isinstance(name, str):
            raise _Odd

        def get(key: str, row: list[Any] = row) -> Any:
            i = col.get(key)
            return row[i] if i is not None and i < len(row) else None

        param_lists = get("params") or []
        combos = list(itertools.product(*param_lists)) if param_lists else [()]
        n = len(combos)
        bench_idx.append(np.full(n, len(bench_names), dtype=np.int32))
        bench_names.append(name)
        for combo in combos:
            strs = tuple(str(p) for p in combo)
            p_idx.append(pjson.setdefault(strs, len(pjson)))
            ps = entry_name(name, list(strs))[len(name):]
            s_idx.append(pstr.setdefault(ps, len(pstr)))
        for out, key in stats:
            floats[out].append(_floats(get(key), n))
        floats["duration_s"].append(np.full(n, _float(get("duration"))))
        vj = json.dumps(get("version"))
        v_idx.append(np.full(n, vjson.setdefault(vj, len(vjson)), dtype=np.int32))
        started = get("started_at")
        if isinstance(started, int) and not isinstance(started, bool) and -(2**63) <= started < 2**63:
            started_int.extend([started] * n)
            started_raw.extend([None] * n)
        else:
            started_int.extend([None] * n)
            started_raw.extend([None if started is None else json.dumps(started)] * n)
        samples_all = get("samples")
        for j in range(n):
            smp = samples_all[j] if isinstance(samples_all, list) and j < len(samples_all) else None
            if isinstance(smp, list):
                smp = [float(x) for x in smp if x is not None]
            samples.append(smp if isinstance(smp, list) and smp else None)
    n_rows = len(p_idx)
    if n_rows == 0:
        return meta, None

    def dict_array(indices: Any, values: Sequence[str]) -> pa.Array:
        return pa.DictionaryArray.from_arrays(pa.array(indices, pa.int32()), pa.array(values, pa.string()))

    schema = _schema()
    arrays = {
        "file_id": pa.array(np.full(n_rows, fid, dtype=np.int32)),
        "row": pa.array(np.arange(n_rows, dtype=np.int32)),
        "benchmark": dict_array(np.concatenate(bench_idx), bench_names),
        "params": dict_array(p_idx, [json.dumps(list(k)) for k in pjson]),
        "param_str": dict_array(s_idx, list(pstr)),
        **{c: pa.array(np.concatenate(v)) for c, v in floats.items()},
        "samples": pa.array(samples, pa.list_(pa.float64())),
        "version": dict_array(np.concatenate(v_idx), list(vjson)),
        "started_at": pa.array(started_int, pa.int64()),
        "started_at_raw": pa.array(started_raw, pa.string()).dictionary_encode(),
    }
    return meta, pa.Table.from_arrays([arrays[f.name] for f in schema], schema=schema)


# --------------------------------------------------------------------------- the store


class HistoryStore:
    """The columnar cache of one asv results directory.

    Parameters
    ----------
    results_dir : path-like
        The asv results directory.
    cache_dir : path-like or str, optional
        The store directory; default :func:`default_store_dir`. An fsspec URL
        (``s3://bucket/prefix``, ``gs://...``, ``memory://...``; fsspec and the
        filesystem's package installed) keeps the store on that filesystem: files are
        written as whole objects, and there is no lock (one writer at a time).
    lock_timeout : float, default 600
        Seconds to wait for another process's update before reading without the cache.

    Notes
    -----
    Use :meth:`update` (parse what is new or changed), then :meth:`raw_frame`
    (what :func:`torchperf.history.load_results` builds on) or :meth:`files` plus
    :meth:`group_paths` / :func:`read_group` for the per-group analysis.

    """

    def __init__(
        self,
        results_dir: str | os.PathLike[str],
        cache_dir: str | os.PathLike[str] | None = None,
        *,
        lock_timeout: float = 600.0,
    ) -> None:
        self.results_dir = Path(results_dir)
        self.dir: Path | RemotePath = (
            store_location(cache_dir) if cache_dir is not None else default_store_dir(results_dir)
        )
        self.lock_timeout = float(lock_timeout)
        self.manifest: dict[str, Any] = {}
        self.entries: dict[str, _FileEntry] = {}
        self.n_parsed = 0  # files parsed by the last update (0: everything came from the cache)
        self.machines: dict[str, str] = {}  # machine folder -> machine name (set by a scan)
        self._lock_fd: int | None = None

    # ----------------------------------------------------------------- manifest

    def _load_manifest(self) -> dict[str, Any] | None:
        path = self.dir / _MANIFEST
        if not path.exists():
            if (self.dir / _GROUPS).exists():
                raise _Corrupt("its manifest is missing")
            return None
        try:
            m = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise _Corrupt(f"its manifest is unreadable ({exc})") from None
        if not isinstance(m, dict) or m.get("format") != _FORMAT:
            raise _Corrupt("its manifest is not a torchperf history store manifest")
        if m.get("version") != STORE_VERSION:
            raise _Corrupt(f"it has store version {m.get('version')!r}, expected {STORE_VERSION}")
        if m.get("code") != _code_fingerprint():
            raise _Corrupt("it was written by another version of torchperf's loader")
        if m.get("results_dir") != str(self.results_dir.resolve()):
            raise _Corrupt(f"it caches another results directory ({m.get('results_dir')})")
        try:
            files = {k: _FileEntry(**v) for k, v in m["files"].items()}
            m["fragments"] = {int(g): list(v) for g, v in m["fragments"].items()}
            m["group_rows"] = {int(g): int(v) for g, v in m["group_rows"].items()}
            int(m["n_groups"])
            float(m["written"])
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise _Corrupt(f"its manifest is malformed ({exc!r})") from None
        self.entries = files
        return m

    def _write_manifest(self) -> None:
        from torchperf.fileio import atomic_write_json, to_jsonable

        self.manifest["files"] = {k: e.to_json() for k, e in sorted(self.entries.items())}
        self.manifest["written"] = time.time()
        if isinstance(self.dir, RemotePath):
            text = json.dumps(to_jsonable(self.manifest), indent=2, allow_nan=False) + "\n"
            (self.dir / _MANIFEST).write_bytes(text.encode("utf-8"))
        else:
            atomic_write_json(self.dir / _MANIFEST, self.manifest)

    def _fresh_manifest(self, n_groups: int) -> dict[str, Any]:
        return {
            "format": _FORMAT,
            "version": STORE_VERSION,
            "code": _code_fingerprint(),
            "results_dir": str(self.results_dir.resolve()),
            "n_groups": int(n_groups),
            "fragments": {},
            "group_rows": {},
            "next_id": 0,
            "written": 0.0,
        }

    # ----------------------------------------------------------------- lock

    def acquire(self) -> bool:
        """Take the store's exclusive ``flock`` (waiting up to ``lock_timeout``); False if not had.

        Held until :meth:`release` (or the process ends): the reads of an analysis hold it
        too, so that a concurrent update never deletes a fragment being read.
        """
        if self._lock_fd is not None:
            return True
        if isinstance(self.dir, RemotePath):  # object stores have no locks: one writer at a time
            self._lock_fd = -1
            return True
        try:
            import fcntl
        except ImportError:  # pragma: no cover - Windows: no locking
            return True
        self.dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.dir / ".lock", os.O_RDWR | os.O_CREAT, 0o666)
        deadline = time.monotonic() + self.lock_timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                self._lock_fd = fd
                return True
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    os.close(fd)
                    return False
                time.sleep(0.2)

    def release(self) -> None:
        """Release the lock taken by :meth:`acquire`."""
        fd, self._lock_fd = self._lock_fd, None
        if fd is not None and fd >= 0:
            os.close(fd)  # closing the descriptor releases the flock

    def __del__(self) -> None:
        with contextlib.suppress(Exception):
            self.release()

    @contextlib.contextmanager
    def _locked(self) -> Iterator[bool]:
        """The exclusive lock for a block (already held: nothing to do); False if not had in time."""
        if self._lock_fd is not None:
            yield True
            return
        ok = self.acquire()
        try:
            yield ok
        finally:
            if ok:
                self.release()

    # ----------------------------------------------------------------- scanning

    def _scan(self, scope: Scope) -> tuple[list[tuple[str, Path, str]], dict[str, str]]:
        """Results files in scope: (relative path, path, machine folder), and folder -> machine."""
        from torchperf.history.loader import _SKIP, _machine_dirs

        root = self.results_dir
        found = []
        names: dict[str, str] = {}
        for mdir, machine in _machine_dirs(root):
            names[mdir.name] = machine
            self.machines[mdir.name] = machine
            if not scope.machine_ok(machine):
                continue
            for f in sorted(mdir.glob("*.json")):
                if f.name in _SKIP:
                    continue
                if scope.env is not None and not scope.env_ok(f.stem.split("-", 1)[-1]):
                    continue
                found.append((f"{mdir.name}/{f.name}", f, mdir.name))
        return found, names

    # ----------------------------------------------------------------- update

    def update(self, scope: Scope | None = None, progress: Progress | None = None) -> HistoryStore:
        """Bring the store up to date with the results files in ``scope``.

        Files out of scope are neither parsed nor dropped (a later run with a wider
        scope parses them). Warnings that corrupt files gave when they were parsed
        are re-emitted, so a warm run warns exactly like a cold one.

        Parameters
        ----------
        scope : Scope, optional
            Machines and environments whose files are parsed (benchmarks are always
            parsed whole: the file has to be read anyway).
        progress : callable, optional
            ``progress("parse", done, total)`` after each results file.

        Returns
        -------
        HistoryStore
            ``self``.

        Raises
        ------
        ResultsFileError
            ``results_dir`` does not exist.

        """
        scope = scope or Scope()
        if not self.results_dir.is_dir():
            raise ResultsFileError(
                f"asv results directory {self.results_dir} does not exist; pass the `results_dir` "
                "of your asv.conf.json (run `asv run` first if there are no results yet)."
            )
        with self._locked() as ok:
            if not ok:
                raise _LockTimeout()
            try:
                m = self._load_manifest()
            except _Corrupt as why:
                self._warn_rebuild(str(why))
                self._wipe()
                m = None
            try:
                self._update(m, scope, progress)
            except _Corrupt as why:
                self._warn_rebuild(str(why))
                self._wipe()
                self._update(None, scope, progress)
        return self

    def _warn_rebuild(self, why: str) -> None:
        warnings.warn(
            f"the history cache {self.dir} was not used: {why}. It has been rebuilt from the asv "
            f"results in {self.results_dir} (nothing is lost; `torchperf cache clear` deletes it).",
            CacheRebuiltWarning,
            stacklevel=4,
        )

    def _wipe(self) -> None:
        self.entries = {}
        with contextlib.suppress(FileNotFoundError):
            (self.dir / _MANIFEST).unlink()
        _rmtree(self.dir / _GROUPS)

    def parse(self, scope: Scope | None = None, progress: Progress | None = None) -> pa.Table:
        """Parse every results file in scope into memory, without reading or writing the cache.

        Returns
        -------
        pyarrow.Table
            All rows, in loader order; :attr:`entries` describes the files.

        """
        pa = _need_pyarrow()
        scope = scope or Scope()
        found, _ = self._scan(scope)
        self.entries = {}
        tables = []
        for i, (rel, path, mdir) in enumerate(found):
            entry, table = _parse_file(rel, path, mdir, path.stat(), "", i)
            self.entries[rel] = entry
            if table is not None:
                tables.append(table)
            if progress is not None:
                progress("parse", i + 1, len(found))
        self.n_parsed = len(found)
        if not tables:
            return _schema().empty_table()
        t = pa.concat_tables(tables).unify_dictionaries()
        return t.filter(_bench_mask(t, scope)) if scope.bench is not None else t

    def _update(self, m: dict[str, Any] | None, scope: Scope, progress: Progress | None) -> None:
        found, _ = self._scan(scope)
        prev_written_ns = int(float(m["written"]) * 1e9) if m else 0
        in_scope = {rel for rel, _, _ in found}
        # deletions: files gone from disk (only those the scan could have seen)
        removed: set[int] = set()
        touched_groups: set[int] = set()
        for rel, e in list(self.entries.items()):
            if rel not in in_scope and not (self.results_dir / rel).is_file():
                removed.add(e.id)
                touched_groups.update(e.groups)
                del self.entries[rel]
        todo: list[tuple[str, Path, str, os.stat_result, str | None]] = []
        for rel, path, mdir in found:
            st = path.stat()
            e = self.entries.get(rel)
            if e is not None and e.size == st.st_size and e.mtime_ns == st.st_mtime_ns and (
                st.st_mtime_ns < prev_written_ns - _RACY_NS
            ):
                continue
            digest = _hash_file(path)
            if e is not None and e.hash == digest and e.size == st.st_size:
                e.mtime_ns = st.st_mtime_ns  # touched, or racy but unchanged: no re-parse
                continue
            todo.append((rel, path, mdir, st, digest))
        if m is None:
            n_groups = self._choose_groups(todo)
            m = self._fresh_manifest(n_groups)
        self.manifest = m
        n_groups = int(m["n_groups"])
        self.n_parsed = len(todo)
        if not todo and not removed:
            self._check_fragments()
            if self.manifest.get("written", 0) == 0 or any(
                e.mtime_ns >= prev_written_ns - _RACY_NS for e in self.entries.values()
            ):
                self._write_manifest()
            return
        pa = _need_pyarrow()
        import numpy as np

        buffers: dict[int, list[pa.Table]] = {}
        pending: list[tuple[pa.Table, Any]] = []  # parsed files not yet split into groups
        buffered = 0
        pending_rows = 0
        flush_rows = min(_FLUSH_ROWS_MAX, max(_FLUSH_ROWS, _FRAGMENT_MIN_ROWS * n_groups))
        new_frags: dict[int, list[str]] = {}
        new_rows: dict[int, int] = {}

        def split_pending() -> None:
            """Split the parsed files into groups: one concatenation and one sort per batch."""
            if not pending:
                return
            t = pa.concat_tables([p for p, _ in pending]).unify_dictionaries()
            rg = np.concatenate([g for _, g in pending])
            pending.clear()
            order = np.argsort(rg, kind="stable")
            t, rg = t.take(pa.array(order)), rg[order]
            cuts = np.flatnonzero(np.r_[True, rg[1:] != rg[:-1]])
            for a, b in zip(cuts, np.r_[cuts[1:], rg.size], strict=True):
                buffers.setdefault(int(rg[a]), []).append(t.slice(a, b - a))

        def flush(final: bool) -> None:
            nonlocal buffered
            split_pending()
            for g, tabs in list(buffers.items()):
                if not tabs:
                    continue
                if not final and g in touched_groups:
                    continue  # merged with the old fragments at the end
                name = self._write_fragment(g, pa.concat_tables(tabs).unify_dictionaries())
                new_frags.setdefault(g, []).append(name)
                new_rows[g] = new_rows.get(g, 0) + sum(t.num_rows for t in tabs)
                buffers[g] = []
            buffered = sum(t.num_rows for tabs in buffers.values() for t in tabs)

        for i, (rel, path, mdir, st, digest) in enumerate(todo):
            old = self.entries.get(rel)
            if old is not None:
                removed.add(old.id)
                touched_groups.update(old.groups)
            fid = int(m["next_id"])
            m["next_id"] = fid + 1
            entry, table = _parse_file(rel, path, mdir, st, digest, fid)
            if table is not None:
                bcol = table.column("benchmark").chunk(0)
                groups = [_group_of(b, n_groups) for b in bcol.dictionary.to_pylist()]
                row_groups = np.asarray(groups, dtype=np.int64)[bcol.indices.to_numpy(zero_copy_only=False)]
                entry.groups = sorted({int(g) for g in row_groups})
                pending.append((table, row_groups))
                buffered += table.num_rows
                pending_rows += table.num_rows
            self.entries[rel] = entry
            if buffered >= flush_rows:
                flush(final=False)
                pending_rows = 0
            elif pending_rows >= _SPLIT_ROWS:
                split_pending()  # a bounded batch: the split copies only it
                pending_rows = 0
            if progress is not None:
                progress("parse", i + 1, len(todo))
        split_pending()
        # groups that lose rows (changed or deleted files) or gain rows: rewrite as one fragment
        for g in sorted(touched_groups | set(buffers)):
            tabs = buffers.get(g, [])
            if g in touched_groups:
                old = self._read_fragments(g, m["fragments"].get(g, []))
                if old is not None and removed:
                    import pyarrow.compute as pc

                    keep = pc.invert(pc.is_in(old.column("file_id"), pa.array(sorted(removed), pa.int32())))
                    old = old.filter(keep)
                merged = [old] if old is not None and old.num_rows else []
                merged += [self._read_fragments(g, new_frags.pop(g, []))] if g in new_frags else []
                merged += tabs
                merged = [t for t in merged if t is not None and t.num_rows]
                for name in m["fragments"].get(g, []):
                    m.setdefault("_obsolete", []).append(name)
                if merged:
                    table = pa.concat_tables([t.unify_dictionaries() for t in merged]).unify_dictionaries()
                    m["fragments"][g] = [self._write_fragment(g, table)]
                    m["group_rows"][g] = table.num_rows
                    del table, merged, old
                    release_memory()
                else:
                    m["fragments"].pop(g, None)
                    m["group_rows"].pop(g, None)
            elif tabs:
                name = self._write_fragment(g, pa.concat_tables(tabs).unify_dictionaries())
                new_frags.setdefault(g, []).append(name)
                new_rows[g] = new_rows.get(g, 0) + sum(t.num_rows for t in tabs)
        for g, names in new_frags.items():
            m["fragments"].setdefault(g, []).extend(names)
            m["group_rows"][g] = m["group_rows"].get(g, 0) + new_rows.get(g, 0)
        # a large build flushes every group several times: merge a group's fragments into one
        for g, names in list(m["fragments"].items()):
            if len(names) > _MAX_FRAGMENTS:
                table = self._read_fragments(g, names)
                if table is not None:
                    m["fragments"][g] = [self._write_fragment(g, table)]
                    m.setdefault("_obsolete", []).extend(names)
        obsolete = m.pop("_obsolete", [])
        self._write_manifest()
        for name in obsolete:
            with contextlib.suppress(FileNotFoundError):
                (self.dir / _GROUPS / name).unlink()
        self._remove_orphans()
        buffers.clear()
        pending.clear()
        release_memory()

    def _choose_groups(self, todo: Sequence[tuple[str, Path, str, Any, Any]]) -> int:
        """Number of series groups for a new store: about GROUP_TARGET_VALUES values each."""
        if not todo:
            return 1
        # estimate values per file from the size of the first file (about 60 bytes per value)
        est = sum(t[3].st_size for t in todo) / 60.0
        n = max(1, math.ceil(est / GROUP_TARGET_VALUES))
        return 1 << (n - 1).bit_length()

    def _write_fragment(self, g: int, table: pa.Table) -> str:
        import pyarrow.parquet as pq

        pa = _need_pyarrow()
        name = f"g{g:04d}-{uuid.uuid4().hex[:12]}.parquet"
        sink = pa.BufferOutputStream()
        pq.write_table(table, sink, compression="zstd", use_dictionary=True,
                       row_group_size=256 * 1024)
        write_bytes(self.dir / _GROUPS / name, sink.getvalue().to_pybytes())
        return name

    def _read_fragments(self, g: int, names: Sequence[str]) -> pa.Table | None:
        if not names:
            return None
        return read_group([self.dir / _GROUPS / n for n in names], None)

    def _check_fragments(self) -> None:
        """Every fragment the manifest names exists and holds the rows it says (metadata only)."""
        import pyarrow.parquet as pq

        for g, names in self.manifest["fragments"].items():
            n = 0
            for name in names:
                try:
                    src, kw = _parquet_args(self.dir / _GROUPS / name)
                    n += pq.ParquetFile(src, **kw).metadata.num_rows
                except Exception as exc:
                    raise _Corrupt(f"its fragment {name} is unreadable ({type(exc).__name__})") from None
            if n != self.manifest["group_rows"].get(g):
                raise _Corrupt(f"group {g} holds {n} rows, its manifest says {self.manifest['group_rows'].get(g)}")

    def _remove_orphans(self) -> None:
        gdir = self.dir / _GROUPS
        if not gdir.is_dir():
            return
        live = {n for names in self.manifest["fragments"].values() for n in names}
        for p in gdir.iterdir():
            if p.name not in live and not p.name.startswith("."):
                with contextlib.suppress(OSError):
                    p.unlink()

    # ----------------------------------------------------------------- reading

    def replay_warnings(self, scope: Scope | None = None) -> int:
        """Re-emit the warnings corrupt files gave when parsed; return the number of files in scope."""
        scope = scope or Scope()
        machines = self.machines
        n = 0
        for _key, e in sorted((_order_key(rel), e) for rel, e in self.entries.items()):
            if not self._file_in_scope(e, scope, machines):
                continue
            n += 1
            for msg in e.warnings:
                warnings.warn(msg, CorruptResultsWarning, stacklevel=3)
        return n

    def _file_in_scope(self, e: _FileEntry, scope: Scope, machines: Mapping[str, str]) -> bool:
        """Machine and environment scope of one file (the environment by file name and by name)."""
        if not scope.machine_ok(machines.get(e.machine_dir, e.machine_dir)):
            return False
        if scope.env is None:
            return True
        return scope.env_ok(_stem_env(e.rel)) and (e.env_name is None or scope.env_ok(e.env_name))

    def files(self, scope: Scope | None = None) -> pd.DataFrame:
        """One row per results file in scope that holds values.

        Columns ``file_id, file, machine_dir, machine, env_name, python, env_params,
        commit, date`` (raw, as in the JSON), ``env`` (``env_<param>`` per matrix
        parameter) and ``hash`` (the file's content hash; empty when parsed without the
        store).
        """
        import pandas as pd

        scope = scope or Scope()
        machines = self.machines
        recs = []
        for _key, rel, e in sorted((_order_key(rel), rel, e) for rel, e in self.entries.items()):
            if not e.ok or e.n_rows == 0 or not self._file_in_scope(e, scope, machines):
                continue
            machine = machines.get(e.machine_dir, e.machine_dir)
            env_key = tuple(tuple(kv) for kv in e.env_params)
            recs.append(
                {
                    "file_id": e.id,
                    "file": str(self.results_dir / rel),
                    "machine_dir": e.machine_dir,
                    "machine": machine,
                    "env_name": e.env_name,
                    "python": e.python,
                    "env_params": env_key,
                    "commit": e.commit,
                    "date": e.date,
                    "env": {f"env_{k}": v for k, v in env_key if k != "python"},
                    "hash": e.hash,
                }
            )
        return pd.DataFrame(
            recs,
            columns=["file_id", "file", "machine_dir", "machine", "env_name", "python",
                     "env_params", "commit", "date", "env", "hash"],
        )

    def group_paths(self) -> dict[int, list[Path | RemotePath]]:
        """Fragment paths per series group."""
        return {
            g: [self.dir / _GROUPS / n for n in names]
            for g, names in sorted(self.manifest["fragments"].items())
            if names
        }

    def table(self, scope: Scope | None = None, columns: Sequence[str] | None = None) -> pa.Table:
        """All rows in scope (``columns`` only), in results-file order, then row order in the file."""
        scope = scope or Scope()
        files = self.files(scope)
        ids = files["file_id"].tolist()
        parts = [
            read_group(paths, columns, file_ids=ids, bench_scope=scope)
            for paths in self.group_paths().values()
        ]
        return _sorted_rows(parts, ids)


class _LockTimeout(Exception):
    """Another process held the store's lock for too long."""


def read_group(
    paths: Sequence[str | os.PathLike[str]],
    columns: Sequence[str] | None,
    *,
    file_ids: Iterable[int] | None = None,
    bench_scope: Scope | None = None,
) -> pa.Table:
    """Read the fragments of one series group, keeping only ``columns`` and rows in scope.

    Parameters
    ----------
    paths : sequence of path-like or str
        Parquet fragments (local paths, or fsspec URLs / :class:`RemotePath`).
    columns : sequence of str, optional
        Columns to read (all when None); ``file_id``, ``row`` and ``benchmark`` are
        always read (they order and filter the rows).
    file_ids : iterable of int, optional
        Keep only rows of these results files.
    bench_scope : Scope, optional
        Keep only benchmarks matching its ``bench`` regular expression (tested once
        per distinct name, on the dictionary).

    Returns
    -------
    pyarrow.Table

    Raises
    ------
    _Corrupt
        A fragment is missing or unreadable.

    """
    pa = _need_pyarrow()
    import pyarrow.parquet as pq

    cols = None if columns is None else list(dict.fromkeys(["file_id", "row", "benchmark", *columns]))
    ids = None if file_ids is None else sorted(set(file_ids))
    tables = []
    for p in paths:
        loc = _as_location(p)
        try:
            src, kw = _parquet_args(loc)
            t = pq.read_table(src, columns=cols, **kw)
        except Exception as exc:
            raise _Corrupt(f"its fragment {loc.name} is unreadable ({type(exc).__name__}: {exc})") from None
        tables.append(filter_rows(t, file_ids=ids, bench_scope=bench_scope))
    if not tables:
        return _schema().empty_table() if cols is None else _schema().empty_table().select(cols)
    return pa.concat_tables([t.unify_dictionaries() for t in tables]).unify_dictionaries()


def filter_rows(
    t: pa.Table, *, file_ids: Iterable[int] | None = None, bench_scope: Scope | None = None
) -> pa.Table:
    """Rows of ``t`` from these results files and with a benchmark in scope."""
    pa = _need_pyarrow()
    import pyarrow.compute as pc

    mask = None
    if file_ids is not None:
        mask = pc.is_in(t.column("file_id"), pa.array(sorted(set(file_ids)), pa.int32()))
    if bench_scope is not None and bench_scope.bench is not None:
        bm = _bench_mask(t, bench_scope)
        mask = bm if mask is None else pc.and_(mask, bm)
    return t if mask is None else t.filter(mask)


def _bench_mask(t: pa.Table, scope: Scope) -> pa.Array:
    """Rows whose benchmark matches ``scope.bench`` (the regex runs once per distinct name)."""
    pa = _need_pyarrow()
    import pyarrow.compute as pc

    b = t.column("benchmark").combine_chunks()
    ok = pa.array([scope.bench_ok(n) for n in b.dictionary.to_pylist()], pa.bool_())
    return pc.fill_null(pc.take(ok, b.indices), False)


def _sorted_rows(parts: Sequence[pa.Table], file_order: Sequence[int]) -> pa.Table:
    """Concatenate group tables and order rows by (position of the file in ``file_order``, row)."""
    import numpy as np

    pa = _need_pyarrow()
    parts = [p for p in parts if p.num_rows]
    if not parts:
        return _schema().empty_table()
    t = pa.concat_tables([p.unify_dictionaries() for p in parts]).unify_dictionaries()
    rank = np.full(max(max(file_order, default=0), int(np.max(t.column("file_id"))) if t.num_rows else 0) + 1, -1, np.int64)
    rank[np.asarray(file_order, dtype=np.int64)] = np.arange(len(file_order))
    fr = rank[t.column("file_id").to_numpy()]
    order = np.lexsort((t.column("row").to_numpy(), fr))
    return t.take(pa.array(order))


def _decode_dict(col: pa.ChunkedArray, decode: Callable[[str], Any] | None = None) -> list[Any]:
    """Python values of a dictionary-encoded column (each distinct value decoded once)."""
    import numpy as np

    a = col.combine_chunks()
    if a.null_count:
        a = a.fill_null("null")  # pragma: no cover - never written with nulls
    cats = a.dictionary.to_pylist()
    if decode is not None:
        cats = [decode(c) for c in cats]
    vals = np.empty(len(cats), dtype=object)
    vals[:] = cats
    return vals[a.indices.to_numpy(zero_copy_only=False)].tolist()


def raw_frame(
    files: pd.DataFrame, table: pa.Table, benchmarks: Mapping[str, Any]
) -> pd.DataFrame:
    """The loader's frame before dates and revisions: one row per value, per-file facts joined.

    Parameters
    ----------
    files : pandas.DataFrame
        From :meth:`HistoryStore.files`.
    table : pyarrow.Table
        All stored columns of the rows, in loader order (:meth:`HistoryStore.table`).
    benchmarks : mapping
        ``benchmarks.json`` (unit, direction, version, type, rounds are derived from it).

    Returns
    -------
    pandas.DataFrame
        Exactly the frame :func:`torchperf.history.load_results` builds from the rows
        of the JSON files (same values, same dtypes).

    """
    import numpy as np
    import pandas as pd

    from torchperf.history.loader import COLUMNS, _lower_is_better

    n = table.num_rows
    fpos = pd.Index(files["file_id"]).get_indexer(table.column("file_id").to_numpy())

    def per_file(col: str) -> list[Any]:
        vals = np.empty(len(files), dtype=object)
        vals[:] = files[col].tolist()
        return vals[fpos].tolist()

    cols: dict[str, Any] = {c: per_file(c) for c in ("machine", "env_name", "python", "env_params", "commit", "date")}
    bench = _decode_dict(table.column("benchmark"))
    cols["benchmark"] = bench
    cols["params"] = _decode_dict(table.column("params"), lambda s: tuple(json.loads(s)))
    cols["param_str"] = _decode_dict(table.column("param_str"))
    for c in ("value", "ci_low", "ci_high", "q25", "q75", "number", "repeat"):
        cols[c] = table.column(c).to_numpy()
    cols["samples"] = table.column("samples").to_pylist()
    version = _decode_dict(table.column("version"), json.loads)
    meta_of = {b: benchmarks.get(b, {}) for b in set(bench)}
    derived = {
        b: (m.get("unit"), _lower_is_better(m), m.get("version"),
            m.get("type") or b.rsplit(".", 1)[-1].split("_", 1)[0], m.get("rounds"))
        for b, m in meta_of.items()
    }
    cols["unit"] = [derived[b][0] for b in bench]
    cols["lower_is_better"] = [derived[b][1] for b in bench]
    cols["version"] = version
    cols["version_current"] = [
        derived[b][2] is None or v is None or v == derived[b][2] for b, v in zip(bench, version, strict=True)
    ]
    cols["benchmark_type"] = [derived[b][3] for b in bench]
    cols["rounds"] = [derived[b][4] for b in bench]
    s_int = table.column("started_at").to_pylist()
    s_raw = table.column("started_at_raw").to_pylist()
    cols["started_at"] = [
        i if i is not None else (None if r is None else json.loads(r))
        for i, r in zip(s_int, s_raw, strict=True)
    ]
    cols["duration_s"] = table.column("duration_s").to_numpy()
    cols["file"] = per_file("file")
    for c in ("numpy_version", "blas_library", "blas_version", "blas_threads"):
        cols[c] = [np.nan] * n
    env_maps = files["env"].tolist()
    env_cols = sorted({k for i in set(fpos.tolist()) for k in env_maps[i] if k not in COLUMNS})
    for k in env_cols:
        per = np.empty(len(files), dtype=object)
        per[:] = [m.get(k, np.nan) for m in env_maps]
        cols[k] = per[fpos].tolist()
    names = [c for c in COLUMNS if c != "revision"] + env_cols
    if n == 0:
        return pd.DataFrame([], columns=names)
    return pd.DataFrame({c: cols[c] for c in names}, columns=names)


def load_raw(
    results_dir: str | os.PathLike[str],
    *,
    cache: bool | str | os.PathLike[str] = True,
    scope: Scope | None = None,
    benchmarks: Mapping[str, Any],
    progress: Progress | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame, int]:
    """The loader's raw frame of ``results_dir`` (see :func:`raw_frame`), through the cache.

    Parameters
    ----------
    results_dir : path-like
        The asv results directory.
    cache : bool or path-like, default True
        False parses every file in scope (nothing read or written); True uses the
        default store (:func:`default_store_dir`); a path names the store directory.
    scope : Scope, optional
        What to load.
    benchmarks : mapping
        ``benchmarks.json``.
    progress : callable, optional
        ``progress("parse", done, total)`` per parsed results file.

    Returns
    -------
    (pandas.DataFrame, pandas.DataFrame, int)
        The raw frame, the results files holding values (:meth:`HistoryStore.files`)
        and the number of results files in scope (corrupt ones included).

    """
    scope = scope or Scope()
    store = HistoryStore(results_dir, None if cache is True or cache is False else cache)
    table = None
    if cache is not False and store.acquire():
        try:
            store.update(scope, progress)
            table = store.table(scope)
        except _Corrupt as why:  # a fragment went bad after the check: rebuild once
            store._warn_rebuild(str(why))
            store._wipe()
            store.update(scope, progress)
            table = store.table(scope)
        finally:
            store.release()
    if table is None:
        table = store.parse(scope, progress)
    n_files = store.replay_warnings(scope)
    files = store.files(scope)
    return raw_frame(files, table, benchmarks), files, n_files
