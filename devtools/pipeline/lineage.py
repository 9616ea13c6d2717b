"""The order in which a stream's shards are read: every parent before its children."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["lineage_order"]


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
