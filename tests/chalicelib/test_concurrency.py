"""Welcome emails of a batch go out together (EMAIL_CONCURRENCY), and the batch contract holds:
the failure reported is the earliest failed record, nothing after it is reported as handled,
each email goes out once (through the ledger), and the log reads as if one record at a time.

No test here depends on timing: concurrency is proved with a barrier that only opens when that
many sends are in flight at once, and failures are ordered with events.
"""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

import pytest

from chalicelib.changelog import ChangeLog
from chalicelib.errors import BatchFailedError, ConfigurationError, TransientError
from chalicelib.ports import NoLedger
from chalicelib.records import Change
from chalicelib.redaction import Redactor
from chalicelib.result import Result, Slow
from chalicelib.runner import invoke
from chalicelib.service import UsersStream
from chalicelib.settings import DEFAULT_EMAIL_CONCURRENCY, Settings
from chalicelib.sink import LineSink, make_logger
from chalicelib.welcome import EmailMessage
from devtools.stream_events import FakeStream
from tests.chalicelib.conftest import SENDER, LogLines, MakeService, MemoryLedger

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


def seq(event: dict[str, Any], index: int) -> str:
    return event["Records"][index]["dynamodb"]["SequenceNumber"]  # type: ignore[no-any-return]


def handled_ids(logs: LogLines, message: str) -> list[str]:
    return [line["keys"]["id"] for line in logs.with_message(message)]


# --- going out together ------------------------------------------------------------------------


def test_emails_go_out_together_up_to_the_limit(
    make_service: MakeService, stream: FakeStream, logs: LogLines
) -> None:
    sender = GatedSender(barrier=threading.Barrier(4))  # opens only with 4 sends in flight
    event = inserts(stream, 12)

    response = make_service(env(4), sender=sender, ledger=MemoryLedger()).handle(event)

    assert response == {"batchItemFailures": []}
    assert sorted(sender.sent) == sorted(f"user{n}@example.com" for n in range(12))
    assert sender.most_in_flight == 4  # together, and never more than EMAIL_CONCURRENCY
    assert handled_ids(logs, "welcome_email_sent") == [f"u{n}" for n in range(12)]


def test_one_at_a_time_sends_on_the_batch_thread(
    make_service: MakeService, stream: FakeStream
) -> None:
    sender = GatedSender()

    make_service(env(1), sender=sender).handle(inserts(stream, 5))

    assert sender.threads == {threading.get_ident()}
    assert sender.most_in_flight == 1
    assert sender.sent == [f"user{n}@example.com" for n in range(5)]


def test_the_log_reads_as_if_one_record_at_a_time(stream: FakeStream) -> None:
    records = []
    for n in range(10):
        records.append(stream.insert(user(n)))
        if n % 3 == 0:
            records.append(stream.modify(user(n), {**user(n), "name": "Renamed"}))
        if n % 4 == 0:
            records.append(stream.insert({"id": f"x{n}"}))  # no address: skipped
    event = stream.event(records)
    lines = {}
    for concurrency in (1, 16):
        logs = LogLines()
        UsersStream(
            environ=env(concurrency), sender=GatedSender(), ledger=MemoryLedger(), log_stream=logs
        ).handle(event)
        lines[concurrency] = [
            (line["message"], line["sequence_number"], line.get("message_id"))
            for line in logs.entries()
        ]

    assert lines[16] == lines[1]
    assert len(lines[1]) == len(records) + 10 + 3  # a change line each, 10 sent, 3 skipped


# --- the batch contract ------------------------------------------------------------------------


@pytest.mark.parametrize("report", [True, False])
def test_the_earliest_failure_is_reported_even_when_a_later_one_fails_first(
    make_service: MakeService, stream: FakeStream, logs: LogLines, report: bool
) -> None:
    later_failed = threading.Event()

    class SetWhenRaised(TransientError):
        def __init__(self) -> None:
            super().__init__("SES error Throttling (HTTP 400)")

    class LaterFailure(Exception):
        pass

    sender = GatedSender(
        fail={"user2@example.com": SetWhenRaised(), "user5@example.com": LaterFailure("boom")},
        hold={"user2@example.com": later_failed},
    )
    real_send = sender.send

    def send(message: EmailMessage) -> str:
        try:
            return real_send(message)
        finally:
            if message.recipient == "user5@example.com":
                later_failed.set()  # user5 has failed; only now does user2 fail

    sender.send = send  # type: ignore[method-assign]
    event = inserts(stream, 8)
    service = make_service(env(8, report), sender=sender, ledger=MemoryLedger())

    if report:
        response = service.handle(event)
        assert response == {"batchItemFailures": [{"itemIdentifier": seq(event, 2)}]}
    else:
        with pytest.raises(BatchFailedError) as caught:
            service.handle(event)
        assert (caught.value.handled, caught.value.error.index) == (2, 2)
        assert caught.value.error.sequence_number == seq(event, 2)
    # Nothing after the failed record is reported as handled: the log stops where the
    # batch stopped, as if one record at a time.
    assert handled_ids(logs, "change") == ["u0", "u1", "u2"]
    assert handled_ids(logs, "welcome_email_sent") == ["u0", "u1"]
    (failed,) = logs.with_message("record_failed")
    assert failed["index"] == 2
    assert "Throttling" in failed["cause"]


def test_a_bad_record_after_an_email_in_flight_waits_for_it(
    make_service: MakeService, stream: FakeStream, logs: LogLines
) -> None:
    event = inserts(stream, 6)
    event["Records"][4]["dynamodb"]["NewImage"]["name"] = {"N": "not a number"}
    sender = GatedSender(fail={"user1@example.com": TransientError("SES error (HTTP 503)")})

    response = make_service(env(16), sender=sender).handle(event)

    # Record 4 fails while record 1's email may still be in flight; record 1 fails too, and
    # it is earlier: it is the one reported, whichever failed first.
    assert response == {"batchItemFailures": [{"itemIdentifier": seq(event, 1)}]}
    assert handled_ids(logs, "change") == ["u0", "u1"]
    assert [line["index"] for line in logs.with_message("record_failed")] == [1]


def test_emails_before_a_bad_record_all_finish_and_are_logged(
    make_service: MakeService, stream: FakeStream, logs: LogLines
) -> None:
    event = inserts(stream, 6)
    event["Records"][4]["dynamodb"]["NewImage"]["name"] = {"N": "not a number"}
    sender = GatedSender()

    response = make_service(env(16), sender=sender).handle(event)

    assert response == {"batchItemFailures": [{"itemIdentifier": seq(event, 4)}]}
    assert sorted(sender.sent) == [f"user{n}@example.com" for n in range(4)]
    assert handled_ids(logs, "welcome_email_sent") == ["u0", "u1", "u2", "u3"]
    (failed,) = logs.with_message("record_failed")
    assert failed["field"] == "dynamodb.NewImage.name"


def test_each_email_once_across_the_retry_from_the_failed_record(
    make_service: MakeService, stream: FakeStream, logs: LogLines
) -> None:
    event = inserts(stream, 10)
    ledger = MemoryLedger()
    flaky = GatedSender(fail={"user3@example.com": TransientError("SES error (HTTP 503)")})

    first = make_service(env(16), sender=flaky, ledger=ledger).handle(event)
    assert first == {"batchItemFailures": [{"itemIdentifier": seq(event, 3)}]}
    sent_before_retry = list(flaky.sent)  # records after 3 may have been sent already

    healthy = GatedSender()
    retry = {"Records": event["Records"][3:]}  # Lambda retries from the failed record
    second = make_service(env(16), sender=healthy, ledger=ledger).handle(retry)

    assert second == {"batchItemFailures": []}
    everyone = Counter(sent_before_retry + healthy.sent)
    assert everyone == Counter(f"user{n}@example.com" for n in range(10))  # each exactly once
    assert len(handled_ids(logs, "welcome_email_duplicate")) == len(sent_before_retry) - 3


def test_the_same_user_is_never_sent_to_twice_at_once(
    make_service: MakeService, stream: FakeStream, logs: LogLines
) -> None:
    ada = user(1)
    event = stream.event(
        [stream.insert(ada), stream.remove(ada), stream.insert(ada), stream.insert(user(2))]
    )
    sender = GatedSender(linger={"user1@example.com": 0.5})

    make_service(env(16), sender=sender, ledger=MemoryLedger()).handle(event)

    assert sender.same_user_at_once is False
    assert Counter(sender.sent) == {"user1@example.com": 1, "user2@example.com": 1}
    assert [line["message"] for line in logs.entries() if line["keys"]["id"] == "u1"] == [
        "change",
        "welcome_email_sent",
        "change",
        "change",
        "welcome_email_duplicate",
    ]


def test_without_a_ledger_a_repeated_user_is_sent_to_in_turn(
    make_service: MakeService, stream: FakeStream
) -> None:
    ada = user(1)
    event = stream.event([stream.insert(ada), stream.insert(ada)])
    sender = GatedSender(linger={"user1@example.com": 0.5})

    make_service(env(16), sender=sender, ledger=NoLedger()).handle(event)

    assert sender.sent == ["user1@example.com", "user1@example.com"]  # at least once
    assert sender.same_user_at_once is False


# --- the runner on its own ---------------------------------------------------------------------


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


# --- the setting -------------------------------------------------------------------------------


def test_email_concurrency_defaults_to_16_and_is_bounded() -> None:
    assert DEFAULT_EMAIL_CONCURRENCY == 16
    sender = {"WELCOME_EMAIL_SENDER": "welcome@example.com"}
    assert Settings.from_environ(sender).email_concurrency == 16
    assert Settings.from_environ({**sender, "EMAIL_CONCURRENCY": "1"}).email_concurrency == 1
    assert Settings.from_environ({**sender, "EMAIL_CONCURRENCY": "64"}).email_concurrency == 64
    for bad in ("0", "65", "-3", "many"):
        with pytest.raises(ConfigurationError, match="EMAIL_CONCURRENCY"):
            Settings.from_environ({**sender, "EMAIL_CONCURRENCY": bad})


def test_the_oldest_records_line_is_out_before_its_email_is_sent(
    make_service: MakeService, stream: FakeStream, logs: LogLines
) -> None:
    """The change line of the oldest unfinished record does not wait for its email: a tool
    that sees the email arrive finds the line already written (tests/devtools/
    test_real_clients.py relies on it)."""
    seen: list[list[str]] = []

    class Looking:
        def send(self, message: EmailMessage) -> str:
            seen.append(logs.messages())
            return "id"

    make_service(env(16), sender=Looking(), ledger=NoLedger()).handle(inserts(stream, 1))

    assert seen == [["change"]]
    assert logs.messages() == ["change", "welcome_email_sent"]
