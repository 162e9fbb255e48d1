"""Loading a user's own models, data and inputs from ``module:attribute`` targets and files.

This is what ``torchperf run TARGET ...`` (and any other command that benchmarks
a user's code) uses to turn command-line words into Python objects:

* :func:`load_target` imports ``"package.module:attr.sub"`` (the current directory is
  importable, as for ``python -m``);
* :func:`load_models` merges several targets (a model, a list of models or a
  ``{name: model}`` mapping each) into one ``{name: model}`` dict;
* :func:`load_dataset` loads an ``(X, y)`` pair, a list of pairs or a mapping of them;
  :func:`dataset_features` gives the ``X`` used to time the models;
* :func:`load_example_input` reads one input from a ``.npy`` or ``.pt`` file;
* :func:`parse_shape` and :func:`generate_input` make a synthetic input of a given
  shape and dtype.

Every problem raises :class:`~torchperf.errors.InvalidParameterError` naming the
target or file and the remedy; nothing here prints or exits.
"""

from __future__ import annotations

import importlib
import os
import re
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from torchperf.errors import InvalidParameterError, MissingDependencyError

__all__ = [
    "check_input_dtype",
    "dataset_features",
    "generate_input",
    "load_dataset",
    "load_example_input",
    "load_models",
    "load_target",
    "parse_shape",
]


def load_target(spec: str) -> Any:
    """Import ``"module:attribute"`` and return the attribute.

    Parameters
    ----------
    spec : str
        ``"package.module:attr"``; the attribute may be dotted (``"mod:zoo.models"``).
        The current working directory is put on ``sys.path`` first, so a module
        beside the caller (``mymodels.py``) is found, as with ``python -m``.

    Returns
    -------
    object
        The attribute.

    Raises
    ------
    InvalidParameterError
        Malformed ``spec``, a module that cannot be imported (or raises while being
        imported), or a missing attribute.

    """
    module_name, sep, attr = str(spec).partition(":")
    if not sep or not module_name or not attr:
        raise InvalidParameterError(
            f"target {spec!r} must look like 'module:attribute' (e.g. 'mypkg.models:resnet')."
        )
    cwd = os.getcwd()
    if cwd not in sys.path:
        sys.path.insert(0, cwd)
    try:
        obj: Any = importlib.import_module(module_name)
    except ImportError as exc:
        raise InvalidParameterError(
            f"cannot import module {module_name!r} of target {spec!r}: {exc}"
        ) from None
    except (Exception, SystemExit) as exc:  # user code failed (or called sys.exit) while importing
        raise InvalidParameterError(
            f"importing {module_name!r} (target {spec!r}) raised {type(exc).__name__}: {exc}"
        ) from None
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise InvalidParameterError(f"module {module_name!r} has no attribute {attr!r}.") from None
    return obj


def load_models(specs: Sequence[str]) -> dict[str, Any]:
    """Resolve each target to a model, a list of models or a mapping; merge them.

    Parameters
    ----------
    specs : sequence of str
        ``module:attribute`` targets.

    Returns
    -------
    dict
        ``{name: model}`` in order. Names come from a mapping's keys, else from
        :func:`torchperf.models.model_name` (a ``name`` attribute, a function's
        name, a class name); repeats become ``"name-2"``, ``"name-3"``.

    Raises
    ------
    InvalidParameterError
        As :func:`load_target`; or a target that names something that is not a
        model (no ``forward``, ``predict`` or ``__call__``).

    """
    from torchperf.models import call_kind, make_names_unique, model_name

    models: list[Any] = []
    names: list[str] = []
    for spec in specs:
        obj = load_target(spec)
        if isinstance(obj, Mapping):
            pairs = [(str(key), model) for key, model in obj.items()]
        elif isinstance(obj, (list, tuple)):
            pairs = [(model_name(m, len(models) + i), m) for i, m in enumerate(obj)]
        else:
            pairs = [(model_name(obj, len(models)), obj)]
        for name, model in pairs:
            try:
                call_kind(model)
            except InvalidParameterError as exc:
                raise InvalidParameterError(f"target {spec!r}, model {name!r}: {exc}") from None
        names.extend(name for name, _ in pairs)
        models.extend(model for _, model in pairs)
    if not models:
        raise InvalidParameterError(
            f"the targets {list(specs)} hold no models (an empty list or mapping)."
        )
    return dict(zip(make_names_unique(names), models, strict=True))


def load_dataset(spec: str) -> list[Any] | dict[str, Any]:
    """Load labelled data from a ``module:attribute`` target.

    Parameters
    ----------
    spec : str
        Names an ``(X, y)`` pair, a list of pairs, a ``{name: pair}`` mapping, or an
        iterable of ``(X, y)`` batches.

    Returns
    -------
    list or dict
        A list of datasets (a single pair becomes ``[pair]``) or the mapping,
        as :class:`~torchperf.suite.BenchmarkSuite` takes them.

    Raises
    ------
    InvalidParameterError
        As :func:`load_target`, or when the attribute is not data.

    """
    data = load_target(spec)
    if isinstance(data, tuple):
        return [data]
    if isinstance(data, Mapping):
        return dict(data)
    if isinstance(data, list) or (
        hasattr(data, "__iter__") and not isinstance(data, (str, bytes, np.ndarray))
    ):
        return list(data)
    raise InvalidParameterError(
        f"dataset {spec!r} must name an (X, y) pair or a list of them; got "
        f"{type(data).__name__}."
    )


def dataset_features(datasets: Any) -> Any:
    """Return the ``X`` of the first dataset (its first batch), to time models with.

    Parameters
    ----------
    datasets : list, dict or tuple
        As returned by :func:`load_dataset`.

    Returns
    -------
    array_like
        ``X`` of the first ``(X, y)`` pair found; at least one row.

    Raises
    ------
    InvalidParameterError
        When no ``(X, y)`` pair with a non-empty ``X`` is found.

    """
    item: Any = datasets
    for _ in range(4):  # mapping -> list -> batches -> pair
        if isinstance(item, Mapping):
            item = next(iter(item.values()), None)
        elif isinstance(item, (list, tuple)) and len(item) == 2 and _is_array_like(item[0]) and (
            _is_array_like(item[1])
        ):
            X = item[0]
            if len(X) == 0:
                break
            return X
        elif isinstance(item, (list, tuple)) and item:
            item = item[0]
        else:
            break
    raise InvalidParameterError(
        "the dataset holds no (X, y) pair with examples to time the models with; pass "
        "input_shape=... or example_input=... as well."
    )


def _is_array_like(obj: object) -> bool:
    return (hasattr(obj, "shape") and hasattr(obj, "__len__")) or isinstance(obj, (list, tuple))


def load_example_input(path: str | Path) -> Any:
    """Read one example input from a ``.npy`` or ``.pt`` file.

    Parameters
    ----------
    path : str or Path
        A NumPy ``.npy`` file (read with ``allow_pickle=False``) or a PyTorch ``.pt`` /
        ``.pth`` file holding one tensor (read with ``torch.load(weights_only=True)``).
        The first axis is the batch axis: save ``x[None]`` for a single example.

    Returns
    -------
    numpy.ndarray or torch.Tensor
        The input. CPU tensors are returned as NumPy arrays, so one file serves NumPy
        functions and torch modules alike (a module gets it back as a tensor of its
        own dtype, see :func:`torchperf.models.prepare_input`); tensors NumPy cannot
        hold (bfloat16, other devices) stay tensors.

    Raises
    ------
    InvalidParameterError
        Missing file, unknown suffix, unreadable content, or not a single array with a
        batch axis.
    MissingDependencyError
        A ``.pt`` file without PyTorch installed.

    """
    p = Path(path)
    if not p.is_file():
        raise InvalidParameterError(f"example input {p} does not exist; check the path.")
    suffix = p.suffix.lower()
    if suffix == ".npy":
        try:
            x: Any = np.load(p, allow_pickle=False)
        except Exception as exc:
            raise InvalidParameterError(
                f"example input {p} is not a readable .npy array ({type(exc).__name__}: {exc}); "
                "write it with numpy.save(path, x)."
            ) from None
    elif suffix in (".pt", ".pth"):
        try:
            import torch
        except ImportError:
            raise MissingDependencyError(
                f"example input {p} is a PyTorch file but torch is not installed; "
                "pip install torch, or save the input with numpy.save as a .npy file."
            ) from None
        try:
            x = torch.load(p, map_location="cpu", weights_only=True)
        except Exception as exc:
            raise InvalidParameterError(
                f"example input {p} is not a readable tensor file ({type(exc).__name__}: "
                f"{exc}); write it with torch.save(x, path) where x is one tensor."
            ) from None
        if not isinstance(x, torch.Tensor):
            raise InvalidParameterError(
                f"example input {p} holds a {type(x).__name__}, not one tensor; save a single "
                "tensor with torch.save(x, path)."
            )
        try:
            x = x.detach().numpy()
        except (TypeError, RuntimeError):
            pass  # bfloat16 and friends: keep the tensor
    else:
        raise InvalidParameterError(
            f"example input {p} must be a .npy (numpy.save) or .pt (torch.save) file; got "
            f"{suffix or 'no suffix'!r}."
        )
    if getattr(x, "ndim", 0) == 0 or len(x) == 0:
        raise InvalidParameterError(
            f"example input {p} has shape {tuple(x.shape)}: it needs a batch axis with at least "
            "one example (save x[None] for a single example)."
        )
    return x


def parse_shape(text: str) -> tuple[int, ...]:
    """Parse ``"1,64"``, ``"1x3x32x32"`` or ``"(1, 64)"`` into a shape.

    Parameters
    ----------
    text : str
        Positive integers separated by commas, ``x`` or spaces; the first one is the
        batch size.

    Returns
    -------
    tuple of int

    Raises
    ------
    InvalidParameterError
        Anything else.

    """
    parts = [p for p in re.split(r"[,x\s]+", str(text).strip().strip("()[]").lower()) if p]
    try:
        dims = tuple(int(p) for p in parts)
    except ValueError:
        dims = ()
    if not dims or any(d < 1 for d in dims):
        raise InvalidParameterError(
            f"input shape {text!r} must be positive integers including the batch axis, "
            "e.g. 1,64 or 1x3x32x32."
        )
    return dims


#: Integer inputs are drawn uniformly from [0, INT_INPUT_HIGH) (small, valid as token ids
#: or class indices of any vocabulary of at least this size).
INT_INPUT_HIGH = 10


def generate_input(
    shape: Sequence[int],
    dtype: str | np.dtype[Any] = "float32",
    *,
    seed: int | np.random.Generator = 0,
) -> np.ndarray:
    """A reproducible synthetic input of ``shape`` and ``dtype``.

    Parameters
    ----------
    shape : sequence of int
        Including the batch axis.
    dtype : str or numpy.dtype, default "float32"
        Floating dtypes get standard normal values; integer dtypes uniform integers
        in ``[0, 10)`` (valid token ids of any vocabulary of at least 10); ``bool``
        fair coin flips.
    seed : int or numpy.random.Generator, default 0
        Seed of :func:`numpy.random.default_rng` (a Generator is used as it is).

    Returns
    -------
    numpy.ndarray

    Raises
    ------
    InvalidParameterError
        An unknown or non-numeric dtype.

    """
    dt = check_input_dtype(dtype)
    rng = np.random.default_rng(seed)
    dims = tuple(int(d) for d in shape)
    if dt.kind == "f":
        return rng.standard_normal(dims).astype(dt)
    if dt.kind == "c":
        return (rng.standard_normal(dims) + 1j * rng.standard_normal(dims)).astype(dt)
    if dt.kind in "iu":
        return rng.integers(0, INT_INPUT_HIGH, size=dims).astype(dt)
    return rng.random(dims) < 0.5


def check_input_dtype(dtype: str | np.dtype[Any]) -> np.dtype[Any]:
    """Return ``dtype`` as a numeric NumPy dtype, or raise InvalidParameterError."""
    try:
        dt = np.dtype(str(dtype).replace("torch.", ""))
    except TypeError:
        dt = None
    if dt is None or dt.kind not in "fciub":
        raise InvalidParameterError(
            f"input dtype {dtype!r} must be a numeric NumPy dtype name such as float32, "
            "float64, int64 or bool."
        )
    return dt
