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

from devtools.replay.command import main, parser
from devtools.replay.ranges import (
    FAILED,
    FOREIGN,
    MALFORMED,
    PROG,
    REPLAYED,
    TRIMMED,
    BatchRunner,
    MessageResult,
    Range,
    RangeGone,
    ReplaySummary,
    describe,
    foreign_stream,
)
from devtools.replay.replayer import Replayer
from devtools.replay.runners import DeployedFunction, LocalHandler, expected_streams

__all__ = [
    "FAILED",
    "FOREIGN",
    "MALFORMED",
    "PROG",
    "REPLAYED",
    "TRIMMED",
    "BatchRunner",
    "DeployedFunction",
    "LocalHandler",
    "MessageResult",
    "Range",
    "RangeGone",
    "ReplaySummary",
    "Replayer",
    "describe",
    "expected_streams",
    "foreign_stream",
    "main",
    "parser",
]
