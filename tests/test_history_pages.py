"""torchperf's published pages: content, escaping, links, file names, asv integration, offline assets.

The synthetic zoo history comes from ``tools/check_site.py`` (``make_demo_history``:
seeded values, model names that try HTML/JS injection); the real asv history
is ``tests/data/asv-history`` (written by asv itself, with known injected steps).
"""

from __future__ import annotations

import base64
import hashlib
import html.parser
import io
import json
import re
import shutil
import tarfile
import warnings
from pathlib import Path

import pytest
from tooling import load_tool

from torchperf.errors import InvalidParameterError, MissingDependencyError, ResultsFileError

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT / "tests" / "data" / "asv-history"
EVIL = "<img src=x onerror=alert(1)>"
EVIL2 = "m</script><script>alert(2)</script>"


def _asv_index_html() -> str:
    import asv

    return (Path(asv.__file__).parent / "www" / "index.html").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """A synthetic zoo history (one environment, 4 commits) and its pages (built once)."""
    from torchperf.history import load_results
    from torchperf.site.pages import build_pages

    root = tmp_path_factory.mktemp("pages")
    repo = load_tool("check_site").make_demo_history(root / "repo", commits=4, environments=1, regress_at=2)
    df = load_results(repo / "results")
    out = root / "html" / "torchperf"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        files = build_pages(
            df, out, pareto_revisions=1, history_revisions=2, error_rate_examples=360, torchperf_version="9.9.9"
        )
    return {"repo": repo, "df": df, "out": out, "files": files}


class _Links(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.refs: list[str] = []
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag, attrs):
        d = dict(attrs)
        self.tags.append((tag, d))
        for key in ("href", "src"):
            if d.get(key):
                self.refs.append(d[key])


def _parse(path: Path) -> _Links:
    p = _Links()
    p.feed(path.read_text(encoding="utf-8"))
    return p


# --------------------------------------------------------------------------- pages


def test_pages_written(demo):
    out = demo["out"]
    names = {p.name for p in out.glob("*.html")}
    assert {"index.html", "regressions.html", "environments.html", "pareto-history.html"} <= names
    pareto = [n for n in names if n.startswith("pareto-") and n != "pareto-history.html"]
    assert len(pareto) == 1  # pareto_revisions=1
    latest = demo["df"].sort_values("revision")["commit"].iloc[-1]
    assert pareto[0].startswith(f"pareto-{latest[:8]}-")
    assert demo["files"][0] == out / "index.html"
    assert "<td>torchperf</td><td>9.9.9</td>" in (out / "index.html").read_text(encoding="utf-8")  # passed in
    manifest = json.loads((out / "manifest.json").read_text())
    assert sorted(manifest["files"]) == sorted(p.relative_to(out).as_posix() for p in demo["files"])


def test_injected_names_are_escaped_everywhere(demo):
    out = demo["out"]
    seen_escaped = 0
    for page in out.glob("*.html"):
        text = page.read_text(encoding="utf-8")
        assert EVIL not in text, page.name
        assert "</script><script>" not in text, page.name
        assert re.search(r"<[a-z]+[^>]*\son[a-z]+\s*=", text, re.I) is None, page.name
        # a script is impossible even if an escape were missed: CSP forbids scripts ...
        assert "default-src 'none'" in text
        if page.name == "pareto-history.html":
            # ... except, on the explorer page, the packaged file (no inline code runs: no 'unsafe-inline')
            scripts = [a for t, a in _parse(page).tags if t == "script"]
            assert scripts == [
                {"type": "application/json", "id": "tp-pareto-data"}, {"src": "assets/pareto-explorer.js"},
            ], scripts
            assert "script-src 'self';" in text and "unsafe-inline'; base" in text
            assert text.count("<script") == 2 and text.count("</script>") == 2
        else:
            assert "<script" not in text.lower(), page.name
            assert "script-src" not in text
        if html.escape(EVIL) in text:
            seen_escaped += 1
    assert seen_escaped >= 2  # Pareto and environment pages show the model names as text
    pareto = next(p for p in out.glob("pareto-*.html") if p.name != "pareto-history.html")
    text = pareto.read_text(encoding="utf-8")
    assert html.escape(EVIL, quote=True) in text
    assert html.escape(EVIL2, quote=True) in text
    parsed = _parse(pareto)
    assert not [t for t, _ in parsed.tags if t == "script"]
    assert all(not k.startswith("on") for _, a in parsed.tags for k in a)


def test_links_resolve_and_file_names_are_safe(demo):
    out = demo["out"]
    (out.parent / "index.html").write_text("asv")  # what ../index.html points at
    for page in out.glob("*.html"):
        for ref in _parse(page).refs:
            if ref.startswith("data:"):
                continue
            assert not re.match(r"^[a-z]+:", ref), (page.name, ref)  # no external URLs
            target = (page.parent / ref).resolve()
            assert target.is_file(), (page.name, ref)
    for f in demo["files"]:
        assert out.resolve() in f.resolve().parents
        assert re.fullmatch(r"[A-Za-z0-9._-]+", f.name), f.name
    imgs = list((out / "img").iterdir())
    assert any(p.suffix == ".png" for p in imgs) and any(p.suffix == ".svg" for p in imgs)
    for p in imgs:
        if p.suffix == ".png":
            assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_pareto_page_values_and_frontier(demo):
    from torchperf.site.pages import pareto_data
    from torchperf.zoo import digits_test_examples

    df = demo["df"]
    latest = df.sort_values("revision")["commit"].iloc[-1]
    data = pareto_data(df, latest[:10], error_rate_examples=digits_test_examples())
    assert data.commit == latest and data.batch == "1"
    assert set(data.latency) == {"mlp", "mlp-int8", "cnn-im2col", EVIL, EVIL2}
    assert data.confidence_level == 0.95 and "order-statistic" in data.ci_source
    for est in data.latency.values():
        assert est.ci_low <= est.value <= est.ci_high and est.unit == "s" and est.count == 8
    # error rates: k / 360 with Wilson intervals over the zoo's test split
    for est in data.error_rate.values():
        assert est.unit == "%" and est.ci_low < est.value < est.ci_high
    assert data.error_rate_examples == 360
    # without a test-set size (site/ no longer asks the zoo): no interval
    assert all(e.ci_low == e.value == e.ci_high for e in pareto_data(df, latest).error_rate.values())
    with pytest.raises(InvalidParameterError, match="digits_test_examples"):
        pareto_data(df, latest, error_rate_examples="auto")
    assert data.peak_memory["mlp"].value == 40_000 * 5  # batch 1
    # batch 32 is selectable; an unknown one is an error
    assert pareto_data(df, latest, batch=32).peak_memory["mlp"].value == 40_000 * 5 * 32
    with pytest.raises(InvalidParameterError, match="batch"):
        pareto_data(df, latest, batch=7)
    with pytest.raises(InvalidParameterError, match="matches no commit"):
        pareto_data(df, "ffffffff")


def test_revision_pareto_figure(demo, tmp_path):
    from torchperf.site.pages import revision_pareto_figure

    df = demo["df"]
    first = df.sort_values("revision")["commit"].iloc[0]
    paths = revision_pareto_figure(df, first[:8], tmp_path / "pareto.png")
    assert [p.name for p in paths] == ["pareto.png", "pareto.svg", "pareto-memory.png", "pareto-memory.svg"]
    for p in paths:
        assert p.stat().st_size > 1000
    with pytest.raises(InvalidParameterError):
        revision_pareto_figure(df, "0000000", tmp_path / "x.png")


def test_cli_pareto_format_json(demo, tmp_path, capsys):
    import json

    from torchperf import cli

    first = demo["df"].sort_values("revision")["commit"].iloc[0]
    argv = ["pareto", "--results-dir", str(demo["repo"] / "results"), "--revision", first[:8],
            "--output", str(tmp_path / "p.png"), "--format", "json"]  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert cli.main(argv) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["revision"] == first and doc["files"][0] == str(tmp_path / "p.png")


def test_regressions_page_on_real_asv_history(tmp_path):
    """The checked-in history (real asv run, injected steps): change points shown with commits."""
    from torchperf.site.pages import publish

    truth = json.loads((FIXTURE / "truth.json").read_text())
    html_dir = tmp_path / "html"
    html_dir.mkdir()
    (html_dir / "index.html").write_text(_asv_index_html())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        page = publish(html_dir=html_dir, results_dir=FIXTURE / "results", conf_path=FIXTURE / "asv.conf.json")
    assert page == html_dir
    text = (html_dir / "torchperf" / "regressions.html").read_text()
    step = truth["steps"]["benchmarks.Steps.time_regress"][0]
    first_bad = truth["commits"][step["first_bad"]]
    last_good = truth["commits"][step["first_bad"] - 1]
    rows = re.findall(r"<tr[^>]*>(?:(?!</tr>).)*benchmarks\.Steps\.time_regress(?:(?!</tr>).)*</tr>", text, re.S)
    hit = [r for r in rows if f'title="{first_bad}"' in r and f'title="{last_good}"' in r]
    assert len(hit) == 1, rows
    assert 'class="regression"' in hit[0] and "b-code" in hit[0]
    assert re.search(r"1\.\d{3}×", hit[0])  # the ratio is shown
    # no zoo benchmarks in this history: no per-revision Pareto page, said so on the hub
    hub = (page / "torchperf" / "index.html").read_text()
    assert "no Pareto pages" in hub
    # the nav link was injected into asv's index.html exactly once
    index = (html_dir / "index.html").read_text()
    assert index.count('id="nav-li-torchperf"') == 1
    assert '<a href="torchperf/index.html">torchperf</a>' in index


def test_publish_needs_asv_site(tmp_path):
    from torchperf.site.pages import publish

    with pytest.raises(ResultsFileError, match=r"run `asv publish` first"):
        publish(html_dir=tmp_path / "nope", results_dir=FIXTURE / "results", conf_path=tmp_path / "none.json")
    with pytest.raises(ResultsFileError, match=r"asv.conf.json|asv configuration"):
        publish(conf_path=tmp_path / "asv.conf.json")
    with pytest.raises(InvalidParameterError, match="offline"):
        publish(html_dir=tmp_path, results_dir=FIXTURE / "results", offline="yes")  # type: ignore[arg-type]


def test_publish_paths_from_asv_conf(tmp_path):
    """html_dir / results_dir default to asv.conf.json's, relative to the file."""
    from torchperf.site.pages import publish

    proj = tmp_path / "proj"
    shutil.copytree(FIXTURE / "results", proj / "res")
    conf = json.loads((FIXTURE / "asv.conf.json").read_text())
    conf.update(results_dir="res", html_dir="site")
    (proj / "asv.conf.json").write_text("// comment, as asv allows\n" + json.dumps(conf))
    (proj / "site").mkdir()
    (proj / "site" / "index.html").write_text(_asv_index_html())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        page = publish(conf_path=proj / "asv.conf.json")
    assert page == proj / "site"
    assert "benchmarks.Steps.time_drift: 0.1" in (proj / "site" / "torchperf" / "regressions.html").read_text()


def test_inject_nav_link(tmp_path):
    from torchperf.site.pages import inject_nav_link

    index = tmp_path / "index.html"
    index.write_text(_asv_index_html())
    assert inject_nav_link(index) is True
    assert inject_nav_link(index) is False  # idempotent
    text = index.read_text()
    assert text.count("nav-li-torchperf") == 1
    nav = text[text.index('<nav id="nav"') : text.index("</nav>")]
    assert nav.index("nav-li-regressions") < nav.index("nav-li-torchperf") < nav.index("nav-li-graphdisplay")
    bad = tmp_path / "other.html"
    bad.write_text("<html><body>no nav</body></html>")
    with pytest.raises(ResultsFileError, match="navigation"):
        inject_nav_link(bad)
    with pytest.raises(ResultsFileError, match="asv publish"):
        inject_nav_link(tmp_path / "missing.html")


def test_stale_pages_are_removed(tmp_path):
    from torchperf.site.pages import _write_manifest

    out = tmp_path / "torchperf"
    out.mkdir()
    (out / "old.html").write_text("x")
    (out / "keep.html").write_text("y")
    outside = tmp_path / "outside.html"
    outside.write_text("z")
    _write_manifest(out, [out / "keep.html"], ["old.html", "keep.html", "../outside.html"])
    assert not (out / "old.html").exists() and (out / "keep.html").exists() and outside.exists()


# --------------------------------------------------------------------------- offline assets


def _fake_tarball(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        for name, data in members.items():
            info = tarfile.TarInfo(f"package/{name}")
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def _integrity(data: bytes) -> str:
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()


def test_vendor_rewrites_every_cdn_tag(tmp_path, monkeypatch):
    from torchperf.site import offline

    def fake_fetch(name, version, **kw):
        members = {a.member: f"/* {name} {a.member} */".encode() for a in offline.ASSETS if a.package == name}
        for a in offline.ASSETS:
            if a.package == name:
                members.update({m: b"font" for m in a.extra})
        return _fake_tarball(members)

    monkeypatch.setattr(offline, "fetch_package", fake_fetch)
    (tmp_path / "index.html").write_text(_asv_index_html())
    files = offline.vendor_asv_assets(tmp_path)
    text = (tmp_path / "index.html").read_text()
    assert not re.search(r'(src|href)="https?://(?!github\.com)', text)  # only asv's GitHub link stays
    for a in offline.ASSETS:
        assert f'"{a.dest}"' in text
        data = (tmp_path / a.dest).read_bytes()
        sri = "sha384-" + base64.b64encode(hashlib.sha384(data).digest()).decode()
        tag = next(t for t in re.findall(r"<(?:script|link)[^>]*>", text) if a.dest in t)
        assert f'integrity="{sri}"' in tag
    assert (tmp_path / "vendor/bootstrap-3.1.1/dist/fonts/glyphicons-halflings-regular.woff").is_file()
    assert len(files) == len({a.dest for a in offline.ASSETS}) + 4
    assert offline.vendor_asv_assets(tmp_path) == []  # second run: nothing left to rewrite
    assert (tmp_path / "index.html").read_text() == text


def test_vendor_refuses_unknown_cdn_file(tmp_path, monkeypatch):
    from torchperf.site import offline

    monkeypatch.setattr(offline, "fetch_package", lambda *a, **k: pytest.fail("must not fetch"))
    (tmp_path / "index.html").write_text(
        '<html><head><script src="https://cdn.example.invalid/lib-9.js"></script></head></html>'
    )
    with pytest.raises(MissingDependencyError, match=r"does not\s+know"):
        offline.vendor_asv_assets(tmp_path)


def test_fetch_package_verifies_and_caches(tmp_path, monkeypatch):
    """A local registry: metadata + tarball checked against the pinned sha512, cached, re-verified."""
    import functools
    import http.server
    import threading

    from torchperf.site import offline

    good = _fake_tarball({"dist/x.js": b"var x = 1;"})
    evil = _fake_tarball({"dist/x.js": b"alert(1)"})
    monkeypatch.setitem(offline.NPM_PACKAGES, ("demo-pkg", "1.0.0"), _integrity(good))
    serve_dir = tmp_path / "registry"
    (serve_dir / "demo-pkg").mkdir(parents=True)
    (serve_dir / "demo-pkg" / "good.tgz").write_bytes(good)
    (serve_dir / "demo-pkg" / "evil.tgz").write_bytes(evil)
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(serve_dir))
    handler.log_message = lambda *a: None  # type: ignore[method-assign]
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{httpd.server_address[1]}"
    cache = tmp_path / "cache"
    try:
        meta = serve_dir / "demo-pkg" / "1.0.0"
        # the registry reports another integrity than the pinned one: refused
        meta.write_text(json.dumps({"dist": {"integrity": _integrity(evil), "tarball": f"{base}/demo-pkg/evil.tgz"}}))
        with pytest.raises(MissingDependencyError, match="refusing"):
            offline.fetch_package("demo-pkg", "1.0.0", registry=base, cache=cache)
        # metadata right but the tarball altered: refused
        meta.write_text(json.dumps({"dist": {"integrity": _integrity(good), "tarball": f"{base}/demo-pkg/evil.tgz"}}))
        with pytest.raises(MissingDependencyError, match="altered"):
            offline.fetch_package("demo-pkg", "1.0.0", registry=base, cache=cache)
        assert not (cache / "demo-pkg-1.0.0.tgz").exists()
        meta.write_text(json.dumps({"dist": {"integrity": _integrity(good), "tarball": f"{base}/demo-pkg/good.tgz"}}))
        assert offline.fetch_package("demo-pkg", "1.0.0", registry=base, cache=cache) == good
    finally:
        httpd.shutdown()
        httpd.server_close()
    # served from the cache with the registry gone
    dead = "http://127.0.0.1:9"
    assert offline.fetch_package("demo-pkg", "1.0.0", registry=dead, cache=cache) == good
    # a corrupted cache entry is not used
    (cache / "demo-pkg-1.0.0.tgz").write_bytes(b"garbage")
    with pytest.raises(MissingDependencyError, match="cannot fetch"):
        offline.fetch_package("demo-pkg", "1.0.0", registry=dead, cache=cache, timeout_s=5)
    with pytest.raises(MissingDependencyError, match="not one torchperf vendors"):
        offline.fetch_package("left-pad", "1.0.0", cache=cache)


def test_cache_dir_honours_env(tmp_path, monkeypatch):
    from torchperf.site.offline import cache_dir

    monkeypatch.setenv("TORCHPERF_CACHE_DIR", str(tmp_path / "c"))
    assert cache_dir() == tmp_path / "c" / "npm"
    monkeypatch.delenv("TORCHPERF_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "x"))
    assert cache_dir() == tmp_path / "x" / "torchperf" / "npm"


def test_asv_plugin_is_a_publisher():
    from asv.publishing import OutputPublisher

    from torchperf.site.asv_plugin import TorchperfPages

    assert issubclass(TorchperfPages, OutputPublisher)
    assert TorchperfPages.order == float("inf")


def test_dollar_in_model_name_is_not_mathtext(tmp_path):
    """A model name with ``$...$`` (invalid mathtext) still renders as literal text."""
    from torchperf.pareto import Estimate
    from torchperf.plots import save_figure
    from torchperf.site.pages import ParetoData, _figure

    def est(v: float, unit: str) -> Estimate:
        return Estimate(v, v * 0.9, v * 1.1, 0.0, 1, (v,), True, unit)

    names = ["$\\notacommand{$", "ok"]
    data = ParetoData(
        commit="a" * 40, machine="m", env="e", batch=None,
        latency={n: est(1e-3 * (i + 1), "s") for i, n in enumerate(names)},
        error_rate={n: est(5.0 - i, "%") for i, n in enumerate(names)},
        peak_memory={}, confidence_level=0.95, ci_source="test", error_rate_examples=None,
        provenance={"env_label": "e"},
    )
    fig = _figure(data, "error_rate")
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert "\\$\\notacommand{\\$" in texts
    (png,) = save_figure(fig, tmp_path / "f", formats=("png",))
    assert png.stat().st_size > 1000


def test_regressions_page_shows_status_and_cause_open_code_regressions_first(tmp_path):
    """regressions.html uses history.verdicts: open code regressions in the first table (as
    `torchperf regressions`), fixed ones (with the fixing commit), improvements,
    environment-caused changes and broad shifts in a collapsed section (as `--all`)."""
    import numpy as np
    import pandas as pd

    from torchperf.history.verdicts import assess_history, select_verdicts
    from torchperf.site.pages import build_pages

    def commit(i: int) -> str:
        return f"{i:02x}" + "c0ffee" * 6 + "ab"

    def frame(series, *, env="e", **extra):
        return pd.DataFrame([
            {"machine": "m", "env_name": env, "benchmark": name, "params": (), "param_str": "",
             "commit": commit(i), "revision": i, "value": float(v),
             "date": pd.Timestamp("2024-01-01", tz="UTC") + pd.Timedelta(days=i), "lower_is_better": True,
             "unit": "seconds", "env_params": (("cpu", "x"),), **{k: f(i) for k, f in extra.items()}}
            for name, vals in series.items() for i, v in enumerate(vals)])

    rng = np.random.default_rng(5)

    def noisy():
        return 1e-3 * np.exp(rng.normal(0, 0.01, 60))

    step, bump, imp, env = noisy(), noisy(), noisy(), noisy()
    step[40:] *= 1.25      # open code regression at 40
    bump[20:32] *= 1.3     # regression at 20, fixed at 32
    imp[25:] /= 1.3        # improvement
    env[30:] *= 1.3        # NumPy changed at 30 in environment e2
    broad = {f"g{j}.G{j}.time_x": noisy() for j in range(5)}
    for y in broad.values():
        y[50:] *= 1.2      # five unrelated groups move together at 50
    df = pd.concat([
        frame({"a.A.time_step": step, "b.B.time_bump": bump, "c.C.time_imp": imp, **broad}),
        frame({"d.D.time_env": env}, env="e2", numpy_version=lambda i: "1.26" if i < 30 else "2.1"),
    ], ignore_index=True)
    verdicts = assess_history(df)
    assert {(v.benchmark, v.status, v.cause) for v in select_verdicts(verdicts)} == {("a.A.time_step", "open", "code")}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        build_pages(df, tmp_path)
    text = (tmp_path / "regressions.html").read_text()
    first, rest = text.split("<details>", 1)
    first = first[first.index("<h2>Open code regressions (1)</h2>"):]
    rows = re.findall(r"<tr class=[^>]*>.*?</tr>", first, re.S)
    assert len(rows) == 1 and "a.A.time_step" in rows[0] and "b-open" in rows[0] and "b-code" in rows[0]
    assert "&rarr; 1.2" in rows[0] and ">q<" in first and ">p<" not in first
    details = rest[:rest.index("</details>")]
    others = {re.search(r"<code>([^<]+)</code>", r).group(1): r
              for r in re.findall(r"<tr class=[^>]*>.*?</tr>", details, re.S) if "b-regression" in r}
    fixed = others["b.B.time_bump"]
    assert 'class="fixed"' in fixed and "b-fixed" in fixed and f'title="{commit(32)}"' in fixed
    assert "b-environment" in others["d.D.time_env"] and "numpy_version: 1.26 &rarr; 2.1" in others["d.D.time_env"]
    assert all("b-broad-shift" in others[b] and "benchmark groups moved" in others[b] for b in broad)
    assert "c.C.time_imp" in details and "b-improvement" in details
    summary = re.search(r"<summary>([^<]+)</summary>", rest).group(1)
    assert "1 fixed regression" in summary and "1 environment-caused" in summary and "5 broad shifts" in summary
    hub = (tmp_path / "index.html").read_text()
    assert "(1 open)" in hub
