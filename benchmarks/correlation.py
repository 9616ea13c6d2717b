"""Figure 8: a log line that carries the request id - the app's bare JSON line, or Lambda's
JSON log format (advanced logging controls, ``LoggingConfig: LogFormat JSON``).

The entries are the app's own: every line a batch of changes writes, read back. Per line:

* **bare JSON** (what the app does): ``request_id`` added to the entry, then
  ``chalicelib.logline.render`` (encode, mask addresses, the 256 KB cut) and the app's
  handler's ``write_line`` to ``os.devnull``;
* **JSON log format**: the runtime only adds ``requestId`` to lines that go through the
  ``logging`` module (a ``print`` or a direct write stays plain text, and a JSON text passed as
  the message becomes one escaped string that Logs Insights cannot see into). So each entry
  goes through ``logger.info(message, extra=fields)``: a ``LogRecord``, then a formatter of the
  shape the Python runtime documents (``timestamp``, ``level``, ``message``, ``logger``,
  ``requestId`` and the extra fields, one ``json`` encode), then the address mask on the text,
  written by a ``StreamHandler`` to ``os.devnull``. A field named like a ``LogRecord``
  attribute (the app's ``created``) cannot be passed as ``extra``: it is renamed here, and
  would have to be in the app.
"""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TextIO

from chalicelib.logline import render
from chalicelib.redaction import scrub_text
from chalicelib.service import UsersStream
from chalicelib.sink import make_logger

__all__ = ["CONTENDERS", "RuntimeShapedJson", "entries_of"]

REQUEST_ID = "8f507cfc-0000-4697-b07a-ac58fc914c95"
_RESERVED = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


def entries_of(event: dict[str, Any], environ: dict[str, str]) -> list[dict[str, Any]]:
    """Every log entry a batch writes (the app's own lines, parsed back)."""
    out = io.StringIO()
    UsersStream(environ=environ, log_stream=out, metrics_stream=io.StringIO()).handle(event)
    return [json.loads(line) for line in out.getvalue().splitlines()]


class RuntimeShapedJson(logging.Formatter):
    """A formatter of the shape Lambda's Python runtime writes with ``LogFormat: JSON``."""

    encode = json.JSONEncoder(ensure_ascii=False).encode

    def format(self, record: logging.LogRecord) -> str:
        stamp = datetime.fromtimestamp(record.created, tz=UTC)
        result = {
            "timestamp": stamp.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
            "level": record.levelname,
            "message": record.getMessage(),
            "logger": record.name,
            "requestId": REQUEST_ID,
        }
        result.update((k, v) for k, v in vars(record).items() if k not in _RESERVED)
        return scrub_text(self.encode(result))


def bare_lines(entries: list[dict[str, Any]], sink: TextIO) -> Callable[[], None]:
    handler = make_logger("INFO", sink).handlers[0]
    write = handler.write_line  # type: ignore[attr-defined]

    def run() -> None:
        for entry in entries:
            write(render({**entry, "request_id": REQUEST_ID}, scrub_text), logging.INFO)

    return run


def json_log_format(entries: list[dict[str, Any]], sink: TextIO) -> Callable[[], None]:
    logger = logging.Logger("users_stream_json")
    handler = logging.StreamHandler(sink)
    handler.setFormatter(RuntimeShapedJson())
    logger.addHandler(handler)
    split = [
        (
            entry["message"],
            {
                f"{k}_" if k in _RESERVED else k: v
                for k, v in entry.items()
                if k not in ("message", "level")
            },
        )
        for entry in entries
    ]

    def run() -> None:
        for message, fields in split:
            logger.info(message, extra=fields)

    return run


CONTENDERS = {"bare JSON": bare_lines, "JSON log format": json_log_format}
