"""The published site in headless Chromium with the internet blocked (issue 7, Done-when 4).

A synthetic zoo history (``tools/check_site.py make_demo_history``: two NumPy
environments, a latency regression, model names that try HTML/JS injection)
goes through the real ``asv publish``, then ``torchperf publish --offline``;
``tools/check_site.py`` serves it on 127.0.0.1 and drives Chromium over the
DevTools protocol. Needs ``/usr/bin/chromium`` (``tools/install-chromium.sh``)
and, once, the npm registry (or a warm ``$TORCHPERF_CACHE_DIR``).
"""

from __future__ import annotations

import shutil
import warnings
from pathlib import Path

import pytest
from tooling import load_tool

from torchperf.errors import MissingDependencyError

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    tool = load_tool("check_site")
    if tool.find_chromium() is None:
        pytest.skip("Chromium not installed; run tools/install-chromium.sh")
    root = tmp_path_factory.mktemp("site")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            html = tool.build_demo_site(root / "repo", offline=True, commits=20)
    except MissingDependencyError as exc:
        if "cannot fetch" in str(exc) or "cannot download" in str(exc):
            pytest.skip(f"npm registry unreachable and asv's JS not cached: {exc}")
        raise
    return tool, html


def test_site_renders_offline_without_console_errors(site):
    tool, html = site
    result = tool.check_site(html, require_text=[tool.EVIL_MODEL, tool.EVIL_PARAM])
    assert result["problems"] == []
    pages = result["pages"]
    assert pages["asv index"]["flot_canvases"] > 0
    assert pages["asv graph"]["graph_canvases"] > 0
    assert pages["asv index"]["nav_torchperf"]
    assert "error.html" not in pages["asv index"]["url"]
    names = set(pages)
    assert {"torchperf/index.html", "torchperf/regressions.html", "torchperf/environments.html"} <= names
    per_rev = [n for n in names if n.startswith("torchperf/pareto-") and n != "torchperf/pareto-history.html"]
    assert len(per_rev) == 2
    for name in per_rev:
        assert len(pages[name]["images"]) == 4  # 2 environments x (error rate, memory)
        # injected names rendered as literal text, no element carries an event handler
        assert tool.EVIL_MODEL in pages[name]["text"] and tool.EVIL_PARAM in pages[name]["text"]
        assert pages[name]["event_handlers"] == [] and pages[name]["scripts"] == 0
        assert pages[name]["dialogs"] == []
    reg = pages["torchperf/regressions.html"]["text"]
    assert "mlp-int8" in reg and "regression" in reg  # the injected 30% step is found
    env = pages["torchperf/environments.html"]["text"]
    assert "numpy2.4.6" in env and "openblas" in env and "0.3.29" in env


def test_check_fails_when_asv_needs_the_internet(site, tmp_path):
    """Negative control: the same site with asv's original CDN tags fails the check."""
    import asv

    tool, html = site
    copy = tmp_path / "html"
    shutil.copytree(html, copy)
    original = (Path(asv.__file__).parent / "www" / "index.html").read_text(encoding="utf-8")
    (copy / "index.html").write_text(original)
    result = tool.check_site(copy, timeout_s=8)
    problems = "\n".join(result["problems"])
    assert "error.html" in problems or "no flot graph" in problems
    assert "navigation bar has no link" in problems
