"""How often does a printed ratio CI contradict the p-value beside it? Before and after rule 7.

Simulates comparisons shaped like torchperf's (3 worker processes x 10 samples per model,
per-process level noise; a mix of no change and 2-10 % slowdowns) and counts the trials in
which the 95 % ratio interval excludes 1 while p >= 0.05, or includes 1 while p < 0.05:

* **before** (torchperf 0.1's suite / ``compare_runs``): the percentile bootstrap of the
  ratio of per-process medians (``compare_samples(ci_method="bootstrap-percentile")`` on
  the 3 + 3 medians) beside the Welch p-value on their logs;
* **after**: :func:`torchperf.comparison.compare_results` (the Welch interval of the same
  test).

Usage::

    python tools/ci_verdict_agreement.py [--trials 400] [--seed 0]

The figures in docs/statistics.md (rule 7) come from the default arguments.
"""

from __future__ import annotations

import argparse
import warnings

import numpy as np

from torchperf import stats
from torchperf.comparison import compare_results
from torchperf.result import BenchmarkResult


def _result(rng: np.random.Generator, level: float, processes: int, per: int) -> BenchmarkResult:
    offsets = rng.normal(level, 0.03, processes)
    values = np.concatenate([rng.lognormal(o, 0.01, per) for o in offsets]) * 1e-3
    meta = {"processes": processes, "replicate_sizes": [per] * processes}
    return BenchmarkResult("latency", values, meta, unit="s")


def main(argv: list[str] | None = None) -> int:
    """Run the simulation and print one line per procedure."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=400)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--processes", type=int, default=3)
    args = ap.parse_args(argv)
    rng = np.random.default_rng(args.seed)
    before = after = 0
    for i in range(args.trials):
        shift = float(rng.choice([0.0, 0.02, 0.05, 0.10]))
        base = _result(rng, 0.0, args.processes, 10)
        cand = _result(rng, np.log1p(shift), args.processes, 10)
        mb = [float(np.median(g)) for g in base.replicate_groups()]
        mc = [float(np.median(g)) for g in cand.replicate_groups()]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            old = stats.compare_samples(mb, mc, ci_method="bootstrap-percentile", rng=i)
        before += (old.p_value < 0.05) != (old.ci_low > 1 or old.ci_high < 1)
        new = compare_results(base, cand)
        after += (new.p < 0.05) != new.excludes_one
    print(f"trials: {args.trials} ({args.processes} processes x 10 samples per side, seed {args.seed})")
    print(f"before (bootstrap CI of medians beside Welch p): {before} contradict ({before / args.trials:.1%})")
    print(f"after  (compare_results, one procedure):         {after} contradict ({after / args.trials:.1%})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
