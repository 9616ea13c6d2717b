"""A log entry as one line of text that always parses and always fits.

* JSON, on one line: the line breaks JSON leaves raw (NEL, LS, PS) are escaped too, since many
  log tools split lines on them;
* a character that cannot be encoded (a lone surrogate, as a forged event can carry) is written
  as the six characters of its code (``\\ud800``, read back as backslash, ``u``, four hex
  digits): the line is never lost to an encoding error, and two halves of a pair can never be
  read back as one character that was not there;
* at most :data:`MAX_LINE_BYTES` bytes of UTF-8: CloudWatch Logs caps an event at 256 KB
  (262,144 bytes, counting 26 bytes of its own), and cuts a longer one, which then no longer
  parses. A longer entry has its largest fields, other than :data:`KEPT`, replaced by a marker
  (``"<cut: 390123 bytes>"``); ``cut`` then names each with its full size in bytes.
"""

from __future__ import annotations

import json
import re
from base64 import b64encode
from collections.abc import Callable
from decimal import Decimal
from typing import Any

__all__ = [
    "DOUBLE_EXACT",
    "KEPT",
    "MAX_LINE_BYTES",
    "encodable",
    "json_default",
    "json_number",
    "json_value",
    "render",
]

MAX_LINE_BYTES = 256_000  # below CloudWatch Logs' 262,144 - 26, with room for the newline
KEPT = frozenset(
    (
        "level",
        "message",
        "event",
        "table",
        "keys",
        "sequence_number",
        "event_id",
        "created",
        "request_id",
    )
)
DOUBLE_EXACT = Decimal(2**53)  # integers below this in size are exact as JSON numbers


def json_number(value: Decimal) -> int | str:
    """Exact: an integer as a JSON number when it fits a double exactly, others as text. The
    range is checked first: cheaper than to_integral_value, which overflows on huge exponents."""
    if -DOUBLE_EXACT < value < DOUBLE_EXACT and value == value.to_integral_value():
        return int(value)
    return str(value)


def json_value(value: Any) -> Any:
    """A decoded image's value as plain JSON: a number by :func:`json_number`, binary as base64
    text, a set as its members so converted, sorted by their Python text; anything else as it
    is. The one conversion: the log line's walk and :func:`json_default` both use it."""
    if isinstance(value, Decimal):
        return json_number(value)
    if isinstance(value, bytes | bytearray):
        return b64encode(value).decode("ascii")
    if isinstance(value, set | frozenset):  # a number set: one call per member, not two
        return [
            json_number(m) if type(m) is Decimal else json_value(m) for m in sorted(value, key=str)
        ]
    return value


def json_default(value: Any) -> Any:
    """JSON for the Python values a decoded image holds (the encoder's fallback)."""
    if isinstance(value, Decimal | bytes | bytearray | set | frozenset):
        return json_value(value)
    raise TypeError(f"not JSON serializable: {type(value).__name__}")


_encode = json.JSONEncoder(  # check_circular: the entries are trees built here, never cyclic
    default=json_default,
    separators=(",", ":"),
    ensure_ascii=False,
    sort_keys=False,
    check_circular=False,
).encode
_LINE_BREAKS = (("\x85", "\\u0085"), ("\u2028", "\\u2028"), ("\u2029", "\\u2029"))
_SURROGATE = re.compile("[\ud800-\udfff]")


def _escape(match: re.Match[str]) -> str:
    return f"\\\\u{ord(match.group()):04x}"  # JSON for a backslash, then u and the code


def _dumps(entry: dict[str, Any]) -> str:
    text = _encode(entry)
    if not text.isascii():
        # str.translate with a mapping costs a Python lookup per character; a search for each
        # break (memchr-fast, and instant where the text cannot hold it) costs next to nothing.
        for line_break, escaped in _LINE_BREAKS:
            if line_break in text:
                text = text.replace(line_break, escaped)
    return text


def encodable(line: str) -> str:
    """``line`` with every character that UTF-8 cannot encode written as its code (see the
    module docstring). Only a surrogate can be one, and in a JSON line it is always inside a
    string. The writer calls this where its stream would not refuse such a line itself."""
    try:
        line.encode("utf-8")
    except UnicodeEncodeError:
        return _SURROGATE.sub(_escape, line)
    return line


def _size(text: str) -> int:
    return len(text) if text.isascii() else len(encodable(text).encode("utf-8"))


def render(entry: dict[str, Any], finish: Callable[[str], str]) -> str:
    """``entry`` as one line: :func:`_dumps`, then ``finish`` (the address scrubber), then cut
    to :data:`MAX_LINE_BYTES` if it is longer (see the module docstring)."""
    text = finish(_dumps(entry))
    # Four bytes per character at most: most lines are settled without counting bytes.
    if len(text) * 4 <= MAX_LINE_BYTES or _size(text) <= MAX_LINE_BYTES:
        return text
    return _cut(entry, finish)


def _cut(entry: dict[str, Any], finish: Callable[[str], str]) -> str:
    sizes = {
        name: _size(finish(_dumps({name: value})))
        for name, value in entry.items()
        if name not in KEPT
    }
    out, cut = dict(entry), {}
    for name in sorted(sizes, key=sizes.__getitem__, reverse=True):
        out[name] = f"<cut: {sizes[name]} bytes>"
        cut[name] = sizes[name]
        text = finish(_dumps({**out, "cut": cut}))
        if _size(text) <= MAX_LINE_BYTES:
            return text
    # Only the kept fields are left, and they are small by DynamoDB's limits (keys 2 KB +
    # 1 KB); should they not be, say so in a line that still parses.
    kept: dict[str, Any] = {
        name: out[name]
        for name in ("level", "message", "event", "sequence_number", "request_id")
        if name in out
    }
    return finish(_dumps({**kept, "cut": "all"}))
