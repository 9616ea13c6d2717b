"""The `chalice deploy` path end to end against moto on loopback: the real script, the real
`chalice deploy`/`chalice delete` CLI (pointed at moto through AWS_ENDPOINT_URL), real boto3.

moto creates the role, the function and the event source mapping but never runs the function
(that needs Docker), so these tests check what was deployed, not invocations.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import boto3
import pytest

from devtools import cli
from devtools.project_copy import project_copy
from infra.chalice_deploy import main
from infra.deploy_steps import configure_mapping
from infra.deploy_target import MappingSettings, Target
from infra.iam_check import audit
from tests.infra.conftest import ROOT

pytestmark = pytest.mark.filterwarnings(r"ignore:Tried to parse AWS\S+Alarm:UserWarning")

STAGE = "dev"
SENDER = "welcome@example.com"


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the app, so that Chalice's records and the config edits stay out of the repo."""
    directory = tmp_path_factory.mktemp("project")
    shutil.copy(ROOT / "app.py", directory)
    shutil.copy(ROOT / "requirements.txt", directory)
    shutil.copytree(
        ROOT / "chalicelib", directory / "chalicelib", ignore=shutil.ignore_patterns("__pycache__")
    )
    (directory / ".chalice").mkdir()
    shutil.copy(ROOT / ".chalice" / "config.json", directory / ".chalice")
    return directory


@pytest.fixture(scope="module")
def deployed(project: Path, moto_endpoint: str) -> dict[str, Any]:
    """Run `deploy` once; return what the tests compare against."""
    boto3.client("ses", endpoint_url=moto_endpoint).verify_email_identity(EmailAddress=SENDER)
    table = f"Users-{uuid.uuid4().hex[:8]}"
    code = main(
        [
            "--project-dir",
            str(project),
            "--stage",
            STAGE,
            "--endpoint-url",
            moto_endpoint,
            "deploy",
            "--sender",
            SENDER,
            "--table-parameter",
            f"UsersTableName={table}",
        ]
    )
    assert code == 0
    target = Target(project, STAGE)
    cloudformation = boto3.client("cloudformation", endpoint_url=moto_endpoint)
    stack = cloudformation.describe_stacks(StackName=target.stack_name)["Stacks"][0]
    return {
        "target": target,
        "outputs": {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]},
    }


def mappings(endpoint: str, function_name: str) -> list[dict[str, Any]]:
    # moto matches the FunctionName filter against ARNs only: filter here instead.
    lam = boto3.client("lambda", endpoint_url=endpoint)
    every = lam.list_event_source_mappings()["EventSourceMappings"]
    return [m for m in every if m["FunctionArn"].endswith(f":function:{function_name}")]


def test_function_runs_with_the_tables_and_reports_partial_failures(deployed, moto_endpoint):
    target, outputs = deployed["target"], deployed["outputs"]
    lam = boto3.client("lambda", endpoint_url=moto_endpoint)
    function = lam.get_function_configuration(FunctionName=target.function_name)
    assert function["FunctionName"] == "users-stream-dev-handle_user_changes"
    assert function["Handler"] == "app.handle_user_changes"
    variables = function["Environment"]["Variables"]
    assert variables["USERS_TABLE_STREAM_ARN"] == outputs["StreamArn"]
    assert variables["LEDGER_TABLE"] == outputs["LedgerTableName"]
    assert variables["WELCOME_EMAIL_SENDER"] == SENDER
    assert variables["REPORT_BATCH_ITEM_FAILURES"] == "true"


def test_one_mapping_on_the_tables_stream_carries_every_reliability_setting(
    deployed, moto_endpoint
):
    target, outputs = deployed["target"], deployed["outputs"]
    defaults = MappingSettings.defaults()
    (mapping,) = mappings(moto_endpoint, target.function_name)
    assert mapping["EventSourceArn"] == outputs["StreamArn"]
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping["BisectBatchOnFunctionError"] is True
    assert mapping["MaximumRetryAttempts"] == defaults.maximum_retry_attempts
    assert mapping["MaximumRecordAgeInSeconds"] == defaults.maximum_record_age_in_seconds
    assert mapping["ParallelizationFactor"] == defaults.parallelization_factor
    assert mapping["DestinationConfig"] == {
        "OnFailure": {"Destination": outputs["OnFailureQueueArn"]}
    }
    # The mapping is created right after the table: from TRIM_HORIZON, nothing written in
    # between is skipped.
    assert (mapping["BatchSize"], mapping["StartingPosition"]) == (100, "TRIM_HORIZON")


def test_role_holds_only_a_policy_that_passes_independent_checks(deployed, moto_endpoint):
    target, outputs = deployed["target"], deployed["outputs"]
    iam = boto3.client("iam", endpoint_url=moto_endpoint)
    lam = boto3.client("lambda", endpoint_url=moto_endpoint)
    role_arn = lam.get_function_configuration(FunctionName=target.function_name)["Role"]
    role = role_arn.rsplit("/", 1)[1]
    (name,) = iam.list_role_policies(RoleName=role)["PolicyNames"]
    assert iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"] == []
    document = iam.get_role_policy(RoleName=role, PolicyName=name)["PolicyDocument"]
    dynamodb = boto3.client("dynamodb", endpoint_url=moto_endpoint)
    table = dynamodb.describe_table(TableName=outputs["TableName"])["Table"]
    ledger = dynamodb.describe_table(TableName=outputs["LedgerTableName"])["Table"]
    groups = boto3.client("logs", endpoint_url=moto_endpoint).describe_log_groups(
        logGroupNamePrefix=target.log_group
    )["logGroups"]
    existing = [
        table["TableArn"],
        table["LatestStreamArn"],
        ledger["TableArn"],
        outputs["OnFailureQueueArn"],
        *[group["arn"] for group in groups],
        f"arn:aws:ses:us-east-1:123456789012:identity/{SENDER}",
    ]
    # parliament, and every ARN's fields against what exists in the emulator.
    assert audit(document, existing) == []
    # Every statement names one of the resources above (ListStreams takes "*" only).
    statements = {s["Sid"]: s["Resource"] for s in document["Statement"]}
    assert statements["ListStreams"] == "*"
    assert statements["ReadUsersStream"] == table["LatestStreamArn"]
    assert statements["UseIdempotencyLedger"] == ledger["TableArn"]


def test_config_points_at_the_stack_and_keeps_the_flag_false(deployed, project):
    outputs = deployed["outputs"]
    config = json.loads((project / ".chalice" / "config.json").read_text())
    stage = config["stages"][STAGE]
    assert stage["environment_variables"]["USERS_TABLE_STREAM_ARN"] == outputs["StreamArn"]
    assert stage["environment_variables"]["LEDGER_TABLE"] == outputs["LedgerTableName"]
    assert stage["autogen_policy"] is False
    assert stage["environment_variables"]["USERS_TABLE_KEY"] == "id:S"  # from the KeySchema
    assert (project / ".chalice" / stage["iam_policy_file"]).is_file()
    # Only the post-deploy step, after the mapping reads batchItemFailures, turns it on.
    assert config["environment_variables"]["REPORT_BATCH_ITEM_FAILURES"] == "false"
    assert "REPORT_BATCH_ITEM_FAILURES" not in stage["environment_variables"]
    assert set(config["stages"]) >= {"dev", "prod"}


def test_log_group_is_created_with_a_retention_period(deployed, moto_endpoint):
    target = deployed["target"]
    logs = boto3.client("logs", endpoint_url=moto_endpoint)
    (group,) = logs.describe_log_groups(logGroupNamePrefix=target.log_group)["logGroups"]
    assert group["retentionInDays"] == 30


def test_redeploy_onto_a_new_stream_recreates_the_mapping(deployed, project, moto_endpoint):
    # The table is recreated (its stack deleted, then deployed again): the stream ARN changes.
    # Chalice alone would keep the mapping on the old ARN; the script replaces it.
    target, outputs = deployed["target"], deployed["outputs"]
    (before,) = mappings(moto_endpoint, target.function_name)
    dynamodb = boto3.client("dynamodb", endpoint_url=moto_endpoint)
    for table in (outputs["TableName"], outputs["LedgerTableName"]):
        dynamodb.update_table(TableName=table, DeletionProtectionEnabled=False)
    cloudformation = boto3.client("cloudformation", endpoint_url=moto_endpoint)
    cloudformation.delete_stack(StackName=target.stack_name)
    code = main(
        [
            "--project-dir",
            str(project),
            "--endpoint-url",
            moto_endpoint,
            "deploy",
            "--table-parameter",
            f"UsersTableName={outputs['TableName']}",
        ]
    )
    assert code == 0
    new_stream = dynamodb.describe_table(TableName=outputs["TableName"])["Table"]["LatestStreamArn"]
    assert new_stream != before["EventSourceArn"]
    (after,) = mappings(moto_endpoint, target.function_name)
    assert after["EventSourceArn"] == new_stream
    assert after["UUID"] != before["UUID"]
    assert after["FunctionResponseTypes"] == ["ReportBatchItemFailures"]


def test_what_chalice_deploy_creates_carries_the_project_and_stage_tags(deployed, moto_endpoint):
    target = deployed["target"]
    wanted = {"project": "users-stream", "stage": STAGE}
    lam = boto3.client("lambda", endpoint_url=moto_endpoint)
    function = lam.get_function_configuration(FunctionName=target.function_name)
    assert wanted.items() <= lam.list_tags(Resource=function["FunctionArn"])["Tags"].items()
    (mapping,) = mappings(moto_endpoint, target.function_name)
    assert lam.list_tags(Resource=mapping["EventSourceMappingArn"])["Tags"] == wanted
    iam = boto3.client("iam", endpoint_url=moto_endpoint)
    role = function["Role"].rsplit("/", 1)[1]
    assert {t["Key"]: t["Value"] for t in iam.list_role_tags(RoleName=role)["Tags"]} == wanted
    logs = boto3.client("logs", endpoint_url=moto_endpoint)
    assert logs.list_tags_log_group(logGroupName=target.log_group)["tags"] == wanted


def test_delete_needs_confirmation_then_removes_function_and_stack(
    deployed, project, moto_endpoint
):
    target = deployed["target"]
    base = ["--project-dir", str(project), "--endpoint-url", moto_endpoint, "delete"]
    with pytest.raises(cli.UsageError, match="--confirm users-stream-dev-tables"):
        main(base)
    assert main([*base, "--confirm", target.stack_name]) == 0
    lam = boto3.client("lambda", endpoint_url=moto_endpoint)
    assert all(f["FunctionName"] != target.function_name for f in lam.list_functions()["Functions"])
    assert mappings(moto_endpoint, target.function_name) == []
    cloudformation = boto3.client("cloudformation", endpoint_url=moto_endpoint)
    live = [s["StackName"] for s in cloudformation.list_stacks()["StackSummaries"]]
    statuses = {
        s["StackName"]: s["StackStatus"]
        for s in cloudformation.list_stacks()["StackSummaries"]
        if s["StackName"] == target.stack_name
    }
    assert target.stack_name in live
    assert set(statuses.values()) == {"DELETE_COMPLETE"}


class LambdaThatIgnoresResponseTypes:
    """An honest fake of the two Lambda calls around the flag: the mapping update is accepted
    but the mapping comes back without ReportBatchItemFailures (e.g. an old API or region)."""

    def __init__(self) -> None:
        self.updated_functions: list[dict[str, Any]] = []

    def update_event_source_mapping(self, **kwargs: Any) -> None:
        pass

    def get_event_source_mapping(self, UUID: str) -> dict[str, Any]:
        return {"UUID": UUID, "State": "Enabled", "FunctionResponseTypes": []}

    def update_function_configuration(self, **kwargs: Any) -> None:
        self.updated_functions.append(kwargs)


def test_flag_stays_false_when_the_mapping_does_not_read_batch_item_failures(tmp_path):
    record = tmp_path / ".chalice" / "deployed" / "dev.json"
    record.parent.mkdir(parents=True)
    record.write_text(
        json.dumps({"resources": [{"resource_type": "dynamodb_event", "event_uuid": "u-1"}]})
    )
    fake = LambdaThatIgnoresResponseTypes()
    with pytest.raises(RuntimeError, match="flag left false"):
        configure_mapping(fake, Target(tmp_path, "dev"), "arn:queue", MappingSettings(1, 60, 1))
    assert fake.updated_functions == []


def test_a_bare_chalice_deploy_on_the_placeholder_stream_creates_nothing(
    emulator_process, tmp_path
):
    # The repository's own config: stage dev still names the placeholder stream.
    project = project_copy(tmp_path / "project")
    env = {
        "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin",
        "AWS_ENDPOINT_URL": emulator_process,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    result = subprocess.run(
        ["chalice", "deploy", "--stage", "dev"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode != 0
    assert (
        result.stderr.strip()
        .splitlines()[-1]
        .startswith("users-stream: USERS_TABLE_STREAM_ARN is the placeholder")
    )
    iam = boto3.client("iam", endpoint_url=emulator_process)
    lam = boto3.client("lambda", endpoint_url=emulator_process)
    assert iam.list_roles()["Roles"] == []
    assert lam.list_functions()["Functions"] == []


def test_deploy_stops_before_creating_anything_when_ses_has_not_verified_the_sender(
    emulator_process, tmp_path
):
    project = project_copy(tmp_path / "project")
    with pytest.raises(cli.Failure, match=r"SES has not verified nobody@example\.org"):
        main(
            [
                "deploy",
                "--project-dir",
                str(project),
                "--endpoint-url",
                emulator_process,
                "--sender",
                "nobody@example.org",
            ]
        )
    cloudformation = boto3.client("cloudformation", endpoint_url=emulator_process)
    assert cloudformation.list_stacks()["StackSummaries"] == []
