"""One invocation: every record handled in order, its lines written in order, counted.

:func:`invoke` is the path of a batch. Each record becomes a :class:`~chalicelib.records.
Change`, is handed to ``handle`` (:meth:`chalicelib.reactions.UserReactions.handle`), and
gives back a :class:`~chalicelib.result.Result`. The runner owns the output: it writes each
result's lines, runs its slow work (up to ``concurrency`` records' at once, through
:class:`~chalicelib.inorder.InOrder`) and writes what came of it - in record order, so the log
reads exactly as if the batch had been handled one record at a time. At the first failure it
stops, and :mod:`chalicelib.contract` says what Lambda is told; records after the failed one
are not reported as handled and what they produced is dropped (their slow work may have run:
it must be safe to do again, as a welcome email is through the ledger; Lambda delivers them
again).

What the invocation did is counted in one place, :class:`Outcomes`, which :func:`invoke`
returns with the verdict.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any, NamedTuple

from chalicelib.changelog import ChangeLog
from chalicelib.contract import Verdict, record_error, records_of, reportable, verdict
from chalicelib.errors import ClaimHeldError, RecordError
from chalicelib.records import Change
from chalicelib.result import Result
from chalicelib.sink import LineSink

if TYPE_CHECKING:
    from concurrent.futures import Future

    from chalicelib.inorder import InOrder

__all__ = ["Invocation", "Outcomes", "invoke"]

Handle = Callable[[Change], Result]


class Outcomes:
    """What one invocation did, aggregated over its batch: the one place it is counted.

    ``records``: handled records by event name (``ttl_expiries``: how many of the removals were
    Time to Live's); ``failed``: 1 when a record failed (the batch stops there), ``reported``:
    1 when Lambda was told which (``batchItemFailures``) rather than the batch failed whole;
    ``reactions``: what the reactions did (``email_sent``, ``email_skipped``,
    ``email_rejected``, ``email_duplicate``); ``claims_lost``: records that failed because
    another invocation held their ledger claim; ``oldest_created``: the oldest
    ``ApproximateCreationDateTime`` handled; ``duration``: seconds in :func:`invoke`.
    """

    __slots__ = (
        "claims_lost",
        "duration",
        "failed",
        "oldest_created",
        "reactions",
        "records",
        "reported",
        "ttl_expiries",
    )

    def __init__(self) -> None:
        self.records: dict[str, int] = {}
        self.ttl_expiries = 0
        self.failed = 0
        self.reported = 0
        self.reactions: dict[str, int] = {}
        self.claims_lost = 0
        self.oldest_created: datetime | None = None
        self.duration = 0.0

    def handled(self, change: Change, outcome: str | None, later: str | None = None) -> None:
        """``change`` was handled; its reaction's ``outcome``, and its slow work's (``later``)."""
        records, name = self.records, change.event_name
        records[name] = records.get(name, 0) + 1
        self.ttl_expiries += change.is_ttl_expiry
        if outcome is not None:
            self.reactions[outcome] = self.reactions.get(outcome, 0) + 1
        if later is not None:
            self.reactions[later] = self.reactions.get(later, 0) + 1
        created = change.approximate_creation_time
        if created is not None and (self.oldest_created is None or created < self.oldest_created):
            self.oldest_created = created

    def failure(self, error: RecordError, reported: bool) -> None:
        self.failed = 1
        self.reported = int(reported)
        self.claims_lost += isinstance(error.__cause__, ClaimHeldError)


class Invocation(NamedTuple):
    verdict: Verdict  # what Lambda is told
    outcomes: Outcomes  # what the invocation did


def invoke(
    event: Any,
    handle: Handle,
    *,
    log: ChangeLog,
    sink: LineSink,
    report_failures: bool,
    concurrency: int = 1,
) -> Invocation:
    """Handle ``event``'s records in order (see the module docstring)."""
    started = time.perf_counter()
    outcomes = Outcomes()
    error: RecordError | None
    try:
        records = records_of(event)
    except RecordError as not_a_stream:  # fails like a record with no sequence number
        error = not_a_stream
    else:
        error = _Batch(handle, sink, outcomes, concurrency).run(records)
    if error is not None:
        reported = reportable(error, report_failures)
        failed = log.event(
            logging.ERROR,
            "record_failed",
            sequence_number=error.sequence_number,
            event_id=error.event_id,
            index=error.index,
            field=error.field,
            cause=error.cause,
            reported=reported,
        )
        sink.write(failed)
        outcomes.failure(error, reported)
    outcomes.duration = time.perf_counter() - started
    return Invocation(verdict(error, report_failures), outcomes)


class _Entry:
    """A record waiting its turn: its result, and whether its lines are out already (they go
    out as soon as it is the oldest record not finished, before its slow work is done)."""

    __slots__ = ("change", "result", "written")

    def __init__(self, change: Change, result: Result, *, written: bool = False) -> None:
        self.change = change
        self.result = result
        self.written = written


class _Batch:
    """One batch's records: handled in order, finished (lines written) in order."""

    def __init__(self, handle: Handle, sink: LineSink, outcomes: Outcomes, limit: int) -> None:
        self.handle = handle
        self.write = sink.write
        self.outcomes = outcomes
        self.at_once = limit > 1
        self.limit = limit
        self._pending: InOrder[_Entry] | None = None  # made for the first record that needs it

    def run(self, records: list[Any]) -> RecordError | None:
        """The earliest failure, or ``None``; every record before it finished."""
        try:
            return self._run(records)
        finally:
            if self._pending is not None:
                self._pending.close()

    @property
    def pending(self) -> InOrder[_Entry]:
        if self._pending is None:
            from chalicelib.inorder import InOrder  # only batches with slow work or failures

            self._pending = InOrder(self.limit)
        return self._pending

    def _run(self, records: list[Any]) -> RecordError | None:
        handle, write, handled = self.handle, self.write, self.outcomes.handled
        for index, raw in enumerate(records):
            change: Change | None = None
            try:
                change = Change(raw, index)
                result = handle(change)
            except Exception as exc:
                # Records before this one may still be in flight, and fail: the earliest wins.
                return self.settle(block=True) or _error(exc, index, change)
            slow = result.slow
            if result.error is None and not self._pending:
                if slow is None:
                    write(result.lines)  # the common case: nothing in flight, nothing to run
                    handled(change, result.outcome)
                    continue
                if not self.at_once:  # one at a time: the slow work now, on this thread
                    write(result.lines)
                    failed = self.finish(_Entry(change, result, written=True), None)
                    if failed is not None:
                        return failed
                    continue
            work = slow.run if slow is not None and self.at_once else None
            entry = _Entry(change, result)
            if not self._pending:  # the oldest record not finished: its lines go out now
                write(result.lines)
                entry.written = True
            pending = self.pending
            pending.add(entry, work, None if slow is None else slow.key)
            failed = self.settle(block=pending.failing())
            if failed is not None:
                return failed
        return self.settle(block=True)

    def settle(self, *, block: bool) -> RecordError | None:
        """Finish the pending records in order, as far as their work is done (or all)."""
        pending = self._pending
        if pending is None:
            return None
        for entry, future in pending.take(block=block):
            failed = self.finish(entry, future)
            if failed is not None:
                return failed
        head = pending.oldest()
        if head is not None and not head.written:  # every record before it has finished
            self.write(head.result.lines)
            head.written = True
        return None

    def finish(self, entry: _Entry, future: Future[Any] | None) -> RecordError | None:
        """Write the record's lines (if not out yet); run or collect its slow work and write
        what came of it."""
        change, result = entry.change, entry.result
        if not entry.written:
            self.write(result.lines)
        outcome: str | None = None
        try:
            if result.error is not None:
                raise result.error
            slow = result.slow
            if slow is not None:
                after = slow.then(slow.run() if future is None else future.result())
                self.write(after.lines)
                outcome = after.outcome
        except Exception as exc:
            return _error(exc, change.index, change)
        self.outcomes.handled(change, result.outcome, outcome)
        return None


def _error(exc: Exception, index: int, change: Change | None) -> RecordError:
    # Change() raises only RecordError; were it ever not to, the record has no sequence
    # number to report and the whole batch fails, still with the documented error.
    if change is None:
        return record_error(exc, index, None, None)
    return record_error(exc, index, change.sequence_number, change.event_id)
