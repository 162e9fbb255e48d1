"""Workloads of ``tools/ab_study.py`` and the README's ``torchperf ab`` example.

Two workloads with a size knob, so that slowdowns of +2 %, +5 % and +10 % are real
code changes (more work), not injected sleeps:

* ``mlp_<pct>``: ``pct`` forward passes of a small NumPy two-layer MLP (1 x 128 inputs,
  64 hidden, 10 outputs), about 300 us per call on the development machine (a width knob
  was tried first: BLAS blocking made 816 hidden units 11 % slower than 800, not 2 %);
* ``loop_<pct>``: a pure-Python loop of ``2200 * pct / 100`` iterations, about 110 us.

``pct`` is 100 (baseline), 102, 105 or 110. Each is a zero-argument callable, a valid
``torchperf ab`` target (``tools.ab_workloads:loop_105`` from the repository root).
The slowdowns are verified by measurement in ``tools/ab_study.py``, not assumed.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

PCTS = (100, 102, 105, 110)
MLP_REPS = 100
LOOP_N = 2200


# One set of arrays for every variant: separately allocated copies can differ in memory
# alignment, and BLAS speed with them (in the study, 105 passes over their own arrays ran
# 4 % *faster* than 100 passes over another allocation of the same values).
_RNG = np.random.default_rng(0)
_X = _RNG.standard_normal((1, 128))
_W1 = _RNG.standard_normal((128, 64)) / 11
_W2 = _RNG.standard_normal((64, 10)) / 8


def _mlp(pct: int) -> Callable[[], float]:
    x, w1, w2 = _X, _W1, _W2
    reps = round(MLP_REPS * pct / 100)

    def mlp() -> float:
        out = 0.0
        for _ in range(reps):  # the size knob: forward passes per call, exactly linear work
            h = np.maximum(x @ w1, 0.0)
            out += float((h @ w2)[0, 0])
        return out

    mlp.__name__ = mlp.__qualname__ = f"mlp_{pct}"
    return mlp


def _loop(pct: int) -> Callable[[], int]:
    n = round(LOOP_N * pct / 100)

    def loop() -> int:
        total = 0
        for i in range(n):
            total += i * i
        return total

    loop.__name__ = loop.__qualname__ = f"loop_{pct}"
    return loop


for _pct in PCTS:
    globals()[f"mlp_{_pct}"] = _mlp(_pct)
    globals()[f"loop_{_pct}"] = _loop(_pct)
