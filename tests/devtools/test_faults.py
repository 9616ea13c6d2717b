"""The fault-injection run at a size that fits CI (``make faults`` runs it at 5,000 changes).

Everything is real except the faults themselves: the emulator's DynamoDB, stream, SQS and SES
over HTTP, the stack from ``infra/``, the local event source mapping with the deployed settings,
the app's handler, SES sender and ledger, and the replay command's code.
"""

from __future__ import annotations

import json

import pytest

from chalicelib.changelog import ChangeLog
from chalicelib.clients import MAX_ATTEMPTS, client_config
from chalicelib.records import Change
from chalicelib.redaction import Redactor
from devtools.faults import (
    SES_5XX,
    FaultPlan,
    FaultRates,
    FaultRun,
    Process,
    ProcessKilled,
    inject,
)
from devtools.faults.verify import leaks
from devtools.faults.workload import MARK
from devtools.stream_events import FakeStream

CI_CHANGES = 600
SEED = 20261127


@pytest.mark.slow
def test_a_ci_sized_fault_run_loses_nothing_and_sends_each_welcome_once(emulator, capsys):
    """On a Users table keyed user_id, with the sender wrong for two chunks and then fixed, and
    foreign messages on the on-failure queue (issue 11)."""
    report = FaultRun(changes=CI_CHANGES, seed=SEED, emulator=emulator, key="user_id").run()
    with capsys.disabled():
        print("\n" + report.text())

    assert report.ok, report.text()
    assert report.duplicates == 0
    assert report.lost == 0
    assert report.missing == 0
    assert report.emails == report.users_to_welcome > 0
    assert report.stream_records >= CI_CHANGES
    # The run is only meaningful if every kind of fault struck, and something needed a replay.
    assert all(count > 0 for count in report.faults.values()), report.faults
    assert report.restarts == (
        report.faults["kill_before_send"]
        + report.faults["kill_before_claim"]
        + report.faults["kill_after_batch"]
    )
    assert report.queue_ranges > 0
    assert report.replay["records_replayed"] == report.queue_records
    assert report.key == "user_id"
    assert report.wrong_sender_chunks == 2
    assert report.wrong_sender_failures > 0  # it failed records, it did not drop emails
    assert report.foreign_messages == report.replay["foreign"] == 3
    assert report.replay["left_in_queue"] == report.foreign_messages  # only they are left
    assert report.foreign_emails == 0
    assert report.workload["recreations"] > 0
    assert report.workload["invalid_addresses"] > 0


def test_the_checks_catch_duplicates_when_there_is_no_ledger(emulator):
    """Without the ledger, a batch redelivered after a kill sends its welcomes again: the run
    reports the duplicates and fails. (The checks can fail.)"""
    rates = FaultRates(
        ses_throttle=0,
        ses_5xx=0,
        ledger_throttle=0,
        kill_before_send=0,
        kill_before_claim=0,
        kill_after_batch=0.5,
        poison=0,
    )
    report = FaultRun(changes=60, seed=SEED, rates=rates, emulator=emulator, ledger=False).run()
    assert report.faults["kill_after_batch"] > 0
    assert report.duplicates > 0
    assert report.lost == 0
    assert not report.ok


def test_the_same_seed_makes_the_same_run(emulator):
    rates = FaultRates(kill_after_batch=0.2, poison=0.02, ses_throttle=0.1)
    first = FaultRun(changes=80, seed=7, rates=rates, emulator=emulator).run()
    second = FaultRun(changes=80, seed=7, rates=rates, emulator=emulator).run()
    assert first.ok, first.text()
    assert (first.workload, first.faults, first.restarts, first.queue_ranges, first.emails) == (
        second.workload,
        second.faults,
        second.restarts,
        second.queue_ranges,
        second.emails,
    )


def ses_client(emulator, sender: str, plan_for):
    """The emulator's SES as the app's client sees it, with ``plan_for``'s faults injected
    below botocore; what reached SES is what the emulator says it sent from ``sender``."""
    emulator.verify_sender(sender)
    client = inject(emulator.client("ses", client_config()), lambda m: plan_for[0](m))

    def reached() -> int:
        return sum(1 for e in emulator.sent_emails() if e.source == sender)

    return client, reached


def send(client, sender: str) -> None:
    client.send_email(
        Source=sender,
        Destination={"ToAddresses": ["a@example.com"]},
        Message={"Subject": {"Data": "s"}, "Body": {"Text": {"Data": "t"}}},
    )


def test_a_killed_process_reaches_nothing_after_the_kill(emulator):
    sender = "kill-test@example.com"
    plan = FaultPlan(FaultRates(kill_before_send=1.0), seed=1)
    current = [plan.ses(Process(1))]
    ses, reached = ses_client(emulator, sender, current)
    with pytest.raises(ProcessKilled, match="before an SES send"):
        send(ses, sender)
    with pytest.raises(ConnectionError, match="process 1 is gone"):
        send(ses, sender)
    assert reached() == 0

    plan.active = False  # faults stopped: a new process is not touched
    current[0] = plan.ses(Process(2))
    send(ses, sender)
    assert reached() == 1


def test_injected_errors_are_real_client_errors_that_botocore_retries(emulator):
    from botocore.exceptions import ClientError

    sender = "retry-test@example.com"
    plan = FaultPlan(FaultRates(ses_throttle=0, ses_5xx=1.0, kill_before_send=0), seed=1)
    ses, reached = ses_client(emulator, sender, [plan.ses(Process(1))])
    with pytest.raises(ClientError) as raised:
        send(ses, sender)
    assert raised.value.response["Error"]["Code"] == SES_5XX.code
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 503
    assert raised.value.response["ResponseMetadata"]["RetryAttempts"] == MAX_ATTEMPTS - 1
    assert raised.value.operation_name == "SendEmail"
    assert plan.counts["ses_5xx"] == MAX_ATTEMPTS  # every attempt botocore made met it
    assert reached() == 0


def test_poison_corrupts_chosen_records_on_every_delivery_until_faults_stop():
    plan = FaultPlan(FaultRates(poison=1.0), seed=1)
    stream = FakeStream()
    event = FakeStream.event([stream.insert({"id": "u1", "email": "a@example.com"})])
    for _ in range(2):
        poisoned = plan.poison(json.loads(json.dumps(event)))
        assert "poison" in poisoned["Records"][0]["dynamodb"]["NewImage"]
    assert plan.counts["poison_records"] == 1
    plan.active = False
    clean = plan.poison(json.loads(json.dumps(event)))
    assert clean == event


def test_the_leak_check_sees_addresses_and_planted_values_however_escaped():
    stream = FakeStream()
    user = {"id": "u1", "email": "ada@example.com", "name": f"{MARK}Ada\u2028{MARK}"}
    for redact, leaked in (("email,name", False), ("", True)):
        ((_, line),) = ChangeLog("INFO", Redactor(redact.split(","))).change(
            Change(stream.insert(user))
        )
        assert leaks(line) is leaked
    assert leaks('{"note":"write to \\u0061@example.com"}')
    assert leaks("not json")
    assert not leaks('{"message":"change","keys":{"id":"u1"}}')
