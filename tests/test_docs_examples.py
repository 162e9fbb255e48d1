"""The API tours of README.md and docs/statistics.md run as written and print what they show."""

from __future__ import annotations

import contextlib
import io
import re
import warnings
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _section(path: Path, heading: str) -> str:
    text = path.read_text(encoding="utf-8")
    start = text.index(heading)
    nxt = text.find("\n## ", start + len(heading))
    return text[start : nxt if nxt != -1 else len(text)]


def _blocks(section: str, lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", section, re.S)


def _run(code: str) -> tuple[str, dict]:
    ns: dict = {"__name__": "__tour__"}
    out = io.StringIO()
    with contextlib.redirect_stdout(out), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        exec(compile(code, "<tour>", "exec"), ns)  # the documented example itself
    return out.getvalue(), ns


def test_statistics_md_api_tour_prints_its_output_verbatim():
    sec = _section(ROOT / "docs" / "statistics.md", "## API tour")
    (code,) = _blocks(sec, "python")
    (expected,) = _blocks(sec, "text")
    printed, _ = _run(code)
    assert printed == expected


def test_readme_api_tour_first_block_matches_its_comments():
    sec = _section(ROOT / "README.md", "## API tour")
    code = _blocks(sec, "python")[0]
    printed, ns = _run(code)
    lines = printed.splitlines()
    comments = dict(re.findall(r"^(print\(r\)|r\.ci_lower.*?|r\.median_ci.*?|s\.verdict.*?)\s+# (.*)$",
                               code, re.M))  # fmt: skip
    assert lines[0] == comments["print(r)"]
    cmp_comment = re.search(r"^# (baseline: .*)$", code, re.M).group(1)
    assert lines[1] == cmp_comment
    r, s = ns["r"], ns["s"]
    lo, hi = map(float, re.search(r"\(([\d.]+), ([\d.]+)\)", comments["r.ci_lower, r.ci_upper"]).groups())
    assert (round(r.ci_lower, 5), round(r.ci_upper, 5)) == (lo, hi)
    m = re.search(r"\(([\d.]+), ([\d.]+)\); ([\d.]+)", comments["r.median_ci, r.cv"])
    assert (round(r.median_ci[0], 4), round(r.median_ci[1], 4), round(r.cv, 3)) == tuple(
        map(float, m.groups())
    )
    m = re.search(r"'(\w+)', ([\d.]+), \(([\d.]+), ([\d.]+)\)", comments["s.verdict, s.ratio, (s.ci_low, s.ci_high)"])
    assert s.verdict == m.group(1)
    assert (round(s.ratio, 3), round(s.ci_low, 3), round(s.ci_high, 3)) == tuple(
        map(float, m.groups()[1:])
    )
    # rule 7: the printed interval and the verdict come from one test
    assert (s.p_value < 0.05) == (s.ci_low > 1 or s.ci_high < 1)


@pytest.mark.slow
def test_readme_zoo_compare_models_block_runs_as_written():
    pytest.importorskip("sklearn")
    sec = _section(ROOT / "README.md", "## API tour")
    first, zoo = _blocks(sec, "python")[:2]
    printed, ns = _run(first + "\n" + zoo)
    summaries = [
        ln for ln in printed.splitlines() if ln.startswith("mlp: ") and not ln.endswith("(baseline)")
    ]
    assert len(summaries) == 2
    for line in summaries:
        assert re.match(
            r"^mlp: \S+ \S+ ± \S+ \S+, mlp-\S+: .* \((\d+% (increase|reduction)|no change), "
            r"95% CI \[-?\d+%, -?\d+%\], p [<=] [\d.]+\)$",
            line,
        ), line
    rows = ns["b"].compare_models("accuracy")
    assert {r["method"] for r in rows if not r["is_baseline"]} == {"mcnemar-exact"}
