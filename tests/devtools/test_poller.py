"""The local event source mapping against moto over HTTP, as Lambda's documentation describes it.

Each test writes through real boto3 clients to the emulator, runs the poller until it has
caught up (``drain``, in the test's thread) and checks what the handler saw, what the
on-failure queue received and where the checkpoint stands.
"""

from __future__ import annotations

import base64
import json
import re
import time
from typing import Any

import pytest
from botocore.awsrequest import AWSResponse, HTTPHeaders

from chalicelib.records import Change
from devtools.pipeline import Checkpoint, JsonFileCheckpoints, MemoryCheckpoints
from tests.devtools.conftest import Recorder, StreamTable, ids_of


def _failures(*sequence_numbers: str) -> dict[str, Any]:
    return {"batchItemFailures": [{"itemIdentifier": s} for s in sequence_numbers]}


def test_writes_reach_the_handler_in_order_as_lambda_events(table: StreamTable, make_poller):
    recorder = Recorder()
    poller = make_poller(recorder)
    before = time.time()
    table.put("ada", email="ada@example.com", avatar=b"\x00\xffpng")
    table.dynamodb.update_item(
        TableName=table.name,
        Key={"id": {"S": "ada"}},
        UpdateExpression="SET #n = :n",
        ExpressionAttributeNames={"#n": "name"},
        ExpressionAttributeValues={":n": {"S": "Ada"}},
    )
    table.delete("ada")
    poller.drain()

    records = [record for event in recorder.events for record in event["Records"]]
    assert [r["eventName"] for r in records] == ["INSERT", "MODIFY", "REMOVE"]
    sequence = [int(r["dynamodb"]["SequenceNumber"]) for r in records]
    assert sequence == sorted(sequence)
    for record in records:
        assert record["eventSourceARN"] == table.stream_arn
        assert record["awsRegion"] == "us-east-1"
        assert record["eventSource"] == "aws:dynamodb"
        created = record["dynamodb"]["ApproximateCreationDateTime"]
        assert type(created) is int
        assert before - 1 <= created <= time.time()
    # Binary arrives as base64 text, exactly as Lambda delivers it; the app's decoder reads it.
    inserted = records[0]["dynamodb"]["NewImage"]
    assert inserted["avatar"] == {"B": base64.b64encode(b"\x00\xffpng").decode()}
    change = Change(records[0], 0)
    assert change.new_image == {"id": "ada", "email": "ada@example.com", "avatar": b"\x00\xffpng"}
    modified = Change(records[1], 1)
    assert (modified.old_image, modified.new_image) == (
        {"id": "ada", "email": "ada@example.com", "avatar": b"\x00\xffpng"},
        {"id": "ada", "email": "ada@example.com", "avatar": b"\x00\xffpng", "name": "Ada"},
    )
    assert records[2]["dynamodb"]["OldImage"]["name"] == {"S": "Ada"}
    # The context looks like Lambda's.
    context = recorder.contexts[0]
    assert context.function_name == "test-function"
    assert context.invoked_function_arn == (
        "arn:aws:lambda:us-east-1:123456789012:function:test-function"
    )
    assert 0 < context.get_remaining_time_in_millis() <= 60_000
    assert len({c.aws_request_id for c in recorder.contexts}) == len(recorder.contexts)


def test_latest_starts_after_the_records_already_in_the_stream(table, make_poller):
    table.put_many(2, prefix="old")
    recorder = Recorder()
    poller = make_poller(recorder, starting_position="LATEST")
    poller.drain()
    new = table.put_many(2, prefix="new")
    poller.drain()
    assert recorder.batches == [new]


def test_batches_hold_at_most_batch_size_records_in_stream_order(table, make_poller):
    ids = table.put_many(5)
    recorder = Recorder()
    make_poller(recorder, batch_size=2).drain()
    assert recorder.batches == [ids[0:2], ids[2:4], ids[4:5]]


def test_batching_window_waits_for_a_full_batch_or_the_window(table, make_poller):
    now = [time.time()]
    recorder = Recorder()
    poller = make_poller(
        recorder, batch_size=3, batching_window_seconds=10, poll_interval=0, clock=lambda: now[0]
    )
    first = table.put_many(2)
    for _ in range(3):
        poller.step()
    assert recorder.events == []  # two records, window open: wait for more
    now[0] += 10.5
    poller.step()
    assert recorder.batches == [first]
    full = table.put_many(3)
    poller.step()
    poller.step()
    assert recorder.batches == [first, full]  # a full batch goes at once


def test_partial_failure_checkpoints_before_the_lowest_failed_record(table, make_poller):
    ids = table.put_many(5)

    def fail_third_and_fourth_once(event, context):
        if len(recorder.events) == 1:
            seqs = [r["dynamodb"]["SequenceNumber"] for r in event["Records"]]
            return _failures(seqs[3], seqs[2])  # unordered on purpose
        return {"batchItemFailures": []}

    recorder = Recorder(fail_third_and_fourth_once)
    checkpoints = MemoryCheckpoints()
    poller = make_poller(recorder, checkpoints=checkpoints, report_batch_item_failures=True)
    poller.drain()
    assert recorder.batches == [ids, ids[2:]]
    last = recorder.sequence_numbers[-1][-1]
    assert checkpoints.snapshot()[_shard(poller)] == Checkpoint(last)
    assert poller.stats.partial_failures == 1
    assert poller.stats.records_handled == 5


def test_failures_reported_without_report_batch_item_failures_are_ignored_loudly(
    table, make_poller
):
    table.put_many(3)
    recorder = Recorder(
        lambda event, context: _failures(event["Records"][1]["dynamodb"]["SequenceNumber"])
    )
    poller = make_poller(recorder, report_batch_item_failures=False)
    poller.drain()
    assert len(recorder.events) == 1  # as on AWS: a success, never retried
    assert poller.stats.ignored_failure_reports == 1
    [warning] = poller.progress.of_kind("warning")
    assert "ReportBatchItemFailures" in warning["message"]
    assert "NOT retry" in warning["message"]


def test_an_invalid_item_identifier_fails_the_whole_batch(table, make_poller):
    ids = table.put_many(2)
    responses = iter([_failures(""), None])
    recorder = Recorder(lambda event, context: next(responses))
    poller = make_poller(recorder, report_batch_item_failures=True)
    poller.drain()
    assert recorder.batches == [ids, ids]
    assert poller.stats.function_errors == 1


def test_an_exception_retries_the_whole_batch_with_backoff(table, make_poller):
    ids = table.put_many(3)

    def fail_twice(event, context):
        if len(recorder.events) <= 2:
            raise RuntimeError("database is down")

    recorder = Recorder(fail_twice)
    poller = make_poller(recorder, retry_backoff_seconds=0.002)
    poller.drain()
    assert recorder.batches == [ids, ids, ids]
    retries = poller.progress.of_kind("retry")
    assert [r["delay_seconds"] for r in retries] == [0.002, 0.004]  # exponential
    [error] = [b for b in poller.progress.of_kind("batch") if b["error"]][:1]
    assert error["error"] == "RuntimeError: database is down"


def test_bisect_isolates_a_poison_record_and_sends_only_it_to_the_destination(table, make_poller):
    ids = table.put_many(4)
    poison = ids[2]

    def fail_on_poison(event, context):
        if poison in ids_of(event):
            raise ValueError("undecodable")

    recorder = Recorder(fail_on_poison)
    poller = make_poller(recorder, bisect_batch_on_function_error=True, maximum_retry_attempts=1)
    poller.drain()
    assert (
        recorder.batches
        == [
            ids,  # fails: split in two (no retry spent)
            ids[0:2],  # succeeds
            ids[2:4],  # fails: split again
            [poison],  # fails
            [poison],  # retry 1 fails: retries exhausted, sent to the destination
            ids[3:4],  # the rest goes on
        ]
    )
    [message] = table.queue_messages()
    seq = next(r["dynamodb"]["SequenceNumber"] for r in recorder.events[3]["Records"])
    assert message["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert message["requestContext"]["approximateInvokeCount"] == 2
    assert message["requestContext"]["functionArn"].endswith(":function:test-function")
    assert message["responseContext"] == {
        "statusCode": 200,
        "executedVersion": "$LATEST",
        "functionError": "Unhandled",
    }
    assert message["version"] == "1.0"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", message["timestamp"])
    info = message["DDBStreamBatchInfo"]
    assert info["shardId"] == _shard(poller)
    assert info["startSequenceNumber"] == info["endSequenceNumber"] == seq
    assert info["batchSize"] == 1
    assert info["streamArn"] == table.stream_arn
    for key in ("approximateArrivalOfFirstRecord", "approximateArrivalOfLastRecord"):
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", info[key])
    assert poller.stats.bisects == 2
    assert poller.stats.records_to_destination == 1
    assert poller.stats.records_handled == 3


def test_a_partial_failure_that_never_clears_sends_the_remaining_range(table, make_poller):
    ids = table.put_many(3)

    def fail_from_second(event, context):
        records = event["Records"]
        stuck = [r for r in records if r["dynamodb"]["Keys"]["id"]["S"] == ids[1]]
        return _failures(stuck[0]["dynamodb"]["SequenceNumber"]) if stuck else None

    recorder = Recorder(fail_from_second)
    poller = make_poller(recorder, report_batch_item_failures=True, maximum_retry_attempts=2)
    poller.drain()
    assert recorder.batches == [ids, ids[1:], ids[1:]]
    [message] = table.queue_messages()
    info = message["DDBStreamBatchInfo"]
    assert info["batchSize"] == 2
    assert info["startSequenceNumber"] == recorder.sequence_numbers[1][0]
    assert info["endSequenceNumber"] == recorder.sequence_numbers[1][-1]
    assert "functionError" not in message["responseContext"]  # the function returned


def test_records_older_than_the_maximum_age_skip_the_handler(table, make_poller):
    table.put_many(2)
    recorder = Recorder()
    two_hours_later = lambda: time.time() + 7200  # noqa: E731
    poller = make_poller(recorder, maximum_record_age_seconds=3600, clock=two_hours_later)
    poller.drain()
    assert recorder.events == []
    [message] = table.queue_messages()
    assert message["requestContext"]["condition"] == "RecordAgeExceeded"
    assert message["requestContext"]["approximateInvokeCount"] == 0
    assert message["DDBStreamBatchInfo"]["batchSize"] == 2


def test_without_a_destination_exhausted_records_are_dropped_and_said_so(table, make_poller):
    table.put_many(1)
    follow = table.put_many(1, prefix="ok")

    def always_fail(event, context):
        if not ids_of(event)[0].startswith("ok"):
            raise RuntimeError("boom")

    recorder = Recorder(always_fail)
    poller = make_poller(recorder, destination=False, maximum_retry_attempts=0, batch_size=1)
    poller.drain()
    assert recorder.batches[-1] == follow
    [gone] = poller.progress.of_kind("destination")
    assert gone["destination"] is None
    assert poller.stats.records_discarded == 1
    assert table.queue_messages() == []


def test_a_timeout_counts_as_a_function_error(table, make_poller):
    ids = table.put_many(1)

    def slow_once(event, context):
        if len(recorder.events) == 1:
            time.sleep(0.06)
        return None

    recorder = Recorder(slow_once)
    poller = make_poller(recorder, timeout_seconds=0.05)
    poller.drain()
    assert recorder.batches == [ids, ids]
    errors = [b["error"] for b in poller.progress.of_kind("batch") if b["error"]]
    assert errors
    assert errors[0].startswith("Task timed out")


def _fail_once(client: Any, operation: str, code: str, after: int = 0) -> list[int]:
    """Make the ``after``-th next call of ``operation`` answer with AWS error ``code``, once.

    The error body goes through botocore's own parser, as if the endpoint had sent it.
    """
    calls = [0]

    def reply(request: Any, **kwargs: Any) -> AWSResponse | None:
        calls[0] += 1
        if calls[0] != after + 1:
            return None
        body = json.dumps({"__type": f"com.amazonaws.dynamodb.v20120810#{code}", "message": code})

        class Raw:
            def stream(self, **kwargs: Any) -> Any:
                yield body.encode()

        headers = HTTPHeaders()
        headers["content-type"] = "application/x-amz-json-1.0"
        headers["x-amzn-requestid"] = "fault"
        return AWSResponse(request.url, 400, headers, Raw())

    client.meta.events.register(f"before-send.dynamodb-streams.{operation}", reply)
    return calls


@pytest.mark.parametrize(
    ("code", "counter", "warning"),
    [
        ("ExpiredIteratorException", "expired_iterators", "renewing"),
        # moto trims nothing, so its horizon is the start: what was read is not delivered again.
        ("TrimmedDataAccessException", "trimmed_ranges", "lost"),
    ],
)
def test_iterator_faults_are_recovered_without_losing_or_repeating_records(
    table, make_poller, code, counter, warning
):
    streams = table.emulator.client("dynamodbstreams")
    recorder = Recorder()
    poller = make_poller(recorder, streams=streams)
    first = table.put_many(2)
    poller.drain()
    _fail_once(streams, "GetRecords", code)
    second = table.put_many(2)
    poller.drain()
    assert [i for batch in recorder.batches for i in batch] == first + second
    assert getattr(poller.stats, counter) == 1
    [reported] = poller.progress.of_kind("warning")
    assert warning in reported["message"]


def test_a_trimmed_checkpoint_resumes_at_the_horizon(table, make_poller, tmp_path):
    streams = table.emulator.client("dynamodbstreams")
    checkpoints = JsonFileCheckpoints(tmp_path / "cp.json", "k")
    first = table.put_many(2)
    make_poller(Recorder(), checkpoints=checkpoints).drain()
    second = table.put_many(1)
    _fail_once(streams, "GetShardIterator", "TrimmedDataAccessException")
    recorder = Recorder()
    poller = make_poller(
        recorder, streams=streams, checkpoints=JsonFileCheckpoints(tmp_path / "cp.json", "k")
    )
    poller.drain()
    assert recorder.batches == [second]
    assert first[0] not in recorder.batches[0]
    assert poller.stats.trimmed_ranges == 1


def test_a_restarted_poller_resumes_after_its_checkpoint(table, make_poller, tmp_path):
    path = tmp_path / "checkpoints.json"
    recorder = Recorder()
    first = make_poller(
        recorder, checkpoints=JsonFileCheckpoints(path, "m"), starting_position="LATEST"
    )
    first.drain()  # LATEST: positioned at the end, nothing yet
    handled = table.put_many(3)
    first.drain()
    written_while_down = table.put_many(2)
    again = Recorder()
    make_poller(
        again, checkpoints=JsonFileCheckpoints(path, "m"), starting_position="LATEST"
    ).drain()
    assert [i for b in recorder.batches for i in b] == handled
    assert [i for b in again.batches for i in b] == written_while_down
    saved = json.loads(path.read_text())["mappings"]["m"]
    assert [entry["sequence_number"] for entry in saved.values()] == [
        again.sequence_numbers[-1][-1]
    ]


class ProcessDied(BaseException):
    """Stands for the handler process being killed mid-batch."""


def test_a_crash_mid_batch_redelivers_that_batch_after_a_restart(table, make_poller, tmp_path):
    path = tmp_path / "checkpoints.json"
    done = table.put_many(2)
    make_poller(Recorder(), checkpoints=JsonFileCheckpoints(path, "m")).drain()
    in_flight = table.put_many(2)

    def die(event, context):
        raise ProcessDied

    with pytest.raises(ProcessDied):
        make_poller(Recorder(die), checkpoints=JsonFileCheckpoints(path, "m")).drain()
    recorder = Recorder()
    make_poller(recorder, checkpoints=JsonFileCheckpoints(path, "m")).drain()
    assert recorder.batches == [in_flight]
    assert done[0] not in in_flight


def test_a_crash_in_the_very_first_batch_does_not_skip_it_on_latest(table, make_poller, tmp_path):
    path = tmp_path / "checkpoints.json"

    def die(event, context):
        raise ProcessDied

    first = make_poller(
        Recorder(die),
        checkpoints=JsonFileCheckpoints(path, "m"),
        starting_position="LATEST",
    )
    first.drain()
    ids = table.put_many(2)
    with pytest.raises(ProcessDied):
        first.drain()
    recorder = Recorder()
    make_poller(
        recorder, checkpoints=JsonFileCheckpoints(path, "m"), starting_position="LATEST"
    ).drain()
    assert recorder.batches == [ids]


def test_a_background_poller_stops_cleanly_with_a_summary(table, make_poller):
    recorder = Recorder()
    poller = make_poller(recorder)
    poller.start()
    ids = table.put_many(3)
    poller.wait_until_caught_up(timeout=10)
    poller.stop()
    assert [i for b in recorder.batches for i in b] == ids
    [summary] = poller.progress.of_kind("summary")
    assert summary["stats"]["records_handled"] == 3


def _shard(poller: Any) -> str:
    [shard] = poller.workers
    return str(shard)
