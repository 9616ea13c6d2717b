"""The log lines of users-stream, as values: one structured JSON line per change (and one for
each thing a reaction did), personal data redacted. Pure: writing them is the runner's job
(:mod:`chalicelib.sink`)."""

from __future__ import annotations

import logging
from typing import Any

from chalicelib.loggable import changed_names, plain_image, plain_update
from chalicelib.logline import render
from chalicelib.records import Change
from chalicelib.redaction import Redactor, scrub_text
from chalicelib.result import Line

__all__ = ["ChangeLog"]


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
        """The line every change gets: its images read once each, straight from the stream
        (:mod:`chalicelib.loggable`), and checked on the way. Above INFO there is no line,
        and the images are checked all the same."""
        if self.level > logging.INFO:
            change.check_images()
            return ()
        body = change.raw["dynamodb"]
        old, new = body.get("OldImage"), body.get("NewImage")
        created = change.approximate_creation_time
        entry: dict[str, Any] = {
            "level": "INFO",
            "message": "ttl_expiry" if change.is_ttl_expiry else "change",
            "event": change.event_name,
            "table": change.table_name or None,
            "keys": self._plain(change, "Keys", body["Keys"]),
            "sequence_number": change.sequence_number,
            "event_id": change.event_id,
            "created": None if created is None else created.isoformat(),
            "size_bytes": change.size_bytes,
            "ttl_expiry": change.is_ttl_expiry,
            "changed": None,
            "old_image": None,
            "new_image": None,
        }
        if old is not None:
            entry["old_image"] = self._plain(change, "OldImage", old)
        if old is not None and new is not None and change.event_name == "MODIFY":
            entry["new_image"], entry["changed"] = self._update(
                change, old, new, entry["old_image"]
            )
        else:
            if new is not None:
                entry["new_image"] = self._plain(change, "NewImage", new)
            entry["changed"] = changed_names(change.event_name, old, new)
        if self.request_id is not None:
            entry["request_id"] = self.request_id
        return (Line(logging.INFO, render(entry, scrub_text)),)

    def _plain(self, change: Change, name: str, image: Any) -> dict[str, Any]:
        try:
            return plain_image(image, self._redact.hides, self._redact.decide)
        except Exception:
            raise change.image_fault(name) from None

    def _update(
        self, change: Change, old: Any, new: Any, written: dict[str, Any]
    ) -> tuple[dict[str, Any], list[str]]:
        try:
            return plain_update(old, written, new, self._redact.hides, self._redact.decide)
        except Exception:
            raise change.image_fault("NewImage") from None

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
            entry["keys"] = self._plain(change, "Keys", change.raw["dynamodb"]["Keys"])
        entry.update(fields)
        if self.request_id is not None:
            entry["request_id"] = self.request_id
        return (Line(level, render(entry, scrub_text)),)
