"""Build realistic Lambda DynamoDB stream events from plain Python items (dev and test only).

>>> stream = FakeStream()
>>> event = stream.event([stream.insert({"id": "u1", "email": "a@example.com"})])
>>> event["Records"][0]["eventName"]
'INSERT'

Values are serialized to DynamoDB JSON exactly as Lambda delivers them: numbers as text, binary
as base64 text, sets as lists. Records carry realistic eventIDs, strictly increasing sequence
numbers, sizes, epoch-second creation times and the stream's ``eventSourceARN``; images are
included or left out according to the stream view type.
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

__all__ = ["FakeStream", "serialize_item", "serialize_value"]

DEFAULT_STREAM_ARN = (
    "arn:aws:dynamodb:us-east-1:123456789012:table/Users/stream/2024-01-01T00:00:00.000"
)


def serialize_value(value: Any) -> dict[str, Any]:
    """A Python value as one DynamoDB JSON attribute value (the stream's wire format)."""
    if value is None:
        return {"NULL": True}
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, int | Decimal):
        return {"N": str(value)}
    if isinstance(value, float):
        return {"N": repr(value)}
    if isinstance(value, bytes | bytearray):
        return {"B": base64.b64encode(bytes(value)).decode("ascii")}
    if isinstance(value, Mapping):
        return {"M": {str(k): serialize_value(v) for k, v in value.items()}}
    if isinstance(value, list | tuple):
        return {"L": [serialize_value(v) for v in value]}
    if isinstance(value, set | frozenset):
        if not value:
            raise ValueError("DynamoDB sets cannot be empty")
        members = list(value)
        if all(isinstance(m, str) for m in members):
            return {"SS": members}
        if all(isinstance(m, int | Decimal) and not isinstance(m, bool) for m in members):
            return {"NS": [str(m) for m in members]}
        if all(isinstance(m, bytes) for m in members):
            return {"BS": [base64.b64encode(m).decode("ascii") for m in members]}
        raise ValueError("a set must hold only strings, only numbers or only binary")
    raise TypeError(f"cannot serialize {type(value).__name__} to DynamoDB JSON")


def serialize_item(item: Mapping[str, Any]) -> dict[str, Any]:
    """A Python item as a DynamoDB JSON image."""
    return {str(k): serialize_value(v) for k, v in item.items()}


class FakeStream:
    """A stream that numbers its records like DynamoDB does.

    Each method returns one record; :meth:`event` wraps records into a Lambda event.
    """

    def __init__(
        self,
        stream_arn: str = DEFAULT_STREAM_ARN,
        *,
        view_type: str = "NEW_AND_OLD_IMAGES",
        key_names: tuple[str, ...] = ("id",),
        region: str = "us-east-1",
        start_time: int = 1_700_000_000,
        first_sequence: int = 100_000_000_000_000_000_000,
    ) -> None:
        self.stream_arn = stream_arn
        self.view_type = view_type
        self.key_names = key_names
        self.region = region
        self._time = start_time
        self._sequence = first_sequence

    def _record(
        self,
        event_name: str,
        keys_from: Mapping[str, Any],
        old: Mapping[str, Any] | None,
        new: Mapping[str, Any] | None,
        user_identity: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        self._sequence += 100
        self._time += 1
        keys = serialize_item({k: keys_from[k] for k in self.key_names})
        body: dict[str, Any] = {
            "ApproximateCreationDateTime": self._time,
            "Keys": keys,
            "SequenceNumber": str(self._sequence),
            "StreamViewType": self.view_type,
        }
        if new is not None and self.view_type in ("NEW_IMAGE", "NEW_AND_OLD_IMAGES"):
            body["NewImage"] = serialize_item(new)
        if old is not None and self.view_type in ("OLD_IMAGE", "NEW_AND_OLD_IMAGES"):
            body["OldImage"] = serialize_item(old)
        body["SizeBytes"] = len(json.dumps(body, separators=(",", ":"))) - 40
        record: dict[str, Any] = {
            "eventID": uuid.uuid4().hex,
            "eventName": event_name,
            "eventVersion": "1.1",
            "eventSource": "aws:dynamodb",
            "awsRegion": self.region,
            "dynamodb": body,
            "eventSourceARN": self.stream_arn,
        }
        if user_identity is not None:
            record["userIdentity"] = user_identity
        return record

    def insert(self, item: Mapping[str, Any]) -> dict[str, Any]:
        return self._record("INSERT", item, None, item)

    def modify(self, old: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, Any]:
        return self._record("MODIFY", new, old, new)

    def remove(self, item: Mapping[str, Any]) -> dict[str, Any]:
        return self._record("REMOVE", item, item, None)

    def ttl_expiry(self, item: Mapping[str, Any]) -> dict[str, Any]:
        """A REMOVE made by DynamoDB's Time to Live, as the stream marks it."""
        identity = {"type": "Service", "principalId": "dynamodb.amazonaws.com"}
        return self._record("REMOVE", item, item, None, identity)

    @staticmethod
    def event(records: Iterable[dict[str, Any]]) -> dict[str, Any]:
        return {"Records": list(records)}
