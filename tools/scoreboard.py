"""Scoreboard: torchperf's change points against Apache Otava and asv on histories with known changes.

Scores three detectors on the same series:

* **torchperf** -- :func:`torchperf.history.detect_change_points` on one frame holding
  every series of a seed (so Benjamini-Hochberg runs across all of them and series of
  one benchmark in two environments are combined, as on a real history), with
  ``min_effect=0`` (no effect threshold: the statistics alone, as the other two).
* **otava** -- ``otava.analysis.compute_change_points(series)`` of ``apache-otava`` 0.8.0
  (the e-divisive "Hunter" method) with its defaults, one series at a time. It runs in
  its own virtualenv (not a torchperf dependency)::

      python -m venv tools/.venv-anchors && tools/.venv-anchors/bin/pip install apache-otava==0.8.0

* **asv** -- ``asv.step_detect.detect_steps(y, w)`` (asv's own step detection, with the
  weights ``asv publish`` uses: ``asv._stats.get_weight`` of the stored 99% CI); every
  boundary between its steps is a change point.

Histories: generated (``--seeds`` seeds; steps of 3-200 % anywhere including two
revisions from either end, steps right after another step, bumps that are fixed 3-12
revisions later, drifts, single-commit outliers, bimodal noise, a step in one of two
environments only, the same step in two environments, short series of 10-16
revisions, change-free series) plus the repository's fixtures ``tests/data/asv-history``
and ``tests/data/asv-real`` (ground truth in their ``truth.json``).

Scores: recall at the exact first-bad commit and within one revision; false findings
per change-free series (any change point in a series without a change); extra
findings in series with changes (not within one revision of a true change); CPU time
(``time.process_time`` of the detector calls alone).

Usage::

    nice -n 10 python tools/scoreboard.py                # default: 3 seeds (a few minutes)
    python tools/scoreboard.py --seeds 1 --no-otava      # quicker
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from torchperf.history import detect_change_points, load_results  # noqa: E402

OTAVA_PYTHON = ROOT / "tools" / ".venv-anchors" / "bin" / "python"
Z99 = 2.5758293035489004


@dataclass
class Series:
    """One series with its ground truth (indices of first-bad revisions)."""

    case: str  # scenario kind
    bench: str
    env: str
    values: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    truth: list[int] = field(default_factory=list)
    source: str = "generated"


# --------------------------------------------------------------------------- generator


def _noise(rng: np.random.Generator, n: int, sigma: float) -> tuple[np.ndarray, np.ndarray]:
    """Log-scale noise whose SD varies per revision, and that SD (it becomes the stored CI)."""
    sd = sigma * rng.lognormal(0.0, 0.35, n)
    return rng.normal(0.0, sd), sd


def _series(rng, case, bench, env, level, sd, truth, base) -> Series:
    values = base * np.exp(level)
    return Series(case, bench, env, values, values * np.exp(-Z99 * sd), values * np.exp(Z99 * sd),
                  sorted(truth))


def _mag(rng: np.random.Generator, choices: tuple[float, ...]) -> float:
    m = float(rng.choice(choices))
    return float(np.log1p(m) if rng.random() < 0.6 else -np.log1p(m) / 1.0)


STEP_SIZES = (0.03, 0.05, 0.10, 0.20, 0.50, 1.0, 2.0)


def generate(seed: int, *, scale: float = 1.0, n: int = 60) -> list[Series]:
    """Generated histories of one seed (``scale`` multiplies the number of series of each kind)."""
    rng = np.random.default_rng(seed)
    out: list[Series] = []
    counter = iter(range(10**6))

    def count(k: int) -> int:
        return max(1, round(k * scale))

    def sigma() -> float:
        return float(rng.choice((0.01, 0.02, 0.04)))

    def add(case: str, level: np.ndarray, sd: np.ndarray, truth: list[int], env: str = "env-a",
            bench: str | None = None) -> None:
        out.append(_series(rng, case, bench or f"case{next(counter):04d}", env, level, sd, truth,
                           float(10 ** rng.uniform(-6, -2))))

    for _ in range(count(30)):  # change-free
        e, sd = _noise(rng, n, sigma())
        add("flat", e, sd, [])
    for _ in range(count(10)):  # single-commit outliers, change-free
        e, sd = _noise(rng, n, sigma())
        hit = rng.random(n) < 0.04
        e[hit] += np.log(rng.uniform(1.5, 3.0, hit.sum()))
        add("outliers", e, sd, [])
    for _ in range(count(10)):  # bimodal runner pools, change-free
        e, sd = _noise(rng, n, 0.01)
        e += np.log1p(rng.choice((0.1, 0.2))) * (rng.random(n) < rng.choice((0.1, 0.3)))
        add("bimodal", e, sd, [])
    for _ in range(count(10)):  # gradual drift, change-free
        e, sd = _noise(rng, n, sigma())
        e += np.log1p(rng.uniform(0.1, 0.3)) * np.arange(n) / n * rng.choice((-1, 1))
        add("drift", e, sd, [])
    for i in range(count(42)):  # one step, 3-200 %, anywhere (two revisions from either end)
        e, sd = _noise(rng, n, sigma())
        k = int(rng.integers(2, n - 1))
        e[k:] += _mag(rng, (STEP_SIZES[i % len(STEP_SIZES)],))
        add("step", e, sd, [k])
    for _ in range(count(8)):  # step near the start
        e, sd = _noise(rng, n, sigma())
        k = int(rng.integers(2, 5))
        e[k:] += _mag(rng, (0.1, 0.2, 0.5, 1.0, 2.0))
        add("step-near-start", e, sd, [k])
    for _ in range(count(10)):  # step right after another step (a short level of 3-5)
        e, sd = _noise(rng, n, sigma())
        k1 = int(rng.integers(5, n - 12))
        k2 = k1 + int(rng.integers(3, 6))
        e[k1:] += _mag(rng, (0.1, 0.2, 0.5, 1.0))
        e[k2:] += _mag(rng, (0.2, 0.5, 1.0, 2.0))
        add("step-after-step", e, sd, [k1, k2])
    for _ in range(count(15)):  # bump: a regression fixed 3-12 revisions later
        e, sd = _noise(rng, n, sigma())
        width = int(rng.integers(3, 13))
        k = int(rng.integers(3, n - width - 3))
        e[k:k + width] += np.log1p(rng.choice((0.1, 0.2, 0.3, 0.5, 1.0)))
        add("bump", e, sd, [k, k + width])
    for _ in range(count(6)):  # a step in bimodal noise
        e, sd = _noise(rng, n, 0.01)
        e += np.log1p(0.1) * (rng.random(n) < 0.2)
        k = int(rng.integers(5, n - 5))
        e[k:] += _mag(rng, (0.2, 0.5, 1.0))
        add("step-bimodal", e, sd, [k])
    for _ in range(count(6)):  # a step among outliers
        e, sd = _noise(rng, n, sigma())
        hit = rng.random(n) < 0.04
        e[hit] += np.log(rng.uniform(1.5, 3.0, hit.sum()))
        k = int(rng.integers(5, n - 5))
        e[k:] += _mag(rng, (0.1, 0.2, 0.5))
        add("step-outliers", e, sd, [k])
    for _ in range(count(5)):  # the same modest step in two environments
        k = int(rng.integers(5, n - 5))
        d = _mag(rng, (0.03, 0.05, 0.08))
        bench = f"case{next(counter):04d}"
        s = sigma()
        for env in ("env-a", "env-b"):
            e, sd = _noise(rng, n, s)
            e[k:] += d
            add("step-two-envs", e, sd, [k], env=env, bench=bench)
    for _ in range(count(5)):  # a step in one environment only (the other is change-free)
        k = int(rng.integers(5, n - 5))
        d = _mag(rng, (0.1, 0.2, 0.5))
        bench = f"case{next(counter):04d}"
        e, sd = _noise(rng, n, 0.02)
        e[k:] += d
        add("step-one-env", e, sd, [k], env="env-b", bench=bench)
        e, sd = _noise(rng, n, 0.02)
        add("flat-other-env", e, sd, [], env="env-a", bench=bench)
    for _ in range(count(10)):  # short series
        m = int(rng.integers(10, 17))
        e, sd = _noise(rng, m, sigma())
        k = int(rng.integers(3, m - 2))
        e[k:] += _mag(rng, (0.1, 0.2, 0.5, 1.0, 2.0))
        add("short", e, sd, [k])
    return out


def fixtures() -> list[Series]:
    """The repository's fixtures with known injected steps, one Series per asv series."""
    out = []
    for name in ("asv-history", "asv-real"):
        d = ROOT / "tests" / "data" / name
        df = load_results(d / "results")
        truth = json.loads((d / "truth.json").read_text())
        for (bench, pstr), g in df.groupby(["benchmark", "param_str"]):
            g = g.sort_values("revision")
            pos = {r: i for i, r in enumerate(g["revision"])}
            steps = [pos[s["first_bad"]] for s in truth["steps"].get(bench, []) if s["first_bad"] in pos]
            out.append(Series("fixture", f"{name}:{bench}{pstr}", "env", g["value"].to_numpy(float),
                              g["ci_low"].to_numpy(float), g["ci_high"].to_numpy(float), steps,
                              source=name))
    return out


# --------------------------------------------------------------------------- detectors


def run_torchperf(series: list[Series]) -> tuple[list[list[int]], float]:
    rows = []
    for i, s in enumerate(series):
        n = s.values.size
        rows.append(pd.DataFrame({
            "machine": "box", "env_name": s.env, "benchmark": s.bench, "param_str": "",
            "params": [()] * n, "commit": [f"{r:040x}" for r in range(n)], "revision": np.arange(n),
            "value": s.values, "ci_low": s.ci_low, "ci_high": s.ci_high,
            "lower_is_better": True, "unit": "seconds", "_i": i,
        }))
    df = pd.concat(rows, ignore_index=True)
    t0 = time.process_time()
    cps = detect_change_points(df, min_effect=0.0)
    cpu = time.process_time() - t0
    index = {(s.bench, s.env): i for i, s in enumerate(series)}
    found: list[list[int]] = [[] for _ in series]
    for c in cps:
        found[index[(c.benchmark, c.env)]].append(int(c.revision_after))
    return found, cpu


def run_asv(series: list[Series]) -> tuple[list[list[int]], float]:
    from asv._stats import get_weight
    from asv.step_detect import detect_steps

    found, cpu = [], 0.0
    for s in series:
        w = [get_weight({"ci_99_a": a, "ci_99_b": b}) if np.isfinite(a) and np.isfinite(b) else None
             for a, b in zip(s.ci_low, s.ci_high, strict=True)]
        t0 = time.process_time()
        steps = detect_steps(s.values.tolist(), w)
        cpu += time.process_time() - t0
        found.append([int(st[0]) for st in steps[1:]])
    return found, cpu


_OTAVA_SCRIPT = """
import json, sys, time
from otava.analysis import compute_change_points
data = json.load(sys.stdin)
out, cpu = [], 0.0
for y in data:
    t0 = time.process_time()
    cps, _ = compute_change_points(y)
    cpu += time.process_time() - t0
    out.append([int(c.index) for c in cps])
json.dump({"found": out, "cpu": cpu}, sys.stdout)
"""


def run_otava(series: list[Series], python: Path) -> tuple[list[list[int]], float]:
    res = subprocess.run([str(python), "-c", _OTAVA_SCRIPT], input=json.dumps([s.values.tolist() for s in series]),
                         capture_output=True, text=True, check=True)
    d = json.loads(res.stdout)
    return d["found"], float(d["cpu"])


# --------------------------------------------------------------------------- scoring


@dataclass
class Score:
    n_true: int = 0
    exact: int = 0
    within1: int = 0
    n_free: int = 0
    false_free: int = 0
    extra: int = 0
    cpu: float = 0.0

    def add(self, truth: list[int], found: list[int]) -> None:
        found = sorted(set(found))
        self.n_true += len(truth)
        self.exact += sum(t in found for t in truth)
        self.within1 += sum(any(abs(f - t) <= 1 for f in found) for t in truth)
        if not truth:
            self.n_free += 1
            self.false_free += len(found)
        else:
            self.extra += sum(not any(abs(f - t) <= 1 for t in truth) for f in found)


def score(series: list[Series], found: list[list[int]]) -> tuple[Score, dict[str, Score]]:
    total, by_case = Score(), {}
    for s, f in zip(series, found, strict=True):
        total.add(s.truth, f)
        by_case.setdefault(s.case, Score()).add(s.truth, f)
    return total, by_case


def table(rows: dict[str, Score]) -> str:
    lines = ["| detector | recall, exact commit | recall, within one | false findings per change-free series | extra findings in changed series | CPU s |",
             "|---|---|---|---|---|---|"]
    for name, s in rows.items():
        lines.append(f"| {name} | {s.exact}/{s.n_true} | {s.within1}/{s.n_true} | "
                     f"{s.false_free / max(1, s.n_free):.3f} ({s.false_free}/{s.n_free}) | {s.extra} | {s.cpu:.2f} |")
    return "\n".join(lines)


def case_table(by: dict[str, dict[str, Score]]) -> str:
    names = list(by)
    cases = sorted({c for d in by.values() for c in d})
    head = "| kind | " + " | ".join(names) + " |"
    lines = [head, "|---" * (len(names) + 1) + "|"]
    for c in cases:
        cells = []
        for nm in names:
            s = by[nm].get(c)
            if s is None:
                cells.append("")
            elif s.n_true:
                cells.append(f"{s.exact}/{s.n_true} exact, {s.within1} ±1")
            else:
                cells.append(f"{s.false_free} false in {s.n_free}")
        lines.append(f"| {c} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def run(seeds: list[int], *, scale: float = 1.0, otava: Path | None = OTAVA_PYTHON, use_asv: bool = True,
        with_fixtures: bool = True) -> dict[str, dict[str, object]]:
    """Score every detector; returns ``{"generated": {...}, "fixtures": {...}}`` with Scores."""
    results: dict[str, dict[str, object]] = {}
    groups: dict[str, list[list[Series]]] = {"generated": [generate(s, scale=scale) for s in seeds]}
    if with_fixtures:
        fx = fixtures()
        groups["fixtures"] = [[s for s in fx if s.source == src] for src in ("asv-history", "asv-real")]
    for gname, batches in groups.items():
        totals: dict[str, Score] = {}
        cases: dict[str, dict[str, Score]] = {}
        detectors = {"torchperf": run_torchperf}
        if otava is not None:
            detectors["apache-otava 0.8.0"] = lambda b: run_otava(b, otava)
        if use_asv:
            detectors["asv 0.6 detect_steps"] = run_asv
        for name, fn in detectors.items():
            tot, by = Score(), {}
            for batch in batches:
                found, cpu = fn(batch)
                t, b = score(batch, found)
                for attr in ("n_true", "exact", "within1", "n_free", "false_free", "extra"):
                    setattr(tot, attr, getattr(tot, attr) + getattr(t, attr))
                tot.cpu += cpu
                for c, sc in b.items():
                    acc = by.setdefault(c, Score())
                    for attr in ("n_true", "exact", "within1", "n_free", "false_free", "extra"):
                        setattr(acc, attr, getattr(acc, attr) + getattr(sc, attr))
            totals[name] = tot
            cases[name] = by
        results[gname] = {"totals": totals, "cases": cases}
    return results


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", type=int, default=3, help="generated histories: seeds 0..N-1 (default 3)")
    ap.add_argument("--scale", type=float, default=1.0, help="multiply the number of series of each kind")
    ap.add_argument("--no-otava", action="store_true", help="skip apache-otava")
    ap.add_argument("--no-asv", action="store_true", help="skip asv")
    ap.add_argument("--otava-python", type=Path, default=OTAVA_PYTHON,
                    help="python of the virtualenv with apache-otava (default tools/.venv-anchors)")
    args = ap.parse_args(argv)
    otava = None
    if not args.no_otava:
        if not args.otava_python.exists():
            print(f"no apache-otava virtualenv at {args.otava_python}; create it with\n"
                  "  python -m venv tools/.venv-anchors && tools/.venv-anchors/bin/pip install apache-otava==0.8.0\n"
                  "or pass --no-otava", file=sys.stderr)
            return 2
        otava = args.otava_python
    res = run(list(range(args.seeds)), scale=args.scale, otava=otava, use_asv=not args.no_asv)
    for gname, r in res.items():
        label = (f"generated histories, seeds 0-{args.seeds - 1}" if gname == "generated"
                 else "fixtures tests/data/asv-history + tests/data/asv-real")
        print(f"\n{label}\n")
        print(table(r["totals"]))
        print()
        print(case_table(r["cases"]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
