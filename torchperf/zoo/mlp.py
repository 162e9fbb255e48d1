"""A multi-layer perceptron classifier trained in numpy."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from torchperf.errors import InvalidParameterError
from torchperf.zoo._base import (
    Adam,
    ZooModel,
    as_image_batch,
    check_positive_int,
    softmax_cross_entropy,
)

__all__ = ["MLP", "TrainingReport"]


@dataclass
class TrainingReport:
    """What a ``fit`` call did.

    Attributes
    ----------
    epochs : int
        Passes over the training data.
    steps : int
        Optimizer updates.
    losses : list of float
        Mean training loss of each epoch.

    """

    epochs: int
    steps: int
    losses: list[float] = field(default_factory=list)


class MLP(ZooModel):
    """Fully connected ReLU network, by default 64-128-64-10.

    Parameters
    ----------
    layer_sizes : sequence of int, default (64, 128, 64, 10)
        Widths from input to logits.
    seed : int, default 0
        Seed of the He-normal initialisation (and of :meth:`fit`'s shuffling).
    name : str, default "mlp"
        Name shown in benchmark tables.

    Notes
    -----
    ``weights[i]`` has shape ``(in, out)`` and ``forward`` computes
    ``relu(x @ W + b)`` for every layer but the last, which returns logits.
    Parameters are float32.

    """

    def __init__(
        self,
        layer_sizes: Sequence[int] = (64, 128, 64, 10),
        seed: int = 0,
        *,
        name: str = "mlp",
    ) -> None:
        sizes = [check_positive_int(s, "layer_sizes[i]") for s in layer_sizes]
        if len(sizes) < 2:
            raise InvalidParameterError(
                f"`layer_sizes` needs at least input and output widths; got {list(layer_sizes)!r}."
            )
        self.layer_sizes = tuple(sizes)
        self.seed = int(seed)
        self.name = name
        self.input_shape = (sizes[0],)
        rng = np.random.default_rng([self.seed, 101])
        self.weights: list[np.ndarray] = []
        self.biases: list[np.ndarray] = []
        for fan_in, fan_out in itertools.pairwise(sizes):
            w = rng.normal(0.0, np.sqrt(2.0 / fan_in), size=(fan_in, fan_out))
            self.weights.append(w.astype(np.float32))
            self.biases.append(np.zeros(fan_out, dtype=np.float32))

    # -- inference -----------------------------------------------------------------
    def forward(self, x: np.ndarray) -> np.ndarray:
        """Return logits ``(batch, n_classes)`` for a float32 ``(batch, 64)`` batch.

        Parameters
        ----------
        x : numpy.ndarray
            ``(batch, 64)`` or ``(batch, 8, 8)`` values in ``[0, 1]``.

        Returns
        -------
        numpy.ndarray
            float32 logits.

        """
        h = as_image_batch(x, model=self.name, n_features=self.layer_sizes[0])
        last = len(self.weights) - 1
        for i, (w, b) in enumerate(zip(self.weights, self.biases, strict=True)):
            h = h @ w + b
            if i < last:
                np.maximum(h, 0.0, out=h)
        return h

    def parameter_arrays(self) -> list[np.ndarray]:
        """Return weights then biases."""
        return [*self.weights, *self.biases]

    # -- training ------------------------------------------------------------------
    def fit(
        self,
        X: np.ndarray,
        y: np.ndarray,
        *,
        epochs: int = 40,
        batch_size: int = 32,
        lr: float = 3e-3,
        weight_decay: float = 1e-4,
    ) -> TrainingReport:
        """Train with Adam on mini-batches; deterministic given the model's seed.

        Parameters
        ----------
        X : numpy.ndarray
            float32 ``(n, 64)`` training inputs.
        y : numpy.ndarray
            Integer labels.
        epochs, batch_size : int
            Passes over the data and examples per update.
        lr, weight_decay : float
            Adam learning rate and L2 penalty.

        Returns
        -------
        TrainingReport
            Per-epoch mean losses.

        """
        X = as_image_batch(X, model=self.name, n_features=self.layer_sizes[0])
        y = np.asarray(y, dtype=np.int64)
        epochs = check_positive_int(epochs, "epochs")
        batch_size = check_positive_int(batch_size, "batch_size")
        rng = np.random.default_rng([self.seed, 202])
        params = [*self.weights, *self.biases]
        opt = Adam(params, lr=lr, weight_decay=weight_decay)
        n_layers = len(self.weights)
        report = TrainingReport(epochs=epochs, steps=0)
        for _ in range(epochs):
            order = rng.permutation(len(y))
            total = 0.0
            for start in range(0, len(y), batch_size):
                idx = order[start : start + batch_size]
                acts = [X[idx]]
                for i in range(n_layers):
                    z = acts[-1] @ self.weights[i] + self.biases[i]
                    acts.append(np.maximum(z, 0.0) if i < n_layers - 1 else z)
                loss, g = softmax_cross_entropy(acts[-1], y[idx])
                total += loss * len(idx)
                gw: list[np.ndarray] = [np.empty(0)] * n_layers
                gb: list[np.ndarray] = [np.empty(0)] * n_layers
                for i in range(n_layers - 1, -1, -1):
                    gw[i] = acts[i].T @ g
                    gb[i] = g.sum(axis=0)
                    if i > 0:
                        g = (g @ self.weights[i].T) * (acts[i] > 0)
                opt.step([*gw, *gb])
                report.steps += 1
            report.losses.append(total / len(y))
        return report

    # -- (de)serialisation -----------------------------------------------------------
    def state(self) -> dict[str, np.ndarray]:
        """Return the parameters as named arrays (for :mod:`torchperf.zoo.cache`)."""
        out = {}
        for i, (w, b) in enumerate(zip(self.weights, self.biases, strict=True)):
            out[f"W{i}"] = w
            out[f"b{i}"] = b
        return out

    def load_state(self, arrays: dict[str, np.ndarray]) -> MLP:
        """Replace the parameters with ``arrays`` (as written by :meth:`state`); return self.

        Raises
        ------
        InvalidParameterError
            If a name is missing or a shape differs from the architecture.

        """
        for i, (w, b) in enumerate(zip(self.weights, self.biases, strict=True)):
            for key, ref in ((f"W{i}", w), (f"b{i}", b)):
                if key not in arrays or np.shape(arrays[key]) != ref.shape:
                    raise InvalidParameterError(
                        f"state for {self.name} needs {key} of shape {ref.shape}; got "
                        f"{np.shape(arrays[key]) if key in arrays else 'nothing'}."
                    )
            self.weights[i] = np.ascontiguousarray(arrays[f"W{i}"], dtype=np.float32)
            self.biases[i] = np.ascontiguousarray(arrays[f"b{i}"], dtype=np.float32)
        return self

    def copy(self, *, name: str | None = None) -> MLP:
        """Return an independent copy (same architecture, seed and weights)."""
        twin = MLP(self.layer_sizes, self.seed, name=name or self.name)
        twin.load_state({k: v.copy() for k, v in self.state().items()})
        return twin
