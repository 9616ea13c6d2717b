"""Fixtures for the local pipeline: one emulator per session, a fresh table per test.

moto keeps state per process, so every table and queue gets a unique name.
"""

from __future__ import annotations

import itertools
import signal
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from devtools.emulator import Emulator, Stack
from devtools.pipeline import MappingConfig, MemoryCheckpoints, Poller, Progress, SqsDestination
from devtools.pipeline.checkpoints import CheckpointStore
from tests.devtools.processes import Running


@pytest.fixture(scope="session")
def emulator() -> Iterator[Emulator]:
    with Emulator() as running:
        yield running


@pytest.fixture(scope="session")
def users_stack(emulator: Emulator) -> Stack:
    """infra/users-table.yaml, created once per session (unique names)."""
    return emulator.create_stack(
        f"users-{uuid.uuid4().hex[:8]}",
        parameters={"UsersTableName": f"Users-{uuid.uuid4().hex[:8]}"},
    )


@dataclass
class StreamTable:
    """A table with a NEW_AND_OLD_IMAGES stream and an SQS queue, on the emulator."""

    emulator: Emulator
    name: str
    stream_arn: str
    queue_url: str
    queue_arn: str
    dynamodb: Any
    _counter: Iterator[int] = field(default_factory=itertools.count)

    def put(self, user_id: str, **attributes: Any) -> None:
        item: dict[str, dict[str, Any]] = {"id": {"S": user_id}}
        for name, value in attributes.items():
            if isinstance(value, bytes):
                item[name] = {"B": value}
            elif isinstance(value, int):
                item[name] = {"N": str(value)}
            else:
                item[name] = {"S": str(value)}
        self.dynamodb.put_item(TableName=self.name, Item=item)

    def put_many(self, count: int, prefix: str = "u") -> list[str]:
        ids = [f"{prefix}{next(self._counter)}" for _ in range(count)]
        for user_id in ids:
            self.put(user_id)
        return ids

    def delete(self, user_id: str) -> None:
        self.dynamodb.delete_item(TableName=self.name, Key={"id": {"S": user_id}})

    def queue_messages(self) -> list[dict[str, Any]]:
        import json

        sqs = self.emulator.client("sqs")
        found: list[dict[str, Any]] = []
        while True:
            response = sqs.receive_message(
                QueueUrl=self.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0
            )
            messages = response.get("Messages", [])
            if not messages:
                return found
            for message in messages:
                found.append(json.loads(message["Body"]))
                sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])


def create_stream_table(dynamodb: Any, name: str) -> str:
    """A table keyed by ``id`` with a NEW_AND_OLD_IMAGES stream; its stream ARN."""
    described = dynamodb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )
    return str(described["TableDescription"]["LatestStreamArn"])


@pytest.fixture
def table(emulator: Emulator) -> StreamTable:
    name = f"users-{uuid.uuid4().hex[:10]}"
    dynamodb = emulator.client("dynamodb")
    stream_arn = create_stream_table(dynamodb, name)
    sqs = emulator.client("sqs")
    queue_url = sqs.create_queue(QueueName=f"{name}-failures")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    return StreamTable(
        emulator,
        name,
        stream_arn,
        queue_url,
        queue_arn,
        dynamodb,
    )


class Recorder:
    """A plain Lambda handler that records each event; ``behaviour`` decides the response."""

    def __init__(self, behaviour: Callable[[dict[str, Any], Any], Any] | None = None) -> None:
        self.events: list[dict[str, Any]] = []
        self.contexts: list[Any] = []
        self.behaviour = behaviour

    def __call__(self, event: dict[str, Any], context: Any) -> Any:
        self.events.append(event)
        self.contexts.append(context)
        return self.behaviour(event, context) if self.behaviour else None

    @property
    def batches(self) -> list[list[str]]:
        """The user ids of each invocation, in order."""
        return [[r["dynamodb"]["Keys"]["id"]["S"] for r in e["Records"]] for e in self.events]

    @property
    def sequence_numbers(self) -> list[list[str]]:
        return [[r["dynamodb"]["SequenceNumber"] for r in e["Records"]] for e in self.events]


def ids_of(event: dict[str, Any]) -> list[str]:
    return [r["dynamodb"]["Keys"]["id"]["S"] for r in event["Records"]]


def item_failures(*sequence_numbers: str) -> dict[str, Any]:
    """A partial batch response reporting ``sequence_numbers`` as failed."""
    return {"batchItemFailures": [{"itemIdentifier": s} for s in sequence_numbers]}


@pytest.fixture
def make_poller(table: StreamTable) -> Callable[..., Poller]:
    """A poller on ``table``'s stream; settings as keywords, fast retries, quiet output."""

    def make(
        handler: Callable[[dict[str, Any], Any], Any],
        *,
        checkpoints: CheckpointStore | None = None,
        destination: bool = True,
        clock: Callable[[], float] = time.time,
        streams: Any = None,
        progress: Progress | None = None,
        **settings: Any,
    ) -> Poller:
        config = MappingConfig(
            function_name="test-function",
            stream_arn=table.stream_arn,
            starting_position=settings.pop("starting_position", "TRIM_HORIZON"),
            poll_interval=settings.pop("poll_interval", 0.01),
            retry_backoff_seconds=settings.pop("retry_backoff_seconds", 0.001),
            on_failure_destination=table.queue_arn if destination else None,
            **settings,
        )
        return Poller(
            config,
            handler,
            streams if streams is not None else table.emulator.client("dynamodbstreams"),
            destination=(
                SqsDestination(table.queue_arn, lambda: table.emulator.client("sqs"))
                if destination
                else None
            ),
            checkpoints=checkpoints if checkpoints is not None else MemoryCheckpoints(),
            progress=progress if progress is not None else Progress(quiet=True),
            clock=clock,
        )

    return make


@pytest.fixture
def running() -> Iterator[Callable[..., Running]]:
    started: list[Running] = []

    def start(args: list[str], env: dict[str, str], group: bool = False) -> Running:
        started.append(Running(args, env, group))
        return started[-1]

    yield start
    for process in started:
        if process.process.poll() is None:
            process.signal(signal.SIGKILL)
            process.process.wait()
