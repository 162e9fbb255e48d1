"""Shared test setup.

* The history cache of every test run lives in a temporary folder.
* The trials/failures table of the reliability run (``pytest -m reliability``): every
  test marked ``reliability`` is one row (trials and failures as it records them with
  ``record_property``); the table is printed at the end of the session (the figures of
  docs/reliability.md).
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


def pytest_runtest_logreport(report: Any) -> None:
    """Record one row per test marked ``reliability``.

    Trials: the number of ``record_property("example", 1)`` calls (hypothesis
    examples), else a ``record_property("trials", n)``, else 1 (one scenario).
    Failures: a ``record_property("failures", n)``, else 1 if the test failed.
    """
    if "reliability" not in report.keywords:
        return
    if report.when == "call" or (report.when == "setup" and not report.passed):
        props: dict[str, Any] = {}
        examples = 0
        for key, value in report.user_properties:
            if key == "example":
                examples += 1
            else:
                props[key] = value
        trials = examples or int(props.get("trials", 1))
        failures = int(props.get("failures", 0 if report.passed else 1))
        if report.failed and failures == 0:
            failures = 1
        _ROWS.append(
            {
                "check": report.nodeid.split("/")[-1],
                "trials": trials if not report.skipped else 0,
                "failures": failures,
                "results lost": props.get("results lost", ""),
                "detail": "skipped" if report.skipped else props.get("detail", ""),
            }
        )


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
    tr.write_line(f"{len(_ROWS)} checks, {total} trials, {failed} failures")
