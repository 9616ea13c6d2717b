"""DynamoDB's number syntax, checked many texts at once: held to the syntax as AWS documents it
(the regular expression below, written from the DynamoDB developer guide's "Number" data type),
not to the module's own rule."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.decoding import DecodeError, decode_image
from chalicelib.numbers import check_numbers, exact, parse_number
from tests.chalicelib.strategies import PROPERTY, dynamodb_numbers

BAD_NUMBERS = ["NaN", "-NaN", "Infinity", "inf", "1_000", " 1", "1 ", "", "1e", "e5", "--1"]
BAD_NUMBERS += ["1..0", ".", "-", "0x10", "1e+", "\u0661", "1\n", "+1", "1,5"]


DYNAMODB_NUMBER = re.compile(r"-?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?", re.ASCII)
number_texts = st.one_of(
    st.text(alphabet="0123456789.-eE+_ \t\u0661\u00b2NaInfity", max_size=8),
    st.builds(str, dynamodb_numbers()),
    st.sampled_from(BAD_NUMBERS),
    st.sampled_from(["1e99999999999999999999", "-1e-99999999999999999999", "0e9" + "9" * 20]),
)


def is_dynamodb_number(text: str) -> bool:
    """DynamoDB's number syntax, with an exponent Python's Decimal can hold."""
    match = DYNAMODB_NUMBER.fullmatch(text)
    return match is not None and abs(int(match[2][1:] if match[2] else 0)) < 10**18


def accepted_by_decimal(text: str) -> bool:
    try:
        exact(text)
    except (ArithmeticError, TypeError, ValueError):
        return False
    return True


@PROPERTY
@given(st.lists(number_texts, min_size=1, max_size=6))
def test_texts_decimal_accepts_pass_together_exactly_when_each_is_a_dynamodb_number(
    texts: list[str],
) -> None:
    texts = [text for text in texts if accepted_by_decimal(text)]  # what a reader hands on
    if all(map(is_dynamodb_number, texts)):
        check_numbers(texts)
    else:
        with pytest.raises(ValueError, match=r"not a number|codec can.t encode"):
            check_numbers(texts)


@pytest.mark.parametrize("text", BAD_NUMBERS)
def test_one_bad_number_is_refused_on_its_own(text: str) -> None:
    with pytest.raises((ValueError, InvalidOperation)):
        parse_number(text)


@PROPERTY
@given(dynamodb_numbers())
def test_one_dynamodb_number_parses_to_its_exact_value(number: Decimal) -> None:
    assert parse_number(str(number)) == number
    assert exact(str(number)).as_tuple() == number.as_tuple()


@pytest.mark.parametrize("before", ["1e5", "1E5", "2.5e-3", "7"])
@pytest.mark.parametrize("text", ["+2", "+1e+5", "+0"])
def test_a_plus_sign_after_an_exponent_of_another_number_is_still_refused(
    before: str, text: str
) -> None:
    # The texts are checked joined together: "1e5" then "+2" reads "1e5+2", whose "+"
    # follows an "e" but begins a number of its own.
    with pytest.raises(DecodeError) as caught:
        decode_image({"a": {"N": before}, "b": {"N": text}, "c": {"N": "1E+125"}})

    assert caught.value.path == "b"
