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
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from asv_common import asv, machine, make_repo, parse_compare, single_env_conf

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


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", default="mlp,mlp-int8,cnn-naive,cnn-im2col,attn-kvcache")
    ap.add_argument("--factor", default="1.05")
    ap.add_argument("--numpy", default="2.4.6", choices=["1.26.4", "2.4.6"])
    ap.add_argument("--rounds", type=int, default=0, help="override rounds (asv -a rounds=N)")
    ap.add_argument("--reuse", action="store_true", help="reuse WORK/repo (commits and environment)")
    ap.add_argument("--work", type=Path, default=None)
    args = ap.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="tp-asv-slow-"))
    work.mkdir(parents=True, exist_ok=True)
    home = work / "home"
    home.mkdir(exist_ok=True)
    extra_env = {"TORCHPERF_ASV_MODELS": args.models} if args.models else {}
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
        repo, home, "continuous", "--factor", args.factor, "--bench", "latency_", *extra,
        base, slow, env=extra_env, check=False,
    )
    (work / "continuous.txt").write_text(proc.stdout + proc.stderr)
    rows = parse_compare(proc.stdout)
    flagged = [r for r in rows if r["mark"] == "+"]
    other = [r for r in rows if r["mark"] in ("-", "!")]
    expected_models = [m for m in args.models.split(",") if m.startswith("cnn")]
    expected = {f"'{m}'" for m in expected_models}
    flagged_cnn = [r for r in flagged if any(e in r["name"] for e in expected)]
    false_alarms = [r for r in flagged if r not in flagged_cnn] + other
    n_batches = 2
    ok = (
        proc.returncode == 1
        and len(flagged_cnn) == len(expected_models) * n_batches
        and not false_alarms
    )
    print(proc.stdout[-4000:])
    summary = {
        "continuous_exit": proc.returncode, "factor": args.factor,
        "flagged": flagged, "false_alarms": false_alarms,
        "expected_flagged": len(expected_models) * n_batches, "pass": ok,
        "environment": f"virtualenv py3.11 numpy {args.numpy} (one matrix cell)",
        "models": args.models, "rounds": args.rounds or "default (8)", "wall_s": round(time.perf_counter() - t0, 1),
        "continuous_s": round(dt, 1), "work": str(work),
    }
    (work / "slowdown_summary.json").write_text(json.dumps(summary, indent=2))
    print(json.dumps({k: v for k, v in summary.items() if k != "flagged"}, indent=2))
    print(f"{len(flagged_cnn)}/{summary['expected_flagged']} CNN latency series flagged, "
          f"{len(false_alarms)} false alarms: {'PASS' if ok else 'FAIL'}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
