"""Where log lines go: the app's logger, writing each line bare (no prefix) to its stream.

The runner (:mod:`chalicelib.runner`) is the only writer: it hands each record's
:class:`~chalicelib.result.Line` s to :meth:`LineSink.write`, in record order.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable
from typing import TextIO

from chalicelib.logline import encodable
from chalicelib.result import Line

__all__ = ["LOGGER_NAME", "LineSink", "make_logger"]

LOGGER_NAME = "users_stream"


class _LineHandler(logging.StreamHandler[TextIO]):
    """Writes each record's message as a bare line (no prefix): the app's own handler.

    Without a ``stream``, it writes to ``sys.stdout`` as it is when each line is written, not
    as it was when the handler was made: Lambda's runtime leaves it alone, and a process that
    swaps it after import (the local tools, a test capturing output) still gets its lines.
    """

    def __init__(self, stream: TextIO | None = None) -> None:
        super().__init__(stream)
        self._stdout = stream is None
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
        (see :meth:`LineSink.write`). A line never fails for a character that cannot be
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
        if self._stdout:
            self.stream = sys.stdout
        return self.stream

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = self._current_stream()
        record.msg = encodable(record.getMessage())
        record.args = None
        super().emit(record)


def make_logger(level: str = "INFO", stream: TextIO | None = None) -> logging.Logger:
    """The app's logger: bare JSON lines (no prefix), so log tools can parse every line.

    Without ``stream``: the shared ``users_stream`` logger, writing to standard output. With a
    ``stream``: a logger of its own, so that an injected stream never takes over the shared
    logger's output, nor another instance's.
    """
    handlers: list[logging.Handler] = []
    if stream is None:
        logger = logging.getLogger(LOGGER_NAME)
        if not any(type(h) is _LineHandler for h in logger.handlers):
            handlers.append(_LineHandler())
    else:
        logger = logging.Logger(LOGGER_NAME)  # not registered: private to its caller
        handlers.append(_LineHandler(stream))
    for handler in handlers:
        logger.addHandler(handler)
    logger.setLevel(level.upper() if level else "INFO")
    logger.propagate = False
    return logger


class LineSink:
    """Writes lines through ``logger``."""

    def __init__(self, logger: logging.Logger) -> None:
        self.logger = logger

    def write(self, lines: Iterable[Line]) -> None:
        """Log each line at its level.

        While the logger is as :func:`make_logger` left it - only the app's own line handlers,
        no filters, not propagating - the line goes straight to their streams: the same bytes
        the logging module would write, without building a ``LogRecord`` (some 8 % of a
        batch's time) that no formatter or filter would read. Anything else set up on the
        logger (another handler, a filter, propagation, a handler's own level) is honoured by
        the ordinary path.
        """
        logger = self.logger
        for level, text in lines:
            handlers = logger.handlers
            if handlers and not (logger.propagate or logger.filters or logger.disabled):
                for handler in handlers:
                    if (
                        type(handler) is not _LineHandler
                        or handler.filters
                        or level < handler.level
                    ):
                        break
                else:
                    for handler in handlers:
                        handler.write_line(text, level)  # type: ignore[attr-defined]
                    continue
            logger.log(level, encodable(text))
