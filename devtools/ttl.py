"""DynamoDB's Time to Live, for the emulator (moto never deletes expired items).

DynamoDB's rules, followed here (:func:`expires`):

* only a top-level **Number** holding epoch seconds expires an item; any other type (a string
  such as ``"tomorrow"``, a set, a map) is ignored, and so is an item without the attribute;
* an item expires once that time is in the past, but a time **more than five years** in the
  past is ignored (DynamoDB does not process such items: it is most likely not seconds);
* a number too large for any date simply never comes.

:class:`TtlSweeper` scans the table (every item a user can write, whatever its attributes: the
comparison is made here, never by a ``FilterExpression`` that moto would evaluate on mixed
types and fail on), deletes each expired item with a delete conditional on the value it saw (an
item renewed in the meantime stays), and marks the stream records it causes as DynamoDB does.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from chalicelib.clients import error_code

__all__ = ["IGNORED_AFTER_SECONDS", "TTL_PRINCIPAL", "TtlSweeper", "expires"]

TTL_PRINCIPAL = {"PrincipalId": "dynamodb.amazonaws.com", "Type": "Service"}
IGNORED_AFTER_SECONDS = 5 * 365 * 24 * 3600  # DynamoDB ignores TTL values older than 5 years


def expires(value: object, now: float) -> bool:
    """True if an item whose TTL attribute is ``value`` (DynamoDB JSON) has expired at ``now``."""
    if not isinstance(value, Mapping) or set(value) != {"N"} or not isinstance(value["N"], str):
        return False
    try:
        moment = Decimal(value["N"])
    except InvalidOperation:
        return False
    if not moment.is_finite():
        return False
    return Decimal(now) - IGNORED_AFTER_SECONDS <= moment < Decimal(now)


class TtlSweeper:
    """Stands in for DynamoDB's Time to Live on ``table``.

    :meth:`sweep` deletes the expired items (the TTL attribute is read from
    ``DescribeTimeToLive``). DynamoDB marks such deletions in the stream with the service
    principal ``dynamodb.amazonaws.com``; moto cannot, so :meth:`mark` (a poller
    ``transform_record``) adds that ``userIdentity`` to the REMOVE records of exactly the items
    swept here.
    """

    def __init__(self, dynamodb: Any, table: str) -> None:
        self.dynamodb = dynamodb
        self.table = table
        self._swept: dict[str, int] = {}
        self._lock = threading.Lock()

    def attribute(self) -> str | None:
        described = self.dynamodb.describe_time_to_live(TableName=self.table)
        ttl = described["TimeToLiveDescription"]
        return ttl.get("AttributeName") if ttl.get("TimeToLiveStatus") == "ENABLED" else None

    def sweep(self, now: float | None = None) -> list[dict[str, Any]]:
        """Delete every expired item; return the keys deleted."""
        attribute = self.attribute()
        if attribute is None:
            return []
        moment = time.time() if now is None else now
        schema = self.dynamodb.describe_table(TableName=self.table)["Table"]["KeySchema"]
        keys = [entry["AttributeName"] for entry in schema]
        names = {f"#k{i}": name for i, name in enumerate([*keys, attribute])}
        deleted = []
        pages = self.dynamodb.get_paginator("scan").paginate(
            TableName=self.table,
            ProjectionExpression=", ".join(names),
            ExpressionAttributeNames=names,
        )
        for page in pages:
            for item in page.get("Items", []):
                if expires(item.get(attribute), moment):
                    key = {name: item[name] for name in keys}
                    if self._delete(key, attribute, item[attribute]):
                        deleted.append(key)
        return deleted

    def _delete(self, key: dict[str, Any], attribute: str, seen: dict[str, Any]) -> bool:
        marker = _key_marker(key)
        self._count(marker, +1)  # before the delete: the poller may read its record at once
        try:
            self.dynamodb.delete_item(
                TableName=self.table,
                Key=key,
                ConditionExpression="#ttl = :seen",
                ExpressionAttributeNames={"#ttl": attribute},
                ExpressionAttributeValues={":seen": seen},
            )
        except Exception as exc:
            self._count(marker, -1)
            if error_code(exc) == "ConditionalCheckFailedException":
                return False  # renewed or deleted since the scan: not expired any more
            raise
        return True

    def _count(self, marker: str, change: int) -> None:
        with self._lock:
            count = self._swept.get(marker, 0) + change
            if count > 0:
                self._swept[marker] = count
            else:
                self._swept.pop(marker, None)

    def mark(self, record: dict[str, Any]) -> dict[str, Any]:
        """Add the Time to Live ``userIdentity`` to the REMOVE record of a swept item."""
        if record.get("eventName") != "REMOVE":
            return record
        marker = _key_marker(record.get("dynamodb", {}).get("Keys", {}))
        with self._lock:
            if not self._swept.get(marker):
                return record
        self._count(marker, -1)
        return {**record, "userIdentity": dict(TTL_PRINCIPAL)}


def _key_marker(key: Mapping[str, Any]) -> str:
    return json.dumps(key, sort_keys=True, default=str)
