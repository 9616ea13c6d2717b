"""Creating a stack in moto's CloudFormation: what it lacks, and what it ignores.

moto's CloudFormation cannot create some resource types (the CloudWatch alarms): they are
skipped, quietly here, and :class:`~devtools.emulator.Stack` names them. It also ignores a
table's ``TimeToLiveSpecification``: :func:`apply_time_to_live` enables it afterwards.
"""

from __future__ import annotations

import contextlib
import logging
import warnings
from collections.abc import Iterator, Mapping
from typing import Any

from infra.cfn import Resolver, loads_template

__all__ = ["apply_time_to_live", "stack_resources", "unsupported_resources_quiet"]


def stack_resources(
    body: str, name: str, region: str, parameters: Mapping[str, str]
) -> tuple[dict[str, Any], Resolver]:
    """The resources CloudFormation creates from ``body`` (a false condition leaves one out),
    and a resolver of the stack's parameters and conditions."""
    parsed = loads_template(body)
    resolver = Resolver(
        refs={**parameters, "AWS::StackName": name, "AWS::Region": region},
        attributes={},
        conditions=parsed.get("Conditions", {}),
    )
    resources = {
        logical_id: resource
        for logical_id, resource in parsed.get("Resources", {}).items()
        if "Condition" not in resource or resolver.resolve({"Condition": resource["Condition"]})
    }
    return resources, resolver


def apply_time_to_live(
    dynamodb: Any, resources: Mapping[str, Any], created: Mapping[str, str], resolver: Resolver
) -> None:
    """moto workaround: its CloudFormation ignores ``TimeToLiveSpecification``."""
    for logical_id, resource in resources.items():
        if resource.get("Type") != "AWS::DynamoDB::Table" or logical_id not in created:
            continue
        spec = resolver.resolve(resource.get("Properties", {}).get("TimeToLiveSpecification"))
        if not isinstance(spec, Mapping) or str(spec.get("Enabled")).lower() != "true":
            continue
        attribute = spec.get("AttributeName")
        if not isinstance(attribute, str):
            continue
        table = created[logical_id]
        status = dynamodb.describe_time_to_live(TableName=table)["TimeToLiveDescription"]
        if status.get("TimeToLiveStatus") != "ENABLED":
            dynamodb.update_time_to_live(
                TableName=table,
                TimeToLiveSpecification={"AttributeName": attribute, "Enabled": True},
            )


@contextlib.contextmanager
def unsupported_resources_quiet() -> Iterator[None]:
    """Silence moto's warning and log line for each resource type it cannot create."""
    moto_logger = logging.getLogger("moto")
    level = moto_logger.level
    moto_logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Tried to parse .* not supported by moto")
            yield
    finally:
        moto_logger.setLevel(level)
