"""The :class:`Benchmark` class: latency, throughput, accuracy, memory and size of models.

``Benchmark`` keeps the course module's API (``Benchmark(models, datasets,
warmup_runs=5, measurement_runs=10)``, ``run_latency_benchmark(input_shape=(1, 28, 28))``,
``run_accuracy_benchmark()``, ``run_memory_benchmark()``, ``compare_models()``) and
measures the way the rules of docs/statistics.md ask:

* latency and throughput go through :func:`torchperf.timing.measure` (fixed warmup of
  ``warmup_runs`` samples, ``measurement_runs`` samples, loop calibration with
  ``number="auto"`` so that timer overhead stays below 1 % of a sample);
* memory goes through :func:`torchperf.memory.measure_peak_memory`, one call per sample;
* every result carries the model name, the protocol and the environment
  (:func:`torchperf.environment.collect_environment`) in its metadata;
* a model that raises, returns NaN / inf, rejects its input, hangs past ``timeout_s``
  or dies is recorded in :attr:`Benchmark.failures` and reported with one
  :class:`~torchperf.errors.ModelFailureWarning`; the other models are still measured
  (``strict=True`` raises instead).

Metric names, units and directions: ``"latency"`` (``"s"``, lower is better),
``"throughput"`` (``"samples/s"``, higher), ``"accuracy"`` (``"fraction"``, higher),
``"memory"`` (``"B"``, lower), ``"size"`` (``"B"``, lower).
"""

from __future__ import annotations

import contextlib
import math
import multiprocessing
import os
import pickle
import signal
import sys
import threading
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from torchperf import models as _models
from torchperf.errors import (
    BenchmarkTimeoutError,
    InvalidParameterError,
    ModelError,
    ModelFailureWarning,
    SmallSampleWarning,
    TorchperfWarning,
)
from torchperf.metrics import METRIC_NAMES, METRICS
from torchperf.text import display_name
from torchperf.timing import sigint_blocked

if TYPE_CHECKING:  # pragma: no cover
    from torchperf.comparison import Finding
    from torchperf.result import BenchmarkResult

# torchperf.result (and with it scipy.stats) is imported lazily: worker processes that
# only run a model do not pay for it.

__all__ = ["Benchmark", "FailureRecord"]

#: The course module's default latency / memory input: one 28x28 image.
DEFAULT_INPUT_SHAPE: tuple[int, ...] = (1, 28, 28)


_MAX_RUNS = 1_000_000
_MAX_INPUT_ELEMENTS = 2**31
# Time a spawned worker may take to start (interpreter, imports, unpickling the model)
# before the per-model ``timeout_s`` clock starts.
_WORKER_STARTUP_S = 120.0
# Words in an exception message that suggest the model rejected the input's shape/dtype.
_SHAPE_WORDS = (
    "shape", "dimension", "dim ", "dims", "size mismatch", "features", "mat1", "broadcast",
    "reshape", "expected input", "must be 2d", "2d array", "expected 2d", "dtype",
)  # fmt: skip


# --------------------------------------------------------------------------- failures


@dataclass(frozen=True)
class FailureRecord:
    """Why one model produced no result for one metric.

    Attributes
    ----------
    model : str
        The model's name in this benchmark.
    metric : str
        ``"latency"``, ``"throughput"``, ``"accuracy"``, ``"memory"`` or ``"size"``.
    cause : str
        The exception type the model raised (``"ValueError"``), or
        ``"NonFiniteOutput"``, ``"BenchmarkTimeoutError"``, ``"WorkerCrashed"``,
        ``"MemoryError"``, ``"PicklingError"``, ``"BadOutput"``, ``"SystemExit"``,
        ``"KeyboardInterrupt"``, ``"ProcessStateChanged"``.
    kind : str
        ``"exception"``, ``"input-rejected"``, ``"non-finite-output"``, ``"bad-output"``,
        ``"timeout"``, ``"crashed"``, ``"memory"``, ``"unpicklable"``, ``"exit"`` (the
        model raised ``SystemExit`` or its own ``KeyboardInterrupt``) or ``"side-effect"``
        (it changed the working directory or the standard streams; undone).
    message : str
        One sentence naming the model and the cause (also the warning's text).

    """

    model: str
    metric: str
    cause: str
    kind: str
    message: str

    def to_dict(self) -> dict[str, str]:
        """Return a JSON-ready dict (``error`` repeats ``cause`` for report writers).

        Returns
        -------
        dict
            ``model``, ``metric``, ``cause``, ``kind``, ``message`` and ``error``.

        """
        d = asdict(self)
        d["error"] = self.cause
        return d

    def __str__(self) -> str:
        return self.message


class _ModelFailure(Exception):
    """Internal: a model failed; carries what the FailureRecord needs."""

    def __init__(self, kind: str, cause: str, detail: str) -> None:
        super().__init__(detail)
        self.kind = kind
        self.cause = cause
        self.detail = detail


def _describe_input(x: object) -> str:
    shape = getattr(x, "shape", None)
    dtype = getattr(x, "dtype", None)
    if shape is None:
        return f"a {type(x).__name__} input"
    dtype_name = str(dtype).replace("torch.", "") if dtype is not None else type(x).__name__
    return f"a {dtype_name} input of shape {tuple(shape)}"


def _short(exc: BaseException, limit: int = 300) -> str:
    text = " ".join(str(exc).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _first_call(call: Callable[[Any], Any], x: object, what: str = "first call") -> object:
    """Call once outside any timed region; turn every problem into a _ModelFailure."""
    try:
        out = call(x)
    except MemoryError as exc:
        raise _ModelFailure(
            "memory",
            "MemoryError",
            f"it ran out of memory ({_short(exc) or 'MemoryError'}) on its {what} with "
            f"{_describe_input(x)}",
        ) from exc
    except Exception as exc:
        text = str(exc).lower()
        shape_like = any(word in text for word in _SHAPE_WORDS)
        kind = "input-rejected" if shape_like else "exception"
        detail = (
            f"it raised {type(exc).__name__} ({_short(exc)}) on its {what} with "
            f"{_describe_input(x)}"
        )
        if shape_like:
            detail += (
                "; it probably expects another input: pass input_shape=... or "
                "example_input=... that the model accepts"
            )
        raise _ModelFailure(kind, type(exc).__name__, detail) from exc
    problem = _models.find_nonfinite(out)
    if problem is not None:
        raise _ModelFailure(
            "non-finite-output",
            "NonFiniteOutput",
            f"it returned {problem} for {_describe_input(x)}",
        )
    return out


# --------------------------------------------------------------------------- model code guard


@contextlib.contextmanager
def _model_code_guard() -> Iterator[None]:
    """Run a model's code; turn what model code must not do into a :class:`_ModelFailure`.

    * ``SystemExit`` (``sys.exit()``, ``exit()``) is a failure of the model, not
      the end of the run.
    * A ``KeyboardInterrupt`` that the model raises itself is a failure too; one
      caused by SIGINT (the user's Ctrl-C) while the model ran propagates. The
      two are told apart by a SIGINT handler that notes the signal and then
      calls the previous handler (main thread only: elsewhere, and where SIGINT
      is ignored or fatal, a ``KeyboardInterrupt`` cannot come from Ctrl-C).
    * ``os.chdir``, closing or replacing ``sys.stdout``/``sys.stderr`` and
      closing or redirecting file descriptors 1/2 are undone, and the model fails.
    """
    try:
        cwd: str | None = os.getcwd()
    except OSError:
        cwd = None
    streams = {"stdout": sys.stdout, "stderr": sys.stderr}
    saved_fds: dict[int, int] = {}
    for fd in (1, 2):
        with contextlib.suppress(OSError):
            saved_fds[fd] = os.dup(fd)
    sigint = {"received": False}
    installed: Any = None
    previous: Any = None
    if threading.current_thread() is threading.main_thread():
        with contextlib.suppress(ValueError, OSError, TypeError):
            previous = signal.getsignal(signal.SIGINT)
            if callable(previous):
                chained = previous

                def _note_sigint(signum: int, frame: Any) -> None:
                    sigint["received"] = True
                    chained(signum, frame)

                signal.signal(signal.SIGINT, _note_sigint)
                installed = _note_sigint
    failure: _ModelFailure | None = None
    changes: list[str] = []
    try:
        yield
    except SystemExit as exc:
        failure = _ModelFailure(
            "exit",
            "SystemExit",
            f"it called sys.exit({exc.code!r}) (SystemExit); model code must not end the "
            "process: raise an exception instead",
        )
    except KeyboardInterrupt:
        if sigint["received"]:
            raise  # the user pressed Ctrl-C: stop the run
        failure = _ModelFailure(
            "exit",
            "KeyboardInterrupt",
            "it raised KeyboardInterrupt itself (no Ctrl-C was pressed); model code must not "
            "raise KeyboardInterrupt: raise an exception instead",
        )
    finally:
        if installed is not None:
            with contextlib.suppress(ValueError, OSError, TypeError):
                if signal.getsignal(signal.SIGINT) is installed:
                    signal.signal(signal.SIGINT, previous)
        changes = _restore_process_state(cwd, streams, saved_fds)
        for dup in saved_fds.values():
            with contextlib.suppress(OSError):
                os.close(dup)
    if failure is not None:
        raise failure
    if changes:
        raise _ModelFailure(
            "side-effect",
            "ProcessStateChanged",
            "it " + "; ".join(changes) + " (torchperf undid it; model code must leave the "
            "process's working directory and standard streams alone)",
        )


def _restore_process_state(
    cwd: str | None, streams: Mapping[str, Any], saved_fds: Mapping[int, int]
) -> list[str]:
    """Undo a model's os.chdir and stream changes; describe each one undone."""
    changes: list[str] = []
    if cwd is not None:
        try:
            now: str | None = os.getcwd()
        except OSError:
            now = None
        if now != cwd:
            with contextlib.suppress(OSError):
                os.chdir(cwd)
            changes.append(f"changed the working directory (os.chdir to {now!r}; restored to {cwd!r})")
    names = {1: "stdout", 2: "stderr"}
    for fd, dup in saved_fds.items():
        try:
            same = os.path.samestat(os.fstat(fd), os.fstat(dup))
            closed = False
        except OSError:
            same, closed = False, True
        if not same:
            with contextlib.suppress(OSError):
                os.dup2(dup, fd)
            verb = "closed" if closed else "redirected"
            changes.append(f"{verb} file descriptor {fd} ({names[fd]})")
    for name, original in streams.items():
        current = getattr(sys, name)
        if current is original and not getattr(current, "closed", False):
            continue
        if original is not None and not getattr(original, "closed", True):
            setattr(sys, name, original)
        else:
            fd = 1 if name == "stdout" else 2
            setattr(
                sys,
                name,
                open(  # replaces the closed stream for the rest of the process
                    fd,
                    "w",
                    buffering=1,  # line-buffered, like a terminal's
                    encoding=getattr(original, "encoding", None) or "utf-8",
                    errors=getattr(original, "errors", None) or "backslashreplace",
                    closefd=False,
                ),
            )
        verb = "closed" if current is None or getattr(current, "closed", False) else "replaced"
        changes.append(f"{verb} sys.{name}")
    return changes


# --------------------------------------------------------------------------- tasks
# Module-level functions so that a spawned worker can run them (they pickle by name).


def _task_time(
    model: object,
    x: object,
    warmup_runs: int,
    measurement_runs: int,
    number: int | str,
    window_s: float | None = None,
) -> dict[str, Any]:
    """Time one inference of ``model`` on ``x``."""
    from torchperf.timing import FixedStop, FixedWarmup, measure

    call = _models.get_call(model)
    prepared = _models.prepare_input(model, x)
    _first_call(call, prepared)

    def once() -> object:
        return call(prepared)

    try:
        m = measure(
            once,
            warmup=FixedWarmup(warmup_runs),
            stop=FixedStop(measurement_runs),
            number=number,  # type: ignore[arg-type]
            window_s=window_s,
        )
    except Exception as exc:
        raise _ModelFailure(
            "exception",
            type(exc).__name__,
            f"it raised {type(exc).__name__} ({_short(exc)}) while being timed",
        ) from exc
    return {
        "samples_s": list(m.samples_s),
        "number": m.number,
        "warmup": m.warmup.to_dict(),
        "gc_disabled": m.gc_disabled,
        "measure": dict(m.metadata),
    }


def _task_memory(model: object, x: object, repeats: int, method: str) -> dict[str, Any]:
    """Peak memory of ``repeats`` single calls (after one unmeasured call)."""
    from torchperf.memory import measure_peak_memory

    call = _models.get_call(model)
    prepared = _models.prepare_input(model, x)
    _first_call(call, prepared)  # lazy initialisation (caches, workspaces) is not counted

    def once() -> object:
        return call(prepared)

    peaks: list[int] = []
    notes = ""
    used = method
    for _ in range(repeats):
        try:
            mm = measure_peak_memory(once, method=method)
        except ModelError as exc:
            cause = exc.__cause__ if exc.__cause__ is not None else exc
            raise _ModelFailure(
                "exception",
                type(cause).__name__,
                f"it raised {type(cause).__name__} ({_short(cause)}) while its memory was "
                "measured",
            ) from exc
        peaks.append(int(mm.peak_bytes))
        notes, used = mm.notes, mm.method
    return {"peaks_bytes": peaks, "method": used, "notes": notes}


def _task_accuracy(
    model: object, data: list[tuple[str, list[tuple[np.ndarray, np.ndarray]]]]
) -> dict[str, Any]:
    """Predict every batch; return correct counts per batch and per-example correctness."""
    call = _models.get_call(model)
    per_dataset: list[dict[str, Any]] = []
    correct_parts: list[np.ndarray] = []
    for dataset_name, batches in data:
        batch_correct: list[int] = []
        batch_sizes: list[int] = []
        for i, (X, y) in enumerate(batches):
            where = f"batch {i} of dataset {dataset_name!r}" if len(batches) > 1 else (
                f"dataset {dataset_name!r}"
            )
            out = _first_call(call, _models.prepare_input(model, X), what=f"call on {where}")
            labels = _labels_from_output(out, len(y), where, y)
            if _is_textual(labels) != _is_textual(y):
                sample = ", ".join(repr(v) for v in labels[:3].tolist())
                raise _ModelFailure(
                    "bad-output",
                    "BadOutput",
                    f"its predictions for {where} are {labels.dtype} values ({sample}, ...) "
                    f"but the labels are {y.dtype}: they cannot be scored (return class "
                    "scores of shape (n, classes) or labels of the labels' type)",
                )
            correct = np.asarray(labels == y).reshape(-1)
            if correct.shape != (len(y),):
                raise _ModelFailure(
                    "bad-output",
                    "BadOutput",
                    f"its predictions for {where} cannot be compared with the labels "
                    f"(predictions {labels.dtype}, labels {y.dtype})",
                )
            correct_parts.append(correct.astype(bool))
            batch_correct.append(int(correct.sum()))
            batch_sizes.append(len(y))
        per_dataset.append(
            {"name": dataset_name, "batch_correct": batch_correct, "batch_sizes": batch_sizes}
        )
    return {
        "per_dataset": per_dataset,
        "correct": np.concatenate(correct_parts) if correct_parts else np.zeros(0, bool),
    }


def _is_textual(array: np.ndarray) -> bool:
    """Whether an array holds text (str / bytes, or objects that are), not numbers."""
    if array.dtype.kind in "US":
        return True
    if array.dtype.kind == "O" and array.size:
        return isinstance(array.reshape(-1)[0], (str, bytes))
    return False


def _labels_from_output(
    out: object, n: int, where: str, y: np.ndarray | None = None
) -> np.ndarray:
    try:
        array = _models.to_numpy(out)
    except Exception as exc:
        raise _ModelFailure(
            "bad-output",
            "BadOutput",
            f"its output for {where} ({type(out).__name__}) is not an array of labels or "
            f"class scores: {_short(exc)}",
        ) from exc
    if array.ndim == 2 and array.shape[1] > 1:
        labels = np.argmax(array, axis=1)
        if y is not None and y.dtype.kind in "iu" and y.size:
            lo, hi = int(y.min()), int(y.max())
            if lo < 0 or hi >= array.shape[1]:
                raise _ModelFailure(
                    "bad-output",
                    "LabelRange",
                    f"it returned {array.shape[1]} class scores per example for {where}, but "
                    f"the labels range over [{lo}, {hi}], outside [0, {array.shape[1] - 1}]: "
                    "labels must be class indices of the model's outputs (check y, or the "
                    "model's number of classes)",
                )
    elif array.ndim <= 2:
        labels = array.reshape(-1)
    else:
        raise _ModelFailure(
            "bad-output",
            "BadOutput",
            f"it returned an output of shape {array.shape} for {where}; accuracy needs class "
            f"scores of shape (n, classes) or labels of shape (n,)",
        )
    if labels.shape[0] != n:
        raise _ModelFailure(
            "bad-output",
            "BadOutput",
            f"it returned {labels.shape[0]} predictions for the {n} examples of {where}",
        )
    return labels


# --------------------------------------------------------------------------- threads


def _with_threads(
    task: Callable[..., dict[str, Any]], threads: int | None, *args: Any
) -> dict[str, Any]:
    """Run ``task(*args)`` with ``threads`` BLAS/OpenMP/torch threads; record what ran.

    The limits are set where the task runs (this process or a worker), after the
    model is loaded (so torch, if the model needs it, is imported) and restored
    afterwards. The returned dict gains ``threads``: the request and
    :func:`torchperf.environment.thread_settings` as they were during the task.
    """
    from torchperf.environment import thread_settings

    limiter: Any = None
    torch = sys.modules.get("torch")
    old_torch: int | None = None
    if threads is not None:
        from threadpoolctl import threadpool_limits

        if torch is not None:  # before threadpoolctl: it also limits torch's OpenMP pool
            old_torch = int(torch.get_num_threads())
        limiter = threadpool_limits(threads)
        if torch is not None:
            torch.set_num_threads(threads)
    try:
        settings = thread_settings()
        out = task(*args)
    finally:
        if limiter is not None:
            limiter.restore_original_limits()
        if old_torch is not None:
            torch.set_num_threads(old_torch)
    out["threads"] = {"requested": threads, **settings}
    return out


# --------------------------------------------------------------------------- isolation


def _isolated_worker(
    conn: Any, task: Callable[..., dict[str, Any]], args: tuple[Any, ...], limit: int | None
) -> None:
    """Entry point of a spawned worker: run one task, send plain data back."""
    try:
        if limit is not None:
            import resource

            resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        conn.send(("ready",))
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                reply: tuple[Any, ...] = ("ok", task(*args))
            except _ModelFailure as failure:
                reply = ("failure", failure.kind, failure.cause, failure.detail)
            except MemoryError as exc:
                reply = (
                    "failure",
                    "memory",
                    "MemoryError",
                    f"it ran out of memory ({_short(exc) or 'MemoryError'}) under "
                    f"memory_limit_bytes={limit}",
                )
            except (SystemExit, KeyboardInterrupt) as exc:  # SIGINT is blocked here: model code
                what = (
                    f"called sys.exit({exc.code!r}) (SystemExit)"
                    if isinstance(exc, SystemExit)
                    else "raised KeyboardInterrupt itself"
                )
                reply = (
                    "failure",
                    "exit",
                    type(exc).__name__,
                    f"it {what} in its worker process; model code must not end the process: "
                    "raise an exception instead",
                )
            except Exception as exc:
                reply = (
                    "failure",
                    "exception",
                    type(exc).__name__,
                    f"it raised {type(exc).__name__} ({_short(exc)})",
                )
        conn.send((*reply, [(w.category.__name__, str(w.message)) for w in caught]))
    finally:
        conn.close()


def _signal_name(code: int | None) -> str:
    if code is None or code >= 0:
        return f"exit code {code}"
    import signal

    try:
        return f"signal {signal.Signals(-code).name}"
    except ValueError:
        return f"signal {-code}"


def _run_isolated(
    task: Callable[..., dict[str, Any]],
    args: tuple[Any, ...],
    *,
    timeout_s: float | None,
    memory_limit_bytes: int | None,
) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """Run ``task(*args)`` in a fresh spawned process; kill it after ``timeout_s``."""
    try:
        pickle.dumps(args)
    except Exception as exc:
        raise _ModelFailure(
            "unpicklable",
            "PicklingError",
            f"it cannot be sent to a worker process ({type(exc).__name__}: {_short(exc)}); "
            "timeout_s, memory_limit_bytes and processes > 1 need a picklable model defined "
            "at module level of an importable module (not a lambda, closure or notebook cell)",
        ) from exc
    ctx = multiprocessing.get_context("spawn")
    parent_conn, child_conn = ctx.Pipe(duplex=False)
    proc = ctx.Process(
        target=_isolated_worker,
        args=(child_conn, task, args, memory_limit_bytes),
        name="torchperf-benchmark-worker",
        daemon=True,
    )
    with sigint_blocked():
        proc.start()
    child_conn.close()
    try:
        if not parent_conn.poll(_WORKER_STARTUP_S):
            proc.kill()
            proc.join()
            raise _ModelFailure(
                "crashed",
                "WorkerCrashed",
                f"its worker process did not start within {_WORKER_STARTUP_S:g} s",
            )
        try:
            parent_conn.recv()  # ("ready",): the model was unpickled; the clock starts now
        except (EOFError, OSError):
            proc.join()
            raise _ModelFailure(
                "crashed",
                "WorkerCrashed",
                f"its worker process exited ({_signal_name(proc.exitcode)}) before running: "
                "the model could not be loaded in a fresh process; define its class in an "
                "importable module",
            ) from None
        if not parent_conn.poll(timeout_s):
            proc.kill()
            proc.join()
            raise _ModelFailure(
                "timeout",
                "BenchmarkTimeoutError",
                f"it did not finish within timeout_s={timeout_s:g} s; its worker process was "
                "killed (raise timeout_s if the model is just slow)",
            )
        try:
            reply = parent_conn.recv()
        except (EOFError, OSError):
            proc.join()
            code = proc.exitcode
            hint = (
                " (killed: possibly out of memory)"
                if code is not None and code < 0 and -code == 9
                else ""
            )
            raise _ModelFailure(
                "crashed",
                "WorkerCrashed",
                f"its worker process died ({_signal_name(code)}){hint} without a result",
            ) from None
    except BaseException:
        if proc.is_alive():  # Ctrl-C (or another stop) while it ran: do not leave it running
            proc.kill()
            proc.join()
        raise
    finally:
        parent_conn.close()
    proc.join(10)
    if proc.is_alive():  # pragma: no cover - the worker sent its reply and should exit
        proc.kill()
        proc.join()
    if reply[0] == "ok":
        return reply[1], list(reply[2])
    _, kind, cause, detail, _warnings = reply
    raise _ModelFailure(kind, cause, detail)


# --------------------------------------------------------------------------- inputs


def _check_count(name: str, value: object, minimum: int, maximum: int = _MAX_RUNS) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise InvalidParameterError(
            f"`{name}` must be an integer in [{minimum}, {maximum}]; got {value!r}."
        )
    if not minimum <= value <= maximum:
        raise InvalidParameterError(
            f"`{name}` must be an integer in [{minimum}, {maximum}]; got {value!r}."
        )
    return int(value)


def _check_shape(input_shape: object, name: str = "input_shape") -> tuple[int, ...]:
    if isinstance(input_shape, (int, np.integer)) and not isinstance(input_shape, bool):
        input_shape = (int(input_shape),)
    if isinstance(input_shape, (str, bytes)) or not isinstance(input_shape, Iterable):
        raise InvalidParameterError(
            f"`{name}` must be a tuple of positive ints including the batch axis, e.g. "
            f"(1, 28, 28); got {input_shape!r}."
        )
    dims = tuple(input_shape)
    if not dims or not all(
        isinstance(d, (int, np.integer)) and not isinstance(d, bool) and d > 0 for d in dims
    ):
        raise InvalidParameterError(
            f"`{name}` must be a non-empty tuple of positive ints including the batch axis, "
            f"e.g. (1, 28, 28); got {input_shape!r}."
        )
    dims = tuple(int(d) for d in dims)
    if math.prod(dims) > _MAX_INPUT_ELEMENTS:
        raise InvalidParameterError(
            f"`{name}` {dims} has {math.prod(dims):,} elements, more than the "
            f"{_MAX_INPUT_ELEMENTS:,} torchperf accepts; use a smaller input."
        )
    return dims


def _as_array(obj: object, what: str) -> np.ndarray:
    if sys.modules.get("torch") is not None and _models._is_torch_tensor(obj):
        return _models.to_numpy(obj)
    try:
        return np.asarray(obj)
    except Exception as exc:
        raise InvalidParameterError(f"{what} cannot be converted to an array: {exc}") from exc


def _is_pair(item: object) -> bool:
    """Whether ``item`` is one ``(X, y)`` pair (not an iterable of batches)."""
    if not isinstance(item, (tuple, list)) or len(item) != 2:
        return False
    first = item[0]
    if hasattr(first, "shape"):
        return True
    # A list/tuple whose first element is itself an (X, y) pair is a list of batches.
    return not (isinstance(first, (tuple, list)) and len(first) == 2 and hasattr(first[0], "shape"))


def _batch_input(x: object, batch_size: int) -> object:
    """Repeat the rows of an example batch to make a batch of ``batch_size``."""
    n = len(x)  # type: ignore[arg-type]
    index = np.arange(batch_size) % n
    return x[index]  # type: ignore[index]


# --------------------------------------------------------------------------- comparisons


def _none_if_nan(value: float) -> float | None:
    return None if value is None or not math.isfinite(value) else float(value)


# --------------------------------------------------------------------------- Benchmark


class Benchmark:
    """Measure latency, throughput, accuracy, peak memory and size of several models.

    Parameters
    ----------
    models : sequence or mapping
        Models: ``torch.nn.Module``, objects with ``forward`` or ``predict`` (scikit-learn
        estimators), or callables (see :mod:`torchperf.models` for how each is called).
        A mapping ``{name: model}`` fixes the names; otherwise they come from
        :func:`torchperf.models.unique_model_names` (``name`` attribute, else class or
        function name; repeats become ``"mlp-2"``...). The first model is the default
        baseline of :meth:`compare_models`.
    datasets : optional
        Data for :meth:`run_accuracy_benchmark`: one ``(X, y)`` pair, a list of them, a
        ``{name: dataset}`` mapping, and/or iterables of ``(X, y)`` batches (generators
        and ``torch.utils.data.DataLoader`` included; they are read once and kept).
        ``y`` holds class labels (one-hot rows are converted with ``argmax``).
    warmup_runs : int, default 5
        Warmup samples discarded before measuring (the course module's default).
    measurement_runs : int, default 10
        Samples per model and metric (latency, throughput, memory).
    strict : bool, default False
        Raise :class:`~torchperf.errors.ModelError` (or
        :class:`~torchperf.errors.BenchmarkTimeoutError`) on the first failing model
        instead of recording it and going on.
    number : int or "auto", default "auto"
        Calls per timing sample; ``"auto"`` calibrates the loop count so that timer
        overhead is below 1 % of a sample (essential for microsecond models).
        ``number=1`` times single calls, exactly as the course module does.
    window_s : float, "default" or None
        Minimum measuring time of each replicate (process) of latency and throughput,
        spread over its ``measurement_runs`` samples: each sample is the median of as
        many calibrated blocks as needed (:func:`torchperf.timing.measure`).
        ``"default"``: :data:`torchperf.timing.DEFAULT_WINDOW_S` (0.2 s) when ``number``
        is ``"auto"``, none when ``number`` is an int (single calls as the course module
        times them). ``None``: no window (one block per sample).
    processes : int, default 1
        Worker processes per model for latency and throughput. With ``processes > 1``
        each worker (a fresh ``spawn``-ed interpreter) runs the whole protocol; the
        results pool the samples and record ``replicate_sizes`` so that
        :meth:`compare_models` can compare per-process medians (the process is the
        unit of replication, docs/statistics.md#rule-1).
    timeout_s : float, optional
        Run each model's measurement in a worker process and kill it after this many
        seconds (``BenchmarkTimeoutError`` cause). The clock starts once the worker has
        loaded the model.
    memory_limit_bytes : int, optional
        Address-space limit (``RLIMIT_AS``, POSIX only) of the worker processes: a model
        that allocates more fails with a ``MemoryError`` cause instead of taking the
        machine down. Implies worker processes. Must leave room for the interpreter and
        its imports (torch maps several GB of address space).
    memory_method : str, optional
        Method of :func:`torchperf.memory.measure_peak_memory` for
        :meth:`run_memory_benchmark`. Default: ``"tracemalloc"`` for NumPy and
        scikit-learn models, ``"torch-cpu"`` for torch modules (tracemalloc cannot see
        torch's allocator).
    rng : int, numpy.random.Generator or None, default 0
        Randomness of the generated inputs (standard normal ``float32`` unless
        ``input_dtype`` says otherwise). The default seed makes runs reproducible; all
        models of one shape get identical inputs.
    threads : int, optional
        Threads of BLAS, OpenMP and torch (``torch.set_num_threads``) while each task
        runs, in this process or the worker processes (restored afterwards). Default:
        leave the libraries' own settings. Either way every timing and memory result
        records the thread pools it ran with in ``metadata["threads"]``
        (:func:`torchperf.environment.thread_settings` taken where the model ran).
    input_dtype : str, default "float32"
        NumPy dtype of generated inputs: floating dtypes are standard normal, integer
        dtypes uniform in ``[0, 10)`` (token ids, class indices), ``bool`` coin flips
        (see :func:`torchperf.targets.generate_input`). A torch module still gets
        floating inputs in its own dtype (:func:`torchperf.models.prepare_input`).
    confidence_level : float, default 0.95
        Level of the results' intervals and of :meth:`compare_models`.
    environment : mapping, optional
        Environment metadata to attach to every result; default
        :func:`torchperf.environment.collect_environment`, collected once per Benchmark
        (and cached for the process, as it does not change during a run).

    Attributes
    ----------
    models : list
        The models.
    model_names : list of str
        Their unique names.
    results : dict
        ``{metric: {model_name: BenchmarkResult}}`` of the latest run of each metric.
    failures : dict
        ``{model_name: FailureRecord}``: the latest failure of each model.
    failure_log : list of FailureRecord
        Every failure, in order.
    not_applicable : dict
        ``{metric: {model_name: reason}}``: models skipped because the metric does not
        apply to them (accuracy of a model whose ``task`` is not classification, e.g.
        the zoo's ``attn-*`` generation models). Neither a failure nor a zero.
    throughput_by_batch_size : dict
        ``{model_name: {batch_size: BenchmarkResult}}`` of the latest throughput run.

    Notes
    -----
    Worker processes (``timeout_s``, ``memory_limit_bytes``, ``processes > 1``) use the
    ``spawn`` start method: the model and its input are pickled, so the model's class
    must be importable (defined in a module, not in a notebook cell or as a lambda), and
    a script must guard its entry point with ``if __name__ == "__main__":``. A model
    that cannot be pickled is recorded as a failure with that explanation.

    Examples
    --------
    >>> import numpy as np
    >>> W = np.ones((784, 10), dtype=np.float32)
    >>> def linear(x):
    ...     return x.reshape(len(x), -1) @ W
    >>> bench = Benchmark([linear], warmup_runs=1, measurement_runs=3, environment={})
    >>> result = bench.run_latency_benchmark()["linear"]
    >>> result.metric_name, result.unit, result.count
    ('latency', 's', 3)

    """

    def __init__(
        self,
        models: Sequence[Any] | Mapping[str, Any],
        datasets: Any = None,
        warmup_runs: int = 5,
        measurement_runs: int = 10,
        *,
        strict: bool = False,
        number: int | Literal["auto"] = "auto",
        processes: int = 1,
        timeout_s: float | None = None,
        memory_limit_bytes: int | None = None,
        memory_method: str | None = None,
        rng: int | np.random.Generator | None = 0,
        confidence_level: float = 0.95,
        environment: Mapping[str, Any] | None = None,
        input_dtype: str = "float32",
        window_s: float | Literal["default"] | None = "default",
        threads: int | None = None,
    ) -> None:
        from torchperf.targets import check_input_dtype

        self.input_dtype: np.dtype[Any] = check_input_dtype(input_dtype)
        if isinstance(models, Mapping):
            names = [str(k) for k in models]
            model_list = list(models.values())
            if len(set(names)) != len(names):
                raise InvalidParameterError(f"model names must be unique; got {names}.")
        else:
            if isinstance(models, (str, bytes)) or not isinstance(models, Iterable):
                raise InvalidParameterError(
                    "`models` must be a list of models or a {name: model} mapping; got "
                    f"{type(models).__name__}. Wrap a single model in a list: [model]."
                )
            model_list = list(models)
            names = _models.unique_model_names(model_list)
        if not model_list:
            raise InvalidParameterError("`models` is empty; pass at least one model to benchmark.")
        for name, model in zip(names, model_list, strict=True):
            try:
                _models.call_kind(model)
            except InvalidParameterError as exc:
                raise InvalidParameterError(f"model {name!r}: {exc}") from None
        self.models: list[Any] = model_list
        self.model_names: list[str] = names
        self.datasets = datasets
        self.warmup_runs = _check_count("warmup_runs", warmup_runs, 0)
        self.measurement_runs = _check_count("measurement_runs", measurement_runs, 1)
        if not isinstance(strict, bool):
            raise InvalidParameterError(f"`strict` must be True or False; got {strict!r}.")
        self.strict = strict
        if number != "auto":
            number = _check_count("number", number, 1, 10**9)  # type: ignore[assignment]
        self.number: int | Literal["auto"] = number
        if window_s == "default":
            from torchperf import timing as _timing

            window_s = _timing.DEFAULT_WINDOW_S if number == "auto" else None
        elif window_s is not None and (
            isinstance(window_s, bool)
            or not isinstance(window_s, (int, float))
            or not (0 < window_s < math.inf)
        ):
            raise InvalidParameterError(
                f"`window_s` must be a positive number of seconds, 'default' or None; got {window_s!r}."
            )
        self.window_s: float | None = None if window_s is None else float(window_s)
        self.processes = _check_count("processes", processes, 1, 1024)
        self.threads: int | None = (
            None if threads is None else _check_count("threads", threads, 1, 4096)
        )
        if timeout_s is not None:
            if (
                isinstance(timeout_s, bool)
                or not isinstance(timeout_s, (int, float))
                or not math.isfinite(timeout_s)
                or timeout_s <= 0
            ):
                raise InvalidParameterError(
                    f"`timeout_s` must be a positive number of seconds or None; got {timeout_s!r}."
                )
            timeout_s = float(timeout_s)
        self.timeout_s: float | None = timeout_s
        if memory_limit_bytes is not None:
            memory_limit_bytes = _check_count(
                "memory_limit_bytes", memory_limit_bytes, 2**24, 2**62
            )
        self.memory_limit_bytes: int | None = memory_limit_bytes
        if memory_method is not None:
            from torchperf.memory import MEMORY_METHODS

            if memory_method not in MEMORY_METHODS:
                raise InvalidParameterError(
                    f"`memory_method` must be one of {MEMORY_METHODS} or None; got "
                    f"{memory_method!r}."
                )
        self.memory_method = memory_method
        if isinstance(rng, bool) or not (
            rng is None or isinstance(rng, (int, np.integer, np.random.Generator))
        ):
            raise InvalidParameterError(
                f"`rng` must be an int seed, a numpy.random.Generator or None; got {rng!r}."
            )
        self._rng = np.random.default_rng(rng)
        from torchperf.stats import _check_confidence_level

        self.confidence_level = _check_confidence_level(confidence_level)
        if environment is not None and not isinstance(environment, Mapping):
            raise InvalidParameterError(
                f"`environment` must be a mapping or None; got {type(environment).__name__}."
            )
        self._environment: dict[str, Any] | None = (
            dict(environment) if environment is not None else None
        )
        self.results: dict[str, dict[str, BenchmarkResult]] = {}
        self.failures: dict[str, FailureRecord] = {}
        self.failure_log: list[FailureRecord] = []
        self.not_applicable: dict[str, dict[str, str]] = {}
        self.throughput_by_batch_size: dict[str, dict[int, BenchmarkResult]] = {}
        self._inputs: dict[tuple[int, ...], np.ndarray] = {}
        self._accuracy_data: list[tuple[str, list[tuple[np.ndarray, np.ndarray]]]] | None = None
        self._correct: dict[str, np.ndarray] = {}

    # ----------------------------------------------------------------- provenance

    @property
    def environment(self) -> dict[str, Any]:
        """Environment metadata attached to every result (collected on first use)."""
        if self._environment is None:
            self._environment = dict(_process_environment())
        return self._environment

    @property
    def isolated(self) -> bool:
        """Whether model calls run in worker processes (timeout, memory limit, processes)."""
        return self.timeout_s is not None or self.memory_limit_bytes is not None

    def _base_metadata(self, name: str, model: object, metric: str) -> dict[str, Any]:
        meta: dict[str, Any] = {
            "model": name,
            "model_name": name,
            "metric": metric,
            "model_type": f"{type(model).__module__}.{type(model).__qualname__}",
            "call": _models.call_kind(model),
        }
        if _models.is_torch_module(model):
            torch = sys.modules["torch"]
            meta["torch_version"] = str(torch.__version__)
            meta["torch_num_threads"] = int(torch.get_num_threads())
            meta["torch_training_mode"] = bool(getattr(model, "training", False))
        if self.isolated or self.processes > 1:
            meta["isolation"] = {
                "worker_processes": True,
                "timeout_s": self.timeout_s,
                "memory_limit_bytes": self.memory_limit_bytes,
            }
        meta["environment"] = self.environment
        return meta

    # ----------------------------------------------------------------- failures

    def _fail(self, name: str, metric: str, failure: _ModelFailure) -> None:
        # the name shortened and escaped for people (FailureRecord.model keeps it whole)
        message = f"model '{display_name(name)}' failed the {metric} benchmark: {failure.detail}."
        record = FailureRecord(
            model=name, metric=metric, cause=failure.cause, kind=failure.kind, message=message
        )
        self.failures[name] = record
        self.failure_log.append(record)
        if self.strict:
            error = BenchmarkTimeoutError if failure.kind == "timeout" else ModelError
            raise error(f"{message} (strict=True stops at the first failure)") from (
                failure.__cause__ or None
            )
        warnings.warn(message, ModelFailureWarning, stacklevel=_user_stacklevel())

    def _execute(
        self,
        name: str,
        task: Callable[..., dict[str, Any]],
        args: tuple[Any, ...],
        *,
        replicates: int = 1,
        what: str = "",
    ) -> list[dict[str, Any]]:
        """Run a task in this process or in worker processes; raise _ModelFailure.

        Warnings raised by the task are re-issued prefixed with the model's name and
        ``what`` (the metric, e.g. ``"latency"`` or ``"throughput, batch 32"``).
        """
        task, args = _with_threads, (task, self.threads, *args)
        label = display_name(name) + (f", {what}" if what else "")
        if not self.isolated and replicates == 1:
            # Warnings raised while measuring (unstable samples...) are re-issued with the
            # model's name, pointing at the caller's line rather than at torchperf's.
            caught: list[warnings.WarningMessage] = []
            try:
                with warnings.catch_warnings(record=True) as caught:  # type: ignore[assignment]
                    warnings.simplefilter("always")
                    data = task(*args)
            finally:
                for w in caught:
                    _reemit(w.category, f"[{label}] {w.message}")
            return [data]
        outputs = []
        for _ in range(replicates):
            data, caught_names = _run_isolated(
                task, args, timeout_s=self.timeout_s, memory_limit_bytes=self.memory_limit_bytes
            )
            for category_name, text in caught_names:
                _reemit(category_name, f"[{label}, worker process] {text}")
            outputs.append(data)
        return outputs

    def _run_each(
        self,
        metric: str,
        body: Callable[[str, Any], BenchmarkResult],
        skip: Mapping[str, str] | None = None,
    ) -> dict[str, BenchmarkResult]:
        results: dict[str, BenchmarkResult] = {}
        self.not_applicable[metric] = dict(skip or {})
        for name, model in zip(self.model_names, self.models, strict=True):
            if skip and name in skip:
                continue
            try:
                with _model_code_guard():
                    result = body(name, model)
                results[name] = result  # only once the guard found nothing to undo
            except _ModelFailure as failure:
                self._fail(name, metric, failure)
        self.results[metric] = results
        return results

    # ----------------------------------------------------------------- inputs

    def _generated(self, shape: tuple[int, ...]) -> np.ndarray:
        if shape not in self._inputs:
            from torchperf.targets import generate_input

            self._inputs[shape] = generate_input(shape, self.input_dtype, seed=self._rng)
        return self._inputs[shape]

    def _resolve_input(
        self, model: object, input_shape: object, example_input: object
    ) -> tuple[object, str]:
        """Return (input, source) for one model; see run_latency_benchmark."""
        if example_input is not None:
            if isinstance(example_input, (list, tuple)):
                example_input = _as_array(example_input, "`example_input`")
            return example_input, "example_input"
        if input_shape is not None:
            return self._generated(_check_shape(input_shape)), "input_shape"
        declared = _models.model_input_shape(model)
        if declared is not None:
            return self._generated(_check_shape(declared)), "model"
        return self._generated(DEFAULT_INPUT_SHAPE), "default"

    @staticmethod
    def _input_metadata(x: object, source: str) -> dict[str, Any]:
        shape = getattr(x, "shape", None)
        dtype = getattr(x, "dtype", None)
        return {
            "input_shape": list(shape) if shape is not None else None,
            "input_dtype": str(dtype).replace("torch.", "") if dtype is not None else None,
            "input_source": source,
        }

    # ----------------------------------------------------------------- latency

    def _timing_metadata(self, outputs: list[dict[str, Any]]) -> dict[str, Any]:
        first = outputs[0]
        measure_meta = first["measure"]
        meta: dict[str, Any] = {
            "warmup_runs": self.warmup_runs,
            "warmup": {
                "protocol": first["warmup"]["protocol"],
                "n_calls": first["warmup"]["n_calls"],
                "converged": first["warmup"]["converged"],
            },
            "n": sum(len(o["samples_s"]) for o in outputs),
            "measurement_runs": self.measurement_runs,
            "number": first["number"],
            "number_per_process": [o["number"] for o in outputs],
            "number_mode": measure_meta.get("number_mode"),
            "window_s": measure_meta.get("window_s"),
            "blocks_per_sample": measure_meta.get("blocks_per_sample", 1),
            "measuring_s_per_process": [o["measure"].get("measuring_s") for o in outputs],
            "timer": measure_meta.get("timer", "time.perf_counter_ns"),
            "timer_overhead_s": measure_meta.get("timer_overhead_s"),
            "gc_disabled": first["gc_disabled"],
            "stability_warnings": measure_meta.get("stability_warnings", []),
            "threads": first.get("threads"),
            "processes": len(outputs),
            "replicate_sizes": [len(o["samples_s"]) for o in outputs],
            "replication": (
                "one process: samples share process state (not independent replicates)"
                if len(outputs) == 1
                else f"{len(outputs)} spawned worker processes; compare per-process medians"
            ),
        }
        return meta

    def _time_model(
        self, name: str, model: object, x: object, what: str = "latency"
    ) -> list[dict[str, Any]]:
        replicates = self.processes
        return self._execute(
            name,
            _task_time,
            (model, x, self.warmup_runs, self.measurement_runs, self.number, self.window_s),
            replicates=replicates,
            what=what,
        )

    def run_latency_benchmark(
        self,
        input_shape: Sequence[int] | None = None,
        *,
        example_input: Any = None,
    ) -> dict[str, BenchmarkResult]:
        """Measure the time of one inference of each model.

        Parameters
        ----------
        input_shape : tuple of int, optional
            Shape of a generated input, *including* the batch axis (the course
            module's ``(1, 28, 28)`` is one 28x28 image). The input is standard normal
            ``float32`` drawn from ``rng``; every model of one shape gets the same data.
        example_input : array_like, optional
            A real input to use instead (an array, a tensor, or anything the models
            accept); it wins over ``input_shape``.

        Returns
        -------
        dict
            ``{model_name: BenchmarkResult}`` with ``metric_name="latency"``, ``unit="s"``
            and one value per sample: mean seconds per call over ``number`` calls.
            Metadata: ``model``, ``input_shape``, ``input_dtype``, ``input_source``,
            ``warmup`` (protocol, calls), ``n``, ``number``, ``timer``, ``gc_disabled``,
            ``processes``, ``replicate_sizes``, ``environment``. Failed models are
            absent and listed in :attr:`failures`.

        Notes
        -----
        Which input each model gets: ``example_input`` if given; else ``input_shape``
        if given; else the model's own declaration (``(1, *model.input_shape)`` for
        models with an ``input_shape`` attribute such as torchperf's zoo,
        ``(1, model.n_features_in_)`` for fitted scikit-learn estimators); else the
        course module's ``(1, 28, 28)``. ``input_source`` in the metadata says which.
        Compare latencies only between models that got the same input shape.

        Torch inputs are converted to tensors before timing, so conversion is not
        timed; the timed call runs under :func:`torch.no_grad`.

        """

        def body(name: str, model: object) -> BenchmarkResult:
            x, source = self._resolve_input(model, input_shape, example_input)
            outputs = self._time_model(name, model, x)
            meta = self._base_metadata(name, model, "latency")
            meta.update(self._input_metadata(x, source))
            meta.update(self._timing_metadata(outputs))
            values = [v for o in outputs for v in o["samples_s"]]
            from torchperf.result import BenchmarkResult

            return BenchmarkResult(
                "latency",
                values,
                meta,
                unit=METRICS["latency"].unit,
                lower_is_better=METRICS["latency"].lower_is_better,
                confidence_level=self.confidence_level,
            )

        return self._run_each("latency", body)

    # ----------------------------------------------------------------- throughput

    def run_throughput_benchmark(
        self,
        batch_sizes: Sequence[int] = (1, 32),
        *,
        input_shape: Sequence[int] | None = None,
        example_input: Any = None,
    ) -> dict[str, BenchmarkResult]:
        """Measure samples per second at each batch size.

        Parameters
        ----------
        batch_sizes : sequence of int, default (1, 32)
            Batch sizes to time; each batch is one call.
        input_shape : tuple of int, optional
            Shape of one batch *including* the batch axis; only the trailing (per-example)
            dimensions are used. Default: as in :meth:`run_latency_benchmark` (the model's
            declared shape, else ``(1, 28, 28)``).
        example_input : array_like, optional
            An example batch; its rows are repeated (cycled) to fill each batch size.

        Returns
        -------
        dict
            ``{model_name: BenchmarkResult}`` with ``metric_name="throughput"``,
            ``unit="samples/s"``, ``lower_is_better=False``, at the **largest** batch
            size (the same for every model, so results are comparable); one value per
            sample: ``batch_size / seconds per call``. ``metadata["batch_sizes"]`` holds
            every batch size's median and CI; the full results per batch size are in
            :attr:`throughput_by_batch_size`. A model that fails at any batch size is
            recorded as failed.

        """
        if isinstance(batch_sizes, (int, np.integer)):
            batch_sizes = (int(batch_sizes),)
        if isinstance(batch_sizes, (str, bytes)) or not isinstance(batch_sizes, Iterable):
            raise InvalidParameterError(
                f"`batch_sizes` must be a sequence of positive ints such as (1, 32); got "
                f"{batch_sizes!r}."
            )
        sizes = sorted({_check_count("batch size", b, 1, 10**7) for b in batch_sizes})
        if not sizes:
            raise InvalidParameterError("`batch_sizes` is empty; pass e.g. (1, 32).")
        by_batch: dict[str, dict[int, BenchmarkResult]] = {}

        def body(name: str, model: object) -> BenchmarkResult:
            if example_input is not None:
                example = example_input
                if isinstance(example, (list, tuple)):
                    example = _as_array(example, "`example_input`")
                if not hasattr(example, "__len__") or len(example) == 0:
                    raise InvalidParameterError(
                        "`example_input` for throughput must be a non-empty batch (first axis "
                        "= examples)."
                    )
                source = "example_input"
            else:
                base, source = self._resolve_input(model, input_shape, None)
                example = base
            per_batch: dict[int, BenchmarkResult] = {}
            for batch_size in sizes:
                if source == "example_input":
                    x = _batch_input(example, batch_size)
                else:
                    shape = (batch_size, *tuple(example.shape)[1:])  # type: ignore[attr-defined]
                    x = self._generated(_check_shape(shape))
                outputs = self._time_model(name, model, x, f"throughput, batch {batch_size}")
                meta = self._base_metadata(name, model, "throughput")
                meta.update(self._input_metadata(x, source))
                meta.update(self._timing_metadata(outputs))
                meta["batch_size"] = batch_size
                values = [batch_size / v for o in outputs for v in o["samples_s"]]
                from torchperf.result import BenchmarkResult

                per_batch[batch_size] = BenchmarkResult(
                    "throughput",
                    values,
                    meta,
                    unit=METRICS["throughput"].unit,
                    lower_is_better=METRICS["throughput"].lower_is_better,
                    confidence_level=self.confidence_level,
                )
            by_batch[name] = per_batch
            headline = per_batch[sizes[-1]]
            meta = dict(headline.metadata)
            meta["batch_sizes"] = {
                str(b): {
                    "median_samples_per_s": r.median,
                    "mean_samples_per_s": r.mean,
                    # never below zero for a rate (BenchmarkResult.bounded_mean_ci)
                    "ci_lower": r.bounded_mean_ci()[0],
                    "ci_upper": r.bounded_mean_ci()[1],
                    "n": r.count,
                    "number": r.metadata.get("number"),
                }
                for b, r in per_batch.items()
            }
            from torchperf.result import BenchmarkResult

            return BenchmarkResult(
                "throughput",
                headline.values,
                meta,
                unit=METRICS["throughput"].unit,
                lower_is_better=METRICS["throughput"].lower_is_better,
                confidence_level=self.confidence_level,
            )

        results = self._run_each("throughput", body)
        self.throughput_by_batch_size = by_batch
        return results

    # ----------------------------------------------------------------- accuracy

    def _load_datasets(self) -> list[tuple[str, list[tuple[np.ndarray, np.ndarray]]]]:
        if self._accuracy_data is not None:
            return self._accuracy_data
        datasets = self.datasets
        if datasets is None or (isinstance(datasets, (list, tuple, Mapping)) and not datasets):
            raise InvalidParameterError(
                "run_accuracy_benchmark needs labelled data: pass datasets=[(X, y)] (or "
                "iterables of (X, y) batches) to Benchmark."
            )
        if isinstance(datasets, Mapping):
            named = [(str(k), v) for k, v in datasets.items()]
        elif _is_pair(datasets):
            named = [("dataset_0", datasets)]
        elif isinstance(datasets, (list, tuple)):
            named = [(f"dataset_{i}", d) for i, d in enumerate(datasets)]
        else:
            raise InvalidParameterError(
                "`datasets` must be an (X, y) pair, a list of datasets or a {name: dataset} "
                f"mapping; got {type(datasets).__name__}."
            )
        loaded = []
        for dataset_name, dataset in named:
            if _is_pair(dataset):
                raw_batches: Iterable[Any] = [dataset]
            elif isinstance(dataset, Iterable) and not isinstance(dataset, (str, bytes)):
                raw_batches = dataset
            else:
                raise InvalidParameterError(
                    f"dataset {dataset_name!r} must be an (X, y) pair or an iterable of (X, y) "
                    f"batches; got {type(dataset).__name__}."
                )
            batches = []
            for i, batch in enumerate(raw_batches):
                if not isinstance(batch, (tuple, list)) or len(batch) != 2:
                    raise InvalidParameterError(
                        f"batch {i} of dataset {dataset_name!r} must be an (X, y) pair; got "
                        f"{type(batch).__name__}"
                        + (f" of length {len(batch)}" if hasattr(batch, "__len__") else "")
                        + "."
                    )
                X = _as_array(batch[0], f"X of batch {i} of dataset {dataset_name!r}")
                y = _as_array(batch[1], f"y of batch {i} of dataset {dataset_name!r}")
                if y.ndim == 2 and y.shape[1] > 1:
                    y = np.argmax(y, axis=1)  # one-hot labels
                y = y.reshape(-1) if y.ndim == 2 and y.shape[1] == 1 else y
                if X.ndim == 0 or y.ndim != 1:
                    raise InvalidParameterError(
                        f"batch {i} of dataset {dataset_name!r}: X must have a batch axis and "
                        f"y must be 1-D labels; got X of shape {X.shape} and y of shape "
                        f"{y.shape}."
                    )
                if len(X) != len(y):
                    raise InvalidParameterError(
                        f"batch {i} of dataset {dataset_name!r}: X has {len(X)} examples but y "
                        f"has {len(y)} labels; pass matching (X, y)."
                    )
                if len(y) == 0:
                    continue
                for arr, which in ((X, "X"), (y, "y")):
                    if arr.dtype.kind in "fc" and not np.all(np.isfinite(arr)):
                        bad = int(np.flatnonzero(~np.isfinite(arr.reshape(-1)))[0])
                        raise InvalidParameterError(
                            f"batch {i} of dataset {dataset_name!r}: {which} contains a non-finite "
                            f"value ({arr.reshape(-1)[bad]!r} at flat index {bad}); remove or "
                            "impute it before benchmarking."
                        )
                batches.append((X, y))
            if not batches:
                raise InvalidParameterError(
                    f"dataset {dataset_name!r} is empty; pass at least one labelled example."
                )
            loaded.append((dataset_name, batches))
        self._accuracy_data = loaded
        return loaded

    def run_accuracy_benchmark(self) -> dict[str, BenchmarkResult]:
        """Measure the fraction of correctly predicted labels on ``datasets``.

        Predicted labels are the ``argmax`` of a 2-D output (logits or probabilities)
        or the output itself when it is 1-D (``predict`` of a scikit-learn classifier);
        see :func:`torchperf.models.predict_labels`.

        Returns
        -------
        dict
            ``{model_name: BenchmarkResult}`` with ``metric_name="accuracy"``,
            ``unit="fraction"`` (in [0, 1]), ``lower_is_better=False``. Models that
            declare a non-classification ``task`` (e.g. ``"generation"``) are not
            scored: they are absent and listed in ``not_applicable["accuracy"]`` with the
            reason (see :func:`torchperf.models.accuracy_not_applicable`).

            **What the values and n are.** One value per dataset (its accuracy over all
            its examples), except when there is a single dataset given as two or more
            batches: then one value per batch. So ``n`` counts datasets or batches, not
            examples (``metadata["values_are"]`` says which). Accuracy on a fixed test
            set has no measurement noise: a single dataset gives one exact value.
            ``metadata`` also holds ``accuracy`` (correct / examples over everything),
            ``n_examples``, ``n_correct``, the Wilson ``wilson_ci`` of the accuracy as a
            proportion of ``n_examples`` (the uncertainty about accuracy on new data)
            and ``per_dataset`` figures. :meth:`compare_models` uses the paired
            per-example predictions (exact McNemar test).

        Raises
        ------
        InvalidParameterError
            No datasets, an empty dataset, or ``X`` and ``y`` of different lengths.

        """
        skip = {
            name: reason
            for name, model in zip(self.model_names, self.models, strict=True)
            if (reason := _models.accuracy_not_applicable(model)) is not None
        }
        if len(skip) == len(self.models):  # nothing to score: no data needed
            self._correct = {}
            return self._run_each("accuracy", lambda name, model: None, skip)  # type: ignore[arg-type, return-value]
        data = self._load_datasets()
        n_batches_total = sum(len(b) for _, b in data)
        per_batch = len(data) == 1 and n_batches_total > 1
        self._correct = {}
        from torchperf.comparison import encode_outcomes

        labels = np.concatenate(
            [np.asarray(y).ravel() for _, batches in data for _, y in batches]
        )

        def body(name: str, model: object) -> BenchmarkResult:
            (out,) = self._execute(name, _task_accuracy, (model, data), what="accuracy")
            per_dataset = []
            values: list[float] = []
            for info in out["per_dataset"]:
                correct, sizes = info["batch_correct"], info["batch_sizes"]
                acc = sum(correct) / sum(sizes)
                per_dataset.append(
                    {"name": info["name"], "accuracy": acc, "n_examples": sum(sizes),
                     "n_correct": sum(correct), "n_batches": len(sizes)}
                )  # fmt: skip
                if per_batch:
                    values.extend(c / s for c, s in zip(correct, sizes, strict=True))
                else:
                    values.append(acc)
            n_examples = sum(d["n_examples"] for d in per_dataset)
            n_correct = sum(d["n_correct"] for d in per_dataset)
            self._correct[name] = np.asarray(out["correct"], dtype=bool)
            meta = self._base_metadata(name, model, "accuracy")
            # Per-example outcomes, packed (45 bytes per 360 examples), so that every later
            # comparison of this result (suite, report, compare_runs) is the paired McNemar
            # test (docs/statistics.md#rule-8).
            meta.update(encode_outcomes(self._correct[name], labels))
            meta.update(
                {
                    "values_are": "per-batch" if per_batch else "per-dataset",
                    "n": len(values),
                    "accuracy": n_correct / n_examples,
                    "n_examples": n_examples,
                    "n_correct": n_correct,
                    "wilson_ci": list(
                        _wilson_ci(n_correct, n_examples, self.confidence_level)
                    ),
                    "per_dataset": per_dataset,
                }
            )
            from torchperf.result import BenchmarkResult

            with warnings.catch_warnings():
                # One exact value per dataset is not a small *sample*: there is no noise.
                warnings.simplefilter("ignore", SmallSampleWarning)
                return BenchmarkResult(
                    "accuracy",
                    values,
                    meta,
                    unit=METRICS["accuracy"].unit,
                    lower_is_better=METRICS["accuracy"].lower_is_better,
                    confidence_level=self.confidence_level,
                )

        return self._run_each("accuracy", body, skip)

    # ----------------------------------------------------------------- memory

    def _memory_method_for(self, model: object) -> str:
        if self.memory_method is not None:
            return self.memory_method
        return "torch-cpu" if _models.is_torch_module(model) else "tracemalloc"

    def run_memory_benchmark(
        self,
        input_shape: Sequence[int] | None = None,
        *,
        example_input: Any = None,
    ) -> dict[str, BenchmarkResult]:
        """Measure the peak memory of one inference of each model.

        Parameters
        ----------
        input_shape : tuple of int, optional
            As in :meth:`run_latency_benchmark` (same default resolution).
        example_input : array_like, optional
            As in :meth:`run_latency_benchmark`.

        Returns
        -------
        dict
            ``{model_name: BenchmarkResult}`` with ``metric_name="memory"``, ``unit="B"``;
            one value per call (``measurement_runs`` calls, after one unmeasured call):
            the peak bytes allocated during the call above the level just before it
            (the model and its input are not counted; the output is).
            ``metadata["memory_method"]`` names the method (see ``memory_method``) and
            ``metadata["memory_notes"]`` its caveats.

        """

        def body(name: str, model: object) -> BenchmarkResult:
            x, source = self._resolve_input(model, input_shape, example_input)
            method = self._memory_method_for(model)
            (out,) = self._execute(
                name, _task_memory, (model, x, self.measurement_runs, method), what="memory"
            )
            meta = self._base_metadata(name, model, "memory")
            meta.update(self._input_metadata(x, source))
            meta.update(
                {
                    "memory_method": out["method"],
                    "memory_notes": out["notes"],
                    "threads": out.get("threads"),
                    "n": len(out["peaks_bytes"]),
                    "warmup_calls": 1,
                }
            )
            from torchperf.result import BenchmarkResult

            return BenchmarkResult(
                "memory",
                [float(v) for v in out["peaks_bytes"]],
                meta,
                unit=METRICS["memory"].unit,
                lower_is_better=METRICS["memory"].lower_is_better,
                confidence_level=self.confidence_level,
            )

        return self._run_each("memory", body)

    # ----------------------------------------------------------------- size

    def run_size_benchmark(self) -> dict[str, BenchmarkResult]:
        """Report each model's parameter bytes (its size).

        Returns
        -------
        dict
            ``{model_name: BenchmarkResult}`` with ``metric_name="size"``, ``unit="B"``
            and a single exact value (:func:`torchperf.models.parameter_bytes`);
            ``metadata["size_method"]`` says how it was found (``"parameter_bytes()"``,
            ``"torch"``, ``"sklearn"``, ``"numpy-attributes"``, ``"closure"``). A model
            whose size is unknown (no arrays reachable, see
            :func:`torchperf.models.parameter_bytes`) gets no result: it is listed in
            ``not_applicable["size"]`` with a reason starting ``"unknown"``, so no size
            comparison is made against it.

        """
        sizes: dict[str, tuple[int, str] | ModelError] = {}
        skip: dict[str, str] = {}
        for name, model in zip(self.model_names, self.models, strict=True):
            try:
                size, method = _models.parameter_bytes_method(model)
            except ModelError as exc:
                sizes[name] = exc
                continue
            if size is None:
                skip[name] = (
                    f"unknown: no arrays or tensors reachable from the model ({method} "
                    "search: attributes, closure, defaults, module globals its code names); "
                    "give it a parameter_bytes() method to declare its size"
                )
            else:
                sizes[name] = (size, method)

        def body(name: str, model: object) -> BenchmarkResult:
            found = sizes[name]
            if isinstance(found, ModelError):
                exc = found
                raise _ModelFailure(
                    "exception", type(exc.__cause__ or exc).__name__, _short(exc)
                ) from exc
            size, method = found
            meta = self._base_metadata(name, model, "size")
            meta.update({"size_method": method, "n": 1})
            from torchperf.result import BenchmarkResult

            with warnings.catch_warnings():
                warnings.simplefilter("ignore", SmallSampleWarning)  # exact, not a sample
                return BenchmarkResult(
                    "size",
                    [float(size)],
                    meta,
                    unit=METRICS["size"].unit,
                    lower_is_better=METRICS["size"].lower_is_better,
                    confidence_level=self.confidence_level,
                )

        return self._run_each("size", body, skip)

    # ----------------------------------------------------------------- comparison

    def _run_metric(self, metric: str) -> dict[str, BenchmarkResult]:
        runner: Callable[[], dict[str, BenchmarkResult]] = getattr(self, METRICS[metric].run_method)
        return runner()

    def compare_models(
        self,
        metric: str = "latency",
        baseline: str | None = None,
        *,
        threshold: float = 0.05,  # == stats.DEFAULT_NOISE_THRESHOLD (no scipy at import)
        rng: int | np.random.Generator | None = 0,
        correction: str = "holm",
    ) -> list[dict[str, Any]]:
        """Rank models on one metric and compare each with a baseline.

        Uses the latest results of ``metric`` (running its benchmark with default
        arguments first if there are none).

        Parameters
        ----------
        metric : {"latency", "throughput", "accuracy", "memory", "size"}
            The metric.
        baseline : str, optional
            Name of the reference model; default the first model that has a result.
        threshold : float, default 0.0
            Relative change below which a significant difference is not called an
            improvement or regression (e.g. 0.05 for 5 %).
        rng : int, numpy.random.Generator or None, default 0
            Accepted for compatibility with torchperf 0.1 (it seeded bootstrap
            intervals); every interval is now the inversion of its test, with no
            resampling, so rows are reproducible without it.
        correction : {"holm", "bh", "none"}, default "holm"
            Multiple-comparison adjustment across the candidates
            (:func:`torchperf.comparison.adjust`).

        Returns
        -------
        list of dict
            One row per model with a result, best first (by median; by overall accuracy
            for accuracy). Keys: ``rank``, ``model``, ``is_baseline``, ``baseline``,
            ``metric``, ``unit``, ``lower_is_better``, ``center`` (the compared
            statistic), ``statistic``, ``mean``, ``std``, ``median``, ``ci_low`` /
            ``ci_high`` (CI of the mean, never below zero for a quantity that cannot be
            negative: :meth:`~torchperf.result.BenchmarkResult.bounded_mean_ci`), ``n``, ``ratio`` (candidate / baseline),
            ``ratio_ci_low`` / ``ratio_ci_high``, ``percent_change`` with
            ``percent_ci_low`` / ``percent_ci_high``, ``p_value``, ``p_value_adjusted``
            (``correction`` over the candidates, Holm by default), ``method``, ``verdict`` (``"baseline"``,
            ``"improvement"``, ``"regression"``, ``"equivalent"``, ``"inconclusive"``;
            direction-aware; a directional verdict needs the *adjusted* p-value below
            ``1 - confidence_level``), ``summary`` (e.g. ``"baseline: 12.3 ms ± 0.8 ms,
            optimized: 4.1 ms ± 0.3 ms (67% reduction, 95% CI [64%, 70%], p < 0.001)"``),
            ``note`` and ``caveat`` (the comparison's caveat). Numbers that do not apply
            are ``None``.

        Notes
        -----
        Each row's statistics are a :class:`torchperf.comparison.Finding` from
        :func:`torchperf.comparison.compare_results`, the function behind every
        comparison of the package (suite, reports, ``compare_runs``), so the same two
        models get the same test, interval and unadjusted verdict everywhere
        (``docs/statistics.md#rule-8``): accuracy on the same examples is the exact
        McNemar test on paired predictions with its Clopper-Pearson inversion as the
        interval; figures without spread (sizes, most memory figures) are exact; with
        ``processes >= 2`` the per-process medians are compared (Welch t on log values
        with the matching interval of the ratio of geometric means); with one process
        the samples themselves, and ``caveat`` says the p-value is optimistic (use
        ``processes=3`` or more for decisions, ``docs/statistics.md#rule-1``).
        ``ratio`` is the ratio the test is about (geometric means, accuracies), so the
        interval excludes 1 exactly when ``p_value < 1 - confidence_level``.

        """
        from torchperf.comparison import adjust, compare_results

        if metric not in METRICS:
            raise InvalidParameterError(
                f"`metric` must be one of {METRIC_NAMES}; got {metric!r}."
            )
        if (
            isinstance(threshold, bool)
            or not isinstance(threshold, (int, float))
            or not math.isfinite(threshold)
            or threshold < 0
        ):
            raise InvalidParameterError(
                f"`threshold` must be a non-negative fraction such as 0.05; got {threshold!r}."
            )
        np.random.default_rng(rng)  # validated for compatibility; no interval resamples any more
        results = self.results.get(metric)
        if results is None:
            results = self._run_metric(metric)
        if not results:
            return []
        names = [n for n in self.model_names if n in results]
        if baseline is None:
            baseline = names[0]
        elif baseline not in results:
            why = (
                f" it failed: {self.failures[baseline].message}"
                if baseline in self.failures
                else ""
            )
            raise InvalidParameterError(
                f"`baseline` must name a model with a {metric} result, one of {names}; got "
                f"{baseline!r}.{why}"
            )
        base = results[baseline]
        cl = self.confidence_level
        unit, lower = METRICS[metric].unit, METRICS[metric].lower_is_better

        findings: dict[str, Finding] = {}
        notes: dict[str, str] = {}
        for name in names:
            if name == baseline:
                continue
            cand = results[name]
            note = ""
            findings[name] = compare_results(
                base, cand, metric=metric, baseline_name=baseline, candidate_name=name,
                confidence_level=cl, threshold=threshold,
            )  # fmt: skip
            if metric == "memory":
                m_b = base.metadata.get("memory_method")
                m_c = cand.metadata.get("memory_method")
                if m_b != m_c:
                    note = (
                        f"measured with different methods ({m_b} vs {m_c}): the figures count "
                        "different allocations"
                    )
            if base.metadata.get("input_shape") != cand.metadata.get("input_shape"):
                note = (note + "; " if note else "") + (
                    f"different input shapes ({base.metadata.get('input_shape')} vs "
                    f"{cand.metadata.get('input_shape')})"
                )
            notes[name] = note
        adjusted = dict(zip(findings, adjust(findings.values(), correction), strict=True))

        rows: list[dict[str, Any]] = []
        for name in names:
            r = results[name]
            center = float(r.metadata.get("accuracy", r.mean)) if metric == "accuracy" else (
                float(r.median)
            )
            mean_ci = r.bounded_mean_ci()
            row: dict[str, Any] = {
                "rank": 0,
                "model": name,
                "is_baseline": name == baseline,
                "baseline": baseline,
                "metric": metric,
                "unit": unit,
                "lower_is_better": lower,
                "center": center,
                "statistic": "accuracy" if metric == "accuracy" else "median",
                "mean": r.mean,
                "std": r.std,
                "median": r.median,
                "ci_low": mean_ci[0],
                "ci_high": mean_ci[1],
                "n": r.count,
                "ratio": None,
                "ratio_ci_low": None,
                "ratio_ci_high": None,
                "percent_change": None,
                "percent_ci_low": None,
                "percent_ci_high": None,
                "p_value": None,
                "p_value_adjusted": None,
                "method": None,
                "verdict": "inconclusive",
                "summary": "",
                "note": notes.get(name, ""),
                "caveat": "",
            }
            if name == baseline:
                row.update(
                    ratio=1.0, ratio_ci_low=1.0, ratio_ci_high=1.0, percent_change=0.0,
                    percent_ci_low=0.0, percent_ci_high=0.0, verdict="baseline",
                    summary=f"{name}: {_format_mean_std(r)} (baseline)",
                )  # fmt: skip
            else:
                f = adjusted[name]
                row.update(
                    ratio=_none_if_nan(f.ratio),
                    ratio_ci_low=_none_if_nan(f.ratio_ci_low),
                    ratio_ci_high=_none_if_nan(f.ratio_ci_high),
                    percent_change=_none_if_nan(f.percent_change),
                    percent_ci_low=_none_if_nan(100 * (f.ratio_ci_low - 1)),
                    percent_ci_high=_none_if_nan(100 * (f.ratio_ci_high - 1)),
                    p_value=_none_if_nan(f.p),
                    p_value_adjusted=_none_if_nan(f.q),
                    method=f.test,
                    verdict=f.verdict,
                    summary=_summary(f, base, results[name]),
                    caveat=f.caveat,
                )
            rows.append(row)
        rows.sort(key=lambda row: row["center"] if lower else -row["center"])
        for rank, row in enumerate(rows, start=1):
            row["rank"] = rank
        return rows


# --------------------------------------------------------------------------- helpers


def _summary(f: Finding, base: BenchmarkResult, cand: BenchmarkResult) -> str:
    """One sentence per comparison, e.g. ``"a: 12.3 ms ± 0.8 ms, b: 4.1 ms ± 0.3 ms (67% reduction, 95% CI [64%, 70%], p < 0.001)"``."""
    from torchperf.result import format_quantity
    from torchperf.stats import format_p

    if f.test == "none":
        return f"{f.baseline}: {_format_mean_std(base)}, {f.candidate}: {_format_mean_std(cand)} ({f.caveat})"
    parts: list[str] = []
    if f.test in ("exact", "mcnemar-exact", "katz-log-z"):
        left = format_quantity(f.before, f.unit)
        right = format_quantity(f.after, f.unit)
    else:
        left, right = _format_mean_std(base), _format_mean_std(cand)
    if f.statistic == "proportion":
        parts.append(f"{100 * (f.after - f.before):+.1f} percentage points")
    if not math.isfinite(f.ratio):
        parts.append("baseline is 0")
    elif f.ratio == 1:
        parts.append("no change")
    else:
        change = f.ratio - 1
        word = "reduction" if change < 0 else "increase"
        parts.append(f"{_pct(abs(change)) if f.statistic == 'proportion' else f'{abs(change):.0%}'} {word}")
    if f.test == "exact":
        parts.append("exact")
    else:
        if math.isfinite(f.ratio_ci_low) and math.isfinite(f.ratio_ci_high):
            sign = -1 if f.ratio < 1 else 1
            ends = sorted((sign * (f.ratio_ci_low - 1), sign * (f.ratio_ci_high - 1)))
            fmt = _pct if f.statistic == "proportion" else (lambda x: f"{x:.0%}")
            parts.append(f"{f.confidence_level:.0%} CI [{fmt(ends[0])}, {fmt(ends[1])}]")
        name = {"mcnemar-exact": "McNemar ", "katz-log-z": "z test "}.get(f.test, "")
        parts.append(f"{name}{format_p(f.p)}")
    return f"{f.baseline}: {left}, {f.candidate}: {right} ({', '.join(parts)})"


def _pct(fraction: float) -> str:
    """Percentage with one decimal below 10 % (accuracy changes are small), else none."""
    return f"{fraction:.1%}" if abs(fraction) < 0.1 else f"{fraction:.0%}"


def _format_mean_std(result: BenchmarkResult) -> str:
    from torchperf.result import format_quantity

    if result.count == 1:
        return format_quantity(result.mean, result.unit)
    return f"{format_quantity(result.mean, result.unit)} ± {format_quantity(result.std, result.unit)}"


def _wilson_ci(k: int, n: int, confidence_level: float) -> tuple[float, float]:
    """Wilson score interval of a proportion k / n (:func:`torchperf.stats.wilson_ci`)."""
    from torchperf.stats import wilson_ci

    return wilson_ci(k, n, confidence_level=confidence_level)


def _reemit(category: type[Warning] | str, message: str) -> None:
    if isinstance(category, str):
        import builtins

        from torchperf import errors

        category = getattr(errors, category, None) or getattr(builtins, category, None)
    if not (isinstance(category, type) and issubclass(category, Warning)):
        category = TorchperfWarning
    warnings.warn(message, category, stacklevel=_user_stacklevel())


def _user_stacklevel() -> int:
    """Stack level of the first frame outside torchperf, for ``warnings.warn``."""
    import os

    package_dir = os.path.dirname(os.path.abspath(__file__))
    frame = sys._getframe(1)
    level = 1
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(package_dir):
        frame = frame.f_back  # type: ignore[assignment]
        level += 1
    return level


_ENVIRONMENT_CACHE: dict[str, Any] | None = None


def _process_environment() -> dict[str, Any]:
    """collect_environment(), once per process (it does not change during a run)."""
    global _ENVIRONMENT_CACHE
    if _ENVIRONMENT_CACHE is None:
        from torchperf.environment import collect_environment

        _ENVIRONMENT_CACHE = dict(collect_environment())
    return dict(_ENVIRONMENT_CACHE)
