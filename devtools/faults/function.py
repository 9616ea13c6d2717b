"""The function under test in the fault run, as Lambda runs it: one process at a time.

Each process is the app's real handler (:class:`chalicelib.service.UsersStream` with its real
SES sender and DynamoDB ledger, the ledger on the run's virtual clock) on boto3 clients that
carry that process's faults (:mod:`devtools.faults.inject`), fed by the local event source
mapping with the deployed mapping's settings. A killed process is replaced by a new one, whose
poller resumes from the checkpoint file the killed one left.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, TextIO

from devtools.faults.inject import Before, FaultPlan, Process, ProcessKilled, inject
from devtools.faults.verify import Acknowledged
from devtools.localmetrics import EmfTee, MetricStore, watching
from infra.merge import OVERLAY

__all__ = ["FaultyFunction", "VirtualClock"]


class VirtualClock:
    """The ledger's clock: advanced by the scenario, never by waiting."""

    def __init__(self, start: float) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now


@dataclass(kw_only=True, eq=False)
class FaultyFunction:
    """The function's processes, one at a time, and the poller that feeds the one running."""

    INVOCATION_SECONDS: ClassVar[float] = 2.0
    RESTART_SECONDS: ClassVar[float] = 30.0

    emulator: Any
    stack: Any
    plan: FaultPlan
    name: str
    environ: dict[str, str]  # read by the handler on every invocation: the run changes it
    clock: VirtualClock
    lease_seconds: int
    use_ledger: bool  # False only to show that the checks catch duplicates
    acks: Acknowledged
    metrics: MetricStore
    log_sink: TextIO
    checkpoint_file: Path
    client: Callable[[str], Any]  # the run's own clients (the stream, the queue)
    say: Callable[[str], None]
    restarts: int = field(default=0, init=False)
    processes: int = field(default=0, init=False)
    pollers: list[Any] = field(default_factory=list, init=False)
    poller: Any = field(default=None, init=False)
    # The function's EMF lines, and from them the Lambda-side measurements.
    emf: EmfTee = field(init=False)
    # The deployed mapping's settings (infra/consumer.yaml), the same for every process.
    _deployed: dict[str, Any] = field(init=False)
    _handler_clients: dict[str, Any] = field(default_factory=dict, init=False)
    _before: dict[str, Before] = field(default_factory=dict, init=False)

    def __post_init__(self) -> None:
        from devtools.pipeline.mapping import settings_from_template

        self.emf = EmfTee(io.StringIO(), self.metrics)
        self._deployed = settings_from_template(OVERLAY)

    # -- one simulated process: clients, ledger, sender, handler ------------------------------

    def handler(self) -> Callable[..., Any]:
        """A new process: the real handler, on clients with this process's faults."""
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
            lease_seconds=self.lease_seconds,
        )
        # One email at a time: with several in flight (EMAIL_CONCURRENCY, 16 by default), a kill
        # lands in the documented duplicate window - SES accepted, no done mark yet - of the
        # others, which this run deliberately does not inject (see devtools.faults.run). The
        # concurrent path's contract is proved in tests/chalicelib/test_concurrency_contract.py.
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

    # -- the mapping that feeds it ------------------------------------------------------------

    def start(self) -> Any:
        """A new process and its poller, resuming from the checkpoint file."""
        from devtools.pipeline import JsonFileCheckpoints, MappingConfig, Poller, Progress
        from devtools.pipeline.destination import SqsDestination
        from devtools.pipeline.mapping import checkpoint_key

        config = MappingConfig(
            function_name=self.name,
            stream_arn=self.stack.stream_arn,
            starting_position="TRIM_HORIZON",  # the first chunk is written before polling
            poll_interval=0.01,
            retry_backoff_seconds=0,
            on_failure_destination=self.stack.queue_arn,
        ).with_overrides(**self._deployed)
        poller = Poller(
            config,
            self.handler(),
            self.client("dynamodbstreams"),
            destination=SqsDestination(self.stack.queue_arn, lambda: self.client("sqs")),
            checkpoints=JsonFileCheckpoints(self.checkpoint_file, checkpoint_key(config)),
            progress=Progress(quiet=True),
        )
        self.pollers.append(poller)
        self.poller = poller
        return poller

    def pump(self) -> None:
        """Poll until caught up; on a kill, start a new process and poller from the file."""
        while True:
            try:
                self.poller.drain(timeout=600)
                return
            except ProcessKilled as killed:
                self.restarts += 1
                self.clock.now += self.RESTART_SECONDS
                self.say(f"  killed {killed}; restarting from the checkpoint file")
                self.start()
