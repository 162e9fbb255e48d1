"""A benchmark run as a typed, frozen value: :class:`Run`, and its file ``results.json``.

A :class:`~torchperf.suite.BenchmarkSuite` (or ``torchperf run``) produces a :class:`Run`;
reports (:mod:`torchperf.report`), the leaderboard and ``torchperf compare`` read one.
:meth:`Run.load` / :meth:`Run.save` read and write the file, :meth:`Run.to_frame` gives
one row per model x metric.

The file (schema ``"torchperf.run"``, version 2)::

    {"schema": "torchperf.run", "schema_version": 2,
     "created": ISO-8601, "updated": ISO-8601,
     "environment": {...},            # torchperf.environment.collect_environment(), once
     "environment_fingerprint": str,  # present when "environment" is not empty
     "protocol": {...},               # warmup_runs, measurement_runs, metrics, baseline, ...
     "models": [name, ...],           # every model of the run, suite order (baseline first)
     "results": {metric: {model: BenchmarkResult.to_dict()}},
     "failures": {model: {metric: {"error": str, "message": str, ...}}},
     "not_applicable": {metric: {model: reason}},   # e.g. accuracy of a generation model
     "warnings": [{"metric", "model", "category", "message"}, ...],
     "complete": bool, "interrupted": bool}

A result measured under the run's environment stores
``metadata["environment_fingerprint"]`` instead of a copy of the environment;
loading puts the environment back, so a run survives save/load unchanged.

**Versions.** Version 1 (torchperf up to this change) had the same keys but
tolerated more: ``models`` missing or ``null``, a failure recorded flat per
model (``{model: {"error", "message"}}``), results that repeat the whole
environment in their metadata (the first layout), ``complete`` /
``interrupted`` / ``created`` missing. :func:`upgrade_v1` turns such a
document into version 2 explicitly; :meth:`Run.from_dict` applies it to every
version-1 document it reads, so every ``results.json`` written by an earlier
torchperf still loads, and :meth:`Run.save` always writes version 2.

For compatibility a :class:`Run` is also a read-only mapping with the file's
keys (``run["results"]["latency"]["mlp"]``, ``run["complete"]``), which is what
:func:`torchperf.suite.load_run` returned before.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from torchperf.errors import InvalidParameterError, ResultsFileError
from torchperf.fileio import atomic_write_json, read_json, to_jsonable
from torchperf.metrics import Direction

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from torchperf.result import BenchmarkResult

__all__ = [
    "RUN_SCHEMA",
    "RUN_SCHEMA_VERSION",
    "Run",
    "RunFlags",
    "build_run",
    "environment_fingerprint",
    "results_frame",
    "upgrade_v1",
]

RUN_SCHEMA = "torchperf.run"
#: The version :meth:`Run.save` writes.
RUN_SCHEMA_VERSION = 2
#: Versions :meth:`Run.from_dict` reads (older ones through an explicit upgrade).
READABLE_VERSIONS = (1, 2)

#: The keys of a run document, in file order (``environment_fingerprint`` is derived).
RUN_KEYS: tuple[str, ...] = (
    "schema",
    "schema_version",
    "created",
    "updated",
    "environment",
    "protocol",
    "models",
    "results",
    "failures",
    "not_applicable",
    "warnings",
    "complete",
    "interrupted",
)


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


def environment_fingerprint(environment: Mapping[str, Any]) -> str:
    """Return a short, stable hash of an environment dict (16 hex digits of SHA-256).

    Two environments with the same JSON content have the same fingerprint.
    A run file stores its environment once, at run level; each result's
    metadata refers to it by this fingerprint instead of repeating it.
    """
    text = json.dumps(to_jsonable(environment), sort_keys=True, allow_nan=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def _frozen(value: Any) -> Any:
    """A deep read-only copy of JSON-like data (mappings -> mappingproxy, lists -> tuples)."""
    if isinstance(value, Mapping):
        return MappingProxyType({str(k): _frozen(v) for k, v in value.items()})
    if isinstance(value, (list, tuple)):
        return tuple(_frozen(v) for v in value)
    return value


def _thawed(value: Any) -> Any:
    """Plain dicts and lists again (for JSON and for callers that mutate)."""
    if isinstance(value, Mapping):
        return {k: _thawed(v) for k, v in value.items()}
    if isinstance(value, tuple):
        return [_thawed(v) for v in value]
    return value


@dataclass(frozen=True)
class RunFlags:
    """Whether a run finished.

    Attributes
    ----------
    complete : bool
        Every model x metric task ran (``False`` while running or after an interruption).
    interrupted : bool
        The run stopped early (Ctrl-C, ``strict=True`` and a failing model, a failing
        progress hook); what finished is saved.

    """

    complete: bool = False
    interrupted: bool = False


@dataclass(frozen=True, eq=False)
class Run(Mapping[str, Any]):
    """One benchmark run: provenance, results, failures, flags. Immutable.

    Build one with :meth:`from_dict` (a parsed ``results.json`` of any readable
    version, or a dict whose results are already :class:`~torchperf.BenchmarkResult`)
    or :meth:`load`; change one with :meth:`replace`.

    Attributes
    ----------
    environment : Mapping
        :func:`torchperf.environment.collect_environment` of the machine (read-only).
    protocol : Mapping
        How it was measured: ``warmup_runs``, ``measurement_runs``, ``metrics``,
        ``baseline``, ``correction``, ``confidence_level``, ... (read-only).
    models : tuple of str
        Every model of the run in display order (baseline first).
    results : Mapping
        ``{metric: {model: BenchmarkResult}}`` (read-only).
    failures : Mapping
        ``{model: {metric: {"error", "message", ...}}}`` (read-only).
    not_applicable : Mapping
        ``{metric: {model: reason}}``: tasks skipped because the metric does not apply.
    warnings : tuple of Mapping
        Warnings recorded while measuring (``metric``, ``model``, ``category``, ``message``).
    flags : RunFlags
        ``complete`` / ``interrupted``.
    created, updated : str
        ISO-8601 timestamps of the start and of the last save.

    """

    environment: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    protocol: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    models: tuple[str, ...] = ()
    results: Mapping[str, Mapping[str, BenchmarkResult]] = field(default_factory=lambda: MappingProxyType({}))
    failures: Mapping[str, Mapping[str, Mapping[str, Any]]] = field(default_factory=lambda: MappingProxyType({}))
    not_applicable: Mapping[str, Mapping[str, str]] = field(default_factory=lambda: MappingProxyType({}))
    warnings: tuple[Mapping[str, Any], ...] = ()
    flags: RunFlags = field(default_factory=RunFlags)
    created: str = ""
    updated: str = ""

    # ------------------------------------------------------------ construction

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any], *, source: str = "run") -> Run:
        """Validate a run document (version 1 or 2) and return it as a :class:`Run`.

        Parameters
        ----------
        doc : Mapping
            Parsed ``results.json`` (results as dicts), or a run whose results are
            already ``BenchmarkResult`` objects (:meth:`BenchmarkSuite.to_run`), or a
            :class:`Run` (returned as is).
        source : str
            How to name the run in error messages (usually its path).

        Returns
        -------
        Run

        Raises
        ------
        ResultsFileError
            If the document is not a torchperf run, has an unknown schema version,
            or any part of it is malformed; the message names ``source`` and the part.

        """
        if isinstance(doc, Run):
            return doc
        if not isinstance(doc, Mapping):
            raise ResultsFileError(
                f"{source} must hold a JSON object (a torchperf run); got {type(doc).__name__}."
            )
        schema = doc.get("schema")
        if schema != RUN_SCHEMA:
            raise ResultsFileError(
                f"{source} is not a torchperf run file: schema is {schema!r}, expected {RUN_SCHEMA!r}. "
                "Pass the results.json written by `torchperf run` or BenchmarkSuite."
            )
        version = doc.get("schema_version")
        if isinstance(version, bool) or version not in READABLE_VERSIONS:
            raise ResultsFileError(
                f"{source} has schema_version {version!r}; this torchperf reads versions "
                f"{', '.join(map(str, READABLE_VERSIONS))}. Upgrade torchperf or re-run the benchmark."
            )
        if version == 1:
            doc = upgrade_v1(doc, source=source)
        return cls._from_v2(doc, source)

    @classmethod
    def _from_v2(cls, doc: Mapping[str, Any], source: str) -> Run:
        env = doc.get("environment")
        if not isinstance(env, Mapping):
            raise ResultsFileError(f"{source}: 'environment' must be a JSON object; got {type(env).__name__}.")
        fingerprint = environment_fingerprint(env) if env else None
        raw_results = doc.get("results")
        if not isinstance(raw_results, Mapping):
            raise ResultsFileError(f"{source}: 'results' must be an object {{metric: {{model: result}}}}.")
        results: dict[str, dict[str, BenchmarkResult]] = {}
        for metric, per_model in raw_results.items():
            if not isinstance(per_model, Mapping):
                raise ResultsFileError(f"{source}: results[{metric!r}] must be an object {{model: result}}.")
            results[str(metric)] = {
                str(model): _result_from_dict(
                    _inflate_environment(d, env, fingerprint), where=f"{source}: results[{metric!r}][{model!r}]"
                )
                for model, d in per_model.items()
            }
        protocol = doc.get("protocol")
        if not isinstance(protocol, Mapping):
            raise ResultsFileError(f"{source}: 'protocol' must be a JSON object; got {type(protocol).__name__}.")
        failures = doc.get("failures")
        if not isinstance(failures, Mapping) or not all(
            isinstance(per, Mapping) and all(isinstance(rec, Mapping) for rec in per.values())
            for per in failures.values()
        ):
            raise ResultsFileError(
                f"{source}: 'failures' must be an object {{model: {{metric: {{\"error\", \"message\"}}}}}}."
            )
        not_applicable = doc.get("not_applicable")
        if not isinstance(not_applicable, Mapping) or not all(
            isinstance(per, Mapping) and all(isinstance(v, str) for v in per.values())
            for per in not_applicable.values()
        ):
            raise ResultsFileError(f"{source}: 'not_applicable' must be an object {{metric: {{model: reason}}}}.")
        warns = doc.get("warnings")
        if not isinstance(warns, (list, tuple)) or not all(isinstance(w, Mapping) for w in warns):
            raise ResultsFileError(f"{source}: 'warnings' must be a list of objects.")
        complete, interrupted = doc.get("complete"), doc.get("interrupted")
        if not isinstance(complete, bool) or not isinstance(interrupted, bool):
            raise ResultsFileError(f"{source}: 'complete' and 'interrupted' must be true or false.")
        models = doc.get("models")
        if not isinstance(models, (list, tuple)) or not all(isinstance(m, str) for m in models):
            raise ResultsFileError(f"{source}: 'models' must be a list of model names.")
        names = list(models) + [m for m in _names_in(results, failures, not_applicable) if m not in models]
        return cls(
            environment=_frozen(env),
            protocol=_frozen(protocol),
            models=tuple(names),
            results=MappingProxyType({m: MappingProxyType(per) for m, per in results.items()}),
            failures=_frozen(failures),
            not_applicable=_frozen(not_applicable),
            warnings=tuple(_frozen(w) for w in warns),
            flags=RunFlags(complete=complete, interrupted=interrupted),
            created=str(doc.get("created") or ""),
            updated=str(doc.get("updated") or doc.get("created") or ""),
        )

    @classmethod
    def load(cls, path: str | Path) -> Run:
        """Read a ``results.json`` (any readable version).

        Parameters
        ----------
        path : str or Path
            The file written by :class:`~torchperf.BenchmarkSuite` / ``torchperf run``,
            or the directory that holds ``results.json``.

        Returns
        -------
        Run

        Raises
        ------
        ResultsFileError
            If the file is missing, not JSON, truncated, not a torchperf run or of an
            unknown schema version.

        """
        p = Path(path)
        if p.is_dir():
            p = p / "results.json"
        return cls.from_dict(read_json(p, what="results file"), source=str(p))

    # ------------------------------------------------------------ output

    def to_dict(self) -> dict[str, Any]:
        """The version-2 JSON document (plain dicts and lists; results as ``to_dict()``)."""
        env = to_jsonable(_thawed(self.environment))
        fingerprint = environment_fingerprint(env) if env else None
        results: dict[str, dict[str, Any]] = {}
        for metric, per_model in self.results.items():
            results[metric] = {}
            for model, r in per_model.items():
                d = r.to_dict() if hasattr(r, "to_dict") else dict(r)
                meta = d.get("metadata")
                if (
                    fingerprint is not None
                    and isinstance(meta, Mapping)
                    and "environment" in meta
                    and to_jsonable(meta["environment"]) == env
                ):
                    meta = {k: v for k, v in meta.items() if k != "environment"}
                    meta["environment_fingerprint"] = fingerprint
                    d = {**d, "metadata": meta}
                results[metric][model] = d
        doc: dict[str, Any] = {
            "schema": RUN_SCHEMA,
            "schema_version": RUN_SCHEMA_VERSION,
            "created": self.created,
            "updated": self.updated,
            "environment": env,
        }
        if fingerprint is not None:
            doc["environment_fingerprint"] = fingerprint
        doc.update(
            protocol=to_jsonable(_thawed(self.protocol)),
            models=list(self.models),
            results=results,
            failures=to_jsonable(_thawed(self.failures)),
            not_applicable=_thawed(self.not_applicable),
            warnings=to_jsonable([_thawed(w) for w in self.warnings]),
            complete=self.flags.complete,
            interrupted=self.flags.interrupted,
        )
        return doc

    def save(self, path: str | Path, *, touch: bool = True) -> Path:
        """Write the run atomically as version 2 (temporary file, fsync, rename).

        Parameters
        ----------
        path : str or Path
            Destination, usually ``output_dir / "results.json"``.
        touch : bool, default True
            Set ``updated`` (and ``created`` when empty) to now.

        Returns
        -------
        pathlib.Path
            The written file.

        """
        run = self
        if touch:
            now = _now()
            run = replace(self, created=self.created or now, updated=now)
        return atomic_write_json(path, run.to_dict())

    def to_frame(self) -> pd.DataFrame:
        """One row per model x metric; see :func:`results_frame`."""
        return results_frame(self.results)

    def replace(self, **changes: Any) -> Run:
        """A validated copy with some fields changed.

        Parameters
        ----------
        **changes
            Any of ``environment``, ``protocol``, ``models``, ``results``, ``failures``,
            ``not_applicable``, ``warnings``, ``flags`` (a :class:`RunFlags`),
            ``complete``, ``interrupted``, ``created``, ``updated``.

        Raises
        ------
        InvalidParameterError
            For another name.
        ResultsFileError
            If a changed part is malformed.

        """
        allowed = (set(RUN_KEYS) - {"schema", "schema_version"}) | {"flags"}
        unknown = sorted(set(changes) - allowed)
        if unknown:
            raise InvalidParameterError(f"Run.replace() got unknown field(s) {unknown}; known: {sorted(allowed)}.")
        doc = {k: self[k] for k in RUN_KEYS}
        flags = changes.pop("flags", None)
        if flags is not None:
            if not isinstance(flags, RunFlags):
                raise InvalidParameterError(f"`flags` must be a RunFlags; got {type(flags).__name__}.")
            doc["complete"], doc["interrupted"] = flags.complete, flags.interrupted
        doc.update(changes)
        return Run.from_dict(doc, source="Run.replace()")

    # ------------------------------------------------------------ convenience

    @property
    def complete(self) -> bool:
        """``self.flags.complete``."""
        return self.flags.complete

    @property
    def interrupted(self) -> bool:
        """``self.flags.interrupted``."""
        return self.flags.interrupted

    @property
    def baseline(self) -> str | None:
        """The protocol's baseline model, else the first model (``None`` for an empty run)."""
        b = self.protocol.get("baseline")
        if isinstance(b, str):
            return b
        return self.models[0] if self.models else None

    # ------------------------------------------------------------ the legacy mapping view

    def __getitem__(self, key: str) -> Any:
        """The file's keys, as plain dicts and lists (copies: the run itself stays frozen)."""
        if key == "schema":
            return RUN_SCHEMA
        if key == "schema_version":
            return RUN_SCHEMA_VERSION
        if key in ("complete", "interrupted"):
            return getattr(self.flags, key)
        if key == "results":
            return {metric: dict(per) for metric, per in self.results.items()}
        if key in ("created", "updated"):
            return getattr(self, key)
        if key in RUN_KEYS:
            return _thawed(getattr(self, key))
        raise KeyError(key)

    def __iter__(self) -> Iterator[str]:
        return iter(RUN_KEYS)

    def __len__(self) -> int:
        return len(RUN_KEYS)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Run):
            return all(self[k] == other[k] for k in RUN_KEYS)
        if isinstance(other, Mapping):
            return dict(self.items()) == dict(other.items())
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # mutable-looking mapping semantics: not hashable

    def __repr__(self) -> str:
        n = sum(len(per) for per in self.results.values())
        state = "complete" if self.complete else ("interrupted" if self.interrupted else "incomplete")
        return f"Run({len(self.models)} models, {n} results, {len(self.failures)} failed, {state})"


# --------------------------------------------------------------------------- version 1


def upgrade_v1(doc: Mapping[str, Any], *, source: str = "run") -> dict[str, Any]:
    """Turn a version-1 run document into a version-2 one (a new dict; ``doc`` is untouched).

    What changes:

    * missing ``created`` / ``updated`` / ``complete`` / ``interrupted`` /
      ``environment`` / ``protocol`` / ``failures`` / ``not_applicable`` /
      ``warnings`` (or ``null``) get their empty value (``complete`` false);
    * ``models`` missing or ``null`` becomes the models found in results, failures
      and not_applicable, in that order;
    * a failure stored flat per model (``{model: {"error", "message"}}``) becomes
      ``{model: {"": {...}}}`` (the metric was not recorded);
    * results are kept as they are: a full environment in a result's metadata (the
      first version-1 layout) is still accepted and is replaced by the fingerprint on
      the next save.

    Parameters
    ----------
    doc : Mapping
        A parsed version-1 ``results.json``.
    source : str
        For error messages.

    Returns
    -------
    dict
        A version-2 document for :meth:`Run.from_dict`.

    Raises
    ------
    ResultsFileError
        If ``doc`` is not a version-1 run, or a part has the wrong type.

    """
    if not isinstance(doc, Mapping) or doc.get("schema") != RUN_SCHEMA or doc.get("schema_version") != 1:
        raise ResultsFileError(f"{source} is not a version-1 torchperf run; cannot upgrade it.")
    out = dict(doc)
    for key, empty in (
        ("environment", {}), ("protocol", {}), ("failures", {}), ("not_applicable", {}),
        ("warnings", []), ("results", {}),
    ):  # fmt: skip
        if out.get(key) is None:
            out[key] = empty
    out["created"] = str(out.get("created") or "")
    out["updated"] = str(out.get("updated") or out["created"])
    for key in ("complete", "interrupted"):
        if key not in out:
            out[key] = False
    out["failures"] = _nest_failures(out["failures"], source)
    if out.get("models") is None:
        results = out["results"] if isinstance(out["results"], Mapping) else {}
        na = out["not_applicable"] if isinstance(out["not_applicable"], Mapping) else {}
        out["models"] = _names_in(
            {m: per for m, per in results.items() if isinstance(per, Mapping)},
            out["failures"] if isinstance(out["failures"], Mapping) else {},
            {m: per for m, per in na.items() if isinstance(per, Mapping)},
        )
    out["schema_version"] = 2
    out.pop("environment_fingerprint", None)  # recomputed from the environment
    return out


# --------------------------------------------------------------------------- helpers


def _nest_failures(failures: Any, source: str) -> Any:
    """``{model: {"error", "message"}}`` (flat, version 1) -> ``{model: {"": {...}}}``."""
    if not isinstance(failures, Mapping):
        return failures  # reported by the validation
    fixed: dict[str, Any] = {}
    for model, rec in failures.items():
        if not isinstance(rec, Mapping):
            raise ResultsFileError(f"{source}: failures[{model!r}] must be a JSON object.")
        flat = any(not isinstance(v, Mapping) for v in rec.values())
        fixed[str(model)] = {"": dict(rec)} if flat else dict(rec)
    return fixed


def _names_in(
    results: Mapping[str, Mapping[str, Any]], failures: Mapping[str, Any], not_applicable: Mapping[str, Mapping[str, Any]]
) -> list[str]:
    names: list[str] = []
    for per_model in results.values():
        names.extend(str(m) for m in per_model if str(m) not in names)
    names.extend(str(m) for m in failures if str(m) not in names)
    for per in not_applicable.values():
        names.extend(str(m) for m in per if str(m) not in names)
    return names


def _result_from_dict(d: Any, *, where: str) -> BenchmarkResult:
    from torchperf.result import BenchmarkResult

    if isinstance(d, BenchmarkResult):
        return d
    if not isinstance(d, Mapping):
        raise ResultsFileError(f"{where} must be a JSON object (a BenchmarkResult); got {type(d).__name__}.")
    try:
        return BenchmarkResult.from_dict(d)
    except ResultsFileError as exc:
        raise ResultsFileError(f"{where}: {exc}") from None
    except (TypeError, ValueError, KeyError, AttributeError) as exc:
        raise ResultsFileError(
            f"{where} is not a valid BenchmarkResult ({type(exc).__name__}: {exc}); "
            "the results file is corrupt. Re-run the benchmark that produced it."
        ) from None


def _inflate_environment(d: Any, env: Mapping[str, Any], fingerprint: str | None) -> Any:
    """Undo :meth:`Run.to_dict`'s environment reference in one result dict."""
    if fingerprint is None or not isinstance(d, Mapping):
        return d
    meta = d.get("metadata")
    if isinstance(meta, Mapping) and "environment" not in meta and meta.get("environment_fingerprint") == fingerprint:
        meta = {k: v for k, v in meta.items() if k != "environment_fingerprint"}
        meta["environment"] = env
        return {**d, "metadata": meta}
    return d


def _failure_reason(entry: Any) -> str:
    if isinstance(entry, Mapping):
        return str(entry.get("message") or entry.get("error") or entry.get("cause") or "failed")
    return str(entry)


def results_frame(
    results: Mapping[str, Mapping[str, BenchmarkResult]] | Run,
    *,
    not_applicable: Mapping[str, Mapping[str, str]] | None = None,
    failures: Mapping[str, Mapping[str, Any]] | None = None,
) -> pd.DataFrame:
    """Return a tidy DataFrame with one row per model x metric.

    ``results`` is ``{metric: {model: BenchmarkResult}}`` or a whole run (what
    :func:`load_run` returns; its ``not_applicable`` and ``failures`` are used too), so
    ``results_frame(load_run(path))`` composes.

    Columns: ``model, metric, status, reason, mean, median, std, cv, ci_low,
    ci_high, ci_method, median_ci_low, median_ci_high, median_ci_coverage,
    n, unit, direction``.

    ``ci_low`` / ``ci_high`` are a confidence interval of the mean. For the
    built-in metrics (latency, throughput, accuracy, memory, size: none can be
    negative) it is :func:`torchperf.stats.nonnegative_mean_ci`, so it never
    reaches below zero; ``ci_method`` names the interval used
    (``student-t``, ``log-cox`` or ``student-t-truncated``). ``median_ci_low``
    / ``median_ci_high`` are the order-statistic interval of the median and
    ``median_ci_coverage`` the coverage that interval really has.
    ``direction`` is ``"lower_is_better"`` / ``"higher_is_better"``.

    ``status`` is ``"ok"`` for a measured pair; with ``not_applicable``
    (``{metric: {model: reason}}``) and ``failures`` (``{model: {metric:
    entry}}``) the pairs that have no result get a row too, with status
    ``"n/a"`` or ``"failed"``, the ``reason`` and empty (NaN) numbers.
    """
    import pandas as pd

    from torchperf.text import utf8_safe

    if isinstance(results, Run) or (
        isinstance(results, Mapping) and isinstance(results.get("results"), Mapping)
        and "schema" in results
    ):  # a whole run (what load_run returns): its results, n/a and failed pairs
        run = results
        results = run["results"]
        if not_applicable is None and isinstance(run.get("not_applicable"), Mapping):
            not_applicable = run["not_applicable"]
        if failures is None and isinstance(run.get("failures"), Mapping):
            failures = run["failures"]
    rows = []
    for metric, per_model in results.items():
        for model, r in per_model.items():
            med_lo, med_hi = r.median_ci
            lo, hi, method = r.bounded_mean_ci()
            rows.append(
                {
                    # a lone surrogate cannot be stored as UTF-8: \ud800 (torchperf.text)
                    "model": utf8_safe(model),
                    "metric": metric,
                    "status": "ok",
                    "reason": "",
                    "mean": r.mean,
                    "median": r.median,
                    "std": r.std,
                    "cv": r.cv,
                    "ci_low": lo,
                    "ci_high": hi,
                    "ci_method": method,
                    "median_ci_low": med_lo,
                    "median_ci_high": med_hi,
                    "median_ci_coverage": getattr(r, "median_ci_coverage", math.nan),
                    "n": r.count,
                    "unit": r.unit,
                    "direction": Direction.from_flag(r.lower_is_better).value,
                }
            )
    missing: list[tuple[str, str, str, str]] = []
    for metric, per in (not_applicable or {}).items():
        for model, reason in per.items():
            if model not in results.get(metric, {}):
                missing.append((str(model), str(metric), "n/a", str(reason)))
    for model, per in (failures or {}).items():
        if isinstance(per, Mapping):
            for metric, entry in per.items():
                if model not in results.get(metric, {}):
                    missing.append((str(model), str(metric), "failed", _failure_reason(entry)))
    for model, metric, status, reason in missing:
        from torchperf.metrics import METRICS

        known = METRICS.get(metric)
        rows.append(
            {
                "model": utf8_safe(model),
                "metric": metric,
                "status": status,
                "reason": utf8_safe(reason),
                "n": 0,
                "unit": known.unit if known is not None else "",
                "direction": Direction.from_flag(known.lower_is_better).value if known is not None else "",
            }
        )
    columns = [
        "model", "metric", "status", "reason", "mean", "median", "std", "cv", "ci_low", "ci_high",
        "ci_method", "median_ci_low", "median_ci_high", "median_ci_coverage", "n", "unit", "direction",
    ]  # fmt: skip
    return pd.DataFrame(rows, columns=columns)


def build_run(
    results: Mapping[str, Mapping[str, Any]],
    *,
    environment: Mapping[str, Any] | None = None,
    protocol: Mapping[str, Any] | None = None,
    models: Sequence[str] | None = None,
    failures: Mapping[str, Any] | None = None,
    not_applicable: Mapping[str, Mapping[str, str]] | None = None,
    warnings_: Sequence[Mapping[str, Any]] = (),
    complete: bool = True,
    interrupted: bool = False,
    created: str | None = None,
    source: str = "run",
) -> Run:
    """A validated :class:`Run` from its parts (results as objects or their ``to_dict()``).

    Raises
    ------
    ResultsFileError
        If a part is malformed (as :meth:`Run.from_dict`).
    InvalidParameterError
        If ``complete`` / ``interrupted`` are not booleans.

    """
    if not isinstance(complete, bool) or not isinstance(interrupted, bool):
        raise InvalidParameterError(
            f"`complete` and `interrupted` must be True or False; got {complete!r}, {interrupted!r}."
        )
    doc = {
        "schema": RUN_SCHEMA,
        "schema_version": RUN_SCHEMA_VERSION,
        "created": created or "",
        "updated": created or "",
        "environment": dict(environment or {}),
        "protocol": dict(protocol or {}),
        "models": list(models) if models is not None else [],
        "results": results,
        "failures": _nest_failures(dict(failures or {}), source),
        "not_applicable": {k: dict(v) for k, v in (not_applicable or {}).items()},
        "warnings": [dict(w) for w in warnings_],
        "complete": complete,
        "interrupted": interrupted,
    }
    return Run.from_dict(doc, source=source)
