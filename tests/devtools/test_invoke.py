"""How the handler's response is read, as Lambda reads it: failures reported without
``ReportBatchItemFailures``, an invalid item identifier, a timeout."""

from __future__ import annotations

import time

from tests.devtools.conftest import Recorder
from tests.devtools.conftest import item_failures as _failures


def test_failures_reported_without_report_batch_item_failures_are_ignored_loudly(
    table, make_poller
):
    table.put_many(3)
    recorder = Recorder(
        lambda event, context: _failures(event["Records"][1]["dynamodb"]["SequenceNumber"])
    )
    poller = make_poller(recorder, report_batch_item_failures=False)
    poller.drain()
    assert len(recorder.events) == 1  # as on AWS: a success, never retried
    assert poller.stats.ignored_failure_reports == 1
    [warning] = poller.progress.of_kind("warning")
    assert "ReportBatchItemFailures" in warning["message"]
    assert "NOT retry" in warning["message"]


def test_an_invalid_item_identifier_fails_the_whole_batch(table, make_poller):
    ids = table.put_many(2)
    responses = iter([_failures(""), None])
    recorder = Recorder(lambda event, context: next(responses))
    poller = make_poller(recorder, report_batch_item_failures=True)
    poller.drain()
    assert recorder.batches == [ids, ids]
    assert poller.stats.function_errors == 1


def test_a_timeout_counts_as_a_function_error(table, make_poller):
    ids = table.put_many(1)

    def slow_once(event, context):
        if len(recorder.events) == 1:
            time.sleep(0.06)
        return None

    recorder = Recorder(slow_once)
    poller = make_poller(recorder, timeout_seconds=0.05)
    poller.drain()
    assert recorder.batches == [ids, ids]
    errors = [b["error"] for b in poller.progress.of_kind("batch") if b["error"]]
    assert errors
    assert errors[0].startswith("Task timed out")
