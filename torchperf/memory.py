"""Peak memory of one call, isolated from import and setup.

Every figure says which method produced it, because the methods measure
different things:

==============  ==========================================  =====================================
method          counts                                      blind to
==============  ==========================================  =====================================
``tracemalloc`` Python-heap and NumPy data buffers (NumPy   native allocations that bypass
                reports its buffers to tracemalloc),        Python's allocator hooks: torch CPU
                byte-exact; the peak is reset right before  tensors, BLAS workspaces, C
                the call and the level before the call is   extensions' malloc
                subtracted, so setup never counts
``rss``         resident pages of the whole process: the    pages allocated but never touched
                high-water mark of RSS during the call      (``np.empty``), memory reused from
                minus RSS just before it                    the allocator's free lists, page
                                                            granularity (4 KiB); other threads
``torch-cpu``   torch CPU allocator events recorded by      non-torch allocations; adds profiler
                ``torch.profiler`` (``profile_memory=True``) overhead to the one call
``torch-cuda``  ``torch.cuda.max_memory_allocated`` after   host memory; memory cached but not
                ``reset_peak_memory_stats``                 allocated by the caching allocator
==============  ==========================================  =====================================

``auto`` runs ``tracemalloc`` and ``rss`` on separate calls (plus
``torch-cuda`` when torch is imported and CUDA is initialised) and reports
the largest figure, naming its method and listing the others in ``notes``.

RSS on Linux: the kernel's high-water mark ``VmHWM`` is reset through
``/proc/self/clear_refs`` (write ``5``, Linux >= 4.0) just before the call, so
the figure is the true peak during the call. Where that is impossible the
high-water mark is sampled by a background thread every millisecond (short
spikes can be missed). ``resource.getrusage().ru_maxrss`` is *not* used: it
is the peak over the whole process lifetime and cannot be reset, so it
includes setup (asv's ``peakmem_`` has this property).
"""

from __future__ import annotations

import contextlib
import gc
import os
import sys
import threading
import tracemalloc
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from typing import Any

from torchperf.errors import InvalidParameterError, MissingDependencyError, ModelError

__all__ = [
    "MEMORY_METHODS",
    "MemoryMeasurement",
    "available_memory_methods",
    "measure_peak_memory",
]

MEMORY_METHODS = ("tracemalloc", "rss", "torch-cpu", "torch-cuda", "auto")

_RSS_CAVEATS = (
    "RSS counts resident pages of the whole process: untouched allocations (np.empty) do "
    "not count, memory the allocator kept from setup is reused without raising RSS, other "
    "threads count, granularity is one page"
)


@dataclass(frozen=True)
class MemoryMeasurement:
    """Peak memory of one call.

    Attributes
    ----------
    peak_bytes : int
        Peak bytes above the level just before the call.
    method : str
        ``"tracemalloc"``, ``"rss"``, ``"torch-cpu"`` or ``"torch-cuda"``: what
        produced ``peak_bytes``.
    notes : str
        How the figure was obtained and its caveats.
    baseline_bytes : int or None
        The level the peak is measured from (traced, resident or allocated bytes
        just before the call).
    others : dict
        For ``method="auto"``: the other methods' figures, ``{method: peak_bytes}``.

    """

    peak_bytes: int
    method: str
    notes: str
    baseline_bytes: int | None = None
    others: dict[str, int] | None = None

    @property
    def peak_mb(self) -> float:
        """Peak in megabytes (10**6 bytes)."""
        return self.peak_bytes / 1e6

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict."""
        return asdict(self)


def _check_fn(fn: object) -> Callable[[], object]:
    if not callable(fn):
        raise InvalidParameterError(
            f"`fn` must be a zero-argument callable; got {type(fn).__name__}. "
            "Wrap the call, e.g. `lambda: model(x)`."
        )
    return fn


def _call(fn: Callable[[], object]) -> object:
    try:
        return fn()
    except Exception as exc:
        raise ModelError(
            f"the function being measured raised {type(exc).__name__}: {exc}"
        ) from exc


# ----------------------------------------------------------------------------------- tracemalloc
def _tracemalloc_peak(fn: Callable[[], object]) -> MemoryMeasurement:
    gc.collect()
    was_tracing = tracemalloc.is_tracing()
    if not was_tracing:
        tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        before, _ = tracemalloc.get_traced_memory()
        result = _call(fn)
        _, peak = tracemalloc.get_traced_memory()
        del result
    finally:
        if not was_tracing:
            tracemalloc.stop()
    return MemoryMeasurement(
        peak_bytes=max(0, peak - before),
        method="tracemalloc",
        notes=(
            "tracemalloc peak reset right before the call, minus traced bytes before it; "
            "counts Python objects and NumPy buffers (the returned value is alive at the "
            "peak), not native allocations such as torch CPU tensors or BLAS workspaces"
            + ("; tracemalloc was already tracing" if was_tracing else "")
        ),
        baseline_bytes=before,
    )


# ----------------------------------------------------------------------------------- RSS
def _status_kib(field: str) -> int | None:
    try:
        with open("/proc/self/status", encoding="ascii", errors="replace") as fh:
            for line in fh:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return None


def _reset_hwm() -> bool:
    """Reset the kernel's peak-RSS counter (Linux >= 4.0); False when not possible."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as fh:
            fh.write("5")
    except OSError:
        return False
    rss, hwm = _status_kib("VmRSS"), _status_kib("VmHWM")
    # after a reset the high-water mark equals the current RSS (allow a page of slack)
    return rss is not None and hwm is not None and hwm <= rss + 4


class _RssSampler(threading.Thread):
    """Poll RSS every ``interval_s`` in the background and keep the maximum."""

    def __init__(self, interval_s: float = 0.001) -> None:
        super().__init__(name="torchperf-rss-sampler", daemon=True)
        import psutil

        self._proc = psutil.Process()
        self._interval_s = interval_s
        self._stop_event = threading.Event()
        self.peak = int(self._proc.memory_info().rss)

    def run(self) -> None:
        while not self._stop_event.is_set():
            rss = int(self._proc.memory_info().rss)
            if rss > self.peak:
                self.peak = rss
            self._stop_event.wait(self._interval_s)

    def stop(self) -> int:
        self._stop_event.set()
        self.join()
        self.peak = max(self.peak, int(self._proc.memory_info().rss))
        return self.peak


def _rss_peak(fn: Callable[[], object]) -> MemoryMeasurement:
    gc.collect()
    if _reset_hwm():
        before_kib = _status_kib("VmRSS")
        result = _call(fn)
        hwm_kib = _status_kib("VmHWM")
        del result
        if before_kib is not None and hwm_kib is not None:
            return MemoryMeasurement(
                peak_bytes=max(0, (hwm_kib - before_kib) * 1024),
                method="rss",
                notes=(
                    "kernel RSS high-water mark (VmHWM) reset via /proc/self/clear_refs "
                    "right before the call, minus VmRSS before it; " + _RSS_CAVEATS
                ),
                baseline_bytes=before_kib * 1024,
            )
    try:
        sampler = _RssSampler()
    except ImportError as exc:
        raise MissingDependencyError(
            "method='rss' needs psutil on this platform (no resettable kernel high-water "
            "mark); install it with `pip install psutil` or use method='tracemalloc'."
        ) from exc
    before = sampler.peak
    sampler.start()
    try:
        result = _call(fn)
    finally:
        peak = sampler.stop()
    del result
    return MemoryMeasurement(
        peak_bytes=max(0, peak - before),
        method="rss",
        notes=(
            "RSS sampled every 1 ms by a background thread (no resettable kernel high-water "
            "mark here), maximum minus RSS before the call; spikes shorter than the sampling "
            "interval can be missed; " + _RSS_CAVEATS
        ),
        baseline_bytes=before,
    )


# ----------------------------------------------------------------------------------- torch
def _import_torch(method: str) -> Any:
    try:
        import torch
    except ImportError as exc:
        raise MissingDependencyError(
            f"method={method!r} needs PyTorch, which is not installed; install it "
            "(`pip install torch`) or use method='tracemalloc' or 'rss'."
        ) from exc
    return torch


def _torch_cuda_peak(fn: Callable[[], object]) -> MemoryMeasurement:
    torch = _import_torch("torch-cuda")
    if not torch.cuda.is_available():
        raise InvalidParameterError(
            "method='torch-cuda' needs a CUDA device, but torch.cuda.is_available() is False "
            "(CPU-only build or no GPU); use method='torch-cpu', 'rss' or 'tracemalloc'."
        )
    gc.collect()
    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
    before = int(torch.cuda.memory_allocated())
    result = _call(fn)
    torch.cuda.synchronize()
    peak = int(torch.cuda.max_memory_allocated())
    del result
    return MemoryMeasurement(
        peak_bytes=max(0, peak - before),
        method="torch-cuda",
        notes=(
            f"torch.cuda.max_memory_allocated() after reset_peak_memory_stats(), minus "
            f"memory_allocated() before the call, device {torch.cuda.current_device()}; "
            "counts tensors from the caching allocator, not its cached-but-free blocks "
            "or host memory"
        ),
        baseline_bytes=before,
    )


@contextlib.contextmanager
def _quiet_fd2() -> Iterator[None]:
    """Redirect the process's file descriptor 2 (C-level stderr) to /dev/null."""
    try:
        sys.stderr.flush()
    except (AttributeError, OSError, ValueError):
        pass
    try:
        saved = os.dup(2)
    except OSError:  # no fd 2 (embedded interpreter): nothing to silence
        yield
        return
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, 2)
        finally:
            os.close(devnull)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def _torch_cpu_peak(fn: Callable[[], object]) -> MemoryMeasurement:
    torch = _import_torch("torch-cpu")
    from torch.profiler import ProfilerActivity, profile

    gc.collect()
    prof = profile(activities=[ProfilerActivity.CPU], profile_memory=True)
    # Kineto writes "USDT: ... profiler_start/stop" lines straight to file descriptor 2
    # (no Python logging, no environment switch): silence fd 2 around start and stop
    # only, so that the library does not write to the terminal while anything the
    # model itself writes to stderr during the call still gets through.
    with _quiet_fd2():
        prof.__enter__()
    try:
        result = _call(fn)
    finally:
        with _quiet_fd2():
            prof.__exit__(None, None, None)
    del result
    try:
        events = list(prof.profiler.kineto_results.events())
        deltas = sorted(
            (e.start_ns(), e.nbytes())
            for e in events
            if e.name() == "[memory]" and str(e.device_type()).endswith("CPU")
        )
    except AttributeError as exc:  # private profiler API changed
        raise MissingDependencyError(
            f"method='torch-cpu' could not read allocator events from torch "
            f"{torch.__version__}'s profiler ({exc}); use method='rss'."
        ) from exc
    level = peak = 0
    for _, nbytes in deltas:
        level += nbytes
        peak = max(peak, level)
    return MemoryMeasurement(
        peak_bytes=int(peak),
        method="torch-cpu",
        notes=(
            f"running peak of torch CPU allocator events recorded by torch.profiler "
            f"(profile_memory=True, {len(deltas)} events); counts torch tensors allocated "
            "during the call, not NumPy or other native allocations; the profiler slows "
            "the call"
        ),
        baseline_bytes=0,
    )


def available_memory_methods() -> list[str]:
    """Methods usable in this process.

    ``torch-cpu``/``torch-cuda`` are listed only when torch is importable (and
    CUDA available for the latter); importing torch to find out is avoided
    unless it is already installed.

    Returns
    -------
    list of str

    """
    methods = ["tracemalloc", "rss"]
    from importlib.util import find_spec

    if find_spec("torch") is not None:
        methods.append("torch-cpu")
        torch = sys.modules.get("torch")
        if torch is not None and torch.cuda.is_available():
            methods.append("torch-cuda")
    return methods


def measure_peak_memory(fn: Callable[[], object], *, method: str = "tracemalloc") -> MemoryMeasurement:
    """Measure the peak memory of one call of ``fn``.

    The counter is reset right before the call and the level just before it is
    subtracted, so what setup allocated (the model, the input) does not count,
    while everything alive during the call (including its return value) does.

    Parameters
    ----------
    fn : callable
        Zero-argument callable, e.g. ``lambda: model.forward(x)``.
    method : {"tracemalloc", "rss", "torch-cpu", "torch-cuda", "auto"}
        What to count; see the module documentation for what each sees. ``auto``
        calls ``fn`` once per method and reports the largest figure.

    Returns
    -------
    MemoryMeasurement
        ``peak_bytes`` and the ``method`` that produced it, with caveats in ``notes``.

    Raises
    ------
    InvalidParameterError
        Unknown method, or ``torch-cuda`` without a CUDA device.
    MissingDependencyError
        ``torch-*`` without torch.
    ModelError
        ``fn`` raised.

    Examples
    --------
    >>> import numpy as np
    >>> m = measure_peak_memory(lambda: np.ones(1_000_000))
    >>> m.method, round(m.peak_bytes / 8e6, 2)
    ('tracemalloc', 1.0)

    """
    fn = _check_fn(fn)
    if method == "tracemalloc":
        return _tracemalloc_peak(fn)
    if method == "rss":
        return _rss_peak(fn)
    if method == "torch-cpu":
        return _torch_cpu_peak(fn)
    if method == "torch-cuda":
        return _torch_cuda_peak(fn)
    if method == "auto":
        results = [_tracemalloc_peak(fn), _rss_peak(fn)]
        torch = sys.modules.get("torch")
        if torch is not None and torch.cuda.is_available() and torch.cuda.is_initialized():
            results.append(_torch_cuda_peak(fn))
        best = max(results, key=lambda m: m.peak_bytes)
        others = {m.method: m.peak_bytes for m in results if m is not best}
        listed = ", ".join(f"{k}={v} B" for k, v in others.items())
        return MemoryMeasurement(
            peak_bytes=best.peak_bytes,
            method=best.method,
            notes=f"auto: largest of {len(results)} methods, one call each (others: {listed}); {best.notes}",
            baseline_bytes=best.baseline_bytes,
            others=others,
        )
    raise InvalidParameterError(
        f"`method` must be one of {', '.join(repr(m) for m in MEMORY_METHODS)}; got {method!r}."
    )

