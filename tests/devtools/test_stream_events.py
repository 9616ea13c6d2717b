"""FakeStream builds Lambda-shaped DynamoDB stream events from plain Python items."""

from __future__ import annotations

import itertools
import json
import re
from decimal import Decimal
from typing import Any

import pytest
from chalice.app import DynamoDBEvent
from hypothesis import given

from devtools.stream_events import DEFAULT_STREAM_ARN, FakeStream, serialize_item, serialize_value
from tests.chalicelib.strategies import PROPERTY, items

ADA = {"id": "u1", "email": "ada@example.com", "avatar": b"\x00\xff\xfe", "age": 36}
TTL_IDENTITY = {"type": "Service", "principalId": "dynamodb.amazonaws.com"}


def records(stream: FakeStream) -> list[dict[str, Any]]:
    return [
        stream.insert(ADA),
        stream.modify(ADA, {**ADA, "age": 37}),
        stream.remove(ADA),
        stream.ttl_expiry(ADA),
    ]


@pytest.mark.parametrize(
    ("view", "new_in", "old_in"),
    [
        ("KEYS_ONLY", set(), set()),
        ("NEW_IMAGE", {"INSERT", "MODIFY"}, set()),
        ("OLD_IMAGE", set(), {"MODIFY", "REMOVE", "TTL"}),
        ("NEW_AND_OLD_IMAGES", {"INSERT", "MODIFY"}, {"MODIFY", "REMOVE", "TTL"}),
    ],
)
def test_images_follow_the_view_type(view: str, new_in: set[str], old_in: set[str]) -> None:
    built = records(FakeStream(view_type=view))
    kinds = ["INSERT", "MODIFY", "REMOVE", "TTL"]

    for kind, record in zip(kinds, built, strict=True):
        body = record["dynamodb"]
        assert body["StreamViewType"] == view
        assert body["Keys"] == {"id": {"S": "u1"}}
        assert ("NewImage" in body) == (kind in new_in), kind
        assert ("OldImage" in body) == (kind in old_in), kind


def test_event_names_and_envelope() -> None:
    stream = FakeStream(region="eu-west-1")
    built = records(stream)

    assert [r["eventName"] for r in built] == ["INSERT", "MODIFY", "REMOVE", "REMOVE"]
    for record in built:
        assert record["eventSource"] == "aws:dynamodb"
        assert record["eventVersion"] == "1.1"
        assert record["awsRegion"] == "eu-west-1"
        assert record["eventSourceARN"] == DEFAULT_STREAM_ARN
        assert re.fullmatch(r"[0-9a-f]{32}", record["eventID"])
    assert len({r["eventID"] for r in built}) == len(built)


def test_sequence_numbers_and_times_increase() -> None:
    stream = FakeStream(first_sequence=4_200_000_000_000_000_000_000, start_time=1_700_000_000)
    built = records(stream) + records(stream)

    numbers = [r["dynamodb"]["SequenceNumber"] for r in built]
    assert all(isinstance(n, str) and n.isdigit() for n in numbers)
    assert all(int(a) < int(b) for a, b in itertools.pairwise(numbers))
    assert int(numbers[0]) > 4_200_000_000_000_000_000_000
    times = [r["dynamodb"]["ApproximateCreationDateTime"] for r in built]
    assert all(a < b for a, b in itertools.pairwise(times))
    assert times[0] > 1_700_000_000


def test_the_stream_arn_is_the_event_source() -> None:
    arn = "arn:aws:dynamodb:eu-west-1:111122223333:table/Accounts/stream/2024-05-01T00:00:00.000"

    built = records(FakeStream(arn))

    assert {r["eventSourceARN"] for r in built} == {arn}


def test_ttl_expiries_carry_the_dynamodb_service_identity() -> None:
    insert, modify, remove, expiry = records(FakeStream())

    assert expiry["userIdentity"] == TTL_IDENTITY
    assert all("userIdentity" not in r for r in (insert, modify, remove))


def test_sizes_grow_with_the_item() -> None:
    stream = FakeStream()

    small = stream.insert({"id": "u1"})["dynamodb"]["SizeBytes"]
    large = stream.insert({"id": "u1", "bio": "x" * 1000})["dynamodb"]["SizeBytes"]

    assert 0 < small < large
    assert large - small >= 1000


def test_keys_are_the_configured_key_attributes() -> None:
    stream = FakeStream(key_names=("pk", "sk"))

    record = stream.insert({"pk": "user#1", "sk": Decimal(7), "name": "Ada"})

    assert record["dynamodb"]["Keys"] == {"pk": {"S": "user#1"}, "sk": {"N": "7"}}


def test_binary_is_base64_text_as_lambda_delivers_it() -> None:
    assert serialize_value(b"\x00\xff\xfe") == {"B": "AP/+"}
    assert serialize_value(bytearray(b"hi")) == {"B": "aGk="}
    assert sorted(serialize_value({b"hi", b"ho"})["BS"]) == ["aG8=", "aGk="]
    assert serialize_value({"nested": [b"hi"]}) == {"M": {"nested": {"L": [{"B": "aGk="}]}}}
    assert FakeStream().insert(ADA)["dynamodb"]["NewImage"]["avatar"] == {"B": "AP/+"}


def test_every_type_is_written_as_dynamodb_json() -> None:
    assert serialize_item(
        {
            "s": "x",
            "int": 36,
            "dec": Decimal("1E+125"),
            "float": 0.5,
            "bool": True,
            "null": None,
            "m": {"k": "v"},
            "l": ["a", 1],
            "tuple": ("a",),
            "ss": {"a"},
            "ns": {Decimal("1.5")},
        }
    ) == {
        "s": {"S": "x"},
        "int": {"N": "36"},
        "dec": {"N": "1E+125"},
        "float": {"N": "0.5"},
        "bool": {"BOOL": True},
        "null": {"NULL": True},
        "m": {"M": {"k": {"S": "v"}}},
        "l": {"L": [{"S": "a"}, {"N": "1"}]},
        "tuple": {"L": [{"S": "a"}]},
        "ss": {"SS": ["a"]},
        "ns": {"NS": ["1.5"]},
    }


@pytest.mark.parametrize(
    ("value", "error"),
    [
        (set(), ValueError),
        ({"a", 1}, ValueError),
        ({True}, ValueError),
        (object(), TypeError),
        (1j, TypeError),
    ],
    ids=["empty-set", "mixed-set", "bool-set", "object", "complex"],
)
def test_what_dynamodb_cannot_hold_is_refused(value: Any, error: type[Exception]) -> None:
    with pytest.raises(error):
        serialize_value(value)


def test_events_are_what_chalice_reads() -> None:
    stream = FakeStream()
    event = stream.event(records(stream))

    parsed = list(DynamoDBEvent(event, None))

    assert [r.event_name for r in parsed] == ["INSERT", "MODIFY", "REMOVE", "REMOVE"]
    assert [r.sequence_number for r in parsed] == [
        r["dynamodb"]["SequenceNumber"] for r in event["Records"]
    ]
    assert {r.table_name for r in parsed} == {"Users"}


@PROPERTY
@given(items)
def test_events_are_plain_json(item: dict[str, Any]) -> None:
    stream = FakeStream(key_names=())
    event = stream.event([stream.insert(item), stream.modify(item, item), stream.remove(item)])

    assert json.loads(json.dumps(event)) == event
