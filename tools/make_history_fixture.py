"""Generate the small asv results history in ``tests/data/asv-real/`` with a REAL asv run.

It builds a throw-away git repository whose asv benchmarks do pure-Python work
proportional to constants stored in ``workload.json``; selected commits change
those constants (the *injected steps*: +25 %, -20 %, +5 %, +8 % then +10 %, and a
+30 % step in an error-rate ``track_``; plus a one-commit outlier, a slow drift
and 12 step-free series). For every commit, the script checks it out and runs
``asv run -E existing --set-commit-hash <sha> --record-samples``, so the result
files are written by asv itself, with real timing noise from this machine. The
ground truth (which series has a step at which commit, and by how much) and the
measured noise are written next to the results as ``truth.json``. Commits have
fixed authors and dates, so their hashes are the same on every run.

Usage::

    python tools/make_history_fixture.py --mode real [--commits 30] [--output tests/data/asv-real]
    python tools/make_history_fixture.py --mode transplant [--output DIR]

``--mode real`` refuses to write when the step-free series show a run-to-run SD
above ``--max-noise`` (2.5 %) or samples of one run spreading beyond 1.5x: on this
shared machine we have seen 4-12 % run-to-run noise while other jobs ran, and no
method can place a 5 % step inside such noise. The asv runs get
``OPENBLAS_NUM_THREADS=1`` (and the OpenMP/MKL equivalents): without it, NumPy's
OpenBLAS worker thread (NumPy is loaded in asv's spawned benchmark process) spun and
was counted by ``time.process_time``, so single samples flipped between 1x and 2.7x.
The same pure-Python loop also runs up to 5-8 % faster or slower from one process to
the next (layout), and the whole machine drifts by about +-2 % over minutes, so each
commit is measured in 8 processes of 3 samples, spread over 4 passes over all commits
(alternating direction, ``asv run --append-samples``). Measured one commit after the
other instead, with 4 processes the 8 % step was placed one commit late, and with 8 the
5 % step three commits early (the machine was slow for three commits before it).
The fixture's ``regressions_thresholds`` is 3 % (10 % for the drift series): with asv's
default of 5 %, a true 5 % step is estimated below the threshold about half the time.
Takes about 16 minutes on two cores; the output is < 1 MB.

``--mode transplant`` writes the same kind of history with asv's own
``asv.results.Results`` writer (``add_result`` computes asv's median, 99% CI and
quartiles from the samples, ``save`` writes format version 2), where the noise is
*transplanted from real asv data*: per-commit level noise is drawn from the
run-to-run residuals (log value minus its running median of 5) of the real Django
history in ``/work/shared/data/asv-results-django``, standardised per series (so the
shape, heavy tails included, is real) and scaled to Django's pooled robust SD of 1.8%;
residuals beyond 8 robust SDs of their series are left out, as they sit at Django's own
level shifts. Each run's 10 samples come from the real within-run spread of
the same data. Steps are multiplicative on the level; the ``outlier`` series' single slow
commit is the injected outlier. ``tests/data/asv-history`` was made this way at commit
98882e0 (from that commit's real fixture, before the 5 % series existed) and is kept
frozen: rerunning it now reads the current real fixture and gives a different history.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from torchperf.fileio import atomic_write_json, atomic_write_text  # noqa: E402

N_FLAT = 12
#: real mode: passes over all commits (each: rounds = 2 processes x repeat = 3 samples per benchmark)
PASSES = 4
MACHINE = "fixture-box"
START = datetime.datetime(2026, 1, 1, 9, 0, tzinfo=datetime.timezone.utc)

BENCH_CODE = '''
import json
import time
from pathlib import Path

_REPO = Path(__file__).resolve().parents[1]


def _const(name):
    return json.loads((_REPO / "workload.json").read_text())[name]


def _work(n):
    s = 0
    for i in range(n):
        s += i * i
    return s


class Steps:
    repeat = 3
    rounds = 2
    warmup_time = 0.02
    number = 20
    timer = time.process_time

    def setup(self):
        self.n = {k: int(v) for k, v in json.loads((_REPO / "workload.json").read_text()).items()
                  if not k.startswith("error")}

    def time_regress(self):
        _work(self.n["regress"])

    def time_improve(self):
        _work(self.n["improve"])

    def time_two_steps(self):
        _work(self.n["two_steps"])

    def time_small_step(self):
        _work(self.n["small_step"])

    def time_outlier(self):
        _work(self.n["outlier"])

    def time_drift(self):
        _work(self.n["drift"])


class Flat:
    repeat = 3
    rounds = 2
    warmup_time = 0.02
    number = 20
    timer = time.process_time
    params = list(range(%(n_flat)d))
    param_names = ["k"]

    def time_flat(self, k):
        _work(3000 + 200 * k)


def track_error_rate():
    return _const("error_rate")


track_error_rate.unit = "fraction"
'''


def workload(commit: int) -> dict[str, float]:
    """Workload constants at commit index ``commit`` (0-based): the injected steps."""
    base = 4000
    return {
        "regress": base * (1.25 if commit >= 12 else 1.0),
        "improve": base * (0.80 if commit >= 20 else 1.0),
        "two_steps": base * (1.08 if commit >= 8 else 1.0) * (1.10 if commit >= 22 else 1.0),
        "small_step": base * (1.05 if commit >= 16 else 1.0),
        "outlier": base * (1.5 if commit == 15 else 1.0),
        "drift": base * (1.0 + 0.004 * commit),
        "error_rate": 0.13 if commit >= 18 else 0.10,
    }


TRUTH = {
    "benchmarks.Steps.time_regress": [{"first_bad": 12, "ratio": 1.25}],
    "benchmarks.Steps.time_improve": [{"first_bad": 20, "ratio": 0.80}],
    "benchmarks.Steps.time_two_steps": [
        {"first_bad": 8, "ratio": 1.08},
        {"first_bad": 22, "ratio": 1.10},
    ],
    "benchmarks.Steps.time_small_step": [{"first_bad": 16, "ratio": 1.05}],
    "benchmarks.Steps.time_outlier": [],
    "benchmarks.Steps.time_drift": [],
    "benchmarks.track_error_rate": [{"first_bad": 18, "ratio": 1.30}],
    "benchmarks.Flat.time_flat": [],
}


def git(repo: Path, *args: str, env: dict[str, str] | None = None) -> str:
    out = subprocess.run(
        ["git", *args], cwd=repo, check=True, capture_output=True, text=True, env=env
    )
    return out.stdout.strip()


DJANGO = ROOT.parent / "shared" / "data" / "asv-results-django"
NOISE_SD = 0.018  # pooled robust run-to-run SD of the Django history (conda-py3.10)


def noise_pools(django: Path) -> tuple[list[float], list[float]]:
    """Real run-to-run residuals and within-run sample deviations (log scale) from Django's asv data."""
    import numpy as np

    from torchperf.history import load_results
    from torchperf.history.changepoints import _running_median

    dj = load_results(django)
    dj = dj[dj["env_name"] == "conda-py3.10"]
    level: list[float] = []
    within: list[float] = []
    for _, g in dj.groupby(["benchmark", "param_str"]):
        g = g.sort_values("revision")
        v = g["value"].to_numpy(float)
        ok = np.isfinite(v) & (v > 0)
        if ok.sum() < 40:
            continue
        y = np.log(v[ok])
        r = y - _running_median(y, 5)
        r = r[r != 0.0]  # the running median's own point carries no information
        scale = 1.4826 * np.median(np.abs(r))
        if scale > 0:
            # standardised residuals (real shape, heavy tails); beyond 8 robust SDs they sit
            # at Django's own level shifts (steps a detector should report), not in its noise
            level += [float(x / scale) for x in r if abs(x) <= 8 * scale]
        for smp, med in zip(g["samples"], g["value"], strict=True):
            if smp and med > 0:
                within += [float(np.log(x / med)) for x in smp if x > 0]
    return level, within


def transplant(out: Path, commits: int, real: Path) -> None:
    """Write the history with asv's Results writer and real (Django) noise; see the module doc."""
    import numpy as np
    from asv.results import Results

    level, within = noise_pools(DJANGO)
    level = [NOISE_SD * x for x in level]  # Django's pooled robust run-to-run SD
    rng = np.random.default_rng(20260101)
    benchmarks = json.loads((real / "results" / "benchmarks.json").read_text())
    truth = json.loads((real / "truth.json").read_text())
    shas = truth["commits"][:commits]
    if out.exists():
        shutil.rmtree(out)
    (out / "results" / MACHINE).mkdir(parents=True)
    shutil.copy(real / "results" / "benchmarks.json", out / "results" / "benchmarks.json")
    shutil.copy(real / "results" / MACHINE / "machine.json", out / "results" / MACHINE / "machine.json")
    shutil.copy(real / "asv.conf.json", out / "asv.conf.json")
    base = {"regress": 1.0e-4, "improve": 1.2e-4, "two_steps": 0.9e-4, "small_step": 1.05e-4, "outlier": 1.1e-4,
            "drift": 1.0e-4}

    class Run:  # the object asv_runner hands to Results.add_result
        def __init__(self, samples: list[list[float] | None], number: list[int | None]) -> None:
            self.result = [float(np.median(s)) if s else None for s in samples]
            self.samples = samples
            self.number = number
            self.stderr = ""
            self.errcode = 0
            self.profile = None

    def run_samples(center: float) -> list[float]:
        lvl = center * np.exp(rng.choice(level))
        return [float(lvl * np.exp(x)) for x in rng.choice(within, 10)]

    env_name = "virtualenv-py3.11"
    for i, sha in enumerate(shas):
        w = workload(i)
        res = Results({"machine": MACHINE, "python": "3.11"}, {}, sha,
                      int((START + datetime.timedelta(hours=12 * i)).timestamp() * 1000),
                      "3.11", env_name, {})
        for name, bench in benchmarks.items():
            if not isinstance(bench, dict):
                continue
            short = name.rsplit(".", 1)[-1]
            if short.startswith("time_") and name.split(".")[1] == "Steps":
                key = short[5:]
                run = Run([run_samples(base[key] * w[key] / 4000)], [20])
            elif short == "time_flat":
                run = Run([run_samples((3000 + 200 * k) * 2.5e-8) for k in range(N_FLAT)],
                          [20] * N_FLAT)
            else:  # track_error_rate: deterministic
                run = Run([[w["error_rate"]]], [None])
                run.samples = [None]
            res.add_result(bench, run, record_samples=True,
                           started_at=START + datetime.timedelta(hours=12 * i, minutes=5))
        res.save(str(out / "results"))
    atomic_write_json(out / "truth.json", {
        "generator": "tools/make_history_fixture.py --mode transplant",
        "commits": shas, "steps": TRUTH,
        "note": "first_bad is the 0-based index into 'commits' of the first commit with the new level; "
                "files written by asv.results.Results with noise transplanted from real Django asv data",
    })


def noise_report(results: Path) -> dict[str, float]:
    """Noise of a real run, from its ``Flat`` series (no injected change).

    ``run_to_run_sd``: median over the series of the robust SD (1.4826 x MAD of
    successive differences / sqrt 2) of log value across commits; ``within_run_spread``:
    median over all runs of max/min of the run's samples.
    """
    import numpy as np

    from torchperf.history import load_results

    df = load_results(results)
    flat = df[df["benchmark"] == "benchmarks.Flat.time_flat"]
    sds, spreads = [], []
    for _, g in flat.groupby("param_str"):
        y = np.log(g.sort_values("revision")["value"].to_numpy(float))
        sds.append(1.4826 * float(np.median(np.abs(np.diff(y)))) / np.sqrt(2))
        spreads += [max(s) / min(s) for s in g["samples"] if s]
    return {"run_to_run_sd": float(np.median(sds)), "within_run_spread": float(np.median(spreads))}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", choices=("real", "transplant"), default="real")
    parser.add_argument("--commits", type=int, default=30)
    parser.add_argument("--output", type=Path, default=None)
    parser.add_argument("--max-noise", type=float, default=0.025,
                        help="real mode: refuse to write the fixture when the run-to-run SD of the "
                             "step-free series exceeds this (a 5%% step must stand out); default 0.025")
    parser.add_argument("--force", action="store_true", help="real mode: write even if too noisy")
    parser.add_argument("--real", type=Path, default=ROOT / "tests" / "data" / "asv-real",
                        help="transplant mode: the real-run fixture whose metadata and commits to reuse")
    args = parser.parse_args()
    if args.mode == "transplant":
        if args.output is None:
            parser.error("--mode transplant needs --output (tests/data/asv-history is frozen; see the module doc)")
        out = args.output
        transplant(out, args.commits, args.real)
        print(f"wrote {out}")
        return 0
    args.output = args.output or ROOT / "tests" / "data" / "asv-real"

    with tempfile.TemporaryDirectory(prefix="tp-history-") as tmp:
        tmpdir = Path(tmp)
        repo = tmpdir / "repo"
        home = tmpdir / "home"
        repo.mkdir()
        home.mkdir()
        (repo / "benchmarks").mkdir()
        (repo / "benchmarks" / "__init__.py").write_text("")
        (repo / "benchmarks" / "benchmarks.py").write_text(BENCH_CODE % {"n_flat": N_FLAT})
        conf = {
            "version": 1,
            "project": "fixture",
            "project_url": "https://example.invalid/",
            "repo": ".",
            "branches": ["main"],
            "environment_type": "existing",
            "benchmark_dir": "benchmarks",
            "results_dir": "results",
            "html_dir": "html",
            # 3 % everywhere (the drift series 10 %; asv takes the largest matching value): with
            # asv's default of 5 %, a true 5 % step is estimated below the threshold half the time
            "regressions_thresholds": {"benchmarks.Steps.time_drift": 0.10, ".*": 0.03},
        }
        (repo / "asv.conf.json").write_text(json.dumps(conf, indent=2))
        env = dict(os.environ, HOME=str(home), GIT_AUTHOR_NAME="fx", GIT_AUTHOR_EMAIL="fx@x",
                   GIT_COMMITTER_NAME="fx", GIT_COMMITTER_EMAIL="fx@x")
        # asv's benchmark process (launch method "spawn", the default) has NumPy loaded
        # before any benchmark code runs; NumPy's OpenBLAS then keeps a worker thread that
        # spins, and process_time counts it: samples flipped between 1x and 2.7x (measured
        # process/wall CPU ratio 1.74 with 2 threads, 1.00 with this variable set).
        env.update(OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
        git(repo, "init", "-q", "-b", "main", env=env)
        shas = []
        for i in range(args.commits):
            (repo / "workload.json").write_text(json.dumps(workload(i), indent=1))
            git(repo, "add", "-A", env=env)
            day = (START + datetime.timedelta(hours=12 * i)).isoformat()
            cenv = dict(env, GIT_AUTHOR_DATE=day, GIT_COMMITTER_DATE=day)
            git(repo, "commit", "-q", "-m", f"commit {i}", env=cenv)
            shas.append(git(repo, "rev-parse", "HEAD", env=env))
        subprocess.run(
            [sys.executable, "-m", "asv", "machine", "--yes", "--machine", MACHINE],
            cwd=repo, env=env, check=True, capture_output=True,
        )
        # PASSES passes over all commits, alternating direction, each adding its samples to
        # the stored ones (asv's --append-samples): the machine's slow spells then hit every
        # commit alike instead of a run of neighbouring commits (which looks like a step).
        for pass_no in range(PASSES):
            order = shas[::-1] if pass_no % 2 else shas
            for sha in order:
                git(repo, "checkout", "-q", sha, env=env)
                proc = subprocess.run(
                    [sys.executable, "-m", "asv", "run", "-E", f"existing:{sys.executable}",
                     "--set-commit-hash", sha, "--record-samples", "--append-samples",
                     "--machine", MACHINE, "--show-stderr"],
                    cwd=repo, env=env, capture_output=True, text=True,
                )
                if proc.returncode != 0:
                    sys.stderr.write(proc.stdout + proc.stderr)
                    return 1
            print(f"pass {pass_no + 1}/{PASSES} over {len(shas)} commits done", flush=True)
        noise = noise_report(repo / "results")
        print(f"noise of the step-free series: run-to-run SD {noise['run_to_run_sd']:.2%}, "
              f"median within-run max/min {noise['within_run_spread']:.2f}", flush=True)
        if noise["run_to_run_sd"] > args.max_noise or noise["within_run_spread"] > 1.5:
            if not args.force:
                kept = Path(tempfile.mkdtemp(prefix="tp-history-rejected-"))
                shutil.copytree(repo / "results", kept / "results")
                sys.stderr.write(f"results of this run kept in {kept}\n")
                sys.stderr.write(
                    f"this machine was too noisy for a fixture whose smallest step is 5% "
                    f"(run-to-run SD above {args.max_noise:.1%} or samples of one run spread "
                    f"beyond 1.5x); {args.output} left unchanged. Rerun when the machine is "
                    "quiet, or pass --force.\n"
                )
                return 1
        out = args.output
        if out.exists():
            shutil.rmtree(out)
        shutil.copytree(repo / "results", out / "results")
        atomic_write_text(out / "asv.conf.json", json.dumps(conf, indent=2) + "\n")
        atomic_write_json(
            out / "truth.json",
            {
                "generator": "tools/make_history_fixture.py --mode real",
                "noise": noise,
                "commits": shas,
                "steps": TRUTH,
                "note": "first_bad is the 0-based index into 'commits' of the first commit with the new level",
            },
        )
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
