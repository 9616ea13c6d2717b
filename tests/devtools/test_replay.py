"""The replay command, over real HTTP to the emulator: the poller gives ranges up to the queue,
the replay re-reads them from the stream, runs the handler, and deletes only what succeeded."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from devtools.faults import Fault, inject, scripted, streamed_table
from devtools.pipeline import MappingConfig
from devtools.replay import (
    FAILED,
    FOREIGN,
    MALFORMED,
    REPLAYED,
    TRIMMED,
    DeployedFunction,
    LocalHandler,
    Range,
    Replayer,
    describe,
)
from tests.devtools.conftest import Recorder, StreamTable, ids_of

ROOT = Path(__file__).resolve().parents[2]
SENDER = "replay-welcome@example.com"


def fail_ids(*bad: str) -> Any:
    """A handler behaviour that reports the first record of a bad user as failed."""

    def behaviour(event: dict[str, Any], context: Any) -> Any:
        for record in event["Records"]:
            if record["dynamodb"]["Keys"]["id"]["S"] in bad:
                return {
                    "batchItemFailures": [{"itemIdentifier": record["dynamodb"]["SequenceNumber"]}]
                }
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


def test_replay_runs_each_given_up_range_and_deletes_its_message(table, make_poller):
    messages = give_up_on(table, make_poller, 12, "u3", "u8")
    ranges = sorted(
        (m["DDBStreamBatchInfo"] for m in messages), key=lambda r: int(r["startSequenceNumber"])
    )
    assert [r["batchSize"] for r in ranges] == [2, 2]  # u3-u4 and u8-u9: the rest of each batch

    fixed = Recorder()
    summary = replayer(table, fixed).run()

    assert (summary.messages, summary.replayed, summary.left_in_queue) == (2, 2, 0)
    assert summary.records_replayed == 4
    assert [r.status for r in summary.results] == [REPLAYED, REPLAYED]
    assert all(r.deleted for r in summary.results)
    replayed = [ids_of(event) for event in fixed.events]
    assert sorted(replayed) == [["u3", "u4"], ["u8", "u9"]]  # each range whole, in stream order
    for event, info in zip(sorted(fixed.events, key=lambda e: ids_of(e)), ranges, strict=True):
        sequences = [r["dynamodb"]["SequenceNumber"] for r in event["Records"]]
        assert (sequences[0], sequences[-1]) == (
            info["startSequenceNumber"],
            info["endSequenceNumber"],
        )
        assert all(r["eventSourceARN"] == table.stream_arn for r in event["Records"])
    assert peek(table) == []


def test_a_range_that_still_fails_is_left_in_the_queue_and_named(table, make_poller):
    messages = give_up_on(table, make_poller, 6, "u2")
    lines: list[str] = []
    still_broken = Recorder(fail_ids("u2"))

    summary = replayer(
        table, still_broken, attempts=2, report=lambda r: lines.append(r.detail)
    ).run()

    assert (summary.replayed, summary.failed, summary.left_in_queue) == (0, 1, 1)
    (result,) = summary.results
    assert result.status == FAILED
    assert not result.deleted
    start = messages[0]["DDBStreamBatchInfo"]["startSequenceNumber"]
    assert lines == [
        f"record {start} failed 2 time(s): the handler reported it in batchItemFailures"
    ]
    assert len(still_broken.events) == 2  # two attempts, each from the failed record
    assert peek(table) == messages  # still there, visible again at once


def test_a_replay_resumes_from_the_failed_record_within_a_range(table, make_poller):
    give_up_on(table, make_poller, 5, "u1")  # u1..u4 on the queue
    failures = iter([True, False])

    def flaky(event: dict[str, Any], context: Any) -> Any:
        ids = ids_of(event)
        if "u3" in ids and next(failures):
            seq = event["Records"][ids.index("u3")]["dynamodb"]["SequenceNumber"]
            return {"batchItemFailures": [{"itemIdentifier": seq}]}
        return None

    handler = Recorder(flaky)
    summary = replayer(table, handler, batch_size=10, attempts=2).run()

    assert summary.replayed == 1
    assert [ids_of(e) for e in handler.events] == [["u1", "u2", "u3", "u4"], ["u3", "u4"]]
    assert peek(table) == []


def test_an_exception_in_the_handler_is_a_failure(table, make_poller):
    give_up_on(table, make_poller, 3, "u0")

    def explode(event: dict[str, Any], context: Any) -> Any:
        raise RuntimeError("SES is down for ada@example.com")

    summary = replayer(table, Recorder(explode), attempts=1).run()
    (result,) = summary.results
    assert result.status == FAILED
    assert "RuntimeError: SES is down for <email>" in result.detail  # printed: no address
    assert len(peek(table)) == 1


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


def test_the_deployed_function_is_invoked_with_the_range(table, make_poller):
    give_up_on(table, make_poller, 6, "u2", "u4")
    handler = Recorder()
    function = LocalLambda(handler, mapped=(table.stream_arn,))
    summary = Replayer(
        sqs=table.emulator.client("sqs"),
        queue_url=table.queue_url,
        streams=table.emulator.client("dynamodbstreams"),
        run_batch=DeployedFunction(function, "users-stream-dev-handle_user_changes"),
    ).run()
    assert summary.replayed == 1
    assert [ids_of(e) for e in handler.events] == [["u2", "u3", "u4"]]
    assert function.calls == [
        {
            "FunctionName": "users-stream-dev-handle_user_changes",
            "InvocationType": "RequestResponse",
        }
    ]


def test_a_deployed_function_error_or_reported_failure_keeps_the_message(table, make_poller):
    give_up_on(table, make_poller, 3, "u1")

    def explode(event: dict[str, Any], context: Any) -> Any:
        raise RuntimeError("boom")

    broken = Replayer(
        sqs=table.emulator.client("sqs"),
        queue_url=table.queue_url,
        streams=table.emulator.client("dynamodbstreams"),
        run_batch=DeployedFunction(LocalLambda(explode, mapped=(table.stream_arn,)), "f"),
        attempts=1,
    ).run()
    assert "Unhandled" in broken.results[0].detail
    assert "boom" in broken.results[0].detail

    reported = Replayer(
        sqs=table.emulator.client("sqs"),
        queue_url=table.queue_url,
        streams=table.emulator.client("dynamodbstreams"),
        run_batch=DeployedFunction(
            LocalLambda(Recorder(fail_ids("u2")), mapped=(table.stream_arn,)), "f"
        ),
        attempts=1,
    ).run()
    assert reported.results[0].status == FAILED
    assert reported.results[0].handled == 1  # u1 handled, u2 reported failed
    assert len(peek(table)) == 1


def test_the_command_replays_through_the_real_app_and_its_welcome_emails(table, make_poller):
    """``python -m devtools.replay`` in its own process: the app's handler, reading its settings
    from the environment as in Lambda, sends the welcome emails of the replayed range through
    the emulator's SES."""
    emulator = table.emulator
    emulator.verify_sender(SENDER)
    for number in range(3):
        table.put(f"replay-user-{number}", email=f"replay{number}@example.com")
    poller = make_poller(
        Recorder(fail_ids("replay-user-0")),
        batch_size=10,
        report_batch_item_failures=True,
        maximum_retry_attempts=0,
    )
    poller.drain()
    assert len(peek(table)) == 1

    env = {
        **os.environ,
        "WELCOME_EMAIL_SENDER": SENDER,
        "REPORT_BATCH_ITEM_FAILURES": "true",
        "USERS_TABLE_STREAM_ARN": table.stream_arn,
        "AWS_ENDPOINT_URL": emulator.endpoint_url,
        "PYTHONPATH": str(ROOT),
    }
    env.pop("LEDGER_TABLE", None)
    done = subprocess.run(
        [sys.executable, "-m", "devtools.replay", "--queue-url", table.queue_url,
         "--endpoint-url", emulator.endpoint_url, "--wait-seconds", "0"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip

    assert done.returncode == 0, done.stderr
    lines = [line for line in done.stdout.splitlines() if line.startswith("[replay]")]
    assert lines[0].startswith("[replay] replayed 3 record(s) ")
    assert lines[-1].startswith("[replay] 1 message(s): 1 replayed and deleted (3 records)")
    sent = [e for e in emulator.sent_emails() if e.source == SENDER]
    assert sorted(e.to for e in sent) == [(f"replay{n}@example.com",) for n in range(3)]
    assert peek(table) == []


# --- only the Users stream is replayed ----------------------------------------------------------


def other_stream(table: StreamTable) -> str:
    """The stream of another table on the same emulator (keyed user_id)."""
    return streamed_table(table.dynamodb, f"{table.name}-other", "user_id")


def foreign_message(table: StreamTable, make_poller: Any) -> tuple[dict[str, Any], str]:
    """A real on-failure message of ``table``'s, rewritten to name another table's stream."""
    (message,) = give_up_on(table, make_poller, 2, "u0")
    sqs = table.emulator.client("sqs")
    (received,) = sqs.receive_message(QueueUrl=table.queue_url)["Messages"]
    sqs.delete_message(QueueUrl=table.queue_url, ReceiptHandle=received["ReceiptHandle"])
    arn = other_stream(table)
    message["DDBStreamBatchInfo"]["streamArn"] = arn
    sqs.send_message(QueueUrl=table.queue_url, MessageBody=json.dumps(message))
    return message, arn


def test_a_message_naming_another_stream_is_refused_and_left_in_the_queue(table, make_poller):
    """Issue 11, case 4: a message naming another table's stream was replayed and deleted, and
    one of that table's items got a welcome email."""
    message, arn = foreign_message(table, make_poller)
    handler = Recorder()
    lines: list[str] = []

    summary = replayer(table, handler, report=lambda r: lines.append(describe(r))).run()

    assert (summary.messages, summary.foreign, summary.replayed) == (1, 1, 0)
    assert summary.left_in_queue == 1
    assert handler.events == []  # nothing of the other table ran
    assert peek(table) == [message]  # left as it was
    (line,) = lines
    assert line.startswith("[replay] FOREIGN ")
    assert arn in line
    assert "left in the queue" in line
    assert summary.results[0].status == FOREIGN


def test_the_users_stream_comes_from_the_setting_or_the_functions_mapping(table):
    from devtools.replay import expected_streams

    mapped = "arn:aws:dynamodb:us-east-1:123456789012:table/Users/stream/2024-01-01T00:00:00.000"
    local = LocalHandler(Recorder(), config_for(table))
    deployed = DeployedFunction(LocalLambda(Recorder(), mapped=(mapped,)), "f")
    unmapped = DeployedFunction(LocalLambda(Recorder()), "f")

    assert expected_streams(local, {}) == {table.stream_arn}
    assert expected_streams(deployed, {}) == {mapped}
    assert expected_streams(unmapped, {"USERS_TABLE_STREAM_ARN": "arn:x"}) == {"arn:x"}
    assert expected_streams(unmapped, {}) == frozenset()


def test_with_no_users_stream_known_every_message_is_refused(table, make_poller):
    give_up_on(table, make_poller, 2, "u0")
    replay = Replayer(
        sqs=table.emulator.client("sqs"),
        queue_url=table.queue_url,
        streams=table.emulator.client("dynamodbstreams"),
        run_batch=DeployedFunction(LocalLambda(Recorder()), "f"),
        allowed_streams=(),
    )

    summary = replay.run()

    assert summary.foreign == 1
    assert "USERS_TABLE_STREAM_ARN" in summary.results[0].detail
    assert len(peek(table)) == 1
