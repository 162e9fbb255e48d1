r"""Safe, bounded display of user-supplied names (models, metrics, benchmarks).

Names come from users and can be anything: 10 MB long, full of control
characters, ANSI escapes, right-to-left overrides, NUL bytes or unpaired UTF-16
surrogates (``"sur\ud800rogate"``, which no UTF-8 encoder and no font accepts).
Wherever a name reaches a terminal, a plot or a file name, it goes through this
module:

* :func:`escape_text` replaces every character that is not printable
  (Unicode categories C* and Z* except the plain space: controls, format
  characters such as U+202E, surrogates, private-use and unassigned code
  points, line and paragraph separators) with a visible escape (``\x1b``,
  ``\u202e``, ``\ud800``). Printable text of any script is kept.
* :func:`display_name` also bounds the length: a name longer than
  ``max_length`` is shown as a prefix, ``…`` and the first 8 hex digits of the
  SHA-256 of the full name. The abbreviation is stable (the same name gives the
  same label in every plot, table and run) and two different long names get
  different labels (unless their hashes collide in 32 bits;
  :func:`display_names` resolves that, and any other clash, for a set of names).
  Its cost does not grow with the name beyond one hash: a 10 MB name
  renders like a short one.

The full names stay in the JSON files; only what is shown is shortened.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable

__all__ = [
    "DISPLAY_MAX_LENGTH",
    "display_name",
    "display_names",
    "escape_text",
    "name_digest",
    "utf8_safe",
]

#: Longest label :func:`display_name` returns by default (characters).
DISPLAY_MAX_LENGTH = 40

_ELLIPSIS = "…"
_ASCII_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_DIGEST_CHARS = 8


def _escape_char(ch: str) -> str:
    code = ord(ch)
    if code < 0x100:
        return f"\\x{code:02x}"
    if code < 0x10000:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def _printable(ch: str, keep: str) -> bool:
    if ch in keep:
        return True
    if ch == " ":
        return True
    if ch == "\\":
        return True
    return ch.isprintable() and unicodedata.category(ch)[0] not in "CZ"


def escape_text(text: object, *, keep: str = "") -> str:
    r"""Replace every non-printable character of ``text`` with a visible escape.

    Parameters
    ----------
    text : object
        Converted with ``str()``.
    keep : str
        Characters to leave as they are (e.g. ``"\n"`` for multi-line messages).

    Returns
    -------
    str
        Text that is safe to write to a terminal, to draw with matplotlib and
        to encode as UTF-8 (no surrogates remain).

    Examples
    --------
    >>> escape_text("a\x1b[31mred\u202e\ud800")
    'a\\x1b[31mred\\u202e\\ud800'

    """
    s = str(text)
    if s.isascii():  # the common case, in one regex pass
        return _ASCII_CONTROL.sub(lambda m: m[0] if m[0] in keep else _escape_char(m[0]), s)
    return "".join(ch if _printable(ch, keep) else _escape_char(ch) for ch in s)


def name_digest(name: object) -> str:
    """First 8 hex digits of the SHA-256 of ``str(name)`` (surrogates included).

    Returns
    -------
    str

    """
    data = str(name).encode("utf-8", "surrogatepass")
    return hashlib.sha256(data).hexdigest()[:_DIGEST_CHARS]


def display_name(name: object, max_length: int = DISPLAY_MAX_LENGTH) -> str:
    """Return ``name`` escaped and, when too long, abbreviated to ``max_length`` characters.

    Parameters
    ----------
    name : object
        The full name (converted with ``str()``).
    max_length : int
        Longest result, at least 16.

    Returns
    -------
    str
        The escaped name if it fits, else ``prefix + "…" + 8 hex digits`` of
        the name's SHA-256 (stable across runs and processes).

    Examples
    --------
    >>> display_name("mlp-int8")
    'mlp-int8'
    >>> len(display_name("x" * 10_000_000))
    40

    """
    max_length = max(16, int(max_length))
    s = str(name)
    # Escape only what can be shown: the cost is bounded whatever the length of the name.
    head = escape_text(s[: max_length + 1])
    if len(s) <= max_length and len(head) <= max_length:
        return head
    suffix = _ELLIPSIS + name_digest(s)
    prefix = head[: max_length - len(suffix)]
    # do not cut an escape sequence in half
    cut = prefix.rfind("\\")
    if cut != -1 and cut >= len(prefix) - 10 and not _complete_escape(prefix[cut:]):
        prefix = prefix[:cut]
    return prefix + suffix


def _complete_escape(tail: str) -> bool:
    lengths = {"x": 4, "u": 6, "U": 10}
    if len(tail) < 2:
        return False
    need = lengths.get(tail[1])
    return need is None or len(tail) >= need


def display_names(
    names: Iterable[object], max_length: int = DISPLAY_MAX_LENGTH
) -> dict[str, str]:
    """Map each name to a display label, the labels of different names all distinct.

    Parameters
    ----------
    names : iterable
        Full names (duplicates allowed; they share a label).
    max_length : int
        As in :func:`display_name` (a label made unique may be up to 9 characters longer).

    Returns
    -------
    dict
        ``{full name: label}``.

    """
    full = list(dict.fromkeys(str(n) for n in names))
    labels = {n: display_name(n, max_length) for n in full}
    seen: dict[str, str] = {}
    for n in full:
        label = labels[n]
        if label in seen and seen[label] != n:
            label = f"{label}#{name_digest(n)}"
            labels[n] = label
        seen[label] = n
    return labels


def utf8_safe(text: object) -> str:
    r"""Return ``text`` with only what UTF-8 cannot encode (lone surrogates) escaped.

    For data files (CSV) that keep names whole: ``"sur\ud800rogate"`` becomes
    ``"sur\\ud800rogate"``; every other character is kept.

    Returns
    -------
    str

    """
    s = str(text)
    try:
        s.encode("utf-8")
    except UnicodeEncodeError:
        return s.encode("utf-8", "backslashreplace").decode("utf-8")
    return s
