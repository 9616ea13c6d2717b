"""``make run`` (``python -m devtools.demo --serve``): keep the local pipeline running, watched.

At start it prints the endpoint and the exact commands for *this* pipeline: writing with the
AWS CLI, a second poller on the stream (``python -m devtools.poller``) and a replay of the
on-failure queue (``python -m devtools.replay``), each with the endpoint, stream ARN, ledger
table and sender it needs; and it says where the emulator's state is: in memory (gone at stop,
the default), or in the state file the user chose (``--state``, :mod:`devtools.state`), saved
at stop.

Then it supervises every part, twice a second:

* the **emulator** (moto's server thread) and the **poller** (its thread): if either stops,
  one line says which and why, and serve mode stops with exit 1 and a summary;
* the **Time to Live sweeper** (every 5 s): a failed sweep is one line, and it is tried again;
  after 3 failures in a row serve mode stops with exit 1 and a summary.

Every :data:`METRICS_EVERY` seconds it prints one line of the function's metrics since the
last (records/s, the largest stream lag, emails by outcome, failed records; a JSON object with
``--json``), and at stop a final one over the whole run, and draws the stack's dashboard from
them (:mod:`devtools.dashboard`).

Ctrl-C (or SIGTERM) stops everything with exit 0 and the same summary.
"""

from __future__ import annotations

import contextlib
import shlex
import sys
import time
from pathlib import Path

from devtools import cli, state
from devtools.dashboard import draw_dashboard, pipeline_values
from devtools.localmetrics import summary, summary_text
from devtools.running import SENDER, Pipeline, show_emails

__all__ = ["SWEEP_EVERY", "commands", "serve"]

ROOT = Path(__file__).resolve().parent.parent
SWEEP_EVERY = 5.0
METRICS_EVERY = 5.0
SWEEP_FAILURES_TO_STOP = 3
IN_MEMORY = (
    "State is in memory: the tables, the stream, the ledger, the queue and the sent emails are "
    "gone when this process stops (a new run starts empty, with a new stream; make run "
    "STATE=FILE keeps them)."
)


def _state_note(pipeline: Pipeline) -> str:
    if pipeline.state is None:
        return IN_MEMORY
    return (
        f"State is kept in {pipeline.state}: the tables, the stream, the ledger, the queue and "
        "the sent emails are saved there at stop and loaded at the next start."
    )


def _tool(name: str) -> str:
    """``name`` next to this Python (``.venv/bin/...``), relative to here where possible."""
    found = Path(sys.executable).parent / name
    if not found.exists():
        return name
    try:
        return str(found.relative_to(Path.cwd()))
    except ValueError:
        return str(found)


def commands(pipeline: Pipeline) -> dict[str, str]:
    """The shell commands that work against this running pipeline (run from the project)."""
    emulator, stack = pipeline.emulator, pipeline.stack
    url, region = emulator.endpoint_url, emulator.region
    credentials = (
        f"AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_DEFAULT_REGION={region}"
    )
    handler_env = (  # as the function's environment: replay runs only this stream's ranges
        f"AWS_ENDPOINT_URL={url} WELCOME_EMAIL_SENDER={SENDER} "
        f"USERS_TABLE_STREAM_ARN={shlex.quote(stack.stream_arn)} "
        f"LEDGER_TABLE={stack.ledger_table} REPORT_BATCH_ITEM_FAILURES=true"
    )
    item = '{"id":{"S":"u1"},"email":{"S":"someone@example.com"},"name":{"S":"Someone"}}'
    table = shlex.quote(stack.table_name)
    python, aws = shlex.quote(_tool("python")), shlex.quote(_tool("aws"))
    return {
        "put": f"{credentials} {aws} dynamodb put-item --endpoint-url {url} --table-name {table} "
        f"--item '{item}'",
        "delete": f"{credentials} {aws} dynamodb delete-item --endpoint-url {url} "
        f'--table-name {table} --key \'{{"id":{{"S":"u1"}}}}\'',
        "poller": f"{credentials} {handler_env} {python} -m devtools.poller --endpoint-url {url} "
        f"--stream-arn {shlex.quote(stack.stream_arn)}",
        "replay": f"{credentials} {handler_env} {python} -m devtools.replay --endpoint-url {url} "
        f"--queue-url {shlex.quote(stack.queue_url)}",
    }


def _banner(pipeline: Pipeline) -> None:
    url, stack = pipeline.emulator.endpoint_url, pipeline.stack
    found = commands(pipeline)
    lines = [
        f"The pipeline is running on {url} (Ctrl-C stops everything).",
        f"  table {stack.table_name}, stream {stack.stream_arn}",
        f"  ledger {stack.ledger_table}, sender {SENDER}, on-failure queue {stack.queue_url}",
        f"Write from another terminal, in {Path.cwd()}:",
        f"  {found['put']}",
        f"  {found['delete']}",
        "A second poller on this stream (the ledger keeps emails to one per user):",
        f"  {found['poller']}",
        "Replay the on-failure queue through the handler:",
        f"  {found['replay']}",
        "Items whose expires_at (a number: epoch seconds) has passed are deleted within 5 "
        "seconds, as Time to Live would.",
        _state_note(pipeline),
    ]
    pipeline.console.say(
        "\n".join(lines),
        "serving",
        endpoint_url=url,
        table=stack.table_name,
        stream_arn=stack.stream_arn,
        ledger_table=stack.ledger_table,
        sender=SENDER,
        on_failure_queue_url=stack.queue_url,
        commands=found,
        state=str(pipeline.state) if pipeline.state else "memory",
    )


class Supervisor:
    """Watches the emulator, the poller and the sweeper (see the module docstring)."""

    def __init__(self, pipeline: Pipeline) -> None:
        self.pipeline = pipeline
        self.sweep_failures = 0
        self.next_sweep = time.monotonic() + SWEEP_EVERY

    def problem(self) -> str | None:
        """What failed beyond recovery, in one line; None while all is well."""
        emulator, poller = self.pipeline.emulator, self.pipeline.poller
        if not emulator.alive:
            return "the emulator (moto's server) stopped serving"
        if poller.failure is not None:
            return f"the poller stopped: {cli.describe(poller.failure)}"
        return self._sweep_if_due()

    def _sweep_if_due(self) -> str | None:
        if time.monotonic() < self.next_sweep:
            return None
        self.next_sweep = time.monotonic() + SWEEP_EVERY
        console = self.pipeline.console
        try:
            self.pipeline.sweeper.sweep()
        except Exception as exc:
            self.sweep_failures += 1
            why = cli.describe(exc)
            if self.sweep_failures >= SWEEP_FAILURES_TO_STOP:
                return f"the Time to Live sweeper failed {self.sweep_failures} times: {why}"
            console.say(
                f"the Time to Live sweeper failed ({why}); trying again in {SWEEP_EVERY:.0f}s",
                "warning",
            )
            return None
        if self.sweep_failures:
            console.say("the Time to Live sweeper works again", "info")
        self.sweep_failures = 0
        return None


def _keep_state(pipeline: Pipeline) -> str:
    """Save the state if the user asked for it; what became of it, in words."""
    if pipeline.state is None:
        return "The emulator's state was in memory and is now gone."
    if not pipeline.emulator.alive:
        return f"The emulator stopped: its state could NOT be saved ({pipeline.state} is older)."
    try:
        state.save(pipeline.state, pipeline.stack, pipeline.emulator.region)
    except Exception as exc:
        return f"The emulator's state could NOT be saved to {pipeline.state}: {cli.describe(exc)}"
    return f"The emulator's state is saved in {pipeline.state}."


def _summary(pipeline: Pipeline, started: float, emails: int, problem: str | None) -> None:
    stats = pipeline.poller.stats
    text = (
        f"{'STOPPED because ' + problem if problem else 'Stopped'} after "
        f"{time.monotonic() - started:.0f}s: {stats.records_handled} change(s) handled, "
        f"{stats.records_to_destination} sent to the on-failure queue, {emails} welcome "
        f"email(s) accepted by SES. {_keep_state(pipeline)}"
    )
    kind = "error" if problem else "stopped"
    pipeline.console.say(text, kind, problem=problem, stats=stats.as_dict(), emails=emails)


class MetricsLine:
    """The one-line metrics summary, every :data:`METRICS_EVERY` seconds."""

    def __init__(self, pipeline: Pipeline) -> None:
        self.pipeline = pipeline
        self.namespace = pipeline_values(pipeline)["Namespace"]
        self.since = time.time()

    def tick(self) -> None:
        store, now = self.pipeline.metrics, time.time()
        if store is None or now - self.since < METRICS_EVERY:
            return
        figures = summary(store, self.namespace, self.since, now)
        self.since = now
        self.pipeline.console.say(summary_text(figures), "metrics", final=False, **figures)


def serve(pipeline: Pipeline) -> int:
    """Keep the pipeline running until Ctrl-C or a failure; 0 after Ctrl-C, 1 on a failure."""
    emulator, poller, console = pipeline.emulator, pipeline.poller, pipeline.console
    started, started_at = time.monotonic(), time.time()
    seen = {e.message_id for e in emulator.sent_emails()}
    already = len(seen)
    supervisor = Supervisor(pipeline)
    metrics = MetricsLine(pipeline)
    poller.start()
    with contextlib.suppress(RuntimeError, TimeoutError):  # the supervisor says what happened
        poller.wait_until_caught_up(timeout=30)  # reading from LATEST before anyone writes
    problem = supervisor.problem()
    if problem is None:
        _banner(pipeline)
    while problem is None and not pipeline.stop.wait(0.5):
        problem = supervisor.problem()
        fresh = [e for e in emulator.sent_emails() if e.message_id not in seen]
        seen.update(e.message_id for e in fresh)
        if fresh:
            show_emails(console, fresh)
        metrics.tick()
    if problem is None:
        console.say("Stopping (Ctrl-C again to force)...", "stopping")
    poller.stop()
    _summary(pipeline, started, len(seen) - already, problem)
    if emulator.alive:
        draw_dashboard(pipeline, started_at)
    return 1 if problem else 0
