"""Creating a stack in moto's CloudFormation: what it lacks, and what it ignores.

moto's CloudFormation cannot create some resource types (the CloudWatch alarms): they are
skipped, quietly here, and :class:`~devtools.emulator.Stack` names them. (It also ignored a
table's ``TimeToLiveSpecification``: :mod:`devtools.moto_fidelity` applies it now, for every
client of the emulator.)
"""

from __future__ import annotations

import contextlib
import logging
import warnings
from collections.abc import Iterator, Mapping
from typing import Any

from infra.cfn import Resolver, loads_template

__all__ = ["absent_resources", "stack_resources", "unsupported_resources_quiet"]


def stack_resources(
    template: str | Mapping[str, Any], name: str, region: str, parameters: Mapping[str, str]
) -> dict[str, Any]:
    """The resources CloudFormation creates from ``template`` (its text, or parsed); a false
    condition leaves one out."""
    parsed = loads_template(template) if isinstance(template, str) else template
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
    return resources


def absent_resources(
    cloudformation: Any, name: str, resources: Mapping[str, Any]
) -> list[tuple[str, str]]:
    """(logical id, type) of each of ``resources`` that stack ``name`` does not list."""
    summaries = cloudformation.list_stack_resources(StackName=name)["StackResourceSummaries"]
    created = {summary["LogicalResourceId"] for summary in summaries}
    return [(lid, resource["Type"]) for lid, resource in resources.items() if lid not in created]


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
