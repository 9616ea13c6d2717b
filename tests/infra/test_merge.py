"""infra/merge.py: the merge file is the table stack plus the overlay, nothing written twice."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from infra.cfn import load_template
from infra.merge import OVERLAY, build_merge_template, main
from tests.infra.conftest import TABLE_TEMPLATE

TABLE = load_template(TABLE_TEMPLATE)
CONSUMER = load_template(OVERLAY)


def overlay(**events: dict[str, Any]) -> dict[str, Any]:
    """A minimal overlay whose function has the given event sources' properties."""
    return {
        "Resources": {
            "HandleUserChanges": {
                "Properties": {
                    "Events": {name: {"Properties": props} for name, props in events.items()}
                }
            }
        }
    }


def test_every_table_stack_resource_is_copied_verbatim_except_the_bound_function_name():
    merged = build_merge_template(TABLE, CONSUMER)
    for name, resource in TABLE["Resources"].items():
        text = json.dumps(resource).replace(
            '{"Ref": "FunctionName"}', '{"Ref": "HandleUserChanges"}'
        )
        assert merged["Resources"][name] == json.loads(text)
    for section in ("Parameters", "Conditions", "Outputs"):
        expected = {k: v for k, v in TABLE[section].items() if k != "FunctionName"}
        assert {k: merged[section][k] for k in expected} == expected


def test_alarms_watch_the_function_of_the_same_stack():
    merged = build_merge_template(TABLE, CONSUMER)
    assert "FunctionName" not in merged["Parameters"]
    assert '"FunctionName"}' not in json.dumps(merged)
    for name in ("IteratorAgeAlarm", "ErrorsAlarm"):
        dimensions = merged["Resources"][name]["Properties"]["Dimensions"]
        assert dimensions == [{"Name": "FunctionName", "Value": {"Ref": "HandleUserChanges"}}]
    groups = merged["Metadata"]["AWS::CloudFormation::Interface"]["ParameterGroups"]
    assert sorted(p for g in groups for p in g["Parameters"]) == sorted(merged["Parameters"])


def test_the_input_templates_are_not_modified():
    table, consumer = copy.deepcopy(TABLE), copy.deepcopy(CONSUMER)
    build_merge_template(table, consumer)
    assert (table, consumer) == (TABLE, CONSUMER)


@pytest.mark.parametrize(
    ("response_types", "flag"),
    [(["ReportBatchItemFailures"], "true"), ([], "false"), (None, "false")],
)
def test_report_flag_follows_function_response_types(response_types, flag):
    props = {} if response_types is None else {"FunctionResponseTypes": response_types}
    merged = build_merge_template(TABLE, overlay(Stream=props))
    function = merged["Resources"]["HandleUserChanges"]["Properties"]
    assert function["Environment"]["Variables"]["REPORT_BATCH_ITEM_FAILURES"] == flag


def test_event_sources_that_disagree_on_partial_failures_are_refused():
    mixed = overlay(A={"FunctionResponseTypes": ["ReportBatchItemFailures"]}, B={})
    with pytest.raises(ValueError, match="agree on FunctionResponseTypes"):
        build_merge_template(TABLE, mixed)


def test_setting_the_report_flag_by_hand_is_refused():
    manual = overlay(Stream={})
    manual["Resources"]["HandleUserChanges"]["Properties"]["Environment"] = {
        "Variables": {"REPORT_BATCH_ITEM_FAILURES": "true"}
    }
    with pytest.raises(ValueError, match="derived from FunctionResponseTypes"):
        build_merge_template(TABLE, manual)


@pytest.mark.parametrize("section", ["Parameters", "Conditions", "Resources", "Outputs"])
def test_a_name_defined_in_both_templates_is_refused(section):
    name = next(iter(TABLE[section]))
    twice = overlay(Stream={})
    twice.setdefault(section, {})[name] = {"Type": "String"}
    with pytest.raises(ValueError, match=f"{section} defined in both templates: {name}"):
        build_merge_template(TABLE, twice)


def test_overlay_without_the_function_or_with_other_sections_is_refused():
    with pytest.raises(ValueError, match="HandleUserChanges"):
        build_merge_template(TABLE, {"Resources": {}})
    with pytest.raises(ValueError, match="may only hold"):
        build_merge_template(TABLE, {**overlay(Stream={}), "Transform": "x"})


def test_main_writes_the_merge_file(tmp_path, capsys):
    output = tmp_path / "deep" / "merge.json"
    assert main(["--output", str(output)]) == 0
    assert capsys.readouterr().out.strip() == str(output)
    assert json.loads(output.read_text()) == build_merge_template(TABLE, CONSUMER)
