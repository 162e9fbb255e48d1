"""The ``torchperf`` command line: the only module that prints or exits.

Every subcommand ends in one function that returns an exit status:
0 clean, 1 a finding (a regression, a failed model), 2 a usage or input
error (one message, no traceback), 130 interrupted. Library errors
(:class:`~torchperf.errors.TorchperfError`) become exit 2 here.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import math
import os
import re
import sys
import textwrap
import time
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from torchperf import __version__
from torchperf.errors import InvalidParameterError, MissingDependencyError, TorchperfError
from torchperf.metrics import METRIC_NAMES, METRICS
from torchperf.text import display_name, escape_text

__all__ = ["build_parser", "main"]

EXIT_OK, EXIT_FOUND, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


class UsageError(TorchperfError, ValueError):
    """A command-line argument is wrong (exit 2)."""


# --------------------------------------------------------------------------- helpers


def _out(text: str = "") -> None:
    from torchperf.text import escape_text

    # user strings (names, paths, messages) never reach the terminal raw: control
    # characters, ANSI escapes, RTL overrides and lone surrogates are escaped
    sys.stdout.write(escape_text(text, keep="\n\t") + "\n")
    sys.stdout.flush()


def _err(text: str) -> None:
    from torchperf.text import escape_text

    sys.stderr.write(escape_text(text, keep="\n\t") + "\n")
    sys.stderr.flush()


def _positive_int(name: str, low: int = 1, high: int = 1_000_000) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name} must be an integer; got {text!r}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{name} must be in [{low}, {high}]; got {value}")
        return value

    return parse


def _probability(name: str) -> Callable[[str], float]:
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name} must be a number; got {text!r}") from None
        if not 0.0 < value < 1.0:
            hint = f" Did you mean {value / 100:g}?" if 1.0 < value < 100.0 else ""
            raise argparse.ArgumentTypeError(f"{name} must be in (0, 1); got {text}.{hint}")
        return value

    return parse


def _nonneg_float(name: str) -> Callable[[str], float]:
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name} must be a number; got {text!r}") from None
        if not (value >= 0.0 and value < float("inf")):
            raise argparse.ArgumentTypeError(f"{name} must be >= 0 and finite; got {text}")
        return value

    return parse


_METRIC_NAMES = METRIC_NAMES


def _metric_list(text: str) -> tuple[str, ...]:
    names = tuple(m.strip() for m in text.split(",") if m.strip())
    unknown = [m for m in names if m not in _METRIC_NAMES]
    if not names or unknown:
        raise argparse.ArgumentTypeError(
            f"--metrics must be a comma-separated subset of {','.join(_METRIC_NAMES)}; got {text!r}"
        )
    return names


def _positive_float(name: str) -> Callable[[str], float]:
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name} must be a number; got {text!r}") from None
        if not (0.0 < value < float("inf")):
            raise argparse.ArgumentTypeError(f"{name} must be > 0 and finite; got {text}")
        return value

    return parse


def _number_arg(text: str) -> int | str:
    if text == "auto":
        return text
    try:
        value = int(text)
    except ValueError:
        value = 0
    if not 1 <= value <= 10**9:
        raise argparse.ArgumentTypeError(
            f"--number must be 'auto' or a whole number of calls in [1, 1000000000]; got {text!r}"
        )
    return value


def _shape_arg(text: str) -> tuple[int, ...]:
    from torchperf.targets import parse_shape

    try:
        return parse_shape(text)
    except InvalidParameterError:
        raise argparse.ArgumentTypeError(
            f"--input-shape must be positive integers including the batch axis, e.g. 1,64 or "
            f"1x3x32x32; got {text!r}"
        ) from None


def _dtype_arg(text: str) -> str:
    from torchperf.targets import check_input_dtype

    try:
        return str(check_input_dtype(text))
    except InvalidParameterError:
        raise argparse.ArgumentTypeError(
            f"--input-dtype must be a numeric dtype such as float32, float64, int64 or bool; "
            f"got {text!r}"
        ) from None


def _load_target(spec: str) -> Any:
    """Import ``module:attribute`` (see :func:`torchperf.targets.load_target`)."""
    from torchperf.targets import load_target

    return load_target(spec)


def _models_from_targets(targets: Sequence[str]) -> dict[str, Any]:
    """Resolve targets to ``{name: model}`` (see :func:`torchperf.targets.load_models`)."""
    from torchperf.targets import load_models

    return load_models(targets)


#: Worker processes per model of ``torchperf run`` (latency, throughput). Calls inside one
#: process are not independent replicates; see docs/benchmark.md#processes for the A/A
#: false-alarm rates behind this default (tools/run_aa.py).
DEFAULT_RUN_PROCESSES = 3

# Library advice names Python arguments (``input_shape=...``); the CLI names its flags instead.
# The whole mapping is here, in two tables (docs/reliability.md#advice-names-flags); a test
# (tests/test_advice.py) triggers each advice from Python and from the CLI.

#: Phrases rewritten for every command.
_FLAG_ADVICE: tuple[tuple[str, str], ...] = (
    ("pass input_shape=... or example_input=... that the model accepts",
     "pass --input-shape, --example-input FILE.npy or --dataset MODULE:ATTR with an input the "
     "model accepts"),
    ("pass input_shape=... or example_input=... as well.", "pass --input-shape or --example-input as well."),
    ("timeout_s, memory_limit_bytes and processes > 1 need a picklable model",
     "--timeout, --memory-limit-mb and --processes 2 or more need a picklable model"),
    ("(raise timeout_s if the model is just slow)", "(raise --timeout if the model is just slow)"),
    ("timeout_s=", "--timeout "),
    ("or pass html_dir and results_dir.", "or pass --html-dir DIR and --results-dir DIR."),
    ("so html_dir and results_dir cannot", "so the html and results directories cannot"),
    ("so html_dir cannot", "so the html directory cannot"),
    ("so results_dir cannot", "so the results directory cannot"),
    ("(pass datasets=[(X, y)])", "(pass --dataset MODULE:ATTR)"),
    ("run_accuracy_benchmark needs labelled data: pass datasets=[(X, y)] (or iterables of (X, y) "
     "batches) to Benchmark.", "accuracy needs labelled data: pass --dataset MODULE:ATTR."),
    ("(strict=True stops at the first failure)", "(--strict stops at the first failure)"),
    ("(another output_dir)", "(--output DIR)"),
    ("pass the `results_dir` of your asv.conf.json",
     "pass --results-dir DIR (the `results_dir` of your asv.conf.json)"),
    ("or pass cache=False.", "or pass --no-cache."),
    ("(or pass scheduler=None and unset TORCHPERF_DASK_SCHEDULER)",
     "(or drop --scheduler and unset TORCHPERF_DASK_SCHEDULER)"),
    ("or publish with offline=False.", "or publish without --offline."),
    ("(measure with processes >= 2)", "(measure with `torchperf run --processes 2` or more)"),
    ("or raise measurement_runs).", "or measure more samples: `torchperf run --runs N`)."),
    ("; pass lower_is_better=True or False.", ": the results disagree on its direction; re-run "
     "the benchmark that wrote them."),
)  # fmt: skip

#: Phrases rewritten for one command only (where its flags are what applies).
_COMMAND_ADVICE: dict[str, tuple[tuple[str, str], ...]] = {
    "run": (
        ("number='auto'", "--number auto"),
        ("rerun with more samples or processes", "rerun with more samples (--runs) or processes "
         "(--processes)"),
        ("Use the same settings, another output_dir, or resume=False.",
         "Use the same --warmup and --runs, another --output DIR, or drop --resume."),
        ("(measure with processes >= 2)", "(measure with --processes 2 or more)"),
        ("or raise measurement_runs).", "or raise --runs)."),
        ("take more measurements for a 95% interval", "take more measurements (--runs) for a 95% "
         "interval"),
        ("Raise `max_number`.", "Pass a fixed --number N above that."),
    ),
}  # fmt: skip

#: Python argument -> flag of the command that passes it: ``machine='x'`` is written
#: ``--machine 'x'`` by a command that has ``--machine``, and left alone by the others.
_ARG_FLAGS: dict[str, dict[str, str]] = {
    "run": {"input_shape": "--input-shape", "example_input": "--example-input",
            "input_dtype": "--input-dtype", "number": "--number", "warmup_runs": "--warmup",
            "measurement_runs": "--runs", "processes": "--processes", "threads": "--threads"},
    "compare": {"machine": "--machine", "env": "--env", "threshold": "--threshold",
                "fdr": "--fdr", "confidence_level": "--confidence-level"},
    "regressions": {"machine": "--machine", "env": "--env", "bench": "--bench", "fdr": "--fdr",
                    "min_effect": "--min-effect"},
    "ab": {"repo": "--repo", "margin": "--margin", "alpha": "--alpha"},
}  # fmt: skip

#: The command being run (set by :func:`main`): which flags advice may name.
_COMMAND: str | None = None


def _cli_advice(text: str, command: str | None = None) -> str:
    """Rewrite a library message's advice in terms of the CLI's flags.

    Phrases of :data:`_COMMAND_ADVICE` (first) and the ``arg=`` spellings of
    :data:`_ARG_FLAGS` only for the command that has the flag (default: the one
    running); phrases of :data:`_FLAG_ADVICE` for every command.
    """
    command = command or _COMMAND or ""
    for lib, flag in (*_COMMAND_ADVICE.get(command, ()), *_FLAG_ADVICE):
        text = text.replace(lib, flag)
    text = re.sub(
        r"memory_limit_bytes=(\d+)", lambda m: f"--memory-limit-mb {int(m.group(1)) // 2**20}", text
    )
    flags = _ARG_FLAGS.get(command, {})
    if flags:
        source = text

        def flag(m: re.Match[str]) -> str:  # "machine='x'" -> "--machine 'x'"; "env=." -> "--env."
            after = source[m.end() : m.end() + 3]
            if after == "...":
                return flags[m.group(1)] + " "
            return flags[m.group(1)] + ("" if after[:1] in ("", " ", ",", ".", ";", ":", ")", "/") else " ")

        text = re.sub(rf"(?<![\w.-])({'|'.join(map(re.escape, flags))})=", flag, source)
    return text


@contextlib.contextmanager
def _say_if_slow(text: str, after_s: float = 1.0) -> Iterator[None]:
    """Write ``text`` to stderr if the block is still running after ``after_s`` seconds."""
    import threading

    timer = threading.Timer(after_s, _err, args=(text,))
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        timer.cancel()


def _progress_bar(
    total_desc: str, unit: str = "task", *, heartbeat_s: float = 10.0
) -> tuple[Callable[[int, int, str], None], Callable[[], None]]:
    """Progress on stderr driven by the suite's ``progress(completed, total, desc)`` hook.

    In a terminal: a tqdm bar. In a log (CI, a pipe), where a bar redrawn with carriage
    returns reads badly: one plain line per task at most every 5 s, and the last one,
    ``torchperf: benchmarking 3/24: latency of mlp (12 s elapsed, ~84 s left)``. Calls with
    the same ``completed`` and a new ``desc`` report progress inside a step (``publish``:
    each results file, each page). A step that reports nothing for ``heartbeat_s`` gets a
    line saying it is still running (in a terminal, the bar's clock keeps ticking), so a
    long stage never looks hung.
    """
    import threading

    from tqdm import tqdm

    tty = sys.stderr.isatty()
    lock = threading.Lock()
    state: dict[str, Any] = {"bar": None, "t0": None, "last": -math.inf, "shown": None, "beat": None}
    stop = threading.Event()

    def line(completed: int, total: int, desc: str, now: float, extra: str = "") -> None:
        elapsed = now - state["t0"]
        left = f", ~{elapsed / completed * (total - completed):.0f} s left" if 0 < completed < total else ""
        _err(f"torchperf: {total_desc} {completed}/{total}: {display_name(desc, 60)} ({elapsed:.0f} s elapsed{left}{extra})")

    def beat() -> None:
        while not stop.wait(1.0):
            with lock:
                now = time.monotonic()
                if state["bar"] is not None:
                    state["bar"].refresh()  # the elapsed time keeps moving in a terminal
                elif state["shown"] is not None and now - state["last"] >= heartbeat_s:
                    state["last"] = now
                    line(*state["shown"], now, ", still running")

    def hook(completed: int, total: int, desc: str) -> None:
        with lock:
            now = time.monotonic()
            if state["t0"] is None:
                state["t0"] = now
            if state["beat"] is None and completed < total:
                state["beat"] = threading.Thread(target=beat, name="torchperf-progress", daemon=True)
                state["beat"].start()
            state["shown"] = (completed, total, desc) if completed < total else None  # done: no beats
            if not tty:
                if completed < total and now - state["last"] < 5.0:
                    return
                state["last"] = now
                line(completed, total, desc, now)
                return
            bar = state["bar"]
            if bar is None:
                bar = state["bar"] = tqdm(
                    total=total, desc=total_desc, unit=unit, file=sys.stderr, leave=True,
                    disable=None,
                )
            bar.set_postfix_str(desc[:60], refresh=False)
            bar.n = completed
            bar.refresh()

    def close() -> None:
        stop.set()
        if state["beat"] is not None:
            state["beat"].join(timeout=2.0)
        with lock:
            if state["bar"] is not None:
                state["bar"].close()

    return hook, close


def _results_dir(arg: str | None) -> Path:
    """``--results-dir`` or the ``results_dir`` of ./asv.conf.json."""
    if arg:
        path = Path(arg)
    else:
        conf = Path("asv.conf.json")
        if not conf.is_file():
            raise UsageError(
                "no --results-dir given and no asv.conf.json in the current directory; "
                "pass --results-dir DIR (an asv results directory)."
            )
        from torchperf.history import load_asv_config

        cfg = load_asv_config(conf)
        path = Path(cfg.get("results_dir", "results"))
        if not path.is_absolute():
            path = conf.parent / path
    if not path.is_dir():
        raise UsageError(f"results directory {path} does not exist; run `asv run` first.")
    return path


def _print_json(obj: Any) -> None:
    from torchperf._tables import rows_json

    _out(rows_json(obj))


def _emit(
    fmt: str, rows: Sequence[Mapping[str, Any]], table: Callable[[], None], doc: Any = None
) -> None:
    """Print a command's table, the one way every command does it (``--format``).

    ``table``: ``table()`` prints the command's own layout. ``json``: ``doc`` (the
    command's JSON document) or else ``rows``. ``csv``: ``rows``, one line each
    (:func:`torchperf._tables.rows_csv`), so a CSV read back has the JSON's rows.
    """
    if fmt == "json":
        _print_json(rows if doc is None else doc)
    elif fmt == "csv":
        from torchperf._tables import rows_csv

        sys.stdout.write(escape_text(rows_csv(rows), keep="\n\t"))
        sys.stdout.flush()
    else:
        table()


def _add_format(p: argparse.ArgumentParser, *, csv: bool = True, what: str = "") -> None:
    """``--format table|json[|csv]`` of a command."""
    choices = ("table", "json", "csv") if csv else ("table", "json")
    p.add_argument(
        "--format", choices=choices, default="table",
        help="table (default), json" + (" or csv (one line per table row)" if csv else "")
        + (f"; {what}" if what else ""),
    )


# --------------------------------------------------------------------------- commands


def cmd_run(args: argparse.Namespace) -> int:
    """Benchmark the zoo or user targets; write results and reports.

    The whole command holds the output directory's lock
    (:func:`torchperf.fileio.directory_lock`): a second ``torchperf run`` into
    the same directory fails at once with exit 2, naming the holder's pid.
    """
    from torchperf.fileio import directory_lock

    out_dir = Path(args.output)
    if out_dir.exists() and not out_dir.is_dir():
        raise UsageError(f"--output {out_dir} exists and is not a directory; pass a directory.")
    # Files are written under the absolute path, fixed here before any model code runs (target
    # modules are imported later), so a model's os.chdir cannot split the output; messages
    # show the path as given.
    args.output_absolute = out_dir.absolute()
    with directory_lock(args.output_absolute, purpose="torchperf run"), _thread_limit(
        args.threads
    ):
        return _run_locked(args, out_dir)


def _shown(path: Path, out_dir: Path, absolute: Path) -> Path:
    """``path`` (under ``absolute``, the resolved ``out_dir``) as the user spelled ``out_dir``."""
    try:
        return out_dir / path.relative_to(absolute)
    except ValueError:
        return path


_THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


class _thread_limit:
    """``--threads N``: the thread variables of the worker processes, restored on exit.

    Workers are spawned fresh and read ``OMP_NUM_THREADS`` etc. when their libraries
    load; :class:`~torchperf.benchmark.Benchmark` (``threads=N``) then also sets
    ``torch.set_num_threads`` and threadpoolctl limits around every task, in workers
    and in this process alike.
    """

    def __init__(self, threads: int | None) -> None:
        self.threads = threads
        self.saved: dict[str, str | None] = {}

    def __enter__(self) -> _thread_limit:
        if self.threads is not None:
            for var in _THREAD_VARIABLES:
                self.saved[var] = os.environ.get(var)
                os.environ[var] = str(self.threads)
        return self

    def __exit__(self, *exc: object) -> None:
        for var, value in self.saved.items():
            if value is None:
                os.environ.pop(var, None)
            else:
                os.environ[var] = value


def _run_locked(args: argparse.Namespace, out_dir: Path) -> int:
    from torchperf.errors import BenchmarkTimeoutError, ModelError, ModelFailureWarning
    from torchperf.report import summary_table
    from torchperf.suite import BenchmarkSuite
    from torchperf.text import display_name

    datasets: list[Any] | dict[str, Any] | None = None
    baselines: dict[str, str] | None = None
    example_input: Any = None
    throughput_input: Any = None
    input_shape = args.input_shape
    if args.example_input:
        from torchperf.targets import load_example_input

        example_input = load_example_input(args.example_input)
    if args.targets:
        # importing a target's module (torch, a model) can take seconds: say so after 1 s
        # (a bad target still fails with its one error line)
        with _say_if_slow(f"torchperf: importing {len(args.targets)} target(s) ..."):
            models = _models_from_targets(args.targets)
        if args.dataset:
            from torchperf.targets import dataset_features, load_dataset

            datasets = load_dataset(args.dataset)
            if example_input is None and input_shape is None:
                # Time the models on the data they are meant for: one row for latency and
                # memory, the rows cycled into throughput batches.
                try:
                    X = dataset_features(datasets)
                except InvalidParameterError:
                    pass  # empty or malformed: BenchmarkSuite names the problem below
                else:
                    example_input, throughput_input = X[:1], X
        timed = {m for m in (args.metrics or _METRIC_NAMES) if METRICS[m].uses_input}
        if timed and example_input is None and input_shape is None:
            from torchperf.models import model_input_shape

            blind = [name for name, m in models.items() if model_input_shape(m) is None]
            if blind:
                raise UsageError(
                    f"model(s) {', '.join(map(repr, blind))} declare no input shape, so "
                    f"{'/'.join(sorted(timed))} has nothing to feed them: pass --input-shape "
                    "(e.g. 1,64, batch axis first), --example-input FILE.npy|.pt or --dataset "
                    "MODULE:ATTR (its X is used), or give the model an input_shape attribute."
                )
    else:
        from torchperf.zoo import build_comparison_set, load_digits_split

        _err("torchperf: building the model zoo (cached after the first run) ...")
        models = build_comparison_set(seed=args.seed, include_torch="auto")
        split = load_digits_split(seed=args.seed)
        datasets = [(split.X_test, split.y_test)]
        if args.baseline is None:  # each variant against its own family's baseline
            from torchperf.zoo import family_baselines

            baselines = family_baselines(models)
    if args.quick:
        warmup, runs = min(args.warmup, 2), min(args.runs, 5)
    else:
        warmup, runs = args.warmup, args.runs
    bench_kw: dict[str, Any] = {"processes": args.processes, "number": args.number}
    if args.threads is not None:
        bench_kw["threads"] = args.threads
    if args.input_dtype:
        bench_kw["input_dtype"] = args.input_dtype
    if args.timeout is not None:
        bench_kw["timeout_s"] = args.timeout
    if args.memory_limit_mb is not None:
        bench_kw["memory_limit_bytes"] = args.memory_limit_mb * 2**20
    suite = BenchmarkSuite(
        models,
        datasets,
        output_dir=args.output_absolute,
        warmup_runs=warmup,
        measurement_runs=runs,
        metrics=args.metrics or _METRIC_NAMES,
        strict=args.strict,
        baseline=args.baseline,
        baselines=baselines,
        input_shape=input_shape,
        example_input=example_input,
        throughput_input=throughput_input,
        benchmark_kwargs=bench_kw,
    )
    hook, close = _progress_bar("benchmarking")
    suite.progress = hook
    interrupted = False
    try:
        with warnings.catch_warnings():
            # Each failure is listed once at the end (and in the reports), not as a warning too.
            warnings.simplefilter("ignore", ModelFailureWarning)
            suite.run_full_benchmark(resume=args.resume, report=True)
    except KeyboardInterrupt:
        interrupted = True
    except (ModelError, BenchmarkTimeoutError) as exc:  # --strict: a model failed
        close()
        _err(f"torchperf run: {_cli_advice(str(exc))}")
        _err(
            f"torchperf: stopped at the first failure (--strict); finished results are saved in "
            f"{_shown(suite.staging_path, out_dir, args.output_absolute)} (the previous complete run in {out_dir} is "
            "untouched); --resume continues from them."
        )
        return EXIT_FOUND
    finally:
        close()
    run = suite.to_run()
    _flush_warnings()  # aggregated, before the summary: the summary is what a reader sees last

    def table() -> None:
        _out(_cli_advice(summary_table(run)))
        _out("")
        for kind, path in sorted(suite.report_files.items()):
            _out(f"{kind:>10}: {_shown(path, out_dir, args.output_absolute)}")

    if args.format == "table":
        table()
    else:
        doc = _run_document(run, {
            k: _shown(p, out_dir, args.output_absolute) for k, p in suite.report_files.items()
        })  # fmt: skip
        _emit(args.format, doc["results"], table, doc)
    if interrupted:
        done = sum(len(v) for v in suite.results.values())
        _err(
            f"torchperf: interrupted; {done} finished measurements are saved in "
            f"{_shown(suite.staging_path, out_dir, args.output_absolute)} with a partial report beside them; the "
            f"previous complete results in {out_dir} are untouched. "
            "Re-run with --resume to measure only what is missing."
        )
        return EXIT_INTERRUPTED
    if suite.failures:
        for name, per_metric in suite.failures.items():
            records = per_metric.values() if isinstance(per_metric, Mapping) else [per_metric]
            for rec in records:
                msg = rec.get("message") if isinstance(rec, Mapping) else getattr(rec, "message", rec)
                msg = _cli_advice(str(msg))
                _err(f"torchperf: {msg}" if msg.startswith("model ") else
                     f"torchperf: model '{display_name(name)}' failed: {msg}")
        _err(
            f"torchperf: {len(suite.failures)} model(s) failed; every other result is saved in "
            f"{_shown(suite.results_path, out_dir, args.output_absolute)} and the reports."
        )
        return EXIT_FOUND
    return EXIT_OK


def _run_document(run: Any, files: Mapping[str, Any]) -> dict[str, Any]:
    """``--format json`` of run/report: every result's summary, every comparison, the files."""
    from torchperf.report import build_report
    from torchperf.suite import results_frame

    frame = results_frame(run["results"])
    return {
        "results": frame.to_dict(orient="records"),
        "comparisons": build_report(run)["comparisons"],
        "not_applicable": run["not_applicable"],
        "failures": run["failures"],
        "complete": run["complete"],
        "files": {str(k): str(v) for k, v in files.items()},
    }


def cmd_report(args: argparse.Namespace) -> int:
    """Re-render the reports of a saved run."""
    from torchperf.fileio import directory_lock
    from torchperf.report import render_run, summary_table
    from torchperf.suite import load_run

    run = load_run(args.results)
    results_path = Path(args.results)
    out = Path(args.output) if args.output else (
        results_path if results_path.is_dir() else results_path.parent
    )
    with directory_lock(out, purpose="torchperf report"):
        files = render_run(run, out)
    if args.format != "table":
        doc = _run_document(run, files)
        _emit(args.format, doc["results"], lambda: None, doc)
        return EXIT_OK
    _out(_cli_advice(summary_table(run)))
    for kind, path in sorted(files.items()):
        _out(f"{kind:>10}: {path}")
    return EXIT_OK


def _finding_rows(findings: Sequence[Any]) -> list[dict[str, Any]]:
    return [f.to_dict() if hasattr(f, "to_dict") else dict(f) for f in findings]


def _table(rows: Sequence[Mapping[str, Any]], columns: Sequence[tuple[str, str]]) -> str:
    """A plain-text table of ``rows`` with ``(key, header)`` columns."""

    def cell(v: Any) -> str:
        if isinstance(v, float):
            if v != v:
                return "-"
            return f"{v:.3g}" if abs(v) < 1e-3 or abs(v) >= 1e4 else f"{v:.3f}"
        if v is None:
            return "-"
        if isinstance(v, (list, tuple)):
            return ", ".join(map(str, v))
        return str(v)

    body = [[cell(r.get(k)) for k, _ in columns] for r in rows]
    heads = [h for _, h in columns]
    widths = [max([len(h)] + [len(b[i]) for b in body]) for i, h in enumerate(heads)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(heads, widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(c.ljust(w) for c, w in zip(b, widths, strict=True)) for b in body]
    return "\n".join(lines)


def _cache_arg(args: argparse.Namespace) -> bool | str:
    """``load_results(cache=...)`` from ``--no-cache`` / ``--cache-dir``."""
    if getattr(args, "no_cache", False):
        return False
    return getattr(args, "cache_dir", None) or True


def _add_cache_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--no-cache", action="store_true",
        help="parse every asv results file; neither read nor write the history cache",
    )
    p.add_argument(
        "--cache-dir", metavar="DIR",
        help="history cache of this results directory (default: under $TORCHPERF_CACHE_DIR or "
        "the user cache dir; see `torchperf cache path`)",
    )


def cmd_cache(args: argparse.Namespace) -> int:
    """Show or delete the history cache."""
    from torchperf.history.store import cache_root, clear_cache, default_store_dir

    if args.action == "path":
        if args.all:
            path = cache_root()
        else:
            path = args.cache_dir or default_store_dir(_results_dir(args.results_dir))
        if args.format == "json":
            _print_json({"path": str(path)})
        else:
            _out(str(path))
        return EXIT_OK
    if args.all:
        removed = clear_cache()
    elif args.cache_dir:
        removed = clear_cache(cache_dir=args.cache_dir)
    else:
        removed = clear_cache(_results_dir(args.results_dir))
    if args.format == "json":
        _print_json({"removed": [str(p) for p in removed]})
        return EXIT_OK
    for path in removed:
        _out(f"removed {path}")
    if not removed:
        _out("no history cache to remove.")
    return EXIT_OK


_RUN_COMPARE_COLUMNS = [
    ("metric", "metric"),
    ("model", "model"),
    ("before_text", "before"),
    ("after_text", "after"),
    ("ratio", "ratio"),
    ("ratio_ci", "ratio CI"),
    ("p_adjusted", "p_adj"),
    ("method", "test"),
    ("verdict", "verdict"),
]


def _compare_threshold(args: argparse.Namespace) -> float | None:
    """``--threshold F`` (relative) or asv's ``--factor X`` (= threshold X - 1)."""
    if args.threshold is not None and args.factor is not None:
        raise UsageError("give --threshold or --factor, not both (--factor 1.05 is --threshold 0.05).")
    if args.factor is not None:
        if args.factor < 1.0:
            raise UsageError(f"--factor must be >= 1 (1.05 = 5 % threshold); got {args.factor:g}.")
        return float(args.factor) - 1.0
    return args.threshold


def _with_values(r: Mapping[str, Any]) -> dict[str, Any]:
    """A comparison row with before/after in their unit and the ratio's CI as text."""
    from torchperf.result import format_quantity

    unit = str(r.get("unit") or "")

    def q(v: Any) -> str:
        return format_quantity(float(v), unit) if isinstance(v, (int, float)) else "-"

    lo, hi = r.get("ci_low"), r.get("ci_high")
    ci = f"[{lo:.3f}x, {hi:.3f}x]" if isinstance(lo, float) and isinstance(hi, float) and (
        lo == lo and hi == hi) else "-"  # fmt: skip
    return {**r, "before_text": q(r.get("before")), "after_text": q(r.get("after")), "ratio_ci": ci}


def _order_rows(rows: list[dict[str, Any]], key: str) -> list[dict[str, Any]]:
    """``--sort``: name (metric, model), ratio (largest slowdown first) or default order."""
    if key == "name":
        return sorted(rows, key=lambda r: (str(r.get("metric")), str(r.get("model"))))
    if key == "ratio":

        def worse_first(r: Mapping[str, Any]) -> float:
            ratio = r.get("ratio")
            if not isinstance(ratio, (int, float)) or ratio != ratio or ratio <= 0:
                return 0.0
            import math

            lower = r.get("metric_direction", "lower_is_better") == "lower_is_better"
            return -math.log(ratio) if lower else math.log(ratio)

        return sorted(rows, key=worse_first)
    return rows


def _split_rows(rows: list[dict[str, Any]], split: bool) -> list[tuple[str, list[dict[str, Any]]]]:
    """``--split``: asv-style groups (worse, better, unchanged or inconclusive)."""
    if not split:
        return [("", rows)]
    groups = [
        ("Regressions", [r for r in rows if r.get("verdict") == "regression"]),
        ("Improvements", [r for r in rows if r.get("verdict") == "improvement"]),
        ("No significant change", [r for r in rows
                                   if r.get("verdict") not in ("regression", "improvement")]),
    ]  # fmt: skip
    return [(t, g) for t, g in groups if g]


def cmd_compare(args: argparse.Namespace) -> int:
    """Compare two saved runs, or two revisions of an asv history."""
    a, b = Path(args.a), Path(args.b)
    for p in (a, b):
        if p.suffix == ".json" and not p.exists():
            raise UsageError(f"results file {p} does not exist; check the path.")

    asv_a, asv_b = _asv_results_file(a), _asv_results_file(b)
    if asv_a or asv_b:
        if not (asv_a and asv_b):
            one, other = (a, b) if asv_a else (b, a)
            raise UsageError(
                f"{one} is an asv results file but {other} is not: pass two asv results files "
                "(<results_dir>/<machine>/<hash>-<env>.json), two torchperf results.json files, or two "
                "revisions with --results-dir DIR."
            )
        return _compare_asv_files(args, (a, asv_a), (b, asv_b))

    def run_like(p: Path) -> bool:  # a results.json, or a run directory holding one
        return p.is_file() or (p.is_dir() and (p / "results.json").is_file())

    if not args.results_dir and (run_like(a) or run_like(b) or a.suffix == ".json" or b.suffix == ".json"):
        for p in (a, b):
            if p.is_dir() and not (p / "results.json").is_file():
                unfinished = p / ".staging" / "results.json"
                hint = (
                    f"; an unfinished run is in {unfinished} (`torchperf run --resume --output {p}` "
                    "completes it)"
                    if unfinished.is_file()
                    else ""
                )
                raise UsageError(
                    f"{p} is a directory without a results.json, not a results file: compare takes "
                    f"two results.json files (or two run directories that hold one){hint}. To "
                    "compare asv revisions, pass --results-dir DIR."
                )
    if run_like(a) and run_like(b) and not args.results_dir:
        from torchperf.comparison import compare_runs
        from torchperf.suite import load_run

        run_a, run_b = load_run(a), load_run(b)
        threshold = _compare_threshold(args)
        files = [p / "results.json" if p.is_dir() else p for p in (a, b)]  # named in errors
        rows = compare_runs(
            files[0], files[1], confidence_level=args.confidence_level,
            machine=args.machine, env=args.env,
            **({} if threshold is None else {"threshold": threshold}),
        )  # fmt: skip
        if not rows:
            scope = "".join(f" {flag} {v!r}" for flag, v in (("--machine", args.machine), ("--env", args.env)) if v)
            raise UsageError(
                f"{a} and {b} have no (metric, model) result in common{' within' + scope if scope else ''} "
                f"(models {sorted(run_a['models'])[:5]} vs {sorted(run_b['models'])[:5]}); compare runs of "
                "the same models, or pass --results-dir DIR to compare asv revisions."
            )
        rows = _order_rows(rows, args.sort)
        if args.only_changed:
            rows = [r for r in rows if r.get("verdict") in ("regression", "improvement")]
        def table() -> None:
            for title, part in _split_rows(rows, args.split):
                if title:
                    _out(f"\n{title}:")
                _out(_table([_with_values(r) for r in part], _RUN_COMPARE_COLUMNS) if part else
                     "(none)")  # fmt: skip
            if args.only_changed and not rows:
                _out("No significant change (--only-changed hides the rest).")

        _emit(args.format, rows, table)
        found = any(r.get("direction") == "regression" and r.get("significant") for r in rows)
        return EXIT_FOUND if found else EXIT_OK

    from torchperf.history import compare_revisions, load_results

    results_dir = _results_dir(args.results_dir)
    df = load_results(results_dir, cache=_cache_arg(args), machine=args.machine, env=args.env)
    findings = compare_revisions(
        df, args.a, args.b, confidence_level=args.confidence_level, fdr=args.fdr
    )
    return _show_history_findings(args, df, findings)


def _asv_results_file(path: Path) -> dict[str, Any] | None:
    """``commit``, ``env`` and ``results_dir`` of an asv results file; None for anything else."""
    if not path.is_file() or path.suffix != ".json" or path.name in ("machine.json", "benchmarks.json"):
        return None
    try:
        with open(path, encoding="utf-8") as fh:
            head = fh.read(4096)
        if '"commit_hash"' not in head and '"env_name"' not in head:
            return None
        from torchperf.fileio import read_json

        doc = read_json(path, what="asv results file")
    except (OSError, TorchperfError, UnicodeDecodeError):
        return None
    if not isinstance(doc, dict) or not isinstance(doc.get("commit_hash"), str) or "results" not in doc:
        return None
    env = doc.get("env_name") or path.stem.split("-", 1)[-1]
    return {"commit": doc["commit_hash"], "env": str(env), "results_dir": path.parent.parent}


def _compare_asv_files(
    args: argparse.Namespace, a: tuple[Path, dict[str, Any]], b: tuple[Path, dict[str, Any]]
) -> int:
    """``compare A.json B.json`` on two asv results files of one results directory.

    Same environment: the two commits are compared (:func:`compare_revisions`); same
    commit: the two environments (:func:`torchperf.history.compare_environments`). The
    files' history (the other results of their machine and environments) gives the
    run-to-run noise. ``--machine`` / ``--env`` must match the files.
    """
    from torchperf.history import compare_environments, compare_revisions, load_results

    (pa, fa), (pb, fb) = a, b
    if fa["results_dir"].resolve() != fb["results_dir"].resolve():
        raise UsageError(
            f"{pa} and {pb} are in different asv results directories ({fa['results_dir']} vs "
            f"{fb['results_dir']}); compare two files of one results directory."
        )
    envs = sorted({fa["env"], fb["env"]})
    df = load_results(fa["results_dir"], cache=_cache_arg(args),
                      env="^(?:" + "|".join(re.escape(e) for e in envs) + ")$")  # fmt: skip
    files = df["file"].map(lambda f: str(Path(f).resolve()))
    machines = []
    for p in (pa, pb):
        found = df.loc[files == str(p.resolve()), "machine"]
        if found.empty:
            raise UsageError(f"{p} holds no benchmark values torchperf can read; check the file.")
        machines.append(str(found.iloc[0]))
    if machines[0] != machines[1]:
        raise UsageError(
            f"{pa} and {pb} come from different machines ({machines[0]!r} vs {machines[1]!r}); "
            "compare two files of one machine."
        )
    machine = machines[0]
    if args.machine is not None and args.machine != machine:
        raise UsageError(f"--machine {args.machine!r} does not match the files' machine {machine!r}.")
    if args.env is not None:
        try:
            unmatched = [e for e in envs if not re.search(args.env, e)]
        except re.error as exc:
            raise UsageError(f"--env {args.env!r} is not a valid regular expression ({exc}).") from None
        if unmatched:
            raise UsageError(f"--env {args.env!r} does not match the files' environment {unmatched[0]!r}.")
    df = df[df["machine"] == machine]
    if fa["env"] == fb["env"]:
        findings = compare_revisions(df, fa["commit"], fb["commit"],
                                     confidence_level=args.confidence_level, fdr=args.fdr)  # fmt: skip
        args.a, args.b = fa["commit"][:8], fb["commit"][:8]
        return _show_history_findings(args, df, findings)
    if fa["commit"] != fb["commit"]:
        raise UsageError(
            f"{pa} and {pb} differ in both commit and environment ({fa['commit'][:8]} {fa['env']} vs "
            f"{fb['commit'][:8]} {fb['env']}); compare two commits of one environment or two "
            "environments of one commit."
        )
    if args.explain:
        raise UsageError("--explain compares commits; these files are two environments of one commit.")
    findings = compare_environments(df, fa["env"], fb["env"], fa["commit"],
                                    confidence_level=args.confidence_level, fdr=args.fdr)  # fmt: skip
    title = f"environment {fa['env']} -> {fb['env']} at {fa['commit'][:8]} (ratio = B / A)"
    return _show_history_findings(args, df, findings, title=title)


def _show_history_findings(
    args: argparse.Namespace, df: Any, findings: Sequence[Any], title: str = ""
) -> int:
    """Print history findings (table, json or csv) with ``--explain``; the exit status."""
    rows = _finding_rows(findings)
    explained: dict[Any, Any] = {}
    if args.explain:
        from torchperf.history.verdicts import explain_compare

        explained = explain_compare(df, findings, fdr=args.fdr)
        for r in rows:
            r["explanation"] = explained.get(
                (r["machine"], r["env"], r["benchmark"], tuple(r.get("params") or ())))
    if args.format != "table":
        _emit(args.format, rows, lambda: None)
    else:
        shown = rows if args.all else [r for r in rows if r.get("verdict") != "equivalent"]
        from torchperf.history.verdicts import comparison_table

        if title:
            _out(title)
        _out(comparison_table(shown))
        _out(f"\n{len(rows)} benchmark series compared; {len(rows) - len(shown)} equivalent not shown"
             " (--all shows them).")
        if args.explain:
            _out(f"\ncompare vs regressions (change points) on {args.a}..{args.b}: "
                 f"{len(explained)} series differ.")
            for (machine, env, bench, params), e in sorted(explained.items(), key=str):
                name = f"{bench}({', '.join(params)})" if params else bench
                _out(textwrap.fill(f"{name} [{machine}/{env}]: {e['reason']}", 120,
                                   subsequent_indent="    "))
    found = any(r.get("direction") == "regression" and r.get("significant", True) for r in rows
                if r.get("verdict") in ("regression", "slower"))
    return EXIT_FOUND if found else EXIT_OK


def _history_progress() -> tuple[Callable[[str, int, int], None], Callable[[], None]]:
    """Progress of loading and analysing a history, on stderr.

    In a terminal: tqdm bars (files parsed, series groups analysed, time left). In a
    log (CI, a pipe): one plain line at most every 10 s and at the end of each stage,
    with the rate and the time left, so that long runs show they are alive.
    """
    from tqdm import tqdm

    tty = sys.stderr.isatty()
    labels = {"parse": ("parsing asv results files", "file"), "analyse": ("analysing series groups", "group")}
    state: dict[str, Any] = {"stage": None, "bar": None, "t0": 0.0, "last": 0.0}

    def close() -> None:
        if state["bar"] is not None:
            state["bar"].close()
            state["bar"] = None

    def hook(stage: str, done: int, total: int) -> None:
        now = time.monotonic()
        if stage != state["stage"]:
            close()
            state.update(stage=stage, t0=now, last=-math.inf)  # a log gets a line when a stage starts
            if tty:
                desc, unit = labels.get(stage, (stage, "item"))
                state["bar"] = tqdm(total=total, desc=desc, unit=unit, file=sys.stderr, leave=False)
        if state["bar"] is not None:
            state["bar"].n = done
            state["bar"].refresh()
            return
        if done < total and now - state["last"] < 10.0:
            return
        state["last"] = now
        elapsed = now - state["t0"]
        left = f", ~{elapsed / done * (total - done):.0f} s left" if 0 < done < total else ""
        desc = labels.get(stage, (stage, ""))[0]
        _err(f"torchperf: {desc}: {done}/{total} ({elapsed:.0f} s elapsed{left})")

    return hook, close


def _scope_args(args: argparse.Namespace) -> Any:
    from torchperf.history.store import Scope

    return Scope(bench=args.bench, machine=args.machine, env=args.env)


def cmd_regressions(args: argparse.Namespace) -> int:
    """Change points across an asv history, grouped by commit, with status and cause.

    Streamed one series group at a time from the history store
    (:func:`torchperf.history.verdicts.assess_results`), on Dask when
    ``--scheduler`` or ``TORCHPERF_DASK_SCHEDULER`` names a scheduler. Lists open
    regressions caused by code (``--all``: everything found); exit 1 when there is one.
    """
    from torchperf.history.verdicts import assess_results, select_verdicts, verdict_table

    results_dir = _results_dir(args.results_dir)
    _err(f"torchperf: reading the asv history in {results_dir} ...")  # before the first file is parsed
    hook, close = _history_progress()
    detect: dict[str, Any] = {"fdr": args.fdr}
    if args.min_effect is not None:
        detect["min_effect"] = args.min_effect
    try:
        verdicts, start = assess_results(
            results_dir, since=args.since, cache=_cache_arg(args),
            scope=_scope_args(args), scheduler=args.scheduler, progress=hook, **detect,
        )
    finally:
        close()
    in_range = select_verdicts(verdicts, everything=True, since_revision=start,
                               min_effect=args.min_effect)
    shown = in_range if args.all else select_verdicts(in_range)
    open_code = select_verdicts(in_range)
    if args.format != "table":
        _emit(args.format, [v.to_dict() for v in shown], lambda: None)
        return EXIT_FOUND if open_code else EXIT_OK
    if shown:
        _out(verdict_table(shown))
        _out("")
    else:
        _out("No open regressions caused by code.")
    if not args.all:
        hidden = [v for v in in_range if v not in open_code]
        counts = {
            "fixed regression(s)": sum(v.direction == "regression" and v.status == "fixed" for v in hidden),
            "improvement(s)": sum(v.direction == "improvement" for v in hidden),
            "open environment-caused regression(s)": sum(
                v.direction == "regression" and v.status == "open" and v.cause == "environment" for v in hidden),
            "open regression(s) in broad shifts": sum(
                v.direction == "regression" and v.status == "open" and v.cause == "broad-shift" for v in hidden),
        }
        more = ", ".join(f"{n} {what}" for what, n in counts.items() if n)
        _out(textwrap.fill(f"{len(open_code)} open regression(s) caused by code"
                           + (f"; not shown: {more} (--all lists them)." if more else "."), 120))
    else:
        _out(f"{len(in_range)} change(s); {len(open_code)} open regression(s) caused by code.")
    _out(textwrap.fill("q: Benjamini-Hochberg q-value; kind: cp = change point, pair = newest revisions "
                       "compared pairwise; status fixed@C: commit C undid it.", 120))
    return EXIT_FOUND if open_code else EXIT_OK


def _zoo_test_examples() -> int | None:
    """Size of the zoo's test split: the denominator of the error rates ``benchmarks/`` records."""
    from torchperf.zoo import digits_test_examples

    return digits_test_examples()


def cmd_pareto(args: argparse.Namespace) -> int:
    """Pareto plot of one revision of an asv history."""
    from torchperf.history import load_results, resolve_commit
    from torchperf.site.pages import revision_pareto_figure

    df = load_results(_results_dir(args.results_dir), cache=_cache_arg(args))
    commit = resolve_commit(df, args.revision)  # HEAD, HEAD~1, a branch, a tag or a hash prefix
    out = Path(args.output or f"pareto-{commit[:8]}.png")
    paths = revision_pareto_figure(df, commit, out, error_rate_examples=_zoo_test_examples())
    if args.format == "json":
        _print_json({"revision": commit, "files": [str(p) for p in paths]})
        return EXIT_OK
    for p in paths:
        _out(str(p))
    return EXIT_OK


def cmd_publish(args: argparse.Namespace) -> int:
    """Add torchperf's pages to a site made by ``asv publish``."""
    from torchperf.site.pages import publish

    hook, close = _progress_bar("publishing", unit="stage")
    try:
        html_dir = publish(
            html_dir=args.html_dir, results_dir=args.results_dir, offline=args.offline,
            error_rate_examples=_zoo_test_examples(), torchperf_version=__version__, progress=hook,
        )
    finally:
        close()
    _flush_warnings()
    _out(f"published: {Path(html_dir) / 'index.html'}")
    return EXIT_OK


def cmd_leaderboard(args: argparse.Namespace) -> int:
    """The Olympics events of a saved run."""
    from torchperf.leaderboard import format_leaderboard, olympics
    from torchperf.suite import load_run

    run = load_run(args.results)
    board = olympics(run["results"], latency_budget_s=args.latency_budget)
    families = run["protocol"].get("baselines")
    if args.format != "table":
        import dataclasses

        from torchperf.suite import compare_to_baseline

        doc: dict[str, Any] = {
            "events": {ev: [dataclasses.asdict(row) for row in rows] for ev, rows in board.items()}
        }
        if isinstance(families, Mapping) and families:
            fam = {str(k): str(v) for k, v in families.items()}
            doc["family_comparisons"] = [
                c for c in compare_to_baseline(run["results"], "", baselines=fam)
                if fam.get(c["model"]) != c["model"]
            ]  # fmt: skip
        # CSV: one table, the events' rows (table "olympics") then the family comparisons
        flat = [{"table": "olympics", "event": ev, **row} for ev, rows in doc["events"].items() for row in rows]
        flat += [{"table": "family", **c} for c in doc.get("family_comparisons", [])]
        _emit(args.format, flat, lambda: None, doc)
        return EXIT_OK
    _out(format_leaderboard(board))
    if isinstance(families, Mapping) and families:
        from torchperf.leaderboard import format_family_comparisons

        table = format_family_comparisons(
            run["results"], {str(k): str(v) for k, v in families.items()},
            confidence_level=float(run["protocol"].get("confidence_level", 0.95)),
        )  # fmt: skip
        if table:
            _out("")
            _out(table)
    return EXIT_OK


def cmd_doctor(args: argparse.Namespace) -> int:
    """Is this machine fit to benchmark on."""
    from torchperf.environment import collect_environment, noise_checks

    env = collect_environment(include_git=False)
    checks = noise_checks()
    if args.format != "table":
        rows = [c.to_dict() for c in checks]
        _emit(args.format, rows, lambda: None, {"environment": env, "checks": rows})
        return EXIT_OK
    cpu = env.get("cpu", {})
    _out(f"torchperf {__version__} doctor")
    _out(f"machine : {env.get('hostname', '?')} - {env.get('platform', '?')}")
    _out(f"cpu     : {cpu.get('model', '?')} ({cpu.get('logical_cores', '?')} logical cores)")
    _out(f"python  : {env.get('python', {}).get('version', '?')}")
    marks = {"ok": "ok  ", "warn": "WARN", "unknown": "?   "}
    width = max(len(c.name) for c in checks)
    for c in checks:
        _out(f"[{marks.get(c.status, c.status)}] {c.name.ljust(width)}  {c.value}")
        if c.status != "ok" and c.advice:
            _out(f"       {' ' * width}  -> {c.advice}")
    n_warn = sum(c.status == "warn" for c in checks)
    _out(f"\n{n_warn} warning(s)." if n_warn else "\nThis machine looks fit for benchmarking.")
    return EXIT_OK


def cmd_asv_check(args: argparse.Namespace) -> int:
    """List the benchmark types asv will see (plugin import errors are silent in asv)."""
    from torchperf.asvbench.check import asv_check

    report = asv_check(conf_dir=args.conf_dir)
    if args.format != "table":
        _emit(args.format, report["types"], lambda: None, report)
        return EXIT_OK if report["ok"] else EXIT_USAGE
    _out("benchmark types asv will see:")
    for t in report["types"]:
        mark = "ok " if t.get("ok") else "ERR"
        _out(f"  [{mark}] {t['name']:<20} {t['pattern']:<40} ({t['source']})")
    suite = report.get("suite")
    if suite is None:
        _out(f"no asv.conf.json in {args.conf_dir}: only the types were checked.")
    else:
        counts = ", ".join(f"{n} {k}" for k, n in sorted(suite.get("by_type", {}).items()))
        _out(f"suite {suite['benchmark_dir']}: {len(suite.get('benchmarks', []))} benchmarks"
             f" ({counts})")
        for err in suite.get("import_errors", []):
            _err(f"torchperf asv-check: {err.get('module') or 'suite'}: {err.get('error')}")
    env = report.get("environment", {})
    if env.get("error"):
        _err(f"torchperf asv-check: environment: {env['error']}")
    _out("ok" if report["ok"] else "PROBLEMS FOUND (see above)")
    return EXIT_OK if report["ok"] else EXIT_USAGE


def cmd_quickstart(args: argparse.Namespace) -> int:
    """The README's main job: benchmark the zoo, record asv history, publish the site."""
    from torchperf.quickstart import run_quickstart

    hook, close = _progress_bar("benchmarking the zoo")

    machine = args.format != "table"
    record: dict[str, Any] = {}

    def show(text: str) -> None:
        _flush_warnings()  # measurement warnings, aggregated, above the table they concern
        # --format json|csv: stdout carries only the document; the readable summary goes
        # to stderr with the progress lines
        (_err if machine else _out)(text)

    try:
        rc = run_quickstart(
            Path(args.output), say=_err, show=show, progress=hook,
            **({"record": record} if machine else {}),
        )
    finally:
        close()
    if machine and "run" in record:
        doc = {
            **_run_document(record["run"], record.get("files", {})),
            "history": record.get("history"),
            "exit_status": rc,
        }
        _emit(args.format, doc["results"], lambda: None, doc)
    return rc


def _format_seconds(value: float | None) -> str:
    from torchperf.result import format_quantity

    return "-" if value is None else format_quantity(value, "s")


def cmd_ab(args: argparse.Namespace) -> int:
    """Is B slower than A: interleaved, paired, sequential (exit 1 when slower)."""
    import tempfile

    from torchperf.ab import ABSide, ab_compare, checkout_revision

    candidate = args.candidate or args.base
    if not args.candidate and not (args.python_b or args.python_a or args.revisions):
        raise UsageError(
            "give a CANDIDATE target, or compare one target under two interpreters "
            "(--python-a/--python-b) or two commits (--revisions A B)."
        )
    with tempfile.TemporaryDirectory(prefix="torchperf-ab-") as tmp:
        paths: list[tuple[str, ...]] = [(), ()]
        cwds: list[str | None] = [None, None]
        labels = [args.base, candidate]
        if args.revisions:
            for i, rev in enumerate(args.revisions):
                root = checkout_revision(args.repo, rev, Path(tmp) / f"rev{i}")
                src = root / args.src if args.src else root
                if not src.is_dir():
                    raise UsageError(f"--src {args.src!r} is not a directory in revision {rev!r}.")
                paths[i], cwds[i] = (str(src),), str(src)
                labels[i] = f"{labels[i]}@{rev}"
        sides = [
            ABSide(target, python=py, sys_path=paths[i], cwd=cwds[i], input=args.input, label=labels[i])
            for i, (target, py) in enumerate(((args.base, args.python_a), (candidate, args.python_b)))
        ]

        def progress(pair: Any, decision: Any, elapsed: float) -> None:
            hi = "inf" if decision.ci_high == float("inf") else f"{decision.ci_high:.3f}"
            _err(
                f"torchperf ab: pair {pair.index + 1}: B/A {math.exp(pair.log_ratio):.3f}; "
                f"so far {decision.ratio:.3f} [{decision.ci_low:.3f}, {hi}] {decision.verdict} "
                f"({elapsed:.1f} s)"
            )

        result = ab_compare(
            sides[0], sides[1], alpha=args.alpha, margin=args.margin, max_time_s=args.max_time,
            max_pairs=args.max_pairs, blocks_per_pair=args.blocks, clock=args.clock,
            seed=args.seed, timeout_s=args.timeout, progress=None if args.quiet else progress,
        )
    d = result.decision
    if args.format == "json":
        _print_json(result.to_dict())
    else:
        level = 100 * (1 - d.alpha)
        hi = "inf" if d.ci_high == float("inf") else f"{d.ci_high:.3f}"
        row = result.to_dict()
        _out(f"B / A = {d.ratio:.3f}  ({level:g}% confidence sequence [{d.ci_low:.3f}, {hi}])  -> {d.verdict}")
        _out(f"A: {sides[0].name}  {_format_seconds(row['median_base_s'])} per call (median)  "
             f"[{sides[0].to_dict()['python']}]")
        _out(f"B: {sides[1].name}  {_format_seconds(row['median_candidate_s'])} per call (median)  "
             f"[{sides[1].to_dict()['python']}]")
        _out(f"{len(result.pairs)} pairs of fresh processes, {result.blocks} interleaved blocks, "
             f"{result.seconds:.1f} s (stopped: {result.stop_reason}); alpha {d.alpha:g}, "
             f"equivalence margin {100 * d.margin:g}%, clock {args.clock}")
    return EXIT_FOUND if result.regression else EXIT_OK


# --------------------------------------------------------------------------- parser


def build_parser() -> argparse.ArgumentParser:
    """Build the ``torchperf`` argument parser."""
    p = argparse.ArgumentParser(
        prog="torchperf",
        description="Benchmark ML models with statistics you can trust; track history with asv.",
    )
    p.add_argument("--version", action="version", version=f"torchperf {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", required=True)

    r = sub.add_parser(
        "run", help="benchmark the zoo or your own models (module:attribute targets)",
        description="Benchmark the bundled zoo (no TARGET) or your own code: each TARGET is "
        "module:attribute naming a function, an object with forward/predict, a scikit-learn "
        "estimator or a torch.nn.Module (or a list / {name: model} dict of them); the current "
        "directory is importable. Give the input with --input-shape, --example-input or "
        "--dataset.",
    )
    r.add_argument("targets", nargs="*", metavar="TARGET", help="module:attribute (default: the zoo)")
    r.add_argument("--output", "-o", default="benchmark_results", help="output directory")
    r.add_argument("--quick", action="store_true", help="fewer warmup/measurement runs")
    r.add_argument("--warmup", type=_positive_int("--warmup", 0, 10_000), default=5,
                   help="warmup samples per process, discarded (default 5)")
    r.add_argument("--runs", type=_positive_int("--runs", 2, 100_000), default=10,
                   help="measured samples per process (default 10)")
    r.add_argument("--number", type=_number_arg, default="auto", metavar="N|auto",
                   help="calls per timed sample (default auto: calibrated so that timer overhead "
                   "stays below 1%% of a sample)")
    r.add_argument(
        "--processes", type=_positive_int("--processes", 1, 1024), default=DEFAULT_RUN_PROCESSES,
        metavar="N",
        help=f"worker processes per model for latency and throughput (default "
        f"{DEFAULT_RUN_PROCESSES}); comparisons use per-process medians, so 1 makes p-values "
        "optimistic",
    )
    shape = r.add_mutually_exclusive_group()
    shape.add_argument(
        "--input-shape", type=_shape_arg, metavar="SHAPE",
        help="generated input shape including the batch axis, e.g. 1,64 or 1x3x32x32",
    )
    shape.add_argument(
        "--example-input", metavar="FILE", help="a real input: FILE.npy (numpy.save) or "
        "FILE.pt (torch.save of one tensor); first axis = batch",
    )
    r.add_argument(
        "--input-dtype", type=_dtype_arg, metavar="DTYPE",
        help="dtype of the generated input (default float32; int64 gives integers in [0, 10))",
    )
    r.add_argument(
        "--threads", type=_positive_int("--threads", 1, 4096), metavar="N",
        help="BLAS/OpenMP/torch threads, here and in the worker processes (default: the "
        "libraries' own; 1 avoids multithreaded stalls on a busy machine)",
    )
    r.add_argument("--dataset", metavar="MODULE:ATTR",
                   help="(X, y) pair or list of pairs: accuracy, and X times the models unless "
                   "--input-shape/--example-input is given")
    r.add_argument("--baseline", help="reference model name (default: the first)")
    r.add_argument("--seed", type=_positive_int("--seed", 0, 2**31), default=0)
    r.add_argument("--strict", action="store_true", help="stop at the first failing model")
    r.add_argument("--resume", action="store_true", help="measure only what results.json lacks")
    r.add_argument(
        "--metrics", type=_metric_list, metavar="M[,M...]",
        help=f"subset of {','.join(_METRIC_NAMES)} (default: all)",
    )
    r.add_argument(
        "--timeout", type=_positive_float("--timeout"), metavar="SECONDS",
        help="run each model in a worker process and stop it after SECONDS (hangs become failures)",
    )
    r.add_argument(
        "--memory-limit-mb", type=_positive_int("--memory-limit-mb", 16, 2**40 // 2**20),
        metavar="MB", help="address-space limit of the worker processes (POSIX)",
    )
    _add_format(r, what="json: results, comparisons and file paths as one JSON document; csv: "
                "the results, one line per model and metric")
    r.set_defaults(func=cmd_run)

    rp = sub.add_parser("report", help="re-render reports from a saved results.json")
    rp.add_argument("results", metavar="RESULTS.json")
    rp.add_argument("--output", "-o")
    _add_format(rp, what="as for run")
    rp.set_defaults(func=cmd_report)

    c = sub.add_parser("compare", help="compare two saved runs or two asv revisions")
    c.add_argument("a", metavar="A")
    c.add_argument("b", metavar="B")
    c.add_argument("--results-dir")
    _add_format(c, what="json and csv: every comparison, with all its fields")
    c.add_argument("--confidence-level", type=_probability("--confidence-level"), default=0.95)
    c.add_argument("--fdr", type=_probability("--fdr"), default=0.05)
    c.add_argument("--all", action="store_true", help="also list equivalent benchmarks")
    c.add_argument(
        "--threshold", type=_nonneg_float("--threshold"), metavar="F",
        help="results files: smallest relative change called a regression or improvement "
        "(default 0.05)",
    )
    c.add_argument(
        "--factor", type=_positive_float("--factor"), metavar="X",
        help="results files: asv's spelling of the threshold (--factor 1.10 = --threshold 0.10)",
    )
    c.add_argument("--only-changed", action="store_true",
                   help="results files: list only significant regressions and improvements")
    c.add_argument("--split", action="store_true",
                   help="results files: group the table into regressions, improvements, the rest")
    c.add_argument("--sort", choices=("default", "name", "ratio"), default="default",
                   help="results files: row order (ratio: largest slowdown first)")
    c.add_argument(
        "--machine", metavar="NAME",
        help="compare only this machine: asv's machine name for revisions; the hostname (or "
        "asv's machine name) recorded with each result for results files",
    )
    c.add_argument(
        "--env", "--environment", dest="env", metavar="REGEX",
        help="compare only environments matching REGEX (--environment: asv compare's spelling): "
        "asv's environment name for revisions; "
        "py<version>-numpy<version>, the Python executable or asv's environment name for "
        "results files",
    )
    c.add_argument(
        "--explain", action="store_true",
        help="say why `torchperf regressions` (change points) reaches a different verdict on "
        "a series between the same two commits (segment sizes, method, q)",
    )
    _add_cache_args(c)
    c.set_defaults(func=cmd_compare)

    g = sub.add_parser("regressions", help="change points and regressions across asv history")
    g.add_argument("--results-dir")
    g.add_argument(
        "--since", metavar="REV",
        help="only regressions after REV; history from 100 revisions before REV is read",
    )
    _add_format(g)
    g.add_argument(
        "--all", action="store_true",
        help="also list fixed regressions, improvements, environment-caused changes and broad shifts",
    )
    g.add_argument("--fdr", type=_probability("--fdr"), default=0.05,
                   help="false-discovery rate across all series (default 0.05)")
    g.add_argument(
        "--min-effect", type=_nonneg_float("--min-effect"), metavar="FRACTION",
        help="smallest relative change listed (0.05 = 5%%); also the threshold of benchmarks "
        "without a regressions_thresholds entry",
    )
    _add_cache_args(g)
    g.add_argument("--bench", metavar="REGEX", help="load only benchmarks matching REGEX")
    g.add_argument("--machine", metavar="NAME", help="load only this machine's results")
    g.add_argument("--env", metavar="REGEX", help="load only environments matching REGEX")
    g.add_argument(
        "--scheduler", metavar="ADDRESS",
        help="run detection on this Dask scheduler (default: $TORCHPERF_DASK_SCHEDULER; "
        "needs `pip install torchperf[dask]`)",
    )
    g.set_defaults(func=cmd_regressions)

    ca = sub.add_parser("cache", help="show or delete the columnar history cache")
    ca.add_argument("action", choices=("clear", "path"))
    ca.add_argument("--results-dir")
    ca.add_argument("--cache-dir", metavar="DIR", help="this cache directory")
    ca.add_argument("--all", action="store_true", help="every cached results directory")
    _add_format(ca, csv=False, what="json: {\"path\": ...} or {\"removed\": [...]}")
    ca.set_defaults(func=cmd_cache)

    pa = sub.add_parser("pareto", help="Pareto plot of one revision of an asv history")
    pa.add_argument("--results-dir")
    pa.add_argument("--revision", required=True, metavar="REV")
    pa.add_argument("--output", "-o", metavar="FILE")
    _add_cache_args(pa)
    _add_format(pa, csv=False)
    pa.set_defaults(func=cmd_pareto)

    pu = sub.add_parser("publish", help="add torchperf pages to an `asv publish` site")
    pu.add_argument("--html-dir")
    pu.add_argument("--results-dir")
    pu.add_argument("--offline", action="store_true", help="serve asv's JS dependencies locally")
    pu.set_defaults(func=cmd_publish)

    lb = sub.add_parser("leaderboard", help="the Olympics events of a saved run")
    lb.add_argument("results", metavar="RESULTS.json")
    lb.add_argument("--latency-budget", type=_nonneg_float("--latency-budget"), metavar="SECONDS")
    _add_format(lb, what="csv: the events' rows, then the family comparisons (column table)")
    lb.set_defaults(func=cmd_leaderboard)

    d = sub.add_parser("doctor", help="is this machine fit to benchmark on")
    _add_format(d, what="csv: the checks")
    d.set_defaults(func=cmd_doctor)

    a = sub.add_parser("asv-check", help="which torchperf benchmark types asv will see")
    a.add_argument("--conf-dir", default=".", help="directory holding asv.conf.json")
    _add_format(a, what="csv: the benchmark types")
    a.set_defaults(func=cmd_asv_check)

    ab = sub.add_parser(
        "ab", help="is B slower than A: interleaved, paired, sequential A/B (exit 1 when slower)"
    )
    ab.add_argument("base", metavar="BASE", help="module:attribute (a zero-argument callable or a model)")
    ab.add_argument("candidate", metavar="CANDIDATE", nargs="?",
                    help="module:attribute (default: BASE, with --python-a/-b or --revisions)")
    ab.add_argument("--python-a", metavar="PYTHON", help="interpreter (virtualenv) of side A")
    ab.add_argument("--python-b", metavar="PYTHON", help="interpreter (virtualenv) of side B")
    ab.add_argument("--revisions", nargs=2, metavar=("REV_A", "REV_B"),
                    help="measure the target(s) in two git revisions of --repo, interleaved")
    ab.add_argument("--repo", default=".", help="git repository of --revisions (default: .)")
    ab.add_argument("--src", metavar="SUBDIR", help="directory of the revision put on sys.path")
    ab.add_argument("--input", metavar="MODULE:ATTR", help="input of a model target (array or (X, y))")
    ab.add_argument("--margin", type=_positive_float("--margin"), default=0.02,
                    help="equivalence margin (default 0.02: within +-2%%)")
    ab.add_argument("--alpha", type=_probability("--alpha"), default=0.05,
                    help="error rate of the always-valid interval (default 0.05)")
    ab.add_argument("--max-time", type=_positive_float("--max-time"), default=60.0, metavar="SECONDS",
                    help="time budget (default 60 s); stops earlier once the verdict is settled")
    ab.add_argument("--max-pairs", type=_positive_int("--max-pairs", 1), default=10_000)
    ab.add_argument("--blocks", type=_positive_int("--blocks", 1, 10_000), default=20,
                    help="interleaved ABBA/BAAB blocks per pair of processes (default 20)")
    ab.add_argument("--clock", choices=("process", "wall", "thread"), default="process",
                    help="CPU time of the worker (default; one BLAS thread) or wall time")
    ab.add_argument("--seed", type=_positive_int("--seed", 0, 2**31), default=None)
    ab.add_argument("--timeout", type=_positive_float("--timeout"), default=120.0, metavar="SECONDS",
                    help="kill a worker that does not answer within SECONDS")
    _add_format(ab, csv=False, what="json: adds the pairs, blocks, seconds and every pair's ratio")
    ab.add_argument("--quiet", "-q", action="store_true", help="no progress on stderr")
    ab.set_defaults(func=cmd_ab)

    q = sub.add_parser(
        "quickstart",
        help="main job: benchmark the zoo, record asv history for 2 commits x 2 NumPy, publish",
    )
    q.add_argument("--output", "-o", default="torchperf-output")
    _add_format(q, what="json: the zoo's results and comparisons, the history's HEAD~1 -> HEAD "
                "findings and the files written; csv: the zoo's results; the readable summary "
                "then goes to stderr")
    q.set_defaults(func=cmd_quickstart)
    return p


#: Distinct warnings of one category printed before the rest go to a log file.
WARNINGS_SHOWN = 5


_LABELLED = re.compile(r"^\[(?P<label>[^\]]*)\]\s*(?P<text>.*)$", re.DOTALL)
_NUMBER = re.compile(r"[-+]?\d+(?:\.\d+)?(?:e[-+]?\d+)?")

#: Warnings caught so far by :func:`main`; a command flushes them (before its final summary)
#: with :func:`_flush_warnings`, and :func:`main` reports whatever is left at the end.
_CAUGHT: list[warnings.WarningMessage] = []


def _warning_key(category: str, message: str) -> tuple[str, str, str]:
    """Group key of a warning.

    A measurement warning (``[model, metric(, worker process)] text``) is grouped per
    model and metric, whatever its numbers and whichever worker raised it; any other
    warning by its exact message.
    """
    m = _LABELLED.match(message)
    if m is None:
        return category, "", message
    label = ", ".join(p for p in m.group("label").split(", ") if p != "worker process")
    return category, label, _NUMBER.sub("#", m.group("text"))


def _report_warnings(caught: Sequence[warnings.WarningMessage]) -> None:
    """Print each distinct warning once, with how often it occurred (not once per sample).

    Measurement warnings, which name the model and the metric (``[mlp, latency]``,
    one per worker process), are aggregated per model, metric and kind: one line
    ``[mlp, latency] (x3, e.g.): <first message>``. Of each warning category, the
    first :data:`WARNINGS_SHOWN` groups are printed; the rest are counted
    (``... and N more: see LOG``) and every message is written to a log file in
    the temporary directory.
    """
    counts: dict[tuple[str, str], int] = {}
    groups: dict[tuple[str, str, str], list[str]] = {}
    for w in caught:
        key = (w.category.__name__, _cli_advice(str(w.message)))  # advice names CLI flags
        counts[key] = counts.get(key, 0) + 1
        groups.setdefault(_warning_key(*key), []).append(key[1])
    per_category: dict[str, int] = {}
    hidden: dict[str, int] = {}
    for (category, label, _), messages in groups.items():
        n = len(messages)
        per_category[category] = per_category.get(category, 0) + 1
        if per_category[category] > WARNINGS_SHOWN:
            hidden[category] = hidden.get(category, 0) + n
            continue
        if label:
            first = _LABELLED.match(messages[0])
            text = first.group("text") if first else messages[0]
            times = f" (x{n}, e.g.)" if len(set(messages)) > 1 else (f" (x{n})" if n > 1 else "")
            _err(f"torchperf: {category} [{display_name(label, 200)}]{times}: {display_name(text, 2000)}")
        else:
            times = f" (x{n})" if n > 1 else ""
            _err(f"torchperf: {category}{times}: {display_name(messages[0], 2000)}")
    if not hidden:
        return
    log = _write_warning_log(counts)
    for category, n in hidden.items():
        _err(f"torchperf: ... and {n} more {category} warning(s): see {log}")
    total = sum(counts.values())
    _err(f"torchperf: {total} warning(s) in all ({len(counts)} distinct).")


def _flush_warnings() -> None:
    """Report the warnings caught so far (aggregated) and forget them.

    Called before a command's final summary, so the summary is the last thing printed.
    """
    caught = list(_CAUGHT)
    del _CAUGHT[:]
    _report_warnings(caught)


def _write_warning_log(counts: Mapping[tuple[str, str], int]) -> str:
    """Write every distinct warning (with its count) to a new log file; return its path."""
    import tempfile

    try:
        fd, path = tempfile.mkstemp(prefix="torchperf-warnings-", suffix=".log")
        with os.fdopen(fd, "w", encoding="utf-8", errors="backslashreplace") as fh:
            for (category, message), n in counts.items():
                fh.write(f"{category}\t{n}\t{escape_text(message)}\n")
    except OSError as exc:
        return f"(the log could not be written: {exc.strerror or exc})"
    return path


_ERRNO_REMEDIES = {
    errno.ENOSPC: "the file system holding it is full: free some space there, or write to another "
    "directory (--output DIR)",
    errno.EDQUOT: "your disk quota there is used up: free some space, or write to another "
    "directory (--output DIR)",
    errno.EEXIST: "a file is in the way where a directory is needed: remove or rename it, or choose "
    "another --output directory",
    errno.ENOTDIR: "a part of the path is a file, not a directory: fix the path, or choose another "
    "--output directory",
    errno.EACCES: "permission denied: write to a directory you own (--output DIR), or fix the "
    "permissions",
    errno.EPERM: "operation not permitted: write to a directory you own (--output DIR), or fix the "
    "permissions",
    errno.EROFS: "the file system is read-only: write to another directory (--output DIR)",
    errno.ENAMETOOLONG: "the path is too long: use a shorter --output path",
    errno.EISDIR: "it is a directory: pass a file there (for a run, DIR/results.json)",
}


def _os_error_message(exc: OSError) -> str:
    """One line naming the path, what went wrong and what to do."""
    paths = [str(p) for p in (exc.filename, exc.filename2) if p is not None]
    what = exc.strerror or str(exc)
    where = f" ({' -> '.join(paths)})" if paths else ""
    remedy = _ERRNO_REMEDIES.get(exc.errno or -1, "check the path and that its directory is writable")
    saved = (
        " Files already written are complete (atomic writes); `torchperf run --resume` continues "
        "an interrupted run."
        if exc.errno in (errno.ENOSPC, errno.EDQUOT)
        else ""
    )
    return f"{what}{where}: {remedy}.{saved}"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; return the exit status (see the module docstring)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    start = time.perf_counter()
    global _CAUGHT
    caught: list[warnings.WarningMessage] = []
    global _COMMAND
    _COMMAND = args.command
    try:
        with warnings.catch_warnings(record=True) as caught:
            _CAUGHT = caught
            warnings.simplefilter("default")
            return int(args.func(args))
    except KeyboardInterrupt:
        _err("torchperf: interrupted.")
        return EXIT_INTERRUPTED
    except (TorchperfError, InvalidParameterError, MissingDependencyError) as exc:
        _err(f"torchperf {args.command}: error: {_cli_advice(str(exc))}")
        return EXIT_USAGE
    except BrokenPipeError:
        return EXIT_OK
    except OSError as exc:  # unwritable output directory, disk full, ...
        _err(f"torchperf {args.command}: error: {_os_error_message(exc)}")
        return EXIT_USAGE
    finally:
        _report_warnings(caught)
        _CAUGHT = []
        if os.environ.get("TORCHPERF_TIMING"):
            _err(f"torchperf: {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
