"""Revision order and revision names from the project's git history, the way asv finds them.

asv records a ``date`` per results file (the commit's *author* date), and a
history ordered by it puts a commit authored in 2015 and merged in 2019 in
2015. asv's graphs and ``asv run`` use the git history instead: the
first-parent chain of each configured branch (``git rev-list
--first-parent``), and names such as ``HEAD~1``, a branch or a tag are turned
into commits with ``git rev-parse NAME^{commit}`` in the project repository.

The project repository is found as asv finds it, from ``asv.conf.json``:
``repo`` is a local repository (a directory with ``.git`` or a bare one with
``objects/``; a relative path is taken from the directory of
``asv.conf.json``), or a URL that asv mirrors into the directory named by
``project`` next to ``asv.conf.json``. ``branches`` lists the branches
(default: the repository's ``HEAD``).

When no repository is reachable (no ``asv.conf.json``, a URL never mirrored,
no ``git``), callers fall back to date order and hash prefixes; every function
here then returns ``None``.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "ProjectRepo",
    "find_asv_config",
    "first_parent_order",
    "project_repo",
    "rev_parse",
    "revision_order",
]

_GIT_TIMEOUT_S = 60
#: Off-branch commits placed by ``git merge-base`` one call each; beyond this, by date.
_MAX_MERGE_BASE_CALLS = 200


@dataclass(frozen=True)
class ProjectRepo:
    """A reachable git repository of an asv project.

    Attributes
    ----------
    path : pathlib.Path
        The repository (work tree or bare mirror).
    branches : tuple of str
        ``asv.conf.json``'s ``branches``; ``("HEAD",)`` when it names none.

    """

    path: Path
    branches: tuple[str, ...]


def _git(repo: Path, *args: str) -> str | None:
    """Return the stdout of ``git -C repo args``, or None when git is missing or the command fails."""
    try:
        out = subprocess.run(
            ["git", "-C", str(repo), *args],
            capture_output=True,
            text=True,
            timeout=_GIT_TIMEOUT_S,
            check=False,
            env={**os.environ, "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C"},
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout if out.returncode == 0 else None


def _is_local_repo(path: Path) -> bool:
    """Whether ``path`` is a repository by asv's test (``asv.plugins.git.Git.is_local_repo``): a ``.git`` entry or a bare ``objects/``."""
    return path.is_dir() and ((path / ".git").exists() or (path / "objects").is_dir())


def find_asv_config(results_dir: str | os.PathLike[str]) -> Path | None:
    """The ``asv.conf.json`` that belongs to a results directory, if one is found.

    Parameters
    ----------
    results_dir : path-like
        An asv results directory (usually ``results`` or ``.asv/results`` next to
        ``asv.conf.json``).

    Returns
    -------
    pathlib.Path or None
        The first of ``results_dir/..``, ``results_dir/../..`` and ``results_dir``
        holding an ``asv.conf.json``.

    """
    root = Path(results_dir)
    for cand in (root.parent / "asv.conf.json", root.parent.parent / "asv.conf.json",
                 root / "asv.conf.json"):
        if cand.is_file():
            return cand
    return None


def project_repo(
    config: Mapping[str, Any] | None, config_dir: str | os.PathLike[str] | None
) -> ProjectRepo | None:
    """The project's git repository as asv would use it, when reachable.

    Parameters
    ----------
    config : mapping or None
        Parsed ``asv.conf.json``.
    config_dir : path-like or None
        Directory of ``asv.conf.json`` (relative ``repo`` paths and asv's mirror
        directory are taken from it).

    Returns
    -------
    ProjectRepo or None
        None when ``config`` has no ``repo``, the repository is neither a local
        git repository nor an existing asv mirror, ``dvcs`` is not git, or git
        cannot read it.

    """
    if not config or config_dir is None:
        return None
    repo = config.get("repo")
    if not isinstance(repo, str) or not repo or config.get("dvcs", "git") not in (None, "git"):
        return None
    base = Path(config_dir)
    local = Path(repo).expanduser()
    if not local.is_absolute():
        local = base / local
    if _is_local_repo(local):
        path = local
    else:
        project = config.get("project")
        mirror = base / project if isinstance(project, str) and project else None
        if mirror is None or not _is_local_repo(mirror):
            return None
        path = mirror
    raw = config.get("branches")
    branches = tuple(b for b in (raw or []) if isinstance(b, str) and b) or ("HEAD",)
    if _git(path, "rev-parse", "--git-dir") is None:
        return None
    return ProjectRepo(path=path.resolve(), branches=branches)


def rev_parse(repo: ProjectRepo, name: str) -> str | None:
    """Full hash of ``name`` (``HEAD~1``, a branch, a tag, a hash prefix) as asv resolves it.

    Parameters
    ----------
    repo : ProjectRepo
        From :func:`project_repo`.
    name : str
        Anything ``git rev-parse NAME^{commit}`` accepts.

    Returns
    -------
    str or None
        The full commit hash, or None when git does not know the name (or it is
        ambiguous), so that callers can fall back to hash prefixes.

    """
    if not isinstance(name, str) or not name.strip() or name.strip().startswith("-"):
        return None
    out = _git(repo.path, "rev-parse", "--verify", "--quiet", "--end-of-options",
               f"{name.strip()}^{{commit}}")
    if out is None:
        return None
    full = out.strip().splitlines()[0] if out.strip() else ""
    return full.lower() if len(full) >= 40 else None


def first_parent_order(repo: ProjectRepo) -> list[str]:
    """Commits of the configured branches, oldest first, each branch's first-parent chain.

    Parameters
    ----------
    repo : ProjectRepo
        From :func:`project_repo`.

    Returns
    -------
    list of str
        Full hashes: the first branch's ``git rev-list --first-parent --reverse``,
        then the commits of later branches not already listed. Empty when git
        knows none of the branches.

    """
    seen: set[str] = set()
    order: list[str] = []
    for branch in repo.branches:
        out = _git(repo.path, "rev-list", "--first-parent", "--reverse", "--end-of-options", branch)
        if out is None:
            # asv mirrors (git clone --mirror) hold branches as local refs; a work tree may only
            # have the remote-tracking branch.
            out = _git(repo.path, "rev-list", "--first-parent", "--reverse", "--end-of-options",
                       f"origin/{branch}")
        for c in (out or "").split():
            if c not in seen:
                seen.add(c)
                order.append(c)
    return order


def _place_off_branch(
    repo: ProjectRepo, order: list[str], commits: Sequence[str], dates: Mapping[str, Any]
) -> list[str]:
    """Insert commits missing from ``order`` right after their merge base with the first branch.

    Commits git does not know (or whose merge base is off the chain) are left out;
    the loader orders them by date after the others.
    """
    pos = {c: i for i, c in enumerate(order)}
    missing = [c for c in commits if c not in pos]
    after: dict[int, list[str]] = {}
    for n, c in enumerate(sorted(missing, key=lambda c: (str(dates.get(c)), c))):
        base = None
        if n < _MAX_MERGE_BASE_CALLS:
            out = _git(repo.path, "merge-base", "--end-of-options", repo.branches[0], c)
            base = out.strip() if out else None
        if base in pos:
            after.setdefault(pos[base], []).append(c)
    out_order: list[str] = []
    for i, c in enumerate(order):
        out_order.append(c)
        out_order.extend(after.get(i, []))
    return out_order


def revision_order(
    results_dir: str | os.PathLike[str],
    commits: Sequence[str],
    dates: Mapping[str, Any] | None = None,
    asv_config: str | os.PathLike[str] | Mapping[str, Any] | None = None,
) -> tuple[list[str] | None, dict[str, Any]]:
    """Git order of the commits that have results, or None (date order) when git cannot say.

    Parameters
    ----------
    results_dir : path-like
        The asv results directory (its ``asv.conf.json`` is found with
        :func:`find_asv_config` unless ``asv_config`` is given).
    commits : sequence of str
        Full hashes of the commits that have results.
    dates : mapping, optional
        Commit -> date, used to order commits git cannot place.
    asv_config : path-like or mapping, optional
        ``asv.conf.json`` or its contents; with a mapping, relative ``repo``
        paths are taken from ``results_dir``'s parent.

    Returns
    -------
    order : list of str or None
        Every commit of ``commits`` that git knows, oldest first: the
        first-parent chain of the configured branches, commits off that chain
        (e.g. pull-request heads) right after their merge base with the first
        branch. Commits git cannot place are left out (the loader puts them
        last, by date). None when no repository is reachable or it knows none of the
        commits.
    info : dict
        ``{"revision_order": "git" | "date", "git_repo": str | None,
        "git_branches": list, "off_branch_commits": int, "unknown_to_git": int}``.

    """
    from torchperf.fileio import read_asv_config

    info: dict[str, Any] = {"revision_order": "date", "git_repo": None, "git_branches": [],
                            "off_branch_commits": 0, "unknown_to_git": 0}
    conf: Mapping[str, Any] | None = None
    conf_dir: Path | None = None
    if isinstance(asv_config, Mapping):
        conf, conf_dir = asv_config, Path(results_dir).parent
    else:
        path = Path(asv_config) if asv_config is not None else find_asv_config(results_dir)
        if path is not None:
            try:
                conf = read_asv_config(path)
            except Exception:  # the loader reports unreadable configurations itself
                conf = None
            conf_dir = (path if path.is_dir() else path.parent)
    repo = project_repo(conf, conf_dir)
    if repo is None:
        return None, info
    chain = first_parent_order(repo)
    on_chain = set(chain)
    wanted = {c.lower() for c in commits}
    known = [c for c in chain if c in wanted]
    if not known:
        return None, info
    info.update(git_repo=str(repo.path), git_branches=list(repo.branches))
    off = [c for c in wanted if c not in on_chain]
    order = _place_off_branch(repo, known, off, dates or {}) if off else known
    placed = set(order)
    info.update(revision_order="git", off_branch_commits=len(off),
                unknown_to_git=len(wanted - placed))
    return order, info
