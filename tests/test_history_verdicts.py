"""torchperf.history.verdicts: open/fixed status, cause (environment facts, snapshots, broad shifts), table."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from torchperf.cli import main
from torchperf.errors import InvalidParameterError
from torchperf.history import load_results
from torchperf.history.verdicts import (
    assess_history,
    benchmark_group,
    broad_shifts,
    parse_environment_snapshot,
    select_verdicts,
    verdict_table,
)

DJANGO = Path(__file__).resolve().parents[2] / "shared" / "data" / "asv-results-django"
REAL = Path(__file__).parent / "data" / "asv-real"


def commit(i: int) -> str:
    return f"{i:08x}" + "ab" * 16


def frame(series: dict[str, np.ndarray], *, env: str = "e", machine: str = "m", **extra) -> pd.DataFrame:
    rows = []
    for name, vals in series.items():
        for i, v in enumerate(vals):
            rows.append({"machine": machine, "env_name": env, "benchmark": name, "params": (),
                         "param_str": "", "commit": commit(i), "revision": i, "value": float(v),
                         "date": pd.Timestamp("2024-01-01", tz="UTC") + pd.Timedelta(days=i),
                         "lower_is_better": True, "unit": "seconds", "env_params": (("cpu", "x"),),
                         **{k: f(i) for k, f in extra.items()}})
    return pd.DataFrame(rows)


def noisy(rng: np.random.Generator, n: int, sd: float = 0.01) -> np.ndarray:
    return 1e-3 * np.exp(rng.normal(0, sd, n))


# --------------------------------------------------------------------------- status


def test_bump_is_fixed_by_the_commit_that_undid_it_and_a_step_stays_open():
    rng = np.random.default_rng(5)
    bump, step, imp = noisy(rng, 60), noisy(rng, 60), noisy(rng, 60)
    bump[20:32] *= 1.30      # regression at 20, fixed at 32
    step[40:] *= 1.25        # regression at 40, still there
    imp[25:] /= 1.3          # improvement, kept
    df = frame({"a.A.time_bump": bump, "b.B.time_step": step, "c.C.time_imp": imp})
    vs = {(v.benchmark, v.revision_after): v for v in assess_history(df)}
    reg = vs[("a.A.time_bump", 20)]
    assert reg.direction == "regression" and reg.status == "fixed" and reg.kind == "change-point"
    assert reg.fixed_by == commit(32) and reg.fixed_by_revision == 32
    assert reg.fix_ratio == pytest.approx(1 / 1.3, rel=0.05)
    assert vs[("a.A.time_bump", 32)].direction == "improvement"
    opened = vs[("b.B.time_step", 40)]
    assert opened.status == "open" and opened.fixed_by is None and opened.cause == "code"
    assert opened.ratio_now == pytest.approx(1.25, rel=0.05)
    assert vs[("c.C.time_imp", 25)].status == "kept"
    d = reg.to_dict()
    json.dumps(d, allow_nan=False)
    for k in ("status", "fixed_by", "fixed_by_revision", "fix_ratio", "cause", "env_change", "kind",
              "benchmark", "commit_before", "commit_after", "ratio", "ci_low", "ci_high", "q_value"):
        assert k in d, k
    assert d["status"] == "fixed" and d["fixed_by"] == commit(32) and d["kind"] == "change-point"
    # the CLI's default selection: open code regressions only
    assert [v.benchmark for v in select_verdicts(vs.values())] == ["b.B.time_step"]


def test_a_partial_fix_leaves_the_regression_open():
    rng = np.random.default_rng(6)
    y = noisy(rng, 60, 0.005)
    y[20:] *= 1.40
    y[35:] /= 1.15            # gives back less than half of the 40%
    (first, second) = sorted(assess_history(df := frame({"a.A.time_x": y})), key=lambda v: v.revision_after)
    assert first.revision_after == 20 and second.revision_after == 35 and second.direction == "improvement"
    assert first.status == "open" and first.fixed_by is None
    assert first.ratio_now == pytest.approx(1.40 / 1.15, rel=0.05)
    assert df.shape[0] == 60


def test_newest_revision_is_compared_pairwise():
    rng = np.random.default_rng(7)
    y = noisy(rng, 40, 0.005)
    y[-1] *= 1.5              # the newest commit: no revisions after it, no change point yet
    flat = {f"f{i}.F.time_flat": noisy(rng, 40, 0.005) for i in range(5)}
    vs = assess_history(frame({"a.A.time_last": y, **flat}))
    (v,) = vs
    assert v.kind == "pairwise" and v.direction == "regression" and v.status == "open"
    assert v.commit_after == commit(39) and v.to_dict()["method"] == "pairwise"
    assert assess_history(frame({"a.A.time_last": y, **flat}), tail=0) == []
    with pytest.raises(InvalidParameterError, match="tail"):
        assess_history(frame({"a.A.time_last": y}), tail=-1)


# --------------------------------------------------------------------------- cause


def test_environment_facts_from_side_store_and_asv_params():
    rng = np.random.default_rng(8)
    y = noisy(rng, 40)
    y[20:] *= 1.3
    df = frame({"a.A.time_x": y}, numpy_version=lambda i: "1.26.4" if i < 20 else "2.1.0")
    (v,) = assess_history(df)
    assert v.cause == "environment" and v.env_change == {"numpy_version": ["1.26.4", "2.1.0"]}
    df = frame({"a.A.time_x": y})
    df["env_params"] = [(("cpu", "EPYC 7763" if r < 20 else "Xeon 8370C"),) for r in df["revision"]]
    (v,) = assess_history(df)
    assert v.cause == "environment" and v.env_change == {"params.cpu": ["EPYC 7763", "Xeon 8370C"]}
    assert select_verdicts([v]) == [] and select_verdicts([v], everything=True) == [v]


CONDA_OLD = """name: asv-env
channels:
  - conda-forge
dependencies:
  - python=3.11.7=hab00c5b_0_cpython
  - numpy=1.26.4=py311h64a7726_0
  - numba==0.58.1
  - pip:
    - pyarrow==14.0.2
    - asv @ git+https://github.com/airspeed-velocity/asv
prefix: /opt/conda/envs/asv
"""


def test_parse_environment_snapshot_conda_and_pip_freeze():
    pk = parse_environment_snapshot(CONDA_OLD)
    assert pk == {"python": "3.11.7", "numpy": "1.26.4", "numba": "0.58.1", "pyarrow": "14.0.2", "asv": ""}
    assert parse_environment_snapshot("numpy==2.1.0\nscipy==1.14.1\n# c\n") == {"numpy": "2.1.0", "scipy": "1.14.1"}


def test_environment_snapshots_beside_the_results(tmp_path):
    rng = np.random.default_rng(9)
    series = {f"g{i}.G.time_x": noisy(rng, 40) for i in range(2)}
    series["g0.G.time_x"][20:] *= 1.3
    df = frame(series)
    df.attrs["results_dir"] = str(tmp_path / "results")
    (tmp_path / "results").mkdir()
    envs = tmp_path / "envs"  # as the pandas asv-runner keeps them: envs/<sha>.yml next to results/
    envs.mkdir()
    new = CONDA_OLD.replace("numba==0.58.1", "numba==0.59.0").replace("pyarrow==14.0.2", "pyarrow==15.0.0")
    for i in range(40):
        (envs / f"{commit(i)}.yml").write_text(CONDA_OLD if i < 20 else new)
    (v,) = assess_history(df)
    assert v.cause == "environment"
    assert v.env_change == {"package:numba": ["0.58.1", "0.59.0"], "package:pyarrow": ["14.0.2", "15.0.0"]}
    assert [Path(p).name for p in v.snapshots] == [f"{commit(19)}.yml", f"{commit(20)}.yml"]
    assert v.to_dict()["env_change"]["package:numba"] == ["0.58.1", "0.59.0"]
    # abbreviated names, and snapshots only at some commits: the newest one at or before each side
    for f in envs.iterdir():
        f.unlink()
    (envs / f"{commit(0)[:8]}.yml").write_text(CONDA_OLD)
    (envs / f"{commit(17)[:10]}.yaml").write_text(new)
    (v,) = assess_history(df)
    assert v.cause == "code" and v.env_change == {}  # the change of packages happened earlier (17)


def test_broad_shift_many_unrelated_groups_at_one_commit():
    rng = np.random.default_rng(10)
    series = {f"mod{i}.Class{i}.time_x": noisy(rng, 40) for i in range(12)}
    for i in range(6):
        series[f"mod{i}.Class{i}.time_x"][25:] *= 1.2   # 6 of 12 unrelated groups at one commit
    series["mod11.Class11.time_x"][10:] *= 1.2          # one alone: code
    vs = assess_history(frame(series))
    shifted = [v for v in vs if v.revision_after == 25]
    assert len(shifted) == 6 and all(v.cause == "broad-shift" for v in shifted)
    assert shifted[0].broad_shift["groups"] == 6 and shifted[0].broad_shift["groups_measured"] == 12
    (alone,) = [v for v in vs if v.revision_after == 10]
    assert alone.cause == "code"
    assert [v.benchmark for v in select_verdicts(vs)] == ["mod11.Class11.time_x"]


def test_broad_shift_test_is_calibrated_under_independent_changes():
    """Changes at random commits (no common cause): a broad shift is rarely declared."""
    rng = np.random.default_rng(11)

    class E:
        def __init__(self, m, b, c):
            self.machine, self.benchmark, self.commit_after = m, b, c

    false = 0
    for _ in range(200):
        n_commits, n_groups = 300, 40
        measured = {("m", f"c{j}"): n_groups for j in range(n_commits)}
        events = [E("m", f"g{g}.C.t", f"c{rng.integers(n_commits)}") for g in range(n_groups)
                  for _ in range(rng.poisson(1.5))]
        false += bool(broad_shifts(measured, events))
    assert false / 200 <= 0.02
    assert benchmark_group("a.b.C.time_x") == "a.b.C" and benchmark_group("time_x") == "time_x"


# --------------------------------------------------------------------------- table and CLI


def test_table_groups_by_commit_and_fits_120_columns():
    rng = np.random.default_rng(12)
    series = {f"very.long.module.path.number{i}.SomeBenchmarkClass.time_a_rather_long_method_name": noisy(rng, 40)
              for i in range(4)}
    for name in series:
        series[name][20:] *= 1.3
    df = frame(series, env="conda-py3.11-numpy2.1.0-pandas2.2.3-pyarrow15.0.0-scipy1.14")
    table = verdict_table(assess_history(df))
    lines = table.splitlines()
    assert max(map(len, lines)) <= 120
    assert lines[0] == "machine: m"
    assert re.search(rf"^{commit(19)[:8]}\.\.{commit(20)[:8]}  2024-01-21  4 series moved", table, re.M)
    assert "1.00 ms -> 1.30 ms" in table or "1.00 ms -> 1.29 ms" in table or "ms -> 1.3" in table
    assert "  q  " in lines[1] and " p " not in lines[1]


def test_cli_regressions_on_the_real_asv_fixture(capsys):
    res = str(REAL / "results")
    rc = main(["regressions", "--results-dir", res, "--no-cache"])
    out = capsys.readouterr().out
    assert rc == 1 and "time_regress" in out and "open" in out
    assert max(map(len, out.splitlines())) <= 120
    rc = main(["regressions", "--results-dir", res, "--no-cache", "--all", "--format", "json"])
    rows = json.loads(capsys.readouterr().out)
    assert {r["direction"] for r in rows} == {"regression", "improvement"}
    assert all({"status", "fixed_by", "cause", "kind", "env_change"} <= set(r) for r in rows)
    truth = json.loads((REAL / "truth.json").read_text())
    c = truth["commits"]
    assert any(r["benchmark"].endswith("time_regress") and r["commit_after"] == c[12]
               and r["status"] == "open" for r in rows)
    # filters
    main(["regressions", "--results-dir", res, "--no-cache", "--all", "--format", "json",
          "--bench", "time_improve"])
    rows = json.loads(capsys.readouterr().out)
    assert rows and all(r["benchmark"].endswith("time_improve") for r in rows)
    rc = main(["regressions", "--results-dir", res, "--no-cache", "--all", "--format", "json",
               "--min-effect", "0.2"])
    rows = json.loads(capsys.readouterr().out)
    assert rows and all(abs(r["ratio"] - 1) >= 0.2 for r in rows)
    main(["regressions", "--results-dir", res, "--no-cache", "--format", "json", "--machine", "nope"])
    assert "no asv results files" in capsys.readouterr().err
    main(["regressions", "--results-dir", res, "--no-cache", "--format", "json", "--env", "^nothing$"])
    assert "no asv results files" in capsys.readouterr().err
    rc = main(["regressions", "--results-dir", res, "--no-cache", "--fdr", "0.000001"])
    assert rc in (0, 1)


def test_django_broad_shift_is_one_group_not_26_code_regressions(capsys):
    if not DJANGO.is_dir():
        pytest.skip(f"real Django asv data not present at {DJANGO} (shared/data is optional)")
    df = load_results(DJANGO, cache=False)
    vs = assess_history(df)
    at = [v for v in vs if v.commit_after.startswith("db588d4f") and v.direction == "regression"]
    assert len(at) >= 10 and all(v.cause == "broad-shift" for v in at)
    assert all(v.env == "virtualenv-py3.10" for v in at)
    rc = main(["regressions", "--results-dir", str(DJANGO), "--no-cache"])
    out = capsys.readouterr().out
    assert rc == 1 and max(map(len, out.splitlines())) <= 120
    assert "db588d4f" not in out.split("\n\n")[0]  # the broad shift is not among the default rows
    assert re.search(r"in\s+broad\s+shifts\s+\(--all\s+lists\s+them\)", out)
    main(["regressions", "--results-dir", str(DJANGO), "--no-cache", "--all"])
    out = capsys.readouterr().out
    assert "broad shift on ubuntu-22.04" in out and max(map(len, out.splitlines())) <= 120


# --------------------------------------------------------------------------- compare --explain

EXPLAIN_DOC = ("torchperf compare 95e88875 d2b3dd1d --results-dir tests/data/asv-real/results "
               "--no-cache --explain")


def test_compare_explain_says_why_the_two_analyses_differ():
    from torchperf.history import compare_revisions
    from torchperf.history.verdicts import explain_compare

    df = load_results(REAL / "results", cache=False)
    c = json.loads((REAL / "truth.json").read_text())["commits"]
    # a one-commit spike (15): compare flags it, the change points do not
    ex = explain_compare(df, compare_revisions(df, c[14], c[15]))
    (key,) = [k for k in ex if k[2].endswith("time_outlier")]
    e = ex[key]
    assert e["compare"]["verdict"] == "regression" and e["regressions"]["verdict"] == "none"
    assert "no level shift" in e["reason"]
    # a 5% step (16): the change point finds it on its segments, two single values do not
    ex = explain_compare(df, compare_revisions(df, c[15], c[16]))
    e = next(v for k, v in ex.items() if k[2].endswith("time_small_step"))
    assert e["regressions"]["verdict"] == "regression" and e["compare"]["verdict"] != "regression"
    (cp,) = e["regressions"]["change_points"]
    assert cp["commit_after"] == c[16] and cp["n_before"] >= 3 and cp["n_after"] >= 3
    assert re.search(r"segments of \d+ and \d+ revisions", e["reason"])
    # a step inside A..B, not at B
    ex = explain_compare(df, compare_revisions(df, c[5], c[29]))
    assert all(k[2] != "benchmarks.Steps.time_regress" for k in ex)  # both call it a regression
    # the newest revisions: compare finds nothing there, so there is nothing to explain even
    # without change points (the "too few revisions after B" reason is checked with an injected
    # step in test_compare_explain_end_rule_comes_from_the_detector)
    found = compare_revisions(df, c[27], c[29])
    assert found and not any(f.to_dict()["verdict"] in ("regression", "improvement") for f in found)
    assert explain_compare(df, found, change_points=[]) == {}


def test_compare_explain_end_rule_comes_from_the_detector():
    """A step at B with exactly 2 revisions after B is within the detector's reach (end
    windows may have ``MIN_SIZE_END`` = 2 points, B included): the explanation must not
    blame "too few revisions after B"; a step at the newest revision is out of reach."""
    from torchperf.history import compare_revisions
    from torchperf.history.changepoints import MIN_SIZE_END, MIN_SIZE_INNER
    from torchperf.history.verdicts import explain_compare

    assert (MIN_SIZE_END, MIN_SIZE_INNER) == (2, 3)
    df = load_results(REAL / "results", cache=False)
    c = json.loads((REAL / "truth.json").read_text())["commits"]
    rev = dict(zip(df["commit"], df["revision"], strict=False))
    flat = df["benchmark"] == "benchmarks.Flat.time_flat"
    for b, after in ((27, 2), (29, 0)):
        d = df.copy()
        d.loc[flat & (d["revision"] >= rev[c[b]]), "value"] *= 2.0
        found = compare_revisions(d, c[b - 1], c[b])
        assert sum(f.to_dict()["verdict"] == "regression" for f in found) == 12
        # the real detector: with 2 after B it finds the step (no disagreement)
        real = explain_compare(d, found)
        assert not any(k[2] == "benchmarks.Flat.time_flat" for k in real) if after else len(real) == 12
        # without a change point (as if the detector had missed it), the reason
        ex = explain_compare(d, found, change_points=[])
        assert len(ex) == 12
        for e in ex.values():
            assert e["revisions_after_b"] == after
            assert ("after B" in e["reason"]) == (after + 1 < MIN_SIZE_END), e["reason"]
        if not after:
            assert f"needs {MIN_SIZE_END} revisions from B on" in next(iter(ex.values()))["reason"]


def test_compare_explain_cli_as_documented(monkeypatch, capsys):
    import shlex

    doc = (Path(__file__).resolve().parents[1] / "docs" / "history.md").read_text()
    assert EXPLAIN_DOC in doc
    monkeypatch.chdir(Path(__file__).resolve().parents[1])
    rc = main(shlex.split(EXPLAIN_DOC)[1:])
    out = capsys.readouterr().out
    assert rc in (0, 1)
    assert "compare vs regressions (change points) on 95e88875..d2b3dd1d: 2 series differ." in out
    assert "time_small_step" in out.split("series differ.")[1]
    assert max(map(len, out.split("series differ.")[1].splitlines())) <= 120
    main([*shlex.split(EXPLAIN_DOC)[1:], "--format", "json"])
    rows = json.loads(capsys.readouterr().out)
    ex = {r["benchmark"]: r["explanation"] for r in rows}
    assert ex["benchmarks.Steps.time_small_step"]["regressions"]["verdict"] == "regression"
    assert ex["benchmarks.Flat.time_flat"] is None


@pytest.mark.parametrize("name", ["regressions-django", "regressions-django-shift", "compare-table",
                                  "compare-explain"])
def test_docs_examples_are_what_the_commands_print(name):
    """docs/history.md shows the commands' output of today (regenerate: python tools/history_examples.py --write)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "history_examples", Path(__file__).resolve().parents[1] / "tools" / "history_examples.py")
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    _command, needs = tool.EXAMPLES[name]
    if needs is not None and not needs.exists():
        pytest.skip(f"{needs} is absent (shared/data is optional)")
    assert tool.documented(name) == tool.block(name), (
        "docs/history.md is stale: run `python tools/history_examples.py --write`")


def test_table_with_several_machines_names_machine_and_environment():
    rng = np.random.default_rng(13)
    frames = []
    for machine in ("ci-runner-a", "bare-metal-b"):
        y = noisy(rng, 40, 0.005)
        y[20:] *= 1.3
        frames.append(frame({"a.A.time_x": y}, machine=machine, env="virtualenv-py3.12"))
    vs = assess_history(pd.concat(frames, ignore_index=True))
    assert {v.machine for v in vs} == {"ci-runner-a", "bare-metal-b"}
    table = verdict_table(vs)
    assert not table.startswith("machine:") and "machine/env" in table.splitlines()[0]
    assert "ci-runner-a/virtualenv-py3.12" in table and "bare-metal-b/virtualenv-py3.12" in table
    assert "2 series moved (2 regressions, 0 improvements)" in table


def test_compare_table_fits_120_columns_and_shows_q_values_and_units(capsys):
    """`torchperf compare A B` on a history: laid out like `regressions` (q, not p; before ->
    after in units; ratio CI), at most 120 columns even with two machines and long names;
    the JSON keeps every field."""
    from torchperf.history import compare_revisions
    from torchperf.history.verdicts import comparison_table

    rng = np.random.default_rng(21)
    long_env = "conda-py3.12-numpy2.1-scipy1.14-openblas0.3.28-with-a-very-long-name"
    frames = []
    for machine in ("ci-runner-with-a-long-hostname-a", "bare-metal-b"):
        y, z = noisy(rng, 40, 0.005), noisy(rng, 40, 0.005)
        y[20:] *= 1.3
        frames.append(frame({"package.subpackage.benchmarks.LongClassName.time_a_long_method_name": y,
                             "a.A.time_flat": z}, machine=machine, env=long_env))
    df = pd.concat(frames, ignore_index=True)
    rows = [f.to_dict() for f in compare_revisions(df, commit(19), commit(20))]
    table = comparison_table(rows)
    lines = table.splitlines()
    assert max(map(len, lines)) <= 120
    head = lines[1].split()
    assert "q" in head and "p" not in head and "machine/env" in head
    big = [ln for ln in lines if "time_a_long_method_name" in ln]
    assert len(big) == 2 and all(re.search(r" ms -> 1\.[23]\d ms ", ln) and "regression" in ln for ln in big), big
    # q shown is the adjusted one, which is at least p
    for r in rows:
        assert r["q_value"] >= r["p_value"]
    one = comparison_table([r for r in rows if r["machine"] == "bare-metal-b"])
    assert one.splitlines()[0].endswith("machine: bare-metal-b") and "env" in one.splitlines()[1].split()
    # the CLI prints it; its JSON keeps every field (p as well as q)
    assert comparison_table([]) == "(no series to show)"
    capsys.readouterr()
    main(["compare", "95e88875", "d2b3dd1d", "--results-dir", str(REAL / "results"), "--no-cache"])
    out = capsys.readouterr().out
    assert max(map(len, out.splitlines())) <= 120 and " q " in out.splitlines()[1] and "µs ->" in out
    main(["compare", "95e88875", "d2b3dd1d", "--results-dir", str(REAL / "results"), "--no-cache",
          "--format", "json"])
    js = json.loads(capsys.readouterr().out)
    assert {"p_value", "q_value", "ci_low", "ci_high", "value_before", "value_after", "unit",
            "noise_model", "evidence", "verdict", "machine", "env"} <= set(js[0])
