"""Rows of a table as text for the machine: JSON and CSV (one helper for every command).

The CLI prints each table three ways (``--format table|json|csv``); the table is the
command's own layout, JSON and CSV come from the same list of row dicts here, so a
CSV read back (``pandas.read_csv``) has the rows and columns of the JSON.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

from torchperf.fileio import to_jsonable

__all__ = ["csv_cell", "rows_csv", "rows_json"]

_CSV_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(v: Any) -> Any:
    """One CSV cell: formulas neutralised, no finite value -> empty, nested values as JSON.

    A text cell that a spreadsheet would run as a formula (starting with ``= + - @``,
    a tab or a carriage return) is prefixed with ``'`` (CSV injection). A number with
    no finite value (NaN, inf) and ``None`` are empty cells. Lists and dicts are written
    as compact JSON text.
    """
    if v is None:
        return ""
    if isinstance(v, (Mapping, list, tuple)):
        v = json.dumps(to_jsonable(v), separators=(",", ":"), allow_nan=False)
    if isinstance(v, str) and v.startswith(_CSV_FORMULA):
        return "'" + v
    if isinstance(v, float) and not math.isfinite(v):
        return ""
    return v


def rows_csv(rows: Sequence[Mapping[str, Any]], columns: Sequence[str] | None = None) -> str:
    """``rows`` as CSV text: a header, then one line per row.

    Parameters
    ----------
    rows : sequence of Mapping
        The rows (the same dicts ``--format json`` prints).
    columns : sequence of str, optional
        Column order; by default every key in the order first seen across the rows.

    Returns
    -------
    str
        CSV, one line per row; cells as :func:`csv_cell` writes them.

    """
    if columns is None:
        seen: dict[str, None] = {}
        for r in rows:
            for k in r:
                seen.setdefault(str(k), None)
        columns = list(seen)
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(list(columns))
    for r in rows:
        writer.writerow([csv_cell(r.get(c)) for c in columns])
    return buf.getvalue()


def rows_json(obj: Any) -> str:
    """``obj`` as strict, indented JSON (non-finite numbers as ``null``)."""
    return json.dumps(to_jsonable(obj), indent=2, allow_nan=False)
