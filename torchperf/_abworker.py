"""Worker process of ``torchperf ab`` (:mod:`torchperf.ab`): one side, driven over pipes.

Started as ``python -c BOOT this_file CONFIG_JSON`` by the interpreter of its side
(``--python-a`` / ``--python-b``), so it needs only the standard library to run a
zero-argument callable; model targets (objects with ``forward`` / ``predict``) also use
:mod:`torchperf.models`, importable through the ``PYTHONPATH`` the controller sets.

Protocol, one JSON object per line: the worker resolves the target, calibrates the loop
count so one sample lasts at least ``sample_s``, warms up for ``warmup_s`` and answers
``{"ready": ...}``. Then each request ``{"samples": k}`` is answered with ``k`` per-call
times; ``{"quit": true}`` (or end of input) ends it. Errors are answered as
``{"error": ..., "traceback": ...}``. The user's own output goes to stderr so that it
cannot corrupt the protocol.
"""

from __future__ import annotations

import gc
import importlib
import inspect
import itertools
import json
import os
import sys
import time
import traceback
from typing import Any

#: Bootstrap run with ``python -c``: execute this file as ``__main__`` with its config.
BOOT = (
    "import sys;p=sys.argv[1];sys.argv=sys.argv[1:];"
    "exec(compile(open(p,encoding='utf-8').read(),p,'exec'),{'__name__':'__main__','__file__':p})"
)


def _resolve(spec: str) -> Any:
    module_name, sep, attr = spec.partition(":")
    if not sep or not module_name or not attr:
        raise ValueError(f"target {spec!r} must look like 'module:attribute'.")
    obj: Any = importlib.import_module(module_name)
    for part in attr.split("."):
        obj = getattr(obj, part)
    return obj


def _is_zero_arg_callable(obj: Any) -> bool:
    if not callable(obj) or any(callable(getattr(obj, a, None)) for a in ("forward", "predict")):
        return False
    try:
        sig = inspect.signature(obj)
    except (TypeError, ValueError):
        return False
    return all(
        p.default is not p.empty or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
        for p in sig.parameters.values()
    )


def _build(config: dict[str, Any]) -> Any:
    """Return the zero-argument function to time."""
    obj = _resolve(config["target"])
    if _is_zero_arg_callable(obj):
        return obj
    try:
        import numpy as np

        from torchperf import models
    except ImportError as exc:
        raise ImportError(
            f"target {config['target']!r} is a model (it takes an input), which needs numpy and "
            f"torchperf importable in {sys.executable} ({exc}); install them there or pass a "
            "zero-argument callable."
        ) from exc
    if config.get("input"):
        x = _resolve(config["input"])
        if callable(x):
            x = x()
        if isinstance(x, tuple) and len(x) == 2:  # an (X, y) dataset: time one batch of X
            x = x[0]
    else:
        shape = models.model_input_shape(obj) or (1, 28, 28)
        x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    call = models.get_call(obj)
    prepared = models.prepare_input(obj, x)

    def once() -> object:
        return call(prepared)

    return once


#: Clocks by name: wall time, CPU time of the process (all threads), of this thread.
CLOCKS = {"wall": time.perf_counter_ns, "process": time.process_time_ns, "thread": time.thread_time_ns}


def _block(fn: Any, number: int, clock: Any) -> int:
    loop = itertools.repeat(None, number)
    t0 = clock()
    for _ in loop:
        fn()
    return clock() - t0


def _run(config: dict[str, Any], send: Any, requests: Any) -> None:
    for path in reversed(config.get("sys_path", [])):
        if path not in sys.path:
            sys.path.insert(0, path)
    fn = _build(config)
    fn()  # first call: fail early, outside timing
    gc.collect()
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        clock = CLOCKS[config.get("clock", "wall")]
        target_ns = float(config["sample_s"]) * 1e9
        number = 1
        for mantissa in itertools.chain.from_iterable((m * 10**e for m in (1, 2, 5)) for e in range(10)):
            number = mantissa
            if _block(fn, number, clock) >= target_ns:
                break
        deadline = time.perf_counter_ns() + float(config["warmup_s"]) * 1e9
        warm = 0
        while time.perf_counter_ns() < deadline or warm < 2:
            _block(fn, number, clock)
            warm += 1
        send({"ready": True, "number": number, "pid": os.getpid(), "python": sys.version.split()[0],
              "executable": sys.executable, "warmup_samples": warm})
        for line in requests:
            request = json.loads(line)
            if request.get("quit"):
                break
            k = int(request["samples"])
            scale = 1e-9 / number
            send({"samples_s": [_block(fn, number, clock) * scale for _ in range(k)]})
    finally:
        if gc_was_enabled:
            gc.enable()


def main(argv: list[str]) -> int:
    """Entry point: ``argv[1]`` is the JSON config; return an exit status."""
    proto = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)  # the user's prints go to stderr
    sys.stdout = sys.stderr

    def send(obj: dict[str, Any]) -> None:
        proto.write(json.dumps(obj) + "\n")
        proto.flush()

    try:
        _run(json.loads(argv[1]), send, sys.stdin)
    except BaseException as exc:  # report everything, including SystemExit from user code
        send({"error": f"{type(exc).__name__}: {exc}", "traceback": traceback.format_exc()})
        return 1
    return 0


if __name__ == "__main__":
    main(sys.argv)  # errors were sent over the protocol; the controller reads them
