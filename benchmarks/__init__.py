"""asv benchmark suite of torchperf (run with ``asv run``; see docs/asv.md).

Importing this package, which asv does before any benchmark module:

* registers torchperf's benchmark types (``latency_``, ``peakbytes_``) with
  asv_runner, so asv discovers them in asv-managed environments and with
  ``--python=same`` alike;
* checks that the NumPy this process imported is the one the asv environment
  promises (``numpy1.26.4`` in its name): a mismatch raises
  ``EnvironmentMismatchError`` here, so nothing is stored under the wrong
  environment;
* limits BLAS/OpenMP thread pools to ``TORCHPERF_BENCH_THREADS`` threads
  (default 1): on a small shared machine multi-threaded BLAS makes timings
  bimodal. The limit in force is recorded with each run's environment facts;
* imports every benchmark module under a guard: a module that fails to import
  is listed by asv as a failed benchmark with its traceback, and the rest of
  the suite still runs.
"""

import os

BLAS_THREADS = int(os.environ.get("TORCHPERF_BENCH_THREADS", "1"))  # _common imports it
if BLAS_THREADS > 0:
    # threadpoolctl only limits the pools already loaded; SciPy's own OpenBLAS and
    # scikit-learn's libgomp load later (lazily) and read these variables then. Without
    # them a 2-thread pool in the NumPy 1.26 environment doubled process-time readings.
    for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS"):
        os.environ[_var] = str(BLAS_THREADS)

from threadpoolctl import threadpool_limits  # noqa: E402

from torchperf.asvbench import guard_imports, register, verify_environment  # noqa: E402

register()
ENVIRONMENT_CHECK = verify_environment()
_THREAD_LIMITS = threadpool_limits(limits=BLAS_THREADS) if BLAS_THREADS > 0 else None

# Last: import the benchmark modules now, so one that fails to import becomes a
# visible failed benchmark (<module>.track_import) instead of stopping asv's discovery.
IMPORT_FAILURES = guard_imports(__name__, __path__)
