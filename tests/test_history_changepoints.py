"""torchperf.history.changepoints: level shifts across the history, FDR across series.

Two checked-in histories with known injected steps (tools/make_history_fixture.py, truth.json):
tests/data/asv-real was written by a real `asv run` on this machine (`--mode real`; steps of
+5%, +8%, +10%, +25%, -20% and a +30% accuracy-error step); tests/data/asv-history (frozen;
made by `--mode transplant` at commit 98882e0, before the 5% series existed) has the earlier
run's benchmarks and commits, written with asv's own Results writer and noise transplanted
from real (Django) asv runs.
Run with ``pytest -s`` to see torchperf's and asv's own step detection side by side.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from torchperf.errors import InvalidParameterError
from torchperf.history import detect_change_points, find_regressions, load_results
from torchperf.history.changepoints import segment_series, threshold_for

DATA = Path(__file__).parent / "data" / "asv-history"
REAL = Path(__file__).parent / "data" / "asv-real"
DJANGO = Path(__file__).resolve().parents[2] / "shared" / "data" / "asv-results-django"


@pytest.fixture(scope="module")
def history():
    return load_results(DATA / "results"), json.loads((DATA / "truth.json").read_text())


def asv_regressions(g: pd.DataFrame, threshold: float, *, weighted: bool = True) -> list[int]:
    """asv's own publish-time detection on one series: first-bad positions of upward jumps.

    ``weighted=True`` is what ``asv publish`` does (weights 2/|99% CI| from the stored stats).
    """
    from asv._stats import get_weight
    from asv.step_detect import detect_regressions, detect_steps

    g = g.sort_values("revision")
    y = g["value"].tolist()
    w = [get_weight({"ci_99_a": a, "ci_99_b": b}) if np.isfinite(a) and np.isfinite(b) else None
         for a, b in zip(g["ci_low"], g["ci_high"], strict=True)]
    steps = detect_steps(y, w if weighted else None)
    _, _, jumps = detect_regressions(steps, threshold)
    revs = g["revision"].tolist()
    return [revs[j[1]] for j in (jumps or [])]


def evaluate(df: pd.DataFrame, truth: dict) -> tuple[list[str], list, list, list]:
    """torchperf vs truth vs asv's own detection, per series: (table lines, missing, extra, hits)."""
    cps = detect_change_points(df)
    found: dict[str, list] = {}
    for cp in cps:
        found.setdefault(cp.benchmark + "".join(cp.params), []).append(cp)
    lines = [f"{'series':32s} {'injected (first bad)':22s} {'torchperf (first bad, ratio)':36s} "
             "asv publish / asv unweighted"]
    missing, extra, hits = [], [], []
    for (bench, pstr), g in df.groupby(["benchmark", "param_str"]):
        expect = {s["first_bad"]: s["ratio"] for s in truth["steps"][bench]}
        key = bench + "".join(g["params"].iloc[0])
        got = found.get(key, [])
        thr = threshold_for(f"{bench}{pstr}", df.attrs["regressions_thresholds"])
        lines.append(
            f"{bench.split('.', 1)[1] + pstr:32s} {sorted(expect)!s:22s} "
            f"{[(c.revision_after, round(c.ratio, 3)) for c in got]!s:36s} "
            f"{asv_regressions(g, thr)} / {asv_regressions(g, thr, weighted=False)}"
        )
        for first_bad, ratio in expect.items():
            hit = [c for c in got if c.revision_after == first_bad]
            if hit:
                hits.append((hit[0], ratio))
            else:
                missing.append((bench, first_bad, ratio))
        extra += [(key, c.revision_after) for c in got if c.revision_after not in expect]
    return lines, missing, extra, hits


def check_hit(cp, ratio: float, truth: dict) -> None:
    first_bad = cp.revision_after
    # last good is the previous revision, unless that one was set aside as an outlier
    assert first_bad - 3 <= cp.revision_before <= first_bad - 1
    assert cp.commit_after == truth["commits"][first_bad]
    assert cp.commit_before == truth["commits"][cp.revision_before]
    assert cp.ci_low <= cp.ratio <= cp.ci_high
    assert abs(math.log(cp.ratio / ratio)) < 0.05, (cp.benchmark, cp.ratio, ratio)
    assert cp.direction == ("regression" if ratio > 1 else "improvement")
    assert cp.q_value <= 0.05 and cp.cause == "code"


def test_injected_steps_found_at_the_right_commit_and_nowhere_else(history):
    """asv Results-writer history with real transplanted noise: every step, nothing else."""
    df, truth = history
    lines, missing, extra, hits = evaluate(df, truth)
    print("\n[tests/data/asv-history] asv column: first-bad revisions of asv.step_detect's regressions")
    print("\n".join(lines))
    assert not missing, f"injected steps not found: {missing}"
    assert not extra, f"change points in series without a step there: {extra}"
    for cp, ratio in hits:
        check_hit(cp, ratio, truth)
    assert len(hits) == 5


def test_real_asv_run_history():
    """The real `asv run` history: every injected step (5% and up) at its commit, nothing else.

    Printed next to asv's own step detection (``pytest -s``). Regenerate with
    ``python tools/make_history_fixture.py --mode real`` (it refuses to write on a noisy machine).
    """
    df = load_results(REAL / "results")
    truth = json.loads((REAL / "truth.json").read_text())
    assert min(abs(math.log(s["ratio"])) for steps in truth["steps"].values() for s in steps) <= math.log(1.05) + 1e-9
    lines, missing, extra, hits = evaluate(df, truth)
    print(f"\n[tests/data/asv-real: real asv run, noise {truth.get('noise')}]")
    print("\n".join(lines))
    assert not missing, f"injected steps not found: {missing}"
    assert not extra, f"change points in series without a step there: {extra}"
    for cp, ratio in hits:
        check_hit(cp, ratio, truth)
    assert len(hits) == sum(len(v) for v in truth["steps"].values())


def test_find_regressions_and_since(history):
    df, truth = history
    regs = find_regressions(df)
    assert {r.benchmark for r in regs} == {
        "benchmarks.Steps.time_regress", "benchmarks.Steps.time_two_steps", "benchmarks.track_error_rate",
    }
    assert all(r.direction == "regression" for r in regs)
    assert [r.revision_after for r in regs] == sorted((r.revision_after for r in regs), reverse=True)
    late = find_regressions(df, since=truth["commits"][15][:7])
    assert {r.revision_after for r in late} == {18, 22}
    d = regs[0].to_dict()
    for k in ("benchmark", "params", "machine", "env", "commit_before", "commit_after", "ratio",
              "ci_low", "ci_high", "p_value", "direction", "metric_direction"):
        assert k in d
    json.dumps(d)


def _frame(series: dict[str, np.ndarray], **extra) -> pd.DataFrame:
    rows = []
    for name, vals in series.items():
        for i, v in enumerate(vals):
            rows.append({"machine": "m", "env_name": "e", "benchmark": name, "params": (),
                         "param_str": "", "commit": f"{i:08x}", "revision": i, "value": float(v),
                         "lower_is_better": True, "unit": "seconds", **{k: f(i) for k, f in extra.items()}})
    return pd.DataFrame(rows)


def test_seeded_simulation_outliers_drift_and_steps():
    rng = np.random.default_rng(1)
    n = 60
    noise = lambda: np.exp(rng.normal(0, 0.02, n))  # noqa: E731
    spike = noise()
    spike[30] *= 3.0  # one slow commit, then back
    drift = noise() * np.exp(0.003 * np.arange(n))  # 0.3% per commit: 18% overall, no step
    step = noise()
    step[25:] *= 1.07
    down = noise()
    down[40:] *= 0.9
    df = _frame({"spike": spike, "drift": drift, "step": step, "down": down, "flat": noise()})
    cps = detect_change_points(df)
    got = {(c.benchmark, c.revision_after, c.direction) for c in cps}
    assert got == {("step", 25, "regression"), ("down", 40, "improvement")}
    # include_insignificant exposes candidates, marked as such
    allc = detect_change_points(df, include_insignificant=True)
    assert all(c.significant == (c.q_value <= 0.05 and abs(c.ratio - 1) >= c.threshold) for c in allc)


def test_higher_is_better_direction_and_deterministic_series():
    vals = np.r_[np.full(10, 0.9), np.full(10, 0.8)]  # accuracy fell: no noise at all
    df = _frame({"acc": vals})
    df["lower_is_better"] = False
    (cp,) = detect_change_points(df)
    assert cp.direction == "regression" and cp.metric_direction == "higher_is_better"
    assert cp.revision_after == 10 and cp.ratio == pytest.approx(0.8 / 0.9)


def test_step_coinciding_with_environment_fact_change_is_labelled_environment():
    rng = np.random.default_rng(3)
    vals = np.exp(rng.normal(0, 0.01, 30))
    vals[15:] *= 1.3
    df = _frame({"matmul": vals}, blas_threads=lambda i: 4 if i < 15 else 1)
    (cp,) = detect_change_points(df)
    assert cp.cause == "environment" and cp.env_change == {"blas_threads": [4, 1]}
    assert find_regressions(df) == []
    assert find_regressions(df, include_environment=True) == [cp]


def test_threshold_from_asv_config_mapping():
    assert threshold_for("a.time_x(1)", {r"a\.time_x": 0.2, "a.*": 0.1}) == 0.2
    assert threshold_for("b.time", {r"a\.": 0.2}) == 0.05
    assert threshold_for("b.time", 0.03) == 0.03
    rng = np.random.default_rng(5)
    vals = np.exp(rng.normal(0, 0.005, 40))
    vals[20:] *= 1.08
    df = _frame({"b.time": vals})
    assert len(detect_change_points(df)) == 1
    assert detect_change_points(df, thresholds={"b": 0.10}) == []


def test_segment_series_is_pure_and_respects_min_size():
    y = np.r_[np.zeros(10), np.ones(2), np.zeros(10)]
    assert segment_series(y, min_size=3) == [] or all(3 <= k <= 19 for k in segment_series(y))
    y2 = np.r_[np.zeros(10), np.ones(10)] + np.random.default_rng(0).normal(0, 0.01, 20)
    assert segment_series(y2) == [10]


def test_validation_messages():
    df = _frame({"x": np.ones(10)})
    with pytest.raises(InvalidParameterError, match="fdr"):
        detect_change_points(df, fdr=5)
    with pytest.raises(InvalidParameterError, match=r"Did you mean 0\.95"):
        detect_change_points(df, confidence_level=95)
    with pytest.raises(InvalidParameterError, match="missing columns"):
        detect_change_points(pd.DataFrame({"value": [1.0]}))


def test_aa_history_real_noise_false_change_point_rate(history):
    """A/A: no code change, 30 revisions, real noise -> < 1 in 20 series with a change point.

    (a) every Django series (real CI-runner noise, 2020-2022), 30 of its per-revision results
    drawn at random and shuffled: exchangeable by construction, so any change point is false,
    yet the run-to-run noise (heavy tails, runner pools) is real; (b) the 16 `Flat.time_flat`
    series of tests/data/asv-history (transplanted real noise); (c) the `Flat.time_flat` series of
    the real asv run (tests/data/asv-real), which must show no change point at all.
    """
    df, _ = history
    flat = df[df["benchmark"] == "benchmarks.Flat.time_flat"]
    n_series = flat.groupby("param_str").ngroups
    false = len({c.params for c in detect_change_points(flat)})
    print(f"\nA/A asv-history flat series (transplanted real noise): {false}/{n_series} series")
    assert false / n_series < 1 / 20
    real = load_results(REAL / "results")
    rflat = real[real["benchmark"] == "benchmarks.Flat.time_flat"]
    rcps = detect_change_points(rflat)
    print(f"A/A real asv run flat series: {len({c.params for c in rcps})}/"
          f"{rflat.groupby('param_str').ngroups} series with a change point")
    assert not rcps
    if not DJANGO.is_dir():
        pytest.skip(f"real Django asv data not present at {DJANGO}; Django A/A not run")
    dj = load_results(DJANGO)
    dj = dj[np.isfinite(dj["value"])]
    rng = np.random.default_rng(2024)
    parts = []
    for _, g in dj.groupby(["env_name", "benchmark", "param_str"]):
        if len(g) < 30:
            continue
        pick = g.iloc[rng.permutation(len(g))[:30]].copy()
        pick["revision"] = np.arange(30)
        pick["commit"] = [f"{i:08x}" for i in range(30)]
        parts.append(pick)
    aa = pd.concat(parts, ignore_index=True)
    n_dj = aa.groupby(["env_name", "benchmark", "param_str"]).ngroups
    false_dj = len({(c.env, c.benchmark, c.params) for c in detect_change_points(aa)})
    print(f"A/A Django (shuffled real runs): {false_dj}/{n_dj} series with a false change point")
    assert false_dj / n_dj < 1 / 20


# --------------------------------------------------------------------------- the method, by simulation


def _series_frame(series: dict[str, np.ndarray], env: str = "e",
                  ci: dict[str, tuple[np.ndarray, np.ndarray]] | None = None) -> pd.DataFrame:
    parts = []
    for name, vals in series.items():
        n = len(vals)
        d = {"machine": "m", "env_name": env, "benchmark": name, "params": [()] * n, "param_str": "",
             "commit": [f"{i:08x}" for i in range(n)], "revision": np.arange(n), "value": vals,
             "lower_is_better": True, "unit": "seconds"}
        if ci and name in ci:
            d["ci_low"], d["ci_high"] = ci[name]
        parts.append(pd.DataFrame(d))
    return pd.concat(parts, ignore_index=True)


def test_scan_bound_false_alarm_rate():
    """Per series, the scan-corrected p of the best window is honest: P(any candidate) <= 5% under no change."""
    rng = np.random.default_rng(11)
    for n in (12, 40):
        rate = sum(bool(segment_series(rng.normal(0, 0.02, n))) for _ in range(300)) / 300
        print(f"\nscan bound: {rate:.1%} of 300 change-free normal series of {n} revisions get a candidate")
        assert 0.005 <= rate <= 0.075, (n, rate)


def test_change_free_histories_few_false_findings():
    """150 change-free series (Gaussian, single-commit outliers, bimodal runner noise; 8-80 revisions)."""
    rng = np.random.default_rng(12)
    series = {}
    for i in range(150):
        n = int(rng.integers(8, 80))
        y = rng.normal(0, rng.choice([0.01, 0.03]), n)
        if i % 3 == 1:
            y[rng.random(n) < 0.05] += np.log(3)
        if i % 3 == 2:
            y += np.log(1.15) * (rng.random(n) < 0.25)
        series[f"s{i}"] = np.exp(y)
    cps = detect_change_points(_series_frame(series), min_effect=0.0)
    assert len({c.benchmark for c in cps}) <= 3  # <= 2% of the series


def test_short_levels_steps_near_start_and_bumps_found_at_the_exact_commit():
    """Steps 2-3 revisions after the start, bumps fixed 3-7 revisions later, a step 3 revisions
    after another, 12-revision series; 10-100% in 2% noise: the exact first-bad commit of each."""
    rng = np.random.default_rng(5)
    series, truth = {}, {}
    for i in range(60):
        n, kind = 60, i % 4
        y = rng.normal(0, 0.02, n)
        mag = np.log([1.1, 1.2, 1.5, 2.0][(i // 4) % 4])
        if kind == 0:
            k = int(rng.integers(2, 4))
            y[k:] += mag
            t = [k]
        elif kind == 1:
            k, w = int(rng.integers(10, 45)), int(rng.integers(3, 8))
            y[k:k + w] += mag
            t = [k, k + w]
        elif kind == 2:
            k = int(rng.integers(10, 45))
            y[k:] += mag
            y[k + 3:] -= 1.5 * mag
            t = [k, k + 3]
        else:
            y = y[:12]
            k = int(rng.integers(3, 10))
            y[k:] += mag
            t = [k]
        series[f"s{i}"], truth[f"s{i}"] = np.exp(y), t
    found: dict[str, list[int]] = {}
    for c in detect_change_points(_series_frame(series)):
        found.setdefault(c.benchmark, []).append(c.revision_after)
    total = sum(len(t) for t in truth.values())
    hits = sum(k in found.get(s, []) for s, t in truth.items() for k in t)
    extra = sum(f not in truth[s] for s, fs in found.items() for f in fs)
    assert hits >= 0.95 * total and extra <= 2, (hits, total, extra)


def test_stored_uncertainty_keeps_badly_measured_revisions_from_making_a_level():
    """Five revisions measured badly (15% noise, and their stored 99% CI says so) in 1% noise."""
    rng = np.random.default_rng(3)
    without = with_ci = 0
    for _ in range(30):
        sd = np.full(50, 0.01)
        sd[20:25] = 0.15
        vals = np.exp(rng.normal(0, sd))
        ci = {"x": (vals * np.exp(-2.576 * sd), vals * np.exp(2.576 * sd))}
        without += bool(detect_change_points(_series_frame({"x": vals}), min_effect=0.0))
        with_ci += bool(detect_change_points(_series_frame({"x": vals}, ci=ci), min_effect=0.0))
    assert with_ci <= 1 and without >= 5, (with_ci, without)


def test_a_step_in_two_environments_is_stronger_evidence():
    """A 3% step at one commit in two environments (2% noise, 40 revisions): found far more
    often analysed together than each environment alone (within one revision)."""
    rng = np.random.default_rng(4)
    alone = together = 0
    for _ in range(30):
        frames = []
        for env in ("a", "b"):
            y = rng.normal(0, 0.02, 40)
            y[20:] += np.log(1.03)
            frames.append(_series_frame({"x": np.exp(y)}, env=env))
        alone += sum(abs(c.revision_after - 20) <= 1 for f in frames
                     for c in detect_change_points(f, min_effect=0.0))
        together += sum(abs(c.revision_after - 20) <= 1
                        for c in detect_change_points(pd.concat(frames), min_effect=0.0))
    print(f"\n3% step in two environments: {together} of 60 found together, {alone} of 60 alone")
    assert together >= alone + 10, (alone, together)


def test_django_worked_example():
    """docs/history.md's worked example: change points of the real Django history, grouped by commit.

    ``pytest tests/test_history_changepoints.py -s -k django_worked`` prints what the docs show.
    """
    import collections

    if not DJANGO.is_dir():
        pytest.skip(f"real Django asv data not present at {DJANGO}; worked example not run")
    df = load_results(DJANGO)
    cps = detect_change_points(df)
    n_series = df.groupby(["machine", "env_name", "benchmark", "param_str"]).ngroups
    print(f"\n{len(cps)} change points in {n_series} series, at {len({c.commit_after for c in cps})} commits")
    groups: dict[str, list] = collections.defaultdict(list)
    for c in cps:
        groups[c.commit_after].append(c)
    for commit, cs in sorted(groups.items(), key=lambda kv: kv[1][0].revision_after):
        kinds = collections.Counter(c.direction for c in cs)
        print(f"{commit[:8]} {cs[0].date_after} {len(cs):2d} series "
              f"({', '.join(f'{v} {k}' for k, v in sorted(kinds.items()))}) in {', '.join(sorted({c.env for c in cs}))}")
        for c in sorted(cs, key=lambda c: (c.q_value, c.env))[:2]:
            print(f"    {c.env:17s} {c.benchmark.rsplit('.', 1)[-1]:24s} {c.commit_before[:8]}..{c.commit_after[:8]} "
                  f"x{c.ratio:.3f} [{c.ci_low:.3f}, {c.ci_high:.3f}] q={c.q_value:.2g} "
                  f"levels of {c.n_before}/{c.n_after} revisions, {c.method}")
    by = {(c.env, c.benchmark.rsplit(".", 1)[-1], c.commit_after[:8]): c for c in cps}
    # a regression that lasted three revisions, in all three conda environments, then fixed
    for env in ("conda-py3.8", "conda-py3.9"):
        up = by[(env, "time_query_delete", "00370342")]
        assert up.direction == "regression" and up.n_after == 3 and up.ratio > 1.2
    fixed = [c for c in cps if c.commit_after.startswith("c614e811") and c.direction == "improvement"]
    assert {c.env for c in fixed} == {"conda-py3.8", "conda-py3.9", "conda-py3.10"}
    # a large step in form rendering, on a drifting series
    form = by[("virtualenv-py3.10", "time_small_form_render", "4ce59f60")]
    assert form.direction == "regression" and form.ratio > 1.5


def test_progress_reports_scanned_series_up_to_all_and_changes_nothing(history):
    """``progress(done, total)``: non-decreasing, ends at (n, n), and the findings are the same."""
    import itertools

    from torchperf.history.changepoints import detect_change_points

    df, _ = history
    n = df.groupby(["machine", "env_name", "benchmark", "param_str"]).ngroups
    seen: list[tuple[int, int]] = []
    with_progress = detect_change_points(df, progress=lambda k, t: seen.append((k, t)))
    assert with_progress == detect_change_points(df)
    assert any(cp.significant for cp in with_progress)
    assert seen[0] == (0, n) and seen[-1] == (n, n) and len(seen) >= 3
    assert all(a[0] <= b[0] and b[1] == n for a, b in itertools.pairwise(seen))
