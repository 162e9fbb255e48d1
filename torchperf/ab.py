"""Is B slower than A? Interleaved, paired, sequential A/B comparison (``torchperf ab``).

Design (``docs/measurement.md`` section "A/B", ``docs/statistics.md#rule-10``):

* **Pairs of fresh processes.** Each replicate starts one worker process for A and
  one for B (each with its own interpreter: ``--python-a`` / ``--python-b``, or its own
  checkout: ``--revisions``), in random order, and keeps both alive while it measures.
  Whole processes land on different speed levels (allocator state, address layout), so
  the process pair, not the call, is the unit of replication. The next pair's workers
  start while the current pair measures, and a finished pair's workers quit without
  being waited for, so start-up and teardown (interpreter, imports) overlap measuring.
* **Interleaved blocks.** Inside a pair, A and B alternate in short blocks: each block
  is ``ABBA`` or ``BAAB`` (chosen at random), each letter a chunk of a few samples. Both
  sides see the same machine states; a linear drift inside a block cancels.
* **Paired log ratios.** A block's value is ``mean(log median B chunk) - mean(log median
  A chunk)``; a pair's value is the median of its blocks' values.
* **Sequential decision.** After every pair, :func:`torchperf.sequential.sequential_verdict`
  updates an always-valid confidence sequence of the ratio and reads the verdict
  (slower / faster / equivalent within ``margin`` / inconclusive) off it. Sampling
  stops at the first settled verdict or when ``max_time_s`` is spent; the error rates
  hold under this optional stopping.
"""

from __future__ import annotations

import json
import math
import os
import random
import selectors
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from torchperf.errors import BenchmarkTimeoutError, InvalidParameterError, ModelError
from torchperf.sequential import SequentialDecision, sequential_verdict

__all__ = ["ABPair", "ABResult", "ABSide", "ab_compare", "checkout_revision"]

_WORKER_FILE = Path(__file__).with_name("_abworker.py")
_PACKAGE_PARENT = str(Path(__file__).resolve().parent.parent)
ORDERS = ("abba", "random")
CLOCKS = ("process", "wall", "thread")
#: Thread-pool variables set to 1 in the workers (unless already set) when timing CPU time,
#: so that idle BLAS/OpenMP threads cannot spin and be counted.
_THREAD_VARS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS",
                "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS")


@dataclass(frozen=True)
class ABSide:
    """One side of an A/B comparison.

    Parameters
    ----------
    target : str
        ``"module:attribute"``: a zero-argument callable, or a model (an object with
        ``forward`` / ``predict``, a callable taking one input) called on ``input``.
    python : str, optional
        Interpreter that runs this side's workers (default: this one). Two
        virtualenvs compare NumPy/BLAS builds directly.
    sys_path : tuple of str
        Directories put first on the worker's ``sys.path`` (a checkout of a revision).
    cwd : str, optional
        Working directory of the workers (default: the current one, which is importable).
    input : str, optional
        ``"module:attribute"`` of a model's input: an array, an ``(X, y)`` pair (X is
        used) or a zero-argument factory. Default: the model's declared input shape, else
        ``(1, 28, 28)``, standard normal ``float32`` with seed 0.
    label : str
        Name shown in reports (default: the target).

    """

    target: str
    python: str | None = None
    sys_path: tuple[str, ...] = ()
    cwd: str | None = None
    input: str | None = None
    label: str = ""

    def __post_init__(self) -> None:
        module, sep, attr = str(self.target).partition(":")
        if not sep or not module or not attr:
            raise InvalidParameterError(
                f"target {self.target!r} must look like 'module:attribute' (e.g. 'mypkg.bench:run')."
            )
        if self.python is not None and shutil.which(self.python) is None and not os.access(self.python, os.X_OK):
            raise InvalidParameterError(
                f"interpreter {self.python!r} is not an executable file; pass the path of a python "
                "binary, e.g. venv/bin/python."
            )

    @property
    def name(self) -> str:
        """The label, or the target."""
        return self.label or self.target

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready description."""
        return {"target": self.target, "python": self.python or sys.executable, "sys_path": list(self.sys_path),
                "cwd": self.cwd, "input": self.input, "label": self.name}


@dataclass(frozen=True)
class ABPair:
    """One replicate: a pair of fresh worker processes measured in interleaved blocks.

    Attributes
    ----------
    index : int
        Position in the run.
    log_ratio : float
        The replicate's value: median over blocks of the block log ratios ``log(B/A)``.
    block_log_ratios : tuple of float
        Each block's ``mean(log B chunk medians) - mean(log A chunk medians)``.
    orders : tuple of str
        Each block's order, ``"ABBA"`` or ``"BAAB"`` (or a random one).
    median_a_s, median_b_s : float
        Median per-call seconds of all of A's / B's samples in this pair.
    seconds : float
        Wall time the pair added to the run: from the end of the previous pair to the
        end of this one's last block (the part of its start-up not overlapped with the
        previous pair's measuring, if any, included).
    number_a, number_b : int
        Calls per sample on each side.

    """

    index: int
    log_ratio: float
    block_log_ratios: tuple[float, ...]
    orders: tuple[str, ...]
    median_a_s: float
    median_b_s: float
    seconds: float
    number_a: int
    number_b: int

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return {
            "index": self.index, "log_ratio": self.log_ratio, "ratio": math.exp(self.log_ratio),
            "block_log_ratios": list(self.block_log_ratios), "orders": list(self.orders),
            "median_a_s": self.median_a_s, "median_b_s": self.median_b_s, "seconds": self.seconds,
            "number_a": self.number_a, "number_b": self.number_b,
        }


@dataclass(frozen=True)
class ABResult:
    """Outcome of :func:`ab_compare`.

    Attributes
    ----------
    decision : SequentialDecision
        Verdict, ratio B/A and its confidence-sequence interval.
    pairs : tuple of ABPair
        Every replicate, in order.
    seconds : float
        Wall time used.
    stop_reason : str
        ``"settled"``, ``"time budget"``, ``"max pairs"`` or ``"interrupted"`` (Ctrl-C
        after at least one pair: the pairs measured so far are decided on, not lost).
    base, candidate : ABSide
        The two sides.
    settings : dict
        The parameters of the run.

    """

    decision: SequentialDecision
    pairs: tuple[ABPair, ...]
    seconds: float
    stop_reason: str
    base: ABSide
    candidate: ABSide
    settings: dict[str, Any] = field(default_factory=dict)

    @property
    def verdict(self) -> str:
        """``"slower"``, ``"faster"``, ``"equivalent"`` or ``"inconclusive"``."""
        return self.decision.verdict

    @property
    def regression(self) -> bool:
        """True when B was found slower than A."""
        return self.decision.verdict == "slower"

    @property
    def blocks(self) -> int:
        """Interleaved blocks measured in all."""
        return sum(len(p.block_log_ratios) for p in self.pairs)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (the ``--format json`` output of ``torchperf ab``)."""
        d = self.decision
        return {
            "verdict": d.verdict,
            "settled": d.settled,
            "regression": self.regression,
            "ratio": d.ratio,
            "ci_low": d.ci_low,
            "ci_high": None if math.isinf(d.ci_high) else d.ci_high,
            "percent_change": 100 * (d.ratio - 1) if math.isfinite(d.ratio) else None,
            "alpha": d.alpha,
            "margin": d.margin,
            "e_value": None if math.isinf(d.e_value) else d.e_value,
            "pairs": len(self.pairs),
            "blocks": self.blocks,
            "seconds": self.seconds,
            "stop_reason": self.stop_reason,
            "base": self.base.to_dict(),
            "candidate": self.candidate.to_dict(),
            "median_base_s": _median([p.median_a_s for p in self.pairs]),
            "median_candidate_s": _median([p.median_b_s for p in self.pairs]),
            "settings": dict(self.settings),
            "decision": d.to_dict(),
            "replicates": [p.to_dict() for p in self.pairs],
            "procedure": "docs/statistics.md#rule-10",
        }


def _median(values: Sequence[float]) -> float | None:
    return float(statistics.median(values)) if values else None


# ------------------------------------------------------------------------------ workers


class _Worker:
    """A running worker process of one side."""

    def __init__(self, side: ABSide, config: dict[str, Any]) -> None:
        self.side = side
        env = dict(os.environ)
        paths = [*side.sys_path, _PACKAGE_PARENT]
        if env.get("PYTHONPATH"):
            paths.append(env["PYTHONPATH"])
        env["PYTHONPATH"] = os.pathsep.join(paths)
        if config.get("clock") != "wall":
            for var in _THREAD_VARS:
                env.setdefault(var, "1")
        cfg = {**config, "target": side.target, "input": side.input, "sys_path": list(side.sys_path)}
        self.stderr: IO[bytes] = tempfile.TemporaryFile()
        python = side.python or sys.executable
        try:
            self.proc = subprocess.Popen(
                [python, "-c", _boot(), str(_WORKER_FILE), json.dumps(cfg)],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.stderr,
                cwd=side.cwd or os.getcwd(), env=env, text=True, bufsize=1,
            )
        except OSError as exc:
            self.stderr.close()
            raise InvalidParameterError(f"cannot start interpreter {python!r} for {side.name}: {exc}.") from exc
        self.ready: dict[str, Any] = {}

    def read(self, timeout_s: float, what: str) -> dict[str, Any]:
        assert self.proc.stdout is not None
        with selectors.DefaultSelector() as sel:
            sel.register(self.proc.stdout, selectors.EVENT_READ)
            if not sel.select(timeout_s):
                self.kill()
                raise BenchmarkTimeoutError(
                    f"{self.side.name}: the worker process gave no answer to {what} within "
                    f"{timeout_s:g} s; it was killed. Raise timeout_s=... or make the target faster."
                )
        line = self.proc.stdout.readline()
        if not line:
            self.proc.wait()
            raise ModelError(
                f"{self.side.name}: the worker process exited with code {self.proc.returncode} during "
                f"{what} (crashed, killed or out of memory). Its stderr: {self.stderr_tail()}"
            )
        message: dict[str, Any] = json.loads(line)
        if "error" in message:
            error = ModelError(f"{self.side.name} ({self.side.python or sys.executable}): {message['error']}")
            error.worker_traceback = message.get("traceback", "")  # type: ignore[attr-defined]
            self.kill()
            if message["error"].startswith(("ModuleNotFoundError", "AttributeError", "ValueError: target")):
                raise InvalidParameterError(
                    f"cannot load target {self.side.target!r} in {self.side.python or sys.executable}: "
                    f"{message['error']}. Check the spelling and that the module is importable there "
                    "(the current directory is on its path)."
                )
            raise error
        return message

    def send(self, obj: dict[str, Any]) -> None:
        assert self.proc.stdin is not None
        try:
            self.proc.stdin.write(json.dumps(obj) + "\n")
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError, ValueError):  # ValueError: input already closed
            pass  # the read that follows reports the dead worker

    def samples(self, k: int, timeout_s: float) -> list[float]:
        self.send({"samples": k})
        return [float(v) for v in self.read(timeout_s, "a block of samples")["samples_s"]]

    def stderr_tail(self, limit: int = 2000) -> str:
        try:
            self.stderr.seek(0)
            text = self.stderr.read().decode("utf-8", "replace").strip()
        except (OSError, ValueError):
            return "(unreadable)"
        return text[-limit:] or "(empty)"

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()

    def release(self) -> None:
        """Ask the worker to quit and close its input, without waiting for it to exit.

        Interpreter teardown (NumPy's included) then overlaps the next pair's measuring
        instead of adding to the wall time; :meth:`close` reaps the process later.
        """
        if self.proc.stdin is None or self.proc.stdin.closed:
            return
        if self.proc.poll() is None:
            self.send({"quit": True})
        if self.proc.stdin is not None:
            try:
                self.proc.stdin.close()
            except OSError:
                pass

    def close(self, timeout_s: float = 5.0) -> None:
        """Quit (or kill, after ``timeout_s``) and reap the worker; close its streams."""
        if self.proc.poll() is None:
            self.release()
            try:
                self.proc.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                self.kill()
        for stream in (self.proc.stdin, self.proc.stdout):
            if stream is not None:
                try:
                    stream.close()
                except OSError:
                    pass
        self.stderr.close()


def _boot() -> str:
    from torchperf._abworker import BOOT

    return BOOT


def _log_median(values: Sequence[float]) -> float:
    m = statistics.median(values)
    if not m > 0:
        raise ModelError(f"a chunk of samples had median {m!r} s; times must be positive.")
    return math.log(m)


class _PairWorkers:
    """The two started workers of one pair, started in random order."""

    def __init__(self, base: ABSide, candidate: ABSide, config: dict[str, Any], rng: random.Random) -> None:
        self.letters = ("A", "B") if rng.random() < 0.5 else ("B", "A")
        self.started = time.perf_counter()
        self.workers: dict[str, _Worker] = {}
        try:
            for letter in self.letters:
                self.workers[letter] = _Worker(base if letter == "A" else candidate, config)
        except BaseException:
            self.close()
            raise

    def wait_ready(self, timeout_s: float) -> None:
        try:
            for letter in self.letters:
                self.workers[letter].ready = self.workers[letter].read(timeout_s, "start-up")
        except BaseException:
            self.close()
            raise

    def release(self) -> None:
        for w in self.workers.values():
            w.release()

    def kill(self) -> None:
        for w in self.workers.values():
            w.kill()

    def exited(self) -> bool:
        return all(w.proc.poll() is not None for w in self.workers.values())

    def close(self) -> None:
        for w in self.workers.values():
            w.close()


def _measure_pair(
    index: int,
    pair: _PairWorkers,
    *,
    blocks: int,
    samples_per_chunk: int,
    order: str,
    rng: random.Random,
    timeout_s: float,
    started: float,
) -> ABPair:
    workers = pair.workers
    block_values: list[float] = []
    orders: list[str] = []
    all_a: list[float] = []
    all_b: list[float] = []
    try:
        for _ in range(blocks):
            if order == "abba":
                seq = "ABBA" if rng.random() < 0.5 else "BAAB"
            else:
                arrangement = ["A", "A", "B", "B"]
                rng.shuffle(arrangement)
                seq = "".join(arrangement)
            logs: dict[str, list[float]] = {"A": [], "B": []}
            for letter in seq:
                chunk = workers[letter].samples(samples_per_chunk, timeout_s)
                (all_a if letter == "A" else all_b).extend(chunk)
                logs[letter].append(_log_median(chunk))
            block_values.append(statistics.fmean(logs["B"]) - statistics.fmean(logs["A"]))
            orders.append(seq)
    finally:
        pair.release()  # quit without waiting: teardown overlaps what follows
    return ABPair(
        index=index,
        log_ratio=float(statistics.median(block_values)),
        block_log_ratios=tuple(block_values),
        orders=tuple(orders),
        median_a_s=float(statistics.median(all_a)),
        median_b_s=float(statistics.median(all_b)),
        seconds=time.perf_counter() - started,
        number_a=int(workers["A"].ready.get("number", 1)),
        number_b=int(workers["B"].ready.get("number", 1)),
    )


def _check_positive(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not (0 < value < math.inf):
        raise InvalidParameterError(f"`{name}` must be a positive finite number; got {value!r}.")
    return float(value)


def _check_int(name: str, value: object, low: int, high: int = 10**6) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise InvalidParameterError(f"`{name}` must be an integer in [{low}, {high}]; got {value!r}.")
    return value


def ab_compare(
    base: ABSide | str,
    candidate: ABSide | str,
    *,
    alpha: float = 0.05,
    margin: float = 0.02,
    max_time_s: float = 60.0,
    max_pairs: int = 10_000,
    min_pairs: int = 3,
    blocks_per_pair: int = 20,
    samples_per_chunk: int = 3,
    sample_s: float = 1e-3,
    warmup_s: float = 0.05,
    prior_scale: float = 1.0,
    order: str = "abba",
    clock: str = "process",
    seed: int | None = None,
    timeout_s: float = 120.0,
    overlap_start: bool = True,
    progress: Callable[[ABPair, SequentialDecision, float], None] | None = None,
) -> ABResult:
    """Compare two targets in interleaved blocks across fresh process pairs, sequentially.

    Parameters
    ----------
    base, candidate : ABSide or str
        The two sides (a ``"module:attribute"`` string means an :class:`ABSide` with this
        interpreter).
    alpha : float
        Error rate of the confidence sequence: each wrong verdict has probability
        ``<= alpha`` whenever the run stops (``docs/statistics.md#rule-10``).
    margin : float
        Equivalence margin m: "equivalent" means the ratio lies in ``[1/(1+m), 1+m]``.
    max_time_s : float
        Time budget; no new pair starts when it would end after the budget. At least
        one pair is always measured.
    max_pairs : int
        Cap on pairs.
    min_pairs : int
        Pairs before a verdict may settle (>= 2).
    blocks_per_pair : int
        Interleaved blocks per process pair.
    samples_per_chunk : int
        Samples in each letter of a block (``ABBA``: 4 chunks per block).
    sample_s : float
        Minimum duration of one sample; the loop count is calibrated per worker.
        A pair spans ``blocks_per_pair * 2 * samples_per_chunk * sample_s`` of measuring
        per side (0.12 s at the defaults) plus start-up.
    warmup_s : float
        Warmup of each worker before its first block.
    prior_scale : float
        See :func:`torchperf.sequential.sequential_verdict`.
    order : {"abba", "random"}
        ``"abba"``: each block is ABBA or BAAB at random; ``"random"``: a random
        arrangement of AABB.
    clock : {"process", "wall", "thread"}
        What a sample measures. ``"process"`` (default): the worker's CPU time
        (``time.process_time_ns``), which other tenants of a busy machine cannot inflate
        by preempting it; the workers run with one BLAS/OpenMP thread (the
        ``*_NUM_THREADS`` variables are set to 1 unless already set) so that idle pool
        threads are not counted. ``"wall"``: ``time.perf_counter_ns``, for
        multi-threaded code on a quiet machine. ``"thread"``: this thread's CPU time.
    seed : int, optional
        Seed of the orders (reproducible schedules).
    timeout_s : float
        Kill a worker that does not answer within this many seconds.
    overlap_start : bool
        Start the next pair's two workers while the current pair measures (default), so
        that interpreter and import start-up, the largest cost of a pair, is not waited
        for; they are killed unused when the run stops. Their start-up load falls on A's
        and B's chunks of a block alike. False starts each pair only after the previous
        one ended.
    progress : callable, optional
        ``progress(pair, decision, elapsed_s)`` after every pair.

    Returns
    -------
    ABResult
        Verdict, ratio and interval, every pair, blocks and seconds used.

    Raises
    ------
    InvalidParameterError
        Bad parameters, an unloadable target or interpreter.
    ModelError
        A target raised or a worker died (the message has the worker's error).
    BenchmarkTimeoutError
        A worker did not answer within ``timeout_s``.

    """
    a = base if isinstance(base, ABSide) else ABSide(str(base))
    b = candidate if isinstance(candidate, ABSide) else ABSide(str(candidate))
    max_time = _check_positive("max_time_s", max_time_s)
    _check_int("max_pairs", max_pairs, 1)
    _check_int("min_pairs", min_pairs, 2)
    _check_int("blocks_per_pair", blocks_per_pair, 1, 10_000)
    _check_int("samples_per_chunk", samples_per_chunk, 1, 10_000)
    _check_positive("sample_s", sample_s)
    _check_positive("warmup_s", warmup_s)
    _check_positive("timeout_s", timeout_s)
    if order not in ORDERS:
        raise InvalidParameterError(f"`order` must be one of {ORDERS}; got {order!r}.")
    if clock not in CLOCKS:
        raise InvalidParameterError(f"`clock` must be one of {CLOCKS}; got {clock!r}.")
    sequential_verdict([], alpha=alpha, margin=margin, prior_scale=prior_scale)  # validates
    rng = random.Random(seed)
    config = {"sample_s": float(sample_s), "warmup_s": float(warmup_s), "clock": clock}
    pairs: list[ABPair] = []
    start = time.perf_counter()
    stop_reason = "max pairs"
    decision = sequential_verdict([], alpha=alpha, margin=margin, prior_scale=prior_scale)
    start_rng = random.Random(rng.getrandbits(64))  # start orders: apart from block orders
    started: list[_PairWorkers] = []
    pending: _PairWorkers | None = None
    try:
        while len(pairs) < max_pairs:
            if pairs:
                typical = statistics.median(p.seconds for p in pairs)
                if time.perf_counter() - start + typical > max_time:
                    stop_reason = "time budget"
                    break
            began = time.perf_counter()
            current = pending if pending is not None else _PairWorkers(a, b, config, start_rng)
            pending = None
            started.append(current)
            current.wait_ready(timeout_s)
            if overlap_start and len(pairs) + 1 < max_pairs:
                pending = _PairWorkers(a, b, config, start_rng)
                started.append(pending)
            pair = _measure_pair(
                len(pairs), current, blocks=blocks_per_pair, samples_per_chunk=samples_per_chunk,
                order=order, rng=rng, timeout_s=timeout_s, started=began,
            )
            pairs.append(pair)
            decision = sequential_verdict(
                [p.log_ratio for p in pairs], alpha=alpha, margin=margin, prior_scale=prior_scale
            )
            for workers in [w for w in started if w is not pending and w.exited()]:
                workers.close()  # reap the pairs that have quit: no zombies, no open pipes
                started.remove(workers)
            if progress is not None:
                progress(pair, decision, time.perf_counter() - start)
            if decision.settled and len(pairs) >= min_pairs:
                stop_reason = "settled"
                break
    except KeyboardInterrupt:
        if not pairs:
            raise
        stop_reason = "interrupted"
    finally:
        if pending is not None:
            pending.kill()  # started for a pair that will not be measured
        for workers in started:
            workers.close()
    settings = {
        "alpha": alpha, "margin": margin, "max_time_s": max_time, "max_pairs": max_pairs,
        "min_pairs": min_pairs, "blocks_per_pair": blocks_per_pair,
        "samples_per_chunk": samples_per_chunk, "sample_s": sample_s, "warmup_s": warmup_s,
        "prior_scale": prior_scale, "order": order, "clock": clock, "seed": seed,
        "overlap_start": overlap_start,
    }
    return ABResult(
        decision=decision, pairs=tuple(pairs), seconds=time.perf_counter() - start,
        stop_reason=stop_reason, base=a, candidate=b, settings=settings,
    )


def checkout_revision(repo: str | os.PathLike[str], revision: str, dest: str | os.PathLike[str]) -> Path:
    """Extract ``revision`` of the git repository ``repo`` into ``dest`` (``git archive``).

    Parameters
    ----------
    repo : path
        A git work tree or repository.
    revision : str
        Anything ``git rev-parse`` accepts (a commit, a branch, ``HEAD~1``).
    dest : path
        An empty or missing directory.

    Returns
    -------
    Path
        ``dest``, holding the files of that revision (no ``.git``).

    Raises
    ------
    InvalidParameterError
        ``repo`` is not a git repository or ``revision`` does not exist there.

    """
    repo_path = Path(repo)
    out = Path(dest)
    proc = subprocess.run(
        ["git", "-C", str(repo_path), "rev-parse", "--verify", "--quiet", f"{revision}^{{commit}}"],
        capture_output=True, text=True, check=False,
    )
    if proc.returncode != 0:
        raise InvalidParameterError(
            f"revision {revision!r} is not a commit of the git repository {repo_path}; "
            "check it with `git log` (and pass repo=DIR for another repository)."
        )
    sha = proc.stdout.strip()
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryFile() as archive:
        subprocess.run(["git", "-C", str(repo_path), "archive", "--format=tar", sha],
                       stdout=archive, check=True)
        archive.seek(0)
        with tarfile.open(fileobj=archive) as tar:
            tar.extractall(out, filter="data")
    return out
