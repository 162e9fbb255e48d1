"""Timers, loop calibration, warmup and stopping protocols, and process replication.

The measurement protocol (see ``docs/measurement.md``)::

    calibrate (provisional, ``number="auto"``)  ->  warmup (discarded)
      ->  re-calibrate on warmed code (``number="auto"``)  ->  samples
                                                                 |
    one sample = ``clock()``; ``fn()`` x ``number``; ``clock()``  --+
    sample value = (t1 - t0) / number   (per-call seconds)

* The clock is :func:`time.perf_counter_ns` (monotonic, integer nanoseconds).
  Every protocol accepts an injectable ``clock`` (a zero-argument callable
  returning integer nanoseconds) so that its logic can be tested with a fake
  clock.
* :func:`calibrate_loops` chooses ``number`` so that the timer overhead is
  below 1 % of each sample (like :meth:`timeit.Timer.autorange` and
  ``torch.utils.benchmark.Timer.blocked_autorange``).
* The garbage collector is disabled inside every timed block by default (as
  :mod:`timeit` does) and re-enabled between blocks, so collections triggered
  by the workload's garbage happen outside the timed region.
* The unit of replication is the process (docs/statistics.md#rule-1):
  :func:`measure_in_processes` runs the whole protocol in fresh ``spawn``-ed
  worker processes, one :class:`Measurement` per process.
"""

from __future__ import annotations

import contextlib
import gc
import importlib
import itertools
import math
import os
import pickle
import signal
import statistics
import time
import traceback
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Literal

from torchperf.errors import (
    BenchmarkTimeoutError,
    InvalidParameterError,
    ModelError,
    SmallSampleWarning,
    TorchperfError,
    UnstableMeasurementWarning,
    WarmupNotConvergedWarning,
)

__all__ = [
    "AdaptiveStop",
    "AdaptiveWarmup",
    "Calibration",
    "FixedStop",
    "FixedWarmup",
    "Measurement",
    "StopDecision",
    "WarmupReport",
    "calibrate_loops",
    "clock_pair_gap_s",
    "measure",
    "measure_in_processes",
    "precise_timer",
    "resolve_target",
    "steady_state_check",
    "timer_overhead_s",
    "timer_resolution_s",
]

Clock = Callable[[], int]
"""A zero-argument callable returning a monotonic time in integer nanoseconds."""

_perf_counter_ns = time.perf_counter_ns

#: Default floor for one calibrated sample: 0.2 ms, like torch's ``blocked_autorange``
#: (``min_run_time / 1000``). Short samples summarised by their median shrug off
#: preemption and interrupts, which land in few samples; timer overhead stays < 1 %
#: through the 100x-overhead rule.
DEFAULT_MIN_SAMPLE_S = 2e-4
#: Default measuring window of one replicate (``window_s``): every replicate spans at least
#: this much measuring time, spread over its samples (each sample is the median of as many
#: short blocks as needed). Chosen with ``tools/measurement_window.py`` (docs/measurement.md,
#: section 4a); ``Benchmark``, ``torchperf run`` and the asv ``latency_`` type use it.
DEFAULT_WINDOW_S = 0.2
#: Largest count accepted for warmup calls, samples and loops (absurd values are user errors).
MAX_COUNT = 10**8
#: Calibration keeps the timer overhead below this fraction of a sample.
MAX_OVERHEAD_FRACTION = 0.01
#: torch's Measurement threshold: an IQR >= 10 % of the median makes a result unstable.
UNSTABLE_IQR = 0.10


# --------------------------------------------------------------------------------------
# timers
# --------------------------------------------------------------------------------------
class precise_timer:
    """Time a ``with`` block with :func:`time.perf_counter_ns` and minimal overhead.

    The class uses ``__slots__`` and no ``__init__`` work so that the interval
    between the two clock reads contains as little interpreter work as
    possible (measured by ``tools/timer_accuracy.py``: the bias is a small
    multiple of the gap between two back-to-back ``perf_counter_ns()`` calls).
    A ``contextlib.contextmanager`` timer costs several times more.

    Attributes
    ----------
    elapsed_ns : int
        Nanoseconds between entering and leaving the block.
    elapsed : float
        The same in seconds.

    Examples
    --------
    >>> with precise_timer() as t:
    ...     _ = sum(range(100))
    >>> t.elapsed > 0
    True

    Notes
    -----
    One timed call of an operation that lasts less than ~100x the timer
    overhead (see :func:`timer_overhead_s`) is dominated by that overhead; use
    :func:`measure` with ``number="auto"`` for such operations.

    """

    __slots__ = ("_start", "_stop")

    def __enter__(self) -> precise_timer:
        self._start = _perf_counter_ns()
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> Literal[False]:
        self._stop = _perf_counter_ns()
        return False

    @property
    def elapsed_ns(self) -> int:
        """Nanoseconds spent inside the ``with`` block."""
        try:
            return self._stop - self._start
        except AttributeError:
            raise TorchperfError(
                "precise_timer.elapsed was read before the `with` block finished; "
                "read it after the block exits."
            ) from None

    @property
    def elapsed(self) -> float:
        """Seconds spent inside the ``with`` block."""
        return self.elapsed_ns * 1e-9

    def __repr__(self) -> str:
        try:
            return f"precise_timer(elapsed={self.elapsed_ns * 1e-9:.9f} s)"
        except TorchperfError:
            return "precise_timer(running)"


def _check_count(name: str, value: object, *, minimum: int = 1, maximum: int = MAX_COUNT) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidParameterError(
            f"`{name}` must be an integer in [{minimum}, {maximum}]; got {value!r} "
            f"({type(value).__name__})."
        )
    if not minimum <= value <= maximum:
        raise InvalidParameterError(
            f"`{name}` must be an integer in [{minimum}, {maximum}]; got {value}. "
            f"Pass a value in that range."
        )
    return value


def _check_positive_seconds(name: str, value: object, *, allow_none: bool = False) -> float | None:
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidParameterError(
            f"`{name}` must be a positive finite number of seconds; got {value!r}."
        )
    if not math.isfinite(value) or value <= 0:
        raise InvalidParameterError(
            f"`{name}` must be a positive finite number of seconds; got {value}."
        )
    return float(value)


def _check_fraction(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < 1:
        hint = f" Did you mean {value / 100:g}?" if isinstance(value, (int, float)) and 1 <= value < 100 else ""
        raise InvalidParameterError(f"`{name}` must be in (0, 1); got {value!r}.{hint}")
    return float(value)


def clock_pair_gap_s(n: int = 20_001) -> float:
    """Median gap between two back-to-back :func:`time.perf_counter_ns` calls.

    Parameters
    ----------
    n : int
        Number of pairs.

    Returns
    -------
    float
        Seconds; the floor of what any Python timer can resolve.

    """
    _check_count("n", n)
    now = _perf_counter_ns
    gaps = []
    append = gaps.append
    for _ in itertools.repeat(None, n):
        t0 = now()
        t1 = now()
        append(t1 - t0)
    return statistics.median(gaps) * 1e-9


def timer_overhead_s(n: int = 20_001) -> float:
    """Measure the bias :class:`precise_timer` adds to an interval.

    Parameters
    ----------
    n : int
        Number of empty ``with precise_timer()`` blocks timed.

    Returns
    -------
    float
        Median ``elapsed`` (seconds) of an empty block: what the timer adds to
        every measured interval.

    """
    _check_count("n", n)
    values = []
    append = values.append
    for _ in itertools.repeat(None, n):
        with precise_timer() as t:
            pass
        append(t._stop - t._start)
    return statistics.median(values) * 1e-9


def timer_resolution_s(n: int = 2_000, *, clock: Clock | None = None) -> float:
    """Smallest observed positive increment between two back-to-back clock readings.

    Like pytest-benchmark's ``compute_timer_precision``: read the clock, read it
    again until it changes, keep the smallest difference. This is an upper bound on
    the clock's resolution: when the clock ticks faster than it can be read, the
    figure is the cost of one reading.

    Parameters
    ----------
    n : int
        Number of back-to-back pairs examined.
    clock : callable, optional
        Integer-nanosecond clock (default :func:`time.perf_counter_ns`).

    Returns
    -------
    float
        Seconds; ``nan`` if the clock never advanced.

    """
    _check_count("n", n, minimum=1)
    now = clock or _perf_counter_ns
    smallest = math.inf
    for _ in itertools.repeat(None, n):
        t0 = now()
        t1 = now()
        spins = 0
        while t1 == t0 and spins < 1000:
            t1 = now()
            spins += 1
        delta = t1 - t0
        if 0 < delta < smallest:
            smallest = delta
    return smallest * 1e-9 if math.isfinite(smallest) else math.nan


def _time_block(fn: Callable[[], object], number: int, clock: Clock, disable_gc: bool) -> int:
    """Time ``number`` calls of ``fn`` in one block; return integer nanoseconds.

    The loop mirrors :mod:`timeit`'s template (``for _ in itertools.repeat``)
    so that calibrated measurements and a ``timeit`` reference time the same
    work. The collector is disabled only for the timed block.
    """
    loop = itertools.repeat(None, number)
    if disable_gc:
        gc_was_enabled = gc.isenabled()
        gc.disable()
        try:
            t0 = clock()
            for _ in loop:
                fn()
            t1 = clock()
        finally:
            if gc_was_enabled:
                gc.enable()
    else:
        t0 = clock()
        for _ in loop:
            fn()
        t1 = clock()
    return t1 - t0


def _check_fn(fn: object, what: str = "fn") -> Callable[[], object]:
    if not callable(fn):
        raise InvalidParameterError(
            f"`{what}` must be a zero-argument callable; got {type(fn).__name__} {fn!r:.80}. "
            f"Wrap the call, e.g. `lambda: model(x)`."
        )
    return fn


def _clock_or_default(clock: Clock | None) -> Clock:
    if clock is None:
        return _perf_counter_ns
    if not callable(clock):
        raise InvalidParameterError(
            f"`clock` must be a zero-argument callable returning integer nanoseconds "
            f"(like time.perf_counter_ns); got {clock!r:.80}."
        )
    return clock


# --------------------------------------------------------------------------------------
# calibration
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Calibration:
    """Result of :func:`calibrate_loops`.

    Attributes
    ----------
    number : int
        Calls of ``fn`` per sample (inner loop count).
    sample_s : float
        Duration of the final calibration sample of ``number`` calls (seconds).
    per_call_s : float
        ``sample_s / number``.
    overhead_s : float
        Measured cost of timing an empty block with the same clock (seconds).
    target_s : float
        The sample duration calibration aimed for.
    capped : bool
        True when ``max_number`` stopped the search before ``target_s`` was reached.

    """

    number: int
    sample_s: float
    per_call_s: float
    overhead_s: float
    target_s: float = 0.0
    capped: bool = False

    @property
    def overhead_fraction(self) -> float:
        """Timer overhead as a fraction of one sample."""
        return self.overhead_s / self.sample_s if self.sample_s > 0 else math.inf

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict (includes ``overhead_fraction``)."""
        d = asdict(self)
        d["overhead_fraction"] = self.overhead_fraction
        return d


def _loop_overhead_ns(fn: Callable[[], object], clock: Clock, disable_gc: bool, repeats: int = 7) -> float:
    """Median cost of a timed block with zero iterations (two clock reads + loop setup)."""
    return float(statistics.median(_time_block(fn, 0, clock, disable_gc) for _ in range(repeats)))


def _one_two_five() -> Any:
    """Yield 1, 2, 5, 10, 20, 50, ... (timeit's sequence)."""
    for exponent in itertools.count():
        scale = 10**exponent
        for mantissa in (1, 2, 5):
            yield mantissa * scale


def calibrate_loops(
    fn: Callable[[], object],
    *,
    min_sample_s: float | None = None,
    max_number: int = 10**7,
    clock: Clock | None = None,
    disable_gc: bool = True,
) -> Calibration:
    """Choose how many calls of ``fn`` one timed sample should contain.

    The timer overhead (two clock reads and the loop set-up, measured as the
    median of seven empty blocks) is measured first; the target sample length
    is ``max(min_sample_s, 100 * overhead)`` so that the overhead is below
    1 % of every sample. ``number`` then runs through timeit's sequence 1, 2,
    5, 10, 20, ... until one block lasts at least the target.

    Parameters
    ----------
    fn : callable
        Zero-argument callable to time.
    min_sample_s : float, optional
        Minimum duration of one sample; default :data:`DEFAULT_MIN_SAMPLE_S`
        (0.2 ms). Raised to 100x the measured overhead when smaller.
    max_number : int
        Upper bound on the loop count; when it stops the search the result has
        ``capped=True`` and an :class:`~torchperf.errors.UnstableMeasurementWarning`
        is emitted if the overhead is still above 1 %.
    clock : callable, optional
        Integer-nanosecond clock (default :func:`time.perf_counter_ns`); inject a
        fake clock in tests.
    disable_gc : bool
        Disable the garbage collector inside timed blocks.

    Returns
    -------
    Calibration
        Loop count, the final sample's duration, per-call time and overhead.

    Examples
    --------
    >>> cal = calibrate_loops(lambda: None)
    >>> cal.overhead_fraction < 0.01
    True

    """
    fn = _check_fn(fn)
    clock = _clock_or_default(clock)
    _check_count("max_number", max_number)
    floor_s = DEFAULT_MIN_SAMPLE_S if min_sample_s is None else _check_positive_seconds("min_sample_s", min_sample_s)
    assert floor_s is not None
    overhead_ns = _loop_overhead_ns(fn, clock, disable_gc)
    target_ns = max(floor_s * 1e9, overhead_ns / MAX_OVERHEAD_FRACTION)
    number = 1
    sample_ns = 0
    capped = False
    for candidate in _one_two_five():
        if candidate >= max_number:
            number = max_number
            sample_ns = _time_block(fn, number, clock, disable_gc)
            capped = sample_ns < target_ns
            break
        number = candidate
        sample_ns = _time_block(fn, number, clock, disable_gc)
        if sample_ns >= target_ns:
            break
    sample_s = max(sample_ns, 1) * 1e-9
    calibration = Calibration(
        number=number,
        sample_s=sample_s,
        per_call_s=sample_s / number,
        overhead_s=overhead_ns * 1e-9,
        target_s=target_ns * 1e-9,
        capped=capped,
    )
    if capped and calibration.overhead_fraction > MAX_OVERHEAD_FRACTION:
        warnings.warn(
            f"calibrate_loops reached max_number={max_number} with samples of "
            f"{sample_s:.3g} s; timer overhead is {100 * calibration.overhead_fraction:.1f}% "
            f"of a sample (target < 1%). Raise `max_number`.",
            UnstableMeasurementWarning,
            stacklevel=2,
        )
    return calibration


# --------------------------------------------------------------------------------------
# warmup
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class WarmupReport:
    """What a warmup protocol did.

    Attributes
    ----------
    n_calls : int
        Calls of ``fn`` made (and discarded) during warmup.
    converged : bool
        True for a fixed warmup; for an adaptive one, whether steady state was
        reached before a cap.
    samples_s : tuple of float
        Per-call seconds of every warmup sample, in order.
    protocol : str
        Description, e.g. ``"fixed(n=5)"``.
    n_samples : int
        Warmup samples (each of ``number`` calls).
    steady_state_start : int or None
        Index into ``samples_s`` where the window judged steady begins (adaptive).
    duration_s : float
        Clock time spent in warmup.
    reason : str
        Why the warmup ended.

    """

    n_calls: int
    converged: bool
    samples_s: tuple[float, ...]
    protocol: str
    n_samples: int = 0
    steady_state_start: int | None = None
    duration_s: float = 0.0
    reason: str = ""

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict."""
        d = asdict(self)
        d["samples_s"] = list(self.samples_s)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> WarmupReport:
        """Rebuild from :meth:`to_dict` output."""
        d = dict(d)
        d["samples_s"] = tuple(d.get("samples_s", ()))
        return cls(**d)


@dataclass(frozen=True)
class FixedWarmup:
    """Discard ``n`` samples of ``number`` calls (the seed: ``n`` discarded calls).

    With ``number=1`` this is exactly the seed's protocol: ``fn`` is called
    ``n`` times and the results are thrown away; each call is also timed so
    the report can show the cold start.

    Parameters
    ----------
    n : int
        Warmup samples (default 5, the seed's ``warmup_runs``); 0 disables warmup.

    """

    n: int = 5

    def __post_init__(self) -> None:
        _check_count("warmup n", self.n, minimum=0)

    @property
    def protocol(self) -> str:
        """Short description used in metadata."""
        return f"fixed(n={self.n})"

    def run(
        self,
        fn: Callable[[], object],
        *,
        number: int = 1,
        clock: Clock | None = None,
        disable_gc: bool = True,
    ) -> WarmupReport:
        """Run the warmup.

        Parameters
        ----------
        fn : callable
            Zero-argument callable.
        number : int
            Calls per warmup sample.
        clock : callable, optional
            Integer-nanosecond clock.
        disable_gc : bool
            Disable the collector inside timed blocks.

        Returns
        -------
        WarmupReport
            ``n_calls == n * number`` and ``converged=True``.

        """
        fn = _check_fn(fn)
        _check_count("number", number)
        clock = _clock_or_default(clock)
        start = clock()
        samples = tuple(_time_block(fn, number, clock, disable_gc) * 1e-9 / number for _ in range(self.n))
        return WarmupReport(
            n_calls=self.n * number,
            converged=True,
            samples_s=samples,
            protocol=self.protocol,
            n_samples=self.n,
            steady_state_start=self.n,
            duration_s=(clock() - start) * 1e-9,
            reason="fixed count done",
        )


def steady_state_check(
    older: Sequence[float],
    recent: Sequence[float],
    *,
    alpha: float = 0.05,
    rel_tolerance: float = 0.05,
    dispersion_ratio: float = 2.0,
) -> tuple[bool, str]:
    """Decide whether two consecutive windows of samples look like steady state.

    A change counts only when it is both statistically significant (at
    ``alpha``) and larger than a practical tolerance, so neither noise nor a
    negligible but detectable drift keeps the warmup going:

    * **trend**: Kendall's tau of the values against their order (the
      Mann-Kendall test) with ``p < alpha``, and a Theil-Sen drift across both
      windows beyond ``rel_tolerance`` of the median;
    * **step** (a cold phase ending inside the windows): Pettitt's change-point
      test with ``p < alpha``, and medians before/after the most likely change
      point differing by more than ``rel_tolerance``. A single outlier moves
      neither rank statistic, so it does not count as a change;
    * **dispersion**: the Fligner-Killeen test and a ratio of median absolute
      deviations beyond ``dispersion_ratio``.

    Parameters
    ----------
    older, recent : sequence of float
        Two consecutive windows, oldest first.
    alpha : float
        Significance level of each test.
    rel_tolerance : float
        Relative drift / level change that matters.
    dispersion_ratio : float
        Factor between window dispersions that matters.

    Returns
    -------
    (bool, str)
        Whether the windows look steady, and the reason when they do not.

    """
    import numpy as np
    from scipy import stats

    from torchperf.stats import median_abs_deviation, pettitt_test, theil_sen_slope

    both = [*older, *recent]
    center = statistics.median(both)
    if center <= 0:
        return True, "steady"
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        drift = abs(theil_sen_slope(both)) * (len(both) - 1) / center
        if drift > rel_tolerance:
            tau = stats.kendalltau(np.arange(len(both)), both)
            if tau.pvalue < alpha:  # nan (all tied) is no trend
                return False, (
                    f"trend: drift {100 * drift:.1f}% across the windows "
                    f"(Mann-Kendall p={tau.pvalue:.3g})"
                )
        split, p_step = pettitt_test(both)
        before, after = statistics.median(both[:split]), statistics.median(both[split:])
        step = abs(after / before - 1) if before > 0 else 0.0
        if p_step < alpha and step > rel_tolerance:
            return False, (
                f"level shift after sample {split} of {len(both)}: median ratio "
                f"{after / before:.3f} (Pettitt p={p_step:.3g})"
            )
        # dispersion
        mad_old, mad_new = median_abs_deviation(older), median_abs_deviation(recent)
        lo, hi = sorted((mad_old, mad_new))
        tiny = 1e-6 * center
        if hi > tiny and (lo <= tiny or hi / lo > dispersion_ratio):
            fl = stats.fligner(older, recent)
            if not (fl.pvalue >= alpha):
                return False, f"dispersion changed: MAD {mad_old:.3g} -> {mad_new:.3g} s (Fligner p={fl.pvalue:.3g})"
    return True, "steady"


@dataclass(frozen=True)
class AdaptiveWarmup:
    """Warm up until recent samples show no trend, no level shift and stable dispersion.

    After every sample (from ``min_samples`` on), the last ``2 * window`` samples are split into an
    older and a recent window and judged by :func:`steady_state_check`. The
    warmup stops at the first steady verdict, or at a cap (``max_calls``,
    ``max_samples`` or ``max_time_s``); at a cap it emits
    :class:`~torchperf.errors.WarmupNotConvergedWarning` and reports
    ``converged=False`` rather than pretending.

    Parameters
    ----------
    window : int
        Samples per comparison window (at least 4).
    max_calls : int
        Cap on calls of ``fn`` (``number`` calls per sample).
    max_time_s : float
        Cap on clock time spent warming up.
    max_samples : int
        Cap on warmup samples.
    min_samples : int
        Minimum warmup samples before the first verdict (default 40, as pyperf's
        warmup calibration, which looks at 2 x 20 values). A slow phase that is
        itself steady and longer than ``min_samples - window`` samples cannot be
        told from steady state by any detector that has not yet seen it end;
        raise ``min_samples`` for workloads with long cold phases.
    alpha, rel_tolerance, dispersion_ratio : float
        See :func:`steady_state_check`.

    """

    window: int = 10
    max_calls: int = 1_000_000
    max_time_s: float = 10.0
    max_samples: int = 1_000
    min_samples: int = 40
    alpha: float = 0.05
    rel_tolerance: float = 0.05
    dispersion_ratio: float = 2.0

    def __post_init__(self) -> None:
        _check_count("window", self.window, minimum=4, maximum=10_000)
        _check_count("max_calls", self.max_calls)
        _check_count("min_samples", self.min_samples, minimum=2 * self.window)
        _check_count("max_samples", self.max_samples, minimum=self.min_samples)
        _check_positive_seconds("max_time_s", self.max_time_s)
        _check_fraction("alpha", self.alpha)
        _check_positive_seconds("rel_tolerance", self.rel_tolerance)
        if not self.dispersion_ratio > 1:
            raise InvalidParameterError(
                f"`dispersion_ratio` must be > 1; got {self.dispersion_ratio!r}."
            )

    @property
    def protocol(self) -> str:
        """Short description used in metadata."""
        return (
            f"adaptive(window={self.window}, min_samples={self.min_samples}, max_calls={self.max_calls}, "
            f"max_samples={self.max_samples}, max_time_s={self.max_time_s:g}, "
            f"alpha={self.alpha:g}, rel_tolerance={self.rel_tolerance:g})"
        )

    def run(
        self,
        fn: Callable[[], object],
        *,
        number: int = 1,
        clock: Clock | None = None,
        disable_gc: bool = True,
    ) -> WarmupReport:
        """Run the warmup until steady state or a cap.

        Parameters
        ----------
        fn : callable
            Zero-argument callable.
        number : int
            Calls per warmup sample.
        clock : callable, optional
            Integer-nanosecond clock.
        disable_gc : bool
            Disable the collector inside timed blocks.

        Returns
        -------
        WarmupReport
            ``n_calls`` is the warmup length in calls; ``steady_state_start`` the
            index of the first sample of the steady window.

        """
        fn = _check_fn(fn)
        _check_count("number", number)
        clock = _clock_or_default(clock)
        w = self.window
        max_ns = self.max_time_s * 1e9
        samples: list[float] = []
        start = clock()
        reason = ""
        last_check = ""
        n_calls = 0
        while True:
            if len(samples) >= self.max_samples:
                reason = f"max_samples={self.max_samples} reached"
                break
            if n_calls + number > self.max_calls:
                reason = f"max_calls={self.max_calls} reached"
                break
            if clock() - start >= max_ns:
                reason = f"max_time_s={self.max_time_s:g} reached"
                break
            samples.append(_time_block(fn, number, clock, disable_gc) * 1e-9 / number)
            n_calls += number
            if len(samples) >= self.min_samples:
                steady, why = steady_state_check(
                    samples[-2 * w : -w],
                    samples[-w:],
                    alpha=self.alpha,
                    rel_tolerance=self.rel_tolerance,
                    dispersion_ratio=self.dispersion_ratio,
                )
                if steady:
                    return WarmupReport(
                        n_calls=n_calls,
                        converged=True,
                        samples_s=tuple(samples),
                        protocol=self.protocol,
                        n_samples=len(samples),
                        steady_state_start=len(samples) - 2 * w,
                        duration_s=(clock() - start) * 1e-9,
                        reason="steady state",
                    )
                last_check = why
        last = f" (last check: {last_check})" if last_check else ""
        warnings.warn(
            f"adaptive warmup did not reach steady state after {n_calls} calls "
            f"({len(samples)} samples){last}. The measurement continues but may still "
            "include warmup effects; raise max_calls / max_time_s, or check the machine "
            f"with `torchperf doctor`. Stopped because {reason}.",
            WarmupNotConvergedWarning,
            stacklevel=2,
        )
        return WarmupReport(
            n_calls=n_calls,
            converged=False,
            samples_s=tuple(samples),
            protocol=self.protocol,
            n_samples=len(samples),
            steady_state_start=None,
            duration_s=(clock() - start) * 1e-9,
            reason=f"{reason}{last}",
        )


# --------------------------------------------------------------------------------------
# stopping rules
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class StopDecision:
    """Why sampling stopped.

    Attributes
    ----------
    reason : str
        Human-readable reason.
    target_reached : bool
        False when a budget (samples or time) ended sampling before the
        precision target was met.
    rel_halfwidth : float or None
        Relative half-width of the median's CI at the stop (adaptive rules).

    """

    reason: str
    target_reached: bool = True
    rel_halfwidth: float | None = None


@dataclass(frozen=True)
class FixedStop:
    """Take exactly ``n`` samples (the seed's ``measurement_runs``, default 10).

    Parameters
    ----------
    n : int
        Number of samples.

    """

    n: int = 10

    def __post_init__(self) -> None:
        _check_count("measurement n", self.n)

    @property
    def protocol(self) -> str:
        """Short description used in metadata."""
        return f"fixed(n={self.n})"

    def check(self, samples_s: Sequence[float], elapsed_s: float) -> StopDecision | None:
        """Return a decision when sampling should stop, else None.

        Parameters
        ----------
        samples_s : sequence of float
            Samples so far.
        elapsed_s : float
            Time spent sampling so far.

        Returns
        -------
        StopDecision or None

        """
        if len(samples_s) >= self.n:
            return StopDecision(reason=f"{self.n} samples taken")
        return None


def _relative_median_halfwidth(samples_s: Sequence[float], confidence_level: float) -> float:
    from torchperf.stats import median_ci

    with warnings.catch_warnings():
        # too few samples for the coverage -> the interval widens to min/max, which
        # simply keeps sampling going; no need to warn about it here
        warnings.simplefilter("ignore", SmallSampleWarning)
        lo, hi = median_ci(list(samples_s), confidence_level=confidence_level)
    center = statistics.median(samples_s)
    if center <= 0:
        return math.inf
    return (hi - lo) / (2 * center)


@dataclass(frozen=True)
class AdaptiveStop:
    """Sample until the median is known precisely enough, or a budget runs out.

    After at least ``min_samples``, sampling stops once the relative half-width
    of the median's confidence interval (:func:`torchperf.stats.median_ci`,
    distribution-free order statistics) is at most ``target_rel_halfwidth``,
    or when ``max_samples`` or ``max_time_s`` is reached. In the latter case
    the decision has ``target_reached=False`` and :func:`measure` warns.

    The interval treats samples from one process as exchangeable; it says how
    precisely *this process's* median is known, not how much a fresh process
    would differ (docs/statistics.md#rule-1: replicate across processes for that).

    Parameters
    ----------
    target_rel_halfwidth : float
        Target for ``(ci_high - ci_low) / (2 * median)``, e.g. 0.02 for +-2 %.
    min_samples, max_samples : int
        Bounds on the number of samples.
    max_time_s : float
        Time budget for sampling.
    confidence_level : float
        Confidence level of the median's interval.

    """

    target_rel_halfwidth: float = 0.02
    min_samples: int = 10
    max_samples: int = 1_000
    max_time_s: float = 10.0
    confidence_level: float = 0.95

    def __post_init__(self) -> None:
        _check_positive_seconds("target_rel_halfwidth", self.target_rel_halfwidth)
        _check_count("min_samples", self.min_samples, minimum=6)
        _check_count("max_samples", self.max_samples, minimum=self.min_samples)
        _check_positive_seconds("max_time_s", self.max_time_s)
        _check_fraction("confidence_level", self.confidence_level)

    @property
    def protocol(self) -> str:
        """Short description used in metadata."""
        return (
            f"adaptive(target_rel_halfwidth={self.target_rel_halfwidth:g}, "
            f"min_samples={self.min_samples}, max_samples={self.max_samples}, "
            f"max_time_s={self.max_time_s:g}, confidence_level={self.confidence_level:g})"
        )

    def check(self, samples_s: Sequence[float], elapsed_s: float) -> StopDecision | None:
        """Return a decision when sampling should stop, else None.

        The interval is recomputed at every sample up to 50 samples and then
        every ``n // 20`` samples, so checking stays cheap for long runs.

        Parameters
        ----------
        samples_s : sequence of float
            Samples so far.
        elapsed_s : float
            Time spent sampling so far.

        Returns
        -------
        StopDecision or None

        """
        n = len(samples_s)
        if n < self.min_samples:
            return None
        budget = None
        if n >= self.max_samples:
            budget = f"max_samples={self.max_samples} reached"
        elif elapsed_s >= self.max_time_s:
            budget = f"time budget max_time_s={self.max_time_s:g} spent"
        elif n > 50 and n % max(1, n // 20):
            return None
        rel = _relative_median_halfwidth(samples_s, self.confidence_level)
        if rel <= self.target_rel_halfwidth:
            return StopDecision(
                reason=f"median CI half-width {100 * rel:.2f}% <= target {100 * self.target_rel_halfwidth:g}%",
                target_reached=True,
                rel_halfwidth=rel,
            )
        if budget is not None:
            return StopDecision(reason=budget, target_reached=False, rel_halfwidth=rel)
        return None


# --------------------------------------------------------------------------------------
# measure
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Measurement:
    """Samples from one process, with everything needed to interpret them.

    Attributes
    ----------
    samples_s : tuple of float
        Per-call seconds, one value per sample (sample time / ``number``).
    number : int
        Calls per sample (the inner loop count).
    warmup : WarmupReport
        What the warmup did.
    gc_disabled : bool
        Whether the garbage collector was disabled inside timed blocks.
    process_index : int or None
        Index of the worker process (:func:`measure_in_processes`), None in-process.
    metadata : dict
        JSON-ready provenance: timer, overhead, calibration, stop rule and
        reason, pid, stability warnings, duration.

    """

    samples_s: tuple[float, ...]
    number: int
    warmup: WarmupReport
    gc_disabled: bool
    process_index: int | None = None
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def n_samples(self) -> int:
        """Number of samples."""
        return len(self.samples_s)

    @property
    def median_s(self) -> float:
        """Median per-call seconds."""
        return float(statistics.median(self.samples_s))

    @property
    def mean_s(self) -> float:
        """Mean per-call seconds."""
        return float(statistics.fmean(self.samples_s))

    @property
    def min_s(self) -> float:
        """Fastest per-call seconds."""
        return float(min(self.samples_s))

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict (round-trips through :meth:`from_dict`)."""
        return {
            "samples_s": list(self.samples_s),
            "number": self.number,
            "warmup": self.warmup.to_dict(),
            "gc_disabled": self.gc_disabled,
            "process_index": self.process_index,
            "metadata": dict(self.metadata),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Measurement:
        """Rebuild a :class:`Measurement` from :meth:`to_dict` output."""
        return cls(
            samples_s=tuple(float(v) for v in d["samples_s"]),
            number=int(d["number"]),
            warmup=WarmupReport.from_dict(d["warmup"]),
            gc_disabled=bool(d["gc_disabled"]),
            process_index=d.get("process_index"),
            metadata=dict(d.get("metadata", {})),
        )


WarmupLike = FixedWarmup | AdaptiveWarmup
StopLike = FixedStop | AdaptiveStop

_DEFAULT_WARMUP = FixedWarmup(5)
_DEFAULT_STOP = FixedStop(10)


def _as_warmup(warmup: object) -> Any:
    if isinstance(warmup, bool):
        raise InvalidParameterError(f"`warmup` must be a warmup protocol, an int or 'adaptive'; got {warmup!r}.")
    if isinstance(warmup, int):
        return FixedWarmup(warmup)
    if warmup == "adaptive":
        return AdaptiveWarmup()
    if hasattr(warmup, "run") and hasattr(warmup, "protocol"):
        return warmup
    raise InvalidParameterError(
        f"`warmup` must be FixedWarmup(n), AdaptiveWarmup(...), an int (fixed count) or "
        f"'adaptive'; got {warmup!r:.80}."
    )


def _as_stop(stop: object) -> Any:
    if isinstance(stop, bool):
        raise InvalidParameterError(f"`stop` must be a stopping rule, an int or 'adaptive'; got {stop!r}.")
    if isinstance(stop, int):
        return FixedStop(stop)
    if stop == "adaptive":
        return AdaptiveStop()
    if hasattr(stop, "check") and hasattr(stop, "protocol"):
        return stop
    raise InvalidParameterError(
        f"`stop` must be FixedStop(n), AdaptiveStop(...), an int (fixed count) or "
        f"'adaptive'; got {stop!r:.80}."
    )


def _iqr_over_median(samples_s: Sequence[float]) -> float | None:
    if len(samples_s) < 4:
        return None
    from torchperf.stats import iqr_over_median

    return iqr_over_median(samples_s)


def _stability_warnings(
    samples_s: Sequence[float], overhead_s: float, number: int, calibrated: bool = False
) -> list[str]:
    """Stability warnings in the spirit of pyperf's ``format_checks`` and torch's Measurement.

    Dispersion is judged robustly, as torch's ``Measurement`` does (IQR / median
    >= 10 %), because results are summarised by the median: a few preempted
    samples inflate the standard deviation (pyperf's criterion) without moving
    the median. The advice on timer overhead depends on how ``number`` was chosen:
    a fixed count can be calibrated (``number='auto'``); a calibrated one
    (``calibrated``) was too small because the calls got faster after calibration
    (calibration runs before warmup), so a larger fixed count is what helps.
    """
    out: list[str] = []
    spread = _iqr_over_median(samples_s)
    if spread is not None and spread >= UNSTABLE_IQR:
        out.append(
            f"the interquartile range is {100 * spread:.0f}% of the median (>= 10%): "
            "rerun with more samples or processes, or quiet the machine (see `torchperf doctor`)"
        )
    typical_sample_s = statistics.median(samples_s) * number
    fraction = overhead_s / typical_sample_s if typical_sample_s > 0 else 0.0
    if fraction > MAX_OVERHEAD_FRACTION:
        # calls per sample that would bring the overhead below the target, rounded up to 1-2-5
        enough = number * fraction / MAX_OVERHEAD_FRACTION
        suggest = next(n for n in _one_two_five() if n >= enough)
        head = (
            f"timer overhead ({overhead_s * 1e9:.0f} ns) is {100 * fraction:.1f}% of the median "
            f"sample ({typical_sample_s * 1e9:.0f} ns, {number} call(s)"
        )
        if calibrated:
            out.append(
                f"{head}, calibrated by number='auto' before warmup; the calls got faster since): "
                f"pass a fixed number={suggest}"
            )
        else:
            out.append(f"{head}): pass number='auto' (calibrated) or number={suggest}")
    return out


def measure(
    fn: Callable[[], object],
    *,
    warmup: WarmupLike | int | str = _DEFAULT_WARMUP,
    stop: StopLike | int | str = _DEFAULT_STOP,
    number: int | Literal["auto"] = 1,
    disable_gc: bool = True,
    clock: Clock | None = None,
    min_sample_s: float | None = None,
    warn: bool = True,
    window_s: float | None = None,
) -> Measurement:
    """Time ``fn`` with a warmup protocol and a stopping rule, in this process.

    Steps: ``gc.collect()``; a provisional calibration when ``number="auto"``
    (:func:`calibrate_loops`, sizing the warmup samples); warmup (discarded);
    re-calibration on the warmed code when ``number="auto"`` (so code that speeds
    up after warmup gets a ``number`` chosen from its warmed cost; a fixed
    ``number`` is never changed); then samples of ``number`` calls each until
    ``stop`` says enough. Each sample is stored as per-call
    seconds (sample time / ``number``). Timer overhead is *not* subtracted:
    calibration keeps it below 1 % instead, which is more robust than
    subtracting a noisy estimate.

    Parameters
    ----------
    fn : callable
        Zero-argument callable, e.g. ``lambda: model.forward(x)``.
    warmup : FixedWarmup, AdaptiveWarmup, int or "adaptive"
        Warmup protocol; an int ``n`` means ``FixedWarmup(n)`` (default 5, the seed's).
    stop : FixedStop, AdaptiveStop, int or "adaptive"
        Stopping rule; an int ``n`` means ``FixedStop(n)`` (default 10, the seed's).
    number : int or "auto"
        Calls per sample; ``"auto"`` calibrates so timer overhead < 1 %.
    disable_gc : bool
        Disable the garbage collector inside timed blocks (default, as :mod:`timeit`).
        Set False when collection cost is part of what you want to measure.
    clock : callable, optional
        Integer-nanosecond clock (default :func:`time.perf_counter_ns`).
    min_sample_s : float, optional
        Calibration floor for one sample (``number="auto"`` only).
    warn : bool
        Emit :class:`~torchperf.errors.UnstableMeasurementWarning` for
        stability problems (they are always recorded in ``metadata``).
    window_s : float, optional
        Minimum measuring time of this replicate, spread over its samples: each of
        the planned samples (``FixedStop.n``, ``AdaptiveStop.min_samples``) gets a
        slice of ``window_s / n`` and is the median per-call time of the blocks of
        ``number`` calls that fill its slice (``metadata["blocks_per_sample"]``: the
        median count). Short blocks keep
        the median's robustness to preemption; the window keeps one slow moment of
        the machine from covering the whole measurement. ``None`` (default here):
        one block per sample. :data:`DEFAULT_WINDOW_S` is the default of
        ``Benchmark`` and the asv ``latency_`` type.

    Returns
    -------
    Measurement
        Samples, loop count, warmup report and provenance metadata.

    Examples
    --------
    >>> m = measure(lambda: sum(range(100)), number="auto", stop=5)
    >>> m.n_samples, m.number > 1
    (5, True)

    """
    fn = _check_fn(fn)
    warmup_protocol = _as_warmup(warmup)
    stop_rule = _as_stop(stop)
    custom_clock = clock is not None
    clock = _clock_or_default(clock)
    if not isinstance(disable_gc, bool):
        raise InvalidParameterError(f"`disable_gc` must be True or False; got {disable_gc!r}.")
    gc.collect()
    begin = clock()
    calibration: Calibration | None = None
    if number == "auto":
        calibration = calibrate_loops(fn, min_sample_s=min_sample_s, clock=clock, disable_gc=disable_gc)
        n_loops = calibration.number
        overhead_ns = calibration.overhead_s * 1e9
    elif isinstance(number, str):
        raise InvalidParameterError(f"`number` must be a positive integer or 'auto'; got {number!r}.")
    else:
        n_loops = _check_count("number", number)
        overhead_ns = _loop_overhead_ns(fn, clock, disable_gc, repeats=5)
    warmup_report = warmup_protocol.run(fn, number=n_loops, clock=clock, disable_gc=disable_gc)
    if calibration is not None and warmup_report.n_calls > 0:
        # Re-calibrate on warmed code (as pyperf calibrates after its warmups): code that
        # gets faster after warmup (JIT, caches, lazy init) would otherwise keep the cold,
        # too small ``number`` and pay timer overhead in every sample.
        calibration = calibrate_loops(fn, min_sample_s=min_sample_s, clock=clock, disable_gc=disable_gc)
        n_loops = calibration.number
        overhead_ns = calibration.overhead_s * 1e9
    window = _check_positive_seconds("window_s", window_s, allow_none=True)
    slice_ns = 0.0
    if window is not None:
        planned = getattr(stop_rule, "n", None) or getattr(stop_rule, "min_samples", None) or 10
        slice_ns = window * 1e9 / planned
    samples: list[float] = []
    blocks_per_sample: list[int] = []
    sample_start = clock()
    scale = 1e-9 / n_loops
    while True:
        decision = stop_rule.check(samples, (clock() - sample_start) * 1e-9)
        if decision is not None:
            break
        if window is None:
            samples.append(_time_block(fn, n_loops, clock, disable_gc) * scale)
            continue
        # one sample = median of the blocks that fill its slice of the window
        blocks: list[int] = []
        slice_start = clock()
        while True:
            blocks.append(_time_block(fn, n_loops, clock, disable_gc))
            if clock() - slice_start >= slice_ns or len(blocks) >= MAX_COUNT:
                break
        samples.append(statistics.median(blocks) * scale)
        blocks_per_sample.append(len(blocks))
    end = clock()
    if not samples:
        raise InvalidParameterError(
            f"the stopping rule {stop_rule.protocol} ended before the first sample; "
            "a stopping rule must ask for at least one sample."
        )
    stability = _stability_warnings(samples, overhead_ns * 1e-9, n_loops, calibrated=calibration is not None)
    if not decision.target_reached:
        stability.append(f"stopping rule ended on a budget before its precision target: {decision.reason}")
    info = time.get_clock_info("perf_counter")
    metadata: dict[str, Any] = {
        "timer": "custom clock" if custom_clock else "time.perf_counter_ns",
        "timer_resolution_s": None if custom_clock else info.resolution,
        "timer_overhead_s": overhead_ns * 1e-9,
        "overhead_fraction": (overhead_ns * 1e-9) / (statistics.median(samples) * n_loops)
        if statistics.median(samples) > 0
        else None,
        "calibration": calibration.to_dict() if calibration else None,
        "number_mode": "auto" if calibration else "fixed",
        "warmup_protocol": warmup_report.protocol,
        "warmup_calls": warmup_report.n_calls,
        "warmup_converged": warmup_report.converged,
        "stop_protocol": stop_rule.protocol,
        "stop_reason": decision.reason,
        "stop_target_reached": decision.target_reached,
        "stop_rel_halfwidth": decision.rel_halfwidth,
        "window_s": window,
        "blocks_per_sample": statistics.median(blocks_per_sample) if blocks_per_sample else 1,
        "measuring_s": (end - sample_start) * 1e-9,
        "gc": "disabled in timed blocks" if disable_gc else "enabled",
        "pid": os.getpid(),
        "duration_s": (end - begin) * 1e-9,
        "stability_warnings": stability,
        "cv": statistics.stdev(samples) / statistics.fmean(samples) if len(samples) > 1 else 0.0,
        "iqr_over_median": _iqr_over_median(samples),
    }
    if warn and stability:
        warnings.warn(
            "measurement may be unreliable: " + "; ".join(stability),
            UnstableMeasurementWarning,
            stacklevel=2,
        )
    return Measurement(
        samples_s=tuple(samples),
        number=n_loops,
        warmup=warmup_report,
        gc_disabled=disable_gc,
        process_index=None,
        metadata=metadata,
    )


# --------------------------------------------------------------------------------------
# process replication
# --------------------------------------------------------------------------------------
def _target_name(target: object) -> str:
    if isinstance(target, str):
        return target
    module = getattr(target, "__module__", None)
    qualname = getattr(target, "__qualname__", None)
    if module and qualname:
        return f"{module}:{qualname}"
    return repr(target)[:120]


def resolve_target(target: str) -> Callable[[], object]:
    """Import ``"package.module:attr.subattr"`` and return the attribute.

    Parameters
    ----------
    target : str
        ``"module:attribute"``; the attribute may be dotted.

    Returns
    -------
    callable
        The resolved object (must be a zero-argument callable).

    Raises
    ------
    InvalidParameterError
        Malformed string, module or attribute not found, or not callable.

    """
    module_name, sep, attr_path = target.partition(":")
    if not sep or not module_name or not attr_path:
        raise InvalidParameterError(
            f"target must look like 'package.module:attribute'; got {target!r}."
        )
    try:
        obj: Any = importlib.import_module(module_name)
    except ImportError as exc:
        raise InvalidParameterError(
            f"cannot import module {module_name!r} of target {target!r}: {exc}. "
            "Check the spelling and that it is importable (on sys.path / installed)."
        ) from exc
    for part in attr_path.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise InvalidParameterError(
                f"target {target!r}: {type(obj).__name__} {getattr(obj, '__name__', obj)!r} "
                f"has no attribute {part!r}."
            ) from None
    if not callable(obj):
        raise InvalidParameterError(
            f"target {target!r} resolved to a {type(obj).__name__}, not a zero-argument callable."
        )
    return obj


@contextlib.contextmanager
def sigint_blocked() -> Iterator[None]:
    """Block SIGINT in this thread while a worker process starts (internal helper).

    The worker inherits SIGINT blocked: the user's Ctrl-C stops the parent (which
    then kills its workers) without a worker traceback, and a KeyboardInterrupt in
    a worker can only come from model code. A SIGINT that arrives meanwhile is
    delivered when the block ends.
    """
    mask = getattr(signal, "pthread_sigmask", None)
    if mask is None:  # pragma: no cover - not POSIX
        yield
        return
    old = mask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        mask(signal.SIG_SETMASK, old)


def _worker_main(conn: Any, target: Any, index: int, measure_kw: dict[str, Any]) -> None:
    """Entry point of one spawned worker: measure and send back plain data."""
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                fn = resolve_target(target) if isinstance(target, str) else target
            except InvalidParameterError as exc:
                conn.send({"status": "bad-target", "message": str(exc)})
                return
            try:
                m = measure(fn, **measure_kw)
            except InvalidParameterError as exc:
                conn.send({"status": "bad-parameter", "message": str(exc)})
                return
            except BaseException as exc:
                conn.send(
                    {
                        "status": "error",
                        "error_type": type(exc).__name__,
                        "message": str(exc),
                        "traceback": traceback.format_exc(),
                    }
                )
                return
        payload = replace(m, process_index=index).to_dict()
        payload_warnings = [
            {"category": w.category.__name__, "message": str(w.message)} for w in caught
        ]
        conn.send({"status": "ok", "measurement": payload, "warnings": payload_warnings})
    finally:
        conn.close()


def _reemit(category_name: str, message: str) -> None:
    from torchperf import errors

    category = getattr(errors, category_name, None)
    if not (isinstance(category, type) and issubclass(category, Warning)):
        category = UserWarning
    warnings.warn(message, category, stacklevel=3)


def measure_in_processes(
    target: Callable[[], object] | str,
    *,
    processes: int = 3,
    timeout_s: float | None = None,
    **measure_kw: Any,
) -> list[Measurement]:
    """Run :func:`measure` in ``processes`` fresh worker processes, one after another.

    Each worker is started with the ``spawn`` method (a fresh interpreter: new
    allocator state, address layout and hash seed), measures the target with
    ``measure(fn, **measure_kw)`` and sends its :class:`Measurement` back as
    plain data. Workers run sequentially so they do not compete for cores.
    The process is the unit of replication (docs/statistics.md#rule-1): summarise each
    process (e.g. its median) before comparing.

    Parameters
    ----------
    target : callable or str
        A picklable zero-argument callable (a module-level function,
        ``functools.partial`` of one, ...) or ``"module:attribute"``.
    processes : int
        Number of worker processes.
    timeout_s : float, optional
        Kill a worker that runs longer than this and raise
        :class:`~torchperf.errors.BenchmarkTimeoutError`.
    **measure_kw
        Passed to :func:`measure` (must be picklable).

    Returns
    -------
    list of Measurement
        One per process, with ``process_index`` 0..processes-1.

    Raises
    ------
    InvalidParameterError
        Unpicklable callable, malformed or unresolvable target, bad measure arguments.
    ModelError
        The target raised in a worker, or the worker died; the message names the
        target and the cause, and ``exc.worker_traceback`` holds the worker's
        traceback when there is one.
    BenchmarkTimeoutError
        A worker exceeded ``timeout_s``.

    Notes
    -----
    As with any ``spawn``-based code, a script calling this must guard its
    entry point with ``if __name__ == "__main__":``.

    """
    import multiprocessing

    _check_count("processes", processes, maximum=10_000)
    timeout = _check_positive_seconds("timeout_s", timeout_s, allow_none=True)
    name = _target_name(target)
    if isinstance(target, str):
        module_name, sep, attr = target.partition(":")
        if not sep or not module_name or not attr:
            raise InvalidParameterError(
                f"target must be a zero-argument callable or a 'package.module:attribute' "
                f"string; got {target!r}."
            )
    else:
        _check_fn(target, "target")
        try:
            pickle.dumps(target)
        except Exception as exc:
            raise InvalidParameterError(
                f"target {name} cannot be sent to a worker process ({type(exc).__name__}: {exc}). "
                "Use a module-level function (not a lambda or closure), a functools.partial "
                "of one, or a 'module:attribute' string."
            ) from exc
    try:
        pickle.dumps(measure_kw)
    except Exception as exc:
        raise InvalidParameterError(
            f"measure arguments for target {name} cannot be sent to a worker process: {exc}."
        ) from exc
    ctx = multiprocessing.get_context("spawn")
    results: list[Measurement] = []
    for index in range(processes):
        parent_conn, child_conn = ctx.Pipe(duplex=False)
        proc = ctx.Process(
            target=_worker_main,
            args=(child_conn, target, index, measure_kw),
            name=f"torchperf-worker-{index}",
            daemon=True,
        )
        with sigint_blocked():  # the user's Ctrl-C stops this process, not the worker
            proc.start()
        child_conn.close()
        try:
            if not parent_conn.poll(timeout):
                proc.kill()
                proc.join()
                raise BenchmarkTimeoutError(
                    f"target {name} ran longer than timeout_s={timeout:g} in worker process "
                    f"{index}; it was killed. Raise timeout_s=... or make the target faster."
                )
            try:
                message = parent_conn.recv()
            except (EOFError, OSError):
                proc.join()
                raise ModelError(
                    f"target {name}: worker process {index} exited with code {proc.exitcode} "
                    "without a result (crashed, killed, or out of memory)."
                ) from None
        finally:
            parent_conn.close()
        proc.join()
        status = message.get("status")
        if status == "bad-target":
            raise InvalidParameterError(message["message"])
        if status == "bad-parameter":
            raise InvalidParameterError(f"target {name}: {message['message']}")
        if status == "error":
            error = ModelError(
                f"target {name} raised {message['error_type']} in worker process {index}: "
                f"{message['message']}"
            )
            error.worker_traceback = message["traceback"]  # type: ignore[attr-defined]
            raise error
        for w in message.get("warnings", []):
            _reemit(w["category"], f"[worker {index}] {w['message']}")
        results.append(Measurement.from_dict(message["measurement"]))
    return results
