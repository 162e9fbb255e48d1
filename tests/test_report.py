"""Tests of torchperf.report: rendering, escaping, CSV/JSON, summary table, compare_runs."""

from __future__ import annotations

import base64
import csv
import io
import json
import re
import warnings

import numpy as np
import pytest

from torchperf.errors import ResultsFileError
from torchperf.report import (
    build_report,
    collect_warnings,
    compare_runs,
    csv_text,
    html_escape,
    markdown_escape,
    render_html,
    render_markdown,
    render_run,
    summary_table,
)
from torchperf.result import BenchmarkResult
from torchperf.suite import load_run, save_run

EVIL = "<img src=x onerror=alert(1)>"
EVIL2 = "p</script><script>alert(2)</script>|*_x_*"


def make_results(names, *, seed=0, slow_factor=None, cv=0.03):
    """Seeded synthetic results for every metric; model i is (i+1)x faster than model 0."""
    rng = np.random.default_rng(seed)
    res = {m: {} for m in ("latency", "throughput", "accuracy", "memory", "size")}
    for i, name in enumerate(names):
        center = 1e-3 / (i + 1)
        if slow_factor and i == 1:
            center *= slow_factor
        lat = rng.lognormal(np.log(center), cv, 12)
        res["latency"][name] = BenchmarkResult("latency", lat, {"number": 16}, unit="s")
        res["throughput"][name] = BenchmarkResult(
            "throughput", 32 / lat, {}, unit="samples/s", lower_is_better=False
        )
        res["accuracy"][name] = BenchmarkResult(
            "accuracy", [0.95 - 0.01 * i] * 3, {}, unit="fraction", lower_is_better=False
        )
        res["memory"][name] = BenchmarkResult("memory", rng.normal(2e5, 1e3, 12), {}, unit="B")
        res["size"][name] = BenchmarkResult("size", [1e5 / (i + 1)] * 3, {}, unit="B")
    return res


ENV = {
    "hostname": "testbox",
    "machine": "x86_64",
    "python": {"version": "3.11.7"},
    "numpy_imported": "2.4.6",
    "blas": [{"internal_api": "openblas", "version": "0.3.31", "num_threads": 2}],
    "thread_env": {"OMP_NUM_THREADS": "1"},
    "git": {"commit": "abc123", "dirty": False},
}
PROTOCOL = {"warmup_runs": 5, "measurement_runs": 12, "baseline": None, "confidence_level": 0.95}


def make_run(tmp_path, names, **kw):
    proto = dict(PROTOCOL, baseline=names[0])
    path = save_run(
        tmp_path / "results.json", make_results(names, **kw), environment=ENV, protocol=proto, models=names
    )
    return load_run(path)


# --------------------------------------------------------------------------- escaping


def _unescaped(text: str, ch: str) -> int:
    """Count occurrences of ``ch`` not preceded by a backslash."""
    return len(re.findall(r"(?<!\\)" + re.escape(ch), text))


@pytest.mark.parametrize(
    "raw", [EVIL, EVIL2, "a|b", "*bold* _it_ `code`", "[link](http://x)", "![img](x.png)", "a\nb\r\nc", "&lt;b&gt;"]
)
def test_markdown_escape_neutralises_markup(raw):
    s = markdown_escape(raw)
    for ch in "<>|*_`[]()&":
        assert _unescaped(s, ch) == 0, (raw, s)
    assert "\n" not in s and "\r" not in s
    # unescaping gives back the text (newlines become spaces)
    assert re.sub(r"\\(.)", r"\1", s) == raw.replace("\r\n", " ").replace("\n", " ")


def test_markdown_escape_line_start():
    assert markdown_escape("1. item", line_start=True) == "1\\. item"
    assert markdown_escape("- x", line_start=True) == "\\- x"
    assert markdown_escape("1. item") == "1. item"


def test_html_escape():
    assert html_escape(EVIL) == "&lt;img src=x onerror=alert(1)&gt;"
    assert html_escape('"q"') == "&quot;q&quot;"


# --------------------------------------------------------------------------- rendering


@pytest.fixture
def evil_run(tmp_path):
    return make_run(tmp_path, ["base", EVIL, EVIL2])


def test_html_report_escapes_user_strings(evil_run):
    data = build_report(evil_run)
    page = render_html(data, images={EVIL: b"\x89PNG fake"})
    assert "<img src=x" not in page
    assert "<script" not in page.lower()
    assert "onerror=alert(1)&gt;" in page  # shown as text
    assert "&lt;/script&gt;" in page
    # only our own markup: the single <img> is the embedded figure
    assert page.count("<img ") == 1
    assert 'alt="&lt;img src=x onerror=alert(1)&gt;"' in page
    assert "Content-Security-Policy" in page


def test_markdown_report_escapes_user_strings(evil_run):
    md = render_markdown(build_report(evil_run), images={EVIL: "pareto.png"})
    assert "<img" not in md.replace("\\<img", "")
    assert "</script>" not in md
    # every table row keeps its column count despite the | in a model name
    for block in re.findall(r"((?:^\|.*\|\n)+)", md, flags=re.M):
        rows = block.strip().split("\n")
        counts = {_unescaped(r, "|") for r in rows}
        assert len(counts) == 1, rows


def test_render_run_writes_all_files(tmp_path, evil_run):
    out = tmp_path / "report"
    files = render_run(evil_run, out)
    for name in ("report.md", "report.html", "results.json", "results.csv", "pareto.png", "pareto.svg"):
        assert name in files and (out / name).is_file(), name
        assert files[name].resolve().parent == out.resolve()
    page = (out / "report.html").read_text(encoding="utf-8")
    # self-contained: embedded PNGs, no external references, no script
    imgs = re.findall(r'<img [^>]*src="([^"]+)"', page)
    assert len(imgs) >= 3
    assert all(src.startswith("data:image/png;base64,") for src in imgs)
    assert not re.search(r'(src|href)="(https?:|//|file:)', page)
    assert "<script" not in page.lower()
    png = base64.b64decode(imgs[0].split(",", 1)[1])
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert png == (out / "pareto.png").read_bytes()
    md = (out / "report.md").read_text(encoding="utf-8")
    assert "](pareto.png)" in md
    md = re.sub(r"\\(.)", r"\1", md)  # compare the rendered text
    # the report states environment, protocol, method, Pareto set, leaderboard, warnings
    for needle in (
        "testbox",
        "3.11.7",
        "2.4.6",
        "openblas 0.3.31 (2 threads)",
        "OMP_NUM_THREADS=1",
        "abc123",
        "warmup calls",
        "loops per sample",
        "Benjamini-Hochberg",
        "## Pareto set",
        "Latency Sprint",
        "All-Around",
        "## Warnings",
    ):
        assert needle in md, needle
    assert "Benjamini&ndash;Hochberg" in page


def test_render_run_from_path_and_json_roundtrip(tmp_path, evil_run):
    out = tmp_path / "r2"
    render_run(tmp_path / "results.json", out, plots=False)
    again = load_run(out / "results.json")
    assert again["results"] == evil_run["results"]
    assert again["models"] == evil_run["models"]
    assert again["environment"] == evil_run["environment"]
    raw = json.loads((out / "results.json").read_text())
    assert raw["schema"] == "torchperf.run" and raw["schema_version"] == 2
    assert len(raw["results"]["latency"]["base"]["values"]) == 12  # full samples


def test_figure_names_cannot_escape_output_dir(tmp_path):
    res = {"../../evil/x": {"a": BenchmarkResult("x", [1.0, 1.1, 1.2], {}, unit="s")}}
    path = save_run(tmp_path / "in" / "results.json", res, protocol={"baseline": "a"})
    out = tmp_path / "deep" / "out"
    files = render_run(path, out)
    for p in files.values():
        assert p.resolve().parent == out.resolve(), p
    assert not (tmp_path / "evil").exists()


def test_csv(tmp_path):
    run = make_run(tmp_path, ["base", "=HYPERLINK(\"http://x\")", "+1", "ok"])
    rows = list(csv.DictReader(io.StringIO(csv_text(run))))
    assert len(rows) == 4 * 5
    assert {r["metric"] for r in rows} == {"latency", "throughput", "accuracy", "memory", "size"}
    names = {r["model"] for r in rows}
    assert "'=HYPERLINK(\"http://x\")" in names and "'+1" in names
    lat = next(r for r in rows if r["model"] == "base" and r["metric"] == "latency")
    assert float(lat["ci_low"]) < float(lat["mean"]) < float(lat["ci_high"])
    assert lat["n"] == "12" and lat["unit"] == "s" and lat["direction"] == "lower_is_better"


# --------------------------------------------------------------------------- summary and comparisons


def test_summary_table_has_cis_and_p_values(tmp_path):
    run = make_run(tmp_path, ["base", "fast", "faster"])
    text = summary_table(run)
    lines = text.splitlines()
    assert "95% CI of median" in lines[0] and "p (adj.)" in lines[0]
    lat = [ln for ln in lines if " latency " in ln]
    assert len(lat) == 3
    assert "baseline" in lat[0]
    assert re.search(r"\[\d.*x, \d.*x\]", lat[1]) and "< 0.001" in lat[1] and "improvement" in lat[1]
    assert "Benjamini-Hochberg" in text


def test_comparisons_bh_vs_holm(tmp_path):
    run = make_run(tmp_path, ["base", "fast", "faster"])
    bh = build_report(run)["comparisons"]
    holm = build_report(run, correction="holm")["comparisons"]
    assert {c["correction"] for c in bh} == {"benjamini-hochberg"}
    assert {c["correction"] for c in holm} == {"holm"}
    tested = [c for c in bh if c["p_value"] is not None]
    exact = [c for c in bh if c["method"] == "exact"]
    assert {c["metric"] for c in exact} == {"accuracy", "size"}
    assert all(c["p_adjusted"] is None for c in exact)
    for c_bh, c_h in zip(bh, holm, strict=True):
        if c_bh["p_value"] is not None:
            assert c_bh["p_adjusted"] >= c_bh["p_value"] - 1e-15
            assert c_h["p_adjusted"] >= c_bh["p_adjusted"] - 1e-15  # Holm is more conservative
    assert all(c["family_size"] == len(tested) for c in bh)
    acc = next(c for c in exact if c["metric"] == "accuracy" and c["model"] == "fast")
    assert acc["verdict"] == "regression" and acc["direction"] == "regression"  # 0.94 < 0.95, higher is better


def test_compare_runs_detects_regression(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    names = ["base", "m1"]
    a = save_run(tmp_path / "a" / "results.json", make_results(names, seed=1), environment=ENV)
    b = save_run(
        tmp_path / "b" / "results.json", make_results(names, seed=2, slow_factor=1.3), environment=ENV
    )
    findings = compare_runs(a, b)
    keys = {
        "benchmark", "params", "machine", "env", "commit_before", "commit_after", "ratio",
        "ci_low", "ci_high", "p_value", "direction", "metric_direction", "verdict", "p_adjusted",
    }  # fmt: skip
    assert all(keys <= set(f) for f in findings)
    lat = {f["model"]: f for f in findings if f["metric"] == "latency"}
    assert lat["m1"]["verdict"] == "regression" and lat["m1"]["direction"] == "regression"
    assert 1.2 < lat["m1"]["ratio"] < 1.4 and lat["m1"]["ci_low"] > 1.0
    assert lat["base"]["verdict"] != "regression"
    thr = {f["model"]: f for f in findings if f["metric"] == "throughput"}
    assert thr["m1"]["verdict"] == "regression"  # fewer samples/s is worse
    assert thr["m1"]["metric_direction"] == "higher_is_better"
    assert lat["m1"]["commit_before"] == "abc123" and lat["m1"]["machine"] == "testbox (x86_64)"
    json.dumps(findings)  # JSON-ready (what `torchperf compare --format json` prints)


def test_compare_runs_bad_input(tmp_path):
    p = tmp_path / "x.json"
    p.write_text('{"schema": "torchperf.run", "schema_version": 99}')
    with pytest.raises(ResultsFileError, match="schema_version 99"):
        compare_runs(p, p)


# --------------------------------------------------------------------------- warnings


def test_warnings_cover_instability_failures_warmup_and_partial(tmp_path):
    res = make_results(["base", "noisy"], cv=0.4)
    res["latency"]["warm"] = BenchmarkResult(
        "latency", [1e-3, 1.01e-3, 0.99e-3], {"warmup": {"converged": False}}, unit="s"
    )
    path = save_run(
        tmp_path / "results.json",
        res,
        failures={"broken": {"latency": {"error": "ValueError", "message": "bad <input>"}}},
        warnings_=[{"metric": "latency", "model": "base", "category": "SmallSampleWarning", "message": "n=1"}],
        complete=False,
        interrupted=True,
    )
    run = load_run(path)
    kinds = {(w["kind"], w["model"]) for w in collect_warnings(run)}
    assert ("incomplete", "") in kinds
    assert ("failure", "broken") in kinds
    assert ("unstable", "noisy") in kinds
    assert ("warmup", "warm") in kinds
    assert ("SmallSampleWarning", "base") in kinds
    page = render_html(build_report(run))
    assert "INTERRUPTED" in page and "bad &lt;input&gt;" in page


def test_a_failing_figure_does_not_cost_the_report(tmp_path, monkeypatch):
    from torchperf import plots

    def boom(*args, **kwargs):
        raise ValueError("cannot draw")

    monkeypatch.setattr(plots, "plot_latency_distribution", boom)
    run = make_run(tmp_path, ["base", "fast"])
    with pytest.warns(Warning, match="latency_distribution"):
        files = render_run(run, tmp_path / "out")
    assert "latency_distribution.png" not in files and "pareto.png" in files
    assert "could not be drawn" in files["report.md"].read_text(encoding="utf-8")


def test_small_n_median_interval_is_labelled_with_its_real_coverage(tmp_path):
    """Regression: n = 3 medians were labelled '95% CI' but reach 75%; and warnings were noisy."""
    rng = np.random.default_rng(3)
    res = {
        "latency": {
            name: BenchmarkResult("latency", rng.lognormal(np.log(1e-3), 0.05, 3), unit="s")
            for name in ("a", "b")
        }
    }
    path = save_run(tmp_path / "results.json", res, environment=ENV, protocol={"baseline": "a"})
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no SmallSampleWarning (or any other) while rendering
        files = render_run(load_run(path), tmp_path, plots=False)
    md = files["report.md"].read_text()
    assert r"\(75% only\)" in md and r"n \< 6" in md  # Markdown-escaped
    text = summary_table(load_run(path))
    assert "(75% only)" in text
    # with enough samples the interval has its nominal level and no label
    res12 = {"latency": {"a": BenchmarkResult("latency", rng.lognormal(0, 0.05, 12), unit="s")}}
    path12 = save_run(tmp_path / "r12.json", res12, environment=ENV)
    assert "only)" not in summary_table(load_run(path12))


def test_markdown_escaping_of_hostile_names():
    for name in ("a|b", "*bold*", "_it_", "`code`", "<b>", "[x](http://e)", "l1\nl2", "x\r\n# h"):
        out = markdown_escape(name)
        assert "\n" not in out and "\r" not in out
        for ch in "|*_`<>[]":
            assert ch not in out.replace("\\" + ch, ""), (name, out)
    res = make_results(["a|b\n# evil", "*x*"])
    md = render_markdown(build_report({"schema": "torchperf.run", "schema_version": 1, "results": res}))
    table_rows = [ln for ln in md.splitlines() if ln.startswith("| a\\|")]
    assert len(table_rows) >= 5  # a summary row per metric (+ Pareto), the name in one cell
    assert all(ln.startswith(r"| a\|b \# evil |") for ln in table_rows)
    assert "\n# evil" not in md


def test_not_applicable_metrics_show_na_and_are_not_pending():
    res = make_results(["a", "gen"])
    del res["accuracy"]["gen"]
    run = {"schema": "torchperf.run", "schema_version": 1, "results": res, "complete": True,
           "not_applicable": {"accuracy": {"gen": "task 'generation' is not classification"}}}  # fmt: skip
    data = build_report(run)
    assert data["pending"] == []
    md = render_markdown(data)
    row = [ln for ln in md.splitlines() if ln.startswith("| gen | accuracy")]
    assert row and "n/a" in row[0] and "not applicable" in row[0]
    html = render_html(data)
    assert "not applicable: task &#x27;generation&#x27; is not classification" in html
