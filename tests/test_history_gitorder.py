"""Revision order from git (first-parent of the configured branch) and git refs in every command.

The histories here are the real-asv fixture (``tests/data/asv-real``) re-homed
onto a scratch git repository: each of its 30 results is re-written for one
commit of a fresh repo whose author dates (asv's ``date``) are deliberately
out of order, as in real histories where a commit authored years earlier is
merged later.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

from torchperf.errors import InvalidParameterError
from torchperf.history import load_results, resolve_commit
from torchperf.history.gitorder import find_asv_config, project_repo, rev_parse

FIXTURE = Path(__file__).parent / "data" / "asv-real"
README = Path(__file__).resolve().parents[1] / "README.md"

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


def git(repo: Path, *args: str, env: dict[str, str] | None = None) -> str:
    base = {**os.environ, "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_SYSTEM": os.devnull,
            "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.invalid",
            "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.invalid"}
    out = subprocess.run(["git", "-C", str(repo), *args], env={**base, **(env or {})},
                         capture_output=True, text=True, check=True)
    return out.stdout.strip()


def author_epoch(i: int) -> int:
    """Author dates out of order: every third commit was authored years before it landed."""
    return 1_600_000_000 + i * 86_400 - (3 * 365 * 86_400 if i % 3 == 1 else 0)


def rehome(dest: Path, *, side_commit_after: int | None = None) -> dict:
    """The asv-real fixture re-written onto a fresh git repo at ``dest``; returns the mapping.

    ``dest`` gets ``asv.conf.json`` (``repo: "."``, ``branches: ["main"]``,
    ``results_dir: ".asv/results"``), a git repo with 30 first-parent commits on
    ``main`` (tag ``v1.0`` at the 20th) and, with ``side_commit_after=k``, one
    extra commit on a side branch forked from commit k, which also has results.
    """
    truth = json.loads((FIXTURE / "truth.json").read_text())
    old = truth["commits"]
    dest.mkdir(parents=True, exist_ok=True)
    git(dest, "init", "-q", "-b", "main")
    conf = json.loads((FIXTURE / "asv.conf.json").read_text())
    conf.update(repo=".", branches=["main"], results_dir=".asv/results")
    (dest / "asv.conf.json").write_text(json.dumps(conf, indent=2))
    new: list[str] = []
    dates: list[int] = []
    for i in range(len(old)):
        (dest / "file.txt").write_text(f"{i}\n")
        git(dest, "add", "-A")
        ts = author_epoch(i)
        git(dest, "commit", "-q", "-m", f"c{i}",
            env={"GIT_AUTHOR_DATE": f"@{ts} +0000", "GIT_COMMITTER_DATE": f"@{1_700_000_000 + i} +0000"})
        new.append(git(dest, "rev-parse", "HEAD"))
        dates.append(ts)
        if i == 19:
            git(dest, "tag", "v1.0")
    side = None
    if side_commit_after is not None:
        git(dest, "checkout", "-q", "-b", "side", new[side_commit_after])
        (dest / "side.txt").write_text("side\n")
        git(dest, "add", "-A")
        git(dest, "commit", "-q", "-m", "side",
            env={"GIT_AUTHOR_DATE": "@1500000000 +0000", "GIT_COMMITTER_DATE": "@1700000999 +0000"})
        side = git(dest, "rev-parse", "HEAD")
        git(dest, "checkout", "-q", "main")
    src = FIXTURE / "results"
    out = dest / ".asv" / "results"
    (out / "fixture-box").mkdir(parents=True)
    shutil.copy(src / "benchmarks.json", out / "benchmarks.json")
    shutil.copy(src / "fixture-box" / "machine.json", out / "fixture-box" / "machine.json")
    index = {c: i for i, c in enumerate(old)}
    for f in sorted((src / "fixture-box").glob("*.json")):
        if f.name == "machine.json":
            continue
        d = json.loads(f.read_text())
        i = index[d["commit_hash"]]
        targets = [(new[i], dates[i])]
        if side is not None and i == side_commit_after:
            targets.append((side, 1_500_000_000))
        for commit, ts in targets:
            d2 = {**d, "commit_hash": commit, "date": ts * 1000}
            name = f"{commit[:8]}-{f.name.split('-', 1)[1]}"
            (out / "fixture-box" / name).write_text(json.dumps(d2))
    return {"old": old, "new": new, "side": side, "dates": dates}


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    dest = tmp_path_factory.mktemp("gitproj") / "proj"
    return dest, rehome(dest, side_commit_after=11)


def test_order_follows_git_first_parent_not_author_dates(project):
    dest, m = project
    df = load_results(dest / ".asv" / "results")
    assert df.attrs["revision_order"] == "git"
    assert Path(df.attrs["git_repo"]) == dest.resolve()
    assert df.attrs["git_branches"] == ["main"] and df.attrs["off_branch_commits"] == 1
    rev = df.drop_duplicates("commit").set_index("commit")["revision"]
    # main's commits in chain order; the side commit right after its fork point (commit 11)
    expected = [*m["new"][:12], m["side"], *m["new"][12:]]
    assert list(rev.sort_values().index) == expected
    # asv's dates alone would have put them elsewhere: every third commit is "authored" 3 years early
    by_date = df.drop_duplicates("commit").sort_values("date")["commit"].tolist()
    assert by_date != expected


def test_date_order_is_the_fallback_without_a_reachable_repo(project, tmp_path):
    dest, m = project
    shutil.copytree(dest / ".asv", tmp_path / "copy" / ".asv")
    conf = json.loads((dest / "asv.conf.json").read_text())
    (tmp_path / "copy" / "asv.conf.json").write_text(json.dumps(conf))  # repo "." is not a git repo here
    df = load_results(tmp_path / "copy" / ".asv" / "results")
    assert df.attrs["revision_order"] == "date" and df.attrs["git_repo"] is None
    rev = df.drop_duplicates("commit").set_index("commit")["revision"].sort_values()
    dates = df.drop_duplicates("commit").set_index("commit")["date"]
    assert list(dates[rev.index]) == sorted(dates)
    # hash prefixes still resolve; git names do not (no repository)
    assert resolve_commit(df, m["new"][3][:8]) == m["new"][3]
    with pytest.raises(InvalidParameterError, match="matches no commit"):
        resolve_commit(df, "HEAD~1")


def test_an_explicit_order_still_wins(project):
    dest, m = project
    order = list(reversed(m["new"]))
    df = load_results(dest / ".asv" / "results", revision_order=order)
    assert df.attrs["revision_order"] == "given"
    assert int(df.loc[df["commit"] == m["new"][-1], "revision"].iloc[0]) == 0


def test_git_refs_resolve_like_asv(project):
    dest, m = project
    df = load_results(dest / ".asv" / "results")
    new = m["new"]
    assert resolve_commit(df, "HEAD") == new[-1]
    assert resolve_commit(df, "HEAD~1") == new[-2]
    assert resolve_commit(df, "HEAD^") == new[-2]
    assert resolve_commit(df, "main~5") == new[-6]
    assert resolve_commit(df, "v1.0") == new[19]  # a tag
    assert resolve_commit(df, "side") == m["side"]  # a branch
    assert resolve_commit(df, new[7][:10]) == new[7]  # hash prefixes, through git
    assert resolve_commit(df, new[7].upper()[:12]) == new[7]
    # a name git knows whose commit has no results: one message with the remedy
    (dest / "file.txt").write_text("uncommitted\n")
    git(dest, "commit", "-q", "-am", "no results yet")
    try:
        with pytest.raises(InvalidParameterError, match=r"'HEAD' is commit [0-9a-f]{12} .* no asv results.*asv run"):
            resolve_commit(df, "HEAD")
        assert resolve_commit(df, "HEAD~1") == new[-1]
    finally:
        git(dest, "reset", "-q", "--hard", "HEAD~1")
    with pytest.raises(InvalidParameterError, match="matches no commit"):
        resolve_commit(df, "no-such-branch")
    with pytest.raises(InvalidParameterError):
        resolve_commit(df, "--output=/tmp/x")  # never passed to git as an option


def test_project_repo_follows_asv_rules(project, tmp_path):
    dest, _ = project
    assert find_asv_config(dest / ".asv" / "results") == dest / "asv.conf.json"
    repo = project_repo({"repo": ".", "branches": ["main"]}, dest)
    assert repo is not None and repo.branches == ("main",)
    assert project_repo({"repo": ".", "branches": []}, dest).branches == ("HEAD",)
    # a subdirectory of a repository is not a repository (asv would try to clone it)
    (dest / "sub").mkdir(exist_ok=True)
    assert project_repo({"repo": "sub"}, dest) is None
    # a URL is read from asv's mirror, the directory named by `project`
    assert project_repo({"repo": "https://example.invalid/x.git", "project": "x"}, tmp_path) is None
    git(tmp_path, "clone", "-q", "--mirror", str(dest), str(tmp_path / "x"))
    mirror = project_repo({"repo": "https://example.invalid/x.git", "project": "x",
                           "branches": ["main"]}, tmp_path)
    assert mirror is not None and rev_parse(mirror, "main~1") is not None
    assert project_repo({"repo": ".", "dvcs": "hg"}, dest) is None


def _readme_history_commands() -> list[str]:
    text = README.read_text()
    block = text.split("## History with asv", 1)[1].split("```bash", 1)[1].split("```", 1)[0]
    cmds = [line.split("#", 1)[0].strip() for line in block.splitlines()]
    return [c for c in cmds if c]


def _site_tool():
    from tooling import load_tool

    return load_tool("check_site")


@pytest.mark.slow
def test_readme_history_commands_run_as_written(tmp_path, monkeypatch, capsys):
    """The README's asv block, in a project with asv results for 8 commits (synthetic zoo history).

    ``asv machine`` / ``asv run`` / ``asv compare`` / ``asv continuous`` measure and are run
    in tests/test_asv_e2e.py; here every ``torchperf`` line and ``asv publish`` run exactly
    as written, from the project directory, with git refs as the README spells them.
    """
    import io
    import tarfile

    from torchperf.cli import main
    from torchperf.site import offline

    cmds = _readme_history_commands()
    assert "torchperf compare HEAD~1 HEAD" in cmds and "torchperf pareto --revision HEAD" in cmds, cmds
    repo = _site_tool().make_demo_history(tmp_path / "proj", commits=8, environments=1, regress_at=4)
    monkeypatch.chdir(repo)

    def fake_fetch(name, version, **kw):  # offline assets without the network
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w:gz") as tf:
            for a in offline.ASSETS:
                if a.package == name:
                    for member in (a.member, *a.extra):
                        data = f"/* {name} {member} */".encode()
                        info = tarfile.TarInfo(f"package/{member}")
                        info.size = len(data)
                        tf.addfile(info, io.BytesIO(data))
        return buf.getvalue()

    monkeypatch.setattr(offline, "fetch_package", fake_fetch)
    ran = {}
    for cmd in cmds:
        argv = shlex.split(cmd)
        if argv[0] == "asv":
            if argv[1] != "publish":
                continue
            if shutil.which("asv") is None:
                pytest.skip("the asv command is not on PATH")
            proc = subprocess.run(argv, capture_output=True, text=True, timeout=300)
            assert proc.returncode == 0, proc.stderr
            continue
        rc = main(argv[1:])
        out = capsys.readouterr()
        assert rc in (0, 1) and "error" not in out.err, (cmd, rc, out.err)
        ran[argv[1]] = (rc, out.out)
    assert set(ran) == {"compare", "regressions", "pareto", "publish"}
    head = git(repo, "rev-parse", "HEAD")
    assert Path(f"pareto-{head[:8]}.png").exists()
    assert "benchmark series compared" in ran["compare"][1]


def test_regressions_use_git_order_and_since_takes_a_ref(project, monkeypatch, capsys):
    """The injected +25% step lands at its commit in git order, although asv's dates are shuffled."""
    from torchperf.cli import main

    dest, m = project
    monkeypatch.chdir(dest)
    rc = main(["regressions", "--no-cache", "--format", "json"])
    rows = json.loads(capsys.readouterr().out)
    assert rc == 1
    reg = [r for r in rows if r["benchmark"].endswith("time_regress")]
    assert [r["commit_after"] for r in reg] == [m["new"][12]] and reg[0]["status"] == "open"
    # --since with a git ref: only changes after HEAD~10 (revision 19 of main) are listed
    main(["regressions", "--no-cache", "--all", "--format", "json", "--since", "HEAD~10"])
    rows = json.loads(capsys.readouterr().out)
    after = set(m["new"][20:])
    assert rows and all(r["commit_after"] in after for r in rows)
    main(["regressions", "--no-cache", "--since", "v1.0", "--all"])
    out = capsys.readouterr().out
    assert "time_two_steps" in out and "time_regress" not in out
