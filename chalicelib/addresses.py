"""What counts as one plain email address: the one rule for the sender and every recipient."""

from __future__ import annotations

import re

__all__ = ["MAX_ADDRESS", "is_plain_address"]

# One plain address: no spaces, quotes, angle brackets, commas or control characters, and a
# dotted domain. Stricter than RFC 5322 on purpose: SES and every mail system accept these.
_ADDRESS = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
MAX_ADDRESS = 254


def is_plain_address(text: str) -> bool:
    """Whether ``text`` is exactly one plain address (``name@example.com``)."""
    return len(text) <= MAX_ADDRESS and _ADDRESS.fullmatch(text) is not None
