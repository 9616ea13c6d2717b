"""The sample changes ``make demo`` writes, and the welcome emails they must cause."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from devtools.ttl import TtlSweeper

__all__ = ["EXPECTED_EMAILS", "sample_writes"]


def _item(user_id: str, email: str, name: str, **extra: Any) -> dict[str, Any]:
    item: dict[str, Any] = {"id": {"S": user_id}, "email": {"S": email}, "name": {"S": name}}
    for attribute, value in extra.items():
        item[attribute] = {"N": str(value)} if isinstance(value, int) else {"S": str(value)}
    return item


def sample_writes(
    dynamodb: Any, table: str, sweeper: TtlSweeper, ttl_attribute: str
) -> list[tuple[str, Callable[[], object]]]:
    """The sample changes: (what a person reads, the write)."""
    expired = int(time.time()) - 60
    return [
        (
            "create ada (PutItem)",
            lambda: dynamodb.put_item(
                TableName=table, Item=_item("ada", "ada@example.com", "Ada Lovelace")
            ),
        ),
        (
            "create grace (PutItem)",
            lambda: dynamodb.put_item(
                TableName=table, Item=_item("grace", "grace@example.com", "Grace Hopper")
            ),
        ),
        (
            "update ada's name (UpdateItem)",
            lambda: dynamodb.update_item(
                TableName=table,
                Key={"id": {"S": "ada"}},
                UpdateExpression="SET #n = :n",
                ExpressionAttributeNames={"#n": "name"},
                ExpressionAttributeValues={":n": {"S": "Augusta Ada King"}},
            ),
        ),
        (
            "delete grace (DeleteItem)",
            lambda: dynamodb.delete_item(TableName=table, Key={"id": {"S": "grace"}}),
        ),
        (
            "create linus with an upsert (UpdateItem on a new key; moto emits two INSERTs)",
            lambda: dynamodb.update_item(
                TableName=table,
                Key={"id": {"S": "linus"}},
                UpdateExpression="SET email = :e, #n = :n",
                ExpressionAttributeNames={"#n": "name"},
                ExpressionAttributeValues={
                    ":e": {"S": "linus@example.com"},
                    ":n": {"S": "Linus Torvalds"},
                },
            ),
        ),
        (
            f"create temp with {ttl_attribute} one minute in the past (PutItem)",
            lambda: dynamodb.put_item(
                TableName=table,
                Item=_item(
                    "temp", "temp@example.com", "Temporary User", **{ttl_attribute: expired}
                ),
            ),
        ),
        (
            "Time to Live expires temp (moto has no TTL: the demo's sweeper deletes expired "
            "items and marks the REMOVE as DynamoDB's TTL would)",
            sweeper.sweep,
        ),
    ]


EXPECTED_EMAILS = ("ada@example.com", "grace@example.com", "linus@example.com", "temp@example.com")
