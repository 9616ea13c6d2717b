"""Figure 2: the whole handler on a batch of MODIFY and REMOVE records (no email to send).

* ``users-stream``: :class:`chalicelib.service.UsersStream` built with an explicit environment
  (``LOG_LEVEL=INFO``, the default redaction of ``email`` and ``name``, partial batch
  responses on), a sender that refuses to be called and no ledger; ``.handle(event)`` - the
  exact call the Chalice handler in ``app.py`` makes with ``event.to_dict()``.
* ``Powertools``: ``BatchProcessor(EventType.DynamoDBStreams)`` with
  ``process_partial_response`` and an equivalent record handler written the straightforward
  way: decode the keys and both images (Powertools' properties), the sorted names of the
  changed attributes, the same attributes redacted at any depth, one JSON line with the same
  fields (same JSON handling of Decimal, bytes and sets, the same escaping of U+0085, U+2028
  and U+2029), email addresses masked, written by a stdlib logger at INFO.

Both write their log lines to ``os.devnull`` through a ``logging.StreamHandler``.

The second workload (:mod:`benchmarks.users_table`) has new users: both then check and compose
each welcome email (the app's own ``compose_welcome``, the one text there is), hand it to the
same :class:`InstantSender` and write the same ``welcome_email_sent`` or
``welcome_email_rejected`` line. The app sends one email at a time there
(``EMAIL_CONCURRENCY=1``): with a sender that answers at once, threads could only add their
own cost; with SES's real latency they are what figure 4 measures.
"""

from __future__ import annotations

import json
import logging
import os
import re
from base64 import b64encode
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, TextIO

from chalicelib.redaction import Redactor
from chalicelib.service import UsersStream
from chalicelib.welcome import EmailMessage

__all__ = ["HANDLER_ENVIRON", "powertools_handler", "users_stream_handler"]

HANDLER_ENVIRON = {
    "LOG_LEVEL": "INFO",
    "REDACT_ATTRIBUTES": "email,name",
    "REPORT_BATCH_ITEM_FAILURES": "true",
    "WELCOME_EMAIL_SENDER": "welcome@example.com",
}

Handler = Callable[[], object]


class RefusingSender:
    """The batch holds no INSERT: any email sent would be a bug in the benchmark."""

    def send(self, message: EmailMessage) -> str:
        raise AssertionError("the handler benchmark must not send email")


class InstantSender:
    """An EmailSender that answers at once: the handler's own work is what is timed."""

    def send(self, message: EmailMessage) -> str:
        return "0000000000000000-instant"


def devnull() -> TextIO:
    return open(os.devnull, "w", encoding="utf-8")  # closed by the runner


def users_stream_handler(event: dict[str, Any], log_stream: TextIO, sender: Any = None) -> Handler:
    environ = HANDLER_ENVIRON if sender is None else {**HANDLER_ENVIRON, "EMAIL_CONCURRENCY": "1"}
    sender = RefusingSender() if sender is None else sender
    service = UsersStream(
        environ=environ,
        sender=sender,
        log_stream=log_stream,
        metrics_stream=log_stream,  # the EMF line is part of the handler's cost
    )

    def run() -> None:
        response = service.handle(event)
        assert response == {"batchItemFailures": []}, response

    return run


# --- the equivalent handler, on Powertools --------------------------------------------------

# The same redaction rule as the app's (a word of the name, any case): the policy is not what
# is compared here, and both must write the same lines.
_REDACT = Redactor(("email", "name")).hidden
_EMAIL = re.compile(r"[^\s\"<>(),;:@\\]*@[^\s\"'<>(),;:@\\]+")
_LINE_BREAKS = (("\x85", "\\u0085"), ("\u2028", "\\u2028"), ("\u2029", "\\u2029"))


def _redact(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: "***" if _REDACT(k) else _redact(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_redact(v) for v in value]
    return value


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        if value == value.to_integral_value() and abs(value) < 2**53:
            return int(value)
        return str(value)
    if isinstance(value, bytes | bytearray):
        return b64encode(value).decode("ascii")
    if isinstance(value, set | frozenset):
        return sorted(value, key=str)
    raise TypeError(type(value).__name__)


def _changed(name: str, old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    if name == "INSERT":
        return sorted(new)
    if name == "REMOVE":
        return sorted(old)
    return sorted(
        (new.keys() - old.keys())
        | (old.keys() - new.keys())
        | {k for k in new.keys() & old.keys() if new[k] != old[k]}
    )


def _welcome(record: Any, new: dict[str, Any], sender: Any) -> dict[str, Any] | None:
    """The welcome email of a new user, as the app does it: its log entry, or None."""
    from chalicelib.errors import PermanentEmailError
    from chalicelib.welcome import compose_welcome, user_email

    if user_email(new) is None:
        return {"message": "welcome_email_skipped", "reason": "no_email"}
    try:
        message = compose_welcome(new, HANDLER_ENVIRON["WELCOME_EMAIL_SENDER"])
    except PermanentEmailError as exc:
        return {"level": "ERROR", "message": "welcome_email_rejected", "reason": str(exc)}
    return {"message": "welcome_email_sent", "message_id": sender.send(message)}


def powertools_handler(event: dict[str, Any], log_stream: TextIO, sender: Any = None) -> Handler:
    from aws_lambda_powertools.utilities.batch import (
        BatchProcessor,
        EventType,
        process_partial_response,
    )

    logger = logging.getLogger("benchmarks.powertools_equivalent")
    logger.setLevel(logging.INFO)
    logger.propagate = False
    logger.handlers[:] = [logging.StreamHandler(log_stream)]
    logger.handlers[0].setFormatter(logging.Formatter("%(message)s"))
    processor = BatchProcessor(event_type=EventType.DynamoDBStreams)

    def record_handler(record: Any) -> None:
        body = record.dynamodb
        keys, old, new = body.keys, body.old_image, body.new_image
        name = record.event_name.name
        arn = record.event_source_arn or ""
        ttl = (record.user_identity or {}).get("principalId") == "dynamodb.amazonaws.com"
        entry = {
            "level": "INFO",
            "message": "ttl_expiry" if ttl else "change",
            "event": name,
            "table": arn.split(":", 5)[-1].split("/")[1] if "table/" in arn else "",
            "keys": _redact(keys),
            "sequence_number": body.sequence_number,
            "event_id": record.event_id,
            "created": datetime.fromtimestamp(
                body.raw_event["ApproximateCreationDateTime"], UTC
            ).isoformat(),
            "size_bytes": body.size_bytes,
            "ttl_expiry": ttl,
            "changed": _changed(name, old, new),
            "old_image": _redact(old) if old else None,
            "new_image": _redact(new) if new else None,
        }
        _log(logger, entry)
        if name == "INSERT" and sender is not None and new:
            welcome = _welcome(record, new, sender)
            if welcome is not None:
                level = welcome.pop("level", "INFO")
                extra = {"level": level, "message": welcome.pop("message")}
                extra.update(sequence_number=body.sequence_number, event_id=record.event_id)
                _log(logger, {**extra, "keys": _redact(keys), **welcome}, level)

    def run() -> None:
        response = process_partial_response(
            event=event, record_handler=record_handler, processor=processor
        )
        assert response == {"batchItemFailures": []}, response

    return run


def _log(logger: logging.Logger, entry: dict[str, Any], level: str = "INFO") -> None:
    line = json.dumps(entry, default=_json_default, separators=(",", ":"), ensure_ascii=False)
    for line_break, escaped in _LINE_BREAKS:
        if line_break in line:
            line = line.replace(line_break, escaped)
    logger.log(logging.getLevelName(level), _EMAIL.sub("<email>", line) if "@" in line else line)


CONTENDERS: dict[str, Callable[..., Handler]] = {
    "users-stream": users_stream_handler,
    "Powertools": powertools_handler,
}
