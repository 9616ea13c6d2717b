"""Fault injection on the local pipeline: ``python -m devtools.faults`` (``make faults``).

A seeded, reproducible scenario. Real writes (inserts, updates, deletes, re-created users,
upserts, invalid addresses) go to the ``Users`` table of ``infra/users-table.yaml``, created in
the embedded emulator; the local event source mapping (:mod:`devtools.pipeline`, with the
deployed mapping's settings from ``infra/consumer.yaml``) feeds them to the real handler
(:class:`chalicelib.service.UsersStream` with its real SES sender and DynamoDB ledger), while
faults strike at random:

* **SES throttling and 5xx**, **ledger throttling** - injected below botocore
  (:mod:`devtools.faults.inject`): the handler's real boto3 clients get an HTTP error response
  instead of the emulator's, which botocore parses and retries in its standard mode with the
  app's retry budget (:mod:`chalicelib.clients`), as it would with AWS;
* **the process killed mid-batch** - at a random point (before an SES send, before a ledger
  claim, or after a batch was handled but before its checkpoint) :class:`ProcessKilled` (a
  ``BaseException``, as a dying runtime) escapes the handler and the poller loop, and every
  client of that process stops working, so nothing after the kill reaches AWS (the ledger's
  cleanup fails as it would). A new process and a new poller then resume from the checkpoint
  file the killed one left;
* **poison records** - DynamoDB cannot store an undecodable value, so ``FaultPlan.poison``
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

import io
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

from devtools.faults.inject import Before, FaultPlan, FaultRates, Process, ProcessKilled, inject
from devtools.faults.observe import queue_ranges, stream_keys
from devtools.faults.verify import Acknowledged, Facts, Report, verify
from devtools.faults.workload import Workload, foreign_messages, keyed_template
from devtools.localmetrics import EmfTee, MetricStore, sample_queue, watching

__all__ = ["CONSUMER_TEMPLATE", "FaultRun"]

ROOT = Path(__file__).resolve().parent.parent.parent
CONSUMER_TEMPLATE = ROOT / "infra" / "consumer.yaml"


class VirtualClock:
    """The ledger's clock: advanced by the scenario, never by waiting."""

    def __init__(self, start: float) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now


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
        self._handler_clients: dict[str, Any] = {}
        self._before: dict[str, Before] = {}

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
        # The handler's clients (connection pools) are shared by the processes; the faults of
        # the process now running reach them (a dead process's cleanup fails, see Process).
        self._before["ses"], self._before["dynamodb"] = plan.ses(process), plan.ledger(process)
        ses, dynamodb = self._faulty("ses"), self._faulty("dynamodb")
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

    def _faulty(self, service: str) -> Any:
        """The handler's client for ``service``: made as Lambda's are (the app's retry
        budget, standard mode), with the current process's faults injected below botocore."""
        from chalicelib.clients import client_config

        if service not in self._handler_clients:
            client = self.emulator.client(service, client_config())
            self._handler_clients[service] = inject(
                client, lambda method: self._before[service](method)
            )
        return self._handler_clients[service]

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
        from devtools.pipeline.destination import SqsDestination
        from devtools.replay import LocalHandler, Replayer

        self.log_sink = io.StringIO()
        self.stack = self.emulator.create_stack(
            f"faults-{self.run_id}",
            template=keyed_template(self.workload.key, self.checkpoint_file.parent),
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
        queued = queue_ranges(self.client("sqs"), self.stack.queue_url)
        foreign_addresses = foreign_messages(
            self.client("dynamodb"),
            self.client("dynamodbstreams"),
            SqsDestination(self.stack.queue_arn, lambda: self.client("sqs")),
            f"faults-other-{self.run_id}",
            self.foreign,
            self.clock.now,
        )
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
        return verify(self._facts(queued, replayed.as_dict(), started, foreign_addresses))

    def _facts(
        self,
        queued: list[tuple[int, int]],
        replay: dict[str, int],
        started: float,
        foreign_addresses: set[str],
    ) -> Facts:
        pipeline: Counter[str] = Counter()
        for poller in self.pollers:
            pipeline.update({k: v for k, v in poller.stats.as_dict().items() if isinstance(v, int)})
        return Facts(
            seed=self.seed,
            changes=self.changes,
            workload=self.workload,
            stream=stream_keys(
                self.client("dynamodbstreams"), self.stack.stream_arn, self.workload.key
            ),
            acks=self.acks,
            queued=queued,
            replay=replay,
            sent=[e for e in self.emulator.sent_emails() if e.source == self.sender],
            foreign_addresses=foreign_addresses,
            lines=self.log_sink.getvalue().splitlines(),
            faults=self.plan.counts,
            pipeline=pipeline,
            restarts=self.restarts,
            wrong_sender_chunks=len(self.wrong_senders),
            elapsed=time.monotonic() - started,
        )
