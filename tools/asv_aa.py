"""Done-when 2 of issue 6: A/A experiment with asv's own test on torchperf's ``latency_`` type.

The same tree is committed under 2 x ``--reps`` hashes; all of them are
benchmarked in ONE ``asv run --interleave-rounds --record-samples`` (rounds
alternate across commits, so machine drift hits every commit alike, and asv
stores the replicate-level samples); then each of the ``--reps`` disjoint
pairs is compared with ``asv compare --factor 1.0``, which must report no
significant change.

Cost reductions (stated in the output): one asv-managed virtualenv (the
NumPy 2.4.6 cell of the matrix, ``--numpy`` to choose), the ``latency_``
benchmarks only, optionally a subset of zoo models / batch sizes
(``--models``, ``--batches``).

usage: python tools/asv_aa.py [--reps 10] [--models a,b] [--batches 1,32] [--work DIR]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from asv_common import asv, machine, make_repo, parse_compare, single_env_conf, workdirs

from torchperf.asvbench.scratch import commit_all


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--reps", type=int, default=10)
    ap.add_argument("--models", default="", help="TORCHPERF_ASV_MODELS subset (default: all)")
    ap.add_argument("--batches", default="", help="TORCHPERF_ASV_BATCHES subset (default: 1,32)")
    ap.add_argument("--bench", default="latency_", help="asv --bench regex (default: latency_)")
    ap.add_argument("--numpy", default="2.4.6", choices=["1.26.4", "2.4.6"])
    ap.add_argument("--work", type=Path, default=None)
    args = ap.parse_args()
    work, home = workdirs(args.work, "tp-asv-aa-")
    extra_env = {}
    if args.models:
        extra_env["TORCHPERF_ASV_MODELS"] = args.models
    if args.batches:
        extra_env["TORCHPERF_ASV_BATCHES"] = args.batches
    t0 = time.perf_counter()
    repo, _ = make_repo(work, n_extra_commits=0)
    single_env_conf(repo, args.numpy)
    commit_all(repo, "single asv environment for the A/A experiment")
    pairs = []
    for r in range(args.reps):
        a = commit_all(repo, f"A/A {r} a (identical tree)")
        b = commit_all(repo, f"A/A {r} b (identical tree)")
        pairs.append((a, b))
    machine(repo, home)
    # ONE asv run over all 2 * reps commits, rounds interleaved across commits, so each
    # pair's two commits see the same machine conditions; then compare disjoint pairs.
    first, last = pairs[0][0], pairs[-1][1]
    proc, dt = asv(
        repo, home, "run", "--interleave-rounds", "--record-samples", "--bench", args.bench,
        f"{first}^..{last}", env=extra_env, check=False,
    )
    (work / "run.log").write_text(proc.stdout + proc.stderr)
    print(f"asv run over {2 * len(pairs)} commits: {dt:.0f} s, exit {proc.returncode}", flush=True)
    reps = []
    for r, (a, b) in enumerate(pairs):
        cmp_proc, _ = asv(repo, home, "compare", "--factor", "1.0", a, b, env=extra_env)
        (work / f"compare_{r}.txt").write_text(cmp_proc.stdout)
        rows = parse_compare(cmp_proc.stdout)
        sig = [row for row in rows if row["mark"] in ("+", "-")]
        failed = [row for row in rows if row["mark"] == "!" or row["after"] == "failed"]
        reps.append({"rep": r, "a": a[:8], "b": b[:8], "compared": len(rows),
                     "significant": sig, "failed": failed})
        print(f"rep {r}: {len(rows)} latency series compared, {len(sig)} significant, "
              f"{len(failed)} failed", flush=True)
        for row in sig:
            print(f"    {row['mark']} {row['ratio']} {row['name']}  ({row['before']} -> {row['after']})")
    clean = sum(1 for x in reps if not x["significant"] and x["compared"] > 0 and not x["failed"])
    summary = {
        "reps": args.reps, "clean_reps": clean, "pass": clean >= 9 * args.reps / 10,
        "environment": f"virtualenv py3.11 numpy {args.numpy} (one matrix cell)",
        "bench": args.bench, "models": args.models or "all", "batches": args.batches or "1,32",
        "wall_s": round(time.perf_counter() - t0, 1), "asv_run_s": round(dt, 1),
        "work": str(work), "details": reps,
    }
    (work / "aa_summary.json").write_text(json.dumps(summary, indent=2))
    print(f"A/A: {clean}/{args.reps} repetitions with no significant change "
          f"({'PASS' if summary['pass'] else 'FAIL'}: need >= 90%); wall {summary['wall_s']} s; {work}")
    return 0 if summary["pass"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
