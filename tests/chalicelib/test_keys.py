"""The table's key schema in one place: USERS_TABLE_KEY, the ledger key from all of a record's
key attributes with their types, and records whose Keys do not match."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.errors import ConfigurationError, RecordError
from chalicelib.keys import DEFAULT_KEY_SCHEMA, KeySchema
from chalicelib.records import Change
from devtools.stream_events import FakeStream
from infra.cfn import load_template
from tests.chalicelib.conftest import LogLines, MakeService, MemoryLedger, RecordingSender

ROOT = Path(__file__).resolve().parents[2]


def test_the_default_is_the_templates_key_schema() -> None:
    table = load_template(ROOT / "infra" / "users-table.yaml")["Resources"]["UsersTable"]
    types = {
        a["AttributeName"]: a["AttributeType"] for a in table["Properties"]["AttributeDefinitions"]
    }
    schema = [
        (k["AttributeName"], types[k["AttributeName"]]) for k in table["Properties"]["KeySchema"]
    ]

    assert KeySchema.parse(DEFAULT_KEY_SCHEMA).attributes == tuple(schema)


@pytest.mark.parametrize(
    ("text", "attributes"),
    [
        ("id:S", (("id", "S"),)),
        (" user_id : s ", (("user_id", "S"),)),
        ("pk:S,sk:N", (("pk", "S"), ("sk", "N"))),
        ("a:b:B", (("a:b", "B"),)),
    ],
)
def test_the_setting(text: str, attributes: tuple[tuple[str, str], ...]) -> None:
    assert KeySchema.parse(text).attributes == attributes


@pytest.mark.parametrize("text", ["id", "id:X", ":S", "id:S,id:N", "a:S,b:S,c:S", "id:BOOL"])
def test_a_wrong_setting_is_refused(text: str) -> None:
    with pytest.raises(ConfigurationError, match="USERS_TABLE_KEY"):
        KeySchema.parse(text)


def change(keys: dict[str, Any], item: dict[str, Any] | None = None) -> Change:
    stream = FakeStream(key_names=tuple(keys))
    return Change(stream.insert({**keys, **(item or {})}))


def test_a_single_string_key_is_the_value_itself() -> None:
    """The format the ledger has always stored (welcome#<id>): no user is welcomed twice
    because the key format changed."""
    assert KeySchema.parse("id:S").item_key(change({"id": "u1"})) == "u1"
    assert KeySchema.parse("user_id:S").item_key(change({"user_id": "u1"})) == "u1"


def test_other_schemas_give_typed_json() -> None:
    schema = KeySchema.parse("pk:S,sk:N")

    assert schema.item_key(change({"pk": "org#1", "sk": Decimal("7")})) == (
        '{"pk":{"S":"org#1"},"sk":{"N":"7"}}'
    )


def test_numbers_that_dynamodb_holds_equal_share_a_key() -> None:
    schema = KeySchema.parse("n:N")
    keys = {schema.item_key(change({"n": Decimal(t)})) for t in ("1", "1.0", "10E-1", "1.000")}
    assert keys == {'{"n":{"N":"1"}}'}


@given(
    st.tuples(st.text(min_size=1, max_size=6), st.integers(-50, 50)),
    st.tuples(st.text(min_size=1, max_size=6), st.integers(-50, 50)),
)
def test_two_items_never_share_a_composite_key(a: tuple[str, int], b: tuple[str, int]) -> None:
    schema = KeySchema.parse("pk:S,sk:N")
    first = schema.item_key(change({"pk": a[0], "sk": Decimal(a[1])}))
    second = schema.item_key(change({"pk": b[0], "sk": Decimal(b[1])}))

    assert (first == second) is (a == b)


@pytest.mark.parametrize(
    ("schema", "keys", "field"),
    [
        ("id:S", {"user_id": "u1"}, "dynamodb.Keys.id"),  # a table keyed by another name
        ("id:S", {"id": Decimal(1)}, "dynamodb.Keys.id"),  # the type is wrong
        ("pk:S,sk:N", {"pk": "a"}, "dynamodb.Keys.sk"),  # half of a composite key
        ("id:S", {"id": "u1", "other": "x"}, "dynamodb.Keys"),  # more than the schema
    ],
)
def test_keys_that_do_not_match_the_schema_fail_naming_the_field(
    schema: str, keys: dict[str, Any], field: str
) -> None:
    with pytest.raises(RecordError) as caught:
        KeySchema.parse(schema).item_key(change(keys))

    assert caught.value.field == field
    assert schema in caught.value.cause


def welcome(make_service: MakeService, schema: str, users: list[dict[str, Any]]) -> Any:
    stream = FakeStream(key_names=tuple(schema_names(schema)))
    sender, ledger = RecordingSender(), MemoryLedger()
    service = make_service({"USERS_TABLE_KEY": schema}, sender=sender, ledger=ledger)
    response = service.handle(stream.event([stream.insert(u) for u in users]))
    return response, sender, ledger


def schema_names(schema: str) -> list[str]:
    return [name for name, _ in KeySchema.parse(schema).attributes]


def test_a_table_keyed_user_id_welcomes_every_user(make_service: MakeService) -> None:
    """Issue 11, case 2: keyed by user_id, every user got the key welcome#None; the first got
    an email and every later one was logged as a duplicate."""
    users = [{"user_id": f"u{n}", "email": f"u{n}@example.com"} for n in range(3)]

    response, sender, ledger = welcome(make_service, "user_id:S", users)

    assert response == {"batchItemFailures": []}
    assert [m.recipient for m in sender.sent] == [u["email"] for u in users]
    assert sorted(ledger.done) == ["welcome#u0", "welcome#u1", "welcome#u2"]


def test_a_composite_key_welcomes_each_item(make_service: MakeService, logs: LogLines) -> None:
    users = [
        {"tenant": "t1", "n": Decimal(1), "email": "a@example.com"},
        {"tenant": "t1", "n": Decimal(2), "email": "b@example.com"},
        {"tenant": "t2", "n": Decimal(1), "email": "c@example.com"},
    ]

    _, sender, ledger = welcome(make_service, "tenant:S,n:N", users)

    assert len(sender.sent) == 3
    assert len(ledger.done) == 3
    assert logs.with_message("welcome_email_duplicate") == []


def test_a_record_without_the_key_fails_and_sends_nothing(
    make_service: MakeService, logs: LogLines
) -> None:
    stream = FakeStream(key_names=("id",))
    sender = RecordingSender()
    event = stream.event([stream.insert({"id": "u1", "email": "a@example.com"})])

    response = make_service(
        {"USERS_TABLE_KEY": "user_id:S", "REPORT_BATCH_ITEM_FAILURES": "true"}, sender
    ).handle(event)

    assert response["batchItemFailures"] == [
        {"itemIdentifier": event["Records"][0]["dynamodb"]["SequenceNumber"]}
    ]
    assert sender.sent == []
    (line,) = logs.with_message("record_failed")
    assert line["field"] == "dynamodb.Keys.user_id"
