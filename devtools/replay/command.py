"""``python -m devtools.replay``: its command line (what it does: :mod:`devtools.replay`)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import asdict
from typing import TextIO

from devtools.replay.ranges import PROG, BatchRunner, MessageResult, describe
from devtools.replay.replayer import Replayer
from devtools.replay.runners import DeployedFunction, LocalHandler

__all__ = ["main", "parser"]


def parser() -> argparse.ArgumentParser:
    """The command line (every flag with its help)."""
    import devtools.replay as package
    from devtools import cli
    from devtools.commands import add_endpoint_arguments

    doc = package.__doc__
    p = cli.parser(PROG, doc.split("\n\n")[0] if doc else None)
    p.add_argument("--queue-url", required=True, help="the on-failure SQS queue (URL)")
    add_endpoint_arguments(p, "the queue and the stream")
    p.add_argument(
        "--function-name",
        default=None,
        help="invoke this deployed function instead of running the handler in this process",
    )
    p.add_argument("--app", default="app", help="module holding the Chalice app (app)")
    p.add_argument("--handler", default=None, help="which on_dynamodb_record handler, by name")
    p.add_argument(
        "--batch-size", type=cli.positive_int, default=100, help="records per invocation (100)"
    )
    p.add_argument(
        "--attempts", type=cli.positive_int, default=3, help="tries per failing record (3)"
    )
    p.add_argument(
        "--visibility-timeout",
        type=cli.positive_int,
        default=300,
        help="seconds a message being replayed stays hidden from other readers (300)",
    )
    p.add_argument(
        "--wait-seconds",
        type=int,
        choices=range(21),
        default=1,
        metavar="0-20",
        help="SQS long polling (1)",
    )
    p.add_argument("--json", action="store_true", help="JSON lines instead of text")
    return p


def _local_runner(args: argparse.Namespace, stream_arn: str) -> BatchRunner:
    from devtools.commands import one_handler

    found = one_handler(args.app, args.handler, stream_arn=stream_arn)
    return LocalHandler(found.handler, found.config)


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    args = parser().parse_args(argv)
    output = out if out is not None else sys.stdout
    from devtools.commands import session_for

    session, client_args = session_for(args.endpoint_url, args.region)
    if args.function_name:
        run_batch: BatchRunner = DeployedFunction(
            session.client("lambda", **client_args), args.function_name
        )
    else:
        # Any ARN does for discovery: each message names its own stream.
        run_batch = _local_runner(
            args, "arn:aws:dynamodb:us-east-1:000000000000:table/replay/stream/replay"
        )

    def report(result: MessageResult) -> None:
        line = json.dumps(asdict(result)) if args.json else describe(result)
        output.write(line + "\n")
        output.flush()

    replayer = Replayer(
        sqs=session.client("sqs", **client_args),
        queue_url=args.queue_url,
        streams=session.client("dynamodbstreams", **client_args),
        run_batch=run_batch,
        batch_size=args.batch_size,
        attempts=args.attempts,
        visibility_timeout=args.visibility_timeout,
        wait_seconds=args.wait_seconds,
        report=report,
    )
    summary = replayer.run()
    if args.json:
        output.write(json.dumps({"summary": summary.as_dict()}) + "\n")
    else:
        output.write(
            f"[replay] {summary.messages} message(s): {summary.replayed} replayed and deleted "
            f"({summary.records_replayed} records), {summary.trimmed} trimmed, {summary.failed} "
            f"failed, {summary.malformed} malformed, {summary.foreign} foreign; "
            f"{summary.left_in_queue} left in the queue\n"
        )
    return 1 if summary.left_in_queue else 0
