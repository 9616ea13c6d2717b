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
test_ledger_done_marks.py`` shows it). The ledger runs on a virtual clock (each invocation 2 s, each
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
from pathlib import Path
from typing import Any, TextIO

from devtools.faults.function import FaultyFunction, VirtualClock
from devtools.faults.inject import FaultPlan, FaultRates
from devtools.faults.observe import queue_ranges, stream_keys
from devtools.faults.verify import Acknowledged, Facts, Report, verify
from devtools.faults.workload import Workload, foreign_messages, keyed_template
from devtools.localmetrics import MetricStore, sample_queue

__all__ = ["FaultRun"]


class FaultRun:
    """One scenario on an emulator (its own, or one passed in)."""

    LEASE_SECONDS = 120
    WRONG_SENDER_CHANGES = 40  # changes written while the sender is wrong, in each such chunk

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
        self.use_ledger = ledger  # False only to show that the checks catch duplicates
        self._clients: dict[str, Any] = {}
        # The function's EMF lines and the Lambda-side measurements (devtools.localmetrics).
        self.metrics = metrics if metrics is not None else MetricStore()

    def client(self, service: str) -> Any:
        """One boto3 client per service on the emulator, for the whole run."""
        if service not in self._clients:
            self._clients[service] = self.emulator.client(service)
        return self._clients[service]

    def say(self, text: str) -> None:
        if self.progress is not None:
            self.progress.write(text + "\n")
            self.progress.flush()

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
        self.function = FaultyFunction(
            emulator=self.emulator,
            stack=self.stack,
            plan=self.plan,
            name=f"users-stream-faults-{self.run_id}",
            environ=self.environ,
            clock=self.clock,
            lease_seconds=self.LEASE_SECONDS,
            use_ledger=self.use_ledger,
            acks=self.acks,
            metrics=self.metrics,
            log_sink=self.log_sink,
            checkpoint_file=self.checkpoint_file,
            client=self.client,
            say=self.say,
        )
        self.function.start()
        self._write_and_poll()

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
        replayed = self._replay()
        return verify(self._facts(queued, replayed, started, foreign_addresses))

    def _write_and_poll(self) -> None:
        """The changes, chunk by chunk, each polled until caught up; in the chunks of
        :attr:`wrong_senders`, the first changes are written while the sender is wrong."""
        dynamodb = self.client("dynamodb")
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
                self.function.pump()
                written, count = written + head, count - head
                self.environ["WELCOME_EMAIL_SENDER"] = self.sender  # fixed
                self.say(f"  {written} changes written and polled, {head} with a wrong sender")
            self.workload.write(dynamodb, self.stack.table_name, count)
            written += count
            self.function.pump()
            self.say(f"  {written} changes written and polled")
            sample_queue(self.metrics, self.client("sqs"), self.stack.queue_url)
            chunk += 1

    def _replay(self) -> dict[str, int]:
        """The on-failure queue, replayed by the replay command's code in a new process."""
        from devtools.replay import LocalHandler, Replayer

        self.acks.phase = "replay"
        replayer = Replayer(
            sqs=self.client("sqs"),
            queue_url=self.stack.queue_url,
            streams=self.client("dynamodbstreams"),
            run_batch=LocalHandler(self.function.handler(), self.function.poller.config),
        )
        replayed = replayer.run()
        sample_queue(self.metrics, self.client("sqs"), self.stack.queue_url)
        return replayed.as_dict()

    def _facts(
        self,
        queued: list[tuple[int, int]],
        replay: dict[str, int],
        started: float,
        foreign_addresses: set[str],
    ) -> Facts:
        pipeline: Counter[str] = Counter()
        for poller in self.function.pollers:
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
            restarts=self.function.restarts,
            wrong_sender_chunks=len(self.wrong_senders),
            elapsed=time.monotonic() - started,
        )
