"""Tests for torchperf.memory: peak memory of one call, isolated from setup."""

from __future__ import annotations

import json
import sys
import time
import tracemalloc

import numpy as np
import pytest

from torchperf import memory
from torchperf.errors import InvalidParameterError, MissingDependencyError, ModelError
from torchperf.memory import MemoryMeasurement, available_memory_methods, measure_peak_memory

MB80 = 80_000_000
N80 = MB80 // 8  # float64 elements in 80 MB


def allocate_and_free_80mb() -> float:
    a = np.ones(N80)  # 80 MB, every page touched
    total = float(a.sum())
    del a
    return total


def test_tracemalloc_80mb_within_2_percent_regardless_of_setup():
    """Done-when 3: the setup's allocations (kept and freed) never count."""
    kept = [np.ones(N80 // 4) for _ in range(3)]  # 60 MB alive during the call
    freed = np.ones(N80 * 2)  # 160 MB allocated then freed before the call
    del freed
    m = measure_peak_memory(allocate_and_free_80mb)
    assert m.method == "tracemalloc"
    assert abs(m.peak_bytes - MB80) <= 0.02 * MB80, m
    assert "tracemalloc" in m.notes
    assert not tracemalloc.is_tracing()  # we stopped what we started
    del kept


def test_tracemalloc_when_already_tracing_setup_is_excluded():
    tracemalloc.start()
    try:
        setup = np.ones(N80)  # traced, alive during the call
        m = measure_peak_memory(allocate_and_free_80mb)
        assert abs(m.peak_bytes - MB80) <= 0.02 * MB80
        assert m.baseline_bytes >= MB80  # the setup array is in the baseline, not the peak
        assert tracemalloc.is_tracing()  # left as we found it
        assert "already tracing" in m.notes
        del setup
    finally:
        tracemalloc.stop()


def test_returned_value_counts_toward_peak():
    m = measure_peak_memory(lambda: np.ones(N80 // 2))
    assert abs(m.peak_bytes - MB80 / 2) <= 0.02 * MB80 / 2


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="RSS figures checked on Linux")
def test_rss_80mb_reported_with_caveats():
    m = measure_peak_memory(allocate_and_free_80mb, method="rss")
    assert m.method == "rss"
    assert 0.9 * MB80 <= m.peak_bytes <= 1.3 * MB80, m
    assert "untouched" in m.notes and "page" in m.notes


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="RSS figures checked on Linux")
def test_rss_caveat_untouched_pages_do_not_count():
    """np.empty reserves 80 MB but touches none of it: tracemalloc sees it, RSS does not."""

    def reserve():
        return np.empty(N80)

    traced = measure_peak_memory(reserve)
    resident = measure_peak_memory(reserve, method="rss")
    assert traced.peak_bytes >= 0.98 * MB80
    assert resident.peak_bytes < 0.25 * MB80


def test_rss_sampling_fallback(monkeypatch):
    monkeypatch.setattr(memory, "_reset_hwm", lambda: False)

    def hold():
        a = np.ones(N80)
        time.sleep(0.05)  # long enough for the 1 ms sampler
        return float(a[0])

    m = measure_peak_memory(hold, method="rss")
    assert m.method == "rss" and "sampled" in m.notes
    assert 0.8 * MB80 <= m.peak_bytes <= 1.5 * MB80


def test_auto_reports_largest_and_others():
    m = measure_peak_memory(allocate_and_free_80mb, method="auto")
    assert m.method in {"tracemalloc", "rss"}
    assert m.others and set(m.others) | {m.method} >= {"tracemalloc", "rss"}
    assert m.peak_bytes >= max(m.others.values())
    assert abs(m.peak_bytes - MB80) <= 0.3 * MB80


def test_measurement_is_json_ready():
    m = measure_peak_memory(lambda: np.ones(1000))
    d = json.loads(json.dumps(m.to_dict()))
    assert d["method"] == "tracemalloc" and d["peak_bytes"] == m.peak_bytes
    assert m.peak_mb == pytest.approx(m.peak_bytes / 1e6)
    assert isinstance(m, MemoryMeasurement)


def test_errors():
    with pytest.raises(InvalidParameterError, match="method"):
        measure_peak_memory(lambda: None, method="psutil")
    with pytest.raises(InvalidParameterError, match="callable"):
        measure_peak_memory(np.ones(3))

    def boom():
        raise ValueError("bad input shape")

    with pytest.raises(ModelError, match="bad input shape"):
        measure_peak_memory(boom)
    assert not tracemalloc.is_tracing()  # stopped even though fn raised


def test_available_methods():
    methods = available_memory_methods()
    assert methods[:2] == ["tracemalloc", "rss"]


def test_torch_methods_without_torch(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)  # makes `import torch` fail
    for method in ("torch-cpu", "torch-cuda"):
        with pytest.raises(MissingDependencyError, match="PyTorch"):
            measure_peak_memory(lambda: None, method=method)


@pytest.mark.torch
@pytest.mark.slow
def test_torch_cpu_counts_torch_allocations():
    torch = pytest.importorskip("torch", reason="PyTorch not installed")

    def step():
        a = torch.ones(N80)  # 40 MB float32
        b = a * 2  # another 40 MB while a is alive
        del a
        return float(b.sum())

    m = measure_peak_memory(step, method="torch-cpu")
    assert m.method == "torch-cpu"
    assert abs(m.peak_bytes - MB80) <= 0.02 * MB80, m
    # tracemalloc does not see torch's native allocator
    assert measure_peak_memory(step).peak_bytes < 0.05 * MB80


@pytest.mark.torch
def test_torch_cuda_needs_a_gpu():
    torch = pytest.importorskip("torch", reason="PyTorch not installed")
    if torch.cuda.is_available():
        x = torch.ones(N80, device="cuda")  # 40 MB float32
        m = measure_peak_memory(lambda: x * 2, method="torch-cuda")
        assert m.method == "torch-cuda"
        assert abs(m.peak_bytes - MB80 / 2) <= 0.02 * MB80 / 2
    else:
        with pytest.raises(InvalidParameterError, match="CUDA"):
            measure_peak_memory(lambda: None, method="torch-cuda")


def test_torch_cpu_method_writes_nothing_to_the_terminal(capfd):
    """Regression: torch.profiler's kineto printed 'USDT: profiler_start' to fd 2 per call."""
    torch = pytest.importorskip("torch", reason="PyTorch is not installed")
    net = torch.nn.Linear(8, 8)
    x = torch.randn(2, 8)
    capfd.readouterr()
    m = measure_peak_memory(lambda: net(x), method="torch-cpu")
    out, err = capfd.readouterr()
    assert m.peak_bytes > 0 and "USDT" not in err and "profiler" not in err and out == ""
    print("stderr still works", file=sys.stderr)
    assert "stderr still works" in capfd.readouterr().err
