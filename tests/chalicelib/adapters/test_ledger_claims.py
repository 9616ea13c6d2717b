"""DynamoDBLedger's claims and leases, against real DynamoDB semantics (boto3 over HTTP to a
moto server on loopback): one claim per key, released when the action fails, retaken only after
its lease, won by exactly one of many contenders, and kept for keys of any length or encoding."""

from __future__ import annotations

import threading
from typing import Any

import boto3
import pytest

from chalicelib.adapters.ledger import DONE, IN_PROGRESS
from chalicelib.errors import TransientError
from chalicelib.reactions import welcome_key
from tests.chalicelib.adapters.ledger_support import (
    START,
    Action,
    Clock,
    Crash,
    dying,
    entry,
    live_claim,
    make_ledger_like,
)


def test_keys_are_independent(make_ledger):
    ledger = make_ledger()
    first, second = Action("a"), Action("b")
    assert ledger.once("welcome#u1", first) == "a"
    assert ledger.once("welcome#u2", second) == "b"
    assert (first.runs, second.runs) == (1, 1)


def test_a_failed_action_releases_the_claim_and_propagates(make_ledger, dynamodb, table):
    ledger = make_ledger()
    failing = Action(error=TransientError("SES throttled"))

    with pytest.raises(TransientError, match="SES throttled"):
        ledger.once("welcome#u1", failing)
    assert entry(dynamodb, table, "welcome#u1") is None

    retry = Action("msg-2")
    assert ledger.once("welcome#u1", retry) == "msg-2"
    assert retry.runs == 1


def test_a_claim_left_by_a_crash_is_retaken_after_its_lease(make_ledger, dynamodb, table, clock):
    process, client = dying(dynamodb)

    def send_then_die() -> str:
        process.dead = True
        raise Crash

    with pytest.raises(Crash):
        make_ledger(client, lease_seconds=120).once("welcome#u1", send_then_die)
    stored = entry(dynamodb, table, "welcome#u1")
    assert stored is not None
    assert stored["state"] == {"S": IN_PROGRESS}

    retry = Action("msg-2")
    clock.now = START + 120  # the lease is still live: the key is busy, not done
    with pytest.raises(TransientError, match="claim"):
        make_ledger(lease_seconds=120).once("welcome#u1", retry)
    assert retry.runs == 0

    clock.now = START + 121
    assert make_ledger(lease_seconds=120).once("welcome#u1", retry) == "msg-2"
    assert retry.runs == 1
    stored = entry(dynamodb, table, "welcome#u1")
    assert stored is not None
    assert stored["state"] == {"S": DONE}


def test_concurrent_claims_only_one_performs(make_ledger, dynamodb, table):
    contenders = 6
    ready = threading.Barrier(contenders)
    losers_done = threading.Event()
    outcomes: list[str] = []
    lock = threading.Lock()
    performed: list[int] = []

    def contend(number: int) -> None:
        def send() -> str:
            performed.append(number)
            losers_done.wait(timeout=30)
            return f"msg-{number}"

        ledger = make_ledger(boto3.client("dynamodb", endpoint_url=dynamodb.meta.endpoint_url))
        ready.wait(timeout=30)
        try:
            result = ledger.once("welcome#u1", send)
            outcome = "performed" if result is not None else "already done"
        except TransientError:
            outcome = "busy"
        with lock:
            outcomes.append(outcome)
            if outcomes.count("busy") + outcomes.count("already done") == contenders - 1:
                losers_done.set()

    threads = [threading.Thread(target=contend, args=(n,)) for n in range(contenders)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert len(performed) == 1
    assert sorted(outcomes) == ["busy"] * (contenders - 1) + ["performed"]
    stored = entry(dynamodb, table, "welcome#u1")
    assert stored is not None
    assert stored["result"] == {"S": f"msg-{performed[0]}"}


def test_keys_longer_than_a_dynamodb_key_still_work(make_ledger, dynamodb, table):
    long_id = "x" * 3000  # a user id may be 2048 bytes; the prefix makes the key longer
    send = Action()
    ledger = make_ledger()
    assert ledger.once(welcome_key(long_id), send) == "msg-1"
    assert ledger.once(welcome_key(long_id), send) is None
    assert ledger.once(welcome_key(long_id + "y"), Action("other")) == "other"
    assert send.runs == 1


def test_a_key_that_is_not_valid_utf8_is_stored_by_digest(make_ledger):
    send = Action()
    ledger = make_ledger()
    assert ledger.once(welcome_key("\ud800"), send) == "msg-1"
    assert ledger.once(welcome_key("\ud800"), send) is None
    assert send.runs == 1


def test_another_owners_live_claim_is_not_taken_by_the_token_condition(
    table: str, dynamodb: Any, clock: Clock
) -> None:
    second = make_ledger_like(table, dynamodb, clock)
    live_claim(dynamodb, table, "someone-else", int(clock.now) + 60)
    with pytest.raises(TransientError, match="another invocation"):
        second.once("welcome#u1", Action())
