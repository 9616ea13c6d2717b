"""What the replay tests share: ranges given up to the on-failure queue by a real poller, a
look at the queue that leaves it as it was, a replayer over the table, and Lambda's Invoke API
over a handler in this process."""

from __future__ import annotations

import io
import json
from typing import Any

from devtools.pipeline import MappingConfig
from devtools.replay import LocalHandler, Replayer
from tests.devtools.conftest import Recorder, StreamTable, item_failures


def fail_ids(*bad: str) -> Any:
    """A handler behaviour that reports the first record of a bad user as failed."""

    def behaviour(event: dict[str, Any], context: Any) -> Any:
        for record in event["Records"]:
            if record["dynamodb"]["Keys"]["id"]["S"] in bad:
                return item_failures(record["dynamodb"]["SequenceNumber"])
        return {"batchItemFailures": []}

    return behaviour


def give_up_on(table: StreamTable, make_poller: Any, count: int, *bad: str) -> list[dict[str, Any]]:
    """Write ``count`` users; a poller that never gets ``bad`` right sends their ranges to the
    queue. Returns the messages on the queue (left there)."""
    table.put_many(count)
    poller = make_poller(
        Recorder(fail_ids(*bad)),
        batch_size=5,
        report_batch_item_failures=True,
        maximum_retry_attempts=0,
    )
    poller.drain()
    return peek(table)


def peek(table: StreamTable) -> list[dict[str, Any]]:
    """The queue's messages (bodies), left in the queue and visible again."""
    sqs = table.emulator.client("sqs")
    found: dict[str, Any] = {}
    while True:
        response = sqs.receive_message(
            QueueUrl=table.queue_url, MaxNumberOfMessages=10, VisibilityTimeout=30
        )
        fresh = [m for m in response.get("Messages", []) if m["MessageId"] not in found]
        if not fresh:
            break
        found.update((m["MessageId"], m) for m in fresh)
    for message in found.values():
        sqs.change_message_visibility(
            QueueUrl=table.queue_url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
        )
    bodies = [m["Body"] for m in found.values()]
    return [json.loads(body) for body in sorted(bodies) if body.startswith("{")] + [
        body for body in bodies if not body.startswith("{")
    ]


def config_for(table: StreamTable) -> MappingConfig:
    return MappingConfig(function_name="replay-test", stream_arn=table.stream_arn)


def replayer(table: StreamTable, handler: Any, streams: Any = None, **options: Any) -> Replayer:
    return Replayer(
        sqs=table.emulator.client("sqs"),
        queue_url=table.queue_url,
        streams=streams if streams is not None else table.emulator.client("dynamodbstreams"),
        run_batch=LocalHandler(handler, config_for(table)),
        **options,
    )


class LocalLambda:
    """Lambda's Invoke API over a handler in this process (moto's Lambda needs Docker).

    It answers as Lambda does: a JSON payload, and ``FunctionError: Unhandled`` with an error
    document when the function raises.
    """

    def __init__(self, handler: Any, mapped: tuple[str, ...] = ()) -> None:
        self.handler = handler
        self.mapped = mapped  # the streams of the function's event source mappings
        self.calls: list[dict[str, Any]] = []

    def get_paginator(self, operation: str) -> Any:
        assert operation == "list_event_source_mappings"
        mappings = [{"EventSourceArn": arn} for arn in self.mapped]

        class Pages:
            def paginate(self, FunctionName: str) -> list[dict[str, Any]]:
                return [{"EventSourceMappings": mappings}]

        return Pages()

    def invoke(self, FunctionName: str, InvocationType: str, Payload: bytes) -> dict[str, Any]:
        self.calls.append({"FunctionName": FunctionName, "InvocationType": InvocationType})
        try:
            result = self.handler(json.loads(Payload), None)
        except Exception as exc:
            error = {"errorMessage": str(exc), "errorType": type(exc).__name__}
            return {"FunctionError": "Unhandled", "Payload": io.BytesIO(json.dumps(error).encode())}
        return {"StatusCode": 200, "Payload": io.BytesIO(json.dumps(result).encode())}
