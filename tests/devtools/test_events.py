"""Records as boto3 returns them become exactly the records Lambda delivers.

The reference is :class:`devtools.stream_events.FakeStream`, which builds Lambda-shaped records;
``as_boto3`` turns one into what ``GetRecords`` through boto3 gives for the same change
(binary as bytes, a datetime, ``PrincipalId``/``Type``, no ``eventSourceARN``), and
:func:`lambda_record` must give the original back.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given

from devtools.pipeline.events import epoch_seconds, lambda_event, lambda_record, region_of
from devtools.stream_events import FakeStream
from tests.chalicelib.strategies import PROPERTY, items

ARN = "arn:aws:dynamodb:eu-west-1:111122223333:table/Users/stream/2024-01-01T00:00:00.000"


def _boto3_value(value: dict[str, Any]) -> dict[str, Any]:
    [(tag, inner)] = value.items()
    if tag == "B":
        return {"B": base64.b64decode(inner)}
    if tag == "BS":
        return {"BS": [base64.b64decode(m) for m in inner]}
    if tag == "M":
        return {"M": {k: _boto3_value(v) for k, v in inner.items()}}
    if tag == "L":
        return {"L": [_boto3_value(v) for v in inner]}
    return {tag: inner}


def as_boto3(record: dict[str, Any], microseconds: int = 0) -> dict[str, Any]:
    body = dict(record["dynamodb"])
    created = body["ApproximateCreationDateTime"]
    body["ApproximateCreationDateTime"] = datetime.fromtimestamp(created, UTC).replace(
        microsecond=microseconds
    )
    for image in ("Keys", "NewImage", "OldImage"):
        if image in body:
            body[image] = {k: _boto3_value(v) for k, v in body[image].items()}
    out = {k: v for k, v in record.items() if k not in ("eventSourceARN", "dynamodb")}
    out["dynamodb"] = body
    if "userIdentity" in record:
        identity = record["userIdentity"]
        out["userIdentity"] = {"PrincipalId": identity["principalId"], "Type": identity["type"]}
    return out


@PROPERTY
@given(old=items, new=items)
def test_lambda_record_inverts_boto3_parsing_for_any_item(old, new):
    stream = FakeStream(ARN, region="eu-west-1")
    for expected in (
        stream.insert({**new, "id": "u1"}),
        stream.modify({**old, "id": "u1"}, {**new, "id": "u1"}),
        stream.remove({**old, "id": "u1"}),
        stream.ttl_expiry({**old, "id": "u1"}),
    ):
        assert lambda_record(as_boto3(expected, microseconds=999_999), ARN) == expected


def test_the_region_comes_from_the_stream_not_from_the_record():
    record = FakeStream(ARN, region="us-east-1").insert({"id": "u1"})  # moto says us-east-1
    assert lambda_record(as_boto3(record), ARN)["awsRegion"] == "eu-west-1"


def test_creation_times_are_whole_epoch_seconds_rounded_down():
    moment = datetime(2024, 5, 6, 7, 8, 9, 999_999, tzinfo=UTC)
    assert epoch_seconds(moment) == 1714979289
    assert epoch_seconds(1714979289.9) == 1714979289
    with pytest.raises(TypeError):
        epoch_seconds("yesterday")


def test_region_of_rejects_what_is_not_an_arn():
    assert region_of(ARN) == "eu-west-1"
    with pytest.raises(ValueError, match="not a stream ARN"):
        region_of("Users")


def test_an_event_shares_nothing_with_the_records_it_was_built_from():
    record = FakeStream(ARN).insert({"id": "u1", "tags": ["a"]})
    event = lambda_event([record])
    assert event == {"Records": [record]}
    event["Records"][0]["dynamodb"]["NewImage"]["tags"]["L"].append({"S": "b"})
    assert record["dynamodb"]["NewImage"]["tags"] == {"L": [{"S": "a"}]}
