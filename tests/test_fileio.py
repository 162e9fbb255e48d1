import json
import os

import pytest
from hypothesis import given
from hypothesis import strategies as st

from torchperf.errors import InvalidParameterError, ResultsFileError
from torchperf.fileio import (
    atomic_write_json,
    atomic_write_text,
    read_json,
    safe_filename,
    to_jsonable,
)


def test_atomic_write_replaces_whole_file_and_leaves_no_temp(tmp_path):
    target = tmp_path / "sub" / "out.json"
    atomic_write_json(target, {"a": 1})
    atomic_write_json(target, {"a": 2, "b": [1.5, float("nan")]})
    assert read_json(target) == {"a": 2, "b": [1.5, None]}
    assert [p.name for p in target.parent.iterdir()] == ["out.json"]


def test_failed_write_keeps_previous_file(tmp_path, monkeypatch):
    target = tmp_path / "out.txt"
    atomic_write_text(target, "old")

    def boom(fd):
        raise OSError("disk full")

    monkeypatch.setattr(os, "fsync", boom)
    with pytest.raises(OSError, match="disk full"):
        atomic_write_text(target, "new")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]


def test_to_jsonable_handles_numpy_and_nonfinite():
    np = pytest.importorskip("numpy")
    out = to_jsonable({"x": np.float32(1.5), "y": np.arange(3), 2: (float("inf"), -float("inf"), np.float64("nan"))})
    assert out == {"x": 1.5, "y": [0, 1, 2], "2": [None, None, None]}  # null: no finite value
    json.dumps(out, allow_nan=False)


@pytest.mark.parametrize(
    ("content", "match"),
    [
        (b"", "is empty"),
        (b'{"a": [1, 2', "not valid JSON"),
        (b"\xff\xfe\x00garbage", "not UTF-8"),
    ],
)
def test_read_json_errors_are_actionable(tmp_path, content, match):
    p = tmp_path / "r.json"
    p.write_bytes(content)
    with pytest.raises(ResultsFileError, match=match):
        read_json(p)


def test_read_json_missing_and_directory(tmp_path):
    with pytest.raises(ResultsFileError, match="does not exist"):
        read_json(tmp_path / "nope.json")
    with pytest.raises(ResultsFileError, match="is a directory"):
        read_json(tmp_path)


def test_read_json_accepts_asv_nan_literals(tmp_path):
    p = tmp_path / "asv.json"
    p.write_text('{"x": NaN, "y": Infinity}')
    out = read_json(p)
    assert out["y"] == float("inf")


@given(st.text(max_size=200))
def test_safe_filename_never_escapes(name):
    out = safe_filename(name)
    assert out and "/" not in out and "\\" not in out and ".." not in out
    assert not out.startswith(".")
    assert len(out) <= 120


def test_safe_filename_rejects_non_str():
    with pytest.raises(InvalidParameterError, match="must be a str"):
        safe_filename(3)  # type: ignore[arg-type]


def test_written_files_honour_umask(tmp_path):
    old = os.umask(0o022)
    try:
        import torchperf.fileio as fio

        target = atomic_write_text(tmp_path / "r.txt", "x")
        assert oct(target.stat().st_mode & 0o777) == oct(0o666 & ~fio._UMASK)
        assert target.stat().st_mode & 0o044  # group/other can read under a 022 umask
    finally:
        os.umask(old)


def test_read_asv_config_with_comments_with_and_without_json5(tmp_path, monkeypatch):
    import builtins

    from torchperf.fileio import read_asv_config

    (tmp_path / "asv.conf.json").write_text(
        '{\n    // a comment line, as in this repository\'s asv.conf.json\n    "version": 1\n}\n'
    )
    assert read_asv_config(tmp_path) == {"version": 1}
    real_import = builtins.__import__

    def no_json5(name, *args, **kwargs):
        if name == "json5":
            raise ImportError("json5 absent (as inside an asv benchmark environment)")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_json5)
    assert read_asv_config(tmp_path / "asv.conf.json") == {"version": 1}
    (tmp_path / "asv.conf.json").write_text('{"version": 1,,}')
    with pytest.raises(ResultsFileError, match="not valid JSON"):
        read_asv_config(tmp_path)
    with pytest.raises(ResultsFileError, match="cannot read asv configuration"):
        read_asv_config(tmp_path / "missing")


# --------------------------------------------------------------------------- lock file (issue 15.1)


@pytest.mark.reliability
def test_lock_does_not_follow_a_planted_symlink(tmp_path):
    """A symlink at OUT/.torchperf.lock must not let a run truncate or write its target."""
    from torchperf.errors import OutputLockedError
    from torchperf.fileio import LOCK_FILE_NAME, directory_lock

    victim = tmp_path / "precious.txt"
    content = b"do not touch\x00\xff" * 100
    victim.write_bytes(content)
    out = tmp_path / "out"
    out.mkdir()
    (out / LOCK_FILE_NAME).symlink_to(victim)
    with pytest.raises(OutputLockedError, match="symbolic link") as info:
        with directory_lock(out):
            pass
    assert str(out / LOCK_FILE_NAME) in str(info.value) and "remove it" in str(info.value)
    assert victim.read_bytes() == content
    # a dangling symlink is not followed to create a file either
    (out / LOCK_FILE_NAME).unlink()
    (out / LOCK_FILE_NAME).symlink_to(tmp_path / "created-elsewhere")
    with pytest.raises(OutputLockedError, match="symbolic link"):
        with directory_lock(out):
            pass
    assert not (tmp_path / "created-elsewhere").exists()


@pytest.mark.reliability
def test_lock_refuses_hard_links_and_non_regular_files(tmp_path):
    from torchperf.errors import OutputLockedError
    from torchperf.fileio import LOCK_FILE_NAME, directory_lock

    victim = tmp_path / "precious.txt"
    victim.write_bytes(b"keep me")
    out = tmp_path / "out"
    out.mkdir()
    os.link(victim, out / LOCK_FILE_NAME)
    with pytest.raises(OutputLockedError, match="hard links"):
        with directory_lock(out):
            pass
    assert victim.read_bytes() == b"keep me"
    (out / LOCK_FILE_NAME).unlink()
    (out / LOCK_FILE_NAME).mkdir()
    with pytest.raises(OutputLockedError, match=str(out / LOCK_FILE_NAME)):
        with directory_lock(out):
            pass


@pytest.mark.reliability
def test_lock_file_is_never_truncated(tmp_path):
    """A regular file that torchperf did not write keeps every byte; torchperf's own
    holder line is overwritten in place (fixed-size block), never truncated."""
    from torchperf.fileio import LOCK_FILE_NAME, directory_lock

    out = tmp_path / "out"
    out.mkdir()
    foreign = b"someone else's data\n" * 200
    (out / LOCK_FILE_NAME).write_bytes(foreign)
    with directory_lock(out):
        assert (out / LOCK_FILE_NAME).read_bytes() == foreign
    assert (out / LOCK_FILE_NAME).read_bytes() == foreign
    (out / LOCK_FILE_NAME).unlink()
    with directory_lock(out):
        held = (out / LOCK_FILE_NAME).read_bytes()
        assert held.startswith(f"pid {os.getpid()} ".encode())
    after = (out / LOCK_FILE_NAME).read_bytes()
    assert len(after) == len(held) and not after.strip()


def test_reliability_run_prints_its_trials_table(tmp_path):
    """`python -m pytest -m reliability` ends with the trials/failures table (tests/conftest.py);
    here on the lock tests only, to keep it short."""
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-m", "reliability", "-q", "-p", "no:cacheprovider",
         "tests/test_fileio.py", "-k", "lock"],
        cwd=root, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert "reliability trials" in proc.stdout
    assert "| check" in proc.stdout and "| trials | failures |" in proc.stdout
    assert "3 checks, 3 trials, 0 failures" in proc.stdout
