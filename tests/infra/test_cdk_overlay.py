"""infra/chalice_overlay.py: the merge template cut into Chalice's part and the rest."""

from __future__ import annotations

import pytest

from infra.cfn import load_template
from infra.chalice_overlay import overrides, split
from infra.merge import OVERLAY, TABLE_TEMPLATE, build_merge_template


@pytest.fixture(scope="module")
def merged():
    return build_merge_template(load_template(TABLE_TEMPLATE), load_template(OVERLAY))


def test_overrides_merge_mappings_key_by_key_and_replace_lists_and_functions():
    overlay = {
        "Properties": {
            "Environment": {"Variables": {"A": "1", "B": {"Ref": "X"}}},
            "Policies": [{"PolicyName": "p"}],
            "Empty": {},
        }
    }
    assert dict(overrides(overlay)) == {
        "Properties.Environment.Variables.A": "1",
        "Properties.Environment.Variables.B": {"Ref": "X"},
        "Properties.Policies": [{"PolicyName": "p"}],
        "Properties.Empty": {},
    }


def test_overrides_refuse_a_key_that_a_dotted_path_cannot_name():
    with pytest.raises(ValueError, match="dot"):
        list(overrides({"Properties": {"a.b": 1}}))


def test_split_leaves_chalices_resources_out_and_binds_what_the_rest_refers_to(merged):
    parts = split(merged)
    assert set(parts.owned) == {"HandleUserChanges", "DefaultRole"}
    assert not set(parts.owned) & set(parts.rest["Resources"])
    # The alarms (bound by infra/merge.py) and the FunctionName output name the function.
    assert parts.bound == ("HandleUserChanges",)
    assert parts.rest["Parameters"]["HandleUserChanges"]["Type"] == "String"
    assert set(merged["Resources"]) == set(parts.rest["Resources"]) | set(parts.owned)


def test_split_refuses_a_reference_to_a_name_nobody_defines(merged):
    merged["Resources"]["UsersTable"]["Properties"]["TableName"] = {"Ref": "Nowhere"}
    with pytest.raises(ValueError, match="Nowhere"):
        split(merged)


def test_split_sees_names_used_inside_sub_strings(merged):
    merged["Outputs"]["Probe"] = {"Value": {"Fn::Sub": "${Elsewhere.Arn} ${AWS::Region}"}}
    with pytest.raises(ValueError, match="Elsewhere"):
        split(merged)
