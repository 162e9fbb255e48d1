"""torch.utils.benchmark interop and torch thread control (issue 16.6)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from torchperf.benchmark import Benchmark
from torchperf.environment import collect_environment, thread_settings
from torchperf.errors import InvalidParameterError
from torchperf.result import BenchmarkResult


def numpy_linear(x):
    return x @ np.ones((x.shape[-1], 4), dtype=np.float32)


@pytest.mark.torch
def test_from_torch_measurement_keeps_times_and_task_spec():
    torch = pytest.importorskip("torch")
    import torch.utils.benchmark as tb

    timer = tb.Timer("x @ x", globals={"x": torch.ones(16, 16)}, label="matmul",
                     sub_label="16x16", description="ones", num_threads=1)  # fmt: skip
    m = timer.blocked_autorange(min_run_time=0.05)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = BenchmarkResult.from_torch_measurement(m)
    assert r.unit == "s" and r.lower_is_better and r.metric_name == "latency"
    np.testing.assert_allclose(r.values, m.times)
    assert r.median == pytest.approx(np.median(m.times))
    md = r.metadata
    assert md["number"] == m.number_per_run and md["model"] == "ones"
    assert md["torch_task_spec"]["stmt"] == "x @ x" and md["torch_num_threads"] == 1
    # and back: the same Measurement, usable by torch's Compare
    back = r.to_torch_measurement()
    np.testing.assert_allclose(back.times, m.times)
    assert back.number_per_run == m.number_per_run
    assert (back.task_spec.label, back.task_spec.sub_label, back.task_spec.description) == (
        "matmul", "16x16", "ones")
    assert "ones" in str(tb.Compare([m, back]))
    # a BenchmarkResult survives its JSON round trip with the torch metadata
    assert BenchmarkResult.from_dict(r.to_dict()).to_torch_measurement().times == pytest.approx(m.times)


@pytest.mark.torch
def test_torchperf_latency_to_torch_and_back():
    pytest.importorskip("torch")
    import torch.utils.benchmark as tb

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = Benchmark({"lin": numpy_linear}, warmup_runs=1, measurement_runs=5,
                      environment={}).run_latency_benchmark(input_shape=(1, 8))["lin"]  # fmt: skip
        m = r.to_torch_measurement()
        again = BenchmarkResult.from_torch_measurement(m)
    assert m.number_per_run == r.metadata["number"] and m.task_spec.description == "lin"
    np.testing.assert_allclose(m.times, r.values, rtol=1e-12)
    np.testing.assert_allclose(again.values, r.values, rtol=1e-12)
    assert "lin" in str(tb.Compare([m]))


def test_only_times_convert_and_garbage_is_rejected():
    size = BenchmarkResult("size", [100.0, 100.0], unit="B")
    with pytest.raises(InvalidParameterError, match="only times convert"):
        size.to_torch_measurement()
    with pytest.raises(InvalidParameterError, match=r"expected a torch\.utils\.benchmark Measurement"):
        BenchmarkResult.from_torch_measurement(object())


@pytest.mark.torch
def test_threads_are_controlled_and_recorded_for_torch():
    torch = pytest.importorskip("torch")
    before = torch.get_num_threads()
    net = torch.nn.Linear(8, 4)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        bench = Benchmark({"net": net}, warmup_runs=0, measurement_runs=3, environment={},
                          threads=1)  # fmt: skip
        lat = bench.run_latency_benchmark(input_shape=(1, 8))["net"]
        mem = bench.run_memory_benchmark(input_shape=(1, 8))["net"]
    for r in (lat, mem):
        threads = r.metadata["threads"]
        assert threads["requested"] == 1 and threads["torch"]["num_threads"] == 1
        assert all(n in (1, None) for n in threads["pools"].values())
    assert torch.get_num_threads() == before  # restored
    env = collect_environment(include_git=False)
    assert env["threads"]["torch"]["num_threads"] == before == env["torch"]["num_threads"]
    with pytest.raises(InvalidParameterError, match="threads"):
        Benchmark([numpy_linear], threads=0)


def test_default_threads_are_recorded_not_changed():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = Benchmark({"lin": numpy_linear}, warmup_runs=0, measurement_runs=3,
                      environment={}).run_latency_benchmark(input_shape=(1, 8))["lin"]  # fmt: skip
    threads = r.metadata["threads"]
    assert threads["requested"] is None and threads["pools"] == thread_settings()["pools"]


@pytest.mark.torch
def test_docs_torch_interop_example_runs_as_written(capsys):
    import re
    from pathlib import Path

    pytest.importorskip("torch")
    text = (Path(__file__).resolve().parents[1] / "docs" / "benchmark.md").read_text()
    block = re.search(r"<!-- torch-interop -->\s*```python\n(.*?)```", text, re.S).group(1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        exec(compile(block, "docs/benchmark.md", "exec"), {})
    out = capsys.readouterr().out
    assert "matmul" in out and "linear" in out and "'num_threads': 1" in out
