"""``python -m devtools.replay``: re-run the ranges on the on-failure queue through the handler.

Lambda's on-failure message for a stream holds no records, only where they are::

    {"requestContext": {...}, "responseContext": {...}, "version": "1.0", "timestamp": "...",
     "DDBStreamBatchInfo": {"shardId", "startSequenceNumber", "endSequenceNumber",
                            "approximateArrivalOfFirstRecord", "approximateArrivalOfLastRecord",
                            "batchSize", "streamArn"}}

For each message this command re-reads that range from the stream (``GetShardIterator``
``AT_SEQUENCE_NUMBER`` the start, ``GetRecords`` until the end), builds the Lambda event with
the local pipeline's own code (:func:`devtools.pipeline.events.lambda_record`), and runs the
handler on it: the app's handler in this process (default; its clients follow the environment,
as in Lambda), or the deployed function (``--function-name``, through Lambda ``Invoke``).

A message is replayed only if its stream ARN is one this replay may run (:func:`expected_streams`:
the configured Users stream, ``USERS_TABLE_STREAM_ARN``, or the stream the function is mapped
to); any other is reported as ``FOREIGN`` and left in the queue, untouched.

A message is deleted only once every record of its range was handled. Any failure the handler
reports (``batchItemFailures`` or an error) counts, whatever the mapping's settings: a range is
retried from the failed record ``--attempts`` times, then left in the queue. A range the stream
no longer holds (older than the stream's 24-hour retention: ``TrimmedDataAccessException``, or
its first or last record missing) is reported as trimmed and left in the queue: it cannot be
replayed, and the message is the only trace of it.

Messages that fail stay invisible until the run ends, then become visible again at once, so one
run sees each message once. Exit status: 0 when every message read was replayed and deleted (or
the queue was empty), 1 when any was left in the queue or the queue or endpoint could not be
used (one line on stderr; ``--debug`` for the traceback), 2 for a usage error.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, TextIO

from chalicelib.clients import error_code
from chalicelib.redaction import scrub_text
from devtools.pipeline.events import lambda_event, lambda_record
from devtools.pipeline.invoke import Outcome, classify, invoke
from devtools.pipeline.mapping import Handler, MappingConfig
from devtools.pipeline.shards import GET_RECORDS_LIMIT

__all__ = [
    "DeployedFunction",
    "LocalHandler",
    "MessageResult",
    "Range",
    "RangeGone",
    "Replayer",
    "main",
]

BatchRunner = Callable[[list[dict[str, Any]]], Outcome]
"""Runs the handler on one batch of Lambda-shaped records and says how it went."""

MAX_EMPTY_READS = 5  # consecutive empty GetRecords before a range's end counts as missing
REPLAYED, TRIMMED, FAILED, MALFORMED = "replayed", "trimmed", "failed", "malformed"
PROG = "python -m devtools.replay"
FOREIGN = "foreign"


@dataclass(frozen=True, slots=True)
class Range:
    """The stream range an on-failure message names."""

    stream_arn: str
    shard_id: str
    start: str
    end: str
    size: int | None = None

    @classmethod
    def from_message(cls, body: str) -> Range:
        """The range of a message body; ``ValueError`` if it is not Lambda's stream message."""
        try:
            info = json.loads(body)["DDBStreamBatchInfo"]
            found = cls(
                stream_arn=info["streamArn"],
                shard_id=info["shardId"],
                start=info["startSequenceNumber"],
                end=info["endSequenceNumber"],
                size=info.get("batchSize"),
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"not a DynamoDB stream on-failure message ({exc!r})") from None
        for text in (found.stream_arn, found.shard_id, found.start, found.end):
            if not isinstance(text, str) or not text:
                raise ValueError("not a DynamoDB stream on-failure message (empty field)")
        if not (found.start.isdigit() and found.end.isdigit()) or int(found.start) > int(found.end):
            raise ValueError("the message's sequence numbers do not make a range")
        return found


class RangeGone(Exception):
    """The stream no longer holds (all of) a range."""


@dataclass
class MessageResult:
    """What happened to one message."""

    message_id: str
    status: str  # replayed | trimmed | failed | malformed | foreign
    detail: str = ""
    records: int = 0
    handled: int = 0
    range: dict[str, Any] | None = None
    deleted: bool = False


@dataclass
class ReplaySummary:
    messages: int = 0
    replayed: int = 0
    trimmed: int = 0
    failed: int = 0
    malformed: int = 0
    foreign: int = 0
    records_replayed: int = 0
    results: list[MessageResult] = field(default_factory=list)

    @property
    def left_in_queue(self) -> int:
        return self.trimmed + self.failed + self.malformed + self.foreign

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["left_in_queue"] = self.left_in_queue
        del data["results"]
        return data


class LocalHandler:
    """Runs a Lambda handler in this process, exactly as the local poller invokes it.

    Every failure the handler reports counts (``report_batch_item_failures`` is forced on): a
    replay must never take a reported failure for success.
    """

    def __init__(self, handler: Handler, config: MappingConfig) -> None:
        self.handler = handler
        self.config = config.with_overrides(report_batch_item_failures=True)

    def __call__(self, records: list[dict[str, Any]]) -> Outcome:
        return invoke(self.handler, records, self.config)


class DeployedFunction:
    """Invokes the deployed function (``lambda:InvokeFunction``) with one batch."""

    def __init__(
        self,
        client: Any,
        function_name: str,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client = client
        self.function_name = function_name
        self._monotonic = monotonic

    def __call__(self, records: list[dict[str, Any]]) -> Outcome:
        started = self._monotonic()
        try:
            response = self.client.invoke(
                FunctionName=self.function_name,
                InvocationType="RequestResponse",
                Payload=json.dumps(lambda_event(records)).encode("utf-8"),
            )
            payload = response["Payload"].read()
        except Exception as exc:
            return Outcome("error", self._monotonic() - started, error=_describe(exc))
        duration = self._monotonic() - started
        if response.get("FunctionError"):
            return Outcome(
                "error", duration, error=f"{response['FunctionError']}: {_clip(payload)}"
            )
        try:
            body = json.loads(payload) if payload else None
        except ValueError:
            return Outcome("error", duration, error=f"response is not JSON: {_clip(payload)}")
        return classify(body, records, report=True, duration=duration)

    def mapped_streams(self) -> set[str]:
        """The streams of the function's event source mappings (``lambda:ListEventSourceMappings``;
        none where it may not be called)."""
        found: set[str] = set()
        try:
            pages = self.client.get_paginator("list_event_source_mappings").paginate(
                FunctionName=self.function_name
            )
            for page in pages:
                found.update(m["EventSourceArn"] for m in page.get("EventSourceMappings", []))
        except Exception:  # noqa: S110 - no permission: the configured stream alone decides
            pass
        return found


def expected_streams(
    run_batch: BatchRunner, environ: Mapping[str, str] = os.environ
) -> frozenset[str]:
    """The stream ARNs whose ranges this replay may run: the configured Users stream
    (``USERS_TABLE_STREAM_ARN``, as the app reads it), and the stream the handler is mapped to
    (a deployed function's event source mappings, or a local handler's mapping)."""
    found = {environ.get("USERS_TABLE_STREAM_ARN", "").strip()}
    if isinstance(run_batch, DeployedFunction):
        found |= run_batch.mapped_streams()
    elif isinstance(run_batch, LocalHandler):
        found.add(run_batch.config.stream_arn)
    return frozenset(found - {""})


def foreign_stream(span: Range, allowed: frozenset[str]) -> str | None:
    """Why ``span`` must not be replayed here (its stream is not an expected one), or ``None``."""
    if span.stream_arn in allowed:
        return None
    if not allowed:
        return (
            "no Users stream is configured to compare it with (set USERS_TABLE_STREAM_ARN); refused"
        )
    return (
        "its stream is not the Users stream this replay runs (USERS_TABLE_STREAM_ARN or the "
        "function's mapping); refused"
    )


def _clip(payload: bytes | str, limit: int = 300) -> str:
    text = payload.decode("utf-8", "replace") if isinstance(payload, bytes) else payload
    return text if len(text) <= limit else text[:limit] + "…"


def _describe(exc: BaseException) -> str:
    return error_code(exc) or f"{type(exc).__name__}: {exc}"


class Replayer:
    """Replays every message of an on-failure queue (see the module docstring)."""

    def __init__(
        self,
        *,
        sqs: Any,
        queue_url: str,
        streams: Any,
        run_batch: BatchRunner,
        batch_size: int = 100,
        attempts: int = 3,
        visibility_timeout: int = 300,
        wait_seconds: int = 0,
        report: Callable[[MessageResult], None] | None = None,
        allowed_streams: Collection[str] | None = None,
    ) -> None:
        if batch_size < 1 or attempts < 1:
            raise ValueError("batch_size and attempts must be at least 1")
        self.sqs = sqs
        self.queue_url = queue_url
        self.streams = streams
        self.run_batch = run_batch
        self.batch_size = batch_size
        self.attempts = attempts
        self.visibility_timeout = visibility_timeout
        self.wait_seconds = wait_seconds
        self.report = report
        self._allowed = None if allowed_streams is None else frozenset(allowed_streams)

    @property
    def allowed_streams(self) -> frozenset[str]:
        """The streams this replay runs (:func:`expected_streams` unless given), found once."""
        if self._allowed is None:
            self._allowed = expected_streams(self.run_batch)
        return self._allowed

    # -- reading the stream -----------------------------------------------------------------

    def read_range(self, span: Range) -> list[dict[str, Any]]:
        """The range's records, Lambda-shaped, in stream order; :class:`RangeGone` if not all
        of it is still in the stream."""
        first, last = int(span.start), int(span.end)
        try:
            iterator = self.streams.get_shard_iterator(
                StreamArn=span.stream_arn,
                ShardId=span.shard_id,
                ShardIteratorType="AT_SEQUENCE_NUMBER",
                SequenceNumber=span.start,
            ).get("ShardIterator")
            records: list[dict[str, Any]] = []
            empty = 0
            while iterator and empty < MAX_EMPTY_READS:
                response = self.streams.get_records(ShardIterator=iterator, Limit=GET_RECORDS_LIMIT)
                page = response.get("Records", [])
                empty = 0 if page else empty + 1
                for raw in page:
                    number = int(raw["dynamodb"]["SequenceNumber"])
                    if not records and number != first:
                        raise RangeGone(
                            f"its first record {span.start} is no longer in the stream "
                            f"(the shard now starts at {number})"
                        )
                    if number > last:
                        raise RangeGone(f"its last record {span.end} is not in the stream")
                    records.append(lambda_record(raw, span.stream_arn))
                    if number == last:
                        return records
                iterator = response.get("NextShardIterator")
        except Exception as exc:
            code = error_code(exc)
            if code == "TrimmedDataAccessException":
                raise RangeGone("the stream has trimmed it (older than its retention)") from exc
            if code == "ResourceNotFoundException":
                raise RangeGone(f"the stream or shard is gone ({_describe(exc)})") from exc
            raise
        if not records:
            raise RangeGone(f"its first record {span.start} is not in the stream")
        raise RangeGone(f"the stream ended before its last record {span.end}")

    # -- running the handler ----------------------------------------------------------------

    def run_range(self, records: list[dict[str, Any]]) -> tuple[int, str | None]:
        """Handle ``records`` in order; (records handled, None) or (handled, why it stopped)."""
        position, failures = 0, 0
        while position < len(records):
            batch = records[position : position + self.batch_size]
            outcome = self.run_batch(batch)
            if outcome.kind == "ok":
                position, failures = position + len(batch), 0
                continue
            if outcome.kind == "partial" and outcome.failed_index:
                position, failures = position + outcome.failed_index, 0
            failures += 1
            if failures >= self.attempts:
                at = records[position]["dynamodb"]["SequenceNumber"]
                # The error is printed: mask any address in it, as the function's logs do.
                why = scrub_text(outcome.error or "the handler reported it in batchItemFailures")
                return position, f"record {at} failed {failures} time(s): {why}"
        return position, None

    def replay_message(self, message: Mapping[str, Any]) -> MessageResult:
        result = MessageResult(message_id=str(message.get("MessageId", "")), status=FAILED)
        try:
            span = Range.from_message(str(message.get("Body", "")))
        except ValueError as exc:
            result.status, result.detail = MALFORMED, str(exc)
            return result
        result.range = asdict(span)
        refused = foreign_stream(span, self.allowed_streams)
        if refused is not None:
            result.status, result.detail = FOREIGN, refused
            return result
        try:
            records = self.read_range(span)
        except RangeGone as gone:
            result.status, result.detail = TRIMMED, f"range not in the stream: {gone}"
            return result
        except Exception as exc:
            result.detail = f"could not read the range: {_describe(exc)}"
            return result
        result.records = len(records)
        result.handled, why = self.run_range(records)
        if why is not None:
            result.detail = why
            return result
        self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])
        result.status, result.deleted = REPLAYED, True
        return result

    # -- the queue --------------------------------------------------------------------------

    def run(self) -> ReplaySummary:
        """Replay every message in the queue once; leave the ones that cannot be replayed."""
        summary = ReplaySummary()
        kept: dict[str, str] = {}  # message id -> receipt handle, made visible again at the end
        seen: set[str] = set()
        try:
            while True:
                response = self.sqs.receive_message(
                    QueueUrl=self.queue_url,
                    MaxNumberOfMessages=10,
                    WaitTimeSeconds=self.wait_seconds,
                    VisibilityTimeout=self.visibility_timeout,
                )
                fresh = [m for m in response.get("Messages", []) if m["MessageId"] not in seen]
                if not fresh:
                    return summary
                for message in fresh:
                    seen.add(message["MessageId"])
                    result = self.replay_message(message)
                    self._count(summary, result)
                    if not result.deleted:
                        kept[message["MessageId"]] = message["ReceiptHandle"]
                    if self.report is not None:
                        self.report(result)
        finally:
            for receipt in kept.values():
                self.sqs.change_message_visibility(
                    QueueUrl=self.queue_url, ReceiptHandle=receipt, VisibilityTimeout=0
                )

    @staticmethod
    def _count(summary: ReplaySummary, result: MessageResult) -> None:
        summary.messages += 1
        summary.results.append(result)
        if result.status == REPLAYED:
            summary.replayed += 1
            summary.records_replayed += result.records
        elif result.status == TRIMMED:
            summary.trimmed += 1
        elif result.status == MALFORMED:
            summary.malformed += 1
        elif result.status == FOREIGN:
            summary.foreign += 1
        else:
            summary.failed += 1


# -- the command ------------------------------------------------------------------------------


def describe(result: MessageResult) -> str:
    """One readable line per message."""
    span = result.range or {}
    where = f"{span.get('start')}..{span.get('end')} (shard {span.get('shard_id')})" if span else ""
    if result.status == REPLAYED:
        return f"[replay] replayed {result.records} record(s) {where}: message deleted"
    if result.status == TRIMMED:
        return f"[replay] TRIMMED {where}: {result.detail}; message left in the queue"
    if result.status == MALFORMED:
        return f"[replay] SKIPPED message {result.message_id}: {result.detail}; left in the queue"
    if result.status == FOREIGN:
        arn = span.get("stream_arn")
        return f"[replay] FOREIGN {where} of {arn}: {result.detail}; message left in the queue"
    return (
        f"[replay] FAILED {where} after {result.handled} of {result.records} record(s): "
        f"{result.detail}; message left in the queue"
    )


def parser() -> argparse.ArgumentParser:
    """The command line (every flag with its help)."""
    from devtools import cli
    from devtools.commands import DEFAULT_ENDPOINT

    p = cli.parser(PROG, __doc__.split("\n\n")[0] if __doc__ else None)
    p.add_argument("--queue-url", required=True, help="the on-failure SQS queue (URL)")
    p.add_argument(
        "--endpoint-url",
        default=DEFAULT_ENDPOINT,
        help=f"endpoint of the queue and the stream (default {DEFAULT_ENDPOINT}, the embedded "
        "emulator of `make run`); 'aws' for real AWS",
    )
    p.add_argument("--region", default=None, help="region (default: from the environment)")
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


if __name__ == "__main__":
    from devtools import cli

    sys.exit(cli.run(main, prog=PROG))
