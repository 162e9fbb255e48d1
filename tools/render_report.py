#!/usr/bin/env python3
"""Open a torchperf HTML report in headless Chromium and check that it renders.

Usage::

    python tools/render_report.py benchmark_results/report.html \
        [--screenshot shot.png] [--json] [--min-images 1] [--min-tables 1] \
        [--forbid-text SUBSTRING ...]

How it checks
-------------
The script starts ``/usr/bin/chromium --headless --remote-debugging-pipe`` (the
Chrome DevTools Protocol over two inherited pipes: no network port, no
websocket library, nothing but the standard library), opens the report as a
``file://`` URL and, after the ``load`` event, asks the page through
``Runtime.evaluate`` for:

* every ``<img>``: ``complete`` and ``naturalWidth`` / ``naturalHeight`` (an image
  that failed to decode has ``naturalWidth == 0``) and its on-screen size;
* every ``<table>``: number of rows and its rendered height;
* any element carrying an inline event-handler attribute (``onerror``,
  ``onload``, ...) or any ``<script>`` element: a report must contain none, so
  user-supplied strings such as ``<img src=x onerror=alert(1)>`` must have been
  escaped into text;
* the layout: the page's height, how far down the first collapsed section
  (a closed ``<details>``) starts, i.e. what a reader sees before anything is
  folded away, and where each element with an ``id`` starts (``layout``);
* JavaScript dialogs (``alert``/``confirm``/``prompt``) opened by the page and
  requests for anything other than ``file:`` / ``data:`` URLs (a self-contained
  report loads nothing from the network).

It then captures a full-page PNG screenshot and checks it is not blank (more
than one distinct colour in the rendered pixels).

The DevTools evaluation runs with the browser's privileges, so the report's
own Content-Security-Policy (which forbids every script) does not stop the
check, while it still stops any script smuggled into the page.

Exit status: 0 when every check passes, 1 when a check fails, 2 when
Chromium is missing or the file cannot be opened. ``tools/install-chromium.sh``
installs Chromium from Debian's packages.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import shutil
import sys
from pathlib import Path
from typing import Any

if str(Path(__file__).resolve().parent) not in sys.path:  # tools/cdp_pipe.py, also when loaded by path
    sys.path.insert(0, str(Path(__file__).resolve().parent))
from cdp_pipe import CHROMIUM_FLAGS, DEFAULT_CHROMIUM, BrowserError, CdpPipe

PAGE_PROBE = r"""
(() => {
  // where things are, in CSS px from the top of the document (as laid out in the window)
  const top = (el) => el.getBoundingClientRect().top + window.scrollY;
  const layout = () => {
    const closed = document.querySelector('details:not([open])');
    const ids = {};
    for (const el of document.querySelectorAll('[id]')) ids[el.id] = top(el);
    return {
      first_collapsed_top: closed ? top(closed) : null,
      collapsed_sections: document.querySelectorAll('details:not([open])').length,
      ids: ids,
    };
  };
  const imgs = Array.from(document.images).map((im) => {
    const r = im.getBoundingClientRect();
    return {alt: im.alt, complete: im.complete, naturalWidth: im.naturalWidth,
            naturalHeight: im.naturalHeight, width: r.width, height: r.height,
            src_scheme: (im.getAttribute('src') || '').split(':')[0]};
  });
  const tables = Array.from(document.querySelectorAll('table')).map((t) => {
    const r = t.getBoundingClientRect();
    return {rows: t.rows.length, width: r.width, height: r.height};
  });
  const handlers = [];
  for (const el of document.querySelectorAll('*')) {
    for (const a of el.attributes) {
      if (a.name.toLowerCase().startsWith('on')) handlers.push(el.tagName + '[' + a.name + ']');
    }
  }
  return {
    title: document.title,
    images: imgs,
    tables: tables,
    scripts: document.scripts.length,
    event_handlers: handlers,
    text: document.body ? document.body.innerText : '',
    height: document.documentElement.scrollHeight,
    width: document.documentElement.scrollWidth,
    layout: layout(),
  };
})()
"""


def _png_is_blank(png: bytes) -> tuple[bool, int, tuple[int, int]]:
    """Return (blank, distinct colours sampled, (width, height)) for PNG bytes."""
    import io

    from PIL import Image  # matplotlib depends on Pillow

    with Image.open(io.BytesIO(png)) as im:
        rgb = im.convert("RGB")
        size = rgb.size
        small = rgb.resize((min(size[0], 200), min(size[1], 400)))
        colours = small.getcolors(maxcolors=1 << 16)
    n = len(colours) if colours is not None else 1 << 16
    return n <= 1, n, size


def render(
    html_path: str | os.PathLike[str],
    *,
    chromium: str = DEFAULT_CHROMIUM,
    screenshot: str | os.PathLike[str] | None = None,
    window_size: tuple[int, int] = (1280, 900),
    timeout_s: float = 60.0,
) -> dict[str, Any]:
    """Load ``html_path`` in headless Chromium and return what the page rendered.

    Returns a dict with ``images``, ``tables``, ``scripts``, ``event_handlers``,
    ``text``, ``dialogs`` (messages of any JavaScript dialog), ``network``
    (URLs other than file:/data: the page requested), ``screenshot`` (path),
    ``screenshot_blank`` and ``screenshot_colours``.
    """
    path = Path(html_path).resolve()
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist")
    if not (os.path.isfile(chromium) and os.access(chromium, os.X_OK)):
        found = shutil.which(chromium)
        if found is None:
            raise BrowserError(
                f"Chromium not found at {chromium}; run tools/install-chromium.sh "
                "(apt-get install chromium)."
            )
        chromium = found
    pipe = CdpPipe(chromium, CHROMIUM_FLAGS, window_size=window_size, timeout_s=timeout_s)
    try:
        pipe.attach_new_page(("Page", "Runtime", "Network"))
        pipe.send("Page.navigate", {"url": path.as_uri()})
        if not pipe.wait_for("Page.loadEventFired", timeout_s):
            raise BrowserError(f"{path} did not finish loading within {timeout_s} s")
        probe = pipe.send("Runtime.evaluate", {"expression": PAGE_PROBE, "returnByValue": True})
        if "exceptionDetails" in probe:
            raise BrowserError(f"page probe failed: {probe['exceptionDetails']}")
        info: dict[str, Any] = probe["result"]["value"]
        # full-page screenshot: grow the viewport to the document (capped)
        full_w = max(window_size[0], min(int(info["width"]), 4000))
        full_h = max(100, min(int(info["height"]), 12000))
        pipe.send(
            "Emulation.setDeviceMetricsOverride",
            {"width": full_w, "height": full_h, "deviceScaleFactor": 1, "mobile": False},
        )
        shot = pipe.send("Page.captureScreenshot", {"format": "png"})
        png = base64.b64decode(shot["data"])
        # let late events (dialogs fired by onload handlers, requests) arrive
        pipe.wait_for("__never__", 0.3)
    finally:
        pipe.close()
    if screenshot is not None:
        Path(screenshot).write_bytes(png)
        info["screenshot"] = str(screenshot)
    blank, colours, size = _png_is_blank(png)
    info["screenshot_blank"] = blank
    info["screenshot_colours"] = colours
    info["screenshot_size"] = list(size)
    info["dialogs"] = [
        e["params"].get("message", "")
        for e in pipe.events
        if e["method"] == "Page.javascriptDialogOpening"
    ]
    info["network"] = sorted(
        {
            e["params"]["request"]["url"]
            for e in pipe.events
            if e["method"] == "Network.requestWillBeSent"
            and not e["params"]["request"]["url"].startswith(("file:", "data:"))
        }
    )
    return info


def check(
    info: dict[str, Any],
    *,
    min_images: int = 1,
    min_tables: int = 1,
    forbid_text: tuple[str, ...] = (),
    require_text: tuple[str, ...] = (),
) -> list[str]:
    """Return the list of failed checks (empty when the page rendered correctly)."""
    problems: list[str] = []
    images = info["images"]
    if len(images) < min_images:
        problems.append(f"expected at least {min_images} images, found {len(images)}")
    for i, im in enumerate(images):
        if not im["complete"] or im["naturalWidth"] == 0 or im["naturalHeight"] == 0:
            problems.append(f"image {i} ({im['alt']!r}) did not decode: {im}")
        elif im["width"] < 10 or im["height"] < 10:
            problems.append(f"image {i} ({im['alt']!r}) is not visible on the page: {im}")
        if im["src_scheme"] != "data":
            problems.append(f"image {i} ({im['alt']!r}) is not embedded (src scheme {im['src_scheme']!r})")
    tables = info["tables"]
    if len(tables) < min_tables:
        problems.append(f"expected at least {min_tables} tables, found {len(tables)}")
    for i, t in enumerate(tables):
        if t["rows"] < 1 or t["height"] <= 0 or t["width"] <= 0:
            problems.append(f"table {i} did not render: {t}")
    if info["scripts"]:
        problems.append(f"page contains {info['scripts']} <script> element(s)")
    if info["event_handlers"]:
        problems.append(f"page contains inline event handlers: {info['event_handlers'][:5]}")
    if info["dialogs"]:
        problems.append(f"page opened JavaScript dialog(s): {info['dialogs']}")
    if info["network"]:
        problems.append(f"page requested external resources: {info['network'][:5]}")
    if info["screenshot_blank"]:
        problems.append("screenshot is blank (one colour)")
    for s in forbid_text:
        if s in info["text"]:
            problems.append(f"forbidden text {s!r} visible on the page")
    for s in require_text:
        if s not in info["text"]:
            problems.append(f"expected text {s!r} not visible on the page")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("html", help="report.html to open")
    parser.add_argument("--chromium", default=os.environ.get("CHROMIUM", DEFAULT_CHROMIUM))
    parser.add_argument("--screenshot", help="write the full-page PNG screenshot here")
    parser.add_argument("--window-size", default="1280,900", help="WIDTH,HEIGHT")
    parser.add_argument("--min-images", type=int, default=1)
    parser.add_argument("--min-tables", type=int, default=1)
    parser.add_argument("--require-text", action="append", default=[])
    parser.add_argument("--forbid-text", action="append", default=[])
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds")
    parser.add_argument("--json", action="store_true", help="print the page facts as JSON")
    args = parser.parse_args(argv)
    try:
        width, height = (int(v) for v in args.window_size.split(","))
    except ValueError:
        print(f"--window-size must be WIDTH,HEIGHT; got {args.window_size!r}", file=sys.stderr)
        return 2
    try:
        info = render(
            args.html,
            chromium=args.chromium,
            screenshot=args.screenshot,
            window_size=(width, height),
            timeout_s=args.timeout,
        )
    except (BrowserError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    problems = check(
        info,
        min_images=args.min_images,
        min_tables=args.min_tables,
        forbid_text=tuple(args.forbid_text),
        require_text=tuple(args.require_text),
    )
    if args.json:
        shown = {k: v for k, v in info.items() if k != "text"}
        shown["problems"] = problems
        print(json.dumps(shown, indent=2))
    else:
        print(
            f"{args.html}: {len(info['images'])} images, {len(info['tables'])} tables, "
            f"screenshot {info['screenshot_size'][0]}x{info['screenshot_size'][1]} "
            f"({info['screenshot_colours']} colours)"
        )
        lay = info["layout"]
        above = lay["first_collapsed_top"]
        print(
            f"page height {info['height']} px at {width} px wide; "
            + (f"{above:.0f} px above the first of {lay['collapsed_sections']} collapsed sections"
               if above is not None else "no collapsed section")
        )  # fmt: skip
        for p in problems:
            print(f"FAIL: {p}")
        if not problems:
            print("OK: images decoded, tables rendered, no scripts, no dialogs, no network")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
