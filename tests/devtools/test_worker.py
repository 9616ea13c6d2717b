"""What happens to one shard's batches, against moto over HTTP: batching, partial failures,
retries with backoff, bisecting, and giving up to the on-failure destination."""

from __future__ import annotations

import re
import time
from typing import Any

from devtools.pipeline import Checkpoint, MemoryCheckpoints
from tests.devtools.conftest import Recorder, ids_of
from tests.devtools.conftest import item_failures as _failures


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


def _shard(poller: Any) -> str:
    [shard] = poller.workers
    return str(shard)
