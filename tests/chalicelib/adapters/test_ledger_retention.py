"""How long DynamoDBLedger keeps an entry: the TTL attribute it writes (30 days unless told
otherwise), the ledger table in infra that expires entries by it, and the documented policy
that a user re-created with the same id is welcomed once per retention period."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from chalicelib.adapters.ledger import KEY_ATTRIBUTE, TTL_ATTRIBUTE
from chalicelib.service import UsersStream
from devtools.stream_events import FakeStream
from infra.cfn import load_template
from tests.chalicelib.adapters.ledger_support import START, Action, entry

ROOT = Path(__file__).resolve().parents[3]


def test_entries_carry_the_ttl_attribute_for_the_documented_thirty_days(
    make_ledger, dynamodb, table, clock
):
    make_ledger().once("welcome#u1", Action())
    stored = entry(dynamodb, table, "welcome#u1")
    assert stored is not None
    assert int(stored["expires_at"]["N"]) == int(START) + 30 * 24 * 3600

    make_ledger(retention_seconds=3600).once("welcome#u2", Action())
    stored = entry(dynamodb, table, "welcome#u2")
    assert stored is not None
    assert int(stored["expires_at"]["N"]) == int(START) + 3600


def test_the_ledger_table_in_infra_matches_the_adapter():
    template = load_template(ROOT / "infra" / "users-table.yaml")
    ledger = template["Resources"]["LedgerTable"]["Properties"]
    assert ledger["KeySchema"] == [{"AttributeName": KEY_ATTRIBUTE, "KeyType": "HASH"}]
    assert {"AttributeName": KEY_ATTRIBUTE, "AttributeType": "S"} in ledger["AttributeDefinitions"]
    assert ledger["TimeToLiveSpecification"] == {"AttributeName": TTL_ATTRIBUTE, "Enabled": True}


def test_a_user_recreated_with_the_same_id_is_welcomed_once_per_retention_period(
    make_ledger, clock
):
    """The documented policy: the welcome key is the user id; its ledger entry keeps a deleted
    and re-created user from a second welcome for 30 days, and no longer."""
    sent: list[str] = []

    class Sender:
        def send(self, message: Any) -> str:
            sent.append(message.recipient)
            return f"msg-{len(sent)}"

    logs = io.StringIO()
    handler = UsersStream(
        environ={"WELCOME_EMAIL_SENDER": "hello@example.com"},
        sender=Sender(),
        ledger=make_ledger(),
        log_stream=logs,
    )
    stream = FakeStream()
    user = {"id": "u1", "email": "ada@example.com", "name": "Ada"}

    handler.handle(FakeStream.event([stream.insert(user), stream.remove(user)]))
    clock.now = START + 10 * 24 * 3600
    handler.handle(FakeStream.event([stream.insert(user)]))
    assert sent == ["ada@example.com"]
    assert '"message":"welcome_email_duplicate"' in logs.getvalue()

    clock.now = START + 30 * 24 * 3600 + 1  # expired, even if DynamoDB has not deleted it yet
    handler.handle(FakeStream.event([stream.remove(user), stream.insert(user)]))
    assert sent == ["ada@example.com", "ada@example.com"]
