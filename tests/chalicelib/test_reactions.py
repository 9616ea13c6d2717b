"""What a change makes happen: a log line always, a welcome email through SES for a new user.

Emails are read back from what moto's SES received; SES errors come from botocore's Stubber on
a real client.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from chalicelib.adapters.ses import SesEmailSender
from chalicelib.errors import BatchFailedError, ConfigurationError, TransientError
from chalicelib.ports import NoLedger
from chalicelib.reactions import welcome_key
from devtools.stream_events import FakeStream
from tests.chalicelib.conftest import (
    SENDER,
    LogLines,
    MakeService,
    MemoryLedger,
    RecordingSender,
    SesOutbox,
)

ADA = {"id": "u1", "email": "ada@example.com", "name": "Ada"}


def ses_sender(ses: SesOutbox) -> SesEmailSender:
    return SesEmailSender(client_factory=lambda: ses.client)


def test_a_new_user_gets_exactly_one_welcome_email(
    ses: SesOutbox, make_service: MakeService, stream: FakeStream, logs: LogLines
) -> None:
    make_service(sender=ses_sender(ses)).handle(stream.event([stream.insert(ADA)]))

    (sent,) = ses.sent()
    assert sent.source == SENDER
    assert sent.destinations == {"ToAddresses": ["ada@example.com"]}
    assert sent.subject == "Welcome, Ada!"
    assert "<p>Hello Ada,</p>" in sent.body
    assert ses.wire[0]["Message.Body.Text.Data"].startswith("Hello Ada,\n")
    (line,) = logs.with_message("welcome_email_sent")
    assert line["message_id"] == sent.id
    assert line["keys"] == {"id": "u1"}


def test_only_inserts_send(
    ses: SesOutbox, make_service: MakeService, stream: FakeStream, logs: LogLines
) -> None:
    later = {**ADA, "name": "Ada L."}
    event = stream.event([stream.modify(ADA, later), stream.remove(later), stream.ttl_expiry(ADA)])

    make_service(sender=ses_sender(ses)).handle(event)

    assert ses.sent() == []
    assert logs.messages() == ["change", "change", "ttl_expiry"]


def test_the_name_is_escaped_in_the_html_ses_receives(
    ses: SesOutbox, make_service: MakeService, stream: FakeStream
) -> None:
    user = {**ADA, "name": '<img src=x onerror="alert(1)">'}

    make_service(sender=ses_sender(ses)).handle(stream.event([stream.insert(user)]))

    body = ses.sent()[0].body
    assert "<img" not in body
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in body
    assert '<img src=x onerror="alert(1)">' in ses.wire[0]["Message.Body.Text.Data"]


def test_a_line_break_in_the_name_cannot_add_a_header(
    ses: SesOutbox, make_service: MakeService, stream: FakeStream
) -> None:
    user = {**ADA, "name": "Ada\r\nBcc: eve@evil.example\r\n"}

    make_service(sender=ses_sender(ses)).handle(stream.event([stream.insert(user)]))

    (sent,) = ses.sent()
    assert sent.destinations == {"ToAddresses": ["ada@example.com"]}
    assert "\n" not in sent.subject
    assert "\r" not in sent.subject
    assert not any(k.startswith("Destination.Bcc") for k in ses.wire[0])


def test_a_line_break_in_the_address_is_refused_and_logged(
    ses: SesOutbox, make_service: MakeService, stream: FakeStream, logs: LogLines
) -> None:
    user = {**ADA, "email": "ada@example.com\r\nBcc: eve@evil.example"}
    event = stream.event([stream.insert(user), stream.insert({**ADA, "id": "u2"})])

    response = make_service(sender=ses_sender(ses)).handle(event)

    assert response == {"batchItemFailures": []}  # the record is handled: no retry can help
    assert [m.destinations["ToAddresses"] for m in ses.sent()] == [["ada@example.com"]]
    (rejected,) = logs.with_message("welcome_email_rejected")
    assert rejected["level"] == "ERROR"
    assert rejected["keys"] == {"id": "u1"}
    assert "eve@evil.example" not in logs.getvalue()


def test_a_user_without_an_email_is_skipped_and_logged(
    ses: SesOutbox, make_service: MakeService, stream: FakeStream, logs: LogLines
) -> None:
    make_service(sender=ses_sender(ses)).handle(stream.event([stream.insert({"id": "u9"})]))

    assert ses.sent() == []
    (skipped,) = logs.with_message("welcome_email_skipped")
    assert (skipped["reason"], skipped["keys"]) == ("no_email", {"id": "u9"})


def test_an_insert_without_a_new_image_is_skipped_and_logged(
    make_service: MakeService, logs: LogLines
) -> None:
    sender = RecordingSender()
    stream = FakeStream(view_type="KEYS_ONLY")

    make_service(sender=sender).handle(stream.event([stream.insert(ADA)]))

    assert sender.sent == []
    (skipped,) = logs.with_message("welcome_email_skipped")
    assert (skipped["reason"], skipped["level"]) == ("no_image", "WARNING")


# --- SES errors ---------------------------------------------------------------------------------


@pytest.fixture
def stubbed_ses() -> Any:
    client = boto3.client("ses", region_name="us-east-1")
    with Stubber(client) as stubber:
        yield stubber, SesEmailSender(client_factory=lambda: client)


@pytest.mark.parametrize(
    ("code", "status"), [("Throttling", 400), ("ServiceUnavailable", 503), ("InternalFailure", 500)]
)
def test_a_transient_ses_error_fails_the_record(
    stubbed_ses: tuple[Stubber, SesEmailSender],
    make_service: MakeService,
    stream: FakeStream,
    logs: LogLines,
    code: str,
    status: int,
) -> None:
    stubber, sender = stubbed_ses
    stubber.add_client_error("send_email", code, "try again", http_status_code=status)
    event = stream.event(
        [stream.insert({"id": "u0"}), stream.insert(ADA), stream.insert({"id": "u2"})]
    )
    env = {"WELCOME_EMAIL_SENDER": SENDER, "REPORT_BATCH_ITEM_FAILURES": "true"}

    response = make_service(env, sender=sender).handle(event)

    failing = event["Records"][1]["dynamodb"]["SequenceNumber"]
    assert response == {"batchItemFailures": [{"itemIdentifier": failing}]}
    assert [e["keys"]["id"] for e in logs.with_message("change")] == ["u0", "u1"]
    assert logs.with_message("welcome_email_sent") == []
    (failed,) = logs.with_message("record_failed")
    assert code in failed["cause"]


def test_a_transient_error_without_reporting_raises_naming_the_record(
    stubbed_ses: tuple[Stubber, SesEmailSender], make_service: MakeService, stream: FakeStream
) -> None:
    stubber, sender = stubbed_ses
    stubber.add_client_error("send_email", "Throttling", "slow down", http_status_code=400)
    event = stream.event([stream.insert(ADA)])

    with pytest.raises(BatchFailedError) as caught:
        make_service(sender=sender).handle(event)

    assert isinstance(caught.value.error.__cause__, TransientError)
    assert event["Records"][0]["eventID"] in str(caught.value)
    assert "Throttling" in str(caught.value)


def test_a_permanent_rejection_is_logged_and_the_record_handled(
    stubbed_ses: tuple[Stubber, SesEmailSender],
    make_service: MakeService,
    stream: FakeStream,
    logs: LogLines,
) -> None:
    stubber, sender = stubbed_ses
    stubber.add_client_error(
        "send_email", "MessageRejected", "Address blacklisted.", http_status_code=400
    )
    event = stream.event([stream.insert(ADA), stream.insert({"id": "u2"})])

    response = make_service(sender=sender).handle(event)

    assert response == {"batchItemFailures": []}
    (rejected,) = logs.with_message("welcome_email_rejected")
    assert "MessageRejected" in rejected["reason"]
    assert [e["keys"]["id"] for e in logs.with_message("change")] == ["u1", "u2"]


def test_a_retry_after_a_transient_error_sends_once(
    ses: SesOutbox, make_service: MakeService, stream: FakeStream
) -> None:
    throttled = ses.new_client()
    ledger = MemoryLedger()
    event = stream.event([stream.insert(ADA)])
    env = {"WELCOME_EMAIL_SENDER": SENDER, "REPORT_BATCH_ITEM_FAILURES": "true"}

    with Stubber(throttled) as stubber:
        stubber.add_client_error("send_email", "Throttling", "slow", http_status_code=400)
        first = make_service(env, SesEmailSender(lambda: throttled), ledger).handle(event)
    second = make_service(env, SesEmailSender(lambda: ses.client), ledger).handle(event)

    assert first["batchItemFailures"] != []
    assert second == {"batchItemFailures": []}
    assert len(ses.sent()) == 1
    assert list(ledger.done) == [welcome_key("u1")]


# --- one record through the entry point Lambda uses ----------------------------------------------


def reactions(
    make_service: MakeService,
    stream: FakeStream,
    sender: RecordingSender,
    ledger: Any = None,
    from_address: str = SENDER,
) -> Callable[[dict[str, Any]], object]:
    """Handles one record at a time, as a batch of one, through ``UsersStream.handle``."""
    env = {"WELCOME_EMAIL_SENDER": from_address}
    service = make_service(env, sender, ledger or NoLedger())
    return lambda raw: service.handle(stream.event([raw]))


def test_the_ledger_key_is_the_user_id(
    make_service: MakeService, stream: FakeStream, logs: LogLines
) -> None:
    keys: list[str] = []

    class KeyLedger:
        def once(self, key: str, action: Callable[[], str]) -> str | None:
            keys.append(key)
            return action()

    reactions(make_service, stream, RecordingSender(), KeyLedger())(stream.insert(ADA))

    assert keys == ["welcome#u1"] == [welcome_key("u1")]


def test_without_a_ledger_every_delivery_sends(
    make_service: MakeService, stream: FakeStream, logs: LogLines
) -> None:
    sender = RecordingSender()
    handle = reactions(make_service, stream, sender)
    raw = stream.insert(ADA)

    handle(raw)
    handle(raw)

    assert len(sender.sent) == 2


def test_a_duplicate_delivery_is_logged_not_sent(
    make_service: MakeService, stream: FakeStream, logs: LogLines
) -> None:
    sender = RecordingSender()
    handle = reactions(make_service, stream, sender, MemoryLedger())
    raw = stream.insert(ADA)

    handle(raw)
    handle(raw)

    assert len(sender.sent) == 1
    assert logs.messages() == ["change", "welcome_email_sent", "change", "welcome_email_duplicate"]


def test_without_a_sender_address_the_change_fails(
    make_service: MakeService, stream: FakeStream, logs: LogLines
) -> None:
    sender = RecordingSender()

    with pytest.raises(BatchFailedError) as caught:
        reactions(make_service, stream, sender, from_address="")(stream.insert(ADA))

    assert isinstance(caught.value.error.__cause__, ConfigurationError)
    assert "WELCOME_EMAIL_SENDER" in str(caught.value)
    assert sender.sent == []
    # the change is logged before the email was attempted, then the failure
    assert logs.messages() == ["change", "record_failed"]


def test_an_invalid_address_is_rejected_without_calling_ses(
    make_service: MakeService, stream: FakeStream, logs: LogLines
) -> None:
    sender = RecordingSender()

    reactions(make_service, stream, sender)(stream.insert({**ADA, "email": "ada at example.com"}))

    assert sender.sent == []
    assert logs.messages() == ["change", "welcome_email_rejected"]
