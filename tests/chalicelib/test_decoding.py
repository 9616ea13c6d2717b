"""decode_image / decode_value: DynamoDB stream JSON to Python values, exactly, or a DecodeError
that names the attribute and never echoes its value."""

from __future__ import annotations

import base64
import decimal
from collections.abc import Callable
from decimal import Decimal
from fractions import Fraction
from typing import Any

import pytest
from boto3.dynamodb.types import TypeDeserializer
from hypothesis import given
from hypothesis import strategies as st

from chalicelib import DecodeError, decode_image, decode_value
from devtools.stream_events import serialize_item, serialize_value
from tests.chalicelib.strategies import PROPERTY, canonical, dynamodb_numbers, items, values
from tests.chalicelib.test_numbers import BAD_NUMBERS, is_dynamodb_number, number_texts

SECRET = "alice@example.com"


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


# --- numbers: exact for everything DynamoDB accepts --------------------------------------

WRITTEN_OUT = [
    "0",
    "42",
    "-7",
    "3.14",
    "1.0",
    "1E-130",
    "-1E-130",
    "9.9999999999999999999999999999999999999E+125",
    "-9.9999999999999999999999999999999999999E+125",
    "12345678901234567890123456789012345678",  # 38 significant digits
    "0.12345678901234567890123456789012345678",
    "1" + "0" * 125,  # 1E+125 written out: 126 digits
    "12345678901234567890123456789012345678" + "0" * 88,  # 38 digits, 88 trailing zeros
    "0." + "0" * 129 + "1",  # 1E-130 written out
    "-0." + "0" * 91 + "12345678901234567890123456789012345678",
]


@pytest.mark.parametrize("text", WRITTEN_OUT, ids=lambda t: t[:24])
def test_numbers_are_exact(text: str) -> None:
    number = decode_value({"N": text})

    assert type(number) is Decimal
    assert Fraction(number) == Fraction(text)  # an independent exact reading of the text


@pytest.mark.parametrize(
    "text",
    ["1" + "0" * 125, "12345678901234567890123456789012345678" + "0" * 88, "-9" + "0" * 60],
    ids=lambda t: t[:12] + f"..({len(t)} chars)",
)
def test_trailing_zeros_that_make_boto3_raise_decode_exactly(text: str) -> None:
    with pytest.raises(decimal.Rounded):
        TypeDeserializer().deserialize({"N": text})

    assert Fraction(decode_value({"N": text})) == Fraction(text)


def test_base64_text_that_boto3_rejects_decodes_to_bytes() -> None:
    with pytest.raises(TypeError):
        TypeDeserializer().deserialize({"B": "aGk="})  # type: ignore[typeddict-item]

    assert decode_value({"B": "aGk="}) == b"hi"
    assert decode_value({"BS": ["aGk=", "aG8="]}) == {b"hi", b"ho"}


@PROPERTY
@given(dynamodb_numbers())
def test_every_dynamodb_number_decodes_exactly(number: Decimal) -> None:
    decoded = decode_value({"N": str(number)})

    assert type(decoded) is Decimal
    assert decoded.as_tuple() == number.as_tuple()
    assert Fraction(decoded) == Fraction(str(number))


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


# --- malformed input: a DecodeError naming the attribute, never the value -------------------

MALFORMED = [
    ({"a": {"X": SECRET}}, "a", "tag"),
    ({"a": {"s": SECRET}}, "a", "tag"),
    ({"a": {"S": SECRET, "N": "1"}}, "a", "attribute value"),
    ({"a": {}}, "a", "attribute value"),
    ({"a": SECRET}, "a", "attribute value"),
    ({"a": [{"S": SECRET}]}, "a", "attribute value"),
    ({"a": {"B": SECRET}}, "a", "base64"),
    ({"a": {"B": "aGk"}}, "a", "base64"),  # missing padding
    ({"a": {"B": 12}}, "a", "base64"),
    ({"a": {"BS": ["aGk=", SECRET]}}, "a[1]", "base64"),
    ({"a": {"BS": "aGk="}}, "a", "list"),
    ({"a": {"N": 1}}, "a", "number"),
    ({"a": {"N": None}}, "a", "number"),
    ({"a": {"NS": ["1", "NaN"]}}, "a[1]", "number"),
    ({"a": {"NS": "1"}}, "a", "list"),
    ({"a": {"S": 5}}, "a", "string"),
    ({"a": {"SS": ["x", 5]}}, "a[1]", "string"),
    ({"a": {"SS": "x"}}, "a", "list"),
    ({"a": {"BOOL": "true"}}, "a", "BOOL"),
    ({"a": {"BOOL": 1}}, "a", "BOOL"),
    ({"a": {"NULL": False}}, "a", "NULL"),
    ({"a": {"M": [SECRET]}}, "a", "map"),
    ({"a": {"L": {"x": {"S": SECRET}}}}, "a", "list"),
    ({"a": {"M": {"b": {"L": [{"S": "ok"}, {"N": SECRET}]}}}}, "a.b[1]", "number"),
    (
        {"profile": {"M": {"addresses": {"L": [{"M": {"zip": {"N": SECRET}}}]}}}},
        "profile.addresses[0].zip",
        "number",
    ),
]


@pytest.mark.parametrize(("image", "path", "reason"), MALFORMED)
def test_malformed_values_name_the_attribute(image: Any, path: str, reason: str) -> None:
    with pytest.raises(DecodeError) as caught:
        decode_image(image)

    assert caught.value.path == path
    assert reason in caught.value.reason
    assert path in str(caught.value)
    assert SECRET not in str(caught.value)
    assert "alice" not in repr(caught.value)


@pytest.mark.parametrize("text", BAD_NUMBERS)
def test_bad_numbers_are_refused(text: str) -> None:
    with pytest.raises(DecodeError) as caught:
        decode_image({"age": {"N": text}})

    assert caught.value.path == "age"
    assert "number" in caught.value.reason


@pytest.mark.parametrize("text", BAD_NUMBERS)
@pytest.mark.parametrize(
    ("av", "path"),
    [
        (lambda t: {"NS": ["1", "2.5", t]}, "bad[2]"),
        (lambda t: {"M": {"lat": {"N": "-52.1"}, "lon": {"N": t}}}, "bad.lon"),
        (lambda t: {"L": [{"N": "7"}, {"N": t}]}, "bad[1]"),
    ],
    ids=["NS", "M", "L"],
)
def test_a_bad_number_among_good_ones_is_refused_by_name(
    text: str, av: Callable[[str], dict[str, Any]], path: str
) -> None:
    image = {"age": {"N": "42"}, "bad": av(text), "balance": {"N": "10.50"}}

    with pytest.raises(DecodeError) as caught:
        decode_image(image)

    assert caught.value.path == path
    assert "number" in caught.value.reason


# Number texts are checked once per image, all together: whatever else the image holds, each
# text decodes to its exact value when it is a DynamoDB number, and is refused by name if not.
@PROPERTY
@given(st.lists(number_texts, min_size=1, max_size=6), st.sampled_from(["N", "NS", "M", "L"]))
def test_every_number_text_in_an_image_is_exact_or_refused_by_name(
    texts: list[str], where: str
) -> None:
    image: dict[str, Any] = {"id": {"S": "u1"}, "age": {"N": "42"}}
    for i, text in enumerate(texts):
        if where == "N":
            image[f"n{i}"] = {"N": text}
        elif where == "NS":
            image[f"n{i}"] = {"NS": ["7", text]}
        elif where == "M":
            image[f"n{i}"] = {"M": {"geo": {"N": text}}}
        else:
            image[f"n{i}"] = {"L": [{"N": text}]}
    valid = [is_dynamodb_number(text) for text in texts]
    suffix = {"N": "", "NS": "[1]", "M": ".geo", "L": "[0]"}[where]

    if all(valid):
        decoded = decode_image(image)
        for i, text in enumerate(texts):
            value = decoded[f"n{i}"]
            numbers = value if where in ("NS", "L") else [value["geo"] if where == "M" else value]
            expected = {"NS": [Fraction(7), Fraction(text)]}.get(where, [Fraction(text)])
            assert all(type(number) is Decimal for number in numbers)
            if where == "NS":  # a set: "7" and "7.0" are one member, as in DynamoDB
                assert set(map(Fraction, numbers)) == set(expected)
            else:
                assert sorted(map(Fraction, numbers)) == sorted(expected)
    else:
        with pytest.raises(DecodeError) as caught:
            decode_image(image)
        assert caught.value.path == f"n{valid.index(False)}{suffix}"
        assert "number" in caught.value.reason


def test_an_image_that_is_not_a_map_is_refused() -> None:
    with pytest.raises(DecodeError) as listed:
        decode_image([{"S": "x"}])  # type: ignore[arg-type]
    with pytest.raises(DecodeError) as text:
        decode_image('{"id": {"S": "x"}}')  # type: ignore[arg-type]

    assert listed.value.path == ""
    assert "image" in listed.value.reason
    assert "image" in text.value.reason


def test_decode_value_refuses_like_decode_image() -> None:
    with pytest.raises(DecodeError) as caught:
        decode_value({"L": [{"N": SECRET}]})

    assert caught.value.path == "[0]"
    assert SECRET not in str(caught.value)


def test_decode_error_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="N value"):
        decode_value({"N": "x"})


# --- a property: whatever attribute is broken, the error names exactly it -------------------


def attribute_value_slots(av: Any, path: str) -> list[tuple[str, Any, Any]]:
    """Every (path, container, key) of an attribute value inside ``av``, including ``av``'s
    own children; the top level is handled by the caller."""
    slots: list[tuple[str, Any, Any]] = []
    ((tag, inner),) = av.items()
    if tag == "M":
        for key, child in inner.items():
            child_path = f"{path}.{key}"
            slots.append((child_path, inner, key))
            slots.extend(attribute_value_slots(child, child_path))
    elif tag == "L":
        for index, child in enumerate(inner):
            child_path = f"{path}[{index}]"
            slots.append((child_path, inner, index))
            slots.extend(attribute_value_slots(child, child_path))
    return slots


@PROPERTY
@given(
    items.filter(bool),
    st.sampled_from([{"N": "NaN"}, {"B": "%%%"}, {"Q": "x"}, {"SS": [SECRET, 1]}, {"S": 1}]),
    st.data(),
)
def test_the_error_names_the_broken_attribute(
    item: dict[str, Any], broken: dict[str, Any], data: st.DataObject
) -> None:
    image = serialize_item(item)
    slots: list[tuple[str, Any, Any]] = []
    for name, av in image.items():
        slots.append((name, image, name))
        slots.extend(attribute_value_slots(av, name))
    path, container, key = data.draw(st.sampled_from(slots))
    container[key] = broken
    if broken.get("SS"):
        path += "[1]"

    with pytest.raises(DecodeError) as caught:
        decode_image(image)

    assert caught.value.path == path
    assert SECRET not in str(caught.value)
