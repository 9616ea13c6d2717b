"""The on-failure destination: where a mapping sends a range of records it gives up on.

Lambda does not send the records themselves, only where they are in the stream (the replay
tool re-reads them while the stream still holds them). :func:`failure_record` builds the
invocation record in the shape Lambda documents for DynamoDB streams
(https://docs.aws.amazon.com/lambda/latest/dg/services-dynamodb-errors.html)::

    {"requestContext": {"requestId", "functionArn", "condition", "approximateInvokeCount"},
     "responseContext": {"statusCode", "executedVersion", "functionError"},
     "version": "1.0", "timestamp": "...Z",
     "DDBStreamBatchInfo": {"shardId", "startSequenceNumber", "endSequenceNumber",
                            "approximateArrivalOfFirstRecord", "approximateArrivalOfLastRecord",
                            "batchSize", "streamArn"}}

``condition`` is ``RetryAttemptsExhausted`` or ``RecordAgeExceeded``.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Protocol

__all__ = [
    "RECORD_AGE_EXCEEDED",
    "RETRIES_EXHAUSTED",
    "Destination",
    "SqsDestination",
    "failure_record",
]

RETRIES_EXHAUSTED = "RetryAttemptsExhausted"
RECORD_AGE_EXCEEDED = "RecordAgeExceeded"


class Destination(Protocol):
    """Receives one invocation record per range given up on."""

    def send(self, record: Mapping[str, Any]) -> None: ...


def _arrival(record: Mapping[str, Any]) -> str:
    seconds = record["dynamodb"]["ApproximateCreationDateTime"]
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def failure_record(
    *,
    records: Sequence[Mapping[str, Any]],
    shard_id: str,
    stream_arn: str,
    function_arn: str,
    condition: str,
    invoke_count: int,
    function_error: str | None,
    now: float,
    request_id: str | None = None,
) -> dict[str, Any]:
    """The invocation record Lambda sends for the Lambda-shaped ``records`` (in stream order).

    ``function_error`` is ``"Unhandled"`` when the last invocation raised, ``None`` when it
    returned (a reported partial failure) or never ran (records too old to invoke with).
    """
    if not records:
        raise ValueError("a failure record names at least one record")
    first, last = records[0], records[-1]
    response: dict[str, Any] = {"statusCode": 200, "executedVersion": "$LATEST"}
    if function_error is not None:
        response["functionError"] = function_error
    stamp = datetime.fromtimestamp(now, UTC)
    return {
        "requestContext": {
            "requestId": request_id or str(uuid.uuid4()),
            "functionArn": function_arn,
            "condition": condition,
            "approximateInvokeCount": invoke_count,
        },
        "responseContext": response,
        "version": "1.0",
        "timestamp": stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{stamp.microsecond // 1000:03d}Z",
        "DDBStreamBatchInfo": {
            "shardId": shard_id,
            "startSequenceNumber": first["dynamodb"]["SequenceNumber"],
            "endSequenceNumber": last["dynamodb"]["SequenceNumber"],
            "approximateArrivalOfFirstRecord": _arrival(first),
            "approximateArrivalOfLastRecord": _arrival(last),
            "batchSize": len(records),
            "streamArn": stream_arn,
        },
    }


class SqsDestination:
    """An SQS queue, named by its URL or ARN; the client is made on first send."""

    def __init__(self, queue: str, client_factory: Callable[[], Any]) -> None:
        self.queue = queue
        self._client_factory = client_factory
        self._client: Any = None
        self._url: str | None = queue if "://" in queue else None

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = self._client_factory()
        return self._client

    def queue_url(self) -> str:
        if self._url is None:
            parts = self.queue.split(":")
            if len(parts) != 6 or parts[2] != "sqs":
                raise ValueError(f"not an SQS queue URL or ARN: {self.queue!r}")
            response = self.client.get_queue_url(
                QueueName=parts[5], QueueOwnerAWSAccountId=parts[4]
            )
            self._url = str(response["QueueUrl"])
        return self._url

    def send(self, record: Mapping[str, Any]) -> None:
        self.client.send_message(QueueUrl=self.queue_url(), MessageBody=json.dumps(record))
