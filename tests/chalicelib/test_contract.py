"""The failure contract alone: what Lambda is told for a first failure, or for none."""

from __future__ import annotations

import pytest

from chalicelib.contract import record_error, records_of, verdict
from chalicelib.errors import BatchFailedError, RecordError


def failed(sequence_number: str | None, index: int = 2) -> RecordError:
    return RecordError("broken", index=index, sequence_number=sequence_number, event_id="e")


@pytest.mark.parametrize("report", [True, False])
def test_a_clean_batch(report: bool) -> None:
    assert verdict(None, report) == ({"batchItemFailures": []}, None)


def test_reporting_names_the_first_failure() -> None:
    assert verdict(failed("111"), True) == (
        {"batchItemFailures": [{"itemIdentifier": "111"}]},
        None,
    )


@pytest.mark.parametrize(("report", "seq"), [(False, "111"), (True, None), (False, None)])
def test_otherwise_the_batch_fails_whole(report: bool, seq: str | None) -> None:
    error = failed(seq)
    response, failure = verdict(error, report)
    assert response is None
    assert isinstance(failure, BatchFailedError)
    assert failure.error is error
    assert failure.handled == 2
    assert failure.__cause__ is error


def test_a_handlers_error_is_named_and_scrubbed() -> None:
    cause = RuntimeError("SES said ann@example.com")
    error = record_error(cause, 3, "42", "e-3")
    assert (error.index, error.sequence_number, error.event_id) == (3, "42", "e-3")
    assert "ann@example.com" not in error.cause
    assert error.__cause__ is cause
    assert record_error(error, 9, None, None) is error


@pytest.mark.parametrize("event", [None, {}, {"Records": {}}, []])
def test_not_a_stream_event(event: object) -> None:
    with pytest.raises(RecordError, match="not a DynamoDB stream event"):
        records_of(event)
