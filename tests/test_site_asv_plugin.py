"""The optional asv publisher plugin, end to end: a real ``asv publish`` writes torchperf's pages.

The plugin is off in this repository's ``asv.conf.json`` (the quickstart runs
``torchperf publish --offline`` after ``asv publish`` instead); docs/site.md says how to
enable it. This test enables it in a synthetic asv project (``tools/check_site.py``) and
runs asv itself, so the module path in the docs, asv's plugin discovery and the hook
signature are all exercised.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from tooling import load_tool

ROOT = Path(__file__).resolve().parents[1]

pytest.importorskip("asv")
pytest.importorskip("matplotlib")


def _docs_plugin_entry() -> list[str]:
    text = (ROOT / "docs" / "site.md").read_text(encoding="utf-8")
    start = text.index('"plugins": [')
    return json.loads("{" + text[start : text.index("]", start) + 1] + "}")["plugins"]


def _asv_publish(repo: Path, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]), **env}
    return subprocess.run(
        [sys.executable, "-m", "asv", "publish", "--config", "asv.conf.json", "--no-pull"],
        cwd=repo, capture_output=True, text=True, timeout=600, env=environ,
    )


def test_asv_publish_with_the_plugin_writes_torchperf_pages(tmp_path):
    repo = load_tool("check_site").make_demo_history(tmp_path / "repo", commits=3, environments=1, regress_at=1)
    conf_path = repo / "asv.conf.json"
    conf = json.loads(conf_path.read_text(encoding="utf-8"))
    conf["plugins"] = _docs_plugin_entry()  # exactly what docs/site.md tells users to write
    assert conf["plugins"] == [".torchperf.site.asv_plugin"]
    conf_path.write_text(json.dumps(conf), encoding="utf-8")

    proc = _asv_publish(repo, TORCHPERF_PUBLISH_STRICT="1")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    html = repo / conf.get("html_dir", "html")
    hub = html / "torchperf" / "index.html"
    assert hub.is_file(), proc.stdout + proc.stderr
    assert {"regressions.html", "environments.html"} <= {p.name for p in hub.parent.glob("*.html")}
    index = (html / "index.html").read_text(encoding="utf-8")
    assert index.count('id="nav-li-torchperf"') == 1  # linked from asv's navigation bar
    text = hub.read_text(encoding="utf-8")
    from torchperf import __version__

    assert f"<td>torchperf</td><td>{__version__}</td>" in text  # the plugin passes the version


def test_without_the_plugin_asv_publish_writes_only_asvs_site(tmp_path):
    """The repository default (plugin off): pages come from ``torchperf publish`` afterwards."""
    repo = load_tool("check_site").make_demo_history(tmp_path / "repo", commits=2, environments=1, regress_at=1)
    proc = _asv_publish(repo)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    html = repo / "html"
    assert (html / "index.html").is_file() and not (html / "torchperf").exists()


def test_repository_asv_conf_says_the_plugin_is_optional():
    text = (ROOT / "asv.conf.json").read_text(encoding="utf-8")
    assert "added here by the history work" not in text
    assert '// "plugins": [".torchperf.site.asv_plugin"]' in text and "docs/site.md" in text
