#!/usr/bin/env python3
"""Check a published asv + torchperf site in headless Chromium with no internet.

Usage::

    python tools/check_site.py .asv/html                  # check an existing site
    python tools/check_site.py --demo /tmp/site-demo      # build a synthetic history, publish, check
    python tools/check_site.py .asv/html --json           # machine-readable result
    python tools/check_site.py --explorer-scale /tmp/x --revisions 2000   # weight and load time of
                                                          # pareto-history.html over a long history

What it does
------------
1. Serves ``HTML_DIR`` with :mod:`http.server` on ``127.0.0.1`` (a thread in
   this process; asv's page loads ``index.json`` with XHR, so ``file://`` is
   not enough).
2. Starts ``/usr/bin/chromium --headless`` with networking to anything but
   the local server blocked: ``--host-resolver-rules="MAP * ~NOTFOUND,
   EXCLUDE 127.0.0.1"`` (no name resolves) and ``--proxy-server=127.0.0.1:9``
   (nothing listens there; loopback bypasses the proxy), plus
   ``--disable-background-networking`` and friends. It is driven through the
   Chrome DevTools Protocol over ``--remote-debugging-pipe`` (two inherited
   file descriptors; no websocket library, no debugging port).
3. Opens asv's ``index.html`` (the summary grid), one benchmark's graph page,
   and every torchperf page, and records: console messages
   (``Runtime.consoleAPICalled``), uncaught exceptions
   (``Runtime.exceptionThrown``), browser log entries (``Log.entryAdded``: failed
   loads, CSP violations), JavaScript dialogs, and requests that left
   127.0.0.1.
4. Checks: asv's graphs are drawn (flot ``canvas.flot-base`` elements in the
   grid and on the graph page; the page did not fall back to asv's
   ``error.html``), the navigation bar links to torchperf, torchperf's
   regression, Pareto and environment pages load with their images decoded, no
   ``<script>`` or inline event handler is on them, the texts given with
   ``--require-text`` appear literally, no console error, exception, dialog or
   external request anywhere.

Exit status: 0 all checks pass, 1 a check failed, 2 Chromium missing or bad usage
(``tools/install-chromium.sh`` installs Chromium from Debian's packages).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import functools
import http.server
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

if str(Path(__file__).resolve().parent) not in sys.path:  # tools/cdp_pipe.py, also when loaded by path
    sys.path.insert(0, str(Path(__file__).resolve().parent))
from cdp_pipe import CHROMIUM_FLAGS as HEADLESS_FLAGS
from cdp_pipe import DEFAULT_CHROMIUM, BrowserError, CdpPipe

ROOT = Path(__file__).resolve().parents[1]

EVIL_MODEL = "<img src=x onerror=alert(1)>"
EVIL_PARAM = "m</script><script>alert(2)</script>"

CHROMIUM_FLAGS = (
    *HEADLESS_FLAGS,
    # the site must work offline: no DNS, no proxy, no background requests
    "--disable-domain-reliability",
    "--disable-client-side-phishing-detection",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
    "--proxy-server=127.0.0.1:9",
)

PAGE_PROBE = r"""
(() => {
  const imgs = Array.from(document.images).map((im) => ({
    src: im.getAttribute('src') || '', complete: im.complete,
    naturalWidth: im.naturalWidth, naturalHeight: im.naturalHeight}));
  const handlers = [];
  for (const el of document.querySelectorAll('*')) {
    for (const a of el.attributes) {
      if (a.name.toLowerCase().startsWith('on')) handlers.push(el.tagName + '[' + a.name + ']');
    }
  }
  return {
    url: location.href,
    title: document.title,
    images: imgs,
    tables: document.querySelectorAll('table').length,
    scripts: document.scripts.length,
    script_tags: Array.from(document.scripts).map((s) => ({
      src: s.getAttribute('src') || '', type: s.getAttribute('type') || '', inline_code: !s.src && s.type !== 'application/json' && s.textContent.trim().length > 0})),
    explorer_points: document.querySelectorAll('#tp-explorer svg .pt').length,
    explorer_hidden: document.getElementById('tp-explorer') ? document.getElementById('tp-explorer').hidden : null,
    event_handlers: handlers,
    flot_canvases: document.querySelectorAll('canvas.flot-base').length,
    graph_canvases: document.querySelectorAll('#graph-display canvas.flot-base').length,
    nav_torchperf: !!document.querySelector('#nav-li-torchperf a[href="torchperf/index.html"]'),
    links: Array.from(document.querySelectorAll('a[href]')).map((a) => a.getAttribute('href')),
    text: document.body ? document.body.innerText : '',
  };
})()
"""


# --------------------------------------------------------------------------- HTTP server


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        self.server.requests.append(args[0] if args else format)  # type: ignore[attr-defined]


@contextlib.contextmanager
def serve(directory: str | os.PathLike[str]) -> Iterator[tuple[str, list[str]]]:
    """Serve ``directory`` on 127.0.0.1 (random port) in a thread; yield (base URL, request log)."""
    handler = functools.partial(_QuietHandler, directory=str(directory))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    httpd.requests = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/", httpd.requests  # type: ignore[attr-defined]
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


def find_chromium(chromium: str | None = None) -> str | None:
    """Path of an executable Chromium, or None."""
    cand = chromium or os.environ.get("CHROMIUM") or DEFAULT_CHROMIUM
    if os.path.isfile(cand) and os.access(cand, os.X_OK):
        return cand
    return shutil.which("chromium") or shutil.which("chromium-browser")


# --------------------------------------------------------------------------- visiting pages


def _problems_of(events: Sequence[dict[str, Any]], base: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {"console_errors": [], "warnings": [], "dialogs": [], "external_requests": []}
    for e in events:
        m, p = e["method"], e.get("params", {})
        if m == "Runtime.consoleAPICalled":
            text = " ".join(str(a.get("value", a.get("description", ""))) for a in p.get("args", []))
            if p.get("type") in ("error", "assert"):
                out["console_errors"].append(f"console.{p.get('type')}: {text}")
            elif p.get("type") == "warning":
                out["warnings"].append(f"console.warn: {text}")
        elif m == "Runtime.exceptionThrown":
            d = p.get("exceptionDetails", {})
            out["console_errors"].append(
                "uncaught: " + str(d.get("exception", {}).get("description") or d.get("text"))
            )
        elif m == "Log.entryAdded":
            entry = p.get("entry", {})
            line = f"{entry.get('source')}: {entry.get('text')} {entry.get('url', '')}".strip()
            if entry.get("level") == "error":
                out["console_errors"].append(line)
            elif entry.get("level") == "warning":
                out["warnings"].append(line)
        elif m == "Page.javascriptDialogOpening":
            out["dialogs"].append(str(p.get("message")))
        elif m == "Network.requestWillBeSent":
            url = p.get("request", {}).get("url", "")
            if not url.startswith((base, "data:", "about:")):
                out["external_requests"].append(url)
    return out


def visit(
    browser: CdpPipe,
    url: str,
    base: str,
    *,
    wait_js: str | None = None,
    timeout_s: float = 30.0,
    screenshot: Path | None = None,
) -> dict[str, Any]:
    """Navigate to ``url``, wait for load (and ``wait_js`` to be truthy), return probe + problems."""
    if "#" in url:  # a fragment change alone would not reload the page
        blank = len(browser.events)
        browser.send("Page.navigate", {"url": "about:blank"})
        browser.wait_for("Page.loadEventFired", timeout_s, since=blank)
    start = len(browser.events)
    browser.send("Page.navigate", {"url": url})
    loaded = browser.wait_for("Page.loadEventFired", timeout_s, since=start)
    waited_ok = True
    if wait_js:
        deadline = time.monotonic() + timeout_s
        waited_ok = False
        while time.monotonic() < deadline:
            if browser.evaluate(wait_js):
                waited_ok = True
                break
            browser.pump(0.2)
    browser.pump(0.5)  # late console messages, failed loads
    probe = browser.evaluate(PAGE_PROBE) or {}
    probe.update(_problems_of(browser.events[start:], base))
    probe["loaded"] = loaded
    probe["waited_ok"] = waited_ok
    if screenshot is not None:
        import base64

        shot = browser.send("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True})
        screenshot.parent.mkdir(parents=True, exist_ok=True)
        screenshot.write_bytes(base64.b64decode(shot["data"]))
        probe["screenshot"] = str(screenshot)
    return probe


def check_site(
    html_dir: str | os.PathLike[str],
    *,
    chromium: str | None = None,
    require_text: Sequence[str] = (),
    timeout_s: float = 60.0,
    screenshots: str | os.PathLike[str] | None = None,
) -> dict[str, Any]:
    """Load the site's asv and torchperf pages in headless Chromium; return pages and problems.

    Returns a dict ``{"pages": {name: probe}, "problems": [str], "requests": [...]}``;
    ``problems`` is empty when every check passed. With ``screenshots`` a
    full-page PNG of every page is written into that folder.
    """
    shots = Path(screenshots) if screenshots is not None else None

    def shot(name: str) -> Path | None:
        return None if shots is None else shots / (name.replace("/", "_").replace("#", "_") + ".png")

    root = Path(html_dir)
    exe = find_chromium(chromium)
    if exe is None:
        raise BrowserError("Chromium not found; run tools/install-chromium.sh (apt-get install chromium).")
    if not (root / "index.html").is_file():
        raise FileNotFoundError(f"{root}/index.html does not exist; run `asv publish` first.")
    tp = root / "torchperf"
    tp_pages = sorted(p.relative_to(root).as_posix() for p in tp.glob("*.html")) if tp.is_dir() else []
    benchmarks: list[str] = []
    with contextlib.suppress(OSError, ValueError):
        benchmarks = sorted(json.loads((root / "index.json").read_text())["benchmarks"])
    problems: list[str] = []
    pages: dict[str, dict[str, Any]] = {}
    with serve(root) as (base, requests):
        browser = CdpPipe(
            exe, CHROMIUM_FLAGS, window_size=(1400, 1000), timeout_s=timeout_s,
            profile_prefix="torchperf-site-chromium-",
        )
        try:
            browser.attach_new_page(("Page", "Runtime", "Log", "Network"))
            pages["asv index"] = visit(
                browser, base + "index.html", base,
                wait_js="document.querySelectorAll('canvas.flot-base').length > 0 || location.pathname.endsWith('error.html')",
                timeout_s=timeout_s, screenshot=shot("asv-index"),
            )
            if benchmarks:
                pages["asv graph"] = visit(
                    browser, base + "index.html#" + benchmarks[0], base,
                    wait_js="document.querySelectorAll('#graph-display canvas.flot-base').length > 0",
                    timeout_s=timeout_s, screenshot=shot("asv-graph"),
                )
            for rel in tp_pages:
                pages[rel] = visit(browser, base + rel, base, timeout_s=timeout_s, screenshot=shot(rel))
        finally:
            browser.close()
        served = list(requests)
    asv = pages["asv index"]
    if "error.html" in asv.get("url", ""):
        problems.append("asv index.html fell back to error.html: its JavaScript dependencies did not load")
    if not asv.get("flot_canvases"):
        problems.append("asv index.html drew no flot graph (no canvas.flot-base in the summary grid)")
    if not asv.get("nav_torchperf"):
        problems.append("asv's navigation bar has no link to torchperf/index.html")
    if "asv graph" in pages and not pages["asv graph"].get("graph_canvases"):
        problems.append(f"asv graph page of {benchmarks[0]} drew no flot graph")
    if not benchmarks:
        problems.append("index.json lists no benchmarks")
    for want in ("torchperf/index.html", "torchperf/regressions.html", "torchperf/environments.html", "torchperf/pareto-history.html"):
        if want not in pages:
            problems.append(f"{want} is missing")
    if not any(k.startswith("torchperf/pareto-") and k != "torchperf/pareto-history.html" for k in pages):
        problems.append("no per-revision Pareto page (torchperf/pareto-<commit>.html)")
    for name, p in pages.items():
        if not p.get("loaded"):
            problems.append(f"{name}: did not finish loading")
        for kind in ("console_errors", "dialogs", "external_requests"):
            for item in p.get(kind, []):
                problems.append(f"{name}: {kind.replace('_', ' ')}: {item}")
        if name == "torchperf/pareto-history.html":
            problems.extend(f"{name}: {x}" for x in explorer_script_problems(p))
        elif name.startswith("torchperf/"):
            if p.get("scripts"):
                problems.append(f"{name}: contains {p['scripts']} <script> element(s)")
        if name.startswith("torchperf/"):
            if p.get("event_handlers"):
                problems.append(f"{name}: inline event handlers {p['event_handlers'][:5]}")
            for im in p.get("images", []):
                if not im.get("complete") or not im.get("naturalWidth"):
                    problems.append(f"{name}: image {im.get('src')} did not decode")
    all_text = "\n".join(p.get("text", "") for k, p in pages.items() if k.startswith("torchperf/"))
    for s in require_text:
        if s not in all_text:
            problems.append(f"text {s!r} does not appear on torchperf's pages")
    return {"pages": pages, "problems": problems, "requests_served": len(served)}


# --------------------------------------------------------------------------- the Pareto explorer


EXPLORER_SCRIPTS = [
    {"src": "", "type": "application/json", "inline_code": False},
    {"src": "assets/pareto-explorer.js", "type": "", "inline_code": False},
]


def explorer_script_problems(probe: dict[str, Any]) -> list[str]:
    """What is wrong with the scripts and the drawing of ``pareto-history.html`` (empty: nothing)."""
    out = []
    if probe.get("script_tags") != EXPLORER_SCRIPTS:
        out.append(f"scripts other than the JSON data block and the packaged explorer: {probe.get('script_tags')}")
    if probe.get("explorer_hidden") is not False or not probe.get("explorer_points"):
        out.append("the interactive Pareto explorer did not draw (hidden, or no points)")
    return out


_KEYS = {"ArrowLeft": 37, "ArrowRight": 39, "Home": 36, "End": 35}


def press(browser: CdpPipe, key: str) -> None:
    """Press and release ``key`` (``ArrowLeft``, ``ArrowRight``, ``Home``, ``End``) in the page."""
    code = _KEYS[key]
    for kind in ("rawKeyDown", "keyUp"):
        browser.send("Input.dispatchKeyEvent", {"type": kind, "key": key, "code": key,
                                                "windowsVirtualKeyCode": code, "nativeVirtualKeyCode": code})


def _state(browser: CdpPipe) -> dict[str, Any]:
    return browser.evaluate(
        "({revision: document.body.getAttribute('data-tp-revision'), slider: Number(document.getElementById('tp-rev').value),"
        " label: document.getElementById('tp-rev-label').textContent,"
        " tip: document.getElementById('tp-tip').textContent, tip_hidden: document.getElementById('tp-tip').hidden,"
        " points: document.querySelectorAll('#tp-explorer svg .pt').length,"
        " faint: document.querySelectorAll('#tp-explorer svg .pt-prev').length,"
        " active: document.activeElement ? document.activeElement.id || document.activeElement.tagName : ''})"
    )


def hover(browser: CdpPipe, selector: str) -> dict[str, Any]:
    """Move the mouse onto the centre of the circle of the first element matching ``selector``."""
    box = browser.evaluate(
        f"(() => {{ const e = document.querySelector({json.dumps(selector)}); if (!e) return null;"
        " e.scrollIntoView({block: 'center'}); const r = e.querySelector('circle').getBoundingClientRect();"
        " return {x: r.left + r.width / 2, y: r.top + r.height / 2}; })()"
    )
    if box is None:
        raise BrowserError(f"no element {selector} on the page")
    browser.send("Input.dispatchMouseEvent", {"type": "mouseMoved", "x": 1, "y": 1})
    browser.send("Input.dispatchMouseEvent", {"type": "mouseMoved", "x": box["x"], "y": box["y"]})
    return _state(browser)


def explore(browser: CdpPipe, url: str, *, timeout_s: float = 60.0, hover_model: str | None = None) -> dict[str, Any]:
    """Load the explorer page at ``url`` and drive it like a user; return what was seen.

    Loads the page (``load_ms``: navigation start to the load event, ``ready_ms``: to the
    explorer's ``tp-explorer-ready`` mark, from the page's own Performance timeline),
    then: the slider focused, ArrowLeft (``after_left``); focus on the page body,
    ArrowRight (``after_right``), Home (``after_home``), End (``after_end``); the mouse
    on a point of the first panel (``hovered``: the tooltip); Tab focus on a point
    (``focused``); 50 ArrowLeft steps timed (``step_ms``: mean per step, the render included).
    ``events`` are the page's DevTools events (console, exceptions, requests).
    """
    start = len(browser.events)
    browser.send("Page.navigate", {"url": url})
    loaded = browser.wait_for("Page.loadEventFired", timeout_s, since=start)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and not browser.evaluate("!!window.tpExplorer"):
        browser.pump(0.05)
    out: dict[str, Any] = {"loaded": loaded, "ready": bool(browser.evaluate("!!window.tpExplorer"))}
    timing = browser.evaluate(
        "(() => { const n = performance.getEntriesByType('navigation')[0];"
        " const m = performance.getEntriesByName('tp-explorer-ready')[0];"
        " return {load_ms: n ? n.loadEventEnd : null, ready_ms: m ? m.startTime : null}; })()"
    )
    out.update(timing or {})
    if not out["ready"]:
        out["events"] = browser.events[start:]
        return out
    out["initial"] = _state(browser)
    browser.evaluate("document.getElementById('tp-rev').focus()")
    press(browser, "ArrowLeft")
    out["after_left"] = _state(browser)
    browser.evaluate("document.activeElement.blur(); document.body.focus()")
    press(browser, "ArrowRight")
    out["after_right"] = _state(browser)
    press(browser, "Home")
    out["after_home"] = _state(browser)
    press(browser, "End")
    out["after_end"] = _state(browser)
    # another machine x environment keeps the revision shown (when it has it)
    out["series_count"] = browser.evaluate("document.getElementById('tp-series').options.length")
    if out["series_count"] > 1:
        browser.evaluate("(() => { const s = document.getElementById('tp-series'); s.value = '1';"
                         " s.dispatchEvent(new Event('change')); })()")
        out["after_series"] = _state(browser)
        out["after_series"]["series"] = browser.evaluate(
            "document.getElementById('tp-series').selectedOptions[0].textContent")
        browser.evaluate("(() => { const s = document.getElementById('tp-series'); s.value = '0';"
                         " s.dispatchEvent(new Event('change')); })()")
    sel = "#tp-panels svg .pt" + (f"[data-model={json.dumps(hover_model)}]" if hover_model is not None else "")
    out["hovered"] = hover(browser, sel)
    browser.send("Input.dispatchMouseEvent", {"type": "mouseMoved", "x": 1, "y": 1})
    out["after_leave"] = _state(browser)
    browser.evaluate("document.querySelectorAll('#tp-panels svg .pt')[1].focus()")
    out["focused"] = _state(browser)
    browser.evaluate("document.activeElement.blur()")
    t0 = browser.evaluate("performance.now()")
    for _ in range(50):
        press(browser, "ArrowLeft")
    t1 = browser.evaluate("performance.now()")
    out["step_ms"] = (t1 - t0) / 50
    out["after_steps"] = _state(browser)
    out["render_ms"] = browser.evaluate(
        "(() => { const ex = window.tpExplorer, t = performance.now();"
        " for (let i = 0; i < 100; i++) ex.go(ex.pos === 0 ? ex.s().rev.length - 1 : ex.pos - 1);"
        " return (performance.now() - t) / 100; })()"
    )
    browser.pump(0.2)
    out["events"] = browser.events[start:]
    return out


def without_javascript(browser: CdpPipe, url: str, *, timeout_s: float = 60.0) -> dict[str, Any]:
    """Load ``url`` with JavaScript disabled; return what a reader without scripts sees."""
    browser.send("Emulation.setScriptExecutionDisabled", {"value": True})
    try:
        start = len(browser.events)
        browser.send("Page.navigate", {"url": url})
        loaded = browser.wait_for("Page.loadEventFired", timeout_s, since=start)
        browser.pump(0.3)
        seen = browser.evaluate(
            "(() => { const ex = document.getElementById('tp-explorer');"
            " return {explorer_visible: !!ex && ex.offsetParent !== null, svg: document.querySelectorAll('#tp-explorer svg').length,"
            " tables: Array.from(document.querySelectorAll('table')).filter((t) => t.offsetParent !== null).length,"
            " images: Array.from(document.images).filter((i) => i.complete && i.naturalWidth > 0).length,"
            " text: document.body.innerText}; })()"
        )
    finally:
        browser.send("Emulation.setScriptExecutionDisabled", {"value": False})
    seen["loaded"] = loaded
    return seen


# --------------------------------------------------------------------------- a synthetic history


def _git(repo: Path, *args: str, env: dict[str, str] | None = None) -> str:
    full = {**os.environ, "GIT_AUTHOR_NAME": "demo", "GIT_AUTHOR_EMAIL": "demo@example.invalid",
            "GIT_COMMITTER_NAME": "demo", "GIT_COMMITTER_EMAIL": "demo@example.invalid", **(env or {})}
    return subprocess.run(["git", *args], cwd=repo, env=full, check=True, capture_output=True, text=True).stdout.strip()


def make_demo_history(
    root: str | os.PathLike[str],
    *,
    commits: int = 4,
    models: Sequence[str] = ("mlp", "mlp-int8", "cnn-im2col", EVIL_MODEL, EVIL_PARAM),
    seed: int = 0,
    regress_at: int = 2,
    environments: int = 2,
) -> Path:
    """Write a SYNTHETIC asv project: git repo, asv.conf.json, results of two NumPy environments.

    Values are drawn from a seeded generator (not measured): zoo-like latency
    (8 samples per result), peak bytes and error rates, for ``commits`` commits
    in two environments (NumPy 1.26.4 / 2.4.6, with torchperf side-store records of
    NumPy and BLAS), with a 30% latency regression of ``models[1]`` from commit
    ``regress_at`` on (``environments=1`` keeps only NumPy 1.26.4). Model names
    include HTML/JS injection attempts. For testing the published site only.

    Returns
    -------
    pathlib.Path
        The repository (run ``asv publish`` in it).
    """
    import numpy as np

    repo = Path(root)
    repo.mkdir(parents=True, exist_ok=True)
    _git(repo, "init", "-q", "-b", "main")
    start = datetime.datetime(2026, 3, 1, 12, 0, tzinfo=datetime.timezone.utc)
    hashes, dates = [], []
    for i in range(commits):
        when = start + datetime.timedelta(days=i)
        (repo / "CHANGES.txt").write_text(f"change {i}\n")
        _git(repo, "add", "CHANGES.txt")
        stamp = when.strftime("%Y-%m-%dT%H:%M:%S+00:00")
        _git(repo, "commit", "-q", "-m", f"commit {i}", env={"GIT_AUTHOR_DATE": stamp, "GIT_COMMITTER_DATE": stamp})
        hashes.append(_git(repo, "rev-parse", "HEAD"))
        dates.append(int(when.timestamp() * 1000))
    conf = {
        "version": 1, "project": "demo <b>site</b>", "project_url": "http://127.0.0.1/", "repo": ".",
        "branches": ["main"], "environment_type": "virtualenv", "benchmark_dir": "benchmarks",
        "results_dir": "results", "html_dir": "html", "regressions_thresholds": {".*": 0.05},
    }
    (repo / "asv.conf.json").write_text(json.dumps(conf, indent=2))
    res = repo / "results"
    machine = "demo-box"
    (res / machine).mkdir(parents=True, exist_ok=True)
    (res / machine / "machine.json").write_text(json.dumps({"machine": machine, "version": 1}))
    mreprs = [repr(m) for m in models]
    bench_meta = {
        "zoo_models.ZooLatency.latency_forward": {"type": "latency", "unit": "seconds", "params": [mreprs, ["1", "32"]], "param_names": ["model", "batch"]},
        "zoo_models.ZooMemory.peakbytes_forward": {"type": "peakbytes", "unit": "bytes", "params": [mreprs, ["1", "32"]], "param_names": ["model", "batch"]},
        "zoo_models.ZooQuality.track_error_rate": {"type": "track", "unit": "error rate", "params": [mreprs], "param_names": ["model"]},
    }
    benchmarks = {
        name: {"code": "synthetic", "name": name, "version": "1", "timeout": 60, **meta}
        for name, meta in bench_meta.items()
    }
    benchmarks["version"] = 2
    (res / "benchmarks.json").write_text(json.dumps(benchmarks, indent=2))
    rng = np.random.default_rng(seed)
    envs = {"virtualenv-py3.11-numpy1.26.4": ("1.26.4", "openblas", "0.3.23"),
            "virtualenv-py3.11-numpy2.4.6": ("2.4.6", "openblas", "0.3.29")}
    envs = dict(list(envs.items())[: max(1, environments)])
    base_lat = {m: 2e-4 * (1 + j) for j, m in enumerate(models)}
    base_mem = {m: 40_000 * (len(models) - j) for j, m in enumerate(models)}
    n_test = 360
    errors = {m: (8 + 5 * j) / n_test for j, m in enumerate(models)}
    cols = ["result", "params", "version", "started_at", "duration", "stats_ci_99_a", "stats_ci_99_b",
            "stats_q_25", "stats_q_75", "stats_number", "stats_repeat", "samples"]
    for i, (h, d) in enumerate(zip(hashes, dates, strict=True)):
        for env, (npv, blas, blas_v) in envs.items():
            env_factor = 1.0 if npv.startswith("1.") else 0.85
            lat_r, lat_lo, lat_hi, lat_s, mem_r = [], [], [], [], []
            for m in models:
                for batch in (1, 32):
                    f = env_factor * (1.3 if (m == models[1] and i >= regress_at) else 1.0)
                    s = np.sort(base_lat[m] * batch**0.5 * f * rng.lognormal(0, 0.02, 8))
                    lat_s.append([float(x) for x in s])
                    lat_r.append(float(np.median(s)))
                    lat_lo.append(float(s[1]))
                    lat_hi.append(float(s[-2]))
                    mem_r.append(int(base_mem[m] * batch))
            err_r = [errors[m] for m in models]
            results = {
                "zoo_models.ZooLatency.latency_forward": [lat_r, bench_meta["zoo_models.ZooLatency.latency_forward"]["params"], "1", d, 1.0, lat_lo, lat_hi, lat_lo, lat_hi, [100] * len(lat_r), [8] * len(lat_r), lat_s],
                "zoo_models.ZooMemory.peakbytes_forward": [mem_r, bench_meta["zoo_models.ZooMemory.peakbytes_forward"]["params"], "1", d, 1.0],
                "zoo_models.ZooQuality.track_error_rate": [err_r, bench_meta["zoo_models.ZooQuality.track_error_rate"]["params"], "1", d, 1.0],
            }
            doc = {
                "commit_hash": h, "env_name": env, "date": d,
                "params": {"machine": machine, "python": "3.11", "numpy": npv},
                "python": "3.11", "requirements": {"numpy": npv}, "env_vars": {},
                "result_columns": cols, "results": results, "durations": {}, "version": 2,
            }
            (res / machine / f"{h[:8]}-{env}.json").write_text(json.dumps(doc))
            side = res / machine / "torchperf-env"
            side.mkdir(exist_ok=True)
            (side / f"{h[:8]}-{env}.json").write_text(json.dumps({
                "commit": h, "env_name": env, "numpy_version": npv,
                "blas": [{"user_api": "blas", "internal_api": blas, "version": blas_v, "num_threads": 2}],
            }))
    return repo


def asv_publish(repo: str | os.PathLike[str]) -> Path:
    """Run ``asv publish`` in ``repo``; return its html_dir."""
    proc = subprocess.run(
        [sys.executable, "-m", "asv", "publish", "--config", "asv.conf.json", "--no-pull"],
        cwd=repo, capture_output=True, text=True, timeout=300,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"asv publish failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return Path(repo) / "html"


def build_demo_site(root: str | os.PathLike[str], *, offline: bool = True, commits: int = 20) -> Path:
    """Synthetic history -> ``asv publish`` -> ``torchperf publish`` (offline); return html_dir.

    Pareto pages are written for the last 2 revisions only and the small
    multiples show 3, to keep the demo fast (matplotlib is the slow part).
    """
    sys.path.insert(0, str(ROOT))
    from torchperf import __version__
    from torchperf.site.pages import publish
    from torchperf.zoo import digits_test_examples

    repo = make_demo_history(root, commits=commits, regress_at=commits // 2)
    html = asv_publish(repo)
    publish(
        html_dir=html, results_dir=repo / "results", offline=offline, conf_path=repo / "asv.conf.json",
        pareto_revisions=2, history_revisions=3, error_rate_examples=digits_test_examples(),
        torchperf_version=__version__,
    )
    return html


#: The zoo's variants (torchperf.zoo), for histories shaped like the real one.
ZOO_MODELS = ("mlp", "mlp-int8", "mlp-pruned50", "mlp-pruned90", "mlp-pruned90-sparse", "mlp-lowrank",
              "cnn-naive", "cnn-im2col", "attn-nocache", "attn-kvcache", "mlp-torch")


def measure_explorer(
    root: str | os.PathLike[str],
    *,
    revisions: int = 2000,
    loads: int = 3,
    chromium: str | None = None,
    timeout_s: float = 120.0,
) -> dict[str, Any]:
    """Page weight and load time of ``pareto-history.html`` over a long synthetic history.

    Writes a SYNTHETIC history (:func:`make_demo_history`: ``revisions`` commits, the zoo's 11
    model names, 2 environments, 8 raw samples per latency) into ``root``, loads it
    (:func:`torchperf.history.load_results`), times the payload
    (:func:`torchperf.site.explorer.pareto_history_payload`) and :func:`torchperf.site.pages.build_pages`
    (2 per-revision pages, 3 revisions of small multiples), then opens the page from ``file://``
    in headless Chromium (network blocked) ``loads`` times with a fresh browser each time and
    drives it (:func:`explore`). Returns the sizes (bytes) and times (seconds / milliseconds).
    """
    import statistics
    import warnings

    sys.path.insert(0, str(ROOT))
    from torchperf.history import load_results
    from torchperf.site.explorer import pareto_history_payload, payload_json
    from torchperf.site.pages import build_pages

    exe = find_chromium(chromium)
    if exe is None:
        raise BrowserError("Chromium not found; run tools/install-chromium.sh (apt-get install chromium).")
    root = Path(root)
    out: dict[str, Any] = {"revisions": revisions, "models": len(ZOO_MODELS), "environments": 2}
    t = time.perf_counter()
    repo = make_demo_history(root / "repo", commits=revisions, models=ZOO_MODELS, regress_at=revisions // 2)
    out["history_s"] = time.perf_counter() - t
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t = time.perf_counter()
        df = load_results(repo / "results")
        out["load_results_s"] = time.perf_counter() - t
        out["rows"] = len(df)
        t = time.perf_counter()
        payload = pareto_history_payload(df, error_rate_examples=360)
        out["payload_s"] = time.perf_counter() - t
        out["json_bytes"] = len(payload_json(payload).encode("utf-8"))
        out["points"] = sum(len(s["model"]) for s in payload["series"])
        pages = root / "html" / "torchperf"
        t = time.perf_counter()
        build_pages(df, pages, pareto_revisions=2, history_revisions=3, error_rate_examples=360)
        out["build_pages_s"] = time.perf_counter() - t
    page = pages / "pareto-history.html"
    out["html_bytes"] = page.stat().st_size  # the JSON block included
    out["js_bytes"] = (pages / "assets" / "pareto-explorer.js").stat().st_size
    out["images_bytes"] = sum(f.stat().st_size for f in (pages / "img").glob("history-*.png"))
    out["page_bytes"] = out["html_bytes"] + out["js_bytes"]
    runs = []
    for _ in range(loads):
        browser = CdpPipe(exe, CHROMIUM_FLAGS, window_size=(1300, 1000), timeout_s=timeout_s,
                          profile_prefix="torchperf-explorer-measure-")
        try:
            browser.attach_new_page(("Page", "Runtime", "Log", "Network"))
            seen = explore(browser, page.as_uri(), timeout_s=timeout_s)
        finally:
            browser.close()
        problems = _problems_of(seen.pop("events", []), "file://")
        if not seen.get("ready") or any(problems[k] for k in ("console_errors", "dialogs", "external_requests")):
            raise BrowserError(f"the explorer did not work: ready={seen.get('ready')}, {problems}")
        if seen["after_home"]["revision"] != payload["commits"][0] or seen["after_end"]["revision"] != payload["commits"][-1]:
            raise BrowserError("the explorer did not step through the revisions")
        runs.append(seen)
    for key in ("load_ms", "ready_ms", "step_ms", "render_ms"):
        vals = [float(r[key]) for r in runs]
        out[key] = statistics.median(vals)
        out[key + "_all"] = vals
    out["loadavg"] = Path("/proc/loadavg").read_text().split()[:3] if Path("/proc/loadavg").exists() else None
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("html_dir", nargs="?", help="site written by asv publish + torchperf publish")
    parser.add_argument("--demo", metavar="DIR", help="build a synthetic history in DIR (must not exist), publish it offline, check it")
    parser.add_argument("--chromium", default=None)
    parser.add_argument("--require-text", action="append", default=[], help="text that must appear on torchperf's pages")
    parser.add_argument("--timeout", type=float, default=60.0)
    parser.add_argument("--screenshots", metavar="DIR", help="write a full-page PNG of every page here")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--explorer-scale", metavar="DIR", help="measure pareto-history.html over a synthetic "
                        "history of --revisions revisions written into DIR (must not exist)")
    parser.add_argument("--revisions", type=int, default=2000, help="revisions of --explorer-scale (default 2000)")
    args = parser.parse_args(argv)
    if args.explorer_scale:
        if Path(args.explorer_scale).exists():
            print(f"error: {args.explorer_scale} exists; give a new directory", file=sys.stderr)
            return 2
        try:
            m = measure_explorer(args.explorer_scale, revisions=args.revisions, chromium=args.chromium,
                                 timeout_s=args.timeout)
        except BrowserError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        if args.json:
            print(json.dumps(m, indent=2))
            return 0
        kb = 1000
        print(f"history: {m['revisions']} revisions x {m['environments']} environments x {m['models']} models "
              f"({m['rows']} rows; written in {m['history_s']:.1f} s, loaded in {m['load_results_s']:.1f} s)")
        print(f"payload: {m['points']} points, JSON {m['json_bytes'] / kb:,.0f} kB, built in {m['payload_s']:.1f} s; "
              f"build_pages {m['build_pages_s']:.1f} s")
        print(f"page weight: {m['page_bytes'] / kb:,.0f} kB = HTML {m['html_bytes'] / kb:,.0f} kB (JSON included) "
              f"+ JS {m['js_bytes'] / kb:,.1f} kB; static images {m['images_bytes'] / kb:,.0f} kB")
        print(f"Chromium, file://, median of {len(m['load_ms_all'])} fresh loads: load event {m['load_ms']:.0f} ms, "
              f"explorer ready {m['ready_ms']:.0f} ms; a step (key press to redraw) {m['step_ms']:.1f} ms, "
              f"redraw alone {m['render_ms']:.2f} ms")
        print(f"load average: {' '.join(m['loadavg'] or [])}")
        return 0
    if bool(args.html_dir) == bool(args.demo):
        parser.print_usage(sys.stderr)
        print("error: give HTML_DIR or --demo DIR", file=sys.stderr)
        return 2
    if find_chromium(args.chromium) is None:
        print("error: Chromium not found; run tools/install-chromium.sh", file=sys.stderr)
        return 2
    require = list(args.require_text)
    if args.demo:
        if Path(args.demo).exists():
            print(f"error: {args.demo} exists; give a new directory", file=sys.stderr)
            return 2
        html = build_demo_site(args.demo)
        require += [EVIL_MODEL, EVIL_PARAM]
    else:
        html = Path(args.html_dir)
    try:
        result = check_site(
            html, chromium=args.chromium, require_text=require, timeout_s=args.timeout, screenshots=args.screenshots
        )
    except (BrowserError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.json:
        shown = {k: {kk: vv for kk, vv in v.items() if kk not in ("text", "links")} for k, v in result["pages"].items()}
        print(json.dumps({"site": str(html), "pages": shown, "problems": result["problems"]}, indent=2))
    else:
        print(f"site: {html} ({result['requests_served']} requests served, internet blocked)")
        for name, p in result["pages"].items():
            extra = f", {p.get('flot_canvases', 0)} flot canvases" if name.startswith("asv") else ""
            print(f"  {name}: {len(p.get('images', []))} images, {p.get('tables', 0)} tables{extra}, "
                  f"{len(p.get('console_errors', []))} console errors, {len(p.get('warnings', []))} warnings")
        for prob in result["problems"]:
            print(f"FAIL: {prob}")
        if not result["problems"]:
            print("OK: asv graphs drawn, torchperf pages rendered, no console errors, no dialogs, no external requests")
    return 1 if result["problems"] else 0


if __name__ == "__main__":
    sys.exit(main())
