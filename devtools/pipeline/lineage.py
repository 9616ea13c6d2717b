"""A stream's shards in lineage order: listed, every parent before its children, each
started at the right position (a child is read once its parent is drained, by the poller)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["is_closed", "lineage_order", "list_shards", "start_position"]


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


def start_position(shard: Mapping[str, Any], starting_position: str, *, first_listing: bool) -> str:
    """Where a shard first seen is read from: the mapping's starting position for the shards of
    the first listing, the start of any shard born later."""
    if not first_listing:
        return "TRIM_HORIZON"  # a shard born while we poll: read it from its start
    if is_closed(shard) and starting_position == "LATEST":
        return "LATEST"  # nothing new will ever arrive in it
    return starting_position
