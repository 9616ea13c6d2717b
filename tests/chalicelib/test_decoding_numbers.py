"""decode_value / decode_image and numbers: every number DynamoDB accepts decodes to its exact
Decimal, including those boto3's own deserializer refuses (as it refuses base64 text that
decodes here too), and every text that is not a DynamoDB number is refused with a DecodeError
naming the attribute, wherever in the image it stands."""

from __future__ import annotations

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
from tests.chalicelib.strategies import PROPERTY, dynamodb_numbers
from tests.chalicelib.test_numbers import BAD_NUMBERS, is_dynamodb_number, number_texts

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
