"""The Users table's key schema, read from its definition, as the app's USERS_TABLE_KEY setting.

The app (``chalicelib.keys``) builds each user's ledger key from the table's key attributes.
Rather than write them a second time, every deployment way derives the setting from the
``UsersTable`` of infra/users-table.yaml: its ``KeySchema`` (partition key first) with each
attribute's type from ``AttributeDefinitions`` - ``id:S`` today.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["SETTING", "users_table_key"]

SETTING = "USERS_TABLE_KEY"


def users_table_key(template: Mapping[str, Any], logical_id: str = "UsersTable") -> str:
    """``name:TYPE[,name:TYPE]`` for the table ``logical_id`` of ``template``."""
    properties = template["Resources"][logical_id]["Properties"]
    types = {a["AttributeName"]: a["AttributeType"] for a in properties["AttributeDefinitions"]}
    ordered = sorted(properties["KeySchema"], key=lambda key: key["KeyType"] != "HASH")
    return ",".join(f"{key['AttributeName']}:{types[key['AttributeName']]}" for key in ordered)
