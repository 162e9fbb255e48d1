"""History analysis of asv results: loading, revision comparison, change points, environments.

Layer 7 of torchperf. Every function here is pure (data in, data out): the CLI
(``torchperf compare`` / ``torchperf regressions``) and the published pages
(:mod:`torchperf.site`, which writes the files) render what these return.

- :func:`load_results` -- any asv results directory -> tidy :class:`pandas.DataFrame`
- :func:`compare_revisions` -- two commits, every benchmark: ratio, CI, p, verdict (FDR-controlled)
- :func:`detect_change_points` / :func:`find_regressions` -- level shifts across the history
- :func:`compare_environments` -- same commit, two environments (NumPy / BLAS effects)
- :func:`assess_history` -- each change open or fixed, caused by code, environment or a broad shift
"""

from __future__ import annotations

from torchperf.history.changepoints import ChangePoint, detect_change_points, find_regressions
from torchperf.history.compare import Finding, compare_revisions, threshold_for
from torchperf.history.envdiff import EnvDifference, compare_environments, environment_table
from torchperf.history.loader import (
    load_asv_config,
    load_env_facts,
    load_results,
    resolve_commit,
)
from torchperf.history.verdicts import Verdict, assess_history, explain_compare

__all__ = [
    "ChangePoint",
    "EnvDifference",
    "Finding",
    "Verdict",
    "assess_history",
    "compare_environments",
    "compare_revisions",
    "detect_change_points",
    "environment_table",
    "explain_compare",
    "find_regressions",
    "load_asv_config",
    "load_env_facts",
    "load_results",
    "resolve_commit",
    "threshold_for",
]
