"""Hypothesis fuzzing of torchperf's loaders and of the CLI's argument parsing (issue 8).

Only the documented errors may come out: :class:`~torchperf.errors.ResultsFileError`
(or another :class:`~torchperf.errors.TorchperfError`) from the loaders, and exit
codes 0/1/2/130 (argparse's ``SystemExit(2)`` for usage errors, ``SystemExit(0)``
for ``--help``) from the CLI. Anything else (KeyError, TypeError, a traceback) is a bug.
"""

from __future__ import annotations

import json
import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from torchperf import cli
from torchperf.errors import CorruptResultsWarning, TorchperfError
from torchperf.result import BenchmarkResult
from torchperf.suite import load_run, normalize_run, save_run

pytestmark = pytest.mark.reliability  # `pytest -m reliability` prints the trials/failures table

SETTINGS = settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    database=None,  # no .hypothesis/ directory in the repository
    derandomize=True,  # reproducible in CI
)

json_leaf = (
    st.none()
    | st.booleans()
    | st.integers(-(2**64), 2**64)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=10)
    | st.sampled_from(["NaN", "Infinity", "torchperf.run", "torchperf.BenchmarkResult", "s", ""])
)
json_values = st.recursive(
    json_leaf,
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(
        st.sampled_from(
            ["schema", "schema_version", "results", "values", "metadata", "metric_name", "unit",
             "failures", "warnings", "models", "complete", "interrupted", "environment",
             "not_applicable", "protocol", "count", "lower_is_better", "confidence_level",
             "environment_fingerprint", "latency", "m"]
        )
        | st.text(max_size=6),
        children,
        max_size=5,
    ),
    max_leaves=20,
)


def _valid_run() -> dict:
    rng = np.random.default_rng(0)
    res = {
        "latency": {
            m: BenchmarkResult("latency", rng.lognormal(-7, 0.1, 5), {"model": m, "environment": {"os": "x"}}, unit="s")
            for m in ("a", "b")
        },
        "size": {m: BenchmarkResult("size", [100.0, 100.0], unit="B") for m in ("a", "b")},
    }
    from torchperf.suite import run_to_jsonable

    return run_to_jsonable(
        {"schema": "torchperf.run", "schema_version": 1, "environment": {"os": "x"},
         "protocol": {"baseline": "a"}, "models": ["a", "b"], "results": res,
         "failures": {"c": {"latency": {"error": "E", "message": "boom"}}},
         "not_applicable": {"accuracy": {"b": "task 'generation' is not classification"}},
         "warnings": [], "complete": True, "interrupted": False}
    )  # fmt: skip


VALID = _valid_run()


def _expect_documented(fn, *args, **kw):
    try:
        return fn(*args, **kw)
    except TorchperfError:
        return None


@SETTINGS
@given(doc=json_values)
def test_normalize_run_on_arbitrary_json(doc, record_property):
    record_property("example", 1)  # one trial of the reliability table
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _expect_documented(normalize_run, doc)
        if isinstance(doc, dict):
            _expect_documented(normalize_run, {**doc, "schema": "torchperf.run", "schema_version": 1})


@SETTINGS
@given(doc=json_values)
def test_result_from_dict_on_arbitrary_json(doc, record_property):
    record_property("example", 1)  # one trial of the reliability table
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _expect_documented(BenchmarkResult.from_dict, doc)
        if isinstance(doc, dict):
            base = {"schema": "torchperf.BenchmarkResult", "schema_version": 1, "metric_name": "m",
                    "values": [1.0, 2.0]}  # fmt: skip
            _expect_documented(BenchmarkResult.from_dict, {**base, **doc})


def _paths(obj, prefix=()):
    yield prefix
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from _paths(v, (*prefix, k))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from _paths(v, (*prefix, i))


ALL_PATHS = list(_paths(VALID))


def _replace(obj, path, value):
    if not path:
        return value
    obj = json.loads(json.dumps(obj))
    node = obj
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return obj


@SETTINGS
@given(
    edits=st.lists(st.tuples(st.sampled_from(ALL_PATHS), json_values), min_size=1, max_size=3),
)
def test_load_run_on_mutated_valid_files(edits, tmp_path_factory, record_property):
    record_property("example", 1)  # one trial of the reliability table
    doc = VALID
    for path, value in edits:
        try:
            doc = _replace(doc, path, value)
        except (KeyError, IndexError, TypeError):
            continue  # an earlier edit removed that path
    p = tmp_path_factory.mktemp("mut") / "results.json"
    p.write_text(json.dumps(doc))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        run = _expect_documented(load_run, p)
        if run is not None:  # accepted: the rest of the pipeline must cope with it too
            from torchperf.report import summary_table

            _expect_documented(summary_table, run)


@SETTINGS
@given(
    cut=st.integers(0, 10_000),
    flips=st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), max_size=4),
)
def test_load_run_on_byte_damaged_files(cut, flips, tmp_path_factory, record_property):
    record_property("example", 1)  # one trial of the reliability table
    raw = bytearray(json.dumps(VALID).encode())
    for pos, byte in flips:
        raw[pos % len(raw)] = byte
    p = tmp_path_factory.mktemp("bytes") / "results.json"
    p.write_bytes(bytes(raw[: cut % (len(raw) + 1)]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _expect_documented(load_run, p)


def test_a_saved_run_survives_the_fuzz_fixture(tmp_path):
    """The fixture itself is valid (so the mutations start from a real file)."""
    run = normalize_run(VALID)
    assert set(run["results"]) == {"latency", "size"}
    save_run(tmp_path / "r.json", run["results"], environment=run["environment"])
    assert load_run(tmp_path / "r.json")["results"]["latency"]["a"] == run["results"]["latency"]["a"]


# --------------------------------------------------------------------------- CLI argv

SUBCOMMANDS = ["run", "report", "compare", "regressions", "pareto", "publish", "leaderboard",
               "doctor", "asv-check", "quickstart"]  # fmt: skip
OPTIONS = ["--output", "-o", "--quick", "--warmup", "--runs", "--dataset", "--baseline", "--seed",
           "--strict", "--resume", "--metrics", "--timeout", "--memory-limit-mb", "--results-dir",
           "--format", "--confidence-level", "--fdr", "--all", "--since", "--revision",
           "--html-dir", "--offline", "--latency-budget", "--benchmark-dir", "--full", "--help",
           "--version", "-h"]  # fmt: skip
VALUES = ["-1", "0", "2", "10", "1e12", "nan", "inf", "0.95", "95", "json", "table", "x.json",
          "mod:attr", ":", "", "latency,size", "latency,bogus", "\x00", "..", "/", "é"]  # fmt: skip
argv_token = st.sampled_from(SUBCOMMANDS + OPTIONS + VALUES) | st.text(max_size=8)


@pytest.fixture
def parse_only(monkeypatch, tmp_path):
    """Stub the commands that would benchmark, publish or sample the machine for long."""
    calls = []

    def stub(args):
        calls.append(args)
        return 0

    for name in ("cmd_run", "cmd_quickstart", "cmd_publish", "cmd_doctor", "cmd_asv_check"):
        monkeypatch.setattr(cli, name, stub)
    monkeypatch.chdir(tmp_path)  # no asv.conf.json, no results files around
    return calls


@SETTINGS
@given(argv=st.lists(argv_token, max_size=6))
def test_cli_parsing_never_raises_unhandled(argv, parse_only, capsys, record_property):
    record_property("example", 1)  # one trial of the reliability table
    try:
        code = cli.main(argv)
    except SystemExit as exc:  # argparse: --help/--version (0) or a usage error (2)
        code = exc.code
    capsys.readouterr()
    assert code in (0, 1, 2, 130), (argv, code)


# --------------------------------------------------------------------------- asv results loader


def _asv_fixture(tmp_path: Path) -> Path:
    src = Path(__file__).parent / "data" / "asv-history" / "results"
    dst = tmp_path / "results"
    (dst / "fixture-box").mkdir(parents=True)
    shutil.copy(src / "benchmarks.json", dst / "benchmarks.json")
    shutil.copy(src / "fixture-box" / "machine.json", dst / "fixture-box" / "machine.json")
    files = sorted(p for p in (src / "fixture-box").glob("*.json") if p.name != "machine.json")[:3]
    for f in files:
        shutil.copy(f, dst / "fixture-box" / f.name)
    return dst


@SETTINGS
@given(
    mode=st.sampled_from(["truncate", "replace", "garbage"]),
    cut=st.integers(0, 100_000),
    doc=json_values,
)
def test_asv_results_loader_skips_corrupt_files(mode, cut, doc, tmp_path_factory, record_property):
    record_property("example", 1)  # one trial of the reliability table
    history = pytest.importorskip("torchperf.history", reason="torchperf.history not built yet")
    load_results = getattr(history, "load_results", None)
    if load_results is None:
        pytest.skip("torchperf.history.load_results not available yet")
    root = _asv_fixture(tmp_path_factory.mktemp("asv"))
    victim = sorted((root / "fixture-box").glob("*-*.json"))[0]
    raw = victim.read_bytes()
    if mode == "truncate":
        victim.write_bytes(raw[: cut % max(1, len(raw) - 1)])
    elif mode == "replace":
        victim.write_text(json.dumps(doc))
    else:
        victim.write_bytes(bytes((b * 7 + cut) % 256 for b in raw[:200]))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            df = load_results(root)
        except TorchperfError:
            return
    assert len(df) > 0  # the two intact files still load
    corrupt = [w for w in caught if issubclass(w.category, CorruptResultsWarning)]
    if mode != "replace":
        assert corrupt or len(df) > 0
