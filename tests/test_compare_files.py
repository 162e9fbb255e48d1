"""torchperf compare on results files / run directories (issue 16.2, the results-file half)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from torchperf import cli
from torchperf.result import BenchmarkResult
from torchperf.suite import save_run


def _run(path, scale, models=("a", "b", "c")):
    rng = np.random.default_rng(int(scale * 1000))
    results = {"latency": {m: BenchmarkResult("latency", 1e-3 * s * rng.lognormal(0, 0.01, 20),
                                              {}, unit="s")
                           for m, s in zip(models, (1.0, scale, 1.0 / scale), strict=True)}}  # fmt: skip
    return save_run(path, results, models=list(models))


def test_values_units_threshold_split_sort_only_changed(tmp_path, capsys):
    a, b = _run(tmp_path / "a" / "results.json", 1.0), _run(tmp_path / "b" / "results.json", 1.5)
    code = cli.main(["compare", str(tmp_path / "a"), str(tmp_path / "b"), "--split", "--sort", "ratio"])
    out = capsys.readouterr().out
    assert code == 1  # b is 1.5x slower: a significant regression
    assert "Regressions:" in out and "Improvements:" in out and " ms " in out and "ratio CI" in out
    assert out.index("Regressions:") < out.index("Improvements:")
    # asv's --factor: a 1.5x change is within a factor of 2
    code = cli.main(["compare", str(a), str(b), "--factor", "2", "--only-changed"])
    out = capsys.readouterr().out
    assert code == 0 and "No significant change" in out
    code = cli.main(["compare", str(a), str(b), "--threshold", "0.05", "--format", "json",
                     "--only-changed"])  # fmt: skip
    rows = json.loads(capsys.readouterr().out)
    assert {r["model"]: r["verdict"] for r in rows} == {"b": "regression", "c": "improvement"}


def test_nothing_in_common_is_exit_2(tmp_path, capsys):
    a = _run(tmp_path / "a.json", 1.0, models=("a", "b", "c"))
    b = _run(tmp_path / "b.json", 1.0, models=("x", "y", "z"))
    assert cli.main(["compare", str(a), str(b)]) == 2
    assert "no (metric, model) result in common" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cli.main(["compare", str(a), str(b), "--factor", "abc"])
    assert cli.main(["compare", str(a), str(a), "--factor", "1.1", "--threshold", "0.1"]) == 2
    assert cli.main(["compare", str(a), str(a), "--factor", "0.5"]) == 2
