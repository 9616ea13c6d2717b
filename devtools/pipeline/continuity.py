"""Stream continuity: a mapping that follows its table's latest stream.

A table gets a new stream (a new ARN) when it is deleted and created again, or when its stream
is disabled and enabled again; the old stream then never receives another record. Lambda's
event source mapping stays on the old stream. The local poller, given a :class:`StreamWatch`,
follows the table instead, so that a local pipeline never goes quiet without a word:

1. every ``every`` seconds it asks ``DescribeTable`` for the table's ``LatestStreamArn``;
2. when that is no longer the stream it reads, it first reads the old stream to its end through
   the shard iterators it already holds (nothing written there is lost), opening no new ones
   (an emulator may resolve the old ARN to the new table);
3. then it re-attaches to the new stream from its start (``TRIM_HORIZON``: nothing written
   there is lost either), with checkpoints kept under the new stream's key, and says so in one
   line.

A table that is gone, or has no stream, is said once, in one line, until it has one again.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from chalicelib.clients import error_code
from devtools import cli
from devtools.pipeline.checkpoints import CheckpointStore, JsonFileCheckpoints, MemoryCheckpoints
from devtools.pipeline.mapping import MappingConfig, checkpoint_key

if TYPE_CHECKING:
    from devtools.pipeline.loop import Poller

__all__ = [
    "Health",
    "StreamWatch",
    "follow",
    "old_stream_read",
    "reattach",
    "stale_keys",
    "table_of",
]


def table_of(stream_arn: str) -> str:
    """The table name in a stream ARN (``arn:aws:dynamodb:R:A:table/NAME/stream/LABEL``)."""
    resource = stream_arn.split(":", 5)[-1]
    parts = resource.split("/")
    if len(parts) != 4 or parts[0] != "table" or parts[2] != "stream" or not parts[1]:
        raise ValueError(f"not a DynamoDB stream ARN: {stream_arn!r}")
    return parts[1]


class StreamWatch:
    """Tells when the table of a stream has another latest stream (``DescribeTable``)."""

    def __init__(self, dynamodb: Any, every: float = 1.0) -> None:
        self.dynamodb = dynamodb
        self.every = every
        self._next = float("-inf")
        self._said: str | None = None

    def check(self, stream_arn: str, now: float, say: Callable[[str], None]) -> str | None:
        """The table's latest stream ARN if it is not ``stream_arn`` (checked when due)."""
        if now < self._next:
            return None
        self._next = now + self.every
        table = table_of(stream_arn)
        try:
            described = self.dynamodb.describe_table(TableName=table)["Table"]
        except Exception as exc:
            if error_code(exc) != "ResourceNotFoundException":
                raise
            self._once(f"table {table} is gone; waiting for it to have a stream again", say)
            return None
        latest = described.get("LatestStreamArn")
        if not latest or not described.get("StreamSpecification", {}).get("StreamEnabled", True):
            self._once(f"table {table} has no stream; waiting for it to have one again", say)
            return None
        self._said = None
        return latest if latest != stream_arn else None

    def _once(self, message: str, say: Callable[[str], None]) -> None:
        if message != self._said:
            self._said = message
            say(message)


def old_stream_read(poller: Poller, since: float) -> bool:
    """True once every shard was read to its end through the iterators already open."""
    return all(
        worker.drained
        or worker.reader.iterator is None
        or (worker.caught_up and worker.reader.last_empty_fetch >= since)
        for worker in poller.workers.values()
    )


def rekeyed(store: CheckpointStore, config: MappingConfig) -> CheckpointStore:
    """A checkpoint store for ``config``'s stream, kept where ``store`` keeps its own."""
    if isinstance(store, JsonFileCheckpoints):
        fresh = JsonFileCheckpoints(store.path, checkpoint_key(config))
        fresh.prune(stale_keys(config))
        return fresh
    return MemoryCheckpoints()


def stale_keys(config: MappingConfig) -> Callable[[str], bool]:
    """Whether a checkpoint key is a dead one of this mapping: same function, same table, but
    not the stream it reads now (a stream replaced, or a restarted in-memory emulator)."""
    table = table_of(config.stream_arn)

    def stale(key: str) -> bool:
        function, _, arn = key.partition("|")
        try:
            same_table = table_of(arn) == table
        except ValueError:
            return False
        return function == config.function_name and same_table and arn != config.stream_arn

    return stale


def reattach(poller: Poller, stream_arn: str) -> None:
    """Point ``poller`` at ``stream_arn``, from its start, and say so in one line."""
    old = poller.config.stream_arn
    poller.config = poller.config.with_overrides(
        stream_arn=stream_arn, starting_position="TRIM_HORIZON"
    )
    poller.checkpoints = rekeyed(poller.checkpoints, poller.config)
    poller.workers = {}
    poller.restart_listing()
    poller.stats.stream_changes += 1
    poller.progress.emit("stream", old_stream_arn=old, stream_arn=stream_arn)


def follow(poller: Poller, now: float) -> None:
    """One step of following the table: notice a new stream; re-attach once the old is read."""
    if poller.watch is None:
        return
    if poller.switch is None:
        try:
            found = poller.watch.check(poller.config.stream_arn, now, poller.warn)
        except Exception as exc:
            poller.read_failed(exc, now, "DescribeTable failed")
            return
        if found:
            poller.switch = (found, now)
    elif old_stream_read(poller, poller.switch[1]):
        reattach(poller, poller.switch[0])
        poller.switch = None


class Health:
    """Calls to an endpoint that keep failing: retried, but for ``limit`` seconds at most."""

    def __init__(self, endpoint: str, limit: float) -> None:
        self.endpoint = endpoint
        self.limit = limit
        self._failing_since: float | None = None

    def failed(self, exc: Exception, now: float) -> str:
        """``exc`` in one line; raises once calls have failed for ``limit`` seconds."""
        if self._failing_since is None:
            self._failing_since = now
        if now - self._failing_since >= self.limit:
            raise RuntimeError(
                f"the stream at {self.endpoint} has not answered for {self.limit:.0f}s "
                f"({cli.describe(exc)}); check the endpoint, and that the stream exists"
            ) from exc
        return cli.describe(exc)

    def ok(self) -> None:
        self._failing_since = None
