#!/usr/bin/env python
"""A/A false alarms of ``torchperf run`` by number of worker processes per model.

The same NumPy function is benchmarked twice, as two models ``a`` and ``b``
(what ``torchperf run mymod:f mymod:f`` does), with ``processes`` = 1, 2, 3 ...
worker processes per model; the suite's latency comparison (``b`` vs baseline
``a``, the comparison ``torchperf run`` reports) should never call identical
code a regression or an improvement. A "false alarm" is a repetition whose
verdict is either. Repetitions of all process counts are interleaved so that
machine load affects each count alike.

Prints one row per process count and the machine's load average before and
after; ``--json FILE`` writes the raw verdicts and ratios.

Usage: nice -n 10 python tools/run_aa.py [--reps 20] [--processes 1,2,3] [--runs 10]
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
import warnings

import numpy as np

_W = np.random.default_rng(0).standard_normal((256, 256)).astype(np.float32)


def workload(x: np.ndarray) -> np.ndarray:
    """A small dense layer: ~10-50 µs per call."""
    return np.tanh(x.reshape(len(x), -1) @ _W)


def one_rep(processes: int, runs: int, warmup: int) -> dict[str, object]:
    from torchperf.suite import BenchmarkSuite

    with tempfile.TemporaryDirectory() as out, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        suite = BenchmarkSuite(
            {"a": workload, "b": workload}, None, out,
            warmup_runs=warmup, measurement_runs=runs, metrics=("latency",),
            input_shape=(8, 256), benchmark_kwargs={"processes": processes},
        )  # fmt: skip
        suite.run_full_benchmark()
        (entry,) = suite.comparisons()
    return {
        "processes": processes,
        "verdict": entry["verdict"],
        "ratio": entry["ratio"],
        "ci": [entry["ci_low"], entry["ci_high"]],
        "p_adjusted": entry["p_adjusted"],
        "method": entry["method"],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=20)
    ap.add_argument("--processes", default="1,2,3")
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--json")
    args = ap.parse_args()
    counts = [int(k) for k in args.processes.split(",")]
    load_before = open("/proc/loadavg").read().split()[:3] if os.path.exists("/proc/loadavg") else []
    start = time.perf_counter()
    rows: list[dict[str, object]] = []
    for _ in range(args.reps):
        for k in counts:
            rows.append(one_rep(k, args.runs, args.warmup))
    wall = time.perf_counter() - start
    load_after = open("/proc/loadavg").read().split()[:3] if os.path.exists("/proc/loadavg") else []
    print(f"A/A: one NumPy function as models a and b; {args.reps} repetitions per process count,"
          f" {args.runs} samples per process, warmup {args.warmup}")
    print(f"{'processes':>9}  {'false alarms':>12}  {'ratio min..max':>16}  method")
    for k in counts:
        mine = [r for r in rows if r["processes"] == k]
        alarms = sum(r["verdict"] in ("regression", "improvement") for r in mine)
        ratios = [float(r["ratio"]) for r in mine]
        print(f"{k:>9}  {alarms:>5} of {len(mine):<4}  {min(ratios):7.3f}..{max(ratios):<7.3f}"
              f"  {mine[0]['method']}")
    print(f"load average (1, 5, 15 min) before: {' '.join(load_before)}; after: "
          f"{' '.join(load_after)}; {os.cpu_count()} logical cores; {wall:.0f} s")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"rows": rows, "load_before": load_before, "load_after": load_after,
                       "wall_s": wall}, fh, indent=1)


if __name__ == "__main__":
    main()
