"""The README's main job: one real benchmark with a report, plots, asv history and a site.

:func:`run_quickstart` chains what a user would otherwise type by hand:

1. ``torchperf run`` on the model zoo: every metric for every variant, a
   Markdown/HTML report, the Pareto plot and the CSV (``OUTPUT/run``);
2. ``asv machine --yes`` and ``asv run --record-samples`` of HEAD~1 and HEAD: the
   repository's asv suite over the last two commits in every environment of
   ``asv.conf.json``'s NumPy matrix (virtualenvs built by asv);
3. ``asv publish`` plus torchperf's pages (regressions, Pareto per revision,
   environments) in offline mode;
4. the history analysis: revision-to-revision comparison and change points.

It is a workflow, not a library call: it runs subprocesses and reports
progress through the ``say`` / ``show`` callables the CLI passes in (the
library itself never prints).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from torchperf.errors import InvalidParameterError, TorchperfError
from torchperf.fileio import atomic_write_text

__all__ = ["run_quickstart"]


class StepFailed(TorchperfError, RuntimeError):
    """One step of the main job failed; its log names the cause."""


def _run_logged(
    cmd: Sequence[str],
    log: Path,
    say: Callable[[str], None],
    *,
    env: dict[str, str] | None = None,
    check: bool = True,
) -> int:
    """Run ``cmd``, streaming its output to ``say`` and appending it to ``log``."""
    say(f"$ {' '.join(cmd)}")
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("a", encoding="utf-8") as fh:
        fh.write(f"\n$ {' '.join(cmd)}\n")
        tail: list[str] = []
        try:
            proc = subprocess.Popen(
                list(cmd),
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                errors="replace",
                env=env,
            )
        except FileNotFoundError:
            raise StepFailed(f"command {cmd[0]!r} not found; is it installed?") from None
        with proc:
            assert proc.stdout is not None
            for line in proc.stdout:
                fh.write(line)
                line = line.rstrip("\n")
                tail = [*tail[-19:], line]
                say(line)
            rc = proc.wait()
    if check and rc != 0:
        raise StepFailed(
            f"`{' '.join(cmd)}` exited with {rc}; the full output is in {log}. Last lines:\n"
            + "\n".join(tail)
        )
    return rc


def _git(*args: str, check: bool = True) -> str | None:
    """Run git in the current directory; its output, or None (``check=False``) on failure."""
    out = subprocess.run(["git", *args], capture_output=True, text=True)
    if out.returncode != 0:
        if not check:
            return None
        raise StepFailed(f"git {' '.join(args)} failed: {out.stderr.strip()}")
    return out.stdout.strip()


def _asv() -> list[str]:
    exe = shutil.which("asv")
    return [exe] if exe else [sys.executable, "-m", "asv"]


def run_zoo(output: Path, *, warmup_runs: int = 5, measurement_runs: int = 10, processes: int = 3,
            progress: Callable[[int, int, str], None] | None = None) -> dict:
    """Benchmark the zoo with :class:`~torchperf.suite.BenchmarkSuite` and render its report.

    Latency and throughput are measured in ``processes`` worker processes per model,
    so the report's comparisons rest on per-process medians (docs/statistics.md#rule-1): samples
    from one process are not independent, and comparing two identical models on them
    has called one of them a "regression".

    Returns
    -------
    dict
        The saved run (``results.json`` contents) plus ``"files"``: paths written.

    """
    from torchperf.suite import BenchmarkSuite
    from torchperf.zoo import build_comparison_set, family_baselines, load_digits_split

    models = build_comparison_set(seed=0, include_torch="auto")
    split = load_digits_split(seed=0)
    suite = BenchmarkSuite(
        models,
        [(split.X_test, split.y_test)],
        output_dir=output,
        warmup_runs=warmup_runs,
        measurement_runs=measurement_runs,
        progress=progress,
        benchmark_kwargs={"processes": processes},
        baselines=family_baselines(models),  # each variant against its own unoptimised twin
    )
    suite.run_full_benchmark(resume=True, report=True)
    run = suite.to_run()
    # paths as the caller spelled ``output`` (the suite writes under its absolute form)
    files = {name: Path(output) / path.name for name, path in suite.report_files.items()}
    return {**run, "files": files}


def run_quickstart(
    output: Path,
    *,
    say: Callable[[str], None],
    show: Callable[[str], None],
    progress: Callable[[int, int, str], None] | None = None,
    record: dict[str, Any] | None = None,
) -> int:
    """Run the main job; return the CLI exit status (0 ok, 1 regressions or failures).

    Parameters
    ----------
    output : Path
        Directory for the zoo report (``run/``) and the job's logs.
    say : callable
        Receives progress lines (the CLI writes them to stderr).
    show : callable
        Receives the results the user asked for (the CLI writes them to stdout).
    progress : callable, optional
        ``progress(completed, total, description)`` of the zoo benchmark.
    record : dict, optional
        Filled with what the job produced, for machine-readable output: ``run`` (the zoo
        run as :func:`torchperf.suite.load_run` returns it), ``history`` (revisions,
        environments, the HEAD~1 -> HEAD findings as dicts, the number of change points)
        and ``files`` (report, site, log).

    """
    from torchperf.history.loader import load_asv_config
    from torchperf.report import summary_table

    conf = Path("asv.conf.json")
    if not conf.is_file():
        raise InvalidParameterError(
            "the main job runs in a torchperf checkout: asv.conf.json is not in the current "
            f"directory ({os.getcwd()}). `cd` into the cloned repository and run it again."
        )
    started = time.perf_counter()
    output.mkdir(parents=True, exist_ok=True)
    log = output / "quickstart.log"

    # 1. the zoo, measured here and now
    say("== 1/4  benchmarking the model zoo (latency, throughput, accuracy, memory, size)")
    run = run_zoo(output / "run", progress=progress)
    if record is not None:
        record["run"] = run
    show(summary_table(run))
    show("")
    for kind, path in sorted(run["files"].items()):
        show(f"{kind:>12}: {path}")

    # 2. history across the last two commits and both NumPy environments
    say("== 2/4  recording asv history: last two commits x every NumPy environment")
    n_commits = int(_git("rev-list", "--count", "HEAD") or 0)
    if n_commits < 2:
        raise StepFailed("the repository has fewer than two commits; asv needs two to compare.")
    head, prev = _git("rev-parse", "HEAD"), _git("rev-parse", "HEAD~1")
    cfg = load_asv_config(conf)
    for branch in cfg.get("branches") or []:
        if _git("rev-parse", "--verify", "--quiet", f"{branch}^{{commit}}", check=False) is None:
            raise StepFailed(
                f"asv.conf.json publishes branch {branch!r}, which this repository lacks "
                f"(`asv publish` would fail). Create it (`git branch {branch}`) or edit "
                "\"branches\" in asv.conf.json."
            )
    # asv's HASHFILE: form names exactly these two commits (a range like HEAD~2..HEAD
    # fails in a repository that has only two commits).
    hashes = output / "revisions.txt"
    atomic_write_text(hashes, f"{prev}\n{head}\n")
    _run_logged([*_asv(), "machine", "--yes"], log, say)
    # --interleave-rounds alternates the two commits process by process, so a slow spell of
    # the machine (other tenants, a noisy host) hits both alike instead of one commit.
    cmd = [
        *_asv(), "run", "--record-samples", "--interleave-rounds", "--show-stderr",
        f"HASHFILE:{hashes}",
    ]
    # The whole suite: asv's summary page requests a graph for every benchmark it knows,
    # so recording a subset leaves 404s in the published site.
    # asv exits 2 when some benchmark failed; the rest is recorded, so go on and report it.
    rc_run = _run_logged(cmd, log, say, check=False)
    results_dir = Path(cfg.get("results_dir", ".asv/results"))
    if not (results_dir / "benchmarks.json").is_file():
        raise StepFailed(
            f"`asv run` (exit {rc_run}) recorded nothing in {results_dir}; its output is in {log}."
        )

    # 3. the site
    say("== 3/4  publishing the site (asv publish + torchperf pages, offline)")
    _run_logged([*_asv(), "publish"], log, say)
    from torchperf import __version__
    from torchperf.site.pages import publish
    from torchperf.zoo import digits_test_examples

    html_dir = Path(
        publish(offline=True, error_rate_examples=digits_test_examples(), torchperf_version=__version__)
    )

    # 4. what changed
    say("== 4/4  analysing the history")
    from torchperf.history import compare_revisions, find_regressions, load_results

    df = load_results(results_dir)
    findings = compare_revisions(df, prev, head)
    regressions = find_regressions(df)
    envs = sorted(df["env_name"].dropna().unique()) if "env_name" in df else []
    commits = sorted(df["commit"].dropna().unique()) if "commit" in df else []
    lines = [
        f"history: {len(commits)} revision(s) x {len(envs)} environment(s) in {results_dir}",
        *(f"  environment: {e}" for e in envs),
        f"HEAD~1 -> HEAD: {len(findings)} series compared; "
        + ", ".join(
            f"{sum(f.verdict == v for f in findings)} {v}"
            for v in ("regression", "improvement", "equivalent", "inconclusive")
        ),
        f"change points flagged across history: {len(regressions)}",
    ]
    for f in findings:
        if f.verdict in ("regression", "improvement"):
            lines.append(
                f"  {f.verdict:<11} {f.benchmark} {f.params} [{f.env}] "
                f"x{f.ratio:.3f} (95% CI {f.ci_low:.3f}-{f.ci_high:.3f}), p={f.p_value:.2g}"
            )
    summary = "\n".join(lines)
    atomic_write_text(output / "history-summary.txt", summary + "\n")
    show("")
    show(summary)
    show("")
    show(f"report : {run['files'].get('html', output / 'run' / 'report.html')}")
    show(f"site   : {html_dir / 'index.html'}  (torchperf's pages: {html_dir / 'torchperf'})")
    show(f"serve  : python -m http.server -d {html_dir} 8080")
    show(f"log    : {log}")
    show(f"done in {time.perf_counter() - started:.0f} s")
    if record is not None:
        record["history"] = {
            "results_dir": str(results_dir),
            "revisions": [str(c) for c in commits],
            "environments": [str(e) for e in envs],
            "head_vs_previous": [f.to_dict() for f in findings],
            "change_points": len(regressions),
        }
        record["files"] = {
            **{str(k): str(v) for k, v in run["files"].items()},
            "site": str(html_dir / "index.html"),
            "log": str(log),
            "history_summary": str(output / "history-summary.txt"),
        }
    failed = bool(run.get("failures")) or rc_run != 0
    if rc_run != 0:
        say(f"torchperf: some asv benchmarks failed (asv exit {rc_run}); see {log}")
    return 1 if failed else 0
