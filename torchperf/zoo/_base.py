"""Common behaviour of the zoo models: input checking, prediction, parameter bytes."""

from __future__ import annotations

import numpy as np

from torchperf.errors import InvalidParameterError

__all__ = ["Adam", "ZooModel", "as_image_batch", "softmax_cross_entropy"]


def as_image_batch(x: object, *, model: str, n_features: int = 64) -> np.ndarray:
    """Return ``x`` as a C-contiguous float32 ``(batch, n_features)`` array.

    Accepts ``(batch, 64)`` and ``(batch, 8, 8)`` arrays (anything
    array-like); other shapes raise :class:`InvalidParameterError`.
    """
    arr = np.asarray(x, dtype=np.float32)
    if arr.ndim == 3 and arr.shape[1] * arr.shape[2] == n_features:
        arr = arr.reshape(arr.shape[0], n_features)
    if arr.ndim != 2 or arr.shape[1] != n_features:
        raise InvalidParameterError(
            f"{model} expects a float32 batch of shape (batch, {n_features}) or (batch, 8, 8); "
            f"got shape {arr.shape}. Add a batch axis with x[None] for a single example."
        )
    return np.ascontiguousarray(arr)


class ZooModel:
    """Base class of every zoo model.

    Attributes
    ----------
    name : str
        Short unique name used in benchmark tables (e.g. ``"mlp-int8"``).
    input_shape : tuple of int
        Shape of ONE example (without the batch axis).
    task : str
        ``"classification"`` (``forward`` returns logits ``(batch, 10)``;
        accuracy on digits is meaningful) or ``"generation"`` (``forward``
        returns generated values; see the model's own scoring method).

    """

    name: str = "zoo-model"
    input_shape: tuple[int, ...] = (64,)
    task: str = "classification"

    def forward(self, x: np.ndarray) -> np.ndarray:
        """Run the model on a batch; subclasses implement it."""
        raise NotImplementedError

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return self.forward(x)

    def parameter_arrays(self) -> list[np.ndarray]:
        """Return the arrays that make up the stored parameters."""
        raise NotImplementedError

    def parameter_bytes(self) -> int:
        """Return the bytes taken by the parameters as actually stored.

        Returns
        -------
        int
            Sum of ``nbytes`` of :meth:`parameter_arrays` (int8 arrays count 1
            byte per value, CSR matrices their data + indices + indptr).

        """
        return int(sum(int(a.nbytes) for a in self.parameter_arrays()))

    def parameter_count(self) -> int:
        """Return the number of stored parameter values (all arrays, any dtype)."""
        return int(sum(int(a.size) for a in self.parameter_arrays()))

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Return the predicted class of each example (classifiers only).

        Raises
        ------
        InvalidParameterError
            If the model is not a classifier.

        """
        if self.task != "classification":
            raise InvalidParameterError(
                f"{self.name} is a {self.task} model and has no class predictions; "
                "use its own scoring method instead."
            )
        return np.asarray(np.argmax(self.forward(x), axis=1))

    def accuracy(self, X: np.ndarray, y: np.ndarray) -> float:
        """Return the fraction of ``X`` classified as ``y`` (classifiers only)."""
        y = np.asarray(y)
        return float(np.mean(self.predict(X) == y))

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(name={self.name!r}, input_shape={self.input_shape}, "
            f"parameter_bytes={self.parameter_bytes()})"
        )


def softmax_cross_entropy(logits: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    """Return the mean cross-entropy loss and its gradient with respect to ``logits``."""
    z = logits - logits.max(axis=1, keepdims=True)
    expz = np.exp(z)
    p = expz / expz.sum(axis=1, keepdims=True)
    n = logits.shape[0]
    loss = float(-np.mean(np.log(p[np.arange(n), y] + 1e-12)))
    grad = p
    grad[np.arange(n), y] -= 1.0
    return loss, (grad / n).astype(logits.dtype)


class Adam:
    """The Adam optimizer (Kingma & Ba, 2015) updating numpy arrays in place.

    Parameters
    ----------
    params : list of numpy.ndarray
        Arrays to update in place.
    lr : float
        Learning rate.
    betas : tuple of float
        Decay rates of the first and second moment estimates.
    eps : float
        Denominator guard.
    weight_decay : float
        L2 penalty added to the gradient.

    """

    def __init__(
        self,
        params: list[np.ndarray],
        *,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
    ) -> None:
        self.params = params
        self.lr = lr
        self.b1, self.b2 = betas
        self.eps = eps
        self.weight_decay = weight_decay
        self.m = [np.zeros_like(p) for p in params]
        self.v = [np.zeros_like(p) for p in params]
        self.t = 0

    def step(self, grads: list[np.ndarray]) -> None:
        """Apply one update given one gradient per parameter."""
        self.t += 1
        c1 = 1.0 - self.b1**self.t
        c2 = 1.0 - self.b2**self.t
        for p, g, m, v in zip(self.params, grads, self.m, self.v, strict=True):
            if self.weight_decay:
                g = g + self.weight_decay * p
            m *= self.b1
            m += (1.0 - self.b1) * g
            v *= self.b2
            v += (1.0 - self.b2) * g * g
            p -= (self.lr * (m / c1) / (np.sqrt(v / c2) + self.eps)).astype(p.dtype)


def check_positive_int(value: object, name: str) -> int:
    """Validate a positive integer parameter."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or int(value) <= 0:
        raise InvalidParameterError(f"`{name}` must be a positive int; got {value!r}.")
    return int(value)
