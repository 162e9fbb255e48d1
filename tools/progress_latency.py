#!/usr/bin/env python3
"""How soon, and how often, a torchperf command says something on stderr (issue 18 point 5).

Runs each command with stderr on a pipe (as in a CI log: no terminal, so the CLI writes plain
progress lines, not a tqdm bar), stamps every stderr line with the time since the start, and
prints the time to the first line, the longest silence between lines, the total time and
whether measurement warnings came before the last stdout line (the final summary).

Usage::

    python tools/progress_latency.py                     # the standard set below
    python tools/progress_latency.py --stop-after 30 -- torchperf quickstart --output /tmp/q

The standard set (from the repository root): ``torchperf run`` on the zoo (``--quick``,
latency and size), ``torchperf regressions`` and ``torchperf publish`` on
``tests/data/asv-real`` (a fresh history cache, so every file is parsed), and the first
``--stop-after`` seconds of ``torchperf quickstart`` (stopped before its asv part). Times
include starting Python and importing torchperf. Run it under ``nice -n 10`` on a shared
machine and report the load average beside the figures.
"""

from __future__ import annotations

import argparse
import itertools
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def measure(cmd: list[str], *, stop_after: float | None = None, env: dict[str, str] | None = None) -> dict:
    """Run ``cmd``; return the stamped stderr lines, stdout lines and the timing figures."""
    t0 = time.monotonic()
    proc = subprocess.Popen(
        cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
        start_new_session=True,
    )
    err: list[tuple[float, str]] = []
    out: list[tuple[float, str]] = []

    def pump(stream, into):
        for line in stream:
            into.append((time.monotonic() - t0, line.rstrip("\n")))

    threads = [threading.Thread(target=pump, args=(proc.stderr, err)),
               threading.Thread(target=pump, args=(proc.stdout, out))]  # fmt: skip
    for t in threads:
        t.start()
    stopped = False
    try:
        proc.wait(timeout=stop_after)
    except subprocess.TimeoutExpired:
        stopped = True
        os.killpg(proc.pid, signal.SIGTERM)  # the process group this script started
        proc.wait(timeout=30)
    for t in threads:
        t.join(timeout=10)
    total = time.monotonic() - t0
    stamps = [0.0] + [s for s, _ in err] + [total]
    last_out = out[-1][0] if out else None
    warn_after = [s for s, line in err if "Warning" in line and last_out is not None and s > last_out]
    return {
        "cmd": " ".join(cmd),
        "first_line_s": err[0][0] if err else None,
        "longest_silence_s": max(b - a for a, b in itertools.pairwise(stamps)),
        "total_s": total,
        "stderr_lines": len(err),
        "stopped": stopped,
        "rc": proc.returncode,
        "warnings_after_summary": len(warn_after),
        "first_lines": [line for _, line in err[:3]],
    }


def standard_set(stop_after: float) -> list[tuple[list[str], float | None, dict[str, str]]]:
    tmp = Path(tempfile.mkdtemp(prefix="torchperf-progress-"))
    env = {**os.environ, "TORCHPERF_CACHE_DIR": str(tmp / "cache")}
    html = tmp / "html"
    html.mkdir()
    import asv

    shutil.copy(Path(asv.__file__).parent / "www" / "index.html", html / "index.html")
    tp = [sys.executable, "-m", "torchperf"]
    real = str(ROOT / "tests" / "data" / "asv-real" / "results")
    return [
        ([*tp, "run", "--quick", "--metrics", "latency,size", "--output", str(tmp / "run")], None, env),
        ([*tp, "regressions", "--results-dir", real, "--all"], None, env),
        ([*tp, "publish", "--html-dir", str(html), "--results-dir", real], None,
         {**env, "TORCHPERF_CACHE_DIR": str(tmp / "cache2")}),
        ([*tp, "quickstart", "--output", str(tmp / "qs")], stop_after, env),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stop-after", type=float, default=20.0,
                        help="stop a command after this many seconds (quickstart in the standard set)")
    parser.add_argument("cmd", nargs=argparse.REMAINDER, help="-- COMMAND ... (default: the standard set)")
    args = parser.parse_args(argv)
    cmd = args.cmd[1:] if args.cmd[:1] == ["--"] else args.cmd
    jobs = [(cmd, args.stop_after, None)] if cmd else standard_set(args.stop_after)
    print(f"load average before: {os.getloadavg()}")
    for c, stop, env in jobs:
        r = measure(c, stop_after=stop, env=env)
        first = "none" if r["first_line_s"] is None else f"{r['first_line_s']:.1f} s"
        print(f"{r['cmd'].replace(sys.executable, 'python')}\n"
              f"  first stderr line after {first}; longest silence {r['longest_silence_s']:.1f} s; "
              f"{r['stderr_lines']} lines in {r['total_s']:.1f} s"
              + (" (stopped)" if r["stopped"] else f" (exit {r['rc']})")
              + f"; warnings after the final stdout line: {r['warnings_after_summary']}")
        for line in r["first_lines"]:
            print(f"    | {line[:110]}")
    print(f"load average after: {os.getloadavg()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
