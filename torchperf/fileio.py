"""Durable file output and tolerant-but-strict JSON input.

Every file torchperf writes goes through :func:`atomic_write_bytes`: the data
is written to a temporary file in the destination directory, flushed and
``fsync``-ed, then renamed over the target. A reader therefore sees either the
previous complete file or the new complete file, never a torn one, even if
the writer is killed with SIGKILL half-way. Concurrent writers of the same
file each rename a complete file; the last rename wins.

A whole run (many files) is serialised with :func:`directory_lock`: an
advisory ``fcntl.flock`` on ``DIR/.torchperf.lock``. A second run into the
same directory fails fast with :class:`~torchperf.errors.OutputLockedError`
naming the holder's pid (it does not wait: a CI job should not hang behind
another one). The kernel releases the lock when the holder exits, also on
SIGKILL, so a killed run never leaves a stale lock. The lock file itself is
the only file written in place (its content, the holder's pid, is
informational; renaming it would break the lock): it is opened with
``O_NOFOLLOW``, must be a regular file with one link, and is never truncated,
so a symlink or hard link planted at its name cannot make a run overwrite
another file.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
import math
import os
import re
import socket
import tempfile
import threading
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from torchperf.errors import InvalidParameterError, OutputLockedError, ResultsFileError


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_UMASK = _current_umask()

__all__ = [
    "LOCK_FILE_NAME",
    "STAGING_DIR_NAME",
    "atomic_write_bytes",
    "atomic_write_json",
    "atomic_write_text",
    "directory_lock",
    "discard_staged",
    "finish_promotion",
    "promote_staged",
    "read_json",
    "remove_stale_temp_files",
    "safe_filename",
    "staging_dir",
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
    except BaseException as exc:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        if isinstance(exc, OSError) and exc.errno is not None and exc.filename is None:
            # "No space left on device" from write/fsync names no file: name the target
            raise OSError(exc.errno, exc.strerror, str(target)) from exc
        raise
    _fsync_dir(target.parent)  # make the rename itself durable
    return target


def atomic_write_text(path: str | os.PathLike[str], text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically; see :func:`atomic_write_bytes`."""
    return atomic_write_bytes(path, text.encode("utf-8"))


def to_jsonable(obj: Any) -> Any:
    """Convert numpy scalars/arrays, tuples, paths and non-finite floats to plain JSON types.

    Non-finite floats (NaN, ±inf) become ``None`` (JSON ``null``): "no
    finite value", e.g. the interval of a single sample or the CV of a zero
    mean (docs/reports.md, "Missing values"). The output is strict JSON that
    any parser reads, and a tool that reads a field as a number gets either a
    number or null, never a string. (Files written before this wrote the
    strings ``"NaN"`` / ``"Infinity"``; they still load.)
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
        return obj if math.isfinite(obj) else None
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


def read_asv_config(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read an ``asv.conf.json`` the way asv does (JavaScript-style comments allowed).

    Parameters
    ----------
    path : path-like
        The file, or a directory containing ``asv.conf.json``.

    Returns
    -------
    dict
        The configuration.

    Raises
    ------
    ResultsFileError
        If the file is missing or not valid JSON (with comments).

    Notes
    -----
    Plain JSON is tried first; then ``json5`` (a dependency of asv, so present
    wherever asv runs); where it is absent (inside an asv benchmark
    environment) whole-line ``//`` comments are dropped and JSON is tried again.

    """
    p = Path(path)
    if p.is_dir():
        p = p / "asv.conf.json"
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise ResultsFileError(f"cannot read asv configuration {p}: {exc.strerror or exc}.") from None
    try:
        return dict(json.loads(text))
    except ValueError:
        pass
    try:
        import json5
    except ImportError:
        stripped = "\n".join(ln for ln in text.splitlines() if not ln.lstrip().startswith("//"))
        try:
            return dict(json.loads(stripped))
        except ValueError as exc:
            raise ResultsFileError(
                f"asv configuration {p} is not valid JSON (with comments): {exc}."
            ) from None
    try:
        return dict(json5.loads(text))
    except Exception as exc:  # json5 raises plain ValueError subclasses
        raise ResultsFileError(
            f"asv configuration {p} is not valid JSON (with comments): {exc}."
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


# --------------------------------------------------------------------------- run lock

#: Name of the lock file :func:`directory_lock` creates in an output directory.
LOCK_FILE_NAME = ".torchperf.lock"

_HELD: dict[tuple[str, int], list[int]] = {}  # (lock path, thread id) -> [fd, depth]
_HELD_GUARD = threading.Lock()


@contextlib.contextmanager
def directory_lock(directory: str | os.PathLike[str], *, purpose: str = "torchperf run") -> Iterator[Path]:
    """Hold an exclusive lock on an output directory for the duration of a ``with`` block.

    Parameters
    ----------
    directory : path-like
        The output directory (created if missing). The lock file is
        ``directory / ".torchperf.lock"``.
    purpose : str
        What holds the lock, written into the lock file for the error message
        another process gets.

    Yields
    ------
    pathlib.Path
        The lock file.

    Raises
    ------
    OutputLockedError
        If another process (or another thread of this one) holds the lock.
        The message names the holder's pid and what it is doing.

    Notes
    -----
    Re-entrant within one thread (the CLI holds it around a whole command and
    :class:`~torchperf.suite.BenchmarkSuite` takes it again inside). Uses
    ``fcntl.flock`` (POSIX); where ``fcntl`` is missing the block runs unlocked.
    A lock on a network file system may not be honoured by other machines.

    """
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    path = d / LOCK_FILE_NAME
    key = (os.path.realpath(path), threading.get_ident())
    with _HELD_GUARD:
        held = _HELD.get(key)
        if held is not None:
            held[1] += 1
    if held is not None:
        try:
            yield path
        finally:
            with _HELD_GUARD:
                held[1] -= 1
        return
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        yield path
        return
    fd = _open_lock_file(path)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        try:
            holder = os.pread(fd, _LOCK_INFO_SIZE, 0).decode("utf-8", "replace")
            holder = holder.strip().splitlines()[0] if holder.strip() else ""
        except OSError:
            holder = ""
        os.close(fd)
        raise OutputLockedError(
            f"output directory {d} is in use by another torchperf process "
            f"({holder or 'holder unknown'}; lock file {path}). Wait for it to finish, or write "
            "to another directory (another output_dir)."
        ) from None
    try:
        finish_promotion(d)  # a run killed while promoting its staged files: complete it
    except BaseException:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
        raise
    ours = _is_torchperf_lock_content(fd)
    if ours:
        stamp = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
        info = f"pid {os.getpid()} on {socket.gethostname()}, {purpose}, since {stamp}"
        _write_lock_info(fd, info)
    with _HELD_GUARD:
        _HELD[key] = [fd, 1]
    try:
        yield path
    finally:
        with _HELD_GUARD:
            _HELD.pop(key, None)
        if ours:
            _write_lock_info(fd, "")
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


#: The lock file's content is a fixed-size block (the holder's description padded with
#: spaces), so it is overwritten in place and never truncated.
_LOCK_INFO_SIZE = 512


def _open_lock_file(path: Path) -> int:
    """Open (creating) the lock file without following symlinks; it must be a regular file.

    A symlink or hard link planted at ``path`` would otherwise make the run write
    into a file outside the output directory; such a path is refused with
    :class:`~torchperf.errors.OutputLockedError` naming it and the remedy.
    """
    flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    remedy = (
        "torchperf did not create it; remove it (it is not a torchperf lock file) or write to "
        "another directory (another output_dir)."
    )
    try:
        fd = os.open(path, flags, 0o666 & ~_UMASK)
    except OSError as exc:
        if os.path.islink(path):
            raise OutputLockedError(
                f"lock file {path} is a symbolic link (to {os.readlink(path)!r}); {remedy}"
            ) from None
        raise OutputLockedError(
            f"cannot open lock file {path}: {exc.strerror or exc}. Check that the output "
            "directory is writable, or write to another directory (another output_dir)."
        ) from None
    import stat

    st = os.fstat(fd)
    problem = None
    if not stat.S_ISREG(st.st_mode):
        problem = "is not a regular file"
    elif st.st_nlink != 1:
        problem = f"has {st.st_nlink} hard links (another name points at the same file)"
    if problem is not None:
        os.close(fd)
        raise OutputLockedError(f"lock file {path} {problem}; {remedy}")
    return fd


def _is_torchperf_lock_content(fd: int) -> bool:
    """Whether the lock file holds only what torchperf writes (nothing, or a holder line)."""
    try:
        size = os.fstat(fd).st_size
        if size == 0:
            return True
        if size > _LOCK_INFO_SIZE:
            return False
        text = os.pread(fd, _LOCK_INFO_SIZE, 0)
    except OSError:
        return False
    return not text.strip() or (text.startswith(b"pid ") and text.count(b"\n") <= 1)


def _write_lock_info(fd: int, info: str) -> None:
    """Overwrite the lock file's fixed-size block in place (never truncating it)."""
    data = info.encode("utf-8")[: _LOCK_INFO_SIZE - 1]
    block = data + b" " * (_LOCK_INFO_SIZE - 1 - len(data)) + b"\n"
    try:
        os.pwrite(fd, block, 0)
    except OSError:
        pass


_TEMP_NAME = re.compile(r"^\..+\.[A-Za-z0-9_]{6,}\.tmp$")


def remove_stale_temp_files(directory: str | os.PathLike[str]) -> list[Path]:
    """Delete temporary files that an atomic write killed half-way left in ``directory``.

    Only names of the form :func:`atomic_write_bytes` uses (``.<name>.<random>.tmp``)
    are removed. Call it only while holding :func:`directory_lock` on the
    directory, so that no live writer's file is removed.

    Returns
    -------
    list of pathlib.Path
        The files removed.

    """
    removed: list[Path] = []
    d = Path(directory)
    try:
        entries = list(d.iterdir())
    except OSError:
        return removed
    staging = d / STAGING_DIR_NAME
    if staging.is_dir() and not staging.is_symlink():
        try:
            entries += list(staging.iterdir())
        except OSError:
            pass
    for p in entries:
        if _TEMP_NAME.match(p.name) and p.is_file() and not p.is_symlink():
            try:
                p.unlink()
                removed.append(p)
            except OSError:
                pass
    return removed


# --------------------------------------------------------------------------- staging

#: Subdirectory of an output directory where a run keeps its files until it completes.
STAGING_DIR_NAME = ".staging"
_JOURNAL_NAME = ".promote.json"


def staging_dir(directory: str | os.PathLike[str], *, create: bool = False) -> Path:
    """Return ``directory / ".staging"``, where a run keeps its files until it completes.

    Parameters
    ----------
    directory : path-like
        The output directory.
    create : bool
        Create the staging directory (and ``directory``) if missing.

    Returns
    -------
    pathlib.Path

    Raises
    ------
    OutputLockedError
        If the staging path exists and is a symbolic link or not a directory
        (torchperf never makes one): writing through it could touch files
        outside the output directory.

    """
    s = Path(directory) / STAGING_DIR_NAME
    if os.path.islink(s) or (os.path.lexists(s) and not s.is_dir()):
        raise OutputLockedError(
            f"staging directory {s} is a symbolic link or not a directory; torchperf did not "
            "create it. Remove it, or write to another directory (another output_dir)."
        )
    if create:
        s.mkdir(parents=True, exist_ok=True)
    return s


def _plain_name(name: object) -> bool:
    return (
        isinstance(name, str)
        and name not in ("", ".", "..")
        and "/" not in name
        and "\\" not in name
        and "\x00" not in name
    )


def promote_staged(
    directory: str | os.PathLike[str], *, remove: Iterable[str] = ()
) -> list[Path]:
    """Move every file staged in ``directory/.staging`` into ``directory``, as one step.

    The list of files to move (and of stale files of ``directory`` to delete)
    is first written atomically to ``.staging/.promote.json``; then each file is
    renamed over its counterpart, the stale ones are deleted and the journal is
    removed. If the process dies in between, the journal is still there and
    :func:`finish_promotion` (called by :func:`directory_lock` whenever a run
    takes the lock) completes the same promotion, so the directory never stays
    a mix of two runs.

    Call it only while holding :func:`directory_lock` on ``directory``.

    Parameters
    ----------
    directory : path-like
        The output directory.
    remove : iterable of str
        File names in ``directory`` (not staged ones) to delete as part of the
        promotion, e.g. reports of the previous run that the new files do not replace.

    Returns
    -------
    list of pathlib.Path
        The promoted files, at their final paths.

    """
    d = Path(directory)
    s = staging_dir(d)
    names = sorted(
        p.name
        for p in s.iterdir()
        if p.name != _JOURNAL_NAME
        and not _TEMP_NAME.match(p.name)
        and p.is_file()
        and not p.is_symlink()
    )
    # results.json last: until every report is in place, results.json is the old run's
    names.sort(key=lambda n: n == "results.json")
    stale = [n for n in remove if _plain_name(n) and n not in names]
    atomic_write_json(s / _JOURNAL_NAME, {"replace": names, "remove": stale})
    return finish_promotion(d)


def finish_promotion(directory: str | os.PathLike[str]) -> list[Path]:
    """Complete a promotion of staged files that was interrupted (see :func:`promote_staged`).

    Does nothing when ``directory/.staging/.promote.json`` does not exist.
    Call it only while holding :func:`directory_lock` on ``directory``.

    Returns
    -------
    list of pathlib.Path
        The promoted files, at their final paths (empty when there was nothing to do).

    Raises
    ------
    ResultsFileError
        If the journal is unreadable; the message names it and what to do.

    """
    d = Path(directory)
    s = d / STAGING_DIR_NAME
    journal_path = s / _JOURNAL_NAME
    if os.path.islink(s) or not journal_path.is_file():
        return []
    journal = read_json(journal_path, what="promotion journal")
    replace = journal.get("replace") if isinstance(journal, dict) else None
    remove = journal.get("remove", []) if isinstance(journal, dict) else None
    if not isinstance(replace, list) or not isinstance(remove, list):
        raise ResultsFileError(
            f"promotion journal {journal_path} is not one torchperf wrote; delete {s} "
            "(the previous complete results in its parent are kept) and re-run."
        )
    promoted: list[Path] = []
    for name in replace:
        if not _plain_name(name):
            continue
        src, dst = s / name, d / name
        if os.path.lexists(src) and not os.path.islink(src):
            os.replace(src, dst)
        promoted.append(dst)
    for name in remove:
        if _plain_name(name):
            try:
                os.unlink(d / name)
            except FileNotFoundError:
                pass
    _fsync_dir(d)
    os.unlink(journal_path)
    _fsync_dir(s)
    return promoted


def discard_staged(directory: str | os.PathLike[str]) -> None:
    """Delete the files of an unfinished run from ``directory/.staging``.

    Call it only while holding :func:`directory_lock` on ``directory``.
    """
    s = staging_dir(directory)
    if not s.is_dir():
        return
    finish_promotion(directory)
    for p in s.iterdir():
        if p.is_file() or p.is_symlink():
            try:
                p.unlink()
            except FileNotFoundError:
                pass


def _fsync_dir(d: Path) -> None:
    try:
        dir_fd = os.open(d, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dir_fd)
    except OSError:
        pass
    finally:
        os.close(dir_fd)
