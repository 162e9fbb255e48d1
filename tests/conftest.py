"""Shared test setup.

* The history cache of every test run lives in a temporary folder.
* The trials/failures table of the reliability run (``pytest -m reliability``): tests
  marked ``reliability`` add one row per check to ``reliability_table``; the table is
  printed at the end of the session (the figures of docs/reliability.md).
"""

from __future__ import annotations

from typing import Any

import pytest


@pytest.fixture(autouse=True, scope="session")
def _history_cache_in_tmp(tmp_path_factory):
    """Point ``TORCHPERF_CACHE_DIR`` at a session temp dir (never the user's ~/.cache)."""
    mp = pytest.MonkeyPatch()
    mp.setenv("TORCHPERF_CACHE_DIR", str(tmp_path_factory.mktemp("torchperf-cache")))
    yield
    mp.undo()


_ROWS: list[dict[str, Any]] = []


@pytest.fixture
def reliability_table() -> list[dict[str, Any]]:
    """Rows ``{"check", "trials", "failures", ...}`` for the closing table."""
    return _ROWS


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Print the trials/failures table when any reliability check ran."""
    if not _ROWS:
        return
    columns = ["check", "trials", "failures", "results lost", "detail"]
    cells = [[str(row.get(c, "")) for c in columns] for row in _ROWS]
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(columns)]
    tr = terminalreporter
    tr.section("reliability trials")
    tr.write_line("| " + " | ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)) + " |")
    tr.write_line("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for r in cells:
        tr.write_line("| " + " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) + " |")
    total = sum(int(row.get("trials", 0)) for row in _ROWS)
    failed = sum(int(row.get("failures", 0)) for row in _ROWS)
    tr.write_line(f"{total} trials, {failed} failures")


@pytest.fixture(autouse=True, scope="session")
def _short_measuring_window():
    """Tests measure with a 5 ms window instead of timing.DEFAULT_WINDOW_S (0.2 s), to stay fast.

    Benchmark reads the default when it is constructed, so every Benchmark and suite made in
    a test (and the worker processes they start, which receive the resolved value) use it.
    Tests of the window rule pass ``window_s`` explicitly.
    """
    from torchperf import timing

    mp = pytest.MonkeyPatch()
    mp.setattr(timing, "DEFAULT_WINDOW_S", 0.005)
    yield
    mp.undo()
