"""decode_image / decode_value on malformed input: a DecodeError (a ValueError) that names the
broken attribute by its path and never echoes its value, for every kind of breakage and, as a
property, wherever in an image the broken attribute stands."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib import DecodeError, decode_image, decode_value
from devtools.stream_events import serialize_item
from tests.chalicelib.strategies import PROPERTY, items

SECRET = "alice@example.com"


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
