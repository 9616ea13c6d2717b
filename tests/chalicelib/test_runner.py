"""The runner and the failure contract: in order, stop at the first failing record, report
exactly that record (chalicelib.runner.invoke, chalicelib.contract)."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.changelog import ChangeLog
from chalicelib.contract import BatchResponse
from chalicelib.errors import BatchFailedError, TransientError
from chalicelib.records import Change
from chalicelib.redaction import Redactor
from chalicelib.result import Result
from chalicelib.runner import invoke
from chalicelib.sink import LineSink, make_logger
from devtools.stream_events import FakeStream
from tests.chalicelib.strategies import PROPERTY


class Handler:
    """Records the sequence numbers it handled; fails on the ones it is told to."""

    def __init__(self, fail_on: str | None = None, error: Exception | None = None) -> None:
        self.handled: list[str] = []
        self.fail_on = fail_on
        self.error = error or TransientError("SES error Throttling (HTTP 400)")

    def __call__(self, change: Change) -> None:
        if change.sequence_number == self.fail_on:
            raise self.error
        _ = change.new_image, change.old_image  # a real handler reads the images
        self.handled.append(change.sequence_number)


def process_batch(
    event: Any,
    handler: Callable[[Change], object],
    *,
    report_failures: bool,
    failures: list[dict[str, Any]] | None = None,
) -> BatchResponse:
    """Run ``handler`` (which returns nothing) through the runner; what Lambda is told is
    returned or raised, and the record_failed lines go to ``failures``."""
    out = io.StringIO()

    def handle(change: Change) -> Result:
        handler(change)
        return Result()

    ran = invoke(
        event,
        handle,
        log=ChangeLog("INFO", Redactor(())),
        sink=LineSink(make_logger("INFO", out)),
        report_failures=report_failures,
    )
    if failures is not None:
        failures += [json.loads(line) for line in out.getvalue().splitlines()]
    response, failure = ran.verdict
    if failure is not None:
        raise failure
    assert response is not None
    return response


def batch(size: int) -> dict[str, Any]:
    stream = FakeStream()
    return stream.event(stream.insert({"id": f"u{i}", "n": i}) for i in range(size))


def seqs(event: dict[str, Any]) -> list[str]:
    return [r["dynamodb"]["SequenceNumber"] for r in event["Records"]]


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


# --- the property: handled == the prefix before the failing record ---------------------------

FAULTS = ["handler", "no_body", "no_sequence", "bad_sequence", "event_name", "bad_image"]
READABLE = {"handler", "event_name", "bad_image"}


@PROPERTY
@given(
    size=st.integers(1, 12),
    data=st.data(),
    fault=st.sampled_from(FAULTS),
    report=st.booleans(),
)
def test_handled_records_are_exactly_the_prefix_before_the_failure(
    size: int, data: st.DataObject, fault: str, report: bool
) -> None:
    event = batch(size)
    in_order = seqs(event)
    position = data.draw(st.integers(0, size - 1), label="failing position")
    record = event["Records"][position]
    sequence_number, event_id = record["dynamodb"]["SequenceNumber"], record["eventID"]
    handler = Handler()
    if fault == "handler":
        handler.fail_on = sequence_number
    elif fault == "no_body":
        del record["dynamodb"]
    elif fault == "no_sequence":
        del record["dynamodb"]["SequenceNumber"]
    elif fault == "bad_sequence":
        record["dynamodb"]["SequenceNumber"] = "not-a-number"
    elif fault == "event_name":
        record["eventName"] = "TRUNCATE"
    else:
        record["dynamodb"]["NewImage"]["n"] = {"B": "***"}

    if report and fault in READABLE:
        response = process_batch(event, handler, report_failures=True)
        assert response == {"batchItemFailures": [{"itemIdentifier": sequence_number}]}
    else:
        with pytest.raises(BatchFailedError) as caught:
            process_batch(event, handler, report_failures=report)
        assert caught.value.handled == position
        assert caught.value.error.index == position
        assert caught.value.error.event_id == event_id
        assert event_id in str(caught.value)
        if fault in READABLE:
            assert caught.value.error.sequence_number == sequence_number
            assert sequence_number in str(caught.value)
        else:
            assert caught.value.error.sequence_number is None

    assert handler.handled == in_order[:position]


def test_a_handler_error_quoting_an_address_is_reported_without_it():
    stream = FakeStream()
    event = stream.event([stream.insert({"id": "u1"})])

    def fail(change):
        raise RuntimeError("SES said: ann@example.com is not verified")

    with pytest.raises(BatchFailedError) as caught:
        process_batch(event, fail, report_failures=False)
    assert "ann@example.com" not in str(caught.value)
    assert "<email>" in str(caught.value)


# --- what an invocation did, counted in one place ---------------------------------------------


def test_the_outcomes_of_an_invocation_are_counted_over_the_batch() -> None:
    from chalicelib.keys import KeySchema
    from chalicelib.ports import NoLedger
    from chalicelib.reactions import UserReactions
    from tests.chalicelib.conftest import SENDER, RecordingSender

    stream = FakeStream()
    ada = {"id": "u1", "email": "ada@example.com"}
    records = [
        stream.insert(ada),
        stream.insert({"id": "u2"}),  # no address: skipped
        stream.insert({"id": "u3", "email": "not an address"}),  # rejected
        stream.modify(ada, {**ada, "n": 1}),
        stream.remove(ada),
        stream.insert({"id": "u4", "email": "bob@example.com"}),
    ]
    records[-1]["dynamodb"]["Keys"] = {"pk": {"S": "u4"}}  # not the key schema: fails
    records[0]["dynamodb"]["ApproximateCreationDateTime"] = 1_600_000_000
    log = ChangeLog("INFO", Redactor(()))
    reactions = UserReactions(log, RecordingSender(), NoLedger(), SENDER, KeySchema.parse("id:S"))
    out = io.StringIO()

    ran = invoke(
        stream.event(records),
        reactions.handle,
        log=log,
        sink=LineSink(make_logger("INFO", out)),
        report_failures=True,
        concurrency=4,
    )

    outcomes = ran.outcomes
    assert outcomes.records == {"INSERT": 3, "MODIFY": 1, "REMOVE": 1}
    assert outcomes.reactions == {"email_sent": 1, "email_skipped": 1, "email_rejected": 1}
    assert (outcomes.failed, outcomes.reported, outcomes.claims_lost) == (1, 1, 0)
    assert outcomes.oldest_created is not None
    assert outcomes.oldest_created.timestamp() == 1_600_000_000
    assert outcomes.duration > 0
    assert ran.verdict.response == {
        "batchItemFailures": [{"itemIdentifier": seqs(stream.event(records))[-1]}]
    }


def test_a_claim_held_by_another_invocation_is_counted_as_lost() -> None:
    from chalicelib.errors import ClaimHeldError
    from chalicelib.keys import KeySchema
    from chalicelib.reactions import UserReactions
    from tests.chalicelib.conftest import SENDER, RecordingSender

    class Held:
        def once(self, key: str, action: Callable[[], str]) -> str | None:
            raise ClaimHeldError("another invocation holds this side effect's claim")

    stream = FakeStream()
    log = ChangeLog("INFO", Redactor(()))
    reactions = UserReactions(log, RecordingSender(), Held(), SENDER, KeySchema.parse("id:S"))
    event = stream.event([stream.insert({"id": "u1", "email": "ada@example.com"})])

    ran = invoke(
        event,
        reactions.handle,
        log=log,
        sink=LineSink(make_logger("INFO", io.StringIO())),
        report_failures=False,
    )

    assert (ran.outcomes.failed, ran.outcomes.reported, ran.outcomes.claims_lost) == (1, 0, 1)
    assert ran.verdict.failure is not None
