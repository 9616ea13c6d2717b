"""What the EMAIL_CONCURRENCY tests share: GatedSender, an EmailSender that counts sends in flight
and fails or waits on command, and the batches and settings they run.

No test depends on timing: concurrency is proved with a barrier that only opens when that many
sends are in flight at once, and failures are ordered with events; ``WAIT`` only bounds a test
that would otherwise hang.
"""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

from chalicelib.welcome import EmailMessage
from devtools.stream_events import FakeStream
from tests.chalicelib.conftest import SENDER, LogLines

WAIT = 10  # seconds before a test that would otherwise hang fails instead


class GatedSender:
    """An EmailSender for concurrency: counts sends in flight, fails or waits on command.

    ``fail``: recipient -> the error to raise. ``hold``: recipient -> an event the send waits
    for first. ``barrier``: every send waits there, so it only opens with that many in flight.
    ``linger``: recipient -> seconds its first send stays open for a second one to the same
    recipient to start (it would be seen: ``same_user_at_once``).
    """

    def __init__(
        self,
        *,
        fail: dict[str, Exception] | None = None,
        hold: dict[str, threading.Event] | None = None,
        barrier: threading.Barrier | None = None,
        linger: dict[str, float] | None = None,
    ) -> None:
        self.linger = linger or {}
        self.company = threading.Event()
        self.fail = fail or {}
        self.hold = hold or {}
        self.barrier = barrier
        self.sent: list[str] = []
        self.threads: set[int] = set()
        self.in_flight: Counter[str] = Counter()
        self.most_in_flight = 0
        self.same_user_at_once = False
        self.lock = threading.Lock()

    def send(self, message: EmailMessage) -> str:
        to = message.recipient
        with self.lock:
            self.threads.add(threading.get_ident())
            if self.in_flight[to] > 0:
                self.same_user_at_once = True
                self.company.set()
            self.in_flight[to] += 1
            lingers = self.linger.pop(to, 0.0)
            self.most_in_flight = max(self.most_in_flight, sum(self.in_flight.values()))
        try:
            if lingers:
                self.company.wait(lingers)  # long enough for a concurrent send to show up
            if self.barrier is not None:
                self.barrier.wait(WAIT)
            if to in self.hold:
                assert self.hold[to].wait(WAIT), f"{to} was never released"
            if to in self.fail:
                raise self.fail[to]
            with self.lock:
                self.sent.append(to)
                return f"id-{to}"
        finally:
            with self.lock:
                self.in_flight[to] -= 1


def user(n: int) -> dict[str, Any]:
    return {"id": f"u{n}", "email": f"user{n}@example.com", "name": f"User {n}"}


def inserts(stream: FakeStream, count: int) -> dict[str, Any]:
    return stream.event(stream.insert(user(n)) for n in range(count))


def env(concurrency: int, report: bool = True) -> dict[str, str]:
    return {
        "WELCOME_EMAIL_SENDER": SENDER,
        "EMAIL_CONCURRENCY": str(concurrency),
        "REPORT_BATCH_ITEM_FAILURES": "true" if report else "false",
    }


def handled_ids(logs: LogLines, message: str) -> list[str]:
    return [line["keys"]["id"] for line in logs.with_message(message)]
