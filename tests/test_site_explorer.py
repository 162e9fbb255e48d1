"""The interactive "Pareto fronts across revisions" page (issue 18, Done-when 3).

Unit tests of the compact JSON payload (:func:`torchperf.site.explorer.pareto_history_payload`):
every value and interval decodes to what :func:`torchperf.site.pages.pareto_data` gives for
that revision, and every front status is :func:`torchperf.pareto.pareto_front`'s. Then the
page in headless Chromium from ``file://`` with every network request blocked: the slider
moved with the keyboard, a point hovered and focused, the tooltip read.
"""

from __future__ import annotations

import decimal
import html
import json
import math
import re
import warnings
from pathlib import Path

import pytest
from tooling import load_tool

from torchperf.errors import InvalidParameterError

ROOT = Path(__file__).resolve().parents[1]
EVIL = "<img src=x onerror=alert(1)>"
EVIL2 = "m</script><script>alert(2)</script>"


@pytest.fixture(scope="module")
def history(tmp_path_factory):
    """A synthetic zoo history: 6 commits, 2 environments, a 30% step of mlp-int8 at commit 3."""
    from torchperf.history import load_results

    root = tmp_path_factory.mktemp("explorer")
    repo = load_tool("check_site").make_demo_history(root / "repo", commits=6, environments=2, regress_at=3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        df = load_results(repo / "results")
    return df


@pytest.fixture(scope="module")
def payload(history):
    from torchperf.site.explorer import pareto_history_payload

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pareto_history_payload(history, error_rate_examples=360)


def _rows(payload, s, k):
    return range(s["offset"][k], s["offset"][k + 1])


# --------------------------------------------------------------------------- payload


def test_payload_is_columnar_and_dictionary_encoded(payload, history):
    order = history.drop_duplicates("commit").sort_values("revision")["commit"].tolist()
    assert payload["schema"] == "torchperf.pareto_explorer" and payload["schema_version"] == 1
    assert payload["commits"] == order  # oldest first
    assert payload["dates"][0] == "2026-03-01 12:00"
    assert payload["models"] == ["mlp", "mlp-int8", "cnn-im2col", EVIL, EVIL2]
    assert len(payload["series"]) == 2  # two environments
    for s in payload["series"]:
        assert s["rev"] == list(range(6))
        n = s["offset"][-1]
        assert s["offset"] == sorted(s["offset"]) and len(s["offset"]) == len(s["rev"]) + 1
        assert len(s["cl"]) == len(s["rev"])
        cols = [k for k, v in s.items() if isinstance(v, list) and k not in ("rev", "offset", "cl")]
        assert set(cols) == {"model", "latency", "latency_lo", "latency_hi", "error_rate", "error_rate_lo",
                             "error_rate_hi", "peak_memory", "status_error_rate", "status_peak_memory"}
        # peak memory is exact here: its bounds, null in every row, are left out
        assert all(len(s[c]) == n for c in cols)
        assert all(isinstance(m, int) for m in s["model"])  # names only in the dictionary
    assert json.loads(json.dumps(payload, allow_nan=False)) == payload


def test_payload_values_and_intervals_match_pareto_data(payload, history):
    from torchperf.site.pages import pareto_data

    scale = {m: payload["metrics"][m]["scale"] for m in ("latency", "error_rate", "peak_memory")}
    assert payload["metrics"]["latency"]["unit"] == "s" and payload["metrics"]["peak_memory"]["unit"] == "B"
    checked = 0
    for s in payload["series"]:
        for k, ci in enumerate(s["rev"]):
            commit = payload["commits"][ci]
            d = pareto_data(history, commit, machine=s["machine"], env=s["env"], error_rate_examples=360)
            assert s["batch"] == d.batch and s["cl"][k] == d.confidence_level
            rows = list(_rows(payload, s, k))
            assert sorted(payload["models"][s["model"][r]] for r in rows) == sorted(d.latency)
            for r in rows:
                name = payload["models"][s["model"][r]]
                for metric in ("latency", "error_rate", "peak_memory"):
                    est = getattr(d, metric)[name]
                    v, lo, hi = (s.get(metric + suf, [None] * (r + 1))[r] for suf in ("", "_lo", "_hi"))
                    assert v * scale[metric] == pytest.approx(est.value, rel=6e-4)
                    if est.ci_low == est.value == est.ci_high:
                        assert lo is None and hi is None  # exact: no interval
                    else:
                        assert lo * scale[metric] == pytest.approx(est.ci_low, rel=6e-4)
                        assert hi * scale[metric] == pytest.approx(est.ci_high, rel=6e-4)
                        assert lo <= v <= hi
                    checked += 1
    assert checked == 2 * 6 * 5 * 3
    # the intervals are real: latency from the raw samples, error rate Wilson over 360 examples
    s = payload["series"][0]
    assert all(lo is not None and lo < v < hi for lo, v, hi in zip(s["latency_lo"], s["latency"], s["latency_hi"], strict=True))
    assert all(lo is not None for lo in s["error_rate_lo"]) and "peak_memory_lo" not in s


def test_payload_front_status_matches_pareto_front(payload, history):
    from torchperf.pareto import pareto_front
    from torchperf.site.pages import _directions, pareto_data

    codes = payload["status_codes"]
    assert codes == ["frontier", "tied", "dominated"] and payload["status_method"] == "overlap"
    seen = set()
    for s in payload["series"]:
        for k, ci in enumerate(s["rev"]):
            d = pareto_data(history, payload["commits"][ci], machine=s["machine"], env=s["env"], error_rate_examples=360)
            for metric in ("error_rate", "peak_memory"):
                pairs = d.pairs(metric)
                pr = pareto_front(pairs, _directions(metric), objectives=("latency", metric),
                                  confidence_level=d.confidence_level, method="overlap")
                auto = pareto_front(pairs, _directions(metric), objectives=("latency", metric),
                                    confidence_level=d.confidence_level)
                got = {payload["models"][s["model"][r]]: codes[s["status_" + metric][r]] for r in _rows(payload, s, k)}
                assert got == {m: pr.status(m) for m in pr.names}
                # frontier membership does not depend on how ties are judged
                assert {m for m, st in got.items() if st == "frontier"} == set(auto.members)
                seen |= set(got.values())
    assert seen == {"frontier", "dominated"} or seen == {"frontier", "tied", "dominated"}


def test_payload_missing_values_are_null(history):
    """A model without an error rate at one revision: null value, null status on that front."""
    from torchperf.site.explorer import pareto_history_payload

    first = history.sort_values("revision")["commit"].iloc[0]
    drop = (history["commit"] == first) & history["benchmark"].str.contains("error_rate") & history["params"].map(
        lambda p: p[0] == repr("mlp")
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        p = pareto_history_payload(history[~drop], error_rate_examples=360)
    for s in p["series"]:
        rows = {p["models"][s["model"][r]]: r for r in range(s["offset"][0], s["offset"][1])}
        r = rows["mlp"]
        assert s["error_rate"][r] is None and s["error_rate_lo"][r] is None and s["status_error_rate"][r] is None
        assert s["latency"][r] is not None and s["status_peak_memory"][r] is not None
        r2 = rows["mlp-int8"]
        assert s["status_error_rate"][r2] == 0  # mlp gone: mlp-int8 is now the fastest with an error rate


def test_payload_json_cannot_break_out_of_its_script_block(payload):
    from torchperf.site.explorer import explorer_html, payload_json

    text = payload_json(payload)
    assert "<" not in text and ">" not in text and "&" not in text
    assert json.loads(text) == payload  # the escapes are JSON escapes: same strings
    page = explorer_html(payload, "assets/pareto-explorer.js")
    assert page.count("<script") == 2 and page.count("</script>") == 2
    assert re.search(r"<[a-z]+[^>]*\son[a-z]+\s*=", page, re.I) is None  # no tag with a handler


def test_payload_rejects_bad_arguments(history):
    from torchperf.site.explorer import pareto_history_payload

    with pytest.raises(InvalidParameterError, match="digits"):
        pareto_history_payload(history, digits=1)
    with pytest.raises(InvalidParameterError, match="latency benchmark"):
        pareto_history_payload(history[~history["benchmark"].str.contains("latency")])


def test_payload_digits_bound_the_rounding(history):
    from torchperf.site.explorer import pareto_history_payload

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        p6 = pareto_history_payload(history, digits=6)
        p3 = pareto_history_payload(history, digits=3)
    for a, b in zip(p6["series"][0]["latency"], p3["series"][0]["latency"], strict=True):
        assert b == pytest.approx(a, rel=5e-3) and len(repr(b).replace(".", "")) <= 4
    assert len(json.dumps(p3)) < len(json.dumps(p6))


def test_asset_is_packaged_and_self_contained():
    from torchperf.site.explorer import ASSET_JS, asset_text

    js = re.sub(r"/\*.*?\*/", "", asset_text(ASSET_JS), flags=re.S)  # the code, not its comments
    assert "tp-pareto-data" in js and "textContent" in js
    # no network, no dynamic code, no HTML parsing of data
    for banned in ("fetch(", "XMLHttpRequest", "eval(", "new Function", "innerHTML", "outerHTML",
                   "insertAdjacentHTML", "document.write", "http://", "https://", "import("):
        if banned == "http://":
            assert js.count(banned) == 1 and "http://www.w3.org/2000/svg" in js  # the SVG namespace only
            continue
        assert banned not in js, banned


# --------------------------------------------------------------------------- the page in Chromium


@pytest.fixture(scope="module")
def page(history, tmp_path_factory):
    from torchperf.site.pages import build_pages

    out = tmp_path_factory.mktemp("explorer-site") / "torchperf"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        build_pages(history, out, pareto_revisions=1, history_revisions=2, error_rate_examples=360)
    return out / "pareto-history.html"


def test_page_embeds_payload_and_keeps_a_static_fallback(page, payload):
    text = page.read_text(encoding="utf-8")
    block = re.search(r'<script type="application/json" id="tp-pareto-data">(.*?)</script>', text, re.S)
    assert block is not None and json.loads(block.group(1)) == payload
    assert (page.parent / "assets" / "pareto-explorer.js").is_file()
    assert '<div id="tp-explorer" class="tp-explorer" hidden>' in text  # shown by the script only
    # no JavaScript: the latest values in tables and the small multiples as images
    static = text.split("<h2>Static view</h2>", 1)[1]
    assert static.count("<table>") == 2 and static.count("<img ") == 4
    assert html.escape(EVIL, quote=True) in static


@pytest.fixture(scope="module")
def explored(page, payload):
    tool = load_tool("check_site")
    exe = tool.find_chromium()
    if exe is None:
        pytest.skip("Chromium not installed; run tools/install-chromium.sh")
    browser = tool.CdpPipe(exe, tool.CHROMIUM_FLAGS, window_size=(1300, 1000), timeout_s=60,
                           profile_prefix="torchperf-explorer-test-")
    try:
        browser.attach_new_page(("Page", "Runtime", "Log", "Network"))
        seen = tool.explore(browser, page.as_uri(), hover_model="mlp")
    finally:
        browser.close()
    return tool, seen


@pytest.mark.browser
@pytest.mark.slow
def test_explorer_steps_with_keys_and_shows_tooltips(explored, payload):
    tool, seen = explored
    assert seen["loaded"] and seen["ready"], seen
    commits = payload["commits"]
    n = len(commits)
    assert seen["initial"]["revision"] == commits[-1] and seen["initial"]["slider"] == n - 1
    assert seen["initial"]["label"].startswith(f"revision {n} / {n}: {commits[-1][:8]}")
    assert seen["initial"]["points"] == 2 * 5 and seen["initial"]["faint"] == 2 * 5  # previous revision faint
    assert seen["after_left"]["revision"] == commits[-2] and seen["after_left"]["slider"] == n - 2
    assert seen["after_left"]["active"] == "tp-rev"  # the slider itself took the key
    assert seen["after_right"]["revision"] == commits[-1]  # the page-wide arrow keys
    assert seen["after_home"]["revision"] == commits[0] and seen["after_home"]["faint"] == 0
    assert seen["after_end"]["revision"] == commits[-1]
    assert seen["after_steps"]["revision"] == commits[0]  # 50 steps left stop at the first revision
    # the other environment at the same revision
    assert seen["series_count"] == 2
    assert seen["after_series"]["revision"] == commits[-1] and "numpy 2.4.6" in seen["after_series"]["series"]

    # the tooltip of mlp at the latest revision: model, revision, values and CIs as the payload has them
    s = payload["series"][0]
    k = len(s["rev"]) - 1
    r = next(r for r in range(s["offset"][k], s["offset"][k + 1]) if payload["models"][s["model"][r]] == "mlp")
    tip = seen["hovered"]["tip"].split("\n")
    assert not seen["hovered"]["tip_hidden"]
    assert tip[0] == "mlp"
    assert tip[1] == f"revision {commits[-1][:8]} ({payload['dates'][-1]})"

    def sig3(x: float) -> str:
        """JavaScript's Number(x.toPrecision(3)): the exact double, ties rounded up."""
        d = decimal.Decimal(x)
        q = decimal.Decimal(1).scaleb(d.adjusted() - 2)
        return format(float(d.quantize(q, rounding=decimal.ROUND_HALF_UP)), "g")

    lat = [sig3(s[c][r] * 1e-6 / 1e-6) + " µs" for c in ("latency", "latency_lo", "latency_hi")]
    assert tip[2] == f"latency: {lat[0]} [{lat[1]}, {lat[2]}]"
    assert tip[3].startswith(f"error rate: {sig3(s['error_rate'][r])} % [")
    assert tip[4] == f"CI: {round(100 * s['cl'][k])} %"
    assert tip[5] == "front: " + payload["status_codes"][s["status_error_rate"][r]]
    assert seen["after_leave"]["tip_hidden"]
    # keyboard focus shows the tooltip too; injected names are shown as text
    assert not seen["focused"]["tip_hidden"] and seen["focused"]["tip"].split("\n")[0] in payload["models"]
    assert math.isfinite(seen["step_ms"]) and math.isfinite(seen["render_ms"])

    # nothing left the machine, nothing failed
    problems = tool._problems_of(seen["events"], "file://")
    assert problems["console_errors"] == [] and problems["dialogs"] == []
    assert problems["external_requests"] == []
    urls = [e["params"]["request"]["url"] for e in seen["events"] if e["method"] == "Network.requestWillBeSent"]
    assert urls and all(u.startswith("file://") for u in urls)
    assert any(u.endswith("/assets/pareto-explorer.js") for u in urls)


@pytest.mark.browser
@pytest.mark.slow
def test_explorer_tooltip_shows_injected_names_as_text(page, payload):
    tool = load_tool("check_site")
    exe = tool.find_chromium()
    if exe is None:
        pytest.skip("Chromium not installed; run tools/install-chromium.sh")
    browser = tool.CdpPipe(exe, tool.CHROMIUM_FLAGS, timeout_s=60, profile_prefix="torchperf-explorer-test-")
    try:
        browser.attach_new_page(("Page", "Runtime", "Log", "Network"))
        seen = tool.explore(browser, page.as_uri(), hover_model=EVIL2)
        evil_img = browser.evaluate("document.querySelectorAll('#tp-explorer img').length")
    finally:
        browser.close()
    assert seen["hovered"]["tip"].split("\n")[0] == EVIL2
    assert evil_img == 0
    assert tool._problems_of(seen["events"], "file://")["dialogs"] == []


@pytest.mark.browser
@pytest.mark.slow
def test_explorer_scale_command_measures_weight_and_load_time(tmp_path, capsys):
    """`tools/check_site.py --explorer-scale DIR --revisions N` (docs/site.md), small N."""
    tool = load_tool("check_site")
    if tool.find_chromium() is None:
        pytest.skip("Chromium not installed; run tools/install-chromium.sh")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        code = tool.main(["--explorer-scale", str(tmp_path / "scale"), "--revisions", "8", "--json"])
    assert code == 0
    m = json.loads(capsys.readouterr().out)
    assert m["revisions"] == 8 and m["points"] == 8 * 2 * 11
    page = tmp_path / "scale" / "html" / "torchperf" / "pareto-history.html"
    assert m["html_bytes"] == page.stat().st_size and m["page_bytes"] == m["html_bytes"] + m["js_bytes"]
    assert 0 < m["json_bytes"] < m["html_bytes"]
    assert len(m["load_ms_all"]) == 3 and all(v > 0 for v in m["load_ms_all"])
    assert m["ready_ms"] > 0 and m["render_ms"] > 0
    # a second run into the same folder is refused rather than mixed with the first
    assert tool.main(["--explorer-scale", str(tmp_path / "scale")]) == 2


@pytest.mark.browser
@pytest.mark.slow
def test_page_without_javascript_shows_the_static_view(page):
    tool = load_tool("check_site")
    exe = tool.find_chromium()
    if exe is None:
        pytest.skip("Chromium not installed; run tools/install-chromium.sh")
    browser = tool.CdpPipe(exe, tool.CHROMIUM_FLAGS, timeout_s=60, profile_prefix="torchperf-explorer-test-")
    try:
        browser.attach_new_page(("Page", "Runtime", "Log", "Network"))
        seen = tool.without_javascript(browser, page.as_uri())
    finally:
        browser.close()
    assert seen["loaded"]
    assert not seen["explorer_visible"] and seen["svg"] == 0  # the explorer stays hidden, nothing drawn
    assert seen["tables"] == 2 and seen["images"] == 4  # latest values per environment, small multiples
    assert "Static view" in seen["text"] and EVIL in seen["text"]
