"""Regenerate (or check) the command outputs shown in docs/history.md's verdict sections.

Each example is a command, run from the repository root exactly as the docs show it;
its output sits in docs/history.md between ``<!-- example:NAME -->`` and
``<!-- /example:NAME -->`` markers. ``tests/test_history_verdicts.py`` checks that
the docs hold what the commands print today, so a change of the detection method
that changes an example fails there until this script is re-run:

    python tools/history_examples.py            # check: exit 1 and a diff when stale
    python tools/history_examples.py --write    # rewrite the blocks in docs/history.md
"""

from __future__ import annotations

import argparse
import contextlib
import difflib
import io
import os
import re
import shlex
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "history.md"
DJANGO = ROOT.parent / "shared" / "data" / "asv-results-django"

#: name -> (command as the docs show it, run from the repository root; data it needs or None)
EXAMPLES: dict[str, tuple[str, Path | None]] = {
    "regressions-django": (
        "torchperf regressions --results-dir ../shared/data/asv-results-django --no-cache", DJANGO,
    ),
    "regressions-django-shift": (
        "torchperf regressions --results-dir ../shared/data/asv-results-django --no-cache --all", DJANGO,
    ),
    "compare-table": (
        "torchperf compare 95e88875 d2b3dd1d --results-dir tests/data/asv-real/results --no-cache", None,
    ),
    "compare-explain": (
        "torchperf compare 95e88875 d2b3dd1d --results-dir tests/data/asv-real/results --no-cache --explain",
        None,
    ),
}


def run(command: str) -> str:
    """Return the stdout of ``command`` (a ``torchperf`` command line) run in-process from the repository root."""
    sys.path.insert(0, str(ROOT))
    from torchperf.cli import main

    argv = shlex.split(command)
    assert argv[0] == "torchperf", command
    buf = io.StringIO()
    old = os.getcwd()
    os.chdir(ROOT)
    try:
        with contextlib.redirect_stdout(buf), contextlib.redirect_stderr(io.StringIO()):
            main(argv[1:])
    finally:
        os.chdir(old)
    return buf.getvalue().rstrip("\n")


#: examples shown in part: from the first line containing this text, at most this many lines
FROM = {"compare-explain": ("compare vs regressions", None),
        "regressions-django-shift": ("..db588d4f", 3)}


def block(name: str) -> str:
    """The text the docs show for example ``name``: the command line and its output."""
    command, _ = EXAMPLES[name]
    out = run(command)
    if name in FROM:
        text, n = FROM[name]
        lines = out.splitlines()
        start = next(i for i, line in enumerate(lines) if text in line)
        shown = lines[start:] if n is None else lines[start:start + n]
        out = ("(the comparison table, then:)\n" if n is None else "(abridged: one commit's group)\n") \
            + "\n".join(shown)
    return f"```\n$ {command}\n{out}\n```"


def _pattern(name: str) -> re.Pattern[str]:
    return re.compile(rf"(<!-- example:{re.escape(name)} -->\n)(.*?)(\n<!-- /example:{re.escape(name)} -->)", re.S)


def documented(name: str, text: str | None = None) -> str:
    """The block currently in docs/history.md for example ``name``."""
    m = _pattern(name).search(DOC.read_text(encoding="utf-8") if text is None else text)
    if m is None:
        raise KeyError(f"docs/history.md has no <!-- example:{name} --> block")
    return m.group(2)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--write", action="store_true", help="rewrite the blocks in docs/history.md")
    args = ap.parse_args()
    text = DOC.read_text(encoding="utf-8")
    stale = 0
    for name, (_command, needs) in EXAMPLES.items():
        if needs is not None and not needs.exists():
            print(f"{name}: skipped ({needs} is absent)")
            continue
        new, old = block(name), documented(name, text)
        if new == old:
            print(f"{name}: up to date")
            continue
        stale += 1
        if args.write:
            text = _pattern(name).sub(lambda m, new=new: m.group(1) + new + m.group(3), text)
            print(f"{name}: rewritten")
        else:
            print(f"{name}: stale")
            sys.stdout.writelines(difflib.unified_diff(old.splitlines(True), new.splitlines(True),
                                                       "docs", "now"))
    if args.write:
        DOC.write_text(text, encoding="utf-8")
        return 0
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
