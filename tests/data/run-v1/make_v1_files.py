"""How the version-1 run files next to this script were written (kept for the record).

They are real output of earlier torchperf versions, not hand-written:

* ``results-first-layout.json``: torchperf at commit 3bc53fd (before the environment was
  stored once per run: every result repeats it; no ``not_applicable``)::

      git archive 3bc53fd torchperf | tar -x -C /tmp/old
      PYTHONPATH=/tmp/old python tests/data/run-v1/make_v1_files.py /tmp/out0

* ``results.json``: torchperf at commit 3063b29 (the last version-1 writer)::

      PYTHONPATH=<checkout of 3063b29> python tests/data/run-v1/make_v1_files.py /tmp/out

tests/test_runfile.py loads both with the current torchperf.
"""

import sys
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tests"))
from test_suite import Broken, Tiny, dataset

import torchperf.environment as envmod
from torchperf.suite import BenchmarkSuite


class Generator(Tiny):
    task = "generation"


ENV = {
    "machine": "v1-fixture",
    "python": {"version": "3.11.7"},
    "numpy": {"version": np.__version__},
    "blas": [{"internal_api": "openblas", "version": "0.3.31", "num_threads": 1}],
    "git": {"commit": "fba00c0"},
}

if __name__ == "__main__":
    envmod.collect_environment = lambda **kw: dict(ENV)  # small and free of host details
    models = {
        "base": Tiny("base", seed=5, noise=0.3),
        "other": Tiny("other", seed=3, noise=0.5),
        "broken": Broken("broken"),
        "gen": Generator("gen"),
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        suite = BenchmarkSuite(
            models, dataset(), sys.argv[1], warmup_runs=1, measurement_runs=5,
            metrics=("latency", "accuracy", "size"), benchmark_kwargs={"number": 1},
        )
        suite.run_full_benchmark()
