"""Durable file output and tolerant-but-strict JSON input.

Every file torchperf writes goes through :func:`atomic_write_bytes`: the data
is written to a temporary file in the destination directory, flushed and
``fsync``-ed, then renamed over the target. A reader therefore sees either the
previous complete file or the new complete file, never a torn one, even if
the writer is killed with SIGKILL half-way. Concurrent writers of the same
file each rename a complete file; the last rename wins.
"""

from __future__ import annotations

import json
import math
import os
import re
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from torchperf.errors import InvalidParameterError, ResultsFileError


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_UMASK = _current_umask()

__all__ = [
    "atomic_write_bytes",
    "atomic_write_json",
    "atomic_write_text",
    "read_json",
    "safe_filename",
    "to_jsonable",
]


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (temporary file, fsync, rename).

    Parameters
    ----------
    path : path-like
        Destination file. Parent directories are created.
    data : bytes
        Complete file contents.

    Returns
    -------
    pathlib.Path
        The destination path.

    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        # mkstemp creates 0600 files; give the result the permissions open() would (umask).
        os.fchmod(fd, 0o666 & ~_UMASK)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    try:  # make the rename itself durable
        dir_fd = os.open(target.parent, os.O_RDONLY)
    except OSError:
        return target
    try:
        os.fsync(dir_fd)
    except OSError:
        pass
    finally:
        os.close(dir_fd)
    return target


def atomic_write_text(path: str | os.PathLike[str], text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically; see :func:`atomic_write_bytes`."""
    return atomic_write_bytes(path, text.encode("utf-8"))


def to_jsonable(obj: Any) -> Any:
    """Convert numpy scalars/arrays, tuples, paths and non-finite floats to plain JSON types.

    Non-finite floats become the strings ``"NaN"``, ``"Infinity"`` and
    ``"-Infinity"`` so that the output is strict JSON that any parser reads.
    """
    if isinstance(obj, Mapping):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, bool) or obj is None or isinstance(obj, str):
        return obj
    if isinstance(obj, int):
        return int(obj)
    if isinstance(obj, float):
        if math.isnan(obj):
            return "NaN"
        if math.isinf(obj):
            return "Infinity" if obj > 0 else "-Infinity"
        return obj
    if isinstance(obj, os.PathLike):
        return os.fspath(obj)
    # numpy without importing it eagerly
    tolist = getattr(obj, "tolist", None)
    if callable(tolist):
        return to_jsonable(tolist())
    item = getattr(obj, "item", None)
    if callable(item):
        return to_jsonable(item())
    return str(obj)


def atomic_write_json(path: str | os.PathLike[str], obj: Any) -> Path:
    """Serialise ``obj`` as strict, indented JSON and write it atomically."""
    text = json.dumps(to_jsonable(obj), indent=2, sort_keys=False, allow_nan=False)
    return atomic_write_text(path, text + "\n")


def read_json(path: str | os.PathLike[str], *, what: str = "results file") -> Any:
    """Read a JSON file, turning every failure into one actionable :class:`ResultsFileError`.

    ``NaN`` / ``Infinity`` literals (which asv writes) are accepted.

    Parameters
    ----------
    path : path-like
        File to read.
    what : str
        How to call the file in error messages.

    """
    p = Path(path)
    try:
        raw = p.read_bytes()
    except FileNotFoundError:
        raise ResultsFileError(f"{what} {p} does not exist; check the path.") from None
    except IsADirectoryError:
        raise ResultsFileError(f"{what} {p} is a directory, expected a JSON file.") from None
    except OSError as exc:
        raise ResultsFileError(f"cannot read {what} {p}: {exc.strerror or exc}.") from None
    if not raw.strip():
        raise ResultsFileError(
            f"{what} {p} is empty (0 bytes of JSON); it was probably truncated. "
            "Delete it and re-run the benchmark that produced it."
        )
    try:
        return json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ResultsFileError(
            f"{what} {p} is not UTF-8 text (byte {exc.start}); it is corrupt or not a JSON file."
        ) from None
    except (json.JSONDecodeError, RecursionError, ValueError) as exc:
        detail = (
            f"line {exc.lineno} column {exc.colno}: {exc.msg}"
            if isinstance(exc, json.JSONDecodeError)
            else str(exc) or type(exc).__name__
        )
        raise ResultsFileError(
            f"{what} {p} is not valid JSON ({detail}); it is corrupt or truncated. "
            "Delete it and re-run the benchmark that produced it."
        ) from None


_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def safe_filename(name: str, *, max_length: int = 120) -> str:
    """Turn a user-supplied string into a file name that cannot leave its directory.

    Path separators, ``..``, control and other unusual characters are replaced
    with ``_``; leading dots are removed so the result is never hidden or
    relative.

    Raises
    ------
    InvalidParameterError
        If ``name`` is not a string.

    """
    if not isinstance(name, str):
        raise InvalidParameterError(f"file name must be a str; got {type(name).__name__}.")
    cleaned = _UNSAFE.sub("_", name).lstrip(".")
    cleaned = cleaned.replace("..", "_")[:max_length]
    return cleaned or "_"
