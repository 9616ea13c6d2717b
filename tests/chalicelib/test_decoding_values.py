"""decode_image / decode_value: DynamoDB stream JSON to Python values, exactly: each of the ten
types, empty values, sets of one kind, nesting as deep as DynamoDB allows (and no deeper), and
the round trip from a Python value through stream JSON back to the same value."""

from __future__ import annotations

import base64
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given

from chalicelib import DecodeError, decode_image, decode_value
from devtools.stream_events import serialize_item, serialize_value
from tests.chalicelib.strategies import PROPERTY, canonical, items, values

# --- the ten types -----------------------------------------------------------------------


def test_every_type_decodes_to_its_python_value() -> None:
    image = {
        "s": {"S": "Zoë"},
        "n": {"N": "-12.50"},
        "b": {"B": base64.b64encode(b"\x00\xffhi").decode()},
        "bool": {"BOOL": False},
        "null": {"NULL": True},
        "m": {"M": {"inner": {"S": "x"}}},
        "l": {"L": [{"N": "1"}, {"S": "two"}, {"NULL": True}]},
        "ss": {"SS": ["a", "b"]},
        "ns": {"NS": ["1", "2.5"]},
        "bs": {"BS": [base64.b64encode(b"one").decode(), base64.b64encode(b"two").decode()]},
    }

    decoded = decode_image(image)

    assert canonical(decoded) == canonical(
        {
            "s": "Zoë",
            "n": Decimal("-12.50"),
            "b": b"\x00\xffhi",
            "bool": False,
            "null": None,
            "m": {"inner": "x"},
            "l": [Decimal(1), "two", None],
            "ss": {"a", "b"},
            "ns": {Decimal(1), Decimal("2.5")},
            "bs": {b"one", b"two"},
        }
    )


def test_empty_strings_binaries_and_containers() -> None:
    image = {"s": {"S": ""}, "b": {"B": ""}, "m": {"M": {}}, "l": {"L": []}}

    assert decode_image(image) == {"s": "", "b": b"", "m": {}, "l": []}


def test_the_package_exposes_decode_image() -> None:
    import chalicelib

    assert chalicelib.decode_image is decode_image


# --- sets and nesting ----------------------------------------------------------------------


def test_sets_are_sets_of_one_kind() -> None:
    decoded = decode_image({"ss": {"SS": ["x"]}, "ns": {"NS": ["1E+2"]}, "bs": {"BS": ["AA=="]}})

    assert type(decoded["ss"]) is set
    assert type(decoded["ns"]) is set
    assert type(decoded["bs"]) is set
    assert decoded == {"ss": {"x"}, "ns": {Decimal(100)}, "bs": {b"\x00"}}


def nested(levels: int, tag: str) -> dict[str, Any]:
    """``levels`` documents inside each other, with a string at the bottom."""
    value: dict[str, Any] = {"S": "bottom"}
    for _ in range(levels):
        value = {"M": {"a": value}} if tag == "M" else {"L": [value]}
    return value


def test_nested_maps_and_lists_decode() -> None:
    image = {
        "profile": {
            "M": {
                "addresses": {
                    "L": [{"M": {"zip": {"S": "10115"}, "tags": {"SS": ["home"]}}}],
                },
                "age": {"N": "30"},
            }
        }
    }

    assert decode_image(image) == {
        "profile": {"addresses": [{"zip": "10115", "tags": {"home"}}], "age": Decimal(30)}
    }


@pytest.mark.parametrize("tag", ["M", "L"])
def test_documents_32_levels_deep_decode(tag: str) -> None:
    value = decode_image({"a": nested(32, tag)})["a"]
    for _ in range(32):
        value = value["a"] if tag == "M" else value[0]

    assert value == "bottom"


def test_documents_nested_deeper_than_dynamodb_allows_are_refused() -> None:
    with pytest.raises(DecodeError) as maps:
        decode_image({"a": nested(33, "M")})
    with pytest.raises(DecodeError) as lists:
        decode_image({"a": nested(33, "L")})

    assert maps.value.path == ".".join(["a"] * 33)
    assert "deep" in maps.value.reason
    assert lists.value.path == "a" + "[0]" * 32


# --- the property: Python value -> stream JSON -> decode_image -> the same value --------------


@PROPERTY
@given(items)
def test_round_trip_through_stream_json(item: dict[str, Any]) -> None:
    assert canonical(decode_image(serialize_item(item))) == canonical(item)


@PROPERTY
@given(values)
def test_round_trip_of_single_values(value: Any) -> None:
    assert canonical(decode_value(serialize_value(value))) == canonical(value)
