"""Tests of torchperf.models: calling protocol, names, parameter bytes, labels."""

from __future__ import annotations

import functools
import subprocess
import sys
import warnings

import numpy as np
import pytest

from torchperf.errors import InvalidParameterError, ModelError
from torchperf.models import (
    call_kind,
    find_nonfinite,
    get_call,
    is_sklearn_estimator,
    is_torch_module,
    model_input_shape,
    model_name,
    parameter_bytes,
    parameter_bytes_method,
    predict_labels,
    prepare_input,
    to_numpy,
    unique_model_names,
)

# --------------------------------------------------------------------------- helpers


class Named:
    name = "mlp"

    def forward(self, x):
        return x


class ForwardAndPredict:
    def forward(self, x):
        return "forward"

    def predict(self, x):
        return "predict"

    def __call__(self, x):
        return "call"


class PredictAndCall:
    def predict(self, x):
        return "predict"

    def __call__(self, x):
        return "call"


class CallOnly:
    def __call__(self, x):
        return "call"


class BadName:
    @property
    def name(self):
        raise RuntimeError("no name")

    def forward(self, x):
        return x


class Layer:
    def __init__(self, n_in, n_out):
        self.W = np.zeros((n_in, n_out), dtype=np.float32)
        self.b = np.zeros(n_out, dtype=np.float32)


class Net:
    def __init__(self):
        self.layers = [Layer(64, 32), Layer(32, 10)]
        self.cache = {"scale": np.ones(8, dtype=np.float64)}
        self.tied = self.layers[0].W  # same array: counted once
        self.view = self.layers[1].W.T  # a view of a counted array: counted once
        self.labels = np.array(["a", "b"], dtype=object)  # object arrays are skipped
        self.hyper = 3

    def forward(self, x):
        return x


W_GLOBAL = np.ones((64, 10), dtype=np.float32)


def uses_global(x):
    return x @ W_GLOBAL


def square(x):
    return x * x


# --------------------------------------------------------------------------- names


def test_model_name_prefers_name_attribute_then_class_then_function():
    assert model_name(Named()) == "mlp"
    assert model_name(CallOnly()) == "CallOnly"
    assert model_name(square) == "square"
    assert model_name(lambda x: x, 4) == "model_4"
    assert model_name(functools.partial(square)) == "square"
    assert model_name(Named().forward) == "Named.forward"
    assert model_name(np.tanh) == "tanh"
    assert model_name(BadName()) == "BadName"


def test_unique_model_names_suffixes_repeats_without_collisions():
    assert unique_model_names([Named(), Named(), Named()]) == ["mlp", "mlp-2", "mlp-3"]

    class Other:
        def __init__(self, name):
            self.name = name

        def forward(self, x):
            return x

    names = unique_model_names([Other("a"), Other("a"), Other("a-2")])
    assert names == ["a", "a-3", "a-2"]
    assert len(set(names)) == 3


# --------------------------------------------------------------------------- calling


def test_call_order_is_forward_then_predict_then_call():
    assert get_call(ForwardAndPredict())(1) == "forward"
    assert get_call(PredictAndCall())(1) == "predict"
    assert get_call(CallOnly())(1) == "call"
    assert call_kind(ForwardAndPredict()) == "forward"
    assert call_kind(PredictAndCall()) == "predict"
    assert call_kind(square) == "callable"


def test_non_callable_model_is_rejected_with_a_fix():
    with pytest.raises(InvalidParameterError, match=r"forward.*predict.*callable"):
        get_call(object())


def test_prepare_input_leaves_numpy_models_alone():
    x = np.ones((2, 3))
    assert prepare_input(Named(), x) is x
    assert not is_torch_module(x)


def test_model_input_shape_from_attribute_or_sklearn():
    class Declared:
        input_shape = (8, 8)

        def forward(self, x):
            return x

    assert model_input_shape(Declared()) == (1, 8, 8)
    assert model_input_shape(Named()) is None
    from sklearn.linear_model import LogisticRegression

    X = np.random.default_rng(0).standard_normal((20, 5))
    lr = LogisticRegression().fit(X, np.arange(20) % 2)
    assert model_input_shape(lr) == (1, 5)


# --------------------------------------------------------------------------- outputs


def test_find_nonfinite_reports_counts_and_ignores_non_numeric():
    assert find_nonfinite(np.ones(3)) is None
    assert find_nonfinite(np.array([1.0, np.nan, np.inf])) == "1 NaN and 1 infinite of 3 output values"
    assert find_nonfinite([np.ones(2), {"aux": np.array([np.nan])}]) == "1 NaN of 1 output values"
    assert find_nonfinite(np.array(["a", "b"])) is None
    assert find_nonfinite(None) is None
    assert find_nonfinite(float("inf")) == "1 infinite of 1 output values"
    assert find_nonfinite(np.arange(3)) is None


def test_predict_labels_argmax_labels_and_errors():
    logits = np.array([[0.1, 0.9], [0.8, 0.2], [0.3, 0.7]])
    assert predict_labels(lambda x: logits, None).tolist() == [1, 0, 1]
    assert predict_labels(lambda x: np.array([2, 0, 1]), None).tolist() == [2, 0, 1]
    assert predict_labels(lambda x: np.array([[2], [0]]), None).tolist() == [2, 0]
    assert predict_labels(lambda x: (logits, "aux"), None).tolist() == [1, 0, 1]
    with pytest.raises(ModelError, match="shape"):
        predict_labels(lambda x: np.zeros((2, 3, 4)), None)
    with pytest.raises(ModelError, match="NaN"):
        predict_labels(lambda x: np.array([[np.nan, 1.0]]), None)


def test_to_numpy_takes_first_tuple_element():
    assert to_numpy((np.arange(3), None)).tolist() == [0, 1, 2]
    assert to_numpy([1, 2]).tolist() == [1, 2]


# --------------------------------------------------------------------------- sizes


def test_parameter_bytes_uses_the_models_own_method():
    class Own:
        def forward(self, x):
            return x

        def parameter_bytes(self):
            return 1234

    assert parameter_bytes_method(Own()) == (1234, "parameter_bytes()")


@pytest.mark.parametrize("value", [-1, 1.5, "12", None, float("nan"), True])
def test_parameter_bytes_rejects_a_bad_own_method(value):
    class Bad:
        def forward(self, x):
            return x

        def parameter_bytes(self):
            return value

    with pytest.raises(ModelError, match="parameter_bytes"):
        parameter_bytes(Bad())


def test_parameter_bytes_own_method_that_raises_is_a_model_error():
    class Raises:
        def forward(self, x):
            return x

        def parameter_bytes(self):
            raise KeyError("weights")

    with pytest.raises(ModelError, match="KeyError"):
        parameter_bytes(Raises())


def test_parameter_bytes_walks_layers_and_counts_shared_buffers_once():
    expected = (64 * 32 + 32 + 32 * 10 + 10) * 4 + 8 * 8
    assert parameter_bytes_method(Net()) == (expected, "numpy-attributes")


def test_parameter_bytes_of_views_is_capped_by_their_buffer():
    class Views:
        def __init__(self):
            base = np.zeros(100, dtype=np.float64)
            self.a = base[:60]
            self.b = base[40:]  # overlaps a; both views of one 800-byte buffer

        def forward(self, x):
            return x

    assert parameter_bytes(Views()) == 800


def test_parameter_bytes_of_functions_closures_globals_and_partials():
    weights = np.ones((10, 10), dtype=np.float64)

    def closure(x):
        return x @ weights

    assert parameter_bytes_method(closure) == (800, "closure")
    assert parameter_bytes(uses_global) == W_GLOBAL.nbytes
    assert parameter_bytes(functools.partial(np.dot, b=weights)) == 800
    assert parameter_bytes_method(square) == (None, "closure")  # unknown, not 0 B


W_COMP = np.ones((8, 8), dtype=np.float32)
W_HELPER = np.ones(16, dtype=np.float64)
LAYERS = [np.ones((4, 4), dtype=np.float32), np.ones(4, dtype=np.float32)]


def comprehension_only(x):
    return [W_COMP @ row for row in x]  # W_COMP is named only in the comprehension's code


def nested_lambda(x):
    f = lambda v: v * W_COMP  # noqa: E731
    return f(x)


def _helper(x):
    return x * W_HELPER


def calls_helper(x):
    return _helper(x) + sum(w.sum() for w in LAYERS)


class UsesGlobalInForward:
    def forward(self, x):
        return x @ W_COMP


class OwnAttributeNamedLikeAGlobal:
    def __init__(self):
        self.W_COMP = np.ones(3)

    def forward(self, x):
        return x @ self.W_COMP  # the attribute, not the module's W_COMP


def test_parameter_bytes_reaches_nested_code_helpers_and_containers():
    """Issue 16.7: arrays named in comprehensions, lambdas and helpers count; none is unknown."""
    assert parameter_bytes(comprehension_only) == W_COMP.nbytes
    assert parameter_bytes(nested_lambda) == W_COMP.nbytes
    assert parameter_bytes(calls_helper) == W_HELPER.nbytes + 64 + 16
    assert parameter_bytes(UsesGlobalInForward()) == W_COMP.nbytes
    assert parameter_bytes(OwnAttributeNamedLikeAGlobal()) == 24
    assert parameter_bytes(np.tanh) is None  # a ufunc: nothing to look into
    assert parameter_bytes(lambda x: x) is None
    # a function calling NumPy's functions does not count NumPy's own tables
    assert parameter_bytes(lambda x: np.linalg.norm(x) * W_HELPER) == W_HELPER.nbytes


def test_unknown_size_is_not_compared(tmp_path):
    import warnings

    from torchperf.benchmark import Benchmark
    from torchperf.report import summary_table
    from torchperf.suite import BenchmarkSuite

    bench = Benchmark({"w": uses_global, "sq": square}, environment={})
    results = bench.run_size_benchmark()
    assert list(results) == ["w"] and bench.not_applicable["size"]["sq"].startswith("unknown")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for first in ("sq", "w"):  # unknown as the baseline, and as a candidate
            suite = BenchmarkSuite(
                {"sq": square, "w": uses_global}, None, tmp_path / first, metrics=("size",),
                baseline=first, benchmark_kwargs={"environment": {}},
            )  # fmt: skip
            suite.run_full_benchmark()
            assert suite.comparisons() == []
            table = summary_table(suite.to_run())
            unknown_row = next(ln for ln in table.splitlines() if ln.startswith("sq "))
            assert "unknown" in unknown_row and "0 B" not in table and "0.000x" not in table


def test_parameter_bytes_of_sklearn_counts_fitted_arrays_only():
    from sklearn.datasets import load_digits
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, y = load_digits(return_X_y=True)
    lr = LogisticRegression(max_iter=50, class_weight=None)
    with warnings.catch_warnings():  # ConvergenceWarning at 50 iterations; irrelevant here
        warnings.simplefilter("ignore")
        lr.fit(X[:300], y[:300])
    fitted = [v for k, v in vars(lr).items() if k.endswith("_") and isinstance(v, np.ndarray)]
    assert is_sklearn_estimator(lr)
    assert parameter_bytes_method(lr) == (sum(a.nbytes for a in fitted), "sklearn")
    assert parameter_bytes(lr) >= lr.coef_.nbytes + lr.intercept_.nbytes

    pipe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=50))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pipe.fit(X[:300], y[:300])
    scaler, clf = pipe[0], pipe[1]
    assert parameter_bytes(pipe) >= (
        clf.coef_.nbytes + clf.intercept_.nbytes + scaler.mean_.nbytes + scaler.scale_.nbytes
    )


def test_parameter_bytes_of_sklearn_mlp_includes_coefs_lists():
    from sklearn.neural_network import MLPClassifier

    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((40, 6)), np.arange(40) % 3
    mlp = MLPClassifier(hidden_layer_sizes=(5,), max_iter=5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mlp.fit(X, y)
    weights = sum(a.nbytes for a in mlp.coefs_ + mlp.intercepts_)
    assert parameter_bytes(mlp) >= weights


def test_models_module_never_imports_torch_for_numpy_models():
    code = (
        "import sys, numpy as np\n"
        "from torchperf.models import get_call, parameter_bytes, predict_labels\n"
        "f = lambda x: np.stack([x.sum(1), -x.sum(1)], 1)\n"
        "predict_labels(f, np.ones((3, 4))); parameter_bytes(f)\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


# --------------------------------------------------------------------------- torch


def _torch():
    return pytest.importorskip("torch", reason="PyTorch is not installed; torch models untested")


def test_torch_module_runs_under_no_grad_with_converted_input():
    torch = _torch()
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(4, 3)).eval()
    assert is_torch_module(net)
    assert call_kind(net) == "torch-module"
    x64 = np.ones((2, 4), dtype=np.float64)
    prepared = prepare_input(net, x64)
    assert isinstance(prepared, torch.Tensor) and prepared.dtype == torch.float32
    out = get_call(net)(x64)  # numpy accepted directly too
    assert isinstance(out, torch.Tensor)
    assert not out.requires_grad  # no_grad: no autograd graph was recorded
    assert predict_labels(net, x64).shape == (2,)
    ids = prepare_input(net, np.array([[1, 2]], dtype=np.int64))
    assert ids.dtype == torch.int64  # integer inputs (token ids) keep their dtype


def test_torch_parameter_bytes_counts_parameters_buffers_and_shared_once():
    torch = _torch()
    lin = torch.nn.Linear(8, 8)
    net = torch.nn.Sequential(lin, torch.nn.BatchNorm1d(8), lin)  # lin shared
    expected = (8 * 8 + 8) * 4 + (8 + 8) * 4 + (8 + 8) * 4 + 8  # weight/bias, bn affine, stats, count
    assert parameter_bytes_method(net) == (expected, "torch")


def test_find_nonfinite_on_tensors():
    torch = _torch()
    assert find_nonfinite(torch.tensor([1.0, float("nan")])) == "1 NaN of 2 output values"
    assert find_nonfinite(torch.tensor([1, 2])) is None


def test_make_names_unique_never_collides_with_an_existing_name():
    from torchperf.models import make_names_unique

    assert make_names_unique(["mlp", "mlp", "mlp-2", "cnn"]) == ["mlp", "mlp-3", "mlp-2", "cnn"]
