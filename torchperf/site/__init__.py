"""torchperf's pages in the site ``asv publish`` writes, the offline assets, the asv plugin.

Above :mod:`torchperf.history` (which keeps the pure analysis: asv results in,
frames and findings out), this package writes files:

- :mod:`torchperf.site.pages` -- :func:`publish` / :func:`build_pages`: regressions,
  Pareto plots per revision, environments, under ``<html_dir>/torchperf/``;
- :mod:`torchperf.site.offline` -- :func:`vendor_asv_assets`: asv's JavaScript/CSS
  served from the site itself, so it works without internet;
- :mod:`torchperf.site.asv_plugin` -- the optional asv publisher plugin
  (``"plugins": [".torchperf.site.asv_plugin"]`` in ``asv.conf.json``), which
  imports asv and is therefore never imported from here.

Names are resolved lazily, so ``import torchperf.site`` imports neither pandas nor
matplotlib.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS: dict[str, str] = {
    "NAV_ID": "torchperf.site.pages",
    "ParetoData": "torchperf.site.pages",
    "build_pages": "torchperf.site.pages",
    "inject_nav_link": "torchperf.site.pages",
    "pareto_data": "torchperf.site.pages",
    "publish": "torchperf.site.pages",
    "revision_pareto_figure": "torchperf.site.pages",
    "vendor_asv_assets": "torchperf.site.offline",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'torchperf.site' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
