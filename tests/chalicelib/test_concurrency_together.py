"""Welcome emails of a batch go out together, up to EMAIL_CONCURRENCY at once (one at a time on
the batch thread when it is 1), and the log reads as if one record at a time: the same lines
in the same order whatever the concurrency, each change line out before its email is sent.
"""

from __future__ import annotations

import threading

from chalicelib.ports import NoLedger
from chalicelib.service import UsersStream
from chalicelib.welcome import EmailMessage
from devtools.stream_events import FakeStream
from tests.chalicelib.concurrency_support import GatedSender, env, handled_ids, inserts, user
from tests.chalicelib.conftest import LogLines, MakeService, MemoryLedger


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
