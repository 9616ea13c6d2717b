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

__all__ = ["apply_time_to_live", "template_resources", "unsupported_resources_quiet"]


def apply_time_to_live(
    dynamodb: Any,
    resources: Mapping[str, Any],
    created: Mapping[str, str],
    parameters: Mapping[str, str],
) -> None:
    """moto workaround: its CloudFormation ignores ``TimeToLiveSpecification``."""
    for logical_id, resource in resources.items():
        spec = resource.get("Properties", {}).get("TimeToLiveSpecification")
        if resource.get("Type") != "AWS::DynamoDB::Table" or not spec:
            continue
        if str(spec.get("Enabled")).lower() != "true" or logical_id not in created:
            continue
        attribute = spec.get("AttributeName")
        if isinstance(attribute, Mapping) and "Ref" in attribute:
            attribute = parameters.get(attribute["Ref"])
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


def template_resources(body: str) -> dict[str, Any]:
    from infra.cfn import loads_template

    resources = loads_template(body).get("Resources", {})
    return dict(resources) if isinstance(resources, Mapping) else {}
