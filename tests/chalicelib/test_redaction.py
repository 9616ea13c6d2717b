"""Redactor replaces named attributes at any depth; scrub_text masks every email address."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.loggable import plain_image
from chalicelib.redaction import REDACTED, Redactor, scrub_text
from tests.chalicelib.boto3_json import stream_json
from tests.chalicelib.strategies import PROPERTY, items

USER = {
    "id": "u1",
    "email": "ada@example.com",
    "name": "Ada",
    "age": Decimal(36),
    "contacts": [
        {"name": "Bob", "email": "bob@example.com", "phone": "+44 20"},
        {"tags": {"friend"}, "nested": {"deeper": {"name": "Cy"}}},
    ],
    "avatar": b"\x89PNG",
}


def redact(names: list[str] | set[str], item: dict[str, Any]) -> dict[str, Any]:
    """``item``'s image as the log line writes it, with ``names`` redacted."""
    redactor = Redactor(names)
    return plain_image(stream_json(item), redactor.hides, redactor.decide)


def test_named_attributes_are_replaced_at_any_depth() -> None:
    redacted = redact(["email", "name"], USER)

    assert redacted == {
        "id": "u1",
        "email": REDACTED,
        "name": REDACTED,
        "age": 36,
        "contacts": [
            {"name": REDACTED, "email": REDACTED, "phone": "+44 20"},
            {"tags": ["friend"], "nested": {"deeper": {"name": REDACTED}}},
        ],
        "avatar": "iVBORw==",
    }


def test_whatever_the_value_of_a_named_attribute_it_is_replaced() -> None:
    image = {"name": {"first": "Ada", "last": "L"}, "email": ["a@x.org"], "phone": None}

    assert redact(["name", "email", "phone"], image) == dict.fromkeys(image, REDACTED)


def test_no_names_redacts_nothing() -> None:
    unredacted = {
        "id": "u1",
        "email": "ada@example.com",
        "name": "Ada",
        "age": 36,
        "contacts": [
            {"name": "Bob", "email": "bob@example.com", "phone": "+44 20"},
            {"tags": ["friend"], "nested": {"deeper": {"name": "Cy"}}},
        ],
        "avatar": "iVBORw==",
    }
    assert redact([], USER) == unredacted
    assert redact(["", ""], USER) == unredacted


@PROPERTY
@given(
    items,
    st.sets(st.text(min_size=1, max_size=12).filter(lambda t: not set(t) & set("*?[")), max_size=3),
)
def test_no_named_attribute_survives_anywhere(item: dict[str, Any], names: set[str]) -> None:
    # Redact at least one attribute the item has, when it has one. Entries are stripped (a
    # blank one means nothing) and may be patterns: both are left out here.
    names = {n for n in names | set(list(item)[:1]) if n.strip() and not set(n) & set("*?[")}
    redacted = redact(names, item)

    def check(value: Any) -> None:
        if isinstance(value, dict):
            for key, inner in value.items():
                if key in names:
                    assert inner == REDACTED
                else:
                    check(inner)
        elif isinstance(value, list):
            for inner in value:
                check(inner)

    check(redacted)
    assert redacted.keys() == item.keys()


# --- scrub_text -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "address",
    [
        "ada@example.com",
        "first.last+tag@sub.example.co.uk",
        "o'brien@example.ie",
        "o'@example.ie",
        "U*'@x.org",
        "!#$%&*+-/=?^_`{|}~@x.org",
        '"ada lovelace"@example.com',
        "zoë@exämple.de",
        "ADA@EXAMPLE.COM",
    ],
)
def test_addresses_are_masked(address: str) -> None:
    for text in (address, f"to {address}.", f"<{address}>", f"'{address}'", f"({address})"):
        scrubbed = scrub_text(text)
        assert address not in scrubbed
        assert "<email>" in scrubbed
    assert address not in scrub_text(json.dumps({"x": address}, ensure_ascii=False))


def test_text_around_an_address_is_kept() -> None:
    assert scrub_text("send to ada@example.com, then bob@example.org") == (
        "send to <email>, then <email>"
    )


@PROPERTY
@given(st.text().filter(lambda t: "@" not in t))
def test_text_without_an_at_sign_is_unchanged(text: str) -> None:
    assert scrub_text(text) == text


@PROPERTY
@given(st.emails(), st.text(max_size=10), st.text(max_size=10), st.booleans())
def test_no_address_survives_scrubbing(
    address: str, before: str, after: str, as_json: bool
) -> None:
    text = before + address + after
    if as_json:
        text = json.dumps({"note": text, address: [address]}, ensure_ascii=False)

    assert address not in scrub_text(text)
