"""DynamoDBLedger when DynamoDB fails, below botocore so that botocore's own retries run:
throttling that outlasts them is a transient error before anything is sent (and fails the
record through the handler), a throttled release leaves the claim to its lease, and a claim
whose response was lost is still its owner's."""

from __future__ import annotations

import io
from typing import Any

import boto3
import pytest

from chalicelib.adapters.ledger import DONE, DynamoDBLedger
from chalicelib.clients import MAX_ATTEMPTS
from chalicelib.errors import BatchFailedError, RecordError, TransientError
from chalicelib.service import UsersStream
from devtools.faults import LEDGER_THROTTLE, scripted
from devtools.stream_events import FakeStream
from tests.chalicelib.adapters.ledger_support import (
    START,
    THROTTLING,
    Action,
    Clock,
    entry,
    faulty,
    live_claim,
    make_ledger_like,
)


@pytest.mark.parametrize("fault", [LEDGER_THROTTLE, THROTTLING], ids=lambda f: f.code)
@pytest.mark.parametrize("operation", ["put_item", "get_item"])
def test_ledger_throttling_is_transient_and_nothing_is_sent(
    make_ledger, dynamodb, table, fault, operation
):
    if operation == "get_item":  # the claim collides with a live one, then the read is throttled
        live_claim(dynamodb, table, "someone", int(START) + 120)
    client = faulty(dynamodb, scripted({operation: [fault] * MAX_ATTEMPTS}))  # every attempt
    send = Action()
    with pytest.raises(TransientError, match=fault.code):
        make_ledger(client).once("welcome#u1", send)
    assert send.runs == 0


def test_ledger_throttling_fails_the_record_through_the_handler(make_ledger, dynamodb, table):
    sent: list[str] = []

    class Sender:
        def send(self, message: Any) -> str:
            sent.append(message.recipient)
            return f"msg-{len(sent)}"

    stream = FakeStream()
    records = [
        stream.insert({"id": "u1", "email": "one@example.com"}),
        stream.insert({"id": "u2", "email": "two@example.com"}),
        stream.insert({"id": "u3", "email": "three@example.com"}),
    ]
    env = {
        "WELCOME_EMAIL_SENDER": "hello@example.com",
        "REPORT_BATCH_ITEM_FAILURES": "true",
        "EMAIL_CONCURRENCY": "1",  # the script below counts calls in record order
    }
    # u1 claims; u2 is throttled on every attempt botocore makes
    client_calls = scripted({"put_item": [None] + [LEDGER_THROTTLE] * MAX_ATTEMPTS})
    handler = UsersStream(
        environ=env,
        sender=Sender(),
        ledger=make_ledger(faulty(dynamodb, client_calls)),
        log_stream=io.StringIO(),
    )
    response = handler.handle(FakeStream.event(records))
    second = records[1]["dynamodb"]["SequenceNumber"]
    assert response == {"batchItemFailures": [{"itemIdentifier": second}]}
    assert sent == ["one@example.com"]

    # Lambda retries from the failed record; the throttle has passed.
    response = handler.handle(FakeStream.event(records[1:]))
    assert response == {"batchItemFailures": []}
    assert sent == ["one@example.com", "two@example.com", "three@example.com"]

    # Without partial batch responses the whole batch fails with the documented error.
    strict = UsersStream(
        environ={"WELCOME_EMAIL_SENDER": "hello@example.com"},
        sender=Sender(),
        ledger=make_ledger(faulty(dynamodb, scripted({"put_item": [THROTTLING] * MAX_ATTEMPTS}))),
        log_stream=io.StringIO(),
    )
    with pytest.raises(BatchFailedError) as raised:
        strict.handle(FakeStream.event([stream.insert({"id": "u4", "email": "f@example.com"})]))
    assert isinstance(raised.value.__cause__, RecordError)
    assert "ThrottlingException" in str(raised.value)


def test_a_throttled_release_leaves_the_claim_to_its_lease(make_ledger, dynamodb, table, clock):
    client = faulty(dynamodb, scripted({"delete_item": [LEDGER_THROTTLE] * MAX_ATTEMPTS}))
    with pytest.raises(TransientError, match="SES is down"):  # the action's error, not the ledger's
        make_ledger(client).once("welcome#u1", Action(error=TransientError("SES is down")))

    retry = Action("msg-2")
    with pytest.raises(TransientError, match="claim"):
        make_ledger().once("welcome#u1", retry)
    clock.now = START + 121
    assert make_ledger().once("welcome#u1", retry) == "msg-2"
    assert retry.runs == 1


# --- a lost response, below botocore: botocore's own retries run ------------------------------


class LoseFirstResponse:
    """A ``before-send`` hook: the first request of ``operation`` reaches DynamoDB (it is
    applied), and its response is lost on the way back - botocore sees a read timeout, as from
    a dropped connection, and its retry logic sends the request again."""

    def __init__(self, operation: str) -> None:
        self.operation = operation
        self.lost = 0
        self.sent = 0

    def __call__(self, request: Any, **_: Any) -> None:
        import urllib3
        from botocore.exceptions import ReadTimeoutError

        self.sent += 1
        if self.lost:
            return  # botocore sends it: the ordinary path
        self.lost += 1
        urllib3.PoolManager().request(
            request.method, request.url, body=request.body, headers=dict(request.headers)
        )
        raise ReadTimeoutError(endpoint_url=request.url)


def test_a_claim_whose_response_was_lost_is_still_its_owners(
    endpoint: str, table: str, dynamodb: Any, clock: Clock
) -> None:
    """Issue 11, case 5: the claim was written, its response lost, botocore retried the put,
    and the retry failed the condition against the invocation's own claim: the email was
    blocked for the whole lease. The owner's token now satisfies the condition."""
    from botocore.config import Config

    client = boto3.client(
        "dynamodb", endpoint_url=endpoint, config=Config(retries={"mode": "standard"})
    )
    lose = LoseFirstResponse("PutItem")
    client.meta.events.register("before-send.dynamodb.PutItem", lose)
    ledger = DynamoDBLedger(table, client_factory=lambda: client, clock=clock)
    send = Action("msg-1")

    assert ledger.once("welcome#u1", send) == "msg-1"

    assert (lose.lost, lose.sent) == (1, 2)  # applied, lost, sent again by botocore
    assert send.runs == 1
    stored = entry(dynamodb, table, "welcome#u1")
    assert stored is not None
    assert stored["state"]["S"] == DONE
    # Done: a later invocation does not send again.
    other = make_ledger_like(table, dynamodb, clock)
    assert other.once("welcome#u1", Action("msg-2")) is None
