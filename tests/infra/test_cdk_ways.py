"""The three ways deploy the same table, ledger, queue, alarms and role, from one source.

Each way's output is made by its own real tool: `chalice package --merge-template`
(infra/package.sh), the CDK (infra/cdk/, CfnInclude plus chalice.cdk.Chalice), and, for
`chalice deploy`, the table stack infra/users-table.yaml as deployed plus the policy document
that way hands to Chalice. The resources are diffed across the three; then a change made to the
table stack in a copy of the project must show up in every way.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from devtools.project_copy import project_copy
from infra.cfn import Resolver, load_template
from infra.policy import resolved_policy
from tests.infra.conftest import TABLE_TEMPLATE, Packaged, Synthesized, cdk_synth
from tests.infra.test_ways_apart import build

SHARED = (
    "UsersTable",
    "LedgerTable",
    "OnFailureQueue",
    "AlarmTopic",
    "AlarmEmailSubscription",
    "IteratorAgeAlarm",
    "ErrorsAlarm",
    "OnFailureQueueAlarm",
    "WelcomeEmailsRejectedAlarm",  # on the metrics the function writes (chalicelib.metrics)
    "RecordsFailedAlarm",
    "StreamLagAlarm",
    "LedgerClaimsLostAlarm",
    "Dashboard",
)
OUTPUTS = {
    "TableArn": "arn:aws:dynamodb:eu-west-1:123456789012:table/Users-x",
    "StreamArn": (
        "arn:aws:dynamodb:eu-west-1:123456789012:table/Users-x/stream/2026-01-01T00:00:00.000"
    ),
    "LedgerTableArn": "arn:aws:dynamodb:eu-west-1:123456789012:table/Ledger-x",
    "OnFailureQueueArn": "arn:aws:sqs:eu-west-1:123456789012:failed-x",
}


def without_cdk_nag(resource: dict[str, Any]) -> dict[str, Any]:
    """``resource`` without the audit trail cdk-nag writes into its Metadata."""
    copy: dict[str, Any] = json.loads(json.dumps(resource))
    metadata = copy.get("Metadata", {})
    metadata.pop("cdk_nag", None)
    if not metadata:
        copy.pop("Metadata", None)
    return copy


def bound_to_parameter(node: Any) -> Any:
    """The alarms as the `chalice deploy` way's table stack has them (FunctionName parameter)."""
    text = json.dumps(node).replace('{"Ref": "HandleUserChanges"}', '{"Ref": "FunctionName"}')
    return json.loads(text)


@pytest.fixture(scope="module")
def cdk_template(synthesized: Synthesized) -> dict[str, Any]:
    return synthesized.template()


def test_cdk_and_chalice_package_give_identical_resources(packaged: Packaged, cdk_template):
    package = packaged.template()
    names = set(package["Resources"]) - {"HandleUserChanges"}
    assert names == set(SHARED) | {"FunctionLogGroup", "DefaultRole"}
    for name in sorted(names):
        assert without_cdk_nag(cdk_template["Resources"][name]) == package["Resources"][name], name
    assert cdk_template["Conditions"] == package["Conditions"]
    assert cdk_template["Outputs"] == package["Outputs"]
    parameters = dict(cdk_template["Parameters"])
    assert parameters.pop("BootstrapVersion")["Type"].startswith("AWS::SSM::Parameter::Value")
    assert parameters == package["Parameters"]


def test_cdk_and_chalice_package_configure_the_function_alike(packaged, cdk_template):
    ours = cdk_template["Resources"]["HandleUserChanges"]["Properties"]
    theirs = packaged.template()["Resources"]["HandleUserChanges"]["Properties"]
    assert set(ours) == set(theirs)
    for key in sorted(set(ours) - {"CodeUri"}):  # the code is a CDK asset in one, a file here
        assert ours[key] == theirs[key], key


def test_chalice_deploy_way_deploys_the_same_tables_queue_and_alarms(cdk_template):
    table_stack = load_template(TABLE_TEMPLATE)
    for name in SHARED:
        ours = bound_to_parameter(without_cdk_nag(cdk_template["Resources"][name]))
        assert ours == table_stack["Resources"][name], name


def test_chalice_deploy_way_hands_chalice_the_same_role_policy(cdk_template):
    sender, log_group = "welcome@example.com", "/aws/lambda/users-stream-dev-handle_user_changes"
    (policy,) = cdk_template["Resources"]["DefaultRole"]["Properties"]["Policies"]
    resolver = Resolver(
        refs={
            "AWS::Partition": "aws",
            "AWS::Region": "eu-west-1",
            "AWS::AccountId": "123456789012",
            "WelcomeEmailSender": sender,
            "SesIdentity": "",
            "FunctionLogGroup": log_group,
        },
        attributes={
            ("UsersTable", "Arn"): OUTPUTS["TableArn"],
            ("UsersTable", "StreamArn"): OUTPUTS["StreamArn"],
            ("LedgerTable", "Arn"): OUTPUTS["LedgerTableArn"],
            ("OnFailureQueue", "Arn"): OUTPUTS["OnFailureQueueArn"],
        },
        conditions=cdk_template["Conditions"],
    )
    deployed = resolved_policy(OUTPUTS, log_group=log_group, sender=sender)
    assert resolver.resolve(policy["PolicyDocument"]) == deployed


PROBE = """
  ProbeDashboard:
    Type: AWS::CloudWatch::Dashboard
    Properties:
      DashboardBody: '{"widgets": []}'
"""


def test_a_change_to_the_table_stack_shows_up_in_every_way(tmp_path: Path):
    project = project_copy(tmp_path / "project")
    source = project / "infra" / "users-table.yaml"
    text = source.read_text().replace(
        "MessageRetentionPeriod: 1209600", "MessageRetentionPeriod: 7200"
    )
    source.write_text(text.replace("\nResources:\n", "\nResources:" + PROBE, 1))
    package = build(project)  # infra/package.sh build, as the one-stack way runs it
    result = cdk_synth(project, tmp_path / "cdk.out")
    assert result.returncode == 0, result.stderr[-2000:]
    cdk = Synthesized(tmp_path / "cdk.out").template()
    table_stack = load_template(source)
    for template in (package, cdk, table_stack):
        assert template["Resources"]["ProbeDashboard"]["Type"] == "AWS::CloudWatch::Dashboard"
        queue = template["Resources"]["OnFailureQueue"]["Properties"]
        assert queue["MessageRetentionPeriod"] == 7200
