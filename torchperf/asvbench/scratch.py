"""Scratch git repositories for asv experiments (end-to-end tests, A/A runs, injected slowdowns).

asv benchmarks *commits*, so experiments that need specific histories
(the same tree under two hashes; a throwaway commit with a slowdown) build
them in a temporary repository copied from a working tree, never touching
the original repository's git state.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from torchperf.errors import InvalidParameterError, TorchperfError

__all__ = ["commit_all", "copy_worktree", "git", "run_asv", "scratch_home_env", "select_matrix_cell"]

_GIT_ENV = {
    "GIT_AUTHOR_NAME": "torchperf",
    "GIT_AUTHOR_EMAIL": "torchperf@example.invalid",
    "GIT_COMMITTER_NAME": "torchperf",
    "GIT_COMMITTER_EMAIL": "torchperf@example.invalid",
}


def git(repo: str | os.PathLike[str], *args: str) -> str:
    """Run ``git <args>`` in ``repo`` and return its stripped stdout.

    Raises
    ------
    TorchperfError
        If git fails; the message holds git's stderr.

    """
    env = {**os.environ, **_GIT_ENV}
    proc = subprocess.run(
        ["git", *args], cwd=repo, capture_output=True, text=True, env=env, check=False
    )
    if proc.returncode != 0:
        raise TorchperfError(f"`git {' '.join(args)}` failed in {repo}: {proc.stderr.strip()}")
    return proc.stdout.strip()


def _tree_files(src: Path) -> list[str]:
    if (src / ".git").exists():
        out = git(src, "ls-files", "--cached", "--others", "--exclude-standard", "-z")
        return sorted({f for f in out.split("\0") if f and (src / f).is_file()})
    skip = {".git", ".asv", "__pycache__", ".pytest_cache", ".ruff_cache", "build", "dist"}
    files = []
    for root, dirs, names in os.walk(src):
        dirs[:] = [d for d in dirs if d not in skip and not d.endswith(".egg-info")]
        for n in names:
            files.append(str((Path(root) / n).relative_to(src)))
    return sorted(files)


def copy_worktree(
    src: str | os.PathLike[str],
    dest: str | os.PathLike[str],
    *,
    message: str = "snapshot of the working tree",
    exclude: Sequence[str] = (),
) -> str:
    """Copy ``src``'s working tree (tracked and untracked-not-ignored files) into a new repo.

    Parameters
    ----------
    src : path-like
        A git working tree (or any directory).
    dest : path-like
        Directory to create; must not exist or be empty.
    message : str
        Message of the first commit.
    exclude : sequence of str
        Path prefixes (relative to ``src``) not to copy.

    Returns
    -------
    str
        The hash of the first commit (branch ``main``).

    """
    src_p, dest_p = Path(src).resolve(), Path(dest)
    if dest_p.exists() and any(dest_p.iterdir()):
        raise InvalidParameterError(f"`dest` must be a new or empty directory; {dest_p} is not.")
    dest_p.mkdir(parents=True, exist_ok=True)
    for rel in _tree_files(src_p):
        if any(rel == e or rel.startswith(e.rstrip("/") + "/") for e in exclude):
            continue
        target = dest_p / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src_p / rel, target)
    git(dest_p, "init", "-q", "-b", "main")
    return commit_all(dest_p, message)


def commit_all(repo: str | os.PathLike[str], message: str, *, allow_empty: bool = True) -> str:
    """Stage everything in ``repo`` and commit; return the new commit's hash."""
    git(repo, "add", "-A")
    args = ["commit", "-q", "-m", message]
    if allow_empty:
        args.append("--allow-empty")
    git(repo, *args)
    return git(repo, "rev-parse", "HEAD")


def scratch_home_env(home: str | os.PathLike[str]) -> dict[str, str]:
    """Environment variables for asv with a scratch ``HOME`` (its own ``~/.asv-machine.json``).

    pyenv and pip's wheel cache stay where the real home has them, so asv-managed
    virtualenvs build from cached wheels instead of downloading again.

    Parameters
    ----------
    home : path-like
        The scratch home directory.

    Returns
    -------
    dict of str to str
        To pass as ``env`` to :func:`run_asv` (merged over ``os.environ``).

    """
    return {
        "HOME": str(home),
        "PYENV_ROOT": os.environ.get("PYENV_ROOT", str(Path.home() / ".pyenv")),
        "PIP_CACHE_DIR": os.environ.get("PIP_CACHE_DIR", str(Path.home() / ".cache" / "pip")),
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
    }


def run_asv(
    repo: str | os.PathLike[str],
    args: Sequence[str],
    *,
    timeout: float | None = None,
    env: Mapping[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m asv <args>`` in ``repo`` and return the completed process (output captured).

    The exit code is not checked: ``asv continuous`` exits 1 on regressions, which
    is an outcome, not an error.
    """
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "asv", *args],
        cwd=repo,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def select_matrix_cell(repo: str | os.PathLike[str], req: Mapping[str, str]) -> Path:
    """Rewrite ``repo``'s asv.conf.json so its matrix is the single cell ``req``.

    Every ``matrix.req`` key named in ``req`` is pinned to that one version
    and ``exclude`` rules are dropped (they only served to pair versions);
    keys not named keep their values. Used by experiments that afford one
    environment only.

    Returns
    -------
    pathlib.Path
        The rewritten configuration file.

    """
    import json

    from torchperf.asvbench.envrecord import load_asv_conf
    from torchperf.fileio import atomic_write_text

    conf = load_asv_conf(repo)
    matrix_req = conf.setdefault("matrix", {}).setdefault("req", {})
    for key, version in req.items():
        matrix_req[key] = [version]
    conf["exclude"] = []
    return atomic_write_text(Path(repo) / "asv.conf.json", json.dumps(conf, indent=4) + "\n")
