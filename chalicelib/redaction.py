"""Keep personal data out of logs.

Two layers: attributes matched by the redaction list are replaced wherever they occur (at any
depth of maps and lists; a set is replaced whole: :mod:`chalicelib.loggable` applies it), and
anything shaped like an email address is masked in the final text, whatever attribute or error
message it came from.

An entry of the list matches attribute names case-insensitively, as a word of the name: ``name``
matches ``name``, ``Name``, ``NAME``, ``full_name``, ``firstName``, ``display-name`` and
``names``, not ``username`` or ``renamed``. An entry with a wildcard (``*``, ``?``) is a pattern
over the whole name instead: ``*name*`` matches ``username`` too.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from fnmatch import translate

__all__ = ["REDACTED", "Redactor", "scrub_text"]

MAX_REMEMBERED = 4096  # attribute names whose verdict is kept (names repeat across records)
_WORD_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|[\W_]+")


def _words(name: str) -> str:
    """``name`` as lower-case words between underscores: ``firstName`` -> ``_first_name_``."""
    return "_" + "_".join(w for w in _WORD_BOUNDARY.split(name) if w).casefold() + "_"


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
    """Which attributes are redacted: the one rule, applied by the log line's walk
    (:mod:`chalicelib.loggable`) at every depth of every image.

    :meth:`hidden` says whether an attribute called ``name`` is redacted. Verdicts are
    remembered in ``hides`` (a plain dict: the log line's hot loop reads it directly and calls
    :meth:`decide` only for a name it has not seen).
    """

    def __init__(self, entries: Iterable[str]) -> None:
        self.entries = tuple(sorted({e.strip() for e in entries if e and e.strip()}))
        words = [_words(e) for e in self.entries if not any(c in e for c in "*?[")]
        words += [w[:-1] + "s_" for w in words]  # and the plural: "names", "emails"
        patterns = [translate(e) for e in self.entries if any(c in e for c in "*?[")]
        match = re.compile("|".join(patterns), re.IGNORECASE).match if patterns else None

        self._match = match
        self._words = tuple(words)
        self.hides: dict[str, bool] = {}

    def decide(self, name: str) -> bool:
        """Whether ``name`` is redacted, decided from the entries (and remembered)."""
        verdict = (self._match is not None and self._match(name) is not None) or any(
            word in _words(name) for word in self._words
        )
        if len(self.hides) < MAX_REMEMBERED:
            self.hides[name] = verdict
        return verdict

    def hidden(self, name: str) -> bool:
        try:
            return self.hides[name]
        except KeyError:
            return self.decide(name)
