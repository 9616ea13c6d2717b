"""What exists in the emulator: what a stack did not get, and what a teardown left behind.

Both are read from the emulator's APIs, never from the templates' own account of themselves:
:func:`not_created` compares the resources CloudFormation should have created (the stack's
template, SAM transform expanded and conditions resolved with the stack's parameters) with
those the emulator reports; :func:`leftovers` lists every resource of the kinds a deployment
makes, across the emulator.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from devtools.emulator import Emulator
from devtools.moto_fidelity import expand
from devtools.stacks import absent_resources, stack_resources
from infra.cfn import loads_template

__all__ = ["MOTO_CANNOT_CREATE", "leftovers", "not_created"]

# Resource types moto's CloudFormation skips (it warns "not supported"), which only AWS can
# create: the rehearsal says so rather than fail. Any other missing resource is a failure.
MOTO_CANNOT_CREATE = frozenset({"AWS::CloudWatch::Alarm", "AWS::SNS::Subscription"})


class MissingResources(Exception):
    """Resources of a type moto can create were not created; the message names them."""


def not_created(
    emulator: Emulator, stack_name: str, parameters: Mapping[str, str]
) -> list[tuple[str, str]]:
    """(logical id, type) of each resource the stack should hold but does not.

    :class:`MissingResources` if any of them is of a type moto can create.
    """
    cloudformation = emulator.client("cloudformation")
    body: Any = cloudformation.get_template(StackName=stack_name)["TemplateBody"]
    template = body if isinstance(body, dict) else loads_template(body)
    expanded = expand(template, emulator.region)
    resources = stack_resources(expanded, stack_name, emulator.region, parameters)
    missing = absent_resources(cloudformation, stack_name, resources)
    unexpected = [(lid, kind) for lid, kind in missing if kind not in MOTO_CANNOT_CREATE]
    if unexpected:
        raise MissingResources(f"the stack lacks {unexpected}")
    return missing


def leftovers(emulator: Emulator) -> dict[str, list[str]]:
    """Everything of the kinds a deployment makes that exists in the emulator, by kind.

    The artifact bucket and the uploaded code are not listed: they outlive a stack by design
    (docs/deploy.md), and the SES identity is the operator's own.
    """
    c = emulator.client
    lam, iam = c("lambda"), c("iam")
    stacks = c("cloudformation").list_stacks()["StackSummaries"]
    found = {
        "stacks": [s["StackName"] for s in stacks if s["StackStatus"] != "DELETE_COMPLETE"],
        "tables": c("dynamodb").list_tables()["TableNames"],
        "functions": [f["FunctionName"] for f in lam.list_functions()["Functions"]],
        "mappings": [m["UUID"] for m in lam.list_event_source_mappings()["EventSourceMappings"]],
        "layers": [layer["LayerName"] for layer in lam.list_layers()["Layers"]],
        "roles": [r["RoleName"] for r in iam.list_roles()["Roles"]],
        "policies": [p["PolicyName"] for p in iam.list_policies(Scope="Local")["Policies"]],
        "queues": c("sqs").list_queues().get("QueueUrls", []),
        "log groups": [g["logGroupName"] for g in c("logs").describe_log_groups()["logGroups"]],
        "topics": [t["TopicArn"] for t in c("sns").list_topics()["Topics"]],
        "subscriptions": [
            s["SubscriptionArn"] for s in c("sns").list_subscriptions()["Subscriptions"]
        ],
        "alarms": [a["AlarmName"] for a in c("cloudwatch").describe_alarms()["MetricAlarms"]],
    }
    return {kind: names for kind, names in found.items() if names}
