"""The zoo's models and optimized variants: latency, per-call peak memory, error rate, size.

Every variant (MLP baseline / int8 / pruned / low-rank, CNN naive vs im2col,
attention with and without KV cache, the PyTorch twin when installed) at
batch 1 and 32. Training happens once per commit and environment in
``setup_cache`` (asv pickles the result for every benchmark process).
"""

from asv_runner.benchmarks.mark import SkipNotImplemented

from ._common import (
    BATCH_SIZES,
    CLOCK,
    MODEL_NAMES,
    build_zoo,
    get_model,
    is_classifier,
    limit_threads,
    make_input,
)

#: clock of this module's latency_ benchmarks (see _common.CLOCK)
clock = CLOCK


def setup_cache():
    return build_zoo()


setup_cache.timeout = 1200


class ZooLatency:
    """Seconds per forward call (torchperf ``latency_`` type: one value per process)."""

    params = (MODEL_NAMES, BATCH_SIZES)
    param_names = ("model", "batch")
    version = "1"
    timeout = 300

    def setup(self, cache, name, batch):
        model = get_model(cache, name)
        self.forward = model.forward
        self.x = make_input(cache, model, batch)
        limit_threads()

    def latency_forward(self, cache, name, batch):
        self.forward(self.x)


class ZooMemory:
    """Peak bytes allocated by one forward call (tracemalloc; setup not counted)."""

    params = (MODEL_NAMES, BATCH_SIZES)
    param_names = ("model", "batch")
    version = "1"
    timeout = 300

    def setup(self, cache, name, batch):
        model = get_model(cache, name)
        self.forward = model.forward
        self.x = make_input(cache, model, batch)

    def peakbytes_forward(self, cache, name, batch):
        self.forward(self.x)


class ZooQuality:
    """Test-set error rate (1 - accuracy; asv treats lower as better) and parameter bytes."""

    params = (MODEL_NAMES,)
    param_names = ("model",)
    version = "1"
    timeout = 300

    def setup(self, cache, name):
        self.model = get_model(cache, name)

    def track_error_rate(self, cache, name):
        import numpy as np

        if not is_classifier(self.model):
            # asv records "n/a" (skipped) rather than a failure
            raise SkipNotImplemented(f"{name} is not a classifier")
        X = make_input(cache, self.model, len(cache["y_test"]))
        pred = np.argmax(np.asarray(self.model.forward(X)), axis=-1)
        return float(np.mean(pred != cache["y_test"]))

    track_error_rate.unit = "error rate"

    def track_parameter_bytes(self, cache, name):
        return int(self.model.parameter_bytes())

    track_parameter_bytes.unit = "bytes"
