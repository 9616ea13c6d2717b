"""The CDK way's one stack: the same resources as the one-stack template, built by CDK.

Its parts, all from the single source (infra/users-table.yaml and infra/consumer.yaml, joined by
infra/merge.py exactly as for ``chalice package --merge-template``):

- everything that is not Chalice's (tables, queue, alarms, log group, parameters, conditions,
  outputs) through ``cloudformation_include.CfnInclude``, with its logical ids kept;
- the Chalice app through ``chalice.cdk.Chalice`` (which runs ``chalice package`` and uploads
  the code as a CDK asset), whose function and role then get the overlay of
  infra/consumer.yaml as overrides: the mapping's failure handling, the environment, the tags,
  and the least-privilege policy in place of Chalice's generated one (which reads every
  stream).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import cloudformation_include
from chalice.cdk import Chalice

from infra.cfn import load_template
from infra.chalice_overlay import Split, overrides, split
from infra.deploy_target import tags
from infra.merge import FUNCTION, OVERLAY, TABLE_TEMPLATE, build_merge_template
from infra.policy import ROLE
from infra.staging import PROJECT, stage_project

__all__ = ["DESCRIPTION", "users_stream_stack"]

DESCRIPTION = (
    "users-stream - one stack: the Users table and its stream consumer (the CDK way, "
    "infra/cdk/, from infra/users-table.yaml and infra/consumer.yaml)."
)


def _check_type(resource: cdk.CfnResource, overlay: dict[str, Any]) -> None:
    kind = overlay.pop("Type", resource.cfn_resource_type)
    if kind != resource.cfn_resource_type:
        raise ValueError(f"the overlay makes {resource.logical_id} a {kind}")


def _configure_function(function: cdk.CfnResource, overlay: dict[str, Any]) -> None:
    """Merge the function's overlay into Chalice's, as ``--merge-template`` merges."""
    _check_type(function, overlay)
    for path, value in overrides(overlay):
        function.add_override(path, value)


def _replace_role(role: iam.CfnRole, overlay: dict[str, Any]) -> None:
    """Give Chalice's role the overlay's trust, policies and tags, in place of its own.

    Set through the role's properties, not as raw overrides, so that cdk-nag (which reads the
    properties) checks the policy the function really gets.
    """
    _check_type(role, overlay)
    properties = dict(overlay.pop("Properties"))
    if overlay:
        raise ValueError(f"unexpected settings of {ROLE}: {sorted(overlay)}")
    role.assume_role_policy_document = properties.pop("AssumeRolePolicyDocument")
    role.policies = [
        iam.CfnRole.PolicyProperty(
            policy_name=policy["PolicyName"], policy_document=policy["PolicyDocument"]
        )
        for policy in properties.pop("Policies")
    ]
    for tag in properties.pop("Tags", []):
        role.tags.set_tag(tag["Key"], cdk.Token.as_string(tag["Value"]))
    if properties:
        raise ValueError(f"unexpected properties of {ROLE}: {sorted(properties)}")


def _include_rest(stack: cdk.Stack, parts: Split, stage: str, work: Path) -> Any:
    """CfnInclude of everything that is not Chalice's, with the stage as the Stage default."""
    parts.rest["Description"] = DESCRIPTION
    parts.rest["Parameters"]["Stage"]["Default"] = stage
    template = work / "users-stream-rest.json"
    template.write_text(json.dumps(parts.rest, indent=1), encoding="utf-8")
    return cloudformation_include.CfnInclude(
        stack,
        "Tables",
        template_file=str(template),
        # Stands for what the rest refers to in Chalice's part, with the same logical id.
        parameters={name: cdk.Fn.ref(name) for name in parts.bound},
    )


def users_stream_stack(app: cdk.App, stage: str, region: str, work: Path) -> cdk.Stack:
    """Define the stack of Chalice stage ``stage`` in ``app``; scratch files go to ``work``."""
    # The stack's id is the Chalice stage: the construct packages the stage named after it.
    stack = cdk.Stack(
        app,
        stage,
        stack_name=f"users-stream-{stage}",
        env=cdk.Environment(region=region),
        description=DESCRIPTION,
        tags=tags(stage),
        analytics_reporting=False,
    )
    merged = build_merge_template(load_template(TABLE_TEMPLATE), load_template(OVERLAY))
    parts = split(merged)
    rest = _include_rest(stack, parts, stage, work)
    consumer = Chalice(
        stack,
        "Consumer",
        # A clean copy: no bytecode, and none of the `chalice deploy` way's role settings.
        source_dir=str(stage_project(PROJECT, work / "project", for_package=True)),
        stage_config={
            "environment_variables": {
                "USERS_TABLE_STREAM_ARN": rest.get_resource("UsersTable").attr_stream_arn
            }
        },
    )
    # get_resource raises if Chalice no longer generates one of them.
    _configure_function(consumer.get_resource(FUNCTION), parts.owned[FUNCTION])
    _replace_role(consumer.get_resource(ROLE), parts.owned[ROLE])
    return stack
