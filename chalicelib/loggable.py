"""A change's images as its log line writes them, read straight from the stream's DynamoDB JSON.

One walk per image: each attribute value is checked, converted to the line's JSON value and,
where the redaction list names the attribute (at any depth), replaced by ``"***"``, all in the
same pass. Nothing is decoded to Python values first and encoded again. The line's values::

    S, BOOL, NULL  as they are          N   a JSON number when it is an integer that a double
    M   a map, redacted at any depth        holds exactly, otherwise Decimal's exact text
    L   a list                          B   base64 text
    SS  sorted                          NS, BS  sorted by their text, as above

A malformed image raises whatever the walk met; :meth:`chalicelib.records.Change.image_fault`
then says which attribute is broken (:mod:`chalicelib.decoding` walks it again, slowly).
A redacted attribute is checked all the same: a broken record fails whatever the log hides.

Only the welcome email decodes an image to Python values (:attr:`chalicelib.records.Change.
new_image`), and only for a new user.
"""

from __future__ import annotations

import binascii
from collections.abc import Callable, Mapping
from typing import Any

from chalicelib.decoding import MAX_DEPTH, decode_tagged
from chalicelib.logline import json_number, json_value
from chalicelib.numbers import check_numbers, exact
from chalicelib.redaction import REDACTED

__all__ = ["changed_names", "plain_image", "plain_update"]

Decide = Callable[[str], bool]
# Up to 15 digits and a sign: an integer every double holds exactly (2**53 has 16 digits).
_SHORT = 16
_join = "".join
_a2b, _b2a = binascii.a2b_base64, binascii.b2a_base64


def plain_image(image: Any, hidden: Mapping[str, bool], decide: Decide) -> dict[str, Any]:
    """``image`` (a ``NewImage``, ``OldImage`` or ``Keys``) as the line's JSON values.

    ``hidden`` maps attribute names to whether they are redacted; ``decide`` is asked about a
    name ``hidden`` has no verdict on yet (:class:`~chalicelib.redaction.Redactor`).
    """
    numbers: list[Any] = []
    out = _map(image, 0, numbers, hidden, decide)
    check_numbers(numbers)  # all of the image's number texts, in one pass
    return out


def plain_update(
    old: Mapping[str, Any],
    written: dict[str, Any],
    new: Any,
    hidden: Mapping[str, bool],
    decide: Decide,
) -> tuple[dict[str, Any], list[str]]:
    """The new image of an update as the line's values, and the names of the attributes the
    update added, removed or changed, given the old image as the stream carries it and as
    :func:`plain_image` wrote it (``written``).

    An attribute whose DynamoDB JSON is the same in both images is the same value, written
    as it was (and checked then): an update walks only what it changed. "The same" is Python's
    ``==``, for which ``1 == True``: a forged new image holding a number where a ``BOOL`` or
    ``NULL`` needs ``true`` is taken for the old value rather than refused (as it was before
    this walk); JSON from Lambda never holds a number there.
    """
    differing = {name: av for name, av in new.items() if name not in old or av != old[name]}
    out = {name: None if name in differing else written[name] for name in new}
    numbers: list[Any] = []
    out.update(_map(differing, 0, numbers, hidden, decide))  # in place: the image's order
    check_numbers(numbers)
    changed = old.keys() - new.keys()
    for name, av in differing.items():
        # Different JSON may still be the same value ("1" and "1.0"): _same says.
        if name not in old or not _same(av, old[name]):
            changed.add(name)
    return out, sorted(changed)


def _map(
    attributes: Any, depth: int, numbers: list[Any], hidden: Mapping[str, bool], decide: Decide
) -> dict[str, Any]:
    """The hot loop: the common types inline, without a call per value (see the module)."""
    out: dict[str, Any] = dict(attributes)  # the right size at once; every value replaced
    for name, av in attributes.items():
        (tag,) = av  # exactly one type tag, or ValueError
        val = av[tag]
        try:
            hide = hidden[name]
        except KeyError:
            hide = decide(name)
        if hide:
            if tag != "S" or type(val) is not str:  # checked all the same, then hidden
                _value(tag, val, depth, numbers, hidden, decide)
            out[name] = REDACTED
        elif tag == "S" and type(val) is str:
            out[name] = val
        elif tag == "N":
            if (
                type(val) is str
                and len(val) < _SHORT
                and val.isascii()
                and val.lstrip("-").isdigit()
            ):
                out[name] = int(val)  # DynamoDB's syntax by its shape ("--1": int() refuses)
            else:
                numbers.append(val)  # its syntax is checked with the image's other numbers
                out[name] = json_number(exact(val))
        elif tag == "M" and depth < MAX_DEPTH:
            out[name] = _map(val, depth + 1, numbers, hidden, decide)
        elif tag == "L" and depth < MAX_DEPTH and type(val) is list:
            out[name] = _list(val, depth + 1, numbers, hidden, decide)
        elif tag == "BOOL" and type(val) is bool:
            out[name] = val
        elif tag == "B" and type(val) is str:
            out[name] = _b2a(_a2b(val, strict_mode=True), newline=False).decode("ascii")
        elif tag == "SS" and type(val) is list:
            _join(val)  # every member is text, or TypeError
            out[name] = sorted(set(val))
        elif tag == "NULL" and val is True:
            out[name] = None
        elif tag == "NS" and type(val) is list and _canonical_integers(val):
            # Whole numbers, valid by their shape; sorted by their text, as json_value sorts.
            out[name] = [int(n) for n in sorted(set(val))]
        else:
            out[name] = _value(tag, val, depth, numbers, hidden, decide)
    return out


def _list(
    items: list[Any], depth: int, numbers: list[Any], hidden: Mapping[str, bool], decide: Decide
) -> list[Any]:
    """The values of a list whose items sit at ``depth``: maps and strings inline."""
    out: list[Any] = []
    for av in items:
        (tag,) = av
        val = av[tag]
        if tag == "M" and depth < MAX_DEPTH:
            out.append(_map(val, depth + 1, numbers, hidden, decide))
        elif tag == "S" and type(val) is str:
            out.append(val)
        elif tag == "B" and type(val) is str:
            out.append(_b2a(_a2b(val, strict_mode=True), newline=False).decode("ascii"))
        else:
            out.append(_value(tag, val, depth, numbers, hidden, decide))
    return out


def _canonical_integers(texts: list[Any]) -> bool:
    """Whether every one of ``texts`` is a whole number of up to 15 digits as Decimal writes
    it (no leading zero, no "-0"): ``int()`` then has its value, and the text, by which the
    line sorts a set, is the text itself."""
    for text in texts:
        if type(text) is not str or not 0 < len(text) < _SHORT or not text.isascii():
            return False
        digits = text[1:] if text[0] == "-" else text
        if not digits.isdigit() or (digits[0] == "0" and text != "0"):
            return False
    return True


def _value(
    tag: Any,
    val: Any,
    depth: int,
    numbers: list[Any],
    hidden: Mapping[str, bool],
    decide: Decide,
) -> Any:
    """One value of any type (the loops' less common cases): containers walked here (their
    maps are redacted), everything else decoded by :mod:`chalicelib.decoding`'s table, then
    converted."""
    if tag == "M" and depth < MAX_DEPTH:
        return _map(val, depth + 1, numbers, hidden, decide)
    if tag == "L" and depth < MAX_DEPTH and type(val) is list:
        return _list(val, depth + 1, numbers, hidden, decide)
    if tag == "N":
        numbers.append(val)
        return json_number(exact(val))
    return json_value(decode_tagged(tag, val, depth, numbers))


def changed_names(event_name: str, old: Any, new: Any) -> list[str] | None:
    """The sorted names of the top-level attributes an insert or a removal touched, from its
    images (checked already); ``None`` where the stream view type leaves the image out, or for
    an update (:func:`plain_update` tells those)."""
    if event_name == "INSERT" and new is not None:
        return sorted(new)
    if event_name == "REMOVE" and old is not None:
        return sorted(old)
    return None


def _same(a: Any, b: Any) -> bool:
    """Whether two valid attribute values whose DynamoDB JSON differs are the same value.

    A type change is a change (Python has ``True == Decimal(1)``); a map or list is the same
    when each of its values is; a string set whatever the order of its members. Numbers and
    binary values may be written differently (``"1"``, ``"1.0"``; base64's padding bits),
    so only they are decoded to be compared.
    """
    (tag,) = a
    (other,) = b
    if tag != other:
        return False
    x, y = a[tag], b[tag]
    if tag == "M":
        return x.keys() == y.keys() and all(v == y[k] or _same(v, y[k]) for k, v in x.items())
    if tag == "L":
        return len(x) == len(y) and all(v == w or _same(v, w) for v, w in zip(x, y, strict=True))
    if tag == "SS":
        return set(x) == set(y)
    if tag in ("S", "BOOL", "NULL"):
        return bool(x == y)
    return bool(decode_tagged(tag, x, 0, []) == decode_tagged(tag, y, 0, []))
