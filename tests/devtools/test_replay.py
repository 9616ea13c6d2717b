"""The replayer, over real HTTP to the emulator: the poller gives ranges up to the queue, the
replay re-reads them from the stream, runs the handler, and deletes only what succeeded; a
message naming a stream other than the Users stream is refused.

What a range is and when it is gone: ``test_replay_ranges``; what runs a replayed batch:
``test_replay_runners``; the command: ``test_replay_command``.
"""

from __future__ import annotations

import json
from typing import Any

from devtools.faults import streamed_table
from devtools.replay import FAILED, FOREIGN, REPLAYED, DeployedFunction, Replayer, describe
from tests.devtools.conftest import Recorder, StreamTable, ids_of
from tests.devtools.replaying import LocalLambda, fail_ids, give_up_on, peek, replayer


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
