"""The runner and the failure contract, by example (chalicelib.runner.invoke,
chalicelib.contract): records are handled in order, the batch stops at the first failing
record and reports exactly that record (or raises an error naming it and its cause, without
any address it quotes), and what cannot be reported always raises."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.errors import BatchFailedError, TransientError
from devtools.stream_events import FakeStream
from tests.chalicelib.runner_support import Handler, batch, process_batch, seqs


@pytest.mark.parametrize("report", [True, False])
def test_a_clean_batch_handles_every_record_in_order(report: bool) -> None:
    event = batch(5)
    handler = Handler()

    response = process_batch(event, handler, report_failures=report)

    assert response == {"batchItemFailures": []}
    assert handler.handled == seqs(event)


@pytest.mark.parametrize("report", [True, False])
def test_an_empty_batch_is_clean(report: bool) -> None:
    assert process_batch({"Records": []}, Handler(), report_failures=report) == {
        "batchItemFailures": []
    }


def test_reporting_names_exactly_the_first_failing_record() -> None:
    event = batch(5)
    handler = Handler(fail_on=seqs(event)[2])

    response = process_batch(event, handler, report_failures=True)

    assert response == {"batchItemFailures": [{"itemIdentifier": seqs(event)[2]}]}
    assert handler.handled == seqs(event)[:2]


def test_without_reporting_the_error_names_the_record_and_the_cause() -> None:
    event = batch(5)
    failing = event["Records"][3]
    cause = TransientError("SES error Throttling (HTTP 400)")
    handler = Handler(fail_on=failing["dynamodb"]["SequenceNumber"], error=cause)

    with pytest.raises(BatchFailedError) as caught:
        process_batch(event, handler, report_failures=False)

    error = caught.value
    assert handler.handled == seqs(event)[:3]
    assert error.handled == 3
    assert error.error.index == 3
    assert error.error.sequence_number == failing["dynamodb"]["SequenceNumber"]
    assert error.error.event_id == failing["eventID"]
    assert error.error.__cause__ is cause
    message = str(error)
    assert failing["dynamodb"]["SequenceNumber"] in message
    assert failing["eventID"] in message
    assert "TransientError: SES error Throttling" in message


@pytest.mark.parametrize("report", [True, False])
def test_a_record_without_a_readable_sequence_number_always_raises(report: bool) -> None:
    event = batch(4)
    in_order = seqs(event)
    del event["Records"][1]["dynamodb"]["SequenceNumber"]
    handler = Handler()

    with pytest.raises(BatchFailedError) as caught:
        process_batch(event, handler, report_failures=report)

    assert handler.handled == in_order[:1]
    assert caught.value.error.field == "dynamodb.SequenceNumber"
    assert caught.value.error.index == 1
    assert caught.value.error.event_id == event["Records"][1]["eventID"]


@pytest.mark.parametrize("report", [True, False])
def test_a_record_without_a_body_always_raises(report: bool) -> None:
    event = batch(3)
    del event["Records"][2]["dynamodb"]
    handler = Handler()

    with pytest.raises(BatchFailedError) as caught:
        process_batch(event, handler, report_failures=report)

    assert caught.value.error.field == "dynamodb"
    assert len(handler.handled) == 2


def test_a_malformed_record_with_a_sequence_number_is_reported() -> None:
    event = batch(3)
    event["Records"][1]["eventName"] = "UPSERT"
    handler = Handler()

    response = process_batch(event, handler, report_failures=True)

    assert response == {"batchItemFailures": [{"itemIdentifier": seqs(event)[1]}]}
    assert handler.handled == seqs(event)[:1]


def test_a_bad_image_fails_its_record_when_the_handler_reads_it() -> None:
    event = batch(3)
    event["Records"][1]["dynamodb"]["NewImage"]["n"] = {"N": "ten"}
    handler = Handler()

    with pytest.raises(BatchFailedError) as caught:
        process_batch(event, handler, report_failures=False)

    assert caught.value.error.field == "dynamodb.NewImage.n"
    assert "field dynamodb.NewImage.n" in str(caught.value)
    assert handler.handled == seqs(event)[:1]


@pytest.mark.parametrize(
    "event",
    [None, {}, {"Records": None}, {"Records": {"0": {}}}, [], "Records", {"records": []}],
    ids=["none", "empty", "null-records", "map-records", "list", "text", "lowercase"],
)
@pytest.mark.parametrize("report", [True, False])
def test_something_that_is_not_a_stream_event_raises(event: Any, report: bool) -> None:
    failures: list[dict[str, Any]] = []

    with pytest.raises(BatchFailedError) as caught:
        process_batch(event, Handler(), report_failures=report, failures=failures)

    assert caught.value.error.field == "Records"
    assert caught.value.handled == 0
    assert [(f["message"], f["field"], f["reported"]) for f in failures] == [
        ("record_failed", "Records", False)
    ]


def test_the_failing_record_only_gets_a_record_failed_line() -> None:
    event = batch(4)
    failures: list[dict[str, Any]] = []

    process_batch(event, Handler(), report_failures=True, failures=failures)
    assert failures == []

    process_batch(event, Handler(fail_on=seqs(event)[0]), report_failures=True, failures=failures)
    assert [(f["sequence_number"], f["reported"]) for f in failures] == [(seqs(event)[0], True)]


def test_a_handler_error_quoting_an_address_is_reported_without_it():
    stream = FakeStream()
    event = stream.event([stream.insert({"id": "u1"})])

    def fail(change):
        raise RuntimeError("SES said: ann@example.com is not verified")

    with pytest.raises(BatchFailedError) as caught:
        process_batch(event, fail, report_failures=False)
    assert "ann@example.com" not in str(caught.value)
    assert "<email>" in str(caught.value)
