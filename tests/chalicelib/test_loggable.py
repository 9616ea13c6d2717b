"""The log line's images, read straight from DynamoDB JSON: values, redaction, checks, and the
names of the attributes a change touched.

The property tests build the stream's JSON with boto3's own ``TypeSerializer`` (binary as the
base64 text Lambda delivers, numbers as their text) and hold the walk to the line format as
documented, written out here on decoded values: not to the code under test.
"""

from __future__ import annotations

import base64
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.changelog import ChangeLog
from chalicelib.errors import RecordError
from chalicelib.loggable import changed_names, plain_image, plain_update
from chalicelib.records import Change
from chalicelib.redaction import REDACTED, Redactor
from devtools.stream_events import FakeStream
from tests.chalicelib.boto3_json import stream_json
from tests.chalicelib.strategies import PROPERTY, canonical, items


def documented(value: Any, hidden: set[str]) -> Any:
    """The line format (module docstring of chalicelib.loggable), on a decoded value."""
    if isinstance(value, dict):
        return {k: REDACTED if k in hidden else documented(v, hidden) for k, v in value.items()}
    if isinstance(value, list):
        return [documented(v, hidden) for v in value]
    if isinstance(value, set):
        return [documented(v, hidden) for v in sorted(value, key=str)]
    if isinstance(value, Decimal):
        exact_int = value == value.to_integral_value() and abs(value) < 2**53
        return int(value) if exact_int else str(value)
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    return value


def plain(image: Any, names: set[str] = frozenset()) -> dict[str, Any]:  # type: ignore[assignment]
    return plain_image(image, {}, names.__contains__)


@PROPERTY
@given(items, st.sets(st.text(min_size=1, max_size=12), max_size=3))
def test_an_image_is_written_as_documented(item: dict[str, Any], names: set[str]) -> None:
    names |= set(list(item)[:1])  # hide at least one attribute the item has, when it has one

    assert plain(stream_json(item), names) == documented(item, names)


@PROPERTY
@given(items, items)
def test_an_update_writes_its_new_image_as_a_whole_image_would(
    old: dict[str, Any], new: dict[str, Any]
) -> None:
    new = {**{k: v for k, v in old.items() if k.startswith("a")}, **new}  # some kept as they were
    raw_old, raw_new = stream_json(old), stream_json(new)

    written, _ = plain_update(raw_old, plain(raw_old), raw_new, {}, lambda name: False)

    assert written == plain(raw_new)
    assert list(written) == list(raw_new)  # in the image's order


def test_numbers_keep_their_exact_value() -> None:
    image = {
        "small": {"N": "42"},
        "negative": {"N": "-7"},
        "written_long": {"N": "1.000"},
        "beyond_a_double": {"N": "9007199254740993"},
        "fraction": {"N": "0.1"},
        "huge": {"N": "1E+125"},
        "set": {"NS": ["10", "9", "1.5"]},
    }

    assert plain(image) == {
        "small": 42,
        "negative": -7,
        "written_long": 1,
        "beyond_a_double": "9007199254740993",
        "fraction": "0.1",
        "huge": "1E+125",
        "set": ["1.5", 10, 9],  # sorted by their text: "1.5" < "10" < "9"
    }


def test_a_redacted_attribute_is_hidden_at_any_depth_whatever_its_type() -> None:
    image = stream_json(
        {
            "name": {"first": "Ada"},
            "contacts": [{"name": "Bob", "phone": "1"}],
            "deep": {"er": {"name": {"x", "y"}}},
        }
    )

    assert plain(image, {"name"}) == {
        "name": REDACTED,
        "contacts": [{"name": REDACTED, "phone": "1"}],
        "deep": {"er": {"name": REDACTED}},
    }


@pytest.mark.parametrize(
    ("av", "reason"),
    [
        ({"N": "two"}, "N value is not a valid number"),
        ({"N": "\u0661"}, "N value is not a valid number"),  # a digit, but not ASCII
        ({"N": "1_000"}, "N value is not a valid number"),
        ({"B": "not base64!"}, "B value is not valid base64"),
        ({"SS": ["a", 1]}, "SS member is not a string"),
        ({"S": "a", "N": "1"}, "not an attribute value (a map with exactly one type tag)"),
        ({"M": {"x": {"BOOL": "yes"}}}, "BOOL value is not true or false"),
    ],
)
def test_a_broken_value_fails_the_record_even_where_the_line_hides_it(
    av: dict[str, Any], reason: str
) -> None:
    raw = FakeStream().insert({"id": "u1"})
    raw["dynamodb"]["NewImage"]["name"] = av
    log = ChangeLog("INFO", Redactor(["name"]))

    with pytest.raises(RecordError) as caught:
        log.change(Change(raw))

    assert caught.value.field is not None
    assert caught.value.field.startswith("dynamodb.NewImage.name")
    assert caught.value.cause == reason


# --- the names of the attributes a change touched ------------------------------------------


def modify(old: dict[str, Any], new: dict[str, Any], edit: Any = None) -> dict[str, Any]:
    body: dict[str, Any] = FakeStream().modify(old, new)["dynamodb"]
    if edit is not None:
        edit(body["OldImage"], body["NewImage"])
    return body


def changes(old: dict[str, Any], new: dict[str, Any], *, edit: Any = None) -> list[str]:
    body = modify(old, new, edit)
    raw_old, raw_new = body["OldImage"], body["NewImage"]
    return plain_update(raw_old, plain(raw_old), raw_new, {}, lambda name: False)[1]


def test_added_removed_and_modified_attributes_are_named() -> None:
    old = {"id": "u1", "a": "1", "gone": True, "same": ["x"]}
    new = {"id": "u1", "a": "2", "new": None, "same": ["x"], "z": b"z"}

    assert changes(old, new) == ["a", "gone", "new", "z"]


def test_inserts_and_removals_name_every_attribute_of_their_image() -> None:
    image = stream_json({"id": "u1", "b": 1, "a": "x"})

    assert changed_names("INSERT", None, image) == ["a", "b", "id"]
    assert changed_names("REMOVE", image, None) == ["a", "b", "id"]
    assert changed_names("INSERT", None, None) is None  # an OLD_IMAGE or KEYS_ONLY stream


def test_set_order_does_not_count_as_a_change() -> None:
    def reorder(old: dict[str, Any], new: dict[str, Any]) -> None:
        old["tags"] = {"SS": ["a", "b", "c"]}
        new["tags"] = {"SS": ["c", "a", "b"]}

    assert changes({"id": "u1"}, {"id": "u1"}, edit=reorder) == []


def test_equal_numbers_and_binaries_written_differently_do_not_count_as_a_change() -> None:
    def rewrite(old: dict[str, Any], new: dict[str, Any]) -> None:
        old["n"], new["n"] = {"N": "1.0"}, {"N": "1"}
        old["ns"], new["ns"] = {"NS": ["1.50", "2"]}, {"NS": ["2E0", "1.5"]}
        old["b"], new["b"] = {"B": "QQ=="}, {"B": "QR=="}  # padding bits: both read b"A"
        old["m"], new["m"] = {"M": {"x": {"N": "5"}}}, {"M": {"x": {"N": "5.0"}}}
        old["l"], new["l"] = {"L": [{"N": "5"}]}, {"L": [{"N": "50E-1"}]}

    assert changes({"id": "u1"}, {"id": "u1"}, edit=rewrite) == []


def test_a_broken_value_only_the_new_image_has_fails_the_record_naming_it() -> None:
    def break_it(old: dict[str, Any], new: dict[str, Any]) -> None:
        new["age"] = {"N": "two"}

    body = modify({"id": "u1", "age": 1}, {"id": "u1", "age": 2}, break_it)
    log = ChangeLog("INFO", Redactor([]))

    with pytest.raises(RecordError) as caught:
        log.change(Change({"eventName": "MODIFY", "dynamodb": body}))
    assert caught.value.field == "dynamodb.NewImage.age"


def test_a_change_deep_inside_a_map_names_the_top_level_attribute() -> None:
    old = {"id": "u1", "profile": {"address": {"city": "Paris"}}}
    new = {"id": "u1", "profile": {"address": {"city": "Lyon"}}}

    assert changes(old, new) == ["profile"]


@pytest.mark.parametrize(
    ("before", "after"),
    [
        (Decimal(1), True),
        (Decimal(0), False),
        ([Decimal(1)], [True]),
        ({"flag": Decimal(0)}, {"flag": False}),
        ("1", Decimal(1)),
        ({"a"}, ["a"]),
        ({"1"}, {Decimal(1)}),
    ],
    ids=["N-to-BOOL", "N0-to-false", "in-list", "in-map", "S-to-N", "SS-to-L", "SS-to-NS"],
)
def test_a_change_of_type_is_a_change(before: Any, after: Any) -> None:
    assert changes({"id": "u1", "v": before}, {"id": "u1", "v": after}) == ["v"]


@PROPERTY
@given(items, items)
def test_changed_names_match_a_type_strict_comparison(
    old: dict[str, Any], new: dict[str, Any]
) -> None:
    old, new = {**old, "id": "u1"}, {**new, "id": "u1"}

    assert changes(old, new) == sorted(
        (new.keys() ^ old.keys())
        | {k for k in old.keys() & new.keys() if canonical(old[k]) != canonical(new[k])}
    )
