"""Change: one stream record as a typed change; malformed records are RecordErrors that name the
record and the field."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given

from chalicelib.errors import RecordError
from chalicelib.records import AttributeChanges, Change
from devtools.stream_events import DEFAULT_STREAM_ARN, FakeStream
from tests.chalicelib.strategies import PROPERTY, canonical, items

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
    assert change.changed_attributes == AttributeChanges(("age", "email", "id", "name"), (), ())
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
    assert (insert.changed_attributes is None) is not has_new
    assert (remove.changed_attributes is None) is not has_old
    if has_old and has_new:
        assert modify.changed_attributes == AttributeChanges(("city",), (), ("name",))
    else:
        assert modify.changed_attributes is None


def test_a_record_without_a_view_type_is_read_as_new_and_old_images(stream: FakeStream) -> None:
    raw = stream.modify(OLD, NEW)
    del raw["dynamodb"]["StreamViewType"]

    assert Change(raw).stream_view_type == "NEW_AND_OLD_IMAGES"


# --- changed attribute names --------------------------------------------------------------


def changes(old: dict[str, Any], new: dict[str, Any]) -> AttributeChanges | None:
    return Change(FakeStream().modify(old, new)).changed_attributes


def test_added_removed_and_modified_attributes_are_named() -> None:
    old = {"id": "u1", "a": "1", "gone": True, "same": ["x"]}
    new = {"id": "u1", "a": "2", "new": None, "same": ["x"], "z": b"z"}

    result = changes(old, new)

    assert result == AttributeChanges(added=("new", "z"), removed=("gone",), modified=("a",))
    assert result is not None
    assert result.names == ("a", "gone", "new", "z")


def test_set_order_does_not_count_as_a_change() -> None:
    stream = FakeStream()
    raw = stream.modify({"id": "u1", "tags": {"a", "b", "c"}}, {"id": "u1", "tags": {"a"}})
    raw["dynamodb"]["OldImage"]["tags"] = {"SS": ["a", "b", "c"]}
    raw["dynamodb"]["NewImage"]["tags"] = {"SS": ["c", "a", "b"]}

    assert Change(raw).changed_attributes == AttributeChanges((), (), ())


def test_equal_numbers_written_differently_do_not_count_as_a_change() -> None:
    raw = FakeStream().modify({"id": "u1", "n": 1}, {"id": "u1", "n": 1})
    raw["dynamodb"]["OldImage"]["n"] = {"N": "1.0"}
    raw["dynamodb"]["NewImage"]["n"] = {"N": "1"}
    raw["dynamodb"]["OldImage"]["ns"] = {"NS": ["1.50", "2"]}
    raw["dynamodb"]["NewImage"]["ns"] = {"NS": ["2E0", "1.5"]}

    assert Change(raw).changed_attributes == AttributeChanges((), (), ())


def test_new_differences_are_the_new_values_whose_stream_json_differs() -> None:
    old = {"id": "u1", "n": Decimal(1), "gone": True, "profile": {"city": "Paris"}}
    new = {"id": "u1", "n": Decimal(1), "profile": {"city": "Lyon"}, "added": b"z"}
    raw = FakeStream().modify(old, new)
    raw["dynamodb"]["NewImage"]["n"] = {"N": "1.0"}  # the same number, written differently

    change = Change(raw)

    assert change.new_differences == {"n": 1, "profile": {"city": "Lyon"}, "added": b"z"}
    assert change.changed_attributes == AttributeChanges(("added",), ("gone",), ("profile",))
    assert Change(FakeStream().insert(USER)).new_differences is None


def test_a_broken_value_only_the_new_image_has_fails_the_record_naming_it() -> None:
    raw = FakeStream().modify({"id": "u1", "age": 1}, {"id": "u1", "age": 2})
    raw["dynamodb"]["NewImage"]["age"] = {"N": "two"}

    with pytest.raises(RecordError) as caught:
        _ = Change(raw).changed_attributes
    assert caught.value.field == "dynamodb.NewImage.age"


def test_a_change_deep_inside_a_map_names_the_top_level_attribute() -> None:
    old = {"id": "u1", "profile": {"address": {"city": "Paris"}}}
    new = {"id": "u1", "profile": {"address": {"city": "Lyon"}}}

    assert changes(old, new) == AttributeChanges((), (), ("profile",))


@pytest.mark.parametrize(
    ("before", "after"),
    [
        (Decimal(1), True),
        (Decimal(0), False),
        ([Decimal(1)], [True]),
        ({"flag": Decimal(0)}, {"flag": False}),
        ("1", Decimal(1)),
        ({"a"}, ["a"]),
    ],
    ids=["N-to-BOOL", "N0-to-false", "in-list", "in-map", "S-to-N", "SS-to-L"],
)
def test_a_change_of_type_is_a_change(before: Any, after: Any) -> None:
    assert changes({"id": "u1", "v": before}, {"id": "u1", "v": after}) == AttributeChanges(
        (), (), ("v",)
    )


@PROPERTY
@given(items, items)
def test_changed_names_match_a_type_strict_comparison(
    old: dict[str, Any], new: dict[str, Any]
) -> None:
    old, new = {**old, "id": "u1"}, {**new, "id": "u1"}

    result = changes(old, new)

    assert result is not None
    assert set(result.added) == new.keys() - old.keys()
    assert set(result.removed) == old.keys() - new.keys()
    assert set(result.modified) == {
        k for k in old.keys() & new.keys() if canonical(old[k]) != canonical(new[k])
    }


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
