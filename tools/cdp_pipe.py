"""A minimal Chrome DevTools Protocol client over ``--remote-debugging-pipe``.

Shared by ``tools/render_report.py`` (one report page) and
``tools/check_site.py`` (the published asv + torchperf site). Chromium reads
commands from file descriptor 3 and writes replies to descriptor 4; messages
are JSON documents separated by NUL bytes. Nothing but the standard library:
no network port, no websocket library.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Sequence
from typing import Any

__all__ = ["CHROMIUM_FLAGS", "DEFAULT_CHROMIUM", "BrowserError", "CdpPipe"]

DEFAULT_CHROMIUM = "/usr/bin/chromium"

#: Headless, quiet, no first-run UI, DevTools over the inherited pipes (fds 3 and 4).
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--disable-dev-shm-usage",
    "--hide-scrollbars",
    "--mute-audio",
    "--remote-debugging-pipe",
)


class BrowserError(RuntimeError):
    """Chromium could not be started or did not answer."""


def _high_pipe() -> tuple[int, int]:
    """Return a pipe whose both ends are >= 10, so dup2 onto 3 and 4 cannot clobber them."""
    import fcntl

    r, w = os.pipe()
    hr = fcntl.fcntl(r, fcntl.F_DUPFD_CLOEXEC, 10)
    hw = fcntl.fcntl(w, fcntl.F_DUPFD_CLOEXEC, 10)
    os.close(r)
    os.close(w)
    return hr, hw


class CdpPipe:
    """Start headless Chromium with ``flags`` and talk to it over the DevTools pipe.

    Every event received is appended to :attr:`events`; JavaScript dialogs are
    dismissed at once (so the page cannot hang) and stay in :attr:`events` for
    the caller to report.
    """

    def __init__(
        self,
        chromium: str,
        flags: Sequence[str],
        *,
        window_size: tuple[int, int] = (1280, 900),
        timeout_s: float = 60.0,
        profile_prefix: str = "torchperf-chromium-",
    ) -> None:
        self.timeout_s = timeout_s
        self._profile = tempfile.mkdtemp(prefix=profile_prefix)
        to_browser_r, self._to_browser = _high_pipe()
        self._from_browser, from_browser_w = _high_pipe()
        cmd = [
            chromium,
            *flags,
            f"--user-data-dir={self._profile}",
            f"--window-size={window_size[0]},{window_size[1]}",
            "about:blank",
        ]

        def _child_fds() -> None:  # pragma: no cover - runs in the child
            os.dup2(to_browser_r, 3)
            os.dup2(from_browser_w, 4)

        try:
            self.proc = subprocess.Popen(
                cmd,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                preexec_fn=_child_fds,
                close_fds=False,  # our fds are close-on-exec except the dup2-ed 3 and 4
            )
        except OSError as exc:
            shutil.rmtree(self._profile, ignore_errors=True)
            raise BrowserError(f"cannot start {chromium}: {exc}") from None
        os.close(to_browser_r)
        os.close(from_browser_w)
        self._stderr: list[bytes] = []
        threading.Thread(target=self._drain_stderr, daemon=True).start()
        self._buf = b""
        self._next_id = 0
        self.events: list[dict[str, Any]] = []
        self.session: str | None = None

    def _drain_stderr(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self._stderr.append(line)

    def stderr_tail(self) -> str:
        """The last 20 lines Chromium wrote to stderr."""
        return b"".join(self._stderr[-20:]).decode("utf-8", "replace")

    def _read_message(self, deadline: float) -> dict[str, Any]:
        import select

        while b"\0" not in self._buf:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise BrowserError("timed out waiting for Chromium; stderr:\n" + self.stderr_tail())
            ready, _, _ = select.select([self._from_browser], [], [], remaining)
            if not ready:
                continue
            chunk = os.read(self._from_browser, 1 << 20)
            if not chunk:
                raise BrowserError("Chromium closed the DevTools pipe; stderr:\n" + self.stderr_tail())
            self._buf += chunk
        raw, self._buf = self._buf.split(b"\0", 1)
        return json.loads(raw)

    def _on_event(self, event: dict[str, Any]) -> None:
        if "method" not in event:
            return
        self.events.append(event)
        if event["method"] == "Page.javascriptDialogOpening":
            # Answer the dialog so the page does not hang; callers report it as a failure.
            self._next_id += 1
            answer = {
                "id": self._next_id,
                "method": "Page.handleJavaScriptDialog",
                "params": {"accept": False},
                "sessionId": event.get("sessionId", self.session),
            }
            os.write(self._to_browser, json.dumps(answer).encode() + b"\0")

    def send(self, method: str, params: dict[str, Any] | None = None, *, browser: bool = False) -> Any:
        """Send one command (to the attached page unless ``browser``) and return its result."""
        self._next_id += 1
        msg: dict[str, Any] = {"id": self._next_id, "method": method, "params": params or {}}
        if self.session is not None and not browser:
            msg["sessionId"] = self.session
        os.write(self._to_browser, json.dumps(msg).encode() + b"\0")
        deadline = time.monotonic() + self.timeout_s
        while True:
            reply = self._read_message(deadline)
            if reply.get("id") == msg["id"]:
                if "error" in reply:
                    raise BrowserError(f"{method} failed: {reply['error']}")
                return reply.get("result", {})
            self._on_event(reply)

    def pump(self, seconds: float) -> None:
        """Collect events for ``seconds``."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                self._on_event(self._read_message(deadline))
            except BrowserError:
                return

    def wait_for(self, method: str, timeout_s: float, *, since: int = 0) -> bool:
        """Whether an event ``method`` arrives (or is already in ``events[since:]``) within ``timeout_s``."""
        deadline = time.monotonic() + timeout_s
        while True:
            if any(e["method"] == method for e in self.events[since:]):
                return True
            if time.monotonic() >= deadline:
                return False
            try:
                self._on_event(self._read_message(deadline))
            except BrowserError:
                return False

    def attach_new_page(self, domains: Sequence[str] = ()) -> None:
        """Open a blank page, attach to it (flattened session) and enable ``domains``."""
        target = self.send("Target.createTarget", {"url": "about:blank"}, browser=True)
        attached = self.send(
            "Target.attachToTarget", {"targetId": target["targetId"], "flatten": True}, browser=True
        )
        self.session = attached["sessionId"]
        for domain in domains:
            self.send(f"{domain}.enable")

    def evaluate(self, expression: str) -> Any:
        """Value of a JavaScript expression in the page (``returnByValue``)."""
        r = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True})
        if "exceptionDetails" in r:
            raise BrowserError(f"evaluation failed: {r['exceptionDetails']}")
        return r["result"].get("value")

    def close(self) -> None:
        """Close the browser (kill it after 5 s) and remove its profile."""
        try:
            if self.proc.poll() is None:
                with contextlib.suppress(BrowserError, OSError):
                    self.send("Browser.close", browser=True)
                try:
                    self.proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait(timeout=5)
        finally:
            for fd in (self._to_browser, self._from_browser):
                with contextlib.suppress(OSError):
                    os.close(fd)
            shutil.rmtree(self._profile, ignore_errors=True)
