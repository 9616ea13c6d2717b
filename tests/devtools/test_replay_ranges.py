"""A message's range, over real HTTP to the emulator: what is not a stream range is refused,
and a range the stream no longer holds is reported as trimmed; both stay in the queue."""

from __future__ import annotations

import json
from typing import Any

import pytest

from devtools.faults import Fault, inject, scripted
from devtools.replay import MALFORMED, TRIMMED, Range, describe
from tests.devtools.conftest import Recorder, StreamTable
from tests.devtools.replaying import give_up_on, peek, replayer

TRIMMED_ERROR = Fault("trimmed", "TrimmedDataAccessException", 400)


def test_a_trimmed_range_is_reported_and_left_in_the_queue(table, make_poller):
    messages = give_up_on(table, make_poller, 4, "u1")
    streams = inject(
        table.emulator.client("dynamodbstreams"), scripted({"get_shard_iterator": [TRIMMED_ERROR]})
    )
    handler = Recorder()
    out: list[str] = []
    summary = replayer(
        table, handler, streams=streams, report=lambda r: out.append(describe(r))
    ).run()

    assert (summary.trimmed, summary.left_in_queue) == (1, 1)
    assert handler.events == []
    assert "TRIMMED" in out[0]
    assert "trimmed it (older than its retention)" in out[0]
    assert "left in the queue" in out[0]
    assert peek(table) == messages


def send(table: StreamTable, body: Any) -> None:
    table.emulator.client("sqs").send_message(
        QueueUrl=table.queue_url, MessageBody=body if isinstance(body, str) else json.dumps(body)
    )


def lambda_message(table: StreamTable, shard_id: str, start: str, end: str) -> dict[str, Any]:
    return {
        "requestContext": {"condition": "RetryAttemptsExhausted", "approximateInvokeCount": 1},
        "responseContext": {"statusCode": 200, "executedVersion": "$LATEST"},
        "version": "1.0",
        "timestamp": "2026-01-01T00:00:00.000Z",
        "DDBStreamBatchInfo": {
            "shardId": shard_id,
            "startSequenceNumber": start,
            "endSequenceNumber": end,
            "approximateArrivalOfFirstRecord": "2026-01-01T00:00:00Z",
            "approximateArrivalOfLastRecord": "2026-01-01T00:00:00Z",
            "batchSize": 1,
            "streamArn": table.stream_arn,
        },
    }


def test_a_range_whose_records_are_gone_is_trimmed(table, make_poller):
    (message,) = give_up_on(table, make_poller, 3, "u1")
    info = message["DDBStreamBatchInfo"]
    last = int(info["endSequenceNumber"])
    sqs = table.emulator.client("sqs")
    sqs.purge_queue(QueueUrl=table.queue_url)
    send(table, lambda_message(table, info["shardId"], info["startSequenceNumber"], str(last + 50)))

    (never_written,) = replayer(table, Recorder()).run().results
    assert never_written.status == TRIMMED
    assert never_written.detail == (
        f"range not in the stream: the stream ended before its last record {last + 50}"
    )

    table.dynamodb.delete_table(TableName=table.name)  # the stream goes with its table
    (gone,) = replayer(table, Recorder()).run().results
    assert gone.status == TRIMMED
    assert "the stream or shard is gone (ResourceNotFoundException)" in gone.detail
    assert len(peek(table)) == 1


def test_a_message_that_is_not_a_stream_range_is_left_alone(table):
    send(table, "not json")
    send(table, {"DDBStreamBatchInfo": {"shardId": "s"}})
    summary = replayer(table, Recorder()).run()
    assert [r.status for r in summary.results] == [MALFORMED, MALFORMED]
    assert len(peek(table)) == 2


@pytest.mark.parametrize(
    "body",
    [
        {
            "DDBStreamBatchInfo": {
                "shardId": "s",
                "startSequenceNumber": "9",
                "endSequenceNumber": "1",
                "streamArn": "a",
            }
        },
        {
            "DDBStreamBatchInfo": {
                "shardId": "",
                "startSequenceNumber": "1",
                "endSequenceNumber": "1",
                "streamArn": "a",
            }
        },
        {
            "DDBStreamBatchInfo": {
                "shardId": "s",
                "startSequenceNumber": "x",
                "endSequenceNumber": "1",
                "streamArn": "a",
            }
        },
        {"Records": []},
        [],
    ],
)
def test_range_parsing_refuses_what_is_not_a_range(body):
    with pytest.raises(ValueError, match=r"range|on-failure"):
        Range.from_message(json.dumps(body))
