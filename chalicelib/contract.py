"""The contract with Lambda's event source mapping: what Lambda is told about a batch.

* records are handled strictly in order; at the first record that fails, processing stops;
* with ``report_failures`` (only where the mapping enables ``ReportBatchItemFailures``) the
  response names that record's sequence number, so Lambda checkpoints before it and retries
  from it; otherwise :class:`~chalicelib.errors.BatchFailedError` is raised so Lambda retries
  the whole batch;
* a record whose sequence number cannot be read cannot be reported, so the batch is failed
  whole by raising, whatever ``report_failures`` says; so is an event that is not a stream
  event at all;
* a clean batch returns ``{"batchItemFailures": []}``.

Nothing here runs anything: :func:`verdict` turns the first failure (or none) into the answer.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple, TypedDict

from chalicelib.errors import BatchFailedError, RecordError
from chalicelib.redaction import scrub_text

__all__ = ["BatchResponse", "Verdict", "record_error", "records_of", "reportable", "verdict"]


class BatchItemFailure(TypedDict):
    itemIdentifier: str


class BatchResponse(TypedDict, total=False):
    batchItemFailures: list[BatchItemFailure]  # always there
    state: dict[str, Any]  # only for a tumbling-window event (chalicelib.service)


class Verdict(NamedTuple):
    """What Lambda is told: ``response`` is returned, or else ``failure`` is raised."""

    response: BatchResponse | None
    failure: BatchFailedError | None


def records_of(event: Any) -> list[Any]:
    """The ``Records`` list of a Lambda stream event, or a :class:`RecordError` naming why not."""
    records = event.get("Records") if isinstance(event, Mapping) else None
    if type(records) is not list:
        raise RecordError("event is not a DynamoDB stream event", index=0, field="Records")
    return records


def record_error(
    exc: Exception, index: int, sequence_number: str | None, event_id: str | None
) -> RecordError:
    """``exc``, raised while handling record ``index``, as the :class:`RecordError` that
    names the record; a handler's own error is wrapped (its cause chained, its text scrubbed)."""
    if isinstance(exc, RecordError):
        return exc
    error = RecordError(
        f"{type(exc).__name__}: {scrub_text(str(exc))}",
        index=index,
        sequence_number=sequence_number,
        event_id=event_id,
    )
    error.__cause__ = exc
    return error


def reportable(error: RecordError, report_failures: bool) -> bool:
    """Whether ``error``'s record is named in the response (rather than the batch raised)."""
    return report_failures and error.sequence_number is not None


def verdict(error: RecordError | None, report_failures: bool) -> Verdict:
    """What Lambda is told when ``error`` is the first failing record (``None``: clean)."""
    if error is None:
        return Verdict({"batchItemFailures": []}, None)
    if reportable(error, report_failures):
        assert error.sequence_number is not None
        return Verdict({"batchItemFailures": [{"itemIdentifier": error.sequence_number}]}, None)
    failure = BatchFailedError(error, handled=error.index)
    failure.__cause__ = error
    return Verdict(None, failure)
