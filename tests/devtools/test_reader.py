"""Reading a shard, against moto over HTTP: where reading starts, and expired iterators and
trimmed positions recovered without losing or repeating records."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.awsrequest import AWSResponse, HTTPHeaders

from devtools.pipeline import JsonFileCheckpoints
from tests.devtools.conftest import Recorder


def test_latest_starts_after_the_records_already_in_the_stream(table, make_poller):
    table.put_many(2, prefix="old")
    recorder = Recorder()
    poller = make_poller(recorder, starting_position="LATEST")
    poller.drain()
    new = table.put_many(2, prefix="new")
    poller.drain()
    assert recorder.batches == [new]


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
