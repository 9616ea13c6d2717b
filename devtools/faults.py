"""Fault injection on the local pipeline: ``python -m devtools.faults`` (``make faults``).

A seeded, reproducible scenario. Real writes (inserts, updates, deletes, re-created users,
upserts, invalid addresses) go to the ``Users`` table of ``infra/users-table.yaml``, created in
the embedded emulator; the local event source mapping (:mod:`devtools.pipeline`, with the
deployed mapping's settings from ``infra/consumer.yaml``) feeds them to the real handler
(:class:`chalicelib.service.UsersStream` with its real SES sender and DynamoDB ledger), while
faults strike at random:

* **SES throttling and 5xx**, **ledger throttling** - :class:`FaultyClient` wraps the real boto3
  clients and raises a real :class:`botocore.exceptions.ClientError` *instead of* delegating;
* **the process killed mid-batch** - at a random point (before an SES send, before a ledger
  claim, or after a batch was handled but before its checkpoint) :class:`ProcessKilled` (a
  ``BaseException``, as a dying runtime) escapes the handler and the poller loop, and every
  client of that process stops working, so nothing after the kill reaches AWS (the ledger's
  cleanup fails as it would). A new process and a new poller then resume from the checkpoint
  file the killed one left;
* **poison records** - DynamoDB cannot store an undecodable value, so :meth:`FaultPlan.poison`
  corrupts chosen records *in the event, between the poller and the handler* (an image
  attribute becomes invalid base64); every delivery of such a record is poisoned while faults
  are on. Invalid addresses, by contrast, are written for real.

Not injected: a kill between SES accepting an email and the ledger's done mark - the one
documented duplicate window (``docs/reliability.md``; ``tests/chalicelib/adapters/
test_ledger.py`` shows it). The ledger runs on a virtual clock (each invocation 2 s, each
restart 30 s), so that leases and the run are reproducible.

Outside inputs (issue 11): two chunks begin with 40 changes written while
``WELCOME_EMAIL_SENDER`` is wrong (not an address, then an address SES has not verified), and
the sender is fixed after them; the Users
table can be keyed by another name (``key``, ``USERS_TABLE_KEY``); and before the replay, the
on-failure queue also receives messages naming another table's stream, which the replay must
refuse and leave there (their users get no email).

Then the faults stop, time passes beyond the ledger's lease, and :mod:`devtools.replay` replays
the on-failure queue. The run asserts and prints: every user created with a valid address got
exactly one welcome email (one per user id, see the re-created user policy); every record was
handled or lay in a range on the queue, and after the replay none is unhandled; each key's
changes were handled in stream order; no address or redacted value reached a log line.
"""

from __future__ import annotations

import argparse
import io
import json
import random
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TextIO

from devtools.localmetrics import EmfTee, MetricStore, sample_queue, watching

FAULTS_DASHBOARD = Path(__file__).resolve().parent.parent / "build" / "dashboard-faults.png"

__all__ = [
    "Fault",
    "FaultPlan",
    "FaultRates",
    "FaultRun",
    "FaultyClient",
    "Process",
    "ProcessKilled",
    "Report",
    "client_error",
    "main",
    "scripted",
    "streamed_table",
]

ROOT = Path(__file__).resolve().parent.parent
CONSUMER_TEMPLATE = ROOT / "infra" / "consumer.yaml"

# -- injected errors --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Fault:
    """One injected error: what it counts as, and the AWS error code and HTTP status it has."""

    kind: str
    code: str
    status: int


SES_THROTTLE = Fault("ses_throttle", "Throttling", 400)
SES_5XX = Fault("ses_5xx", "ServiceUnavailable", 503)
LEDGER_THROTTLE = Fault("ledger_throttle", "ProvisionedThroughputExceededException", 400)


def client_error(fault: Fault, operation: str) -> Exception:
    """The :class:`~botocore.exceptions.ClientError` a real endpoint would raise."""
    from botocore.exceptions import ClientError

    response: Any = {
        "Error": {"Code": fault.code, "Message": f"injected fault ({fault.kind})"},
        "ResponseMetadata": {"HTTPStatusCode": fault.status, "RequestId": "injected"},
    }
    return ClientError(response, "".join(p.capitalize() for p in operation.split("_")))


class FaultyClient:
    """A boto3 client stand-in: ``before(method)`` runs before each call and may raise."""

    def __init__(self, inner: Any, before: Callable[[str], None]) -> None:
        self._inner = inner
        self._before = before

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._inner, name)
        if not callable(attribute) or name.startswith("_"):
            return attribute

        def call(*args: Any, **kwargs: Any) -> Any:
            self._before(name)
            return attribute(*args, **kwargs)

        return call


def scripted(plan: dict[str, Iterable[Fault | None]]) -> Callable[[str], None]:
    """A ``before`` for tests: per method, the faults of its successive calls, then none."""
    queues = {method: list(faults) for method, faults in plan.items()}

    def before(method: str) -> None:
        queue = queues.get(method)
        fault = queue.pop(0) if queue else None
        if fault is not None:
            raise client_error(fault, method)

    return before


class ProcessKilled(BaseException):
    """The simulated runtime process died (a ``BaseException``: no handler catches it)."""


class Process:
    """One simulated runtime process. Once killed, every client it made fails."""

    def __init__(self, number: int) -> None:
        self.number = number
        self.dead = False

    def kill(self, where: str) -> None:
        self.dead = True
        raise ProcessKilled(where)

    def check(self) -> None:
        if self.dead:
            raise ConnectionError(f"process {self.number} is gone")


# -- the fault plan ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FaultRates:
    """Probabilities, per opportunity: per SES send, per ledger call, per batch, per record."""

    ses_throttle: float = 0.03
    ses_5xx: float = 0.02
    ledger_throttle: float = 0.01
    kill_before_send: float = 0.01
    kill_before_claim: float = 0.004
    kill_after_batch: float = 0.04
    poison: float = 0.002


class FaultPlan:
    """Decides every fault from one seeded generator, and counts them."""

    def __init__(self, rates: FaultRates, seed: int) -> None:
        self.rates = rates
        self.seed = seed
        self._streams: dict[str, random.Random] = {}
        self.active = True
        self.counts: Counter[str] = Counter()
        self._poisoned: dict[str, bool] = {}

    def _roll(self, kind: str, probability: float) -> bool:
        """One draw from ``kind``'s own seeded stream: kinds do not shift each other."""
        if not self.active:
            return False
        stream = self._streams.get(kind)
        if stream is None:
            stream = self._streams[kind] = random.Random(f"{self.seed}:{kind}")  # noqa: S311
        return stream.random() < probability

    def ses(self, process: Process) -> Callable[[str], None]:
        def before(method: str) -> None:
            process.check()
            if method != "send_email":
                return
            self.counts["ses_calls"] += 1
            if self._roll("kill_before_send", self.rates.kill_before_send):
                self.counts["kill_before_send"] += 1
                process.kill("before an SES send")
            for fault, rate in (
                (SES_THROTTLE, self.rates.ses_throttle),
                (SES_5XX, self.rates.ses_5xx),
            ):
                if self._roll(fault.kind, rate):
                    self.counts[fault.kind] += 1
                    raise client_error(fault, method)

        return before

    def ledger(self, process: Process) -> Callable[[str], None]:
        def before(method: str) -> None:
            process.check()
            if method not in ("put_item", "get_item", "update_item", "delete_item"):
                return
            self.counts["ledger_calls"] += 1
            # Never between SES's acceptance and the done mark (update_item): that window is
            # the documented duplicate, not a fault the design can absorb.
            if method == "put_item" and self._roll(
                "kill_before_claim", self.rates.kill_before_claim
            ):
                self.counts["kill_before_claim"] += 1
                process.kill("before a ledger claim")
            if self._roll(LEDGER_THROTTLE.kind, self.rates.ledger_throttle):
                self.counts[LEDGER_THROTTLE.kind] += 1
                raise client_error(LEDGER_THROTTLE, method)

        return before

    def after_batch(self, process: Process) -> None:
        if self._roll("kill_after_batch", self.rates.kill_after_batch):
            self.counts["kill_after_batch"] += 1
            process.kill("after a batch, before its checkpoint")

    def poison(self, event: dict[str, Any]) -> dict[str, Any]:
        """FAULT INJECTION, not stream data: corrupt the chosen records of this delivery."""
        if not self.active:
            return event
        for record in event["Records"]:
            body = record["dynamodb"]
            sequence = body["SequenceNumber"]
            if sequence not in self._poisoned:
                self._poisoned[sequence] = self._roll("poison", self.rates.poison)
                self.counts["poison_records"] += self._poisoned[sequence]
            if self._poisoned[sequence]:
                image = body.get("NewImage") or body.get("OldImage")
                if image is not None:
                    image["poison"] = {"B": "!! injected: not base64 !!"}
        return event


class VirtualClock:
    """The ledger's clock: advanced by the scenario, never by waiting."""

    def __init__(self, start: float) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now


# -- the workload -----------------------------------------------------------------------------

MARK = "\u2603"  # every planted name and address-less value carries it: it must never be logged
HOSTILE_NAMES = [
    "<script>alert(1)</script>",
    "Ada\r\nBcc: spy@evil.test",
    '"><img src=x onerror=1>',
    "Zoë \u2028 Łukasz",
    "plain",
]


@dataclass
class UserRecord:
    """What the scenario wrote for one user id."""

    creations: list[tuple[str, bool]] = field(default_factory=list)  # (address, valid)
    alive: bool = False


@dataclass
class Workload:
    """Seeded writes to the Users table; remembers what a correct handler must have done."""

    seed: int
    key: str = "id"  # the Users table's partition key (a string)
    users: dict[str, UserRecord] = field(default_factory=dict)
    counts: Counter[str] = field(default_factory=Counter)
    rng: random.Random = field(init=False)
    _next: int = field(init=False, default=0)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)  # noqa: S311 - a reproducible workload

    def _name(self) -> str:
        return f"{MARK}{self._next}{MARK} {self.rng.choice(HOSTILE_NAMES)}"

    def _address(self, user_id: str, valid: bool) -> str:
        n = self.counts["addresses"]
        self.counts["addresses"] += 1
        if valid:
            return f"{user_id}.{n}@example.com"
        return self.rng.choice(
            [
                f"{user_id}.{n}@example.com\r\nBcc: spy{n}@evil.test",
                f"{user_id}.{n}@example.com, spy{n}@evil.test",
                f"{MARK}{user_id}.{n} at example.com",
                f"<{user_id}.{n}@example.com>",
                f"{user_id}.{n}@@example.com",
            ]
        )

    def write(self, dynamodb: Any, table: str, changes: int) -> None:
        for _ in range(changes):
            self.counts["changes"] += 1
            alive = [u for u, r in self.users.items() if r.alive]
            roll = self.rng.random()
            if not alive or roll < 0.40:
                self._insert(dynamodb, table)
            elif roll < 0.82:
                self._update(dynamodb, table, self.rng.choice(alive))
            else:
                user_id = self.rng.choice(alive)
                dynamodb.delete_item(TableName=table, Key={self.key: {"S": user_id}})
                self.users[user_id].alive = False
                self.counts["deletes"] += 1

    def _insert(self, dynamodb: Any, table: str) -> None:
        deleted = [u for u, r in self.users.items() if not r.alive]
        if deleted and self.rng.random() < 0.15:
            user_id = self.rng.choice(deleted)
            self.counts["recreations"] += 1
        else:
            user_id = f"user-{self._next:05d}"
            self._next += 1
        valid = self.rng.random() >= 0.05
        address = self._address(user_id, valid)
        self.counts["inserts"] += 1
        self.counts["invalid_addresses"] += not valid
        record = self.users.setdefault(user_id, UserRecord())
        record.creations.append((address, valid))
        record.alive = True
        name, plan = self._name(), self.rng.choice(["free", "pro"])
        if self.rng.random() < 0.1:  # an upsert: moto emits two INSERTs for it
            self.counts["upserts"] += 1
            dynamodb.update_item(
                TableName=table,
                Key={self.key: {"S": user_id}},
                UpdateExpression="SET email = :e, #n = :n, #p = :p",
                ExpressionAttributeNames={"#n": "name", "#p": "plan"},
                ExpressionAttributeValues={
                    ":e": {"S": address},
                    ":n": {"S": name},
                    ":p": {"S": plan},
                },
            )
            return
        item = {self.key: {"S": user_id}, "email": {"S": address}, "name": {"S": name}}
        dynamodb.put_item(TableName=table, Item={**item, "plan": {"S": plan}})

    def _update(self, dynamodb: Any, table: str, user_id: str) -> None:
        self.counts["updates"] += 1
        values = {":n": {"S": self._name()}, ":v": {"N": str(self.rng.randrange(1000))}}
        expression = "SET #n = :n, visits = :v"
        if self.rng.random() < 0.1:
            values[":e"] = {"S": self._address(user_id, True)}
            expression += ", email = :e"
        dynamodb.update_item(
            TableName=table,
            Key={self.key: {"S": user_id}},
            UpdateExpression=expression,
            ExpressionAttributeNames={"#n": "name"},
            ExpressionAttributeValues=values,
        )


# -- what the handler acknowledged ------------------------------------------------------------


def _sequence(record: dict[str, Any]) -> int:
    return int(record["dynamodb"]["SequenceNumber"])


class Acknowledged:
    """Wraps the handler as the poller sees it: the records each response acknowledged."""

    def __init__(self, key: str = "id") -> None:
        self.key = key
        self.phases: dict[str, list[tuple[int, str]]] = {"live": [], "replay": []}
        self.phase = "live"
        self.batches: list[list[int]] = []  # acknowledged sequence numbers of each replay batch

    def wrap(self, handler: Callable[[dict[str, Any], Any], Any]) -> Callable[..., Any]:
        def handle(event: dict[str, Any], context: Any) -> Any:
            response = handler(event, context)
            records = event["Records"]
            failed = {
                str(f.get("itemIdentifier"))
                for f in (response or {}).get("batchItemFailures") or []
            }
            cut = next(
                (i for i, r in enumerate(records) if r["dynamodb"]["SequenceNumber"] in failed),
                len(records),
            )
            done = [(_sequence(r), r["dynamodb"]["Keys"][self.key]["S"]) for r in records[:cut]]
            self.phases[self.phase].extend(done)
            if self.phase == "replay":
                self.batches.append([s for s, _ in done])
            return response

        return handle


# -- the run ----------------------------------------------------------------------------------


@dataclass
class Report:
    """The figures of one run, and the checks (each must be 0 / True)."""

    seed: int
    changes: int
    workload: dict[str, int]
    stream_records: int
    faults: dict[str, int]
    restarts: int
    pipeline: dict[str, int]
    queue_ranges: int
    queue_records: int
    replay: dict[str, int]
    users_to_welcome: int
    emails: int
    duplicates: int
    missing: int
    wrong_recipient: int
    unaccounted_before_replay: int
    lost: int
    order_violations: int
    log_lines: int
    leaks: int
    elapsed_seconds: float
    key: str = "id"  # the Users table's partition key
    wrong_sender_chunks: int = 0  # chunks written while WELCOME_EMAIL_SENDER was wrong
    wrong_sender_failures: int = 0  # error lines that named the wrong sender
    foreign_messages: int = 0  # on-failure messages of another table's stream
    foreign_emails: int = 0  # emails to that table's users: must be 0

    @property
    def ok(self) -> bool:
        return (
            self.duplicates == 0
            and self.missing == 0
            and self.wrong_recipient == 0
            and self.unaccounted_before_replay == 0
            and self.lost == 0
            and self.order_violations == 0
            and self.leaks == 0
            and self.foreign_emails == 0
            # Only the foreign messages are left, each refused as foreign.
            and self.replay.get("left_in_queue", -1) == self.foreign_messages
            and self.replay.get("foreign", -1) == self.foreign_messages
        )

    def text(self) -> str:
        w, f, p, r = self.workload, self.faults, self.pipeline, self.replay
        kills = f["kill_before_send"] + f["kill_before_claim"] + f["kill_after_batch"]
        return "\n".join(
            [
                f"fault run (seed {self.seed}): {self.changes} changes -> "
                f"{self.stream_records} stream records",
                f"  writes: {w['inserts']} inserts ({w['recreations']} re-created ids, "
                f"{w['upserts']} upserts, {w['invalid_addresses']} invalid addresses), "
                f"{w['updates']} updates, {w['deletes']} deletes",
                f"  faults: {f['ses_throttle']} SES throttles, {f['ses_5xx']} SES 5xx, "
                f"{f['ledger_throttle']} ledger throttles, {kills} kills "
                f"({f['kill_before_send']} before a send, {f['kill_before_claim']} before a "
                f"claim, {f['kill_after_batch']} after a batch) with {self.restarts} restarts, "
                f"{f['poison_records']} poison records",
                f"  pipeline: {p['invocations']} invocations, {p['partial_failures']} partial "
                f"failures, {p['retries']} retries, {self.queue_ranges} ranges "
                f"({self.queue_records} records) sent to the on-failure queue",
                f"  table keyed {self.key!r}; sender wrong in {self.wrong_sender_chunks} chunks "
                f"({self.wrong_sender_failures} error lines name it), then fixed",
                f"  replay: {r['messages']} messages, {r['records_replayed']} records replayed, "
                f"{r['left_in_queue']} left in the queue ({r.get('foreign', 0)} of "
                f"{self.foreign_messages} foreign, refused; {self.foreign_emails} emails to "
                "their users)",
                f"  emails: {self.emails} sent for {self.users_to_welcome} users to welcome: "
                f"duplicates {self.duplicates}, missing {self.missing}, wrong recipient "
                f"{self.wrong_recipient}",
                f"  records: unaccounted before the replay {self.unaccounted_before_replay}, "
                f"lost {self.lost}; per-key order violations {self.order_violations}",
                f"  logs: {self.log_lines} lines, {self.leaks} with an address or a redacted value",
                f"  {'PASS' if self.ok else 'FAIL'} in {self.elapsed_seconds:.1f}s",
            ]
        )


class FaultRun:
    """One scenario on an emulator (its own, or one passed in)."""

    LEASE_SECONDS = 120
    WRONG_SENDER_CHANGES = 40  # changes written while the sender is wrong, in each such chunk
    INVOCATION_SECONDS = 2.0
    RESTART_SECONDS = 30.0

    def __init__(
        self,
        *,
        changes: int = 5000,
        seed: int = 20261127,
        rates: FaultRates | None = None,
        chunks: int = 10,
        emulator: Any = None,
        progress: TextIO | None = None,
        ledger: bool = True,
        key: str = "id",
        misconfigure: bool = True,
        foreign: int = 3,
        metrics: MetricStore | None = None,
    ) -> None:
        self.changes = changes
        self.seed = seed
        self.plan = FaultPlan(rates or FaultRates(), seed + 1)
        self.workload = Workload(seed, key=key)
        self.chunks = max(1, chunks)
        self._emulator = emulator
        self.progress = progress
        self.run_id = uuid.uuid4().hex[:8]
        self.sender = f"welcome-{self.run_id}@example.com"
        # Read by the handler on every invocation, as Lambda's environment: the run changes it.
        self.environ = {
            "WELCOME_EMAIL_SENDER": self.sender,
            "REPORT_BATCH_ITEM_FAILURES": "true",
            "EMAIL_CONCURRENCY": "1",
            "USERS_TABLE_KEY": f"{key}:S",
        }
        # Chunks that begin with WRONG_SENDER_CHANGES changes written while the sender is wrong
        # - not an address at all, then an address SES has not verified - fixed after them:
        # nothing may be lost, nothing sent twice.
        self.wrong_senders = (
            {2: "example.com", 3: f"unverified-{self.run_id}@example.com"}
            if misconfigure and self.chunks >= 5
            else {}
        )
        self.foreign = foreign  # on-failure messages of another table's stream, to be refused
        self.acks = Acknowledged(key)
        self.clock = VirtualClock(time.time())
        self.restarts = 0
        self.processes = 0
        self.use_ledger = ledger  # False only to show that the checks catch duplicates
        self.pollers: list[Any] = []
        self.poller: Any = None
        self._clients: dict[str, Any] = {}
        # The function's EMF lines and the Lambda-side measurements (devtools.localmetrics).
        self.metrics = metrics if metrics is not None else MetricStore()
        self.emf = EmfTee(io.StringIO(), self.metrics)

    def client(self, service: str) -> Any:
        """One boto3 client per service on the emulator, for the whole run."""
        if service not in self._clients:
            self._clients[service] = self.emulator.client(service)
        return self._clients[service]

    def say(self, text: str) -> None:
        if self.progress is not None:
            self.progress.write(text + "\n")
            self.progress.flush()

    # -- one simulated process: clients, ledger, sender, handler ------------------------------

    def _handler(self) -> Callable[..., Any]:
        from chalicelib.adapters.ledger import DynamoDBLedger
        from chalicelib.adapters.ses import SesEmailSender
        from chalicelib.ports import Ledger, NoLedger
        from chalicelib.service import UsersStream

        self.processes += 1
        process = Process(self.processes)
        plan = self.plan
        # The boto3 clients (connection pools) are shared; each process wraps them anew, and a
        # dead process's wrappers fail every call.
        ses = FaultyClient(self.client("ses"), plan.ses(process))
        dynamodb = FaultyClient(self.client("dynamodb"), plan.ledger(process))
        ledger: Ledger = DynamoDBLedger(
            self.stack.ledger_table,
            client_factory=lambda: dynamodb,
            clock=self.clock,
            lease_seconds=self.LEASE_SECONDS,
        )
        # One email at a time: with several in flight (EMAIL_CONCURRENCY, 16 by default), a kill
        # lands in the documented duplicate window - SES accepted, no done mark yet - of the
        # others, which this run deliberately does not inject (see the module docstring). The
        # concurrent path's contract is proved in tests/chalicelib/test_concurrency.py.
        service = UsersStream(
            environ=self.environ,
            sender=SesEmailSender(lambda: ses),
            ledger=ledger if self.use_ledger else NoLedger(),
            log_stream=self.log_sink,
            metrics_stream=self.emf,
        )

        def runtime(event: dict[str, Any], context: Any) -> Any:
            self.clock.now += self.INVOCATION_SECONDS
            response = service.handle(plan.poison(event))
            plan.after_batch(process)
            return response

        return self.acks.wrap(watching(runtime, self.metrics))

    def _poller(self) -> Any:
        from devtools.pipeline import JsonFileCheckpoints, MappingConfig, Poller, Progress
        from devtools.pipeline.destination import SqsDestination
        from devtools.pipeline.mapping import checkpoint_key, settings_from_template

        config = MappingConfig(
            function_name=f"users-stream-faults-{self.run_id}",
            stream_arn=self.stack.stream_arn,
            starting_position="TRIM_HORIZON",  # the first chunk is written before polling
            poll_interval=0.01,
            retry_backoff_seconds=0,
            on_failure_destination=self.stack.queue_arn,
        ).with_overrides(**settings_from_template(CONSUMER_TEMPLATE))
        poller = Poller(
            config,
            self._handler(),
            self.client("dynamodbstreams"),
            destination=SqsDestination(self.stack.queue_arn, lambda: self.client("sqs")),
            checkpoints=JsonFileCheckpoints(self.checkpoint_file, checkpoint_key(config)),
            progress=Progress(quiet=True),
        )
        self.pollers.append(poller)
        return poller

    def _pump(self) -> None:
        """Poll until caught up; on a kill, start a new process and poller from the file."""
        while True:
            try:
                self.poller.drain(timeout=600)
                return
            except ProcessKilled as killed:
                self.restarts += 1
                self.clock.now += self.RESTART_SECONDS
                self.say(f"  killed {killed}; restarting from the checkpoint file")
                self.poller = self._poller()

    # -- the scenario -------------------------------------------------------------------------

    def run(self) -> Report:
        from devtools.emulator import Emulator

        started = time.monotonic()
        own = self._emulator is None
        self.emulator = Emulator().start() if own else self._emulator
        try:
            with tempfile.TemporaryDirectory(prefix="faults-") as scratch:
                self.checkpoint_file = Path(scratch) / "checkpoints.json"
                return self._run(started)
        finally:
            if own:
                self.emulator.stop()

    def _run(self, started: float) -> Report:
        from devtools.replay import LocalHandler, Replayer

        self.log_sink = io.StringIO()
        self.stack = self.emulator.create_stack(
            f"faults-{self.run_id}",
            template=self._template(),
            parameters={
                "UsersTableName": f"faults-users-{self.run_id}",
                "LedgerTableName": f"faults-ledger-{self.run_id}",
            },
        )
        self.emulator.verify_sender(self.sender)
        dynamodb = self.client("dynamodb")
        self.poller = self._poller()
        per_chunk = -(-self.changes // self.chunks)
        written = 0
        chunk = 0
        while written < self.changes:
            count = min(per_chunk, self.changes - written)
            wrong = self.wrong_senders.get(chunk)
            if wrong is not None:  # the first changes of the chunk, while the sender is wrong
                self.environ["WELCOME_EMAIL_SENDER"] = wrong
                head = min(self.WRONG_SENDER_CHANGES, count)
                self.workload.write(dynamodb, self.stack.table_name, head)
                self._pump()
                written, count = written + head, count - head
                self.environ["WELCOME_EMAIL_SENDER"] = self.sender  # fixed
                self.say(f"  {written} changes written and polled, {head} with a wrong sender")
            self.workload.write(dynamodb, self.stack.table_name, count)
            written += count
            self._pump()
            self.say(f"  {written} changes written and polled")
            sample_queue(self.metrics, self.client("sqs"), self.stack.queue_url)
            chunk += 1

        # The faults stop; time passes beyond any lease a killed process left; then replay.
        self.plan.active = False
        queued = self._queue_ranges()
        foreign_addresses = self._foreign_messages()
        self.clock.now += self.LEASE_SECONDS + 1
        self.acks.phase = "replay"
        replayer = Replayer(
            sqs=self.client("sqs"),
            queue_url=self.stack.queue_url,
            streams=self.client("dynamodbstreams"),
            run_batch=LocalHandler(self._handler(), self.poller.config),
        )
        replayed = replayer.run()
        sample_queue(self.metrics, self.client("sqs"), self.stack.queue_url)
        return self._verify(
            queued, replayed.as_dict(), time.monotonic() - started, foreign_addresses
        )

    def _template(self) -> Path:
        """infra/users-table.yaml, its Users table keyed by the run's key name."""
        from devtools.emulator import TEMPLATE

        key = self.workload.key
        if key == "id":
            return TEMPLATE
        body = TEMPLATE.read_text(encoding="utf-8")
        keyed = body.replace(
            "- { AttributeName: id, AttributeType: S }",
            f"- {{ AttributeName: {key}, AttributeType: S }}",
        ).replace(
            "- { AttributeName: id, KeyType: HASH }", f"- {{ AttributeName: {key}, KeyType: HASH }}"
        )
        if keyed.count(key) < 2:
            raise RuntimeError(f"cannot key the Users table of {TEMPLATE} by {key!r}")
        path = self.checkpoint_file.with_name("users-table.yaml")
        path.write_text(keyed, encoding="utf-8")
        return path

    def _foreign_messages(self) -> set[str]:
        """Put on the queue, for each of ``self.foreign`` new users of another table (keyed
        ``user_id``), the on-failure message Lambda would send for it; the addresses."""
        from devtools.pipeline.destination import SqsDestination, failure_record
        from devtools.pipeline.events import lambda_record

        if not self.foreign:
            return set()
        dynamodb, streams = self.client("dynamodb"), self.client("dynamodbstreams")
        table = f"faults-other-{self.run_id}"
        arn = streamed_table(dynamodb, table, "user_id")
        addresses = {f"other-{n}-{self.run_id}@example.com" for n in range(self.foreign)}
        for n, address in enumerate(sorted(addresses)):
            item = {"user_id": {"S": f"other-{n}"}, "email": {"S": address}}
            dynamodb.put_item(TableName=table, Item=item)
        (shard,) = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]
        iterator = streams.get_shard_iterator(
            StreamArn=arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        raws = streams.get_records(ShardIterator=iterator)["Records"]
        queue = SqsDestination(self.stack.queue_arn, lambda: self.client("sqs"))
        for raw in raws:
            queue.send(
                failure_record(
                    records=[lambda_record(raw, arn)],
                    shard_id=shard["ShardId"],
                    stream_arn=arn,
                    function_arn="arn:aws:lambda:us-east-1:000000000000:function:other",
                    condition="RetryAttemptsExhausted",
                    invoke_count=6,
                    function_error=None,
                    now=self.clock.now,
                )
            )
        return addresses

    def _queue_ranges(self) -> list[tuple[int, int]]:
        """The ranges on the on-failure queue (read, then made visible again)."""
        sqs = self.client("sqs")
        seen: dict[str, dict[str, Any]] = {}
        while True:
            response = sqs.receive_message(
                QueueUrl=self.stack.queue_url, MaxNumberOfMessages=10, VisibilityTimeout=60
            )
            fresh = [m for m in response.get("Messages", []) if m["MessageId"] not in seen]
            if not fresh:
                break
            seen.update((m["MessageId"], m) for m in fresh)
        ranges = []
        for message in seen.values():
            info = json.loads(message["Body"])["DDBStreamBatchInfo"]
            ranges.append((int(info["startSequenceNumber"]), int(info["endSequenceNumber"])))
            sqs.change_message_visibility(
                QueueUrl=self.stack.queue_url,
                ReceiptHandle=message["ReceiptHandle"],
                VisibilityTimeout=0,
            )
        return sorted(ranges)

    def _stream(self) -> list[tuple[int, str]]:
        """Every record in the stream: (sequence number, user id), in order."""
        streams = self.client("dynamodbstreams")
        found: list[tuple[int, str]] = []
        shards = streams.describe_stream(StreamArn=self.stack.stream_arn)["StreamDescription"]
        for shard in shards["Shards"]:
            iterator = streams.get_shard_iterator(
                StreamArn=self.stack.stream_arn,
                ShardId=shard["ShardId"],
                ShardIteratorType="TRIM_HORIZON",
            ).get("ShardIterator")
            while iterator:
                page = streams.get_records(ShardIterator=iterator, Limit=1000)
                if not page["Records"]:
                    break
                key = self.workload.key
                found += [(_sequence(r), r["dynamodb"]["Keys"][key]["S"]) for r in page["Records"]]
                iterator = page.get("NextShardIterator")
        return found

    def _verify(
        self,
        queued: list[tuple[int, int]],
        replay: dict[str, int],
        elapsed: float,
        foreign_addresses: set[str],
    ) -> Report:
        stream = self._stream()
        live = self.acks.phases["live"]
        handled_live = {s for s, _ in live}
        handled = handled_live | {s for s, _ in self.acks.phases["replay"]}

        def queued_at(sequence: int) -> bool:
            return any(start <= sequence <= end for start, end in queued)

        unaccounted = [s for s, _ in stream if s not in handled_live and not queued_at(s)]
        lost = [s for s, _ in stream if s not in handled]
        queue_records = sum(1 for s, _ in stream if queued_at(s))

        # Order: per key, the first acknowledgements of the live run rise; so does every batch
        # of the replay (a replayed range necessarily comes after later live records).
        violations = 0
        last: dict[str, int] = {}
        first_seen: set[int] = set()
        for sequence, key in live:
            if sequence in first_seen:
                continue
            first_seen.add(sequence)
            if sequence < last.get(key, -1):
                violations += 1
            last[key] = max(sequence, last.get(key, -1))
        violations += sum(batch != sorted(batch) for batch in self.acks.batches)

        sent = [e for e in self.emulator.sent_emails() if e.source == self.sender]
        foreign_emails = sum(1 for e in sent if set(e.to) & foreign_addresses)
        owner = {
            address: user_id
            for user_id, record in self.workload.users.items()
            for address, valid in record.creations
            if valid
        }
        per_user: Counter[str] = Counter()
        wrong = 0
        for email in sent:
            (recipient,) = email.to
            if recipient in owner:
                per_user[owner[recipient]] += 1
            else:
                wrong += 1
        to_welcome = [
            user_id
            for user_id, record in self.workload.users.items()
            if any(valid for _, valid in record.creations)
        ]
        duplicates = sum(max(0, n - 1) for n in per_user.values())
        missing = sum(1 for user_id in to_welcome if per_user[user_id] == 0)

        lines = self.log_sink.getvalue().splitlines()
        leaks = sum(1 for line in lines if _leaks(line))
        wrong_sender = sum(
            1 for line in lines if "WELCOME_EMAIL_SENDER" in line or "SES refused" in line
        )

        counts = self.plan.counts
        pipeline: Counter[str] = Counter()
        for poller in self.pollers:
            pipeline.update({k: v for k, v in poller.stats.as_dict().items() if isinstance(v, int)})
        return Report(
            seed=self.seed,
            changes=self.changes,
            workload={
                kind: self.workload.counts[kind]
                for kind in (
                    "changes",
                    "inserts",
                    "recreations",
                    "upserts",
                    "invalid_addresses",
                    "updates",
                    "deletes",
                )
            },
            stream_records=len(stream),
            faults={
                kind: counts[kind]
                for kind in (
                    "ses_throttle",
                    "ses_5xx",
                    "ledger_throttle",
                    "kill_before_send",
                    "kill_before_claim",
                    "kill_after_batch",
                    "poison_records",
                )
            },
            restarts=self.restarts,
            pipeline={k: pipeline[k] for k in ("invocations", "partial_failures", "retries")},
            queue_ranges=len(queued),
            queue_records=queue_records,
            replay=replay,
            users_to_welcome=len(to_welcome),
            emails=len(sent),
            duplicates=duplicates,
            missing=missing,
            wrong_recipient=wrong,
            unaccounted_before_replay=len(unaccounted),
            lost=len(lost),
            order_violations=violations,
            log_lines=len(lines),
            leaks=leaks,
            elapsed_seconds=round(elapsed, 1),
            key=self.workload.key,
            wrong_sender_chunks=len(self.wrong_senders),
            wrong_sender_failures=wrong_sender,
            foreign_messages=len(foreign_addresses),
            foreign_emails=foreign_emails,
        )


def _strings(value: Any) -> Iterable[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def _leaks(line: str) -> bool:
    """A log line holds personal data: an address (any ``@``) or a planted value (``MARK``).

    Read as JSON, so that no escaping can hide a value from the check."""
    try:
        entry = json.loads(line)
    except ValueError:
        return True  # not one JSON line: a line break got in
    return any("@" in text or MARK in text for text in _strings(entry))


def streamed_table(dynamodb: Any, name: str, key: str) -> str:
    """Create table ``name`` keyed by the string ``key``, with a NEW_AND_OLD_IMAGES stream;
    its stream ARN."""
    described = dynamodb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": key, "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": key, "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )
    return str(described["TableDescription"]["LatestStreamArn"])


# -- the command ------------------------------------------------------------------------------


def quiet_emulator() -> None:
    """moto says, for each alarm of the stack, that its CloudFormation cannot create alarms."""
    import logging
    import warnings

    logging.getLogger("moto").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", message="Tried to parse .* not supported by moto")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m devtools.faults",
        description="Seeded fault-injection run on the local pipeline (see the module docstring).",
    )
    parser.add_argument("--changes", type=int, default=5000, help="writes to make (5000)")
    parser.add_argument("--seed", type=int, default=20261127)
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--quiet", action="store_true", help="no progress lines")
    parser.add_argument(
        "--dashboard",
        type=Path,
        default=FAULTS_DASHBOARD,
        help="where to draw the dashboard from the run's metrics (PNG; default "
        "build/dashboard-faults.png)",
    )
    parser.add_argument(
        "--other-key",
        default="user_id",
        help="then run a fifth-size scenario on a Users table keyed by this name (user_id); "
        "'' for none",
    )
    args = parser.parse_args(argv)
    if args.changes < 1:
        parser.error("--changes must be at least 1")
    quiet_emulator()
    scenarios = [("id", args.changes)]
    if args.other_key:
        scenarios.append((args.other_key, max(100, args.changes // 5)))
    reports = []
    metrics = MetricStore()
    for key, changes in scenarios:
        run = FaultRun(
            changes=changes,
            seed=args.seed,
            key=key,
            progress=None if args.quiet or args.json else sys.stdout,
            metrics=metrics,
        )
        reports.append(run.run())
        if not args.json:
            print(reports[-1].text())
    _draw(metrics, args.dashboard, quiet=args.json)
    if args.json:
        print(json.dumps([{**asdict(r), "ok": r.ok} for r in reports], indent=1))
    return 0 if all(r.ok for r in reports) else 1


def _draw(metrics: MetricStore, output: Path, *, quiet: bool) -> None:
    """The stack's dashboard, drawn from every scenario's metrics."""
    from devtools.dashboard import local_values, render

    values = local_values(region="us-east-1", function="users-stream-faults", queue="faults")
    render(metrics, values, output)
    if not quiet:
        print(f"Dashboard drawn from {metrics.emf_lines} EMF line(s): {output}")


if __name__ == "__main__":
    sys.exit(main())
