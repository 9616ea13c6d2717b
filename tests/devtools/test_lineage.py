"""Shard lineage and DescribeStream paging, on a stream with split shards.

moto's streams have exactly one shard, which never closes, so these tests use an in-memory
stream with the same API shapes (``DescribeStream`` pages, ``GetShardIterator``, ``GetRecords``
with ``NextShardIterator`` absent at the end of a closed shard), as DynamoDB documents them.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from devtools.pipeline import Checkpoint, MappingConfig, MemoryCheckpoints, Poller, Progress
from devtools.pipeline.lineage import lineage_order
from tests.devtools.conftest import Recorder

ARN = "arn:aws:dynamodb:us-east-1:123456789012:table/Users/stream/2024-01-01T00:00:00.000"


class SplitStream:
    """A DynamoDB stream whose shards were split; records are given per shard."""

    def __init__(self, shards: list[dict[str, Any]], records: dict[str, list[str]]) -> None:
        self.shards = shards
        self.records = {
            shard: [self._record(shard, n, user) for n, user in enumerate(users)]
            for shard, users in records.items()
        }
        self.describe_calls: list[dict[str, Any]] = []
        self.iterator_calls: list[tuple[str, str]] = []

    @staticmethod
    def _record(shard: str, n: int, user: str) -> dict[str, Any]:
        return {
            "eventID": f"{shard}-{n}",
            "eventName": "INSERT",
            "eventVersion": "1.1",
            "eventSource": "aws:dynamodb",
            "awsRegion": "us-east-1",
            "dynamodb": {
                "ApproximateCreationDateTime": datetime.now(UTC),
                "Keys": {"id": {"S": user}},
                "SequenceNumber": f"{shard[-1]}{n:05d}",
                "SizeBytes": 10,
                "StreamViewType": "KEYS_ONLY",
            },
        }

    def describe_stream(self, StreamArn: str, ExclusiveStartShardId: str = "") -> dict[str, Any]:
        self.describe_calls.append({"ExclusiveStartShardId": ExclusiveStartShardId})
        ids = [s["ShardId"] for s in self.shards]
        start = ids.index(ExclusiveStartShardId) + 1 if ExclusiveStartShardId else 0
        page = self.shards[start : start + 1]  # one shard per page: every page is exercised
        description: dict[str, Any] = {"StreamArn": StreamArn, "Shards": page}
        if start + 1 < len(self.shards):
            description["LastEvaluatedShardId"] = page[-1]["ShardId"]
        return {"StreamDescription": description}

    def get_shard_iterator(
        self, StreamArn: str, ShardId: str, ShardIteratorType: str, SequenceNumber: str = ""
    ) -> dict[str, Any]:
        self.iterator_calls.append((ShardId, ShardIteratorType))
        sequences = [r["dynamodb"]["SequenceNumber"] for r in self.records.get(ShardId, [])]
        position = {
            "TRIM_HORIZON": 0,
            "LATEST": len(sequences),
            "AT_SEQUENCE_NUMBER": sequences.index(SequenceNumber) if SequenceNumber else 0,
            "AFTER_SEQUENCE_NUMBER": sequences.index(SequenceNumber) + 1 if SequenceNumber else 0,
        }[ShardIteratorType]
        return {"ShardIterator": f"{ShardId}|{position}"}

    def get_records(self, ShardIterator: str, Limit: int) -> dict[str, Any]:
        shard, _, position = ShardIterator.partition("|")
        start = int(position)
        page = self.records.get(shard, [])[start : start + 2]
        closed = any(
            s["ShardId"] == shard and "EndingSequenceNumber" in s["SequenceNumberRange"]
            for s in self.shards
        )
        end = start + len(page)
        response: dict[str, Any] = {"Records": page}
        if not (closed and end >= len(self.records.get(shard, []))):
            response["NextShardIterator"] = f"{shard}|{end}"
        return response


def _shard(shard_id: str, parent: str | None = None, closed: bool = False) -> dict[str, Any]:
    shard: dict[str, Any] = {"ShardId": shard_id, "SequenceNumberRange": {}}
    shard["SequenceNumberRange"]["StartingSequenceNumber"] = "0"
    if closed:
        shard["SequenceNumberRange"]["EndingSequenceNumber"] = "99999"
    if parent:
        shard["ParentShardId"] = parent
    return shard


def test_children_are_read_only_after_their_parent_is_drained():
    # Listed children first, as nothing in the API promises an order.
    shards = [
        _shard("child-b", "parent-a"),
        _shard("child-c", "parent-a"),
        _shard("parent-a", closed=True),
    ]
    stream = SplitStream(
        shards,
        {"parent-a": ["p1", "p2", "p3"], "child-b": ["b1", "b2"], "child-c": ["c1"]},
    )
    recorder = Recorder()
    checkpoints = MemoryCheckpoints()
    config = MappingConfig(
        function_name="f", stream_arn=ARN, starting_position="TRIM_HORIZON", poll_interval=0
    )
    poller = Poller(
        config, recorder, stream, checkpoints=checkpoints, progress=Progress(quiet=True)
    )
    poller.drain(timeout=10)
    delivered = [user for batch in recorder.batches for user in batch]
    assert delivered[:3] == ["p1", "p2", "p3"]
    assert sorted(delivered[3:]) == ["b1", "b2", "c1"]
    assert delivered.index("b1") < delivered.index("b2")
    assert checkpoints.get("parent-a") == Checkpoint("a00002", drained=True)
    # Every page of DescribeStream was read, each starting after the last one.
    assert [c["ExclusiveStartShardId"] for c in stream.describe_calls[:3]] == [
        "",
        "child-b",
        "child-c",
    ]


def test_lineage_order_puts_parents_first_and_survives_odd_input():
    shards = [_shard("c", "b"), _shard("b", "a"), _shard("a"), _shard("x", "gone")]
    assert [s["ShardId"] for s in lineage_order(shards)] == ["a", "b", "c", "x"]
    loop = [_shard("p", "q"), _shard("q", "p")]
    assert sorted(s["ShardId"] for s in lineage_order(loop)) == ["p", "q"]


def test_a_drained_parent_is_not_read_again_after_a_restart():
    shards = [_shard("parent-a", closed=True), _shard("child-b", "parent-a")]
    stream = SplitStream(shards, {"parent-a": ["p1"], "child-b": ["b1"]})
    checkpoints = MemoryCheckpoints()
    config = MappingConfig(
        function_name="f", stream_arn=ARN, starting_position="TRIM_HORIZON", poll_interval=0
    )
    Poller(
        config, Recorder(), stream, checkpoints=checkpoints, progress=Progress(quiet=True)
    ).drain(5)
    recorder = Recorder()
    Poller(config, recorder, stream, checkpoints=checkpoints, progress=Progress(quiet=True)).drain(
        5
    )
    assert recorder.batches == []
