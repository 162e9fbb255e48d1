"""Fault injection (issue 8): nothing measured is lost, every file stays readable.

Models that raise, hang, return garbage (NaN, wrong shapes, strings) or allocate too
much run among healthy ones through :class:`~torchperf.benchmark.Benchmark`,
:class:`~torchperf.suite.BenchmarkSuite` and ``torchperf run``; ``torchperf run`` is
killed with SIGKILL at seeded random moments and resumed; two runs race for one
output directory; every file torchperf writes is truncated at random bytes and
read back. After each: no healthy result is lost, no file is unreadable, and the
messages name the model and the cause.
"""

from __future__ import annotations

import csv
import importlib
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
import warnings
from pathlib import Path

import numpy as np
import pytest

from torchperf import cli
from torchperf.benchmark import Benchmark
from torchperf.errors import CorruptResultsWarning, ModelFailureWarning, ResultsFileError
from torchperf.fileio import LOCK_FILE_NAME, directory_lock, read_json
from torchperf.suite import BenchmarkSuite, load_run

pytestmark = pytest.mark.reliability  # `pytest -m reliability` prints the trials/failures table

MODULE = "tpf_fault_models"
METRICS = ("latency", "throughput", "accuracy", "memory", "size")
ENV = {"machine": "fault-tests"}

MODELS_SOURCE = textwrap.dedent(
    '''
    """Healthy and faulty models for tests/test_faults.py (importable: workers spawn)."""
    import time

    import numpy as np

    W = np.random.default_rng(0).standard_normal((64, 10)).astype(np.float32)


    class Healthy:
        input_shape = (64,)

        def __init__(self, name, scale=1.0, delay_s=0.0):
            self.name, self.W, self.delay_s = name, W * scale, delay_s

        def forward(self, x):
            if self.delay_s:
                time.sleep(self.delay_s)
            return np.asarray(x, dtype=np.float32).reshape(len(x), -1) @ self.W

        def parameter_bytes(self):
            return int(self.W.nbytes)


    class Raises(Healthy):
        def forward(self, x):
            raise RuntimeError("injected failure in forward")


    class ReturnsNaN(Healthy):
        def forward(self, x):
            return np.full((len(x), 10), np.nan, dtype=np.float32)


    class WrongShape(Healthy):
        def forward(self, x):
            return np.zeros((len(x) + 3, 2, 2), dtype=np.float32)


    class ReturnsStrings(Healthy):
        def forward(self, x):
            return np.array(["cat"] * len(x))


    class Hangs(Healthy):
        def forward(self, x):
            time.sleep(600)


    class Hog(Healthy):
        def forward(self, x):
            return np.ones(2**31)  # 16 GiB of float64


    rng = np.random.default_rng(1)
    X = rng.random((40, 64)).astype(np.float32)
    y = np.argmax(X @ W, axis=1)  # healthy-a is right on every example
    dataset = (X, y)

    garbage = {
        "healthy-a": Healthy("healthy-a"),
        "raises": Raises("raises"),
        "nan": ReturnsNaN("nan"),
        "wrong-shape": WrongShape("wrong-shape"),
        "strings": ReturnsStrings("strings"),
        "healthy-b": Healthy("healthy-b", 2.0),
    }
    isolated = {
        "healthy-a": Healthy("healthy-a"),
        "hangs": Hangs("hangs"),
        "hog": Hog("hog"),
    }
    slow = {f"m{i}": Healthy(f"m{i}", 1.0 + i, delay_s=0.002) for i in range(3)}


    class Exits(Healthy):
        def forward(self, x):
            import sys

            sys.exit(0)


    class Interrupts(Healthy):
        def forward(self, x):
            raise KeyboardInterrupt  # model code, not the user's Ctrl-C


    class Chdir(Healthy):
        def forward(self, x):
            import os
            import tempfile

            os.chdir(tempfile.gettempdir())
            return super().forward(x)


    class ClosesStdout(Healthy):
        def forward(self, x):
            import sys

            sys.stdout.close()
            return super().forward(x)


    class ClosesStderrFd(Healthy):
        def forward(self, x):
            import os

            if not getattr(self, "closed_once", False):
                self.closed_once = True
                os.close(2)
            return super().forward(x)


    misbehaving = {
        "healthy-a": Healthy("healthy-a"),
        "exits": Exits("exits"),
        "interrupts": Interrupts("interrupts"),
        "chdir": Chdir("chdir"),
        "healthy-b": Healthy("healthy-b", 2.0),
    }
    closes_streams = {
        "healthy-a": Healthy("healthy-a"),
        "exits": Exits("exits"),
        "chdir": Chdir("chdir"),
        "closes-stdout": ClosesStdout("closes-stdout"),
        "closes-stderr-fd": ClosesStderrFd("closes-stderr-fd"),
        "healthy-b": Healthy("healthy-b", 2.0),
    }
    napping = {f"n{i}": Healthy(f"n{i}", 1.0 + i, delay_s=0.05) for i in range(2)}
    hostile = {
        "ok": Healthy("ok"),
        "\\x1b[31mred\\u202e\\x00" + "z" * 5000: Raises("hostile"),
        "sur\\ud800rogate": ReturnsNaN("surrogate"),
    }
    '''
)

GARBAGE = ("raises", "nan", "wrong-shape", "strings")
HEALTHY = ("healthy-a", "healthy-b")


@pytest.fixture(scope="module")
def mods(tmp_path_factory):
    """Write the models module to a temp dir on sys.path (and PYTHONPATH for children)."""
    root = tmp_path_factory.mktemp("faultmods")
    (root / f"{MODULE}.py").write_text(MODELS_SOURCE)
    sys.path.insert(0, str(root))
    importlib.invalidate_caches()
    module = importlib.import_module(MODULE)
    yield root, module
    sys.path.remove(str(root))
    sys.modules.pop(MODULE, None)


def child_env(root: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(root), env.get("PYTHONPATH", "")]).strip(os.pathsep)
    env.pop("TORCHPERF_TIMING", None)
    return env


def check_every_file_readable(directory: Path) -> None:
    """Every file torchperf left in ``directory`` is complete (atomic writes)."""
    for p in sorted(directory.iterdir()):
        if p.name.startswith("."):
            continue  # the lock file and temp files of a killed atomic write
        data = p.read_bytes()
        assert data, f"{p} is empty"
        if p.suffix == ".json":
            load_run(p)
        elif p.suffix == ".csv":
            rows = list(csv.reader(io.StringIO(data.decode("utf-8"))))
            assert rows[0][:2] == ["model", "metric"] and all(len(r) == len(rows[0]) for r in rows)
        elif p.suffix == ".html":
            assert data.rstrip().endswith(b"</html>"), p
        elif p.suffix == ".md":
            assert data.startswith(b"# torchperf benchmark report"), p
        elif p.suffix == ".png":
            assert data.startswith(b"\x89PNG") and data[-8:-4] == b"IEND", p
        elif p.suffix == ".svg":
            assert data.rstrip().endswith(b"</svg>"), p


def assert_garbage_recorded(failures) -> None:
    """Each garbage model failed for its own reason, said in one clear message."""
    causes = {name: failures[name] for name in GARBAGE}
    assert "RuntimeError" in str(causes["raises"]) and "injected failure" in str(causes["raises"])
    assert "NaN" in str(causes["nan"]) or "non-finite" in str(causes["nan"]).lower()
    assert "BadOutput" in str(causes["wrong-shape"]) or "shape" in str(causes["wrong-shape"])
    assert "BadOutput" in str(causes["strings"])


# --------------------------------------------------------------------------- Benchmark


def test_benchmark_keeps_healthy_results_among_garbage_models(mods):
    _, m = mods
    bench = Benchmark(m.garbage, [m.dataset], warmup_runs=1, measurement_runs=3, number=1,
                      environment=ENV)  # fmt: skip
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for metric in METRICS:
            out = bench._run_metric(metric)
            for name in HEALTHY:
                assert name in out, (metric, name)
            if metric != "size":  # size reads parameter_bytes() and never calls forward
                assert not set(out) & {"raises", "nan"}
    acc = bench.results["accuracy"]
    assert acc["healthy-a"].values == (1.0,) and set(acc) == set(HEALTHY)
    by_model_metric = {(r.model, r.metric): r for r in bench.failure_log}
    for name in ("raises", "nan"):
        for metric in ("latency", "throughput", "accuracy", "memory"):
            rec = by_model_metric[(name, metric)]
            assert f"model {name!r} failed the {metric} benchmark" in rec.message
    assert by_model_metric[("wrong-shape", "accuracy")].cause == "BadOutput"
    assert by_model_metric[("strings", "accuracy")].cause == "BadOutput"
    assert "cannot be scored" in by_model_metric[("strings", "accuracy")].message
    messages = [str(w.message) for w in caught if issubclass(w.category, ModelFailureWarning)]
    assert len(messages) == len(bench.failure_log)  # one warning per failure, no more
    assert all(msg.count("\n") == 0 for msg in messages)


@pytest.mark.slow
def test_benchmark_isolates_hangs_and_memory_hogs(mods):
    _, m = mods
    bench = Benchmark(
        m.isolated, [m.dataset], warmup_runs=0, measurement_runs=2, number=1, timeout_s=2,
        memory_limit_bytes=2 * 2**30, environment=ENV,
    )  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ModelFailureWarning)
        acc = bench.run_accuracy_benchmark()
    assert list(acc) == ["healthy-a"] and acc["healthy-a"].values == (1.0,)
    assert (bench.failures["hangs"].kind, bench.failures["hangs"].cause) == (
        "timeout", "BenchmarkTimeoutError",
    )  # fmt: skip
    assert "timeout_s=2" in bench.failures["hangs"].message
    assert bench.failures["hog"].kind in ("memory", "crashed")
    assert "memory" in bench.failures["hog"].message.lower()


# --------------------------------------------------------------------------- BenchmarkSuite


def test_suite_saves_healthy_results_and_records_failures(mods, tmp_path):
    _, m = mods
    suite = BenchmarkSuite(
        m.garbage, [m.dataset], tmp_path, warmup_runs=1, measurement_runs=3,
        benchmark_kwargs={"number": 1, "environment": ENV},
    )  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        results = suite.run_full_benchmark()
    for metric in METRICS:
        assert set(HEALTHY) <= set(results[metric])
    assert set(suite.failures) == set(GARBAGE)
    assert_garbage_recorded({n: json.dumps(f) for n, f in suite.failures.items()})
    run = load_run(suite.results_path)
    assert run["complete"] and run["failures"] == json.loads(json.dumps(suite.failures))
    for metric in METRICS:
        for name in HEALTHY:
            assert run["results"][metric][name] == results[metric][name]
    suite.generate_report()
    check_every_file_readable(tmp_path)
    md = (tmp_path / "report.md").read_text()
    assert "injected failure" in md and "BadOutput" in md


@pytest.mark.slow
def test_suite_with_timeouts_completes_around_a_hang(mods, tmp_path):
    _, m = mods
    models = {k: m.isolated[k] for k in ("healthy-a", "hangs")}
    suite = BenchmarkSuite(
        models, [m.dataset], tmp_path, warmup_runs=0, measurement_runs=2, metrics=("latency",),
        benchmark_kwargs={"number": 1, "timeout_s": 2, "environment": ENV},
    )  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        results = suite.run_full_benchmark()
    assert list(results["latency"]) == ["healthy-a"]
    assert suite.failures["hangs"]["latency"]["cause"] == "BenchmarkTimeoutError"
    assert load_run(tmp_path)["results"]["latency"]["healthy-a"] == results["latency"]["healthy-a"]


# --------------------------------------------------------------------------- CLI


def test_cli_run_exits_1_and_saves_the_rest(mods, tmp_path, capsys, monkeypatch):
    root, _ = mods
    monkeypatch.chdir(root)
    out = tmp_path / "cli"
    rc = cli.main([
        "run", f"{MODULE}:garbage", "--dataset", f"{MODULE}:dataset", "--output", str(out),
        "--warmup", "1", "--runs", "3", "--metrics", "latency,accuracy,size",
    ])  # fmt: skip
    captured = capsys.readouterr()
    assert rc == 1
    assert "Traceback" not in captured.err
    for name in GARBAGE:
        assert f"model {name!r} failed" in captured.err
    run = load_run(out)
    for metric in ("latency", "accuracy", "size"):
        assert set(HEALTHY) <= set(run["results"][metric])
    check_every_file_readable(out)


@pytest.mark.slow
def test_cli_run_with_timeout_and_memory_limit(mods, tmp_path, capsys, monkeypatch):
    root, _ = mods
    monkeypatch.chdir(root)
    out = tmp_path / "iso"
    rc = cli.main([
        "run", f"{MODULE}:isolated", "--output", str(out), "--warmup", "0", "--runs", "2",
        "--metrics", "latency", "--timeout", "2", "--memory-limit-mb", "2048",
    ])  # fmt: skip
    err = capsys.readouterr().err
    assert rc == 1 and "Traceback" not in err
    assert "'hangs' failed" in err and "--timeout 2" in err
    assert "'hog' failed" in err
    assert list(load_run(out)["results"]["latency"]) == ["healthy-a"]


# --------------------------------------------------------------------------- SIGKILL + resume


def _cli_cmd(out: Path, *extra: str) -> list[str]:
    return [
        sys.executable, "-m", "torchperf", "run", f"{MODULE}:slow", "--dataset",
        f"{MODULE}:dataset", "--output", str(out), "--warmup", "1", "--runs", "3", "--processes", "1",
        *extra,
    ]  # fmt: skip


def _done_values(run) -> dict[tuple[str, str], tuple[float, ...]]:
    return {
        (metric, model): r.values for metric, per in run["results"].items() for model, r in per.items()
    }


@pytest.mark.slow
def test_sigkill_at_random_points_then_resume(mods, tmp_path):
    """Kill ``torchperf run`` at seeded random moments; each state is readable, resumes add only."""
    root, _ = mods
    out = tmp_path / "killed"
    rng = np.random.default_rng(20261128)
    env = child_env(root)
    seen: dict[tuple[str, str], tuple[float, ...]] = {}
    kills = 0
    deadline = time.monotonic() + 60
    attempts = 0
    for attempt in range(5):
        if time.monotonic() > deadline - 12:
            break  # keep the test's wall time bounded on a slow machine
        extra = ("--resume",) if attempt else ()
        proc = subprocess.Popen(
            _cli_cmd(out, *extra), cwd=root, env=env,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        # Kill at a seeded random point of *progress* (after k more finished tasks, plus a
        # random few milliseconds, so mid-write moments are hit too): a time-based kill point
        # lets a fast machine finish the whole run first and then nothing is tested.
        total = len(METRICS) * 3
        target = len(seen) + int(rng.integers(0, max(1, total - len(seen) - 1)))
        extra_s = float(rng.uniform(0.0, 0.2))
        staged = out / ".staging" / "results.json"  # a run saves here until it completes
        while proc.poll() is None:
            try:
                n_done = len(_done_values(load_run(staged))) if staged.exists() else 0
            except ResultsFileError:
                n_done = 0
            if n_done >= target:
                time.sleep(extra_s)
                break
            time.sleep(0.01)
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            kills += 1
        attempts += 1
        proc.wait()
        current = staged if staged.exists() else out / "results.json"
        if current.exists():
            run = load_run(current)  # the last saved state is always readable
            done = _done_values(run)
            for key, values in seen.items():
                assert done.get(key) == values, f"{key} was lost or re-measured"
            seen = done
        assert not (out / "results.json").exists() or load_run(out)["complete"]
        if out.exists():
            check_every_file_readable(out)
        if staged.parent.exists():
            check_every_file_readable(staged.parent)
    # Progress-driven kill points: every attempt but perhaps the last dies mid-run. (How many
    # attempts fit in the time budget depends on the machine's load, so it is not asserted.)
    assert kills >= 2 and kills >= attempts - 1, (kills, attempts)
    proc = subprocess.run(
        _cli_cmd(out, "--resume"), cwd=root, env=env, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    final = load_run(out)
    assert final["complete"] and not final["interrupted"]
    done = _done_values(final)
    assert set(done) == {(m, n) for m in METRICS for n in ("m0", "m1", "m2")}
    for key, values in seen.items():
        assert done[key] == values, f"resume re-measured {key}"
    check_every_file_readable(out)
    assert not [p for p in out.iterdir() if p.name.endswith(".tmp")]  # stale temp files removed


# --------------------------------------------------------------------------- concurrency


@pytest.mark.slow
def test_two_runs_into_one_directory_do_not_interleave(mods, tmp_path, capsys, monkeypatch):
    root, _ = mods
    out = tmp_path / "shared"
    first = subprocess.Popen(
        _cli_cmd(out), cwd=root, env=child_env(root),
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    lock = out / LOCK_FILE_NAME
    start = time.monotonic()
    while time.monotonic() - start < 30:
        if lock.exists() and f"pid {first.pid}" in lock.read_text():
            break
        time.sleep(0.05)
    else:  # pragma: no cover - diagnostic
        first.kill()
        pytest.fail("the first run never took the lock")
    monkeypatch.chdir(root)
    rc = cli.main(_cli_cmd(out)[3:])  # the same command, in this process
    err = capsys.readouterr().err
    assert rc == 2 and f"pid {first.pid}" in err and "--output" in err and "Traceback" not in err
    assert first.wait(timeout=120) == 0, first.stderr.read()[-2000:]
    run = load_run(out)
    assert run["complete"] and set(_done_values(run)) == {
        (m, n) for m in METRICS for n in ("m0", "m1", "m2")
    }
    check_every_file_readable(out)


# --------------------------------------------------------------------------- truncation


def test_every_written_file_truncated_is_rejected_or_intact(mods, tmp_path, capsys, monkeypatch):
    """Truncate each output file at seeded random bytes: loaders raise ResultsFileError
    (the CLI exits 2 with one message) or read the identical data; never a traceback."""
    _root, m = mods
    out = tmp_path / "complete"
    suite = BenchmarkSuite(
        {k: m.garbage[k] for k in ("healthy-a", "healthy-b", "raises")}, [m.dataset], out,
        warmup_runs=1, measurement_runs=3, metrics=("latency", "accuracy", "size"),
        benchmark_kwargs={"number": 1, "environment": ENV},
    )  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        suite.run_full_benchmark()
        suite.generate_report()
    original = load_run(out)
    rng = np.random.default_rng(8)
    targets = ["results.json", "results.csv", "report.md", "report.html"]
    for name in targets:
        data = (out / name).read_bytes()
        cuts = sorted({0, len(data) - 1, *rng.integers(1, len(data) - 1, 6).tolist()})
        for cut in cuts:
            bad = tmp_path / f"cut-{cut}-{name}"
            bad.write_bytes(data[:cut])
            try:
                run = load_run(bad)
            except ResultsFileError as exc:
                assert str(bad) in str(exc)
            else:  # only possible when nothing but trailing whitespace was cut
                assert name == "results.json" and data[cut:].strip() == b""
                assert _done_values(run) == _done_values(original)
            for argv in (["report", str(bad), "--output", str(tmp_path / "rr")],
                         ["leaderboard", str(bad)]):  # fmt: skip
                rc = cli.main(argv)
                err = capsys.readouterr().err
                if name == "results.json" and data[cut:].strip() == b"":
                    assert rc == 0
                else:
                    assert rc == 2 and "Traceback" not in err and err.count("\n") == 1, err


def test_truncated_zoo_cache_is_detected_and_rebuilt(tmp_path):
    from torchperf.zoo import build as zb

    built = zb.build_zoo(0, tmp_path, include_torch=False)
    entry = built.cache_path
    key = entry.name
    rng = np.random.default_rng(5)
    for name in ("meta.json", "arrays.npz"):
        good = (entry / name).read_bytes()
        for cut in sorted({0, len(good) - 1, *rng.integers(1, len(good) - 1, 5).tolist()}):
            (entry / name).write_bytes(good[:cut])
            if good[cut:].strip() == b"" and name == "meta.json":
                zb._load_entry(entry, key, 0)  # only the final newline cut: intact
                continue
            with pytest.raises(ResultsFileError):
                zb._load_entry(entry, key, 0)
        (entry / name).write_bytes(good)
    zb._load_entry(entry, key, 0)  # restored: loads again
    raw = (entry / "arrays.npz").read_bytes()
    (entry / "arrays.npz").write_bytes(raw[: len(raw) // 2])
    with pytest.warns(CorruptResultsWarning, match="rebuilding"):
        rebuilt = zb.build_zoo(0, tmp_path, include_torch=False)
    assert not rebuilt.from_cache
    x = built.split.X_test[:5]
    for model_name, model in built.models.items():
        np.testing.assert_array_equal(rebuilt.models[model_name].forward(x), model.forward(x))
    assert read_json(entry / "meta.json")["arrays_sha256"]  # a complete entry was rewritten


# --------------------------------------------------------------------------- kills over a previous run


def _snapshot(directory: Path) -> dict[str, bytes]:
    """Every regular file a run leaves visible in ``directory`` (not the lock, not .staging)."""
    return {p.name: p.read_bytes() for p in directory.iterdir() if p.is_file() and not p.name.startswith(".")}


def _fork_cli(argv: list[str], stderr_path: Path) -> int:
    """Run ``torchperf`` (``cli.main(argv)``) in a forked child; return its pid.

    Forking this already-imported process makes a trial cost the run, not 3 s of imports.
    """
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        rc = 99
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            err = os.open(stderr_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            os.dup2(devnull, 1)
            os.dup2(err, 2)
            sys.stdout = open(1, "w", closefd=False)
            sys.stderr = open(2, "w", closefd=False)
            rc = cli.main(argv)
        except BaseException:
            import traceback

            traceback.print_exc()
        finally:
            try:
                sys.stderr.flush()
            finally:
                os._exit(rc)
    return pid


def _wait_rc(pid: int) -> int:
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)


def _consistent_complete_run(out: Path, models: tuple[str, ...], metrics: tuple[str, ...]) -> str:
    """'' if ``out`` holds one complete run whose reports belong to its results.json."""
    from torchperf.report import render_run

    run = load_run(out)
    if not run["complete"] or run["interrupted"]:
        return "results.json is not a complete run"
    if set(_done_values(run)) != {(m, n) for m in metrics for n in models}:
        return "results.json lacks results"
    fresh = out.parent / f"{out.name}-rerender"
    render_run(run, fresh, plots=False)
    if (fresh / "results.csv").read_bytes() != (out / "results.csv").read_bytes():
        return "results.csv does not belong to results.json"
    stamp = run["updated"][:19]
    for name in ("report.md", "report.html"):
        if stamp not in (out / name).read_text(encoding="utf-8"):
            return f"{name} does not belong to results.json"
    return ""


KILL_TRIALS = 20


@pytest.mark.slow
@pytest.mark.reliability
@pytest.mark.parametrize("signame", ["SIGKILL", "SIGINT"])
def test_kill_rerun_over_a_previous_complete_run(mods, tmp_path, monkeypatch, signame, record_property):
    """A re-run (no --resume) into a directory holding a complete run, killed (SIGKILL) or
    interrupted (SIGINT, as Ctrl-C) at a seeded random moment: the previous results and
    their reports survive byte for byte, or the new run is complete and its reports match
    it. 20 trials; 0 results may be lost."""
    root, _ = mods
    monkeypatch.chdir(root)
    sig = getattr(signal, signame)
    metrics = ("latency", "size")
    models = ("m0", "m1", "m2")
    argv = ["run", f"{MODULE}:slow", "--warmup", "1", "--runs", "3", "--processes", "1",
            "--metrics", ",".join(metrics)]  # fmt: skip
    template = tmp_path / "previous"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        started = time.monotonic()
        pid = _fork_cli([*argv, "--output", str(template)], tmp_path / "template.err")
        assert _wait_rc(pid) == 0, (tmp_path / "template.err").read_text()[-2000:]
        full_s = time.monotonic() - started
    assert _consistent_complete_run(template, models, metrics) == ""
    previous = _done_values(load_run(template))
    rng = np.random.default_rng(20261203 + sig)
    outcomes = {"previous kept": 0, "new run complete": 0, "promotion finished by next lock": 0}
    problems: list[str] = []
    lost = 0
    for trial in range(KILL_TRIALS):
        out = tmp_path / f"trial-{trial}"
        shutil.copytree(template, out)
        before = _snapshot(out)
        err_path = tmp_path / f"trial-{trial}.err"
        pid = _fork_cli([*argv, "--output", str(out)], err_path)
        time.sleep(float(rng.uniform(0.0, 1.1 * full_s)))
        try:
            os.kill(pid, sig)
        except ProcessLookupError:  # pragma: no cover - already reaped (never: we wait below)
            pass
        rc = _wait_rc(pid)
        err = err_path.read_text(errors="replace")
        if (out / ".staging" / ".promote.json").exists():
            with directory_lock(out):  # what the next `torchperf run/report` on out does
                pass
            outcomes["promotion finished by next lock"] += 1
        after = _snapshot(out)
        problem = ""
        if after == before:
            outcomes["previous kept"] += 1
            staged = out / ".staging" / "results.json"
            if staged.exists():
                load_run(staged)  # the unfinished run is readable too (resume continues it)
        else:
            problem = _consistent_complete_run(out, models, metrics)
            if not problem:
                outcomes["new run complete"] += 1
        now = _done_values(load_run(out))
        lost += sum(1 for key in previous if key not in now)
        if signame == "SIGINT":
            if rc not in (0, 130):
                problem = problem or f"exit status {rc}"
            if "Traceback" in err:
                problem = problem or "a traceback on stderr"
        elif rc not in (0, -signal.SIGKILL):
            problem = problem or f"exit status {rc}"
        if problem:
            problems.append(f"trial {trial}: {problem}; rc {rc}; stderr {err[-500:]!r}")
        shutil.rmtree(out)
    record_property("trials", KILL_TRIALS)
    record_property("failures", len(problems))
    record_property("results lost", lost)
    record_property("detail", ", ".join(f"{k}: {v}" for k, v in outcomes.items()))
    assert not problems, "\n".join(problems)
    assert lost == 0


# --------------------------------------------------------------------------- model code that ends or bends the process


def test_sys_exit_keyboardinterrupt_and_chdir_in_model_are_model_failures(mods, tmp_path, monkeypatch):
    """SystemExit, a KeyboardInterrupt the model raises itself and os.chdir are failures of
    that model; the run goes on, the cwd is restored and the output stays in one place."""
    _, m = mods
    monkeypatch.chdir(tmp_path)
    suite = BenchmarkSuite(
        m.misbehaving, None, "rel-out", warmup_runs=1, measurement_runs=3,
        metrics=("latency", "size"), benchmark_kwargs={"number": 1, "environment": ENV},
    )  # fmt: skip
    assert suite.output_dir == tmp_path / "rel-out"  # absolute before any model code runs
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        results = suite.run_full_benchmark()
    assert os.getcwd() == str(tmp_path)
    assert set(results["latency"]) == set(HEALTHY)
    fail = suite.failures
    assert fail["exits"]["latency"]["cause"] == "SystemExit"
    assert "sys.exit(0)" in fail["exits"]["latency"]["message"]
    assert fail["interrupts"]["latency"]["cause"] == "KeyboardInterrupt"
    assert "no Ctrl-C" in fail["interrupts"]["latency"]["message"]
    assert fail["chdir"]["latency"]["cause"] == "ProcessStateChanged"
    assert "os.chdir" in fail["chdir"]["latency"]["message"]
    run = load_run(tmp_path / "rel-out")
    assert run["complete"] and set(run["failures"]) == {"exits", "interrupts", "chdir"}
    assert not list(Path(tempfile_dir()).glob("rel-out"))  # nothing written after the chdir


def tempfile_dir() -> str:
    import tempfile

    return tempfile.gettempdir()


@pytest.mark.slow
def test_cli_run_survives_models_that_exit_chdir_or_close_streams(mods, tmp_path):
    """`torchperf run` (a real process): exit 1, every failure named on stderr, the table
    on stdout, every file in the one --output directory, no traceback."""
    root, _ = mods
    proc = subprocess.run(
        [sys.executable, "-m", "torchperf", "run", f"{MODULE}:closes_streams", "--output", "out",
         "--warmup", "1", "--runs", "3", "--metrics", "latency,size", "--processes", "1"],
        cwd=tmp_path, env=child_env(root), capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 1, proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr
    for name in ("exits", "chdir", "closes-stdout", "closes-stderr-fd"):
        assert f"model {name!r} failed the latency benchmark" in proc.stderr, proc.stderr[-3000:]
    assert "closed sys.stdout" in proc.stderr and "closed file descriptor 2" in proc.stderr
    assert "healthy-b" in proc.stdout and "report.html" in proc.stdout
    run = load_run(tmp_path / "out")
    assert set(run["results"]["latency"]) == set(HEALTHY)
    check_every_file_readable(tmp_path / "out")


@pytest.mark.slow
def test_model_exit_in_a_worker_process_is_a_model_failure(mods):
    _, m = mods
    models = {k: m.misbehaving[k] for k in ("healthy-a", "exits", "interrupts")}
    bench = Benchmark(models, None, warmup_runs=0, measurement_runs=2, number=1, timeout_s=60,
                      environment=ENV)  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ModelFailureWarning)
        out = bench.run_latency_benchmark()
    assert list(out) == ["healthy-a"]
    assert bench.failures["exits"].cause == "SystemExit"
    assert bench.failures["interrupts"].cause == "KeyboardInterrupt"
    assert "worker process" in bench.failures["exits"].message


@pytest.mark.slow
def test_ctrl_c_with_worker_processes_prints_no_worker_traceback(mods, tmp_path):
    """Ctrl-C in a terminal sends SIGINT to the whole foreground process group, workers
    included: the run stops with exit 130 and one message, never a worker's traceback."""
    root, _ = mods
    proc = subprocess.Popen(
        [sys.executable, "-m", "torchperf", "run", f"{MODULE}:napping", "--output", "out",
         "--warmup", "1", "--runs", "20", "--metrics", "latency", "--timeout", "120",
         "--processes", "1"],
        cwd=tmp_path, env=child_env(root), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, start_new_session=True,
    )  # fmt: skip
    staged = tmp_path / "out" / ".staging" / "results.json"
    deadline = time.monotonic() + 120
    while not staged.exists() and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
    time.sleep(2.0)  # a worker process is running the first task now
    os.killpg(proc.pid, signal.SIGINT)
    _out, err = proc.communicate(timeout=120)
    assert proc.returncode in (130, 0), err[-3000:]
    assert "Traceback" not in err, err[-3000:]
    if proc.returncode == 130:
        assert "interrupted" in err and "--resume" in err


# --------------------------------------------------------------------------- messages (issue 15.5)

ASV_FIXTURE = Path(__file__).parent / "data" / "asv-history" / "results"


def test_many_warnings_are_aggregated_with_a_log(tmp_path, capsys):
    """40 unreadable asv files: 5 warning lines, '... and 35 more ...: see LOG', a total;
    the log holds all 40."""
    results = tmp_path / "results"
    shutil.copytree(ASV_FIXTURE, results)
    machine = results / "fixture-box"
    for i in range(40):
        (machine / f"{i:040x}-junk.json").write_text("{not json")
    rc = cli.main(["regressions", "--results-dir", str(results), "--no-cache"])
    err = capsys.readouterr().err
    assert rc in (0, 1), err
    lines = [ln for ln in err.splitlines() if "CorruptResultsWarning" in ln]
    assert len(lines) == cli.WARNINGS_SHOWN + 1, err  # 5 shown + the "... and N more" line
    more = [ln for ln in lines if "more CorruptResultsWarning" in ln]
    assert more and "and 35 more" in more[0]
    log = Path(more[0].rsplit("see ", 1)[1])
    assert sum("CorruptResultsWarning" in ln for ln in log.read_text().splitlines()) == 40
    assert "warning(s) in all" in err
    log.unlink()


def test_missing_benchmarks_json_warns_that_units_are_unknown(tmp_path):
    from torchperf.errors import TorchperfWarning
    from torchperf.history import load_results

    results = tmp_path / "results"
    shutil.copytree(ASV_FIXTURE, results)
    (results / "benchmarks.json").unlink()
    with pytest.warns(TorchperfWarning, match="units and directions of the benchmarks are unknown"):
        load_results(results, cache=False)


def _saved_run(tmp_path: Path, mods) -> Path:
    _, m = mods
    out = tmp_path / "good"
    suite = BenchmarkSuite(
        {k: m.garbage[k] for k in HEALTHY}, None, out, warmup_runs=1, measurement_runs=3,
        metrics=("size",), benchmark_kwargs={"number": 1, "environment": ENV},
    )  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        suite.run_full_benchmark()
    return out


def test_disk_full_and_file_in_the_way_name_the_path_and_the_remedy(mods, tmp_path, capsys, monkeypatch):
    import errno

    from torchperf import fileio

    good = _saved_run(tmp_path, mods)
    # "File exists": --output names an existing file
    rc = cli.main(["report", str(good / "results.json"), "--output", str(good / "results.json")])
    err = capsys.readouterr().err
    assert rc == 2 and str(good / "results.json") in err and "remove or rename it" in err, err
    # "No space left on device" while writing (the OSError from write/fsync names no file)
    def full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(fileio.os, "fsync", full)
    rc = cli.main(["report", str(good / "results.json"), "--output", str(tmp_path / "again")])
    err = capsys.readouterr().err
    assert rc == 2 and "Traceback" not in err
    assert "No space left on device" in err and str(tmp_path / "again") in err
    assert "free some space" in err and "--output DIR" in err, err


def test_compare_says_a_directory_is_not_a_results_file(mods, tmp_path, capsys):
    good = _saved_run(tmp_path, mods)
    empty = tmp_path / "empty-dir"
    empty.mkdir()
    rc = cli.main(["compare", str(empty), str(good / "results.json")])
    err = capsys.readouterr().err
    assert rc == 2 and f"{empty} is a directory without a results.json" in err, err
    assert "Traceback" not in err and err.count("\n") == 1
    # a run directory holding results.json is accepted as the run
    rc = cli.main(["compare", str(good), str(good / "results.json")])
    assert rc == 0, capsys.readouterr().err


def test_cli_escapes_and_shortens_hostile_names_on_the_terminal(mods, tmp_path, capsys, monkeypatch):
    """Failure messages of models named with ANSI/RTL/NUL characters, 5000 more characters
    and a lone surrogate: escaped and shortened on stderr; the JSON keeps the names whole."""
    from torchperf.text import display_name

    root, m = mods
    monkeypatch.chdir(root)
    out = tmp_path / "hostile"
    rc = cli.main(["run", f"{MODULE}:hostile", "--output", str(out), "--warmup", "1", "--runs", "3",
                   "--metrics", "latency", "--processes", "1"])  # fmt: skip
    captured = capsys.readouterr()
    assert rc == 1
    for stream in (captured.out, captured.err):
        assert "\x1b" not in stream and "\u202e" not in stream and "\x00" not in stream
        assert "\ud800" not in stream
        stream.encode("utf-8")
    long_name = next(n for n in m.hostile if n.endswith("z"))
    assert f"model '{display_name(long_name)}' failed" in captured.err
    assert "z" * 100 not in captured.err and "z" * 100 not in captured.out
    assert "sur\\ud800rogate" in captured.err
    assert set(load_run(out)["failures"]) == {long_name, "sur\ud800rogate"}


def test_output_dir_is_fixed_before_target_modules_are_imported(mods, tmp_path, capsys, monkeypatch):
    """A target module that calls os.chdir when imported cannot move `--output rel` elsewhere."""
    import tempfile

    root, _ = mods
    name = "tpf_chdir_on_import"
    (root / f"{name}.py").write_text(
        "import os, tempfile\n"
        "os.chdir(tempfile.gettempdir())\n"
        f"from {MODULE} import Healthy\n"
        "models = {'a': Healthy('a'), 'b': Healthy('b', 2.0)}\n"
    )
    importlib.invalidate_caches()
    monkeypatch.chdir(tmp_path)
    out_name = f"rel-out-{os.getpid()}"
    try:
        rc = cli.main(["run", f"{name}:models", "--output", out_name, "--warmup", "1", "--runs", "3",
                       "--metrics", "size"])  # fmt: skip
    finally:
        sys.modules.pop(name, None)
    err = capsys.readouterr().err
    assert rc == 0, err
    assert load_run(tmp_path / out_name)["complete"]
    assert not (Path(tempfile.gettempdir()) / out_name).exists()
