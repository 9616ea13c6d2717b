"""One structured JSON log line per change (and for each reaction), personal data redacted."""

from __future__ import annotations

import logging
import sys
from base64 import b64encode
from collections.abc import Callable, Mapping
from decimal import Decimal
from functools import partial
from typing import Any, TextIO

from chalicelib.logline import DOUBLE_EXACT, encodable, json_default, json_number, render
from chalicelib.records import Change
from chalicelib.redaction import REDACTED, Redactor, scrub_text

__all__ = ["ChangeLog", "json_default", "make_logger"]

LOGGER_NAME = "users_stream"
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


class _LineHandler(logging.StreamHandler[TextIO]):
    """Writes each record's message as a bare line (no prefix): the app's own handler."""

    def __init__(self, stream: TextIO | None = None) -> None:
        super().__init__(stream)
        self.setFormatter(logging.Formatter("%(message)s"))
        self._strict: tuple[object, bool] = (None, False)

    def _refuses_unencodable(self, stream: TextIO) -> bool:
        """Whether ``stream`` encodes to UTF-8 and raises on what it cannot encode (as Lambda's
        standard output does): then a line is written as it is, and escaped only if refused.
        Other streams (a StringIO, ``surrogateescape``) get every line checked first."""
        known, strict = self._strict
        if known is not stream:
            encoding = str(getattr(stream, "encoding", None) or "").lower().replace("-", "")
            strict = encoding == "utf8" and getattr(stream, "errors", None) == "strict"
            self._strict = (stream, strict)
        return strict

    def write_line(self, line: str, level: int) -> None:
        """What :meth:`emit` writes for a record whose message is ``line``, without the record
        (see :meth:`ChangeLog._emit`). A line never fails for a character that cannot be
        encoded: it is written with that character escaped (:func:`encodable`)."""
        with self.lock:  # type: ignore[union-attr]  # always set by Handler.__init__
            try:
                stream = self._current_stream()
                if self._refuses_unencodable(stream):
                    try:
                        stream.write(line + self.terminator)
                    except UnicodeEncodeError:  # raised before anything is written
                        stream.write(encodable(line) + self.terminator)
                else:
                    stream.write(encodable(line) + self.terminator)
                self.flush()
            except Exception:
                self.handleError(logging.makeLogRecord({"msg": line, "levelno": level}))

    def _current_stream(self) -> TextIO:
        return self.stream

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = self._current_stream()
        record.msg = encodable(record.getMessage())
        record.args = None
        super().emit(record)


class _StdoutHandler(_LineHandler):
    """Writes to ``sys.stdout`` as it is when each line is written (tools and tests swap it)."""

    def _current_stream(self) -> TextIO:
        self.stream = sys.stdout
        return self.stream


def make_logger(level: str = "INFO", stream: TextIO | None = None) -> logging.Logger:
    """The app's logger: bare JSON lines (no prefix), so log tools can parse every line.

    Without ``stream``: the shared ``users_stream`` logger, writing to standard output. With a
    ``stream``: a logger of its own, so that an injected stream never takes over the shared
    logger's output, nor another instance's.
    """
    handlers: list[logging.Handler] = []
    if stream is None:
        logger = logging.getLogger(LOGGER_NAME)
        if not any(isinstance(h, _StdoutHandler) for h in logger.handlers):
            handlers.append(_StdoutHandler())
    else:
        logger = logging.Logger(LOGGER_NAME)  # not registered: private to its caller
        handlers.append(_LineHandler(stream))
    for handler in handlers:
        logger.addHandler(handler)
    logger.setLevel(level.upper() if level else "INFO")
    logger.propagate = False
    return logger


_LINE_HANDLERS = (_LineHandler, _StdoutHandler)


class ChangeLog:
    """Writes the log lines of users-stream. Every line passes through :func:`scrub_text`."""

    def __init__(self, logger: logging.Logger, redactor: Redactor) -> None:
        self._logger = logger
        # Set for the duration of a batch whose records finish in order (chalicelib.batch.
        # InOrder.write): each line is handed to it, to be written when its record's turn comes.
        self.route: Callable[[Callable[[], object]], object] | None = None
        # Set for the duration of a batch (issue 14's metrics): told each event's message,
        # in record order like the lines (a record's count is dropped with its lines).
        self.tally: Callable[[str], object] | None = None
        # The invocation's request id (Lambda's context.aws_request_id), on every line while set.
        self.request_id: str | None = None
        self._redact = redactor

    def change(self, change: Change) -> None:
        """The line every change gets."""
        if not self._logger.isEnabledFor(logging.INFO):
            return
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
        self._write(logging.INFO, render(entry, scrub_text))

    def event(self, level: int, message: str, change: Change | None = None, **fields: Any) -> None:
        """A line about something the app did (email sent, skipped, rejected, a failure)."""
        tally = self.tally
        if tally is not None:
            self._count(tally, message)
        if not self._logger.isEnabledFor(level):
            return
        entry: dict[str, Any] = {"level": logging.getLevelName(level), "message": message}
        if change is not None:
            entry["sequence_number"] = change.sequence_number
            entry["event_id"] = change.event_id
            entry["keys"] = self._redact(change.keys)
        entry.update(fields)
        if self.request_id is not None:
            entry["request_id"] = self.request_id
        self._write(level, render(entry, scrub_text))

    def _count(self, tally: Callable[[str], object], message: str) -> None:
        if self.route is None:
            tally(message)
        else:
            self.route(partial(tally, message))

    def _write(self, level: int, line: str) -> None:
        if self.route is None:
            self._emit(level, line)
        else:
            self.route(partial(self._emit, level, line))

    def _emit(self, level: int, line: str) -> None:
        """Log ``line`` at ``level`` (already known to be enabled: the caller checked).

        While the logger is as :func:`make_logger` left it - only the app's own line handlers,
        no filters, not propagating - the line goes straight to their streams: the same bytes
        the logging module would write, without building a ``LogRecord`` (some 8 % of a
        batch's time) that no formatter or filter would read. Anything else set up on the
        logger (another handler, a filter, propagation, a handler's own level) is honoured by
        the ordinary path.
        """
        logger = self._logger
        handlers = logger.handlers
        if handlers and not (logger.propagate or logger.filters or logger.disabled):
            for handler in handlers:
                if type(handler) not in _LINE_HANDLERS or handler.filters or level < handler.level:
                    break
            else:
                for handler in handlers:
                    handler.write_line(line, level)  # type: ignore[attr-defined]
                return
        logger.log(level, encodable(line))
