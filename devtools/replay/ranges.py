"""What a replay reads and what it reports: a message's range, each message's result, the run's
summary, and the one line that says each."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from chalicelib.clients import error_code
from devtools.pipeline.invoke import Outcome

__all__ = [
    "MessageResult",
    "Range",
    "RangeGone",
    "ReplaySummary",
    "clip",
    "describe",
    "error_text",
    "foreign_stream",
]

BatchRunner = Callable[[list[dict[str, Any]]], Outcome]
"""Runs the handler on one batch of Lambda-shaped records and says how it went."""

MAX_EMPTY_READS = 5  # consecutive empty GetRecords before a range's end counts as missing
REPLAYED, TRIMMED, FAILED, MALFORMED = "replayed", "trimmed", "failed", "malformed"
PROG = "python -m devtools.replay"
FOREIGN = "foreign"


@dataclass(frozen=True, slots=True)
class Range:
    """The stream range an on-failure message names."""

    stream_arn: str
    shard_id: str
    start: str
    end: str
    size: int | None = None

    @classmethod
    def from_message(cls, body: str) -> Range:
        """The range of a message body; ``ValueError`` if it is not Lambda's stream message."""
        try:
            info = json.loads(body)["DDBStreamBatchInfo"]
            found = cls(
                stream_arn=info["streamArn"],
                shard_id=info["shardId"],
                start=info["startSequenceNumber"],
                end=info["endSequenceNumber"],
                size=info.get("batchSize"),
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"not a DynamoDB stream on-failure message ({exc!r})") from None
        for text in (found.stream_arn, found.shard_id, found.start, found.end):
            if not isinstance(text, str) or not text:
                raise ValueError("not a DynamoDB stream on-failure message (empty field)")
        if not (found.start.isdigit() and found.end.isdigit()) or int(found.start) > int(found.end):
            raise ValueError("the message's sequence numbers do not make a range")
        return found


class RangeGone(Exception):
    """The stream no longer holds (all of) a range."""


@dataclass
class MessageResult:
    """What happened to one message."""

    message_id: str
    status: str  # replayed | trimmed | failed | malformed | foreign
    detail: str = ""
    records: int = 0
    handled: int = 0
    range: dict[str, Any] | None = None
    deleted: bool = False


@dataclass
class ReplaySummary:
    messages: int = 0
    replayed: int = 0
    trimmed: int = 0
    failed: int = 0
    malformed: int = 0
    foreign: int = 0
    records_replayed: int = 0
    results: list[MessageResult] = field(default_factory=list)

    @property
    def left_in_queue(self) -> int:
        return self.trimmed + self.failed + self.malformed + self.foreign

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["left_in_queue"] = self.left_in_queue
        del data["results"]
        return data


def foreign_stream(span: Range, allowed: frozenset[str]) -> str | None:
    """Why ``span`` must not be replayed here (its stream is not an expected one), or ``None``."""
    if span.stream_arn in allowed:
        return None
    if not allowed:
        return (
            "no Users stream is configured to compare it with (set USERS_TABLE_STREAM_ARN); refused"
        )
    return (
        "its stream is not the Users stream this replay runs (USERS_TABLE_STREAM_ARN or the "
        "function's mapping); refused"
    )


def clip(payload: bytes | str, limit: int = 300) -> str:
    text = payload.decode("utf-8", "replace") if isinstance(payload, bytes) else payload
    return text if len(text) <= limit else text[:limit] + "…"


def error_text(exc: BaseException) -> str:
    return error_code(exc) or f"{type(exc).__name__}: {exc}"


def describe(result: MessageResult) -> str:
    """One readable line per message."""
    span = result.range or {}
    where = f"{span.get('start')}..{span.get('end')} (shard {span.get('shard_id')})" if span else ""
    if result.status == REPLAYED:
        return f"[replay] replayed {result.records} record(s) {where}: message deleted"
    if result.status == TRIMMED:
        return f"[replay] TRIMMED {where}: {result.detail}; message left in the queue"
    if result.status == MALFORMED:
        return f"[replay] SKIPPED message {result.message_id}: {result.detail}; left in the queue"
    if result.status == FOREIGN:
        arn = span.get("stream_arn")
        return f"[replay] FOREIGN {where} of {arn}: {result.detail}; message left in the queue"
    return (
        f"[replay] FAILED {where} after {result.handled} of {result.records} record(s): "
        f"{result.detail}; message left in the queue"
    )
