"""The batch contract holds while emails go out together: the failure reported is the earliest
failed record, whichever failed first; nothing after it is reported as handled; each email goes
out once (through the ledger) across Lambda's retry, and never to the same user twice at once.

No test here depends on timing: failures are ordered with events.
"""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

import pytest

from chalicelib.errors import BatchFailedError, TransientError
from chalicelib.ports import NoLedger
from chalicelib.welcome import EmailMessage
from devtools.stream_events import FakeStream
from tests.chalicelib.concurrency_support import GatedSender, env, handled_ids, inserts, user
from tests.chalicelib.conftest import LogLines, MakeService, MemoryLedger


def seq(event: dict[str, Any], index: int) -> str:
    return event["Records"][index]["dynamodb"]["SequenceNumber"]  # type: ignore[no-any-return]


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
