"""``make demo`` / ``make run``: the whole users-stream pipeline on this machine, no AWS account.

``python -m devtools.demo`` starts the embedded emulator (moto, 127.0.0.1 only), creates
``infra/users-table.yaml`` in it through CloudFormation, verifies the sender in its SES, starts
the local event source mapping on the app's ``handle_user_changes`` with the settings of the
deployed mapping (``infra/consumer.yaml``), writes sample users (create, update, delete, an
upsert and a Time to Live expiry), shows each change the handler received and the welcome
emails the emulator's SES accepted, then stops everything and exits 0 (1 if the pipeline did
not do what it should).

``python -m devtools.demo --serve`` keeps the pipeline running on http://127.0.0.1:8000 until
Ctrl-C, so that any client (``aws dynamodb put-item --endpoint-url http://127.0.0.1:8000 ...``)
can write and watch the handler react (see :mod:`devtools.serve`).
"""

from __future__ import annotations

import argparse
import importlib
import os
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from types import FrameType
from typing import Any

from devtools import cli, state
from devtools.dashboard import DEFAULT_OUTPUT, draw_dashboard
from devtools.emulator import DEFAULT_PORT, Emulator, EmulatorError, Stack, TtlSweeper
from devtools.localmetrics import MetricStore, tee_stdout, watching
from devtools.pipeline import (
    JsonFileCheckpoints,
    Poller,
    Progress,
    SqsDestination,
    discover,
)
from devtools.pipeline.continuity import StreamWatch, stale_keys
from devtools.pipeline.mapping import Handler, checkpoint_key, settings_from_template
from devtools.running import SENDER, Console, Pipeline, show_emails
from devtools.samples import EXPECTED_EMAILS, sample_writes
from devtools.serve import serve

__all__ = ["main", "parser"]

PROG = "python -m devtools.demo"

ROOT = Path(__file__).resolve().parent.parent
CONSUMER_TEMPLATE = ROOT / "infra" / "consumer.yaml"
MOTO_NOTES = (
    "moto differs from DynamoDB in ways you may see here: an UpdateItem that creates an item "
    "emits two INSERTs (the first with the key only), a write that changes nothing still emits "
    "MODIFY, Time to Live never deletes (this demo's sweeper does it, see below), and the "
    "stream has one shard. A cancelled transaction would leave a phantom change and stall the "
    "stream in moto: the emulator patches that (docs/local-pipeline.md lists every difference)."
)


def _describe(record: dict[str, Any]) -> str:
    body = record["dynamodb"]
    keys = ", ".join(f"{k}={next(iter(v.values()))}" for k, v in body.get("Keys", {}).items())
    ttl = " (Time to Live expiry)" if record.get("userIdentity") else ""
    sequence = body.get("SequenceNumber", "")
    return f"  captured {record['eventName']:<6} {keys}{ttl}  [sequence {sequence}]"


def showing(handler: Handler, console: Console) -> Handler:
    """``handler``, printing each change it receives first (events and responses unchanged)."""

    def show(event: dict[str, Any], context: Any) -> Any:
        for record in event.get("Records", []):
            console.say(_describe(record), "change", record=record)
        return handler(event, context)

    return show


def _function_environment(emulator: Emulator, stack: Stack) -> dict[str, str]:
    env = emulator.function_environment(stack, SENDER)
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE"):
        os.environ.pop(name, None)
    os.environ.update(env)
    return env


def build_poller(
    emulator: Emulator,
    stack: Stack,
    console: Console,
    *,
    json_lines: bool,
    poll_interval: float,
    checkpoint_file: Path | None,
    sweeper: TtlSweeper,
    metrics: MetricStore | None = None,
) -> Poller:
    """The app's stream handler, discovered from the Chalice app, mapped like the deployment."""
    env = _function_environment(emulator, stack)
    app_module = importlib.import_module("app")
    deployed = settings_from_template(CONSUMER_TEMPLATE)
    deployed["report_batch_item_failures"] = env["REPORT_BATCH_ITEM_FAILURES"] == "true"
    [found] = discover(
        app_module.app,
        module=app_module,
        stream_arn=stack.stream_arn,
        on_failure_destination=stack.queue_arn,
        poll_interval=poll_interval,
        **deployed,
    )
    checkpoints = None
    if checkpoint_file:
        checkpoints = JsonFileCheckpoints(checkpoint_file, checkpoint_key(found.config))
        for key in checkpoints.prune(stale_keys(found.config)):
            console.say(f"  checkpoints of a stream that is gone, pruned: {key}", "checkpoints")
    handler = found.handler if metrics is None else watching(found.handler, metrics)
    return Poller(
        found.config,
        showing(handler, console),
        emulator.client("dynamodbstreams"),
        destination=SqsDestination(stack.queue_arn, lambda: emulator.client("sqs")),
        checkpoints=checkpoints,
        progress=Progress(json_lines=json_lines),
        transform_record=sweeper.mark,
        watch=StreamWatch(emulator.client("dynamodb")),
    )


def run_demo(pipeline: Pipeline) -> int:
    """Write the sample users, check what the handler did; 0 if all is as it should be."""
    emulator, stack, poller = pipeline.emulator, pipeline.stack, pipeline.poller
    console, sweeper, stop = pipeline.console, pipeline.sweeper, pipeline.stop
    dynamodb = emulator.client("dynamodb")
    attribute = sweeper.attribute() or "expires_at"
    already = {e.message_id for e in emulator.sent_emails()}
    poller.start()
    poller.wait_until_caught_up(timeout=30)  # shards listed and read: LATEST is set from here
    for text, write in sample_writes(dynamodb, stack.table_name, sweeper, attribute):
        if stop.is_set():
            return 130
        console.say(f"> {text}", "write")
        write()
        poller.wait_until_caught_up(timeout=30)
    poller.stop()
    emails = [e for e in emulator.sent_emails() if e.message_id not in already]
    show_emails(console, emails)
    problems = []
    received = sorted(address for email in emails for address in email.to)
    if received != sorted(EXPECTED_EMAILS):
        problems.append(f"expected one email each to {EXPECTED_EMAILS}, got {received}")
    stats = poller.stats
    if stats.function_errors or stats.records_to_destination or stats.records_discarded:
        problems.append("some records failed (see the poller lines above)")
    for problem in problems:
        console.say(f"DEMO FAILED: {problem}", "error")
    draw_dashboard(pipeline)
    if not problems:
        console.say(
            "Demo complete: every change reached the handler, in order, and each new user got "
            "exactly one welcome email.",
            "done",
        )
    return 1 if problems else 0


def parser() -> argparse.ArgumentParser:
    """The command line (every flag with its help)."""
    p = cli.parser(PROG, __doc__.split("\n\n")[0] if __doc__ else None)
    p.add_argument("--serve", action="store_true", help="keep running until Ctrl-C (make run)")
    p.add_argument(
        "--port",
        type=_port,
        default=None,
        help=f"emulator port (default: {DEFAULT_PORT} with --serve, any free port otherwise)",
    )
    p.add_argument("--table", default="Users", help="Users table name (default: Users)")
    p.add_argument("--json", action="store_true", help="JSON lines instead of text")
    p.add_argument(
        "--poll-interval",
        type=cli.non_negative_float,
        default=0.25,
        help="seconds between reads of an idle shard (0.25)",
    )
    p.add_argument(
        "--state",
        type=Path,
        default=None,
        help="with --serve: keep the emulator's state in this file across restarts (loaded at "
        "start if it exists, saved at stop; checkpoints next to it). Default: in memory only",
    )
    p.add_argument(
        "--dashboard",
        type=Path,
        default=DEFAULT_OUTPUT,
        help="where to draw the dashboard at the end, from the run's metrics (PNG; default "
        "build/dashboard.png)",
    )
    p.add_argument(
        "--checkpoint-file",
        type=Path,
        default=None,
        help="keep the poller's checkpoints in this file (entries of dead streams are pruned)",
    )
    return p


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"must be 0 (any free port) to 65535, not {value}")
    return value


def _start(port: int) -> Emulator:
    emulator = Emulator(port=port)
    try:
        return emulator.start()
    except EmulatorError as exc:
        hint = " (another port: make run PORT=8001, or --port)" if port else ""
        raise cli.Failure(f"cannot start the emulator: {exc}{hint}") from exc


def _assemble(
    args: argparse.Namespace,
    emulator: Emulator,
    console: Console,
    stop: threading.Event,
    metrics: MetricStore,
) -> Pipeline:
    console.say(f"Emulator (moto) listening on {emulator.endpoint_url}", "emulator")
    stack = _stack(args, emulator, console)
    if stack.skipped:
        names = ", ".join(f"{lid} ({kind})" for lid, kind in stack.skipped)
        console.say(f"  not created (moto's CloudFormation lacks them): {names}", "stack")
    console.say(f"Note: {MOTO_NOTES}", "note")
    emulator.verify_sender(SENDER)
    sweeper = TtlSweeper(emulator.client("dynamodb"), stack.table_name)
    poller = build_poller(
        emulator,
        stack,
        console,
        json_lines=args.json,
        poll_interval=args.poll_interval,
        checkpoint_file=args.checkpoint_file
        or (state.checkpoint_file(args.state) if args.state else None),
        sweeper=sweeper,
        metrics=metrics,
    )
    return Pipeline(
        emulator, stack, poller, console, sweeper, stop, args.state, metrics, args.dashboard
    )


def _stack(args: argparse.Namespace, emulator: Emulator, console: Console) -> Stack:
    """The stack: loaded with the state of the last run (``--state``), or created."""
    loaded = state.load(args.state, emulator.region) if args.state else None
    if loaded is not None:
        console.say(
            f"State of the last run loaded from {args.state}: stack {loaded.name}, table "
            f"{loaded.table_name}; the poller resumes after its last checkpoint",
            "state",
            outputs=dict(loaded.outputs),
        )
        return loaded
    stack = emulator.create_stack(parameters={"UsersTableName": args.table})
    console.say(
        f"Stack {stack.name} created from infra/users-table.yaml through CloudFormation: "
        f"table {stack.table_name}, ledger {stack.ledger_table}, on-failure queue "
        f"{stack.queue_url}",
        "stack",
        outputs=dict(stack.outputs),
    )
    return stack


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.state and not args.serve:
        raise cli.UsageError("--state keeps the state of make run: it needs --serve")
    console = Console(args.json)
    port = args.port if args.port is not None else (DEFAULT_PORT if args.serve else 0)
    emulator = _start(port)
    pipeline: Pipeline | None = None
    stop = threading.Event()

    def interrupt(signum: int, frame: FrameType | None) -> None:
        # Only set the flag: printing here could deadlock on a lock the interrupted code holds.
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()

    previous = signal.signal(signal.SIGINT, interrupt)
    previous_term = signal.signal(signal.SIGTERM, interrupt)
    metrics = MetricStore()
    try:
        with tee_stdout(metrics):  # as CloudWatch Logs reads the function's EMF lines
            pipeline = _assemble(args, emulator, console, stop, metrics)
            return serve(pipeline) if args.serve else run_demo(pipeline)
    except KeyboardInterrupt:
        return 130
    finally:
        if pipeline is not None:
            pipeline.poller.stop()
        emulator.stop()
        signal.signal(signal.SIGINT, previous)
        signal.signal(signal.SIGTERM, previous_term)


if __name__ == "__main__":
    sys.exit(cli.run(main, prog=PROG))
