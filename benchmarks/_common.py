"""Helpers shared by the benchmark modules (underscore: not a benchmark module for asv)."""

import os

from . import BLAS_THREADS as BENCH_THREADS  # TORCHPERF_BENCH_THREADS, read once in __init__

#: The zoo's comparison set, in the order of ``torchperf.zoo.build_comparison_set``.
#: Listed here (not computed) because asv needs the parameters at discovery time;
#: a name the zoo does not build (e.g. ``mlp-torch`` without PyTorch) is skipped
#: in ``setup`` (asv shows it as n/a), a name the zoo misspells fails visibly.
MODEL_NAMES = (
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
    "mlp-torch",
)
OPTIONAL_MODELS = {"mlp-torch"}
BATCH_SIZES = (1, 32)

# Clock of the latency benchmarks. Process CPU time by default when BLAS runs
# single-threaded (TORCHPERF_BENCH_THREADS, default 1): then it equals the
# wall time of the call minus the time other processes held the CPU, which on a
# shared machine is most of the noise. With several threads, wall time.
CLOCK = os.environ.get("TORCHPERF_BENCH_CLOCK") or ("process" if BENCH_THREADS == 1 else "wall")

# Subsets for quick experiments (A/A runs, CI): comma-separated names / sizes.
# They change the benchmarks' parameters, so don't mix such results with full runs.
if os.environ.get("TORCHPERF_ASV_MODELS"):
    _wanted = [m.strip() for m in os.environ["TORCHPERF_ASV_MODELS"].split(",") if m.strip()]
    MODEL_NAMES = tuple(m for m in MODEL_NAMES if m in _wanted) + tuple(
        m for m in _wanted if m not in MODEL_NAMES
    )
if os.environ.get("TORCHPERF_ASV_BATCHES"):
    BATCH_SIZES = tuple(int(b) for b in os.environ["TORCHPERF_ASV_BATCHES"].split(",") if b.strip())


def zoo_cache_dir():
    """Where trained zoo weights are cached between asv processes of one commit.

    ``TORCHPERF_ZOO_CACHE`` if set; in an asv-managed environment a directory
    inside the environment (the zoo keys its cache by a hash of its training
    code, so a commit that changes training never reuses stale weights, and
    each NumPy environment trains its own); otherwise the zoo's default.
    """
    forced = os.environ.get("TORCHPERF_ZOO_CACHE")
    if forced:
        return forced
    env_dir = os.environ.get("ASV_ENV_DIR")
    if env_dir:
        return os.path.join(env_dir, "torchperf-zoo-cache")
    return None


def build_zoo():
    """Build (train) the comparison set and the test split: the payload of ``setup_cache``."""
    from torchperf.zoo import build_comparison_set, load_digits_split

    models = build_comparison_set(seed=0, cache_dir=zoo_cache_dir(), include_torch="auto")
    split = load_digits_split(seed=0)
    return {"models": models, "X_test": split.X_test, "y_test": split.y_test}


def get_model(cache, name):
    """The model called ``name``; NotImplementedError (asv: skipped) for absent optional ones."""
    models = cache["models"]
    if name not in models:
        if name in OPTIONAL_MODELS:
            raise NotImplementedError(f"{name} is not available here (optional dependency missing)")
        raise KeyError(
            f"zoo model {name!r} was not built; build_comparison_set returned {sorted(models)}"
        )
    return models[name]


def is_classifier(model):
    """True for models whose output is class logits."""
    return getattr(model, "task", "classification") == "classification"


def limit_threads():
    """Re-apply the BLAS/OpenMP thread limit to every pool loaded so far.

    ``benchmarks/__init__`` limits the pools present at import; libraries loaded
    later (SciPy's own OpenBLAS, scikit-learn's OpenMP runtime) are limited here,
    in each benchmark's setup, so no idle pool thread spins during a timed call.
    """
    if BENCH_THREADS > 0:
        from threadpoolctl import threadpool_limits

        threadpool_limits(limits=BENCH_THREADS)


def make_input(cache, model, batch):
    """A batch of the model's input, taken from the test digits.

    Classifiers get whole images; the attention models get their prompt (the
    first ``input_shape[0]`` pixels of each image). Inputs larger than a digit
    fall back to seeded uniform noise.
    """
    import numpy as np

    shape = tuple(getattr(model, "input_shape", (64,)))
    size = int(np.prod(shape))
    X = cache["X_test"]
    if size <= X.shape[1] and batch <= X.shape[0]:
        x = X[:batch, :size].reshape((batch, *shape))
    else:
        x = np.random.default_rng(0).random((batch, *shape), dtype=np.float32)
    return np.ascontiguousarray(x, dtype=np.float32)
