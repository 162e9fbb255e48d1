"""asv benchmark types provided by torchperf.

Two types, with name prefixes that do not collide with asv's built-ins
(``time_``, ``timeraw_``, ``mem_``, ``peakmem_``, ``track_``):

``latency_`` / ``Latency*`` -> :class:`LatencyBenchmark`
    Wall-clock seconds per call, measured with torchperf's warmup protocol and
    loop calibration (:mod:`torchperf.timing`). asv runs the benchmark in
    ``rounds`` separate processes (default 10); each process contributes
    ``blocks`` values (default 1), each the median of a block of timed samples
    of ``number`` calls (``repeat`` samples in all, default 7 per block). The result is returned as
    ``{"samples": [...], "number": loops}``, which asv stores exactly like a
    ``time_`` result (median, 99 % CI, quartiles, raw samples with
    ``--record-samples``) and which ``asv compare`` tests with Mann-Whitney.

    Why one value per process by default: calls (and blocks) inside one
    process share allocator state, address layout and CPU frequency, so they
    are not independent; Mann-Whitney on them declares identical code
    "significantly" different (docs/statistics.md#rule-1). One value per process keeps
    asv's test honest. asv needs p < 0.002 from the exact two-sided
    Mann-Whitney test, whose smallest attainable p with n + n values is
    2 / C(2n, n): with 6 or fewer processes per side it never gets there; with
    8 only at <= 4 of 64 inverted pairs, so one disturbed process (8
    inversions) hides a clean 10 % change; with 10 at <= 10 of 100, which
    tolerates one. Measured on this project's suite: 8 rounds caught an
    injected 10 % slowdown in 2 of 4 series in one of two runs, 10 rounds in
    4 of 4 in both (docs/asv.md, "Measured").

``peakbytes_`` / ``PeakBytes*`` -> :class:`PeakBytesBenchmark`
    Peak bytes allocated *during one call* (tracemalloc by default, reset
    right before the call, so imports, ``setup`` and ``setup_cache``
    allocations do not count). Unit ``bytes``.

Accuracy is recorded with asv's own ``track_`` type as an error rate
(``1 - accuracy``), because asv treats every value as lower-is-better.

Both types read the same attributes asv's ``time_`` type reads where they mean
the same thing (``number``, ``repeat``, ``warmup_time``, ``sample_time``,
``rounds``, ``timeout``), so ``asv run --quick`` (number=1, repeat=1,
warmup_time=0, rounds=1) works as asv users expect.
"""

from __future__ import annotations

import re
import statistics
import time
from collections.abc import Callable
from typing import Any

from asv_runner.benchmarks._base import Benchmark, _get_first_attr

__all__ = [
    "DEFAULT_BLOCKS",
    "DEFAULT_REPEAT",
    "DEFAULT_ROUNDS",
    "TORCHPERF_TYPES",
    "LatencyBenchmark",
    "PeakBytesBenchmark",
    "block_medians",
]

#: asv processes per benchmark and commit (replicates); see the module doc for why 10.
DEFAULT_ROUNDS = 10
#: values each process contributes to asv's samples.
DEFAULT_BLOCKS = 1
#: timed samples per block.
DEFAULT_REPEAT = 7
#: default seconds of adaptive warmup per process.
DEFAULT_WARMUP_S = 0.05
#: default minimum seconds per timed sample (loop calibration target).
DEFAULT_SAMPLE_S = 0.005


def block_medians(samples_s: list[float], blocks: int) -> list[float]:
    """Split per-call samples into ``blocks`` contiguous blocks and return each block's median.

    Parameters
    ----------
    samples_s : list of float
        Per-call seconds, in the order they were measured.
    blocks : int
        Number of blocks (>= 1). When there are fewer samples than blocks,
        one block per sample is returned.

    Returns
    -------
    list of float
        ``min(blocks, len(samples_s))`` medians.

    """
    if not samples_s:
        return []
    blocks = max(1, min(int(blocks), len(samples_s)))
    n = len(samples_s)
    out = []
    for b in range(blocks):
        lo = (b * n) // blocks
        hi = ((b + 1) * n) // blocks
        out.append(float(statistics.median(samples_s[lo:hi])))
    return out


#: Named clocks for the ``clock`` attribute (callables returning integer nanoseconds).
CLOCKS: dict[str, Callable[[], int]] = {
    "wall": time.perf_counter_ns,
    "process": time.process_time_ns,
    "thread": time.thread_time_ns,
}


def _resolve_clock(clock: object) -> tuple[Callable[[], int], str]:
    if callable(clock):
        return clock, getattr(clock, "__name__", "custom")  # type: ignore[return-value]
    name = str(clock)
    if name not in CLOCKS:
        raise ValueError(
            f"`clock` must be one of {sorted(CLOCKS)} or a callable returning nanoseconds; "
            f"got {clock!r}."
        )
    return CLOCKS[name], name


def _bound(func: Callable[..., Any], param: tuple) -> Callable[[], Any]:
    if param:

        def call() -> Any:
            return func(*param)

        return call
    return func


class LatencyBenchmark(Benchmark):
    """asv benchmark type ``latency_``: replicate-level seconds per call.

    Attributes read from the benchmark (function, class or module), with their
    defaults: ``rounds`` (10), ``blocks`` (1), ``repeat`` (timed samples in the
    process, split into ``blocks`` blocks; default 7 per block; ``--quick`` sets 1),
    ``number`` (0 = calibrate so one sample lasts ``sample_time``),
    ``sample_time`` (0.005 s), ``window_time`` (the minimum measuring time of the
    process, :data:`torchperf.timing.DEFAULT_WINDOW_S` = 0.2 s, spread over the samples:
    each sample is the median of as many ``sample_time`` blocks as needed; 0 = none;
    not applied under ``--quick``), ``warmup_time`` (-1 = adaptive warmup capped at
    0.05 s; 0 = no warmup; > 0 = adaptive warmup capped at that many seconds),
    ``clock`` (``"wall"``, default: ``time.perf_counter_ns``; ``"process"``:
    ``time.process_time_ns``, CPU time of the process, which other tenants of a
    shared machine cannot inflate -- use it only for single-threaded code, as
    it sums the CPU time of all threads; ``"thread"``; or a callable returning
    integer nanoseconds). The clock's name is stored in asv's benchmarks.json
    (attribute ``clock``).
    """

    name_regex = re.compile("^(Latency[A-Z_].+)|(latency_.+)$")

    def __init__(self, name: str, func: Callable[..., Any], attr_sources: list) -> None:
        Benchmark.__init__(self, name, func, attr_sources)
        self.type = "latency"
        self.unit = "seconds"
        self.rounds = int(_get_first_attr(attr_sources, "rounds", DEFAULT_ROUNDS))
        self._load_vars()

    def _load_vars(self) -> None:
        src = self._attr_sources
        self.blocks = int(_get_first_attr(src, "blocks", DEFAULT_BLOCKS))
        self.repeat = _get_first_attr(src, "repeat", 0)
        self.number = int(_get_first_attr(src, "number", 0))
        self.sample_time = float(_get_first_attr(src, "sample_time", DEFAULT_SAMPLE_S))
        self.warmup_time = float(_get_first_attr(src, "warmup_time", -1))
        from torchperf.timing import DEFAULT_WINDOW_S

        self.window_time = float(_get_first_attr(src, "window_time", DEFAULT_WINDOW_S))
        self._clock_spec = _get_first_attr(src, "clock", "wall")
        # exported to asv's benchmarks.json; validated when the benchmark runs, so a bad
        # value fails this benchmark only, not the discovery of the whole suite
        spec = self._clock_spec
        self.clock = spec if isinstance(spec, str) else getattr(spec, "__name__", "custom")

    def do_setup(self) -> bool:
        """Run ``setup`` and re-read the attributes (setup may change them, as for ``time_``)."""
        result = Benchmark.do_setup(self)
        self._load_vars()
        return result

    def _total_samples(self) -> int:
        rep = self.repeat
        if isinstance(rep, (tuple, list)):  # asv's (min, max, max_time) form: use max
            rep = rep[1]
        rep = int(rep)
        return DEFAULT_REPEAT * max(1, self.blocks) if rep <= 0 else rep

    def run(self, *param: Any) -> dict[str, Any]:
        """Measure and return ``{"samples": block medians (s/call), "number": loops}``."""
        from torchperf.asvbench.envrecord import record_environment_once
        from torchperf.timing import (
            AdaptiveWarmup,
            FixedStop,
            FixedWarmup,
            calibrate_loops,
            measure,
        )

        record_environment_once(self._attr_sources)
        clock, _ = _resolve_clock(self._clock_spec)
        fn = _bound(self.func, param)
        number = self.number
        if number <= 0:
            number = calibrate_loops(fn, min_sample_s=self.sample_time, clock=clock).number
        if self.warmup_time != 0:
            cap = DEFAULT_WARMUP_S if self.warmup_time < 0 else self.warmup_time
            AdaptiveWarmup(window=5, max_time_s=cap).run(fn, number=int(number), clock=clock)
            if self.number <= 0:
                # re-calibrate on warmed code: the cold count is too small for code that
                # speeds up after warmup (a fixed ``number`` is never changed)
                number = calibrate_loops(fn, min_sample_s=self.sample_time, clock=clock).number
        total = self._total_samples()
        blocks = max(1, min(self.blocks, total))
        m = measure(
            fn,
            warmup=FixedWarmup(0),
            stop=FixedStop(total),
            number=int(number),
            clock=clock,
            # the replicate spans window_time of measuring (asv --quick: one sample, no window)
            window_s=self.window_time if self.window_time > 0 and total > 1 else None,
        )
        return {"samples": block_medians(list(m.samples_s), blocks), "number": int(m.number)}


class PeakBytesBenchmark(Benchmark):
    """asv benchmark type ``peakbytes_``: peak bytes allocated during one call.

    Attributes: ``memory_method`` (``"tracemalloc"``, default; see
    :func:`torchperf.memory.measure_peak_memory` for the others) and
    ``warmup_calls`` (1: calls made before the measured one, so lazily
    created caches are not counted as per-call memory). ``rounds`` defaults
    to 1 because tracemalloc counts are deterministic.
    """

    name_regex = re.compile("^(PeakBytes[A-Z_].+)|(peakbytes_.+)$")

    def __init__(self, name: str, func: Callable[..., Any], attr_sources: list) -> None:
        Benchmark.__init__(self, name, func, attr_sources)
        self.type = "peakbytes"
        self.unit = "bytes"
        self.rounds = int(_get_first_attr(attr_sources, "rounds", 1))
        self.memory_method = str(_get_first_attr(attr_sources, "memory_method", "tracemalloc"))
        self.warmup_calls = int(_get_first_attr(attr_sources, "warmup_calls", 1))

    def run(self, *param: Any) -> int:
        """Return the peak bytes of one call (after ``warmup_calls`` unmeasured calls)."""
        from torchperf.asvbench.envrecord import record_environment_once
        from torchperf.memory import measure_peak_memory

        record_environment_once(self._attr_sources)
        fn = _bound(self.func, param)
        for _ in range(max(0, self.warmup_calls)):
            fn()
        return int(measure_peak_memory(fn, method=self.memory_method).peak_bytes)


#: The types torchperf adds to asv, in registration order.
TORCHPERF_TYPES: tuple[type[Benchmark], ...] = (LatencyBenchmark, PeakBytesBenchmark)
