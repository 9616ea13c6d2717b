"""The runner's failure contract as a property: whatever fails, wherever in the batch, the
records handled are exactly the prefix before the failing one, and what Lambda is told names
that record."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.errors import BatchFailedError
from tests.chalicelib.runner_support import Handler, batch, process_batch, seqs
from tests.chalicelib.strategies import PROPERTY

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
