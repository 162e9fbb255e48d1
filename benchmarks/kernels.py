"""NumPy kernels whose speed depends on the BLAS build: matmul and an im2col convolution.

These separate NumPy/BLAS effects (which differ between the matrix's NumPy
environments) from changes in torchperf's own code.
"""

import numpy as np

from ._common import CLOCK

#: clock of this module's latency_ benchmarks (see _common.CLOCK)
clock = CLOCK


class MatmulLatency:
    """float64 square matrix product (BLAS gemm)."""

    params = ((64, 256, 512),)
    param_names = ("n",)
    version = "1"

    def setup(self, n):
        rng = np.random.default_rng(0)
        self.a = rng.standard_normal((n, n))
        self.b = rng.standard_normal((n, n))
        self.out = np.empty((n, n))

    def latency_matmul(self, n):
        np.matmul(self.a, self.b, out=self.out)


class MatmulMemory:
    """Peak bytes of one allocating product: the n x n float64 result."""

    params = ((64, 256, 512),)
    param_names = ("n",)
    version = "1"

    def setup(self, n):
        rng = np.random.default_rng(0)
        self.a = rng.standard_normal((n, n))
        self.b = rng.standard_normal((n, n))

    def peakbytes_matmul(self, n):
        self.a @ self.b


# (channels in, channels out, image side, kernel side)
CONV_SHAPES = {"small": (4, 8, 16, 3), "medium": (16, 32, 32, 3), "large": (32, 64, 64, 3)}


def conv2d_im2col(x, w):
    """Valid 2-D convolution (cross-correlation) as one BLAS matrix product.

    x: (batch, c_in, h, w); w: (c_out, c_in, k, k) -> (batch, c_out, h-k+1, w-k+1).
    """
    k = w.shape[-1]
    win = np.lib.stride_tricks.sliding_window_view(x, (k, k), axis=(2, 3))
    # win: (batch, c_in, oh, ow, k, k) -> contract c_in, k, k
    return np.einsum("bchwij,ocij->bohw", win, w, optimize=True)


class Conv2dLatency:
    """im2col convolution of a batch of 8 images (einsum with BLAS contraction)."""

    params = (tuple(CONV_SHAPES),)
    param_names = ("size",)
    version = "1"

    def setup(self, size):
        c_in, c_out, side, k = CONV_SHAPES[size]
        rng = np.random.default_rng(0)
        self.x = rng.standard_normal((8, c_in, side, side)).astype(np.float32)
        self.w = rng.standard_normal((c_out, c_in, k, k)).astype(np.float32)

    def latency_conv2d(self, size):
        conv2d_im2col(self.x, self.w)
