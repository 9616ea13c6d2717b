"""The log lines of users-stream, as values: one structured JSON line per change (and one for
each thing a reaction did), personal data redacted. Pure: writing them is the runner's job
(:mod:`chalicelib.sink`)."""

from __future__ import annotations

import logging
from base64 import b64encode
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

from chalicelib.logline import DOUBLE_EXACT, json_default, json_number, render
from chalicelib.records import Change
from chalicelib.redaction import REDACTED, Redactor, scrub_text
from chalicelib.result import Line

__all__ = ["ChangeLog", "json_default"]

_DOUBLE_EXACT, _MINUS_DOUBLE_EXACT = DOUBLE_EXACT, -DOUBLE_EXACT
_json_number = json_number


Decide = Callable[[str], bool]


def _plain_map(image: dict[str, Any], hidden: Mapping[str, bool], decide: Decide) -> dict[str, Any]:
    """A decoded map as plain JSON values, its attributes redacted where ``hidden`` says so
    (or ``decide``, for a name ``hidden`` has no verdict on yet).

    The same text as redacting (:class:`~chalicelib.redaction.Redactor`) and then encoding
    with :func:`json_default`, in one walk: the encoder then never calls back into Python.
    """
    out: dict[str, Any] = {}
    for name, value in image.items():
        kind = type(value)
        try:
            hide = hidden[name]
        except KeyError:
            hide = decide(name)
        if hide:
            out[name] = REDACTED
        elif kind is str or kind is bool or value is None:
            out[name] = value
        elif kind is Decimal:  # _json_number, inline: the most common value that needs work
            if _MINUS_DOUBLE_EXACT < value < _DOUBLE_EXACT and value == value.to_integral_value():
                out[name] = int(value)
            else:
                out[name] = str(value)
        elif kind is dict:
            out[name] = _plain_map(value, hidden, decide)
        else:
            out[name] = _plain(value, hidden, decide)
    return out


def _plain_update(
    raw_new: Any,
    differences: dict[str, Any],
    plain_old: dict[str, Any],
    hidden: Mapping[str, bool],
    decide: Decide,
) -> dict[str, Any]:
    """:func:`_plain_map` of the new image of an update, given the old image's.

    An attribute whose stream JSON is the same in both images has the same plain value: the
    old image's is reused, and only ``differences`` (the new values of the others,
    :attr:`~chalicelib.records.Change.new_differences`) are converted.
    """
    out = {name: None if name in differences else plain_old[name] for name in raw_new}
    out.update(_plain_map(differences, hidden, decide))  # in place: the new image's order is kept
    return out


def _plain(value: Any, hidden: Mapping[str, bool], decide: Decide) -> Any:
    kind = type(value)
    if kind is dict:
        return _plain_map(value, hidden, decide)
    if kind is list:
        return [_plain(item, hidden, decide) for item in value]
    if kind is Decimal:
        return _json_number(value)
    if kind is set or kind is frozenset:
        return [
            item if type(item) is str else _plain(item, hidden, decide)
            for item in sorted(value, key=str)
        ]
    if kind is bytes:
        return b64encode(value).decode("ascii")
    return value  # str, bool, None; anything unusual is left to json_default, as before


class ChangeLog:
    """Builds the log lines of users-stream, at ``level`` and above. Every line passes through
    :func:`scrub_text`. Each method returns the lines it made: none below ``level``. Each line
    carries ``request_id`` (the invocation's, Lambda's ``context.aws_request_id``) when known:
    see :meth:`for_request`."""

    def __init__(self, level: int | str, redactor: Redactor, request_id: str | None = None) -> None:
        self.level = level if isinstance(level, int) else logging.getLevelName(level.upper())
        self.request_id = request_id
        self._redact = redactor

    def for_request(self, request_id: str | None) -> ChangeLog:
        """This log for one invocation: the same, with ``request_id`` on every line."""
        if request_id == self.request_id:
            return self
        return ChangeLog(self.level, self._redact, request_id)

    def change(self, change: Change) -> tuple[Line, ...]:
        """The line every change gets."""
        if self.level > logging.INFO:
            return ()
        changes = change.changed_attributes
        created = change.approximate_creation_time
        hidden, decide = self._redact.hides, self._redact.decide
        old, differences = change.old_image, change.new_differences
        plain_old = None if old is None else _plain_map(old, hidden, decide)
        plain_new: dict[str, Any] | None
        if plain_old is not None and differences is not None:  # a MODIFY with both images
            plain_new = _plain_update(
                change.raw["dynamodb"]["NewImage"], differences, plain_old, hidden, decide
            )
        else:
            new = change.new_image
            plain_new = None if new is None else _plain_map(new, hidden, decide)
        entry: dict[str, Any] = {
            "level": "INFO",
            "message": "ttl_expiry" if change.is_ttl_expiry else "change",
            "event": change.event_name,
            "table": change.table_name or None,
            "keys": _plain_map(change.keys, hidden, decide),
            "sequence_number": change.sequence_number,
            "event_id": change.event_id,
            "created": None if created is None else created.isoformat(),
            "size_bytes": change.size_bytes,
            "ttl_expiry": change.is_ttl_expiry,
            "changed": None if changes is None else changes.names,
            "old_image": plain_old,
            "new_image": plain_new,
        }
        if self.request_id is not None:
            entry["request_id"] = self.request_id
        return (Line(logging.INFO, render(entry, scrub_text)),)

    def event(
        self, level: int, message: str, change: Change | None = None, **fields: Any
    ) -> tuple[Line, ...]:
        """A line about something the app did (email sent, skipped, rejected, a failure)."""
        if level < self.level:
            return ()
        entry: dict[str, Any] = {"level": logging.getLevelName(level), "message": message}
        if change is not None:
            entry["sequence_number"] = change.sequence_number
            entry["event_id"] = change.event_id
            entry["keys"] = self._redact(change.keys)
        entry.update(fields)
        if self.request_id is not None:
            entry["request_id"] = self.request_id
        return (Line(level, render(entry, scrub_text)),)
