"""``python -m devtools.poller``: run the app's stream handler locally against any DynamoDB stream.

By default it reads the embedded emulator of ``make run`` (http://127.0.0.1:8000), the stream of
its ``Users`` table (``--table``). Point it elsewhere with ``--endpoint-url`` (LocalStack, any
emulator) and ``--stream-arn``; for real AWS say so explicitly with ``--endpoint-url aws``
(your usual credentials and region are then used, for the stream and the on-failure queue).
The handler's own clients follow the environment, as in Lambda; on an emulator an unset
``AWS_ENDPOINT_URL`` is set to it, so that the handler never reaches real AWS by accident.
The handler is discovered from the Chalice app (``--app``),
settings from options; ``REPORT_BATCH_ITEM_FAILURES`` in the environment sets
``--report-batch-item-failures``, so the handler and the mapping agree.

On an emulator the poller follows the table: when it gets a new stream (deleted and created
again), the poller reads the old one to its end and goes on with the new one, in one line.

Stops cleanly on Ctrl-C (after the batch in flight) and prints a summary. Errors are one line
(exit 2 for a usage error, 1 otherwise; ``--debug`` for the traceback); an endpoint that does
not answer for ``--give-up-after`` seconds stops the poller with a line naming it.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from devtools import cli
from devtools.commands import REAL_AWS, add_endpoint_arguments, one_handler, session_for
from devtools.pipeline import JsonFileCheckpoints, Poller, Progress, SqsDestination
from devtools.pipeline.continuity import StreamWatch, stale_keys
from devtools.pipeline.mapping import checkpoint_key, settings_from_template
from devtools.stopping import stop_on_signals

__all__ = ["main", "parse_flag"]

PROG = "python -m devtools.poller"
SETTINGS = (
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
)


def parse_flag(text: str) -> bool:
    """true/false, yes/no, on/off, 1/0 (argparse type)."""
    value = text.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off", ""):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, not {text!r}")


def _int_in(low: int, high: int) -> Any:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be between {low} and {high}, not {value}")
        return value

    return parse


def parser() -> argparse.ArgumentParser:
    """The command line (every flag with its help)."""
    p = cli.parser(PROG, __doc__.split("\n\n")[0] if __doc__ else None)
    add_endpoint_arguments(p, "the streams")
    p.add_argument(
        "--stream-arn",
        default=None,
        help="stream to read (default: $USERS_TABLE_STREAM_ARN, else the latest stream of "
        "--table on the endpoint)",
    )
    p.add_argument(
        "--table", default="Users", help="table whose latest stream to read (default: Users)"
    )
    p.add_argument("--app", default="app", help="module holding the Chalice app (app)")
    p.add_argument("--stage", default="dev", help="stage, for the function's name (dev)")
    p.add_argument("--handler", default=None, help="which on_dynamodb_record handler, by name")
    _mapping_flags(p)
    p.add_argument(
        "--give-up-after",
        type=cli.positive_float,
        default=30.0,
        help="stop when the endpoint has not answered for this many seconds (30)",
    )
    p.add_argument("--checkpoint-file", type=Path, default=None, help="resume from this file")
    p.add_argument("--json", action="store_true", help="JSON lines instead of text")
    return p


def _mapping_flags(p: argparse.ArgumentParser) -> None:
    """The event source mapping's settings (Lambda's names and limits)."""
    p.add_argument(
        "--deployed-settings",
        type=Path,
        default=None,
        help="take mapping settings from this template (e.g. infra/consumer.yaml)",
    )
    p.add_argument(
        "--batch-size", type=_int_in(1, 10_000), default=None, help="records per batch (1-10000)"
    )
    p.add_argument(
        "--batching-window",
        type=cli.non_negative_float,
        default=None,
        dest="batching_window_seconds",
        help="seconds to wait for a full batch (0-300)",
    )
    p.add_argument(
        "--starting-position",
        choices=("LATEST", "TRIM_HORIZON"),
        default=None,
        help="where a shard without a checkpoint is read from",
    )
    _failure_flags(p)


def _failure_flags(p: argparse.ArgumentParser) -> None:
    """What the mapping does with failures (Lambda's names and limits)."""
    p.add_argument(
        "--report-batch-item-failures",
        type=parse_flag,
        default=None,
        help="honour batchItemFailures (default: $REPORT_BATCH_ITEM_FAILURES, else false)",
    )
    p.add_argument(
        "--bisect",
        type=parse_flag,
        default=None,
        dest="bisect_batch_on_function_error",
        help="split a failing batch in two (true/false)",
    )
    p.add_argument(
        "--maximum-retry-attempts",
        type=_int_in(-1, 10_000),
        default=None,
        help="retries of a failing batch (-1: until the records expire)",
    )
    p.add_argument(
        "--maximum-record-age",
        type=_int_in(-1, 604_800),
        default=None,
        dest="maximum_record_age_seconds",
        help="seconds after which records are not invoked (-1: forever, else 60-604800)",
    )
    p.add_argument("--on-failure", default=None, help="SQS queue URL or ARN for failed ranges")
    p.add_argument(
        "--timeout",
        type=cli.positive_float,
        default=None,
        dest="timeout_seconds",
        help="the function's timeout in seconds (60)",
    )
    p.add_argument(
        "--poll-interval",
        type=cli.non_negative_float,
        default=None,
        help="seconds between reads of an idle shard (0.25)",
    )
    p.add_argument(
        "--retry-backoff",
        type=cli.non_negative_float,
        default=None,
        dest="retry_backoff_seconds",
        help="first wait before a retry, doubled each time (1)",
    )


def _latest_stream(session: Any, client_args: dict[str, Any], table: str) -> str:
    dynamodb = session.client("dynamodb", **client_args)
    try:
        described = dynamodb.describe_table(TableName=table)["Table"]
    except Exception as exc:
        if cli.error_code(exc) == "ResourceNotFoundException":
            message = f"no table {table} at the endpoint: pass --table or --stream-arn"
            raise cli.UsageError(message) from None
        raise
    arn = described.get("LatestStreamArn")
    if not arn:
        raise cli.UsageError(f"table {table} has no stream: pass --stream-arn")
    return str(arn)


def _overrides(args: argparse.Namespace) -> dict[str, Any]:
    overrides: dict[str, Any] = {}
    if args.deployed_settings is not None:
        overrides.update(settings_from_template(args.deployed_settings))
    env_flag = os.environ.get("REPORT_BATCH_ITEM_FAILURES")
    if env_flag is not None:
        try:
            overrides["report_batch_item_failures"] = parse_flag(env_flag)
        except argparse.ArgumentTypeError as exc:
            raise cli.UsageError(f"REPORT_BATCH_ITEM_FAILURES: {exc}") from None
    overrides.update({name: getattr(args, name) for name in SETTINGS})
    if args.on_failure:
        overrides["on_failure_destination"] = args.on_failure
    return overrides


def _handler_environment(endpoint_url: str, progress: Progress) -> None:
    """On an emulator, the handler's own clients go there too unless told otherwise."""
    if not os.environ.get("AWS_ENDPOINT_URL"):
        os.environ["AWS_ENDPOINT_URL"] = endpoint_url
        progress.emit(
            "warning",
            message=f"AWS_ENDPOINT_URL is not set: the handler's clients (SES, the ledger) use "
            f"{endpoint_url} too",
        )
    if not os.environ.get("WELCOME_EMAIL_SENDER"):
        progress.emit(
            "warning",
            message="WELCOME_EMAIL_SENDER is not set: a new user with an email will fail and be "
            "retried; for make run, use the poller command its banner prints",
        )


def build(args: argparse.Namespace) -> Poller:
    """The poller the arguments describe (errors: :class:`cli.UsageError` or the AWS error)."""
    session, client_args = session_for(args.endpoint_url, args.region)
    emulated = args.endpoint_url != REAL_AWS
    if args.stream_arn is None:
        args.stream_arn = os.environ.get("USERS_TABLE_STREAM_ARN") or None
    if args.stream_arn is None and emulated:
        args.stream_arn = _latest_stream(session, client_args, args.table)
    if args.stream_arn is None:
        raise cli.UsageError("no stream: pass --stream-arn or set USERS_TABLE_STREAM_ARN")
    mapping = one_handler(args.app, args.handler, stage=args.stage, **_overrides(args))
    config = mapping.config
    streams = session.client("dynamodbstreams", **client_args)
    streams.describe_stream(StreamArn=config.stream_arn, Limit=1)  # fail now, in one line
    destination = None
    if config.on_failure_destination:
        destination = SqsDestination(
            config.on_failure_destination, lambda: session.client("sqs", **client_args)
        )
    checkpoints = None
    if args.checkpoint_file:
        try:
            checkpoints = JsonFileCheckpoints(args.checkpoint_file, checkpoint_key(config))
        except ValueError as exc:
            raise cli.UsageError(f"--checkpoint-file: {exc}") from exc
        checkpoints.prune(stale_keys(config))
    watch = StreamWatch(session.client("dynamodb", **client_args)) if emulated else None
    progress = Progress(json_lines=args.json)
    if emulated:
        _handler_environment(args.endpoint_url, progress)
    return Poller(
        config,
        mapping.handler,
        streams,
        destination=destination,
        checkpoints=checkpoints,
        progress=progress,
        watch=watch,
        unreachable_after=args.give_up_after,
    )


def main(argv: Sequence[str] | None = None) -> int:
    poller = build(parser().parse_args(argv))
    with stop_on_signals() as stop:
        poller.run(stop)
    return 0


if __name__ == "__main__":
    sys.exit(cli.run(main, prog=PROG))
