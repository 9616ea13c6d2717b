"""An idempotency ledger in DynamoDB: each side effect runs once per business key.

Protocol for :meth:`DynamoDBLedger.once`:

1. **claim** - a conditional put writes ``state=in_progress``, a random owner token and a
   lease, only where there is no entry, where an earlier claim's lease ran out (its owner
   crashed), or where the entry is this very claim (its token): a claim write that was applied
   but whose response was lost, and that botocore therefore sends again, succeeds;
2. **perform** - run the action;
3. **mark done** - a conditional update, owner only, sets ``state=done``; a failed action
   instead deletes the claim (owner only), so the key can be tried again.

An entry whose state is ``done`` makes later calls return ``None`` without running the action;
a live claim by someone else is a :class:`~chalicelib.errors.TransientError` (retry later).
Entries expire through the table's TTL attribute ``expires_at`` after ``retention_seconds``
(30 days by default). DynamoDB deletes expired items only eventually (typically within days),
so an entry past ``expires_at`` counts as gone even while it can still be read: the period is
exact, whatever the TTL sweeper's delay.
A key that DynamoDB cannot store as it is (longer than a partition key's 2,048 bytes, or not
valid UTF-8) is stored as its SHA-256 digest instead.

The one window for a duplicate: the action succeeded (SES accepted the email) but the process
died, or the ledger stayed unavailable, before the done mark was written; after the lease
runs out a retry performs it again. SES has no idempotency key, so nothing can close it.
"""

from __future__ import annotations

import contextlib
import hashlib
import time
import uuid
from collections.abc import Callable
from typing import Any

from chalicelib.errors import ClaimHeld, TransientError
from chalicelib.ports import Unmarked

__all__ = ["DynamoDBLedger"]

IN_PROGRESS = "in_progress"
DONE = "done"
KEY_ATTRIBUTE = "pk"  # the table's partition key (a string)
TTL_ATTRIBUTE = "expires_at"  # the table's Time to Live attribute (epoch seconds)
RETENTION_SECONDS = 30 * 24 * 3600
LEASE_SECONDS = 120  # longer than the function's timeout (60 s in .chalice/config.json)
MAX_KEY_BYTES = 2048  # DynamoDB's limit for a partition key value


def storage_key(key: str) -> str:
    """``key`` as the ledger stores it: itself where DynamoDB accepts it, else its digest."""
    try:
        if len(key.encode("utf-8")) <= MAX_KEY_BYTES:
            return key
    except UnicodeEncodeError:  # a lone surrogate: not storable as a DynamoDB string
        pass
    digest = hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()
    return f"sha256#{digest}"


def default_dynamodb_client() -> Any:
    import boto3  # deferred: only batches that perform a side effect pay for boto3

    return boto3.client("dynamodb")


class DynamoDBLedger:
    """:class:`~chalicelib.ports.Ledger` backed by a DynamoDB table with partition key ``pk``."""

    def __init__(
        self,
        table_name: str,
        *,
        client_factory: Callable[[], Any] = default_dynamodb_client,
        lease_seconds: int = LEASE_SECONDS,
        retention_seconds: int = RETENTION_SECONDS,
        clock: Callable[[], float] = time.time,
        mark_attempts: int = 3,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.table_name = table_name
        self._client_factory = client_factory
        self._client: Any = None
        self.lease_seconds = lease_seconds
        self.retention_seconds = retention_seconds
        self._clock = clock
        self._mark_attempts = mark_attempts
        self._sleep = sleep

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = self._client_factory()
        return self._client

    def once(self, key: str, action: Callable[[], str]) -> str | None:
        key = storage_key(key)
        token = uuid.uuid4().hex
        now = int(self._clock())
        if not self._claim(key, token, now):
            return None
        try:
            result = action()
        except BaseException:
            self._release(key, token)
            raise
        lease_until = now + self.lease_seconds
        return result if self._mark_done(key, token, result) else Unmarked(result, lease_until)

    # -- steps ----------------------------------------------------------------------------

    def _call(self, operation: str, **kwargs: Any) -> Any:
        try:
            return getattr(self.client, operation)(TableName=self.table_name, **kwargs)
        except Exception as exc:
            if _error_code(exc) == "ConditionalCheckFailedException":
                raise
            raise TransientError(f"ledger {operation} failed: {_error_code(exc) or exc}") from exc

    def _claim(self, key: str, token: str, now: int) -> bool:
        try:
            self._call(
                "put_item",
                Item={
                    KEY_ATTRIBUTE: {"S": key},
                    "state": {"S": IN_PROGRESS},
                    "owner": {"S": token},
                    "lease_until": {"N": str(now + self.lease_seconds)},
                    TTL_ATTRIBUTE: {"N": str(now + self.retention_seconds)},
                },
                ConditionExpression=(
                    "attribute_not_exists(#key) OR #expires < :now"
                    " OR (#state = :in_progress AND (lease_until < :now OR #owner = :token))"
                ),
                ExpressionAttributeNames={
                    "#key": KEY_ATTRIBUTE,
                    "#state": "state",
                    "#expires": TTL_ATTRIBUTE,
                    "#owner": "owner",
                },
                ExpressionAttributeValues={
                    ":in_progress": {"S": IN_PROGRESS},
                    ":now": {"N": str(now)},
                    ":token": {"S": token},
                },
            )
        except Exception as exc:
            if _error_code(exc) != "ConditionalCheckFailedException":
                raise
        else:
            return True
        entry = self._call("get_item", Key={KEY_ATTRIBUTE: {"S": key}}, ConsistentRead=True).get(
            "Item"
        )
        if entry is None:  # released between our put and get: let the retry claim it
            raise TransientError("ledger entry changed while claiming; retry")
        if entry.get("state", {}).get("S") == DONE:
            return False
        raise ClaimHeld("another invocation holds this side effect's claim; retry later")

    def _release(self, key: str, token: str) -> None:
        # A failed release is harmless: the lease expires by itself, and the action's error
        # is the one to report.
        with contextlib.suppress(Exception):
            self._call(
                "delete_item",
                Key={KEY_ATTRIBUTE: {"S": key}},
                ConditionExpression="#owner = :token",
                ExpressionAttributeNames={"#owner": "owner"},
                ExpressionAttributeValues={":token": {"S": token}},
            )

    def _mark_done(self, key: str, token: str, result: str) -> bool:
        """Whether the done mark was written (or our claim was already taken over)."""
        for attempt in range(self._mark_attempts):
            try:
                self._call(
                    "update_item",
                    Key={KEY_ATTRIBUTE: {"S": key}},
                    UpdateExpression="SET #state = :done, #result = :result REMOVE lease_until",
                    ConditionExpression="#owner = :token",
                    ExpressionAttributeNames={
                        "#state": "state",
                        "#owner": "owner",
                        "#result": "result",
                    },
                    ExpressionAttributeValues={
                        ":done": {"S": DONE},
                        ":result": {"S": result},
                        ":token": {"S": token},
                    },
                )
                return True
            except TransientError:
                if attempt + 1 < self._mark_attempts:
                    self._sleep(0.05 * 2**attempt)
            except Exception:  # our lease expired and another owner took over
                return True
        # The side effect happened; failing the record now would only make a retry repeat it.
        # The claim's lease will run out: this is the documented duplicate window, which the
        # caller is told about (Unmarked) so that it can say so.
        return False


def _error_code(exc: Exception) -> str:
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        return str(response.get("Error", {}).get("Code", ""))
    return ""
