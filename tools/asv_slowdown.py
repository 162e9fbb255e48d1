"""Done-when 3 of issue 6: an injected 10 % slowdown in one zoo module is caught by ``asv continuous``.

In a scratch repo (never /work/main's history): commit 1 is the working tree,
commit 2 appends to ``torchperf/zoo/cnn.py`` a wrapper that busy-waits for
10 % of each ``CNN.forward`` call's own duration (so every CNN call is 10 %
slower, whatever its size). ``asv continuous --factor 1.05 --bench latency_``
must then report a significant regression for the CNN latency benchmarks
(cnn-naive and cnn-im2col, every batch size) and for nothing else.

Cost reductions (stated in the output): one virtualenv (NumPy 2.4.6 cell),
the ``latency_`` benchmarks, zoo models limited to ``--models``.

usage: python tools/asv_slowdown.py [--models mlp,mlp-int8,cnn-naive,cnn-im2col,attn-kvcache] [--work DIR]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from asv_common import asv, machine, make_repo, parse_compare, single_env_conf, workdirs

from torchperf.asvbench.scratch import commit_all, git

PATCH = '''

# --- injected by tools/asv_slowdown.py: every CNN.forward call takes 10 % longer ---
import time as _tp_time  # noqa: E402

_tp_orig_forward = CNN.forward


def _tp_slow_forward(self, x):
    t0 = _tp_time.perf_counter()
    out = _tp_orig_forward(self, x)
    end = _tp_time.perf_counter() + 0.10 * (_tp_time.perf_counter() - t0)
    while _tp_time.perf_counter() < end:
        pass
    return out


CNN.forward = _tp_slow_forward
'''


def rounds_subsets(repo: Path, base: str, slow: str, ks: list[int], factor: float) -> dict:
    """What ``asv continuous`` would have said with only the first ``k`` rounds.

    asv stores a latency benchmark's samples in round order (one block median per
    round with the default ``blocks = 1``), so the first ``k`` samples are exactly
    the result of running ``rounds = k``. The decision is asv's own: ratio of medians
    beyond ``factor`` and ``asv._stats.is_different`` (Mann-Whitney U, p < 0.002).
    """
    import statistics

    from asv._stats import is_different

    from torchperf.history.loader import load_results

    df = load_results(repo / ".asv" / "results")
    df = df[df["benchmark"].str.contains("latency_") & df["samples"].notna()]
    out: dict[str, dict] = {}
    for k in ks:
        affected = flagged_aff = 0
        false_alarms = []
        for (bench, params), g in df.groupby(["benchmark", "param_str"]):
            by = {c[:8]: s for c, s in zip(g["commit"], g["samples"], strict=True)}
            a, b = by.get(base[:8]), by.get(slow[:8])
            if a is None or b is None or len(a) < k or len(b) < k:
                continue
            a, b = a[:k], b[:k]
            ratio = statistics.median(b) / statistics.median(a)
            flagged = ratio > factor and is_different(a, b, None, None)
            is_aff = "latency_forward" in bench and "'cnn-" in params
            affected += is_aff
            flagged_aff += bool(flagged and is_aff)
            if flagged and not is_aff:
                false_alarms.append(f"{bench}({params}) {ratio:.3f}")
        out[str(k)] = {"affected": affected, "affected_flagged": flagged_aff, "false_alarms": false_alarms}
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", default="mlp,mlp-int8,cnn-naive,cnn-im2col,attn-kvcache",
                    help="TORCHPERF_ASV_MODELS subset; 'all' = the whole zoo (whole latency suite)")
    ap.add_argument("--factor", default="1.05")
    ap.add_argument("--numpy", default="2.4.6", choices=["1.26.4", "2.4.6"])
    ap.add_argument("--rounds", type=int, default=0, help="override rounds (asv -a rounds=N)")
    ap.add_argument("--subsets", default="8,10",
                    help="also report asv's own test on only the first k rounds of the stored samples")
    ap.add_argument("--reuse", action="store_true", help="reuse WORK/repo (commits and environment)")
    ap.add_argument("--work", type=Path, default=None)
    args = ap.parse_args()
    work, home = workdirs(args.work, "tp-asv-slow-")
    extra_env = {"TORCHPERF_ASV_MODELS": args.models} if args.models not in ("", "all") else {}
    t0 = time.perf_counter()
    if args.reuse and (work / "repo").is_dir():
        repo = work / "repo"
        slow, base = git(repo, "rev-list", "-n", "2", "HEAD").split()
    else:
        repo, _ = make_repo(work, n_extra_commits=0)
        single_env_conf(repo, args.numpy)
        base = commit_all(repo, "single asv environment")
        cnn = repo / "torchperf" / "zoo" / "cnn.py"
        cnn.write_text(cnn.read_text() + PATCH)
        slow = commit_all(repo, "THROWAWAY: 10% slower CNN.forward")
    machine(repo, home)
    extra = ["-a", f"rounds={args.rounds}"] if args.rounds else []
    proc, dt = asv(
        repo, home, "continuous", "--factor", args.factor, "--bench", "latency_", "--no-only-changed", *extra,
        base, slow, env=extra_env, check=False,
    )
    (work / "continuous.txt").write_text(proc.stdout + proc.stderr)
    rows = parse_compare(proc.stdout)
    flagged = [r for r in rows if r["mark"] == "+"]
    other = [r for r in rows if r["mark"] in ("-", "!")]
    # the affected series: every zoo forward benchmark of a CNN model (any batch size)
    affected = [r for r in rows if "latency_forward" in r["name"] and "'cnn-" in r["name"]]
    flagged_cnn = [r for r in flagged if r in affected]
    false_alarms = [r for r in flagged if r not in flagged_cnn] + other
    ok = proc.returncode == 1 and bool(affected) and len(flagged_cnn) == len(affected) and not false_alarms
    print(proc.stdout[-4000:])
    summary = {
        "continuous_exit": proc.returncode, "factor": args.factor,
        "flagged": flagged, "false_alarms": false_alarms,
        "expected_flagged": len(affected), "compared": len(rows), "pass": ok,
        "environment": f"virtualenv py3.11 numpy {args.numpy} (one matrix cell)",
        "models": args.models, "rounds": args.rounds or "default (8)", "wall_s": round(time.perf_counter() - t0, 1),
        "continuous_s": round(dt, 1), "work": str(work),
    }
    summary["rounds_subsets"] = rounds_subsets(
        repo, base, slow, [int(k) for k in args.subsets.split(",") if k], float(args.factor),
    )
    for k, res in summary["rounds_subsets"].items():
        print(f"first {k} rounds only: {res['affected_flagged']}/{res['affected']} affected flagged, "
              f"{len(res['false_alarms'])} false alarms {res['false_alarms']}")
    (work / "slowdown_summary.json").write_text(json.dumps(summary, indent=2))
    print(json.dumps({k: v for k, v in summary.items() if k != "flagged"}, indent=2))
    print(f"{len(flagged_cnn)}/{summary['expected_flagged']} CNN latency series flagged, "
          f"{len(false_alarms)} false alarms: {'PASS' if ok else 'FAIL'}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
