"""What the ledger tests share: a virtual clock, a counting side effect, the stored entry, and
DynamoDB clients whose requests meet faults below botocore (devtools.faults)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import boto3

from chalicelib.adapters.ledger import IN_PROGRESS, DynamoDBLedger
from chalicelib.clients import client_config
from devtools.faults import Fault, Process, inject

THROTTLING = Fault("ledger_throttle", "ThrottlingException", 400)
START = 1_700_000_000.0


class Clock:
    def __init__(self, now: float = START) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def entry(dynamodb: Any, table: str, key: str) -> dict[str, Any] | None:
    item = dynamodb.get_item(TableName=table, Key={"pk": {"S": key}}, ConsistentRead=True)
    found: dict[str, Any] | None = item.get("Item")
    return found


class Action:
    """A side effect that counts its runs and can fail."""

    def __init__(self, result: str = "msg-1", error: BaseException | None = None) -> None:
        self.runs = 0
        self.result = result
        self.error = error

    def __call__(self) -> str:
        self.runs += 1
        if self.error is not None:
            raise self.error
        return self.result


def live_claim(dynamodb: Any, table: str, owner: str, lease_until: int) -> None:
    """Another invocation's claim of welcome#u1, its lease running until ``lease_until``."""
    dynamodb.put_item(
        TableName=table,
        Item={
            "pk": {"S": "welcome#u1"},
            "state": {"S": IN_PROGRESS},
            "owner": {"S": owner},
            "lease_until": {"N": str(lease_until)},
        },
    )


class Crash(BaseException):
    """The process dies: nothing after this point reaches DynamoDB."""


def faulty(dynamodb: Any, before: Callable[[str], Fault | None]) -> Any:
    """A client made as the app makes it (standard retries, the app's budget), on the same
    endpoint as ``dynamodb``, whose requests meet the faults ``before`` names below botocore."""
    config = client_config()
    return inject(
        boto3.client("dynamodb", endpoint_url=dynamodb.meta.endpoint_url, config=config), before
    )


def dying(dynamodb: Any) -> tuple[Process, Any]:
    """A client of a process that can die: from then on every call fails."""
    process = Process(1)

    def before(_method: str) -> None:
        process.check()

    return process, faulty(dynamodb, before)


def make_ledger_like(table: str, dynamodb: Any, clock: Clock) -> DynamoDBLedger:
    return DynamoDBLedger(table, client_factory=lambda: dynamodb, clock=clock)
