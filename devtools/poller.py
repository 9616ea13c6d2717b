"""``python -m devtools.poller``: run the app's stream handler locally against any DynamoDB stream.

By default it reads the embedded emulator of ``make run`` (http://127.0.0.1:8000). Point it
elsewhere with ``--endpoint-url`` (DynamoDB Local, LocalStack) and ``--stream-arn``; for real
AWS say so explicitly with ``--endpoint-url aws`` (your usual credentials and region are then
used, for the stream and the on-failure queue; the handler's own clients follow the
environment, as in Lambda). The handler is discovered from the Chalice app (``--app``),
settings from options; ``REPORT_BATCH_ITEM_FAILURES`` in the environment sets
``--report-batch-item-failures``, so the handler and the mapping agree.

Stops cleanly on Ctrl-C (after the batch in flight) and prints a summary.
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

from devtools.emulator import DEFAULT_PORT, FAKE_CREDENTIALS
from devtools.pipeline import (
    JsonFileCheckpoints,
    Poller,
    Progress,
    SqsDestination,
    discover,
)
from devtools.pipeline.mapping import checkpoint_key, settings_from_template

__all__ = ["main", "session_for"]

REAL_AWS = "aws"
DEFAULT_ENDPOINT = f"http://127.0.0.1:{DEFAULT_PORT}"


def _flag(text: str) -> bool:
    value = text.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off", ""):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, not {text!r}")


def session_for(endpoint_url: str, region: str | None) -> tuple[Any, dict[str, Any]]:
    """A boto3 session and client arguments for ``endpoint_url`` (``aws``: the real one)."""
    import boto3

    if endpoint_url == REAL_AWS:
        return boto3.session.Session(region_name=region), {}
    has_credentials = bool(os.environ.get("AWS_ACCESS_KEY_ID"))
    session = boto3.session.Session(
        region_name=region or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1",
        aws_access_key_id=None if has_credentials else FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=(
            None if has_credentials else FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"]
        ),
    )
    return session, {"endpoint_url": endpoint_url}


def _parse(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m devtools.poller", description=__doc__)
    p.add_argument(
        "--endpoint-url",
        default=DEFAULT_ENDPOINT,
        help=f"streams endpoint (default {DEFAULT_ENDPOINT}, the embedded emulator of "
        "`make run`); 'aws' for real AWS",
    )
    p.add_argument("--region", default=None, help="region (default: from the environment)")
    p.add_argument("--stream-arn", default=None, help="stream to read (default: the app's)")
    p.add_argument("--app", default="app", help="module holding the Chalice app (app)")
    p.add_argument("--stage", default="dev", help="stage, for the function's name (dev)")
    p.add_argument("--handler", default=None, help="which on_dynamodb_record handler, by name")
    p.add_argument(
        "--deployed-settings",
        type=Path,
        default=None,
        help="take mapping settings from this template (e.g. infra/consumer.yaml)",
    )
    p.add_argument("--batch-size", type=int, default=None)
    p.add_argument("--batching-window", type=float, default=None, dest="batching_window_seconds")
    p.add_argument("--starting-position", choices=("LATEST", "TRIM_HORIZON"), default=None)
    p.add_argument(
        "--report-batch-item-failures",
        type=_flag,
        default=None,
        help="honour batchItemFailures (default: $REPORT_BATCH_ITEM_FAILURES, else false)",
    )
    p.add_argument("--bisect", type=_flag, default=None, dest="bisect_batch_on_function_error")
    p.add_argument("--maximum-retry-attempts", type=int, default=None)
    p.add_argument(
        "--maximum-record-age", type=int, default=None, dest="maximum_record_age_seconds"
    )
    p.add_argument("--on-failure", default=None, help="SQS queue URL or ARN for failed ranges")
    p.add_argument("--timeout", type=float, default=None, dest="timeout_seconds")
    p.add_argument("--poll-interval", type=float, default=None)
    p.add_argument("--retry-backoff", type=float, default=None, dest="retry_backoff_seconds")
    p.add_argument("--checkpoint-file", type=Path, default=None, help="resume from this file")
    p.add_argument("--json", action="store_true", help="JSON lines instead of text")
    return p.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parse(argv)
    sys.path.insert(0, os.getcwd())
    module = importlib.import_module(args.app)
    overrides: dict[str, Any] = {}
    if args.deployed_settings is not None:
        overrides.update(settings_from_template(args.deployed_settings))
    env_flag = os.environ.get("REPORT_BATCH_ITEM_FAILURES")
    if env_flag is not None:
        overrides["report_batch_item_failures"] = _flag(env_flag)
    for name in (
        "stream_arn",
        "batch_size",
        "batching_window_seconds",
        "starting_position",
        "report_batch_item_failures",
        "bisect_batch_on_function_error",
        "maximum_retry_attempts",
        "maximum_record_age_seconds",
        "timeout_seconds",
        "poll_interval",
        "retry_backoff_seconds",
    ):
        if getattr(args, name) is not None:
            overrides[name] = getattr(args, name)
    if args.on_failure:
        overrides["on_failure_destination"] = args.on_failure
    found = discover(module.app, stage=args.stage, module=module, **overrides)
    if args.handler:
        found = [h for h in found if h.name == args.handler]
    if len(found) != 1:
        names = ", ".join(h.name for h in found) or "none"
        print(
            f"need exactly one on_dynamodb_record handler (found: {names}); use --handler",
            file=sys.stderr,
        )
        return 2
    [mapping] = found
    from chalicelib.settings import PLACEHOLDER_STREAM_ARN

    if mapping.config.stream_arn == PLACEHOLDER_STREAM_ARN:
        print("no stream: pass --stream-arn or set USERS_TABLE_STREAM_ARN", file=sys.stderr)
        return 2
    session, client_args = session_for(args.endpoint_url, args.region)
    destination = None
    if mapping.config.on_failure_destination:
        destination = SqsDestination(
            mapping.config.on_failure_destination,
            lambda: session.client("sqs", **client_args),
        )
    checkpoints = (
        JsonFileCheckpoints(args.checkpoint_file, checkpoint_key(mapping.config))
        if args.checkpoint_file
        else None
    )
    poller = Poller(
        mapping.config,
        mapping.handler,
        session.client("dynamodbstreams", **client_args),
        destination=destination,
        checkpoints=checkpoints,
        progress=Progress(json_lines=args.json),
    )
    stop = threading.Event()

    def interrupt(signum: int, frame: FrameType | None) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()

    signal.signal(signal.SIGINT, interrupt)
    signal.signal(signal.SIGTERM, interrupt)
    poller.run(stop)
    return 0


if __name__ == "__main__":
    sys.exit(main())
