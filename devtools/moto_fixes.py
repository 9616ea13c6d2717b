"""Where moto's DynamoDB stream is not faithful and the emulator makes it so (emulator layer only).

**A cancelled transaction.** moto's ``TransactWriteItems`` applies its operations one by one
and, when one fails (a ``ConditionCheck`` that does not hold, two operations on one item, an
invalid operation), puts back a deep copy of each table taken before it started. Two things go
wrong for a stream reader:

* the operations applied before the failing one have already appended stream records: a reader
  that reads them in the meantime sees a **phantom** change that DynamoDB never made;
* the copy put back holds a *copy* of the stream's shard, while every open shard iterator still
  points at the old shard object: from then on, **no later write reaches any reader** that
  follows its ``NextShardIterator``, and nothing says so.

:func:`apply` fixes both in the emulator's process: writes, transactions and stream reads take
one lock (so no reader ever sees a transaction half done), and after a cancelled transaction the
table put back gets the original shard object again, cut back to where it was before the
transaction. The stream then reads exactly as DynamoDB's would: the cancelled transaction
leaves no trace, and every later write follows in order.

**Comparing values of different types.** In a filter or condition, ``expires_at < :now`` on an
item whose ``expires_at`` is a string is simply false in DynamoDB; moto compares the Python
values and fails the request (HTTP 500). :func:`apply` makes such a comparison false.

**A request moto fails on.** moto's server (werkzeug) logs the whole traceback of each request
it fails on (an internal error, answered with HTTP 500): :func:`apply` makes that one line.

``tests/devtools/test_moto_fixes.py`` checks, with moto alone, that moto still behaves this way,
so that the fix is removed when moto changes.
"""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Callable
from typing import Any

__all__ = ["OneLineRequestErrors", "applied", "apply"]

_LOCK = threading.RLock()
_MARK = "_users_stream_fixed"
_WRITES = ("put_item", "update_item", "delete_item")
_READS = ("get_shard_iterator", "get_records", "describe_stream")
_ORDERINGS = ("OpLessThan", "OpLessThanOrEqual", "OpGreaterThan", "OpGreaterThanOrEqual")


def _locked(method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    def locked(*args: Any, **kwargs: Any) -> Any:
        with _LOCK:
            return method(*args, **kwargs)

    setattr(locked, _MARK, True)
    return locked


def _shards(backend: Any, items: list[dict[str, Any]]) -> dict[str, tuple[Any, Any, int]]:
    """Per table the transaction names: (table object, its shard, the shard's length)."""
    found: dict[str, tuple[Any, Any, int]] = {}
    for item in items:
        for operation in item.values():
            name = operation.get("TableName") if isinstance(operation, dict) else None
            if not isinstance(name, str):
                continue
            table = backend.tables.get(name)
            shard = getattr(table, "stream_shard", None)
            if table is not None and shard is not None:
                found[name] = (table, shard, len(shard.items))
    return found


def _keep_stream(backend: Any, before: dict[str, tuple[Any, Any, int]]) -> None:
    """After a rollback: the original shard, cut back, goes into the table put back."""
    for name, (table, shard, length) in before.items():
        del shard.items[length:]  # the cancelled operations' records: never visible
        restored = backend.tables.get(name)
        if restored is not None and restored is not table:
            shard.table = restored
            restored.stream_shard = shard


def _transact(method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> Any:
        with _LOCK:
            before = _shards(self, transact_items)
            try:
                return method(self, transact_items)
            except Exception:
                _keep_stream(self, before)
                raise

    setattr(transact_write_items, _MARK, True)
    return transact_write_items


class OneLineRequestErrors(logging.Filter):
    """werkzeug's ``Error on request:`` + traceback, as one line naming the error."""

    def filter(self, record: logging.LogRecord) -> bool:
        text = record.getMessage()
        if text.startswith("Error on request:"):
            lines = [line for line in text.splitlines() if line.strip()]
            record.msg = f"emulator: a request failed inside moto (HTTP 500): {lines[-1].strip()}"
            record.args = ()
            record.exc_info = None
        return True


def _false_across_types(method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    def expr(self: Any, item: Any) -> Any:
        try:
            return method(self, item)
        except TypeError:  # moto compared a str with a Decimal (or such): DynamoDB says false
            return False

    setattr(expr, _MARK, True)
    return expr


def applied() -> bool:
    """True once :func:`apply` has patched moto in this process."""
    from moto.dynamodb.models import DynamoDBBackend

    return bool(getattr(DynamoDBBackend.transact_write_items, _MARK, False))


def apply() -> None:
    """Patch moto's DynamoDB and Streams backends in this process (once; idempotent)."""
    from moto.dynamodb import comparisons
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodbstreams.models import DynamoDBStreamsBackend

    with _LOCK:
        if applied():
            return
        logging.getLogger("werkzeug").addFilter(OneLineRequestErrors())
        for name in _WRITES:
            setattr(DynamoDBBackend, name, _locked(getattr(DynamoDBBackend, name)))
        for name in _ORDERINGS:
            operator = getattr(comparisons, name)
            operator.expr = _false_across_types(operator.expr)
        for name in _READS:
            setattr(DynamoDBStreamsBackend, name, _locked(getattr(DynamoDBStreamsBackend, name)))
        setattr(  # noqa: B010 (mypy refuses a plain assignment to a method)
            DynamoDBBackend,
            "transact_write_items",
            _transact(DynamoDBBackend.transact_write_items),
        )
