"""The steps of the ``chalice deploy`` way, each one call or a few against AWS (or the emulator).

The command (:mod:`infra.chalice_deploy`) runs them in order: the table stack, the stage's
settings and policy, the log group, a stale mapping, ``chalice deploy``, the tags Chalice does
not set, and the mapping's failure handling.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from chalicelib.clients import error_code
from devtools import cli
from infra.cfn import load_template, loads_template
from infra.deploy_target import MappingSettings, Target, say, tags
from infra.key_schema import SETTING as KEY_SETTING
from infra.key_schema import users_table_key
from infra.merge import REPORT_FLAG, TABLE_TEMPLATE
from infra.policy import resolved_policy
from infra.staging import stage_project

__all__ = [
    "chalice",
    "configure_mapping",
    "configure_stage",
    "deploy_table_stack",
    "drop_stale_mapping",
    "ensure_log_group",
    "function_policy",
    "tag_chalice_resources",
]

SETTLED = ("Enabled", "Disabled")


def _stack_request(target: Target, given: Mapping[str, str], *, update: bool) -> dict[str, Any]:
    """CreateStack/UpdateStack arguments. On an update every parameter not given keeps its
    current value (``UsePreviousValue``), as ``aws cloudformation deploy`` does: otherwise an
    update would put it back to its default, and drop, say, the AlarmEmail topic."""
    template = TABLE_TEMPLATE.read_text(encoding="utf-8")
    values = {"FunctionName": target.function_name, **given}
    parameters: list[dict[str, Any]] = [
        {"ParameterKey": key, "ParameterValue": value} for key, value in values.items()
    ]
    if update:
        parameters += [
            {"ParameterKey": key, "UsePreviousValue": True}
            for key in loads_template(template)["Parameters"]
            if key not in values
        ]
    return {
        "StackName": target.stack_name,
        "TemplateBody": template,
        "Parameters": parameters,
        # The stack's tags reach every resource of it that takes tags.
        "Tags": [{"Key": key, "Value": value} for key, value in tags(target.stage).items()],
    }


def deploy_table_stack(
    cloudformation: Any, target: Target, parameters: Mapping[str, str]
) -> dict[str, str]:
    """Create or update the table stack; return its outputs. Unchanged, it changes nothing."""
    try:
        status = cloudformation.describe_stacks(StackName=target.stack_name)["Stacks"][0][
            "StackStatus"
        ]
    except Exception as exc:
        if error_code(exc) != "ValidationError":
            raise
        status = ""
    if status == "ROLLBACK_COMPLETE":  # a failed first create: CloudFormation updates nothing
        raise cli.Failure(
            f"stack {target.stack_name} is ROLLBACK_COMPLETE from a failed create; see its "
            f"events, delete it (aws cloudformation delete-stack --stack-name "
            f"{target.stack_name}) and deploy again"
        )
    waiter = ""
    if not status:
        say(f"creating stack {target.stack_name}")
        cloudformation.create_stack(**_stack_request(target, parameters, update=False))
        waiter = "stack_create_complete"
    else:
        say(f"updating stack {target.stack_name}")
        try:
            cloudformation.update_stack(**_stack_request(target, parameters, update=True))
            waiter = "stack_update_complete"
        except Exception as exc:
            if "No updates are to be performed" not in str(exc):
                raise
            say(f"stack {target.stack_name}: no changes")
    if waiter:
        cloudformation.get_waiter(waiter).wait(
            StackName=target.stack_name, WaiterConfig={"Delay": 5, "MaxAttempts": 360}
        )
    stack = cloudformation.describe_stacks(StackName=target.stack_name)["Stacks"][0]
    return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}


def function_policy(
    outputs: Mapping[str, str], target: Target, sender: str, ses_identity: str = ""
) -> dict[str, Any]:
    """The one-stack role's policy (infra/consumer.yaml), resolved for this stage's resources."""
    return resolved_policy(
        outputs, log_group=target.log_group, sender=sender, ses_identity=ses_identity
    )


def configure_stage(
    target: Target, outputs: Mapping[str, str], sender: str, policy: Mapping[str, Any]
) -> None:
    """Point the stage at the table stack's resources, with the least-privilege policy."""
    config = target.config()
    stage = config.setdefault("stages", {}).setdefault(target.stage, {})
    variables = stage.setdefault("environment_variables", {})
    variables["USERS_TABLE_STREAM_ARN"] = outputs["StreamArn"]
    variables["LEDGER_TABLE"] = outputs["LedgerTableName"]
    variables["WELCOME_EMAIL_SENDER"] = sender
    # The metrics' Stage dimension and namespace: what the table stack's alarms and dashboard read.
    variables["STAGE"] = target.stage
    variables["METRICS_NAMESPACE"] = outputs.get("MetricsNamespace", "UsersStream")
    variables[KEY_SETTING] = users_table_key(load_template(TABLE_TEMPLATE))
    # Chalice creates the mapping right after the table stack: from LATEST, changes written in
    # between would never be processed (the one-stack way does the same, infra/consumer.yaml).
    variables["STREAM_STARTING_POSITION"] = "TRIM_HORIZON"
    stage["autogen_policy"] = False
    stage["iam_policy_file"] = target.policy_file
    policy_path = target.project / ".chalice" / target.policy_file
    policy_path.write_text(json.dumps(policy, indent=2) + "\n", encoding="utf-8")
    target.config_path.write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    say(
        f"stage {target.stage}: stream {outputs['StreamArn']}, policy .chalice/{target.policy_file}"
    )


def ensure_log_group(logs: Any, target: Target, retention_days: int) -> None:
    try:
        logs.create_log_group(logGroupName=target.log_group, tags=tags(target.stage))
    except Exception as exc:
        if error_code(exc) != "ResourceAlreadyExistsException":
            raise
    logs.put_retention_policy(logGroupName=target.log_group, retentionInDays=retention_days)


def drop_stale_mapping(lambda_client: Any, target: Target, stream_arn: str) -> bool:
    """Delete the mapping Chalice made for an older stream; True if one was deleted."""
    previous = target.deployed("dynamodb_event")
    if previous is None or previous["stream_arn"] == stream_arn:
        return False
    say(f"stream changed from {previous['stream_arn']}: deleting its event source mapping")
    try:
        lambda_client.delete_event_source_mapping(UUID=previous["event_uuid"])
    except Exception as exc:
        if error_code(exc) != "ResourceNotFoundException":
            raise
    return True


def _wait(
    probe: Callable[[], bool], what: str, timeout: float, sleep: Callable[[float], None]
) -> None:
    deadline = time.monotonic() + timeout
    while not probe():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        sleep(2)


def tag_chalice_resources(iam: Any, lambda_client: Any, target: Target) -> None:
    """Tag what Chalice created but does not tag itself: the role and the mapping (the
    function gets its tags from .chalice/config.json)."""
    role = target.deployed("iam_role")
    if role is not None:
        role_name = str(role["role_arn"]).rsplit("/", 1)[1]
        iam.tag_role(
            RoleName=role_name, Tags=[{"Key": k, "Value": v} for k, v in tags(target.stage).items()]
        )
    mapping = target.deployed("dynamodb_event")
    if mapping is not None:
        described = lambda_client.get_event_source_mapping(UUID=mapping["event_uuid"])
        lambda_client.tag_resource(
            Resource=described["EventSourceMappingArn"], Tags=tags(target.stage)
        )


def configure_mapping(
    lambda_client: Any,
    target: Target,
    queue_arn: str,
    settings: MappingSettings,
    *,
    timeout: float = 300,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, Any]:
    """Give Chalice's mapping the one-stack settings, then let the function report failures."""
    deployed = target.deployed("dynamodb_event")
    if deployed is None:
        raise RuntimeError(f"no DynamoDB event source in .chalice/deployed/{target.stage}.json")
    uuid = deployed["event_uuid"]
    lambda_client.update_event_source_mapping(
        UUID=uuid,
        FunctionResponseTypes=["ReportBatchItemFailures"],
        BisectBatchOnFunctionError=True,
        MaximumRetryAttempts=settings.maximum_retry_attempts,
        MaximumRecordAgeInSeconds=settings.maximum_record_age_in_seconds,
        ParallelizationFactor=settings.parallelization_factor,
        DestinationConfig={"OnFailure": {"Destination": queue_arn}},
    )
    _wait(
        lambda: lambda_client.get_event_source_mapping(UUID=uuid)["State"] in SETTLED,
        "the event source mapping update",
        timeout,
        sleep,
    )
    mapping: dict[str, Any] = lambda_client.get_event_source_mapping(UUID=uuid)
    if "ReportBatchItemFailures" not in (mapping.get("FunctionResponseTypes") or []):
        raise RuntimeError(f"mapping {uuid} does not report batch item failures; flag left false")
    function = lambda_client.get_function_configuration(FunctionName=target.function_name)
    variables = dict(function.get("Environment", {}).get("Variables", {}))
    variables[REPORT_FLAG] = "true"
    lambda_client.update_function_configuration(
        FunctionName=target.function_name, Environment={"Variables": variables}
    )
    _wait(
        lambda: (
            lambda_client.get_function_configuration(FunctionName=target.function_name).get(
                "LastUpdateStatus", "Successful"
            )
            != "InProgress"
        ),
        "the function configuration update",
        timeout,
        sleep,
    )
    say(
        f"mapping {uuid}: partial batch responses, bisect, retries, on-failure queue;"
        f" {REPORT_FLAG}=true"
    )
    return mapping


def chalice(target: Target, *args: str, env: Mapping[str, str]) -> None:
    """Run Chalice on a clean copy of the project (no bytecode in the zip); keep its record."""
    chalice = Path(sys.executable).parent / "chalice"
    say(" ".join(["chalice", *args, "--stage", target.stage]))
    record = Path(".chalice") / "deployed" / f"{target.stage}.json"
    with tempfile.TemporaryDirectory(prefix="users-stream-deploy.") as scratch:
        staged = stage_project(target.project, Path(scratch) / "project")
        command = [str(chalice), "--project-dir", str(staged), *args, "--stage", target.stage]
        subprocess.run(  # noqa: S603 - our own CLI, fixed arguments
            command, env={**env, "PYTHONDONTWRITEBYTECODE": "1"}, check=True
        )
        kept = target.project / record
        if (staged / record).exists():
            kept.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(staged / record, kept)
        else:
            kept.unlink(missing_ok=True)
