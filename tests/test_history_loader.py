"""torchperf.history.loader: any asv results directory -> tidy frame."""

from __future__ import annotations

import json
import math
import warnings
from pathlib import Path

import pandas as pd
import pytest

from torchperf.errors import CorruptResultsWarning, InvalidParameterError, ResultsFileError
from torchperf.history import load_env_facts, load_results, resolve_commit
from torchperf.history.loader import COLUMNS, entry_name, load_asv_config

DATA = Path(__file__).parent / "data" / "asv-history"  # asv Results writer, real (Django) noise
REAL = Path(__file__).parent / "data" / "asv-real"  # written by a real `asv run`
DJANGO = Path(__file__).resolve().parents[2] / "shared" / "data" / "asv-results-django"

COLS = [
    "result", "params", "version", "started_at", "duration", "stats_ci_99_a", "stats_ci_99_b",
    "stats_q_25", "stats_q_75", "stats_number", "stats_repeat", "samples", "profile",
]


def write_results(root: Path, machine: str = "box") -> Path:
    """A hand-written asv results tree exercising the format's corners."""
    (root / machine).mkdir(parents=True)
    (root / machine / "machine.json").write_text(json.dumps({"machine": machine, "version": 1}))
    bench = {
        "mod.time_param": {"name": "mod.time_param", "type": "time", "unit": "seconds",
                            "params": [["1", "2"], ["'a'", "'b'", "'c'"]],
                            "param_names": ["n", "s"], "version": "v1", "rounds": 2},
        "mod.time_plain": {"name": "mod.time_plain", "type": "time", "unit": "seconds",
                            "params": [], "version": "v1"},
        "mod.track_rate": {"name": "mod.track_rate", "type": "track", "unit": "samples/s",
                            "params": [], "version": "v1"},
        "mod.track_err": {"name": "mod.track_err", "type": "track", "unit": "fraction",
                           "params": [], "version": "v1"},
        "version": 2,
    }
    (root / "benchmarks.json").write_text(json.dumps(bench))
    # NaN / Infinity literals, trailing Nones dropped, a failed (null) entry, samples for one combo
    text = (
        '{"commit_hash": "abcdef0123456789", "env_name": "virtualenv-py3.11-numpy1.26",'
        ' "date": 1700000000000, "params": {"machine": "box", "python": "3.11", "numpy": "1.26"},'
        ' "python": "3.11", "requirements": {"numpy": "1.26"}, "env_vars": {},'
        f' "result_columns": {json.dumps(COLS)},'
        ' "results": {'
        '  "mod.time_param": [[1.0, 2.0, NaN, 4.0, null, 6.0], [["1", "2"], ["\'a\'", "\'b\'", "\'c\'"]],'
        '     "v1", 1700000001000, 1.5, [0.9, 1.9, NaN, 3.9, null, 5.9], [1.1, 2.1, NaN, Infinity, null, 6.1],'
        '     [0.95, 1.95, null, 3.95, null, 5.95], [1.05, 2.05, null, 4.05, null, 6.05], [1, 1, null, 1, null, 1],'
        '     [3, 3, null, 3, null, 3], [[0.9, 1.0, 1.1], null, null, null, null, null]],'
        '  "mod.time_plain": [[0.5], [], "v0"],'
        '  "mod.track_rate": [[100.0], [], "v1"],'
        '  "mod.track_err": [[0.1], [], "v1"]'
        ' }, "durations": {}, "version": 2}'
    )
    (root / machine / "abcdef01-virtualenv-py3.11-numpy1.26.json").write_text(text)
    return root


def test_handwritten_corners(tmp_path):
    df = load_results(write_results(tmp_path / "results"))
    assert list(df.columns[: len(COLUMNS)]) == list(COLUMNS)
    assert "env_numpy" in df.columns and set(df["env_numpy"]) == {"1.26"}
    p = {r["params"]: r for r in df[df["benchmark"] == "mod.time_param"].to_dict("records")}
    assert len(p) == 6  # 2 x 3 cartesian product
    assert p[("1", "'a'")]["value"] == 1.0
    assert p[("2", "'a'")]["value"] == 4.0  # row-major order of itertools.product
    assert math.isnan(p[("1", "'c'")]["value"])  # NaN literal
    assert math.isnan(p[("2", "'b'")]["value"])  # null = failed
    assert math.isinf(p[("2", "'a'")]["ci_high"])  # Infinity literal
    assert p[("1", "'a'")]["samples"] == [0.9, 1.0, 1.1]
    assert p[("1", "'b'")]["samples"] is None
    assert p[("1", "'a'")]["param_str"] == "(1, 'a')"
    plain = df[df["benchmark"] == "mod.time_plain"].iloc[0]
    assert plain["params"] == () and plain["param_str"] == ""
    assert math.isnan(plain["ci_low"]) and plain["samples"] is None  # trailing columns dropped
    assert not plain["version_current"]  # v0 result vs v1 in benchmarks.json
    direction = df.drop_duplicates("benchmark").set_index("benchmark")["lower_is_better"]
    assert bool(direction["mod.time_plain"]) and bool(direction["mod.track_err"])
    assert not bool(direction["mod.track_rate"])  # track_ with a rate unit
    assert df["commit"].iloc[0] == "abcdef0123456789"
    assert str(df["date"].iloc[0].tz) == "UTC"


def test_matches_asvs_own_reader(tmp_path):
    from asv.results import Results

    root = write_results(tmp_path / "results")
    df = load_results(root)
    res = Results.load(str(next((root / "box").glob("abcdef01-*.json"))))
    params = [["1", "2"], ["'a'", "'b'", "'c'"]]
    ours = df[df["benchmark"] == "mod.time_param"]["value"].tolist()
    theirs = res.get_result_value("mod.time_param", params)
    for a, b in zip(ours, theirs, strict=True):
        assert (math.isnan(a) and (b is None or b != b)) or a == b
    stats = res.get_result_stats("mod.time_param", params)
    assert df[df["benchmark"] == "mod.time_param"]["q25"].iloc[0] == stats[0]["q_25"]


def test_corrupt_and_truncated_files_are_skipped_with_a_warning(tmp_path):
    root = write_results(tmp_path / "results")
    good = next((root / "box").glob("abcdef01-*.json"))
    text = good.read_text()
    (root / "box" / "12345678-virtualenv-py3.11-numpy1.26.json").write_text(text[: len(text) // 2])
    (root / "box" / "99999999-env.json").write_text("")
    (root / "box" / "88888888-env.json").write_text('{"version": 2, "results": []}')
    with pytest.warns(CorruptResultsWarning) as rec:
        df = load_results(root)
    msgs = " ".join(str(w.message) for w in rec)
    assert "12345678-virtualenv-py3.11-numpy1.26.json" in msgs
    assert "99999999-env.json" in msgs and "88888888-env.json" in msgs
    assert set(df["commit"]) == {"abcdef0123456789"}  # the good file still loaded
    assert len(df) == 9


def test_missing_or_empty_directory_raises(tmp_path):
    with pytest.raises(ResultsFileError, match="does not exist"):
        load_results(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ResultsFileError, match="no asv results"):
        load_results(tmp_path / "empty")


def test_side_store_facts_are_joined(tmp_path):
    root = write_results(tmp_path / "results")
    store = root / "box" / "torchperf-env"
    store.mkdir()
    (store / "abcdef01-numpy1.26.json").write_text(json.dumps({
        "commit": "abcdef0123456789", "env_name": "virtualenv-py3.11-numpy1.26",
        "numpy_version": "1.26.4",
        "blas": [{"user_api": "blas", "internal_api": "openblas", "version": "0.3.23", "num_threads": 2},
                 {"user_api": "openmp", "internal_api": "openmp", "num_threads": 2}],
    }))
    (store / "broken.json").write_text("{not json")
    with pytest.warns(CorruptResultsWarning, match="broken.json"):
        facts = load_env_facts(root)
    assert facts[0]["blas_library"] == "openblas" and facts[0]["blas_threads"] == 2
    with pytest.warns(CorruptResultsWarning):
        df = load_results(root)
    assert set(df["numpy_version"]) == {"1.26.4"}
    assert set(df["blas_library"]) == {"openblas"} and set(df["blas_version"]) == {"0.3.23"}


def test_resolve_commit_prefixes(tmp_path):
    df = pd.DataFrame({"commit": ["abc123ff", "abd999ee", "ffff0000"]})
    assert resolve_commit(df, "abc") == "abc123ff"
    assert resolve_commit(df, "FFFF0000aaaa") == "ffff0000"  # longer than stored 8-char hash
    with pytest.raises(InvalidParameterError, match="ambiguous"):
        resolve_commit(df, "ab")
    with pytest.raises(InvalidParameterError, match="matches no commit"):
        resolve_commit(df, "0123")


def test_entry_name_is_asvs():
    assert entry_name("a.b", ["1", "'x'"]) == "a.b(1, 'x')"
    assert entry_name("a.b", []) == "a.b"


def test_asv_config_with_comments(tmp_path):
    (tmp_path / "asv.conf.json").write_text(
        '{\n // comment\n "results_dir": "r",\n "regressions_thresholds": {"a.*": 0.1},}\n'
    )
    conf = load_asv_config(tmp_path)
    assert conf["regressions_thresholds"] == {"a.*": 0.1}


@pytest.mark.parametrize("fixture", [DATA, REAL], ids=["transplant", "real-asv-run"])
def test_fixture_history_loads_in_revision_order(fixture):
    truth = json.loads((fixture / "truth.json").read_text())
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        df = load_results(fixture / "results")
    order = df.drop_duplicates("commit").sort_values("revision")["commit"].tolist()
    assert order == truth["commits"]
    timed = df[df["benchmark"].str.contains(".time_")]
    # --record-samples: every timed run keeps all its samples (rounds x repeat, the same for all)
    n_samples = timed["samples"].map(lambda s: len(s) if s is not None else 0)
    assert n_samples.nunique() == 1 and n_samples.iloc[0] >= 10
    assert df[df["benchmark"].str.contains("track_")]["samples"].isna().all()
    assert df.attrs["regressions_thresholds"]["benchmarks.Steps.time_drift"] == 0.10  # asv.conf.json
    assert df["benchmark"].nunique() == len(truth["steps"])
    n_series = len(df.drop_duplicates(["benchmark", "param_str"]))
    assert n_series > 12 and len(df) == 30 * n_series  # every series at every commit
    assert df["unit"].isin(["seconds", "fraction"]).all() and df["lower_is_better"].all()
    assert (df["ci_low"] <= df["value"]).where(df["ci_low"].notna(), True).all()


@pytest.mark.slow
def test_whole_django_dataset_loads():
    if not DJANGO.is_dir():
        pytest.skip(f"real Django asv data not present at {DJANGO} (shared/data is optional)")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        df = load_results(DJANGO)  # read in place; nothing is written
    assert df["commit"].nunique() >= 100
    assert set(df["env_name"]) == {"conda-py3.8", "conda-py3.9", "conda-py3.10", "virtualenv-py3.10"}
    assert df.groupby(["commit", "env_name"]).ngroups == 274  # every results file
    assert df["samples"].notna().mean() > 0.5
    assert (df["revision"].diff().fillna(0) != 0).any()


def test_side_store_written_by_asvbench_envrecord_is_read(tmp_path, monkeypatch):
    """The loader reads the ``.tpenv`` records torchperf's asv types really write."""
    from torchperf.asvbench.envrecord import record_environment

    root = write_results(tmp_path / "results")
    monkeypatch.setenv("TORCHPERF_ASV_MACHINE", "box")
    ctx = {
        "results_dir": str(root), "machine": "box", "machine_source": "test",
        "commit": "abcdef0123456789", "commit_source": "test",
        "env_name": "virtualenv-py3.11-numpy1.26", "env_source": "test",
    }
    path = record_environment(context=ctx)
    assert path is not None and path.suffix == ".tpenv"
    facts = load_env_facts(root)
    import numpy

    assert facts[0]["numpy_version"] == numpy.__version__
    assert facts[0]["commit"] == "abcdef0123456789"
    assert facts[0]["blas_library"]  # threadpoolctl saw numpy's BLAS
