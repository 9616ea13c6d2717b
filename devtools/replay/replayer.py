"""The replay itself: each message of the queue, its range re-read from the stream and run."""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import asdict
from typing import Any

from chalicelib.clients import error_code
from chalicelib.redaction import scrub_text
from devtools.pipeline.events import lambda_record
from devtools.pipeline.reader import GET_RECORDS_LIMIT
from devtools.replay.ranges import (
    FAILED,
    FOREIGN,
    MALFORMED,
    MAX_EMPTY_READS,
    REPLAYED,
    TRIMMED,
    BatchRunner,
    MessageResult,
    Range,
    RangeGone,
    ReplaySummary,
    error_text,
    foreign_stream,
)
from devtools.replay.runners import expected_streams

__all__ = ["Replayer"]


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
                raise RangeGone(f"the stream or shard is gone ({error_text(exc)})") from exc
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
            result.detail = f"could not read the range: {error_text(exc)}"
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
