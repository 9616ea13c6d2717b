"""DynamoDBLedger against real DynamoDB semantics: boto3 over HTTP to a moto server on loopback."""

from __future__ import annotations

import io
import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from chalicelib.adapters.ledger import (
    DONE,
    IN_PROGRESS,
    KEY_ATTRIBUTE,
    LEASE_SECONDS,
    TTL_ATTRIBUTE,
    DynamoDBLedger,
)
from chalicelib.clients import MAX_ATTEMPTS, client_config
from chalicelib.errors import BatchFailedError, RecordError, TransientError
from chalicelib.ports import Unmarked
from chalicelib.reactions import welcome_key
from chalicelib.service import UsersStream
from devtools.emulator import Emulator
from devtools.faults import LEDGER_THROTTLE, Fault, Process, inject, scripted
from devtools.stream_events import FakeStream
from infra.cfn import load_template

THROTTLING = Fault("ledger_throttle", "ThrottlingException", 400)
START = 1_700_000_000.0
ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    with Emulator() as emulator:  # moto's server on 127.0.0.1, an ephemeral port
        yield emulator.endpoint_url


class Clock:
    def __init__(self, now: float = START) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def dynamodb(endpoint: str) -> Any:
    return boto3.client("dynamodb", endpoint_url=endpoint)


@pytest.fixture
def table(dynamodb: Any) -> str:
    name = f"ledger-{uuid.uuid4().hex[:12]}"
    dynamodb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    return name


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def make_ledger(dynamodb: Any, table: str, clock: Clock) -> Callable[..., DynamoDBLedger]:
    """A ledger per call: each one is a separate invocation with its own client."""

    def make(client: Any = None, **options: Any) -> DynamoDBLedger:
        return DynamoDBLedger(
            table,
            client_factory=lambda: client if client is not None else dynamodb,
            clock=clock,
            **options,
        )

    return make


def entry(dynamodb: Any, table: str, key: str) -> dict[str, Any] | None:
    item = dynamodb.get_item(TableName=table, Key={"pk": {"S": key}}, ConsistentRead=True)
    found: dict[str, Any] | None = item.get("Item")
    return found


class Action:
    """A side effect that counts its runs and can fail."""

    def __init__(self, result: str = "msg-1", error: BaseException | None = None) -> None:
        self.runs = 0
        self.result = result
        self.error = error

    def __call__(self) -> str:
        self.runs += 1
        if self.error is not None:
            raise self.error
        return self.result


def live_claim(dynamodb: Any, table: str, owner: str, lease_until: int) -> None:
    """Another invocation's claim of welcome#u1, its lease running until ``lease_until``."""
    dynamodb.put_item(
        TableName=table,
        Item={
            "pk": {"S": "welcome#u1"},
            "state": {"S": IN_PROGRESS},
            "owner": {"S": owner},
            "lease_until": {"N": str(lease_until)},
        },
    )


class Crash(BaseException):
    """The process dies: nothing after this point reaches DynamoDB."""


def faulty(dynamodb: Any, before: Callable[[str], Fault | None]) -> Any:
    """A client made as the app makes it (standard retries, the app's budget), on the same
    endpoint as ``dynamodb``, whose requests meet the faults ``before`` names below botocore."""
    config = client_config()
    return inject(
        boto3.client("dynamodb", endpoint_url=dynamodb.meta.endpoint_url, config=config), before
    )


def dying(dynamodb: Any) -> tuple[Process, Any]:
    """A client of a process that can die: from then on every call fails."""
    process = Process(1)

    def before(_method: str) -> None:
        process.check()

    return process, faulty(dynamodb, before)


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


def test_entries_carry_the_ttl_attribute_for_the_documented_thirty_days(
    make_ledger, dynamodb, table, clock
):
    make_ledger().once("welcome#u1", Action())
    stored = entry(dynamodb, table, "welcome#u1")
    assert stored is not None
    assert int(stored["expires_at"]["N"]) == int(START) + 30 * 24 * 3600

    make_ledger(retention_seconds=3600).once("welcome#u2", Action())
    stored = entry(dynamodb, table, "welcome#u2")
    assert stored is not None
    assert int(stored["expires_at"]["N"]) == int(START) + 3600


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


def test_the_ledger_table_in_infra_matches_the_adapter():
    template = load_template(ROOT / "infra" / "users-table.yaml")
    ledger = template["Resources"]["LedgerTable"]["Properties"]
    assert ledger["KeySchema"] == [{"AttributeName": KEY_ATTRIBUTE, "KeyType": "HASH"}]
    assert {"AttributeName": KEY_ATTRIBUTE, "AttributeType": "S"} in ledger["AttributeDefinitions"]
    assert ledger["TimeToLiveSpecification"] == {"AttributeName": TTL_ATTRIBUTE, "Enabled": True}


def test_a_user_recreated_with_the_same_id_is_welcomed_once_per_retention_period(
    make_ledger, clock
):
    """The documented policy: the welcome key is the user id; its ledger entry keeps a deleted
    and re-created user from a second welcome for 30 days, and no longer."""
    sent: list[str] = []

    class Sender:
        def send(self, message: Any) -> str:
            sent.append(message.recipient)
            return f"msg-{len(sent)}"

    logs = io.StringIO()
    handler = UsersStream(
        environ={"WELCOME_EMAIL_SENDER": "hello@example.com"},
        sender=Sender(),
        ledger=make_ledger(),
        log_stream=logs,
    )
    stream = FakeStream()
    user = {"id": "u1", "email": "ada@example.com", "name": "Ada"}

    handler.handle(FakeStream.event([stream.insert(user), stream.remove(user)]))
    clock.now = START + 10 * 24 * 3600
    handler.handle(FakeStream.event([stream.insert(user)]))
    assert sent == ["ada@example.com"]
    assert '"message":"welcome_email_duplicate"' in logs.getvalue()

    clock.now = START + 30 * 24 * 3600 + 1  # expired, even if DynamoDB has not deleted it yet
    handler.handle(FakeStream.event([stream.remove(user), stream.insert(user)]))
    assert sent == ["ada@example.com", "ada@example.com"]


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


def make_ledger_like(table: str, dynamodb: Any, clock: Clock) -> DynamoDBLedger:
    return DynamoDBLedger(table, client_factory=lambda: dynamodb, clock=clock)


def test_another_owners_live_claim_is_not_taken_by_the_token_condition(
    table: str, dynamodb: Any, clock: Clock
) -> None:
    second = make_ledger_like(table, dynamodb, clock)
    live_claim(dynamodb, table, "someone-else", int(clock.now) + 60)
    with pytest.raises(TransientError, match="another invocation"):
        second.once("welcome#u1", Action())


def test_a_done_mark_that_cannot_be_written_is_reported_unmarked(
    make_ledger: Callable[..., DynamoDBLedger], dynamodb: Any
) -> None:
    failing = faulty(dynamodb, scripted({"update_item": [LEDGER_THROTTLE] * MAX_ATTEMPTS}))

    result = make_ledger(failing).once("welcome#u1", Action("msg-1"))

    assert result == "msg-1"
    assert isinstance(result, Unmarked)
    assert result.open_until == START + LEASE_SECONDS
