"""How torchperf calls a model, names it and sizes it.

One protocol covers every kind of model a user is likely to hand over:

================================  =============================================================
model                             how it is called
================================  =============================================================
``torch.nn.Module``               ``module(x)`` under :func:`torch.no_grad`; a NumPy input is
                                  converted once to a tensor of the module's floating dtype and
                                  device (:func:`prepare_input`). ``module(x)`` rather than
                                  ``module.forward(x)`` so that hooks (quantization observers,
                                  pruning masks) run as they do in production.
object with ``forward``           ``model.forward(x)``
object with ``predict``           ``model.predict(x)`` (scikit-learn estimators, Keras-style APIs)
any other callable                ``model(x)`` (functions, ``functools.partial``, lambdas)
================================  =============================================================

The order ``forward`` > ``predict`` > ``__call__`` is the course module's order.
PyTorch is never imported by this module unless it is already imported, which
it must be if a model's class comes from torch: NumPy-only users pay nothing.
"""

from __future__ import annotations

import dis
import functools
import inspect
import math
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from torchperf.errors import InvalidParameterError, ModelError

__all__ = [
    "accuracy_not_applicable",
    "call_kind",
    "find_nonfinite",
    "get_call",
    "is_sklearn_estimator",
    "is_torch_module",
    "make_names_unique",
    "model_input_shape",
    "model_name",
    "parameter_bytes",
    "parameter_bytes_method",
    "predict_labels",
    "prepare_input",
    "to_numpy",
    "unique_model_names",
]

# How deep parameter_bytes looks into containers / plain sub-objects of a model.
_MAX_DEPTH = 3


# --------------------------------------------------------------------------- kinds of model


def is_torch_module(model: object) -> bool:
    """Return whether ``model`` is a ``torch.nn.Module``, without importing torch.

    Parameters
    ----------
    model : object
        Anything.

    Returns
    -------
    bool
        ``True`` only if torch is already imported and ``model`` is an instance of
        ``torch.nn.Module``. (An instance of a torch class cannot exist before torch
        is imported, so this never needs to import it.)

    """
    torch = sys.modules.get("torch")
    if torch is None:
        return False
    nn = getattr(torch, "nn", None)
    module_cls = getattr(nn, "Module", None)
    return module_cls is not None and isinstance(model, module_cls)


def _is_torch_tensor(obj: object) -> bool:
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(obj, torch.Tensor)


def is_sklearn_estimator(model: object) -> bool:
    """Return whether ``model`` looks like a scikit-learn estimator (duck-typed).

    Parameters
    ----------
    model : object
        Anything.

    Returns
    -------
    bool
        ``True`` when ``model`` has ``get_params``, ``fit`` and ``predict`` methods. No
        import of scikit-learn is needed.

    """
    return all(callable(getattr(model, attr, None)) for attr in ("get_params", "fit", "predict"))


def call_kind(model: object) -> str:
    """Say which entry point :func:`get_call` uses for ``model``.

    Parameters
    ----------
    model : object
        A model.

    Returns
    -------
    str
        ``"torch-module"``, ``"forward"``, ``"predict"`` or ``"callable"``.

    Raises
    ------
    InvalidParameterError
        If ``model`` has none of ``forward``, ``predict`` or ``__call__``.

    """
    if is_torch_module(model):
        return "torch-module"
    if callable(getattr(model, "forward", None)):
        return "forward"
    if callable(getattr(model, "predict", None)):
        return "predict"
    if callable(model):
        return "callable"
    raise InvalidParameterError(
        f"a model must have a `forward` or `predict` method or be callable; got an object of "
        f"type {type(model).__name__!r} with none of them. Wrap it in a function "
        f"`lambda x: ...` that runs one inference."
    )


# --------------------------------------------------------------------------- names


def model_name(model: object, index: int = 0) -> str:
    """Return a human-readable name for ``model``.

    Parameters
    ----------
    model : object
        A model.
    index : int, default 0
        Position of the model in its list; used for anonymous models (lambdas), which
        are named ``model_<index>`` like the course module does.

    Returns
    -------
    str
        The model's ``name`` attribute when it is a non-empty string, else a function's
        ``__name__`` (a bound method's ``Class.method``; a ``functools.partial`` is named
        after its function), else the class name.

    """
    try:
        name = getattr(model, "name", None)
    except Exception:  # a property that raises: fall back to the class name
        name = None
    if isinstance(name, str) and name.strip():
        return name.strip()
    if isinstance(model, functools.partial):
        return model_name(model.func, index)
    if inspect.ismethod(model):
        owner = type(model.__self__).__name__
        return f"{owner}.{model.__func__.__name__}"
    # Functions, builtins, ufuncs and NumPy dispatchers carry a __name__; instances of
    # ordinary classes do not (the attribute lives on the class).
    fn_name = getattr(model, "__name__", None)
    if isinstance(fn_name, str) and not inspect.isclass(model):
        if not fn_name or fn_name == "<lambda>":
            return f"model_{index}"
        return fn_name
    return type(model).__name__


def make_names_unique(names: Sequence[str]) -> list[str]:
    """Make repeated names unique: the second ``"mlp"`` becomes ``"mlp-2"``, and so on.

    A suffix never collides with a name that is already in ``names``.

    Examples
    --------
    >>> make_names_unique(["mlp", "mlp", "mlp-2"])
    ['mlp', 'mlp-3', 'mlp-2']

    """
    reserved = set(names)
    taken: set[str] = set()
    unique: list[str] = []
    for name in names:
        candidate = name
        if candidate in taken:
            k = 2
            candidate = f"{name}-{k}"
            while candidate in taken or candidate in reserved:
                k += 1
                candidate = f"{name}-{k}"
        taken.add(candidate)
        unique.append(candidate)
    return unique


def unique_model_names(models: Sequence[object]) -> list[str]:
    """Name every model, making repeated names unique.

    Parameters
    ----------
    models : sequence
        Models, in order.

    Returns
    -------
    list of str
        :func:`model_name` of each model, made unique by :func:`make_names_unique`:
        the second model called ``"mlp"`` becomes ``"mlp-2"``, the third ``"mlp-3"``.

    Examples
    --------
    >>> unique_model_names([len, len, max])
    ['len', 'len-2', 'max']

    """
    return make_names_unique([model_name(model, i) for i, model in enumerate(models)])


# --------------------------------------------------------------------------- calling


def _torch_float_dtype_and_device(module: Any) -> tuple[Any, Any]:
    torch = sys.modules["torch"]
    for tensor in _iter_chain(module.parameters(), module.buffers()):
        if tensor.is_floating_point():
            return tensor.dtype, tensor.device
    return torch.get_default_dtype(), torch.device("cpu")


def _iter_chain(*iterables: Iterable[Any]) -> Iterable[Any]:
    for iterable in iterables:
        yield from iterable


def prepare_input(model: object, x: object) -> object:
    """Convert ``x`` to what ``model`` expects, once, outside any timed region.

    Parameters
    ----------
    model : object
        A model.
    x : object
        An input, usually a NumPy array.

    Returns
    -------
    object
        For a ``torch.nn.Module`` and a NumPy ``x``: a tensor on the module's device;
        floating arrays take the dtype of the module's first floating parameter or
        buffer (``float32`` for most modules), integer arrays keep their dtype (token
        ids). Anything else is returned unchanged.

    """
    if not is_torch_module(model) or not isinstance(x, np.ndarray):
        return x
    torch = sys.modules["torch"]
    tensor = torch.from_numpy(np.ascontiguousarray(x))
    dtype, device = _torch_float_dtype_and_device(model)
    if tensor.is_floating_point():
        tensor = tensor.to(dtype=dtype)
    return tensor.to(device=device)


def get_call(model: object) -> Callable[[Any], Any]:
    """Return a one-argument function that runs one inference of ``model``.

    Parameters
    ----------
    model : object
        A ``torch.nn.Module``, an object with ``forward`` or ``predict``, or a callable
        (see the module docstring for the order).

    Returns
    -------
    callable
        ``call(x) -> output``. For a torch module the call runs under
        :func:`torch.no_grad` and accepts a NumPy array (converted with
        :func:`prepare_input` on each call) or a tensor (passed as is; convert once
        with :func:`prepare_input` before timing). The module's train/eval mode is left
        as the user set it: call ``module.eval()`` to benchmark inference behaviour of
        dropout and batch-norm.

    Raises
    ------
    InvalidParameterError
        If ``model`` cannot be called at all.

    """
    kind = call_kind(model)
    if kind == "torch-module":
        torch = sys.modules["torch"]
        module: Any = model

        def call_module(x: Any) -> Any:
            if isinstance(x, np.ndarray):
                x = prepare_input(module, x)
            with torch.no_grad():
                return module(x)

        return call_module
    if kind == "forward":
        return model.forward  # type: ignore[attr-defined,no-any-return]
    if kind == "predict":
        return model.predict  # type: ignore[attr-defined,no-any-return]
    return model  # type: ignore[return-value]


#: Values of a model's ``task`` attribute whose outputs are class scores or labels.
CLASSIFICATION_TASKS = frozenset(
    {"classification", "classifier", "multiclass", "multiclass-classification", "binary",
     "binary-classification", "multilabel", "image-classification", "text-classification"}
)  # fmt: skip


def accuracy_not_applicable(model: object) -> str | None:
    """Say why classification accuracy does not apply to ``model``, or return None.

    A model may declare what it does with a string attribute ``task`` (the
    zoo's attention models have ``task = "generation"``: their output is
    generated pixels, and an argmax of it scored against class labels is
    meaningless). Any declared task other than a classification one (see
    :data:`CLASSIFICATION_TASKS`) makes accuracy not applicable. Models
    without a ``task`` attribute (callables, scikit-learn classifiers, torch
    modules) are scored as classifiers.

    Returns
    -------
    str or None
        A short reason (``"task 'generation' is not classification"``) or None.

    """
    try:
        task = getattr(model, "task", None)
    except Exception:  # a property that raises: treat as undeclared
        return None
    if not isinstance(task, str) or not task.strip():
        return None
    if task.strip().lower() in CLASSIFICATION_TASKS:
        return None
    return f"task {task.strip()!r} is not classification"


def model_input_shape(model: object) -> tuple[int, ...] | None:
    """Return the batch-of-one input shape a model declares, if it declares one.

    Parameters
    ----------
    model : object
        A model.

    Returns
    -------
    tuple of int or None
        ``(1, *model.input_shape)`` when the model has an ``input_shape`` attribute
        giving one example's shape (torchperf's zoo convention); ``(1, n_features_in_)``
        for a fitted scikit-learn estimator; ``None`` otherwise.

    """
    try:
        shape = getattr(model, "input_shape", None)
    except Exception:
        shape = None
    if shape is not None and not callable(shape):
        try:
            dims = tuple(int(d) for d in shape)
        except (TypeError, ValueError):
            dims = ()
        if dims and all(d > 0 for d in dims):
            return (1, *dims)
    n_features = getattr(model, "n_features_in_", None)
    if isinstance(n_features, (int, np.integer)) and n_features > 0:
        return (1, int(n_features))
    return None


# --------------------------------------------------------------------------- outputs


def to_numpy(output: object) -> np.ndarray:
    """Convert a model output to a NumPy array.

    Parameters
    ----------
    output : object
        A NumPy array, a torch tensor, a scalar or a nested sequence of numbers. A
        ``tuple`` output (``(logits, aux)``) is reduced to its first element.

    Returns
    -------
    numpy.ndarray
        The output as an array (torch tensors are detached and moved to the CPU).

    """
    if isinstance(output, tuple) and output:
        output = output[0]
    if _is_torch_tensor(output):
        return output.detach().cpu().numpy()  # type: ignore[attr-defined,no-any-return]
    return np.asarray(output)


def find_nonfinite(output: object, *, _depth: int = 0) -> str | None:
    """Describe non-finite values (NaN, inf) in a model output, if any.

    Parameters
    ----------
    output : object
        A model output: an array, a tensor, a number, ``None`` or a list / tuple / dict
        of those (searched up to three levels deep). Non-numeric outputs (string
        labels) are never non-finite.

    Returns
    -------
    str or None
        E.g. ``"3 of 10 output values are NaN"``; ``None`` when everything is finite.

    """
    if output is None or _depth > _MAX_DEPTH:
        return None
    if isinstance(output, Mapping):
        output = list(output.values())
    if isinstance(output, (list, tuple)) and not _looks_numeric_sequence(output):
        for item in output:
            problem = find_nonfinite(item, _depth=_depth + 1)
            if problem is not None:
                return problem
        return None
    if _is_torch_tensor(output):
        torch = sys.modules["torch"]
        tensor: Any = output
        if not (tensor.is_floating_point() or tensor.is_complex()):
            return None
        array = tensor.detach().cpu().to(torch.float64 if not tensor.is_complex() else tensor.dtype)
        values = array.numpy()
    else:
        try:
            values = np.asarray(output)
        except Exception:  # ragged or exotic: cannot judge, do not invent a failure
            return None
    if values.dtype.kind not in "fc":
        return None
    finite = np.isfinite(values)
    if finite.all():
        return None
    n_nan = int(np.isnan(values).sum())
    n_inf = int(values.size - finite.sum() - n_nan)
    parts = []
    if n_nan:
        parts.append(f"{n_nan} NaN")
    if n_inf:
        parts.append(f"{n_inf} infinite")
    return f"{' and '.join(parts)} of {values.size} output values"


def _looks_numeric_sequence(seq: Sequence[Any]) -> bool:
    return all(isinstance(v, (int, float, complex, np.number)) for v in seq)


def predict_labels(model: object, X: object) -> np.ndarray:
    """Predict class labels for ``X``.

    Parameters
    ----------
    model : object
        A model; called through :func:`get_call`.
    X : array_like
        A batch of inputs (first axis = examples).

    Returns
    -------
    numpy.ndarray
        One label per example: the ``argmax`` over the last axis for a 2-D output with
        more than one column (logits or probabilities), else the output itself,
        flattened (a ``predict`` method's labels, or an ``(n, 1)`` column).

    Raises
    ------
    ModelError
        If the output has more than two dimensions, or holds NaN or inf.

    """
    call = get_call(model)
    output = call(prepare_input(model, X))
    problem = find_nonfinite(output)
    if problem is not None:
        raise ModelError(
            f"model {model_name(model)!r} returned {problem} when predicting labels; "
            f"fix the model (e.g. numerical overflow) before measuring its accuracy."
        )
    array = to_numpy(output)
    if array.ndim == 2 and array.shape[1] > 1:
        return np.argmax(array, axis=1)
    if array.ndim <= 2:
        return array.reshape(-1)
    raise ModelError(
        f"model {model_name(model)!r} returned an output of shape {array.shape} for a "
        f"batch of inputs; predict_labels expects class scores of shape (n, classes) or "
        f"labels of shape (n,). Wrap the model so that it returns one of them."
    )


# --------------------------------------------------------------------------- sizes


def _torch_bytes(tensors: Iterable[Any], seen: set[int]) -> int:
    total = 0
    for tensor in tensors:
        key = id(tensor)
        if key in seen:
            continue
        seen.add(key)
        total += int(tensor.numel()) * int(tensor.element_size())
    return total


def _root(array: np.ndarray) -> np.ndarray:
    while isinstance(array.base, np.ndarray):
        array = array.base
    return array


class _ArrayCollector:
    """Collects distinct arrays and tensors reachable from a model (bounded depth)."""

    def __init__(self) -> None:
        self.arrays: dict[int, np.ndarray] = {}
        self.torch_bytes = 0
        self._torch_seen: set[int] = set()
        # Holds the visited objects themselves, so that an id is never reused by a
        # temporary container while the walk runs.
        self._visited: dict[int, object] = {}

    def add(self, obj: object, depth: int, *, fitted_only: bool = False) -> None:
        if depth > _MAX_DEPTH or obj is None:
            return
        if isinstance(obj, np.ndarray):
            if obj.dtype.kind != "O":
                self.arrays.setdefault(id(obj), obj)
            return
        if isinstance(obj, (str, bytes, int, float, complex, bool, np.generic)):
            return
        key = id(obj)
        if key in self._visited:
            return
        self._visited[key] = obj
        if _is_torch_tensor(obj):
            self.torch_bytes += _torch_bytes([obj], self._torch_seen)
            return
        if is_torch_module(obj):
            module: Any = obj
            self.torch_bytes += _torch_bytes(
                _iter_chain(module.parameters(), module.buffers()), self._torch_seen
            )
            return
        # Containers do not use up depth: only nested objects do.
        if isinstance(obj, Mapping):
            for value in list(obj.values()):
                self.add(value, depth)
            return
        if isinstance(obj, (list, tuple, set, frozenset)):
            for value in list(obj):
                self.add(value, depth)
            return
        if inspect.isroutine(obj) or inspect.isclass(obj) or inspect.ismodule(obj):
            return
        # A plain object: its instance attributes (an estimator inside a Pipeline, a layer
        # inside a hand-written network). scikit-learn estimators count only fitted
        # attributes (trailing underscore), never hyper-parameters.
        sklearn_like = is_sklearn_estimator(obj)
        for name, value in _instance_attributes(obj):
            if sklearn_like and not (name.endswith("_") and not name.startswith("_")):
                if not isinstance(value, (list, tuple)) or name != "steps":
                    continue
            self.add(value, depth + 1)

    def numpy_bytes(self) -> int:
        """Bytes of distinct arrays; views of one buffer are counted once."""
        groups: dict[int, tuple[np.ndarray, int]] = {}
        for array in self.arrays.values():
            root = _root(array)
            base, subtotal = groups.get(id(root), (root, 0))
            groups[id(root)] = (base, subtotal + int(array.nbytes))
        member_ids = set(self.arrays)
        total = 0
        for root_id, (root, subtotal) in groups.items():
            # The root itself is among the attributes: count its buffer once. Otherwise
            # count the views, capped at the size of the buffer they share.
            total += int(root.nbytes) if root_id in member_ids else min(int(root.nbytes), subtotal)
        return total


def _instance_attributes(obj: object) -> list[tuple[str, Any]]:
    items: list[tuple[str, Any]] = []
    try:
        items.extend(vars(obj).items())
    except TypeError:
        pass
    for cls in type(obj).__mro__:
        for slot in getattr(cls, "__slots__", ()) or ():
            if isinstance(slot, str) and slot not in ("__dict__", "__weakref__"):
                try:
                    items.append((slot, getattr(obj, slot)))
                except AttributeError:
                    continue
    return items


def parameter_bytes_method(model: object) -> tuple[int | None, str]:
    """Compute a model's parameter bytes and say how they were found.

    Parameters
    ----------
    model : object
        A model.

    Returns
    -------
    (int or None, str)
        The bytes (see :func:`parameter_bytes`; ``None`` when unknown) and the method:
        ``"parameter_bytes()"``, ``"torch"``, ``"sklearn"``, ``"numpy-attributes"`` or
        ``"closure"`` (functions).

    Raises
    ------
    ModelError
        If the model's own ``parameter_bytes()`` raises or returns something that is not
        a non-negative integer.

    """
    own = getattr(model, "parameter_bytes", None)
    if callable(own):
        try:
            value = own()
        except Exception as exc:
            raise ModelError(
                f"model {model_name(model)!r}: its parameter_bytes() raised "
                f"{type(exc).__name__}: {exc}"
            ) from exc
        if isinstance(value, bool) or not isinstance(value, (int, np.integer, float)):
            raise ModelError(
                f"model {model_name(model)!r}: parameter_bytes() must return a non-negative "
                f"int; got {value!r} ({type(value).__name__})."
            )
        if isinstance(value, float) and (not math.isfinite(value) or value != int(value)):
            raise ModelError(
                f"model {model_name(model)!r}: parameter_bytes() must return a non-negative "
                f"int; got {value!r}."
            )
        if value < 0:
            raise ModelError(
                f"model {model_name(model)!r}: parameter_bytes() must return a non-negative "
                f"int; got {value!r}."
            )
        return int(value), "parameter_bytes()"

    collector = _ArrayCollector()
    if is_torch_module(model):
        collector.add(model, 0)
        return collector.torch_bytes, "torch"  # exact, even when 0 (a parameter-free module)

    target: object = model
    method = "sklearn" if is_sklearn_estimator(model) else "numpy-attributes"
    if isinstance(model, functools.partial):
        collector.add(list(model.args), 1)
        collector.add(dict(model.keywords), 1)
        target = model.func
    if inspect.ismethod(target):
        target = target.__self__
        method = "sklearn" if is_sklearn_estimator(target) else "numpy-attributes"
    seen: set[int] = set()
    if inspect.isfunction(target):
        _walk_function(target, collector, seen, 0)
        method = "closure"
    else:
        collector.add(target, 0)
        if method == "numpy-attributes" and not inspect.isroutine(target):
            # Module-level arrays that the model's own methods refer to by name.
            for attr in ("forward", "predict", "__call__"):
                fn = getattr(type(target), attr, None)
                if inspect.isfunction(fn):
                    _walk_function(fn, collector, seen, 1)
    total = collector.numpy_bytes() + collector.torch_bytes
    # Nothing found by a heuristic walk is not "0 B": the weights may live where the walk
    # cannot see (a C extension, a file read at call time, an opaque object).
    return (total if total > 0 else None), method


#: How many levels of helper functions _walk_function follows from a model's function.
_MAX_FUNCTION_DEPTH = 3


def _code_names(code: Any) -> Iterable[str]:
    """Global names a code object and every code object nested in it refer to.

    Comprehensions, lambdas, generator expressions and inner functions are separate
    code objects in ``co_consts`` (before Python 3.12, comprehensions too): a module
    array used only inside ``[W @ v for v in x]`` is named there, not in the outer code.
    """
    stack, seen = [code], set()
    while stack:
        c = stack.pop()
        if id(c) in seen:
            continue
        seen.add(id(c))
        # Only names loaded as globals: co_names also holds attribute names (``self.W``
        # names "W" without touching a global W).
        for ins in dis.get_instructions(c):
            if ins.opname in ("LOAD_GLOBAL", "LOAD_NAME") and isinstance(ins.argval, str):
                yield ins.argval
        stack.extend(const for const in c.co_consts if inspect.iscode(const))


def _is_weight_holder(value: object) -> bool:
    """Whether a module global may hold a model's weights (data, not code or modules)."""
    if value is None or isinstance(value, (str, bytes, int, float, complex, bool, np.generic)):
        return False
    return not (inspect.isroutine(value) or inspect.isclass(value) or inspect.ismodule(value))


def _walk_function(fn: Any, collector: _ArrayCollector, seen: set[int], depth: int) -> None:
    """Add the arrays a function reaches: closure cells, defaults, referenced globals.

    Functions among those (helpers the model calls) are followed up to
    :data:`_MAX_FUNCTION_DEPTH` levels; functions of other modules (NumPy's, torch's)
    are not, so library tables are never counted as the model's parameters.
    """
    if id(fn) in seen or depth > _MAX_FUNCTION_DEPTH:
        return
    seen.add(id(fn))
    module = getattr(fn, "__module__", None)
    values: list[Any] = [cell.cell_contents for cell in (fn.__closure__ or ()) if _cell_filled(cell)]
    values += list(fn.__defaults__ or ())
    values += list((fn.__kwdefaults__ or {}).values())
    fn_globals = fn.__globals__
    values += [fn_globals[name] for name in _code_names(fn.__code__) if name in fn_globals]
    for value in values:
        if inspect.isfunction(value):
            if getattr(value, "__module__", None) == module:
                _walk_function(value, collector, seen, depth + 1)
        elif _is_weight_holder(value):
            collector.add(value, 1)


def _cell_filled(cell: Any) -> bool:
    try:
        cell.cell_contents  # noqa: B018 - probing an empty closure cell raises ValueError
    except ValueError:
        return False
    return True


def parameter_bytes(model: object) -> int | None:
    """Return the bytes a model's parameters occupy (its size), or None when unknown.

    Parameters
    ----------
    model : object
        A model.

    Returns
    -------
    int or None
        In order of preference:

        * ``model.parameter_bytes()`` when the model defines it (torchperf's zoo does);
        * a ``torch.nn.Module``: bytes of its parameters and buffers (shared tensors
          once);
        * a scikit-learn estimator: bytes of its fitted array attributes, i.e. the
          public attributes ending in ``_`` (``coef_``, ``intercept_``, ``coefs_``,
          ``intercepts_``, ``cluster_centers_`` ...), including those of estimators
          nested in a ``Pipeline``;
        * any other object: bytes of its NumPy array attributes, looking up to three
          levels into lists, tuples, dicts and plain sub-objects (layers);
        * a function: bytes of arrays captured in its closure or defaults, of module-level
          arrays (and lists, dicts, objects holding arrays or tensors) it refers to by
          name -- also from nested code objects: comprehensions, lambdas, inner
          functions -- and of same-module helper functions it calls (three levels), and of
          a ``functools.partial``'s bound arguments; an object's ``forward`` /
          ``predict`` / ``__call__`` code counts the same way besides its attributes.

        The same array, or several views of one buffer, are counted once. Object
        arrays are skipped (their elements' sizes are unknown). When this search finds
        no array at all, the size is **unknown** (``None``), not 0: the weights may live
        where it cannot look (a C extension, a file read at call time). A model can
        declare its size with a ``parameter_bytes()`` method; a torch module without
        parameters has size 0 (exact).

    Raises
    ------
    ModelError
        If the model's own ``parameter_bytes()`` misbehaves.

    Examples
    --------
    >>> import numpy as np
    >>> class Linear:
    ...     def __init__(self):
    ...         self.W = np.zeros((64, 10), dtype=np.float32)
    ...         self.b = np.zeros(10, dtype=np.float32)
    ...     def forward(self, x):
    ...         return x @ self.W + self.b
    >>> parameter_bytes(Linear())
    2600

    """
    return parameter_bytes_method(model)[0]
