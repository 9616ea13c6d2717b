"""Decode DynamoDB stream images (DynamoDB JSON as Lambda delivers it) into Python values.

Type mapping (all ten DynamoDB types)::

    S    -> str            N    -> decimal.Decimal (exact, never rounded)
    B    -> bytes          BOOL -> bool
    NULL -> None           M    -> dict
    L    -> list           SS   -> set[str]
    NS   -> set[Decimal]   BS   -> set[bytes]

Lambda delivers binary values as base64 text, which boto3's ``TypeDeserializer`` does not
accept; numbers are decoded with ``Decimal(text)``, which is exact for every number DynamoDB
stores (boto3's 38-digit context raises on long runs of trailing zeros, such as ``1E+125``
written out in full).

The hot path does no bookkeeping: one loop per map that decodes the common types inline (no
function call per value), over a chain of tag comparisons ordered by how common each type is.
Number texts are parsed as they come and checked against DynamoDB's syntax once per image, all
together (one pass in C over their joined bytes, instead of one per number). Only when something
is wrong does :func:`decode_image` walk the image a second time, slowly, to say exactly which
attribute is broken (:class:`DecodeError`).

Strings are ``str`` instances (JSON never yields subclasses; they are accepted, not refused).
"""

from __future__ import annotations

import binascii
import re
from collections.abc import Mapping
from decimal import (
    MAX_EMAX,
    MAX_PREC,
    MIN_EMIN,
    Clamped,
    Context,
    Decimal,
    Inexact,
    InvalidOperation,
    Overflow,
    Rounded,
    Underflow,
)
from typing import Any

__all__ = ["DecodeError", "decode_image", "decode_value"]

# DynamoDB's number syntax: an optional minus sign, digits with an optional fraction, and an
# optional exponent. ``Decimal()`` alone would also take "NaN", "Infinity", "1_000" and " 1 ".
_NUMBER = re.compile(r"-?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_is_number = _NUMBER.fullmatch
_PLAIN = "0123456789.-"
_PLAIN_BYTES = _PLAIN.encode()
_STRICT = Context(traps=[InvalidOperation])  # malformed text raises, whatever the thread's
# create_decimal rounds to the context's precision: with the largest there is, it never does,
# so it is as exact as Decimal(text) and, mapped over a list, runs without a call per member.
# It traps every signal that would change a value (an exponent out of range), so it returns
# exactly what Decimal(text) returns, or raises where Decimal(text) does.
_exact = Context(
    prec=MAX_PREC,
    Emax=MAX_EMAX,
    Emin=MIN_EMIN,
    traps=[InvalidOperation, Inexact, Rounded, Overflow, Underflow, Clamped],
).create_decimal
_b64decode = binascii.a2b_base64
_join = "".join

MAX_DEPTH = 32  # DynamoDB allows at most 32 levels of nested documents


class DecodeError(ValueError):
    """A DynamoDB JSON value that cannot be decoded.

    ``path`` names the attribute (``profile.addresses[0].zip``); ``reason`` says what is wrong.
    The offending value itself is never part of the message: it may be personal data.
    """

    def __init__(self, path: str, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(f"{path or '<image>'}: {reason}" if path else reason)


def _number(text: Any) -> Decimal:
    # One number on its own, for _diagnose (decoding parses with _exact, then _check_numbers).
    # Text made of digits, "." and "-" only is a DynamoDB number exactly when Decimal accepts
    # it (which the trapping context makes it say); anything else must match _NUMBER first.
    if isinstance(text, str) and (not text.strip(_PLAIN) or _is_number(text)):
        return Decimal(text, _STRICT)
    raise ValueError("not a number")


def _check_numbers(texts: list[Any]) -> None:
    """Check the number texts of an image, all of which :data:`_exact` has already accepted.

    Text made of digits, "." and "-" only is a DynamoDB number exactly when Decimal accepts
    it; so when the joined texts hold nothing else (a non-string makes join raise, a non-ASCII
    character makes encode raise), they are all numbers. Otherwise each must match _NUMBER.
    """
    if texts and _join(texts).encode("ascii").translate(None, _PLAIN_BYTES):
        for text in texts:
            if not _is_number(text):
                raise ValueError("not a number")


def _strings(val: Any) -> set[str]:
    _join(val)  # every member is text, or TypeError
    return set(val)


def _binary(text: Any) -> bytes:
    if not isinstance(text, str):
        raise ValueError("binary is not base64 text")
    return _b64decode(text, strict_mode=True)


def _map(attributes: Any, depth: int, numbers: list[Any]) -> dict[str, Any]:
    """Decode a map of attribute values whose own values sit at ``depth``.

    The hot loop: the common types are decoded inline, without a call per value; anything
    else, including every malformed value, goes through :func:`_tagged`. Number texts are
    parsed here but their syntax is left to :func:`_check_numbers`: they go to ``numbers``.
    """
    out: dict[str, Any] = dict(attributes)  # the right size at once; every value replaced
    for name, av in attributes.items():
        (tag,) = av  # exactly one type tag, or ValueError
        val = av[tag]
        if tag == "S":
            if type(val) is str:
                out[name] = val
                continue
        elif tag == "N":
            numbers.append(val)
            out[name] = _exact(val)
            continue
        elif tag == "BOOL":
            if type(val) is bool:
                out[name] = val
                continue
        elif tag == "M":
            if depth < MAX_DEPTH:
                out[name] = _map(val, depth + 1, numbers)
                continue
        elif tag == "NULL":
            if val is True:
                out[name] = None
                continue
        elif tag == "L":
            if depth < MAX_DEPTH and type(val) is list:
                out[name] = _list(val, depth + 1, numbers)
                continue
        elif tag == "SS":
            if type(val) is list:
                _join(val)  # every member is text, or TypeError
                out[name] = set(val)
                continue
        elif tag == "NS":
            if type(val) is list:
                numbers += val
                out[name] = set(map(_exact, val))
                continue
        elif tag == "B":  # noqa: SIM102 - one shape for every branch
            if type(val) is str:
                out[name] = _b64decode(val, strict_mode=True)
                continue
        out[name] = _tagged(tag, val, depth, numbers)
    return out


def _list(items: list[Any], depth: int, numbers: list[Any]) -> list[Any]:
    """Decode the attribute values of a list whose items sit at ``depth``."""
    out: list[Any] = []
    for av in items:
        (tag,) = av
        val = av[tag]
        if tag == "M" and depth < MAX_DEPTH:
            out.append(_map(val, depth + 1, numbers))
        else:
            out.append(_tagged(tag, val, depth, numbers))
    return out


def _tagged(tag: Any, val: Any, depth: int, numbers: list[Any]) -> Any:
    """Decode one attribute value, given as its type tag and value, at ``depth``."""
    if tag == "S":
        if isinstance(val, str):
            return val
    elif tag == "N":
        numbers.append(val)
        return _exact(val)
    elif tag == "M":
        if depth < MAX_DEPTH:
            return _map(val, depth + 1, numbers)
    elif tag == "BOOL":
        if type(val) is bool:
            return val
    elif tag == "L":
        if depth < MAX_DEPTH and type(val) is list:
            return _list(val, depth + 1, numbers)
    elif tag == "NULL":
        if val is True:
            return None
    elif tag == "SS":
        if type(val) is list:
            return _strings(val)
    elif tag == "NS":
        if type(val) is list:
            numbers += val
            return set(map(_exact, val))
    elif tag == "B":
        return _binary(val)
    elif tag == "BS":  # noqa: SIM102 - one shape for every branch
        if type(val) is list:
            return set(map(_binary, val))
    raise ValueError(tag)


def decode_value(av: Mapping[str, Any]) -> Any:
    """Decode one attribute value (``{"S": "x"}``) to a Python value."""
    try:
        numbers: list[Any] = []
        (tag,) = av  # exactly one type tag, or ValueError
        value = _tagged(tag, av[tag], 0, numbers)
        _check_numbers(numbers)
        return value
    except Exception as exc:
        _diagnose(av, "")
        raise DecodeError("", "value could not be decoded") from exc


def decode_image(image: Mapping[str, Any]) -> dict[str, Any]:
    """Decode one stream image (``NewImage``, ``OldImage`` or ``Keys``) to a plain ``dict``.

    >>> decode_image({"id": {"S": "u1"}, "age": {"N": "42"}, "tags": {"SS": ["a"]}})
    {'id': 'u1', 'age': Decimal('42'), 'tags': {'a'}}

    Raises :class:`DecodeError` naming the attribute when the image is malformed.
    """
    try:
        numbers: list[Any] = []
        out = _map(image, 0, numbers)
        _check_numbers(numbers)
        return out
    except Exception as exc:
        if not isinstance(image, Mapping):
            raise DecodeError("", "image is not a map of attribute values") from None
        for name, av in image.items():
            if type(name) is not str:
                raise DecodeError("", "attribute name is not a string") from None
            _diagnose(av, name)
        raise DecodeError("", "image could not be decoded") from exc


# --- the slow path: find and name what is broken -------------------------------------------

_SIMPLE_CHECKS: dict[str, tuple[type, str]] = {  # isinstance: bool cannot be subclassed
    "S": (str, "S value is not a string"),
    "BOOL": (bool, "BOOL value is not true or false"),
}


def _diagnose(av: Any, path: str, depth: int = 0) -> None:
    """Walk ``av`` like :func:`_tagged` does, raising a :class:`DecodeError` at the first fault."""
    if not isinstance(av, Mapping) or len(av) != 1:
        raise DecodeError(path, "not an attribute value (a map with exactly one type tag)")
    ((tag, val),) = av.items()
    if tag in _SIMPLE_CHECKS:
        kind, message = _SIMPLE_CHECKS[tag]
        if not isinstance(val, kind):
            raise DecodeError(path, message)
    elif tag == "N":
        _check(path, _number, val, "N value is not a valid number")
    elif tag == "B":
        _check(path, _binary, val, "B value is not valid base64")
    elif tag == "NULL":
        if val is not True:
            raise DecodeError(path, "NULL value must be true")
    elif tag in ("M", "L") and depth >= MAX_DEPTH:
        raise DecodeError(path, f"nested deeper than {MAX_DEPTH} levels")
    elif tag == "M":
        if not isinstance(val, Mapping):
            raise DecodeError(path, "M value is not a map")
        for key, item in val.items():
            if type(key) is not str:
                raise DecodeError(path, "map key is not a string")
            _diagnose(item, f"{path}.{key}" if path else key, depth + 1)
    elif tag == "L":
        if type(val) is not list:
            raise DecodeError(path, "L value is not a list")
        for i, item in enumerate(val):
            _diagnose(item, f"{path}[{i}]", depth + 1)
    elif tag in ("SS", "NS", "BS"):
        if type(val) is not list:
            raise DecodeError(path, f"{tag} value is not a list")
        for i, item in enumerate(val):
            if tag == "SS" and not isinstance(item, str):
                raise DecodeError(f"{path}[{i}]", "SS member is not a string")
            if tag == "NS":
                _check(f"{path}[{i}]", _number, item, "NS member is not a valid number")
            if tag == "BS":
                _check(f"{path}[{i}]", _binary, item, "BS member is not valid base64")
    else:
        raise DecodeError(path, f"unknown type tag {str(tag)[:16]!r}")


def _check(path: str, parse: Any, val: Any, message: str) -> None:
    try:
        parse(val)
    except (ValueError, TypeError, InvalidOperation, binascii.Error):
        raise DecodeError(path, message) from None
