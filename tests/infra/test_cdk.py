"""The CDK way (infra/cdk/), synthesized by the real CDK and checked with tools we did not write.

The stack must hold the same invariants as the one-stack template: the stream by GetAtt,
partial batch responses with the function's flag, bisect, bounded retries and record age, the
on-failure queue, TRIM_HORIZON, least privilege, encryption and point-in-time recovery, alarms.
It goes through the SAM transform (aws-sam-translator), cfn-lint, checkov, and cdk-nag's
AwsSolutions pack, run by the synthesis itself.
"""

from __future__ import annotations

import json
import subprocess
from typing import Any

import pytest

from infra.cdk.nag import ACKNOWLEDGED, VALIDATOR_FALSE_POSITIVES
from tests.infra.conftest import (
    BIN,
    ROOT,
    Synthesized,
    assert_checkov_clean,
    cdk_synth,
    sam_transform,
)

STREAM_RETENTION_SECONDS = 24 * 3600


def of_type(template: dict[str, Any], kind: str) -> dict[str, Any]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == kind}


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


@pytest.fixture(scope="module")
def template(synthesized: Synthesized) -> dict[str, Any]:
    return synthesized.template()


@pytest.fixture(scope="module")
def expanded(synthesized: Synthesized, template) -> dict[str, Any]:
    result = sam_transform(json.loads(json.dumps(template)))
    synthesized.transformed_path.write_text(json.dumps(result, indent=1))
    return result


def test_the_code_is_a_cdk_asset_of_chalices_package(synthesized, template):
    function = template["Resources"]["HandleUserChanges"]["Properties"]
    (asset,) = [
        a
        for a in synthesized.assets().values()
        if a["source"]["packaging"] == "file" and a["source"]["path"].endswith(".zip")
    ]
    (destination,) = asset["destinations"].values()
    assert function["CodeUri"]["Key"] == destination["objectKey"]
    assert (synthesized.directory / asset["source"]["path"]).stat().st_size > 0


def test_one_role_and_it_is_the_projects(template):
    (role,) = of_type(template, "AWS::IAM::Role").values()
    assert [p["PolicyName"] for p in role["Properties"]["Policies"]] == ["users-stream-consumer"]
    assert "arn:*:logs:*:*:*" not in json.dumps(template)  # Chalice's generated policy is gone


def test_mapping_has_every_reliability_setting(template, expanded):
    (mapping,) = of_type(expanded, "AWS::Lambda::EventSourceMapping").values()
    m, parameters = mapping["Properties"], template["Parameters"]
    assert m["EventSourceArn"] == {"Fn::GetAtt": ["UsersTable", "StreamArn"]}
    assert m["FunctionName"] == {"Ref": "HandleUserChanges"}
    assert m["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert m["BisectBatchOnFunctionError"] is True
    assert m["StartingPosition"] == "TRIM_HORIZON"
    assert m["DestinationConfig"] == {
        "OnFailure": {"Destination": {"Fn::GetAtt": ["OnFailureQueue", "Arn"]}}
    }
    assert m["MaximumRetryAttempts"] == {"Ref": "MaximumRetryAttempts"}
    assert 0 <= int(parameters["MaximumRetryAttempts"]["MaxValue"]) <= 10_000
    age = parameters["MaximumRecordAgeInSeconds"]
    assert m["MaximumRecordAgeInSeconds"] == {"Ref": "MaximumRecordAgeInSeconds"}
    assert 60 <= int(age["MinValue"]) <= int(age["Default"]) <= int(age["MaxValue"])
    assert int(age["MaxValue"]) < STREAM_RETENTION_SECONDS


def test_function_reports_partial_failures_and_reads_the_stack(expanded):
    function = of_type(expanded, "AWS::Lambda::Function")["HandleUserChanges"]["Properties"]
    variables = function["Environment"]["Variables"]
    assert variables["REPORT_BATCH_ITEM_FAILURES"] == "true"
    assert variables["USERS_TABLE_STREAM_ARN"] == {"Fn::GetAtt": ["UsersTable", "StreamArn"]}
    assert variables["LEDGER_TABLE"] == {"Ref": "LedgerTable"}
    assert variables["WELCOME_EMAIL_SENDER"] == {"Ref": "WelcomeEmailSender"}
    assert function["Role"] == {"Fn::GetAtt": ["DefaultRole", "Arn"]}
    assert function["LoggingConfig"]["LogGroup"] == {"Ref": "FunctionLogGroup"}


def test_least_privilege_no_star_but_list_streams(template):
    (role,) = of_type(template, "AWS::IAM::Role").values()
    for statement in role["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]:
        assert all("*" not in action for action in as_list(statement["Action"]))
        for resource in as_list(statement["Resource"]):
            if resource == "*":  # no resource-level permission (Service Authorization Reference)
                assert statement["Action"] == "dynamodb:ListStreams"
            else:
                assert isinstance(resource, dict)  # an ARN of this stack's own resources


def test_tables_are_encrypted_recoverable_and_the_users_table_streams(template):
    tables = of_type(template, "AWS::DynamoDB::Table")
    assert set(tables) == {"UsersTable", "LedgerTable"}
    for table in tables.values():
        assert table["Properties"]["SSESpecification"]["SSEEnabled"] is True
        assert table["Properties"]["PointInTimeRecoverySpecification"] == {
            "PointInTimeRecoveryEnabled": True
        }
    stream = tables["UsersTable"]["Properties"]["StreamSpecification"]
    assert stream == {"StreamViewType": "NEW_AND_OLD_IMAGES"}
    (queue,) = of_type(template, "AWS::SQS::Queue").values()
    assert queue["Properties"]["SqsManagedSseEnabled"] is True


def test_alarms_watch_this_stacks_function_and_queue(template):
    alarms = of_type(template, "AWS::CloudWatch::Alarm")
    assert set(alarms) == {
        "IteratorAgeAlarm",
        "ErrorsAlarm",
        "OnFailureQueueAlarm",
        # on the metrics the function writes (chalicelib.metrics)
        "WelcomeEmailsRejectedAlarm",
        "RecordsFailedAlarm",
        "StreamLagAlarm",
        "LedgerClaimsLostAlarm",
    }
    for name in ("IteratorAgeAlarm", "ErrorsAlarm"):
        dimensions = alarms[name]["Properties"]["Dimensions"]
        assert dimensions == [{"Name": "FunctionName", "Value": {"Ref": "HandleUserChanges"}}]
    assert "FunctionName" not in template["Parameters"]


def test_cfn_lint_finds_nothing(synthesized, expanded):
    files = [str(synthesized.template_path), str(synthesized.transformed_path)]
    result = subprocess.run(
        [str(BIN / "cfn-lint"), "--format", "parseable", "--", *files],
        capture_output=True,
        text=True,
        check=False,
    )
    assert (result.stdout, result.stderr, result.returncode) == ("", "", 0)


def test_checkov_fails_nothing_and_every_skip_is_justified(checkov, synthesized, expanded):
    assert_checkov_clean(checkov, synthesized.template_path, synthesized.transformed_path)


def test_each_cdk_nag_acknowledgement_is_in_the_template_with_its_reason(template):
    written = {
        (name, rule["id"]): rule["reason"]
        for name, resource in template["Resources"].items()
        for rule in resource.get("Metadata", {}).get("cdk_nag", {}).get("rules_to_suppress", [])
    }
    wanted = ACKNOWLEDGED + VALIDATOR_FALSE_POSITIVES
    assert written == {(name, finding): why for name, finding, why in wanted}
    assert all("\n" not in why and len(why.split()) >= 8 for _, _, why in ACKNOWLEDGED)


def test_without_acknowledgements_cdk_nag_fails_the_synthesis_on_exactly_those(tmp_path):
    outdir = tmp_path / "cdk.out"
    result = cdk_synth(ROOT, outdir, acknowledge="false")
    assert result.returncode == 1
    assert "cdk synth failed: ValidationFailed" in result.stderr
    report = json.loads((outdir / "validation-report.json").read_text())
    (nag,) = [p for p in report["pluginReports"] if p["pluginName"] == "AwsSolutions"]
    found = {
        (violation["ruleName"], construct["constructPath"].rsplit("/", 1)[1])
        for violation in nag["violations"]
        for construct in violation["violatingConstructs"]
    }
    assert found == {(finding, name) for name, finding, _ in ACKNOWLEDGED}
