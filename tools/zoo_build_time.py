"""Measure how long building the zoo's comparison set takes, from scratch and from cache.

Each measurement runs in a fresh Python process (so imports and caches of one
run do not help the next) with its own temporary cache directory:

* from scratch: empty cache -> train the MLP, CNN and transformer, derive the
  variants, write the cache entry;
* from cache: the entry written by the last from-scratch run -> load and
  verify it, derive the variants.

The time of ``build_comparison_set`` itself is reported separately from the
process's import time (``import torchperf.zoo``) and from materialising the
PyTorch twin (which imports torch, lazily, on first use).

``--table`` also prints the accuracy / size table of docs/zoo.md from the
same build (test split of the digits).

Usage::

    python tools/zoo_build_time.py [--repeats 3] [--seed 0] [--table] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

CHILD = r"""
import json, sys, time
t0 = time.perf_counter()
import torchperf.zoo as zoo
t1 = time.perf_counter()
built = zoo.build_zoo(int(sys.argv[2]), cache_dir=sys.argv[1], include_torch="auto")
t2 = time.perf_counter()
torch_s = None
if "mlp-torch" in built.models:
    built.models["mlp-torch"].module
    torch_s = time.perf_counter() - t2
print(json.dumps({"import_s": t1 - t0, "build_s": t2 - t1, "from_cache": built.from_cache,
                  "torch_materialize_s": torch_s, "facts": built.facts,
                  "models": list(built.models)}))
"""


def run_child(cache_dir: str, seed: int) -> dict:
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, cache_dir, str(seed)],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(proc.stdout.strip().splitlines()[-1])


def accuracy_table(seed: int, cache_dir: str) -> str:
    import numpy as np

    from torchperf.zoo import build_zoo

    built = build_zoo(seed, cache_dir=cache_dir, include_torch="auto")
    split = built.split
    base = built.models["mlp"]
    base_acc = base.accuracy(split.X_test, split.y_test)
    base_bytes = base.parameter_bytes()
    lines = [
        "| model | task | test accuracy | Δ vs mlp (points) | parameter bytes | mlp bytes / model bytes |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for name, model in built.models.items():
        nbytes = model.parameter_bytes()
        if model.task == "classification":
            acc = model.accuracy(split.X_test, split.y_test)
            acc_s, delta = f"{100 * acc:.2f} %", f"{100 * (acc - base_acc):+.2f}"
        else:
            sc = model.completion_scores(split.X_test)
            acc_s = (
                f"completion: {100 * sc['token_accuracy']:.1f} % pixels exact, "
                f"MAE {sc['mean_abs_error']:.3f} (all-blank: {100 * sc['zeros_token_accuracy']:.1f} %, "
                f"copy-above: {100 * sc['copy_above_token_accuracy']:.1f} %)"
            )
            delta = "n/a"
        ratio = f"{base_bytes / nbytes:.2f}" if name.startswith("mlp") else "—"
        lines.append(f"| {name} | {model.task} | {acc_s} | {delta} | {nbytes:,} | {ratio} |")
    q = built.models["mlp-int8"]
    sp = built.models["mlp-pruned90-sparse"]
    dense90 = built.models["mlp-pruned90"]
    extra = [
        "",
        f"int8 weight matrices: {q.weight_bytes():,} B vs float32 "
        f"{sum(w.nbytes for w in base.weights):,} B "
        f"({sum(w.nbytes for w in base.weights) / q.weight_bytes():.2f}x).",
        "90%-pruned layers, CSR (data+indices+indptr) vs dense bytes: "
        + ", ".join(
            f"{c:,} vs {w.nbytes:,}" for c, w in zip(sp.layer_bytes(), dense90.weights, strict=True)
        )
        + ".",
        f"Actual sparsity of mlp-pruned90: {dense90.actual_sparsity():.4f}; "
        f"low-rank ranks: {built.models['mlp-lowrank'].ranks}.",
        f"numpy {np.__version__}, seed {seed}, test split n={len(split.y_test)}.",
    ]
    return "\n".join(lines + extra)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--table", action="store_true", help="also print the accuracy/size table")
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    args = parser.parse_args()

    load_before = os.getloadavg()
    scratch, cached = [], []
    with tempfile.TemporaryDirectory(prefix="zoo-build-time-") as tmp:
        last_dir = ""
        for i in range(args.repeats):
            last_dir = os.path.join(tmp, f"scratch{i}")
            res = run_child(last_dir, args.seed)
            assert not res["from_cache"], "a fresh cache dir must not hit"
            scratch.append(res)
        for _ in range(args.repeats):
            res = run_child(last_dir, args.seed)
            assert res["from_cache"], "the second build must come from the cache"
            cached.append(res)
        table = accuracy_table(args.seed, last_dir) if args.table else None
    load_after = os.getloadavg()

    def summary(rows: list[dict], key: str) -> dict:
        vals = [r[key] for r in rows if r[key] is not None]
        if not vals:
            return {}
        return {"median": statistics.median(vals), "min": min(vals), "max": max(vals), "n": len(vals)}

    report = {
        "cpus": os.cpu_count(),
        "loadavg_1min_before_after": [load_before[0], load_after[0]],
        "from_scratch_build_s": summary(scratch, "build_s"),
        "from_cache_build_s": summary(cached, "build_s"),
        "import_s": summary(scratch + cached, "import_s"),
        "torch_materialize_s": summary(cached, "torch_materialize_s"),
        "train_s_per_model_last_scratch": {k: v["train_s"] for k, v in scratch[-1]["facts"].items()},
        "models": scratch[-1]["models"],
    }
    if args.json:
        if table:
            report["table_markdown"] = table
        print(json.dumps(report, indent=2))
        return 0
    print(f"CPUs: {report['cpus']}, 1-min load average before/after: "
          f"{load_before[0]:.1f} / {load_after[0]:.1f}")
    print("| what | median s | min s | max s | n |")
    print("|---|---:|---:|---:|---:|")
    for label, key in (
        ("build from scratch (train + derive + write cache)", "from_scratch_build_s"),
        ("build from cache (verify + load + derive)", "from_cache_build_s"),
        ("import torchperf.zoo (fresh process)", "import_s"),
        ("materialise mlp-torch (imports torch)", "torch_materialize_s"),
    ):
        s = report[key]
        if s:
            print(f"| {label} | {s['median']:.2f} | {s['min']:.2f} | {s['max']:.2f} | {s['n']} |")
    print("training seconds per model (last from-scratch build):",
          {k: round(v, 2) for k, v in report["train_s_per_model_last_scratch"].items()})
    if table:
        print()
        print(table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
