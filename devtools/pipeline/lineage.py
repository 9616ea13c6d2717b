"""A stream's shards in lineage order: listed, every parent before its children (a child is
read once its parent is drained, by the poller)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["is_closed", "lineage_order", "list_shards"]


def lineage_order(shards: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """``shards`` with every parent before its children (stable otherwise)."""
    by_id = {shard["ShardId"]: shard for shard in shards}
    ordered: list[Mapping[str, Any]] = []
    placed: set[str] = set()

    def place(shard: Mapping[str, Any], trail: frozenset[str]) -> None:
        shard_id = shard["ShardId"]
        if shard_id in placed or shard_id in trail:
            return
        parent = by_id.get(shard.get("ParentShardId") or "")
        if parent is not None:
            place(parent, trail | {shard_id})
        placed.add(shard_id)
        ordered.append(shard)

    for shard in shards:
        place(shard, frozenset())
    return ordered


def list_shards(streams: Any, stream_arn: str) -> list[Mapping[str, Any]]:
    """Every shard of the stream (``DescribeStream``, all pages), parents first."""
    shards: list[Mapping[str, Any]] = []
    request: dict[str, Any] = {"StreamArn": stream_arn}
    while True:
        description = streams.describe_stream(**request)["StreamDescription"]
        shards.extend(description.get("Shards", []))
        last = description.get("LastEvaluatedShardId")
        if not last:
            return lineage_order(shards)
        request["ExclusiveStartShardId"] = last


def is_closed(shard: Mapping[str, Any]) -> bool:
    """The shard has an ending sequence number: nothing new will ever arrive in it."""
    return bool(shard.get("SequenceNumberRange", {}).get("EndingSequenceNumber"))
