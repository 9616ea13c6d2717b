"""Reading one shard of a DynamoDB stream, as Lambda's event source mapping does: iterators,
``GetRecords`` pages into a buffer, the trimmed and expired cases. What is done with the
records (invoking, retrying, giving up) is :class:`~devtools.pipeline.worker.ShardWorker`'s.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from chalicelib.clients import error_code
from devtools.pipeline.checkpoints import Checkpoint

if TYPE_CHECKING:
    from devtools.pipeline.loop import Poller

__all__ = ["GET_RECORDS_LIMIT", "ShardReader", "sequence"]

GET_RECORDS_LIMIT = 1000  # the most DynamoDB Streams returns per call


def sequence(record: Mapping[str, Any]) -> str:
    return str(record["dynamodb"]["SequenceNumber"])


class ShardReader:
    """Reads one shard into :attr:`buffer`, from the checkpoint (or ``start_type``) on."""

    def __init__(
        self, poller: Poller, shard_id: str, start_type: str, checkpointed: str | None
    ) -> None:
        self.poller = poller
        self.shard_id = shard_id
        self.start_type = start_type
        self.iterator: str | None = None
        self.closed = False  # the shard has no more records (its iterator ended)
        self.gone = False  # the shard no longer exists
        self.buffer: list[dict[str, Any]] = []
        self.created: dict[str, float] = {}  # sequence number -> creation time, sub-second
        self.first_buffered_at = 0.0
        self.last_fetched: str | None = None
        self.checkpointed = checkpointed  # the last record checkpointed (the worker moves it)
        self.next_fetch_at = 0.0
        self.skip_through: str | None = None  # after a trim: records up to here were read
        self.last_empty_fetch = float("-inf")

    def _iterator_request(self) -> dict[str, Any]:
        request: dict[str, Any] = {"StreamArn": self.poller.config.stream_arn}
        request["ShardId"] = self.shard_id
        saved = self.poller.checkpoints.get(self.shard_id)
        if self.skip_through is not None:
            request["ShardIteratorType"] = "TRIM_HORIZON"
        elif self.last_fetched is not None:
            request.update(ShardIteratorType="AFTER_SEQUENCE_NUMBER")
            request["SequenceNumber"] = self.last_fetched
        elif saved is not None and saved.sequence_number is not None:
            kind = "AT_SEQUENCE_NUMBER" if saved.inclusive else "AFTER_SEQUENCE_NUMBER"
            request.update(ShardIteratorType=kind, SequenceNumber=saved.sequence_number)
        else:
            request["ShardIteratorType"] = self.start_type
        return request

    def _open(self) -> None:
        request = self._iterator_request()
        try:
            response = self.poller.streams.get_shard_iterator(**request)
        except Exception as exc:
            code = error_code(exc)
            if code == "TrimmedDataAccessException":
                self._trimmed(f"resume position {request.get('SequenceNumber')} is trimmed")
                response = self.poller.streams.get_shard_iterator(**self._iterator_request())
            elif code == "ResourceNotFoundException":
                self.poller.warn(f"shard is gone ({exc}); treating it as drained", self.shard_id)
                self.gone = True
                return
            else:
                raise
        self.iterator = response.get("ShardIterator")
        if self.iterator is None:
            self.closed = True

    def _trimmed(self, why: str) -> None:
        self.poller.stats.trimmed_ranges += 1
        self.poller.warn(
            f"{why}: records between the checkpoint and the oldest record still in the stream "
            "are lost (TrimmedDataAccessException); continuing from TRIM_HORIZON",
            self.shard_id,
        )
        # Re-read from the oldest record held, skipping what was already read: the horizon
        # cannot be older than our position, or the stream would not have refused it.
        self.skip_through = self.last_fetched or self.checkpointed or "-1"
        self.iterator = None

    def fetch(self, now: float) -> bool:
        """One ``GetRecords`` when due; True if records arrived."""
        if self.closed or now < self.next_fetch_at:
            return False
        if len(self.buffer) >= self.poller.config.batch_size:
            return False
        poller = self.poller
        try:
            if self.iterator is None:
                if poller.switch is not None:
                    return False  # the old stream is read through open iterators only
                self._open()
                if self.iterator is None:
                    return False
            response = poller.streams.get_records(
                ShardIterator=self.iterator, Limit=GET_RECORDS_LIMIT
            )
        except Exception as exc:
            code = error_code(exc)
            if code == "ExpiredIteratorException":
                poller.stats.expired_iterators += 1
                poller.warn(
                    "shard iterator expired; renewing it after the last record read", self.shard_id
                )
                self.iterator = None
                return True
            if code == "TrimmedDataAccessException":
                self._trimmed("the iterator points at trimmed records")
                return True
            poller.read_failed(exc, now, "reading failed", self.shard_id)
            self.next_fetch_at = now + max(1.0, poller.config.poll_interval)
            return False
        poller.health.ok()
        raw_records = response.get("Records", [])
        self.iterator = response.get("NextShardIterator")
        if self.iterator is None:
            self.closed = True
        if self.skip_through is not None and raw_records:
            seen = int(self.skip_through)
            fresh = [r for r in raw_records if int(r["dynamodb"]["SequenceNumber"]) > seen]
            if not fresh:
                return True  # a page of records read before the trim: keep reading
            self.skip_through = None
            raw_records = fresh
        records = [poller.convert(record) for record in raw_records]
        self._remember_created(raw_records, records)
        if not records:
            self.last_empty_fetch = now
            self.next_fetch_at = now + poller.config.poll_interval
            return False
        if self.last_fetched is None and self.checkpointed is None:
            # Remember where reading started, so a poller killed during its first batch
            # re-reads it instead of jumping to LATEST again.
            first = records[0]["dynamodb"]["SequenceNumber"]
            poller.checkpoints.put(self.shard_id, Checkpoint(first, inclusive=True))
        if not self.buffer:
            self.first_buffered_at = now
        self.buffer.extend(records)
        self.last_fetched = records[-1]["dynamodb"]["SequenceNumber"]
        return True

    def _remember_created(self, raw: list[dict[str, Any]], records: list[dict[str, Any]]) -> None:
        for original, record in zip(raw, records, strict=True):
            created = original["dynamodb"].get("ApproximateCreationDateTime")
            self.created[sequence(record)] = (
                created.timestamp()
                if isinstance(created, datetime)
                else float(record["dynamodb"]["ApproximateCreationDateTime"])
            )

    def created_at(self, record: Mapping[str, Any]) -> float:
        """When the record was written (sub-second where the endpoint says so)."""
        found = self.created.get(sequence(record))
        if found is None:
            return float(record["dynamodb"]["ApproximateCreationDateTime"])
        return found

    def take(self, count: int) -> list[dict[str, Any]]:
        """Drop the first ``count`` buffered records (handled or given up); them."""
        taken = self.buffer[:count]
        for record in taken:
            self.created.pop(sequence(record), None)
        del self.buffer[:count]
        self.checkpointed = sequence(taken[-1])
        return taken
