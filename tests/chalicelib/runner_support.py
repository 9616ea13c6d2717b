"""What the runner tests share: a Handler that records what it handled and fails on command,
``process_batch`` to run it through chalicelib.runner.invoke and return or raise what Lambda
is told, and small batches of inserts with their sequence numbers."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from typing import Any

from chalicelib.changelog import ChangeLog
from chalicelib.contract import BatchResponse
from chalicelib.errors import TransientError
from chalicelib.records import Change
from chalicelib.redaction import Redactor
from chalicelib.result import Result
from chalicelib.runner import invoke
from chalicelib.sink import LineSink, make_logger
from devtools.stream_events import FakeStream


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
