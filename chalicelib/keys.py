"""The Users table's key schema, in one place, and the one ledger key it gives each item.

The schema is a setting, ``USERS_TABLE_KEY``: the table's key attributes with their types,
partition key first, as in the table's ``KeySchema`` and ``AttributeDefinitions`` -
``id:S`` (the default: ``infra/users-table.yaml``), ``user_id:S``, ``pk:S,sk:N``.

:meth:`KeySchema.item_key` checks a record's ``Keys`` against it (exactly these attributes,
of these types; a mismatch fails the record and names the field) and returns a text that two
different items can never share: for a single string key, the value itself (the format the
ledger has always stored); otherwise the attributes as canonical typed JSON, in schema order.
"""

from __future__ import annotations

import json
from base64 import b64encode
from typing import Any, NamedTuple

from chalicelib.errors import ConfigurationError, RecordError
from chalicelib.records import Change

__all__ = ["DEFAULT_KEY_SCHEMA", "KeySchema"]

DEFAULT_KEY_SCHEMA = "id:S"
KEY_TYPES = ("S", "N", "B")  # the only types DynamoDB allows for a key attribute


class KeySchema(NamedTuple):
    attributes: tuple[tuple[str, str], ...]  # (name, type), the partition key first

    @classmethod
    def parse(cls, text: str, setting: str = "USERS_TABLE_KEY") -> KeySchema:
        """``name:TYPE[,name:TYPE]``; :class:`ConfigurationError` naming ``setting`` if not."""
        attributes = []
        for part in text.split(","):
            name, _, kind = part.strip().rpartition(":")
            if not name or kind.strip().upper() not in KEY_TYPES:
                raise ConfigurationError(
                    f"{setting} must be the table's key attributes as name:TYPE (TYPE S, N or "
                    "B), partition key first, separated by a comma: for example id:S or pk:S,sk:N"
                )
            attributes.append((name.strip(), kind.strip().upper()))
        if len(attributes) > 2 or len({name for name, _ in attributes}) != len(attributes):
            raise ConfigurationError(f"{setting} names one or two distinct key attributes")
        return cls(tuple(attributes))

    def __str__(self) -> str:
        return ",".join(f"{name}:{kind}" for name, kind in self.attributes)

    def check(self, change: Change) -> None:
        """Fail ``change`` (a :class:`RecordError` naming the field) unless its ``Keys`` are
        exactly this schema's attributes, each of its type."""
        keys = change.raw["dynamodb"]["Keys"]
        attributes = self.attributes
        if len(keys) == len(attributes):
            for name, kind in attributes:
                value = keys.get(name)
                if type(value) is not dict or kind not in value or len(value) != 1:
                    break
            else:
                return
        raise self._mismatch(change, keys)

    def _mismatch(self, change: Change, keys: Any) -> RecordError:
        for name, kind in self.attributes:
            value = keys.get(name)
            if value is None:
                return change.error(f"missing: the table's key is {self}", f"dynamodb.Keys.{name}")
            if not isinstance(value, dict) or list(value) != [kind]:
                return change.error(
                    f"not of type {kind} (key schema {self})", f"dynamodb.Keys.{name}"
                )
        extra = sorted(set(keys) - {name for name, _ in self.attributes})
        return change.error(
            f"attributes that are not in the key schema {self}: {len(extra)}", "dynamodb.Keys"
        )

    def item_key(self, change: Change) -> str:
        """The item's identity as text (see the module docstring); checks ``Keys`` first."""
        self.check(change)
        values = change.keys  # decoded (and validated) once
        if len(self.attributes) == 1 and self.attributes[0][1] == "S":
            return str(values[self.attributes[0][0]])
        typed = {name: {kind: _canonical(values[name])} for name, kind in self.attributes}
        return json.dumps(typed, ensure_ascii=False, separators=(",", ":"))


def _canonical(value: Any) -> str:
    """One text per key value: numbers that DynamoDB holds equal (``1``, ``1.0``) agree."""
    if isinstance(value, bytes):
        return b64encode(value).decode("ascii")
    if isinstance(value, str):
        return value
    # A Decimal: DynamoDB compares numbers by value, so 1, 1.0 and 10E-1 are one key.
    return "0" if value.is_zero() else str(value.normalize())
