"""Reference models and their optimized variants: honest subjects for benchmarks.

Small, readable numpy implementations trained on scikit-learn's bundled
handwritten digits, each a baseline with optimized variants, so that latency,
memory, size and accuracy genuinely trade off:

======================  ==============================================================
``mlp``                 64-128-64-10 ReLU MLP trained with Adam (:class:`MLP`)
``mlp-int8``            post-training int8 quantization (:func:`quantize_int8`)
``mlp-pruned50/90``     magnitude pruning, dense-masked execution (:func:`prune`)
``mlp-pruned90-sparse`` the same 90 % pruned weights as scipy.sparse CSR
``mlp-lowrank``         truncated-SVD factorization, rank 16 (:func:`low_rank`)
``cnn-naive/-im2col``   a small CNN; direct-loop vs im2col convolution (:class:`CNN`)
``attn-nocache/-kvcache`` tiny causal transformer generating digit pixels,
                        recomputing the prefix vs a KV cache (:class:`TinyTransformer`)
``mlp-torch``           the MLP's PyTorch twin, same weights (:func:`torch_twin`)
======================  ==============================================================

Every model has ``name``, ``input_shape`` (one example), ``task``
(``"classification"`` or ``"generation"``), ``forward(x)`` taking a numpy
float32 batch and ``parameter_bytes()`` (bytes as actually stored).
:func:`build_comparison_set` returns them all, cached on disk. :data:`FAMILIES`
declares which unoptimised baseline each variant is judged against (``mlp`` for
the MLP variants, ``cnn-naive`` for ``cnn-im2col``, ``attn-nocache`` for
``attn-kvcache``); :func:`family_baselines` maps model names to them.
"""

from __future__ import annotations

from torchperf.zoo._base import ZooModel
from torchperf.zoo.attention import TinyTransformer
from torchperf.zoo.build import (
    FAMILIES,
    ZooBuild,
    build_comparison_set,
    build_zoo,
    code_version,
    default_cache_dir,
    family_baselines,
)
from torchperf.zoo.cnn import CNN, conv2d_im2col, conv2d_naive
from torchperf.zoo.data import DigitsSplit, digits_test_examples, load_digits_split, synthetic_batch
from torchperf.zoo.mlp import MLP, TrainingReport
from torchperf.zoo.optimize import (
    LowRankMLP,
    PrunedMLP,
    QuantizedMLP,
    SparseMLP,
    TorchMLP,
    low_rank,
    prune,
    quantize_int8,
    torch_available,
    torch_twin,
)

__all__ = [
    "CNN",
    "FAMILIES",
    "MLP",
    "DigitsSplit",
    "LowRankMLP",
    "PrunedMLP",
    "QuantizedMLP",
    "SparseMLP",
    "TinyTransformer",
    "TorchMLP",
    "TrainingReport",
    "ZooBuild",
    "ZooModel",
    "build_comparison_set",
    "build_zoo",
    "code_version",
    "conv2d_im2col",
    "conv2d_naive",
    "default_cache_dir",
    "digits_test_examples",
    "family_baselines",
    "load_digits_split",
    "low_rank",
    "prune",
    "quantize_int8",
    "synthetic_batch",
    "torch_available",
    "torch_twin",
]
