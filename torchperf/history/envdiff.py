"""Environment effects: the same commit measured in two environments (NumPy 1.26 vs 2.x, BLAS ...).

asv cannot compare across environments; torchperf can, because its series are
keyed by environment. :func:`compare_environments` pairs the results of one
commit in two environments on the same machine and tests each benchmark with
the machinery of :func:`torchperf.history.compare_revisions` (log ratio, CI,
run-to-run noise from the history of both series, BH across the suite).
:func:`environment_table` lists what is known about each environment: Python,
asv matrix parameters (``env_*`` columns) and, from torchperf's side store, the
NumPy version actually imported and the BLAS library, version and threads.

In the history, series never mix environments, so an environment switch is
never reported as a code regression; a step inside one environment name that
coincides with a change of those facts is labelled ``cause="environment"`` by
:func:`torchperf.history.detect_change_points`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from torchperf.errors import InvalidParameterError
from torchperf.history.changepoints import _check_frame, threshold_for
from torchperf.history.compare import (
    Finding,
    _finalise,
    _pair,
    _raw_finding,
    _rows_at,
    _sigmas,
    _validate,
)
from torchperf.history.loader import resolve_commit

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = ["EnvDifference", "compare_environments", "environment_table"]

_FACTS = ("python", "numpy_version", "blas_library", "blas_version", "blas_threads")


@dataclass(frozen=True)
class EnvDifference(Finding):
    """A :class:`~torchperf.history.Finding` between two environments at one commit.

    ``env`` is the baseline environment, ``env_after`` the other one;
    ``commit_before == commit_after``; ``facts_before`` / ``facts_after`` hold
    Python, matrix parameters, NumPy and BLAS facts of each environment;
    ``kind == "environment"``.
    """


def _facts(row: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in row.items():
        if (k in _FACTS or k.startswith("env_")) and k != "env_name" and k != "env_params":
            if v is None or (isinstance(v, float) and math.isnan(v)):
                continue
            out[k] = v
    return out


def environment_table(df: pd.DataFrame, commit: str | None = None) -> pd.DataFrame:
    """One row per (machine, environment): Python, matrix parameters, NumPy and BLAS facts.

    Parameters
    ----------
    df : pandas.DataFrame
        From :func:`torchperf.history.load_results`.
    commit : str, optional
        Restrict to one commit (hash prefix); by default the facts of each
        environment's latest commit are shown.

    Returns
    -------
    pandas.DataFrame
        Columns ``machine``, ``env_name``, ``commit``, ``n_commits``, ``python``,
        the ``env_*`` matrix columns, ``numpy_version``, ``blas_library``,
        ``blas_version``, ``blas_threads`` (missing when the side store has no record).

    """
    _check_frame(df)
    sub = df
    if commit is not None:
        sub = df[df["commit"] == resolve_commit(df, commit)]
    cols = [c for c in sub.columns if c.startswith("env_") and c not in ("env_name", "env_params")]
    cols += [c for c in _FACTS if c in sub.columns]
    counts = sub.groupby(["machine", "env_name"])["commit"].nunique().rename("n_commits")
    latest = sub.sort_values("revision").groupby(["machine", "env_name"], as_index=False).last()
    table = latest[["machine", "env_name", "commit", *cols]].merge(
        counts.reset_index(), on=["machine", "env_name"]
    )
    return table[["machine", "env_name", "commit", "n_commits", *cols]]


def compare_environments(
    df: pd.DataFrame,
    env_a: str,
    env_b: str,
    commit: str | None = None,
    *,
    confidence_level: float = 0.95,
    fdr: float = 0.05,
    thresholds: float | Mapping[str, float] | None = None,
    default_threshold: float = 0.05,
    equivalence_margin: float | None = None,
    min_history: int = 8,
) -> list[EnvDifference]:
    """Which benchmarks differ significantly between two environments at the same commit.

    Parameters
    ----------
    df : pandas.DataFrame
        From :func:`torchperf.history.load_results`.
    env_a, env_b : str
        asv environment names (``env_name`` column), baseline first, e.g.
        ``"virtualenv-py3.11-numpy1.26"`` and ``"virtualenv-py3.11-numpy2.1"``.
    commit : str, optional
        Commit (hash prefix). Default: the latest commit measured in both environments.
    confidence_level, fdr, thresholds, default_threshold, equivalence_margin, min_history
        As in :func:`torchperf.history.compare_revisions`; run-to-run noise is
        pooled from the histories of both environments' series.

    Returns
    -------
    list of EnvDifference
        ``ratio`` is ``env_b / env_a``; ``direction`` is ``"regression"`` when
        ``env_b`` is significantly worse beyond threshold. Sorted like
        :func:`~torchperf.history.compare_revisions`.

    Raises
    ------
    InvalidParameterError
        Unknown environment, no commit measured in both, or bad parameters.

    """
    _validate(confidence_level, fdr)
    _check_frame(df)
    envs = set(df["env_name"].unique())
    for name, env in (("env_a", env_a), ("env_b", env_b)):
        if env not in envs:
            raise InvalidParameterError(
                f"`{name}` {env!r} is not an environment in these results; known: {sorted(envs)}."
            )
    if env_a == env_b:
        raise InvalidParameterError("`env_a` and `env_b` are the same environment; pass two.")
    da, db = df[df["env_name"] == env_a], df[df["env_name"] == env_b]
    if commit is None:
        both = set(da["commit"]) & set(db["commit"])
        if not both:
            raise InvalidParameterError(
                f"no commit was measured in both {env_a!r} and {env_b!r}; run asv for the same "
                "commit in both environments."
            )
        commit = max(both, key=lambda c: int(df.loc[df["commit"] == c, "revision"].iloc[0]))
    else:
        commit = resolve_commit(df, commit)
    if thresholds is None:
        thresholds = df.attrs.get("regressions_thresholds") or None
    ra, rb = _rows_at(da, commit), _rows_at(db, commit)
    sa, sb = _sigmas(da), _sigmas(db)
    ka = {(k[0], k[2], k[3]): v for k, v in ra.items()}
    kb = {(k[0], k[2], k[3]): v for k, v in rb.items()}
    raw = []
    for key in sorted(set(ka) & set(kb), key=str):
        a, b = ka[key], kb[key]
        s1, n1 = sa.get((key[0], env_a, key[1], key[2]), (math.nan, 0))
        s2, n2 = sb.get((key[0], env_b, key[1], key[2]), (math.nan, 0))
        sig = math.sqrt((s1**2 + s2**2) / 2) if math.isfinite(s1) and math.isfinite(s2) else math.nan
        t = _pair(a, b, sig, min(n1, n2), min_history=min_history, cl=confidence_level)
        raw.append(
            _raw_finding(
                a, b, t, benchmark=key[1], machine=key[0], env=env_a, env_after=env_b,
                commit_before=commit, commit_after=commit, confidence_level=confidence_level,
                threshold=threshold_for(f"{key[1]}{key[2]}", thresholds, default_threshold),
                kind="environment", facts_before=_facts(a), facts_after=_facts(b),
            )
        )
    return _finalise(raw, fdr, equivalence_margin, cls=EnvDifference)  # type: ignore[return-value]
