"""torchperf.history.store: the columnar cache returns exactly what parsing every file returns."""

from __future__ import annotations

import json
import os
import shutil
import warnings
from pathlib import Path

import pandas as pd
import pytest

from torchperf.errors import CorruptResultsWarning, InvalidParameterError
from torchperf.history import load_results
from torchperf.history import store as store_mod
from torchperf.history.store import (
    HistoryStore,
    clear_cache,
    default_store_dir,
)

REAL = Path(__file__).parent / "data" / "asv-real" / "results"


def _copy(tmp_path: Path) -> Path:
    dst = tmp_path / "results"
    shutil.copytree(REAL, dst)
    return dst


def _load(root: Path, cache, **kw) -> tuple[pd.DataFrame, list[str]]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        df = load_results(root, cache=cache, **kw)
    return df, [f"{w.category.__name__}: {w.message}" for w in caught]


def _same_as_cold(root: Path, store: Path, tmp_path: Path) -> tuple[pd.DataFrame, int]:
    """Warm (``store``), cold (a new store) and no-cache loads are identical, warnings too."""
    parsed = HistoryStore(root, store).update().n_parsed
    warm, w_warm = _load(root, store)
    cold_dir = tmp_path / f"cold-{len(list(tmp_path.iterdir()))}"
    cold, w_cold = _load(root, cold_dir)
    plain, w_plain = _load(root, False)
    pd.testing.assert_frame_equal(warm, plain)
    pd.testing.assert_frame_equal(cold, plain)
    assert w_warm == w_cold == w_plain
    return warm, parsed


def test_warm_run_equals_cold_after_adding_changing_and_deleting_files(tmp_path):
    root = _copy(tmp_path)
    store = tmp_path / "store"
    box = root / "fixture-box"
    files = sorted(p for p in box.glob("*.json") if p.name != "machine.json")
    held = tmp_path / "held"
    held.mkdir()
    for f in files[-3:]:  # start without the last three files
        f.rename(held / f.name)
    df0, parsed = _same_as_cold(root, store, tmp_path)
    assert parsed == len(files) - 3

    # nothing changed: nothing is parsed
    assert HistoryStore(root, store).update().n_parsed == 0

    # add three files
    for f in held.iterdir():
        f.rename(box / f.name)
    df1, parsed = _same_as_cold(root, store, tmp_path)
    assert parsed == 3 and len(df1) > len(df0)

    # change one file's values (same size is not needed: content hash decides)
    target = files[5]
    d = json.loads(target.read_text())
    name = next(iter(d["results"]))
    d["results"][name][0] = [v * 2 if isinstance(v, float) else v for v in d["results"][name][0]]
    target.write_text(json.dumps(d))
    df2, parsed = _same_as_cold(root, store, tmp_path)
    assert parsed == 1
    assert not df2["value"].equals(df1["value"])

    # delete one file, corrupt another (its warning is replayed on warm runs)
    files[2].unlink()
    files[7].write_text('{"commit_hash": "abc", "results": ')
    df3, parsed = _same_as_cold(root, store, tmp_path)
    assert parsed == 1 and len(df3) < len(df2)
    _, w = _load(root, store)
    assert sum("CorruptResultsWarning" in m and files[7].name in m for m in w) == 1

    # touching a file (new mtime, same content) does not re-parse it
    os.utime(files[9], ns=(files[9].stat().st_atime_ns, files[9].stat().st_mtime_ns + 10**9))
    assert HistoryStore(root, store).update().n_parsed == 0


@pytest.mark.parametrize("damage", ["manifest-garbage", "manifest-version", "fragment-truncated",
                                    "fragment-missing", "other-results-dir"])
def test_corrupt_or_stale_cache_is_rebuilt_with_one_warning(tmp_path, damage):
    root = _copy(tmp_path)
    store = tmp_path / "store"
    expected, _ = _load(root, False)
    _load(root, store)
    manifest = store / "manifest.json"
    frag = next((store / "groups").glob("*.parquet"))
    if damage == "manifest-garbage":
        manifest.write_text("{not json")
    elif damage == "manifest-version":
        m = json.loads(manifest.read_text())
        m["version"] = 0
        manifest.write_text(json.dumps(m))
    elif damage == "fragment-truncated":
        frag.write_bytes(frag.read_bytes()[:100])
    elif damage == "fragment-missing":
        frag.unlink()
    else:
        m = json.loads(manifest.read_text())
        m["results_dir"] = "/somewhere/else"
        manifest.write_text(json.dumps(m))
    df, w = _load(root, store)
    pd.testing.assert_frame_equal(df, expected)
    assert sum(m.startswith("CacheRebuiltWarning") for m in w) == 1, w
    # rebuilt: the next run is clean
    df, w = _load(root, store)
    pd.testing.assert_frame_equal(df, expected)
    assert w == []


def test_default_location_and_clear(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCHPERF_CACHE_DIR", str(tmp_path / "root"))
    root = _copy(tmp_path)
    load_results(root)
    where = default_store_dir(root)
    assert where.parent == tmp_path / "root" and (where / "manifest.json").is_file()
    assert not any(p.name.startswith(".torchperf") for p in root.rglob("*"))  # results untouched
    with pytest.raises(InvalidParameterError, match="not a torchperf history cache"):
        clear_cache(cache_dir=root)
    assert clear_cache(root) == [where] and not where.exists()
    load_results(root)
    assert clear_cache() == [where]


def test_no_cache_touches_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCHPERF_CACHE_DIR", str(tmp_path / "root"))
    load_results(_copy(tmp_path), cache=False)
    assert not (tmp_path / "root").exists()


def test_scope_restricts_what_is_loaded(tmp_path):
    root = _copy(tmp_path)
    # a second machine whose (corrupt) file must not even be parsed under --machine
    other = root / "other-box"
    other.mkdir()
    (other / "machine.json").write_text(json.dumps({"machine": "other-box"}))
    (other / "deadbeef-virtualenv-py3.11.json").write_text("{broken")
    store = tmp_path / "store"
    full, w = _load(root, False)
    assert any("deadbeef" in m for m in w)
    for cache in (False, store):
        df, w = _load(root, cache, machine="fixture-box")
        assert not any("deadbeef" in m for m in w)
        pd.testing.assert_frame_equal(df, full)
        df, _ = _load(root, cache, bench=r"Steps\.time_(regress|improve)")
        want = full[full["benchmark"].str.contains(r"Steps\.time_(?:regress|improve)")]
        pd.testing.assert_frame_equal(df, want.reset_index(drop=True), check_dtype=False)
        df, w = _load(root, cache, env="^virtualenv")  # only the corrupt file's environment
        assert df.empty or set(df["env_name"]) <= {"virtualenv-py3.11"}
    with pytest.raises(InvalidParameterError, match="regular expression"):
        load_results(root, cache=False, bench="(")


def test_progress_reports_files(tmp_path):
    root = _copy(tmp_path)
    calls = []
    load_results(root, cache=tmp_path / "s", progress=lambda *a: calls.append(a))
    n = len([p for p in (root / "fixture-box").glob("*.json") if p.name != "machine.json"])
    assert calls[-1] == ("parse", n, n) and len(calls) == n
    calls.clear()
    load_results(root, cache=tmp_path / "s", progress=lambda *a: calls.append(a))
    assert calls == []  # warm: nothing parsed


def test_corrupt_results_warnings_are_the_loaders(tmp_path):
    root = _copy(tmp_path)
    bad = root / "fixture-box" / "00000000-existing-py.json"
    bad.write_text("[1, 2")
    for cache in (tmp_path / "s", tmp_path / "s", False):
        with pytest.warns(CorruptResultsWarning, match="00000000-existing-py.json"):
            load_results(root, cache=cache)


def test_cli_cache_commands_and_no_cache(tmp_path, monkeypatch, capsys):
    from torchperf import cli

    monkeypatch.setenv("TORCHPERF_CACHE_DIR", str(tmp_path / "root"))
    root = _copy(tmp_path)
    assert cli.main(["regressions", "--results-dir", str(root), "--no-cache"]) == 1
    assert not (tmp_path / "root").exists()
    assert cli.main(["regressions", "--results-dir", str(root)]) == 1
    where = default_store_dir(root)
    assert where.is_dir()
    custom = tmp_path / "custom"
    assert cli.main(["regressions", "--results-dir", str(root), "--cache-dir", str(custom)]) == 1
    assert (custom / "manifest.json").is_file()
    capsys.readouterr()
    assert cli.main(["cache", "path", "--results-dir", str(root)]) == 0
    assert capsys.readouterr().out.strip() == str(where)
    assert cli.main(["cache", "clear", "--results-dir", str(root)]) == 0
    assert f"removed {where}" in capsys.readouterr().out and not where.exists()
    assert cli.main(["cache", "clear", "--cache-dir", str(custom)]) == 0
    assert not custom.exists()
    assert cli.main(["cache", "clear", "--cache-dir", str(root)]) == 2  # not a cache: refused
    assert "not a torchperf history cache" in capsys.readouterr().err


def test_published_pages_read_the_same_store(tmp_path, monkeypatch):
    """`torchperf regressions` and the site's pages share one store: the second parses nothing."""
    from torchperf import cli
    from torchperf.site.pages import publish

    monkeypatch.setenv("TORCHPERF_CACHE_DIR", str(tmp_path / "root"))
    root = _copy(tmp_path)
    assert cli.main(["regressions", "--results-dir", str(root)]) == 1
    manifest = default_store_dir(root) / "manifest.json"
    before = json.loads(manifest.read_text())["files"]
    parsed = []
    real = store_mod._parse_file
    monkeypatch.setattr(store_mod, "_parse_file", lambda *a: parsed.append(a[0]) or real(*a))
    html = tmp_path / "html"
    html.mkdir()
    (html / "index.html").write_text("<html><body><nav><ul><li>asv</li></ul></nav></body></html>")
    publish(html_dir=html, results_dir=root, asv_config={"results_dir": str(root)},
            pareto_revisions=1, history_revisions=2)
    assert parsed == [] and (html / "torchperf" / "index.html").is_file()
    assert json.loads(manifest.read_text())["files"].keys() == before.keys()


def _same(a, b) -> bool:
    """Equal tables (NaN equal to NaN; dictionaries in the same order)."""
    return a.schema == b.schema and a.to_pandas().equals(b.to_pandas())


def _slow_and_fast(path: Path):
    from torchperf.history.loader import _rows_from_file

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rows = _rows_from_file(path, path.parent.name, {})
    slow = store_mod._table_from_rows(rows, 7) if rows else None
    try:
        fast = store_mod._fast_table(path, 7)
    except Exception:
        fast = "fallback"
    return slow, fast


@pytest.mark.parametrize("root", [REAL, REAL.parent.parent / "asv-history" / "results", "corners"])
def test_fast_reader_equals_the_loaders_rows(root, tmp_path):
    """The store's columnar reader gives exactly the loader's rows (or hands the file to it)."""
    if root == "corners":
        from test_history_loader import write_results

        root = tmp_path / "corners"
        write_results(root)
    files = [p for p in Path(root).glob("*/*.json") if p.name != "machine.json"]
    assert files
    for path in files:
        slow, fast = _slow_and_fast(path)
        assert fast != "fallback", path
        assert (fast[1] is None) == (slow is None)
        if slow is not None:
            assert _same(fast[1], slow), path


def test_fast_reader_hands_odd_files_to_the_loader(tmp_path):
    base = json.loads(next(REAL.glob("*/*-existing-*.json")).read_text())
    name = next(iter(base["results"]))
    odd = {
        "string-values": {**base, "results": {name: [["1.5", None, True]]}},
        "nested": {**base, "results": {name: [[[1.0, 2.0]]]}},
        "bad-sample": {**base, "results": {name: [[1.0], None, "v", None, None, None, None,
                                                  None, None, None, None, [["x"]]]}},
        "row-not-list": {**base, "results": {name: {"a": 1}}},
        "version-3": {**base, "version": 3},
    }
    for label, doc in odd.items():
        path = tmp_path / "box" / f"{label}.json"
        path.parent.mkdir(exist_ok=True)
        path.write_text(json.dumps(doc))
        slow, fast = _slow_and_fast(path)
        if fast != "fallback":
            assert slow is not None and _same(fast[1], slow), label
        _entry, table = store_mod._parse_file("box/x.json", path, "box", path.stat(), "", 7)
        assert (table is None) == (slow is None) and (table is None or _same(table, slow)), label


def test_a_build_in_many_flushes_is_merged_and_equal(tmp_path, monkeypatch):
    monkeypatch.setattr(store_mod, "GROUP_TARGET_VALUES", 100)
    monkeypatch.setattr(store_mod, "_FLUSH_ROWS", 50)
    monkeypatch.setattr(store_mod, "_FRAGMENT_MIN_ROWS", 1)
    monkeypatch.setattr(store_mod, "_SPLIT_ROWS", 20)
    root = _copy(tmp_path)
    store = tmp_path / "s"
    df, _ = _load(root, store)
    m = json.loads((store / "manifest.json").read_text())
    assert m["n_groups"] > 1
    assert all(len(v) <= store_mod._MAX_FRAGMENTS for v in m["fragments"].values())
    pd.testing.assert_frame_equal(df, _load(root, False)[0])


def test_readers_wait_for_an_update_in_another_process(tmp_path):
    """The store's lock is held across update and reads: a second process waits, then reads."""
    import subprocess
    import sys
    import textwrap
    import time

    root = _copy(tmp_path)
    store = tmp_path / "s"
    expected, _ = _load(root, False)
    holder = HistoryStore(root, store)
    assert holder.acquire()
    code = textwrap.dedent(f"""
        import pandas as pd, sys
        from torchperf.history import load_results
        df = load_results({str(root)!r}, cache={str(store)!r})
        df.to_pickle({str(tmp_path / 'out.pkl')!r})
    """)
    p = subprocess.Popen([sys.executable, "-c", code], env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    time.sleep(3)
    assert p.poll() is None  # waiting for the lock
    holder.release()
    assert p.wait(timeout=120) == 0
    pd.testing.assert_frame_equal(pd.read_pickle(tmp_path / "out.pkl"), expected)


@pytest.fixture
def memory_url():
    """A fresh store location on fsspec's in-memory filesystem (deleted afterwards)."""
    fsspec = pytest.importorskip("fsspec")
    import uuid

    fs = fsspec.filesystem("memory")
    base = f"/torchperf-test-{uuid.uuid4().hex[:8]}"
    yield f"memory://{base}/store", fs, base
    if fs.exists(base):
        fs.rm(base, recursive=True)


def test_store_on_an_fsspec_url_equals_cold_and_updates(tmp_path, memory_url):
    """cache='memory://...': the same frame as parsing every file; later runs parse only changes."""
    url, fs, base = memory_url
    root = _copy(tmp_path)
    df, w = _load(root, url)
    plain, w_plain = _load(root, False)
    pd.testing.assert_frame_equal(df, plain)
    assert w == w_plain
    assert fs.isfile(f"{base}/store/manifest.json") and fs.ls(f"{base}/store/groups")
    assert not (tmp_path / "store").exists()
    assert HistoryStore(root, url).update().n_parsed == 0
    target = sorted((root / "fixture-box").glob("*-existing-*.json"))[3]
    d = json.loads(target.read_text())
    name = next(iter(d["results"]))
    d["results"][name][0] = [v * 2 if isinstance(v, float) else v for v in d["results"][name][0]]
    target.write_text(json.dumps(d))
    assert HistoryStore(root, url).update().n_parsed == 1
    df, _ = _load(root, url)
    pd.testing.assert_frame_equal(df, _load(root, False)[0])
    # a damaged fragment on the filesystem: rebuilt with one warning, never used
    frag = fs.ls(f"{base}/store/groups", detail=False)[0]
    fs.pipe_file(frag, b"not parquet")
    df, w = _load(root, url)
    pd.testing.assert_frame_equal(df, _load(root, False)[0])
    assert sum("CacheRebuiltWarning" in m for m in w) == 1


def test_regressions_cli_with_an_fsspec_cache_dir(tmp_path, memory_url, capsys, monkeypatch):
    """`--cache-dir memory://...`: the findings of --no-cache; cached group and tail results reused."""
    from torchperf import cli
    from torchperf.history import pipeline

    url, fs, base = memory_url
    root = _copy(tmp_path)
    assert cli.main(["regressions", "--results-dir", str(root), "--no-cache", "--format", "json"]) == 1
    plain = capsys.readouterr().out
    assert cli.main(["regressions", "--results-dir", str(root), "--cache-dir", url,
                     "--format", "json"]) == 1
    assert capsys.readouterr().out == plain
    cached = fs.ls(f"{base}/store/results", detail=False)
    assert any(p.rsplit("/", 1)[-1].startswith("tail-") for p in cached)
    real = pipeline._group_task
    calls = []
    monkeypatch.setattr(pipeline, "_group_task", lambda *a: calls.append(1) or real(*a))
    assert cli.main(["regressions", "--results-dir", str(root), "--cache-dir", url,
                     "--format", "json"]) == 1
    assert capsys.readouterr().out == plain and calls == []
    assert cli.main(["cache", "clear", "--cache-dir", url]) == 0
    assert f"removed {url}" in capsys.readouterr().out and not fs.exists(f"{base}/store")
