"""An event source mapping for a DynamoDB stream, run locally: reads shards, invokes a handler.

One :class:`Poller` is one mapping (one stream, one function). It reads every shard of the
stream with boto3 (``DescribeStream``, ``GetShardIterator``, ``GetRecords``), a child shard only
once its parent is drained (:mod:`~devtools.pipeline.lineage`), and invokes the handler with
Lambda-shaped batches, one batch at a time per shard, in stream order. Per shard, a
:class:`~devtools.pipeline.reader.ShardReader` reads the records into a buffer (expired
iterators are renewed after the last record read; a **trimmed** position restarts at the
oldest record still held and is reported as a loss), and a
:class:`~devtools.pipeline.worker.ShardWorker` decides what happens to them: batch, invoke,
retry, bisect, give up (its docstring lists the semantics).

Checkpoints go to an injected :class:`~devtools.pipeline.checkpoints.CheckpointStore`, so a
poller built on the same store resumes where the last one stopped. ``run`` polls until
stopped; ``step`` does one round and ``drain`` rounds until caught up (for tests and tools).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from chalicelib.clients import error_code
from devtools.pipeline import continuity
from devtools.pipeline.checkpoints import CheckpointStore, MemoryCheckpoints
from devtools.pipeline.destination import Destination
from devtools.pipeline.events import lambda_record
from devtools.pipeline.lineage import is_closed, list_shards
from devtools.pipeline.mapping import Handler, MappingConfig
from devtools.pipeline.progress import PollerStats, Progress
from devtools.pipeline.worker import ShardWorker
from devtools.stopping import StopRequest

__all__ = ["Poller"]

RecordTransform = Callable[[dict[str, Any]], dict[str, Any]]


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

    def refresh_shards(self) -> None:
        first = not self._listed  # shards open now start at the starting position
        for shard in list_shards(self.streams, self.config.stream_arn):
            shard_id = shard["ShardId"]
            if shard_id in self.workers:
                continue
            # A shard born while we poll is read from its start.
            start = self.config.starting_position if first else "TRIM_HORIZON"
            worker = ShardWorker(self, shard, start)
            self.workers[shard_id] = worker
            # Closed and read from LATEST: nothing will ever arrive in it.
            drained = first and is_closed(shard) and start == "LATEST"
            if drained and self.checkpoints.get(shard_id) is None:
                worker.mark_drained()

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
            worker.drained or (worker.caught_up and worker.reader.last_empty_fetch >= moment)
            for worker in self.workers.values()
            if self._ready(worker)
        )

    def _next_wait(self) -> float:
        now = self.clock()
        due = [self._next_refresh]
        for worker in self.workers.values():
            if worker.drained:
                continue
            if worker.reader.buffer or worker.pending_give_up is not None:
                due.append(
                    max(
                        worker.retry_at,
                        worker.reader.first_buffered_at + self.config.batching_window_seconds,
                    )
                )
            due.append(worker.reader.next_fetch_at)
        return min(max(0.0, min(due) - now), max(self.config.poll_interval, 0.01))

    def run(self, stop: StopRequest | None = None) -> PollerStats:
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
