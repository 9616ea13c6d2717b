"""The fault-injection run at a size that fits CI (``make faults`` runs it at 5,000 changes).

Everything is real except the faults themselves: the emulator's DynamoDB, stream, SQS and SES
over HTTP, the stack from ``infra/``, the local event source mapping with the deployed settings,
the app's handler, SES sender and ledger, and the replay command's code.
"""

from __future__ import annotations

import json

import pytest

from chalicelib.changelog import ChangeLog
from chalicelib.records import Change
from chalicelib.redaction import Redactor
from devtools.faults import (
    MARK,
    SES_5XX,
    FaultPlan,
    FaultRates,
    FaultRun,
    FaultyClient,
    Process,
    ProcessKilled,
    _leaks,
)
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


class Recording:
    def __init__(self) -> None:
        self.calls: list[str] = []

    def send_email(self, **kwargs: object) -> dict[str, str]:
        self.calls.append("send_email")
        return {"MessageId": "m"}


def test_a_killed_process_reaches_nothing_after_the_kill():
    plan = FaultPlan(FaultRates(kill_before_send=1.0), seed=1)
    process = Process(1)
    inner = Recording()
    ses = FaultyClient(inner, plan.ses(process))
    with pytest.raises(ProcessKilled, match="before an SES send"):
        ses.send_email(Source="a@example.com")
    with pytest.raises(ConnectionError, match="process 1 is gone"):
        ses.send_email(Source="a@example.com")
    assert inner.calls == []

    plan.active = False  # faults stopped: a new process is not touched
    FaultyClient(inner, plan.ses(Process(2))).send_email(Source="a@example.com")
    assert inner.calls == ["send_email"]


def test_injected_errors_are_real_client_errors():
    from botocore.exceptions import ClientError

    plan = FaultPlan(FaultRates(ses_throttle=0, ses_5xx=1.0, kill_before_send=0), seed=1)
    ses = FaultyClient(Recording(), plan.ses(Process(1)))
    with pytest.raises(ClientError) as raised:
        ses.send_email(Source="a@example.com")
    assert raised.value.response["Error"]["Code"] == SES_5XX.code
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 503
    assert raised.value.operation_name == "SendEmail"
    assert plan.counts["ses_5xx"] == 1


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
    for redact, leaks in (("email,name", False), ("", True)):
        ((_, line),) = ChangeLog("INFO", Redactor(redact.split(","))).change(
            Change(stream.insert(user))
        )
        assert _leaks(line) is leaks
    assert _leaks('{"note":"write to \\u0061@example.com"}')
    assert _leaks("not json")
    assert not _leaks('{"message":"change","keys":{"id":"u1"}}')
