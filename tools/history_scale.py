"""History at scale: change-point time in memory, and the columnar store end to end.

Two modes.

**In memory** (default; issue 11's Done-when: 2,000 x 200 < 10 s). Builds a tidy frame shaped exactly like :func:`torchperf.history.load_results`
output with ``--revisions`` revisions x ``--series`` series (log-normal noise
of 2%, occasional 5x outliers, slow drift in a tenth of the series and one
injected 10% step in a fifth of them), then times
:func:`torchperf.history.detect_change_points` on it (best of ``--repeat``),
and reports how many injected steps were found at the right commit.

**Store** (``--store``; issue 13). Writes a real asv results directory
(``--revisions`` files of ``--series`` values each: parameterised benchmarks of 20
parameter values, asv's result, CI, quartiles, number and repeat per value, as
``asv run`` writes them without ``--record-samples``), then runs
``torchperf regressions`` on it in fresh processes and reports wall time and peak
resident memory (``wait4``'s ``ru_maxrss``) of: a cold run (empty cache: every file
parsed), warm runs (nothing changed), a run after one new commit, and a run on a
2,000-value history (the interpreter with its imports and every code path of the
analysis: the baseline that "bytes per value" is measured above). ``--duckdb`` also loads the same rows into
DuckDB and compares write and read times and sizes with the Parquet store.

Usage::

    python tools/history_scale.py [--revisions 2000] [--series 200] [--repeat 3]
    python tools/history_scale.py --store --revisions 1000 --series 500 [--duckdb] [--dask] [--dir DIR]
    python tools/history_scale.py --store --revisions 2000 --series 10000 --generate-only
    python tools/history_scale.py --revisions 200 --sweep 250 1000 4000
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from torchperf.history import detect_change_points


def make_history(n_rev: int, n_series: int, seed: int = 0) -> tuple[pd.DataFrame, dict[int, int]]:
    rng = np.random.default_rng(seed)
    commits = [f"{i:040x}" for i in range(n_rev)]
    dates = pd.Timestamp("2024-01-01", tz="UTC") + pd.to_timedelta(np.arange(n_rev), unit="h")
    frames = []
    truth: dict[int, int] = {}
    t = np.arange(n_rev)
    for s in range(n_series):
        y = np.log(1e-3 * (1 + s % 7)) + rng.normal(0, 0.02, n_rev)
        spikes = rng.random(n_rev) < 0.005
        y[spikes] += np.log(5.0)
        if s % 10 == 3:
            y += 0.0001 * t  # slow drift (2% per 200 revisions)
        if s % 5 == 0:
            k = int(rng.integers(50, n_rev - 50))
            y[k:] += np.log(1.10)
            truth[s] = k
        frames.append(
            pd.DataFrame(
                {
                    "machine": "scale-box",
                    "env_name": "virtualenv-py3.11",
                    "commit": commits,
                    "date": dates,
                    "revision": t,
                    "benchmark": f"bench.Suite.time_s{s:03d}",
                    "params": [()] * n_rev,
                    "param_str": "",
                    "value": np.exp(y),
                    "unit": "seconds",
                    "lower_is_better": True,
                    "version_current": True,
                }
            )
        )
    return pd.concat(frames, ignore_index=True), truth


RESULT_COLUMNS = [
    "result", "params", "version", "started_at", "duration", "stats_ci_99_a", "stats_ci_99_b",
    "stats_q_25", "stats_q_75", "stats_number", "stats_repeat", "samples", "profile",
]
N_PARAMS = 20


def write_asv_history(root: Path, n_rev: int, n_series: int, seed: int = 0) -> int:
    """An asv results directory: n_rev commits x n_series values; returns the number of values."""
    rng = np.random.default_rng(seed)
    n_bench = max(1, n_series // N_PARAMS)
    per = [N_PARAMS] * n_bench
    per[-1] += n_series - N_PARAMS * n_bench
    machine = root / "scale-box"
    machine.mkdir(parents=True, exist_ok=True)
    (machine / "machine.json").write_text(json.dumps({"machine": "scale-box", "version": 1}))
    bench = {"version": 2}
    names = [f"bench_{b // 50:03d}.Suite{b % 50:02d}.time_case" for b in range(n_bench)]
    for name, k in zip(names, per, strict=True):
        bench[name] = {"name": name, "type": "time", "unit": "seconds", "version": "v1",
                       "params": [[str(i) for i in range(k)]], "param_names": ["n"], "number": 0}
    (root / "benchmarks.json").write_text(json.dumps(bench))
    level = np.log(1e-4 * (1 + rng.random(n_series) * 50))
    steps = np.zeros((n_rev, n_series))
    stepped = rng.random(n_series) < 0.2  # a 10% step in a fifth of the series
    at = rng.integers(n_rev // 10, n_rev - n_rev // 10, n_series)
    for s in np.flatnonzero(stepped):
        steps[at[s]:, s] = np.log(1.10)
    t0 = 1_700_000_000_000
    for r in range(n_rev):
        y = np.exp(level + steps[r] + rng.normal(0, 0.02, n_series))
        spread = y * 0.03
        cols = [np.round(a, 9).tolist() for a in (y, y - 2 * spread, y + 2 * spread, y - spread, y + spread)]
        results = {}
        i = 0
        for name, k in zip(names, per, strict=True):
            v, lo, hi, q1, q3 = (c[i:i + k] for c in cols)
            results[name] = [v, [[str(j) for j in range(k)]], "v1", t0 + r * 3_600_000, 1.5,
                             lo, hi, q1, q3, [10] * k, [10] * k]
            i += k
        commit = f"{r:08x}" + "c0ffee" * 5 + "cafe"[: 40 - 8 - 30]
        commit = (commit + "0" * 40)[:40]
        doc = {"commit_hash": commit, "env_name": "virtualenv-py3.11", "date": t0 + r * 3_600_000,
               "params": {"machine": "scale-box", "python": "3.11"}, "python": "3.11",
               "requirements": {}, "env_vars": {}, "result_columns": RESULT_COLUMNS,
               "results": results, "durations": {}, "version": 2}
        (machine / f"{commit[:8]}-virtualenv-py3.11.json").write_text(json.dumps(doc))
    return n_rev * n_series


def run_measured(argv: list[str], env: dict[str, str]) -> tuple[float, float, float, int, str]:
    """Run a command; (wall s, CPU s, peak RSS MB, exit code, last stderr line)."""
    t0 = time.perf_counter()
    log = Path(os.environ.get("HISTORY_SCALE_STDERR", "/tmp/history_scale.stderr"))
    with open(log, "w") as fh:  # progress lines, to follow a long run with tail -f
        p = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=fh, text=True)
        _, status, ru = os.wait4(p.pid, 0)
    err = log.read_text(errors="replace")
    p.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - t0
    last = [ln for ln in err.strip().splitlines() if ln.strip()][-1:] or [""]
    return wall, ru.ru_utime + ru.ru_stime, ru.ru_maxrss / 1024, p.returncode, last[0]


def store_mode(args: argparse.Namespace) -> int:
    work = Path(args.dir) if args.dir else Path("/tmp") / f"torchperf-scale-{args.revisions}x{args.series}"
    results = work / "results"
    cache = work / "cache"
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1]))
    env.pop("TORCHPERF_DASK_SCHEDULER", None)
    if not (results / "benchmarks.json").exists():
        t0 = time.perf_counter()
        n = write_asv_history(results, args.revisions, args.series)
        size = sum(f.stat().st_size for f in results.rglob("*.json"))
        print(f"wrote {n:,} values in {args.revisions} files ({size / 1e6:.0f} MB of JSON) "
              f"in {time.perf_counter() - t0:.0f} s")
    if args.generate_only:
        print(f"results directory: {results}")
        return 0
    n_values = args.revisions * args.series
    tiny = work / "baseline"
    if not (tiny / "benchmarks.json").exists():
        write_asv_history(tiny, 100, 20)  # small, but every code path of the analysis runs
    cmd = [sys.executable, "-m", "torchperf", "regressions", "--results-dir"]
    print(f"load: {open('/proc/loadavg').read().split()[:3]}")

    def sequence(root: Path, store: Path) -> dict[str, tuple[float, float, float, int, str]]:
        """cold, warm runs, a new commit, back to the original: (wall, CPU, RSS, exit, stderr)."""
        out = {}
        run = [*cmd, str(root), "--cache-dir", str(store)]
        if not args.keep_cache or root == tiny:
            shutil.rmtree(store, ignore_errors=True)
        out["cold (empty cache)"] = run_measured(run, env)
        for i in range(args.repeat):
            out[f"warm #{i + 1} (nothing changed)"] = run_measured(run, env)
        if args.new_commit:
            files = sorted((root / "scale-box").glob("*-virtualenv-py3.11.json"))
            doc = json.loads(files[-1].read_text())
            doc["commit_hash"] = "f" * 40
            doc["date"] += 3_600_000
            new = root / "scale-box" / ("f" * 8 + "-virtualenv-py3.11.json")
            new.write_text(json.dumps(doc))
            try:
                out["after one new commit"] = run_measured(run, env)
            finally:
                new.unlink()
            out["back to the original (one deleted)"] = run_measured(run, env)
        return out

    # The baseline of each step is the same step on a 2,000-value history: the interpreter,
    # the imports and the shared libraries' pages that step touches (a cold run also loads
    # the JSON parser and the Parquet writer; a warm run does not).
    bases = [sequence(tiny, work / "tiny-cache") for _ in range(2)]
    base = {k: min(b[k][2] for b in bases) for k in bases[0]}
    print("baseline (the same step on a 2,000-value history: interpreter, imports, code paths): "
          + ", ".join(f"{k.split(' (')[0]} {v:.0f} MB" for k, v in base.items()))
    for label, (wall, cpu, rss, code, last) in sequence(results, cache).items():
        per = (rss - base[label]) * 2**20 / n_values
        per_warm = (rss - base["warm #1 (nothing changed)"]) * 2**20 / n_values
        print(f"{label:<34} {wall:7.1f} s wall  {cpu:7.1f} s CPU   peak RSS {rss:7.0f} MB   "
              f"({per:6.1f} B/value above its baseline, {per_warm:6.1f} above the warm one)   "
              f"exit {code}")
        if code not in (0, 1):
            print(f"    stderr: {last}")
    print(f"load: {open('/proc/loadavg').read().split()[:3]}")
    if args.duckdb:
        duckdb_mode(results, cache, work)
    if args.dask:
        dask_mode(results, cache)
    return 0


def dask_mode(results: Path, cache: Path) -> None:
    """Change-point detection over the store: in this process, then on 1 and 2 local Dask workers."""
    import distributed

    from torchperf.history.pipeline import stream_change_points

    def timed(**kw: object) -> tuple[float, list]:
        t0 = time.perf_counter()
        cps, _ = stream_change_points(results, cache=cache, reuse_results=False,
                                      include_insignificant=True, **kw)
        return time.perf_counter() - t0, cps

    t_single, ref = timed()
    print(f"load: {open('/proc/loadavg').read().split()[:3]}")
    print(f"in process (no Dask): {t_single:.1f} s, {len(ref)} candidates")
    for n in (1, 2):
        with distributed.LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                                      dashboard_address=None) as cluster, \
                distributed.Client(cluster) as client:
            client.run(lambda: __import__("torchperf.history.pipeline"))  # warm the imports
            t, cps = timed(scheduler=client)
        print(f"Dask LocalCluster, {n} worker(s): {t:.1f} s (speed-up vs in-process "
              f"{t_single / t:.2f}x); same findings: {cps == ref}")
    print(f"load: {open('/proc/loadavg').read().split()[:3]}")


def duckdb_mode(results: Path, cache: Path, work: Path) -> None:
    """Parquet store vs DuckDB on the same rows: size, write time, per-group read time."""
    import pyarrow.parquet as pq

    from torchperf.history.store import HistoryStore, read_group

    try:
        import duckdb
    except ImportError:
        print("duckdb: not installed (pip install duckdb) - comparison skipped")
        return
    store = HistoryStore(results, cache).update()
    groups = store.group_paths()
    cols = ["file_id", "row", "benchmark", "params", "param_str", "value", "version",
            "ci_low", "ci_high", "q25", "q75", "repeat"]
    t0 = time.perf_counter()
    tables = [read_group(p, None) for p in groups.values()]
    t_read_all = time.perf_counter() - t0
    pq_size = sum(f.stat().st_size for ps in groups.values() for f in ps)
    import pyarrow as pa

    whole = pa.concat_tables([t.unify_dictionaries() for t in tables]).unify_dictionaries()
    group_of = pa.array(np.concatenate([np.full(t.num_rows, g, np.int32) for g, t in zip(groups, tables, strict=True)]))
    whole = whole.append_column("grp", group_of)
    db = work / "history.duckdb"
    db.unlink(missing_ok=True)
    t0 = time.perf_counter()
    con = duckdb.connect(str(db))
    con.register("whole_t", whole)
    con.execute("CREATE TABLE rows AS SELECT * FROM whole_t ORDER BY grp")
    con.close()
    t_duck_write = time.perf_counter() - t0
    t0 = time.perf_counter()
    for paths in groups.values():
        pq.write_table(read_group(paths, None), work / "rewrite.parquet", compression="zstd")
    t_pq_write = time.perf_counter() - t0
    (work / "rewrite.parquet").unlink()
    t0 = time.perf_counter()
    for paths in groups.values():
        read_group(paths, cols)
    t_pq_groups = time.perf_counter() - t0
    con = duckdb.connect(str(db), read_only=True)
    t0 = time.perf_counter()
    for g in groups:
        res = con.execute(f"SELECT {', '.join(cols)} FROM rows WHERE grp = ?", [g])
        (res.to_arrow_table() if hasattr(res, "to_arrow_table") else res.arrow())
    t_duck_groups = time.perf_counter() - t0
    con.close()
    print(f"store: {len(groups)} series groups, {whole.num_rows:,} rows; read all columns {t_read_all:.2f} s")
    print(f"Parquet (zstd, dictionary strings): {pq_size / 1e6:.1f} MB; write {t_pq_write:.2f} s; "
          f"read analysis columns group by group {t_pq_groups:.2f} s")
    print(f"DuckDB  (one table, ordered by group): {db.stat().st_size / 1e6:.1f} MB; write "
          f"{t_duck_write:.2f} s; read analysis columns group by group {t_duck_groups:.2f} s")
    db.unlink()


def sweep_mode(args: argparse.Namespace) -> int:
    """Peak RSS of detection (store warm, candidates recomputed) as the number of series grows."""
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1]))
    code = ("import resource, sys, warnings; warnings.simplefilter('ignore');"
            "from torchperf.history.pipeline import stream_change_points as s;"
            "s(sys.argv[1], cache=sys.argv[2], reuse_results=False);"
            "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)")
    print(f"load: {open('/proc/loadavg').read().split()[:3]}")
    for n_series in args.sweep:
        work = Path("/tmp") / f"torchperf-sweep-{args.revisions}x{n_series}"
        if not (work / "results" / "benchmarks.json").exists():
            write_asv_history(work / "results", args.revisions, n_series)
        argv = [sys.executable, "-c", code, str(work / "results"), str(work / "cache")]
        subprocess.run(argv, env=env, check=True, capture_output=True)  # build the store
        out = subprocess.run(argv, env=env, check=True, capture_output=True, text=True).stdout
        print(f"{args.revisions} revisions x {n_series:>5} series ({args.revisions * n_series:>9,} "
              f"values): detection over the store, peak RSS {float(out.split()[-1]):.0f} MB")
    print(f"load: {open('/proc/loadavg').read().split()[:3]}")
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--revisions", type=int, default=2000)
    ap.add_argument("--series", type=int, default=200)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--store", action="store_true", help="measure torchperf regressions on an asv dir")
    ap.add_argument("--dir", help="work folder of --store (default /tmp/torchperf-scale-RxS)")
    ap.add_argument("--duckdb", action="store_true", help="also compare the store with DuckDB")
    ap.add_argument("--keep-cache", action="store_true", help="do not empty the cache first")
    ap.add_argument("--new-commit", action="store_true", help="also time a run after one new commit")
    ap.add_argument("--generate-only", action="store_true",
                    help="only write the asv results directory of --store (for a run timed by hand)")
    ap.add_argument("--dask", action="store_true", help="also time detection on 1 and 2 Dask workers")
    ap.add_argument("--sweep", type=int, nargs="+", metavar="SERIES",
                    help="peak RSS of detection for these numbers of series (at --revisions)")
    args = ap.parse_args()
    if args.sweep:
        return sweep_mode(args)
    if args.store:
        return store_mode(args)
    df, truth = make_history(args.revisions, args.series)
    times = []
    cpus = []
    cps = []
    for _ in range(args.repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        cps = detect_change_points(df)
        times.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
    found = 0
    false = 0
    for cp in cps:
        s = int(cp.benchmark[-3:])
        if s in truth and cp.revision_after == truth[s]:
            found += 1
        else:
            false += 1
    print(
        f"{args.revisions} revisions x {args.series} series ({len(df)} rows): "
        f"detect_change_points best {min(times):.2f} s (runs: "
        + ", ".join(f"{x:.2f}" for x in times)
        + f"; CPU best {min(cpus):.2f} s); injected 10% steps found at the exact commit: {found}/{len(truth)}; "
        f"other change points: {false}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
