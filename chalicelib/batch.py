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
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypedDict

from chalicelib.errors import BatchFailedError, RecordError
from chalicelib.records import Change
from chalicelib.redaction import scrub_text

__all__ = ["BatchResponse", "process_batch", "records_of"]


class BatchItemFailure(TypedDict):
    itemIdentifier: str


class BatchResponse(TypedDict):
    batchItemFailures: list[BatchItemFailure]


ChangeHandler = Callable[[Change], object]
FailureListener = Callable[[RecordError], object]


def records_of(event: Any) -> list[Any]:
    """The ``Records`` list of a Lambda stream event, or a :class:`RecordError` naming why not."""
    records = event.get("Records") if isinstance(event, Mapping) else None
    if type(records) is not list:
        raise RecordError("event is not a DynamoDB stream event", index=0, field="Records")
    return records


def process_batch(
    event: Any,
    handle: ChangeHandler,
    *,
    report_failures: bool,
    on_failure: FailureListener | None = None,
) -> BatchResponse:
    """Run ``handle`` on each record of ``event`` in order; see the module docstring."""
    try:
        records = records_of(event)
    except RecordError as not_a_stream:  # fails like a record with no sequence number
        if on_failure is not None:
            on_failure(not_a_stream)
        raise BatchFailedError(not_a_stream, handled=0) from not_a_stream
    for index, raw in enumerate(records):
        change: Change | None = None
        try:
            change = Change(raw, index)
            handle(change)
        except RecordError as exc:
            error = exc
        except Exception as exc:  # the handler's own failure: wrap it, keep the cause chained
            # Change() raises only RecordError; were it ever not to, the record has no sequence
            # number to report and the whole batch fails, still with the documented error.
            error = RecordError(
                f"{type(exc).__name__}: {scrub_text(str(exc))}",
                index=index,
                sequence_number=None if change is None else change.sequence_number,
                event_id=None if change is None else change.event_id,
            )
            error.__cause__ = exc
        else:
            continue
        if on_failure is not None:
            on_failure(error)
        if report_failures and error.sequence_number is not None:
            return {"batchItemFailures": [{"itemIdentifier": error.sequence_number}]}
        raise BatchFailedError(error, handled=index) from error
    return {"batchItemFailures": []}
