"""Fixtures of the ledger tests: a moto server on loopback per module, a fresh table per test,
a virtual clock, and ``make_ledger`` for one DynamoDBLedger per invocation."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest

from chalicelib.adapters.ledger import DynamoDBLedger
from devtools.emulator import Emulator
from tests.chalicelib.adapters.ledger_support import Clock


@pytest.fixture(scope="package")
def endpoint() -> Iterator[str]:
    # One for the ledger's test modules: each test makes a table of its own (table, below).
    with Emulator() as emulator:  # moto's server on 127.0.0.1, an ephemeral port
        yield emulator.endpoint_url


@pytest.fixture
def dynamodb(endpoint: str) -> Any:
    return boto3.client("dynamodb", endpoint_url=endpoint)


@pytest.fixture
def table(dynamodb: Any) -> str:
    name = f"ledger-{uuid.uuid4().hex[:12]}"
    dynamodb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    return name


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def make_ledger(dynamodb: Any, table: str, clock: Clock) -> Callable[..., DynamoDBLedger]:
    """A ledger per call: each one is a separate invocation with its own client."""

    def make(client: Any = None, **options: Any) -> DynamoDBLedger:
        return DynamoDBLedger(
            table,
            client_factory=lambda: client if client is not None else dynamodb,
            clock=clock,
            **options,
        )

    return make
