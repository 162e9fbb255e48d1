"""The digits dataset split and synthetic inputs used by the zoo.

The zoo trains and evaluates on scikit-learn's bundled handwritten digits
(:func:`sklearn.datasets.load_digits`: 1797 grey-scale 8x8 images, ten
classes, shipped inside scikit-learn so nothing is downloaded). Pixels are
integers 0..16; :func:`load_digits_split` scales them to ``[0, 1]`` float32
and flattens each image to 64 values.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from torchperf.errors import InvalidParameterError

__all__ = ["DigitsSplit", "digits_test_examples", "load_digits_split", "synthetic_batch"]

#: Fractions of the 1797 digits in the train / validation / test parts.
SPLIT_FRACTIONS = (0.6, 0.2, 0.2)


@dataclass(frozen=True)
class DigitsSplit:
    """A fixed, stratified train / validation / test split of the digits.

    Attributes
    ----------
    X_train, X_val, X_test : numpy.ndarray
        float32 arrays of shape ``(n, 64)`` with values in ``[0, 1]``
        (pixel intensity / 16, row-major 8x8 image).
    y_train, y_val, y_test : numpy.ndarray
        int64 class labels 0..9.
    seed : int
        Seed of the split.

    """

    X_train: np.ndarray
    y_train: np.ndarray
    X_val: np.ndarray
    y_val: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    seed: int = 0

    def arrays(self) -> dict[str, np.ndarray]:
        """Return the six arrays by attribute name (for saving)."""
        return {
            "X_train": self.X_train,
            "y_train": self.y_train,
            "X_val": self.X_val,
            "y_val": self.y_val,
            "X_test": self.X_test,
            "y_test": self.y_test,
        }

    @property
    def sizes(self) -> tuple[int, int, int]:
        """Number of examples in the train, validation and test parts."""
        return (len(self.y_train), len(self.y_val), len(self.y_test))


def _check_seed(seed: object) -> int:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or int(seed) < 0:
        raise InvalidParameterError(
            f"`seed` must be a non-negative int; got {seed!r}. Pass e.g. seed=0."
        )
    return int(seed)


@functools.lru_cache(maxsize=8)
def digits_test_examples(seed: int = 0) -> int | None:
    """Number of examples in the test split of :func:`load_digits_split` (360 for seed 0).

    It is the denominator of the error rate ``benchmarks/zoo_models.py`` records in asv,
    which the history pages (:func:`torchperf.site.pages.publish`) need for Wilson
    intervals. ``None`` when scikit-learn (which ships the digits) is not installed.
    """
    try:
        import sklearn  # noqa: F401
    except ImportError:
        return None
    return len(load_digits_split(seed).y_test)


def load_digits_split(seed: int = 0) -> DigitsSplit:
    """Load the bundled digits and split them 60/20/20, stratified by class.

    Parameters
    ----------
    seed : int, default 0
        Seed of the shuffling; the same seed always gives the same split.

    Returns
    -------
    DigitsSplit
        ``X_*`` float32 ``(n, 64)`` in ``[0, 1]``, ``y_*`` int64. With the
        1797 digits the parts hold about 1078 / 359 / 360 examples.

    Raises
    ------
    InvalidParameterError
        If ``seed`` is not a non-negative integer.

    Notes
    -----
    Stratification is done per class: each class's examples are shuffled
    with ``numpy.random.default_rng(seed)`` and cut at the split fractions,
    so every part has the dataset's class proportions (to one example).

    """
    seed = _check_seed(seed)
    from sklearn.datasets import load_digits

    digits = load_digits()
    X = (np.asarray(digits.data, dtype=np.float32) / np.float32(16.0)).astype(np.float32)
    y = np.asarray(digits.target, dtype=np.int64)
    rng = np.random.default_rng(seed)
    parts: list[list[np.ndarray]] = [[], [], []]
    for cls in np.unique(y):
        idx = np.flatnonzero(y == cls)
        rng.shuffle(idx)
        n_train = round(SPLIT_FRACTIONS[0] * len(idx))
        n_val = round(SPLIT_FRACTIONS[1] * len(idx))
        parts[0].append(idx[:n_train])
        parts[1].append(idx[n_train : n_train + n_val])
        parts[2].append(idx[n_train + n_val :])
    out = []
    for chunks in parts:
        idx = np.concatenate(chunks)
        rng.shuffle(idx)
        out.append((np.ascontiguousarray(X[idx]), np.ascontiguousarray(y[idx])))
    (Xtr, ytr), (Xva, yva), (Xte, yte) = out
    return DigitsSplit(Xtr, ytr, Xva, yva, Xte, yte, seed=seed)


def synthetic_batch(
    shape: tuple[int, ...] | list[int],
    seed: int = 0,
    *,
    dtype: type | np.dtype = np.float32,
) -> np.ndarray:
    """Return a deterministic batch of uniform ``[0, 1)`` values for shape-only benchmarks.

    Parameters
    ----------
    shape : tuple of int
        Full array shape including the batch dimension, e.g. ``(32, 64)``.
    seed : int, default 0
        Seed of :func:`numpy.random.default_rng`.
    dtype : numpy dtype, default float32
        Floating dtype of the result.

    Returns
    -------
    numpy.ndarray
        C-contiguous array of ``shape`` whose values lie in ``[0, 1)`` like the
        scaled digits, so every zoo model accepts it.

    Raises
    ------
    InvalidParameterError
        If ``shape`` has a non-positive or non-integer entry, or ``dtype`` is
        not floating point.

    """
    seed = _check_seed(seed)
    try:
        dims = tuple(int(d) for d in shape)
        ok = all(int(d) == d for d in shape) and all(d > 0 for d in dims) and len(dims) > 0
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise InvalidParameterError(
            f"`shape` must be a non-empty tuple of positive ints such as (32, 64); got {shape!r}."
        )
    dt = np.dtype(dtype)
    if dt.kind != "f":
        raise InvalidParameterError(f"`dtype` must be a floating dtype; got {dt}. Use np.float32.")
    return np.random.default_rng(seed).random(dims, dtype=np.float64).astype(dt)
