"""What the deploy rehearsal reads back from the emulator after a deployment, checked.

Everything here is read from the emulator's APIs after a deployment, never from the templates
or the code that generated them: the function's configuration, its event source mapping, its
role's policies, the tables and the queue. :mod:`devtools.rehearsal_drive` runs the local
poller configured from that mapping; :func:`devtools.inventory.leftovers` lists what a teardown
left behind.
"""

from __future__ import annotations

import ast
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from devtools.emulator import Emulator
from devtools.inventory import MissingResources, not_created
from infra.arn import Arn
from infra.iam_check import audit

__all__ = ["Deployed", "Failed", "read_back"]

STREAM_RETENTION_SECONDS = 24 * 3600


class Failed(Exception):
    """A rehearsal check failed; the message is one line."""


@dataclass
class Deployed:
    """What one deployment created, as the emulator reports it."""

    stack: str
    outputs: dict[str, str]
    function: dict[str, Any]
    mapping: dict[str, Any]
    policies: dict[str, dict[str, Any]] = field(default_factory=dict)
    skipped: list[tuple[str, str]] = field(default_factory=list)

    @property
    def variables(self) -> dict[str, str]:
        return dict(self.function.get("Environment", {}).get("Variables", {}))

    def summary(self) -> str:
        m = self.mapping
        return (
            f"function {self.function['FunctionName']}, mapping {m['StartingPosition']} "
            f"batch {m['BatchSize']} retries {m['MaximumRetryAttempts']} "
            f"age {m['MaximumRecordAgeInSeconds']}s, {len(self.policies)} policy audited clean; "
            f"moto cannot create {len(self.skipped)}: {', '.join(self.skipped_types)}"
        )

    @property
    def skipped_types(self) -> list[str]:
        return sorted({kind for _, kind in self.skipped})


def _policy_document(raw: Any) -> dict[str, Any]:
    if isinstance(raw, dict):
        return raw
    try:
        loaded: dict[str, Any] = json.loads(raw)
    except ValueError:  # moto keeps a CloudFormation-made policy as a Python repr
        loaded = ast.literal_eval(raw)
    return loaded


def _role_policies(emulator: Emulator, role_arn: str) -> dict[str, dict[str, Any]]:
    iam = emulator.client("iam")
    role = role_arn.rsplit("/", 1)[1]
    attached = iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"]
    if attached:
        raise Failed(f"role {role} has managed policies attached: {attached}")
    return {
        name: _policy_document(
            iam.get_role_policy(RoleName=role, PolicyName=name)["PolicyDocument"]
        )
        for name in iam.list_role_policies(RoleName=role)["PolicyNames"]
    }


def _existing_arns(
    emulator: Emulator, outputs: Mapping[str, str], function: Mapping[str, Any], sender: str
) -> list[str]:
    """The ARNs of this stack's own resources that its function's policy may name."""
    dynamodb = emulator.client("dynamodb")
    found = []
    for table in (outputs["TableName"], outputs["LedgerTableName"]):
        described = dynamodb.describe_table(TableName=table)["Table"]
        found += [described["TableArn"], described.get("LatestStreamArn", "")]
    found.append(outputs["OnFailureQueueArn"])
    group = outputs.get("FunctionLogGroupName") or f"/aws/lambda/{function['FunctionName']}"
    groups = emulator.client("logs").describe_log_groups(logGroupNamePrefix=group)["logGroups"]
    found += [g["arn"] for g in groups if g["logGroupName"] == group]
    account = Arn.parse(found[0])
    found += [str(account.sibling("ses", f"identity/{sender}"))]
    return [arn for arn in found if arn]


def _check_mapping(deployed: Deployed, outputs: Mapping[str, str]) -> None:
    m, variables = deployed.mapping, deployed.variables
    problems = []
    if m["EventSourceArn"] != outputs["StreamArn"]:
        problems.append(f"mapping reads {m['EventSourceArn']}, not the table's stream")
    reports = "ReportBatchItemFailures" in (m.get("FunctionResponseTypes") or [])
    if not reports or variables.get("REPORT_BATCH_ITEM_FAILURES") != "true":
        problems.append("partial batch responses are not on in both mapping and function")
    if not m.get("BisectBatchOnFunctionError"):
        problems.append("bisect is off")
    if not 0 <= int(m.get("MaximumRetryAttempts", -1)) <= 10_000:
        problems.append("retries are unbounded")
    if not 60 <= int(m.get("MaximumRecordAgeInSeconds", -1)) < STREAM_RETENTION_SECONDS:
        problems.append("the maximum record age is not below the stream's 24 hours")
    destination = m.get("DestinationConfig", {}).get("OnFailure", {}).get("Destination")
    if destination != outputs["OnFailureQueueArn"]:
        problems.append(f"on-failure destination {destination} is not the stack's queue")
    if m.get("StartingPosition") != "TRIM_HORIZON":
        problems.append(f"starting position {m.get('StartingPosition')}, not TRIM_HORIZON")
    if problems:
        raise Failed("; ".join(problems))


def _check_time_to_live(
    emulator: Emulator, outputs: Mapping[str, str], parameters: Mapping[str, str]
) -> None:
    """Time to Live is on for the named attribute, and off when none is named."""
    attribute = parameters.get("UsersTtlAttributeName", "")
    described = emulator.client("dynamodb").describe_time_to_live(TableName=outputs["TableName"])
    ttl = described["TimeToLiveDescription"]
    status = (ttl.get("TimeToLiveStatus"), ttl.get("AttributeName") if attribute else None)
    expected = ("ENABLED", attribute) if attribute else ("DISABLED", None)
    if status != expected:
        raise Failed(f"Time to Live is {status}, the stack asked for {expected}")


def read_back(emulator: Emulator, stack_name: str) -> Deployed:
    """What the stack and the function look like in the emulator, checked."""
    cloudformation = emulator.client("cloudformation")
    stack = cloudformation.describe_stacks(StackName=stack_name)["Stacks"][0]
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
    parameters = {p["ParameterKey"]: p["ParameterValue"] for p in stack.get("Parameters", [])}
    tags = {t["Key"]: t["Value"] for t in stack.get("Tags", [])}
    if tags.get("project") != "users-stream" or not tags.get("stage"):
        raise Failed(f"stack {stack_name} lacks the project and stage tags: {tags}")
    name = outputs.get("FunctionName") or parameters["FunctionName"]
    lam = emulator.client("lambda")
    function = lam.get_function_configuration(FunctionName=name)
    mappings = [
        m
        for m in lam.list_event_source_mappings()["EventSourceMappings"]
        if m["FunctionArn"] == function["FunctionArn"]
    ]
    if len(mappings) != 1:
        raise Failed(f"function {name} has {len(mappings)} event source mappings, not 1")
    deployed = Deployed(stack_name, outputs, function, mappings[0])
    _check_mapping(deployed, outputs)
    try:
        deployed.skipped = not_created(emulator, stack_name, parameters)
    except MissingResources as exc:
        raise Failed(str(exc)) from None
    _check_time_to_live(emulator, outputs, parameters)
    deployed.policies = _role_policies(emulator, function["Role"])
    sender = deployed.variables.get("WELCOME_EMAIL_SENDER", "")
    existing = _existing_arns(emulator, outputs, function, sender)
    for policy, document in deployed.policies.items():
        findings = audit(document, existing)
        if findings:
            raise Failed(f"policy {policy}: {'; '.join(findings)}")
    return deployed
