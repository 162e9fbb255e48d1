"""Optimizations that turn a trained :class:`~torchperf.zoo.mlp.MLP` into new models.

- :func:`quantize_int8` -- post-training int8 quantization: per-output-channel
  symmetric weight scales, per-layer activation scales calibrated on data
  (the validation split), int8 storage, int32 accumulation, float output.
- :func:`prune` -- magnitude pruning to a chosen sparsity, executed either
  dense with the zeros kept (:class:`PrunedMLP`) or as scipy.sparse CSR
  matrices (:class:`SparseMLP`).
- :func:`low_rank` -- truncated-SVD factorization of the dense layers
  (:class:`LowRankMLP`).
- :func:`torch_twin` -- the same network in PyTorch (:class:`TorchMLP`).

None of them retrains: the accuracy they keep is what the technique alone
gives.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from torchperf.errors import InvalidParameterError, MissingDependencyError
from torchperf.zoo._base import ZooModel, as_image_batch, check_positive_int
from torchperf.zoo.mlp import MLP

__all__ = [
    "LowRankMLP",
    "PrunedMLP",
    "QuantizedMLP",
    "SparseMLP",
    "TorchMLP",
    "low_rank",
    "prune",
    "quantize_int8",
    "torch_available",
    "torch_twin",
]

_QMAX = 127


def _check_mlp(model: object, what: str) -> MLP:
    if not isinstance(model, MLP):
        raise InvalidParameterError(
            f"{what} needs a trained torchperf.zoo.MLP; got {type(model).__name__}."
        )
    return model


# ------------------------------------------------------------------------ int8
class QuantizedMLP(ZooModel):
    """An MLP whose weights are stored as int8 and whose matmuls accumulate in int32.

    Each layer ``i`` computes ``q_x = clip(round(h / s_x[i]), -127, 127)`` (int8),
    ``acc = q_x @ q_W[i]`` in int32, and ``h = acc * (s_x[i] * s_w[i]) + b[i]``
    (float32), then ReLU except after the last layer.

    Attributes
    ----------
    q_weights : list of numpy.ndarray
        int8 ``(in, out)`` weights.
    weight_scales : list of numpy.ndarray
        float32 ``(out,)`` per-output-channel scales: ``max|W[:, j]| / 127``.
    act_scales : numpy.ndarray
        float32 per-layer input scales: ``max|h| / 127`` over the calibration data.
    biases : list of numpy.ndarray
        float32 biases (kept in float; they are added after dequantization).

    Notes
    -----
    NumPy has no int8 matrix kernel: the int8 operands are widened to int32
    for each product (a temporary, not storage), and integer matmul does not
    use BLAS, so this model is usually *slower* than the float32 one on CPU
    while being ~4x smaller. That is a real trade-off, not a defect.

    """

    def __init__(
        self,
        q_weights: list[np.ndarray],
        weight_scales: list[np.ndarray],
        act_scales: np.ndarray,
        biases: list[np.ndarray],
        *,
        name: str = "mlp-int8",
    ) -> None:
        self.q_weights = q_weights
        self.weight_scales = weight_scales
        self.act_scales = np.asarray(act_scales, dtype=np.float32)
        self.biases = biases
        self.name = name
        self.input_shape = (q_weights[0].shape[0],)

    def forward(self, x: np.ndarray) -> np.ndarray:
        """Return float32 logits for a float32 ``(batch, 64)`` batch."""
        h = as_image_batch(x, model=self.name, n_features=self.input_shape[0])
        last = len(self.q_weights) - 1
        for i, (qw, sw, b) in enumerate(
            zip(self.q_weights, self.weight_scales, self.biases, strict=True)
        ):
            sx = self.act_scales[i]
            qx = np.clip(np.rint(h / sx), -_QMAX, _QMAX).astype(np.int8)
            acc = qx.astype(np.int32) @ qw.astype(np.int32)
            h = acc.astype(np.float32) * (sx * sw) + b
            if i < last:
                np.maximum(h, 0.0, out=h)
        return h

    def parameter_arrays(self) -> list[np.ndarray]:
        """Return int8 weights, float32 scales and biases."""
        return [*self.q_weights, *self.weight_scales, self.act_scales, *self.biases]

    def weight_bytes(self) -> int:
        """Return the bytes of the int8 weight matrices alone."""
        return int(sum(w.nbytes for w in self.q_weights))


def quantize_int8(model: MLP, calibration_data: np.ndarray, *, name: str = "mlp-int8") -> QuantizedMLP:
    """Post-training int8 quantization of a trained MLP.

    Parameters
    ----------
    model : MLP
        Trained float32 network (not modified).
    calibration_data : numpy.ndarray
        ``(n, 64)`` inputs used to fix each layer's activation range, e.g. the
        validation split (never the test split).
    name : str, default "mlp-int8"
        Name of the new model.

    Returns
    -------
    QuantizedMLP
        Symmetric per-output-channel weight scales; per-layer symmetric
        activation scales from the calibration maximum.

    """
    model = _check_mlp(model, "quantize_int8")
    h = as_image_batch(calibration_data, model="calibration_data", n_features=model.layer_sizes[0])
    if len(h) == 0:
        raise InvalidParameterError("`calibration_data` is empty; pass e.g. the validation split.")
    q_weights, w_scales, a_scales = [], [], []
    last = len(model.weights) - 1
    for i, (w, b) in enumerate(zip(model.weights, model.biases, strict=True)):
        amax = float(np.max(np.abs(h)))
        a_scales.append(amax / _QMAX if amax > 0 else 1.0)
        wmax = np.max(np.abs(w), axis=0)
        sw = np.where(wmax > 0, wmax / _QMAX, 1.0).astype(np.float32)
        q_weights.append(np.clip(np.rint(w / sw), -_QMAX, _QMAX).astype(np.int8))
        w_scales.append(sw)
        h = h @ w + b
        if i < last:
            h = np.maximum(h, 0.0)
    return QuantizedMLP(
        q_weights,
        w_scales,
        np.asarray(a_scales, dtype=np.float32),
        [b.copy() for b in model.biases],
        name=name,
    )


# ------------------------------------------------------------------------ pruning
def _magnitude_mask(w: np.ndarray, sparsity: float) -> np.ndarray:
    """Mask keeping all but the ``round(sparsity * size)`` smallest-magnitude entries."""
    k = round(sparsity * w.size)
    mask = np.ones(w.size, dtype=bool)
    if k > 0:
        # stable sort: ties broken by position, so the result is deterministic
        mask[np.argsort(np.abs(w).ravel(), kind="stable")[:k]] = False
    return mask.reshape(w.shape)


class PrunedMLP(MLP):
    """A magnitude-pruned MLP executed densely (the zeros are stored and multiplied).

    Same storage and speed as the dense baseline; it exists to separate the
    accuracy effect of pruning from the execution format (compare with
    :class:`SparseMLP`).

    Attributes
    ----------
    sparsity : float
        Fraction of each weight matrix set to zero.
    masks : list of numpy.ndarray
        Boolean keep-masks (not counted as parameters; the zeros are in the weights).

    """

    sparsity: float = 0.0
    masks: list[np.ndarray]

    def actual_sparsity(self) -> float:
        """Return the fraction of zero weights over all weight matrices."""
        total = sum(w.size for w in self.weights)
        return float(sum(int(np.count_nonzero(w == 0)) for w in self.weights) / total)


class SparseMLP(ZooModel):
    """A pruned MLP whose weight matrices are stored and multiplied as scipy.sparse CSR.

    Layer ``i`` keeps ``W_i.T`` as a CSR matrix of shape ``(out, in)`` and
    computes ``h = (W_i.T @ h.T).T + b_i``. :meth:`parameter_bytes` counts
    what CSR really stores: ``data`` (float32) + ``indices`` + ``indptr``
    (int32) + biases.
    """

    def __init__(self, csr_weights: list[Any], biases: list[np.ndarray], *, sparsity: float, name: str) -> None:
        self.csr_weights = csr_weights
        self.biases = biases
        self.sparsity = float(sparsity)
        self.name = name
        self.input_shape = (csr_weights[0].shape[1],)

    def forward(self, x: np.ndarray) -> np.ndarray:
        """Return float32 logits for a float32 ``(batch, 64)`` batch."""
        h = as_image_batch(x, model=self.name, n_features=self.input_shape[0])
        ht = h.T
        last = len(self.csr_weights) - 1
        for i, (wt, b) in enumerate(zip(self.csr_weights, self.biases, strict=True)):
            ht = wt @ ht + b[:, None]
            if i < last:
                np.maximum(ht, 0.0, out=ht)
        return np.ascontiguousarray(ht.T)

    def parameter_arrays(self) -> list[np.ndarray]:
        """Return each CSR matrix's data, indices and indptr, then the biases."""
        arrays: list[np.ndarray] = []
        for wt in self.csr_weights:
            arrays += [wt.data, wt.indices, wt.indptr]
        return [*arrays, *self.biases]

    def layer_bytes(self) -> list[int]:
        """Return the CSR storage bytes (data + indices + indptr) of each weight matrix."""
        return [int(w.data.nbytes + w.indices.nbytes + w.indptr.nbytes) for w in self.csr_weights]

    def to_dense_weights(self) -> list[np.ndarray]:
        """Return the weights as dense ``(in, out)`` float32 arrays."""
        return [np.asarray(w.toarray().T, dtype=np.float32) for w in self.csr_weights]


def prune(
    model: MLP,
    sparsity: float,
    *,
    sparse: bool = False,
    include_output_layer: bool = True,
    name: str | None = None,
) -> PrunedMLP | SparseMLP:
    """Magnitude-prune every weight matrix of a trained MLP to ``sparsity``.

    Parameters
    ----------
    model : MLP
        Trained network (not modified).
    sparsity : float
        Fraction of each matrix's entries set to zero, in ``[0, 1)``. The
        smallest ``round(sparsity * size)`` magnitudes go (per layer).
    sparse : bool, default False
        ``False``: return a :class:`PrunedMLP` (dense, zeros kept);
        ``True``: a :class:`SparseMLP` (CSR storage and products).
    include_output_layer : bool, default True
        Prune the last (logit) layer too.
    name : str, optional
        Defaults to ``"mlp-pruned50"`` / ``"mlp-pruned90-sparse"`` etc.

    Returns
    -------
    PrunedMLP or SparseMLP
        Both hold exactly the same weights for the same arguments.

    """
    model = _check_mlp(model, "prune")
    if isinstance(sparsity, bool) or not isinstance(sparsity, (int, float)) or not 0 <= sparsity < 1:
        raise InvalidParameterError(
            f"`sparsity` must be a fraction in [0, 1); got {sparsity!r}. "
            "Did you mean a percentage? Use 0.9 for 90%."
        )
    pct = round(100 * sparsity)
    if name is None:
        name = f"mlp-pruned{pct}" + ("-sparse" if sparse else "")
    last = len(model.weights) - 1
    masks = [
        _magnitude_mask(w, sparsity) if (i < last or include_output_layer) else np.ones(w.shape, bool)
        for i, w in enumerate(model.weights)
    ]
    weights = [(w * m).astype(np.float32) for w, m in zip(model.weights, masks, strict=True)]
    biases = [b.copy() for b in model.biases]
    if sparse:
        from scipy import sparse as sp

        csr = [sp.csr_matrix(np.ascontiguousarray(w.T)) for w in weights]
        for m in csr:
            m.sort_indices()
        return SparseMLP(csr, biases, sparsity=sparsity, name=name)
    pruned = PrunedMLP(model.layer_sizes, model.seed, name=name)
    pruned.load_state(
        {**{f"W{i}": w for i, w in enumerate(weights)}, **{f"b{i}": b for i, b in enumerate(biases)}}
    )
    pruned.sparsity = float(sparsity)
    pruned.masks = masks
    return pruned


# ------------------------------------------------------------------------ low rank
class LowRankMLP(ZooModel):
    """An MLP whose large layers are factorised ``W ~ U @ V`` by truncated SVD.

    ``factors[i]`` is either ``(W,)`` (kept dense) or ``(U, V)`` with ``U``
    ``(in, r)`` = left singular vectors times singular values and ``V``
    ``(r, out)``; the layer computes ``(h @ U) @ V + b``.
    """

    def __init__(self, factors: list[tuple[np.ndarray, ...]], biases: list[np.ndarray], *, name: str) -> None:
        self.factors = factors
        self.biases = biases
        self.name = name
        self.input_shape = (factors[0][0].shape[0],)

    @property
    def ranks(self) -> list[int | None]:
        """Rank of each factorised layer (``None`` for layers kept dense)."""
        return [f[0].shape[1] if len(f) == 2 else None for f in self.factors]

    def forward(self, x: np.ndarray) -> np.ndarray:
        """Return float32 logits for a float32 ``(batch, 64)`` batch."""
        h = as_image_batch(x, model=self.name, n_features=self.input_shape[0])
        last = len(self.factors) - 1
        for i, (fac, b) in enumerate(zip(self.factors, self.biases, strict=True)):
            for m in fac:
                h = h @ m
            h = h + b
            if i < last:
                np.maximum(h, 0.0, out=h)
        return h

    def parameter_arrays(self) -> list[np.ndarray]:
        """Return all factors then the biases."""
        return [m for fac in self.factors for m in fac] + list(self.biases)


def low_rank(model: MLP, rank: int = 16, *, name: str | None = None) -> LowRankMLP:
    """Factorise each layer of a trained MLP with a truncated SVD of rank ``rank``.

    Parameters
    ----------
    model : MLP
        Trained network (not modified).
    rank : int, default 16
        Rank kept. A layer is factorised only when that stores fewer values
        (``rank * (in + out) < in * out``); otherwise it is kept dense.
    name : str, optional
        Defaults to ``"mlp-lowrank<rank>"``.

    Returns
    -------
    LowRankMLP
        The best rank-``rank`` approximation (Eckart-Young) of each factorised layer.

    """
    model = _check_mlp(model, "low_rank")
    rank = check_positive_int(rank, "rank")
    factors: list[tuple[np.ndarray, ...]] = []
    for w in model.weights:
        n_in, n_out = w.shape
        if rank * (n_in + n_out) < n_in * n_out:
            u, s, vt = np.linalg.svd(w.astype(np.float64), full_matrices=False)
            factors.append(
                (
                    np.ascontiguousarray(u[:, :rank] * s[:rank], dtype=np.float32),
                    np.ascontiguousarray(vt[:rank], dtype=np.float32),
                )
            )
        else:
            factors.append((w.copy(),))
    return LowRankMLP(factors, [b.copy() for b in model.biases], name=name or f"mlp-lowrank{rank}")


# ------------------------------------------------------------------------ torch
def torch_available() -> bool:
    """Return True when PyTorch can be imported (checked without importing it)."""
    import importlib.util

    return importlib.util.find_spec("torch") is not None


class TorchMLP(ZooModel):
    """The MLP in PyTorch with the same weights, behind the zoo's numpy interface.

    ``forward`` takes and returns numpy float32 (``torch.from_numpy`` shares
    memory, so the conversion is cheap) and runs under
    ``torch.inference_mode()``. The ``torch.nn.Sequential`` itself is
    :attr:`module` (built, and torch imported, on first use so that building
    the comparison set stays fast); benchmark it directly to leave the
    conversion out.
    """

    def __init__(self, source: MLP, *, name: str = "mlp-torch") -> None:
        self._weights = [w.copy() for w in source.weights]
        self._biases = [b.copy() for b in source.biases]
        self._module: Any = None
        self.name = name
        self.input_shape = (source.layer_sizes[0],)

    @property
    def module(self) -> Any:
        """The ``torch.nn.Sequential`` (Linear/ReLU); imports torch when first read.

        Raises
        ------
        MissingDependencyError
            If torch is not installed.

        """
        if self._module is None:
            try:
                import torch
            except ImportError as exc:
                raise MissingDependencyError(
                    "TorchMLP needs PyTorch; install it with `pip install torch` "
                    "or build the comparison set with include_torch=False."
                ) from exc
            layers: list[Any] = []
            for i, (w, b) in enumerate(zip(self._weights, self._biases, strict=True)):
                lin = torch.nn.Linear(w.shape[0], w.shape[1])
                with torch.no_grad():
                    lin.weight.copy_(torch.from_numpy(np.ascontiguousarray(w.T)))
                    lin.bias.copy_(torch.from_numpy(b))
                layers.append(lin)
                if i < len(self._weights) - 1:
                    layers.append(torch.nn.ReLU())
            self._module = torch.nn.Sequential(*layers).eval()
        return self._module

    def forward(self, x: np.ndarray) -> np.ndarray:
        """Return float32 logits (numpy) for a float32 ``(batch, 64)`` numpy batch."""
        import torch

        module = self.module
        h = as_image_batch(x, model=self.name, n_features=self.input_shape[0])
        with torch.inference_mode():
            return module(torch.from_numpy(h)).numpy()

    def parameter_arrays(self) -> list[np.ndarray]:
        """Return the weights and biases (same values and dtype as the torch tensors)."""
        return [*self._weights, *self._biases]


def torch_twin(model: MLP, *, name: str = "mlp-torch") -> TorchMLP:
    """Return a :class:`TorchMLP` holding a copy of ``model``'s weights.

    Raises
    ------
    MissingDependencyError
        If torch is not installed.

    """
    model = _check_mlp(model, "torch_twin")
    if not torch_available():
        raise MissingDependencyError(
            "torch_twin needs PyTorch; install it with `pip install torch`."
        )
    return TorchMLP(model, name=name)
