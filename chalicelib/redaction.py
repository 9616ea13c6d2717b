"""Keep personal data out of logs.

Two layers: attributes named in the redaction list are replaced wherever they occur (at any
depth of maps and lists), and anything shaped like an email address is masked in the final
text, whatever attribute or error message it came from.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

__all__ = ["REDACTED", "Redactor", "scrub_text"]

REDACTED = "***"
# The local part may be empty or quoted ("a b"@x.org): whatever precedes the @, the address
# is gone once the @ and its domain are masked. An apostrophe is a valid local-part character.
# A backslash escape (JSON's \n, \", \u001f) is matched first and kept whole: a mask starting
# inside one would leave "\<email>" behind, which is not JSON.
_EMAIL = re.compile(r"(\\u[0-9a-fA-F]{4}|\\.)|[^\s\"<>(),;:@\\]*@[^\s\"'<>(),;:@\\]+")


def _mask(match: re.Match[str]) -> str:
    return match.group(1) or "<email>"


def scrub_text(text: str) -> str:
    """Mask every email-address-shaped run in ``text`` (JSON escapes are left intact)."""
    return _EMAIL.sub(_mask, text) if "@" in text else text


class Redactor:
    """Replaces the values of the named attributes in decoded images."""

    def __init__(self, names: Iterable[str]) -> None:
        self.names = frozenset(n for n in names if n)

    def __call__(self, value: Any) -> Any:
        if not self.names:
            return value
        return self._walk(value)

    def _walk(self, value: Any) -> Any:
        if type(value) is dict:
            names = self.names
            return {k: REDACTED if k in names else self._walk(v) for k, v in value.items()}
        if type(value) is list:
            return [self._walk(v) for v in value]
        return value
