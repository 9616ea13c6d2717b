"""DynamoDBLedger's done marks, against real DynamoDB semantics (boto3 over HTTP to a moto
server on loopback): a performed action is marked done and never runs again; a throttled mark is
retried; a mark that cannot be written is reported as Unmarked, and a crash between the side
effect and its mark is the one documented duplicate window."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from chalicelib.adapters.ledger import DONE, LEASE_SECONDS, DynamoDBLedger
from chalicelib.clients import MAX_ATTEMPTS
from chalicelib.errors import TransientError
from chalicelib.ports import Unmarked
from devtools.faults import LEDGER_THROTTLE, scripted
from tests.chalicelib.adapters.ledger_support import (
    START,
    THROTTLING,
    Action,
    dying,
    entry,
    faulty,
)


def test_performs_once_then_marks_done(make_ledger, dynamodb, table, clock):
    ledger = make_ledger()
    send = Action("ses-message-1")

    assert ledger.once("welcome#u1", send) == "ses-message-1"
    assert make_ledger().once("welcome#u1", send) is None
    assert send.runs == 1
    stored = entry(dynamodb, table, "welcome#u1")
    assert stored is not None
    assert stored["state"] == {"S": DONE}
    assert stored["result"] == {"S": "ses-message-1"}
    assert "lease_until" not in stored


def test_the_one_duplicate_window_is_a_crash_between_send_and_done_mark(
    make_ledger, dynamodb, table, clock
):
    """SES accepted the email, then the process died before writing ``done``: once the lease
    runs out, a retry sends again. This is the documented window; nothing else duplicates."""
    process, client = dying(dynamodb)
    sends: list[str] = []

    def send_and_lose_the_ledger() -> str:
        sends.append("first")
        process.dead = True
        return "msg-1"

    # The done mark cannot be written; the side effect happened, so the call still succeeds.
    assert make_ledger(client).once("welcome#u1", send_and_lose_the_ledger) == "msg-1"

    def resend(label: str) -> Callable[[], str]:
        def send() -> str:
            sends.append(label)
            return f"msg-{label}"

        return send

    with pytest.raises(TransientError):  # within the lease a retry waits, it does not resend
        make_ledger().once("welcome#u1", resend("early"))
    clock.now = START + 121
    assert make_ledger().once("welcome#u1", resend("late")) == "msg-late"
    assert sends == ["first", "late"]


def test_a_done_mark_that_is_throttled_is_retried(make_ledger, dynamodb, table):
    client = faulty(dynamodb, scripted({"update_item": [LEDGER_THROTTLE, THROTTLING]}))
    send = Action()
    assert make_ledger(client).once("welcome#u1", send) == "msg-1"  # botocore retried it
    stored = entry(dynamodb, table, "welcome#u1")
    assert stored is not None
    assert stored["state"] == {"S": DONE}
    assert make_ledger().once("welcome#u1", send) is None
    assert send.runs == 1


def test_a_done_mark_that_cannot_be_written_is_reported_unmarked(
    make_ledger: Callable[..., DynamoDBLedger], dynamodb: Any
) -> None:
    failing = faulty(dynamodb, scripted({"update_item": [LEDGER_THROTTLE] * MAX_ATTEMPTS}))

    result = make_ledger(failing).once("welcome#u1", Action("msg-1"))

    assert result == "msg-1"
    assert isinstance(result, Unmarked)
    assert result.open_until == START + LEASE_SECONDS
