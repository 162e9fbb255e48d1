"""Tests for torchperf.environment: provenance and noise checks."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys

import pytest

from torchperf import environment as envmod
from torchperf.environment import (
    THREAD_ENV_VARS,
    NoiseCheck,
    blas_info,
    collect_environment,
    git_info,
    noise_checks,
    package_versions,
)
from torchperf.errors import InvalidParameterError


def test_collect_environment_is_json_ready_and_complete():
    env = collect_environment()
    text = json.dumps(env, allow_nan=False)  # strict JSON
    assert json.loads(text) == env
    for key in ("hostname", "platform", "cpu", "python", "packages", "blas", "thread_env", "timer", "git"):
        assert key in env
    assert env["python"]["version"] == platform.python_version()
    assert env["cpu"]["logical_cores"] == os.cpu_count()
    assert 1 <= env["cpu"]["usable_cores"] <= os.cpu_count()
    assert set(env["thread_env"]) == set(THREAD_ENV_VARS)
    import numpy

    assert env["numpy_imported"] == numpy.__version__
    assert env["packages"]["numpy"] == numpy.__version__


def test_include_git_false_omits_git():
    assert "git" not in collect_environment(include_git=False)


def test_thread_env_records_values(monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    monkeypatch.delenv("MKL_NUM_THREADS", raising=False)
    env = collect_environment(include_git=False)
    assert env["thread_env"]["OMP_NUM_THREADS"] == "3"
    assert env["thread_env"]["MKL_NUM_THREADS"] is None


def test_blas_info_reports_numpy_blas():
    info = blas_info()
    assert info, "threadpoolctl should see NumPy's BLAS"
    blas = [d for d in info if d.get("user_api") == "blas"]
    assert blas
    for entry in blas:
        assert entry["internal_api"] and entry["num_threads"] >= 1
        assert "version" in entry


def test_package_versions_skips_missing():
    versions = package_versions(["numpy", "definitely-not-installed-pkg-xyz"])
    assert "numpy" in versions and "definitely-not-installed-pkg-xyz" not in versions


def test_git_info_outside_and_inside_a_repo(tmp_path):
    assert git_info(tmp_path) is None
    try:
        subprocess.run(["git", "init", "-q", str(tmp_path)], check=True, capture_output=True)
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("git not available")
    (tmp_path / "f.txt").write_text("x")
    git = ["git", "-C", str(tmp_path), "-c", "user.email=t@example.com", "-c", "user.name=t"]
    subprocess.run([*git, "add", "f.txt"], check=True, capture_output=True)
    subprocess.run([*git, "commit", "-q", "-m", "init"], check=True, capture_output=True)
    info = git_info(tmp_path)
    head = subprocess.run([*git, "rev-parse", "HEAD"], check=True, capture_output=True, text=True).stdout.strip()
    assert info == {"commit": head, "branch": info["branch"], "dirty": False}
    (tmp_path / "f.txt").write_text("changed")
    assert git_info(tmp_path)["dirty"] is True


def test_git_absent_is_tolerated(monkeypatch):
    def no_git(*args, **kwargs):
        raise FileNotFoundError("git")

    monkeypatch.setattr(envmod.subprocess, "run", no_git)
    assert git_info() is None
    assert collect_environment()["git"] is None


def test_environment_does_not_import_torch():
    code = (
        "import sys; from torchperf.environment import collect_environment, noise_checks; "
        "collect_environment(); noise_checks(sample_s=0.01); print('torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


EXPECTED = [
    "load_average",
    "cpu_governor",
    "turbo_boost",
    "thread_oversubscription",
    "busy_processes",
    "blas_threads_under_load",
    "timer",
    "aslr",
    "memory",
    "python",
]


def test_noise_checks_shape_and_advice():
    checks = noise_checks(sample_s=0.05)
    assert [c.name for c in checks] == EXPECTED
    for c in checks:
        assert isinstance(c, NoiseCheck)
        assert c.status in {"ok", "warn", "unknown"}
        assert c.value
        if c.status == "warn":
            assert c.advice, c  # a warning always says what to fix
        json.dumps(c.to_dict())


def test_noise_checks_validate():
    for bad in (0, -1, 1e9, "fast"):
        with pytest.raises(InvalidParameterError):
            noise_checks(sample_s=bad)


def test_load_check(monkeypatch):
    monkeypatch.setattr(envmod, "usable_cores", lambda: 4)
    monkeypatch.setattr(envmod.os, "getloadavg", lambda: (3.5, 2.0, 1.0))
    c = envmod._check_load()
    assert c.status == "warn" and "3.50" in c.value and "background" in c.advice
    monkeypatch.setattr(envmod.os, "getloadavg", lambda: (0.2, 0.1, 0.1))
    assert envmod._check_load().status == "ok"


def test_thread_oversubscription_check(monkeypatch):
    monkeypatch.setattr(envmod, "usable_cores", lambda: 2)
    pools = [{"user_api": "blas", "internal_api": "openblas", "num_threads": 16}]
    c = envmod._check_threads(pools)
    assert c.status == "warn" and "OMP_NUM_THREADS" in c.advice and "openblas=16" in c.value
    pools = [
        {"user_api": "blas", "internal_api": "openblas", "num_threads": 2},
        {"user_api": "openmp", "internal_api": "openmp", "num_threads": 2},
    ]
    assert envmod._check_threads(pools).status == "warn"
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    pools = [{"user_api": "blas", "internal_api": "openblas", "num_threads": 1}]
    assert envmod._check_threads(pools).status == "ok"


def test_governor_turbo_and_aslr_checks(monkeypatch, tmp_path):
    files = {
        "/sys/devices/system/cpu/intel_pstate/no_turbo": "0",
        "/proc/sys/kernel/randomize_va_space": "0",
    }
    monkeypatch.setattr(envmod, "_read_text", lambda p: files.get(str(p)))
    assert envmod._check_turbo().status == "warn"
    aslr = envmod._check_aslr()
    assert aslr.status == "warn" and "randomize_va_space" in aslr.advice
    files.clear()
    assert envmod._check_turbo().status == "unknown"
    assert envmod._check_aslr().status == "unknown"
    # governor: fake cpufreq tree
    real_path = envmod.Path
    monkeypatch.setattr(envmod, "Path", lambda p: tmp_path if p == "/sys/devices/system/cpu" else real_path(p))
    gov = tmp_path / "cpu0" / "cpufreq"
    gov.mkdir(parents=True)
    (gov / "scaling_governor").write_text("powersave\n")
    monkeypatch.setattr(envmod, "_read_text", lambda p: open(p).read().strip())
    c = envmod._check_governor()
    assert c.status == "warn" and c.value == "powersave" and "performance" in c.advice


def test_python_check_flags_tracemalloc():
    import tracemalloc

    tracemalloc.start()
    try:
        c = envmod._check_python()
    finally:
        tracemalloc.stop()
    assert c.status == "warn" and "tracemalloc" in c.value


def test_multithreaded_blas_under_load_is_flagged():
    """Regression: 2 OpenBLAS threads on a loaded 2-core box slowed an sklearn fit ~100x."""
    pools = [{"internal_api": "openblas", "num_threads": 2}]
    loaded = envmod._check_blas_under_load(pools, loaded=True)
    assert loaded.status == "warn" and "OPENBLAS_NUM_THREADS=1" in loaded.advice
    assert "openblas=2" in loaded.value
    idle = envmod._check_blas_under_load(pools, loaded=False)
    assert idle.status == "ok" and idle.advice  # still says how to avoid the risk
    single = envmod._check_blas_under_load([{"internal_api": "openblas", "num_threads": 1}], loaded=True)
    if "torch" not in sys.modules:
        assert single.status == "ok"
