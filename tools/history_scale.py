"""Measure change-point analysis time on a large synthetic history (Done-when: 2,000 x 200 < 10 s).

Builds a tidy frame shaped exactly like :func:`torchperf.history.load_results`
output with ``--revisions`` revisions x ``--series`` series (log-normal noise
of 2%, occasional 5x outliers, slow drift in a tenth of the series and one
injected 10% step in a fifth of them), then times
:func:`torchperf.history.detect_change_points` on it (best of ``--repeat``),
and reports how many injected steps were found at the right commit.

Usage::

    python tools/history_scale.py [--revisions 2000] [--series 200] [--repeat 3]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from torchperf.history import detect_change_points


def make_history(n_rev: int, n_series: int, seed: int = 0) -> tuple[pd.DataFrame, dict[int, int]]:
    rng = np.random.default_rng(seed)
    commits = [f"{i:040x}" for i in range(n_rev)]
    dates = pd.Timestamp("2024-01-01", tz="UTC") + pd.to_timedelta(np.arange(n_rev), unit="h")
    frames = []
    truth: dict[int, int] = {}
    t = np.arange(n_rev)
    for s in range(n_series):
        y = np.log(1e-3 * (1 + s % 7)) + rng.normal(0, 0.02, n_rev)
        spikes = rng.random(n_rev) < 0.005
        y[spikes] += np.log(5.0)
        if s % 10 == 3:
            y += 0.0001 * t  # slow drift (2% per 200 revisions)
        if s % 5 == 0:
            k = int(rng.integers(50, n_rev - 50))
            y[k:] += np.log(1.10)
            truth[s] = k
        frames.append(
            pd.DataFrame(
                {
                    "machine": "scale-box",
                    "env_name": "virtualenv-py3.11",
                    "commit": commits,
                    "date": dates,
                    "revision": t,
                    "benchmark": f"bench.Suite.time_s{s:03d}",
                    "params": [()] * n_rev,
                    "param_str": "",
                    "value": np.exp(y),
                    "unit": "seconds",
                    "lower_is_better": True,
                    "version_current": True,
                }
            )
        )
    return pd.concat(frames, ignore_index=True), truth


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--revisions", type=int, default=2000)
    ap.add_argument("--series", type=int, default=200)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    df, truth = make_history(args.revisions, args.series)
    times = []
    cps = []
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        cps = detect_change_points(df)
        times.append(time.perf_counter() - t0)
    found = 0
    false = 0
    for cp in cps:
        s = int(cp.benchmark[-3:])
        if s in truth and cp.revision_after == truth[s]:
            found += 1
        else:
            false += 1
    print(
        f"{args.revisions} revisions x {args.series} series ({len(df)} rows): "
        f"detect_change_points best {min(times):.2f} s (runs: "
        + ", ".join(f"{x:.2f}" for x in times)
        + f"); injected 10% steps found at the exact commit: {found}/{len(truth)}; "
        f"other change points: {false}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
