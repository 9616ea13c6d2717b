"""USERS_TABLE_KEY comes from the table's definition, and the app reads it as the same schema."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from chalicelib.keys import KeySchema
from infra.cfn import load_template
from infra.key_schema import users_table_key
from infra.merge import OVERLAY, build_merge_template
from tests.infra.conftest import TABLE_TEMPLATE, Packaged


def keyed(*keys: tuple[str, str, str]) -> dict[str, Any]:
    template = load_template(TABLE_TEMPLATE)
    properties = template["Resources"]["UsersTable"]["Properties"]
    properties["KeySchema"] = [{"AttributeName": n, "KeyType": k} for n, _, k in keys]
    properties["AttributeDefinitions"] = [
        {"AttributeName": n, "AttributeType": t} for n, t, _ in keys
    ]
    return template


def test_the_users_table_is_keyed_id_as_a_string():
    assert users_table_key(load_template(TABLE_TEMPLATE)) == "id:S"


@pytest.mark.parametrize(
    ("keys", "setting"),
    [
        ((("user_id", "S", "HASH"),), "user_id:S"),
        ((("sk", "N", "RANGE"), ("pk", "S", "HASH")), "pk:S,sk:N"),  # partition key first
        ((("pk", "B", "HASH"), ("sk", "S", "RANGE")), "pk:B,sk:S"),
    ],
)
def test_other_key_schemas_give_a_setting_the_app_reads_back(keys, setting):
    derived = users_table_key(keyed(*keys))
    assert derived == setting
    assert str(KeySchema.parse(derived)) == setting  # the app's own parser


def test_the_one_stack_function_gets_the_tables_key_schema(packaged: Packaged):
    variables = packaged.template()["Resources"]["HandleUserChanges"]["Properties"]["Environment"]
    assert variables["Variables"]["USERS_TABLE_KEY"] == "id:S"


def test_a_changed_key_schema_reaches_the_function_and_setting_it_by_hand_is_refused():
    overlay = load_template(OVERLAY)
    merged = build_merge_template(keyed(("user_id", "S", "HASH")), copy.deepcopy(overlay))
    variables = merged["Resources"]["HandleUserChanges"]["Properties"]["Environment"]["Variables"]
    assert variables["USERS_TABLE_KEY"] == "user_id:S"
    overlay["Resources"]["HandleUserChanges"]["Properties"]["Environment"]["Variables"][
        "USERS_TABLE_KEY"
    ] = "id:S"
    with pytest.raises(ValueError, match="derived from the UsersTable's KeySchema"):
        build_merge_template(load_template(TABLE_TEMPLATE), overlay)
