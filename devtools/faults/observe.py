"""What the fault run reads back afterwards: the stream's records, the on-failure queue's
ranges."""

from __future__ import annotations

import json
from typing import Any

__all__ = ["queue_ranges", "stream_keys"]


def stream_keys(streams: Any, stream_arn: str, key: str) -> list[tuple[int, str]]:
    """Every record in the stream: (sequence number, the string key ``key``), in order."""
    found: list[tuple[int, str]] = []
    shards = streams.describe_stream(StreamArn=stream_arn)["StreamDescription"]
    for shard in shards["Shards"]:
        iterator = streams.get_shard_iterator(
            StreamArn=stream_arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        ).get("ShardIterator")
        while iterator:
            page = streams.get_records(ShardIterator=iterator, Limit=1000)
            if not page["Records"]:
                break
            found += [
                (int(r["dynamodb"]["SequenceNumber"]), r["dynamodb"]["Keys"][key]["S"])
                for r in page["Records"]
            ]
            iterator = page.get("NextShardIterator")
    return found


def queue_ranges(sqs: Any, queue_url: str) -> list[tuple[int, int]]:
    """The ranges on the on-failure queue (read, then made visible again)."""
    seen: dict[str, dict[str, Any]] = {}
    while True:
        response = sqs.receive_message(
            QueueUrl=queue_url, MaxNumberOfMessages=10, VisibilityTimeout=60
        )
        fresh = [m for m in response.get("Messages", []) if m["MessageId"] not in seen]
        if not fresh:
            break
        seen.update((m["MessageId"], m) for m in fresh)
    ranges = []
    for message in seen.values():
        info = json.loads(message["Body"])["DDBStreamBatchInfo"]
        ranges.append((int(info["startSequenceNumber"]), int(info["endSequenceNumber"])))
        sqs.change_message_visibility(
            QueueUrl=queue_url,
            ReceiptHandle=message["ReceiptHandle"],
            VisibilityTimeout=0,
        )
    return sorted(ranges)
