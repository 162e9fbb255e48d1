"""How long must one replicate measure? The measuring window of ``Benchmark`` (docs/measurement.md 4a).

A ~600 ns NumPy call (``np.add`` of two 64-float32 vectors) is measured by ``Benchmark``
defaults (``number="auto"``, 5 warmup + 10 samples, one process) with several measuring
windows, in rounds; each round also runs a chunk of ``timeit`` (repeats of ~20 ms), and the
reference is the median per-call time over all those chunks: a long ``timeit`` interleaved
with the measurements, so that it saw the same machine states, once on the wall clock and
once on the thread's CPU time (what the call costs when it is not preempted: on a busy
machine a 20 ms wall-clock repeat mostly measures the wait for a core). The settings run
in a random order in every round.

    nice -n 10 python tools/measurement_window.py --runs 10 --windows 0,0.05,0.1,0.2,0.5

Window 0 is the former rule (one 0.2 ms block per sample: the whole measurement lasts a few
ms). Prints, per window: how many runs landed within 5 % of the reference, the median and
worst relative error, and the measuring time per replicate; and the load average.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
import timeit
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from torchperf import Benchmark

X = np.random.default_rng(0).standard_normal((1, 64)).astype(np.float32)


def add(x: np.ndarray) -> np.ndarray:
    """The ~600 ns NumPy call."""
    return np.add(x, x)


def timeit_chunk(seconds: float, clock: object = time.perf_counter) -> list[float]:
    """Per-call times of repeats of ~20 ms each, ``seconds`` in all, on ``clock``."""
    timer = timeit.Timer(lambda: add(X), timer=clock)
    number, took = timer.autorange()  # at least 0.2 s; aim for ~20 ms repeats
    number = max(1, int(0.02 * number / took))
    repeats = max(3, int(seconds / 0.02))
    return [t / number for t in timer.repeat(repeat=repeats, number=number)]


def benchmark_median(window: float) -> tuple[float, float, float]:
    """Median latency by Benchmark defaults with this window; (median, measuring s, blocks/sample)."""
    b = Benchmark({"add": add}, environment={}, window_s=window if window > 0 else None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # unstable-measurement warnings: the table says it
        r = b.run_latency_benchmark(example_input=X)["add"]
    meta = r.metadata
    return float(np.median(r.values)), float(meta["measuring_s_per_process"][0]), float(meta["blocks_per_sample"])


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=10)
    p.add_argument("--windows", default="0,0.05,0.1,0.2,0.5")
    p.add_argument("--ref-seconds", type=float, default=0.5, help="timeit per round")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    windows = [float(w) for w in args.windows.split(",")]
    rng = random.Random(args.seed)
    load_before = os.getloadavg()
    ref: list[float] = []
    ref_cpu: list[float] = []
    got: dict[float, list[tuple[float, float, float]]] = {w: [] for w in windows}
    start = time.perf_counter()
    for _ in range(args.runs):
        ref.extend(timeit_chunk(args.ref_seconds / 2))
        ref_cpu.extend(timeit_chunk(args.ref_seconds / 2, time.thread_time))
        order = windows[:]
        rng.shuffle(order)
        for w in order:
            got[w].append(benchmark_median(w))
    wall_ref = statistics.median(ref)
    cpu_ref = statistics.median(ref_cpu)
    load_after = os.getloadavg()
    print(f"reference: interleaved timeit, median of {len(ref)} repeats of ~20 ms: wall clock "
          f"{wall_ref * 1e9:.0f} ns/call; thread CPU time {cpu_ref * 1e9:.0f} ns/call")
    print(f"load average before {load_before[0]:.2f}, after {load_after[0]:.2f} (1 min); "
          f"{os.cpu_count()} cores; {time.perf_counter() - start:.0f} s")
    print("| window | within 5 % of CPU-time timeit | median abs. error | worst error | "
          "within 5 % of wall-clock timeit | measuring s / replicate | blocks / sample |")
    print("|---|---|---|---|---|---|---|")
    for w in windows:
        errs = [m / cpu_ref - 1 for m, _, _ in got[w]]
        wall_within = sum(abs(m / wall_ref - 1) <= 0.05 for m, _, _ in got[w])
        within = sum(abs(e) <= 0.05 for e in errs)
        worst = max(errs, key=abs)
        meas = statistics.median(s for _, s, _ in got[w])
        blocks = statistics.median(b for _, _, b in got[w])
        label = "none (former rule)" if w == 0 else f"{w:g} s"
        print(f"| {label} | {within}/{len(errs)} | {100 * statistics.median(abs(e) for e in errs):.1f} % | "
              f"{100 * worst:+.1f} % | {wall_within}/{len(errs)} | {meas:.3f} | {blocks:g} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
