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
Everything else goes through one table of the ten types (``_TYPES``: how to decode each, and
how to say what is wrong with one), which decoding and the error diagnosis share.
Number texts are parsed as they come and checked against DynamoDB's syntax once per image, all
together (:mod:`chalicelib.numbers`). Only when something is wrong does :func:`decode_image`
walk the image a second time, slowly, to say exactly which attribute is broken
(:class:`DecodeError`).

One module of some 330 lines on purpose: the table pairs, for each of the ten types, how to
decode it with how to say what is wrong with it, so that the two can never drift apart.

Strings are ``str`` instances (JSON never yields subclasses; they are accepted, not refused).
"""

from __future__ import annotations

import binascii
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any, NamedTuple

from chalicelib.numbers import check_numbers, exact, parse_number

__all__ = ["MAX_DEPTH", "DecodeError", "decode_image", "decode_tagged", "decode_value"]

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
    else, including every malformed value, goes through :func:`decode_tagged`. Number texts are
    parsed here but their syntax is left to :func:`check_numbers`: they go to ``numbers``.
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
            out[name] = exact(val)
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
                out[name] = set(map(exact, val))
                continue
        elif tag == "B":  # noqa: SIM102 - one shape for every branch
            if type(val) is str:
                out[name] = _b64decode(val, strict_mode=True)
                continue
        out[name] = decode_tagged(tag, val, depth, numbers)
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
            out.append(decode_tagged(tag, val, depth, numbers))
    return out


def decode_tagged(tag: Any, val: Any, depth: int, numbers: list[Any]) -> Any:
    """Decode one attribute value, given as its type tag and value, at ``depth``."""
    kind = _TYPES.get(tag)
    if kind is None:
        raise ValueError("unknown type tag")
    return kind.decode(val, depth, numbers)


def decode_value(av: Mapping[str, Any]) -> Any:
    """Decode one attribute value (``{"S": "x"}``) to a Python value."""
    try:
        numbers: list[Any] = []
        (tag,) = av  # exactly one type tag, or ValueError
        value = decode_tagged(tag, av[tag], 0, numbers)
        check_numbers(numbers)
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
        check_numbers(numbers)
        return out
    except Exception as exc:
        if not isinstance(image, Mapping):
            raise DecodeError("", "image is not a map of attribute values") from None
        for name, av in image.items():
            if type(name) is not str:
                raise DecodeError("", "attribute name is not a string") from None
            _diagnose(av, name)
        raise DecodeError("", "image could not be decoded") from exc


# --- the ten types: one table, for decoding (decode_tagged) and for naming what is broken --------


def _decode_s(val: Any, depth: int, numbers: list[Any]) -> str:
    if isinstance(val, str):
        return val
    raise ValueError("S")


def _decode_n(val: Any, depth: int, numbers: list[Any]) -> Decimal:
    numbers.append(val)
    return exact(val)


def _decode_bool(val: Any, depth: int, numbers: list[Any]) -> bool:
    if type(val) is bool:
        return val
    raise ValueError("BOOL")


def _decode_null(val: Any, depth: int, numbers: list[Any]) -> None:
    if val is not True:
        raise ValueError("NULL")


def _decode_m(val: Any, depth: int, numbers: list[Any]) -> dict[str, Any]:
    if depth < MAX_DEPTH:
        return _map(val, depth + 1, numbers)
    raise ValueError("M")


def _decode_l(val: Any, depth: int, numbers: list[Any]) -> list[Any]:
    if depth < MAX_DEPTH and type(val) is list:
        return _list(val, depth + 1, numbers)
    raise ValueError("L")


def _decode_ss(val: Any, depth: int, numbers: list[Any]) -> set[str]:
    if type(val) is list:
        return _strings(val)
    raise ValueError("SS")


def _decode_ns(val: Any, depth: int, numbers: list[Any]) -> set[Decimal]:
    if type(val) is list:
        numbers += val
        return set(map(exact, val))
    raise ValueError("NS")


def _decode_b(val: Any, depth: int, numbers: list[Any]) -> bytes:
    return _binary(val)


def _decode_bs(val: Any, depth: int, numbers: list[Any]) -> set[bytes]:
    if type(val) is list:
        return set(map(_binary, val))
    raise ValueError("BS")


def _check_simple(kind: type, message: str) -> Any:
    def check(val: Any, path: str, depth: int) -> None:
        if not isinstance(val, kind):
            raise DecodeError(path, message)

    return check


def _check_parsed(parse: Any, message: str) -> Any:
    def check(val: Any, path: str, depth: int) -> None:
        _check(path, parse, val, message)

    return check


def _check_null(val: Any, path: str, depth: int) -> None:
    if val is not True:
        raise DecodeError(path, "NULL value must be true")


def _check_m(val: Any, path: str, depth: int) -> None:
    if depth >= MAX_DEPTH:
        raise DecodeError(path, f"nested deeper than {MAX_DEPTH} levels")
    if not isinstance(val, Mapping):
        raise DecodeError(path, "M value is not a map")
    for key, item in val.items():
        if type(key) is not str:
            raise DecodeError(path, "map key is not a string")
        _diagnose(item, f"{path}.{key}" if path else key, depth + 1)


def _check_l(val: Any, path: str, depth: int) -> None:
    if depth >= MAX_DEPTH:
        raise DecodeError(path, f"nested deeper than {MAX_DEPTH} levels")
    if type(val) is not list:
        raise DecodeError(path, "L value is not a list")
    for i, item in enumerate(val):
        _diagnose(item, f"{path}[{i}]", depth + 1)


def _check_set(tag: str, member: Any) -> Any:
    def check(val: Any, path: str, depth: int) -> None:
        if type(val) is not list:
            raise DecodeError(path, f"{tag} value is not a list")
        for i, item in enumerate(val):
            member(item, f"{path}[{i}]", depth)

    return check


class _Type(NamedTuple):
    decode: Any  # (value, depth, numbers) -> the Python value, or raises
    check: Any  # (value, path, depth) -> None, or raises the DecodeError that names the fault


# The fast path (_map, _list) decodes the common types inline - a call per value costs more
# than the decoding itself - and hands everything else, every malformed value included, to this
# table; so does decode_value. _diagnose walks a broken image with the same table.
_TYPES: dict[str, _Type] = {
    "S": _Type(_decode_s, _check_simple(str, "S value is not a string")),
    "N": _Type(_decode_n, _check_parsed(parse_number, "N value is not a valid number")),
    "BOOL": _Type(_decode_bool, _check_simple(bool, "BOOL value is not true or false")),
    "NULL": _Type(_decode_null, _check_null),
    "M": _Type(_decode_m, _check_m),
    "L": _Type(_decode_l, _check_l),
    "SS": _Type(_decode_ss, _check_set("SS", _check_simple(str, "SS member is not a string"))),
    "NS": _Type(
        _decode_ns,
        _check_set("NS", _check_parsed(parse_number, "NS member is not a valid number")),
    ),
    "B": _Type(_decode_b, _check_parsed(_binary, "B value is not valid base64")),
    "BS": _Type(
        _decode_bs,
        _check_set("BS", _check_parsed(_binary, "BS member is not valid base64")),
    ),
}


def _diagnose(av: Any, path: str, depth: int = 0) -> None:
    """Walk ``av`` as decoding does, raising a :class:`DecodeError` at the first fault."""
    if not isinstance(av, Mapping) or len(av) != 1:
        raise DecodeError(path, "not an attribute value (a map with exactly one type tag)")
    ((tag, val),) = av.items()
    kind = _TYPES.get(tag)
    if kind is None:
        raise DecodeError(path, f"unknown type tag {str(tag)[:16]!r}")
    kind.check(val, path, depth)


def _check(path: str, parse: Any, val: Any, message: str) -> None:
    try:
        parse(val)
    except (ValueError, TypeError, InvalidOperation, binascii.Error):
        raise DecodeError(path, message) from None
