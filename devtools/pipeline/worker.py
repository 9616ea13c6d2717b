"""What happens to one shard's records, as Lambda's event source mapping decides it.

A :class:`~devtools.pipeline.reader.ShardReader` reads the shard into a buffer; the
:class:`ShardWorker` takes batches from it and invokes the handler, one batch at a time, in
stream order:

* **batching** - a batch holds up to ``batch_size`` records; with a batching window the poller
  waits up to that long for a full batch;
* **success** - checkpoint after the batch's last record;
* **partial failure** (``batchItemFailures``, honoured only with ``report_batch_item_failures``)
  - checkpoint before the lowest failed record, retry from there with the rest of the batch;
* **function error** (an exception, a timeout, an invalid response) - retry the whole batch,
  or with ``bisect_batch_on_function_error`` split it in two first (a split costs no retry);
* **retries** are counted for the record at the head of the batch and reset when the checkpoint
  moves; between retries the poller waits ``retry_backoff_seconds * 2**(n-1)`` (capped);
* **giving up** - after ``maximum_retry_attempts`` retries, or before invoking with records
  older than ``maximum_record_age_seconds``, the range goes to the on-failure destination (an
  invocation record, not the records) and the checkpoint moves past it; without a destination
  the records are dropped, as on AWS.

Expired iterators and trimmed positions are the reader's to handle.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from devtools.pipeline.checkpoints import Checkpoint
from devtools.pipeline.destination import RECORD_AGE_EXCEEDED, RETRIES_EXHAUSTED, failure_record
from devtools.pipeline.invoke import Outcome, invoke
from devtools.pipeline.mapping import function_arn
from devtools.pipeline.reader import ShardReader, sequence

if TYPE_CHECKING:
    from devtools.pipeline.loop import Poller

__all__ = ["ShardWorker"]


class ShardWorker:
    """Reads one shard and runs the mapping's semantics on it (see the module docstring)."""

    def __init__(self, poller: Poller, shard: Mapping[str, Any], start_type: str) -> None:
        self.poller = poller
        self.shard_id: str = shard["ShardId"]
        self.parent_id: str | None = shard.get("ParentShardId")
        saved = poller.checkpoints.get(self.shard_id)
        self.drained = bool(saved and saved.drained)
        self.reader = ShardReader(
            poller, self.shard_id, start_type, None if saved is None else saved.sequence_number
        )
        # The retry / give-up state: a failed batch is retried (retries, from retry_at; bisected
        # batches are cut to limits) until it succeeds, or is given up (pending_give_up: the
        # on-failure payload, until the destination takes it).
        self.retry_at = 0.0
        self.retries = 0
        self.limits: list[int] = []
        self.pending_give_up: tuple[dict[str, Any], int] | None = None

    # -- the mapping's semantics ------------------------------------------------------------

    @property
    def caught_up(self) -> bool:
        return self.drained or (not self.reader.buffer and self.pending_give_up is None)

    def step(self, now: float) -> bool:
        """Fetch and invoke at most once; True if anything happened."""
        if self.drained:
            return False
        if self.pending_give_up is not None:
            return self._send_pending(now)
        reader = self.reader
        worked = reader.fetch(now)
        if reader.gone and not self.drained:
            self.mark_drained()
        if not self.reader.buffer:
            if reader.closed:
                self.mark_drained()
                return True
            return worked
        if now < self.retry_at:
            return worked
        config = self.poller.config
        size = self.limits[0] if self.limits else config.batch_size
        waiting = (
            len(self.reader.buffer) < size
            and not reader.closed
            and self.retries == 0
            and now - reader.first_buffered_at < config.batching_window_seconds
        )
        if waiting:
            return worked
        self.process(self.reader.buffer[:size], now)
        return True

    def process(self, batch: list[dict[str, Any]], now: float) -> None:
        config = self.poller.config
        if config.maximum_record_age_seconds >= 0:
            expired = 0
            for record in batch:
                if now - self.reader.created_at(record) <= config.maximum_record_age_seconds:
                    break
                expired += 1
            if expired:
                self.give_up(batch[:expired], RECORD_AGE_EXCEEDED, None, now, invokes=self.retries)
                batch = batch[expired:]
                if not batch or self.pending_give_up is not None:
                    return
        outcome = invoke(self.poller.handler, batch, config)
        poller = self.poller
        poller.stats.invocations += 1
        poller.stats.records_delivered += len(batch)
        if outcome.kind == "ok":
            self._report(batch, "ok", outcome, now)
            if outcome.ignored_failures:
                poller.stats.ignored_failure_reports += 1
                poller.warn(
                    f"the handler reported {outcome.ignored_failures} failed record(s) in "
                    "batchItemFailures, but this mapping does not have ReportBatchItemFailures: "
                    "like AWS, the poller treats the batch as a success and will NOT retry them. "
                    "Enable report_batch_item_failures, or make the handler raise.",
                    self.shard_id,
                )
            self._succeeded(batch)
        elif outcome.kind == "partial":
            index = outcome.failed_index or 0
            poller.stats.partial_failures += 1
            self._report(batch, f"partial failure at record {index + 1}", outcome, now)
            rest = batch[index:]
            if index:
                self._succeeded(batch[:index])
                self.retries = 0
            if not self.limits:
                self.limits.insert(0, len(rest))
            self._failed(rest, None, now)
        else:
            poller.stats.function_errors += 1
            self._report(batch, "function error", outcome, now)
            if config.bisect_batch_on_function_error and len(batch) > 1:
                first = len(batch) // 2
                halves = [first, len(batch) - first]
                if self.limits:
                    self.limits[0:1] = halves
                else:
                    self.limits = halves
                self.retries = 0
                poller.stats.bisects += 1
                poller.progress.emit(
                    "bisect", shard=self.shard_id, records=len(batch), halves=halves
                )
                return
            self._failed(batch, "Unhandled", now)

    def _failed(self, batch: list[dict[str, Any]], function_error: str | None, now: float) -> None:
        config = self.poller.config
        self.retries += 1
        if 0 <= config.maximum_retry_attempts < self.retries:
            self.give_up(batch, RETRIES_EXHAUSTED, function_error, now, invokes=self.retries)
            return
        delay = config.backoff(self.retries)
        self.retry_at = now + delay
        self.poller.stats.retries += 1
        self.poller.progress.emit(
            "retry",
            shard=self.shard_id,
            retry=self.retries,
            records=len(batch),
            first_sequence_number=sequence(batch[0]),
            last_sequence_number=sequence(batch[-1]),
            delay_seconds=delay,
        )

    def give_up(
        self,
        records: list[dict[str, Any]],
        condition: str,
        function_error: str | None,
        now: float,
        invokes: int = 0,
    ) -> None:
        """Send the range to the on-failure destination (or drop it) and checkpoint past it."""
        poller = self.poller
        payload = failure_record(
            records=records,
            shard_id=self.shard_id,
            stream_arn=poller.config.stream_arn,
            function_arn=function_arn(poller.config),
            condition=condition,
            invoke_count=invokes,
            function_error=function_error,
            now=now,
        )
        self.pending_give_up = (payload, len(records))
        self._send_pending(now)

    def _send_pending(self, now: float) -> bool:
        assert self.pending_give_up is not None
        payload, count = self.pending_give_up
        poller = self.poller
        info = payload["DDBStreamBatchInfo"]
        if poller.destination is not None:
            try:
                poller.destination.send(payload)
            except Exception as exc:
                poller.warn(
                    f"could not send to the on-failure destination, will retry: {exc}",
                    self.shard_id,
                )
                self.retry_at = now + max(1.0, poller.config.poll_interval)
                return False
            poller.stats.records_to_destination += count
        else:
            poller.stats.records_discarded += count
        poller.progress.emit(
            "destination",
            shard=self.shard_id,
            records=count,
            condition=payload["requestContext"]["condition"],
            first_sequence_number=info["startSequenceNumber"],
            last_sequence_number=info["endSequenceNumber"],
            destination=poller.config.on_failure_destination if poller.destination else None,
            payload=payload,
        )
        self.pending_give_up = None
        self._consume(count)
        self.retries = 0
        self.retry_at = 0.0
        return True

    def _succeeded(self, batch: list[dict[str, Any]]) -> None:
        self.poller.stats.records_handled += len(batch)
        self._consume(len(batch))
        self.retries = 0
        self.retry_at = 0.0

    def _consume(self, count: int) -> None:
        """Checkpoint after the first ``count`` buffered records and drop them."""
        last = sequence(self.reader.buffer[count - 1])
        self.poller.checkpoints.put(self.shard_id, Checkpoint(last))
        self.reader.take(count)  # and it is now the reader's checkpointed position
        while count and self.limits:
            if self.limits[0] <= count:
                count -= self.limits.pop(0)
            else:
                self.limits[0] -= count
                count = 0

    def mark_drained(self) -> None:
        self.drained = True
        self.poller.checkpoints.put(
            self.shard_id, Checkpoint(self.reader.checkpointed, drained=True)
        )
        self.poller.stats.shards_drained += 1
        self.poller.progress.emit("shard", shard=self.shard_id, event="drained (closed, all read)")

    def _report(
        self, batch: list[dict[str, Any]], outcome: str, result: Outcome, now: float
    ) -> None:
        lag = max(0.0, self.poller.clock() - self.reader.created_at(batch[-1]))
        self.poller.stats.max_lag_seconds = max(self.poller.stats.max_lag_seconds, lag)
        self.poller.progress.emit(
            "batch",
            shard=self.shard_id,
            records=len(batch),
            first_sequence_number=sequence(batch[0]),
            last_sequence_number=sequence(batch[-1]),
            lag_seconds=round(lag, 3),
            outcome=outcome,
            duration_ms=round(result.duration * 1000, 1),
            error=result.error,
        )
