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
can write and watch the handler react.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

from devtools.emulator import DEFAULT_PORT, Emulator, EmulatorError, SentEmail, Stack, TtlSweeper
from devtools.pipeline import (
    JsonFileCheckpoints,
    Poller,
    Progress,
    SqsDestination,
    discover,
)
from devtools.pipeline.mapping import Handler, checkpoint_key, settings_from_template

__all__ = ["main"]

ROOT = Path(__file__).resolve().parent.parent
CONSUMER_TEMPLATE = ROOT / "infra" / "consumer.yaml"
SENDER = "welcome@example.com"
MOTO_NOTES = (
    "moto differs from DynamoDB in ways you may see here: an UpdateItem that creates an item "
    "emits two INSERTs (the first with the key only), a write that changes nothing still emits "
    "MODIFY, Time to Live never deletes (this demo's sweeper does it, see below), and the "
    "stream has one shard."
)


class Console:
    """The demo's own lines: readable text, or JSON objects with ``"source": "demo"``."""

    def __init__(self, json_lines: bool, out: Any = None) -> None:
        self.json_lines = json_lines
        self.out = out if out is not None else sys.stdout
        self.lock = threading.RLock()

    def say(self, text: str, kind: str = "info", **fields: Any) -> None:
        with self.lock:
            if self.json_lines:
                entry = {"source": "demo", "kind": kind, "message": text, **fields}
                self.out.write(json.dumps(entry, default=str) + "\n")
            else:
                self.out.write(text + "\n")
            self.out.flush()


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
    checkpoints = (
        JsonFileCheckpoints(checkpoint_file, checkpoint_key(found.config))
        if checkpoint_file
        else None
    )
    return Poller(
        found.config,
        showing(found.handler, console),
        emulator.client("dynamodbstreams"),
        destination=SqsDestination(stack.queue_arn, lambda: emulator.client("sqs")),
        checkpoints=checkpoints,
        progress=Progress(json_lines=json_lines),
        transform_record=sweeper.mark,
    )


def _item(user_id: str, email: str, name: str, **extra: Any) -> dict[str, Any]:
    item: dict[str, Any] = {"id": {"S": user_id}, "email": {"S": email}, "name": {"S": name}}
    for attribute, value in extra.items():
        item[attribute] = {"N": str(value)} if isinstance(value, int) else {"S": str(value)}
    return item


def sample_writes(
    dynamodb: Any, table: str, sweeper: TtlSweeper, ttl_attribute: str
) -> list[tuple[str, Callable[[], object]]]:
    """The sample changes: (what a person reads, the write)."""
    expired = int(time.time()) - 60
    return [
        (
            "create ada (PutItem)",
            lambda: dynamodb.put_item(
                TableName=table, Item=_item("ada", "ada@example.com", "Ada Lovelace")
            ),
        ),
        (
            "create grace (PutItem)",
            lambda: dynamodb.put_item(
                TableName=table, Item=_item("grace", "grace@example.com", "Grace Hopper")
            ),
        ),
        (
            "update ada's name (UpdateItem)",
            lambda: dynamodb.update_item(
                TableName=table,
                Key={"id": {"S": "ada"}},
                UpdateExpression="SET #n = :n",
                ExpressionAttributeNames={"#n": "name"},
                ExpressionAttributeValues={":n": {"S": "Augusta Ada King"}},
            ),
        ),
        (
            "delete grace (DeleteItem)",
            lambda: dynamodb.delete_item(TableName=table, Key={"id": {"S": "grace"}}),
        ),
        (
            "create linus with an upsert (UpdateItem on a new key; moto emits two INSERTs)",
            lambda: dynamodb.update_item(
                TableName=table,
                Key={"id": {"S": "linus"}},
                UpdateExpression="SET email = :e, #n = :n",
                ExpressionAttributeNames={"#n": "name"},
                ExpressionAttributeValues={
                    ":e": {"S": "linus@example.com"},
                    ":n": {"S": "Linus Torvalds"},
                },
            ),
        ),
        (
            f"create temp with {ttl_attribute} one minute in the past (PutItem)",
            lambda: dynamodb.put_item(
                TableName=table,
                Item=_item(
                    "temp", "temp@example.com", "Temporary User", **{ttl_attribute: expired}
                ),
            ),
        ),
        (
            "Time to Live expires temp (moto has no TTL: the demo's sweeper deletes expired "
            "items and marks the REMOVE as DynamoDB's TTL would)",
            sweeper.sweep,
        ),
    ]


EXPECTED_EMAILS = ("ada@example.com", "grace@example.com", "linus@example.com", "temp@example.com")


def _show_emails(console: Console, emails: Sequence[SentEmail]) -> None:
    console.say(f"Welcome emails accepted by the emulator's SES: {len(emails)}", "emails")
    for email in emails:
        console.say(
            f"  to {', '.join(email.to)} from {email.source}: {email.subject!r} "
            f"[message id {email.message_id}]",
            "email",
            to=list(email.to),
            subject=email.subject,
            message_id=email.message_id,
        )


@dataclass(frozen=True)
class Pipeline:
    """Everything a running demo holds."""

    emulator: Emulator
    stack: Stack
    poller: Poller
    console: Console
    sweeper: TtlSweeper
    stop: threading.Event


def astuple_shallow(
    pipeline: Pipeline,
) -> tuple[Emulator, Stack, Poller, Console, TtlSweeper, threading.Event]:
    return (
        pipeline.emulator,
        pipeline.stack,
        pipeline.poller,
        pipeline.console,
        pipeline.sweeper,
        pipeline.stop,
    )


def run_demo(pipeline: Pipeline) -> int:
    """Write the sample users, check what the handler did; 0 if all is as it should be."""
    emulator, stack, poller, console, sweeper, stop = astuple_shallow(pipeline)
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
    _show_emails(console, emails)
    problems = []
    received = sorted(address for email in emails for address in email.to)
    if received != sorted(EXPECTED_EMAILS):
        problems.append(f"expected one email each to {EXPECTED_EMAILS}, got {received}")
    stats = poller.stats
    if stats.function_errors or stats.records_to_destination or stats.records_discarded:
        problems.append("some records failed (see the poller lines above)")
    for problem in problems:
        console.say(f"DEMO FAILED: {problem}", "error")
    if not problems:
        console.say(
            "Demo complete: every change reached the handler, in order, and each new user got "
            "exactly one welcome email.",
            "done",
        )
    return 1 if problems else 0


def serve(pipeline: Pipeline) -> int:
    """Keep the pipeline running until Ctrl-C, showing emails as SES accepts them."""
    emulator, stack, poller, console, sweeper, stop = astuple_shallow(pipeline)
    url = emulator.endpoint_url
    item = '{"id":{"S":"u1"},"email":{"S":"someone@example.com"},"name":{"S":"Someone"}}'
    console.say(
        "\n".join(
            [
                f"The pipeline is running on {url} (Ctrl-C stops everything). Write from another "
                "terminal, with any credentials, e.g.:",
                "  export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing "
                f"AWS_DEFAULT_REGION={emulator.region}",
                f"  aws dynamodb put-item --endpoint-url {url} --table-name {stack.table_name} "
                f"--item '{item}'",
                f"  aws dynamodb delete-item --endpoint-url {url} --table-name {stack.table_name} "
                """--key '{"id":{"S":"u1"}}'""",
                "Items whose expires_at (epoch seconds) has passed are deleted within 5 seconds, "
                "as Time to Live would.",
            ]
        ),
        "serving",
        endpoint_url=url,
        table=stack.table_name,
        stream_arn=stack.stream_arn,
        on_failure_queue_url=stack.queue_url,
    )
    seen = {e.message_id for e in emulator.sent_emails()}
    poller.start()
    poller.wait_until_caught_up(timeout=30)
    next_sweep = time.monotonic() + 5
    while not stop.wait(0.5):
        if poller.failure is not None:
            console.say(f"the poller stopped: {poller.failure!r}", "error")
            return 1
        fresh = [e for e in emulator.sent_emails() if e.message_id not in seen]
        seen.update(e.message_id for e in fresh)
        if fresh:
            _show_emails(console, fresh)
        if time.monotonic() >= next_sweep:
            sweeper.sweep()
            next_sweep = time.monotonic() + 5
    console.say("Stopping (Ctrl-C again to force)...", "stopping")
    poller.stop()
    return 0


def _parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m devtools.demo", description=__doc__.split("\n\n")[0] if __doc__ else None
    )
    parser.add_argument("--serve", action="store_true", help="keep running until Ctrl-C")
    parser.add_argument(
        "--port",
        type=int,
        default=None,
        help=f"emulator port (default: {DEFAULT_PORT} with --serve, any free port otherwise)",
    )
    parser.add_argument("--table", default="Users", help="Users table name (default: Users)")
    parser.add_argument("--json", action="store_true", help="JSON lines instead of text")
    parser.add_argument(
        "--poll-interval", type=float, default=0.25, help="seconds between empty reads (0.25)"
    )
    parser.add_argument(
        "--checkpoint-file", type=Path, default=None, help="persist checkpoints to this file"
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parse(argv)
    console = Console(args.json)
    stop = threading.Event()

    def interrupt(signum: int, frame: FrameType | None) -> None:
        # Only set the flag: printing here could deadlock on a lock the interrupted code holds.
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()

    previous = signal.signal(signal.SIGINT, interrupt)
    previous_term = signal.signal(signal.SIGTERM, interrupt)
    port = args.port if args.port is not None else (DEFAULT_PORT if args.serve else 0)
    emulator = Emulator(port=port)
    try:
        emulator.start()
    except EmulatorError as exc:
        console.say(f"cannot start the emulator: {exc}", "error")
        return 2
    poller: Poller | None = None
    try:
        console.say(f"Emulator (moto) listening on {emulator.endpoint_url}", "emulator")
        stack = emulator.create_stack(parameters={"UsersTableName": args.table})
        console.say(
            f"Stack {stack.name} created from infra/users-table.yaml through CloudFormation: "
            f"table {stack.table_name}, ledger {stack.ledger_table}, on-failure queue "
            f"{stack.queue_url}",
            "stack",
            outputs=dict(stack.outputs),
        )
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
            checkpoint_file=args.checkpoint_file,
            sweeper=sweeper,
        )
        pipeline = Pipeline(emulator, stack, poller, console, sweeper, stop)
        return serve(pipeline) if args.serve else run_demo(pipeline)
    except KeyboardInterrupt:
        return 130
    finally:
        if poller is not None:
            poller.stop()
        emulator.stop()
        signal.signal(signal.SIGINT, previous)
        signal.signal(signal.SIGTERM, previous_term)


if __name__ == "__main__":
    sys.exit(main())
