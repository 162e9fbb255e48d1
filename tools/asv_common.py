"""Shared helpers of the tools/asv_*.py scripts (scratch repos, asv invocations, result summaries)."""

from __future__ import annotations

import json
import math
import sys
import tempfile
import time
from pathlib import Path

from torchperf.asvbench.scratch import (
    commit_all,
    copy_worktree,
    run_asv,
    scratch_home_env,
    select_matrix_cell,
)

REPO_ROOT = Path(__file__).resolve().parents[1]


def workdirs(work: Path | None, prefix: str) -> tuple[Path, Path]:
    """The experiment's work directory (``work``, or a new temporary one) and its scratch HOME."""
    work = work or Path(tempfile.mkdtemp(prefix=prefix))
    work.mkdir(parents=True, exist_ok=True)
    home = work / "home"
    home.mkdir(exist_ok=True)
    return work, home


def make_repo(work: Path, *, n_extra_commits: int = 1, src: Path = REPO_ROOT) -> tuple[Path, list[str]]:
    """Scratch repo: the working tree as one commit, then ``n_extra_commits`` identical-tree commits."""
    repo = work / "repo"
    shas = [copy_worktree(src, repo, message="snapshot")]
    for i in range(n_extra_commits):
        shas.append(commit_all(repo, f"identical tree {i + 1}"))
    return repo, shas


def asv(
    repo: Path,
    home: Path,
    *args: str,
    timeout: float | None = None,
    check: bool = True,
    env: dict[str, str] | None = None,
):
    """Run asv, echo the command and its wall time; raise on failure when ``check``."""
    t0 = time.perf_counter()
    proc = run_asv(repo, list(args), env={**scratch_home_env(home), **(env or {})}, timeout=timeout)
    dt = time.perf_counter() - t0
    print(f"$ asv {' '.join(args)}   [{dt:.1f} s, exit {proc.returncode}]", flush=True)
    if check and proc.returncode != 0:
        print(proc.stdout[-5000:], proc.stderr[-5000:], sep="\n", file=sys.stderr)
        raise SystemExit(f"asv {args[0]} failed with exit code {proc.returncode}")
    return proc, dt


def machine(repo: Path, home: Path, name: str = "torchperf-ci") -> None:
    asv(repo, home, "machine", "--yes", "--machine", name)


def summarize_results(results_dir: Path) -> dict:
    """Per (commit, env): counts of ok / failed / skipped values, by benchmark type."""
    benchmarks = json.loads((results_dir / "benchmarks.json").read_text())
    out = {}
    for machine_dir in sorted(p for p in results_dir.iterdir() if p.is_dir()):
        for f in sorted(machine_dir.glob("*.json")):
            if f.name == "machine.json":
                continue
            data = json.loads(f.read_text())  # Python reads asv's NaN literals
            cols = data["result_columns"]
            key = f"{data['commit_hash'][:8]} {data['env_name']}"
            row = {"ok": 0, "failed": 0, "skipped": 0, "failed_names": [], "types": {}}
            for name, vals in data["results"].items():
                rec = dict(zip(cols, vals, strict=False))
                result = rec.get("result")
                btype = benchmarks.get(name, {}).get("type", "?")
                t = row["types"].setdefault(btype, {"ok": 0, "failed": 0, "skipped": 0})
                values = result if isinstance(result, list) else [result]
                for v in values:
                    if v is None:
                        kind = "failed"
                        row["failed_names"].append(name)
                    elif isinstance(v, float) and math.isnan(v):
                        kind = "skipped"
                    else:
                        kind = "ok"
                    row[kind] += 1
                    t[kind] += 1
            out[key] = row
    return out


#: The matrix cells of asv.conf.json, as pins per NumPy version.
CELLS = {
    "1.26.4": {"numpy": "1.26.4", "scipy": "1.13.1", "scikit-learn": "1.6.1"},
    "2.4.6": {"numpy": "2.4.6", "scipy": "1.17.1", "scikit-learn": "1.9.1"},
}


def single_env_conf(repo: Path, numpy: str = "2.4.6") -> None:
    """Restrict the scratch repo's asv.conf.json matrix to the one NumPy cell ``numpy``."""
    select_matrix_cell(repo, CELLS[numpy])


def parse_compare(text: str) -> list[dict]:
    """Rows of ``asv compare`` output: mark (+ worse, - better, ! failed, x incomparable), ratio, name."""
    rows = []
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")] if "|" in line else None
        if cells is None or len(cells) < 5:
            continue
        mark, before, after, ratio, name = cells[:5]
        if name.startswith("Benchmark") or (set(mark) <= {"-", ":"} and len(mark) > 1):
            continue  # header / separator
        rows.append({"mark": mark, "before": before, "after": after, "ratio": ratio, "name": name})
    return rows
