"""torchperf.runfile: the frozen, typed Run, its file (version 2) and the upgrade from version 1."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import pytest

from torchperf.errors import InvalidParameterError, ResultsFileError
from torchperf.result import BenchmarkResult
from torchperf.runfile import (
    RUN_SCHEMA_VERSION,
    Run,
    RunFlags,
    build_run,
    environment_fingerprint,
    upgrade_v1,
)

DATA = Path(__file__).parent / "data" / "run-v1"
V1 = DATA / "results.json"  # written by torchperf 3063b29 (the last version-1 writer)
V1_FIRST = DATA / "results-first-layout.json"  # written by torchperf 3bc53fd


def test_the_fixtures_are_version_1():
    for path in (V1, V1_FIRST):
        doc = json.loads(path.read_text())
        assert doc["schema"] == "torchperf.run" and doc["schema_version"] == 1
    first = json.loads(V1_FIRST.read_text())
    assert "not_applicable" not in first and "environment_fingerprint" not in first
    assert "environment" in first["results"]["latency"]["base"]["metadata"]  # a copy per result


@pytest.mark.parametrize("path", [V1, V1_FIRST], ids=["v1", "v1-first-layout"])
def test_old_files_load_as_a_typed_run(path):
    run = Run.load(path)
    doc = json.loads(path.read_text())
    assert isinstance(run, Run) and RUN_SCHEMA_VERSION == 2
    assert run.models == tuple(doc["models"])
    assert run.flags == RunFlags(complete=True, interrupted=False)
    assert dict(run.environment)["machine"] == "v1-fixture"
    assert run.protocol["baseline"] == "base" and run.baseline == "base"
    for metric, per_model in doc["results"].items():
        for model, d in per_model.items():
            r = run.results[metric][model]
            assert isinstance(r, BenchmarkResult)
            assert list(r.values) == d["values"]
            assert r.metadata["environment"]["machine"] == "v1-fixture"  # put back, both layouts
    assert set(run.failures["broken"]) <= {"latency", "accuracy", "throughput", "memory", "size"}
    assert all(rec["error"] == "ValueError" for rec in run.failures["broken"].values())


@pytest.mark.parametrize("path", [V1, V1_FIRST], ids=["v1", "v1-first-layout"])
def test_old_files_resave_as_version_2_and_round_trip(path, tmp_path):
    run = Run.load(path)
    out = run.save(tmp_path / "results.json", touch=False)
    doc = json.loads(out.read_text())
    assert doc["schema_version"] == 2
    assert doc["environment_fingerprint"] == environment_fingerprint(doc["environment"])
    assert all(
        "environment" not in d["metadata"] for per in doc["results"].values() for d in per.values()
    )  # stored once
    again = Run.load(out)
    assert again == run and again.results == run.results
    assert again.to_dict() == doc


def test_upgrade_v1_is_explicit():
    flat = {
        "schema": "torchperf.run", "schema_version": 1, "results": {},
        "failures": {"m": {"error": "ValueError", "message": "boom"}},
        "not_applicable": {"accuracy": {"g": "generation"}},
    }  # fmt: skip
    up = upgrade_v1(flat)
    assert flat["schema_version"] == 1  # input untouched
    assert up["schema_version"] == 2
    assert up["failures"] == {"m": {"": {"error": "ValueError", "message": "boom"}}}
    assert up["models"] == ["m", "g"]
    assert (up["complete"], up["interrupted"], up["created"]) == (False, False, "")
    assert up["environment"] == {} and up["protocol"] == {} and up["warnings"] == []
    run = Run.from_dict(flat)
    assert run.models == ("m", "g") and run.failures["m"][""]["message"] == "boom"
    with pytest.raises(ResultsFileError, match="not a version-1"):
        upgrade_v1({**flat, "schema_version": 2})


def test_unknown_versions_and_other_schemas_are_refused(tmp_path):
    doc = json.loads(V1.read_text())
    for bad, match in ((3, "schema_version 3"), (0, "schema_version 0"), (True, "schema_version True")):
        with pytest.raises(ResultsFileError, match=match):
            Run.from_dict({**doc, "schema_version": bad}, source="x.json")
    with pytest.raises(ResultsFileError, match="not a torchperf run file"):
        Run.from_dict({**doc, "schema": "other"})
    v2 = Run.load(V1).to_dict()
    with pytest.raises(ResultsFileError, match="'models' must be a list"):
        Run.from_dict({**v2, "models": None})  # version 2 requires it


def test_run_is_frozen_and_its_parts_read_only():
    run = Run.load(V1)
    with pytest.raises(dataclasses.FrozenInstanceError):
        run.models = ("x",)  # type: ignore[misc]
    with pytest.raises(TypeError):
        run.results["latency"]["x"] = run.results["latency"]["base"]  # type: ignore[index]
    with pytest.raises(TypeError):
        run.protocol["baseline"] = "other"  # type: ignore[index]
    # the legacy mapping view hands out copies: editing one does not change the run
    legacy = run["protocol"]
    legacy["baseline"] = "other"
    assert run.protocol["baseline"] == "base"
    changed = run.replace(flags=RunFlags(complete=False, interrupted=True), models=["other", "base"])
    assert changed.interrupted and changed["interrupted"] is True and run.complete
    assert changed.models == ("other", "base", "gen", "broken")  # models with data are never dropped
    with pytest.raises(InvalidParameterError, match="unknown field"):
        run.replace(resluts={})
    with pytest.raises(ResultsFileError, match="'complete' and 'interrupted'"):
        run.replace(complete="yes")


def test_legacy_mapping_view_matches_the_file():
    run = Run.load(V1)
    doc = json.loads(V1.read_text())
    assert set(run) == set(doc) - {"environment_fingerprint"}
    assert run["schema"] == "torchperf.run" and run["schema_version"] == 2
    assert run["models"] == doc["models"] and run["complete"] is True
    assert run["failures"] == doc["failures"] and run["not_applicable"] == doc["not_applicable"]
    assert run["results"]["latency"]["base"] is run.results["latency"]["base"]
    assert {**run}["warnings"] == doc["warnings"]


def test_to_frame_one_row_per_model_and_metric():
    run = Run.load(V1)
    frame = run.to_frame()
    assert len(frame) == sum(len(per) for per in run.results.values())
    row = frame[(frame["model"] == "base") & (frame["metric"] == "latency")].iloc[0]
    r = run.results["latency"]["base"]
    assert row["median"] == r.median and row["n"] == r.count and row["direction"] == "lower_is_better"


def test_build_run_validates_like_a_file():
    r = BenchmarkResult("latency", [1.0, 1.1], unit="s")
    run = build_run({"latency": {"a": r}}, protocol={"baseline": "a"})
    assert run.models == ("a",) and run.results["latency"]["a"] is r and run.complete
    with pytest.raises(ResultsFileError, match="results"):
        build_run({"latency": [r]})  # type: ignore[dict-item]


def test_cli_report_renders_a_version_1_file(tmp_path):
    """`torchperf report RESULTS.json` (README) on a file written by the previous version."""
    proc = subprocess.run(
        [sys.executable, "-m", "torchperf", "report", str(V1), "--output", str(tmp_path / "r")],
        capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    assert "base" in proc.stdout and (tmp_path / "r" / "report.md").is_file()
    assert json.loads((tmp_path / "r" / "results.json").read_text())["schema_version"] == 2
