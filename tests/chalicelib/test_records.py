"""Change: one stream record as a typed change; malformed records are RecordErrors that name the
record and the field."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from chalicelib.errors import RecordError
from chalicelib.records import Change
from devtools.stream_events import DEFAULT_STREAM_ARN, FakeStream

USER = {"id": "u1", "email": "ada@example.com", "name": "Ada", "age": Decimal(36)}


def test_every_field_of_an_insert(stream: FakeStream) -> None:
    raw = stream.insert(USER)

    change = Change(raw, index=4)

    body = raw["dynamodb"]
    assert change.event_name == "INSERT"
    assert change.event_id == raw["eventID"]
    assert change.sequence_number == body["SequenceNumber"]
    assert change.index == 4
    assert change.size_bytes == body["SizeBytes"] > 0
    assert change.stream_view_type == "NEW_AND_OLD_IMAGES"
    assert change.event_source_arn == DEFAULT_STREAM_ARN
    assert change.table_name == "Users"
    assert change.keys == {"id": "u1"}
    assert change.new_image == USER
    assert change.old_image is None
    assert change.is_ttl_expiry is False
    assert change.raw is raw
    assert "INSERT" in repr(change)
    assert change.sequence_number in repr(change)


def test_creation_time_is_timezone_aware_utc(stream: FakeStream) -> None:
    raw = stream.insert(USER)
    raw["dynamodb"]["ApproximateCreationDateTime"] = 1_700_000_000

    created = Change(raw).approximate_creation_time
    assert created is not None

    assert created.utcoffset() == timedelta(0)
    assert created == datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)


def test_creation_time_may_have_a_fraction(stream: FakeStream) -> None:
    raw = stream.insert(USER)
    raw["dynamodb"]["ApproximateCreationDateTime"] = 1_700_000_000.5

    created = Change(raw).approximate_creation_time
    assert created is not None

    assert created == datetime(2023, 11, 14, 22, 13, 20, 500_000, tzinfo=UTC)


def test_a_remove_carries_its_position_and_old_image(stream: FakeStream) -> None:
    raw = stream.remove(USER)

    change = Change(raw, 2)

    assert (change.event_name, change.index, change.old_image) == ("REMOVE", 2, USER)


def test_table_name_is_empty_when_the_arn_is_not_a_table_stream(stream: FakeStream) -> None:
    raw = stream.insert(USER)
    raw["eventSourceARN"] = "arn:aws:kinesis:us-east-1:123456789012:stream/Users"

    assert Change(raw).table_name == ""
    del raw["eventSourceARN"]
    assert Change(raw).table_name == ""


# --- the four stream view types -----------------------------------------------------------

OLD = {"id": "u1", "name": "Ada", "age": Decimal(36)}
NEW = {"id": "u1", "name": "Ada L.", "age": Decimal(36), "city": "London"}


@pytest.mark.parametrize(
    ("view", "has_old", "has_new"),
    [
        ("KEYS_ONLY", False, False),
        ("NEW_IMAGE", False, True),
        ("OLD_IMAGE", True, False),
        ("NEW_AND_OLD_IMAGES", True, True),
    ],
)
def test_view_types_carry_the_images_they_promise(view: str, has_old: bool, has_new: bool) -> None:
    stream = FakeStream(view_type=view)

    insert = Change(stream.insert(NEW))
    modify = Change(stream.modify(OLD, NEW))
    remove = Change(stream.remove(OLD))

    assert {c.stream_view_type for c in (insert, modify, remove)} == {view}
    assert (insert.keys, modify.keys, remove.keys) == ({"id": "u1"},) * 3
    assert insert.new_image == (NEW if has_new else None)
    assert modify.new_image == (NEW if has_new else None)
    assert modify.old_image == (OLD if has_old else None)
    assert remove.old_image == (OLD if has_old else None)
    assert insert.old_image is None
    assert remove.new_image is None


def test_a_record_without_a_view_type_is_read_as_new_and_old_images(stream: FakeStream) -> None:
    raw = stream.modify(OLD, NEW)
    del raw["dynamodb"]["StreamViewType"]

    assert Change(raw).stream_view_type == "NEW_AND_OLD_IMAGES"


# --- TTL expiries ---------------------------------------------------------------------------


def test_ttl_expiry_is_a_remove_by_the_dynamodb_service(stream: FakeStream) -> None:
    expired = Change(stream.ttl_expiry(USER))
    deleted = Change(stream.remove(USER))

    assert expired.event_name == deleted.event_name == "REMOVE"
    assert expired.is_ttl_expiry is True
    assert deleted.is_ttl_expiry is False
    assert expired.old_image == USER


@pytest.mark.parametrize(
    "identity",
    [
        {"type": "Service", "principalId": "lambda.amazonaws.com"},
        {"type": "User", "principalId": "dynamodb.amazonaws.com"},
        {"principalId": "dynamodb.amazonaws.com"},
        "Service",
    ],
)
def test_other_identities_are_not_ttl_expiries(stream: FakeStream, identity: Any) -> None:
    raw = stream.remove(USER)
    raw["userIdentity"] = identity

    assert Change(raw).is_ttl_expiry is False


def test_only_a_remove_can_be_a_ttl_expiry(stream: FakeStream) -> None:
    raw = stream.modify(USER, USER)
    raw["userIdentity"] = {"type": "Service", "principalId": "dynamodb.amazonaws.com"}

    assert Change(raw).is_ttl_expiry is False


# --- images are decoded on access, once -----------------------------------------------------


def test_each_image_is_decoded_once(stream: FakeStream) -> None:
    raw = stream.modify(OLD, NEW)
    change = Change(raw)

    first_new, first_old, first_keys = change.new_image, change.old_image, change.keys
    raw["dynamodb"]["NewImage"] = {"id": {"S": "someone else"}}
    raw["dynamodb"]["OldImage"]["age"] = {"N": "not a number"}
    raw["dynamodb"]["Keys"] = {"id": {"S": "u2"}}

    assert change.new_image is first_new
    assert change.old_image is first_old
    assert change.keys is first_keys
    assert change.new_image == NEW


def test_images_are_decoded_on_access_not_on_parse(stream: FakeStream) -> None:
    raw = stream.modify(OLD, NEW)
    raw["dynamodb"]["NewImage"]["age"] = {"N": "bad"}

    change = Change(raw, index=3)  # the envelope is fine

    assert change.old_image == OLD
    with pytest.raises(RecordError) as caught:
        _ = change.new_image
    assert caught.value.field == "dynamodb.NewImage.age"
    assert caught.value.sequence_number == raw["dynamodb"]["SequenceNumber"]
    assert caught.value.event_id == raw["eventID"]
    assert caught.value.index == 3


# --- malformed records ------------------------------------------------------------------------


def envelope_fault(path: tuple[str, ...], value: Any) -> dict[str, Any]:
    """A valid record with ``path`` set to ``value`` (or removed when ``value`` is DELETE)."""
    raw = FakeStream().insert(USER)
    target = raw
    for key in path[:-1]:
        target = target[key]
    if value is DELETE:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return raw


DELETE: Any = object()
ENVELOPE_FAULTS = [
    (("dynamodb",), DELETE, "dynamodb"),
    (("dynamodb",), "text", "dynamodb"),
    (("dynamodb", "SequenceNumber"), DELETE, "dynamodb.SequenceNumber"),
    (("dynamodb", "SequenceNumber"), 100, "dynamodb.SequenceNumber"),
    (("dynamodb", "SequenceNumber"), "", "dynamodb.SequenceNumber"),
    (("dynamodb", "SequenceNumber"), "12a", "dynamodb.SequenceNumber"),
    (("dynamodb", "SequenceNumber"), "\u0661\u0662", "dynamodb.SequenceNumber"),
    (("eventName",), "UPSERT", "eventName"),
    (("eventName",), DELETE, "eventName"),
    (("eventID",), 7, "eventID"),
    (("eventSource",), "aws:sqs", "eventSource"),
    (("dynamodb", "StreamViewType"), "EVERYTHING", "dynamodb.StreamViewType"),
    (("dynamodb", "Keys"), DELETE, "dynamodb.Keys"),
    (("dynamodb", "Keys"), [], "dynamodb.Keys"),
    (
        ("dynamodb", "ApproximateCreationDateTime"),
        "2024-01-01",
        "dynamodb.ApproximateCreationDateTime",
    ),
    (("dynamodb", "ApproximateCreationDateTime"), True, "dynamodb.ApproximateCreationDateTime"),
    (("dynamodb", "ApproximateCreationDateTime"), 1e20, "dynamodb.ApproximateCreationDateTime"),
    (
        ("dynamodb", "ApproximateCreationDateTime"),
        float("nan"),
        "dynamodb.ApproximateCreationDateTime",
    ),
    (("dynamodb", "SizeBytes"), -1, "dynamodb.SizeBytes"),
    (("dynamodb", "SizeBytes"), "12", "dynamodb.SizeBytes"),
    (("eventSourceARN",), 12, "eventSourceARN"),
]


@pytest.mark.parametrize(("path", "value", "field"), ENVELOPE_FAULTS)
def test_malformed_envelopes_name_the_record_and_the_field(
    path: tuple[str, ...], value: Any, field: str
) -> None:
    raw = envelope_fault(path, value)
    seq_is_valid = field not in ("dynamodb", "dynamodb.SequenceNumber")

    with pytest.raises(RecordError) as caught:
        Change(raw, index=7)

    error = caught.value
    assert error.field == field
    assert error.index == 7
    assert error.cause
    assert "record 7 " in str(error)
    assert f"field {field}:" in str(error)
    if seq_is_valid:
        assert error.sequence_number == raw["dynamodb"]["SequenceNumber"]
        assert raw["dynamodb"]["SequenceNumber"] in str(error)
    else:
        assert error.sequence_number is None
    if isinstance(raw.get("eventID"), str):
        assert error.event_id == raw["eventID"]
        assert raw["eventID"] in str(error)


@pytest.mark.parametrize(
    "raw",
    [
        "INSERT",
        None,
        [],
        {"messageId": "m1", "body": "{}", "eventSource": "aws:sqs"},  # an SQS message
        {"s3": {"bucket": {"name": "b"}}, "eventSource": "aws:s3", "eventName": "Put"},
    ],
    ids=["string", "null", "list", "sqs", "s3"],
)
def test_things_that_are_not_stream_records(raw: Any) -> None:
    with pytest.raises(RecordError) as caught:
        Change(raw, index=0)

    assert caught.value.sequence_number is None
    assert "record 0" in str(caught.value)
    assert "SequenceNumber <unknown>" in str(caught.value)


def test_a_bad_key_names_the_key_field_without_its_value(stream: FakeStream) -> None:
    raw = stream.insert(USER)
    raw["dynamodb"]["Keys"]["id"] = {"N": "ada@example.com"}
    change = Change(raw, index=1)

    with pytest.raises(RecordError) as caught:
        _ = change.keys

    assert caught.value.field == "dynamodb.Keys.id"
    assert "ada@example.com" not in str(caught.value)


def test_new_values_decode_only_the_attributes_asked_for(stream: FakeStream) -> None:
    raw = stream.insert({"id": "u1", "email": "ada@example.com", "age": 36})
    raw["dynamodb"]["NewImage"]["age"] = {"N": "thirty-six"}  # never read here

    assert Change(raw).new_values(("email", "name")) == {"email": "ada@example.com"}
    assert Change(stream.remove({"id": "u1"})).new_values(("email",)) is None
    with pytest.raises(RecordError) as caught:
        Change(raw).check_images()
    assert caught.value.field == "dynamodb.NewImage.age"


def test_new_values_name_a_broken_attribute_they_read(stream: FakeStream) -> None:
    raw = stream.insert({"id": "u1", "email": "ada@example.com"})
    raw["dynamodb"]["NewImage"]["email"] = {"S": 7}

    with pytest.raises(RecordError) as caught:
        Change(raw).new_values(("email", "name"))
    assert caught.value.field == "dynamodb.NewImage.email"
