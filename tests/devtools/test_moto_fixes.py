"""devtools.moto_fixes: a cancelled transaction leaves no trace, and the stream goes on.

The first test runs moto without the fix and fails the day moto behaves like DynamoDB: the fix
can then go.
"""

from __future__ import annotations

import uuid
from typing import Any, cast

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from devtools import moto_fixes
from devtools.emulator import Emulator
from tests.devtools.conftest import StreamTable, create_stream_table


class Reader:
    """Follows one shard with NextShardIterator, as a stream consumer does."""

    def __init__(self, emulator: Emulator, stream_arn: str) -> None:
        self.streams = emulator.client("dynamodbstreams")
        [shard] = self.streams.describe_stream(StreamArn=stream_arn)["StreamDescription"]["Shards"]
        self.iterator = self.streams.get_shard_iterator(
            StreamArn=stream_arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]

    def read(self) -> list[tuple[str, str]]:
        response = self.streams.get_records(ShardIterator=self.iterator)
        self.iterator = response["NextShardIterator"]
        return [(r["eventName"], r["dynamodb"]["Keys"]["id"]["S"]) for r in response["Records"]]


def _table(table: StreamTable) -> tuple[Any, str, str]:
    return table.dynamodb, table.name, table.stream_arn


def _cancelled(dynamodb: Any, table: str) -> None:
    """A Put, then a ConditionCheck that fails: TransactionCanceledException."""
    with pytest.raises(ClientError) as raised:
        dynamodb.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": table, "Item": {"id": {"S": "phantom"}}}},
                {
                    "ConditionCheck": {
                        "TableName": table,
                        "Key": {"id": {"S": "a"}},
                        "ConditionExpression": "attribute_not_exists(id)",
                    }
                },
            ]
        )
    assert raised.value.response["Error"]["Code"] == "TransactionCanceledException"


def _rejected(dynamodb: Any, table: str) -> None:
    """Two operations on one item: rejected (ValidationException) after the first applied."""
    with pytest.raises(ClientError) as raised:
        dynamodb.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": table, "Item": {"id": {"S": "phantom"}}}},
                {"Delete": {"TableName": table, "Key": {"id": {"S": "phantom"}}}},
            ]
        )
    assert raised.value.response["Error"]["Code"] == "ValidationException"


@pytest.fixture
def unfixed(monkeypatch: pytest.MonkeyPatch) -> None:
    from moto.dynamodb import comparisons
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodbstreams.models import DynamoDBStreamsBackend

    orderings = [getattr(comparisons, name) for name in moto_fixes._ORDERINGS]
    for owner in (DynamoDBBackend, DynamoDBStreamsBackend, *orderings):
        for name, value in list(vars(owner).items()):
            if getattr(value, "_users_stream_fixed", False):
                monkeypatch.setattr(owner, name, value.__wrapped__)


@pytest.mark.parametrize("failing", [_cancelled, _rejected])
def test_moto_alone_still_shows_a_phantom_and_orphans_the_stream(emulator, table, unfixed, failing):
    dynamodb, table, stream_arn = _table(table)
    dynamodb.put_item(TableName=table, Item={"id": {"S": "a"}})
    reader = Reader(emulator, stream_arn)
    assert reader.read() == [("INSERT", "a")]
    failing(dynamodb, table)
    dynamodb.put_item(TableName=table, Item={"id": {"S": "b"}})
    seen = reader.read() + reader.read()
    # If this fails, moto has changed: check whether devtools/moto_fixes.py is still needed.
    assert seen == [("INSERT", "phantom")], "moto changed: revisit devtools/moto_fixes.py"


@pytest.mark.parametrize("failing", [_cancelled, _rejected])
def test_with_the_fix_a_failed_transaction_leaves_no_trace_and_the_stream_goes_on(
    emulator, table, failing
):
    assert moto_fixes.applied()
    dynamodb, table, stream_arn = _table(table)
    dynamodb.put_item(TableName=table, Item={"id": {"S": "a"}})
    reader = Reader(emulator, stream_arn)
    assert reader.read() == [("INSERT", "a")]
    failing(dynamodb, table)
    assert reader.read() == []
    dynamodb.put_item(TableName=table, Item={"id": {"S": "b"}})
    dynamodb.transact_write_items(
        TransactItems=[
            {"Put": {"TableName": table, "Item": {"id": {"S": "c"}}}},
            {"Delete": {"TableName": table, "Key": {"id": {"S": "a"}}}},
        ]
    )
    assert reader.read() == [("INSERT", "b"), ("INSERT", "c"), ("REMOVE", "a")]
    items = dynamodb.scan(TableName=table)["Items"]
    assert sorted(i["id"]["S"] for i in items) == ["b", "c"]
    fresh = Reader(emulator, stream_arn).read()
    assert fresh == [("INSERT", "a"), ("INSERT", "b"), ("INSERT", "c"), ("REMOVE", "a")]


def test_apply_is_idempotent(emulator):
    from moto.dynamodb.models import DynamoDBBackend

    before = DynamoDBBackend.transact_write_items
    moto_fixes.apply()
    assert DynamoDBBackend.transact_write_items is before


def test_a_request_moto_fails_on_is_logged_in_one_line():
    import logging

    text = "Error on request:\nTraceback (most recent call last):\n  File x\nTypeError: '<' no\n"
    record = logging.LogRecord("werkzeug", logging.ERROR, "f", 1, text, (), None)
    assert moto_fixes.OneLineRequestErrors().filter(record)
    assert record.getMessage() == (
        "emulator: a request failed inside moto (HTTP 500): TypeError: '<' no"
    )


def _mixed_scan(table: StreamTable) -> list[str]:
    """Items whose ``at`` is below 5, when some hold a string there; one attempt only."""
    dynamodb = boto3.client(
        "dynamodb",
        endpoint_url=table.emulator.endpoint_url,
        config=Config(retries={"max_attempts": 1}),
    )
    for user, value in (("s", {"S": "tomorrow"}), ("n", {"N": "1"}), ("big", {"N": "99"})):
        dynamodb.put_item(TableName=table.name, Item={"id": {"S": user}, "at": value})
    found = dynamodb.scan(
        TableName=table.name,
        FilterExpression="#at < :n",
        ExpressionAttributeNames={"#at": "at"},
        ExpressionAttributeValues={":n": {"N": "5"}},
    )["Items"]
    return [item["id"]["S"] for item in found]


def test_moto_alone_still_fails_a_comparison_of_different_types(table, unfixed):
    # If this fails, moto has changed: check whether devtools/moto_fixes.py is still needed.
    with pytest.raises(ClientError, match="500"):
        _mixed_scan(table)


def test_with_the_fix_a_comparison_of_different_types_is_false(table):
    assert _mixed_scan(table) == ["n"]


KEYS = ("a", "b", "c")


def _key(write: tuple[str, str, int]) -> str:
    return write[1]


WRITE = st.tuples(st.sampled_from(["put", "delete"]), st.sampled_from(KEYS), st.integers(0, 3))
OPERATIONS = st.lists(
    st.one_of(
        WRITE,
        st.tuples(st.just("tx"), st.lists(WRITE, min_size=1, max_size=3, unique_by=lambda w: w[1])),
        st.tuples(
            st.just("cancelled"), st.lists(WRITE, min_size=1, max_size=2, unique_by=lambda w: w[1])
        ),
        st.tuples(st.just("rejected"), st.sampled_from(KEYS)),
    ),
    max_size=12,
)


def _transact_item(table: str, write: tuple[str, str, int]) -> dict[str, Any]:
    kind, key, value = write
    if kind == "put":
        return {"Put": {"TableName": table, "Item": {"id": {"S": key}, "v": {"N": str(value)}}}}
    return {"Delete": {"TableName": table, "Key": {"id": {"S": key}}}}


class Model:
    """What DynamoDB's stream holds after each committed write (moto: a put always emits)."""

    def __init__(self) -> None:
        self.items: set[str] = set()
        self.stream: list[tuple[str, str]] = []

    def apply(self, write: tuple[str, str, int]) -> None:
        kind, key, _ = write
        if kind == "put":
            self.stream.append(("MODIFY" if key in self.items else "INSERT", key))
            self.items.add(key)
        elif key in self.items:
            self.stream.append(("REMOVE", key))
            self.items.discard(key)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(OPERATIONS)
def test_the_stream_holds_exactly_the_committed_writes_in_order(emulator, operations):
    dynamodb = emulator.client("dynamodb")
    name = f"prop-{uuid.uuid4().hex[:8]}"
    stream_arn = create_stream_table(dynamodb, name)
    reader, model, seen = Reader(emulator, stream_arn), Model(), []
    for operation in operations:
        if operation[0] in ("put", "delete"):
            write = cast(tuple[str, str, int], operation)
            if write[0] == "put":
                dynamodb.put_item(TableName=name, Item=_transact_item(name, write)["Put"]["Item"])
            else:
                dynamodb.delete_item(TableName=name, Key={"id": {"S": write[1]}})
            model.apply(write)
        elif operation[0] == "tx":
            writes = cast(list[tuple[str, str, int]], operation[1])
            dynamodb.transact_write_items(TransactItems=[_transact_item(name, w) for w in writes])
            for write in writes:
                model.apply(write)
        elif operation[0] == "cancelled":
            writes = cast(list[tuple[str, str, int]], operation[1])
            never = {"TableName": name, "Key": {"id": {"S": "never"}},
                     "ConditionExpression": "attribute_exists(id)"}  # fmt: skip
            items = [*(_transact_item(name, w) for w in writes), {"ConditionCheck": never}]
            with pytest.raises(ClientError, match="TransactionCanceledException"):
                dynamodb.transact_write_items(TransactItems=items)
        else:
            put = _transact_item(name, ("put", operation[1], 9))
            delete = _transact_item(name, ("delete", operation[1], 0))
            with pytest.raises(ClientError, match="ValidationException"):
                dynamodb.transact_write_items(TransactItems=[put, delete])
        seen += reader.read()
    seen += reader.read()
    assert seen == model.stream
    assert {i["id"]["S"] for i in dynamodb.scan(TableName=name)["Items"]} == model.items
