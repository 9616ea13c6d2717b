"""UsersStream: settings read per invocation, adapters injected or built lazily, the batch
contract and the failure log line."""

from __future__ import annotations

import contextlib
import io
import json
from typing import Any

import boto3
import pytest

from chalicelib.errors import BatchFailedError, ConfigurationError
from chalicelib.service import UsersStream
from devtools.stream_events import FakeStream
from tests.chalicelib.conftest import (
    BASE_ENV,
    SENDER,
    LogLines,
    MakeService,
    MemoryLedger,
    RecordingSender,
    SesOutbox,
)

ADA = {"id": "u1", "email": "ada@example.com", "name": "Ada"}
BEA = {"id": "u2", "email": "bea@example.com", "name": "Bea"}


def test_a_clean_batch(make_service: MakeService, stream: FakeStream, logs: LogLines) -> None:
    sender = RecordingSender()
    event = stream.event([stream.insert(ADA), stream.modify(ADA, {**ADA, "name": "Ada L."})])

    response = make_service(sender=sender).handle(event)

    assert response == {"batchItemFailures": []}
    assert [m.recipient for m in sender.sent] == ["ada@example.com"]
    assert logs.messages() == ["change", "welcome_email_sent", "change"]


def test_settings_are_read_at_the_first_invocation_and_kept(
    logs: LogLines, stream: FakeStream
) -> None:
    # A Lambda container's environment never changes: other settings are another function.
    environ = {"WELCOME_EMAIL_SENDER": SENDER, "REPORT_BATCH_ITEM_FAILURES": "false"}
    service = UsersStream(environ=environ, sender=RecordingSender(), log_stream=logs)
    event = stream.event([stream.insert(ADA)])
    event["Records"][0]["dynamodb"]["NewImage"]["name"] = {"Q": "?"}

    with pytest.raises(BatchFailedError):
        service.handle(event)
    environ["REPORT_BATCH_ITEM_FAILURES"] = "true"
    with pytest.raises(BatchFailedError):
        service.handle(event)
    fresh = UsersStream(environ=environ, sender=RecordingSender(), log_stream=logs)

    assert fresh.handle(event) == {
        "batchItemFailures": [{"itemIdentifier": event["Records"][0]["dynamodb"]["SequenceNumber"]}]
    }


def test_a_failed_record_gets_an_error_line(
    make_service: MakeService, stream: FakeStream, logs: LogLines
) -> None:
    event = stream.event([stream.insert({"id": "u1"}), stream.insert(ADA), stream.insert(BEA)])
    failing = event["Records"][1]
    failing["dynamodb"]["NewImage"]["age"] = {"N": "ada@example.com"}
    service = make_service({"WELCOME_EMAIL_SENDER": SENDER, "LOG_LEVEL": "ERROR"})

    with pytest.raises(BatchFailedError):
        service.handle(event)

    assert logs.entries() == [
        {
            "level": "ERROR",
            "message": "record_failed",
            "sequence_number": failing["dynamodb"]["SequenceNumber"],
            "event_id": failing["eventID"],
            "index": 1,
            "field": "dynamodb.NewImage.age",
            "cause": "N value is not a valid number",
            "reported": False,
        }
    ]


def test_the_error_line_says_when_the_failure_was_reported(
    make_service: MakeService, stream: FakeStream, logs: LogLines
) -> None:
    event = stream.event([stream.insert(ADA)])
    event["Records"][0]["eventName"] = "UPSERT"

    make_service({"REPORT_BATCH_ITEM_FAILURES": "true"}).handle(event)

    (line,) = logs.with_message("record_failed")
    assert (line["reported"], line["field"]) == (True, "eventName")


def test_not_a_stream_event_gets_an_error_line(make_service: MakeService, logs: LogLines) -> None:
    with pytest.raises(BatchFailedError):
        make_service({"REPORT_BATCH_ITEM_FAILURES": "true"}).handle({"Items": []})

    (line,) = logs.with_message("record_failed")
    assert (line["field"], line["reported"], line["sequence_number"]) == ("Records", False, None)


def test_invalid_settings_fail_before_any_record(
    make_service: MakeService, stream: FakeStream, logs: LogLines
) -> None:
    service = make_service({"REPORT_BATCH_ITEM_FAILURES": "maybe"})

    with pytest.raises(ConfigurationError, match="REPORT_BATCH_ITEM_FAILURES"):
        service.handle(stream.event([stream.insert({"id": "u1"})]))

    (line,) = logs.entries()
    assert (line["level"], line["message"]) == ("ERROR", "configuration_error")
    assert "REPORT_BATCH_ITEM_FAILURES" in line["cause"]


@pytest.mark.parametrize(
    "address",
    ["example.com", "welcome@example", "Welcome <welcome@example.com>", "a@b.com, c@d.com"],
    ids=["no-at-domain", "undotted-domain", "display-name", "two-addresses"],
)
def test_a_wrong_sender_fails_the_invocation_once_before_any_record(
    make_service: MakeService, stream: FakeStream, logs: LogLines, address: str
) -> None:
    """Issue 11: WELCOME_EMAIL_SENDER=example.com made SES answer InvalidParameterValue for
    every email, taken for a bad recipient: every email dropped. Now the sender is checked
    before any record, whatever the batch holds (here no new user at all)."""
    sender = RecordingSender()
    event = stream.event([stream.modify(ADA, {**ADA, "plan": "pro"}), stream.insert(BEA)])

    with pytest.raises(ConfigurationError, match="WELCOME_EMAIL_SENDER"):
        make_service({"WELCOME_EMAIL_SENDER": address}, sender=sender).handle(event)

    assert sender.sent == []
    assert [(e["level"], e["message"]) for e in logs.entries()] == [
        ("ERROR", "configuration_error")
    ]
    assert "@" not in logs.getvalue()


def test_an_injected_ledger_makes_the_welcome_once(
    make_service: MakeService, stream: FakeStream, logs: LogLines
) -> None:
    sender = RecordingSender()
    service = make_service(sender=sender, ledger=MemoryLedger())
    event = stream.event([stream.insert(ADA)])

    service.handle(event)
    service.handle(event)  # Lambda delivers the batch again

    assert len(sender.sent) == 1
    assert logs.messages() == ["change", "welcome_email_sent", "change", "welcome_email_duplicate"]


# --- the default adapters, against moto --------------------------------------------------------


def test_by_default_emails_go_through_ses(
    ses: SesOutbox, stream: FakeStream, logs: LogLines
) -> None:
    service = UsersStream(environ={"WELCOME_EMAIL_SENDER": SENDER}, log_stream=logs)

    service.handle(stream.event([stream.insert(ADA)]))
    service.handle(stream.event([stream.insert(BEA)]))

    assert [m.destinations["ToAddresses"] for m in ses.sent()] == [
        ["ada@example.com"],
        ["bea@example.com"],
    ]
    sent = logs.with_message("welcome_email_sent")
    assert [line["message_id"] for line in sent] == [m.id for m in ses.sent()]


def test_ledger_table_setting_uses_the_dynamodb_ledger(
    ses: SesOutbox, stream: FakeStream, logs: LogLines
) -> None:
    boto3.client("dynamodb").create_table(
        TableName="ledger",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    environ = {"WELCOME_EMAIL_SENDER": SENDER, "LEDGER_TABLE": "ledger"}
    event = stream.event([stream.insert(ADA)])

    UsersStream(environ=environ, log_stream=logs).handle(event)
    UsersStream(environ=environ, log_stream=logs).handle(event)  # another container, same batch

    assert len(ses.sent()) == 1
    assert logs.messages()[-1] == "welcome_email_duplicate"


# --- where the lines go ------------------------------------------------------------------------


def test_two_instances_keep_their_own_log_streams(stream: FakeStream) -> None:
    first, second = LogLines(), LogLines()
    one = UsersStream(environ=BASE_ENV, log_stream=first)
    two = UsersStream(environ=BASE_ENV, log_stream=second)

    one.handle(stream.event([stream.remove(ADA)]))
    two.handle(stream.event([stream.remove(BEA)]))
    one.handle(stream.event([stream.remove(ADA)]))

    assert [e["keys"]["id"] for e in first.entries()] == ["u1", "u1"]
    assert [e["keys"]["id"] for e in second.entries()] == ["u2"]


def log_lines(output: io.StringIO) -> list[dict[str, Any]]:
    """The log lines written, without the invocation's metrics line (chalicelib.metrics)."""
    lines = [json.loads(line) for line in output.getvalue().splitlines()]
    return [line for line in lines if "_aws" not in line]


def test_by_default_lines_go_to_standard_output_as_it_is_then(stream: FakeStream) -> None:
    service = UsersStream(environ=BASE_ENV)
    before, after = io.StringIO(), io.StringIO()

    with contextlib.redirect_stdout(before):
        service.handle(stream.event([stream.remove(ADA)]))
    with contextlib.redirect_stdout(after):
        service.handle(stream.event([stream.remove(BEA)]))

    assert [line["keys"] for line in log_lines(before)] == [{"id": "u1"}]
    assert [line["keys"] for line in log_lines(after)] == [{"id": "u2"}]
    assert len(before.getvalue().splitlines()) == 2  # and the invocation's metrics line


def test_an_injected_stream_does_not_take_over_standard_output(stream: FakeStream) -> None:
    default = UsersStream(environ=BASE_ENV)
    captured = io.StringIO()
    default.handle(stream.event([stream.remove(ADA)]))  # builds the default logger first

    UsersStream(environ=BASE_ENV, log_stream=LogLines()).handle(stream.event([stream.remove(BEA)]))
    with contextlib.redirect_stdout(captured):
        default.handle(stream.event([stream.remove(ADA)]))

    assert len(log_lines(captured)) == 1


def test_without_a_sender_address_a_new_user_fails_its_record(
    make_service: MakeService, stream: FakeStream
) -> None:
    """Unset, the sender is not an error for a batch that needs no email (tools that only log
    changes run so); a new user with an address fails its record: nothing is dropped."""
    sender = RecordingSender()
    event = stream.event([stream.insert({"id": "u0"}), stream.insert(ADA)])

    with pytest.raises(BatchFailedError) as caught:
        make_service({"WELCOME_EMAIL_SENDER": ""}, sender=sender).handle(event)

    assert caught.value.handled == 1
    assert "WELCOME_EMAIL_SENDER" in str(caught.value)
    assert sender.sent == []


def test_a_wrong_setting_fails_every_invocation_until_it_is_fixed(stream: FakeStream) -> None:
    """Nothing is kept from a wrong setting: each invocation reads the settings again until
    they are right. The configuration_error line must not change the shared logger's level:
    once the setting is fixed, the container writes its INFO change lines."""
    environ = {**BASE_ENV, "WELCOME_EMAIL_SENDER": "example.com"}
    service = UsersStream(environ=environ)
    event = stream.event([stream.remove(ADA)])
    wrong, fixed = io.StringIO(), io.StringIO()

    with contextlib.redirect_stdout(wrong):
        for _ in range(2):
            with pytest.raises(ConfigurationError):
                service.handle(event)
    environ["WELCOME_EMAIL_SENDER"] = SENDER
    with contextlib.redirect_stdout(fixed):
        service.handle(event)

    assert [json.loads(x)["message"] for x in wrong.getvalue().splitlines()] == [
        "configuration_error",
        "configuration_error",
    ]
    assert [line["message"] for line in log_lines(fixed)] == ["change"]
