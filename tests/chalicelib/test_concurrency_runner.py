"""The runner on its own (chalicelib.runner.invoke, concurrency 6): slow work runs together but
is finished in record order, on the batch thread, before the invocation returns."""

from __future__ import annotations

import threading

from chalicelib.changelog import ChangeLog
from chalicelib.records import Change
from chalicelib.redaction import Redactor
from chalicelib.result import Result, Slow
from chalicelib.runner import invoke
from chalicelib.sink import LineSink, make_logger
from devtools.stream_events import FakeStream
from tests.chalicelib.concurrency_support import WAIT
from tests.chalicelib.conftest import LogLines


def test_slow_work_is_finished_in_order_on_the_batch_thread_before_returning() -> None:
    stream = FakeStream()
    event = stream.event(stream.insert({"id": f"u{n}"}) for n in range(6))
    last_first = threading.Event()
    ran: list[str] = []
    finished: list[tuple[str, int]] = []

    def handle(change: Change) -> Result:
        user_id = str(change.keys["id"])

        def run() -> str:
            if user_id == "u0":  # the first record's work ends last
                assert last_first.wait(WAIT)
            ran.append(user_id)
            if len(ran) == 5:
                last_first.set()
            return user_id

        def then(result: str) -> Result:
            finished.append((result, threading.get_ident()))
            return Result()

        return Result(slow=Slow(run, then))

    ran_batch = invoke(
        event,
        handle,
        log=ChangeLog("INFO", Redactor(())),
        sink=LineSink(make_logger("INFO", LogLines())),
        report_failures=True,
        concurrency=6,
    )

    assert ran_batch.verdict.response == {"batchItemFailures": []}
    assert ran[-1] == "u0"
    assert finished == [(f"u{n}", threading.get_ident()) for n in range(6)]
