"""System, package and BLAS facts, and checks of whether a machine is fit to benchmark on.

:func:`collect_environment` returns the provenance recorded with every result
(docs/statistics.md#rule-6): machine, CPU, Python, package versions, NumPy's BLAS
(through threadpoolctl), thread settings and the git commit.

:func:`noise_checks` returns :class:`NoiseCheck` records in the spirit of
``pyperf system show``: each says what was found and, when it is a problem,
what to do about it. ``torchperf doctor`` prints them. Nothing here prints.

Heavy packages are never imported just to learn their version
(:mod:`importlib.metadata` is used); NumPy is imported by :func:`blas_info`
because threadpoolctl can only see BLAS libraries that are loaded.
"""

from __future__ import annotations

import datetime as _dt
import os
import platform
import socket
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from importlib import metadata
from pathlib import Path
from typing import Any, Literal

__all__ = [
    "PACKAGES",
    "THREAD_ENV_VARS",
    "NoiseCheck",
    "blas_info",
    "collect_environment",
    "cpu_model",
    "environment_facts",
    "git_info",
    "noise_checks",
    "package_versions",
    "thread_settings",
    "usable_cores",
]

#: Distributions whose versions are recorded (when installed).
PACKAGES = (
    "torchperf",
    "numpy",
    "scipy",
    "pandas",
    "torch",
    "scikit-learn",
    "threadpoolctl",
    "psutil",
    "matplotlib",
    "asv",
    "asv_runner",
)

#: Environment variables that set thread-pool sizes.
THREAD_ENV_VARS = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "BLIS_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "NUMEXPR_NUM_THREADS",
    "OMP_PROC_BIND",
    "OMP_PLACES",
    "KMP_AFFINITY",
    "GOMP_CPU_AFFINITY",
)

Status = Literal["ok", "warn", "unknown"]


@dataclass(frozen=True)
class NoiseCheck:
    """One finding about the machine's fitness for benchmarking.

    Attributes
    ----------
    name : str
        Short identifier, e.g. ``"load_average"``.
    status : {"ok", "warn", "unknown"}
        ``unknown`` when the fact could not be read (e.g. ``/sys`` hidden in a container).
    value : str
        What was found, human-readable.
    advice : str
        What to do about it (empty when nothing needs doing).

    """

    name: str
    status: Status
    value: str
    advice: str = ""

    def to_dict(self) -> dict[str, str]:
        """Return a JSON-ready dict."""
        return asdict(self)


# ----------------------------------------------------------------------------- facts
def usable_cores() -> int:
    """CPUs this process may run on (affinity mask), falling back to ``os.cpu_count()``.

    Returns
    -------
    int

    """
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def _read_text(path: str | Path) -> str | None:
    try:
        return Path(path).read_text(encoding="utf-8", errors="replace").strip()
    except OSError:
        return None


def cpu_model() -> str:
    """Human-readable CPU model name, or ``""`` when unknown.

    Returns
    -------
    str

    """
    if sys.platform.startswith("linux"):
        text = _read_text("/proc/cpuinfo") or ""
        for key in ("model name", "Hardware", "Processor", "cpu model"):
            for line in text.splitlines():
                if line.startswith(key) and ":" in line:
                    return line.split(":", 1)[1].strip()
    if sys.platform == "darwin":
        try:
            out = subprocess.run(
                ["sysctl", "-n", "machdep.cpu.brand_string"],
                capture_output=True,
                text=True,
                timeout=5,
                check=False,
            )
            if out.returncode == 0 and out.stdout.strip():
                return out.stdout.strip()
        except (OSError, subprocess.SubprocessError):
            pass
    return platform.processor() or ""


def package_versions(packages: Sequence[str] = PACKAGES) -> dict[str, str]:
    """Installed versions of ``packages`` from distribution metadata (nothing is imported).

    Parameters
    ----------
    packages : sequence of str
        Distribution names.

    Returns
    -------
    dict
        ``{name: version}`` for the installed ones.

    """
    out: dict[str, str] = {}
    for name in packages:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return out


def blas_info() -> list[dict[str, Any]]:
    """Thread pools and BLAS libraries loaded in this process (via threadpoolctl).

    NumPy is imported first so that its BLAS is loaded. Each entry has
    ``user_api`` (``"blas"``/``"openmp"``), ``internal_api`` (``"openblas"``,
    ``"mkl"``, ``"blis"``, ...), ``version``, ``num_threads``, ``filepath`` and,
    where threadpoolctl reports them, ``architecture`` and ``threading_layer``.

    Returns
    -------
    list of dict
        Empty when threadpoolctl is unavailable.

    """
    try:
        import numpy  # noqa: F401 - loads NumPy's BLAS so threadpoolctl can see it
        from threadpoolctl import threadpool_info
    except ImportError:
        return []
    keys = (
        "user_api",
        "internal_api",
        "prefix",
        "version",
        "num_threads",
        "architecture",
        "threading_layer",
        "filepath",
    )
    return [{k: info.get(k) for k in keys if k in info} for info in threadpool_info()]


def thread_settings() -> dict[str, Any]:
    """The thread pools of this process as they are now: torch, BLAS/OpenMP, variables.

    torch's intra-op pool (``torch.get_num_threads``, set by ``torch.set_num_threads``)
    is recorded beside the BLAS and OpenMP pools threadpoolctl sees, so a result says
    how many threads computed it. torch is never imported here.

    Returns
    -------
    dict
        ``torch`` (``{"num_threads", "num_interop_threads"}``, or None when torch is not
        imported), ``pools`` (``{prefix-or-api: num_threads}`` of every BLAS / OpenMP
        pool loaded) and ``env`` (the set :data:`THREAD_ENV_VARS`).

    """
    torch_info: dict[str, int] | None = None
    torch = sys.modules.get("torch")
    if torch is not None:
        try:
            torch_info = {
                "num_threads": int(torch.get_num_threads()),
                "num_interop_threads": int(torch.get_num_interop_threads()),
            }
        except Exception:  # a half-imported or broken torch
            torch_info = None
    pools: dict[str, int | None] = {}
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        threadpool_info = None
    if threadpool_info is not None:
        for info in threadpool_info():
            key = str(info.get("prefix") or info.get("internal_api") or info.get("user_api"))
            pools[key] = info.get("num_threads")
    env = {k: os.environ[k] for k in THREAD_ENV_VARS if k in os.environ}
    return {"torch": torch_info, "pools": pools, "env": env}


def git_info(path: str | os.PathLike[str] | None = None) -> dict[str, Any] | None:
    """Commit, branch and dirty flag of the git checkout containing ``path``.

    Parameters
    ----------
    path : path-like, optional
        Directory inside the repository (default: current directory).

    Returns
    -------
    dict or None
        ``{"commit", "branch", "dirty"}``; None outside a repository or without git.

    """
    cwd = str(path) if path is not None else os.getcwd()

    def git(*args: str) -> str | None:
        try:
            out = subprocess.run(
                ["git", *args],
                cwd=cwd,
                capture_output=True,
                text=True,
                timeout=10,
                check=False,
            )
        except (OSError, subprocess.SubprocessError):
            return None
        return out.stdout.strip() if out.returncode == 0 else None

    commit = git("rev-parse", "HEAD")
    if not commit:
        return None
    branch = git("rev-parse", "--abbrev-ref", "HEAD")
    status = git("status", "--porcelain", "--untracked-files=no")
    return {"commit": commit, "branch": branch, "dirty": bool(status) if status is not None else None}


def _python_info() -> dict[str, Any]:
    return {
        "version": platform.python_version(),
        "implementation": platform.python_implementation(),
        "compiler": platform.python_compiler(),
        "build": list(platform.python_build()),
        "executable": sys.executable,
        "debug_build": hasattr(sys, "gettotalrefcount"),
    }


def collect_environment(*, include_git: bool = True) -> dict[str, Any]:
    """Collect the provenance recorded with every result (JSON-ready).

    Parameters
    ----------
    include_git : bool
        Record the git commit of the current directory's checkout (if any).

    Returns
    -------
    dict
        Keys: ``collected_at``, ``hostname``, ``platform``, ``system``,
        ``release``, ``machine``, ``cpu`` (model, logical/physical/usable
        cores, max frequency), ``memory_total_bytes``, ``python``, ``packages``
        (installed versions), ``numpy_imported`` (the version actually
        imported), ``blas`` (:func:`blas_info`), ``thread_env`` (all of
        :data:`THREAD_ENV_VARS`, None when unset), ``torch`` (threads, CUDA;
        only when torch is already imported), ``threads`` (:func:`thread_settings`:
        torch's intra-op / inter-op threads beside every BLAS/OpenMP pool), ``timer`` (perf_counter's
        implementation and resolution), ``asv`` (``ASV_*`` variables), and
        ``git`` when requested.

    Examples
    --------
    >>> env = collect_environment(include_git=False)
    >>> sorted(env)[:3]
    ['asv', 'blas', 'collected_at']

    """
    cpu: dict[str, Any] = {
        "model": cpu_model(),
        "logical_cores": os.cpu_count(),
        "usable_cores": usable_cores(),
        "physical_cores": None,
        "max_frequency_mhz": None,
    }
    memory_total = None
    try:
        import psutil

        cpu["physical_cores"] = psutil.cpu_count(logical=False)
        try:
            freq = psutil.cpu_freq()
            if freq is not None and freq.max:
                cpu["max_frequency_mhz"] = float(freq.max)
        except (OSError, NotImplementedError, AttributeError):
            pass
        memory_total = int(psutil.virtual_memory().total)
    except ImportError:
        pass
    blas = blas_info()
    numpy_mod = sys.modules.get("numpy")
    clock = time.get_clock_info("perf_counter")
    env: dict[str, Any] = {
        "collected_at": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "hostname": socket.gethostname(),
        "platform": platform.platform(),
        "system": platform.system(),
        "release": platform.release(),
        "machine": platform.machine(),
        "cpu": cpu,
        "memory_total_bytes": memory_total,
        "python": _python_info(),
        "packages": package_versions(),
        "numpy_imported": getattr(numpy_mod, "__version__", None),
        "blas": blas,
        "thread_env": {name: os.environ.get(name) for name in THREAD_ENV_VARS},
        "timer": {
            "function": "time.perf_counter_ns",
            "implementation": clock.implementation,
            "resolution_s": clock.resolution,
            "monotonic": clock.monotonic,
        },
        "asv": {k: v for k, v in sorted(os.environ.items()) if k.startswith("ASV_")},
    }
    torch = sys.modules.get("torch")
    if torch is not None:
        try:
            env["torch"] = {
                "version": str(torch.__version__),
                "num_threads": int(torch.get_num_threads()),
                "num_interop_threads": int(torch.get_num_interop_threads()),
                "cuda_available": bool(torch.cuda.is_available()),
                "cuda_version": getattr(torch.version, "cuda", None),
            }
        except Exception as exc:  # a broken torch must not break provenance
            env["torch"] = {"error": f"{type(exc).__name__}: {exc}"}
    env["threads"] = thread_settings()
    if include_git:
        env["git"] = git_info()
    return env


# ----------------------------------------------------------------------------- noise checks
def _check_load() -> NoiseCheck:
    try:
        load1, load5, _ = os.getloadavg()
    except (AttributeError, OSError):
        return NoiseCheck("load_average", "unknown", "not available on this platform")
    cores = usable_cores()
    value = f"{load1:.2f} (1 min), {load5:.2f} (5 min) on {cores} usable cores"
    if load1 > 0.5 * cores:
        return NoiseCheck(
            "load_average",
            "warn",
            value,
            "other work is competing for the CPUs: stop background jobs (builds, browsers, "
            "other benchmarks) or wait until the 1-minute load is below half the core count",
        )
    return NoiseCheck("load_average", "ok", value)


def _check_governor() -> NoiseCheck:
    paths = sorted(Path("/sys/devices/system/cpu").glob("cpu[0-9]*/cpufreq/scaling_governor"))
    governors = {g for g in (_read_text(p) for p in paths) if g}
    if not governors:
        return NoiseCheck(
            "cpu_governor",
            "unknown",
            "scaling_governor not readable (no cpufreq in /sys: container, VM or non-Linux)",
            "on bare metal, check that the governor is 'performance' "
            "(`cpupower frequency-set -g performance`)",
        )
    value = ", ".join(sorted(governors))
    if governors != {"performance"}:
        return NoiseCheck(
            "cpu_governor",
            "warn",
            value,
            "frequency scaling changes speed between runs: set the governor to performance "
            "(`sudo cpupower frequency-set -g performance` or `python -m pyperf system tune`)",
        )
    return NoiseCheck("cpu_governor", "ok", value)


def _check_turbo() -> NoiseCheck:
    no_turbo = _read_text("/sys/devices/system/cpu/intel_pstate/no_turbo")
    if no_turbo is not None:
        if no_turbo == "0":
            return NoiseCheck(
                "turbo_boost",
                "warn",
                "Intel turbo boost enabled",
                "turbo frequency depends on temperature and other cores' load: disable it "
                "(`echo 1 | sudo tee /sys/devices/system/cpu/intel_pstate/no_turbo`)",
            )
        return NoiseCheck("turbo_boost", "ok", "Intel turbo boost disabled")
    boost = _read_text("/sys/devices/system/cpu/cpufreq/boost")
    if boost is not None:
        if boost == "1":
            return NoiseCheck(
                "turbo_boost",
                "warn",
                "CPU boost enabled",
                "boost frequency varies with temperature and load: disable it "
                "(`echo 0 | sudo tee /sys/devices/system/cpu/cpufreq/boost`)",
            )
        return NoiseCheck("turbo_boost", "ok", "CPU boost disabled")
    return NoiseCheck(
        "turbo_boost",
        "unknown",
        "boost setting not readable (no intel_pstate/cpufreq in /sys)",
        "on bare metal, disable turbo/boost for stable timings",
    )


def _check_threads(blas: list[dict[str, Any]] | None = None) -> NoiseCheck:
    cores = usable_cores()
    pools = blas if blas is not None else blas_info()
    env_set = {k: os.environ[k] for k in THREAD_ENV_VARS[:6] if k in os.environ}
    parts = [f"{p.get('internal_api')}={p.get('num_threads')}" for p in pools]
    torch = sys.modules.get("torch")
    torch_threads = None
    if torch is not None:
        try:
            torch_threads = int(torch.get_num_threads())
            parts.append(f"torch={torch_threads}")
        except Exception:
            torch_threads = None
    env_text = ", ".join(f"{k}={v}" for k, v in env_set.items()) or "no thread variables set"
    value = f"{', '.join(parts) or 'no thread pools found'}; {env_text}; {cores} usable cores"
    counts = [int(p.get("num_threads") or 0) for p in pools]
    if torch_threads:
        counts.append(torch_threads)
    over = [c for c in counts if c > cores]
    distinct_libs = {p.get("internal_api") for p in pools if (p.get("num_threads") or 0) > 1}
    if over:
        return NoiseCheck(
            "thread_oversubscription",
            "warn",
            value,
            f"a thread pool has more threads than the {cores} usable cores: set "
            f"OMP_NUM_THREADS / OPENBLAS_NUM_THREADS / MKL_NUM_THREADS to at most {cores} "
            "(1 for single-sample latency) before starting Python",
        )
    if len(distinct_libs) > 1 and sum(counts) > cores:
        return NoiseCheck(
            "thread_oversubscription",
            "warn",
            value,
            f"several multithreaded pools ({', '.join(sorted(map(str, distinct_libs)))}) can run "
            f"at once on {cores} cores: limit each (e.g. OMP_NUM_THREADS=1) or use threadpoolctl",
        )
    if not env_set and any(c > 1 for c in counts):
        return NoiseCheck(
            "thread_oversubscription",
            "ok",
            value,
            "thread counts come from library defaults; set OMP_NUM_THREADS etc. explicitly "
            "so runs on other machines are comparable",
        )
    return NoiseCheck("thread_oversubscription", "ok", value)


def _check_busy_processes(sample_s: float) -> NoiseCheck:
    try:
        import psutil
    except ImportError:
        return NoiseCheck(
            "busy_processes", "unknown", "psutil not installed", "`pip install psutil` to check"
        )
    me = os.getpid()
    procs = []
    for proc in psutil.process_iter(["pid", "name"]):
        if proc.info["pid"] == me:
            continue
        try:
            proc.cpu_percent(None)
            procs.append(proc)
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
    time.sleep(sample_s)
    busy = []
    for proc in procs:
        try:
            pct = proc.cpu_percent(None)
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
        if pct >= 10.0:
            busy.append((pct, proc.info["name"] or "?", proc.info["pid"]))
    busy.sort(reverse=True)
    if busy:
        listed = ", ".join(f"{name} (pid {pid}, {pct:.0f}%)" for pct, name, pid in busy[:5])
        return NoiseCheck(
            "busy_processes",
            "warn",
            f"{len(busy)} other process(es) using >= 10% CPU over {sample_s:g} s: {listed}",
            "stop or pause these processes while benchmarking, or pin the benchmark to other "
            "cores (taskset / os.sched_setaffinity)",
        )
    return NoiseCheck(
        "busy_processes", "ok", f"no other process used >= 10% CPU over {sample_s:g} s"
    )


def _check_timer() -> NoiseCheck:
    from torchperf.timing import clock_pair_gap_s, timer_resolution_s

    info = time.get_clock_info("perf_counter")
    measured = timer_resolution_s()
    gap = clock_pair_gap_s(5_001)
    value = (
        f"perf_counter via {info.implementation}, declared resolution {info.resolution:.0e} s, "
        f"smallest observed increment {measured * 1e9:.0f} ns, median back-to-back "
        f"call gap {gap * 1e9:.0f} ns"
    )
    if not info.monotonic or measured > 1e-6 or gap > 1e-6:
        return NoiseCheck(
            "timer",
            "warn",
            value,
            "the timer is coarse or slow (virtualised clock source?): use number='auto' so "
            "samples last >= 100x the overhead; on Linux prefer the tsc clocksource",
        )
    return NoiseCheck("timer", "ok", value)


def _check_aslr() -> NoiseCheck:
    value = _read_text("/proc/sys/kernel/randomize_va_space")
    if value is None:
        return NoiseCheck("aslr", "unknown", "randomize_va_space not readable")
    meaning = {"0": "disabled", "1": "partial", "2": "full"}.get(value, value)
    if value == "0":
        return NoiseCheck(
            "aslr",
            "warn",
            f"address-space randomization {meaning}",
            "every process gets the same memory layout, so a layout-dependent bias is the "
            "same in all replicates; re-enable ASLR (`sysctl kernel.randomize_va_space=2`) "
            "and replicate across processes",
        )
    return NoiseCheck(
        "aslr",
        "ok",
        f"address-space randomization {meaning} ({value})",
        "layout varies per process: replicate across processes (measure_in_processes) "
        "so layout effects average out",
    )


def _check_memory() -> NoiseCheck:
    try:
        import psutil
    except ImportError:
        return NoiseCheck("memory", "unknown", "psutil not installed")
    vm = psutil.virtual_memory()
    swap = psutil.swap_memory()
    value = (
        f"{vm.available / 2**30:.1f} GiB available of {vm.total / 2**30:.1f} GiB; "
        f"swap used {swap.used / 2**30:.1f} GiB"
    )
    if vm.available < 0.1 * vm.total:
        return NoiseCheck(
            "memory",
            "warn",
            value,
            "less than 10% of memory is free: paging will distort timings; close programs "
            "or use a smaller batch",
        )
    return NoiseCheck("memory", "ok", value)


def _check_python() -> NoiseCheck:
    import tracemalloc

    issues = []
    if hasattr(sys, "gettotalrefcount"):
        issues.append("debug build")
    if sys.flags.dev_mode:
        issues.append("-X dev mode")
    if tracemalloc.is_tracing():
        issues.append("tracemalloc is tracing")
    if os.environ.get("PYTHONMALLOC"):
        issues.append(f"PYTHONMALLOC={os.environ['PYTHONMALLOC']}")
    if sys.gettrace() is not None:
        issues.append("a trace function (debugger/coverage) is active")
    value = f"{platform.python_implementation()} {platform.python_version()}"
    if issues:
        return NoiseCheck(
            "python",
            "warn",
            f"{value}: {', '.join(issues)}",
            "these slow Python down unevenly: benchmark in a plain release interpreter "
            "without coverage, debuggers, -X dev or tracemalloc",
        )
    return NoiseCheck("python", "ok", value)


def noise_checks(*, sample_s: float = 0.25) -> list[NoiseCheck]:
    """Check whether this machine is fit to benchmark on.

    Checks: ``load_average``, ``cpu_governor``, ``turbo_boost``,
    ``thread_oversubscription`` (BLAS/OpenMP/torch thread pools vs usable
    cores), ``busy_processes`` (other processes' CPU use sampled over
    ``sample_s``), ``blas_threads_under_load`` (a multithreaded BLAS/OpenMP
    pool while the load or a busy process competes for cores: every call
    waits for its descheduled threads), ``timer`` (declared and measured resolution), ``aslr``,
    ``memory`` and ``python`` (debug build, tracing). Facts that cannot be read
    are reported as ``unknown``, never guessed.

    Parameters
    ----------
    sample_s : float
        Seconds over which other processes' CPU use is sampled.

    Returns
    -------
    list of NoiseCheck
        In a fixed order; ``advice`` says what to fix.

    """
    if not (isinstance(sample_s, (int, float)) and 0 < sample_s <= 60):
        from torchperf.errors import InvalidParameterError

        raise InvalidParameterError(f"`sample_s` must be in (0, 60] seconds; got {sample_s!r}.")
    pools = blas_info()
    load = _check_load()
    busy = _check_busy_processes(float(sample_s))
    return [
        load,
        _check_governor(),
        _check_turbo(),
        _check_threads(pools),
        busy,
        _check_blas_under_load(pools, loaded=load.status == "warn" or busy.status == "warn"),
        _check_timer(),
        _check_aslr(),
        _check_memory(),
        _check_python(),
    ]


def _check_blas_under_load(pools: list[dict[str, Any]], *, loaded: bool) -> NoiseCheck:
    """Multithreaded BLAS/OpenMP on a loaded machine: threads wait for descheduled peers."""
    multi = [
        f"{p.get('internal_api')}={p.get('num_threads')}"
        for p in pools
        if int(p.get("num_threads") or 0) > 1
    ]
    torch = sys.modules.get("torch")
    if torch is not None:
        try:
            if int(torch.get_num_threads()) > 1:
                multi.append(f"torch={int(torch.get_num_threads())}")
        except Exception:
            pass
    if not multi:
        return NoiseCheck(
            "blas_threads_under_load", "ok", "BLAS/OpenMP pools are single-threaded"
        )
    value = ", ".join(multi) + (" while the machine is busy" if loaded else " (machine idle now)")
    advice = (
        "a multithreaded BLAS/OpenMP call waits for its slowest thread; when another process "
        "takes a core, every call stalls (an sklearn fit with 2 OpenBLAS threads ran ~100x "
        "slower under load on a 2-core machine): benchmark single-threaded "
        "(OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1, or "
        "threadpoolctl.threadpool_limits(1)) unless multithreading is what you measure, "
        "and then on an idle machine"
    )
    if loaded:
        return NoiseCheck("blas_threads_under_load", "warn", value, advice)
    return NoiseCheck("blas_threads_under_load", "ok", value, advice)


def environment_facts(env: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Pick the human-relevant facts from :func:`collect_environment` output (tolerant of layout).

    Parameters
    ----------
    env : Mapping
        An environment as recorded in a run (older layouts and asv's facts are read too).

    Returns
    -------
    list of (str, str)
        ``(label, value)`` in display order: ``machine``, ``platform``, ``CPU``, ``cores``,
        ``Python``, ``NumPy``, ``BLAS``, ``thread settings``, ``torch``, ``torchperf``,
        ``timer``, ``git commit``; a fact that was not recorded is left out.

    """

    def get(*paths: str) -> Any:
        for path in paths:
            node: Any = env
            for part in path.split("."):
                if isinstance(node, Mapping) and part in node:
                    node = node[part]
                else:
                    node = None
                    break
            if node not in (None, "", [], {}):
                return node
        return None

    facts: list[tuple[str, str]] = []

    def add(label: str, value: Any) -> None:
        if value is not None:
            facts.append((label, str(value)))

    host, arch = get("hostname", "node"), get("machine")
    add("machine", f"{host} ({arch})" if host and arch else (host or arch))
    add("platform", get("platform.platform", "platform", "system", "os"))
    add("CPU", get("cpu.model", "cpu.brand", "cpu.name", "cpu", "processor", "platform.processor"))
    cores = get("cpu.logical_cores", "cores.logical", "logical_cores", "cpu_count", "cores")
    physical = get("cpu.physical_cores", "cores.physical", "physical_cores")
    if cores is not None:
        add("cores", f"{cores} logical" + (f", {physical} physical" if physical is not None else ""))
    add("Python", get("python.version", "python_version", "python"))
    add("NumPy", get("numpy_imported", "packages.numpy", "numpy.version", "numpy_version", "numpy"))
    blas = get("blas", "threadpoolctl")
    if isinstance(blas, (list, tuple)) and blas:
        parts = []
        for lib in blas:
            if isinstance(lib, Mapping):
                name = lib.get("internal_api") or lib.get("name") or lib.get("user_api") or "?"
                version = lib.get("version") or "?"
                threads = lib.get("num_threads", "?")
                parts.append(f"{name} {version} ({threads} threads)")
        add("BLAS", "; ".join(parts) if parts else None)
    elif blas is not None:
        add("BLAS", blas)
    threads = get("thread_env", "threads", "env_threads")
    if isinstance(threads, Mapping):
        shown = ", ".join(f"{k}={v}" for k, v in threads.items() if v not in (None, ""))
        add("thread settings", shown or "none set")
    add("torch", get("packages.torch"))
    add("torchperf", get("packages.torchperf", "torchperf_version"))
    timer = get("timer.function")
    if timer is not None:
        res = get("timer.resolution_s")
        add("timer", f"{timer}" + (f" (resolution {res:g} s)" if isinstance(res, (int, float)) else ""))
    commit = get("git.commit", "git_commit", "commit")
    if commit is not None:
        add("git commit", f"{commit}" + (" (dirty)" if get("git.dirty") is True else ""))
    return facts
