"""Tests for torchperf.timing: logic with fake clocks, never wall-clock speed."""

from __future__ import annotations

import functools
import gc
import json
import math
import os
import time
import warnings

import numpy as np
import pytest

from torchperf.errors import (
    BenchmarkTimeoutError,
    InvalidParameterError,
    ModelError,
    TorchperfError,
    UnstableMeasurementWarning,
    WarmupNotConvergedWarning,
)
from torchperf.timing import (
    DEFAULT_MIN_SAMPLE_S,
    AdaptiveStop,
    AdaptiveWarmup,
    Calibration,
    FixedStop,
    FixedWarmup,
    Measurement,
    calibrate_loops,
    clock_pair_gap_s,
    measure,
    measure_in_processes,
    precise_timer,
    resolve_target,
    steady_state_check,
    timer_overhead_s,
    timer_resolution_s,
)


# ------------------------------------------------------------------------ fake clock
class FakeClock:
    """Integer-nanosecond clock; each reading costs ``read_cost_ns``."""

    def __init__(self, read_cost_ns: int = 0) -> None:
        self.now = 0
        self.read_cost_ns = read_cost_ns

    def __call__(self) -> int:
        t = self.now
        self.now += self.read_cost_ns
        return t

    def advance(self, ns: float) -> None:
        self.now += round(ns)


class Workload:
    """A callable whose k-th call advances the fake clock by ``cost(k)`` ns."""

    def __init__(self, clock: FakeClock, cost) -> None:
        self.clock = clock
        self.cost = cost
        self.calls = 0
        self.gc_states: list[bool] = []

    def __call__(self) -> None:
        self.gc_states.append(gc.isenabled())
        self.clock.advance(self.cost(self.calls))
        self.calls += 1


def jittered(base_ns: float, rel_sd: float, seed: int = 0, slow_first: int = 0, slow_factor: float = 1.0):
    rng = np.random.default_rng(seed)
    noise = rng.lognormal(0.0, rel_sd, size=1_000_000)

    def cost(k: int) -> float:
        factor = slow_factor if k < slow_first else 1.0
        return base_ns * factor * noise[k % noise.size]

    return cost


# ------------------------------------------------------------------------ precise_timer
def test_precise_timer_measures_block_and_is_slotted():
    with precise_timer() as t:
        time.sleep(0.002)
    assert isinstance(t.elapsed_ns, int)
    assert t.elapsed == pytest.approx(t.elapsed_ns * 1e-9)
    assert t.elapsed >= 0.002 * 0.9  # sleep lasts at least its argument
    assert not hasattr(t, "__dict__")


def test_precise_timer_elapsed_before_exit_is_an_error():
    t = precise_timer()
    with pytest.raises(TorchperfError, match="before the `with` block finished"):
        _ = t.elapsed
    assert "running" in repr(t)


def test_precise_timer_records_even_when_block_raises_and_is_reusable():
    t = precise_timer()
    with pytest.raises(ZeroDivisionError), t:
        _ = 1 / 0
    first = t.elapsed_ns
    assert first >= 0
    with t:
        pass
    assert t.elapsed_ns >= 0
    assert "elapsed=" in repr(t)


def test_timer_overhead_helpers_return_positive_seconds():
    for value in (timer_overhead_s(1001), clock_pair_gap_s(1001)):
        assert math.isfinite(value) and 0 <= value < 1e-3
    # the empty-block bias can't be smaller than one clock read pair's worth of work,
    # compared within one run, as a ratio
    assert timer_overhead_s(5001) >= 0.5 * clock_pair_gap_s(5001)


def test_timer_resolution_with_fake_clock():
    step = FakeClock(read_cost_ns=7)
    assert timer_resolution_s(100, clock=step) == pytest.approx(7e-9)
    frozen = FakeClock(read_cost_ns=0)
    assert math.isnan(timer_resolution_s(100, clock=frozen))


# ------------------------------------------------------------------------ calibration
def _previous_125(n: int) -> int:
    seq = [m * 10**e for e in range(12) for m in (1, 2, 5)]
    i = seq.index(n)
    return seq[i - 1] if i else 0


@pytest.mark.parametrize(
    ("op_ns", "read_ns", "min_sample_s"),
    [(50, 200, None), (50, 200, 1e-6), (1, 30, None), (3_000, 100, 1e-4), (123, 0, None), (7, 900, 2e-5)],
)
def test_calibrate_loops_keeps_overhead_below_one_percent(op_ns, read_ns, min_sample_s):
    clock = FakeClock(read_cost_ns=read_ns)
    fn = Workload(clock, lambda k: op_ns)
    cal = calibrate_loops(fn, min_sample_s=min_sample_s, clock=clock)
    assert isinstance(cal, Calibration)
    assert cal.overhead_s == pytest.approx(read_ns * 1e-9)
    floor = DEFAULT_MIN_SAMPLE_S if min_sample_s is None else min_sample_s
    target_ns = max(floor * 1e9, 100 * read_ns)
    assert cal.target_s == pytest.approx(target_ns * 1e-9)
    # sample = read cost + number * op cost, and it reaches the target
    assert cal.sample_s == pytest.approx((read_ns + cal.number * op_ns) * 1e-9)
    assert cal.sample_s * 1e9 >= target_ns
    assert cal.overhead_fraction < 0.01
    # minimal in timeit's 1-2-5 sequence: the previous step would have been too short
    prev = _previous_125(cal.number)
    assert read_ns + prev * op_ns < target_ns
    assert cal.per_call_s == pytest.approx(cal.sample_s / cal.number)
    assert not cal.capped
    assert json.loads(json.dumps(cal.to_dict()))["number"] == cal.number


def test_calibrate_loops_exact_numbers():
    # 50 ns op, 200 ns per clock read: 0.2 ms floor -> 5000 calls (250.2 us); 2000 gives 100.2 us
    assert DEFAULT_MIN_SAMPLE_S == 2e-4
    clock = FakeClock(read_cost_ns=200)
    cal = calibrate_loops(Workload(clock, lambda k: 50), clock=clock)
    assert cal.number == 5_000
    clock = FakeClock(read_cost_ns=200)
    cal = calibrate_loops(Workload(clock, lambda k: 50), min_sample_s=1e-3, clock=clock)
    assert cal.number == 20_000
    assert cal.per_call_s == pytest.approx(50e-9, rel=1e-3)
    # a tiny floor is raised to 100x overhead = 20 us -> 500 calls (25.2 us); 200 would give 10.2 us
    clock = FakeClock(read_cost_ns=200)
    cal = calibrate_loops(Workload(clock, lambda k: 50), min_sample_s=1e-6, clock=clock)
    assert cal.number == 500


def test_calibrate_loops_slow_function_uses_one_call():
    clock = FakeClock(read_cost_ns=100)
    fn = Workload(clock, lambda k: 5_000_000)  # 5 ms
    cal = calibrate_loops(fn, clock=clock)
    assert cal.number == 1
    assert fn.calls == 1  # overhead is measured with empty blocks, not calls


def test_calibrate_loops_cap_warns_when_overhead_stays_high():
    clock = FakeClock(read_cost_ns=1_000)
    with pytest.warns(UnstableMeasurementWarning, match="max_number"):
        cal = calibrate_loops(Workload(clock, lambda k: 1), max_number=100, clock=clock)
    assert cal.capped and cal.number == 100
    assert cal.overhead_fraction > 0.01


@pytest.mark.parametrize(
    "kwargs",
    [{"min_sample_s": 0}, {"min_sample_s": -1.0}, {"min_sample_s": float("nan")}, {"max_number": 0},
     {"max_number": 10**12}, {"clock": 3}],
)
def test_calibrate_loops_validates(kwargs):
    with pytest.raises(InvalidParameterError):
        calibrate_loops(lambda: None, **kwargs)


def test_calibrate_loops_real_clock_smoke():
    cal = calibrate_loops(lambda: None, min_sample_s=2e-4)
    assert (cal.number >= 1 and cal.overhead_fraction < 0.01) or cal.capped


# ------------------------------------------------------------------------ warmup
def test_fixed_warmup_is_the_seed_protocol():
    """n discarded calls, then the measured calls: exactly the seed's loops."""
    clock = FakeClock()
    fn = Workload(clock, lambda k: (k + 1) * 1_000)  # the k-th call lasts (k+1) us
    m = measure(fn, clock=clock, warn=False)  # defaults: FixedWarmup(5), FixedStop(10), number=1
    assert fn.calls == 15
    assert m.warmup.n_calls == 5 and m.warmup.converged and m.warmup.protocol == "fixed(n=5)"
    assert m.warmup.samples_s == pytest.approx([(k + 1) * 1e-6 for k in range(5)])
    assert m.samples_s == pytest.approx([(k + 1) * 1e-6 for k in range(5, 15)])
    assert m.number == 1


def test_fixed_warmup_counts_and_validation():
    clock = FakeClock()
    fn = Workload(clock, lambda k: 10)
    report = FixedWarmup(3).run(fn, number=4, clock=clock)
    assert report.n_calls == 12 == fn.calls and report.n_samples == 3
    assert FixedWarmup(0).run(fn, clock=clock).n_calls == 0
    for bad in (-1, 1.5, True, 10**12):
        with pytest.raises(InvalidParameterError):
            FixedWarmup(bad)


def test_adaptive_warmup_reaches_steady_state_after_slow_start():
    """First 20 calls 5x slower: warmup detects the steady state and reports its length."""
    clock = FakeClock(read_cost_ns=0)
    fn = Workload(clock, jittered(10_000, 0.02, seed=1, slow_first=20, slow_factor=5.0))
    with warnings.catch_warnings():
        warnings.simplefilter("error", WarmupNotConvergedWarning)
        report = AdaptiveWarmup().run(fn, clock=clock)  # window 10, min_samples 40
    assert report.converged
    assert 40 <= report.n_calls <= 20 + 2 * 10 + 20
    assert report.steady_state_start is not None and report.steady_state_start >= 20
    assert report.reason == "steady state"
    assert report.n_calls == len(report.samples_s) == fn.calls
    # the slow start is visible in the report
    assert report.samples_s[0] > 3 * report.samples_s[-1]


def test_measure_after_adaptive_warmup_excludes_slow_start():
    clock = FakeClock(read_cost_ns=0)
    fn = Workload(clock, jittered(10_000, 0.02, seed=2, slow_first=20, slow_factor=5.0))
    m = measure(fn, warmup=AdaptiveWarmup(window=8), stop=FixedStop(20), clock=clock)
    assert m.warmup.converged and m.metadata["warmup_converged"] is True
    assert m.warmup.n_calls >= 20
    assert max(m.samples_s) < 1.2 * 10_000e-9
    assert m.median_s == pytest.approx(10_000e-9, rel=0.03)


def test_adaptive_warmup_stationary_noise_converges_quickly():
    clock = FakeClock()
    fn = Workload(clock, jittered(1_000, 0.05, seed=3))
    report = AdaptiveWarmup(window=10).run(fn, clock=clock)
    assert report.converged and report.n_samples <= 45


def test_adaptive_warmup_longer_cold_phase_detected_by_level_shift():
    clock = FakeClock()
    fn = Workload(clock, jittered(10_000, 0.02, seed=11, slow_first=35, slow_factor=5.0))
    report = AdaptiveWarmup().run(fn, clock=clock)
    assert report.converged and report.n_calls >= 35 + 10
    assert report.steady_state_start >= 25


def test_adaptive_warmup_heavy_but_stationary_noise_converges():
    clock = FakeClock()
    fn = Workload(clock, jittered(1_000, 0.3, seed=4))
    report = AdaptiveWarmup(window=10).run(fn, clock=clock)
    assert report.converged


def test_adaptive_warmup_never_stable_says_so():
    clock = FakeClock()
    fn = Workload(clock, lambda k: 1_000 * 1.03**k)  # keeps slowing down: never steady
    with pytest.warns(WarmupNotConvergedWarning, match="did not reach steady state"):
        report = AdaptiveWarmup(window=5, min_samples=10, max_calls=200).run(fn, clock=clock)
    assert not report.converged
    assert report.n_calls == 200 == fn.calls
    assert "max_calls" in report.reason and report.steady_state_start is None


def test_adaptive_warmup_time_cap_with_fake_clock():
    clock = FakeClock()
    fn = Workload(clock, lambda k: 100_000 + 10_000 * k)  # 100 us and growing
    with pytest.warns(WarmupNotConvergedWarning):
        report = AdaptiveWarmup(window=5, max_time_s=0.01).run(fn, clock=clock)
    assert not report.converged and "max_time_s" in report.reason
    assert report.duration_s == pytest.approx(0.01, rel=0.2)


def test_measure_records_unconverged_warmup_in_metadata():
    clock = FakeClock()
    fn = Workload(clock, lambda k: 1_000 * 1.03**k)
    with pytest.warns(WarmupNotConvergedWarning):
        m = measure(fn, warmup=AdaptiveWarmup(window=5, min_samples=10, max_calls=50), stop=3, clock=clock, warn=False)
    assert m.metadata["warmup_converged"] is False
    assert m.warmup.n_calls == 50


@pytest.mark.parametrize(
    "kwargs",
    [{"window": 2}, {"max_calls": 0}, {"max_time_s": 0}, {"alpha": 5}, {"dispersion_ratio": 0.5},
     {"window": 10, "max_samples": 5}, {"window": 10, "min_samples": 15}],
)
def test_adaptive_warmup_validates(kwargs):
    with pytest.raises(InvalidParameterError):
        AdaptiveWarmup(**kwargs)


def test_steady_state_check_detects_each_kind_of_change():
    rng = np.random.default_rng(0)
    base = list(1.0 + 0.01 * rng.standard_normal(20))
    assert steady_state_check(base[:10], base[10:])[0]
    trend = [1.0 + 0.02 * i for i in range(20)]
    ok, why = steady_state_check(trend[:10], trend[10:])
    assert not ok and "trend" in why
    shifted = base[:10] + [v * 1.5 for v in base[10:]]
    ok, why = steady_state_check(shifted[:10], shifted[10:])
    assert not ok and ("level" in why or "trend" in why)
    wide = [1.0 + 0.2 * (v - 1.0) / 0.01 for v in base[10:]]
    ok, why = steady_state_check(base[:10], [1.0 + 0.002 * (v - 1) / 0.01 for v in wide])
    assert ok or "dispersion" in why  # narrower noise in the recent window: fine either way
    ok, why = steady_state_check(base[:10], wide)
    assert not ok and "dispersion" in why
    # a tiny drift that is statistically significant but below the tolerance is steady
    tiny = [1.0 + 1e-5 * i for i in range(20)]
    assert steady_state_check(tiny[:10], tiny[10:])[0]
    assert steady_state_check([1.0] * 10, [1.0] * 10)[0]


# ------------------------------------------------------------------------ stopping
def test_fixed_stop_takes_exactly_n_samples():
    clock = FakeClock()
    m = measure(Workload(clock, lambda k: 1000), warmup=0, stop=FixedStop(7), clock=clock)
    assert m.n_samples == 7 and m.metadata["stop_reason"] == "7 samples taken"
    for bad in (0, -3, 10**12, 2.5):
        with pytest.raises(InvalidParameterError):
            FixedStop(bad)


def test_adaptive_stop_stops_early_when_precise():
    clock = FakeClock()
    fn = Workload(clock, jittered(1_000, 0.01, seed=5))
    m = measure(fn, warmup=0, stop=AdaptiveStop(target_rel_halfwidth=0.02, min_samples=10), clock=clock)
    assert m.metadata["stop_target_reached"] is True
    assert 10 <= m.n_samples < 100
    assert m.metadata["stop_rel_halfwidth"] <= 0.02


def test_adaptive_stop_needs_more_samples_for_tighter_target():
    counts = []
    for target in (0.05, 0.01):
        clock = FakeClock()
        fn = Workload(clock, jittered(1_000, 0.05, seed=6))
        m = measure(fn, warmup=0, stop=AdaptiveStop(target_rel_halfwidth=target), clock=clock, warn=False)
        assert m.metadata["stop_target_reached"]
        counts.append(m.n_samples)
    assert counts[1] > counts[0]


def test_adaptive_stop_budget_reports_target_missed():
    clock = FakeClock()
    fn = Workload(clock, jittered(1_000, 0.8, seed=7))
    with pytest.warns(UnstableMeasurementWarning, match="budget"):
        m = measure(fn, warmup=0, stop=AdaptiveStop(target_rel_halfwidth=0.001, max_samples=30), clock=clock)
    assert m.n_samples == 30
    assert m.metadata["stop_target_reached"] is False and "max_samples" in m.metadata["stop_reason"]


def test_adaptive_stop_time_budget_with_fake_clock():
    clock = FakeClock()
    fn = Workload(clock, jittered(1_000_000, 0.8, seed=8))  # 1 ms calls, very noisy
    stop = AdaptiveStop(target_rel_halfwidth=0.001, max_samples=10_000, max_time_s=0.05)
    m = measure(fn, warmup=0, stop=stop, clock=clock, warn=False)
    assert m.metadata["stop_target_reached"] is False and "time budget" in m.metadata["stop_reason"]
    assert 30 <= m.n_samples <= 120


def test_adaptive_stop_validates():
    for kwargs in ({"target_rel_halfwidth": 0}, {"min_samples": 2}, {"max_samples": 5},
                   {"confidence_level": 95}, {"max_time_s": -1}):
        with pytest.raises(InvalidParameterError):
            AdaptiveStop(**kwargs)
    with pytest.raises(InvalidParameterError, match=r"Did you mean 0\.95"):
        AdaptiveStop(confidence_level=95)


# ------------------------------------------------------------------------ measure
def test_measure_auto_number_and_per_call_samples():
    clock = FakeClock(read_cost_ns=200)
    fn = Workload(clock, lambda k: 50)
    m = measure(fn, number="auto", stop=5, warmup=2, clock=clock)
    assert m.number == 5_000
    assert m.metadata["calibration"]["number"] == 5_000 and m.metadata["number_mode"] == "auto"
    # per-call = (200 ns read + 5000 * 50 ns) / 5000
    assert m.samples_s == pytest.approx([(200 + 5_000 * 50) / 5_000 * 1e-9] * 5)
    assert m.warmup.n_calls == 2 * 5_000
    assert m.metadata["overhead_fraction"] < 0.01
    assert m.metadata["timer"] == "custom clock"


def test_measure_short_samples_warn_and_suggest_auto():
    clock = FakeClock(read_cost_ns=200)
    with pytest.warns(UnstableMeasurementWarning, match="number='auto'"):
        m = measure(Workload(clock, lambda k: 50), clock=clock)
    assert any("number='auto'" in w for w in m.metadata["stability_warnings"])
    clock = FakeClock(read_cost_ns=200)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        m = measure(Workload(clock, lambda k: 50), clock=clock, warn=False)
    assert m.metadata["stability_warnings"]


def test_measure_warns_on_high_dispersion():
    clock = FakeClock()
    with pytest.warns(UnstableMeasurementWarning, match="interquartile range"):
        m = measure(Workload(clock, jittered(1_000_000, 0.5, seed=9)), stop=30, clock=clock)
    assert m.metadata["iqr_over_median"] >= 0.1 and m.metadata["cv"] > 0.1


def test_a_few_outliers_do_not_make_a_measurement_unstable():
    """Preempted samples inflate the std but not the IQR of a median-summarised result."""
    clock = FakeClock()
    cost = jittered(1_000_000, 0.01, seed=10)
    outliers = {3, 17}  # two samples hit by a 20x preemption
    fn = Workload(clock, lambda k: cost(k) * (20 if k - 5 in outliers else 1))
    with warnings.catch_warnings():
        warnings.simplefilter("error", UnstableMeasurementWarning)
        m = measure(fn, stop=30, clock=clock)
    assert m.metadata["cv"] > 0.5 and m.metadata["stability_warnings"] == []


def test_gc_disabled_inside_timed_blocks_only():
    assert gc.isenabled()
    clock = FakeClock()
    fn = Workload(clock, lambda k: 1000)
    measure(fn, clock=clock, warn=False)
    assert fn.gc_states and not any(fn.gc_states)
    assert gc.isenabled()
    fn = Workload(clock, lambda k: 1000)
    m = measure(fn, clock=clock, disable_gc=False, warn=False)
    assert all(fn.gc_states) and m.gc_disabled is False and m.metadata["gc"] == "enabled"


def test_gc_restored_when_fn_raises():
    calls = []

    def boom():
        calls.append(gc.isenabled())
        raise RuntimeError("model failed")

    with pytest.raises(RuntimeError, match="model failed"):
        measure(boom)
    assert calls == [False] and gc.isenabled()


def test_gc_left_disabled_if_it_was_disabled():
    gc.disable()
    try:
        measure(lambda: None, warmup=1, stop=2, warn=False)
        assert not gc.isenabled()
    finally:
        gc.enable()


@pytest.mark.parametrize(
    "kwargs",
    [{"number": 0}, {"number": -1}, {"number": "fast"}, {"number": 2.5}, {"warmup": -1},
     {"warmup": "slow"}, {"stop": 0}, {"stop": 10**12}, {"stop": "forever"}, {"disable_gc": "yes"},
     {"warmup": True}],
)
def test_measure_validates(kwargs):
    with pytest.raises(InvalidParameterError):
        measure(lambda: None, **kwargs)


def test_measure_rejects_non_callable():
    with pytest.raises(InvalidParameterError, match="zero-argument callable"):
        measure(42)


def test_measure_accepts_shorthands_and_real_clock():
    m = measure(lambda: sum(range(50)), warmup="adaptive", stop="adaptive", number="auto", warn=False)
    assert m.metadata["warmup_protocol"].startswith("adaptive")
    assert m.metadata["stop_protocol"].startswith("adaptive")
    assert all(v > 0 for v in m.samples_s)
    assert m.metadata["pid"] == os.getpid() and m.metadata["timer"] == "time.perf_counter_ns"


def test_measurement_round_trips_through_json():
    clock = FakeClock()
    m = measure(Workload(clock, jittered(1000, 0.1, seed=1)), clock=clock, warn=False)
    again = Measurement.from_dict(json.loads(json.dumps(m.to_dict(), allow_nan=False)))
    assert again == m
    assert m.median_s <= max(m.samples_s) and m.min_s == min(m.samples_s)
    assert m.mean_s == pytest.approx(sum(m.samples_s) / m.n_samples)


# ------------------------------------------------------------------------ processes
def test_resolve_target():
    assert resolve_target("os:getpid") is os.getpid
    assert resolve_target("os.path:join") is os.path.join
    with pytest.raises(InvalidParameterError, match="has no attribute"):
        resolve_target("os:no_such_thing")
    with pytest.raises(InvalidParameterError, match="cannot import"):
        resolve_target("no_such_module_xyz:f")
    with pytest.raises(InvalidParameterError, match="not a zero-argument callable"):
        resolve_target("os:sep")
    with pytest.raises(InvalidParameterError, match="module:attribute"):
        resolve_target("os.getpid")


def test_measure_in_processes_uses_fresh_processes():
    results = measure_in_processes("os:getpid", processes=2, warmup=1, stop=3, number="auto", warn=False)
    assert [m.process_index for m in results] == [0, 1]
    pids = {m.metadata["pid"] for m in results}
    assert len(pids) == 2 and os.getpid() not in pids
    for m in results:
        assert m.n_samples == 3 and m.number > 1 and all(v > 0 for v in m.samples_s)


def test_measure_in_processes_with_picklable_callable():
    (m,) = measure_in_processes(functools.partial(sum, range(100)), processes=1, warmup=0, stop=2, warn=False)
    assert m.n_samples == 2 and m.process_index == 0


def test_measure_in_processes_worker_error_names_target():
    with pytest.raises(ModelError, match=r"int.*ValueError in worker process 0: invalid literal") as info:
        measure_in_processes(functools.partial(int, "not a number"), processes=2, stop=2)
    assert "Traceback" in info.value.worker_traceback


def test_measure_rejects_stop_rule_that_takes_no_sample():
    class Never:
        protocol = "never"

        def check(self, samples_s, elapsed_s):
            from torchperf.timing import StopDecision

            return StopDecision("no samples wanted")

    with pytest.raises(InvalidParameterError, match="at least one sample"):
        measure(lambda: None, stop=Never())


def test_measure_in_processes_input_errors():
    with pytest.raises(InvalidParameterError, match="cannot be sent to a worker"):
        measure_in_processes(lambda: None, processes=1)
    with pytest.raises(InvalidParameterError, match="module:attribute"):
        measure_in_processes("no-colon", processes=1)
    with pytest.raises(InvalidParameterError, match="cannot import"):
        measure_in_processes("no_such_module_xyz:f", processes=1)
    with pytest.raises(InvalidParameterError):
        measure_in_processes("os:getpid", processes=0)
    with pytest.raises(InvalidParameterError, match="number"):
        measure_in_processes("os:getpid", processes=1, number=-2)


def test_measure_in_processes_timeout_kills_worker():
    t0 = time.perf_counter()
    with pytest.raises(BenchmarkTimeoutError, match=r"timeout_s=1\.5"):
        measure_in_processes(functools.partial(time.sleep, 30), processes=1, timeout_s=1.5)
    assert time.perf_counter() - t0 < 25  # killed, not waited for


# ------------------------------------------------------------------------ measuring window
def test_window_spreads_each_sample_over_median_blocks():
    """window_s: the samples span the window; each is the median of k blocks (fake clock)."""
    clock = FakeClock()
    # 1 us calls; every 7th call is 50x slower (a preempted moment)
    work = Workload(clock, lambda k: 50_000 if k % 7 == 3 else 1_000)
    m = measure(work, warmup=0, stop=10, number=1, clock=clock, window_s=0.001, warn=False)
    k = m.metadata["blocks_per_sample"]
    assert 10 <= k <= 20  # a 0.1 ms slice per sample: 1 us blocks, every 7th one 50 us
    assert m.n_samples == 10 and m.metadata["window_s"] == 0.001
    assert m.metadata["measuring_s"] >= 0.001
    assert all(v == pytest.approx(1e-6) for v in m.samples_s)  # medians drop the slow calls
    plain = measure(work, warmup=0, stop=10, number=1, clock=clock, warn=False)
    assert plain.metadata["blocks_per_sample"] == 1 and plain.metadata["window_s"] is None


def test_window_with_calibration_and_bad_value():
    clock = FakeClock()
    work = Workload(clock, lambda k: 1_000)
    m = measure(work, warmup=0, stop=5, number="auto", clock=clock, window_s=0.05, warn=False)
    sample_s = m.metadata["calibration"]["sample_s"]
    assert m.metadata["blocks_per_sample"] == math.ceil(0.05 / (5 * sample_s))  # constant cost
    assert m.metadata["measuring_s"] >= 0.05
    with pytest.raises(InvalidParameterError, match="window_s"):
        measure(work, stop=2, clock=clock, window_s=-1)


# ------------------------------------------- calibration after warmup (warmed cost)
def test_measure_auto_number_is_calibrated_on_warmed_code():
    # per-call cost drops 100x after the first K calls (JIT / caches / lazy init)
    clock = FakeClock(read_cost_ns=20)
    k_cold = 6
    fn = Workload(clock, lambda k: 100_000 if k < k_cold else 1_000)
    m = measure(fn, number="auto", warmup=FixedWarmup(5), stop=FixedStop(5), clock=clock, warn=False)
    # a cold calibration would pick number ~2 (2 x 100 us >= 0.2 ms); warmed it must fill 0.2 ms
    assert m.number * 1_000 >= DEFAULT_MIN_SAMPLE_S * 1e9
    assert m.metadata["calibration"]["number"] == m.number
    assert all(s * m.number >= DEFAULT_MIN_SAMPLE_S for s in m.samples_s)


def test_measure_fixed_number_is_never_recalibrated():
    clock = FakeClock(read_cost_ns=20)
    fn = Workload(clock, lambda k: 100_000 if k < 6 else 1_000)
    m = measure(fn, number=3, warmup=FixedWarmup(5), stop=FixedStop(4), clock=clock, warn=False)
    assert m.number == 3
    assert m.metadata["number_mode"] == "fixed"
    assert m.warmup.n_calls == 5 * 3  # warmup samples also use the fixed number
