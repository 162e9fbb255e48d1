"""Zoo families (issue 16.8): each variant is judged against its own family's baseline."""

from __future__ import annotations

import numpy as np

from torchperf import cli
from torchperf.report import build_report, summary_table
from torchperf.result import BenchmarkResult
from torchperf.suite import compare_to_baseline, save_run
from torchperf.zoo import FAMILIES, family_baselines

# medians in seconds: attention is ~500x slower than the MLP; kvcache is 0.6x nocache
CENTERS = {"mlp": 7e-6, "mlp-int8": 29e-6, "mlp-pruned50": 7e-6, "cnn-naive": 2.6e-3,
           "cnn-im2col": 40e-6, "attn-nocache": 3.6e-3, "attn-kvcache": 2.1e-3}  # fmt: skip


def _results():
    rng = np.random.default_rng(16)
    lat = {m: BenchmarkResult("latency", c * rng.lognormal(0, 0.02, 30), {}, unit="s")
           for m, c in CENTERS.items()}  # fmt: skip
    size = {m: BenchmarkResult("size", [float(1000 + i)] * 2, {}, unit="B") for i, m in enumerate(CENTERS)}
    return {"latency": lat, "size": size}


def test_families_cover_the_zoo_and_map_variants_to_their_twins():
    assert FAMILIES["cnn"] == ("cnn-naive", ("cnn-im2col",))
    assert FAMILIES["attention"] == ("attn-nocache", ("attn-kvcache",))
    fam = family_baselines(["mlp", "mlp-lowrank", "cnn-im2col", "attn-kvcache", "mine"])
    assert fam == {"mlp": "mlp", "mlp-lowrank": "mlp", "cnn-im2col": "cnn-naive",
                   "attn-kvcache": "attn-nocache"}  # fmt: skip


def test_each_variant_is_compared_with_its_own_baseline_only():
    results = _results()
    rows = compare_to_baseline(results, "mlp", baselines=family_baselines(CENTERS))
    pairs = {(r["metric"], r["model"]): r for r in rows}
    assert {m for _, m in pairs} == {"mlp-int8", "mlp-pruned50", "cnn-im2col", "attn-kvcache"}
    kv = pairs[("latency", "attn-kvcache")]
    assert kv["baseline"] == "attn-nocache" and 0.55 < kv["ratio"] < 0.65
    assert kv["verdict"] == "improvement"  # not a "500x regression" of the MLP
    assert pairs[("latency", "cnn-im2col")]["baseline"] == "cnn-naive"
    assert pairs[("latency", "cnn-im2col")]["verdict"] == "improvement"
    assert pairs[("latency", "mlp-int8")]["verdict"] == "regression"
    # without families everything is compared with the one baseline, as before
    plain = {r["model"] for r in compare_to_baseline(results, "mlp")}
    assert "attn-nocache" in plain and "cnn-naive" in plain


def test_reports_and_leaderboard_use_the_families(tmp_path, capsys):
    results = _results()
    path = save_run(tmp_path / "results.json", results, models=list(CENTERS),
                    protocol={"baseline": "mlp", "baselines": family_baselines(CENTERS)})  # fmt: skip
    data = build_report(path)
    assert {c["model"]: c["baseline"] for c in data["comparisons"]}["attn-kvcache"] == "attn-nocache"
    table = summary_table(path)
    assert "baseline per family: mlp (2 variants), cnn-naive (1 variant), attn-nocache (1 variant)" in table
    for line in table.splitlines():
        if line.startswith(("cnn-naive ", "attn-nocache ")) and " latency " in line:
            assert "baseline" in line  # a family baseline is labelled as one
    # the overall Pareto view still spans every model
    assert set(data["pareto_all"].names) == set(CENTERS)
    assert cli.main(["leaderboard", str(path)]) == 0
    out = capsys.readouterr().out
    assert "Each variant vs its own family's baseline" in out
    kv_line = next(ln for ln in out.splitlines() if ln.startswith("latency") and "attn-kvcache" in ln)
    assert "attn-nocache" in kv_line and "improvement" in kv_line
    assert not any("attn" in ln and " mlp " in ln for ln in out.splitlines() if "variant" not in ln)


def test_json_formats_of_report_and_leaderboard_and_run_frame(tmp_path, capsys):
    """Issue 16.3: --format json for report and leaderboard; results_frame(load_run(p))."""
    import json

    from torchperf.suite import load_run, results_frame

    results = _results()
    path = save_run(tmp_path / "results.json", results, models=list(CENTERS),
                    protocol={"baseline": "mlp", "baselines": family_baselines(CENTERS)})  # fmt: skip
    frame = results_frame(load_run(path))  # the exported pair composes
    assert len(frame) == 2 * len(CENTERS) and set(frame["metric"]) == {"latency", "size"}
    assert cli.main(["report", str(path), "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert len(doc["results"]) == 2 * len(CENTERS) and doc["complete"] is True
    kv = next(c for c in doc["comparisons"] if c["metric"] == "latency" and c["model"] == "attn-kvcache")
    assert kv["baseline"] == "attn-nocache" and "report.html" in doc["files"]
    assert cli.main(["leaderboard", str(path), "--format", "json"]) == 0
    board = json.loads(capsys.readouterr().out)
    first = board["events"]["latency_sprint"][0]
    assert first["model"] in ("mlp", "mlp-pruned50") and first["rank"] == 1  # equal medians
    fam = {(c["metric"], c["model"]): c["baseline"] for c in board["family_comparisons"]}
    assert fam[("latency", "cnn-im2col")] == "cnn-naive" and ("latency", "mlp") not in fam
