"""Benchmarking a user's own code: torchperf.targets and ``torchperf run TARGET`` (issue 16.1)."""

from __future__ import annotations

import importlib
import re
import shlex
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from torchperf import cli
from torchperf.errors import InvalidParameterError
from torchperf.suite import load_run
from torchperf.targets import (
    dataset_features,
    generate_input,
    load_dataset,
    load_example_input,
    load_models,
    parse_shape,
)

ROOT = Path(__file__).resolve().parents[1]
MODULE = "tpf_own_code"
SOURCE = textwrap.dedent(
    """
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    W = np.random.default_rng(0).standard_normal((8, 3)).astype(np.float32)

    def linear(x):
        return x @ W

    def embed(ids):
        assert ids.dtype == np.int64 and ids.min() >= 0, ids.dtype
        return W[ids % 8].sum(axis=1)

    def wants_16(x):
        return x.reshape(len(x), 16) @ np.ones((16, 2), dtype=np.float32)

    class Doubler:
        def forward(self, x):
            return 2 * x

    _rng = np.random.default_rng(1)
    X = _rng.standard_normal((40, 8)).astype(np.float32)
    y = (X[:, 0] > 0).astype(int)
    data = (X, y)
    clf = LogisticRegression().fit(X, y)
    models = {"lin": linear, "dbl": Doubler()}
    """
)


@pytest.fixture()
def own_dir(tmp_path, monkeypatch):
    (tmp_path / f"{MODULE}.py").write_text(SOURCE)
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    importlib.invalidate_caches()
    yield tmp_path
    for name in (MODULE, "mymodels"):
        sys.modules.pop(name, None)


def run_cli(argv, capsys):
    try:
        code = cli.main(argv)
    except SystemExit as exc:
        code = exc.code
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return code, out, err


# --------------------------------------------------------------------------- library


@pytest.mark.parametrize("text, shape", [("1,64", (1, 64)), ("1x3x32x32", (1, 3, 32, 32)),
                                         ("(2, 5)", (2, 5)), ("7", (7,))])
def test_parse_shape(text, shape):
    assert parse_shape(text) == shape


@pytest.mark.parametrize("text", ["", "1,-2", "a,b", "0,3"])
def test_parse_shape_rejects(text):
    with pytest.raises(InvalidParameterError, match="batch axis"):
        parse_shape(text)


def test_generate_input_by_dtype():
    f = generate_input((200, 3), "float64", seed=3)
    assert f.dtype == np.float64 and abs(f.mean()) < 0.2 and 0.8 < f.std() < 1.2
    i = generate_input((200, 3), "int64")
    assert i.dtype == np.int64 and i.min() == 0 and i.max() == 9
    b = generate_input((200,), "bool")
    assert b.dtype == bool and 0.3 < b.mean() < 0.7
    np.testing.assert_array_equal(generate_input((4, 2), seed=5), generate_input((4, 2), seed=5))
    with pytest.raises(InvalidParameterError, match="numeric NumPy dtype"):
        generate_input((2,), "str")


def test_example_input_files(tmp_path):
    x = np.arange(12, dtype=np.float32).reshape(3, 4)
    np.save(tmp_path / "x.npy", x)
    np.testing.assert_array_equal(load_example_input(tmp_path / "x.npy"), x)
    np.save(tmp_path / "scalar.npy", np.float32(1))
    with pytest.raises(InvalidParameterError, match="needs a batch axis"):
        load_example_input(tmp_path / "scalar.npy")
    (tmp_path / "x.csv").write_text("1,2")
    with pytest.raises(InvalidParameterError, match=r"must be a \.npy"):
        load_example_input(tmp_path / "x.csv")
    with pytest.raises(InvalidParameterError, match="does not exist"):
        load_example_input(tmp_path / "nope.npy")
    (tmp_path / "bad.npy").write_bytes(b"not numpy")
    with pytest.raises(InvalidParameterError, match=r"not a readable \.npy"):
        load_example_input(tmp_path / "bad.npy")


@pytest.mark.torch
def test_example_input_pt(tmp_path):
    torch = pytest.importorskip("torch")
    torch.save(torch.ones(2, 5), tmp_path / "x.pt")
    x = load_example_input(tmp_path / "x.pt")
    assert isinstance(x, np.ndarray) and x.shape == (2, 5)
    torch.save({"a": torch.ones(1)}, tmp_path / "d.pt")
    with pytest.raises(InvalidParameterError, match="not one tensor"):
        load_example_input(tmp_path / "d.pt")


def test_targets_and_datasets(own_dir):
    models = load_models([f"{MODULE}:models", f"{MODULE}:linear", f"{MODULE}:clf"])
    assert list(models) == ["lin", "dbl", "linear", "LogisticRegression"]
    data = load_dataset(f"{MODULE}:data")
    assert len(data) == 1 and dataset_features(data).shape == (40, 8)
    assert dataset_features({"d": [data[0]]}).shape == (40, 8)
    with pytest.raises(InvalidParameterError, match="no attribute 'W2'"):
        load_models([f"{MODULE}:W2"])
    with pytest.raises(InvalidParameterError, match="must have a `forward` or `predict`"):
        load_models([f"{MODULE}:W"])


# --------------------------------------------------------------------------- CLI


def test_run_numpy_function_in_default_worker_processes(own_dir, capsys):
    code, _, err = run_cli(
        ["run", f"{MODULE}:linear", f"{MODULE}:models", "--input-shape", "1,8",
         "--metrics", "latency,size", "--warmup", "0", "--runs", "3", "-o", "out"], capsys,
    )  # fmt: skip
    assert code == 0, err
    run = load_run(own_dir / "out")
    lat = run["results"]["latency"]
    assert set(lat) == {"linear", "lin", "dbl"}
    for r in lat.values():
        assert r.metadata["processes"] == cli.DEFAULT_RUN_PROCESSES >= 2
        assert list(r.metadata["input_shape"]) == [1, 8] and r.count == 3 * cli.DEFAULT_RUN_PROCESSES
    assert list(run["protocol"]["input_shape"]) == [1, 8]


def test_dataset_x_times_the_models(own_dir, capsys):
    code, _, err = run_cli(
        ["run", f"{MODULE}:linear", f"{MODULE}:clf", "--dataset", f"{MODULE}:data",
         "--metrics", "latency,throughput,accuracy", "--processes", "1", "--warmup", "0",
         "--runs", "2", "-o", "out"], capsys,
    )  # fmt: skip
    assert code == 0, err
    run = load_run(own_dir / "out")
    lat = run["results"]["latency"]["linear"].metadata
    assert lat["input_source"] == "example_input" and list(lat["input_shape"]) == [1, 8]
    thr = run["results"]["throughput"]["LogisticRegression"].metadata
    assert list(thr["input_shape"]) == [32, 8]
    assert run["results"]["accuracy"]["LogisticRegression"].metadata["n_examples"] == 40
    assert list(run["protocol"]["example_input"]["shape"]) == [1, 8]


def test_example_input_and_dtype_flags(own_dir, capsys):
    np.save(own_dir / "x.npy", np.ones((1, 8), dtype=np.float32))
    code, _, err = run_cli(
        ["run", f"{MODULE}:linear", "--example-input", "x.npy", "--metrics", "latency",
         "--processes", "1", "--warmup", "0", "--runs", "2", "-o", "a"], capsys,
    )  # fmt: skip
    assert code == 0, err
    assert load_run(own_dir / "a")["results"]["latency"]["linear"].metadata["input_source"] == (
        "example_input"
    )
    code, _, err = run_cli(
        ["run", f"{MODULE}:embed", "--input-shape", "1,5", "--input-dtype", "int64",
         "--metrics", "latency,throughput", "--processes", "1", "--warmup", "0", "--runs", "2",
         "-o", "b"], capsys,
    )  # fmt: skip
    assert code == 0, err
    meta = load_run(own_dir / "b")["results"]["latency"]["embed"].metadata
    assert meta["input_dtype"] == "int64"


def test_threads_flag_reaches_the_workers_and_is_restored(own_dir, capsys, monkeypatch):
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    code, _, err = run_cli(
        ["run", f"{MODULE}:linear", "--input-shape", "1,8", "--threads", "1", "--processes", "2",
         "--metrics", "latency", "--warmup", "0", "--runs", "2", "-o", "out"], capsys,
    )  # fmt: skip
    assert code == 0, err
    import os

    assert "OMP_NUM_THREADS" not in os.environ  # restored
    threads = load_run(own_dir / "out")["results"]["latency"]["linear"].metadata["threads"]
    assert threads["requested"] == 1 and threads["env"]["OMP_NUM_THREADS"] == "1"
    assert threads["pools"] and all(n == 1 for n in threads["pools"].values())


def test_no_input_is_a_usage_error_naming_the_flags(own_dir, capsys):
    code, _, err = run_cli(["run", f"{MODULE}:linear", "-o", "out"], capsys)
    assert code == 2
    assert "'linear' declare no input shape" in err
    for flag in ("--input-shape", "--example-input", "--dataset"):
        assert flag in err
    assert not (own_dir / "out" / "results.json").exists()
    code, _, err = run_cli(["run", f"{MODULE}:linear", "--input-shape", "1,0"], capsys)
    assert code == 2 and "--input-shape must be positive integers" in err
    code, _, err = run_cli(["run", f"{MODULE}:linear", "--input-dtype", "words"], capsys)
    assert code == 2 and "--input-dtype must be a numeric dtype" in err
    code, _, err = run_cli(["run", f"{MODULE}:linear", "--input-shape", "1,8",
                            "--example-input", "x.npy"], capsys)  # fmt: skip
    assert code == 2 and "not allowed with argument" in err


def test_rejected_input_advice_names_cli_flags(own_dir, capsys):
    code, _, err = run_cli(
        ["run", f"{MODULE}:wants_16", "--input-shape", "1,8", "--metrics", "latency",
         "--processes", "1", "--warmup", "0", "--runs", "2", "-o", "out"], capsys,
    )  # fmt: skip
    assert code == 1
    assert "'wants_16' failed the latency benchmark" in err
    assert "--input-shape" in err and "input_shape=" not in err


# --------------------------------------------------------------------------- README


def _readme_block(marker: str) -> list[str]:
    text = (ROOT / "README.md").read_text()
    block = re.search(rf"<!-- {marker} -->(.*?)<!-- /{marker} -->", text, re.S)
    assert block, f"README has no {marker} block"
    return re.findall(r"```[a-z]*\n(.*?)```", block.group(1), re.S)


@pytest.mark.torch
@pytest.mark.slow
def test_readme_own_code_example_runs_as_written(tmp_path, monkeypatch, capsys):
    """The README's 'your own code' example: the file and the command, exactly as shown."""
    pytest.importorskip("torch")
    source, command = _readme_block("own-code")
    assert source.startswith("# mymodels.py\n")
    assert len([ln for ln in source.splitlines()[1:] if ln.strip()]) <= 6
    (tmp_path / "mymodels.py").write_text(source)
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    argv = shlex.split(command.strip())
    assert argv[0] == "torchperf"
    try:
        code, _, err = run_cli(argv[1:], capsys)
    finally:
        sys.modules.pop("mymodels", None)
    assert code == 0, err
    run = load_run(tmp_path / "benchmark_results")
    assert set(run["results"]["latency"]) == {"Sequential", "linear"}
    for r in run["results"]["latency"].values():
        assert r.metadata["processes"] == cli.DEFAULT_RUN_PROCESSES


def test_run_format_json(own_dir, capsys):
    import json

    code, out, err = run_cli(
        ["run", f"{MODULE}:models", "--input-shape", "1,8", "--metrics", "latency,size",
         "--processes", "1", "--warmup", "0", "--runs", "2", "-o", "out", "--format", "json"],
        capsys,
    )  # fmt: skip
    assert code == 0, err
    doc = json.loads(out)
    assert {(r["model"], r["metric"]) for r in doc["results"]} >= {("lin", "latency"), ("dbl", "latency")}
    assert [c["model"] for c in doc["comparisons"] if c["metric"] == "latency"] == ["dbl"]
    assert doc["files"]["results.json"].endswith("results.json")


def test_cli_advice_names_flags_not_python_arguments(own_dir, capsys):
    """Issue 16.4: what the CLI prints names its flags."""
    code, out, err = run_cli(
        ["run", f"{MODULE}:models", "--metrics", "accuracy,size", "--processes", "1", "-o", "o"],
        capsys,
    )  # fmt: skip
    assert code == 0, err
    assert "(pass --dataset MODULE:ATTR)" in out and "datasets=[" not in out
    code, _, err = run_cli(["publish"], capsys)  # no asv.conf.json here
    assert code == 2 and "--html-dir DIR and --results-dir DIR" in err and "html_dir and" not in err
