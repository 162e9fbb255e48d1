"""asv publisher plugin: ``asv publish`` also writes torchperf's pages.

Enable it in ``asv.conf.json``::

    "plugins": [".torchperf.site.asv_plugin"]

(the leading dot makes asv import the module from the directory it runs in,
the project root; with torchperf installed the module is found either way).
asv imports the plugins listed there before every command and, in ``asv
publish``, calls :meth:`TorchperfPages.publish` after it has written its own
graphs (``order`` is infinite, so it runs after asv's built-in publishers).
This module imports nothing heavy at import time.

Environment variables:

* ``TORCHPERF_PUBLISH_OFFLINE=1`` -- also vendor asv's JavaScript (see
  :mod:`torchperf.site.offline`), like ``torchperf publish --offline``.
* ``TORCHPERF_PUBLISH_STRICT=1`` -- a failure in torchperf's pages fails
  ``asv publish``; by default it is logged as an asv warning and asv's own
  site is still written.
"""

from __future__ import annotations

import math
import os
from typing import Any

from asv.publishing import OutputPublisher

__all__ = ["TorchperfPages"]


class TorchperfPages(OutputPublisher):
    """Writes ``<html_dir>/torchperf/`` and links it from asv's navigation bar."""

    name = "torchperf"
    button_label = "torchperf"
    description = "torchperf: regressions, Pareto fronts per revision, environment effects"
    order = math.inf

    @classmethod
    def publish(cls, conf: Any, repo: Any, benchmarks: Any, graphs: Any, revisions: Any) -> None:
        """Called by ``asv publish`` with its configuration; builds torchperf's pages."""
        from asv.console import log

        from torchperf import __version__
        from torchperf.errors import TorchperfError
        from torchperf.site.pages import publish
        from torchperf.zoo import digits_test_examples

        offline = os.environ.get("TORCHPERF_PUBLISH_OFFLINE", "") not in ("", "0", "false", "no")
        strict = os.environ.get("TORCHPERF_PUBLISH_STRICT", "") not in ("", "0", "false", "no")
        thresholds = getattr(conf, "regressions_thresholds", None) or {}
        try:
            page = publish(
                html_dir=conf.html_dir,
                results_dir=conf.results_dir,
                offline=offline,
                asv_config={"regressions_thresholds": dict(thresholds)},
                error_rate_examples=digits_test_examples(),
                torchperf_version=__version__,
            )
        except (TorchperfError, OSError, ValueError) as exc:
            if strict:
                raise
            log.warning(f"torchperf pages were not written: {exc}")
            return
        log.info(f"torchperf pages: {page / 'torchperf' / 'index.html'}")
