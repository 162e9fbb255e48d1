"""Done-when 1 of issue 6: a full ``asv run`` over the last two commits in both NumPy environments.

Copies the working tree into a scratch git repo (two commits, so /work/main's
git state is never touched), then runs exactly the documented workflow:
``asv machine --yes``, ``asv run HEAD~2..HEAD`` (builds one virtualenv per
NumPy version of the matrix), ``asv compare``, ``asv publish``. Prints wall
times and, per commit and environment, how many values were recorded, failed
or skipped, plus the environment facts torchperf stored.

usage: python tools/asv_full_run.py [--work DIR] [--bench REGEX] [--quick]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from asv_common import asv, machine, make_repo, summarize_results, workdirs

from torchperf.asvbench.scratch import git


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--work", type=Path, default=None, help="scratch directory (default: a temp dir)")
    ap.add_argument("--bench", default=None, help="asv --bench regex (default: whole suite)")
    ap.add_argument("--quick", action="store_true", help="asv run --quick (one process per benchmark)")
    ap.add_argument("--reuse", action="store_true",
                    help="reuse WORK/repo and its environments from an earlier (interrupted) run")
    args = ap.parse_args()
    work, home = workdirs(args.work, "tp-asv-full-")
    t_all = time.perf_counter()
    if args.reuse and (work / "repo").is_dir():
        repo = work / "repo"
        shas = git(repo, "rev-list", "-n", "2", "HEAD").split()[::-1]
    else:
        repo, shas = make_repo(work, n_extra_commits=2)
        shas = shas[1:]  # the last two commits
    print(f"scratch repo {repo}: commits {[s[:8] for s in shas]}")
    machine(repo, home)
    run_args = ["run", "HEAD~2..HEAD", "--show-stderr"]
    if args.bench:
        run_args += ["--bench", args.bench]
    if args.quick:
        run_args.append("--quick")
    proc, t_run = asv(repo, home, *run_args, check=False)
    (work / "asv_run.log").write_text(proc.stdout + proc.stderr)
    _, t_cmp = asv(repo, home, "compare", shas[0], shas[1], "--split")
    cmp_out, _ = asv(repo, home, "compare", shas[0], shas[1])
    (work / "asv_compare.txt").write_text(cmp_out.stdout)
    _, t_pub = asv(repo, home, "publish")
    results_dir = repo / ".asv" / "results"
    summary = summarize_results(results_dir)
    env_files = sorted(results_dir.glob("*/torchperf-env/*.tpenv"))
    total = time.perf_counter() - t_all
    report = {
        "asv_run_exit": proc.returncode,
        "wall_s": {"asv_run": round(t_run, 1), "compare": round(t_cmp, 1),
                   "publish": round(t_pub, 1), "total": round(total, 1)},
        "results": summary,
        "env_records": [
            {"file": f.name, "numpy": json.loads(f.read_text())["facts"]["numpy_version"],
             "blas": [(b.get("internal_api"), b.get("version"), b.get("num_threads"))
                      for b in json.loads(f.read_text())["facts"].get("blas", [])]}
            for f in env_files
        ],
        "html_index": str(repo / ".asv" / "html" / "index.html"),
    }
    print(json.dumps(report, indent=2))
    (work / "report.json").write_text(json.dumps(report, indent=2))
    failed = sum(r["failed"] for r in summary.values())
    ok = proc.returncode == 0 and failed == 0 and len(summary) == 4
    print("FULL RUN OK" if ok else "FULL RUN HAS PROBLEMS", f"(scratch dir {work})")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
