"""DynamoDB's numbers: parsed exactly, and their syntax checked, many at once, in C.

DynamoDB keeps up to 38 significant digits, from 1E-130 to 9.99...E+125, and its syntax is
narrower than Python's ``Decimal()``, which also takes "NaN", "Infinity", "+1", "1_000" and
" 1 ". A reader parses each number text with :data:`exact` as it meets it and hands the texts
to :func:`check_numbers` once per image.
"""

from __future__ import annotations

import re
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

__all__ = ["check_numbers", "exact", "parse_number"]

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
exact = Context(
    prec=MAX_PREC,
    Emax=MAX_EMAX,
    Emin=MIN_EMIN,
    traps=[InvalidOperation, Inexact, Rounded, Overflow, Underflow, Clamped],
).create_decimal
_join = "".join


def parse_number(text: Any) -> Decimal:
    """One number on its own (for naming a broken one: decoding parses with :data:`exact`,
    then :func:`check_numbers`), or ValueError."""
    # Text made of digits, "." and "-" only is a DynamoDB number exactly when Decimal accepts
    # it (which the trapping context makes it say); anything else must match _NUMBER first.
    if isinstance(text, str) and (not text.strip(_PLAIN) or _is_number(text)):
        return Decimal(text, _STRICT)
    raise ValueError("not a number")


def check_numbers(texts: list[Any]) -> None:
    """Check the number texts of an image, all of which :data:`exact` has already accepted.

    Text that Decimal accepts is a DynamoDB number when it is made of digits, ".", "-", the
    exponent's "e" or "E" and a "+" only right after it: Decimal's other forms ("+1", "1_000",
    " 1", "Infinity", "NaN") all hold something else. So when the joined texts hold nothing
    else (a non-string makes join raise, a non-ASCII character makes encode raise; a text that
    Decimal accepts never ends in "e"), they are all numbers, checked in C; otherwise each
    must match _NUMBER.
    """
    if not texts:
        return
    joined = _join(texts).encode("ascii")
    rest = joined.translate(None, _PLAIN_BYTES)
    if not rest:
        return
    if not rest.translate(None, b"eE+") and joined.count(b"+") == (
        joined.count(b"e+") + joined.count(b"E+")
    ):
        return
    for text in texts:
        if not _is_number(text):
            raise ValueError("not a number")
