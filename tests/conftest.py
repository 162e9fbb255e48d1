"""Shared test setup: the history cache of every test run lives in a temporary folder."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True, scope="session")
def _history_cache_in_tmp(tmp_path_factory):
    """Point ``TORCHPERF_CACHE_DIR`` at a session temp dir (never the user's ~/.cache)."""
    mp = pytest.MonkeyPatch()
    mp.setenv("TORCHPERF_CACHE_DIR", str(tmp_path_factory.mktemp("torchperf-cache")))
    yield
    mp.undo()
