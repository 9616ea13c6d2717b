"""compose_welcome: text and HTML with the user's name, escaped, and nothing that can become a
header."""

from __future__ import annotations

import html
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.errors import PermanentEmailError
from chalicelib.welcome import MAX_NAME, compose_welcome, user_email
from tests.chalicelib.strategies import PROPERTY

SENDER = "welcome@example.com"


def test_text_and_html_greet_the_user_by_name() -> None:
    message = compose_welcome({"id": "u1", "email": " ada@example.com ", "name": "Ada"}, SENDER)

    assert message.sender == SENDER
    assert message.recipient == "ada@example.com"
    assert message.subject == "Welcome, Ada!"
    assert message.text.startswith("Hello Ada,\n")
    assert "<p>Hello Ada,</p>" in message.html
    assert message.html.startswith("<!DOCTYPE html>")


def test_without_a_name_the_greeting_is_plain() -> None:
    for item in ({"email": "ada@example.com"}, {"email": "ada@example.com", "name": 7}):
        message = compose_welcome(item, SENDER)
        assert message.subject == "Welcome!"
        assert message.text.startswith("Hello,\n")
        assert "<p>Hello,</p>" in message.html


def test_names_are_escaped_in_html_only() -> None:
    name = '<script>alert("x")</script> & Co'

    message = compose_welcome({"email": "ada@example.com", "name": name}, SENDER)

    assert "<script>" not in message.html
    assert html.escape(f"Hello {name},") in message.html
    assert f"Hello {name}," in message.text


@pytest.mark.parametrize("breaker", ["\r\n", "\n", "\r", "\x00", "\x0b", "\u2028", "\x1b", "\x85"])
def test_line_breaks_in_names_are_folded(breaker: str) -> None:
    message = compose_welcome(
        {"email": "ada@example.com", "name": f"Ada{breaker}Bcc: eve@evil.example"}, SENDER
    )

    assert message.subject == "Welcome, Ada Bcc: eve@evil.example!"
    assert breaker not in message.subject
    assert message.text.splitlines()[0] == "Hello Ada Bcc: eve@evil.example,"


def test_long_names_are_cut() -> None:
    message = compose_welcome({"email": "ada@example.com", "name": "A" * 500}, SENDER)

    assert message.subject == f"Welcome, {'A' * MAX_NAME}!"


@pytest.mark.parametrize(
    "address",
    [
        "ada@example.com\r\nBcc: eve@evil.example",
        "ada@example.com\nBcc: eve@evil.example",
        "ada@example.com, eve@evil.example",
        "ada@example.com;eve@evil.example",
        "Ada <ada@example.com>",
        "ada@@example.com",
        "ada@exa mple.com",
        "ada@localhost",
        "ada",
        "@example.com",
        "ada@example.com\x00",
        "a" * 250 + "@example.com",
    ],
)
def test_anything_but_one_plain_address_is_refused(address: str) -> None:
    with pytest.raises(PermanentEmailError) as caught:
        compose_welcome({"email": address, "name": "Ada"}, SENDER)

    assert "@" not in str(caught.value)


def test_no_address_is_refused() -> None:
    with pytest.raises(PermanentEmailError):
        compose_welcome({"name": "Ada"}, SENDER)


@pytest.mark.parametrize(
    ("item", "expected"),
    [
        ({"email": "ada@example.com"}, "ada@example.com"),
        ({"email": "  ada@example.com\n"}, "ada@example.com"),
        ({"email": ""}, None),
        ({"email": "   "}, None),
        ({"email": None}, None),
        ({"email": {"ada@example.com"}}, None),
        ({"mail": "ada@example.com"}, None),
    ],
)
def test_user_email(item: dict[str, object], expected: str | None) -> None:
    assert user_email(item) == expected


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


@PROPERTY
@given(st.text(max_size=150))
def test_no_name_can_break_a_header_or_the_html(name: str) -> None:
    message = compose_welcome({"email": "ada@example.com", "name": name}, SENDER)

    assert not _CONTROL.search(message.subject)
    greeting = re.fullmatch(
        r"<!DOCTYPE html><html><body><p>(.*)</p><p>Welcome to our service! Your account is "
        r"ready\.</p><p>&mdash; The team</p></body></html>",
        message.html,
        flags=re.DOTALL,
    )
    assert greeting is not None
    assert "<" not in greeting.group(1)
    assert html.unescape(greeting.group(1)) == message.text.splitlines()[0]


@PROPERTY
@given(st.emails())
def test_every_plain_address_is_accepted(address: str) -> None:
    if len(address) > 254:
        with pytest.raises(PermanentEmailError):
            compose_welcome({"email": address}, SENDER)
    else:
        assert compose_welcome({"email": address}, SENDER).recipient == address


@PROPERTY
@given(st.emails(), st.sampled_from(["\r", "\n", "\r\n", "\u2028"]), st.text(max_size=20))
def test_no_address_with_a_line_break_inside_is_accepted(
    address: str, breaker: str, rest: str
) -> None:
    with pytest.raises(PermanentEmailError):
        compose_welcome({"email": f"{address}{breaker}x{rest}"}, SENDER)
