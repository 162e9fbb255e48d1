"""The statistical rules live in docs/statistics.md: numbered, linked, and nothing cites a file
outside the repository (the founding design document the rules came from is not in it)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
STATISTICS = ROOT / "docs" / "statistics.md"
OUTSIDE = "DESIGN" + ".md"  # spelled apart so that this file does not cite it either
DESIGN_RULE = re.compile(r"\bDESIGN" + r" rule\b")
SHARED = ".." + "/shared/"
TEXT_SUFFIXES = {".py", ".md", ".json", ".toml", ".txt", ".cfg", ".ini", ".yml", ".yaml", ".sh", ".rst"}


def _repository_text_files() -> list[Path]:
    try:
        out = subprocess.run(
            ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
            cwd=ROOT, capture_output=True, text=True, check=True, timeout=60,
        ).stdout.split()
        files = [ROOT / f for f in out]
    except (OSError, subprocess.SubprocessError):  # not a git checkout (an sdist): walk it
        files = [p for p in ROOT.rglob("*") if ".git" not in p.parts and ".asv" not in p.parts]
    return [p for p in files if p.suffix in TEXT_SUFFIXES and p.is_file()]


FILES = _repository_text_files()


def _defined_rules() -> set[int]:
    return {int(n) for n in re.findall(r'<a id="rule-(\d+)"></a>', STATISTICS.read_text(encoding="utf-8"))}


def test_rules_are_numbered_from_one_without_gaps():
    rules = _defined_rules()
    assert rules and rules == set(range(1, max(rules) + 1)), sorted(rules)
    text = STATISTICS.read_text(encoding="utf-8")
    for n in rules:  # each anchor is followed by the rule's own title
        after = text[text.index(f'<a id="rule-{n}"></a>') :][:400]
        assert re.search(rf"Rule {n}\b", after), f"rule-{n} anchor without a 'Rule {n}' title"


def test_no_file_cites_the_design_document_outside_the_repository():
    assert len(FILES) > 50  # the walk found the repository
    offenders = []
    for path in FILES:
        for i, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
            if OUTSIDE in line or DESIGN_RULE.search(line) or SHARED + "DESIGN" in line:
                offenders.append(f"{path.relative_to(ROOT)}:{i}: {line.strip()[:100]}")
    assert not offenders, "\n".join(offenders)


CITATION = re.compile(r"statistics\.md#rule-(\d+)|\(#rule-(\d+)\)")


def test_every_cited_rule_exists():
    rules = _defined_rules()
    cited: dict[int, list[str]] = {}
    for path in FILES:
        for i, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
            if path.name == "statistics.md" or "statistics.md#rule-" in line:
                for m in CITATION.finditer(line):
                    n = int(m.group(1) or m.group(2))
                    cited.setdefault(n, []).append(f"{path.relative_to(ROOT)}:{i}")
    assert cited, "no rule is cited anywhere"
    missing = {n: where for n, where in cited.items() if n not in rules}
    assert not missing, missing
    # the code links the rules it relies on (not only the docs)
    in_code = {n for n, where in cited.items() for w in where if w.startswith("torchperf/")}
    assert {1, 4} <= in_code, sorted(in_code)


@pytest.mark.parametrize("bad", ["docs/statistics" + ".md#rule-99", "see [rule 98](#" + "rule-98)"])
def test_the_citation_check_catches_a_missing_rule(bad):
    numbers = [int(m.group(1) or m.group(2)) for m in CITATION.finditer(bad)]
    assert numbers and not set(numbers) & _defined_rules()
