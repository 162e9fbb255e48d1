"""A small convolutional network on 8x8 digits with two convolution implementations.

The convolution is computed either by a *direct* loop over output channels
and output positions (``conv_impl="naive"``, each step a small numpy
reduction over the batch) or by *im2col*: every 3x3 patch is copied into a
row of a matrix and the whole layer becomes one matrix product
(``conv_impl="im2col"``). The two give the same numbers (to float32
rounding) from the same weights; they differ in speed and in memory: im2col
materialises a ``(batch*64, 9*C_in)`` patch matrix.
"""

from __future__ import annotations

import numpy as np

from torchperf.errors import InvalidParameterError
from torchperf.zoo._base import (
    Adam,
    ZooModel,
    as_image_batch,
    check_positive_int,
    softmax_cross_entropy,
)
from torchperf.zoo.mlp import TrainingReport

__all__ = ["CNN", "CONV_IMPLS", "conv2d_im2col", "conv2d_naive", "im2col"]

CONV_IMPLS = ("naive", "im2col")


def _pad(x: np.ndarray, pad: int) -> np.ndarray:
    return np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad))) if pad else x


def conv2d_naive(x: np.ndarray, weight: np.ndarray, bias: np.ndarray, *, pad: int = 1) -> np.ndarray:
    """Direct 2-D convolution (cross-correlation, stride 1) with Python loops.

    Parameters
    ----------
    x : numpy.ndarray
        ``(batch, C_in, H, W)`` input.
    weight : numpy.ndarray
        ``(C_out, C_in, k, k)`` kernels.
    bias : numpy.ndarray
        ``(C_out,)``.
    pad : int, default 1
        Zero padding on each side.

    Returns
    -------
    numpy.ndarray
        ``(batch, C_out, H_out, W_out)`` with ``H_out = H + 2*pad - k + 1``.

    Notes
    -----
    Loops over output channel, row and column (``C_out * H_out * W_out``
    Python iterations); each iteration reduces one patch per example.

    """
    n, c_in, h, w = x.shape
    c_out, c_in_w, k, _ = weight.shape
    if c_in != c_in_w:
        raise InvalidParameterError(f"input has {c_in} channels but weight expects {c_in_w}.")
    xp = _pad(x, pad)
    h_out, w_out = h + 2 * pad - k + 1, w + 2 * pad - k + 1
    out = np.empty((n, c_out, h_out, w_out), dtype=x.dtype)
    for co in range(c_out):
        kernel = weight[co]
        for i in range(h_out):
            for j in range(w_out):
                patch = xp[:, :, i : i + k, j : j + k]
                out[:, co, i, j] = (patch * kernel).sum(axis=(1, 2, 3)) + bias[co]
    return out


def im2col(x: np.ndarray, k: int, *, pad: int = 1) -> np.ndarray:
    """Return the patch matrix ``(batch*H_out*W_out, C_in*k*k)`` of ``x`` (NCHW).

    Rows are ordered (example, row, column); columns (channel, kernel row,
    kernel column), matching ``weight.reshape(C_out, -1)``.
    """
    n, c_in, _, _ = x.shape
    windows = np.lib.stride_tricks.sliding_window_view(_pad(x, pad), (k, k), axis=(2, 3))
    # windows: (n, C_in, H_out, W_out, k, k) -> (n, H_out, W_out, C_in, k, k)
    h_out, w_out = windows.shape[2], windows.shape[3]
    return windows.transpose(0, 2, 3, 1, 4, 5).reshape(n * h_out * w_out, c_in * k * k)


def conv2d_im2col(
    x: np.ndarray, weight: np.ndarray, bias: np.ndarray, *, pad: int = 1
) -> np.ndarray:
    """2-D convolution as one matrix product over an im2col patch matrix.

    Same contract and result as :func:`conv2d_naive`.
    """
    n, c_in, h, w = x.shape
    c_out, c_in_w, k, _ = weight.shape
    if c_in != c_in_w:
        raise InvalidParameterError(f"input has {c_in} channels but weight expects {c_in_w}.")
    h_out, w_out = h + 2 * pad - k + 1, w + 2 * pad - k + 1
    cols = im2col(x, k, pad=pad)
    out = cols @ weight.reshape(c_out, -1).T + bias
    return out.reshape(n, h_out, w_out, c_out).transpose(0, 3, 1, 2)


def _maxpool2(a: np.ndarray) -> np.ndarray:
    """2x2 max pooling of NCHW ``a`` (H and W even)."""
    n, c, h, w = a.shape
    return a.reshape(n, c, h // 2, 2, w // 2, 2).max(axis=(3, 5))


class CNN(ZooModel):
    """conv3x3(1->C, pad 1) -> ReLU -> maxpool 2x2 -> dense(C*16 -> 10).

    Parameters
    ----------
    seed : int, default 0
        Seed of the initialisation and of :meth:`fit`'s shuffling.
    conv_impl : {"naive", "im2col"}, default "im2col"
        How the convolution is computed; see the module docstring.
    channels : int, default 16
        Output channels of the convolution.
    name : str, optional
        Defaults to ``"cnn-<conv_impl>"``.

    Notes
    -----
    Input is ``(batch, 64)`` or ``(batch, 8, 8)``; ``input_shape`` is
    ``(64,)`` so the same flattened digits feed every zoo classifier.
    :meth:`with_conv_impl` returns a model sharing the same weights.

    """

    def __init__(
        self,
        seed: int = 0,
        *,
        conv_impl: str = "im2col",
        channels: int = 16,
        name: str | None = None,
    ) -> None:
        if conv_impl not in CONV_IMPLS:
            raise InvalidParameterError(
                f"`conv_impl` must be one of {CONV_IMPLS}; got {conv_impl!r}."
            )
        self.seed = int(seed)
        self.conv_impl = conv_impl
        self.channels = check_positive_int(channels, "channels")
        self.name = name or f"cnn-{conv_impl}"
        self.input_shape = (64,)
        rng = np.random.default_rng([self.seed, 303])
        c = self.channels
        self.conv_w = rng.normal(0.0, np.sqrt(2.0 / 9), size=(c, 1, 3, 3)).astype(np.float32)
        self.conv_b = np.zeros(c, dtype=np.float32)
        fan_in = c * 16
        self.fc_w = rng.normal(0.0, np.sqrt(1.0 / fan_in), size=(fan_in, 10)).astype(np.float32)
        self.fc_b = np.zeros(10, dtype=np.float32)

    def with_conv_impl(self, conv_impl: str, *, name: str | None = None) -> CNN:
        """Return a model with the same (shared, read-only by convention) weights and another conv."""
        twin = CNN(self.seed, conv_impl=conv_impl, channels=self.channels, name=name)
        twin.load_state(self.state())
        return twin

    def conv(self, images: np.ndarray) -> np.ndarray:
        """Apply the convolution (with the selected implementation) to ``(batch, 1, 8, 8)``."""
        fn = conv2d_naive if self.conv_impl == "naive" else conv2d_im2col
        return fn(images, self.conv_w, self.conv_b, pad=1)

    def forward(self, x: np.ndarray) -> np.ndarray:
        """Return float32 logits ``(batch, 10)`` for ``(batch, 64)`` or ``(batch, 8, 8)`` input."""
        flat = as_image_batch(x, model=self.name)
        a = np.maximum(self.conv(flat.reshape(-1, 1, 8, 8)), 0.0)
        pooled = _maxpool2(a).reshape(flat.shape[0], -1)
        return pooled @ self.fc_w + self.fc_b

    def parameter_arrays(self) -> list[np.ndarray]:
        """Return conv kernels, conv bias, dense weights, dense bias."""
        return [self.conv_w, self.conv_b, self.fc_w, self.fc_b]

    def fit(
        self,
        X: np.ndarray,
        y: np.ndarray,
        *,
        epochs: int = 15,
        batch_size: int = 32,
        lr: float = 5e-3,
        weight_decay: float = 1e-4,
    ) -> TrainingReport:
        """Train with Adam (backpropagation through the im2col convolution).

        Parameters
        ----------
        X : numpy.ndarray
            ``(n, 64)`` training inputs.
        y : numpy.ndarray
            Integer labels.
        epochs, batch_size : int
            Passes and mini-batch size.
        lr, weight_decay : float
            Adam learning rate and L2 penalty.

        Returns
        -------
        TrainingReport
            Per-epoch mean losses.

        """
        X = as_image_batch(X, model=self.name)
        y = np.asarray(y, dtype=np.int64)
        epochs = check_positive_int(epochs, "epochs")
        batch_size = check_positive_int(batch_size, "batch_size")
        rng = np.random.default_rng([self.seed, 404])
        c = self.channels
        params = [self.conv_w, self.conv_b, self.fc_w, self.fc_b]
        opt = Adam(params, lr=lr, weight_decay=weight_decay)
        report = TrainingReport(epochs=epochs, steps=0)
        for _ in range(epochs):
            order = rng.permutation(len(y))
            total = 0.0
            for start in range(0, len(y), batch_size):
                idx = order[start : start + batch_size]
                n = len(idx)
                cols = im2col(X[idx].reshape(n, 1, 8, 8), 3, pad=1)  # (n*64, 9)
                z = cols @ self.conv_w.reshape(c, -1).T + self.conv_b  # (n*64, C) NHWC
                a = np.maximum(z, 0.0).reshape(n, 4, 2, 4, 2, c)
                win = a.transpose(0, 5, 1, 3, 2, 4).reshape(n, c, 4, 4, 4)  # NCHW + window
                arg = win.argmax(axis=-1)
                pooled = np.take_along_axis(win, arg[..., None], axis=-1)[..., 0]
                feats = pooled.reshape(n, -1)
                logits = feats @ self.fc_w + self.fc_b
                loss, g = softmax_cross_entropy(logits, y[idx])
                total += loss * n
                g_fc_w = feats.T @ g
                g_fc_b = g.sum(axis=0)
                g_pooled = (g @ self.fc_w.T).reshape(n, c, 4, 4)
                g_win = np.zeros_like(win)
                np.put_along_axis(g_win, arg[..., None], g_pooled[..., None], axis=-1)
                g_a = g_win.reshape(n, c, 4, 4, 2, 2).transpose(0, 2, 4, 3, 5, 1).reshape(-1, c)
                g_z = g_a * (z > 0)
                g_conv_w = (cols.T @ g_z).T.reshape(self.conv_w.shape)
                g_conv_b = g_z.sum(axis=0)
                opt.step([g_conv_w, g_conv_b, g_fc_w, g_fc_b])
                report.steps += 1
            report.losses.append(total / len(y))
        return report

    def state(self) -> dict[str, np.ndarray]:
        """Return the parameters as named arrays."""
        return {"conv_w": self.conv_w, "conv_b": self.conv_b, "fc_w": self.fc_w, "fc_b": self.fc_b}

    def load_state(self, arrays: dict[str, np.ndarray]) -> CNN:
        """Replace the parameters with ``arrays`` (as written by :meth:`state`); return self."""
        for key, ref in self.state().items():
            if key not in arrays or np.shape(arrays[key]) != ref.shape:
                raise InvalidParameterError(
                    f"state for {self.name} needs {key} of shape {ref.shape}; got "
                    f"{np.shape(arrays[key]) if key in arrays else 'nothing'}."
                )
            setattr(self, key, np.ascontiguousarray(arrays[key], dtype=np.float32))
        return self
