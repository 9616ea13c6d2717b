"""Turn stream records as boto3 returns them into the records Lambda delivers to a function.

``GetRecords`` through boto3 and a Lambda event differ in four ways, all fixed here:

* binary values (``B``, ``BS``, also nested in ``M`` and ``L``) are ``bytes`` in boto3 but
  base64 text in the event;
* ``ApproximateCreationDateTime`` is a ``datetime`` in boto3 but epoch seconds in the event
  (rounded down to the second, as DynamoDB Streams documents it);
* ``userIdentity`` (set on deletions made by Time to Live) has the keys ``PrincipalId`` and
  ``Type`` in boto3 but ``principalId`` and ``type`` in the event;
* the event names its stream (``eventSourceARN``), which ``GetRecords`` does not, and its region
  (taken from the stream ARN: moto always says ``us-east-1``).

The result holds JSON types only, so it is exactly what the function would receive.
"""

from __future__ import annotations

import base64
import json
import math
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

__all__ = ["epoch_seconds", "lambda_event", "lambda_record", "region_of", "wire_value"]


def region_of(stream_arn: str) -> str:
    """The region named by an ARN (``arn:aws:dynamodb:<region>:...``)."""
    parts = stream_arn.split(":")
    if len(parts) < 6 or parts[0] != "arn" or not parts[3]:
        raise ValueError(f"not a stream ARN: {stream_arn!r}")
    return parts[3]


def epoch_seconds(value: Any) -> int:
    """``ApproximateCreationDateTime`` as Lambda delivers it: whole epoch seconds."""
    if isinstance(value, datetime):
        return math.floor(value.timestamp())
    if isinstance(value, int | float) and not isinstance(value, bool):
        return math.floor(value)
    raise TypeError(f"not a creation time: {value!r}")


def _b64(value: Any) -> str:
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(bytes(value)).decode("ascii")
    return str(value)  # already text (an endpoint that returned base64 as is)


def wire_value(value: Mapping[str, Any]) -> dict[str, Any]:
    """One attribute value in the event's wire format (binary as base64 text)."""
    out: dict[str, Any] = {}
    for tag, inner in value.items():
        if tag == "B":
            out[tag] = _b64(inner)
        elif tag == "BS":
            out[tag] = [_b64(member) for member in inner]
        elif tag == "M":
            out[tag] = {name: wire_value(member) for name, member in inner.items()}
        elif tag == "L":
            out[tag] = [wire_value(member) for member in inner]
        elif tag in ("SS", "NS"):
            out[tag] = list(inner)
        else:
            out[tag] = inner
    return out


def _wire_image(image: Mapping[str, Any]) -> dict[str, Any]:
    return {name: wire_value(value) for name, value in image.items()}


def lambda_record(record: Mapping[str, Any], stream_arn: str) -> dict[str, Any]:
    """One boto3 ``GetRecords`` record as the record of a Lambda event."""
    body = record["dynamodb"]
    dynamodb: dict[str, Any] = {}
    for name, value in body.items():
        if name == "ApproximateCreationDateTime":
            dynamodb[name] = epoch_seconds(value)
        elif name in ("Keys", "NewImage", "OldImage"):
            dynamodb[name] = _wire_image(value)
        else:
            dynamodb[name] = value
    out: dict[str, Any] = {
        "eventID": record["eventID"],
        "eventName": record["eventName"],
        "eventVersion": record.get("eventVersion", "1.1"),
        "eventSource": record.get("eventSource", "aws:dynamodb"),
        "awsRegion": region_of(stream_arn),
        "dynamodb": dynamodb,
        "eventSourceARN": stream_arn,
    }
    identity = record.get("userIdentity")
    if identity:
        out["userIdentity"] = {
            "type": identity.get("Type", identity.get("type")),
            "principalId": identity.get("PrincipalId", identity.get("principalId")),
        }
    return out


def lambda_event(records: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """The event for one invocation, ``{"Records": [...]}``, as the function receives it:
    serialized to JSON and back, so it holds JSON types only and shares nothing with
    ``records`` (already converted by :func:`lambda_record`)."""
    return json.loads(json.dumps({"Records": list(records)}))  # type: ignore[no-any-return]
