"""Build (or load from the on-disk cache) the standard comparison set of zoo models.

The expensive part -- training the MLP, the CNN and the transformer's
read-out -- is cached; the optimized variants (int8, pruned, sparse,
low-rank, torch twin) are derived from the trained weights on every call,
deterministically and in milliseconds.

Cache layout (no pickle anywhere)::

    <cache root>/zoo/<key>/arrays.npz   # trained weights + the digits split, np.savez
    <cache root>/zoo/<key>/meta.json    # schema, key, sha256 of arrays.npz, training facts

``<key>`` combines the cache format version, a hash of the zoo's training
source code and the seed, so editing the training code or changing the seed
never reuses stale weights. Both files are written atomically
(:mod:`torchperf.fileio`); ``arrays.npz`` is loaded with
``allow_pickle=False`` only after its sha256 matches ``meta.json``. An entry
that is missing, truncated, tampered with or of another schema is reported
with a :class:`~torchperf.errors.CorruptResultsWarning` and rebuilt.
"""

from __future__ import annotations

import hashlib
import io
import os
import time
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from torchperf.errors import (
    CorruptResultsWarning,
    InvalidParameterError,
    MissingDependencyError,
    ResultsFileError,
    TorchperfWarning,
)
from torchperf.fileio import atomic_write_bytes, atomic_write_json, read_json
from torchperf.zoo._base import ZooModel
from torchperf.zoo.attention import TinyTransformer
from torchperf.zoo.cnn import CNN
from torchperf.zoo.data import DigitsSplit, _check_seed, load_digits_split
from torchperf.zoo.mlp import MLP
from torchperf.zoo.optimize import low_rank, prune, quantize_int8, torch_available, torch_twin

__all__ = [
    "CACHE_SCHEMA",
    "FAMILIES",
    "ZooBuild",
    "build_comparison_set",
    "build_zoo",
    "code_version",
    "default_cache_dir",
    "family_baselines",
]

CACHE_SCHEMA = "torchperf.zoo.cache"
CACHE_SCHEMA_VERSION = 1
#: Files whose source determines the trained weights (hashed into the cache key).
_TRAINING_SOURCES = ("_base.py", "data.py", "mlp.py", "cnn.py", "attention.py", "build.py")

#: Training settings of the comparison set (part of the hashed source).
MLP_TRAINING = {"epochs": 40, "batch_size": 32, "lr": 3e-3, "weight_decay": 1e-4}
CNN_TRAINING = {"epochs": 15, "batch_size": 32, "lr": 5e-3, "weight_decay": 1e-4}
ATTN_TRAINING = {"epochs": 5, "batch_size": 64, "lr": 2e-2}
PRUNE_SPARSITIES = (0.5, 0.9)
LOW_RANK = 16


def code_version() -> str:
    """Return a short hash of the zoo's training code and the cache schema.

    Returns
    -------
    str
        12 hex digits; changes whenever a file that affects trained weights changes.

    """
    h = hashlib.sha256(f"{CACHE_SCHEMA}:{CACHE_SCHEMA_VERSION}".encode())
    here = Path(__file__).resolve().parent
    for fname in _TRAINING_SOURCES:
        h.update(fname.encode())
        h.update((here / fname).read_bytes())
    return h.hexdigest()[:12]


def default_cache_dir() -> Path:
    """Return the cache root: ``$TORCHPERF_CACHE_DIR``, else the user cache dir.

    The user cache dir comes from :mod:`platformdirs` when installed
    (``~/.cache/torchperf`` on Linux), else ``~/.cache/torchperf``.
    """
    env = os.environ.get("TORCHPERF_CACHE_DIR")
    if env:
        return Path(env).expanduser()
    try:
        import platformdirs
    except ImportError:
        return Path.home() / ".cache" / "torchperf"
    return Path(platformdirs.user_cache_dir("torchperf", appauthor=False))


@dataclass
class ZooBuild:
    """Everything :func:`build_zoo` produced.

    Attributes
    ----------
    models : dict
        Name -> model, baseline (``"mlp"``) first.
    split : DigitsSplit
        The digits split the models were trained / calibrated on.
    from_cache : bool
        True when the trained weights came from the cache.
    cache_path : pathlib.Path or None
        The cache entry directory (None when caching was disabled).
    facts : dict
        Training facts: seconds per model, final losses, epochs.

    """

    models: dict[str, ZooModel]
    split: DigitsSplit
    from_cache: bool
    cache_path: Path | None
    facts: dict[str, Any] = field(default_factory=dict)


# ----------------------------------------------------------------------- training
@dataclass
class _Trained:
    mlp: MLP
    cnn: CNN
    attn: TinyTransformer
    split: DigitsSplit
    facts: dict[str, Any]


def _train(seed: int) -> _Trained:
    """Train the three base models on one BLAS thread.

    The matrices are small: multi-threaded BLAS gains nothing on them and,
    on a loaded machine, its spinning threads made training ~10x slower.
    One thread also makes the result independent of the thread count.
    """
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"):
        return _train_single_thread(seed)


def _train_single_thread(seed: int) -> _Trained:
    facts: dict[str, Any] = {}
    split = load_digits_split(seed)
    t0 = time.perf_counter()
    mlp = MLP(seed=seed)
    rep = mlp.fit(split.X_train, split.y_train, **MLP_TRAINING)
    facts["mlp"] = {"train_s": time.perf_counter() - t0, "final_loss": rep.losses[-1], **MLP_TRAINING}
    t0 = time.perf_counter()
    cnn = CNN(seed=seed, conv_impl="im2col")
    rep = cnn.fit(split.X_train, split.y_train, **CNN_TRAINING)
    facts["cnn"] = {"train_s": time.perf_counter() - t0, "final_loss": rep.losses[-1], **CNN_TRAINING}
    t0 = time.perf_counter()
    attn = TinyTransformer(seed=seed)
    losses = attn.fit(split.X_train, **ATTN_TRAINING)
    facts["attn"] = {"train_s": time.perf_counter() - t0, "final_loss": losses[-1], **ATTN_TRAINING}
    return _Trained(mlp, cnn, attn, split, facts)


# ----------------------------------------------------------------------- cache
def _pack(trained: _Trained) -> dict[str, np.ndarray]:
    arrays: dict[str, np.ndarray] = {}
    for prefix, state in (
        ("mlp", trained.mlp.state()),
        ("cnn", trained.cnn.state()),
        ("attn", trained.attn.state()),
        ("data", trained.split.arrays()),
    ):
        for key, value in state.items():
            arrays[f"{prefix}.{key}"] = np.ascontiguousarray(value)
    return arrays


def _unpack(arrays: dict[str, np.ndarray], seed: int, facts: dict[str, Any]) -> _Trained:
    def part(prefix: str) -> dict[str, np.ndarray]:
        n = len(prefix) + 1
        return {k[n:]: v for k, v in arrays.items() if k.startswith(prefix + ".")}

    data = part("data")
    try:
        split = DigitsSplit(**{k: data[k] for k in _SPLIT_FIELDS}, seed=seed)
    except KeyError as exc:
        raise ResultsFileError(f"cache entry lacks the digits split array {exc}.") from None
    mlp = MLP(seed=seed).load_state(part("mlp"))
    cnn = CNN(seed=seed).load_state(part("cnn"))
    attn = TinyTransformer(seed=seed).load_state(part("attn"))
    return _Trained(mlp, cnn, attn, split, facts)


_SPLIT_FIELDS = ("X_train", "y_train", "X_val", "y_val", "X_test", "y_test")


def _entry_dir(root: Path, seed: int) -> tuple[Path, str]:
    key = f"v{CACHE_SCHEMA_VERSION}-{code_version()}-seed{seed}"
    return root / "zoo" / key, key


def _load_entry(entry: Path, key: str, seed: int) -> _Trained:
    """Load and verify a cache entry; raise ResultsFileError when it cannot be trusted."""
    meta = read_json(entry / "meta.json", what="zoo cache metadata")
    if not isinstance(meta, dict) or meta.get("schema") != CACHE_SCHEMA:
        raise ResultsFileError(f"{entry / 'meta.json'} is not a {CACHE_SCHEMA} file.")
    if meta.get("schema_version") != CACHE_SCHEMA_VERSION or meta.get("key") != key:
        raise ResultsFileError(
            f"{entry} was written for key {meta.get('key')!r}, expected {key!r}."
        )
    try:
        raw = (entry / "arrays.npz").read_bytes()
    except OSError as exc:
        raise ResultsFileError(f"cannot read {entry / 'arrays.npz'}: {exc}.") from None
    digest = hashlib.sha256(raw).hexdigest()
    if digest != meta.get("arrays_sha256"):
        raise ResultsFileError(
            f"{entry / 'arrays.npz'} has sha256 {digest[:12]}..., metadata says "
            f"{str(meta.get('arrays_sha256'))[:12]}...; the file is corrupt or was modified."
        )
    try:
        with np.load(io.BytesIO(raw), allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
    except Exception as exc:  # zip/format errors of many kinds
        raise ResultsFileError(f"{entry / 'arrays.npz'} is not a readable npz: {exc}.") from None
    try:
        return _unpack(arrays, seed, dict(meta.get("facts", {})))
    except InvalidParameterError as exc:
        raise ResultsFileError(f"cache entry {entry} does not match the models: {exc}") from None


def _save_entry(entry: Path, key: str, seed: int, trained: _Trained) -> None:
    buf = io.BytesIO()
    np.savez(buf, **_pack(trained))
    raw = buf.getvalue()
    atomic_write_bytes(entry / "arrays.npz", raw)
    atomic_write_json(
        entry / "meta.json",
        {
            "schema": CACHE_SCHEMA,
            "schema_version": CACHE_SCHEMA_VERSION,
            "key": key,
            "seed": seed,
            "code_version": code_version(),
            "numpy": np.__version__,
            "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "arrays_sha256": hashlib.sha256(raw).hexdigest(),
            "arrays_bytes": len(raw),
            "facts": trained.facts,
        },
    )


# ----------------------------------------------------------------------- public API
def build_zoo(
    seed: int = 0,
    cache_dir: str | os.PathLike[str] | None = None,
    include_torch: bool | str = "auto",
    *,
    use_cache: bool = True,
) -> ZooBuild:
    """Train (or load) the zoo's base models and derive the comparison set.

    Parameters
    ----------
    seed : int, default 0
        Seed of the split, the initialisations and the training.
    cache_dir : path-like, optional
        Cache root; default :func:`default_cache_dir` (honours
        ``$TORCHPERF_CACHE_DIR``). Entries live in ``<root>/zoo/<key>/``.
    include_torch : {"auto", True, False}, default "auto"
        Add ``"mlp-torch"``: ``"auto"`` when torch is installed, ``True``
        always (error if absent), ``False`` never.
    use_cache : bool, default True
        ``False`` trains from scratch and neither reads nor writes the cache.

    Returns
    -------
    ZooBuild
        The models plus the split and provenance.

    Raises
    ------
    InvalidParameterError
        On a bad ``seed`` or ``include_torch``.
    MissingDependencyError
        If ``include_torch=True`` and torch is not installed.

    Warns
    -----
    CorruptResultsWarning
        When a cache entry is corrupt and is rebuilt.
    TorchperfWarning
        When the cache cannot be written (the models are still returned).

    """
    seed = _check_seed(seed)
    if include_torch not in ("auto", True, False):
        raise InvalidParameterError(
            f"`include_torch` must be 'auto', True or False; got {include_torch!r}."
        )
    want_torch = torch_available() if include_torch == "auto" else bool(include_torch)
    if want_torch and not torch_available():
        raise MissingDependencyError(
            "include_torch=True but PyTorch is not installed; `pip install torch` or pass "
            "include_torch='auto'."
        )

    trained: _Trained | None = None
    entry: Path | None = None
    from_cache = False
    if use_cache:
        root = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()
        entry, key = _entry_dir(root, seed)
        if (entry / "meta.json").exists() or (entry / "arrays.npz").exists():
            try:
                trained = _load_entry(entry, key, seed)
                from_cache = True
            except ResultsFileError as exc:
                warnings.warn(
                    f"zoo cache entry {entry} cannot be trusted ({exc}); rebuilding it.",
                    CorruptResultsWarning,
                    stacklevel=2,
                )
    if trained is None:
        trained = _train(seed)
        if entry is not None:
            try:
                _save_entry(entry, key, seed, trained)
            except OSError as exc:
                warnings.warn(
                    f"could not write the zoo cache at {entry} ({exc}); models were built "
                    "but will be retrained next time. Set TORCHPERF_CACHE_DIR to a writable dir.",
                    TorchperfWarning,
                    stacklevel=2,
                )

    mlp, split = trained.mlp, trained.split
    models: dict[str, ZooModel] = {"mlp": mlp}
    variants: list[ZooModel] = [
        quantize_int8(mlp, split.X_val, name="mlp-int8"),
        *(prune(mlp, s) for s in PRUNE_SPARSITIES),
        prune(mlp, max(PRUNE_SPARSITIES), sparse=True),
        low_rank(mlp, LOW_RANK, name="mlp-lowrank"),
        trained.cnn.with_conv_impl("naive", name="cnn-naive"),
        trained.cnn.with_conv_impl("im2col", name="cnn-im2col"),
        trained.attn.with_kv_cache(False, name="attn-nocache"),
        trained.attn.with_kv_cache(True, name="attn-kvcache"),
    ]
    if want_torch:
        variants.append(torch_twin(mlp, name="mlp-torch"))
    for model in variants:
        models[model.name] = model
    return ZooBuild(models, split, from_cache, entry, trained.facts)


def build_comparison_set(
    seed: int = 0,
    cache_dir: str | os.PathLike[str] | None = None,
    include_torch: bool | str = "auto",
    *,
    use_cache: bool = True,
) -> dict[str, ZooModel]:
    """Return the standard comparison set: baseline MLP first, then its variants.

    Keys (= each model's ``name``): ``mlp``, ``mlp-int8``, ``mlp-pruned50``,
    ``mlp-pruned90``, ``mlp-pruned90-sparse``, ``mlp-lowrank``, ``cnn-naive``,
    ``cnn-im2col``, ``attn-nocache``, ``attn-kvcache`` and, with torch,
    ``mlp-torch``. The ``attn-*`` models have ``task == "generation"``
    (no classification accuracy); all others are digit classifiers
    returning logits. See :func:`build_zoo` for the parameters.
    """
    return build_zoo(seed, cache_dir, include_torch, use_cache=use_cache).models


#: The zoo's families: ``{family: (baseline, variants)}``. An optimisation is judged
#: against its own unoptimised twin, never against another architecture (an attention
#: model is not a "regression" of an MLP).
FAMILIES: dict[str, tuple[str, tuple[str, ...]]] = {
    "mlp": (
        "mlp",
        (
            "mlp-int8",
            "mlp-pruned50",
            "mlp-pruned90",
            "mlp-pruned90-sparse",
            "mlp-lowrank",
            "mlp-torch",
        ),
    ),
    "cnn": ("cnn-naive", ("cnn-im2col",)),
    "attention": ("attn-nocache", ("attn-kvcache",)),
}


def family_baselines(models: Iterable[str]) -> dict[str, str]:
    """Map each zoo model among ``models`` to its family's baseline.

    Parameters
    ----------
    models : iterable of str
        Model names (e.g. the keys of :func:`build_comparison_set`).

    Returns
    -------
    dict
        ``{model: baseline}`` for every named model of a family in :data:`FAMILIES`
        (a baseline maps to itself). Names outside the zoo's families are left out.

    """
    of: dict[str, str] = {}
    for baseline, variants in FAMILIES.values():
        of[baseline] = baseline
        for v in variants:
            of[v] = baseline
    return {m: of[m] for m in models if m in of}
