"""Tests of torchperf.zoo: data split, models, optimized variants, cache."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

from torchperf.errors import (
    CorruptResultsWarning,
    InvalidParameterError,
    ResultsFileError,
)
from torchperf.zoo import (
    CNN,
    MLP,
    QuantizedMLP,
    SparseMLP,
    TinyTransformer,
    build_zoo,
    conv2d_im2col,
    conv2d_naive,
    default_cache_dir,
    load_digits_split,
    low_rank,
    prune,
    quantize_int8,
    synthetic_batch,
)
from torchperf.zoo.build import _entry_dir, _load_entry

EXPECTED_ORDER = [
    "mlp",
    "mlp-int8",
    "mlp-pruned50",
    "mlp-pruned90",
    "mlp-pruned90-sparse",
    "mlp-lowrank",
    "cnn-naive",
    "cnn-im2col",
    "attn-nocache",
    "attn-kvcache",
]


@pytest.fixture(scope="session")
def cache_root(tmp_path_factory):
    return tmp_path_factory.mktemp("zoo-cache")


@pytest.fixture(scope="session")
def zoo(cache_root):
    """One real build (trains once per test session, into a temporary cache)."""
    return build_zoo(0, cache_dir=cache_root, include_torch=False)


@pytest.fixture(scope="session")
def split(zoo):
    return zoo.split


# ------------------------------------------------------------------ data
def test_split_shapes_ranges_and_disjointness(split):
    sizes = split.sizes
    assert sum(sizes) == 1797
    assert sizes == (1078, 359, 360)
    for X, y in ((split.X_train, split.y_train), (split.X_val, split.y_val), (split.X_test, split.y_test)):
        assert X.dtype == np.float32 and X.shape == (len(y), 64)
        assert X.min() >= 0.0 and X.max() <= 1.0
        assert set(np.unique(y)) == set(range(10))
    # no example appears in two parts (digits has duplicated images, so compare by row multiset size)
    all_rows = np.concatenate([split.X_train, split.X_val, split.X_test])
    from sklearn.datasets import load_digits

    ref = np.sort((load_digits().data / 16.0).astype(np.float32).view(np.void), axis=0)
    assert np.array_equal(np.sort(np.ascontiguousarray(all_rows).view(np.void), axis=0), ref)


def test_split_is_stratified_and_deterministic(split):
    counts = [np.bincount(y, minlength=10) / len(y) for y in (split.y_train, split.y_val, split.y_test)]
    assert np.max(np.abs(counts[0] - counts[2])) < 0.01
    again = load_digits_split(0)
    assert np.array_equal(again.X_test, split.X_test) and np.array_equal(again.y_val, split.y_val)
    other = load_digits_split(1)
    assert not np.array_equal(other.y_test, split.y_test)


@pytest.mark.parametrize("bad", [-1, 1.5, "0", True])
def test_split_rejects_bad_seed(bad):
    with pytest.raises(InvalidParameterError, match="seed"):
        load_digits_split(bad)


def test_synthetic_batch():
    a = synthetic_batch((4, 64), seed=3)
    assert a.shape == (4, 64) and a.dtype == np.float32
    assert np.array_equal(a, synthetic_batch((4, 64), seed=3))
    assert not np.array_equal(a, synthetic_batch((4, 64), seed=4))
    assert 0.0 <= a.min() and a.max() < 1.0
    with pytest.raises(InvalidParameterError, match="shape"):
        synthetic_batch((0, 64))
    with pytest.raises(InvalidParameterError, match="dtype"):
        synthetic_batch((2, 2), dtype=np.int32)


# ------------------------------------------------------------------ comparison set / contract
def test_comparison_set_order_and_contract(zoo):
    models = zoo.models
    assert list(models) == EXPECTED_ORDER
    for key, model in models.items():
        assert model.name == key
        x = synthetic_batch((3, *model.input_shape), seed=1)
        out = model.forward(x)
        assert isinstance(out, np.ndarray) and np.all(np.isfinite(out))
        assert isinstance(model.parameter_bytes(), int) and model.parameter_bytes() > 0
        if model.task == "classification":
            assert out.shape == (3, 10) and out.dtype == np.float32
        else:
            assert model.task == "generation" and out.shape == (3, model.n_new)


def test_include_torch_validation(cache_root):
    with pytest.raises(InvalidParameterError, match="include_torch"):
        build_zoo(0, cache_dir=cache_root, include_torch="yes")


def test_inputs_are_validated(zoo):
    mlp = zoo.models["mlp"]
    with pytest.raises(InvalidParameterError, match=r"\(batch, 64\)"):
        mlp.forward(np.zeros((2, 63), np.float32))
    images = zoo.split.X_test[:5]
    np.testing.assert_array_equal(mlp.forward(images.reshape(5, 8, 8)), mlp.forward(images))
    with pytest.raises(InvalidParameterError, match="generation"):
        zoo.models["attn-kvcache"].predict(images)


# ------------------------------------------------------------------ accuracy (Done-when 1)
def test_accuracy_targets(zoo, split):
    acc = {
        k: m.accuracy(split.X_test, split.y_test)
        for k, m in zoo.models.items()
        if m.task == "classification"
    }
    assert acc["mlp"] >= 0.95
    assert abs(acc["mlp-int8"] - acc["mlp"]) <= 0.01
    assert abs(acc["mlp-pruned50"] - acc["mlp"]) <= 0.01
    assert acc["cnn-im2col"] >= 0.95
    assert acc["cnn-naive"] == acc["cnn-im2col"]
    # 90 % pruning is measured, not assumed; dense and sparse execution agree.
    assert 0.0 <= acc["mlp-pruned90"] <= 1.0
    assert acc["mlp-pruned90-sparse"] == acc["mlp-pruned90"]


# ------------------------------------------------------------------ int8 (Done-when 2, 3)
def test_int8_storage_and_logits(zoo, split):
    mlp, q = zoo.models["mlp"], zoo.models["mlp-int8"]
    assert isinstance(q, QuantizedMLP)
    assert all(w.dtype == np.int8 for w in q.q_weights)
    float_weight_bytes = sum(w.nbytes for w in mlp.weights)
    assert q.weight_bytes() * 4 == float_weight_bytes
    assert mlp.parameter_bytes() / q.parameter_bytes() > 3.5
    ref, got = mlp.forward(split.X_test), q.forward(split.X_test)
    assert np.max(np.abs(got - ref)) <= 0.05 * np.max(np.abs(ref))
    assert np.mean(got.argmax(1) == ref.argmax(1)) >= 0.98


def test_int8_exact_on_representable_network():
    """Weights and inputs already on the int8 grid are reproduced exactly (integer accumulation)."""
    single = MLP((4, 3), seed=0)
    # every column has an entry of magnitude 127 -> per-channel scale exactly 1/127
    single.weights = [np.array([[1, -2, 3], [4, 5, -6], [7, 8, 127], [-127, 127, 1]], np.float32) / 127]
    single.biases = [np.array([0.5, 0.0, -0.25], np.float32)]
    x = np.array([[0, 1, 2, 127], [127, 64, 0, 3]], np.float32) / 127  # activation scale 1/127
    q = quantize_int8(single, x)
    np.testing.assert_array_equal(q.q_weights[0], np.rint(single.weights[0] * 127).astype(np.int8))
    integer = np.array([[0, 1, 2, 127], [127, 64, 0, 3]]) @ np.rint(single.weights[0] * 127).astype(int)
    np.testing.assert_allclose(q.forward(x), integer / 127**2 + single.biases[0], rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(q.forward(x), single.forward(x), rtol=1e-5, atol=1e-6)


# ------------------------------------------------------------------ pruning (Done-when 2, 3)
def test_pruning_dense_vs_sparse(zoo, split):
    mlp = zoo.models["mlp"]
    dense, sparse = zoo.models["mlp-pruned90"], zoo.models["mlp-pruned90-sparse"]
    assert isinstance(sparse, SparseMLP)
    for w_dense, w_sparse, w_orig in zip(dense.weights, sparse.to_dense_weights(), mlp.weights, strict=True):
        np.testing.assert_array_equal(w_dense, w_sparse)
        assert abs(np.mean(w_dense == 0) - 0.9) <= 1.0 / w_dense.size
        kept = np.abs(w_orig[w_dense != 0])
        assert kept.min() >= np.abs(w_orig[w_dense == 0]).max()  # magnitude criterion
    assert np.mean(mlp.weights[0] == 0) < 0.01  # baseline untouched
    np.testing.assert_allclose(sparse.forward(split.X_test), dense.forward(split.X_test), rtol=1e-5, atol=1e-5)
    # storage: CSR of every 90 %-pruned layer is smaller than its dense array
    for csr_bytes, w in zip(sparse.layer_bytes(), dense.weights, strict=True):
        assert csr_bytes < w.nbytes
    assert sparse.parameter_bytes() < dense.parameter_bytes() == mlp.parameter_bytes()
    expected = sum(w.data.nbytes + w.indices.nbytes + w.indptr.nbytes for w in sparse.csr_weights)
    assert sparse.parameter_bytes() == expected + sum(b.nbytes for b in sparse.biases)


def test_prune_zero_is_identity_and_validation(zoo, split):
    mlp = zoo.models["mlp"]
    np.testing.assert_array_equal(prune(mlp, 0.0).forward(split.X_val), mlp.forward(split.X_val))
    with pytest.raises(InvalidParameterError, match=r"Use 0\.9 for 90%"):
        prune(mlp, 90)
    with pytest.raises(InvalidParameterError, match="MLP"):
        prune(zoo.models["cnn-im2col"], 0.5)


# ------------------------------------------------------------------ low rank
def test_low_rank_is_optimal_truncation_and_close(zoo, split):
    mlp, lr = zoo.models["mlp"], zoo.models["mlp-lowrank"]
    assert lr.ranks[:2] == [16, 16]
    u, v = lr.factors[0]
    s = np.linalg.svd(mlp.weights[0].astype(np.float64), compute_uv=False)
    err = np.linalg.norm(mlp.weights[0].astype(np.float64) - u.astype(np.float64) @ v)
    assert err == pytest.approx(np.sqrt(np.sum(s[16:] ** 2)), rel=1e-4)
    assert lr.parameter_bytes() < mlp.parameter_bytes()
    ref, got = mlp.forward(split.X_test), lr.forward(split.X_test)
    assert np.mean(got.argmax(1) == ref.argmax(1)) >= 0.95
    # a rank that would not save storage keeps layers dense -> identical model
    full = low_rank(mlp, 64)
    assert full.ranks == [None, None, None]
    np.testing.assert_allclose(full.forward(split.X_val), mlp.forward(split.X_val), rtol=1e-6)


# ------------------------------------------------------------------ CNN
def test_conv_implementations_agree():
    rng = np.random.default_rng(0)
    x = rng.random((5, 3, 8, 8), dtype=np.float32)
    w = rng.normal(size=(4, 3, 3, 3)).astype(np.float32)
    b = rng.normal(size=4).astype(np.float32)
    naive, fast = conv2d_naive(x, w, b), conv2d_im2col(x, w, b)
    assert naive.shape == fast.shape == (5, 4, 8, 8)
    np.testing.assert_allclose(fast, naive, rtol=1e-6, atol=1e-6)
    # independent oracle: scipy's 2-D cross-correlation, summed over input channels
    from scipy.signal import correlate2d

    ref = sum(correlate2d(x[1, c], w[2, c], mode="same") for c in range(3)) + b[2]
    np.testing.assert_allclose(naive[1, 2], ref, rtol=1e-5, atol=1e-5)


def test_cnn_variants_share_weights_and_agree(zoo, split):
    naive, fast = zoo.models["cnn-naive"], zoo.models["cnn-im2col"]
    assert isinstance(naive, CNN) and naive.conv_impl == "naive" and fast.conv_impl == "im2col"
    for key, arr in naive.state().items():
        np.testing.assert_array_equal(arr, fast.state()[key])
    imgs = split.X_test[:64].reshape(-1, 1, 8, 8)
    np.testing.assert_allclose(naive.conv(imgs), fast.conv(imgs), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(naive.forward(split.X_test[:64]), fast.forward(split.X_test[:64]), rtol=1e-5, atol=1e-5)
    assert naive.parameter_bytes() == fast.parameter_bytes()


# ------------------------------------------------------------------ attention
def test_kv_cache_generation_identical(zoo, split):
    nocache, cached = zoo.models["attn-nocache"], zoo.models["attn-kvcache"]
    assert isinstance(cached, TinyTransformer) and cached.use_kv_cache and not nocache.use_kv_cache
    x = split.X_test[:48]
    np.testing.assert_array_equal(cached.forward(x), nocache.forward(x))
    # a full (batch, 64) batch and the bare prompt give the same completion
    np.testing.assert_array_equal(cached.forward(x[:, :32]), cached.forward(x))


def test_kv_cache_hidden_states_match_recomputation(zoo, split):
    model = zoo.models["attn-kvcache"]
    from torchperf.zoo.attention import pixels_to_tokens

    tokens = pixels_to_tokens(split.X_val[:6])[:, :40]
    full = model.logits(tokens)
    cache: dict = {}
    parts = [model._block(tokens[:, :30], 0, cache)]
    for t in range(30, 40):
        parts.append(model._block(tokens[:, t : t + 1], t, cache))
    stepped = np.concatenate(parts, axis=1) @ model.params["W_out"] + model.params["b_out"]
    np.testing.assert_allclose(stepped, full, rtol=1e-5, atol=1e-5)
    assert cache["k"].shape == (6, model.n_heads, 40, model.d_model // model.n_heads)


def test_generation_is_not_degenerate(zoo, split):
    """The identity test above would be vacuous if every generated pixel were the same."""
    gen = zoo.models["attn-kvcache"].forward(split.X_test[:48])
    assert len(np.unique(gen)) >= 3


def test_transformer_gradients_match_finite_differences():
    rng = np.random.default_rng(0)
    m = TinyTransformer(1, d_model=8, n_heads=2, d_ff=6, prompt_len=4, n_new=3)
    m.params = {k: (v + 0.1 * rng.normal(size=v.shape)) for k, v in m.params.items()}  # float64
    tokens = rng.integers(0, 17, size=(3, 7))
    _, grads = m.loss_and_grads(tokens)
    for key, arr in m.params.items():
        for _ in range(3):
            i = tuple(int(rng.integers(0, n)) for n in arr.shape)
            old = arr[i]
            arr[i] = old + 1e-6
            up, _ = m.loss_and_grads(tokens)
            arr[i] = old - 1e-6
            down, _ = m.loss_and_grads(tokens)
            arr[i] = old
            assert grads[key][i] == pytest.approx((up - down) / 2e-6, rel=1e-4, abs=1e-7), key


def test_completion_scores(zoo, split):
    scores = zoo.models["attn-kvcache"].completion_scores(split.X_test[:40])
    assert set(scores) == {"token_accuracy", "mean_abs_error", "copy_above_token_accuracy", "zeros_token_accuracy"}
    assert all(0.0 <= v <= 1.0 for v in scores.values())


# ------------------------------------------------------------------ torch twin
def test_torch_twin_matches_numpy(zoo, split):
    pytest.importorskip("torch", reason="torch is not installed; the PyTorch twin is optional")
    import torch

    from torchperf.zoo import torch_twin

    mlp = zoo.models["mlp"]
    twin = torch_twin(mlp)
    assert isinstance(twin.module, torch.nn.Module)
    np.testing.assert_allclose(twin.forward(split.X_test), mlp.forward(split.X_test), rtol=1e-5, atol=1e-5)
    assert twin.parameter_bytes() == mlp.parameter_bytes()
    n_torch = sum(p.numel() * p.element_size() for p in twin.module.parameters())
    assert n_torch == twin.parameter_bytes()


# ------------------------------------------------------------------ cache
def test_cache_hit_reproduces_models(zoo, cache_root, split):
    again = build_zoo(0, cache_dir=cache_root, include_torch=False)
    assert again.from_cache and again.cache_path == zoo.cache_path
    for key in ("mlp", "cnn-im2col", "attn-kvcache", "mlp-int8"):
        np.testing.assert_array_equal(again.models[key].forward(split.X_test[:20]), zoo.models[key].forward(split.X_test[:20]))
    # files are plain npz (no pickle) + JSON
    entry = zoo.cache_path
    with np.load(entry / "arrays.npz", allow_pickle=False) as npz:
        assert "mlp.W0" in npz.files and npz["data.X_test"].dtype == np.float32
    meta = json.loads((entry / "meta.json").read_text())
    assert meta["schema"] == "torchperf.zoo.cache" and len(meta["arrays_sha256"]) == 64


def test_corrupt_metadata_is_rejected(zoo, tmp_path):
    import shutil

    entry = tmp_path / "entry"
    shutil.copytree(zoo.cache_path, entry)
    key = zoo.cache_path.name
    _load_entry(entry, key, 0)  # intact copy loads
    meta = json.loads((entry / "meta.json").read_text())
    (entry / "meta.json").write_text(json.dumps({**meta, "key": "other"}))
    with pytest.raises(ResultsFileError, match="key"):
        _load_entry(entry, key, 0)
    (entry / "meta.json").write_text('{"schema": "torchperf.zoo.ca')
    with pytest.raises(ResultsFileError, match="not valid JSON"):
        _load_entry(entry, key, 0)


def test_corrupt_arrays_are_rebuilt_not_trusted(zoo, tmp_path, monkeypatch):
    import shutil

    import torchperf.zoo.build as build_mod

    root = tmp_path / "root"
    entry, key = _entry_dir(root, 0)
    shutil.copytree(zoo.cache_path, entry)
    raw = bytearray((entry / "arrays.npz").read_bytes())
    raw[len(raw) // 2] ^= 0xFF  # flip one byte inside the data
    (entry / "arrays.npz").write_bytes(bytes(raw))
    # retraining is replaced by loading the intact session entry, so the test stays fast
    calls = []

    def fake_train(seed):
        calls.append(seed)
        return _load_entry(zoo.cache_path, key, seed)

    monkeypatch.setattr(build_mod, "_train", fake_train)
    with pytest.warns(CorruptResultsWarning, match="sha256"):
        rebuilt = build_zoo(0, cache_dir=root, include_torch=False)
    assert calls == [0] and not rebuilt.from_cache
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        again = build_zoo(0, cache_dir=root, include_torch=False)
    assert again.from_cache and calls == [0]
    np.testing.assert_array_equal(again.models["mlp"].weights[1], zoo.models["mlp"].weights[1])


def test_bad_seed_and_no_cache_mode(zoo, tmp_path, monkeypatch):
    import torchperf.zoo.build as build_mod

    key = zoo.cache_path.name
    monkeypatch.setattr(build_mod, "_train", lambda seed: _load_entry(zoo.cache_path, key, seed))
    monkeypatch.setenv("TORCHPERF_CACHE_DIR", str(tmp_path / "c"))
    with pytest.raises(InvalidParameterError, match="seed"):
        build_zoo(-1)
    built = build_zoo(0, use_cache=False, include_torch=False)
    assert not built.from_cache and built.cache_path is None
    assert list(built.models) == EXPECTED_ORDER
    assert not (tmp_path / "c").exists()


def test_training_is_deterministic(split):
    a, b = MLP(seed=3), MLP(seed=3)
    a.fit(split.X_train[:200], split.y_train[:200], epochs=2)
    b.fit(split.X_train[:200], split.y_train[:200], epochs=2)
    for wa, wb in zip(a.weights, b.weights, strict=True):
        np.testing.assert_array_equal(wa, wb)
    assert not np.array_equal(MLP(seed=4).weights[0], MLP(seed=3).weights[0])


def test_cache_dir_env_and_no_cache(monkeypatch, tmp_path):
    monkeypatch.setenv("TORCHPERF_CACHE_DIR", str(tmp_path / "env-cache"))
    assert default_cache_dir() == tmp_path / "env-cache"
    monkeypatch.delenv("TORCHPERF_CACHE_DIR")
    assert default_cache_dir() != tmp_path / "env-cache"


def test_include_torch_true_without_torch(cache_root, monkeypatch):
    import torchperf.zoo.build as build_mod
    from torchperf.errors import MissingDependencyError

    monkeypatch.setattr(build_mod, "torch_available", lambda: False)
    with pytest.raises(MissingDependencyError, match="include_torch"):
        build_zoo(0, cache_dir=cache_root, include_torch=True)
    models = build_zoo(0, cache_dir=cache_root, include_torch="auto").models
    assert "mlp-torch" not in models


def test_public_names_exist():
    import torchperf.zoo as zoo_pkg

    for name in zoo_pkg.__all__:
        assert hasattr(zoo_pkg, name), name
