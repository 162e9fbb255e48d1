"""Side-by-side study: `torchperf ab` vs pyperf vs sequential A-then-B on a busy machine.

Workloads (``tools/ab_workloads.py``): a NumPy MLP (~300 us/call) and a pure-Python loop
(~110 us), with real slowdowns of +2 / +5 / +10 % made by a size knob, and identical code
(pct 100 vs 100). The machine is made busy by 2 background CPU-bound processes whose duty
cycle changes every few seconds (a random level in 20-100 % of each 100 ms period). Every
trial is one verdict of one tool on one (workload, slowdown); the trials of a round run in
a random order, so all tools see the same spread of machine states.

Tools:

* ``ab``: ``torchperf ab BASE CAND --format json --max-time MAX`` (flagged = exit 1, "slower");
* ``pyperf``: ``pyperf timeit`` for A, then for B (defaults: 20 processes x 3 values), then
  ``pyperf compare_to`` (flagged = significant and "slower"), run from a git-ignored venv
  (``tools/.venv-pyperf``, ``python -m venv --system-site-packages tools/.venv-pyperf &&
  tools/.venv-pyperf/bin/pip install pyperf``);
* ``sequential``: torchperf's former design: A in ``--seq-processes`` fresh processes, then B,
  compared on per-process medians (``stats.compare_replicates``; flagged = "regression").

Before the trials the slowdowns are verified: every variant is timed on the thread's CPU
time in interleaved rounds (``--verify-rounds``), and the measured ratios are printed.

    python tools/ab_study.py --minutes 31 --rounds 10 --pcts 100 102 105 --comparison-pcts 102 \\
        --comparison-every 3 --seq-processes 5 --verify-rounds 5 --seed 4 --out /tmp/ab_study4.jsonl
    python tools/ab_study.py --summarize /tmp/ab_study4.jsonl

(the study of docs/measurement.md, run at nice 0 beside its two background hogs).

Results go to ``--out`` as one JSON line per trial (a killed study keeps what it finished).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PYPERF_PY = ROOT / "tools" / ".venv-pyperf" / "bin" / "python"
WORKLOADS = ("mlp", "loop")


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        env.setdefault(var, "1")  # every tool measures single-threaded BLAS
    return env


# ------------------------------------------------------------------------ background load
HOG = r"""
import random, sys, time
rng = random.Random(int(sys.argv[1]))
duty, until = 0.5, 0.0
while True:
    now = time.monotonic()
    if now >= until:
        duty, until = rng.uniform(0.2, 1.0), now + rng.uniform(2.0, 6.0)
    end = now + 0.1 * duty
    while time.monotonic() < end:
        pass
    time.sleep(0.1 * (1 - duty))
"""


def start_hogs(n: int) -> list[subprocess.Popen]:
    return [subprocess.Popen([sys.executable, "-c", HOG, str(i)]) for i in range(n)]


# ------------------------------------------------------------------------ verification
def verify(rounds: int) -> dict[str, float]:
    """CPU-time per call of every variant, interleaved rounds; ratios to pct 100."""
    code = r"""
import json, statistics, sys, time, random
import tools.ab_workloads as w
names = [f"{k}_{p}" for k in ("mlp", "loop") for p in w.PCTS]
t = {n: [] for n in names}
rng = random.Random(0)
for _ in range(int(sys.argv[1])):
    rng.shuffle(names)
    for n in names:
        f = getattr(w, n)
        for _ in range(5):
            f()
        for _ in range(5):
            t0 = time.thread_time_ns()
            for _ in range(50):
                f()
            t[n].append((time.thread_time_ns() - t0) / 50e9)
print(json.dumps({n: statistics.median(v) for n, v in t.items()}))
"""
    out = subprocess.run([sys.executable, "-c", code, str(rounds)], capture_output=True, text=True,
                         check=True, cwd=ROOT, env=_env())
    med = json.loads(out.stdout)
    return {n: med[n] / med[n.split("_")[0] + "_100"] for n in sorted(med)} | {
        f"{n}_s": v for n, v in med.items() if n.endswith("_100")}


# ------------------------------------------------------------------------ tools
def run_ab(a: str, b: str, max_time: float) -> dict:
    cmd = [sys.executable, "-m", "torchperf", "ab", a, b, "--format", "json", "-q",
           "--max-time", str(max_time)]
    p = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, env=_env())
    if p.returncode == 2:
        raise RuntimeError(p.stderr)
    js = json.loads(p.stdout)
    return {"flagged": p.returncode == 1, "verdict": js["verdict"], "ratio": js["ratio"],
            "ci": [js["ci_low"], js["ci_high"]], "pairs": js["pairs"], "blocks": js["blocks"],
            "stop": js["stop_reason"], "ab_seconds": js["seconds"]}


def run_pyperf(a: str, b: str) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        files = []
        for name, target in (("a", a), ("b", b)):
            module, func = target.split(":")
            path = Path(tmp) / f"{name}.json"
            subprocess.run([str(PYPERF_PY), "-m", "pyperf", "timeit", "--quiet", "-o", str(path),
                            "-s", f"import {module} as m", f"m.{func}()"],
                           check=True, capture_output=True, cwd=ROOT, env=_env())
            files.append(str(path))
        p = subprocess.run([str(PYPERF_PY), "-m", "pyperf", "compare_to", *files],
                           capture_output=True, text=True, cwd=ROOT, env=_env())
    text = p.stdout
    significant = "Not significant" not in text
    m = re.search(r"([\d.]+)x (slower|faster)", text)
    ratio = float(m.group(1)) if m else 1.0
    if m and m.group(2) == "faster":
        ratio = 1 / ratio
    return {"flagged": significant and bool(m) and m.group(2) == "slower",
            "verdict": (m.group(2) if m else "same") + ("" if significant else " (not significant)"),
            "ratio": ratio}


def run_sequential(a: str, b: str, processes: int) -> dict:
    code = r"""
import json, sys
from torchperf.stats import compare_replicates
from torchperf.timing import measure_in_processes
a, b, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
if __name__ == "__main__":
    groups = [[list(m.samples_s) for m in measure_in_processes(t, processes=n, number="auto",
              stop=10, window_s=0.2, warn=False)] for t in (a, b)]
    c = compare_replicates(groups[0], groups[1])
    print(json.dumps({"verdict": c.verdict, "ratio": c.ratio, "p": c.p_value}))
"""
    p = subprocess.run([sys.executable, "-c", code, a, b, str(processes)], capture_output=True,
                       text=True, cwd=ROOT, env=_env())
    if p.returncode != 0:
        raise RuntimeError(p.stderr[-2000:])
    js = json.loads(p.stdout.strip().splitlines()[-1])
    return {"flagged": js["verdict"] == "regression", **js}


# ------------------------------------------------------------------------ study
def study(args: argparse.Namespace) -> None:
    rng = random.Random(args.seed)
    out = open(args.out, "a", encoding="utf-8")
    commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True, check=False).stdout.strip()
    out.write(json.dumps({"kind": "study", "argv": sys.argv[1:], "commit": commit, "nice": os.nice(0),
                          "cpus": os.cpu_count(), "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                          "load": os.getloadavg()}) + "\n")
    out.flush()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # run the finally: stop the hogs
    hogs = start_hogs(args.hogs)
    deadline = time.monotonic() + 60 * args.minutes
    try:
        if args.verify_rounds:
            ratios = verify(args.verify_rounds)
            out.write(json.dumps({"kind": "verify", "ratios": ratios, "load": os.getloadavg()}) + "\n")
            out.flush()
            print("verified CPU-time ratios:", {k: round(v, 4) for k, v in ratios.items()}, flush=True)
        round_no = 0
        while time.monotonic() < deadline and (args.rounds is None or round_no < args.rounds):
            comparing = round_no % args.comparison_every == 0
            trials = [(w, pct, tool) for w in args.workloads for pct in args.pcts for tool in args.tools
                      if tool == "ab" or (comparing and (not args.comparison_pcts or pct in args.comparison_pcts))]
            rng.shuffle(trials)
            for w, pct, tool in trials:
                if time.monotonic() >= deadline:
                    break
                a, b = f"tools.ab_workloads:{w}_100", f"tools.ab_workloads:{w}_{pct}"
                t0 = time.perf_counter()
                load0 = os.getloadavg()[0]
                try:
                    if tool == "ab":
                        res = run_ab(a, b, args.max_time)
                    elif tool == "pyperf":
                        res = run_pyperf(a, b)
                    else:
                        res = run_sequential(a, b, args.seq_processes)
                except Exception as exc:  # a failed trial is recorded, not hidden
                    res = {"flagged": None, "error": str(exc)[-500:]}
                row = {"kind": "trial", "round": round_no, "workload": w, "pct": pct, "tool": tool,
                       "seconds": time.perf_counter() - t0, "load": (load0 + os.getloadavg()[0]) / 2, **res}
                out.write(json.dumps(row) + "\n")
                out.flush()
                print(json.dumps(row), flush=True)
            round_no += 1
    finally:
        for h in hogs:
            h.send_signal(signal.SIGTERM)
            h.wait()
        out.close()


def _label(pct: int) -> str:
    return "identical" if pct == 100 else f"+{pct - 100} %"


def _direction(r: dict) -> str:
    """"slower", "faster" or "none" (not significant, same, equivalent, inconclusive)."""
    v = str(r.get("verdict", ""))
    if "not significant" in v:
        return "none"
    return {"slower": "slower", "regression": "slower", "faster": "faster", "improvement": "faster"}.get(v, "none")


def _wrong(r: dict) -> bool:
    """A wrong verdict: identical code called slower or faster; a slowdown called faster; a
    slowdown of 5 % or more called "equivalent" (within ab's 2 % margin)."""
    if r["pct"] == 100:
        return _direction(r) != "none"
    return _direction(r) == "faster" or (r["pct"] >= 105 and r.get("verdict") == "equivalent")


def summarize(path: str) -> None:
    """Print the study's tables (markdown) from its JSON lines; the numbers in the docs come from here."""
    rows = [json.loads(line) for line in open(path, encoding="utf-8") if line.strip()]
    trials = [r for r in rows if r.get("kind") == "trial" and r.get("flagged") is not None]
    for r in rows:
        if r.get("kind") == "verify":
            print("verified CPU-time ratios:", {k: round(v, 4) for k, v in r["ratios"].items()
                                                if not k.endswith("_s")})
    errors = [r for r in rows if r.get("kind") == "trial" and r.get("flagged") is None]
    loads = [r["load"] for r in trials]
    print(f"{len(trials)} trials ({len(errors)} failed), rounds {1 + max(r['round'] for r in trials)}; "
          f"load average median {statistics.median(loads):.1f} (range {min(loads):.1f}-{max(loads):.1f})")
    print()
    print("| tool | workload | change | trials | flagged slower | wrong verdicts | verdicts "
          "| mean s / verdict | load (median) |")
    print("|---|---|---|---|---|---|---|---|---|")
    tools = [t for t in ("ab", "pyperf", "sequential") if any(r["tool"] == t for r in trials)]
    pcts = sorted({r["pct"] for r in trials})
    for tool in tools:
        for pct in pcts:
            for w in (*WORKLOADS, "both"):
                sel = [r for r in trials if r["tool"] == tool and r["pct"] == pct and w in ("both", r["workload"])]
                if not sel:
                    continue
                k = sum(bool(r["flagged"]) for r in sel)
                wrong = sum(_wrong(r) for r in sel)
                counts: dict[str, int] = {}
                for r in sel:
                    v = str(r.get("verdict"))
                    if r.get("stop") == "time budget":
                        v += " (budget)"
                    counts[v] = counts.get(v, 0) + 1
                verdicts = ", ".join(f"{n} {v}" for v, n in sorted(counts.items(), key=lambda x: -x[1]))
                secs = statistics.fmean(r["seconds"] for r in sel)
                load = statistics.median(r["load"] for r in sel)
                bold = "**" if w == "both" else ""
                print(f"| {bold}{tool}{bold} | {bold}{w}{bold} | {_label(pct)} | {len(sel)} | {bold}{k}/{len(sel)}{bold} "
                      f"| {wrong} | {verdicts} | {secs:.1f} | {load:.1f} |")
    print()
    print("| tool | trials | mean s / verdict | load (median) |")
    print("|---|---|---|---|")
    for tool in tools:
        sel = [r for r in trials if r["tool"] == tool]
        print(f"| {tool} | {len(sel)} | {statistics.fmean(r['seconds'] for r in sel):.1f} "
              f"| {statistics.median(r['load'] for r in sel):.1f} |")
    shared = sorted({(r["round"], r["workload"], r["pct"]) for r in trials if r["tool"] != "ab"})
    if shared:
        print()
        print("Same rounds (each (round, workload, change) where ab and another tool both ran):")
        for tool in tools:
            for pct in pcts:
                sel = [r for r in trials if r["tool"] == tool and (r["round"], r["workload"], r["pct"]) in shared
                       and r["pct"] == pct]
                if sel:
                    print(f"  {tool} {_label(pct)}: flagged {sum(bool(r['flagged']) for r in sel)}/{len(sel)}")
    ab = [r for r in trials if r["tool"] == "ab"]
    if ab:
        print()
        print("Targets (issue 17 point 3), torchperf ab:")
        for pct, goal in ((105, "flagged in >= 95 % of >= 20"), (100, "flagged in <= 5 % of >= 20")):
            sel = [r for r in ab if r["pct"] == pct]
            if sel:
                k = sum(bool(r["flagged"]) for r in sel)
                print(f"  {_label(pct)}: {k}/{len(sel)} = {100 * k / len(sel):.1f} % ({goal})")
        print(f"  mean s / verdict over all {len(ab)} ab verdicts: "
              f"{statistics.fmean(r['seconds'] for r in ab):.1f} (<= 35)")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default="ab_study.jsonl")
    p.add_argument("--summarize", metavar="FILE")
    p.add_argument("--minutes", type=float, default=45)
    p.add_argument("--rounds", type=int, default=None, help="stop after this many rounds (default: --minutes)")
    p.add_argument("--comparison-every", type=int, default=1, metavar="K",
                   help="run pyperf and sequential only in every K-th round (0, K, 2K, ...)")
    p.add_argument("--tools", nargs="+", default=["ab", "pyperf", "sequential"])
    p.add_argument("--workloads", nargs="+", default=list(WORKLOADS))
    p.add_argument("--pcts", nargs="+", type=int, default=[100, 102, 105, 110])
    p.add_argument("--comparison-pcts", nargs="+", type=int, default=None,
                   help="run pyperf and sequential only at these pcts (default: all); spends a "
                        "short study's time on torchperf ab's own targets")
    p.add_argument("--max-time", type=float, default=60.0, help="torchperf ab --max-time")
    p.add_argument("--seq-processes", type=int, default=10)
    p.add_argument("--hogs", type=int, default=2)
    p.add_argument("--verify-rounds", type=int, default=10)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    if args.summarize:
        summarize(args.summarize)
        return 0
    if "pyperf" in args.tools and not PYPERF_PY.exists():
        p.error(f"{PYPERF_PY} is missing; create the venv as the module docstring says.")
    study(args)
    summarize(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
