"""tools/scoreboard.py cannot rot: its generator and torchperf's scoring on a tiny configuration."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np

TOOL = Path(__file__).resolve().parents[1] / "tools" / "scoreboard.py"


def _load():
    spec = importlib.util.spec_from_file_location("scoreboard", TOOL)
    mod = importlib.util.module_from_spec(spec)
    sys.modules["scoreboard"] = mod  # dataclasses look their module up there
    spec.loader.exec_module(mod)
    return mod


def test_generator_truth_and_torchperf_scoring_on_a_tiny_configuration():
    sb = _load()
    series = sb.generate(0, scale=0.2)
    kinds = {s.case for s in series}
    assert {"flat", "bump", "drift", "bimodal", "step-near-start", "step-one-env", "short"} <= kinds
    for s in series:  # ground truth inside the series, stored CI around the value
        assert all(2 <= t <= s.values.size - 2 for t in s.truth)
        assert np.all(s.ci_low < s.values) and np.all(s.values < s.ci_high)
    res = sb.run([0], scale=0.2, otava=None, use_asv=False, with_fixtures=False)
    tp = res["generated"]["totals"]["torchperf"]
    assert tp.n_true == sum(len(s.truth) for s in series)
    assert tp.exact >= 0.6 * tp.n_true and tp.within1 >= tp.exact
    assert tp.false_free <= 2 and tp.n_free == sum(not s.truth for s in series)
    text = sb.table(res["generated"]["totals"]) + sb.case_table(res["generated"]["cases"])
    assert "| torchperf |" in text and "bump" in text


def test_scoring_counts_exact_within_one_and_false_findings():
    sb = _load()
    sc = sb.Score()
    sc.add([10, 20], [10, 21, 40])
    sc.add([], [5])
    assert (sc.n_true, sc.exact, sc.within1, sc.extra, sc.n_free, sc.false_free) == (2, 1, 2, 1, 1, 1)
