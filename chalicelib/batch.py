"""Process a batch of stream records in order, stopping at the first failure.

The contract with Lambda's event source mapping:

* records are handled strictly in order; at the first record that fails, processing stops;
* with ``report_failures`` (only where the mapping enables ``ReportBatchItemFailures``) the
  response names that record's sequence number, so Lambda checkpoints before it and retries
  from it; otherwise :class:`~chalicelib.errors.BatchFailedError` is raised so Lambda retries
  the whole batch;
* a record whose sequence number cannot be read cannot be reported, so the batch is failed
  whole by raising, whatever ``report_failures`` says;
* a clean batch returns ``{"batchItemFailures": []}``.

Nothing here knows about users or AWS: ``handle`` does the work for one change.

Slow work at the same time (``concurrency`` > 1): ``handle`` may return a :class:`Deferred`
instead of doing its slow part (a network call) itself. Handling goes on with the next
records while up to ``concurrency`` deferred runs are in flight on worker threads; each
record is then *finished* in order, on the batch's thread. What a record writes through
:class:`InOrder` goes out only once every record before it has finished, so the output is
exactly what handling the batch one record at a time would give. The failure reported is
the earliest failed record, as above; records after it are not reported as handled, and
what they wrote is dropped: their deferred work may have run (it must be safe to do again,
as a welcome email is through the ledger), and Lambda delivers them again. Deferred work
with the same ``key`` never runs at the same time: the later waits for the earlier.
With ``concurrency`` 1, deferred work runs at once, in order, as if ``handle`` had done it.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, NamedTuple, TypedDict

from chalicelib.errors import BatchFailedError, RecordError
from chalicelib.records import Change
from chalicelib.redaction import scrub_text

if TYPE_CHECKING:
    from concurrent.futures import Future, ThreadPoolExecutor

__all__ = ["BatchResponse", "Deferred", "InOrder", "process_batch", "records_of"]


class BatchItemFailure(TypedDict):
    itemIdentifier: str


class BatchResponse(TypedDict, total=False):
    batchItemFailures: list[BatchItemFailure]  # always there
    state: dict[str, Any]  # only for a tumbling-window event (chalicelib.service)


class Deferred(NamedTuple):
    """The slow part of a record's work, returned by a handler instead of done by it.

    ``run`` is called on a worker thread, at the same time as other records' runs; ``finish``
    is given what ``run`` returned, on the batch's thread, in record order. Either may raise
    to fail the record.
    """

    run: Callable[[], Any]
    finish: Callable[[Any], object]
    key: str | None = None  # deferred work with the same key never runs at the same time


ChangeHandler = Callable[[Change], object]  # a Deferred result is run as above
FailureListener = Callable[[RecordError], object]


class InOrder:
    """Side effects of a batch's records (log lines), released in record order.

    :func:`process_batch` says which record is running (:meth:`now`) and which have finished;
    :meth:`write` performs an action at once when every earlier record has finished, and
    otherwise holds it until they have, or drops it if one of them fails.
    """

    def __init__(self) -> None:
        self._head = 0  # the first record that has not finished
        self._now = 0  # the record whose code is running
        self._held: dict[int, list[Callable[[], object]]] = {}

    def write(self, action: Callable[[], object]) -> None:
        if self._now == self._head:
            action()
        else:
            self._held.setdefault(self._now, []).append(action)

    def now(self, index: int) -> None:
        self._now = index

    def finished(self, index: int) -> None:
        """Record ``index`` has finished, and so has every record before it."""
        self._head = index + 1
        for action in self._held.pop(self._head, ()):
            action()

    def drop(self) -> None:
        """Forget what is held: it belongs to records after a failed one."""
        self._held.clear()


class _Waiting(NamedTuple):
    """A handled record that has not finished: its deferred work, if any, in flight."""

    position: int
    change: Change
    work: Deferred | None
    future: Future[Any] | None


def records_of(event: Any) -> list[Any]:
    """The ``Records`` list of a Lambda stream event, or a :class:`RecordError` naming why not."""
    records = event.get("Records") if isinstance(event, Mapping) else None
    if type(records) is not list:
        raise RecordError("event is not a DynamoDB stream event", index=0, field="Records")
    return records


def _record_error(exc: Exception, index: int, change: Change | None) -> RecordError:
    if isinstance(exc, RecordError):
        return exc
    # The handler's own failure: wrap it, keep the cause chained. Change() raises only
    # RecordError; were it ever not to, the record has no sequence number to report and the
    # whole batch fails, still with the documented error.
    error = RecordError(
        f"{type(exc).__name__}: {scrub_text(str(exc))}",
        index=index,
        sequence_number=None if change is None else change.sequence_number,
        event_id=None if change is None else change.event_id,
    )
    error.__cause__ = exc
    return error


def process_batch(
    event: Any,
    handle: ChangeHandler,
    *,
    report_failures: bool,
    on_failure: FailureListener | None = None,
    concurrency: int = 1,
    output: InOrder | None = None,
) -> BatchResponse:
    """Run ``handle`` on each record of ``event`` in order; see the module docstring."""
    try:
        records = records_of(event)
    except RecordError as not_a_stream:  # fails like a record with no sequence number
        if on_failure is not None:
            on_failure(not_a_stream)
        raise BatchFailedError(not_a_stream, handled=0) from not_a_stream
    order = output if output is not None else InOrder()
    runner = _Runner(order, concurrency)
    try:
        error = runner.run(records, handle)
    finally:
        runner.close()
    if error is None:
        return {"batchItemFailures": []}
    order.now(error.index)
    if on_failure is not None:
        on_failure(error)
    if report_failures and error.sequence_number is not None:
        return {"batchItemFailures": [{"itemIdentifier": error.sequence_number}]}
    raise BatchFailedError(error, handled=error.index) from error


class _Runner:
    """One batch: handles records in order, runs deferred work, finishes records in order."""

    def __init__(self, order: InOrder, concurrency: int) -> None:
        self.order = order
        self.concurrency = concurrency
        self.pool: ThreadPoolExecutor | None = None
        self.waiting: deque[_Waiting] = deque()  # handled, not finished; oldest first
        self.running: set[Future[Any]] = set()  # started, not seen done
        self.run_failed = False  # a run raised: start nothing more, find the earliest failure
        self.by_key: dict[str, Future[Any]] = {}

    def run(self, records: list[Any], handle: ChangeHandler) -> RecordError | None:
        """Handle and finish the records; the earliest failure, or ``None``."""
        order = self.order
        for index, raw in enumerate(records):
            order.now(index)
            change: Change | None = None
            try:
                change = Change(raw, index)
                result = handle(change)
                if type(result) is Deferred and self.concurrency <= 1:
                    result.finish(result.run())
                    result = None
            except Exception as exc:
                # Records before this one may still be in flight, and fail: the earliest wins.
                return self.settle(block=True) or _record_error(exc, index, change)
            if type(result) is Deferred:
                self.start(index, change, result)
            elif self.waiting:
                self.waiting.append(_Waiting(index, change, None, None))
            else:
                order.finished(index)  # nothing in flight: the common, serial case
                continue
            failed = self.settle(block=self.failing())
            if failed is not None:
                return failed
        return self.settle(block=True)

    def start(self, index: int, change: Change, work: Deferred) -> None:
        if self.pool is None:
            from concurrent.futures import ThreadPoolExecutor  # only batches that defer work

            self.pool = ThreadPoolExecutor(self.concurrency, thread_name_prefix="deferred")
        earlier = self.by_key.get(work.key) if work.key is not None else None
        if earlier is not None:
            _wait([earlier])  # the same key: not at the same time, the earlier first
        while len(self.running) >= self.concurrency:
            self.harvest(_wait(self.running, first=True))
        future = self.pool.submit(work.run)
        self.running.add(future)
        if work.key is not None:
            self.by_key[work.key] = future
        self.waiting.append(_Waiting(index, change, work, future))

    def harvest(self, done: set[Future[Any]]) -> None:
        self.running -= done
        self.run_failed = self.run_failed or any(f.exception() is not None for f in done)

    def failing(self) -> bool:
        """Whether deferred work already failed: then nothing more should be started."""
        self.harvest({f for f in self.running if f.done()})
        return self.run_failed

    def settle(self, *, block: bool) -> RecordError | None:
        """Finish waiting records in order, as far as their work is done (or all, blocking)."""
        order, waiting = self.order, self.waiting
        while waiting:
            position, change, work, future = waiting[0]
            if future is not None and not (block or future.done()):
                return None
            waiting.popleft()
            order.now(position)
            if work is not None and future is not None:
                self.running.discard(future)
                try:
                    work.finish(future.result())
                except Exception as exc:
                    order.drop()  # what later records wrote: they will be delivered again
                    return _record_error(exc, position, change)
            order.finished(position)
        return None

    def close(self) -> None:
        """Wait for every run still in flight: nothing may run once the batch has returned."""
        self.waiting.clear()
        if self.pool is not None:
            self.pool.shutdown(wait=True)


def _wait(futures: Any, *, first: bool = False) -> set[Future[Any]]:
    from concurrent.futures import ALL_COMPLETED, FIRST_COMPLETED, wait

    done, _ = wait(futures, return_when=FIRST_COMPLETED if first else ALL_COMPLETED)
    return done
