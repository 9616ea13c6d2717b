"""An event source mapping for a DynamoDB stream, run locally: reads shards, invokes a handler.

One :class:`Poller` is one mapping (one stream, one function). It reads every shard of the
stream with boto3 (``DescribeStream``, ``GetShardIterator``, ``GetRecords``), a child shard only
once its parent is drained, and invokes the handler with Lambda-shaped batches, one batch at a
time per shard, in stream order. Per shard, a :class:`~devtools.pipeline.reader.ShardReader`
reads the records into a buffer, and a :class:`ShardWorker` decides what happens to them:

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
  the records are dropped, as on AWS;
* **expired iterators** are renewed after the last record read; a **trimmed** position (records
  gone from the stream) restarts at the oldest record still held and is reported as a loss.

Checkpoints go to an injected :class:`~devtools.pipeline.checkpoints.CheckpointStore`, so a
poller built on the same store resumes where the last one stopped. ``run`` polls until
stopped; ``step`` does one round and ``drain`` rounds until caught up (for tests and tools).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from chalicelib.clients import error_code
from devtools.pipeline import continuity
from devtools.pipeline.checkpoints import Checkpoint, CheckpointStore, MemoryCheckpoints
from devtools.pipeline.destination import (
    RECORD_AGE_EXCEEDED,
    RETRIES_EXHAUSTED,
    Destination,
    failure_record,
)
from devtools.pipeline.events import lambda_record
from devtools.pipeline.invoke import Outcome, invoke
from devtools.pipeline.lineage import lineage_order
from devtools.pipeline.mapping import Handler, MappingConfig, function_arn
from devtools.pipeline.progress import PollerStats, Progress
from devtools.pipeline.reader import GET_RECORDS_LIMIT, ShardReader, sequence

__all__ = ["GET_RECORDS_LIMIT", "Poller", "ShardWorker", "lineage_order"]

RecordTransform = Callable[[dict[str, Any]], dict[str, Any]]


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

    @property
    def buffer(self) -> list[dict[str, Any]]:
        return self.reader.buffer

    @property
    def iterator(self) -> str | None:
        return self.reader.iterator

    @property
    def last_empty_fetch(self) -> float:
        return self.reader.last_empty_fetch

    @property
    def checkpointed(self) -> str | None:
        return self.reader.checkpointed

    # -- the mapping's semantics ------------------------------------------------------------

    @property
    def caught_up(self) -> bool:
        return self.drained or (not self.buffer and self.pending_give_up is None)

    def step(self, now: float) -> bool:
        """Fetch and invoke at most once; True if anything happened."""
        if self.drained:
            return False
        if self.pending_give_up is not None:
            return self._send_pending(now)
        reader = self.reader
        worked = reader.fetch(now)
        if reader.gone and not self.drained:
            self._mark_drained()
        if not self.buffer:
            if reader.closed:
                self._mark_drained()
                return True
            return worked
        if now < self.retry_at:
            return worked
        config = self.poller.config
        size = self.limits[0] if self.limits else config.batch_size
        waiting = (
            len(self.buffer) < size
            and not reader.closed
            and self.retries == 0
            and now - reader.first_buffered_at < config.batching_window_seconds
        )
        if waiting:
            return worked
        self.process(self.buffer[:size], now)
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
        last = sequence(self.buffer[count - 1])
        self.poller.checkpoints.put(self.shard_id, Checkpoint(last))
        self.reader.take(count)  # and it is now the reader's checkpointed position
        while count and self.limits:
            if self.limits[0] <= count:
                count -= self.limits.pop(0)
            else:
                self.limits[0] -= count
                count = 0

    def _mark_drained(self) -> None:
        self.drained = True
        self.poller.checkpoints.put(self.shard_id, Checkpoint(self.checkpointed, drained=True))
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


class Poller:
    """One event source mapping: ``config`` + ``handler`` over a DynamoDB Streams client."""

    def __init__(
        self,
        config: MappingConfig,
        handler: Handler,
        streams: Any,
        *,
        destination: Destination | None = None,
        checkpoints: CheckpointStore | None = None,
        progress: Progress | None = None,
        clock: Callable[[], float] = time.time,
        transform_record: RecordTransform | None = None,
        shard_refresh_seconds: float = 60.0,
        watch: continuity.StreamWatch | None = None,
        unreachable_after: float = 30.0,
    ) -> None:
        self.config = config
        self.handler = handler
        self.streams = streams
        self.destination = destination
        self.checkpoints: CheckpointStore = (
            checkpoints if checkpoints is not None else MemoryCheckpoints()
        )
        self.progress = progress if progress is not None else Progress()
        self.clock = clock
        self.transform_record = transform_record
        self.shard_refresh_seconds = shard_refresh_seconds
        self.watch = watch
        endpoint = getattr(getattr(streams, "meta", None), "endpoint_url", "the endpoint")
        self.health = continuity.Health(str(endpoint), unreachable_after)
        self.switch: tuple[str, float] | None = None  # (new stream, when noticed): reading the old
        self.stats = PollerStats()
        self.workers: dict[str, ShardWorker] = {}
        self._next_refresh = float("-inf")
        self._stop = threading.Event()
        self._stepped = threading.Condition()
        self._thread: threading.Thread | None = None
        self._started_at: float | None = None
        self._listed = False  # the shards were listed at least once
        self.failure: BaseException | None = None

    # -- pieces ---------------------------------------------------------------------------

    def convert(self, record: dict[str, Any]) -> dict[str, Any]:
        if self.transform_record is not None:
            record = self.transform_record(record)
        return lambda_record(record, self.config.stream_arn)

    def warn(self, message: str, shard: str | None = None) -> None:
        self.progress.emit("warning", shard=shard, message=message)

    def read_failed(self, exc: Exception, now: float, what: str, shard: str | None = None) -> None:
        """Count a failed call and say so; raise once calls fail ``unreachable_after`` s."""
        self.stats.read_errors += 1
        if self.watch is not None and error_code(exc) == "ResourceNotFoundException":
            return  # the table is gone: the watch says so, once, and finds its next stream
        self.warn(f"{what}, will retry: {self.health.failed(exc, now)}", shard)

    def restart_listing(self) -> None:  # after continuity.reattach
        self._listed = False
        self._next_refresh = float("-inf")

    def describe_shards(self) -> list[Mapping[str, Any]]:
        """Every shard of the stream (``DescribeStream``, all pages), parents first."""
        shards: list[Mapping[str, Any]] = []
        request: dict[str, Any] = {"StreamArn": self.config.stream_arn}
        while True:
            description = self.streams.describe_stream(**request)["StreamDescription"]
            shards.extend(description.get("Shards", []))
            last = description.get("LastEvaluatedShardId")
            if not last:
                return lineage_order(shards)
            request["ExclusiveStartShardId"] = last

    def refresh_shards(self) -> None:
        first = not self._listed  # shards open now start at the starting position
        for shard in self.describe_shards():
            shard_id = shard["ShardId"]
            if shard_id in self.workers:
                continue
            closed = bool(shard.get("SequenceNumberRange", {}).get("EndingSequenceNumber"))
            if not first:
                start = "TRIM_HORIZON"  # a shard born while we poll: read it from its start
            elif closed and self.config.starting_position == "LATEST":
                start = "LATEST"  # nothing new will ever arrive in it
            else:
                start = self.config.starting_position
            worker = ShardWorker(self, shard, start)
            self.workers[shard_id] = worker
            if first and closed and start == "LATEST" and self.checkpoints.get(shard_id) is None:
                worker._mark_drained()

    def _ready(self, worker: ShardWorker) -> bool:
        parent = self.workers.get(worker.parent_id or "")
        return parent is None or parent.drained

    # -- running ----------------------------------------------------------------------------

    def step(self) -> bool:
        """One round over the shards; True if any shard read records or invoked."""
        now = self.clock()
        if self._started_at is None:
            self._started_at = now
            self._announce()
        continuity.follow(self, now)
        if now >= self._next_refresh and self.switch is None:
            try:
                self.refresh_shards()
                self._listed = True
                self._next_refresh = now + self.shard_refresh_seconds
                self.health.ok()
            except Exception as exc:
                self._next_refresh = now + max(1.0, self.config.poll_interval)
                self.read_failed(exc, now, "DescribeStream failed")
        worked = False
        drained_before = self.stats.shards_drained
        for worker in list(self.workers.values()):
            if self._ready(worker):
                worked = worker.step(now) or worked
        if self.stats.shards_drained != drained_before:
            self._next_refresh = now  # a parent finished: its children may be listed now
        with self._stepped:
            self._stepped.notify_all()
        return worked

    def caught_up_since(self, moment: float) -> bool:
        """True once every readable shard was read empty at or after ``moment``."""
        if not self._listed:
            return False
        return all(
            worker.drained or (worker.caught_up and worker.last_empty_fetch >= moment)
            for worker in self.workers.values()
            if self._ready(worker)
        )

    def _next_wait(self) -> float:
        now = self.clock()
        due = [self._next_refresh]
        for worker in self.workers.values():
            if worker.drained:
                continue
            if worker.buffer or worker.pending_give_up is not None:
                due.append(
                    max(
                        worker.retry_at,
                        worker.reader.first_buffered_at + self.config.batching_window_seconds,
                    )
                )
            due.append(worker.reader.next_fetch_at)
        return min(max(0.0, min(due) - now), max(self.config.poll_interval, 0.01))

    def run(self, stop: threading.Event | None = None) -> PollerStats:
        """Poll until ``stop`` (or :meth:`stop`) is set; print the summary; return the counters."""
        stop_event = stop if stop is not None else self._stop
        try:
            while not stop_event.is_set() and not self._stop.is_set():
                if not self.step():
                    stop_event.wait(self._next_wait())
        except BaseException as exc:
            self.failure = exc
            raise
        finally:
            self.summary()
            with self._stepped:
                self._stepped.notify_all()
        return self.stats

    def drain(self, timeout: float = 30.0) -> PollerStats:
        """Poll in this thread until caught up (every record read and settled), or raise."""
        moment = self.clock()
        deadline = time.monotonic() + timeout
        while not self.caught_up_since(moment):
            if time.monotonic() > deadline:
                raise TimeoutError(f"the poller did not catch up within {timeout}s")
            if not self.step():
                time.sleep(self._next_wait())
        return self.stats

    def start(self) -> threading.Thread:
        """Run in a background thread (stopped by :meth:`stop`)."""
        self._stop.clear()
        self._thread = threading.Thread(target=self._run_quietly, name="poller", daemon=True)
        self._thread.start()
        return self._thread

    def _run_quietly(self) -> None:
        try:
            self.run()
        except BaseException:  # kept in self.failure for whoever waits on us
            return

    def wait_until_caught_up(self, timeout: float = 30.0) -> None:
        """Block until the background poller has read everything written before this call."""
        moment = self.clock()
        deadline = time.monotonic() + timeout
        with self._stepped:
            while not self.caught_up_since(moment):
                if self.failure is not None:
                    raise RuntimeError("the poller stopped with an error") from self.failure
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"the poller did not catch up within {timeout}s")
                self._stepped.wait(min(remaining, 0.5))

    def stop(self, timeout: float = 30.0) -> None:
        """Stop polling after the batch in flight, and wait for the background thread."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _announce(self) -> None:
        c = self.config
        self.progress.emit(
            "start",
            function=c.function_name,
            stream_arn=c.stream_arn,
            batch_size=c.batch_size,
            batching_window_seconds=c.batching_window_seconds,
            starting_position=c.starting_position,
            report_batch_item_failures=c.report_batch_item_failures,
            bisect=c.bisect_batch_on_function_error,
            maximum_retry_attempts=c.maximum_retry_attempts,
            maximum_record_age_seconds=c.maximum_record_age_seconds,
            on_failure_destination=c.on_failure_destination if self.destination else None,
        )

    def summary(self) -> dict[str, Any]:
        elapsed = self.clock() - self._started_at if self._started_at is not None else 0.0
        stats = self.stats.as_dict()
        self.progress.emit("summary", elapsed_seconds=round(elapsed, 3), stats=stats)
        return stats
